//! The local runner as a plugin author uses it: the real binary, real files,
//! exit codes and the one-line errors.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};

use wasm_issuer_test_support::{CsrSpec, KeyForm, KeyKind, Workdir, plugin, test_plugin};

/// The arguments of one run, each anything that converts to an `OsString`.
macro_rules! args {
    ($($arg:expr),* $(,)?) => { vec![$(OsString::from($arg)),*] };
}

fn wasm_issuer(args: Vec<OsString>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasm-issuer"))
        .args(args)
        .output()
        .expect("run wasm-issuer")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The single stderr line of a failed run.
fn error_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {stderr}");
    lines[0].to_owned()
}

fn key_grant(dir: &Path) -> String {
    format!("ca={}", dir.display())
}

#[test]
fn sign_prints_a_chain_openssl_accepts_and_writes_the_ca() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::Rsa2048, KeyForm::Pkcs1, 30);
    let csr = work.csr("app", &CsrSpec::server(KeyKind::EcP256, "app.example.com"));
    let ca_out = work.path().join("ca-out.pem");
    let output = wasm_issuer(args![
        "sign",
        "--plugin",
        &plugin("ca"),
        "--csr",
        &csr,
        "--key",
        &key_grant(&ca.dir),
        "--duration",
        "24h",
        "--usage",
        "server auth",
        "--ca-out",
        &ca_out,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let chain = stdout(&output);
    assert!(chain.starts_with("-----BEGIN CERTIFICATE-----"), "{chain}");
    work.verify(&ca.cert(), None, "app.crt", &chain)
        .expect("openssl verifies the chain");
    let ca_pem = std::fs::read_to_string(&ca_out).expect("the CA was written");
    assert_eq!(
        ca_pem.trim(),
        std::fs::read_to_string(ca.cert()).expect("CA").trim()
    );
}

#[test]
fn sign_failures_are_one_classified_line() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::EcP256, KeyForm::Pkcs8, 30);
    let csr = work.csr("app", &CsrSpec::server(KeyKind::EcP256, "app.example.com"));
    let not_pem = work.path().join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    let not_wasm = work.path().join("not.wasm");
    std::fs::write(&not_wasm, "hello").expect("write");

    let wrong_key = test_plugin("wrong-key");
    let grant = key_grant(&ca.dir);
    let cases: Vec<(Vec<OsString>, &str)> = vec![
        (
            args!["sign", "--csr", &not_pem, "--plugin", plugin("ca")],
            "[invalid-request]",
        ),
        (
            args!["sign", "--csr", &csr, "--plugin", &not_wasm],
            "[plugin]",
        ),
        (
            args!["sign", "--csr", &csr, "--plugin", plugin("allow-domains")],
            "not a signer plugin",
        ),
        (
            args!["sign", "--csr", &csr, "--plugin", plugin("ca")],
            "[issuer-not-ready]",
        ),
        (
            args![
                "sign", "--csr", &csr, "--plugin", &wrong_key, "--key", &grant
            ],
            "[permanent]",
        ),
    ];
    for (args, expected) in cases {
        let output = wasm_issuer(args);
        assert_eq!(output.status.code(), Some(1), "{expected}");
        let line = error_line(&output);
        assert!(line.starts_with("wasm-issuer: "), "{line}");
        assert!(line.contains(expected), "{expected} not in: {line}");
    }

    let missing_key = wasm_issuer(args![
        "sign",
        "--csr",
        &csr,
        "--plugin",
        &plugin("ca"),
        "--key",
        &format!("ca={}", work.path().join("nowhere").display()),
    ]);
    assert_eq!(missing_key.status.code(), Some(1));
    assert!(error_line(&missing_key).contains("[key]"));
}

#[test]
fn policy_exit_codes_say_allow_deny_or_error() {
    let work = Workdir::new();
    let config = work.path().join("policy.json");
    std::fs::write(
        &config,
        r#"{"allowedDomains": ["example.com"], "maxDuration": "24h"}"#,
    )
    .expect("write");
    let allowed = work.csr("ok", &CsrSpec::server(KeyKind::EcP256, "app.example.com"));
    let denied = work.csr("no", &CsrSpec::server(KeyKind::EcP256, "app.example.org"));
    let policy = plugin("allow-domains");

    let output = wasm_issuer(args![
        "policy",
        "--plugin",
        &policy,
        "--csr",
        &allowed,
        "--config",
        &config,
        "--duration",
        "1h"
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output).trim(), "allow");

    let output = wasm_issuer(args![
        "policy",
        "--plugin",
        &policy,
        "--csr",
        &denied,
        "--config",
        &config,
        "--duration",
        "1h"
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.starts_with("deny: ") && text.contains("app.example.org"),
        "{text}"
    );

    let output = wasm_issuer(args![
        "policy",
        "--plugin",
        &policy,
        "--csr",
        &allowed,
        "--config",
        &config,
        "--duration",
        "48h"
    ]);
    assert_eq!(output.status.code(), Some(1), "over maxDuration");

    let output = wasm_issuer(args![
        "policy",
        "--plugin",
        &plugin("ca"),
        "--csr",
        &allowed
    ]);
    assert_eq!(output.status.code(), Some(2), "a signer is not a policy");
    assert!(error_line(&output).contains("[plugin]"));
}

#[test]
fn policy_sees_the_requester_given_on_the_command_line() {
    let work = Workdir::new();
    let config = work.path().join("requesters.json");
    std::fs::write(
        &config,
        r#"{"rules": [
            {"users": ["alice"], "dnsNames": ["alice.example.com"]},
            {"groups": ["web-team"], "dnsNames": ["web.example.com"]}
        ]}"#,
    )
    .expect("write");
    let alice = work.csr(
        "alice",
        &CsrSpec::server(KeyKind::EcP256, "alice.example.com"),
    );
    let web = work.csr("web", &CsrSpec::server(KeyKind::EcP256, "web.example.com"));
    let policy = plugin("requester-policy");
    let decide = |csr: &Path, requester: &[&str]| {
        let mut args = args![
            "policy", "--plugin", &policy, "--csr", csr, "--config", &config
        ];
        args.extend(requester.iter().map(OsString::from));
        let output = wasm_issuer(args);
        (output.status.code(), stdout(&output))
    };

    assert_eq!(
        decide(&alice, &["--username", "alice"]),
        (Some(0), "allow\n".to_owned())
    );
    let (code, text) = decide(&alice, &["--username", "bob"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.starts_with("deny: ") && text.contains("bob"), "{text}");
    assert_eq!(
        decide(
            &web,
            &["--username", "bob", "--group", "ops", "--group", "web-team"]
        ),
        (Some(0), "allow\n".to_owned())
    );
    let (code, text) = decide(&web, &["--username", "bob", "--group", "ops"]);
    assert_eq!(code, Some(1), "{text}");
}

#[test]
fn inspect_describes_a_plugin() {
    let output = wasm_issuer(args!["inspect", &plugin("ca")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = stdout(&output);
    assert!(text.contains("world:   signer-plugin"), "{text}");
    assert!(text.contains("digest:  sha256:"), "{text}");
    assert!(text.contains("wasm-issuer:plugin/keys@0.1.0"), "{text}");
    assert!(text.contains("wasm-issuer:plugin/signer@0.1.0"), "{text}");

    let output = wasm_issuer(args!["inspect", &plugin("allow-domains")]);
    let text = stdout(&output);
    assert!(text.contains("world:   policy-plugin"), "{text}");
    assert!(
        !text.contains("wasm-issuer:plugin/keys"),
        "a policy cannot import keys: {text}"
    );
}
