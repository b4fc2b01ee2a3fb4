//! Hostile fixture: `sign` panics, which traps (plugins build with panic=abort).

use wasm_issuer_plugin_api::{CertificateRequest, Error, Issued, Issuer, Signer};

struct Panic;

impl Signer for Panic {
    fn check(_: Issuer) -> Result<(), Error> {
        Ok(())
    }

    fn sign(request: CertificateRequest) -> Result<Issued, Error> {
        panic!("fixture panic while signing {}", request.name);
    }
}

wasm_issuer_plugin_api::export_signer!(Panic);
