//! The validated config the engine reads ([`AnalysisConfig`], [`Metric`], [`ArmSpec`]) and
//! the checks that build it from the written form: method parameters, knobs, arm shapes,
//! weights, groups and windows, each error naming its place.

use super::*;

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

    /// Validate a config already parsed as JSON (a plugin config, a request body's `config`
    /// object): the shape is read straight from the value, with no second text round trip of
    /// every inline sample. On a shape error the text parser runs once more, because its
    /// messages name the field's path (`metrics[0].canary`).
    pub fn from_json_value(value: &serde_json::Value) -> Result<Self, ConfigError> {
        match RawAnalysisConfig::deserialize(value) {
            Ok(raw) => Self::validate(raw),
            Err(_) => Self::from_json_str(&value.to_string()),
        }
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

pub(super) fn invalid(at: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        at: at.into(),
        why: why.into(),
    }
}

pub(super) fn check_scoring(s: &ScoringConfig) -> Result<(), ConfigError> {
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
pub(super) fn knob_field(method: MethodName, knob: &str) -> Option<&'static str> {
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

pub(super) fn typed<T: serde::de::DeserializeOwned>(
    params: serde_json::Map<String, serde_json::Value>,
    at: &str,
) -> Result<T, ConfigError> {
    serde_json::from_value(serde_json::Value::Object(params))
        .map_err(|e| invalid(format!("{at}.params"), e.to_string()))
}

pub(super) fn validate_metric(
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
    let nan_strategy = m
        .nan_strategy
        .or(defaults.nan_strategy)
        .unwrap_or(NanStrategy::Remove);
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
pub(super) fn arm_spec(
    method: MethodName,
    arm: &ArmConfig,
    at: &str,
) -> Result<ArmSpec, ConfigError> {
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
