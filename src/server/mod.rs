//! `canary-judge serve`: the engine as a long-lived service shared by many rollouts. One
//! process, two listeners: HTTP (Flagger webhooks, a Prometheus-API facade, JSON for Argo's
//! `web` provider, health/version/metrics) and gRPC (`canaryjudge.v1.Judge`, health,
//! reflection). Config reloads on SIGHUP (a broken file keeps the old one in force); SIGTERM
//! turns readiness off, drains in-flight requests within the grace period and exits 0.

pub mod cluster;
pub mod config;
pub mod facade;
pub mod grpc;
pub mod http;
pub mod judge;
pub mod metrics;
pub mod recent;
pub mod report_page;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use cluster::CanaryWindows;
use config::{Overrides, ServeConfig};
use metrics::Metrics;

/// Longest a readiness check waits for Prometheus.
const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Shared by every door: the current config (swapped whole on reload), metrics, the
/// shutdown flag and where Flagger analysis starts come from.
pub struct State {
    config: RwLock<Arc<ServeConfig>>,
    /// The service's metrics.
    pub metrics: Metrics,
    shutting_down: AtomicBool,
    /// Flagger analysis starts (the cluster's Canaries, or this process's memory).
    pub windows: CanaryWindows,
    /// The last analyses answered, for `/reports`.
    pub recent: recent::RecentRing,
}

impl State {
    /// State around a loaded config and its Canary windows.
    pub fn new(config: ServeConfig, windows: CanaryWindows) -> Self {
        State {
            config: RwLock::new(Arc::new(config)),
            metrics: Metrics::new(),
            shutting_down: AtomicBool::new(false),
            windows,
            recent: recent::RecentRing::default(),
        }
    }

    /// The config in force (a snapshot: a reload does not change a running analysis).
    pub fn config(&self) -> Arc<ServeConfig> {
        match self.config.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace_config(&self, config: ServeConfig) {
        let mut g = match self.config.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *g = Arc::new(config);
    }

    /// True once SIGTERM arrived.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Why the service is not ready, if it is not; when it is, the Canary windows' state.
    pub async fn readiness(&self) -> Result<String, String> {
        if self.is_shutting_down() {
            return Err("shutting down".into());
        }
        let windows = self.windows.status()?;
        let cfg = self.config();
        if let Some(p) = &cfg.prometheus {
            // Bounded: a probe must answer fast even when Prometheus hangs.
            match tokio::time::timeout(READINESS_TIMEOUT, p.ping()).await {
                Ok(r) => r.map_err(|e| format!("Prometheus: {e}"))?,
                Err(_) => {
                    return Err(format!(
                        "Prometheus {} did not answer within {READINESS_TIMEOUT:?}",
                        p.address()
                    ));
                }
            }
        }
        Ok(windows)
    }
}

pub use crate::build_info::version_string;

/// The `/version` document.
pub fn version_json() -> serde_json::Value {
    serde_json::json!({
        "version": crate::build_info::CRATE_VERSION,
        "commit": crate::build_info::COMMIT,
        "build_time": crate::build_info::build_time(),
    })
}

/// Why the service could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The config did not load.
    #[error(transparent)]
    Config(#[from] config::ServeConfigError),
    /// The Canary windows could not be set up (`server.canary_windows`).
    #[error(transparent)]
    CanaryWindows(#[from] cluster::CanaryWindowsSetupError),
    /// A listener could not bind or failed.
    #[error("{what}: {message}")]
    Listen {
        /// Which listener.
        what: String,
        /// Cause.
        message: String,
    },
}

/// The service: loads `config_path` with the flag overrides and serves until SIGTERM/SIGINT
/// (`Ok` after a clean drain). The command line's adapter is `cli::serve`.
pub async fn run(config_path: PathBuf, overrides: Overrides) -> Result<(), ServeError> {
    let cfg = ServeConfig::load(&config_path, &overrides)?;
    let settings = cfg.settings.clone();
    let windows = CanaryWindows::start(
        settings.canary_windows,
        cluster::in_pod(),
        std::env::var_os("KUBECONFIG").is_some(),
    )
    .await?;
    let windows_line = match windows.status() {
        Ok(l) | Err(l) => l,
    };
    tracing::info!(mode = ?settings.canary_windows, "{windows_line}");
    crate::stdio::print_error(&format!("canary-judge serve: {windows_line}\n"));
    let state = Arc::new(State::new(cfg, windows));

    let listen_err = |what: &str, e: &dyn std::fmt::Display| ServeError::Listen {
        what: what.to_string(),
        message: e.to_string(),
    };
    let http_listener = tokio::net::TcpListener::bind(&settings.http_addr)
        .await
        .map_err(|e| listen_err(&format!("HTTP listener {}", settings.http_addr), &e))?;
    let grpc_listener = tokio::net::TcpListener::bind(&settings.grpc_addr)
        .await
        .map_err(|e| listen_err(&format!("gRPC listener {}", settings.grpc_addr), &e))?;
    let http_local = http_listener
        .local_addr()
        .map_err(|e| listen_err("HTTP", &e))?;
    let grpc_local = grpc_listener
        .local_addr()
        .map_err(|e| listen_err("gRPC", &e))?;

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    const JUDGE_SERVICE: &str = "canaryjudge.v1.Judge";
    let set_health = {
        let reporter = health_reporter.clone();
        move |serving: bool| {
            let reporter = reporter.clone();
            async move {
                let s = if serving {
                    tonic_health::ServingStatus::Serving
                } else {
                    tonic_health::ServingStatus::NotServing
                };
                reporter.set_service_status("", s).await;
                reporter.set_service_status(JUDGE_SERVICE, s).await;
            }
        }
    };
    // Not serving until the first readiness check (in the loop below) says otherwise.
    set_health(false).await;

    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(grpc::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| listen_err("gRPC reflection", &e))?;

    // Shutdown: one watch flips both listeners into draining.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let wait_stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let app = http::router(state.clone());
    let http_task = tokio::spawn(
        axum::serve(http_listener, app)
            .with_graceful_shutdown(wait_stop(stop_rx.clone()))
            .into_future(),
    );
    let grpc_task = tokio::spawn(
        tonic::transport::Server::builder()
            .timeout(settings.analysis_timeout + std::time::Duration::from_secs(1))
            .add_service(health_service)
            .add_service(reflection)
            .add_service(grpc::pb::judge_server::JudgeServer::new(
                grpc::JudgeService::new(state.clone()),
            ))
            .serve_with_incoming_shutdown(
                // Without TCP_NODELAY a unary reply waits for the client's delayed ACK:
                // ~40 ms per call on Linux (measured by scripts/bench-service).
                tonic::transport::server::TcpIncoming::from(grpc_listener).with_nodelay(Some(true)),
                wait_stop(stop_rx.clone()),
            ),
    );
    tracing::info!(%http_local, %grpc_local, "canary-judge serve listening");
    // One line on stderr so scripts and tests know the ports (listeners may use port 0).
    crate::stdio::print_error(&format!(
        "canary-judge serve: http={http_local} grpc={grpc_local}\n"
    ));

    // Health follows readiness (Prometheus up/down) every few seconds.
    let health_loop = {
        let state = state.clone();
        let set_health = set_health.clone();
        tokio::spawn(async move {
            loop {
                let ready = state.readiness().await.is_ok();
                if state.is_shutting_down() {
                    break;
                }
                set_health(ready).await;
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        })
    };

    let mut hup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut term = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = signal(tokio::signal::unix::SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hup.recv() => reload(&state, &config_path, &overrides),
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("shutdown requested: readiness off, draining");
    crate::stdio::print_error("canary-judge serve: shutdown requested, draining\n");
    state.shutting_down.store(true, Ordering::SeqCst);
    health_loop.abort();
    set_health(false).await;
    let settings = state.config().settings.clone();
    tokio::time::sleep(settings.shutdown_delay).await;
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(settings.shutdown_grace, async {
        let (h, g) = tokio::join!(http_task, grpc_task);
        if let Ok(Err(e)) = h {
            tracing::warn!(error = %e, "HTTP server ended with an error");
        }
        if let Ok(Err(e)) = g {
            tracing::warn!(error = %e, "gRPC server ended with an error");
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(grace = ?settings.shutdown_grace, "grace period over; exiting with requests still open");
    }
    crate::stdio::print_error("canary-judge serve: stopped\n");
    Ok(())
}

fn signal(
    kind: tokio::signal::unix::SignalKind,
) -> Result<tokio::signal::unix::Signal, ServeError> {
    tokio::signal::unix::signal(kind).map_err(|e| ServeError::Listen {
        what: "signal handler".into(),
        message: e.to_string(),
    })
}

/// SIGHUP: load and validate the file; on any error keep the config in force.
fn reload(state: &State, path: &std::path::Path, overrides: &Overrides) {
    match ServeConfig::load(path, overrides) {
        Ok(new) => {
            let n = new.templates.len();
            if new.settings.canary_windows != state.config().settings.canary_windows {
                tracing::warn!("server.canary_windows changed; it takes effect at the next start");
            }
            state.replace_config(new);
            tracing::warn!(templates = n, "config reloaded");
            crate::stdio::print_error(&format!(
                "canary-judge serve: config reloaded ({n} templates)\n"
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "config reload rejected; previous config stays in force");
            crate::stdio::print_error(&format!(
                "canary-judge serve: config reload rejected, previous config stays in force: {e}\n"
            ));
        }
    }
}
