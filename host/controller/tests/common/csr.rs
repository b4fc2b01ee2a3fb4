//! Kubernetes CertificateSigningRequests in tests: a builder, approval
//! through the `approval` subresource (as `kubectl certificate approve`
//! does), and waits.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestSpec,
};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};

use super::{TIMEOUT, wait_for};

/// A CSR (digital signature, key encipherment, server auth) for a signer.
pub struct CsrBuilder {
    csr: CertificateSigningRequest,
}

impl CsrBuilder {
    pub fn new(name: &str, pem: Vec<u8>, signer_name: &str) -> Self {
        let csr = CertificateSigningRequest {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            spec: CertificateSigningRequestSpec {
                request: ByteString(pem),
                signer_name: signer_name.to_owned(),
                usages: Some(vec![
                    "digital signature".to_owned(),
                    "key encipherment".to_owned(),
                    "server auth".to_owned(),
                ]),
                ..CertificateSigningRequestSpec::default()
            },
            status: None,
        };
        Self { csr }
    }

    pub fn expiration_seconds(mut self, seconds: i32) -> Self {
        self.csr.spec.expiration_seconds = Some(seconds);
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.csr
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// Created by whoever `client` authenticates as: the API server fills
    /// in the requester from that.
    pub async fn create(self, client: &Client) -> CertificateSigningRequest {
        let name = self.csr.name_any();
        Api::<CertificateSigningRequest>::all(client.clone())
            .create(&PostParams::default(), &self.csr)
            .await
            .unwrap_or_else(|error| panic!("create CertificateSigningRequest {name}: {error}"))
    }
}

/// Adds condition `type_` (Approved or Denied) through the `approval`
/// subresource, as `kubectl certificate approve|deny` does.
pub async fn decide_approval(client: &Client, csr: &CertificateSigningRequest, type_: &str) {
    let api = Api::<CertificateSigningRequest>::all(client.clone());
    let name = csr.name_any();
    let mut current = api.get(&name).await.expect("the CSR");
    current
        .status
        .get_or_insert_with(Default::default)
        .conditions
        .get_or_insert_with(Vec::new)
        .push(CertificateSigningRequestCondition {
            type_: type_.to_owned(),
            status: "True".to_owned(),
            reason: Some("WasmIssuerTests".to_owned()),
            message: Some(format!("{type_} by the tests")),
            ..CertificateSigningRequestCondition::default()
        });
    api.replace_subresource("approval", &name, &PostParams::default(), &current)
        .await
        .unwrap_or_else(|error| panic!("{type_} {name}: {error}"));
}

/// Waits until `csr` satisfies `done`; fails with its status if it does not.
pub async fn wait_for_csr(
    client: &Client,
    csr: &CertificateSigningRequest,
    what: &str,
    done: impl Fn(&CertificateSigningRequest) -> bool,
) -> CertificateSigningRequest {
    let api = Api::<CertificateSigningRequest>::all(client.clone());
    wait_for(TIMEOUT, &api, &csr.name_any(), what, done, |found| {
        found.status
    })
    .await
}

pub async fn wait_until_signed(
    client: &Client,
    csr: &CertificateSigningRequest,
) -> CertificateSigningRequest {
    wait_for_csr(client, csr, "signed", |csr| !certificate(csr).is_empty()).await
}

pub async fn wait_until_failed(
    client: &Client,
    csr: &CertificateSigningRequest,
) -> CertificateSigningRequest {
    wait_for_csr(client, csr, "Failed", |csr| {
        condition(csr, "Failed").is_some()
    })
    .await
}

pub fn certificate(csr: &CertificateSigningRequest) -> &[u8] {
    csr.status
        .as_ref()
        .and_then(|status| status.certificate.as_ref())
        .map_or(&[], |certificate| &certificate.0)
}

pub fn condition<'a>(
    csr: &'a CertificateSigningRequest,
    type_: &str,
) -> Option<&'a CertificateSigningRequestCondition> {
    csr.status
        .iter()
        .flat_map(|status| status.conditions.iter().flatten())
        .find(|condition| condition.type_ == type_)
}

/// The `Failed` condition's reason and message; it must be True.
pub fn failure(csr: &CertificateSigningRequest) -> (String, String) {
    let failed = condition(csr, "Failed").expect("a Failed condition");
    assert_eq!(failed.status, "True");
    (
        failed.reason.clone().unwrap_or_default(),
        failed.message.clone().unwrap_or_default(),
    )
}
