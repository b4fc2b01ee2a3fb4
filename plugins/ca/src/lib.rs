//! The reference CA signer: cert-manager's in-tree CA issuer, signing with a
//! key the issuer grants (tls.crt/tls.key from a Secret), and doing better
//! where that one falls short: a leaf never outlives its CA, and an expired
//! or not-yet-valid CA is refused with a clear issuer condition.
//!
//! Configuration: `{"key": "ca"}`, all optional; the key defaults to `ca`.

mod rules;

use serde::Deserialize;
use wasm_issuer_plugin_api::{
    CertificateRequest, CertificateTemplate, Error, Issued, Issuer, Key, KeyCertificate, Signer,
    format_time, log, now,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The name under which the issuer grants the CA's key.
    #[serde(default = "default_key")]
    key: String,
}

fn default_key() -> String {
    "ca".to_owned()
}

struct Ca;

impl Signer for Ca {
    fn check(issuer: Issuer) -> Result<(), Error> {
        open_ca(&issuer).map(drop)
    }

    fn sign(request: CertificateRequest) -> Result<Issued, Error> {
        let (key, ca) = open_ca(&request.issuer)?;
        rules::consistent_with_csr(
            request.csr.requested_is_ca,
            &request.csr.requested_usages,
            request.is_ca,
            &request.usages,
        )
        .map_err(Error::InvalidRequest)?;
        let mut template = CertificateTemplate::from_request(&request);
        if template.clamp_not_after(ca.not_after) {
            log::info(&format!(
                "{}/{}: NotAfter clamped to the CA's, {}",
                request.namespace,
                request.name,
                format_time(ca.not_after)
            ));
        }
        let leaf = key.issue(&template)?;
        Ok(key.issued(leaf))
    }
}

/// Opens the configured key and its certificate, which must be a CA valid now.
fn open_ca(issuer: &Issuer) -> Result<(Key, KeyCertificate), Error> {
    let config: Config = issuer.config()?;
    let key = Key::open(&config.key)?;
    let certificate =
        rules::usable_ca(key.name(), key.certificate(), now()).map_err(Error::IssuerNotReady)?;
    Ok((key, certificate))
}

wasm_issuer_plugin_api::export_signer!(Ca);
