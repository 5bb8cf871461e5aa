//! Compares the anytime-valid methods with independent Python/scipy reference values
//! (`scripts/sequential_reference.py` → `tests/data/sequential_reference.json`): e-values,
//! p-values, confidence-sequence bounds, rate-ratio bounds and quantile CS ends, each to a
//! relative error of at most 1e-9, and the verdicts exactly.

use canary_judge::stats::Decision;
use canary_judge::stats::counts::{self, CountParams, CountSeries};
use canary_judge::stats::msprt::{self, MsprtParams};
use canary_judge::stats::quantile::{self, HistogramSeries, QuantileParams};
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

fn load() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sequential_reference.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn rel_err(got: f64, want: f64) -> f64 {
    if got == want {
        return 0.0;
    }
    (got - want).abs() / want.abs().max(1e-300)
}

/// Checks one decision against its expected object; returns the largest relative error.
fn check(case: &str, got: &Decision, want: &Value) -> f64 {
    let mut worst: f64 = 0.0;
    assert_eq!(
        got.verdict.as_str(),
        want["verdict"].as_str().unwrap(),
        "{case}: verdict ({})",
        got.reason
    );
    for (field, value) in [
        ("e_value", got.e_value),
        ("p_value", got.p_value),
        ("effect", got.effect),
        ("ci_low", got.ci_low),
        ("ci_high", got.ci_high),
    ] {
        match (want.get(field).and_then(Value::as_f64), value) {
            (Some(w), Some(g)) => {
                let e = rel_err(g, w);
                assert!(
                    e <= TOLERANCE,
                    "{case}: {field} = {g}, reference {w} (rel {e:e})"
                );
                worst = worst.max(e);
            }
            (None, None) => {}
            (w, g) => {
                // The reference omits fields it does not compute (e.g. quantile e-values).
                if w.is_some() || want.get("e_value").is_some() {
                    panic!("{case}: {field} is {g:?}, reference {w:?}");
                }
            }
        }
    }
    if let Some(extra) = want.get("extra").and_then(Value::as_object) {
        for (key, w) in extra {
            let w = w.as_f64().unwrap();
            let g = *got
                .extra
                .get(key)
                .unwrap_or_else(|| panic!("{case}: extra `{key}` missing"));
            let e = rel_err(g, w);
            assert!(
                e <= TOLERANCE,
                "{case}: extra {key} = {g}, reference {w} (rel {e:e})"
            );
            worst = worst.max(e);
        }
        // Quantile bounds: the finite ends must be exactly those of the reference.
        for key in got.extra.keys() {
            if key.starts_with("canary_") || key.starts_with("baseline_") {
                assert!(
                    extra.contains_key(key),
                    "{case}: extra `{key}` not in the reference"
                );
            }
        }
    }
    worst
}

fn floats(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn msprt_matches_reference() {
    let data = load();
    let mut worst: f64 = 0.0;
    for case in data["msprt"].as_array().unwrap() {
        let params: MsprtParams = serde_json::from_value(case["params"].clone()).unwrap();
        let d = msprt::compare(
            &floats(&case["canary"]),
            &floats(&case["baseline"]),
            &params,
        )
        .unwrap();
        worst = worst.max(check(case["name"].as_str().unwrap(), &d, &case["expected"]));
    }
    println!("msprt: largest relative error {worst:e}");
}

#[test]
fn counts_match_reference() {
    let data = load();
    let mut worst: f64 = 0.0;
    for case in data["counts"].as_array().unwrap() {
        let params: CountParams = serde_json::from_value(case["params"].clone()).unwrap();
        let c: CountSeries = serde_json::from_value(case["canary"].clone()).unwrap();
        let b: CountSeries = serde_json::from_value(case["baseline"].clone()).unwrap();
        let d = counts::compare(&c, &b, &params).unwrap();
        worst = worst.max(check(case["name"].as_str().unwrap(), &d, &case["expected"]));
    }
    println!("counts: largest relative error {worst:e}");
}

#[test]
fn quantile_samples_match_reference() {
    let data = load();
    let mut worst: f64 = 0.0;
    for case in data["samples"].as_array().unwrap() {
        let params: QuantileParams = serde_json::from_value(case["params"].clone()).unwrap();
        let d = quantile::compare_samples(
            &floats(&case["canary"]),
            &floats(&case["baseline"]),
            &params,
        )
        .unwrap();
        worst = worst.max(check(case["name"].as_str().unwrap(), &d, &case["expected"]));
    }
    println!("quantile samples: largest relative error {worst:e}");
}

#[test]
fn quantile_histograms_match_reference() {
    let data = load();
    let mut worst: f64 = 0.0;
    for case in data["histograms"].as_array().unwrap() {
        let params: QuantileParams = serde_json::from_value(case["params"].clone()).unwrap();
        let c: HistogramSeries = serde_json::from_value(case["canary"].clone()).unwrap();
        let b: HistogramSeries = serde_json::from_value(case["baseline"].clone()).unwrap();
        let d = quantile::compare_histograms(&c, &b, &params).unwrap();
        worst = worst.max(check(case["name"].as_str().unwrap(), &d, &case["expected"]));
    }
    println!("quantile histograms: largest relative error {worst:e}");
}
