//! canary-judge: decides whether a canary release is healthy by comparing its metric series
//! with a baseline's. The library holds the engine and every front door; `main.rs` only
//! parses the command line. See `ARCHITECTURE.md` for the map.

pub mod analysis;
pub mod argo;
pub mod cli;
pub mod gob;
pub mod goplugin;
pub mod guard;
pub mod server;
pub mod simulate;
pub mod source;
pub mod stats;
