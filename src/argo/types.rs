//! Typed views of the Argo Rollouts v1alpha1 values that arrive as dynamic gob [`Value`]s,
//! and the gob [`Schema`]s of the replies we send back (`Measurement`, `RpcError`,
//! `map[string]string`, `string`).
//!
//! Fields are matched by *name* (gob does the same), unknown fields are ignored and absent
//! ones read as Go's zero value, so controllers of any release (v1.5 … HEAD) decode alike;
//! only what the plugin cannot work without is required, and the error names it
//! (docs/argo-plugin-protocol.md §4, §6).

use std::collections::BTreeMap;

use crate::gob::{GoTime, Schema, Value};

/// A required piece of an argument is absent or has the wrong Go kind.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArgsError {
    /// The call carried a nil interface where an argument struct was expected.
    #[error("{method} was called with a nil argument (expected {expected})")]
    NilArgument {
        /// RPC method name, e.g. `Run`.
        method: &'static str,
        /// Expected registered type name, e.g. `RunArgs`.
        expected: &'static str,
    },
    /// A required field was not sent.
    #[error("argument field `{path}` is missing")]
    Missing {
        /// Dotted Go path of the field, e.g. `RunArgs.AnalysisRun`.
        path: String,
    },
    /// A field was sent with a kind we cannot read.
    #[error("argument field `{path}` should be {expected}, got {got}")]
    WrongKind {
        /// Dotted Go path of the field.
        path: String,
        /// Expected Go kind.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
    },
}

/// Short name of a value's kind, for error messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint",
        Value::Float(_) => "float",
        Value::Complex(_, _) => "complex",
        Value::Bytes(_) => "[]byte",
        Value::String(_) => "string",
        Value::Struct(_) => "struct",
        Value::Slice(_) => "slice",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Interface(None) => "nil interface",
        Value::Interface(Some(_)) => "interface",
        Value::Encoded(_) => "GobEncoder bytes",
    }
}

/// Strips interface wrappers (a pointer is transparent on the wire already).
fn unwrap_interface(v: &Value) -> Option<&Value> {
    match v {
        Value::Interface(None) => None,
        Value::Interface(Some((_, inner))) => unwrap_interface(inner),
        other => Some(other),
    }
}

/// Field `name` of the struct at `path`, `None` when absent (zero value on the wire).
fn field<'a>(v: &'a Value, path: &str, name: &str) -> Result<Option<&'a Value>, ArgsError> {
    match v {
        Value::Struct(_) => Ok(v.field(name)),
        other => Err(ArgsError::WrongKind {
            path: path.to_string(),
            expected: "struct",
            got: kind(other),
        }),
    }
}

/// A string field; absent means "".
fn string_field(v: &Value, path: &str, name: &str) -> Result<String, ArgsError> {
    match field(v, path, name)? {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Bytes(b)) => Ok(String::from_utf8_lossy(b).into_owned()),
        Some(other) => Err(ArgsError::WrongKind {
            path: format!("{path}.{name}"),
            expected: "string",
            got: kind(other),
        }),
    }
}

/// An optional `*metav1.Time` field.
fn time_field(v: &Value, path: &str, name: &str) -> Result<Option<GoTime>, ArgsError> {
    match field(v, path, name)? {
        None => Ok(None),
        Some(Value::Encoded(bytes)) => {
            GoTime::from_go_bytes(bytes)
                .map(Some)
                .ok_or_else(|| ArgsError::WrongKind {
                    path: format!("{path}.{name}"),
                    expected: "time.Time (binary form v1 or v2)",
                    got: "undecodable time bytes",
                })
        }
        Some(other) => Err(ArgsError::WrongKind {
            path: format!("{path}.{name}"),
            expected: "time.Time",
            got: kind(other),
        }),
    }
}

/// A `map[string]string` field; absent (nil) and empty both read as an empty map.
fn string_map_field(
    v: &Value,
    path: &str,
    name: &str,
) -> Result<BTreeMap<String, String>, ArgsError> {
    let mut out = BTreeMap::new();
    match field(v, path, name)? {
        None => {}
        Some(Value::Map(entries)) => {
            for (k, val) in entries {
                match (k, val) {
                    (Value::String(k), Value::String(val)) => {
                        out.insert(k.clone(), val.clone());
                    }
                    (k, val) => {
                        return Err(ArgsError::WrongKind {
                            path: format!("{path}.{name}"),
                            expected: "map[string]string",
                            got: if matches!(k, Value::String(_)) {
                                kind(val)
                            } else {
                                kind(k)
                            },
                        });
                    }
                }
            }
        }
        Some(other) => {
            return Err(ArgsError::WrongKind {
                path: format!("{path}.{name}"),
                expected: "map[string]string",
                got: kind(other),
            });
        }
    }
    Ok(out)
}

/// A slice field; absent (nil or empty: gob omits both) reads as empty.
fn slice_field<'a>(v: &'a Value, path: &str, name: &str) -> Result<&'a [Value], ArgsError> {
    match field(v, path, name)? {
        None => Ok(&[]),
        Some(Value::Slice(items)) | Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(ArgsError::WrongKind {
            path: format!("{path}.{name}"),
            expected: "slice",
            got: kind(other),
        }),
    }
}

/// An integer field; absent means 0.
fn int_field(v: &Value, path: &str, name: &str) -> Result<i64, ArgsError> {
    match field(v, path, name)? {
        None => Ok(0),
        Some(val) => val.as_i64().ok_or_else(|| ArgsError::WrongKind {
            path: format!("{path}.{name}"),
            expected: "int",
            got: kind(val),
        }),
    }
}

/// An embedded or nested struct field that must be present.
fn required_struct<'a>(v: &'a Value, path: &str, name: &str) -> Result<&'a Value, ArgsError> {
    match field(v, path, name)?.and_then(unwrap_interface) {
        None => Err(ArgsError::Missing {
            path: format!("{path}.{name}"),
        }),
        Some(s @ Value::Struct(_)) => Ok(s),
        Some(other) => Err(ArgsError::WrongKind {
            path: format!("{path}.{name}"),
            expected: "struct",
            got: kind(other),
        }),
    }
}

/// A nested struct field that may be absent (nil pointer).
fn optional_struct<'a>(
    v: &'a Value,
    path: &str,
    name: &str,
) -> Result<Option<&'a Value>, ArgsError> {
    match field(v, path, name)?.and_then(unwrap_interface) {
        None => Ok(None),
        Some(s @ Value::Struct(_)) => Ok(Some(s)),
        Some(other) => Err(ArgsError::WrongKind {
            path: format!("{path}.{name}"),
            expected: "struct",
            got: kind(other),
        }),
    }
}

/// The top-level argument of a call: the struct inside the interface the controller sends.
fn top_level<'a>(
    arg: &'a Value,
    method: &'static str,
    expected: &'static str,
) -> Result<&'a Value, ArgsError> {
    match unwrap_interface(arg) {
        None => Err(ArgsError::NilArgument { method, expected }),
        Some(s @ Value::Struct(_)) => Ok(s),
        Some(other) => Err(ArgsError::WrongKind {
            path: expected.to_string(),
            expected: "struct",
            got: kind(other),
        }),
    }
}

/// One `spec.args` entry. Secret values are already substituted by the controller for
/// Run/Resume/Terminate (docs/argo-plugin-protocol.md §6).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Argument {
    /// Argument name.
    pub name: String,
    /// Literal value, if any (`ValueFrom` args carry none until resolved).
    pub value: Option<String>,
}

/// One metric's stored results inside `status.metricResults`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricResult {
    /// Metric name.
    pub name: String,
    /// Phase of the metric so far.
    pub phase: String,
    /// Previous measurements (timestamps truncated to seconds by the API server).
    pub measurements: Vec<Measurement>,
}

/// What the plugin reads from an `AnalysisRun`: identity for logs, args, start time and the
/// measurements taken so far.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisRun {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.labels` (nil and empty both read as empty).
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `status.startedAt`.
    pub started_at: Option<GoTime>,
    /// `spec.args`.
    pub args: Vec<Argument>,
    /// `status.metricResults`.
    pub metric_results: Vec<MetricResult>,
}

impl AnalysisRun {
    /// Reads an `AnalysisRun` value; `path` names it in errors.
    pub fn from_value(v: &Value, path: &str) -> Result<AnalysisRun, ArgsError> {
        let mut run = AnalysisRun::default();
        if let Some(meta) = optional_struct(v, path, "ObjectMeta")? {
            let p = format!("{path}.ObjectMeta");
            run.name = string_field(meta, &p, "Name")?;
            run.namespace = string_field(meta, &p, "Namespace")?;
            run.uid = string_field(meta, &p, "UID")?;
            run.labels = string_map_field(meta, &p, "Labels")?;
            run.annotations = string_map_field(meta, &p, "Annotations")?;
        }
        if let Some(spec) = optional_struct(v, path, "Spec")? {
            let p = format!("{path}.Spec");
            for (i, arg) in slice_field(spec, &p, "Args")?.iter().enumerate() {
                let ap = format!("{p}.Args[{i}]");
                let value = match field(arg, &ap, "Value")? {
                    None => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => {
                        return Err(ArgsError::WrongKind {
                            path: format!("{ap}.Value"),
                            expected: "string",
                            got: kind(other),
                        });
                    }
                };
                run.args.push(Argument {
                    name: string_field(arg, &ap, "Name")?,
                    value,
                });
            }
        }
        if let Some(status) = optional_struct(v, path, "Status")? {
            let p = format!("{path}.Status");
            run.started_at = time_field(status, &p, "StartedAt")?;
            for (i, mr) in slice_field(status, &p, "MetricResults")?.iter().enumerate() {
                let mp = format!("{p}.MetricResults[{i}]");
                let mut result = MetricResult {
                    name: string_field(mr, &mp, "Name")?,
                    phase: string_field(mr, &mp, "Phase")?,
                    measurements: Vec::new(),
                };
                for (j, m) in slice_field(mr, &mp, "Measurements")?.iter().enumerate() {
                    result.measurements.push(Measurement::from_value(
                        m,
                        &format!("{mp}.Measurements[{j}]"),
                    )?);
                }
                run.metric_results.push(result);
            }
        }
        Ok(run)
    }

    /// Measurements already stored for the metric `name`.
    pub fn previous_measurements(&self, name: &str) -> &[Measurement] {
        self.metric_results
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.measurements.as_slice())
            .unwrap_or(&[])
    }
}

/// What the plugin reads from a `Metric`: its name, conditions and the plugin config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metric {
    /// `name`.
    pub name: String,
    /// `successCondition` (expr-lang over `result`).
    pub success_condition: String,
    /// `failureCondition`.
    pub failure_condition: String,
    /// `provider.plugin`: plugin name → its config as JSON bytes, in wire order.
    pub plugin: Vec<(String, Vec<u8>)>,
}

impl Metric {
    /// Reads a `Metric` value; `path` names it in errors.
    pub fn from_value(v: &Value, path: &str) -> Result<Metric, ArgsError> {
        let mut metric = Metric {
            name: string_field(v, path, "Name")?,
            success_condition: string_field(v, path, "SuccessCondition")?,
            failure_condition: string_field(v, path, "FailureCondition")?,
            plugin: Vec::new(),
        };
        if let Some(provider) = optional_struct(v, path, "Provider")? {
            let p = format!("{path}.Provider");
            match field(provider, &p, "Plugin")? {
                None => {}
                Some(Value::Map(entries)) => {
                    for (k, val) in entries {
                        let key = match k {
                            Value::String(s) => s.clone(),
                            other => {
                                return Err(ArgsError::WrongKind {
                                    path: format!("{p}.Plugin"),
                                    expected: "map[string]json.RawMessage",
                                    got: kind(other),
                                });
                            }
                        };
                        let bytes = match val {
                            Value::Bytes(b) => b.clone(),
                            Value::String(s) => s.clone().into_bytes(),
                            other => {
                                return Err(ArgsError::WrongKind {
                                    path: format!("{p}.Plugin[{key}]"),
                                    expected: "json.RawMessage",
                                    got: kind(other),
                                });
                            }
                        };
                        metric.plugin.push((key, bytes));
                    }
                }
                Some(other) => {
                    return Err(ArgsError::WrongKind {
                        path: format!("{p}.Plugin"),
                        expected: "map[string]json.RawMessage",
                        got: kind(other),
                    });
                }
            }
        }
        Ok(metric)
    }
}

/// Argo's `AnalysisPhase` values a measurement can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started.
    Pending,
    /// Held: to be resumed at `ResumeAt`.
    Running,
    /// Counts as a success.
    Successful,
    /// Counts toward `failureLimit`.
    Failed,
    /// Counts toward `consecutiveErrorLimit`.
    Error,
    /// Counts toward `inconclusiveLimit` (pauses the rollout).
    Inconclusive,
}

impl Phase {
    /// The string Argo stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Successful => "Successful",
            Phase::Failed => "Failed",
            Phase::Error => "Error",
            Phase::Inconclusive => "Inconclusive",
        }
    }

    /// Parses Argo's phase string.
    pub fn parse(s: &str) -> Option<Phase> {
        Some(match s {
            "Pending" => Phase::Pending,
            "Running" => Phase::Running,
            "Successful" => Phase::Successful,
            "Failed" => Phase::Failed,
            "Error" => Phase::Error,
            "Inconclusive" => Phase::Inconclusive,
            _ => return None,
        })
    }
}

/// `v1alpha1.Measurement`, both as received (Resume/Terminate, stored results) and as sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measurement {
    /// Phase string (kept verbatim on input; see [`Phase`]).
    pub phase: String,
    /// Human-readable message.
    pub message: String,
    /// When the measurement started.
    pub started_at: Option<GoTime>,
    /// When it completed.
    pub finished_at: Option<GoTime>,
    /// The measured value (for us: the compact JSON verdict).
    pub value: String,
    /// String metadata (nil and empty both read as empty).
    pub metadata: BTreeMap<String, String>,
    /// When the controller should call Resume.
    pub resume_at: Option<GoTime>,
}

impl Measurement {
    /// Reads a `Measurement` value; `path` names it in errors.
    pub fn from_value(v: &Value, path: &str) -> Result<Measurement, ArgsError> {
        Ok(Measurement {
            phase: string_field(v, path, "Phase")?,
            message: string_field(v, path, "Message")?,
            started_at: time_field(v, path, "StartedAt")?,
            finished_at: time_field(v, path, "FinishedAt")?,
            value: string_field(v, path, "Value")?,
            metadata: string_map_field(v, path, "Metadata")?,
            resume_at: time_field(v, path, "ResumeAt")?,
        })
    }

    /// The gob value of this measurement for [`measurement_schema`]; zero fields are left out
    /// as Go's encoder does, and an empty metadata map is sent as nil.
    pub fn to_value(&self) -> Value {
        let mut fields = Vec::new();
        if !self.phase.is_empty() {
            fields.push(("Phase".to_string(), Value::String(self.phase.clone())));
        }
        if !self.message.is_empty() {
            fields.push(("Message".to_string(), Value::String(self.message.clone())));
        }
        if let Some(t) = self.started_at {
            fields.push(("StartedAt".to_string(), Value::Encoded(t.to_go_bytes())));
        }
        if let Some(t) = self.finished_at {
            fields.push(("FinishedAt".to_string(), Value::Encoded(t.to_go_bytes())));
        }
        if !self.value.is_empty() {
            fields.push(("Value".to_string(), Value::String(self.value.clone())));
        }
        if !self.metadata.is_empty() {
            fields.push(("Metadata".to_string(), string_map_value(&self.metadata)));
        }
        if let Some(t) = self.resume_at {
            fields.push(("ResumeAt".to_string(), Value::Encoded(t.to_go_bytes())));
        }
        Value::Struct(fields)
    }
}

/// `Plugin.Run`'s argument.
#[derive(Debug, Clone, PartialEq)]
pub struct RunArgs {
    /// The AnalysisRun being measured.
    pub analysis_run: AnalysisRun,
    /// The metric, with `{{args.*}}` already substituted.
    pub metric: Metric,
}

impl RunArgs {
    /// Reads the top-level argument of `Plugin.Run`.
    pub fn from_value(arg: &Value) -> Result<RunArgs, ArgsError> {
        let v = top_level(arg, "Run", "RunArgs")?;
        Ok(RunArgs {
            analysis_run: AnalysisRun::from_value(
                required_struct(v, "RunArgs", "AnalysisRun")?,
                "RunArgs.AnalysisRun",
            )?,
            metric: Metric::from_value(required_struct(v, "RunArgs", "Metric")?, "RunArgs.Metric")?,
        })
    }
}

/// `Plugin.Resume`'s and `Plugin.Terminate`'s argument.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminateAndResumeArgs {
    /// The AnalysisRun being measured.
    pub analysis_run: AnalysisRun,
    /// The metric.
    pub metric: Metric,
    /// The held measurement as stored by the controller.
    pub measurement: Measurement,
}

impl TerminateAndResumeArgs {
    /// Reads the top-level argument of `Plugin.Resume` / `Plugin.Terminate`.
    pub fn from_value(arg: &Value, method: &'static str) -> Result<Self, ArgsError> {
        const T: &str = "TerminateAndResumeArgs";
        let v = top_level(arg, method, T)?;
        Ok(TerminateAndResumeArgs {
            analysis_run: AnalysisRun::from_value(
                required_struct(v, T, "AnalysisRun")?,
                "TerminateAndResumeArgs.AnalysisRun",
            )?,
            metric: Metric::from_value(
                required_struct(v, T, "Metric")?,
                "TerminateAndResumeArgs.Metric",
            )?,
            measurement: Measurement::from_value(
                required_struct(v, T, "Measurement")?,
                "TerminateAndResumeArgs.Measurement",
            )?,
        })
    }
}

/// `Plugin.GarbageCollect`'s argument.
#[derive(Debug, Clone, PartialEq)]
pub struct GarbageCollectArgs {
    /// The AnalysisRun (may be absent; nothing is collected either way).
    pub analysis_run: Option<AnalysisRun>,
    /// The metric (secret args replaced by `temp-for-secret`).
    pub metric: Metric,
    /// Retention limit.
    pub limit: i64,
}

impl GarbageCollectArgs {
    /// Reads the top-level argument of `Plugin.GarbageCollect`.
    pub fn from_value(arg: &Value) -> Result<Self, ArgsError> {
        const T: &str = "GarbageCollectArgs";
        let v = top_level(arg, "GarbageCollect", T)?;
        Ok(GarbageCollectArgs {
            analysis_run: optional_struct(v, T, "AnalysisRun")?
                .map(|r| AnalysisRun::from_value(r, "GarbageCollectArgs.AnalysisRun"))
                .transpose()?,
            metric: Metric::from_value(
                required_struct(v, T, "Metric")?,
                "GarbageCollectArgs.Metric",
            )?,
            limit: int_field(v, T, "Limit")?,
        })
    }
}

/// `Plugin.GetMetadata`'s argument.
#[derive(Debug, Clone, PartialEq)]
pub struct GetMetadataArgs {
    /// The (substituted) metric.
    pub metric: Metric,
}

impl GetMetadataArgs {
    /// Reads the top-level argument of `Plugin.GetMetadata`.
    pub fn from_value(arg: &Value) -> Result<Self, ArgsError> {
        let v = top_level(arg, "GetMetadata", "GetMetadataArgs")?;
        Ok(GetMetadataArgs {
            metric: Metric::from_value(
                required_struct(v, "GetMetadataArgs", "Metric")?,
                "GetMetadataArgs.Metric",
            )?,
        })
    }
}

/// Schema of `v1alpha1.Measurement` as we send it: every field, times as GobEncoder `Time`
/// (metav1.Time is a GobEncoder through its embedded time.Time, §5.7).
pub fn measurement_schema() -> Schema {
    let time = || Schema::GobEncoder {
        name: "Time".to_string(),
    };
    Schema::Struct {
        name: "Measurement".to_string(),
        fields: vec![
            ("Phase".to_string(), Schema::String),
            ("Message".to_string(), Schema::String),
            ("StartedAt".to_string(), time()),
            ("FinishedAt".to_string(), time()),
            ("Value".to_string(), Schema::String),
            ("Metadata".to_string(), string_map_schema()),
            ("ResumeAt".to_string(), time()),
        ],
    }
}

/// Schema of `types.RpcError{ErrorString string}`.
pub fn rpc_error_schema() -> Schema {
    Schema::Struct {
        name: "RpcError".to_string(),
        fields: vec![("ErrorString".to_string(), Schema::String)],
    }
}

/// The value of `RpcError{ErrorString: message}`; an empty message is "no error" and is sent
/// as an empty struct, as Go does.
pub fn rpc_error_value(message: &str) -> Value {
    if message.is_empty() {
        Value::Struct(Vec::new())
    } else {
        Value::Struct(vec![(
            "ErrorString".to_string(),
            Value::String(message.to_string()),
        )])
    }
}

/// Schema of `map[string]string`.
pub fn string_map_schema() -> Schema {
    Schema::Map(Box::new(Schema::String), Box::new(Schema::String))
}

/// The gob value of a `map[string]string`.
pub fn string_map_value(map: &BTreeMap<String, String>) -> Value {
    Value::Map(
        map.iter()
            .map(|(k, v)| (Value::String(k.clone()), Value::String(v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::String(x.to_string())
    }

    fn st(fields: Vec<(&str, Value)>) -> Value {
        Value::Struct(
            fields
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        )
    }

    fn metric_value() -> Value {
        st(vec![
            ("Name", s("latency")),
            ("SuccessCondition", s("result.verdict == 'pass'")),
            ("UnknownNewField", Value::Int(7)),
            (
                "Provider",
                st(vec![(
                    "Plugin",
                    Value::Map(vec![(
                        s("canary-judge/judge"),
                        Value::Bytes(b"{}".to_vec()),
                    )]),
                )]),
            ),
        ])
    }

    #[test]
    fn run_args_read_by_name_and_tolerate_extra_and_absent_fields() {
        let t = GoTime {
            unix_seconds: 1_704_164_645,
            nanos: 0,
            offset_seconds: Some(19_800),
        };
        let run = st(vec![
            ("TypeMeta", st(vec![])),
            (
                "ObjectMeta",
                st(vec![
                    ("Name", s("ar")),
                    ("Namespace", s("ns")),
                    ("UID", s("u-1")),
                    ("Labels", Value::Map(vec![(s("a"), s("b"))])),
                ]),
            ),
            (
                "Spec",
                st(vec![(
                    "Args",
                    Value::Slice(vec![st(vec![("Name", s("x")), ("Value", s("1"))])]),
                )]),
            ),
            (
                "Status",
                st(vec![
                    ("StartedAt", Value::Encoded(t.to_go_bytes())),
                    (
                        "MetricResults",
                        Value::Slice(vec![st(vec![
                            ("Name", s("latency")),
                            (
                                "Measurements",
                                Value::Slice(vec![st(vec![("Phase", s("Successful"))])]),
                            ),
                        ])]),
                    ),
                ]),
            ),
        ]);
        let arg = Value::Interface(Some((
            "RunArgs".to_string(),
            Box::new(st(vec![("AnalysisRun", run), ("Metric", metric_value())])),
        )));
        let args = RunArgs::from_value(&arg).unwrap();
        assert_eq!(args.analysis_run.name, "ar");
        assert_eq!(
            args.analysis_run.labels.get("a").map(String::as_str),
            Some("b")
        );
        assert!(args.analysis_run.annotations.is_empty());
        assert_eq!(args.analysis_run.started_at, Some(t));
        assert_eq!(args.analysis_run.args[0].value.as_deref(), Some("1"));
        assert_eq!(
            args.analysis_run.previous_measurements("latency")[0].phase,
            "Successful"
        );
        assert_eq!(args.metric.plugin.len(), 1);
        assert_eq!(args.metric.failure_condition, "");
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let arg = Value::Interface(Some((
            "GetMetadataArgs".to_string(),
            Box::new(st(vec![("Metric", metric_value())])),
        )));
        let err = RunArgs::from_value(&arg).unwrap_err();
        assert_eq!(
            err.to_string(),
            "argument field `RunArgs.AnalysisRun` is missing"
        );
        let err = RunArgs::from_value(&Value::Interface(None)).unwrap_err();
        assert!(err.to_string().contains("nil argument"), "{err}");
        let bad = st(vec![("Metric", st(vec![("Name", Value::Int(3))]))]);
        let err = GetMetadataArgs::from_value(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "argument field `GetMetadataArgs.Metric.Name` should be string, got int"
        );
    }

    #[test]
    fn measurement_round_trips_through_value() {
        let m = Measurement {
            phase: "Running".into(),
            started_at: Some(GoTime {
                unix_seconds: 10,
                nanos: 5,
                offset_seconds: Some(-3600),
            }),
            metadata: [("k".to_string(), "v".to_string())].into_iter().collect(),
            ..Default::default()
        };
        let back = Measurement::from_value(&m.to_value(), "m").unwrap();
        assert_eq!(back, m);
        assert_eq!(Measurement::default().to_value(), Value::Struct(vec![]));
    }

    #[test]
    fn garbage_collect_limit_and_optional_run() {
        let arg = st(vec![("Metric", metric_value()), ("Limit", Value::Int(10))]);
        let gc = GarbageCollectArgs::from_value(&arg).unwrap();
        assert_eq!(gc.limit, 10);
        assert!(gc.analysis_run.is_none());
    }
}
