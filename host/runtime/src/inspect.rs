//! What a component is: its world, imports, exports and digest, for
//! `wasm-issuer inspect` and for clear errors.

use std::fmt;

use crate::digest::Digest;
use crate::error::LoadError;
use crate::runtime::Runtime;

/// The contract's exports that tell the worlds apart.
const SIGNER_EXPORT: &str = "wasm-issuer:plugin/signer@0.1.0";
const POLICY_EXPORT: &str = "wasm-issuer:plugin/policy@0.1.0";

/// Which of the contract's worlds a component implements, judged by its exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    Signer,
    Policy,
    /// Exports neither interface of the contract.
    Unknown,
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Signer => "signer-plugin",
            Self::Policy => "policy-plugin",
            Self::Unknown => "none of wasm-issuer's worlds",
        })
    }
}

/// A component's outline.
#[derive(Clone, Debug)]
pub struct ComponentInfo {
    pub digest: Digest,
    pub size: usize,
    pub world: World,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Compiles `wasm` and describes it.
pub fn inspect(runtime: &Runtime, wasm: &[u8]) -> Result<ComponentInfo, LoadError> {
    let compiled = runtime.compile(wasm)?;
    let component_type = compiled.component.component_type();
    let engine = runtime.engine();
    let imports: Vec<String> = component_type
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let exports: Vec<String> = component_type
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let world = if exports.iter().any(|name| name == SIGNER_EXPORT) {
        World::Signer
    } else if exports.iter().any(|name| name == POLICY_EXPORT) {
        World::Policy
    } else {
        World::Unknown
    };
    Ok(ComponentInfo {
        digest: *compiled.digest(),
        size: wasm.len(),
        world,
        imports,
        exports,
    })
}
