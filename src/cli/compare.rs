//! `canary-judge compare`: run one method on two series files. Files hold numbers one per
//! line, a JSON array, or CSV `timestamp,value` (detected from the content). For
//! `count-sequential`, `--canary`/`--baseline` are event counts and `--canary-traffic`/
//! `--baseline-traffic` the requests per interval; for `quantile-sequential`, `--histogram`
//! reads CSV `timestamp,le,count` (or histogram JSON) instead of raw samples.

use super::{CliError, Exit, table};
use crate::analysis::config::ArmConfig;
use crate::analysis::{ArmData, Comparison, ComparisonArm, ConfigError, MethodName, MetricOutcome};
use crate::source::{self, SeriesSource};
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
    let parsed = source::read_values(path)?;
    if let Some((v, at)) = parsed.first_non_finite() {
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
        MethodName::MannWhitney | MethodName::Welch | MethodName::Msprt => (
            values_arm(&args.canary, None)?,
            Some(values_arm(
                need(&args.baseline, "--baseline", method)?,
                None,
            )?),
        ),
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
    let comparison = Comparison::new(method, args.params_json(), canary, baseline)
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
