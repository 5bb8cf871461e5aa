//! The built binary, end to end: exit statuses, stdout holding only the result, stderr naming
//! the problem for every kind of bad input, and the JSON fields scripts rely on.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_canary-judge");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(root())
        .env_remove("ARGO_ROLLOUTS_RPC_PLUGIN")
        .env_remove("CANARY_JUDGE_LOG")
        .output()
        .expect("binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory unique to one test, removed when the test ends.
struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

fn scratch(test: &str) -> Scratch {
    Scratch(
        tempfile::Builder::new()
            .prefix(&format!("canary-judge-cli-{test}-"))
            .tempdir()
            .unwrap(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn lines(values: impl IntoIterator<Item = f64>) -> String {
    values.into_iter().map(|v| format!("{v}\n")).collect()
}

fn spread(center: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| center * (1.0 + 0.05 * (i as f64 * 2.399).sin()))
        .collect()
}

#[test]
fn analyze_example_prints_table_and_passes() {
    let o = run(&["analyze", "examples/checkout.yaml"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "stdout:\n{out}\nstderr:\n{}", stderr(&o));
    assert!(out.starts_with("METRIC"), "{out}");
    for col in [
        "METHOD", "VERDICT", "N C/B", "EFFECT", "INTERVAL", "P / E", "REASON",
    ] {
        assert!(out.contains(col), "missing column {col}: {out}");
    }
    for metric in [
        "5xx-ratio",
        "http-errors",
        "latency-mean",
        "latency-histogram",
        "cpu-usage",
    ] {
        assert!(out.contains(metric), "missing metric {metric}: {out}");
    }
    assert!(out.contains("verdict: PASS"), "{out}");
    assert!(
        stderr(&o).is_empty(),
        "stderr should be quiet: {}",
        stderr(&o)
    );
}

#[test]
fn analyze_json_is_the_whole_stdout() {
    let o = run(&["analyze", "examples/checkout.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&o)).expect("stdout is one JSON document");
    assert_eq!(v["verdict"], "pass");
    assert!(v["score"].as_f64().unwrap() >= 75.0);
    let metrics = v["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 6);
    for m in metrics {
        for key in [
            "name", "method", "group", "weight", "critical", "outcome", "decision",
        ] {
            assert!(m.get(key).is_some(), "metric lacks {key}: {m}");
        }
        assert!(m["decision"]["reason"].is_string());
    }
    assert!(v["reason"].is_string());
}

#[test]
fn analyze_exit_statuses_follow_the_verdict() {
    let o = run(&["analyze", "examples/checkout-regression.yaml"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("verdict: FAIL"));
    let o = run(&["analyze", "examples/checkout-early.yaml"]);
    assert_eq!(code(&o), 3, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("verdict: INCONCLUSIVE"));
    let o = run(&["analyze", "examples/checkout-statistical.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["mode"], "statistical");
}

const GOOD_METRIC: &str = "  - name: cpu\n    method: welch\n    canary: {values: [1, 2, 3]}\n    baseline: {values: [1, 2, 3]}\n";

#[test]
fn analyze_bad_configs_exit_2_naming_the_field() {
    let dir = scratch("bad-configs");
    let cases = [
        (
            "unknown.yaml",
            format!("metrics:\n{GOOD_METRIC}    treshold: 3\n"),
            vec!["unknown.yaml", "metrics[0]", "`treshold`", "line 6"],
        ),
        (
            "missing.yaml",
            "metrics:\n  - method: welch\n    canary: {values: [1]}\n".to_string(),
            vec!["missing.yaml", "missing field `name`"],
        ),
        (
            "type.yaml",
            format!("metrics:\n{GOOD_METRIC}    critical: sometimes\n"),
            vec!["type.yaml", "metrics[0].critical", "invalid type"],
        ),
        (
            "params.yaml",
            format!("metrics:\n{GOOD_METRIC}    params: {{confidance: 0.9}}\n"),
            vec!["metrics[0] (cpu).params", "`confidance`"],
        ),
        (
            "top.yaml",
            format!("scoring: {{mode: kayenta}}\nmetricz: []\nmetrics:\n{GOOD_METRIC}"),
            vec!["`metricz`"],
        ),
        (
            "json.json",
            r#"{"metrics": [{"name": "a", "method": "welch", "canary": {"values": [1]}, "baseline": {"valuez": [1]}}]}"#
                .to_string(),
            vec!["metrics[0].baseline", "`valuez`"],
        ),
    ];
    for (name, text, wants) in cases {
        let path = write(&dir, name, &text);
        let o = run(&["analyze", &path]);
        assert_eq!(code(&o), 2, "{name}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{name}: stdout must be empty");
        let err = stderr(&o);
        for want in wants {
            assert!(err.contains(want), "{name}: stderr lacks {want}: {err}");
        }
    }
    let o = run(&["analyze", "no/such/config.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no/such/config.yaml"));
}

#[test]
fn analyze_data_source_errors_exit_4() {
    let dir = scratch("data-errors");
    write(&dir, "broken.csv", "1\n2\nthree\n");
    let cases = [
        (
            "broken.yaml",
            "metrics:\n  - name: cpu\n    method: welch\n    canary: {file: broken.csv}\n    baseline: {values: [1, 2]}\n",
            vec!["metric `cpu` canary", "broken.csv line 3"],
        ),
        (
            "absent.yaml",
            "metrics:\n  - name: cpu\n    method: welch\n    canary: {file: absent.csv}\n    baseline: {values: [1, 2]}\n",
            vec!["absent.csv"],
        ),
        (
            "query.yaml",
            "prometheus: {address: 'http://127.0.0.1:1', timeout: 2s}\nwindow: {window: 10m}\nmetrics:\n  - name: cpu\n    method: welch\n    canary: {query: 'avg(rate(cpu[1m]))'}\n    baseline: {values: [1, 2]}\n",
            vec![
                "metric `cpu` canary",
                "prometheus http://127.0.0.1:1 unreachable",
            ],
        ),
    ];
    for (name, text, wants) in cases {
        let path = write(&dir, name, text);
        let o = run(&["analyze", &path]);
        assert_eq!(code(&o), 4, "{name}: {}", stderr(&o));
        assert!(stdout(&o).is_empty());
        for want in wants {
            assert!(stderr(&o).contains(want), "{name}: {}", stderr(&o));
        }
    }
}

#[test]
fn compare_json_fields_and_exit_codes() {
    let dir = scratch("compare-json");
    let same_c = write(&dir, "c.txt", &lines(spread(1.0, 40)));
    let same_b = write(&dir, "b.txt", &lines(spread(1.0, 40)));
    let worse = write(&dir, "w.txt", &lines(spread(1.3, 40)));
    let o = run(&[
        "compare",
        "--method",
        "welch",
        "--canary",
        &same_c,
        "--baseline",
        &same_b,
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
    for key in [
        "method",
        "verdict",
        "n_canary",
        "n_baseline",
        "statistic",
        "p_value",
        "df",
        "effect",
        "ci_low",
        "ci_high",
        "reason",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["method"], "welch");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["n_canary"], 40);
    assert!(v["df"].as_f64().unwrap() > 0.0);
    let o = run(&[
        "compare",
        "--method",
        "welch",
        "--canary",
        &worse,
        "--baseline",
        &same_b,
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("verdict: FAIL"));
    assert!(stderr(&o).is_empty());
}

#[test]
fn compare_reads_json_arrays_and_csv_with_header() {
    let dir = scratch("compare-formats");
    let values = spread(1.0, 30);
    let json = write(&dir, "c.json", &serde_json::to_string(&values).unwrap());
    let csv: String = std::iter::once("timestamp,value\n".to_string())
        .chain(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{},{v}\n", 1_700_000_000 + 60 * i)),
        )
        .collect();
    let csv = write(&dir, "b.csv", &csv);
    let o = run(&[
        "compare",
        "--method",
        "welch",
        "--canary",
        &json,
        "--baseline",
        &csv,
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["n_canary"], 30);
    assert_eq!(v["n_baseline"], 30);
    assert_eq!(v["effect"], 0.0);
}

#[test]
fn compare_bad_inputs_exit_2_naming_file_and_line() {
    let dir = scratch("compare-bad");
    let good = write(&dir, "good.txt", &lines(spread(1.0, 20)));
    let cases = [
        ("empty.txt", "", vec!["empty.txt", "empty"]),
        ("blank.txt", "\n \n", vec!["blank.txt", "empty"]),
        (
            "words.txt",
            "1.0\n2.0\nfast\n",
            vec!["words.txt line 3", "`fast` is not a number"],
        ),
        (
            "nan.txt",
            "1.0\nNaN\n2.0\n",
            vec!["nan.txt line 2", "not a finite number"],
        ),
        (
            "inf.txt",
            "1.0\n2.0\n+Inf\n",
            vec!["inf.txt line 3", "not a finite number"],
        ),
        ("json.json", "[1, 2, \"x\"]", vec!["json.json element 3"]),
        ("cols.csv", "1,2,3\n", vec!["cols.csv line 1", "columns"]),
    ];
    for (name, text, wants) in cases {
        let path = write(&dir, name, text);
        let o = run(&[
            "compare",
            "--method",
            "welch",
            "--canary",
            &path,
            "--baseline",
            &good,
        ]);
        assert_eq!(code(&o), 2, "{name}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{name}");
        for want in wants {
            assert!(
                stderr(&o).contains(want),
                "{name}: stderr lacks {want}: {}",
                stderr(&o)
            );
        }
    }
    let missing = dir.join("missing.txt").display().to_string();
    let o = run(&[
        "compare",
        "--method",
        "welch",
        "--canary",
        &missing,
        "--baseline",
        &good,
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.txt"));
}

#[test]
fn compare_usage_errors_exit_2() {
    let dir = scratch("compare-usage");
    let good = write(&dir, "good.txt", &lines(spread(1.0, 20)));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "compare",
                "--method",
                "t-test",
                "--canary",
                &good,
                "--baseline",
                &good,
            ],
            "unknown method `t-test`",
        ),
        (
            vec![
                "compare",
                "--method",
                "welch",
                "--canary",
                &good,
                "--baseline",
                &good,
                "--mode",
                "exact",
            ],
            "--mode does not apply to method welch",
        ),
        (
            vec!["compare", "--method", "welch", "--canary", &good],
            "needs --baseline",
        ),
        (
            vec![
                "compare",
                "--method",
                "count-sequential",
                "--canary",
                &good,
                "--baseline",
                &good,
            ],
            "--canary-traffic",
        ),
        (
            vec![
                "compare",
                "--method",
                "welch",
                "--canary",
                &good,
                "--baseline",
                &good,
                "--alternative",
                "up",
            ],
            "--alternative",
        ),
        (
            vec![
                "compare",
                "--method",
                "welch",
                "--canary",
                &good,
                "--baseline",
                &good,
                "--alpha",
                "2",
            ],
            "alpha",
        ),
        (
            vec![
                "compare",
                "--method",
                "welch",
                "--canary",
                &good,
                "--baseline",
                &good,
                "--histogram",
            ],
            "--histogram",
        ),
        (vec!["frobnicate"], "frobnicate"),
    ];
    for (args, want) in cases {
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn no_subcommand_explains_and_exits_2() {
    let o = run(&[]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("ARGO_ROLLOUTS_RPC_PLUGIN"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("analyze"));
}

#[test]
fn plugin_subcommand_without_a_host_explains_and_keeps_stdout_clean() {
    // `canary-judge plugin` enters plugin mode; started by hand (no magic cookie) it must say
    // what it is, exit non-zero and print nothing on stdout (stdout is the handshake line).
    let o = Command::new(BIN)
        .arg("plugin")
        .env_remove("ARGO_ROLLOUTS_RPC_PLUGIN")
        .output()
        .unwrap();
    assert_ne!(code(&o), 0);
    assert!(stdout(&o).is_empty(), "stdout belongs to the handshake");
    assert!(
        stderr(&o).contains("This binary is a plugin"),
        "{}",
        stderr(&o)
    );
    // A wrong cookie value is refused the same way.
    let o = Command::new(BIN)
        .env("ARGO_ROLLOUTS_RPC_PLUGIN", "wrong")
        .arg("plugin")
        .output()
        .unwrap();
    assert_ne!(code(&o), 0);
    assert!(stdout(&o).is_empty(), "stdout belongs to the handshake");
}

#[test]
fn version_names_the_commit() {
    let o = run(&["--version"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("canary-judge {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.contains("commit "), "{out}");
}

#[test]
fn help_goes_to_stdout_with_status_0() {
    let o = run(&["compare", "--help"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("--canary-traffic"));
}

#[test]
fn compare_every_method_on_the_example_data() {
    let d = |scenario: &str, file: &str| format!("examples/data/{scenario}/{file}");
    let latency = |s: &str| {
        (
            d(s, "canary-latency-ms.csv"),
            d(s, "baseline-latency-ms.csv"),
        )
    };
    let (hc, hb) = latency("checkout");
    let (rc, rb) = latency("regression");
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec![
                "--method".into(),
                "mann-whitney".into(),
                "--canary".into(),
                hc.clone(),
                "--baseline".into(),
                hb.clone(),
                "--mode".into(),
                "asymptotic".into(),
                "--alternative".into(),
                "greater".into(),
                "--continuity".into(),
                "false".into(),
            ],
            0,
            "mann-whitney",
        ),
        (
            vec![
                "--method".into(),
                "mann-whitney".into(),
                "--canary".into(),
                rc.clone(),
                "--baseline".into(),
                rb.clone(),
            ],
            1,
            "mann-whitney",
        ),
        (
            vec![
                "--method".into(),
                "msprt".into(),
                "--canary".into(),
                rc.clone(),
                "--baseline".into(),
                rb.clone(),
            ],
            1,
            "msprt",
        ),
        (
            vec![
                "--method".into(),
                "threshold".into(),
                "--canary".into(),
                d("regression", "canary-5xx-ratio.csv"),
                "--max".into(),
                "0.05".into(),
            ],
            1,
            "threshold",
        ),
        (
            vec![
                "--method".into(),
                "threshold".into(),
                "--canary".into(),
                d("checkout", "canary-5xx-ratio.csv"),
                "--max".into(),
                "0.05".into(),
            ],
            0,
            "threshold",
        ),
        (
            vec![
                "--method".into(),
                "count-sequential".into(),
                "--canary".into(),
                d("checkout", "canary-errors.csv"),
                "--canary-traffic".into(),
                d("checkout", "canary-requests.csv"),
                "--baseline".into(),
                d("checkout", "baseline-errors.csv"),
                "--baseline-traffic".into(),
                d("checkout", "baseline-requests.csv"),
            ],
            0,
            "count-sequential",
        ),
        (
            vec![
                "--method".into(),
                "quantile-sequential".into(),
                "--histogram".into(),
                "--canary".into(),
                d("regression", "canary-latency-hist.csv"),
                "--baseline".into(),
                d("regression", "baseline-latency-hist.csv"),
                "--thresholds".into(),
                "0.2,0.5".into(),
            ],
            1,
            "quantile-sequential",
        ),
    ];
    for (mut args, want, method) in cases {
        args.insert(0, "compare".into());
        args.push("--json".into());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&refs);
        assert_eq!(code(&o), want, "{args:?}: {}{}", stdout(&o), stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["method"], method);
        let verdict = ["pass", "fail", "", "inconclusive"][want as usize];
        assert_eq!(v["verdict"], verdict, "{args:?}");
        assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
}

#[test]
fn compare_bad_histograms_exit_2() {
    let dir = scratch("bad-hist");
    let good = "examples/data/checkout/baseline-latency-hist.csv";
    let cases = [
        (
            "decreasing.csv",
            "timestamp,le,count\n0,0.1,5\n0,+Inf,3\n",
            "cumulative",
        ),
        ("short.csv", "timestamp,le,count\n0,0.1\n", "line 2"),
        (
            "words.csv",
            "timestamp,le,count\n0,0.1,5\n0,+Inf,many\n",
            "line 3",
        ),
    ];
    for (name, text, want) in cases {
        let path = write(&dir, name, text);
        let o = run(&[
            "compare",
            "--method",
            "quantile-sequential",
            "--histogram",
            "--canary",
            &path,
            "--baseline",
            good,
        ]);
        assert_eq!(code(&o), 2, "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(name) && stderr(&o).contains(want),
            "{name}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn simulate_is_seeded_and_prints_json() {
    let args = [
        "simulate",
        "--rollouts",
        "10",
        "--looks",
        "4",
        "--seed",
        "7",
        "--json",
    ];
    let first = run(&args);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let v: serde_json::Value = serde_json::from_str(&stdout(&first)).expect("one JSON document");
    assert_eq!(v["config"]["rollouts"], 10);
    assert_eq!(v["config"]["looks"], 4);
    assert_eq!(v["config"]["seed"], 7);
    let rows = v["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| {
        r["fail_rate"]
            .as_f64()
            .is_some_and(|f| (0.0..=1.0).contains(&f))
    }));
    // Same seed, same numbers.
    let second = run(&args);
    assert_eq!(stdout(&first), stdout(&second));
    let table = run(&["simulate", "--rollouts", "5", "--looks", "3"]);
    assert_eq!(code(&table), 0);
    assert!(stdout(&table).contains("msprt"));
}

#[test]
fn simulate_axes_prints_rows_with_settings() {
    let args = [
        "simulate",
        "--axes",
        "--axis",
        "zero-errors",
        "--rollouts",
        "3",
        "--looks",
        "4",
        "--json",
    ];
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    let rows = v["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| {
        r["axis"] == "zero-errors"
            && r["settings"]
                .as_str()
                .is_some_and(|s| s.contains("fail_margin"))
    }));
    // --axis needs --axes.
    assert_eq!(code(&run(&["simulate", "--axis", "drift"])), 2);
}

#[test]
fn simulate_rejects_bad_sizes() {
    for args in [
        vec!["simulate", "--rollouts", "0"],
        vec!["simulate", "--looks", "-3"],
        vec!["simulate", "--alpha", "1.5"],
    ] {
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stdout(&o).is_empty());
        assert!(!stderr(&o).is_empty());
    }
}

/// Issue 16, defect 9: `compare --rule kayenta` takes Kayenta's classifier options, refuses the
/// strict rule's (which it would ignore), and fails a zero-heavy canary as Kayenta does.
#[test]
fn compare_kayenta_options_and_zero_heavy_data() {
    let dir = scratch("kayenta");
    // Canary: 1 in 4 values non-zero and large; baseline: 1 in 20 non-zero and small.
    let canary: Vec<f64> = (0..400)
        .map(|i| {
            if i % 4 == 0 {
                5.0 + (i % 45) as f64
            } else {
                0.0
            }
        })
        .collect();
    let baseline: Vec<f64> = (0..400)
        .map(|i| {
            if i % 20 == 0 {
                1.0 + (i % 9) as f64
            } else {
                0.0
            }
        })
        .collect();
    let c = write(&dir, "c.txt", &lines(canary));
    let b = write(&dir, "b.txt", &lines(baseline));
    let base = [
        "compare",
        "--method",
        "mann-whitney",
        "--canary",
        &c,
        "--baseline",
        &b,
        "--rule",
        "kayenta",
    ];
    let o = run(&base);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let mut with = base.to_vec();
    with.extend([
        "--tolerance",
        "0.5",
        "--kayenta-confidence",
        "0.99",
        "--effect-measure",
        "cles",
        "--allowed-increase",
        "0.5",
        "--outliers",
        "keep",
        "--outlier-factor",
        "3",
        "--nan-strategy",
        "remove",
        "--json",
    ]);
    let o = run(&with);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("\"kayenta_bound\""), "{}", stdout(&o));
    for (flag, value, want) in [
        ("--confidence", "0.9", "--kayenta-confidence"),
        ("--margin", "0.1", "--tolerance"),
        ("--alpha", "0.01", "not used by --rule kayenta"),
    ] {
        let mut args = base.to_vec();
        args.extend([flag, value]);
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    let o = run(&[
        "compare",
        "--method",
        "mann-whitney",
        "--canary",
        &c,
        "--baseline",
        &b,
        "--tolerance",
        "0.5",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("only to --method mann-whitney --rule kayenta"));
}
