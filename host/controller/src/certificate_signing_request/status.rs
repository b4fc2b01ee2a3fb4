//! Writing a CSR's status through its `status` subresource: the issued
//! chain in `status.certificate`, or a `Failed=True` condition. Server-side
//! apply with our field manager: the approver's Approved condition is not
//! ours and stays as it is. Both writes are final, so each happens once.

use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::{Value, json};

use super::decide::condition_type;
use crate::options::FIELD_MANAGER;

/// Reasons of the `Failed` condition.
pub mod failed_reason {
    /// The requester may not use the namespaced issuer (cert-manager's reason).
    pub const DENIED_REFERENCE: &str = "DeniedReference";
    /// The CSR itself is wrong: it will never be signed as it is.
    pub const INVALID_REQUEST: &str = "InvalidRequest";
    /// The issuer refused to sign it, or gave up retrying.
    pub const SIGNING_ERROR: &str = "SigningError";
}

pub async fn issued(
    client: &kube::Client,
    csr: &CertificateSigningRequest,
    chain_pem: String,
) -> Result<(), kube::Error> {
    apply(
        client,
        csr,
        json!({ "certificate": ByteString(chain_pem.into_bytes()) }),
    )
    .await
}

pub async fn failed(
    client: &kube::Client,
    csr: &CertificateSigningRequest,
    reason: &str,
    message: &str,
) -> Result<(), kube::Error> {
    let now = Time(Timestamp::now());
    let condition = json!({
        "type": condition_type::FAILED,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
    });
    apply(client, csr, json!({ "conditions": [condition] })).await
}

async fn apply(
    client: &kube::Client,
    csr: &CertificateSigningRequest,
    status: Value,
) -> Result<(), kube::Error> {
    let patch = json!({
        "apiVersion": CertificateSigningRequest::api_version(&()),
        "kind": CertificateSigningRequest::kind(&()),
        "status": status,
    });
    Api::<CertificateSigningRequest>::all(client.clone())
        .patch_status(
            &csr.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(patch),
        )
        .await?;
    Ok(())
}
