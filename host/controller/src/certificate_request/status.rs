//! Writing a CertificateRequest's status: server-side apply with our field
//! manager, owning only the conditions we set (Ready, InvalidRequest),
//! never Approved or Denied.

use k8s_openapi::ByteString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use crate::api::{CertificateRequest, RequestCondition, condition_type, request_reason};
use crate::error::Error;
use crate::options::FIELD_MANAGER;

/// The status to write.
#[derive(Debug, Default)]
pub struct Update {
    ready: Option<(bool, &'static str, String)>,
    invalid_request: Option<String>,
    certificate: Option<String>,
    ca: Option<String>,
    failed: bool,
}

impl Update {
    pub fn pending(message: String) -> Self {
        Self::ready(false, request_reason::PENDING, message)
    }

    pub fn failed(message: String) -> Self {
        Self {
            failed: true,
            ..Self::ready(false, request_reason::FAILED, message)
        }
    }

    pub fn denied() -> Self {
        Self {
            failed: true,
            ..Self::ready(
                false,
                request_reason::DENIED,
                "The CertificateRequest was denied by an approval controller".to_owned(),
            )
        }
    }

    pub fn invalid(message: String) -> Self {
        Self {
            invalid_request: Some(message.clone()),
            ..Self::failed(message)
        }
    }

    pub fn issued(message: String, certificate: String, ca: Option<String>) -> Self {
        Self {
            certificate: Some(certificate),
            ca,
            ..Self::ready(true, request_reason::ISSUED, message)
        }
    }

    fn ready(status: bool, reason: &'static str, message: String) -> Self {
        Self {
            ready: Some((status, reason, message)),
            ..Self::default()
        }
    }

    /// The Ready reason written.
    pub fn reason(&self) -> &'static str {
        self.ready.as_ref().map_or("", |(_, reason, _)| reason)
    }

    pub fn message(&self) -> &str {
        self.ready.as_ref().map_or("", |(_, _, message)| message)
    }
}

/// Writes `update` unless the request already says exactly that; returns
/// whether it wrote (a transition worth an Event).
pub async fn apply(
    client: &kube::Client,
    request: &CertificateRequest,
    update: Update,
) -> Result<bool, Error> {
    let now = Time(Timestamp::now());
    let mut conditions = Vec::new();
    if let Some((status, reason, message)) = update.ready {
        conditions.push(condition(
            request,
            condition_type::READY,
            status,
            reason,
            message,
            &now,
        ));
    }
    if let Some(message) = update.invalid_request {
        conditions.push(condition(
            request,
            condition_type::INVALID_REQUEST,
            true,
            request_reason::FAILED,
            message,
            &now,
        ));
    }
    let unchanged = update.certificate.is_none()
        && !update.failed
        && conditions
            .iter()
            .all(|condition| request.condition(&condition.type_) == Some(condition));
    if unchanged {
        return Ok(false);
    }
    let mut status = json!({ "conditions": conditions });
    if let Some(certificate) = update.certificate {
        status["certificate"] = json!(ByteString(certificate.into_bytes()));
    }
    if let Some(ca) = update.ca {
        status["ca"] = json!(ByteString(ca.into_bytes()));
    }
    if update.failed {
        status["failureTime"] = json!(now);
    }
    let mut patch = json!({
        "apiVersion": CertificateRequest::api_version(&()),
        "kind": CertificateRequest::kind(&()),
        "status": status,
    });
    // A certificate is written only over the request as it was read: if
    // the cache lagged behind a write (ours, a moment ago, that made it
    // final), the API server refuses with a conflict and the next
    // reconcile sees the request final, instead of it being signed twice.
    if patch["status"].get("certificate").is_some() {
        patch["metadata"] = json!({ "resourceVersion": request.resource_version() });
    }
    Api::<CertificateRequest>::namespaced(client.clone(), &request.namespace().unwrap_or_default())
        .patch_status(
            &request.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(patch),
        )
        .await?;
    Ok(true)
}

/// A condition; its transition time is kept when its status did not change.
fn condition(
    request: &CertificateRequest,
    type_: &str,
    status: bool,
    reason: &str,
    message: String,
    now: &Time,
) -> RequestCondition {
    let status = if status { "True" } else { "False" }.to_owned();
    let last_transition_time = request
        .condition(type_)
        .filter(|existing| existing.status == status)
        .and_then(|existing| existing.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    RequestCondition {
        type_: type_.to_owned(),
        status,
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: Some(last_transition_time),
        // cert-manager's schema has no observedGeneration for requests
        // (their spec is immutable); the apiserver would prune it.
        observed_generation: None,
    }
}
