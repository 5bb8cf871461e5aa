//! Connection settings for one Prometheus-compatible HTTP API, and the secret newtype that
//! keeps tokens and passwords out of `Debug` output, logs, errors and measurement metadata.
//! Secrets are referenced (file or environment variable), never written inline in config.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::PrometheusError;
use crate::duration::{deserialize_duration, deserialize_opt_duration};

/// Prometheus' own hard limit on points per series in a range query
/// (`exceeded maximum resolution of 11,000 points per timeseries`).
pub const PROMETHEUS_MAX_POINTS: u64 = 11_000;

/// Connection and evaluation settings for [`super::PrometheusSource`].
///
/// YAML shape (snake_case, unknown fields rejected so typos fail loudly):
/// ```yaml
/// address: http://prometheus.monitoring:9090   # base URL, may carry a path prefix
/// timeout: 10s            # per query: bounds connect + send + evaluation + body read
/// headers: {X-Scope-OrgID: team-a, X-Api-Key: {env: PROM_API_KEY}}
/// bearer_token: {file: /var/run/secrets/prom/token}   # or {env: PROM_TOKEN}
/// basic_auth: {username: judge, password: {env: PROM_PASSWORD}}
/// ca_file: /etc/prom-ca/ca.crt
/// insecure_skip_verify: false
/// max_points: 11000       # refuse range queries with more points before sending
/// default_step: 1m        # step for queries without a range selector
/// nan: missing            # missing | error
/// inf: error              # error | missing
/// ```
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct PrometheusConfig {
    /// Base URL of the HTTP API (`/api/v1/...` is appended). Must not contain user:password;
    /// use `basic_auth` so the password stays redacted.
    pub address: String,
    /// Per-query deadline for the whole HTTP exchange; also sent to Prometheus as its own
    /// evaluation `timeout` so the server stops work we no longer wait for.
    #[serde(default = "default_timeout", deserialize_with = "deserialize_duration")]
    pub timeout: Duration,
    /// Extra request headers (e.g. a tenant header for Mimir/Thanos): a plain value, or a
    /// secret reference (`{file: …}`, `{env: …}`). Values are treated as possibly sensitive
    /// and are not shown by `Debug`.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderSource>,
    /// `Authorization: Bearer <token>` from a file or an environment variable.
    #[serde(default)]
    pub bearer_token: Option<SecretRef>,
    /// HTTP basic auth; the password comes from a file or an environment variable.
    #[serde(default)]
    pub basic_auth: Option<BasicAuthConfig>,
    /// PEM file with the CA certificates that must sign the server's certificate; replaces
    /// the system roots (as Prometheus' own `tls_config.ca_file` does).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Skip TLS certificate verification. For test clusters only.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Upper bound on points per series; at most Prometheus' own 11,000.
    #[serde(default = "default_max_points")]
    pub max_points: u64,
    /// Step used when a query has no range selector to derive one from.
    #[serde(default = "default_step", deserialize_with = "deserialize_duration")]
    pub default_step: Duration,
    /// What a NaN sample means (e.g. `0/0` in an interval without traffic).
    #[serde(default = "default_nan")]
    pub nan: NonFinitePolicy,
    /// What a ±Inf sample means (e.g. `x/0` with events but no traffic).
    #[serde(default = "default_inf")]
    pub inf: NonFinitePolicy,
    /// Optional explicit step for every query of this source (overrides the derived one).
    #[serde(default, deserialize_with = "deserialize_opt_duration")]
    pub step: Option<Duration>,
    /// Whether HTTP redirects are followed. Not configurable: operator sources follow them;
    /// a source an application team wrote does not, so an allow-listed address cannot
    /// bounce the controller's requests to an address the allow-list does not admit.
    #[serde(skip, default = "follow_redirects_default")]
    pub follow_redirects: bool,
}

fn follow_redirects_default() -> bool {
    true
}

/// One header value: written as a plain string, or as a secret reference.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum HeaderSource {
    /// The value as written (e.g. a tenant id).
    Plain(String),
    /// Read from a file, an environment variable or (application-team configs only) an
    /// inline value that Argo resolved from a Secret.
    Secret(SecretRef),
}

impl From<&str> for HeaderSource {
    fn from(v: &str) -> Self {
        HeaderSource::Plain(v.to_string())
    }
}

impl From<String> for HeaderSource {
    fn from(v: String) -> Self {
        HeaderSource::Plain(v)
    }
}

impl fmt::Debug for HeaderSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderSource::Plain(_) => f.write_str("Plain(***)"),
            HeaderSource::Secret(r) => write!(f, "Secret({r:?})"),
        }
    }
}

/// How a non-finite sample is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonFinitePolicy {
    /// Drop the point and record its timestamp as missing ("no data for that interval").
    Missing,
    /// Fail the query with [`PrometheusError::NonFinite`].
    Error,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_points() -> u64 {
    PROMETHEUS_MAX_POINTS
}
fn default_step() -> Duration {
    Duration::from_secs(60)
}
fn default_nan() -> NonFinitePolicy {
    NonFinitePolicy::Missing
}
fn default_inf() -> NonFinitePolicy {
    NonFinitePolicy::Error
}

impl PrometheusConfig {
    /// A config with every optional field at its default; handy for tests and the CLI.
    pub fn with_address(address: impl Into<String>) -> Self {
        PrometheusConfig {
            address: address.into(),
            timeout: default_timeout(),
            headers: BTreeMap::new(),
            bearer_token: None,
            basic_auth: None,
            ca_file: None,
            insecure_skip_verify: false,
            max_points: default_max_points(),
            default_step: default_step(),
            nan: default_nan(),
            inf: default_inf(),
            step: None,
            follow_redirects: true,
        }
    }

    /// Every secret reference in this config with the field path errors name it by
    /// (`bearer_token`, `basic_auth.password`, `headers.X-Api-Key`).
    pub fn secret_refs(&self) -> Vec<(String, &SecretRef)> {
        let mut out = Vec::new();
        if let Some(r) = &self.bearer_token {
            out.push(("bearer_token".to_string(), r));
        }
        if let Some(b) = &self.basic_auth {
            out.push(("basic_auth.password".to_string(), &b.password));
        }
        for (name, value) in &self.headers {
            if let HeaderSource::Secret(r) = value {
                out.push((format!("headers.{name}"), r));
            }
        }
        out
    }

    /// Values written inline in this config that must never be shown: inline secret values
    /// and every header value (headers may be API keys). Used to redact replies.
    pub fn inline_secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .secret_refs()
            .into_iter()
            .filter_map(|(_, r)| r.value.clone())
            .collect();
        for value in self.headers.values() {
            if let HeaderSource::Plain(v) = value {
                out.push(v.clone());
            }
        }
        out.retain(|v| !v.is_empty());
        out
    }
}

// Manual Debug: header values may be API keys, so only their names are shown.
impl fmt::Debug for PrometheusConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusConfig")
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("bearer_token", &self.bearer_token)
            .field("basic_auth", &self.basic_auth)
            .field("ca_file", &self.ca_file)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("max_points", &self.max_points)
            .field("default_step", &self.default_step)
            .field("nan", &self.nan)
            .field("inf", &self.inf)
            .field("step", &self.step)
            .field("follow_redirects", &self.follow_redirects)
            .finish()
    }
}

/// Basic-auth credentials; the password is a [`SecretRef`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct BasicAuthConfig {
    /// User name (not secret).
    pub username: String,
    /// Where to read the password from.
    pub password: SecretRef,
}

/// Where a secret lives: exactly one of `file`, `env` or `value`.
///
/// `file` and `env` are read from the process that runs canary-judge, so only configs the
/// operator owns may use them (see `source::catalog`). `value` is the secret itself and is
/// accepted only in an application team's config, where Argo Rollouts filled it in from a
/// Secret of the AnalysisRun's own namespace (`{{args.token}}` with `valueFrom.secretKeyRef`);
/// it is redacted from every reply.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SecretRef {
    /// Path of a file whose content (trailing newline trimmed) is the secret.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Name of an environment variable holding the secret.
    #[serde(default)]
    pub env: Option<String>,
    /// The secret itself (application-team configs only).
    #[serde(default)]
    pub value: Option<String>,
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretRef")
            .field("file", &self.file)
            .field("env", &self.env)
            .field("value", &self.value.as_ref().map(|_| "***"))
            .finish()
    }
}

impl SecretRef {
    /// A reference to a file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SecretRef {
            file: Some(path.into()),
            env: None,
            value: None,
        }
    }

    /// A reference to an environment variable.
    pub fn env(var: impl Into<String>) -> Self {
        SecretRef {
            file: None,
            env: Some(var.into()),
            value: None,
        }
    }

    /// Reads the secret now. Errors name the file or variable, never the content.
    pub fn resolve(&self, what: &str) -> Result<Secret, PrometheusError> {
        match (&self.file, &self.env, &self.value) {
            (None, None, Some(v)) if !v.is_empty() => Ok(Secret(v.clone())),
            (None, None, Some(_)) => Err(PrometheusError::Config {
                message: format!("{what} value is empty"),
            }),
            (Some(path), None, None) => {
                let raw = std::fs::read_to_string(path).map_err(|e| PrometheusError::Config {
                    message: format!("cannot read {what} from file {}: {e}", path.display()),
                })?;
                let value = raw.trim_end_matches(['\r', '\n']).to_string();
                if value.is_empty() {
                    return Err(PrometheusError::Config {
                        message: format!("{what} file {} is empty", path.display()),
                    });
                }
                Ok(Secret(value))
            }
            (None, Some(var), None) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Secret(v)),
                Ok(_) => Err(PrometheusError::Config {
                    message: format!("{what} environment variable {var} is empty"),
                }),
                Err(_) => Err(PrometheusError::Config {
                    message: format!("{what} environment variable {var} is not set"),
                }),
            },
            _ => Err(PrometheusError::Config {
                message: format!("{what} needs exactly one of `file`, `env` or `value`"),
            }),
        }
    }
}

/// A secret string (token, password). `Debug` prints `Secret(***)`; there is no `Display`,
/// so it cannot end up in a formatted message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value that must never be printed.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for building the one header that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_defaults_and_unknown_fields() {
        let cfg: PrometheusConfig = serde_yaml_ng::from_str("address: http://p:9090\n").unwrap();
        assert_eq!(cfg.timeout, Duration::from_secs(10));
        assert_eq!(cfg.max_points, 11_000);
        assert_eq!(cfg.nan, NonFinitePolicy::Missing);
        assert_eq!(cfg.inf, NonFinitePolicy::Error);
        let err = serde_yaml_ng::from_str::<PrometheusConfig>("address: x\ntimeuot: 1s\n")
            .err()
            .unwrap();
        assert!(err.to_string().contains("timeuot"), "{err}");
    }

    #[test]
    fn full_yaml() {
        let y = "address: https://p\ntimeout: 2500ms\nheaders: {X-Scope-OrgID: t1}\n\
                 bearer_token: {env: TOK}\nbasic_auth: {username: u, password: {file: /p}}\n\
                 ca_file: /ca.pem\ninsecure_skip_verify: true\nmax_points: 500\n\
                 default_step: 30s\nnan: error\ninf: missing\nstep: 2m\n";
        let cfg: PrometheusConfig = serde_yaml_ng::from_str(y).unwrap();
        assert_eq!(cfg.timeout, Duration::from_millis(2500));
        assert_eq!(cfg.step, Some(Duration::from_secs(120)));
        assert_eq!(cfg.nan, NonFinitePolicy::Error);
        assert_eq!(cfg.bearer_token.unwrap().env.as_deref(), Some("TOK"));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let mut cfg = PrometheusConfig::with_address("http://p");
        cfg.headers.insert(
            "X-Api-Key".into(),
            HeaderSource::Plain("key-value-123".into()),
        );
        cfg.bearer_token = Some(SecretRef {
            file: None,
            env: None,
            value: Some("inline-token-456".into()),
        });
        let dbg = format!("{cfg:?}");
        assert!(
            dbg.contains("X-Api-Key")
                && !dbg.contains("key-value-123")
                && !dbg.contains("inline-token-456"),
            "{dbg}"
        );
    }

    #[test]
    fn secret_ref_errors_name_source_not_value() {
        let r = SecretRef::env("CANARY_JUDGE_TEST_SURELY_UNSET_VAR");
        let e = r.resolve("bearer token").unwrap_err().to_string();
        assert!(e.contains("CANARY_JUDGE_TEST_SURELY_UNSET_VAR"), "{e}");
        let both = SecretRef {
            file: Some("/x".into()),
            env: Some("Y".into()),
            value: None,
        };
        assert!(both.resolve("password").is_err());
        let dir = std::env::temp_dir().join(format!("cj-secret-{}", std::process::id()));
        std::fs::write(&dir, "s3cret\n").unwrap();
        let ok = SecretRef::file(dir.clone()).resolve("password").unwrap();
        assert_eq!(ok.expose(), "s3cret");
        std::fs::remove_file(dir).unwrap();
    }
}
