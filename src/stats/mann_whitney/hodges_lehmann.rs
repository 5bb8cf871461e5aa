//! Hodges–Lehmann shift estimate and its intervals from the pairwise differences, without
//! materialising the m·n of them above a size limit (selection by counting).

use super::*;

/// Below this many pairwise differences they are materialised (faster for small samples).
pub(super) const MATERIALISE_LIMIT: usize = 1 << 14;

/// Candidates left when a selection round stops sampling and selects directly. Small on
/// purpose: a round (two O(m+n) counting walks, ~5× fewer candidates) costs less than
/// gathering and partitioning 4·(m+n) candidates, which at 10^6 per arm would be 8·10^6
/// values (64 MB) per order statistic.
pub(super) const FINAL_LIMIT: usize = 1 << 12;

/// The sorted arms viewed as the implicit matrix D[i][j] = x_asc[i] − y_desc[j], which is
/// non-decreasing along rows and columns.
pub(super) struct PairwiseDifferences {
    pub(super) x_asc: Vec<f64>,
    pub(super) y_asc: Vec<f64>,
    y_desc: Vec<f64>,
}

impl PairwiseDifferences {
    pub(super) fn new(canary: &[f64], baseline: &[f64]) -> Self {
        Self::from_sorted(sorted(canary), sorted(baseline))
    }

    pub(super) fn from_sorted(x_asc: Vec<f64>, y_asc: Vec<f64>) -> Self {
        let y_desc = y_asc.iter().rev().copied().collect();
        PairwiseDifferences {
            x_asc,
            y_asc,
            y_desc,
        }
    }

    /// Counts of differences < p and ≤ p per row, and their totals (one staircase walk each).
    pub(super) fn counts_at(
        &self,
        p: f64,
        below: &mut [usize],
        at_or_below: &mut [usize],
    ) -> (usize, usize) {
        let (x, y) = (&self.x_asc, &self.y_desc);
        let n = y.len();
        let (mut lt_total, mut le_total) = (0usize, 0usize);
        let (mut j_lt, mut j_le) = (n, n);
        for i in 0..x.len() {
            while j_lt > 0 && x[i] - y[j_lt - 1] >= p {
                j_lt -= 1;
            }
            while j_le > 0 && x[i] - y[j_le - 1] > p {
                j_le -= 1;
            }
            below[i] = j_lt;
            at_or_below[i] = j_le;
            lt_total += j_lt;
            le_total += j_le;
        }
        (lt_total, le_total)
    }

    pub(super) fn count(&self) -> usize {
        self.x_asc.len() * self.y_desc.len()
    }

    /// Smallest and largest difference.
    pub(super) fn range(&self) -> (f64, f64) {
        let (m, n) = (self.x_asc.len(), self.y_desc.len());
        (
            self.x_asc[0] - self.y_desc[0],
            self.x_asc[m - 1] - self.y_desc[n - 1],
        )
    }

    /// k-th smallest difference, k in 1..=mn.
    ///
    /// Selection in the sorted matrix without materialising it (the idea of Monahan 1984,
    /// "Fast computation of the Hodges–Lehmann location estimator", ACM TOMS 10, and Johnson &
    /// Mizoguchi 1978): keep per row the column window still holding candidates; each round
    /// draws a random sample of candidates and takes two sample order statistics that bracket
    /// the wanted rank (Floyd & Rivest 1975, CACM 18), counts the differences below / at each
    /// with an O(m+n) staircase walk, and cuts every window to the bracket. A round shrinks the
    /// candidates ~16-fold, so a few rounds bring 10^8 differences down to a few thousand,
    /// which are then selected directly. O(m+n) memory.
    pub(super) fn kth(&self, k: usize) -> f64 {
        let (m, n) = (self.x_asc.len(), self.y_desc.len());
        let k = k.clamp(1, m * n);
        let x = &self.x_asc;
        let y = &self.y_desc;
        if m * n <= MATERIALISE_LIMIT {
            let mut all: Vec<f64> = x
                .iter()
                .flat_map(|&xi| y.iter().map(move |&yj| xi - yj))
                .collect();
            let (_, v, _) = all.select_nth_unstable_by(k - 1, f64::total_cmp);
            return *v;
        }
        let mut lo = vec![0usize; m];
        let mut hi = vec![n; m];
        let (mut lt_a, mut le_a) = (vec![0usize; m], vec![0usize; m]);
        let (mut lt_b, mut le_b) = (vec![0usize; m], vec![0usize; m]);
        let mut rng = SplitMix64(0x9e37_79b9_7f4a_7c15 ^ ((m as u64) << 32) ^ n as u64 ^ k as u64);
        let mut prefix = vec![0usize; m + 1];
        const SAMPLE: usize = 1024;
        for _round in 0..200 {
            for i in 0..m {
                prefix[i + 1] = prefix[i] + (hi[i] - lo[i]);
            }
            let remaining = prefix[m];
            let excluded_left: usize = lo.iter().sum();
            let rank = k - excluded_left; // 1-based rank among the candidates
            if remaining <= FINAL_LIMIT {
                let mut cand: Vec<f64> = Vec::with_capacity(remaining);
                for i in 0..m {
                    cand.extend(y[lo[i]..hi[i]].iter().map(|&yj| x[i] - yj));
                }
                let (_, v, _) = cand.select_nth_unstable_by(rank - 1, f64::total_cmp);
                return *v;
            }
            let candidate = |r: usize| {
                // row with prefix[row] ≤ r < prefix[row+1]
                let row = prefix.partition_point(|&p| p <= r) - 1;
                x[row] - y[lo[row] + (r - prefix[row])]
            };
            let mut sample: Vec<f64> = (0..SAMPLE)
                .map(|_| candidate((rng.next() % remaining as u64) as usize))
                .collect();
            sample.sort_unstable_by(f64::total_cmp);
            let centre = (rank as f64 / remaining as f64 * SAMPLE as f64) as isize;
            let spread = 3 * (SAMPLE as f64).sqrt() as isize;
            let last = SAMPLE as isize - 1;
            let p_lo = sample[(centre - spread).clamp(0, last) as usize];
            let p_hi = sample[(centre + spread).clamp(0, last) as usize];
            let (lt_lo, le_lo) = self.counts_at(p_lo, &mut lt_a, &mut le_a);
            if k <= lt_lo {
                for i in 0..m {
                    hi[i] = hi[i].min(lt_a[i]).max(lo[i]);
                }
                continue;
            }
            if k <= le_lo {
                return p_lo;
            }
            let (lt_hi, le_hi) = self.counts_at(p_hi, &mut lt_b, &mut le_b);
            if k <= lt_hi {
                for i in 0..m {
                    lo[i] = lo[i].max(le_a[i]).min(hi[i]);
                    hi[i] = hi[i].min(lt_b[i]).max(lo[i]);
                }
            } else if k <= le_hi {
                return p_hi;
            } else {
                for i in 0..m {
                    lo[i] = lo[i].max(le_b[i]).min(hi[i]);
                }
            }
        }
        // Not reached in practice (each round removes at least the pivots); finish directly.
        let mut cand: Vec<f64> = Vec::new();
        for i in 0..m {
            cand.extend(y[lo[i]..hi[i]].iter().map(|&yj| x[i] - yj));
        }
        let excluded_left: usize = lo.iter().sum();
        let rank = (k - excluded_left).clamp(1, cand.len().max(1));
        if cand.is_empty() {
            return f64::NAN;
        }
        let (_, v, _) = cand.select_nth_unstable_by(rank - 1, f64::total_cmp);
        *v
    }

    /// Number of differences strictly greater than d (O(m+n)).
    #[cfg(test)]
    pub(super) fn count_above(&self, d: f64) -> usize {
        let (m, n) = (self.x_asc.len(), self.y_desc.len());
        let mut j = n;
        let mut total = 0;
        for i in 0..m {
            while j > 0 && self.x_asc[i] - self.y_desc[j - 1] > d {
                j -= 1;
            }
            total += n - j;
        }
        total
    }

    /// Median of all differences (numpy's median: mean of the two middle ones when mn is even).
    pub(super) fn median(&self) -> f64 {
        let total = self.count();
        if total % 2 == 1 {
            self.kth(total.div_ceil(2))
        } else {
            let k = total / 2;
            let lower = self.kth(k);
            (lower + self.next_order_statistic(k, lower)) * 0.5
        }
    }

    /// The (k+1)-th smallest difference given the k-th (`value`), by one O(m+n) walk: it is
    /// `value` again if more than k differences are ≤ value, else the smallest one above it.
    pub(super) fn next_order_statistic(&self, k: usize, value: f64) -> f64 {
        let (x, y) = (&self.x_asc, &self.y_desc);
        let n = y.len();
        let mut j = n;
        let mut at_or_below = 0usize;
        let mut next = f64::INFINITY;
        for &xi in x {
            while j > 0 && xi - y[j - 1] > value {
                j -= 1;
            }
            at_or_below += j;
            if j < n {
                next = next.min(xi - y[j]);
            }
        }
        if at_or_below > k { value } else { next }
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny deterministic generator for pivot choice, so
/// results never depend on a global random state.
pub(super) struct SplitMix64(u64);

impl SplitMix64 {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Hodges–Lehmann two-sample shift estimate: the median of all x_i − y_j (Hodges & Lehmann
/// 1963), without materialising the m·n differences for large samples. NaN for an empty arm.
pub fn hodges_lehmann(canary: &[f64], baseline: &[f64]) -> f64 {
    if canary.is_empty() || baseline.is_empty() {
        return f64::NAN;
    }
    PairwiseDifferences::new(canary, baseline).median()
}

/// Exact distribution-free interval for the shift from order statistics of the differences,
/// R's `wilcox.test(conf.int = TRUE, exact = TRUE)` rule (Bauer 1972): with
/// q = qwilcox(α/2, m, n) (α for one-sided; q ≥ 1), two-sided [D_(q), D_(mn−q+1)],
/// `greater` [D_(q), +∞), `less` (−∞, D_(mn−q+1)]. Valid without ties.
pub fn shift_interval_exact(
    canary: &[f64],
    baseline: &[f64],
    confidence: f64,
    alternative: Alternative,
) -> Result<(f64, f64), StatsError> {
    check_interval_inputs(canary, baseline, confidence)?;
    let diffs = PairwiseDifferences::new(canary, baseline);
    interval_exact(&diffs, confidence, alternative)
}

pub(super) fn interval_exact(
    diffs: &PairwiseDifferences,
    confidence: f64,
    alternative: Alternative,
) -> Result<(f64, f64), StatsError> {
    let dist = UDistribution::new(diffs.x_asc.len(), diffs.y_asc.len())?;
    let alpha = 1.0 - confidence;
    let mn = diffs.count();
    let q_at = |p: f64| (dist.quantile(p) as usize).max(1);
    Ok(match alternative {
        Alternative::TwoSided => {
            let qu = q_at(alpha / 2.0);
            (diffs.kth(qu), diffs.kth(mn - qu + 1))
        }
        Alternative::Greater => (diffs.kth(q_at(alpha)), f64::INFINITY),
        Alternative::Less => (f64::NEG_INFINITY, diffs.kth(mn - q_at(alpha) + 1)),
    })
}

pub(super) fn check_interval_inputs(
    canary: &[f64],
    baseline: &[f64],
    confidence: f64,
) -> Result<(), StatsError> {
    crate::stats::check_finite("canary", canary)?;
    crate::stats::check_finite("baseline", baseline)?;
    if canary.is_empty() || baseline.is_empty() {
        return Err(StatsError::InvalidParameter {
            name: "samples",
            why: "a shift interval needs at least one point per arm".into(),
        });
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(StatsError::InvalidParameter {
            name: "confidence",
            why: format!("must lie strictly between 0 and 1, got {confidence}"),
        });
    }
    Ok(())
}

/// The continuity-corrected statistic of R's `wilcox.test` interval inversion
/// ("wdiff", R `src/library/stats/R/wilcox.test.R`; Kayenta's MannWhitney.scala port):
/// z(d) = (dz − c)/σ with dz = R1(x − d, y) − m(m+1)/2 − mn/2, the correction c = ½·sign(dz)
/// (two-sided), +½ (`greater`), −½ (`less`) or 0, and σ tie-corrected for the pooled
/// (x − d, y). Evaluated literally (re-ranking), as R does at the bracket ends.
pub(super) fn inverted_statistic(
    diffs: &PairwiseDifferences,
    d: f64,
    alternative: Alternative,
    continuity: bool,
) -> Option<f64> {
    let r = rank_sorted(&diffs.x_asc, &diffs.y_asc, d);
    let (m, n) = (diffs.x_asc.len(), diffs.y_asc.len());
    let (mf, nf) = (m as f64, n as f64);
    let dz = r.rank_sum_canary - mf * (mf + 1.0) / 2.0 - mf * nf / 2.0;
    let c = correction(dz, alternative, continuity);
    let sigma = u_sigma(m, n, r.tie_term);
    (sigma > 0.0).then(|| (dz - c) / sigma)
}

pub(super) fn correction(dz: f64, alternative: Alternative, continuity: bool) -> f64 {
    if !continuity {
        return 0.0;
    }
    match alternative {
        Alternative::TwoSided => {
            if dz > 0.0 {
                0.5
            } else if dz < 0.0 {
                -0.5
            } else {
                0.0
            }
        }
        Alternative::Greater => 0.5,
        Alternative::Less => -0.5,
    }
}

/// Tie summary Σ(t³ − t) of one sorted arm on its own.
pub(super) fn arm_tie_term(sorted: &[f64]) -> f64 {
    let mut total = 0.0;
    let mut start = 0;
    while start < sorted.len() {
        let mut end = start + 1;
        while end < sorted.len() && sorted[end] == sorted[start] {
            end += 1;
        }
        let t = (end - start) as f64;
        total += t * t * t - t;
        start = end;
    }
    total
}

/// The root in d of z(d) = zq for the inverted statistic (R's `root()` helper inside
/// `wilcox.test`, used by Kayenta), computed exactly instead of by `uniroot` (tol 1e-4):
///
/// Away from the m·n jump points x_i − y_j, the statistic depends on d only through
/// C(d) = #{x_i − y_j > d} (and σ is that of the two arms' own ties), and it is non-increasing
/// in d. So the sign change of z(d) − zq sits exactly at an order statistic of the differences:
/// with C* the smallest count whose statistic exceeds zq, the root is the C*-th largest
/// difference. When the statistic equals zq on a whole interval (typical for zq = 0 with the
/// continuity correction) the midpoint of that interval is returned; R and Kayenta return an
/// arbitrary point of it. As in R, if z(min d) − zq ≤ 0 the lower end min x − max y is
/// returned, and if z(max d) − zq ≥ 0 the upper end max x − min y.
pub fn inverted_root(
    canary: &[f64],
    baseline: &[f64],
    zq: f64,
    alternative: Alternative,
    continuity: bool,
) -> Result<f64, StatsError> {
    check_interval_inputs(canary, baseline, 0.5)?;
    let diffs = PairwiseDifferences::new(canary, baseline);
    root_in(&diffs, zq, alternative, continuity)
}

pub(super) fn root_in(
    diffs: &PairwiseDifferences,
    zq: f64,
    alternative: Alternative,
    continuity: bool,
) -> Result<f64, StatsError> {
    let (mumin, mumax) = diffs.range();
    if mumin == mumax {
        // Every difference is the same number: every candidate shift but this one gives a
        // constant statistic, and at it all values tie (σ = 0, where R stops and Kayenta
        // jitters). Its deterministic limit is that common difference.
        return Ok(mumin);
    }
    let all_tied = || StatsError::InvalidParameter {
        name: "samples",
        why: "cannot invert the test when all observations are tied".into(),
    };
    let f_lower =
        inverted_statistic(diffs, mumin, alternative, continuity).ok_or_else(all_tied)? - zq;
    if f_lower <= 0.0 {
        return Ok(mumin);
    }
    let f_upper =
        inverted_statistic(diffs, mumax, alternative, continuity).ok_or_else(all_tied)? - zq;
    if f_upper >= 0.0 {
        return Ok(mumax);
    }
    let (m, n) = (diffs.x_asc.len(), diffs.y_asc.len());
    let mn = m * n;
    let sigma0 = u_sigma(
        m,
        n,
        arm_tie_term(&diffs.x_asc) + arm_tie_term(&diffs.y_asc),
    );
    let half = mn as f64 / 2.0;
    let stat = |count: usize| {
        let dz = count as f64 - half;
        (dz - correction(dz, alternative, continuity)) / sigma0
    };
    // Smallest count in 0..=mn (or mn+1 if none) satisfying a monotone predicate.
    let first = |pred: &dyn Fn(f64) -> bool| {
        let (mut lo, mut hi) = (0usize, mn + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(stat(mid)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    };
    let c_gt = first(&|z| z > zq);
    let c_ge = first(&|z| z >= zq);
    // c-th largest difference = (mn − c + 1)-th smallest; C(d) ≥ c ⇔ d < that value.
    let largest = |c: usize| -> f64 {
        if c == 0 {
            mumax
        } else if c > mn {
            mumin
        } else {
            diffs.kth(mn - c + 1)
        }
    };
    let root = if c_ge < c_gt {
        // z = zq for counts c_ge..c_gt−1, i.e. for d in [c_gt-th largest, c_ge-th largest].
        0.5 * (largest(c_gt) + largest(c_ge))
    } else {
        largest(c_gt)
    };
    Ok(root.clamp(mumin, mumax))
}

/// Interval for the shift by inverting the asymptotic (tie-corrected, optionally
/// continuity-corrected) test, R's `wilcox.test(conf.int = TRUE, exact = FALSE)`: lower end the
/// root of z(d) = z_{1−α/2}, upper end the root of z(d) = −z_{1−α/2} (α instead of α/2 and an
/// infinite other end for one-sided alternatives). Used with ties or large samples.
pub fn shift_interval_asymptotic(
    canary: &[f64],
    baseline: &[f64],
    confidence: f64,
    alternative: Alternative,
    continuity: bool,
) -> Result<(f64, f64), StatsError> {
    check_interval_inputs(canary, baseline, confidence)?;
    let diffs = PairwiseDifferences::new(canary, baseline);
    interval_asymptotic(&diffs, confidence, alternative, continuity)
}

pub(super) fn interval_asymptotic(
    diffs: &PairwiseDifferences,
    confidence: f64,
    alternative: Alternative,
    continuity: bool,
) -> Result<(f64, f64), StatsError> {
    let alpha = 1.0 - confidence;
    let root = |zq: f64| root_in(diffs, zq, alternative, continuity);
    Ok(match alternative {
        Alternative::TwoSided => {
            let z = -norm_ppf(alpha / 2.0);
            (root(z)?, root(-z)?)
        }
        Alternative::Greater => (root(-norm_ppf(alpha))?, f64::INFINITY),
        Alternative::Less => (f64::NEG_INFINITY, root(norm_ppf(alpha))?),
    })
}

/// R's asymptotic "difference in location" (and Kayenta's estimate): the root of z(d) = 0 of
/// the inverted statistic. Close to, but not the same as, [`hodges_lehmann`].
pub fn asymptotic_shift_estimate(
    canary: &[f64],
    baseline: &[f64],
    alternative: Alternative,
    continuity: bool,
) -> Result<f64, StatsError> {
    inverted_root(canary, baseline, 0.0, alternative, continuity)
}
