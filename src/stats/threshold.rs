//! Fixed thresholds (method `threshold`): absolute bounds on the canary, bounds relative to the
//! baseline (ratio or difference of aggregates over the same window), and a minimum-traffic
//! guard. Not a statistical test: it is what Argo's and Flagger's built-in checks do.

use super::{Decision, StatsError, Verdict, check_finite};
use serde::{Deserialize, Serialize};

/// How a series is reduced to one number before comparing with a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregate {
    /// Arithmetic mean (default).
    #[default]
    Mean,
    /// Median.
    Median,
    /// Sum (for counts over disjoint windows).
    Sum,
    /// Largest value.
    Max,
    /// Smallest value.
    Min,
    /// The last value (the most recent interval).
    Last,
}

/// Parameters of the threshold method. Every bound is optional; at least one must be set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ThresholdParams {
    /// Reduction applied to each arm.
    #[serde(default)]
    pub aggregate: Aggregate,
    /// Canary aggregate must be ≥ this.
    #[serde(default)]
    pub min: Option<f64>,
    /// Canary aggregate must be ≤ this.
    #[serde(default)]
    pub max: Option<f64>,
    /// Canary/baseline aggregate ratio must be ≤ this (e.g. 1.1 = at most 10% worse).
    #[serde(default)]
    pub max_ratio: Option<f64>,
    /// Canary/baseline aggregate ratio must be ≥ this.
    #[serde(default)]
    pub min_ratio: Option<f64>,
    /// Canary − baseline aggregate must be ≤ this.
    #[serde(default)]
    pub max_difference: Option<f64>,
    /// Canary − baseline aggregate must be ≥ this.
    #[serde(default)]
    pub min_difference: Option<f64>,
    /// Fewer canary points than this gives Inconclusive.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
    /// Fewer requests than this in an arm (when traffic is known) gives Inconclusive.
    #[serde(default)]
    pub min_requests: Option<f64>,
}

fn default_min_samples() -> usize {
    1
}

/// Total requests per arm over the window, for the minimum-traffic guard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traffic {
    /// Canary requests.
    pub canary: f64,
    /// Baseline requests, when a baseline exists.
    pub baseline: Option<f64>,
}

impl Aggregate {
    /// Reduce a non-empty series to one number.
    pub fn apply(self, values: &[f64]) -> f64 {
        match self {
            Aggregate::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Aggregate::Median => {
                let mut s = values.to_vec();
                s.sort_unstable_by(f64::total_cmp);
                let n = s.len();
                if n % 2 == 1 {
                    s[n / 2]
                } else {
                    0.5 * (s[n / 2 - 1] + s[n / 2])
                }
            }
            Aggregate::Sum => values.iter().sum(),
            Aggregate::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggregate::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Aggregate::Last => values.last().copied().unwrap_or(f64::NAN),
        }
    }
}

fn check_params(params: &ThresholdParams) -> Result<(), StatsError> {
    let bounds = [
        ("min", params.min),
        ("max", params.max),
        ("max_ratio", params.max_ratio),
        ("min_ratio", params.min_ratio),
        ("max_difference", params.max_difference),
        ("min_difference", params.min_difference),
        ("min_requests", params.min_requests),
    ];
    for (name, value) in bounds {
        if let Some(v) = value
            && !v.is_finite()
        {
            return Err(StatsError::InvalidParameter {
                name,
                why: format!("must be a finite number, got {v}"),
            });
        }
    }
    if bounds[..6].iter().all(|(_, v)| v.is_none()) {
        return Err(StatsError::InvalidParameter {
            name: "threshold",
            why:
                "set at least one of min, max, min_ratio, max_ratio, min_difference, max_difference"
                    .into(),
        });
    }
    let ordered = |lo: Option<f64>, hi: Option<f64>, name: &'static str| match (lo, hi) {
        (Some(l), Some(h)) if l > h => Err(StatsError::InvalidParameter {
            name,
            why: format!("lower bound {l} is above upper bound {h}"),
        }),
        _ => Ok(()),
    };
    ordered(params.min, params.max, "min")?;
    ordered(params.min_ratio, params.max_ratio, "min_ratio")?;
    ordered(
        params.min_difference,
        params.max_difference,
        "min_difference",
    )?;
    Ok(())
}

/// Judge the canary against fixed bounds. `baseline` is required only by relative bounds.
///
/// Order of checks (`statistics.md` §6.2(a)): non-finite input → error; traffic below
/// `min_requests` in an arm (or unknown while a minimum is set) → Inconclusive; empty canary or
/// fewer than `min_samples` points → Inconclusive; relative bounds with an empty baseline →
/// Inconclusive; then every bound is checked and the first violated one is named.
///
/// The ratio is canary/baseline of the aggregates; 0/0 counts as 1 (nothing changed) and
/// c/0 with c > 0 as +∞ (so a zero-error baseline against an erroring canary fails a
/// `max_ratio`, unlike kayenta#377). `effect` is the ratio when a ratio bound is set, else the
/// difference when a difference bound is set, else the canary aggregate.
pub fn evaluate(
    canary: &[f64],
    baseline: Option<&[f64]>,
    traffic: Option<Traffic>,
    params: &ThresholdParams,
) -> Result<Decision, StatsError> {
    check_params(params)?;
    check_finite("canary", canary)?;
    if let Some(b) = baseline {
        check_finite("baseline", b)?;
    }
    let relative = params.max_ratio.is_some()
        || params.min_ratio.is_some()
        || params.max_difference.is_some()
        || params.min_difference.is_some();
    if relative && baseline.is_none() {
        return Err(StatsError::InvalidParameter {
            name: "baseline",
            why: "relative bounds (ratio or difference) need a baseline series".into(),
        });
    }
    let mut d = Decision::new("threshold", Verdict::Inconclusive, String::new());
    d.n_canary = canary.len() as u64;
    d.n_baseline = baseline.map_or(0, |b| b.len() as u64);
    let mut put = |name: &str, v: Option<f64>| {
        if let Some(v) = v {
            d.extra.insert(name.to_string(), v);
        }
    };
    put("bound_min", params.min);
    put("bound_max", params.max);
    put("bound_min_ratio", params.min_ratio);
    put("bound_max_ratio", params.max_ratio);
    put("bound_min_difference", params.min_difference);
    put("bound_max_difference", params.max_difference);

    if let Some(min_requests) = params.min_requests {
        match traffic {
            None => {
                d.reason = format!(
                    "traffic is unknown but at least {min_requests} requests per arm are required"
                );
                return Ok(d);
            }
            Some(t) => {
                d.extra.insert("requests_canary".into(), t.canary);
                if let Some(b) = t.baseline {
                    d.extra.insert("requests_baseline".into(), b);
                }
                let short = if t.canary < min_requests {
                    Some(("canary", t.canary))
                } else {
                    match t.baseline {
                        Some(b) if relative && b < min_requests => Some(("baseline", b)),
                        _ => None,
                    }
                };
                if let Some((arm, n)) = short {
                    d.reason = format!(
                        "not enough traffic: {arm} served {n} requests, need at least {min_requests}"
                    );
                    return Ok(d);
                }
            }
        }
    }
    if canary.is_empty() || canary.len() < params.min_samples.max(1) {
        d.reason = format!(
            "too few canary points: {} (need at least {})",
            canary.len(),
            params.min_samples.max(1)
        );
        return Ok(d);
    }
    let c = params.aggregate.apply(canary);
    d.extra.insert("canary_aggregate".into(), c);
    d.effect = Some(c);

    let mut violations: Vec<String> = Vec::new();
    if let Some(lo) = params.min
        && c < lo
    {
        violations.push(format!("canary {c} is below the minimum {lo}"));
    }
    if let Some(hi) = params.max
        && c > hi
    {
        violations.push(format!("canary {c} is above the maximum {hi}"));
    }

    if relative {
        let base = baseline.unwrap_or(&[]);
        if base.is_empty() {
            d.reason = "the baseline has no points, so relative bounds cannot be checked".into();
            return Ok(d);
        }
        let b = params.aggregate.apply(base);
        let difference = c - b;
        let ratio = if b == 0.0 {
            if c == 0.0 {
                1.0
            } else {
                c.signum() * f64::INFINITY
            }
        } else {
            c / b
        };
        d.extra.insert("baseline_aggregate".into(), b);
        d.extra.insert("difference".into(), difference);
        if ratio.is_finite() {
            d.extra.insert("ratio".into(), ratio);
        }
        d.effect = if params.max_ratio.is_some() || params.min_ratio.is_some() {
            ratio.is_finite().then_some(ratio)
        } else {
            Some(difference)
        };
        if let Some(hi) = params.max_ratio
            && ratio > hi
        {
            violations.push(format!(
                "canary/baseline ratio {ratio} ({c} / {b}) is above {hi}"
            ));
        }
        if let Some(lo) = params.min_ratio
            && ratio < lo
        {
            violations.push(format!(
                "canary/baseline ratio {ratio} ({c} / {b}) is below {lo}"
            ));
        }
        if let Some(hi) = params.max_difference
            && difference > hi
        {
            violations.push(format!(
                "canary − baseline = {difference} ({c} − {b}) is above {hi}"
            ));
        }
        if let Some(lo) = params.min_difference
            && difference < lo
        {
            violations.push(format!(
                "canary − baseline = {difference} ({c} − {b}) is below {lo}"
            ));
        }
    }
    if violations.is_empty() {
        d.verdict = Verdict::Pass;
        d.reason = format!("canary aggregate {c} is inside every bound");
    } else {
        d.verdict = Verdict::Fail;
        d.reason = violations.join("; ");
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ThresholdParams {
        ThresholdParams {
            aggregate: Aggregate::Mean,
            min: None,
            max: None,
            max_ratio: None,
            min_ratio: None,
            max_difference: None,
            min_difference: None,
            min_samples: 1,
            min_requests: None,
        }
    }

    #[test]
    fn absolute_bounds() {
        let p = ThresholdParams {
            max: Some(0.5),
            ..params()
        };
        let pass = evaluate(&[0.1, 0.2, 0.3], None, None, &p).unwrap();
        assert_eq!(pass.verdict, Verdict::Pass);
        assert!((pass.effect.unwrap() - 0.2).abs() < 1e-15);
        assert_eq!(pass.extra["bound_max"], 0.5);
        let fail = evaluate(&[0.4, 0.9], None, None, &p).unwrap();
        assert_eq!(fail.verdict, Verdict::Fail);
        assert!(fail.reason.contains("above the maximum"));
        let p = ThresholdParams {
            min: Some(0.99),
            aggregate: Aggregate::Min,
            ..params()
        };
        assert_eq!(
            evaluate(&[1.0, 0.98], None, None, &p).unwrap().verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn relative_bounds_and_zero_baseline() {
        let p = ThresholdParams {
            max_ratio: Some(1.1),
            ..params()
        };
        let d = evaluate(&[105.0], Some(&[100.0]), None, &p).unwrap();
        assert_eq!(d.verdict, Verdict::Pass);
        assert!((d.effect.unwrap() - 1.05).abs() < 1e-15);
        let d = evaluate(&[120.0], Some(&[100.0]), None, &p).unwrap();
        assert_eq!(d.verdict, Verdict::Fail);
        // Zero-error baseline against an erroring canary fails (kayenta#377).
        let d = evaluate(&[0.0, 3.0], Some(&[0.0, 0.0]), None, &p).unwrap();
        assert_eq!(d.verdict, Verdict::Fail);
        assert_eq!(d.effect, None);
        let d = evaluate(&[0.0], Some(&[0.0]), None, &p).unwrap();
        assert_eq!(d.verdict, Verdict::Pass);
        let p = ThresholdParams {
            max_difference: Some(0.005),
            ..params()
        };
        let d = evaluate(&[0.012], Some(&[0.01]), None, &p).unwrap();
        assert_eq!(d.verdict, Verdict::Pass);
        assert!((d.effect.unwrap() - 0.002).abs() < 1e-15);
        assert!(evaluate(&[1.0], None, None, &p).is_err());
        assert_eq!(
            evaluate(&[1.0], Some(&[]), None, &p).unwrap().verdict,
            Verdict::Inconclusive
        );
    }

    #[test]
    fn guards_and_errors() {
        let p = ThresholdParams {
            max: Some(1.0),
            min_requests: Some(100.0),
            ..params()
        };
        let low = Traffic {
            canary: 50.0,
            baseline: None,
        };
        let d = evaluate(&[0.5], None, Some(low), &p).unwrap();
        assert_eq!(d.verdict, Verdict::Inconclusive);
        assert!(d.reason.contains("not enough traffic"));
        assert_eq!(
            evaluate(&[0.5], None, None, &p).unwrap().verdict,
            Verdict::Inconclusive
        );
        let ok = Traffic {
            canary: 500.0,
            baseline: Some(10.0),
        };
        assert_eq!(
            evaluate(&[0.5], None, Some(ok), &p).unwrap().verdict,
            Verdict::Pass
        );
        let p = ThresholdParams {
            max: Some(1.0),
            ..params()
        };
        assert_eq!(
            evaluate(&[], None, None, &p).unwrap().verdict,
            Verdict::Inconclusive
        );
        assert_eq!(
            evaluate(&[1.0, f64::NAN], None, None, &p).unwrap_err(),
            StatsError::NonFinite {
                arm: "canary",
                index: 1
            }
        );
        assert_eq!(
            evaluate(&[1.0], Some(&[f64::INFINITY]), None, &p).unwrap_err(),
            StatsError::NonFinite {
                arm: "baseline",
                index: 0
            }
        );
        assert!(evaluate(&[1.0], None, None, &params()).is_err());
        let bad = ThresholdParams {
            min: Some(2.0),
            max: Some(1.0),
            ..params()
        };
        assert!(evaluate(&[1.0], None, None, &bad).is_err());
        let few = ThresholdParams {
            max: Some(1.0),
            min_samples: 3,
            ..params()
        };
        assert_eq!(
            evaluate(&[0.1, 0.2], None, None, &few).unwrap().verdict,
            Verdict::Inconclusive
        );
    }

    #[test]
    fn aggregates() {
        let v = [3.0, 1.0, 4.0, 1.5];
        assert_eq!(Aggregate::Median.apply(&v), 2.25);
        assert_eq!(Aggregate::Sum.apply(&v), 9.5);
        assert_eq!(Aggregate::Max.apply(&v), 4.0);
        assert_eq!(Aggregate::Min.apply(&v), 1.0);
        assert_eq!(Aggregate::Last.apply(&v), 1.5);
        assert_eq!(Aggregate::Mean.apply(&v), 2.375);
    }
}
