//! One judgement of a newly activated release: wait until it is healthy and reports its
//! version, then for `judge.duration` check health every interval and collect its series
//! (scraped from `/metrics`, or queried from Prometheus at the end), and hand them to the
//! same `analysis::evaluate` every other front door calls. The baseline arm is the last
//! good release's recorded series (saved when it passed); metrics without a baseline arm
//! are fixed thresholds.

use super::config::{GuardConfig, JudgeSource};
use super::probe::{AppProbe, Health};
use super::scrape::{Recorder, Selector, parse_exposition};
use super::{GuardError, now_unix};
use crate::analysis::config::ArmSpec;
use crate::analysis::{AnalysisConfig, ArmData, MetricData, SeriesSet, evaluate};
use crate::source::SeriesSource;
use crate::source::prometheus::PrometheusSource;
use crate::stats::Verdict;
use crate::stats::counts::CountSeries;
use std::path::Path;
use std::time::{Duration, Instant};

/// The outcome of one judgement.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// Verdict.
    pub verdict: Verdict,
    /// One line saying why.
    pub summary: String,
    /// The release's own series (saved as the next release's baseline when it passes).
    pub recorded: SeriesSet,
    /// Judged window, Unix seconds.
    pub window_start: f64,
    /// End of the judged window.
    pub window_end: f64,
}

/// Render the analysis template for `version` against `baseline` and parse it.
pub fn load_template(
    path: &Path,
    version: &str,
    baseline: Option<&str>,
) -> Result<AnalysisConfig, GuardError> {
    let text = std::fs::read_to_string(path).map_err(|e| GuardError::io("read", path, e))?;
    let text = text
        .replace("{{version}}", version)
        .replace("{{baseline_version}}", baseline.unwrap_or(""));
    AnalysisConfig::from_str_auto(&text).map_err(|e| GuardError::Config {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn query_of(src: &SeriesSource, metric: &str) -> Result<String, String> {
    match src {
        SeriesSource::Query(q) => Ok(q.clone()),
        _ => Err(format!(
            "metric {metric}: guard templates take `query:` arms only"
        )),
    }
}

/// What to collect for one metric's canary arm.
enum ArmCollect {
    Values {
        series: Recorder,
        traffic: Option<Recorder>,
    },
    Counts {
        events: Recorder,
        traffic: Recorder,
    },
}

fn selector(q: &str, metric: &str) -> Result<Selector, String> {
    Selector::parse(q).ok_or_else(|| {
        format!("metric {metric}: {q:?} is not a metric selector (scrape mode takes `name` or `name{{label=\"v\"}}`)")
    })
}

fn plan_scrape(cfg: &AnalysisConfig) -> Result<Vec<(String, ArmCollect)>, String> {
    let mut out = Vec::new();
    for m in &cfg.metrics {
        let arm = match &m.canary {
            ArmSpec::Values { series, traffic } => ArmCollect::Values {
                series: Recorder::new(selector(&query_of(series, &m.name)?, &m.name)?),
                traffic: match traffic {
                    Some(t) => Some(Recorder::new(selector(&query_of(t, &m.name)?, &m.name)?)),
                    None => None,
                },
            },
            ArmSpec::Counts { events, traffic } => ArmCollect::Counts {
                events: Recorder::new(selector(&query_of(events, &m.name)?, &m.name)?),
                traffic: Recorder::new(selector(&query_of(traffic, &m.name)?, &m.name)?),
            },
            ArmSpec::Histogram(_) => {
                return Err(format!(
                    "metric {}: histograms need judge.source: prometheus",
                    m.name
                ));
            }
        };
        out.push((m.name.clone(), arm));
    }
    Ok(out)
}

fn arm_data(arm: &ArmCollect) -> ArmData {
    match arm {
        ArmCollect::Values { series, traffic } => ArmData::Values {
            values: series.series.clone(),
            traffic: traffic.as_ref().map(|t| t.series.clone()),
        },
        ArmCollect::Counts { events, traffic } => {
            let n = events.series.len().min(traffic.series.len());
            ArmData::Counts(CountSeries {
                events: events.series[..n].to_vec(),
                traffic: traffic.series[..n].to_vec(),
            })
        }
    }
}

/// Judge `version` (now active). `baseline` is the last good release's recorded series,
/// `still_active` is asked every interval and a `false` aborts the judgement (`Ok(None)`):
/// someone switched away, so there is nothing left to decide.
pub async fn judge_release(
    cfg: &GuardConfig,
    version: &str,
    baseline_version: Option<&str>,
    baseline: Option<&SeriesSet>,
    baseline_window: Option<(f64, f64)>,
    still_active: &(dyn Fn() -> bool + Sync),
) -> Result<Option<Judgement>, GuardError> {
    let analysis = load_template(&cfg.judge.analysis, version, baseline_version)?;
    let probe = AppProbe::new(&cfg.app).map_err(|m| GuardError::Config {
        path: "app".into(),
        message: m,
    })?;
    let fail = |summary: String, start: f64| Judgement {
        verdict: Verdict::Fail,
        summary,
        recorded: SeriesSet::default(),
        window_start: start,
        window_end: now_unix(),
    };
    let start = now_unix();
    // 1. Startup: healthy with the right version within the grace period, else fail fast.
    let deadline = Instant::now() + cfg.app.startup_grace;
    loop {
        if !still_active() {
            return Ok(None);
        }
        match probe.check(version).await {
            Health::Ok => break,
            other if Instant::now() >= deadline => {
                return Ok(Some(fail(
                    format!(
                        "not ready within {:?}: {}",
                        cfg.app.startup_grace,
                        describe(&other)
                    ),
                    start,
                )));
            }
            _ => tokio::time::sleep(cfg.judge.interval.min(Duration::from_millis(250))).await,
        }
    }
    let mut plan = match cfg.judge.source {
        JudgeSource::Scrape => Some(plan_scrape(&analysis).map_err(|m| GuardError::Config {
            path: cfg.judge.analysis.display().to_string(),
            message: m,
        })?),
        JudgeSource::Prometheus => None,
    };
    // 2. Watch for the configured duration.
    let window_start = now_unix();
    let end = Instant::now() + cfg.judge.duration;
    let mut failures = 0u32;
    let mut next = Instant::now();
    while Instant::now() < end {
        if !still_active() {
            return Ok(None);
        }
        match probe.check(version).await {
            Health::Ok => failures = 0,
            other => {
                failures += 1;
                tracing::warn!(version, problem = %describe(&other), failures, "release check failed");
                if failures >= cfg.judge.health_failures.max(1) {
                    return Ok(Some(fail(describe(&other), window_start)));
                }
            }
        }
        if let Some(plan) = plan.as_mut() {
            let text = probe.scrape().await;
            let samples = text.as_deref().map(parse_exposition);
            for (_, arm) in plan.iter_mut() {
                match arm {
                    ArmCollect::Values { series, traffic } => {
                        series.observe(samples.as_deref());
                        if let Some(t) = traffic {
                            t.observe(samples.as_deref());
                        }
                    }
                    ArmCollect::Counts { events, traffic } => {
                        events.observe(samples.as_deref());
                        traffic.observe(samples.as_deref());
                    }
                }
            }
        }
        next += cfg.judge.interval;
        tokio::time::sleep_until(next.into()).await;
    }
    let window_end = now_unix();
    // 3. Judge.
    let mut recorded = SeriesSet::default();
    match plan {
        Some(plan) => {
            for (name, arm) in &plan {
                recorded.metrics.insert(
                    name.clone(),
                    MetricData {
                        canary: Some(arm_data(arm)),
                        baseline: None,
                    },
                );
            }
        }
        None => {
            recorded =
                query_prometheus(cfg, &analysis, window_start, window_end, baseline_window).await?;
        }
    }
    let mut data = recorded.clone();
    for m in &analysis.metrics {
        if m.baseline.is_none() {
            continue;
        }
        let entry = data.metrics.entry(m.name.clone()).or_default();
        if entry.baseline.is_none() {
            entry.baseline = baseline
                .and_then(|b| b.get(&m.name))
                .and_then(|d| d.canary.clone());
        }
    }
    // Only the release's own arm is its future baseline.
    for d in recorded.metrics.values_mut() {
        d.baseline = None;
    }
    let report = evaluate(&analysis, &data);
    let summary = format!(
        "{} (score {}): {}",
        report.verdict.as_str(),
        report
            .score
            .map(|s| format!("{s:.0}"))
            .unwrap_or_else(|| "n/a".into()),
        report.reason
    );
    Ok(Some(Judgement {
        verdict: report.verdict,
        summary,
        recorded,
        window_start,
        window_end,
    }))
}

fn describe(h: &Health) -> String {
    match h {
        Health::Ok => "ok".into(),
        Health::Unhealthy(m) => format!("unhealthy: {m}"),
        Health::WrongVersion(m) => format!("wrong version: {m}"),
    }
}

/// Prometheus mode: the canary arm over the judged window, the baseline arm (rendered with
/// `{{baseline_version}}`) over the baseline release's own judged window.
async fn query_prometheus(
    cfg: &GuardConfig,
    analysis: &AnalysisConfig,
    start: f64,
    end: f64,
    baseline_window: Option<(f64, f64)>,
) -> Result<SeriesSet, GuardError> {
    let prom_err = |m: String| GuardError::Config {
        path: "prometheus".into(),
        message: m,
    };
    let pcfg = cfg
        .prometheus
        .as_ref()
        .ok_or_else(|| prom_err("section missing".into()))?;
    let source = PrometheusSource::new(pcfg).map_err(|e| prom_err(e.to_string()))?;
    let mut set = SeriesSet::default();
    for m in &analysis.metrics {
        let canary = fetch_arm(&source, &m.canary, &m.name, start as i64, end as i64).await;
        let baseline = match (&m.baseline, baseline_window) {
            (Some(spec), Some((bs, be))) => {
                fetch_arm(&source, spec, &m.name, bs as i64, be as i64).await
            }
            _ => None,
        };
        set.metrics
            .insert(m.name.clone(), MetricData { canary, baseline });
    }
    Ok(set)
}

async fn fetch_arm(
    source: &PrometheusSource,
    spec: &ArmSpec,
    metric: &str,
    start: i64,
    end: i64,
) -> Option<ArmData> {
    let result = match spec {
        ArmSpec::Values { series, traffic } => {
            let q = query_of(series, metric).ok()?;
            let v = source.values(&q, start, end, None).await;
            match (v, traffic) {
                (Ok(v), None) => Ok(ArmData::values(v.points.iter().map(|p| p.1).collect())),
                (Ok(v), Some(t)) => {
                    let tq = query_of(t, metric).ok()?;
                    let t = source.values(&tq, start, end, None).await.ok();
                    Ok(ArmData::Values {
                        values: v.points.iter().map(|p| p.1).collect(),
                        traffic: t.map(|t| t.points.iter().map(|p| p.1).collect()),
                    })
                }
                (Err(e), _) => Err(e),
            }
        }
        ArmSpec::Counts { events, traffic } => {
            let (e, t) = (
                query_of(events, metric).ok()?,
                query_of(traffic, metric).ok()?,
            );
            source.counts(&e, &t, start, end, None).await.map(|c| {
                ArmData::Counts(CountSeries {
                    events: c.points.iter().map(|p| p.events).collect(),
                    traffic: c.points.iter().map(|p| p.traffic).collect(),
                })
            })
        }
        ArmSpec::Histogram(src) => {
            let q = query_of(src, metric).ok()?;
            source.histogram(&q, start, end, None).await.map(|h| {
                ArmData::Histogram(crate::stats::quantile::HistogramSeries {
                    bounds: h.bounds,
                    intervals: h.points.into_iter().map(|p| p.1).collect(),
                })
            })
        }
    };
    match result {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(metric, error = %e, "Prometheus query failed; the arm has no data");
            None
        }
    }
}
