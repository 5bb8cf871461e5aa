//! Mann–Whitney U (method `mann-whitney`) with Hodges–Lehmann estimate and intervals, CLES and
//! mean ratio; a `strict` decision rule and a `kayenta` rule that reproduces Kayenta's
//! NetflixACAJudge classifier. Matches scipy.stats.mannwhitneyu digit for digit
//! (`tests/scipy_reference.rs`); HL and its intervals never materialise the m·n differences
//! above 16 384 of them.

use super::special::{ln_choose, norm_ppf, norm_sf};
use super::welch::PassRule;
use super::{Alternative, Decision, Harm, NanStrategy, StatsError, Verdict};
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
    /// What to do with NaN values before testing (infinities are always an error). Default
    /// `reject`: called directly, the method drops nothing silently (a metric in a config
    /// has its NaNs handled by the engine first, by the metric's `nan_strategy`).
    #[serde(default = "reject_nan")]
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

fn reject_nan() -> NanStrategy {
    NanStrategy::Reject
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

mod exact;
mod hodges_lehmann;
mod preprocess;
mod ranks;

pub use exact::*;
pub use hodges_lehmann::*;
pub use preprocess::*;
pub use ranks::*;

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
        if params.rule == DecisionRule::Kayenta && matches!(params.nan, NanStrategy::Replace(_)) {
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
mod tests;
