//! One control plane per test binary, shared by its tests, a namespace each.
//!
//! Starting a control plane costs seconds of CPU (kube-apiserver's start-up
//! hooks, CRD establishment, informer sync); a test costs milliseconds. On a
//! two-core machine, one per test would make the suite slow and its timings
//! noisy, so each test binary starts one on first use and its tests isolate
//! themselves by namespace. Tests that change cluster-scoped state in ways
//! others would see should start their own with [`ControlPlane::start`].
//!
//! Tests that approve or deny CertificateRequests themselves use
//! [`shared_without_auto_approval`] instead: a second control plane per test
//! binary, started only if asked for, where cert-manager's approver does not run.
//!
//! A `static` is never dropped: the shared control plane is stopped by its
//! supervisor process when the test binary exits (see `process`).

use std::sync::atomic::{AtomicU32, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::OnceCell;

use crate::{ControlPlane, Error, Options};

static SHARED: OnceCell<ControlPlane> = OnceCell::const_new();
static SHARED_WITHOUT_AUTO_APPROVAL: OnceCell<ControlPlane> = OnceCell::const_new();

/// The test binary's control plane, started by the first caller.
/// cert-manager's approver runs in it and approves every CertificateRequest.
///
/// If starting fails, the error goes to that caller and the next caller tries again.
pub async fn shared() -> Result<&'static ControlPlane, Error> {
    SHARED.get_or_try_init(ControlPlane::start).await
}

/// The test binary's control plane *without* cert-manager's approver
/// ([`Options::auto_approve`] `false`), started by the first caller, separate
/// from [`shared`]'s. CertificateRequests stay unapproved until the test sets
/// the `Approved` or `Denied` condition itself (on the `status` subresource,
/// as approver-policy would), so tests can check what happens before approval
/// and after a denial.
///
/// It costs a second control plane (seconds of CPU), so only test binaries
/// whose tests need it should ask for it. Errors as for [`shared`].
pub async fn shared_without_auto_approval() -> Result<&'static ControlPlane, Error> {
    SHARED_WITHOUT_AUTO_APPROVAL
        .get_or_try_init(|| {
            ControlPlane::start_with(Options {
                auto_approve: false,
            })
        })
        .await
}

/// Creates a namespace named `<prefix>-<n>`, new in this process, and returns its name.
///
/// Namespaces are never deleted: without kube-controller-manager a deleted
/// namespace would stay `Terminating` forever, and the cluster dies with the tests anyway.
pub async fn unique_namespace(client: &kube::Client, prefix: &str) -> Result<String, Error> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await?;
    Ok(name)
}
