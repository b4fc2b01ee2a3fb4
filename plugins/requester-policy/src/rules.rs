//! The policy's decision, as plain functions of plain data.

use wasm_issuer_plugin_api::{Requester, San};

use crate::pattern::DnsPattern;

/// One valid rule: who it applies to and the names it grants them.
#[derive(Debug, Default)]
pub struct Rule {
    pub users: Vec<String>,
    pub groups: Vec<String>,
    /// Usernames of the rule's ServiceAccounts, `system:serviceaccount:<namespace>:<name>`.
    pub service_accounts: Vec<String>,
    pub dns_names: Vec<DnsPattern>,
}

impl Rule {
    fn applies_to(&self, requester: &Requester) -> bool {
        self.users.contains(&requester.username)
            || self.service_accounts.contains(&requester.username)
            || self
                .groups
                .iter()
                .any(|group| requester.groups.contains(group))
    }

    fn grants(&self, name: &str) -> bool {
        self.dns_names.iter().any(|pattern| pattern.matches(name))
    }
}

/// A valid configuration.
#[derive(Debug)]
pub struct Rules(pub Vec<Rule>);

impl Rules {
    /// Allows (`Ok`) or denies with the reason the specification words:
    /// first who asks, then the kinds of SANs, then each name in order.
    pub fn check(
        &self,
        requester: &Requester,
        sans: &[San],
        common_name: Option<&str>,
    ) -> Result<(), String> {
        let who = match requester.username.as_str() {
            "" => "(anonymous)",
            username => username,
        };
        let applying: Vec<&Rule> = self
            .0
            .iter()
            .filter(|rule| rule.applies_to(requester))
            .collect();
        if applying.is_empty() {
            return Err(format!(
                "{who} may not request certificates from this issuer"
            ));
        }
        if let Some(kind) = sans.iter().find_map(non_dns_kind) {
            return Err(format!(
                "{who} may not request {kind} SANs: only DNS names are granted"
            ));
        }
        let dns_names = sans.iter().filter_map(|san| match san {
            San::Dns(name) => Some(name.as_str()),
            _ => None,
        });
        let common_name = common_name.filter(|name| looks_like_dns(name));
        match dns_names
            .chain(common_name)
            .find(|name| !applying.iter().any(|rule| rule.grants(name)))
        {
            Some(name) => Err(format!("{who} may not request DNS name {name}")),
            None => Ok(()),
        }
    }
}

/// How the denial names a SAN that is not a DNS name.
fn non_dns_kind(san: &San) -> Option<&'static str> {
    match san {
        San::Dns(_) => None,
        San::Ip(_) => Some("IP address"),
        San::Email(_) => Some("email"),
        San::Uri(_) => Some("URI"),
        San::OtherName(_) => Some("otherName"),
    }
}

/// Whether a common name has the shape of a DNS name, as opposed to a
/// person's or a service's name: a dot, and only ASCII letters, digits, `-`,
/// `.` and `*`.
fn looks_like_dns(common_name: &str) -> bool {
    common_name.contains('.')
        && common_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*'))
}

#[cfg(test)]
mod tests {
    use wasm_issuer_plugin_api::OtherName;

    use super::*;

    fn patterns(texts: &[&str]) -> Vec<DnsPattern> {
        texts
            .iter()
            .map(|text| text.parse().expect("a valid pattern"))
            .collect()
    }

    fn strings(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|text| text.to_string()).collect()
    }

    /// alice and the web-team may have api.example.com and one label under
    /// apps.example.com; the builder ServiceAccount in team may have ci.example.com.
    fn rules() -> Rules {
        Rules(vec![
            Rule {
                users: strings(&["alice"]),
                groups: strings(&["web-team"]),
                dns_names: patterns(&["api.example.com", "*.apps.example.com"]),
                ..Rule::default()
            },
            Rule {
                service_accounts: strings(&["system:serviceaccount:team:builder"]),
                dns_names: patterns(&["ci.example.com", "xn--bcher-kva.example"]),
                ..Rule::default()
            },
        ])
    }

    fn requester(username: &str, groups: &[&str]) -> Requester {
        Requester {
            username: username.into(),
            uid: String::new(),
            groups: strings(groups),
            extra: Vec::new(),
        }
    }

    fn dns(names: &[&str]) -> Vec<San> {
        names
            .iter()
            .map(|name| San::Dns(name.to_string()))
            .collect()
    }

    #[test]
    fn a_user_a_group_member_or_a_service_account_gets_its_names() {
        let rules = rules();
        let alice = requester("alice", &[]);
        let bob = requester("bob", &["system:authenticated", "web-team"]);
        let builder = requester("system:serviceaccount:team:builder", &[]);
        let web = dns(&["api.example.com", "a.apps.example.com"]);
        assert_eq!(rules.check(&alice, &web, Some("api.example.com")), Ok(()));
        assert_eq!(rules.check(&bob, &web, None), Ok(()));
        assert_eq!(
            rules.check(&builder, &dns(&["ci.example.com"]), None),
            Ok(())
        );
        assert_eq!(
            rules.check(&builder, &web, None),
            Err(
                "system:serviceaccount:team:builder may not request DNS name api.example.com"
                    .into()
            )
        );
    }

    #[test]
    fn a_requester_no_rule_applies_to_is_denied() {
        let rules = rules();
        for (requester, reason) in [
            (
                requester("mallory", &["system:authenticated"]),
                "mallory may not request certificates from this issuer",
            ),
            (
                requester("", &[]),
                "(anonymous) may not request certificates from this issuer",
            ),
            // A ServiceAccount of the same name in another namespace.
            (
                requester("system:serviceaccount:other:builder", &[]),
                "system:serviceaccount:other:builder may not request certificates from this issuer",
            ),
            // Names and groups are compared exactly.
            (
                requester("Alice", &["Web-Team"]),
                "Alice may not request certificates from this issuer",
            ),
        ] {
            assert_eq!(
                rules.check(&requester, &dns(&["api.example.com"]), None),
                Err(reason.into())
            );
        }
        assert_eq!(
            Rules(Vec::new()).check(&requester("alice", &[]), &[], None),
            Err("alice may not request certificates from this issuer".into())
        );
    }

    #[test]
    fn the_first_san_that_is_not_a_dns_name_is_named_by_kind() {
        let rules = rules();
        let alice = requester("alice", &[]);
        let other_name = San::OtherName(OtherName {
            type_id: "1.3.6.1.4.1.311.20.2.3".into(),
            value: vec![0x0c, 1, b'a'],
        });
        for (san, kind) in [
            (San::Ip("192.0.2.10".into()), "IP address"),
            (San::Email("ops@example.com".into()), "email"),
            (San::Uri("spiffe://cluster.local/ns/a/sa/b".into()), "URI"),
            (other_name, "otherName"),
        ] {
            let sans = [San::Dns("api.example.com".into()), san];
            assert_eq!(
                rules.check(&alice, &sans, None),
                Err(format!(
                    "alice may not request {kind} SANs: only DNS names are granted"
                ))
            );
        }
        // Before any DNS name is looked at: a name it has no right to comes second.
        let sans = [
            San::Dns("evil.example.net".into()),
            San::Uri("https://a".into()),
            San::Ip("10.0.0.1".into()),
        ];
        assert_eq!(
            rules.check(&alice, &sans, None),
            Err("alice may not request URI SANs: only DNS names are granted".into())
        );
    }

    #[test]
    fn the_first_name_not_granted_is_named_as_requested() {
        let rules = rules();
        let alice = requester("alice", &[]);
        assert_eq!(
            rules.check(
                &alice,
                &dns(&["API.Example.com.", "a.b.apps.example.com", "evil.net"]),
                None
            ),
            Err("alice may not request DNS name a.b.apps.example.com".into())
        );
        assert_eq!(
            rules.check(&alice, &dns(&["api.example.com"]), Some("Evil.Example.NET")),
            Err("alice may not request DNS name Evil.Example.NET".into())
        );
    }

    #[test]
    fn edge_case_names() {
        let rules = rules();
        let alice = requester("alice", &[]);
        let builder = requester("system:serviceaccount:team:builder", &[]);
        for (requester, names, verdict) in [
            // The literal wildcard, and a wildcard one level too deep.
            (&alice, &["*.apps.example.com"][..], None),
            (&alice, &["*.example.com"], Some("*.example.com")),
            // Uppercase, trailing dots.
            (&alice, &["API.EXAMPLE.COM", "X.Apps.Example.Com."], None),
            (&alice, &["api.example.com.."], Some("api.example.com..")),
            // IDNs, as A-labels in any case; a U-label never matches an A-label.
            (&builder, &["XN--BCHER-KVA.example."], None),
            (
                &builder,
                &["www.xn--bcher-kva.example"],
                Some("www.xn--bcher-kva.example"),
            ),
            (&alice, &["xn--80ak6aa92e.apps.example.com"], None),
            (&builder, &["bücher.example"], Some("bücher.example")),
        ] {
            let expected = verdict
                .map(|name| format!("{} may not request DNS name {name}", requester.username));
            assert_eq!(
                rules.check(requester, &dns(names), None),
                expected.map_or(Ok(()), Err),
                "{names:?}"
            );
        }
    }

    #[test]
    fn a_common_name_counts_only_when_it_looks_like_a_dns_name() {
        let rules = rules();
        let alice = requester("alice", &[]);
        for cn in [
            "alice",
            "My Service",
            "system:node:n1",
            "under_score.example.com",
            "bücher.example",
        ] {
            assert_eq!(rules.check(&alice, &[], Some(cn)), Ok(()), "{cn}");
        }
        for cn in ["evil.example.com", "*.example.com", "x-1.example.com."] {
            assert_eq!(
                rules.check(&alice, &[], Some(cn)),
                Err(format!("alice may not request DNS name {cn}")),
                "{cn}"
            );
        }
        assert_eq!(rules.check(&alice, &[], Some("A.APPS.example.com")), Ok(()));
    }

    #[test]
    fn a_request_without_names_is_allowed_for_a_requester_a_rule_applies_to() {
        let rules = rules();
        assert_eq!(rules.check(&requester("alice", &[]), &[], None), Ok(()));
        assert_eq!(
            rules.check(&requester("mallory", &[]), &[], None),
            Err("mallory may not request certificates from this issuer".into())
        );
    }

    #[test]
    fn names_granted_by_any_applying_rule_may_be_combined() {
        let rules = rules();
        let both = requester("system:serviceaccount:team:builder", &["web-team"]);
        assert_eq!(
            rules.check(&both, &dns(&["api.example.com", "ci.example.com"]), None),
            Ok(())
        );
    }
}
