//! Signer plugins compiled once per content digest and shared by every
//! issuer that uses the same bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use wasm_issuer_runtime::{Digest, LoadError, Runtime, SignerPlugin};

/// The process's compiled signers, by digest.
pub struct SignerPlugins {
    runtime: Arc<Runtime>,
    by_digest: Mutex<HashMap<Digest, SignerPlugin>>,
}

impl SignerPlugins {
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self {
            runtime,
            by_digest: Mutex::default(),
        }
    }

    /// The signer made of `wasm`: from the cache, or compiled (seconds for
    /// big components) on a blocking thread, off the async workers.
    pub async fn signer(&self, wasm: Vec<u8>) -> Result<SignerPlugin, LoadError> {
        let digest = Digest::of(&wasm);
        if let Some(plugin) = self.cached(&digest) {
            return Ok(plugin);
        }
        let runtime = Arc::clone(&self.runtime);
        let plugin = tokio::task::spawn_blocking(move || {
            let compiled = runtime.compile(&wasm)?;
            runtime.signer(&compiled)
        })
        .await
        .map_err(|join| LoadError::Compile(format!("the compiler thread failed: {join}")))??;
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest, plugin.clone());
        Ok(plugin)
    }

    fn cached(&self, digest: &Digest) -> Option<SignerPlugin> {
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
            .cloned()
    }
}
