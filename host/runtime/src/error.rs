//! The runtime's errors: loading a plugin, and calling one.
//!
//! A call's error always has a [`ErrorClass`], the five classes of the
//! contract, so the controller knows which status to write without parsing text.

use std::fmt;
use std::time::Duration;

/// Why a component could not become a plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a WebAssembly file (it does not start with the \\0asm magic)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build for wasm32-wasip2 or wrap it with `wasm-tools component new`"
    )]
    NotComponent,
    #[error("the component does not compile: {0}")]
    Compile(String),
    #[error("the component is not a {expected} plugin: {detail}")]
    WrongWorld {
        expected: &'static str,
        detail: String,
    },
}

/// Why the runtime itself could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(String),
    #[error("cannot link the host's imports: {0}")]
    Link(String),
    #[error("cannot start the epoch ticker thread: {0}")]
    Ticker(std::io::Error),
}

/// The contract's error classes, each of which the controller turns into one
/// kind of status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    Pending,
    Retryable,
    Permanent,
    InvalidRequest,
    IssuerNotReady,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retryable => "retryable",
            Self::Permanent => "permanent",
            Self::InvalidRequest => "invalid-request",
            Self::IssuerNotReady => "issuer-not-ready",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error the plugin returned on purpose, through the contract's `error` variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    #[error("pending: {reason} (retry after {}s)", retry_after.as_secs())]
    Pending {
        reason: String,
        retry_after: Duration,
    },
    #[error("{0}")]
    Retryable(String),
    #[error("{0}")]
    Permanent(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    IssuerNotReady(String),
}

impl PluginError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Pending { .. } => ErrorClass::Pending,
            Self::Retryable(_) => ErrorClass::Retryable,
            Self::Permanent(_) => ErrorClass::Permanent,
            Self::InvalidRequest(_) => ErrorClass::InvalidRequest,
            Self::IssuerNotReady(_) => ErrorClass::IssuerNotReady,
        }
    }
}

/// How a plugin call was cut short by the sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// The call ran past its timeout.
    Deadline,
    /// The plugin asked for more memory (or table space) than its limit.
    Memory,
    /// The plugin panicked or aborted (`unreachable`).
    Panic,
    /// The plugin pushed more data to the host in one call than allowed.
    HostcallData,
    /// Any other trap: out-of-bounds access, stack overflow, bad conversion...
    Other,
}

impl TrapKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deadline => "deadline",
            Self::Memory => "memory",
            Self::Panic => "panic",
            Self::HostcallData => "hostcall-data",
            Self::Other => "trap",
        }
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one plugin call did not produce a usable result. The host survives
/// every one of these; nothing carries over to the next call.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("plugin {class}: {0}", class = .0.class())]
    Plugin(PluginError),
    #[error("plugin trapped ({kind}): {message}")]
    Trap { kind: TrapKind, message: String },
    #[error("plugin returned an unusable certificate: {0}")]
    InvalidOutput(wasm_issuer_pki::Error),
    #[error("plugin could not be started: {0}")]
    Instantiate(String),
}

impl CallError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Plugin(error) => error.class(),
            // A trap may be a passing resource shortage as much as a bug:
            // retry within the retry budget rather than fail at once.
            Self::Trap { .. } | Self::Instantiate(_) => ErrorClass::Retryable,
            // The plugin answered, wrongly: asking again will not help.
            Self::InvalidOutput(_) => ErrorClass::Permanent,
        }
    }
}
