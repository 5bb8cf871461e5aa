//! The admin endpoint of a running guard: wrong or missing tokens get the same 401, the
//! right token rolls back to the last good release (idempotently) and reads the status,
//! calls beyond the rate limit get 429, and every call is in the audit log.

use crate::guard_support::*;
use serde_json::json;

#[test]
fn admin_rollback_needs_the_token_and_is_idempotent() {
    let mut env = Env::new("admin");
    env.release("v1", json!({"error_rate": 0.01}));
    env.release("v2", json!({"error_rate": 0.01}));
    env.point_current("v1");
    let port = env.start_app();
    let admin_port = free_port();
    std::fs::write(env.dir.join("token"), "file-token-123\n").unwrap();
    let extra = format!(
        "admin:\n  listen: 127.0.0.1:{admin_port}\n  token_file: token\n  rate_limit_per_minute: 12\n"
    );
    // First a guard with a 1 s window judges v1 good; then one with a 60 s window, so v2 is
    // still under judgement when the operator rolls it back.
    let cfg = env.guard_config(port, "1s", &extra);
    env.start_guard(&cfg);
    env.wait_state("v1 judged good", 30, |s| s["last_good"] == "v1");
    env.stop_guards();
    let cfg = env.guard_config(port, "60s", &extra);
    env.start_guard(&cfg);
    let up = wait_for(std::time::Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", admin_port)).ok()
    });
    assert!(up.is_some(), "admin endpoint did not come up");
    env.guard_cmd(&cfg, &["activate", "v2"]);
    env.wait_state("v2 active", 10, |s| s["active"] == "v2");

    let (code, r) = http(admin_port, "POST", "/admin/rollback", Some("wrong"));
    assert_eq!(code, 401, "{r}");
    let (code_none, r_none) = http(admin_port, "POST", "/admin/rollback", None);
    assert_eq!(code_none, 401);
    // No hint which case it was: same status, same body.
    assert_eq!(body(&r), body(&r_none));
    let (code, _) = http(admin_port, "POST", "/admin/rollback", Some("file-token-12"));
    assert_eq!(code, 401);
    assert_eq!(
        env.current().as_deref(),
        Some("v2"),
        "a refused call must not switch"
    );

    let (code, r) = http(
        admin_port,
        "POST",
        "/admin/rollback",
        Some("file-token-123"),
    );
    assert_eq!(code, 200, "{r}");
    let out: serde_json::Value = serde_json::from_str(body(&r)).unwrap();
    assert_eq!(out["changed"], true);
    assert_eq!(out["to"], "v1");
    assert_eq!(env.current().as_deref(), Some("v1"));
    let (code, r) = http(
        admin_port,
        "POST",
        "/admin/rollback",
        Some("file-token-123"),
    );
    assert_eq!(code, 200);
    let out: serde_json::Value = serde_json::from_str(body(&r)).unwrap();
    assert_eq!(out["changed"], false, "second rollback must be a no-op");
    assert_eq!(env.current().as_deref(), Some("v1"));

    let (code, _) = http(admin_port, "GET", "/admin/status", Some("nope"));
    assert_eq!(code, 401);
    let (code, r) = http(admin_port, "GET", "/admin/status", Some("file-token-123"));
    assert_eq!(code, 200);
    let st: serde_json::Value = serde_json::from_str(body(&r)).unwrap();
    assert_eq!(st["current"], "v1");
    assert_eq!(st["state"]["last_good"], "v1");

    // 7 calls so far out of 12 per minute: the bucket runs dry within the next few.
    let codes: Vec<u16> = (0..8)
        .map(|_| http(admin_port, "GET", "/admin/status", Some("file-token-123")).0)
        .collect();
    assert!(codes.contains(&429), "{codes:?}");
    assert!(codes.iter().all(|c| *c == 200 || *c == 429), "{codes:?}");

    let audit = env.audit();
    let admin: Vec<&serde_json::Value> = audit.iter().filter(|r| r["event"] == "admin").collect();
    assert_eq!(admin.len(), 15, "{admin:#?}");
    assert_eq!(
        admin
            .iter()
            .filter(|r| r["summary"].as_str().unwrap().starts_with("401"))
            .count(),
        4
    );
    assert!(
        admin
            .iter()
            .any(|r| r["summary"].as_str().unwrap().starts_with("429"))
    );
    assert!(
        audit
            .iter()
            .any(|r| r["event"] == "switch" && r["reason"] == "admin rollback" && r["to"] == "v1")
    );
}

#[test]
fn token_from_the_environment_and_none_configured() {
    let mut env = Env::new("admin-env");
    env.release("v1", json!({"error_rate": 0.01}));
    env.point_current("v1");
    let port = env.start_app();
    let admin_port = free_port();
    let extra =
        format!("admin:\n  listen: 127.0.0.1:{admin_port}\n  token_env: GUARD_TEST_TOKEN\n");
    let cfg = env.guard_config(port, "1s", &extra);
    env.start_guard(&cfg);
    let up = wait_for(std::time::Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", admin_port)).ok()
    });
    assert!(up.is_some());
    env.wait_state("v1 judged good", 30, |s| s["last_good"] == "v1");
    assert_eq!(
        http(admin_port, "GET", "/admin/status", Some("s3cret-token")).0,
        200
    );
    assert_eq!(
        http(admin_port, "GET", "/admin/status", Some("s3cret")).0,
        401
    );
    // Rollback when the last good release is active: 200, unchanged.
    let (code, r) = http(admin_port, "POST", "/admin/rollback", Some("s3cret-token"));
    assert_eq!(code, 200, "{r}");
    assert!(body(&r).contains("\"changed\":false"));
}
