//! The issuer reconciler, one for each kind: it loads the plugin, runs its
//! check, and sets Ready. It runs again on a change of the spec, of a
//! referenced ConfigMap or Secret, when signing reports the issuer broken,
//! and every `spec.checkInterval`.

mod kind;
mod load;
mod reconcile;
mod source;
mod status;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::channel::mpsc::UnboundedReceiver;
use futures::{StreamExt, future, stream};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, predicates, reflector, watcher};

pub use kind::{IssuerKind, key_reference};
pub use reconcile::{error_policy, reconcile};

use crate::api::{IssuerSpec, PluginSpec};
use crate::issuer_key::IssuerKey;
use crate::issuer_states::IssuerStates;
use crate::options::Options;

/// The controller of issuers of kind `K`, with its triggers.
pub fn controller<K: IssuerKind>(
    client: &kube::Client,
    options: &Options,
    states: Arc<IssuerStates>,
    rechecks: UnboundedReceiver<IssuerKey>,
    file_changes: UnboundedReceiver<PathBuf>,
) -> Controller<K> {
    let (reader, writer) = reflector::store();
    // The status we write must not trigger another reconcile: only spec
    // changes (generation) do. The cache still sees every change.
    let issuers = reflector(
        writer,
        watcher(Api::<K>::all(client.clone()), any_version()),
    )
    .default_backoff()
    .inspect(move |event| {
        // A deleted issuer's plugin is dropped; requests wait for a new one.
        if let Ok(watcher::Event::Delete(issuer)) = event {
            states.remove(&issuer.key());
        }
    })
    .applied_objects()
    .predicate_filter(predicates::generation, Default::default());
    let controller = Controller::for_stream(issuers, reader);
    let watched = K::watched_namespace(options);
    let by_secret = controller.store();
    let by_config_map = controller.store();
    let by_file = controller.store();
    let options = options.clone();
    let secret_options = options.clone();
    controller
        .watches_stream(
            metadata::<Secret>(client, watched.as_deref()),
            move |secret| {
                referring(&by_secret, &secret, &secret_options, |spec, name| {
                    spec.keys.iter().any(|grant| grant.secret_name == name)
                })
            },
        )
        .watches_stream(
            metadata::<ConfigMap>(client, watched.as_deref()),
            move |config_map| {
                referring(&by_config_map, &config_map, &options, |spec, name| {
                    plugin_specs(spec).any(|plugin| {
                        plugin
                            .config_map
                            .as_ref()
                            .is_some_and(|source| source.name == name)
                    })
                })
            },
        )
        .reconcile_on(rechecks.filter_map(|key| future::ready(K::ref_of(&key))))
        .reconcile_on(file_changes.flat_map(move |path| stream::iter(reading(&by_file, &path))))
}

fn any_version() -> watcher::Config {
    watcher::Config::default().any_semantic()
}

/// Changes of objects of kind `T` in `namespace` (all if None), metadata
/// only: an issuer only needs to know that a Secret changed, and caching
/// every Secret's data would cost memory and widen what a leak exposes.
fn metadata<T>(
    client: &kube::Client,
    namespace: Option<&str>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<T>, watcher::Error>> + Send + 'static
where
    T: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
{
    let api = match namespace {
        Some(namespace) => Api::<PartialObjectMeta<T>>::namespaced(client.clone(), namespace),
        None => Api::<PartialObjectMeta<T>>::all(client.clone()),
    };
    watcher(api, any_version())
        .default_backoff()
        .touched_objects()
}

/// Every plugin of an issuer: the signer, then the policies.
fn plugin_specs(spec: &IssuerSpec) -> impl Iterator<Item = &PluginSpec> {
    std::iter::once(&spec.plugin).chain(spec.policies.iter().map(|policy| &policy.plugin))
}

/// The issuers of the cache with a plugin in the file at `path`.
fn reading<K: IssuerKind>(issuers: &Store<K>, path: &Path) -> Vec<ObjectRef<K>> {
    issuers
        .state()
        .iter()
        .filter(|issuer| {
            plugin_specs(issuer.issuer_spec()).any(|plugin| {
                plugin
                    .file
                    .as_ref()
                    .is_some_and(|file| Path::new(&file.path) == path)
            })
        })
        .map(|issuer| ObjectRef::from_obj(&**issuer))
        .collect()
}

/// The issuers of the cache that refer to `object` (by `refers`, given its name).
fn referring<K: IssuerKind, T>(
    issuers: &Store<K>,
    object: &PartialObjectMeta<T>,
    options: &Options,
    refers: impl Fn(&IssuerSpec, &str) -> bool,
) -> Vec<ObjectRef<K>> {
    let namespace = object.metadata.namespace.as_deref().unwrap_or_default();
    let name = object.metadata.name.as_deref().unwrap_or_default();
    issuers
        .state()
        .iter()
        .filter(|issuer| {
            issuer.resource_namespace(options) == namespace && refers(issuer.issuer_spec(), name)
        })
        .map(|issuer| ObjectRef::from_obj(&**issuer))
        .collect()
}
