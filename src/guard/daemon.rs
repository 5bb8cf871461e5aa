//! `guard run`: the long-running loop that recovers, serves the admin endpoint, watches
//! configs, and judges every newly active release, rolling back on fail (through the
//! [`Guard`] handle of `handle.rs`, under its state lock).

use super::config::{GuardConfig, InconclusivePolicy};
use super::handle::Guard;
use super::judge::{Judgement, judge_release};
use super::state::{GuardState, VerdictRecord, write_atomic};
use super::{GuardError, now_unix};
use crate::analysis::SeriesSet;
use crate::stats::Verdict;
use std::time::Duration;

/// Run the guard until SIGINT/SIGTERM: recover, serve the admin endpoint, watch configs,
/// and judge every release that becomes active.
pub async fn run(cfg: GuardConfig) -> Result<(), GuardError> {
    let g = Guard::new(cfg)?;
    {
        let g = g.clone();
        tokio::task::spawn_blocking(move || g.locked(|s| g.reconcile(s)))
            .await
            .map_err(|e| GuardError::Runtime {
                what: "reconciling the state",
                source: Box::new(e),
            })??;
    }
    if let Some(admin) = g.cfg.admin.clone() {
        super::admin::spawn(g.clone(), &admin).await?;
    }
    if let Some(w) = g.cfg.config_watch.clone() {
        super::watch::spawn(g.clone(), w);
    }
    tracing::info!(root = %g.layout.root().display(), "guard running");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| GuardError::Runtime {
            what: "installing the SIGTERM handler",
            source: Box::new(e),
        })?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            r = judge_once(&g) => {
                if let Err(e) = r {
                    tracing::error!(error = %e, "guard cycle failed");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    tracing::info!("guard stopped");
    Ok(())
}

async fn blocking<T: Send + 'static>(
    g: &Guard,
    f: impl FnOnce(&Guard) -> Result<T, GuardError> + Send + 'static,
) -> Result<T, GuardError> {
    let g = g.clone();
    tokio::task::spawn_blocking(move || f(&g))
        .await
        .map_err(|e| GuardError::Runtime {
            what: "a state operation",
            source: Box::new(e),
        })?
}

/// One cycle: reconcile, and if the active release needs a judgement, judge it and act.
async fn judge_once(g: &Guard) -> Result<(), GuardError> {
    let state = blocking(g, |g| {
        g.locked(|s| {
            g.reconcile(s)?;
            Ok(s.clone())
        })
    })
    .await?;
    let Some(version) = state.active.clone().filter(|_| state.needs_judgement) else {
        return Ok(());
    };
    let baseline_version = state.last_good.clone().filter(|b| *b != version);
    let baseline = baseline_version.as_deref().and_then(|b| g.load_baseline(b));
    let baseline_window = baseline_version
        .as_deref()
        .and_then(|b| state.verdicts.get(b))
        .map(|r| (r.window_start, r.window_end));
    tracing::info!(%version, baseline = ?baseline_version, "judging release");
    let layout = g.layout.clone();
    let v2 = version.clone();
    let still_active = move || layout.current().ok().flatten().as_deref() == Some(v2.as_str());
    let judged = judge_release(
        &g.cfg,
        &version,
        baseline_version.as_deref(),
        baseline.as_ref(),
        baseline_window,
        &still_active,
    )
    .await;
    let judgement = match judged {
        Ok(Some(j)) => j,
        Ok(None) => {
            tracing::info!(%version, "release was switched away during its judgement");
            return Ok(());
        }
        Err(e) => {
            tracing::error!(%version, error = %e, "judgement could not run; applying the inconclusive policy");
            Judgement {
                verdict: Verdict::Inconclusive,
                summary: format!("inconclusive: judgement could not run: {e}"),
                recorded: SeriesSet::default(),
                window_start: now_unix(),
                window_end: now_unix(),
            }
        }
    };
    blocking(g, move |g| {
        g.locked(|s| apply_verdict(g, s, &version, judgement))
    })
    .await
}

fn apply_verdict(
    g: &Guard,
    s: &mut GuardState,
    version: &str,
    j: Judgement,
) -> Result<(), GuardError> {
    g.reconcile(s)?;
    if s.active.as_deref() != Some(version) || !s.needs_judgement {
        return Ok(());
    }
    s.verdicts.insert(
        version.to_string(),
        VerdictRecord {
            verdict: j.verdict.as_str().to_string(),
            summary: j.summary.clone(),
            window_start: j.window_start,
            window_end: j.window_end,
        },
    );
    g.store.audit_event(
        "verdict",
        None,
        Some(version),
        j.verdict.as_str(),
        Some(&j.summary),
    );
    tracing::info!(version, verdict = j.verdict.as_str(), summary = %j.summary, "verdict");
    let policy = g.cfg.judge.on_inconclusive;
    let mark_good = |s: &mut GuardState| -> Result<(), GuardError> {
        let path = g.baseline_path(version);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| GuardError::io("create", dir, e))?;
        }
        write_atomic(&path, &serde_json::to_vec(&j.recorded).unwrap_or_default())?;
        s.last_good = Some(version.to_string());
        s.needs_judgement = false;
        g.store.save(s)
    };
    match (j.verdict, policy) {
        (Verdict::Pass, _) | (Verdict::Inconclusive, InconclusivePolicy::Keep) => mark_good(s),
        (Verdict::Inconclusive, InconclusivePolicy::KeepUnmarked) => {
            s.needs_judgement = false;
            g.store.save(s)
        }
        (Verdict::Fail, _) | (Verdict::Inconclusive, InconclusivePolicy::Rollback) => {
            let reason = format!("verdict {}", j.verdict.as_str());
            match g.rollback_locked(s, &reason, Some(j.summary.clone())) {
                Ok(_) => Ok(()),
                Err(GuardError::NoRollbackTarget(m)) => {
                    tracing::error!(version, "cannot roll back: {m}");
                    g.store.audit_event(
                        "rollback-impossible",
                        Some(version),
                        None,
                        &m,
                        Some(&j.summary),
                    );
                    s.needs_judgement = false;
                    g.store.save(s)
                }
                Err(e) => Err(e),
            }
        }
    }
}
