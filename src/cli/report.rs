//! `canary-judge report` and `canary-judge replay`: thin adapters from the command line to
//! [`crate::report`]. Both load a config's data the way `analyze` does (files, inline
//! values, or Prometheus over the window), then ask the report module for the look-by-look
//! answers, which are engine calls on prefixes of the series.

use super::analyze::{DataArgs, fetch_queries};
use super::{CliError, Exit};
use crate::analysis::{self, AnalysisConfig, SeriesSet};
use crate::report::{self, Context};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Analysis config (YAML, or JSON); file paths inside are relative to it.
    config: PathBuf,
    /// Write the HTML page here (default: stdout, unless --json).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print the look-by-look data as JSON on stdout (with -o, the page is written too).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    looks: LookArgs,
    #[command(flatten)]
    data: DataArgs,
}

/// How looks are spaced.
#[derive(Debug, clap::Args)]
pub(super) struct LookArgs {
    /// Time between two looks (rounded to whole intervals), e.g. `1m`, `5m`.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    every: String,
    /// Length of one interval of recorded series (files and inline values); Prometheus data
    /// use their query step.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    step: String,
}

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Analysis config (YAML, or JSON); file paths inside are relative to it.
    config: PathBuf,
    /// Print the replay as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Also replay the same data through these methods (comma-separated: threshold,
    /// mann-whitney, welch, msprt, count-sequential, quantile-sequential), keeping each
    /// metric's margin and harm; `threshold` on error counts is the fixed 5 % bound.
    #[arg(long, value_name = "METHODS", value_delimiter = ',')]
    methods: Vec<String>,
    #[command(flatten)]
    looks: LookArgs,
    #[command(flatten)]
    data: DataArgs,
}

fn seconds(flag: &str, text: &str) -> Result<f64, CliError> {
    crate::duration::parse_positive_duration(text)
        .map(|d| d.as_secs_f64())
        .map_err(|e| CliError::Usage(format!("--{flag} {text:?}: {e}")))
}

/// The config, its data and the report's context (grid, window, queries).
pub(super) fn load(
    config_path: &std::path::Path,
    looks: &LookArgs,
    data_args: &DataArgs,
) -> Result<(AnalysisConfig, SeriesSet, Context), CliError> {
    let (config, base) = analysis::load_config_file(config_path)?;
    let fetched = fetch_queries(data_args, &config, &base)?;
    let every = seconds("every", &looks.every)?;
    let mut ctx = Context {
        step_seconds: seconds("step", &looks.step)?,
        ..Context::default()
    };
    let data = match fetched {
        Some((f, _address)) => {
            ctx.start = Some(f.start);
            ctx.end = Some(f.end);
            if let Some(step) = f.metrics.values().map(|m| m.step_seconds).next() {
                ctx.step_seconds = step;
            }
            ctx.queries = crate::report::queries_of(&f);
            f.series
        }
        None => analysis::load_series(&config, &base)?,
    };
    ctx.every_intervals = ((every / ctx.step_seconds).round() as usize).max(1);
    Ok((config, data, ctx))
}

/// A progress bar on stderr when it is a terminal, nothing otherwise.
pub(super) fn progress_bar(what: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} looks")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    Some(bar)
}

fn build(config: &AnalysisConfig, data: &SeriesSet, ctx: &Context) -> report::model::Report {
    let bar = progress_bar("judging");
    let r = report::build_with_progress(config, data, ctx, |i, n| {
        if let Some(b) = &bar {
            b.set_length(n as u64);
            b.set_position(i as u64);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    r
}

/// Run `report`.
pub fn run_report(args: &ReportArgs) -> Result<Exit, CliError> {
    let (config, data, ctx) = load(&args.config, &args.looks, &args.data)?;
    let r = build(&config, &data, &ctx);
    if args.json {
        let text = serde_json::to_string_pretty(&r)?;
        super::print_result(&(text + "\n"));
    }
    if args.output.is_some() || !args.json {
        let title = args
            .config
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "analysis".into());
        let page = report::html::render(&r, &title)?;
        match &args.output {
            Some(path) => std::fs::write(path, page).map_err(|source| CliError::Write {
                path: path.display().to_string(),
                source,
            })?,
            None => super::print_result(&page),
        }
    }
    Ok(Exit::from_verdict(r.verdict))
}

fn look_time(ctx: &Context, intervals: usize) -> String {
    let offset = intervals as f64 * ctx.step_seconds;
    match ctx.start {
        Some(s) => {
            let t = s + offset.round() as i64;
            time::OffsetDateTime::from_unix_timestamp(t)
                .ok()
                .and_then(|d| {
                    d.format(&time::macros::format_description!(
                        "[hour]:[minute]:[second]"
                    ))
                    .ok()
                })
                .unwrap_or_else(|| t.to_string())
        }
        None => {
            let m = offset / 60.0;
            if m.fract() == 0.0 {
                format!("+{m:.0}m")
            } else {
                format!("+{m:.1}m")
            }
        }
    }
}

/// One alternative method's replay, per metric.
#[derive(Debug, serde::Serialize)]
struct MethodReplay {
    method: String,
    /// Metrics this method cannot judge (kind of data).
    skipped: Vec<String>,
    metrics: Vec<MethodMetric>,
}

#[derive(Debug, serde::Serialize)]
struct MethodMetric {
    name: String,
    first_fail_look: Option<usize>,
    first_pass_look: Option<usize>,
    verdict: crate::stats::Verdict,
}

fn method_replay(method: &str, r: &report::model::Report, skipped: Vec<String>) -> MethodReplay {
    MethodReplay {
        method: method.to_string(),
        skipped,
        metrics: r
            .metrics
            .iter()
            .map(|m| MethodMetric {
                name: m.name.clone(),
                first_fail_look: m.first_fail_look,
                first_pass_look: m.first_pass_look,
                verdict: m.verdict,
            })
            .collect(),
    }
}

/// Run `replay`.
pub fn run_replay(args: &ReplayArgs) -> Result<Exit, CliError> {
    let (config, data, ctx) = load(&args.config, &args.looks, &args.data)?;
    let r = build(&config, &data, &ctx);
    let mut side = Vec::new();
    for name in &args.methods {
        let method: crate::analysis::MethodName = name
            .trim()
            .parse()
            .map_err(|e: String| CliError::Usage(format!("--methods: {e}")))?;
        let (alt, alt_data, skipped) = report::methods::alternative(&config, &data, method)
            .map_err(|e| CliError::Usage(format!("--methods {name}: {e}")))?;
        let ar = build(&alt, &alt_data, &ctx);
        side.push(method_replay(method.as_str(), &ar, skipped));
    }
    if args.json {
        let mut value = serde_json::to_value(&r)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("methods".into(), serde_json::to_value(&side)?);
        }
        let text = serde_json::to_string_pretty(&value)?;
        super::print_result(&(text + "\n"));
        return Ok(Exit::from_verdict(r.verdict));
    }
    let mut text = replay_table(&r, &ctx);
    if !side.is_empty() {
        text.push('\n');
        text.push_str(&methods_table(&r, &side, &ctx));
    }
    super::print_result(&text);
    Ok(Exit::from_verdict(r.verdict))
}

fn methods_table(r: &report::model::Report, side: &[MethodReplay], ctx: &Context) -> String {
    let at = |look: Option<usize>| match look.and_then(|n| r.looks.get(n - 1)) {
        Some(l) => format!("look {} ({})", l.look, look_time(ctx, l.intervals)),
        None => "-".to_string(),
    };
    let mut rows = vec![vec![
        "metric".to_string(),
        "method".to_string(),
        "first fail".to_string(),
        "first pass".to_string(),
        "final".to_string(),
    ]];
    for m in &r.metrics {
        rows.push(vec![
            m.name.clone(),
            format!("{} (configured)", m.method),
            at(m.first_fail_look),
            at(m.first_pass_look),
            m.verdict.to_string(),
        ]);
        for s in side {
            match s.metrics.iter().find(|x| x.name == m.name) {
                Some(x) => rows.push(vec![
                    String::new(),
                    s.method.clone(),
                    at(x.first_fail_look),
                    at(x.first_pass_look),
                    x.verdict.to_string(),
                ]),
                None => rows.push(vec![
                    String::new(),
                    s.method.clone(),
                    "n/a for this data".into(),
                    String::new(),
                    String::new(),
                ]),
            }
        }
    }
    grid(&rows)
}

/// The replay table: one row per look, one column per metric, then each metric's first
/// fail and pass look.
pub(super) fn replay_table(r: &report::model::Report, ctx: &Context) -> String {
    let mut header = vec!["look".to_string(), "time".to_string()];
    header.extend(r.metrics.iter().map(|m| m.name.clone()));
    header.push("overall".into());
    let mut rows = vec![header];
    for (i, l) in r.looks.iter().enumerate() {
        let mut row = vec![l.look.to_string(), look_time(ctx, l.intervals)];
        row.extend(r.metrics.iter().map(|m| {
            m.looks
                .get(i)
                .map(|x| x.verdict.to_string())
                .unwrap_or_default()
        }));
        row.push(l.verdict.to_string());
        rows.push(row);
    }
    let mut out = grid(&rows);
    out.push('\n');
    let mut firsts = vec![vec![
        "metric".to_string(),
        "method".to_string(),
        "first fail".to_string(),
        "first pass".to_string(),
        "final".to_string(),
    ]];
    let at = |look: Option<usize>| match look.and_then(|n| r.looks.get(n - 1)) {
        Some(l) => format!("look {} ({})", l.look, look_time(ctx, l.intervals)),
        None => "-".to_string(),
    };
    for m in &r.metrics {
        firsts.push(vec![
            m.name.clone(),
            m.method.clone(),
            at(m.first_fail_look),
            at(m.first_pass_look),
            m.verdict.to_string(),
        ]);
    }
    out.push_str(&grid(&firsts));
    out
}

/// Left-aligned columns separated by two spaces.
fn grid(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
