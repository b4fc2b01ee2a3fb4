// The stamp fixtures' shared body: a CA like the `ca` plugin that also
// writes its version into every certificate, as the extension
// 1.3.6.1.4.1.59999.1 (a UTF8String), so a test can tell which version
// signed. Each fixture crate defines `STAMP` and includes this file.

use wasm_issuer_plugin_api::{
    CertificateRequest, CertificateTemplate, Error, Extension, Issued, Issuer, Key, Signer,
};

/// The OID of the version stamp.
const STAMP_OID: &str = "1.3.6.1.4.1.59999.1";

struct Stamp;

impl Signer for Stamp {
    fn check(_: Issuer) -> Result<(), Error> {
        Key::open("ca").map(drop)
    }

    fn sign(request: CertificateRequest) -> Result<Issued, Error> {
        let key = Key::open("ca")?;
        let mut template = CertificateTemplate::from_request(&request);
        template.extensions.push(Extension {
            oid: STAMP_OID.to_owned(),
            critical: false,
            value: utf8_string(STAMP),
        });
        Ok(key.issued(key.issue(&template)?))
    }
}

/// The DER of a short UTF8String.
fn utf8_string(text: &str) -> Vec<u8> {
    let mut der = vec![0x0c, u8::try_from(text.len()).unwrap_or(u8::MAX)];
    der.extend_from_slice(text.as_bytes());
    der
}

wasm_issuer_plugin_api::export_signer!(Stamp);
