//! Fixtures for the workspace's tests.
//!
//! Keys, CAs and CSRs come from the real `openssl` binary, never from our own
//! code, so a bug in our X.509 handling cannot hide itself. Every certificate a
//! test issues is checked with `openssl verify` too. A missing `openssl` or a
//! plugin that was not built fails the test with a message saying what to do.

mod certificate;
mod http;
mod openssl;
mod plugins;
mod runner;

use std::time::{SystemTime, UNIX_EPOCH};

pub use certificate::CertificateShape;
pub use http::{free_address, http_get};
pub use openssl::{Ca, CsrSpec, KeyForm, KeyKind, Workdir, der_of_pem, pem};
pub use plugins::{plugin, test_plugin};
pub use runner::{LocalRunner, RunOutput};

/// Seconds since the Unix epoch, the clock certificate validity is counted in.
pub fn now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_secs()).expect("fits")
}
