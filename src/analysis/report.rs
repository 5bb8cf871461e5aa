//! What an analysis answers: the per-metric lines and the aggregate report every front door
//! renders (CLI table and JSON, Argo measurement, gRPC, webhooks). The engine fills them and
//! the scorer reads them; keeping them here lets neither depend on the other's internals.

use super::config::ScoringMode;
use crate::stats::{Decision, Verdict};
use serde::Serialize;

/// What happened to one metric, finer than its verdict: the scorer treats no-data and errors
/// differently from a genuine inconclusive answer (Kayenta's `Nodata` and `Error` labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricOutcome {
    /// The method passed the canary.
    Pass,
    /// The method failed the canary.
    Fail,
    /// The method ran but could not decide.
    Inconclusive,
    /// An arm had no data; the verdict follows the no-data policy.
    NoData,
    /// The method rejected its input or parameters; the verdict is inconclusive.
    Error,
}

/// One metric's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricReport {
    /// Metric name.
    pub name: String,
    /// Method name.
    pub method: String,
    /// Scoring group.
    pub group: String,
    /// Weight in its group (and α share in statistical mode).
    pub weight: f64,
    /// Critical flag.
    pub critical: bool,
    /// Excluded from scoring.
    pub muted: bool,
    /// Kayenta's mustHaveData.
    pub must_have_data: bool,
    /// Pass, fail, inconclusive, nodata or error.
    pub outcome: MetricOutcome,
    /// Significance level used (after the statistical mode's split), if the method has one.
    pub alpha: Option<f64>,
    /// The method's full answer (numbers and reason).
    pub decision: Decision,
}

/// The analysis result every front door returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisReport {
    /// Overall verdict.
    pub verdict: Verdict,
    /// Kayenta-style 0–100 score; `None` when no metric reached a verdict that counts.
    pub score: Option<f64>,
    /// Scoring mode used.
    pub mode: ScoringMode,
    /// Pass threshold of the score.
    pub pass_threshold: f64,
    /// Marginal threshold of the score.
    pub marginal_threshold: f64,
    /// Per-group scores.
    pub groups: Vec<GroupScore>,
    /// Per-metric results in config order.
    pub metrics: Vec<MetricReport>,
    /// One sentence saying why the verdict is what it is.
    pub reason: String,
}

/// One group's part of the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupScore {
    /// Group name.
    pub name: String,
    /// Group weight (explicit, or an equal share of what explicit weights leave).
    pub weight: f64,
    /// 100 × weighted passes / weighted counted metrics; `None` when nothing counted.
    pub score: Option<f64>,
    /// Metrics that counted (pass, fail, and inconclusive/no-data with must_have_data).
    pub counted: usize,
    /// Of which passed.
    pub passed: usize,
}
