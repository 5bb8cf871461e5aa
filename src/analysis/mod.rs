//! Analysis model: the config format (metrics, methods, scoring) and the engine that turns
//! (config, series) into per-metric decisions and one aggregate verdict. Front doors (CLI,
//! Argo plugin, service) call [`load_series`] or build a [`SeriesSet`], then [`evaluate`];
//! nothing here knows about any front door.

pub mod comparison;
pub mod config;
pub mod engine;
pub mod fetch;
pub mod report;
pub mod scoring;
pub mod series;
pub mod window;

pub use comparison::{COMPARISON_METRIC, Comparison, ComparisonArm};
pub use config::{AnalysisConfig, ConfigError, MethodName, MethodParams, ScoringMode};
pub use engine::evaluate;
pub use fetch::{FetchError, Fetched, fetch_detailed, fetch_series};
pub use report::{AnalysisReport, GroupScore, MetricOutcome, MetricReport};
pub use series::{
    AnalysisError, ArmData, FileSource, MetricData, SeriesSet, check_files_within, file_sources,
    load_config_file, load_series,
};
pub use window::resolve_window;
