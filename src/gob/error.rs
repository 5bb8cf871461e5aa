//! The errors at the gob module's edge: one enum per direction, each message naming the
//! problem the way Go's own gob errors do, so a log line says which byte stream went wrong.

use thiserror::Error;

/// Why a gob byte stream could not be decoded. Every variant is fatal for the stream: gob has
/// no resynchronisation, so the caller should close the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// A length prefix larger than the configured limit (checked before allocating).
    #[error("gob: message length {len} exceeds limit {limit}")]
    MessageTooLarge {
        /// The claimed length.
        len: u64,
        /// The configured maximum.
        limit: u64,
    },
    /// An interface value under a name Go registers for a basic type (`uint`, `[]string`,
    /// ...) whose concrete wire type that Go type cannot receive.
    #[error("gob: decoding into local type {name}, received remote type id {remote}")]
    InterfaceTypeMismatch {
        /// The registered name.
        name: String,
        /// The concrete type id sent.
        remote: i64,
    },
    /// An array or slice element starts where its message ends (Go's decodeArrayHelper).
    #[error("gob: decoding array or slice: length exceeds input size ({0} elements)")]
    ElementsExceedInput(u64),
    /// A message with length zero (Go fails reading its type id).
    #[error("gob: empty message")]
    EmptyMessage,
    /// A uint whose length byte claims more than 8 bytes.
    #[error("gob: invalid uint encoding (length byte {0:#04x})")]
    BadUint(u8),
    /// The message ended in the middle of an item.
    #[error("gob: unexpected end of message while reading {0}")]
    Truncated(&'static str),
    /// A length (string, bytes, name) longer than what is left of the message.
    #[error("gob: {what} length {len} exceeds the {remaining} bytes left in the message")]
    LengthExceedsInput {
        /// What was being read.
        what: &'static str,
        /// The claimed length.
        len: u64,
        /// Bytes left in the current message.
        remaining: usize,
    },
    /// A value refers to a type id that has not been defined on this stream.
    #[error("gob: type id {0} used before definition")]
    UndefinedType(i64),
    /// The peer defined the same type id twice.
    #[error("gob: duplicate type received for id {0}")]
    DuplicateType(i64),
    /// The peer tried to define a type id below 64 (reserved for builtins).
    #[error("gob: type id {0} is reserved: user types start at 64")]
    ReservedTypeId(i64),
    /// A type definition that is not a valid `wireType`.
    #[error("gob: bad type definition for id {id}: {reason}")]
    BadWireType {
        /// The id being defined.
        id: i64,
        /// What was wrong with it.
        reason: String,
    },
    /// A struct type (reachable from the value's type) with a field that has no name: Go
    /// refuses to compile a decoder for it.
    #[error("gob: empty name for remote field of type {name:?} (id {id})")]
    EmptyFieldName {
        /// The struct's type id.
        id: i64,
        /// The struct's wire name.
        name: String,
    },
    /// A struct field delta pointing past the struct's last field.
    #[error(
        "gob: bad data: field number {field} out of range for struct {name:?} with {count} fields"
    )]
    FieldOutOfRange {
        /// The field number reached.
        field: u64,
        /// The struct's wire name.
        name: String,
        /// How many fields the definition has.
        count: usize,
    },
    /// A top-level non-struct value whose leading field delta is not zero.
    #[error("gob: corrupted data: non-zero delta {0} for singleton")]
    SingletonDelta(u64),
    /// Bytes left after a type definition outside an interface value.
    #[error("gob: extra data in buffer after type definition")]
    ExtraData,
    /// An array value whose length differs from its type's.
    #[error("gob: array length {got} does not match its type's length {expected}")]
    ArrayLength {
        /// The length in the type definition.
        expected: i64,
        /// The length sent with the value.
        got: u64,
    },
    /// An interface's concrete type name longer than Go allows (1024 bytes).
    #[error("gob: interface type name too long ({0} bytes)")]
    NameTooLong(u64),
    /// Values nested deeper than the configured limit.
    #[error("gob: value nesting deeper than {0}")]
    TooDeep(usize),
    /// More values in one top-level value than the configured limit.
    #[error("gob: value has more than {0} elements")]
    TooManyValues(usize),
    /// A type id that is not a valid id (negative where a value id is expected, out of range).
    #[error("gob: invalid type id {0}")]
    InvalidTypeId(i64),
}

/// Why a value could not be encoded: the value does not have the shape its schema describes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The value's kind differs from the schema's at `path`.
    #[error("gob encode: at {path}: schema expects {expected}, value is {found}")]
    Mismatch {
        /// Where in the value (e.g. `Measurement.Metadata[0].key`).
        path: String,
        /// The schema's kind.
        expected: &'static str,
        /// The value's kind.
        found: &'static str,
    },
    /// A struct value has a field the schema does not declare.
    #[error("gob encode: at {path}: field {field:?} is not in the schema")]
    UnknownField {
        /// The struct's path.
        path: String,
        /// The unexpected field name.
        field: String,
    },
    /// A struct value names the same field twice.
    #[error("gob encode: at {path}: field {field:?} given twice")]
    DuplicateField {
        /// The struct's path.
        path: String,
        /// The repeated field name.
        field: String,
    },
    /// An integer that does not fit the schema's signedness.
    #[error("gob encode: at {path}: integer {value} out of range for {expected}")]
    IntOutOfRange {
        /// Where in the value.
        path: String,
        /// The value, printed.
        value: String,
        /// The schema's kind.
        expected: &'static str,
    },
}
