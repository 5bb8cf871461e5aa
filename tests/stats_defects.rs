//! Issue 16: one test (fixed reproduction plus generated cases) per statistical defect found
//! by the independent check. Each test failed before its fix and passes after it.

use canary_judge::analysis::MetricOutcome;
use canary_judge::analysis::{AnalysisConfig, ArmData, SeriesSet, evaluate};
use canary_judge::stats::counts::{self, CountParams, CountSeries};
use canary_judge::stats::mann_whitney::{self, MannWhitneyParams};
use canary_judge::stats::msprt::{self, MsprtParams};
use canary_judge::stats::welch::{self, WelchParams};
use canary_judge::stats::{Decision, Verdict};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Defect 6: a metric in `error` is never neutral.
// ---------------------------------------------------------------------------------------

fn two_metric_config(mode: &str, flags: &str) -> AnalysisConfig {
    AnalysisConfig::from_yaml_str(&format!(
        "scoring: {{mode: {mode}}}\nmetrics:\n  - name: cpu\n    method: welch\n    canary: {{values: [1]}}\n    baseline: {{values: [1]}}\n  - name: errors\n    method: count-sequential\n{flags}    canary: {{events: {{values: [1]}}, traffic: {{values: [1]}}}}\n    baseline: {{events: {{values: [1]}}, traffic: {{values: [1]}}}}\n"
    ))
    .expect("test config is valid")
}

fn close(center: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| center * (1.0 + 0.05 * ((i as f64 * 2.399).sin())))
        .collect()
}

fn data_with_bad_counts(events: f64, traffic: f64) -> SeriesSet {
    let counts = |e: f64, t: f64| {
        ArmData::Counts(CountSeries {
            events: vec![e; 5],
            traffic: vec![t; 5],
        })
    };
    SeriesSet::default()
        .with(
            "cpu",
            ArmData::values(close(1.0, 40)),
            Some(ArmData::values(close(1.0, 40))),
        )
        .with(
            "errors",
            counts(events, traffic),
            Some(counts(1.0, traffic.max(1.0))),
        )
}

#[test]
fn defect6_error_metric_keeps_the_run_from_passing() {
    // The reproduction: a passing Welch metric plus a count metric with events > traffic
    // used to give overall pass, score 100, in both scoring modes.
    for mode in ["kayenta", "statistical"] {
        let r = evaluate(
            &two_metric_config(mode, ""),
            &data_with_bad_counts(50.0, 10.0),
        );
        assert_eq!(r.metrics[0].outcome, MetricOutcome::Pass, "{mode}");
        assert_eq!(r.metrics[1].outcome, MetricOutcome::Error, "{mode}");
        assert_eq!(r.verdict, Verdict::Inconclusive, "{mode}: {}", r.reason);
        assert!(r.reason.contains("`errors`"), "{mode}: {}", r.reason);
        for flag in ["critical: true", "must_have_data: true"] {
            let cfg = two_metric_config(mode, &format!("    {flag}\n"));
            let r = evaluate(&cfg, &data_with_bad_counts(50.0, 10.0));
            assert_eq!(r.verdict, Verdict::Fail, "{mode} {flag}: {}", r.reason);
            assert!(r.reason.contains("`errors`"), "{mode} {flag}: {}", r.reason);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn defect6_no_error_metric_is_neutral(
        traffic in 1.0f64..1e6,
        excess in 1.01f64..100.0,
        statistical in any::<bool>(),
        flag in 0usize..3,
    ) {
        let mode = if statistical { "statistical" } else { "kayenta" };
        let flags = ["", "    critical: true\n", "    must_have_data: true\n"][flag];
        let r = evaluate(
            &two_metric_config(mode, flags),
            &data_with_bad_counts(traffic * excess, traffic),
        );
        prop_assert_eq!(r.metrics[1].outcome, MetricOutcome::Error);
        prop_assert!(r.verdict != Verdict::Pass, "{}", r.reason);
        if flag > 0 {
            prop_assert_eq!(r.verdict, Verdict::Fail);
        }
        prop_assert!(r.reason.contains("`errors`"), "{}", r.reason);
    }
}

// ---------------------------------------------------------------------------------------
// Defect 4: never ci_low > ci_high; an empty running intersection is reported, never passes.
// ---------------------------------------------------------------------------------------

/// A small deterministic generator (SplitMix64), so the tests need no RNG crate.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    /// Poisson by inversion for small means, normal approximation above 500.
    fn poisson(&mut self, mean: f64) -> f64 {
        if mean > 500.0 {
            return (mean + mean.sqrt() * self.normal()).round().max(0.0);
        }
        let (mut k, mut p, mut cdf) = (0.0, (-mean).exp(), 0.0);
        let u = self.uniform();
        loop {
            cdf += p;
            if u <= cdf || k > 10.0 * mean + 50.0 {
                return k;
            }
            k += 1.0;
            p *= mean / k;
        }
    }
}

fn assert_ordered(d: &Decision) {
    if let (Some(lo), Some(hi)) = (d.ci_low, d.ci_high) {
        assert!(lo <= hi, "inverted interval [{lo}, {hi}]: {}", d.reason);
    }
    if d.extra.contains_key("cs_empty_look") {
        assert_ne!(d.verdict, Verdict::Pass, "{}", d.reason);
        assert!(d.reason.contains("became empty"), "{}", d.reason);
    }
}

/// Counts whose ratio is 1 for `before` intervals and `after_ratio` afterwards.
fn changing_counts(
    before: usize,
    after: usize,
    after_ratio: f64,
    seed: u64,
) -> (CountSeries, CountSeries) {
    let mut g = Mix(seed);
    let (mut c, mut b) = (CountSeries::default(), CountSeries::default());
    for i in 0..before + after {
        let r = if i < before { 1.0 } else { after_ratio };
        c.events.push(g.poisson(100.0 * r));
        c.traffic.push(10_000.0);
        b.events.push(g.poisson(100.0));
        b.traffic.push(10_000.0);
    }
    (c, b)
}

#[test]
fn defect4_count_interval_never_inverted_after_a_change() {
    // The running bounds close in near 1 while the ratio is 1, then the ratio doubles: the
    // lower bound climbs past the old upper bound, which used to be shown as ci_low > ci_high.
    let (c, b) = changing_counts(200, 100, 2.0, 16);
    let d = counts::compare(&c, &b, &CountParams::default()).expect("valid counts");
    assert!(d.extra.contains_key("cs_empty_look"), "{d:?}");
    assert_ordered(&d);
    assert_eq!(d.verdict, Verdict::Fail, "{}", d.reason);
    // Every prefix, as a look-by-look caller sees it.
    for k in 1..=c.events.len() {
        let cut = |s: &CountSeries| CountSeries {
            events: s.events[..k].to_vec(),
            traffic: s.traffic[..k].to_vec(),
        };
        assert_ordered(
            &counts::compare(&cut(&c), &cut(&b), &CountParams::default()).expect("valid"),
        );
    }
}

#[test]
fn defect4_msprt_interval_never_inverted_after_a_change() {
    let mut g = Mix(4);
    let x: Vec<f64> = (0..400)
        .map(|i| 100.0 + g.normal() + if i >= 300 { 3.0 } else { 0.0 })
        .collect();
    let y: Vec<f64> = (0..400).map(|_| 100.0 + g.normal()).collect();
    let d = msprt::compare(&x, &y, &MsprtParams::default()).expect("valid");
    assert!(d.extra.contains_key("cs_empty_look"), "{d:?}");
    assert_ordered(&d);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn defect4_no_inverted_interval_generated(
        before in 0usize..150,
        after in 1usize..100,
        ratio in 0.3f64..4.0,
        seed in any::<u64>(),
    ) {
        let (c, b) = changing_counts(before, after, ratio, seed);
        let d = counts::compare(&c, &b, &CountParams::default()).expect("valid");
        assert_ordered(&d);
        let mut g = Mix(seed);
        let shift = ratio - 1.0;
        let x: Vec<f64> = (0..before + after)
            .map(|i| 10.0 + g.normal() + if i >= before { shift } else { 0.0 })
            .collect();
        let y: Vec<f64> = (0..before + after).map(|_| 10.0 + g.normal()).collect();
        for harm in [canary_judge::stats::Harm::Increase, canary_judge::stats::Harm::Either] {
            let p = MsprtParams { harm, ..MsprtParams::default() };
            assert_ordered(&msprt::compare(&x, &y, &p).expect("valid"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Defect 7: statistics are reported whenever computable; the minimum only gates the verdict.
// ---------------------------------------------------------------------------------------

#[test]
fn defect7_welch_reports_statistics_below_min_samples() {
    let d = welch::compare(
        &[1.0, 2.0, 3.0, 4.0, 5.5],
        &[1.2, 2.1, 2.9, 4.4],
        &WelchParams::default(),
    )
    .expect("valid");
    assert_eq!(d.verdict, Verdict::Inconclusive);
    assert!(d.reason.contains("need at least 5"), "{}", d.reason);
    for (name, v) in [
        ("statistic", d.statistic),
        ("p_value", d.p_value),
        ("df", d.df),
        ("ci_low", d.ci_low),
        ("ci_high", d.ci_high),
    ] {
        assert!(v.is_some_and(f64::is_finite), "{name} missing: {d:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn defect7_below_minimum_same_statistics_as_without_minimum(
        x in proptest::collection::vec(0.0f64..100.0, 2..12),
        y in proptest::collection::vec(0.0f64..100.0, 2..12),
    ) {
        let gated = WelchParams { min_samples: 50, ..WelchParams::default() };
        let open = WelchParams { min_samples: 2, ..WelchParams::default() };
        let a = welch::compare(&x, &y, &gated).expect("valid");
        let b = welch::compare(&x, &y, &open).expect("valid");
        prop_assert_eq!(a.verdict, Verdict::Inconclusive);
        prop_assert_eq!(a.statistic, b.statistic);
        prop_assert_eq!(a.p_value, b.p_value);
        prop_assert_eq!(a.ci_low, b.ci_low);
        prop_assert_eq!(a.ci_high, b.ci_high);
        let gated = MannWhitneyParams { min_samples: 50, ..MannWhitneyParams::default() };
        let d = mann_whitney::compare(&x, &y, &gated).expect("valid");
        prop_assert!(d.statistic.is_some() && d.p_value.is_some());
    }
}

// ---------------------------------------------------------------------------------------
// Defect 8: values near 1e300, counts beyond 2^53, degenerate all-zero series.
// ---------------------------------------------------------------------------------------

#[test]
fn defect8_huge_values_are_judged_like_their_scaled_copies() {
    let x = [1.0e300, 1.1e300, 0.9e300, 1.05e300, 0.95e300, 1.02e300];
    let y = [1.0e300, 1.01e300, 0.99e300, 1.0e300, 0.98e300, 1.03e300];
    let w = welch::compare(&x, &y, &WelchParams::default()).expect("valid");
    assert!(w.p_value.is_some_and(|p| p < 1.0), "{w:?}");
    assert!(w.ci_low.is_some() && w.ci_high.is_some(), "{w:?}");
    let long_x: Vec<f64> = (0..60).map(|i| x[i % 6]).collect();
    let long_y: Vec<f64> = (0..60).map(|i| y[i % 6]).collect();
    let m = msprt::compare(&long_x, &long_y, &MsprtParams::default()).expect("valid");
    assert!(!m.reason.contains("constant"), "{}", m.reason);
    assert!(m.ci_low.is_some() && m.ci_high.is_some(), "{m:?}");
}

#[test]
fn defect8_counts_beyond_two_to_the_53_are_rejected() {
    let big = CountSeries {
        events: vec![1.0; 3],
        traffic: vec![1e300; 3],
    };
    let ok = CountSeries {
        events: vec![1.0; 3],
        traffic: vec![1e6; 3],
    };
    let e = counts::compare(&big, &ok, &CountParams::default()).expect_err("out of range");
    assert!(e.to_string().contains("2^53"), "{e}");
}

#[test]
fn defect8_identical_all_zero_series_agree_across_methods() {
    let z = vec![0.0; 20];
    let w = welch::compare(&z, &z, &WelchParams::default()).expect("valid");
    let m = mann_whitney::compare(&z, &z, &MannWhitneyParams::default()).expect("valid");
    assert_eq!(
        w.verdict, m.verdict,
        "welch: {} / mw: {}",
        w.reason, m.reason
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn defect8_power_of_two_scaling_changes_nothing_scale_free(
        x in proptest::collection::vec(1.0f64..2.0, 6..30),
        y in proptest::collection::vec(1.0f64..2.0, 6..30),
        k in 990i32..1020,
    ) {
        let s = 2f64.powi(k);
        let (xs, ys): (Vec<f64>, Vec<f64>) =
            (x.iter().map(|v| v * s).collect(), y.iter().map(|v| v * s).collect());
        let a = welch::compare(&x, &y, &WelchParams::default()).expect("valid");
        let b = welch::compare(&xs, &ys, &WelchParams::default()).expect("valid");
        prop_assert_eq!(a.verdict, b.verdict);
        prop_assert_eq!(a.p_value, b.p_value);
        prop_assert_eq!(a.statistic, b.statistic);
        prop_assert_eq!(a.ci_low.map(|v| v * s), b.ci_low);
        let n = x.len().min(y.len());
        let a = msprt::compare(&x[..n], &y[..n], &MsprtParams { burn_in: 5, ..MsprtParams::default() }).expect("valid");
        let b = msprt::compare(&xs[..n], &ys[..n], &MsprtParams { burn_in: 5, ..MsprtParams::default() }).expect("valid");
        prop_assert_eq!(a.verdict, b.verdict);
        prop_assert_eq!(a.p_value, b.p_value);
    }
}

// ---------------------------------------------------------------------------------------
// Defect 1: msprt anytime-valid at small burn-ins.
// ---------------------------------------------------------------------------------------

#[test]
fn defect1_two_points_per_arm_do_not_fail_a_one_percent_difference() {
    // The reproduction: 1 % difference inside a 10 % margin, burn-in 2, used to fail with
    // e ≈ 2·10⁹.
    let p = MsprtParams {
        burn_in: 2,
        ..MsprtParams::default()
    };
    let d = msprt::compare(&[101.0, 101.2], &[100.0, 100.2], &p).expect("valid");
    assert_ne!(d.verdict, Verdict::Fail, "{}", d.reason);
    assert!(d.e_value.is_some_and(|e| e < 20.0), "{d:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn defect1_tiny_samples_need_more_than_a_t_quantile_of_evidence(
        n in 2usize..10,
        seed in any::<u64>(),
        sd in prop::sample::select(vec![0.1, 1.0, 10.0, 1000.0]),
    ) {
        // With n < 10 points per arm the studentized difference is t-distributed: a
        // difference of less than the two-sided 99 % t quantile times its standard error can
        // never fail the canary however large the mixture makes the normal e-value.
        let mut g = Mix(seed);
        let x: Vec<f64> = (0..n).map(|_| 100.0 + sd * g.normal()).collect();
        let y: Vec<f64> = (0..n).map(|_| 100.0 + sd * g.normal()).collect();
        let p = MsprtParams { burn_in: 2, ..MsprtParams::default() };
        let d = msprt::compare(&x, &y, &p).expect("valid");
        if let Some(z) = d.statistic {
            let quantile = canary_judge::stats::special::t_ppf(0.995, (n - 1) as f64);
            if z.abs() < quantile && d.extra.get("looks") == Some(&1.0) {
                prop_assert_ne!(d.verdict, Verdict::Fail, "{}", d.reason);
            }
        }
    }
}

/// A/A false-fail rate of msprt with `burn` points of burn-in and `looks` intervals, over
/// `rollouts` rollouts with values N(100, sd²) in both arms; returns (rate, standard error).
fn msprt_aa(burn: usize, sd: f64, looks: usize, rollouts: usize, seed: u64) -> (f64, f64) {
    let mut g = Mix(seed);
    let p = MsprtParams {
        burn_in: burn,
        ..MsprtParams::default()
    };
    let mut fails = 0usize;
    for _ in 0..rollouts {
        let x: Vec<f64> = (0..looks).map(|_| 100.0 + sd * g.normal()).collect();
        let y: Vec<f64> = (0..looks).map(|_| 100.0 + sd * g.normal()).collect();
        if msprt::compare(&x, &y, &p).expect("valid").verdict == Verdict::Fail {
            fails += 1;
        }
    }
    let rate = fails as f64 / rollouts as f64;
    (rate, (0.05 * 0.95 / rollouts as f64).sqrt())
}

/// The A/A table of issue 16 defect 1: burn-ins 2, 5, 10, 30 × sd 0.1 … 1000, 50 looks,
/// 10 000 rollouts per cell, seed 16 + cell index; every cell must be ≤ α + 2 s.e.
/// Run: `cargo test --release --test integration -- --ignored --nocapture defect1_msprt_aa`.
#[test]
#[ignore = "Monte-Carlo, about 20 s in release mode"]
fn defect1_msprt_aa_false_fail_at_every_burn_in() {
    let (looks, rollouts) = (50, 10_000);
    let mut worst: f64 = 0.0;
    let mut cell = 0u64;
    println!(
        "msprt A/A false-fail, alpha 0.05, margin 0.1, mean 100, {looks} looks, {rollouts} rollouts"
    );
    for burn in [2, 5, 10, 30] {
        let mut row = format!("burn-in {burn:>2}:");
        for sd in [0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0] {
            let (rate, se) = msprt_aa(burn, sd, looks, rollouts, 16 + cell);
            cell += 1;
            row.push_str(&format!(
                "  sd {sd}: {:.2}% ± {:.2}",
                100.0 * rate,
                100.0 * se
            ));
            assert!(
                rate <= 0.05 + 2.0 * se,
                "burn-in {burn}, sd {sd}: {rate} (s.e. {se})"
            );
            worst = worst.max(rate);
        }
        println!("{row}");
    }
    println!("worst cell {:.2}%", 100.0 * worst);
}

// ---------------------------------------------------------------------------------------
// Defect 3: a clean, well-trafficked canary passes (absolute `min_rate` floor).
// ---------------------------------------------------------------------------------------

fn flat(events: f64, traffic: f64, n: usize) -> CountSeries {
    CountSeries {
        events: vec![events; n],
        traffic: vec![traffic; n],
    }
}

#[test]
fn defect3_zero_errors_at_high_traffic_pass_by_the_floor() {
    // The reproduction: zero errors in both arms at 10⁹ requests per interval used to stay
    // inconclusive ("no events in either arm yet") forever.
    let z = flat(0.0, 1e9, 5);
    let d = counts::compare(&z, &z, &CountParams::default()).expect("valid");
    assert_eq!(d.verdict, Verdict::Pass, "{}", d.reason);
    assert!(d.reason.contains("absolute floor"), "{}", d.reason);
    // Predictable time: with no errors the floor is shown after between ln(1/α)/min_rate and
    // ln(4/α)/min_rate requests (30 000 to 43 800 at the defaults): every mixture term is at
    // most e^{N·p0}, and the γ = 0 term alone is e^{N·p0}/4.
    let p = CountParams::default();
    let earliest = (1.0 / p.alpha).ln() / p.min_rate;
    let latest = (4.0 / p.alpha).ln() / p.min_rate;
    let before =
        counts::compare(&flat(0.0, earliest * 0.99, 1), &flat(0.0, 1e6, 1), &p).expect("valid");
    assert_eq!(before.verdict, Verdict::Inconclusive, "{}", before.reason);
    let after =
        counts::compare(&flat(0.0, latest * 1.01, 1), &flat(0.0, 1e6, 1), &p).expect("valid");
    assert_eq!(after.verdict, Verdict::Pass, "{}", after.reason);
    // The ratio rule names itself too.
    let e = flat(100.0, 10_000.0, 40);
    let d = counts::compare(&e, &e, &CountParams::default()).expect("valid");
    assert!(d.reason.contains("rule: rate ratio"), "{}", d.reason);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn defect3_floor_passes_only_rates_below_it(
        rate_exp in -7.0f64..-2.0,
        traffic_exp in 3.0f64..9.0,
        n in 1usize..60,
        seed in any::<u64>(),
    ) {
        // A canary whose true rate is 3× min_rate never passes by the floor (beyond the α
        // it is allowed), and a canary with errors well below it passes once traffic is large.
        let p = CountParams::default();
        let mut g = Mix(seed);
        let traffic = 10f64.powf(traffic_exp);
        let rate = 10f64.powf(rate_exp);
        let mk = |g: &mut Mix, r: f64| CountSeries {
            events: (0..n).map(|_| g.poisson(r * traffic).min(traffic)).collect(),
            traffic: vec![traffic; n],
        };
        let c = mk(&mut g, rate);
        let b = mk(&mut g, rate);
        let d = counts::compare(&c, &b, &p).expect("valid");
        let Some(&upper) = d.extra.get("rate_upper_canary") else {
            // Decided before the floor is looked at (too little traffic, or a Fail).
            prop_assert!(!d.reason.contains("absolute floor"));
            return Ok(());
        };
        let total: f64 = c.events.iter().sum();
        prop_assert!(upper >= total / (traffic * n as f64) * 0.999, "{} {}", upper, d.reason);
        if d.reason.contains("absolute floor") {
            prop_assert!(upper < p.min_rate);
        }
    }
}

/// How often the floor passes a canary whose rate is exactly min_rate (must be ≤ α), over 2000
/// seeded rollouts of 50 looks of 10⁵ requests each (every look judged).
#[test]
#[ignore = "Monte-Carlo, a few seconds in release mode"]
fn defect3_floor_false_pass_at_the_floor_rate() {
    let p = CountParams::default();
    let (looks, traffic, rollouts) = (50, 1e5, 2000);
    let mut g = Mix(3);
    let mut passes = 0;
    for _ in 0..rollouts {
        let c = CountSeries {
            events: (0..looks)
                .map(|_| g.poisson(p.min_rate * traffic))
                .collect(),
            traffic: vec![traffic; looks],
        };
        let b = flat(0.0, traffic, looks);
        let passed = (1..=looks).any(|k| {
            let cut = CountSeries {
                events: c.events[..k].to_vec(),
                traffic: c.traffic[..k].to_vec(),
            };
            let base = flat(0.0, traffic, k);
            counts::compare(&cut, &base, &p)
                .expect("valid")
                .reason
                .contains("absolute floor")
        });
        passes += usize::from(passed);
        let _ = &b;
    }
    let rate = passes as f64 / rollouts as f64;
    let se = (0.05 * 0.95 / rollouts as f64).sqrt();
    println!(
        "floor false pass at rate = min_rate: {:.2}% ± {:.2}",
        100.0 * rate,
        100.0 * se
    );
    assert!(rate <= 0.05 + 2.0 * se);
}

// ---------------------------------------------------------------------------------------
// Defect 2: the rate-ratio interval narrows like 1/√events, with no ×/÷ 1.049 floor.
// ---------------------------------------------------------------------------------------

/// Equal error rates in both arms at 10⁹ requests per interval (10⁻³ errors: 10⁶ events per
/// arm and interval), the reproduction.
fn high_traffic_equal(intervals: usize) -> CountSeries {
    flat(1e6, 1e9, intervals)
}

#[test]
fn defect2_interval_narrows_below_the_old_grid_floor() {
    // Before: [0.953, 1.049] however many requests arrived, so margins 0.04 and 0.02 never
    // passed.
    let s = high_traffic_equal(10);
    let d = counts::compare(&s, &s, &CountParams::default()).expect("valid");
    let (lo, hi) = (d.ci_low.expect("lower"), d.ci_high.expect("upper"));
    assert!(lo > 0.995 && hi < 1.005, "[{lo}, {hi}]");
    for margin in [0.04, 0.02] {
        let p = CountParams {
            margin,
            ..CountParams::default()
        };
        let d = counts::compare(&s, &s, &p).expect("valid");
        assert_eq!(d.verdict, Verdict::Pass, "margin {margin}: {}", d.reason);
        assert!(d.reason.contains("rule: rate ratio"), "{}", d.reason);
    }
    // A 2 % margin passes at the first look already at 10⁹ requests.
    let one = high_traffic_equal(1);
    let p = CountParams {
        margin: 0.02,
        ..CountParams::default()
    };
    assert_eq!(
        counts::compare(&one, &one, &p).expect("valid").verdict,
        Verdict::Pass
    );
}

#[test]
fn defect2_width_scales_like_one_over_root_events() {
    // 100× the events: 10× narrower (within the ladder's factor-√2 resolution).
    let width = |events: f64| {
        let s = flat(events, 1e9, 10);
        let d = counts::compare(&s, &s, &CountParams::default()).expect("valid");
        (d.ci_high.expect("upper") / d.ci_low.expect("lower")).ln()
    };
    let (a, b, c) = (width(1e3), width(1e5), width(1e7));
    assert!((7.0..14.0).contains(&(a / b)), "{a} {b} {c}");
    assert!((7.0..14.0).contains(&(b / c)), "{a} {b} {c}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn defect2_width_bounded_by_the_events_seen(
        rate_exp in -5.0f64..-2.0,
        share in 0.02f64..0.5,
        n in 1usize..40,
        seed in any::<u64>(),
    ) {
        // Equal rates at 10⁹ requests per interval: the interval's log-width is at most
        // 3·√(2·ln(25/α)/V) (V = Σ e·π(1 − π), the binomial information at r = 1), far below
        // the old floor's 2·ln 1.049 = 0.096 once V is large. (The running intersection need
        // not hold the current estimate: an earlier look may already have excluded it.)
        let mut g = Mix(seed);
        let total = 1e9;
        let rate = 10f64.powf(rate_exp);
        let (nc, nb) = (total * share, total * (1.0 - share));
        let c = CountSeries {
            events: (0..n).map(|_| g.poisson(rate * nc)).collect(),
            traffic: vec![nc; n],
        };
        let b = CountSeries {
            events: (0..n).map(|_| g.poisson(rate * nb)).collect(),
            traffic: vec![nb; n],
        };
        let p = CountParams::default();
        let d = counts::compare(&c, &b, &p).expect("valid");
        let events: f64 = c.events.iter().chain(&b.events).sum();
        let v = events * share * (1.0 - share);
        let (lo, hi) = (d.ci_low.expect("lower"), d.ci_high.expect("upper"));
        let bound = 3.0 * (2.0 * (25.0 / p.alpha).ln() / v).sqrt();
        prop_assert!(lo <= hi && (hi / lo).ln() <= bound, "[{}, {}] bound {}", lo, hi, bound);
    }
}

/// How often a canary whose error rate is exactly 1 + margin times the baseline's passes at
/// some look (must be ≤ α), and how soon an equal-rate canary passes, at margin 0.02 and
/// 10⁷ requests per arm and interval (10⁻³ errors: 10⁴ per arm), 30 looks, every look judged
/// on its prefix, 2000 rollouts each.
#[test]
#[ignore = "Monte-Carlo, a few seconds in release mode"]
fn defect2_two_percent_margin_false_pass_and_time_to_pass() {
    let p = CountParams {
        margin: 0.02,
        ..CountParams::default()
    };
    let (looks, traffic, rate, rollouts) = (30, 1e7, 1e-3, 2000);
    let mut g = Mix(2);
    let first_pass = |g: &mut Mix, ratio: f64| {
        let c = CountSeries {
            events: (0..looks)
                .map(|_| g.poisson(rate * ratio * traffic))
                .collect(),
            traffic: vec![traffic; looks],
        };
        let b = CountSeries {
            events: (0..looks).map(|_| g.poisson(rate * traffic)).collect(),
            traffic: vec![traffic; looks],
        };
        (1..=looks).find(|&k| {
            let cut = |s: &CountSeries| CountSeries {
                events: s.events[..k].to_vec(),
                traffic: s.traffic[..k].to_vec(),
            };
            counts::compare(&cut(&c), &cut(&b), &p)
                .expect("valid")
                .verdict
                == Verdict::Pass
        })
    };
    let false_passes = (0..rollouts)
        .filter(|_| first_pass(&mut g, 1.0 + p.margin).is_some())
        .count();
    let mut times: Vec<usize> = (0..rollouts)
        .map(|_| first_pass(&mut g, 1.0).unwrap_or(looks + 1))
        .collect();
    times.sort_unstable();
    let rate_fp = false_passes as f64 / rollouts as f64;
    let se = (p.alpha * (1.0 - p.alpha) / rollouts as f64).sqrt();
    let passed = times.iter().filter(|&&t| t <= looks).count();
    println!(
        "margin 0.02, 1e7 requests/interval, rate 1e-3: false pass at r = 1.02: {:.2}% ± {:.2}; equal rates: {:.1}% pass within {looks} looks, median first pass look {}",
        100.0 * rate_fp,
        100.0 * se,
        100.0 * passed as f64 / rollouts as f64,
        times[rollouts / 2]
    );
    assert!(rate_fp <= p.alpha + 2.0 * se);
    assert!(passed as f64 >= 0.9 * rollouts as f64);
}

// ---------------------------------------------------------------------------------------
// Defect 5: one fail rule for every method — harm must be shown beyond `fail_margin`.
// ---------------------------------------------------------------------------------------

/// The reproduction: canary +0.2 sd (mean 102 against 100, sd 10) over 2000 points,
/// margin 0.1 (a band of ±10).
fn small_shift(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut g = Mix(seed);
    let x = (0..n).map(|_| 102.0 + 10.0 * g.normal()).collect();
    let y = (0..n).map(|_| 100.0 + 10.0 * g.normal()).collect();
    (x, y)
}

#[test]
fn defect5_a_significant_shift_inside_the_margin_does_not_fail_any_method() {
    let (x, y) = small_shift(2000, 5);
    // Before: msprt failed (e ≫ 1/α) while its own interval lay inside ±10, and Welch and
    // Mann–Whitney passed. Now all three follow the same rule and agree.
    let m = msprt::compare(&x, &y, &MsprtParams::default()).expect("valid");
    let w = welch::compare(&x, &y, &WelchParams::default()).expect("valid");
    let u = mann_whitney::compare(&x, &y, &MannWhitneyParams::default()).expect("valid");
    assert!(
        m.e_value.expect("e") > 20.0,
        "the shift is significant: {m:?}"
    );
    for d in [&m, &w, &u] {
        assert_eq!(d.verdict, Verdict::Pass, "{}: {}", d.method, d.reason);
        assert_eq!(
            d.extra.get("fail_band").copied().map(|b| b.round()),
            Some(10.0)
        );
    }
    // fail_margin 0: any shown harm fails, again in every method alike, and the reason says
    // which fail margin decided.
    let m0 = msprt::compare(
        &x,
        &y,
        &MsprtParams {
            fail_margin: Some(0.0),
            ..MsprtParams::default()
        },
    )
    .expect("valid");
    let w0 = welch::compare(
        &x,
        &y,
        &WelchParams {
            fail_margin: Some(0.0),
            ..WelchParams::default()
        },
    )
    .expect("valid");
    let u0 = mann_whitney::compare(
        &x,
        &y,
        &MannWhitneyParams {
            fail_margin: Some(0.0),
            ..MannWhitneyParams::default()
        },
    )
    .expect("valid");
    for d in [&m0, &w0, &u0] {
        assert_eq!(d.verdict, Verdict::Fail, "{}: {}", d.method, d.reason);
        assert!(d.reason.contains("fail_margin 0"), "{}", d.reason);
    }
}

#[test]
fn defect5_count_test_fails_only_beyond_the_fail_margin() {
    // A 10 % higher error rate at high traffic: shown (old rule: Fail), but inside the 20 %
    // margin, so now Pass; a doubled error rate still fails.
    let traffic = vec![1e6; 30];
    let base = CountSeries {
        events: vec![1000.0; 30],
        traffic: traffic.clone(),
    };
    let slightly = CountSeries {
        events: vec![1100.0; 30],
        traffic: traffic.clone(),
    };
    let doubled = CountSeries {
        events: vec![2000.0; 30],
        traffic,
    };
    let p = CountParams::default();
    let d = counts::compare(&slightly, &base, &p).expect("valid");
    assert_eq!(d.verdict, Verdict::Pass, "{}", d.reason);
    let d = counts::compare(
        &slightly,
        &base,
        &CountParams {
            fail_margin: Some(0.0),
            ..CountParams::default()
        },
    )
    .expect("valid");
    assert_eq!(d.verdict, Verdict::Fail, "{}", d.reason);
    let d = counts::compare(&doubled, &base, &p).expect("valid");
    assert_eq!(d.verdict, Verdict::Fail, "{}", d.reason);
    assert!(d.reason.contains("1 + fail_margin = 1.200"), "{}", d.reason);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn defect5_no_method_fails_inside_its_fail_band(
        shift_sd in -0.5f64..1.5,
        n in 40usize..400,
        fail_margin in prop::option::of(0.0f64..0.2),
        seed in any::<u64>(),
    ) {
        // Same data, three methods: a Fail never comes with a reported interval that lies
        // entirely at or below the fail band, and for the fixed-sample tests its point
        // estimate is beyond the band.
        let mut g = Mix(seed);
        let x: Vec<f64> = (0..n).map(|_| 100.0 + 10.0 * (shift_sd + g.normal())).collect();
        let y: Vec<f64> = (0..n).map(|_| 100.0 + 10.0 * g.normal()).collect();
        let decisions = [
            msprt::compare(&x, &y, &MsprtParams { fail_margin, ..MsprtParams::default() }),
            welch::compare(&x, &y, &WelchParams { fail_margin, ..WelchParams::default() }),
            mann_whitney::compare(&x, &y, &MannWhitneyParams { fail_margin, ..MannWhitneyParams::default() }),
        ];
        for d in decisions {
            let d = d.expect("valid");
            let band = d.extra["fail_band"];
            if d.verdict == Verdict::Fail {
                if d.method != "msprt" {
                    prop_assert!(d.effect.expect("effect") > band, "{}: {}", d.method, d.reason);
                }
                if let Some(hi) = d.ci_high && !d.extra.contains_key("cs_empty_look") {
                    prop_assert!(hi > band, "{}: {}", d.method, d.reason);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Defect 9: zero-heavy data — an interval sitting on a jump of the rank statistic.
// ---------------------------------------------------------------------------------------

/// `n` values, a fraction `zeros` of them exactly 0, the rest uniform in [lo, hi).
fn zero_heavy(g: &mut Mix, n: usize, zeros: f64, lo: f64, hi: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            if g.uniform() < zeros {
                0.0
            } else {
                lo + (hi - lo) * g.uniform()
            }
        })
        .collect()
}

fn kayenta() -> MannWhitneyParams {
    MannWhitneyParams {
        rule: mann_whitney::DecisionRule::Kayenta,
        ..MannWhitneyParams::default()
    }
}

#[test]
fn defect9_zero_heavy_canary_fails_under_both_rules() {
    // The report: a canary mostly 0 with a few large values (here 4–5× the baseline's mean),
    // against a mostly-0 baseline. Hodges–Lehmann and its interval are exactly [0, 0], so the
    // strict "interval beyond the band" test never fired and Kayenta mode passed.
    let mut g = Mix(9);
    let x = zero_heavy(&mut g, 400, 0.8, 5.0, 50.0);
    let y = zero_heavy(&mut g, 400, 0.95, 1.0, 10.0);
    let k = mann_whitney::compare(&x, &y, &kayenta()).expect("valid");
    assert_eq!(k.effect, Some(0.0), "{k:?}");
    assert!(k.extra["mean_ratio"] > 4.0, "{k:?}");
    assert!(k.p_value.expect("p") < 1e-9, "{k:?}");
    assert_eq!(k.verdict, Verdict::Fail, "{}", k.reason);
    assert!(k.reason.contains("jump"), "{}", k.reason);
    let s = mann_whitney::compare(&x, &y, &MannWhitneyParams::default()).expect("valid");
    assert_eq!(s.verdict, Verdict::Fail, "{}", s.reason);
    // The mirror image (canary the mostly-0 arm) is Low under harm `decrease`.
    let low = mann_whitney::compare(
        &y,
        &x,
        &MannWhitneyParams {
            harm: canary_judge::stats::Harm::Decrease,
            ..kayenta()
        },
    )
    .expect("valid");
    assert_eq!(low.verdict, Verdict::Fail, "{}", low.reason);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn defect9_zero_heavy_worse_fails_and_same_data_never_does(
        canary_zeros in 0.5f64..0.85,
        baseline_zeros in 0.9f64..0.99,
        n in 200usize..500,
        seed in any::<u64>(),
    ) {
        let mut g = Mix(seed);
        let x = zero_heavy(&mut g, n, canary_zeros, 5.0, 50.0);
        let y = zero_heavy(&mut g, n, baseline_zeros, 1.0, 10.0);
        for p in [kayenta(), MannWhitneyParams::default()] {
            let d = mann_whitney::compare(&x, &y, &p).expect("valid");
            // Far more non-zero values in the canary, significant at any sensible level, and
            // (Kayenta) the estimate on the jump at 0, so its tolerance band is 0 too.
            let on_jump = d.extra.get("kayenta_estimate").is_none_or(|&e| e == 0.0);
            if d.extra["p_harm"] < 1e-6 && on_jump {
                prop_assert_eq!(d.verdict, Verdict::Fail, "{:?}: {}", p.rule, d.reason);
            }
            // The same values in another order: no difference at all, never a Fail.
            let mut shuffled = x.clone();
            shuffled.reverse();
            let same = mann_whitney::compare(&shuffled, &x, &p).expect("valid");
            prop_assert_ne!(same.verdict, Verdict::Fail, "{:?}: {}", p.rule, same.reason);
        }
    }
}

// ---------------------------------------------------------------------------------------
// A count-test Fail whose interval reaches below the fail band says why (docs/statistics.md).
// ---------------------------------------------------------------------------------------

#[test]
fn count_fail_below_the_band_says_the_procedures_are_separate() {
    // Canary at 1.3× the baseline's rate, fail_margin 0 and 0.2: every Fail whose ci_low is not
    // above 1 + fail_margin must say that the fail test and the interval are separate
    // procedures, and no other Fail may say so. Such Fails must occur, or this checks nothing.
    let mut g = Mix(1616);
    let (mut below, mut above) = (0, 0);
    for fail_margin in [0.0, 0.2] {
        let p = CountParams {
            fail_margin: Some(fail_margin),
            share: None,
            ..CountParams::default()
        };
        for _ in 0..300 {
            let n = 5 + (g.next() % 40) as usize;
            let traffic = vec![5000.0; n];
            let c = CountSeries {
                events: (0..n).map(|_| g.poisson(5000.0 * 0.013)).collect(),
                traffic: traffic.clone(),
            };
            let b = CountSeries {
                events: (0..n).map(|_| g.poisson(5000.0 * 0.01)).collect(),
                traffic,
            };
            let d = counts::compare(&c, &b, &p).expect("valid");
            if d.verdict != Verdict::Fail {
                continue;
            }
            let says = d.reason.contains("separate procedures");
            let low = d.ci_low.expect("a Fail has a lower bound");
            if low <= 1.0 + fail_margin {
                assert!(says, "ci_low {low}: {}", d.reason);
                below += 1;
            } else {
                assert!(!says, "ci_low {low}: {}", d.reason);
                above += 1;
            }
        }
    }
    println!("Fails with ci_low at or below the band: {below}, above: {above}");
    assert!(below > 0 && above > 0, "below {below}, above {above}");
}
