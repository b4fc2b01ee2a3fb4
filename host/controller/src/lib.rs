//! The wasm-issuer controller.
//!
//! [`api`] holds the custom resources it serves, `WasmIssuer` and
//! `WasmClusterIssuer` (group `wasm-issuer.dev`, version `v1alpha1`), derived
//! from Rust types so that the CRDs in `deploy/crds/` are generated, never
//! hand-written (`wasm-issuer crds`). The reconcilers will live beside it.

pub mod api;
