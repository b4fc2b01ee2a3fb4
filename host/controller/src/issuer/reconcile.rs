//! The issuer reconciler: load the plugin, check it, swap it in, say so.
//!
//! A new version of the plugin (new bytes in its source) that cannot be
//! fetched, compiled or checked does not stop issuing: the version already
//! serving the issuer's current spec goes on serving, and `PluginReady`
//! says why the new one was refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;

use super::kind::IssuerKind;
use super::load::{Candidate, Problem, load};
use super::status::{self, Report, Said};
use crate::api::{ConditionStatus, IssuerStatus, PluginSource, reason};
use crate::context::Context;
use crate::error::Error;
use crate::issuer_states::{IssuerState, LoadedIssuer};

/// Retry delays of a Pending issuer: as long as it has been Pending,
/// within these bounds (so the delay doubles).
const MIN_PENDING_RETRY: Duration = Duration::from_secs(5);
const MAX_PENDING_RETRY: Duration = Duration::from_secs(300);

/// Event reasons of plugin versions.
const PLUGIN_LOADED: &str = "PluginLoaded";
const PLUGIN_REFUSED: &str = "PluginRefused";

pub async fn reconcile<K: IssuerKind>(issuer: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = issuer.key();
    let uid = issuer.meta().uid.clone().unwrap_or_default();
    let generation = issuer.meta().generation.unwrap_or_default();
    let state = ctx.issuers.get(&key, &uid);
    // The version serving this very spec, if any.
    let serving = match &state {
        Some(IssuerState::Ready {
            generation: served,
            loaded,
        }) if *served == generation => Some(Arc::clone(loaded)),
        _ => None,
    };

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
            report_problem(&*issuer, &ctx, &Problem::pending(message)).await?;
            return Ok(Action::requeue(wait));
        }
        ctx.issuers.clear_signing_failure(&key);
    }

    // A new spec: requests wait from now on, not from when the status says so.
    if state.as_ref().map(IssuerState::generation) != Some(generation) {
        ctx.issuers.set(
            &key,
            &uid,
            IssuerState::NotReady {
                generation,
                message: format!("generation {generation} is being checked"),
            },
        );
    }

    match load(&*issuer, &ctx, serving.as_deref()).await {
        Ok(candidate) => {
            ctx.metrics.updates_refused(candidate.refused.len());
            let refused = !candidate.refused.is_empty();
            report_ready(&*issuer, &ctx, candidate, &uid, generation).await?;
            let next = next_check(&*issuer);
            // A refused version is retried sooner: its source may be fixed.
            Ok(Action::requeue(if refused {
                pending_retry(issuer.issuer_status()).min(next)
            } else {
                next
            }))
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
                // Only a change of the spec or of a referenced object
                // helps, and each of those triggers a reconcile.
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

/// When to look again with nothing changed: the check interval, or sooner
/// for an OCI tag (of the signer or a policy), which may move.
fn next_check<K: IssuerKind>(issuer: &K) -> Duration {
    match issuer.issuer_spec().validate() {
        Ok(valid) => valid
            .plugins()
            .filter_map(|plugin| match plugin.source {
                PluginSource::Oci { poll_interval, .. } => Some(poll_interval),
                _ => None,
            })
            .fold(valid.check_interval, Duration::min),
        Err(_) => MAX_PENDING_RETRY,
    }
}

/// The issuer serves `candidate`: say so, and announce new versions.
async fn report_ready<K: IssuerKind>(
    issuer: &K,
    ctx: &Context,
    candidate: Candidate,
    uid: &str,
    generation: i64,
) -> Result<(), Error> {
    let Candidate {
        loaded,
        new_versions,
        refused,
    } = candidate;
    let loaded = Arc::new(loaded);
    // Ready here first: requests may be signed before the status write
    // comes back through the watch. Requests already running keep the
    // versions they started with.
    ctx.issuers.set(
        &issuer.key(),
        uid,
        IssuerState::Ready {
            generation,
            loaded: Arc::clone(&loaded),
        },
    );
    let signer = &loaded.signer;
    let digest = signer.plugin.digest();
    let message = format!("plugin {digest} loaded and its check passed");
    let plugin_ready = if refused.is_empty() {
        Said {
            status: ConditionStatus::True,
            reason: reason::LOADED,
            message: serving_message(&loaded),
        }
    } else {
        Said {
            status: ConditionStatus::False,
            reason: reason::REFUSED,
            message: refused.join("; "),
        }
    };
    let report = Report {
        ready: Said {
            status: ConditionStatus::True,
            reason: reason::CHECKED,
            message: message.clone(),
        },
        plugin_ready,
        serving: Some(&loaded),
    };
    let (ready_changed, plugin_changed) = status::apply(&ctx.client, issuer, report).await?;
    let object = issuer.object_ref(&());
    for version in new_versions {
        let was = version
            .replaces
            .map_or(String::new(), |replaced| format!(" (was {replaced})"));
        let note = format!(
            "{}: serving {} from {}{was}; {}",
            version.plugin, version.digest, version.origin, version.provenance
        );
        tracing::info!(issuer = %issuer.key(), "{note}");
        ctx.events.normal(&object, PLUGIN_LOADED, note).await;
    }
    if plugin_changed && !refused.is_empty() {
        let note = refused.join("; ");
        tracing::warn!(issuer = %issuer.key(), "new plugin version refused: {note}");
        ctx.events.warning(&object, PLUGIN_REFUSED, note).await;
    }
    if ready_changed {
        tracing::info!(issuer = %issuer.key(), "ready: {message}");
        ctx.events.normal(&object, reason::CHECKED, message).await;
    }
    Ok(())
}

/// PluginReady's message when every plugin's newest version serves.
fn serving_message(loaded: &LoadedIssuer) -> String {
    let signer = &loaded.signer;
    let mut message = format!("serving {} from {}", signer.plugin.digest(), signer.origin);
    if !loaded.policies.is_empty() {
        let policies: Vec<String> = loaded
            .policies
            .iter()
            .map(|policy| format!("{} {}", policy.name, policy.plugin.digest()))
            .collect();
        message.push_str(&format!(", with policies {}", policies.join(", ")));
    }
    message
}

async fn report_problem<K: IssuerKind>(
    issuer: &K,
    ctx: &Context,
    problem: &Problem,
) -> Result<(), Error> {
    tracing::info!(issuer = %issuer.key(), reason = problem.reason, "not ready: {}", problem.message);
    let report = Report {
        ready: Said {
            status: ConditionStatus::False,
            reason: problem.reason,
            message: problem.message.clone(),
        },
        plugin_ready: Said {
            status: ConditionStatus::False,
            reason: if problem.new_version {
                reason::REFUSED
            } else {
                problem.reason
            },
            message: problem.message.clone(),
        },
        serving: None,
    };
    let (ready_changed, _) = status::apply(&ctx.client, issuer, report).await?;
    if ready_changed {
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
