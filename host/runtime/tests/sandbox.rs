//! Hostile and broken plugins: each call fails with a classified error, and
//! the host (and the next call) carries on unharmed.

mod common;

use std::time::{Duration, Instant};

use common::{RequestBuilder, ca_sandbox, fixture, runtime, signer};
use wasm_issuer_runtime::{
    CallError, ErrorClass, Limits, LoadError, PluginError, Sandbox, TrapKind,
};
use wasm_issuer_test_support::{CsrSpec, KeyForm, KeyKind, Workdir, plugin};

fn trap_kind(error: &CallError) -> TrapKind {
    match error {
        CallError::Trap { kind, .. } => *kind,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn runaway_loop_is_stopped_by_the_deadline() {
    let work = Workdir::new();
    let runtime = runtime();
    let request = RequestBuilder::from_csr_file(
        &work.csr("spin", &CsrSpec::server(KeyKind::EcP256, "a.example.com")),
    )
    .build();
    let sandbox = Sandbox {
        limits: Limits {
            timeout: Duration::from_millis(200),
            ..Limits::default()
        },
        ..Sandbox::default()
    };
    let started = Instant::now();
    let error = fixture(&runtime, "spin")
        .sign(&sandbox, &request)
        .expect_err("never returns");
    assert_eq!(trap_kind(&error), TrapKind::Deadline, "{error}");
    assert_eq!(error.class(), ErrorClass::Retryable);
    // Generous bound: the point is that it stopped, not how fast.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn gigabyte_allocation_is_refused_by_the_memory_cap() {
    let work = Workdir::new();
    let runtime = runtime();
    let request = RequestBuilder::from_csr_file(
        &work.csr("hog", &CsrSpec::server(KeyKind::EcP256, "a.example.com")),
    )
    .build();
    let error = fixture(&runtime, "hog")
        .sign(&Sandbox::default(), &request)
        .expect_err("refused");
    assert_eq!(trap_kind(&error), TrapKind::Memory, "{error}");
    assert!(
        error
            .to_string()
            .contains("over its limit of 67108864 bytes"),
        "{error}"
    );
}

#[test]
fn panic_is_a_trap_carrying_the_panic_message() {
    let work = Workdir::new();
    let runtime = runtime();
    let request = RequestBuilder::from_csr_file(
        &work.csr("panic", &CsrSpec::server(KeyKind::EcP256, "a.example.com")),
    )
    .build();
    let error = fixture(&runtime, "panic")
        .sign(&Sandbox::default(), &request)
        .expect_err("panics");
    assert_eq!(trap_kind(&error), TrapKind::Panic, "{error}");
    assert!(
        error.to_string().contains("panicked"),
        "the message is kept: {error}"
    );
}

#[test]
fn certificate_for_another_key_is_refused_by_the_host() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::EcP256, KeyForm::Pkcs8, 365);
    let runtime = runtime();
    let request = RequestBuilder::from_csr_file(
        &work.csr("wrong", &CsrSpec::server(KeyKind::EcP256, "a.example.com")),
    )
    .build();
    let error = fixture(&runtime, "wrong-key")
        .sign(&ca_sandbox(&ca), &request)
        .expect_err("refused");
    assert!(matches!(error, CallError::InvalidOutput(_)), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Permanent);
    assert!(error.to_string().contains("public key"), "{error}");
}

#[test]
fn garbage_output_is_refused_by_the_host() {
    let work = Workdir::new();
    let runtime = runtime();
    let request = RequestBuilder::from_csr_file(&work.csr(
        "garbage",
        &CsrSpec::server(KeyKind::EcP256, "a.example.com"),
    ))
    .build();
    let error = fixture(&runtime, "garbage")
        .sign(&Sandbox::default(), &request)
        .expect_err("refused");
    assert!(matches!(error, CallError::InvalidOutput(_)), "{error:?}");
}

#[test]
fn host_survives_every_hostile_plugin_and_serves_the_next_request() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::EcP256, KeyForm::Pkcs8, 365);
    let runtime = runtime();
    let request = RequestBuilder::from_csr_file(&work.csr(
        "survive",
        &CsrSpec::server(KeyKind::EcP256, "a.example.com"),
    ))
    .build();
    let sandbox = Sandbox {
        limits: Limits {
            timeout: Duration::from_millis(100),
            ..Limits::default()
        },
        ..ca_sandbox(&ca)
    };
    for name in ["spin", "hog", "panic", "wrong-key", "garbage"] {
        let hostile = fixture(&runtime, name);
        // Twice each: a trap must not poison the plugin's next instance either.
        for _ in 0..2 {
            assert!(
                hostile.sign(&sandbox, &request).is_err(),
                "{name} did not fail"
            );
        }
    }
    let issued = signer(&runtime, "ca")
        .sign(&sandbox, &request)
        .expect("the ca plugin still signs");
    work.verify(&ca.cert(), None, "after.crt", &issued.chain_pem())
        .expect("openssl verifies");
}

#[test]
fn each_plugin_error_class_comes_through() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::EcP256, KeyForm::Pkcs8, 365);
    let runtime = runtime();
    let scripted = fixture(&runtime, "scripted");
    let csr = work.csr(
        "scripted",
        &CsrSpec::server(KeyKind::EcP256, "a.example.com"),
    );
    let cases = [
        ("pending", ErrorClass::Pending),
        ("retryable", ErrorClass::Retryable),
        ("permanent", ErrorClass::Permanent),
        ("invalid-request", ErrorClass::InvalidRequest),
        ("issuer-not-ready", ErrorClass::IssuerNotReady),
    ];
    for (script, class) in cases {
        let request = RequestBuilder::from_csr_file(&csr)
            .config(&format!(
                r#"{{"sign": "{script}", "retryAfterSeconds": 7}}"#
            ))
            .build();
        let error = scripted.sign(&ca_sandbox(&ca), &request).expect_err(script);
        assert_eq!(error.class(), class, "{script}: {error}");
        if let CallError::Plugin(PluginError::Pending { retry_after, .. }) = &error {
            assert_eq!(*retry_after, Duration::from_secs(7));
        }
    }
    let request = RequestBuilder::from_csr_file(&csr)
        .config(r#"{"sign": "issue"}"#)
        .build();
    scripted
        .sign(&ca_sandbox(&ca), &request)
        .expect("scripted issue works");
}

/// The pool hands each call a reused slot, reset in place (dirty pages copied
/// back from the module's image, or zeroed): nothing a call wrote may be seen
/// by the next one.
#[test]
fn no_state_survives_from_one_call_to_the_next() {
    let work = Workdir::new();
    let runtime = runtime();
    let noop = fixture(&runtime, "noop");
    let request = RequestBuilder::from_csr_file(
        &work.csr("noop", &CsrSpec::server(KeyKind::EcP256, "a.example.com")),
    )
    .build();
    for call in 0..5 {
        let error = noop
            .sign(&Sandbox::default(), &request)
            .expect_err("noop never signs");
        let CallError::Plugin(PluginError::Permanent(message)) = error else {
            panic!("call {call}: expected noop's permanent error, got {error:?}");
        };
        assert_eq!(
            message, "noop: call 1 of this instance (initialised data says 1)",
            "call {call}"
        );
    }
}

#[test]
fn key_not_granted_is_a_clear_issuer_error() {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::EcP256, KeyForm::Pkcs8, 365);
    let runtime = runtime();
    let request = RequestBuilder::from_csr_file(
        &work.csr("greedy", &CsrSpec::server(KeyKind::EcP256, "a.example.com")),
    )
    .config(r#"{"key": "someone-elses-ca"}"#)
    .build();
    let error = fixture(&runtime, "greedy-key")
        .sign(&ca_sandbox(&ca), &request)
        .expect_err("not granted");
    assert_eq!(error.class(), ErrorClass::IssuerNotReady, "{error}");
    let message = error.to_string();
    assert!(
        message.contains("\"someone-elses-ca\" is not granted"),
        "{message}"
    );
    assert!(message.contains("granted: ca"), "{message}");

    let error = signer(&runtime, "ca")
        .sign(&Sandbox::default(), &request)
        .expect_err("no keys at all");
    assert_eq!(error.class(), ErrorClass::IssuerNotReady, "{error}");
}

#[test]
fn files_that_are_not_plugins_are_refused_at_load() {
    let runtime = runtime();
    assert!(matches!(
        runtime.compile(b"not wasm at all"),
        Err(LoadError::NotWasm)
    ));
    // The smallest core module: a component is expected.
    assert!(matches!(
        runtime.compile(b"\0asm\x01\0\0\0"),
        Err(LoadError::NotComponent)
    ));

    let policy = runtime
        .compile(&std::fs::read(plugin("allow-domains")).expect("read"))
        .expect("compiles");
    let error = runtime
        .signer(&policy)
        .err()
        .expect("a policy is not a signer");
    assert!(
        matches!(
            error,
            LoadError::WrongWorld {
                expected: "signer",
                ..
            }
        ),
        "{error}"
    );

    let ca = runtime
        .compile(&std::fs::read(plugin("ca")).expect("read"))
        .expect("compiles");
    let error = runtime.policy(&ca).err().expect("a signer is not a policy");
    assert!(
        matches!(
            error,
            LoadError::WrongWorld {
                expected: "policy",
                ..
            }
        ),
        "{error}"
    );
}
