//! `keys`: handles to the private keys an issuer grants. The key material
//! stays in the host; the guest holds a table index and asks us to sign.

use std::sync::Arc;

use wasm_issuer_pki::GrantedKey;
use wasmtime::component::Resource;

use crate::bindings::signer::wasm_issuer::plugin::keys::{Host, HostKey, KeyCertificate};
use crate::bindings::types::PublicKey;
use crate::convert;
use crate::state::PluginState;

/// Open handles one call may hold: a plugin needs one or two.
const MAX_OPEN_KEYS: usize = 64;

/// What a guest's `key` handle points to in the store's resource table.
pub struct KeyHandle(pub(crate) Arc<GrantedKey>);

impl PluginState {
    pub(crate) fn granted_key(
        &self,
        handle: &Resource<KeyHandle>,
    ) -> wasmtime::Result<Arc<GrantedKey>> {
        Ok(self.table.get(handle)?.0.clone())
    }
}

impl Host for PluginState {}

impl HostKey for PluginState {
    fn open(&mut self, name: String) -> wasmtime::Result<Result<Resource<KeyHandle>, String>> {
        let Some(key) = self.grants.key(&name).cloned() else {
            let granted: Vec<&str> = self.grants.key_names().collect();
            let granted = if granted.is_empty() {
                "none".to_owned()
            } else {
                granted.join(", ")
            };
            return Ok(Err(format!(
                "key {name:?} is not granted to this issuer (granted: {granted})"
            )));
        };
        if self.open_keys >= MAX_OPEN_KEYS {
            return Ok(Err(format!(
                "too many open keys (at most {MAX_OPEN_KEYS} per call)"
            )));
        }
        self.open_keys += 1;
        Ok(Ok(self.table.push(KeyHandle(key))?))
    }

    fn public_key(&mut self, handle: Resource<KeyHandle>) -> wasmtime::Result<PublicKey> {
        Ok(convert::public_key(
            &self.granted_key(&handle)?.public_key(),
        ))
    }

    fn certificate(
        &mut self,
        handle: Resource<KeyHandle>,
    ) -> wasmtime::Result<Option<KeyCertificate>> {
        let key = self.granted_key(&handle)?;
        Ok(key.certificate().map(|cert| KeyCertificate {
            der: cert.der.clone(),
            subject: cert.subject.clone(),
            not_before: cert.not_before,
            not_after: cert.not_after,
            is_ca: cert.is_ca,
        }))
    }

    fn chain(&mut self, handle: Resource<KeyHandle>) -> wasmtime::Result<Vec<Vec<u8>>> {
        Ok(self.granted_key(&handle)?.chain().to_vec())
    }

    fn ca(&mut self, handle: Resource<KeyHandle>) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.granted_key(&handle)?.ca().map(<[u8]>::to_vec))
    }

    fn signature_algorithm(&mut self, handle: Resource<KeyHandle>) -> wasmtime::Result<String> {
        Ok(self
            .granted_key(&handle)?
            .signature_algorithm_oid()
            .to_owned())
    }

    fn sign(
        &mut self,
        handle: Resource<KeyHandle>,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        Ok(self
            .granted_key(&handle)?
            .sign(&data)
            .map_err(|error| error.to_string()))
    }

    fn drop(&mut self, handle: Resource<KeyHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        self.open_keys = self.open_keys.saturating_sub(1);
        Ok(())
    }
}
