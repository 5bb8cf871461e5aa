//! Go's `encoding/gob` wire format, and nothing else: a fully dynamic decoder (type ids are
//! learnt per stream from the definitions the peer sends) and an encoder that emits type
//! definitions for the values we send. It knows nothing about net/rpc, go-plugin or Argo.
//!
//! Spec: `argo-plugin-protocol.md` §5 (paraphrasing Go's `encoding/gob/doc.go`).

pub mod value;

pub use value::{GoTime, Schema, Value};
