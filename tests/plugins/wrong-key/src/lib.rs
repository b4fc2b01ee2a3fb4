//! Hostile fixture: issues a proper certificate with the `ca` key, but for the
//! CA's own public key instead of the CSR's; the host must notice.

use wasm_issuer_plugin_api::{
    CertificateRequest, CertificateTemplate, Error, Issued, Issuer, Key, Signer,
};

struct WrongKey;

impl Signer for WrongKey {
    fn check(_: Issuer) -> Result<(), Error> {
        Ok(())
    }

    fn sign(request: CertificateRequest) -> Result<Issued, Error> {
        let key = Key::open("ca")?;
        let template = CertificateTemplate {
            public_key: key.public_key().spki_der,
            ..CertificateTemplate::from_request(&request)
        };
        Ok(key.issued(key.issue(&template)?))
    }
}

wasm_issuer_plugin_api::export_signer!(WrongKey);
