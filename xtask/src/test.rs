//! `cargo xtask test`: install what the tests need, build the plugins, the
//! control plane and helm (or reuse their caches), then run every test.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::{plugins, workspace};

/// Disk a clean `cargo xtask test` fills under the target directory, with
/// headroom (docs/benchmarks.md has the measurement).
const DISK_NEEDED: u64 = 8 << 30;

pub fn run() -> anyhow::Result<()> {
    workspace::require(
        "openssl",
        "tests check every certificate with it: `apt-get install openssl`",
    )?;
    workspace::require(
        "go",
        "the control plane is built from the Go module proxy: install Go 1.26 or newer",
    )?;
    workspace::require_free_disk(
        &workspace::target_dir(),
        DISK_NEEDED,
        "building every test from clean",
    )?;
    workspace::run(workspace::cargo().args(["fmt", "--all", "--check"]))?;
    plugins::build_all()?;
    let binaries = wasm_issuer_testenv::ensure_binaries()?;
    // The chart's tests render with it; built here, not under a test's timeout.
    let helm = wasm_issuer_testenv::ensure_helm()?;
    eprintln!(
        "control plane binaries and {} ready in {}",
        helm.display(),
        binaries.dir().display()
    );
    workspace::run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_tests()
}

/// Runs `cargo test --workspace`, echoing its output, and closes with one
/// line totalling every test binary's results.
fn run_tests() -> anyhow::Result<()> {
    eprintln!("$ cargo test --workspace --no-fail-fast");
    let mut child = cargo()
        .args(["test", "--workspace", "--no-fail-fast"])
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start cargo test")?;
    let stdout = child.stdout.take().context("cargo test's stdout")?;
    let mut totals = Totals::default();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        totals.add(&line);
    }
    let status = child.wait()?;
    println!("{} passed, {} failed", totals.passed, totals.failed);
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(())
}

/// `cargo` for a whole-workspace pass: each test crate is built once here, so
/// incremental state (gigabytes) would only fill the disk; a value the user
/// set wins.
fn cargo() -> Command {
    let mut cargo = workspace::cargo();
    if std::env::var_os("CARGO_INCREMENTAL").is_none() {
        cargo.env("CARGO_INCREMENTAL", "0");
    }
    cargo
}

#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
}

impl Totals {
    /// Adds a libtest summary line: "test result: ok. 7 passed; 0 failed; ...".
    fn add(&mut self, line: &str) {
        let Some(summary) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in summary.split(['.', ';']) {
            let mut words = part.split_whitespace();
            match (words.next().map(str::parse::<u64>), words.next()) {
                (Some(Ok(count)), Some("passed")) => self.passed += count,
                (Some(Ok(count)), Some("failed")) => self.failed += count,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_libtest_summaries() {
        let mut totals = Totals::default();
        totals.add("test result: ok. 7 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 9.49s");
        totals
            .add("test result: FAILED. 5 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out");
        totals.add("running 7 tests");
        assert_eq!((totals.passed, totals.failed), (12, 2));
    }
}
