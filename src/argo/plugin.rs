//! The plugin's RPC methods (`Plugin.InitPlugin`, `Run`, `Resume`, `Terminate`,
//! `GarbageCollect`, `Type`, `GetMetadata`) on top of the analysis engine.
//!
//! Every method answers with a value the controller can decode: problems become an `Error`
//! measurement (or an `RpcError` / `error` metadata entry) whose message names the problem,
//! never a panic or a malformed reply (a reply Go cannot decode breaks the stream for good,
//! docs/argo-plugin-protocol.md §1.6). State lives only in `Measurement.Metadata`, because the
//! controller may restart this process or fail over between Run and Resume.
//!
//! Plugin config (the single `provider.plugin` entry, documented key `canary-judge/judge`):
//! a canary-judge analysis config as JSON (`scoring`, `defaults`, `metrics`), plus an
//! optional `hold: {max_duration, resume_every}` (Go duration strings) that keeps an
//! inconclusive measurement `Running` and re-judges it on `Resume` until it is decided or the
//! deadline passes.
//!
//! Prometheus: arms written as `query` are fetched at every `Run`/`Resume` (asynchronously,
//! on their own task) over the window from `window.since`/`window.window`, else the
//! AnalysisRun's `status.startedAt`, to now; `vars` fills `{{name}}` placeholders. A fault is
//! an `Error` measurement naming the address and the cause; the resolved queries and point
//! and event counts go into `Measurement.Metadata` ([`fetch_metadata`]). See
//! docs/prometheus.md.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::json;

use crate::analysis::config::RawAnalysisConfig;
use crate::analysis::fetch::{self, Fetched};
use crate::analysis::{self, AnalysisConfig, AnalysisReport};
use crate::gob::{GoTime, Schema, Value};
use crate::goplugin::{BoxFuture, Reply, RpcService};
use crate::source::catalog::{Origin, SourceCatalog, SourceChoiceError};
use crate::source::prometheus::{PrometheusConfig, PrometheusSource};
use crate::stats::Verdict;

use super::expr::evaluate_result;
use super::types::{
    GarbageCollectArgs, GetMetadataArgs, Measurement, Metric, Phase, RunArgs,
    TerminateAndResumeArgs, measurement_schema, rpc_error_schema, rpc_error_value,
    string_map_schema, string_map_value,
};

/// What `Plugin.Type` answers.
pub const PLUGIN_TYPE: &str = "canary-judge";

/// The plugin name users are told to register in `argo-rollouts-config` (any name works: the
/// plugin reads the single `provider.plugin` entry whatever its key).
pub const DOCUMENTED_PLUGIN_NAME: &str = "canary-judge/judge";

/// Environment variable naming the directory that relative `file:` series are read from.
/// Checked by `InitPlugin`; defaults to the controller's working directory.
pub const DATA_DIR_ENV: &str = "CANARY_JUDGE_DATA_DIR";

/// Metadata key holding the hold deadline (RFC 3339, UTC).
pub const HOLD_DEADLINE_KEY: &str = "canary-judge.hold.deadline";
/// Metadata key counting how many times a held measurement was re-judged.
pub const HOLD_ROUNDS_KEY: &str = "canary-judge.hold.rounds";

/// Why a measurement could not be judged; the text becomes the `Error` measurement message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginError {
    /// `InitPlugin` failed earlier in this process.
    #[error("plugin initialisation failed: {0}")]
    Init(String),
    /// The RPC argument is missing something.
    #[error(transparent)]
    Args(#[from] super::types::ArgsError),
    /// The metric names no plugin config.
    #[error(
        "metric `{metric}` has no provider.plugin entry (expected one, e.g. `{DOCUMENTED_PLUGIN_NAME}`)"
    )]
    NoPluginEntry {
        /// Metric name.
        metric: String,
    },
    /// The metric names several plugin configs.
    #[error("metric `{metric}` has {count} provider.plugin entries ({keys}); expected exactly one")]
    SeveralPluginEntries {
        /// Metric name.
        metric: String,
        /// How many.
        count: usize,
        /// Their keys.
        keys: String,
    },
    /// The plugin config is not a JSON object.
    #[error("plugin config `{key}` is not a JSON object: {why}")]
    NotJson {
        /// Plugin key.
        key: String,
        /// Parser message.
        why: String,
    },
    /// The plugin config is JSON but not a valid analysis config.
    #[error("plugin config `{key}`: {why}")]
    Config {
        /// Plugin key.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// The config asks for a Prometheus it may not use (the trust boundary).
    #[error("plugin config `{key}`: {source}")]
    Source {
        /// Plugin key.
        key: String,
        /// Which rule refused it.
        #[source]
        source: SourceChoiceError,
    },
    /// Loading series failed.
    #[error("{0}")]
    Data(String),
    /// A success/failure condition could not be evaluated.
    #[error("{which} `{condition}`: {why}")]
    Condition {
        /// `successCondition` or `failureCondition` (or both).
        which: &'static str,
        /// The condition text.
        condition: String,
        /// Parser or evaluator message.
        why: String,
    },
    /// The engine panicked (a bug); caught so the controller still gets a reply.
    #[error("internal error while judging: {0}")]
    Panic(String),
}

/// `hold:` section of the plugin config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hold {
    /// Longest time a measurement may stay `Running` (from its StartedAt).
    pub max_duration: Duration,
    /// Delay until the controller should call `Resume` again.
    pub resume_every: Duration,
}

/// A resolved plugin config.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The `provider.plugin` key it came from.
    pub key: String,
    /// The analysis config.
    pub analysis: AnalysisConfig,
    /// Holding policy, if any.
    pub hold: Option<Hold>,
    /// Values for `{{name}}` placeholders in Prometheus queries (the plugin config's `vars`;
    /// Argo has already replaced its own `{{args.X}}` before the plugin sees the config).
    pub vars: BTreeMap<String, String>,
}

fn parse_hold(v: &serde_json::Value) -> Result<Hold, String> {
    let obj = v
        .as_object()
        .ok_or("`hold` must be an object {max_duration, resume_every}")?;
    for k in obj.keys() {
        if k != "max_duration" && k != "resume_every" {
            return Err(format!(
                "unknown field `hold.{k}` (expected max_duration, resume_every)"
            ));
        }
    }
    let dur = |name: &str| -> Result<Duration, String> {
        match obj.get(name) {
            Some(serde_json::Value::String(s)) => {
                crate::duration::parse_duration(s).map_err(|e| format!("`hold.{name}`: {e}"))
            }
            Some(_) => Err(format!(
                "`hold.{name}` must be a duration string like \"30s\""
            )),
            None => Err(format!("`hold.{name}` is missing")),
        }
    };
    let hold = Hold {
        max_duration: dur("max_duration")?,
        resume_every: dur("resume_every")?,
    };
    if hold.resume_every < Duration::from_secs(1) {
        return Err("`hold.resume_every` must be at least 1s".to_string());
    }
    Ok(hold)
}

/// Picks the single plugin entry of a metric and parses it.
pub fn resolve_config(metric: &Metric) -> Result<PluginConfig, PluginError> {
    let (key, bytes) = match metric.plugin.as_slice() {
        [] => {
            return Err(PluginError::NoPluginEntry {
                metric: metric.name.clone(),
            });
        }
        [one] => one,
        many => {
            return Err(PluginError::SeveralPluginEntries {
                metric: metric.name.clone(),
                count: many.len(),
                keys: many
                    .iter()
                    .map(|(k, _)| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    let not_json = |why: String| PluginError::NotJson {
        key: key.clone(),
        why,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| not_json(e.to_string()))?;
    let serde_json::Value::Object(mut obj) = value else {
        return Err(not_json(format!("got {}", json_kind(&value))));
    };
    let config_err = |why: String| PluginError::Config {
        key: key.clone(),
        why,
    };
    let hold = match obj.remove("hold") {
        None | Some(serde_json::Value::Null) => None,
        Some(h) => Some(parse_hold(&h).map_err(config_err)?),
    };
    let vars = match obj.remove("vars") {
        None | Some(serde_json::Value::Null) => BTreeMap::new(),
        Some(v) => serde_json::from_value::<BTreeMap<String, String>>(v)
            .map_err(|e| config_err(format!("`vars` must map names to strings: {e}")))?,
    };
    let rest = serde_json::Value::Object(obj);
    // Fast path: read the shape straight from the parsed value (no second text round trip
    // of every inline sample). On any shape error fall back to the text parser, whose
    // messages name the field's path.
    let parsed = match RawAnalysisConfig::deserialize(&rest) {
        Ok(raw) => AnalysisConfig::validate(raw),
        Err(_) => AnalysisConfig::from_json_str(&rest.to_string()),
    };
    let analysis = parsed.map_err(|e| config_err(e.to_string()))?;
    Ok(PluginConfig {
        key: key.clone(),
        analysis,
        hold,
        vars,
    })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The current time as Go's UTC `time.Time`.
fn now() -> GoTime {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    GoTime {
        unix_seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos(),
        offset_seconds: None,
    }
}

fn add(t: GoTime, d: Duration) -> GoTime {
    GoTime {
        unix_seconds: t
            .unix_seconds
            .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        nanos: t.nanos,
        offset_seconds: None,
    }
}

fn rfc3339(t: GoTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.unix_seconds)
        .ok()
        .and_then(|dt| {
            dt.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.unix_seconds.to_string())
}

fn parse_rfc3339(s: &str) -> Option<GoTime> {
    let dt = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some(GoTime {
        unix_seconds: dt.unix_timestamp(),
        nanos: 0,
        offset_seconds: None,
    })
}

fn num(x: Option<f64>) -> String {
    match x {
        Some(v) => format!("{v}"),
        None => String::new(),
    }
}

fn finite(x: Option<f64>) -> serde_json::Value {
    match x {
        Some(v) if v.is_finite() => json!(v),
        Some(v) => json!(v.to_string()),
        None => serde_json::Value::Null,
    }
}

/// The `result` object conditions see and the measurement value carries.
pub fn verdict_json(report: &AnalysisReport) -> serde_json::Value {
    let mut metrics = serde_json::Map::new();
    for m in &report.metrics {
        let d = &m.decision;
        metrics.insert(
            m.name.clone(),
            json!({
                "verdict": d.verdict.as_str(),
                "outcome": m.outcome,
                "method": d.method,
                "effect": finite(d.effect),
                "ci_low": finite(d.ci_low),
                "ci_high": finite(d.ci_high),
                "p_value": finite(d.p_value),
                "e_value": finite(d.e_value),
                "n_canary": d.n_canary,
                "n_baseline": d.n_baseline,
                "reason": d.reason,
            }),
        );
    }
    json!({
        "verdict": report.verdict.as_str(),
        "score": finite(report.score),
        "reason": report.reason,
        "metrics": metrics,
    })
}

/// Flat per-metric metadata (`<metric>.verdict`, `.effect`, `.interval`, `.p_value`,
/// `.e_value`, `.n`, `.reason`) so `kubectl get analysisrun -o yaml` shows why.
pub fn report_metadata(report: &AnalysisReport) -> BTreeMap<String, String> {
    let mut md = BTreeMap::new();
    md.insert("verdict".to_string(), report.verdict.as_str().to_string());
    md.insert("score".to_string(), num(report.score));
    md.insert("reason".to_string(), report.reason.clone());
    for m in &report.metrics {
        let d = &m.decision;
        let k = |s: &str| format!("{}.{s}", m.name);
        md.insert(k("verdict"), d.verdict.as_str().to_string());
        md.insert(k("method"), d.method.clone());
        md.insert(k("effect"), num(d.effect));
        if d.ci_low.is_some() || d.ci_high.is_some() {
            md.insert(
                k("interval"),
                format!("[{}, {}]", num(d.ci_low), num(d.ci_high)),
            );
        }
        if d.p_value.is_some() {
            md.insert(k("p_value"), num(d.p_value));
        }
        if d.e_value.is_some() {
            md.insert(k("e_value"), num(d.e_value));
        }
        md.insert(
            k("n"),
            format!("canary={} baseline={}", d.n_canary, d.n_baseline),
        );
        md.insert(k("reason"), d.reason.clone());
    }
    md
}

/// Per-metric fetch details for `Measurement.Metadata`: the resolved queries, the window,
/// the step, and point/event/traffic counts per arm (`<metric>.canary.query`, ...).
pub fn fetch_metadata(f: &Fetched) -> BTreeMap<String, String> {
    let mut md = BTreeMap::new();
    let t = |s: i64| {
        rfc3339(GoTime {
            unix_seconds: s,
            nanos: 0,
            offset_seconds: None,
        })
    };
    md.insert(
        "window".to_string(),
        format!("{} .. {}", t(f.start), t(f.end)),
    );
    for (name, m) in &f.metrics {
        md.insert(format!("{name}.step"), format!("{}s", m.step_seconds));
        let arms = std::iter::once(("canary", &m.canary))
            .chain(m.baseline.as_ref().map(|b| ("baseline", b)));
        for (arm, a) in arms {
            let k = |s: &str| format!("{name}.{arm}.{s}");
            md.insert(k("query"), a.queries.join("\n"));
            md.insert(k("points"), a.points.to_string());
            if a.missing > 0 {
                md.insert(k("missing"), a.missing.to_string());
            }
            if let Some(e) = a.events {
                md.insert(k("events"), format!("{e}"));
            }
            if let Some(tr) = a.traffic {
                md.insert(k("traffic"), format!("{tr}"));
            }
            if let Some(why) = &a.no_data {
                md.insert(k("no_data"), why.clone());
            }
        }
    }
    md
}

/// The Argo plugin: an [`RpcService`] for go-plugin's `Plugin` service.
#[derive(Debug)]
pub struct JudgePlugin {
    /// `None` until InitPlugin; then `Ok(data dir)` or the init error.
    init: Mutex<Option<Result<PathBuf, String>>>,
    /// The operator's data sources (`--sources FILE`), or why they could not be loaded
    /// (reported by InitPlugin and by every Run).
    catalog: Result<Arc<SourceCatalog>, String>,
}

impl Default for JudgePlugin {
    fn default() -> Self {
        Self::with_catalog(Ok(Arc::new(SourceCatalog::default())))
    }
}

impl JudgePlugin {
    /// A plugin that has not been initialised yet, without data sources (inline values and
    /// files only).
    pub fn new() -> Self {
        Self::default()
    }

    /// A plugin with the operator's data sources, or the error loading them produced.
    pub fn with_catalog(catalog: Result<Arc<SourceCatalog>, String>) -> Self {
        JudgePlugin {
            init: Mutex::new(None),
            catalog,
        }
    }

    /// Decides which Prometheus the metric's config reaches (operator source or, where the
    /// operator allows it, the team's own), before anything is read or sent. Configs without
    /// `query` arms and without a `prometheus:` block need none.
    fn choose_source(
        &self,
        config: &PluginConfig,
        namespace: &str,
    ) -> Result<Option<PrometheusConfig>, PluginError> {
        let a = &config.analysis;
        if a.prometheus.is_none() && a.source.is_none() && !a.has_queries() {
            return Ok(None);
        }
        let catalog = self
            .catalog
            .as_ref()
            .map_err(|e| PluginError::Init(e.clone()))?;
        let ns = (!namespace.is_empty()).then_some(namespace);
        catalog
            .choose(
                a.source.as_deref(),
                a.prometheus.as_ref(),
                Origin::Tenant,
                ns,
            )
            .map(|(_, cfg)| Some(cfg))
            .map_err(|source| PluginError::Source {
                key: config.key.clone(),
                source,
            })
    }

    fn init_state(&self) -> Option<Result<PathBuf, String>> {
        match self.init.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// `InitPlugin`: checks the process-level settings (fast, never blocks: it runs under
    /// the controller's global plugin mutex). An empty string means success.
    pub fn init_plugin(&self) -> String {
        let state = match std::env::var_os(DATA_DIR_ENV) {
            _ if self.catalog.is_err() => {
                Err(self.catalog.as_ref().err().cloned().unwrap_or_default())
            }
            None => std::env::current_dir()
                .map_err(|e| format!("cannot read the working directory: {e}")),
            Some(dir) => {
                let p = PathBuf::from(&dir);
                if p.is_dir() {
                    Ok(p)
                } else {
                    Err(format!("{DATA_DIR_ENV}={} is not a directory", p.display()))
                }
            }
        };
        let msg = state.as_ref().err().cloned().unwrap_or_default();
        match self.init.lock() {
            Ok(mut g) => *g = Some(state),
            Err(p) => *p.into_inner() = Some(state),
        }
        if msg.is_empty() {
            tracing::info!("plugin initialised");
        } else {
            tracing::error!(error = %msg, "plugin initialisation failed");
        }
        msg
    }

    fn data_dir(&self) -> Result<PathBuf, PluginError> {
        match self.init_state() {
            Some(Ok(dir)) => Ok(dir),
            Some(Err(e)) => Err(PluginError::Init(e)),
            // Run without InitPlugin (not what Argo does, but harmless): working directory.
            None => Ok(std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))),
        }
    }

    /// Judges `metric` now: config → series → engine, guarded against panics.
    fn judge(
        &self,
        config: &PluginConfig,
        fetched: Option<&Fetched>,
    ) -> Result<AnalysisReport, PluginError> {
        let dir = self.data_dir()?;
        analysis::check_files_within(&config.analysis, &dir)
            .map_err(|e| PluginError::Data(e.to_string()))?;
        let outcome = catch_unwind(AssertUnwindSafe(|| match fetched {
            Some(f) => Ok(analysis::evaluate(&config.analysis, &f.series)),
            None => analysis::load_series(&config.analysis, &dir)
                .map(|series| analysis::evaluate(&config.analysis, &series)),
        }));
        match outcome {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(e)) => Err(PluginError::Data(e.to_string())),
            Err(panic) => Err(PluginError::Panic(panic_text(&panic))),
        }
    }

    /// Builds the measurement for a fresh judgement; `started` is the measurement's start,
    /// `prior` the metadata of a held measurement (Resume) or empty (Run). `config` is the
    /// metric's resolved config (parsed once per call by the caller).
    fn measure(
        &self,
        metric: &Metric,
        config: &PluginConfig,
        started: GoTime,
        prior: &BTreeMap<String, String>,
        fetched: Option<&Fetched>,
    ) -> Result<Measurement, PluginError> {
        let report = self.judge(config, fetched)?;
        let result = verdict_json(&report);
        let phase = evaluate_result(
            &result,
            &metric.success_condition,
            &metric.failure_condition,
            report.verdict,
        )
        .map_err(|e| condition_error(metric, e.to_string()))?;
        let mut metadata = report_metadata(&report);
        if let Some(f) = fetched {
            metadata.extend(fetch_metadata(f));
        }
        let current = now();
        let mut m = Measurement {
            phase: phase.as_str().to_string(),
            message: String::new(),
            started_at: Some(started),
            finished_at: Some(current),
            value: result.to_string(),
            metadata: BTreeMap::new(),
            resume_at: None,
        };
        if let Some(hold) = config.hold.as_ref()
            && report.verdict == Verdict::Inconclusive
        {
            let deadline = prior
                .get(HOLD_DEADLINE_KEY)
                .and_then(|s| parse_rfc3339(s))
                .unwrap_or_else(|| add(started, hold.max_duration));
            let rounds: u64 = prior
                .get(HOLD_ROUNDS_KEY)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            metadata.insert(HOLD_DEADLINE_KEY.to_string(), rfc3339(deadline));
            metadata.insert(HOLD_ROUNDS_KEY.to_string(), (rounds + 1).to_string());
            if current.unix_seconds < deadline.unix_seconds {
                let next = add(current, hold.resume_every);
                let resume_at = if next.unix_seconds > deadline.unix_seconds {
                    deadline
                } else {
                    next
                };
                m.phase = Phase::Running.as_str().to_string();
                m.finished_at = None;
                m.resume_at = Some(resume_at);
                m.message = format!(
                    "inconclusive so far; held until {} (next look {})",
                    rfc3339(deadline),
                    rfc3339(resume_at)
                );
            } else {
                m.message = format!(
                    "still inconclusive at the hold deadline {}",
                    rfc3339(deadline)
                );
            }
        }
        m.metadata = metadata;
        Ok(m)
    }

    /// Fetches the metric's Prometheus `query` arms (if any) over the analysis window:
    /// `window.since`/`window.window` from the config, else the AnalysisRun's
    /// `status.startedAt`, up to `window.until` or now. Runs on its own task so a panic in
    /// the HTTP stack becomes an error, and every query is bounded by the source's timeout.
    pub async fn prefetch(
        &self,
        config: &PluginConfig,
        prometheus: Option<PrometheusConfig>,
        run_started: Option<GoTime>,
        fallback_start: GoTime,
    ) -> Result<Option<Fetched>, PluginError> {
        if !config.analysis.has_queries() {
            return Ok(None);
        }
        let cfg_err = |why: String| PluginError::Config {
            key: config.key.clone(),
            why,
        };
        let prom = prometheus
            .ok_or_else(|| cfg_err("the config has `query` arms but no data source".to_string()))?;
        let source = PrometheusSource::new(&prom).map_err(|e| cfg_err(e.to_string()))?;
        let start_default = run_started.unwrap_or(fallback_start).unix_seconds;
        let (start, end) = crate::analysis::resolve_window(
            &config.analysis.window,
            None,
            None,
            Some(start_default),
            now().unix_seconds,
        )
        .map_err(|e| cfg_err(e.to_string()))?;
        let analysis = config.analysis.clone();
        let vars = config.vars.clone();
        let dir = self.data_dir()?;
        analysis::check_files_within(&analysis, &dir)
            .map_err(|e| PluginError::Data(e.to_string()))?;
        let task = tokio::spawn(async move {
            fetch::fetch_detailed(&analysis, &source, start, end, &vars, &dir).await
        });
        match task.await {
            Ok(Ok(f)) => Ok(Some(f)),
            Ok(Err(e)) => Err(PluginError::Data(e.to_string())),
            Err(join) if join.is_panic() => Err(PluginError::Panic(panic_text(&join.into_panic()))),
            Err(join) => Err(PluginError::Data(format!("fetch task ended: {join}"))),
        }
    }

    /// `Run` (async, what the RPC server calls): fetch from Prometheus, then judge.
    pub async fn run_async(&self, arg: &Value) -> Measurement {
        let started = now();
        let args = match RunArgs::from_value(arg) {
            Ok(a) => a,
            Err(e) => return error_measurement(started, None, &e.into()),
        };
        let (m, secrets) = self
            .judge_call(
                &args.metric,
                &args.analysis_run.namespace,
                args.analysis_run.started_at,
                started,
                &BTreeMap::new(),
            )
            .await;
        let m = redact(
            m.unwrap_or_else(|e| error_measurement(started, None, &e)),
            &secrets,
        );
        log_outcome(
            "Run",
            &args.analysis_run.namespace,
            &args.analysis_run.name,
            &args.metric.name,
            &m,
        );
        m
    }

    /// The shared body of Run and Resume: config → data source check → fetch → judge.
    /// Returns the outcome and the inline secret values the reply must not show.
    async fn judge_call(
        &self,
        metric: &Metric,
        namespace: &str,
        run_started: Option<GoTime>,
        started: GoTime,
        prior: &BTreeMap<String, String>,
    ) -> (Result<Measurement, PluginError>, Vec<String>) {
        let config = match resolve_config(metric) {
            Ok(c) => c,
            Err(e) => return (Err(e), Vec::new()),
        };
        let prometheus = match self.choose_source(&config, namespace) {
            Ok(p) => p,
            Err(e) => return (Err(e), Vec::new()),
        };
        let secrets = prometheus
            .as_ref()
            .map(PrometheusConfig::inline_secrets)
            .unwrap_or_default();
        let m = match self
            .prefetch(&config, prometheus, run_started, started)
            .await
        {
            Ok(f) => self.measure(metric, &config, started, prior, f.as_ref()),
            Err(e) => Err(e),
        };
        (m, secrets)
    }

    /// `Resume` (async): re-fetch the whole window and re-judge a held measurement.
    pub async fn resume_async(&self, arg: &Value) -> Measurement {
        let args = match TerminateAndResumeArgs::from_value(arg, "Resume") {
            Ok(a) => a,
            Err(e) => return error_measurement(now(), None, &e.into()),
        };
        let held = &args.measurement;
        let started = held.started_at.unwrap_or_else(now);
        let (m, secrets) = self
            .judge_call(
                &args.metric,
                &args.analysis_run.namespace,
                args.analysis_run.started_at,
                started,
                &held.metadata,
            )
            .await;
        let m = redact(
            m.unwrap_or_else(|e| error_measurement(started, Some(&held.metadata), &e)),
            &secrets,
        );
        log_outcome(
            "Resume",
            &args.analysis_run.namespace,
            &args.analysis_run.name,
            &args.metric.name,
            &m,
        );
        m
    }

    /// `Terminate`: the AnalysisRun is being stopped while a measurement is held. Like Argo's
    /// Job provider, end it as Successful with FinishedAt now (nothing to cancel: judging
    /// holds no external resources); an already completed measurement is returned unchanged,
    /// as the Kayenta provider does.
    pub fn terminate(&self, arg: &Value) -> Measurement {
        let args = match TerminateAndResumeArgs::from_value(arg, "Terminate") {
            Ok(a) => a,
            Err(e) => return error_measurement(now(), None, &e.into()),
        };
        let mut m = args.measurement;
        let completed = matches!(
            Phase::parse(&m.phase),
            Some(Phase::Successful | Phase::Failed | Phase::Error | Phase::Inconclusive)
        );
        if !completed {
            m.phase = Phase::Successful.as_str().to_string();
            m.finished_at = Some(now());
            m.resume_at = None;
            m.message = "terminated by the controller before a decision".to_string();
        }
        tracing::info!(
            analysis_run = %args.analysis_run.name,
            namespace = %args.analysis_run.namespace,
            metric = %args.metric.name,
            phase = %m.phase,
            "measurement terminated"
        );
        m
    }

    /// `GarbageCollect`: nothing is kept outside the measurements, so nothing to collect.
    pub fn garbage_collect(&self, arg: &Value) -> String {
        match GarbageCollectArgs::from_value(arg) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    /// `GetMetadata`: a summary of the resolved config, stored once in the metric result;
    /// problems come back under the key `error`, as Argo expects.
    pub fn get_metadata(&self, arg: &Value) -> BTreeMap<String, String> {
        let mut md = BTreeMap::new();
        let resolved = GetMetadataArgs::from_value(arg)
            .map_err(PluginError::from)
            .and_then(|a| resolve_config(&a.metric));
        match resolved {
            Ok(config) => {
                md.insert("plugin".to_string(), config.key.clone());
                md.insert(
                    "scoring.mode".to_string(),
                    format!("{:?}", config.analysis.scoring.mode).to_lowercase(),
                );
                md.insert(
                    "scoring.pass".to_string(),
                    format!("{}", config.analysis.scoring.pass),
                );
                md.insert(
                    "scoring.marginal".to_string(),
                    format!("{}", config.analysis.scoring.marginal),
                );
                md.insert(
                    "metrics".to_string(),
                    config
                        .analysis
                        .metrics
                        .iter()
                        .map(|m| format!("{}:{}", m.name, m.method.name().as_str()))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                if let Some(h) = config.hold {
                    md.insert(
                        "hold.max_duration".to_string(),
                        format!("{}s", h.max_duration.as_secs()),
                    );
                    md.insert(
                        "hold.resume_every".to_string(),
                        format!("{}s", h.resume_every.as_secs()),
                    );
                }
            }
            Err(e) => {
                md.insert("error".to_string(), e.to_string());
            }
        }
        md
    }

    /// The one method dispatch: every net/rpc call of the plugin goes through here. `Err` is a
    /// net/rpc error response (unknown method). Run and Resume may wait for Prometheus, so
    /// they are awaited (their judging runs under `catch_unwind` inside `judge`); the other
    /// methods are quick and run under a last panic guard here, so a panic anywhere still
    /// yields a decodable reply.
    pub async fn dispatch(&self, method: &str, arg: &Value) -> Result<Reply, String> {
        let measurement = |m: Measurement| Reply {
            schema: measurement_schema(),
            value: m.to_value(),
        };
        match method {
            "Run" => return Ok(measurement(self.run_async(arg).await)),
            "Resume" => return Ok(measurement(self.resume_async(arg).await)),
            _ => {}
        }
        match catch_unwind(AssertUnwindSafe(|| self.dispatch_quick(method, arg))) {
            Ok(reply) => reply,
            Err(panic) => {
                let err = PluginError::Panic(panic_text(&panic));
                tracing::error!(method = %method, error = %err, "plugin method panicked");
                match method {
                    "Terminate" => Ok(measurement(error_measurement(now(), None, &err))),
                    _ => Err(err.to_string()),
                }
            }
        }
    }

    /// The methods that never wait on anything (everything but Run and Resume).
    fn dispatch_quick(&self, method: &str, arg: &Value) -> Result<Reply, String> {
        let rpc_error = |msg: String| Reply {
            schema: rpc_error_schema(),
            value: rpc_error_value(&msg),
        };
        Ok(match method {
            "InitPlugin" => rpc_error(self.init_plugin()),
            "Terminate" => Reply {
                schema: measurement_schema(),
                value: self.terminate(arg).to_value(),
            },
            "GarbageCollect" => rpc_error(self.garbage_collect(arg)),
            "Type" => Reply {
                schema: Schema::String,
                value: Value::String(PLUGIN_TYPE.to_string()),
            },
            "GetMetadata" => Reply {
                schema: string_map_schema(),
                value: string_map_value(&self.get_metadata(arg)),
            },
            other => {
                tracing::warn!(method = other, "unknown plugin method called");
                return Err(format!("rpc: can't find method Plugin.{other}"));
            }
        })
    }
}

impl RpcService for JudgePlugin {
    /// Lets the transport answer Go's exact `rpc: can't find method` for anything else,
    /// skipping the argument without decoding it into a call.
    fn has_method(&self, method: &str) -> bool {
        matches!(
            method,
            "InitPlugin"
                | "Run"
                | "Resume"
                | "Terminate"
                | "GarbageCollect"
                | "Type"
                | "GetMetadata"
        )
    }

    fn call(&self, method: &str, arg: Value) -> BoxFuture<'_, Result<Reply, String>> {
        let method = method.to_string();
        Box::pin(async move { self.dispatch(&method, &arg).await })
    }
}

fn condition_error(metric: &Metric, why: String) -> PluginError {
    let (which, condition) = match (
        metric.success_condition.is_empty(),
        metric.failure_condition.is_empty(),
    ) {
        (false, true) => ("successCondition", metric.success_condition.clone()),
        (true, false) => ("failureCondition", metric.failure_condition.clone()),
        _ => (
            "conditions",
            format!(
                "{} / {}",
                metric.success_condition, metric.failure_condition
            ),
        ),
    };
    PluginError::Condition {
        which,
        condition,
        why,
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

fn error_measurement(
    started: GoTime,
    metadata: Option<&BTreeMap<String, String>>,
    err: &PluginError,
) -> Measurement {
    Measurement {
        phase: Phase::Error.as_str().to_string(),
        message: err.to_string(),
        started_at: Some(started),
        finished_at: Some(now()),
        value: String::new(),
        metadata: metadata.cloned().unwrap_or_default(),
        resume_at: None,
    }
}

/// Replaces every inline secret value (a team's token Argo resolved from its Secret) in the
/// reply's message, value and metadata, so it never reaches the AnalysisRun's status.
fn redact(mut m: Measurement, secrets: &[String]) -> Measurement {
    if secrets.is_empty() {
        return m;
    }
    let scrub = |text: &mut String| {
        for s in secrets {
            if text.contains(s.as_str()) {
                *text = text.replace(s.as_str(), "***");
            }
        }
    };
    scrub(&mut m.message);
    scrub(&mut m.value);
    let metadata = std::mem::take(&mut m.metadata);
    m.metadata = metadata
        .into_iter()
        .map(|(mut k, mut v)| {
            scrub(&mut k);
            scrub(&mut v);
            (k, v)
        })
        .collect();
    m
}

fn log_outcome(method: &str, namespace: &str, run: &str, metric: &str, m: &Measurement) {
    if m.phase == Phase::Error.as_str() {
        tracing::warn!(
            method,
            namespace,
            analysis_run = run,
            metric,
            error = %m.message,
            "measurement error"
        );
    } else {
        tracing::info!(
            method,
            namespace,
            analysis_run = run,
            metric,
            phase = %m.phase,
            verdict = m.metadata.get("verdict").map(String::as_str).unwrap_or(""),
            "measured"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests drive the async methods from plain `#[test]`s.
    fn block<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    impl JudgePlugin {
        pub(crate) fn run(&self, arg: &Value) -> Measurement {
            block(self.run_async(arg))
        }
        pub(crate) fn resume(&self, arg: &Value) -> Measurement {
            block(self.resume_async(arg))
        }
        pub(crate) fn dispatch_blocking(&self, method: &str, arg: &Value) -> Result<Reply, String> {
            block(self.dispatch(method, arg))
        }
    }

    fn st(fields: Vec<(&str, Value)>) -> Value {
        Value::Struct(
            fields
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        )
    }

    fn metric_value(config: &str, success: &str, failure: &str) -> Value {
        st(vec![
            ("Name", Value::String("judge".into())),
            ("SuccessCondition", Value::String(success.into())),
            ("FailureCondition", Value::String(failure.into())),
            (
                "Provider",
                st(vec![(
                    "Plugin",
                    Value::Map(vec![(
                        Value::String(DOCUMENTED_PLUGIN_NAME.into()),
                        Value::Bytes(config.as_bytes().to_vec()),
                    )]),
                )]),
            ),
        ])
    }

    fn run_args(config: &str, success: &str, failure: &str) -> Value {
        Value::Interface(Some((
            "RunArgs".into(),
            Box::new(st(vec![
                (
                    "AnalysisRun",
                    st(vec![(
                        "ObjectMeta",
                        st(vec![("Name", Value::String("ar".into()))]),
                    )]),
                ),
                ("Metric", metric_value(config, success, failure)),
            ])),
        )))
    }

    /// A Welch config: `n` deterministic samples per arm around 100, canary shifted by
    /// `shift`; 40 samples with shift 0 pass, shift 30 fails, 3 samples are inconclusive.
    fn welch_config(n: usize, shift: f64, extra: &str) -> String {
        let arm = |s: f64| {
            (0..n)
                .map(|i| 100.0 + s + ((i * 37) % 11) as f64 - 5.0)
                .collect::<Vec<_>>()
        };
        format!(
            r#"{{{extra}"metrics":[{{"name":"latency","method":"welch","margin":0.1,"canary":{{"values":{:?}}},"baseline":{{"values":{:?}}}}}]}}"#,
            arm(shift),
            arm(0.0)
        )
    }

    #[test]
    fn vars_and_query_configs() {
        let cfg = |text: &str| Metric {
            name: "x".into(),
            plugin: vec![("a/b".into(), text.as_bytes().to_vec())],
            ..Default::default()
        };
        let q = r#""prometheus":{"address":"http://127.0.0.1:1","timeout":"1s"},"metrics":[{"name":"m","method":"threshold","params":{"max":1},"canary":{"query":"sum(x{a='{{v}}'})"}}]"#;
        let c = resolve_config(&cfg(&format!(r#"{{"vars":{{"v":"1"}},{q}}}"#))).unwrap();
        assert_eq!(c.vars.get("v").map(String::as_str), Some("1"));
        assert!(c.analysis.has_queries());
        let e = resolve_config(&cfg(&format!(r#"{{"vars":{{"v":1}},{q}}}"#)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`vars` must map names to strings"), "{e}");
        // A template's own `prometheus:` block is refused in plugin mode, before any request.
        let p = JudgePlugin::new();
        let m = p.run(&run_args(&format!("{{{q}}}").replace("{{v}}", "1"), "", ""));
        assert_eq!(m.phase, "Error", "{m:?}");
        assert!(
            m.message
                .contains("field `prometheus` is not accepted here"),
            "{}",
            m.message
        );
        // The same query against an operator source on a closed port: an Error measurement
        // naming it, not a hang.
        let catalog = SourceCatalog::from_yaml_str(
            "sources:\n  - name: main\n    address: http://127.0.0.1:1\n    timeout: 1s\n",
            "test",
        )
        .unwrap();
        let p = JudgePlugin::with_catalog(Ok(Arc::new(catalog)));
        let named = q.replace(
            r#""prometheus":{"address":"http://127.0.0.1:1","timeout":"1s"}"#,
            r#""source":"main""#,
        );
        let m = p.run(&run_args(
            &format!("{{{named}}}").replace("{{v}}", "1"),
            "",
            "",
        ));
        assert_eq!(m.phase, "Error", "{m:?}");
        assert!(
            m.message.contains("http://127.0.0.1:1 unreachable"),
            "{}",
            m.message
        );
    }

    #[test]
    fn config_entry_errors_name_the_problem() {
        let mut m = Metric {
            name: "x".into(),
            ..Default::default()
        };
        let e = resolve_config(&m).unwrap_err().to_string();
        assert!(e.contains("no provider.plugin entry"), "{e}");
        m.plugin = vec![
            ("a/b".into(), b"{}".to_vec()),
            ("c/d".into(), b"{}".to_vec()),
        ];
        let e = resolve_config(&m).unwrap_err().to_string();
        assert!(
            e.contains("2 provider.plugin entries (`a/b`, `c/d`)"),
            "{e}"
        );
        m.plugin = vec![("a/b".into(), b"not json".to_vec())];
        let e = resolve_config(&m).unwrap_err().to_string();
        assert!(
            e.starts_with("plugin config `a/b` is not a JSON object"),
            "{e}"
        );
        m.plugin = vec![("a/b".into(), b"[1]".to_vec())];
        let e = resolve_config(&m).unwrap_err().to_string();
        assert!(e.contains("got an array"), "{e}");
        m.plugin = vec![(
            "a/b".into(),
            br#"{"metrics":[],"hold":{"max_duration":"1m"}}"#.to_vec(),
        )];
        let e = resolve_config(&m).unwrap_err().to_string();
        assert!(e.contains("`hold.resume_every` is missing"), "{e}");
    }

    #[test]
    fn run_pass_and_fail_follow_the_verdict_without_conditions() {
        let p = JudgePlugin::new();
        assert_eq!(p.init_plugin(), "");
        let pass = p.run(&run_args(&welch_config(40, 0.0, ""), "", ""));
        assert_eq!(pass.phase, "Successful", "{pass:?}");
        let v: serde_json::Value = serde_json::from_str(&pass.value).unwrap();
        assert_eq!(v["verdict"], "pass");
        assert_eq!(
            pass.metadata.get("latency.verdict").map(String::as_str),
            Some("pass")
        );
        assert!(pass.started_at.is_some() && pass.finished_at.is_some());
        let fail = p.run(&run_args(&welch_config(40, 30.0, ""), "", ""));
        assert_eq!(fail.phase, "Failed", "{fail:?}");
        let inconclusive = p.run(&run_args(&welch_config(3, 0.0, ""), "", ""));
        assert_eq!(inconclusive.phase, "Inconclusive", "{inconclusive:?}");
        assert!(inconclusive.resume_at.is_none());
    }

    #[test]
    fn hold_keeps_inconclusive_running_until_the_deadline() {
        let p = JudgePlugin::new();
        let hold = r#""hold":{"max_duration":"10m","resume_every":"30s"},"#;
        let m = p.run(&run_args(&welch_config(3, 0.0, hold), "", ""));
        assert_eq!(m.phase, "Running", "{m:?}");
        let (started, resume) = (m.started_at.unwrap(), m.resume_at.unwrap());
        assert_eq!(resume.unix_seconds - started.unix_seconds, 30);
        assert!(m.finished_at.is_none());
        assert_eq!(m.metadata[HOLD_ROUNDS_KEY], "1");
        // Resume with the stored measurement: still inconclusive, still before the deadline.
        let resume_arg = |held: &Measurement, config: &str| {
            Value::Interface(Some((
                "TerminateAndResumeArgs".into(),
                Box::new(st(vec![
                    ("AnalysisRun", st(vec![])),
                    ("Metric", metric_value(config, "", "")),
                    ("Measurement", held.to_value()),
                ])),
            )))
        };
        let again = p.resume(&resume_arg(&m, &welch_config(3, 0.0, hold)));
        assert_eq!(again.phase, "Running");
        assert_eq!(again.started_at, m.started_at);
        assert_eq!(again.metadata[HOLD_ROUNDS_KEY], "2");
        assert_eq!(
            again.metadata[HOLD_DEADLINE_KEY],
            m.metadata[HOLD_DEADLINE_KEY]
        );
        // Past the deadline (state only in metadata): completes as Inconclusive.
        let mut late = again.clone();
        late.metadata
            .insert(HOLD_DEADLINE_KEY.into(), "2020-01-01T00:00:00Z".into());
        let done = p.resume(&resume_arg(&late, &welch_config(3, 0.0, hold)));
        assert_eq!(done.phase, "Inconclusive", "{done:?}");
        assert!(done.finished_at.is_some() && done.resume_at.is_none());
        // Data now decide: completes with the verdict.
        let decided = p.resume(&resume_arg(&again, &welch_config(40, 30.0, hold)));
        assert_eq!(decided.phase, "Failed");
        assert!(!decided.metadata.contains_key(HOLD_DEADLINE_KEY));
    }

    #[test]
    fn conditions_override_and_errors_become_error_measurements() {
        let p = JudgePlugin::new();
        let cfg = welch_config(40, 30.0, "");
        // The user's condition decides, even against the verdict.
        let m = p.run(&run_args(&cfg, "result.verdict == 'fail'", ""));
        assert_eq!(m.phase, "Successful");
        let m = p.run(&run_args(&cfg, "result.verdict ==", ""));
        assert_eq!(m.phase, "Error");
        assert!(
            m.message
                .starts_with("successCondition `result.verdict ==`"),
            "{}",
            m.message
        );
        let m = p.run(&run_args("{oops", "", ""));
        assert_eq!(m.phase, "Error");
        assert!(m.message.contains("is not a JSON object"), "{}", m.message);
        let m = p.run(&Value::Interface(None));
        assert_eq!(m.phase, "Error");
        assert!(m.message.contains("nil argument"), "{}", m.message);
    }

    #[test]
    fn failed_init_is_reported_by_run() {
        let p = JudgePlugin::new();
        *p.init.lock().unwrap() = Some(Err("bad dir".into()));
        let m = p.run(&run_args(&welch_config(40, 0.0, ""), "", ""));
        assert_eq!(m.phase, "Error");
        assert_eq!(m.message, "plugin initialisation failed: bad dir");
    }

    #[test]
    fn unknown_method_is_an_rpc_error_and_type_is_a_string() {
        let p = JudgePlugin::new();
        assert_eq!(
            p.dispatch_blocking("Bogus", &Value::Interface(None))
                .unwrap_err(),
            "rpc: can't find method Plugin.Bogus"
        );
        let t = p
            .dispatch_blocking("Type", &Value::Interface(None))
            .unwrap();
        assert_eq!(t.value, Value::String("canary-judge".into()));
        let gc = p
            .dispatch_blocking("GarbageCollect", &Value::Interface(None))
            .unwrap();
        assert!(matches!(gc.value, Value::Struct(ref f) if !f.is_empty()));
    }

    #[test]
    fn metadata_summary_and_error_key() {
        let p = JudgePlugin::new();
        let arg = st(vec![(
            "Metric",
            metric_value(&welch_config(40, 0.0, ""), "", ""),
        )]);
        let md = p.get_metadata(&arg);
        assert_eq!(md.get("metrics").map(String::as_str), Some("latency:welch"));
        assert_eq!(
            md.get("plugin").map(String::as_str),
            Some(DOCUMENTED_PLUGIN_NAME)
        );
        let md = p.get_metadata(&st(vec![("Metric", metric_value("1", "", ""))]));
        assert!(md["error"].contains("not a JSON object"), "{md:?}");
    }

    #[test]
    fn terminate_ends_a_held_measurement_and_keeps_completed_ones() {
        let p = JudgePlugin::new();
        let mk = |phase: &str| {
            Value::Interface(Some((
                "TerminateAndResumeArgs".into(),
                Box::new(st(vec![
                    ("AnalysisRun", st(vec![])),
                    ("Metric", metric_value("{}", "", "")),
                    (
                        "Measurement",
                        Measurement {
                            phase: phase.into(),
                            metadata: [("k".to_string(), "v".to_string())].into(),
                            ..Default::default()
                        }
                        .to_value(),
                    ),
                ])),
            )))
        };
        let m = p.terminate(&mk("Running"));
        assert_eq!(m.phase, "Successful");
        assert!(m.finished_at.is_some());
        assert_eq!(m.metadata["k"], "v");
        let m = p.terminate(&mk("Failed"));
        assert_eq!(m.phase, "Failed");
        assert!(m.finished_at.is_none());
    }
}

/// The plugin against requests recorded from Argo v1.9.2's real client (the gob module's
/// golden stream, produced by `tests/gob-golden/main.go`): every argument is read by the typed
/// views and every reply survives our encoder and decoder.
#[cfg(test)]
mod golden_tests {
    use super::*;
    use crate::argo::types::{AnalysisRun, TerminateAndResumeArgs};
    use crate::gob::{Decoder, Encoder};

    const HOST_REQUESTS: &[u8] = include_bytes!("../../tests/golden/gob/host_requests.bin");

    fn requests() -> Vec<(String, Value)> {
        let mut dec = Decoder::new();
        let mut pos = 0;
        let mut out = Vec::new();
        while pos < HOST_REQUESTS.len() {
            let (header, used) = dec.decode_next(&HOST_REQUESTS[pos..]).unwrap().unwrap();
            pos += used;
            let (arg, used) = dec.decode_next(&HOST_REQUESTS[pos..]).unwrap().unwrap();
            pos += used;
            let method = header
                .field("ServiceMethod")
                .and_then(Value::as_str)
                .unwrap();
            out.push((method.trim_start_matches("Plugin.").to_string(), arg));
        }
        out
    }

    #[test]
    fn recorded_argo_arguments_read_by_name() {
        let reqs = requests();
        let (_, run_arg) = reqs.iter().find(|(m, _)| m == "Run").unwrap();
        let run = RunArgs::from_value(run_arg).unwrap();
        let ar: &AnalysisRun = &run.analysis_run;
        assert_eq!(ar.name, "checkout-7d9f-2-judge");
        assert_eq!(ar.namespace, "shop");
        assert_eq!(ar.uid, "6f1c2a7e-1111-4c2d-9e3f-0123456789ab");
        assert_eq!(ar.labels["rollouts-pod-template-hash"], "7d9f");
        assert_eq!(ar.annotations["rollout.argoproj.io/revision"], "2");
        assert!(ar.started_at.is_some());
        assert_eq!(ar.args.len(), 2);
        assert_eq!(ar.args[0].value.as_deref(), Some("checkout"));
        assert_eq!(ar.args[1].value, None);
        let prev = ar.previous_measurements("error-rate");
        assert_eq!(prev[0].value, "Pass");
        assert_eq!(prev[0].metadata["p_value"], "0.42");
        assert_eq!(run.metric.name, "error-rate");
        assert_eq!(run.metric.success_condition, r#"result == "Pass""#);
        assert_eq!(run.metric.plugin[0].0, "canary-judge/judge");

        let (_, resume_arg) = reqs.iter().find(|(m, _)| m == "Resume").unwrap();
        let resume = TerminateAndResumeArgs::from_value(resume_arg, "Resume").unwrap();
        assert_eq!(resume.measurement.phase, "Running");
        assert_eq!(resume.measurement.metadata["state"], "step-2");
        assert!(resume.measurement.resume_at.is_some());
        let (_, gc_arg) = reqs.iter().find(|(m, _)| m == "GarbageCollect").unwrap();
        assert_eq!(GarbageCollectArgs::from_value(gc_arg).unwrap().limit, 10);
        let (_, md_arg) = reqs.iter().find(|(m, _)| m == "GetMetadata").unwrap();
        assert_eq!(
            GetMetadataArgs::from_value(md_arg).unwrap().metric.name,
            "error-rate"
        );
    }

    #[test]
    fn every_recorded_call_gets_a_reply_that_round_trips() {
        let plugin = JudgePlugin::new();
        let mut enc = Encoder::new();
        let mut dec = Decoder::new();
        for (method, arg) in requests() {
            let reply = match plugin.dispatch_blocking(&method, &arg) {
                Ok(r) => r,
                Err(e) => {
                    assert_eq!(method, "Nope", "{method}: {e}");
                    continue;
                }
            };
            let bytes = enc.encode(&reply.schema, &reply.value).unwrap();
            let (back, used) = dec.decode_next(&bytes).unwrap().unwrap();
            assert_eq!(used, bytes.len());
            if matches!(method.as_str(), "Run" | "Resume" | "Terminate") {
                let m = Measurement::from_value(&back, "reply").unwrap();
                assert_eq!(Measurement::from_value(&reply.value, "sent").unwrap(), m);
                if method == "Run" {
                    // The recorded config is a bare metric, not an analysis config.
                    assert_eq!(m.phase, "Error", "{m:?}");
                    assert!(
                        m.message.starts_with(
                            "plugin config `canary-judge/judge`: unknown field `canary`"
                        ),
                        "{}",
                        m.message
                    );
                }
                if method == "Terminate" {
                    assert_eq!(m.phase, "Successful");
                }
            }
        }
    }
}
