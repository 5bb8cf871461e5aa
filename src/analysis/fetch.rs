//! Fetching an analysis' series: turns each metric's `query` sources into the [`SeriesSet`]
//! the engine takes, through a [`PrometheusSource`], over one window `[start, end]`.
//! Inline values and files still load as the CLI loads them, so configs can mix sources.
//! Front-door neutral: the service, the Argo plugin and the CLI call the same function.
//!
//! No data (an empty result) is not an error here: the arm is left empty, and the engine
//! applies the metric's no-data policy (inconclusive by default, fail with `must_have_data`).

use std::collections::BTreeMap;
use std::path::Path;

use super::config::{AnalysisConfig, ArmSpec, Metric};
use super::series::{ArmData, MetricData, SeriesSet};
use crate::source::SeriesSource;
use crate::source::prometheus::{
    ArmQuery, MetricQueries, PrometheusSource, Series, SourceError as PromError,
};
use crate::stats::counts::CountSeries;
use crate::stats::quantile::HistogramSeries;

/// Why the series of an analysis could not be fetched. No data is not among them.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Prometheus failed (unreachable, timeout, API error, bad template, too many points...).
    #[error("metric `{metric}` {arm}: {source}")]
    Prometheus {
        /// Metric name.
        metric: String,
        /// `canary`, `baseline` or `canary.traffic`...
        arm: String,
        /// The source's error, naming server and query.
        source: PromError,
    },
    /// An inline or file source failed (same errors as the CLI's `load_series`).
    #[error("metric `{metric}` {arm}: {source}")]
    Local {
        /// Metric name.
        metric: String,
        /// Arm.
        arm: String,
        /// The file/values error.
        source: crate::source::SourceError,
    },
    /// Counts whose events and traffic differ in length.
    #[error("metric `{metric}` {arm}: {why}")]
    Data {
        /// Metric name.
        metric: String,
        /// Arm.
        arm: String,
        /// What is wrong.
        why: String,
    },
}

impl FetchError {
    /// True when the cause is the Prometheus server being unreachable or too slow, which a
    /// front door reports as "unavailable" (gRPC `Unavailable`, HTTP 503) rather than a bad
    /// request.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            FetchError::Prometheus {
                source: PromError::Unreachable { .. } | PromError::Timeout { .. },
                ..
            }
        )
    }

    /// True when the Prometheus query timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            FetchError::Prometheus {
                source: PromError::Timeout { .. },
                ..
            }
        )
    }

    /// True when the cause is in the request or config (bad template, bad window, bad
    /// query shape), not in the server's health.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            FetchError::Prometheus {
                source: PromError::Config { .. }
                    | PromError::Template(_)
                    | PromError::InvalidWindow { .. }
                    | PromError::TooManyPoints { .. },
                ..
            }
        )
    }
}

/// Fetches every metric of `config` over `[start, end]` (Unix seconds): `query` sources
/// rendered with `vars` and run on `source` (both arms of a metric on one shared grid when
/// both are queries), inline values and files loaded relative to the working directory.
/// A metric whose query returns nothing gets an empty arm, i.e. no data for the engine.
pub async fn fetch_series(
    config: &AnalysisConfig,
    source: &PrometheusSource,
    start: i64,
    end: i64,
    vars: &BTreeMap<String, String>,
) -> Result<SeriesSet, FetchError> {
    let mut set = SeriesSet::default();
    for metric in &config.metrics {
        let data = fetch_metric(metric, source, start, end, vars).await?;
        set.metrics.insert(metric.name.clone(), data);
    }
    Ok(set)
}

/// An arm whose every source is a query, as the source's query shape.
fn as_query(spec: &ArmSpec) -> Option<ArmQuery> {
    let q = |s: &SeriesSource| match s {
        SeriesSource::Query(q) => Some(q.clone()),
        _ => None,
    };
    match spec {
        ArmSpec::Values {
            series,
            traffic: None,
        } => q(series).map(ArmQuery::Values),
        ArmSpec::Values { .. } => None,
        ArmSpec::Counts { events, traffic } => Some(ArmQuery::Counts {
            events: q(events)?,
            traffic: q(traffic)?,
        }),
        ArmSpec::Histogram(h) => q(h).map(ArmQuery::Histogram),
    }
}

fn to_arm_data(series: Series) -> ArmData {
    match series {
        Series::Values(v) => ArmData::values(v.points.into_iter().map(|(_, v)| v).collect()),
        Series::Counts(c) => {
            let (events, traffic) = c.points.iter().map(|p| (p.events, p.traffic)).unzip();
            ArmData::Counts(CountSeries { events, traffic })
        }
        Series::Histogram(h) => ArmData::Histogram(HistogramSeries {
            bounds: h.bounds,
            intervals: h.points.into_iter().map(|(_, counts)| counts).collect(),
        }),
    }
}

async fn fetch_metric(
    metric: &Metric,
    source: &PrometheusSource,
    start: i64,
    end: i64,
    vars: &BTreeMap<String, String>,
) -> Result<MetricData, FetchError> {
    let prom_err = |arm: &str, e: PromError| FetchError::Prometheus {
        metric: metric.name.clone(),
        arm: arm.to_string(),
        source: e,
    };
    let canary_q = as_query(&metric.canary);
    let baseline_q = metric.baseline.as_ref().and_then(as_query);
    // Both arms as queries: one call so they share the grid.
    if let (Some(c), Some(b)) = (&canary_q, &baseline_q) {
        let queries = MetricQueries {
            canary: c.clone(),
            baseline: Some(b.clone()),
            vars: vars.clone(),
            step: None,
        };
        return match source.fetch_metric(&queries, start, end).await {
            Ok(s) => Ok(MetricData {
                canary: Some(to_arm_data(s.canary)),
                baseline: s.baseline.map(to_arm_data),
            }),
            // One arm empty: fetch each alone so the other arm's data (and errors) still show.
            Err(e) if e.is_no_data() => Ok(MetricData {
                canary: fetch_arm(metric, "canary", &metric.canary, source, start, end, vars)
                    .await?,
                baseline: fetch_arm(metric, "baseline", b_spec(metric), source, start, end, vars)
                    .await?,
            }),
            Err(e) => Err(prom_err("canary/baseline", e)),
        };
    }
    let canary = fetch_arm(metric, "canary", &metric.canary, source, start, end, vars).await?;
    let baseline = match &metric.baseline {
        Some(spec) => fetch_arm(metric, "baseline", spec, source, start, end, vars).await?,
        None => None,
    };
    Ok(MetricData { canary, baseline })
}

fn b_spec(metric: &Metric) -> &ArmSpec {
    metric.baseline.as_ref().unwrap_or(&metric.canary)
}

/// One arm: `None` when a query returned no data.
async fn fetch_arm(
    metric: &Metric,
    arm: &str,
    spec: &ArmSpec,
    source: &PrometheusSource,
    start: i64,
    end: i64,
    vars: &BTreeMap<String, String>,
) -> Result<Option<ArmData>, FetchError> {
    if let Some(q) = as_query(spec) {
        let queries = MetricQueries {
            canary: q,
            baseline: None,
            vars: vars.clone(),
            step: None,
        };
        return match source.fetch_metric(&queries, start, end).await {
            Ok(s) => Ok(Some(to_arm_data(s.canary))),
            Err(e) if e.is_no_data() => Ok(None),
            Err(e) => Err(FetchError::Prometheus {
                metric: metric.name.clone(),
                arm: arm.to_string(),
                source: e,
            }),
        };
    }
    // Local sources, or a query series with a separate traffic source.
    let base = Path::new(".");
    let scalar =
        |which: &str, s: &SeriesSource| {
            let which = if which.is_empty() {
                arm.to_string()
            } else {
                format!("{arm}.{which}")
            };
            let s = s.clone();
            async move {
                match &s {
                    SeriesSource::Query(q) => {
                        let rendered = crate::source::prometheus::template::render(q, vars)
                            .map_err(|e| FetchError::Prometheus {
                                metric: metric.name.clone(),
                                arm: which.clone(),
                                source: PromError::Template(e),
                            })?;
                        match source.values(&rendered, start, end, None).await {
                            Ok(v) => Ok(Some(v.points.into_iter().map(|(_, v)| v).collect())),
                            Err(e) if e.is_no_data() => Ok(None),
                            Err(e) => Err(FetchError::Prometheus {
                                metric: metric.name.clone(),
                                arm: which,
                                source: e,
                            }),
                        }
                    }
                    other => other
                        .load_values(base)
                        .map(Some)
                        .map_err(|e| FetchError::Local {
                            metric: metric.name.clone(),
                            arm: which,
                            source: e,
                        }),
                }
            }
        };
    match spec {
        ArmSpec::Values { series, traffic } => {
            let Some(values) = scalar("", series).await? else {
                return Ok(None);
            };
            let traffic = match traffic {
                Some(t) => scalar("traffic", t).await?,
                None => None,
            };
            Ok(Some(ArmData::Values { values, traffic }))
        }
        ArmSpec::Counts { events, traffic } => {
            let (Some(e), Some(t)) = (
                scalar("events", events).await?,
                scalar("traffic", traffic).await?,
            ) else {
                return Ok(None);
            };
            if e.len() != t.len() {
                return Err(FetchError::Data {
                    metric: metric.name.clone(),
                    arm: arm.to_string(),
                    why: format!(
                        "events has {} intervals but traffic has {}",
                        e.len(),
                        t.len()
                    ),
                });
            }
            Ok(Some(ArmData::Counts(CountSeries {
                events: e,
                traffic: t,
            })))
        }
        ArmSpec::Histogram(h) => h
            .load_histogram(base)
            .map(|h| Some(ArmData::Histogram(h)))
            .map_err(|e| FetchError::Local {
                metric: metric.name.clone(),
                arm: format!("{arm}.histogram"),
                source: e,
            }),
    }
}
