//! Making an issuer ready to sign: its plugin from its source, its keys
//! from their Secrets, and the plugin's own check. What goes wrong becomes
//! a [`Problem`]: the reason and message of the issuer's conditions.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::{Api, ResourceExt};
use wasm_issuer_pki::GrantedKey;
use wasm_issuer_runtime::{CallError, Digest, ErrorClass, Grants, IssuerInfo, Sandbox};

use super::kind::IssuerKind;
use super::source::{self, Asker, Fetch};
use crate::api::{KeyGrant, ValidPlugin, ValidPolicy, reason};
use crate::context::Context;
use crate::issuer_states::{LoadedIssuer, LoadedPolicy, LoadedSigner};
use crate::plugins::Provenance;

/// Why an issuer (or a new version of its plugin) is not usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// [`reason::PENDING`] (retried with backoff) or [`reason::FAILED`]
    /// (until the spec or a referenced object changes).
    pub reason: &'static str,
    pub message: String,
    /// The problem is with a new version of the plugin (its source cannot be
    /// read, its content is refused or fails its check): a version already
    /// serving this spec may go on serving.
    pub new_version: bool,
}

impl Problem {
    pub fn pending(message: String) -> Self {
        Self {
            reason: reason::PENDING,
            message,
            new_version: false,
        }
    }

    pub fn failed(message: String) -> Self {
        Self {
            reason: reason::FAILED,
            message,
            new_version: false,
        }
    }

    /// The plugin's source cannot be read now; it may be later.
    pub fn unreachable(message: String) -> Self {
        Self {
            new_version: true,
            ..Self::pending(message)
        }
    }

    /// The source's content is not a usable plugin; only a change fixes it.
    pub fn new_version(message: String) -> Self {
        Self {
            new_version: true,
            ..Self::failed(message)
        }
    }
}

/// An issuer ready to serve, and what changed on the way.
pub struct Candidate {
    pub loaded: LoadedIssuer,
    /// The plugins of which this load brought a new version, for Events.
    pub new_versions: Vec<NewVersion>,
    /// New versions refused, each message naming the plugin: the version
    /// serving before goes on serving.
    pub refused: Vec<String>,
}

/// A plugin's new version, loaded.
pub struct NewVersion {
    /// `the signer`, or `policy "domains"`.
    pub plugin: String,
    pub digest: Digest,
    pub origin: String,
    /// The digest it replaces, if one was serving.
    pub replaces: Option<Digest>,
    pub provenance: Provenance,
}

/// A plugin (signer or policy) as loaded: the same version as before, or
/// a new one.
enum Version<T> {
    Same(T),
    New(T, Provenance),
}

/// Loads the issuer's signer, keys and policies, and runs the signer's
/// check. `serving` is what serves this very spec now, if anything: a new
/// version of one of its plugins that cannot be used leaves that plugin's
/// serving version in force (and is listed in [`Candidate::refused`]).
pub async fn load<K: IssuerKind>(
    issuer: &K,
    ctx: &Context,
    serving: Option<&LoadedIssuer>,
) -> Result<Candidate, Problem> {
    let spec = issuer.issuer_spec();
    let valid = spec
        .validate()
        .map_err(|invalid| Problem::failed(invalid.to_string()))?;
    let namespace = issuer.resource_namespace(&ctx.options);
    let asker = Asker {
        namespace: &namespace,
        cluster_scoped: issuer.key().namespace().is_none(),
    };
    let mut new_versions = Vec::new();
    let mut refused = Vec::new();

    let serving_signer = serving.map(|serving| &serving.signer);
    let signer = match load_signer(issuer, ctx, asker, &valid.signer, serving_signer).await {
        Ok(Version::Same(signer)) => Arc::new(signer),
        Ok(Version::New(signer, provenance)) => {
            new_versions.push(NewVersion {
                plugin: "the signer".into(),
                digest: *signer.plugin.digest(),
                origin: signer.origin.clone(),
                replaces: serving_signer.map(|serving| *serving.plugin.digest()),
                provenance,
            });
            Arc::new(signer)
        }
        Err(problem) => match serving_signer {
            Some(serving) if problem.new_version => {
                refused.push(still_serving(&problem, serving.plugin.digest()));
                Arc::clone(serving)
            }
            _ => return Err(problem),
        },
    };

    let mut policies = Vec::with_capacity(valid.policies.len());
    for policy in &valid.policies {
        let label = format!("policy {:?}", policy.name);
        let serving_policy = serving.and_then(|serving| {
            serving
                .policies
                .iter()
                .find(|serving| serving.name == policy.name)
        });
        let loaded = match load_policy(ctx, asker, policy, serving_policy).await {
            Ok(Version::Same(loaded)) => Arc::new(loaded),
            Ok(Version::New(loaded, provenance)) => {
                new_versions.push(NewVersion {
                    plugin: label,
                    digest: *loaded.plugin.digest(),
                    origin: loaded.origin.clone(),
                    replaces: serving_policy.map(|serving| *serving.plugin.digest()),
                    provenance,
                });
                Arc::new(loaded)
            }
            Err(problem) => {
                let problem = Problem {
                    message: format!("{label}: {}", problem.message),
                    ..problem
                };
                match serving_policy {
                    Some(serving) if problem.new_version => {
                        refused.push(still_serving(&problem, serving.plugin.digest()));
                        Arc::clone(serving)
                    }
                    _ => return Err(problem),
                }
            }
        };
        policies.push(loaded);
    }
    Ok(Candidate {
        loaded: LoadedIssuer { signer, policies },
        new_versions,
        refused,
    })
}

/// A refused new version's message, saying which version goes on serving.
fn still_serving(problem: &Problem, serving: &Digest) -> String {
    format!("{}; still serving {serving}", problem.message)
}

/// Loads the signer and its keys and runs its check. `serving` is the
/// signer serving this spec now, if any: a check that fails on the same
/// content is the issuer's problem, not a new version's.
async fn load_signer<K: IssuerKind>(
    issuer: &K,
    ctx: &Context,
    asker: Asker<'_>,
    valid: &ValidPlugin<'_>,
    serving: Option<&Arc<LoadedSigner>>,
) -> Result<Version<LoadedSigner>, Problem> {
    let serving_origin = serving.map(|serving| serving.origin.as_str());
    let (plugin, origin, provenance) = match source::fetch(ctx, asker, valid, serving_origin)
        .await?
    {
        Fetch::New(fetched) => {
            let (plugin, provenance) =
                ctx.plugins
                    .signers
                    .load(fetched.wasm)
                    .await
                    .map_err(|error| {
                        Problem::new_version(format!("the plugin in {}: {error}", fetched.origin))
                    })?;
            (plugin, fetched.origin, provenance)
        }
        Fetch::Unchanged => match serving {
            Some(serving) => (
                serving.plugin.clone(),
                serving.origin.clone(),
                Provenance::InMemory,
            ),
            None => {
                return Err(Problem::pending(
                    "the plugin's source did not change, but nothing serves".into(),
                ));
            }
        },
    };
    // The same bytes as the version serving: the same version, loaded then.
    let same_version = serving.filter(|serving| serving.plugin.digest() == plugin.digest());
    let loaded_at = same_version.map_or_else(
        || Time(Timestamp::now()),
        |serving| serving.loaded_at.clone(),
    );
    let spec = issuer.issuer_spec();
    let mut grants = Grants::new();
    for grant in &spec.keys {
        grants.grant_key(&grant.name, granted_key(ctx, asker.namespace, grant).await?);
    }
    let key = issuer.key();
    let loaded = LoadedSigner {
        plugin,
        sandbox: Sandbox {
            grants,
            limits: valid.limits,
        },
        info: IssuerInfo {
            name: issuer.name_any(),
            kind: key.kind().to_owned(),
            namespace: key.namespace().unwrap_or_default().to_owned(),
            config: valid.config_json(),
        },
        origin,
        loaded_at,
    };
    let new_version = same_version.is_none();
    let loaded = check(loaded).await.map_err(|problem| Problem {
        new_version,
        ..problem
    })?;
    Ok(if new_version {
        Version::New(loaded, provenance)
    } else {
        Version::Same(loaded)
    })
}

/// Loads one policy. Policies have no check of their own: a component of
/// the policy world that compiles is ready.
async fn load_policy(
    ctx: &Context,
    asker: Asker<'_>,
    policy: &ValidPolicy<'_>,
    serving: Option<&Arc<LoadedPolicy>>,
) -> Result<Version<LoadedPolicy>, Problem> {
    let config = policy.plugin.config_json();
    let serving_origin = serving.map(|serving| serving.origin.as_str());
    let fetched = match source::fetch(ctx, asker, &policy.plugin, serving_origin).await? {
        Fetch::New(fetched) => fetched,
        Fetch::Unchanged => {
            return match serving {
                Some(serving) => Ok(Version::Same(same_policy(serving, config))),
                None => Err(Problem::pending(
                    "the policy's source did not change, but nothing serves".into(),
                )),
            };
        }
    };
    if let Some(serving) =
        serving.filter(|serving| Digest::of(&fetched.wasm) == *serving.plugin.digest())
    {
        return Ok(Version::Same(same_policy(serving, config)));
    }
    let (plugin, provenance) = ctx
        .plugins
        .policies
        .load(fetched.wasm)
        .await
        .map_err(|error| {
            Problem::new_version(format!("the plugin in {}: {error}", fetched.origin))
        })?;
    Ok(Version::New(
        LoadedPolicy {
            name: policy.name.to_owned(),
            plugin,
            sandbox: Sandbox {
                grants: Grants::new(),
                limits: policy.plugin.limits,
            },
            config,
            origin: fetched.origin,
            loaded_at: Time(Timestamp::now()),
        },
        provenance,
    ))
}

/// The version serving, with this spec's configuration.
fn same_policy(serving: &LoadedPolicy, config: String) -> LoadedPolicy {
    LoadedPolicy {
        name: serving.name.clone(),
        plugin: serving.plugin.clone(),
        sandbox: serving.sandbox.clone(),
        config,
        origin: serving.origin.clone(),
        loaded_at: serving.loaded_at.clone(),
    }
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
async fn check(loaded: LoadedSigner) -> Result<LoadedSigner, Problem> {
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

    #[test]
    fn source_problems_concern_a_new_version() {
        assert!(Problem::unreachable("registry down".into()).new_version);
        assert_eq!(Problem::unreachable("x".into()).reason, reason::PENDING);
        assert!(Problem::new_version("not wasm".into()).new_version);
        assert!(!Problem::pending("Secret missing".into()).new_version);
    }
}
