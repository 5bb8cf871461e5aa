//! The Prometheus path end to end through the built CLI: every shipped example in
//! `examples/prometheus/` against a REAL Prometheus holding the synthetic scenarios
//! (`scripts/prometheus-testenv`, or reused from `CANARY_JUDGE_PROM_DIR`), and every fault
//! against a real server or a real socket: each yields a verdict per the no-data policy or
//! exit 4 with a message naming the address and the cause, within the timeout.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_canary-judge");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    root().join("scripts/prometheus-testenv")
}

/// A running test Prometheus; stopped on drop if this process started it.
struct PromEnv {
    dir: PathBuf,
    url: String,
    start: i64,
    end: i64,
    owned: bool,
}

impl PromEnv {
    fn get() -> PromEnv {
        let (dir, owned) = match std::env::var("CANARY_JUDGE_PROM_DIR") {
            Ok(d) => (PathBuf::from(d), false),
            Err(_) => {
                let dir = std::env::temp_dir().join(format!(
                    "cj-prom-analysis-{}-{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .subsec_nanos()
                ));
                let out = Command::new(script())
                    .arg("start")
                    .arg(&dir)
                    .env("PROMETHEUS_TESTENV_MAX_SECONDS", "900")
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "prometheus-testenv start failed (install with `scripts/prometheus-testenv install`): {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                (dir, true)
            }
        };
        let url = std::fs::read_to_string(dir.join("url"))
            .unwrap()
            .trim()
            .to_string();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        PromEnv {
            start: expected["analysis_start"].as_i64().unwrap(),
            end: expected["analysis_end"].as_i64().unwrap(),
            dir,
            url,
            owned,
        }
    }
}

impl Drop for PromEnv {
    fn drop(&mut self) {
        if self.owned {
            let _ = Command::new(script()).arg("stop").arg(&self.dir).status();
        }
    }
}

fn analyze(config: &Path, url: &str, start: i64, end: i64, extra: &[&str]) -> (Output, Duration) {
    let t0 = Instant::now();
    let out = Command::new(BIN)
        .arg("analyze")
        .arg(config)
        .args(["--prometheus", url])
        .args(["--since", &start.to_string(), "--until", &end.to_string()])
        .args(extra)
        .current_dir(root())
        .env_remove("ARGO_ROLLOUTS_RPC_PLUGIN")
        .env_remove("CANARY_JUDGE_PROMETHEUS_URL")
        .output()
        .unwrap();
    (out, t0.elapsed())
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

/// Exit statuses: 0 pass, 1 fail, 3 inconclusive.
const PASS: i32 = 0;
const FAIL: i32 = 1;
const INCONCLUSIVE: i32 = 3;

#[test]
fn examples_judge_every_scenario_from_real_prometheus() {
    let env = PromEnv::get();
    // (example, scenario, expected exit, expected per-metric verdict of the first metric)
    // no_traffic/absent: the metric itself is `nodata` with its policy's verdict
    // (inconclusive); with half or more of the metrics without data the whole run is
    // inconclusive (exit 3) — no traffic is not evidence of harm, and never a pass.
    let table: &[(&str, &[(&str, i32)])] = &[
        (
            "5xx-threshold",
            &[
                ("healthy", PASS),
                ("errors", FAIL),
                ("latency", PASS),
                ("stopped", PASS),
            ],
        ),
        (
            "errors-sequential",
            &[
                ("healthy", PASS),
                ("errors", FAIL),
                ("latency", PASS),
                ("stopped", INCONCLUSIVE),
            ],
        ),
        (
            "p99-latency-sequential",
            &[
                ("healthy", PASS),
                ("errors", PASS),
                ("latency", FAIL),
                ("stopped", INCONCLUSIVE),
            ],
        ),
        (
            "kayenta-score",
            &[
                ("healthy", PASS),
                ("errors", FAIL),
                ("latency", FAIL),
                // The canary went silent 20 minutes before the end: its sequential metrics
                // cannot be judged (arms of unequal length), and a metric in error is never
                // neutral (issue 16, defect 6), so the run is not a pass.
                ("stopped", INCONCLUSIVE),
            ],
        ),
    ];
    for (example, cases) in table {
        let config = root().join(format!("examples/prometheus/{example}.yaml"));
        for (scenario, want) in *cases {
            let var = format!("scenario={scenario}");
            let (out, took) = analyze(&config, &env.url, env.start, env.end, &["--var", &var]);
            eprintln!("{example} / {scenario}: exit {} in {took:?}", code(&out));
            assert_eq!(code(&out), *want, "{example}/{scenario}: {}", stderr(&out));
            assert!(took < Duration::from_secs(20));
        }
        for scenario in ["no_traffic", "absent"] {
            let var = format!("scenario={scenario}");
            let (out, took) = analyze(
                &config,
                &env.url,
                env.start,
                env.end,
                &["--var", &var, "--json"],
            );
            eprintln!("{example} / {scenario}: exit {} in {took:?}", code(&out));
            let report = json(&out);
            let m = &report["metrics"][0];
            assert_eq!(m["outcome"], "nodata", "{example}/{scenario}: {report}");
            assert_eq!(
                m["decision"]["verdict"], "inconclusive",
                "{example}/{scenario}: {report}"
            );
            assert_eq!(code(&out), INCONCLUSIVE, "{example}/{scenario}: {report}");
        }
    }
}

#[test]
fn json_report_carries_queries_counts_and_window() {
    let env = PromEnv::get();
    let config = root().join("examples/prometheus/errors-sequential.yaml");
    let (out, _) = analyze(
        &config,
        &env.url,
        env.start,
        env.end,
        &["--var", "scenario=errors", "--json"],
    );
    assert_eq!(code(&out), FAIL, "{}", stderr(&out));
    let r = json(&out);
    let p = &r["prometheus"];
    assert_eq!(p["address"], env.url.as_str());
    assert_eq!(
        (p["start"].as_i64(), p["end"].as_i64()),
        (Some(env.start), Some(env.end))
    );
    let m = &p["metrics"]["5xx-errors"];
    assert_eq!(m["step_seconds"], 60.0);
    assert_eq!(m["canary"]["points"], 61);
    let q = m["canary"]["queries"][0].as_str().unwrap();
    assert!(
        q.contains("scenario=\"errors\"") && q.contains("track=\"canary\""),
        "{q}"
    );
    // 3 errors per 15 s scrape on the canary, 1 on the baseline: 4 scrapes x 61 minutes.
    assert_eq!(m["canary"]["events"], 3.0 * 4.0 * 61.0);
    assert_eq!(m["baseline"]["events"], 4.0 * 61.0);
}

/// A config file in a scratch directory.
fn scratch_config(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cj-prom-analysis-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn values_config(query: &str, extra_prom: &str, must_have_data: bool) -> String {
    format!(
        "prometheus:\n  address: http://127.0.0.1:1\n  timeout: 2s\n{extra_prom}metrics:\n  - name: m\n    method: threshold\n    must_have_data: {must_have_data}\n    params: {{max: 0.05}}\n    canary:\n      query: '{query}'\n"
    )
}

#[test]
fn no_data_nan_inf_and_must_have_data_on_real_prometheus() {
    let env = PromEnv::get();
    // Empty result: a metric that does not exist → no data → inconclusive metric; with
    // must_have_data it fails.
    let empty = scratch_config(
        "empty.yaml",
        &values_config("sum(does_not_exist_total)", "", false),
    );
    let (out, _) = analyze(&empty, &env.url, env.start, env.end, &["--json"]);
    let r = json(&out);
    assert_eq!(r["metrics"][0]["outcome"], "nodata", "{r}");
    assert_eq!(r["metrics"][0]["decision"]["verdict"], "inconclusive");
    assert_ne!(code(&out), PASS);
    let must = scratch_config(
        "must.yaml",
        &values_config("sum(does_not_exist_total)", "", true),
    );
    let (out, _) = analyze(&must, &env.url, env.start, env.end, &["--json"]);
    assert_eq!(code(&out), FAIL);
    assert_eq!(json(&out)["metrics"][0]["decision"]["verdict"], "fail");

    // NaN everywhere (0/0): dropped as missing → no data, never a pass.
    let nan = scratch_config("nan.yaml", &values_config("vector(0) / 0", "", false));
    let (out, _) = analyze(&nan, &env.url, env.start, env.end, &["--json"]);
    assert_eq!(json(&out)["metrics"][0]["outcome"], "nodata");
    assert_ne!(code(&out), PASS);

    // +Inf (x/0): an error naming the address and the value (prometheus.inf: error).
    let inf = scratch_config("inf.yaml", &values_config("vector(1) / 0", "", false));
    let (out, _) = analyze(&inf, &env.url, env.start, env.end, &[]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains(&env.url) && e.contains("inf"), "{e}");

    // Several series where one was expected: error, not a guess.
    let many = scratch_config(
        "many.yaml",
        &values_config(
            "sum by (scenario) (increase(http_requests_total[1m]))",
            "",
            false,
        ),
    );
    let (out, _) = analyze(&many, &env.url, env.start, env.end, &[]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains(&env.url));

    // PromQL the server rejects: Prometheus' own error JSON (HTTP 400 bad_data).
    let bad = scratch_config("bad.yaml", &values_config("sum(rate(x[1m]", "", false));
    let (out, _) = analyze(&bad, &env.url, env.start, env.end, &[]);
    assert_eq!(code(&out), 4);
    let e = stderr(&out);
    assert!(
        e.contains(&env.url) && e.contains("400") && e.contains("bad_data"),
        "{e}"
    );

    // A series that stops midway (canary of `stopped` ends 20 min early): judged on what
    // exists, the missing minutes reported, no error.
    let cfg = root().join("examples/prometheus/errors-sequential.yaml");
    let (out, _) = analyze(
        &cfg,
        &env.url,
        env.start,
        env.end,
        &["--var", "scenario=stopped", "--json"],
    );
    let r = json(&out);
    let c = &r["prometheus"]["metrics"]["5xx-errors"]["canary"];
    assert!(c["missing"].as_u64().unwrap() >= 19, "{r}");
    assert!(c["points"].as_u64().unwrap() < 61, "{r}");
}

#[test]
fn too_many_points_refused_before_sending() {
    // A listener that records whether anyone connected: nothing may be sent.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let cfg = scratch_config(
        "points.yaml",
        &values_config("sum(up)", "  step: 1s\n", false),
    );
    let (out, took) = analyze(&cfg, &url, 0, 86_400, &[]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains(&url) && e.contains("86400"), "{e}");
    assert!(l.accept().is_err(), "a query was sent");
    assert!(took < Duration::from_secs(5));
}

/// A one-shot HTTP server: answers every connection with `response` after `delay`.
fn fake_server(response: &'static str, delay: Duration) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in l.incoming().take(8) {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let _ = s.write_all(response.as_bytes());
            });
        }
    });
    url
}

fn http(status: &str, body: &str) -> &'static str {
    Box::leak(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    )
}

#[test]
fn every_fault_exits_4_naming_address_and_cause_within_the_timeout() {
    let cfg = scratch_config("fault.yaml", &values_config("sum(up)", "", false));
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}")
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("refusing", closed, "refused"),
        (
            "unreachable (name does not resolve)",
            "http://canary-judge-test.invalid:9090".to_string(),
            "unreachable",
        ),
        (
            "answer cut off midway",
            fake_server(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[",
                Duration::ZERO,
            ),
            "prometheus",
        ),
        (
            "slow past the timeout",
            fake_server(http("200 OK", "{}"), Duration::from_secs(10)),
            "timeout",
        ),
        (
            "5xx error JSON",
            fake_server(
                http(
                    "503 Service Unavailable",
                    r#"{"status":"error","errorType":"unavailable","error":"overloaded"}"#,
                ),
                Duration::ZERO,
            ),
            "overloaded",
        ),
        (
            "4xx error JSON",
            fake_server(
                http(
                    "422 Unprocessable Entity",
                    r#"{"status":"error","errorType":"execution","error":"query timed out in expression evaluation"}"#,
                ),
                Duration::ZERO,
            ),
            "execution",
        ),
        (
            "garbage",
            fake_server(http("200 OK", "<html>hello</html>"), Duration::ZERO),
            "html",
        ),
        (
            "scalar where a matrix is expected",
            fake_server(
                http(
                    "200 OK",
                    r#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#,
                ),
                Duration::ZERO,
            ),
            "scalar",
        ),
        (
            "vector where a matrix is expected",
            fake_server(
                http(
                    "200 OK",
                    r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
                ),
                Duration::ZERO,
            ),
            "vector",
        ),
    ];
    for (what, url, cause) in cases {
        let (out, took) = analyze(&cfg, &url, 1_000_000, 1_003_600, &[]);
        let e = stderr(&out);
        eprintln!(
            "fault {what}: exit {} in {took:?}: {}",
            code(&out),
            e.trim()
        );
        assert_eq!(code(&out), 4, "{what}: {e}");
        assert!(e.contains(&url), "{what}: message must name {url}: {e}");
        assert!(
            e.to_lowercase().contains(cause),
            "{what}: cause {cause:?} missing: {e}"
        );
        // timeout 2s per query, plus process start.
        assert!(took < Duration::from_secs(6), "{what} took {took:?}");
    }
}
