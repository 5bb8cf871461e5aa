//! The analysis config format (YAML or JSON): a list of metrics, each naming a method, its
//! parameters and where each arm's data comes from, plus optional scoring and defaults.
//! Parsing is two-stage so that every error names its place: serde checks the shape (unknown
//! fields are errors), then [`AnalysisConfig::validate`] checks the method-specific parts.

use crate::source::SeriesSource;
use crate::source::prometheus::PrometheusConfig;
use crate::stats::Harm;
use crate::stats::counts::CountParams;
use crate::stats::mann_whitney::MannWhitneyParams;
use crate::stats::msprt::MsprtParams;
use crate::stats::quantile::QuantileParams;
use crate::stats::threshold::ThresholdParams;
use crate::stats::welch::WelchParams;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A config that could not be read: the message names the field and, when the parser knows
/// it, the line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid YAML/JSON of the expected shape (unknown/missing field, type).
    #[error("{0}")]
    Syntax(String),
    /// The shape is right but a value is not allowed; `at` names the field.
    #[error("{at}: {why}")]
    Invalid {
        /// Field path such as `metrics[2] (latency).params`.
        at: String,
        /// What is wrong and how to fix it.
        why: String,
    },
}

/// The method a metric uses, as written in configs and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodName {
    /// Fixed bounds (Argo/Flagger-compatible).
    Threshold,
    /// Mann–Whitney U with Hodges–Lehmann interval.
    MannWhitney,
    /// Welch's t-test.
    Welch,
    /// Mixture SPRT on the difference of means (anytime-valid).
    Msprt,
    /// Sequential rate-ratio test for event counts against traffic (anytime-valid).
    CountSequential,
    /// Histogram/quantile sequential test (anytime-valid).
    QuantileSequential,
}

impl MethodName {
    /// Every method, in the order the documentation lists them.
    pub const ALL: [MethodName; 6] = [
        MethodName::Threshold,
        MethodName::MannWhitney,
        MethodName::Welch,
        MethodName::Msprt,
        MethodName::CountSequential,
        MethodName::QuantileSequential,
    ];

    /// Name as written in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodName::Threshold => "threshold",
            MethodName::MannWhitney => "mann-whitney",
            MethodName::Welch => "welch",
            MethodName::Msprt => "msprt",
            MethodName::CountSequential => "count-sequential",
            MethodName::QuantileSequential => "quantile-sequential",
        }
    }

    /// Whether the method has a significance level (everything but thresholds), so that the
    /// statistical scoring mode can give it a share of the family-wise α.
    pub fn has_alpha(self) -> bool {
        !matches!(self, MethodName::Threshold)
    }
}

impl std::fmt::Display for MethodName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MethodName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MethodName::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown method `{s}` (expected one of: {})",
                    MethodName::ALL.map(|m| m.as_str()).join(", ")
                )
            })
    }
}

/// A method together with its typed parameters, after validation.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodParams {
    /// `threshold`.
    Threshold(ThresholdParams),
    /// `mann-whitney`.
    MannWhitney(MannWhitneyParams),
    /// `welch`.
    Welch(WelchParams),
    /// `msprt`.
    Msprt(MsprtParams),
    /// `count-sequential`.
    CountSequential(CountParams),
    /// `quantile-sequential`.
    QuantileSequential(QuantileParams),
}

impl MethodParams {
    /// The method's name.
    pub fn name(&self) -> MethodName {
        match self {
            MethodParams::Threshold(_) => MethodName::Threshold,
            MethodParams::MannWhitney(_) => MethodName::MannWhitney,
            MethodParams::Welch(_) => MethodName::Welch,
            MethodParams::Msprt(_) => MethodName::Msprt,
            MethodParams::CountSequential(_) => MethodName::CountSequential,
            MethodParams::QuantileSequential(_) => MethodName::QuantileSequential,
        }
    }

    /// The significance level the method will use, if it has one.
    pub fn alpha(&self) -> Option<f64> {
        match self {
            MethodParams::Threshold(_) => None,
            MethodParams::MannWhitney(p) => Some(p.alpha),
            MethodParams::Welch(p) => Some(p.alpha),
            MethodParams::Msprt(p) => Some(p.alpha),
            MethodParams::CountSequential(p) => Some(p.alpha),
            MethodParams::QuantileSequential(p) => Some(p.alpha),
        }
    }

    /// Replace the significance level (statistical scoring mode splits α across metrics).
    /// Does nothing for thresholds.
    pub fn set_alpha(&mut self, alpha: f64) {
        match self {
            MethodParams::Threshold(_) => {}
            MethodParams::MannWhitney(p) => p.alpha = alpha,
            MethodParams::Welch(p) => p.alpha = alpha,
            MethodParams::Msprt(p) => p.alpha = alpha,
            MethodParams::CountSequential(p) => p.alpha = alpha,
            MethodParams::QuantileSequential(p) => p.alpha = alpha,
        }
    }
}

/// What a metric answers when an arm has no data at all (empty series, no traffic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoDataPolicy {
    /// Inconclusive (the default): absence of data proves nothing.
    #[default]
    Inconclusive,
    /// Fail, as Kayenta's `mustHaveData`.
    Fail,
    /// Pass, as Kayenta does for empty samples under NaN replacement.
    Pass,
}

/// What to do with NaN and infinite values (Prometheus yields NaN for 0/0 ratios). Written
/// `remove` or `{replace: 0}`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum NanStrategy {
    /// Drop them (the default, as Kayenta). For counts, the whole interval is dropped.
    #[default]
    Remove,
    /// Replace them with this value (Kayenta's `replace` uses 0).
    Replace(f64),
}

impl Serialize for NanStrategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            NanStrategy::Remove => s.serialize_str("remove"),
            NanStrategy::Replace(v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("replace", v)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for NanStrategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NanStrategy;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`remove` or `{replace: NUMBER}`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NanStrategy, E> {
                match v {
                    "remove" => Ok(NanStrategy::Remove),
                    other => Err(E::unknown_variant(other, &["remove", "replace"])),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<NanStrategy, A::Error> {
                let key: Option<String> = map.next_key()?;
                match key.as_deref() {
                    Some("replace") => {
                        let v: f64 = map.next_value()?;
                        if let Some(k) = map.next_key::<String>()? {
                            return Err(serde::de::Error::unknown_field(&k, &["replace"]));
                        }
                        Ok(NanStrategy::Replace(v))
                    }
                    Some(other) => Err(serde::de::Error::unknown_field(other, &["replace"])),
                    None => Err(serde::de::Error::missing_field("replace")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// How per-metric results become one verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoringMode {
    /// Kayenta's weighted 0–100 score with pass/marginal thresholds.
    #[default]
    Kayenta,
    /// Family-wise α split across metrics by weight; critical metrics decide, the rest score.
    Statistical,
}

/// Scoring section of the config (`statistics.md` §6.2(g)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ScoringConfig {
    /// `kayenta` (default) or `statistical`.
    #[serde(default)]
    pub mode: ScoringMode,
    /// Score at or above which the analysis passes.
    #[serde(default = "default_pass")]
    pub pass: f64,
    /// Score at or above which (and below `pass`) the analysis is inconclusive.
    #[serde(default = "default_marginal")]
    pub marginal: f64,
    /// Family-wise significance level split across metrics in statistical mode.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Weight per group (Kayenta's `groupWeights`); groups not listed share the rest equally.
    #[serde(default)]
    pub group_weights: BTreeMap<String, f64>,
    /// What to answer when half or more of the metrics have no data. Kayenta scores such a
    /// run 0 (a failure); by default canary-judge answers inconclusive instead, because a
    /// canary that has not had traffic yet has shown no harm. `true` restores Kayenta's rule.
    #[serde(default)]
    pub fail_on_mostly_no_data: bool,
}

fn default_pass() -> f64 {
    75.0
}
fn default_marginal() -> f64 {
    50.0
}
fn default_alpha() -> f64 {
    0.05
}
fn default_weight() -> f64 {
    1.0
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            mode: ScoringMode::Kayenta,
            pass: default_pass(),
            marginal: default_marginal(),
            alpha: default_alpha(),
            fail_on_mostly_no_data: false,
            group_weights: BTreeMap::new(),
        }
    }
}

/// Values every metric inherits unless it sets its own.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MetricDefaults {
    /// Default NaN strategy.
    #[serde(default)]
    pub nan_strategy: Option<NanStrategy>,
    /// Default no-data policy.
    #[serde(default)]
    pub no_data: Option<NoDataPolicy>,
    /// Default group.
    #[serde(default)]
    pub group: Option<String>,
}

/// One arm (`canary` or `baseline`) as written: a scalar series given by exactly one of
/// `values`, `file` or `query`; or `events` + `traffic` for counts; or `histogram`.
/// `traffic` next to a scalar series feeds the threshold method's minimum-requests guard.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ArmConfig {
    /// Inline numbers.
    #[serde(default)]
    pub values: Option<Vec<f64>>,
    /// Recorded series file (relative to the config file).
    #[serde(default)]
    pub file: Option<std::path::PathBuf>,
    /// Prometheus query (PromQL, `{{var}}` placeholders), fetched over the analysis window.
    #[serde(default)]
    pub query: Option<String>,
    /// Event counts per interval (count-sequential).
    #[serde(default)]
    pub events: Option<SeriesSource>,
    /// Requests per interval (count-sequential, and the threshold traffic guard).
    #[serde(default)]
    pub traffic: Option<SeriesSource>,
    /// Histogram buckets (quantile-sequential).
    #[serde(default)]
    pub histogram: Option<SeriesSource>,
}

/// One metric as written in the config, before method-specific validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MetricConfig {
    /// Unique name shown in reports.
    pub name: String,
    /// Which method judges it.
    pub method: MethodName,
    /// Method-specific parameters (the fields of the method's parameter struct).
    #[serde(default)]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
    /// Direction of harm (copied into params when the method has `harm`).
    #[serde(default)]
    pub harm: Option<Harm>,
    /// Significance level (copied into params; overridden in statistical scoring mode).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Relative margin (copied into params).
    #[serde(default)]
    pub margin: Option<f64>,
    /// Harm beyond this relative margin must be shown to fail (copied into params; default:
    /// `margin`). The one fail knob of every comparative method (issue 16, defect 5).
    #[serde(default)]
    pub fail_margin: Option<f64>,
    /// Minimum points per arm (`burn_in` for msprt).
    #[serde(default)]
    pub min_samples: Option<usize>,
    /// Minimum events before a Pass (count-sequential).
    #[serde(default)]
    pub min_events: Option<f64>,
    /// Weight inside its group, and its share of α in statistical mode.
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// Scoring group (defaults to `defaults.group`, else `default`).
    #[serde(default)]
    pub group: Option<String>,
    /// A failing critical metric fails the whole analysis.
    #[serde(default)]
    pub critical: bool,
    /// No data counts as a failure (same as `no_data: fail`).
    #[serde(default)]
    pub must_have_data: bool,
    /// Evaluated and reported, but left out of the score.
    #[serde(default)]
    pub muted: bool,
    /// What an arm without data gives.
    #[serde(default)]
    pub no_data: Option<NoDataPolicy>,
    /// NaN handling.
    #[serde(default)]
    pub nan_strategy: Option<NanStrategy>,
    /// The canary arm.
    pub canary: ArmConfig,
    /// The baseline arm (optional only for absolute thresholds).
    #[serde(default)]
    pub baseline: Option<ArmConfig>,
}

/// The config file as written (shape only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawAnalysisConfig {
    /// How metrics combine into one verdict.
    #[serde(default)]
    pub scoring: ScoringConfig,
    /// Defaults inherited by every metric.
    #[serde(default)]
    pub defaults: MetricDefaults,
    /// The metrics to judge.
    pub metrics: Vec<MetricConfig>,
    /// Which of the operator's named data sources `query` arms read (`None`: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Where `query` sources are evaluated, written inline. Honoured in the operator's own
    /// files; in an AnalysisTemplate or a request only as `source::catalog` allows.
    #[serde(default, skip_serializing)]
    pub prometheus: Option<PrometheusConfig>,
    /// The analysis window for `query` sources (CLI flags and Argo's start override it).
    #[serde(default)]
    pub window: WindowConfig,
}

/// The `window:` block: which period `query` sources cover. `since`/`until` are times
/// (Unix seconds, RFC 3339, `now` or `now-30m`); `window` is a duration counted back from
/// `until` when `since` is absent. Kept as text so "now" is resolved at evaluation time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct WindowConfig {
    /// Start of the analysis window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// End of the analysis window (default: now). Pin it for reproducible results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Length of the window when `since` is not given (e.g. `30m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// Where one arm's data comes from, resolved for its method.
#[derive(Debug, Clone, PartialEq)]
pub enum ArmSpec {
    /// A scalar series, with optional traffic for the threshold guard.
    Values {
        /// The series.
        series: SeriesSource,
        /// Requests per interval, if given.
        traffic: Option<SeriesSource>,
    },
    /// Events and traffic per interval.
    Counts {
        /// Events per interval.
        events: SeriesSource,
        /// Traffic per interval.
        traffic: SeriesSource,
    },
    /// Histogram buckets per interval.
    Histogram(SeriesSource),
}

/// One validated metric, ready for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Unique name.
    pub name: String,
    /// Method and typed parameters.
    pub method: MethodParams,
    /// Weight (≥ 0).
    pub weight: f64,
    /// Scoring group.
    pub group: String,
    /// Critical flag.
    pub critical: bool,
    /// Kayenta's mustHaveData: no data fails, and an inconclusive result counts against the
    /// score instead of being left out.
    pub must_have_data: bool,
    /// Excluded from scoring.
    pub muted: bool,
    /// No-data policy.
    pub no_data: NoDataPolicy,
    /// NaN handling.
    pub nan_strategy: NanStrategy,
    /// Canary data source.
    pub canary: ArmSpec,
    /// Baseline data source.
    pub baseline: Option<ArmSpec>,
}

/// A validated analysis config: what [`crate::analysis::evaluate`] needs. Deserializing it
/// (from YAML or JSON, also when embedded in another document) runs the validation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawAnalysisConfig")]
pub struct AnalysisConfig {
    /// Scoring section.
    pub scoring: ScoringConfig,
    /// Metrics in config order.
    pub metrics: Vec<Metric>,
    /// The named data source for `query` arms (`None`: the default source).
    pub source: Option<String>,
    /// Prometheus connection written inline, if any (see `source::catalog` for who may).
    pub prometheus: Option<PrometheusConfig>,
    /// Analysis window for `query` sources.
    pub window: WindowConfig,
}

impl AnalysisConfig {
    /// True when any arm of any metric reads a Prometheus `query` (so a fetch is needed).
    pub fn has_queries(&self) -> bool {
        self.metrics.iter().any(Metric::has_queries)
    }
}

impl Metric {
    /// True when any of this metric's arms reads a Prometheus `query`.
    pub fn has_queries(&self) -> bool {
        std::iter::once(&self.canary)
            .chain(self.baseline.as_ref())
            .any(ArmSpec::has_queries)
    }
}

impl ArmSpec {
    /// Every series of this arm with the label errors use for it (`""` for the main series,
    /// `traffic`, `events`, `histogram`), so callers can vet sources without loading them.
    pub fn sources(&self) -> Vec<(&'static str, &SeriesSource)> {
        match self {
            ArmSpec::Values { series, traffic } => std::iter::once(("", series))
                .chain(traffic.iter().map(|t| ("traffic", t)))
                .collect(),
            ArmSpec::Counts { events, traffic } => vec![("events", events), ("traffic", traffic)],
            ArmSpec::Histogram(h) => vec![("histogram", h)],
        }
    }

    /// True when any series of this arm is a Prometheus `query`.
    pub fn has_queries(&self) -> bool {
        let q = |s: &SeriesSource| matches!(s, SeriesSource::Query(_));
        match self {
            ArmSpec::Values { series, traffic } => q(series) || traffic.as_ref().is_some_and(q),
            ArmSpec::Counts { events, traffic } => q(events) || q(traffic),
            ArmSpec::Histogram(h) => q(h),
        }
    }
}

impl TryFrom<RawAnalysisConfig> for AnalysisConfig {
    type Error = ConfigError;
    fn try_from(raw: RawAnalysisConfig) -> Result<Self, Self::Error> {
        AnalysisConfig::validate(raw)
    }
}

impl AnalysisConfig {
    /// Parse and validate a YAML config; errors name the field and line.
    pub fn from_yaml_str(text: &str) -> Result<Self, ConfigError> {
        let raw: RawAnalysisConfig =
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        Self::validate(raw)
    }

    /// Parse and validate a JSON config (the Argo plugin receives its config as JSON).
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        let raw: RawAnalysisConfig = serde_json::from_str(text).map_err(|e| {
            // serde_json names the field but not where it sits; valid JSON is valid YAML, and
            // the YAML parser's message carries the path (`metrics[0].canary`), so prefer it.
            if e.classify() == serde_json::error::Category::Data
                && let Err(y) = serde_yaml_ng::from_str::<RawAnalysisConfig>(text)
            {
                return ConfigError::Syntax(y.to_string());
            }
            ConfigError::Syntax(e.to_string())
        })?;
        Self::validate(raw)
    }

    /// Parse JSON if the text starts with `{`, else YAML (YAML is a superset in practice, but
    /// serde_json gives better positions for JSON).
    pub fn from_str_auto(text: &str) -> Result<Self, ConfigError> {
        if text.trim_start().starts_with('{') {
            Self::from_json_str(text)
        } else {
            Self::from_yaml_str(text)
        }
    }

    /// Check everything serde cannot: method parameters, arm shapes, weights, thresholds.
    pub fn validate(raw: RawAnalysisConfig) -> Result<Self, ConfigError> {
        let scoring = raw.scoring;
        check_scoring(&scoring)?;
        if raw.metrics.is_empty() {
            return Err(invalid("metrics", "at least one metric is required"));
        }
        let mut names = BTreeSet::new();
        let mut metrics = Vec::with_capacity(raw.metrics.len());
        for (i, m) in raw.metrics.into_iter().enumerate() {
            let at = format!("metrics[{i}] ({})", m.name);
            if m.name.trim().is_empty() {
                return Err(invalid(format!("metrics[{i}].name"), "must not be empty"));
            }
            if !names.insert(m.name.clone()) {
                return Err(invalid(
                    format!("{at}.name"),
                    format!("metric name `{}` is used twice", m.name),
                ));
            }
            metrics.push(validate_metric(m, &raw.defaults, &at)?);
        }
        let groups: BTreeSet<&str> = metrics.iter().map(|m| m.group.as_str()).collect();
        for (g, w) in &scoring.group_weights {
            if !groups.contains(g.as_str()) {
                return Err(invalid(
                    format!("scoring.group_weights.{g}"),
                    format!(
                        "no metric is in group `{g}` (groups: {})",
                        groups.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if !w.is_finite() || *w < 0.0 {
                return Err(invalid(
                    format!("scoring.group_weights.{g}"),
                    "must be a non-negative number",
                ));
            }
        }
        if scoring.group_weights.values().sum::<f64>() > 100.0 + 1e-9 {
            return Err(invalid(
                "scoring.group_weights",
                "group weights must add up to at most 100",
            ));
        }
        for t in [&raw.window.since, &raw.window.until].into_iter().flatten() {
            crate::duration::parse_time(t, 0).map_err(|e| invalid("window", e.to_string()))?;
        }
        if let Some(w) = &raw.window.window
            && let Err(e) = crate::duration::parse_positive_duration(w)
        {
            return Err(invalid("window.window", e.to_string()));
        }
        if raw.window.since.is_some() && raw.window.window.is_some() {
            return Err(invalid("window", "give `since` or `window`, not both"));
        }
        if let Some(name) = &raw.source
            && name.trim().is_empty()
        {
            return Err(invalid("source", "must name a data source"));
        }
        if raw.source.is_some() && raw.prometheus.is_some() {
            return Err(invalid(
                "source",
                "give `source:` or `prometheus:`, not both",
            ));
        }
        Ok(AnalysisConfig {
            scoring,
            metrics,
            source: raw.source,
            prometheus: raw.prometheus,
            window: raw.window,
        })
    }
}

fn invalid(at: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        at: at.into(),
        why: why.into(),
    }
}

fn check_scoring(s: &ScoringConfig) -> Result<(), ConfigError> {
    if !(0.0..=100.0).contains(&s.pass) {
        return Err(invalid("scoring.pass", "must be between 0 and 100"));
    }
    if !(0.0..=100.0).contains(&s.marginal) || s.marginal > s.pass {
        return Err(invalid(
            "scoring.marginal",
            "must be between 0 and `scoring.pass`",
        ));
    }
    if !(s.alpha > 0.0 && s.alpha < 1.0) {
        return Err(invalid("scoring.alpha", "must be strictly between 0 and 1"));
    }
    Ok(())
}

/// Metric-level knobs copied into `params`, with the params field name each maps to for a
/// method (`None` when the method has no such parameter).
fn knob_field(method: MethodName, knob: &str) -> Option<&'static str> {
    use MethodName::*;
    match (knob, method) {
        ("harm", MannWhitney | Welch | Msprt) => Some("harm"),
        ("alpha", m) if m.has_alpha() => Some("alpha"),
        ("margin", MannWhitney | Welch | Msprt | CountSequential | QuantileSequential) => {
            Some("margin")
        }
        ("fail_margin", MannWhitney | Welch | Msprt | CountSequential | QuantileSequential) => {
            Some("fail_margin")
        }
        ("min_samples", Threshold | MannWhitney | Welch | QuantileSequential) => {
            Some("min_samples")
        }
        ("min_samples", Msprt) => Some("burn_in"),
        ("min_events", CountSequential) => Some("min_events"),
        _ => None,
    }
}

fn typed<T: serde::de::DeserializeOwned>(
    params: serde_json::Map<String, serde_json::Value>,
    at: &str,
) -> Result<T, ConfigError> {
    serde_json::from_value(serde_json::Value::Object(params))
        .map_err(|e| invalid(format!("{at}.params"), e.to_string()))
}

fn validate_metric(
    m: MetricConfig,
    defaults: &MetricDefaults,
    at: &str,
) -> Result<Metric, ConfigError> {
    let mut params = m.params.clone().unwrap_or_default();
    let knobs: [(&str, Option<serde_json::Value>); 6] = [
        (
            "harm",
            m.harm
                .map(|h| serde_json::to_value(h).unwrap_or(serde_json::Value::Null)),
        ),
        ("alpha", m.alpha.map(serde_json::Value::from)),
        ("margin", m.margin.map(serde_json::Value::from)),
        ("fail_margin", m.fail_margin.map(serde_json::Value::from)),
        ("min_samples", m.min_samples.map(serde_json::Value::from)),
        ("min_events", m.min_events.map(serde_json::Value::from)),
    ];
    for (knob, value) in knobs {
        let Some(value) = value else { continue };
        let Some(field) = knob_field(m.method, knob) else {
            return Err(invalid(
                format!("{at}.{knob}"),
                format!("method {} has no `{knob}` setting", m.method),
            ));
        };
        if params.contains_key(field) {
            return Err(invalid(
                format!("{at}.{knob}"),
                format!("set either `{knob}` or `params.{field}`, not both"),
            ));
        }
        params.insert(field.to_string(), value);
    }
    let method = match m.method {
        MethodName::Threshold => MethodParams::Threshold(typed(params, at)?),
        MethodName::MannWhitney => MethodParams::MannWhitney(typed(params, at)?),
        MethodName::Welch => MethodParams::Welch(typed(params, at)?),
        MethodName::Msprt => MethodParams::Msprt(typed(params, at)?),
        MethodName::CountSequential => MethodParams::CountSequential(typed(params, at)?),
        MethodName::QuantileSequential => MethodParams::QuantileSequential(typed(params, at)?),
    };
    if let Some(a) = method.alpha()
        && !(a > 0.0 && a < 1.0)
    {
        return Err(invalid(
            format!("{at}.alpha"),
            "must be strictly between 0 and 1",
        ));
    }
    if !m.weight.is_finite() || m.weight < 0.0 {
        return Err(invalid(
            format!("{at}.weight"),
            "must be a non-negative number",
        ));
    }
    let no_data = match (m.must_have_data, m.no_data.or(defaults.no_data)) {
        (true, Some(NoDataPolicy::Pass | NoDataPolicy::Inconclusive)) if m.no_data.is_some() => {
            return Err(invalid(
                format!("{at}.no_data"),
                "conflicts with `must_have_data: true` (which means `no_data: fail`)",
            ));
        }
        (true, _) => NoDataPolicy::Fail,
        (false, p) => p.unwrap_or_default(),
    };
    let nan_strategy = m.nan_strategy.or(defaults.nan_strategy).unwrap_or_default();
    if let NanStrategy::Replace(v) = nan_strategy
        && !v.is_finite()
    {
        return Err(invalid(
            format!("{at}.nan_strategy.replace"),
            "must be a finite number",
        ));
    }
    let canary = arm_spec(m.method, &m.canary, &format!("{at}.canary"))?;
    let baseline = match &m.baseline {
        Some(b) => Some(arm_spec(m.method, b, &format!("{at}.baseline"))?),
        None => None,
    };
    let needs_baseline = match &method {
        MethodParams::Threshold(p) => {
            p.max_ratio.is_some()
                || p.min_ratio.is_some()
                || p.max_difference.is_some()
                || p.min_difference.is_some()
        }
        _ => true,
    };
    if needs_baseline && baseline.is_none() {
        return Err(invalid(
            format!("{at}.baseline"),
            format!("method {} needs a baseline arm", m.method),
        ));
    }
    if let Some(b) = &baseline
        && std::mem::discriminant(&canary) != std::mem::discriminant(b)
    {
        return Err(invalid(
            format!("{at}.baseline"),
            "must give the same kind of data as the canary (values, counts or histogram)",
        ));
    }
    Ok(Metric {
        name: m.name,
        method,
        weight: m.weight,
        group: m
            .group
            .or_else(|| defaults.group.clone())
            .unwrap_or_else(|| "default".to_string()),
        critical: m.critical,
        must_have_data: m.must_have_data || no_data == NoDataPolicy::Fail,
        muted: m.muted,
        no_data,
        nan_strategy,
        canary,
        baseline,
    })
}

/// Resolve one arm for its method.
fn arm_spec(method: MethodName, arm: &ArmConfig, at: &str) -> Result<ArmSpec, ConfigError> {
    let scalar: Vec<SeriesSource> = [
        arm.values.clone().map(SeriesSource::Values),
        arm.file.clone().map(SeriesSource::File),
        arm.query.clone().map(SeriesSource::Query),
    ]
    .into_iter()
    .flatten()
    .collect();
    if scalar.len() > 1 {
        return Err(invalid(
            at,
            "give exactly one of `values`, `file` or `query`",
        ));
    }
    let scalar = scalar.into_iter().next();
    let spec = match method {
        MethodName::CountSequential => {
            if scalar.is_some() || arm.histogram.is_some() {
                return Err(invalid(
                    at,
                    "count-sequential takes `events` and `traffic` per arm (each a `values`, `file` or `query`), not a single series",
                ));
            }
            match (&arm.events, &arm.traffic) {
                (Some(e), Some(t)) => Some(ArmSpec::Counts {
                    events: e.clone(),
                    traffic: t.clone(),
                }),
                (None, None) => None,
                (None, Some(_)) => return Err(invalid(format!("{at}.events"), "is missing")),
                (Some(_), None) => return Err(invalid(format!("{at}.traffic"), "is missing")),
            }
        }
        MethodName::QuantileSequential => {
            if arm.events.is_some() || arm.traffic.is_some() {
                return Err(invalid(
                    at,
                    "quantile-sequential takes `histogram` or raw samples (`values`, `file`, `query`), not events/traffic",
                ));
            }
            match (scalar, &arm.histogram) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        at,
                        "give either `histogram` or raw samples, not both",
                    ));
                }
                (Some(s), None) => Some(ArmSpec::Values {
                    series: s,
                    traffic: None,
                }),
                (None, Some(h)) => Some(ArmSpec::Histogram(h.clone())),
                (None, None) => None,
            }
        }
        MethodName::Threshold => {
            if arm.events.is_some() || arm.histogram.is_some() {
                return Err(invalid(
                    at,
                    "threshold takes a series (`values`, `file` or `query`) and optionally `traffic`",
                ));
            }
            match scalar {
                Some(series) => Some(ArmSpec::Values {
                    series,
                    traffic: arm.traffic.clone(),
                }),
                None if arm.traffic.is_some() => {
                    return Err(invalid(at, "`traffic` given without a series"));
                }
                None => None,
            }
        }
        MethodName::MannWhitney | MethodName::Welch | MethodName::Msprt => {
            if arm.events.is_some() || arm.traffic.is_some() || arm.histogram.is_some() {
                return Err(invalid(
                    at,
                    format!("{method} takes a series (`values`, `file` or `query`)"),
                ));
            }
            scalar.map(|series| ArmSpec::Values {
                series,
                traffic: None,
            })
        }
    };
    spec.ok_or_else(|| {
        invalid(
            at,
            match method {
                MethodName::CountSequential => "needs `events` and `traffic`",
                MethodName::QuantileSequential => {
                    "needs `histogram` or one of `values`, `file`, `query`"
                }
                _ => "needs one of `values`, `file` or `query`",
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<AnalysisConfig, ConfigError> {
        AnalysisConfig::from_yaml_str(yaml)
    }

    #[test]
    fn metric_level_knobs_land_in_the_method_params() {
        let cfg = parse(
            "metrics:\n  - name: m\n    method: msprt\n    harm: decrease\n    alpha: 0.01\n    margin: 0.3\n    min_samples: 12\n    canary: {values: [1]}\n    baseline: {values: [1]}\n",
        )
        .unwrap();
        let MethodParams::Msprt(p) = &cfg.metrics[0].method else {
            panic!("expected msprt")
        };
        assert_eq!(p.harm, Harm::Decrease);
        assert_eq!(p.alpha, 0.01);
        assert_eq!(p.margin, 0.3);
        assert_eq!(p.burn_in, 12);
    }

    #[test]
    fn defaults_are_inherited_and_overridden() {
        let cfg = parse(
            "defaults: {nan_strategy: {replace: 0}, no_data: fail, group: web}\nmetrics:\n  - name: a\n    method: welch\n    canary: {values: [1]}\n    baseline: {values: [1]}\n  - name: b\n    method: welch\n    group: db\n    nan_strategy: remove\n    no_data: pass\n    canary: {values: [1]}\n    baseline: {values: [1]}\n",
        )
        .unwrap();
        let (a, b) = (&cfg.metrics[0], &cfg.metrics[1]);
        assert_eq!(a.nan_strategy, NanStrategy::Replace(0.0));
        assert_eq!(a.no_data, NoDataPolicy::Fail);
        assert!(a.must_have_data, "no_data: fail is Kayenta's mustHaveData");
        assert_eq!(a.group, "web");
        assert_eq!(b.nan_strategy, NanStrategy::Remove);
        assert_eq!(b.no_data, NoDataPolicy::Pass);
        assert_eq!(b.group, "db");
    }

    #[test]
    fn arm_shapes_follow_the_method() {
        let cfg = parse(
            "metrics:\n  - name: e\n    method: count-sequential\n    canary: {events: {values: [1]}, traffic: {values: [100]}}\n    baseline: {events: {file: e.csv}, traffic: {query: 'sum(x)'}}\n  - name: h\n    method: quantile-sequential\n    canary: {histogram: {file: c.csv}}\n    baseline: {histogram: {file: b.csv}}\n  - name: t\n    method: threshold\n    params: {max: 1}\n    canary: {file: c.csv, traffic: {file: r.csv}}\n",
        )
        .unwrap();
        assert!(matches!(cfg.metrics[0].canary, ArmSpec::Counts { .. }));
        assert!(matches!(cfg.metrics[1].canary, ArmSpec::Histogram(_)));
        assert!(matches!(
            cfg.metrics[2].canary,
            ArmSpec::Values {
                traffic: Some(_),
                ..
            }
        ));
        assert!(cfg.metrics[2].baseline.is_none());
        // A relative threshold needs the baseline.
        let e = parse(
            "metrics:\n  - name: t\n    method: threshold\n    params: {max_ratio: 1.1}\n    canary: {values: [1]}\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs a baseline"), "{e}");
        // Mixed shapes between arms.
        let e = parse(
            "metrics:\n  - name: h\n    method: quantile-sequential\n    canary: {histogram: {file: c.csv}}\n    baseline: {file: b.csv}\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("same kind of data"), "{e}");
    }

    #[test]
    fn method_names_round_trip() {
        for m in MethodName::ALL {
            assert_eq!(m.as_str().parse::<MethodName>(), Ok(m));
            let yaml: MethodName = serde_yaml_ng::from_str(m.as_str()).unwrap();
            assert_eq!(yaml, m);
        }
        assert!("t-test".parse::<MethodName>().is_err());
    }

    proptest::proptest! {
        /// Arbitrary text (and arbitrary JSON-ish text) is an error or a config, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "(metrics|params|canary|values|file|\\{|\\}|\\[|\\]|:|,| |\n|-|[a-z0-9.]){0,120}") {
            let _ = AnalysisConfig::from_yaml_str(&text);
            let _ = AnalysisConfig::from_json_str(&text);
        }
    }
}
