//! X.509 extensions: the contract's raw view, and the few the host reads
//! (SAN, BasicConstraints, KeyUsage, ExtendedKeyUsage) from a CSR or a certificate.

use x509_parser::extensions::{ParsedExtension, X509Extension};

use crate::san::{self, San};
use crate::usage::{self, Usage};
use crate::{Result, der};

/// An X.509 extension (WIT `extension`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// Dotted OID.
    pub oid: String,
    /// The critical flag.
    pub critical: bool,
    /// The DER of the value (the content of extnValue).
    pub value: Vec<u8>,
}

pub(crate) const SUBJECT_ALT_NAME: &str = "2.5.29.17";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";
const KEY_USAGE: &str = "2.5.29.15";
const EXTENDED_KEY_USAGE: &str = "2.5.29.37";

impl From<&X509Extension<'_>> for Extension {
    fn from(ext: &X509Extension<'_>) -> Self {
        Self {
            oid: ext.oid.to_id_string(),
            critical: ext.critical,
            value: ext.value.to_vec(),
        }
    }
}

fn find<'a, 'b>(extensions: &'a [X509Extension<'b>], oid: &str) -> Option<&'a X509Extension<'b>> {
    extensions.iter().find(|e| e.oid.to_id_string() == oid)
}

/// The SANs, empty without the extension.
pub(crate) fn sans(extensions: &[X509Extension<'_>]) -> Result<Vec<San>> {
    find(extensions, SUBJECT_ALT_NAME).map_or(Ok(Vec::new()), |e| san::parse(e.value))
}

/// BasicConstraints' cA flag, `None` without the extension.
pub(crate) fn basic_constraints_ca(extensions: &[X509Extension<'_>]) -> Result<Option<bool>> {
    let Some(ext) = find(extensions, BASIC_CONSTRAINTS) else {
        return Ok(None);
    };
    match ext.parsed_extension() {
        ParsedExtension::BasicConstraints(bc) => Ok(Some(bc.ca)),
        _ => Err(der::bad(
            "the basic constraints extension",
            "malformed".into(),
        )),
    }
}

/// Usages from KeyUsage and ExtendedKeyUsage.
pub(crate) fn usages(extensions: &[X509Extension<'_>]) -> Result<Vec<Usage>> {
    let mut usages = match find(extensions, KEY_USAGE).map(X509Extension::parsed_extension) {
        None => Vec::new(),
        Some(ParsedExtension::KeyUsage(ku)) => usage::from_key_usage(ku),
        Some(_) => return Err(der::bad("the key usage extension", "malformed".into())),
    };
    if let Some(eku) = find(extensions, EXTENDED_KEY_USAGE) {
        usages.extend(usage::from_extended_key_usage(eku.value)?);
    }
    Ok(usages)
}
