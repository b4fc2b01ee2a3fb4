//! The CSR reconciler: decide, check the requester may use a namespaced
//! issuer, pass the issuer's gate, sign, and write what happened.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::decide::{Step, decide};
use super::plugin_request::plugin_request;
use super::reference::may_reference;
use super::status::{self, failed_reason};
use crate::context::Context;
use crate::error::Error;
use crate::events::WAITING_FOR_APPROVAL;
use crate::issuer_gate::{Gate, gate};
use crate::issuer_key::IssuerKey;
use crate::issuer_states::{IssuerState, LoadedIssuer};
use crate::metrics::RequestKind;
use crate::outcome::{Outcome, classify};
use crate::signing;

const KIND: RequestKind = RequestKind::CertificateSigningRequest;

/// Event reasons on CSRs besides the `Failed` reasons.
const ISSUED: &str = "Issued";
const ISSUER_NOT_READY: &str = "IssuerNotReady";
const PENDING: &str = "Pending";
const SIGNING_FAILED: &str = "SigningFailed";

pub async fn reconcile(
    csr: Arc<CertificateSigningRequest>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let issuer = match decide(&csr) {
        Step::Ignore => return Ok(Action::await_change()),
        Step::WaitForApproval { issuer } => {
            let note = format!("waiting for approval before {issuer} signs");
            ctx.events
                .normal(&csr.object_ref(&()), WAITING_FOR_APPROVAL, note)
                .await;
            return Ok(Action::await_change());
        }
        Step::Proceed { issuer } => issuer,
    };
    if let IssuerKey::Namespaced { namespace, name } = &issuer
        && !may_reference(&ctx.client, &csr, namespace, name).await?
    {
        let message = format!(
            "requester {:?} may not reference {issuer}: it needs verb \"reference\" on \
             \"signers\" in group cert-manager.io for {name:?} in namespace {namespace}",
            csr.spec.username.as_deref().unwrap_or_default()
        );
        ctx.metrics.request(KIND, &issuer, "denied_reference");
        fail(&ctx, &csr, failed_reason::DENIED_REFERENCE, message).await?;
        return Ok(Action::await_change());
    }
    let (object, state) = ctx.issuer_lookup(&issuer);
    match (
        gate(&issuer, object, state.as_ref().map(IssuerState::readiness)),
        state,
    ) {
        (Gate::Open { generation }, Some(IssuerState::Ready { loaded, .. })) => {
            sign(&ctx, &csr, &issuer, generation, loaded).await
        }
        // The gate saw Ready in this very state.
        (Gate::Open { .. }, _) => Ok(Action::requeue(Duration::from_secs(1))),
        (Gate::Closed { message }, _) => {
            // A CSR has no condition for waiting: an Event says it, and the
            // issuer's next change brings the CSR back.
            ctx.events
                .warning(&csr.object_ref(&()), ISSUER_NOT_READY, message)
                .await;
            Ok(Action::await_change())
        }
    }
}

pub fn error_policy(csr: Arc<CertificateSigningRequest>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(
        name = %csr.name_any(),
        "reconcile of CertificateSigningRequest failed, retrying: {error}"
    );
    Action::requeue(Duration::from_secs(5))
}

async fn sign(
    ctx: &Context,
    csr: &CertificateSigningRequest,
    issuer: &IssuerKey,
    generation: i64,
    loaded: Arc<LoadedIssuer>,
) -> Result<Action, Error> {
    let plugin_request = match plugin_request(csr, &loaded.signer.info) {
        Ok(plugin_request) => plugin_request,
        Err(message) => {
            ctx.metrics.request(KIND, issuer, "invalid");
            fail(ctx, csr, failed_reason::INVALID_REQUEST, message).await?;
            return Ok(Action::await_change());
        }
    };
    let uid = csr.uid().unwrap_or_default();
    let attempt = Timestamp::now();
    let result = signing::sign_off_runtime(loaded, plugin_request, &ctx.metrics, KIND).await?;
    let retrying_for = ctx.csr_retries.failing_for(&uid, attempt);
    let object = csr.object_ref(&());
    let outcome = classify(result, retrying_for, ctx.options.max_retry_duration);
    ctx.metrics.request(KIND, issuer, outcome.label());
    match outcome {
        Outcome::Issued(issued) => {
            ctx.issuers.report_signed(issuer);
            status::issued(&ctx.client, csr, issued.chain_pem()).await?;
            ctx.csr_retries.forget(&uid);
            let message = format!("Certificate issued by {issuer}");
            tracing::info!("{message}");
            ctx.events.normal(&object, ISSUED, message).await;
            Ok(Action::await_change())
        }
        Outcome::Pending {
            message,
            retry_after,
        } => {
            ctx.events.normal(&object, PENDING, message).await;
            Ok(Action::requeue(retry_after))
        }
        Outcome::Retry {
            message,
            retry_after,
        } => {
            ctx.csr_retries.failed(&uid, attempt);
            ctx.events.signing_failed(issuer, csr, &message).await;
            let note = format!("{message}; will retry");
            ctx.events.warning(&object, SIGNING_FAILED, note).await;
            Ok(Action::requeue(retry_after))
        }
        Outcome::Failed { message } => {
            ctx.events.signing_failed(issuer, csr, &message).await;
            fail(ctx, csr, failed_reason::SIGNING_ERROR, message).await?;
            Ok(Action::await_change())
        }
        Outcome::Invalid { message } => {
            fail(ctx, csr, failed_reason::INVALID_REQUEST, message).await?;
            Ok(Action::await_change())
        }
        Outcome::IssuerNotReady { message } => {
            ctx.events.signing_failed(issuer, csr, &message).await;
            ctx.issuers
                .report_signing_failure(issuer, generation, &message);
            let note = format!("{issuer} is not ready: signing failed: {message}");
            ctx.events.warning(&object, ISSUER_NOT_READY, note).await;
            // The issuer's next state change reconciles this CSR again.
            Ok(Action::await_change())
        }
    }
}

/// Writes `Failed=True` with `reason`, with a Warning Event of that reason.
async fn fail(
    ctx: &Context,
    csr: &CertificateSigningRequest,
    reason: &str,
    message: String,
) -> Result<(), Error> {
    status::failed(&ctx.client, csr, reason, &message).await?;
    ctx.csr_retries.forget(&csr.uid().unwrap_or_default());
    tracing::info!(reason, "{message}");
    ctx.events
        .warning(&csr.object_ref(&()), reason, message)
        .await;
    Ok(())
}
