//! `canary-judge guard`: the single-machine front door (`crate::guard`). `run` judges every
//! newly active release and rolls back on fail; `activate`, `rollback`, `recover` and
//! `status` are the one-shot operations an operator or a deploy script calls.

use super::{CliError, Exit, print_result};
use crate::guard::{self, GuardConfig};
use std::path::PathBuf;

/// Arguments of `guard`.
#[derive(Debug, clap::Args)]
pub struct GuardArgs {
    /// Guard config file (YAML).
    #[arg(long, short = 'c')]
    config: PathBuf,
    #[command(subcommand)]
    action: GuardAction,
}

#[derive(Debug, clap::Subcommand)]
enum GuardAction {
    /// Watch and judge until SIGTERM/SIGINT.
    Run,
    /// Switch `current` to a release (the running guard judges it).
    Activate {
        /// Release directory name under `releases/`.
        version: String,
    },
    /// Roll back to the last release judged good (no-op when it is active).
    Rollback,
    /// Finish or undo an interrupted switch and repair `current`.
    Recover,
    /// Print the state as JSON.
    Status,
}

fn print_json<T: serde::Serialize>(v: &T) {
    print_result(&format!(
        "{}\n",
        serde_json::to_string_pretty(v).unwrap_or_default()
    ));
}

/// Run `guard`.
pub fn run(args: &GuardArgs) -> Result<Exit, CliError> {
    let cfg = GuardConfig::load(&args.config)?;
    match &args.action {
        GuardAction::Run => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(CliError::Runtime)?;
            rt.block_on(guard::run(cfg))?;
        }
        GuardAction::Activate { version } => print_json(&guard::activate(&cfg, version)?),
        GuardAction::Rollback => print_json(&guard::rollback_to_last_good(&cfg, "cli rollback")?),
        GuardAction::Recover => print_json(&guard::recover(&cfg)?),
        GuardAction::Status => print_json(&guard::status(&cfg)?),
    }
    Ok(Exit::Pass)
}
