//! Reading the issuer's configuration into [`Rules`].

use serde::Deserialize;

use crate::pattern::DnsPattern;
use crate::rules::{Rule, Rules};

/// The configuration cannot be read: the policy denies everything with this.
///
/// The SDK's `InvalidConfig` words it "invalid plugin configuration"; this
/// policy has a twin in Python and both say exactly what their shared
/// specification says.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct InvalidConfiguration(String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    rules: Vec<RuleConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleConfig {
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    service_accounts: Vec<String>,
    #[serde(default)]
    dns_names: Vec<String>,
}

/// Parses the issuer's configuration (JSON text).
pub fn parse(text: &str) -> Result<Rules, InvalidConfiguration> {
    let config: Config =
        serde_json::from_str(text).map_err(|error| InvalidConfiguration(error.to_string()))?;
    config
        .rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| rule.validate(index))
        .collect::<Result<_, _>>()
        .map(Rules)
}

impl RuleConfig {
    fn validate(self, index: usize) -> Result<Rule, InvalidConfiguration> {
        let service_accounts = self
            .service_accounts
            .iter()
            .map(|entry| {
                service_account_username(entry).ok_or_else(|| {
                    InvalidConfiguration(format!(
                        "rules[{index}].serviceAccounts: {entry:?} is not <namespace>/<name>"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let dns_names = self
            .dns_names
            .iter()
            .map(|entry| {
                entry.parse::<DnsPattern>().map_err(|why| {
                    InvalidConfiguration(format!("rules[{index}].dnsNames: {entry:?} {why}"))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Rule {
            users: self.users,
            groups: self.groups,
            service_accounts,
            dns_names,
        })
    }
}

/// The username Kubernetes gives the ServiceAccount `<namespace>/<name>`.
fn service_account_username(entry: &str) -> Option<String> {
    let (namespace, name) = entry.split_once('/')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains('/'))
        .then(|| format!("system:serviceaccount:{namespace}:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(text: &str) -> String {
        parse(text).expect_err(text).to_string()
    }

    #[test]
    fn reads_the_documented_configuration() {
        let Rules(rules) = parse(
            r#"{"rules": [
                {"users": ["alice"], "groups": ["web-team"], "serviceAccounts": ["team/builder"],
                 "dnsNames": ["api.example.com", "*.apps.example.com"]},
                {}
            ]}"#,
        )
        .expect("valid");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].users, ["alice"]);
        assert_eq!(rules[0].groups, ["web-team"]);
        assert_eq!(
            rules[0].service_accounts,
            ["system:serviceaccount:team:builder"]
        );
        assert_eq!(
            rules[0].dns_names,
            [
                DnsPattern::Exact("api.example.com".into()),
                DnsPattern::Wildcard("apps.example.com".into())
            ]
        );
        assert!(rules[1].users.is_empty() && rules[1].dns_names.is_empty());
        assert!(parse(r#"{"rules": []}"#).expect("valid").0.is_empty());
    }

    #[test]
    fn what_cannot_be_read_is_an_invalid_configuration() {
        assert_eq!(
            invalid("{}"),
            "invalid configuration: missing field `rules` at line 1 column 2"
        );
        assert_eq!(
            invalid(r#"{"rules": [{"user": ["alice"]}]}"#),
            "invalid configuration: unknown field `user`, expected one of `users`, `groups`, \
             `serviceAccounts`, `dnsNames` at line 1 column 18"
        );
        for text in [
            "",
            "not json",
            "[]",
            r#"{"rules": {}}"#,
            r#"{"rules": [], "extra": 1}"#,
            r#"{"rules": [{"users": "alice"}]}"#,
        ] {
            assert!(
                invalid(text).starts_with("invalid configuration: "),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(
            invalid(r#"{"rules": [{}, {"serviceAccounts": ["team:builder"]}]}"#),
            "invalid configuration: rules[1].serviceAccounts: \"team:builder\" is not <namespace>/<name>"
        );
        for entry in ["builder", "/builder", "team/", "a/b/c"] {
            let text = format!(r#"{{"rules": [{{"serviceAccounts": ["{entry}"]}}]}}"#);
            assert!(invalid(&text).contains("serviceAccounts"), "{entry}");
        }
        assert_eq!(
            invalid(r#"{"rules": [{"dnsNames": ["ok.example.com", "a.*.example.com"]}]}"#),
            "invalid configuration: rules[0].dnsNames: \"a.*.example.com\" has a `*` that is \
             not the whole first label of `*.<suffix>`"
        );
        assert_eq!(
            invalid(r#"{"rules": [{"dnsNames": ["bücher.example"]}]}"#),
            "invalid configuration: rules[0].dnsNames: \"bücher.example\" is not ASCII \
             (write an IDN in its xn-- form)"
        );
        assert_eq!(
            invalid(r#"{"rules": [{"dnsNames": [""]}]}"#),
            "invalid configuration: rules[0].dnsNames: \"\" is empty"
        );
    }
}
