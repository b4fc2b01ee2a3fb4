//! The policy's rules, as plain functions of plain data.

use std::time::Duration;

use wasm_issuer_plugin_api::{InvalidConfig, San, format_duration, parse_duration};

/// A valid configuration, domains normalised.
#[derive(Debug)]
pub struct Rules {
    domains: Vec<String>,
    max_duration: Option<Duration>,
    allow_ca: bool,
}

impl Rules {
    pub fn new(
        domains: &[String],
        max_duration: Option<&str>,
        allow_ca: bool,
    ) -> Result<Rules, InvalidConfig> {
        let domains = domains
            .iter()
            .map(|domain| {
                let normal = normalise(domain);
                // An empty entry would match nothing useful and a wildcard
                // would never match as written: both are typos to report.
                if normal.is_empty() || normal.starts_with('.') || normal.contains('*') {
                    Err(InvalidConfig::new(format!(
                        "allowedDomains: {domain:?} is not a domain name"
                    )))
                } else {
                    Ok(normal)
                }
            })
            .collect::<Result<_, _>>()?;
        let max_duration = max_duration
            .map(|text| {
                parse_duration(text).map_err(|e| InvalidConfig::new(format!("maxDuration: {e}")))
            })
            .transpose()?;
        Ok(Rules {
            domains,
            max_duration,
            allow_ca,
        })
    }

    /// Allows (`Ok`) or denies with a reason naming the first offending value.
    pub fn check(
        &self,
        sans: &[San],
        common_name: Option<&str>,
        duration: Duration,
        is_ca: bool,
    ) -> Result<(), String> {
        for san in sans {
            // An IP, email, URI or otherName is under no domain: letting it
            // through would grant names the policy never lists.
            match san {
                San::Dns(name) => self.allowed(name, "DNS name")?,
                San::Ip(address) => return Err(not_a_dns_name("IP address", address)),
                San::Email(email) => return Err(not_a_dns_name("email", email)),
                San::Uri(uri) => return Err(not_a_dns_name("URI", uri)),
                San::OtherName(other) => return Err(not_a_dns_name("otherName", &other.type_id)),
            }
        }
        if let Some(common_name) = common_name.filter(|cn| is_dns_like(cn)) {
            self.allowed(common_name, "common name")?;
        }
        if let Some(max) = self.max_duration.filter(|&max| duration > max) {
            return Err(format!(
                "duration {} is longer than maxDuration {}",
                format_duration(duration),
                format_duration(max)
            ));
        }
        if is_ca && !self.allow_ca {
            return Err("isCA is not allowed (allowCA is false)".to_owned());
        }
        Ok(())
    }

    fn allowed(&self, name: &str, what: &str) -> Result<(), String> {
        let normal = normalise(name);
        if self.domains.iter().any(|domain| is_under(&normal, domain)) {
            Ok(())
        } else {
            Err(format!(
                "{what} {name:?} is not under an allowed domain ({})",
                self.domains.join(", ")
            ))
        }
    }
}

/// The denial of a SAN that is not a DNS name.
fn not_a_dns_name(kind: &str, value: &str) -> String {
    format!("{kind} SAN {value:?} is not allowed: only DNS names under an allowed domain are")
}

/// Lowercase, without the trailing dot of a fully qualified name.
fn normalise(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Whether `name` is `domain` or a name under it (both normalised), so
/// `*.example.com` is under `example.com` and `badexample.com` is not.
fn is_under(name: &str, domain: &str) -> bool {
    name == domain
        || name
            .strip_suffix(domain)
            .is_some_and(|head| head.ends_with('.'))
}

/// Whether a common name has the shape of a DNS name (at least two labels of
/// hostname characters), as opposed to a person's or a service's name.
fn is_dns_like(common_name: &str) -> bool {
    common_name.contains('.')
        && common_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(max_duration: Option<&str>, allow_ca: bool) -> Rules {
        let domains = ["Example.com.".to_owned(), "example.org".to_owned()];
        Rules::new(&domains, max_duration, allow_ca).unwrap()
    }

    const DAY: Duration = Duration::from_secs(86_400);

    fn dns(names: &[&str]) -> Vec<San> {
        names
            .iter()
            .map(|name| San::Dns(name.to_string()))
            .collect()
    }

    #[test]
    fn names_equal_to_or_under_a_domain_are_allowed() {
        let names = dns(&[
            "example.com",
            "A.Example.COM.",
            "*.example.com",
            "x.y.example.org",
        ]);
        assert_eq!(
            rules(None, false).check(&names, Some("www.example.com"), DAY, false),
            Ok(())
        );
    }

    #[test]
    fn the_first_name_outside_is_named() {
        let names = dns(&["a.example.com", "badexample.com", "evil.net"]);
        assert_eq!(
            rules(None, false).check(&names, None, DAY, false),
            Err(
                "DNS name \"badexample.com\" is not under an allowed domain (example.com, example.org)"
                    .to_owned()
            )
        );
        assert_eq!(
            rules(None, false).check(
                &dns(&["example.com."]),
                Some("example.com.evil.net"),
                DAY,
                false
            ),
            Err(
                "common name \"example.com.evil.net\" is not under an allowed domain (example.com, example.org)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn wildcards_idns_uppercase_and_trailing_dots() {
        let rules = Rules::new(
            &["example.com".to_owned(), "XN--BCHER-KVA.example".to_owned()],
            None,
            false,
        )
        .unwrap();
        for name in [
            "*.example.com",
            "*.a.example.com",
            "WWW.EXAMPLE.COM",
            "www.example.com.",
            "xn--bcher-kva.example",
            "www.xn--bcher-kva.example.",
            "Shop.XN--Bcher-Kva.Example",
        ] {
            assert_eq!(
                rules.check(&dns(&[name]), None, DAY, false),
                Ok(()),
                "{name}"
            );
        }
        for name in [
            "*.com",
            "*example.com",
            "example.com..",
            "bücher.example",
            "xn--bcher-kva.example.net",
        ] {
            assert_eq!(
                rules.check(&dns(&[name]), None, DAY, false),
                Err(format!(
                    "DNS name {name:?} is not under an allowed domain (example.com, xn--bcher-kva.example)"
                )),
                "{name}"
            );
        }
        assert_eq!(rules.check(&[], Some("*.EXAMPLE.com."), DAY, false), Ok(()));
    }

    #[test]
    fn sans_that_are_not_dns_names_are_denied() {
        let other_name = San::OtherName(wasm_issuer_plugin_api::OtherName {
            type_id: "1.3.6.1.4.1.311.20.2.3".into(),
            value: vec![0x0c, 1, b'a'],
        });
        for (san, reason) in [
            (
                San::Ip("192.0.2.10".into()),
                "IP address SAN \"192.0.2.10\"",
            ),
            (
                San::Email("ops@example.com".into()),
                "email SAN \"ops@example.com\"",
            ),
            (
                San::Uri("spiffe://example.com/app".into()),
                "URI SAN \"spiffe://example.com/app\"",
            ),
            (other_name, "otherName SAN \"1.3.6.1.4.1.311.20.2.3\""),
        ] {
            let sans = [San::Dns("app.example.com".into()), san];
            assert_eq!(
                rules(None, false).check(&sans, Some("app.example.com"), DAY, false),
                Err(format!(
                    "{reason} is not allowed: only DNS names under an allowed domain are"
                ))
            );
        }
    }

    #[test]
    fn a_request_without_names_or_subject_has_nothing_to_deny() {
        let rules = rules(None, false);
        assert_eq!(rules.check(&[], None, DAY, false), Ok(()));
        assert_eq!(rules.check(&[], Some(""), DAY, false), Ok(()));
        assert_eq!(
            rules.check(&[], Some("app.example.net"), DAY, false),
            Err(
                "common name \"app.example.net\" is not under an allowed domain (example.com, example.org)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_common_name_that_is_not_dns_like_is_ignored() {
        for cn in ["My Service", "admin", "system:node:n1"] {
            assert_eq!(
                rules(None, false).check(&[], Some(cn), DAY, false),
                Ok(()),
                "{cn}"
            );
        }
    }

    #[test]
    fn duration_and_is_ca_are_bounded() {
        let rules = rules(Some("24h"), false);
        assert_eq!(rules.check(&[], None, DAY, false), Ok(()));
        assert_eq!(
            rules.check(&[], None, DAY + Duration::from_secs(60), false),
            Err("duration 24h1m is longer than maxDuration 24h".to_owned())
        );
        assert_eq!(
            rules.check(&[], None, DAY, true),
            Err("isCA is not allowed (allowCA is false)".to_owned())
        );
        assert_eq!(
            self::rules(None, true).check(&[], None, DAY * 365, true),
            Ok(())
        );
    }

    #[test]
    fn a_bad_configuration_is_reported() {
        let bad = |domains: &[&str], max: Option<&str>| {
            let domains: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
            Rules::new(&domains, max, false).unwrap_err().to_string()
        };
        assert_eq!(
            bad(&["*.example.com"], None),
            "invalid plugin configuration: allowedDomains: \"*.example.com\" is not a domain name"
        );
        assert_eq!(
            bad(&[""], None),
            "invalid plugin configuration: allowedDomains: \"\" is not a domain name"
        );
        assert_eq!(
            bad(&["example.com"], Some("1d")),
            "invalid plugin configuration: maxDuration: invalid duration \"1d\": units are h, m and s"
        );
    }
}
