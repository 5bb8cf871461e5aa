//! How good is the count test's forecast ("needs ≈ N more intervals")? Simulated rollouts
//! at constant traffic: at the first undecided look that has a forecast, note it, keep
//! looking one interval at a time, and compare the real number of further intervals to the
//! forecast. Pass runs have equal error rates (the test should pass inside the margin),
//! detect runs a canary error rate twice the baseline's (it should fail). Prints the share
//! of runs that decided within ±50 % of the forecast and the median real/forecast ratio.
//! A measurement, so it runs on demand: `cargo test --release --test integration --
//! forecast:: --ignored --nocapture`.

use canary_judge::stats::Verdict;
use canary_judge::stats::counts::{self, CountParams, CountSeries};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Binomial, Distribution};

struct Outcome {
    runs: usize,
    with_forecast: usize,
    within: usize,
    ratios: Vec<f64>,
}

fn campaign(ratio: f64, want: Verdict, seed: u64, runs: usize) -> Outcome {
    let params = CountParams {
        margin: 0.2,
        ..CountParams::default()
    };
    let (n_canary, n_baseline, p_base) = (400u64, 3600u64, 0.01);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Outcome {
        runs,
        with_forecast: 0,
        within: 0,
        ratios: Vec::new(),
    };
    for _ in 0..runs {
        let mut c = CountSeries::default();
        let mut b = CountSeries::default();
        let mut forecast: Option<(usize, u64)> = None;
        for look in 1..=3000usize {
            let ec = Binomial::new(n_canary, (p_base * ratio).min(1.0))
                .unwrap()
                .sample(&mut rng);
            let eb = Binomial::new(n_baseline, p_base).unwrap().sample(&mut rng);
            c.events.push(ec as f64);
            c.traffic.push(n_canary as f64);
            b.events.push(eb as f64);
            b.traffic.push(n_baseline as f64);
            let d = counts::compare(&c, &b, &params).unwrap();
            match (d.verdict, forecast) {
                (Verdict::Inconclusive, None) if look >= 5 => {
                    if let Some(f) = d.extra.get("forecast_more_intervals") {
                        forecast = Some((look, *f as u64));
                    }
                }
                (v, Some((at, f))) if v == want => {
                    let real = (look - at) as f64;
                    let r = real / f as f64;
                    out.with_forecast += 1;
                    out.ratios.push(r);
                    if (0.5..=1.5).contains(&r) {
                        out.within += 1;
                    }
                    break;
                }
                (Verdict::Inconclusive, _) => {}
                _ => break, // decided before a forecast, or the other way
            }
        }
    }
    out.ratios.sort_by(f64::total_cmp);
    out
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

#[test]
#[ignore = "measurement (about a minute); run with --ignored --nocapture"]
fn forecast_accuracy_by_simulation() {
    for (label, ratio, want, seed) in [
        ("pass (equal rates)", 1.0, Verdict::Pass, 11),
        ("detect (2x errors)", 2.0, Verdict::Fail, 12),
    ] {
        let o = campaign(ratio, want, seed, 60);
        println!(
            "forecast {label}: {}/{} runs decided within ±50 % of the forecast ({:.0} %), \
             median real/forecast {:.2}, {} of {} runs had a forecast before deciding",
            o.within,
            o.with_forecast,
            100.0 * o.within as f64 / o.with_forecast.max(1) as f64,
            median(&o.ratios),
            o.with_forecast,
            o.runs
        );
        assert!(o.with_forecast >= o.runs / 2, "{label}: too few forecasts");
        let m = median(&o.ratios);
        assert!(
            (0.25..=4.0).contains(&m),
            "{label}: median real/forecast {m}"
        );
    }
}
