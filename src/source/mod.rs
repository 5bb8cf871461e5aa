//! Data sources: where one arm's series comes from — numbers written inline in the config,
//! recorded series files on disk, or a Prometheus `query` (`prometheus/`) — and which
//! Prometheus a config may reach (`catalog`: the operator's named sources and the trust
//! rule). Parsing lives here so the CLI and the engine read files alike.

pub mod catalog;
pub mod files;
pub mod prometheus;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use files::{
    ParsedValues, parse_histogram, parse_values, read_histogram_file, read_values, read_values_file,
};

/// Where one series (values, events or traffic, or a histogram) comes from. Written in configs
/// as a one-key map: `{values: [...]}`, `{file: data/x.csv}` or `{query: "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SourceFields", into = "SourceFields")]
pub enum SeriesSource {
    /// Numbers written in the config itself (handy for tests and small examples).
    Values(Vec<f64>),
    /// A recorded series file, relative to the config file's directory.
    File(PathBuf),
    /// A Prometheus query (PromQL), fetched over the analysis window.
    Query(String),
}

/// The written form of a [`SeriesSource`]: a map with exactly one of the three keys. (YAML
/// libraries spell externally tagged enums as `!tags`; a plain map reads better in configs.)
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFields {
    /// Inline numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
    /// Recorded series file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Prometheus query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

impl TryFrom<SourceFields> for SeriesSource {
    type Error = String;
    fn try_from(f: SourceFields) -> Result<Self, Self::Error> {
        match (f.values, f.file, f.query) {
            (Some(v), None, None) => Ok(SeriesSource::Values(v)),
            (None, Some(p), None) => Ok(SeriesSource::File(p)),
            (None, None, Some(q)) => Ok(SeriesSource::Query(q)),
            _ => Err("give exactly one of `values`, `file` or `query`".to_string()),
        }
    }
}

impl From<SeriesSource> for SourceFields {
    fn from(s: SeriesSource) -> Self {
        match s {
            SeriesSource::Values(v) => SourceFields {
                values: Some(v),
                ..Default::default()
            },
            SeriesSource::File(p) => SourceFields {
                file: Some(p),
                ..Default::default()
            },
            SeriesSource::Query(q) => SourceFields {
                query: Some(q),
                ..Default::default()
            },
        }
    }
}

impl SeriesSource {
    /// Short description for messages: `inline values`, `file data/x.csv`, `query ...`.
    pub fn describe(&self) -> String {
        match self {
            SeriesSource::Values(v) => format!("inline values ({} numbers)", v.len()),
            SeriesSource::File(p) => format!("file {}", p.display()),
            SeriesSource::Query(q) => format!("query `{q}`"),
        }
    }

    /// Load a scalar series (numbers, one per interval). Relative file paths are resolved
    /// against `base_dir`. NaN and infinities are returned as they are; callers decide.
    pub fn load_values(&self, base_dir: &Path) -> Result<Vec<f64>, SeriesFileError> {
        match self {
            SeriesSource::Values(v) => Ok(v.clone()),
            SeriesSource::File(p) => read_values_file(&base_dir.join(p)),
            SeriesSource::Query(q) => Err(SeriesFileError::QueryUnavailable { query: q.clone() }),
        }
    }

    /// Load a histogram series (cumulative bucket counts per interval).
    pub fn load_histogram(
        &self,
        base_dir: &Path,
    ) -> Result<crate::stats::quantile::HistogramSeries, SeriesFileError> {
        match self {
            SeriesSource::Values(_) => Err(SeriesFileError::Format {
                origin: "inline values".into(),
                at: None,
                why:
                    "a histogram needs a file (CSV `timestamp,le,count` or JSON), not inline values"
                        .into(),
            }),
            SeriesSource::File(p) => read_histogram_file(&base_dir.join(p)),
            SeriesSource::Query(q) => Err(SeriesFileError::QueryUnavailable { query: q.clone() }),
        }
    }
}

/// Checks that the `file:` path `path` stays inside `root` before anything reads it. Front
/// doors whose configs come from someone other than the operator (the Argo plugin reads
/// AnalysisTemplates but runs as the controller) use it so a config cannot name
/// `/var/run/secrets/...` or `../../etc/passwd`: only relative paths without `..` pass,
/// and an existing file must still be under `root` once symlinks are resolved. A path that
/// does not exist passes here and fails as unreadable when loaded.
pub fn confine_file(root: &Path, path: &Path) -> Result<(), SeriesFileError> {
    use std::path::Component;
    let outside = || SeriesFileError::OutsideRoot {
        path: path.display().to_string(),
        root: root.display().to_string(),
    };
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(outside());
    }
    let joined = root.join(path);
    match (joined.canonicalize(), root.canonicalize()) {
        (Ok(file), Ok(dir)) if !file.starts_with(&dir) => Err(outside()),
        _ => Ok(()),
    }
}

/// Why a series could not be loaded; every message names the file (and line) or the query.
#[derive(Debug, thiserror::Error)]
pub enum SeriesFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File path as given.
        path: String,
        /// Operating-system error.
        source: std::io::Error,
    },
    /// The file holds no numbers at all.
    #[error("{origin} is empty: it holds no values")]
    Empty {
        /// File path or description.
        origin: String,
    },
    /// A line or element that is not what the format allows.
    #[error("{origin}{}: {why}", at.as_ref().map(|a| format!(" {a}")).unwrap_or_default())]
    Format {
        /// File path or description.
        origin: String,
        /// Where in it (`line 3`, `element 4`), when known.
        at: Option<String>,
        /// What is wrong.
        why: String,
    },
    /// A `file:` path that leaves the directory the caller may read from.
    #[error(
        "file {path} is outside the data directory {root}: only relative paths below it are read"
    )]
    OutsideRoot {
        /// File path as given.
        path: String,
        /// The directory files must stay in.
        root: String,
    },
    /// A `query` source was configured but this build has no Prometheus client.
    #[error("Prometheus source not available in this build yet (query `{query}`)")]
    QueryUnavailable {
        /// The PromQL text.
        query: String,
    },
}

#[cfg(test)]
mod confine_tests {
    use super::{SeriesFileError, confine_file};
    use std::path::Path;

    #[test]
    fn relative_paths_below_the_root_pass_and_escapes_do_not() {
        let root = std::env::temp_dir().join(format!("cj-confine-{}", std::process::id()));
        let inside = root.join("data");
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::write(inside.join("a.csv"), "1\n").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", inside.join("escape.csv")).unwrap();
        std::os::unix::fs::symlink("a.csv", inside.join("alias.csv")).unwrap();

        for ok in [
            "data/a.csv",
            "./data/a.csv",
            "data/alias.csv",
            "data/missing.csv",
        ] {
            assert!(confine_file(&root, Path::new(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "/etc/passwd",
            "../x.csv",
            "data/../../x.csv",
            "data/escape.csv",
        ] {
            let e = confine_file(&root, Path::new(bad)).unwrap_err();
            assert!(
                matches!(e, SeriesFileError::OutsideRoot { .. }),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains("outside the data directory"), "{e}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
