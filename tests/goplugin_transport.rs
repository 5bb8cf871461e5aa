//! End-to-end checks of the go-plugin transport with the example plugin
//! (`examples/goplugin_echo.rs`): a raw-frame host written here (always runs) and the real
//! hashicorp/go-plugin hosts in `tests/goplugin-host` (run when `go` is installed; set
//! `GOPLUGIN_IDLE_SECONDS=80` to add the idle gap that trips yamux's 75 s StreamOpenTimeout).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use canary_judge::gob::{Decoder, Encoder, Schema, Value};
use canary_judge::goplugin::frame::*;
use canary_judge::goplugin::netrpc::request_schema;

const COOKIE: (&str, &str) = ("GOPLUGIN_ECHO_COOKIE", "echo");

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Build the example (cheap when up to date) and return its path.
fn example_bin() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>/examples/goplugin_echo; build the
    // example in the same profile as this test (`cargo test --release` looks in release/).
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let mut args = vec!["build", "--quiet", "--example", "goplugin_echo"];
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        args.push("--release");
    }
    let status = Command::new(cargo)
        .args(&args)
        .current_dir(manifest_dir())
        .status()
        .expect("run cargo build --example");
    assert!(status.success(), "building the example failed");
    let bin = profile_dir.join("examples").join("goplugin_echo");
    assert!(bin.exists(), "{} missing", bin.display());
    bin
}

fn read_frame(s: &mut UnixStream) -> (Header, Vec<u8>) {
    let mut b = [0u8; HEADER_LEN];
    s.read_exact(&mut b).unwrap();
    let h = Header::decode(&b).unwrap();
    let mut p = vec![
        0u8;
        if h.kind == TYPE_DATA {
            h.length as usize
        } else {
            0
        }
    ];
    s.read_exact(&mut p).unwrap();
    (h, p)
}

fn write_frame(s: &mut UnixStream, h: Header, p: &[u8]) {
    s.write_all(&h.encode()).unwrap();
    s.write_all(p).unwrap();
}

/// Collect Data payload on `stream` until a whole response header + body decode.
fn read_response(s: &mut UnixStream, dec: &mut Decoder, buf: &mut Vec<u8>) -> (Value, Value) {
    let mut out = Vec::new();
    while out.len() < 2 {
        if let Some((v, n)) = dec.decode_next(buf).unwrap() {
            buf.drain(..n);
            out.push(v);
            continue;
        }
        let (h, p) = read_frame(s);
        if h.kind == TYPE_DATA && h.stream_id == 1 {
            buf.extend_from_slice(&p);
        }
    }
    let body = out.pop().unwrap();
    (out.pop().unwrap(), body)
}

#[test]
fn raw_host_handshake_acks_ping_and_quit() {
    let bin = example_bin();
    let sock_dir = tempdir("raw");
    let mut child = Command::new(&bin)
        .env(COOKIE.0, COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "1")
        .env("PLUGIN_UNIX_SOCKET_DIR", &sock_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let parts: Vec<&str> = line.trim_end_matches('\n').split('|').collect();
    assert_eq!(parts.len(), 6, "{line:?}");
    assert_eq!(
        (parts[0], parts[1], parts[2], parts[4], parts[5]),
        ("1", "1", "unix", "netrpc", "")
    );
    let path = PathBuf::from(parts[3]);
    assert!(
        path.starts_with(&sock_dir),
        "{path:?} not in PLUGIN_UNIX_SOCKET_DIR"
    );
    assert!(
        path.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("plugin")
    );

    let mut s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let t0 = Instant::now();
    for id in [1, 3, 5] {
        write_frame(
            &mut s,
            Header::new(TYPE_WINDOW_UPDATE, FLAG_SYN, id, 0),
            &[],
        );
    }
    for id in [1, 3, 5] {
        let (h, _) = read_frame(&mut s);
        assert_eq!(h, Header::new(TYPE_WINDOW_UPDATE, FLAG_ACK, id, 0));
    }
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "ACKs took {:?}",
        t0.elapsed()
    );

    write_frame(&mut s, Header::new(TYPE_PING, FLAG_SYN, 0, 77), &[]);
    assert_eq!(
        read_frame(&mut s).0,
        Header::new(TYPE_PING, FLAG_ACK, 0, 77)
    );

    let mut enc = Encoder::new();
    let mut dec = Decoder::new();
    let mut buf = Vec::new();
    for (seq, method) in [(0u64, "Control.Ping"), (1, "Control.Quit")] {
        let mut fields = vec![("ServiceMethod".to_string(), Value::String(method.into()))];
        fields.push(("Seq".to_string(), Value::Uint(seq)));
        let mut msg = enc
            .encode(&request_schema(), &Value::Struct(fields))
            .unwrap();
        msg.extend(enc.encode(&Schema::Bool, &Value::Bool(true)).unwrap());
        write_frame(&mut s, Header::new(TYPE_DATA, 0, 1, msg.len() as u32), &msg);
        let (hdr, body) = read_response(&mut s, &mut dec, &mut buf);
        assert_eq!(
            hdr.field("ServiceMethod").and_then(Value::as_str),
            Some(method)
        );
        assert_eq!(hdr.field("Error"), None, "{hdr:?}");
        assert_eq!(body, Value::Struct(Vec::new()));
    }
    let quit_at = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            quit_at.elapsed() < Duration::from_secs(2),
            "no exit within 2 s of Quit"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status:?}");
    assert!(!path.exists(), "socket file left behind");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "stdout must carry only the handshake line");
    let _ = std::fs::remove_dir_all(&sock_dir);
}

#[test]
fn refuses_to_run_without_the_cookie() {
    let out = Command::new(example_bin())
        .env_remove(COOKIE.0)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("This binary is a plugin"));
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("goplugin-test-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_go_host(dir: &Path, bin: &Path) {
    let mut cmd = Command::new("go");
    cmd.args(["run", "."])
        .current_dir(dir)
        .env("PLUGIN_BIN", bin);
    if let Ok(idle) = std::env::var("GOPLUGIN_IDLE_SECONDS") {
        cmd.env("IDLE_SECONDS", idle);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("--- {} ---\n{text}", dir.display());
    assert!(
        out.status.success() && text.contains("RESULT: PASS"),
        "go host failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn have_go() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn go_plugin_v1_6_host_with_yamux_v0_1_1() {
    if !have_go() {
        eprintln!("skipped: no go toolchain");
        return;
    }
    run_go_host(&manifest_dir().join("tests/goplugin-host"), &example_bin());
}

#[test]
fn go_plugin_v1_4_host_with_2018_yamux() {
    if !have_go() {
        eprintln!("skipped: no go toolchain");
        return;
    }
    run_go_host(
        &manifest_dir().join("tests/goplugin-host/v14"),
        &example_bin(),
    );
}

/// go-plugin v1.6's real client through a fault-injecting proxy (`tests/goplugin-host/faults`):
/// split, coalesced and delayed writes, an exhausted window, a stream reset mid-call and
/// half-closed sessions. Every call completes or fails, none hangs, the plugin never crashes
/// and keeps serving after recoverable faults. `FAULT_ROUNDS` (default 2) and `FAULT_SEED`
/// pass through for longer runs.
#[test]
fn go_plugin_host_through_fault_injecting_proxy() {
    if !have_go() {
        eprintln!("skipped: no go toolchain");
        return;
    }
    let bin = example_bin();
    let mut cmd = Command::new("go");
    cmd.args(["run", "./faults"])
        .current_dir(manifest_dir().join("tests/goplugin-host"))
        .env("PLUGIN_BIN", &bin);
    for var in ["FAULT_ROUNDS", "FAULT_SEED"] {
        if let Ok(v) = std::env::var(var) {
            cmd.env(var, v);
        }
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("--- faults ---\n{text}");
    assert!(
        out.status.success() && text.contains("RESULT: PASS"),
        "fault-injection host failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
