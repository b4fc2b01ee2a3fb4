//! `dnsNames` patterns: an exact name, or `*.<suffix>` for exactly one label
//! in front of the suffix.

use std::str::FromStr;

/// A valid pattern, normalised (see [`normalise`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsPattern {
    /// The name itself.
    Exact(String),
    /// `*.<suffix>`, holding the suffix.
    Wildcard(String),
}

/// Why a `dnsNames` entry is not a pattern.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("is empty")]
    Empty,
    // CSRs carry IDNs as A-labels, so a U-label pattern could never match.
    #[error("is not ASCII (write an IDN in its xn-- form)")]
    NotAscii,
    #[error("has a `*` that is not the whole first label of `*.<suffix>`")]
    MisplacedWildcard,
}

impl FromStr for DnsPattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if !text.is_ascii() {
            return Err(PatternError::NotAscii);
        }
        let normal = normalise(text);
        if normal.is_empty() {
            return Err(PatternError::Empty);
        }
        match normal.strip_prefix("*.") {
            Some(suffix) if !suffix.is_empty() && !suffix.contains('*') => {
                Ok(DnsPattern::Wildcard(suffix.to_owned()))
            }
            None if !normal.contains('*') => Ok(DnsPattern::Exact(normal)),
            _ => Err(PatternError::MisplacedWildcard),
        }
    }
}

impl DnsPattern {
    /// Whether a requested DNS name matches. A wildcard matches one more label
    /// in front of its suffix, which includes the literal wildcard request
    /// `*.<suffix>` itself.
    pub fn matches(&self, name: &str) -> bool {
        let name = normalise(name);
        match self {
            DnsPattern::Exact(exact) => name == *exact,
            DnsPattern::Wildcard(suffix) => name
                .strip_suffix(suffix.as_str())
                .and_then(|head| head.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        }
    }
}

/// ASCII lowercase, without one trailing dot (a fully qualified name).
fn normalise(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> DnsPattern {
        text.parse().expect("a valid pattern")
    }

    #[test]
    fn an_exact_pattern_matches_its_name_only() {
        let exact = pattern("api.example.com");
        for name in ["api.example.com", "API.Example.COM", "api.example.com."] {
            assert!(exact.matches(name), "{name}");
        }
        for name in [
            "a.api.example.com",
            "example.com",
            "xapi.example.com",
            "api.example.com..",
            "*.example.com",
        ] {
            assert!(!exact.matches(name), "{name}");
        }
    }

    #[test]
    fn a_wildcard_matches_exactly_one_more_label() {
        let wildcard = pattern("*.apps.example.com");
        for name in [
            "a.apps.example.com",
            "A-1.APPS.example.com.",
            "*.apps.example.com",
            "xn--bcher-kva.apps.example.com",
        ] {
            assert!(wildcard.matches(name), "{name}");
        }
        for name in [
            "apps.example.com",
            "a.b.apps.example.com",
            ".apps.example.com",
            "aapps.example.com",
            "*.b.apps.example.com",
            "a.apps.example.org",
        ] {
            assert!(!wildcard.matches(name), "{name}");
        }
    }

    #[test]
    fn patterns_are_normalised_and_idns_written_as_a_labels() {
        assert_eq!(
            pattern("*.Apps.Example.COM."),
            DnsPattern::Wildcard("apps.example.com".into())
        );
        let idn = pattern("XN--BCHER-KVA.example");
        assert!(idn.matches("xn--bcher-kva.example."));
        assert!(!idn.matches("bücher.example"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for (text, error) in [
            ("", PatternError::Empty),
            (".", PatternError::Empty),
            ("bücher.example", PatternError::NotAscii),
            ("*", PatternError::MisplacedWildcard),
            ("*.", PatternError::MisplacedWildcard),
            ("a*.example.com", PatternError::MisplacedWildcard),
            ("**.example.com", PatternError::MisplacedWildcard),
            ("a.*.example.com", PatternError::MisplacedWildcard),
            ("*.*.example.com", PatternError::MisplacedWildcard),
        ] {
            assert_eq!(text.parse::<DnsPattern>(), Err(error), "{text:?}");
        }
    }
}
