//! canary-judge: decides whether a canary release is healthy by comparing its metric series
//! with a baseline's. The library holds the engine and every front door; `main.rs` only
//! parses the command line. See `ARCHITECTURE.md` for the map.
//!
//! Everything but the wire codecs sits behind the default `full` feature, so the fuzz
//! targets (which only exercise `gob` and `goplugin`) build without the service stack.

#[cfg(feature = "full")]
pub mod analysis;
#[cfg(feature = "full")]
pub mod argo;
#[cfg(feature = "full")]
pub mod build_info;
#[cfg(feature = "full")]
pub mod cli;
#[cfg(feature = "full")]
pub mod duration;
pub mod gob;
pub mod goplugin;
#[cfg(feature = "full")]
pub mod guard;
#[cfg(feature = "full")]
pub mod report;
#[cfg(feature = "full")]
pub mod server;
#[cfg(feature = "full")]
pub mod simulate;
#[cfg(feature = "full")]
pub mod source;
#[cfg(feature = "full")]
pub mod stats;
#[cfg(feature = "full")]
pub mod stdio;
