//! `cargo xtask test`: install what the tests need, build the plugins and the
//! control plane (or reuse their caches), then run every test.

use crate::{plugins, workspace};

pub fn run() -> anyhow::Result<()> {
    workspace::require(
        "openssl",
        "tests check every certificate with it: `apt-get install openssl`",
    )?;
    workspace::require(
        "go",
        "the control plane is built from the Go module proxy: install Go 1.26 or newer",
    )?;
    workspace::run(workspace::cargo().args(["fmt", "--all", "--check"]))?;
    plugins::build_all()?;
    let binaries = wasm_issuer_testenv::ensure_binaries()?;
    eprintln!(
        "control plane binaries ready in {}",
        binaries.dir().display()
    );
    workspace::run(workspace::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    workspace::run(workspace::cargo().args(["test", "--workspace", "--no-fail-fast"]))
}
