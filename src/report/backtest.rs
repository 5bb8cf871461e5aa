//! Backtest: how often a template would fail a healthy release, and how fast it catches a
//! bad one, measured on the user's own history. Each past window is judged look by look
//! ([`super::looks::replay`], the one engine) with both arms drawn from the same version
//! (two disjoint sets of stable pods, see `docs/backtest.md`), then again with a regression
//! injected into the canary arm (errors × k, values × k; for histograms every observation
//! × k). Only the summary arithmetic lives
//! here; fetching the windows is the front door's job.

use super::looks;
use crate::analysis::{AnalysisConfig, ArmData, MetricData, SeriesSet};
use crate::stats::Verdict;
use crate::stats::quantile::HistogramSeries;
use serde::Serialize;

/// A regression to inject into the canary arm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Injection {
    /// Multiply the canary's error counts (count metrics) by this, capped at its traffic.
    pub errors: Option<f64>,
    /// Multiply the canary's values by this: value metrics (latency, CPU, ...) directly, and
    /// for latency histograms every observation (see [`scale_histogram`]).
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
        ArmData::Histogram(h) => ArmData::Histogram(match inj.values {
            Some(k) => scale_histogram(h, k),
            None => h.clone(),
        }),
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

/// The histogram of the same requests with every observation multiplied by `k` (a latency
/// regression of ×k): the cumulative count at a bound `b` becomes the old cumulative count at
/// `b / k`, read off the old buckets by interpolation between their bounds.
///
/// How to interpolate matters in the tails, which is where canary tests look. Spreading
/// observations evenly inside a bucket (what `histogram_quantile` does) makes a ×1.15 slowdown
/// of a log-normal latency (median 100 ms, log-sd 0.5; doubling buckets) look like 8.5 times
/// as many requests above 400 ms as before where the truth is 2.3 times, so a backtest would promise detections that a real slowdown does not give.
/// Here the normal quantile (probit) of the cumulative share is interpolated linearly in
/// log `x` between the bucket's bounds: exact when latencies are log-normal, and a smooth
/// bend that follows the tails of other shapes better than a straight line does. The first
/// bucket, which starts at 0, continues the second bucket's slope. The shape is read from the
/// arm's whole window, pooled (one interval's tail holds a handful of requests, often none),
/// and every interval then moves the same fraction of each bucket. Where a pooled share is 0
/// or 1 or a bound is not positive it falls back to even spreading. Beyond the last finite
/// bound nothing is known, so counts there are never moved: the histogram is never made
/// better than the scaling says.
pub fn scale_histogram(h: &HistogramSeries, k: f64) -> HistogramSeries {
    use statrs::distribution::{ContinuousCDF, Normal};
    let b = &h.bounds;
    let normal = Normal::standard();
    let probit = |p: f64| (p > 0.0 && p < 1.0).then(|| normal.inverse_cdf(p));
    // Cumulative count of `cum` at `x`.
    let at = |cum: &[f64], x: f64| -> f64 {
        let total = cum.last().copied().unwrap_or(0.0);
        if x <= 0.0 || total <= 0.0 {
            return 0.0;
        }
        let Some(i) = b.iter().position(|&u| u >= x) else {
            return total;
        };
        let hi_c = cum[i];
        if x == b[i] {
            return hi_c;
        }
        if !b[i].is_finite() {
            return cum.get(i.wrapping_sub(1)).copied().unwrap_or(0.0);
        }
        let (lo_b, lo_c) = if i == 0 {
            (0.0, 0.0)
        } else {
            (b[i - 1], cum[i - 1])
        };
        let even = || {
            if b[i] > lo_b {
                lo_c + (hi_c - lo_c) * (x - lo_b) / (b[i] - lo_b)
            } else {
                hi_c
            }
        };
        let share = |c: f64| c / total;
        let z = if i == 0 {
            // Continue the second bucket's slope below the first bound.
            match (b.get(1), cum.get(1), probit(share(hi_c))) {
                (Some(&b1), Some(&c1), Some(z0)) if b1.is_finite() && b[0] > 0.0 && c1 > hi_c => {
                    match probit(share(c1)) {
                        Some(z1) => z0 + (z1 - z0) / (b1 / b[0]).ln() * (x / b[0]).ln(),
                        None => return even(),
                    }
                }
                _ => return even(),
            }
        } else {
            match (probit(share(lo_c)), probit(share(hi_c))) {
                (Some(z_lo), Some(z_hi)) if lo_b > 0.0 && b[i] > lo_b => {
                    z_lo + (z_hi - z_lo) * (x / lo_b).ln() / (b[i] / lo_b).ln()
                }
                _ => return even(),
            }
        };
        (total * normal.cdf(z)).clamp(lo_c, hi_c)
    };
    // The shape inside each bucket comes from the whole window of this arm (every interval
    // pooled): one interval's tail holds a handful of requests, often none, and read alone
    // it would fall back to even spreading exactly where that overstates the most. Each
    // interval then moves the same fraction of each bucket as the pooled histogram does.
    let mut pooled = vec![0.0; b.len()];
    for cum in &h.intervals {
        for (p, c) in pooled.iter_mut().zip(cum) {
            *p += c;
        }
    }
    // Per bound: which old bucket `b / k` falls in and how much of that bucket lies below it.
    let map: Vec<Option<(usize, f64)>> = b
        .iter()
        .map(|&u| {
            if !u.is_finite() {
                return None;
            }
            let x = u / k;
            let i = b.iter().position(|&v| v >= x)?;
            if !b[i].is_finite() {
                return Some((i, 0.0));
            }
            let lo = if i == 0 { 0.0 } else { pooled[i - 1] };
            let width = pooled[i] - lo;
            let w = if width > 0.0 {
                ((at(&pooled, x) - lo) / width).clamp(0.0, 1.0)
            } else {
                (x - if i == 0 { 0.0 } else { b[i - 1] }).max(0.0)
                    / (b[i] - if i == 0 { 0.0 } else { b[i - 1] }).max(f64::MIN_POSITIVE)
            };
            Some((i, w.clamp(0.0, 1.0)))
        })
        .collect();
    HistogramSeries {
        bounds: b.clone(),
        intervals: h
            .intervals
            .iter()
            .map(|cum| {
                let total = cum.last().copied().unwrap_or(0.0);
                map.iter()
                    .map(|m| match *m {
                        None => total,
                        Some((i, w)) => {
                            let lo = if i == 0 { 0.0 } else { cum[i - 1] };
                            if w >= 1.0 {
                                cum[i]
                            } else {
                                lo + w * (cum[i] - lo)
                            }
                        }
                    })
                    .collect()
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
    fn histograms_scale_every_observation() {
        // A log-normal latency (median 100 ms, log-sd 0.5) in doubling buckets, 10⁶ requests.
        let phi = |z: f64| 0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2));
        let cdf = |x: f64| phi((x / 0.1).ln() / 0.5) * 1e6;
        let bounds = vec![0.05, 0.1, 0.2, 0.4, 0.8, f64::INFINITY];
        let cum: Vec<f64> = bounds
            .iter()
            .map(|&b| if b.is_finite() { cdf(b) } else { 1e6 })
            .collect();
        let h = HistogramSeries {
            bounds: bounds.clone(),
            intervals: vec![cum.clone()],
        };
        // ×1 changes nothing; the +Inf bucket (the total) never changes.
        assert_eq!(scale_histogram(&h, 1.0), h);
        // ×2 maps bounds onto bounds: exact.
        let slow = scale_histogram(&h, 2.0);
        for j in 1..5 {
            assert!((slow.intervals[0][j] - cum[j - 1]).abs() < 1e-6, "{j}");
        }
        // ×1.15 falls inside buckets: on log-normal latencies the probit interpolation is
        // exact, so the slow tail (requests above 100, 200, 400 ms) is the truth. (Even
        // spreading would have claimed 3.7× the truth above 400 ms.)
        let scaled = scale_histogram(&h, 1.15);
        for (j, &b) in bounds.iter().enumerate().take(4).skip(1) {
            let (got, truth) = (1e6 - scaled.intervals[0][j], 1e6 - cdf(b / 1.15));
            assert!(
                (got - truth).abs() <= 1e-3 * truth,
                "above {b}: {got} vs {truth}"
            );
        }
        assert_eq!(scaled.intervals[0][5], 1e6);
        // Counts stay cumulative.
        assert!(scaled.intervals[0].windows(2).all(|w| w[0] <= w[1]));
        // Zero counts fall back to even spreading; nothing moves past the last finite bound.
        let flat = HistogramSeries {
            bounds: vec![100.0, 200.0, 300.0, 400.0, f64::INFINITY],
            intervals: vec![vec![0.0, 0.0, 0.0, 100.0, 100.0]],
        };
        assert_eq!(
            scale_histogram(&flat, 2.0).intervals[0],
            vec![0.0, 0.0, 0.0, 0.0, 100.0]
        );
        let tail = HistogramSeries {
            bounds: vec![100.0, f64::INFINITY],
            intervals: vec![vec![60.0, 100.0]],
        };
        assert_eq!(scale_histogram(&tail, 0.5).intervals[0], vec![60.0, 100.0]);
    }

    /// Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), enough for the test's reference.
    fn erf(x: f64) -> f64 {
        let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
        let y = 1.0
            - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736)
                * t
                + 0.254_829_592)
                * t
                * (-x * x).exp();
        if x >= 0.0 { y } else { -y }
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
