//! Anytime-valid latency comparison (method `quantile-sequential`): Prometheus histogram
//! buckets turned into "slow request" count processes per bucket boundary (the count test per
//! boundary), and Howard–Ramdas quantile confidence sequences for raw samples.
//!
//! Sources: `statistics.md` §6.2(f); Howard & Ramdas (2022), "Sequential estimation of
//! quantiles with applications to A/B-testing and best-arm identification", Bernoulli 28(3),
//! arXiv 1906.09712, Theorem 2 (uniform-in-time DKW-type band) and the order-statistic
//! quantile confidence sequence built from it (confseq `EmpiricalProcessLILBound`).

use super::counts::{self, CountParams, CountSeries};
use super::{Decision, StatsError, Verdict, check_finite};
use serde::{Deserialize, Serialize};

/// One arm's histogram: cumulative bucket counts per disjoint interval, Prometheus style.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistogramSeries {
    /// Upper bounds `le` in increasing order; the last may be +Inf.
    pub bounds: Vec<f64>,
    /// For each interval, the cumulative count at each bound (same length as `bounds`).
    pub intervals: Vec<Vec<f64>>,
}

/// Parameters of the quantile method (defaults in `statistics.md` §6.2(f)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct QuantileParams {
    /// Anytime-valid significance level (split across thresholds or quantiles).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Relative margin: pass when the canary is at most this much worse.
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Quantiles monitored for raw samples.
    #[serde(default = "default_quantiles")]
    pub quantiles: Vec<f64>,
    /// Histogram boundaries to test; default: every finite bound.
    #[serde(default)]
    pub thresholds: Option<Vec<f64>>,
    /// Points (or requests) per arm before any verdict; for raw samples also the t_min from
    /// which the uniform band holds.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
    /// Fail only when harm beyond this fraction is shown: raw samples, a canary quantile's
    /// lower bound above the baseline's upper bound by more than it; histograms, a
    /// slow-request rate ratio shown above 1 + it. `None` (the default) uses `margin` (see
    /// [`super::fail_margin`]); `fail_tolerance`, its old name, is still read.
    #[serde(
        default,
        alias = "fail_tolerance",
        skip_serializing_if = "Option::is_none"
    )]
    pub fail_margin: Option<f64>,
    /// Histograms: fixed canary traffic share for the count test (`None` = per interval).
    #[serde(default)]
    pub share: Option<f64>,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_margin() -> f64 {
    0.2
}
fn default_quantiles() -> Vec<f64> {
    vec![0.5, 0.9, 0.99]
}
fn default_min_samples() -> usize {
    30
}

impl Default for QuantileParams {
    fn default() -> Self {
        QuantileParams {
            alpha: default_alpha(),
            margin: default_margin(),
            quantiles: default_quantiles(),
            thresholds: None,
            min_samples: default_min_samples(),
            fail_margin: None,
            share: None,
        }
    }
}

/// Leading constant A of the Howard–Ramdas uniform band (confseq's default).
pub const LIL_A: f64 = 0.85;

/// The constant C_α of the uniform CDF band r_t = A·sqrt((log(1 + log(t/t_min)) + C_α)/t)
/// (Howard & Ramdas 2022, Theorem 2; solved as confseq's
/// `EmpiricalProcessLILBound::find_optimal_C`): with γ² = (2/η)(A − sqrt(2(η−1)/C))², the
/// crossing probability is at most 4·exp(−γ²C)·(1 + 1/((γ² − 1)·log η)); minimize over η and
/// pick C so that the minimum equals α. Solved here to near machine precision (confseq stops
/// at 24 bits in η, which moves C only in the 7th digit).
pub fn lil_constant(alpha: f64, a: f64) -> f64 {
    let optimum_error = |c: f64| -> f64 {
        // η must keep γ² > 1: sqrt(η/2) + sqrt(2(η−1)/C) < A.
        let eta_upper = super::msprt::solve_increasing(
            |eta| (eta / 2.0).sqrt() + (2.0 * (eta - 1.0) / c).sqrt() - a,
            1.0,
            2.0 * a * a,
            1e-15,
        );
        let bound = |eta: f64| -> f64 {
            let g = a - (2.0 * (eta - 1.0) / c).sqrt();
            let gamma_sq = 2.0 / eta * g * g;
            if gamma_sq <= 1.0 || eta <= 1.0 {
                f64::INFINITY
            } else {
                4.0 * (-gamma_sq * c).exp() * (1.0 + 1.0 / ((gamma_sq - 1.0) * eta.ln()))
            }
        };
        golden_min(bound, 1.0, eta_upper)
    };
    // The minimum error falls as C grows; bracket then bisect on log C.
    let mut hi = 5.0;
    while optimum_error(hi) > alpha && hi < 1e6 {
        hi *= 2.0;
    }
    let mut lo = hi / 2.0;
    while optimum_error(lo) < alpha && lo > 1e-6 {
        lo /= 2.0;
    }
    super::msprt::solve_increasing(|c| alpha - optimum_error(c), lo, hi, 1e-14 * hi)
}

/// Minimum value of a unimodal function on (lo, hi) by golden-section search (Kiefer 1953).
fn golden_min(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let inv_phi = (5f64.sqrt() - 1.0) / 2.0;
    let mut x1 = hi - inv_phi * (hi - lo);
    let mut x2 = lo + inv_phi * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..200 {
        if hi - lo < 1e-13 {
            break;
        }
        if f1 < f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - inv_phi * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + inv_phi * (hi - lo);
            f2 = f(x2);
        }
    }
    f1.min(f2)
}

/// Radius of the uniform CDF band at sample size t (∞ before t_min):
/// r_t = A·sqrt((log(1 + log(t/t_min)) + C)/t).
pub fn band_radius(t: f64, t_min: f64, c: f64) -> f64 {
    if t < t_min {
        f64::INFINITY
    } else {
        LIL_A * (((t / t_min).ln().ln_1p() + c) / t).sqrt()
    }
}

/// Order-statistic tree over ranks (Fenwick 1994), for the k-th smallest of a growing prefix.
struct RankTree {
    tree: Vec<u32>,
    top: usize,
}

impl RankTree {
    fn new(n: usize) -> Self {
        let mut top = 1;
        while top * 2 <= n {
            top *= 2;
        }
        RankTree {
            tree: vec![0; n + 1],
            top,
        }
    }
    fn insert(&mut self, rank: usize) {
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }
    /// Zero-based rank of the k-th smallest inserted element (k ≥ 1, k ≤ count).
    fn kth(&self, mut k: u32) -> usize {
        let mut pos = 0;
        let mut step = self.top;
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] < k {
                pos = next;
                k -= self.tree[next];
            }
            step /= 2;
        }
        pos
    }
}

/// Running-intersected quantile confidence sequences of one arm, recorded after the prefixes
/// listed in `record_at` (ascending). At every prefix t ≥ t_min the CS for the p-quantile is
/// [X_(⌊t(p − r_t)⌋ + 1), X_(⌈t(p + r_t)⌉)] with −∞/+∞ when the index leaves 1..t
/// (statistics.md §2.2); since the band holds for all t at once, the running intersection
/// (max of lower ends, min of upper ends) is a valid CS too and makes decisions sticky.
pub(crate) fn quantile_cs_path(
    values: &[f64],
    quantiles: &[f64],
    t_min: f64,
    c: f64,
    record_at: &[usize],
) -> Vec<Vec<(f64, f64)>> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]).then(i.cmp(&j)));
    let mut rank = vec![0usize; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let mut tree = RankTree::new(n);
    let mut bounds = vec![(f64::NEG_INFINITY, f64::INFINITY); quantiles.len()];
    let mut out = Vec::with_capacity(record_at.len());
    let mut next = record_at.iter().peekable();
    while next.peek().is_some_and(|&&r| r == 0) {
        out.push(bounds.clone());
        next.next();
    }
    for (idx, &r) in rank.iter().enumerate() {
        tree.insert(r);
        let t = idx + 1;
        let tf = t as f64;
        let radius = band_radius(tf, t_min, c);
        if radius.is_finite() {
            for (b, &p) in bounds.iter_mut().zip(quantiles) {
                let k_lo = (tf * (p - radius)).floor() + 1.0;
                let k_hi = (tf * (p + radius)).ceil();
                if k_lo >= 1.0 {
                    let v = values[order[tree.kth(k_lo as u32)]];
                    b.0 = b.0.max(v);
                }
                if k_hi <= tf {
                    let v = values[order[tree.kth(k_hi.max(1.0) as u32)]];
                    b.1 = b.1.min(v);
                }
            }
        }
        while next.peek().is_some_and(|&&r| r == t) {
            out.push(bounds.clone());
            next.next();
        }
    }
    out
}

fn validate_common(params: &QuantileParams) -> Result<(), StatsError> {
    let bad = |name: &'static str, why: String| Err(StatsError::InvalidParameter { name, why });
    if !(params.alpha > 0.0 && params.alpha < 1.0) {
        return bad("alpha", format!("must be in (0, 1), got {}", params.alpha));
    }
    if !(params.margin.is_finite() && params.margin >= 0.0) {
        return bad(
            "margin",
            format!("must be a finite number ≥ 0, got {}", params.margin),
        );
    }
    super::fail_margin(params.fail_margin, params.margin)?;
    Ok(())
}

/// Verdict of the raw-sample rule from both arms' (intersected) quantile CSs, shared by
/// [`compare_samples`] and the simulation. Fail if for some p the canary's lower bound is
/// above the baseline's upper bound by more than `fail_margin` (default `margin`, issue 16,
/// defect 5); Pass if both arms have
/// `min_samples` and for every p the canary's upper bound is within `(1 + margin)` of the
/// baseline's lower bound; else Inconclusive.
pub(crate) fn judge_samples(
    canary: &[(f64, f64)],
    baseline: &[(f64, f64)],
    n_canary: usize,
    n_baseline: usize,
    params: &QuantileParams,
) -> Verdict {
    let fail_margin = params.fail_margin.unwrap_or(params.margin);
    let fail = canary
        .iter()
        .zip(baseline)
        .any(|(c, b)| c.0.is_finite() && b.1.is_finite() && c.0 > b.1 + fail_margin * b.1.abs());
    if fail {
        return Verdict::Fail;
    }
    let enough = n_canary >= params.min_samples && n_baseline >= params.min_samples;
    let pass = enough
        && canary.iter().zip(baseline).all(|(c, b)| {
            c.1.is_finite() && b.0.is_finite() && c.1 <= b.0 + params.margin * b.0.abs()
        });
    if pass {
        Verdict::Pass
    } else {
        Verdict::Inconclusive
    }
}

/// Compare raw latency samples (in time order) with Howard–Ramdas quantile confidence sequences.
///
/// Each arm gets a uniform-in-time CDF band at α/2 (so both hold together with probability
/// ≥ 1 − α, at every pair of sample sizes), turned into running-intersected CSs for each
/// monitored quantile; the rule is [`judge_samples`]. `effect` is the largest relative
/// difference of empirical quantiles Q̂_c(p)/Q̂_b(p) − 1 over the monitored p; `ci_low` is the
/// largest (lower_c − upper_b)/|upper_b| and `ci_high` the largest (upper_c − lower_b)/|lower_b|
/// (absent while a bound is infinite). Per-quantile bounds are in `extra`.
pub fn compare_samples(
    canary: &[f64],
    baseline: &[f64],
    params: &QuantileParams,
) -> Result<Decision, StatsError> {
    validate_common(params)?;
    if params.quantiles.is_empty() {
        return Err(StatsError::InvalidParameter {
            name: "quantiles",
            why: "at least one quantile is needed".into(),
        });
    }
    if let Some(q) = params.quantiles.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
        return Err(StatsError::InvalidParameter {
            name: "quantiles",
            why: format!("every quantile must be in (0, 1), got {q}"),
        });
    }
    check_finite("canary", canary)?;
    check_finite("baseline", baseline)?;
    let c = lil_constant(params.alpha / 2.0, LIL_A);
    let t_min = params.min_samples.max(1) as f64;
    let (nc, nb) = (canary.len(), baseline.len());
    let bc = quantile_cs_path(canary, &params.quantiles, t_min, c, &[nc]).remove(0);
    let bb = quantile_cs_path(baseline, &params.quantiles, t_min, c, &[nb]).remove(0);
    let verdict = judge_samples(&bc, &bb, nc, nb, params);

    let mut d = Decision::new("quantile-sequential", verdict, "");
    d.n_canary = nc as u64;
    d.n_baseline = nb as u64;
    let empirical = |v: &[f64], p: f64| -> Option<f64> {
        if v.is_empty() {
            return None;
        }
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let k = ((s.len() as f64 * p).ceil() as usize).clamp(1, s.len());
        s.get(k - 1).copied()
    };
    let mut effect: Option<f64> = None;
    let mut low: Option<f64> = Some(f64::NEG_INFINITY);
    let mut high: Option<f64> = Some(f64::NEG_INFINITY);
    for ((p, c), b) in params.quantiles.iter().zip(&bc).zip(&bb) {
        let tag = format!("p{p}");
        if let (Some(qc), Some(qb)) = (empirical(canary, *p), empirical(baseline, *p))
            && qb != 0.0
        {
            let e = qc / qb - 1.0;
            effect = Some(effect.map_or(e, |x: f64| x.max(e)));
        }
        let rel = |num: f64, den: f64| {
            (num.is_finite() && den.is_finite() && den != 0.0).then(|| (num - den) / den.abs())
        };
        low = match (low, rel(c.0, b.1)) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        };
        high = match (high, rel(c.1, b.0)) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        };
        for (name, v) in [
            ("canary_low", c.0),
            ("canary_high", c.1),
            ("baseline_low", b.0),
            ("baseline_high", b.1),
        ] {
            if v.is_finite() {
                d.extra.insert(format!("{name}_{tag}"), v);
            }
        }
    }
    d.effect = effect;
    d.ci_low = low;
    d.ci_high = high;
    d.extra.insert("lil_c".into(), c);
    d.reason = match verdict {
        Verdict::Fail => format!(
            "a canary quantile's lower confidence bound is above the baseline's upper bound by more than the fail margin {:.0}%",
            params.fail_margin.unwrap_or(params.margin) * 100.0
        ),
        Verdict::Pass => format!(
            "every monitored canary quantile's upper bound is within {:.0}% of the baseline's lower bound",
            params.margin * 100.0
        ),
        Verdict::Inconclusive if nc < params.min_samples || nb < params.min_samples => format!(
            "{nc} canary and {nb} baseline samples, {} per arm needed",
            params.min_samples
        ),
        Verdict::Inconclusive => {
            "quantile confidence sequences neither separate nor lie within the margin".into()
        }
    };
    Ok(d)
}

/// Validated histogram data: finite thresholds tested and, per arm, (slow, total) per
/// interval for each threshold.
fn histogram_counts(
    arm: &'static str,
    h: &HistogramSeries,
    thresholds: &[usize],
) -> Result<Vec<CountSeries>, StatsError> {
    let name = if arm == "canary" {
        "canary.intervals"
    } else {
        "baseline.intervals"
    };
    let mut out = vec![CountSeries::default(); thresholds.len()];
    for (i, row) in h.intervals.iter().enumerate() {
        if row.len() != h.bounds.len() {
            return Err(StatsError::InvalidParameter {
                name,
                why: format!(
                    "interval {i} has {} bucket counts for {} bounds",
                    row.len(),
                    h.bounds.len()
                ),
            });
        }
        if row.iter().any(|v| !v.is_finite()) {
            return Err(StatsError::NonFinite { arm, index: i });
        }
        let mut prev = 0.0;
        for (j, &v) in row.iter().enumerate() {
            if v < 0.0 {
                return Err(StatsError::InvalidParameter {
                    name,
                    why: format!(
                        "interval {i} has a negative count {v} at le={}",
                        h.bounds[j]
                    ),
                });
            }
            if v < prev {
                return Err(StatsError::InvalidParameter {
                    name,
                    why: format!(
                        "interval {i}: cumulative counts decrease at le={} ({v} < {prev})",
                        h.bounds[j]
                    ),
                });
            }
            prev = v;
        }
        let total = prev;
        for (series, &j) in out.iter_mut().zip(thresholds) {
            series.events.push(total - row[j]);
            series.traffic.push(total);
        }
    }
    Ok(out)
}

/// Compare Prometheus histograms: per boundary, slow requests against total requests.
///
/// For each tested bound x_b, "slow" = total − cumulative(le = x_b) per interval, and the
/// count test ([`counts::compare`], per-interval share unless `share` is set) runs at α/B
/// (Bonferroni over the B bounds; statistics.md §6.2(f1)). Fail if any bound fails; Pass if
/// every bound passes (rate-ratio upper bound < 1 + margin); else Inconclusive. `e_value` is
/// max_b e_b / B (its reaching 1/α is the Bonferroni rejection), `p_value` = min(1, B·min p_b);
/// `effect`/`ci_*` are those of the bound with the largest rate-ratio upper bound.
pub fn compare_histograms(
    canary: &HistogramSeries,
    baseline: &HistogramSeries,
    params: &QuantileParams,
) -> Result<Decision, StatsError> {
    validate_common(params)?;
    let bounds = &canary.bounds;
    if bounds.is_empty() {
        return Err(StatsError::InvalidParameter {
            name: "bounds",
            why: "a histogram needs at least one bucket bound".into(),
        });
    }
    if baseline.bounds != *bounds {
        return Err(StatsError::InvalidParameter {
            name: "bounds",
            why: "canary and baseline histograms have different bucket bounds".into(),
        });
    }
    let last = bounds.len() - 1;
    for (j, w) in bounds.windows(2).enumerate() {
        if w[0] >= w[1] || w[0].is_nan() || w[1].is_nan() || !w[0].is_finite() {
            return Err(StatsError::InvalidParameter {
                name: "bounds",
                why: format!(
                    "bucket bounds must be finite (except the last) and increasing, not at position {j}"
                ),
            });
        }
    }
    if bounds[last].is_nan() || bounds[last] == f64::NEG_INFINITY {
        return Err(StatsError::InvalidParameter {
            name: "bounds",
            why: "the last bucket bound must be a number or +Inf".into(),
        });
    }
    if canary.intervals.len() != baseline.intervals.len() {
        return Err(StatsError::LengthMismatch {
            canary: canary.intervals.len(),
            baseline: baseline.intervals.len(),
        });
    }
    // The top bucket holds every request, so a threshold there has no slow requests.
    let tested: Vec<usize> = match &params.thresholds {
        None => (0..last).filter(|&j| bounds[j].is_finite()).collect(),
        Some(list) => {
            let mut idx = Vec::with_capacity(list.len());
            for x in list {
                match bounds.iter().position(|b| b == x) {
                    Some(j) if j < last => idx.push(j),
                    _ => {
                        return Err(StatsError::InvalidParameter {
                            name: "thresholds",
                            why: format!("{x} is not a bucket bound below the top bucket"),
                        });
                    }
                }
            }
            idx
        }
    };
    if tested.is_empty() {
        return Err(StatsError::InvalidParameter {
            name: "thresholds",
            why: "no bucket bound below the top bucket to test".into(),
        });
    }
    let series_c = histogram_counts("canary", canary, &tested)?;
    let series_b = histogram_counts("baseline", baseline, &tested)?;
    let b = tested.len() as f64;
    let count_params = CountParams {
        alpha: params.alpha / b,
        margin: params.margin,
        fail_margin: params.fail_margin,
        share: params.share,
        min_requests: params.min_samples as f64,
        // The slow-request counts are judged by their ratio only, as before the floor existed.
        min_rate: 0.0,
        ..CountParams::default()
    };
    let mut per_bound = Vec::with_capacity(tested.len());
    for ((&j, c), base) in tested.iter().zip(&series_c).zip(&series_b) {
        per_bound.push((bounds[j], counts::compare(c, base, &count_params)?));
    }

    let any_fail = per_bound.iter().any(|(_, d)| d.verdict == Verdict::Fail);
    let all_pass = per_bound.iter().all(|(_, d)| d.verdict == Verdict::Pass);
    let verdict = if any_fail {
        Verdict::Fail
    } else if all_pass {
        Verdict::Pass
    } else {
        Verdict::Inconclusive
    };
    let mut d = Decision::new("quantile-sequential", verdict, "");
    let total = |h: &HistogramSeries| -> f64 { h.intervals.iter().filter_map(|r| r.last()).sum() };
    d.n_canary = total(canary).round() as u64;
    d.n_baseline = total(baseline).round() as u64;
    let e_max = per_bound
        .iter()
        .filter_map(|(_, x)| x.e_value)
        .fold(0.0, f64::max);
    let p_min = per_bound
        .iter()
        .filter_map(|(_, x)| x.p_value)
        .fold(1.0, f64::min);
    d.e_value = Some(e_max / b);
    d.p_value = Some((p_min * b).min(1.0));
    let worst = per_bound
        .iter()
        .max_by(|x, y| {
            let ux = x.1.ci_high.unwrap_or(f64::INFINITY);
            let uy = y.1.ci_high.unwrap_or(f64::INFINITY);
            ux.total_cmp(&uy)
        })
        .map(|(bound, x)| (*bound, x.clone()));
    let mut first_fail: Option<f64> = None;
    for (bound, x) in &per_bound {
        if let Some(e) = x.e_value {
            d.extra.insert(format!("e_le_{bound}"), e);
        }
        if let Some(u) = x.ci_high {
            d.extra.insert(format!("rate_ratio_upper_le_{bound}"), u);
        }
        if let Some(f) = x.extra.get("first_fail_look") {
            first_fail = Some(first_fail.map_or(*f, |g: f64| g.min(*f)));
        }
    }
    if let Some(f) = first_fail {
        d.extra.insert("first_fail_look".into(), f);
    }
    d.extra.insert("thresholds".into(), b);
    if let Some((bound, x)) = worst {
        d.effect = x.effect;
        d.ci_low = x.ci_low;
        d.ci_high = x.ci_high;
        d.extra.insert("worst_threshold".into(), bound);
        d.reason = match verdict {
            Verdict::Fail => {
                let failing: Vec<String> = per_bound
                    .iter()
                    .filter(|(_, x)| x.verdict == Verdict::Fail)
                    .map(|(bound, _)| format!("le={bound}"))
                    .collect();
                format!(
                    "canary has more requests above {} than the baseline by more than the fail margin: rate ratio shown above {:.2} (count test at α/{b})",
                    failing.join(", "),
                    1.0 + params.fail_margin.unwrap_or(params.margin)
                )
            }
            Verdict::Pass => format!(
                "at every tested bound the slow-request rate ratio is below {:.2} (worst le={bound}: {})",
                1.0 + params.margin,
                x.reason
            ),
            Verdict::Inconclusive => format!("not settled at le={bound}: {}", x.reason),
        };
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lil_constant_matches_confseq_unit_test() {
        // confseq uniform_boundaries_unittest: α = 0.05, t_min = 100, A = 0.85, t = 1000
        // gives 0.08204769.
        let c = lil_constant(0.05, LIL_A);
        let r = band_radius(1000.0, 100.0, c);
        assert!((r - 0.08204769).abs() < 1e-6, "{r} (C = {c})");
    }

    #[test]
    fn order_statistics_match_sorting() {
        let v: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64).collect();
        let mut tree = RankTree::new(v.len());
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]).then(i.cmp(&j)));
        let mut rank = vec![0; v.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        for t in 0..v.len() {
            tree.insert(rank[t]);
            let mut s = v[..=t].to_vec();
            s.sort_by(f64::total_cmp);
            for k in [1, (t + 2) / 2, t + 1] {
                assert_eq!(v[order[tree.kth(k as u32)]], s[k - 1]);
            }
        }
    }

    #[test]
    fn histogram_shift_fails_and_equal_passes() {
        let bounds = vec![10.0, 50.0, 100.0, f64::INFINITY];
        let base = vec![vec![3000.0, 9000.0, 9900.0, 10000.0]; 40];
        let slow = vec![vec![2000.0, 7000.0, 9000.0, 10000.0]; 40];
        let h = |i: &Vec<Vec<f64>>| HistogramSeries {
            bounds: bounds.clone(),
            intervals: i.clone(),
        };
        let p = QuantileParams::default();
        let d = compare_histograms(&h(&slow), &h(&base), &p).unwrap();
        assert_eq!(d.verdict, Verdict::Fail, "{}", d.reason);
        let d = compare_histograms(&h(&base), &h(&base), &p).unwrap();
        assert_eq!(d.verdict, Verdict::Pass, "{}", d.reason);
    }

    #[test]
    fn samples_shift_fails() {
        let base: Vec<f64> = (0..3000).map(|i| ((i * 7919) % 1000) as f64).collect();
        let slow: Vec<f64> = base.iter().map(|v| v + 300.0).collect();
        let p = QuantileParams {
            quantiles: vec![0.5, 0.9],
            ..QuantileParams::default()
        };
        let d = compare_samples(&slow, &base, &p).unwrap();
        assert_eq!(d.verdict, Verdict::Fail, "{}", d.reason);
        let d = compare_samples(&base, &base, &p).unwrap();
        assert_ne!(d.verdict, Verdict::Fail, "{}", d.reason);
    }
}
