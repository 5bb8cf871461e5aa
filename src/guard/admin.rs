//! The admin endpoint: `POST /admin/rollback` (to the last good release, idempotent) and
//! `GET /admin/status`, behind a bearer token read from a file or the environment. The
//! token is compared in constant time, a missing token and a wrong one get the same 401,
//! every call is rate-limited (one token bucket for all callers, checked before the token
//! so guessing is throttled too) and written to the audit log.

use super::GuardError;
use super::config::AdminConfig;
use super::handle::{Guard, status};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use subtle::ConstantTimeEq;

struct Bucket {
    tokens: f64,
    last: Instant,
}

struct Admin {
    guard: Guard,
    token: Option<Vec<u8>>,
    per_minute: f64,
    bucket: Mutex<Bucket>,
}

/// Read the token: file first, then the environment variable; `None` disables access.
fn load_token(cfg: &AdminConfig) -> Option<Vec<u8>> {
    if let Some(path) = &cfg.token_file {
        match std::fs::read_to_string(path) {
            Ok(t) if !t.trim().is_empty() => return Some(t.trim().as_bytes().to_vec()),
            Ok(_) => tracing::warn!(path = %path.display(), "admin token file is empty"),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "admin token file unreadable")
            }
        }
    }
    if let Some(var) = &cfg.token_env
        && let Ok(t) = std::env::var(var)
        && !t.trim().is_empty()
    {
        return Some(t.trim().as_bytes().to_vec());
    }
    tracing::warn!("no admin token configured: every admin call will be refused");
    None
}

/// Constant-time equality that also hides where the first difference is and does not stop
/// early on a length mismatch (it walks the longer input).
pub fn token_matches(expected: &[u8], given: &[u8]) -> bool {
    let n = expected.len().max(given.len());
    let mut acc = subtle::Choice::from(1u8);
    for i in 0..n {
        let a = expected.get(i).copied().unwrap_or(0);
        let b = given.get(i).copied().unwrap_or(0xff);
        acc &= a.ct_eq(&b);
    }
    acc &= (expected.len() as u64).ct_eq(&(given.len() as u64));
    bool::from(acc)
}

impl Admin {
    fn allow(&self) -> bool {
        let Ok(mut b) = self.bucket.lock() else {
            return false;
        };
        let now = Instant::now();
        let refill = now.duration_since(b.last).as_secs_f64() * self.per_minute / 60.0;
        b.tokens = (b.tokens + refill).min(self.per_minute);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        match &self.token {
            Some(t) => token_matches(t, given.as_bytes()),
            // Same work and same answer as a wrong token.
            None => {
                let _ = token_matches(b"\0", given.as_bytes());
                false
            }
        }
    }

    /// Rate limit, then authenticate; audits the refusal.
    fn gate(&self, headers: &HeaderMap, call: &str) -> Result<(), Box<Response>> {
        if !self.allow() {
            self.guard
                .store
                .audit_event("admin", None, None, call, Some("429 rate limited"));
            return Err(Box::new(
                (StatusCode::TOO_MANY_REQUESTS, "rate limited\n").into_response(),
            ));
        }
        if !self.authorized(headers) {
            self.guard
                .store
                .audit_event("admin", None, None, call, Some("401 unauthorized"));
            let r = (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Bearer")],
                "unauthorized\n",
            );
            return Err(Box::new(r.into_response()));
        }
        Ok(())
    }
}

async fn get_status(State(a): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if let Err(r) = a.gate(&headers, "GET /admin/status") {
        return *r;
    }
    a.guard
        .store
        .audit_event("admin", None, None, "GET /admin/status", Some("200"));
    match status(&a.guard.cfg) {
        Ok(s) => axum::Json(s).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn post_rollback(State(a): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if let Err(r) = a.gate(&headers, "POST /admin/rollback") {
        return *r;
    }
    let cfg = a.guard.cfg.clone();
    let result = tokio::task::spawn_blocking(move || {
        super::handle::rollback_to_last_good(&cfg, "admin rollback")
    })
    .await;
    match result {
        Ok(Ok(outcome)) => {
            let summary = format!("200 changed={} to={}", outcome.changed, outcome.to);
            a.guard.store.audit_event(
                "admin",
                outcome.from.as_deref(),
                Some(&outcome.to),
                "POST /admin/rollback",
                Some(&summary),
            );
            axum::Json(outcome).into_response()
        }
        Ok(Err(GuardError::NoRollbackTarget(m))) => {
            a.guard.store.audit_event(
                "admin",
                None,
                None,
                "POST /admin/rollback",
                Some(&format!("409 {m}")),
            );
            (StatusCode::CONFLICT, format!("{m}\n")).into_response()
        }
        Ok(Err(e)) => {
            a.guard.store.audit_event(
                "admin",
                None,
                None,
                "POST /admin/rollback",
                Some(&format!("500 {e}")),
            );
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// Bind the admin address and serve in the background.
pub async fn spawn(guard: Guard, cfg: &AdminConfig) -> Result<(), GuardError> {
    let per_minute = f64::from(cfg.rate_limit_per_minute.max(1));
    let admin = Arc::new(Admin {
        guard,
        token: load_token(cfg),
        per_minute,
        bucket: Mutex::new(Bucket {
            tokens: per_minute,
            last: Instant::now(),
        }),
    });
    let app = Router::new()
        .route("/admin/status", get(get_status))
        .route("/admin/rollback", post(post_rollback))
        .with_state(admin);
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| GuardError::Admin {
            address: cfg.listen.clone(),
            message: e.to_string(),
        })?;
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(address = %local, "admin endpoint listening");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "admin endpoint stopped");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::token_matches;

    #[test]
    fn token_comparison() {
        assert!(token_matches(b"secret", b"secret"));
        assert!(!token_matches(b"secret", b"secreT"));
        assert!(!token_matches(b"secret", b"secret2"));
        assert!(!token_matches(b"secret", b""));
    }
}
