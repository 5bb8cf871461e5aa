//! Prometheus duration strings (`90s`, `1m`, `1h30m`, `250ms`): parsing for config fields and
//! for the range selectors inside PromQL, so a config reads the same way a query does.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Parses a Prometheus duration: one or more `<integer><unit>` parts, units
/// `ms, s, m, h, d, w, y` (d = 24h, w = 7d, y = 365d, as in Prometheus' `model.ParseDuration`).
/// Returns `None` for anything else, including an empty string and a zero duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total_ms: u64 = 0;
    if bytes.is_empty() {
        return None;
    }
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return None;
        }
        let number: u64 = text.get(start..i)?.parse().ok()?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit_ms: u64 = match text.get(unit_start..i)? {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total_ms = total_ms.checked_add(number.checked_mul(unit_ms)?)?;
    }
    if total_ms == 0 {
        return None;
    }
    Some(Duration::from_millis(total_ms))
}

/// Serde helper: a required duration field written as a Prometheus duration string.
pub fn deserialize_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "invalid duration {s:?}: expected e.g. 30s, 1m, 1h30m, 250ms"
        ))
    })
}

/// Serde helper: an optional duration field.
pub fn deserialize_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    deserialize_duration(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        for bad in ["", "m", "1", "1x", "0s", "-1s", "1.5m", "1m "] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
