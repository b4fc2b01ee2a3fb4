//! The `wasm-issuer.dev/v1alpha1` API: what users write and what the controller reports.
//!
//! - [`WasmIssuer`] (namespaced) and [`WasmClusterIssuer`] (cluster-scoped)
//!   share one spec, [`IssuerSpec`], and one status, [`IssuerStatus`].
//! - [`IssuerSpec::validate`] turns the spec's strings into the runtime's
//!   types, or an [`InvalidSpec`] naming the field.
//! - [`crds`] gives both CustomResourceDefinitions, as `wasm-issuer crds` prints them.

mod certificate_request;
mod condition;
mod issuer;
mod schema;
mod spec;
mod status;
mod validation;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use certificate_request::{
    CERT_MANAGER_GROUP, CertificateRequest, CertificateRequestSpec, CertificateRequestStatus,
    IssuerReference, RequestCondition, condition_type, request_reason,
};
pub use condition::{Condition, ConditionStatus, PLUGIN_READY, READY, reason};
pub use issuer::{
    IssuerResource, WasmClusterIssuer, WasmClusterIssuerSpec, WasmIssuer, WasmIssuerSpec,
};
pub use spec::{
    ConfigMapPluginSource, FilePluginSource, IssuerSpec, KeyGrant, OciPluginSource, PluginLimits,
    PluginSpec, PolicySpec,
};
pub use status::{IssuerStatus, PolicyStatus};
pub use validation::{InvalidSpec, PluginSource, ValidPlugin, ValidPolicy, ValidSpec};

/// Both CustomResourceDefinitions, namespaced kind first.
pub fn crds() -> [CustomResourceDefinition; 2] {
    [WasmIssuer::crd(), WasmClusterIssuer::crd()]
}
