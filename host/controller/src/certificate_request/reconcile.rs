//! The CertificateRequest reconciler: decide, sign if the contract allows,
//! and write what happened.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::decide::{Step, decide};
use super::plugin_request::plugin_request;
use super::status::{self, Update};
use crate::api::{CertificateRequest, request_reason};
use crate::context::Context;
use crate::error::Error;
use crate::events::WAITING_FOR_APPROVAL;
use crate::issuer_key::IssuerKey;
use crate::issuer_states::{IssuerState, LoadedIssuer};
use crate::metrics::RequestKind;
use crate::options::FIELD_MANAGER;
use crate::outcome::{Outcome, classify};
use crate::signing;

/// When the first signing attempt of a request failed retryably: the
/// retry budget counts from then, across restarts of the controller.
pub const RETRYING_SINCE: &str = "wasm-issuer.dev/retrying-since";

pub async fn reconcile(
    request: Arc<CertificateRequest>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let mut issuer_state = None;
    let step = decide(&request, |key| {
        let (object, state) = ctx.issuer_lookup(key);
        let readiness = state.as_ref().map(IssuerState::readiness);
        issuer_state = state;
        (object, readiness)
    });
    match step {
        Step::Ignore => Ok(Action::await_change()),
        Step::WaitForApproval { issuer } => {
            let note = format!("waiting for approval before {issuer} signs");
            ctx.events
                .normal(&request.object_ref(&()), WAITING_FOR_APPROVAL, note)
                .await;
            Ok(Action::await_change())
        }
        Step::Deny { issuer } => {
            ctx.metrics
                .request(RequestKind::CertificateRequest, &issuer, "denied");
            write(&ctx, &request, Update::denied()).await?;
            Ok(Action::await_change())
        }
        Step::WaitForIssuer { message, .. } => {
            write(&ctx, &request, Update::pending(message)).await?;
            Ok(Action::await_change())
        }
        Step::Sign { issuer, generation } => match issuer_state {
            Some(IssuerState::Ready { loaded, .. }) => {
                sign(&ctx, &request, &issuer, generation, loaded).await
            }
            // decide() saw Ready in this very state.
            _ => Ok(Action::requeue(Duration::from_secs(1))),
        },
    }
}

pub fn error_policy(request: Arc<CertificateRequest>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(
        namespace = request.namespace().as_deref(),
        name = %request.name_any(),
        "reconcile failed, retrying: {error}"
    );
    Action::requeue(Duration::from_secs(5))
}

async fn sign(
    ctx: &Context,
    request: &CertificateRequest,
    issuer: &IssuerKey,
    generation: i64,
    loaded: Arc<LoadedIssuer>,
) -> Result<Action, Error> {
    let plugin_request = match plugin_request(request, &loaded.signer.info) {
        Ok(plugin_request) => plugin_request,
        Err(message) => {
            ctx.metrics
                .request(RequestKind::CertificateRequest, issuer, "invalid");
            write(ctx, request, Update::invalid(message)).await?;
            return Ok(Action::await_change());
        }
    };
    let attempt = Timestamp::now();
    let retrying_since = retrying_since(request);
    let result = signing::sign_off_runtime(
        loaded,
        plugin_request,
        &ctx.metrics,
        RequestKind::CertificateRequest,
    )
    .await?;
    let retrying_for = retrying_since.map_or(Duration::ZERO, |since| elapsed(since, attempt));
    let outcome = classify(result, retrying_for, ctx.options.max_retry_duration);
    ctx.metrics
        .request(RequestKind::CertificateRequest, issuer, outcome.label());
    match outcome {
        Outcome::Issued(issued) => {
            ctx.issuers.report_signed(issuer);
            let message = format!("Certificate issued by {issuer}");
            write(
                ctx,
                request,
                Update::issued(message, issued.chain_pem(), issued.ca_pem()),
            )
            .await?;
            Ok(Action::await_change())
        }
        Outcome::Pending {
            message,
            retry_after,
        } => {
            write(ctx, request, Update::pending(message)).await?;
            Ok(Action::requeue(retry_after))
        }
        Outcome::Retry {
            message,
            retry_after,
        } => {
            if retrying_since.is_none() {
                mark_retrying_since(ctx, request, attempt).await?;
            }
            ctx.events.signing_failed(issuer, request, &message).await;
            write(
                ctx,
                request,
                Update::pending(format!("{message}; will retry")),
            )
            .await?;
            Ok(Action::requeue(retry_after))
        }
        Outcome::Failed { message } => {
            ctx.events.signing_failed(issuer, request, &message).await;
            write(ctx, request, Update::failed(message)).await?;
            Ok(Action::await_change())
        }
        Outcome::Invalid { message } => {
            write(ctx, request, Update::invalid(message)).await?;
            Ok(Action::await_change())
        }
        Outcome::IssuerNotReady { message } => {
            ctx.events.signing_failed(issuer, request, &message).await;
            ctx.issuers
                .report_signing_failure(issuer, generation, &message);
            let message = format!("{issuer} is not ready: signing failed: {message}");
            write(ctx, request, Update::pending(message)).await?;
            // The issuer's next state change reconciles this request again.
            Ok(Action::await_change())
        }
    }
}

/// Writes `update` and, if it was a transition, records an Event.
async fn write(ctx: &Context, request: &CertificateRequest, update: Update) -> Result<(), Error> {
    let reason = update.reason();
    let note = update.message().to_owned();
    if status::apply(&ctx.client, request, update).await? {
        tracing::info!(reason, "{note}");
        let object = request.object_ref(&());
        if reason == request_reason::ISSUED || reason == request_reason::PENDING {
            ctx.events.normal(&object, reason, note).await;
        } else {
            ctx.events.warning(&object, reason, note).await;
        }
    }
    Ok(())
}

fn retrying_since(request: &CertificateRequest) -> Option<Timestamp> {
    request.annotations().get(RETRYING_SINCE)?.parse().ok()
}

async fn mark_retrying_since(
    ctx: &Context,
    request: &CertificateRequest,
    attempt: Timestamp,
) -> Result<(), Error> {
    let patch = json!({
        "apiVersion": CertificateRequest::api_version(&()),
        "kind": CertificateRequest::kind(&()),
        "metadata": {"annotations": {RETRYING_SINCE: attempt.to_string()}},
    });
    Api::<CertificateRequest>::namespaced(
        ctx.client.clone(),
        &request.namespace().unwrap_or_default(),
    )
    .patch(
        &request.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await?;
    Ok(())
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    u64::try_from(now.duration_since(since).as_secs()).map_or(Duration::ZERO, Duration::from_secs)
}
