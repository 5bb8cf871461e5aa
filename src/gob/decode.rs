//! The dynamic gob decoder (spec §5.2–§5.7): one per stream direction. It learns the peer's
//! type definitions as they arrive and turns values into [`Value`]s without knowing any Go
//! type in advance. It works on a caller-owned byte buffer so an async reader can call it
//! whenever more bytes arrive: nothing is consumed or learnt until a whole value (all the
//! messages it spans) is present.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use super::error::DecodeError;
use super::types::{WireType, builtin_table, wire_type_from_value};
use super::value::Value;
use super::wire::*;

/// Resource limits that keep a hostile or broken peer from exhausting memory or stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (length prefix) accepted; checked before anything is buffered.
    pub max_message_bytes: u64,
    /// Deepest nesting of values (structs, slices, maps, interfaces) accepted.
    pub max_depth: usize,
    /// Most [`Value`] nodes one top-level value may produce (bounds memory amplification:
    /// a value node is larger than the byte it can come from).
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 << 20,
            max_depth: 128,
            max_values: 4 << 20,
        }
    }
}

/// Go's limit on an interface's concrete type name (decode.go `decodeInterface`).
const MAX_NAME_LEN: u64 = 1024;

/// The builtin and bootstrap types, shared by every decoder: building them per stream was
/// most of the cost of decoding a short stream (measured with the `gob_decode` fuzz target).
static BUILTINS: LazyLock<HashMap<i64, Arc<WireType>>> = LazyLock::new(builtin_table);

/// Decodes the gob stream of one direction of one connection.
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    /// Every definition the peer committed so far (ids >= 64; builtins live in [`BUILTINS`]).
    types: HashMap<i64, Arc<WireType>>,
    /// Ids whose whole type graph was checked (see `Parse::check_graph`).
    checked: HashSet<i64>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Internal outcome of a parse attempt: either more input is needed or the stream is bad.
enum Stop {
    NeedMore,
    Bad(DecodeError),
}

impl From<DecodeError> for Stop {
    fn from(e: DecodeError) -> Self {
        Stop::Bad(e)
    }
}

type R<T> = Result<T, Stop>;

impl Decoder {
    /// A decoder for a fresh stream with [`Limits::default`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A decoder for a fresh stream with explicit limits.
    pub fn with_limits(limits: Limits) -> Self {
        Decoder {
            limits,
            types: HashMap::new(),
            checked: HashSet::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The definition the peer sent for `id`, if any (builtins included).
    pub fn wire_type(&self, id: i64) -> Option<&WireType> {
        self.types
            .get(&id)
            .or_else(|| BUILTINS.get(&id))
            .map(|t| t.as_ref())
    }

    /// Decode the next value at the front of `buf`. Returns `Ok(None)` when `buf` does not
    /// yet hold every message of the value (nothing is learnt then; call again with more
    /// bytes), otherwise the value and how many bytes of `buf` it used (type definitions
    /// included). Type definitions become part of the stream's table only when a value
    /// completes.
    pub fn decode_next(&mut self, buf: &[u8]) -> Result<Option<(Value, usize)>, DecodeError> {
        self.run(buf, true)
            .map(|o| o.map(|(v, n)| (v.unwrap_or(Value::Struct(Vec::new())), n)))
    }

    /// Consume the next value without building it (e.g. the argument of an unknown net/rpc
    /// method); type definitions it carries are still learnt. Same contract as
    /// [`Decoder::decode_next`].
    pub fn skip_next(&mut self, buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        self.run(buf, false).map(|o| o.map(|(_, n)| n))
    }

    fn run(
        &mut self,
        buf: &[u8],
        keep: bool,
    ) -> Result<Option<(Option<Value>, usize)>, DecodeError> {
        let mut p = Parse {
            committed: &self.types,
            pending: HashMap::new(),
            checked: &self.checked,
            newly_checked: HashSet::new(),
            input: buf,
            next_msg: 0,
            msg: &[],
            limits: self.limits,
            nodes: 0,
            keep,
        };
        match p.top_level() {
            Ok(v) => {
                let used = p.next_msg;
                let pending = std::mem::take(&mut p.pending);
                let newly_checked = std::mem::take(&mut p.newly_checked);
                self.types.extend(pending);
                self.checked.extend(newly_checked);
                Ok(Some((v, used)))
            }
            Err(Stop::NeedMore) => Ok(None),
            Err(Stop::Bad(e)) => Err(e),
        }
    }
}

/// One decode attempt over the caller's buffer.
struct Parse<'a> {
    committed: &'a HashMap<i64, Arc<WireType>>,
    pending: HashMap<i64, Arc<WireType>>,
    checked: &'a HashSet<i64>,
    newly_checked: HashSet<i64>,
    input: &'a [u8],
    /// Offset in `input` of the next message's length prefix.
    next_msg: usize,
    /// Unread bytes of the current message.
    msg: &'a [u8],
    limits: Limits,
    nodes: usize,
    keep: bool,
}

impl<'a> Parse<'a> {
    fn top_level(&mut self) -> R<Option<Value>> {
        let id = self.type_sequence(false)?;
        self.check_graph(id)?;
        // Go resets its buffer before each top-level value, so bytes left in the last
        // message are dropped rather than rejected.
        self.value(id, 0)
    }

    /// Load the next whole message, or ask for more input.
    fn pull_message(&mut self) -> R<()> {
        let rest = self.input.get(self.next_msg..).unwrap_or(&[]);
        let (len, hdr) = match read_uint(rest) {
            UintRead::Done(len, hdr) => (len, hdr),
            UintRead::Short => return Err(Stop::NeedMore),
            UintRead::Bad(b) => return Err(DecodeError::BadUint(b).into()),
        };
        if len > self.limits.max_message_bytes {
            return Err(DecodeError::MessageTooLarge {
                len,
                limit: self.limits.max_message_bytes,
            }
            .into());
        }
        if len == 0 {
            return Err(DecodeError::EmptyMessage.into());
        }
        let body = rest.get(hdr..).unwrap_or(&[]);
        // len <= max_message_bytes, which fits usize on any platform we build for
        let len = usize::try_from(len).map_err(|_| DecodeError::MessageTooLarge {
            len,
            limit: self.limits.max_message_bytes,
        })?;
        let Some(msg) = body.get(..len) else {
            return Err(Stop::NeedMore);
        };
        self.msg = msg;
        self.next_msg += hdr + len;
        Ok(())
    }

    fn uint(&mut self, what: &'static str) -> R<u64> {
        match read_uint(self.msg) {
            UintRead::Done(x, n) => {
                self.msg = self.msg.get(n..).unwrap_or(&[]);
                Ok(x)
            }
            UintRead::Short => Err(DecodeError::Truncated(what).into()),
            UintRead::Bad(b) => Err(DecodeError::BadUint(b).into()),
        }
    }

    fn int(&mut self, what: &'static str) -> R<i64> {
        self.uint(what).map(int_from_uint)
    }

    fn bytes(&mut self, what: &'static str) -> R<&'a [u8]> {
        let len = self.uint(what)?;
        let remaining = self.msg.len();
        let n = usize::try_from(len)
            .ok()
            .filter(|n| *n <= remaining)
            .ok_or(DecodeError::LengthExceedsInput {
                what,
                len,
                remaining,
            })?;
        let (head, tail) = self.msg.split_at(n);
        self.msg = tail;
        Ok(head)
    }

    /// Go's `decodeTypeSequence`: read type definitions until a value's type id appears,
    /// pulling further messages whenever the current one is used up.
    fn type_sequence(&mut self, is_interface: bool) -> R<i64> {
        loop {
            if self.msg.is_empty() {
                self.pull_message()?;
            }
            let id = self.int("type id")?;
            if id >= 0 {
                return Ok(id);
            }
            let def = id.checked_neg().ok_or(DecodeError::InvalidTypeId(id))?;
            self.recv_type(def)?;
            if !self.msg.is_empty() {
                if !is_interface {
                    return Err(DecodeError::ExtraData.into());
                }
                // Inside an interface a delimited value's byte count may follow.
                self.uint("byte count after type definition")?;
            }
        }
    }

    fn recv_type(&mut self, id: i64) -> R<()> {
        if id < FIRST_USER_ID {
            return Err(DecodeError::ReservedTypeId(id).into());
        }
        if self.committed.contains_key(&id) || self.pending.contains_key(&id) {
            return Err(DecodeError::DuplicateType(id).into());
        }
        let keep = std::mem::replace(&mut self.keep, true);
        let v = self.value(ID_WIRE_TYPE, 0);
        self.keep = keep;
        let v = v?.ok_or(DecodeError::InvalidTypeId(ID_WIRE_TYPE))?;
        let wt = wire_type_from_value(id, &v)?;
        self.pending.insert(id, Arc::new(wt));
        Ok(())
    }

    fn lookup(&self, id: i64) -> R<Arc<WireType>> {
        self.committed
            .get(&id)
            .or_else(|| self.pending.get(&id))
            .or_else(|| BUILTINS.get(&id))
            .cloned()
            .ok_or_else(|| DecodeError::UndefinedType(id).into())
    }

    /// Go compiles a decoder for a value's whole type graph (every type reachable through
    /// struct fields, elements, keys; not through interfaces, whose concrete types come with
    /// the value) before decoding it, so a graph with an undefined id, a nameless struct
    /// field or an unusable definition fails the value even where the value does not reach
    /// it. Checked once per id and stream.
    fn check_graph(&mut self, root: i64) -> R<()> {
        let mut stack = vec![root];
        let mut seen = HashSet::new();
        while let Some(id) = stack.pop() {
            if self.checked.contains(&id) || self.newly_checked.contains(&id) || !seen.insert(id) {
                continue;
            }
            match self.lookup(id)?.as_ref() {
                WireType::Builtin(_) | WireType::Marshaled { .. } => {}
                WireType::Invalid { reason } => {
                    return Err(DecodeError::BadWireType {
                        id,
                        reason: reason.clone(),
                    }
                    .into());
                }
                WireType::Struct { name, fields } => {
                    if fields.iter().any(|(n, _)| n.is_empty()) {
                        return Err(DecodeError::EmptyFieldName {
                            id,
                            name: name.clone(),
                        }
                        .into());
                    }
                    stack.extend(fields.iter().map(|(_, f)| *f));
                }
                WireType::Array { elem, .. } | WireType::Slice { elem, .. } => stack.push(*elem),
                WireType::Map { key, elem, .. } => stack.extend([*key, *elem]),
            }
        }
        // Only a graph checked in full is remembered.
        self.newly_checked.extend(seen);
        Ok(())
    }

    fn count_node(&mut self, depth: usize) -> R<()> {
        if depth > self.limits.max_depth {
            return Err(DecodeError::TooDeep(self.limits.max_depth).into());
        }
        self.nodes += 1;
        if self.nodes > self.limits.max_values {
            return Err(DecodeError::TooManyValues(self.limits.max_values).into());
        }
        Ok(())
    }

    /// A value as sent at top level or inside an interface: structs as field lists,
    /// everything else as a singleton (a zero field delta, then the value).
    fn value(&mut self, id: i64, depth: usize) -> R<Option<Value>> {
        let t = self.lookup(id)?;
        if let WireType::Struct { name, fields } = t.as_ref() {
            self.count_node(depth)?;
            return self.struct_fields(name, fields, depth);
        }
        let delta = self.uint("singleton field delta")?;
        if delta != 0 {
            return Err(DecodeError::SingletonDelta(delta).into());
        }
        self.field_value(id, depth)
    }

    fn struct_fields(
        &mut self,
        name: &str,
        fields: &[(String, i64)],
        depth: usize,
    ) -> R<Option<Value>> {
        let mut out = Vec::new();
        let mut next: u64 = 0; // number of the field after the last one read
        loop {
            // Go's decodeStruct ends a struct at a zero delta or where its message ends.
            if self.msg.is_empty() {
                break;
            }
            let delta = self.uint("struct field delta")?;
            if delta == 0 {
                break;
            }
            let field = next.saturating_add(delta - 1);
            let Some((fname, fid)) = usize::try_from(field).ok().and_then(|i| fields.get(i)) else {
                return Err(DecodeError::FieldOutOfRange {
                    field,
                    name: name.to_string(),
                    count: fields.len(),
                }
                .into());
            };
            next = field + 1;
            let v = self.field_value(*fid, depth + 1)?;
            if let Some(v) = v {
                out.push((fname.clone(), v));
            }
        }
        Ok(self.keep.then_some(Value::Struct(out)))
    }

    /// A value without framing, as it appears in a struct field or collection element.
    /// Returns `None` only when not keeping values (skip mode).
    fn field_value(&mut self, id: i64, depth: usize) -> R<Option<Value>> {
        self.count_node(depth)?;
        let t = self.lookup(id)?;
        let keep = self.keep;
        let v = match t.as_ref() {
            WireType::Builtin(b) => match *b {
                ID_BOOL => Value::Bool(self.uint("bool")? != 0),
                ID_INT => Value::Int(self.int("int")?),
                ID_UINT => Value::Uint(self.uint("uint")?),
                ID_FLOAT => Value::Float(float_from_uint(self.uint("float")?)),
                ID_BYTES => Value::Bytes(if keep {
                    self.bytes("[]byte")?.to_vec()
                } else {
                    self.bytes("[]byte")?;
                    Vec::new()
                }),
                ID_STRING => {
                    let b = self.bytes("string")?;
                    Value::String(if keep {
                        String::from_utf8_lossy(b).into_owned()
                    } else {
                        String::new()
                    })
                }
                ID_COMPLEX => {
                    let re = float_from_uint(self.uint("complex")?);
                    let im = float_from_uint(self.uint("complex")?);
                    Value::Complex(re, im)
                }
                ID_INTERFACE => return self.interface(depth),
                other => return Err(DecodeError::UndefinedType(other).into()),
            },
            WireType::Struct { name, fields } => {
                return self.struct_fields(name, fields, depth);
            }
            WireType::Slice { elem, .. } => {
                let n = self.uint("slice length")?;
                // More elements than bytes left is refused up front, as Go's decodeSlice
                // does: a struct element may end where its message ends and take no byte, so
                // a hostile count must not be walked.
                if usize::try_from(n).map_or(true, |n| n > self.msg.len()) {
                    return Err(DecodeError::Truncated("slice (more elements than bytes)").into());
                }
                Value::Slice(self.elements(n, *elem, depth)?)
            }
            WireType::Array { elem, len, .. } => {
                let n = self.uint("array length")?;
                if u64::try_from(*len).ok() != Some(n) {
                    return Err(DecodeError::ArrayLength {
                        expected: *len,
                        got: n,
                    }
                    .into());
                }
                Value::Array(self.elements(n, *elem, depth)?)
            }
            WireType::Map { key, elem, .. } => {
                // Go's decodeMap converts the count to int: on 64-bit a count of 2^63 or more
                // is negative and its loop runs no pair, so such a map decodes empty.
                let n = self.uint("map length")?;
                let n = if i64::try_from(n).is_err() { 0 } else { n };
                // Each pair takes at least two bytes; never reserve more than the message
                // could hold (later pairs may still arrive in later messages via interfaces).
                let cap = usize::try_from(n)
                    .unwrap_or(usize::MAX)
                    .min(self.msg.len() / 2);
                let mut pairs = Vec::with_capacity(if keep { cap } else { 0 });
                for _ in 0..n {
                    let k = self.field_value(*key, depth + 1)?;
                    let v = self.field_value(*elem, depth + 1)?;
                    if let (Some(k), Some(v)) = (k, v) {
                        pairs.push((k, v));
                    }
                }
                Value::Map(pairs)
            }
            WireType::Invalid { reason } => {
                return Err(DecodeError::BadWireType {
                    id,
                    reason: reason.clone(),
                }
                .into());
            }
            WireType::Marshaled { .. } => Value::Encoded(if keep {
                self.bytes("marshaled value")?.to_vec()
            } else {
                self.bytes("marshaled value")?;
                Vec::new()
            }),
        };
        Ok(keep.then_some(v))
    }

    fn elements(&mut self, n: u64, elem: i64, depth: usize) -> R<Vec<Value>> {
        let cap = usize::try_from(n).unwrap_or(usize::MAX).min(self.msg.len());
        let mut out = Vec::with_capacity(if self.keep { cap } else { 0 });
        for _ in 0..n {
            // Go's decodeArrayHelper/ignoreArrayHelper: every element must start with a byte
            // left in the message, even one (a struct) that could end where the message ends.
            if self.msg.is_empty() {
                return Err(DecodeError::ElementsExceedInput(n).into());
            }
            if let Some(v) = self.field_value(elem, depth + 1)? {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// An interface value (spec §5.6): name, then type definitions possibly in further
    /// messages, then the concrete id, a byte count, and the value in top-level form.
    fn interface(&mut self, depth: usize) -> R<Option<Value>> {
        let len = self.uint("interface name length")?;
        if len > MAX_NAME_LEN {
            return Err(DecodeError::NameTooLong(len).into());
        }
        if len as usize > self.msg.len() {
            return Err(DecodeError::LengthExceedsInput {
                what: "interface name",
                len,
                remaining: self.msg.len(),
            }
            .into());
        }
        let (name, tail) = self.msg.split_at(len as usize);
        self.msg = tail;
        if name.is_empty() {
            return Ok(self.keep.then_some(Value::Interface(None)));
        }
        let concrete = self.type_sequence(true)?;
        self.check_graph(concrete)?;
        if let Some(basic) = registered_basic(name)
            && !self.holds(basic, concrete)?
        {
            return Err(DecodeError::InterfaceTypeMismatch {
                name: String::from_utf8_lossy(name).into_owned(),
                remote: concrete,
            }
            .into());
        }
        self.uint("interface value byte count")?;
        let v = self.value(concrete, depth + 1)?;
        Ok(v.map(|v| {
            Value::Interface(Some((
                String::from_utf8_lossy(name).into_owned(),
                Box::new(v),
            )))
        }))
    }

    /// Whether Go's registered basic type `basic` can receive a value of wire type `id`
    /// (gob's `compatibleType` for the kinds `registerBasics` registers).
    fn holds(&self, basic: Basic, id: i64) -> R<bool> {
        Ok(match basic {
            Basic::Of(want) => id == want,
            Basic::SliceOf(want) => match self.lookup(id)?.as_ref() {
                WireType::Slice { elem, .. } => *elem == want,
                _ => false,
            },
        })
    }
}

/// What a name Go registers in every program (`registerBasics`) holds: a basic kind, or a
/// slice of one (`[]uint8` is the bytes type).
#[derive(Debug, Clone, Copy)]
enum Basic {
    Of(i64),
    SliceOf(i64),
}

/// The basic type Go registers under `name`, if any: every Go receiver has these names, so a
/// concrete value of another type under one of them fails in every Go program.
fn registered_basic(name: &[u8]) -> Option<Basic> {
    let kind = |n: &[u8]| -> Option<i64> {
        Some(match n {
            b"int" | b"int8" | b"int16" | b"int32" | b"int64" => ID_INT,
            b"uint" | b"uint8" | b"uint16" | b"uint32" | b"uint64" | b"uintptr" => ID_UINT,
            b"float32" | b"float64" => ID_FLOAT,
            b"complex64" | b"complex128" => ID_COMPLEX,
            b"bool" => ID_BOOL,
            b"string" => ID_STRING,
            _ => return None,
        })
    };
    match name.strip_prefix(b"[]") {
        Some(b"uint8") => Some(Basic::Of(ID_BYTES)),
        Some(elem) => kind(elem).map(Basic::SliceOf),
        None => kind(name).map(Basic::Of),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_uint(&mut out, body.len() as u64);
        out.extend_from_slice(body);
        out
    }

    /// `type Node struct{ Next *Node }` as id 64: a self-referential definition.
    fn node_def() -> Vec<u8> {
        let mut b = vec![0x7f, 0x03, 0x01, 0x01, 0x04];
        b.extend_from_slice(b"Node");
        b.extend_from_slice(&[0x01, 0xff, 0x80, 0x00, 0x01, 0x01, 0x01, 0x04]);
        b.extend_from_slice(b"Next");
        b.extend_from_slice(&[0x01, 0xff, 0x80, 0x00, 0x00, 0x00]);
        framed(&b)
    }

    fn nested_nodes(depth: usize) -> Vec<u8> {
        let mut body = vec![0xff, 0x80];
        body.extend(std::iter::repeat_n(0x01, depth));
        body.extend(std::iter::repeat_n(0x00, depth + 1));
        framed(&body)
    }

    #[test]
    fn recursive_type_decodes_and_depth_is_bounded() {
        let mut stream = node_def();
        stream.extend(nested_nodes(3));
        let (v, used) = Decoder::new().decode_next(&stream).unwrap().unwrap();
        assert_eq!(used, stream.len());
        let mut cur = &v;
        for _ in 0..3 {
            cur = cur.field("Next").unwrap();
        }
        assert_eq!(cur, &Value::Struct(vec![]));

        let mut deep = node_def();
        deep.extend(nested_nodes(10_000));
        assert_eq!(
            Decoder::new().decode_next(&deep),
            Err(DecodeError::TooDeep(128))
        );
    }

    #[test]
    fn definitions_commit_only_with_a_complete_value() {
        let mut stream = node_def();
        let value = nested_nodes(1);
        // Definition present, value missing: nothing learnt.
        let mut dec = Decoder::new();
        assert_eq!(dec.decode_next(&stream).unwrap(), None);
        assert!(dec.wire_type(64).is_none());
        stream.extend(&value[..value.len() - 1]);
        assert_eq!(dec.decode_next(&stream).unwrap(), None);
        stream.push(*value.last().unwrap());
        assert!(dec.decode_next(&stream).unwrap().is_some());
        assert!(matches!(dec.wire_type(64), Some(WireType::Struct { .. })));
        // Re-sending the definition on the same stream is an error.
        let mut again = node_def();
        again.extend(nested_nodes(0));
        assert_eq!(dec.decode_next(&again), Err(DecodeError::DuplicateType(64)));
    }

    #[test]
    fn malformed_streams_name_the_problem() {
        let dec = || Decoder::new();
        // Defining a reserved id (-10).
        assert_eq!(
            dec().decode_next(&framed(&[0x13, 0x03, 0x00, 0x00])),
            Err(DecodeError::ReservedTypeId(10))
        );
        // Extra bytes after a top-level type definition.
        let mut def = node_def();
        def[0] += 1;
        def.push(0x00);
        assert_eq!(dec().decode_next(&def), Err(DecodeError::ExtraData));
        // A singleton with a non-zero field delta.
        assert_eq!(
            dec().decode_next(&framed(&[0x0c, 0x01, 0x00])),
            Err(DecodeError::SingletonDelta(1))
        );
        // A struct field number beyond the definition.
        let mut s = node_def();
        s.extend(framed(&[0xff, 0x80, 0x02, 0x00]));
        assert!(matches!(
            dec().decode_next(&s),
            Err(DecodeError::FieldOutOfRange {
                field: 1,
                count: 1,
                ..
            })
        ));
        // A field delta that would overflow.
        let mut s = node_def();
        s.extend(framed(&[
            0xff, 0x80, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]));
        assert!(matches!(
            dec().decode_next(&s),
            Err(DecodeError::FieldOutOfRange { .. })
        ));
        // A bad uint length byte.
        assert_eq!(dec().decode_next(&[0xf0]), Err(DecodeError::BadUint(0xf0)));
        assert_eq!(dec().decode_next(&[0x00]), Err(DecodeError::EmptyMessage));
        // A string longer than its message.
        assert!(matches!(
            dec().decode_next(&framed(&[0x0c, 0x00, 0x05, b'a'])),
            Err(DecodeError::LengthExceedsInput {
                what: "string",
                len: 5,
                remaining: 1
            })
        ));
        // An interface name over Go's 1024-byte limit.
        assert_eq!(
            dec().decode_next(&framed(&[0x10, 0x00, 0xfe, 0x04, 0x01])),
            Err(DecodeError::NameTooLong(1025))
        );
        // A value id that is only a reserved slot.
        assert_eq!(
            dec().decode_next(&framed(&[0x14, 0x00, 0x00])),
            Err(DecodeError::UndefinedType(10))
        );
    }

    #[test]
    fn element_counts_are_bounded_by_the_data() {
        // []Node (slice of the recursive struct) claiming 2^62 elements with 1 byte of data.
        let mut stream = node_def();
        // -65: SliceT{CommonType{Id 65}, Elem 64}
        stream.extend(framed(&[
            0xff, 0x81, 0x02, 0x01, 0x02, 0xff, 0x82, 0x00, 0x01, 0xff, 0x80, 0x00, 0x00,
        ]));
        stream.extend(framed(&[
            0xff, 0x82, 0x00, 0xf8, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x00,
        ]));
        assert!(matches!(
            Decoder::new().decode_next(&stream),
            Err(DecodeError::Truncated(_))
        ));
        // The node budget stops amplification.
        let limits = Limits {
            max_values: 10,
            ..Limits::default()
        };
        let mut ok = node_def();
        ok.extend(framed(&[
            0xff, 0x81, 0x02, 0x01, 0x02, 0xff, 0x82, 0x00, 0x01, 0xff, 0x80, 0x00, 0x00,
        ]));
        let mut body = vec![0xff, 0x82, 0x00, 20];
        body.extend([0u8; 20]);
        ok.extend(framed(&body));
        assert_eq!(
            Decoder::with_limits(limits).decode_next(&ok),
            Err(DecodeError::TooManyValues(10))
        );
        let (v, _) = Decoder::new().decode_next(&ok).unwrap().unwrap();
        assert!(matches!(v, Value::Slice(items) if items.len() == 20));
    }

    /// `type S struct{ <name> <id> }` as id 64 (field type id given as its gob int bytes).
    fn one_field_struct_def(name: &[u8], id: &[u8]) -> Vec<u8> {
        let mut b = vec![
            0x7f, 0x03, 0x01, 0x01, 0x01, b'S', 0x01, 0xff, 0x80, 0x00, 0x01, 0x01,
        ];
        if name.is_empty() {
            b.push(0x02); // Name omitted (zero): next field is Id
        } else {
            b.push(0x01);
            b.push(name.len() as u8);
            b.extend_from_slice(name);
            b.push(0x01);
        }
        b.extend_from_slice(id);
        b.extend_from_slice(&[0x00, 0x00, 0x00]);
        framed(&b)
    }

    // Found by the differential check against Go (tests/gob_differential.rs): Go compiles
    // the whole type graph of a value's type before decoding it, so a definition that can
    // never be decoded fails the value even when the value does not use that part.
    #[test]
    fn a_value_fails_when_its_type_graph_has_an_undefined_type() {
        // S{A: id 99 (never defined)}, value S{} (field A absent).
        let mut s = one_field_struct_def(b"A", &[0xff, 0xc6]);
        s.extend(framed(&[0xff, 0x80, 0x00]));
        assert_eq!(
            Decoder::new().decode_next(&s),
            Err(DecodeError::UndefinedType(99))
        );
    }

    #[test]
    fn a_value_fails_when_its_type_graph_has_an_empty_field_name() {
        // S{"": int}, value S{}: Go's "empty name for remote field of type S".
        let mut s = one_field_struct_def(b"", &[0x04]);
        s.extend(framed(&[0xff, 0x80, 0x00]));
        assert_eq!(
            Decoder::new().decode_next(&s),
            Err(DecodeError::EmptyFieldName {
                id: 64,
                name: "S".into()
            })
        );
    }

    #[test]
    fn an_unusable_definition_fails_only_the_values_that_use_it() {
        // Id 64 defined as a wireType with no kind, then an int value: Go keeps the
        // definition and decodes the int; a value of type 64 then fails.
        let mut s = framed(&[0x7f, 0x00]);
        s.extend(framed(&[0x04, 0x00, 0x02]));
        let mut dec = Decoder::new();
        let (v, used) = dec.decode_next(&s).unwrap().unwrap();
        assert_eq!((v, used), (Value::Int(1), s.len()));
        assert!(matches!(
            dec.decode_next(&framed(&[0xff, 0x80, 0x00])),
            Err(DecodeError::BadWireType { id: 64, .. })
        ));
    }

    // Found by the differential check against Go: a struct value whose message ends before
    // its zero terminator is complete for Go (decodeStruct loops while bytes remain).
    #[test]
    fn a_struct_ends_where_its_message_ends() {
        let mut s = node_def();
        s.extend(framed(&[0xff, 0x80]));
        let (v, used) = Decoder::new().decode_next(&s).unwrap().unwrap();
        assert_eq!((v, used), (Value::Struct(vec![]), s.len()));
    }

    #[test]
    fn message_limit_is_checked_before_the_body_arrives() {
        let dec = Decoder::with_limits(Limits {
            max_message_bytes: 100,
            ..Limits::default()
        });
        assert_eq!(
            dec.clone().decode_next(&[0x65]),
            Err(DecodeError::MessageTooLarge {
                len: 101,
                limit: 100
            })
        );
        assert_eq!(dec.clone().decode_next(&[0x64]), Ok(None));
    }
}
