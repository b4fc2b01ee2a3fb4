//! A policy on the requested key:
//!
//! ```json
//! {"minRsaBits": 2048, "allowedCurves": ["P-256", "P-384"], "allowEd25519": false}
//! ```
//!
//! Every field is optional, with the defaults shown. An RSA key needs at
//! least `minRsaBits`, an ECDSA key a curve in `allowedCurves` (of P-256,
//! P-384, P-521), an Ed25519 key `allowEd25519`; any other key is denied. The
//! key is the host's parse of the CSR's public key. A configuration it cannot
//! read (an unknown field or curve name included) denies everything: the
//! policy fails closed.

mod rules;

use serde::Deserialize;
use wasm_issuer_plugin_api::{CertificateRequest, Decision, Policy};

use rules::Rules;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
struct Config {
    min_rsa_bits: u32,
    allowed_curves: Vec<String>,
    allow_ed25519: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_rsa_bits: 2048,
            allowed_curves: vec!["P-256".into(), "P-384".into()],
            allow_ed25519: false,
        }
    }
}

struct KeyPolicy;

impl Policy for KeyPolicy {
    fn evaluate(request: CertificateRequest) -> Decision {
        let rules = match request.issuer.config().and_then(|config: Config| {
            Rules::new(
                config.min_rsa_bits,
                config.allowed_curves,
                config.allow_ed25519,
            )
        }) {
            Ok(rules) => rules,
            Err(invalid) => return invalid.into(),
        };
        match rules.check(&request.csr.public_key) {
            Ok(()) => Decision::Allow,
            Err(reason) => Decision::Deny(reason),
        }
    }
}

wasm_issuer_plugin_api::export_policy!(KeyPolicy);

#[cfg(test)]
mod tests {
    use wasm_issuer_plugin_api::Issuer;

    use super::*;

    fn config(text: &str) -> Result<Config, String> {
        let issuer = Issuer {
            name: "keys".into(),
            kind: "WasmClusterIssuer".into(),
            namespace: String::new(),
            config: text.into(),
        };
        issuer.config().map_err(|invalid| invalid.to_string())
    }

    #[test]
    fn reads_the_documented_configuration() {
        let config =
            config(r#"{"minRsaBits": 3072, "allowedCurves": ["P-384"], "allowEd25519": true}"#)
                .expect("valid");
        assert_eq!(config.min_rsa_bits, 3072);
        assert_eq!(config.allowed_curves, ["P-384"]);
        assert!(config.allow_ed25519);
    }

    #[test]
    fn every_field_defaults() {
        for text in ["", "{}"] {
            let config = self::config(text).expect("valid");
            assert_eq!(config.min_rsa_bits, 2048);
            assert_eq!(config.allowed_curves, ["P-256", "P-384"]);
            assert!(!config.allow_ed25519);
        }
        let config = config(r#"{"allowEd25519": true}"#).expect("valid");
        assert_eq!(config.allowed_curves, ["P-256", "P-384"]);
    }

    #[test]
    fn a_typo_or_a_wrong_type_is_an_invalid_configuration() {
        for text in [
            r#"{"minRSABits": 4096}"#,
            r#"{"allowedCurves": "P-256"}"#,
            r#"{"minRsaBits": -1}"#,
            "1",
        ] {
            let error = config(text).err().expect(text);
            assert!(
                error.starts_with("invalid plugin configuration: "),
                "{error}"
            );
        }
    }
}
