//! Writing an issuer's status: server-side apply with our field manager,
//! so that we own our condition and fields and nobody else's.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::kind::IssuerKind;
use crate::api::{Condition, ConditionStatus, IssuerStatus, READY};
use crate::error::Error;
use crate::options::FIELD_MANAGER;

/// The Ready condition to report, and the plugin that serves (if any).
pub struct Report<'a> {
    pub status: ConditionStatus,
    pub reason: &'a str,
    pub message: String,
    pub plugin_digest: Option<String>,
}

/// Applies `report` to the issuer's status; returns whether the Ready
/// condition changed (a transition worth an Event).
pub async fn apply<K: IssuerKind>(
    client: &kube::Client,
    issuer: &K,
    report: Report<'_>,
) -> Result<bool, Error> {
    let now = Time(Timestamp::now());
    let mut status = IssuerStatus {
        // Only our condition: applying others would take their ownership.
        conditions: issuer
            .issuer_status()
            .and_then(IssuerStatus::ready_condition)
            .cloned()
            .into_iter()
            .collect(),
        plugin_digest: report.plugin_digest,
        last_check_time: Some(now.clone()),
    };
    let changed = status.set_condition(Condition {
        type_: READY.to_owned(),
        status: report.status,
        reason: report.reason.to_owned(),
        message: report.message,
        last_transition_time: now,
        observed_generation: issuer.meta().generation,
    });
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    issuer
        .api_for(client.clone())
        .patch_status(
            &issuer.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(patch),
        )
        .await?;
    Ok(changed)
}
