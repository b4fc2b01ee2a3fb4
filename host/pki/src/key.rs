//! Granted keys: a Secret's tls.key / tls.crt / ca.crt, held by the host so
//! that the private key never enters a plugin's sandbox.

use std::fmt;
use std::path::Path;

use ring::rand::SystemRandom;
use ring::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, RsaKeyPair,
};
use x509_parser::asn1_rs::Oid;

use crate::der;
use crate::public_key::PublicKeyInfo;
use crate::{Error, Result, certs, extension, name};

/// The certificate that goes with a granted key (WIT `key-certificate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCertificate {
    /// The certificate's DER.
    pub der: Vec<u8>,
    /// Subject as RFC 4514 text.
    pub subject: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// BasicConstraints cA (false without the extension).
    pub is_ca: bool,
}

/// A private key with its certificates, as a Secret grants it.
pub struct GrantedKey {
    signer: Signer,
    public_key: PublicKeyInfo,
    certificate: Option<KeyCertificate>,
    chain: Vec<Vec<u8>>,
    ca: Option<Vec<u8>>,
}

impl fmt::Debug for GrantedKey {
    /// Shows the public half only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantedKey")
            .field("public_key", &self.public_key)
            .field(
                "certificate",
                &self.certificate.as_ref().map(|c| &c.subject),
            )
            .field("signature_algorithm", &self.signature_algorithm_oid())
            .finish_non_exhaustive()
    }
}

impl GrantedKey {
    /// Loads a key from a Secret's contents.
    ///
    /// `tls_key` is PEM: PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC1
    /// "EC PRIVATE KEY" (other blocks, such as "EC PARAMETERS", are skipped).
    /// `tls_crt` holds zero or more PEM certificates; the first must be the
    /// key's own. `ca_crt`'s first certificate becomes [`ca`](Self::ca); an
    /// empty `ca_crt` counts as none.
    pub fn from_pem(tls_crt: &[u8], tls_key: &[u8], ca_crt: Option<&[u8]>) -> Result<Self> {
        let signer = Signer::from_pem(tls_key)?;
        let chain = certs::from_pem(tls_crt, "tls.crt")?;
        let ca = match ca_crt {
            Some(pem) => certs::from_pem(pem, "ca.crt")?.into_iter().next(),
            None => None,
        };
        let (public_key, certificate) = match chain.first() {
            Some(der) => {
                let cert = certs::parse(der, "tls.crt")?;
                if cert.public_key().subject_public_key.data.as_ref() != signer.public_key_bytes() {
                    return Err(Error::KeyCertificateMismatch);
                }
                let validity = cert.validity();
                let certificate = KeyCertificate {
                    der: der.clone(),
                    subject: name::rfc4514(cert.subject().as_raw())?,
                    not_before: validity.not_before.timestamp(),
                    not_after: validity.not_after.timestamp(),
                    is_ca: extension::basic_constraints_ca(cert.extensions())?.unwrap_or(false),
                };
                (
                    PublicKeyInfo::from_x509(cert.public_key())?,
                    Some(certificate),
                )
            }
            None => (
                PublicKeyInfo::from_spki_der(&rcgen::PublicKeyData::subject_public_key_info(
                    &signer,
                ))?,
                None,
            ),
        };
        Ok(Self {
            signer,
            public_key,
            certificate,
            chain,
            ca,
        })
    }

    /// Loads `tls.key`, and `tls.crt` and `ca.crt` when present, from a
    /// directory laid out like a mounted kubernetes.io/tls Secret.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let read = |file: &str, required: bool| {
            let path = dir.as_ref().join(file);
            match std::fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(Error::Io { path, source }),
            }
        };
        let key = read("tls.key", true)?.unwrap_or_default();
        let crt = read("tls.crt", false)?.unwrap_or_default();
        let ca = read("ca.crt", false)?;
        Self::from_pem(&crt, &key, ca.as_deref())
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKeyInfo {
        self.public_key.clone()
    }

    /// The key's certificate (first in tls.crt), if the grant has one.
    pub fn certificate(&self) -> Option<KeyCertificate> {
        self.certificate.clone()
    }

    /// Every certificate in tls.crt, DER, in order.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The first certificate of ca.crt, DER.
    pub fn ca(&self) -> Option<&[u8]> {
        self.ca.as_deref()
    }

    /// The dotted OID of the signature algorithm [`sign`](Self::sign) uses:
    /// RSA PKCS#1 v1.5 with SHA-512 from 4096 bits, SHA-384 from 3072, else
    /// SHA-256; ECDSA P-256 with SHA-256, P-384 with SHA-384; Ed25519.
    pub fn signature_algorithm_oid(&self) -> &'static str {
        self.signer.scheme.oid()
    }

    /// Signs `data` (hashing it as the algorithm says). The signature is in
    /// X.509 form: PKCS#1 v1.5 for RSA, DER `Ecdsa-Sig-Value` for ECDSA, raw for Ed25519.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.signer.sign(data)
    }

    pub(crate) fn signer(&self) -> &Signer {
        &self.signer
    }
}

/// The signature algorithm a key signs with; it follows the key.
#[derive(Clone, Copy, Debug)]
enum Scheme {
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaP256Sha256,
    EcdsaP384Sha384,
    Ed25519,
}

impl Scheme {
    fn oid(self) -> &'static str {
        match self {
            Scheme::RsaSha256 => "1.2.840.113549.1.1.11",
            Scheme::RsaSha384 => "1.2.840.113549.1.1.12",
            Scheme::RsaSha512 => "1.2.840.113549.1.1.13",
            Scheme::EcdsaP256Sha256 => "1.2.840.10045.4.3.2",
            Scheme::EcdsaP384Sha384 => "1.2.840.10045.4.3.3",
            Scheme::Ed25519 => "1.3.101.112",
        }
    }

    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Scheme::RsaSha256 => &rcgen::PKCS_RSA_SHA256,
            Scheme::RsaSha384 => &rcgen::PKCS_RSA_SHA384,
            Scheme::RsaSha512 => &rcgen::PKCS_RSA_SHA512,
            Scheme::EcdsaP256Sha256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Scheme::EcdsaP384Sha384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Scheme::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

enum Pair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A ring key pair and the scheme it signs with; rcgen signs certificates through it.
pub(crate) struct Signer {
    pair: Pair,
    scheme: Scheme,
}

const WHAT: &str = "tls.key";
const RSA: &str = "1.2.840.113549.1.1.1";
const EC: &str = "1.2.840.10045.2.1";
const ED25519: &str = "1.3.101.112";

impl Signer {
    fn from_pem(tls_key: &[u8]) -> Result<Self> {
        let blocks = pem::parse_many(tls_key).map_err(|e| Error::NotPem {
            what: WHAT,
            reason: e.to_string(),
        })?;
        let block = blocks
            .iter()
            .find(|b| b.tag().ends_with("PRIVATE KEY"))
            .ok_or_else(|| Error::NotPem {
                what: WHAT,
                reason: "no PEM \"PRIVATE KEY\" block found".into(),
            })?;
        let der = block.contents();
        match block.tag() {
            "RSA PRIVATE KEY" => Self::rsa(RsaKeyPair::from_der(der)),
            "EC PRIVATE KEY" => {
                let curve = sec1_curve(der)?;
                Self::ecdsa(&curve, &sec1_to_pkcs8(&curve, der)?)
            }
            "PRIVATE KEY" => match pkcs8_algorithm(der)? {
                (alg, _) if alg == RSA => Self::rsa(RsaKeyPair::from_pkcs8(der)),
                (alg, Some(curve)) if alg == EC => Self::ecdsa(&curve, der),
                (alg, _) if alg == ED25519 => Ok(Self {
                    // openssl writes Ed25519 keys as PKCS#8 v1, without the public key.
                    pair: Pair::Ed25519(
                        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?,
                    ),
                    scheme: Scheme::Ed25519,
                }),
                (alg, _) => Err(Error::UnsupportedKey(format!(
                    "private key algorithm {alg} (RSA, ECDSA P-256/P-384 and Ed25519 are supported)"
                ))),
            },
            "ENCRYPTED PRIVATE KEY" => Err(Error::UnsupportedKey(
                "encrypted private keys are not supported".into(),
            )),
            other => Err(Error::UnexpectedPem {
                what: WHAT,
                expected: "PRIVATE KEY",
                found: other.into(),
            }),
        }
    }

    fn rsa(pair: std::result::Result<RsaKeyPair, ring::error::KeyRejected>) -> Result<Self> {
        let pair = pair.map_err(rejected)?;
        let scheme = match pair.public().modulus_len() * 8 {
            4096.. => Scheme::RsaSha512,
            3072.. => Scheme::RsaSha384,
            _ => Scheme::RsaSha256,
        };
        Ok(Self {
            pair: Pair::Rsa(pair),
            scheme,
        })
    }

    fn ecdsa(curve: &Oid<'_>, pkcs8: &[u8]) -> Result<Self> {
        let (alg, scheme): (&'static EcdsaSigningAlgorithm, _) = match curve.to_id_string().as_str()
        {
            "1.2.840.10045.3.1.7" => (
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                Scheme::EcdsaP256Sha256,
            ),
            "1.3.132.0.34" => (
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                Scheme::EcdsaP384Sha384,
            ),
            other => {
                return Err(Error::UnsupportedKey(format!(
                    "ECDSA curve {other} (P-256 and P-384 are supported)"
                )));
            }
        };
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8, &SystemRandom::new()).map_err(rejected)?;
        Ok(Self {
            pair: Pair::Ecdsa(pair),
            scheme,
        })
    }

    /// The public key as it appears in a SubjectPublicKeyInfo's BIT STRING.
    fn public_key_bytes(&self) -> &[u8] {
        match &self.pair {
            Pair::Rsa(p) => p.public_key().as_ref(),
            Pair::Ecdsa(p) => p.public_key().as_ref(),
            Pair::Ed25519(p) => p.public_key().as_ref(),
        }
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        let failed = |_| Error::Signing("the signing primitive failed".into());
        match &self.pair {
            Pair::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = match self.scheme {
                    Scheme::RsaSha512 => &signature::RSA_PKCS1_SHA512,
                    Scheme::RsaSha384 => &signature::RSA_PKCS1_SHA384,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(padding, &rng, data, &mut sig).map_err(failed)?;
                Ok(sig)
            }
            Pair::Ecdsa(pair) => Ok(pair.sign(&rng, data).map_err(failed)?.as_ref().to_vec()),
            Pair::Ed25519(pair) => Ok(pair.sign(data).as_ref().to_vec()),
        }
    }
}

impl rcgen::PublicKeyData for Signer {
    fn der_bytes(&self) -> &[u8] {
        self.public_key_bytes()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.scheme.rcgen()
    }
}

impl rcgen::SigningKey for Signer {
    fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        Signer::sign(self, msg).map_err(|_| rcgen::Error::RingUnspecified)
    }
}

fn rejected(e: ring::error::KeyRejected) -> Error {
    Error::KeyRejected(e.to_string())
}

/// PrivateKeyInfo's algorithm OID and, for EC, its curve OID.
fn pkcs8_algorithm(der: &[u8]) -> Result<(String, Option<Oid<'_>>)> {
    let outer = der::single(der, WHAT)?;
    let fields = der::elements(outer.sequence(WHAT)?, WHAT)?;
    let Some(algorithm) = fields.get(1) else {
        return Err(der::bad(WHAT, "PrivateKeyInfo without an algorithm".into()));
    };
    let parts = der::elements(algorithm.sequence(WHAT)?, WHAT)?;
    let Some(oid) = parts.first() else {
        return Err(der::bad(WHAT, "empty AlgorithmIdentifier".into()));
    };
    let parameters = parts.get(1).and_then(|p| p.oid(WHAT).ok());
    Ok((oid.oid(WHAT)?.to_id_string(), parameters))
}

/// The curve named in a SEC1 ECPrivateKey's `[0] parameters`.
fn sec1_curve(der: &[u8]) -> Result<Oid<'_>> {
    let outer = der::single(der, WHAT)?;
    let fields = der::elements(outer.sequence(WHAT)?, WHAT)?;
    let parameters = fields
        .iter()
        .find(|f| f.is_context(0))
        .ok_or_else(|| Error::UnsupportedKey("a SEC1 EC key without its curve".into()))?;
    der::single(parameters.any.data, WHAT)?.oid(WHAT)
}

/// Wraps a SEC1 key as PKCS#8 (RFC 5915 section 2 inside RFC 5208), the only form ring loads.
fn sec1_to_pkcs8(curve: &Oid<'_>, sec1: &[u8]) -> Result<Vec<u8>> {
    let mut algorithm = der::oid_tlv(&der::parse_oid(EC, "id-ecPublicKey")?);
    algorithm.extend(der::oid_tlv(curve));
    let mut info = der::tlv(0x02, &[0]);
    info.extend(der::tlv(0x30, &algorithm));
    info.extend(der::tlv(0x04, sec1));
    Ok(der::tlv(0x30, &info))
}
