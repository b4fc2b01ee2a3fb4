//! A certificate request to start unit tests from.

use crate::{
    CertificateRequest, DistinguishedName, Issuer, KeyAlgorithm, ParsedCsr, PublicKey, Requester,
    San,
};

pub(crate) fn request() -> CertificateRequest {
    CertificateRequest {
        csr_der: vec![0x30],
        csr: ParsedCsr {
            subject: DistinguishedName {
                der: vec![0x30, 0],
                text: String::new(),
                common_name: None,
                attributes: Vec::new(),
            },
            sans: vec![San::Dns("a.example.com".into()), San::Ip("10.0.0.1".into())],
            public_key: PublicKey {
                algorithm: KeyAlgorithm::Ecdsa,
                bits: 256,
                curve: Some("P-256".into()),
                spki_der: vec![0x30, 1],
            },
            extensions: Vec::new(),
            requested_is_ca: None,
            requested_usages: Vec::new(),
        },
        duration_seconds: 0,
        is_ca: false,
        usages: Vec::new(),
        requester: Requester {
            username: "alice".into(),
            uid: String::new(),
            groups: Vec::new(),
            extra: Vec::new(),
        },
        annotations: vec![("team".into(), "blue".into())],
        namespace: "default".into(),
        name: "req-1".into(),
        issuer: Issuer {
            name: "ca".into(),
            kind: "WasmIssuer".into(),
            namespace: "default".into(),
            config: String::new(),
        },
    }
}
