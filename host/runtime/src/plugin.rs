//! Compiled plugins. A component is compiled once per digest and linked once
//! into an `InstancePre` for its world; each call then instantiates afresh.

use std::time::Duration;

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::bindings::policy::PolicyPluginPre;
use crate::bindings::signer::SignerPluginPre;
use crate::bindings::types;
use crate::call::with_fresh_store;
use crate::convert;
use crate::digest::Digest;
use crate::error::{CallError, LoadError, PluginError};
use crate::issued::{self, IssuedCertificate};
use crate::request::{IssuerInfo, PluginRequest};
use crate::sandbox::Sandbox;
use crate::state::PluginState;

/// A component compiled for this process's engine, named by its digest.
#[derive(Clone)]
pub struct CompiledComponent {
    pub(crate) digest: Digest,
    pub(crate) component: Component,
}

impl CompiledComponent {
    pub fn digest(&self) -> &Digest {
        &self.digest
    }
}

/// A compiled component linked for one world: what both kinds of plugin hold.
#[derive(Clone)]
pub(crate) struct Linked<Pre> {
    pub(crate) digest: Digest,
    pub(crate) engine: Engine,
    pub(crate) pre: Pre,
}

/// A signer plugin ready to serve: cheap to clone and share across threads.
#[derive(Clone)]
pub struct SignerPlugin(pub(crate) Linked<SignerPluginPre<PluginState>>);

impl SignerPlugin {
    pub fn digest(&self) -> &Digest {
        &self.0.digest
    }

    /// Asks the plugin whether its configuration and CA are usable.
    pub fn check(&self, sandbox: &Sandbox, issuer: &IssuerInfo) -> Result<(), CallError> {
        let issuer = convert::issuer(issuer);
        let outcome = with_fresh_store(&self.0.engine, sandbox, &self.0.digest, |store| {
            let plugin = self.0.pre.instantiate(&mut *store)?;
            plugin
                .wasm_issuer_plugin_signer()
                .call_check(&mut *store, &issuer)
        })?;
        outcome.map_err(|error| CallError::Plugin(plugin_error(error)))
    }

    /// Has the plugin sign `request`, then checks what it returned before
    /// anyone trusts it.
    pub fn sign(
        &self,
        sandbox: &Sandbox,
        request: &PluginRequest,
    ) -> Result<IssuedCertificate, CallError> {
        let wit_request = convert::request(request);
        let outcome = with_fresh_store(&self.0.engine, sandbox, &self.0.digest, |store| {
            let plugin = self.0.pre.instantiate(&mut *store)?;
            plugin
                .wasm_issuer_plugin_signer()
                .call_sign(&mut *store, &wit_request)
        })?;
        let issued = outcome.map_err(|error| CallError::Plugin(plugin_error(error)))?;
        issued::check(request, issued).map_err(CallError::InvalidOutput)
    }
}

/// A policy's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(String),
    /// The request is malformed rather than forbidden.
    Invalid(String),
}

/// A policy plugin ready to serve: cheap to clone and share across threads.
#[derive(Clone)]
pub struct PolicyPlugin(pub(crate) Linked<PolicyPluginPre<PluginState>>);

impl PolicyPlugin {
    pub fn digest(&self) -> &Digest {
        &self.0.digest
    }

    pub fn evaluate(
        &self,
        sandbox: &Sandbox,
        request: &PluginRequest,
    ) -> Result<Decision, CallError> {
        let wit_request = convert::request(request);
        let decision = with_fresh_store(&self.0.engine, sandbox, &self.0.digest, |store| {
            let plugin = self.0.pre.instantiate(&mut *store)?;
            plugin
                .wasm_issuer_plugin_policy()
                .call_evaluate(&mut *store, &wit_request)
        })?;
        Ok(match decision {
            types::Decision::Allow => Decision::Allow,
            types::Decision::Deny(reason) => Decision::Deny(reason),
            types::Decision::Invalid(reason) => Decision::Invalid(reason),
        })
    }
}

fn plugin_error(error: types::Error) -> PluginError {
    match error {
        types::Error::Pending(pending) => PluginError::Pending {
            reason: pending.reason,
            retry_after: Duration::from_secs(pending.retry_after_seconds.into()),
        },
        types::Error::Retryable(message) => PluginError::Retryable(message),
        types::Error::Permanent(message) => PluginError::Permanent(message),
        types::Error::InvalidRequest(message) => PluginError::InvalidRequest(message),
        types::Error::IssuerNotReady(message) => PluginError::IssuerNotReady(message),
    }
}

/// Checks the bytes look like a component before handing them to the compiler,
/// so the common mistakes get a message a plugin author understands.
pub(crate) fn check_component_bytes(wasm: &[u8]) -> Result<(), LoadError> {
    const MAGIC: &[u8] = b"\0asm";
    // The layer field of the preamble: 1 for components, 0 for core modules.
    const COMPONENT_LAYER: [u8; 2] = [1, 0];
    if wasm.len() < 8 || &wasm[..4] != MAGIC {
        return Err(LoadError::NotWasm);
    }
    if wasm[6..8] != COMPONENT_LAYER {
        return Err(LoadError::NotComponent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_files_that_are_not_components() {
        assert!(matches!(
            check_component_bytes(b"hello world"),
            Err(LoadError::NotWasm)
        ));
        assert!(matches!(
            check_component_bytes(b"\0asm"),
            Err(LoadError::NotWasm)
        ));
        let core_module = b"\0asm\x01\0\0\0";
        assert!(matches!(
            check_component_bytes(core_module),
            Err(LoadError::NotComponent)
        ));
        let component = b"\0asm\x0d\0\x01\0";
        assert!(check_component_bytes(component).is_ok());
    }
}
