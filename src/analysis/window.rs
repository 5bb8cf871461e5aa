//! The analysis window: which `[start, end]` (Unix seconds) a look judges, resolved the same
//! way by every front door from the command line's or request's overrides, the config's
//! `window:` block and the front door's own fallback (Argo's `startedAt`).

use super::config::WindowConfig;
use crate::duration::{DurationError, TimeError, parse_positive_duration, parse_time};

/// Why no window could be resolved.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    /// `since` or `until` is not a time.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// `window.window` is not a positive duration.
    #[error(transparent)]
    Length(#[from] DurationError),
    /// Nothing says where the window starts.
    #[error("no start: give --since, window.since or window.window")]
    NoStart,
    /// The start is after the end.
    #[error("start {start} is after end {end}")]
    Inverted {
        /// Start (Unix seconds).
        start: i64,
        /// End (Unix seconds).
        end: i64,
    },
}

/// Resolves the analysis window. `until`: the override, else `window.until`, else `now`.
/// `since`: the override, else `window.since`, else `until - window.window`, else
/// `fallback_since` (Argo's `AnalysisRun.status.startedAt`).
pub fn resolve_window(
    window: &WindowConfig,
    since: Option<&str>,
    until: Option<&str>,
    fallback_since: Option<i64>,
    now: i64,
) -> Result<(i64, i64), WindowError> {
    let until = match until.or(window.until.as_deref()) {
        Some(t) => parse_time(t, now)?,
        None => now,
    };
    let since = if let Some(t) = since.or(window.since.as_deref()) {
        parse_time(t, now)?
    } else if let Some(w) = &window.window {
        let d = parse_positive_duration(w)?;
        until.saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    } else if let Some(s) = fallback_since {
        s
    } else {
        return Err(WindowError::NoStart);
    };
    if since > until {
        return Err(WindowError::Inverted {
            start: since,
            end: until,
        });
    }
    Ok((since, until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_resolution_order() {
        let w = WindowConfig {
            since: None,
            until: Some("2000".into()),
            window: Some("10m".into()),
        };
        assert_eq!(
            resolve_window(&w, None, None, Some(5), 9999).unwrap(),
            (1400, 2000)
        );
        assert_eq!(
            resolve_window(&w, Some("100"), Some("200"), None, 9999).unwrap(),
            (100, 200)
        );
        let empty = WindowConfig::default();
        assert_eq!(
            resolve_window(&empty, None, None, Some(5), 50).unwrap(),
            (5, 50)
        );
        assert!(resolve_window(&empty, None, None, None, 50).is_err());
        assert!(resolve_window(&empty, Some("60"), Some("50"), None, 0).is_err());
    }
}
