//! Benchmark fixture: the cheapest possible calls, to time instantiate + call.

use wasm_issuer_plugin_api::{CertificateRequest, Error, Issued, Issuer, Signer};

struct Noop;

impl Signer for Noop {
    fn check(_: Issuer) -> Result<(), Error> {
        Ok(())
    }

    fn sign(_: CertificateRequest) -> Result<Issued, Error> {
        Err(Error::Permanent("noop".to_owned()))
    }
}

wasm_issuer_plugin_api::export_signer!(Noop);
