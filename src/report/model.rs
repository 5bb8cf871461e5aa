//! The report's data model: what the HTML page draws and `--json` prints, look by look.
//! Every number in it comes from [`crate::analysis::evaluate`] called on a prefix of the
//! series (see [`super::looks`]); this module only holds and names them.

use crate::analysis::{GroupScore, MetricOutcome, ScoringMode};
use crate::stats::Verdict;
use serde::Serialize;

/// A whole report: the final answer on top, then one trace per metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Overall verdict at the last look (what `analyze` answers on the same data).
    pub verdict: Verdict,
    /// Kayenta-style score at the last look.
    pub score: Option<f64>,
    /// Scoring mode.
    pub mode: ScoringMode,
    /// Why the overall verdict is what it is.
    pub reason: String,
    /// Per-group scores at the last look.
    pub groups: Vec<GroupScore>,
    /// The judged window and the grid of looks.
    pub window: Window,
    /// The rendered Prometheus queries, when the data came from Prometheus.
    pub queries: Vec<ResolvedQuery>,
    /// The overall verdict at every look.
    pub looks: Vec<OverallLook>,
    /// One trace per metric, in config order.
    pub metrics: Vec<MetricTrace>,
}

/// Where the looks sit in time. With recorded files the start is unknown and times are
/// offsets from the first interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Start of the window, Unix seconds (Prometheus data), if known.
    pub start: Option<i64>,
    /// End of the window, Unix seconds, if known.
    pub end: Option<i64>,
    /// Seconds per interval of the series.
    pub step_seconds: f64,
    /// Intervals between two looks.
    pub every_intervals: usize,
    /// Intervals in the longest series.
    pub intervals: usize,
}

/// One rendered query of one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedQuery {
    /// Metric name.
    pub metric: String,
    /// `canary` or `baseline`.
    pub arm: String,
    /// The PromQL as sent.
    pub query: String,
}

/// The aggregate answer at one look.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverallLook {
    /// 1-based look number.
    pub look: usize,
    /// Intervals seen at this look.
    pub intervals: usize,
    /// Seconds since the window's start at the end of this look.
    pub offset_seconds: f64,
    /// Overall verdict.
    pub verdict: Verdict,
    /// Score.
    pub score: Option<f64>,
}

/// The scale on which a method states its effect, which decides where "no change" and the
/// margin sit in the band plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EffectScale {
    /// Canary minus baseline, in the series' unit (welch, mann-whitney, msprt).
    Difference,
    /// Canary over baseline (count-sequential, quantile-sequential on histograms).
    Ratio,
    /// Relative change canary/baseline − 1 (quantile-sequential on raw samples).
    Relative,
    /// The canary's own aggregate against fixed bounds (threshold).
    Absolute,
}

/// Which side of the band plot is harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HarmSide {
    /// Larger effects hurt users.
    Above,
    /// Smaller effects hurt users.
    Below,
    /// Both directions.
    Both,
}

/// The series as the method judges them, one value per interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesView {
    /// What the values are (e.g. `error rate`, `value`, `share of requests above 0.2`).
    pub unit: String,
    /// Canary, per interval (NaN where the interval had nothing, written as `null`).
    pub canary: Vec<Option<f64>>,
    /// Baseline, per interval, when the metric has one.
    pub baseline: Vec<Option<f64>>,
    /// The canary's share of traffic per interval (count tests), else empty.
    pub canary_share: Vec<Option<f64>>,
}

/// One metric's answer at one look.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricLook {
    /// 1-based look number.
    pub look: usize,
    /// Intervals seen.
    pub intervals: usize,
    /// Seconds since the window's start at the end of this look.
    pub offset_seconds: f64,
    /// The metric's verdict at this look.
    pub verdict: Verdict,
    /// Finer outcome (no data, error, ...).
    pub outcome: MetricOutcome,
    /// Effect estimate.
    pub effect: Option<f64>,
    /// Lower end of the interval or confidence sequence.
    pub ci_low: Option<f64>,
    /// Upper end.
    pub ci_high: Option<f64>,
    /// Where the margin sits on the effect scale at this look (harm side), if the method
    /// has one.
    pub margin_line: Option<f64>,
    /// Where the fail margin sits (harm side), when it differs from the margin line.
    pub fail_line: Option<f64>,
}

/// Everything the page shows for one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricTrace {
    /// Metric name.
    pub name: String,
    /// Method name.
    pub method: String,
    /// Scoring group.
    pub group: String,
    /// Critical flag.
    pub critical: bool,
    /// Effect scale of the band plot.
    pub scale: EffectScale,
    /// "No change" on that scale (0 or 1), when there is one.
    pub null_value: Option<f64>,
    /// Harm side.
    pub harm: HarmSide,
    /// Final verdict (last look).
    pub verdict: Verdict,
    /// Final outcome.
    pub outcome: MetricOutcome,
    /// Final reason.
    pub reason: String,
    /// First look from which the verdict stayed the final one (`None` when inconclusive).
    pub decided_look: Option<usize>,
    /// First look with a fail verdict.
    pub first_fail_look: Option<usize>,
    /// First look with a pass verdict.
    pub first_pass_look: Option<usize>,
    /// The series as judged.
    pub series: SeriesView,
    /// The answer at every look.
    pub looks: Vec<MetricLook>,
    /// How much longer an undecided sequential test needs at the current traffic.
    pub forecast: Option<ForecastView>,
}

/// The method's forecast (see [`crate::stats::forecast`]) in wall-clock terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastView {
    /// `pass` or `fail`: the decision the data head for.
    pub target: crate::stats::forecast::ForecastTarget,
    /// More intervals at the current traffic.
    pub more_intervals: u64,
    /// The same in seconds (intervals × step).
    pub more_seconds: f64,
    /// Requests per minute both arms together, as observed.
    pub requests_per_minute: f64,
    /// The sentence the page shows.
    pub text: String,
}
