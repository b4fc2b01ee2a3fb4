//! Issuing a certificate from a template with a granted key (WIT
//! `certificate-builder`), shaped like cert-manager's in-tree CA issuer.

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, IsCa, Issuer, KeyIdMethod, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use x509_parser::extensions::ParsedExtension;

use crate::extension::{Extension, SUBJECT_ALT_NAME};
use crate::key::GrantedKey;
use crate::name::{self, NameAttribute};
use crate::public_key::PublicKeyInfo;
use crate::san::{self, San};
use crate::usage::{self, Usage};
use crate::{Error, Result, certs, der};

/// The subject of the certificate to issue (WIT `subject`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectTemplate {
    /// A DER Name, copied literally (e.g. the CSR's subject).
    Der(Vec<u8>),
    /// Attributes in order, each value written as a UTF8String.
    Attributes(Vec<NameAttribute>),
}

/// What to issue (WIT `certificate-template`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateTemplate {
    /// The subject.
    pub subject: SubjectTemplate,
    /// SubjectAltNames, written in order; the extension is critical when the subject is empty.
    pub sans: Vec<San>,
    /// The subject's public key, SubjectPublicKeyInfo DER (e.g. the CSR's).
    pub public_key: Vec<u8>,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// BasicConstraints cA.
    pub is_ca: bool,
    /// BasicConstraints pathLenConstraint; only for CAs.
    pub path_length: Option<u8>,
    /// Key usages and extended key usages.
    pub usages: Vec<Usage>,
    /// Further extensions, added as given after the ones the fields above make.
    pub extensions: Vec<Extension>,
}

/// Extensions the template's own fields produce, so `extensions` may not repeat them.
const GENERATED: &[(&str, &str)] = &[
    (SUBJECT_ALT_NAME, "sans"),
    ("2.5.29.15", "usages"),
    ("2.5.29.37", "usages"),
    ("2.5.29.19", "is_ca/path_length"),
    ("2.5.29.14", "the subject key identifier the host computes"),
    ("2.5.29.35", "the issuer's key identifier"),
];

/// Issues a certificate signed by `key`, whose certificate names the issuer; returns its DER.
///
/// - serial: 20 random bytes, positive;
/// - issuer: the key certificate's subject, byte for byte; AuthorityKeyIdentifier
///   = that certificate's SubjectKeyIdentifier, when it has one;
/// - SubjectKeyIdentifier from the subject key; BasicConstraints (critical,
///   written for leaves too, `cA` false); KeyUsage (critical) and
///   ExtendedKeyUsage from `usages`, with keyCertSign added for a CA;
/// - notAfter is clamped to the issuer certificate's notAfter, so a leaf never
///   outlives its CA (cert-manager's CA issuer does not, and users trip on it).
///
/// Limitation: names go through rcgen 0.14, which keeps one value per
/// attribute type and no multi-valued RDNs, so a subject (or an issuer
/// subject) with e.g. two OUs or an `A+B` RDN is refused with
/// [`Error::UnrepresentableName`], never silently altered; string types
/// (PrintableString, UTF8String, IA5String, BMPString, ...) are kept. The
/// issued names are compared with the requested bytes before returning.
pub fn issue(template: &CertificateTemplate, key: &GrantedKey) -> Result<Vec<u8>> {
    let issuer_der = key.chain().first().ok_or(Error::NoIssuerCertificate)?;
    let issuer_cert = certs::parse(issuer_der, "the issuer certificate")?;
    let issuer_subject = issuer_cert.subject().as_raw();

    if template.not_after <= template.not_before {
        return Err(Error::InvalidTemplate(format!(
            "not_after ({}) must be later than not_before ({})",
            template.not_after, template.not_before
        )));
    }
    let issuer_not_after = issuer_cert.validity().not_after.timestamp();
    if issuer_not_after <= template.not_before {
        return Err(Error::IssuerExpired {
            issuer_not_after,
            not_before: template.not_before,
        });
    }

    let subject_key = PublicKeyInfo::from_spki_der(&template.public_key)?;
    subject_key.ensure_supported()?;
    let subject_key = rcgen::SubjectPublicKeyInfo::from_der(&template.public_key)
        .map_err(|e| Error::UnsupportedKey(e.to_string()))?;

    let mut params = CertificateParams::default();
    params.distinguished_name = match &template.subject {
        SubjectTemplate::Der(der) => name::rcgen_from_der(der)?,
        SubjectTemplate::Attributes(attributes) => name::rcgen_from_attributes(attributes)?,
    };
    params.not_before = timestamp(template.not_before)?;
    params.not_after = timestamp(template.not_after.min(issuer_not_after))?;
    params.serial_number = Some(random_serial()?);
    params.is_ca = match (template.is_ca, template.path_length) {
        (true, None) => IsCa::Ca(BasicConstraints::Unconstrained),
        (true, Some(n)) => IsCa::Ca(BasicConstraints::Constrained(n)),
        (false, None) => IsCa::ExplicitNoCa,
        (false, Some(_)) => {
            return Err(Error::InvalidTemplate(
                "path_length is only allowed when is_ca".into(),
            ));
        }
    };
    (params.key_usages, params.extended_key_usages) =
        usage::to_rcgen(&template.usages, template.is_ca);
    params.custom_extensions =
        custom_extensions(template, params.distinguished_name.iter().next().is_none())?;

    let issuer_key_id = issuer_cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        });
    params.use_authority_key_identifier_extension = issuer_key_id.is_some();
    let mut issuer_params = CertificateParams::default();
    issuer_params.distinguished_name = name::rcgen_from_der(issuer_subject)?;
    if let Some(id) = issuer_key_id {
        issuer_params.key_identifier_method = KeyIdMethod::PreSpecified(id);
    }
    let issuer = Issuer::new(issuer_params, key.signer());

    let issued = params
        .signed_by(&subject_key, &issuer)
        .map_err(|e| Error::Signing(e.to_string()))?;
    let der = issued.der().to_vec();
    ensure_names_kept(&der, template, issuer_subject)?;
    Ok(der)
}

/// The SAN extension (ours, for verbatim otherNames) and the template's extensions.
fn custom_extensions(
    template: &CertificateTemplate,
    subject_empty: bool,
) -> Result<Vec<CustomExtension>> {
    let mut out = Vec::new();
    if !template.sans.is_empty() {
        let mut sans =
            CustomExtension::from_oid_content(&[2, 5, 29, 17], san::encode(&template.sans)?);
        // RFC 5280 4.2.1.6: critical when the subject is empty.
        sans.set_criticality(subject_empty);
        out.push(sans);
    }
    let mut seen: Vec<&str> = Vec::new();
    for ext in &template.extensions {
        if let Some((_, field)) = GENERATED.iter().find(|(oid, _)| *oid == ext.oid) {
            return Err(Error::InvalidTemplate(format!(
                "extension {} comes from {field}; do not add it again",
                ext.oid
            )));
        }
        if seen.contains(&ext.oid.as_str()) {
            return Err(Error::InvalidTemplate(format!(
                "extension {} is given twice",
                ext.oid
            )));
        }
        seen.push(&ext.oid);
        der::single(&ext.value, "an extension value")?;
        let oid = der::oid_arcs(&der::parse_oid(&ext.oid, "extension OID")?)?;
        let mut custom = CustomExtension::from_oid_content(&oid, ext.value.clone());
        custom.set_criticality(ext.critical);
        out.push(custom);
    }
    Ok(out)
}

/// Checks that rcgen wrote the names byte for byte as asked.
fn ensure_names_kept(
    der: &[u8],
    template: &CertificateTemplate,
    issuer_subject: &[u8],
) -> Result<()> {
    let cert = certs::parse(der, "the issued certificate")?;
    if cert.issuer().as_raw() != issuer_subject {
        return Err(Error::UnrepresentableName(
            "the issuer certificate's subject was not kept byte for byte".into(),
        ));
    }
    match &template.subject {
        SubjectTemplate::Der(subject) if cert.subject().as_raw() != subject.as_slice() => Err(
            Error::UnrepresentableName("the subject was not kept byte for byte".into()),
        ),
        _ => Ok(()),
    }
}

/// A validity time; X.509 can write years 0 to 9999 (and rcgen panics outside them).
fn timestamp(unix: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .filter(|t| (0..=9999).contains(&t.year()))
        .ok_or_else(|| {
            Error::InvalidTemplate(format!("time {unix} is outside the years 0 to 9999"))
        })
}

/// A random 20-byte serial: the top bit clear keeps it positive and the next
/// bit set keeps it 20 bytes long (RFC 5280's maximum).
fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 20];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Signing("no randomness for the serial".into()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}
