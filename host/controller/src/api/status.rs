//! What the controller reports about an issuer.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::{Condition, ConditionStatus, READY, set_condition};
use super::schema;

/// The observed state of a WasmIssuer or WasmClusterIssuer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerStatus {
    /// The issuer's conditions. `Ready` says whether certificate requests are
    /// served: `True`/`Checked` once the plugin loaded and its check passed,
    /// `False`/`Pending` while retrying, `False`/`Failed` until the spec changes.
    /// `PluginReady` says whether the newest content of the plugin's source
    /// is the one serving: `False`/`Refused` when a new version could not be
    /// fetched, compiled or checked (the last good version keeps serving).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // A map keyed by type lets server-side apply give each condition type its
    // own owner, so our field manager never owns others' conditions.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The sha256 digest (`sha256:<hex>`) of the plugin that serves requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_digest: Option<String>,
    /// Where the serving plugin came from; for an OCI tag, the immutable
    /// reference it resolved to (`registry/repository@sha256:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_source: Option<String>,
    /// When the serving plugin was loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::date_time")]
    pub plugin_loaded_at: Option<Time>,
    /// The policies serving, in the order they are asked, each with the
    /// digest of its version in use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub policies: Vec<PolicyStatus>,
    /// When the plugin's check last ran, whatever its result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::date_time")]
    pub last_check_time: Option<Time>,
}

/// One policy serving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// The policy's name in `spec.policies`.
    pub name: String,
    /// The sha256 digest (`sha256:<hex>`) of the policy's plugin in use.
    pub digest: String,
    /// Where that plugin came from.
    pub source: String,
    /// When that plugin was loaded.
    #[schemars(schema_with = "schema::date_time")]
    pub loaded_at: Time,
}

impl IssuerStatus {
    /// The `Ready` condition, if one was written.
    pub fn ready_condition(&self) -> Option<&Condition> {
        self.condition(READY)
    }

    /// The condition of `type_`, if one was written.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Whether the issuer is Ready for the spec of `generation`: a Ready=True
    /// computed from an older spec does not count (the new spec may be broken).
    pub fn is_ready_for(&self, generation: i64) -> bool {
        self.ready_condition().is_some_and(|ready| {
            ready.status == ConditionStatus::True && ready.observed_generation == Some(generation)
        })
    }

    /// Sets a condition as Go's `meta.SetStatusCondition` does: the transition
    /// time is kept if the status did not change. Returns whether anything but
    /// that time changed.
    pub fn set_condition(&mut self, condition: Condition) -> bool {
        set_condition(&mut self.conditions, condition)
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::api::reason;

    fn status_with_ready(
        status: ConditionStatus,
        observed_generation: Option<i64>,
    ) -> IssuerStatus {
        let mut issuer_status = IssuerStatus::default();
        issuer_status.set_condition(Condition {
            type_: READY.to_owned(),
            status,
            reason: reason::CHECKED.to_owned(),
            message: String::new(),
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
            observed_generation,
        });
        issuer_status
    }

    #[test]
    fn ready_for_the_generation_it_observed() {
        let status = status_with_ready(ConditionStatus::True, Some(3));
        assert!(status.is_ready_for(3));
        assert!(!status.is_ready_for(4), "the spec changed since the check");
    }

    #[test]
    fn not_ready_when_false_unknown_missing_or_unobserved() {
        assert!(!status_with_ready(ConditionStatus::False, Some(1)).is_ready_for(1));
        assert!(!status_with_ready(ConditionStatus::Unknown, Some(1)).is_ready_for(1));
        assert!(!status_with_ready(ConditionStatus::True, None).is_ready_for(1));
        assert!(!IssuerStatus::default().is_ready_for(1));
    }

    #[test]
    fn other_condition_types_are_not_ready() {
        let mut status = status_with_ready(ConditionStatus::True, Some(1));
        status.conditions[0].type_ = "Other".to_owned();
        assert!(status.ready_condition().is_none());
        assert!(!status.is_ready_for(1));
    }
}
