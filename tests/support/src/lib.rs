//! Fixtures for the workspace's tests.
//!
//! Keys, CAs and CSRs come from the real `openssl` binary, never from our own
//! code, so a bug in our X.509 handling cannot hide itself. Every certificate a
//! test issues is checked with `openssl verify` too. A missing `openssl` or a
//! plugin that was not built fails the test with a message saying what to do.

mod openssl;
mod plugins;

pub use openssl::{Ca, CsrSpec, KeyKind, Workdir};
pub use plugins::{plugin, test_plugin};
