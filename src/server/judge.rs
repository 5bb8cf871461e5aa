//! The one analysis path every door of the service shares: resolve the template (or an
//! inline config), settle the window, fetch the series, run the engine, all inside the
//! configured time budget; and the error kinds each door maps to its own status codes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::fetch::{Fetched, fetch_detailed};
use crate::analysis::window::WindowError;
use crate::analysis::{AnalysisConfig, AnalysisError, AnalysisReport, ConfigError, SeriesSet};
use crate::analysis::{FetchError, evaluate, resolve_window};
use crate::duration::{TimeError, parse_time};
use crate::source::catalog::{Origin, SourceChoiceError};
use crate::source::prometheus::{PrometheusError, PrometheusSource};
use crate::stats::Verdict;

use super::State;
use super::cluster::CanaryWindowError;
use super::config::{Caller, ServeConfig};
use super::recent::RecentAnalysis;

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
    /// The bearer token the caller presented (HTTP `Authorization`, gRPC `authorization`
    /// metadata, or a Flagger webhook's `token` metadata key), checked when `auth:` is set.
    pub credential: Option<String>,
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
    /// The analysis that was judged (for the look-by-look report).
    pub config: AnalysisConfig,
    /// The data it was judged on, with what was fetched (queries, step) when it came from
    /// Prometheus.
    pub data: JudgedData,
}

/// The data of one judgement: fetched from Prometheus, or inline values of the config.
#[derive(Debug, Clone)]
pub enum JudgedData {
    /// From Prometheus, with the queries and the grid step.
    Fetched(Fetched),
    /// The config's own values.
    Local(SeriesSet),
}

impl JudgedData {
    /// The series the engine saw.
    pub fn series(&self) -> &SeriesSet {
        match self {
            JudgedData::Fetched(f) => &f.series,
            JudgedData::Local(s) => s,
        }
    }
}

/// What kind of answer a door gives for a [`JudgeError`]: each door maps a kind to its own
/// code (HTTP status, gRPC status, Prometheus `errorType`), so the mapping lives in one match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JudgeErrorKind {
    /// The request or config is wrong (HTTP 400, gRPC InvalidArgument).
    Invalid,
    /// The template does not exist (HTTP 404, gRPC NotFound).
    NotFound,
    /// Prometheus is down or failing (HTTP 503, gRPC Unavailable).
    Unavailable,
    /// Out of time (HTTP 504, gRPC DeadlineExceeded).
    Timeout,
    /// No or unknown token (HTTP 401, gRPC Unauthenticated).
    Unauthenticated,
    /// A known caller asked for something it may not use (HTTP 403, gRPC PermissionDenied).
    PermissionDenied,
    /// A bug: the engine's task ended without an answer (HTTP 500, gRPC Internal).
    Internal,
}

/// Why a door could not answer with a verdict. [`JudgeError::kind`] says which code it gets.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// An inline config that does not parse or validate.
    #[error("config: {0}")]
    Config(#[source] ConfigError),
    /// Both a template name and an inline config.
    #[error("give either `template` or `config`, not both")]
    TemplateAndConfig,
    /// Neither a template name nor an inline config.
    #[error("no analysis named: give `template` (a name from the server config) or `config`")]
    NoAnalysis,
    /// A client's config names a file, which would be read from the server's disk.
    #[error(
        "metric `{metric}` {arm}: `file: {}` is not accepted in a request's config (it would \
         be read from the server's disk); send `values` inline or name a template from the \
         server config",
        path.display()
    )]
    FileSource {
        /// Metric name.
        metric: String,
        /// Arm (and series) naming the file.
        arm: String,
        /// The path as written.
        path: std::path::PathBuf,
    },
    /// A request field is malformed (lookback, start, end, variables).
    #[error("{field} `{value}` is not {expected}")]
    Field {
        /// Which field.
        field: &'static str,
        /// What was sent.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// The window cannot be resolved or is inverted.
    #[error("{0}")]
    Window(#[source] WindowProblem),
    /// The config asks for a data source it may not use.
    #[error(transparent)]
    SourceChoice(#[from] SourceChoiceError),
    /// The chosen Prometheus cannot be set up (bad address, TLS files, ...).
    #[error(transparent)]
    PrometheusConfig(#[from] PrometheusError),
    /// Fetching from Prometheus failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Inline values or files could not be loaded.
    #[error("{}{}", .0, local_hint(.0))]
    Local(#[source] AnalysisError),
    /// Unknown template.
    #[error("unknown template `{0}`")]
    UnknownTemplate(String),
    /// The engine's task ended without an answer (a panic: a bug).
    #[error("internal error while judging: {0}")]
    Engine(#[source] tokio::task::JoinError),
    /// The analysis ran out of time.
    #[error("analysis did not finish within {0:?}")]
    Timeout(Duration),
    /// No token, or one the service does not know.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A Flagger analysis's start could not be read from its Canary.
    #[error(transparent)]
    CanaryWindow(#[from] super::cluster::CanaryWindowError),
    /// A known caller asked for a template or source it may not use.
    #[error("caller `{caller}` {refused}")]
    PermissionDenied {
        /// The caller's name from the config.
        caller: String,
        /// What it may not do (`may not use template `x``, ...).
        refused: String,
    },
}

/// Why a window is unusable: the resolver's error, or the server's own checks.
#[derive(Debug, thiserror::Error)]
pub enum WindowProblem {
    /// `window.until` of the template is not a time.
    #[error("window.until: {0}")]
    Until(#[source] TimeError),
    /// The template's `window:` block cannot be resolved.
    #[error(transparent)]
    Resolve(#[from] WindowError),
    /// Start after end.
    #[error("window start {start} is after end {end}")]
    Inverted {
        /// Start (Unix seconds).
        start: i64,
        /// End (Unix seconds).
        end: i64,
    },
}

/// Said after a data-source failure of a template without Prometheus: where to look.
fn local_hint(e: &AnalysisError) -> &'static str {
    if e.is_data_source() {
        " (no `prometheus:` block in the server config)"
    } else {
        ""
    }
}

impl JudgeError {
    /// Which kind of answer this error gets at every door.
    pub fn kind(&self) -> JudgeErrorKind {
        match self {
            JudgeError::Config(_)
            | JudgeError::TemplateAndConfig
            | JudgeError::NoAnalysis
            | JudgeError::FileSource { .. }
            | JudgeError::Field { .. }
            | JudgeError::Window(_)
            | JudgeError::SourceChoice(_)
            | JudgeError::PrometheusConfig(_) => JudgeErrorKind::Invalid,
            // Timeouts, unreachable servers and answers that are no use (API errors, garbage,
            // no-data shapes) are the server's health; template, window and shape problems
            // are the request's.
            JudgeError::Fetch(e) if e.is_config() && !e.is_timeout() && !e.is_unavailable() => {
                JudgeErrorKind::Invalid
            }
            JudgeError::Fetch(_) => JudgeErrorKind::Unavailable,
            JudgeError::Local(e) if e.is_data_source() => JudgeErrorKind::Unavailable,
            JudgeError::Local(_) => JudgeErrorKind::Invalid,
            JudgeError::UnknownTemplate(_) => JudgeErrorKind::NotFound,
            JudgeError::Timeout(_) => JudgeErrorKind::Timeout,
            JudgeError::Unauthenticated(_) => JudgeErrorKind::Unauthenticated,
            JudgeError::PermissionDenied { .. } => JudgeErrorKind::PermissionDenied,
            JudgeError::Engine(_) => JudgeErrorKind::Internal,
            JudgeError::CanaryWindow(e) => match e {
                CanaryWindowError::NotFound { .. } => JudgeErrorKind::NotFound,
                CanaryWindowError::Status { .. } | CanaryWindowError::NeedsChecksum { .. } => {
                    JudgeErrorKind::Invalid
                }
                CanaryWindowError::Api { .. }
                | CanaryWindowError::ApiTimeout { .. }
                | CanaryWindowError::NoCluster(_) => JudgeErrorKind::Unavailable,
            },
        }
    }

    /// True when Prometheus failed or was too slow (counted in `/metrics`).
    pub fn is_prometheus_failure(&self) -> bool {
        !matches!(self, JudgeError::CanaryWindow(_))
            && matches!(
                self.kind(),
                JudgeErrorKind::Unavailable | JudgeErrorKind::Timeout
            )
    }
}

/// Checks the presented token against the config's callers; `Ok(None)` when the service
/// runs without `auth:`.
pub fn authenticate(
    cfg: &ServeConfig,
    credential: Option<&str>,
) -> Result<Option<Arc<Caller>>, JudgeError> {
    if cfg.callers.is_none() {
        return Ok(None);
    }
    let token = credential.filter(|t| !t.is_empty()).ok_or_else(|| {
        JudgeError::Unauthenticated("a bearer token is required (Authorization: Bearer TOKEN)")
    })?;
    cfg.caller(token)
        .map(Some)
        .ok_or(JudgeError::Unauthenticated(
            "the bearer token is not recognised",
        ))
}

/// The token in an `Authorization` header value: `Bearer TOKEN`, or the password of
/// `Basic base64(user:TOKEN)` (what Prometheus-API clients such as Flagger's send).
pub fn credential_from_authorization(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = decode_base64(rest.trim())?;
        let text = String::from_utf8(decoded).ok()?;
        return text.split_once(':').map(|(_, p)| p.to_string());
    }
    None
}

/// Standard base64 (with or without padding); `None` on anything else.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
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
    let named = req.template.clone().map(|t| (t, req.vars.clone()));
    let result = within_budget(state, door, run(&cfg, req), |j| j.report.verdict).await;
    if let Err(e) = &result
        && e.is_prometheus_failure()
    {
        state.metrics.prometheus_error();
    }
    // Analyses of named templates are listed at `/reports` (a client-sent config is not: its
    // report could not be opened again by name). The report page itself is not an analysis.
    if let (Ok(j), Some((template, vars))) = (&result, named)
        && door != "report"
    {
        state.recent.push(RecentAnalysis {
            at: now(),
            door,
            template,
            vars,
            start: j.start,
            end: j.end,
            verdict: j.report.verdict,
        });
    }
    result
}

/// Runs `work` as one analysis of `door`: counted in flight, bounded by the configured
/// `analysis_timeout`, and recorded in `/metrics` with its verdict (`verdict` reads it from
/// the result). Every door's work goes through here, so no door escapes the budget.
pub async fn within_budget<T>(
    state: &Arc<State>,
    door: &'static str,
    work: impl Future<Output = Result<T, JudgeError>>,
    verdict: impl Fn(&T) -> Verdict,
) -> Result<T, JudgeError> {
    let budget = state.config().settings.analysis_timeout;
    let started = Instant::now();
    let _in_flight = state.metrics.in_flight_guard();
    let result = match tokio::time::timeout(budget, work).await {
        Ok(r) => r,
        Err(_) => Err(JudgeError::Timeout(budget)),
    };
    state
        .metrics
        .observe(door, result.as_ref().map(&verdict), started.elapsed());
    result
}

async fn run(cfg: &ServeConfig, mut req: JudgeRequest) -> Result<Judged, JudgeError> {
    let caller = authenticate(cfg, req.credential.as_deref())?;
    let who = caller.as_ref().map(|c| c.name.as_str()).unwrap_or("");
    if let (Some(c), Some(allowed)) = (&caller, caller.as_ref().and_then(|c| c.templates.as_ref()))
    {
        match &req.template {
            Some(t) if !allowed.contains(t) => {
                return Err(JudgeError::PermissionDenied {
                    caller: c.name.clone(),
                    refused: format!("may not use template `{t}`"),
                });
            }
            None => {
                return Err(JudgeError::PermissionDenied {
                    caller: c.name.clone(),
                    refused: format!(
                        "may only name templates ({}), not send a config",
                        allowed.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            _ => {}
        }
    }
    let origin = if req.template.is_some() {
        Origin::Operator
    } else {
        Origin::Tenant
    };
    let config = match (&req.template, req.config.take()) {
        (Some(_), Some(_)) => return Err(JudgeError::TemplateAndConfig),
        (Some(name), None) => cfg
            .templates
            .get(name)
            .cloned()
            .ok_or_else(|| JudgeError::UnknownTemplate(name.clone()))?,
        (None, Some(c)) => {
            // A client's config must not make the server read its own disk.
            if let Some(f) = crate::analysis::file_sources(&c).into_iter().next() {
                return Err(JudgeError::FileSource {
                    metric: f.metric.to_string(),
                    arm: f.arm,
                    path: f.path.to_path_buf(),
                });
            }
            c
        }
        (None, None) => return Err(JudgeError::NoAnalysis),
    };
    let (start, end) = window(&config, &req, cfg.settings.lookback)?;
    let needs_source =
        config.has_queries() || config.source.is_some() || config.prometheus.is_some();
    let chosen = if needs_source {
        let (name, c) = cfg.catalog.choose(
            config.source.as_deref(),
            config.prometheus.as_ref(),
            origin,
            None,
        )?;
        if let (Some(c), Some(allowed), Some(n)) = (
            &caller,
            caller.as_ref().and_then(|c| c.sources.as_ref()),
            name.as_ref(),
        ) && !allowed.contains(n)
        {
            return Err(JudgeError::PermissionDenied {
                caller: c.name.clone(),
                refused: format!("may not use data source `{n}`"),
            });
        }
        Some(c)
    } else {
        None
    };
    if !who.is_empty() {
        tracing::debug!(caller = who, "authenticated");
    }
    let data = match chosen {
        Some(c) if config.has_queries() => {
            let source = PrometheusSource::new(&c)?;
            JudgedData::Fetched(
                fetch_detailed(
                    &config,
                    &source,
                    start,
                    end,
                    &req.vars,
                    std::path::Path::new("."),
                )
                .await?,
            )
        }
        _ => JudgedData::Local(load_local(&config)?),
    };
    let report = evaluate(&config, data.series());
    Ok(Judged {
        report,
        start,
        end,
        config,
        data,
    })
}

/// The window an analysis covers. The request's `start`/`end` win; then its `lookback`;
/// then the template's own `window:` block; then the server's `lookback`.
fn window(
    config: &AnalysisConfig,
    req: &JudgeRequest,
    server_lookback: Duration,
) -> Result<(i64, i64), JudgeError> {
    let now = now();
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let end = match (req.end, config.window.until.as_deref()) {
        (Some(e), _) => e,
        (None, Some(t)) => {
            parse_time(t, now).map_err(|e| JudgeError::Window(WindowProblem::Until(e)))?
        }
        (None, None) => now,
    };
    let start = match (req.start, req.lookback) {
        (Some(s), _) => s,
        (None, Some(lb)) => end.saturating_sub(secs(lb)),
        (None, None) => {
            let (s, _) = resolve_window(
                &config.window,
                None,
                Some(&end.to_string()),
                Some(end.saturating_sub(secs(server_lookback))),
                now,
            )
            .map_err(|e| JudgeError::Window(e.into()))?;
            s
        }
    };
    if start > end {
        return Err(JudgeError::Window(WindowProblem::Inverted { start, end }));
    }
    Ok((start, end))
}

/// Without a Prometheus block only inline values and files can be judged.
fn load_local(config: &AnalysisConfig) -> Result<SeriesSet, JudgeError> {
    crate::analysis::load_series(config, std::path::Path::new(".")).map_err(JudgeError::Local)
}
