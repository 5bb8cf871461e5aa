//! The oracle beside every detection figure: how much data the best fixed-sample test needs to
//! detect the simulated effect at the same α with 80 % power.
//!
//! The oracle knows the effect and looks once. That is the most any test can do, so the ratio
//! of a method's median detection look to the oracle's look says what the method pays for not
//! knowing the effect (a mixture over alternatives) and for looking at every interval
//! (anytime validity). It is a reference line, not a method: nothing in `stats/` uses it.
//!
//! Every oracle here is a one-sided test of a statistic `S = Σ_cells s` that is a sum over the
//! data's cells (intervals, histogram buckets, samples), approximately normal with mean and
//! variance `(m0, v0)` under the fail rule's null and `(m1, v1)` under the simulated effect.
//! Such a test at level α has power 1 − β once
//!
//! ```text
//!     m1 − m0  ≥  z_{1−α} · √v0  +  z_{1−β} · √v1                                   (1)
//! ```
//!
//! the textbook normal-approximation sample-size condition (e.g. Chow, Shao & Wang, *Sample
//! Size Calculations in Clinical Research*, 2nd ed. 2008, §3.2 for means and §4.1 for one
//! proportion; Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*, 3rd ed.
//! 2003, §4.2). The cells per look are:
//!
//! - **Counts** (error counts, histogram buckets): conditional on a cell's total of events T,
//!   the canary's count is Binomial(T, π) with π = r·s / (r·s + 1 − s), s the canary's traffic
//!   share and r the rate ratio (Przyborowski & Wileński 1940; Gu, Ng, Tang & Schucany 2008,
//!   *Biometrical Journal* 50, "Testing the ratio of two Poisson rates"). With π0 from the null
//!   ratio (1 + fail_margin) and π1 from the simulated one, the Neyman–Pearson statistic weights
//!   each cell's canary count by w = logit π1 − logit π0, so a cell adds
//!   `m1 − m0 = w·T·(π1 − π0)`, `v0 = w²·T·π0(1 − π0)`, `v1 = w²·T·π1(1 − π1)`, with T its
//!   expected events. With one share throughout, (1) is exactly the one-proportion formula
//!   `T_total = (z_{1−α}√(π0(1−π0)) + z_{1−β}√(π1(1−π1)))² / (π1 − π0)²`.
//! - **Means** (values, log latencies): the two-sample z-test with known variances; one look
//!   with one point per arm adds `m1 − m0 = δ − band`, `v0 = v1 = σ_c² + σ_b²`, which gives the
//!   textbook `n = (z_{1−α} + z_{1−β})²·(σ_c² + σ_b²) / (δ − band)²` points per arm.
//! - **Spread** (a scale change ρ of normal or log-normal data): the difference of log sample
//!   variances, whose variance is ≈ 2/n per arm; n points per arm add `2n·ln ρ` to the mean and
//!   `4n` to the variance, i.e. `n = (z_{1−α} + z_{1−β})² / (ln ρ)²` per arm.
//!
//! The look at which (1) first holds is interpolated inside the look (the look's cells scaled
//! by a fraction), so the oracle is a fractional number of looks; a method that looks once per
//! interval cannot do better than the next whole look.

use statrs::distribution::{ContinuousCDF, Normal};

/// Power the oracle is sized for.
pub const POWER: f64 = 0.8;

/// One cell's contribution to the oracle's statistic (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Mean of the cell's term under the effect minus under the null.
    pub shift: f64,
    /// Variance of the term under the null.
    pub var0: f64,
    /// Variance of the term under the effect.
    pub var1: f64,
}

impl Cell {
    /// A count cell: `events` expected events (both arms), canary share `share` of the
    /// traffic, null rate ratio `r0`, simulated rate ratio `r1`.
    pub fn counts(events: f64, share: f64, r0: f64, r1: f64) -> Cell {
        if !(events > 0.0 && share > 0.0 && share < 1.0) {
            return Cell::EMPTY;
        }
        let pi = |r: f64| r * share / (r * share + 1.0 - share);
        let (p0, p1) = (pi(r0), pi(r1));
        let logit = |p: f64| (p / (1.0 - p)).ln();
        let w = logit(p1) - logit(p0);
        Cell {
            shift: w * events * (p1 - p0),
            var0: w * w * events * p0 * (1.0 - p0),
            var1: w * w * events * p1 * (1.0 - p1),
        }
    }

    /// A mean cell: `n` points per arm, effect `delta` beyond the null's band, per-point
    /// variances of the canary and the baseline.
    pub fn means(n: f64, delta: f64, var_c: f64, var_b: f64) -> Cell {
        Cell {
            shift: n * delta,
            var0: n * (var_c + var_b),
            var1: n * (var_c + var_b),
        }
    }

    /// A spread cell: `n` points per arm, canary/baseline standard-deviation ratio `rho`.
    pub fn spread(n: f64, rho: f64) -> Cell {
        Cell {
            shift: 2.0 * n * rho.ln(),
            var0: 4.0 * n,
            var1: 4.0 * n,
        }
    }

    /// Contributes nothing (no data in the cell).
    pub const EMPTY: Cell = Cell {
        shift: 0.0,
        var0: 0.0,
        var1: 0.0,
    };
}

#[derive(Default, Clone, Copy)]
struct Sums {
    shift: f64,
    var0: f64,
    var1: f64,
}

impl Sums {
    fn add(self, cells: &[Cell], fraction: f64) -> Sums {
        cells.iter().fold(self, |s, c| Sums {
            shift: s.shift + fraction * c.shift,
            var0: s.var0 + fraction * c.var0,
            var1: s.var1 + fraction * c.var1,
        })
    }
    /// Condition (1): `m1 − m0 − z_{1−α}√v0 − z_{1−β}√v1`, ≥ 0 once the power is reached.
    fn margin(&self, z_alpha: f64, z_beta: f64) -> f64 {
        self.shift - z_alpha * self.var0.sqrt() - z_beta * self.var1.sqrt()
    }
}

/// Fractional number of looks the one-look oracle test needs for power [`POWER`] at one-sided
/// level `alpha`, where `look(k)` (k = 0, 1, …) gives the expected cells of look k + 1. `None`
/// when the condition is not met within `max_looks` (or the effect is not in the harm
/// direction).
pub fn oracle_looks(
    alpha: f64,
    max_looks: usize,
    mut look: impl FnMut(usize) -> Vec<Cell>,
) -> Option<f64> {
    let normal = Normal::standard();
    let (z_alpha, z_beta) = (normal.inverse_cdf(1.0 - alpha), normal.inverse_cdf(POWER));
    let mut sums = Sums::default();
    for k in 0..max_looks {
        let cells = look(k);
        let after = sums.add(&cells, 1.0);
        if after.shift > 0.0 && after.margin(z_alpha, z_beta) >= 0.0 {
            // Bisection on the fraction of this look's data: the margin is increasing in it
            // (the shift grows linearly, the standard deviations like its square root).
            let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if sums.add(&cells, mid).margin(z_alpha, z_beta) >= 0.0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            return Some(k as f64 + hi);
        }
        sums = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_reproduce_the_textbook_two_sample_formula() {
        // n = (z_.95 + z_.8)² · 2σ² / δ² = 6.183 · 200 / 49 = 25.24 points per arm.
        let n = oracle_looks(0.05, 1000, |_| vec![Cell::means(1.0, 7.0, 100.0, 100.0)]).unwrap();
        let z = 1.644_853_626_951_472_2 + 0.841_621_233_572_914_4;
        assert!((n - z * z * 200.0 / 49.0).abs() < 1e-9, "{n}");
    }

    #[test]
    fn counts_with_one_share_reproduce_the_one_proportion_formula() {
        // Share 1/2, ratio 2 against 1: π0 = 1/2, π1 = 2/3.
        let per_look = 10.0;
        let looks =
            oracle_looks(0.05, 1000, |_| vec![Cell::counts(per_look, 0.5, 1.0, 2.0)]).unwrap();
        let (p0, p1) = (0.5_f64, 2.0_f64 / 3.0);
        let (za, zb) = (1.644_853_626_951_472_2, 0.841_621_233_572_914_4);
        let total =
            ((za * (p0 * (1.0 - p0)).sqrt() + zb * (p1 * (1.0 - p1)).sqrt()) / (p1 - p0)).powi(2);
        assert!((looks * per_look - total).abs() < 1e-6, "{looks} {total}");
    }

    #[test]
    fn no_effect_is_never_detected() {
        assert_eq!(
            oracle_looks(0.05, 100, |_| vec![Cell::counts(1e6, 0.3, 1.0, 1.0)]),
            None
        );
    }
}
