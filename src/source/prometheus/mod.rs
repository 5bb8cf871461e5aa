//! Prometheus data source: renders a metric's PromQL templates, runs them as range queries
//! from the analysis start to an explicit "now" on a non-overlapping grid, and turns the
//! answers into plain series (values, counts, histograms) or a [`PrometheusError`] that names
//! the server and the cause. HTTP goes through `prometheus-http-query` on a `reqwest`
//! client (rustls) that carries auth, TLS and the per-query deadline.
//!
//! Times: `start`/`end` are Unix seconds (`i64`); returned timestamps are Unix seconds
//! (`f64`, as the Prometheus API reports them).

mod client;
pub mod config;
pub mod error;
pub mod series;
pub mod template;
pub mod window;

use std::time::Duration;

use prometheus_http_query::response::Data;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

pub use config::{
    BasicAuthConfig, HeaderSource, NonFinitePolicy, PrometheusConfig, Secret, SecretRef,
};
pub use error::PrometheusError;
pub use series::{CountPoint, CountRange, HistogramRange, Labels, RawSeries, ValueRange};
pub use window::QueryWindow;

use series::QueryContext;

/// A configured connection to one Prometheus-compatible API. Cheap to clone; holds no
/// state besides the HTTP connection pool, so every evaluation recomputes from scratch.
/// Building one is cheap too: the HTTP client (TLS roots, pool) is reused per thread for
/// equal settings (see `client.rs`), so a source per measurement costs no reconnects.
#[derive(Clone)]
pub struct PrometheusSource {
    client: prometheus_http_query::Client,
    address: String,
    timeout: Duration,
    max_points: u64,
    default_step: Duration,
    step: Option<Duration>,
    nan: NonFinitePolicy,
    inf: NonFinitePolicy,
}

impl std::fmt::Debug for PrometheusSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately leaves out the HTTP client: its default headers carry the secrets.
        f.debug_struct("PrometheusSource")
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .field("max_points", &self.max_points)
            .finish_non_exhaustive()
    }
}

/// Prometheus' API envelope. `data` is kept raw so its `resultType` can be checked first.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

fn config_error(message: impl Into<String>) -> PrometheusError {
    PrometheusError::Config {
        message: message.into(),
    }
}

/// The cause chain of an error as one line ("a: b: c").
fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

impl PrometheusSource {
    /// Validates the config, reads the secrets and builds the HTTP client. Fails on a bad
    /// address (or one with user:password in it), unreadable secret or CA files, invalid
    /// header names/values, or `max_points` above Prometheus' 11,000.
    pub fn new(cfg: &PrometheusConfig) -> Result<Self, PrometheusError> {
        let url = url::Url::parse(&cfg.address)
            .map_err(|e| config_error(format!("address {:?} is not a URL: {e}", cfg.address)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(config_error(format!(
                "address {:?} must start with http:// or https://",
                cfg.address
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(config_error(
                "address must not contain user:password; use basic_auth with a password file or env var",
            ));
        }
        if cfg.max_points == 0 || cfg.max_points > config::PROMETHEUS_MAX_POINTS {
            return Err(config_error(format!(
                "max_points must be between 1 and {} (Prometheus' own limit), got {}",
                config::PROMETHEUS_MAX_POINTS,
                cfg.max_points
            )));
        }
        if cfg.timeout.is_zero() {
            return Err(config_error("timeout must be positive"));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &cfg.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error(format!("header name {name:?} is invalid")))?;
            let resolved = match value {
                HeaderSource::Plain(v) => v.clone(),
                HeaderSource::Secret(r) => {
                    r.resolve(&format!("header {name}"))?.expose().to_string()
                }
            };
            let mut v = HeaderValue::from_str(&resolved)
                .map_err(|_| config_error(format!("value of header {name:?} is invalid")))?;
            v.set_sensitive(true);
            headers.insert(n, v);
        }
        if cfg.bearer_token.is_some() && cfg.basic_auth.is_some() {
            return Err(config_error(
                "set at most one of bearer_token and basic_auth",
            ));
        }
        if let Some(r) = &cfg.bearer_token {
            let token = r.resolve("bearer token")?;
            headers.insert(
                AUTHORIZATION,
                sensitive(&format!("Bearer {}", token.expose()), "bearer token")?,
            );
        }
        if let Some(b) = &cfg.basic_auth {
            let password = b.password.resolve("basic auth password")?;
            let raw = format!("{}:{}", b.username, password.expose());
            headers.insert(
                AUTHORIZATION,
                sensitive(&format!("Basic {}", base64(raw.as_bytes())), "basic auth")?,
            );
        }
        let ca_pem = match &cfg.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                config_error(format!("cannot read ca_file {}: {e}", path.display()))
            })?),
            None => None,
        };
        let key = client::ClientKey {
            timeout: cfg.timeout,
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                .collect(),
            ca_pem: ca_pem.clone(),
            insecure: cfg.insecure_skip_verify,
            follow_redirects: cfg.follow_redirects,
        };
        let http = client::get_or_build(key, || {
            let mut builder = reqwest::Client::builder()
                .timeout(cfg.timeout)
                .connect_timeout(cfg.timeout)
                .default_headers(headers)
                .user_agent(concat!("canary-judge/", env!("CARGO_PKG_VERSION")));
            if !cfg.follow_redirects {
                builder = builder.redirect(reqwest::redirect::Policy::none());
            }
            if let (Some(pem), Some(path)) = (&ca_pem, &cfg.ca_file) {
                let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                    config_error(format!("ca_file {} is not PEM: {e}", path.display()))
                })?;
                if certs.is_empty() {
                    return Err(config_error(format!(
                        "ca_file {} holds no certificate",
                        path.display()
                    )));
                }
                builder = builder.tls_certs_only(certs);
            }
            if cfg.insecure_skip_verify {
                builder = builder.tls_danger_accept_invalid_certs(true);
            }
            builder
                .build()
                .map_err(|e| config_error(format!("cannot build HTTP client: {}", cause_chain(&e))))
        })?;
        let client = prometheus_http_query::Client::from(http, &cfg.address)
            .map_err(|e| config_error(format!("address {:?}: {e}", cfg.address)))?;
        Ok(PrometheusSource {
            client,
            address: cfg.address.clone(),
            timeout: cfg.timeout,
            max_points: cfg.max_points,
            default_step: cfg.default_step,
            step: cfg.step,
            nan: cfg.nan,
            inf: cfg.inf,
        })
    }

    /// The configured base URL (for messages and metadata).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Readiness probe: evaluates the instant query `1` and expects a scalar. Works with any
    /// Prometheus-compatible API (Thanos, Mimir, VictoriaMetrics), unlike `/-/ready`.
    pub async fn ping(&self) -> Result<(), PrometheusError> {
        let ms = self.timeout_ms();
        let data = self
            .exchange(
                || self.client.query("1").timeout(ms).post_raw(),
                || self.client.query("1").timeout(ms).get_raw(),
            )
            .await?;
        let kind = result_type(&data);
        if kind != "scalar" {
            return Err(PrometheusError::UnexpectedResultType {
                address: self.address.clone(),
                query: "1".to_string(),
                got: kind,
                expected: "scalar",
            });
        }
        Ok(())
    }

    /// Builds and checks the grid: explicit `step`, else the source's configured `step`,
    /// else the widest range selector of `queries`, else `default_step`. Refuses more than
    /// `max_points` steps before anything is sent.
    pub fn window(
        &self,
        queries: &[&str],
        start: i64,
        end: i64,
        step: Option<Duration>,
    ) -> Result<QueryWindow, PrometheusError> {
        let step = window::choose_step(step.or(self.step), queries, self.default_step);
        let invalid = |message: String| PrometheusError::InvalidWindow {
            address: self.address.clone(),
            message,
        };
        if step.as_millis() < 1 {
            return Err(invalid("step must be at least 1ms".to_string()));
        }
        if start > end {
            return Err(invalid(format!("start {start} is after end {end}")));
        }
        let w = QueryWindow { start, end, step };
        if w.intervals() > self.max_points {
            return Err(PrometheusError::TooManyPoints {
                address: self.address.clone(),
                intervals: w.intervals(),
                max: self.max_points,
                step,
                start,
                end,
            });
        }
        Ok(w)
    }

    /// Range query returning the raw series of a matrix result. Used by the typed calls;
    /// public for diagnostics (`canary-judge query`).
    pub async fn range(
        &self,
        query: &str,
        w: QueryWindow,
    ) -> Result<Vec<RawSeries>, PrometheusError> {
        let ms = self.timeout_ms();
        let step = w.step_secs();
        let data = self
            .exchange(
                || {
                    self.client
                        .query_range(query, w.start, w.end, step)
                        .timeout(ms)
                        .post_raw()
                },
                || {
                    self.client
                        .query_range(query, w.start, w.end, step)
                        .timeout(ms)
                        .get_raw()
                },
            )
            .await?;
        let kind = result_type(&data);
        if kind != "matrix" {
            return Err(PrometheusError::UnexpectedResultType {
                address: self.address.clone(),
                query: query.to_string(),
                got: kind,
                expected: "matrix",
            });
        }
        // Deserialised from the borrowed tree: no copy of the (possibly large) result.
        let parsed = Data::deserialize(&data).map_err(|e| PrometheusError::Garbage {
            address: self.address.clone(),
            status: 200,
            cause: format!("matrix result does not parse: {e}"),
            snippet: snippet(data.to_string().as_bytes()),
        })?;
        let Data::Matrix(matrix) = parsed else {
            return Err(PrometheusError::UnexpectedResultType {
                address: self.address.clone(),
                query: query.to_string(),
                got: "non-matrix".to_string(),
                expected: "matrix",
            });
        };
        Ok(matrix
            .into_iter()
            .map(|rv| {
                let (metric, samples) = rv.into_inner();
                RawSeries {
                    labels: metric.into_iter().collect(),
                    samples: samples.iter().map(|s| (s.timestamp(), s.value())).collect(),
                }
            })
            .collect())
    }

    /// A values series from one query (exactly one series expected).
    pub async fn values(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: Option<Duration>,
    ) -> Result<ValueRange, PrometheusError> {
        let w = self.window(&[query], start, end, step)?;
        let raw = self.range(query, w).await?;
        series::to_values(&self.context(query, w), &raw)
    }

    /// A counts series from an events and a traffic query, aligned by timestamp.
    pub async fn counts(
        &self,
        events_query: &str,
        traffic_query: &str,
        start: i64,
        end: i64,
        step: Option<Duration>,
    ) -> Result<CountRange, PrometheusError> {
        let w = self.window(&[events_query, traffic_query], start, end, step)?;
        self.counts_on(events_query, traffic_query, w).await
    }

    async fn counts_on(
        &self,
        events_query: &str,
        traffic_query: &str,
        w: QueryWindow,
    ) -> Result<CountRange, PrometheusError> {
        let (events, traffic) =
            tokio::join!(self.range(events_query, w), self.range(traffic_query, w));
        let (events, traffic) = (events?, traffic?);
        series::to_counts(
            &self.context(events_query, w),
            &events,
            &self.context(traffic_query, w),
            &traffic,
        )
    }

    /// A histogram series from a bucket query grouped by `le`.
    pub async fn histogram(
        &self,
        bucket_query: &str,
        start: i64,
        end: i64,
        step: Option<Duration>,
    ) -> Result<HistogramRange, PrometheusError> {
        let w = self.window(&[bucket_query], start, end, step)?;
        let raw = self.range(bucket_query, w).await?;
        series::to_histogram(&self.context(bucket_query, w), &raw)
    }

    fn context<'a>(&'a self, query: &'a str, w: QueryWindow) -> QueryContext<'a> {
        QueryContext {
            address: &self.address,
            query,
            window: w,
            nan: self.nan,
            inf: self.inf,
        }
    }

    fn timeout_ms(&self) -> i64 {
        i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX)
    }

    /// One API call with the whole exchange (connect, send, wait, read body) bounded by the
    /// per-query timeout. POST first (no URL length limit), GET on 405/501 as Argo does.
    async fn exchange<P, PF, G, GF>(
        &self,
        post: P,
        get: G,
    ) -> Result<serde_json::Value, PrometheusError>
    where
        P: FnOnce() -> PF,
        PF: Future<Output = Result<reqwest::Response, prometheus_http_query::Error>>,
        G: FnOnce() -> GF,
        GF: Future<Output = Result<reqwest::Response, prometheus_http_query::Error>>,
    {
        let call = async {
            let mut resp = post().await.map_err(|e| self.send_error(e))?;
            if matches!(resp.status().as_u16(), 405 | 501) {
                resp = get().await.map_err(|e| self.send_error(e))?;
            }
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map_err(|e| self.reqwest_error(&e))?;
            self.decode(status, &body)
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(PrometheusError::Timeout {
                address: self.address.clone(),
                timeout: self.timeout,
            }),
        }
    }

    fn decode(&self, status: u16, body: &[u8]) -> Result<serde_json::Value, PrometheusError> {
        let env: Envelope = serde_json::from_slice(body).map_err(|e| PrometheusError::Garbage {
            address: self.address.clone(),
            status,
            cause: e.to_string(),
            snippet: snippet(body),
        })?;
        if env.status != "success" || !(200..300).contains(&status) {
            return Err(PrometheusError::Api {
                address: self.address.clone(),
                status,
                error_type: env.error_type.unwrap_or_else(|| "unknown".to_string()),
                error: env.error.unwrap_or_else(|| snippet(body)),
            });
        }
        env.data.ok_or_else(|| PrometheusError::Garbage {
            address: self.address.clone(),
            status,
            cause: "success response without `data`".to_string(),
            snippet: snippet(body),
        })
    }

    fn send_error(&self, e: prometheus_http_query::Error) -> PrometheusError {
        match &e {
            prometheus_http_query::Error::Client(c) => match c.inner() {
                Some(re) => self.reqwest_error(re),
                None => PrometheusError::Unreachable {
                    address: self.address.clone(),
                    cause: e.to_string(),
                },
            },
            _ => PrometheusError::Unreachable {
                address: self.address.clone(),
                cause: e.to_string(),
            },
        }
    }

    fn reqwest_error(&self, e: &reqwest::Error) -> PrometheusError {
        if e.is_timeout() {
            return PrometheusError::Timeout {
                address: self.address.clone(),
                timeout: self.timeout,
            };
        }
        // Skip reqwest's own top line (it repeats the URL); keep the underlying causes.
        let mut causes = Vec::new();
        let mut cur = std::error::Error::source(e);
        while let Some(c) = cur {
            let text = c.to_string();
            if causes.last() != Some(&text) {
                causes.push(text);
            }
            cur = c.source();
        }
        let cause = if causes.is_empty() {
            cause_chain(e)
        } else {
            causes.join(": ")
        };
        PrometheusError::Unreachable {
            address: self.address.clone(),
            cause,
        }
    }
}

/// The `resultType` of an API `data` object (`"missing"` if absent).
fn result_type(data: &serde_json::Value) -> String {
    data.get("resultType")
        .and_then(|v| v.as_str())
        .unwrap_or("missing")
        .to_string()
}

fn sensitive(value: &str, what: &str) -> Result<HeaderValue, PrometheusError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        config_error(format!(
            "{what} contains characters not allowed in a header"
        ))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// Standard base64 (RFC 4648 §4, with padding) for the basic-auth header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        // RFC 4648 §10 test vectors.
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn new_rejects_bad_configs() {
        let bad = |addr: &str| PrometheusSource::new(&PrometheusConfig::with_address(addr));
        assert!(bad("not a url").is_err());
        assert!(bad("ftp://p").is_err());
        let e = bad("http://user:pw@p:9090").unwrap_err().to_string();
        assert!(!e.contains("pw@"), "{e}");
        let mut cfg = PrometheusConfig::with_address("http://p:9090");
        cfg.max_points = 20_000;
        assert!(PrometheusSource::new(&cfg).is_err());
    }

    #[test]
    fn window_refuses_too_many_points() {
        let mut cfg = PrometheusConfig::with_address("http://127.0.0.1:9");
        cfg.max_points = 100;
        let s = PrometheusSource::new(&cfg).unwrap();
        let w = s.window(&["increase(x[1m])"], 0, 6000, None).unwrap();
        assert_eq!((w.step.as_secs(), w.intervals()), (60, 100));
        let e = s.window(&["increase(x[1m])"], 0, 6060, None).unwrap_err();
        assert!(matches!(
            e,
            PrometheusError::TooManyPoints { intervals: 101, .. }
        ));
        assert!(s.window(&["x"], 10, 5, None).is_err());
        let debug = format!("{s:?}");
        assert!(debug.contains("127.0.0.1:9"));
    }
}
