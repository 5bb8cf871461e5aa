//! Plain-text tables for people: one row per metric with the numbers that explain its
//! verdict, then the overall verdict. Scripts should use `--json` instead.

use crate::analysis::AnalysisReport;
use crate::stats::Decision;

/// Four significant digits, switching to exponent notation for very large/small magnitudes.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{x:.3e}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.4}")
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(num).unwrap_or_else(|| "-".into())
}

fn interval(d: &Decision) -> String {
    match (d.ci_low, d.ci_high) {
        (None, None) => "-".into(),
        (lo, hi) => format!("[{}, {}]", opt(lo), opt(hi)),
    }
}

fn evidence(d: &Decision) -> String {
    let mut parts = Vec::new();
    if let Some(p) = d.p_value {
        parts.push(format!("p={}", num(p)));
    }
    if let Some(e) = d.e_value {
        parts.push(format!("e={}", num(e)));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

const HEADER: [&str; 8] = [
    "METRIC", "METHOD", "VERDICT", "N C/B", "EFFECT", "INTERVAL", "P / E", "REASON",
];

fn decision_cells(name: String, verdict: String, d: &Decision) -> Vec<String> {
    vec![
        name,
        d.method.clone(),
        verdict,
        format!("{}/{}", d.n_canary, d.n_baseline),
        opt(d.effect),
        interval(d),
        evidence(d),
        d.reason.clone(),
    ]
}

/// The `analyze` table: metrics, then the overall verdict, score and reason.
pub fn report_table(report: &AnalysisReport) -> String {
    let rows: Vec<Vec<String>> = report
        .metrics
        .iter()
        .map(|m| {
            let mut name = m.name.clone();
            if m.critical {
                name.push_str(" (critical)");
            }
            if m.muted {
                name.push_str(" (muted)");
            }
            let outcome = serde_json::to_value(m.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            decision_cells(name, outcome, &m.decision)
        })
        .collect();
    let mut out = render(&HEADER, &rows);
    let score = report
        .score
        .map(|s| format!("{s:.2}"))
        .unwrap_or_else(|| "-".into());
    out.push_str(&format!(
        "\nverdict: {}  score: {}  (pass ≥ {}, marginal ≥ {}, {} scoring)\nreason: {}\n",
        report.verdict.as_str().to_uppercase(),
        score,
        report.pass_threshold,
        report.marginal_threshold,
        serde_json::to_value(report.mode)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        report.reason
    ));
    out
}

/// The `compare` table: one row, then the verdict.
pub fn decision_table(d: &Decision) -> String {
    let mut out = render(
        &HEADER[1..],
        &[decision_cells(String::new(), d.verdict.to_string(), d)[1..].to_vec()],
    );
    let mut extra: Vec<String> = Vec::new();
    if let Some(s) = d.statistic {
        extra.push(format!("statistic={}", num(s)));
    }
    if let Some(df) = d.df {
        extra.push(format!("df={}", num(df)));
    }
    for (k, v) in &d.extra {
        extra.push(format!("{k}={}", num(*v)));
    }
    if !extra.is_empty() {
        out.push_str(&format!("{}\n", extra.join("  ")));
    }
    out.push_str(&format!(
        "\nverdict: {}\n",
        d.verdict.as_str().to_uppercase()
    ));
    out
}
