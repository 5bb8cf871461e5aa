//! Crash safety: `guard activate` is killed with SIGKILL at random points of its switch
//! (a step pause widens each window) while a reader loop resolves `current` continuously;
//! `current` is never missing or dangling, and `guard recover` always leaves a consistent
//! state (no pending switch, state and link agree, no temp link left).

use crate::guard_support::*;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;

fn config(env: &Env) -> std::path::PathBuf {
    // No application is needed: nothing is judged here, and no reload is configured.
    std::fs::write(env.dir.join("analysis.yaml"), ANALYSIS).unwrap();
    let p = env.dir.join("guard.yaml");
    std::fs::write(
        &p,
        "root: root\napp:\n  url: http://127.0.0.1:9\njudge:\n  analysis: analysis.yaml\n  duration: 1s\n",
    )
    .unwrap();
    p
}

fn check_consistent(env: &Env, cfg: &std::path::Path) -> String {
    let out = env.guard_cmd(cfg, &["recover"]);
    assert!(
        out.status.success(),
        "recover failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = env.state();
    assert!(
        s["pending"].is_null(),
        "pending switch left after recover: {s}"
    );
    let cur = env.current().expect("current missing after recover");
    assert!(env.root.join("releases").join(&cur).is_dir());
    assert_eq!(s["active"], cur.as_str(), "state and link disagree: {s}");
    assert!(
        std::fs::symlink_metadata(env.root.join(".current.guard-tmp")).is_err(),
        "temp link left"
    );
    cur
}

#[test]
fn kill_9_at_random_points_of_a_switch_is_recovered() {
    let env = Env::new("crash");
    env.release("a", json!({"error_rate": 0.0}));
    env.release("b", json!({"error_rate": 0.0}));
    env.point_current("a");
    let cfg = config(&env);
    check_consistent(&env, &cfg);
    let reader = LinkReader::start(&env.root);
    // xorshift seeded from the clock; printed so a failure can be replayed.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let rounds = 30;
    let mut mid_switch = 0;
    // Where the kills landed: [no switch begun or done, intent recorded, temp link made,
    // renamed but not committed].
    let mut landed = [0u32; 4];
    for _ in 0..rounds {
        let before = env.current().unwrap();
        let target = if before == "a" { "b" } else { "a" };
        let mut child = Command::new(BIN)
            .args(["guard", "--config"])
            .arg(&cfg)
            .args(["activate", target])
            .env("CANARY_JUDGE_GUARD_STEP_PAUSE_MS", "40")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Process start-up is a few ms; the switch's steps then take 40 ms each.
        std::thread::sleep(Duration::from_millis(next() % 200));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let pending = !env.state()["pending"].is_null();
        let temp = std::fs::symlink_metadata(env.root.join(".current.guard-tmp")).is_ok();
        let renamed = env.current().as_deref() == Some(target);
        let slot = match (pending, temp, renamed) {
            (false, _, _) => 0,
            (true, true, _) => 2,
            (true, false, true) => 3,
            (true, false, false) => 1,
        };
        landed[slot] += 1;
        if pending {
            mid_switch += 1;
        }
        let after = check_consistent(&env, &cfg);
        if pending {
            assert_eq!(
                after, target,
                "an interrupted switch is finished by recover"
            );
        }
    }
    let (reads, failures) = reader.finish();
    println!(
        "{rounds} kills, {mid_switch} mid-switch (none/intent/temp-link/renamed: {landed:?}), {reads} reads of current"
    );
    assert!(
        mid_switch >= 3,
        "too few kills landed inside a switch ({mid_switch}) to prove anything"
    );
    assert_eq!(
        failures, 0,
        "current missing or dangling {failures} times in {reads} reads"
    );
    let recovered = env
        .audit()
        .iter()
        .filter(|r| r["event"] == "recovered-switch")
        .count();
    assert!(
        recovered >= mid_switch,
        "audit has {recovered} recoveries for {mid_switch} interrupted switches"
    );
}

#[test]
fn kill_between_temp_link_and_rename_finishes_the_switch() {
    let env = Env::new("crash-temp");
    env.release("a", json!({"error_rate": 0.0}));
    env.release("b", json!({"error_rate": 0.0}));
    env.point_current("a");
    let cfg = config(&env);
    check_consistent(&env, &cfg);
    let mut child = Command::new(BIN)
        .args(["guard", "--config"])
        .arg(&cfg)
        .args(["activate", "b"])
        .env("CANARY_JUDGE_GUARD_STEP_PAUSE_MS", "3000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tmp = env.root.join(".current.guard-tmp");
    let seen = wait_for(Duration::from_secs(10), || {
        std::fs::symlink_metadata(&tmp).ok()
    });
    assert!(seen.is_some(), "temp link never appeared");
    child.kill().unwrap();
    child.wait().unwrap();
    // The kill landed with the temp link made and `current` still on the old release.
    assert_eq!(env.current().as_deref(), Some("a"));
    assert!(std::fs::symlink_metadata(&tmp).is_ok());
    assert_eq!(env.state()["pending"]["to"], "b");
    assert_eq!(check_consistent(&env, &cfg), "b");
    let audit = env.audit();
    let last = audit.last().unwrap();
    assert_eq!(last["event"], "recovered-switch");
    assert_eq!(last["from"], "a");
    assert_eq!(last["to"], "b");
}

#[test]
fn guard_run_killed_during_its_own_rollback_finishes_it_on_restart() {
    let mut env = Env::new("crash-run");
    env.release("v1", json!({"error_rate": 0.01}));
    env.release("v2", json!({"error_rate": 0.5}));
    env.point_current("v1");
    let port = env.start_app();
    let cfg = env.guard_config(port, "1s", "");
    let reader = LinkReader::start(&env.root);
    // Each step of the guard's switches takes 1 s, so the kill lands inside the rollback.
    env.start_guard_with(&cfg, &[("CANARY_JUDGE_GUARD_STEP_PAUSE_MS", "1000")]);
    env.wait_state("v1 judged good", 30, |s| s["last_good"] == "v1");
    let out = env.guard_cmd(&cfg, &["activate", "v2"]);
    assert!(out.status.success());
    env.wait_state("rollback begun", 30, |s| s["pending"]["to"] == "v1");
    let offset = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 3000) as u64;
    println!("killing the guard {offset} ms into its rollback");
    std::thread::sleep(Duration::from_millis(offset));
    env.stop_guards(); // SIGKILL
    assert!(!env.state()["pending"].is_null() || env.current().as_deref() == Some("v1"));
    env.start_guard(&cfg);
    let s = env.wait_state("rollback finished after restart", 30, |s| {
        s["active"] == "v1" && s["pending"].is_null() && s["needs_judgement"] == false
    });
    assert_eq!(s["last_good"], "v1");
    assert_eq!(s["verdicts"]["v2"]["verdict"], "fail");
    assert_eq!(env.current().as_deref(), Some("v1"));
    let reloaded = wait_for(Duration::from_secs(5), || {
        let (code, r) = http(port, "GET", "/version", None);
        (code == 200 && body(&r).trim() == "v1").then_some(())
    });
    assert!(
        reloaded.is_some(),
        "app not told to reload v1 after recovery"
    );
    let (reads, failures) = reader.finish();
    assert_eq!(
        failures, 0,
        "current missing or dangling {failures} times in {reads} reads"
    );
    let audit = env.audit();
    assert!(
        audit.iter().any(|r| r["to"] == "v1"
            && (r["event"] == "recovered-switch" || r["event"] == "switch")
            && r["reason"] == "verdict fail"),
        "{audit:#?}"
    );
}
