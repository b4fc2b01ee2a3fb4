//! PKCS#10 requests: parsed into the contract's view, signature verified.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::error::X509Error;
use x509_parser::extensions::X509Extension;
use x509_parser::prelude::FromDer;

use crate::extension::{self, Extension};
use crate::name::DistinguishedName;
use crate::public_key::PublicKeyInfo;
use crate::san::San;
use crate::usage::Usage;
use crate::{Error, Result, der};

/// The host's parse of a PKCS#10 request whose self-signature verified (WIT `parsed-csr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedCsr {
    /// The request's DER.
    pub der: Vec<u8>,
    /// The requested subject.
    pub subject: DistinguishedName,
    /// The SANs of the SAN extension, in order.
    pub sans: Vec<San>,
    /// The key to certify.
    pub public_key: PublicKeyInfo,
    /// Every requested extension, including the SAN extension.
    pub extensions: Vec<Extension>,
    /// BasicConstraints' cA flag, when the request carries the extension.
    pub requested_is_ca: Option<bool>,
    /// Usages from the KeyUsage and ExtendedKeyUsage extensions, when present.
    pub requested_usages: Vec<Usage>,
}

const WHAT: &str = "the CSR";

impl ParsedCsr {
    /// Parses a PEM "CERTIFICATE REQUEST" (cert-manager's `spec.request`) and verifies it.
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let block = pem::parse(pem).map_err(|e| Error::NotPem {
            what: WHAT,
            reason: e.to_string(),
        })?;
        // "NEW CERTIFICATE REQUEST" is the label older tools (Netscape, some openssl) still write.
        if !matches!(
            block.tag(),
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST"
        ) {
            return Err(Error::UnexpectedPem {
                what: WHAT,
                expected: "CERTIFICATE REQUEST",
                found: block.tag().into(),
            });
        }
        Self::from_der(block.contents())
    }

    /// Parses a DER PKCS#10 request and verifies its self-signature.
    ///
    /// An unsupported key is reported before the signature is checked, so it
    /// never shows up as a bad signature.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let csr = match X509CertificationRequest::from_der(der) {
            Ok(([], csr)) => csr,
            Ok(_) => return Err(der::bad(WHAT, "trailing data after the request".into())),
            Err(e) => return Err(der::bad(WHAT, e.to_string())),
        };
        let info = &csr.certification_request_info;
        let public_key = PublicKeyInfo::from_x509(&info.subject_pki)?;
        public_key.ensure_supported()?;
        csr.verify_signature().map_err(|e| match e {
            X509Error::SignatureUnsupportedAlgorithm => Error::UnsupportedSignatureAlgorithm(
                csr.signature_algorithm.algorithm.to_id_string(),
            ),
            _ => Error::BadCsrSignature,
        })?;

        let requested: &[X509Extension<'_>] = info
            .iter_attributes()
            .find_map(|a| match a.parsed_attribute() {
                ParsedCriAttribute::ExtensionRequest(r) => Some(r.extensions.as_slice()),
                _ => None,
            })
            .unwrap_or_default();
        Ok(Self {
            der: der.to_vec(),
            subject: DistinguishedName::from_der(info.subject.as_raw())?,
            sans: extension::sans(requested)?,
            public_key,
            extensions: requested.iter().map(Extension::from).collect(),
            requested_is_ca: extension::basic_constraints_ca(requested)?,
            requested_usages: extension::usages(requested)?,
        })
    }
}
