//! The shipped single-machine example (examples/guard/) and the config checks: the example
//! loads, its analysis template parses and plans in scrape mode, its schema is readable, and
//! bad guard configs are refused with a message naming the problem.

use canary_judge::guard::GuardConfig;
use canary_judge::guard::judge::load_template;
use canary_judge::guard::watch::Schema;
use std::path::Path;

#[test]
fn example_config_template_and_schema_load() {
    let cfg = GuardConfig::load(Path::new("examples/guard/guard.yaml")).unwrap();
    assert_eq!(cfg.root, Path::new("/srv/shop"));
    assert!(cfg.admin.is_some() && cfg.config_watch.is_some());
    let analysis = load_template(&cfg.judge.analysis, "v2", Some("v1")).unwrap();
    assert_eq!(analysis.metrics.len(), 3);
    let schema = Schema::load(&cfg.config_watch.unwrap().schema).unwrap();
    assert!(schema.required.contains(&"workers".to_string()));
    assert!(
        schema
            .check(
                Path::new("shop.yaml"),
                "listen: ':8080'\ndatabase_url: x\nworkers: 4\n"
            )
            .is_ok()
    );
}

#[test]
fn bad_guard_configs_are_refused_with_a_reason() {
    let dir = std::env::temp_dir().join(format!("cj-guard-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = "root: r\napp: {url: 'http://127.0.0.1:1'}\n";
    let cases = [
        (
            "judge: {analysis: a.yaml, duration: 1s, interval: 2s}\n",
            "at least judge.interval",
        ),
        (
            "judge: {analysis: a.yaml, duration: 1x}\n",
            "invalid duration",
        ),
        (
            "judge: {analysis: a.yaml, duration: 1s, source: prometheus}\n",
            "prometheus",
        ),
        (
            "judge: {analysis: a.yaml, duration: 1s}\nreload: {signal: KILL}\n",
            "reload.signal",
        ),
        (
            "judge: {analysis: a.yaml, duration: 1s}\nreload: {command: []}\n",
            "empty",
        ),
        (
            "judge: {analysis: a.yaml, duration: 1s}\nconfig_watch: {dir: ../x, schema: s}\n",
            "inside the release",
        ),
        (
            "judge: {analysis: a.yaml, duration: 1s}\nsurprise: 1\n",
            "unknown field",
        ),
    ];
    for (extra, expect) in cases {
        let p = dir.join("g.yaml");
        std::fs::write(&p, format!("{base}{extra}")).unwrap();
        let e = GuardConfig::load(&p)
            .err()
            .unwrap_or_else(|| panic!("accepted: {extra}"));
        assert!(e.to_string().contains(expect), "{extra} -> {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
