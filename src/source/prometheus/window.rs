//! The evaluation grid of a range query: start, end, step, and the default step rule.
//!
//! Why step = range window: `increase(x[5m])` sampled every 30 s gives points whose windows
//! overlap by 90 %, so consecutive points share most of their events and are strongly
//! autocorrelated. Tests that treat points as independent (Mann–Whitney, t, mSPRT, Poisson
//! counts) would then count the same evidence up to ten times and declare significance far
//! too early. With step equal to the widest range selector the windows tile the analysis
//! period without overlap, counts add up exactly, and points are (close to) independent.
//! An explicit step override is honoured as given.

use std::time::Duration;

use crate::duration::parse_positive_duration;

/// Widest range-selector window in a PromQL expression (`[5m]`, or the range of a subquery
/// `[30m:1m]`), ignoring brackets inside string literals. `None` if the query has none.
pub fn widest_range_window(query: &str) -> Option<Duration> {
    let mut widest: Option<Duration> = None;
    let mut chars = query.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                // Skip a string literal; backquoted strings have no escapes.
                let mut escaped = false;
                for (_, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' && c != '`' {
                        escaped = true;
                    } else if d == c {
                        break;
                    }
                }
            }
            '[' => {
                let rest = &query[i + 1..];
                if let Some(close) = rest.find(']') {
                    let inner = &rest[..close];
                    let range = inner.split(':').next().unwrap_or("").trim();
                    if let Ok(d) = parse_positive_duration(range) {
                        widest = Some(widest.map_or(d, |w| w.max(d)));
                    }
                }
            }
            _ => {}
        }
    }
    widest
}

/// A validated range-query grid. Times are Unix seconds (the granularity of the underlying
/// client's `start`/`end`, and plenty for analysis windows of minutes to hours).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryWindow {
    /// First evaluation time, Unix seconds (the analysis start).
    pub start: i64,
    /// Last possible evaluation time, Unix seconds ("now", passed in explicitly).
    pub end: i64,
    /// Distance between evaluation points.
    pub step: Duration,
}

impl QueryWindow {
    /// Step in seconds as sent to Prometheus.
    pub fn step_secs(&self) -> f64 {
        self.step.as_secs_f64()
    }

    /// Number of steps `(end - start) / step`, the figure Prometheus compares with 11,000.
    pub fn intervals(&self) -> u64 {
        let span_ms = (self.end - self.start).max(0) as u128 * 1000;
        let step_ms = self.step.as_millis().max(1);
        (span_ms / step_ms) as u64
    }

    /// The timestamps Prometheus evaluates at: start, start+step, ... ≤ end.
    pub fn grid(&self) -> Vec<f64> {
        let step = self.step_secs();
        (0..=self.intervals())
            .map(|k| self.start as f64 + k as f64 * step)
            .collect()
    }
}

/// Picks the step: the explicit one if given, else the widest range window of the queries,
/// else `fallback`.
pub fn choose_step(explicit: Option<Duration>, queries: &[&str], fallback: Duration) -> Duration {
    explicit
        .or_else(|| queries.iter().filter_map(|q| widest_range_window(q)).max())
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_widest_window() {
        let q = "sum(increase(a_total{x=\"[9h]\"}[1m])) / sum(rate(b[5m] offset 1h))";
        assert_eq!(widest_range_window(q), Some(Duration::from_secs(300)));
        assert_eq!(
            widest_range_window("max_over_time(rate(x[1m])[30m:1m])"),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(widest_range_window("up{job='a[1m]'}"), None);
        assert_eq!(widest_range_window("vector(1)"), None);
    }

    #[test]
    fn step_choice_and_grid() {
        let s = choose_step(
            None,
            &["increase(a[1m])", "rate(b[2m])"],
            Duration::from_secs(7),
        );
        assert_eq!(s, Duration::from_secs(120));
        let s = choose_step(
            Some(Duration::from_secs(30)),
            &["rate(b[2m])"],
            Duration::ZERO,
        );
        assert_eq!(s, Duration::from_secs(30));
        assert_eq!(
            choose_step(None, &["up"], Duration::from_secs(7)).as_secs(),
            7
        );
        let w = QueryWindow {
            start: 1000,
            end: 1250,
            step: Duration::from_secs(60),
        };
        assert_eq!(w.intervals(), 4);
        assert_eq!(w.grid(), vec![1000.0, 1060.0, 1120.0, 1180.0, 1240.0]);
    }
}
