//! The dynamic value model shared by the decoder and the encoder, and Go's `time.Time` binary
//! form (the only GobEncoder the Argo protocol carries).

/// A decoded (or to-be-encoded) gob value. Structs keep only the fields present on the wire,
/// by name, because gob matches fields by name and omits zero values.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// Any Go signed integer width.
    Int(i64),
    /// Any Go unsigned integer width (also `uintptr`).
    Uint(u64),
    /// `float32`/`float64`.
    Float(f64),
    /// `complex64`/`complex128` as (re, im).
    Complex(f64, f64),
    /// `[]byte` (and `json.RawMessage`).
    Bytes(Vec<u8>),
    /// `string` (Go does not validate UTF-8; invalid bytes are replaced lossily).
    String(String),
    /// A struct: (field name, value) for each field sent, in wire order.
    Struct(Vec<(String, Value)>),
    /// A slice.
    Slice(Vec<Value>),
    /// A fixed-length array.
    Array(Vec<Value>),
    /// A map as (key, value) pairs in wire order.
    Map(Vec<(Value, Value)>),
    /// An interface value: `None` is a nil interface, otherwise the registered concrete type
    /// name (e.g. `RunArgs`) and the concrete value.
    Interface(Option<(String, Box<Value>)>),
    /// The bytes of a `GobEncoder` or `BinaryMarshaler` value (e.g. `time.Time`).
    Encoded(Vec<u8>),
}

impl Value {
    /// The named field of a struct value, if this is a struct and the field was sent.
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is a signed or unsigned integer that fits in i64.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Uint(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// The time, if this is a GobEncoder value holding Go's binary `time.Time`
    /// (e.g. `metav1.Time` fields such as `StartedAt`).
    pub fn as_go_time(&self) -> Option<GoTime> {
        match self {
            Value::Encoded(b) => GoTime::from_go_bytes(b),
            _ => None,
        }
    }

    /// The bytes, if this is `[]byte`.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// The shape of a type we *send*: the encoder turns it into gob type definitions once per
/// stream. Struct and GobEncoder names are informational on the wire (Go matches by field
/// name), but we use Go's names so traces read naturally.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Schema {
    /// `bool`.
    Bool,
    /// Signed integer.
    Int,
    /// Unsigned integer.
    Uint,
    /// Floating point.
    Float,
    /// `[]byte`.
    Bytes,
    /// `string`.
    String,
    /// A struct with (field name, field schema) in wire order.
    Struct {
        /// Go type name, e.g. `Measurement`.
        name: String,
        /// Fields in wire order.
        fields: Vec<(String, Schema)>,
    },
    /// A slice of the element schema.
    Slice(Box<Schema>),
    /// A map from key schema to element schema.
    Map(Box<Schema>, Box<Schema>),
    /// A type that implements `GobEncoder` (Go's `time.Time`): sent as length-prefixed bytes.
    GobEncoder {
        /// Go type name, e.g. `Time`.
        name: String,
    },
}

/// Go's `time.Time` in its `MarshalBinary`/`GobEncode` form (version 1 and 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    pub unix_seconds: i64,
    /// Nanoseconds within the second, 0..1e9.
    pub nanos: u32,
    /// Zone offset in seconds east of UTC; `None` is Go's UTC location (offset -1 on the wire).
    pub offset_seconds: Option<i32>,
}

/// Seconds between 0001-01-01 (Go's internal epoch) and 1970-01-01.
const UNIX_TO_INTERNAL: i64 = 62_135_596_800;

impl GoTime {
    /// Encode as Go's binary time form: version 1 when the offset is a whole number of
    /// minutes, version 2 otherwise.
    pub fn to_go_bytes(&self) -> Vec<u8> {
        let (version, minutes, extra_seconds) = match self.offset_seconds {
            None => (1u8, -1i16, 0i8),
            Some(off) => {
                let minutes = (off / 60) as i16;
                let secs = (off % 60) as i8;
                if secs == 0 {
                    (1, minutes, 0)
                } else {
                    (2, minutes, secs)
                }
            }
        };
        let mut out = Vec::with_capacity(16);
        out.push(version);
        // Go's internal seconds wrap the same way on overflow.
        out.extend_from_slice(
            &self
                .unix_seconds
                .wrapping_add(UNIX_TO_INTERNAL)
                .to_be_bytes(),
        );
        out.extend_from_slice(&(self.nanos as i32).to_be_bytes());
        out.extend_from_slice(&minutes.to_be_bytes());
        if version == 2 {
            out.push(extra_seconds as u8);
        }
        out
    }

    /// Decode Go's binary time form; `None` for a version or length we do not know, or
    /// nanoseconds outside 0..1e9. Version 2's extra offset byte is read as signed (the
    /// inverse of Go's encoder; Go's own decoder reads it unsigned, which misplaces negative
    /// non-whole-minute offsets by 256 s).
    pub fn from_go_bytes(bytes: &[u8]) -> Option<GoTime> {
        let version = *bytes.first()?;
        let expected = match version {
            1 => 15,
            2 => 16,
            _ => return None,
        };
        if bytes.len() != expected {
            return None;
        }
        let sec = i64::from_be_bytes(bytes[1..9].try_into().ok()?);
        let nanos = i32::from_be_bytes(bytes[9..13].try_into().ok()?);
        let minutes = i16::from_be_bytes(bytes[13..15].try_into().ok()?);
        if !(0..1_000_000_000).contains(&nanos) {
            return None;
        }
        let offset_seconds = if minutes == -1 {
            None
        } else {
            let extra = if version == 2 {
                bytes[15] as i8 as i32
            } else {
                0
            };
            Some(minutes as i32 * 60 + extra)
        };
        Some(GoTime {
            unix_seconds: sec.wrapping_sub(UNIX_TO_INTERNAL),
            nanos: nanos as u32,
            offset_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_matches_go_bytes_from_spec() {
        // 2024-01-02T03:04:05Z, observed from Go (docs/argo-plugin-protocol.md §5.7).
        let t = GoTime {
            unix_seconds: 1_704_164_645,
            nanos: 0,
            offset_seconds: None,
        };
        let bytes = t.to_go_bytes();
        assert_eq!(
            bytes,
            [
                0x01, 0, 0, 0, 0x0e, 0xdd, 0x25, 0x74, 0x25, 0, 0, 0, 0, 0xff, 0xff
            ]
        );
        assert_eq!(GoTime::from_go_bytes(&bytes), Some(t));
    }
}
