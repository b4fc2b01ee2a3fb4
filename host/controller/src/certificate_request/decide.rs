//! The contract's reconcile order for a CertificateRequest, as a pure
//! function of the request and its issuer's state: what to do, not doing it.

use crate::api::{CertificateRequest, condition_type, request_reason};
use crate::context::IssuerObject;
use crate::issuer_gate::{Gate, gate};
use crate::issuer_key::IssuerKey;
use crate::issuer_states::Readiness;

/// The next step for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Not ours, or already final: nothing to write.
    Ignore,
    /// Not approved yet: no status write (an Event says so).
    WaitForApproval { issuer: IssuerKey },
    /// Denied: Ready=False/Denied with failureTime; never signed.
    Deny { issuer: IssuerKey },
    /// The issuer cannot sign now: Ready=False/Pending. The issuer's next
    /// change reconciles the request again; no polling.
    WaitForIssuer { issuer: IssuerKey, message: String },
    /// Sign with the plugin of the issuer's `generation`.
    Sign { issuer: IssuerKey, generation: i64 },
}

/// Steps 1 to 7 of the contract's order (0, a request that is gone, never
/// gets here). `issuer` looks the referenced issuer up: its object in the
/// API and the state its reconciler last recorded.
pub fn decide(
    request: &CertificateRequest,
    issuer: impl FnOnce(&IssuerKey) -> (Option<IssuerObject>, Option<Readiness>),
) -> Step {
    let namespace = request.metadata.namespace.as_deref().unwrap_or_default();
    let Some(key) = IssuerKey::of_request(namespace, &request.spec.issuer_ref) else {
        return Step::Ignore;
    };
    if is_final(request) {
        return Step::Ignore;
    }
    // Before the approval gate: a Denied request fails even if it was never
    // approved (issuer-lib only looks once Approved is set too).
    if request.has_true(condition_type::DENIED) {
        return Step::Deny { issuer: key };
    }
    if !request.has_true(condition_type::APPROVED) {
        return Step::WaitForApproval { issuer: key };
    }
    let (object, state) = issuer(&key);
    match gate(&key, object, state) {
        Gate::Open { generation } => Step::Sign {
            issuer: key,
            generation,
        },
        Gate::Closed { message } => Step::WaitForIssuer {
            issuer: key,
            message,
        },
    }
}

/// Final: issued, failed, denied or invalid. Nothing changes it any more.
pub fn is_final(request: &CertificateRequest) -> bool {
    if request.has_certificate() || request.has_true(condition_type::INVALID_REQUEST) {
        return true;
    }
    request
        .condition(condition_type::READY)
        .is_some_and(|ready| match ready.status.as_str() {
            "True" => true,
            "False" => matches!(
                ready.reason.as_deref(),
                Some(request_reason::FAILED | request_reason::DENIED)
            ),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;
    use serde_json::json;

    use super::*;

    /// A request to `WasmIssuer team/ca` with the given status.
    fn request(issuer_ref: serde_json::Value, conditions: serde_json::Value) -> CertificateRequest {
        serde_json::from_value(json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": {"name": "req", "namespace": "team"},
            "spec": {"request": "", "issuerRef": issuer_ref},
            "status": {"conditions": conditions},
        }))
        .expect("a valid request")
    }

    fn ours(conditions: serde_json::Value) -> CertificateRequest {
        request(
            json!({"name": "ca", "kind": "WasmIssuer", "group": "wasm-issuer.dev"}),
            conditions,
        )
    }

    fn condition(type_: &str, status: &str, reason: &str) -> serde_json::Value {
        json!({"type": type_, "status": status, "reason": reason, "message": ""})
    }

    fn approved() -> serde_json::Value {
        condition("Approved", "True", "cert-manager.io")
    }

    fn key() -> IssuerKey {
        IssuerKey::Namespaced {
            namespace: "team".into(),
            name: "ca".into(),
        }
    }

    /// Decides with an issuer lookup that must not happen.
    fn decide_without_issuer(request: &CertificateRequest) -> Step {
        decide(request, |_| panic!("the issuer must not be looked up"))
    }

    #[test]
    fn requests_for_other_issuers_are_ignored() {
        for issuer_ref in [
            json!({"name": "ca", "kind": "Issuer", "group": "cert-manager.io"}),
            json!({"name": "ca", "kind": "WasmIssuer"}),
            json!({"name": "ca", "kind": "WasmIssuer", "group": "example.com"}),
        ] {
            let request = request(issuer_ref.clone(), json!([approved()]));
            assert_eq!(
                decide_without_issuer(&request),
                Step::Ignore,
                "{issuer_ref}"
            );
        }
    }

    #[test]
    fn final_requests_are_ignored() {
        for final_condition in [
            condition("Ready", "True", "Issued"),
            condition("Ready", "False", "Failed"),
            condition("Ready", "False", "Denied"),
            condition("InvalidRequest", "True", "BadCSR"),
        ] {
            let request = ours(json!([approved(), final_condition.clone()]));
            assert_eq!(
                decide_without_issuer(&request),
                Step::Ignore,
                "{final_condition}"
            );
        }
        let mut issued = ours(json!([approved()]));
        issued.status.as_mut().expect("status").certificate =
            Some(ByteString(b"-----BEGIN CERTIFICATE-----".to_vec()));
        assert_eq!(decide_without_issuer(&issued), Step::Ignore);
    }

    #[test]
    fn pending_is_not_final() {
        let request = ours(json!([approved(), condition("Ready", "False", "Pending")]));
        assert!(!is_final(&request));
    }

    #[test]
    fn denied_wins_even_without_approval() {
        let denied = condition("Denied", "True", "policy");
        assert_eq!(
            decide_without_issuer(&ours(json!([denied.clone()]))),
            Step::Deny { issuer: key() }
        );
        assert_eq!(
            decide_without_issuer(&ours(json!([denied, approved()]))),
            Step::Deny { issuer: key() }
        );
    }

    #[test]
    fn unapproved_requests_wait() {
        assert_eq!(
            decide_without_issuer(&ours(json!([]))),
            Step::WaitForApproval { issuer: key() }
        );
        let not_yet = condition("Approved", "False", "someone");
        assert_eq!(
            decide_without_issuer(&ours(json!([not_yet]))),
            Step::WaitForApproval { issuer: key() }
        );
    }

    /// The gate's own cases are tested in `issuer_gate`; here only that an
    /// approved request goes through it, closed and open.
    #[test]
    fn approved_requests_go_through_the_issuer_gate() {
        let approved_request = ours(json!([approved()]));
        assert_eq!(
            decide(&approved_request, |_| (None, None)),
            Step::WaitForIssuer {
                issuer: key(),
                message: "waiting for WasmIssuer team/ca to be created".into()
            }
        );
        let ready = |_: &IssuerKey| {
            let object = IssuerObject {
                uid: "uid".into(),
                generation: 4,
            };
            (Some(object), Some(Readiness::Ready { generation: 4 }))
        };
        assert_eq!(
            decide(&approved_request, ready),
            Step::Sign {
                issuer: key(),
                generation: 4
            }
        );
    }

    #[test]
    fn an_empty_kind_means_wasm_issuer() {
        let request = request(json!({"name": "ca", "group": "wasm-issuer.dev"}), json!([]));
        assert_eq!(
            decide_without_issuer(&request),
            Step::WaitForApproval { issuer: key() }
        );
    }
}
