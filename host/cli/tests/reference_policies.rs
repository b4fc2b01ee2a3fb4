//! The reference policies as a plugin author tries them: `wasm-issuer policy`
//! with each built component on real CSRs (openssl's, and rcgen's for the
//! empty subject openssl's config cannot write), its decision and exit code.
//!
//! The local runner asks as the anonymous requester (an empty username, no
//! groups): the requester-policy rules here grant names to the user `""`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{CertificateParams, DistinguishedName, KeyPair};
use wasm_issuer_test_support::{CsrSpec, KeyKind, LocalRunner, RunOutput, Workdir, plugin};

/// What a policy decided: allow, or deny with the reason.
type Decision = Result<(), String>;

fn deny(reason: &str) -> Decision {
    Err(reason.to_owned())
}

fn runner() -> LocalRunner {
    LocalRunner::new(env!("CARGO_BIN_EXE_wasm-issuer"))
}

/// One policy and its configuration, written to a file in `work`.
struct Policy<'a> {
    work: &'a Workdir,
    plugin: PathBuf,
    config: PathBuf,
}

impl<'a> Policy<'a> {
    fn new(work: &'a Workdir, name: &str, config: &str) -> Self {
        // One file per configuration, so that several policies share a workdir.
        static CONFIGS: AtomicUsize = AtomicUsize::new(0);
        let file = format!("{name}-{}.json", CONFIGS.fetch_add(1, Ordering::Relaxed));
        Policy {
            work,
            plugin: plugin(name),
            config: work.write(&file, config),
        }
    }

    fn run(&self, csr: &Path, duration: Option<&str>) -> RunOutput {
        let mut args = vec![
            OsStr::new("policy"),
            OsStr::new("--plugin"),
            self.plugin.as_os_str(),
            OsStr::new("--csr"),
            csr.as_os_str(),
            OsStr::new("--config"),
            self.config.as_os_str(),
        ];
        if let Some(duration) = duration {
            args.extend([OsStr::new("--duration"), OsStr::new(duration)]);
        }
        runner().run(args)
    }

    /// `Ok` for allow (exit 0), `Err(reason)` for deny (exit 1); anything else
    /// fails the test.
    fn decide(&self, csr: &Path, duration: Option<&str>) -> Decision {
        let output = self.run(csr, duration);
        let context = format!(
            "{} on {}: {output:?}",
            self.plugin.display(),
            csr.strip_prefix(self.work.path()).unwrap_or(csr).display()
        );
        match output.code {
            Some(0) => {
                assert_eq!(output.stdout, "allow\n", "{context}");
                Ok(())
            }
            Some(1) => {
                let reason = output
                    .stdout
                    .strip_prefix("deny: ")
                    .and_then(|rest| rest.strip_suffix('\n'))
                    .unwrap_or_else(|| panic!("a denial: {context}"));
                deny(reason)
            }
            _ => panic!("exit 0 or 1: {context}"),
        }
    }
}

/// A CSR for `sans` with an empty subject, by rcgen; openssl confirms that it
/// verifies and that its subject is empty.
fn csr_without_subject(work: &Workdir, name: &str, sans: &[&str]) -> PathBuf {
    let key = KeyPair::generate().expect("a P-256 key");
    let mut params =
        CertificateParams::new(sans.iter().map(|san| san.to_string()).collect::<Vec<_>>())
            .expect("valid SANs");
    params.distinguished_name = DistinguishedName::new();
    let pem = params
        .serialize_request(&key)
        .and_then(|csr| csr.pem())
        .expect("a CSR");
    let file = format!("{name}.csr");
    let path = work.write(&file, pem);
    let subject = work.run(["req", "-in", &file, "-verify", "-noout", "-subject"]);
    assert_eq!(
        String::from_utf8_lossy(&subject).trim(),
        "subject=",
        "{name}"
    );
    path
}

/// An openssl CSR with a P-256 key for `subject` (`-subj` form) and `sans`.
fn csr(work: &Workdir, name: &str, subject: &str, sans: &[&str]) -> PathBuf {
    let spec = CsrSpec {
        sans: sans.iter().map(|san| san.to_string()).collect(),
        ..CsrSpec::new(KeyKind::EcP256, subject)
    };
    work.csr(name, &spec)
}

/// Each policy's decision on each edge case, the name-based policies
/// configured alike: example.com for allow-domains; api.example.com and one
/// label under apps.example.com for requester-policy. Neither the key nor the
/// duration policy looks at names, so neither denies any of them.
#[test]
fn edge_case_names_under_every_reference_policy() {
    let work = Workdir::new();
    let allow_domains = Policy::new(
        &work,
        "allow-domains",
        r#"{"allowedDomains": ["example.com"]}"#,
    );
    let requester = Policy::new(
        &work,
        "requester-policy",
        r#"{"rules": [{"users": [""], "dnsNames": ["api.example.com", "*.apps.example.com"]}]}"#,
    );
    let keys = Policy::new(&work, "key-policy", "{}");
    let durations = Policy::new(
        &work,
        "duration-policy",
        r#"{"minDuration": "1h", "maxDuration": "2160h"}"#,
    );

    let not_granted = |name: &str| Err(format!("(anonymous) may not request DNS name {name}"));
    let cases: Vec<(PathBuf, Decision, Decision)> = vec![
        (
            csr(
                &work,
                "wildcard",
                "/CN=*.apps.example.com",
                &["DNS:*.apps.example.com"],
            ),
            Ok(()),
            Ok(()),
        ),
        (
            csr(&work, "wide-wildcard", "/O=Example", &["DNS:*.example.com"]),
            Ok(()),
            not_granted("*.example.com"),
        ),
        (
            csr(
                &work,
                "idn",
                "/CN=xn--bcher-kva.apps.example.com",
                &["DNS:xn--bcher-kva.apps.example.com"],
            ),
            Ok(()),
            Ok(()),
        ),
        (
            csr(
                &work,
                "idn-elsewhere",
                "/O=Example",
                &["DNS:xn--bcher-kva.example"],
            ),
            deny("DNS name \"xn--bcher-kva.example\" is not under an allowed domain (example.com)"),
            not_granted("xn--bcher-kva.example"),
        ),
        (
            csr(
                &work,
                "uppercase",
                "/CN=API.EXAMPLE.COM",
                &["DNS:API.Example.COM", "DNS:X.APPS.example.com"],
            ),
            Ok(()),
            Ok(()),
        ),
        (
            csr(
                &work,
                "trailing-dot",
                "/CN=api.example.com.",
                &["DNS:api.example.com.", "DNS:x.apps.example.com."],
            ),
            Ok(()),
            Ok(()),
        ),
        (
            csr(
                &work,
                "ip-san",
                "/CN=api.example.com",
                &["DNS:api.example.com", "IP:192.0.2.10"],
            ),
            deny(
                "IP address SAN \"192.0.2.10\" is not allowed: only DNS names under an allowed domain are",
            ),
            deny("(anonymous) may not request IP address SANs: only DNS names are granted"),
        ),
        (
            csr_without_subject(&work, "empty-subject", &["api.example.com"]),
            Ok(()),
            Ok(()),
        ),
        (
            csr_without_subject(&work, "empty-subject-elsewhere", &["api.example.org"]),
            deny("DNS name \"api.example.org\" is not under an allowed domain (example.com)"),
            not_granted("api.example.org"),
        ),
        (
            csr(&work, "no-sans", "/CN=api.example.com", &[]),
            Ok(()),
            Ok(()),
        ),
        (
            csr(&work, "no-sans-elsewhere", "/CN=www.example.org", &[]),
            deny("common name \"www.example.org\" is not under an allowed domain (example.com)"),
            not_granted("www.example.org"),
        ),
        (
            csr(&work, "no-sans-person", "/CN=Jane Doe/O=Example", &[]),
            Ok(()),
            Ok(()),
        ),
        (csr_without_subject(&work, "nothing", &[]), Ok(()), Ok(())),
    ];
    for (csr, by_domains, by_requester) in &cases {
        let name = csr.file_name().expect("a file").to_string_lossy();
        assert_eq!(
            &allow_domains.decide(csr, Some("24h")),
            by_domains,
            "allow-domains on {name}"
        );
        assert_eq!(
            &requester.decide(csr, Some("24h")),
            by_requester,
            "requester-policy on {name}"
        );
        assert_eq!(
            keys.decide(csr, Some("24h")),
            Ok(()),
            "key-policy on {name}"
        );
        assert_eq!(
            durations.decide(csr, Some("24h")),
            Ok(()),
            "duration-policy on {name}"
        );
    }
}

#[test]
fn requester_policy_grants_only_what_a_rule_lists_to_whom_it_applies() {
    let work = Workdir::new();
    let app = work.csr("app", &CsrSpec::server(KeyKind::EcP256, "app.example.com"));
    let every_san = work.csr("every-san", &CsrSpec::every_san(KeyKind::EcP256));

    let for_alice = Policy::new(
        &work,
        "requester-policy",
        r#"{"rules": [{"users": ["alice"], "groups": ["web-team"], "serviceAccounts": ["team/builder"],
                       "dnsNames": ["*.example.com"]}]}"#,
    );
    assert_eq!(
        for_alice.decide(&app, None),
        deny("(anonymous) may not request certificates from this issuer")
    );
    let no_rules = Policy::new(&work, "requester-policy", r#"{"rules": []}"#);
    assert_eq!(
        no_rules.decide(&app, None),
        deny("(anonymous) may not request certificates from this issuer")
    );

    let for_anyone = Policy::new(
        &work,
        "requester-policy",
        r#"{"rules": [{"users": [""], "dnsNames": ["*.example.com"]}]}"#,
    );
    assert_eq!(for_anyone.decide(&app, None), Ok(()));
    // DNS app.example.com and www.example.com come first; the IP is the first other SAN.
    assert_eq!(
        for_anyone.decide(&every_san, None),
        deny("(anonymous) may not request IP address SANs: only DNS names are granted")
    );
}

#[test]
fn key_policy_judges_the_key_the_host_parsed() {
    let work = Workdir::new();
    let csrs: Vec<(KeyKind, PathBuf)> = KeyKind::ALL
        .iter()
        .map(|&kind| {
            let name = format!("{kind:?}").to_lowercase();
            (
                kind,
                work.csr(&name, &CsrSpec::server(kind, "app.example.com")),
            )
        })
        .collect();
    let defaults = Policy::new(&work, "key-policy", "{}");
    let strict = Policy::new(
        &work,
        "key-policy",
        r#"{"minRsaBits": 3072, "allowedCurves": ["P-256"], "allowEd25519": true}"#,
    );
    for (kind, csr) in &csrs {
        let (by_defaults, by_strict) = match kind {
            KeyKind::Rsa2048 => (
                Ok(()),
                deny("RSA key of 2048 bits is below the minimum of 3072"),
            ),
            KeyKind::EcP384 => (
                Ok(()),
                deny("ECDSA key on curve P-384 is not allowed (allowed curves: P-256)"),
            ),
            KeyKind::Ed25519 => (
                deny("Ed25519 key is not allowed (allowEd25519 is false)"),
                Ok(()),
            ),
            _ => (Ok(()), Ok(())),
        };
        assert_eq!(defaults.decide(csr, None), by_defaults, "{kind:?}");
        assert_eq!(strict.decide(csr, None), by_strict, "{kind:?}");
    }

    // Keys the host cannot work with are refused before any policy runs.
    for kind in [KeyKind::Rsa1024, KeyKind::EcP521] {
        let name = format!("{kind:?}").to_lowercase();
        let csr = work.csr(&name, &CsrSpec::server(kind, "app.example.com"));
        let output = defaults.run(&csr, None);
        assert_eq!(output.code, Some(2), "{kind:?}: {output:?}");
        assert!(
            output.stderr.contains("[invalid-request]"),
            "{kind:?}: {output:?}"
        );
    }
}

#[test]
fn duration_policy_bounds_the_requested_duration() {
    let work = Workdir::new();
    let csr = work.csr("app", &CsrSpec::server(KeyKind::EcP256, "app.example.com"));
    let bounded = Policy::new(
        &work,
        "duration-policy",
        r#"{"minDuration": "1h", "maxDuration": "2160h"}"#,
    );
    for duration in ["1h", "24h", "2160h"] {
        assert_eq!(bounded.decide(&csr, Some(duration)), Ok(()), "{duration}");
    }
    // The local runner's default is cert-manager's, 2160h.
    assert_eq!(bounded.decide(&csr, None), Ok(()));
    for (duration, shown) in [("30m", "30m"), ("2160h1s", "2160h1s"), ("91days", "2184h")] {
        assert_eq!(
            bounded.decide(&csr, Some(duration)),
            Err(format!(
                "duration {shown} is outside the allowed range (1h to 2160h)"
            )),
            "{duration}"
        );
    }
    let at_most = Policy::new(&work, "duration-policy", r#"{"maxDuration": "24h"}"#);
    assert_eq!(at_most.decide(&csr, Some("1s")), Ok(()));
    assert_eq!(
        at_most.decide(&csr, None),
        deny("duration 2160h is outside the allowed range (at most 24h)")
    );
}

/// A configuration a policy cannot read denies every request, with the reason.
#[test]
fn every_reference_policy_fails_closed_on_a_bad_configuration() {
    let work = Workdir::new();
    let csr = work.csr("app", &CsrSpec::server(KeyKind::EcP256, "app.example.com"));
    for (name, config, reason) in [
        (
            "allow-domains",
            r#"{"allowedDomains": ["*.example.com"]}"#,
            "invalid plugin configuration: allowedDomains: \"*.example.com\" is not a domain name",
        ),
        (
            "requester-policy",
            r#"{"rules": [{"users": [""], "dnsNames": ["app.*.com"]}]}"#,
            "invalid configuration: rules[0].dnsNames: \"app.*.com\" has a `*` that is not the \
             whole first label of `*.<suffix>`",
        ),
        (
            "requester-policy",
            r#"{"rules": [{"users": [""], "serviceAccounts": ["builder"]}]}"#,
            "invalid configuration: rules[0].serviceAccounts: \"builder\" is not <namespace>/<name>",
        ),
        (
            "key-policy",
            r#"{"allowedCurves": ["P256"]}"#,
            "invalid plugin configuration: allowedCurves: \"P256\" is not one of P-256, P-384, P-521",
        ),
        (
            "duration-policy",
            r#"{"minDuration": "2h", "maxDuration": "1h"}"#,
            "invalid plugin configuration: minDuration 2h is longer than maxDuration 1h",
        ),
    ] {
        let policy = Policy::new(&work, name, config);
        assert_eq!(policy.decide(&csr, None), deny(reason), "{name}");
    }
    // Unknown fields: serde's words after the prefix.
    for (name, config, prefix) in [
        (
            "allow-domains",
            r#"{"allowedDomain": ["example.com"]}"#,
            "invalid plugin configuration: ",
        ),
        (
            "requester-policy",
            r#"{"rules": [], "rule": []}"#,
            "invalid configuration: ",
        ),
        (
            "key-policy",
            r#"{"minRSABits": 4096}"#,
            "invalid plugin configuration: ",
        ),
        (
            "duration-policy",
            r#"{"max": "24h"}"#,
            "invalid plugin configuration: ",
        ),
    ] {
        let reason = Policy::new(&work, name, config)
            .decide(&csr, None)
            .expect_err(name);
        assert!(
            reason.starts_with(prefix) && reason.contains("unknown field"),
            "{name}: {reason}"
        );
    }
}
