//! One plugin call: a fresh store, the call, and the classification of
//! whatever went wrong into a [`CallError`].

use wasmtime::{Engine, Store, Trap};

use crate::digest::Digest;
use crate::error::{CallError, TrapKind};
use crate::limits::{MemoryLimitExceeded, TableLimitExceeded};
use crate::sandbox::Sandbox;
use crate::state::{self, PluginState};

/// wasmtime's error for an exhausted hostcall budget is a private type, so
/// its message is the only way to recognise it.
const HOSTCALL_FUEL_MESSAGE: &str = "fuel allocated for hostcalls has been exhausted";

/// Runs `call` in a new store built from `sandbox`. The store is dropped
/// when this returns, whatever happened, so no state outlives the call.
pub(crate) fn with_fresh_store<R>(
    engine: &Engine,
    sandbox: &Sandbox,
    digest: &Digest,
    call: impl FnOnce(&mut Store<PluginState>) -> wasmtime::Result<R>,
) -> Result<R, CallError> {
    let mut store = state::new_store(engine, sandbox, digest.short());
    call(&mut store).map_err(|error| classify(&error, store.data()))
}

/// Turns a wasmtime error into the sandbox's account of it.
fn classify(error: &wasmtime::Error, state: &PluginState) -> CallError {
    let trap = |kind, message: String| CallError::Trap { kind, message };
    if let Some(refused) = error.downcast_ref::<MemoryLimitExceeded>() {
        return trap(TrapKind::Memory, refused.to_string());
    }
    if let Some(refused) = error.downcast_ref::<TableLimitExceeded>() {
        return trap(TrapKind::Memory, refused.to_string());
    }
    if let Some(code) = error.downcast_ref::<Trap>() {
        return match code {
            Trap::Interrupt => trap(TrapKind::Deadline, "the call ran past its timeout".into()),
            Trap::UnreachableCodeReached => {
                let message = state
                    .guest_error_message()
                    .unwrap_or_else(|| "the plugin aborted (wasm `unreachable`)".into());
                trap(TrapKind::Panic, message)
            }
            other => trap(TrapKind::Other, other.to_string()),
        };
    }
    let message = format!("{error:#}");
    if message.contains(HOSTCALL_FUEL_MESSAGE) {
        return trap(TrapKind::HostcallData, message);
    }
    // Errors from instantiation (e.g. the instance pool is full) carry no trap code.
    CallError::Instantiate(message)
}
