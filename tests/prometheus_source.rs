//! Prometheus source against real servers: a real Prometheus 2.x with synthetic scenarios
//! (started by `scripts/prometheus-testenv`, or reused from `CANARY_JUDGE_PROM_DIR`), and
//! tiny std-TCP servers on loopback for faults a healthy Prometheus never produces.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use canary_judge::source::prometheus::{
    NonFinitePolicy, PrometheusConfig, PrometheusError, PrometheusSource, SecretRef,
};

// ---------------------------------------------------------------- real Prometheus

/// A running test Prometheus; stops it on drop (also when an assertion panics) if this
/// process started it.
struct PromEnv {
    dir: PathBuf,
    url: String,
    expected: serde_json::Value,
    owned: bool,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/prometheus-testenv")
}

impl PromEnv {
    fn get() -> PromEnv {
        if let Ok(dir) = std::env::var("CANARY_JUDGE_PROM_DIR") {
            return PromEnv::load(PathBuf::from(dir), false);
        }
        let which = Command::new(script()).arg("which").output().unwrap();
        assert!(
            which.status.success(),
            "Prometheus is not installed: run `scripts/prometheus-testenv install` \
             (or set CANARY_JUDGE_PROM_DIR to a directory made by `scripts/prometheus-testenv start`)"
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!("cj-prom-{}-{nanos}", std::process::id()));
        let out = Command::new(script())
            .arg("start")
            .arg(&dir)
            .env("PROMETHEUS_TESTENV_MAX_SECONDS", "600")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "prometheus-testenv start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PromEnv::load(dir, true)
    }

    fn load(dir: PathBuf, owned: bool) -> PromEnv {
        let url = std::fs::read_to_string(dir.join("url"))
            .unwrap()
            .trim()
            .to_string();
        let expected =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        PromEnv {
            dir,
            url,
            expected,
            owned,
        }
    }

    fn start(&self) -> i64 {
        self.expected["analysis_start"].as_i64().unwrap()
    }
    fn end(&self) -> i64 {
        self.expected["analysis_end"].as_i64().unwrap()
    }
    /// Expected per-minute points of one arm: (t, requests, errors, buckets).
    fn points(&self, scenario: &str, track: &str) -> Vec<(f64, f64, f64, Vec<f64>)> {
        self.expected["scenarios"][scenario][track]["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["t"].as_f64().unwrap(),
                    p["requests"].as_f64().unwrap(),
                    p["errors"].as_f64().unwrap(),
                    p["buckets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|b| b.as_f64().unwrap())
                        .collect(),
                )
            })
            .collect()
    }
}

impl Drop for PromEnv {
    fn drop(&mut self) {
        if self.owned {
            let _ = Command::new(script()).arg("stop").arg(&self.dir).status();
        }
    }
}

fn sel(scenario: &str, track: &str, extra: &str) -> String {
    format!("http_requests_total{{scenario=\"{scenario}\",track=\"{track}\"{extra}}}")
}
fn traffic_q(scenario: &str, track: &str) -> String {
    format!("sum(increase({}[1m]))", sel(scenario, track, ""))
}
fn errors_q(scenario: &str, track: &str) -> String {
    format!(
        "sum(increase({}[1m]))",
        sel(scenario, track, ",code=\"500\"")
    )
}
fn buckets_q(scenario: &str, track: &str) -> String {
    format!(
        "sum by (le) (increase(http_request_duration_seconds_bucket{{scenario=\"{scenario}\",track=\"{track}\"}}[1m]))"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_scenarios() {
    let env = PromEnv::get();
    let src = PrometheusSource::new(&PrometheusConfig::with_address(&env.url)).unwrap();
    let (start, end) = (env.start(), env.end());
    src.ping().await.unwrap();

    // Counts for every scenario and arm that has data: exact per-minute increase() values,
    // step derived from the [1m] selectors.
    for scenario in ["healthy", "errors", "latency", "no_traffic", "stopped"] {
        for track in ["canary", "baseline"] {
            let want = env.points(scenario, track);
            let got = src
                .counts(
                    &errors_q(scenario, track),
                    &traffic_q(scenario, track),
                    start,
                    end,
                    None,
                )
                .await
                .unwrap();
            assert_eq!(got.window.step, Duration::from_secs(60));
            assert!(!got.events_absent);
            let got_pts: Vec<(f64, f64, f64)> = got
                .points
                .iter()
                .map(|p| (p.timestamp, p.traffic, p.events))
                .collect();
            let want_pts: Vec<(f64, f64, f64)> = want.iter().map(|w| (w.0, w.1, w.2)).collect();
            assert_eq!(got_pts, want_pts, "{scenario}/{track}");
        }
    }

    // Regressed error rate really is ~3x in the data.
    let c = src
        .counts(
            &errors_q("errors", "canary"),
            &traffic_q("errors", "canary"),
            start,
            end,
            None,
        )
        .await
        .unwrap();
    let b = src
        .counts(
            &errors_q("errors", "baseline"),
            &traffic_q("errors", "baseline"),
            start,
            end,
            None,
        )
        .await
        .unwrap();
    let rate = |s: &canary_judge::source::prometheus::CountRange| {
        s.points.iter().map(|p| p.events).sum::<f64>()
            / s.points.iter().map(|p| p.traffic).sum::<f64>()
    };
    let ratio = rate(&c) / rate(&b);
    assert!((2.5..3.5).contains(&ratio), "error-rate ratio {ratio}");

    // Values: the error ratio per minute.
    let q = format!(
        "{} / {}",
        errors_q("healthy", "canary"),
        traffic_q("healthy", "canary")
    );
    let v = src.values(&q, start, end, None).await.unwrap();
    let want = env.points("healthy", "canary");
    assert_eq!(v.points.len(), want.len());
    for ((t, val), w) in v.points.iter().zip(&want) {
        assert_eq!(*t, w.0);
        assert!((val - w.2 / w.1).abs() < 1e-12, "{val} vs {}", w.2 / w.1);
    }
    assert!(v.missing.is_empty(), "{:?}", v.missing);

    // Histograms: buckets sorted by le incl. +Inf, exact cumulative counts.
    for (scenario, track) in [
        ("healthy", "canary"),
        ("latency", "canary"),
        ("latency", "baseline"),
    ] {
        let h = src
            .histogram(&buckets_q(scenario, track), start, end, None)
            .await
            .unwrap();
        assert_eq!(h.bounds, vec![0.05, 0.1, 0.25, 0.5, 1.0, f64::INFINITY]);
        let want = env.points(scenario, track);
        let got: Vec<(f64, Vec<f64>)> = h.points.clone();
        let want: Vec<(f64, Vec<f64>)> = want.into_iter().map(|w| (w.0, w.3)).collect();
        assert_eq!(got, want, "{scenario}/{track}");
    }
    // The latency regression shows: smaller share under 0.25 s in the canary.
    let share = |h: &canary_judge::source::prometheus::HistogramRange| {
        let under: f64 = h.points.iter().map(|p| p.1[2]).sum();
        let all: f64 = h.points.iter().map(|p| p.1[5]).sum();
        under / all
    };
    let hc = src
        .histogram(&buckets_q("latency", "canary"), start, end, None)
        .await
        .unwrap();
    let hb = src
        .histogram(&buckets_q("latency", "baseline"), start, end, None)
        .await
        .unwrap();
    assert!(
        share(&hc) < share(&hb) - 0.2,
        "{} vs {}",
        share(&hc),
        share(&hb)
    );

    // No traffic: zero requests, and the error ratio 0/0 is NaN at every step, which the
    // default policy treats as missing, so the whole series is NoData.
    let nt = src
        .counts(
            &errors_q("no_traffic", "canary"),
            &traffic_q("no_traffic", "canary"),
            start,
            end,
            None,
        )
        .await
        .unwrap();
    assert!(
        nt.points
            .iter()
            .all(|p| p.traffic == 0.0 && p.events == 0.0)
    );
    let ratio_q = format!(
        "{} / {}",
        errors_q("no_traffic", "canary"),
        traffic_q("no_traffic", "canary")
    );
    let e = src.values(&ratio_q, start, end, None).await.unwrap_err();
    assert!(e.is_no_data(), "{e}");
    let mut strict = PrometheusConfig::with_address(&env.url);
    strict.nan = NonFinitePolicy::Error;
    let e = PrometheusSource::new(&strict)
        .unwrap()
        .values(&ratio_q, start, end, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, PrometheusError::NonFinite { ref value, .. } if value.is_nan()),
        "{e}"
    );
    assert!(e.to_string().contains(&env.url), "{e}");

    // Absent canary: traffic has no series → NoData (distinct variant).
    let e = src
        .counts(
            &errors_q("absent", "canary"),
            &traffic_q("absent", "canary"),
            start,
            end,
            None,
        )
        .await
        .unwrap_err();
    assert!(e.is_no_data(), "{e}");
    // An events counter that was never exported: zero events, flagged.
    let none_q = format!(
        "sum(increase({}[1m]))",
        sel("healthy", "canary", ",code=\"503\"")
    );
    let z = src
        .counts(&none_q, &traffic_q("healthy", "canary"), start, end, None)
        .await
        .unwrap();
    assert!(z.events_absent && z.points.iter().all(|p| p.events == 0.0));
    assert_eq!(z.points.len(), env.points("healthy", "canary").len());

    // Several series where one is expected: names the count and the labels.
    let e = src
        .values(
            &format!("increase({}[1m])", sel("healthy", "canary", "")),
            start,
            end,
            None,
        )
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, PrometheusError::MultipleSeries { count: 2, .. }),
        "{msg}"
    );
    assert!(
        msg.contains("code=\"200\"") && msg.contains("code=\"500\""),
        "{msg}"
    );

    // A series that stops midway, through the one production fetch path: the canary's
    // missing tail is reported, the baseline keeps every interval, and the arms are left
    // unequal (a canary gone silent is not trimmed to look current).
    let stopped_canary = env.points("stopped", "canary");
    let config = canary_judge::analysis::AnalysisConfig::from_yaml_str(
        r#"
metrics:
  - name: errors
    method: count-sequential
    canary:
      events: {query: 'sum(increase(http_requests_total{scenario="{{scenario}}",track="canary",code="500"}[1m]))'}
      traffic: {query: 'sum(increase(http_requests_total{scenario="{{scenario}}",track="canary"}[1m]))'}
    baseline:
      events: {query: 'sum(increase(http_requests_total{scenario="{{scenario}}",track="baseline",code="500"}[1m]))'}
      traffic: {query: 'sum(increase(http_requests_total{scenario="{{scenario}}",track="baseline"}[1m]))'}
"#,
    )
    .unwrap();
    let vars = BTreeMap::from([("scenario".to_string(), "stopped".to_string())]);
    let fetched =
        canary_judge::analysis::fetch_detailed(&config, &src, start, end, &vars, Path::new("."))
            .await
            .unwrap();
    let info = &fetched.metrics["errors"];
    assert_eq!(info.step_seconds, 60.0);
    assert_eq!(info.canary.points, stopped_canary.len());
    assert_eq!(info.canary.missing, 20);
    let baseline = info.baseline.as_ref().unwrap();
    assert_eq!(baseline.points, stopped_canary.len() + 20);
    assert_eq!(baseline.missing, 0);

    // Explicit step override is honoured (2m over a 60 min window = 31 points).
    let v2 = src
        .values(
            &traffic_q("healthy", "baseline"),
            start,
            end,
            Some(Duration::from_secs(120)),
        )
        .await
        .unwrap();
    assert_eq!(v2.points.len(), 31);

    // Template errors never reach the server.
    let e = canary_judge::analysis::fetch_detailed(
        &config,
        &src,
        start,
        end,
        &BTreeMap::new(),
        Path::new("."),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("scenario"), "{e}");

    // A real Prometheus rejecting a query: 400 bad_data with its own message.
    let e = src.values("sum(", start, end, None).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, PrometheusError::Api { status: 400, .. }),
        "{msg}"
    );
    assert!(msg.contains("bad_data") && msg.contains(&env.url), "{msg}");
}

// ---------------------------------------------------------------- tiny servers

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Reply = (u16, &'static str, String);

/// A one-thread HTTP/1.1 server that records requests and answers with `reply`.
struct Tiny {
    url: String,
    requests: Arc<Mutex<Vec<Req>>>,
}

fn read_request(stream: &mut TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    Some(Req {
        method,
        path,
        headers,
        body,
    })
}

impl Tiny {
    fn start(reply: impl Fn(&Req) -> Reply + Send + 'static) -> Tiny {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                let (status, ctype, body) = reply(&req);
                log.lock().unwrap().push(req);
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(resp.as_bytes());
            }
        });
        Tiny { url, requests }
    }

    fn json(body: &'static str) -> Tiny {
        Tiny::start(move |_| (200, "application/json", body.to_string()))
    }

    fn source(&self) -> PrometheusSource {
        PrometheusSource::new(&self.config()).unwrap()
    }

    fn config(&self) -> PrometheusConfig {
        let mut cfg = PrometheusConfig::with_address(&self.url);
        cfg.timeout = Duration::from_secs(2);
        cfg
    }

    fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

const Q: &str = "sum(increase(x_total[1m]))";

#[tokio::test]
async fn refused_port_is_unreachable() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("http://127.0.0.1:{port}");
    let src = PrometheusSource::new(&PrometheusConfig::with_address(&addr)).unwrap();
    let t = Instant::now();
    let e = src.values(Q, 0, 600, None).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, PrometheusError::Unreachable { .. }), "{msg}");
    assert!(
        msg.contains(&addr) && msg.to_lowercase().contains("refused"),
        "{msg}"
    );
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(matches!(
        src.ping().await,
        Err(PrometheusError::Unreachable { .. })
    ));
}

#[tokio::test]
async fn silent_listener_times_out_within_configured_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    // Accept and hold connections open without ever answering.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let mut cfg = PrometheusConfig::with_address(&addr);
    cfg.timeout = Duration::from_millis(800);
    let src = PrometheusSource::new(&cfg).unwrap();
    let t = Instant::now();
    let e = src.values(Q, 0, 600, None).await.unwrap_err();
    let elapsed = t.elapsed();
    assert!(matches!(e, PrometheusError::Timeout { .. }), "{e}");
    assert!(
        e.to_string().contains(&addr) && e.to_string().contains("800ms"),
        "{e}"
    );
    assert!(
        elapsed >= Duration::from_millis(700) && elapsed <= Duration::from_millis(1300),
        "elapsed {elapsed:?}"
    );
    let t = Instant::now();
    assert!(matches!(
        src.ping().await,
        Err(PrometheusError::Timeout { .. })
    ));
    assert!(t.elapsed() <= Duration::from_millis(1300));
}

#[tokio::test]
async fn http_errors_carry_prometheus_error_json() {
    let bad = Tiny::start(|_| {
        (
            400,
            "application/json",
            r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}"#.into(),
        )
    });
    let e = bad.source().values(Q, 0, 600, None).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, PrometheusError::Api { status: 400, .. }),
        "{msg}"
    );
    for part in [
        bad.url.as_str(),
        "400",
        "bad_data",
        "unexpected end of input",
    ] {
        assert!(msg.contains(part), "{part} missing in {msg}");
    }
    let busy = Tiny::start(|_| {
        (
            503,
            "application/json",
            r#"{"status":"error","errorType":"unavailable","error":"too many queries"}"#.into(),
        )
    });
    let msg = busy
        .source()
        .values(Q, 0, 600, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("503") && msg.contains("unavailable") && msg.contains("too many queries"));
    // 502 from a proxy with an HTML page: garbage, with the status.
    let proxy = Tiny::start(|_| (502, "text/html", "<html>Bad Gateway</html>".into()));
    let e = proxy.source().values(Q, 0, 600, None).await.unwrap_err();
    assert!(
        matches!(e, PrometheusError::Garbage { status: 502, .. }),
        "{e}"
    );
}

#[tokio::test]
async fn garbage_body_is_reported() {
    let t = Tiny::start(|_| (200, "text/plain", "hello, I am not Prometheus".into()));
    let e = t.source().values(Q, 0, 600, None).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, PrometheusError::Garbage { status: 200, .. }),
        "{msg}"
    );
    assert!(
        msg.contains("hello, I am not") && msg.contains(&t.url),
        "{msg}"
    );
    let t = Tiny::json(
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}"#,
    );
    let e = t.source().values(Q, 0, 600, None).await.unwrap_err();
    assert!(matches!(e, PrometheusError::Garbage { .. }), "{e}");
}

#[tokio::test]
async fn scalar_and_vector_where_matrix_expected() {
    let t = Tiny::json(
        r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}"#,
    );
    let e = t.source().values(Q, 0, 600, None).await.unwrap_err();
    assert!(
        matches!(e, PrometheusError::UnexpectedResultType { ref got, .. } if got == "scalar"),
        "{e}"
    );
    let t = Tiny::json(
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000000,"1"]}]}}"#,
    );
    let e = t.source().counts(Q, Q, 0, 600, None).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("vector") && msg.contains("matrix") && msg.contains(&t.url),
        "{msg}"
    );
}

#[tokio::test]
async fn nan_inf_and_empty_results() {
    let t = Tiny::json(
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[0,"1"],[60,"NaN"],[120,"3"]]}]}}"#,
    );
    let v = t.source().values(Q, 0, 120, None).await.unwrap();
    assert_eq!(v.points, vec![(0.0, 1.0), (120.0, 3.0)]);
    assert_eq!(v.missing, vec![60.0]);
    let mut cfg = t.config();
    cfg.nan = NonFinitePolicy::Error;
    let e = PrometheusSource::new(&cfg)
        .unwrap()
        .values(Q, 0, 120, None)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("NaN") && e.to_string().contains("job=\"a\""),
        "{e}"
    );

    let t = Tiny::json(
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[60,"+Inf"],[120,"-Inf"]]}]}}"#,
    );
    let e = t.source().values(Q, 0, 120, None).await.unwrap_err();
    assert!(
        matches!(e, PrometheusError::NonFinite { value, timestamp, .. } if value == f64::INFINITY && timestamp == 60.0),
        "{e}"
    );
    let mut cfg = t.config();
    cfg.inf = NonFinitePolicy::Missing;
    let v = PrometheusSource::new(&cfg)
        .unwrap()
        .values(Q, 0, 120, None)
        .await
        .unwrap();
    assert_eq!((v.points.len(), v.missing.len()), (1, 2));

    let t = Tiny::json(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#);
    let e = t.source().values(Q, 0, 120, None).await.unwrap_err();
    assert!(matches!(e, PrometheusError::NoData { .. }), "{e}");
    assert!(
        t.source()
            .histogram(Q, 0, 120, None)
            .await
            .unwrap_err()
            .is_no_data()
    );
}

#[tokio::test]
async fn too_many_points_refused_before_sending() {
    let t = Tiny::json(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#);
    let src = t.source();
    // 12,000 one-minute steps > Prometheus' 11,000.
    let e = src.values(Q, 0, 12_000 * 60, None).await.unwrap_err();
    assert!(
        matches!(
            e,
            PrometheusError::TooManyPoints {
                intervals: 12_000,
                max: 11_000,
                ..
            }
        ),
        "{e}"
    );
    let mut cfg = t.config();
    cfg.max_points = 50;
    let e = PrometheusSource::new(&cfg)
        .unwrap()
        .counts(Q, Q, 0, 3600, Some(Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("limit of 50"), "{e}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        t.requests().is_empty(),
        "a request was sent: {:?}",
        t.requests()
    );
    // The same source does send a query within the limit, so the listener really works.
    let _ = src.values(Q, 0, 600, None).await;
    assert_eq!(t.requests().len(), 1);
}

#[tokio::test]
async fn request_shape_and_get_fallback() {
    let t = Tiny::start(|r| {
        if r.method == "POST" {
            (405, "text/plain", "method not allowed".into())
        } else {
            (
                200,
                "application/json",
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[60,"5"]]}]}}"#.into(),
            )
        }
    });
    let v = t.source().values(Q, 0, 120, None).await.unwrap();
    assert_eq!(v.points, vec![(60.0, 5.0)]);
    let reqs = t.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "POST");
    assert!(
        reqs[0].path.ends_with("/api/v1/query_range"),
        "{}",
        reqs[0].path
    );
    for part in [
        "query=sum%28increase",
        "start=0",
        "end=120",
        "step=60",
        "timeout=2000ms",
    ] {
        assert!(
            reqs[0].body.contains(part),
            "{part} not in {}",
            reqs[0].body
        );
    }
    assert_eq!(reqs[1].method, "GET");
    assert!(reqs[1].path.contains("step=60"), "{}", reqs[1].path);
}

#[tokio::test]
async fn auth_headers_sent_and_never_printed() {
    let t = Tiny::start(|_| {
        (
            401,
            "application/json",
            r#"{"status":"error","errorType":"unauthorized","error":"denied"}"#.into(),
        )
    });
    // Bearer token from an environment variable (unique name: no other test reads it).
    let var = "CANARY_JUDGE_TEST_BEARER_TOKEN_PROM";
    // SAFETY: set once before any reader; the name is used by this test only.
    unsafe { std::env::set_var(var, "tok-SECRET-123") };
    let mut cfg = t.config();
    cfg.bearer_token = Some(SecretRef {
        file: None,
        env: Some(var.into()),
        value: None,
    });
    cfg.headers
        .insert("X-Scope-OrgID".into(), "tenant-7".into());
    let src = PrometheusSource::new(&cfg).unwrap();
    let e = src.values(Q, 0, 600, None).await.unwrap_err();
    let printed = format!("{e} {e:?} {src:?} {cfg:?}");
    assert!(!printed.contains("tok-SECRET-123"), "{printed}");
    assert!(
        printed.contains("401") && printed.contains("denied"),
        "{printed}"
    );
    let req = t.requests().pop().unwrap();
    assert_eq!(req.header("authorization"), Some("Bearer tok-SECRET-123"));
    assert_eq!(req.header("x-scope-orgid"), Some("tenant-7"));

    // Basic auth with the password from a file.
    let file = std::env::temp_dir().join(format!("cj-prom-pw-{}", std::process::id()));
    std::fs::write(&file, "pa55-SECRET\n").unwrap();
    let mut cfg = t.config();
    cfg.basic_auth = Some(canary_judge::source::prometheus::BasicAuthConfig {
        username: "judge".into(),
        password: SecretRef {
            file: Some(file.clone()),
            env: None,
            value: None,
        },
    });
    let src = PrometheusSource::new(&cfg).unwrap();
    let e = src.values(Q, 0, 600, None).await.unwrap_err();
    std::fs::remove_file(&file).unwrap();
    let printed = format!("{e} {e:?} {src:?} {cfg:?}");
    assert!(!printed.contains("pa55-SECRET"), "{printed}");
    let req = t.requests().pop().unwrap();
    // base64("judge:pa55-SECRET")
    assert_eq!(
        req.header("authorization"),
        Some("Basic anVkZ2U6cGE1NS1TRUNSRVQ=")
    );

    // An unreadable secret file names the file, not a value.
    let mut cfg = t.config();
    cfg.bearer_token = Some(SecretRef {
        file: Some("/nonexistent/token".into()),
        env: None,
        value: None,
    });
    let e = PrometheusSource::new(&cfg).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/token"), "{e}");
}

// ---------------------------------------------------------------- TLS against real Prometheus

/// A Prometheus (no data) serving HTTPS with a certificate signed by a throwaway CA.
struct TlsProm {
    dir: PathBuf,
    child: std::process::Child,
    url: String,
}

impl Drop for TlsProm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TlsProm {
    fn start() -> TlsProm {
        let which = Command::new(script()).arg("which").output().unwrap();
        assert!(
            which.status.success(),
            "Prometheus is not installed: run `scripts/prometheus-testenv install`"
        );
        let prom = String::from_utf8(which.stdout).unwrap().trim().to_string();
        let dir = std::env::temp_dir().join(format!("cj-prom-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = |f: &str| dir.join(f);
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=canary-judge-test-ca", "-keyout"])
            .arg(d("ca.key"))
            .arg("-out")
            .arg(d("ca.crt")));
        run(Command::new("openssl")
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
            ])
            .arg(d("srv.key"))
            .arg("-out")
            .arg(d("srv.csr")));
        std::fs::write(
            d("ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
            .arg(d("srv.csr"))
            .arg("-CA")
            .arg(d("ca.crt"))
            .arg("-CAkey")
            .arg(d("ca.key"))
            .arg("-out")
            .arg(d("srv.crt"))
            .arg("-extfile")
            .arg(d("ext")));
        std::fs::write(
            d("web.yml"),
            format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
                d("srv.crt").display(),
                d("srv.key").display()
            ),
        )
        .unwrap();
        std::fs::write(d("prometheus.yml"), "scrape_configs: []\n").unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(prom)
            .arg(format!("--config.file={}", d("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", d("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--web.config.file={}", d("web.yml").display()))
            .arg("--log.level=warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        TlsProm {
            dir,
            child,
            url: format!("https://127.0.0.1:{port}"),
        }
    }
}

#[tokio::test]
async fn tls_ca_file_and_insecure_skip_verify_against_real_prometheus() {
    let tls = TlsProm::start();
    let mut trusted = PrometheusConfig::with_address(&tls.url);
    trusted.ca_file = Some(tls.dir.join("ca.crt"));
    let src = PrometheusSource::new(&trusted).unwrap();
    // Wait for the server: until the TLS listener answers (at most 20 s).
    let t = Instant::now();
    let mut last = None;
    while t.elapsed() < Duration::from_secs(20) {
        match src.ping().await {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e) => last = Some(e.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(last.is_none(), "TLS Prometheus never answered: {last:?}");

    // System roots only: the private CA is not trusted.
    let plain = PrometheusSource::new(&PrometheusConfig::with_address(&tls.url)).unwrap();
    let e = plain.ping().await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, PrometheusError::Unreachable { .. }), "{msg}");
    assert!(
        msg.contains(&tls.url) && msg.to_lowercase().contains("certificate"),
        "{msg}"
    );

    let mut insecure = PrometheusConfig::with_address(&tls.url);
    insecure.insecure_skip_verify = true;
    PrometheusSource::new(&insecure)
        .unwrap()
        .ping()
        .await
        .unwrap();

    // A CA file that is not PEM is a config error naming the file.
    let mut broken = PrometheusConfig::with_address(&tls.url);
    broken.ca_file = Some(tls.dir.join("web.yml"));
    let e = PrometheusSource::new(&broken).unwrap_err().to_string();
    assert!(e.contains("web.yml"), "{e}");
}
