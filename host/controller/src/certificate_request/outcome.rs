//! What a signing attempt means for the request, by the contract's error
//! classes. Pure: the reconciler writes what this decides.

use std::time::Duration;

use wasm_issuer_runtime::{CallError, ErrorClass, IssuedCertificate, PluginError};

/// The shortest and longest wait between retries of a retryable failure.
const MIN_RETRY_DELAY: Duration = Duration::from_secs(1);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);

/// The result of one signing attempt, classified.
#[derive(Debug)]
pub enum Outcome {
    /// Ready=True/Issued with the certificate and CA.
    Issued(IssuedCertificate),
    /// The CA is working on it: Ready=False/Pending, ask again after `retry_after`.
    /// Not counted against the retry budget.
    Pending {
        message: String,
        retry_after: Duration,
    },
    /// Ready=False/Pending "will retry", again after `retry_after`.
    Retry {
        message: String,
        retry_after: Duration,
    },
    /// Ready=False/Failed with failureTime.
    Failed { message: String },
    /// InvalidRequest=True and Ready=False/Failed with failureTime.
    Invalid { message: String },
    /// The issuer is broken: the request stays Pending and the issuer goes
    /// not-Ready until its check passes again.
    IssuerNotReady { message: String },
}

/// Classifies a signing result. `retrying_for` is how long ago the first
/// signing attempt of this request failed retryably (zero on the first one),
/// `max_retry` the budget after which a retryable failure becomes final.
pub fn classify(
    result: Result<IssuedCertificate, CallError>,
    retrying_for: Duration,
    max_retry: Duration,
) -> Outcome {
    let error = match result {
        Ok(issued) => return Outcome::Issued(issued),
        Err(error) => error,
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
        ErrorClass::Retryable if retrying_for >= max_retry => Outcome::Failed {
            message: format!(
                "gave up after retrying for {}: {message}",
                humantime::format_duration(whole_seconds(retrying_for))
            ),
        },
        // Waiting as long as it has been failing doubles the wait each time.
        ErrorClass::Retryable => Outcome::Retry {
            message,
            retry_after: retrying_for.clamp(MIN_RETRY_DELAY, MAX_RETRY_DELAY),
        },
        ErrorClass::Permanent => Outcome::Failed { message },
        ErrorClass::InvalidRequest => Outcome::Invalid { message },
        ErrorClass::IssuerNotReady => Outcome::IssuerNotReady { message },
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

    fn plugin(error: PluginError) -> Result<IssuedCertificate, CallError> {
        Err(CallError::Plugin(error))
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
        let trap = Err(CallError::Trap {
            kind: TrapKind::Deadline,
            message: "ran past 2s".into(),
        });
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
}
