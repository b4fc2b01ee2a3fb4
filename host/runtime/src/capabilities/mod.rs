//! Host capabilities: what a plugin can import. Each is its own module and is
//! linked only into the worlds that list it.

pub(crate) mod certificate_builder;
pub(crate) mod keys;
pub(crate) mod log;

use crate::bindings::types;
use crate::state::PluginState;

/// The `types` interface has only types; its host side is empty.
impl types::Host for PluginState {}
