//! Write wasm-issuer plugins in Rust.
//!
//! A plugin is a WebAssembly component that the wasm-issuer host runs in a
//! sandbox for each certificate request. This crate hides the component-model
//! bindings: a plugin is one trait implementation plus one export macro.
//!
//! - A **signer** issues certificates: implement [`Signer`], then
//!   [`export_signer!`]. It may open the keys the issuer grants ([`Key`]) and
//!   have the host build and sign a certificate ([`CertificateTemplate`]).
//! - A **policy** decides whether a request may go ahead: implement [`Policy`],
//!   then [`export_policy!`]. It can log, and nothing else.
//!
//! Build with `cargo build --target wasm32-wasip2` and a `cdylib` crate type:
//! the target produces a component directly.
//!
//! # A signer
//!
//! A CA that signs every request with the key granted as `ca`:
//!
//! ```
//! use wasm_issuer_plugin_api::{CertificateRequest, Error, Issued, Issuer, Key, Signer};
//!
//! struct MyCa;
//!
//! impl Signer for MyCa {
//!     fn check(_issuer: Issuer) -> Result<(), Error> {
//!         Key::open("ca").map(drop)
//!     }
//!
//!     fn sign(request: CertificateRequest) -> Result<Issued, Error> {
//!         Key::open("ca")?.sign_request(&request)
//!     }
//! }
//!
//! wasm_issuer_plugin_api::export_signer!(MyCa);
//! # fn main() {}
//! ```
//!
//! # A policy
//!
//! Configured as `{"maxNames": 3}`; a bad configuration denies (fails closed):
//!
//! ```
//! use serde::Deserialize;
//! use wasm_issuer_plugin_api::{log, CertificateRequest, Decision, Policy};
//!
//! #[derive(Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Config {
//!     max_names: usize,
//! }
//!
//! struct FewNames;
//!
//! impl Policy for FewNames {
//!     fn evaluate(request: CertificateRequest) -> Decision {
//!         let config: Config = match request.issuer.config() {
//!             Ok(config) => config,
//!             Err(invalid) => return invalid.into(),
//!         };
//!         let names = request.dns_names().count();
//!         if names > config.max_names {
//!             log::info(&format!("{} asks for {names} names", request.name));
//!             return Decision::Deny(format!("{names} DNS names, at most {} allowed", config.max_names));
//!         }
//!         Decision::Allow
//!     }
//! }
//!
//! wasm_issuer_plugin_api::export_policy!(FewNames);
//! # fn main() {}
//! ```

// The generated code names this crate by its absolute path, so that the same
// paths work in here and in the plugin crates that expand the export macros.
extern crate self as wasm_issuer_plugin_api;

mod config;
mod der;
mod duration;
mod key;
pub mod log;
mod request;
mod template;
#[cfg(test)]
mod testing;
mod time;

pub use config::InvalidConfig;
pub use duration::{format_duration, parse_duration};
pub use key::{Key, chain_for};
pub use request::DEFAULT_DURATION;
pub use template::effective_usages;
pub use time::{format_time, now};

pub use __private::signer::wasm_issuer::plugin::certificate_builder::{
    CertificateTemplate, Subject,
};
pub use __private::signer::wasm_issuer::plugin::keys::KeyCertificate;
pub use __private::signer::wasm_issuer::plugin::types::{
    CertificateRequest, Decision, DistinguishedName, Error, Extension, Issued, Issuer,
    KeyAlgorithm, NameAttribute, OtherName, ParsedCsr, Pending, PublicKey, Requester, San, Usage,
};

/// What a signer plugin implements: `check` drives the issuer's Ready
/// condition, `sign` answers one certificate request.
///
/// Both are called on a fresh instance: keep no state between calls.
pub use __private::signer::exports::wasm_issuer::plugin::signer::Guest as Signer;

/// What a policy plugin implements: `evaluate` allows a request, denies it
/// with a reason, or calls it invalid. Called on a fresh instance each time.
pub use __private::policy::exports::wasm_issuer::plugin::policy::Guest as Policy;

/// Exports a type implementing [`Signer`] as the plugin's `signer` interface.
///
/// Use it once, at the top level of a `cdylib` crate, with a type name (not a
/// path). The component imports what the signer world offers and it uses
/// (log, keys, certificate builder), plus the WASI interfaces Rust's std uses.
#[macro_export]
macro_rules! export_signer {
    ($ty:ident) => {
        $crate::__private::signer::export_signer_world!($ty with_types_in $crate::__private::signer);
    };
}

/// Exports a type implementing [`Policy`] as the plugin's `policy` interface.
///
/// Use it once, at the top level of a `cdylib` crate, with a type name (not a
/// path). A policy component can import the log and nothing else of ours
/// (never keys or the certificate builder), plus the WASI interfaces Rust's
/// std uses.
#[macro_export]
macro_rules! export_policy {
    ($ty:ident) => {
        $crate::__private::policy::export_policy_world!($ty with_types_in $crate::__private::policy);
    };
}

impl Error {
    /// "Not yet, ask again in `retry_after_seconds`": does not use up the retry budget.
    pub fn pending(reason: impl Into<String>, retry_after_seconds: u32) -> Self {
        Error::Pending(Pending {
            reason: reason.into(),
            retry_after_seconds,
        })
    }
}

/// The generated bindings, one module per world.
///
/// `pub_export_macro` makes each module's own custom section describe only the
/// world's imports (which the component drops when unused), while the world's
/// exports are described by the section that its export macro emits into the
/// plugin crate. So a policy plugin exports `policy` alone and never imports
/// `keys` or `certificate-builder`, although both worlds live in this crate.
/// The policy world reuses the signer world's types so that there is one
/// `CertificateRequest` type, not two.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    pub mod signer {
        wit_bindgen::generate!({
            path: "../wit",
            world: "signer-plugin",
            additional_derives: [PartialEq],
            pub_export_macro: true,
            export_macro_name: "export_signer_world",
            default_bindings_module: "::wasm_issuer_plugin_api::__private::signer",
            runtime_path: "::wasm_issuer_plugin_api::__private::wit_bindgen::rt",
            generate_unused_types: true,
        });
    }

    pub mod policy {
        wit_bindgen::generate!({
            path: "../wit",
            world: "policy-plugin",
            with: {
                "wasm-issuer:plugin/types@0.1.0": super::signer::wasm_issuer::plugin::types,
                "wasm-issuer:plugin/log@0.1.0": super::signer::wasm_issuer::plugin::log,
            },
            pub_export_macro: true,
            export_macro_name: "export_policy_world",
            default_bindings_module: "::wasm_issuer_plugin_api::__private::policy",
            runtime_path: "::wasm_issuer_plugin_api::__private::wit_bindgen::rt",
        });
    }
}
