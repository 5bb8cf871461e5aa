//! `canary-judge analyze CONFIG [--json] [--since T] [--until T] [--var k=v]... [--prometheus URL]`:
//! load a config and its series (files, inline values, and Prometheus `query` arms over the
//! analysis window), run the engine, print the per-metric table (or the JSON report) and exit
//! with the verdict's status. A Prometheus fault exits 4 with a message naming the address
//! and the cause; a query without data follows the metric's no-data policy.

use super::{CliError, Exit, table};
use crate::analysis::fetch;
use crate::analysis::{self, SeriesSet};
use crate::source::catalog::{Origin, SourceCatalog};
use crate::source::prometheus::{PrometheusConfig, PrometheusSource};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Analysis config (YAML, or JSON); file paths inside are relative to it.
    config: PathBuf,
    /// Print the full report as JSON instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

/// Where a config's `query` arms are fetched from and over which window; shared by every
/// command that loads a config's data (`analyze`, `report`, `replay`).
#[derive(Debug, clap::Args)]
pub(super) struct DataArgs {
    /// Start of the analysis window for `query` arms: Unix seconds, RFC 3339, `now-30m`.
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// End of the window (default `now`); pin it for reproducible results.
    #[arg(long, value_name = "T")]
    pub(super) until: Option<String>,
    /// Value for a `{{name}}` placeholder in queries (repeatable), e.g. `--var canary-hash=abc`.
    #[arg(long = "var", value_name = "K=V")]
    vars: Vec<String>,
    /// Prometheus base URL, overriding the config's `prometheus.address`.
    #[arg(long, value_name = "URL", env = "CANARY_JUDGE_PROMETHEUS_URL")]
    prometheus: Option<String>,
    /// Data sources file (the same format the plugin's `--sources` reads), for configs that
    /// name a `source:`.
    #[arg(long, value_name = "FILE", env = "CANARY_JUDGE_SOURCES")]
    sources: Option<std::path::PathBuf>,
}

fn parse_vars(raw: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    let mut vars = BTreeMap::new();
    for kv in raw {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--var {kv:?}: expected NAME=VALUE")))?;
        if k.trim().is_empty() {
            return Err(CliError::Usage(format!("--var {kv:?}: empty name")));
        }
        vars.insert(k.trim().to_string(), v.to_string());
    }
    Ok(vars)
}

pub(super) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Fetches the `query` metrics; `Ok(None)` when the config has none.
pub(super) fn fetch_queries(
    args: &DataArgs,
    config: &analysis::AnalysisConfig,
    base: &std::path::Path,
) -> Result<Option<(fetch::Fetched, String)>, CliError> {
    if !config.has_queries() {
        return Ok(None);
    }
    let (start, end) = crate::analysis::resolve_window(
        &config.window,
        args.since.as_deref(),
        args.until.as_deref(),
        None,
        unix_now(),
    )
    .map_err(fetch::FetchError::from)?;
    let fetcher = Fetcher::new(args, config)?;
    Ok(Some((
        fetcher.fetch(config, base, start, end)?,
        fetcher.source.address().to_string(),
    )))
}

/// The Prometheus source, template variables and runtime of a config's `query` arms, so a
/// command that judges many windows (`backtest`) builds them once.
pub(super) struct Fetcher {
    source: PrometheusSource,
    vars: BTreeMap<String, String>,
    runtime: tokio::runtime::Runtime,
}

impl Fetcher {
    /// Chooses the source as `analyze` does (flags, the config's `prometheus:`, `--sources`).
    pub(super) fn new(
        args: &DataArgs,
        config: &analysis::AnalysisConfig,
    ) -> Result<Self, CliError> {
        let catalog = match &args.sources {
            Some(path) => {
                SourceCatalog::load(path).map_err(|e| CliError::Sources(e.to_string()))?
            }
            None => SourceCatalog::default(),
        };
        let prom_cfg = match (&args.prometheus, &config.prometheus, &config.source) {
            (Some(url), Some(c), _) => {
                let mut c = c.clone();
                c.address = url.clone();
                c
            }
            (Some(url), None, None) if catalog.is_empty() => {
                PrometheusConfig::with_address(url.clone())
            }
            (None, None, None) if catalog.is_empty() => {
                return Err(CliError::Usage(
                "the config has `query` arms but no `prometheus:` block (give --prometheus URL, \
                 or --sources FILE with a `source:` in the config)"
                    .to_string(),
            ));
            }
            (url, inline, name) => {
                let (_, mut c) = catalog
                    .choose(name.as_deref(), inline.as_ref(), Origin::Operator, None)
                    .map_err(|e| CliError::Sources(e.to_string()))?;
                if let Some(url) = url {
                    c.address = url.clone();
                }
                c
            }
        };
        let source = PrometheusSource::new(&prom_cfg)?;
        let vars = parse_vars(&args.vars)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(CliError::Runtime)?;
        Ok(Fetcher {
            source,
            vars,
            runtime,
        })
    }

    /// Fetches every metric over `[start, end]` (Unix seconds).
    pub(super) fn fetch(
        &self,
        config: &analysis::AnalysisConfig,
        base: &std::path::Path,
        start: i64,
        end: i64,
    ) -> Result<fetch::Fetched, CliError> {
        tracing::info!(address = %self.source.address(), start, end, "fetching from Prometheus");
        Ok(self.runtime.block_on(fetch::fetch_detailed(
            config,
            &self.source,
            start,
            end,
            &self.vars,
            base,
        ))?)
    }
}

/// Run `analyze`.
pub fn run(args: &AnalyzeArgs) -> Result<Exit, CliError> {
    let (config, base) = analysis::load_config_file(&args.config)?;
    tracing::info!(config = %args.config.display(), metrics = config.metrics.len(), "loaded config");
    let fetched = fetch_queries(&args.data, &config, &base)?;
    let data: SeriesSet = match &fetched {
        Some((f, _)) => f.series.clone(),
        None => analysis::load_series(&config, &base)?,
    };
    let report = analysis::evaluate(&config, &data);
    tracing::info!(verdict = %report.verdict, score = ?report.score, "analysis done");
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let (Some((f, address)), Some(obj)) = (&fetched, value.as_object_mut()) {
            obj.insert(
                "prometheus".to_string(),
                serde_json::json!({
                    "address": address,
                    "start": f.start,
                    "end": f.end,
                    "metrics": f.metrics,
                }),
            );
        }
        let text = serde_json::to_string_pretty(&value)?;
        super::print_result(&(text + "\n"));
    } else {
        let mut text = table::report_table(&report);
        if let Some((f, address)) = &fetched {
            text.push_str(&format!(
                "prometheus {address}, window {} .. {} (Unix s)\n",
                f.start, f.end
            ));
            for (name, m) in &f.metrics {
                let arm = |a: &fetch::ArmFetch| match &a.no_data {
                    Some(_) => "no data".to_string(),
                    None => match (a.events, a.traffic) {
                        (Some(e), Some(t)) => {
                            format!("{} points, {e} events / {t} traffic", a.points)
                        }
                        _ => format!("{} points", a.points),
                    },
                };
                let base = m
                    .baseline
                    .as_ref()
                    .map(arm)
                    .unwrap_or_else(|| "-".to_string());
                text.push_str(&format!(
                    "  {name}: step {}s, canary {}, baseline {}\n",
                    m.step_seconds,
                    arm(&m.canary),
                    base
                ));
            }
        }
        super::print_result(&text);
    }
    Ok(Exit::from_verdict(report.verdict))
}
