//! Writing an issuer's status: server-side apply with our field manager,
//! so that we own our conditions and fields and nobody else's.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::kind::IssuerKind;
use crate::api::{Condition, ConditionStatus, IssuerStatus, PLUGIN_READY, PolicyStatus, READY};
use crate::error::Error;
use crate::issuer_states::{LoadedIssuer, LoadedPolicy};
use crate::options::FIELD_MANAGER;

/// One condition to report.
pub struct Said {
    pub status: ConditionStatus,
    pub reason: &'static str,
    pub message: String,
}

/// What to report: Ready, PluginReady, and the versions serving (if any).
pub struct Report<'a> {
    pub ready: Said,
    pub plugin_ready: Said,
    pub serving: Option<&'a LoadedIssuer>,
}

/// Applies `report` to the issuer's status; returns whether the Ready and
/// PluginReady conditions changed, in that order (transitions worth an Event).
pub async fn apply<K: IssuerKind>(
    client: &kube::Client,
    issuer: &K,
    report: Report<'_>,
) -> Result<(bool, bool), Error> {
    let now = Time(Timestamp::now());
    let previous = issuer.issuer_status();
    let signer = report.serving.map(|serving| &serving.signer);
    let mut status = IssuerStatus {
        // Only our conditions: applying others would take their ownership.
        conditions: [READY, PLUGIN_READY]
            .iter()
            .filter_map(|type_| previous.and_then(|status| status.condition(type_)))
            .cloned()
            .collect(),
        plugin_digest: signer.map(|signer| signer.plugin.digest().to_string()),
        plugin_source: signer.map(|signer| signer.origin.clone()),
        plugin_loaded_at: signer.map(|signer| signer.loaded_at.clone()),
        policies: report
            .serving
            .map(|serving| {
                serving
                    .policies
                    .iter()
                    .map(|policy| policy_status(policy))
                    .collect()
            })
            .unwrap_or_default(),
        last_check_time: Some(now.clone()),
    };
    let generation = issuer.meta().generation;
    let mut condition = |type_: &str, said: Said| {
        status.set_condition(Condition {
            type_: type_.to_owned(),
            status: said.status,
            reason: said.reason.to_owned(),
            message: said.message,
            last_transition_time: now.clone(),
            observed_generation: generation,
        })
    };
    let ready_changed = condition(READY, report.ready);
    let plugin_changed = condition(PLUGIN_READY, report.plugin_ready);
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
    Ok((ready_changed, plugin_changed))
}

fn policy_status(policy: &LoadedPolicy) -> PolicyStatus {
    PolicyStatus {
        name: policy.name.clone(),
        digest: policy.plugin.digest().to_string(),
        source: policy.origin.clone(),
        loaded_at: policy.loaded_at.clone(),
    }
}
