//! Mann–Whitney U (method `mann-whitney`) with Hodges–Lehmann estimate and intervals, CLES and
//! mean ratio; a `strict` decision rule and a `kayenta` rule that reproduces Kayenta's
//! NetflixACAJudge classifier. Matches scipy.stats.mannwhitneyu digit for digit
//! (`tests/scipy_reference.rs`); HL and its intervals never materialise the m·n differences
//! above 16 384 of them.

use super::special::{ln_choose, norm_ppf, norm_sf};
use super::welch::PassRule;
use super::{Alternative, Decision, Harm, StatsError, Verdict};
use serde::{Deserialize, Serialize};

/// How the p-value is computed, as scipy's `method` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PValueMode {
    /// Exact unless both samples exceed 8 points or there are ties (scipy's `_mwu_choose_method`,
    /// checked against scipy 1.17); also asymptotic above m·n = 10^6.
    #[default]
    Auto,
    /// Exact distribution of U (no ties).
    Exact,
    /// Normal approximation with tie correction.
    Asymptotic,
}

impl std::str::FromStr for PValueMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(PValueMode::Auto),
            "exact" => Ok(PValueMode::Exact),
            "asymptotic" => Ok(PValueMode::Asymptotic),
            other => Err(format!(
                "unknown mode `{other}` (expected auto, exact or asymptotic)"
            )),
        }
    }
}

/// Which rule turns the test into a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionRule {
    /// Fail on significant harm beyond the margin; pass only when the CI lies inside the
    /// margin; else inconclusive.
    #[default]
    Strict,
    /// Kayenta's NetflixACAJudge classifier (0.98 confidence, tolerance 0.25).
    Kayenta,
}

/// Parameters of the Mann–Whitney method (defaults in `statistics.md` §6.2(b)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MannWhitneyParams {
    /// Alternative for the reported p-value (scipy's `alternative`).
    #[serde(default)]
    pub alternative: Alternative,
    /// Exact, asymptotic or auto.
    #[serde(default)]
    pub mode: PValueMode,
    /// Continuity correction in the asymptotic p-value (scipy's `use_continuity`).
    #[serde(default = "yes")]
    pub continuity: bool,
    /// Confidence level of the Hodges–Lehmann interval.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Significance level of the strict rule.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Relative margin (fraction of the baseline median) of the strict rule.
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Strict rule: harm beyond this fraction of the baseline median must be shown to fail;
    /// `None` (the default) uses `margin` (see [`super::fail_margin`]). Not used by the
    /// `kayenta` rule, which has its own tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_margin: Option<f64>,
    /// Which direction is harm for the verdict.
    #[serde(default)]
    pub harm: Harm,
    /// Strict (default) or Kayenta.
    #[serde(default)]
    pub rule: DecisionRule,
    /// Fewer points than this in either arm gives Inconclusive (strict rule only: Kayenta has
    /// no such guard).
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
    /// What to do with NaN values before testing (infinities are always an error).
    #[serde(default)]
    pub nan: NanStrategy,
    /// Outlier handling before testing (Kayenta's IQR detector).
    #[serde(default)]
    pub outliers: OutlierStrategy,
    /// IQR multiplier of the outlier fences (Kayenta's `outlierFactor`).
    #[serde(default = "default_outlier_factor")]
    pub outlier_factor: f64,
    /// What the strict rule's Pass must show: equivalence (default) or non-inferiority.
    #[serde(default)]
    pub pass_rule: PassRule,
    /// Settings of the `kayenta` rule.
    #[serde(default)]
    pub kayenta: KayentaParams,
}

/// NaN handling before the test (Kayenta's `nanStrategy`, plus a strict default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NanStrategy {
    /// A NaN is an error ([`StatsError::NonFinite`]); nothing is silently dropped.
    #[default]
    Reject,
    /// Drop NaNs (Kayenta's default `remove`).
    Remove,
    /// Replace NaNs by 0 (Kayenta's `replace`).
    Replace,
}

/// Outlier handling before the test (Kayenta's `outliers.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutlierStrategy {
    /// Keep every point (default).
    #[default]
    Keep,
    /// Drop points outside the IQR fences widened to P1/P99 (Kayenta's IQRDetector with
    /// `reduceSensitivity = true`).
    Remove,
}

/// Effect size of the Kayenta gate (`effectSize.measure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EffectMeasure {
    /// mean(canary)/mean(baseline), NaN when either mean is 0.
    #[default]
    MeanRatio,
    /// Common-language effect size U1/(mn).
    Cles,
}

/// Settings of the Kayenta rule; defaults are the values NetflixACAJudge hard-codes
/// (`statistics.md` §1.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct KayentaParams {
    /// Relative tolerance around the shift estimate (0.25).
    #[serde(default = "default_kayenta_tolerance")]
    pub tolerance: f64,
    /// Confidence level of the inverted-test interval (0.98).
    #[serde(default = "default_kayenta_confidence")]
    pub confidence: f64,
    /// Effect-size measure of the gate.
    #[serde(default)]
    pub effect_measure: EffectMeasure,
    /// Effect size at or above which a High is reported (default 1.0, or 0.5 for CLES).
    #[serde(default)]
    pub allowed_increase: Option<f64>,
    /// Effect size at or below which a Low is reported (default 1.0, or 0.5 for CLES).
    #[serde(default)]
    pub allowed_decrease: Option<f64>,
}

fn default_kayenta_tolerance() -> f64 {
    0.25
}
fn default_kayenta_confidence() -> f64 {
    0.98
}
fn default_outlier_factor() -> f64 {
    3.0
}

impl Default for KayentaParams {
    fn default() -> Self {
        KayentaParams {
            tolerance: default_kayenta_tolerance(),
            confidence: default_kayenta_confidence(),
            effect_measure: EffectMeasure::MeanRatio,
            allowed_increase: None,
            allowed_decrease: None,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_confidence() -> f64 {
    0.95
}
fn default_alpha() -> f64 {
    0.05
}
fn default_margin() -> f64 {
    0.10
}
fn default_min_samples() -> usize {
    10
}

impl Default for MannWhitneyParams {
    fn default() -> Self {
        MannWhitneyParams {
            alternative: Alternative::TwoSided,
            mode: PValueMode::Auto,
            continuity: true,
            confidence: default_confidence(),
            alpha: default_alpha(),
            margin: default_margin(),
            fail_margin: None,
            harm: Harm::Increase,
            rule: DecisionRule::Strict,
            min_samples: default_min_samples(),
            nan: NanStrategy::Reject,
            outliers: OutlierStrategy::Keep,
            outlier_factor: default_outlier_factor(),
            pass_rule: PassRule::Equivalence,
            kayenta: KayentaParams::default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ranking and the U statistic
// ---------------------------------------------------------------------------------------------

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
fn sorted(values: &[f64]) -> Vec<f64> {
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
fn rank_sorted(x_asc: &[f64], y_asc: &[f64], shift: f64) -> Ranking {
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
    super::check_finite("canary", canary)?;
    super::check_finite("baseline", baseline)?;
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
fn u_test_ranked(
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
fn u_sigma(m: usize, n: usize, tie_term: f64) -> f64 {
    let (mf, nf) = (m as f64, n as f64);
    let big_n = mf + nf;
    (mf * nf / 12.0 * ((big_n + 1.0) - tie_term / (big_n * (big_n - 1.0)))).sqrt()
}

/// scipy's `_get_mwu_z`: (U − mn/2 − ½)/σ with continuity, (U − mn/2)/σ without.
fn asymptotic_z(u: f64, m: usize, n: usize, tie_term: f64, continuity: bool) -> f64 {
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

// ---------------------------------------------------------------------------------------------
// Exact null distribution of U
// ---------------------------------------------------------------------------------------------

/// Largest m·n for which `auto` still uses the exact distribution (table of m·n+1 counts).
const AUTO_EXACT_MAX_MN: f64 = 1e6;

/// Largest m·n·min(m, n) for which the exact distribution is computed (≈ 0.2 s).
const EXACT_WORK_LIMIT: f64 = 5e8;

/// Exact null distribution of U for sizes (m, n) without ties.
///
/// The number of arrangements with U = u is the coefficient of q^u in the Gaussian binomial
/// [m+n choose m]_q = Π_{i=1}^{a} (1 − q^{b+i})/(1 − q^i), a = min(m,n), b = max(m,n)
/// (Andrews, *The Theory of Partitions*, Thm 3.1; the Mann–Whitney connection is Mann & Whitney
/// 1947). Each factor is one multiply and one running-sum divide, O(a·ab) in total. Counts are
/// exact 128-bit integers while C(m+n, m) < 2^120; beyond that f64 is used (forced exact tests
/// on large samples only).
#[derive(Debug, Clone)]
pub struct UDistribution {
    /// pmf[u] = P(U = u), u = 0..=mn.
    pmf: Vec<f64>,
    /// Exact counts when they fit (cdf sums are then exact integers).
    counts: Option<Vec<i128>>,
    /// Double-double running sums and total when the counts do not fit in 128 bits.
    cumulative: Option<(Vec<Dd>, Dd)>,
    total: f64,
    total_int: i128,
}

impl UDistribution {
    /// Build the distribution; errors when it would take too long (see `EXACT_WORK_LIMIT`).
    pub fn new(m: usize, n: usize) -> Result<Self, StatsError> {
        let (a, b) = (m.min(n), m.max(n));
        let mn = a * b;
        let fits = ln_choose((a + b) as f64, a as f64) < 120.0 * std::f64::consts::LN_2;
        let limit = if fits {
            EXACT_WORK_LIMIT
        } else {
            EXACT_WORK_LIMIT / 10.0
        };
        if (mn as f64) * (a as f64) > limit {
            return Err(StatsError::InvalidParameter {
                name: "mode",
                why: format!(
                    "the exact distribution for sizes {m} and {n} is too costly; use `asymptotic` or `auto`"
                ),
            });
        }
        if fits {
            let mut c = vec![0i128; mn + 1];
            c[0] = 1;
            for i in 1..=a {
                let shift = b + i;
                for k in (shift..=mn).rev() {
                    c[k] -= c[k - shift];
                }
                for k in i..=mn {
                    c[k] += c[k - i];
                }
            }
            let total_int: i128 = c.iter().sum();
            let total = total_int as f64;
            let pmf = c.iter().map(|&v| v as f64 / total).collect();
            Ok(UDistribution {
                pmf,
                counts: Some(c),
                cumulative: None,
                total,
                total_int,
            })
        } else {
            // Same recurrence in double-double arithmetic (~106-bit significands), because the
            // multiply by (1 − q^{b+i}) subtracts numbers of similar size; values are kept in
            // range by exact power-of-two rescaling. Measured against exact big-integer sums:
            // 1e-14 relative at m = 180, n = 200 (plain f64 gave 7e-7).
            let mut c = vec![Dd::ZERO; mn + 1];
            c[0] = Dd::from(1.0);
            for i in 1..=a {
                let shift = b + i;
                for k in (shift..=mn).rev() {
                    c[k] = c[k].sub(c[k - shift]);
                }
                for k in i..=mn {
                    c[k] = c[k].add(c[k - i]);
                }
                let largest = c.iter().fold(0.0_f64, |acc, v| acc.max(v.hi.abs()));
                if largest > 2f64.powi(500) {
                    let scale = 2f64.powi(-500);
                    for v in c.iter_mut() {
                        *v = Dd {
                            hi: v.hi * scale,
                            lo: v.lo * scale,
                        };
                    }
                }
            }
            let total = c.iter().fold(Dd::ZERO, |acc, v| acc.add(*v));
            // cdf/sf sums are taken in double-double too, so tails keep their digits.
            let pmf: Vec<f64> = c.iter().map(|v| (v.div_to_f64(total)).max(0.0)).collect();
            let cum: Vec<Dd> = c
                .iter()
                .scan(Dd::ZERO, |acc, v| {
                    *acc = acc.add(*v);
                    Some(*acc)
                })
                .collect();
            Ok(UDistribution {
                pmf,
                counts: None,
                cumulative: Some((cum, total)),
                total: 1.0,
                total_int: 0,
            })
        }
    }

    /// m·n, the largest value of U.
    pub fn max_u(&self) -> u64 {
        (self.pmf.len() - 1) as u64
    }

    /// P(U = u).
    pub fn pmf(&self, u: u64) -> f64 {
        self.pmf.get(u as usize).copied().unwrap_or(0.0)
    }

    /// P(U ≤ k).
    pub fn cdf(&self, k: u64) -> f64 {
        let k = (k as usize).min(self.pmf.len() - 1);
        match &self.counts {
            Some(c) => {
                let s: i128 = c[..=k].iter().sum();
                s as f64 / self.total
            }
            None => match &self.cumulative {
                Some((cum, total)) => cum[k].div_to_f64(*total).min(1.0),
                None => self.pmf[..=k].iter().sum::<f64>().min(1.0),
            },
        }
    }

    /// P(U ≥ k), summed from the short side as scipy's `_MWU.sf` does.
    pub fn sf(&self, k: u64) -> f64 {
        let max = self.max_u();
        if k > max {
            return 0.0;
        }
        let kc = max - k;
        if k < kc {
            // 1 − P(U ≤ k − 1)
            match &self.counts {
                Some(c) => {
                    let below: i128 = c[..k as usize].iter().sum();
                    (self.total_int - below) as f64 / self.total
                }
                None => match &self.cumulative {
                    Some((cum, total)) if k > 0 => {
                        total.sub(cum[k as usize - 1]).div_to_f64(*total)
                    }
                    _ => 1.0 - self.pmf[..k as usize].iter().sum::<f64>(),
                },
            }
        } else {
            // symmetry: P(U ≥ k) = P(U ≤ mn − k)
            self.cdf(kc)
        }
    }

    /// R's `qwilcox(p, m, n)`: the smallest q with P(U ≤ q) ≥ p, including R's 10·ε fuzz
    /// (R `src/nmath/qwilcox.c`).
    pub fn quantile(&self, p: f64) -> u64 {
        let max = self.max_u();
        if p <= 0.5 {
            let target = p - 10.0 * f64::EPSILON;
            let mut acc = 0.0;
            for q in 0..=max {
                acc += self.pmf(q);
                if acc >= target {
                    return q;
                }
            }
            max
        } else {
            let target = 1.0 - p + 10.0 * f64::EPSILON;
            let mut acc = 0.0;
            for q in 0..=max {
                acc += self.pmf(q);
                if acc > target {
                    return max - q;
                }
            }
            0
        }
    }
}

/// Double-double number hi + lo (Dekker 1971; Knuth TAOCP 2, 4.2.2 two-sum): enough precision
/// for the cancelling recurrence of the exact distribution on large samples.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Dd {
    hi: f64,
    lo: f64,
}

impl Dd {
    const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };

    fn from(v: f64) -> Dd {
        Dd { hi: v, lo: 0.0 }
    }

    fn two_sum(a: f64, b: f64) -> (f64, f64) {
        let s = a + b;
        let bb = s - a;
        let err = (a - (s - bb)) + (b - bb);
        (s, err)
    }

    fn add(self, o: Dd) -> Dd {
        let (s, e) = Self::two_sum(self.hi, o.hi);
        let (t, f) = Self::two_sum(self.lo, o.lo);
        let e = e + t;
        let (s, e) = Self::two_sum(s, e);
        let e = e + f;
        let (hi, lo) = Self::two_sum(s, e);
        Dd { hi, lo }
    }

    fn sub(self, o: Dd) -> Dd {
        self.add(Dd {
            hi: -o.hi,
            lo: -o.lo,
        })
    }

    /// self / d rounded to f64 (first-order correction is plenty for a double result).
    fn div_to_f64(self, d: Dd) -> f64 {
        let q = self.hi / d.hi;
        // remainder r = self − q·d, with q·d split exactly by fma.
        let p = q * d.hi;
        let p_err = q.mul_add(d.hi, -p);
        let r = ((self.hi - p) - p_err) + self.lo - q * d.lo;
        q + r / d.hi
    }
}

// ---------------------------------------------------------------------------------------------
// Pairwise differences: Hodges–Lehmann and order statistics without materialising m·n values
// ---------------------------------------------------------------------------------------------

/// Below this many pairwise differences they are materialised (faster for small samples).
const MATERIALISE_LIMIT: usize = 1 << 14;

/// Candidates left when a selection round stops sampling and selects directly. Small on
/// purpose: a round (two O(m+n) counting walks, ~5× fewer candidates) costs less than
/// gathering and partitioning 4·(m+n) candidates, which at 10^6 per arm would be 8·10^6
/// values (64 MB) per order statistic.
const FINAL_LIMIT: usize = 1 << 12;

/// The sorted arms viewed as the implicit matrix D[i][j] = x_asc[i] − y_desc[j], which is
/// non-decreasing along rows and columns.
struct PairwiseDifferences {
    x_asc: Vec<f64>,
    y_asc: Vec<f64>,
    y_desc: Vec<f64>,
}

impl PairwiseDifferences {
    fn new(canary: &[f64], baseline: &[f64]) -> Self {
        Self::from_sorted(sorted(canary), sorted(baseline))
    }

    fn from_sorted(x_asc: Vec<f64>, y_asc: Vec<f64>) -> Self {
        let y_desc = y_asc.iter().rev().copied().collect();
        PairwiseDifferences {
            x_asc,
            y_asc,
            y_desc,
        }
    }

    /// Counts of differences < p and ≤ p per row, and their totals (one staircase walk each).
    fn counts_at(&self, p: f64, below: &mut [usize], at_or_below: &mut [usize]) -> (usize, usize) {
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

    fn count(&self) -> usize {
        self.x_asc.len() * self.y_desc.len()
    }

    /// Smallest and largest difference.
    fn range(&self) -> (f64, f64) {
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
    fn kth(&self, k: usize) -> f64 {
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
    fn count_above(&self, d: f64) -> usize {
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
    fn median(&self) -> f64 {
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
    fn next_order_statistic(&self, k: usize, value: f64) -> f64 {
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
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
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

fn interval_exact(
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

fn check_interval_inputs(
    canary: &[f64],
    baseline: &[f64],
    confidence: f64,
) -> Result<(), StatsError> {
    super::check_finite("canary", canary)?;
    super::check_finite("baseline", baseline)?;
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
fn inverted_statistic(
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

fn correction(dz: f64, alternative: Alternative, continuity: bool) -> f64 {
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
fn arm_tie_term(sorted: &[f64]) -> f64 {
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

fn root_in(
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

fn interval_asymptotic(
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

// ---------------------------------------------------------------------------------------------
// Preprocessing (Kayenta's transforms)
// ---------------------------------------------------------------------------------------------

/// R-7 percentile (linear interpolation between closest ranks, h = (n−1)p; Hyndman & Fan 1996
/// definition 7, numpy's default, Kayenta's DescriptiveStatistics) of a sorted, non-empty
/// slice; p in [0, 1].
pub fn percentile_r7(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Apply the NaN strategy and the outlier filter to one arm (Kayenta §1.1 steps 1–2):
/// fences lower = min(P1, Q1 − f·IQR), upper = max(P99, Q3 + f·IQR) with R-7 percentiles;
/// values outside are dropped. Infinities are always an error.
pub fn preprocess(
    arm: &'static str,
    values: &[f64],
    nan: NanStrategy,
    outliers: OutlierStrategy,
    factor: f64,
) -> Result<Vec<f64>, StatsError> {
    if let Some(index) = values.iter().position(|v| v.is_infinite()) {
        return Err(StatsError::NonFinite { arm, index });
    }
    let cleaned: Vec<f64> = match nan {
        NanStrategy::Reject => {
            super::check_finite(arm, values)?;
            values.to_vec()
        }
        NanStrategy::Remove => values.iter().copied().filter(|v| !v.is_nan()).collect(),
        NanStrategy::Replace => values
            .iter()
            .map(|&v| if v.is_nan() { 0.0 } else { v })
            .collect(),
    };
    if outliers == OutlierStrategy::Keep || cleaned.is_empty() {
        return Ok(cleaned);
    }
    if !(factor >= 0.0 && factor.is_finite()) {
        return Err(StatsError::InvalidParameter {
            name: "outlier_factor",
            why: format!("must be a finite number ≥ 0, got {factor}"),
        });
    }
    let mut sorted = cleaned.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    let q1 = percentile_r7(&sorted, 0.25);
    let q3 = percentile_r7(&sorted, 0.75);
    let iqr = q3 - q1;
    let lower = percentile_r7(&sorted, 0.01).min(q1 - factor * iqr);
    let upper = percentile_r7(&sorted, 0.99).max(q3 + factor * iqr);
    Ok(cleaned
        .into_iter()
        .filter(|v| *v >= lower && *v <= upper)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// The method
// ---------------------------------------------------------------------------------------------

fn validate(params: &MannWhitneyParams) -> Result<(), StatsError> {
    let unit = |name: &'static str, v: f64, hi: f64| {
        if v > 0.0 && v < hi {
            Ok(())
        } else {
            Err(StatsError::InvalidParameter {
                name,
                why: format!("must lie strictly between 0 and {hi}, got {v}"),
            })
        }
    };
    unit("confidence", params.confidence, 1.0)?;
    unit("alpha", params.alpha, 0.5)?;
    unit("kayenta.confidence", params.kayenta.confidence, 1.0)?;
    if !(params.margin >= 0.0 && params.margin.is_finite()) {
        return Err(StatsError::InvalidParameter {
            name: "margin",
            why: format!("must be a finite number ≥ 0, got {}", params.margin),
        });
    }
    super::fail_margin(params.fail_margin, params.margin)?;
    if !(params.kayenta.tolerance >= 0.0 && params.kayenta.tolerance.is_finite()) {
        return Err(StatsError::InvalidParameter {
            name: "kayenta.tolerance",
            why: format!(
                "must be a finite number ≥ 0, got {}",
                params.kayenta.tolerance
            ),
        });
    }
    Ok(())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Whether the exact order-statistic interval is used: no ties, and either the exact p-value
/// was requested or (auto) R's rule m < 50 and n < 50, or scipy's min(m, n) ≤ 8.
fn exact_interval(mode: PValueMode, m: usize, n: usize, has_ties: bool) -> bool {
    if has_ties {
        return false;
    }
    match mode {
        PValueMode::Exact => true,
        PValueMode::Asymptotic => false,
        PValueMode::Auto => {
            ((m < 50 && n < 50) || m.min(n) <= 8) && (m * n) as f64 <= AUTO_EXACT_MAX_MN
        }
    }
}

/// Shift interval with the method chosen by [`exact_interval`].
fn shift_interval(
    diffs: &PairwiseDifferences,
    confidence: f64,
    alternative: Alternative,
    exact: bool,
    continuity: bool,
) -> Result<(f64, f64), StatsError> {
    if exact {
        interval_exact(diffs, confidence, alternative)
    } else {
        interval_asymptotic(diffs, confidence, alternative, continuity)
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Compare canary `x` with baseline `y`.
///
/// Always reported (when both arms have data): `statistic` = U1, `p_value` for
/// `params.alternative` (scipy's mannwhitneyu), `effect` = Hodges–Lehmann shift, `ci_low`/
/// `ci_high` = its interval at `params.confidence` for `params.alternative` (an infinite end is
/// left empty); `extra` holds `u2`, `p_harm`, `cles`, `mean_ratio`, `exact` (1/0) and the
/// rule's own numbers.
///
/// Rules (`statistics.md` §6.2(b)):
/// - `strict`: Fail if harm beyond fail_margin·|median(y)| is shown: the one-sided 1 − α HL
///   bound on the harm side (the two-sided 1 − α interval for `Either`) lies beyond that fail
///   band (issue 16, defect 5: the one fail rule of every method); Pass if the two-sided 1 − 2α HL
///   interval lies inside ±margin·|median(y)| (TOST-style equivalence; only the harm side with
///   `pass_rule: non-inferiority`); else Inconclusive, and below `min_samples` per arm.
/// - `kayenta`: NetflixACAJudge's MannWhitneyClassifier (§1.1 steps 3–5).
pub fn compare(
    canary: &[f64],
    baseline: &[f64],
    params: &MannWhitneyParams,
) -> Result<Decision, StatsError> {
    validate(params)?;
    let x = preprocess(
        "canary",
        canary,
        params.nan,
        params.outliers,
        params.outlier_factor,
    )?;
    let y = preprocess(
        "baseline",
        baseline,
        params.nan,
        params.outliers,
        params.outlier_factor,
    )?;
    let mut d = Decision::new("mann-whitney", Verdict::Inconclusive, String::new());
    d.n_canary = x.len() as u64;
    d.n_baseline = y.len() as u64;
    if x.is_empty() || y.is_empty() {
        if params.rule == DecisionRule::Kayenta && params.nan == NanStrategy::Replace {
            d.verdict = Verdict::Pass;
            d.reason =
                "no data in one arm; Kayenta passes such metrics under nanStrategy replace".into();
        } else {
            d.reason = format!(
                "no data: canary has {} points, baseline {}",
                x.len(),
                y.len()
            );
        }
        return Ok(d);
    }

    let (m, n) = (x.len(), y.len());
    // Sort once; ranks, pairwise differences and every interval work on the sorted arms.
    let diffs = PairwiseDifferences::from_sorted(sorted(&x), sorted(&y));
    let ranking = rank_sorted(&diffs.x_asc, &diffs.y_asc, 0.0);
    let test = u_test_ranked(
        m,
        n,
        &ranking,
        params.alternative,
        params.mode,
        params.continuity,
    )?;
    let mn = m as f64 * n as f64;
    let harm_alt = params.harm.alternative();
    let p_harm = if harm_alt == params.alternative {
        test.p_value
    } else {
        u_test_ranked(m, n, &ranking, harm_alt, params.mode, params.continuity)?.p_value
    };
    let hl = diffs.median();
    let exact = exact_interval(params.mode, m, n, test.has_ties);
    let all_tied = test.tie_term > 0.0 && u_sigma(m, n, test.tie_term) == 0.0;
    let ci = if all_tied {
        // One value in both arms: the shift is exactly 0.
        (0.0, 0.0)
    } else {
        shift_interval(
            &diffs,
            params.confidence,
            params.alternative,
            exact,
            params.continuity,
        )?
    };
    let cles = test.u1 / mn;
    let (mean_x, mean_y) = (mean(&x), mean(&y));
    let mean_ratio = if mean_x == 0.0 || mean_y == 0.0 {
        f64::NAN
    } else {
        mean_x / mean_y
    };
    d.statistic = Some(test.u1);
    d.p_value = Some(test.p_value);
    d.effect = Some(hl);
    d.ci_low = finite(ci.0);
    d.ci_high = finite(ci.1);
    d.extra.insert("u2".into(), test.u2);
    d.extra.insert("p_harm".into(), p_harm);
    d.extra.insert("cles".into(), cles);
    if mean_ratio.is_finite() {
        d.extra.insert("mean_ratio".into(), mean_ratio);
    }
    d.extra.insert(
        "exact".into(),
        if test.method == PValueMode::Exact {
            1.0
        } else {
            0.0
        },
    );
    if let Some(z) = test.z {
        d.extra.insert("z".into(), z);
    }

    match params.rule {
        DecisionRule::Strict => strict_rule(&mut d, &diffs, params, p_harm, hl, exact, all_tied)?,
        DecisionRule::Kayenta => kayenta_rule(&mut d, &diffs, params, cles, mean_ratio)?,
    }
    Ok(d)
}

#[allow(clippy::too_many_arguments)]
fn strict_rule(
    d: &mut Decision,
    diffs: &PairwiseDifferences,
    params: &MannWhitneyParams,
    p_harm: f64,
    hl: f64,
    exact: bool,
    all_tied: bool,
) -> Result<(), StatsError> {
    let (x, y) = (&diffs.x_asc, &diffs.y_asc);
    let band = params.margin * median(y).abs();
    let fail_margin = super::fail_margin(params.fail_margin, params.margin)?;
    let fail_band = fail_margin * median(y).abs();
    d.extra.insert("margin_band".into(), band);
    d.extra.insert("fail_band".into(), fail_band);
    if x.len() < params.min_samples || y.len() < params.min_samples {
        d.verdict = Verdict::Inconclusive;
        d.reason = format!(
            "too few points: canary {}, baseline {}, need at least {} per arm",
            x.len(),
            y.len(),
            params.min_samples
        );
        return Ok(());
    }
    let alpha = params.alpha;
    // Equivalence interval: two-sided at 1 − 2α (TOST), or one-sided at 1 − α on the harm side.
    let (eq_low, eq_high) = if all_tied {
        (0.0, 0.0)
    } else {
        match (params.pass_rule, params.harm) {
            (PassRule::NonInferiority, Harm::Increase) => shift_interval(
                diffs,
                1.0 - alpha,
                Alternative::Less,
                exact,
                params.continuity,
            )?,
            (PassRule::NonInferiority, Harm::Decrease) => shift_interval(
                diffs,
                1.0 - alpha,
                Alternative::Greater,
                exact,
                params.continuity,
            )?,
            _ => shift_interval(
                diffs,
                1.0 - 2.0 * alpha,
                Alternative::TwoSided,
                exact,
                params.continuity,
            )?,
        }
    };
    if eq_low.is_finite() {
        d.extra.insert("equivalence_ci_low".into(), eq_low);
    }
    if eq_high.is_finite() {
        d.extra.insert("equivalence_ci_high".into(), eq_high);
    }
    // The fail test: the harm-side 1 − α bound of the shift beyond the fail band. All values
    // equal: the shift is exactly 0, which is never beyond a band ≥ 0.
    let (fail_low, fail_high) = if all_tied {
        (0.0, 0.0)
    } else {
        let alternative = match params.harm {
            Harm::Increase => Alternative::Greater,
            Harm::Decrease => Alternative::Less,
            Harm::Either => Alternative::TwoSided,
        };
        shift_interval(diffs, 1.0 - alpha, alternative, exact, params.continuity)?
    };
    // An interval end can sit on a jump of the rank statistic (zero-heavy data: most pairwise
    // differences are exactly 0, so the statistic jumps at a shift of 0 and both ends of the
    // interval land there). Comparing the end with the band then says "not beyond" even when
    // the test at the band itself rejects (issue 16, defect 9). Harm beyond the band is shown
    // when the test of "shift = band" rejects, so that test decides at the band: the interval
    // end is open on the side where the test rejects.
    let (m, n) = (x.len(), y.len());
    let p_at = |shift: f64, alternative: Alternative| -> Result<f64, StatsError> {
        let ranking = rank_sorted(x, y, shift);
        Ok(u_test_ranked(m, n, &ranking, alternative, params.mode, params.continuity)?.p_value)
    };
    let side_alpha = if params.harm == Harm::Either {
        alpha / 2.0
    } else {
        alpha
    };
    let above = |lo: f64| -> Result<bool, StatsError> {
        Ok(!all_tied && (lo > fail_band || p_at(fail_band, Alternative::Greater)? <= side_alpha))
    };
    let below = |hi: f64| -> Result<bool, StatsError> {
        Ok(!all_tied && (hi < -fail_band || p_at(-fail_band, Alternative::Less)? <= side_alpha))
    };
    let beyond = match params.harm {
        Harm::Increase => above(fail_low)?,
        Harm::Decrease => below(fail_high)?,
        Harm::Either => above(fail_low)? || below(fail_high)?,
    };
    let harm_bound = match params.harm {
        Harm::Increase => fail_low,
        Harm::Decrease => fail_high,
        Harm::Either if hl >= 0.0 => fail_low,
        Harm::Either => fail_high,
    };
    if harm_bound.is_finite() {
        d.extra.insert("fail_bound".into(), harm_bound);
    }
    // One-sided intervals have an infinite far end, so only their harm side is compared.
    // Every value in both arms is the same number: the shift is exactly 0, known without
    // uncertainty, so it is inside even a zero band — the same answer Welch gives for two
    // identical constant arms (issue 16, defect 8: degenerate cases agree across methods).
    let inside = all_tied
        || ((eq_low == f64::NEG_INFINITY || eq_low > -band)
            && (eq_high == f64::INFINITY || eq_high < band));
    (d.verdict, d.reason) = if beyond {
        (
            Verdict::Fail,
            format!(
                "harm beyond the fail band ±{fail_band:.6} (fail_margin {fail_margin}) shown: canary shifted by {hl:.6} (Hodges–Lehmann), harm-side {:.0} % bound {harm_bound:.6} (harm-side p = {p_harm:.3e})",
                100.0 * (1.0 - alpha)
            ),
        )
    } else if inside {
        (
            Verdict::Pass,
            format!(
                "shift interval [{eq_low:.6}, {eq_high:.6}] lies inside ±{band:.6} (margin {} of the baseline median)",
                params.margin
            ),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!(
                "shift {hl:.6} with harm-side p = {p_harm:.3e}: neither harm beyond the fail band ±{fail_band:.6} (fail_margin {fail_margin}) nor equivalence within ±{band:.6} shown at α = {alpha}"
            ),
        )
    };
    Ok(())
}

fn kayenta_rule(
    d: &mut Decision,
    diffs: &PairwiseDifferences,
    params: &MannWhitneyParams,
    cles: f64,
    mean_ratio: f64,
) -> Result<(), StatsError> {
    let kp = &params.kayenta;
    let (xs, ys) = (&diffs.x_asc, &diffs.y_asc);
    if xs == ys {
        d.verdict = Verdict::Pass;
        d.reason = "kayenta: the data are identical".into();
        return Ok(());
    }
    let first = xs[0];
    if xs.iter().chain(ys.iter()).all(|v| *v == first) {
        d.verdict = Verdict::Pass;
        d.reason = "kayenta: only one distinct value across both samples".into();
        return Ok(());
    }
    // Two-sided, continuity-corrected inversion at 0.98 (R wilcox.test exact=FALSE,
    // correct=TRUE), estimate = root at z = 0. Both arms constant but different: Kayenta adds
    // unseeded noise of relative size 1e-5; `root_in` returns its deterministic limit (the
    // common difference).
    let (lo, hi) = interval_asymptotic(diffs, kp.confidence, Alternative::TwoSided, true)?;
    let estimate = root_in(diffs, 0.0, Alternative::TwoSided, true)?;
    let effect = match kp.effect_measure {
        EffectMeasure::MeanRatio => mean_ratio,
        EffectMeasure::Cles => cles,
    };
    let default_gate = match kp.effect_measure {
        EffectMeasure::MeanRatio => 1.0,
        EffectMeasure::Cles => 0.5,
    };
    let allowed_increase = kp.allowed_increase.unwrap_or(default_gate);
    let allowed_decrease = kp.allowed_decrease.unwrap_or(default_gate);
    let bound = kp.tolerance * estimate.abs();
    d.extra.insert("kayenta_estimate".into(), estimate);
    d.extra.insert("kayenta_ci_low".into(), lo);
    d.extra.insert("kayenta_ci_high".into(), hi);
    d.extra.insert("kayenta_bound".into(), bound);
    if effect.is_finite() {
        d.extra.insert("kayenta_effect".into(), effect);
    }
    let allows_increase = matches!(params.harm, Harm::Increase | Harm::Either);
    let allows_decrease = matches!(params.harm, Harm::Decrease | Harm::Either);
    // Interval ends on a jump of the statistic (issue 16, defect 9): with zero-heavy data the
    // inverted statistic jumps at a shift of 0, the interval, the estimate and the bound all
    // collapse to 0, and "lo > bound" cannot hold however significant the difference.
    // Kayenta's root finder lands just beside the jump and reports High/Low. The rule here:
    // the interval lies above +bound when its lower end does, or when the statistic at +bound
    // itself (ties as mid-ranks) is already beyond the critical value, which is what "every
    // shift up to the bound is rejected" means on a step function. Likewise below −bound.
    let zq = -norm_ppf((1.0 - kp.confidence) / 2.0);
    let z_at = |shift: f64| inverted_statistic(diffs, shift, Alternative::TwoSided, true);
    let z_plus = z_at(bound);
    let z_minus = z_at(-bound);
    if let Some(z) = z_plus {
        d.extra.insert("kayenta_z_at_bound".into(), z);
    }
    let jump_high = lo <= bound && z_plus.is_some_and(|z| z > zq);
    let jump_low = hi >= -bound && z_minus.is_some_and(|z| z < -zq);
    let high = allows_increase
        && (lo > bound || jump_high)
        && (effect.is_nan() || effect >= allowed_increase);
    let low = allows_decrease
        && (hi < -bound || jump_low)
        && (effect.is_nan() || effect <= allowed_decrease);
    let jump_note = if (high && jump_high) || (low && jump_low) {
        format!(
            " (the interval sits on a jump of the rank statistic: at the bound it is already beyond the critical value {zq:.3})"
        )
    } else {
        String::new()
    };
    (d.verdict, d.reason) = if high {
        (
            Verdict::Fail,
            format!(
                "kayenta: High — interval [{lo:.6}, {hi:.6}] lies above +{bound:.6} ({}·|estimate {estimate:.6}|) and effect {effect:.4} ≥ {allowed_increase}{jump_note}",
                kp.tolerance
            ),
        )
    } else if low {
        (
            Verdict::Fail,
            format!(
                "kayenta: Low — interval [{lo:.6}, {hi:.6}] lies below −{bound:.6} and effect {effect:.4} ≤ {allowed_decrease}{jump_note}"
            ),
        )
    } else {
        (
            Verdict::Pass,
            format!(
                "kayenta: Pass — interval [{lo:.6}, {hi:.6}] against bounds ±{bound:.6} around estimate {estimate:.6}"
            ),
        )
    };
    Ok(())
}

#[cfg(test)]
mod tests {
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
            nan: NanStrategy::Replace,
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
}
