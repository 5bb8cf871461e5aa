//! The engine: one pure function from (config, series) to a report. It applies each metric's
//! NaN strategy and no-data policy, calls the metric's method in `stats/`, and hands the
//! per-metric results to [`super::scoring`]. No I/O, no logging, no async: every front door
//! (CLI, Argo plugin, service) calls it the same way.

use super::config::{AnalysisConfig, MethodParams, Metric, NanStrategy, NoDataPolicy};
use super::report::{AnalysisReport, MetricOutcome, MetricReport};
use super::scoring;
use super::series::{ArmData, SeriesSet};
use crate::stats::counts::CountSeries;
use crate::stats::quantile::HistogramSeries;
use crate::stats::threshold::Traffic;
use crate::stats::{self, Decision, StatsError, Verdict};

/// Judge every metric of `config` on `data` and combine them into one verdict.
pub fn evaluate(config: &AnalysisConfig, data: &SeriesSet) -> AnalysisReport {
    let alphas = scoring::allocate_alpha(config);
    let metrics: Vec<MetricReport> = config
        .metrics
        .iter()
        .zip(alphas)
        .map(|(metric, alpha)| {
            let mut method = metric.method.clone();
            if let Some(a) = alpha {
                method.set_alpha(a);
            }
            evaluate_metric(metric, &method, data)
        })
        .collect();
    let summary = scoring::aggregate(&metrics, &config.scoring);
    AnalysisReport {
        verdict: summary.verdict,
        score: summary.score,
        mode: config.scoring.mode,
        pass_threshold: config.scoring.pass,
        marginal_threshold: config.scoring.marginal,
        groups: summary.groups,
        metrics,
        reason: summary.reason,
    }
}

fn evaluate_metric(metric: &Metric, method: &MethodParams, data: &SeriesSet) -> MetricReport {
    let name = method.name().as_str();
    let (outcome, decision) = match judge(metric, method, data) {
        Ok(Judged::Decided(d)) => {
            let outcome = match d.verdict {
                Verdict::Pass => MetricOutcome::Pass,
                Verdict::Fail => MetricOutcome::Fail,
                Verdict::Inconclusive => MetricOutcome::Inconclusive,
            };
            (outcome, d)
        }
        Ok(Judged::NoData(why)) => {
            let verdict = match metric.no_data {
                NoDataPolicy::Inconclusive => Verdict::Inconclusive,
                NoDataPolicy::Fail => Verdict::Fail,
                NoDataPolicy::Pass => Verdict::Pass,
            };
            let reason = format!("no data: {why} (no-data policy: {verdict})");
            (MetricOutcome::NoData, Decision::new(name, verdict, reason))
        }
        Err(why) => (
            MetricOutcome::Error,
            Decision::new(name, Verdict::Inconclusive, format!("error: {why}")),
        ),
    };
    MetricReport {
        name: metric.name.clone(),
        method: name.to_string(),
        group: metric.group.clone(),
        weight: metric.weight,
        critical: metric.critical,
        muted: metric.muted,
        must_have_data: metric.must_have_data,
        outcome,
        alpha: method.alpha(),
        decision,
    }
}

enum Judged {
    Decided(Decision),
    NoData(String),
}

/// Clean one scalar series by the NaN strategy (non-finite values: NaN and infinities).
fn clean(values: &[f64], nan: NanStrategy) -> Result<Vec<f64>, String> {
    Ok(match nan {
        NanStrategy::Reject => {
            if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(format!(
                    "value {v} at index {i} is not a finite number (nan_strategy: reject)"
                ));
            }
            values.to_vec()
        }
        NanStrategy::Remove => values.iter().copied().filter(|v| v.is_finite()).collect(),
        NanStrategy::Replace(r) => values
            .iter()
            .map(|v| if v.is_finite() { *v } else { r })
            .collect(),
    })
}

/// Clean a count series interval by interval, so events and traffic stay aligned.
fn clean_counts(c: &CountSeries, nan: NanStrategy) -> Result<CountSeries, String> {
    if c.events.len() != c.traffic.len() {
        return Err(format!(
            "events has {} intervals but traffic has {}",
            c.events.len(),
            c.traffic.len()
        ));
    }
    let mut out = CountSeries::default();
    for (i, (e, t)) in c.events.iter().zip(&c.traffic).enumerate() {
        match nan {
            NanStrategy::Reject if !(e.is_finite() && t.is_finite()) => {
                return Err(format!(
                    "interval {i} is not finite (events {e}, traffic {t}; nan_strategy: reject)"
                ));
            }
            NanStrategy::Reject => {
                out.events.push(*e);
                out.traffic.push(*t);
            }
            NanStrategy::Remove if !(e.is_finite() && t.is_finite()) => continue,
            NanStrategy::Remove => {
                out.events.push(*e);
                out.traffic.push(*t);
            }
            NanStrategy::Replace(r) => {
                out.events.push(if e.is_finite() { *e } else { r });
                out.traffic.push(if t.is_finite() { *t } else { r });
            }
        }
    }
    Ok(out)
}

/// Why an arm counts as having no data, if it does.
fn no_data_reason(arm: &str, data: &Prepared) -> Option<String> {
    match data {
        Prepared::Values(v, _) if v.is_empty() => Some(format!("{arm} series is empty")),
        Prepared::Counts(c) if c.events.is_empty() => Some(format!("{arm} has no intervals")),
        Prepared::Counts(c) if c.traffic.iter().sum::<f64>() <= 0.0 => {
            Some(format!("{arm} has no traffic"))
        }
        Prepared::Histogram(h) if h.intervals.is_empty() => {
            Some(format!("{arm} histogram has no intervals"))
        }
        Prepared::Histogram(h)
            if h.intervals
                .iter()
                .map(|row| row.last().copied().unwrap_or(0.0))
                .sum::<f64>()
                <= 0.0 =>
        {
            Some(format!("{arm} histogram has no observations"))
        }
        _ => None,
    }
}

enum Prepared {
    Values(Vec<f64>, Option<f64>),
    Counts(CountSeries),
    Histogram(HistogramSeries),
}

fn prepare(arm: &ArmData, nan: NanStrategy) -> Result<Prepared, String> {
    Ok(match arm {
        ArmData::Values { values, traffic } => Prepared::Values(
            clean(values, nan)?,
            match traffic {
                Some(t) => Some(clean(t, nan)?.iter().sum()),
                None => None,
            },
        ),
        ArmData::Counts(c) => Prepared::Counts(clean_counts(c, nan)?),
        // Histogram counts are validated when loaded; NaN buckets are not meaningful.
        ArmData::Histogram(h) => Prepared::Histogram(h.clone()),
    })
}

fn judge(metric: &Metric, method: &MethodParams, data: &SeriesSet) -> Result<Judged, String> {
    let Some(md) = data.get(&metric.name) else {
        return Ok(Judged::NoData("no series were loaded".into()));
    };
    let Some(canary) = &md.canary else {
        return Ok(Judged::NoData("canary source returned nothing".into()));
    };
    let canary = prepare(canary, metric.nan_strategy)?;
    if let Some(why) = no_data_reason("canary", &canary) {
        return Ok(Judged::NoData(why));
    }
    let baseline = match (&md.baseline, &metric.baseline) {
        (Some(b), _) => {
            let b = prepare(b, metric.nan_strategy)?;
            if let Some(why) = no_data_reason("baseline", &b) {
                return Ok(Judged::NoData(why));
            }
            Some(b)
        }
        (None, Some(_)) => return Ok(Judged::NoData("baseline source returned nothing".into())),
        (None, None) => None,
    };
    let stat = |r: Result<Decision, StatsError>| r.map(Judged::Decided).map_err(|e| e.to_string());
    let mismatch = || {
        Err(format!(
            "method {} cannot use this kind of data (canary and baseline must both be {})",
            method.name(),
            match method {
                MethodParams::CountSequential(_) => "events + traffic",
                MethodParams::QuantileSequential(_) => "histograms or raw samples",
                _ => "value series",
            }
        ))
    };
    match (method, &canary, &baseline) {
        (MethodParams::Threshold(p), Prepared::Values(c, ct), b) => {
            let (bv, bt) = match b {
                Some(Prepared::Values(v, t)) => (Some(v.as_slice()), *t),
                None => (None, None),
                Some(_) => return mismatch(),
            };
            let traffic = ct.map(|canary| Traffic {
                canary,
                baseline: bt,
            });
            stat(stats::threshold::evaluate(c, bv, traffic, p))
        }
        (MethodParams::MannWhitney(p), Prepared::Values(c, _), Some(Prepared::Values(b, _))) => {
            stat(stats::mann_whitney::compare(c, b, p))
        }
        (MethodParams::Welch(p), Prepared::Values(c, _), Some(Prepared::Values(b, _))) => {
            stat(stats::welch::compare(c, b, p))
        }
        (MethodParams::Msprt(p), Prepared::Values(c, _), Some(Prepared::Values(b, _))) => {
            stat(stats::msprt::compare(c, b, p))
        }
        (MethodParams::CountSequential(p), Prepared::Counts(c), Some(Prepared::Counts(b))) => {
            stat(stats::counts::compare(c, b, p))
        }
        (
            MethodParams::QuantileSequential(p),
            Prepared::Histogram(c),
            Some(Prepared::Histogram(b)),
        ) => stat(stats::quantile::compare_histograms(c, b, p)),
        (
            MethodParams::QuantileSequential(p),
            Prepared::Values(c, _),
            Some(Prepared::Values(b, _)),
        ) => stat(stats::quantile::compare_samples(c, b, p)),
        (_, _, None) => Err(format!("method {} needs a baseline", method.name())),
        _ => mismatch(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_strategy_on_values() {
        let v = [1.0, f64::NAN, 3.0, f64::NEG_INFINITY];
        assert_eq!(clean(&v, NanStrategy::Remove).unwrap(), vec![1.0, 3.0]);
        assert_eq!(
            clean(&v, NanStrategy::Replace(0.0)).unwrap(),
            vec![1.0, 0.0, 3.0, 0.0]
        );
        let err = clean(&v, NanStrategy::Reject).unwrap_err();
        assert!(err.contains("index 1"), "{err}");
        assert_eq!(
            clean(&[1.0, 2.0], NanStrategy::Reject).unwrap(),
            vec![1.0, 2.0]
        );
    }

    #[test]
    fn nan_strategy_on_counts_keeps_intervals_aligned() {
        let c = CountSeries {
            events: vec![1.0, f64::NAN, 3.0],
            traffic: vec![10.0, 20.0, f64::NAN],
        };
        let removed = clean_counts(&c, NanStrategy::Remove).unwrap();
        assert_eq!(removed.events, vec![1.0]);
        assert_eq!(removed.traffic, vec![10.0]);
        let replaced = clean_counts(&c, NanStrategy::Replace(0.0)).unwrap();
        assert_eq!(replaced.events, vec![1.0, 0.0, 3.0]);
        assert_eq!(replaced.traffic, vec![10.0, 20.0, 0.0]);
        let short = CountSeries {
            events: vec![1.0],
            traffic: vec![],
        };
        assert!(clean_counts(&short, NanStrategy::Remove).is_err());
    }

    #[test]
    fn no_data_detection() {
        let zero_traffic = Prepared::Counts(CountSeries {
            events: vec![0.0],
            traffic: vec![0.0],
        });
        assert!(no_data_reason("canary", &zero_traffic).is_some());
        let empty_hist = Prepared::Histogram(HistogramSeries {
            bounds: vec![0.1, f64::INFINITY],
            intervals: vec![vec![0.0, 0.0]],
        });
        assert!(no_data_reason("canary", &empty_hist).is_some());
        assert!(no_data_reason("canary", &Prepared::Values(vec![1.0], None)).is_none());
    }
}
