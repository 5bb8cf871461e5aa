//! Plain series types handed to the engine, and the pure conversion from a Prometheus
//! matrix to them: one-series checks, NaN/±Inf policy, event/traffic alignment, bucket
//! grouping by `le`, and gap detection against the expected evaluation grid.
//! Timestamps are Unix seconds as `f64` (what the Prometheus API returns).

use std::collections::{BTreeMap, BTreeSet};

use super::config::NonFinitePolicy;
use super::error::PrometheusError;
use super::window::QueryWindow;

/// Label set of a series.
pub type Labels = BTreeMap<String, String>;

/// One series of a range-query result, as parsed from the API.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSeries {
    /// Labels (including `__name__` when present).
    pub labels: Labels,
    /// `(timestamp, value)` in time order.
    pub samples: Vec<(f64, f64)>,
}

/// A values series: one scalar per evaluation step (e.g. a latency or an error ratio).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueRange {
    /// Labels of the single series.
    pub labels: Labels,
    /// Usable `(timestamp, value)` points, finite, in time order.
    pub points: Vec<(f64, f64)>,
    /// Grid timestamps with no usable point (absent sample, or NaN/Inf dropped by policy).
    pub missing: Vec<f64>,
    /// The grid that was queried.
    pub window: QueryWindow,
}

/// Events and traffic in one disjoint interval (from `increase()` with step = window).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CountPoint {
    /// Evaluation time, Unix seconds (end of the interval).
    pub timestamp: f64,
    /// Events (e.g. errors) in the interval.
    pub events: f64,
    /// Traffic (e.g. requests) in the interval.
    pub traffic: f64,
}

/// A counts series: events and traffic aligned by timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRange {
    /// Points where both events and traffic are usable.
    pub points: Vec<CountPoint>,
    /// Grid timestamps without a usable pair (either side absent or dropped).
    pub missing: Vec<f64>,
    /// True when the events query returned no series at all while traffic had data; the
    /// events were then taken as 0 in every interval (a counter that was never incremented
    /// is often not exported at all). Surface this in metadata: it also hides a typo.
    pub events_absent: bool,
    /// The grid that was queried.
    pub window: QueryWindow,
}

/// A histogram series: cumulative bucket counts per timestamp, buckets sorted by `le`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramRange {
    /// Upper bounds, ascending, last is `f64::INFINITY` (`le="+Inf"`).
    pub bounds: Vec<f64>,
    /// `(timestamp, cumulative counts)` with one count per bound; points where any bucket
    /// was missing are left out (and listed in `missing`).
    pub points: Vec<(f64, Vec<f64>)>,
    /// Grid timestamps without a complete set of buckets.
    pub missing: Vec<f64>,
    /// The grid that was queried.
    pub window: QueryWindow,
}

impl ValueRange {
    /// Just the values, in time order.
    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.1).collect()
    }
}

/// Where a series came from and how to treat non-finite values; used in error messages.
#[derive(Debug, Clone)]
pub struct QueryContext<'a> {
    /// Prometheus base URL.
    pub address: &'a str,
    /// The rendered query.
    pub query: &'a str,
    /// The grid queried.
    pub window: QueryWindow,
    /// NaN policy.
    pub nan: NonFinitePolicy,
    /// ±Inf policy.
    pub inf: NonFinitePolicy,
}

/// Millisecond key so float timestamps compare exactly.
fn ts_key(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

/// `{a="b", c="d"}` rendering of a label set.
pub fn format_labels(labels: &Labels) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn format_label_sets(series: &[RawSeries]) -> String {
    let mut shown: Vec<String> = series
        .iter()
        .take(5)
        .map(|s| format_labels(&s.labels))
        .collect();
    if series.len() > 5 {
        shown.push(format!("... and {} more", series.len() - 5));
    }
    shown.join(" ")
}

impl QueryContext<'_> {
    fn no_data(&self) -> PrometheusError {
        PrometheusError::NoData {
            address: self.address.to_string(),
            query: self.query.to_string(),
            start: self.window.start,
            end: self.window.end,
        }
    }

    fn multiple(&self, series: &[RawSeries], expected: &'static str) -> PrometheusError {
        PrometheusError::MultipleSeries {
            address: self.address.to_string(),
            query: self.query.to_string(),
            count: series.len(),
            expected,
            labels: format_label_sets(series),
        }
    }

    fn histogram_error(&self, message: String) -> PrometheusError {
        PrometheusError::Histogram {
            address: self.address.to_string(),
            query: self.query.to_string(),
            message,
        }
    }

    /// Applies the NaN/Inf policy: `Ok(Some(v))` usable, `Ok(None)` treat as missing.
    fn admit(&self, series: &RawSeries, ts: f64, v: f64) -> Result<Option<f64>, PrometheusError> {
        if v.is_finite() {
            return Ok(Some(v));
        }
        let policy = if v.is_nan() { self.nan } else { self.inf };
        match policy {
            NonFinitePolicy::Missing => Ok(None),
            NonFinitePolicy::Error => Err(PrometheusError::NonFinite {
                address: self.address.to_string(),
                query: self.query.to_string(),
                timestamp: ts,
                value: v,
                labels: format_labels(&series.labels),
            }),
        }
    }

    /// Usable points of one series keyed by timestamp.
    fn admitted(&self, series: &RawSeries) -> Result<BTreeMap<i64, (f64, f64)>, PrometheusError> {
        let mut out = BTreeMap::new();
        for &(ts, v) in &series.samples {
            if let Some(v) = self.admit(series, ts, v)? {
                out.insert(ts_key(ts), (ts, v));
            }
        }
        Ok(out)
    }

    fn missing_from(&self, present: &BTreeSet<i64>) -> Vec<f64> {
        self.window
            .grid()
            .into_iter()
            .filter(|t| !present.contains(&ts_key(*t)))
            .collect()
    }

    /// Exactly one series (or none → `Ok(None)`).
    fn single<'s>(
        &self,
        series: &'s [RawSeries],
        expected: &'static str,
    ) -> Result<Option<&'s RawSeries>, PrometheusError> {
        match series {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            many => Err(self.multiple(many, expected)),
        }
    }
}

/// Matrix → [`ValueRange`]: exactly one series; empty (or all points dropped) is `NoData`.
pub fn to_values(
    ctx: &QueryContext<'_>,
    series: &[RawSeries],
) -> Result<ValueRange, PrometheusError> {
    let one = ctx
        .single(series, "exactly one series")?
        .ok_or_else(|| ctx.no_data())?;
    let admitted = ctx.admitted(one)?;
    if admitted.is_empty() {
        return Err(ctx.no_data());
    }
    let present: BTreeSet<i64> = admitted.keys().copied().collect();
    Ok(ValueRange {
        labels: one.labels.clone(),
        points: admitted.into_values().collect(),
        missing: ctx.missing_from(&present),
        window: ctx.window,
    })
}

/// Events and traffic matrices → [`CountRange`]. Traffic must be one series (none is
/// `NoData`); events must be at most one series, and none means zero events everywhere.
pub fn to_counts(
    events_ctx: &QueryContext<'_>,
    events: &[RawSeries],
    traffic_ctx: &QueryContext<'_>,
    traffic: &[RawSeries],
) -> Result<CountRange, PrometheusError> {
    let traffic_one = traffic_ctx
        .single(traffic, "exactly one series")?
        .ok_or_else(|| traffic_ctx.no_data())?;
    let events_one = events_ctx.single(events, "at most one series")?;
    let traffic_pts = traffic_ctx.admitted(traffic_one)?;
    if traffic_pts.is_empty() {
        return Err(traffic_ctx.no_data());
    }
    let events_pts = match events_one {
        Some(s) => Some(events_ctx.admitted(s)?),
        None => None,
    };
    let mut points = Vec::new();
    let mut present = BTreeSet::new();
    for (key, (ts, t)) in &traffic_pts {
        let e = match &events_pts {
            None => Some(0.0),
            Some(map) => map.get(key).map(|p| p.1),
        };
        if let Some(e) = e {
            present.insert(*key);
            points.push(CountPoint {
                timestamp: *ts,
                events: e,
                traffic: *t,
            });
        }
    }
    Ok(CountRange {
        points,
        missing: traffic_ctx.missing_from(&present),
        events_absent: events_one.is_none(),
        window: traffic_ctx.window,
    })
}

fn parse_le(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        _ => text.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// Bucket matrix → [`HistogramRange`]: one series per distinct `le`, a `+Inf` bucket
/// required; empty is `NoData`. Counts are kept as returned (with `increase()` they can be
/// fractional and, through extrapolation, very slightly non-monotone across `le`).
pub fn to_histogram(
    ctx: &QueryContext<'_>,
    series: &[RawSeries],
) -> Result<HistogramRange, PrometheusError> {
    if series.is_empty() {
        return Err(ctx.no_data());
    }
    let mut by_le: Vec<(f64, &RawSeries)> = Vec::with_capacity(series.len());
    for s in series {
        let le_text = s.labels.get("le").ok_or_else(|| {
            ctx.histogram_error(format!(
                "series {} has no `le` label (query the _bucket series and keep `le`, e.g. sum by (le) (increase(x_bucket[1m])))",
                format_labels(&s.labels)
            ))
        })?;
        let le = parse_le(le_text).ok_or_else(|| {
            ctx.histogram_error(format!("`le` value {le_text:?} is not a number"))
        })?;
        by_le.push((le, s));
    }
    by_le.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(pair) = by_le.windows(2).find(|w| w[0].0 == w[1].0) {
        let dup: Vec<RawSeries> = vec![pair[0].1.clone(), pair[1].1.clone()];
        return Err(ctx.multiple(&dup, "one series per `le` bucket"));
    }
    if by_le.last().map(|l| l.0) != Some(f64::INFINITY) {
        return Err(ctx.histogram_error("no le=\"+Inf\" bucket in the result".to_string()));
    }
    let mut per_bucket = Vec::with_capacity(by_le.len());
    for (_, s) in &by_le {
        per_bucket.push(ctx.admitted(s)?);
    }
    let mut points = Vec::new();
    let mut present = BTreeSet::new();
    for t in ctx.window.grid() {
        let key = ts_key(t);
        let counts: Option<Vec<f64>> = per_bucket
            .iter()
            .map(|b| b.get(&key).map(|p| p.1))
            .collect();
        if let Some(counts) = counts {
            present.insert(key);
            points.push((t, counts));
        }
    }
    if points.is_empty() {
        return Err(ctx.no_data());
    }
    Ok(HistogramRange {
        bounds: by_le.iter().map(|b| b.0).collect(),
        points,
        missing: ctx.missing_from(&present),
        window: ctx.window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ctx(query: &str) -> QueryContext<'_> {
        QueryContext {
            address: "http://p:9090",
            query,
            window: QueryWindow {
                start: 0,
                end: 180,
                step: Duration::from_secs(60),
            },
            nan: NonFinitePolicy::Missing,
            inf: NonFinitePolicy::Error,
        }
    }

    fn raw(labels: &[(&str, &str)], samples: &[(f64, f64)]) -> RawSeries {
        RawSeries {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            samples: samples.to_vec(),
        }
    }

    #[test]
    fn values_nan_missing_inf_error_and_gaps() {
        let c = ctx("q");
        let s = raw(&[("a", "1")], &[(0.0, 1.0), (60.0, f64::NAN), (120.0, 3.0)]);
        let v = to_values(&c, std::slice::from_ref(&s)).unwrap();
        assert_eq!(v.points, vec![(0.0, 1.0), (120.0, 3.0)]);
        assert_eq!(v.missing, vec![60.0, 180.0]);
        let inf = raw(&[("a", "1")], &[(0.0, f64::INFINITY)]);
        let e = to_values(&c, &[inf]).unwrap_err().to_string();
        assert!(e.contains("http://p:9090") && e.contains("inf"), "{e}");
        let e = to_values(&c, &[s.clone(), raw(&[("a", "2")], &[])]).unwrap_err();
        assert!(e.to_string().contains("2 series") && e.to_string().contains("a=\"2\""));
        assert!(to_values(&c, &[]).unwrap_err().is_no_data());
        let all_nan = raw(&[], &[(0.0, f64::NAN)]);
        assert!(to_values(&c, &[all_nan]).unwrap_err().is_no_data());
    }

    #[test]
    fn counts_align_and_absent_events() {
        let c = ctx("q");
        let t = raw(&[], &[(0.0, 10.0), (60.0, 20.0), (120.0, 30.0)]);
        let e = raw(&[], &[(0.0, 1.0), (120.0, 3.0)]);
        let cs = to_counts(&c, &[e], &c, std::slice::from_ref(&t)).unwrap();
        assert_eq!(cs.points.len(), 2);
        assert_eq!(cs.points[1].events, 3.0);
        assert_eq!(cs.missing, vec![60.0, 180.0]);
        let cs = to_counts(&c, &[], &c, &[t]).unwrap();
        assert!(cs.events_absent);
        assert_eq!(cs.points.iter().map(|p| p.events).sum::<f64>(), 0.0);
        assert!(to_counts(&c, &[], &c, &[]).unwrap_err().is_no_data());
    }

    #[test]
    fn histogram_sorted_by_le() {
        let c = ctx("q");
        let b = |le: &str, v: f64| raw(&[("le", le)], &[(0.0, v), (60.0, v * 2.0)]);
        let h = to_histogram(&c, &[b("+Inf", 10.0), b("0.5", 7.0), b("0.1", 2.0)]).unwrap();
        assert_eq!(h.bounds, vec![0.1, 0.5, f64::INFINITY]);
        assert_eq!(h.points[1], (60.0, vec![4.0, 14.0, 20.0]));
        assert_eq!(h.missing, vec![120.0, 180.0]);
        let e = to_histogram(&c, &[b("0.5", 1.0)]).unwrap_err().to_string();
        assert!(e.contains("+Inf"), "{e}");
        let e = to_histogram(&c, &[b("+Inf", 1.0), b("+Inf", 2.0)]).unwrap_err();
        assert!(matches!(
            e,
            PrometheusError::MultipleSeries { count: 2, .. }
        ));
        let e = to_histogram(&c, &[raw(&[], &[])]).unwrap_err().to_string();
        assert!(e.contains("no `le`"), "{e}");
    }
}
