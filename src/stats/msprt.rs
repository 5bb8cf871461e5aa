//! Mixture sequential probability ratio test / normal-mixture confidence sequence for the
//! difference of means (method `msprt`): anytime-valid, so it may be looked at every step.
//!
//! The e-process is recomputed at every prefix of the series (one look per interval) and a
//! rejection is "ever crossed 1/α" (Ville's inequality), so each call gives the same answer
//! as a process that had watched every interval, with no stored state. Formulas:
//! `statistics.md` §3.1 and §6.2(d) — Johari et al. (KDD'17) two-sided mixture in information
//! form, Howard, Ramdas, McAuliffe & Sekhon (2021, Ann. Statist.) one-sided normal mixture
//! (confseq `OneSidedNormalMixture`), plug-in variance after a burn-in (arXiv 2212.14411).

use super::{Decision, Harm, StatsError, Verdict, check_finite};
use serde::{Deserialize, Serialize};

/// Parameters of mSPRT (defaults in `statistics.md` §6.2(d)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MsprtParams {
    /// Anytime-valid significance level.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Which direction is harm; `either` is two-sided.
    #[serde(default)]
    pub harm: Harm,
    /// Mixture standard deviation τ on the metric's scale. Default (`None`): the smallest
    /// regression worth catching, `margin · |mean of both arms over the burn-in|`; if that is
    /// zero, the pooled standard deviation over the burn-in; if that is zero too, 1.
    #[serde(default)]
    pub tau: Option<f64>,
    /// Relative non-inferiority margin (fraction of the baseline mean).
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Harm beyond this fraction of the baseline mean must be shown (by the confidence
    /// sequence) to fail; `None` (the default) uses `margin` (see [`super::fail_margin`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_margin: Option<f64>,
    /// Points per arm before any decision (plug-in variance burn-in); at least 2 are used.
    #[serde(default = "default_burn_in")]
    pub burn_in: usize,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_margin() -> f64 {
    0.10
}
fn default_burn_in() -> usize {
    30
}

impl Default for MsprtParams {
    fn default() -> Self {
        MsprtParams {
            alpha: default_alpha(),
            harm: Harm::Increase,
            tau: None,
            margin: default_margin(),
            fail_margin: None,
            burn_in: default_burn_in(),
        }
    }
}

/// log Φ(z), accurate in the far lower tail (where Φ itself underflows): the asymptotic
/// series of Abramowitz & Stegun 26.2.12 below z = −30, `ln(erfc(−z/√2)/2)` elsewhere
/// (same quantity as scipy.special.log_ndtr).
pub(crate) fn log_ndtr(z: f64) -> f64 {
    if z < -30.0 {
        let z2 = z * z;
        -0.5 * z2 - (-z).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (1.0 - 1.0 / z2 + 3.0 / (z2 * z2) - 15.0 / (z2 * z2 * z2)).ln()
    } else if z > 5.0 {
        // Φ(z) = 1 − Φ(−z); ln_1p keeps the tiny upper-tail mass exact.
        (-0.5 * statrs::function::erf::erfc(z / std::f64::consts::SQRT_2)).ln_1p()
    } else {
        (0.5 * statrs::function::erf::erfc(-z / std::f64::consts::SQRT_2)).ln()
    }
}

/// Root of an increasing function `f` on `[lo, hi]` with `f(lo) < 0 ≤ f(hi)`, by the Illinois
/// variant of regula falsi with a bisection safeguard; stops when the bracket is narrower than
/// `tol`. Used for every boundary inversion in the sequential methods.
pub(crate) fn solve_increasing(
    mut f: impl FnMut(f64) -> f64,
    mut lo: f64,
    mut hi: f64,
    tol: f64,
) -> f64 {
    let mut f_lo = f(lo);
    let mut f_hi = f(hi);
    if f_lo >= 0.0 {
        return lo;
    }
    if f_hi < 0.0 {
        return hi;
    }
    let mut side = 0i8;
    for iter in 0..300 {
        if hi - lo <= tol {
            break;
        }
        // Every fourth step bisects, so the bracket shrinks geometrically whatever f does.
        let mut x = if iter % 4 == 3 {
            0.5 * (lo + hi)
        } else {
            (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        };
        if !(x > lo && x < hi) {
            x = 0.5 * (lo + hi);
        }
        let fx = f(x);
        if fx.is_nan() {
            return 0.5 * (lo + hi);
        }
        if fx < 0.0 {
            lo = x;
            f_lo = fx;
            if side == -1 {
                f_hi *= 0.5;
            }
            side = -1;
        } else {
            hi = x;
            f_hi = fx;
            if side == 1 {
                f_lo *= 0.5;
            }
            side = 1;
        }
    }
    0.5 * (lo + hi)
}

/// Two-sided normal-mixture log e-value in information form (Johari et al. 2017; Howard et
/// al. 2021 `TwoSidedNormalMixture` with s = d·I, v = I, ρ = 1/τ²):
/// log Λ = −½·log(1 + τ²I) + τ²I²d² / (2(1 + τ²I)).
pub(crate) fn log_e_two_sided(d: f64, info: f64, tau: f64) -> f64 {
    let ti = tau * tau * info;
    -0.5 * ti.ln_1p() + tau * tau * info * info * d * d / (2.0 * (1.0 + ti))
}

/// One-sided normal-mixture log e-value (Howard et al. 2021, half-normal mixing, confseq
/// `OneSidedNormalMixture::log_superMG`): ½·log(4ρ/(v+ρ)) + s²/(2(v+ρ)) + log Φ(s/√(v+ρ)),
/// with s = d·I (evidence that the mean difference is positive), v = I and ρ = 1/τ².
pub(crate) fn log_e_one_sided(d: f64, info: f64, tau: f64) -> f64 {
    let rho = 1.0 / (tau * tau);
    let s = d * info;
    let vr = info + rho;
    0.5 * (4.0 * rho / vr).ln() + s * s / (2.0 * vr) + log_ndtr(s / vr.sqrt())
}

/// Half-width of the two-sided normal-mixture confidence sequence
/// (statistics.md §6.2(d)): sqrt((1 + τ²I)/(τ²I²) · [2·log(1/α) + log(1 + τ²I)]).
pub(crate) fn radius_two_sided(info: f64, tau: f64, alpha: f64) -> f64 {
    let ti = tau * tau * info;
    ((1.0 + ti) / (tau * tau * info * info) * (2.0 * (1.0 / alpha).ln() + ti.ln_1p())).sqrt()
}

/// Half-width of a one-sided normal-mixture bound: the u at which the one-sided e-value of a
/// difference u reaches 1/α. In z = s/√(v+ρ) the equation is z²/2 + log Φ(z) = c with
/// c = log(1/α) − ½·log(4ρ/(v+ρ)); the left side increases in z ≥ 0 and equals −log 2 at 0,
/// and c > −log 2, so the root is positive and below sqrt(2(c + log 2)).
#[cfg(test)]
pub(crate) fn radius_one_sided(info: f64, tau: f64, alpha: f64) -> f64 {
    radius_one_sided_from(info, tau, alpha, None).0
}

/// The one-sided half-width above, with an optional starting point for the root in z (the previous
/// look's root, which moves little from look to look); returns the radius and the root z.
///
/// f(z) = z²/2 + log Φ(z) − c is increasing and convex for z ≥ 0: f′(z) = z + λ(z) with
/// λ = φ/Φ, and f″ = 1 − λ(z + λ) > 0 because 0 < λ(z + λ) < 1 (Sampford 1953). So Newton's
/// method converges monotonically after its first step from any start, typically in 2–4 steps
/// from the previous root; the regula-falsi bracket search is the fallback if it does not
/// settle (it never should).
pub(crate) fn radius_one_sided_from(
    info: f64,
    tau: f64,
    alpha: f64,
    start: Option<f64>,
) -> (f64, f64) {
    let rho = 1.0 / (tau * tau);
    let vr = info + rho;
    let c = (1.0 / alpha).ln() - 0.5 * (4.0 * rho / vr).ln();
    let hi = (2.0 * (c + std::f64::consts::LN_2)).sqrt() + 1.0;
    let z = newton_one_sided(c, start.filter(|z| *z > 0.0 && *z < hi).unwrap_or(hi))
        .unwrap_or_else(|| solve_increasing(|z| 0.5 * z * z + log_ndtr(z) - c, 0.0, hi, 1e-15));
    (z * vr.sqrt() / info, z)
}

/// Newton iteration for z²/2 + log Φ(z) = c from `z0`; None if it leaves z > 0 or does not
/// reach a step of a few ulps within 60 iterations.
fn newton_one_sided(c: f64, z0: f64) -> Option<f64> {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    let mut z = z0;
    for _ in 0..60 {
        let log_phi_cdf = log_ndtr(z);
        let f = 0.5 * z * z + log_phi_cdf - c;
        // λ(z) = φ(z)/Φ(z) = exp(−z²/2 − log Φ(z))/√(2π).
        let lambda = (-0.5 * z * z - log_phi_cdf).exp() * INV_SQRT_2PI;
        let step = f / (z + lambda);
        if !step.is_finite() {
            return None;
        }
        let next = z - step;
        if next <= 0.0 {
            return None;
        }
        if step.abs() <= 4.0 * f64::EPSILON * next {
            return Some(next);
        }
        z = next;
    }
    None
}

/// Looks with fewer points per arm than this get the small-sample correction of
/// [`t_to_normal_score`]. Issue 16 measured the plain plug-in variance at burn-ins 2, 5 and 10
/// giving A/A false-fail rates of 8.1 %, 4.4 % and 2.5 % at α = 5 %: the Student-t tails of the
/// studentized difference at small n are far heavier than the normal tails the mixture assumes
/// (the e-value reached 2·10⁹ on two points per arm). From 10 points on the plug-in is left as
/// it is (Howard et al. 2021 §4 asymptotic regime; `docs/statistics.md`), so every result with
/// a burn-in of 10 or more is unchanged digit for digit.
pub const SMALL_SAMPLE_LOOKS: usize = 10;

/// Welch–Satterthwaite degrees of freedom for two arms of `n` points each:
/// (n − 1)(s_x² + s_y²)² / (s_x⁴ + s_y⁴), between n − 1 and 2(n − 1).
fn welch_df(vx: f64, vy: f64, n: usize) -> f64 {
    let m = (n - 1) as f64;
    let den = vx * vx + vy * vy;
    if den > 0.0 && den.is_finite() {
        (m * (vx + vy) * (vx + vy) / den).clamp(m, 2.0 * m)
    } else {
        m
    }
}

/// The normal score with the same tail probability as a Student-t(ν) value:
/// z = sign(t)·Φ⁻¹(1 − F_ν(|t|)) mirrored, so that under the null the studentized difference
/// of a small look is as likely to be large as a known-variance z would be. This is the
/// quantile-matching (Wallace 1959) correction of the plug-in statistic; it is what keeps
/// msprt's A/A false-fail rate at or below α for burn-ins down to 2 (tests/stats_defects.rs).
fn t_to_normal_score(t: f64, nu: f64) -> f64 {
    if !t.is_finite() || t == 0.0 {
        return t;
    }
    let tail = super::special::t_sf(t.abs(), nu);
    if tail.is_nan() || tail <= 0.0 {
        // Beyond double precision the t tail is below every normal tail we could name; keep
        // the t value itself (t ≥ z always, so this only errs towards less evidence lost).
        return t;
    }
    let z = -super::special::norm_ppf(tail);
    if t > 0.0 { z } else { -z }
}

/// The inverse of [`t_to_normal_score`] for z ≥ 0: the t(ν) value with the normal tail of z.
fn normal_score_to_t(z: f64, nu: f64) -> f64 {
    let tail = super::special::norm_sf(z);
    if tail.is_nan() || tail <= 0.0 {
        return f64::INFINITY;
    }
    -super::special::t_ppf(tail, nu)
}

/// Running sums for mean and variance (Welford 1962), so each look costs O(1).
#[derive(Debug, Clone, Copy, Default)]
struct Welford {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Welford {
    fn push(&mut self, x: f64) {
        self.n += 1.0;
        let delta = x - self.mean;
        self.mean += delta / self.n;
        self.m2 += delta * (x - self.mean);
    }
    /// Sample variance with the n − 1 denominator.
    fn var(&self) -> f64 {
        if self.n < 2.0 {
            0.0
        } else {
            (self.m2 / (self.n - 1.0)).max(0.0)
        }
    }
}

fn validate(params: &MsprtParams) -> Result<(), StatsError> {
    if !(params.alpha > 0.0 && params.alpha < 1.0) {
        return Err(StatsError::InvalidParameter {
            name: "alpha",
            why: format!("must be in (0, 1), got {}", params.alpha),
        });
    }
    if !(params.margin.is_finite() && params.margin >= 0.0) {
        return Err(StatsError::InvalidParameter {
            name: "margin",
            why: format!("must be a finite number ≥ 0, got {}", params.margin),
        });
    }
    super::fail_margin(params.fail_margin, params.margin)?;
    if let Some(tau) = params.tau
        && !(tau.is_finite() && tau > 0.0)
    {
        return Err(StatsError::InvalidParameter {
            name: "tau",
            why: format!("must be a finite number > 0, got {tau}"),
        });
    }
    Ok(())
}

/// Canary and baseline values in time order (index i of each arm is the i-th interval).
///
/// Every prefix t ≥ burn-in is a look: d_t = x̄ − ȳ, I_t = 1/(s_x²/t + s_y²/t). With
/// `harm = increase` (or `decrease`) the e-process is Howard's one-sided mixture for "canary
/// mean above (below) baseline mean" and the confidence sequence is the pair of one-sided
/// bounds at α each; with `either` it is the two-sided mixture and its CS. The CS reported is
/// the running intersection over all looks. Fail when the CS's harm-side bound lies beyond
/// `fail_margin · |ȳ over the burn-in|` (issue 16, defect 5; fixed at the first look so a
/// Fail is never taken back; with `fail_margin: 0` that is exactly "the e-process ever
/// reached 1/α", as the bound is where the process shifted by it crosses); Pass
/// when the harm-side CS bound lies inside `margin · |ȳ|`; else Inconclusive.
/// `p_value = min(1, 1/max e)`, `e_value` is the e-value at the last look, `extra` holds
/// `e_max`, `tau`, `first_fail_look` (1-based interval, when failed) and more.
///
/// Values near the ends of the f64 range (|v| ≈ 1e300, whose squares overflow) are divided by
/// a power of two first and the quantities on the metric's scale (means, effect, interval,
/// τ, margin) multiplied back; the e-process is scale-free, so nothing else changes.
///
/// The running intersection of a valid confidence sequence is empty only with probability
/// ≤ α under the model (Howard et al. 2021, §3): when it happens the report says so in
/// `reason` and `extra.cs_empty_look`, shows the last look's own interval instead of an
/// inverted one (`ci_low ≤ ci_high` always), and never passes.
pub fn compare(
    canary: &[f64],
    baseline: &[f64],
    params: &MsprtParams,
) -> Result<Decision, StatsError> {
    validate(params)?;
    check_finite("canary", canary)?;
    check_finite("baseline", baseline)?;
    if canary.len() != baseline.len() {
        return Err(StatsError::LengthMismatch {
            canary: canary.len(),
            baseline: baseline.len(),
        });
    }
    let scale = super::power_of_two_scale(canary.iter().chain(baseline).copied());
    if scale == 1.0 {
        return compare_scaled(canary, baseline, params);
    }
    let x: Vec<f64> = canary.iter().map(|v| v / scale).collect();
    let y: Vec<f64> = baseline.iter().map(|v| v / scale).collect();
    let scaled_params = MsprtParams {
        tau: params.tau.map(|t| t / scale),
        ..params.clone()
    };
    let mut d = compare_scaled(&x, &y, &scaled_params)?;
    let back = |v: &mut Option<f64>| *v = v.map(|v| v * scale);
    back(&mut d.effect);
    back(&mut d.ci_low);
    back(&mut d.ci_high);
    for key in [
        "tau",
        "mean_canary",
        "mean_baseline",
        "margin_abs",
        "fail_band",
    ] {
        if let Some(v) = d.extra.get_mut(key) {
            *v *= scale;
        }
    }
    if let Some(v) = d.extra.get_mut("information") {
        *v /= scale * scale;
    }
    d.extra.insert("input_scale".into(), scale);
    Ok(d)
}

/// [`compare`] on inputs whose squares do not overflow.
fn compare_scaled(
    canary: &[f64],
    baseline: &[f64],
    params: &MsprtParams,
) -> Result<Decision, StatsError> {
    let n = canary.len();
    let burn = params.burn_in.max(2);
    let mut decision = Decision::new("msprt", Verdict::Inconclusive, "");
    decision.n_canary = n as u64;
    decision.n_baseline = n as u64;
    if n < burn {
        decision.reason =
            format!("{n} of the {burn} points per arm needed before the first look (burn-in)");
        return Ok(decision);
    }

    let tau = match params.tau {
        Some(t) => t,
        None => default_tau(&canary[..burn], &baseline[..burn], params.margin),
    };
    let alpha = params.alpha;
    let fail_margin = super::fail_margin(params.fail_margin, params.margin)?;
    // Fixed before the first look, like τ, so the fail rule is sticky: the running bounds only
    // tighten, so once harm beyond this band is shown it stays shown.
    let burn_mean = baseline[..burn].iter().sum::<f64>() / burn as f64;
    let fail_band = fail_margin * burn_mean.abs();

    let mut wx = Welford::default();
    let mut wy = Welford::default();
    let mut log_e = 0.0_f64;
    let mut log_e_max = 0.0_f64;
    let mut first_fail: Option<usize> = None;
    let mut lo_star = f64::NEG_INFINITY;
    let mut hi_star = f64::INFINITY;
    let mut last: Option<(f64, f64, f64)> = None; // (d, I, radius) at the last informative look
    let mut empty_at: Option<usize> = None; // first look at which lo* > hi*
    let mut looks = 0usize;
    let mut z_prev: Option<f64> = None; // root of the previous look's one-sided radius
    for t in 1..=n {
        wx.push(canary[t - 1]);
        wy.push(baseline[t - 1]);
        if t < burn {
            continue;
        }
        let var_d = wx.var() / t as f64 + wy.var() / t as f64;
        if var_d <= 0.0 || !var_d.is_finite() {
            // Both arms constant so far: the plug-in variance gives no scale, so this look
            // adds no evidence and leaves the CS as it is.
            continue;
        }
        let info = 1.0 / var_d;
        let d = wx.mean - wy.mean;
        // Small looks: the studentized difference d·√I is Student-t rather than normal, so it
        // is mapped to the normal score with the same tail probability before it enters the
        // normal-mixture e-value (and the radius mapped back the same way).
        let df = (t < SMALL_SAMPLE_LOOKS).then(|| welch_df(wx.var(), wy.var(), t));
        let sqrt_info = info.sqrt();
        let d_eff = match df {
            Some(nu) => t_to_normal_score(d * sqrt_info, nu) / sqrt_info,
            None => d,
        };
        let mut one_sided_radius = || {
            let (radius, z) = radius_one_sided_from(info, tau, alpha, z_prev);
            z_prev = Some(z);
            radius
        };
        let (le, radius) = match params.harm {
            Harm::Increase => (log_e_one_sided(d_eff, info, tau), one_sided_radius()),
            Harm::Decrease => (log_e_one_sided(-d_eff, info, tau), one_sided_radius()),
            Harm::Either => (
                log_e_two_sided(d_eff, info, tau),
                radius_two_sided(info, tau, alpha),
            ),
        };
        let radius = match df {
            Some(nu) => normal_score_to_t(radius * sqrt_info, nu) / sqrt_info,
            None => radius,
        };
        looks += 1;
        log_e = le;
        if le > log_e_max {
            log_e_max = le;
        }
        lo_star = lo_star.max(d - radius);
        hi_star = hi_star.min(d + radius);
        if first_fail.is_none() && harm_shown(params.harm, lo_star, hi_star, fail_band) {
            first_fail = Some(t);
        }
        if empty_at.is_none() && lo_star > hi_star {
            empty_at = Some(t);
        }
        last = Some((d, info, radius));
    }

    let mean_b = wy.mean;
    let margin_abs = params.margin * mean_b.abs();
    decision.extra.insert("fail_band".into(), fail_band);
    decision.e_value = Some(log_e.min(700.0).exp());
    decision.p_value = Some((-log_e_max).exp().min(1.0));
    decision
        .extra
        .insert("e_max".into(), log_e_max.min(700.0).exp());
    decision.extra.insert("tau".into(), tau);
    decision.extra.insert("mean_canary".into(), wx.mean);
    decision.extra.insert("mean_baseline".into(), mean_b);
    decision.extra.insert("margin_abs".into(), margin_abs);
    decision.extra.insert("looks".into(), looks as f64);
    let Some((d, info, radius)) = last else {
        decision.reason = "both arms constant so far: no variance estimate, no evidence".into();
        return Ok(decision);
    };
    decision.effect = Some(d);
    decision.statistic = Some(d * info.sqrt());
    decision.extra.insert("information".into(), info);
    // An empty running intersection is a ≤ α event of the confidence sequence: report it and
    // show the last look's own interval, which is never inverted.
    let empty_note = match empty_at {
        Some(look) => {
            decision.extra.insert("cs_empty_look".into(), look as f64);
            // Both one-sided bounds (and the two-sided CS) use the same radius at a look.
            lo_star = d - radius;
            hi_star = d + radius;
            format!(
                "; the running intersection of the confidence sequence became empty at look {look} (an event of probability ≤ α if the arms are stationary: the difference moved), so the interval shown is the last look's own and no pass is given"
            )
        }
        None => String::new(),
    };
    decision.ci_low = lo_star.is_finite().then_some(lo_star);
    decision.ci_high = hi_star.is_finite().then_some(hi_star);

    let side = match params.harm {
        Harm::Increase => "above",
        Harm::Decrease => "below",
        Harm::Either => "outside",
    };
    if let Some(look) = first_fail {
        decision.verdict = Verdict::Fail;
        decision.extra.insert("first_fail_look".into(), look as f64);
        decision.reason = format!(
            "harm beyond the fail band ±{fail_band:.4} (fail_margin {fail_margin}) shown: the confidence sequence [{lo_star:.4}, {hi_star:.4}] for canary − baseline mean lies {side} it, first at look {look} (max e = {:.3e} against no difference)",
            log_e_max.min(700.0).exp()
        );
        decision.reason.push_str(&empty_note);
        return Ok(decision);
    }
    let pass = empty_at.is_none()
        && match params.harm {
            Harm::Increase => hi_star < margin_abs,
            Harm::Decrease => lo_star > -margin_abs,
            Harm::Either => hi_star < margin_abs && lo_star > -margin_abs,
        };
    if pass {
        decision.verdict = Verdict::Pass;
        decision.reason = format!(
            "confidence sequence [{lo_star:.4}, {hi_star:.4}] for canary − baseline mean is inside the margin ±{margin_abs:.4}"
        );
    } else {
        decision.reason = format!(
            "neither harm beyond the fail band ±{fail_band:.4} (fail_margin {fail_margin}) nor a difference inside the margin ±{margin_abs:.4} shown: confidence sequence [{lo_star:.4}, {hi_star:.4}] (max e = {:.3} against no difference)",
            log_e_max.exp()
        );
    }
    decision.reason.push_str(&empty_note);
    Ok(decision)
}

/// Whether running bounds [lo, hi] of canary − baseline show harm beyond `band` (≥ 0).
fn harm_shown(harm: Harm, lo: f64, hi: f64, band: f64) -> bool {
    match harm {
        Harm::Increase => lo > band,
        Harm::Decrease => hi < -band,
        Harm::Either => lo > band || hi < -band,
    }
}

/// Default mixture scale τ from the burn-in points only, so it is fixed before the first look.
/// Symmetric in the arms, so swapping canary and baseline mirrors the result.
pub(crate) fn default_tau(canary: &[f64], baseline: &[f64], margin: f64) -> f64 {
    let mut wx = Welford::default();
    let mut wy = Welford::default();
    canary.iter().for_each(|&v| wx.push(v));
    baseline.iter().for_each(|&v| wy.push(v));
    let centre = 0.5 * (wx.mean + wy.mean);
    let mde = margin * centre.abs();
    if mde > 0.0 && mde.is_finite() {
        return mde;
    }
    let sd = (0.5 * (wx.var() + wy.var())).sqrt();
    if sd > 0.0 && sd.is_finite() { sd } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sided_radius_solves_boundary() {
        let (info, tau, alpha) = (3.0, 0.7, 0.05);
        let u = radius_one_sided(info, tau, alpha);
        let le = log_e_one_sided(u, info, tau);
        assert!((le - (1.0 / alpha).ln()).abs() < 1e-10, "{le}");
    }

    #[test]
    fn warm_started_radius_matches_bracketed_solve() {
        let alpha = 0.05_f64;
        for &(info, tau) in &[(0.01_f64, 0.3_f64), (3.0, 0.7), (1e4, 2.0), (1e9, 0.05)] {
            let rho = 1.0 / (tau * tau);
            let vr = info + rho;
            let c = (1.0 / alpha).ln() - 0.5 * (4.0 * rho / vr).ln();
            let hi = (2.0 * (c + std::f64::consts::LN_2)).sqrt() + 1.0;
            let z_ref = solve_increasing(|z| 0.5 * z * z + log_ndtr(z) - c, 0.0, hi, 1e-15);
            for start in [
                None,
                Some(1e-3),
                Some(z_ref * 0.5),
                Some(z_ref * 1.5),
                Some(50.0),
            ] {
                let (r, z) = radius_one_sided_from(info, tau, alpha, start);
                assert!(
                    (z - z_ref).abs() <= 2e-15 * z_ref,
                    "{info} {tau} {start:?}: {z} {z_ref}"
                );
                let r_ref = z_ref * vr.sqrt() / info;
                assert!((r - r_ref).abs() <= 4e-15 * r_ref, "{r} {r_ref}");
            }
        }
    }

    #[test]
    fn two_sided_radius_solves_boundary() {
        let (info, tau, alpha) = (3.0, 0.7, 0.05);
        let u = radius_two_sided(info, tau, alpha);
        let le = log_e_two_sided(u, info, tau);
        assert!((le - (1.0 / alpha).ln()).abs() < 1e-10, "{le}");
    }

    #[test]
    fn log_ndtr_is_continuous_across_branches() {
        for z in [-30.0f64, 5.0] {
            let a = log_ndtr(z - 1e-9);
            let b = log_ndtr(z + 1e-9);
            assert!((a - b).abs() < 1e-6 * a.abs().max(1e-12), "{z}: {a} {b}");
        }
    }

    #[test]
    fn clear_shift_fails_and_tiny_noise_passes() {
        let base: Vec<f64> = (0..60).map(|i| 100.0 + ((i * 7) % 5) as f64).collect();
        let bad: Vec<f64> = base.iter().map(|v| v + 20.0).collect();
        let d = compare(&bad, &base, &MsprtParams::default()).unwrap();
        assert_eq!(d.verdict, Verdict::Fail);
        let same: Vec<f64> = (0..60).map(|i| 100.0 + ((i * 3) % 5) as f64).collect();
        let d = compare(&same, &base, &MsprtParams::default()).unwrap();
        assert_eq!(d.verdict, Verdict::Pass, "{}", d.reason);
    }

    #[test]
    fn bad_input_is_an_error() {
        let p = MsprtParams::default();
        assert!(matches!(
            compare(&[1.0, f64::NAN], &[1.0, 2.0], &p),
            Err(StatsError::NonFinite {
                arm: "canary",
                index: 1
            })
        ));
        assert!(matches!(
            compare(&[1.0], &[1.0, 2.0], &p),
            Err(StatsError::LengthMismatch { .. })
        ));
    }
}
