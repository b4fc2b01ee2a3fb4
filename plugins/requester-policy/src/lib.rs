//! A policy that lets only the configured users, groups and ServiceAccounts
//! request the configured DNS names:
//!
//! ```json
//! {"rules": [
//!   {"users": ["alice"], "groups": ["web-team"], "serviceAccounts": ["team/builder"],
//!    "dnsNames": ["api.example.com", "*.apps.example.com"]}
//! ]}
//! ```
//!
//! A rule applies to a requester whose username is in `users`, who shares a
//! group with `groups`, or who is one of `serviceAccounts`
//! (`<namespace>/<name>`, the username
//! `system:serviceaccount:<namespace>:<name>`). `rules` is required (empty:
//! every request is denied); each field of a rule defaults to empty.
//!
//! A request is denied when no rule applies to its requester, when it has a
//! SAN that is not a DNS name, or when one of its DNS SANs or its common name
//! (if that looks like a DNS name) matches no `dnsNames` pattern of an
//! applying rule; otherwise it is allowed, a request with no names too. A
//! pattern is an exact name or `*.<suffix>`, which matches exactly one more
//! label in front of the suffix and the literal `*.<suffix>`; comparison is
//! ASCII case-insensitive and ignores one trailing dot. Patterns are ASCII
//! (IDNs in their `xn--` form). A configuration it cannot read denies
//! everything: the policy fails closed.
//!
//! A Python twin (`plugins/python/requester-policy`) implements the same
//! specification with the same messages.

mod config;
mod pattern;
mod rules;

use wasm_issuer_plugin_api::{CertificateRequest, Decision, Policy};

struct RequesterPolicy;

impl Policy for RequesterPolicy {
    fn evaluate(request: CertificateRequest) -> Decision {
        let rules = match config::parse(&request.issuer.config) {
            Ok(rules) => rules,
            Err(invalid) => return Decision::Deny(invalid.to_string()),
        };
        match rules.check(&request.requester, &request.csr.sans, request.common_name()) {
            Ok(()) => Decision::Allow,
            Err(reason) => Decision::Deny(reason),
        }
    }
}

wasm_issuer_plugin_api::export_policy!(RequesterPolicy);
