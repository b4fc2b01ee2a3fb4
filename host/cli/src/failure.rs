//! How a command fails: one line on stderr, `wasm-issuer: <cause> [<class>]`,
//! and an exit code.

use std::fmt;
use std::process::ExitCode;

use wasm_issuer_runtime::ErrorClass;

/// What went wrong, in classes a script can act on. The plugin's own error
/// classes come from the contract; the others say which input was bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A file could not be read, or a flag's value is malformed.
    Input,
    /// The plugin file is not a usable component of the expected world.
    Plugin,
    /// A granted key could not be loaded (issuer configuration).
    Key,
    /// The cluster could not be reached or the controller could not run there.
    Cluster,
    /// The plugin's call failed with this contract class.
    Call(ErrorClass),
    /// Something the program makes itself failed: a bug to report.
    Internal,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input => f.write_str("input"),
            Self::Plugin => f.write_str("plugin"),
            Self::Key => f.write_str("key"),
            Self::Cluster => f.write_str("cluster"),
            Self::Call(class) => class.fmt(f),
            Self::Internal => f.write_str("internal"),
        }
    }
}

/// A failed command. `exit_code` defaults to 1; the policy command uses 2 for
/// errors so that 1 can mean "denied".
#[derive(Debug)]
pub struct Failure {
    class: Class,
    cause: anyhow::Error,
    exit_code: u8,
}

impl Failure {
    pub fn new(class: Class, cause: impl Into<anyhow::Error>) -> Self {
        Self {
            class,
            cause: cause.into(),
            exit_code: 1,
        }
    }

    pub fn with_exit_code(mut self, code: u8) -> Self {
        self.exit_code = code;
        self
    }

    /// Prints the one line and gives the exit code.
    pub fn report(self) -> ExitCode {
        // `{:#}` joins anyhow's context chain into one line.
        eprintln!("wasm-issuer: {:#} [{}]", self.cause, self.class);
        ExitCode::from(self.exit_code)
    }
}

/// Shorthand for attaching a class to any error.
pub trait Classify<T> {
    fn class(self, class: Class) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> Classify<T> for Result<T, E> {
    fn class(self, class: Class) -> Result<T, Failure> {
        self.map_err(|error| Failure::new(class, error))
    }
}
