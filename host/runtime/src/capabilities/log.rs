//! `log`: plugin log lines go to the host's tracing, under the target
//! `plugin`, tagged with the plugin's digest and inside the caller's span
//! (which names the request).

use crate::bindings::signer::wasm_issuer::plugin::log::{Host, Level};
use crate::state::PluginState;

/// Longest message kept; the rest is cut so a plugin cannot flood the logs.
const MAX_MESSAGE_CHARS: usize = 4096;
/// Lines one call may log before further lines are dropped.
const MAX_LINES_PER_CALL: u32 = 256;

/// Counts a call's log lines, so one chatty call cannot flood the host's logs.
#[derive(Default)]
pub(crate) struct LogBudget {
    lines: u32,
}

impl LogBudget {
    /// Whether the next line may be written; says so once when the budget runs out.
    fn take(&mut self, plugin: &str) -> bool {
        self.lines = self.lines.saturating_add(1);
        if self.lines == MAX_LINES_PER_CALL + 1 {
            tracing::warn!(target: "plugin", plugin, "plugin logged over {MAX_LINES_PER_CALL} lines in one call; dropping the rest");
        }
        self.lines <= MAX_LINES_PER_CALL
    }
}

fn truncated(message: &str) -> &str {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => &message[..end],
        None => message,
    }
}

impl Host for PluginState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        if !self.log.take(&self.plugin) {
            return Ok(());
        }
        let plugin = self.plugin.as_str();
        let message = truncated(&message);
        match level {
            Level::Trace => tracing::trace!(target: "plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "plugin", plugin, "{message}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        assert_eq!(truncated(&long).chars().count(), MAX_MESSAGE_CHARS);
        assert_eq!(truncated("short"), "short");
    }

    #[test]
    fn budget_stops_after_the_limit() {
        let mut budget = LogBudget::default();
        let allowed = (0..MAX_LINES_PER_CALL + 5)
            .filter(|_| budget.take("p"))
            .count();
        assert_eq!(allowed, MAX_LINES_PER_CALL as usize);
    }
}
