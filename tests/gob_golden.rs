//! Golden tests for the gob codec against bytes recorded from Go's real `encoding/gob` and
//! `net/rpc` with the real Argo Rollouts v1.9 types (see `tests/gob-golden/`, regenerate with
//! `cd tests/gob-golden && go run .`). The decoder must read every recorded host stream; the
//! encoder must reproduce Go's reply bytes, and what it writes must decode in real Go.

use std::path::{Path, PathBuf};
use std::process::Command;

use canary_judge::gob::{DecodeError, Decoder, Encoder, GoTime, Schema, Value};

fn golden(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/gob")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Decode every value in `bytes`, checking the incremental contract on the way: each proper
/// prefix of a value yields `Ok(None)` (checked for all prefixes of small values, sampled for
/// big ones) and nothing is learnt from it.
fn decode_all(bytes: &[u8]) -> Vec<Value> {
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let (v, used) = dec
            .clone()
            .decode_next(rest)
            .unwrap()
            .expect("complete value");
        let step = (used / 64).max(1);
        for cut in (0..used).step_by(step) {
            let mut probe = dec.clone();
            assert_eq!(
                probe.decode_next(&rest[..cut]).unwrap(),
                None,
                "prefix {cut} of {used}"
            );
        }
        // Skipping the same value from the same state consumes the same bytes.
        assert_eq!(dec.clone().skip_next(rest).unwrap(), Some(used));
        let (again, used2) = dec.decode_next(rest).unwrap().unwrap();
        assert_eq!((&again, used2), (&v, used));
        out.push(v);
        pos += used;
    }
    out
}

fn path<'a>(v: &'a Value, fields: &[&str]) -> &'a Value {
    let mut cur = v;
    for f in fields {
        cur = cur
            .field(f)
            .unwrap_or_else(|| panic!("field {f} missing in {cur:?}"));
    }
    cur
}

fn s<'a>(v: &'a Value, fields: &[&str]) -> &'a str {
    path(v, fields).as_str().expect("string")
}

fn time(v: &Value, fields: &[&str]) -> GoTime {
    path(v, fields).as_go_time().expect("time")
}

fn map_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn slice(v: &Value) -> &[Value] {
    match v {
        Value::Slice(items) => items,
        other => panic!("not a slice: {other:?}"),
    }
}

fn iface(v: &Value) -> (&str, &Value) {
    match v {
        Value::Interface(Some((name, inner))) => (name, inner),
        other => panic!("not a non-nil interface: {other:?}"),
    }
}

const T0: i64 = 1_704_164_645; // 2024-01-02T03:04:05Z
const T1_NANOS: u32 = 123_456_789; // t1 = t0 + 30.123456789 s

fn check_metric(m: &Value) {
    assert_eq!(s(m, &["Name"]), "error-rate");
    assert_eq!(s(m, &["Interval"]), "30s");
    assert_eq!(s(m, &["SuccessCondition"]), r#"result == "Pass""#);
    // intstr.FromInt32(3): Type 0 omitted, IntVal 3.
    assert_eq!(
        path(m, &["Count"]),
        &Value::Struct(vec![("IntVal".into(), Value::Int(3))])
    );
    assert_eq!(path(m, &["FailureLimit", "Type"]), &Value::Int(1));
    assert_eq!(s(m, &["FailureLimit", "StrVal"]), "1");
    let plugin = path(m, &["Provider", "Plugin"]);
    let cfg = map_get(plugin, "canary-judge/judge").expect("plugin config");
    assert_eq!(
        cfg.as_bytes().unwrap(),
        br#"{"method":"welch","canary":{"query":"rate(errors[1m])"}}"#
    );
    // Nil provider pointers are absent.
    assert!(path(m, &["Provider"]).field("Prometheus").is_none());
    assert!(path(m, &["Provider"]).field("Job").is_none());
}

fn check_analysis_run(ar: &Value) {
    let meta = path(ar, &["ObjectMeta"]);
    assert_eq!(s(meta, &["Name"]), "checkout-7d9f-2-judge");
    assert_eq!(s(meta, &["Namespace"]), "shop");
    assert_eq!(s(meta, &["UID"]), "6f1c2a7e-1111-4c2d-9e3f-0123456789ab");
    assert_eq!(path(meta, &["Generation"]), &Value::Int(2));
    // A Local zone that is UTC travels with offset 0, not Go's UTC marker.
    assert_eq!(
        time(meta, &["CreationTimestamp"]),
        GoTime {
            unix_seconds: T0,
            nanos: 0,
            offset_seconds: Some(0)
        }
    );
    assert_eq!(
        map_get(path(meta, &["Labels"]), "rollouts-pod-template-hash"),
        Some(&Value::String("7d9f".into()))
    );
    assert_eq!(
        map_get(path(meta, &["Annotations"]), "rollout.argoproj.io/revision"),
        Some(&Value::String("2".into()))
    );
    let owner = &slice(path(meta, &["OwnerReferences"]))[0];
    assert_eq!(s(owner, &["Kind"]), "Rollout");
    let mf = &slice(path(meta, &["ManagedFields"]))[0];
    assert_eq!(s(mf, &["Manager"]), "rollouts-controller");
    assert_eq!(s(mf, &["Operation"]), "Update");
    assert_eq!(
        path(mf, &["FieldsV1", "Raw"]).as_bytes().unwrap(),
        br#"{"f:status":{".":{}}}"#
    );
    assert_eq!(time(mf, &["Time"]).offset_seconds, None);
    // TypeMeta is an all-zero nested struct: sent, empty.
    assert_eq!(path(ar, &["TypeMeta"]), &Value::Struct(vec![]));

    let spec = path(ar, &["Spec"]);
    check_metric(&slice(path(spec, &["Metrics"]))[0]);
    let args = slice(path(spec, &["Args"]));
    assert_eq!(s(&args[0], &["Name"]), "service");
    assert_eq!(s(&args[0], &["Value"]), "checkout");
    assert_eq!(s(&args[1], &["ValueFrom", "SecretKeyRef", "Name"]), "judge");
    assert_eq!(s(&args[1], &["ValueFrom", "SecretKeyRef", "Key"]), "token");
    assert!(args[1].field("Value").is_none());

    let status = path(ar, &["Status"]);
    assert_eq!(s(status, &["Phase"]), "Running");
    assert_eq!(time(status, &["StartedAt"]).unix_seconds, T0);
    let mr = &slice(path(status, &["MetricResults"]))[0];
    assert_eq!(s(mr, &["Name"]), "error-rate");
    assert_eq!(path(mr, &["Count"]), &Value::Int(1));
    assert_eq!(
        map_get(path(mr, &["Metadata"]), "judge"),
        Some(&Value::String("welch".into()))
    );
    let prev = &slice(path(mr, &["Measurements"]))[0];
    assert_eq!(s(prev, &["Phase"]), "Successful");
    assert_eq!(s(prev, &["Value"]), "Pass");
    assert_eq!(time(prev, &["FinishedAt"]).unix_seconds, T0 + 2);
    assert_eq!(
        map_get(path(prev, &["Metadata"]), "p_value"),
        Some(&Value::String("0.42".into()))
    );
    assert_eq!(
        path(status, &["RunSummary"]),
        &Value::Struct(vec![
            ("Count".into(), Value::Int(1)),
            ("Successful".into(), Value::Int(1))
        ])
    );
}

fn check_last_measurement(m: &Value) {
    assert_eq!(s(m, &["Phase"]), "Running");
    assert_eq!(time(m, &["StartedAt"]).unix_seconds, T0 + 30);
    assert_eq!(time(m, &["ResumeAt"]).unix_seconds, T0 + 60);
    assert_eq!(
        map_get(path(m, &["Metadata"]), "state"),
        Some(&Value::String("step-2".into()))
    );
    assert!(m.field("FinishedAt").is_none());
}

#[test]
fn decodes_the_controllers_request_stream() {
    let bytes = golden("host_requests.bin");
    let values = decode_all(&bytes);
    assert_eq!(values.len(), 16, "8 calls, header + argument each");
    let methods: Vec<&str> = values
        .iter()
        .step_by(2)
        .map(|h| s(h, &["ServiceMethod"]))
        .collect();
    assert_eq!(
        methods,
        [
            "Plugin.InitPlugin",
            "Plugin.Run",
            "Plugin.Resume",
            "Plugin.Terminate",
            "Plugin.GarbageCollect",
            "Plugin.GetMetadata",
            "Plugin.Type",
            "Plugin.Nope"
        ]
    );
    // Seq 0 is omitted on the wire; the others count up.
    assert!(values[0].field("Seq").is_none());
    for (i, h) in values.iter().step_by(2).enumerate().skip(1) {
        assert_eq!(h.field("Seq"), Some(&Value::Uint(i as u64)));
    }
    assert_eq!(
        values[1],
        Value::Interface(None),
        "InitPlugin passes new(any)"
    );

    let (name, run) = iface(&values[3]);
    assert_eq!(name, "RunArgs");
    check_analysis_run(path(run, &["AnalysisRun"]));
    check_metric(path(run, &["Metric"]));

    for idx in [5, 7] {
        let (name, args) = iface(&values[idx]);
        assert_eq!(name, "TerminateAndResumeArgs");
        check_analysis_run(path(args, &["AnalysisRun"]));
        check_metric(path(args, &["Metric"]));
        check_last_measurement(path(args, &["Measurement"]));
    }
    let (name, gc) = iface(&values[9]);
    assert_eq!(name, "GarbageCollectArgs");
    assert_eq!(path(gc, &["Limit"]), &Value::Int(10));
    check_analysis_run(path(gc, &["AnalysisRun"]));
    let (name, md) = iface(&values[11]);
    assert_eq!(name, "GetMetadataArgs");
    check_metric(path(md, &["Metric"]));
    assert_eq!(values[13], Value::Interface(None), "Type passes new(any)");
    assert_eq!(values[15], Value::String("x".into()));
}

#[test]
fn run_argument_spans_many_messages_and_carries_the_job_type_tree() {
    let bytes = golden("host_requests.bin");
    let mut dec = Decoder::new();
    let mut pos = 0;
    for _ in 0..3 {
        pos += dec.decode_next(&bytes[pos..]).unwrap().unwrap().1;
    }
    let (_, used) = dec.decode_next(&bytes[pos..]).unwrap().unwrap();
    // Count the length-prefixed messages the RunArgs value used.
    let mut messages = 0;
    let mut p = pos;
    while p < pos + used {
        let (len, hdr) = match bytes[p] {
            b if b < 0x80 => (b as usize, 1),
            b => {
                let n = (b as i8).unsigned_abs() as usize;
                (
                    bytes[p + 1..p + 1 + n]
                        .iter()
                        .fold(0usize, |a, &x| a << 8 | x as usize),
                    1 + n,
                )
            }
        };
        p += hdr + len;
        messages += 1;
    }
    assert_eq!(p, pos + used);
    assert!(
        messages > 100,
        "real v1.9 types send the whole Job/Pod tree: {messages} messages"
    );
    // The decoder learnt the Pod types (e.g. a struct named PodSpec) even though no value used them.
    let learnt: Vec<String> = (64..2000)
        .filter_map(|id| match dec.wire_type(id) {
            Some(canary_judge::gob::WireType::Struct { name, .. }) => Some(name.clone()),
            _ => None,
        })
        .collect();
    for expected in [
        "RunArgs",
        "AnalysisRun",
        "Metric",
        "MetricProvider",
        "PodSpec",
        "Container",
    ] {
        assert!(
            learnt.iter().any(|n| n == expected),
            "{expected} not learnt"
        );
    }
}

#[test]
fn decodes_the_plugins_reply_stream() {
    let values = decode_all(&golden("plugin_replies.bin"));
    assert_eq!(values.len(), 16);
    assert_eq!(values[1], Value::Struct(vec![]), "InitPlugin: RpcError{{}}");
    let run = &values[3];
    assert_eq!(s(run, &["Phase"]), "Successful");
    assert_eq!(
        time(run, &["FinishedAt"]),
        GoTime {
            unix_seconds: T0 + 30,
            nanos: T1_NANOS,
            offset_seconds: None
        }
    );
    let resumed = &values[5];
    assert_eq!(s(resumed, &["Phase"]), "Inconclusive");
    assert_eq!(s(resumed, &["Message"]), "not enough data");
    assert_eq!(
        time(resumed, &["FinishedAt"]),
        GoTime {
            unix_seconds: T0 + 30,
            nanos: T1_NANOS,
            offset_seconds: Some(19_800)
        }
    );
    assert!(values[7].field("Metadata").is_none(), "nil map omitted");
    assert_eq!(s(&values[9], &["ErrorString"]), "not-implemented");
    assert_eq!(
        map_get(&values[11], "judge"),
        Some(&Value::String("welch".into()))
    );
    assert_eq!(values[13], Value::String("RPCPlugin".into()));
    assert_eq!(
        s(&values[14], &["Error"]),
        "rpc: can't find method Plugin.Nope"
    );
    assert_eq!(
        values[15],
        Value::Struct(vec![]),
        "error body is struct{{}}"
    );
}

// ---- encoder ----

fn time_schema() -> Schema {
    Schema::GobEncoder {
        name: "Time".into(),
    }
}

fn measurement_schema() -> Schema {
    Schema::Struct {
        name: "Measurement".into(),
        fields: vec![
            ("Phase".into(), Schema::String),
            ("Message".into(), Schema::String),
            ("StartedAt".into(), time_schema()),
            ("FinishedAt".into(), time_schema()),
            ("Value".into(), Schema::String),
            (
                "Metadata".into(),
                Schema::Map(Box::new(Schema::String), Box::new(Schema::String)),
            ),
            ("ResumeAt".into(), time_schema()),
        ],
    }
}

fn response_schema() -> Schema {
    Schema::Struct {
        name: "Response".into(),
        fields: vec![
            ("ServiceMethod".into(), Schema::String),
            ("Seq".into(), Schema::Uint),
            ("Error".into(), Schema::String),
        ],
    }
}

fn rpc_error_schema() -> Schema {
    Schema::Struct {
        name: "RpcError".into(),
        fields: vec![("ErrorString".into(), Schema::String)],
    }
}

fn map_schema() -> Schema {
    Schema::Map(Box::new(Schema::String), Box::new(Schema::String))
}

fn empty_struct_schema() -> Schema {
    Schema::Struct {
        name: String::new(),
        fields: vec![],
    }
}

fn st(fields: Vec<(&str, Value)>) -> Value {
    Value::Struct(
        fields
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
    )
}

fn t(unix_seconds: i64, nanos: u32, offset_seconds: Option<i32>) -> Value {
    Value::Encoded(
        GoTime {
            unix_seconds,
            nanos,
            offset_seconds,
        }
        .to_go_bytes(),
    )
}

fn str_v(x: &str) -> Value {
    Value::String(x.into())
}

/// (golden name, schema, value, Go verifier kind, whether Go's definitions can be matched).
fn reply_cases() -> Vec<(&'static str, Schema, Value, &'static str, bool)> {
    let ist = Some(5 * 3600 + 30 * 60);
    let odd = Some(-(4 * 3600 + 56 * 60 + 2));
    vec![
        (
            "response_header",
            response_schema(),
            st(vec![
                ("ServiceMethod", str_v("Plugin.Run")),
                ("Seq", Value::Uint(1)),
            ]),
            "response",
            true,
        ),
        (
            "response_header_error",
            response_schema(),
            st(vec![
                ("ServiceMethod", str_v("Plugin.Fail")),
                ("Seq", Value::Uint(6)),
                ("Error", str_v("boom")),
            ]),
            "response",
            true,
        ),
        (
            "measurement_utc",
            measurement_schema(),
            st(vec![
                ("Phase", str_v("Successful")),
                ("StartedAt", t(T0, 0, None)),
                ("FinishedAt", t(T0 + 30, T1_NANOS, None)),
                ("Value", str_v("0.93")),
            ]),
            "measurement",
            false,
        ),
        (
            "measurement_offset",
            measurement_schema(),
            st(vec![
                ("Phase", str_v("Failed")),
                ("Message", str_v("canary worse")),
                ("StartedAt", t(T0, 0, ist)),
                ("FinishedAt", t(T0 + 30, T1_NANOS, odd)),
            ]),
            "measurement",
            false,
        ),
        (
            "measurement_metadata",
            measurement_schema(),
            st(vec![
                ("Phase", str_v("Running")),
                ("StartedAt", t(T0, 0, None)),
                (
                    "Metadata",
                    Value::Map(vec![(str_v("state"), str_v("step-2"))]),
                ),
                ("ResumeAt", t(T0 + 30, T1_NANOS, None)),
            ]),
            "measurement",
            false,
        ),
        (
            "measurement_empty",
            measurement_schema(),
            st(vec![]),
            "measurement",
            false,
        ),
        (
            "rpcerror_empty",
            rpc_error_schema(),
            st(vec![]),
            "rpcerror",
            true,
        ),
        (
            "rpcerror_x",
            rpc_error_schema(),
            st(vec![("ErrorString", str_v("x"))]),
            "rpcerror",
            true,
        ),
        ("map_nil", map_schema(), Value::Map(vec![]), "map", true),
        ("map_empty", map_schema(), Value::Map(vec![]), "map", true),
        (
            "map_one",
            map_schema(),
            Value::Map(vec![(str_v("k"), str_v("v"))]),
            "map",
            true,
        ),
        ("string", Schema::String, str_v("RPCPlugin"), "string", true),
        ("uint32", Schema::Uint, Value::Uint(1), "uint32", true),
        (
            "empty_struct",
            empty_struct_schema(),
            st(vec![]),
            "empty",
            true,
        ),
    ]
}

/// Split a stream into its messages (length prefix included).
fn messages(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < bytes.len() {
        let (len, hdr) = match bytes[p] {
            b if b < 0x80 => (b as usize, 1),
            b => {
                let n = (b as i8).unsigned_abs() as usize;
                (
                    bytes[p + 1..p + 1 + n]
                        .iter()
                        .fold(0usize, |a, &x| a << 8 | x as usize),
                    1 + n,
                )
            }
        };
        out.push(&bytes[p..p + hdr + len]);
        p += hdr + len;
    }
    out
}

#[test]
fn encoder_reproduces_go_reply_bytes() {
    for (name, schema, value, _, whole) in reply_cases() {
        let go = golden(&format!("reply_{name}.bin"));
        let rust = Encoder::new().encode(&schema, &value).unwrap();
        if whole {
            assert_eq!(rust, go, "{name}: whole stream differs from Go's");
        } else {
            // Go describes *metav1.Time with a nameless GobEncoderT plus an extra unused "Time"
            // definition for the embedded time.Time; we send one plain GobEncoderT. The struct
            // definition and the value message are byte-identical.
            let (g, r) = (messages(&go), messages(&rust));
            assert_eq!(
                r.first(),
                g.first(),
                "{name}: Measurement definition differs"
            );
            assert_eq!(r.last(), g.last(), "{name}: value message differs");
            assert_eq!(r.get(2), g.get(3), "{name}: map definition differs");
        }
        // And our decoder reads Go's bytes back to the value we encoded (maps: nil == empty).
        let (decoded, used) = Decoder::new().decode_next(&go).unwrap().unwrap();
        assert_eq!(used, go.len());
        assert_eq!(decoded, value, "{name}: decoding Go's bytes");
    }
}

#[test]
fn one_encoder_stream_sends_each_definition_once() {
    let mut enc = Encoder::new();
    let mut stream = Vec::new();
    let header = st(vec![
        ("ServiceMethod", str_v("Plugin.Run")),
        ("Seq", Value::Uint(1)),
    ]);
    let m = st(vec![
        ("Phase", str_v("Successful")),
        ("StartedAt", t(T0, 0, None)),
    ]);
    stream.extend(enc.encode(&response_schema(), &header).unwrap());
    stream.extend(enc.encode(&measurement_schema(), &m).unwrap());
    let second_header = enc.encode(&response_schema(), &header).unwrap();
    assert_eq!(messages(&second_header).len(), 1, "no repeated definition");
    stream.extend(second_header);
    let second_m = enc.encode(&measurement_schema(), &m).unwrap();
    assert_eq!(messages(&second_m).len(), 1);
    stream.extend(second_m);
    let values = decode_all(&stream);
    assert_eq!(values, vec![header.clone(), m.clone(), header, m]);
}

fn go_verifier_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gob-golden")
}

#[test]
fn go_decodes_what_the_rust_encoder_writes() {
    if Command::new("go").arg("version").output().is_err() {
        eprintln!("go not installed: skipping the real-gob verification");
        return;
    }
    // One stream, as a plugin would write replies: header then body, for every case, plus a
    // multi-key map whose order Go would randomise.
    let mut enc = Encoder::new();
    let mut bytes = Vec::new();
    let mut kinds = Vec::new();
    let mut cases = reply_cases();
    cases.push((
        "map_many",
        map_schema(),
        Value::Map(
            (0..20)
                .map(|i| (str_v(&format!("k{i}")), str_v(&format!("v{i}"))))
                .collect(),
        ),
        "map",
        false,
    ));
    for (i, (_, schema, value, kind, _)) in cases.iter().enumerate() {
        let header = st(vec![
            ("ServiceMethod", str_v("Plugin.Run")),
            ("Seq", Value::Uint(i as u64)),
        ]);
        bytes.extend(enc.encode(&response_schema(), &header).unwrap());
        kinds.push("response");
        bytes.extend(enc.encode(schema, value).unwrap());
        kinds.push(kind);
    }
    let dir = std::env::temp_dir().join(format!("gob-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rust_stream.bin");
    std::fs::write(&file, &bytes).unwrap();
    let out = Command::new("go")
        .args(["run", ".", "verify"])
        .arg(&file)
        .args(&kinds)
        .current_dir(go_verifier_dir())
        .output()
        .expect("run go verifier");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Go rejected the Rust stream:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Spot-check what Go saw.
    assert!(
        stdout.contains(
            r#"phase="Failed" message="canary worse" startedAt=2024-01-02T08:34:05+05:30"#
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("finishedAt=2024-01-02T03:04:35.123456789Z value=\"0.93\""),
        "{stdout}"
    );
    assert!(stdout.contains("map[k0:v0 k1:v1 k10:v10"), "{stdout}");
    assert!(stdout.contains("15 rpcerror: x\n"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hostile_inputs_are_rejected_without_allocating() {
    // A length prefix of 2^63 is refused before any buffering.
    let huge = [0xf8, 0x80, 0, 0, 0, 0, 0, 0, 0];
    assert!(matches!(
        Decoder::new().decode_next(&huge),
        Err(DecodeError::MessageTooLarge {
            len: 0x8000_0000_0000_0000,
            limit: 67_108_864
        })
    ));
    assert_eq!(
        Decoder::new().decode_next(&huge).unwrap_err().to_string(),
        "gob: message length 9223372036854775808 exceeds limit 67108864"
    );
    // A []byte value claiming 2^60 elements inside a small message.
    let msg = [0x0b, 0x0a, 0x00, 0xf8, 0x10, 0, 0, 0, 0, 0, 0, 0];
    assert!(matches!(
        Decoder::new().decode_next(&msg),
        Err(DecodeError::LengthExceedsInput { .. })
    ));
    // A value of an undefined type id.
    assert_eq!(
        Decoder::new()
            .decode_next(&[0x03, 0xff, 0x8c, 0x00])
            .unwrap_err()
            .to_string(),
        "gob: type id 70 used before definition"
    );
}
