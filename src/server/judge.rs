//! The one analysis path every door of the service shares: resolve the template (or an
//! inline config), settle the window, fetch the series, run the engine, all inside the
//! configured time budget; and the error kinds each door maps to its own status codes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::fetch::fetch_series;
use crate::analysis::resolve_window;
use crate::analysis::{AnalysisConfig, AnalysisReport, SeriesSet, evaluate};
use crate::duration::parse_time;
use crate::source::catalog::Origin;
use crate::source::prometheus::PrometheusSource;

use super::State;
use super::config::{Caller, ServeConfig};

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
    /// No token, or one the service does not know (HTTP 401, gRPC Unauthenticated).
    #[error("{0}")]
    Unauthenticated(String),
    /// A known caller asked for a template or source it may not use (HTTP 403, gRPC
    /// PermissionDenied).
    #[error("{0}")]
    PermissionDenied(String),
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
        JudgeError::Unauthenticated(
            "a bearer token is required (Authorization: Bearer TOKEN)".to_string(),
        )
    })?;
    cfg.caller(token)
        .map(Some)
        .ok_or_else(|| JudgeError::Unauthenticated("the bearer token is not recognised".into()))
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

async fn run(cfg: &ServeConfig, mut req: JudgeRequest) -> Result<Judged, JudgeError> {
    let caller = authenticate(cfg, req.credential.as_deref())?;
    let who = caller.as_ref().map(|c| c.name.as_str()).unwrap_or("");
    if let (Some(c), Some(allowed)) = (&caller, caller.as_ref().and_then(|c| c.templates.as_ref()))
    {
        match &req.template {
            Some(t) if !allowed.contains(t) => {
                return Err(JudgeError::PermissionDenied(format!(
                    "caller `{}` may not use template `{t}`",
                    c.name
                )));
            }
            None => {
                return Err(JudgeError::PermissionDenied(format!(
                    "caller `{}` may only name templates ({}), not send a config",
                    c.name,
                    allowed.iter().cloned().collect::<Vec<_>>().join(", ")
                )));
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
    let (start, end) = window(&config, &req, cfg.settings.lookback)?;
    let needs_source =
        config.has_queries() || config.source.is_some() || config.prometheus.is_some();
    let chosen = if needs_source {
        let (name, c) = cfg
            .catalog
            .choose(
                config.source.as_deref(),
                config.prometheus.as_ref(),
                origin,
                None,
            )
            .map_err(|e| JudgeError::Invalid(e.to_string()))?;
        if let (Some(c), Some(allowed), Some(n)) = (
            &caller,
            caller.as_ref().and_then(|c| c.sources.as_ref()),
            name.as_ref(),
        ) && !allowed.contains(n)
        {
            return Err(JudgeError::PermissionDenied(format!(
                "caller `{}` may not use data source `{n}`",
                c.name
            )));
        }
        Some(c)
    } else {
        None
    };
    if !who.is_empty() {
        tracing::debug!(caller = who, "authenticated");
    }
    let series = match chosen {
        Some(c) if config.has_queries() => {
            let source =
                PrometheusSource::new(&c).map_err(|e| JudgeError::Invalid(e.to_string()))?;
            fetch_series(&config, &source, start, end, &req.vars)
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
                })?
        }
        _ => load_local(&config)?,
    };
    let report = evaluate(&config, &series);
    Ok(Judged { report, start, end })
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
            parse_time(t, now).map_err(|e| JudgeError::Invalid(format!("window.until: {e}")))?
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
            .map_err(|e| JudgeError::Invalid(e.to_string()))?;
            s
        }
    };
    if start > end {
        return Err(JudgeError::Invalid(format!(
            "window start {start} is after end {end}"
        )));
    }
    Ok((start, end))
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
