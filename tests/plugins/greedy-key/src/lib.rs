//! Test fixture: opens the key its configuration names (`{"key": "..."}`) and
//! issues with it, to show the error for a key the issuer does not grant.

use serde::Deserialize;
use wasm_issuer_plugin_api::{CertificateRequest, Error, Issued, Issuer, Key, Signer};

#[derive(Deserialize)]
struct Config {
    key: String,
}

struct GreedyKey;

impl Signer for GreedyKey {
    fn check(issuer: Issuer) -> Result<(), Error> {
        Key::open(&issuer.config::<Config>()?.key).map(drop)
    }

    fn sign(request: CertificateRequest) -> Result<Issued, Error> {
        Key::open(&request.issuer.config::<Config>()?.key)?.sign_request(&request)
    }
}

wasm_issuer_plugin_api::export_signer!(GreedyKey);
