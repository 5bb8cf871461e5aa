//! Fixed thresholds (method `threshold`): absolute bounds on the canary, bounds relative to the
//! baseline (ratio or difference of aggregates over the same window), and a minimum-traffic
//! guard. Not a statistical test: it is what Argo's and Flagger's built-in checks do.

use super::{Decision, StatsError};
use serde::{Deserialize, Serialize};

/// How a series is reduced to one number before comparing with a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregate {
    /// Arithmetic mean (default).
    #[default]
    Mean,
    /// Median.
    Median,
    /// Sum (for counts over disjoint windows).
    Sum,
    /// Largest value.
    Max,
    /// Smallest value.
    Min,
    /// The last value (the most recent interval).
    Last,
}

/// Parameters of the threshold method. Every bound is optional; at least one must be set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ThresholdParams {
    /// Reduction applied to each arm.
    #[serde(default)]
    pub aggregate: Aggregate,
    /// Canary aggregate must be ≥ this.
    #[serde(default)]
    pub min: Option<f64>,
    /// Canary aggregate must be ≤ this.
    #[serde(default)]
    pub max: Option<f64>,
    /// Canary/baseline aggregate ratio must be ≤ this (e.g. 1.1 = at most 10% worse).
    #[serde(default)]
    pub max_ratio: Option<f64>,
    /// Canary/baseline aggregate ratio must be ≥ this.
    #[serde(default)]
    pub min_ratio: Option<f64>,
    /// Canary − baseline aggregate must be ≤ this.
    #[serde(default)]
    pub max_difference: Option<f64>,
    /// Canary − baseline aggregate must be ≥ this.
    #[serde(default)]
    pub min_difference: Option<f64>,
    /// Fewer canary points than this gives Inconclusive.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
    /// Fewer requests than this in an arm (when traffic is known) gives Inconclusive.
    #[serde(default)]
    pub min_requests: Option<f64>,
}

fn default_min_samples() -> usize {
    1
}

/// Total requests per arm over the window, for the minimum-traffic guard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traffic {
    /// Canary requests.
    pub canary: f64,
    /// Baseline requests, when a baseline exists.
    pub baseline: Option<f64>,
}

/// Judge the canary against fixed bounds. `baseline` is required only by relative bounds.
pub fn evaluate(
    canary: &[f64],
    baseline: Option<&[f64]>,
    traffic: Option<Traffic>,
    params: &ThresholdParams,
) -> Result<Decision, StatsError> {
    let _ = (canary, baseline, traffic, params);
    Err(StatsError::InvalidParameter {
        name: "method",
        why: "threshold is not implemented yet".into(),
    })
}
