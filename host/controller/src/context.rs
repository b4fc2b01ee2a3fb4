//! What every reconciler shares.

use std::sync::Arc;

use kube::runtime::reflector::{ObjectRef, Store};

use wasm_issuer_sources::file::FileWatcher;

use crate::api::{WasmClusterIssuer, WasmIssuer};
use crate::certificate_signing_request::RetryClocks;
use crate::events::Events;
use crate::issuer_key::IssuerKey;
use crate::issuer_states::{IssuerState, IssuerStates};
use crate::metrics::Metrics;
use crate::options::Options;
use crate::plugins::Plugins;

pub struct Context {
    pub client: kube::Client,
    pub options: Options,
    pub plugins: Plugins,
    pub metrics: Arc<Metrics>,
    pub issuers: Arc<IssuerStates>,
    pub events: Events,
    /// Plugin files being watched; changes reconcile the issuers using them.
    pub files: FileWatcher,
    /// The issuer controllers' caches: whether an issuer exists, and its generation.
    pub namespaced_issuers: Store<WasmIssuer>,
    pub cluster_issuers: Store<WasmClusterIssuer>,
    /// When retrying Kubernetes CSRs began failing.
    pub csr_retries: RetryClocks,
}

/// An issuer as the API (through the cache) currently has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerObject {
    pub uid: String,
    pub generation: i64,
}

impl Context {
    /// The issuer named by `key` as the cache has it, and the state its
    /// reconciler recorded for that very object.
    pub fn issuer_lookup(&self, key: &IssuerKey) -> (Option<IssuerObject>, Option<IssuerState>) {
        let object = self.issuer_object(key);
        let state = object
            .as_ref()
            .and_then(|object| self.issuers.get(key, &object.uid));
        (object, state)
    }

    /// The issuer named by `key` as the cache has it; None if it does not exist.
    fn issuer_object(&self, key: &IssuerKey) -> Option<IssuerObject> {
        let (uid, generation) = match key {
            IssuerKey::Namespaced { namespace, name } => {
                let issuer = self
                    .namespaced_issuers
                    .get(&ObjectRef::new(name).within(namespace))?;
                (issuer.metadata.uid.clone(), issuer.metadata.generation)
            }
            IssuerKey::Cluster { name } => {
                let issuer = self.cluster_issuers.get(&ObjectRef::new(name))?;
                (issuer.metadata.uid.clone(), issuer.metadata.generation)
            }
        };
        Some(IssuerObject {
            uid: uid.unwrap_or_default(),
            generation: generation.unwrap_or_default(),
        })
    }
}
