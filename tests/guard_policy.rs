//! Policies of a running guard: a switch made by hand (not through `guard activate`) is
//! adopted and judged; an inconclusive verdict follows `judge.on_inconclusive` (`keep`
//! marks the release good, `rollback` goes back to the last good one).

use crate::guard_support::*;
use serde_json::json;

fn repoint_by_hand(env: &Env, version: &str) {
    let tmp = env.root.join("by-hand.tmp");
    std::os::unix::fs::symlink(format!("releases/{version}"), &tmp).unwrap();
    std::fs::rename(&tmp, env.root.join("current")).unwrap();
}

#[test]
fn a_switch_made_by_hand_is_judged_and_rolled_back() {
    let mut env = Env::new("by-hand");
    env.release("v1", json!({"error_rate": 0.01}));
    env.release("v2", json!({"error_rate": 0.5}));
    env.point_current("v1");
    let port = env.start_app();
    let cfg = env.guard_config(port, "2s", "");
    env.start_guard(&cfg);
    env.wait_state("v1 judged good", 30, |s| s["last_good"] == "v1");
    repoint_by_hand(&env, "v2");
    let pid: i32 = std::fs::read_to_string(env.dir.join("app.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let s = env.wait_state("v2 judged", 30, |s| {
        s["verdicts"]["v2"].is_object() && s["needs_judgement"] == false
    });
    assert_eq!(s["verdicts"]["v2"]["verdict"], "fail");
    assert_eq!(env.current().as_deref(), Some("v1"));
    let audit = env.audit();
    assert!(
        audit
            .iter()
            .any(|r| r["event"] == "observed-switch" && r["from"] == "v1" && r["to"] == "v2")
    );
    assert!(
        audit
            .iter()
            .any(|r| r["event"] == "switch" && r["to"] == "v1" && r["reason"] == "verdict fail")
    );
}

/// A template that can never decide: the threshold wants more points than 2 s can give.
const UNDECIDABLE: &str = r#"
metrics:
  - name: latency
    method: threshold
    params: {aggregate: mean, max: 100, min_samples: 1000}
    canary: {query: app_latency_ms}
"#;

#[test]
fn inconclusive_follows_the_configured_policy() {
    let mut env = Env::new("policy");
    for v in ["v1", "v2", "v3"] {
        env.release(v, json!({"error_rate": 0.01}));
    }
    env.point_current("v1");
    let port = env.start_app();
    let cfg = env.guard_config(port, "1s", "  on_inconclusive: keep\n");
    std::fs::write(env.dir.join("analysis.yaml"), UNDECIDABLE).unwrap();
    // guard_config wrote the shared template; write the undecidable one after it.
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("on_inconclusive: keep"));
    env.start_guard(&cfg);
    let s = env.wait_state("v1 kept", 30, |s| s["last_good"] == "v1");
    assert_eq!(s["verdicts"]["v1"]["verdict"], "inconclusive", "{s}");
    env.guard_cmd(&cfg, &["activate", "v2"]);
    let s = env.wait_state("v2 kept", 30, |s| s["last_good"] == "v2");
    assert_eq!(s["verdicts"]["v2"]["verdict"], "inconclusive");
    assert_eq!(env.current().as_deref(), Some("v2"));

    env.stop_guards();
    let cfg = env.guard_config(port, "1s", "  on_inconclusive: rollback\n");
    std::fs::write(env.dir.join("analysis.yaml"), UNDECIDABLE).unwrap();
    env.start_guard(&cfg);
    env.guard_cmd(&cfg, &["activate", "v3"]);
    let s = env.wait_state("v3 judged", 30, |s| {
        s["verdicts"]["v3"].is_object() && s["needs_judgement"] == false
    });
    assert_eq!(s["verdicts"]["v3"]["verdict"], "inconclusive");
    assert_eq!(s["last_good"], "v2");
    assert_eq!(env.current().as_deref(), Some("v2"));
    assert!(env.audit().iter().any(|r| r["event"] == "switch"
        && r["to"] == "v2"
        && r["reason"] == "verdict inconclusive"));
}
