//! When each CSR's retryable failures began: the retry budget counts from
//! then. A CertificateRequest keeps this in an annotation; a CSR's metadata
//! is the requester's (writing it would take `update` on every CSR), so it
//! is kept here, and a restarted controller grants a retrying CSR a fresh
//! budget.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

#[derive(Default)]
pub struct RetryClocks {
    /// By CSR uid.
    since: Mutex<HashMap<String, Timestamp>>,
}

impl RetryClocks {
    /// How long `uid` has been failing retryably at `attempt`; zero if it
    /// was not.
    pub fn failing_for(&self, uid: &str, attempt: Timestamp) -> Duration {
        self.since()
            .get(uid)
            .and_then(|since| u64::try_from(attempt.duration_since(*since).as_secs()).ok())
            .map_or(Duration::ZERO, Duration::from_secs)
    }

    /// `uid` failed retryably at `attempt`; the first such failure counts.
    pub fn failed(&self, uid: &str, attempt: Timestamp) {
        self.since().entry(uid.to_owned()).or_insert(attempt);
    }

    /// `uid` is final: its clock goes.
    pub fn forget(&self, uid: &str) {
        self.since().remove(uid);
    }

    fn since(&self) -> std::sync::MutexGuard<'_, HashMap<String, Timestamp>> {
        // Plain data: a panic elsewhere cannot leave it half-updated.
        self.since.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("a timestamp")
    }

    #[test]
    fn the_budget_counts_from_the_first_failure_until_forgotten() {
        let clocks = RetryClocks::default();
        assert_eq!(clocks.failing_for("a", at(100)), Duration::ZERO);
        clocks.failed("a", at(100));
        clocks.failed("a", at(130));
        assert_eq!(clocks.failing_for("a", at(160)), Duration::from_secs(60));
        assert_eq!(clocks.failing_for("b", at(160)), Duration::ZERO);
        clocks.forget("a");
        assert_eq!(clocks.failing_for("a", at(200)), Duration::ZERO);
    }
}
