//! What a signing attempt means for the request, by the contract's error
//! classes, for every kind of request. Pure: each reconciler writes what
//! this decides in its own resource's terms.

use std::time::Duration;

use wasm_issuer_runtime::{CallError, ErrorClass, IssuedCertificate, PluginError};

use crate::signing::Refusal;

/// The shortest and longest wait between retries of a retryable failure.
const MIN_RETRY_DELAY: Duration = Duration::from_secs(1);
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);

/// The result of one signing attempt, classified.
#[derive(Debug)]
pub enum Outcome {
    /// Signed: the certificate chain and CA, checked by the host.
    Issued(IssuedCertificate),
    /// The CA is working on it: ask again after `retry_after`. Not counted
    /// against the retry budget.
    Pending {
        message: String,
        retry_after: Duration,
    },
    /// A transient failure: try again after `retry_after`.
    Retry {
        message: String,
        retry_after: Duration,
    },
    /// Final: the request fails.
    Failed { message: String },
    /// Final: the request itself is wrong.
    Invalid { message: String },
    /// The issuer is broken: the request stays Pending and the issuer goes
    /// not-Ready until its check passes again.
    IssuerNotReady { message: String },
}

impl Outcome {
    /// The outcome as the `outcome` label of the requests metric.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Issued(_) => "issued",
            Self::Pending { .. } => "pending",
            Self::Retry { .. } => "retry",
            Self::Failed { .. } => "failed",
            Self::Invalid { .. } => "invalid",
            Self::IssuerNotReady { .. } => "issuer_not_ready",
        }
    }
}

/// Classifies a signing result. `retrying_for` is how long ago the first
/// signing attempt of this request failed retryably (zero on the first one),
/// `max_retry` the budget after which a retryable failure becomes final.
pub fn classify(
    result: Result<IssuedCertificate, Refusal>,
    retrying_for: Duration,
    max_retry: Duration,
) -> Outcome {
    let error = match result {
        Ok(issued) => return Outcome::Issued(issued),
        Err(Refusal::Signer(error)) => error,
        Err(Refusal::Denied { policy, reason }) => {
            return Outcome::Failed {
                message: format!("denied by policy {policy:?}: {reason}"),
            };
        }
        Err(Refusal::Invalid { policy, reason }) => {
            return Outcome::Invalid {
                message: format!("policy {policy:?} found the request invalid: {reason}"),
            };
        }
        // Whatever the policy's failure, it decided nothing: retried.
        Err(Refusal::PolicyFailed { policy, error }) => {
            let message = format!("policy {policy:?} failed: {error}");
            return retry(message, retrying_for, max_retry);
        }
    };
    let message = error.to_string();
    match error.class() {
        ErrorClass::Pending => {
            let retry_after = match error {
                CallError::Plugin(PluginError::Pending { retry_after, .. }) => retry_after,
                _ => MIN_RETRY_DELAY,
            };
            Outcome::Pending {
                message,
                retry_after: retry_after.max(MIN_RETRY_DELAY),
            }
        }
        ErrorClass::Retryable => retry(message, retrying_for, max_retry),
        ErrorClass::Permanent => Outcome::Failed { message },
        ErrorClass::InvalidRequest => Outcome::Invalid { message },
        ErrorClass::IssuerNotReady => Outcome::IssuerNotReady { message },
    }
}

/// A retryable failure: retried with backoff until the budget is spent.
fn retry(message: String, retrying_for: Duration, max_retry: Duration) -> Outcome {
    if retrying_for >= max_retry {
        return Outcome::Failed {
            message: format!(
                "gave up after retrying for {}: {message}",
                humantime::format_duration(whole_seconds(retrying_for))
            ),
        };
    }
    // Waiting as long as it has been failing doubles the wait each time.
    Outcome::Retry {
        message,
        retry_after: retrying_for.clamp(MIN_RETRY_DELAY, MAX_RETRY_DELAY),
    }
}

fn whole_seconds(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs())
}

#[cfg(test)]
mod tests {
    use wasm_issuer_runtime::TrapKind;

    use super::*;

    const BUDGET: Duration = Duration::from_secs(300);

    fn plugin(error: PluginError) -> Result<IssuedCertificate, Refusal> {
        Err(Refusal::Signer(CallError::Plugin(error)))
    }

    #[test]
    fn pending_waits_as_long_as_the_plugin_asks() {
        let outcome = classify(
            plugin(PluginError::Pending {
                reason: "queued".into(),
                retry_after: Duration::from_secs(30),
            }),
            Duration::from_secs(9999),
            BUDGET,
        );
        match outcome {
            Outcome::Pending {
                message,
                retry_after,
            } => {
                assert_eq!(retry_after, Duration::from_secs(30));
                assert!(message.contains("queued"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retryable_backs_off_until_the_budget_is_spent() {
        let retryable = || plugin(PluginError::Retryable("CA busy".into()));
        let first = classify(retryable(), Duration::ZERO, BUDGET);
        assert!(
            matches!(first, Outcome::Retry { retry_after, .. } if retry_after == MIN_RETRY_DELAY)
        );
        let later = classify(retryable(), Duration::from_secs(40), BUDGET);
        assert!(
            matches!(later, Outcome::Retry { retry_after, .. } if retry_after == Duration::from_secs(40))
        );
        match classify(retryable(), Duration::from_secs(301), BUDGET) {
            Outcome::Failed { message } => {
                assert_eq!(
                    message,
                    "gave up after retrying for 5m 1s: plugin retryable: CA busy"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_trap_is_retried() {
        let trap = Err(Refusal::Signer(CallError::Trap {
            kind: TrapKind::Deadline,
            message: "ran past 2s".into(),
        }));
        assert!(matches!(
            classify(trap, Duration::ZERO, BUDGET),
            Outcome::Retry { .. }
        ));
    }

    #[test]
    fn each_final_class_has_its_outcome() {
        assert!(matches!(
            classify(
                plugin(PluginError::Permanent("no".into())),
                Duration::ZERO,
                BUDGET
            ),
            Outcome::Failed { .. }
        ));
        assert!(matches!(
            classify(
                plugin(PluginError::InvalidRequest("bad".into())),
                Duration::ZERO,
                BUDGET
            ),
            Outcome::Invalid { .. }
        ));
        assert!(matches!(
            classify(
                plugin(PluginError::IssuerNotReady("expired".into())),
                Duration::ZERO,
                BUDGET
            ),
            Outcome::IssuerNotReady { .. }
        ));
    }

    #[test]
    fn a_policy_denial_fails_naming_the_policy() {
        let denied = Err(Refusal::Denied {
            policy: "domains".into(),
            reason: "evil.example.org is not allowed".into(),
        });
        match classify(denied, Duration::ZERO, BUDGET) {
            Outcome::Failed { message } => assert_eq!(
                message,
                "denied by policy \"domains\": evil.example.org is not allowed"
            ),
            other => panic!("{other:?}"),
        }
        let invalid = Err(Refusal::Invalid {
            policy: "keys".into(),
            reason: "no key".into(),
        });
        assert!(matches!(
            classify(invalid, Duration::ZERO, BUDGET),
            Outcome::Invalid { message } if message == "policy \"keys\" found the request invalid: no key"
        ));
    }

    #[test]
    fn a_policy_that_cannot_decide_fails_closed_and_is_retried() {
        let failed = || {
            Err(Refusal::PolicyFailed {
                policy: "domains".into(),
                error: CallError::Trap {
                    kind: TrapKind::Deadline,
                    message: "ran past 2s".into(),
                },
            })
        };
        match classify(failed(), Duration::ZERO, BUDGET) {
            Outcome::Retry { message, .. } => {
                assert!(
                    message.starts_with("policy \"domains\" failed: "),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(failed(), Duration::from_secs(301), BUDGET),
            Outcome::Failed { .. }
        ));
    }
}
