//! Recorded series files. A scalar series is numbers one per line, a JSON array, or CSV
//! `timestamp,value` (a header line is allowed; the format is detected from the content). A
//! histogram is CSV `timestamp,le,count` or JSON `{"bounds": [...], "intervals": [[...]]}`.
//! Errors name the file and the line (or array element) so a person can fix the input.

use super::SeriesFileError;
use crate::stats::quantile::HistogramSeries;
use std::path::Path;

/// Numbers read from a series file, each with where it came from (`line 3`, `element 2`), so
/// callers that reject NaN or infinities can point at the offending entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedValues {
    /// The values in file order (NaN and infinities kept as written).
    pub values: Vec<f64>,
    /// Location of each value, same length as `values`.
    pub positions: Vec<String>,
}

impl ParsedValues {
    /// The first NaN or infinite value and its location, if any.
    pub fn first_non_finite(&self) -> Option<(f64, &str)> {
        self.values
            .iter()
            .zip(&self.positions)
            .find(|(v, _)| !v.is_finite())
            .map(|(v, p)| (*v, p.as_str()))
    }
}

/// Read a scalar series file and keep the location of every value.
pub fn read_values(path: &Path) -> Result<ParsedValues, SeriesFileError> {
    let text = read_text(path)?;
    parse_values(&text, &path.display().to_string())
}

/// Read a scalar series file; NaN and infinities are returned as written.
pub fn read_values_file(path: &Path) -> Result<Vec<f64>, SeriesFileError> {
    read_values(path).map(|p| p.values)
}

/// Read a histogram file (CSV `timestamp,le,count` or JSON).
pub fn read_histogram_file(path: &Path) -> Result<HistogramSeries, SeriesFileError> {
    let text = read_text(path)?;
    parse_histogram(&text, &path.display().to_string())
}

fn read_text(path: &Path) -> Result<String, SeriesFileError> {
    std::fs::read_to_string(path).map_err(|source| SeriesFileError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn format_error(origin: &str, at: Option<String>, why: impl Into<String>) -> SeriesFileError {
    SeriesFileError::Format {
        origin: origin.to_string(),
        at,
        why: why.into(),
    }
}

/// Parse a number as Prometheus and Go write them: decimals, exponents, `NaN`, `+Inf`, `-Inf`.
fn parse_number(field: &str) -> Option<f64> {
    let t = field.trim().trim_matches('"');
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Parse a scalar series from text; `origin` names the file in errors.
pub fn parse_values(text: &str, origin: &str) -> Result<ParsedValues, SeriesFileError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(SeriesFileError::Empty {
            origin: origin.to_string(),
        });
    }
    let parsed = if trimmed.starts_with('[') {
        parse_json_values(trimmed, origin)?
    } else {
        parse_line_values(text, origin)?
    };
    if parsed.values.is_empty() {
        return Err(SeriesFileError::Empty {
            origin: origin.to_string(),
        });
    }
    Ok(parsed)
}

fn parse_json_values(text: &str, origin: &str) -> Result<ParsedValues, SeriesFileError> {
    let items: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| format_error(origin, None, format!("not a valid JSON array: {e}")))?;
    let mut out = ParsedValues::default();
    for (i, item) in items.iter().enumerate() {
        let at = format!("element {}", i + 1);
        // Prometheus range results are `[timestamp, "value"]` pairs; take the value.
        let value_item = match item {
            serde_json::Value::Array(pair) if pair.len() == 2 => &pair[1],
            other => other,
        };
        let v = match value_item {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => parse_number(s),
            serde_json::Value::Null => Some(f64::NAN),
            _ => None,
        };
        match v {
            Some(v) => {
                out.values.push(v);
                out.positions.push(at);
            }
            None => {
                return Err(format_error(
                    origin,
                    Some(at),
                    format!("`{item}` is not a number"),
                ));
            }
        }
    }
    Ok(out)
}

fn parse_line_values(text: &str, origin: &str) -> Result<ParsedValues, SeriesFileError> {
    let mut out = ParsedValues::default();
    let mut columns: Option<usize> = None;
    let mut seen_data_line = false;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let at = format!("line {line_no}");
        if fields.len() > 2 {
            return Err(format_error(
                origin,
                Some(at),
                format!(
                    "expected one number or `timestamp,value`, found {} columns",
                    fields.len()
                ),
            ));
        }
        let value_field = fields.last().copied().unwrap_or("");
        match parse_number(value_field) {
            Some(v) => {
                if let Some(c) = columns
                    && c != fields.len()
                {
                    return Err(format_error(
                        origin,
                        Some(at),
                        format!("has {} columns but earlier lines have {c}", fields.len()),
                    ));
                }
                columns = Some(fields.len());
                out.values.push(v);
                out.positions.push(at);
                seen_data_line = true;
            }
            None if !seen_data_line && columns.is_none() && out.values.is_empty() => {
                // The first non-comment line may be a header such as `timestamp,value`.
                columns = Some(fields.len());
            }
            None => {
                return Err(format_error(
                    origin,
                    Some(at),
                    format!("`{line}` is not a number"),
                ));
            }
        }
    }
    Ok(out)
}

/// Parse a histogram from CSV `timestamp,le,count` (cumulative count per bucket bound for
/// each interval, rows of one interval together) or JSON
/// `{"bounds": [0.1, 0.5, "+Inf"], "intervals": [[3, 9, 10], ...]}`.
pub fn parse_histogram(text: &str, origin: &str) -> Result<HistogramSeries, SeriesFileError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(SeriesFileError::Empty {
            origin: origin.to_string(),
        });
    }
    let hist = if trimmed.starts_with('{') {
        parse_json_histogram(trimmed, origin)?
    } else {
        parse_csv_histogram(text, origin)?
    };
    check_histogram(&hist, origin)?;
    Ok(hist)
}

fn json_number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => parse_number(s),
        _ => None,
    }
}

fn parse_json_histogram(text: &str, origin: &str) -> Result<HistogramSeries, SeriesFileError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        bounds: Vec<serde_json::Value>,
        intervals: Vec<Vec<serde_json::Value>>,
    }
    let raw: Raw = serde_json::from_str(text)
        .map_err(|e| format_error(origin, None, format!("not a valid histogram JSON: {e}")))?;
    let mut bounds = Vec::with_capacity(raw.bounds.len());
    for (i, b) in raw.bounds.iter().enumerate() {
        bounds.push(json_number(b).ok_or_else(|| {
            format_error(
                origin,
                Some(format!("bounds element {}", i + 1)),
                format!("`{b}` is not a number"),
            )
        })?);
    }
    let mut intervals = Vec::with_capacity(raw.intervals.len());
    for (i, row) in raw.intervals.iter().enumerate() {
        let mut counts = Vec::with_capacity(row.len());
        for (j, c) in row.iter().enumerate() {
            counts.push(json_number(c).ok_or_else(|| {
                format_error(
                    origin,
                    Some(format!("intervals[{i}][{j}]")),
                    format!("`{c}` is not a number"),
                )
            })?);
        }
        intervals.push(counts);
    }
    Ok(HistogramSeries { bounds, intervals })
}

/// One CSV row of a histogram: (le, cumulative count, line number).
type BucketRow = (f64, f64, usize);

fn parse_csv_histogram(text: &str, origin: &str) -> Result<HistogramSeries, SeriesFileError> {
    // Rows grouped by timestamp in order of appearance; each group becomes one interval.
    let mut groups: Vec<(String, Vec<BucketRow>)> = Vec::new();
    let mut seen_data = false;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = Some(format!("line {line_no}"));
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 3 {
            return Err(format_error(
                origin,
                at,
                format!(
                    "expected `timestamp,le,count`, found {} columns",
                    fields.len()
                ),
            ));
        }
        let (le, count) = (parse_number(fields[1]), parse_number(fields[2]));
        let (le, count) = match (le, count) {
            (Some(le), Some(c)) => (le, c),
            _ if !seen_data => continue, // header line
            _ => {
                return Err(format_error(
                    origin,
                    at,
                    format!("`{line}` is not `timestamp,le,count` with numeric le and count"),
                ));
            }
        };
        seen_data = true;
        let ts = fields[0].to_string();
        match groups.last_mut() {
            Some((last_ts, rows)) if *last_ts == ts => rows.push((le, count, line_no)),
            _ => {
                if groups.iter().any(|(t, _)| *t == ts) {
                    return Err(format_error(
                        origin,
                        at,
                        format!("rows of interval `{ts}` must be consecutive"),
                    ));
                }
                groups.push((ts, vec![(le, count, line_no)]));
            }
        }
    }
    let mut bounds: Option<Vec<f64>> = None;
    let mut intervals = Vec::with_capacity(groups.len());
    for (ts, mut rows) in groups {
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        let these: Vec<f64> = rows.iter().map(|r| r.0).collect();
        match &bounds {
            None => bounds = Some(these),
            Some(b) if *b != these => {
                let line = rows.first().map(|r| r.2).unwrap_or(0);
                return Err(format_error(
                    origin,
                    Some(format!("line {line}")),
                    format!("interval `{ts}` has different bucket bounds than the first interval"),
                ));
            }
            Some(_) => {}
        }
        intervals.push(rows.iter().map(|r| r.1).collect());
    }
    Ok(HistogramSeries {
        bounds: bounds.unwrap_or_default(),
        intervals,
    })
}

fn check_histogram(h: &HistogramSeries, origin: &str) -> Result<(), SeriesFileError> {
    if h.bounds.is_empty() || h.intervals.is_empty() {
        return Err(SeriesFileError::Empty {
            origin: origin.to_string(),
        });
    }
    if h.bounds.iter().any(|b| b.is_nan()) || h.bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format_error(
            origin,
            None,
            "bucket bounds must be distinct numbers in increasing order",
        ));
    }
    for (i, row) in h.intervals.iter().enumerate() {
        let at = Some(format!("interval {}", i + 1));
        if row.len() != h.bounds.len() {
            return Err(format_error(
                origin,
                at,
                format!("has {} counts for {} bounds", row.len(), h.bounds.len()),
            ));
        }
        if row.iter().any(|c| !c.is_finite() || *c < 0.0) {
            return Err(format_error(
                origin,
                at,
                "counts must be finite and non-negative",
            ));
        }
        if row.windows(2).any(|w| w[1] < w[0]) {
            return Err(format_error(
                origin,
                at,
                "counts must be cumulative (non-decreasing in le)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_line_with_comments_and_blank_lines() {
        let p = parse_values("# latency\n1.5\n\n2\n-3e-1\n", "x").unwrap();
        assert_eq!(p.values, vec![1.5, 2.0, -0.3]);
        assert_eq!(p.positions[2], "line 5");
    }

    #[test]
    fn csv_with_header() {
        let p = parse_values("timestamp,value\n100,1\n160,2.5\n", "x").unwrap();
        assert_eq!(p.values, vec![1.0, 2.5]);
    }

    #[test]
    fn json_array_numbers_strings_and_pairs() {
        let p = parse_values("[1, \"2.5\", [1700000000, \"3\"], null]", "x").unwrap();
        assert_eq!(&p.values[..3], &[1.0, 2.5, 3.0]);
        assert!(p.values[3].is_nan());
    }

    #[test]
    fn non_numeric_line_names_line() {
        let e = parse_values("1\n2\nabc\n", "f.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.txt line 3"), "{e}");
    }

    #[test]
    fn empty_and_header_only_are_empty() {
        assert!(matches!(
            parse_values("  \n", "f"),
            Err(SeriesFileError::Empty { .. })
        ));
        assert!(matches!(
            parse_values("timestamp,value\n", "f"),
            Err(SeriesFileError::Empty { .. })
        ));
    }

    #[test]
    fn nan_and_inf_are_kept_and_located() {
        let p = parse_values("1\nNaN\n+Inf\n", "f").unwrap();
        let (v, at) = p.first_non_finite().unwrap();
        assert!(v.is_nan());
        assert_eq!(at, "line 2");
    }

    #[test]
    fn mixed_column_counts_rejected() {
        assert!(parse_values("1,2\n3\n", "f").is_err());
        assert!(parse_values("1,2,3\n", "f").is_err());
    }

    #[test]
    fn histogram_csv_groups_by_timestamp() {
        let text =
            "timestamp,le,count\n0,0.1,5\n0,+Inf,10\n0,0.5,8\n60,0.1,4\n60,0.5,6\n60,+Inf,7\n";
        let h = parse_histogram(text, "h").unwrap();
        assert_eq!(h.bounds, vec![0.1, 0.5, f64::INFINITY]);
        assert_eq!(h.intervals, vec![vec![5.0, 8.0, 10.0], vec![4.0, 6.0, 7.0]]);
    }

    #[test]
    fn histogram_json_and_checks() {
        let h = parse_histogram(r#"{"bounds":[0.1,"+Inf"],"intervals":[[1,2]]}"#, "h").unwrap();
        assert_eq!(h.bounds, vec![0.1, f64::INFINITY]);
        let e = parse_histogram(r#"{"bounds":[0.1,"+Inf"],"intervals":[[3,2]]}"#, "h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cumulative"), "{e}");
        let e = parse_histogram("0,0.1,5\n0,+Inf,10\n60,0.1,4\n", "h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("different bucket bounds"), "{e}");
    }

    proptest::proptest! {
        /// Any finite numbers written in any of the three formats read back exactly.
        #[test]
        fn round_trip_all_formats(values in proptest::collection::vec(-1e12f64..1e12, 1..50)) {
            let lines: String = values.iter().map(|v| format!("{v}\n")).collect();
            let csv: String = std::iter::once("timestamp,value\n".to_string())
                .chain(values.iter().enumerate().map(|(i, v)| format!("{i},{v}\n")))
                .collect();
            let json = serde_json::to_string(&values).unwrap();
            for text in [lines, csv, json] {
                let parsed = parse_values(&text, "p").unwrap();
                proptest::prop_assert_eq!(&parsed.values, &values);
            }
        }

        /// Arbitrary text never panics the parsers.
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = parse_values(&text, "p");
            let _ = parse_histogram(&text, "p");
        }
    }
}
