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

use serde_json::json;

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
#[derive(Debug, thiserror::Error)]
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
    /// Inline or file series could not be loaded (or a file lies outside the data dir).
    #[error(transparent)]
    Local(analysis::AnalysisError),
    /// Fetching the `query` arms failed.
    #[error(transparent)]
    Fetch(fetch::FetchError),
    /// The fetch task ended without an answer.
    #[error("fetch task ended: {0}")]
    FetchTask(#[source] tokio::task::JoinError),
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

mod config;
mod metadata;

pub use config::*;
pub use metadata::*;

/// The Argo plugin: an [`RpcService`] for go-plugin's `Plugin` service.
#[derive(Debug)]
pub struct JudgePlugin {
    /// `None` until InitPlugin; then `Ok(data dir)` or the init error.
    init: Mutex<Option<Result<PathBuf, String>>>,
    /// The operator's data sources (`--sources FILE`), or why they could not be loaded
    /// (reported by InitPlugin and by every Run).
    catalog: Result<Arc<SourceCatalog>, String>,
    /// Where `serve` answers `/report` for people (`--report-base-url`), if the operator set
    /// it; measurements then carry a link to their report.
    report_base_url: Option<String>,
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
            report_base_url: None,
        }
    }

    /// The same plugin, linking each measurement that fetched from Prometheus to its report
    /// under `base` (an http(s) URL of `serve`, without `/report`).
    pub fn with_report_base_url(mut self, base: Option<String>) -> Self {
        self.report_base_url = base;
        self
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
        analysis::check_files_within(&config.analysis, &dir).map_err(PluginError::Local)?;
        let outcome = catch_unwind(AssertUnwindSafe(|| match fetched {
            Some(f) => Ok(analysis::evaluate(&config.analysis, &f.series)),
            None => analysis::load_series(&config.analysis, &dir)
                .map(|series| analysis::evaluate(&config.analysis, &series)),
        }));
        match outcome {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(e)) => Err(PluginError::Local(e)),
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
            if let Some(base) = &self.report_base_url {
                match report_link(base, config, f) {
                    Ok(url) => metadata.insert(REPORT_LINK_KEY.to_string(), url),
                    Err(why) => metadata.insert(REPORT_OMITTED_KEY.to_string(), why.to_string()),
                };
            }
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
        analysis::check_files_within(&analysis, &dir).map_err(PluginError::Local)?;
        let task = tokio::spawn(async move {
            fetch::fetch_detailed(&analysis, &source, start, end, &vars, &dir).await
        });
        match task.await {
            Ok(Ok(f)) => Ok(Some(f)),
            Ok(Err(e)) => Err(PluginError::Fetch(e)),
            Err(join) if join.is_panic() => Err(PluginError::Panic(panic_text(&join.into_panic()))),
            Err(join) => Err(PluginError::FetchTask(join)),
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
mod tests;

#[cfg(test)]
mod golden_tests;
