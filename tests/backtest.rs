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

/// Bucket counts (cumulative, Prometheus `le` style) of `n` log-normal latencies (seconds).
fn latency_histogram(
    rng: &mut rand::rngs::StdRng,
    bounds: &[f64],
    n: usize,
    median: f64,
    scale: f64,
) -> Vec<f64> {
    use rand::Rng;
    let mut counts = vec![0.0; bounds.len()];
    for _ in 0..n {
        // Box–Muller: one standard normal from two uniforms.
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let x = scale * median * (0.5 * z).exp();
        for (c, b) in counts.iter_mut().zip(bounds) {
            if x <= *b {
                *c += 1.0;
            }
        }
    }
    counts
}

/// Latency injection for histograms (`--inject values=K`), on generated windows with known
/// ground truth: both arms log-normal with the same median (A/A), then the canary's
/// observations × 1.15 — once injected by `scale_histogram` into the A/A data, once drawn
/// truly slower. The sequential quantile test must keep A/A fails within α plus Monte-Carlo
/// error and catch both slow versions in most windows, at similar looks (the injection is
/// an honest stand-in for a real slowdown).
#[test]
fn histogram_latency_injection_matches_a_real_slowdown() {
    use canary_judge::analysis::{AnalysisConfig, ArmData, SeriesSet};
    use canary_judge::report::backtest::{Injection, inject, run_window, summarize};
    use canary_judge::stats::quantile::HistogramSeries;
    use rand::SeedableRng;

    let config = AnalysisConfig::from_yaml_str(
        "metrics:\n  - name: latency\n    method: quantile-sequential\n    margin: 0.2\n    \
         canary: {histogram: {query: c}}\n    baseline: {histogram: {query: b}}\n",
    )
    .unwrap();
    let bounds = [0.05, 0.1, 0.2, 0.4, 0.8, f64::INFINITY];
    let (windows, intervals) = (40, 30);
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261202);
    let mut draw = |scale: f64, n: usize| HistogramSeries {
        bounds: bounds.to_vec(),
        intervals: (0..intervals)
            .map(|_| latency_histogram(&mut rng, &bounds, n, 0.1, scale))
            .collect(),
    };
    let (mut aa, mut injected, mut real) = (Vec::new(), Vec::new(), Vec::new());
    let slower = Injection {
        errors: None,
        values: Some(1.15),
    };
    for w in 0..windows {
        let (canary, baseline) = (draw(1.0, 150), draw(1.0, 450));
        let data = SeriesSet::default().with(
            "latency",
            ArmData::Histogram(canary),
            Some(ArmData::Histogram(baseline.clone())),
        );
        let at = w as i64 * 3600;
        aa.push(run_window(&config, &data, 1, at, at + 1800));
        injected.push(run_window(
            &config,
            &inject(&data, &slower),
            1,
            at,
            at + 1800,
        ));
        let slow = SeriesSet::default().with(
            "latency",
            ArmData::Histogram(draw(1.15, 150)),
            Some(ArmData::Histogram(baseline)),
        );
        real.push(run_window(&config, &slow, 1, at, at + 1800));
    }
    let fails = |runs: &[canary_judge::report::backtest::WindowRun]| {
        let s = summarize(&config, "x", None, runs, 60.0);
        (s.rows[0].fails.count, s.rows[0].median_minutes_to_fail)
    };
    let (aa_fails, _) = fails(&aa);
    let (inj_fails, inj_median) = fails(&injected);
    let (real_fails, real_median) = fails(&real);
    eprintln!(
        "histogram backtest over {windows} windows: A/A {aa_fails}, injected ×1.15 {inj_fails} \
         (median {inj_median:?} min), really slower ×1.15 {real_fails} (median {real_median:?} min)"
    );
    let bound = 0.05 * windows as f64 + 3.0 * (windows as f64 * 0.05 * 0.95).sqrt();
    assert!((aa_fails as f64) <= bound, "A/A {aa_fails} > {bound:.1}");
    assert!(
        inj_fails * 10 >= windows * 8,
        "injected ×1.15 caught in {inj_fails}/{windows}"
    );
    assert!(
        real_fails * 10 >= windows * 8,
        "real ×1.15 caught in {real_fails}/{windows}"
    );
    let (a, b) = (inj_median.unwrap(), real_median.unwrap());
    assert!(
        a <= 2.0 * b + 1.0 && b <= 2.0 * a + 1.0,
        "injected and real slowdowns detected at very different times: {a} vs {b} min"
    );
}
