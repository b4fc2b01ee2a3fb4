//! Kubernetes Events (`events.k8s.io/v1`) for what users should see in
//! `kubectl describe`. Events are best effort: a refused Event is logged,
//! never an error.
//!
//! Each Event is created on its own. kube's `Recorder` folds Events of the
//! same reason on the same object into a series that keeps the first note,
//! which would lose what changed (e.g. which digest a reload brought);
//! ours are emitted on transitions only, so there is no flood to fold.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Resource, ResourceExt};

use crate::issuer::key_reference;
use crate::issuer_key::IssuerKey;
use crate::options::FIELD_MANAGER;

/// The reason of the Event on a request that waits for approval.
pub const WAITING_FOR_APPROVAL: &str = "WaitingForApproval";

/// The reason of a Warning on an issuer when signing one of its requests failed.
const SIGNING_FAILED: &str = "SigningFailed";

/// Where Events about cluster-scoped objects go, as kubectl looks for them.
const CLUSTER_EVENTS_NAMESPACE: &str = "default";

pub struct Events {
    client: kube::Client,
    instance: String,
}

#[derive(Clone, Copy)]
enum Type {
    Normal,
    Warning,
}

impl Events {
    /// `instance` names this replica (the pod name in a cluster).
    pub fn new(client: kube::Client, instance: Option<String>) -> Self {
        Self {
            client,
            instance: instance.unwrap_or_else(|| FIELD_MANAGER.to_owned()),
        }
    }

    pub async fn normal(&self, object: &ObjectReference, reason: &str, note: String) {
        self.publish(object, Type::Normal, reason, note).await;
    }

    pub async fn warning(&self, object: &ObjectReference, reason: &str, note: String) {
        self.publish(object, Type::Warning, reason, note).await;
    }

    /// Signing problems are the issuer owner's business too: a Warning on
    /// the issuer naming the request (e.g. `CertificateRequest team/web`).
    pub async fn signing_failed<Request>(
        &self,
        issuer: &IssuerKey,
        request: &Request,
        message: &str,
    ) where
        Request: Resource<DynamicType = ()>,
    {
        let name = match request.meta().namespace.as_deref() {
            Some(namespace) => format!("{namespace}/{}", request.name_any()),
            None => request.name_any(),
        };
        let note = format!("{} {name}: {message}", Request::kind(&()));
        self.warning(&key_reference(issuer), SIGNING_FAILED, note)
            .await;
    }

    async fn publish(&self, object: &ObjectReference, type_: Type, reason: &str, note: String) {
        let namespace = object
            .namespace
            .clone()
            .unwrap_or_else(|| CLUSTER_EVENTS_NAMESPACE.to_owned());
        let now = Timestamp::now();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    object.name.as_deref().unwrap_or(FIELD_MANAGER),
                    now.as_nanosecond()
                )),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(
                match type_ {
                    Type::Normal => "Normal",
                    Type::Warning => "Warning",
                }
                .to_owned(),
            ),
            reason: Some(reason.to_owned()),
            action: Some(reason.to_owned()),
            // The Events API caps a note at 1 kB.
            note: Some(truncate(note, 1000)),
            regarding: Some(object.clone()),
            reporting_controller: Some(FIELD_MANAGER.to_owned()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        };
        let created = Api::<Event>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await;
        if let Err(error) = created {
            tracing::warn!(
                object.kind = object.kind.as_deref(),
                object.namespace = object.namespace.as_deref(),
                object.name = object.name.as_deref(),
                %reason,
                "cannot record an event: {error}"
            );
        }
    }
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    text.truncate(text.floor_char_boundary(max));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_a_character_boundary() {
        assert_eq!(truncate("héllo".to_owned(), 2), "h");
        assert_eq!(truncate("hello".to_owned(), 10), "hello");
        assert_eq!(truncate("hello".to_owned(), 3), "hel");
    }
}
