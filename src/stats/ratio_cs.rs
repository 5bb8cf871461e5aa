//! Anytime-valid confidence sequence for the rate ratio r = (canary rate) / (baseline rate) of
//! the count test, whose width shrinks like 1/√events at any traffic (issue 16, defect 2).
//!
//! Conditioning on an interval's e events, the canary's share of them is binomial with
//! probability q(r) = rπ/(rπ + 1 − π) (π the canary's traffic share). For a candidate r0 let
//! S(r0) = Σ (e_c − e·q(r0)) and V(r0) = Σ e·q(r0)(1 − q(r0)) over the intervals so far. For a
//! Bernoulli X with mean q, log E[exp(λ(X − q))] ≤ q(1 − q)·φ(|λ|) with φ(x) = eˣ − 1 − x
//! (Bennett's bound; X − q lies in [−1, 1]), and E[exp(λX)] is monotone in q. So
//! exp(−λS(r0) − V(r0)·φ(λ)), λ > 0, is a nonnegative supermartingale under every r ≥ r0, and
//! exp(λS(r0) − V(r0)·φ(λ)) under every r ≤ r0 (one per λ, and so is any fixed average over
//! λ). By Ville's inequality a process ever reaching 1/α excludes r0 with probability ≤ α.
//! The upper bound's process also mixes in a few coarse λ with the Poisson-type bound
//! log E[exp(−λ(X − q))] ≤ q·φ(−λ), tighter than Bennett's when the canary's share is small.
//!
//! Why this and not the count test's grid of alternatives r0·{1.1, …, 10}: a fixed grid
//! cannot reject an r0 closer to the truth than half its finest step (the old interval never
//! narrowed below ×/÷ 1.049). Here the alternatives λ form a halving ladder from 1.25 down to
//! 1.25·2⁻²⁰ ≈ 1.2·10⁻⁶, equal weights, so at every amount of data some λ is within a factor
//! √2 of the best one (≈ √(2 log(1/α) / V)) and the radius scales like 1/√V down to ~10⁻⁶.
//! And it is cheap: S and V are sums with one division per interval, the mixture over λ is
//! computed once per r0 (not per interval), and dS/du = −V, dV/du = Σ e·q(1 − q)(1 − 2q)
//! (u = log r0) come from the same pass, which is what Newton's method needs.
//!
//! The sequence is the running intersection over a geometric schedule of looks (every look
//! up to [`ANCHOR_EVERY`], then looks growing by [`ANCHOR_GROWTH`], and always the last): the
//! intersection over any subset of looks that includes the current one is still a valid
//! confidence sequence (every look's interval holds r at once with probability ≥ 1 − α), and
//! the schedule keeps the cost linear in the number of intervals. Each bound is reported at
//! the rejected side of its root, so rounding widens the interval, never narrows it.

/// One interval as the confidence sequence sees it: canary events, all events, canary share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioCell {
    /// Canary events in the interval.
    pub canary_events: f64,
    /// Canary and baseline events together.
    pub events: f64,
    /// Canary share π of the interval's traffic (or the fixed share), in (0, 1).
    pub share: f64,
}

/// Largest λ of the ladder. Below 1.2564 (the root of eˣ = 1 + 2x) φ(λ) ≤ λ, which makes
/// every process monotone in r0 (|dV/du| ≤ V), so each bound is a single root.
const LAMBDA_MAX: f64 = 1.25;
/// Number of ladder rungs λ_k = LAMBDA_MAX·2^{−k}.
const RUNGS: usize = 21;

/// Search range of the bounds; a bound at an end means "at least this extreme".
pub const R_MIN: f64 = 1e-6;
/// See [`R_MIN`].
pub const R_MAX: f64 = 1e6;

/// Every look up to this one is an anchor (exact bounds) of the running intersection.
pub const ANCHOR_EVERY: usize = 8;
/// After [`ANCHOR_EVERY`], the next anchor is the first look ≥ this × the previous one.
pub const ANCHOR_GROWTH: f64 = 1.25;

/// The anchor after anchor `a` (1-based looks; the first anchor is look 1). A function of
/// `a` alone, so every caller sees the same intersection for the same prefix.
pub fn next_anchor(a: usize) -> usize {
    if a < ANCHOR_EVERY {
        a + 1
    } else {
        ((a as f64 * ANCHOR_GROWTH).ceil() as usize).max(a + 1)
    }
}

/// Whether look `t` (1-based) is on the anchor schedule.
pub fn is_anchor(t: usize) -> bool {
    let mut a = 1usize;
    while a < t {
        a = next_anchor(a);
    }
    a == t
}

/// The mixture's λ and φ values, computed once per process (see [`mixture`]) rather than at
/// every evaluation or search (their exponentials were a large part of the cost on short
/// series).
struct Mixture {
    /// Bennett ladder: (λ, φ(λ)).
    ladder: [(f64, f64); RUNGS],
    /// Upper side only: (λ, φ(−λ)) of [`POISSON_RUNGS`].
    poisson: [(f64, f64); POISSON_RUNGS.len()],
}

/// The mixture's constants, computed on first use.
fn mixture() -> &'static Mixture {
    static MIXTURE: std::sync::OnceLock<Mixture> = std::sync::OnceLock::new();
    MIXTURE.get_or_init(Mixture::new)
}

impl Mixture {
    fn new() -> Self {
        let mut ladder = [(0.0, 0.0); RUNGS];
        let mut lambda = LAMBDA_MAX;
        for rung in ladder.iter_mut() {
            *rung = (lambda, lambda.exp_m1() - lambda);
            lambda *= 0.5;
        }
        let mut poisson = [(0.0, 0.0); POISSON_RUNGS.len()];
        for (rung, lambda) in poisson.iter_mut().zip(POISSON_RUNGS) {
            *rung = (lambda, (-lambda).exp_m1() + lambda);
        }
        Mixture { ladder, poisson }
    }
}

/// Σ e·q, S, V and dV/du at one r0 over `cells`.
#[derive(Debug, Clone, Copy)]
struct Moments {
    expected: f64,
    s: f64,
    v: f64,
    dv: f64,
}

fn moments(cells: &[RatioCell], r0: f64) -> Moments {
    let (mut expected, mut v, mut dv, mut ec) = (0.0, 0.0, 0.0, 0.0);
    for c in cells {
        if c.events == 0.0 {
            continue;
        }
        let a = r0 * c.share;
        let b = 1.0 - c.share;
        let inv = 1.0 / (a + b);
        let (q, p) = (a * inv, b * inv);
        let w = c.events * q * p;
        ec += c.canary_events;
        expected += c.events * q;
        v += w;
        dv += w * (p - q);
    }
    Moments {
        expected,
        s: ec - expected,
        v,
        dv,
    }
}

/// Which bound a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// H0: r ≥ r0, evidence −S; rejected for r0 above the upper bound (increasing in u).
    Upper,
    /// H0: r ≤ r0, evidence S; rejected for r0 below the lower bound (decreasing in u).
    Lower,
}

/// Coarse alternatives of the upper bound's process that use the Poisson-type bound
/// log E[exp(−λ(X − q))] ≤ q·φ(−λ) (from log(1 + x) ≤ x) instead of Bennett's. With a small
/// canary share (the usual canary) the canary's count cannot fall far below its mean, and this
/// bound says so: at 100–1000 events and a 2–10 % share the upper bound is 2–40 % lower with
/// them. Their processes are monotone in r0 for any λ (φ(−λ) ≤ λ).
const POISSON_RUNGS: [f64; 4] = [2.5, 1.25, 0.625, 0.3125];

/// Largest number of mixture components of either side.
const COMPONENTS: usize = RUNGS + POISSON_RUNGS.len();

/// log of the side's mixture e-value minus log(1/α), and its slope in u = log r0. The upper
/// side mixes the Bennett ladder and [`POISSON_RUNGS`], the lower side the ladder alone, each
/// with equal weights.
fn excess(mix: &Mixture, m: &Moments, side: Side, log_threshold: f64) -> (f64, f64) {
    let mut terms = [0.0; COMPONENTS];
    let mut slopes = [0.0; COMPONENTS];
    let mut used = 0;
    let (evidence, d_evidence) = match side {
        Side::Upper => (-m.s, m.v),
        Side::Lower => (m.s, -m.v),
    };
    for &(lambda, phi) in &mix.ladder {
        terms[used] = lambda * evidence - m.v * phi;
        slopes[used] = lambda * d_evidence - m.dv * phi;
        used += 1;
    }
    if side == Side::Upper {
        // d(Σ e·q)/du = V.
        for &(lambda, phi) in &mix.poisson {
            terms[used] = lambda * evidence - m.expected * phi;
            slopes[used] = lambda * d_evidence - m.v * phi;
            used += 1;
        }
    }
    let (terms, slopes) = (&terms[..used], &slopes[..used]);
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    let mut slope = 0.0;
    for (t, d) in terms.iter().zip(slopes) {
        let w = (t - top).exp();
        total += w;
        slope += w * d;
    }
    (
        top + (total / used as f64).ln() - log_threshold,
        slope / total,
    )
}

/// A first point for a search that starts at the end of the range: the normal approximation
/// log r̂ ± z·se of the bound in u, with r̂ from the totals (events weighted by the share),
/// se² = 1/E_c + 1/E_b (≈ 1/V, V the Fisher information of u at r̂) and z = √(2·log(K/α)),
/// the radius at which one of the K equally weighted components alone reaches 1/α. It only
/// saves the bisection steps from the far end of [R_MIN, R_MAX]: the search evaluates it like
/// any other point. `None` when an arm has no events (no estimate).
fn normal_guess(cells: &[RatioCell], side: Side, log_threshold: f64) -> Option<f64> {
    let (mut ec, mut eb, mut canary_share, mut baseline_share) = (0.0, 0.0, 0.0, 0.0);
    for c in cells {
        ec += c.canary_events;
        eb += c.events - c.canary_events;
        canary_share += c.events * c.share;
        baseline_share += c.events * (1.0 - c.share);
    }
    if !(ec > 0.0 && eb > 0.0 && canary_share > 0.0 && baseline_share > 0.0) {
        return None;
    }
    let log_r = (ec / eb * baseline_share / canary_share).ln();
    let components = match side {
        Side::Upper => COMPONENTS,
        Side::Lower => RUNGS,
    };
    let radius = (2.0 * (log_threshold + (components as f64).ln()) * (1.0 / ec + 1.0 / eb)).sqrt();
    let u = match side {
        Side::Upper => log_r + radius,
        Side::Lower => log_r - radius,
    };
    u.is_finite().then_some(u)
}

/// A bound is a rejected point within `TOLERANCE·(1 + |log r0|)` of the root in log r0.
const TOLERANCE: f64 = 1e-12;

/// The bound of `side` over `cells`, searching only inside `[R_MIN, start]` (Upper) or
/// `[start, R_MAX]` (Lower), where `start` is a point already known to be rejected (or the
/// end of the range). Returns `None` when `start` is not rejected (nothing to move), else the
/// rejected point nearest the root (or the range end when all of it is rejected).
///
/// The search keeps a bracket (rejected `hi`, not rejected `lo`) and steps from the last point
/// it evaluated, on whichever side of the root that lies: Newton's step, corrected by the
/// quadratic term with the curvature estimated from the change of slope between the last two
/// points (for the first step, `curvature` carries the curvature per unit slope that the last
/// search of this side ended with), and aimed half a tolerance past the root so that near it
/// the point lands on the rejected side, which ends the search. A step leaving the bracket is
/// replaced by bisection. The search ends when the bracket or the step from its rejected end
/// is within the tolerance; a bound moves in about three passes over the cells.
fn solve(
    cells: &[RatioCell],
    side: Side,
    start: f64,
    log_threshold: f64,
    curvature: &mut f64,
) -> Option<f64> {
    let mix = mixture();
    let at = |u: f64| excess(mix, &moments(cells, u.exp()), side, log_threshold);
    let (mut g, mut slope) = at(start.ln());
    if g < 0.0 {
        return None;
    }
    // Work in x = ±u so the excess always increases in x and rejection is g ≥ 0 (the
    // curvature per unit slope does not depend on the sign).
    let sign = if side == Side::Upper { 1.0 } else { -1.0 };
    slope *= sign;
    let far = match side {
        Side::Upper => R_MIN,
        Side::Lower => R_MAX,
    };
    // `far` is presumed not rejected; if it is, the search ends next to it, which is still
    // a rejected point (and spares a pass over the cells on every call).
    let mut hi = sign * start.ln(); // rejected
    let mut lo = sign * far.ln();
    let tol = |x: f64| TOLERANCE * (1.0 + x.abs());
    // The last point evaluated (`hi` if rejected, else `lo`) and the one before it.
    let mut x = hi;
    let mut prev: Option<(f64, f64)> = None;
    if (start == R_MAX || start == R_MIN)
        && let Some(guess) = normal_guess(cells, side, log_threshold).map(|u| sign * u)
        && guess > lo
        && guess < hi
    {
        let (gx, sx) = at(sign * guess);
        if gx >= 0.0 {
            hi = guess;
        } else {
            lo = guess;
        }
        prev = Some((x, slope));
        (x, g, slope) = (guess, gx, sign * sx);
    }
    for _ in 0..200 {
        let mut next = if slope > 0.0 { x - g / slope } else { f64::NAN };
        if g >= 0.0 && slope > 0.0 && (next >= hi || hi - next <= tol(hi)) {
            // At the rejected end a step below the tolerance (or one lost in rounding, as
            // when g is exactly 0) means `hi` is the root to working precision.
            break;
        }
        let c = match prev {
            Some((xp, sp)) => {
                let c = (slope - sp) / (x - xp);
                if c.is_finite() {
                    *curvature = c / slope;
                }
                c
            }
            None => *curvature * slope,
        };
        if next.is_finite() && c.is_finite() {
            // g(x + d) ≈ g + slope·d + c·d²/2: move Newton's point by the quadratic term
            // when that is a small correction.
            let d = next - x;
            let correction = -0.5 * c * d * d / slope;
            if correction.is_finite() && correction.abs() < 0.5 * d.abs() {
                next += correction;
            }
        }
        next += 0.5 * tol(x);
        let xn = if next > lo && next < hi {
            next
        } else {
            0.5 * (lo + hi)
        };
        let (gx, sx) = at(sign * xn);
        if gx >= 0.0 {
            hi = xn;
        } else {
            lo = xn;
        }
        prev = Some((x, slope));
        (x, g, slope) = (xn, gx, sign * sx);
        if hi - lo <= tol(hi) {
            break;
        }
    }
    Some((sign * hi).exp())
}

/// The interval of one look alone, from scratch: (lower, upper), with 0 and ∞ for "no bound".
pub fn own_interval(cells: &[RatioCell], log_threshold: f64) -> (f64, f64) {
    let mut curvature = [f64::NAN; 2];
    let upper =
        solve(cells, Side::Upper, R_MAX, log_threshold, &mut curvature[0]).unwrap_or(f64::INFINITY);
    let lower = solve(cells, Side::Lower, R_MIN, log_threshold, &mut curvature[1]).unwrap_or(0.0);
    (lower, upper)
}

/// Running intersection of the per-look intervals over the anchored looks.
#[derive(Debug, Clone, Copy)]
pub struct RunningInterval {
    /// Largest lower bound so far (0: none).
    pub lower: f64,
    /// Smallest upper bound so far (∞: none).
    pub upper: f64,
    /// First anchored look (1-based) at which `lower > upper`.
    pub empty_at: Option<usize>,
    /// Curvature per unit slope of each side's excess where its last search ended (upper,
    /// lower): a starting estimate for the next search, which only affects how fast it
    /// converges (NaN: none yet).
    curvature: [f64; 2],
}

impl Default for RunningInterval {
    fn default() -> Self {
        RunningInterval {
            lower: 0.0,
            upper: f64::INFINITY,
            empty_at: None,
            curvature: [f64::NAN; 2],
        }
    }
}

/// Equal when the intervals are (the search hints are not compared).
impl PartialEq for RunningInterval {
    fn eq(&self, other: &Self) -> bool {
        (self.lower, self.upper, self.empty_at) == (other.lower, other.upper, other.empty_at)
    }
}

impl RunningInterval {
    /// Intersect with look `look`'s interval on `cells` (everything up to that look). A bound
    /// moves only when the process at the old bound now rejects, and then its search starts
    /// there, so a look usually costs one pass per side.
    pub fn anchor(&mut self, cells: &[RatioCell], look: usize, log_threshold: f64) {
        let start_u = if self.upper.is_finite() {
            self.upper
        } else {
            R_MAX
        };
        let [curvature_u, curvature_l] = &mut self.curvature;
        if let Some(u) = solve(cells, Side::Upper, start_u, log_threshold, curvature_u) {
            self.upper = self.upper.min(u);
        }
        let start_l = if self.lower > 0.0 { self.lower } else { R_MIN };
        if let Some(l) = solve(cells, Side::Lower, start_l, log_threshold, curvature_l) {
            self.lower = self.lower.max(l);
        }
        if self.empty_at.is_none() && self.lower > self.upper {
            self.empty_at = Some(look);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn equal(events_per_arm: f64, intervals: usize) -> Vec<RatioCell> {
        vec![
            RatioCell {
                canary_events: events_per_arm,
                events: 2.0 * events_per_arm,
                share: 0.5,
            };
            intervals
        ]
    }

    #[test]
    fn schedule_is_dense_then_geometric() {
        let anchors: Vec<usize> = (1..=40).filter(|&t| is_anchor(t)).collect();
        assert_eq!(
            anchors,
            vec![1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 17, 22, 28, 35]
        );
        let count = (1..=1_000_000).filter(|&t| is_anchor(t)).count();
        assert!(count < 80, "{count}");
    }

    #[test]
    fn interval_shrinks_like_one_over_root_events() {
        let thr = 20f64.ln();
        let mut widths = Vec::new();
        for e in [1e2, 1e4, 1e6, 1e8] {
            let (lo, hi) = own_interval(&equal(e, 10), thr);
            assert!(lo < 1.0 && hi > 1.0, "{lo} {hi}");
            widths.push(hi.ln() - lo.ln());
        }
        for w in widths.windows(2) {
            let ratio = w[0] / w[1];
            assert!((7.0..14.0).contains(&ratio), "{widths:?}");
        }
    }

    #[test]
    fn no_events_no_bounds_and_bounds_are_rejected_points() {
        let thr = 20f64.ln();
        let none = equal(0.0, 3);
        assert_eq!(own_interval(&none, thr), (0.0, f64::INFINITY));
        let cells = equal(500.0, 4);
        let (lo, hi) = own_interval(&cells, thr);
        let mix = Mixture::new();
        let g = |r: f64, side| excess(&mix, &moments(&cells, r), side, thr).0;
        assert!(g(hi, Side::Upper) >= 0.0 && g(hi * (1.0 - 1e-9), Side::Upper) < 0.0);
        assert!(g(lo, Side::Lower) >= 0.0 && g(lo * (1.0 + 1e-9), Side::Lower) < 0.0);
    }

    #[test]
    fn bounds_are_rejected_points_next_to_the_root_on_varied_data() {
        // Shares, counts and ratios that make either side's excess convex or concave near its
        // root, and searches from the range ends (with the normal-approximation first point).
        let mix = Mixture::new();
        for (events, ratio, share, n, alpha) in [
            (3.0, 1.0, 0.5, 1, 0.05),
            (20.0, 0.2, 0.1, 5, 0.05),
            (200.0, 1.0, 0.02, 40, 0.01),
            (5.0, 4.0, 0.3, 12, 0.2),
            (1e4, 1.1, 0.1, 100, 0.05),
            (50.0, 1e-3, 0.5, 3, 0.05),
        ] {
            let thr = (1.0_f64 / alpha).ln();
            let q = ratio * share / (ratio * share + 1.0 - share);
            let cells: Vec<RatioCell> = (0..n)
                .map(|i| RatioCell {
                    canary_events: (events * q + (i % 3) as f64 - 1.0).max(0.0).round(),
                    events,
                    share: share * (1.0 + 0.1 * (i % 4) as f64),
                })
                .collect();
            let (lo, hi) = own_interval(&cells, thr);
            let g = |r: f64, side| excess(&mix, &moments(&cells, r), side, thr).0;
            if hi.is_finite() && hi > R_MIN {
                assert!(g(hi, Side::Upper) >= 0.0, "{events} {ratio}: {hi}");
                assert!(
                    g(hi * (1.0 - 1e-10), Side::Upper) < 0.0,
                    "{events} {ratio}: {hi}"
                );
            }
            if lo > 0.0 && lo < R_MAX {
                assert!(g(lo, Side::Lower) >= 0.0, "{events} {ratio}: {lo}");
                assert!(
                    g(lo * (1.0 + 1e-10), Side::Lower) < 0.0,
                    "{events} {ratio}: {lo}"
                );
            }
        }
    }

    #[test]
    fn running_interval_matches_fresh_solves() {
        let thr = 20f64.ln();
        let cells: Vec<RatioCell> = (0..30)
            .map(|i| RatioCell {
                canary_events: (i % 5) as f64 + 3.0,
                events: 30.0 + (i % 7) as f64,
                share: 0.1 + 0.02 * (i % 4) as f64,
            })
            .collect();
        let mut run = RunningInterval::default();
        let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
        for t in 1..=cells.len() {
            run.anchor(&cells[..t], t, thr);
            let own = own_interval(&cells[..t], thr);
            lo = lo.max(own.0);
            hi = hi.min(own.1);
            assert!((run.lower - lo).abs() <= 1e-9 * lo.max(1e-300), "{t}");
            assert!(
                run.upper == hi || (run.upper - hi).abs() <= 1e-9 * hi,
                "{t}: {} {hi}",
                run.upper
            );
        }
    }
}
