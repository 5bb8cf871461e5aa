//! Welch's unequal-variance t-test (method `welch`) with fractional degrees of freedom, a
//! confidence interval for the difference of means, and TOST equivalence for Pass.

use super::{Alternative, Decision, Harm, StatsError};
use serde::{Deserialize, Serialize};

/// Parameters of the Welch method (defaults in `statistics.md` §6.2(c)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct WelchParams {
    /// Alternative for the reported p-value (scipy's `alternative`).
    #[serde(default)]
    pub alternative: Alternative,
    /// Confidence level of the interval.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Significance level.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Relative margin (fraction of the baseline mean).
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Which direction is harm.
    #[serde(default)]
    pub harm: Harm,
    /// Fewer points than this in either arm gives Inconclusive.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
}

fn default_confidence() -> f64 {
    0.95
}
fn default_alpha() -> f64 {
    0.05
}
fn default_margin() -> f64 {
    0.10
}
fn default_min_samples() -> usize {
    5
}

impl Default for WelchParams {
    fn default() -> Self {
        WelchParams {
            alternative: Alternative::TwoSided,
            confidence: default_confidence(),
            alpha: default_alpha(),
            margin: default_margin(),
            harm: Harm::Increase,
            min_samples: default_min_samples(),
        }
    }
}

/// Compare canary with baseline by Welch's t-test.
pub fn compare(
    canary: &[f64],
    baseline: &[f64],
    params: &WelchParams,
) -> Result<Decision, StatsError> {
    let _ = (canary, baseline, params);
    Err(StatsError::InvalidParameter {
        name: "method",
        why: "welch is not implemented yet".into(),
    })
}
