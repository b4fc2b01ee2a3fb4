//! The issuer reconciler: load the plugin, check it, say so in the status.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;

use super::kind::IssuerKind;
use super::load::{Problem, load_and_check};
use super::status::{self, Report};
use crate::api::{ConditionStatus, IssuerStatus, reason};
use crate::context::Context;
use crate::error::Error;
use crate::issuer_states::{IssuerState, LoadedIssuer};

/// Retry delays of a Pending issuer: as long as it has been Pending,
/// within these bounds (so the delay doubles).
const MIN_PENDING_RETRY: Duration = Duration::from_secs(5);
const MAX_PENDING_RETRY: Duration = Duration::from_secs(300);

pub async fn reconcile<K: IssuerKind>(issuer: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = issuer.key();
    let uid = issuer.meta().uid.clone().unwrap_or_default();
    let generation = issuer.meta().generation.unwrap_or_default();

    // Signing said the issuer is broken: not Ready until a check passes,
    // and that check waits a while, so a plugin whose check passes while
    // its signing fails cannot make its requests spin.
    if let Some(failure) = ctx.issuers.signing_failure(&key) {
        let now = Instant::now();
        if now < failure.recheck_at {
            let wait = failure.recheck_at - now;
            let message = format!(
                "signing failed: {}; the plugin is checked again in {}s",
                failure.message,
                wait.as_secs().max(1)
            );
            report_problem(
                &*issuer,
                &ctx,
                &Problem {
                    reason: reason::PENDING,
                    message,
                },
            )
            .await?;
            return Ok(Action::requeue(wait));
        }
        ctx.issuers.clear_signing_failure(&key);
    }

    // A new spec: requests wait from now on, not from when the status says so.
    if ctx.issuers.get(&key, &uid).map(|state| state.generation()) != Some(generation) {
        ctx.issuers.set(
            &key,
            &uid,
            IssuerState::NotReady {
                generation,
                message: format!("generation {generation} is being checked"),
            },
        );
    }

    match load_and_check(&*issuer, &ctx).await {
        Ok(loaded) => {
            let check_interval = issuer
                .issuer_spec()
                .validate()
                .map(|valid| valid.check_interval)
                .unwrap_or(MAX_PENDING_RETRY);
            report_ready(&*issuer, &ctx, loaded, &uid, generation).await?;
            Ok(Action::requeue(check_interval))
        }
        Err(problem) => {
            ctx.issuers.set(
                &key,
                &uid,
                IssuerState::NotReady {
                    generation,
                    message: problem.message.clone(),
                },
            );
            report_problem(&*issuer, &ctx, &problem).await?;
            Ok(if problem.reason == reason::FAILED {
                // Only a change of the spec or of a referenced object helps,
                // and each of those triggers a reconcile.
                Action::await_change()
            } else {
                Action::requeue(pending_retry(issuer.issuer_status()))
            })
        }
    }
}

pub fn error_policy<K: IssuerKind>(issuer: Arc<K>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(issuer = %issuer.key(), "reconcile failed, retrying: {error}");
    Action::requeue(MIN_PENDING_RETRY)
}

async fn report_ready<K: IssuerKind>(
    issuer: &K,
    ctx: &Context,
    loaded: LoadedIssuer,
    uid: &str,
    generation: i64,
) -> Result<(), Error> {
    let digest = loaded.plugin.digest().to_string();
    // Ready here first: requests may be signed before the status write
    // comes back through the watch.
    ctx.issuers.set(
        &issuer.key(),
        uid,
        IssuerState::Ready {
            generation,
            loaded: Arc::new(loaded),
        },
    );
    let message = format!("plugin {digest} loaded and its check passed");
    let report = Report {
        status: ConditionStatus::True,
        reason: reason::CHECKED,
        message: message.clone(),
        plugin_digest: Some(digest),
    };
    if status::apply(&ctx.client, issuer, report).await? {
        tracing::info!(issuer = %issuer.key(), "ready: {message}");
        ctx.events
            .normal(&issuer.object_ref(&()), reason::CHECKED, message)
            .await;
    }
    Ok(())
}

async fn report_problem<K: IssuerKind>(
    issuer: &K,
    ctx: &Context,
    problem: &Problem,
) -> Result<(), Error> {
    tracing::info!(issuer = %issuer.key(), reason = problem.reason, "not ready: {}", problem.message);
    let report = Report {
        status: ConditionStatus::False,
        reason: problem.reason,
        message: problem.message.clone(),
        plugin_digest: None,
    };
    if status::apply(&ctx.client, issuer, report).await? {
        ctx.events
            .warning(
                &issuer.object_ref(&()),
                problem.reason,
                problem.message.clone(),
            )
            .await;
    }
    Ok(())
}

/// Waits as long as the issuer has been not-Ready (so the wait doubles),
/// within bounds.
fn pending_retry(status: Option<&IssuerStatus>) -> Duration {
    let since = status
        .and_then(IssuerStatus::ready_condition)
        .filter(|ready| ready.status == ConditionStatus::False)
        .map(|ready| ready.last_transition_time.0);
    let elapsed = since
        .and_then(|since| {
            let seconds = k8s_openapi::jiff::Timestamp::now()
                .duration_since(since)
                .as_secs();
            u64::try_from(seconds).ok()
        })
        .map_or(Duration::ZERO, Duration::from_secs);
    elapsed.clamp(MIN_PENDING_RETRY, MAX_PENDING_RETRY)
}
