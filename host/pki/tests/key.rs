//! GrantedKey with keys and certificates written by openssl in every form a Secret holds.

mod common;

use common::{Form, Kind, Openssl};
use wasm_issuer_pki::{Error, GrantedKey, KeyAlgorithm};

#[test]
fn loads_every_key_form_and_signs_what_openssl_verifies() {
    let ssl = Openssl::new();
    let cases = [
        (
            Kind::Rsa(2048),
            Form::Traditional,
            "1.2.840.113549.1.1.11",
            "-sha256",
        ),
        (
            Kind::Rsa(3072),
            Form::Pkcs8,
            "1.2.840.113549.1.1.12",
            "-sha384",
        ),
        (
            Kind::Rsa(4096),
            Form::Traditional,
            "1.2.840.113549.1.1.13",
            "-sha512",
        ),
        (
            Kind::P256,
            Form::Traditional,
            "1.2.840.10045.4.3.2",
            "-sha256",
        ),
        (Kind::P256, Form::Pkcs8, "1.2.840.10045.4.3.2", "-sha256"),
        (
            Kind::P384,
            Form::Traditional,
            "1.2.840.10045.4.3.3",
            "-sha384",
        ),
        (Kind::Ed25519, Form::Pkcs8, "1.3.101.112", ""),
    ];
    ssl.write("data", b"to be signed");
    for (kind, form, oid, digest) in cases {
        let name = format!("{kind:?}-{form:?}").replace(['(', ')'], "");
        ssl.key(&name, kind, form);
        let key_pem = ssl.read(&format!("{name}.key"));
        let expected_label = match (kind, form) {
            (_, Form::Pkcs8) => "-----BEGIN PRIVATE KEY-----",
            (Kind::Rsa(_), _) => "-----BEGIN RSA PRIVATE KEY-----",
            _ => "-----BEGIN EC PRIVATE KEY-----",
        };
        assert!(
            String::from_utf8_lossy(&key_pem).starts_with(expected_label),
            "{name}: fixture form"
        );
        let crt = ssl.root_ca(&name, &format!("CN = {name}\nO = Example"));

        // As the CLI loads it: a directory laid out like a mounted Secret.
        let dir = ssl.path(&format!("{name}-secret"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("tls.key"), &key_pem).unwrap();
        std::fs::write(dir.join("tls.crt"), &crt).unwrap();
        std::fs::write(dir.join("ca.crt"), &crt).unwrap();
        let key = GrantedKey::from_dir(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(key.signature_algorithm_oid(), oid, "{name}");
        let crt_der = common::der_of_pem(&crt);
        assert_eq!(key.chain(), std::slice::from_ref(&crt_der));
        assert_eq!(key.ca(), Some(crt_der.as_slice()));
        let certificate = key.certificate().unwrap();
        assert_eq!(certificate.der, crt_der);
        assert_eq!(certificate.subject, format!("O=Example,CN={name}"));
        assert!(certificate.is_ca);
        assert_eq!(certificate.not_after - certificate.not_before, 30 * 86_400);
        let spki_pem = ssl.run(&["pkey", "-in", &format!("{name}.key"), "-pubout"]);
        ssl.write("pub.pem", &spki_pem);
        assert_eq!(
            key.public_key().spki_der,
            common::der_of_pem(&spki_pem),
            "{name}"
        );

        let signature = key.sign(b"to be signed").unwrap();
        ssl.write("sig", &signature);
        if kind == Kind::Ed25519 {
            assert_eq!(key.public_key().algorithm, KeyAlgorithm::Ed25519);
            ssl.run(&[
                "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "data",
                "-sigfile", "sig",
            ]);
        } else {
            ssl.run(&[
                "dgst",
                digest,
                "-verify",
                "pub.pem",
                "-signature",
                "sig",
                "data",
            ]);
        }
    }
}

#[test]
fn reads_ecparam_output_with_its_parameters_block() {
    let ssl = Openssl::new();
    ssl.run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-out",
        "ec.key",
    ]);
    assert!(String::from_utf8_lossy(&ssl.read("ec.key")).contains("BEGIN EC PARAMETERS"));
    let key = GrantedKey::from_pem(b"", &ssl.read("ec.key"), None).unwrap();
    assert_eq!(key.public_key().curve.as_deref(), Some("P-256"));
    assert!(key.certificate().is_none() && key.chain().is_empty() && key.ca().is_none());
    let spki = ssl.run(&["pkey", "-in", "ec.key", "-pubout"]);
    assert_eq!(key.public_key().spki_der, common::der_of_pem(&spki));
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let ssl = Openssl::new();
    for (kind, form) in [
        (Kind::P256, Form::Traditional),
        (Kind::Rsa(2048), Form::Pkcs8),
        (Kind::Ed25519, Form::Pkcs8),
    ] {
        ssl.key("a", kind, form);
        let crt = ssl.root_ca("a", "CN = a");
        ssl.key("b", kind, form);
        let err = GrantedKey::from_pem(&crt, &ssl.read("b.key"), None).unwrap_err();
        assert!(
            matches!(err, Error::KeyCertificateMismatch),
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn bad_key_material_gets_a_clear_error() {
    let ssl = Openssl::new();
    let err = GrantedKey::from_pem(b"", b"not a key", None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotPem {
                what: "tls.key",
                ..
            }
        ),
        "{err}"
    );

    ssl.key("p521", Kind::P521, Form::Traditional);
    let err = GrantedKey::from_pem(b"", &ssl.read("p521.key"), None).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedKey(m) if m.contains("1.3.132.0.35")),
        "{err}"
    );

    ssl.key("plain", Kind::P256, Form::Pkcs8);
    ssl.run(&[
        "pkcs8",
        "-topk8",
        "-in",
        "plain.key",
        "-passout",
        "pass:secret",
        "-out",
        "encrypted.key",
    ]);
    let err = GrantedKey::from_pem(b"", &ssl.read("encrypted.key"), None).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedKey(m) if m.contains("encrypted")),
        "{err}"
    );

    let crt = ssl.root_ca("plain", "CN = plain");
    let err = GrantedKey::from_pem(&crt, &crt, None).unwrap_err();
    assert!(matches!(err, Error::NotPem { .. }), "{err}");
    let err =
        GrantedKey::from_pem(&ssl.read("plain.key"), &ssl.read("plain.key"), None).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::UnexpectedPem {
                what: "tls.crt",
                ..
            }
        ),
        "{err}"
    );

    let mut garbled = String::from_utf8(ssl.read("plain.key")).unwrap();
    garbled.replace_range(40..48, "AAAAAAAA");
    assert!(GrantedKey::from_pem(b"", garbled.as_bytes(), None).is_err());

    let err = GrantedKey::from_dir(ssl.path("missing")).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path.ends_with("tls.key")),
        "{err}"
    );
}
