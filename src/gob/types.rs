//! The type table a decoder learns from the peer (spec §5.3): what each type id means on one
//! stream. Builtins and the bootstrap types that describe `wireType` itself are fixed; user
//! types arrive as `wireType` values and are converted here.

use std::collections::HashMap;
use std::sync::Arc;

use super::error::DecodeError;
use super::value::Value;
use super::wire::*;

/// One type as the peer described it. Component ids are kept as sent and resolved only when
/// a value uses them, because Go sends a struct before its fields' types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireType {
    /// A builtin scalar, `[]byte`, `string` or `interface{}` (ids 1–8).
    Builtin(i64),
    /// `[N]T`.
    Array {
        /// Informational Go name.
        name: String,
        /// Element type id.
        elem: i64,
        /// Fixed length.
        len: i64,
    },
    /// `[]T`.
    Slice {
        /// Informational Go name.
        name: String,
        /// Element type id.
        elem: i64,
    },
    /// A struct: fields in the sender's wire order.
    Struct {
        /// Informational Go name.
        name: String,
        /// (field name, field type id).
        fields: Vec<(String, i64)>,
    },
    /// `map[K]V`.
    Map {
        /// Informational Go name.
        name: String,
        /// Key type id.
        key: i64,
        /// Element type id.
        elem: i64,
    },
    /// A definition that decoded as a `wireType` but describes no usable type (no kind or
    /// several, a negative array length). Go stores such a definition and fails only a value
    /// whose type graph reaches it; so do we.
    Invalid {
        /// Why it cannot be used.
        reason: String,
    },
    /// A `GobEncoder`, `BinaryMarshaler` or `TextMarshaler` value: opaque bytes.
    Marshaled {
        /// Informational Go name.
        name: String,
        /// Which marshaler interface the sender used.
        kind: MarshalerKind,
    },
}

/// The three kinds of self-marshaling types gob distinguishes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarshalerKind {
    /// `GobEncoder` (e.g. `time.Time`, `metav1.Time`).
    Gob,
    /// `encoding.BinaryMarshaler`.
    Binary,
    /// `encoding.TextMarshaler`.
    Text,
}

fn st(name: &str, fields: &[(&str, i64)]) -> Arc<WireType> {
    Arc::new(WireType::Struct {
        name: name.to_string(),
        fields: fields.iter().map(|(n, id)| (n.to_string(), *id)).collect(),
    })
}

/// The types every gob stream knows without definitions: builtins 1–8 and the bootstrap
/// types 16–24 that describe `wireType` (ids as Go's `type.go` init assigns them).
pub fn builtin_table() -> HashMap<i64, Arc<WireType>> {
    let mut t = HashMap::new();
    for id in ID_BOOL..=ID_INTERFACE {
        t.insert(id, Arc::new(WireType::Builtin(id)));
    }
    t.insert(
        ID_WIRE_TYPE,
        st(
            "wireType",
            &[
                ("ArrayT", 17),
                ("SliceT", 19),
                ("StructT", 20),
                ("MapT", 23),
                ("GobEncoderT", 24),
                ("BinaryMarshalerT", 24),
                ("TextMarshalerT", 24),
            ],
        ),
    );
    t.insert(
        17,
        st(
            "arrayType",
            &[("CommonType", 18), ("Elem", ID_INT), ("Len", ID_INT)],
        ),
    );
    t.insert(18, st("CommonType", &[("Name", ID_STRING), ("Id", ID_INT)]));
    t.insert(19, st("sliceType", &[("CommonType", 18), ("Elem", ID_INT)]));
    t.insert(20, st("structType", &[("CommonType", 18), ("Field", 22)]));
    t.insert(21, st("fieldType", &[("Name", ID_STRING), ("Id", ID_INT)]));
    t.insert(
        22,
        Arc::new(WireType::Slice {
            name: "[]*gob.fieldType".to_string(),
            elem: 21,
        }),
    );
    t.insert(
        23,
        st(
            "mapType",
            &[("CommonType", 18), ("Key", ID_INT), ("Elem", ID_INT)],
        ),
    );
    t.insert(24, st("gobEncoderType", &[("CommonType", 18)]));
    t
}

fn bad(id: i64, reason: impl Into<String>) -> DecodeError {
    DecodeError::BadWireType {
        id,
        reason: reason.into(),
    }
}

/// A type id field of a definition: Go's `typeId` is an int32.
fn type_id(def: i64, v: Option<&Value>, what: &str) -> Result<i64, DecodeError> {
    match v {
        None => Ok(0),
        Some(Value::Int(i)) if i32::try_from(*i).is_ok() => Ok(*i),
        Some(other) => Err(bad(def, format!("{what} is not a type id: {other:?}"))),
    }
}

/// Go decodes a whole definition into its `wireType` struct, whose `typeId` fields (`Id`,
/// `Elem`, `Key`, in every kind present, used or not) are int32: a value out of that range
/// fails the definition ("value for "Id" out of range"), even in a kind nothing reads.
fn check_type_id_ranges(def: i64, v: &Value) -> Result<(), DecodeError> {
    match v {
        Value::Struct(fields) => {
            for (name, fv) in fields {
                if let ("Id" | "Elem" | "Key", Value::Int(i)) = (name.as_str(), fv)
                    && i32::try_from(*i).is_err()
                {
                    return Err(bad(def, format!("value for {name:?} out of range")));
                }
                check_type_id_ranges(def, fv)?;
            }
            Ok(())
        }
        Value::Slice(items) => items.iter().try_for_each(|i| check_type_id_ranges(def, i)),
        _ => Ok(()),
    }
}

fn common_name(def: i64, inner: &Value) -> Result<String, DecodeError> {
    match inner.field("CommonType").and_then(|c| c.field("Name")) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(def, "CommonType.Name is not a string")),
    }
}

/// Turn a decoded `wireType` struct value into a [`WireType`]. Exactly one of its seven
/// fields must be present for the type to be usable; otherwise the definition is kept as
/// [`WireType::Invalid`] (Go accepts it and fails the first value that needs it).
pub fn wire_type_from_value(def: i64, v: &Value) -> Result<WireType, DecodeError> {
    let Value::Struct(fields) = v else {
        return Err(bad(def, "wireType is not a struct"));
    };
    check_type_id_ranges(def, v)?;
    let [(kind, inner)] = fields.as_slice() else {
        return Ok(WireType::Invalid {
            reason: format!("expected exactly one kind, got {}", fields.len()),
        });
    };
    let name = common_name(def, inner)?;
    match kind.as_str() {
        "ArrayT" => {
            let elem = type_id(def, inner.field("Elem"), "array Elem")?;
            let len = match inner.field("Len") {
                None => 0,
                Some(Value::Int(n)) if *n >= 0 => *n,
                Some(Value::Int(n)) => {
                    return Ok(WireType::Invalid {
                        reason: format!("negative array length {n}"),
                    });
                }
                Some(_) => return Err(bad(def, "array Len is not an int")),
            };
            Ok(WireType::Array { name, elem, len })
        }
        "SliceT" => Ok(WireType::Slice {
            name,
            elem: type_id(def, inner.field("Elem"), "slice Elem")?,
        }),
        "MapT" => Ok(WireType::Map {
            name,
            key: type_id(def, inner.field("Key"), "map Key")?,
            elem: type_id(def, inner.field("Elem"), "map Elem")?,
        }),
        "StructT" => {
            let mut out = Vec::new();
            match inner.field("Field") {
                None => {}
                Some(Value::Slice(items)) => {
                    for item in items {
                        let fname = match item.field("Name") {
                            None => String::new(),
                            Some(Value::String(s)) => s.clone(),
                            Some(_) => return Err(bad(def, "field Name is not a string")),
                        };
                        let fid = type_id(def, item.field("Id"), "field Id")?;
                        out.push((fname, fid));
                    }
                }
                Some(_) => return Err(bad(def, "struct Field is not a slice")),
            }
            Ok(WireType::Struct { name, fields: out })
        }
        "GobEncoderT" => Ok(WireType::Marshaled {
            name,
            kind: MarshalerKind::Gob,
        }),
        "BinaryMarshalerT" => Ok(WireType::Marshaled {
            name,
            kind: MarshalerKind::Binary,
        }),
        "TextMarshalerT" => Ok(WireType::Marshaled {
            name,
            kind: MarshalerKind::Text,
        }),
        other => Err(bad(def, format!("unknown kind {other}"))),
    }
}
