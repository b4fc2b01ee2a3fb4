//! Compiled plugins. A component is compiled once per digest and linked once
//! into an `InstancePre` for its world; each call then instantiates afresh.

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::component::{
    Component, ComponentExportIndex, ComponentNamedList, Instance, Lift, Lower, TypedFunc,
};
use wasmtime::{Engine, Store};

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

/// The contract's exported interfaces, as the component model names them.
const SIGNER_INTERFACE: &str = "wasm-issuer:plugin/signer@0.1.0";
const POLICY_INTERFACE: &str = "wasm-issuer:plugin/policy@0.1.0";

/// One function a plugin exports, taking `&Params` and returning `Return`.
///
/// wasmtime's generated `instantiate` typechecks every export of the world
/// on every instantiation (for the request record, about a microsecond per
/// call). The types of a component's exports are fixed by the component, so
/// this checks them on the first call only and trusts them afterwards. Only
/// for signatures without resource types (whose identity is per instance):
/// the contract's exports have none.
pub(crate) struct Export<Params: ?Sized, Return> {
    index: ComponentExportIndex,
    typechecked: Arc<OnceLock<()>>,
    _signature: PhantomData<fn(&Params) -> Return>,
}

impl<Params: ?Sized, Return> Clone for Export<Params, Return> {
    fn clone(&self) -> Self {
        Self {
            index: self.index,
            typechecked: self.typechecked.clone(),
            _signature: PhantomData,
        }
    }
}

impl<Params, Return> Export<Params, Return>
where
    Params: ?Sized,
    for<'a> (&'a Params,): ComponentNamedList + Lower,
    (Return,): ComponentNamedList + Lift,
{
    /// Finds `interface`'s function `name` in `component`, a component of
    /// the world `expected` (linking checked that it has the function).
    fn new(
        component: &Component,
        expected: &'static str,
        interface: &str,
        name: &str,
    ) -> Result<Self, LoadError> {
        let index = component
            .get_export_index(None, interface)
            .and_then(|interface| component.get_export_index(Some(&interface), name))
            .ok_or_else(|| LoadError::WrongWorld {
                expected,
                detail: format!("no export {interface}#{name}"),
            })?;
        Ok(Self {
            index,
            typechecked: Arc::new(OnceLock::new()),
            _signature: PhantomData,
        })
    }

    /// Calls the function in `instance` (a fresh instance of this component).
    fn call(
        &self,
        store: &mut Store<PluginState>,
        instance: &Instance,
        params: &Params,
    ) -> wasmtime::Result<Return> {
        let func = instance
            .get_func(&mut *store, self.index)
            .ok_or_else(|| wasmtime::format_err!("the plugin lost an export"))?;
        let typed: TypedFunc<(&Params,), (Return,)> = if self.typechecked.get().is_some() {
            // SAFETY: `typed` below accepted this export of this component
            // with this signature on an earlier call; every instance of a
            // component has the same export types (the signatures use no
            // resource types, which would be per instance).
            unsafe { TypedFunc::new_unchecked(func) }
        } else {
            let typed = func.typed(&*store)?;
            let _ = self.typechecked.set(());
            typed
        };
        let (result,) = typed.call(&mut *store, (params,))?;
        Ok(result)
    }
}

/// A signer plugin ready to serve: cheap to clone and share across threads.
#[derive(Clone)]
pub struct SignerPlugin {
    linked: Linked<SignerPluginPre<PluginState>>,
    check: Export<types::Issuer, Result<(), types::Error>>,
    sign: Export<types::CertificateRequest, Result<types::Issued, types::Error>>,
}

impl SignerPlugin {
    pub(crate) fn new(linked: Linked<SignerPluginPre<PluginState>>) -> Result<Self, LoadError> {
        let component = linked.pre.instance_pre().component();
        Ok(Self {
            check: Export::new(component, "signer", SIGNER_INTERFACE, "check")?,
            sign: Export::new(component, "signer", SIGNER_INTERFACE, "sign")?,
            linked,
        })
    }

    pub fn digest(&self) -> &Digest {
        &self.linked.digest
    }

    /// Asks the plugin whether its configuration and CA are usable.
    pub fn check(&self, sandbox: &Sandbox, issuer: &IssuerInfo) -> Result<(), CallError> {
        let issuer = convert::issuer(issuer);
        let linked = &self.linked;
        let outcome = with_fresh_store(&linked.engine, sandbox, &linked.digest, |store| {
            let instance = linked.pre.instance_pre().instantiate(&mut *store)?;
            self.check.call(store, &instance, &issuer)
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
        let linked = &self.linked;
        let outcome = with_fresh_store(&linked.engine, sandbox, &linked.digest, |store| {
            let instance = linked.pre.instance_pre().instantiate(&mut *store)?;
            self.sign.call(store, &instance, &wit_request)
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
pub struct PolicyPlugin {
    linked: Linked<PolicyPluginPre<PluginState>>,
    evaluate: Export<types::CertificateRequest, types::Decision>,
}

impl PolicyPlugin {
    pub(crate) fn new(linked: Linked<PolicyPluginPre<PluginState>>) -> Result<Self, LoadError> {
        let component = linked.pre.instance_pre().component();
        Ok(Self {
            evaluate: Export::new(component, "policy", POLICY_INTERFACE, "evaluate")?,
            linked,
        })
    }

    pub fn digest(&self) -> &Digest {
        &self.linked.digest
    }

    pub fn evaluate(
        &self,
        sandbox: &Sandbox,
        request: &PluginRequest,
    ) -> Result<Decision, CallError> {
        let wit_request = convert::request(request);
        let linked = &self.linked;
        let decision = with_fresh_store(&linked.engine, sandbox, &linked.digest, |store| {
            let instance = linked.pre.instance_pre().instantiate(&mut *store)?;
            self.evaluate.call(store, &instance, &wit_request)
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
