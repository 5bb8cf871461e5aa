//! Every integration test, as one test binary (one link of the crate instead of one per file).
//! Each file is a module named after the front door or concern it tests; run one with
//! `cargo test --release --test integration -- cli::` (or any test-name filter).

mod guard_support;

mod analysis;
mod argo_plugin;
mod backtest;
mod cli;
mod forecast;
mod gob_differential;
mod gob_golden;
mod goplugin_transport;
mod guard_admin;
mod guard_crash;
mod guard_example;
mod guard_policy;
mod guard_prometheus;
mod guard_rollback;
mod guard_watch;
mod prometheus_analysis;
mod prometheus_source;
mod report;
mod scipy_reference;
mod sequential_properties;
mod sequential_reference;
mod serve_windows;
mod service_fetch;
mod service_lifecycle;
mod simulation;
mod stats_defects;
mod stats_properties;
