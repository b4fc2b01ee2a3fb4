//! Host bindings generated from the contract in `wit/`.
//!
//! The signer world is generated first; the policy world reuses its `types`
//! and `log` interfaces so that one request type serves both worlds.

/// Bindings for the `signer-plugin` world.
pub mod signer {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "signer-plugin",
        // Host functions return `wasmtime::Result`, so a broken handle traps
        // the guest instead of panicking the host.
        imports: { default: trappable },
        with: {
            "wasm-issuer:plugin/keys.key": crate::capabilities::keys::KeyHandle,
        },
    });
}

/// Bindings for the `policy-plugin` world.
pub mod policy {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "policy-plugin",
        imports: { default: trappable },
        with: {
            "wasm-issuer:plugin/types": crate::bindings::signer::wasm_issuer::plugin::types,
            "wasm-issuer:plugin/log": crate::bindings::signer::wasm_issuer::plugin::log,
        },
    });
}

pub use signer::wasm_issuer::plugin::types;
