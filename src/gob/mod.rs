//! Go's `encoding/gob` wire format, and nothing else: a fully dynamic decoder (type ids are
//! learnt per stream from the definitions the peer sends) and an encoder that emits type
//! definitions for the values we send. It knows nothing about net/rpc, go-plugin or Argo.
//!
//! Spec: `docs/argo-plugin-protocol.md` §5 (paraphrasing Go's `encoding/gob/doc.go`).

pub mod decode;
pub mod encode;
pub mod error;
pub mod types;
pub mod value;
pub mod wire;

#[cfg(test)]
mod proptests;

pub use decode::{Decoder, Limits};
pub use encode::Encoder;
pub use error::{DecodeError, EncodeError};
pub use types::{MarshalerKind, WireType};
pub use value::{GoTime, Schema, Value};
