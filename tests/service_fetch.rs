//! `analysis::fetch::fetch_series` against a real Prometheus (scripts/prometheus-testenv):
//! counts arrive exactly as the generator wrote them, histograms keep their buckets, an
//! absent canary becomes no data (not an error), and inline values still load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use canary_judge::analysis::fetch::fetch_series;
use canary_judge::analysis::{AnalysisConfig, ArmData, MetricOutcome, evaluate};
use canary_judge::source::prometheus::{PrometheusConfig, PrometheusSource};
use canary_judge::stats::Verdict;

struct Env {
    dir: PathBuf,
    url: String,
    expected: serde_json::Value,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(&self.dir).status();
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/prometheus-testenv")
}

fn env() -> Env {
    let dir = std::env::temp_dir().join(format!("cj-fetch-{}", std::process::id()));
    let out = Command::new(script())
        .arg("start")
        .arg(&dir)
        .env("PROMETHEUS_TESTENV_MAX_SECONDS", "600")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = std::fs::read_to_string(dir.join("url"))
        .unwrap()
        .trim()
        .to_string();
    let expected =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    Env { dir, url, expected }
}

const CONFIG: &str = r#"
metrics:
  - name: http-errors
    method: count-sequential
    margin: 0.2
    canary:
      events: {query: 'sum(increase(http_requests_total{scenario="{{s}}",track="canary",code="500"}[1m]))'}
      traffic: {query: 'sum(increase(http_requests_total{scenario="{{s}}",track="canary"}[1m]))'}
    baseline:
      events: {query: 'sum(increase(http_requests_total{scenario="{{s}}",track="baseline",code="500"}[1m]))'}
      traffic: {query: 'sum(increase(http_requests_total{scenario="{{s}}",track="baseline"}[1m]))'}
  - name: latency
    method: quantile-sequential
    canary: {histogram: {query: 'sum by (le) (increase(http_request_duration_seconds_bucket{scenario="{{s}}",track="canary"}[1m]))'}}
    baseline: {histogram: {query: 'sum by (le) (increase(http_request_duration_seconds_bucket{scenario="{{s}}",track="baseline"}[1m]))'}}
  - name: inline
    method: threshold
    params: {max: 10}
    canary: {values: [1, 2, 3]}
"#;

#[tokio::test]
async fn fetch_series_from_real_prometheus() {
    let e = env();
    let source = PrometheusSource::new(&PrometheusConfig::with_address(e.url.clone())).unwrap();
    let config = AnalysisConfig::from_yaml_str(CONFIG).unwrap();
    let (start, end) = (
        e.expected["analysis_start"].as_i64().unwrap(),
        e.expected["analysis_end"].as_i64().unwrap(),
    );
    let vars = |s: &str| BTreeMap::from([("s".to_string(), s.to_string())]);

    let set = fetch_series(&config, &source, start, end, &vars("errors"))
        .await
        .unwrap();
    let points = e.expected["scenarios"]["errors"]["canary"]["points"]
        .as_array()
        .unwrap();
    let want_events: Vec<f64> = points
        .iter()
        .map(|p| p["errors"].as_f64().unwrap())
        .collect();
    let want_traffic: Vec<f64> = points
        .iter()
        .map(|p| p["requests"].as_f64().unwrap())
        .collect();
    let Some(ArmData::Counts(c)) = &set.get("http-errors").unwrap().canary else {
        panic!("counts expected")
    };
    assert_eq!(c.events, want_events);
    assert_eq!(c.traffic, want_traffic);
    let Some(ArmData::Histogram(h)) = &set.get("latency").unwrap().canary else {
        panic!("histogram expected")
    };
    assert_eq!(h.bounds.len(), 6);
    assert_eq!(h.intervals.len(), points.len());
    assert_eq!(
        set.get("inline").unwrap().canary,
        Some(ArmData::values(vec![1.0, 2.0, 3.0]))
    );
    let report = evaluate(&config, &set);
    let errors = report
        .metrics
        .iter()
        .find(|m| m.name == "http-errors")
        .unwrap();
    assert_eq!(
        errors.decision.verdict,
        Verdict::Fail,
        "{}",
        errors.decision.reason
    );
    let latency = report.metrics.iter().find(|m| m.name == "latency").unwrap();
    // Both arms share the fast latency profile in this scenario: never a fail.
    assert_ne!(
        latency.decision.verdict,
        Verdict::Fail,
        "{}",
        latency.decision.reason
    );
    assert_ne!(latency.outcome, MetricOutcome::NoData);

    // Absent canary: no data, not an error; the engine applies the no-data policy.
    let set = fetch_series(&config, &source, start, end, &vars("absent"))
        .await
        .unwrap();
    assert!(set.get("http-errors").unwrap().canary.is_none());
    assert!(set.get("http-errors").unwrap().baseline.is_some());
    let report = evaluate(&config, &set);
    let m = report
        .metrics
        .iter()
        .find(|m| m.name == "http-errors")
        .unwrap();
    assert_eq!(m.outcome, MetricOutcome::NoData);
    assert_eq!(m.decision.verdict, Verdict::Inconclusive);

    // Prometheus down: an error the service maps to Unavailable.
    let dead =
        PrometheusSource::new(&PrometheusConfig::with_address("http://127.0.0.1:9")).unwrap();
    let err = fetch_series(&config, &dead, start, end, &vars("errors"))
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(err.to_string().contains("http-errors"), "{err}");
}
