//! Which Kubernetes CSRs are ours and whether they may be signed, as a pure
//! function of the CSR. What follows a `Proceed` (the requester's right to
//! use a namespaced issuer, the issuer's gate) needs the API and is done by
//! the reconciler.

use k8s_openapi::api::certificates::v1::CertificateSigningRequest;

use super::signer_name;
use crate::issuer_key::IssuerKey;

/// The condition types Kubernetes defines on a CSR.
pub mod condition_type {
    pub const APPROVED: &str = "Approved";
    pub const DENIED: &str = "Denied";
    pub const FAILED: &str = "Failed";
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Not ours, or final (signed, denied, failed): nothing to write.
    Ignore,
    /// Not approved yet: nothing to write (an Event says so).
    WaitForApproval { issuer: IssuerKey },
    /// Approved and ours: on to the requester's right to use the issuer
    /// and the issuer's readiness.
    Proceed { issuer: IssuerKey },
}

pub fn decide(csr: &CertificateSigningRequest) -> Step {
    let Some(issuer) = signer_name::issuer_of(&csr.spec.signer_name) else {
        return Step::Ignore;
    };
    if is_final(csr) {
        return Step::Ignore;
    }
    if !has_true(csr, condition_type::APPROVED) {
        return Step::WaitForApproval { issuer };
    }
    Step::Proceed { issuer }
}

/// Signed, denied or failed: nothing changes it any more. A Denied CSR is
/// left as it is: unlike a CertificateRequest it has no Ready condition
/// that would need to say so.
pub fn is_final(csr: &CertificateSigningRequest) -> bool {
    let signed = csr
        .status
        .as_ref()
        .and_then(|status| status.certificate.as_ref())
        .is_some_and(|certificate| !certificate.0.is_empty());
    signed || has_true(csr, condition_type::DENIED) || has_true(csr, condition_type::FAILED)
}

fn has_true(csr: &CertificateSigningRequest, type_: &str) -> bool {
    csr.status
        .iter()
        .flat_map(|status| status.conditions.iter().flatten())
        .any(|condition| condition.type_ == type_ && condition.status == "True")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;
    use serde_json::json;

    use super::*;

    const OURS: &str = "wasmclusterissuers.wasm-issuer.dev/ca";

    fn csr(signer_name: &str, conditions: &[(&str, &str)]) -> CertificateSigningRequest {
        let conditions: Vec<_> = conditions
            .iter()
            .map(|(type_, status)| json!({"type": type_, "status": status}))
            .collect();
        serde_json::from_value(json!({
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"name": "csr"},
            "spec": {"request": "", "signerName": signer_name, "usages": ["digital signature"]},
            "status": {"conditions": conditions},
        }))
        .expect("a valid CSR")
    }

    fn issuer() -> IssuerKey {
        IssuerKey::Cluster { name: "ca".into() }
    }

    #[test]
    fn other_signers_are_ignored_whatever_their_state() {
        let approved = csr(
            "kubernetes.io/kube-apiserver-client",
            &[("Approved", "True")],
        );
        assert_eq!(decide(&approved), Step::Ignore);
        assert_eq!(
            decide(&csr("issuers.cert-manager.io/team.ca", &[])),
            Step::Ignore
        );
    }

    #[test]
    fn unapproved_csrs_wait() {
        assert_eq!(
            decide(&csr(OURS, &[])),
            Step::WaitForApproval { issuer: issuer() }
        );
        assert_eq!(
            decide(&csr(OURS, &[("Approved", "False")])),
            Step::WaitForApproval { issuer: issuer() }
        );
    }

    #[test]
    fn approved_csrs_proceed() {
        assert_eq!(
            decide(&csr(OURS, &[("Approved", "True")])),
            Step::Proceed { issuer: issuer() }
        );
    }

    #[test]
    fn denied_failed_and_signed_csrs_are_left_alone() {
        for conditions in [
            &[("Denied", "True")][..],
            &[("Approved", "True"), ("Denied", "True")],
            &[("Approved", "True"), ("Failed", "True")],
        ] {
            assert_eq!(
                decide(&csr(OURS, conditions)),
                Step::Ignore,
                "{conditions:?}"
            );
        }
        let mut signed = csr(OURS, &[("Approved", "True")]);
        if let Some(status) = signed.status.as_mut() {
            status.certificate = Some(ByteString(b"-----BEGIN CERTIFICATE-----".to_vec()));
        }
        assert_eq!(decide(&signed), Step::Ignore);
    }
}
