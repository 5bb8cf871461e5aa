//! `backtest` against a real Prometheus backfilled (promtool) with three days of six
//! identical pods (`scripts/gen_backtest_data.py`): the ground truth is that every split of
//! the pods is an A/A comparison and that an injected errors × 2 is a real regression. The
//! anytime-valid count test must keep its A/A false fails within α plus Monte-Carlo error
//! over the windows, and detect the doubled errors in most windows.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_canary-judge");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    root().join("scripts/prometheus-testenv")
}

/// A Prometheus of our own (its data differ from the other Prometheus tests'), stopped on
/// drop.
struct Backfilled {
    dir: PathBuf,
    url: String,
    expected: Value,
}

impl Backfilled {
    fn start() -> Backfilled {
        let which = Command::new(script()).arg("which").output().unwrap();
        assert!(
            which.status.success(),
            "Prometheus is not installed: run `scripts/prometheus-testenv install`"
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!("cj-backtest-{}-{nanos}", std::process::id()));
        let out = Command::new(script())
            .arg("start")
            .arg(&dir)
            .env("PROMETHEUS_TESTENV_MAX_SECONDS", "900")
            .env(
                "PROMETHEUS_TESTENV_GENERATOR",
                root().join("scripts/gen_backtest_data.py"),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "prometheus-testenv start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = std::fs::read_to_string(dir.join("url"))
            .unwrap()
            .trim()
            .to_string();
        let expected =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        Backfilled { dir, url, expected }
    }
}

impl Drop for Backfilled {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(&self.dir).status();
    }
}

fn row<'a>(scenario: &'a Value, metric: &str) -> &'a Value {
    scenario["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == metric)
        .unwrap_or_else(|| panic!("no row {metric}"))
}

#[test]
fn backtest_on_three_days_of_six_identical_pods() {
    let prom = Backfilled::start();
    let page = tempfile::tempdir().unwrap();
    let page = page.path().join("backtest.html");
    let end = prom.expected["data_end"].as_i64().unwrap();
    let start = prom.expected["data_start"].as_i64().unwrap();
    let windows = ((end - start) / 3600 - 1) as usize; // the first hour has no [1m] history
    let out = Command::new(BIN)
        .current_dir(root())
        .args(["backtest", "examples/backtest/errors.yaml", "--json", "-o"])
        .arg(&page)
        .args(["--prometheus", &prom.url])
        .args(["--windows", &windows.to_string(), "--window", "1h"])
        .args(["--until", &end.to_string(), "--every", "1m"])
        .args([
            "--var",
            "canary-pods=web-[012]",
            "--var",
            "baseline-pods=web-[345]",
        ])
        .args(["--inject", "errors=2,values=2"])
        .env_remove("CANARY_JUDGE_LOG")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!(
        "{}",
        serde_json::to_string_pretty(&report["scenarios"]).unwrap()
    );
    assert_eq!(report["windows"].as_u64(), Some(windows as u64));
    assert_eq!(report["step_seconds"].as_f64(), Some(60.0));
    let aa = &report["scenarios"][0];
    assert_eq!(aa["name"], "A/A");
    // Anytime-valid at α = 0.05: expected ≤ 5 % of the windows; allow three binomial
    // standard errors of Monte-Carlo error.
    let n = windows as f64;
    let allowed = (0.05 * n + 3.0 * (0.05 * 0.95 * n).sqrt()).floor() as u64;
    let seq = row(aa, "errors-sequential");
    assert_eq!(seq["fails"]["of"].as_u64(), Some(windows as u64));
    let aa_fails = seq["fails"]["count"].as_u64().unwrap();
    assert!(
        aa_fails <= allowed,
        "A/A false fails {aa_fails} of {windows} > {allowed}"
    );
    // The rank test repeated at every look has no such guarantee: on the same windows it
    // fails healthy releases more often (the simulation table's inflation).
    let mw_fails = row(aa, "errors-mann-whitney")["fails"]["count"]
        .as_u64()
        .unwrap();
    assert!(
        mw_fails > aa_fails,
        "repeated mann-whitney A/A {mw_fails} vs count-sequential {aa_fails}"
    );
    let detect = row(&report["scenarios"][1], "errors-sequential");
    let detected = detect["fails"]["count"].as_u64().unwrap();
    assert!(
        detected as f64 >= 0.8 * n,
        "errors×2 detected in only {detected} of {windows} windows"
    );
    let median = detect["median_minutes_to_fail"].as_f64().unwrap();
    assert!(median > 0.0 && median <= 60.0, "median {median}");
    let html = std::fs::read_to_string(&page).unwrap();
    for s in report["scenarios"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        assert!(
            html.contains(&format!("data-scenario=\"{name}\"")),
            "page lacks scenario {name}"
        );
    }
    // The Wilson interval holds the rate.
    let f = &detect["fails"];
    assert!(f["low"].as_f64() <= f["rate"].as_f64() && f["rate"].as_f64() <= f["high"].as_f64());
}
