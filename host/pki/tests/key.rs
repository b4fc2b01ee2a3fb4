//! GrantedKey with keys and certificates written by openssl in every form a Secret holds.

use std::fs;

use wasm_issuer_pki::{Error, GrantedKey, KeyAlgorithm};
use wasm_issuer_test_support::{KeyForm, KeyKind, Workdir, der_of_pem};

#[test]
fn loads_every_key_form_and_signs_what_openssl_verifies() {
    let work = Workdir::new();
    let cases = [
        (
            KeyKind::Rsa2048,
            KeyForm::Pkcs1,
            "1.2.840.113549.1.1.11",
            "-sha256",
        ),
        (
            KeyKind::Rsa3072,
            KeyForm::Pkcs8,
            "1.2.840.113549.1.1.12",
            "-sha384",
        ),
        (
            KeyKind::Rsa4096,
            KeyForm::Pkcs1,
            "1.2.840.113549.1.1.13",
            "-sha512",
        ),
        (
            KeyKind::EcP256,
            KeyForm::Sec1,
            "1.2.840.10045.4.3.2",
            "-sha256",
        ),
        (
            KeyKind::EcP256,
            KeyForm::Pkcs8,
            "1.2.840.10045.4.3.2",
            "-sha256",
        ),
        (
            KeyKind::EcP384,
            KeyForm::Sec1,
            "1.2.840.10045.4.3.3",
            "-sha384",
        ),
        (KeyKind::Ed25519, KeyForm::Pkcs8, "1.3.101.112", ""),
    ];
    work.write("data", b"to be signed");
    for (kind, form, oid, digest) in cases {
        let name = format!("{kind:?}-{form:?}");
        // As the CLI loads it: a directory laid out like a mounted Secret.
        let ca = work.ca(&name, &format!("/CN={name}/O=Example"), kind, form, 30);
        let key_pem = fs::read(ca.key()).unwrap();
        let expected_label = match form {
            KeyForm::Pkcs8 => "-----BEGIN PRIVATE KEY-----",
            KeyForm::Pkcs1 => "-----BEGIN RSA PRIVATE KEY-----",
            KeyForm::Sec1 => "-----BEGIN EC PRIVATE KEY-----",
        };
        assert!(
            String::from_utf8_lossy(&key_pem).starts_with(expected_label),
            "{name}: fixture form"
        );
        let crt = fs::read(ca.cert()).unwrap();
        fs::write(ca.dir.join("ca.crt"), &crt).unwrap();
        let key = GrantedKey::from_dir(&ca.dir).unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(key.signature_algorithm_oid(), oid, "{name}");
        let crt_der = der_of_pem(&crt);
        assert_eq!(key.chain(), std::slice::from_ref(&crt_der));
        assert_eq!(key.ca(), Some(crt_der.as_slice()));
        let certificate = key.certificate().unwrap();
        assert_eq!(certificate.der, crt_der);
        assert_eq!(certificate.subject, format!("O=Example,CN={name}"));
        assert!(certificate.is_ca);
        assert_eq!(certificate.not_after - certificate.not_before, 30 * 86_400);
        let spki_pem = work.run(["pkey", "-in", &format!("{name}/tls.key"), "-pubout"]);
        work.write("pub.pem", &spki_pem);
        assert_eq!(key.public_key().spki_der, der_of_pem(&spki_pem), "{name}");

        let signature = key.sign(b"to be signed").unwrap();
        work.write("sig", &signature);
        if kind == KeyKind::Ed25519 {
            assert_eq!(key.public_key().algorithm, KeyAlgorithm::Ed25519);
            work.run([
                "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "data",
                "-sigfile", "sig",
            ]);
        } else {
            work.run([
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
    let work = Workdir::new();
    work.run([
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-out",
        "ec.key",
    ]);
    let pem = fs::read(work.path().join("ec.key")).unwrap();
    assert!(String::from_utf8_lossy(&pem).contains("BEGIN EC PARAMETERS"));
    let key = GrantedKey::from_pem(b"", &pem, None).unwrap();
    assert_eq!(key.public_key().curve.as_deref(), Some("P-256"));
    assert!(key.certificate().is_none() && key.chain().is_empty() && key.ca().is_none());
    let spki = work.run(["pkey", "-in", "ec.key", "-pubout"]);
    assert_eq!(key.public_key().spki_der, der_of_pem(&spki));
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let work = Workdir::new();
    for (kind, form) in [
        (KeyKind::EcP256, KeyForm::Sec1),
        (KeyKind::Rsa2048, KeyForm::Pkcs8),
        (KeyKind::Ed25519, KeyForm::Pkcs8),
    ] {
        let crt = fs::read(work.ca("a", "/CN=a", kind, form, 30).cert()).unwrap();
        let other_key = fs::read(work.key("b", kind, form)).unwrap();
        let err = GrantedKey::from_pem(&crt, &other_key, None).unwrap_err();
        assert!(
            matches!(err, Error::KeyCertificateMismatch),
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn bad_key_material_gets_a_clear_error() {
    let work = Workdir::new();
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

    let p521 = fs::read(work.key("p521", KeyKind::EcP521, KeyForm::Sec1)).unwrap();
    let err = GrantedKey::from_pem(b"", &p521, None).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedKey(m) if m.contains("1.3.132.0.35")),
        "{err}"
    );

    let ca = work.ca("plain", "/CN=plain", KeyKind::EcP256, KeyForm::Pkcs8, 30);
    work.run([
        "pkcs8",
        "-topk8",
        "-in",
        "plain/tls.key",
        "-passout",
        "pass:secret",
        "-out",
        "encrypted.key",
    ]);
    let encrypted = fs::read(work.path().join("encrypted.key")).unwrap();
    let err = GrantedKey::from_pem(b"", &encrypted, None).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedKey(m) if m.contains("encrypted")),
        "{err}"
    );

    let crt = fs::read(ca.cert()).unwrap();
    let err = GrantedKey::from_pem(&crt, &crt, None).unwrap_err();
    assert!(matches!(err, Error::NotPem { .. }), "{err}");
    let plain = fs::read(ca.key()).unwrap();
    let err = GrantedKey::from_pem(&plain, &plain, None).unwrap_err();
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

    let mut garbled = String::from_utf8(plain).unwrap();
    garbled.replace_range(40..48, "AAAAAAAA");
    assert!(GrantedKey::from_pem(b"", garbled.as_bytes(), None).is_err());

    let err = GrantedKey::from_dir(work.path().join("missing")).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path.ends_with("tls.key")),
        "{err}"
    );
}
