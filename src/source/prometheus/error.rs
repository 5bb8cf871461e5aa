//! Everything that can go wrong between a query template and a clean series. Every message
//! names the Prometheus address and the cause, so an AnalysisRun's error says what to fix;
//! none contains a token or password (they are never formatted anywhere).

use std::time::Duration;

use thiserror::Error;

use super::template::TemplateError;

/// Error from the Prometheus source. [`PrometheusError::NoData`] is a distinct variant so the
/// engine can apply the metric's no-data policy (inconclusive by default) instead of
/// treating it as a provider error.
#[derive(Debug, Error)]
pub enum PrometheusError {
    /// The source config is unusable (bad address, unreadable secret file, bad CA file).
    #[error("prometheus source config: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// The query template could not be rendered.
    #[error("prometheus query template: {0}")]
    Template(#[from] TemplateError),
    /// `start` after `end`, or a zero step.
    #[error("prometheus {address}: invalid query window: {message}")]
    InvalidWindow {
        /// Prometheus base URL.
        address: String,
        /// What is wrong.
        message: String,
    },
    /// The range query would exceed the point limit; refused before sending.
    #[error(
        "prometheus {address}: range query refused before sending: {intervals} steps of {step:?} \
         from {start} to {end} exceed the limit of {max} points per series (raise `step` or \
         shorten the analysis)"
    )]
    TooManyPoints {
        /// Prometheus base URL.
        address: String,
        /// `(end - start) / step`.
        intervals: u64,
        /// The limit applied.
        max: u64,
        /// The step.
        step: Duration,
        /// Start, Unix seconds.
        start: i64,
        /// End, Unix seconds.
        end: i64,
    },
    /// Connection refused, DNS failure, TLS failure: nothing was answered.
    #[error("prometheus {address} unreachable: {cause}")]
    Unreachable {
        /// Prometheus base URL.
        address: String,
        /// Cause chain, e.g. "Connection refused (os error 111)".
        cause: String,
    },
    /// No complete answer within the configured per-query timeout.
    #[error("prometheus {address}: no answer within the per-query timeout of {timeout:?}")]
    Timeout {
        /// Prometheus base URL.
        address: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// HTTP error status, or `status: error` in the API envelope.
    #[error("prometheus {address}: HTTP {status}: {error_type}: {error}")]
    Api {
        /// Prometheus base URL.
        address: String,
        /// HTTP status code.
        status: u16,
        /// Prometheus' `errorType` (e.g. `bad_data`), or `unknown` if the body had none.
        error_type: String,
        /// Prometheus' `error` message, or the start of the body.
        error: String,
    },
    /// The body is not the Prometheus API JSON.
    #[error(
        "prometheus {address}: HTTP {status}: response is not Prometheus API JSON ({cause}); body starts with {snippet:?}"
    )]
    Garbage {
        /// Prometheus base URL.
        address: String,
        /// HTTP status code.
        status: u16,
        /// Parser message.
        cause: String,
        /// First 200 characters of the body.
        snippet: String,
    },
    /// A result type other than the one the call needs (e.g. scalar where matrix expected).
    #[error("prometheus {address}: query {query:?} returned a {got} result, expected {expected}")]
    UnexpectedResultType {
        /// Prometheus base URL.
        address: String,
        /// The rendered query.
        query: String,
        /// `scalar`, `vector`, `string`, ...
        got: String,
        /// What the call needed.
        expected: &'static str,
    },
    /// A NaN or ±Inf sample under a policy that makes it an error.
    #[error("prometheus {address}: query {query:?} returned {value} at {timestamp} for {labels}")]
    NonFinite {
        /// Prometheus base URL.
        address: String,
        /// The rendered query.
        query: String,
        /// Sample time, Unix seconds.
        timestamp: f64,
        /// `NaN`, `inf` or `-inf`.
        value: f64,
        /// Series labels, `{a="b"}` form.
        labels: String,
    },
    /// The query returned no series at all (or only points dropped as missing).
    #[error("prometheus {address}: query {query:?} returned no data between {start} and {end}")]
    NoData {
        /// Prometheus base URL.
        address: String,
        /// The rendered query.
        query: String,
        /// Start, Unix seconds.
        start: i64,
        /// End, Unix seconds.
        end: i64,
    },
    /// More series than the call can use (one expected, or one per `le`).
    #[error(
        "prometheus {address}: query {query:?} returned {count} series where {expected} was \
         expected (aggregate with sum(...) or sum by (le) (...)): {labels}"
    )]
    MultipleSeries {
        /// Prometheus base URL.
        address: String,
        /// The rendered query.
        query: String,
        /// Number of series returned.
        count: usize,
        /// What was expected.
        expected: &'static str,
        /// Label sets of up to 5 series.
        labels: String,
    },
    /// A histogram bucket query whose series do not form a histogram.
    #[error("prometheus {address}: histogram query {query:?}: {message}")]
    Histogram {
        /// Prometheus base URL.
        address: String,
        /// The rendered query.
        query: String,
        /// What is wrong (missing `le`, no `+Inf` bucket, ...).
        message: String,
    },
}

impl PrometheusError {
    /// True for the empty-result case, which the engine maps to its no-data policy.
    pub fn is_no_data(&self) -> bool {
        matches!(self, PrometheusError::NoData { .. })
    }
}
