//! Glue between the analysis config and the Prometheus source: renders every `query` arm of
//! every metric, fetches both arms on one shared grid, and fills the engine's [`SeriesSet`].
//!
//! Policy: a query that returns nothing (no series, or only NaN points) is *no data* for that
//! arm, so the engine applies the metric's no-data policy (inconclusive by default, fail with
//! `must_have_data`). Everything else that goes wrong (unreachable server, timeout, error
//! JSON, garbage, wrong result type, ±Inf, too many points) is a [`FetchError`] naming the
//! server and the cause: the CLI exits 4 and the Argo plugin answers an `Error` measurement.
//! Nothing here keeps state: each call recomputes from the whole window. All metrics' queries
//! are in flight together (bounded), so a step takes about as long as its slowest query.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::config::{AnalysisConfig, ArmSpec, Metric};
use super::series::{ArmData, MetricData, SeriesSet};
use crate::source::SeriesSource;
use crate::source::prometheus::{PrometheusError, PrometheusSource, template};
use crate::stats::counts::CountSeries;
use crate::stats::quantile::HistogramSeries;

/// Why a fetch could not produce data to judge. Messages name the metric, the arm, the
/// Prometheus address and the cause; they never carry secrets (the source redacts them).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A query of one arm failed (anything but "no data").
    #[error("metric `{metric}` {arm}: {source}")]
    Prometheus {
        /// Metric name.
        metric: String,
        /// `canary`, `baseline`, or `canary.traffic` etc.
        arm: String,
        /// The source's error (names the address and the cause); boxed, it is large.
        source: Box<PrometheusError>,
    },
    /// An inline or file source of a metric without queries failed (as `load_series`).
    #[error("metric `{metric}` {arm}: {source}")]
    Local {
        /// Metric name.
        metric: String,
        /// Arm.
        arm: String,
        /// The file/values error.
        source: crate::source::SeriesFileError,
    },
    /// Local data loaded but is inconsistent (e.g. events and traffic of different lengths).
    #[error(transparent)]
    Data(Box<super::AnalysisError>),
    /// The config cannot be fetched as written (e.g. a `file` arm next to a `query` arm).
    #[error("metric `{metric}`: {why}")]
    Unsupported {
        /// Metric name.
        metric: String,
        /// What is not supported.
        why: String,
    },
    /// The analysis window cannot be resolved.
    #[error("analysis window: {0}")]
    Window(#[from] super::window::WindowError),
}

impl FetchError {
    fn prometheus(&self) -> Option<&PrometheusError> {
        match self {
            FetchError::Prometheus { source, .. } => Some(source),
            _ => None,
        }
    }

    /// True when Prometheus is unreachable or too slow (a front door's "unavailable").
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self.prometheus(),
            Some(PrometheusError::Unreachable { .. } | PrometheusError::Timeout { .. })
        )
    }

    /// True when a Prometheus query timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.prometheus(), Some(PrometheusError::Timeout { .. }))
    }

    /// True when the cause is in the request or config (template, window, shape, too many
    /// points), not in the server's health.
    pub fn is_config(&self) -> bool {
        matches!(self, FetchError::Unsupported { .. } | FetchError::Window(_))
            || matches!(
                self.prometheus(),
                Some(
                    PrometheusError::Config { .. }
                        | PrometheusError::Template(_)
                        | PrometheusError::InvalidWindow { .. }
                        | PrometheusError::TooManyPoints { .. }
                )
            )
    }
}

/// What was fetched for one arm, for reports and `Measurement.Metadata`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ArmFetch {
    /// The rendered queries (values or events, then traffic; or the bucket query).
    pub queries: Vec<String>,
    /// Points (intervals) that reached the engine.
    pub points: usize,
    /// Grid timestamps without a usable point (scrape gaps, NaN, series stopped midway).
    pub missing: usize,
    /// Sum of events over the window (count arms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<f64>,
    /// Sum of traffic over the window (count arms, or values with traffic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic: Option<f64>,
    /// Set when the arm had no data (the source's message); the no-data policy applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_data: Option<String>,
}

/// What was fetched for one metric.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct MetricFetch {
    /// Grid step in seconds, shared by both arms.
    pub step_seconds: f64,
    /// Canary arm.
    pub canary: ArmFetch,
    /// Baseline arm, when the metric has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<ArmFetch>,
}

/// A fetch's data (every metric) plus what was asked and seen per query metric.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fetched {
    /// Data for the engine.
    pub series: SeriesSet,
    /// Per-metric description of the fetch (metrics with `query` arms).
    pub metrics: BTreeMap<String, MetricFetch>,
    /// The window used, Unix seconds.
    pub start: i64,
    /// End of the window, Unix seconds.
    pub end: i64,
}

/// Fetches every metric over `[start, end]` (Unix seconds) into the engine's [`SeriesSet`]:
/// `query` arms from `source` (`vars` fill `{{name}}` placeholders), metrics without
/// queries from inline values and files relative to the working directory. A query that
/// returns nothing leaves its arm empty: no data, judged by the metric's policy.
pub async fn fetch_series(
    config: &AnalysisConfig,
    source: &PrometheusSource,
    start: i64,
    end: i64,
    vars: &BTreeMap<String, String>,
) -> Result<SeriesSet, FetchError> {
    Ok(
        fetch_detailed(config, source, start, end, vars, Path::new("."))
            .await?
            .series,
    )
}

/// As [`fetch_series`], also describing the queries, point and event counts per arm (for
/// the CLI's JSON report and the Argo plugin's measurement metadata).
/// Files of metrics without queries are read relative to `base_dir`.
pub async fn fetch_detailed(
    config: &AnalysisConfig,
    source: &PrometheusSource,
    start: i64,
    end: i64,
    vars: &BTreeMap<String, String>,
    base_dir: &Path,
) -> Result<Fetched, FetchError> {
    let windows = ArmWindows {
        canary: (start, end),
        baseline: Some((start, end)),
    };
    fetch_windows(config, source, &windows, vars, base_dir).await
}

/// The time range each arm is fetched over (Unix seconds). Front doors that compare two
/// arms of the same moment (Argo, Flagger, `analyze`) give both the same window; `guard`
/// compares a release with the previous one's own judged window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArmWindows {
    /// The canary arms' window.
    pub canary: (i64, i64),
    /// The baseline arms' window; `None` leaves baseline arms unfetched (no data).
    pub baseline: Option<(i64, i64)>,
}

/// The one fetch path: [`fetch_detailed`] with a window per arm.
pub async fn fetch_windows(
    config: &AnalysisConfig,
    source: &PrometheusSource,
    windows: &ArmWindows,
    vars: &BTreeMap<String, String>,
    base_dir: &Path,
) -> Result<Fetched, FetchError> {
    let (start, end) = windows.canary;
    let mut out = Fetched {
        start,
        end,
        ..Fetched::default()
    };
    let local = without_query_metrics(config);
    out.series = super::load_series(&local, base_dir).map_err(|e| match e {
        super::AnalysisError::Source {
            metric,
            arm,
            source,
        } => FetchError::Local {
            metric,
            arm,
            source,
        },
        other => FetchError::Data(Box::new(other)),
    })?;
    // Every metric's queries go out at once (a step costs its slowest query, not the sum),
    // at most MAX_METRICS_IN_FLIGHT metrics at a time so a large config cannot flood the
    // server. The first error in config order wins, as with one-by-one fetching.
    let query_metrics: Vec<&Metric> = config.metrics.iter().filter(|m| m.has_queries()).collect();
    for chunk in query_metrics.chunks(MAX_METRICS_IN_FLIGHT) {
        let results = futures_util::future::join_all(
            chunk.iter().map(|m| fetch_metric(m, source, windows, vars)),
        )
        .await;
        for (metric, result) in chunk.iter().zip(results) {
            let (data, info) = result?;
            out.series.metrics.insert(metric.name.clone(), data);
            out.metrics.insert(metric.name.clone(), info);
        }
    }
    Ok(out)
}

/// Metrics fetched concurrently; each sends up to four queries (two arms × events/traffic).
const MAX_METRICS_IN_FLIGHT: usize = 8;

/// A copy of `config` holding only the metrics without `query` arms (for `load_series`).
pub fn without_query_metrics(config: &AnalysisConfig) -> AnalysisConfig {
    let mut c = config.clone();
    c.metrics.retain(|m| !m.has_queries());
    c
}

/// One arm rendered into queries.
enum Plan {
    Values { q: String, traffic: Option<String> },
    Counts { events: String, traffic: String },
    Histogram(String),
    Inline(Vec<f64>),
}

impl Plan {
    fn queries(&self) -> Vec<String> {
        match self {
            Plan::Values { q, traffic } => {
                std::iter::once(q.clone()).chain(traffic.clone()).collect()
            }
            Plan::Counts { events, traffic } => vec![events.clone(), traffic.clone()],
            Plan::Histogram(q) => vec![q.clone()],
            Plan::Inline(_) => Vec::new(),
        }
    }
}

fn plan_arm(
    metric: &Metric,
    arm: &str,
    spec: &ArmSpec,
    vars: &BTreeMap<String, String>,
) -> Result<Plan, FetchError> {
    let render = |which: &str, s: &SeriesSource| -> Result<Option<String>, FetchError> {
        match s {
            SeriesSource::Query(q) => {
                template::render(q, vars)
                    .map(Some)
                    .map_err(|e| FetchError::Prometheus {
                        metric: metric.name.clone(),
                        arm: if which.is_empty() {
                            arm.to_string()
                        } else {
                            format!("{arm}.{which}")
                        },
                        source: Box::new(PrometheusError::from(e)),
                    })
            }
            SeriesSource::Values(_) => Ok(None),
            SeriesSource::File(p) => Err(FetchError::Unsupported {
                metric: metric.name.clone(),
                why: format!(
                    "{arm} reads file {} while another arm reads a query; give both arms as queries (or both as files)",
                    p.display()
                ),
            }),
        }
    };
    let need = |which: &str, s: &SeriesSource| -> Result<String, FetchError> {
        render(which, s)?.ok_or_else(|| FetchError::Unsupported {
            metric: metric.name.clone(),
            why: format!("{arm}.{which} must be a query like the rest of the arm"),
        })
    };
    Ok(match spec {
        ArmSpec::Values { series, traffic } => match render("", series)? {
            Some(q) => Plan::Values {
                q,
                traffic: match traffic {
                    Some(t) => Some(need("traffic", t)?),
                    None => None,
                },
            },
            None => match series {
                SeriesSource::Values(v) => Plan::Inline(v.clone()),
                _ => unreachable_inline(metric, arm)?,
            },
        },
        ArmSpec::Counts { events, traffic } => Plan::Counts {
            events: need("events", events)?,
            traffic: need("traffic", traffic)?,
        },
        ArmSpec::Histogram(h) => Plan::Histogram(need("histogram", h)?),
    })
}

fn unreachable_inline(metric: &Metric, arm: &str) -> Result<Plan, FetchError> {
    Err(FetchError::Unsupported {
        metric: metric.name.clone(),
        why: format!("{arm} has no query"),
    })
}

async fn fetch_metric(
    metric: &Metric,
    source: &PrometheusSource,
    windows: &ArmWindows,
    vars: &BTreeMap<String, String>,
) -> Result<(MetricData, MetricFetch), FetchError> {
    let canary = plan_arm(metric, "canary", &metric.canary, vars)?;
    let baseline = match (&metric.baseline, windows.baseline) {
        (Some(b), Some(window)) => Some((plan_arm(metric, "baseline", b, vars)?, window)),
        _ => None,
    };
    let mut all = canary.queries();
    if let Some((b, _)) = &baseline {
        all.extend(b.queries());
    }
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    // One grid step for both arms (the coarser of the two windows' steps), so intervals
    // mean the same on both sides; refuses too many points before anything is sent.
    let grid = |(start, end): (i64, i64)| {
        source
            .window(&refs, start, end, None)
            .map(|w| w.step)
            .map_err(|source| FetchError::Prometheus {
                metric: metric.name.clone(),
                arm: "window".to_string(),
                source: Box::new(source),
            })
    };
    let mut step = grid(windows.canary)?;
    if let Some((_, window)) = &baseline {
        step = step.max(grid(*window)?);
    }
    let (cs, ce) = windows.canary;
    let c = fetch_arm(metric, "canary", &canary, source, cs, ce, step);
    let b = async {
        match &baseline {
            Some((p, (bs, be))) => fetch_arm(metric, "baseline", p, source, *bs, *be, step)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let (c, b) = tokio::join!(c, b);
    let (mut c, mut b) = (c?, b?);
    if let Some(b) = b.as_mut()
        && windows.baseline == Some(windows.canary)
    {
        align_intervals(&mut c, b);
    }
    let info = MetricFetch {
        step_seconds: step.as_secs_f64(),
        canary: c.1,
        baseline: b.as_ref().map(|x| x.1.clone()),
    };
    let data = MetricData {
        canary: c.0,
        baseline: b.and_then(|x| x.0),
    };
    Ok((data, info))
}

/// Interval end times of a fetched counts or histogram arm (`None` for other shapes).
type Stamps = Option<Vec<f64>>;

/// Keeps only the grid intervals both arms have. Counts and histograms are compared interval
/// by interval, so an interval one arm lacks (e.g. before the canary's first scrape: its
/// `increase()` has no point yet while the baseline's has) must be dropped from both, not
/// leave the arms with different lengths.
///
/// Only when both arms reach the same last interval: an arm that stopped reporting before
/// the other (a canary that went silent) must not be judged on stale data as if it were
/// current, so its arms are left unequal and the method answers that they differ (the
/// no-data / error rules then keep the verdict from passing).
fn align_intervals(
    c: &mut (Option<ArmData>, ArmFetch, Stamps),
    b: &mut (Option<ArmData>, ArmFetch, Stamps),
) {
    let (Some(ct), Some(bt)) = (&c.2, &b.2) else {
        return;
    };
    if ct == bt {
        return;
    }
    let key = |t: &f64| (t * 1000.0).round() as i64;
    if ct.last().map(key) != bt.last().map(key) {
        return;
    }
    let cset: std::collections::BTreeSet<i64> = ct.iter().map(key).collect();
    let bset: std::collections::BTreeSet<i64> = bt.iter().map(key).collect();
    let keep_c: Vec<bool> = ct.iter().map(|t| bset.contains(&key(t))).collect();
    let keep_b: Vec<bool> = bt.iter().map(|t| cset.contains(&key(t))).collect();
    fn filter<T: Clone>(v: &[T], keep: &[bool]) -> Vec<T> {
        v.iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(x, _)| x.clone())
            .collect()
    }
    for (arm, keep) in [(&mut c.0, keep_c), (&mut b.0, keep_b)] {
        match arm {
            Some(ArmData::Counts(s)) if s.events.len() == keep.len() => {
                s.events = filter(&s.events, &keep);
                s.traffic = filter(&s.traffic, &keep);
            }
            Some(ArmData::Histogram(h)) if h.intervals.len() == keep.len() => {
                h.intervals = filter(&h.intervals, &keep);
            }
            _ => {}
        }
    }
}

async fn fetch_arm(
    metric: &Metric,
    arm: &str,
    plan: &Plan,
    source: &PrometheusSource,
    start: i64,
    end: i64,
    step: Duration,
) -> Result<(Option<ArmData>, ArmFetch, Stamps), FetchError> {
    let mut stamps: Stamps = None;
    let mut info = ArmFetch {
        queries: plan.queries(),
        ..ArmFetch::default()
    };
    let fail = |which: &str, source: PrometheusError| FetchError::Prometheus {
        metric: metric.name.clone(),
        arm: if which.is_empty() {
            arm.to_string()
        } else {
            format!("{arm}.{which}")
        },
        source: Box::new(source),
    };
    // "No data" is the metric's policy, not an error.
    let no_data = |info: &mut ArmFetch, e: PrometheusError, which: &str| match e {
        PrometheusError::NoData { .. } => {
            info.no_data = Some(e.to_string());
            Ok(None)
        }
        other => Err(fail(which, other)),
    };
    let data = match plan {
        Plan::Inline(v) => {
            info.points = v.len();
            Some(ArmData::values(v.clone()))
        }
        Plan::Values { q, traffic } => {
            let vf = source.values(q, start, end, Some(step));
            let tf = async {
                match traffic {
                    Some(t) => source.values(t, start, end, Some(step)).await.map(Some),
                    None => Ok(None),
                }
            };
            let (v, t) = tokio::join!(vf, tf);
            match v {
                Ok(v) => {
                    info.points = v.points.len();
                    info.missing = v.missing.len();
                    let traffic = match t {
                        Ok(Some(t)) => Some(t.values()),
                        Ok(None) => None,
                        Err(PrometheusError::NoData { .. }) => Some(Vec::new()),
                        Err(e) => return Err(fail("traffic", e)),
                    };
                    info.traffic = traffic.as_ref().map(|t| t.iter().sum());
                    Some(ArmData::Values {
                        values: v.values(),
                        traffic,
                    })
                }
                Err(e) => no_data(&mut info, e, "")?,
            }
        }
        Plan::Counts { events, traffic } => {
            match source.counts(events, traffic, start, end, Some(step)).await {
                Ok(c) => {
                    info.points = c.points.len();
                    info.missing = c.missing.len();
                    let e: Vec<f64> = c.points.iter().map(|p| p.events).collect();
                    let t: Vec<f64> = c.points.iter().map(|p| p.traffic).collect();
                    info.events = Some(e.iter().sum());
                    info.traffic = Some(t.iter().sum());
                    stamps = Some(c.points.iter().map(|p| p.timestamp).collect());
                    Some(ArmData::Counts(CountSeries {
                        events: e,
                        traffic: t,
                    }))
                }
                Err(e) => no_data(&mut info, e, "")?,
            }
        }
        Plan::Histogram(q) => match source.histogram(q, start, end, Some(step)).await {
            Ok(h) => {
                info.points = h.points.len();
                info.missing = h.missing.len();
                info.traffic = Some(h.points.iter().filter_map(|(_, b)| b.last().copied()).sum());
                stamps = Some(h.points.iter().map(|(t, _)| *t).collect());
                Some(ArmData::Histogram(HistogramSeries {
                    bounds: h.bounds,
                    intervals: h.points.into_iter().map(|(_, b)| b).collect(),
                }))
            }
            Err(e) => no_data(&mut info, e, "histogram")?,
        },
    };
    Ok((data, info, stamps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_keep_only_the_intervals_both_have() {
        let counts = |e: Vec<f64>| {
            ArmData::Counts(CountSeries {
                traffic: e.iter().map(|x| x * 10.0).collect(),
                events: e,
            })
        };
        // the canary has no point at t=10 (its first increase() needs two samples)
        let mut c = (
            Some(counts(vec![1.0, 2.0])),
            ArmFetch::default(),
            Some(vec![20.0, 30.0]),
        );
        let mut b = (
            Some(counts(vec![5.0, 6.0, 7.0])),
            ArmFetch::default(),
            Some(vec![10.0, 20.0, 30.0]),
        );
        align_intervals(&mut c, &mut b);
        match (&c.0, &b.0) {
            (Some(ArmData::Counts(cs)), Some(ArmData::Counts(bs))) => {
                assert_eq!(cs.events, vec![1.0, 2.0]);
                assert_eq!(bs.events, vec![6.0, 7.0]);
                assert_eq!(bs.traffic, vec![60.0, 70.0]);
            }
            other => panic!("{other:?}"),
        }
        let hist = |n: usize| {
            ArmData::Histogram(HistogramSeries {
                bounds: vec![f64::INFINITY],
                intervals: (0..n).map(|i| vec![i as f64]).collect(),
            })
        };
        let mut c = (Some(hist(2)), ArmFetch::default(), Some(vec![10.0, 30.0]));
        let mut b = (
            Some(hist(3)),
            ArmFetch::default(),
            Some(vec![10.0, 20.0, 30.0]),
        );
        align_intervals(&mut c, &mut b);
        match (&c.0, &b.0) {
            (Some(ArmData::Histogram(ch)), Some(ArmData::Histogram(bh))) => {
                assert_eq!(ch.intervals, vec![vec![0.0], vec![1.0]]);
                assert_eq!(bh.intervals, vec![vec![0.0], vec![2.0]]);
            }
            other => panic!("{other:?}"),
        }
        // A canary that stopped reporting before the end is not trimmed to look current.
        let mut c = (Some(hist(2)), ArmFetch::default(), Some(vec![10.0, 20.0]));
        let mut b = (
            Some(hist(3)),
            ArmFetch::default(),
            Some(vec![10.0, 20.0, 30.0]),
        );
        align_intervals(&mut c, &mut b);
        match (&c.0, &b.0) {
            (Some(ArmData::Histogram(ch)), Some(ArmData::Histogram(bh))) => {
                assert_eq!((ch.intervals.len(), bh.intervals.len()), (2, 3));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn config_blocks_parse_and_reject_typos() {
        let text = "prometheus: {address: 'http://p:9090', timeout: 3s}\nwindow: {window: 30m, until: '1000000'}\nmetrics:\n  - name: e\n    method: count-sequential\n    canary: {events: {query: 'sum(a)'}, traffic: {query: 'sum(b)'}}\n    baseline: {events: {values: [1]}, traffic: {values: [2]}}\n  - name: t\n    method: threshold\n    params: {max: 1}\n    canary: {values: [0.5]}\n";
        let c = AnalysisConfig::from_yaml_str(text).unwrap();
        assert!(c.has_queries());
        assert!(c.metrics[0].has_queries() && !c.metrics[1].has_queries());
        assert_eq!(c.prometheus.as_ref().map(|p| p.timeout.as_secs()), Some(3));
        assert_eq!(
            super::super::window::resolve_window(&c.window, None, None, None, 0).unwrap(),
            (998_200, 1_000_000)
        );
        assert_eq!(without_query_metrics(&c).metrics.len(), 1);
        for bad in [
            text.replace("timeout: 3s", "timout: 3s"),
            text.replace("window: 30m,", "windw: 30m,"),
            text.replace("window: 30m,", "window: 30x,"),
            text.replace("until: '1000000'", "until: 'soon'"),
            text.replace("window: 30m,", "window: 30m, since: now,"),
        ] {
            assert!(AnalysisConfig::from_yaml_str(&bad).is_err(), "{bad}");
        }
    }
}
