//! What the issuer reconcilers know and the request reconciler needs: for
//! each issuer, whether it may sign now and with which loaded plugin.
//!
//! The issuers' status in the API says the same for users, but the request
//! reconciler reads it here: the plugin itself lives here, and a state set
//! here is seen at once, without waiting for a status write to come back
//! through a watch. Every change is announced on a channel so that requests
//! waiting for an issuer are reconciled when it changes, without polling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use wasm_issuer_runtime::{IssuerInfo, PolicyPlugin, Sandbox, SignerPlugin};

use crate::issuer_key::IssuerKey;

/// First wait before an issuer is checked again after signing reported it
/// broken; doubled for each further report, up to [`MAX_RECHECK_DELAY`].
const FIRST_RECHECK_DELAY: Duration = Duration::from_secs(5);
const MAX_RECHECK_DELAY: Duration = Duration::from_secs(300);

/// What an issuer signs with: its signer, and its policies in the order
/// they are asked. Each plugin is its own version: a refused update of one
/// leaves the others' updates in force.
pub struct LoadedIssuer {
    pub signer: Arc<LoadedSigner>,
    pub policies: Vec<Arc<LoadedPolicy>>,
}

/// A checked signer plugin with everything a call needs.
pub struct LoadedSigner {
    pub plugin: Arc<SignerPlugin>,
    pub sandbox: Sandbox,
    pub info: IssuerInfo,
    /// Where the plugin came from, e.g. `ConfigMap team/ca-plugin`.
    pub origin: String,
    /// When this version was loaded.
    pub loaded_at: Time,
}

/// A policy plugin with everything a call needs.
pub struct LoadedPolicy {
    /// Its name in the issuer's `spec.policies`.
    pub name: String,
    pub plugin: Arc<PolicyPlugin>,
    /// Limits only: policies get no keys.
    pub sandbox: Sandbox,
    /// The policy's own configuration (JSON text), handed to it in place
    /// of the signer's.
    pub config: String,
    pub origin: String,
    pub loaded_at: Time,
}

/// An issuer's readiness for one generation of its spec.
#[derive(Clone)]
pub enum IssuerState {
    /// Checked: requests may be signed with `loaded`.
    Ready {
        generation: i64,
        loaded: Arc<LoadedIssuer>,
    },
    /// Being checked, or its check failed, or signing reported it broken.
    NotReady { generation: i64, message: String },
}

/// An [`IssuerState`] without the plugin: what decisions are made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready { generation: i64 },
    NotReady { generation: i64, message: String },
}

impl IssuerState {
    pub fn generation(&self) -> i64 {
        match self {
            Self::Ready { generation, .. } | Self::NotReady { generation, .. } => *generation,
        }
    }

    pub fn readiness(&self) -> Readiness {
        match self {
            Self::Ready { generation, .. } => Readiness::Ready {
                generation: *generation,
            },
            Self::NotReady {
                generation,
                message,
            } => Readiness::NotReady {
                generation: *generation,
                message: message.clone(),
            },
        }
    }
}

/// Signing said the issuer itself is broken (its credentials, say): it is
/// not-Ready until a check passes again, tried after a growing delay.
#[derive(Clone, Debug)]
pub struct SigningFailure {
    pub message: String,
    /// When the issuer may be checked again.
    pub recheck_at: Instant,
}

#[derive(Default)]
struct Entry {
    /// The uid of the issuer object the entry describes: an issuer deleted
    /// and created again under the same name is another issuer.
    uid: String,
    state: Option<IssuerState>,
    signing_failure: Option<SigningFailure>,
    /// Signing failures since the last certificate this issuer issued.
    consecutive_failures: u32,
}

/// Every issuer's state, shared by all reconcilers.
pub struct IssuerStates {
    entries: Mutex<HashMap<IssuerKey, Entry>>,
    changed: UnboundedSender<IssuerKey>,
    recheck_namespaced: UnboundedSender<IssuerKey>,
    recheck_cluster: UnboundedSender<IssuerKey>,
}

/// The receiving ends of [`IssuerStates`]' announcements.
pub struct IssuerEvents {
    /// An issuer's state changed: reconcile the requests that refer to it.
    pub changed: UnboundedReceiver<IssuerKey>,
    /// A WasmIssuer must be checked again (signing reported it broken).
    pub recheck_namespaced: UnboundedReceiver<IssuerKey>,
    /// The same for a WasmClusterIssuer.
    pub recheck_cluster: UnboundedReceiver<IssuerKey>,
}

impl IssuerStates {
    pub fn new() -> (Self, IssuerEvents) {
        let (changed, changed_rx) = unbounded();
        let (recheck_namespaced, recheck_namespaced_rx) = unbounded();
        let (recheck_cluster, recheck_cluster_rx) = unbounded();
        let states = Self {
            entries: Mutex::default(),
            changed,
            recheck_namespaced,
            recheck_cluster,
        };
        let events = IssuerEvents {
            changed: changed_rx,
            recheck_namespaced: recheck_namespaced_rx,
            recheck_cluster: recheck_cluster_rx,
        };
        (states, events)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<IssuerKey, Entry>> {
        // The map holds plain data: a panic elsewhere cannot leave it half-updated.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state of the issuer object `uid` named `key`, if recorded.
    pub fn get(&self, key: &IssuerKey, uid: &str) -> Option<IssuerState> {
        self.entries()
            .get(key)
            .filter(|entry| entry.uid == uid)
            .and_then(|entry| entry.state.clone())
    }

    /// Records the new state of issuer object `uid` and wakes the requests
    /// waiting for it. A new uid under the same name starts afresh.
    pub fn set(&self, key: &IssuerKey, uid: &str, state: IssuerState) {
        {
            let mut entries = self.entries();
            let entry = entries.entry(key.clone()).or_default();
            if entry.uid != uid {
                *entry = Entry {
                    uid: uid.to_owned(),
                    ..Entry::default()
                };
            }
            entry.state = Some(state);
        }
        self.announce(key);
    }

    /// Forgets a deleted issuer (and drops its plugin).
    pub fn remove(&self, key: &IssuerKey) {
        if self.entries().remove(key).is_some() {
            self.announce(key);
        }
    }

    /// Signing with `generation` of the issuer said the issuer is broken:
    /// it is not-Ready from now on, and its reconciler is asked to check it
    /// again after a delay that doubles with each consecutive report.
    pub fn report_signing_failure(&self, key: &IssuerKey, generation: i64, message: &str) {
        {
            let mut entries = self.entries();
            let entry = entries.entry(key.clone()).or_default();
            entry.consecutive_failures = entry.consecutive_failures.saturating_add(1);
            let delay = recheck_delay(entry.consecutive_failures);
            entry.signing_failure = Some(SigningFailure {
                message: message.to_owned(),
                recheck_at: Instant::now() + delay,
            });
            entry.state = Some(IssuerState::NotReady {
                generation,
                message: format!("signing failed: {message}"),
            });
        }
        let recheck = match key {
            IssuerKey::Namespaced { .. } => &self.recheck_namespaced,
            IssuerKey::Cluster { .. } => &self.recheck_cluster,
        };
        // A closed channel means the controller is shutting down.
        let _ = recheck.unbounded_send(key.clone());
        self.announce(key);
    }

    /// The issuer issued a certificate: its failure streak is over.
    pub fn report_signed(&self, key: &IssuerKey) {
        if let Some(entry) = self.entries().get_mut(key) {
            entry.consecutive_failures = 0;
        }
    }

    /// The signing failure not yet answered by a check, if any.
    pub fn signing_failure(&self, key: &IssuerKey) -> Option<SigningFailure> {
        self.entries()
            .get(key)
            .and_then(|entry| entry.signing_failure.clone())
    }

    /// A check ran after the signing failure: it is answered.
    pub fn clear_signing_failure(&self, key: &IssuerKey) {
        if let Some(entry) = self.entries().get_mut(key) {
            entry.signing_failure = None;
        }
    }

    fn announce(&self, key: &IssuerKey) {
        // A closed channel means the controller is shutting down.
        let _ = self.changed.unbounded_send(key.clone());
    }
}

fn recheck_delay(consecutive_failures: u32) -> Duration {
    let doublings = consecutive_failures.saturating_sub(1).min(16);
    (FIRST_RECHECK_DELAY * 2u32.pow(doublings)).min(MAX_RECHECK_DELAY)
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn key() -> IssuerKey {
        IssuerKey::Cluster { name: "ca".into() }
    }

    #[test]
    fn recheck_delay_doubles_up_to_a_cap() {
        assert_eq!(recheck_delay(1), Duration::from_secs(5));
        assert_eq!(recheck_delay(2), Duration::from_secs(10));
        assert_eq!(recheck_delay(4), Duration::from_secs(40));
        assert_eq!(recheck_delay(50), MAX_RECHECK_DELAY);
    }

    #[tokio::test]
    async fn a_signing_failure_makes_the_issuer_not_ready_and_asks_for_a_check() {
        let (states, mut events) = IssuerStates::new();
        let checking = IssuerState::NotReady {
            generation: 3,
            message: "checking".into(),
        };
        states.set(&key(), "uid-1", checking);
        states.report_signing_failure(&key(), 3, "credentials expired");
        assert!(
            states.get(&key(), "uid-2").is_none(),
            "another object, same name"
        );
        match states.get(&key(), "uid-1") {
            Some(IssuerState::NotReady {
                generation,
                message,
            }) => {
                assert_eq!(generation, 3);
                assert_eq!(message, "signing failed: credentials expired");
            }
            _ => panic!("not NotReady"),
        }
        assert_eq!(events.recheck_cluster.next().await, Some(key()));
        assert_eq!(events.changed.next().await, Some(key()), "set");
        assert_eq!(events.changed.next().await, Some(key()), "the failure");
        let failure = states.signing_failure(&key()).expect("recorded");
        assert_eq!(failure.message, "credentials expired");
        states.clear_signing_failure(&key());
        assert!(states.signing_failure(&key()).is_none());
    }

    #[test]
    fn a_certificate_ends_the_failure_streak() {
        let (states, _events) = IssuerStates::new();
        states.report_signing_failure(&key(), 1, "a");
        states.report_signing_failure(&key(), 1, "b");
        let later = states.signing_failure(&key()).expect("recorded").recheck_at;
        states.report_signed(&key());
        states.report_signing_failure(&key(), 1, "c");
        let first_again = states.signing_failure(&key()).expect("recorded").recheck_at;
        assert!(
            first_again < later,
            "the delay started again from the first step"
        );
    }
}
