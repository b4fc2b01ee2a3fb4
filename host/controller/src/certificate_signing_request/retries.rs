//! When each CSR's retryable failures began: the retry budget counts from
//! then. A CertificateRequest keeps this in an annotation; a CSR's metadata
//! is the requester's (writing it would take `update` on every CSR), so it
//! is kept here, and a restarted controller grants a retrying CSR a fresh
//! budget.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::outcome::MAX_RETRY_DELAY;

pub struct RetryClocks {
    /// A clock older than this is of a CSR no longer retrying: one that is
    /// is attempted again within the longest retry delay of its budget
    /// running out, then fails for good and is forgotten. A deleted CSR is
    /// never reconciled again, so nothing else would forget it.
    horizon: Duration,
    /// By CSR uid.
    since: Mutex<HashMap<String, Timestamp>>,
}

impl RetryClocks {
    /// Clocks for retries given `budget` before they fail for good.
    pub fn new(budget: Duration) -> Self {
        Self {
            horizon: budget.saturating_add(MAX_RETRY_DELAY),
            since: Mutex::default(),
        }
    }

    /// How long `uid` has been failing retryably at `attempt`; zero if it
    /// was not.
    pub fn failing_for(&self, uid: &str, attempt: Timestamp) -> Duration {
        self.since()
            .get(uid)
            .map_or(Duration::ZERO, |since| elapsed(*since, attempt))
    }

    /// `uid` failed retryably at `attempt`; the first such failure counts.
    /// Clocks past the horizon go.
    pub fn failed(&self, uid: &str, attempt: Timestamp) {
        let mut since = self.since();
        since.retain(|_, started| elapsed(*started, attempt) <= self.horizon);
        since.entry(uid.to_owned()).or_insert(attempt);
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

/// Whole seconds from `since` to `attempt`; zero if the clock went back.
fn elapsed(since: Timestamp, attempt: Timestamp) -> Duration {
    u64::try_from(attempt.duration_since(since).as_secs())
        .map_or(Duration::ZERO, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_secs(300);

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("a timestamp")
    }

    #[test]
    fn the_budget_counts_from_the_first_failure_until_forgotten() {
        let clocks = RetryClocks::new(BUDGET);
        assert_eq!(clocks.failing_for("a", at(100)), Duration::ZERO);
        clocks.failed("a", at(100));
        clocks.failed("a", at(130));
        assert_eq!(clocks.failing_for("a", at(160)), Duration::from_secs(60));
        assert_eq!(clocks.failing_for("b", at(160)), Duration::ZERO);
        clocks.forget("a");
        assert_eq!(clocks.failing_for("a", at(200)), Duration::ZERO);
    }

    #[test]
    fn clocks_of_csrs_no_longer_retrying_go_when_another_fails() {
        let clocks = RetryClocks::new(BUDGET);
        clocks.failed("deleted", at(0));
        clocks.failed("retrying", at(500));
        // Budget and longest delay: 600 s. Still kept at the horizon...
        clocks.failed("other", at(600));
        assert_eq!(
            clocks.failing_for("deleted", at(600)),
            Duration::from_secs(600)
        );
        // ...gone past it, while a younger clock stays.
        clocks.failed("other", at(601));
        assert_eq!(clocks.failing_for("deleted", at(601)), Duration::ZERO);
        assert_eq!(
            clocks.failing_for("retrying", at(601)),
            Duration::from_secs(101)
        );
    }
}
