//! Mixture sequential probability ratio test / normal-mixture confidence sequence for the
//! difference of means (method `msprt`): anytime-valid, so it may be looked at every step.

use super::{Decision, Harm, StatsError};
use serde::{Deserialize, Serialize};

/// Parameters of mSPRT (defaults in `statistics.md` §6.2(d)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MsprtParams {
    /// Anytime-valid significance level.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Which direction is harm; `either` is two-sided.
    #[serde(default)]
    pub harm: Harm,
    /// Mixture standard deviation τ on the metric's scale; default derived from the data.
    #[serde(default)]
    pub tau: Option<f64>,
    /// Relative non-inferiority margin (fraction of the baseline mean).
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Points per arm before any decision (plug-in variance burn-in).
    #[serde(default = "default_burn_in")]
    pub burn_in: usize,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_margin() -> f64 {
    0.10
}
fn default_burn_in() -> usize {
    30
}

impl Default for MsprtParams {
    fn default() -> Self {
        MsprtParams {
            alpha: default_alpha(),
            harm: Harm::Increase,
            tau: None,
            margin: default_margin(),
            burn_in: default_burn_in(),
        }
    }
}

/// Canary and baseline values in time order (index i of each arm is the i-th interval).
pub fn compare(
    canary: &[f64],
    baseline: &[f64],
    params: &MsprtParams,
) -> Result<Decision, StatsError> {
    let _ = (canary, baseline, params);
    Err(StatsError::InvalidParameter {
        name: "method",
        why: "msprt is not implemented yet".into(),
    })
}
