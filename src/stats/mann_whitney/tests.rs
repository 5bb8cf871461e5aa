//! Unit tests of the Mann–Whitney method (reference values: `tests/scipy_reference.rs`).

use super::*;

fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn selection_matches_sorting_above_the_materialise_limit() {
    let mut s = 7u64;
    // 150 × 130 = 19 500 differences > MATERIALISE_LIMIT; integers give many ties.
    let x: Vec<f64> = (0..150).map(|_| (lcg(&mut s) * 40.0).floor()).collect();
    let y: Vec<f64> = (0..130)
        .map(|_| (lcg(&mut s) * 40.0).floor() - 3.0)
        .collect();
    let pd = PairwiseDifferences::new(&x, &y);
    assert!(pd.count() > MATERIALISE_LIMIT);
    let mut all: Vec<f64> = x
        .iter()
        .flat_map(|a| y.iter().map(move |b| a - b))
        .collect();
    all.sort_by(f64::total_cmp);
    for k in [1, 2, 100, 9750, 9751, 15000, all.len() - 1, all.len()] {
        assert_eq!(pd.kth(k), all[k - 1], "k={k}");
    }
    let mid = all.len() / 2;
    assert_eq!(pd.median(), 0.5 * (all[mid - 1] + all[mid]));
    for d in [-50.0, -3.0, 0.0, 0.5, 12.0, 60.0] {
        assert_eq!(pd.count_above(d), all.iter().filter(|v| **v > d).count());
    }
}

#[test]
fn bucket_sort_handles_clusters_and_extremes() {
    // A tight cluster (one bucket gets almost everything), a far outlier, and the
    // extremes of the f64 range.
    let mut v: Vec<f64> = (0..5000)
        .map(|i| 1.0 + ((i * 7919) % 5000) as f64 * 1e-15)
        .collect();
    v.extend([1e300, -1e300, f64::MAX, f64::MIN, -0.0, 0.0, 3.0, 3.0, 3.0]);
    let mut want = v.clone();
    want.sort_unstable_by(f64::total_cmp);
    let got = sorted(&v);
    assert!(
        got.iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    assert_eq!(got.len(), want.len());
    let same = vec![2.5; 600];
    assert_eq!(sorted(&same), same);
}

#[test]
fn radix_sort_matches_total_order() {
    let mut s = 11u64;
    let mut v: Vec<f64> = (0..5000)
        .map(|i| {
            let u = lcg(&mut s) - 0.5;
            match i % 5 {
                0 => u * 1e-300,
                1 => u * 1e300,
                2 => (u * 20.0).round(),
                _ => u,
            }
        })
        .collect();
    v.extend([
        0.0,
        -0.0,
        0.0,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        5e-324,
    ]);
    let mut want = v.clone();
    want.sort_unstable_by(f64::total_cmp);
    let got = sorted(&v);
    assert_eq!(got.len(), want.len());
    assert!(
        got.iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    // and the merge ranking agrees with a direct O(N²) mid-rank computation on a sample
    let x: Vec<f64> = v[..700].to_vec();
    let y: Vec<f64> = v[700..1400].to_vec();
    let r = rank_pooled(&x, &y);
    let pooled: Vec<f64> = x.iter().chain(&y).copied().collect();
    let brute: f64 = x
        .iter()
        .map(|&xi| {
            let less = pooled.iter().filter(|&&p| p < xi).count() as f64;
            let equal = pooled.iter().filter(|&&p| p == xi).count() as f64;
            less + (equal + 1.0) / 2.0
        })
        .sum();
    assert_eq!(r.rank_sum_canary, brute);
}

#[test]
fn exact_distribution_matches_enumeration() {
    // m = 3, n = 4: enumerate all C(7,3) = 35 placements of the canary ranks.
    let (m, n) = (3usize, 4usize);
    let mut counts = vec![0u32; m * n + 1];
    for a in 0..7 {
        for b in a + 1..7 {
            for c in b + 1..7 {
                // U1 = rank sum − m(m+1)/2 with ranks 1-based.
                let u = (a + b + c + 3) - 6;
                counts[u] += 1;
            }
        }
    }
    let dist = UDistribution::new(m, n).unwrap();
    for (u, &c) in counts.iter().enumerate() {
        assert!((dist.pmf(u as u64) - c as f64 / 35.0).abs() < 1e-15);
    }
    assert!((dist.cdf(12) - 1.0).abs() < 1e-15);
    assert!((dist.sf(0) - 1.0).abs() < 1e-15);
    assert_eq!(dist.quantile(0.025), 0);
}

#[test]
fn empty_single_and_all_tied() {
    let p = MannWhitneyParams::default();
    let d = compare(&[], &[1.0, 2.0], &p).unwrap();
    assert_eq!(d.verdict, Verdict::Inconclusive);
    assert_eq!(d.p_value, None);
    // single values: exact p = 1 two-sided, HL = difference, strict → too few points.
    let d = compare(&[3.0], &[1.0], &p).unwrap();
    assert_eq!(d.verdict, Verdict::Inconclusive);
    assert_eq!(d.statistic, Some(1.0));
    assert_eq!(d.p_value, Some(1.0));
    assert_eq!(d.effect, Some(2.0));
    // all tied: U = mn/2, p = 1, shift 0 exactly, so it passes (even with a zero band).
    let tied = [2.0; 12];
    let d = compare(&tied, &tied, &p).unwrap();
    assert_eq!(d.statistic, Some(72.0));
    assert_eq!(d.p_value, Some(1.0));
    assert_eq!(d.effect, Some(0.0));
    assert_eq!(d.verdict, Verdict::Pass); // band = 0.1·2 = 0.2 > 0
    let no_cc = u_test(
        &tied,
        &tied,
        Alternative::TwoSided,
        PValueMode::Asymptotic,
        false,
    )
    .unwrap();
    assert_eq!(no_cc.p_value, 1.0);
}

#[test]
fn nan_and_infinity_handling() {
    let p = MannWhitneyParams::default();
    let err = compare(&[1.0, f64::NAN], &[1.0], &p).unwrap_err();
    assert_eq!(
        err,
        StatsError::NonFinite {
            arm: "canary",
            index: 1
        }
    );
    let remove = MannWhitneyParams {
        nan: NanStrategy::Remove,
        ..MannWhitneyParams::default()
    };
    let d = compare(&[1.0, f64::NAN], &[2.0, 3.0], &remove).unwrap();
    assert_eq!(d.n_canary, 1);
    let replace = MannWhitneyParams {
        nan: NanStrategy::Replace(0.0),
        ..MannWhitneyParams::default()
    };
    let d = compare(&[1.0, f64::NAN], &[2.0, 3.0], &replace).unwrap();
    assert_eq!(d.n_canary, 2);
    assert!(compare(&[1.0], &[f64::INFINITY], &remove).is_err());
}

#[test]
fn min_samples_gives_inconclusive_but_reports_numbers() {
    let x: Vec<f64> = (0..5).map(|i| 10.0 + i as f64).collect();
    let y: Vec<f64> = (0..5).map(|i| i as f64).collect();
    let d = compare(&x, &y, &MannWhitneyParams::default()).unwrap();
    assert_eq!(d.verdict, Verdict::Inconclusive);
    assert!(d.reason.contains("too few"));
    assert_eq!(d.statistic, Some(25.0));
    assert!(d.p_value.unwrap() < 0.01);
}

#[test]
fn strict_rule_fails_regressions_and_passes_equal_arms() {
    let mut s = 3u64;
    let y: Vec<f64> = (0..60).map(|_| 100.0 + 10.0 * lcg(&mut s)).collect();
    let worse: Vec<f64> = y.iter().map(|v| v + 30.0).collect();
    let p = MannWhitneyParams::default();
    let d = compare(&worse, &y, &p).unwrap();
    assert_eq!(d.verdict, Verdict::Fail, "{}", d.reason);
    let same: Vec<f64> = (0..60).map(|_| 100.0 + 10.0 * lcg(&mut s)).collect();
    let d = compare(&same, &y, &p).unwrap();
    assert_eq!(d.verdict, Verdict::Pass, "{}", d.reason);
    // A decrease is not harm for latency; with equivalence it is inconclusive, with
    // non-inferiority it passes.
    let better: Vec<f64> = y.iter().map(|v| v - 30.0).collect();
    assert_eq!(
        compare(&better, &y, &p).unwrap().verdict,
        Verdict::Inconclusive
    );
    let ni = MannWhitneyParams {
        pass_rule: PassRule::NonInferiority,
        ..MannWhitneyParams::default()
    };
    assert_eq!(compare(&better, &y, &ni).unwrap().verdict, Verdict::Pass);
}

#[test]
fn outlier_fences_follow_kayenta() {
    let mut v: Vec<f64> = (1..=20).map(f64::from).collect();
    v.push(1000.0);
    let kept = preprocess(
        "canary",
        &v,
        NanStrategy::Reject,
        OutlierStrategy::Remove,
        3.0,
    )
    .unwrap();
    assert_eq!(kept.len(), 20);
    assert_eq!(percentile_r7(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
    // P99 widening keeps the top point of a small sample even with factor 0.
    let w = [1.0, 2.0, 3.0, 4.0, 100.0];
    let kept = preprocess(
        "canary",
        &w,
        NanStrategy::Reject,
        OutlierStrategy::Remove,
        0.0,
    )
    .unwrap();
    assert_eq!(kept, vec![2.0, 3.0, 4.0]);
}

#[test]
fn forced_exact_rejects_huge_samples() {
    let x: Vec<f64> = (0..2000).map(f64::from).collect();
    assert!(u_test(&x, &x, Alternative::TwoSided, PValueMode::Exact, true).is_err());
}

#[test]
fn invalid_parameters_are_errors() {
    let bad = MannWhitneyParams {
        confidence: 1.0,
        ..MannWhitneyParams::default()
    };
    assert!(compare(&[1.0], &[2.0], &bad).is_err());
}
