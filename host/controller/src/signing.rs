//! One request through an issuer's plugins: its policies, in order, then
//! its signer. Every kind of request (CertificateRequest, Kubernetes CSR)
//! goes through here, so all get the same decisions and checks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasm_issuer_runtime::{CallError, Decision, IssuedCertificate, PluginRequest, World};

use crate::error::Error;
use crate::issuer_states::{LoadedIssuer, LoadedPolicy};
use crate::metrics::{Metrics, RequestKind};

/// cert-manager's lifetime when a request names none: 90 days.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(90 * 24 * 3600);

/// Why a request got no certificate.
#[derive(Debug)]
pub enum Refusal {
    /// A policy denied the request.
    Denied { policy: String, reason: String },
    /// A policy found the request malformed rather than forbidden.
    Invalid { policy: String, reason: String },
    /// A policy could not decide (it trapped or ran out of time): the
    /// request is not signed (policies fail closed), and may be retried.
    PolicyFailed { policy: String, error: CallError },
    /// The signer failed; its own class says what that means.
    Signer(CallError),
}

/// [`sign`] on a blocking thread, in the caller's tracing span: plugin
/// calls are CPU-bound and must not hold up the reconcilers' runtime.
pub async fn sign_off_runtime(
    loaded: Arc<LoadedIssuer>,
    request: PluginRequest,
    metrics: &Arc<Metrics>,
    kind: RequestKind,
) -> Result<Result<IssuedCertificate, Refusal>, Error> {
    let span = tracing::Span::current();
    let start = Instant::now();
    let call_metrics = Arc::clone(metrics);
    let result = tokio::task::spawn_blocking(move || {
        span.in_scope(|| sign(&loaded, &request, &call_metrics))
    });
    let result = result.await?;
    metrics.signed_in(kind, start.elapsed());
    Ok(result)
}

/// Asks every policy, then the signer (which the host has checked).
/// CPU-bound: run it on a blocking thread.
fn sign(
    loaded: &LoadedIssuer,
    request: &PluginRequest,
    metrics: &Metrics,
) -> Result<IssuedCertificate, Refusal> {
    for policy in &loaded.policies {
        evaluate(policy, request, metrics)?;
    }
    let signer = &loaded.signer;
    let start = Instant::now();
    let signed = signer.plugin.sign(&signer.sandbox, request);
    metrics.plugin_call(World::Signer, start.elapsed(), &signed);
    signed.map_err(Refusal::Signer)
}

/// One policy's decision on `request`, given the policy's own configuration.
fn evaluate(
    policy: &LoadedPolicy,
    request: &PluginRequest,
    metrics: &Metrics,
) -> Result<(), Refusal> {
    let mut request = request.clone();
    request.issuer.config.clone_from(&policy.config);
    let name = || policy.name.clone();
    let start = Instant::now();
    let decision = policy.plugin.evaluate(&policy.sandbox, &request);
    metrics.plugin_call(World::Policy, start.elapsed(), &decision);
    match decision {
        Ok(Decision::Allow) => Ok(()),
        Ok(Decision::Deny(reason)) => Err(Refusal::Denied {
            policy: name(),
            reason,
        }),
        Ok(Decision::Invalid(reason)) => Err(Refusal::Invalid {
            policy: name(),
            reason,
        }),
        Err(error) => Err(Refusal::PolicyFailed {
            policy: name(),
            error,
        }),
    }
}
