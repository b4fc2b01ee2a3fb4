//! Hostile fixture: `sign` tries to hold 4 GiB, so the host's memory cap must refuse it.

use std::hint::black_box;

use wasm_issuer_plugin_api::{CertificateRequest, Error, Issued, Issuer, Signer};

const CHUNK: usize = 64 << 20;

struct Hog;

impl Signer for Hog {
    fn check(_: Issuer) -> Result<(), Error> {
        Ok(())
    }

    fn sign(_: CertificateRequest) -> Result<Issued, Error> {
        // Chunks rather than one Vec: a single 4 GiB allocation would fail on
        // the 32-bit address space before memory ever grew.
        let hoard: Vec<Vec<u8>> = (0..64).map(|_| black_box(vec![1u8; CHUNK])).collect();
        let held: usize = black_box(&hoard).iter().map(Vec::len).sum();
        Err(Error::Permanent(format!(
            "allocated {held} bytes unchecked"
        )))
    }
}

wasm_issuer_plugin_api::export_signer!(Hog);
