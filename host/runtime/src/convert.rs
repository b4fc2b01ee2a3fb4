//! Between the host's PKI types and the contract's generated types. The two
//! mirror each other field by field; only the runtime sees both.

use wasm_issuer_pki as pki;

use crate::bindings::signer::wasm_issuer::plugin::certificate_builder as wit_builder;
use crate::bindings::types as wit;
use crate::request::{IssuerInfo, PluginRequest};

pub(crate) fn request(request: &PluginRequest) -> wit::CertificateRequest {
    wit::CertificateRequest {
        csr_der: request.csr.der.clone(),
        csr: parsed_csr(&request.csr),
        duration_seconds: request.duration.as_secs(),
        is_ca: request.is_ca,
        usages: request.usages.iter().copied().map(usage_to_wit).collect(),
        requester: wit::Requester {
            username: request.requester.username.clone(),
            uid: request.requester.uid.clone(),
            groups: request.requester.groups.clone(),
            extra: request
                .requester
                .extra
                .iter()
                .map(|(key, values)| (key.clone(), values.clone()))
                .collect(),
        },
        annotations: request
            .annotations
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        namespace: request.namespace.clone(),
        name: request.name.clone(),
        issuer: issuer(&request.issuer),
    }
}

pub(crate) fn issuer(issuer: &IssuerInfo) -> wit::Issuer {
    wit::Issuer {
        name: issuer.name.clone(),
        kind: issuer.kind.clone(),
        namespace: issuer.namespace.clone(),
        config: issuer.config.clone(),
    }
}

fn parsed_csr(csr: &pki::ParsedCsr) -> wit::ParsedCsr {
    wit::ParsedCsr {
        subject: distinguished_name(&csr.subject),
        sans: csr.sans.iter().map(san_to_wit).collect(),
        public_key: public_key(&csr.public_key),
        extensions: csr
            .extensions
            .iter()
            .map(|extension| wit::Extension {
                oid: extension.oid.clone(),
                critical: extension.critical,
                value: extension.value.clone(),
            })
            .collect(),
        requested_is_ca: csr.requested_is_ca,
        requested_usages: csr
            .requested_usages
            .iter()
            .copied()
            .map(usage_to_wit)
            .collect(),
    }
}

fn distinguished_name(name: &pki::DistinguishedName) -> wit::DistinguishedName {
    wit::DistinguishedName {
        der: name.der.clone(),
        text: name.text.clone(),
        common_name: name.common_name.clone(),
        attributes: name.attributes.iter().map(name_attribute_to_wit).collect(),
    }
}

fn name_attribute_to_wit(attribute: &pki::NameAttribute) -> wit::NameAttribute {
    wit::NameAttribute {
        oid: attribute.oid.clone(),
        short_name: attribute.short_name.clone(),
        value: attribute.value.clone(),
    }
}

pub(crate) fn public_key(key: &pki::PublicKeyInfo) -> wit::PublicKey {
    wit::PublicKey {
        algorithm: match key.algorithm {
            pki::KeyAlgorithm::Rsa => wit::KeyAlgorithm::Rsa,
            pki::KeyAlgorithm::Ecdsa => wit::KeyAlgorithm::Ecdsa,
            pki::KeyAlgorithm::Ed25519 => wit::KeyAlgorithm::Ed25519,
            pki::KeyAlgorithm::Other => wit::KeyAlgorithm::Other,
        },
        bits: key.bits,
        curve: key.curve.clone(),
        spki_der: key.spki_der.clone(),
    }
}

fn san_to_wit(san: &pki::San) -> wit::San {
    match san {
        pki::San::Dns(name) => wit::San::Dns(name.clone()),
        pki::San::Ip(address) => wit::San::Ip(address.clone()),
        pki::San::Uri(uri) => wit::San::Uri(uri.clone()),
        pki::San::Email(email) => wit::San::Email(email.clone()),
        pki::San::OtherName(other) => wit::San::OtherName(wit::OtherName {
            type_id: other.type_id.clone(),
            value: other.value.clone(),
        }),
    }
}

fn san_from_wit(san: wit::San) -> pki::San {
    match san {
        wit::San::Dns(name) => pki::San::Dns(name),
        wit::San::Ip(address) => pki::San::Ip(address),
        wit::San::Uri(uri) => pki::San::Uri(uri),
        wit::San::Email(email) => pki::San::Email(email),
        wit::San::OtherName(other) => pki::San::OtherName(pki::OtherName {
            type_id: other.type_id,
            value: other.value,
        }),
    }
}

/// A plugin's certificate template, in the PKI crate's terms.
pub(crate) fn template(template: wit_builder::CertificateTemplate) -> pki::CertificateTemplate {
    pki::CertificateTemplate {
        subject: match template.subject {
            wit_builder::Subject::Der(der) => pki::SubjectTemplate::Der(der),
            wit_builder::Subject::Attributes(attributes) => pki::SubjectTemplate::Attributes(
                attributes
                    .into_iter()
                    .map(|attribute| pki::NameAttribute {
                        oid: attribute.oid,
                        short_name: attribute.short_name,
                        value: attribute.value,
                    })
                    .collect(),
            ),
        },
        sans: template.sans.into_iter().map(san_from_wit).collect(),
        public_key: template.public_key,
        not_before: template.not_before,
        not_after: template.not_after,
        is_ca: template.is_ca,
        path_length: template.path_length,
        usages: template.usages.into_iter().map(usage_from_wit).collect(),
        extensions: template
            .extensions
            .into_iter()
            .map(|extension| pki::Extension {
                oid: extension.oid,
                critical: extension.critical,
                value: extension.value,
            })
            .collect(),
    }
}

/// The usage enums match variant for variant; one list keeps both directions in step.
macro_rules! usage_mapping {
    ($($variant:ident),* $(,)?) => {
        fn usage_to_wit(usage: pki::Usage) -> wit::Usage {
            match usage {
                $(pki::Usage::$variant => wit::Usage::$variant,)*
            }
        }

        fn usage_from_wit(usage: wit::Usage) -> pki::Usage {
            match usage {
                $(wit::Usage::$variant => pki::Usage::$variant,)*
            }
        }
    };
}

usage_mapping!(
    Signing,
    DigitalSignature,
    ContentCommitment,
    KeyEncipherment,
    KeyAgreement,
    DataEncipherment,
    CertSign,
    CrlSign,
    EncipherOnly,
    DecipherOnly,
    Any,
    ServerAuth,
    ClientAuth,
    CodeSigning,
    EmailProtection,
    Smime,
    IpsecEndSystem,
    IpsecTunnel,
    IpsecUser,
    Timestamping,
    OcspSigning,
    MicrosoftSgc,
    NetscapeSgc,
);
