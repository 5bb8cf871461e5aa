//! `guard`: canary judgement and automatic rollback on a single machine without Kubernetes.
//! Releases live side by side under `<root>/releases/<version>/`, `<root>/current` is a
//! symlink to the active one; after every switch the guard judges the new release with the
//! same analysis engine as the Argo plugin and rolls back atomically when the verdict is fail.
//! See `docs/guard.md` for the setup and the crash-safety argument.

pub mod admin;
pub mod config;
pub mod daemon;
pub mod handle;
pub mod judge;
pub mod layout;
pub mod probe;
pub mod reload;
pub mod scrape;
pub mod state;
pub mod watch;

pub use config::{GuardConfig, InconclusivePolicy, JudgeSource};
pub use daemon::run;
pub use handle::{activate, recover, rollback_to_last_good, status};
pub use layout::Layout;
pub use state::{AuditRecord, GuardState};

/// Everything that can go wrong in the guard, with the file or address that caused it.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The guard config file could not be read or parsed.
    #[error("guard config {path}: {message}")]
    Config {
        /// The config file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What the guard was doing.
        action: &'static str,
        /// The path involved.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The state file exists but cannot be understood.
    #[error("state file {path} is corrupt: {message}")]
    State {
        /// The state file.
        path: String,
        /// Parser message.
        message: String,
    },
    /// A release name that is not a plain directory name, or a release that does not exist.
    #[error("release {version:?}: {message}")]
    Release {
        /// The version asked for.
        version: String,
        /// Why it cannot be used.
        message: String,
    },
    /// A query of the judgement failed (Prometheus down, slow, or answering an error).
    #[error("judgement data: {0}")]
    Fetch(#[from] crate::analysis::FetchError),
    /// A background task of the guard panicked or was cancelled, or a signal handler could
    /// not be installed.
    #[error("{what}: {source}")]
    Runtime {
        /// What the guard was doing.
        what: &'static str,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No release to roll back to.
    #[error("no release to roll back to: {0}")]
    NoRollbackTarget(String),
    /// The admin endpoint could not start.
    #[error("admin endpoint on {address}: {message}")]
    Admin {
        /// Listen address.
        address: String,
        /// Cause.
        message: String,
    },
}

impl GuardError {
    /// Shorthand for an I/O error with context.
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        GuardError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}

/// Current Unix time in seconds (fractional), for the state file and the audit log.
pub(crate) fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
