//! Data sources: recorded series files now, Prometheus later.
