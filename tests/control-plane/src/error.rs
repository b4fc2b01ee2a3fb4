//! The one error type of the crate.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while building or running the control plane.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system or process operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    /// A tool the harness needs (go, openssl, ...) could not be run at all.
    #[error(
        "`{tool}` is required but could not be run ({source}); install it and make sure it is on PATH"
    )]
    MissingTool {
        tool: String,
        #[source]
        source: std::io::Error,
    },

    /// A build or helper command ran and failed.
    #[error("`{command}` failed ({status}); full log: {log}\n--- last lines ---\n{tail}")]
    CommandFailed {
        command: String,
        status: String,
        log: PathBuf,
        tail: String,
    },

    /// A control-plane process exited while it should have been running.
    #[error("{name} exited unexpectedly ({status}); full log: {log}\n--- last lines ---\n{tail}")]
    ProcessExited {
        name: String,
        status: String,
        log: PathBuf,
        tail: String,
    },

    /// Something did not become ready in time.
    #[error("timed out after {timeout:?} waiting for {what}; process logs are in {logs}")]
    Timeout {
        what: String,
        timeout: Duration,
        logs: PathBuf,
    },

    /// A file the harness reads (go.mod, a CRD, the state file) is not what it expects.
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },

    #[error("generating certificates: {0}")]
    Pki(#[from] rcgen::Error),

    #[error("kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),

    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),

    #[error("waiting for a Kubernetes object: {0}")]
    Wait(#[from] kube::runtime::wait::Error),

    #[error("sending a signal: {0}")]
    Signal(#[from] nix::Error),
}

impl Error {
    /// Wraps an I/O error with what was being done, for messages that say where.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// The last `lines` lines of a log file, for error messages (empty if unreadable).
pub(crate) fn log_tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
