//! Where a Flagger analysis's window starts. Flagger's webhook payload carries no time, so
//! the service has to learn when the analysis began; it reads it from the Canary object in
//! the cluster (`canaries.flagger.app`), which every replica and every restart of `serve` sees
//! the same, so they all judge the same window. Only outside a cluster, where one process
//! serves, may it fall back to remembering the first webhook call in memory.
//!
//! The Kubernetes access is read-only (get, list, watch on Canaries) and lives only here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, ObjectRef, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use serde::Deserialize;

/// Most (namespace, name, checksum) starts the memory fallback keeps; the oldest go first.
const MAX_REMEMBERED_STARTS: usize = 10_000;

/// How long a direct `get` may take when the watch cache has no answer (a Canary created a
/// moment ago): well inside Flagger's webhook timeout.
const DIRECT_GET_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the service takes Flagger analysis starts from (`server.canary_windows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CanaryWindowsMode {
    /// In a pod, or with `KUBECONFIG` set: the cluster; elsewhere this process's memory.
    #[default]
    Auto,
    /// The cluster, required: the service is not ready until its Canary cache is filled.
    Kubernetes,
    /// This process's memory (one process outside a cluster only; refused in a pod).
    Memory,
}

/// Why the service could not set up its Canary windows at start.
#[derive(Debug, thiserror::Error)]
pub enum CanaryWindowsSetupError {
    /// `kubernetes` was asked for but no client configuration was found.
    #[error(
        "server.canary_windows is `kubernetes` but no Kubernetes client configuration was found \
         (in a pod: a service account token; outside: KUBECONFIG): {0}"
    )]
    NoClient(#[source] kube::config::InferConfigError),
    /// The client configuration was found but is unusable (bad certificate, ...).
    #[error("Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// `memory` inside a pod: each replica would keep its own windows.
    #[error(
        "server.canary_windows `memory` keeps analysis starts in one process, so replicas and \
         restarts would judge different windows; in a cluster use `kubernetes` (chart: \
         flagger.enabled=true)"
    )]
    MemoryInCluster,
}

/// Why a Flagger analysis start could not be found; every message names the Canary.
#[derive(Debug, thiserror::Error)]
pub enum CanaryWindowError {
    /// The cluster has no such Canary.
    #[error("Canary {namespace}/{name} does not exist")]
    NotFound {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// The Canary's status does not show an analysis in progress.
    #[error("Canary {namespace}/{name}: {problem}")]
    Status {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// What the status says.
        problem: CanaryStatusProblem,
    },
    /// The Kubernetes API did not answer.
    #[error("Canary {namespace}/{name}: Kubernetes API: {source}")]
    Api {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Client error.
        #[source]
        source: kube::Error,
    },
    /// The direct read did not answer in time.
    #[error(
        "Canary {namespace}/{name}: the Kubernetes API did not answer within {:?}",
        DIRECT_GET_TIMEOUT
    )]
    ApiTimeout {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// Memory mode was asked for a start without Flagger's checksum (a facade query): it
    /// could not tell one analysis of the Canary from the next.
    #[error(
        "Canary {namespace}/{name}: a `canary` label needs the analysis start from the cluster \
         (server.canary_windows is memory, which keys starts by the webhook checksum); give \
         `start` or `lookback` instead"
    )]
    NeedsChecksum {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// In a pod without a usable Kubernetes client.
    #[error(
        "analysis windows need the Canary status from the cluster, which this pod cannot read \
         ({0}); install the chart with flagger.enabled=true"
    )]
    NoCluster(String),
}

/// What a Canary's status says about its analysis start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CanaryStatusProblem {
    /// No `Promoted` condition yet (Flagger has not initialised the Canary).
    #[error("status has no Promoted condition yet (Flagger has not initialised it)")]
    NoPromotedCondition,
    /// The `Promoted` condition is `True` or `False`: no analysis is running.
    #[error("no analysis is running (Promoted condition is {status}, reason {reason})")]
    NotAnalysing {
        /// The condition's status.
        status: String,
        /// Its reason.
        reason: String,
    },
    /// The condition's `lastTransitionTime` is missing or not RFC 3339.
    #[error("Promoted condition's lastTransitionTime `{0}` is not an RFC 3339 time")]
    BadTime(String),
}

/// Where a start came from, said in every webhook answer and log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartSource {
    /// The Canary's `Promoted` condition.
    CanaryStatus,
    /// This process's first call for the (namespace, name, checksum).
    Memory,
}

impl StartSource {
    /// The word used in answers (`[window … from canary-status]`).
    pub fn as_str(self) -> &'static str {
        match self {
            StartSource::CanaryStatus => "canary-status",
            StartSource::Memory => "memory",
        }
    }
}

/// The analysis start of a Canary read from its status, as Unix seconds.
///
/// Flagger (v1.x) keeps one condition of type `Promoted`. It is `Unknown` for the whole
/// analysis (phases Waiting, Progressing, WaitingPromotion, Promoting, Finalising) and `True`
/// or `False` otherwise; its `lastTransitionTime` moves only when that status changes, so it
/// marks the start of the analysis and iterations do not move it. (A new revision in the
/// middle of an analysis keeps the condition `Unknown` and so keeps the start; the status
/// shows no time for such a restart.)
pub fn analysis_start_from_status(
    status: Option<&serde_json::Value>,
) -> Result<i64, CanaryStatusProblem> {
    let conditions = status
        .and_then(|s| s.get("conditions"))
        .and_then(|c| c.as_array())
        .ok_or(CanaryStatusProblem::NoPromotedCondition)?;
    let promoted = conditions
        .iter()
        .find(|c| c.get("type").and_then(|t| t.as_str()) == Some("Promoted"))
        .ok_or(CanaryStatusProblem::NoPromotedCondition)?;
    let field = |k: &str| {
        promoted
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let state = field("status");
    if state != "Unknown" {
        return Err(CanaryStatusProblem::NotAnalysing {
            status: state,
            reason: field("reason"),
        });
    }
    let at = field("lastTransitionTime");
    time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| CanaryStatusProblem::BadTime(at))
}

/// The state of the watch behind the Canary cache, for `/readyz` and the logs.
#[derive(Debug, Default)]
struct WatchHealth {
    /// The first full list has arrived.
    synced: bool,
    /// The last watch error, until the watch recovers.
    error: Option<String>,
}

/// A watch-backed cache of the cluster's Canaries.
pub struct ClusterCanaries {
    resource: ApiResource,
    client: kube::Client,
    store: reflector::Store<DynamicObject>,
    health: Arc<Mutex<WatchHealth>>,
    /// Whether readiness waits for the cache (`kubernetes` mode) or only reports it (`auto`).
    required: bool,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClusterCanaries {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ClusterCanaries {
    /// Starts watching `canaries.flagger.app` in every namespace with `client`.
    pub fn watch(client: kube::Client, required: bool) -> Self {
        let gvk = GroupVersionKind::gvk("flagger.app", "v1beta1", "Canary");
        let resource = ApiResource::from_gvk(&gvk);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let writer: Writer<DynamicObject> = Writer::new(resource.clone());
        let store = writer.as_reader();
        let health = Arc::new(Mutex::new(WatchHealth::default()));
        let task_health = health.clone();
        let task = tokio::spawn(async move {
            let events =
                reflector::reflector(writer, watcher::watcher(api, watcher::Config::default()))
                    .default_backoff();
            let mut events = std::pin::pin!(events);
            while let Some(event) = events.next().await {
                let mut h = match task_health.lock() {
                    Ok(g) => g,
                    Err(poisoned) => poisoned.into_inner(),
                };
                match event {
                    Ok(watcher::Event::InitDone) => {
                        if !h.synced {
                            tracing::info!("canary windows: Canary cache filled");
                        }
                        h.synced = true;
                        h.error = None;
                    }
                    Ok(_) => h.error = None,
                    Err(e) => {
                        let message = e.to_string();
                        if h.error.as_deref() != Some(message.as_str()) {
                            tracing::warn!(error = %message, "canary windows: watching Canaries failed; retrying");
                        }
                        h.error = Some(message);
                    }
                }
            }
        });
        ClusterCanaries {
            resource,
            client,
            store,
            health,
            required,
            task,
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, WatchHealth> {
        match self.health.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    async fn start(&self, namespace: &str, name: &str) -> Result<i64, CanaryWindowError> {
        let key = ObjectRef::new_with(name, self.resource.clone()).within(namespace);
        let object = match self.store.get(&key) {
            Some(o) => o,
            None => {
                // Not cached (created a moment ago, or the watch is behind): ask once.
                let api: Api<DynamicObject> =
                    Api::namespaced_with(self.client.clone(), namespace, &self.resource);
                let got = tokio::time::timeout(DIRECT_GET_TIMEOUT, api.get_opt(name))
                    .await
                    .map_err(|_| CanaryWindowError::ApiTimeout {
                        namespace: namespace.into(),
                        name: name.into(),
                    })?
                    .map_err(|source| CanaryWindowError::Api {
                        namespace: namespace.into(),
                        name: name.into(),
                        source,
                    })?;
                Arc::new(got.ok_or_else(|| CanaryWindowError::NotFound {
                    namespace: namespace.into(),
                    name: name.into(),
                })?)
            }
        };
        analysis_start_from_status(object.data.get("status")).map_err(|problem| {
            CanaryWindowError::Status {
                namespace: namespace.into(),
                name: name.into(),
                problem,
            }
        })
    }
}

/// Where analysis starts come from in this process.
pub enum CanaryWindows {
    /// The cluster's Canary objects.
    Cluster(ClusterCanaries),
    /// This process's memory: the first call per (namespace, name, checksum).
    Memory(Mutex<HashMap<(String, String, String), i64>>),
    /// In a pod whose Kubernetes client could not be built (`auto` mode): webhooks are refused
    /// with this reason rather than judged on a per-pod window.
    Unavailable(String),
}

/// True in a Kubernetes pod (the API server's address is in every pod's environment).
pub fn in_pod() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

impl CanaryWindows {
    /// Sets up the mode at start. `in_pod` and `kubeconfig_set` are the environment's facts
    /// (passed in so tests can pose them).
    pub async fn start(
        mode: CanaryWindowsMode,
        in_pod: bool,
        kubeconfig_set: bool,
    ) -> Result<Self, CanaryWindowsSetupError> {
        match mode {
            CanaryWindowsMode::Memory if in_pod => Err(CanaryWindowsSetupError::MemoryInCluster),
            CanaryWindowsMode::Memory => Ok(Self::memory()),
            CanaryWindowsMode::Kubernetes => {
                let client = client().await.map_err(|e| match e {
                    ClientError::Infer(e) => CanaryWindowsSetupError::NoClient(e),
                    ClientError::Build(e) => CanaryWindowsSetupError::Client(e),
                })?;
                Ok(CanaryWindows::Cluster(ClusterCanaries::watch(client, true)))
            }
            CanaryWindowsMode::Auto if !in_pod && !kubeconfig_set => Ok(Self::memory()),
            CanaryWindowsMode::Auto => match client().await {
                Ok(c) => Ok(CanaryWindows::Cluster(ClusterCanaries::watch(c, false))),
                Err(e) if in_pod => Ok(CanaryWindows::Unavailable(e.to_string())),
                Err(e) => {
                    tracing::warn!(error = %e, "canary windows: KUBECONFIG is set but unusable; keeping analysis starts in memory");
                    Ok(Self::memory())
                }
            },
        }
    }

    /// The memory fallback.
    pub fn memory() -> Self {
        CanaryWindows::Memory(Mutex::new(HashMap::new()))
    }

    /// The analysis start of the Canary `namespace/name`. `checksum` is Flagger's payload
    /// checksum (one per analysis; webhooks have it, facade queries do not), used only by the
    /// memory fallback; `now` is this call's time.
    pub async fn analysis_start(
        &self,
        namespace: &str,
        name: &str,
        checksum: Option<&str>,
        now: i64,
    ) -> Result<(i64, StartSource), CanaryWindowError> {
        match self {
            CanaryWindows::Cluster(c) => {
                Ok((c.start(namespace, name).await?, StartSource::CanaryStatus))
            }
            CanaryWindows::Memory(starts) => match checksum {
                Some(c) => Ok((
                    remember(starts, namespace, name, c, now),
                    StartSource::Memory,
                )),
                None => Err(CanaryWindowError::NeedsChecksum {
                    namespace: namespace.into(),
                    name: name.into(),
                }),
            },
            CanaryWindows::Unavailable(why) => Err(CanaryWindowError::NoCluster(why.clone())),
        }
    }

    /// One line for `/readyz` and the start-up log; `Err` when readiness must wait
    /// (`kubernetes` mode before the first list, or while the watch fails).
    pub fn status(&self) -> Result<String, String> {
        match self {
            CanaryWindows::Memory(_) => Ok(
                "canary windows: memory (this process only: restarts and other replicas do not share them)"
                    .into(),
            ),
            CanaryWindows::Unavailable(why) => Ok(format!(
                "canary windows: unavailable, Flagger webhooks are refused ({why})"
            )),
            CanaryWindows::Cluster(c) => {
                let h = c.health();
                let line = match (&h.error, h.synced) {
                    (Some(e), _) => format!("canary windows: kubernetes, watch failing: {e}"),
                    (None, false) => "canary windows: kubernetes, Canary cache not filled yet".into(),
                    (None, true) => format!(
                        "canary windows: kubernetes ({} Canaries cached)",
                        c.store.len()
                    ),
                };
                if c.required && (h.error.is_some() || !h.synced) {
                    Err(line)
                } else {
                    Ok(line)
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ClientError {
    #[error("no Kubernetes client configuration: {0}")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("Kubernetes client: {0}")]
    Build(#[source] kube::Error),
}

/// A client from the environment: KUBECONFIG or `~/.kube/config`, else the pod's service
/// account.
async fn client() -> Result<kube::Client, ClientError> {
    // Both rustls providers are linked (reqwest and kube each bring one), so rustls cannot
    // pick a default by itself; the Prometheus clients choose theirs explicitly. An `Err` only
    // means a default is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = kube::Config::infer().await.map_err(ClientError::Infer)?;
    kube::Client::try_from(config).map_err(ClientError::Build)
}

fn remember(
    starts: &Mutex<HashMap<(String, String, String), i64>>,
    namespace: &str,
    name: &str,
    checksum: &str,
    now: i64,
) -> i64 {
    let mut starts = match starts.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    let key = (
        namespace.to_string(),
        name.to_string(),
        checksum.to_string(),
    );
    if let Some(t) = starts.get(&key) {
        return *t;
    }
    if starts.len() >= MAX_REMEMBERED_STARTS
        && let Some(oldest) = starts
            .iter()
            .min_by_key(|(_, t)| **t)
            .map(|(k, _)| k.clone())
    {
        starts.remove(&oldest);
    }
    starts.insert(key, now);
    now
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(conditions: serde_json::Value) -> serde_json::Value {
        json!({"phase": "Progressing", "conditions": conditions})
    }

    #[test]
    fn an_analysis_starts_at_the_promoted_condition_transition() {
        let s = status(json!([
            {"type": "Other", "status": "Unknown", "lastTransitionTime": "2020-01-01T00:00:00Z"},
            {"type": "Promoted", "status": "Unknown", "reason": "Progressing",
             "lastTransitionTime": "2026-12-02T10:00:05Z", "lastUpdateTime": "2026-12-02T10:03:00Z"}
        ]));
        assert_eq!(analysis_start_from_status(Some(&s)), Ok(1_796_205_605));
    }

    #[test]
    fn a_finished_or_uninitialised_canary_has_no_analysis_start() {
        let done = status(
            json!([{"type": "Promoted", "status": "True", "reason": "Succeeded",
            "lastTransitionTime": "2026-12-02T10:00:05Z"}]),
        );
        assert_eq!(
            analysis_start_from_status(Some(&done)),
            Err(CanaryStatusProblem::NotAnalysing {
                status: "True".into(),
                reason: "Succeeded".into()
            })
        );
        assert_eq!(
            analysis_start_from_status(None),
            Err(CanaryStatusProblem::NoPromotedCondition)
        );
        assert_eq!(
            analysis_start_from_status(Some(&json!({"phase": "Initializing"}))),
            Err(CanaryStatusProblem::NoPromotedCondition)
        );
        let bad = status(
            json!([{"type": "Promoted", "status": "Unknown", "lastTransitionTime": "yesterday"}]),
        );
        assert_eq!(
            analysis_start_from_status(Some(&bad)),
            Err(CanaryStatusProblem::BadTime("yesterday".into()))
        );
    }

    #[test]
    fn memory_keeps_the_first_call_per_checksum() {
        let m = Mutex::new(HashMap::new());
        assert_eq!(remember(&m, "ns", "a", "c1", 100), 100);
        assert_eq!(remember(&m, "ns", "a", "c1", 160), 100);
        assert_eq!(remember(&m, "ns", "a", "c2", 170), 170);
    }

    #[tokio::test]
    async fn memory_mode_is_refused_in_a_pod() {
        let r = CanaryWindows::start(CanaryWindowsMode::Memory, true, false).await;
        assert!(matches!(r, Err(CanaryWindowsSetupError::MemoryInCluster)));
        let auto = CanaryWindows::start(CanaryWindowsMode::Auto, false, false)
            .await
            .map(|w| w.status());
        assert!(matches!(auto, Ok(Ok(line)) if line.contains("memory")));
    }
}
