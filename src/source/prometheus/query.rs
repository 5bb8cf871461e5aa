//! The query model of one metric: per arm (canary, baseline) a PromQL template of one of
//! three shapes (values, counts = events + traffic, histogram buckets), shared template
//! variables, and an optional step override. Both arms are queried on the same grid.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::duration::deserialize_opt_duration;
use super::series::{ArmGaps, CountSeries, HistogramSeries, ValueSeries};

/// What to fetch for one arm. YAML: `values: '<query>'`, `counts: {events: '<q>',
/// traffic: '<q>'}`, or `histogram: '<bucket query, grouped by le>'`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ArmQuery {
    /// One scalar per step, e.g. `histogram_quantile(0.99, sum by (le) (rate(...[1m])))`.
    Values(String),
    /// Events and traffic per disjoint interval, e.g. `sum(increase(errors_total[1m]))`
    /// and `sum(increase(requests_total[1m]))`.
    Counts {
        /// Events query (errors, crashes).
        events: String,
        /// Traffic query (requests); its absence is no data.
        traffic: String,
    },
    /// Bucket increments per `le`, e.g. `sum by (le) (increase(latency_bucket[1m]))`.
    Histogram(String),
}

impl ArmQuery {
    /// The shape's name for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            ArmQuery::Values(_) => "values",
            ArmQuery::Counts { .. } => "counts",
            ArmQuery::Histogram(_) => "histogram",
        }
    }

    /// The raw templates, for step derivation.
    pub fn templates(&self) -> Vec<&str> {
        match self {
            ArmQuery::Values(q) | ArmQuery::Histogram(q) => vec![q.as_str()],
            ArmQuery::Counts { events, traffic } => vec![events.as_str(), traffic.as_str()],
        }
    }
}

/// The queries of one metric.
///
/// ```yaml
/// canary:   {counts: {events: 'sum(increase(http_requests_total{track="{{canary}}",code=~"5.."}[1m]))',
///                     traffic: 'sum(increase(http_requests_total{track="{{canary}}"}[1m]))'}}
/// baseline: {counts: {events: '...{{baseline}}...', traffic: '...'}}
/// vars: {canary: canary, baseline: baseline}
/// step: 1m        # optional; default = widest range selector of the queries
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MetricQueries {
    /// Canary arm.
    pub canary: ArmQuery,
    /// Baseline arm; optional for threshold-only metrics.
    #[serde(default)]
    pub baseline: Option<ArmQuery>,
    /// Values for `{{name}}` placeholders.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Step override.
    #[serde(default, deserialize_with = "deserialize_opt_duration")]
    pub step: Option<Duration>,
}

/// One arm's fetched series.
#[derive(Debug, Clone, PartialEq)]
pub enum Series {
    /// From [`ArmQuery::Values`].
    Values(ValueSeries),
    /// From [`ArmQuery::Counts`].
    Counts(CountSeries),
    /// From [`ArmQuery::Histogram`].
    Histogram(HistogramSeries),
}

impl Series {
    /// Point timestamps of whichever shape.
    pub fn timestamps(&self) -> Vec<f64> {
        match self {
            Series::Values(s) => s.timestamps(),
            Series::Counts(s) => s.timestamps(),
            Series::Histogram(s) => s.timestamps(),
        }
    }
}

/// Both arms of a metric plus where their timestamps disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    /// Canary series.
    pub canary: Series,
    /// Baseline series, when the metric has a baseline query.
    pub baseline: Option<Series>,
    /// Timestamps present in only one arm (a series that stopped midway, a scrape gap).
    pub gaps: ArmGaps,
    /// The step used for both arms.
    pub step: Duration,
}
