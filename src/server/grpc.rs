//! The gRPC door: `canaryjudge.v1.Judge` (Analyze, Compare) generated from
//! `proto/canaryjudge/v1/judge.proto`, with errors as status codes a client can act on.
//! Health (`grpc.health.v1`) and reflection are added next to it in `server::run`.

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};

use super::State;
use super::judge::{JudgeError, JudgeErrorKind, JudgeRequest, within_budget};
use super::judge::{authenticate, credential_from_authorization, judge};
use crate::analysis::config::ArmConfig;
use crate::analysis::{AnalysisConfig, ArmData, Comparison, ComparisonArm};
use crate::analysis::{MethodName, MetricReport};
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
    match e.kind() {
        JudgeErrorKind::Invalid => Status::invalid_argument(msg),
        JudgeErrorKind::NotFound => Status::not_found(msg),
        JudgeErrorKind::Unavailable => Status::unavailable(msg),
        JudgeErrorKind::Timeout => Status::deadline_exceeded(msg),
        JudgeErrorKind::Unauthenticated => Status::unauthenticated(msg),
        JudgeErrorKind::PermissionDenied => Status::permission_denied(msg),
        JudgeErrorKind::Internal => Status::internal(msg),
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
                    AnalysisConfig::from_str_auto(&c).map_err(|e| status(JudgeError::Config(e)))?,
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
        // A caller without a valid token learns nothing about its request, not even its shape.
        authenticate(&self.state.config(), credential(&request).as_deref()).map_err(status)?;
        let r = request.into_inner();
        let params = if r.params_json.trim().is_empty() {
            serde_json::Map::new()
        } else {
            match serde_json::from_str(&r.params_json) {
                Ok(serde_json::Value::Object(m)) => m,
                Ok(_) => {
                    return Err(Status::invalid_argument(
                        "params_json must be a JSON object",
                    ));
                }
                Err(e) => return Err(Status::invalid_argument(format!("params_json: {e}"))),
            }
        };
        if r.canary.is_empty() {
            return Err(Status::invalid_argument("canary sample is empty"));
        }
        let method: MethodName = r
            .method
            .parse()
            .map_err(|e: String| Status::invalid_argument(e))?;
        let arm = |values: Vec<f64>| ComparisonArm {
            spec: ArmConfig {
                values: Some(values.clone()),
                ..ArmConfig::default()
            },
            data: ArmData::values(values),
        };
        let canary = arm(r.canary);
        let baseline = (!r.baseline.is_empty()).then(|| arm(r.baseline));
        // The same budget, in-flight count and metrics as every other door; the engine runs
        // on a blocking thread so the budget can end the wait on a large exact test.
        let work = async move {
            let comparison = Comparison::new(method, params, None, canary, baseline)
                .map_err(JudgeError::Config)?;
            tokio::task::spawn_blocking(move || comparison.judge())
                .await
                .map_err(JudgeError::Engine)
        };
        let report = within_budget(&self.state, "grpc-compare", work, |m| m.decision.verdict)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CompareResponse {
            decision: Some(decision(&report)),
        }))
    }
}
