//! Public keys: the contract's description of a SubjectPublicKeyInfo, and
//! which keys the host can work with (what ring can verify and sign with).

use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::{Error, Result, der};

/// The kind of a public key (WIT `key-algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// rsaEncryption.
    Rsa,
    /// id-ecPublicKey.
    Ecdsa,
    /// id-Ed25519.
    Ed25519,
    /// Anything else (DSA, RSA-PSS-only keys, ...).
    Other,
}

/// A public key: what it is and its SubjectPublicKeyInfo DER (WIT `public-key`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// The algorithm family.
    pub algorithm: KeyAlgorithm,
    /// The modulus size for RSA, the curve size for ECDSA, 256 for Ed25519, 0 when unknown.
    pub bits: u32,
    /// "P-256", "P-384" or "P-521" for ECDSA keys on those curves.
    pub curve: Option<String>,
    /// The SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
}

const RSA: &str = "1.2.840.113549.1.1.1";
const EC: &str = "1.2.840.10045.2.1";
const ED25519: &str = "1.3.101.112";
const CURVES: &[(&str, &str, u32)] = &[
    ("1.2.840.10045.3.1.7", "P-256", 256),
    ("1.3.132.0.34", "P-384", 384),
    ("1.3.132.0.35", "P-521", 521),
];

impl PublicKeyInfo {
    /// Describes a SubjectPublicKeyInfo given as DER.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        const WHAT: &str = "the public key";
        match SubjectPublicKeyInfo::from_der(der) {
            Ok(([], spki)) => Self::from_x509(&spki),
            Ok(_) => Err(der::bad(
                WHAT,
                "trailing data after the SubjectPublicKeyInfo".into(),
            )),
            Err(e) => Err(der::bad(WHAT, e.to_string())),
        }
    }

    pub(crate) fn from_x509(spki: &SubjectPublicKeyInfo<'_>) -> Result<Self> {
        let oid = spki.algorithm.algorithm.to_id_string();
        let (algorithm, bits, curve) = match oid.as_str() {
            RSA => match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => (KeyAlgorithm::Rsa, modulus_bits(rsa.modulus), None),
                _ => {
                    return Err(der::bad(
                        "the RSA public key",
                        "malformed RSAPublicKey".into(),
                    ));
                }
            },
            EC => {
                let curve_oid = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok());
                let known =
                    curve_oid.and_then(|c| CURVES.iter().find(|(o, _, _)| *o == c.to_id_string()));
                match known {
                    Some((_, name, bits)) => (KeyAlgorithm::Ecdsa, *bits, Some((*name).to_owned())),
                    None => (KeyAlgorithm::Ecdsa, 0, None),
                }
            }
            ED25519 => (KeyAlgorithm::Ed25519, 256, None),
            _ => (KeyAlgorithm::Other, 0, None),
        };
        Ok(Self {
            algorithm,
            bits,
            curve,
            spki_der: spki.raw.to_vec(),
        })
    }

    /// Errors unless the host can verify and sign with keys like this one:
    /// RSA of 2048 to 8192 bits, ECDSA P-256 or P-384, Ed25519 (ring's set).
    pub(crate) fn ensure_supported(&self) -> Result<()> {
        let reason = match (self.algorithm, self.curve.as_deref()) {
            (KeyAlgorithm::Rsa, _) if (2048..=8192).contains(&self.bits) => return Ok(()),
            (KeyAlgorithm::Ecdsa, Some("P-256" | "P-384")) | (KeyAlgorithm::Ed25519, _) => {
                return Ok(());
            }
            (KeyAlgorithm::Rsa, _) => format!(
                "RSA keys must have 2048 to 8192 bits, this one has {}",
                self.bits
            ),
            (KeyAlgorithm::Ecdsa, Some(curve)) => {
                format!("ECDSA curve {curve} (P-256 and P-384 are supported)")
            }
            (KeyAlgorithm::Ecdsa, None) => {
                "ECDSA on an unknown curve (P-256 and P-384 are supported)".into()
            }
            (KeyAlgorithm::Other, _) => {
                let oid = SubjectPublicKeyInfo::from_der(&self.spki_der)
                    .map(|(_, spki)| spki.algorithm.algorithm.to_id_string())
                    .unwrap_or_default();
                format!("key algorithm {oid} (RSA, ECDSA P-256/P-384 and Ed25519 are supported)")
            }
        };
        Err(Error::UnsupportedKey(reason))
    }
}

/// The bit length of a big-endian unsigned integer.
fn modulus_bits(modulus: &[u8]) -> u32 {
    let significant = &modulus[modulus.iter().take_while(|b| **b == 0).count()..];
    match significant.first() {
        Some(first) => significant.len() as u32 * 8 - first.leading_zeros(),
        None => 0,
    }
}
