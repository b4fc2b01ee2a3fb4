//! The clock behind plugin deadlines: a thread that advances the engine's
//! epoch every [`TICK`], so a guest stuck in a loop traps at its deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use wasmtime::Engine;

/// Granularity of deadlines. Spin uses 10 ms too: fine enough for per-request
/// timeouts of a second or so, and the ticker costs nothing measurable.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Epoch ticks that guarantee at least `timeout` before the deadline fires.
pub(crate) fn ticks_for(timeout: Duration) -> u64 {
    let ticks = timeout.as_nanos().div_ceil(TICK.as_nanos());
    // +1: the current epoch may be about to advance, cutting the first tick short.
    u64::try_from(ticks).unwrap_or(u64::MAX - 1).max(1) + 1
}

/// Runs for as long as the runtime lives; stops and joins on drop.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::Builder::new().name("wasm-epoch".into()).spawn({
            let stop = stop.clone();
            move || {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(TICK);
                    engine.increment_epoch();
                }
            }
        })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread only sleeps and increments: it cannot have panicked
            // in a way worth reporting from a destructor.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_covers_the_whole_timeout() {
        assert_eq!(ticks_for(Duration::from_millis(10)), 2);
        assert_eq!(ticks_for(Duration::from_millis(15)), 3);
        assert_eq!(ticks_for(Duration::from_secs(2)), 201);
        assert_eq!(ticks_for(Duration::ZERO), 2);
    }
}
