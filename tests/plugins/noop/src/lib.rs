//! Benchmark fixture: the cheapest possible calls, to time instantiate + call.
//!
//! `sign` also says how many calls its instance has served, which is 1 as
//! long as every call gets a fresh instance whose memory starts from the
//! module's image (the pool resets a reused slot in place: tests check it).

use std::sync::atomic::{AtomicU32, Ordering};

use wasm_issuer_plugin_api::{CertificateRequest, Error, Issued, Issuer, Signer};

/// Calls served by this instance, counted twice: in zeroed memory (`.bss`)
/// and in memory the module's image initialises (`.data`, from 1000).
static ZEROED: AtomicU32 = AtomicU32::new(0);
static INITIALISED: AtomicU32 = AtomicU32::new(1000);

struct Noop;

impl Signer for Noop {
    fn check(_: Issuer) -> Result<(), Error> {
        Ok(())
    }

    fn sign(_: CertificateRequest) -> Result<Issued, Error> {
        let zeroed = ZEROED.fetch_add(1, Ordering::Relaxed) + 1;
        let initialised = INITIALISED.fetch_add(1, Ordering::Relaxed) + 1 - 1000;
        Err(Error::Permanent(format!(
            "noop: call {zeroed} of this instance (initialised data says {initialised})"
        )))
    }
}

wasm_issuer_plugin_api::export_signer!(Noop);
