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
pub use series::{AnalysisError, ArmData, MetricData, SeriesSet, load_config_file, load_series};
