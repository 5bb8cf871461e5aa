//! `canary-judge compare`: run one method on two series files. Files hold numbers one per
//! line, a JSON array, or CSV `timestamp,value` (detected from the content). For
//! `count-sequential`, `--canary`/`--baseline` are event counts and `--canary-traffic`/
//! `--baseline-traffic` the requests per interval; for `quantile-sequential`, `--histogram`
//! reads CSV `timestamp,le,count` (or histogram JSON) instead of raw samples.

use super::{CliError, Exit, table};
use crate::analysis::MethodName;
use crate::source::{self, SeriesFileError};
use crate::stats::counts::CountSeries;
use crate::stats::threshold::Traffic;
use crate::stats::{self, Decision, StatsError};
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

/// Read a series; with `allow_nan` a NaN is kept (the method's NaN strategy handles it),
/// infinities are still bad input.
fn read_series(path: &Path, allow_nan: bool) -> Result<Vec<f64>, CliError> {
    let parsed = source::read_values(path).map_err(|e| match e {
        SeriesFileError::Io { .. } => usage(e),
        other => usage(other),
    })?;
    if allow_nan {
        if let Some((v, at)) = parsed
            .values
            .iter()
            .zip(&parsed.positions)
            .find(|(v, _)| v.is_infinite())
        {
            return Err(usage(format!(
                "{} {at}: {v} is not a finite number",
                path.display()
            )));
        }
    } else if let Some((v, at)) = parsed.first_non_finite() {
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
        put("nan", self.nan_strategy.clone().map(Value::from));
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

    fn params<T: serde::de::DeserializeOwned>(&self) -> Result<T, CliError> {
        let json = self.params_json();
        serde_json::from_value(serde_json::Value::Object(json)).map_err(|e| {
            let msg = e.to_string();
            // serde names the field; say it as the flag the user typed.
            match msg
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
                None => usage(format!("invalid options for {}: {msg}", self.method)),
            }
        })
    }
}

/// Run `compare`.
pub fn run(args: &CompareArgs) -> Result<Exit, CliError> {
    let method = args.method;
    let stat = |r: Result<Decision, StatsError>| r.map_err(usage);
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
    let decision = match method {
        MethodName::Threshold => {
            let p: stats::threshold::ThresholdParams = args.params()?;
            let canary = read_finite(&args.canary)?;
            let baseline = match &args.baseline {
                Some(b) => Some(read_finite(b)?),
                None => None,
            };
            let traffic = match &args.canary_traffic {
                Some(t) => Some(Traffic {
                    canary: read_finite(t)?.iter().sum(),
                    baseline: match &args.baseline_traffic {
                        Some(bt) => Some(read_finite(bt)?.iter().sum()),
                        None => None,
                    },
                }),
                None => {
                    extra_file(
                        &args.baseline_traffic,
                        "--baseline-traffic without --canary-traffic",
                    )?;
                    None
                }
            };
            stat(stats::threshold::evaluate(
                &canary,
                baseline.as_deref(),
                traffic,
                &p,
            ))?
        }
        MethodName::MannWhitney | MethodName::Welch | MethodName::Msprt => {
            if method == MethodName::MannWhitney {
                args.check_rule_options()?;
            }
            // NaN is read only where a NaN strategy will handle it (mann-whitney).
            let allow_nan = method == MethodName::MannWhitney
                && matches!(args.nan_strategy.as_deref(), Some("remove" | "replace"));
            let canary = read_series(&args.canary, allow_nan)?;
            let baseline = read_series(need(&args.baseline, "--baseline", method)?, allow_nan)?;
            match method {
                MethodName::MannWhitney => stat(stats::mann_whitney::compare(
                    &canary,
                    &baseline,
                    &args.params()?,
                ))?,
                MethodName::Welch => {
                    stat(stats::welch::compare(&canary, &baseline, &args.params()?))?
                }
                _ => stat(stats::msprt::compare(&canary, &baseline, &args.params()?))?,
            }
        }
        MethodName::CountSequential => {
            let p: stats::counts::CountParams = args.params()?;
            let arm = |events: &Path, traffic: &Path| -> Result<CountSeries, CliError> {
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
                Ok(CountSeries {
                    events: e,
                    traffic: t,
                })
            };
            let canary = arm(
                &args.canary,
                need(&args.canary_traffic, "--canary-traffic", method)?,
            )?;
            let baseline = arm(
                need(&args.baseline, "--baseline", method)?,
                need(&args.baseline_traffic, "--baseline-traffic", method)?,
            )?;
            stat(stats::counts::compare(&canary, &baseline, &p))?
        }
        MethodName::QuantileSequential => {
            let p: stats::quantile::QuantileParams = args.params()?;
            let baseline_path = need(&args.baseline, "--baseline", method)?;
            if args.histogram {
                let c = source::read_histogram_file(&args.canary).map_err(usage)?;
                let b = source::read_histogram_file(baseline_path).map_err(usage)?;
                stat(stats::quantile::compare_histograms(&c, &b, &p))?
            } else {
                let c = read_finite(&args.canary)?;
                let b = read_finite(baseline_path)?;
                stat(stats::quantile::compare_samples(&c, &b, &p))?
            }
        }
    };
    if args.json {
        let text = serde_json::to_string_pretty(&decision)
            .map_err(|e| usage(format!("cannot encode decision: {e}")))?;
        super::print_result(&(text + "\n"));
    } else {
        super::print_result(&table::decision_table(&decision));
    }
    Ok(Exit::from_verdict(decision.verdict))
}
