//! `judge.source: prometheus` against a real Prometheus server that scrapes the test
//! application every second: the template's PromQL (with `{{version}}`) is range-queried
//! over the judged window; the bad release is rolled back and the good one kept.
//! Needs the Prometheus binary (`scripts/prometheus-testenv install`).

use crate::guard_support::*;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Prom(Child);
impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prometheus_binary() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/prometheus-testenv");
    let out = Command::new(script).arg("which").output().unwrap();
    assert!(
        out.status.success(),
        "Prometheus is not installed: run `scripts/prometheus-testenv install`"
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

const TEMPLATE: &str = r#"
scoring: {mode: kayenta, pass: 75, marginal: 50}
metrics:
  - name: error-ratio
    method: threshold
    critical: true
    params: {aggregate: mean, max: 0.1, min_samples: 3}
    canary:
      query: 'sum(rate(app_errors_total{version="{{version}}"}[3s])) / sum(rate(app_requests_total{version="{{version}}"}[3s]))'
  - name: latency
    method: threshold
    params: {aggregate: mean, max: 100}
    canary: {query: 'max(app_latency_ms)'}
"#;

/// A guard config judging from the Prometheus on `prom_port` (`judge` lines are added to the
/// `judge:` block, e.g. the duration).
fn guard_config(app_port: u16, prom_port: u16, judge: &str, timeout: &str) -> String {
    format!(
        "root: root\napp:\n  url: http://127.0.0.1:{app_port}\n  startup_grace: 2s\n\
reload: {{pid_file: app.pid}}\n\
judge:\n  analysis: analysis.yaml\n  source: prometheus\n  {judge}\n  interval: 500ms\n\
prometheus:\n  address: http://127.0.0.1:{prom_port}\n  step: 1s\n  timeout: {timeout}\n"
    )
}

#[test]
fn prometheus_source_judges_and_rolls_back() {
    let prom_bin = prometheus_binary();
    let mut env = Env::new("prom");
    env.release("v1", json!({"error_rate": 0.01}));
    env.release("v2", json!({"error_rate": 0.4}));
    env.point_current("v1");
    let port = env.start_app();
    let prom_port = free_port();
    std::fs::write(
        env.dir.join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
scrape_configs:\n  - job_name: app\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        ),
    )
    .unwrap();
    let _prom = Prom(
        Command::new(prom_bin)
            .arg(format!(
                "--config.file={}",
                env.dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                env.dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ready = wait_for(Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", prom_port))
            .ok()
            .and_then(|_| (http(prom_port, "GET", "/-/ready", None).0 == 200).then_some(()))
    });
    assert!(ready.is_some(), "Prometheus did not become ready");
    // Judge only once Prometheus holds a few scrapes of the application.
    let scraped = wait_for(Duration::from_secs(60), || {
        let (_, r) = http(
            prom_port,
            "GET",
            "/api/v1/query?query=count_over_time(app_requests_total[1m])",
            None,
        );
        body(&r)
            .split('"')
            .rev()
            .nth(1)
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n >= 3)
    });
    assert!(
        scraped.is_some(),
        "Prometheus is not scraping the test application"
    );

    std::fs::write(env.dir.join("analysis.yaml"), TEMPLATE).unwrap();
    let cfg = env.dir.join("guard.yaml");
    std::fs::write(&cfg, guard_config(port, prom_port, "duration: 8s", "5s")).unwrap();
    env.start_guard(&cfg);
    let s = env.wait_state("v1 judged", 60, |s| s["verdicts"]["v1"].is_object());
    assert_eq!(
        s["verdicts"]["v1"]["verdict"],
        "pass",
        "{s}\n{}",
        env.guard_log()
    );
    assert_eq!(s["last_good"], "v1");

    env.guard_cmd(&cfg, &["activate", "v2"]);
    let s = env.wait_state("v2 judged", 60, |s| {
        s["verdicts"]["v2"].is_object() && s["needs_judgement"] == false
    });
    assert_eq!(
        s["verdicts"]["v2"]["verdict"],
        "fail",
        "{s}\n{}",
        env.guard_log()
    );
    assert!(
        s["verdicts"]["v2"]["summary"]
            .as_str()
            .unwrap()
            .contains("error-ratio")
    );
    assert_eq!(env.current().as_deref(), Some("v1"));
    println!("v2: {}", s["verdicts"]["v2"]["summary"]);
}

/// A Prometheus that cannot be reached is an error of the judgement, named in the verdict's
/// summary, never "no data" (which a template could turn into a pass or a quiet fail).
#[test]
fn unreachable_prometheus_is_a_judgement_error_not_missing_data() {
    let mut env = Env::new("prom-down");
    env.release("v1", json!({"error_rate": 0.01}));
    env.point_current("v1");
    let port = env.start_app();
    let dead = free_port(); // nothing listens here
    std::fs::write(env.dir.join("analysis.yaml"), TEMPLATE).unwrap();
    let cfg = env.dir.join("guard.yaml");
    std::fs::write(
        &cfg,
        guard_config(
            port,
            dead,
            "duration: 1s\n  on_inconclusive: keep_unmarked",
            "2s",
        ),
    )
    .unwrap();
    env.start_guard(&cfg);
    let s = env.wait_state("v1 judged", 60, |s| s["verdicts"]["v1"].is_object());
    let summary = s["verdicts"]["v1"]["summary"].as_str().unwrap_or_default();
    assert_eq!(s["verdicts"]["v1"]["verdict"], "inconclusive", "{s}");
    assert!(
        summary.contains("could not run")
            && summary.contains("error-ratio")
            && summary.contains(&format!("127.0.0.1:{dead}")),
        "{summary}\n{}",
        env.guard_log()
    );
    assert!(!summary.contains("no data"), "{summary}");
}
