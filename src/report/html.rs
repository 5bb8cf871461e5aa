//! The report as one self-contained HTML page: inline CSS and inline SVG, no script, no
//! fonts, no network; it opens from disk, reads on a phone (the charts scale with the
//! viewport, tables scroll sideways) and prints. Every number on the page carries its
//! full-precision value in a `data-value` attribute, so a test can check the page against
//! `report --json` without parsing rounded text.

use super::model::{MetricLook, MetricTrace, Report};
use super::svg::{self, SvgError};
use crate::stats::Verdict;
use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number as the page shows it: five significant digits, scientific outside
/// [10⁻³, 10⁵).
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.4e}");
    }
    let decimals = (4 - a.log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

fn num_cell(class: &str, v: Option<f64>) -> String {
    match v {
        Some(v) => format!(
            "<td class=\"num {class}\" data-value=\"{v:?}\">{}</td>",
            fmt_num(v)
        ),
        None => format!("<td class=\"num {class}\">–</td>"),
    }
}

fn badge(v: Verdict) -> String {
    format!("<span class=\"verdict {v}\">{v}</span>")
}

fn time_text(t: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        }) {
        Some(s) => format!("{s} ({t})"),
        None => t.to_string(),
    }
}

fn minutes(seconds: f64) -> String {
    fmt_num(seconds / 60.0)
}

const STYLE: &str = r#"
:root { --fail: #c81e1e; --pass: #1e8c3c; --inc: #8a6d00; --ink: #1d2330; --muted: #5b6475; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 12px; max-width: 1100px; line-height: 1.4; }
h1 { font-size: 1.4rem; margin: 0.2em 0; } h2 { font-size: 1.15rem; margin: 0.2em 0; }
.verdict { display: inline-block; padding: 0.05em 0.5em; border-radius: 0.3em; color: #fff;
  font-weight: 600; text-transform: uppercase; font-size: 0.9em; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); }
.verdict.inconclusive { background: var(--inc); }
.summary, .metric { border: 1px solid #d6dae2; border-radius: 6px; padding: 10px 12px; margin: 12px 0; }
.reason { margin: 0.4em 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0.4em 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
figure.plot { margin: 0; min-width: 0; } svg.chart { width: 100%; height: auto; display: block; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 6px 0; }
th, td { padding: 2px 8px; border-bottom: 1px solid #eceef2; text-align: left; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.85em; overflow-wrap: anywhere; }
details summary { cursor: pointer; color: var(--muted); }
@media (max-width: 760px) { .charts { grid-template-columns: 1fr; } body { padding: 6px; } }
@media print { .metric { break-inside: avoid; } details { display: block; } body { max-width: none; } }
"#;

/// Renders the whole page.
pub fn render(report: &Report, title: &str) -> Result<String, SvgError> {
    let mut h = String::new();
    let step = report.window.step_seconds;
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>canary-judge: {} — {}</title><style>{STYLE}</style></head><body>\n",
        report.verdict,
        escape(title)
    );
    // Summary on top.
    let _ = write!(
        h,
        "<section class=\"summary\" id=\"summary\" data-verdict=\"{v}\">\
         <h1>{} {}</h1><p class=\"reason\">{}</p><dl class=\"facts\">",
        escape(title),
        badge(report.verdict),
        escape(&report.reason),
        v = report.verdict
    );
    let score = match report.score {
        Some(s) => format!(
            "<span class=\"score\" data-value=\"{s:?}\">{}</span>",
            fmt_num(s)
        ),
        None => "<span class=\"score\">–</span>".into(),
    };
    let _ = write!(
        h,
        "<dt>score</dt><dd>{score} ({:?} scoring)</dd>",
        report.mode
    );
    let w = &report.window;
    let window = match (w.start, w.end) {
        (Some(s), Some(e)) => format!("{} … {}", time_text(s), time_text(e)),
        _ => "recorded series (times are offsets from the first interval)".into(),
    };
    let _ = write!(
        h,
        "<dt>window</dt><dd>{}</dd><dt>grid</dt><dd>{} intervals of {} s, a look every {} \
         interval(s): {} looks</dd>",
        escape(&window),
        w.intervals,
        step,
        w.every_intervals,
        report.looks.len()
    );
    h.push_str("</dl>");
    if !report.groups.is_empty() {
        h.push_str(
            "<div class=\"scroll\"><table class=\"groups\"><tr><th>group</th><th>weight</th>\
             <th>score</th><th>passed / counted</th></tr>",
        );
        for g in &report.groups {
            let _ = write!(
                h,
                "<tr><td>{}</td>{}{}<td>{} / {}</td></tr>",
                escape(&g.name),
                num_cell("weight", Some(g.weight)),
                num_cell("score", g.score),
                g.passed,
                g.counted
            );
        }
        h.push_str("</table></div>");
    }
    if !report.queries.is_empty() {
        h.push_str("<details open><summary>queries as sent</summary><ul class=\"queries\">");
        for q in &report.queries {
            let _ = write!(
                h,
                "<li>{} {}: <code>{}</code></li>",
                escape(&q.metric),
                escape(&q.arm),
                escape(&q.query)
            );
        }
        h.push_str("</ul></details>");
    }
    h.push_str("<div class=\"metric-list scroll\"><table><tr><th>metric</th><th>method</th><th>verdict</th><th>decided at look</th></tr>");
    for m in &report.metrics {
        let _ = write!(
            h,
            "<tr><td><a href=\"#metric-{id}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.name),
            escape(&m.method),
            badge(m.verdict),
            m.decided_look.map(|l| l.to_string()).unwrap_or("–".into()),
            id = escape(&m.name)
        );
    }
    h.push_str("</table></div></section>\n");
    for m in &report.metrics {
        metric_section(&mut h, m, step)?;
    }
    overall_looks(&mut h, report);
    h.push_str(
        "<footer><p>Every look above is one call of the analysis engine on the series up to \
         that look, as a controller looking at that moment would have seen them.</p></footer>\
         </body></html>\n",
    );
    Ok(h)
}

fn metric_section(h: &mut String, m: &MetricTrace, step: f64) -> Result<(), SvgError> {
    let _ = write!(
        h,
        "<section class=\"metric\" id=\"metric-{id}\" data-metric=\"{id}\" data-verdict=\"{v}\">\
         <h2>{} {}</h2><p class=\"reason\">{}</p><dl class=\"facts\">\
         <dt>method</dt><dd>{}</dd><dt>group</dt><dd>{}{}</dd><dt>harm</dt><dd>{}</dd>\
         <dt>decided at look</dt><dd class=\"decided\">{}</dd>\
         <dt>first fail / pass look</dt><dd>{} / {}</dd>{}</dl>",
        escape(&m.name),
        badge(m.verdict),
        escape(&m.reason),
        escape(&m.method),
        escape(&m.group),
        if m.critical { " (critical)" } else { "" },
        match m.harm {
            super::model::HarmSide::Above => "larger effect is worse",
            super::model::HarmSide::Below => "smaller effect is worse",
            super::model::HarmSide::Both => "a change either way is harm",
        },
        m.decided_look.map(|l| l.to_string()).unwrap_or("–".into()),
        m.first_fail_look
            .map(|l| l.to_string())
            .unwrap_or("–".into()),
        m.first_pass_look
            .map(|l| l.to_string())
            .unwrap_or("–".into()),
        match &m.forecast {
            Some(f) => format!(
                "<dt>forecast</dt><dd class=\"forecast\" data-more-intervals=\"{}\">{}</dd>",
                f.more_intervals,
                escape(&f.text)
            ),
            None => String::new(),
        },
        id = escape(&m.name),
        v = m.verdict,
    );
    let _ = write!(
        h,
        "<div class=\"charts\"><figure class=\"plot series\" data-metric=\"{id}\">{}</figure>\
         <figure class=\"plot band\" data-metric=\"{id}\">{}</figure></div>",
        svg::series_chart(m, step)?,
        svg::band_chart(m, step)?,
        id = escape(&m.name)
    );
    h.push_str(
        "<details><summary>every look</summary><div class=\"scroll\"><table class=\"looks\">\
         <tr><th>look</th><th>minutes</th><th>verdict</th><th>effect</th><th>low</th>\
         <th>high</th><th>margin</th><th>fail margin</th></tr>",
    );
    for l in &m.looks {
        look_row(h, l);
    }
    h.push_str("</table></div></details></section>\n");
    Ok(())
}

fn look_row(h: &mut String, l: &MetricLook) {
    let _ = write!(
        h,
        "<tr class=\"look\" data-look=\"{}\" data-verdict=\"{}\"><td>{}</td><td class=\"num\">{}</td><td>{}</td>{}{}{}{}{}</tr>",
        l.look,
        l.verdict,
        l.look,
        minutes(l.offset_seconds),
        l.verdict,
        num_cell("effect", l.effect),
        num_cell("ci-low", l.ci_low),
        num_cell("ci-high", l.ci_high),
        num_cell("margin", l.margin_line),
        num_cell("fail", l.fail_line),
    );
}

fn overall_looks(h: &mut String, report: &Report) {
    h.push_str(
        "<section class=\"metric overall\" id=\"looks\"><h2>Overall verdict at every look</h2>\
         <div class=\"scroll\"><table class=\"overall-looks\"><tr><th>look</th><th>minutes</th>\
         <th>verdict</th><th>score</th>",
    );
    for m in &report.metrics {
        let _ = write!(h, "<th>{}</th>", escape(&m.name));
    }
    h.push_str("</tr>");
    for (i, l) in report.looks.iter().enumerate() {
        let _ = write!(
            h,
            "<tr data-look=\"{}\"><td>{}</td><td class=\"num\">{}</td><td>{}</td>{}",
            l.look,
            l.look,
            minutes(l.offset_seconds),
            l.verdict,
            num_cell("score", l.score)
        );
        for m in &report.metrics {
            let v = m.looks.get(i).map(|x| x.verdict.as_str()).unwrap_or("–");
            let _ = write!(h, "<td class=\"{v}\">{v}</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></div></section>\n");
}

/// The backtest's results as a page in the same style: one table per scenario.
pub fn render_backtest(b: &super::backtest::Backtest, title: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>canary-judge backtest — {t}</title><style>{STYLE}</style></head><body>\
         <section class=\"summary\" id=\"summary\"><h1>Backtest of {t}</h1>\
         <p class=\"reason\">{} windows of {} s, a look every {} interval(s) of {} s; both arms \
         from the same version, then regressions injected into the canary arm.</p></section>\n",
        b.windows,
        b.window_seconds,
        b.every_intervals,
        b.step_seconds,
        t = escape(title)
    );
    for s in &b.scenarios {
        let what = if s.injection.is_none() {
            "false fails"
        } else {
            "detected"
        };
        let _ = write!(
            h,
            "<section class=\"metric scenario\" data-scenario=\"{n}\"><h2>{n}: {what}</h2>\
             <div class=\"scroll\"><table><tr><th>metric</th><th>method</th><th>windows</th>\
             <th>rate</th><th>95 % Wilson interval</th><th>median minutes to fail</th></tr>",
            n = escape(&s.name)
        );
        for r in &s.rows {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{} / {}</td>{}<td>{} … {}</td>{}</tr>",
                escape(&r.metric),
                escape(&r.method),
                r.fails.count,
                r.fails.of,
                num_cell("rate", Some(r.fails.rate).filter(|v| v.is_finite())),
                fmt_num(r.fails.low),
                fmt_num(r.fails.high),
                num_cell("minutes", r.median_minutes_to_fail)
            );
        }
        h.push_str("</table></div></section>\n");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_five_significant_digits() {
        assert_eq!(fmt_num(1.234567), "1.2346");
        assert_eq!(fmt_num(123.4567), "123.46");
        assert_eq!(fmt_num(0.0123456), "0.012346");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(1.5e-6), "1.5000e-6");
        assert_eq!(fmt_num(-2.0), "-2.0000");
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
