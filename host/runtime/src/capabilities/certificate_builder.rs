//! `certificate-builder`: issue a certificate from a template with a granted
//! key. The host encodes and signs, so a plugin in any language can be a CA
//! without an X.509 library, and signing runs at native speed.

use wasmtime::component::Resource;

use crate::bindings::signer::wasm_issuer::plugin::certificate_builder::{
    CertificateTemplate, Host,
};
use crate::capabilities::keys::KeyHandle;
use crate::convert;
use crate::state::PluginState;

impl Host for PluginState {
    fn issue(
        &mut self,
        template: CertificateTemplate,
        issuer_key: Resource<KeyHandle>,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let key = self.granted_key(&issuer_key)?;
        let template = convert::template(template);
        Ok(wasm_issuer_pki::issue(&template, &key).map_err(|error| error.to_string()))
    }
}
