//! Precompiled components: the bytes a compile cache keeps on disk so that a
//! restarted process deserializes in a fraction of a millisecond what took
//! tens of milliseconds (or seconds) to compile.
//!
//! Such bytes are native code for this engine's configuration: they are only
//! valid for an engine with the same [`Runtime::compatibility_hash`], and only
//! safe to load when this program wrote them (see [`Runtime::deserialize`]).

use std::hash::{Hash, Hasher};

use sha2::{Digest as _, Sha256};
use wasmtime::component::Component;

use crate::digest::Digest;
use crate::error::LoadError;
use crate::plugin::CompiledComponent;
use crate::runtime::Runtime;

impl Runtime {
    /// A hex string naming everything a precompiled artifact depends on: the
    /// wasmtime version, the compiler and its settings, the engine's
    /// configuration and the host CPU's features. Artifacts made under one
    /// hash must only be loaded under the same hash; a cache keys its entries
    /// by it so that an upgraded controller never even tries older ones.
    pub fn compatibility_hash(&self) -> String {
        // `precompile_compatibility_hash` only offers `Hash`: feed it to
        // sha256 rather than to `DefaultHasher`, whose algorithm std may
        // change between releases, and keep all 256 bits so that two
        // configurations never share a name by accident.
        let mut hasher = Sha256Hasher(Sha256::new());
        self.engine()
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        hex::encode(hasher.0.finalize())
    }

    /// The precompiled form of `component`, for [`Runtime::deserialize`] in a
    /// later run of this program.
    pub fn serialize(&self, component: &CompiledComponent) -> Result<Vec<u8>, LoadError> {
        component.component.serialize().map_err(|error| {
            LoadError::Compile(format!(
                "cannot serialize compiled component {}: {error:#}",
                component.digest
            ))
        })
    }

    /// Loads a component from bytes made by [`Runtime::serialize`], naming it
    /// `digest` (the digest of the WebAssembly it was compiled from: it is
    /// taken on trust, not recomputed).
    ///
    /// wasmtime checks the artifact's header and its compatibility with this
    /// engine, and fails cleanly when they do not match.
    ///
    /// # Safety
    ///
    /// `bytes` are native code that will be mapped executable and run without
    /// further validation. They must have been produced by
    /// [`Runtime::serialize`] of this program (or one with the same
    /// [`Runtime::compatibility_hash`]) and kept where nobody else can write,
    /// and checked intact (e.g. against a hash stored beside them) after being
    /// read back: never pass bytes from a ConfigMap, a registry or any other
    /// place a user controls. Corrupt or forged bytes are undefined behaviour,
    /// not an error.
    pub unsafe fn deserialize(
        &self,
        digest: Digest,
        bytes: &[u8],
    ) -> Result<CompiledComponent, LoadError> {
        // SAFETY: the caller guarantees that the bytes are an intact artifact
        // this program serialized (see the contract above).
        let component =
            unsafe { Component::deserialize(self.engine(), bytes) }.map_err(|error| {
                LoadError::Compile(format!(
                    "cannot load the precompiled artifact of {digest}: {error:#}"
                ))
            })?;
        Ok(CompiledComponent { digest, component })
    }
}

/// Adapts sha256 to [`Hasher`], for values that only implement [`Hash`].
/// `finish` is never used: the caller reads the full sha256 state instead.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}
