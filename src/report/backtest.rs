//! Backtest: how often a template would fail a healthy release, and how fast it catches a
//! bad one, measured on the user's own history. Each past window is judged look by look
//! ([`super::looks::replay`], the one engine) with both arms drawn from the same version
//! (two disjoint sets of stable pods, see `docs/backtest.md`), then again with a regression
//! injected into the canary arm (errors × k, values × k). Only the summary arithmetic lives
//! here; fetching the windows is the front door's job.

use super::looks;
use crate::analysis::{AnalysisConfig, ArmData, MetricData, SeriesSet};
use crate::stats::Verdict;
use serde::Serialize;

/// A regression to inject into the canary arm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Injection {
    /// Multiply the canary's error counts (count metrics) by this, capped at its traffic.
    pub errors: Option<f64>,
    /// Multiply the canary's values (value metrics: latency, CPU, ...) by this.
    pub values: Option<f64>,
}

impl Injection {
    /// A short label for tables (`errors×2`, `values×1.5`).
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(k) = self.errors {
            parts.push(format!("errors×{k}"));
        }
        if let Some(k) = self.values {
            parts.push(format!("values×{k}"));
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(" ")
        }
    }
}

/// The canary arm with the regression applied; the baseline is untouched.
pub fn inject(data: &SeriesSet, inj: &Injection) -> SeriesSet {
    let arm = |a: &ArmData| match a {
        ArmData::Counts(c) => {
            let mut c = c.clone();
            if let Some(k) = inj.errors {
                for (e, t) in c.events.iter_mut().zip(&c.traffic) {
                    *e = (*e * k).min(*t).round();
                }
            }
            ArmData::Counts(c)
        }
        ArmData::Values { values, traffic } => ArmData::Values {
            values: match inj.values {
                Some(k) => values.iter().map(|v| v * k).collect(),
                None => values.clone(),
            },
            traffic: traffic.clone(),
        },
        h @ ArmData::Histogram(_) => h.clone(),
    };
    SeriesSet {
        metrics: data
            .metrics
            .iter()
            .map(|(name, md)| {
                (
                    name.clone(),
                    MetricData {
                        canary: md.canary.as_ref().map(arm),
                        baseline: md.baseline.clone(),
                    },
                )
            })
            .collect(),
    }
}

/// One window's replay: the first failing look per metric and overall, in intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowRun {
    /// Window start, Unix seconds.
    pub start: i64,
    /// Window end.
    pub end: i64,
    /// Per metric (config order): intervals seen at the first failing look, if any.
    pub first_fail: Vec<Option<usize>>,
    /// Overall: intervals at the first look whose overall verdict was fail.
    pub overall_first_fail: Option<usize>,
}

/// Replays one window's data look by look.
pub fn run_window(
    config: &AnalysisConfig,
    data: &SeriesSet,
    every: usize,
    start: i64,
    end: i64,
) -> WindowRun {
    let all = looks::replay(config, data, every, |_, _| {});
    let first_fail = (0..config.metrics.len())
        .map(|i| {
            all.iter()
                .find(|l| l.report.metrics[i].decision.verdict == Verdict::Fail)
                .map(|l| l.intervals)
        })
        .collect();
    WindowRun {
        start,
        end,
        first_fail,
        overall_first_fail: all
            .iter()
            .find(|l| l.report.verdict == Verdict::Fail)
            .map(|l| l.intervals),
    }
}

/// A rate with its Wilson score interval (95 %), which stays inside [0, 1] and is honest
/// at 0 of n, unlike the normal approximation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Successes (fails, detections).
    pub count: usize,
    /// Trials (windows).
    pub of: usize,
    /// count / of.
    pub rate: f64,
    /// Wilson lower bound.
    pub low: f64,
    /// Wilson upper bound.
    pub high: f64,
}

/// The Wilson score interval at z = 1.96.
pub fn wilson(count: usize, of: usize) -> Rate {
    if of == 0 {
        return Rate {
            count,
            of,
            rate: f64::NAN,
            low: 0.0,
            high: 1.0,
        };
    }
    let z = 1.959_963_984_540_054_f64;
    let n = of as f64;
    let p = count as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    Rate {
        count,
        of,
        rate: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// One row of the summary: a metric (or `overall`) under one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    /// Metric name or `overall`.
    pub metric: String,
    /// Method name (empty for overall).
    pub method: String,
    /// Windows with a fail at any look.
    pub fails: Rate,
    /// Median minutes from the window's start to the first failing look, over the windows
    /// that failed.
    pub median_minutes_to_fail: Option<f64>,
}

/// Summary of one scenario (A/A or one injection) over all windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// `A/A` or the injection's label.
    pub name: String,
    /// The injection, if any.
    pub injection: Option<Injection>,
    /// One row per metric, then `overall`.
    pub rows: Vec<SummaryRow>,
}

/// A whole backtest: what `backtest --json` prints and the HTML page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Number of windows judged.
    pub windows: usize,
    /// Length of each window, seconds.
    pub window_seconds: i64,
    /// Seconds per interval (the query step).
    pub step_seconds: f64,
    /// Intervals between looks.
    pub every_intervals: usize,
    /// Window ends, Unix seconds, newest first.
    pub ends: Vec<i64>,
    /// A/A first, then one scenario per injection.
    pub scenarios: Vec<Scenario>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// Summarises the windows of one scenario.
pub fn summarize(
    config: &AnalysisConfig,
    name: &str,
    injection: Option<Injection>,
    runs: &[WindowRun],
    step_seconds: f64,
) -> Scenario {
    let minutes = |k: usize| k as f64 * step_seconds / 60.0;
    let row = |metric: String, method: String, firsts: Vec<Option<usize>>| SummaryRow {
        metric,
        method,
        fails: wilson(firsts.iter().filter(|f| f.is_some()).count(), firsts.len()),
        median_minutes_to_fail: median(firsts.iter().flatten().map(|k| minutes(*k)).collect()),
    };
    let mut rows: Vec<SummaryRow> = config
        .metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            row(
                m.name.clone(),
                m.method.name().as_str().to_string(),
                runs.iter().map(|r| r.first_fail[i]).collect(),
            )
        })
        .collect();
    rows.push(row(
        "overall".into(),
        String::new(),
        runs.iter().map(|r| r.overall_first_fail).collect(),
    ));
    Scenario {
        name: name.to_string(),
        injection,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // 0 of 71: upper bound 3.84/(71+3.84) ≈ 0.0513.
        let r = wilson(0, 71);
        assert_eq!(r.low, 0.0);
        assert!((r.high - 0.05131).abs() < 1e-4, "{r:?}");
        // 66 of 71 ≈ 0.930, interval about [0.846, 0.970].
        let r = wilson(66, 71);
        assert!(
            (r.low - 0.8456).abs() < 1e-3 && (r.high - 0.9695).abs() < 1e-3,
            "{r:?}"
        );
    }

    #[test]
    fn injection_scales_only_the_canary() {
        let data = SeriesSet::default().with(
            "e",
            ArmData::Counts(crate::stats::counts::CountSeries {
                events: vec![3.0, 10.0],
                traffic: vec![100.0, 12.0],
            }),
            Some(ArmData::values(vec![1.0])),
        );
        let out = inject(
            &data,
            &Injection {
                errors: Some(2.0),
                values: Some(3.0),
            },
        );
        let md = out.get("e").unwrap();
        assert_eq!(
            md.canary,
            Some(ArmData::Counts(crate::stats::counts::CountSeries {
                events: vec![6.0, 12.0],
                traffic: vec![100.0, 12.0],
            }))
        );
        assert_eq!(md.baseline, Some(ArmData::values(vec![1.0])));
    }
}
