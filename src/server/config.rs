//! The service's config file: server settings, the operator's data sources (`sources:`, or
//! the older single `prometheus:` block), optional caller tokens (`auth:`) and the named
//! analysis templates. Parsed and validated as a whole so a SIGHUP reload either swaps in a
//! complete, working config or keeps the old one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::analysis::AnalysisConfig;
use crate::source::catalog::{Origin, SourceCatalog};
use crate::source::prometheus::{PrometheusConfig, PrometheusSource, Secret, SecretRef};

/// Why a config file was rejected; the message names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ServeConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The YAML/JSON does not parse or a template does not validate.
    #[error("config {path}: {message}")]
    Invalid {
        /// File path.
        path: String,
        /// Parser or validator message (names the field and line).
        message: String,
    },
}

/// Server settings (`server:` block); every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct ServerSettings {
    /// HTTP listen address (overridden by `--http-addr`).
    pub http_addr: String,
    /// gRPC listen address (overridden by `--grpc-addr`).
    pub grpc_addr: String,
    /// HTTP status a Flagger webhook answers for an inconclusive verdict (Flagger passes
    /// ≤ 202 only, so 200 lets the rollout go on and 403 holds it).
    pub inconclusive_status: u16,
    /// Value the Prometheus facade returns for an inconclusive verdict (1 pass, 0 fail).
    pub facade_inconclusive_value: f64,
    /// Time budget of one analysis; well inside Flagger's 10 s webhook timeout.
    #[serde(deserialize_with = "crate::duration::deserialize_duration_or_zero")]
    pub analysis_timeout: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Window length for stateless doors (`/v1/analyze`, facade, gRPC) without `start`.
    #[serde(deserialize_with = "crate::duration::deserialize_duration_or_zero")]
    pub lookback: Duration,
    /// Extra history before a Flagger analysis's start.
    #[serde(deserialize_with = "crate::duration::deserialize_duration_or_zero")]
    pub webhook_lookback: Duration,
    /// The service's address as users reach it (e.g. `https://canary-judge.example.com`).
    /// When set, every Flagger webhook answer ends with a link to that analysis's report at
    /// `BASE/report?…`; the link names the template, window and variables, so it opens on any
    /// replica.
    pub report_base_url: Option<String>,
    /// Where Flagger analysis starts come from (`auto`, `kubernetes`, `memory`); read at
    /// start only.
    pub canary_windows: super::cluster::CanaryWindowsMode,
    /// After SIGTERM, how long in-flight requests may take before the process exits.
    #[serde(deserialize_with = "crate::duration::deserialize_duration_or_zero")]
    pub shutdown_grace: Duration,
    /// After SIGTERM, how long to keep accepting requests (readiness already failing) so
    /// load balancers notice before the listeners close.
    #[serde(deserialize_with = "crate::duration::deserialize_duration_or_zero")]
    pub shutdown_delay: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            http_addr: "0.0.0.0:8080".into(),
            grpc_addr: "0.0.0.0:9091".into(),
            inconclusive_status: 200,
            facade_inconclusive_value: 0.5,
            analysis_timeout: Duration::from_secs(8),
            max_body_bytes: 1 << 20,
            lookback: Duration::from_secs(600),
            webhook_lookback: Duration::from_secs(0),
            canary_windows: super::cluster::CanaryWindowsMode::Auto,
            report_base_url: None,
            shutdown_grace: Duration::from_secs(20),
            shutdown_delay: Duration::from_secs(0),
        }
    }
}

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct ServeFile {
    #[serde(default)]
    server: ServerSettings,
    /// The single Prometheus of older files; becomes the source `default`.
    #[serde(default)]
    prometheus: Option<PrometheusConfig>,
    /// Named data sources (the plugin's sources file format).
    #[serde(default)]
    sources: Vec<serde_yaml_ng::Value>,
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default)]
    templates: BTreeMap<String, AnalysisConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct RawAuth {
    tokens: Vec<RawToken>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct RawToken {
    name: String,
    token: SecretRef,
    #[serde(default)]
    templates: Option<BTreeSet<String>>,
    #[serde(default)]
    sources: Option<BTreeSet<String>>,
}

/// One caller the service knows: a bearer token and what it may use.
pub struct Caller {
    /// Name for logs and metrics (never the token).
    pub name: String,
    token: Secret,
    /// Templates it may name (`None`: all).
    pub templates: Option<BTreeSet<String>>,
    /// Data sources its analyses may read (`None`: all).
    pub sources: Option<BTreeSet<String>>,
}

impl Caller {
    /// Constant-time comparison of a presented token with this caller's.
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let a = self.token.expose().as_bytes();
        let b = presented.as_bytes();
        // Lengths are compared in the clear; the content never short-circuits.
        a.len() == b.len() && bool::from(a.ct_eq(b))
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").field("name", &self.name).finish()
    }
}

/// A loaded, validated config.
pub struct ServeConfig {
    /// Server settings.
    pub settings: ServerSettings,
    /// The operator's data sources (`sources:` and the legacy `prometheus:` block).
    pub catalog: SourceCatalog,
    /// The default source's client, for readiness; `None` without sources.
    pub prometheus: Option<PrometheusSource>,
    /// Callers allowed in when `auth:` is set; `None`: no authentication.
    pub callers: Option<Vec<Arc<Caller>>>,
    /// Named templates.
    pub templates: BTreeMap<String, AnalysisConfig>,
}

impl ServeConfig {
    /// The caller whose token is `presented`, comparing with every token (no early exit).
    pub fn caller(&self, presented: &str) -> Option<Arc<Caller>> {
        let callers = self.callers.as_ref()?;
        let mut found = None;
        for c in callers {
            if c.matches(presented) && found.is_none() {
                found = Some(Arc::clone(c));
            }
        }
        found
    }
}

/// Flag/env overrides applied on top of the file (on load and on every reload).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--http-addr`.
    pub http_addr: Option<String>,
    /// `--grpc-addr`.
    pub grpc_addr: Option<String>,
    /// `--prometheus-url`.
    pub prometheus_url: Option<String>,
}

impl ServeConfig {
    /// Reads, parses and validates `path` (YAML or JSON), applies `overrides` and builds the
    /// Prometheus client (which checks address, secrets and TLS files).
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ServeConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ServeConfigError::Io {
            path: shown.clone(),
            source: e,
        })?;
        Self::parse(&text, &shown, overrides)
    }

    /// Parses config text; `origin` names it in errors.
    pub fn parse(
        text: &str,
        origin: &str,
        overrides: &Overrides,
    ) -> Result<Self, ServeConfigError> {
        let invalid = |message: String| ServeConfigError::Invalid {
            path: origin.to_string(),
            message,
        };
        let file: ServeFile = serde_yaml_ng::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut settings = file.server;
        if let Some(a) = &overrides.http_addr {
            settings.http_addr = a.clone();
        }
        if let Some(a) = &overrides.grpc_addr {
            settings.grpc_addr = a.clone();
        }
        if !(200..=599).contains(&settings.inconclusive_status) {
            return Err(invalid(format!(
                "server.inconclusive_status {} is not an HTTP status",
                settings.inconclusive_status
            )));
        }
        if let Some(base) = &settings.report_base_url {
            let Some(normal) = crate::report::link::normalise_base(base) else {
                return Err(invalid(format!(
                    "server.report_base_url `{base}` is not an http(s) URL"
                )));
            };
            settings.report_base_url = Some(normal);
        }
        let mut catalog = SourceCatalog::from_config_blocks(file.sources, file.prometheus, origin)
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(url) = &overrides.prometheus_url {
            catalog.override_default_address(url);
        }
        catalog.check().map_err(|e| invalid(e.to_string()))?;
        let prometheus = match catalog.choose(None, None, Origin::Operator, None) {
            Ok((_, c)) => {
                Some(PrometheusSource::new(&c).map_err(|e| invalid(format!("prometheus: {e}")))?)
            }
            Err(_) => None,
        };
        // A template's own `source:`/`prometheus:` is honoured (the file is the operator's),
        // so it must resolve now: nothing is silently ignored at request time.
        for (name, t) in &file.templates {
            if t.has_queries() || t.source.is_some() || t.prometheus.is_some() {
                let (_, c) = catalog
                    .choose(
                        t.source.as_deref(),
                        t.prometheus.as_ref(),
                        Origin::Operator,
                        None,
                    )
                    .map_err(|e| invalid(format!("templates.{name}: {e}")))?;
                PrometheusSource::new(&c)
                    .map_err(|e| invalid(format!("templates.{name}.prometheus: {e}")))?;
            }
        }
        let callers = match file.auth {
            None => None,
            Some(a) => {
                if a.tokens.is_empty() {
                    return Err(invalid("auth.tokens: give at least one token".into()));
                }
                let mut callers = Vec::new();
                for (i, t) in a.tokens.into_iter().enumerate() {
                    let at = format!("auth.tokens[{i}] ({})", t.name);
                    if t.token.value.is_some() {
                        return Err(invalid(format!(
                            "{at}.token: write {{file: PATH}} or {{env: VAR}}, not the token itself"
                        )));
                    }
                    let token = t
                        .token
                        .resolve("token")
                        .map_err(|e| invalid(format!("{at}: {e}")))?;
                    for tpl in t.templates.iter().flatten() {
                        if !file.templates.contains_key(tpl) {
                            return Err(invalid(format!("{at}.templates: no template `{tpl}`")));
                        }
                    }
                    for src in t.sources.iter().flatten() {
                        if !catalog.sources().iter().any(|s| &s.name == src) {
                            return Err(invalid(format!("{at}.sources: no data source `{src}`")));
                        }
                    }
                    callers.push(Arc::new(Caller {
                        name: t.name,
                        token,
                        templates: t.templates,
                        sources: t.sources,
                    }));
                }
                Some(callers)
            }
        };
        Ok(ServeConfig {
            settings,
            catalog,
            prometheus,
            callers,
            templates: file.templates,
        })
    }
}
