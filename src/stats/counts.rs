//! Sequential count test for errors against traffic (method `count-sequential`): Beta mixture
//! for a constant traffic share, grid-mixture e-process for a share that changes per interval,
//! and a rate-ratio upper confidence bound for Pass.

use super::{Decision, StatsError};
use serde::{Deserialize, Serialize};

/// One arm's events (e.g. 5xx responses) and traffic (requests) per disjoint interval.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CountSeries {
    /// Events per interval.
    pub events: Vec<f64>,
    /// Traffic per interval (same length as `events`).
    pub traffic: Vec<f64>,
}

/// Parameters of the count test (defaults in `statistics.md` §6.2(e)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CountParams {
    /// Anytime-valid significance level.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Pass when the rate-ratio upper bound is below 1 + margin.
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Fixed canary traffic share ρ (Beta-mixture test); `None` uses the per-interval share.
    #[serde(default)]
    pub share: Option<f64>,
    /// Prior concentration k of the Beta mixture.
    #[serde(default = "default_k")]
    pub prior_strength: f64,
    /// Events needed (both arms together) before a Pass.
    #[serde(default = "default_min_events")]
    pub min_events: f64,
    /// Requests needed per arm before any verdict.
    #[serde(default = "default_min_requests")]
    pub min_requests: f64,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_margin() -> f64 {
    0.2
}
fn default_k() -> f64 {
    100.0
}
fn default_min_events() -> f64 {
    1.0
}
fn default_min_requests() -> f64 {
    100.0
}

impl Default for CountParams {
    fn default() -> Self {
        CountParams {
            alpha: default_alpha(),
            margin: default_margin(),
            share: None,
            prior_strength: default_k(),
            min_events: default_min_events(),
            min_requests: default_min_requests(),
        }
    }
}

/// Compare canary and baseline event counts, interval by interval.
pub fn compare(
    canary: &CountSeries,
    baseline: &CountSeries,
    params: &CountParams,
) -> Result<Decision, StatsError> {
    let _ = (canary, baseline, params);
    Err(StatsError::InvalidParameter {
        name: "method",
        why: "count-sequential is not implemented yet".into(),
    })
}
