//! The Kubernetes CertificateSigningRequest reconciler: CSRs whose signer
//! name is one of our issuers ([`signer_name`]), signed through the same
//! issuer gate, policies, signer and host checks as CertificateRequests
//! (`crate::issuer_gate`, `crate::signing`, `crate::outcome`); only reading
//! the CSR ([`plugin_request`]) and writing its status ([`status`]) are its
//! own.

mod decide;
mod plugin_request;
mod reconcile;
mod reference;
mod retries;
mod signer_name;
mod status;

use std::hash::{DefaultHasher, Hash, Hasher};

use futures::channel::mpsc::UnboundedReceiver;
use futures::{StreamExt, stream};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use kube::runtime::controller::Config;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};
use kube::{Api, ResourceExt};

pub use reconcile::{error_policy, reconcile};
pub use retries::RetryClocks;

use crate::issuer_key::IssuerKey;
use crate::options::Options;

/// The controller of CSRs, with its triggers: a CSR is reconciled when it
/// is created, approved or denied, when its issuer's state changes, and
/// when a retry is due. Our own status writes do not trigger it.
pub fn controller(
    client: &kube::Client,
    options: &Options,
    issuer_changes: UnboundedReceiver<IssuerKey>,
) -> Controller<CertificateSigningRequest> {
    let (reader, writer) = reflector::store();
    // Every CSR of the cluster: a field selector cannot match a prefix of
    // spec.signerName. Others are dropped by `decide` without an API call.
    let csrs = reflector(
        writer,
        watcher(
            Api::<CertificateSigningRequest>::all(client.clone()),
            watcher::Config::default().any_semantic(),
        ),
    )
    .default_backoff()
    .applied_objects()
    .predicate_filter(approval, Default::default());
    let controller = Controller::for_stream(csrs, reader)
        .with_config(Config::default().concurrency(options.concurrency));
    let cache = controller.store();
    controller.reconcile_on(
        issuer_changes.flat_map(move |issuer| stream::iter(waiting_for(&cache, &issuer))),
    )
}

/// What, of a CSR, calls for a reconcile: the object itself (its uid) and
/// its approval.
fn approval(csr: &CertificateSigningRequest) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    csr.uid().hash(&mut hasher);
    for condition in csr
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
    {
        if condition.type_ == decide::condition_type::APPROVED
            || condition.type_ == decide::condition_type::DENIED
        {
            (&condition.type_, &condition.status).hash(&mut hasher);
        }
    }
    Some(hasher.finish())
}

/// How many cached CSRs are ours and not final yet: the controller's backlog.
pub fn backlog(cache: &Store<CertificateSigningRequest>) -> usize {
    cache
        .state()
        .iter()
        .filter(|csr| {
            signer_name::issuer_of(&csr.spec.signer_name).is_some() && !decide::is_final(csr)
        })
        .count()
}

/// The cached CSRs for `issuer` that are not final yet.
fn waiting_for(
    cache: &Store<CertificateSigningRequest>,
    issuer: &IssuerKey,
) -> Vec<ObjectRef<CertificateSigningRequest>> {
    cache
        .state()
        .iter()
        .filter(|csr| {
            signer_name::issuer_of(&csr.spec.signer_name).as_ref() == Some(issuer)
                && !decide::is_final(csr)
        })
        .map(|csr| ObjectRef::from_obj(&**csr))
        .collect()
}
