//! issue() with CA keys and CSRs made by openssl, checked by `openssl verify`
//! and read back with x509-parser.

use std::fs;

use wasm_issuer_pki::{
    CertificateTemplate, DistinguishedName, Error, Expected, Extension, GrantedKey, NameAttribute,
    ParsedCsr, San, SubjectTemplate, Usage, check_issued, issue,
};
use wasm_issuer_test_support::{Ca, CsrSpec, KeyForm, KeyKind, Workdir, der_of_pem, now, pem};
use x509_parser::asn1_rs::Tag;
use x509_parser::prelude::*;

const DAY: i64 = 86_400;

/// A root CA `<name>` made by openssl, and it loaded as a granted key.
fn root(work: &Workdir, name: &str, kind: KeyKind, form: KeyForm) -> (Ca, GrantedKey) {
    let ca = work.ca(
        name,
        &format!("/C=DE/O=Example/CN=Root {name}"),
        kind,
        form,
        30,
    );
    let crt = fs::read(ca.cert()).unwrap();
    let key = GrantedKey::from_pem(&crt, &fs::read(ca.key()).unwrap(), None)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (ca, key)
}

/// A CSR made by openssl from `spec`, parsed.
fn csr(work: &Workdir, name: &str, spec: &CsrSpec) -> ParsedCsr {
    ParsedCsr::from_pem(&fs::read(work.csr(name, spec)).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The template a CA issuer makes from a CSR: literal subject, the CSR's SANs and key.
fn template_for(csr: &ParsedCsr, usages: &[Usage]) -> CertificateTemplate {
    let now = now();
    CertificateTemplate {
        subject: SubjectTemplate::Der(csr.subject.der.clone()),
        sans: csr.sans.clone(),
        public_key: csr.public_key.spki_der.clone(),
        not_before: now,
        not_after: now + DAY,
        is_ca: false,
        path_length: None,
        usages: usages.to_vec(),
        extensions: Vec::new(),
    }
}

fn key_identifier(cert: &X509Certificate<'_>, aki: bool) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) if !aki => Some(id.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(id) if aki => {
                id.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
}

#[test]
fn every_ca_key_issues_for_every_subject_key() {
    let work = Workdir::new();
    let cas = [
        (KeyKind::Rsa2048, KeyForm::Pkcs1, "1.2.840.113549.1.1.11"),
        (KeyKind::Rsa3072, KeyForm::Pkcs8, "1.2.840.113549.1.1.12"),
        (KeyKind::Rsa4096, KeyForm::Pkcs1, "1.2.840.113549.1.1.13"),
        (KeyKind::EcP256, KeyForm::Sec1, "1.2.840.10045.4.3.2"),
        (KeyKind::EcP384, KeyForm::Pkcs8, "1.2.840.10045.4.3.3"),
        (KeyKind::Ed25519, KeyForm::Pkcs8, "1.3.101.112"),
    ];
    let csrs: Vec<_> = KeyKind::ALL
        .iter()
        .map(|&kind| {
            let leaf = format!("leaf-{kind:?}");
            let csr = csr(&work, &leaf, &CsrSpec::every_san(kind));
            (leaf, csr)
        })
        .collect();
    let usages = [
        Usage::DigitalSignature,
        Usage::KeyEncipherment,
        Usage::ServerAuth,
        Usage::ClientAuth,
    ];

    for (ca_kind, form, signature_oid) in cas {
        let ca_name = format!("ca-{ca_kind:?}");
        let (ca_files, ca) = root(&work, &ca_name, ca_kind, form);
        assert_eq!(ca.signature_algorithm_oid(), signature_oid);
        let ca_der = ca.certificate().unwrap().der;
        let ca_x509 = parse_x509_certificate(&ca_der).unwrap().1;

        for (leaf, csr) in &csrs {
            let what = format!("{ca_name} -> {leaf}");
            let template = template_for(csr, &usages);
            let der = issue(&template, &ca).unwrap_or_else(|e| panic!("{what}: {e}"));
            work.verify(
                &ca_files.cert(),
                None,
                &format!("{ca_name}-{leaf}.crt"),
                &pem(&der),
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));

            let cert = parse_x509_certificate(&der).unwrap().1;
            assert_eq!(
                cert.signature_algorithm.algorithm.to_id_string(),
                signature_oid,
                "{what}"
            );
            assert_eq!(
                cert.subject().as_raw(),
                csr.subject.der.as_slice(),
                "{what}"
            );
            assert_eq!(cert.issuer().as_raw(), ca_x509.subject().as_raw(), "{what}");
            assert_eq!(
                cert.public_key().raw,
                csr.public_key.spki_der.as_slice(),
                "{what}"
            );
            let validity = cert.validity();
            assert_eq!(validity.not_before.timestamp(), template.not_before);
            assert_eq!(
                validity.not_after.timestamp() - validity.not_before.timestamp(),
                DAY
            );
            assert!(
                cert.raw_serial().len() == 20 && cert.raw_serial()[0] & 0x80 == 0,
                "{what}: serial"
            );

            let san = cert.subject_alternative_name().unwrap().unwrap();
            assert!(!san.critical);
            let names: Vec<String> = san
                .value
                .general_names
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(
                names,
                [
                    "DNSName(app.example.com)",
                    "DNSName(www.example.com)",
                    "IPAddress(c0:00:02:0a)",
                    "IPAddress(20:01:0d:b8:00:00:00:00:00:00:00:00:00:00:00:10)",
                    "URI(spiffe://cluster.local/ns/default/sa/app)",
                    "RFC822Name(ops@example.com)",
                    "OtherName(1.3.6.1.4.1.311.20.2.3, [...])",
                ],
                "{what}"
            );
            let GeneralName::OtherName(_, upn) = &san.value.general_names[6] else {
                unreachable!()
            };
            assert_eq!(
                *upn, b"\xa0\x11\x0c\x0fapp@example.com",
                "{what}: otherName verbatim"
            );

            let bc = cert.basic_constraints().unwrap().unwrap();
            assert!(bc.critical && !bc.value.ca, "{what}");
            let ku = cert.key_usage().unwrap().unwrap();
            assert!(
                ku.critical && ku.value.digital_signature() && ku.value.key_encipherment(),
                "{what}"
            );
            assert!(!ku.value.key_cert_sign());
            let eku = cert.extended_key_usage().unwrap().unwrap().value;
            assert!(
                eku.server_auth && eku.client_auth && !eku.code_signing,
                "{what}"
            );
            assert_eq!(
                key_identifier(&cert, true),
                key_identifier(&ca_x509, false),
                "{what}: AKI"
            );
            assert!(key_identifier(&cert, false).is_some(), "{what}: SKI");

            let checked = check_issued(
                csr,
                &Expected { is_ca: false },
                std::slice::from_ref(&der),
                Some(&ca_der),
                now(),
            );
            checked.unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
}

#[test]
fn literal_subjects_keep_order_and_string_types() {
    let work = Workdir::new();
    let (ca_files, ca) = root(&work, "ca", KeyKind::EcP256, KeyForm::Pkcs8);
    // string_mask=pkix makes openssl write PrintableString where it can, BMPString elsewhere.
    let spec = CsrSpec {
        sans: vec!["DNS:literal.example.com".into()],
        string_mask: "pkix",
        ..CsrSpec::new(
            KeyKind::EcP256,
            "/C=DE/ST=Berlin/L=Berlin/O=Example Org/OU=Platform/CN=Grüße GmbH/emailAddress=a@example.com",
        )
    };
    let csr = csr(&work, "leaf", &spec);
    let der = issue(&template_for(&csr, &[Usage::DigitalSignature]), &ca).unwrap();
    let cert = parse_x509_certificate(&der).unwrap().1;
    assert_eq!(cert.subject().as_raw(), csr.subject.der.as_slice());
    let tags: Vec<_> = cert
        .subject()
        .iter_attributes()
        .map(|a| a.attr_value().tag())
        .collect();
    assert!(
        tags.contains(&Tag::PrintableString)
            && tags.contains(&Tag::BmpString)
            && tags.contains(&Tag::Ia5String)
    );
    work.verify(&ca_files.cert(), None, "leaf.crt", &pem(&der))
        .unwrap();
    let text = String::from_utf8(work.run([
        "x509", "-in", "leaf.crt", "-noout", "-subject", "-nameopt", "RFC2253",
    ]))
    .unwrap();
    assert!(
        text.contains(",OU=Platform,O=Example Org,L=Berlin,ST=Berlin,C=DE"),
        "{text}"
    );
    let subject = DistinguishedName::from_der(cert.subject().as_raw()).unwrap();
    assert_eq!(subject.common_name.as_deref(), Some("Grüße GmbH"));
}

#[test]
fn names_rcgen_cannot_write_exactly_are_refused_not_altered() {
    let work = Workdir::new();
    let (_, ca) = root(&work, "ca", KeyKind::EcP256, KeyForm::Pkcs8);
    let spec = CsrSpec {
        sans: vec!["DNS:x".into()],
        ..CsrSpec::new(KeyKind::EcP256, "/O=Example/OU=One/OU=Two/CN=x")
    };
    let csr = csr(&work, "leaf", &spec);
    assert_eq!(csr.subject.text, "CN=x,OU=Two,OU=One,O=Example");
    let err = issue(&template_for(&csr, &[]), &ca).unwrap_err();
    assert!(
        matches!(&err, Error::UnrepresentableName(m) if m.contains("2.5.4.11")),
        "{err}"
    );
}

#[test]
fn attribute_subjects_empty_subjects_and_custom_extensions() {
    let work = Workdir::new();
    let (ca_files, ca) = root(&work, "ca", KeyKind::Rsa2048, KeyForm::Pkcs1);
    let csr = csr(&work, "leaf", &CsrSpec::every_san(KeyKind::Ed25519));

    let mut template = template_for(
        &csr,
        &[Usage::Signing, Usage::Smime, Usage::EmailProtection],
    );
    template.subject = SubjectTemplate::Attributes(vec![
        NameAttribute {
            oid: "2.5.4.10".into(),
            short_name: "O".into(),
            value: "Plugin Org".into(),
        },
        NameAttribute {
            oid: "2.5.4.3".into(),
            short_name: String::new(),
            value: "from attributes".into(),
        },
    ]);
    // certificatePolicies { anyPolicy }, passed through as given.
    let policies = vec![0x30, 0x08, 0x30, 0x06, 0x06, 0x04, 0x55, 0x1d, 0x20, 0x00];
    template.extensions = vec![Extension {
        oid: "2.5.29.32".into(),
        critical: false,
        value: policies.clone(),
    }];
    let der = issue(&template, &ca).unwrap();
    let cert = parse_x509_certificate(&der).unwrap().1;
    assert_eq!(
        cert.subject().to_string(),
        "O=Plugin Org, CN=from attributes"
    );
    assert!(
        cert.subject()
            .iter_attributes()
            .all(|a| a.attr_value().tag() == Tag::Utf8String)
    );
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "2.5.29.32")
        .unwrap();
    assert_eq!(ext.value, policies.as_slice());
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.email_protection && eku.other.is_empty());
    work.verify(&ca_files.cert(), None, "leaf.crt", &pem(&der))
        .unwrap();

    template.subject = SubjectTemplate::Attributes(Vec::new());
    template.extensions.clear();
    let der = issue(&template, &ca).unwrap();
    let cert = parse_x509_certificate(&der).unwrap().1;
    assert!(
        cert.subject_alternative_name().unwrap().unwrap().critical,
        "SAN critical for an empty subject"
    );
    work.verify(&ca_files.cert(), None, "empty.crt", &pem(&der))
        .unwrap();
}

#[test]
fn issues_an_intermediate_that_then_issues_a_leaf() {
    let work = Workdir::new();
    let (root_files, root_key) = root(&work, "root", KeyKind::Rsa3072, KeyForm::Pkcs8);
    let int_spec = CsrSpec {
        key_form: KeyForm::Sec1,
        extensions: vec!["basicConstraints=critical,CA:TRUE".into()],
        ..CsrSpec::new(KeyKind::EcP384, "/O=Example/CN=Intermediate")
    };
    let int_csr = csr(&work, "int", &int_spec);
    let mut template = template_for(&int_csr, &[Usage::CrlSign]);
    template.is_ca = true;
    template.path_length = Some(0);
    let int_der = issue(&template, &root_key).unwrap();
    let int_cert = parse_x509_certificate(&int_der).unwrap().1;
    let bc = int_cert.basic_constraints().unwrap().unwrap().value;
    assert!(bc.ca && bc.path_len_constraint == Some(0));
    let ku = int_cert.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
    check_issued(
        &int_csr,
        &Expected { is_ca: true },
        std::slice::from_ref(&int_der),
        root_key
            .ca()
            .or(root_key.chain().first().map(Vec::as_slice)),
        now(),
    )
    .unwrap();

    let int_pem = pem(&int_der);
    let int_crt = work.write("int.crt", &int_pem);
    let int_key = GrantedKey::from_pem(
        int_pem.as_bytes(),
        &fs::read(work.path().join("int.key")).unwrap(),
        Some(&fs::read(root_files.cert()).unwrap()),
    )
    .unwrap();
    assert_eq!(
        int_key.certificate().unwrap().subject,
        "CN=Intermediate,O=Example"
    );
    assert!(int_key.certificate().unwrap().is_ca);

    let leaf_csr = csr(&work, "leaf", &CsrSpec::every_san(KeyKind::Rsa2048));
    let leaf_der = issue(&template_for(&leaf_csr, &[Usage::ServerAuth]), &int_key).unwrap();
    work.verify(
        &root_files.cert(),
        Some(&int_crt),
        "leaf.crt",
        &pem(&leaf_der),
    )
    .unwrap();
    let chain = vec![leaf_der, int_der];
    let issued = check_issued(
        &leaf_csr,
        &Expected { is_ca: false },
        &chain,
        int_key.ca(),
        now(),
    )
    .unwrap();

    // The PEM helpers write what openssl reads back.
    let ca_pem = work.write("ca.pem", issued.ca_pem().unwrap());
    let chain_pem = work.write("chain.pem", issued.chain_pem());
    work.verify(&ca_pem, Some(&chain_pem), "leaf.pem", &issued.chain_pem())
        .unwrap();
}

#[test]
fn leaves_are_clamped_to_the_issuer_and_an_expired_issuer_refuses() {
    let work = Workdir::new();
    let (_, ca) = root(&work, "ca", KeyKind::EcP256, KeyForm::Pkcs8);
    let ca_not_after = ca.certificate().unwrap().not_after;
    let csr = csr(&work, "leaf", &CsrSpec::every_san(KeyKind::EcP256));

    let mut template = template_for(&csr, &[]);
    template.not_after = now() + 365 * DAY;
    let cert_der = issue(&template, &ca).unwrap();
    assert_eq!(
        parse_x509_certificate(&cert_der)
            .unwrap()
            .1
            .validity()
            .not_after
            .timestamp(),
        ca_not_after
    );

    template.not_before = ca_not_after + 1;
    template.not_after = ca_not_after + DAY;
    assert!(matches!(
        issue(&template, &ca),
        Err(Error::IssuerExpired { .. })
    ));
}

#[test]
fn contradictory_templates_are_refused() {
    let work = Workdir::new();
    let (ca_files, ca) = root(&work, "ca", KeyKind::EcP256, KeyForm::Pkcs8);
    let csr = csr(&work, "leaf", &CsrSpec::every_san(KeyKind::EcP256));
    let good = template_for(&csr, &[]);
    let invalid = |t: CertificateTemplate| match issue(&t, &ca) {
        Err(Error::InvalidTemplate(m)) => m,
        other => panic!("expected InvalidTemplate, got {other:?}"),
    };

    assert!(
        invalid(CertificateTemplate {
            not_after: good.not_before,
            ..good.clone()
        })
        .contains("not_after")
    );
    assert!(
        invalid(CertificateTemplate {
            path_length: Some(1),
            ..good.clone()
        })
        .contains("path_length")
    );
    let san_ext = Extension {
        oid: "2.5.29.17".into(),
        critical: false,
        value: vec![0x30, 0x00],
    };
    assert!(
        invalid(CertificateTemplate {
            extensions: vec![san_ext],
            ..good.clone()
        })
        .contains("sans")
    );
    let twice = Extension {
        oid: "1.2.3.4".into(),
        critical: false,
        value: vec![0x05, 0x00],
    };
    assert!(
        invalid(CertificateTemplate {
            extensions: vec![twice.clone(), twice],
            ..good.clone()
        })
        .contains("twice")
    );

    let ancient = CertificateTemplate {
        not_before: -100_000_000_000,
        ..good.clone()
    };
    assert!(invalid(ancient).contains("years"));
    // Clamped to the CA's notAfter, so even the largest time is writable.
    let far = CertificateTemplate {
        not_after: i64::MAX,
        ..good.clone()
    };
    assert!(issue(&far, &ca).is_ok());

    let bad_ip = CertificateTemplate {
        sans: vec![San::Ip("300.1.1.1".into())],
        ..good.clone()
    };
    assert!(matches!(issue(&bad_ip, &ca), Err(Error::UnsupportedSan(_))));

    work.key("p521", KeyKind::EcP521, KeyForm::Pkcs8);
    let p521 = der_of_pem(&work.run(["pkey", "-in", "p521.key", "-pubout"]));
    let err = issue(
        &CertificateTemplate {
            public_key: p521,
            ..good.clone()
        },
        &ca,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedKey(m) if m.contains("P-521")),
        "{err}"
    );

    let ca_key = fs::read(ca_files.key()).unwrap();
    let keyless = GrantedKey::from_pem(b"", &ca_key, None).unwrap();
    assert!(matches!(
        issue(&good, &keyless),
        Err(Error::NoIssuerCertificate)
    ));
}
