//! Criterion benchmarks of the statistics kernels at 10², 10⁴ and 10⁶ points (issue 7, part 2).
//!
//! Before timing, the data of every case are generated from fixed seeds and written as raw
//! little-endian f64 files, together with each kernel's result as JSON, into the data
//! directory (`CJ_BENCH_DATA`, default `target/bench-data`), so `scripts/bench-scipy.py` times
//! scipy/numpy on exactly the same numbers in the same run and checks the answers agree.
//! `scripts/bench-stats` runs both and prints the ratio table.

use canary_judge::stats::counts::{self, CountParams, CountSeries};
use canary_judge::stats::mann_whitney::{self, MannWhitneyParams};
use canary_judge::stats::msprt::{self, MsprtParams};
use canary_judge::stats::quantile::{self, QuantileParams};
use canary_judge::stats::welch::{self, WelchParams};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Binomial, Distribution, LogNormal, Normal};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

/// Sizes per arm (points, or intervals for the count test).
const SIZES: [usize; 3] = [100, 10_000, 1_000_000];

fn data_dir() -> PathBuf {
    std::env::var_os("CJ_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"))
}

fn write_f64(name: &str, values: &[f64]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(data_dir().join(format!("{name}.f64")), bytes).expect("write bench data");
}

/// Latency-like data: log-normal around 100 with the canary 2 % slower (no ties).
fn latencies(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let c = LogNormal::new(100f64.ln() + 0.02, 0.5).expect("valid log-normal");
    let b = LogNormal::new(100f64.ln(), 0.5).expect("valid log-normal");
    let x = (0..n).map(|_| c.sample(&mut rng)).collect();
    let y = (0..n).map(|_| b.sample(&mut rng)).collect();
    (x, y)
}

/// Normal data, canary mean 1 % higher.
fn normals(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let c = Normal::new(101.0, 10.0).expect("valid normal");
    let b = Normal::new(100.0, 10.0).expect("valid normal");
    let x = (0..n).map(|_| c.sample(&mut rng)).collect();
    let y = (0..n).map(|_| b.sample(&mut rng)).collect();
    (x, y)
}

/// Error counts per interval: canary 10 % of traffic, both at a 1 % error rate.
fn count_series(n: usize, seed: u64) -> (CountSeries, CountSeries) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut arm = |base: u64| {
        let traffic: Vec<f64> = (0..n).map(|i| (base + (i as u64 % 37)) as f64).collect();
        let events = traffic
            .iter()
            .map(|&t| {
                Binomial::new(t as u64, 0.01)
                    .expect("valid binomial")
                    .sample(&mut rng) as f64
            })
            .collect();
        CountSeries { events, traffic }
    };
    let c = arm(100);
    let b = arm(900);
    (c, b)
}

struct Case {
    mw: (Vec<f64>, Vec<f64>),
    welch: (Vec<f64>, Vec<f64>),
    msprt: (Vec<f64>, Vec<f64>),
    counts: (CountSeries, CountSeries),
    quantile: (Vec<f64>, Vec<f64>),
}

fn make_case(n: usize) -> Case {
    Case {
        mw: latencies(n, 1),
        welch: normals(n, 2),
        msprt: normals(n, 3),
        counts: count_series(n, 4),
        quantile: latencies(n, 5),
    }
}

/// Writes the data and every kernel's answer for `scripts/bench-scipy.py`.
fn export(n: usize, case: &Case, results: &mut BTreeMap<String, serde_json::Value>) {
    let pairs = [
        ("mann_whitney", &case.mw),
        ("welch", &case.welch),
        ("msprt", &case.msprt),
        ("quantile", &case.quantile),
    ];
    for (name, (x, y)) in pairs {
        write_f64(&format!("{name}_{n}_canary"), x);
        write_f64(&format!("{name}_{n}_baseline"), y);
    }
    let (c, b) = &case.counts;
    write_f64(&format!("counts_{n}_canary_events"), &c.events);
    write_f64(&format!("counts_{n}_canary_traffic"), &c.traffic);
    write_f64(&format!("counts_{n}_baseline_events"), &b.events);
    write_f64(&format!("counts_{n}_baseline_traffic"), &b.traffic);

    let mwp = MannWhitneyParams::default();
    let u = mann_whitney::u_test(
        &case.mw.0,
        &case.mw.1,
        mwp.alternative,
        mwp.mode,
        mwp.continuity,
    )
    .expect("u test");
    let entries = [
        (
            "mann_whitney",
            serde_json::json!({
                "params": mwp,
                "decision": mann_whitney::compare(&case.mw.0, &case.mw.1, &mwp).expect("mw"),
                "u_test": { "u1": u.u1, "p_value": u.p_value },
            }),
        ),
        (
            "welch",
            serde_json::json!({
                "params": WelchParams::default(),
                "decision": welch::compare(&case.welch.0, &case.welch.1, &WelchParams::default()).expect("welch"),
            }),
        ),
        (
            "msprt",
            serde_json::json!({
                "params": MsprtParams::default(),
                "decision": msprt::compare(&case.msprt.0, &case.msprt.1, &MsprtParams::default()).expect("msprt"),
            }),
        ),
        (
            "counts",
            serde_json::json!({
                "params": CountParams::default(),
                "decision": counts::compare(c, b, &CountParams::default()).expect("counts"),
                "e_process": counts::e_process(c, b, &CountParams::default()).expect("counts e-process"),
            }),
        ),
        (
            "quantile",
            serde_json::json!({
                "params": QuantileParams::default(),
                "decision": quantile::compare_samples(&case.quantile.0, &case.quantile.1, &QuantileParams::default()).expect("quantile"),
            }),
        ),
    ];
    for (name, value) in entries {
        results.insert(format!("{name}/{n}"), value);
    }
}

fn kernels(crit: &mut Criterion) {
    std::fs::create_dir_all(data_dir()).expect("create bench data dir");
    let mut results = BTreeMap::new();
    let cases: Vec<(usize, Case)> = SIZES.iter().map(|&n| (n, make_case(n))).collect();
    for (n, case) in &cases {
        export(*n, case, &mut results);
    }
    std::fs::write(
        data_dir().join("rust_results.json"),
        serde_json::to_string_pretty(&results).expect("serialise results"),
    )
    .expect("write rust results");

    let mwp = MannWhitneyParams::default();
    let mut group = crit.benchmark_group("mann_whitney_compare");
    for (n, case) in &cases {
        if *n >= 1_000_000 {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), case, |b, c| {
            b.iter(|| mann_whitney::compare(black_box(&c.mw.0), black_box(&c.mw.1), &mwp))
        });
    }
    group.finish();

    let mut group = crit.benchmark_group("mann_whitney_u_test");
    for (n, case) in &cases {
        if *n >= 1_000_000 {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), case, |b, c| {
            b.iter(|| {
                mann_whitney::u_test(
                    black_box(&c.mw.0),
                    black_box(&c.mw.1),
                    mwp.alternative,
                    mwp.mode,
                    mwp.continuity,
                )
            })
        });
    }
    group.finish();

    let wp = WelchParams::default();
    let mut group = crit.benchmark_group("welch");
    for (n, case) in &cases {
        if *n >= 1_000_000 {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), case, |b, c| {
            b.iter(|| welch::compare(black_box(&c.welch.0), black_box(&c.welch.1), &wp))
        });
    }
    group.finish();

    let mp = MsprtParams::default();
    let mut group = crit.benchmark_group("msprt");
    for (n, case) in &cases {
        if *n >= 1_000_000 {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), case, |b, c| {
            b.iter(|| msprt::compare(black_box(&c.msprt.0), black_box(&c.msprt.1), &mp))
        });
    }
    group.finish();

    let cp = CountParams::default();
    let mut group = crit.benchmark_group("counts");
    for (n, case) in &cases {
        if *n >= 1_000_000 {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), case, |b, c| {
            b.iter(|| counts::compare(black_box(&c.counts.0), black_box(&c.counts.1), &cp))
        });
    }
    group.finish();

    let mut group = crit.benchmark_group("counts_e_process");
    for (n, case) in &cases {
        if *n >= 1_000_000 {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), case, |b, c| {
            b.iter(|| counts::e_process(black_box(&c.counts.0), black_box(&c.counts.1), &cp))
        });
    }
    group.finish();

    let qp = QuantileParams::default();
    let mut group = crit.benchmark_group("quantile");
    for (n, case) in &cases {
        if *n >= 1_000_000 {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), case, |b, c| {
            b.iter(|| {
                quantile::compare_samples(black_box(&c.quantile.0), black_box(&c.quantile.1), &qp)
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = kernels
}
criterion_main!(benches);
