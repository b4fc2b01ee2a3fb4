//! Hostile fixture: `sign` never returns, so the host's CPU deadline must stop it.

use wasm_issuer_plugin_api::{CertificateRequest, Error, Issued, Issuer, Signer};

struct Spin;

impl Signer for Spin {
    fn check(_: Issuer) -> Result<(), Error> {
        Ok(())
    }

    fn sign(_: CertificateRequest) -> Result<Issued, Error> {
        loop {
            std::hint::spin_loop();
        }
    }
}

wasm_issuer_plugin_api::export_signer!(Spin);
