//! Pure statistics: every function here maps numbers to a [`Decision`] and does no I/O,
//! no async and no logging, so the same code serves the CLI, the Argo plugin and the service
//! and can be checked digit for digit against scipy.
//!
//! Conventions (see `ARCHITECTURE.md`): x is the canary, y the baseline; effects are canary
//! minus baseline (or canary over baseline for ratios); "harm" is the direction in which a
//! change hurts users.

pub mod counts;
pub mod forecast;
pub mod mann_whitney;
pub mod msprt;
pub mod nan;
pub mod quantile;
pub mod ratio_cs;
pub mod special;
pub mod threshold;
pub mod welch;

pub use nan::NanStrategy;

use serde::{Deserialize, Serialize};

/// The three answers a canary analysis can give; they map onto Argo's Successful, Failed and
/// Inconclusive phases and onto Flagger's pass/halt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The canary is shown to be no worse than the baseline (or inside its bounds).
    Pass,
    /// The canary is shown to be worse than allowed.
    Fail,
    /// The data do not settle the question yet (too few samples, or neither shown).
    Inconclusive,
}

impl Verdict {
    /// Lower-case word used in tables, JSON and Argo measurement values.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Alternative hypothesis of a two-sample test, named as scipy names them: `greater` means the
/// canary tends to be larger than the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    /// Either direction.
    #[default]
    TwoSided,
    /// Canary stochastically larger than baseline.
    Greater,
    /// Canary stochastically smaller than baseline.
    Less,
}

impl std::str::FromStr for Alternative {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "two-sided" | "two_sided" => Ok(Alternative::TwoSided),
            "greater" => Ok(Alternative::Greater),
            "less" => Ok(Alternative::Less),
            other => Err(format!(
                "unknown alternative `{other}` (expected two-sided, greater or less)"
            )),
        }
    }
}

/// Which direction of change hurts users: higher latency and error rates are `Increase`,
/// lower throughput or success ratio is `Decrease`, `Either` treats both as harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Harm {
    /// Larger canary values are worse (latency, errors). The default.
    #[default]
    Increase,
    /// Smaller canary values are worse (throughput, success ratio).
    Decrease,
    /// Any change is harm.
    Either,
}

impl Harm {
    /// The one-sided alternative that corresponds to "the canary is worse"; `Either` maps to
    /// a two-sided test.
    pub fn alternative(self) -> Alternative {
        match self {
            Harm::Increase => Alternative::Greater,
            Harm::Decrease => Alternative::Less,
            Harm::Either => Alternative::TwoSided,
        }
    }
}

/// One method's answer with everything a person needs to audit it: the numbers end up in
/// Argo's `Measurement.Metadata`, the service's JSON and the CLI table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Method name as used in configs and on the command line (`mann-whitney`, `msprt`, ...).
    pub method: String,
    /// Pass, fail or inconclusive.
    pub verdict: Verdict,
    /// Number of canary observations (points, intervals or events, per method).
    pub n_canary: u64,
    /// Number of baseline observations.
    pub n_baseline: u64,
    /// Main test statistic (U of the canary for Mann–Whitney, t for Welch, ...), if any.
    pub statistic: Option<f64>,
    /// Classical p-value (fixed-sample methods) or anytime-valid p-value (1/max e), if any.
    pub p_value: Option<f64>,
    /// E-value of the sequential methods (evidence against "canary not worse"), if any.
    pub e_value: Option<f64>,
    /// Degrees of freedom (Welch).
    pub df: Option<f64>,
    /// Effect estimate on the method's scale (Hodges–Lehmann shift, difference of means,
    /// rate ratio, ...).
    pub effect: Option<f64>,
    /// Lower end of the confidence interval or confidence sequence for `effect`.
    pub ci_low: Option<f64>,
    /// Upper end of the confidence interval or confidence sequence for `effect`.
    pub ci_high: Option<f64>,
    /// Further named numbers specific to the method (CLES, mean ratio, thresholds, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub extra: std::collections::BTreeMap<String, f64>,
    /// One sentence a person can read that says why.
    pub reason: String,
}

impl Decision {
    /// An empty decision for `method` with the given verdict and reason; methods fill in the
    /// numbers they have.
    pub fn new(method: &str, verdict: Verdict, reason: impl Into<String>) -> Self {
        Decision {
            method: method.to_string(),
            verdict,
            n_canary: 0,
            n_baseline: 0,
            statistic: None,
            p_value: None,
            e_value: None,
            df: None,
            effect: None,
            ci_low: None,
            ci_high: None,
            extra: Default::default(),
            reason: reason.into(),
        }
    }
}

/// Errors of the statistics layer: inputs that no method can judge.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// A sample contained NaN or an infinity where a finite number is required.
    #[error("{arm} sample contains a non-finite value at position {index}")]
    NonFinite {
        /// `canary` or `baseline`.
        arm: &'static str,
        /// Zero-based position of the first offending value.
        index: usize,
    },
    /// A parameter is outside its valid range.
    #[error("parameter `{name}` is invalid: {why}")]
    InvalidParameter {
        /// Parameter name as written in configs.
        name: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// Arms of a paired/aligned input have different lengths.
    #[error(
        "canary and baseline series must have the same number of intervals ({canary} vs {baseline})"
    )]
    LengthMismatch {
        /// Canary length.
        canary: usize,
        /// Baseline length.
        baseline: usize,
    },
}

/// Returns the first non-finite value's position, so callers can reject NaN/Inf with a message
/// that points at it.
pub fn check_finite(arm: &'static str, values: &[f64]) -> Result<(), StatsError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(StatsError::NonFinite { arm, index }),
        None => Ok(()),
    }
}

/// A power of two by which `values` can be divided so that their squares and sums stay finite
/// (and their smallest magnitudes stay normal): 1 for ordinary data, so results are bit for bit
/// what they were, and 2^k with k near the exponent of the largest magnitude when that is above
/// 2^400 or (for non-zero data) below 2^−400. Dividing by a power of two is exact, which is why
/// the methods scale this way rather than by the maximum itself.
pub(crate) fn power_of_two_scale(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0_f64, |m, v| m.max(v.abs()));
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let exponent = max.log2().floor();
    if (-400.0..=400.0).contains(&exponent) {
        1.0
    } else {
        (exponent as i32 as f64).exp2()
    }
}

/// The fail margin a method uses: `fail_margin` when set, else the metric's `margin`.
///
/// Every comparative method (welch, mann-whitney's strict rule, msprt, count-sequential,
/// quantile-sequential) follows one tri-state rule (issue 16, defect 5): **fail** only when
/// harm beyond `fail_margin` is shown at the method's α (its harm-side confidence bound lies
/// beyond the fail band), **pass** when the effect is shown inside `margin`, else
/// **inconclusive**. Defaulting to the margin means a shift the team declared tolerable is
/// never a reason to roll back, however significant at high traffic; `fail_margin: 0` fails
/// on any shown harm.
pub(crate) fn fail_margin(fail_margin: Option<f64>, margin: f64) -> Result<f64, StatsError> {
    match fail_margin {
        None => Ok(margin),
        Some(f) if f.is_finite() && f >= 0.0 => Ok(f),
        Some(f) => Err(StatsError::InvalidParameter {
            name: "fail_margin",
            why: format!("must be a finite number ≥ 0, got {f}"),
        }),
    }
}
