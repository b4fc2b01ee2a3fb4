//! Whether an issuer may sign a request now: the same gate for every kind
//! of request (CertificateRequest, Kubernetes CSR), as a pure function of
//! the issuer's object in the API and the state its reconciler recorded.

use crate::context::IssuerObject;
use crate::issuer_key::IssuerKey;
use crate::issuer_states::Readiness;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Sign with the plugin of the issuer's `generation`.
    Open { generation: i64 },
    /// The issuer cannot sign now; `message` says why. The issuer's next
    /// change reconciles the request again: no polling.
    Closed { message: String },
}

/// The gate of issuer `key`: missing, not ready, or not yet checked for its
/// current spec all close it.
pub fn gate(key: &IssuerKey, object: Option<IssuerObject>, state: Option<Readiness>) -> Gate {
    let Some(object) = object else {
        return Gate::Closed {
            message: format!("waiting for {key} to be created"),
        };
    };
    match state {
        // The state may come from a newer generation than a lagging cache shows.
        Some(Readiness::Ready { generation }) if generation >= object.generation => {
            Gate::Open { generation }
        }
        Some(Readiness::NotReady {
            generation,
            message,
        }) if generation >= object.generation => Gate::Closed {
            message: format!("{key} is not ready: {message}"),
        },
        _ => Gate::Closed {
            message: format!(
                "{key} has not been checked for its current spec (generation {}) yet",
                object.generation
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> IssuerKey {
        IssuerKey::Namespaced {
            namespace: "team".into(),
            name: "ca".into(),
        }
    }

    fn issuer_at(generation: i64) -> Option<IssuerObject> {
        Some(IssuerObject {
            uid: "uid".into(),
            generation,
        })
    }

    fn closed(message: &str) -> Gate {
        Gate::Closed {
            message: message.into(),
        }
    }

    #[test]
    fn a_missing_issuer_is_waited_for() {
        assert_eq!(
            gate(&key(), None, None),
            closed("waiting for WasmIssuer team/ca to be created")
        );
    }

    #[test]
    fn a_not_ready_issuer_is_waited_for_with_its_reason() {
        let readiness = Readiness::NotReady {
            generation: 2,
            message: "ConfigMap team/ca-plugin not found".into(),
        };
        assert_eq!(
            gate(&key(), issuer_at(2), Some(readiness)),
            closed("WasmIssuer team/ca is not ready: ConfigMap team/ca-plugin not found")
        );
    }

    #[test]
    fn an_issuer_ready_for_an_older_generation_is_waited_for() {
        let expected = closed(
            "WasmIssuer team/ca has not been checked for its current spec (generation 3) yet",
        );
        let older = Some(Readiness::Ready { generation: 2 });
        assert_eq!(gate(&key(), issuer_at(3), older), expected);
        assert_eq!(gate(&key(), issuer_at(3), None), expected);
    }

    #[test]
    fn an_issuer_ready_for_its_generation_opens_even_if_the_cache_lags() {
        for cached_generation in [4, 3] {
            let ready = Some(Readiness::Ready { generation: 4 });
            assert_eq!(
                gate(&key(), issuer_at(cached_generation), ready),
                Gate::Open { generation: 4 }
            );
        }
    }
}
