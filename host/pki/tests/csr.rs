//! ParsedCsr against CSRs made by `openssl req`.

use std::fs;

use wasm_issuer_pki::{Error, KeyAlgorithm, OtherName, ParsedCsr, San, Usage};
use wasm_issuer_test_support::{CsrSpec, KeyForm, KeyKind, Workdir, der_of_pem};

/// The SANs of [`CsrSpec::every_san`].
fn expected_sans() -> Vec<San> {
    vec![
        San::Dns("app.example.com".into()),
        San::Dns("www.example.com".into()),
        San::Ip("192.0.2.10".into()),
        San::Ip("2001:db8::10".into()),
        San::Uri("spiffe://cluster.local/ns/default/sa/app".into()),
        San::Email("ops@example.com".into()),
        San::OtherName(OtherName {
            type_id: "1.3.6.1.4.1.311.20.2.3".into(),
            // The DER of the UTF8String.
            value: b"\x0c\x0fapp@example.com".to_vec(),
        }),
    ]
}

#[test]
fn parses_and_verifies_every_supported_key_type() {
    let work = Workdir::new();
    let cases = [
        (KeyKind::Rsa2048, KeyAlgorithm::Rsa, 2048, None),
        (KeyKind::Rsa3072, KeyAlgorithm::Rsa, 3072, None),
        (KeyKind::Rsa4096, KeyAlgorithm::Rsa, 4096, None),
        (KeyKind::EcP256, KeyAlgorithm::Ecdsa, 256, Some("P-256")),
        (KeyKind::EcP384, KeyAlgorithm::Ecdsa, 384, Some("P-384")),
        (KeyKind::Ed25519, KeyAlgorithm::Ed25519, 256, None),
    ];
    for (kind, algorithm, bits, curve) in cases {
        let name = format!("{kind:?}");
        let pem = fs::read(work.csr(&name, &CsrSpec::every_san(kind))).unwrap();
        let csr = ParsedCsr::from_pem(&pem).unwrap_or_else(|e| panic!("{kind:?}: {e}"));

        assert_eq!(csr.der, der_of_pem(&pem));
        assert_eq!(csr.public_key.algorithm, algorithm, "{kind:?}");
        assert_eq!(csr.public_key.bits, bits, "{kind:?}");
        assert_eq!(csr.public_key.curve.as_deref(), curve, "{kind:?}");
        let openssl_spki = work.run(["req", "-in", &format!("{name}.csr"), "-noout", "-pubkey"]);
        assert_eq!(
            csr.public_key.spki_der,
            der_of_pem(&openssl_spki),
            "{kind:?}"
        );

        assert_eq!(csr.subject.text, "CN=app.example.com,O=Example Org,C=DE");
        assert_eq!(csr.subject.common_name.as_deref(), Some("app.example.com"));
        let attributes: Vec<_> = csr
            .subject
            .attributes
            .iter()
            .map(|a| (a.oid.as_str(), a.short_name.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            attributes,
            [
                ("2.5.4.6", "C", "DE"),
                ("2.5.4.10", "O", "Example Org"),
                ("2.5.4.3", "CN", "app.example.com")
            ]
        );

        assert_eq!(csr.sans, expected_sans(), "{kind:?}");
        assert_eq!(csr.requested_is_ca, Some(false));
        assert_eq!(
            csr.requested_usages,
            [
                Usage::DigitalSignature,
                Usage::KeyEncipherment,
                Usage::ServerAuth,
                Usage::ClientAuth
            ]
        );
        let oids: Vec<_> = csr
            .extensions
            .iter()
            .map(|e| (e.oid.as_str(), e.critical))
            .collect();
        assert_eq!(
            oids,
            [
                ("2.5.29.17", false),
                ("2.5.29.15", true),
                ("2.5.29.37", false),
                ("2.5.29.19", false)
            ]
        );
    }
}

#[test]
fn reads_a_ca_request_and_escapes_the_subject_text() {
    let work = Workdir::new();
    let spec = CsrSpec {
        extensions: vec![
            "basicConstraints=critical,CA:TRUE".into(),
            "keyUsage=keyCertSign,cRLSign".into(),
        ],
        ..CsrSpec::new(
            KeyKind::EcP256,
            "/CN=Intermediate, Inc./OU=Platform/1.2.3.4=custom",
        )
    };
    let csr = ParsedCsr::from_pem(&fs::read(work.csr("ca", &spec)).unwrap()).unwrap();
    assert_eq!(csr.requested_is_ca, Some(true));
    assert_eq!(csr.requested_usages, [Usage::CertSign, Usage::CrlSign]);
    assert!(csr.sans.is_empty());
    // RFC 4514: last RDN first, specials escaped, unknown types as OID=#hex of the DER.
    assert_eq!(
        csr.subject.text,
        "1.2.3.4=#0c06637573746f6d,OU=Platform,CN=Intermediate\\, Inc."
    );
    assert_eq!(csr.subject.attributes[2].short_name, "");
    assert_eq!(csr.subject.attributes[2].value, "custom");
}

#[test]
fn input_that_is_not_pem_is_reported_as_such() {
    let err = ParsedCsr::from_pem(b"this is not a CSR").unwrap_err();
    assert!(matches!(err, Error::NotPem { .. }), "{err}");
}

#[test]
fn pem_that_is_not_a_csr_is_reported_with_its_label() {
    let work = Workdir::new();
    let ca = work.ca(
        "ca",
        "/CN=Not a request",
        KeyKind::EcP256,
        KeyForm::Pkcs8,
        30,
    );
    let err = ParsedCsr::from_pem(&fs::read(ca.cert()).unwrap()).unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedPem { found, .. } if found == "CERTIFICATE"),
        "{err}"
    );
}

#[test]
fn bad_der_is_reported_as_such() {
    let work = Workdir::new();
    let der = der_of_pem(&fs::read(work.csr("k", &CsrSpec::every_san(KeyKind::EcP256))).unwrap());
    for broken in [&der[..der.len() - 5], &[0x30, 0x03, 0x02, 0x01, 0x00][..]] {
        let err = ParsedCsr::from_der(broken).unwrap_err();
        assert!(matches!(err, Error::BadDer { .. }), "{err}");
    }
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        ParsedCsr::from_der(&trailing),
        Err(Error::BadDer { .. })
    ));
}

#[test]
fn a_tampered_csr_fails_its_signature_check() {
    let work = Workdir::new();
    for kind in [KeyKind::Rsa2048, KeyKind::EcP256, KeyKind::Ed25519] {
        let csr = work.csr(&format!("{kind:?}"), &CsrSpec::every_san(kind));
        let der = der_of_pem(&fs::read(csr).unwrap());

        let mut signature_flipped = der.clone();
        *signature_flipped.last_mut().unwrap() ^= 0x01;
        let err = ParsedCsr::from_der(&signature_flipped).unwrap_err();
        assert!(matches!(err, Error::BadCsrSignature), "{kind:?}: {err}");

        // Change the requested DNS name: still well-formed, no longer what was signed.
        let at = der.windows(3).position(|w| w == b"app").unwrap();
        let mut content_changed = der.clone();
        content_changed[at] = b'e';
        let err = ParsedCsr::from_der(&content_changed).unwrap_err();
        assert!(matches!(err, Error::BadCsrSignature), "{kind:?}: {err}");
    }
}

#[test]
fn unsupported_keys_get_a_clear_error_not_a_signature_failure() {
    let work = Workdir::new();
    for (kind, needle) in [
        (KeyKind::EcP521, "P-521"),
        (KeyKind::Dsa2048, "1.2.840.10040.4.1"),
        (KeyKind::Rsa1024, "1024"),
    ] {
        let csr = work.csr(&format!("{kind:?}"), &CsrSpec::server(kind, "x"));
        let err = ParsedCsr::from_pem(&fs::read(csr).unwrap()).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedKey(m) if m.contains(needle)),
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn an_unverifiable_signature_algorithm_is_named() {
    let work = Workdir::new();
    work.key("k", KeyKind::EcP256, KeyForm::Pkcs8);
    work.write(
        "k.cnf",
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = x\n",
    );
    let pem = work.run([
        "req", "-new", "-sha512", "-key", "k.key", "-config", "k.cnf",
    ]);
    let err = ParsedCsr::from_pem(&pem).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedSignatureAlgorithm(oid) if oid == "1.2.840.10045.4.3.4"),
        "{err}"
    );
}
