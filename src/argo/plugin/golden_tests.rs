//! The plugin against requests recorded from Argo v1.9.2's real client (the gob module's
//! golden stream, produced by `tests/gob-golden/main.go`): every argument is read by the typed
//! views and every reply survives our encoder and decoder.

use super::*;
use crate::argo::types::{AnalysisRun, TerminateAndResumeArgs};
use crate::gob::{Decoder, Encoder};

const HOST_REQUESTS: &[u8] = include_bytes!("../../../tests/golden/gob/host_requests.bin");

fn requests() -> Vec<(String, Value)> {
    let mut dec = Decoder::new();
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < HOST_REQUESTS.len() {
        let (header, used) = dec.decode_next(&HOST_REQUESTS[pos..]).unwrap().unwrap();
        pos += used;
        let (arg, used) = dec.decode_next(&HOST_REQUESTS[pos..]).unwrap().unwrap();
        pos += used;
        let method = header
            .field("ServiceMethod")
            .and_then(Value::as_str)
            .unwrap();
        out.push((method.trim_start_matches("Plugin.").to_string(), arg));
    }
    out
}

#[test]
fn recorded_argo_arguments_read_by_name() {
    let reqs = requests();
    let (_, run_arg) = reqs.iter().find(|(m, _)| m == "Run").unwrap();
    let run = RunArgs::from_value(run_arg).unwrap();
    let ar: &AnalysisRun = &run.analysis_run;
    assert_eq!(ar.name, "checkout-7d9f-2-judge");
    assert_eq!(ar.namespace, "shop");
    assert_eq!(ar.uid, "6f1c2a7e-1111-4c2d-9e3f-0123456789ab");
    assert_eq!(ar.labels["rollouts-pod-template-hash"], "7d9f");
    assert_eq!(ar.annotations["rollout.argoproj.io/revision"], "2");
    assert!(ar.started_at.is_some());
    assert_eq!(ar.args.len(), 2);
    assert_eq!(ar.args[0].value.as_deref(), Some("checkout"));
    assert_eq!(ar.args[1].value, None);
    let prev = ar.previous_measurements("error-rate");
    assert_eq!(prev[0].value, "Pass");
    assert_eq!(prev[0].metadata["p_value"], "0.42");
    assert_eq!(run.metric.name, "error-rate");
    assert_eq!(run.metric.success_condition, r#"result == "Pass""#);
    assert_eq!(run.metric.plugin[0].0, "canary-judge/judge");

    let (_, resume_arg) = reqs.iter().find(|(m, _)| m == "Resume").unwrap();
    let resume = TerminateAndResumeArgs::from_value(resume_arg, "Resume").unwrap();
    assert_eq!(resume.measurement.phase, "Running");
    assert_eq!(resume.measurement.metadata["state"], "step-2");
    assert!(resume.measurement.resume_at.is_some());
    let (_, gc_arg) = reqs.iter().find(|(m, _)| m == "GarbageCollect").unwrap();
    assert_eq!(GarbageCollectArgs::from_value(gc_arg).unwrap().limit, 10);
    let (_, md_arg) = reqs.iter().find(|(m, _)| m == "GetMetadata").unwrap();
    assert_eq!(
        GetMetadataArgs::from_value(md_arg).unwrap().metric.name,
        "error-rate"
    );
}

#[test]
fn every_recorded_call_gets_a_reply_that_round_trips() {
    let plugin = JudgePlugin::new();
    let mut enc = Encoder::new();
    let mut dec = Decoder::new();
    for (method, arg) in requests() {
        let reply = match plugin.dispatch_blocking(&method, &arg) {
            Ok(r) => r,
            Err(e) => {
                assert_eq!(method, "Nope", "{method}: {e}");
                continue;
            }
        };
        let bytes = enc.encode(&reply.schema, &reply.value).unwrap();
        let (back, used) = dec.decode_next(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        if matches!(method.as_str(), "Run" | "Resume" | "Terminate") {
            let m = Measurement::from_value(&back, "reply").unwrap();
            assert_eq!(Measurement::from_value(&reply.value, "sent").unwrap(), m);
            if method == "Run" {
                // The recorded config is a bare metric, not an analysis config.
                assert_eq!(m.phase, "Error", "{m:?}");
                assert!(
                    m.message
                        .starts_with("plugin config `canary-judge/judge`: unknown field `canary`"),
                    "{}",
                    m.message
                );
            }
            if method == "Terminate" {
                assert_eq!(m.phase, "Successful");
            }
        }
    }
}
