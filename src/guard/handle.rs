//! The guard's handle on its release root and state, and the one-shot operations built on
//! it: `recover` (finish or undo a half-done switch, repair `current`, adopt a switch made by
//! someone else), `activate`, `rollback_to_last_good` and `status`. Every state change
//! happens under the state lock, and every switch follows the same order: record the intent
//! (pending) → temp link → rename → reload → audit → commit.

use super::config::GuardConfig;
use super::layout::Layout;
use super::state::{GuardState, PendingSwitch, StateStore};
use super::{GuardError, now_unix};
use crate::analysis::SeriesSet;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// Environment variable naming a pause (milliseconds) between the steps of a switch. Only
/// for the crash drill in the tests: it widens the windows a `kill -9` has to land in.
pub const STEP_PAUSE_ENV: &str = "CANARY_JUDGE_GUARD_STEP_PAUSE_MS";

fn step_pause() {
    if let Some(ms) = std::env::var(STEP_PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms.min(10_000)));
    }
}

/// Handles shared by the operations.
#[derive(Clone)]
pub struct Guard {
    /// The config.
    pub cfg: Arc<GuardConfig>,
    /// The release root.
    pub layout: Layout,
    /// State file, lock and audit log.
    pub store: StateStore,
}

impl Guard {
    /// Open the state directory of `cfg`.
    pub fn new(cfg: GuardConfig) -> Result<Self, GuardError> {
        let store = StateStore::open(&cfg.state_dir())?;
        Ok(Guard {
            layout: Layout::new(&cfg.root),
            store,
            cfg: Arc::new(cfg),
        })
    }

    /// Perform a switch to `to` (state lock held by the caller).
    pub(super) fn switch(
        &self,
        state: &mut GuardState,
        to: &str,
        reason: &str,
        summary: Option<String>,
        judge: bool,
    ) -> Result<(), GuardError> {
        let from = self.layout.current()?.or_else(|| state.active.clone());
        state.pending = Some(PendingSwitch {
            from,
            to: to.to_string(),
            reason: reason.to_string(),
            summary,
            judge,
            started: now_unix(),
        });
        self.store.save(state)?;
        step_pause();
        self.layout.point_current(to, &step_pause)?;
        step_pause();
        self.finish_pending(state, "switch")
    }

    /// After `current` names the pending target: reload, audit, commit.
    pub(super) fn finish_pending(
        &self,
        state: &mut GuardState,
        event: &str,
    ) -> Result<(), GuardError> {
        let Some(p) = state.pending.clone() else {
            return Ok(());
        };
        if let Err(e) = super::reload::reload(&self.cfg.reload) {
            tracing::error!(error = %e, "reload after switch failed");
            self.store
                .audit_event("reload-failed", p.from.as_deref(), Some(&p.to), &e, None);
        }
        step_pause();
        self.store.audit_event(
            event,
            p.from.as_deref(),
            Some(&p.to),
            &p.reason,
            p.summary.as_deref(),
        );
        if p.from.as_deref() != Some(p.to.as_str()) {
            state.previous = p.from.clone();
        }
        state.active = Some(p.to.clone());
        state.needs_judgement = p.judge;
        state.pending = None;
        self.store.save(state)
    }

    /// Bring state and disk into agreement (state lock held by the caller): finish a
    /// pending switch, remove a stray temp link, repair a missing or dangling `current`,
    /// adopt a switch someone made by hand.
    pub(super) fn reconcile(&self, state: &mut GuardState) -> Result<(), GuardError> {
        if self.layout.remove_temp_link()? {
            tracing::warn!("removed a temporary link left by an interrupted switch");
        }
        if let Some(p) = state.pending.clone() {
            if self.layout.release_exists(&p.to) {
                if self.layout.current()?.as_deref() != Some(p.to.as_str()) {
                    self.layout.point_current(&p.to, &|| {})?;
                }
                tracing::warn!(to = %p.to, "finishing a switch interrupted by a crash");
                self.finish_pending(state, "recovered-switch")?;
            } else {
                self.store.audit_event(
                    "recovered-undone",
                    p.from.as_deref(),
                    Some(&p.to),
                    "target release vanished",
                    None,
                );
                state.pending = None;
                self.store.save(state)?;
            }
        }
        let cur = self
            .layout
            .current()
            .ok()
            .flatten()
            .filter(|v| self.layout.release_exists(v));
        let cur = match cur {
            Some(c) => c,
            None => {
                let target = [
                    state.active.clone(),
                    state.last_good.clone(),
                    state.previous.clone(),
                ]
                .into_iter()
                .flatten()
                .find(|v| self.layout.release_exists(v))
                .ok_or_else(|| {
                    GuardError::NoRollbackTarget(format!(
                        "{} is missing or dangling and no known release exists",
                        self.layout.current_path().display()
                    ))
                })?;
                self.switch(
                    state,
                    &target,
                    "repair: current was missing or dangling",
                    None,
                    false,
                )?;
                target
            }
        };
        if state.active.as_deref() != Some(cur.as_str()) {
            let from = state.active.clone();
            self.store.audit_event(
                "observed-switch",
                from.as_deref(),
                Some(&cur),
                "current changed outside the guard",
                None,
            );
            state.previous = from;
            state.needs_judgement = state.last_good.as_deref() != Some(cur.as_str());
            state.active = Some(cur);
            self.store.save(state)?;
        }
        Ok(())
    }

    pub(super) fn locked<T>(
        &self,
        f: impl FnOnce(&mut GuardState) -> Result<T, GuardError>,
    ) -> Result<T, GuardError> {
        let _lock = self.store.lock()?;
        let mut state = self.store.load()?;
        f(&mut state)
    }

    /// Baseline series saved for a release that passed.
    pub(super) fn baseline_path(&self, version: &str) -> std::path::PathBuf {
        self.store
            .dir()
            .join("baselines")
            .join(format!("{version}.json"))
    }

    pub(super) fn load_baseline(&self, version: &str) -> Option<SeriesSet> {
        let text = std::fs::read_to_string(self.baseline_path(version)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Roll back to the last good release (lock held): no-op when it is already active.
    pub(super) fn rollback_locked(
        &self,
        state: &mut GuardState,
        reason: &str,
        summary: Option<String>,
    ) -> Result<RollbackOutcome, GuardError> {
        self.reconcile(state)?;
        let active = state.active.clone();
        let target = state
            .last_good
            .clone()
            .filter(|v| self.layout.release_exists(v))
            .ok_or_else(|| {
                GuardError::NoRollbackTarget("no release has been judged good yet".into())
            })?;
        if active.as_deref() == Some(target.as_str()) {
            return Ok(RollbackOutcome {
                changed: false,
                from: active,
                to: target,
            });
        }
        self.switch(state, &target, reason, summary, false)?;
        Ok(RollbackOutcome {
            changed: true,
            from: active,
            to: target,
        })
    }
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackOutcome {
    /// False when the last good release was already active (rollback is idempotent).
    pub changed: bool,
    /// Release before.
    pub from: Option<String>,
    /// Release after.
    pub to: String,
}

/// The guard's view for `status` and `GET /admin/status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// What `current` points to on disk.
    pub current: Option<String>,
    /// The state file.
    pub state: GuardState,
}

/// Finish or undo an interrupted switch and repair `current`; what `run` does first.
pub fn recover(cfg: &GuardConfig) -> Result<Status, GuardError> {
    let g = Guard::new(cfg.clone())?;
    g.locked(|s| g.reconcile(s))?;
    status(cfg)
}

/// Activate `version` (it will be judged by the running guard).
pub fn activate(cfg: &GuardConfig, version: &str) -> Result<Status, GuardError> {
    super::layout::check_version(version)?;
    let g = Guard::new(cfg.clone())?;
    g.locked(|s| {
        g.reconcile(s)?;
        if s.active.as_deref() == Some(version) {
            return Ok(());
        }
        g.switch(s, version, "activate", None, true)
    })?;
    status(cfg)
}

/// Roll back to the last good release; idempotent.
pub fn rollback_to_last_good(
    cfg: &GuardConfig,
    reason: &str,
) -> Result<RollbackOutcome, GuardError> {
    let g = Guard::new(cfg.clone())?;
    g.locked(|s| g.rollback_locked(s, reason, None))
}

/// Current link and state.
pub fn status(cfg: &GuardConfig) -> Result<Status, GuardError> {
    let g = Guard::new(cfg.clone())?;
    let state = g.store.load()?;
    Ok(Status {
        current: g.layout.current()?,
        state,
    })
}
