//! Plugins compiled once per content digest and shared by every issuer
//! that uses the same bytes; compiled code is also kept on disk, so that a
//! restarted controller does not compile again.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use wasm_issuer_runtime::{
    CompiledComponent, Digest, LoadError, PolicyPlugin, Runtime, SignerPlugin,
};
use wasm_issuer_sources::cache::{self, CacheError, CompileCache};

/// The process's compiled plugins of both worlds.
pub struct Plugins {
    pub signers: Compiled<SignerPlugin>,
    pub policies: Compiled<PolicyPlugin>,
}

impl Plugins {
    /// `disk`: the on-disk compile cache, if there is one (shared by both worlds).
    pub fn new(runtime: Arc<Runtime>, disk: Option<CompileCache>) -> Self {
        let disk = disk.map(Arc::new);
        Self {
            signers: Compiled::new(Arc::clone(&runtime), disk.clone(), Runtime::signer),
            policies: Compiled::new(runtime, disk, Runtime::policy),
        }
    }
}

/// Links a compiled component into a plugin of one world.
type Link<P> = fn(&Runtime, &CompiledComponent) -> Result<P, LoadError>;

/// The process's compiled plugins of one world, by digest.
pub struct Compiled<P> {
    runtime: Arc<Runtime>,
    disk: Option<Arc<CompileCache>>,
    link: Link<P>,
    by_digest: Mutex<HashMap<Digest, P>>,
}

/// How a plugin came to be ready, for the Event that announces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Another issuer (or an earlier version of this one) compiled it already.
    InMemory,
    /// Loaded from the on-disk compile cache.
    Cached(Duration),
    Compiled(Duration),
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InMemory => f.write_str("already compiled in this process"),
            Self::Cached(took) => write!(
                f,
                "loaded from the compile cache in {} ms",
                took.as_millis()
            ),
            Self::Compiled(took) => write!(f, "compiled in {} ms", took.as_millis()),
        }
    }
}

impl<P: Clone + Send + 'static> Compiled<P> {
    fn new(runtime: Arc<Runtime>, disk: Option<Arc<CompileCache>>, link: Link<P>) -> Self {
        Self {
            runtime,
            disk,
            link,
            by_digest: Mutex::default(),
        }
    }

    /// The plugin made of `wasm`: from memory, from the disk cache, or
    /// compiled (seconds for big components) on a blocking thread, off the
    /// async workers.
    pub async fn load(&self, wasm: Vec<u8>) -> Result<(P, Provenance), LoadError> {
        let digest = Digest::of(&wasm);
        if let Some(plugin) = self.cached(&digest) {
            return Ok((plugin, Provenance::InMemory));
        }
        let runtime = Arc::clone(&self.runtime);
        let disk = self.disk.clone();
        let link = self.link;
        let (plugin, provenance) = tokio::task::spawn_blocking(move || {
            let (compiled, provenance) = match disk {
                Some(disk) => match disk.load_or_compile(&runtime, &wasm) {
                    Ok((compiled, cache::Provenance::Cached { took })) => {
                        (compiled, Provenance::Cached(took))
                    }
                    Ok((compiled, cache::Provenance::Compiled { took })) => {
                        (compiled, Provenance::Compiled(took))
                    }
                    Err(CacheError::Compile { source, .. }) => return Err(source),
                    Err(other) => return Err(LoadError::Compile(other.to_string())),
                },
                None => {
                    let start = Instant::now();
                    let compiled = runtime.compile(&wasm)?;
                    (compiled, Provenance::Compiled(start.elapsed()))
                }
            };
            Ok((link(&runtime, &compiled)?, provenance))
        })
        .await
        .map_err(|join| LoadError::Compile(format!("the compiler thread failed: {join}")))??;
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest, plugin.clone());
        Ok((plugin, provenance))
    }

    fn cached(&self, digest: &Digest) -> Option<P> {
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
            .cloned()
    }
}
