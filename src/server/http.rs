//! The HTTP door (axum on tower): Flagger webhooks, the Prometheus-API facade, the JSON API
//! for Argo's `web` provider, and the health, version and metrics endpoints. Body limits,
//! timeouts, tracing and the version header are tower layers around the routes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::State;
use super::facade::{self, FacadeQuery};
use super::judge::{
    JudgeError, JudgeRequest, authenticate, credential_from_authorization, judge, now,
};
use crate::analysis::AnalysisConfig;
use crate::duration::parse_positive_duration;
use crate::stats::Verdict;

/// Builds the router with its layers.
pub fn router(state: Arc<State>) -> Router {
    let settings = state.config().settings.clone();
    let version = HeaderValue::from_str(&super::version_string()).ok();
    Router::new()
        .route("/flagger/rollout", post(flagger_rollout))
        .route("/flagger/pre-rollout", post(flagger_pre_rollout))
        .route(
            "/flagger/confirm-promotion",
            post(flagger_confirm_promotion),
        )
        .route("/api/v1/query", get(facade_query).post(facade_query))
        .route("/v1/analyze", post(analyze))
        .route("/healthz", get(live))
        .route("/livez", get(live))
        .route("/readyz", get(ready))
        .route("/version", get(version_doc))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            settings.analysis_timeout + Duration::from_secs(1),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::middleware::map_response(move |mut resp: Response| {
            let version = version.clone();
            async move {
                if let Some(v) = version {
                    resp.headers_mut().insert("x-app-version", v);
                }
                resp
            }
        }))
        .with_state(state)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut body = body.into();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

/// The token of the request's `Authorization` header, if any.
fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(credential_from_authorization)
}

fn judge_status(e: &JudgeError) -> StatusCode {
    match e {
        JudgeError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        JudgeError::PermissionDenied(_) => StatusCode::FORBIDDEN,
        JudgeError::Invalid(_) => StatusCode::BAD_REQUEST,
        JudgeError::UnknownTemplate(_) => StatusCode::NOT_FOUND,
        JudgeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        JudgeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
    }
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    text(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
    )
}

/// Checks `Content-Type` is JSON (absent is tolerated: curl users forget it).
fn require_json(headers: &HeaderMap) -> Result<(), String> {
    match headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or(""))
    {
        None => Ok(()),
        Some(ct) if ct.trim_start().starts_with("application/json") => Ok(()),
        Some(ct) => Err(format!("Content-Type must be application/json, got `{ct}`")),
    }
}

/// Flagger's `CanaryWebhookPayload`.
#[derive(Debug, Deserialize)]
struct FlaggerPayload {
    name: String,
    namespace: String,
    #[serde(default)]
    phase: String,
    #[serde(default)]
    checksum: String,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

async fn flagger_rollout(s: AxState<Arc<State>>, h: HeaderMap, b: Bytes) -> Response {
    flagger(s, h, b, "flagger-rollout").await
}
async fn flagger_pre_rollout(s: AxState<Arc<State>>, h: HeaderMap, b: Bytes) -> Response {
    flagger(s, h, b, "flagger-pre-rollout").await
}
async fn flagger_confirm_promotion(s: AxState<Arc<State>>, h: HeaderMap, b: Bytes) -> Response {
    flagger(s, h, b, "flagger-confirm-promotion").await
}

/// One Flagger webhook: pass → 200, fail → 403 with a one-line reason (Flagger shows 4xx
/// bodies in its events and passes only status ≤ 202), inconclusive → configurable.
async fn flagger(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
    door: &'static str,
) -> Response {
    if let Err(e) = require_json(&headers) {
        return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, e);
    }
    let payload: FlaggerPayload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("malformed Flagger payload: {e}"),
            );
        }
    };
    let mut vars = payload.metadata.clone();
    // Flagger cannot send headers on webhooks, so its token may come as metadata; it is
    // never a template variable.
    let credential = bearer(&headers).or_else(|| vars.remove("token"));
    if let Err(e) = authenticate(&state.config(), credential.as_deref()) {
        return text(judge_status(&e), format!("canary-judge error: {e}"));
    }
    let Some(template) = vars.remove("template") else {
        return text(
            StatusCode::BAD_REQUEST,
            "webhook metadata has no `template` key naming the analysis template",
        );
    };
    let lookback = match vars.remove("lookback") {
        Some(l) => match parse_positive_duration(&l) {
            Ok(d) => Some(d),
            Err(_) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("metadata lookback `{l}` is not a duration (e.g. 10m)"),
                );
            }
        },
        None => None,
    };
    vars.entry("name".into())
        .or_insert_with(|| payload.name.clone());
    vars.entry("namespace".into())
        .or_insert_with(|| payload.namespace.clone());
    let settings = state.config().settings.clone();
    let end = now();
    let first_seen =
        state.remember_start(&payload.namespace, &payload.name, &payload.checksum, end);
    let extra = lookback.unwrap_or(settings.webhook_lookback);
    let start = first_seen.saturating_sub(i64::try_from(extra.as_secs()).unwrap_or(0));
    tracing::info!(door, name = %payload.name, namespace = %payload.namespace, phase = %payload.phase, template, start, end, "flagger webhook");
    let req = JudgeRequest {
        template: Some(template),
        vars,
        start: Some(start),
        end: Some(end),
        credential,
        ..Default::default()
    };
    match judge(&state, door, req).await {
        Ok(j) => {
            let mut reason = one_line(&j.report.reason);
            let failing: Vec<String> = j
                .report
                .metrics
                .iter()
                .filter(|m| m.decision.verdict == Verdict::Fail)
                .map(|m| format!("{} ({})", m.name, one_line(&m.decision.reason)))
                .collect();
            if j.report.verdict == Verdict::Fail && !failing.is_empty() {
                reason = format!("{reason}; failing: {}", failing.join("; "));
            }
            match j.report.verdict {
                Verdict::Pass => text(StatusCode::OK, format!("pass: {reason}")),
                Verdict::Fail => text(
                    StatusCode::FORBIDDEN,
                    format!("canary-judge fail: {reason}"),
                ),
                Verdict::Inconclusive => text(
                    StatusCode::from_u16(settings.inconclusive_status).unwrap_or(StatusCode::OK),
                    format!("inconclusive: {reason}"),
                ),
            }
        }
        Err(e) => text(judge_status(&e), format!("canary-judge error: {e}")),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Prometheus' error envelope, which both Flagger and client_golang print.
fn prom_error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({"status": "error", "errorType": kind, "error": message.into()})),
    )
        .into_response()
}

/// `GET|POST /api/v1/query`: answers the facade language as a one-sample vector.
async fn facade_query(
    AxState(state): AxState<Arc<State>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let mut params: Vec<(String, String)> = raw
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if method == Method::POST {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !body.is_empty() && !ct.starts_with("application/x-www-form-urlencoded") {
            return prom_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_data",
                format!("POST body must be application/x-www-form-urlencoded, got `{ct}`"),
            );
        }
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(query) = get("query") else {
        return prom_error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "missing parameter `query`",
        );
    };
    let eval_time = match get("time") {
        Some(t) => match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                return prom_error(
                    StatusCode::BAD_REQUEST,
                    "bad_data",
                    format!("time `{t}` is not Unix seconds"),
                );
            }
        },
        None => None,
    };
    let ts = eval_time.unwrap_or_else(|| now() as f64);
    let parsed = match facade::parse(&query) {
        Ok(p) => p,
        Err(e) => return prom_error(StatusCode::BAD_REQUEST, "bad_data", e.to_string()),
    };
    let vector = |labels: serde_json::Value, v: f64| {
        axum::Json(json!({
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": labels, "value": [ts, format_value(v)]}]}
        }))
        .into_response()
    };
    let (score, mut labels) = match parsed {
        FacadeQuery::Constant(v) => return vector(json!({}), v),
        FacadeQuery::Judge { score, labels } => (score, labels),
    };
    let template = labels.remove("template");
    let mut req = JudgeRequest {
        template: template.clone(),
        credential: bearer(&headers),
        ..Default::default()
    };
    if let Some(l) = labels.remove("lookback") {
        match parse_positive_duration(&l) {
            Ok(d) => req.lookback = Some(d),
            Err(_) => {
                return prom_error(
                    StatusCode::BAD_REQUEST,
                    "bad_data",
                    format!("lookback `{l}` is not a duration"),
                );
            }
        }
    }
    for key in ["start", "end"] {
        if let Some(v) = labels.remove(key) {
            match v.parse::<i64>() {
                Ok(n) if key == "start" => req.start = Some(n),
                Ok(n) => req.end = Some(n),
                Err(_) => {
                    return prom_error(
                        StatusCode::BAD_REQUEST,
                        "bad_data",
                        format!("{key} `{v}` is not Unix seconds"),
                    );
                }
            }
        }
    }
    if req.end.is_none() {
        req.end = eval_time.map(|t| t as i64);
    }
    req.vars = labels;
    let settings = state.config().settings.clone();
    match judge(&state, "prometheus-facade", req).await {
        Ok(j) => {
            let verdict = j.report.verdict.as_str();
            let value = if score {
                j.report.score.unwrap_or(match j.report.verdict {
                    Verdict::Pass => 100.0,
                    Verdict::Fail => 0.0,
                    Verdict::Inconclusive => 50.0,
                })
            } else {
                match j.report.verdict {
                    Verdict::Pass => 1.0,
                    Verdict::Fail => 0.0,
                    Verdict::Inconclusive => settings.facade_inconclusive_value,
                }
            };
            let name = if score {
                "canary_judge_score"
            } else {
                "canary_judge"
            };
            vector(
                json!({"__name__": name, "template": template.unwrap_or_default(), "verdict": verdict}),
                value,
            )
        }
        Err(e) => {
            let (status, kind) = match &e {
                JudgeError::Invalid(_) | JudgeError::UnknownTemplate(_) => {
                    (judge_status(&e), "bad_data")
                }
                JudgeError::Timeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
                JudgeError::Unauthenticated(_) | JudgeError::PermissionDenied(_) => {
                    (judge_status(&e), "unauthorized")
                }
                _ => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            };
            prom_error(status, kind, e.to_string())
        }
    }
}

/// Prometheus' sample formatting: integers without a fraction, NaN/Inf spelled its way.
fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// `POST /v1/analyze` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyzeBody {
    #[serde(default)]
    template: Option<String>,
    /// An inline config: a JSON object, or a YAML/JSON string.
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default)]
    start: Option<i64>,
    #[serde(default)]
    end: Option<i64>,
    #[serde(default)]
    lookback: Option<String>,
}

/// `POST /v1/analyze`: JSON in, JSON out (Argo's `web` provider reads `verdict`).
async fn analyze(AxState(state): AxState<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = require_json(&headers) {
        return json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, e);
    }
    let b: AnalyzeBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("malformed request body: {e}"),
            );
        }
    };
    let config = match b.config {
        None => None,
        Some(serde_json::Value::String(s)) => match AnalysisConfig::from_str_auto(&s) {
            Ok(c) => Some(c),
            Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("config: {e}")),
        },
        Some(v) => match AnalysisConfig::from_json_str(&v.to_string()) {
            Ok(c) => Some(c),
            Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("config: {e}")),
        },
    };
    let lookback = match b.lookback {
        Some(l) => match parse_positive_duration(&l) {
            Ok(d) => Some(d),
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    format!("lookback `{l}` is not a duration (e.g. 10m)"),
                );
            }
        },
        None => None,
    };
    let req = JudgeRequest {
        template: b.template,
        config,
        vars: b.vars,
        start: b.start,
        end: b.end,
        lookback,
        credential: bearer(&headers),
    };
    match judge(&state, "http-analyze", req).await {
        Ok(j) => {
            let mut doc = serde_json::to_value(&j.report).unwrap_or_else(|_| json!({}));
            if let Some(obj) = doc.as_object_mut() {
                obj.insert("start".into(), json!(j.start));
                obj.insert("end".into(), json!(j.end));
            }
            axum::Json(doc).into_response()
        }
        Err(e) => json_error(judge_status(&e), e.to_string()),
    }
}

async fn live() -> Response {
    text(StatusCode::OK, "ok")
}

/// Ready when not shutting down, the config is loaded and Prometheus (if any) answers.
async fn ready(AxState(state): AxState<Arc<State>>) -> Response {
    match state.readiness().await {
        Ok(()) => text(StatusCode::OK, "ready"),
        Err(why) => text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}")),
    }
}

async fn version_doc() -> Response {
    axum::Json(super::version_json()).into_response()
}

async fn metrics(AxState(state): AxState<Arc<State>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
