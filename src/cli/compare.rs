//! `canary-judge compare`: run one method on two series files. Files hold numbers one per
//! line, a JSON array, or CSV `timestamp,value` (detected from the content). For
//! `count-sequential`, `--canary`/`--baseline` are event counts and `--canary-traffic`/
//! `--baseline-traffic` the requests per interval; for `quantile-sequential`, `--histogram`
//! reads CSV `timestamp,le,count` (or histogram JSON) instead of raw samples.

use super::{CliError, Exit, table};
use crate::analysis::config::ArmConfig;
use crate::analysis::{ArmData, Comparison, ComparisonArm, ConfigError, MethodName, MetricOutcome};
use crate::source::{self, SeriesSource};
use crate::stats::NanStrategy;
use crate::stats::counts::CountSeries;
use std::path::{Path, PathBuf};

/// Arguments of `compare`; each method uses the options that belong to it and rejects others.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// threshold, mann-whitney, welch, msprt, count-sequential or quantile-sequential.
    #[arg(long)]
    method: MethodName,
    /// Canary series file (events for count-sequential, histogram with --histogram).
    #[arg(long)]
    canary: PathBuf,
    /// Baseline series file (optional for absolute thresholds).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Canary requests per interval (count-sequential; threshold traffic guard).
    #[arg(long)]
    canary_traffic: Option<PathBuf>,
    /// Baseline requests per interval (count-sequential; threshold traffic guard).
    #[arg(long)]
    baseline_traffic: Option<PathBuf>,
    /// quantile-sequential: the files are histograms (`timestamp,le,count`), not raw samples.
    #[arg(long)]
    histogram: bool,
    /// Alternative of the reported p-value (mann-whitney, welch).
    #[arg(long, value_parser = ["two-sided", "greater", "less"])]
    alternative: Option<String>,
    /// p-value computation (mann-whitney).
    #[arg(long, value_parser = ["exact", "asymptotic", "auto"])]
    mode: Option<String>,
    /// Continuity correction (mann-whitney).
    #[arg(long)]
    continuity: Option<bool>,
    /// Decision rule (mann-whitney).
    #[arg(long, value_parser = ["strict", "kayenta"])]
    rule: Option<String>,
    /// Confidence level of the interval (mann-whitney, welch).
    #[arg(long)]
    confidence: Option<f64>,
    /// Significance level.
    #[arg(long)]
    alpha: Option<f64>,
    /// Relative margin.
    #[arg(long)]
    margin: Option<f64>,
    /// Harm beyond this relative margin must be shown to fail (default: --margin).
    #[arg(long)]
    fail_margin: Option<f64>,
    /// Direction of harm (mann-whitney, welch, msprt).
    #[arg(long, value_parser = ["increase", "decrease", "either"])]
    harm: Option<String>,
    /// Minimum points per arm (`burn_in` for msprt).
    #[arg(long)]
    min_samples: Option<usize>,
    /// Minimum events before a pass (count-sequential).
    #[arg(long)]
    min_events: Option<f64>,
    /// Minimum requests per arm (count-sequential, threshold).
    #[arg(long)]
    min_requests: Option<f64>,
    /// Mixture standard deviation τ (msprt).
    #[arg(long)]
    tau: Option<f64>,
    /// Kayenta's tolerance around the shift estimate (mann-whitney --rule kayenta; 0.25).
    #[arg(long)]
    tolerance: Option<f64>,
    /// Confidence level of Kayenta's inverted-test interval (mann-whitney --rule kayenta;
    /// 0.98). `--confidence` sets the strict rule's interval and is refused with kayenta.
    #[arg(long)]
    kayenta_confidence: Option<f64>,
    /// Kayenta's effect-size measure (mann-whitney --rule kayenta).
    #[arg(long, value_parser = ["mean-ratio", "cles"])]
    effect_measure: Option<String>,
    /// Effect size at or above which Kayenta reports High (mann-whitney --rule kayenta).
    #[arg(long)]
    allowed_increase: Option<f64>,
    /// Effect size at or below which Kayenta reports Low (mann-whitney --rule kayenta).
    #[arg(long)]
    allowed_decrease: Option<f64>,
    /// NaN handling before the test (mann-whitney; Kayenta's nanStrategy). With remove or
    /// replace the input files may hold NaN.
    #[arg(long, value_parser = ["reject", "remove", "replace"])]
    nan_strategy: Option<String>,
    /// Outlier handling before the test (mann-whitney; Kayenta's IQR detector).
    #[arg(long, value_parser = ["keep", "remove"])]
    outliers: Option<String>,
    /// IQR multiplier of the outlier fences (mann-whitney; Kayenta's outlierFactor, 3).
    #[arg(long)]
    outlier_factor: Option<f64>,
    /// Fixed canary traffic share (count-sequential).
    #[arg(long)]
    share: Option<f64>,
    /// Quantiles to monitor (quantile-sequential raw samples), comma separated.
    #[arg(long, value_delimiter = ',')]
    quantiles: Option<Vec<f64>>,
    /// Histogram bounds to test (quantile-sequential), comma separated.
    #[arg(long, value_delimiter = ',')]
    thresholds: Option<Vec<f64>>,
    /// Reduction before comparing with bounds (threshold).
    #[arg(long, value_parser = ["mean", "median", "sum", "max", "min", "last"])]
    aggregate: Option<String>,
    /// Canary aggregate must be ≥ this (threshold).
    #[arg(long, allow_negative_numbers = true)]
    min: Option<f64>,
    /// Canary aggregate must be ≤ this (threshold).
    #[arg(long, allow_negative_numbers = true)]
    max: Option<f64>,
    /// Canary/baseline ratio must be ≤ this (threshold).
    #[arg(long)]
    max_ratio: Option<f64>,
    /// Canary/baseline ratio must be ≥ this (threshold).
    #[arg(long)]
    min_ratio: Option<f64>,
    /// Canary − baseline must be ≤ this (threshold).
    #[arg(long, allow_negative_numbers = true)]
    max_difference: Option<f64>,
    /// Canary − baseline must be ≥ this (threshold).
    #[arg(long, allow_negative_numbers = true)]
    min_difference: Option<f64>,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
}

fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

/// Read a series given on the command line; NaN and infinities are bad input here.
fn read_finite(path: &Path) -> Result<Vec<f64>, CliError> {
    read_series(path, false)
}

/// Read a series; with `allow_nan` a NaN is kept (the metric's NaN strategy handles it),
/// infinities are still bad input.
fn read_series(path: &Path, allow_nan: bool) -> Result<Vec<f64>, CliError> {
    let parsed = source::read_values(path)?;
    let bad = if allow_nan {
        parsed
            .values
            .iter()
            .zip(&parsed.positions)
            .find(|(v, _)| v.is_infinite())
            .map(|(v, at)| (*v, at.clone()))
    } else {
        parsed.first_non_finite().map(|(v, at)| (v, at.to_string()))
    };
    if let Some((v, at)) = bad {
        return Err(usage(format!(
            "{} {at}: {v} is not a finite number",
            path.display()
        )));
    }
    Ok(parsed.values)
}

fn need<'a>(p: &'a Option<PathBuf>, flag: &str, method: MethodName) -> Result<&'a Path, CliError> {
    p.as_deref()
        .ok_or_else(|| usage(format!("method {method} needs {flag} FILE")))
}

impl CompareArgs {
    /// The method parameters as a JSON object, so the stats structs' own serde defaults and
    /// `deny_unknown_fields` decide what applies; a flag that does not apply is an error.
    fn params_json(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put("alternative", self.alternative.clone().map(Value::from));
        put("mode", self.mode.clone().map(Value::from));
        put("continuity", self.continuity.map(Value::from));
        put("rule", self.rule.clone().map(Value::from));
        put("confidence", self.confidence.map(Value::from));
        put("alpha", self.alpha.map(Value::from));
        put("margin", self.margin.map(Value::from));
        put("fail_margin", self.fail_margin.map(Value::from));
        put("harm", self.harm.clone().map(Value::from));
        let min_samples_key = if self.method == MethodName::Msprt {
            "burn_in"
        } else {
            "min_samples"
        };
        put(min_samples_key, self.min_samples.map(Value::from));
        put("min_events", self.min_events.map(Value::from));
        put("min_requests", self.min_requests.map(Value::from));
        put("tau", self.tau.map(Value::from));
        put("outliers", self.outliers.clone().map(Value::from));
        put("outlier_factor", self.outlier_factor.map(Value::from));
        let mut kayenta = serde_json::Map::new();
        for (k, v) in [
            ("tolerance", self.tolerance.map(Value::from)),
            ("confidence", self.kayenta_confidence.map(Value::from)),
            (
                "effect_measure",
                self.effect_measure.clone().map(Value::from),
            ),
            ("allowed_increase", self.allowed_increase.map(Value::from)),
            ("allowed_decrease", self.allowed_decrease.map(Value::from)),
        ] {
            if let Some(v) = v {
                kayenta.insert(k.to_string(), v);
            }
        }
        if !kayenta.is_empty() {
            put("kayenta", Some(Value::Object(kayenta)));
        }
        put("share", self.share.map(Value::from));
        put("quantiles", self.quantiles.clone().map(Value::from));
        put("thresholds", self.thresholds.clone().map(Value::from));
        put("aggregate", self.aggregate.clone().map(Value::from));
        put("min", self.min.map(Value::from));
        put("max", self.max.map(Value::from));
        put("max_ratio", self.max_ratio.map(Value::from));
        put("min_ratio", self.min_ratio.map(Value::from));
        put("max_difference", self.max_difference.map(Value::from));
        put("min_difference", self.min_difference.map(Value::from));
        m
    }

    /// Options that mean nothing to the rule chosen (issue 16, defect 9): Kayenta's classifier
    /// has its own tolerance and confidence and no α, margin or minimum sample, so those are
    /// refused with `--rule kayenta`; Kayenta's own options are refused without it.
    fn check_rule_options(&self) -> Result<(), CliError> {
        let kayenta = self.rule.as_deref() == Some("kayenta");
        let kayenta_only = [
            ("--tolerance", self.tolerance.is_some()),
            ("--kayenta-confidence", self.kayenta_confidence.is_some()),
            ("--effect-measure", self.effect_measure.is_some()),
            ("--allowed-increase", self.allowed_increase.is_some()),
            ("--allowed-decrease", self.allowed_decrease.is_some()),
        ];
        if !kayenta {
            if let Some((flag, _)) = kayenta_only.iter().find(|(_, set)| *set) {
                return Err(usage(format!(
                    "option {flag} applies only to --method mann-whitney --rule kayenta"
                )));
            }
            return Ok(());
        }
        let strict_only = [
            (
                "--confidence",
                self.confidence.is_some(),
                "use --kayenta-confidence for Kayenta's interval",
            ),
            (
                "--margin",
                self.margin.is_some(),
                "use --tolerance for Kayenta's band around the estimate",
            ),
            (
                "--fail-margin",
                self.fail_margin.is_some(),
                "use --tolerance and --allowed-increase/--allowed-decrease",
            ),
            (
                "--alpha",
                self.alpha.is_some(),
                "Kayenta decides by --kayenta-confidence",
            ),
            (
                "--min-samples",
                self.min_samples.is_some(),
                "Kayenta has no minimum sample",
            ),
        ];
        match strict_only.iter().find(|(_, set, _)| *set) {
            Some((flag, _, instead)) => Err(usage(format!(
                "option {flag} is not used by --rule kayenta ({instead})"
            ))),
            None => Ok(()),
        }
    }

    /// Says a config error about the method's parameters in terms of the flags typed:
    /// serde names the field (`unknown field `mode``), the user wrote `--mode`.
    fn flag_error(&self, e: &ConfigError) -> CliError {
        let why = match e {
            ConfigError::Invalid { why, .. } => why.as_str(),
            _ => return usage(e),
        };
        match why
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(field) => {
                let flag = if field == "burn_in" {
                    "min-samples".to_string()
                } else {
                    field.replace('_', "-")
                };
                usage(format!(
                    "option --{flag} does not apply to method {}",
                    self.method
                ))
            }
            None => usage(format!("invalid options for {}: {e}", self.method)),
        }
    }
}

/// An arm read from files: `spec` records the files, as a config would name them.
fn file_arm(spec: ArmConfig, data: ArmData) -> ComparisonArm {
    ComparisonArm { spec, data }
}

fn file_source(path: &Path) -> Option<SeriesSource> {
    Some(SeriesSource::File(path.to_path_buf()))
}

/// A scalar arm whose file may hold NaN when a NaN strategy will handle it.
fn values_arm_reading(path: &Path, allow_nan: bool) -> Result<ComparisonArm, CliError> {
    Ok(file_arm(
        ArmConfig {
            file: Some(path.to_path_buf()),
            ..ArmConfig::default()
        },
        ArmData::values(read_series(path, allow_nan)?),
    ))
}

/// A scalar arm (with the threshold's optional traffic series).
fn values_arm(path: &Path, traffic: Option<&Path>) -> Result<ComparisonArm, CliError> {
    let values = read_finite(path)?;
    let traffic_values = traffic.map(read_finite).transpose()?;
    Ok(file_arm(
        ArmConfig {
            file: Some(path.to_path_buf()),
            traffic: traffic.and_then(file_source),
            ..ArmConfig::default()
        },
        ArmData::Values {
            values,
            traffic: traffic_values,
        },
    ))
}

/// A count arm: events and traffic per interval, of equal length.
fn counts_arm(events: &Path, traffic: &Path) -> Result<ComparisonArm, CliError> {
    let e = read_finite(events)?;
    let t = read_finite(traffic)?;
    if e.len() != t.len() {
        return Err(usage(format!(
            "{} has {} intervals but {} has {}",
            events.display(),
            e.len(),
            traffic.display(),
            t.len()
        )));
    }
    Ok(file_arm(
        ArmConfig {
            events: file_source(events),
            traffic: file_source(traffic),
            ..ArmConfig::default()
        },
        ArmData::Counts(CountSeries {
            events: e,
            traffic: t,
        }),
    ))
}

/// A histogram arm (`timestamp,le,count` CSV or histogram JSON).
fn histogram_arm(path: &Path) -> Result<ComparisonArm, CliError> {
    let h = source::read_histogram_file(path)?;
    Ok(file_arm(
        ArmConfig {
            histogram: file_source(path),
            ..ArmConfig::default()
        },
        ArmData::Histogram(h),
    ))
}

/// Run `compare`: read the files, then judge them as a one-metric analysis through the
/// engine ([`Comparison`]), so every method is dispatched where `analyze` dispatches it.
pub fn run(args: &CompareArgs) -> Result<Exit, CliError> {
    let method = args.method;
    let extra_file = |p: &Option<PathBuf>, flag: &str| -> Result<(), CliError> {
        match p {
            Some(_) => Err(usage(format!("{flag} does not apply to method {method}"))),
            None => Ok(()),
        }
    };
    if args.histogram && method != MethodName::QuantileSequential {
        return Err(usage(format!(
            "--histogram applies only to quantile-sequential, not {method}"
        )));
    }
    if !matches!(method, MethodName::CountSequential | MethodName::Threshold) {
        extra_file(&args.canary_traffic, "--canary-traffic")?;
        extra_file(&args.baseline_traffic, "--baseline-traffic")?;
    }
    let (canary, baseline) = match method {
        MethodName::Threshold => {
            if args.canary_traffic.is_none() {
                extra_file(
                    &args.baseline_traffic,
                    "--baseline-traffic without --canary-traffic",
                )?;
            }
            if args.baseline.is_none() {
                extra_file(
                    &args.baseline_traffic,
                    "--baseline-traffic without --baseline",
                )?;
            }
            let canary = values_arm(&args.canary, args.canary_traffic.as_deref())?;
            let baseline = match &args.baseline {
                Some(b) => Some(values_arm(b, args.baseline_traffic.as_deref())?),
                None => None,
            };
            (canary, baseline)
        }
        MethodName::MannWhitney | MethodName::Welch | MethodName::Msprt => {
            if method == MethodName::MannWhitney {
                args.check_rule_options()?;
            } else if args.nan_strategy.is_some() || args.outliers.is_some() {
                return Err(usage(format!(
                    "--nan-strategy and --outliers apply to mann-whitney, not {method}"
                )));
            }
            // NaN is read only where a NaN strategy will handle it.
            let allow_nan = matches!(args.nan_strategy.as_deref(), Some("remove" | "replace"));
            (
                values_arm_reading(&args.canary, allow_nan)?,
                Some(values_arm_reading(
                    need(&args.baseline, "--baseline", method)?,
                    allow_nan,
                )?),
            )
        }
        MethodName::CountSequential => (
            counts_arm(
                &args.canary,
                need(&args.canary_traffic, "--canary-traffic", method)?,
            )?,
            Some(counts_arm(
                need(&args.baseline, "--baseline", method)?,
                need(&args.baseline_traffic, "--baseline-traffic", method)?,
            )?),
        ),
        MethodName::QuantileSequential => {
            let baseline = need(&args.baseline, "--baseline", method)?;
            if args.histogram {
                (histogram_arm(&args.canary)?, Some(histogram_arm(baseline)?))
            } else {
                (
                    values_arm(&args.canary, None)?,
                    Some(values_arm(baseline, None)?),
                )
            }
        }
    };
    // Kayenta's nanStrategy is the metric's: the engine applies it before the method runs.
    let nan = match args.nan_strategy.as_deref() {
        Some("remove") => Some(NanStrategy::Remove),
        Some("replace") => Some(NanStrategy::Replace(0.0)),
        Some(_) => Some(NanStrategy::Reject),
        None => None,
    };
    let comparison = Comparison::new(method, args.params_json(), nan, canary, baseline)
        .map_err(|e| args.flag_error(&e))?;
    let report = comparison.judge();
    if report.outcome == MetricOutcome::Error {
        // The method refused the input (e.g. too few points for its test): bad input.
        return Err(usage(&report.decision.reason));
    }
    let decision = report.decision;
    if args.json {
        let text = serde_json::to_string_pretty(&decision)
            .map_err(|e| usage(format!("cannot encode decision: {e}")))?;
        super::print_result(&(text + "\n"));
    } else {
        super::print_result(&table::decision_table(&decision));
    }
    Ok(Exit::from_verdict(decision.verdict))
}
