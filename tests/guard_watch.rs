//! The config watcher of a running guard: a config made unparseable or missing a required
//! field is replaced by the last valid copy (and audited); a valid change is kept and
//! becomes the new last valid copy.

use crate::guard_support::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn broken_config_is_restored_and_valid_change_kept() {
    let mut env = Env::new("watch");
    env.release("v1", json!({"error_rate": 0.01}));
    env.point_current("v1");
    let port = env.start_app();
    let cfg = env.guard_config(
        port,
        "1s",
        "config_watch:\n  dir: config\n  schema: schema.json\n",
    );
    env.start_guard(&cfg);
    let file = env.root.join("releases/v1/config/app.json");
    let copy = env.state_dir().join("last-valid/v1/app.json");
    let original = std::fs::read_to_string(&file).unwrap();
    let saved = wait_for(Duration::from_secs(20), || {
        std::fs::read_to_string(&copy)
            .ok()
            .filter(|c| *c == original)
    });
    assert!(saved.is_some(), "no valid copy saved\n{}", env.guard_log());
    // Let the watcher settle on the directory before the edits.
    std::thread::sleep(Duration::from_millis(500));

    let restored = |env: &Env, what: &str, expected: &str| {
        let ok = wait_for(Duration::from_secs(10), || {
            std::fs::read_to_string(&file)
                .ok()
                .filter(|t| t == expected)
        });
        assert!(ok.is_some(), "{what}: not restored\n{}", env.guard_log());
    };

    std::fs::write(&file, "{\"version\": \"v1\", \"error_rate\": ").unwrap();
    restored(&env, "unparseable", &original);

    std::fs::write(&file, r#"{"version": "v1"}"#).unwrap();
    restored(&env, "missing field", &original);

    std::fs::write(&file, r#"{"version": "v1", "error_rate": "lots"}"#).unwrap();
    restored(&env, "wrong type", &original);

    // Replaced through rename, as editors and config tools do.
    let tmp = env.root.join("releases/v1/config/.app.json.swp");
    std::fs::write(&tmp, "not json at all").unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    restored(&env, "renamed over", &original);

    let changed = r#"{"version": "v1", "error_rate": 0.002}"#;
    std::fs::write(&file, changed).unwrap();
    let kept = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&copy).ok().filter(|c| c == changed)
    });
    assert!(
        kept.is_some(),
        "valid change not taken as the new valid copy"
    );
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), changed);

    let restores = env
        .audit()
        .into_iter()
        .filter(|r| r["event"] == "config-restored")
        .count();
    assert!(
        restores >= 4,
        "{restores} restores audited\n{:#?}",
        env.audit()
    );
    assert!(env.guard_log().contains("restored the last valid copy"));
}
