//! The runtime: one wasmtime engine for the process, the linkers that give
//! each world its imports, and compilation of components into plugins.

use wasmtime::component::{Component, HasSelf, InstancePre, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings::{policy, signer};
use crate::digest::Digest;
use crate::epoch::EpochTicker;
use crate::error::{LoadError, RuntimeError};
use crate::plugin::{self, CompiledComponent, Linked, PolicyPlugin, SignerPlugin};
use crate::state::PluginState;

/// How the engine is set up.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Use the pooling allocator (instantiation in a few microseconds). If the
    /// machine refuses the address-space reservation, the runtime falls back
    /// to on-demand allocation and says so.
    pub pooling: bool,
    /// Instances that may run at once with pooling (one per concurrent call).
    pub max_concurrent_instances: u32,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            pooling: true,
            max_concurrent_instances: 256,
        }
    }
}

/// The plugin runtime. Create one per process: every plugin must come from
/// the same engine (mixing engines is a known wasmtime footgun).
pub struct Runtime {
    engine: Engine,
    pooling: bool,
    signer_linker: Linker<PluginState>,
    policy_linker: Linker<PluginState>,
    // Declared last: dropped after the linkers, stops the deadline clock.
    _ticker: EpochTicker,
}

impl Runtime {
    pub fn new(options: &RuntimeOptions) -> Result<Self, RuntimeError> {
        let (engine, pooling) = new_engine(options)?;
        let signer_linker = signer_linker(&engine)?;
        let policy_linker = policy_linker(&engine)?;
        let ticker = EpochTicker::start(engine.clone()).map_err(RuntimeError::Ticker)?;
        Ok(Self {
            engine,
            pooling,
            signer_linker,
            policy_linker,
            _ticker: ticker,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether instances come from the pooling allocator.
    pub fn uses_pooling(&self) -> bool {
        self.pooling
    }

    /// Compiles a component. Costly (milliseconds to seconds): callers keep
    /// the result and do this off the request path.
    pub fn compile(&self, wasm: &[u8]) -> Result<CompiledComponent, LoadError> {
        plugin::check_component_bytes(wasm)?;
        let component = Component::new(&self.engine, wasm)
            .map_err(|error| LoadError::Compile(format!("{error:#}")))?;
        Ok(CompiledComponent {
            digest: Digest::of(wasm),
            component,
        })
    }

    /// Links a compiled component as a signer; fails if it is not one.
    pub fn signer(&self, component: &CompiledComponent) -> Result<SignerPlugin, LoadError> {
        self.link(
            component,
            &self.signer_linker,
            "signer",
            signer::SignerPluginPre::new,
        )
        .and_then(SignerPlugin::new)
    }

    /// Links a compiled component as a policy; fails if it is not one.
    pub fn policy(&self, component: &CompiledComponent) -> Result<PolicyPlugin, LoadError> {
        self.link(
            component,
            &self.policy_linker,
            "policy",
            policy::PolicyPluginPre::new,
        )
        .and_then(PolicyPlugin::new)
    }

    /// Resolves the component's imports against `linker` and its exports
    /// against the world (`typed`): either failing means another world.
    fn link<Pre>(
        &self,
        component: &CompiledComponent,
        linker: &Linker<PluginState>,
        expected: &'static str,
        typed: impl FnOnce(InstancePre<PluginState>) -> wasmtime::Result<Pre>,
    ) -> Result<Linked<Pre>, LoadError> {
        let wrong_world = |error: wasmtime::Error| LoadError::WrongWorld {
            expected,
            detail: format!("{error:#}"),
        };
        let instance_pre = linker
            .instantiate_pre(&component.component)
            .map_err(wrong_world)?;
        Ok(Linked {
            digest: component.digest,
            engine: self.engine.clone(),
            pre: typed(instance_pre).map_err(wrong_world)?,
        })
    }
}

fn new_engine(options: &RuntimeOptions) -> Result<(Engine, bool), RuntimeError> {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    if options.pooling {
        let mut pooled = config.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(options)));
        match Engine::new(&pooled) {
            Ok(engine) => return Ok((engine, true)),
            Err(error) => tracing::warn!(
                "pooling allocator unavailable ({error:#}); instantiating on demand instead"
            ),
        }
    }
    let engine =
        Engine::new(&config).map_err(|error| RuntimeError::Engine(format!("{error:#}")))?;
    Ok((engine, false))
}

/// Pool sizes for components from any language: big runtimes (Python, JS)
/// have several core instances, memories and tables per component. Slot
/// sizes stay at wasmtime's defaults.
///
/// Every call dirties a few pages of a slot (the `ca` plugin: some 16 KiB
/// of stack, data and heap) that must be reset before the slot serves again.
/// By default wasmtime gives them back with `madvise` and the next call
/// faults them in afresh: most of the cost of a small call. With the
/// `PAGEMAP_SCAN` ioctl (Linux 6.7+) the pool finds the dirty pages and
/// copies them back from the module's image instead, keeping up to
/// `KEEP_RESIDENT` bytes resident per idle slot: a no-op call takes a third
/// of the time (docs/benchmarks.md). Without the ioctl, keeping memory
/// resident means `memset`ting its first bytes whether touched or not (for a
/// Rust plugin, the bottom of its stack), which is slower than `madvise`:
/// linear memories then keep wasmtime's default.
fn pooling_config(options: &RuntimeOptions) -> PoolingAllocationConfig {
    /// Dirty memory reset in place per linear memory (more is given back).
    const KEEP_RESIDENT: usize = 1 << 20;
    /// Tables: a plugin's tables are a page or two, reset in place.
    const TABLE_KEEP_RESIDENT: usize = 64 << 10;
    let instances = options.max_concurrent_instances;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        .total_core_instances(instances * 8)
        .total_memories(instances * 2)
        .total_tables(instances * 8)
        .max_core_instances_per_component(64)
        .max_memories_per_component(8)
        .max_tables_per_component(64)
        .table_keep_resident(TABLE_KEEP_RESIDENT);
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT);
    }
    pool
}

fn signer_linker(engine: &Engine) -> Result<Linker<PluginState>, RuntimeError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link_error)?;
    signer::SignerPlugin::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |state| state)
        .map_err(link_error)?;
    Ok(linker)
}

fn policy_linker(engine: &Engine) -> Result<Linker<PluginState>, RuntimeError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link_error)?;
    policy::PolicyPlugin::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |state| state)
        .map_err(link_error)?;
    Ok(linker)
}

fn link_error(error: wasmtime::Error) -> RuntimeError {
    RuntimeError::Link(format!("{error:#}"))
}
