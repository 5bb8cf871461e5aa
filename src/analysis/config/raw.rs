//! The config as written: serde shapes only (unknown fields are errors), before any
//! method-specific check. [`super::AnalysisConfig::validate`] turns it into the validated form.

use super::*;

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

/// NaN handling of a metric: the one type shared with `stats/` (default here `remove`, as
/// Kayenta; see [`crate::stats::nan`]).
pub use crate::stats::NanStrategy;

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

pub(super) fn default_pass() -> f64 {
    75.0
}
pub(super) fn default_marginal() -> f64 {
    50.0
}
pub(super) fn default_alpha() -> f64 {
    0.05
}
pub(super) fn default_weight() -> f64 {
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
