//! Status conditions, shaped like `metav1.Condition` (and cert-manager's
//! `IssuerCondition`), with a typed status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// The condition type issuers report; cert-manager and `kubectl get` read it.
pub const READY: &str = "Ready";
/// Whether the newest version of the plugin's source is the one serving.
pub const PLUGIN_READY: &str = "PluginReady";

/// Reasons of the [`READY`] condition, as cert-manager's contract names them.
pub mod reason {
    /// Ready=True: the plugin loaded and its `check` passed.
    pub const CHECKED: &str = "Checked";
    /// Ready=False, to be retried with backoff (e.g. a Secret not there yet).
    pub const PENDING: &str = "Pending";
    /// Ready=False until the spec changes (e.g. an invalid spec).
    pub const FAILED: &str = "Failed";
    /// PluginReady=True: the newest version of the source serves.
    pub const LOADED: &str = "Loaded";
    /// PluginReady=False: a new version was refused (see the message).
    pub const REFUSED: &str = "Refused";
}

/// One aspect of an object's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, e.g. `Ready`; unique within the list.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether the condition holds: `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// A CamelCase word a program can act on, e.g. `Checked`, `Pending`, `Failed`.
    pub reason: String,
    /// A human-readable explanation of the reason.
    pub message: String,
    /// When `status` last changed (not when the condition was last written).
    #[schemars(schema_with = "schema::date_time")]
    pub last_transition_time: Time,
    /// The `metadata.generation` this condition was computed from: a Ready
    /// condition older than the spec says nothing about the current spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The status of a [`Condition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// Puts `condition` into `conditions`, replacing the one of the same type.
///
/// As `meta.SetStatusCondition` does in Go: if the status did not change, the
/// old `lastTransitionTime` is kept, so it keeps meaning "since when". Returns
/// whether anything but the time changed, which tells the caller whether the
/// transition deserves a write or an Event.
pub(crate) fn set_condition(conditions: &mut Vec<Condition>, mut condition: Condition) -> bool {
    let Some(existing) = conditions.iter_mut().find(|c| c.type_ == condition.type_) else {
        conditions.push(condition);
        return true;
    };
    if existing.status == condition.status {
        condition.last_transition_time = existing.last_transition_time.clone();
    }
    let changed = *existing != condition;
    *existing = condition;
    changed
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn ready(status: ConditionStatus, reason: &str, at_second: i64) -> Condition {
        Condition {
            type_: READY.to_owned(),
            status,
            reason: reason.to_owned(),
            message: format!("{reason} message"),
            last_transition_time: Time(Timestamp::from_second(at_second).expect("in range")),
            observed_generation: Some(1),
        }
    }

    #[test]
    fn adds_a_condition_of_a_new_type() {
        let mut conditions = Vec::new();
        assert!(set_condition(
            &mut conditions,
            ready(ConditionStatus::True, reason::CHECKED, 10)
        ));
        assert_eq!(
            conditions,
            [ready(ConditionStatus::True, reason::CHECKED, 10)]
        );
    }

    #[test]
    fn same_status_keeps_the_transition_time() {
        let mut conditions = vec![ready(ConditionStatus::False, reason::PENDING, 10)];
        let changed = set_condition(
            &mut conditions,
            ready(ConditionStatus::False, reason::FAILED, 20),
        );
        assert!(changed, "the reason changed");
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].reason, reason::FAILED);
        assert_eq!(
            conditions[0].last_transition_time,
            ready(ConditionStatus::False, reason::PENDING, 10).last_transition_time
        );
    }

    #[test]
    fn rewriting_the_same_condition_later_is_no_change() {
        let mut conditions = vec![ready(ConditionStatus::True, reason::CHECKED, 10)];
        assert!(!set_condition(
            &mut conditions,
            ready(ConditionStatus::True, reason::CHECKED, 99)
        ));
    }

    #[test]
    fn a_new_status_takes_the_new_transition_time() {
        let mut conditions = vec![ready(ConditionStatus::True, reason::CHECKED, 10)];
        assert!(set_condition(
            &mut conditions,
            ready(ConditionStatus::False, reason::PENDING, 20)
        ));
        assert_eq!(
            conditions,
            [ready(ConditionStatus::False, reason::PENDING, 20)]
        );
    }

    #[test]
    fn serializes_like_metav1_condition() {
        let json = serde_json::to_value(ready(ConditionStatus::True, reason::CHECKED, 0))
            .expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "type": "Ready",
                "status": "True",
                "reason": "Checked",
                "message": "Checked message",
                "lastTransitionTime": "1970-01-01T00:00:00Z",
                "observedGeneration": 1,
            })
        );
    }
}
