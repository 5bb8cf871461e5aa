//! The config watcher: watches the active release's config directory (`notify`) and checks
//! every `*.json`, `*.yaml` and `*.yml` file against the user's schema (a JSON-Schema
//! subset: `required` and per-property `type`). A valid file is copied aside as the last
//! valid copy; an invalid one (unparseable, or missing a required field) is replaced with
//! that copy atomically and a warning is logged and audited.

use super::config::WatchConfig;
use super::handle::Guard;
use super::state::write_atomic;
use notify::{RecursiveMode, Watcher};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// The schema a config file must satisfy.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Schema {
    /// Top-level fields that must be present.
    #[serde(default)]
    pub required: Vec<String>,
    /// Expected JSON type per field (`string`, `number`, `integer`, `boolean`, `object`,
    /// `array`).
    #[serde(default)]
    pub properties: BTreeMap<String, PropertySchema>,
}

/// One property's expected type.
#[derive(Debug, Clone, Deserialize)]
pub struct PropertySchema {
    /// JSON type name; an unknown name (`strng`) makes the schema file fail to load instead
    /// of accepting every value.
    #[serde(rename = "type")]
    pub kind: Option<JsonType>,
}

/// The JSON type names a schema may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// A string.
    String,
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A map.
    Object,
    /// A list.
    Array,
    /// `null`.
    Null,
}

impl JsonType {
    fn name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::Boolean => "boolean",
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::Null => "null",
        }
    }

    fn matches(self, v: &serde_json::Value) -> bool {
        match self {
            JsonType::String => v.is_string(),
            JsonType::Number => v.is_number(),
            JsonType::Integer => v.is_i64() || v.is_u64(),
            JsonType::Boolean => v.is_boolean(),
            JsonType::Object => v.is_object(),
            JsonType::Array => v.is_array(),
            JsonType::Null => v.is_null(),
        }
    }
}

impl Schema {
    /// Read a schema file (JSON or YAML).
    pub fn load(path: &Path) -> Result<Schema, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Why `text` (named `file`) does not satisfy the schema, or `Ok`.
    pub fn check(&self, file: &Path, text: &str) -> Result<(), String> {
        let is_json = file.extension().is_some_and(|e| e == "json");
        let value: serde_json::Value = if is_json {
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?
        };
        let obj = value.as_object().ok_or("the top level is not a map")?;
        for r in &self.required {
            if !obj.contains_key(r) {
                return Err(format!("required field `{r}` is missing"));
            }
        }
        for (name, p) in &self.properties {
            let (Some(v), Some(kind)) = (obj.get(name), p.kind) else {
                continue;
            };
            if !kind.matches(v) {
                return Err(format!("field `{name}` should be of type {}", kind.name()));
            }
        }
        Ok(())
    }
}

fn is_config_file(p: &Path) -> bool {
    let hidden = p
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'));
    !hidden
        && p.extension()
            .is_some_and(|e| e == "json" || e == "yaml" || e == "yml")
}

struct WatchState {
    guard: Guard,
    cfg: WatchConfig,
    schema: Schema,
}

impl WatchState {
    fn saved_copy(&self, version: &str, file: &Path) -> PathBuf {
        let name = file.file_name().map(PathBuf::from).unwrap_or_default();
        self.guard
            .store
            .dir()
            .join("last-valid")
            .join(version)
            .join(name)
    }

    /// Check one file; save it when valid, restore the saved copy when not.
    fn check_file(&self, version: &str, file: &Path) {
        let text = match std::fs::read(file) {
            Ok(t) => t,
            // A deleted file is restored too: it is as broken as an empty one.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "cannot read config file");
                return;
            }
        };
        let copy = self.saved_copy(version, file);
        let verdict = match std::str::from_utf8(&text) {
            Ok(t) => self.schema.check(file, t),
            Err(_) => Err("not UTF-8".to_string()),
        };
        match verdict {
            Ok(()) => {
                if std::fs::read(&copy).ok().as_deref() != Some(text.as_slice()) {
                    if let Some(dir) = copy.parent() {
                        let _ = std::fs::create_dir_all(dir);
                    }
                    if let Err(e) = write_atomic(&copy, &text) {
                        tracing::warn!(error = %e, "cannot save the last valid config copy");
                    }
                }
            }
            Err(problem) => match std::fs::read(&copy) {
                Ok(good) => match write_atomic(file, &good) {
                    Ok(()) => {
                        tracing::warn!(file = %file.display(), %problem, "config invalid; restored the last valid copy");
                        self.guard.store.audit_event(
                            "config-restored",
                            None,
                            Some(version),
                            &format!("{}: {problem}", file.display()),
                            None,
                        );
                    }
                    Err(e) => {
                        tracing::error!(file = %file.display(), error = %e, "cannot restore config")
                    }
                },
                Err(_) => {
                    tracing::warn!(file = %file.display(), %problem, "config invalid and no valid copy is known");
                }
            },
        }
    }

    fn check_dir(&self, version: &str, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if is_config_file(&p) {
                self.check_file(version, &p);
            }
        }
    }
}

/// Start the watcher thread; it follows `current` to whichever release is active.
pub fn spawn(guard: Guard, cfg: WatchConfig) {
    std::thread::spawn(move || {
        let schema = match Schema::load(&cfg.schema) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "config schema unreadable; config watching is off");
                return;
            }
        };
        let ws = WatchState { guard, cfg, schema };
        watch_loop(&ws);
    });
}

fn watch_loop(ws: &WatchState) {
    let mut watching: Option<(
        String,
        notify::RecommendedWatcher,
        mpsc::Receiver<notify::Result<notify::Event>>,
    )> = None;
    let mut known: BTreeMap<PathBuf, ()> = BTreeMap::new();
    loop {
        let active = ws.guard.layout.current().ok().flatten();
        if active.as_deref() != watching.as_ref().map(|w| w.0.as_str()) {
            watching = None;
            known.clear();
            if let Some(v) = active {
                let dir = ws.guard.layout.release_dir(&v).join(&ws.cfg.dir);
                ws.check_dir(&v, &dir);
                let (tx, rx) = mpsc::channel();
                match notify::recommended_watcher(tx) {
                    Ok(mut w) => match w.watch(&dir, RecursiveMode::NonRecursive) {
                        Ok(()) => {
                            tracing::info!(dir = %dir.display(), "watching config");
                            watching = Some((v, w, rx));
                        }
                        Err(e) => {
                            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch config dir")
                        }
                    },
                    Err(e) => tracing::warn!(error = %e, "cannot start the file watcher"),
                }
            }
        }
        let Some((version, _w, rx)) = watching.as_ref() else {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        };
        match rx.recv_timeout(Duration::from_millis(300)) {
            Ok(first) => {
                let mut changed: Vec<PathBuf> = Vec::new();
                let mut take = |ev: notify::Result<notify::Event>| {
                    if let Ok(ev) = ev {
                        changed.extend(ev.paths.into_iter().filter(|p| is_config_file(p)));
                    }
                };
                take(first);
                // Editors write in bursts; settle briefly, then check each file once.
                std::thread::sleep(Duration::from_millis(100));
                while let Ok(ev) = rx.try_recv() {
                    take(ev);
                }
                changed.sort();
                changed.dedup();
                for f in changed {
                    ws.check_file(version, &f);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => watching = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_with_an_unknown_type_name_does_not_load() {
        let dir = std::env::temp_dir().join(format!("cj-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("schema.json");
        std::fs::write(&path, r#"{"properties":{"port":{"type":"strng"}}}"#).unwrap();
        let e = Schema::load(&path).unwrap_err();
        assert!(e.contains("strng"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn schema_checks_required_and_types() {
        let s: Schema = serde_json::from_str(
            r#"{"required":["version","port"],"properties":{"port":{"type":"integer"}}}"#,
        )
        .unwrap();
        let f = Path::new("app.json");
        assert!(s.check(f, r#"{"version":"v1","port":8080}"#).is_ok());
        assert!(
            s.check(f, r#"{"version":"v1"}"#)
                .unwrap_err()
                .contains("port")
        );
        assert!(s.check(f, r#"{"version":"v1","port":"x"}"#).is_err());
        assert!(s.check(f, r#"{"version": "#).is_err());
        assert!(
            s.check(Path::new("a.yaml"), "version: v1\nport: 1\n")
                .is_ok()
        );
        assert!(s.check(Path::new("a.yaml"), "- 1\n").is_err());
    }
}
