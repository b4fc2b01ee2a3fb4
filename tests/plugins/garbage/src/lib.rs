//! Hostile fixture: returns bytes that are no certificate as the chain.

use wasm_issuer_plugin_api::{CertificateRequest, Error, Issued, Issuer, Signer};

struct Garbage;

impl Signer for Garbage {
    fn check(_: Issuer) -> Result<(), Error> {
        Ok(())
    }

    fn sign(_: CertificateRequest) -> Result<Issued, Error> {
        // Pseudo-random (Knuth's multiplicative hash), so no WASI random import.
        let noise = (0u32..512).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8);
        Ok(Issued {
            chain: vec![noise.collect()],
            ca: None,
        })
    }
}

wasm_issuer_plugin_api::export_signer!(Garbage);
