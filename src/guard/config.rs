//! The guard's own config file (YAML): where the releases live, how to reach the application,
//! how to tell it to reload, which analysis template judges a new release and for how long,
//! the admin endpoint and the config watcher. Paths are relative to the config file.

use super::GuardError;
pub use super::reload::ReloadConfig;
use crate::duration::deserialize_duration;
use crate::source::prometheus::PrometheusConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole guard config.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct GuardConfig {
    /// Directory holding `releases/` and the `current` symlink.
    pub root: PathBuf,
    /// Where the state file, audit log and saved copies live (default `<root>/.guard`).
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// How to reach the application.
    pub app: AppConfig,
    /// How to tell the application to load the release `current` points to.
    #[serde(default)]
    pub reload: ReloadConfig,
    /// The judgement of a newly activated release.
    pub judge: JudgeConfig,
    /// `POST /admin/rollback` and `GET /admin/status`; off when absent.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// Watch the active release's config directory; off when absent.
    #[serde(default)]
    pub config_watch: Option<WatchConfig>,
    /// Prometheus connection, required when `judge.source` is `prometheus`.
    #[serde(default)]
    pub prometheus: Option<PrometheusConfig>,
}

/// The application's HTTP endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AppConfig {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// Health path; must answer 200.
    #[serde(default = "default_health")]
    pub health_path: String,
    /// Version path; its body (trimmed) or its `X-App-Version` header must equal the
    /// release's directory name.
    #[serde(default = "default_version")]
    pub version_path: String,
    /// Prometheus text exposition of the application's own metrics.
    #[serde(default = "default_metrics")]
    pub metrics_path: String,
    /// How long a new release may take to answer healthy with the right version.
    #[serde(default = "default_grace", deserialize_with = "deserialize_duration")]
    pub startup_grace: Duration,
    /// Deadline of each HTTP request to the application.
    #[serde(
        default = "default_request_timeout",
        deserialize_with = "deserialize_duration"
    )]
    pub request_timeout: Duration,
}

/// Where the judged series come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeSource {
    /// Scrape the application's `/metrics` every `interval` (queries are metric selectors).
    #[default]
    Scrape,
    /// Range queries against Prometheus (queries are PromQL with `{{version}}` and
    /// `{{baseline_version}}` placeholders).
    Prometheus,
}

/// What an inconclusive verdict at the deadline does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InconclusivePolicy {
    /// Roll back (the default: the release did not show it is safe).
    #[default]
    Rollback,
    /// Keep the release and mark it good.
    Keep,
    /// Keep the release but do not mark it good (it is not a rollback target).
    KeepUnmarked,
}

/// The judgement of a new release.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct JudgeConfig {
    /// Analysis template (the `analyze` config format; arms use `query:`).
    pub analysis: PathBuf,
    /// How long a new release is watched before the verdict.
    #[serde(deserialize_with = "deserialize_duration")]
    pub duration: Duration,
    /// Scrape and health-check interval.
    #[serde(
        default = "default_interval",
        deserialize_with = "deserialize_duration"
    )]
    pub interval: Duration,
    /// Data source.
    #[serde(default)]
    pub source: JudgeSource,
    /// Inconclusive at the deadline.
    #[serde(default)]
    pub on_inconclusive: InconclusivePolicy,
    /// Consecutive failed health/version checks that fail the release at once.
    #[serde(default = "default_health_failures")]
    pub health_failures: u32,
}

/// The admin endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AdminConfig {
    /// Listen address, e.g. `127.0.0.1:9750`.
    pub listen: String,
    /// File holding the bearer token (trailing newline ignored).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding the bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Calls allowed per minute (all callers together), default 30.
    #[serde(default = "default_rate")]
    pub rate_limit_per_minute: u32,
}

/// The config watcher.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct WatchConfig {
    /// Config directory inside each release (default `config`).
    #[serde(default = "default_watch_dir")]
    pub dir: PathBuf,
    /// Schema every `*.json`, `*.yaml` and `*.yml` file there must satisfy.
    pub schema: PathBuf,
}

fn default_health() -> String {
    "/healthz".into()
}
fn default_version() -> String {
    "/version".into()
}
fn default_metrics() -> String {
    "/metrics".into()
}
fn default_grace() -> Duration {
    Duration::from_secs(10)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(2)
}
fn default_interval() -> Duration {
    Duration::from_secs(1)
}
fn default_health_failures() -> u32 {
    3
}
fn default_rate() -> u32 {
    30
}
fn default_watch_dir() -> PathBuf {
    PathBuf::from("config")
}

impl GuardConfig {
    /// Read and check a guard config; relative paths are resolved against its directory.
    pub fn load(path: &Path) -> Result<Self, GuardError> {
        let text = std::fs::read_to_string(path).map_err(|e| GuardError::io("read", path, e))?;
        let bad = |message: String| GuardError::Config {
            path: path.display().to_string(),
            message,
        };
        let mut cfg: GuardConfig =
            serde_yaml_ng::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        cfg.root = resolve(&cfg.root);
        cfg.state_dir = cfg.state_dir.as_deref().map(resolve);
        cfg.judge.analysis = resolve(&cfg.judge.analysis);
        if let Some(pid) = cfg.reload.pid_file.as_deref() {
            cfg.reload.pid_file = Some(resolve(pid));
        }
        if let Some(a) = cfg.admin.as_mut() {
            a.token_file = a.token_file.as_deref().map(resolve);
        }
        if let Some(w) = cfg.config_watch.as_mut() {
            w.schema = resolve(&w.schema);
            if w.dir.is_absolute() || w.dir.components().any(|c| c.as_os_str() == "..") {
                return Err(bad(
                    "config_watch.dir must be a path inside the release".into()
                ));
            }
        }
        if cfg.judge.interval.is_zero() || cfg.judge.duration < cfg.judge.interval {
            return Err(bad("judge.duration must be at least judge.interval".into()));
        }
        if cfg.judge.source == JudgeSource::Prometheus && cfg.prometheus.is_none() {
            return Err(bad(
                "judge.source is prometheus but the `prometheus` section is missing".into(),
            ));
        }
        if cfg.reload.pid_file.is_some() && cfg.reload.command.is_some() {
            return Err(bad(
                "reload: give either pid_file or command, not both".into()
            ));
        }
        if cfg.reload.command.as_ref().is_some_and(Vec::is_empty) {
            return Err(bad("reload.command is empty".into()));
        }
        if let Some(sig) = &cfg.reload.signal {
            super::reload::signal_number(sig).map_err(bad)?;
        }
        Ok(cfg)
    }

    /// The state directory (explicit, else `<root>/.guard`).
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| self.root.join(".guard"))
    }
}
