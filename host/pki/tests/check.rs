//! check_issued catching each way a plugin's result can be wrong.

use std::fs;

use wasm_issuer_pki::{
    CLOCK_SKEW_SECS, CertificateTemplate, Error, Expected, GrantedKey, ParsedCsr, San,
    SubjectTemplate, check_issued, issue,
};
use wasm_issuer_test_support::{CsrSpec, KeyForm, KeyKind, Workdir, now};

const LEAF: Expected = Expected { is_ca: false };

struct Fixture {
    _work: Workdir,
    ca: GrantedKey,
    ca_der: Vec<u8>,
    /// A CA with the same subject as `ca` but another key.
    impostor: GrantedKey,
    csr: ParsedCsr,
    other_csr: ParsedCsr,
}

fn fixture() -> Fixture {
    let work = Workdir::new();
    let [ca, impostor] = ["ca", "impostor"].map(|name| {
        let ca = work.ca(
            name,
            "/O=Example/CN=Same Name CA",
            KeyKind::EcP256,
            KeyForm::Sec1,
            30,
        );
        let crt = fs::read(ca.cert()).unwrap();
        GrantedKey::from_pem(&crt, &fs::read(ca.key()).unwrap(), None).unwrap()
    });
    let [csr, other_csr] = ["leaf", "other"].map(|name| {
        let csr = work.csr(name, &CsrSpec::every_san(KeyKind::Rsa2048));
        ParsedCsr::from_pem(&fs::read(csr).unwrap()).unwrap()
    });
    let ca_der = ca.certificate().unwrap().der;
    Fixture {
        _work: work,
        ca,
        ca_der,
        impostor,
        csr,
        other_csr,
    }
}

fn template(csr: &ParsedCsr) -> CertificateTemplate {
    CertificateTemplate {
        subject: SubjectTemplate::Der(csr.subject.der.clone()),
        sans: csr.sans.clone(),
        public_key: csr.public_key.spki_der.clone(),
        not_before: now() - 60,
        not_after: now() + 3600,
        is_ca: false,
        path_length: None,
        usages: Vec::new(),
        extensions: Vec::new(),
    }
}

#[test]
fn accepts_a_good_result_and_reports_its_validity() {
    let f = fixture();
    let t = template(&f.csr);
    let leaf = issue(&t, &f.ca).unwrap();
    let issued = check_issued(
        &f.csr,
        &LEAF,
        std::slice::from_ref(&leaf),
        Some(&f.ca_der),
        now(),
    )
    .unwrap();
    assert_eq!(
        (issued.not_before, issued.not_after),
        (t.not_before, t.not_after)
    );
    assert_eq!(issued.chain, std::slice::from_ref(&leaf));
    assert!(
        issued
            .chain_pem()
            .starts_with("-----BEGIN CERTIFICATE-----\n")
    );

    // SANs compare as a set, and a notBefore a little ahead is tolerated.
    let mut reordered = template(&f.csr);
    reordered.sans.reverse();
    reordered.not_before = now() + CLOCK_SKEW_SECS / 2;
    let leaf = issue(&reordered, &f.ca).unwrap();
    check_issued(&f.csr, &LEAF, &[leaf], None, now()).unwrap();
}

#[test]
fn catches_another_public_key() {
    let f = fixture();
    let leaf = issue(&template(&f.other_csr), &f.ca).unwrap();
    let err = check_issued(&f.csr, &LEAF, &[leaf], Some(&f.ca_der), now()).unwrap_err();
    assert!(matches!(err, Error::PublicKeyMismatch), "{err}");
}

#[test]
fn catches_expired_and_future_certificates() {
    let f = fixture();
    let expired = CertificateTemplate {
        not_before: now() - 7200,
        not_after: now() - 3600,
        ..template(&f.csr)
    };
    let leaf = issue(&expired, &f.ca).unwrap();
    let err = check_issued(&f.csr, &LEAF, &[leaf], Some(&f.ca_der), now()).unwrap_err();
    assert!(matches!(err, Error::Expired { .. }), "{err}");

    let future = CertificateTemplate {
        not_before: now() + 3600,
        not_after: now() + 7200,
        ..template(&f.csr)
    };
    let leaf = issue(&future, &f.ca).unwrap();
    let err = check_issued(&f.csr, &LEAF, &[leaf], Some(&f.ca_der), now()).unwrap_err();
    assert!(matches!(err, Error::NotYetValid { .. }), "{err}");
}

#[test]
fn catches_sans_that_differ_from_the_csr() {
    let f = fixture();
    let mut t = template(&f.csr);
    t.sans.retain(|s| !matches!(s, San::OtherName(_)));
    t.sans.push(San::Dns("evil.example.com".into()));
    let leaf = issue(&t, &f.ca).unwrap();
    let err = check_issued(&f.csr, &LEAF, &[leaf], Some(&f.ca_der), now()).unwrap_err();
    let Error::SanMismatch {
        missing,
        unexpected,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        missing,
        &["otherName:1.3.6.1.4.1.311.20.2.3;0c0f617070406578616d706c652e636f6d"]
    );
    assert_eq!(unexpected, &["DNS:evil.example.com"]);
}

#[test]
fn catches_an_is_ca_mismatch() {
    let f = fixture();
    let leaf = issue(&template(&f.csr), &f.ca).unwrap();
    let err = check_issued(
        &f.csr,
        &Expected { is_ca: true },
        &[leaf],
        Some(&f.ca_der),
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::IsCaMismatch {
                expected: true,
                found: false
            }
        ),
        "{err}"
    );
}

#[test]
fn catches_chains_that_do_not_verify() {
    let f = fixture();
    let leaf = issue(&template(&f.csr), &f.ca).unwrap();
    let impostor_der = f.impostor.certificate().unwrap().der;

    // Same issuer name, another key: only the signature gives it away.
    let err = check_issued(
        &f.csr,
        &LEAF,
        std::slice::from_ref(&leaf),
        Some(&impostor_der),
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::NotIssuedByCa(m) if m.contains("signature")),
        "{err}"
    );

    let chain = vec![leaf.clone(), impostor_der];
    let err = check_issued(&f.csr, &LEAF, &chain, None, now()).unwrap_err();
    assert!(
        matches!(&err, Error::ChainBroken { index: 0, reason } if reason.contains("signature")),
        "{err}"
    );

    // Something that is not a certificate at all.
    let chain = vec![leaf.clone(), f.csr.der.clone()];
    let err = check_issued(&f.csr, &LEAF, &chain, None, now()).unwrap_err();
    assert!(matches!(err, Error::BadDer { .. }), "{err}");
    // A certificate of another name.
    let other_leaf = issue(&template(&f.other_csr), &f.ca).unwrap();
    let err = check_issued(
        &f.csr,
        &LEAF,
        std::slice::from_ref(&leaf),
        Some(&other_leaf),
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::NotIssuedByCa(m) if m.contains("is not the subject")),
        "{err}"
    );
}

#[test]
fn catches_empty_and_undecodable_results() {
    let f = fixture();
    assert!(matches!(
        check_issued(&f.csr, &LEAF, &[], None, now()),
        Err(Error::EmptyChain)
    ));
    let err = check_issued(&f.csr, &LEAF, &[b"garbage".to_vec()], None, now()).unwrap_err();
    assert!(matches!(err, Error::BadDer { .. }), "{err}");
}
