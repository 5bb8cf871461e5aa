//! Property tests of the anytime-valid methods: e-values are non-negative and p-values lie in
//! [0, 1]; the count test is invariant to a common traffic scale and equivariant (r → r/c) to
//! scaling the canary's traffic; zero events give e = 1 and Inconclusive; swapping the arms of
//! mSPRT mirrors its confidence sequence.

use canary_judge::stats::counts::{self, CountParams, CountSeries};
use canary_judge::stats::msprt::{self, MsprtParams};
use canary_judge::stats::quantile::{self, HistogramSeries, QuantileParams};
use canary_judge::stats::{Harm, Verdict};
use proptest::prelude::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)
}

/// Per-interval (events, traffic) pairs with events ≤ traffic.
fn arm(len: usize) -> impl Strategy<Value = CountSeries> {
    prop::collection::vec((0u32..40, 50u32..2000), len).prop_map(|v| CountSeries {
        events: v.iter().map(|(e, _)| *e as f64).collect(),
        traffic: v.iter().map(|(e, n)| (*e + *n) as f64).collect(),
    })
}

fn arms() -> impl Strategy<Value = (CountSeries, CountSeries)> {
    (1usize..25).prop_flat_map(|n| (arm(n), arm(n)))
}

fn scale_traffic(s: &CountSeries, c: f64) -> CountSeries {
    CountSeries {
        events: s.events.clone(),
        traffic: s.traffic.iter().map(|t| t * c).collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn counts_e_nonnegative_p_in_unit((c, b) in arms(), share in prop::option::of(0.05f64..0.95)) {
        let p = CountParams { share, ..CountParams::default() };
        let d = counts::compare(&c, &b, &p).unwrap();
        let e = d.e_value.unwrap();
        let pv = d.p_value.unwrap();
        prop_assert!(e >= 0.0 && !e.is_nan());
        prop_assert!((0.0..=1.0).contains(&pv));
        prop_assert!(d.extra["e_max"] >= e * (1.0 - 1e-12));
        // (r_L ≤ r_U is not asserted: with a rate ratio that drifts between intervals, as
        // arbitrary data allow, the running intersection may legitimately become empty.)
        if let Some(hi) = d.ci_high {
            prop_assert!(hi > 0.0);
        }
    }

    #[test]
    fn counts_common_traffic_scale_changes_nothing((c, b) in arms(), scale in 1.0f64..50.0) {
        // The rate-ratio test only: the absolute `min_rate` floor depends on traffic by design.
        let p = CountParams { min_requests: 0.0, min_rate: 0.0, ..CountParams::default() };
        let d1 = counts::compare(&c, &b, &p).unwrap();
        let d2 = counts::compare(&scale_traffic(&c, scale), &scale_traffic(&b, scale), &p).unwrap();
        prop_assert_eq!(d1.verdict, d2.verdict);
        prop_assert!(close(d1.e_value.unwrap(), d2.e_value.unwrap(), 1e-9));
        prop_assert!(close(d1.p_value.unwrap(), d2.p_value.unwrap(), 1e-9));
        match (d1.ci_high, d2.ci_high) {
            (Some(x), Some(y)) => prop_assert!(close(x, y, 1e-8), "{} vs {}", x, y),
            (None, None) => {}
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn counts_canary_traffic_scale_divides_the_ratio((c, b) in arms(), scale in 1.0f64..20.0) {
        // Requests ×c at the same events: the canary's rate, the rate ratio and its
        // confidence bounds all shrink by c (q depends on r·n_c/n_b only).
        let p = CountParams { min_requests: 0.0, ..CountParams::default() };
        let d1 = counts::compare(&c, &b, &p).unwrap();
        let d2 = counts::compare(&scale_traffic(&c, scale), &b, &p).unwrap();
        if let (Some(x), Some(y)) = (d1.effect, d2.effect) {
            prop_assert!(close(x / scale, y, 1e-9));
        }
        if let (Some(x), Some(y)) = (d1.ci_high, d2.ci_high) {
            prop_assume!(x > 1e-3 && x < 1e3);
            prop_assert!(close(x / scale, y, 1e-7), "{} / {} vs {}", x, scale, y);
        }
    }

    #[test]
    fn counts_zero_events_inconclusive(n in 1usize..30, traffic in 100.0f64..1e6, share in prop::option::of(0.05f64..0.95)) {
        let s = CountSeries { events: vec![0.0; n], traffic: vec![traffic; n] };
        // Without the `min_rate` floor no events means no verdict (with it, enough clean
        // traffic passes: tests/stats_defects.rs defect3_*).
        let d = counts::compare(&s, &s, &CountParams { share, min_rate: 0.0, ..CountParams::default() }).unwrap();
        prop_assert_eq!(d.verdict, Verdict::Inconclusive);
        prop_assert_eq!(d.e_value, Some(1.0));
        prop_assert_eq!(d.p_value, Some(1.0));
        prop_assert_eq!(d.ci_high, None);
    }

    #[test]
    fn msprt_e_nonnegative_p_in_unit(
        x in prop::collection::vec(-50.0f64..50.0, 40),
        y in prop::collection::vec(-50.0f64..50.0, 40),
        harm in prop_oneof![Just(Harm::Increase), Just(Harm::Decrease), Just(Harm::Either)],
    ) {
        let d = msprt::compare(&x, &y, &MsprtParams { harm, burn_in: 5, ..MsprtParams::default() }).unwrap();
        let e = d.e_value.unwrap();
        prop_assert!(e >= 0.0 && !e.is_nan());
        prop_assert!((0.0..=1.0).contains(&d.p_value.unwrap()));
    }

    #[test]
    fn msprt_swapping_arms_mirrors_the_cs(
        x in prop::collection::vec(0.0f64..100.0, 35),
        y in prop::collection::vec(0.0f64..100.0, 35),
        tau in prop::option::of(0.5f64..20.0),
    ) {
        for (h1, h2) in [(Harm::Either, Harm::Either), (Harm::Increase, Harm::Decrease)] {
            let p1 = MsprtParams { harm: h1, tau, burn_in: 5, ..MsprtParams::default() };
            let p2 = MsprtParams { harm: h2, tau, burn_in: 5, ..MsprtParams::default() };
            let a = msprt::compare(&x, &y, &p1).unwrap();
            let b = msprt::compare(&y, &x, &p2).unwrap();
            prop_assert!(close(a.ci_low.unwrap(), -b.ci_high.unwrap(), 1e-9));
            prop_assert!(close(a.ci_high.unwrap(), -b.ci_low.unwrap(), 1e-9));
            prop_assert!(close(a.effect.unwrap(), -b.effect.unwrap(), 1e-9));
            prop_assert!(close(a.e_value.unwrap(), b.e_value.unwrap(), 1e-9));
        }
    }

    #[test]
    fn histogram_e_nonnegative_p_in_unit(
        rows in prop::collection::vec((0u32..50, 0u32..50, 0u32..50, 0u32..20), 1..20),
        shift in 0u32..3,
    ) {
        let bounds = vec![10.0, 100.0, 1000.0, f64::INFINITY];
        let cum = |r: &(u32, u32, u32, u32)| {
            let v = [r.0 as f64, r.1 as f64, r.2 as f64, r.3 as f64];
            let mut acc = 0.0;
            v.iter().map(|x| { acc += x; acc }).collect::<Vec<f64>>()
        };
        let c = HistogramSeries { bounds: bounds.clone(), intervals: rows.iter().map(|r| {
            let mut x = cum(r);
            x[0] = (x[0] - shift as f64).max(0.0);
            x
        }).collect() };
        let b = HistogramSeries { bounds, intervals: rows.iter().map(cum).collect() };
        let d = quantile::compare_histograms(&c, &b, &QuantileParams::default()).unwrap();
        prop_assert!(d.e_value.unwrap() >= 0.0);
        prop_assert!((0.0..=1.0).contains(&d.p_value.unwrap()));
    }

    #[test]
    fn samples_bounds_are_ordered(
        x in prop::collection::vec(0.0f64..1000.0, 30..300),
        y in prop::collection::vec(0.0f64..1000.0, 30..300),
    ) {
        let d = quantile::compare_samples(&x, &y, &QuantileParams::default()).unwrap();
        for p in [0.5, 0.9, 0.99] {
            for arm in ["canary", "baseline"] {
                if let (Some(lo), Some(hi)) = (d.extra.get(&format!("{arm}_low_p{p}")), d.extra.get(&format!("{arm}_high_p{p}"))) {
                    prop_assert!(lo <= hi, "{} p{}: {} > {}", arm, p, lo, hi);
                }
            }
        }
    }
}
