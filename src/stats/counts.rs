//! Sequential count test for errors against traffic (method `count-sequential`): Beta mixture
//! for a constant traffic share, grid-mixture e-process for a share that changes per interval,
//! and a rate-ratio confidence sequence for Pass (`ratio_cs`).
//!
//! Conditioning on the total number of events, each event is the canary's with probability
//! q(r) = rπ/(rπ + 1 − π), where π is the canary's traffic share and r the rate ratio
//! (Lindon & Malek, NeurIPS'22, arXiv 2011.03567; `statistics.md` §2.3, §3.1, §6.2(e)). Every
//! prefix of the series is a look and a rejection is "ever crossed 1/α" (Ville), so the answer
//! is the same whenever it is asked and needs no stored state.

use super::ratio_cs::{self, RatioCell, RunningInterval};
use super::{Decision, StatsError, Verdict};
use serde::{Deserialize, Serialize};

/// One arm's events (e.g. 5xx responses) and traffic (requests) per disjoint interval.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CountSeries {
    /// Events per interval.
    pub events: Vec<f64>,
    /// Traffic per interval (same length as `events`).
    pub traffic: Vec<f64>,
}

/// Parameters of the count test (defaults in `statistics.md` §6.2(e)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CountParams {
    /// Anytime-valid significance level.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Pass when the rate-ratio upper bound is below 1 + margin.
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Fail only when a rate ratio above 1 + fail_margin is shown: the Fail e-process tests
    /// H0: r ≤ 1 + fail_margin. `None` (the default) uses `margin` (see
    /// [`super::fail_margin`]); 0 fails on any shown increase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_margin: Option<f64>,
    /// Fixed canary traffic share ρ (Beta-mixture test); `None` uses the per-interval share.
    #[serde(default)]
    pub share: Option<f64>,
    /// Prior concentration k of the Beta mixture.
    #[serde(default = "default_k")]
    pub prior_strength: f64,
    /// Events needed (both arms together) before a Pass.
    #[serde(default = "default_min_events")]
    pub min_events: f64,
    /// Requests needed per arm before any verdict.
    #[serde(default = "default_min_requests")]
    pub min_requests: f64,
    /// Absolute error-rate floor: the canary also passes when an anytime-valid upper bound on
    /// its own rate (events / traffic) is below this, whatever the baseline shows. This is
    /// what lets a clean canary pass when neither arm has errors (no ratio can be estimated
    /// from no events). 0 turns the rule off. Default 10⁻⁴ (one error in 10 000 requests):
    /// with no errors a canary passes after 30 000 to 44 000 requests at α = 0.05.
    #[serde(default = "default_min_rate")]
    pub min_rate: f64,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_margin() -> f64 {
    0.2
}
fn default_k() -> f64 {
    100.0
}
fn default_min_events() -> f64 {
    1.0
}
fn default_min_requests() -> f64 {
    100.0
}
fn default_min_rate() -> f64 {
    1e-4
}

impl Default for CountParams {
    fn default() -> Self {
        CountParams {
            alpha: default_alpha(),
            margin: default_margin(),
            fail_margin: None,
            share: None,
            prior_strength: default_k(),
            min_events: default_min_events(),
            min_requests: default_min_requests(),
            min_rate: default_min_rate(),
        }
    }
}

/// Rate-ratio alternatives of the grid mixtures (statistics.md §6.2(e)), equal weights.
pub const RATIO_GRID: [f64; 7] = [1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0];

/// Largest count accepted per interval and in total, 2^53: above it a double no longer holds
/// every integer, totals lose events silently and `n_canary` (a u64) would saturate; such
/// input is rejected with a clear error rather than judged on rounded numbers.
pub const MAX_EXACT_COUNT: f64 = 9_007_199_254_740_992.0;

/// Alternatives γ·p0 of the rate-floor e-process (γ = 0 is "no errors at all").
const FLOOR_GRID: [f64; 4] = [0.0, 0.1, 0.25, 0.5];

/// log e-value against H0: "the canary's error rate is at least p0", from its totals (E events
/// in N requests): the equal-weight mixture over γ ∈ [`FLOOR_GRID`] of the binomial likelihood
/// ratios (γp0/p0)^E·((1 − γp0)/(1 − p0))^(N−E). Each ratio has mean ≤ 1 per request under
/// every rate p ≥ p0 (it is 1 at p0 and decreases in p), so the mixture is a nonnegative
/// supermartingale under H0 and Ville's inequality makes "≥ 1/α" an anytime-valid rejection
/// (the same construction as the rate-ratio mixtures, `docs/statistics.md`).
pub(crate) fn log_e_rate_below(events: f64, requests: f64, p0: f64) -> f64 {
    log_e_rate_below_and_slope(events, requests, p0).0
}

/// [`log_e_rate_below`] and its derivative in log p0 (the weighted mean of the components'
/// derivatives rest·p0·(1/(1 − p0) − γ/(1 − γp0)), weights ∝ each component's e-value).
fn log_e_rate_below_and_slope(events: f64, requests: f64, p0: f64) -> (f64, f64) {
    let rest = (requests - events).max(0.0);
    let log_null = (-p0).ln_1p();
    let null_slope = p0 / (1.0 - p0);
    let mut terms = [0.0; FLOOR_GRID.len()];
    let mut slopes = [0.0; FLOOR_GRID.len()];
    for ((t, d), &g) in terms.iter_mut().zip(&mut slopes).zip(&FLOOR_GRID) {
        if g == 0.0 {
            *t = if events > 0.0 {
                f64::NEG_INFINITY
            } else {
                -rest * log_null
            };
            *d = rest * null_slope;
        } else {
            *t = events * g.ln() + rest * ((-g * p0).ln_1p() - log_null);
            *d = rest * (null_slope - g * p0 / (1.0 - g * p0));
        }
    }
    // log_sum_exp_mean, with the same weights for the slope.
    let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return (m, 0.0);
    }
    let (mut total, mut slope) = (0.0, 0.0);
    for (t, d) in terms.iter().zip(&slopes) {
        let w = (t - m).exp();
        total += w;
        if w > 0.0 {
            slope += w * d;
        }
    }
    (m + (total / terms.len() as f64).ln(), slope / total)
}

/// Anytime-valid upper bound on the canary's error rate at the current look: the smallest p0
/// whose [`log_e_rate_below`] reaches log(1/α) (the e-value increases in p0), to 10⁻¹² in
/// log p0 by a safeguarded Newton search in log p0 from a Poisson-type first guess (bisection
/// when a step leaves the bracket); 1 when even p0 → 1 is not rejected. The bound returned is
/// always a rejected p0.
pub(crate) fn rate_upper_bound(events: f64, requests: f64, log_threshold: f64) -> f64 {
    let rejects = |p0: f64| log_e_rate_below(events, requests, p0) >= log_threshold;
    let (mut lo, mut hi) = (1e-300_f64.ln(), (1.0 - 1e-12_f64).ln());
    if !rejects(hi.exp()) {
        return 1.0;
    }
    if rejects(lo.exp()) {
        return lo.exp();
    }
    let at = |x: f64| {
        let (e, s) = log_e_rate_below_and_slope(events, requests, x.exp());
        (e - log_threshold, s)
    };
    // One component alone reaches 1/α near E + a + √(2Ea) events, a = log(K/α).
    let a = log_threshold + (FLOOR_GRID.len() as f64).ln();
    let guess = ((events + a + (2.0 * events * a).sqrt()) / requests).ln();
    let mut x = if guess > lo && guess < hi {
        guess
    } else {
        0.5 * (lo + hi)
    };
    for _ in 0..200 {
        let (g, slope) = at(x);
        if g >= 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        if hi - lo < 1e-12 {
            break;
        }
        let step = if slope > 0.0 { -g / slope } else { f64::NAN };
        if g >= 0.0 && step.abs() < 0.5e-12 {
            // Newton's step from the rejected end is below the tolerance.
            break;
        }
        // Aim a little past the root so that near it the point lands on the rejected side.
        let next = x + step + 0.25e-12;
        x = if next > lo && next < hi {
            next
        } else {
            0.5 * (lo + hi)
        };
    }
    hi.exp()
}

/// One interval after validation: canary events, baseline events, canary share under H0.
#[derive(Debug, Clone, Copy)]
struct Cell {
    ec: f64,
    eb: f64,
    pi: f64,
}

fn log_sum_exp_mean(values: &[f64]) -> f64 {
    let m = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    let s: f64 = values.iter().map(|v| (v - m).exp()).sum();
    m + (s / values.len() as f64).ln()
}

/// log of the per-interval likelihood ratio of rate ratio `r` against `r0` for the canary's
/// share of the interval's events (binomial in q(r), statistics.md §3.1):
/// e_c·log(r/r0) − e·log((rπ + 1 − π)/(r0π + 1 − π)).
fn log_lr(cell: &Cell, r: f64, r0: f64) -> f64 {
    let e = cell.ec + cell.eb;
    if e == 0.0 {
        return 0.0;
    }
    let mut out = 0.0;
    if cell.ec > 0.0 {
        out += cell.ec * (r / r0).ln();
    }
    out - e * ((r * cell.pi + 1.0 - cell.pi) / (r0 * cell.pi + 1.0 - cell.pi)).ln()
}

// The grid-mixture e-processes for H0: r ≤ r0 (`upper = true`, alternatives r0·g) and
// H0: r ≥ r0 (`upper = false`, alternatives r0/g) are equal-weight averages over
// RATIO_GRID of products of `log_lr`; each product is a nonnegative supermartingale
// under its null because the binomial likelihood ratio is monotone in q.

/// log of the regularized upper incomplete beta Q(a, b; x) = 1 − I_x(a, b), computed in log
/// space by the Lentz continued fraction (Numerical Recipes 6.4 / DLMF 8.17.22) on whichever
/// side converges fast, so tiny tails neither underflow nor cancel (same quantity as
/// scipy.special.betaincc).
pub(crate) fn log_beta_upper(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return f64::NEG_INFINITY;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        // Q(a,b;x) = I_{1−x}(b,a), and the fraction converges fast for 1 − x here.
        log_beta_lower_cf(b, a, 1.0 - x)
    } else {
        (-log_beta_lower_cf(a, b, x).exp()).ln_1p()
    }
}

/// log I_x(a, b) by the continued fraction; accurate when x < (a+1)/(a+b+2).
fn log_beta_lower_cf(a: f64, b: f64, x: f64) -> f64 {
    let log_front = a * x.ln() + b * (-x).ln_1p() - statrs::function::beta::ln_beta(a, b) - a.ln();
    let h = super::special::beta_continued_fraction(a, b, x);
    log_front + h.ln()
}

/// One-sided Beta-mixture log e-value for a constant canary share ρ against the canary's
/// event share θ0 (θ0 = ρ for "rate ratio ≤ 1", q(1 + fail_margin) in general): the
/// Lindon–Malek Beta(kρ, k(1−ρ)) prior restricted to θ > θ0 (statistics.md §6.2(e)),
/// BF = [B(a+E_c, b+E_b)·Q(a+E_c, b+E_b; θ0)] / [B(a, b)·Q(a, b; θ0)] / (θ0^{E_c}(1−θ0)^{E_b}).
/// For every θ ≤ θ0 and θ' ≥ θ0 the one-event likelihood ratio has mean ≤ 1, so this is a
/// nonnegative supermartingale under the composite null "canary share ≤ θ0".
pub(crate) fn log_beta_mixture_one_sided(ec: f64, eb: f64, rho: f64, theta0: f64, k: f64) -> f64 {
    let (a, b) = (k * rho, k * (1.0 - rho));
    use statrs::function::beta::ln_beta;
    let mut out = ln_beta(a + ec, b + eb) - ln_beta(a, b) + log_beta_upper(a + ec, b + eb, theta0)
        - log_beta_upper(a, b, theta0);
    if ec > 0.0 {
        out -= ec * theta0.ln();
    }
    if eb > 0.0 {
        out -= eb * (-theta0).ln_1p();
    }
    out
}

fn validate_params(p: &CountParams) -> Result<(), StatsError> {
    let bad = |name: &'static str, why: String| Err(StatsError::InvalidParameter { name, why });
    if !(p.alpha > 0.0 && p.alpha < 1.0) {
        return bad("alpha", format!("must be in (0, 1), got {}", p.alpha));
    }
    if !(p.margin.is_finite() && p.margin >= 0.0) {
        return bad(
            "margin",
            format!("must be a finite number ≥ 0, got {}", p.margin),
        );
    }
    super::fail_margin(p.fail_margin, p.margin)?;
    if let Some(s) = p.share
        && !(s > 0.0 && s < 1.0)
    {
        return bad("share", format!("must be in (0, 1), got {s}"));
    }
    if !(p.prior_strength.is_finite() && p.prior_strength > 0.0) {
        return bad(
            "prior_strength",
            format!("must be a finite number > 0, got {}", p.prior_strength),
        );
    }
    if !(p.min_events.is_finite() && p.min_events >= 0.0) {
        return bad(
            "min_events",
            format!("must be finite and ≥ 0, got {}", p.min_events),
        );
    }
    if !(p.min_rate.is_finite() && (0.0..1.0).contains(&p.min_rate)) {
        return bad(
            "min_rate",
            format!("must be a finite number in [0, 1), got {}", p.min_rate),
        );
    }
    if !(p.min_requests.is_finite() && p.min_requests >= 0.0) {
        return bad(
            "min_requests",
            format!("must be finite and ≥ 0, got {}", p.min_requests),
        );
    }
    Ok(())
}

fn validate_arm(arm: &'static str, s: &CountSeries) -> Result<(), StatsError> {
    let (events_name, traffic_name) = if arm == "canary" {
        ("canary.events", "canary.traffic")
    } else {
        ("baseline.events", "baseline.traffic")
    };
    if s.events.len() != s.traffic.len() {
        return Err(StatsError::InvalidParameter {
            name: traffic_name,
            why: format!(
                "has {} intervals but {events_name} has {}",
                s.traffic.len(),
                s.events.len()
            ),
        });
    }
    super::check_finite(arm, &s.events)?;
    super::check_finite(arm, &s.traffic)?;
    for (i, (&e, &n)) in s.events.iter().zip(&s.traffic).enumerate() {
        if e < 0.0 {
            return Err(StatsError::InvalidParameter {
                name: events_name,
                why: format!("interval {i} has a negative count {e}"),
            });
        }
        if n < 0.0 {
            return Err(StatsError::InvalidParameter {
                name: traffic_name,
                why: format!("interval {i} has a negative count {n}"),
            });
        }
        if e > MAX_EXACT_COUNT || n > MAX_EXACT_COUNT {
            return Err(StatsError::InvalidParameter {
                name: if e > MAX_EXACT_COUNT {
                    events_name
                } else {
                    traffic_name
                },
                why: format!(
                    "interval {i} has a count of {} above 2^53 = {MAX_EXACT_COUNT:.0}, the largest a double holds exactly",
                    e.max(n)
                ),
            });
        }
        if n < e {
            return Err(StatsError::InvalidParameter {
                name: traffic_name,
                why: format!("interval {i} has traffic {n} below its {e} events"),
            });
        }
    }
    Ok(())
}

/// Compare canary and baseline event counts, interval by interval.
///
/// Fail test (H0: rate ratio ≤ 1 + fail_margin, issue 16 defect 5; fail_margin defaults to
/// `margin`): with `share = Some(ρ)` the one-sided Lindon–Malek Beta mixture on cumulative
/// counts against the event share q(1 + fail_margin); with `share = None` the grid mixture
/// over r = (1 + fail_margin)·g, g ∈ [`RATIO_GRID`], of per-interval likelihood ratios with
/// π_i = n_c,i/(n_c,i + n_b,i). `e_value`/`p_value` are this test's.
/// Rate-ratio confidence sequence ([`ratio_cs`]): r_U is the smallest r0 whose Bennett
/// ladder-mixture e-process for H0: r ≥ r0 reached 1/α at an anchored look, r_L the largest
/// r0 whose process for H0: r ≤ r0 did; running min / max over the anchored looks (every
/// look with a fixed share). Its width shrinks like 1/√events, with no floor from a grid.
/// Fail when the e-process ever reached 1/α (and both arms have `min_requests`); Pass when
/// r_U < 1 + margin with at least `min_events` events; else Inconclusive.
/// `effect` is the rate ratio (canary rate / baseline rate), `ci_low`/`ci_high` are r_L/r_U.
pub fn compare(
    canary: &CountSeries,
    baseline: &CountSeries,
    params: &CountParams,
) -> Result<Decision, StatsError> {
    let Scan {
        n,
        ec_tot,
        eb_tot,
        nc_tot,
        nb_tot,
        log_e,
        log_e_max,
        first_fail,
        r_upper,
        r_lower,
        empty_at,
    } = scan(canary, baseline, params, true)?;
    let alpha = params.alpha;

    let mut decision = Decision::new("count-sequential", Verdict::Inconclusive, "");
    decision.n_canary = ec_tot.round() as u64;
    decision.n_baseline = eb_tot.round() as u64;
    decision.e_value = Some(log_e.min(700.0).exp());
    decision.p_value = Some((-log_e_max).exp().min(1.0));
    let ratio = match params.share {
        Some(rho) => (ec_tot / rho) / (eb_tot / (1.0 - rho)),
        None => (ec_tot / nc_tot) / (eb_tot / nb_tot),
    };
    decision.effect = ratio.is_finite().then_some(ratio);
    decision.ci_low = Some(r_lower);
    decision.ci_high = r_upper.is_finite().then_some(r_upper);
    let x = &mut decision.extra;
    x.insert("e_max".into(), log_e_max.min(700.0).exp());
    x.insert("events_canary".into(), ec_tot);
    x.insert("events_baseline".into(), eb_tot);
    x.insert("requests_canary".into(), nc_tot);
    x.insert("requests_baseline".into(), nb_tot);
    x.insert("intervals".into(), n as f64);
    if let Some(rho) = params.share {
        x.insert("share".into(), rho);
    }
    if let Some(look) = first_fail {
        x.insert("first_fail_look".into(), look as f64);
    }
    // An empty running intersection is a ≤ α event of a valid confidence sequence (the ratio
    // moved during the rollout): say so, show the last look's own interval, never pass.
    let empty_note = match empty_at {
        Some(look) => {
            x.insert("cs_empty_look".into(), look as f64);
            format!(
                "; the running intersection of the rate-ratio confidence sequence became empty at interval {look} (probability ≤ α if the ratio is constant: it moved), so the interval shown is the last look's own and no pass is given"
            )
        }
        None => String::new(),
    };

    let ratio_text = match decision.effect {
        Some(r) => format!("{r:.3}"),
        None => "undefined".into(),
    };
    if nc_tot < params.min_requests || nb_tot < params.min_requests {
        decision.reason = format!(
            "too little traffic: {nc_tot} canary and {nb_tot} baseline requests, {} per arm needed",
            params.min_requests
        );
        return Ok(decision);
    }
    if let Some(look) = first_fail {
        decision.verdict = Verdict::Fail;
        let fail_margin = super::fail_margin(params.fail_margin, params.margin)?;
        decision.reason = format!(
            "canary error rate above baseline beyond the fail margin: the e-value against rate ratio ≤ 1 + fail_margin = {:.3} reached 1/α = {:.1} by interval {look} (rate ratio {ratio_text}, confidence sequence lower bound {r_lower:.3})",
            1.0 + fail_margin,
            1.0 / alpha
        );
        if r_lower <= 1.0 + fail_margin {
            // Two procedures, each valid at α on its own (statistics.md, "A count-test Fail
            // whose interval reaches below the fail band"): say so rather than look
            // contradictory.
            decision.reason.push_str(&format!(
                "; the lower bound is not above {:.3} because the fail test and the interval are separate procedures (the e-process weighs the evidence against 1 + fail_margin directly, the interval comes from its own confidence sequence)",
                1.0 + fail_margin
            ));
        }
        decision.reason.push_str(&empty_note);
        return Ok(decision);
    }
    // Rate floor: pass on the canary's own anytime-valid rate bound when it is below
    // `min_rate` (issue 16, defect 3: with no events no ratio can ever be shown).
    let log_threshold = (1.0 / alpha).ln();
    let rate_upper = rate_upper_bound(ec_tot, nc_tot, log_threshold);
    decision
        .extra
        .insert("rate_upper_canary".into(), rate_upper);
    let floor_pass = params.min_rate > 0.0
        && empty_at.is_none()
        && log_e_rate_below(ec_tot, nc_tot, params.min_rate) >= log_threshold;
    let floor_text = format!(
        "rule: absolute floor — the canary's error-rate upper bound {rate_upper:.3e} is below min_rate = {:e}",
        params.min_rate
    );
    if ec_tot + eb_tot == 0.0 {
        if floor_pass {
            decision.verdict = Verdict::Pass;
            decision.reason = format!("no events in either arm; {floor_text}");
        } else {
            decision.reason = format!(
                "no events in either arm yet: e-value 1, no rate ratio to judge, and the canary's error-rate upper bound {rate_upper:.3e} is not yet below min_rate = {:e}",
                params.min_rate
            );
        }
        return Ok(decision);
    }
    let limit = 1.0 + params.margin;
    if empty_at.is_some() {
        decision.reason = format!("no rejection yet (max e = {:.3})", log_e_max.exp());
    } else if ec_tot + eb_tot >= params.min_events && r_upper < limit {
        decision.verdict = Verdict::Pass;
        decision.reason = format!(
            "rule: rate ratio — rate-ratio upper bound {r_upper:.3} is below 1 + margin = {limit:.3} (rate ratio {ratio_text})"
        );
    } else if floor_pass {
        decision.verdict = Verdict::Pass;
        decision.reason = format!("{floor_text} (rate ratio {ratio_text})");
    } else if ec_tot + eb_tot < params.min_events {
        decision.reason = format!(
            "{} events so far, {} needed before a pass",
            ec_tot + eb_tot,
            params.min_events
        );
    } else {
        decision.reason = format!(
            "no rejection yet (max e = {:.3}) and the rate-ratio upper bound {} is not below {limit:.3}",
            log_e_max.exp(),
            if r_upper.is_finite() {
                format!("{r_upper:.3}")
            } else {
                "∞".into()
            }
        );
        let fail_line = 1.0 + super::fail_margin(params.fail_margin, params.margin)?;
        let forecast = super::forecast::ratio_forecast(&super::forecast::RatioState {
            estimate: ratio,
            low: r_lower,
            high: r_upper,
            pass_below: limit,
            fail_above: fail_line,
            intervals: n,
            events: ec_tot + eb_tot,
        });
        if let Some(f) = forecast {
            let per_interval = (nc_tot + nb_tot) / n.max(1) as f64;
            let (word, flag) = match f.target {
                super::forecast::ForecastTarget::Pass => ("pass inside the margin", 1.0),
                super::forecast::ForecastTarget::Fail => ("fail beyond the fail margin", 0.0),
            };
            decision
                .extra
                .insert("forecast_more_intervals".into(), f.more_intervals as f64);
            decision.extra.insert("forecast_pass".into(), flag);
            decision
                .extra
                .insert("requests_per_interval".into(), per_interval);
            decision.reason.push_str(&format!(
                "; needs ≈ {} more intervals at {per_interval:.0} requests per interval to {word} if the rate ratio stays at {ratio_text}",
                f.more_intervals
            ));
        }
    }
    decision.reason.push_str(&empty_note);
    Ok(decision)
}

/// Everything one pass over the intervals produces.
struct Scan {
    n: usize,
    ec_tot: f64,
    eb_tot: f64,
    nc_tot: f64,
    nb_tot: f64,
    log_e: f64,
    log_e_max: f64,
    first_fail: Option<usize>,
    r_upper: f64,
    r_lower: f64,
    /// First look at which the running intersection r_L ≤ r ≤ r_U became empty.
    empty_at: Option<usize>,
}

/// The e-process of [`compare`] without the rate-ratio confidence sequence: what a caller (or
/// a benchmark against a vectorised numpy e-process) needs when only the Fail side matters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CountEProcess {
    /// e-value at the last look (capped at e^700).
    pub e_value: f64,
    /// Largest e-value over all looks (capped at e^700).
    pub e_max: f64,
    /// Anytime-valid p-value min(1, 1/e_max).
    pub p_value: f64,
    /// Rate ratio (canary rate / baseline rate); NaN when undefined.
    pub rate_ratio: f64,
    /// First 1-based interval at which the e-process reached 1/α with enough traffic.
    pub first_fail_look: Option<usize>,
}

/// The Fail-side e-process of [`compare`] alone (same validation, same numbers for
/// `e_value`, `p_value` and the ratio), skipping the confidence-bound tracking that dominates
/// `compare`'s cost on long series.
pub fn e_process(
    canary: &CountSeries,
    baseline: &CountSeries,
    params: &CountParams,
) -> Result<CountEProcess, StatsError> {
    let sc = scan(canary, baseline, params, false)?;
    let rate_ratio = match params.share {
        Some(rho) => (sc.ec_tot / rho) / (sc.eb_tot / (1.0 - rho)),
        None => (sc.ec_tot / sc.nc_tot) / (sc.eb_tot / sc.nb_tot),
    };
    Ok(CountEProcess {
        e_value: sc.log_e.min(700.0).exp(),
        e_max: sc.log_e_max.min(700.0).exp(),
        p_value: (-sc.log_e_max).exp().min(1.0),
        rate_ratio,
        first_fail_look: sc.first_fail,
    })
}

fn scan(
    canary: &CountSeries,
    baseline: &CountSeries,
    params: &CountParams,
    with_bounds: bool,
) -> Result<Scan, StatsError> {
    validate_params(params)?;
    validate_arm("canary", canary)?;
    validate_arm("baseline", baseline)?;
    if canary.events.len() != baseline.events.len() {
        return Err(StatsError::LengthMismatch {
            canary: canary.events.len(),
            baseline: baseline.events.len(),
        });
    }
    let n = canary.events.len();
    let alpha = params.alpha;
    let log_threshold = (1.0 / alpha).ln();
    // The Fail test's null: rate ratio ≤ r_fail (issue 16, defect 5).
    let r_fail = 1.0 + super::fail_margin(params.fail_margin, params.margin)?;
    for (arm, s) in [("canary.traffic", canary), ("baseline.traffic", baseline)] {
        let total: f64 = s.traffic.iter().sum();
        if total > MAX_EXACT_COUNT {
            return Err(StatsError::InvalidParameter {
                name: arm,
                why: format!(
                    "totals {total:e} requests, above 2^53 = {MAX_EXACT_COUNT:.0}, the largest count a double holds exactly"
                ),
            });
        }
    }

    // The confidence sequence's view of the intervals (varying share; with a fixed share one
    // aggregate cell says the same, so every look is an anchor at O(1) cost).
    let mut ratio_cells: Vec<RatioCell> = Vec::with_capacity(if with_bounds { n } else { 0 });
    let (mut ec_tot, mut eb_tot, mut nc_tot, mut nb_tot) = (0.0, 0.0, 0.0, 0.0);
    // Incremental grid sums for the Fail process in the varying-share mode (r0 = 1).
    let mut fail_sums = [0.0; RATIO_GRID.len()];
    let mut log_e = 0.0_f64;
    let mut log_e_max = 0.0_f64;
    let mut first_cross: Option<usize> = None;
    let mut first_fail: Option<usize> = None;
    // Rate-ratio bounds (`ratio_cs`): running intersection over the anchored looks.
    let mut interval = RunningInterval::default();
    let mut next_anchor = 1usize;
    for i in 0..n {
        let (ec, eb) = (canary.events[i], baseline.events[i]);
        let (nc, nb) = (canary.traffic[i], baseline.traffic[i]);
        ec_tot += ec;
        eb_tot += eb;
        nc_tot += nc;
        nb_tot += nb;
        let pi = match params.share {
            Some(rho) => rho,
            None if nc + nb > 0.0 => nc / (nc + nb),
            // No traffic at all: no events either (validated), nothing to learn.
            None => 0.5,
        };
        let cell = Cell { ec, eb, pi };

        log_e = match params.share {
            Some(rho) => log_beta_mixture_one_sided(
                ec_tot,
                eb_tot,
                rho,
                r_fail * rho / (r_fail * rho + 1.0 - rho),
                params.prior_strength,
            ),
            None => {
                for (s, g) in fail_sums.iter_mut().zip(RATIO_GRID) {
                    *s += log_lr(&cell, r_fail * g, r_fail);
                }
                log_sum_exp_mean(&fail_sums)
            }
        };
        log_e_max = log_e_max.max(log_e);
        if first_cross.is_none() && log_e >= log_threshold {
            first_cross = Some(i + 1);
        }
        if first_fail.is_none()
            && first_cross.is_some()
            && nc_tot >= params.min_requests
            && nb_tot >= params.min_requests
        {
            first_fail = Some(i + 1);
        }
        if with_bounds {
            let look = i + 1;
            if params.share.is_none() {
                ratio_cells.push(RatioCell {
                    canary_events: ec,
                    events: ec + eb,
                    share: pi,
                });
            }
            let anchored = params.share.is_some() || look == next_anchor || look == n;
            if look == next_anchor {
                next_anchor = ratio_cs::next_anchor(look);
            }
            if anchored && ec_tot + eb_tot > 0.0 {
                match params.share {
                    Some(rho) => interval.anchor(
                        &[RatioCell {
                            canary_events: ec_tot,
                            events: ec_tot + eb_tot,
                            share: rho,
                        }],
                        look,
                        log_threshold,
                    ),
                    None => interval.anchor(&ratio_cells, look, log_threshold),
                }
            }
        }
    }
    let empty_at = interval.empty_at;
    // After an empty running intersection, the last look's own interval (not intersected
    // with earlier looks) is what is shown.
    let own = match empty_at {
        Some(_) => match params.share {
            Some(rho) => ratio_cs::own_interval(
                &[RatioCell {
                    canary_events: ec_tot,
                    events: ec_tot + eb_tot,
                    share: rho,
                }],
                log_threshold,
            ),
            None => ratio_cs::own_interval(&ratio_cells, log_threshold),
        },
        None => (interval.lower, interval.upper),
    };
    Ok(Scan {
        n,
        ec_tot,
        eb_tot,
        nc_tot,
        nb_tot,
        log_e,
        log_e_max,
        first_fail,
        r_upper: own.1,
        r_lower: own.0,
        empty_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(events: &[f64], traffic: &[f64]) -> CountSeries {
        CountSeries {
            events: events.to_vec(),
            traffic: traffic.to_vec(),
        }
    }

    #[test]
    fn incomplete_beta_matches_statrs_in_the_bulk() {
        for (a, b, x) in [(2.0, 3.0, 0.4), (50.0, 30.0, 0.7), (5.0, 95.0, 0.05)] {
            let ours = log_beta_upper(a, b, x).exp();
            let theirs = 1.0 - statrs::function::beta::beta_reg(a, b, x);
            assert!(
                (ours - theirs).abs() < 1e-12,
                "{a} {b} {x}: {ours} {theirs}"
            );
        }
    }

    #[test]
    fn doubled_errors_fail_and_equal_errors_pass() {
        let n = 40;
        let traffic = vec![10_000.0; n];
        let base = vec![100.0; n];
        let bad = vec![200.0; n];
        let p = CountParams::default();
        let d = compare(&series(&bad, &traffic), &series(&base, &traffic), &p).unwrap();
        assert_eq!(d.verdict, Verdict::Fail, "{}", d.reason);
        let d = compare(&series(&base, &traffic), &series(&base, &traffic), &p).unwrap();
        assert_eq!(d.verdict, Verdict::Pass, "{}", d.reason);
        let ru = d.ci_high.unwrap();
        assert!(ru > 1.0 && ru < 1.2, "{ru}");
    }

    #[test]
    fn e_process_alone_matches_compare() {
        let n = 300;
        let tc: Vec<f64> = (0..n).map(|i| 100.0 + (i % 13) as f64).collect();
        let tb: Vec<f64> = (0..n).map(|i| 900.0 + (i % 7) as f64).collect();
        let ec: Vec<f64> = (0..n).map(|i| ((i * 7) % 4) as f64).collect();
        let eb: Vec<f64> = (0..n).map(|i| ((i * 5) % 19) as f64).collect();
        for share in [None, Some(0.1)] {
            let p = CountParams {
                share,
                ..CountParams::default()
            };
            let (c, b) = (series(&ec, &tc), series(&eb, &tb));
            let d = compare(&c, &b, &p).unwrap();
            let e = e_process(&c, &b, &p).unwrap();
            assert_eq!(Some(e.e_value), d.e_value);
            assert_eq!(Some(e.p_value), d.p_value);
            assert_eq!(Some(e.e_max), d.extra.get("e_max").copied());
            assert_eq!(Some(e.rate_ratio), d.effect);
        }
    }

    #[test]
    fn rate_upper_bound_is_the_smallest_rejected_rate() {
        for alpha in [0.01, 0.05, 0.2] {
            let thr = (1.0_f64 / alpha).ln();
            for (events, requests) in [
                (0.0, 1.0),
                (0.0, 40_000.0),
                (1.0, 100.0),
                (3.0, 1e6),
                (120.0, 11_800.0),
                (5e5, 1e6),
                (1e6, 1e6),
                (7.0, 7.0),
            ] {
                let b = rate_upper_bound(events, requests, thr);
                if b >= 1.0 {
                    assert!(log_e_rate_below(events, requests, 1.0 - 1e-12) < thr);
                    continue;
                }
                assert!(
                    log_e_rate_below(events, requests, b) >= thr,
                    "{events}/{requests}: {b}"
                );
                assert!(
                    log_e_rate_below(events, requests, b * (1.0 - 1e-11)) < thr,
                    "{events}/{requests}: {b}"
                );
            }
        }
    }

    #[test]
    fn zero_events_inconclusive_with_unit_e() {
        let t = vec![1000.0; 5];
        let z = vec![0.0; 5];
        let d = compare(&series(&z, &t), &series(&z, &t), &CountParams::default()).unwrap();
        assert_eq!(d.verdict, Verdict::Inconclusive);
        assert_eq!(d.e_value, Some(1.0));
        assert_eq!(d.p_value, Some(1.0));
    }

    #[test]
    fn invalid_counts_name_the_interval() {
        let p = CountParams::default();
        let err = compare(
            &series(&[1.0, 5.0], &[10.0, 4.0]),
            &series(&[0.0, 0.0], &[10.0, 10.0]),
            &p,
        )
        .unwrap_err();
        assert!(err.to_string().contains("interval 1"), "{err}");
        let err = compare(
            &series(&[1.0, -1.0], &[10.0, 4.0]),
            &series(&[0.0, 0.0], &[10.0, 10.0]),
            &p,
        )
        .unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
    }
}
