//! Unit tests of the plugin methods.

use super::*;

/// The tests drive the async methods from plain `#[test]`s.
fn block<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

impl JudgePlugin {
    pub(crate) fn run(&self, arg: &Value) -> Measurement {
        block(self.run_async(arg))
    }
    pub(crate) fn resume(&self, arg: &Value) -> Measurement {
        block(self.resume_async(arg))
    }
    pub(crate) fn dispatch_blocking(&self, method: &str, arg: &Value) -> Result<Reply, String> {
        block(self.dispatch(method, arg))
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

fn metric_value(config: &str, success: &str, failure: &str) -> Value {
    st(vec![
        ("Name", Value::String("judge".into())),
        ("SuccessCondition", Value::String(success.into())),
        ("FailureCondition", Value::String(failure.into())),
        (
            "Provider",
            st(vec![(
                "Plugin",
                Value::Map(vec![(
                    Value::String(DOCUMENTED_PLUGIN_NAME.into()),
                    Value::Bytes(config.as_bytes().to_vec()),
                )]),
            )]),
        ),
    ])
}

fn run_args(config: &str, success: &str, failure: &str) -> Value {
    Value::Interface(Some((
        "RunArgs".into(),
        Box::new(st(vec![
            (
                "AnalysisRun",
                st(vec![(
                    "ObjectMeta",
                    st(vec![("Name", Value::String("ar".into()))]),
                )]),
            ),
            ("Metric", metric_value(config, success, failure)),
        ])),
    )))
}

/// A Welch config: `n` deterministic samples per arm around 100, canary shifted by
/// `shift`; 40 samples with shift 0 pass, shift 30 fails, 3 samples are inconclusive.
fn welch_config(n: usize, shift: f64, extra: &str) -> String {
    let arm = |s: f64| {
        (0..n)
            .map(|i| 100.0 + s + ((i * 37) % 11) as f64 - 5.0)
            .collect::<Vec<_>>()
    };
    format!(
        r#"{{{extra}"metrics":[{{"name":"latency","method":"welch","margin":0.1,"canary":{{"values":{:?}}},"baseline":{{"values":{:?}}}}}]}}"#,
        arm(shift),
        arm(0.0)
    )
}

#[test]
fn vars_and_query_configs() {
    let cfg = |text: &str| Metric {
        name: "x".into(),
        plugin: vec![("a/b".into(), text.as_bytes().to_vec())],
        ..Default::default()
    };
    let q = r#""prometheus":{"address":"http://127.0.0.1:1","timeout":"1s"},"metrics":[{"name":"m","method":"threshold","params":{"max":1},"canary":{"query":"sum(x{a='{{v}}'})"}}]"#;
    let c = resolve_config(&cfg(&format!(r#"{{"vars":{{"v":"1"}},{q}}}"#))).unwrap();
    assert_eq!(c.vars.get("v").map(String::as_str), Some("1"));
    assert!(c.analysis.has_queries());
    let e = resolve_config(&cfg(&format!(r#"{{"vars":{{"v":1}},{q}}}"#)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`vars` must map names to strings"), "{e}");
    // A template's own `prometheus:` block is refused in plugin mode, before any request.
    let p = JudgePlugin::new();
    let m = p.run(&run_args(&format!("{{{q}}}").replace("{{v}}", "1"), "", ""));
    assert_eq!(m.phase, "Error", "{m:?}");
    assert!(
        m.message
            .contains("field `prometheus` is not accepted here"),
        "{}",
        m.message
    );
    // The same query against an operator source on a closed port: an Error measurement
    // naming it, not a hang.
    let catalog = SourceCatalog::from_yaml_str(
        "sources:\n  - name: main\n    address: http://127.0.0.1:1\n    timeout: 1s\n",
        "test",
    )
    .unwrap();
    let p = JudgePlugin::with_catalog(Ok(Arc::new(catalog)));
    let named = q.replace(
        r#""prometheus":{"address":"http://127.0.0.1:1","timeout":"1s"}"#,
        r#""source":"main""#,
    );
    let m = p.run(&run_args(
        &format!("{{{named}}}").replace("{{v}}", "1"),
        "",
        "",
    ));
    assert_eq!(m.phase, "Error", "{m:?}");
    assert!(
        m.message.contains("http://127.0.0.1:1 unreachable"),
        "{}",
        m.message
    );
}

#[test]
fn config_entry_errors_name_the_problem() {
    let mut m = Metric {
        name: "x".into(),
        ..Default::default()
    };
    let e = resolve_config(&m).unwrap_err().to_string();
    assert!(e.contains("no provider.plugin entry"), "{e}");
    m.plugin = vec![
        ("a/b".into(), b"{}".to_vec()),
        ("c/d".into(), b"{}".to_vec()),
    ];
    let e = resolve_config(&m).unwrap_err().to_string();
    assert!(
        e.contains("2 provider.plugin entries (`a/b`, `c/d`)"),
        "{e}"
    );
    m.plugin = vec![("a/b".into(), b"not json".to_vec())];
    let e = resolve_config(&m).unwrap_err().to_string();
    assert!(
        e.starts_with("plugin config `a/b` is not a JSON object"),
        "{e}"
    );
    m.plugin = vec![("a/b".into(), b"[1]".to_vec())];
    let e = resolve_config(&m).unwrap_err().to_string();
    assert!(e.contains("got an array"), "{e}");
    m.plugin = vec![(
        "a/b".into(),
        br#"{"metrics":[],"hold":{"max_duration":"1m"}}"#.to_vec(),
    )];
    let e = resolve_config(&m).unwrap_err().to_string();
    assert!(e.contains("`hold.resume_every` is missing"), "{e}");
}

#[test]
fn run_pass_and_fail_follow_the_verdict_without_conditions() {
    let p = JudgePlugin::new();
    assert_eq!(p.init_plugin(), "");
    let pass = p.run(&run_args(&welch_config(40, 0.0, ""), "", ""));
    assert_eq!(pass.phase, "Successful", "{pass:?}");
    let v: serde_json::Value = serde_json::from_str(&pass.value).unwrap();
    assert_eq!(v["verdict"], "pass");
    assert_eq!(
        pass.metadata.get("latency.verdict").map(String::as_str),
        Some("pass")
    );
    assert!(pass.started_at.is_some() && pass.finished_at.is_some());
    let fail = p.run(&run_args(&welch_config(40, 30.0, ""), "", ""));
    assert_eq!(fail.phase, "Failed", "{fail:?}");
    let inconclusive = p.run(&run_args(&welch_config(3, 0.0, ""), "", ""));
    assert_eq!(inconclusive.phase, "Inconclusive", "{inconclusive:?}");
    assert!(inconclusive.resume_at.is_none());
}

#[test]
fn hold_keeps_inconclusive_running_until_the_deadline() {
    let p = JudgePlugin::new();
    let hold = r#""hold":{"max_duration":"10m","resume_every":"30s"},"#;
    let m = p.run(&run_args(&welch_config(3, 0.0, hold), "", ""));
    assert_eq!(m.phase, "Running", "{m:?}");
    let (started, resume) = (m.started_at.unwrap(), m.resume_at.unwrap());
    assert_eq!(resume.unix_seconds - started.unix_seconds, 30);
    assert!(m.finished_at.is_none());
    assert_eq!(m.metadata[HOLD_ROUNDS_KEY], "1");
    // Resume with the stored measurement: still inconclusive, still before the deadline.
    let resume_arg = |held: &Measurement, config: &str| {
        Value::Interface(Some((
            "TerminateAndResumeArgs".into(),
            Box::new(st(vec![
                ("AnalysisRun", st(vec![])),
                ("Metric", metric_value(config, "", "")),
                ("Measurement", held.to_value()),
            ])),
        )))
    };
    let again = p.resume(&resume_arg(&m, &welch_config(3, 0.0, hold)));
    assert_eq!(again.phase, "Running");
    assert_eq!(again.started_at, m.started_at);
    assert_eq!(again.metadata[HOLD_ROUNDS_KEY], "2");
    assert_eq!(
        again.metadata[HOLD_DEADLINE_KEY],
        m.metadata[HOLD_DEADLINE_KEY]
    );
    // Past the deadline (state only in metadata): completes as Inconclusive.
    let mut late = again.clone();
    late.metadata
        .insert(HOLD_DEADLINE_KEY.into(), "2020-01-01T00:00:00Z".into());
    let done = p.resume(&resume_arg(&late, &welch_config(3, 0.0, hold)));
    assert_eq!(done.phase, "Inconclusive", "{done:?}");
    assert!(done.finished_at.is_some() && done.resume_at.is_none());
    // Data now decide: completes with the verdict.
    let decided = p.resume(&resume_arg(&again, &welch_config(40, 30.0, hold)));
    assert_eq!(decided.phase, "Failed");
    assert!(!decided.metadata.contains_key(HOLD_DEADLINE_KEY));
}

#[test]
fn conditions_override_and_errors_become_error_measurements() {
    let p = JudgePlugin::new();
    let cfg = welch_config(40, 30.0, "");
    // The user's condition decides, even against the verdict.
    let m = p.run(&run_args(&cfg, "result.verdict == 'fail'", ""));
    assert_eq!(m.phase, "Successful");
    let m = p.run(&run_args(&cfg, "result.verdict ==", ""));
    assert_eq!(m.phase, "Error");
    assert!(
        m.message
            .starts_with("successCondition `result.verdict ==`"),
        "{}",
        m.message
    );
    let m = p.run(&run_args("{oops", "", ""));
    assert_eq!(m.phase, "Error");
    assert!(m.message.contains("is not a JSON object"), "{}", m.message);
    let m = p.run(&Value::Interface(None));
    assert_eq!(m.phase, "Error");
    assert!(m.message.contains("nil argument"), "{}", m.message);
}

#[test]
fn failed_init_is_reported_by_run() {
    let p = JudgePlugin::new();
    *p.init.lock().unwrap() = Some(Err("bad dir".into()));
    let m = p.run(&run_args(&welch_config(40, 0.0, ""), "", ""));
    assert_eq!(m.phase, "Error");
    assert_eq!(m.message, "plugin initialisation failed: bad dir");
}

#[test]
fn unknown_method_is_an_rpc_error_and_type_is_a_string() {
    let p = JudgePlugin::new();
    assert_eq!(
        p.dispatch_blocking("Bogus", &Value::Interface(None))
            .unwrap_err(),
        "rpc: can't find method Plugin.Bogus"
    );
    let t = p
        .dispatch_blocking("Type", &Value::Interface(None))
        .unwrap();
    assert_eq!(t.value, Value::String("canary-judge".into()));
    let gc = p
        .dispatch_blocking("GarbageCollect", &Value::Interface(None))
        .unwrap();
    assert!(matches!(gc.value, Value::Struct(ref f) if !f.is_empty()));
}

#[test]
fn metadata_summary_and_error_key() {
    let p = JudgePlugin::new();
    let arg = st(vec![(
        "Metric",
        metric_value(&welch_config(40, 0.0, ""), "", ""),
    )]);
    let md = p.get_metadata(&arg);
    assert_eq!(md.get("metrics").map(String::as_str), Some("latency:welch"));
    assert_eq!(
        md.get("plugin").map(String::as_str),
        Some(DOCUMENTED_PLUGIN_NAME)
    );
    let md = p.get_metadata(&st(vec![("Metric", metric_value("1", "", ""))]));
    assert!(md["error"].contains("not a JSON object"), "{md:?}");
}

#[test]
fn terminate_ends_a_held_measurement_and_keeps_completed_ones() {
    let p = JudgePlugin::new();
    let mk = |phase: &str| {
        Value::Interface(Some((
            "TerminateAndResumeArgs".into(),
            Box::new(st(vec![
                ("AnalysisRun", st(vec![])),
                ("Metric", metric_value("{}", "", "")),
                (
                    "Measurement",
                    Measurement {
                        phase: phase.into(),
                        metadata: [("k".to_string(), "v".to_string())].into(),
                        ..Default::default()
                    }
                    .to_value(),
                ),
            ])),
        )))
    };
    let m = p.terminate(&mk("Running"));
    assert_eq!(m.phase, "Successful");
    assert!(m.finished_at.is_some());
    assert_eq!(m.metadata["k"], "v");
    let m = p.terminate(&mk("Failed"));
    assert_eq!(m.phase, "Failed");
    assert!(m.finished_at.is_none());
}

#[test]
fn report_links_carry_the_config_window_and_vars_but_never_credentials() {
    let entry = |text: &str| {
        resolve_config(&Metric {
            name: "judge".into(),
            plugin: vec![("canary-judge/judge".into(), text.as_bytes().to_vec())],
            ..Default::default()
        })
        .unwrap()
    };
    let fetched = Fetched {
        series: Default::default(),
        metrics: BTreeMap::new(),
        start: 100,
        end: 200,
    };
    let cfg = entry(
        r#"{"source":"default","vars":{"svc":"a b"},"hold":{"max_duration":"1m","resume_every":"5s"},
            "metrics":[{"name":"errors","method":"threshold","params":{"max":0.05},"canary":{"query":"sum(x{s=\"{{svc}}\"})"}}]}"#,
    );
    let link = report_link("https://cj.example", &cfg, &fetched).unwrap();
    let q = link.strip_prefix("https://cj.example/report?").unwrap();
    let params: BTreeMap<String, String> = url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect();
    let sent: serde_json::Value = serde_json::from_str(&params["config"]).unwrap();
    assert_eq!(sent["source"], "default");
    assert!(
        sent.get("hold").is_none() && sent.get("vars").is_none(),
        "{sent}"
    );
    assert_eq!(
        (
            params["start"].as_str(),
            params["end"].as_str(),
            params["svc"].as_str()
        ),
        ("100", "200", "a b")
    );
    // A prometheus block with credentials or headers is never put into a link.
    for block in [
        r#"{"address":"http://p:9090","headers":{"X-Scope-OrgID":"team-a"}}"#,
        r#"{"address":"http://p:9090","bearer_token":{"env":"T"}}"#,
    ] {
        let cfg = entry(&format!(
            r#"{{"prometheus":{block},"metrics":[{{"name":"e","method":"threshold","params":{{"max":1}},"canary":{{"query":"x"}}}}]}}"#
        ));
        assert_eq!(
            report_link("https://cj.example", &cfg, &fetched),
            Err(NoReportLink::Credentials)
        );
    }
    let reserved = entry(
        r#"{"vars":{"end":"x"},"metrics":[{"name":"e","method":"threshold","params":{"max":1},"canary":{"query":"x"}}]}"#,
    );
    let why = report_link("https://cj.example", &reserved, &fetched)
        .unwrap_err()
        .to_string();
    assert!(why.contains("`end`"), "{why}");
}

#[test]
fn plugin_arguments_take_a_report_base_url() {
    let args = |a: &[&str]| crate::argo::load_plugin_args(a.iter().map(|s| s.to_string()));
    let a = args(&["--report-base-url", "https://cj.example/"]).unwrap();
    assert_eq!(a.report_base_url.as_deref(), Some("https://cj.example"));
    let a = args(&["plugin", "--report-base-url=http://127.0.0.1:8080"]).unwrap();
    assert_eq!(a.report_base_url.as_deref(), Some("http://127.0.0.1:8080"));
    let e = args(&["--report-base-url", "file:///etc"]).unwrap_err();
    assert!(e.contains("--report-base-url"), "{e}");
    let e = args(&["--report-base-url"]).unwrap_err();
    assert!(e.contains("needs a URL"), "{e}");
    let e = args(&["--bogus"]).unwrap_err();
    assert!(e.contains("--report-base-url URL"), "{e}");
}
