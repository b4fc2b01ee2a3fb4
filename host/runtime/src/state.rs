//! The data a plugin's store holds for one call, and the store it lives in.

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::log::LogBudget;
use crate::epoch;
use crate::limits::StoreLimiter;
use crate::sandbox::{Grants, Sandbox};

/// What a guest's stderr may hold per call: enough for a panic message.
const STDERR_CAPACITY: usize = 8 << 10;

/// One call's host-side state. Built fresh for every call, so nothing a plugin
/// does survives into the next request.
pub(crate) struct PluginState {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// Key handles the guest holds now (capped by the keys capability).
    pub(crate) open_keys: usize,
    pub(crate) limiter: StoreLimiter,
    pub(crate) grants: Grants,
    pub(crate) log: LogBudget,
    /// Names the plugin in its log lines (its digest, short).
    pub(crate) plugin: String,
    stderr: MemoryOutputPipe,
}

impl PluginState {
    /// What the guest said on stderr before it died: Rust's panic message
    /// ("thread ... panicked at src/lib.rs:9:9: <message>"), or else the last
    /// line written (a Python traceback ends with the exception).
    pub(crate) fn guest_error_message(&self) -> Option<String> {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        match lines.iter().rposition(|line| line.contains("panicked at")) {
            Some(start) => Some(lines[start..].join(" ")),
            None => lines.last().map(|line| (*line).to_owned()),
        }
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A store for one call: WASI with no preopened files, no environment, no
/// arguments and no network (the builder grants none of them unless asked),
/// the memory limiter, the hostcall data cap and the CPU deadline.
pub(crate) fn new_store(engine: &Engine, sandbox: &Sandbox, plugin: String) -> Store<PluginState> {
    let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
    let mut wasi = WasiCtx::builder();
    // Explicit, though these are already the defaults: no sockets at all.
    wasi.stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    let wasi = wasi.build();
    let state = PluginState {
        wasi,
        table: ResourceTable::new(),
        open_keys: 0,
        limiter: StoreLimiter::new(&sandbox.limits),
        grants: sandbox.grants.clone(),
        log: LogBudget::default(),
        plugin,
        stderr,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_hostcall_fuel(sandbox.limits.hostcall_bytes);
    store.set_epoch_deadline(epoch::ticks_for(sandbox.limits.timeout));
    store
}
