//! What a measurement carries besides its phase: the JSON `value` Argo's conditions read,
//! `Measurement.Metadata` (verdict, per-metric numbers, fetched queries, the report link) and
//! Go time values.

use super::*;

/// The current time as Go's UTC `time.Time`.
pub(super) fn now() -> GoTime {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    GoTime {
        unix_seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos(),
        offset_seconds: None,
    }
}

pub(super) fn add(t: GoTime, d: Duration) -> GoTime {
    GoTime {
        unix_seconds: t
            .unix_seconds
            .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        nanos: t.nanos,
        offset_seconds: None,
    }
}

pub(super) fn rfc3339(t: GoTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.unix_seconds)
        .ok()
        .and_then(|dt| {
            dt.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.unix_seconds.to_string())
}

pub(super) fn parse_rfc3339(s: &str) -> Option<GoTime> {
    let dt = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some(GoTime {
        unix_seconds: dt.unix_timestamp(),
        nanos: 0,
        offset_seconds: None,
    })
}

pub(super) fn num(x: Option<f64>) -> String {
    match x {
        Some(v) => format!("{v}"),
        None => String::new(),
    }
}

pub(super) fn finite(x: Option<f64>) -> serde_json::Value {
    match x {
        Some(v) if v.is_finite() => json!(v),
        Some(v) => json!(v.to_string()),
        None => serde_json::Value::Null,
    }
}

/// The `result` object conditions see and the measurement value carries.
pub fn verdict_json(report: &AnalysisReport) -> serde_json::Value {
    let mut metrics = serde_json::Map::new();
    for m in &report.metrics {
        let d = &m.decision;
        metrics.insert(
            m.name.clone(),
            json!({
                "verdict": d.verdict.as_str(),
                "outcome": m.outcome,
                "method": d.method,
                "effect": finite(d.effect),
                "ci_low": finite(d.ci_low),
                "ci_high": finite(d.ci_high),
                "p_value": finite(d.p_value),
                "e_value": finite(d.e_value),
                "n_canary": d.n_canary,
                "n_baseline": d.n_baseline,
                "reason": d.reason,
            }),
        );
    }
    json!({
        "verdict": report.verdict.as_str(),
        "score": finite(report.score),
        "reason": report.reason,
        "metrics": metrics,
    })
}

/// Flat per-metric metadata (`<metric>.verdict`, `.effect`, `.interval`, `.p_value`,
/// `.e_value`, `.n`, `.reason`) so `kubectl get analysisrun -o yaml` shows why.
pub fn report_metadata(report: &AnalysisReport) -> BTreeMap<String, String> {
    let mut md = BTreeMap::new();
    md.insert("verdict".to_string(), report.verdict.as_str().to_string());
    md.insert("score".to_string(), num(report.score));
    md.insert("reason".to_string(), report.reason.clone());
    for m in &report.metrics {
        let d = &m.decision;
        let k = |s: &str| format!("{}.{s}", m.name);
        md.insert(k("verdict"), d.verdict.as_str().to_string());
        md.insert(k("method"), d.method.clone());
        md.insert(k("effect"), num(d.effect));
        if d.ci_low.is_some() || d.ci_high.is_some() {
            md.insert(
                k("interval"),
                format!("[{}, {}]", num(d.ci_low), num(d.ci_high)),
            );
        }
        if d.p_value.is_some() {
            md.insert(k("p_value"), num(d.p_value));
        }
        if d.e_value.is_some() {
            md.insert(k("e_value"), num(d.e_value));
        }
        md.insert(
            k("n"),
            format!("canary={} baseline={}", d.n_canary, d.n_baseline),
        );
        md.insert(k("reason"), d.reason.clone());
    }
    md
}

/// Per-metric fetch details for `Measurement.Metadata`: the resolved queries, the window,
/// the step, and point/event/traffic counts per arm (`<metric>.canary.query`, ...).
pub fn fetch_metadata(f: &Fetched) -> BTreeMap<String, String> {
    let mut md = BTreeMap::new();
    let t = |s: i64| {
        rfc3339(GoTime {
            unix_seconds: s,
            nanos: 0,
            offset_seconds: None,
        })
    };
    md.insert(
        "window".to_string(),
        format!("{} .. {}", t(f.start), t(f.end)),
    );
    for (name, m) in &f.metrics {
        md.insert(format!("{name}.step"), format!("{}s", m.step_seconds));
        let arms = std::iter::once(("canary", &m.canary))
            .chain(m.baseline.as_ref().map(|b| ("baseline", b)));
        for (arm, a) in arms {
            let k = |s: &str| format!("{name}.{arm}.{s}");
            md.insert(k("query"), a.queries.join("\n"));
            md.insert(k("points"), a.points.to_string());
            if a.missing > 0 {
                md.insert(k("missing"), a.missing.to_string());
            }
            if let Some(e) = a.events {
                md.insert(k("events"), format!("{e}"));
            }
            if let Some(tr) = a.traffic {
                md.insert(k("traffic"), format!("{tr}"));
            }
            if let Some(why) = &a.no_data {
                md.insert(k("no_data"), why.clone());
            }
        }
    }
    md
}

/// Metadata key of the link to the measurement's report on `serve` (with `--report-base-url`).
pub const REPORT_LINK_KEY: &str = "report";
/// Metadata key saying why a measurement has no report link.
pub const REPORT_OMITTED_KEY: &str = "report.omitted";

/// Why a measurement gets no report link although the operator set a base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoReportLink {
    /// The config's `prometheus:` block has credentials or headers; a link would show them
    /// to everyone who can read the AnalysisRun.
    #[error(
        "the config's prometheus block carries credentials or headers, which a link would expose"
    )]
    Credentials,
    /// Some arm reads a file, which the service may not read for a client.
    #[error("metric `{0}` reads series from a file, which the service does not read for a link")]
    FileSeries(String),
    /// The link itself could not be made.
    #[error(transparent)]
    Link(#[from] crate::report::link::LinkError),
}

/// The link to the report of this fetch under `base`: the metric's own config (what the
/// AnalysisTemplate says, after Argo's `{{args.*}}`), the fetched window and the variables,
/// so `serve` judges the same data again and draws it look by look.
pub fn report_link(base: &str, config: &PluginConfig, f: &Fetched) -> Result<String, NoReportLink> {
    let carries_credentials = config.analysis.prometheus.as_ref().is_some_and(|p| {
        !p.headers.is_empty() || p.bearer_token.is_some() || p.basic_auth.is_some()
    });
    if carries_credentials {
        return Err(NoReportLink::Credentials);
    }
    if let Some(file) = analysis::file_sources(&config.analysis).into_iter().next() {
        return Err(NoReportLink::FileSeries(file.metric.to_string()));
    }
    Ok(crate::report::link::url(
        base,
        crate::report::link::Subject::Config(&config.link_config),
        f.start,
        f.end,
        &config.vars,
    )?)
}
