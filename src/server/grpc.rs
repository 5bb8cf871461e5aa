//! The gRPC door: `canaryjudge.v1.Judge` (Analyze, Compare) generated from
//! `proto/canaryjudge/v1/judge.proto`, with errors as status codes a client can act on.
//! Health (`grpc.health.v1`) and reflection are added next to it in `server::run`.

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};

use super::State;
use super::judge::{JudgeError, JudgeRequest, authenticate, credential_from_authorization, judge};
use crate::analysis::series::ArmData;
use crate::analysis::{AnalysisConfig, MetricReport, SeriesSet, evaluate};
use crate::stats::Verdict;

/// Code generated from the .proto.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("canaryjudge.v1");
}

/// The encoded file descriptor set, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/canaryjudge_v1_descriptor.bin"));

/// The service implementation.
pub struct JudgeService {
    state: Arc<State>,
}

impl JudgeService {
    /// A service sharing the server's state.
    pub fn new(state: Arc<State>) -> Self {
        JudgeService { state }
    }
}

fn status(e: JudgeError) -> Status {
    let msg = e.to_string();
    match e {
        JudgeError::Invalid(_) => Status::invalid_argument(msg),
        JudgeError::UnknownTemplate(_) => Status::not_found(msg),
        JudgeError::Unavailable(_) => Status::unavailable(msg),
        JudgeError::Timeout(_) => Status::deadline_exceeded(msg),
        JudgeError::Unauthenticated(_) => Status::unauthenticated(msg),
        JudgeError::PermissionDenied(_) => Status::permission_denied(msg),
    }
}

/// The token of the call's `authorization` metadata (`Bearer TOKEN`), if any.
fn credential<T>(request: &Request<T>) -> Option<String> {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(credential_from_authorization)
}

fn verdict(v: Verdict) -> i32 {
    (match v {
        Verdict::Pass => pb::Verdict::Pass,
        Verdict::Fail => pb::Verdict::Fail,
        Verdict::Inconclusive => pb::Verdict::Inconclusive,
    }) as i32
}

fn decision(m: &MetricReport) -> pb::MetricDecision {
    let d = &m.decision;
    pb::MetricDecision {
        name: m.name.clone(),
        method: m.method.clone(),
        verdict: verdict(d.verdict),
        outcome: serde_json::to_value(m.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        n_canary: d.n_canary,
        n_baseline: d.n_baseline,
        statistic: d.statistic,
        p_value: d.p_value,
        e_value: d.e_value,
        effect: d.effect,
        ci_low: d.ci_low,
        ci_high: d.ci_high,
        reason: d.reason.clone(),
        alpha: m.alpha,
    }
}

#[tonic::async_trait]
impl pb::judge_server::Judge for JudgeService {
    async fn analyze(
        &self,
        request: Request<pb::AnalyzeRequest>,
    ) -> Result<Response<pb::AnalyzeResponse>, Status> {
        let credential = credential(&request);
        let r = request.into_inner();
        let mut req = JudgeRequest {
            credential,
            vars: r.vars.into_iter().collect(),
            start: (r.start != 0).then_some(r.start),
            end: (r.end != 0).then_some(r.end),
            lookback: u64::try_from(r.lookback_seconds)
                .ok()
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
            ..Default::default()
        };
        if r.lookback_seconds < 0 {
            return Err(Status::invalid_argument(
                "lookback_seconds must not be negative",
            ));
        }
        match r.analysis {
            Some(pb::analyze_request::Analysis::Template(t)) => req.template = Some(t),
            Some(pb::analyze_request::Analysis::Config(c)) => {
                req.config = Some(
                    AnalysisConfig::from_str_auto(&c)
                        .map_err(|e| Status::invalid_argument(format!("config: {e}")))?,
                )
            }
            None => return Err(Status::invalid_argument("set `template` or `config`")),
        }
        let j = judge(&self.state, "grpc-analyze", req)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AnalyzeResponse {
            verdict: verdict(j.report.verdict),
            score: j.report.score,
            reason: j.report.reason.clone(),
            metrics: j.report.metrics.iter().map(decision).collect(),
            start: j.start,
            end: j.end,
            report_json: serde_json::to_string(&j.report).unwrap_or_default(),
        }))
    }

    async fn compare(
        &self,
        request: Request<pb::CompareRequest>,
    ) -> Result<Response<pb::CompareResponse>, Status> {
        authenticate(&self.state.config(), credential(&request).as_deref()).map_err(status)?;
        let r = request.into_inner();
        let started = std::time::Instant::now();
        let params: serde_json::Value = if r.params_json.trim().is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(&r.params_json)
                .map_err(|e| Status::invalid_argument(format!("params_json: {e}")))?
        };
        if !params.is_object() {
            return Err(Status::invalid_argument(
                "params_json must be a JSON object",
            ));
        }
        if r.canary.is_empty() {
            return Err(Status::invalid_argument("canary sample is empty"));
        }
        let mut metric = serde_json::json!({
            "name": "compare",
            "method": r.method,
            "params": params,
            "canary": {"values": r.canary},
        });
        if !r.baseline.is_empty() {
            metric["baseline"] = serde_json::json!({"values": r.baseline});
        }
        let config =
            AnalysisConfig::from_json_str(&serde_json::json!({"metrics": [metric]}).to_string())
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let data = SeriesSet::default().with(
            "compare",
            ArmData::values(r.canary),
            (!r.baseline.is_empty()).then(|| ArmData::values(r.baseline)),
        );
        let report = evaluate(&config, &data);
        self.state
            .metrics
            .observe::<()>("grpc-compare", Ok(report.verdict), started.elapsed());
        let first = report
            .metrics
            .first()
            .ok_or_else(|| Status::internal("engine returned no metric"))?;
        Ok(Response::new(pb::CompareResponse {
            decision: Some(decision(first)),
        }))
    }
}
