//! Analysis model: the config format (metrics, methods, scoring) and the engine that turns
//! (config, series) into per-metric decisions and one aggregate verdict. Front doors (CLI,
//! Argo plugin, service) call [`load_series`] or build a [`SeriesSet`], then [`evaluate`];
//! nothing here knows about any front door.

pub mod config;
pub mod engine;
pub mod fetch;
pub mod scoring;
pub mod series;

pub use config::{AnalysisConfig, ConfigError, MethodName, MethodParams, ScoringMode};
pub use engine::{AnalysisReport, MetricOutcome, MetricReport, evaluate};
pub use fetch::{FetchError, Fetched, fetch_detailed, fetch_series};
pub use series::{
    AnalysisError, ArmData, FileSource, MetricData, SeriesSet, check_files_within, file_sources,
    load_config_file, load_series,
};
