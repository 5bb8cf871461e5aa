//! Reading the application's own `/metrics` (Prometheus text exposition format 0.0.4) and
//! turning successive scrapes into per-interval series: counters (names ending in `_total`,
//! `_count`, `_sum` or `_bucket`) become increments between scrapes (a reset counts from
//! zero, as PromQL's `increase`), everything else is sampled as is.

use std::collections::BTreeMap;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Label pairs.
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// Parse the text format; malformed lines are skipped (a scrape is best effort, and one bad
/// line must not hide the rest).
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = line.get(..name_end)?.to_string();
    let mut rest = line.get(name_end..)?;
    let mut labels = BTreeMap::new();
    if rest.starts_with('{') {
        let (parsed, after) = parse_labels(rest.get(1..)?)?;
        labels = parsed;
        rest = after;
    }
    let value_text = rest.split_whitespace().next()?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// Parse `a="x",b="y"}` (after the opening brace); returns the labels and the text after `}`.
fn parse_labels(mut s: &str) -> Option<(BTreeMap<String, String>, &str)> {
    let mut labels = BTreeMap::new();
    loop {
        s = s.trim_start().trim_start_matches(',').trim_start();
        if let Some(after) = s.strip_prefix('}') {
            return Some((labels, after));
        }
        let eq = s.find('=')?;
        let key = s.get(..eq)?.trim().to_string();
        s = s.get(eq + 1..)?.trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        labels.insert(key, value);
        s = s.get(end + 1..)?;
    }
}

/// A metric selector as written in a scrape-mode analysis template: `name` or
/// `name{label="value",...}`; all matching samples are summed.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// Metric name.
    pub name: String,
    /// Labels that must match exactly.
    pub labels: BTreeMap<String, String>,
}

impl Selector {
    /// Parse a selector; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Selector> {
        let text = text.trim();
        let (name, labels) = match text.find('{') {
            Some(i) => {
                let (labels, rest) = parse_labels(text.get(i + 1..)?)?;
                if !rest.trim().is_empty() {
                    return None;
                }
                (text.get(..i)?.trim(), labels)
            }
            None => (text, BTreeMap::new()),
        };
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        valid.then(|| Selector {
            name: name.to_string(),
            labels,
        })
    }

    /// Whether successive values are increments of a counter.
    pub fn is_counter(&self) -> bool {
        ["_total", "_count", "_sum", "_bucket"]
            .iter()
            .any(|s| self.name.ends_with(s))
    }

    /// Sum of the matching samples, `None` when nothing matches.
    pub fn value(&self, samples: &[Sample]) -> Option<f64> {
        let mut sum = None;
        for s in samples {
            if s.name == self.name && self.labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)) {
                *sum.get_or_insert(0.0) += s.value;
            }
        }
        sum
    }
}

/// Turns successive scrapes of one selector into a per-interval series.
#[derive(Debug, Clone)]
pub struct Recorder {
    selector: Selector,
    last: Option<f64>,
    /// Per-interval values so far (NaN where a scrape had no matching sample).
    pub series: Vec<f64>,
}

impl Recorder {
    /// A recorder for one selector.
    pub fn new(selector: Selector) -> Self {
        Recorder {
            selector,
            last: None,
            series: Vec::new(),
        }
    }

    /// Feed one scrape (`None` = the scrape failed).
    pub fn observe(&mut self, samples: Option<&[Sample]>) {
        let value = samples.and_then(|s| self.selector.value(s));
        if !self.selector.is_counter() {
            self.series.push(value.unwrap_or(f64::NAN));
            return;
        }
        match (self.last, value) {
            (Some(prev), Some(now)) => {
                // A counter that went down was reset; everything since the reset is new.
                let inc = if now >= prev { now - prev } else { now };
                self.series.push(inc);
                self.last = Some(now);
            }
            (None, Some(now)) => self.last = Some(now),
            (_, None) => self.series.push(f64::NAN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\n\
app_requests_total{code=\"200\",path=\"/a\"} 90\napp_requests_total{code=\"500\",path=\"/a\"} 10\n\
app_latency_ms 12.5 1700000000000\nbad line here\nweird{a=\"x\\\"y\"} +Inf\n";

    #[test]
    fn parses_labels_values_and_skips_garbage() {
        let s = parse_exposition(TEXT);
        assert_eq!(s.len(), 4);
        assert_eq!(s[1].labels.get("code").map(String::as_str), Some("500"));
        assert_eq!(s[2].value, 12.5);
        assert_eq!(s[3].labels.get("a").map(String::as_str), Some("x\"y"));
        assert!(s[3].value.is_infinite());
    }

    #[test]
    fn selector_sums_matching_series() {
        let s = parse_exposition(TEXT);
        assert_eq!(
            Selector::parse("app_requests_total").and_then(|q| q.value(&s)),
            Some(100.0)
        );
        let errs = Selector::parse("app_requests_total{code=\"500\"}").unwrap();
        assert_eq!(errs.value(&s), Some(10.0));
        assert!(Selector::parse("rate(x[1m])").is_none());
        assert!(Selector::parse("nope").unwrap().value(&s).is_none());
    }

    #[test]
    fn counters_become_increments_with_resets() {
        let sel = Selector::parse("c_total").unwrap();
        let mut r = Recorder::new(sel);
        for v in [5.0, 8.0, 8.0, 2.0, 6.0] {
            let s = vec![Sample {
                name: "c_total".into(),
                labels: BTreeMap::new(),
                value: v,
            }];
            r.observe(Some(&s));
        }
        assert_eq!(r.series, vec![3.0, 0.0, 2.0, 4.0]);
        let mut g = Recorder::new(Selector::parse("g").unwrap());
        g.observe(None);
        assert!(g.series[0].is_nan());
    }
}
