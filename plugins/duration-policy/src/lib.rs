//! A policy on the requested certificate lifetime:
//!
//! ```json
//! {"minDuration": "1h", "maxDuration": "2160h"}
//! ```
//!
//! Each bound is optional (absent: no limit on that side) and written as
//! cert-manager writes durations (`24h`, `2h30m`, `90m`); both bounds are
//! allowed. A request without a duration counts as cert-manager's default of
//! 2160h. A configuration it cannot read (an unknown field, a bad duration,
//! `minDuration` longer than `maxDuration`) denies everything: the policy
//! fails closed.

mod rules;

use serde::Deserialize;
use wasm_issuer_plugin_api::{CertificateRequest, Decision, Policy};

use rules::Rules;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    #[serde(default)]
    min_duration: Option<String>,
    #[serde(default)]
    max_duration: Option<String>,
}

struct DurationPolicy;

impl Policy for DurationPolicy {
    fn evaluate(request: CertificateRequest) -> Decision {
        let rules = match request.issuer.config().and_then(|config: Config| {
            Rules::new(
                config.min_duration.as_deref(),
                config.max_duration.as_deref(),
            )
        }) {
            Ok(rules) => rules,
            Err(invalid) => return invalid.into(),
        };
        match rules.check(request.duration()) {
            Ok(()) => Decision::Allow,
            Err(reason) => Decision::Deny(reason),
        }
    }
}

wasm_issuer_plugin_api::export_policy!(DurationPolicy);

#[cfg(test)]
mod tests {
    use wasm_issuer_plugin_api::Issuer;

    use super::*;

    fn config(text: &str) -> Result<Config, String> {
        let issuer = Issuer {
            name: "lifetimes".into(),
            kind: "WasmIssuer".into(),
            namespace: "default".into(),
            config: text.into(),
        };
        issuer.config().map_err(|invalid| invalid.to_string())
    }

    #[test]
    fn reads_the_documented_configuration() {
        let config = config(r#"{"minDuration": "1h", "maxDuration": "2160h"}"#).expect("valid");
        assert_eq!(config.min_duration.as_deref(), Some("1h"));
        assert_eq!(config.max_duration.as_deref(), Some("2160h"));
        let empty = self::config("").expect("valid");
        assert_eq!((empty.min_duration, empty.max_duration), (None, None));
    }

    #[test]
    fn a_typo_or_a_wrong_type_is_an_invalid_configuration() {
        for text in [r#"{"maxDurationn": "1h"}"#, r#"{"maxDuration": 3600}"#, "1"] {
            let error = config(text).err().expect(text);
            assert!(
                error.starts_with("invalid plugin configuration: "),
                "{error}"
            );
        }
    }
}
