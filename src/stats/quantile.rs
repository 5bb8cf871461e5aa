//! Anytime-valid latency comparison (method `quantile-sequential`): Prometheus histogram
//! buckets turned into "slow request" count processes per bucket boundary (the count test per
//! boundary), and Howard–Ramdas quantile confidence sequences for raw samples.

use super::{Decision, StatsError};
use serde::{Deserialize, Serialize};

/// One arm's histogram: cumulative bucket counts per disjoint interval, Prometheus style.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistogramSeries {
    /// Upper bounds `le` in increasing order; the last may be +Inf.
    pub bounds: Vec<f64>,
    /// For each interval, the cumulative count at each bound (same length as `bounds`).
    pub intervals: Vec<Vec<f64>>,
}

/// Parameters of the quantile method (defaults in `statistics.md` §6.2(f)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct QuantileParams {
    /// Anytime-valid significance level (split across thresholds or quantiles).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Relative margin: pass when the canary is at most this much worse.
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Quantiles monitored for raw samples.
    #[serde(default = "default_quantiles")]
    pub quantiles: Vec<f64>,
    /// Histogram boundaries to test; default: every finite bound.
    #[serde(default)]
    pub thresholds: Option<Vec<f64>>,
    /// Points (or requests) per arm before any verdict.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_margin() -> f64 {
    0.2
}
fn default_quantiles() -> Vec<f64> {
    vec![0.5, 0.9, 0.99]
}
fn default_min_samples() -> usize {
    30
}

impl Default for QuantileParams {
    fn default() -> Self {
        QuantileParams {
            alpha: default_alpha(),
            margin: default_margin(),
            quantiles: default_quantiles(),
            thresholds: None,
            min_samples: default_min_samples(),
        }
    }
}

/// Compare raw latency samples (in time order) with Howard–Ramdas quantile confidence sequences.
pub fn compare_samples(
    canary: &[f64],
    baseline: &[f64],
    params: &QuantileParams,
) -> Result<Decision, StatsError> {
    let _ = (canary, baseline, params);
    Err(StatsError::InvalidParameter {
        name: "method",
        why: "quantile-sequential is not implemented yet".into(),
    })
}

/// Compare Prometheus histograms: per boundary, slow requests against total requests.
pub fn compare_histograms(
    canary: &HistogramSeries,
    baseline: &HistogramSeries,
    params: &QuantileParams,
) -> Result<Decision, StatsError> {
    let _ = (canary, baseline, params);
    Err(StatsError::InvalidParameter {
        name: "method",
        why: "quantile-sequential is not implemented yet".into(),
    })
}
