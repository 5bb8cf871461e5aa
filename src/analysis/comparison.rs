//! One method on two series the caller already holds: `canary-judge compare` and gRPC
//! `Compare`. A comparison is a one-metric analysis run through [`evaluate`], so a method is
//! dispatched in one place (the engine), its parameters are checked by the config's rules
//! (knobs, `deny_unknown_fields`, α range) and a new method needs no second wiring here.

use super::config::{AnalysisConfig, ArmConfig, ConfigError, MethodName, MetricConfig};
use super::config::{MetricDefaults, NanStrategy, RawAnalysisConfig, ScoringConfig, WindowConfig};
use super::engine::evaluate;
use super::report::MetricReport;
use super::series::{ArmData, SeriesSet};

/// The metric name a comparison's report carries.
pub const COMPARISON_METRIC: &str = "compare";

/// One arm of a comparison: where its data came from (recorded in the config, so a report
/// says what was judged) and the data itself.
#[derive(Debug, Clone)]
pub struct ComparisonArm {
    /// The arm as a config would write it (inline `values`, or the `file` it was read from).
    pub spec: ArmConfig,
    /// The data the method judges.
    pub data: ArmData,
}

/// The validated one-metric config of a comparison, ready for [`compare`].
#[derive(Debug, Clone)]
pub struct Comparison {
    config: AnalysisConfig,
    data: SeriesSet,
}

impl Comparison {
    /// Builds the comparison of `canary` with `baseline` (absent only for absolute
    /// thresholds) by `method` with `params` (the fields of the method's parameter struct)
    /// and the metric's NaN strategy (`None`: the config default, `remove`). Errors are the
    /// config's: they name `metrics[0] (compare).params` and the field.
    pub fn new(
        method: MethodName,
        params: serde_json::Map<String, serde_json::Value>,
        nan_strategy: Option<NanStrategy>,
        canary: ComparisonArm,
        baseline: Option<ComparisonArm>,
    ) -> Result<Self, ConfigError> {
        let metric = MetricConfig {
            name: COMPARISON_METRIC.to_string(),
            method,
            params: Some(params),
            harm: None,
            alpha: None,
            margin: None,
            fail_margin: None,
            min_samples: None,
            min_events: None,
            weight: 1.0,
            group: None,
            critical: false,
            must_have_data: false,
            muted: false,
            no_data: None,
            nan_strategy,
            canary: canary.spec,
            baseline: baseline.as_ref().map(|b| b.spec.clone()),
        };
        let config = AnalysisConfig::validate(RawAnalysisConfig {
            scoring: ScoringConfig::default(),
            defaults: MetricDefaults::default(),
            metrics: vec![metric],
            source: None,
            prometheus: None,
            window: WindowConfig::default(),
        })?;
        let data =
            SeriesSet::default().with(COMPARISON_METRIC, canary.data, baseline.map(|b| b.data));
        Ok(Comparison { config, data })
    }

    /// Judges the comparison: the engine's report of its one metric (its `outcome` says
    /// whether the method decided, found no data, or refused the input).
    pub fn judge(&self) -> MetricReport {
        evaluate(&self.config, &self.data)
            .metrics
            .into_iter()
            .next()
            .expect("evaluate reports every metric, and a comparison has exactly one")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::MetricOutcome;
    use crate::stats::Verdict;

    fn values(v: &[f64]) -> ComparisonArm {
        ComparisonArm {
            spec: ArmConfig {
                values: Some(v.to_vec()),
                ..ArmConfig::default()
            },
            data: ArmData::values(v.to_vec()),
        }
    }

    #[test]
    fn a_comparison_is_judged_by_the_engine() {
        let c: Vec<f64> = (0..30).map(|i| 10.0 + f64::from(i % 5)).collect();
        let b = c.clone();
        let cmp = Comparison::new(
            MethodName::Welch,
            serde_json::Map::new(),
            None,
            values(&c),
            Some(values(&b)),
        )
        .unwrap();
        let m = cmp.judge();
        assert_eq!(m.name, COMPARISON_METRIC);
        assert_eq!(m.outcome, MetricOutcome::Pass);
        assert_eq!(m.decision.verdict, Verdict::Pass);
        assert_eq!(m.decision.n_canary, 30);
    }

    #[test]
    fn parameters_are_checked_by_the_config_rules() {
        let mut params = serde_json::Map::new();
        params.insert("mode".into(), "exact".into());
        let err = Comparison::new(
            MethodName::Welch,
            params,
            None,
            values(&[1.0, 2.0]),
            Some(values(&[1.0, 2.0])),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `mode`"), "{err}");
        let err = Comparison::new(
            MethodName::Welch,
            serde_json::Map::new(),
            None,
            values(&[1.0]),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("needs a baseline"), "{err}");
    }
}
