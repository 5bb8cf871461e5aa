//! Welch's unequal-variance t-test (method `welch`) with fractional degrees of freedom, a
//! confidence interval for the difference of means, and TOST equivalence for Pass.

use super::special::{t_cdf, t_ppf, t_sf};
use super::{Alternative, Decision, Harm, StatsError, Verdict, check_finite};
use serde::{Deserialize, Serialize};

/// Parameters of the Welch method (defaults in `statistics.md` §6.2(c)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct WelchParams {
    /// Alternative for the reported p-value (scipy's `alternative`).
    #[serde(default)]
    pub alternative: Alternative,
    /// Confidence level of the interval.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Significance level.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Relative margin (fraction of the baseline mean).
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Harm beyond this fraction of the baseline mean must be shown to fail; `None` (the
    /// default) uses `margin` (see [`super::fail_margin`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_margin: Option<f64>,
    /// Which direction is harm.
    #[serde(default)]
    pub harm: Harm,
    /// Fewer points than this in either arm gives Inconclusive.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
    /// What a Pass has to show: equivalence (TOST, the default of `statistics.md` §6.2(c)) or
    /// only non-inferiority on the harm side.
    #[serde(default)]
    pub pass_rule: PassRule,
}

/// What the confidence interval must show before a method says Pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PassRule {
    /// Both one-sided tests reject (TOST): the effect lies within ±margin on both sides.
    #[default]
    Equivalence,
    /// Only the harm side must be bounded by the margin (a large improvement also passes).
    NonInferiority,
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
    5
}

impl Default for WelchParams {
    fn default() -> Self {
        WelchParams {
            alternative: Alternative::TwoSided,
            confidence: default_confidence(),
            alpha: default_alpha(),
            margin: default_margin(),
            fail_margin: None,
            harm: Harm::Increase,
            min_samples: default_min_samples(),
            pass_rule: PassRule::Equivalence,
        }
    }
}

/// The numbers of one Welch test, as scipy.stats.ttest_ind(x, y, equal_var=False) returns
/// them (statistic, pvalue, df, confidence_interval()).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchTest {
    /// Mean of the canary.
    pub mean_canary: f64,
    /// Mean of the baseline.
    pub mean_baseline: f64,
    /// Difference of means x̄ − ȳ.
    pub difference: f64,
    /// Standard error sqrt(s_x²/n_x + s_y²/n_y).
    pub standard_error: f64,
    /// t = (x̄ − ȳ)/SE; ±∞ or NaN when SE = 0 (as numpy gives).
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom (1 when undefined, as scipy).
    pub df: f64,
    /// p-value for the requested alternative.
    pub p_value: f64,
    /// Lower end of the interval for x̄ − ȳ (−∞ for `less`).
    pub ci_low: f64,
    /// Upper end of the interval for x̄ − ȳ (+∞ for `greater`).
    pub ci_high: f64,
}

/// Mean by plain summation, and the unbiased variance by the two-pass formula (as numpy's
/// `var(ddof=1)`: deviations from the mean, then their squares), which avoids the cancellation
/// of the one-pass sum-of-squares formula.
fn mean_var(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    let var = if values.len() > 1 {
        ss / (n - 1.0)
    } else {
        f64::NAN
    };
    (mean, var)
}

/// Welch's unequal-variance t-test, scipy.stats.ttest_ind(equal_var=False) with
/// `confidence_interval(confidence)`:
/// t = (x̄ − ȳ)/SE, SE² = s_x²/n_x + s_y²/n_y, ν = SE⁴ / [(s_x²/n_x)²/(n_x−1) + (s_y²/n_y)²/(n_y−1)]
/// (Welch 1947, Satterthwaite 1946); p from Student-t(ν); CI = (x̄−ȳ) + t_ν quantiles × SE.
/// Each arm needs at least two points.
pub fn welch_test(
    canary: &[f64],
    baseline: &[f64],
    alternative: Alternative,
    confidence: f64,
) -> Result<WelchTest, StatsError> {
    check_finite("canary", canary)?;
    check_finite("baseline", baseline)?;
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(StatsError::InvalidParameter {
            name: "confidence",
            why: format!("must lie strictly between 0 and 1, got {confidence}"),
        });
    }
    if canary.len() < 2 || baseline.len() < 2 {
        return Err(StatsError::InvalidParameter {
            name: "samples",
            why: format!(
                "Welch's test needs at least 2 points per arm (canary {}, baseline {})",
                canary.len(),
                baseline.len()
            ),
        });
    }
    // Values near the top of the f64 range overflow the squared deviations (1e300² = ∞), which
    // used to give p = 1 and no interval. Every Welch quantity is either scale-free (t, ν, p)
    // or scales linearly (means, difference, SE, interval), so the sums are taken on the values
    // divided by a power of two — exact, hence the same digits as before whenever no scaling
    // is needed — and the linear quantities multiplied back.
    let scale = super::power_of_two_scale(canary.iter().chain(baseline).copied());
    let scaled = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x / scale).collect() };
    let (nx, ny) = (canary.len() as f64, baseline.len() as f64);
    let (mx, vx) = mean_var(&scaled(canary));
    let (my, vy) = mean_var(&scaled(baseline));
    let (vnx, vny) = (vx / nx, vy / ny);
    let mut df = (vnx + vny) * (vnx + vny) / (vnx * vnx / (nx - 1.0) + vny * vny / (ny - 1.0));
    if df.is_nan() {
        // Both variances zero: scipy sets df = 1 (it does not matter, t is ±∞ or NaN).
        df = 1.0;
    }
    let se = (vnx + vny).sqrt();
    let difference = mx - my;
    let t = difference / se;
    let p_value = match alternative {
        Alternative::Greater => t_sf(t, df),
        Alternative::Less => t_cdf(t, df),
        Alternative::TwoSided => (2.0 * t_sf(t.abs(), df)).min(1.0),
    };
    let (ci_low, ci_high) = match alternative {
        Alternative::Less => (f64::NEG_INFINITY, difference + t_ppf(confidence, df) * se),
        Alternative::Greater => (difference + t_ppf(1.0 - confidence, df) * se, f64::INFINITY),
        Alternative::TwoSided => {
            let tail = (1.0 - confidence) / 2.0;
            (
                difference + t_ppf(tail, df) * se,
                difference + t_ppf(1.0 - tail, df) * se,
            )
        }
    };
    Ok(WelchTest {
        mean_canary: mx * scale,
        mean_baseline: my * scale,
        difference: difference * scale,
        standard_error: se * scale,
        t,
        df,
        p_value,
        ci_low: ci_low * scale,
        ci_high: ci_high * scale,
    })
}

fn validate(params: &WelchParams) -> Result<(), StatsError> {
    if !(params.alpha > 0.0 && params.alpha < 0.5) {
        return Err(StatsError::InvalidParameter {
            name: "alpha",
            why: format!("must lie strictly between 0 and 0.5, got {}", params.alpha),
        });
    }
    if !(params.margin >= 0.0 && params.margin.is_finite()) {
        return Err(StatsError::InvalidParameter {
            name: "margin",
            why: format!("must be a finite number ≥ 0, got {}", params.margin),
        });
    }
    super::fail_margin(params.fail_margin, params.margin)?;
    if !(params.confidence > 0.0 && params.confidence < 1.0) {
        return Err(StatsError::InvalidParameter {
            name: "confidence",
            why: format!(
                "must lie strictly between 0 and 1, got {}",
                params.confidence
            ),
        });
    }
    Ok(())
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Compare canary with baseline by Welch's t-test.
///
/// Decision (`statistics.md` §6.2(c)), with band = margin·|ȳ| and fail band =
/// fail_margin·|ȳ| (issue 16, defect 5: the one fail rule of every method):
/// - Fail if harm beyond the fail band is shown at α: the one-sided t-test of
///   "difference ≤ fail band" (≥ −fail band for `Decrease`; both at α/2 for `Either`) rejects;
/// - Pass if TOST at level α shows the difference inside (−band, +band) (both one-sided tests
///   reject, i.e. the 1 − 2α interval lies inside), or only the harm side with
///   `pass_rule: non-inferiority`;
/// - else Inconclusive; also below `min_samples` per arm.
///
/// If both variances are zero the means are compared directly (no p-value exists).
/// `p_value` is the p for `params.alternative`; the harm-direction p is in `extra.p_harm`.
pub fn compare(
    canary: &[f64],
    baseline: &[f64],
    params: &WelchParams,
) -> Result<Decision, StatsError> {
    check_finite("canary", canary)?;
    check_finite("baseline", baseline)?;
    validate(params)?;
    let min_n = params.min_samples.max(2);
    // Below the minimum the statistics are still reported whenever they exist (two points per
    // arm); the minimum only gates the verdict (issue 16, defect 7).
    if (canary.len() < min_n || baseline.len() < min_n) && canary.len() >= 2 && baseline.len() >= 2
    {
        let mut d = compare_unchecked(canary, baseline, params)?;
        d.verdict = Verdict::Inconclusive;
        d.reason = format!(
            "too few points: canary {}, baseline {}, need at least {min_n} per arm before a verdict (statistics shown for information; {})",
            canary.len(),
            baseline.len(),
            d.reason
        );
        return Ok(d);
    }
    if canary.len() < min_n || baseline.len() < min_n {
        let mut d = Decision::new(
            "welch",
            Verdict::Inconclusive,
            format!(
                "too few points: canary {}, baseline {}, need at least {min_n} per arm",
                canary.len(),
                baseline.len()
            ),
        );
        d.n_canary = canary.len() as u64;
        d.n_baseline = baseline.len() as u64;
        return Ok(d);
    }
    compare_unchecked(canary, baseline, params)
}

/// [`compare`] without the minimum-sample gate (each arm has at least two points).
fn compare_unchecked(
    canary: &[f64],
    baseline: &[f64],
    params: &WelchParams,
) -> Result<Decision, StatsError> {
    let test = welch_test(canary, baseline, params.alternative, params.confidence)?;
    let band = params.margin * test.mean_baseline.abs();
    let fail_margin = super::fail_margin(params.fail_margin, params.margin)?;
    let fail_band = fail_margin * test.mean_baseline.abs();
    let diff = test.difference;
    let mut d = Decision::new("welch", Verdict::Inconclusive, String::new());
    d.n_canary = canary.len() as u64;
    d.n_baseline = baseline.len() as u64;
    d.effect = Some(diff);
    d.extra.insert("mean_canary".into(), test.mean_canary);
    d.extra.insert("mean_baseline".into(), test.mean_baseline);
    d.extra.insert("margin_band".into(), band);
    d.extra.insert("fail_band".into(), fail_band);
    if test.mean_baseline != 0.0 {
        d.extra
            .insert("relative_effect".into(), diff / test.mean_baseline.abs());
    }

    if test.standard_error == 0.0 {
        // Both arms constant: the difference is known exactly (statistics.md §6.2(c)).
        d.ci_low = Some(diff);
        d.ci_high = Some(diff);
        let harmful = match params.harm {
            Harm::Increase => diff > fail_band,
            Harm::Decrease => diff < -fail_band,
            Harm::Either => diff.abs() > fail_band,
        };
        let within = match params.pass_rule {
            PassRule::Equivalence => diff.abs() <= band,
            PassRule::NonInferiority => match params.harm {
                Harm::Increase => diff <= band,
                Harm::Decrease => diff >= -band,
                Harm::Either => diff.abs() <= band,
            },
        };
        (d.verdict, d.reason) = if harmful {
            (
                Verdict::Fail,
                format!(
                    "both arms are constant and the canary differs by {diff}, beyond the fail band ±{fail_band} (fail_margin {fail_margin})"
                ),
            )
        } else if within {
            (
                Verdict::Pass,
                format!("both arms are constant and differ by {diff}, inside ±{band}"),
            )
        } else {
            (
                Verdict::Inconclusive,
                format!(
                    "both arms are constant and differ by {diff}, outside ±{band} on the harmless side"
                ),
            )
        };
        return Ok(d);
    }

    d.statistic = Some(test.t);
    d.df = Some(test.df);
    d.p_value = Some(test.p_value);
    d.ci_low = finite(test.ci_low);
    d.ci_high = finite(test.ci_high);
    let se = test.standard_error;
    let df = test.df;
    let p_harm = match params.harm.alternative() {
        a if a == params.alternative => test.p_value,
        Alternative::Greater => t_sf(test.t, df),
        Alternative::Less => t_cdf(test.t, df),
        Alternative::TwoSided => (2.0 * t_sf(test.t.abs(), df)).min(1.0),
    };
    d.extra.insert("p_harm".into(), p_harm);
    // TOST (Schuirmann 1987): H0⁻: diff ≤ −band rejected when P(T > (diff + band)/SE) ≤ α;
    // H0⁺: diff ≥ band rejected when P(T < (diff − band)/SE) ≤ α.
    let p_not_below = t_sf((diff + band) / se, df);
    let p_not_above = t_cdf((diff - band) / se, df);
    d.extra.insert("tost_p_lower".into(), p_not_below);
    d.extra.insert("tost_p_upper".into(), p_not_above);
    // The fail test: H0 "difference ≤ fail band" on the harm side (both sides at α/2 each
    // for `Either`).
    let p_above_fail = t_sf((diff - fail_band) / se, df);
    let p_below_fail = t_cdf((diff + fail_band) / se, df);
    let p_fail = match params.harm {
        Harm::Increase => p_above_fail,
        Harm::Decrease => p_below_fail,
        Harm::Either => (2.0 * p_above_fail.min(p_below_fail)).min(1.0),
    };
    d.extra.insert("p_fail".into(), p_fail);
    let alpha = params.alpha;
    let pass = match (params.pass_rule, params.harm) {
        (PassRule::Equivalence, _) | (PassRule::NonInferiority, Harm::Either) => {
            p_not_below <= alpha && p_not_above <= alpha
        }
        (PassRule::NonInferiority, Harm::Increase) => p_not_above <= alpha,
        (PassRule::NonInferiority, Harm::Decrease) => p_not_below <= alpha,
    };
    (d.verdict, d.reason) = if p_fail <= alpha {
        (
            Verdict::Fail,
            format!(
                "harm beyond the fail band ±{fail_band:.6} (fail_margin {fail_margin}) shown: canary mean differs by {diff:.6}, p = {p_fail:.3e} ≤ α = {alpha}"
            ),
        )
    } else if pass {
        (
            Verdict::Pass,
            format!(
                "difference of means {diff:.6} shown inside ±{band:.6} (TOST p = {:.3e} ≤ α = {alpha})",
                p_not_below.max(p_not_above)
            ),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!(
                "difference of means {diff:.6} (harm-side p = {p_harm:.3e}): neither harm beyond the fail band ±{fail_band:.6} (fail_margin {fail_margin}) nor equivalence within ±{band:.6} shown at α = {alpha}"
            ),
        )
    };
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_small_are_inconclusive() {
        let p = WelchParams::default();
        let d = compare(&[], &[1.0, 2.0], &p).unwrap();
        assert_eq!(d.verdict, Verdict::Inconclusive);
        let d = compare(&[1.0], &[1.0, 2.0, 3.0, 4.0, 5.0], &p).unwrap();
        assert_eq!(d.verdict, Verdict::Inconclusive);
        assert!(welch_test(&[1.0], &[1.0, 2.0], Alternative::TwoSided, 0.95).is_err());
    }

    #[test]
    fn nan_is_an_error() {
        let p = WelchParams::default();
        let err = compare(&[1.0, f64::NAN], &[1.0, 2.0], &p).unwrap_err();
        assert_eq!(
            err,
            StatsError::NonFinite {
                arm: "canary",
                index: 1
            }
        );
    }

    #[test]
    fn constant_arms_compare_means_directly() {
        let p = WelchParams::default();
        let same = compare(&[5.0; 6], &[5.0; 6], &p).unwrap();
        assert_eq!(same.verdict, Verdict::Pass);
        assert_eq!(same.p_value, None);
        let worse = compare(&[7.0; 6], &[5.0; 6], &p).unwrap();
        assert_eq!(worse.verdict, Verdict::Fail);
        let better = compare(&[3.0; 6], &[5.0; 6], &p).unwrap();
        assert_eq!(better.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn one_zero_variance_uses_other_arms_df() {
        let x = [1.0, 2.0, 3.0, 4.0, 6.0];
        let y = [2.0; 7];
        let t = welch_test(&x, &y, Alternative::TwoSided, 0.95).unwrap();
        assert!((t.df - 4.0).abs() < 1e-12);
    }

    #[test]
    fn clear_regression_fails_and_equal_passes() {
        let base: Vec<f64> = (0..40).map(|i| 100.0 + (i % 7) as f64).collect();
        let worse: Vec<f64> = base.iter().map(|v| v * 1.5).collect();
        let p = WelchParams::default();
        assert_eq!(compare(&worse, &base, &p).unwrap().verdict, Verdict::Fail);
        let same: Vec<f64> = base.iter().rev().copied().collect();
        assert_eq!(compare(&same, &base, &p).unwrap().verdict, Verdict::Pass);
    }
}
