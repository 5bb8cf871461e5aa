//! `GET /report` and `GET /reports`: the look-by-look HTML report ([`crate::report`]) of an
//! analysis the service judges, and the list of the last analyses it answered. A report is
//! named by its template, window and variables, not by an id, so the link a webhook answer
//! carries opens the same report on any replica and after any restart.

use super::judge::{Judged, JudgedData};
use super::recent::RecentAnalysis;
use crate::report::{Context, html};

/// Seconds per interval assumed for inline values, which carry no time (the CLI's default).
const LOCAL_STEP_SECONDS: f64 = 60.0;

/// Why a report page could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the report failed: {0}")]
pub struct DrawError(#[source] crate::report::svg::SvgError);

/// The report page of one judgement, one look every `every` intervals.
pub fn render(j: &Judged, title: &str, every: usize) -> Result<String, DrawError> {
    let mut ctx = Context {
        step_seconds: LOCAL_STEP_SECONDS,
        every_intervals: every.max(1),
        start: Some(j.start),
        end: Some(j.end),
        queries: Vec::new(),
    };
    if let JudgedData::Fetched(f) = &j.data {
        if let Some(step) = f.metrics.values().map(|m| m.step_seconds).next() {
            ctx.step_seconds = step;
        }
        ctx.queries = crate::report::queries_of(f);
    }
    let report = crate::report::build(&j.config, j.data.series(), &ctx);
    html::render(&report, &format!("canary-judge: {title}")).map_err(DrawError)
}

/// The `/reports` page: the recent analyses, newest first, each linking to its report.
pub fn render_list(recent: &[RecentAnalysis]) -> String {
    let mut rows = String::new();
    for a in recent {
        let vars = a
            .vars
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let template = html::escape(&a.template);
        let named = match a.report_query() {
            Ok(q) => format!("<a href=\"report?{}\">{template}</a>", html::escape(&q)),
            Err(why) => format!("{template} (no link: {})", html::escape(&why.to_string())),
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{named}</td><td>{}</td><td>{}–{} ({} s)</td><td>{}</td></tr>\n",
            a.at,
            a.door,
            a.verdict.as_str(),
            a.start,
            a.end,
            a.end - a.start,
            html::escape(&vars),
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>canary-judge: recent analyses</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:1rem}}table{{border-collapse:collapse}}\
         td,th{{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}}</style></head>\
         <body><h1>Recent analyses</h1><p>The last {} analyses this replica answered (newest \
         first; times in Unix seconds). Each opens its look-by-look report.</p>\
         <table><tr><th>at</th><th>door</th><th>template</th><th>verdict</th><th>window</th>\
         <th>variables</th></tr>\n{rows}</table></body></html>\n",
        recent.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::recent::tests::analysis;

    #[test]
    fn links_reproduce_template_window_and_vars() {
        let a = analysis(1);
        assert_eq!(
            a.report_query().as_deref(),
            Ok("template=error-rate&start=100&end=200&name=app+%26+co")
        );
        let page = render_list(&[a]);
        assert!(page.contains("href=\"report?template=error-rate&amp;start=100&amp;end=200"));
        assert!(page.contains("app &amp; co"));
    }
}
