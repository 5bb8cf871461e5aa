//! The guard's memory: a small JSON state file (which release is active, which was active
//! before, which was last judged good, a switch in progress) written atomically (temp file,
//! fsync, rename, fsync of the directory), an exclusive lock shared by every guard process,
//! and the append-only audit log (one JSON object per line).

use super::{GuardError, now_unix};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A switch that was started and not yet committed; recovery finishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingSwitch {
    /// Release that was active.
    pub from: Option<String>,
    /// Release being activated.
    pub to: String,
    /// Why (activate, rollback, admin-rollback, ...).
    pub reason: String,
    /// Verdict summary that caused it, if any.
    #[serde(default)]
    pub summary: Option<String>,
    /// Whether `to` needs a judgement once active (false for rollbacks to a good release).
    pub judge: bool,
    /// When the switch began.
    pub started: f64,
}

/// The verdict given to one release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRecord {
    /// `pass`, `fail` or `inconclusive`.
    pub verdict: String,
    /// One-line reason.
    pub summary: String,
    /// Start of the judged window (Unix seconds).
    pub window_start: f64,
    /// End of the judged window.
    pub window_end: f64,
}

/// The state file's content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GuardState {
    /// Release `current` points to, as far as the guard knows.
    pub active: Option<String>,
    /// Release active before `active`.
    pub previous: Option<String>,
    /// Most recent release judged good.
    pub last_good: Option<String>,
    /// Whether `active` still needs its judgement.
    pub needs_judgement: bool,
    /// A switch in progress.
    pub pending: Option<PendingSwitch>,
    /// Latest verdict per release.
    #[serde(default)]
    pub verdicts: BTreeMap<String, VerdictRecord>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unix seconds.
    pub time: f64,
    /// What happened: `switch`, `verdict`, `admin`, `config-restored`, `recovered`, ...
    pub event: String,
    /// Release before.
    #[serde(default)]
    pub from: Option<String>,
    /// Release after.
    #[serde(default)]
    pub to: Option<String>,
    /// Why.
    pub reason: String,
    /// Verdict summary or call outcome.
    #[serde(default)]
    pub summary: Option<String>,
}

/// Paths of the guard's files and the operations on them.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

/// Holds the exclusive lock on the state directory until dropped.
pub struct StateLock {
    _file: File,
}

impl StateStore {
    /// A store in `dir` (created when missing).
    pub fn open(dir: &Path) -> Result<Self, GuardError> {
        std::fs::create_dir_all(dir).map_err(|e| GuardError::io("create", dir, e))?;
        Ok(StateStore {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The state file.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The audit log.
    pub fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// Take the exclusive lock (blocks): every read-modify-write of the state and every
    /// switch happens under it, so a CLI `activate` and the daemon never interleave.
    pub fn lock(&self) -> Result<StateLock, GuardError> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| GuardError::io("open", &path, e))?;
        // SAFETY: flock on a valid descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(GuardError::io(
                "lock",
                &path,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(StateLock { _file: file })
    }

    /// Read the state; a missing file is the empty state.
    pub fn load(&self) -> Result<GuardState, GuardError> {
        let path = self.state_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| GuardError::State {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(GuardState::default()),
            Err(e) => Err(GuardError::io("read", &path, e)),
        }
    }

    /// Write the state atomically: a reader (or a restart after a crash) sees the old file
    /// or the new one, never a torn one.
    pub fn save(&self, state: &GuardState) -> Result<(), GuardError> {
        let text = serde_json::to_vec_pretty(state).unwrap_or_default();
        write_atomic(&self.state_path(), &text)
    }

    /// Append one record to the audit log (opened in append mode, fsynced).
    pub fn audit(&self, record: &AuditRecord) -> Result<(), GuardError> {
        let path = self.audit_path();
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| GuardError::io("open", &path, e))?;
        f.write_all(&line)
            .map_err(|e| GuardError::io("append to", &path, e))?;
        f.sync_data()
            .map_err(|e| GuardError::io("sync", &path, e))?;
        Ok(())
    }

    /// Audit shorthand.
    pub fn audit_event(
        &self,
        event: &str,
        from: Option<&str>,
        to: Option<&str>,
        reason: &str,
        summary: Option<&str>,
    ) {
        let rec = AuditRecord {
            time: now_unix(),
            event: event.to_string(),
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            reason: reason.to_string(),
            summary: summary.map(str::to_string),
        };
        if let Err(e) = self.audit(&rec) {
            tracing::error!(error = %e, "could not write the audit log");
        }
    }
}

/// Write `bytes` to `path` through a temp file in the same directory and `rename`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), GuardError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = File::create(&tmp).map_err(|e| GuardError::io("create", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| GuardError::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| GuardError::io("sync", &tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| GuardError::io("rename onto", path, e))?;
    sync_dir(dir);
    Ok(())
}

/// fsync a directory so a rename in it survives a power cut (best effort).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
