//! Durations and points in time as users write them, parsed in one place.
//!
//! One grammar serves every door, because the same person writes a Prometheus range
//! (`[5m]`), a config field (`timeout: 30s`), an Argo `hold.timeout` (Go's `1.5h`) and a
//! `--since now-30m`: a sequence of `<number><unit>` parts with units `ns, us, µs, ms, s, m,
//! h, d, w, y` (d = 24 h, w = 7 d, y = 365 d as in Prometheus' `model.ParseDuration`; decimal
//! numbers as in Go's `time.ParseDuration`), or a bare `0`. Callers that cannot use a zero
//! duration (a query step, a lookback) ask for [`parse_positive_duration`].

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration or time text that cannot be understood; the message quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {why} (expected e.g. 30s, 1m, 1h30m, 250ms, 1.5h)")]
pub struct DurationError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// A time text that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// `now-<duration>` with a bad duration.
    #[error("time {text:?}: {source}")]
    Duration {
        /// The whole time text.
        text: String,
        /// The duration part's error.
        source: DurationError,
    },
    /// Neither Unix seconds, RFC 3339, `now` nor `now-<duration>`.
    #[error("{0:?} is not a time (Unix seconds, RFC 3339, `now` or `now-30m`)")]
    Unrecognised(String),
}

/// Parses a duration (see the module header for the grammar). Zero is allowed.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let bad = |why| DurationError {
        text: text.to_string(),
        why,
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_ns: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad("expected a number"));
        }
        let (number, after) = rest.split_at(num_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let unit_ns: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "w" => 604_800_000_000_000,
            "y" => 31_536_000_000_000_000,
            "" => return Err(bad("missing unit")),
            _ => return Err(bad("unknown unit")),
        };
        total_ns = total_ns
            .checked_add(scaled(number, unit_ns).ok_or_else(|| bad("not a number"))?)
            .ok_or_else(|| bad("too long"))?;
        rest = next;
    }
    let secs = u64::try_from(total_ns / 1_000_000_000).map_err(|_| bad("too long"))?;
    // The remainder is below 10^9 by construction.
    let nanos = (total_ns % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// `number` (digits with at most one `.`) times `unit_ns`, exactly, truncated to whole
/// nanoseconds; `None` when it is not such a number or overflows.
fn scaled(number: &str, unit_ns: u128) -> Option<u128> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut value = int.checked_mul(unit_ns)?;
    let mut scale = unit_ns;
    for d in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        value = value.checked_add(u128::from(d - b'0') * scale)?;
    }
    Some(value)
}

/// As [`parse_duration`], refusing zero (query steps, lookbacks, timeouts).
pub fn parse_positive_duration(text: &str) -> Result<Duration, DurationError> {
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err(DurationError {
            text: text.to_string(),
            why: "must be more than zero",
        });
    }
    Ok(d)
}

/// Parses a time: Unix seconds, RFC 3339 (`2026-01-02T15:04:05Z`), `now`, or `now-30m`
/// (a duration back from `now`). `now` is passed in so callers pin it.
pub fn parse_time(text: &str, now: i64) -> Result<i64, TimeError> {
    let t = text.trim();
    if t == "now" {
        return Ok(now);
    }
    if let Some(rest) = t.strip_prefix("now-") {
        let d = parse_duration(rest).map_err(|source| TimeError::Duration {
            text: text.to_string(),
            source,
        })?;
        return Ok(now.saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
    }
    if let Ok(secs) = t.parse::<i64>() {
        return Ok(secs);
    }
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map(|d| d.unix_timestamp())
        .map_err(|_| TimeError::Unrecognised(text.to_string()))
}

/// Serde helper: a required duration field, more than zero.
pub fn deserialize_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_positive_duration(&s).map_err(serde::de::Error::custom)
}

/// Serde helper: an optional duration field, more than zero.
pub fn deserialize_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    deserialize_duration(d).map(Some)
}

/// Serde helper: a duration field where zero (`0`, `0s`) means "off".
pub fn deserialize_duration_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_and_go_forms() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("1m", ms(60_000)),
            ("1h30m", ms(5_400_000)),
            ("250ms", ms(250)),
            ("2d", ms(172_800_000)),
            ("1w", ms(604_800_000)),
            ("1.5s", ms(1500)),
            ("1.5h", ms(5_400_000)),
            ("300us", Duration::from_micros(300)),
            ("7ns", Duration::from_nanos(7)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            (" 30s ", ms(30_000)),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for bad in [
            "",
            "m",
            "1",
            "1x",
            "-1s",
            "1m x",
            ".s",
            "1..5s",
            "99999999999999999999y",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_positive_duration("0s").is_err());
        assert!(
            parse_duration("1x")
                .unwrap_err()
                .to_string()
                .contains("\"1x\"")
        );
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("now", 100), Ok(100));
        assert_eq!(parse_time("now-30s", 100), Ok(70));
        assert_eq!(parse_time("1700000000", 0), Ok(1_700_000_000));
        assert_eq!(parse_time("2026-01-02T00:00:00Z", 0), Ok(1_767_312_000));
        assert!(matches!(
            parse_time("now-x", 0),
            Err(TimeError::Duration { .. })
        ));
        assert!(matches!(
            parse_time("yesterday", 0),
            Err(TimeError::Unrecognised(_))
        ));
    }
}
