//! One judgement of a newly activated release: wait until it is healthy and reports its
//! version, then for `judge.duration` check health every interval and collect its series
//! (scraped from `/metrics`, or queried from Prometheus at the end), and hand them to the
//! same `analysis::evaluate` every other front door calls. The baseline arm is the last
//! good release's recorded series (saved when it passed), or in Prometheus mode its queries
//! over the last good release's own judged window, fetched by the one fetch path
//! (`analysis::fetch`); metrics without a baseline arm are fixed thresholds.

use super::config::{GuardConfig, JudgeSource};
use super::probe::{AppProbe, Health};
use super::scrape::{Recorder, Selector, parse_exposition};
use super::{GuardError, now_unix};
use crate::analysis::config::ArmSpec;
use crate::analysis::fetch::{ArmWindows, fetch_windows};
use crate::analysis::{AnalysisConfig, ArmData, MetricData, SeriesSet, evaluate};
use crate::source::SeriesSource;
use crate::source::prometheus::{PrometheusSource, template};
use crate::stats::Verdict;
use crate::stats::counts::CountSeries;
use std::collections::BTreeMap;
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

/// The template variables of a judgement: `{{version}}` is the release under judgement,
/// `{{baseline_version}}` the last good release (empty before the first one).
pub fn template_vars(version: &str, baseline: Option<&str>) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("version".to_string(), version.to_string()),
        (
            "baseline_version".to_string(),
            baseline.unwrap_or("").to_string(),
        ),
    ])
}

/// Parse the analysis template and check that every arm is a `query:` whose placeholders
/// [`template_vars`] fill. The variables are filled into the queries when they are sent
/// (as for every other front door), not into the YAML text, so a release name can never
/// change the template's structure.
pub fn load_template(
    path: &Path,
    version: &str,
    baseline: Option<&str>,
) -> Result<AnalysisConfig, GuardError> {
    let text = std::fs::read_to_string(path).map_err(|e| GuardError::io("read", path, e))?;
    let config_error = |message: String| GuardError::Config {
        path: path.display().to_string(),
        message,
    };
    let analysis = AnalysisConfig::from_str_auto(&text).map_err(|e| config_error(e.to_string()))?;
    let vars = template_vars(version, baseline);
    for m in &analysis.metrics {
        for spec in std::iter::once(&m.canary).chain(m.baseline.as_ref()) {
            for src in arm_sources(spec) {
                let q = query_of(src, &m.name).map_err(config_error)?;
                template::render(&q, &vars)
                    .map_err(|e| config_error(format!("metric {}: {e}", m.name)))?;
            }
        }
    }
    Ok(analysis)
}

/// Every series source of one arm.
fn arm_sources(spec: &ArmSpec) -> Vec<&SeriesSource> {
    match spec {
        ArmSpec::Values { series, traffic } => std::iter::once(series).chain(traffic).collect(),
        ArmSpec::Counts { events, traffic } => vec![events, traffic],
        ArmSpec::Histogram(h) => vec![h],
    }
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

fn selector(q: &str, metric: &str, vars: &BTreeMap<String, String>) -> Result<Selector, String> {
    let q = template::render(q, vars).map_err(|e| format!("metric {metric}: {e}"))?;
    Selector::parse(&q).ok_or_else(|| {
        format!("metric {metric}: {q:?} is not a metric selector (scrape mode takes `name` or `name{{label=\"v\"}}`)")
    })
}

fn plan_scrape(
    cfg: &AnalysisConfig,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<(String, ArmCollect)>, String> {
    let mut out = Vec::new();
    for m in &cfg.metrics {
        let arm = match &m.canary {
            ArmSpec::Values { series, traffic } => ArmCollect::Values {
                series: Recorder::new(selector(&query_of(series, &m.name)?, &m.name, vars)?),
                traffic: match traffic {
                    Some(t) => Some(Recorder::new(selector(
                        &query_of(t, &m.name)?,
                        &m.name,
                        vars,
                    )?)),
                    None => None,
                },
            },
            ArmSpec::Counts { events, traffic } => ArmCollect::Counts {
                events: Recorder::new(selector(&query_of(events, &m.name)?, &m.name, vars)?),
                traffic: Recorder::new(selector(&query_of(traffic, &m.name)?, &m.name, vars)?),
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
    let vars = template_vars(version, baseline_version);
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
        JudgeSource::Scrape => {
            Some(
                plan_scrape(&analysis, &vars).map_err(|m| GuardError::Config {
                    path: cfg.judge.analysis.display().to_string(),
                    message: m,
                })?,
            )
        }
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
            let windows = ArmWindows {
                canary: (window_start as i64, window_end as i64),
                baseline: baseline_window.map(|(s, e)| (s as i64, e as i64)),
            };
            recorded = query_prometheus(cfg, &analysis, &windows, &vars).await?;
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

/// Prometheus mode: the canary arm over the judged window, the baseline arm (with
/// `{{baseline_version}}`) over the baseline release's own judged window. A query that
/// fails is an error of the judgement (never "no data"); a query that returns nothing is
/// no data, judged by the metric's no-data policy.
async fn query_prometheus(
    cfg: &GuardConfig,
    analysis: &AnalysisConfig,
    windows: &ArmWindows,
    vars: &BTreeMap<String, String>,
) -> Result<SeriesSet, GuardError> {
    let pcfg = cfg.prometheus.as_ref().ok_or_else(|| GuardError::Config {
        path: "prometheus".into(),
        message: "section missing".into(),
    })?;
    let source = PrometheusSource::new(pcfg).map_err(|e| GuardError::Config {
        path: "prometheus".into(),
        message: e.to_string(),
    })?;
    Ok(
        fetch_windows(analysis, &source, windows, vars, Path::new("."))
            .await?
            .series,
    )
}
