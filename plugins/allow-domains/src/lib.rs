//! A policy that allows certificates only for the configured domains:
//!
//! ```json
//! {"allowedDomains": ["example.com"], "maxDuration": "24h", "allowCA": false}
//! ```
//!
//! Every SAN must be a DNS name (an IP address, email, URI or otherName is
//! denied), and every DNS SAN, and a common name that looks like a DNS name,
//! one of the domains or under one; the duration at most `maxDuration` (no
//! limit when absent); isCA only with `allowCA`. A configuration it cannot
//! read denies everything: the policy fails closed.

mod rules;

use serde::Deserialize;
use wasm_issuer_plugin_api::{CertificateRequest, Decision, Policy};

use rules::Rules;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    allowed_domains: Vec<String>,
    #[serde(default)]
    max_duration: Option<String>,
    #[serde(default, rename = "allowCA")]
    allow_ca: bool,
}

struct AllowDomains;

impl Policy for AllowDomains {
    fn evaluate(request: CertificateRequest) -> Decision {
        let rules = match request.issuer.config().and_then(|config: Config| {
            Rules::new(
                &config.allowed_domains,
                config.max_duration.as_deref(),
                config.allow_ca,
            )
        }) {
            Ok(rules) => rules,
            Err(invalid) => return invalid.into(),
        };
        let verdict = rules.check(
            &request.csr.sans,
            request.common_name(),
            request.duration(),
            request.is_ca,
        );
        match verdict {
            Ok(()) => Decision::Allow,
            Err(reason) => Decision::Deny(reason),
        }
    }
}

wasm_issuer_plugin_api::export_policy!(AllowDomains);

#[cfg(test)]
mod tests {
    use wasm_issuer_plugin_api::Issuer;

    use super::*;

    fn issuer(config: &str) -> Issuer {
        Issuer {
            name: "domains".into(),
            kind: "WasmClusterIssuer".into(),
            namespace: String::new(),
            config: config.into(),
        }
    }

    #[test]
    fn reads_the_documented_configuration() {
        let config: Config =
            issuer(r#"{"allowedDomains": ["example.com"], "maxDuration": "24h", "allowCA": true}"#)
                .config()
                .unwrap();
        assert_eq!(config.allowed_domains, ["example.com"]);
        assert_eq!(config.max_duration.as_deref(), Some("24h"));
        assert!(config.allow_ca);
    }

    #[test]
    fn a_typo_or_a_missing_list_is_an_invalid_configuration() {
        for config in [r#"{"allowedDomain": ["example.com"]}"#, "{}", "[]"] {
            assert!(issuer(config).config::<Config>().is_err(), "{config}");
        }
    }
}
