//! The plugin runtime of wasm-issuer.
//!
//! One wasmtime [`Runtime`] per process compiles each component once (keyed by
//! its sha256 [`Digest`]) and links it for its world into a [`SignerPlugin`] or
//! [`PolicyPlugin`]. Every call gets a fresh, sandboxed store: no files,
//! environment or network; a memory cap, a CPU deadline and a cap on data
//! pushed to the host ([`Limits`]); only the keys its issuer grants
//! ([`Grants`]). Whatever a plugin does, the call ends in a result or a
//! classified [`CallError`]; the host carries on.
//!
//! This crate knows nothing of Kubernetes: the controller, the local runner
//! and the benchmarks all use it alone.

mod artifact;
mod bindings;
mod call;
mod capabilities;
mod convert;
mod digest;
mod epoch;
mod error;
mod inspect;
mod issued;
mod limits;
mod plugin;
mod request;
mod runtime;
mod sandbox;
mod state;

pub use digest::{Digest, InvalidDigest};
pub use error::{CallError, ErrorClass, LoadError, PluginError, RuntimeError, TrapKind};
pub use inspect::{ComponentInfo, World, inspect};
pub use issued::IssuedCertificate;
pub use limits::{InvalidQuantity, Limits};
pub use plugin::{CompiledComponent, Decision, PolicyPlugin, SignerPlugin};
pub use request::{IssuerInfo, PluginRequest, Requester};
pub use runtime::{Runtime, RuntimeOptions};
pub use sandbox::{Grants, Sandbox};
