//! Logging into the host's tracing, tagged there with the plugin and the request.
//!
//! ```
//! wasm_issuer_plugin_api::log::info("signing with key ca");
//! ```
//!
//! Outside a component (native unit tests) nothing is logged.

pub use crate::__private::signer::wasm_issuer::plugin::log::Level;
use crate::__private::signer::wasm_issuer::plugin::log::log;

/// Logs `message` at `level`.
pub fn at(level: Level, message: &str) {
    // The native fallback of the generated import is `unreachable!()`, and
    // plugin logic that logs is unit-tested natively.
    if cfg!(target_arch = "wasm32") {
        log(level, message);
    }
}

pub fn trace(message: &str) {
    at(Level::Trace, message);
}

pub fn debug(message: &str) {
    at(Level::Debug, message);
}

pub fn info(message: &str) {
    at(Level::Info, message);
}

pub fn warn(message: &str) {
    at(Level::Warn, message);
}

pub fn error(message: &str) {
    at(Level::Error, message);
}
