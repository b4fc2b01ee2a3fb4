//! What one issuer's plugin is allowed: the keys its issuer grants and its limits.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasm_issuer_pki::GrantedKey;

use crate::Limits;

/// The keys an issuer grants its plugin, by the name the plugin opens them with.
/// Nothing else is reachable from inside the sandbox.
#[derive(Clone, Default)]
pub struct Grants {
    keys: BTreeMap<String, Arc<GrantedKey>>,
}

impl Grants {
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants `key` under `name`, replacing an earlier grant of that name.
    pub fn grant_key(&mut self, name: impl Into<String>, key: Arc<GrantedKey>) -> &mut Self {
        self.keys.insert(name.into(), key);
        self
    }

    pub(crate) fn key(&self, name: &str) -> Option<&Arc<GrantedKey>> {
        self.keys.get(name)
    }

    /// The granted names, for error messages.
    pub fn key_names(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

/// Everything a call's sandbox is made of besides the plugin itself.
#[derive(Clone, Default)]
pub struct Sandbox {
    pub grants: Grants,
    pub limits: Limits,
}
