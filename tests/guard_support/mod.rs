//! Shared helpers of the guard integration tests: a release tree in a fresh temp directory,
//! the Python test application (tests/fixtures/guard-app/app.py), the real `canary-judge`
//! binary as guard, a raw HTTP/1.1 client, and a reader loop that resolves `current`
//! continuously and counts every moment it was missing or dangling.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_canary-judge");

pub struct Env {
    pub dir: PathBuf,
    pub root: PathBuf,
    children: Vec<Child>,
    is_guard: Vec<bool>,
}

impl Env {
    pub fn new(name: &str) -> Env {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("cj-guard-{name}-{}-{nanos}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("releases")).unwrap();
        Env {
            dir,
            root,
            children: Vec::new(),
            is_guard: Vec::new(),
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".guard")
    }

    /// A release directory with `config/app.json`.
    pub fn release(&self, version: &str, app: Value) {
        let d = self.root.join("releases").join(version).join("config");
        std::fs::create_dir_all(&d).unwrap();
        let mut app = app;
        app["version"] = Value::String(version.to_string());
        std::fs::write(d.join("app.json"), serde_json::to_vec_pretty(&app).unwrap()).unwrap();
    }

    pub fn point_current(&self, version: &str) {
        std::os::unix::fs::symlink(format!("releases/{version}"), self.root.join("current"))
            .unwrap();
    }

    pub fn current(&self) -> Option<String> {
        let t = std::fs::read_link(self.root.join("current")).ok()?;
        Some(t.file_name()?.to_string_lossy().into_owned())
    }

    /// Start the test application; returns its port.
    pub fn start_app(&mut self) -> u16 {
        let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/guard-app/app.py");
        let port_file = self.dir.join("app.port");
        let child = Command::new("python3")
            .arg(app)
            .arg("--root")
            .arg(&self.root)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--pid-file")
            .arg(self.dir.join("app.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed for the guard tests");
        self.children.push(child);
        self.is_guard.push(false);
        let port = wait_for(Duration::from_secs(20), || {
            std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse::<u16>().ok())
        });
        port.expect("test app did not start")
    }

    /// Write the analysis template and schema, then a guard config; `extra` is appended.
    pub fn guard_config(&self, port: u16, duration: &str, extra: &str) -> PathBuf {
        std::fs::write(self.dir.join("analysis.yaml"), ANALYSIS).unwrap();
        std::fs::write(self.dir.join("schema.json"), SCHEMA).unwrap();
        let text = format!(
            "root: root\napp:\n  url: http://127.0.0.1:{port}\n  startup_grace: 1s\n  request_timeout: 1s\n\
reload:\n  pid_file: app.pid\n  signal: HUP\njudge:\n  analysis: analysis.yaml\n  duration: {duration}\n  interval: 200ms\n  health_failures: 2\n{extra}"
        );
        let p = self.dir.join("guard.yaml");
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn start_guard(&mut self, config: &Path) {
        self.start_guard_with(config, &[]);
    }

    pub fn start_guard_with(&mut self, config: &Path, envs: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("guard.log"))
            .unwrap();
        let child = Command::new(BIN)
            .args(["guard", "--config"])
            .arg(config)
            .arg("run")
            .env("CANARY_JUDGE_LOG", "info")
            .env("GUARD_TEST_TOKEN", "s3cret-token")
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children.push(child);
        self.is_guard.push(true);
    }

    /// SIGKILL every guard started so far (the app keeps running).
    pub fn stop_guards(&mut self) {
        for (c, is_guard) in self.children.iter_mut().zip(self.is_guard.iter()) {
            if *is_guard {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    pub fn guard_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("guard.log")).unwrap_or_default()
    }

    pub fn guard_cmd(&self, config: &Path, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(["guard", "--config"])
            .arg(config)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn state(&self) -> Value {
        std::fs::read_to_string(self.state_dir().join("state.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    }

    pub fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.state_dir().join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Wait until the state satisfies `f`, failing with the guard log.
    pub fn wait_state(&self, what: &str, secs: u64, f: impl Fn(&Value) -> bool) -> Value {
        match wait_for(Duration::from_secs(secs), || {
            let s = self.state();
            f(&s).then_some(s)
        }) {
            Some(s) => s,
            None => panic!(
                "timed out waiting for {what}\nstate: {}\naudit: {:#?}\nlog:\n{}",
                self.state(),
                self.audit(),
                self.guard_log()
            ),
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads `current` in a tight loop: every failure to resolve it to an existing directory is
/// counted.
pub struct LinkReader {
    stop: Arc<AtomicBool>,
    pub reads: Arc<AtomicU64>,
    pub failures: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl LinkReader {
    pub fn start(root: &Path) -> LinkReader {
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicU64::new(0));
        let cur = root.join("current");
        let (s, r, f) = (stop.clone(), reads.clone(), failures.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                // metadata() follows the link: missing link and dangling link both fail.
                let ok = std::fs::metadata(&cur).map(|m| m.is_dir()).unwrap_or(false);
                r.fetch_add(1, Ordering::Relaxed);
                if !ok {
                    f.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        LinkReader {
            stop,
            reads,
            failures,
            handle: Some(handle),
        }
    }

    /// Stop and return (reads, failures).
    pub fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
        (
            self.reads.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }
}

/// One HTTP/1.1 request over a fresh connection; returns (status, headers+body text).
pub fn http(port: u16, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

pub fn body(resp: &str) -> &str {
    resp.split("\r\n\r\n").nth(1).unwrap_or("")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The analysis template of the tests (scrape mode): a fixed error-ratio bound (critical), a
/// latency bound, and errors against traffic compared with the last good release's recorded
/// series (anytime-valid count test, weight 3 so a failure sinks the score).
pub const ANALYSIS: &str = r#"
scoring:
  mode: kayenta
  pass: 75
  marginal: 50
metrics:
  - name: error-ratio
    method: threshold
    critical: true
    params: {aggregate: mean, max: 0.1}
    canary: {query: app_error_ratio}
  - name: latency
    method: threshold
    params: {aggregate: mean, max: 100}
    canary: {query: app_latency_ms}
  - name: errors-vs-baseline
    method: count-sequential
    weight: 3
    margin: 0.2
    canary:
      events: {query: app_errors_total}
      traffic: {query: app_requests_total}
    baseline:
      events: {query: app_errors_total}
      traffic: {query: app_requests_total}
"#;

pub const SCHEMA: &str = r#"{"required": ["version", "error_rate"],
 "properties": {"version": {"type": "string"}, "error_rate": {"type": "number"}}}"#;
