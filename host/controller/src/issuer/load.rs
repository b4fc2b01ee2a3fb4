//! Making an issuer ready to sign: its plugin from its source, its keys
//! from their Secrets, and the plugin's own check. What goes wrong becomes
//! a [`Problem`]: the reason and message of the issuer's Ready condition.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, ResourceExt};
use wasm_issuer_pki::GrantedKey;
use wasm_issuer_runtime::{CallError, ErrorClass, Grants, IssuerInfo, Sandbox};

use super::kind::IssuerKind;
use crate::api::{ConfigMapPluginSource, KeyGrant, PluginSource, reason};
use crate::context::Context;
use crate::issuer_states::LoadedIssuer;

/// Why an issuer is not Ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// [`reason::PENDING`] (retried with backoff) or [`reason::FAILED`]
    /// (until the spec or a referenced object changes).
    pub reason: &'static str,
    pub message: String,
}

impl Problem {
    fn pending(message: String) -> Self {
        Self {
            reason: reason::PENDING,
            message,
        }
    }

    fn failed(message: String) -> Self {
        Self {
            reason: reason::FAILED,
            message,
        }
    }
}

/// Loads the issuer's plugin and keys and runs the plugin's check.
pub async fn load_and_check<K: IssuerKind>(
    issuer: &K,
    ctx: &Context,
) -> Result<LoadedIssuer, Problem> {
    let spec = issuer.issuer_spec();
    let valid = spec
        .validate()
        .map_err(|invalid| Problem::failed(invalid.to_string()))?;
    let namespace = issuer.resource_namespace(&ctx.options);
    let (origin, wasm) = match valid.source {
        PluginSource::ConfigMap(source) => plugin_from_config_map(ctx, &namespace, source).await?,
    };
    let plugin = ctx
        .plugins
        .signer(wasm)
        .await
        .map_err(|error| Problem::failed(format!("the plugin in {origin}: {error}")))?;
    let mut grants = Grants::new();
    for grant in &spec.keys {
        grants.grant_key(&grant.name, granted_key(ctx, &namespace, grant).await?);
    }
    let key = issuer.key();
    let loaded = LoadedIssuer {
        plugin,
        sandbox: Sandbox {
            grants,
            limits: valid.limits,
        },
        info: IssuerInfo {
            name: issuer.name_any(),
            kind: key.kind().to_owned(),
            namespace: key.namespace().unwrap_or_default().to_owned(),
            config: serde_json::Value::Object(spec.plugin.config.clone()).to_string(),
        },
    };
    check(loaded).await
}

/// The component in a ConfigMap's `binaryData`, and where it came from.
async fn plugin_from_config_map(
    ctx: &Context,
    namespace: &str,
    source: &ConfigMapPluginSource,
) -> Result<(String, Vec<u8>), Problem> {
    let origin = format!("ConfigMap {namespace}/{}", source.name);
    let config_map = Api::<ConfigMap>::namespaced(ctx.client.clone(), namespace)
        .get_opt(&source.name)
        .await
        .map_err(|error| Problem::pending(format!("cannot read {origin}: {error}")))?
        .ok_or_else(|| Problem::pending(format!("{origin} not found")))?;
    if let Some(bytes) = config_map
        .binary_data
        .as_ref()
        .and_then(|data| data.get(&source.key))
    {
        return Ok((origin, bytes.0.clone()));
    }
    let in_text_data = config_map
        .data
        .as_ref()
        .is_some_and(|data| data.contains_key(&source.key));
    Err(Problem::failed(if in_text_data {
        format!(
            "{origin}: key {:?} is in data, but a component is binary: put it in binaryData (kubectl create configmap --from-file does)",
            source.key
        )
    } else {
        format!("{origin} has no binaryData key {:?}", source.key)
    }))
}

/// The key pair of one grant, from its Secret in the issuer's resource namespace.
async fn granted_key(
    ctx: &Context,
    namespace: &str,
    grant: &KeyGrant,
) -> Result<Arc<GrantedKey>, Problem> {
    let origin = format!(
        "Secret {namespace}/{} (key {:?})",
        grant.secret_name, grant.name
    );
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), namespace)
        .get_opt(&grant.secret_name)
        .await
        .map_err(|error| Problem::pending(format!("cannot read {origin}: {error}")))?
        .ok_or_else(|| Problem::pending(format!("{origin} not found")))?;
    let data = secret.data.unwrap_or_default();
    let field = |name: &str| data.get(name).map(|bytes| bytes.0.as_slice());
    let (Some(certificate), Some(private_key)) = (field("tls.crt"), field("tls.key")) else {
        return Err(Problem::failed(format!(
            "{origin} must hold tls.crt and tls.key"
        )));
    };
    GrantedKey::from_pem(certificate, private_key, field("ca.crt"))
        .map(Arc::new)
        .map_err(|error| Problem::failed(format!("{origin}: {error}")))
}

/// Runs the plugin's check on a blocking thread (it is CPU-bound wasm).
async fn check(loaded: LoadedIssuer) -> Result<LoadedIssuer, Problem> {
    let span = tracing::Span::current();
    let (loaded, result) = tokio::task::spawn_blocking(move || {
        let result = span.in_scope(|| loaded.plugin.check(&loaded.sandbox, &loaded.info));
        (loaded, result)
    })
    .await
    .map_err(|join| Problem::pending(format!("the plugin check did not finish: {join}")))?;
    match result {
        Ok(()) => Ok(loaded),
        Err(error) => Err(check_problem(&error)),
    }
}

/// A failed check: a plugin saying the request class is final (permanent,
/// invalid) means its configuration is wrong, which only a change fixes;
/// anything else may pass on the next try.
fn check_problem(error: &CallError) -> Problem {
    let message = format!("plugin check failed: {error}");
    match error.class() {
        ErrorClass::Permanent | ErrorClass::InvalidRequest => Problem::failed(message),
        ErrorClass::Pending | ErrorClass::Retryable | ErrorClass::IssuerNotReady => {
            Problem::pending(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_issuer_runtime::{PluginError, TrapKind};

    use super::*;

    #[test]
    fn a_check_failure_is_pending_unless_only_a_change_can_fix_it() {
        let not_ready = CallError::Plugin(PluginError::IssuerNotReady("CA expired".into()));
        assert_eq!(
            check_problem(&not_ready),
            Problem::pending("plugin check failed: plugin issuer-not-ready: CA expired".into())
        );
        let trap = CallError::Trap {
            kind: TrapKind::Deadline,
            message: "ran past 2s".into(),
        };
        assert_eq!(check_problem(&trap).reason, reason::PENDING);
        let bad_config = CallError::Plugin(PluginError::Permanent("unknown field".into()));
        assert_eq!(check_problem(&bad_config).reason, reason::FAILED);
    }
}
