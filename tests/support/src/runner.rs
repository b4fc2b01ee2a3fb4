//! The `wasm-issuer` binary as a plugin author runs it: its output and exit code.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

/// Runs the local runner (`wasm-issuer sign`, `policy`, ...). Only the
/// binary's own tests know where cargo built it.
pub struct LocalRunner {
    binary: PathBuf,
}

/// What one run printed, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl LocalRunner {
    /// `binary` is the test's `env!("CARGO_BIN_EXE_wasm-issuer")`.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
        }
    }

    /// Runs the binary with `args` to the end.
    pub fn run<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> RunOutput {
        let output = Command::new(&self.binary)
            .args(args)
            .output()
            .unwrap_or_else(|error| panic!("run {}: {error}", self.binary.display()));
        RunOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}
