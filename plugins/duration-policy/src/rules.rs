//! The policy's rules, as plain functions of plain data.

use std::time::Duration;

use wasm_issuer_plugin_api::{InvalidConfig, format_duration, parse_duration};

/// A valid configuration: the bounds, each optional, min at most max.
#[derive(Debug)]
pub struct Rules {
    min: Option<Duration>,
    max: Option<Duration>,
}

impl Rules {
    pub fn new(min: Option<&str>, max: Option<&str>) -> Result<Rules, InvalidConfig> {
        let min = parse_bound("minDuration", min)?;
        let max = parse_bound("maxDuration", max)?;
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(InvalidConfig::new(format!(
                "minDuration {} is longer than maxDuration {}",
                format_duration(min),
                format_duration(max)
            )));
        }
        Ok(Rules { min, max })
    }

    /// Allows (`Ok`) or denies with a reason naming the duration and the bounds.
    pub fn check(&self, duration: Duration) -> Result<(), String> {
        let range = match (self.min, self.max) {
            (Some(min), Some(max)) if duration < min || duration > max => {
                format!("{} to {}", format_duration(min), format_duration(max))
            }
            (Some(min), None) if duration < min => format!("at least {}", format_duration(min)),
            (None, Some(max)) if duration > max => format!("at most {}", format_duration(max)),
            _ => return Ok(()),
        };
        Err(format!(
            "duration {} is outside the allowed range ({range})",
            format_duration(duration)
        ))
    }
}

fn parse_bound(field: &str, text: Option<&str>) -> Result<Option<Duration>, InvalidConfig> {
    text.map(|text| parse_duration(text).map_err(|e| InvalidConfig::new(format!("{field}: {e}"))))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    fn rules(min: Option<&str>, max: Option<&str>) -> Rules {
        Rules::new(min, max).expect("valid rules")
    }

    #[test]
    fn durations_within_the_bounds_are_allowed_bounds_included() {
        let rules = rules(Some("1h"), Some("2160h"));
        for duration in [HOUR, 24 * HOUR, 2160 * HOUR] {
            assert_eq!(rules.check(duration), Ok(()), "{duration:?}");
        }
    }

    #[test]
    fn durations_outside_name_both_bounds() {
        let rules = rules(Some("1h"), Some("2160h"));
        assert_eq!(
            rules.check(30 * MINUTE),
            Err("duration 30m is outside the allowed range (1h to 2160h)".to_owned())
        );
        assert_eq!(
            rules.check(2160 * HOUR + Duration::from_secs(1)),
            Err("duration 2160h1s is outside the allowed range (1h to 2160h)".to_owned())
        );
    }

    #[test]
    fn a_missing_bound_does_not_limit() {
        let at_least = rules(Some("1h"), None);
        assert_eq!(at_least.check(100_000 * HOUR), Ok(()));
        assert_eq!(
            at_least.check(59 * MINUTE),
            Err("duration 59m is outside the allowed range (at least 1h)".to_owned())
        );
        let at_most = rules(None, Some("24h"));
        assert_eq!(at_most.check(Duration::ZERO), Ok(()));
        assert_eq!(
            at_most.check(25 * HOUR),
            Err("duration 25h is outside the allowed range (at most 24h)".to_owned())
        );
        assert_eq!(rules(None, None).check(Duration::MAX), Ok(()));
        assert_eq!(rules(Some("1h"), Some("1h")).check(HOUR), Ok(()));
    }

    #[test]
    fn a_bad_configuration_is_reported() {
        let bad = |min, max| Rules::new(min, max).unwrap_err().to_string();
        assert_eq!(
            bad(Some("2h"), Some("90m")),
            "invalid plugin configuration: minDuration 2h is longer than maxDuration 1h30m"
        );
        assert_eq!(
            bad(Some("1d"), None),
            "invalid plugin configuration: minDuration: invalid duration \"1d\": units are h, m and s"
        );
        assert_eq!(
            bad(None, Some("")),
            "invalid plugin configuration: maxDuration: invalid duration \"\": empty"
        );
    }
}
