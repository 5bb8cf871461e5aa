//! Command-line front door: `analyze` a config, `compare` two series files with one method,
//! `simulate` error rates, and the hook into Argo plugin mode. Logs go to stderr through
//! `tracing`; stdout carries only the command's result (and, in plugin mode, the go-plugin
//! handshake), so scripts and Argo can read it.

mod analyze;
mod backtest;
mod compare;
mod guard;
mod report;
mod serve;
mod simulate;
mod table;

use clap::{Parser, Subcommand};

use crate::analysis::FetchError;
use std::process::ExitCode;

use crate::argo::{COOKIE_KEY as PLUGIN_COOKIE_KEY, COOKIE_VALUE as PLUGIN_COOKIE_VALUE};
pub use crate::build_info::VERSION;
pub(crate) use crate::stdio::{print_error, print_result};

/// Process exit statuses, shared by every subcommand so scripts and Argo's `job` provider can
/// branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Verdict pass.
    Pass = 0,
    /// Verdict fail.
    Fail = 1,
    /// Bad usage, bad input file or bad config.
    Usage = 2,
    /// Verdict inconclusive.
    Inconclusive = 3,
    /// A data source could not be read.
    DataSource = 4,
}

impl Exit {
    /// Exit status for a verdict.
    pub fn from_verdict(v: crate::stats::Verdict) -> Self {
        match v {
            crate::stats::Verdict::Pass => Exit::Pass,
            crate::stats::Verdict::Fail => Exit::Fail,
            crate::stats::Verdict::Inconclusive => Exit::Inconclusive,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A command that could not produce a result: the message is printed to stderr, and the
/// kind decides the exit status (2 for what the user wrote, 4 for a data source).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags or flag values (exit 2); the message names the flag.
    #[error("{0}")]
    Usage(String),
    /// A series file named on the command line (exit 2: the user named it).
    #[error(transparent)]
    SeriesFile(#[from] crate::source::SeriesFileError),
    /// The config or a series file (exit 2, or 4 when a series file cannot be read).
    #[error(transparent)]
    Analysis(#[from] crate::analysis::AnalysisError),
    /// Fetching the data (exit 4, or 2 when the config cannot be fetched as written or the
    /// window cannot be resolved).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The data sources file (`--sources`) or the choice of a source from it (exit 2).
    #[error("{0} (--sources)")]
    Sources(String),
    /// The Prometheus client could not be built from the config (exit 2).
    #[error(transparent)]
    Prometheus(#[from] crate::source::prometheus::PrometheusError),
    /// The guard (exit 4 when its judgement data failed, else 2).
    #[error(transparent)]
    Guard(#[from] crate::guard::GuardError),
    /// The report could not be encoded (exit 2).
    #[error("cannot encode the report: {0}")]
    Encode(#[from] serde_json::Error),
    /// A chart of the HTML report could not be drawn (exit 2).
    #[error(transparent)]
    Draw(#[from] crate::report::svg::SvgError),
    /// An output file could not be written (exit 2).
    #[error("cannot write {path}: {source}")]
    Write {
        /// Path as given.
        path: String,
        /// Operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not start (exit 2).
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl CliError {
    fn exit(&self) -> Exit {
        match self {
            CliError::Analysis(e) if e.is_data_source() => Exit::DataSource,
            CliError::Fetch(e) | CliError::Guard(crate::guard::GuardError::Fetch(e)) => match e {
                FetchError::Unsupported { .. } | FetchError::Window(_) => Exit::Usage,
                _ => Exit::DataSource,
            },
            _ => Exit::Usage,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "canary-judge",
    version = VERSION,
    about = "Judge a canary against its baseline: pass, fail or inconclusive",
    long_about = "Judge a canary against its baseline: pass, fail or inconclusive.\n\n\
                  Exit status: 0 pass, 1 fail, 3 inconclusive, 2 bad usage or config, \
                  4 data source error."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Judge every metric of a config file and print a table (or the JSON report).
    Analyze(analyze::AnalyzeArgs),
    /// Compare two series files with one method.
    Compare(Box<compare::CompareArgs>),
    /// Measure false-fail and detection rates of every method by simulation.
    Simulate(simulate::SimulateArgs),
    /// Guard a single machine: judge each new release, roll back on fail.
    Guard(guard::GuardArgs),
    /// Run as an Argo Rollouts metric-provider plugin (what Argo starts).
    Plugin,
    /// Run as a service: gRPC, Flagger webhooks, a Prometheus-API facade, health and metrics.
    Serve(serve::ServeArgs),
    /// Write the HTML report (or its look-by-look data as JSON) of a config's analysis.
    Report(Box<report::ReportArgs>),
    /// Re-judge the window look by look as a controller would, and print a table.
    Replay(Box<report::ReplayArgs>),
    /// Estimate false-fail and detection rates of a config on past Prometheus windows.
    Backtest(Box<backtest::BacktestArgs>),
}

/// Runs the command line and returns the process exit status.
pub fn main() -> ExitCode {
    // Plugin mode installs its own (hclog JSON) logger, so it is decided before ours.
    if std::env::var(PLUGIN_COOKIE_KEY).as_deref() == Ok(PLUGIN_COOKIE_VALUE)
        || std::env::args().nth(1).as_deref() == Some("plugin")
    {
        return run_plugin_mode();
    }
    init_logging();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version go to stdout with status 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let result = match cli.command {
        None => {
            print_error(&format!(
                "canary-judge judges a canary release against its baseline.\n\
                 It is normally started by Argo Rollouts as a metric plugin (with {PLUGIN_COOKIE_KEY}={PLUGIN_COOKIE_VALUE} set),\n\
                 or run by hand with a subcommand:\n\
                 \x20 canary-judge analyze CONFIG [--json] [--since T] [--until T] [--var K=V]...\n\
                 \x20 canary-judge compare --method METHOD --canary FILE --baseline FILE\n\
                 \x20 canary-judge simulate [--rollouts N] [--looks L] [--seed S]\n\
                 \x20 canary-judge guard --config GUARD.yaml run|activate VERSION|rollback|recover|status\n\
                 \x20 canary-judge serve --config SERVE.yaml\n\
                 \x20 canary-judge report CONFIG [-o report.html] [--json] [--every 1m]\n\
                 \x20 canary-judge replay CONFIG [--every 1m] [--methods a,b]\n\
                 \x20 canary-judge plugin   (what Argo Rollouts starts)\n\
                 Run `canary-judge --help` for more.\n"
            ));
            return Exit::Usage.into();
        }
        Some(Command::Analyze(args)) => analyze::run(&args),
        Some(Command::Compare(args)) => compare::run(&args),
        Some(Command::Simulate(args)) => simulate::run(&args),
        Some(Command::Guard(args)) => guard::run(&args),
        Some(Command::Report(args)) => report::run_report(&args),
        Some(Command::Replay(args)) => report::run_replay(&args),
        Some(Command::Backtest(args)) => backtest::run(&args),
        Some(Command::Plugin) => return run_plugin_mode(),
        Some(Command::Serve(args)) => return serve::run(args),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            tracing::debug!(error = %e, "command failed");
            print_error(&format!("error: {e}\n"));
            e.exit().into()
        }
    }
}

/// Plugin mode hook: Argo starts the binary with the magic cookie set (or the `plugin`
/// subcommand is given); the Argo front door serves the go-plugin handshake from here.
fn run_plugin_mode() -> ExitCode {
    crate::argo::serve_plugin()
}

/// Logs to stderr only (stdout belongs to results and the plugin handshake). The filter comes
/// from `CANARY_JUDGE_LOG` (e.g. `debug`), default `warn`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANARY_JUDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
}
