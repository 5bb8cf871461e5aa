//! The analysis config format (YAML or JSON): a list of metrics, each naming a method, its
//! parameters and where each arm's data comes from, plus optional scoring and defaults.
//! Parsing is two-stage so that every error names its place: serde checks the shape (unknown
//! fields are errors), then [`AnalysisConfig::validate`] checks the method-specific parts.

use crate::source::SeriesSource;
use crate::source::prometheus::PrometheusConfig;
use crate::stats::Harm;
use crate::stats::counts::CountParams;
use crate::stats::mann_whitney::MannWhitneyParams;
use crate::stats::msprt::MsprtParams;
use crate::stats::quantile::QuantileParams;
use crate::stats::threshold::ThresholdParams;
use crate::stats::welch::WelchParams;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A config that could not be read: the message names the field and, when the parser knows
/// it, the line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid YAML/JSON of the expected shape (unknown/missing field, type).
    #[error("{0}")]
    Syntax(String),
    /// The shape is right but a value is not allowed; `at` names the field.
    #[error("{at}: {why}")]
    Invalid {
        /// Field path such as `metrics[2] (latency).params`.
        at: String,
        /// What is wrong and how to fix it.
        why: String,
    },
}

/// The method a metric uses, as written in configs and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodName {
    /// Fixed bounds (Argo/Flagger-compatible).
    Threshold,
    /// Mann–Whitney U with Hodges–Lehmann interval.
    MannWhitney,
    /// Welch's t-test.
    Welch,
    /// Mixture SPRT on the difference of means (anytime-valid).
    Msprt,
    /// Sequential rate-ratio test for event counts against traffic (anytime-valid).
    CountSequential,
    /// Histogram/quantile sequential test (anytime-valid).
    QuantileSequential,
}

impl MethodName {
    /// Every method, in the order the documentation lists them.
    pub const ALL: [MethodName; 6] = [
        MethodName::Threshold,
        MethodName::MannWhitney,
        MethodName::Welch,
        MethodName::Msprt,
        MethodName::CountSequential,
        MethodName::QuantileSequential,
    ];

    /// Name as written in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodName::Threshold => "threshold",
            MethodName::MannWhitney => "mann-whitney",
            MethodName::Welch => "welch",
            MethodName::Msprt => "msprt",
            MethodName::CountSequential => "count-sequential",
            MethodName::QuantileSequential => "quantile-sequential",
        }
    }

    /// Whether the method has a significance level (everything but thresholds), so that the
    /// statistical scoring mode can give it a share of the family-wise α.
    pub fn has_alpha(self) -> bool {
        !matches!(self, MethodName::Threshold)
    }
}

impl std::fmt::Display for MethodName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MethodName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MethodName::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown method `{s}` (expected one of: {})",
                    MethodName::ALL.map(|m| m.as_str()).join(", ")
                )
            })
    }
}

/// A method together with its typed parameters, after validation.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodParams {
    /// `threshold`.
    Threshold(ThresholdParams),
    /// `mann-whitney`.
    MannWhitney(MannWhitneyParams),
    /// `welch`.
    Welch(WelchParams),
    /// `msprt`.
    Msprt(MsprtParams),
    /// `count-sequential`.
    CountSequential(CountParams),
    /// `quantile-sequential`.
    QuantileSequential(QuantileParams),
}

impl MethodParams {
    /// The method's name.
    pub fn name(&self) -> MethodName {
        match self {
            MethodParams::Threshold(_) => MethodName::Threshold,
            MethodParams::MannWhitney(_) => MethodName::MannWhitney,
            MethodParams::Welch(_) => MethodName::Welch,
            MethodParams::Msprt(_) => MethodName::Msprt,
            MethodParams::CountSequential(_) => MethodName::CountSequential,
            MethodParams::QuantileSequential(_) => MethodName::QuantileSequential,
        }
    }

    /// The significance level the method will use, if it has one.
    pub fn alpha(&self) -> Option<f64> {
        match self {
            MethodParams::Threshold(_) => None,
            MethodParams::MannWhitney(p) => Some(p.alpha),
            MethodParams::Welch(p) => Some(p.alpha),
            MethodParams::Msprt(p) => Some(p.alpha),
            MethodParams::CountSequential(p) => Some(p.alpha),
            MethodParams::QuantileSequential(p) => Some(p.alpha),
        }
    }

    /// Replace the significance level (statistical scoring mode splits α across metrics).
    /// Does nothing for thresholds.
    pub fn set_alpha(&mut self, alpha: f64) {
        match self {
            MethodParams::Threshold(_) => {}
            MethodParams::MannWhitney(p) => p.alpha = alpha,
            MethodParams::Welch(p) => p.alpha = alpha,
            MethodParams::Msprt(p) => p.alpha = alpha,
            MethodParams::CountSequential(p) => p.alpha = alpha,
            MethodParams::QuantileSequential(p) => p.alpha = alpha,
        }
    }
}

mod raw;
mod validated;

pub use raw::*;
pub use validated::*;

#[cfg(test)]
mod tests;
