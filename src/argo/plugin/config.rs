//! The plugin config of one metric: the single `provider.plugin` entry, parsed into an
//! analysis config, the `hold:` policy and template variables.

use super::*;

/// `hold:` section of the plugin config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hold {
    /// Longest time a measurement may stay `Running` (from its StartedAt).
    pub max_duration: Duration,
    /// Delay until the controller should call `Resume` again.
    pub resume_every: Duration,
}

/// A resolved plugin config.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The `provider.plugin` key it came from.
    pub key: String,
    /// The analysis config.
    pub analysis: AnalysisConfig,
    /// Holding policy, if any.
    pub hold: Option<Hold>,
    /// Values for `{{name}}` placeholders in Prometheus queries (the plugin config's `vars`;
    /// Argo has already replaced its own `{{args.X}}` before the plugin sees the config).
    pub vars: BTreeMap<String, String>,
    /// The analysis part of the entry as written (without `hold` and `vars`): what a report
    /// link sends to `serve`, which judges it as a client's config.
    pub link_config: serde_json::Value,
}

pub(super) fn parse_hold(v: &serde_json::Value) -> Result<Hold, String> {
    let obj = v
        .as_object()
        .ok_or("`hold` must be an object {max_duration, resume_every}")?;
    for k in obj.keys() {
        if k != "max_duration" && k != "resume_every" {
            return Err(format!(
                "unknown field `hold.{k}` (expected max_duration, resume_every)"
            ));
        }
    }
    let dur = |name: &str| -> Result<Duration, String> {
        match obj.get(name) {
            Some(serde_json::Value::String(s)) => {
                crate::duration::parse_duration(s).map_err(|e| format!("`hold.{name}`: {e}"))
            }
            Some(_) => Err(format!(
                "`hold.{name}` must be a duration string like \"30s\""
            )),
            None => Err(format!("`hold.{name}` is missing")),
        }
    };
    let hold = Hold {
        max_duration: dur("max_duration")?,
        resume_every: dur("resume_every")?,
    };
    if hold.resume_every < Duration::from_secs(1) {
        return Err("`hold.resume_every` must be at least 1s".to_string());
    }
    Ok(hold)
}

/// Picks the single plugin entry of a metric and parses it.
pub fn resolve_config(metric: &Metric) -> Result<PluginConfig, PluginError> {
    let (key, bytes) = match metric.plugin.as_slice() {
        [] => {
            return Err(PluginError::NoPluginEntry {
                metric: metric.name.clone(),
            });
        }
        [one] => one,
        many => {
            return Err(PluginError::SeveralPluginEntries {
                metric: metric.name.clone(),
                count: many.len(),
                keys: many
                    .iter()
                    .map(|(k, _)| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    let not_json = |why: String| PluginError::NotJson {
        key: key.clone(),
        why,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| not_json(e.to_string()))?;
    let serde_json::Value::Object(mut obj) = value else {
        return Err(not_json(format!("got {}", json_kind(&value))));
    };
    let config_err = |why: String| PluginError::Config {
        key: key.clone(),
        why,
    };
    let hold = match obj.remove("hold") {
        None | Some(serde_json::Value::Null) => None,
        Some(h) => Some(parse_hold(&h).map_err(config_err)?),
    };
    let vars = match obj.remove("vars") {
        None | Some(serde_json::Value::Null) => BTreeMap::new(),
        Some(v) => serde_json::from_value::<BTreeMap<String, String>>(v)
            .map_err(|e| config_err(format!("`vars` must map names to strings: {e}")))?,
    };
    let link_config = serde_json::Value::Object(obj);
    let analysis =
        AnalysisConfig::from_json_value(&link_config).map_err(|e| config_err(e.to_string()))?;
    Ok(PluginConfig {
        key: key.clone(),
        analysis,
        hold,
        vars,
        link_config,
    })
}

pub(super) fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
