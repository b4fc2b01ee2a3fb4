//! cert-manager's key usages: their API names, and how they map onto the
//! KeyUsage and ExtendedKeyUsage extensions (as cert-manager's
//! `pki.BuildKeyUsages` does).

use rcgen::{ExtendedKeyUsagePurpose, KeyUsagePurpose};
use x509_parser::extensions::KeyUsage;

use crate::Result;
use crate::der;

/// A cert-manager usage (WIT `usage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Usage {
    /// "signing": digitalSignature, as cert-manager maps it.
    Signing,
    /// "digital signature".
    DigitalSignature,
    /// "content commitment" (nonRepudiation).
    ContentCommitment,
    /// "key encipherment".
    KeyEncipherment,
    /// "key agreement".
    KeyAgreement,
    /// "data encipherment".
    DataEncipherment,
    /// "cert sign".
    CertSign,
    /// "crl sign".
    CrlSign,
    /// "encipher only".
    EncipherOnly,
    /// "decipher only".
    DecipherOnly,
    /// "any": anyExtendedKeyUsage.
    Any,
    /// "server auth".
    ServerAuth,
    /// "client auth".
    ClientAuth,
    /// "code signing".
    CodeSigning,
    /// "email protection".
    EmailProtection,
    /// "s/mime": emailProtection, as cert-manager maps it.
    Smime,
    /// "ipsec end system".
    IpsecEndSystem,
    /// "ipsec tunnel".
    IpsecTunnel,
    /// "ipsec user".
    IpsecUser,
    /// "timestamping".
    Timestamping,
    /// "ocsp signing".
    OcspSigning,
    /// "microsoft sgc".
    MicrosoftSgc,
    /// "netscape sgc".
    NetscapeSgc,
}

/// Where a usage lands in a certificate.
enum Purpose {
    Key(KeyUsagePurpose),
    Extended(&'static [u64]),
}

impl Usage {
    /// Every usage, in the WIT's order.
    pub const ALL: [Usage; 23] = [
        Usage::Signing,
        Usage::DigitalSignature,
        Usage::ContentCommitment,
        Usage::KeyEncipherment,
        Usage::KeyAgreement,
        Usage::DataEncipherment,
        Usage::CertSign,
        Usage::CrlSign,
        Usage::EncipherOnly,
        Usage::DecipherOnly,
        Usage::Any,
        Usage::ServerAuth,
        Usage::ClientAuth,
        Usage::CodeSigning,
        Usage::EmailProtection,
        Usage::Smime,
        Usage::IpsecEndSystem,
        Usage::IpsecTunnel,
        Usage::IpsecUser,
        Usage::Timestamping,
        Usage::OcspSigning,
        Usage::MicrosoftSgc,
        Usage::NetscapeSgc,
    ];

    /// The usage with cert-manager's name `name` (e.g. "server auth"), if any.
    pub fn from_cert_manager(name: &str) -> Option<Usage> {
        Self::ALL.into_iter().find(|u| u.as_cert_manager() == name)
    }

    /// What cert-manager asks for when a request names no usages.
    pub const CERT_MANAGER_DEFAULT: [Usage; 2] = [Usage::DigitalSignature, Usage::KeyEncipherment];

    /// A request's `spec.usages`: cert-manager's default when empty; the
    /// first unknown name is the error.
    pub fn from_cert_manager_list(names: &[String]) -> std::result::Result<Vec<Usage>, String> {
        if names.is_empty() {
            return Ok(Self::CERT_MANAGER_DEFAULT.to_vec());
        }
        names
            .iter()
            .map(|name| Self::from_cert_manager(name).ok_or_else(|| name.clone()))
            .collect()
    }

    /// cert-manager's name for the usage, as in `spec.usages`.
    pub fn as_cert_manager(&self) -> &'static str {
        match self {
            Usage::Signing => "signing",
            Usage::DigitalSignature => "digital signature",
            Usage::ContentCommitment => "content commitment",
            Usage::KeyEncipherment => "key encipherment",
            Usage::KeyAgreement => "key agreement",
            Usage::DataEncipherment => "data encipherment",
            Usage::CertSign => "cert sign",
            Usage::CrlSign => "crl sign",
            Usage::EncipherOnly => "encipher only",
            Usage::DecipherOnly => "decipher only",
            Usage::Any => "any",
            Usage::ServerAuth => "server auth",
            Usage::ClientAuth => "client auth",
            Usage::CodeSigning => "code signing",
            Usage::EmailProtection => "email protection",
            Usage::Smime => "s/mime",
            Usage::IpsecEndSystem => "ipsec end system",
            Usage::IpsecTunnel => "ipsec tunnel",
            Usage::IpsecUser => "ipsec user",
            Usage::Timestamping => "timestamping",
            Usage::OcspSigning => "ocsp signing",
            Usage::MicrosoftSgc => "microsoft sgc",
            Usage::NetscapeSgc => "netscape sgc",
        }
    }

    fn purpose(self) -> Purpose {
        // id-kp-* are 1.3.6.1.5.5.7.3.n (RFC 5280 4.2.1.12).
        use KeyUsagePurpose as K;
        match self {
            Usage::Signing | Usage::DigitalSignature => Purpose::Key(K::DigitalSignature),
            Usage::ContentCommitment => Purpose::Key(K::ContentCommitment),
            Usage::KeyEncipherment => Purpose::Key(K::KeyEncipherment),
            Usage::KeyAgreement => Purpose::Key(K::KeyAgreement),
            Usage::DataEncipherment => Purpose::Key(K::DataEncipherment),
            Usage::CertSign => Purpose::Key(K::KeyCertSign),
            Usage::CrlSign => Purpose::Key(K::CrlSign),
            Usage::EncipherOnly => Purpose::Key(K::EncipherOnly),
            Usage::DecipherOnly => Purpose::Key(K::DecipherOnly),
            Usage::Any => Purpose::Extended(&[2, 5, 29, 37, 0]),
            Usage::ServerAuth => Purpose::Extended(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
            Usage::ClientAuth => Purpose::Extended(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
            Usage::CodeSigning => Purpose::Extended(&[1, 3, 6, 1, 5, 5, 7, 3, 3]),
            Usage::EmailProtection | Usage::Smime => {
                Purpose::Extended(&[1, 3, 6, 1, 5, 5, 7, 3, 4])
            }
            Usage::IpsecEndSystem => Purpose::Extended(&[1, 3, 6, 1, 5, 5, 7, 3, 5]),
            Usage::IpsecTunnel => Purpose::Extended(&[1, 3, 6, 1, 5, 5, 7, 3, 6]),
            Usage::IpsecUser => Purpose::Extended(&[1, 3, 6, 1, 5, 5, 7, 3, 7]),
            Usage::Timestamping => Purpose::Extended(&[1, 3, 6, 1, 5, 5, 7, 3, 8]),
            Usage::OcspSigning => Purpose::Extended(&[1, 3, 6, 1, 5, 5, 7, 3, 9]),
            Usage::MicrosoftSgc => Purpose::Extended(&[1, 3, 6, 1, 4, 1, 311, 10, 3, 3]),
            Usage::NetscapeSgc => Purpose::Extended(&[2, 16, 840, 1, 113730, 4, 1]),
        }
    }
}

/// The KeyUsage bits and ExtKeyUsage OIDs for `usages`, deduplicated; a CA
/// always gets keyCertSign, as cert-manager's CA issuer does.
pub(crate) fn to_rcgen(
    usages: &[Usage],
    is_ca: bool,
) -> (Vec<KeyUsagePurpose>, Vec<ExtendedKeyUsagePurpose>) {
    let mut key = Vec::new();
    let mut extended = Vec::new();
    let cert_sign = is_ca.then_some(Usage::CertSign);
    for usage in usages.iter().copied().chain(cert_sign) {
        match usage.purpose() {
            Purpose::Key(k) if !key.contains(&k) => key.push(k),
            Purpose::Extended(arcs) => {
                let eku = ExtendedKeyUsagePurpose::Other(arcs.to_vec());
                if !extended.contains(&eku) {
                    extended.push(eku);
                }
            }
            Purpose::Key(_) => {}
        }
    }
    (key, extended)
}

/// Usages named by a KeyUsage extension. A bit maps to its own name
/// ("digital signature", never the alias "signing").
pub(crate) fn from_key_usage(ku: &KeyUsage) -> Vec<Usage> {
    [
        (ku.digital_signature(), Usage::DigitalSignature),
        (ku.non_repudiation(), Usage::ContentCommitment),
        (ku.key_encipherment(), Usage::KeyEncipherment),
        (ku.data_encipherment(), Usage::DataEncipherment),
        (ku.key_agreement(), Usage::KeyAgreement),
        (ku.key_cert_sign(), Usage::CertSign),
        (ku.crl_sign(), Usage::CrlSign),
        (ku.encipher_only(), Usage::EncipherOnly),
        (ku.decipher_only(), Usage::DecipherOnly),
    ]
    .into_iter()
    .filter_map(|(set, usage)| set.then_some(usage))
    .collect()
}

/// Usages named by an ExtendedKeyUsage extension's value. emailProtection
/// reads as "email protection"; OIDs cert-manager has no name for are skipped
/// (they remain visible in the raw extensions).
pub(crate) fn from_extended_key_usage(value: &[u8]) -> Result<Vec<Usage>> {
    const WHAT: &str = "the extended key usage extension";
    let seq = der::single(value, WHAT)?;
    let mut usages = Vec::new();
    for element in der::elements(seq.sequence(WHAT)?, WHAT)? {
        let arcs = der::oid_arcs(&element.oid(WHAT)?).unwrap_or_default();
        let named = Usage::ALL
            .into_iter()
            .filter(|u| *u != Usage::Smime)
            .find(|u| matches!(u.purpose(), Purpose::Extended(a) if a == arcs.as_slice()));
        usages.extend(named);
    }
    Ok(usages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_list_defaults_like_cert_manager_and_names_the_unknown() {
        assert_eq!(
            Usage::from_cert_manager_list(&[]),
            Ok(Usage::CERT_MANAGER_DEFAULT.to_vec())
        );
        let names = ["server auth".to_owned(), "client auth".to_owned()];
        assert_eq!(
            Usage::from_cert_manager_list(&names),
            Ok(vec![Usage::ServerAuth, Usage::ClientAuth])
        );
        let bad = ["server auth".to_owned(), "flying".to_owned()];
        assert_eq!(
            Usage::from_cert_manager_list(&bad),
            Err("flying".to_owned())
        );
    }

    #[test]
    fn cert_manager_names_round_trip() {
        for usage in Usage::ALL {
            assert_eq!(
                Usage::from_cert_manager(usage.as_cert_manager()),
                Some(usage)
            );
        }
        assert_eq!(Usage::from_cert_manager("Server Auth"), None);
    }

    #[test]
    fn aliases_collapse_and_ca_gets_cert_sign() {
        let (key, extended) = to_rcgen(
            &[
                Usage::Signing,
                Usage::DigitalSignature,
                Usage::EmailProtection,
                Usage::Smime,
            ],
            true,
        );
        assert_eq!(
            key,
            vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyCertSign
            ]
        );
        assert_eq!(extended.len(), 1);
    }
}
