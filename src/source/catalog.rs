//! The operator's named data sources, and the rule that decides which Prometheus a config may
//! reach. This is the trust boundary between the platform team (who installs the Argo
//! Rollouts controller, the plugin and the service, and owns their files, environment and
//! credentials) and application teams (who write AnalysisTemplates and requests).
//!
//! An application team's config names a source (`source: thanos`, or nothing for the
//! default); it never carries an address or credentials of its own unless the operator
//! opted in with an address allow-list, and even then only credentials Argo resolved from the
//! team's own namespace (inline `value`s), never a file or environment variable of the
//! process. See docs/prometheus.md ("Data sources and trust").

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::prometheus::{PrometheusConfig, PrometheusSource};

/// Who wrote a config, which decides what it may ask the process to read or contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The operator: the CLI's own files, `serve`'s and `guard`'s config files. Inline
    /// `prometheus:` blocks with file and environment secrets are honoured.
    Operator,
    /// An application team: an AnalysisTemplate's plugin config, a request's config.
    Tenant,
}

/// Why a config may not use the Prometheus it asks for. Every message names the field and
/// says what to write instead; none contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceChoiceError {
    /// `source: NAME` names no configured source.
    #[error("`source: {name}` is not a configured data source (configured: {known})")]
    UnknownSource {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated (or "none").
        known: String,
    },
    /// The source exists but may not be used from this namespace.
    #[error("data source `{name}` may not be used from namespace `{namespace}`")]
    NamespaceNotAllowed {
        /// Source name.
        name: String,
        /// The AnalysisRun's namespace.
        namespace: String,
    },
    /// Queries but no source was named, and none is marked default.
    #[error("no data source for `query` arms: {0}")]
    NoSource(String),
    /// Both `source:` and `prometheus:` are written.
    #[error("give `source:` or `prometheus:`, not both")]
    Both,
    /// An application team wrote `prometheus:` but the operator allows no own Prometheus.
    #[error(
        "field `prometheus` is not accepted here: data sources are set by the operator; write \
         `source: NAME` (configured: {known}) or leave it out for the default"
    )]
    InlineNotAllowed {
        /// The configured source names.
        known: String,
    },
    /// An application team's `prometheus:` uses a field that would read the process' own
    /// files or environment (or weaken TLS).
    #[error("field `prometheus.{field}` is not accepted here: {why}")]
    ForbiddenField {
        /// Field path below `prometheus`, e.g. `bearer_token.file`.
        field: String,
        /// What to do instead.
        why: String,
    },
    /// An application team's `prometheus.address` is outside the operator's allow-list.
    #[error(
        "field `prometheus.address`: {address} is not in the operator's allow-list ({allowed}); \
         ask the platform team to add it or use a named `source:`"
    )]
    AddressNotAllowed {
        /// The address written.
        address: String,
        /// The allow-list.
        allowed: String,
    },
    /// An operator config wrote an inline secret `value`.
    #[error(
        "field `prometheus.{field}.value`: inline secrets are not accepted in this file; use \
         `{{file: PATH}}` or `{{env: VAR}}`"
    )]
    InlineSecret {
        /// Field path below `prometheus`.
        field: String,
    },
}

/// Why a sources file (or the `sources:` block of a config) was rejected.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read.
    #[error("cannot read data sources file {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not parse.
    #[error("data sources {origin}: {source}")]
    Syntax {
        /// File path or config block.
        origin: String,
        /// Parser error (names line and field).
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// A source entry is invalid.
    #[error("data sources {origin}: {at}: {why}")]
    Invalid {
        /// File path or config block.
        origin: String,
        /// Which entry, e.g. `sources[1] (thanos)`.
        at: String,
        /// What is wrong.
        why: String,
    },
}

/// One operator-defined Prometheus.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSource {
    /// The name templates use (`source: NAME`).
    pub name: String,
    /// Connection settings; secrets from the operator's files or environment.
    pub config: PrometheusConfig,
    /// Namespaces whose AnalysisRuns may use it (`None`: every namespace).
    pub namespaces: Option<BTreeSet<String>>,
}

/// Whether (and where) application teams may bring their own Prometheus.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantPolicy {
    /// Base URLs a team's `prometheus.address` may start with (scheme, host and port equal;
    /// path on a segment boundary). Empty: teams may only name operator sources.
    pub allowed_addresses: Vec<url::Url>,
    /// Upper bound on a team's `prometheus.timeout`, so a template cannot hold a measurement.
    pub max_timeout: Duration,
}

/// The operator's data sources: what `--sources FILE` (plugin), `sources:` (serve, guard)
/// define.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceCatalog {
    sources: Vec<NamedSource>,
    default: Option<usize>,
    tenant: TenantPolicy,
}

/// `sources:` entry as written: a name, an optional default mark and namespace list, and
/// every [`PrometheusConfig`] field beside them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct RawFile {
    #[serde(default)]
    sources: Vec<serde_yaml_ng::Value>,
    #[serde(default)]
    tenant_prometheus: Option<RawTenant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct RawTenant {
    #[serde(default)]
    allowed_addresses: Vec<String>,
    #[serde(default)]
    max_timeout: Option<String>,
}

const DEFAULT_TENANT_MAX_TIMEOUT: Duration = Duration::from_secs(30);

impl SourceCatalog {
    /// Reads a sources file (YAML):
    /// ```yaml
    /// sources:
    ///   - name: default
    ///     default: true            # optional when there is one source
    ///     address: http://prometheus.monitoring:9090
    ///     bearer_token: {file: /etc/canary-judge/prom-token}
    ///   - name: thanos
    ///     namespaces: [payments]   # optional: only these AnalysisRun namespaces
    ///     address: https://thanos.monitoring:9090
    /// tenant_prometheus:           # optional: teams may bring their own Prometheus
    ///   allowed_addresses: [https://prometheus.team-a.svc:9090]
    ///   max_timeout: 30s
    /// ```
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError::Io {
            path: shown.clone(),
            source: e,
        })?;
        Self::from_yaml_str(&text, &shown)
    }

    /// Parses the sources file format; `origin` names it in errors.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, CatalogError> {
        let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| CatalogError::Syntax {
            origin: origin.to_string(),
            source: e,
        })?;
        Self::from_parts(raw.sources, raw.tenant_prometheus, None, origin)
    }

    /// Builds a catalog from a config file's `sources:` list (entries as YAML values) and,
    /// for older files, a single `prometheus:` block, which becomes the source `default`.
    pub fn from_config_blocks(
        sources: Vec<serde_yaml_ng::Value>,
        legacy: Option<PrometheusConfig>,
        origin: &str,
    ) -> Result<Self, CatalogError> {
        Self::from_parts(sources, None, legacy, origin)
    }

    fn from_parts(
        entries: Vec<serde_yaml_ng::Value>,
        tenant: Option<RawTenant>,
        legacy: Option<PrometheusConfig>,
        origin: &str,
    ) -> Result<Self, CatalogError> {
        let invalid = |at: String, why: String| CatalogError::Invalid {
            origin: origin.to_string(),
            at,
            why,
        };
        let mut catalog = SourceCatalog::default();
        let mut defaults = Vec::new();
        if let Some(cfg) = legacy {
            catalog.sources.push(NamedSource {
                name: "default".to_string(),
                config: cfg,
                namespaces: None,
            });
            defaults.push(0);
        }
        for (i, entry) in entries.into_iter().enumerate() {
            let serde_yaml_ng::Value::Mapping(mut map) = entry else {
                return Err(invalid(format!("sources[{i}]"), "must be a mapping".into()));
            };
            let name = match map.remove("name") {
                Some(serde_yaml_ng::Value::String(s)) if !s.trim().is_empty() => s,
                _ => {
                    return Err(invalid(
                        format!("sources[{i}]"),
                        "`name` (a non-empty string) is required".into(),
                    ));
                }
            };
            let at = format!("sources[{i}] ({name})");
            let is_default = match map.remove("default") {
                None => false,
                Some(serde_yaml_ng::Value::Bool(b)) => b,
                Some(_) => return Err(invalid(at, "`default` must be true or false".into())),
            };
            let namespaces = match map.remove("namespaces") {
                None => None,
                Some(v) => Some(
                    serde_yaml_ng::from_value::<BTreeSet<String>>(v)
                        .map_err(|e| invalid(at.clone(), format!("`namespaces`: {e}")))?,
                ),
            };
            let config: PrometheusConfig =
                serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(map))
                    .map_err(|e| invalid(at.clone(), e.to_string()))?;
            for (field, r) in config.secret_refs() {
                if r.value.is_some() {
                    return Err(invalid(
                        at.clone(),
                        format!("`{field}.value`: write secrets as {{file: PATH}} or {{env: VAR}}"),
                    ));
                }
            }
            if catalog.sources.iter().any(|s| s.name == name) {
                return Err(invalid(at, format!("source name `{name}` is used twice")));
            }
            if is_default {
                defaults.push(catalog.sources.len());
            }
            catalog.sources.push(NamedSource {
                name,
                config,
                namespaces,
            });
        }
        catalog.default = match defaults.as_slice() {
            [] if catalog.sources.len() == 1 => Some(0),
            [] => None,
            [one] => Some(*one),
            _ => {
                return Err(invalid(
                    "sources".into(),
                    "more than one source is marked `default: true` (or a `prometheus:` block \
                     and a default source are both given)"
                        .into(),
                ));
            }
        };
        if let Some(t) = tenant {
            let max_timeout = match t.max_timeout.as_deref() {
                None => DEFAULT_TENANT_MAX_TIMEOUT,
                Some(text) => crate::duration::parse_positive_duration(text)
                    .map_err(|e| invalid("tenant_prometheus.max_timeout".into(), e.to_string()))?,
            };
            let mut allowed = Vec::new();
            for (i, a) in t.allowed_addresses.iter().enumerate() {
                let u = url::Url::parse(a).map_err(|e| {
                    invalid(
                        format!("tenant_prometheus.allowed_addresses[{i}]"),
                        format!("{a:?} is not a URL: {e}"),
                    )
                })?;
                if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
                    return Err(invalid(
                        format!("tenant_prometheus.allowed_addresses[{i}]"),
                        format!("{a:?} must be an http:// or https:// URL with a host"),
                    ));
                }
                allowed.push(u);
            }
            catalog.tenant = TenantPolicy {
                allowed_addresses: allowed,
                max_timeout,
            };
        }
        Ok(catalog)
    }

    /// Builds every source's client once, so a bad address, an unreadable secret file or CA
    /// file is reported when the file is loaded rather than at the first analysis.
    pub fn check(&self) -> Result<(), CatalogError> {
        for s in &self.sources {
            PrometheusSource::new(&s.config).map_err(|e| CatalogError::Invalid {
                origin: "check".to_string(),
                at: format!("source `{}`", s.name),
                why: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// The configured sources, in file order.
    pub fn sources(&self) -> &[NamedSource] {
        &self.sources
    }

    /// True when no source is configured.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The default source's name, if any.
    pub fn default_name(&self) -> Option<&str> {
        self.default.map(|i| self.sources[i].name.as_str())
    }

    /// Points the default source (or a new `default` source) at `address`: the service's
    /// `--prometheus-url` override.
    pub fn override_default_address(&mut self, address: &str) {
        match self.default {
            Some(i) => self.sources[i].config.address = address.to_string(),
            None if self.sources.is_empty() => {
                self.sources.push(NamedSource {
                    name: "default".to_string(),
                    config: PrometheusConfig::with_address(address),
                    namespaces: None,
                });
                self.default = Some(0);
            }
            None => {}
        }
    }

    fn known(&self) -> String {
        if self.sources.is_empty() {
            return "none".to_string();
        }
        self.sources
            .iter()
            .map(|s| {
                if Some(s.name.as_str()) == self.default_name() {
                    format!("{} (default)", s.name)
                } else {
                    s.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Decides which Prometheus a config reaches: `source` (a name, or `None` for the
    /// default) or its own `inline` block, written by `origin`, for an analysis in
    /// `namespace` (the AnalysisRun's; `None` outside Argo). Returns the source's name
    /// (`None` for an inline block) and its settings. Nothing is read or contacted here.
    pub fn choose(
        &self,
        source: Option<&str>,
        inline: Option<&PrometheusConfig>,
        origin: Origin,
        namespace: Option<&str>,
    ) -> Result<(Option<String>, PrometheusConfig), SourceChoiceError> {
        match (source, inline) {
            (Some(_), Some(_)) => Err(SourceChoiceError::Both),
            (None, Some(cfg)) => match origin {
                Origin::Operator => {
                    for (field, r) in cfg.secret_refs() {
                        if r.value.is_some() {
                            return Err(SourceChoiceError::InlineSecret { field });
                        }
                    }
                    Ok((None, cfg.clone()))
                }
                Origin::Tenant => self.tenant_inline(cfg).map(|c| (None, c)),
            },
            (Some(name), None) => self.named(name, namespace),
            (None, None) => match self.default {
                Some(i) => self.named(&self.sources[i].name.clone(), namespace),
                None => Err(SourceChoiceError::NoSource(if self.sources.is_empty() {
                    "no data source is configured (the operator passes them with `--sources \
                     FILE` or a `sources:` block)"
                        .to_string()
                } else {
                    format!(
                        "none is marked default; write `source: NAME` (configured: {})",
                        self.known()
                    )
                })),
            },
        }
    }

    fn named(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<(Option<String>, PrometheusConfig), SourceChoiceError> {
        let s = self
            .sources
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| SourceChoiceError::UnknownSource {
                name: name.to_string(),
                known: self.known(),
            })?;
        if let (Some(allowed), Some(ns)) = (&s.namespaces, namespace)
            && !allowed.contains(ns)
        {
            return Err(SourceChoiceError::NamespaceNotAllowed {
                name: name.to_string(),
                namespace: ns.to_string(),
            });
        }
        Ok((Some(s.name.clone()), s.config.clone()))
    }

    /// An application team's own `prometheus:` block: allowed only to an allow-listed
    /// address, only with inline credentials, without CA files or disabled verification,
    /// with the timeout capped and redirects off.
    fn tenant_inline(&self, cfg: &PrometheusConfig) -> Result<PrometheusConfig, SourceChoiceError> {
        if self.tenant.allowed_addresses.is_empty() {
            return Err(SourceChoiceError::InlineNotAllowed {
                known: self.known(),
            });
        }
        let own = "it would be read from the controller's (or service's) own disk or \
                   environment; pass your team's secret as an AnalysisTemplate argument from \
                   `valueFrom.secretKeyRef` and write `{value: \"{{args.NAME}}\"}`";
        for (field, r) in cfg.secret_refs() {
            if r.file.is_some() {
                return Err(SourceChoiceError::ForbiddenField {
                    field: format!("{field}.file"),
                    why: own.to_string(),
                });
            }
            if r.env.is_some() {
                return Err(SourceChoiceError::ForbiddenField {
                    field: format!("{field}.env"),
                    why: own.to_string(),
                });
            }
        }
        if cfg.ca_file.is_some() {
            return Err(SourceChoiceError::ForbiddenField {
                field: "ca_file".to_string(),
                why: "CA files are read from the controller's disk; ask the platform team for \
                      a named source with that CA"
                    .to_string(),
            });
        }
        if cfg.insecure_skip_verify {
            return Err(SourceChoiceError::ForbiddenField {
                field: "insecure_skip_verify".to_string(),
                why: "certificate checks cannot be turned off from a template; ask the platform \
                      team for a named source"
                    .to_string(),
            });
        }
        let allowed_list = || {
            self.tenant
                .allowed_addresses
                .iter()
                .map(url::Url::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let not_allowed = || SourceChoiceError::AddressNotAllowed {
            address: cfg.address.clone(),
            allowed: allowed_list(),
        };
        let url = url::Url::parse(&cfg.address).map_err(|_| not_allowed())?;
        if !self
            .tenant
            .allowed_addresses
            .iter()
            .any(|a| address_within(&url, a))
        {
            return Err(not_allowed());
        }
        let mut out = cfg.clone();
        out.follow_redirects = false;
        if out.timeout > self.tenant.max_timeout {
            out.timeout = self.tenant.max_timeout;
        }
        Ok(out)
    }
}

/// True when `url` is `base` or below it: same scheme, host and port, no user info, and a
/// path that continues `base`'s path on a segment boundary (`/prom` admits `/prom/x`, not
/// `/prometheus`).
fn address_within(url: &url::Url, base: &url::Url) -> bool {
    if url.scheme() != base.scheme()
        || url.host_str() != base.host_str()
        || url.port_or_known_default() != base.port_or_known_default()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return false;
    }
    let prefix = base.path().trim_end_matches('/');
    let path = url.path();
    path == prefix || path.starts_with(&format!("{prefix}/")) || prefix.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(text: &str) -> SourceCatalog {
        SourceCatalog::from_yaml_str(text, "test").unwrap()
    }

    const TWO: &str = "sources:\n  - name: main\n    default: true\n    address: http://p:9090\n  \
                       - name: thanos\n    namespaces: [pay]\n    address: http://t:9090\n    \
                       bearer_token: {env: TOK}\n";

    #[test]
    fn default_named_and_unknown() {
        let c = catalog(TWO);
        let (name, cfg) = c.choose(None, None, Origin::Tenant, Some("a")).unwrap();
        assert_eq!(
            (name.as_deref(), cfg.address.as_str()),
            (Some("main"), "http://p:9090")
        );
        let (_, t) = c
            .choose(Some("thanos"), None, Origin::Tenant, Some("pay"))
            .unwrap();
        assert_eq!(t.address, "http://t:9090");
        let e = c
            .choose(Some("thanos"), None, Origin::Tenant, Some("shop"))
            .unwrap_err();
        assert!(e.to_string().contains("namespace `shop`"), "{e}");
        let e = c
            .choose(Some("nope"), None, Origin::Tenant, None)
            .unwrap_err();
        assert!(e.to_string().contains("main (default), thanos"), "{e}");
    }

    #[test]
    fn one_source_is_the_default_and_none_says_so() {
        let c = catalog("sources:\n  - name: only\n    address: http://p\n");
        assert_eq!(c.default_name(), Some("only"));
        let e = SourceCatalog::default()
            .choose(None, None, Origin::Tenant, None)
            .unwrap_err();
        assert!(e.to_string().contains("--sources"), "{e}");
    }

    #[test]
    fn file_errors_name_the_entry() {
        for (text, want) in [
            ("sources:\n  - address: http://p\n", "`name`"),
            (
                "sources:\n  - name: a\n    address: http://p\n    timeuot: 1s\n",
                "timeuot",
            ),
            (
                "sources:\n  - name: a\n    address: http://p\n  - name: a\n    address: http://q\n",
                "twice",
            ),
            (
                "sources:\n  - name: a\n    default: true\n    address: http://p\n  - name: b\n    default: true\n    address: http://q\n",
                "more than one",
            ),
            (
                "sources:\n  - name: a\n    address: http://p\n    bearer_token: {value: x}\n",
                "bearer_token.value",
            ),
            (
                "tenant_prometheus:\n  allowed_addresses: [ftp://x]\n",
                "http",
            ),
            ("sourcez: []\n", "sourcez"),
        ] {
            let e = SourceCatalog::from_yaml_str(text, "f.yaml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn tenant_inline_blocks_are_refused_without_an_allow_list() {
        let c = catalog(TWO);
        let inline = PrometheusConfig::with_address("http://evil:1");
        let e = c
            .choose(None, Some(&inline), Origin::Tenant, None)
            .unwrap_err();
        assert!(
            matches!(e, SourceChoiceError::InlineNotAllowed { .. }),
            "{e}"
        );
        assert!(e.to_string().contains("source: NAME"), "{e}");
        // The operator's own files keep their inline blocks.
        assert!(
            c.choose(None, Some(&inline), Origin::Operator, None)
                .is_ok()
        );
        assert_eq!(
            c.choose(Some("main"), Some(&inline), Origin::Operator, None),
            Err(SourceChoiceError::Both)
        );
    }

    #[test]
    fn tenant_inline_rules() {
        let c = catalog(
            "tenant_prometheus:\n  allowed_addresses: [\"http://team:9090/prom\"]\n  max_timeout: 5s\n",
        );
        let yaml = |extra: &str| -> PrometheusConfig {
            serde_yaml_ng::from_str(&format!("address: http://team:9090/prom\n{extra}")).unwrap()
        };
        let refuse = |cfg: PrometheusConfig, field: &str| {
            let e = c
                .choose(None, Some(&cfg), Origin::Tenant, None)
                .unwrap_err();
            assert!(e.to_string().contains(field), "{field}: {e}");
        };
        refuse(
            yaml("bearer_token: {file: /var/run/secrets/token}"),
            "prometheus.bearer_token.file",
        );
        refuse(
            yaml("bearer_token: {env: AWS_SECRET}"),
            "prometheus.bearer_token.env",
        );
        refuse(
            yaml("basic_auth: {username: u, password: {file: /p}}"),
            "basic_auth.password.file",
        );
        refuse(
            yaml("basic_auth: {username: u, password: {env: P}}"),
            "basic_auth.password.env",
        );
        refuse(yaml("headers: {X-Key: {env: K}}"), "headers.X-Key.env");
        refuse(yaml("ca_file: /etc/ssl/ca.pem"), "prometheus.ca_file");
        refuse(yaml("insecure_skip_verify: true"), "insecure_skip_verify");
        for bad in [
            "http://team:9090/prometheus",
            "http://team:9091/prom",
            "https://team:9090/prom",
            "http://other:9090/prom",
            "http://u:p@team:9090/prom",
            "not a url",
        ] {
            let cfg = PrometheusConfig::with_address(bad);
            let e = c
                .choose(None, Some(&cfg), Origin::Tenant, None)
                .unwrap_err();
            assert!(
                matches!(e, SourceChoiceError::AddressNotAllowed { .. }),
                "{bad}: {e}"
            );
        }
        let ok = yaml("timeout: 1h\nbearer_token: {value: team-token}\nheaders: {X-Org: a}");
        let (_, got) = c.choose(None, Some(&ok), Origin::Tenant, None).unwrap();
        assert_eq!(got.timeout, Duration::from_secs(5));
        assert!(!got.follow_redirects);
        assert!(got.inline_secrets().contains(&"team-token".to_string()));
        let sub = PrometheusConfig::with_address("http://team:9090/prom/api");
        assert!(c.choose(None, Some(&sub), Origin::Tenant, None).is_ok());
    }

    #[test]
    fn operator_configs_may_not_inline_secrets() {
        let cfg: PrometheusConfig =
            serde_yaml_ng::from_str("address: http://p\nbearer_token: {value: x}\n").unwrap();
        let e = SourceCatalog::default()
            .choose(None, Some(&cfg), Origin::Operator, None)
            .unwrap_err();
        assert!(e.to_string().contains("bearer_token.value"), "{e}");
    }
}
