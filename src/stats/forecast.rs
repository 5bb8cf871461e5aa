//! How much longer an undecided sequential ratio test needs: from the confidence sequence it
//! has now and the traffic it saw, how many more intervals at the same traffic until its
//! bound crosses the line that decides (the pass line from below, or the fail line from
//! above). A planning figure, not a promise: it assumes the estimate stays where it is and
//! that the sequence narrows like an anytime-valid mixture boundary, √(log E / E) in the
//! events E. `tests/forecast.rs` measures how often the real decision came within ±50 %.

use serde::Serialize;

/// Which decision the forecast is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForecastTarget {
    /// The upper bound falls below the pass line (the estimate is inside the margin).
    Pass,
    /// The lower bound rises above the fail line (the estimate is beyond the fail margin).
    Fail,
}

/// What a sequential ratio test knows at one look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioState {
    /// Current ratio estimate (> 0).
    pub estimate: f64,
    /// Lower end of the confidence sequence (≥ 0).
    pub low: f64,
    /// Upper end (may be +∞ early on).
    pub high: f64,
    /// Pass when `high` < this (1 + margin).
    pub pass_below: f64,
    /// Fail when `low` > this (1 + fail margin).
    pub fail_above: f64,
    /// Intervals seen so far.
    pub intervals: usize,
    /// Events seen so far, both arms together (what the sequence's width depends on).
    pub events: f64,
}

/// The forecast.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Forecast {
    /// The decision the data head for.
    pub target: ForecastTarget,
    /// More intervals needed at the current traffic (rounded up, ≥ 1).
    pub more_intervals: u64,
}

/// Width of the confidence sequence relative to now after `k` times the events.
fn shrink(events: f64, k: f64) -> f64 {
    let e = std::f64::consts::E;
    ((e + events * k).ln() / (e + events).ln() / k).sqrt()
}

/// More intervals needed, or `None` when no decision is in sight at this estimate: it lies
/// between the pass and the fail line (neither can be shown), the upper bound is still
/// infinite, or the inputs are not usable numbers.
pub fn ratio_forecast(s: &RatioState) -> Option<Forecast> {
    let usable = [s.estimate, s.low, s.pass_below, s.fail_above, s.events]
        .iter()
        .all(|v| v.is_finite())
        && s.estimate > 0.0
        && s.events > 0.0
        && s.intervals > 0;
    if !usable {
        return None;
    }
    let (target, width_now, gap) = if s.estimate < s.pass_below {
        if !(s.high.is_finite() && s.high > s.estimate) {
            return None;
        }
        if s.high < s.pass_below {
            return None; // already decided
        }
        (
            ForecastTarget::Pass,
            (s.high / s.estimate).ln(),
            (s.pass_below / s.estimate).ln(),
        )
    } else if s.estimate > s.fail_above {
        if !(s.low > 0.0 && s.low < s.estimate) || s.low > s.fail_above {
            return None;
        }
        (
            ForecastTarget::Fail,
            (s.estimate / s.low).ln(),
            (s.estimate / s.fail_above).ln(),
        )
    } else {
        return None;
    };
    if !(gap > 0.0 && width_now > gap) {
        return None;
    }
    // Smallest k ≥ 1 with width_now·shrink(k) ≤ gap: shrink falls monotonically for the
    // event counts of interest, so double, then bisect.
    let fits = |k: f64| width_now * shrink(s.events, k) <= gap;
    let mut hi = 2.0;
    while !fits(hi) {
        hi *= 2.0;
        if hi > 1e9 {
            return None;
        }
    }
    // The answer is the whole number of intervals ⌈(k − 1)·n⌉, monotone in k: once both ends
    // of the bracket give the same one, more bisection cannot change it.
    let n = s.intervals as f64;
    let more_at = |k: f64| (k * n - n).ceil();
    let mut lo = 1.0;
    for _ in 0..60 {
        if more_at(lo) == more_at(hi) {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if fits(mid) { hi = mid } else { lo = mid }
    }
    let more = more_at(hi).max(1.0);
    Some(Forecast {
        target,
        more_intervals: more as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(estimate: f64, low: f64, high: f64) -> RatioState {
        RatioState {
            estimate,
            low,
            high,
            pass_below: 1.2,
            fail_above: 1.2,
            intervals: 10,
            events: 400.0,
        }
    }

    #[test]
    fn pass_forecast_grows_as_the_estimate_nears_the_line() {
        let near = ratio_forecast(&state(1.1, 0.8, 1.5)).unwrap();
        let far = ratio_forecast(&state(0.95, 0.7, 1.3)).unwrap();
        assert_eq!(near.target, ForecastTarget::Pass);
        assert_eq!(far.target, ForecastTarget::Pass);
        assert!(near.more_intervals > far.more_intervals, "{near:?} {far:?}");
    }

    #[test]
    fn fail_forecast_and_no_forecast_cases() {
        let f = ratio_forecast(&state(1.8, 1.1, 2.9)).unwrap();
        assert_eq!(f.target, ForecastTarget::Fail);
        assert!(f.more_intervals >= 1);
        // On the line: neither decision can be shown.
        assert!(ratio_forecast(&state(1.2, 0.9, 1.6)).is_none());
        // Already below the pass line: nothing to forecast.
        assert!(ratio_forecast(&state(1.0, 0.9, 1.1)).is_none());
        // Infinite upper bound.
        assert!(ratio_forecast(&state(1.0, 0.5, f64::INFINITY)).is_none());
    }

    #[test]
    fn stopping_the_bisection_early_gives_the_full_bisection_answer() {
        // The answer of the plain 60-step bisection, which the early stop must reproduce.
        fn full(s: &RatioState) -> Option<u64> {
            let est = s.estimate;
            let (width_now, gap) = if est < s.pass_below {
                ((s.high / est).ln(), (s.pass_below / est).ln())
            } else {
                ((est / s.low).ln(), (est / s.fail_above).ln())
            };
            let fits = |k: f64| width_now * shrink(s.events, k) <= gap;
            let mut hi = 2.0;
            while !fits(hi) {
                hi *= 2.0;
            }
            let mut lo = 1.0;
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if fits(mid) { hi = mid } else { lo = mid }
            }
            let n = s.intervals as f64;
            Some((hi * n - n).ceil().max(1.0) as u64)
        }
        let mut checked = 0;
        for intervals in [1, 7, 10, 100, 1000, 100_000] {
            for events in [10.0, 400.0, 1e6] {
                for (estimate, low, high) in [
                    (1.1, 0.8, 1.5),
                    (0.95, 0.7, 1.3),
                    (1.19, 1.0, 1.4),
                    (1.8, 1.1, 2.9),
                    (1.25, 1.1, 1.4),
                ] {
                    let s = RatioState {
                        intervals,
                        events,
                        ..state(estimate, low, high)
                    };
                    if let Some(f) = ratio_forecast(&s) {
                        assert_eq!(Some(f.more_intervals), full(&s), "{s:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 50, "{checked}");
    }

    #[test]
    fn quadrupling_events_halves_a_plain_width() {
        // With the log factor the needed factor is a bit above 4 for half the width.
        let s = RatioState {
            estimate: 1.0,
            low: 0.5,
            high: 2.0,
            pass_below: 2f64.sqrt(),
            fail_above: 1.5,
            intervals: 100,
            events: 1e6,
        };
        let f = ratio_forecast(&s).unwrap();
        assert!(
            (300..=400).contains(&f.more_intervals),
            "{}",
            f.more_intervals
        );
    }
}
