//! The CertificateRequest reconciler: the contract's order ([`decide`]),
//! the signing (shared with Kubernetes CSRs: `crate::signing`,
//! `crate::outcome`), and status written by server-side apply ([`status`]).

mod decide;
mod plugin_request;
mod reconcile;
mod status;

use std::hash::{DefaultHasher, Hash, Hasher};

use futures::channel::mpsc::UnboundedReceiver;
use futures::{StreamExt, stream};
use kube::runtime::controller::Config;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};
use kube::{Api, ResourceExt};

pub use reconcile::{RETRYING_SINCE, error_policy, reconcile};

use crate::api::{CertificateRequest, condition_type};
use crate::issuer_key::IssuerKey;
use crate::options::Options;

/// The controller of CertificateRequests, with its triggers: a request is
/// reconciled when it is created, approved or denied, when its issuer's
/// state changes, and when a retry is due. Our own status writes do not
/// trigger it (they would make it sign again at once).
pub fn controller(
    client: &kube::Client,
    options: &Options,
    issuer_changes: UnboundedReceiver<IssuerKey>,
) -> Controller<CertificateRequest> {
    let (reader, writer) = reflector::store();
    let requests = reflector(
        writer,
        watcher(
            Api::<CertificateRequest>::all(client.clone()),
            watcher::Config::default().any_semantic(),
        ),
    )
    .default_backoff()
    .applied_objects()
    .predicate_filter(approval, Default::default());
    let controller = Controller::for_stream(requests, reader)
        .with_config(Config::default().concurrency(options.concurrency));
    let cache = controller.store();
    controller.reconcile_on(
        issuer_changes.flat_map(move |issuer| stream::iter(waiting_for(&cache, &issuer))),
    )
}

/// What, of a request, calls for a reconcile: the object itself (its uid)
/// and its approval.
fn approval(request: &CertificateRequest) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    request.uid().hash(&mut hasher);
    request.has_true(condition_type::APPROVED).hash(&mut hasher);
    request.has_true(condition_type::DENIED).hash(&mut hasher);
    Some(hasher.finish())
}

/// How many cached requests are ours and not final yet: the controller's
/// backlog.
pub fn backlog(cache: &Store<CertificateRequest>) -> usize {
    cache
        .state()
        .iter()
        .filter(|request| issuer_of(request).is_some() && !decide::is_final(request))
        .count()
}

fn issuer_of(request: &CertificateRequest) -> Option<IssuerKey> {
    let namespace = request.namespace().unwrap_or_default();
    IssuerKey::of_request(&namespace, &request.spec.issuer_ref)
}

/// The cached requests for `issuer` that are not final yet.
fn waiting_for(
    cache: &Store<CertificateRequest>,
    issuer: &IssuerKey,
) -> Vec<ObjectRef<CertificateRequest>> {
    cache
        .state()
        .iter()
        .filter(|request| issuer_of(request).as_ref() == Some(issuer) && !decide::is_final(request))
        .map(|request| ObjectRef::from_obj(&**request))
        .collect()
}
