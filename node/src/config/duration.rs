//! Durations as operators write them: `90s`, `5m`, `1h`, `250ms`, `7d`, or a sum
//! such as `1h30m`. A unit is always required, so `5` never silently means
//! seconds to one reader and minutes to another.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Parses `1h`, `30m`, `90s`, `250ms`, `7d` and sums of them (`1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let bad = || format!("{text:?} is not a duration like 90s, 5m or 1h");
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| format!("{text:?} is too long"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit_ms: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(format!("{text:?} needs a unit (ms, s, m, h or d)")),
            other => return Err(format!("{text:?}: unknown unit {other:?} (use ms, s, m, h or d)")),
        };
        rest = &rest[unit_len..];
        let part = n.checked_mul(unit_ms).ok_or_else(|| format!("{text:?} is too long"))?;
        total = total.checked_add(Duration::from_millis(part)).ok_or_else(|| format!("{text:?} is too long"))?;
    }
    Ok(total)
}

/// `#[serde(deserialize_with = "...")]` for config fields written as `"5m"`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_forms_parse() {
        let cases = [
            ("1h", 3_600_000),
            ("30m", 1_800_000),
            ("90s", 90_000),
            ("5m", 300_000),
            ("250ms", 250),
            ("7d", 7 * 86_400_000),
            ("1h30m", 5_400_000),
            (" 2m ", 120_000),
            ("0s", 0),
        ];
        for (text, ms) in cases {
            assert_eq!(parse_duration(text), Ok(Duration::from_millis(ms)), "{text}");
        }
    }

    #[test]
    fn garbage_and_missing_units_are_refused() {
        for text in ["", "m", "5", "5 parsecs", "1.5h", "-1s", "h1", "5mm", "99999999999999999999d"] {
            assert!(parse_duration(text).is_err(), "{text:?} should be refused");
        }
        assert!(parse_duration("5").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("5y").unwrap_err().contains("unknown unit"));
    }
}
