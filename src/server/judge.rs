//! The one analysis path every door of the service shares: resolve the template (or an
//! inline config), settle the window, fetch the series, run the engine, all inside the
//! configured time budget; and the error kinds each door maps to its own status codes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::fetch::fetch_series;
use crate::analysis::{AnalysisConfig, AnalysisReport, SeriesSet, evaluate};

use super::State;
use super::config::ServeConfig;

/// What a door asks for.
#[derive(Debug, Clone, Default)]
pub struct JudgeRequest {
    /// A template name from the config …
    pub template: Option<String>,
    /// … or an inline config (already validated).
    pub config: Option<AnalysisConfig>,
    /// Template variables.
    pub vars: BTreeMap<String, String>,
    /// Window start (Unix seconds), if given.
    pub start: Option<i64>,
    /// Window end (Unix seconds), if given; default now.
    pub end: Option<i64>,
    /// Window length when `start` is not given; default the server's `lookback`.
    pub lookback: Option<Duration>,
}

/// The engine's report with the window it covered.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The report.
    pub report: AnalysisReport,
    /// Window start (Unix seconds).
    pub start: i64,
    /// Window end (Unix seconds).
    pub end: i64,
}

/// Why a door could not answer with a verdict. Doors map these to HTTP and gRPC codes.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// Bad config, window, variables or body (HTTP 400, gRPC InvalidArgument).
    #[error("{0}")]
    Invalid(String),
    /// Unknown template (HTTP 404, gRPC NotFound).
    #[error("unknown template `{0}`")]
    UnknownTemplate(String),
    /// Prometheus down or failing (HTTP 503, gRPC Unavailable).
    #[error("{0}")]
    Unavailable(String),
    /// The analysis ran out of time (HTTP 504, gRPC DeadlineExceeded).
    #[error("analysis did not finish within {0:?}")]
    Timeout(Duration),
}

/// Current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Runs one analysis for a door (`door` labels the metrics).
pub async fn judge(
    state: &Arc<State>,
    door: &'static str,
    req: JudgeRequest,
) -> Result<Judged, JudgeError> {
    let cfg = state.config();
    let started = Instant::now();
    let _in_flight = state.metrics.in_flight_guard();
    let budget = cfg.settings.analysis_timeout;
    let result = match tokio::time::timeout(budget, run(&cfg, req)).await {
        Ok(r) => r,
        Err(_) => Err(JudgeError::Timeout(budget)),
    };
    state.metrics.observe(
        door,
        result.as_ref().map(|j| j.report.verdict),
        started.elapsed(),
    );
    if let Err(JudgeError::Unavailable(_) | JudgeError::Timeout(_)) = &result {
        state.metrics.prometheus_error();
    }
    result
}

async fn run(cfg: &ServeConfig, req: JudgeRequest) -> Result<Judged, JudgeError> {
    let config = match (&req.template, req.config) {
        (Some(_), Some(_)) => {
            return Err(JudgeError::Invalid(
                "give either `template` or `config`, not both".into(),
            ));
        }
        (Some(name), None) => cfg
            .templates
            .get(name)
            .cloned()
            .ok_or_else(|| JudgeError::UnknownTemplate(name.clone()))?,
        (None, Some(c)) => {
            // A client's config must not make the server read its own disk.
            if let Some(f) = crate::analysis::file_sources(&c).first() {
                return Err(JudgeError::Invalid(format!(
                    "metric `{}` {}: `file: {}` is not accepted in a request's config (it \
                     would be read from the server's disk); send `values` inline or name a \
                     template from the server config",
                    f.metric,
                    f.arm,
                    f.path.display()
                )));
            }
            c
        }
        (None, None) => {
            return Err(JudgeError::Invalid(
                "no analysis named: give `template` (a name from the server config) or `config`"
                    .into(),
            ));
        }
    };
    let end = req.end.unwrap_or_else(now);
    let lookback = req.lookback.unwrap_or(cfg.settings.lookback);
    let start = req.start.unwrap_or_else(|| {
        end.saturating_sub(i64::try_from(lookback.as_secs()).unwrap_or(i64::MAX))
    });
    if start > end {
        return Err(JudgeError::Invalid(format!(
            "window start {start} is after end {end}"
        )));
    }
    let series = match &cfg.prometheus {
        Some(source) => fetch_series(&config, source, start, end, &req.vars)
            .await
            .map_err(|e| {
                if e.is_timeout() || e.is_unavailable() {
                    JudgeError::Unavailable(e.to_string())
                } else if e.is_config() {
                    JudgeError::Invalid(e.to_string())
                } else {
                    // API errors, garbage, no-data shapes: the server answered but not usefully.
                    JudgeError::Unavailable(e.to_string())
                }
            })?,
        None => load_local(&config)?,
    };
    let report = evaluate(&config, &series);
    Ok(Judged { report, start, end })
}

/// Without a Prometheus block only inline values and files can be judged.
fn load_local(config: &AnalysisConfig) -> Result<SeriesSet, JudgeError> {
    crate::analysis::load_series(config, std::path::Path::new(".")).map_err(|e| {
        if e.is_data_source() {
            JudgeError::Unavailable(format!("{e} (no `prometheus:` block in the server config)"))
        } else {
            JudgeError::Invalid(e.to_string())
        }
    })
}
