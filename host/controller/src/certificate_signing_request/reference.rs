//! May a CSR's requester use a namespaced issuer? Asked of the API server
//! with a SubjectAccessReview, as cert-manager asks it: verb `reference` on
//! `signers` in group `cert-manager.io`, in the issuer's namespace, for the
//! issuer's name or `*`. Without this anyone who may create CSRs could sign
//! with any team's issuer.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use kube::Api;
use kube::api::PostParams;

use crate::api::CERT_MANAGER_GROUP;

/// Whether the requester of `csr` may reference issuer `namespace/name`.
pub async fn may_reference(
    client: &kube::Client,
    csr: &CertificateSigningRequest,
    namespace: &str,
    name: &str,
) -> Result<bool, kube::Error> {
    let reviews = Api::<SubjectAccessReview>::all(client.clone());
    for resource_name in [name, "*"] {
        let review = reviews
            .create(
                &PostParams::default(),
                &review(csr, namespace, resource_name),
            )
            .await?;
        if review.status.is_some_and(|status| status.allowed) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn review(
    csr: &CertificateSigningRequest,
    namespace: &str,
    resource_name: &str,
) -> SubjectAccessReview {
    let spec = &csr.spec;
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: spec.username.clone(),
            groups: spec.groups.clone(),
            uid: spec.uid.clone(),
            extra: spec.extra.clone(),
            resource_attributes: Some(ResourceAttributes {
                group: Some(CERT_MANAGER_GROUP.to_owned()),
                resource: Some("signers".to_owned()),
                verb: Some("reference".to_owned()),
                namespace: Some(namespace.to_owned()),
                name: Some(resource_name.to_owned()),
                version: Some("*".to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    }
}
