//! Data sources: recorded series files now, Prometheus later.
pub mod prometheus;
