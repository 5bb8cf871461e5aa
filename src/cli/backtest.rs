//! `canary-judge backtest CONFIG --windows N --window 1h [--inject errors=2]...`: judge N
//! past windows of the user's own Prometheus with both arms from the same version (the
//! template's variables pick two disjoint sets of stable pods), count how often it would
//! have failed (A/A false fails, with a Wilson interval), then inject regressions into the
//! canary arm and count detections and the median time to the first failing look. The
//! arithmetic is in `report::backtest`; every look is the one engine's answer.

use super::analyze::{DataArgs, Fetcher, unix_now};
use super::report::progress_bar;
use super::{CliError, Exit};
use crate::analysis;
use crate::report::backtest::{self, Backtest, Injection};
use std::path::PathBuf;

/// Arguments of `backtest`.
#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Analysis config whose `query` arms take the two pod sets from template variables
    /// (e.g. `pod=~"{{canary-pods}}"` and `pod=~"{{baseline-pods}}"`, given with --var).
    config: PathBuf,
    /// Number of past windows.
    #[arg(long, default_value_t = 24)]
    windows: usize,
    /// Length of each window.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    window: String,
    /// Distance between the ends of two windows (default: the window length, so windows do
    /// not overlap).
    #[arg(long, value_name = "DURATION")]
    stride: Option<String>,
    /// Time between two looks inside a window.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    every: String,
    /// A regression to inject into the canary arm (repeatable): `errors=K` multiplies
    /// error counts, `values=K` (or `latency=K`) multiplies value series (latency, CPU) and
    /// every observation of a latency histogram; `errors=2,values=1.5` does both in one
    /// scenario.
    #[arg(long, value_name = "SPEC")]
    inject: Vec<String>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the results as an HTML page (the report's format).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
}

fn seconds(flag: &str, text: &str) -> Result<i64, CliError> {
    crate::duration::parse_positive_duration(text)
        .map(|d| d.as_secs() as i64)
        .map_err(|e| CliError::Usage(format!("--{flag} {text:?}: {e}")))
}

fn parse_injection(spec: &str) -> Result<Injection, CliError> {
    let mut inj = Injection {
        errors: None,
        values: None,
    };
    for part in spec.split(',') {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            CliError::Usage(format!("--inject {spec:?}: expected errors=K or values=K"))
        })?;
        let factor: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|f: &f64| f.is_finite() && *f > 0.0)
            .ok_or_else(|| {
                CliError::Usage(format!("--inject {spec:?}: {v:?} is not a positive number"))
            })?;
        match k.trim() {
            "errors" => inj.errors = Some(factor),
            "values" | "latency" => inj.values = Some(factor),
            other => {
                return Err(CliError::Usage(format!(
                    "--inject {spec:?}: unknown kind {other:?} (errors or values)"
                )));
            }
        }
    }
    Ok(inj)
}

/// Run `backtest`.
pub fn run(args: &BacktestArgs) -> Result<Exit, CliError> {
    let (config, base) = analysis::load_config_file(&args.config)?;
    if !config.has_queries() {
        return Err(CliError::Usage(
            "backtest needs a config with Prometheus `query` arms".into(),
        ));
    }
    let window = seconds("window", &args.window)?;
    let stride = match &args.stride {
        Some(s) => seconds("stride", s)?,
        None => window,
    };
    let every = seconds("every", &args.every)?;
    let now = unix_now();
    let last_end = match &args.data.until {
        Some(t) => crate::duration::parse_time(t, now)
            .map_err(|e| CliError::Usage(format!("--until {t:?}: {e}")))?,
        None => now,
    };
    let injections = args
        .inject
        .iter()
        .map(|s| parse_injection(s))
        .collect::<Result<Vec<_>, _>>()?;
    let fetcher = Fetcher::new(&args.data, &config)?;
    let bar = progress_bar("backtest");
    if let Some(b) = &bar {
        b.set_length(args.windows as u64);
    }
    let mut step = 60.0;
    let mut every_intervals = 1;
    let mut aa = Vec::new();
    let mut injected: Vec<Vec<backtest::WindowRun>> = vec![Vec::new(); injections.len()];
    let mut ends = Vec::new();
    for i in 0..args.windows {
        let end = last_end - i as i64 * stride;
        let start = end - window;
        let fetched = fetcher.fetch(&config, &base, start, end)?;
        if let Some(s) = fetched.metrics.values().map(|m| m.step_seconds).next() {
            step = s;
        }
        every_intervals = ((every as f64 / step).round() as usize).max(1);
        aa.push(backtest::run_window(
            &config,
            &fetched.series,
            every_intervals,
            start,
            end,
        ));
        for (inj, runs) in injections.iter().zip(injected.iter_mut()) {
            let data = backtest::inject(&fetched.series, inj);
            runs.push(backtest::run_window(
                &config,
                &data,
                every_intervals,
                start,
                end,
            ));
        }
        ends.push(end);
        if let Some(b) = &bar {
            b.set_position(i as u64 + 1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut scenarios = vec![backtest::summarize(&config, "A/A", None, &aa, step)];
    for (inj, runs) in injections.iter().zip(&injected) {
        scenarios.push(backtest::summarize(
            &config,
            &inj.label(),
            Some(*inj),
            runs,
            step,
        ));
    }
    let report = Backtest {
        windows: args.windows,
        window_seconds: window,
        step_seconds: step,
        every_intervals,
        ends,
        scenarios,
    };
    if let Some(path) = &args.output {
        let title = args
            .config
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "backtest".into());
        std::fs::write(path, crate::report::html::render_backtest(&report, &title)).map_err(
            |source| CliError::Write {
                path: path.display().to_string(),
                source,
            },
        )?;
    }
    if args.json {
        let text = serde_json::to_string_pretty(&report)?;
        super::print_result(&(text + "\n"));
    } else {
        super::print_result(&table(&report));
    }
    Ok(Exit::Pass)
}

fn pct(r: &backtest::Rate) -> String {
    format!(
        "{}/{} = {:.1} % [{:.1}, {:.1}]",
        r.count,
        r.of,
        100.0 * r.rate,
        100.0 * r.low,
        100.0 * r.high
    )
}

fn table(r: &Backtest) -> String {
    let mut out = format!(
        "{} windows of {} s, a look every {} interval(s) of {} s\n\n",
        r.windows, r.window_seconds, r.every_intervals, r.step_seconds
    );
    for s in &r.scenarios {
        let what = if s.injection.is_none() {
            "false fails (A/A)"
        } else {
            "detected"
        };
        out.push_str(&format!("{}: {what}, 95 % Wilson interval\n", s.name));
        let w = s
            .rows
            .iter()
            .map(|x| x.metric.len())
            .max()
            .unwrap_or(6)
            .max(6);
        for row in &s.rows {
            out.push_str(&format!(
                "  {:<w$}  {:<20}  {:<32}  median to fail {}\n",
                row.metric,
                row.method,
                pct(&row.fails),
                row.median_minutes_to_fail
                    .map(|m| format!("{m:.1} min"))
                    .unwrap_or_else(|| "-".into()),
            ));
        }
        out.push('\n');
    }
    out
}
