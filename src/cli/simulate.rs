//! `canary-judge simulate`: Monte-Carlo false-fail and detection rates of every method under
//! repeated looks (`crate::simulate`), printed as a table or JSON. Seeded, so reproducible.

use super::{CliError, Exit};
use crate::simulate::axes::{self, AxesConfig, Axis};
use crate::simulate::{self, SimulationConfig};

/// Arguments of `simulate`; unset ones keep `SimulationConfig::default()`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Simulated rollouts per method and scenario.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    rollouts: Option<u64>,
    /// Looks (analysis steps) per rollout.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    looks: Option<u64>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Significance level of every method.
    #[arg(long)]
    alpha: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Run the scenario axes (traffic, zero errors, burn-ins, drift, margins) instead of the
    /// default table.
    #[arg(long)]
    axes: bool,
    /// With `--axes`: only this axis (repeatable).
    #[arg(long, value_enum, requires = "axes")]
    axis: Vec<Axis>,
}

fn size(v: u64, flag: &str) -> Result<usize, CliError> {
    usize::try_from(v).map_err(|_| CliError::Usage(format!("--{flag} {v} is too large")))
}

/// Run `simulate --axes`.
fn run_axes(args: &SimulateArgs, base: &SimulationConfig) -> Result<Exit, CliError> {
    let mut cfg = AxesConfig {
        looks: base.looks,
        alpha: base.alpha,
        ..AxesConfig::default()
    };
    if let Some(r) = args.rollouts {
        cfg.rollouts = size(r, "rollouts")?;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if !args.axis.is_empty() {
        cfg.axes = args.axis.clone();
    }
    tracing::info!(
        rollouts = cfg.rollouts,
        looks = cfg.looks,
        seed = cfg.seed,
        "simulating axes"
    );
    let report = axes::run(&cfg);
    emit(&report, args.json)
}

/// Run `simulate`.
pub fn run(args: &SimulateArgs) -> Result<Exit, CliError> {
    let mut cfg = SimulationConfig::default();
    if let Some(r) = args.rollouts {
        cfg.rollouts = size(r, "rollouts")?;
    }
    if let Some(l) = args.looks {
        cfg.looks = size(l, "looks")?;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if let Some(a) = args.alpha {
        if !(a > 0.0 && a < 1.0) {
            return Err(CliError::Usage(format!(
                "--alpha {a} must be strictly between 0 and 1"
            )));
        }
        cfg.alpha = a;
    }
    if args.axes {
        return run_axes(args, &cfg);
    }
    tracing::info!(
        rollouts = cfg.rollouts,
        looks = cfg.looks,
        seed = cfg.seed,
        "simulating"
    );
    let report = simulate::run(&cfg);
    emit(&report, args.json)
}

/// Prints a simulation report as its table or, with `--json`, as JSON.
fn emit<R: serde::Serialize + std::fmt::Display>(report: &R, json: bool) -> Result<Exit, CliError> {
    if json {
        let text = serde_json::to_string_pretty(report)?;
        super::print_result(&(text + "\n"));
    } else {
        super::print_result(&format!("{report}\n"));
    }
    Ok(Exit::Pass)
}
