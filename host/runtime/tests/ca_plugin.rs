//! The reference `ca` plugin end to end through the runtime: CSRs made by
//! openssl, certificates verified by `openssl verify` and read back with
//! x509-parser.

mod common;

use std::time::Duration;

use common::{RequestBuilder, ca_sandbox, runtime, signer};
use wasm_issuer_pki::Usage;
use wasm_issuer_runtime::{ErrorClass, IssuedCertificate, Sandbox, SignerPlugin};
use wasm_issuer_test_support::{Ca, CsrSpec, KeyForm, KeyKind, Workdir, now};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

const DAY: u64 = 24 * 3600;

/// Signs, checks with openssl, and parses the leaf.
fn issue_and_verify(
    work: &Workdir,
    ca: &Ca,
    plugin: &SignerPlugin,
    sandbox: &Sandbox,
    builder: RequestBuilder,
    name: &str,
) -> (IssuedCertificate, Vec<u8>) {
    let issued = plugin
        .sign(sandbox, &builder.build())
        .expect("the ca plugin signs");
    work.verify(
        &ca.cert(),
        None,
        &format!("{name}.crt"),
        &issued.chain_pem(),
    )
    .unwrap_or_else(|error| panic!("openssl rejects {name}: {error}"));
    let leaf = issued.chain[0].clone();
    (issued, leaf)
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).expect("the leaf parses").1
}

#[test]
fn signs_csrs_of_every_key_type() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::EcP256, KeyForm::Sec1, 365);
    let runtime = runtime();
    let plugin = signer(&runtime, "ca");
    let sandbox = ca_sandbox(&ca);
    for kind in KeyKind::ALL {
        let name = format!("{kind:?}").to_lowercase();
        let csr = work.csr(
            &name,
            &CsrSpec::server(kind, &format!("{name}.example.com")),
        );
        let (_, leaf) = issue_and_verify(
            &work,
            &ca,
            &plugin,
            &sandbox,
            RequestBuilder::from_csr_file(&csr),
            &name,
        );
        let cert = parse(&leaf);
        let csr_key = wasm_issuer_pki::ParsedCsr::from_pem(&std::fs::read(&csr).expect("csr"))
            .expect("parses")
            .public_key
            .spki_der;
        assert_eq!(
            cert.public_key().raw,
            csr_key.as_slice(),
            "{kind:?}: the CSR's key is certified"
        );
    }
}

#[test]
fn signature_algorithm_follows_the_ca_key() {
    let work = Workdir::new();
    let runtime = runtime();
    let plugin = signer(&runtime, "ca");
    let csr = work.csr(
        "leaf",
        &CsrSpec::server(KeyKind::EcP256, "leaf.example.com"),
    );
    for kind in KeyKind::ALL {
        let ca = work.ca(
            &format!("ca-{kind:?}").to_lowercase(),
            "/CN=Test CA",
            kind,
            kind.cert_manager_form(),
            365,
        );
        let (_, leaf) = issue_and_verify(
            &work,
            &ca,
            &plugin,
            &ca_sandbox(&ca),
            RequestBuilder::from_csr_file(&csr),
            &format!("{kind:?}"),
        );
        assert_eq!(
            parse(&leaf).signature_algorithm.algorithm.to_id_string(),
            kind.signature_algorithm_oid(),
            "CA {kind:?}"
        );
    }
}

#[test]
fn keeps_every_san_kind_and_the_literal_subject() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::Rsa2048, KeyForm::Pkcs1, 365);
    let runtime = runtime();
    let spec = CsrSpec {
        sans: vec![
            "DNS:app.example.com".into(),
            "DNS:*.app.example.com".into(),
            "IP:10.1.2.3".into(),
            "IP:2001:db8::7".into(),
            "URI:spiffe://cluster.local/ns/apps/sa/app".into(),
            "email:ops@example.com".into(),
            "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:app@example.com".into(),
        ],
        ..CsrSpec::new(
            KeyKind::EcP384,
            "/C=DE/ST=Berlin/L=Berlin/O=Acme GmbH/OU=Platform/CN=app.example.com",
        )
    };
    let csr = work.csr("sans", &spec);
    let (_, leaf) = issue_and_verify(
        &work,
        &ca,
        &signer(&runtime, "ca"),
        &ca_sandbox(&ca),
        RequestBuilder::from_csr_file(&csr),
        "sans",
    );
    let cert = parse(&leaf);
    let csr_subject = wasm_issuer_pki::ParsedCsr::from_pem(&std::fs::read(&csr).expect("csr"))
        .expect("parses")
        .subject
        .der;
    assert_eq!(
        cert.subject().as_raw(),
        csr_subject.as_slice(),
        "subject copied literally"
    );
    let sans = cert
        .subject_alternative_name()
        .expect("well-formed")
        .expect("present")
        .value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(name) => format!("DNS:{name}"),
            GeneralName::IPAddress(bytes) => format!("IP:{bytes:?}"),
            GeneralName::URI(uri) => format!("URI:{uri}"),
            GeneralName::RFC822Name(email) => format!("email:{email}"),
            GeneralName::OtherName(oid, _) => format!("otherName:{}", oid.to_id_string()),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>();
    assert_eq!(
        sans,
        [
            "DNS:app.example.com",
            "DNS:*.app.example.com",
            "IP:[10, 1, 2, 3]",
            "IP:[32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]",
            "URI:spiffe://cluster.local/ns/apps/sa/app",
            "email:ops@example.com",
            "otherName:1.3.6.1.4.1.311.20.2.3",
        ]
    );
}

#[test]
fn honours_duration_usages_and_is_ca() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::EcP256, KeyForm::Pkcs8, 365);
    let runtime = runtime();
    let plugin = signer(&runtime, "ca");
    let sandbox = ca_sandbox(&ca);

    let csr = work.csr(
        "server",
        &CsrSpec::server(KeyKind::Ed25519, "svc.example.com"),
    );
    for hours in [1, 2, 24, 24 * 30] {
        let started = now();
        let (_, leaf) = issue_and_verify(
            &work,
            &ca,
            &plugin,
            &sandbox,
            RequestBuilder::from_csr_file(&csr)
                .duration(Duration::from_secs(hours * 3600))
                .usages(&[
                    Usage::DigitalSignature,
                    Usage::ServerAuth,
                    Usage::ClientAuth,
                ]),
            &format!("{hours}h"),
        );
        let cert = parse(&leaf);
        let not_after = cert.validity().not_after.timestamp();
        let expected = started + i64::try_from(hours * 3600).expect("fits");
        assert!(
            (not_after - expected).abs() <= 30,
            "{hours}h: notAfter {not_after}, expected {expected}"
        );
        let key_usage = cert
            .key_usage()
            .expect("well-formed")
            .expect("present")
            .value;
        assert!(key_usage.digital_signature() && !key_usage.key_cert_sign());
        let eku = cert
            .extended_key_usage()
            .expect("well-formed")
            .expect("present")
            .value;
        assert!(eku.server_auth && eku.client_auth && !eku.code_signing);
        let constraints = cert.basic_constraints().expect("well-formed");
        assert!(constraints.is_none_or(|constraints| !constraints.value.ca));
    }

    let csr = work.csr(
        "intermediate",
        &CsrSpec::server(KeyKind::EcP256, "intermediate.example.com"),
    );
    let (_, leaf) = issue_and_verify(
        &work,
        &ca,
        &plugin,
        &sandbox,
        RequestBuilder::from_csr_file(&csr)
            .with_is_ca(true)
            .usages(&[Usage::DigitalSignature, Usage::CertSign]),
        "intermediate",
    );
    let cert = parse(&leaf);
    assert!(
        cert.basic_constraints()
            .expect("well-formed")
            .expect("present")
            .value
            .ca
    );
    assert!(
        cert.key_usage()
            .expect("well-formed")
            .expect("present")
            .value
            .key_cert_sign()
    );
}

#[test]
fn leaf_never_outlives_its_ca() {
    let work = Workdir::new();
    let ca = work.ca(
        "short-ca",
        "/CN=Test CA",
        KeyKind::EcP256,
        KeyForm::Pkcs8,
        2,
    );
    let runtime = runtime();
    let csr = work.csr(
        "long",
        &CsrSpec::server(KeyKind::EcP256, "long.example.com"),
    );
    let (_, leaf) = issue_and_verify(
        &work,
        &ca,
        &signer(&runtime, "ca"),
        &ca_sandbox(&ca),
        RequestBuilder::from_csr_file(&csr).duration(Duration::from_secs(90 * DAY)),
        "long",
    );
    let ca_not_after = parse(
        &std::fs::read(ca.cert())
            .map(|pem| {
                let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("CA PEM");
                pem.contents
            })
            .expect("read the CA"),
    )
    .validity()
    .not_after
    .timestamp();
    assert_eq!(parse(&leaf).validity().not_after.timestamp(), ca_not_after);
}

#[test]
fn csr_contradicting_the_request_is_an_invalid_request() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::EcP256, KeyForm::Pkcs8, 365);
    let runtime = runtime();
    let plugin = signer(&runtime, "ca");
    let mut spec = CsrSpec::server(KeyKind::EcP256, "sneaky.example.com");
    spec.extensions = vec!["basicConstraints=critical,CA:TRUE".into()];
    let csr = work.csr("asks-for-ca", &spec);
    let error = plugin
        .sign(
            &ca_sandbox(&ca),
            &RequestBuilder::from_csr_file(&csr)
                .with_is_ca(false)
                .build(),
        )
        .expect_err("the CSR asks for a CA the request does not");
    assert_eq!(error.class(), ErrorClass::InvalidRequest, "{error}");
}

#[test]
fn expired_ca_is_an_issuer_error() {
    let work = Workdir::new();
    let ca_dir = work.path().join("expired-ca");
    write_expired_ca(&ca_dir);
    let ca = Ca { dir: ca_dir };
    let runtime = runtime();
    let plugin = signer(&runtime, "ca");
    let csr = work.csr(
        "late",
        &CsrSpec::server(KeyKind::EcP256, "late.example.com"),
    );
    let error = plugin
        .sign(
            &ca_sandbox(&ca),
            &RequestBuilder::from_csr_file(&csr).build(),
        )
        .expect_err("expired CA");
    assert_eq!(error.class(), ErrorClass::IssuerNotReady, "{error}");
    assert!(error.to_string().contains("expired"), "{error}");
    let check = plugin.check(
        &ca_sandbox(&ca),
        &RequestBuilder::from_csr_file(&csr).build().issuer,
    );
    assert_eq!(
        check.expect_err("check fails too").class(),
        ErrorClass::IssuerNotReady
    );
}

/// openssl cannot backdate `req -x509`, so this one CA comes from rcgen.
fn write_expired_ca(dir: &std::path::Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "expired CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    params.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let cert = params.self_signed(&key).expect("self-signed");
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(dir.join("tls.crt"), cert.pem()).expect("write");
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).expect("write");
}
