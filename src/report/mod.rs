//! "See why": the look-by-look view of an analysis that the HTML report, `report --json`,
//! `replay` and `backtest` show. [`looks`] calls the one engine ([`analysis::evaluate`]) on
//! growing prefixes of the series; [`build`] turns those answers into the [`model::Report`];
//! [`html`] and [`svg`] draw it. Nothing here decides anything the engine did not.

pub mod backtest;
pub mod html;
pub mod link;
pub mod looks;
pub mod methods;
pub mod model;
pub mod svg;

use crate::analysis::{AnalysisConfig, ArmData, MethodParams, MetricOutcome, SeriesSet};
use crate::stats::{Decision, Harm, Verdict};
use model::{
    EffectScale, HarmSide, MetricLook, MetricTrace, OverallLook, Report, ResolvedQuery, SeriesView,
    Window,
};

/// What a front door knows about the data besides the series: the grid and, for
/// Prometheus data, the window and the queries it sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Context {
    /// Seconds per interval (the Prometheus step; for files, what the user says).
    pub step_seconds: f64,
    /// Intervals between looks (≥ 1).
    pub every_intervals: usize,
    /// Window start, Unix seconds, if known.
    pub start: Option<i64>,
    /// Window end, Unix seconds, if known.
    pub end: Option<i64>,
    /// Rendered queries.
    pub queries: Vec<ResolvedQuery>,
}

/// The queries a fetch sent, per metric and arm, as the report lists them.
pub fn queries_of(f: &crate::analysis::fetch::Fetched) -> Vec<ResolvedQuery> {
    let mut out = Vec::new();
    for (metric, m) in &f.metrics {
        let arms = std::iter::once(("canary", &m.canary))
            .chain(m.baseline.iter().map(|b| ("baseline", b)));
        for (arm, a) in arms {
            for q in &a.queries {
                out.push(ResolvedQuery {
                    metric: metric.clone(),
                    arm: arm.to_string(),
                    query: q.clone(),
                });
            }
        }
    }
    out
}

/// Builds the report: one engine call per look (the last look is the whole series, so the
/// overall answer on top is exactly what `analyze` gives on the same data).
pub fn build(config: &AnalysisConfig, data: &SeriesSet, ctx: &Context) -> Report {
    build_with_progress(config, data, ctx, |_, _| {})
}

/// As [`build`], telling `progress` after each look.
pub fn build_with_progress(
    config: &AnalysisConfig,
    data: &SeriesSet,
    ctx: &Context,
    progress: impl FnMut(usize, usize),
) -> Report {
    let every = ctx.every_intervals.max(1);
    let all = looks::replay(config, data, every, progress);
    let last = match all.last() {
        Some(l) => l.report.clone(),
        // No intervals at all: one look on the (empty) data, so no-data policies apply.
        None => crate::analysis::evaluate(config, data),
    };
    let step = ctx.step_seconds;
    let overall = all
        .iter()
        .map(|l| OverallLook {
            look: l.look,
            intervals: l.intervals,
            offset_seconds: l.intervals as f64 * step,
            verdict: l.report.verdict,
            score: l.report.score,
        })
        .collect();
    let metrics = config
        .metrics
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            let fin = &last.metrics[i];
            let kind = data
                .get(&metric.name)
                .and_then(|md| md.canary.as_ref())
                .map(arm_kind);
            let (scale, null_value, harm) = scale_of(&metric.method, kind);
            let per_look: Vec<MetricLook> = all
                .iter()
                .map(|l| {
                    let m = &l.report.metrics[i];
                    let (margin_line, fail_line) = lines(&metric.method, kind, &m.decision);
                    MetricLook {
                        look: l.look,
                        intervals: l.intervals,
                        offset_seconds: l.intervals as f64 * step,
                        verdict: m.decision.verdict,
                        outcome: m.outcome,
                        effect: finite(m.decision.effect),
                        ci_low: finite(m.decision.ci_low),
                        ci_high: finite(m.decision.ci_high),
                        margin_line,
                        fail_line,
                    }
                })
                .collect();
            let first = |v: Verdict| per_look.iter().find(|l| l.verdict == v).map(|l| l.look);
            MetricTrace {
                name: metric.name.clone(),
                method: fin.method.clone(),
                group: fin.group.clone(),
                critical: fin.critical,
                scale,
                null_value,
                harm,
                verdict: fin.decision.verdict,
                outcome: fin.outcome,
                reason: fin.decision.reason.clone(),
                decided_look: decided_look(&per_look, fin.decision.verdict),
                first_fail_look: first(Verdict::Fail),
                first_pass_look: first(Verdict::Pass),
                series: series_view(&metric.method, data.get(&metric.name)),
                looks: per_look,
                forecast: forecast_view(&fin.decision, step),
            }
        })
        .collect();
    Report {
        verdict: last.verdict,
        score: last.score,
        mode: last.mode,
        reason: last.reason.clone(),
        groups: last.groups.clone(),
        window: Window {
            start: ctx.start,
            end: ctx.end,
            step_seconds: step,
            every_intervals: every,
            intervals: looks::total_intervals(data),
        },
        queries: ctx.queries.clone(),
        looks: overall,
        metrics,
    }
}

/// The engine's forecast numbers (count-sequential's `forecast_*` extras) in minutes.
fn forecast_view(d: &Decision, step: f64) -> Option<model::ForecastView> {
    if d.verdict != Verdict::Inconclusive {
        return None;
    }
    let more = *d.extra.get("forecast_more_intervals")?;
    let per_interval = *d.extra.get("requests_per_interval")?;
    let target = if d.extra.get("forecast_pass").copied() == Some(1.0) {
        crate::stats::forecast::ForecastTarget::Pass
    } else {
        crate::stats::forecast::ForecastTarget::Fail
    };
    let step = if step > 0.0 { step } else { 60.0 };
    let more_seconds = more * step;
    let requests_per_minute = per_interval * 60.0 / step;
    let text = format!(
        "needs ≈ {} more minutes at {} req/min to {}",
        round_minutes(more_seconds / 60.0),
        requests_per_minute.round(),
        match target {
            crate::stats::forecast::ForecastTarget::Pass => "pass",
            crate::stats::forecast::ForecastTarget::Fail => "fail",
        }
    );
    Some(model::ForecastView {
        target,
        more_intervals: more as u64,
        more_seconds,
        requests_per_minute,
        text,
    })
}

/// Minutes as a person says them: one decimal below 10, whole minutes above.
fn round_minutes(m: f64) -> String {
    if m < 10.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.0}")
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// The first look from which every later look has the final verdict; `None` while the
/// final verdict is inconclusive.
pub fn decided_look(looks: &[MetricLook], fin: Verdict) -> Option<usize> {
    if fin == Verdict::Inconclusive {
        return None;
    }
    let tail = looks.iter().rev().take_while(|l| l.verdict == fin).count();
    (tail > 0).then(|| looks[looks.len() - tail].look)
}

/// What kind of data a metric's canary holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Values,
    Counts,
    Histogram,
}

fn arm_kind(arm: &ArmData) -> Kind {
    match arm {
        ArmData::Values { .. } => Kind::Values,
        ArmData::Counts(_) => Kind::Counts,
        ArmData::Histogram(_) => Kind::Histogram,
    }
}

fn harm_side(h: Harm) -> HarmSide {
    match h {
        Harm::Increase => HarmSide::Above,
        Harm::Decrease => HarmSide::Below,
        Harm::Either => HarmSide::Both,
    }
}

/// The effect scale of a method, its "no change" value and the harm side.
fn scale_of(method: &MethodParams, kind: Option<Kind>) -> (EffectScale, Option<f64>, HarmSide) {
    match method {
        MethodParams::Threshold(p) => {
            let above = p.max.is_some() || p.max_ratio.is_some() || p.max_difference.is_some();
            let below = p.min.is_some() || p.min_ratio.is_some() || p.min_difference.is_some();
            let side = match (above, below) {
                (true, true) => HarmSide::Both,
                (false, true) => HarmSide::Below,
                _ => HarmSide::Above,
            };
            if p.max_ratio.is_some() || p.min_ratio.is_some() {
                (EffectScale::Ratio, Some(1.0), side)
            } else if p.max_difference.is_some() || p.min_difference.is_some() {
                (EffectScale::Difference, Some(0.0), side)
            } else {
                (EffectScale::Absolute, None, side)
            }
        }
        MethodParams::MannWhitney(p) => (EffectScale::Difference, Some(0.0), harm_side(p.harm)),
        MethodParams::Welch(p) => (EffectScale::Difference, Some(0.0), harm_side(p.harm)),
        MethodParams::Msprt(p) => (EffectScale::Difference, Some(0.0), harm_side(p.harm)),
        MethodParams::CountSequential(_) => (EffectScale::Ratio, Some(1.0), HarmSide::Above),
        MethodParams::QuantileSequential(_) if kind == Some(Kind::Histogram) => {
            (EffectScale::Ratio, Some(1.0), HarmSide::Above)
        }
        MethodParams::QuantileSequential(_) => (EffectScale::Relative, Some(0.0), HarmSide::Above),
    }
}

/// Where the margin and the fail margin sit on the effect scale at one look (harm side;
/// the page mirrors them when harm is either way). Bands that scale with the baseline
/// (welch, mann-whitney, msprt) are read from the decision the engine returned.
fn lines(method: &MethodParams, kind: Option<Kind>, d: &Decision) -> (Option<f64>, Option<f64>) {
    let signed = |h: Harm, v: Option<f64>| match h {
        Harm::Decrease => v.map(|x| -x),
        _ => v,
    };
    let (margin, fail) = match method {
        MethodParams::Threshold(p) => (
            p.max
                .or(p.max_ratio)
                .or(p.max_difference)
                .or(p.min)
                .or(p.min_ratio)
                .or(p.min_difference),
            None,
        ),
        MethodParams::MannWhitney(p) => (
            signed(p.harm, d.extra.get("margin_band").copied()),
            signed(p.harm, d.extra.get("fail_band").copied()),
        ),
        MethodParams::Welch(p) => (
            signed(p.harm, d.extra.get("margin_band").copied()),
            signed(p.harm, d.extra.get("fail_band").copied()),
        ),
        MethodParams::Msprt(p) => (
            signed(p.harm, d.extra.get("margin_abs").copied()),
            signed(p.harm, d.extra.get("fail_band").copied()),
        ),
        MethodParams::CountSequential(p) => (
            Some(1.0 + p.margin),
            Some(1.0 + p.fail_margin.unwrap_or(p.margin)),
        ),
        MethodParams::QuantileSequential(p) => {
            let base = if kind == Some(Kind::Histogram) {
                1.0
            } else {
                0.0
            };
            (
                Some(base + p.margin),
                Some(base + p.fail_margin.unwrap_or(p.margin)),
            )
        }
    };
    let fail = match (margin, fail) {
        (Some(m), Some(f)) if (m - f).abs() <= 1e-12 * m.abs().max(1.0) => None,
        (_, f) => f,
    };
    (finite(margin), finite(fail))
}

fn opt(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// One arm as the method judges it, per interval.
fn arm_view(method: &MethodParams, arm: &ArmData) -> Vec<Option<f64>> {
    match arm {
        ArmData::Values { values, .. } => values.iter().copied().map(opt).collect(),
        ArmData::Counts(c) => c
            .events
            .iter()
            .zip(&c.traffic)
            .map(|(e, t)| if *t > 0.0 { opt(e / t) } else { None })
            .collect(),
        ArmData::Histogram(h) => {
            let threshold = match method {
                MethodParams::QuantileSequential(p) => {
                    p.thresholds.as_ref().and_then(|t| t.first().copied())
                }
                _ => None,
            };
            h.intervals
                .iter()
                .map(|row| {
                    let total = row.last().copied().unwrap_or(0.0);
                    if total <= 0.0 {
                        return None;
                    }
                    match threshold {
                        Some(t) => {
                            let below = h
                                .bounds
                                .iter()
                                .zip(row)
                                .filter(|(b, _)| **b <= t)
                                .map(|(_, c)| *c)
                                .next_back()
                                .unwrap_or(0.0);
                            opt((total - below) / total)
                        }
                        None => {
                            let q = match method {
                                MethodParams::QuantileSequential(p) => {
                                    p.quantiles.first().copied().unwrap_or(0.5)
                                }
                                _ => 0.5,
                            };
                            bucket_quantile(&h.bounds, row, q)
                        }
                    }
                })
                .collect()
        }
    }
}

/// Prometheus' `histogram_quantile` rule for one interval: linear inside the bucket that
/// holds rank q·total, the highest finite bound when it falls into +Inf.
fn bucket_quantile(bounds: &[f64], cumulative: &[f64], q: f64) -> Option<f64> {
    let total = cumulative.last().copied()?;
    let rank = q * total;
    let mut prev_bound = 0.0;
    let mut prev_count = 0.0;
    for (b, c) in bounds.iter().zip(cumulative) {
        if *c >= rank {
            if !b.is_finite() {
                return opt(prev_bound);
            }
            let width = c - prev_count;
            let frac = if width > 0.0 {
                (rank - prev_count) / width
            } else {
                0.0
            };
            return opt(prev_bound + (b - prev_bound) * frac);
        }
        prev_bound = *b;
        prev_count = *c;
    }
    None
}

fn series_view(method: &MethodParams, md: Option<&crate::analysis::MetricData>) -> SeriesView {
    let canary = md.and_then(|m| m.canary.as_ref());
    let baseline = md.and_then(|m| m.baseline.as_ref());
    let unit = match (canary.map(arm_kind), method) {
        (Some(Kind::Counts), _) => "error rate (events / traffic)".to_string(),
        (Some(Kind::Histogram), MethodParams::QuantileSequential(p)) => {
            match p.thresholds.as_ref().and_then(|t| t.first()) {
                Some(t) => format!("share of requests above {t}"),
                None => format!(
                    "quantile {} per interval",
                    p.quantiles.first().copied().unwrap_or(0.5)
                ),
            }
        }
        _ => "value per interval".to_string(),
    };
    let canary_share = match (canary, baseline) {
        (Some(ArmData::Counts(c)), Some(ArmData::Counts(b))) => c
            .traffic
            .iter()
            .zip(&b.traffic)
            .map(|(x, y)| if x + y > 0.0 { opt(x / (x + y)) } else { None })
            .collect(),
        _ => Vec::new(),
    };
    SeriesView {
        unit,
        canary: canary.map(|a| arm_view(method, a)).unwrap_or_default(),
        baseline: baseline.map(|a| arm_view(method, a)).unwrap_or_default(),
        canary_share,
    }
}

/// True when the outcome is one the page draws a band for.
pub fn has_band(outcome: MetricOutcome) -> bool {
    !matches!(outcome, MetricOutcome::NoData | MetricOutcome::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_quantile_interpolates_like_prometheus() {
        let bounds = [0.1, 0.2, f64::INFINITY];
        let cum = [50.0, 100.0, 100.0];
        assert_eq!(bucket_quantile(&bounds, &cum, 0.5), Some(0.1));
        let q75 = bucket_quantile(&bounds, &cum, 0.75).unwrap();
        assert!((q75 - 0.15).abs() < 1e-12, "{q75}");
        assert_eq!(bucket_quantile(&bounds, &[0.0, 0.0, 10.0], 0.9), Some(0.2));
    }

    #[test]
    fn decided_look_is_where_the_final_verdict_started_to_hold() {
        let look = |n, v| MetricLook {
            look: n,
            intervals: n,
            offset_seconds: 0.0,
            verdict: v,
            outcome: MetricOutcome::Inconclusive,
            effect: None,
            ci_low: None,
            ci_high: None,
            margin_line: None,
            fail_line: None,
        };
        use Verdict::*;
        let ls = [
            look(1, Inconclusive),
            look(2, Pass),
            look(3, Inconclusive),
            look(4, Pass),
            look(5, Pass),
        ];
        assert_eq!(decided_look(&ls, Pass), Some(4));
        assert_eq!(decided_look(&ls, Inconclusive), None);
        assert_eq!(decided_look(&ls[..3], Fail), None);
    }
}
