//! Durations as cert-manager users write them.

use std::time::Duration;

/// Parses a duration the way cert-manager's fields are written (Go's
/// `time.ParseDuration`, to the second): whole numbers with `h`, `m` or `s`
/// units in sequence, e.g. `"24h"`, `"90m"`, `"2h30m"`, `"1h0m30s"`; `"0"`
/// alone is zero.
///
/// ```
/// # use std::time::Duration;
/// # use wasm_issuer_plugin_api::parse_duration;
/// assert_eq!(parse_duration("2h30m"), Ok(Duration::from_secs(9000)));
/// assert!(parse_duration("1d").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = |why: &str| format!("invalid duration {text:?}: {why}");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(invalid("empty"));
    }
    let mut seconds: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid("expected a number"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| invalid("number too large"))?;
        let mut units = rest[digits..].chars();
        let unit = match units.next() {
            Some('h') => 3600,
            Some('m') => 60,
            Some('s') => 1,
            Some(_) => return Err(invalid("units are h, m and s")),
            None => return Err(invalid("missing unit")),
        };
        seconds = number
            .checked_mul(unit)
            .and_then(|s| seconds.checked_add(s))
            .ok_or_else(|| invalid("too long"))?;
        rest = units.as_str();
    }
    Ok(Duration::from_secs(seconds))
}

/// Writes a duration the way [`parse_duration`] reads it, e.g. `"2h30m"`,
/// `"45s"`, `"0s"`; below a second is dropped.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let parts = [
        (seconds / 3600, "h"),
        (seconds / 60 % 60, "m"),
        (seconds % 60, "s"),
    ];
    let text: String = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sequences_of_units() {
        for (text, seconds) in [
            ("0", 0),
            ("45s", 45),
            ("90m", 5400),
            ("24h", 86400),
            ("2h30m", 9000),
            ("1h0m30s", 3630),
            ("2160h", 7_776_000),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(seconds)),
                "{text}"
            );
        }
    }

    #[test]
    fn formats_what_it_parses() {
        for text in ["0s", "45s", "1h30s", "2h30m", "2160h"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        for text in [
            "",
            "24",
            "h",
            "1d",
            "1.5h",
            "-1h",
            "1h ",
            " 1h",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(text).is_err(), "{text:?} parsed");
        }
    }
}
