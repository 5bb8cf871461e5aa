//! Where `serve` takes a Flagger analysis's window from (`server.canary_windows`), as a process:
//! memory outside a cluster, refusals that name the setting, a pod without credentials, and a
//! real kube-rs client whose API server refuses connections. The real API server with the real
//! Flagger controller is tests/e2e/flagger.py.

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::service_lifecycle::{serve_command, start_with_env, tmpdir, write_config};

const CONFIG: &str = r#"
server: {analysis_timeout: 3s@MODE@}
templates:
  inline-pass:
    metrics:
      - {name: latency-ms, method: threshold, params: {aggregate: mean, max: 100}, canary: {values: [41, 44, 39]}}
"#;

fn config(mode: Option<&str>) -> String {
    CONFIG.replace(
        "@MODE@",
        &mode
            .map(|m| format!(", canary_windows: {m}"))
            .unwrap_or_default(),
    )
}

async fn webhook(http: &str, name: &str, checksum: &str) -> (u16, String) {
    let body = format!(
        r#"{{"name":"{name}","namespace":"test","phase":"Progressing","checksum":"{checksum}","metadata":{{"template":"inline-pass"}}}}"#
    );
    let r = reqwest::Client::new()
        .post(format!("{http}/flagger/rollout"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get(url: String) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// `[window START/END (Ns) from SOURCE]` of a webhook answer.
fn window(text: &str) -> (i64, i64, String) {
    let w = text
        .split("[window ")
        .nth(1)
        .unwrap_or_else(|| panic!("no window in {text:?}"));
    let (span, rest) = w.split_once(' ').unwrap();
    let (start, end) = span.split_once('/').unwrap();
    let source = rest
        .split("from ")
        .nth(1)
        .unwrap()
        .trim_end()
        .trim_end_matches(']');
    (
        start.parse().unwrap(),
        end.parse().unwrap(),
        source.to_string(),
    )
}

/// Runs `serve` expecting it to refuse to start; returns its stderr.
fn refused(config: &std::path::Path, env: &[(&str, &OsStr)]) -> String {
    let mut child = serve_command(config, &[], env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    err
}

#[tokio::test]
async fn memory_outside_a_cluster_keeps_the_first_call_per_checksum() {
    let dir = tmpdir("windows-memory");
    let s = start_with_env(&write_config(&dir, &config(None)), &[], &[]);
    let (code, ready) = get(format!("{}/readyz", s.http)).await;
    assert_eq!(code, 200);
    assert!(ready.contains("canary windows: memory"), "{ready}");
    let (c1, a1) = webhook(&s.http, "app", "c1").await;
    assert_eq!(c1, 200, "{a1}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, a2) = webhook(&s.http, "app", "c1").await;
    let (s1, e1, src) = window(&a1);
    let (s2, e2, _) = window(&a2);
    assert_eq!(src, "memory");
    assert_eq!(s1, s2, "same analysis, same start: {a1} / {a2}");
    assert!(e2 > e1);
    // A new checksum is a new analysis.
    let (_, a3) = webhook(&s.http, "app", "c2").await;
    assert_eq!(window(&a3).0, window(&a3).1);
    assert!(window(&a3).0 > s1);
    // The facade has no checksum, so memory cannot give it a Canary's window.
    let (code, body) = get(format!(
        "{}/api/v1/query?query=canary_judge%7Btemplate%3D%22inline-pass%22%2Ccanary%3D%22test%2Fapp%22%7D",
        s.http
    ))
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("`canary` label"), "{body}");
}

#[test]
fn kubernetes_mode_without_a_client_refuses_to_start() {
    let dir = tmpdir("windows-noclient");
    let cfg = write_config(&dir, &config(Some("kubernetes")));
    // No KUBECONFIG, an empty home (no ~/.kube/config), not in a pod.
    let err = refused(&cfg, &[("HOME", dir.as_os_str())]);
    assert!(
        err.contains("server.canary_windows is `kubernetes`"),
        "{err}"
    );
}

#[test]
fn memory_mode_in_a_pod_refuses_to_start() {
    let dir = tmpdir("windows-memory-pod");
    let cfg = write_config(&dir, &config(Some("memory")));
    let err = refused(
        &cfg,
        &[("KUBERNETES_SERVICE_HOST", OsStr::new("127.0.0.1"))],
    );
    assert!(err.contains("flagger.enabled=true"), "{err}");
}

#[tokio::test]
async fn a_pod_without_credentials_refuses_webhooks_naming_the_chart_value() {
    let dir = tmpdir("windows-pod-nocreds");
    let cfg = write_config(&dir, &config(None));
    // In a pod (the API server's address is set) without a mounted token or kubeconfig.
    let s = start_with_env(
        &cfg,
        &[],
        &[
            ("KUBERNETES_SERVICE_HOST", OsStr::new("127.0.0.1")),
            ("KUBERNETES_SERVICE_PORT", OsStr::new("1")),
            ("HOME", dir.as_os_str()),
        ],
    );
    let (code, ready) = get(format!("{}/readyz", s.http)).await;
    assert_eq!(code, 200, "other doors still serve: {ready}");
    assert!(ready.contains("unavailable"), "{ready}");
    let (code, body) = webhook(&s.http, "app", "c1").await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("flagger.enabled=true"), "{body}");
    // Doors that do not need a Canary window answer as before.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/analyze", s.http))
        .header("content-type", "application/json")
        .body(r#"{"template":"inline-pass"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn kubernetes_mode_with_an_unreachable_api_server_is_not_ready_and_says_why() {
    let dir = tmpdir("windows-refused");
    // A port nothing listens on: bind, note, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: not-a-secret-worth-keeping\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let cfg = write_config(&dir, &config(Some("kubernetes")));
    let s = start_with_env(&cfg, &[], &[("KUBECONFIG", kubeconfig.as_os_str())]);
    let (code, ready) = get(format!("{}/readyz", s.http)).await;
    assert_eq!(code, 503, "{ready}");
    assert!(ready.contains("canary windows: kubernetes"), "{ready}");
    let (code, body) = webhook(&s.http, "app", "c1").await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("Canary test/app"), "{body}");
    assert!(
        !body.contains("not-a-secret-worth-keeping"),
        "token leaked: {body}"
    );
}

#[tokio::test]
async fn webhook_answers_link_to_a_report_that_any_replica_can_draw() {
    let dir = tmpdir("windows-report");
    let token = dir.join("flagger.token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let cfg = CONFIG
        .replace(
            "@MODE@",
            ", report_base_url: \"https://judge.example.com/\"",
        )
        .replace(
            "templates:",
            &format!(
                "auth:\n  tokens:\n    - {{name: flagger, token: {{file: '{}'}}}}\ntemplates:",
                token.display()
            ),
        );
    let path = write_config(&dir, &cfg);
    let a = start_with_env(&path, &[], &[]);
    let b = start_with_env(&path, &[], &[]);
    let body = r#"{"name":"app","namespace":"test","phase":"Progressing","checksum":"c1","metadata":{"template":"inline-pass","token":"s3cret-token"}}"#;
    let r = reqwest::Client::new()
        .post(format!("{}/flagger/rollout", a.http))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let answer = r.text().await.unwrap();
    assert!(!answer.contains("s3cret-token"), "{answer}");
    let link = answer
        .split("report: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no report link in {answer:?}"))
        .trim();
    let query = link
        .strip_prefix("https://judge.example.com/report?")
        .unwrap_or_else(|| panic!("link {link:?} is not under the base URL"));
    assert!(query.starts_with("template=inline-pass&start="), "{query}");
    assert!(query.contains("&name=app&namespace=test"), "{query}");
    // The other replica never saw the webhook and draws the same report from the link.
    let c = reqwest::Client::new();
    let unauth = c
        .get(format!("{}/report?{query}", b.http))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status().as_u16(), 401);
    let page = c
        .get(format!("{}/report?{query}", b.http))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg"), "no chart");
    assert!(html.contains("latency-ms"), "metric missing");
    assert!(html.to_lowercase().contains("pass"), "verdict missing");
    // The replica that answered lists it; the other lists nothing (`/report` is not listed).
    let listed = |base: String| {
        let c = c.clone();
        async move {
            c.get(format!("{base}/reports"))
                .bearer_auth("s3cret-token")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let on_a = listed(a.http.clone()).await;
    assert!(on_a.contains("flagger-rollout"), "{on_a}");
    assert!(
        on_a.contains("href=\"report?template=inline-pass&amp;start="),
        "{on_a}"
    );
    assert!(!listed(b.http.clone()).await.contains("<td>"));
    // Bad parameters name the problem.
    for (q, status, needle) in [
        ("start=1&end=2", 400, "template"),
        ("template=ghost", 404, "ghost"),
        ("template=inline-pass&start=yesterday", 400, "start"),
        ("template=inline-pass&every=0", 400, "every"),
    ] {
        let r = c
            .get(format!("{}/report?{q}", b.http))
            .bearer_auth("s3cret-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{q}");
        assert!(r.text().await.unwrap().contains(needle), "{q}");
    }
}

/// `/report?config=JSON` (the Argo plugin's links): a client's config is drawn under the
/// rules of `/v1/analyze` — a caller limited to templates is refused, a file arm is refused,
/// a template and a config together are refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_config_link_draws_the_clients_config_under_the_same_rules() {
    let dir = tmpdir("windows-report-config");
    std::fs::write(dir.join("argo.token"), "argo-token\n").unwrap();
    std::fs::write(dir.join("limited.token"), "limited-token\n").unwrap();
    let cfg = CONFIG.replace("@MODE@", "").replace(
        "templates:",
        &format!(
            "auth:\n  tokens:\n    - {{name: argo, token: {{file: '{d}/argo.token'}}}}\n    - {{name: limited, token: {{file: '{d}/limited.token'}}, templates: [inline-pass]}}\ntemplates:",
            d = dir.display()
        ),
    );
    let s = start_with_env(&write_config(&dir, &cfg), &[], &[]);
    let config = serde_json::json!({"metrics": [{"name": "p99-ms", "method": "welch",
        "canary": {"values": [41.0, 44.0, 39.0, 40.0, 43.0, 42.0]},
        "baseline": {"values": [40.0, 42.0, 41.0, 39.0, 43.0, 41.0]}}]});
    let link = canary_judge::report::link::url(
        &s.http,
        canary_judge::report::link::Subject::Config(&config),
        100,
        200,
        &Default::default(),
    )
    .unwrap();
    let c = reqwest::Client::new();
    let fetch = |url: String, token: &'static str| {
        let c = c.clone();
        async move {
            let r = c.get(url).bearer_auth(token).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, page) = fetch(link.clone(), "argo-token").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-metric=\"p99-ms\""), "metric missing");
    assert!(page.contains("config of p99-ms"), "title missing");
    let (status, why) = fetch(link.clone(), "limited-token").await;
    assert_eq!(status, 403, "{why}");
    assert!(why.contains("may only name templates"), "{why}");
    let file = serde_json::json!({"metrics": [{"name": "m", "method": "welch",
        "canary": {"file": "/etc/passwd"}, "baseline": {"values": [1.0, 2.0]}}]});
    let file_link = canary_judge::report::link::url(
        &s.http,
        canary_judge::report::link::Subject::Config(&file),
        100,
        200,
        &Default::default(),
    )
    .unwrap();
    let (status, why) = fetch(file_link, "argo-token").await;
    assert!((400..500).contains(&status), "{status} {why}");
    assert!(why.contains("file"), "{why}");
    assert!(!why.contains("root:"), "{why}");
    let (status, why) = fetch(format!("{link}&template=inline-pass"), "argo-token").await;
    assert_eq!(status, 400, "{why}");
}

#[test]
fn a_report_base_url_that_is_not_http_is_refused() {
    let dir = tmpdir("windows-report-bad");
    let cfg = write_config(
        &dir,
        &CONFIG.replace("@MODE@", ", report_base_url: \"file:///etc\""),
    );
    let err = refused(&cfg, &[]);
    assert!(err.contains("server.report_base_url"), "{err}");
}
