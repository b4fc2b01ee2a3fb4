//! The wasm-issuer controller.
//!
//! - [`api`]: the custom resources it serves, `WasmIssuer` and
//!   `WasmClusterIssuer` (group `wasm-issuer.dev`, version `v1alpha1`),
//!   derived from Rust types (`wasm-issuer crds`), and the part of
//!   cert-manager's `CertificateRequest` it reads and writes.
//! - `issuer`: the issuer reconciler (load the plugin, check it, Ready).
//! - `certificate_request`: the CertificateRequest reconciler, in the
//!   contract's order, with status written by server-side apply.
//! - `certificate_signing_request`: the Kubernetes CSR reconciler for our
//!   signer names; it shares the issuer gate (`issuer_gate`), the signing
//!   path (`signing`) and its classification (`outcome`) with the
//!   CertificateRequest reconciler.
//! - `issuer_states`: what the issuer reconciler tells the request
//!   reconcilers: which issuers may sign, with which plugin.
//! - `leader`: leader election with a Lease, so that one replica signs.
//! - `metrics` and `serve`: Prometheus metrics, `/healthz` and `/readyz`.
//! - [`run`]: all of it together, until shutdown.

pub mod api;
mod certificate_request;
mod certificate_signing_request;
mod client;
mod context;
mod error;
mod events;
mod issuer;
mod issuer_gate;
mod issuer_key;
mod issuer_states;
mod leader;
mod metrics;
mod options;
mod outcome;
mod plugins;
mod run;
mod serve;
mod signing;

pub use certificate_request::RETRYING_SINCE;
pub use client::{RateLimit, client};
pub use error::Error;
pub use issuer_key::{CLUSTER_KIND, GROUP, NAMESPACED_KIND};
pub use leader::Election;
pub use options::{FIELD_MANAGER, Options};
pub use run::run;
