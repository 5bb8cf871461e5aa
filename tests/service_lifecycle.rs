//! `canary-judge serve` as a process: the gRPC API through a client generated from the
//! .proto (Analyze, Compare, status codes, health), SIGHUP with a broken and a good config,
//! and SIGTERM while analyses are in flight (none dropped, exit 0). A slow Prometheus is
//! simulated by a loopback listener that answers a real range-query response late.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use canary_judge::server::grpc::pb;
use pb::judge_client::JudgeClient;

pub(crate) struct Service {
    pub(crate) child: Child,
    pub(crate) http: String,
    grpc: String,
    log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &std::path::Path, extra: &[&str]) -> Service {
    start_with_env(config, extra, &[])
}

/// The service as a process outside any cluster (no `KUBECONFIG`, no pod environment) unless
/// `env` sets them.
// The child is waited for by `Service::drop`; on a start-up panic the test process ends anyway.
#[allow(clippy::zombie_processes)]
pub(crate) fn start_with_env(
    config: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> Service {
    let mut child = serve_command(config, extra, env)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let line = rx
            .recv_timeout(deadline - Instant::now())
            .expect("service did not start");
        if let Some(rest) = line.strip_prefix("canary-judge serve: http=") {
            let (http, grpc) = rest.split_once(" grpc=").unwrap();
            return Service {
                child,
                http: format!("http://{http}"),
                grpc: format!("http://{grpc}"),
                log: rx,
            };
        }
    }
}

/// `canary-judge serve` on ephemeral loopback ports, outside any cluster (no `KUBECONFIG`, no
/// pod environment) unless `env` sets them.
pub(crate) fn serve_command(
    config: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_canary-judge"));
    c.args(["serve", "--config"])
        .arg(config)
        .args(["--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"])
        .args(extra)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .envs(env.iter().copied());
    c
}

fn signal(s: &Service, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &s.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn wait_log(s: &Service, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = s
            .log
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no log line containing {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

const INLINE: &str = r#"
server: {analysis_timeout: 3s}
templates:
  inline-pass:
    metrics:
      - {name: latency-ms, method: threshold, params: {aggregate: mean, max: 100}, canary: {values: [41, 44, 39]}}
  inline-fail:
    metrics:
      - {name: latency-ms, method: threshold, params: {aggregate: mean, max: 100}, canary: {values: [141, 144, 139]}}
"#;

pub(crate) fn write_config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("serve.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// A scratch directory for one test, removed when the test ends (declared before the
/// server, so it outlives it).
pub(crate) struct TmpDir(std::path::PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn tmpdir(name: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("cj-service-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TmpDir(d)
}

#[tokio::test]
async fn grpc_analyze_compare_codes_and_health() {
    let dir = tmpdir("grpc");
    // A query template against a closed port: Prometheus is down.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = format!(
        "{INLINE}  needs-prom:\n    metrics:\n      - {{name: q, method: threshold, params: {{max: 1}}, canary: {{query: 'up'}}}}\nprometheus: {{address: 'http://{closed}', timeout: 1s}}\n"
    );
    let s = start(&write_config(&dir, &cfg), &[]);
    let mut c = JudgeClient::connect(s.grpc.clone()).await.unwrap();

    let r = c
        .analyze(pb::AnalyzeRequest {
            analysis: Some(pb::analyze_request::Analysis::Template(
                "inline-fail".into(),
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.verdict, pb::Verdict::Fail as i32);
    assert_eq!(r.metrics.len(), 1);
    assert_eq!(r.metrics[0].name, "latency-ms");
    assert!(r.report_json.contains("\"verdict\":\"fail\""));

    let inline =
        "metrics:\n  - {name: m, method: threshold, params: {max: 5}, canary: {values: [1, 2]}}\n";
    let r = c
        .analyze(pb::AnalyzeRequest {
            analysis: Some(pb::analyze_request::Analysis::Config(inline.into())),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.verdict, pb::Verdict::Pass as i32);

    // Compare: a clear shift fails Mann-Whitney with harm = increase.
    let canary: Vec<f64> = (0..40).map(|i| 200.0 + f64::from(i)).collect();
    let baseline: Vec<f64> = (0..40).map(|i| 100.0 + f64::from(i)).collect();
    let d = c
        .compare(pb::CompareRequest {
            method: "mann-whitney".into(),
            params_json: r#"{"harm":"increase"}"#.into(),
            canary,
            baseline,
        })
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap();
    assert_eq!(d.verdict, pb::Verdict::Fail as i32, "{d:?}");
    assert!(d.p_value.unwrap() < 1e-6);
    assert_eq!((d.n_canary, d.n_baseline), (40, 40));

    let code = |r: Result<tonic::Response<pb::AnalyzeResponse>, tonic::Status>| r.unwrap_err();
    let e = code(
        c.analyze(pb::AnalyzeRequest {
            analysis: Some(pb::analyze_request::Analysis::Template("nope".into())),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(e.code(), tonic::Code::NotFound);
    assert!(e.message().contains("nope"));
    let e = code(
        c.analyze(pb::AnalyzeRequest {
            analysis: Some(pb::analyze_request::Analysis::Config(
                "metrics: [{name: x}]".into(),
            )),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    let e = code(
        c.analyze(pb::AnalyzeRequest {
            analysis: Some(pb::analyze_request::Analysis::Template("needs-prom".into())),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
    let e = c
        .compare(pb::CompareRequest {
            method: "no-such-method".into(),
            canary: vec![1.0],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");

    // Health: Prometheus is down, so not serving; readiness says why.
    let channel = tonic::transport::Channel::from_shared(s.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut h = tonic_health::pb::health_client::HealthClient::new(channel);
    let st = h
        .check(tonic_health::pb::HealthCheckRequest {
            service: "canaryjudge.v1.Judge".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        st,
        tonic_health::pb::health_check_response::ServingStatus::NotServing as i32
    );
    let r = reqwest::get(format!("{}/readyz", s.http)).await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.text().await.unwrap().contains("Prometheus"));
}

#[tokio::test]
async fn grpc_deadline_exceeded_when_prometheus_hangs() {
    let dir = tmpdir("deadline");
    // Accepts connections and never answers.
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = hang.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hang.incoming().flatten() {
            held.push(c);
        }
    });
    let cfg = format!(
        "server: {{analysis_timeout: 1s}}\nprometheus: {{address: 'http://{addr}', timeout: 30s}}\ntemplates:\n  slow:\n    metrics:\n      - {{name: q, method: threshold, params: {{max: 1}}, canary: {{query: 'up'}}}}\n"
    );
    let s = start(&write_config(&dir, &cfg), &[]);
    let mut c = JudgeClient::connect(s.grpc.clone()).await.unwrap();
    let e = c
        .analyze(pb::AnalyzeRequest {
            analysis: Some(pb::analyze_request::Analysis::Template("slow".into())),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::DeadlineExceeded, "{e:?}");
}

#[tokio::test]
async fn sighup_with_broken_config_keeps_the_old_one() {
    let dir = tmpdir("hup");
    let path = write_config(&dir, INLINE);
    let s = start(&path, &[]);
    let client = reqwest::Client::new();
    let analyze = |t: &str| {
        client
            .post(format!("{}/v1/analyze", s.http))
            .header("content-type", "application/json")
            .body(format!(r#"{{"template":"{t}"}}"#))
            .send()
    };
    assert_eq!(analyze("inline-pass").await.unwrap().status().as_u16(), 200);

    std::fs::write(
        &path,
        "templates: {broken: {metrics: [{name: x, method: nope}]}}\n",
    )
    .unwrap();
    signal(&s, "HUP");
    let line = wait_log(&s, "reload rejected");
    assert!(line.contains("serve.yaml"), "{line}");
    let r = analyze("inline-pass").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("\"verdict\":\"pass\""));
    assert_eq!(analyze("broken").await.unwrap().status().as_u16(), 404);

    let good = format!(
        "{INLINE}  added:\n    metrics:\n      - {{name: m, method: threshold, params: {{max: 1}}, canary: {{values: [5]}}}}\n"
    );
    std::fs::write(&path, good).unwrap();
    signal(&s, "HUP");
    wait_log(&s, "config reloaded");
    let r = analyze("added").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("\"verdict\":\"fail\""));
}

/// A Prometheus stand-in that answers every range query with a fixed matrix after `delay`.
fn slow_prometheus(delay: Duration) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read headers and the (small, form-encoded) body.
                loop {
                    let n = conn.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(h) = text.find("\r\n\r\n") {
                        let len = text[..h]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= h + 4 + len {
                            break;
                        }
                    }
                }
                std::thread::sleep(delay);
                let values: Vec<String> = (0..=5)
                    .map(|i| format!("[{},\"1\"]", 1000 + 60 * i))
                    .collect();
                let body = format!(
                    r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[{}]}}]}}}}"#,
                    values.join(",")
                );
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
            });
        }
    });
    addr
}

#[tokio::test]
async fn sigterm_during_load_drops_nothing_and_exits_zero() {
    let dir = tmpdir("term");
    let prom = slow_prometheus(Duration::from_millis(1500));
    let cfg = format!(
        "server: {{analysis_timeout: 8s, shutdown_grace: 10s}}\nprometheus: {{address: 'http://{prom}', timeout: 5s}}\ntemplates:\n  slow:\n    metrics:\n      - {{name: q, method: threshold, params: {{max: 2}}, canary: {{query: 'up'}}}}\n"
    );
    let mut s = start(&write_config(&dir, &cfg), &[]);
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let client = client.clone();
        let url = format!("{}/v1/analyze", s.http);
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("content-type", "application/json")
                .body(r#"{"template":"slow","start":1000,"end":1300}"#)
                .send()
                .await?;
            let status = r.status().as_u16();
            Ok::<_, reqwest::Error>((status, r.text().await?))
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    signal(&s, "TERM");
    wait_log(&s, "shutdown requested");
    for t in tasks {
        let (status, body) = t.await.unwrap().expect("request dropped during shutdown");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"verdict\":\"pass\""), "{body}");
    }
    let started = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn http_bad_input_gets_a_4xx_naming_the_problem() {
    let dir = tmpdir("badinput");
    let cfg = format!("{INLINE}  incon:\n    metrics:\n      - {{name: m, method: mann-whitney, min_samples: 10, canary: {{values: [1, 2]}}, baseline: {{values: [1, 2]}}}}\n")
        .replace("analysis_timeout: 3s", "analysis_timeout: 3s, max_body_bytes: 4096, inconclusive_status: 403");
    let s = start(&write_config(&dir, &cfg), &[]);
    let c = reqwest::Client::new();
    let post = |path: &str, ct: &str, body: String| {
        c.post(format!("{}{path}", s.http))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let check = |r: reqwest::Response, status: u16, needle: &'static str| async move {
        assert_eq!(r.status().as_u16(), status);
        let version = r.headers().get("x-app-version").cloned();
        let body = r.text().await.unwrap();
        assert!(body.contains(needle), "{status}: {body}");
        assert!(version.is_some(), "X-App-Version missing");
    };
    let json = "application/json";
    check(
        post("/v1/analyze", json, "{\"template\":".into())
            .await
            .unwrap(),
        400,
        "malformed request body",
    )
    .await;
    check(
        post("/v1/analyze", "text/plain", "{}".into())
            .await
            .unwrap(),
        415,
        "Content-Type must be application/json",
    )
    .await;
    check(
        post("/v1/analyze", json, " ".repeat(10_000)).await.unwrap(),
        413,
        "length limit",
    )
    .await;
    check(
        post("/v1/analyze", json, r#"{"template":"ghost"}"#.into())
            .await
            .unwrap(),
        404,
        "unknown template `ghost`",
    )
    .await;
    check(
        post(
            "/v1/analyze",
            json,
            r#"{"template":"inline-pass","bogus":1}"#.into(),
        )
        .await
        .unwrap(),
        400,
        "bogus",
    )
    .await;
    check(
        post(
            "/v1/analyze",
            json,
            r#"{"config":{"metrics":[{"name":"x","method":"nope"}]}}"#.into(),
        )
        .await
        .unwrap(),
        400,
        "config",
    )
    .await;
    // A client's config may not make the server read its own files.
    check(
        post(
            "/v1/analyze",
            json,
            r#"{"config":{"metrics":[{"name":"x","method":"welch","canary":{"file":"/etc/passwd"},"baseline":{"values":[1,2]}}]}}"#.into(),
        )
        .await
        .unwrap(),
        400,
        "`file: /etc/passwd` is not accepted in a request's config",
    )
    .await;
    let hook = |meta: &str| {
        format!(
            r#"{{"name":"web","namespace":"shop","phase":"Progressing","checksum":"abc","metadata":{meta}}}"#
        )
    };
    check(
        post(
            "/flagger/rollout",
            json,
            hook(r#"{"template":"inline-pass"}"#),
        )
        .await
        .unwrap(),
        200,
        "pass",
    )
    .await;
    check(
        post(
            "/flagger/rollout",
            json,
            hook(r#"{"template":"inline-fail"}"#),
        )
        .await
        .unwrap(),
        403,
        "canary-judge fail",
    )
    .await;
    // inconclusive_status: 403 in this config holds the rollout.
    check(
        post("/flagger/rollout", json, hook(r#"{"template":"incon"}"#))
            .await
            .unwrap(),
        403,
        "inconclusive",
    )
    .await;
    check(
        post("/flagger/rollout", json, hook(r#"{"x":"y"}"#))
            .await
            .unwrap(),
        400,
        "no `template` key",
    )
    .await;
    check(
        post(
            "/flagger/pre-rollout",
            json,
            hook(r#"{"template":"ghost"}"#),
        )
        .await
        .unwrap(),
        404,
        "ghost",
    )
    .await;
    check(
        post("/flagger/rollout", json, r#"{"name":"a"}"#.into())
            .await
            .unwrap(),
        400,
        "missing field `namespace`",
    )
    .await;
    check(
        post(
            "/flagger/rollout",
            json,
            hook(r#"{"template":"inline-pass","lookback":"soon"}"#),
        )
        .await
        .unwrap(),
        400,
        "lookback `soon`",
    )
    .await;
    check(
        post("/flagger/rollout", "text/xml", hook("{}"))
            .await
            .unwrap(),
        415,
        "Content-Type",
    )
    .await;
    // Facade: Prometheus' error envelope, GET and form POST.
    check(
        c.get(format!("{}/api/v1/query?query=up", s.http))
            .send()
            .await
            .unwrap(),
        400,
        "\"errorType\":\"bad_data\"",
    )
    .await;
    check(
        c.get(format!("{}/api/v1/query?query=vector(1)", s.http))
            .send()
            .await
            .unwrap(),
        200,
        ",\"1\"]",
    )
    .await;
    check(
        post(
            "/api/v1/query",
            "application/x-www-form-urlencoded",
            "query=canary_judge%7Btemplate%3D%22inline-fail%22%7D&time=1700000000".into(),
        )
        .await
        .unwrap(),
        200,
        r#""value":[1700000000.0,"0"]"#,
    )
    .await;
    check(
        post("/api/v1/query", json, "{}".into()).await.unwrap(),
        415,
        "x-www-form-urlencoded",
    )
    .await;
    check(
        c.get(format!(
            "{}/api/v1/query?query=canary_judge%7Btemplate%3D%22ghost%22%7D",
            s.http
        ))
        .send()
        .await
        .unwrap(),
        404,
        "ghost",
    )
    .await;
    check(
        c.get(format!("{}/readyz", s.http)).send().await.unwrap(),
        200,
        "ready",
    )
    .await;
    check(
        c.get(format!("{}/livez", s.http)).send().await.unwrap(),
        200,
        "ok",
    )
    .await;
    check(
        c.get(format!("{}/version", s.http)).send().await.unwrap(),
        200,
        "\"commit\"",
    )
    .await;
    check(
        c.get(format!("{}/nope", s.http)).send().await.unwrap(),
        404,
        "no route for GET /nope",
    )
    .await;
    let metrics = c
        .get(format!("{}/metrics", s.http))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"canary_judge_analyses_total{door="flagger-rollout",verdict="fail"} 1"#),
        "{metrics}"
    );
}

/// A loopback listener standing for "wherever a hostile config points": counts every
/// connection and answers each request like a Prometheus with no series.
fn recorder() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", l.local_addr().unwrap());
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let h = std::sync::Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in l.incoming().take(1000) {
            let Ok(mut s) = stream else { continue };
            let h = std::sync::Arc::clone(&h);
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 16384];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    // Every query counts (in a GET's request line or a POST's form body)
                    // except the service's own readiness probe (`query=1` every 5 s on the
                    // default source), which no client causes: counting connections made a
                    // probe that reconnected during a check look like a leak.
                    let req = String::from_utf8_lossy(&buf[..n]);
                    let mut queries = req
                        .split(['?', '&', '\n', ' '])
                        .filter_map(|kv| kv.trim().strip_prefix("query="));
                    if queries.any(|q| q != "1") {
                        h.fetch_add(1, Ordering::SeqCst);
                    }
                    let body = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
        }
    });
    (addr, hits)
}

const SERVICE_SECRET: &str = "svc-prom-token-4d1f";
const TOKEN_A: &str = "caller-a-token-9e2b";
const TOKEN_B: &str = "caller-b-token-77c0";

/// The trust boundary at the service's doors (issue 12): a client-sent config may only name
/// the operator's sources — never its own Prometheus, credentials, CA or files — and with
/// `auth:` set, every door wants a known token whose tenant may use the template and source.
/// The operator's Prometheus is a recorder: a refused request must send it nothing.
#[tokio::test]
async fn trust_boundary_hostile_configs_and_auth() {
    use std::sync::atomic::Ordering;
    let dir = tmpdir("trust");
    let (prom, hits) = recorder();
    let (elsewhere, elsewhere_hits) = recorder();
    std::fs::write(dir.join("a.token"), format!("{TOKEN_A}\n")).unwrap();
    std::fs::write(dir.join("b.token"), format!("{TOKEN_B}\n")).unwrap();
    std::fs::write(dir.join("prom.token"), SERVICE_SECRET).unwrap();
    let d = dir.display();
    let cfg = format!(
        "server: {{analysis_timeout: 5s}}\n\
         sources:\n  - name: main\n    default: true\n    address: '{prom}'\n    timeout: 2s\n    bearer_token: {{file: '{d}/prom.token'}}\n  - name: other\n    address: '{prom}/other'\n\
         auth:\n  tokens:\n    - {{name: team-a, token: {{file: '{d}/a.token'}}, templates: [errors-a, inline-pass], sources: [main]}}\n    - {{name: team-b, token: {{file: '{d}/b.token'}}}}\n\
         templates:\n  errors-a:\n    metrics:\n      - {{name: q, method: threshold, params: {{max: 1}}, canary: {{query: 'up'}}}}\n  errors-other:\n    source: other\n    metrics:\n      - {{name: q, method: threshold, params: {{max: 1}}, canary: {{query: 'up'}}}}\n  inline-pass:\n    metrics:\n      - {{name: latency-ms, method: threshold, params: {{aggregate: mean, max: 100}}, canary: {{values: [41, 44, 39]}}}}\n"
    );
    let s = start(&write_config(&dir, &cfg), &[]);
    let c = reqwest::Client::new();
    let analyze = |token: Option<&str>, body: String| {
        let mut r = c
            .post(format!("{}/v1/analyze", s.http))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let mut grpc = JudgeClient::connect(s.grpc.clone()).await.unwrap();
    let grpc_call = |token: Option<&str>, analysis: pb::analyze_request::Analysis| {
        let mut req = tonic::Request::new(pb::AnalyzeRequest {
            analysis: Some(analysis),
            ..Default::default()
        });
        if let Some(t) = token {
            req.metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        req
    };
    let mut bodies = String::new();

    // Hostile client configs: each must be refused before anything is sent anywhere.
    let metric = r#""metrics":[{"name":"q","method":"threshold","params":{"max":1},"canary":{"query":"up"}}]"#;
    let hostile: Vec<(&str, String)> = vec![
        (
            "prometheus",
            format!(r#"{{"prometheus":{{"address":"{elsewhere}"}},{metric}}}"#),
        ),
        (
            "prometheus",
            format!(
                r#"{{"prometheus":{{"address":"{prom}","bearer_token":{{"file":"{d}/prom.token"}}}},{metric}}}"#
            ),
        ),
        (
            "prometheus",
            format!(
                r#"{{"prometheus":{{"address":"{prom}","bearer_token":{{"env":"HOME"}}}},{metric}}}"#
            ),
        ),
        (
            "prometheus",
            format!(
                r#"{{"prometheus":{{"address":"{prom}","basic_auth":{{"username":"u","password":{{"file":"{d}/prom.token"}}}}}},{metric}}}"#
            ),
        ),
        (
            "prometheus",
            format!(
                r#"{{"prometheus":{{"address":"{prom}","basic_auth":{{"username":"u","password":{{"env":"HOME"}}}}}},{metric}}}"#
            ),
        ),
        (
            "prometheus",
            format!(
                r#"{{"prometheus":{{"address":"{prom}","ca_file":"{d}/prom.token"}},{metric}}}"#
            ),
        ),
        (
            "prometheus",
            format!(
                r#"{{"prometheus":{{"address":"{prom}","headers":{{"X-Key":{{"env":"HOME"}}}}}},{metric}}}"#
            ),
        ),
        (
            "`source: nope` is not a configured data source",
            format!(r#"{{"source":"nope",{metric}}}"#),
        ),
        (
            "is not accepted in a request's config",
            format!(
                r#"{{"metrics":[{{"name":"x","method":"welch","canary":{{"file":"{d}/prom.token"}},"baseline":{{"values":[1,2]}}}}]}}"#
            ),
        ),
    ];
    for (needle, config) in &hostile {
        let before = hits.load(Ordering::SeqCst);
        let r = analyze(Some(TOKEN_B), format!(r#"{{"config":{config}}}"#))
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(status, 400, "{config}: {body}");
        assert!(body.contains(needle), "{config}: {body}");
        bodies.push_str(&body);
        let e = grpc
            .analyze(grpc_call(
                Some(TOKEN_B),
                pb::analyze_request::Analysis::Config(config.clone()),
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{config}: {e}");
        assert!(e.message().contains(needle), "{config}: {}", e.message());
        bodies.push_str(e.message());
        assert_eq!(
            hits.load(Ordering::SeqCst),
            before,
            "{config}: a request reached Prometheus"
        );
    }
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "a hostile address was contacted"
    );

    // Authentication and tenants: refused calls send no query.
    let before = hits.load(Ordering::SeqCst);
    let tpl = |t: &str| format!(r#"{{"template":"{t}"}}"#);
    for (token, template, status, code) in [
        (None, "errors-a", 401, tonic::Code::Unauthenticated),
        (
            Some("wrong-token"),
            "errors-a",
            401,
            tonic::Code::Unauthenticated,
        ),
        (
            Some(TOKEN_A),
            "errors-other",
            403,
            tonic::Code::PermissionDenied,
        ),
    ] {
        let r = analyze(token, tpl(template)).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{token:?} {template}");
        bodies.push_str(&r.text().await.unwrap());
        let e = grpc
            .analyze(grpc_call(
                token,
                pb::analyze_request::Analysis::Template(template.into()),
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{token:?} {template}: {e}");
    }
    // Team A may not send its own config (it is limited to templates).
    let r = analyze(Some(TOKEN_A), format!(r#"{{"config":{{{metric}}}}}"#))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // gRPC Compare is a door too: no token, no answer.
    let e = grpc
        .compare(tonic::Request::new(pb::CompareRequest {
            method: "threshold".into(),
            params_json: r#"{"max":1}"#.into(),
            canary: vec![0.5],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    let flagger = c
        .post(format!("{}/flagger/rollout", s.http))
        .header("content-type", "application/json")
        .body(r#"{"name":"x","namespace":"y","phase":"Progressing","checksum":"c","metadata":{"template":"inline-pass"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(flagger.status().as_u16(), 401);
    let facade = c
        .get(format!("{}/api/v1/query", s.http))
        .query(&[("query", r#"canary_judge{template="inline-pass"}"#)])
        .send()
        .await
        .unwrap();
    assert_eq!(facade.status().as_u16(), 401);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before,
        "a refused call sent a query"
    );

    // The right tokens get verdicts; Flagger may pass its token as webhook metadata and the
    // facade accepts basic auth (Flagger's secretRef) with the token as password.
    let r = analyze(Some(TOKEN_A), tpl("errors-a")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert!(doc["verdict"].is_string(), "{doc}");
    assert!(
        hits.load(Ordering::SeqCst) > before,
        "the allowed call sent no query"
    );
    let ok = grpc
        .analyze(grpc_call(
            Some(TOKEN_B),
            pb::analyze_request::Analysis::Template("errors-other".into()),
        ))
        .await
        .unwrap();
    assert!(ok.get_ref().end > 0);
    let flagger = c
        .post(format!("{}/flagger/rollout", s.http))
        .header("content-type", "application/json")
        .body(format!(r#"{{"name":"x","namespace":"y","phase":"Progressing","checksum":"c","metadata":{{"template":"inline-pass","token":"{TOKEN_A}"}}}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(flagger.status().as_u16(), 200);
    let facade = c
        .get(format!("{}/api/v1/query", s.http))
        .basic_auth("flagger", Some(TOKEN_A))
        .query(&[("query", r#"canary_judge{template="inline-pass"}"#)])
        .send()
        .await
        .unwrap();
    assert_eq!(facade.status().as_u16(), 200);
    bodies.push_str(&facade.text().await.unwrap());

    // No secret in any answer or log line.
    drop(grpc);
    signal(&s, "TERM");
    let mut log = String::new();
    while let Ok(line) = s.log.recv_timeout(Duration::from_secs(5)) {
        log.push_str(&line);
        log.push('\n');
    }
    for secret in [SERVICE_SECRET, TOKEN_A, TOKEN_B] {
        assert!(!bodies.contains(secret), "secret in an answer");
        assert!(!log.contains(secret), "secret in the service log");
    }
}
