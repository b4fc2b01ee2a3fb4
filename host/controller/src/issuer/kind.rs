//! What differs between the two issuer kinds, so that one reconciler serves both.

use std::fmt::Debug;

use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{IssuerResource, WasmClusterIssuer, WasmIssuer};
use crate::issuer_key::IssuerKey;
use crate::options::Options;

pub trait IssuerKind:
    IssuerResource + Clone + Debug + DeserializeOwned + Serialize + Send + Sync + 'static
{
    fn key(&self) -> IssuerKey;

    /// Where this issuer's ConfigMaps and Secrets live.
    fn resource_namespace(&self, options: &Options) -> String;

    /// The one namespace whose ConfigMaps and Secrets issuers of this kind
    /// may use; None for any namespace.
    fn watched_namespace(options: &Options) -> Option<String>;

    /// The API to write this issuer's status through.
    fn api_for(&self, client: kube::Client) -> Api<Self>;

    /// The object `key` names, if it is of this kind.
    fn ref_of(key: &IssuerKey) -> Option<ObjectRef<Self>>;
}

impl IssuerKind for WasmIssuer {
    fn key(&self) -> IssuerKey {
        IssuerKey::Namespaced {
            namespace: self.namespace().unwrap_or_default(),
            name: self.name_any(),
        }
    }

    fn resource_namespace(&self, _: &Options) -> String {
        self.namespace().unwrap_or_default()
    }

    fn watched_namespace(_: &Options) -> Option<String> {
        None
    }

    fn api_for(&self, client: kube::Client) -> Api<Self> {
        Api::namespaced(client, &self.namespace().unwrap_or_default())
    }

    fn ref_of(key: &IssuerKey) -> Option<ObjectRef<Self>> {
        match key {
            IssuerKey::Namespaced { namespace, name } => {
                Some(ObjectRef::new(name).within(namespace))
            }
            IssuerKey::Cluster { .. } => None,
        }
    }
}

impl IssuerKind for WasmClusterIssuer {
    fn key(&self) -> IssuerKey {
        IssuerKey::Cluster {
            name: self.name_any(),
        }
    }

    fn resource_namespace(&self, options: &Options) -> String {
        options.cluster_resource_namespace.clone()
    }

    fn watched_namespace(options: &Options) -> Option<String> {
        Some(options.cluster_resource_namespace.clone())
    }

    fn api_for(&self, client: kube::Client) -> Api<Self> {
        Api::all(client)
    }

    fn ref_of(key: &IssuerKey) -> Option<ObjectRef<Self>> {
        match key {
            IssuerKey::Cluster { name } => Some(ObjectRef::new(name)),
            IssuerKey::Namespaced { .. } => None,
        }
    }
}

/// An ObjectReference to the issuer named by `key`, for Events about it
/// raised while handling one of its requests.
pub fn key_reference(key: &IssuerKey) -> k8s_openapi::api::core::v1::ObjectReference {
    k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(WasmIssuer::api_version(&()).into_owned()),
        kind: Some(key.kind().to_owned()),
        name: Some(key.name().to_owned()),
        namespace: key.namespace().map(str::to_owned),
        ..Default::default()
    }
}
