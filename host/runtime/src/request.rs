//! The contract's request, host side: what a CertificateRequest (or a
//! Kubernetes CSR, or the local runner) becomes before a plugin sees it.

use std::collections::BTreeMap;
use std::time::Duration;

use wasm_issuer_pki::{ParsedCsr, Usage};

/// One request for a certificate, with the CSR already parsed and verified.
#[derive(Clone, Debug)]
pub struct PluginRequest {
    pub csr: ParsedCsr,
    pub duration: Duration,
    pub is_ca: bool,
    pub usages: Vec<Usage>,
    pub requester: Requester,
    pub annotations: BTreeMap<String, String>,
    /// The request's own namespace and name, for the plugin's messages.
    pub namespace: String,
    pub name: String,
    pub issuer: IssuerInfo,
}

/// Who asked (cert-manager's webhook records it on the request).
#[derive(Clone, Debug, Default)]
pub struct Requester {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The issuer a plugin serves, with its configuration as JSON text.
#[derive(Clone, Debug)]
pub struct IssuerInfo {
    pub name: String,
    /// `WasmIssuer` or `WasmClusterIssuer`.
    pub kind: String,
    /// Empty for cluster-scoped issuers.
    pub namespace: String,
    pub config: String,
}
