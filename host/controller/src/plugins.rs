//! Plugins compiled once per content digest and shared by every issuer
//! that uses the same bytes; compiled code is also kept on disk, so that a
//! restarted controller does not compile again. Issuers that load the same
//! new bytes at once wait for one compile, and no more compiles run at once
//! than there are cores: compiling is CPU-bound and each one holds its
//! component's whole compiled image in memory until it is done. A plugin
//! no issuer uses any more leaves memory (the disk cache keeps it): hot
//! reloads would otherwise pile up every version ever served.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, Semaphore};

use wasm_issuer_runtime::{
    CompiledComponent, Digest, LoadError, PolicyPlugin, Runtime, SignerPlugin, World,
};
use wasm_issuer_sources::cache::{self, CacheError, CompileCache};

use crate::metrics::Metrics;

/// The process's compiled plugins of both worlds.
pub struct Plugins {
    pub signers: Compiled<SignerPlugin>,
    pub policies: Compiled<PolicyPlugin>,
}

impl Plugins {
    /// `disk`: the on-disk compile cache, if there is one (shared by both worlds).
    pub fn new(runtime: Arc<Runtime>, disk: Option<CompileCache>, metrics: Arc<Metrics>) -> Self {
        let disk = disk.map(Arc::new);
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let compiles = Arc::new(Semaphore::new(cores));
        Self {
            signers: Compiled {
                runtime: Arc::clone(&runtime),
                disk: disk.clone(),
                compiles: Arc::clone(&compiles),
                metrics: Arc::clone(&metrics),
                world: World::Signer,
                link: Runtime::signer,
                by_digest: Mutex::default(),
            },
            policies: Compiled {
                runtime,
                disk,
                compiles,
                metrics,
                world: World::Policy,
                link: Runtime::policy,
                by_digest: Mutex::default(),
            },
        }
    }
}

/// Links a compiled component into a plugin of one world.
type Link<P> = fn(&Runtime, &CompiledComponent) -> Result<P, LoadError>;

/// The process's compiled plugins of one world, by digest.
pub struct Compiled<P> {
    runtime: Arc<Runtime>,
    disk: Option<Arc<CompileCache>>,
    /// Compiles (or disk loads) that may run at once, shared by both worlds.
    compiles: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    world: World,
    link: Link<P>,
    /// One cell per digest: the first loader fills it, the others wait.
    by_digest: Mutex<HashMap<Digest, Arc<OnceCell<Arc<P>>>>>,
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

impl<P: Send + Sync + 'static> Compiled<P> {
    /// The plugin made of `wasm`: from memory, from the disk cache, or
    /// compiled (seconds for big components) on a blocking thread, off the
    /// async workers. A failed compile leaves the cell empty: the next
    /// loader of those bytes tries again.
    pub async fn load(&self, wasm: Vec<u8>) -> Result<(Arc<P>, Provenance), LoadError> {
        let cell = self.cell(Digest::of(&wasm));
        let mut provenance = Provenance::InMemory;
        let plugin = cell
            .get_or_try_init(|| async {
                // Closed never: the semaphore lives as long as `self`.
                let _permit = self.compiles.acquire().await;
                let (plugin, how) = self.compile(wasm).await?;
                provenance = how;
                Ok::<_, LoadError>(Arc::new(plugin))
            })
            .await?;
        self.metrics.plugin_loaded(self.world, provenance);
        Ok((Arc::clone(plugin), provenance))
    }

    async fn compile(&self, wasm: Vec<u8>) -> Result<(P, Provenance), LoadError> {
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
        Ok((plugin, provenance))
    }

    /// The cell of `digest`. Cells nobody else holds go, unless the plugin
    /// in them is still held: a cell a loader holds (filling it, or
    /// waiting) stays, and so does one whose plugin an issuer serves. An
    /// empty cell a failed compile left goes too.
    fn cell(&self, digest: Digest) -> Arc<OnceCell<Arc<P>>> {
        let mut cells = self
            .by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cells.retain(|_, cell| {
            Arc::strong_count(cell) > 1
                || cell
                    .get()
                    .is_some_and(|plugin| Arc::strong_count(plugin) > 1)
        });
        Arc::clone(cells.entry(digest).or_default())
    }

    /// How many plugins are kept in memory.
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use wasm_issuer_runtime::RuntimeOptions;
    use wasm_issuer_test_support::test_plugin;

    use super::*;

    #[tokio::test]
    async fn issuers_loading_the_same_new_bytes_at_once_share_one_compile() {
        let runtime = Runtime::new(&RuntimeOptions::default()).expect("a runtime");
        let plugins = Plugins::new(Arc::new(runtime), None, Arc::default());
        let wasm = std::fs::read(test_plugin("noop")).expect("the noop plugin");
        let loads = (0..8).map(|_| plugins.signers.load(wasm.clone()));
        let loaded: Vec<(Arc<SignerPlugin>, Provenance)> = futures::future::join_all(loads)
            .await
            .into_iter()
            .map(|loaded| loaded.expect("it loads"))
            .collect();
        let provenances: Vec<Provenance> = loaded.iter().map(|(_, how)| *how).collect();
        let compiles = provenances
            .iter()
            .filter(|provenance| matches!(provenance, Provenance::Compiled(_)))
            .count();
        assert_eq!(compiles, 1, "{provenances:?}");
        let (_, again) = plugins.signers.load(wasm).await.expect("it loads");
        assert_eq!(again, Provenance::InMemory);
    }

    #[tokio::test]
    async fn a_plugin_no_issuer_holds_leaves_memory() {
        let runtime = Runtime::new(&RuntimeOptions::default()).expect("a runtime");
        let plugins = Plugins::new(Arc::new(runtime), None, Arc::default());
        let old = std::fs::read(test_plugin("stamp-v1")).expect("stamp-v1");
        let new = std::fs::read(test_plugin("stamp-v2")).expect("stamp-v2");
        let (serving, _) = plugins.signers.load(old.clone()).await.expect("it loads");
        let (_, provenance) = plugins.signers.load(old.clone()).await.expect("it loads");
        assert_eq!(provenance, Provenance::InMemory, "held: kept");

        // A reload: the new version serves, the old one is let go.
        let (_new_serving, _) = plugins.signers.load(new.clone()).await.expect("it loads");
        drop(serving);
        let (_, provenance) = plugins.signers.load(new.clone()).await.expect("it loads");
        assert_eq!(provenance, Provenance::InMemory, "the new one is held");
        assert_eq!(plugins.signers.kept(), 1, "only the one in use is kept");
        let broken = plugins.signers.load(b"not a component".to_vec()).await;
        assert!(broken.is_err(), "garbage does not load");
        plugins.signers.load(new).await.expect("it loads");
        assert_eq!(plugins.signers.kept(), 1, "a failed load leaves nothing");
        let (_, provenance) = plugins.signers.load(old).await.expect("it loads");
        assert!(
            matches!(provenance, Provenance::Compiled(_)),
            "the old one was let go: {provenance:?}"
        );
    }
}
