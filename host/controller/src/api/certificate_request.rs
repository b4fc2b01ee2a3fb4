//! cert-manager's `CertificateRequest` (`cert-manager.io/v1`), as much of it
//! as an issuer reads and writes.
//!
//! Every field has a default: a request cert-manager's webhook would refuse
//! (it may not run) must still deserialize, so that the reconciler can fail
//! it with a message instead of the watch choking on it.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// cert-manager's API group: an issuerRef with an empty group means this one.
pub const CERT_MANAGER_GROUP: &str = "cert-manager.io";

/// Condition types of a CertificateRequest.
pub mod condition_type {
    pub const READY: &str = "Ready";
    pub const INVALID_REQUEST: &str = "InvalidRequest";
    pub const APPROVED: &str = "Approved";
    pub const DENIED: &str = "Denied";
}

/// Reasons of a CertificateRequest's Ready condition.
pub mod request_reason {
    pub const PENDING: &str = "Pending";
    pub const FAILED: &str = "Failed";
    pub const ISSUED: &str = "Issued";
    pub const DENIED: &str = "Denied";
}

/// A request for a certificate from the issuer named by `issuerRef`.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "cert-manager.io",
    version = "v1",
    kind = "CertificateRequest",
    namespaced,
    status = "CertificateRequestStatus",
    derive = "PartialEq",
    // cert-manager owns this CRD; we never generate or install it.
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRequestSpec {
    /// The PKCS#10 request, PEM (base64 on the wire).
    #[serde(default)]
    pub request: ByteString,
    #[serde(default)]
    pub issuer_ref: IssuerReference,
    /// A Go duration; cert-manager's default (90 days) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, rename = "isCA")]
    pub is_ca: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usages: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Which issuer should sign.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerReference {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
}

/// What the issuer (and approvers) report on the request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRequestStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RequestCondition>,
    /// The issued chain, PEM: leaf first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ByteString>,
    /// The CA that signed it, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<ByteString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_time: Option<Time>,
}

/// A condition as cert-manager writes it: reason and message are optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl CertificateRequest {
    /// The condition of `type_`, if set.
    pub fn condition(&self, type_: &str) -> Option<&RequestCondition> {
        self.status
            .as_ref()?
            .conditions
            .iter()
            .find(|condition| condition.type_ == type_)
    }

    /// Whether the condition of `type_` is set with status True.
    pub fn has_true(&self, type_: &str) -> bool {
        self.condition(type_)
            .is_some_and(|condition| condition.status == "True")
    }

    /// Whether a certificate was already written.
    pub fn has_certificate(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|status| status.certificate.as_ref())
            .is_some_and(|certificate| !certificate.0.is_empty())
    }
}
