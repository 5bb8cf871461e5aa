//! `canary-judge analyze CONFIG [--json]`: load a config and its series, run the engine, print
//! the per-metric table (or the JSON report) and exit with the verdict's status.

use super::{CliError, Exit, table};
use crate::analysis::{self, AnalysisError};
use std::path::PathBuf;

/// Arguments of `analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Analysis config (YAML, or JSON); file paths inside are relative to it.
    config: PathBuf,
    /// Print the full report as JSON instead of the table.
    #[arg(long)]
    json: bool,
}

fn to_cli(e: AnalysisError) -> CliError {
    if e.is_data_source() {
        CliError::DataSource(e.to_string())
    } else {
        CliError::Usage(e.to_string())
    }
}

/// Run `analyze`.
pub fn run(args: &AnalyzeArgs) -> Result<Exit, CliError> {
    let (config, base) = analysis::load_config_file(&args.config).map_err(to_cli)?;
    tracing::info!(config = %args.config.display(), metrics = config.metrics.len(), "loaded config");
    let data = analysis::load_series(&config, &base).map_err(to_cli)?;
    let report = analysis::evaluate(&config, &data);
    tracing::info!(verdict = %report.verdict, score = ?report.score, "analysis done");
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::Usage(format!("cannot encode report: {e}")))?;
        super::print_result(&(text + "\n"));
    } else {
        super::print_result(&table::report_table(&report));
    }
    Ok(Exit::from_verdict(report.verdict))
}
