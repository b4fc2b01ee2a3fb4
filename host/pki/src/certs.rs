//! Certificates as bytes: strict DER parsing and PEM in and out.

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::{Error, Result, der};

const CERTIFICATE: &str = "CERTIFICATE";

/// Parses one DER certificate, refusing trailing data.
pub(crate) fn parse<'a>(der: &'a [u8], what: &'static str) -> Result<X509Certificate<'a>> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(der::bad(what, "trailing data after the certificate".into())),
        Err(e) => Err(der::bad(what, e.to_string())),
    }
}

/// Every certificate of a PEM bundle, as DER, in order; each must parse.
/// Input that is only whitespace is an empty bundle.
pub(crate) fn from_pem(pem: &[u8], what: &'static str) -> Result<Vec<Vec<u8>>> {
    let blocks = pem::parse_many(pem).map_err(|e| Error::NotPem {
        what,
        reason: e.to_string(),
    })?;
    if blocks.is_empty() && !pem.trim_ascii().is_empty() {
        return Err(Error::NotPem {
            what,
            reason: "no PEM block found".into(),
        });
    }
    blocks
        .into_iter()
        .map(|block| {
            if block.tag() != CERTIFICATE {
                return Err(Error::UnexpectedPem {
                    what,
                    expected: CERTIFICATE,
                    found: block.tag().into(),
                });
            }
            parse(block.contents(), what)?;
            Ok(block.into_contents())
        })
        .collect()
}

/// PEM "CERTIFICATE" blocks for DER certificates, concatenated in order (LF
/// line endings), as cert-manager wants in `status.certificate` and `status.ca`.
pub fn certificates_to_pem<C: AsRef<[u8]>>(certificates: &[C]) -> String {
    let blocks: Vec<pem::Pem> = certificates
        .iter()
        .map(|c| pem::Pem::new(CERTIFICATE, c.as_ref()))
        .collect();
    pem::encode_many_config(
        &blocks,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
