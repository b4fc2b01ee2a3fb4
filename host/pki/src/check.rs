//! What the host checks before it trusts a plugin's result: the checks
//! cert-manager itself would fail the issuance on, and a sound chain.

use std::collections::BTreeSet;

use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::csr::ParsedCsr;
use crate::{Error, Result, certs, der, extension};

/// How far a notBefore may lie in the future (the signer's clock may run ahead).
pub const CLOCK_SKEW_SECS: i64 = 300;

/// What the request asked for, beyond what the CSR says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The request's isCA.
    pub is_ca: bool,
}

/// A result that passed [`check_issued`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// DER certificates, the leaf first.
    pub chain: Vec<Vec<u8>>,
    /// The CA certificate, DER, when known.
    pub ca: Option<Vec<u8>>,
    /// The leaf's notBefore, Unix seconds.
    pub not_before: i64,
    /// The leaf's notAfter, Unix seconds.
    pub not_after: i64,
}

impl IssuedCertificate {
    /// The chain as PEM, for `status.certificate`.
    pub fn chain_pem(&self) -> String {
        certs::certificates_to_pem(&self.chain)
    }

    /// The CA as PEM, for `status.ca`.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca
            .as_ref()
            .map(|ca| certs::certificates_to_pem(std::slice::from_ref(ca)))
    }
}

/// Checks a plugin's result for `csr` at `now` (Unix seconds): the leaf
/// parses, certifies the CSR's public key, is valid now (notBefore may be up
/// to [`CLOCK_SKEW_SECS`] ahead), has exactly the CSR's SANs (as a set) and the
/// requested isCA; each chain certificate is issued (name and signature) by
/// the next, and the last by `ca` when given.
pub fn check_issued(
    csr: &ParsedCsr,
    expected: &Expected,
    chain: &[Vec<u8>],
    ca: Option<&[u8]>,
    now: i64,
) -> Result<IssuedCertificate> {
    let parsed = chain
        .iter()
        .map(|der| certs::parse(der, "a returned certificate"))
        .collect::<Result<Vec<_>>>()?;
    let leaf = parsed.first().ok_or(Error::EmptyChain)?;

    let csr_key = match SubjectPublicKeyInfo::from_der(&csr.public_key.spki_der) {
        Ok((_, spki)) => spki,
        Err(e) => return Err(der::bad("the CSR's public key", e.to_string())),
    };
    // Compared as (algorithm, key bits) rather than raw bytes, as cert-manager
    // does, so an absent versus NULL RSA parameter does not count as another key.
    let leaf_key = leaf.public_key();
    if leaf_key.algorithm.algorithm != csr_key.algorithm.algorithm
        || leaf_key.subject_public_key.data != csr_key.subject_public_key.data
    {
        return Err(Error::PublicKeyMismatch);
    }

    let not_before = leaf.validity().not_before.timestamp();
    let not_after = leaf.validity().not_after.timestamp();
    if now >= not_after {
        return Err(Error::Expired { not_after, now });
    }
    if not_before > now + CLOCK_SKEW_SECS {
        return Err(Error::NotYetValid { not_before, now });
    }

    let wanted: BTreeSet<_> = csr.sans.iter().collect();
    let got_sans = extension::sans(leaf.extensions())?;
    let got: BTreeSet<_> = got_sans.iter().collect();
    if wanted != got {
        return Err(Error::SanMismatch {
            missing: wanted.difference(&got).map(ToString::to_string).collect(),
            unexpected: got.difference(&wanted).map(ToString::to_string).collect(),
        });
    }

    let is_ca = extension::basic_constraints_ca(leaf.extensions())?.unwrap_or(false);
    if is_ca != expected.is_ca {
        return Err(Error::IsCaMismatch {
            expected: expected.is_ca,
            found: is_ca,
        });
    }

    for (index, pair) in parsed.windows(2).enumerate() {
        issued_by(&pair[0], &pair[1]).map_err(|reason| Error::ChainBroken { index, reason })?;
    }
    if let Some(ca_der) = ca {
        let ca_cert = certs::parse(ca_der, "the CA certificate")?;
        let last = parsed.last().ok_or(Error::EmptyChain)?;
        issued_by(last, &ca_cert).map_err(Error::NotIssuedByCa)?;
    }

    Ok(IssuedCertificate {
        chain: chain.to_vec(),
        ca: ca.map(<[u8]>::to_vec),
        not_before,
        not_after,
    })
}

/// Why `child` is not issued by `parent`, if it is not.
fn issued_by(child: &X509Certificate<'_>, parent: &X509Certificate<'_>) -> Result<(), String> {
    // Clients (Go's among them) chain by exact name bytes, so a valid signature alone is not enough.
    if child.issuer().as_raw() != parent.subject().as_raw() {
        return Err(format!(
            "its issuer \"{}\" is not the subject \"{}\"",
            child.issuer(),
            parent.subject()
        ));
    }
    child
        .verify_signature(Some(parent.public_key()))
        .map_err(|e| match e {
            X509Error::SignatureUnsupportedAlgorithm => {
                format!(
                    "unsupported signature algorithm {}",
                    child.signature_algorithm.algorithm.to_id_string()
                )
            }
            _ => "the signature does not verify".into(),
        })
}
