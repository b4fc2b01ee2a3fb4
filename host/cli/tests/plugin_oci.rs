//! `wasm-issuer plugin push|pull` and `inspect <reference>` through the real
//! binary, against a real registry (CNCF distribution on loopback, plain
//! HTTP: `--insecure`).

use std::ffi::OsString;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use wasm_issuer_test_support::{Workdir, plugin};
use wasm_issuer_testenv::{Registry, RegistryOptions};

/// The arguments of one run, each anything that converts to an `OsString`.
macro_rules! args {
    ($($arg:expr),* $(,)?) => { vec![$(OsString::from($arg)),*] };
}

fn wasm_issuer(args: Vec<OsString>) -> Output {
    wasm_issuer_with_stdin(args, "")
}

/// Runs the binary with `stdin` as its standard input (for --password-stdin).
fn wasm_issuer_with_stdin(args: Vec<OsString>, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasm-issuer"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wasm-issuer");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for wasm-issuer")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "status {}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The single stderr line of a failed run.
fn error_line(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {stderr}");
    lines[0].to_owned()
}

#[test]
fn push_then_pull_and_inspect_by_reference() {
    let registry = Registry::start(RegistryOptions::default()).expect("start the registry");
    let work = Workdir::new();
    let tag = format!("{}/plugins/ca:v1", registry.host());

    let pushed = wasm_issuer(args!["plugin", "push", plugin("ca"), &tag, "--insecure"]);
    assert_success(&pushed);
    let immutable = stdout(&pushed).trim().to_string();
    let prefix = format!("{}/plugins/ca@sha256:", registry.host());
    assert!(immutable.starts_with(&prefix), "{immutable}");
    let digest = immutable.split_once('@').expect("digest").1.to_string();

    let out = work.path().join("pulled.wasm");
    let pulled = wasm_issuer(args!["plugin", "pull", &tag, "-o", &out, "--insecure"]);
    assert_success(&pulled);
    assert_eq!(stdout(&pulled).trim(), digest);
    assert_eq!(
        std::fs::read(&out).expect("read the pulled plugin"),
        std::fs::read(plugin("ca")).expect("read the plugin")
    );

    // A reference that names its registry is taken as one.
    let inspected = wasm_issuer(args!["inspect", &immutable, "--insecure"]);
    assert_success(&inspected);
    let text = stdout(&inspected);
    assert!(text.contains(&format!("manifest: {digest}")), "{text}");
    assert!(text.contains("world:   signer-plugin"), "{text}");
    assert!(text.contains("wasm-issuer:plugin/signer@0.1.0"), "{text}");

    // The file still inspects as a file, and says the same.
    let from_file = wasm_issuer(args!["inspect", &out]);
    assert_success(&from_file);
    assert!(stdout(&from_file).contains("world:   signer-plugin"));
}

#[test]
fn a_private_registry_takes_the_password_from_stdin() {
    let registry = Registry::start(RegistryOptions {
        basic_auth: Some(("alice".into(), "s3cret".into())),
    })
    .expect("start the private registry");
    let work = Workdir::new();
    let tag = format!("{}/private/ca:v1", registry.host());

    let anonymous = wasm_issuer(args!["plugin", "push", plugin("ca"), &tag, "--insecure"]);
    let line = error_line(&anonymous);
    assert!(line.starts_with("wasm-issuer: "), "{line}");
    assert!(line.contains(&tag) && line.contains("refused"), "{line}");
    assert!(line.ends_with("[input]"), "{line}");

    let pushed = wasm_issuer_with_stdin(
        args![
            "plugin",
            "push",
            plugin("ca"),
            &tag,
            "--insecure",
            "--username",
            "alice",
            "--password-stdin"
        ],
        "s3cret\n",
    );
    assert_success(&pushed);

    let out = work.path().join("pulled.wasm");
    let line = error_line(&wasm_issuer(args![
        "plugin",
        "pull",
        &tag,
        "-o",
        &out,
        "--insecure"
    ]));
    assert!(
        line.contains("refused") && line.contains("credentials"),
        "{line}"
    );
    assert!(!out.exists(), "nothing is written on failure");

    let pulled = wasm_issuer_with_stdin(
        args![
            "plugin",
            "pull",
            &tag,
            "-o",
            &out,
            "--insecure",
            "--username",
            "alice",
            "--password-stdin"
        ],
        "s3cret\n",
    );
    assert_success(&pulled);
    assert_eq!(
        std::fs::read(&out).expect("read the pulled plugin"),
        std::fs::read(plugin("ca")).expect("read the plugin")
    );
}

#[test]
fn registry_failures_are_one_line_naming_the_reference() {
    let registry = Registry::start(RegistryOptions::default()).expect("start the registry");
    let work = Workdir::new();

    let missing = format!("{}/plugins/missing:v1", registry.host());
    let line = error_line(&wasm_issuer(args![
        "plugin",
        "pull",
        &missing,
        "-o",
        work.path().join("x.wasm"),
        "--insecure"
    ]));
    assert!(
        line.contains(&missing) && line.contains("not found"),
        "{line}"
    );

    // --oci takes the argument as a reference even without a registry host
    // in it; a malformed one is refused before any request.
    let line = error_line(&wasm_issuer(args!["inspect", "--oci", "has space/x:v1"]));
    assert!(line.contains("not a usable OCI reference"), "{line}");

    // A missing file is not mistaken for a reference.
    let line = error_line(&wasm_issuer(args!["inspect", "missing.wasm"]));
    assert!(line.contains("no such file"), "{line}");

    // A file that is not WebAssembly is refused before the push.
    let text_file = work.write("notes.txt", "hello");
    let tag = format!("{}/plugins/notes:v1", registry.host());
    let line = error_line(&wasm_issuer(args![
        "plugin",
        "push",
        &text_file,
        &tag,
        "--insecure"
    ]));
    assert!(line.contains("not a WebAssembly binary"), "{line}");
}
