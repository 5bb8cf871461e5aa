//! "What would another method have said?": the same data judged by other methods, so
//! `replay --methods` can show side by side when each would have failed or passed. Each
//! alternative is an ordinary config built through [`AnalysisConfig::from_json_value`]
//! (the one config builder) and replayed through the one engine; only the data's shape is
//! adapted (a count metric's per-interval error rate is what a threshold, a rank test or a
//! t-test judges).

use crate::analysis::{
    AnalysisConfig, ArmData, ConfigError, MethodName, MethodParams, MetricData, SeriesSet,
};
use crate::stats::Harm;
use serde_json::json;

/// The fixed bound of the seed's threshold check on error rates (Argo's and Flagger's
/// built-in examples: "more than 5 % errors fails").
pub const FIXED_ERROR_RATE: f64 = 0.05;

fn margin_and_harm(method: &MethodParams) -> (f64, Harm) {
    match method {
        MethodParams::Threshold(_) => (0.1, Harm::Increase),
        MethodParams::MannWhitney(p) => (p.margin, p.harm),
        MethodParams::Welch(p) => (p.margin, p.harm),
        MethodParams::Msprt(p) => (p.margin, p.harm),
        MethodParams::CountSequential(p) => (p.margin, Harm::Increase),
        MethodParams::QuantileSequential(p) => (p.margin, Harm::Increase),
    }
}

fn rates(arm: &ArmData) -> Option<ArmData> {
    match arm {
        ArmData::Counts(c) => Some(ArmData::Values {
            values: c
                .events
                .iter()
                .zip(&c.traffic)
                .map(|(e, t)| if *t > 0.0 { e / t } else { f64::NAN })
                .collect(),
            traffic: Some(c.traffic.clone()),
        }),
        _ => None,
    }
}

/// One metric of the alternative: its config entry and its data, or `None` when the
/// method cannot judge this kind of data.
fn alternative_metric(
    name: &str,
    original: &MethodParams,
    md: &MetricData,
    method: MethodName,
) -> Option<(serde_json::Value, MetricData)> {
    let (margin, harm) = margin_and_harm(original);
    let harm_text = match harm {
        Harm::Increase => "increase",
        Harm::Decrease => "decrease",
        Harm::Either => "either",
    };
    let canary = md.canary.as_ref()?;
    let is_counts = matches!(canary, ArmData::Counts(_));
    let is_hist = matches!(canary, ArmData::Histogram(_));
    let placeholder = json!({"values": [0.0]});
    let value_arms = json!({"canary": placeholder, "baseline": placeholder});
    let convert = |md: &MetricData| MetricData {
        canary: md.canary.as_ref().and_then(rates),
        baseline: md.baseline.as_ref().and_then(rates),
    };
    let mut entry = match method {
        MethodName::Threshold if is_counts => {
            let mut e = value_arms.clone();
            e["params"] = json!({"aggregate": "last", "max": FIXED_ERROR_RATE});
            return Some((with_name(e, name, method), convert(md)));
        }
        MethodName::Threshold if !is_hist => {
            let bound = match harm {
                Harm::Decrease => json!({"aggregate": "last", "min_ratio": 1.0 - margin}),
                Harm::Increase => json!({"aggregate": "last", "max_ratio": 1.0 + margin}),
                Harm::Either => json!({
                    "aggregate": "last",
                    "max_ratio": 1.0 + margin,
                    "min_ratio": 1.0 - margin
                }),
            };
            let mut e = value_arms.clone();
            e["params"] = bound;
            e
        }
        MethodName::MannWhitney | MethodName::Welch | MethodName::Msprt if !is_hist => {
            let mut e = value_arms.clone();
            e["margin"] = json!(margin);
            e["harm"] = json!(harm_text);
            if is_counts {
                return Some((with_name(e, name, method), convert(md)));
            }
            e
        }
        MethodName::CountSequential if is_counts => {
            let counts = json!({"events": placeholder, "traffic": placeholder});
            json!({"canary": counts, "baseline": counts, "margin": margin})
        }
        MethodName::QuantileSequential if !is_counts => {
            let mut e = if is_hist {
                let h = json!({"histogram": placeholder});
                json!({"canary": h, "baseline": h})
            } else {
                value_arms.clone()
            };
            e["margin"] = json!(margin);
            e
        }
        _ => return None,
    };
    entry = with_name(entry, name, method);
    Some((entry, md.clone()))
}

fn with_name(mut e: serde_json::Value, name: &str, method: MethodName) -> serde_json::Value {
    e["name"] = json!(name);
    e["method"] = json!(method.as_str());
    e
}

/// The config and data that judge `config`'s metrics with `method` instead, keeping the
/// metrics' margins and harm directions; metrics the method cannot judge are left out
/// (their names are returned). A metric that already uses `method` keeps its own
/// parameters.
pub fn alternative(
    config: &AnalysisConfig,
    data: &SeriesSet,
    method: MethodName,
) -> Result<(AnalysisConfig, SeriesSet, Vec<String>), ConfigError> {
    let mut entries = Vec::new();
    let mut out = SeriesSet::default();
    let mut skipped = Vec::new();
    let mut keep = Vec::new();
    for metric in &config.metrics {
        let md = data.get(&metric.name).cloned().unwrap_or_default();
        if metric.method.name() == method {
            keep.push(metric.clone());
            out.metrics.insert(metric.name.clone(), md);
            continue;
        }
        match alternative_metric(&metric.name, &metric.method, &md, method) {
            Some((mut entry, d)) => {
                entry["group"] = json!(metric.group);
                entry["weight"] = json!(metric.weight);
                entry["critical"] = json!(metric.critical);
                entries.push(entry);
                out.metrics.insert(metric.name.clone(), d);
            }
            None => skipped.push(metric.name.clone()),
        }
    }
    let mut alt = if entries.is_empty() {
        AnalysisConfig {
            metrics: Vec::new(),
            ..config.clone()
        }
    } else {
        let built = AnalysisConfig::from_json_value(&json!({ "metrics": entries }))?;
        AnalysisConfig {
            metrics: built.metrics,
            ..config.clone()
        }
    };
    alt.metrics.extend(keep);
    // Config order, as the original.
    let order: Vec<&str> = config.metrics.iter().map(|m| m.name.as_str()).collect();
    alt.metrics.sort_by_key(|m| {
        order
            .iter()
            .position(|n| *n == m.name)
            .unwrap_or(usize::MAX)
    });
    Ok((alt, out, skipped))
}
