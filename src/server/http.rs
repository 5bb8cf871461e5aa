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
use super::judge::{JudgeError, JudgeErrorKind, JudgeRequest};
use super::judge::{authenticate, credential_from_authorization, judge, now};
use crate::analysis::AnalysisConfig;
use crate::duration::parse_positive_duration;
use crate::report::link::{self, Subject};
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
        .route("/report", get(report))
        .route("/reports", get(reports))
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

/// Why an HTTP request got no verdict: its status, Prometheus' `errorType` (read by the
/// facade's clients) and the message. Request-shape problems are built here; analysis
/// failures come from a [`JudgeError`], whose kind decides the status at every door.
#[derive(Debug)]
struct HttpError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
    /// True when the analysis itself failed (not the request's shape).
    judged: bool,
}

impl HttpError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            error_type: "bad_data",
            message: message.into(),
            judged: false,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<JudgeError> for HttpError {
    fn from(e: JudgeError) -> Self {
        let (status, error_type) = match e.kind() {
            JudgeErrorKind::Invalid => (StatusCode::BAD_REQUEST, "bad_data"),
            JudgeErrorKind::NotFound => (StatusCode::NOT_FOUND, "bad_data"),
            JudgeErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            JudgeErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            JudgeErrorKind::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthorized"),
            JudgeErrorKind::PermissionDenied => (StatusCode::FORBIDDEN, "unauthorized"),
            JudgeErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        HttpError {
            status,
            error_type,
            message: e.to_string(),
            judged: true,
        }
    }
}

/// The body an error is written in: each route answers in the shape its caller reads.
trait Envelope {
    fn render(e: HttpError) -> Response;
}

/// Flagger webhooks: one line of text, which Flagger shows in the Canary's events.
struct PlainText;
impl Envelope for PlainText {
    fn render(e: HttpError) -> Response {
        if e.judged {
            text(e.status, format!("canary-judge error: {}", e.message))
        } else {
            text(e.status, e.message)
        }
    }
}

/// `/v1/analyze`: `{"error": message}`.
struct JsonBody;
impl Envelope for JsonBody {
    fn render(e: HttpError) -> Response {
        (e.status, axum::Json(json!({"error": e.message}))).into_response()
    }
}

/// The Prometheus-API facade: Prometheus' error envelope, which Flagger and client_golang
/// print; a timeout is 503 there, as Prometheus itself answers one.
struct PromApi;
impl Envelope for PromApi {
    fn render(e: HttpError) -> Response {
        let status = if e.error_type == "timeout" {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            e.status
        };
        (
            status,
            axum::Json(json!({"status": "error", "errorType": e.error_type, "error": e.message})),
        )
            .into_response()
    }
}

/// A handler's error in its route's envelope, so handlers use `?`.
struct Rejection<E>(HttpError, std::marker::PhantomData<E>);

impl<E: Envelope> IntoResponse for Rejection<E> {
    fn into_response(self) -> Response {
        E::render(self.0)
    }
}

impl<E> From<HttpError> for Rejection<E> {
    fn from(e: HttpError) -> Self {
        Rejection(e, std::marker::PhantomData)
    }
}

impl<E> From<JudgeError> for Rejection<E> {
    fn from(e: JudgeError) -> Self {
        HttpError::from(e).into()
    }
}

/// The token of the request's `Authorization` header, if any.
fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(credential_from_authorization)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    text(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
    )
}

/// Checks `Content-Type` is JSON (absent is tolerated: curl users forget it).
fn require_json(headers: &HeaderMap) -> Result<(), HttpError> {
    match headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or(""))
    {
        None => Ok(()),
        Some(ct) if ct.trim_start().starts_with("application/json") => Ok(()),
        Some(ct) => Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type must be application/json, got `{ct}`"),
        )),
    }
}

/// A positive duration field of a request (`lookback`), or a 400 naming it.
fn duration_field(value: &str, what: &str) -> Result<Duration, HttpError> {
    parse_positive_duration(value).map_err(|_| {
        HttpError::bad_request(format!("{what} `{value}` is not a duration (e.g. 10m)"))
    })
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

type WebhookAnswer = Result<Response, Rejection<PlainText>>;

async fn flagger_rollout(s: AxState<Arc<State>>, h: HeaderMap, b: Bytes) -> WebhookAnswer {
    flagger(s, h, b, "flagger-rollout").await
}
async fn flagger_pre_rollout(s: AxState<Arc<State>>, h: HeaderMap, b: Bytes) -> WebhookAnswer {
    flagger(s, h, b, "flagger-pre-rollout").await
}
async fn flagger_confirm_promotion(
    s: AxState<Arc<State>>,
    h: HeaderMap,
    b: Bytes,
) -> WebhookAnswer {
    flagger(s, h, b, "flagger-confirm-promotion").await
}

/// One Flagger webhook: pass → 200, fail → 403 with a one-line reason (Flagger shows 4xx
/// bodies in its events and passes only status ≤ 202), inconclusive → configurable.
async fn flagger(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
    door: &'static str,
) -> WebhookAnswer {
    require_json(&headers)?;
    let payload: FlaggerPayload = serde_json::from_slice(&body)
        .map_err(|e| HttpError::bad_request(format!("malformed Flagger payload: {e}")))?;
    let mut vars = payload.metadata.clone();
    // Flagger cannot send headers on webhooks, so its token may come as metadata; it is
    // never a template variable.
    let credential = bearer(&headers).or_else(|| vars.remove("token"));
    authenticate(&state.config(), credential.as_deref())?;
    let template = vars.remove("template").ok_or_else(|| {
        HttpError::bad_request(
            "webhook metadata has no `template` key naming the analysis template",
        )
    })?;
    let lookback = vars
        .remove("lookback")
        .map(|l| duration_field(&l, "metadata lookback"))
        .transpose()?;
    vars.entry("name".into())
        .or_insert_with(|| payload.name.clone());
    vars.entry("namespace".into())
        .or_insert_with(|| payload.namespace.clone());
    let settings = state.config().settings.clone();
    let end = now();
    let (analysis_start, from) = state
        .windows
        .analysis_start(
            &payload.namespace,
            &payload.name,
            Some(&payload.checksum),
            end,
        )
        .await
        .map_err(JudgeError::from)?;
    let extra = lookback.unwrap_or(settings.webhook_lookback);
    let start = analysis_start
        .min(end)
        .saturating_sub(i64::try_from(extra.as_secs()).unwrap_or(i64::MAX));
    let mut window = format!(
        "[window {start}/{end} ({}s) from {}]",
        end - start,
        from.as_str()
    );
    if let Some(base) = &settings.report_base_url {
        match link::url(base, Subject::Template(&template), start, end, &vars) {
            Ok(url) => window.push_str(&format!(" report: {url}")),
            Err(why) => window.push_str(&format!(" report: not linked ({why})")),
        }
    }
    tracing::info!(door, name = %payload.name, namespace = %payload.namespace, phase = %payload.phase, template, start, end, analysis_start, window_from = from.as_str(), "flagger webhook");
    let req = JudgeRequest {
        template: Some(template),
        vars,
        start: Some(start),
        end: Some(end),
        credential,
        ..Default::default()
    };
    let j = judge(&state, door, req).await?;
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
    Ok(match j.report.verdict {
        Verdict::Pass => text(StatusCode::OK, format!("pass: {reason} {window}")),
        Verdict::Fail => text(
            StatusCode::FORBIDDEN,
            format!("canary-judge fail: {reason} {window}"),
        ),
        // A confirm-promotion gate must not open on an undecided analysis: Flagger holds the
        // promotion (WaitingPromotion, checks go on) until it gets a 2xx, without counting a
        // failure.
        Verdict::Inconclusive if door == "flagger-confirm-promotion" => text(
            StatusCode::TOO_EARLY,
            format!("inconclusive: {reason}; promotion held until the analysis decides {window}"),
        ),
        Verdict::Inconclusive => text(
            StatusCode::from_u16(settings.inconclusive_status).unwrap_or(StatusCode::OK),
            format!("inconclusive: {reason} {window}"),
        ),
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `GET|POST /api/v1/query`: answers the facade language as a one-sample vector.
async fn facade_query(
    AxState(state): AxState<Arc<State>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, Rejection<PromApi>> {
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
            return Err(HttpError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("POST body must be application/x-www-form-urlencoded, got `{ct}`"),
            )
            .into());
        }
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let query = get("query").ok_or_else(|| HttpError::bad_request("missing parameter `query`"))?;
    let eval_time = match get("time") {
        Some(t) => match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                return Err(
                    HttpError::bad_request(format!("time `{t}` is not Unix seconds")).into(),
                );
            }
        },
        None => None,
    };
    let ts = eval_time.unwrap_or_else(|| now() as f64);
    let parsed = facade::parse(&query).map_err(|e| HttpError::bad_request(e.to_string()))?;
    let vector = |labels: serde_json::Value, v: f64| {
        axum::Json(json!({
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": labels, "value": [ts, format_value(v)]}]}
        }))
        .into_response()
    };
    let (score, mut labels) = match parsed {
        FacadeQuery::Constant(v) => return Ok(vector(json!({}), v)),
        FacadeQuery::Judge { score, labels } => (score, labels),
    };
    let template = labels.remove("template");
    let mut req = JudgeRequest {
        template: template.clone(),
        credential: bearer(&headers),
        ..Default::default()
    };
    if let Some(l) = labels.remove("lookback") {
        req.lookback = Some(duration_field(&l, "lookback")?);
    }
    for key in ["start", "end"] {
        if let Some(v) = labels.remove(key) {
            let n = v
                .parse::<i64>()
                .map_err(|_| HttpError::bad_request(format!("{key} `{v}` is not Unix seconds")))?;
            if key == "start" {
                req.start = Some(n);
            } else {
                req.end = Some(n);
            }
        }
    }
    if req.end.is_none() {
        req.end = eval_time.map(|t| t as i64);
    }
    // `canary="NAMESPACE/NAME"`: the window of that Canary's Flagger analysis, the same one
    // its webhooks judge (explicit `start` wins).
    if let Some(canary) = labels.remove("canary")
        && req.start.is_none()
    {
        let (namespace, name) = canary.split_once('/').ok_or_else(|| {
            HttpError::bad_request(format!("canary `{canary}` is not NAMESPACE/NAME"))
        })?;
        let end = req.end.unwrap_or_else(now);
        let (analysis_start, _) = state
            .windows
            .analysis_start(namespace, name, None, end)
            .await
            .map_err(JudgeError::from)?;
        let extra = state.config().settings.webhook_lookback.as_secs();
        req.start = Some(
            analysis_start
                .min(end)
                .saturating_sub(i64::try_from(extra).unwrap_or(i64::MAX)),
        );
        req.end = Some(end);
    }
    req.vars = labels;
    let settings = state.config().settings.clone();
    let j = judge(&state, "prometheus-facade", req).await?;
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
    Ok(vector(
        json!({"__name__": name, "template": template.unwrap_or_default(), "verdict": verdict}),
        value,
    ))
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
async fn analyze(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection<JsonBody>> {
    require_json(&headers)?;
    let b: AnalyzeBody = serde_json::from_slice(&body)
        .map_err(|e| HttpError::bad_request(format!("malformed request body: {e}")))?;
    let config = match b.config {
        None => None,
        Some(serde_json::Value::String(s)) => Some(AnalysisConfig::from_str_auto(&s)),
        Some(v) => Some(AnalysisConfig::from_json_value(&v)),
    }
    .transpose()
    .map_err(JudgeError::Config)?;
    let lookback = b
        .lookback
        .map(|l| duration_field(&l, "lookback"))
        .transpose()?;
    let req = JudgeRequest {
        template: b.template,
        config,
        vars: b.vars,
        start: b.start,
        end: b.end,
        lookback,
        credential: bearer(&headers),
    };
    let j = judge(&state, "http-analyze", req).await?;
    let mut doc = serde_json::to_value(&j.report).unwrap_or_else(|_| json!({}));
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("start".into(), json!(j.start));
        obj.insert("end".into(), json!(j.end));
    }
    Ok(axum::Json(doc).into_response())
}

/// `GET /report?template=NAME&start=S&end=E[&lookback=D][&every=N][&VAR=VALUE…]`: the
/// look-by-look HTML report of that analysis, judged as every door judges it (same auth, same
/// budget), one look every `every` intervals (default 1). `config=JSON` instead of `template`
/// judges a client's config under the same rules as `/v1/analyze` (it is how the Argo
/// plugin's links work: its configs live in AnalysisTemplates the service never sees).
async fn report(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Rejection<PlainText>> {
    let mut vars: BTreeMap<String, String> = raw
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let template = vars.remove("template");
    let config = vars
        .remove("config")
        .map(|c| AnalysisConfig::from_str_auto(&c))
        .transpose()
        .map_err(JudgeError::Config)?;
    let title = match (&template, &config) {
        (Some(t), _) => t.clone(),
        (None, Some(c)) => {
            let names: Vec<&str> = c.metrics.iter().map(|m| m.name.as_str()).collect();
            format!("config of {}", names.join(", "))
        }
        (None, None) => {
            return Err(HttpError::bad_request(
                "missing parameter `template` (a template name) or `config` (an analysis config)",
            )
            .into());
        }
    };
    let seconds = |key: &'static str, v: Option<String>| {
        v.map(|v| {
            v.parse::<i64>().map_err(|_| {
                HttpError::from(JudgeError::Field {
                    field: key,
                    value: v,
                    expected: "Unix seconds",
                })
            })
        })
        .transpose()
    };
    let start = seconds("start", vars.remove("start"))?;
    let end = seconds("end", vars.remove("end"))?;
    let lookback = vars
        .remove("lookback")
        .map(|l| duration_field(&l, "lookback"))
        .transpose()?;
    let every = match vars.remove("every") {
        Some(e) => match e.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(HttpError::bad_request(format!(
                    "every `{e}` is not a positive number of intervals"
                ))
                .into());
            }
        },
        None => 1,
    };
    let req = JudgeRequest {
        template,
        config,
        vars,
        start,
        end,
        lookback,
        credential: bearer(&headers),
    };
    let j = judge(&state, "report", req).await?;
    let page = tokio::task::spawn_blocking(move || super::report_page::render(&j, &title, every))
        .await
        .map_err(JudgeError::Engine)?
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// `GET /reports`: the last analyses this replica answered, each linking to its report.
async fn reports(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
) -> Result<Response, Rejection<PlainText>> {
    authenticate(&state.config(), bearer(&headers).as_deref())?;
    let page = super::report_page::render_list(&state.recent.list());
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

async fn live() -> Response {
    text(StatusCode::OK, "ok")
}

/// Ready when not shutting down, the config is loaded and Prometheus (if any) answers.
async fn ready(AxState(state): AxState<Arc<State>>) -> Response {
    match state.readiness().await {
        Ok(windows) => text(StatusCode::OK, format!("ready; {windows}")),
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
