//! The data an analysis judges: per metric, each arm's series as loaded (NaN kept, so the
//! engine applies the metric's NaN strategy). Front doors either call [`load_series`] (files
//! and inline values) or fill a [`SeriesSet`] themselves (e.g. from Prometheus).

use super::config::{AnalysisConfig, ArmSpec, ConfigError};
use crate::source::{SeriesFileError, SeriesSource};
use crate::stats::counts::CountSeries;
use crate::stats::quantile::HistogramSeries;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One arm's data, in the shape its method consumes (`statistics.md` §6.1 data model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmData {
    /// Per-interval scalars, with requests per interval when known (threshold guard).
    Values {
        /// The series.
        values: Vec<f64>,
        /// Requests per interval, if given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traffic: Option<Vec<f64>>,
    },
    /// Events and traffic per disjoint interval.
    Counts(CountSeries),
    /// Cumulative bucket counts per interval.
    Histogram(HistogramSeries),
}

impl ArmData {
    /// Scalar values without traffic.
    pub fn values(values: Vec<f64>) -> Self {
        ArmData::Values {
            values,
            traffic: None,
        }
    }
}

/// Both arms of one metric; `None` means the source returned nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricData {
    /// Canary data.
    pub canary: Option<ArmData>,
    /// Baseline data.
    pub baseline: Option<ArmData>,
}

/// All loaded data of one analysis, keyed by metric name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SeriesSet {
    /// Data per metric name; a metric missing here has no data.
    pub metrics: BTreeMap<String, MetricData>,
}

impl SeriesSet {
    /// Data of one metric, if any was loaded.
    pub fn get(&self, metric: &str) -> Option<&MetricData> {
        self.metrics.get(metric)
    }

    /// Set one metric's data (builder style, for front doors and tests).
    pub fn with(mut self, metric: &str, canary: ArmData, baseline: Option<ArmData>) -> Self {
        self.metrics.insert(
            metric.to_string(),
            MetricData {
                canary: Some(canary),
                baseline,
            },
        );
        self
    }
}

/// Everything that can go wrong between a config file and a report. The CLI maps `Config`
/// and `ConfigIo` to exit status 2 and `Source`/`Data` to 4.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The config file could not be read.
    #[error("cannot read config {path}: {source}")]
    ConfigIo {
        /// Path as given.
        path: String,
        /// Operating-system error.
        source: std::io::Error,
    },
    /// The config is invalid.
    #[error("config {path}: {source}")]
    Config {
        /// Path (or `<json>`) of the config.
        path: String,
        /// What is wrong.
        source: ConfigError,
    },
    /// A data source failed.
    #[error("metric `{metric}` {arm}: {source}")]
    Source {
        /// Metric name.
        metric: String,
        /// `canary` or `baseline` (and which series).
        arm: String,
        /// The source's error.
        source: SeriesFileError,
    },
    /// Data loaded but inconsistent (e.g. events and traffic of different lengths).
    #[error("metric `{metric}` {arm}: {why}")]
    Data {
        /// Metric name.
        metric: String,
        /// `canary` or `baseline`.
        arm: String,
        /// What is wrong.
        why: String,
    },
}

impl AnalysisError {
    /// True when the problem is in the data sources rather than the config (exit status 4).
    pub fn is_data_source(&self) -> bool {
        matches!(
            self,
            AnalysisError::Source { .. } | AnalysisError::Data { .. }
        )
    }
}

/// Read and validate a config file (YAML, or JSON if it starts with `{`). Returns the config
/// and the directory relative file paths are resolved against.
pub fn load_config_file(path: &Path) -> Result<(AnalysisConfig, PathBuf), AnalysisError> {
    let text = std::fs::read_to_string(path).map_err(|source| AnalysisError::ConfigIo {
        path: path.display().to_string(),
        source,
    })?;
    let config = AnalysisConfig::from_str_auto(&text).map_err(|source| AnalysisError::Config {
        path: path.display().to_string(),
        source,
    })?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok((config, base))
}

/// Load every metric's data from inline values and files (paths relative to `base_dir`).
/// `query` sources fail with "Prometheus source not available in this build yet".
pub fn load_series(config: &AnalysisConfig, base_dir: &Path) -> Result<SeriesSet, AnalysisError> {
    let mut set = SeriesSet::default();
    for metric in &config.metrics {
        let canary = load_arm(&metric.name, "canary", &metric.canary, base_dir)?;
        let baseline = match &metric.baseline {
            Some(spec) => Some(load_arm(&metric.name, "baseline", spec, base_dir)?),
            None => None,
        };
        set.metrics.insert(
            metric.name.clone(),
            MetricData {
                canary: Some(canary),
                baseline,
            },
        );
    }
    Ok(set)
}

/// One `file:` source of a config: metric name, arm label (as in [`AnalysisError::Source`])
/// and the path as written.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSource<'a> {
    /// Metric name.
    pub metric: &'a str,
    /// `canary` or `baseline`, with the series (`canary.traffic`).
    pub arm: String,
    /// Path as written in the config.
    pub path: &'a Path,
}

/// Every `file:` source in `config`, in config order. The service refuses them in configs a
/// client sends (they would read the server's disk); the plugin confines them.
pub fn file_sources(config: &AnalysisConfig) -> Vec<FileSource<'_>> {
    let mut out = Vec::new();
    for metric in &config.metrics {
        let arms = std::iter::once(("canary", &metric.canary))
            .chain(metric.baseline.as_ref().map(|b| ("baseline", b)));
        for (arm, spec) in arms {
            for (which, source) in spec.sources() {
                if let SeriesSource::File(path) = source {
                    out.push(FileSource {
                        metric: &metric.name,
                        arm: if which.is_empty() {
                            arm.to_string()
                        } else {
                            format!("{arm}.{which}")
                        },
                        path,
                    });
                }
            }
        }
    }
    out
}

/// Fails on the first `file:` source that leaves `root` (see
/// [`crate::source::confine_file`]), naming its metric and arm.
pub fn check_files_within(config: &AnalysisConfig, root: &Path) -> Result<(), AnalysisError> {
    for f in file_sources(config) {
        crate::source::confine_file(root, f.path).map_err(|source| AnalysisError::Source {
            metric: f.metric.to_string(),
            arm: f.arm.clone(),
            source,
        })?;
    }
    Ok(())
}

fn load_arm(
    metric: &str,
    arm: &str,
    spec: &ArmSpec,
    base: &Path,
) -> Result<ArmData, AnalysisError> {
    let source_err = |which: &str, source: SeriesFileError| AnalysisError::Source {
        metric: metric.to_string(),
        arm: if which.is_empty() {
            arm.to_string()
        } else {
            format!("{arm}.{which}")
        },
        source,
    };
    let values =
        |which: &str, s: &SeriesSource| s.load_values(base).map_err(|e| source_err(which, e));
    match spec {
        ArmSpec::Values { series, traffic } => {
            let v = values("", series)?;
            let t = match traffic {
                Some(t) => Some(values("traffic", t)?),
                None => None,
            };
            Ok(ArmData::Values {
                values: v,
                traffic: t,
            })
        }
        ArmSpec::Counts { events, traffic } => {
            let e = values("events", events)?;
            let t = values("traffic", traffic)?;
            if e.len() != t.len() {
                return Err(AnalysisError::Data {
                    metric: metric.to_string(),
                    arm: arm.to_string(),
                    why: format!(
                        "events has {} intervals but traffic has {}",
                        e.len(),
                        t.len()
                    ),
                });
            }
            Ok(ArmData::Counts(CountSeries {
                events: e,
                traffic: t,
            }))
        }
        ArmSpec::Histogram(source) => source
            .load_histogram(base)
            .map(ArmData::Histogram)
            .map_err(|e| source_err("histogram", e)),
    }
}
