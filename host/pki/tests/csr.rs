//! ParsedCsr against CSRs made by `openssl req`.

mod common;

use common::{Form, Kind, Openssl, UPN_OID, UPN_VALUE_DER};
use wasm_issuer_pki::{Error, KeyAlgorithm, OtherName, ParsedCsr, San, Usage};

fn expected_sans() -> Vec<San> {
    vec![
        San::Dns("app.example.com".into()),
        San::Dns("www.example.com".into()),
        San::Ip("192.0.2.10".into()),
        San::Ip("2001:db8::10".into()),
        San::Uri("spiffe://cluster.local/ns/default/sa/app".into()),
        San::Email("ops@example.com".into()),
        San::OtherName(OtherName {
            type_id: UPN_OID.into(),
            value: UPN_VALUE_DER.to_vec(),
        }),
    ]
}

#[test]
fn parses_and_verifies_every_supported_key_type() {
    let ssl = Openssl::new();
    let cases = [
        (Kind::Rsa(2048), KeyAlgorithm::Rsa, 2048, None),
        (Kind::Rsa(3072), KeyAlgorithm::Rsa, 3072, None),
        (Kind::Rsa(4096), KeyAlgorithm::Rsa, 4096, None),
        (Kind::P256, KeyAlgorithm::Ecdsa, 256, Some("P-256")),
        (Kind::P384, KeyAlgorithm::Ecdsa, 384, Some("P-384")),
        (Kind::Ed25519, KeyAlgorithm::Ed25519, 256, None),
    ];
    for (kind, algorithm, bits, curve) in cases {
        let name = format!("{kind:?}").replace(['(', ')'], "");
        ssl.key(&name, kind, Form::Pkcs8);
        let pem = ssl.leaf_csr(&name);
        let csr = ParsedCsr::from_pem(&pem).unwrap_or_else(|e| panic!("{kind:?}: {e}"));

        assert_eq!(csr.der, common::der_of_pem(&pem));
        assert_eq!(csr.public_key.algorithm, algorithm, "{kind:?}");
        assert_eq!(csr.public_key.bits, bits, "{kind:?}");
        assert_eq!(csr.public_key.curve.as_deref(), curve, "{kind:?}");
        let openssl_spki = ssl.run(&["req", "-in", &format!("{name}.csr"), "-noout", "-pubkey"]);
        assert_eq!(
            csr.public_key.spki_der,
            common::der_of_pem(&openssl_spki),
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
    let ssl = Openssl::new();
    ssl.key("ca", Kind::P256, Form::Pkcs8);
    let pem = ssl.csr(
        "ca",
        "CN = Intermediate\\, Inc.\nOU = Platform\nx.1.2.3.4 = custom",
        "basicConstraints = critical, CA:TRUE\nkeyUsage = keyCertSign, cRLSign",
        "utf8only",
    );
    let csr = ParsedCsr::from_pem(&pem).unwrap();
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
    let ssl = Openssl::new();
    ssl.key("ca", Kind::P256, Form::Pkcs8);
    let cert = ssl.root_ca("ca", "CN = Not a request");
    let err = ParsedCsr::from_pem(&cert).unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedPem { found, .. } if found == "CERTIFICATE"),
        "{err}"
    );
}

#[test]
fn bad_der_is_reported_as_such() {
    let ssl = Openssl::new();
    ssl.key("k", Kind::P256, Form::Pkcs8);
    let der = common::der_of_pem(&ssl.leaf_csr("k"));
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
    let ssl = Openssl::new();
    for kind in [Kind::Rsa(2048), Kind::P256, Kind::Ed25519] {
        let name = format!("{kind:?}").replace(['(', ')'], "");
        ssl.key(&name, kind, Form::Pkcs8);
        let der = common::der_of_pem(&ssl.leaf_csr(&name));

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
    let ssl = Openssl::new();
    for (kind, needle) in [
        (Kind::P521, "P-521"),
        (Kind::Dsa, "1.2.840.10040.4.1"),
        (Kind::Rsa(1024), "1024"),
    ] {
        let name = format!("{kind:?}").replace(['(', ')'], "");
        ssl.key(&name, kind, Form::Pkcs8);
        let pem = ssl.csr(&name, "CN = x", "subjectAltName = DNS:x", "utf8only");
        let err = ParsedCsr::from_pem(&pem).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedKey(m) if m.contains(needle)),
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn an_unverifiable_signature_algorithm_is_named() {
    let ssl = Openssl::new();
    ssl.key("k", Kind::P256, Form::Pkcs8);
    ssl.write(
        "k.cnf",
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = x\n",
    );
    ssl.run(&[
        "req", "-new", "-sha512", "-key", "k.key", "-config", "k.cnf", "-out", "k.csr",
    ]);
    let err = ParsedCsr::from_pem(&ssl.read("k.csr")).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedSignatureAlgorithm(oid) if oid == "1.2.840.10045.4.3.4"),
        "{err}"
    );
}
