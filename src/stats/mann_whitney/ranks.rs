//! Ranking of the pooled sample and the U statistic with its asymptotic and exact p-values.

use super::*;

/// Mid-rank summary of the pooled sample (canary first), as scipy's `_rankdata(…, 'average',
/// return_ties=True)` feeds `mannwhitneyu`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranking {
    /// Sum of the canary's mid-ranks R1.
    pub rank_sum_canary: f64,
    /// Σ (t³ − t) over tie groups of the pooled sample (0 without ties).
    pub tie_term: f64,
    /// Whether any value occurs more than once in the pooled sample.
    pub has_ties: bool,
}

/// Rank the pooled sample with average ranks for ties in O(N log N).
pub fn rank_pooled(canary: &[f64], baseline: &[f64]) -> Ranking {
    rank_sorted(&sorted(canary), &sorted(baseline), 0.0)
}

/// Ascending copy in `f64::total_cmp` order (callers have rejected NaN).
///
/// Large inputs are sorted on the order-preserving integer image of the floats (sign bit
/// flipped for positives, all bits flipped for negatives — the same order as `total_cmp`) by
/// one bucket pass: the key range [min, max] is cut into about len/4 buckets by the leading
/// bits of key − min, keys are scattered into their buckets (counting sort), and each bucket
/// is finished by insertion sort (pdqsort if a bucket holds more than 32 keys, so clustered
/// data stay O(n log n)). Three passes over the data instead of the six of an 11-bit LSD radix
/// sort; the result is the unique `total_cmp` order either way.
pub(super) fn sorted(values: &[f64]) -> Vec<f64> {
    if values.len() < 512 {
        let mut v = values.to_vec();
        v.sort_unstable_by(f64::total_cmp);
        return v;
    }
    let key = |v: f64| {
        let b = v.to_bits();
        if b >> 63 == 1 { !b } else { b | (1 << 63) }
    };
    let unkey = |k: u64| {
        let b = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
        f64::from_bits(b)
    };
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for &v in values {
        let k = key(v);
        lo = lo.min(k);
        hi = hi.max(k);
    }
    let span = hi - lo;
    if span == 0 {
        return values.to_vec();
    }
    let span_bits = 64 - span.leading_zeros();
    // About four keys per bucket: 2^bucket_bits ≥ len/4.
    let bucket_bits = (usize::BITS - (values.len() / 4).leading_zeros()).clamp(7, 20);
    let shift = span_bits.saturating_sub(bucket_bits);
    let buckets = ((span >> shift) as usize) + 1;
    let mut starts = vec![0usize; buckets + 1];
    for &v in values {
        starts[((key(v) - lo) >> shift) as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut fill = starts.clone();
    let mut keys = vec![0u64; values.len()];
    for &v in values {
        let k = key(v);
        let b = ((k - lo) >> shift) as usize;
        keys[fill[b]] = k;
        fill[b] += 1;
    }
    for w in starts.windows(2) {
        let bucket = &mut keys[w[0]..w[1]];
        if bucket.len() > 32 {
            bucket.sort_unstable();
        } else {
            for i in 1..bucket.len() {
                let k = bucket[i];
                let mut j = i;
                while j > 0 && bucket[j - 1] > k {
                    bucket[j] = bucket[j - 1];
                    j -= 1;
                }
                bucket[j] = k;
            }
        }
    }
    keys.into_iter().map(unkey).collect()
}

/// Mid-ranks of the pooled sample (x_asc − shift, y_asc) by one O(m+n) merge of the two
/// sorted arms. x_i − shift is computed exactly as R's `x - d` (subtracting the same number
/// keeps the order), so ties between shifted canary values and baseline values are those R
/// sees. `==` groups −0.0 with +0.0, as numpy does.
pub(super) fn rank_sorted(x_asc: &[f64], y_asc: &[f64], shift: f64) -> Ranking {
    let (m, n) = (x_asc.len(), y_asc.len());
    let (mut i, mut j) = (0usize, 0usize);
    let mut placed = 0usize;
    let mut rank_sum = 0.0;
    let mut tie_term = 0.0;
    let mut has_ties = false;
    while i < m || j < n {
        let xv = if i < m {
            x_asc[i] - shift
        } else {
            f64::INFINITY
        };
        let yv = if j < n { y_asc[j] } else { f64::INFINITY };
        let v = if i < m && (j >= n || xv <= yv) {
            xv
        } else {
            yv
        };
        let mut cx = 0usize;
        while i + cx < m && x_asc[i + cx] - shift == v {
            cx += 1;
        }
        let mut cy = 0usize;
        while j + cy < n && y_asc[j + cy] == v {
            cy += 1;
        }
        let t = cx + cy;
        // Ranks placed+1 ..= placed+t share their average.
        let mid = (2 * placed + t + 1) as f64 / 2.0;
        rank_sum += mid * cx as f64;
        if t > 1 {
            has_ties = true;
            let tf = t as f64;
            tie_term += tf * tf * tf - tf;
        }
        placed += t;
        i += cx;
        j += cy;
    }
    Ranking {
        rank_sum_canary: rank_sum,
        tie_term,
        has_ties,
    }
}

/// Result of one Mann–Whitney U test, as scipy.stats.mannwhitneyu reports it plus the method
/// actually used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UTest {
    /// U1 = R1 − m(m+1)/2 of the canary.
    pub u1: f64,
    /// U2 = mn − U1 of the baseline.
    pub u2: f64,
    /// p-value for the requested alternative.
    pub p_value: f64,
    /// `Exact` or `Asymptotic` (never `Auto`).
    pub method: PValueMode,
    /// Standardised statistic of the asymptotic method (None for exact).
    pub z: Option<f64>,
    /// Whether the pooled sample has ties.
    pub has_ties: bool,
    /// Σ (t³ − t) over tie groups.
    pub tie_term: f64,
}

/// scipy's `_mwu_choose_method` (scipy ≥ 1.7, checked against 1.17): exact unless both samples
/// are larger than 8 or there are ties.
pub fn choose_method(m: usize, n: usize, has_ties: bool) -> PValueMode {
    if (m > 8 && n > 8) || has_ties {
        PValueMode::Asymptotic
    } else {
        PValueMode::Exact
    }
}

/// Mann–Whitney U test of canary `x` against baseline `y`, digit for digit as
/// scipy.stats.mannwhitneyu(x, y, use_continuity, alternative, method):
/// - U1 = R1 − m(m+1)/2 with mid-ranks (Mann & Whitney 1947);
/// - `greater` uses U = U1, `less` U = U2, two-sided U = max(U1, U2) doubled;
/// - exact: P(U_null ≥ U) from the exact null distribution (U truncated to an integer, as
///   scipy does when ties are present);
/// - asymptotic: z = (U − mn/2 − ½·[continuity]) / σ with the tie-corrected
///   σ² = mn/12·((N+1) − Σ(t³−t)/(N(N−1))), p = Φ(−z).
///
/// Deviation from scipy: when every value is tied (σ = 0) scipy returns NaN without continuity
/// correction; this returns p = 1 (no evidence either way).
pub fn u_test(
    canary: &[f64],
    baseline: &[f64],
    alternative: Alternative,
    mode: PValueMode,
    continuity: bool,
) -> Result<UTest, StatsError> {
    crate::stats::check_finite("canary", canary)?;
    crate::stats::check_finite("baseline", baseline)?;
    if canary.is_empty() || baseline.is_empty() {
        return Err(StatsError::InvalidParameter {
            name: "samples",
            why: format!(
                "the U test needs at least one point per arm (canary {}, baseline {})",
                canary.len(),
                baseline.len()
            ),
        });
    }
    let ranking = rank_pooled(canary, baseline);
    u_test_ranked(
        canary.len(),
        baseline.len(),
        &ranking,
        alternative,
        mode,
        continuity,
    )
}

/// The U test from a ready ranking (so `compare` ranks once for several alternatives).
pub(super) fn u_test_ranked(
    m: usize,
    n: usize,
    ranking: &Ranking,
    alternative: Alternative,
    mode: PValueMode,
    continuity: bool,
) -> Result<UTest, StatsError> {
    let (mf, nf) = (m as f64, n as f64);
    let u1 = ranking.rank_sum_canary - mf * (mf + 1.0) / 2.0;
    let u2 = mf * nf - u1;
    let (u, factor) = match alternative {
        Alternative::Greater => (u1, 1.0),
        Alternative::Less => (u2, 1.0),
        Alternative::TwoSided => (u1.max(u2), 2.0),
    };
    let method = match mode {
        // scipy's rule, except that absurdly lopsided samples (m·n above AUTO_EXACT_MAX_MN,
        // e.g. 8 against 10^6) use the normal approximation instead of a huge table.
        PValueMode::Auto if (m * n) as f64 > AUTO_EXACT_MAX_MN => PValueMode::Asymptotic,
        PValueMode::Auto => choose_method(m, n, ranking.has_ties),
        other => other,
    };
    let (p, z) = match method {
        PValueMode::Exact => {
            let dist = UDistribution::new(m, n)?;
            // scipy casts U to int64 (truncation toward zero).
            (dist.sf(u.trunc() as u64), None)
        }
        _ => {
            let z = asymptotic_z(u, m, n, ranking.tie_term, continuity);
            (norm_sf(z), Some(z))
        }
    };
    let p = if p.is_nan() {
        1.0
    } else {
        (p * factor).clamp(0.0, 1.0)
    };
    Ok(UTest {
        u1,
        u2,
        p_value: p,
        method,
        z,
        has_ties: ranking.has_ties,
        tie_term: ranking.tie_term,
    })
}

/// Tie-corrected standard deviation of U under the null (Lehmann 1975, eq. 1.35 form used by
/// scipy's `_get_mwu_z`).
pub(super) fn u_sigma(m: usize, n: usize, tie_term: f64) -> f64 {
    let (mf, nf) = (m as f64, n as f64);
    let big_n = mf + nf;
    (mf * nf / 12.0 * ((big_n + 1.0) - tie_term / (big_n * (big_n - 1.0)))).sqrt()
}

/// scipy's `_get_mwu_z`: (U − mn/2 − ½)/σ with continuity, (U − mn/2)/σ without.
pub(super) fn asymptotic_z(u: f64, m: usize, n: usize, tie_term: f64, continuity: bool) -> f64 {
    let mu = m as f64 * n as f64 / 2.0;
    let mut numerator = u - mu;
    if continuity {
        numerator -= 0.5;
    }
    let s = u_sigma(m, n, tie_term);
    if s == 0.0 && numerator == 0.0 {
        return 0.0;
    }
    numerator / s
}
