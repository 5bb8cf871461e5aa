//! The gob encoder (spec §5.2–§5.5, §5.7): one per stream direction. Given a [`Schema`] and
//! a [`Value`] it emits the type definitions the peer has not seen yet on this stream and
//! then the value message, allocating type ids and naming types in the order Go's encoder
//! does, so that for plain types the bytes are the ones Go writes.

use std::collections::HashMap;

use super::error::EncodeError;
use super::value::{Schema, Value};
use super::wire::*;

/// Encodes the gob stream of one direction of one connection.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// Id and wire name of every composite schema seen so far.
    ids: HashMap<Schema, (i64, String)>,
    /// Ids whose definitions were already written.
    sent: std::collections::HashSet<i64>,
    next_id: i64,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a type is first met, which decides its informational wire name the way Go's
/// `newTypeObject` does: field types get Go's type string, everything else only a declared
/// name (unnamed composites stay nameless).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    TopOrElem,
    Field,
}

impl Encoder {
    /// An encoder for a fresh stream; ids are allocated from 64 like Go ≥ 1.2x's encoder.
    pub fn new() -> Self {
        Encoder {
            ids: HashMap::new(),
            sent: Default::default(),
            next_id: FIRST_USER_ID,
        }
    }

    /// Encode `value` described by `schema`: any type definitions not yet sent on this
    /// stream (each its own message), then the value message. Nothing is recorded as sent
    /// when the value does not match the schema.
    pub fn encode(&mut self, schema: &Schema, value: &Value) -> Result<Vec<u8>, EncodeError> {
        // Encode the body first: it validates the value and needs no type ids.
        let mut body = Vec::new();
        let path = top_path(schema);
        match schema {
            Schema::Struct { fields, .. } => struct_body(&mut body, fields, value, &path)?,
            _ => {
                body.push(0); // singleton field delta
                elem_body(&mut body, schema, value, &path)?;
            }
        }
        let top = self.allocate(schema, Ctx::TopOrElem);
        let mut out = Vec::new();
        self.send_definitions(&mut out, schema);
        let mut msg = Vec::with_capacity(body.len() + 10);
        put_int(&mut msg, top);
        msg.extend_from_slice(&body);
        frame(&mut out, &msg);
        Ok(out)
    }

    /// The id of `schema`, allocating ids for it and its components in Go's order: a struct
    /// before its fields, a slice or map after its elements, a GobEncoder at once.
    fn allocate(&mut self, schema: &Schema, ctx: Ctx) -> i64 {
        match schema {
            Schema::Bool => return ID_BOOL,
            Schema::Int => return ID_INT,
            Schema::Uint => return ID_UINT,
            Schema::Float => return ID_FLOAT,
            Schema::Bytes => return ID_BYTES,
            Schema::String => return ID_STRING,
            _ => {}
        }
        if let Some((id, _)) = self.ids.get(schema) {
            return *id;
        }
        match schema {
            Schema::Struct { name, fields } => {
                let id = self.fresh(schema, name.clone());
                for (_, f) in fields {
                    self.allocate(f, Ctx::Field);
                }
                id
            }
            Schema::Slice(elem) => {
                self.allocate(elem, Ctx::TopOrElem);
                let name = if ctx == Ctx::Field {
                    go_type_string(schema)
                } else {
                    String::new()
                };
                self.fresh(schema, name)
            }
            Schema::Map(k, e) => {
                self.allocate(k, Ctx::TopOrElem);
                self.allocate(e, Ctx::TopOrElem);
                let name = if ctx == Ctx::Field {
                    go_type_string(schema)
                } else {
                    String::new()
                };
                self.fresh(schema, name)
            }
            Schema::GobEncoder { name } => self.fresh(schema, name.clone()),
            // Scalars returned above.
            _ => 0,
        }
    }

    fn fresh(&mut self, schema: &Schema, name: String) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.ids.insert(schema.clone(), (id, name));
        id
    }

    /// Write definitions for `schema` and its components that this stream has not seen,
    /// in Go's order (a type, then its components depth first).
    fn send_definitions(&mut self, out: &mut Vec<u8>, schema: &Schema) {
        let Some((id, name)) = self.ids.get(schema).cloned() else {
            return; // scalar: predefined
        };
        if !self.sent.insert(id) {
            return;
        }
        let id_of = |enc: &Encoder, s: &Schema| -> i64 { enc.id_of(s) };
        let mut msg = Vec::new();
        put_int(&mut msg, -id);
        match schema {
            Schema::Struct { fields, .. } => {
                msg.push(3); // wireType.StructT (field 2)
                msg.push(1); // structType.CommonType
                common_type(&mut msg, &name, id);
                if !fields.is_empty() {
                    msg.push(1); // structType.Field
                    put_uint(&mut msg, fields.len() as u64);
                    for (fname, fschema) in fields {
                        let fid = id_of(self, fschema);
                        if !fname.is_empty() {
                            msg.push(1);
                            put_bytes(&mut msg, fname.as_bytes());
                            msg.push(1);
                        } else {
                            msg.push(2);
                        }
                        put_int(&mut msg, fid);
                        msg.push(0);
                    }
                }
                msg.push(0);
            }
            Schema::Slice(elem) => {
                msg.push(2); // wireType.SliceT (field 1)
                msg.push(1);
                common_type(&mut msg, &name, id);
                msg.push(1);
                put_int(&mut msg, id_of(self, elem));
                msg.push(0);
            }
            Schema::Map(k, e) => {
                msg.push(4); // wireType.MapT (field 3)
                msg.push(1);
                common_type(&mut msg, &name, id);
                msg.push(1);
                put_int(&mut msg, id_of(self, k));
                msg.push(1);
                put_int(&mut msg, id_of(self, e));
                msg.push(0);
            }
            Schema::GobEncoder { .. } => {
                msg.push(5); // wireType.GobEncoderT (field 4)
                msg.push(1);
                common_type(&mut msg, &name, id);
                msg.push(0);
            }
            _ => return,
        }
        msg.push(0); // end of wireType
        frame(out, &msg);
        match schema {
            Schema::Struct { fields, .. } => {
                for (_, f) in fields {
                    self.send_definitions(out, f);
                }
            }
            Schema::Slice(elem) => self.send_definitions(out, elem),
            Schema::Map(k, e) => {
                self.send_definitions(out, k);
                self.send_definitions(out, e);
            }
            _ => {}
        }
    }

    fn id_of(&self, schema: &Schema) -> i64 {
        match schema {
            Schema::Bool => ID_BOOL,
            Schema::Int => ID_INT,
            Schema::Uint => ID_UINT,
            Schema::Float => ID_FLOAT,
            Schema::Bytes => ID_BYTES,
            Schema::String => ID_STRING,
            other => self.ids.get(other).map(|(id, _)| *id).unwrap_or(0),
        }
    }
}

/// `CommonType{Name, Id}` with zero fields omitted, then its end marker.
fn common_type(msg: &mut Vec<u8>, name: &str, id: i64) {
    if name.is_empty() {
        msg.push(2);
    } else {
        msg.push(1);
        put_bytes(msg, name.as_bytes());
        msg.push(1);
    }
    put_int(msg, id);
    msg.push(0);
}

fn frame(out: &mut Vec<u8>, msg: &[u8]) {
    put_uint(out, msg.len() as u64);
    out.extend_from_slice(msg);
}

/// Go's `reflect.Type.String()` for the schema, used as the name of field types.
fn go_type_string(schema: &Schema) -> String {
    match schema {
        Schema::Bool => "bool".into(),
        Schema::Int => "int".into(),
        Schema::Uint => "uint".into(),
        Schema::Float => "float64".into(),
        Schema::Bytes => "[]uint8".into(),
        Schema::String => "string".into(),
        Schema::Struct { name, .. } | Schema::GobEncoder { name } => name.clone(),
        Schema::Slice(e) => format!("[]{}", go_type_string(e)),
        Schema::Map(k, e) => format!("map[{}]{}", go_type_string(k), go_type_string(e)),
    }
}

fn top_path(schema: &Schema) -> String {
    match schema {
        Schema::Struct { name, .. } if !name.is_empty() => name.clone(),
        _ => "value".into(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint",
        Value::Float(_) => "float",
        Value::Complex(..) => "complex",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "string",
        Value::Struct(_) => "struct",
        Value::Slice(_) => "slice",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Interface(_) => "interface",
        Value::Encoded(_) => "encoded bytes",
    }
}

fn schema_kind(s: &Schema) -> &'static str {
    match s {
        Schema::Bool => "bool",
        Schema::Int => "int",
        Schema::Uint => "uint",
        Schema::Float => "float",
        Schema::Bytes => "bytes",
        Schema::String => "string",
        Schema::Struct { .. } => "struct",
        Schema::Slice(_) => "slice",
        Schema::Map(..) => "map",
        Schema::GobEncoder { .. } => "GobEncoder bytes",
    }
}

fn mismatch(path: &str, schema: &Schema, v: &Value) -> EncodeError {
    EncodeError::Mismatch {
        path: path.to_string(),
        expected: schema_kind(schema),
        found: kind(v),
    }
}

/// Struct fields with Go's zero omission, then the end marker. A field absent from the value
/// is omitted (Go's nil pointer / zero value); a present zero scalar or empty slice is omitted
/// too, as Go does; a present map (even empty) and a present nested struct are sent.
fn struct_body(
    out: &mut Vec<u8>,
    fields: &[(String, Schema)],
    value: &Value,
    path: &str,
) -> Result<(), EncodeError> {
    let Value::Struct(given) = value else {
        return Err(EncodeError::Mismatch {
            path: path.to_string(),
            expected: "struct",
            found: kind(value),
        });
    };
    for (i, (name, _)) in given.iter().enumerate() {
        if !fields.iter().any(|(f, _)| f == name) {
            return Err(EncodeError::UnknownField {
                path: path.to_string(),
                field: name.clone(),
            });
        }
        if given[..i].iter().any(|(n, _)| n == name) {
            return Err(EncodeError::DuplicateField {
                path: path.to_string(),
                field: name.clone(),
            });
        }
    }
    let mut last: i64 = -1;
    for (num, (fname, fschema)) in fields.iter().enumerate() {
        let Some((_, fv)) = given.iter().find(|(n, _)| n == fname) else {
            continue;
        };
        let fpath = format!("{path}.{fname}");
        if is_omitted_zero(fschema, fv) {
            // Still validate the kind so mistakes are not silently dropped.
            let mut scratch = Vec::new();
            elem_body(&mut scratch, fschema, fv, &fpath)?;
            continue;
        }
        put_uint(out, (num as i64 - last) as u64);
        last = num as i64;
        elem_body(out, fschema, fv, &fpath)?;
    }
    out.push(0);
    Ok(())
}

/// Go's encoder skips these struct fields (encode.go `encOpFor` zero checks).
fn is_omitted_zero(schema: &Schema, v: &Value) -> bool {
    match (schema, v) {
        (Schema::Bool, Value::Bool(b)) => !b,
        (Schema::Int, Value::Int(i)) => *i == 0,
        (Schema::Int, Value::Uint(u)) | (Schema::Uint, Value::Uint(u)) => *u == 0,
        (Schema::Uint, Value::Int(i)) => *i == 0,
        (Schema::Float, Value::Float(f)) => *f == 0.0,
        (Schema::Bytes, Value::Bytes(b)) => b.is_empty(),
        (Schema::String, Value::String(s)) => s.is_empty(),
        (Schema::Slice(_), Value::Slice(s)) => s.is_empty(),
        _ => false,
    }
}

/// A value without framing (struct field, element, or singleton payload).
fn elem_body(out: &mut Vec<u8>, schema: &Schema, v: &Value, path: &str) -> Result<(), EncodeError> {
    match (schema, v) {
        (Schema::Bool, Value::Bool(b)) => put_uint(out, u64::from(*b)),
        (Schema::Int, Value::Int(i)) => put_int(out, *i),
        (Schema::Int, Value::Uint(u)) => {
            let i = i64::try_from(*u).map_err(|_| EncodeError::IntOutOfRange {
                path: path.to_string(),
                value: u.to_string(),
                expected: "int",
            })?;
            put_int(out, i)
        }
        (Schema::Uint, Value::Uint(u)) => put_uint(out, *u),
        (Schema::Uint, Value::Int(i)) => {
            let u = u64::try_from(*i).map_err(|_| EncodeError::IntOutOfRange {
                path: path.to_string(),
                value: i.to_string(),
                expected: "uint",
            })?;
            put_uint(out, u)
        }
        (Schema::Float, Value::Float(f)) => put_float(out, *f),
        (Schema::Bytes, Value::Bytes(b)) => put_bytes(out, b),
        (Schema::String, Value::String(s)) => put_bytes(out, s.as_bytes()),
        (Schema::Struct { fields, .. }, _) => struct_body(out, fields, v, path)?,
        (Schema::Slice(elem), Value::Slice(items)) => {
            put_uint(out, items.len() as u64);
            for (i, item) in items.iter().enumerate() {
                elem_body(out, elem, item, &format!("{path}[{i}]"))?;
            }
        }
        (Schema::Map(ks, es), Value::Map(pairs)) => {
            put_uint(out, pairs.len() as u64);
            for (i, (k, e)) in pairs.iter().enumerate() {
                elem_body(out, ks, k, &format!("{path}[{i}].key"))?;
                elem_body(out, es, e, &format!("{path}[{i}].value"))?;
            }
        }
        (Schema::GobEncoder { .. }, Value::Encoded(b) | Value::Bytes(b)) => put_bytes(out, b),
        _ => return Err(mismatch(path, schema, v)),
    }
    Ok(())
}
