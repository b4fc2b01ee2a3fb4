//! The policy's rules, as plain functions of plain data.

use wasm_issuer_plugin_api::{InvalidConfig, KeyAlgorithm, PublicKey};

/// The curves the host names (the contract's `public-key.curve`).
const KNOWN_CURVES: [&str; 3] = ["P-256", "P-384", "P-521"];

/// A valid configuration.
#[derive(Debug)]
pub struct Rules {
    min_rsa_bits: u32,
    allowed_curves: Vec<String>,
    allow_ed25519: bool,
}

impl Rules {
    pub fn new(
        min_rsa_bits: u32,
        allowed_curves: Vec<String>,
        allow_ed25519: bool,
    ) -> Result<Rules, InvalidConfig> {
        // A misspelt curve ("P256", "secp256r1") would silently allow nothing.
        if let Some(unknown) = allowed_curves
            .iter()
            .find(|curve| !KNOWN_CURVES.contains(&curve.as_str()))
        {
            return Err(InvalidConfig::new(format!(
                "allowedCurves: {unknown:?} is not one of {}",
                KNOWN_CURVES.join(", ")
            )));
        }
        Ok(Rules {
            min_rsa_bits,
            allowed_curves,
            allow_ed25519,
        })
    }

    /// Allows (`Ok`) or denies with a reason naming the key.
    pub fn check(&self, key: &PublicKey) -> Result<(), String> {
        match key.algorithm {
            KeyAlgorithm::Rsa if key.bits < self.min_rsa_bits => Err(format!(
                "RSA key of {} bits is below the minimum of {}",
                key.bits, self.min_rsa_bits
            )),
            KeyAlgorithm::Rsa => Ok(()),
            KeyAlgorithm::Ecdsa => match &key.curve {
                Some(curve) if self.allowed_curves.contains(curve) => Ok(()),
                Some(curve) => Err(format!(
                    "ECDSA key on curve {curve} is not allowed (allowed curves: {})",
                    self.allowed_curves_text()
                )),
                None => Err(format!(
                    "ECDSA key on an unknown curve is not allowed (allowed curves: {})",
                    self.allowed_curves_text()
                )),
            },
            KeyAlgorithm::Ed25519 if self.allow_ed25519 => Ok(()),
            KeyAlgorithm::Ed25519 => {
                Err("Ed25519 key is not allowed (allowEd25519 is false)".to_owned())
            }
            KeyAlgorithm::Other => {
                Err("key algorithm is not allowed: only RSA, ECDSA and Ed25519 are".to_owned())
            }
        }
    }

    fn allowed_curves_text(&self) -> String {
        if self.allowed_curves.is_empty() {
            "none".to_owned()
        } else {
            self.allowed_curves.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(algorithm: KeyAlgorithm, bits: u32, curve: Option<&str>) -> PublicKey {
        PublicKey {
            algorithm,
            bits,
            curve: curve.map(str::to_owned),
            spki_der: vec![0x30, 0],
        }
    }

    fn rsa(bits: u32) -> PublicKey {
        key(KeyAlgorithm::Rsa, bits, None)
    }

    fn ec(curve: &str, bits: u32) -> PublicKey {
        key(KeyAlgorithm::Ecdsa, bits, Some(curve))
    }

    fn ed25519() -> PublicKey {
        key(KeyAlgorithm::Ed25519, 256, None)
    }

    fn rules(min_rsa_bits: u32, curves: &[&str], allow_ed25519: bool) -> Rules {
        let curves = curves.iter().map(|curve| curve.to_string()).collect();
        Rules::new(min_rsa_bits, curves, allow_ed25519).expect("valid rules")
    }

    /// The defaults: RSA of 2048 bits or more, P-256 and P-384, no Ed25519.
    fn defaults() -> Rules {
        rules(2048, &["P-256", "P-384"], false)
    }

    #[test]
    fn rsa_keys_need_the_minimum_size() {
        let rules = defaults();
        for bits in [2048, 3072, 4096, 8192] {
            assert_eq!(rules.check(&rsa(bits)), Ok(()), "{bits}");
        }
        assert_eq!(
            rules.check(&rsa(1024)),
            Err("RSA key of 1024 bits is below the minimum of 2048".to_owned())
        );
        assert_eq!(
            rules.check(&rsa(2047)),
            Err("RSA key of 2047 bits is below the minimum of 2048".to_owned())
        );
        assert_eq!(
            self::rules(3072, &[], false).check(&rsa(2048)),
            Err("RSA key of 2048 bits is below the minimum of 3072".to_owned())
        );
    }

    #[test]
    fn ecdsa_keys_need_an_allowed_curve() {
        let rules = defaults();
        assert_eq!(rules.check(&ec("P-256", 256)), Ok(()));
        assert_eq!(rules.check(&ec("P-384", 384)), Ok(()));
        assert_eq!(
            rules.check(&ec("P-521", 521)),
            Err(
                "ECDSA key on curve P-521 is not allowed (allowed curves: P-256, P-384)".to_owned()
            )
        );
        assert_eq!(
            rules.check(&key(KeyAlgorithm::Ecdsa, 0, None)),
            Err(
                "ECDSA key on an unknown curve is not allowed (allowed curves: P-256, P-384)"
                    .to_owned()
            )
        );
        let rsa_only = self::rules(2048, &[], false);
        assert_eq!(
            rsa_only.check(&ec("P-256", 256)),
            Err("ECDSA key on curve P-256 is not allowed (allowed curves: none)".to_owned())
        );
        assert_eq!(rsa_only.check(&rsa(2048)), Ok(()));
    }

    #[test]
    fn ed25519_only_when_allowed_and_other_algorithms_never() {
        assert_eq!(
            defaults().check(&ed25519()),
            Err("Ed25519 key is not allowed (allowEd25519 is false)".to_owned())
        );
        let all = rules(0, &KNOWN_CURVES, true);
        assert_eq!(all.check(&ed25519()), Ok(()));
        assert_eq!(all.check(&ec("P-521", 521)), Ok(()));
        assert_eq!(
            all.check(&key(KeyAlgorithm::Other, 2048, None)),
            Err("key algorithm is not allowed: only RSA, ECDSA and Ed25519 are".to_owned())
        );
    }

    #[test]
    fn an_unknown_curve_name_is_a_bad_configuration() {
        for curve in ["P256", "secp256r1", "p-256", ""] {
            let error = Rules::new(2048, vec![curve.to_owned()], false).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "invalid plugin configuration: allowedCurves: {curve:?} is not one of P-256, P-384, P-521"
                )
            );
        }
    }
}
