//! Fetching the plugin's component from the issuer's source: a ConfigMap,
//! an OCI registry, or a file on the controller's filesystem.

use std::path::{Component, Path};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use wasm_issuer_runtime::Digest;
use wasm_issuer_sources::file::read_plugin;
use wasm_issuer_sources::oci::{self, Credentials, OciError, registry_host};

use super::load::Problem;
use crate::api::{
    ConfigMapPluginSource, FilePluginSource, OciPluginSource, PluginSource, ValidPlugin,
};
use crate::context::Context;

/// The largest object the API server stores: a component this big or
/// bigger cannot be in a ConfigMap.
const CONFIG_MAP_LIMIT: &str = "1 MiB";
/// The Secret type and key of registry credentials.
const DOCKER_CONFIG_JSON_TYPE: &str = "kubernetes.io/dockerconfigjson";
const DOCKER_CONFIG_JSON_KEY: &str = ".dockerconfigjson";

/// A component, as fetched.
pub struct Fetched {
    pub wasm: Vec<u8>,
    /// Where it came from, for status and messages, e.g. `ConfigMap
    /// team/ca-plugin` or `oci registry.example/ca@sha256:...`.
    pub origin: String,
}

/// What the source holds now.
pub enum Fetch {
    New(Fetched),
    /// The version serving is still what the source holds (an OCI tag that
    /// did not move): nothing was downloaded.
    Unchanged,
}

/// Where the issuer asking for a plugin lives, which decides what it may read.
#[derive(Clone, Copy, Debug)]
pub struct Asker<'a> {
    /// The namespace of the ConfigMaps and Secrets it may use.
    pub namespace: &'a str,
    /// A WasmClusterIssuer (set up by cluster admins) may read any file.
    pub cluster_scoped: bool,
}

/// Fetches the component of `valid`'s source; refuses content that does
/// not match the pin. `serving` (where the version serving came from)
/// spares a download when a tag did not move.
pub async fn fetch(
    ctx: &Context,
    asker: Asker<'_>,
    valid: &ValidPlugin<'_>,
    serving: Option<&str>,
) -> Result<Fetch, Problem> {
    let (origin, wasm) = match valid.source {
        PluginSource::ConfigMap(source) => from_config_map(ctx, asker.namespace, source).await?,
        PluginSource::Oci { source, .. } => {
            match from_oci(ctx, asker.namespace, source, serving).await? {
                Some(fetched) => fetched,
                None => return Ok(Fetch::Unchanged),
            }
        }
        PluginSource::File(source) => from_file(ctx, asker, source).await?,
    };
    let digest = Digest::of(&wasm);
    if let Some(pinned) = valid.digest
        && pinned != digest
    {
        return Err(Problem::new_version(format!(
            "{origin}: the component's digest {digest} is not the pinned digest {pinned}"
        )));
    }
    Ok(Fetch::New(Fetched { wasm, origin }))
}

/// The component in a ConfigMap's `binaryData`, and where it came from.
async fn from_config_map(
    ctx: &Context,
    namespace: &str,
    source: &ConfigMapPluginSource,
) -> Result<(String, Vec<u8>), Problem> {
    let origin = format!("ConfigMap {namespace}/{}", source.name);
    let config_map = Api::<ConfigMap>::namespaced(ctx.client.clone(), namespace)
        .get_opt(&source.name)
        .await
        .map_err(|error| Problem::unreachable(format!("cannot read {origin}: {error}")))?
        .ok_or_else(|| {
            Problem::unreachable(format!(
                "{origin} not found (a ConfigMap holds at most {CONFIG_MAP_LIMIT}: publish a bigger component to an OCI registry and use spec.plugin.oci)"
            ))
        })?;
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
    Err(Problem::new_version(if in_text_data {
        format!(
            "{origin}: key {:?} is in data, but a component is binary: put it in binaryData (kubectl create configmap --from-file does)",
            source.key
        )
    } else {
        format!("{origin} has no binaryData key {:?}", source.key)
    }))
}

/// The component in a registry, or None if `serving` (an origin) is still
/// what the reference points at.
async fn from_oci(
    ctx: &Context,
    namespace: &str,
    source: &OciPluginSource,
    serving: Option<&str>,
) -> Result<Option<(String, Vec<u8>)>, Problem> {
    let credentials = credentials(ctx, namespace, source).await?;
    let reference = source.reference.as_str();
    // A tag that still points where it did needs no download: a HEAD says so.
    if let Some(serving) = serving {
        match oci::resolve(reference, &credentials, source.insecure).await {
            Ok(manifest) if serving == oci_origin(reference, &manifest)? => return Ok(None),
            Ok(_) => {}
            Err(error) => return Err(oci_problem(&error)),
        }
    }
    let pulled = oci::pull(reference, &credentials, source.insecure)
        .await
        .map_err(|error| oci_problem(&error))?;
    Ok(Some((
        oci_origin(reference, &pulled.manifest_digest)?,
        pulled.wasm,
    )))
}

/// `oci <registry/repository@manifest digest>`: what a tag resolved to.
fn oci_origin(reference: &str, manifest_digest: &str) -> Result<String, Problem> {
    oci::pinned(reference, manifest_digest)
        .map(|pinned| format!("oci {pinned}"))
        .map_err(|error| oci_problem(&error))
}

/// A registry that cannot be reached may be back later; a bad reference,
/// credentials or artifact needs a change.
fn oci_problem(error: &OciError) -> Problem {
    if error.is_transient() {
        Problem::unreachable(error.to_string())
    } else {
        Problem::new_version(error.to_string())
    }
}

/// The credentials of the source's pull Secret, or none.
async fn credentials(
    ctx: &Context,
    namespace: &str,
    source: &OciPluginSource,
) -> Result<Credentials, Problem> {
    let Some(name) = &source.pull_secret else {
        return Ok(Credentials::Anonymous);
    };
    let origin = format!("pull Secret {namespace}/{name}");
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|error| Problem::pending(format!("cannot read {origin}: {error}")))?
        .ok_or_else(|| Problem::pending(format!("{origin} not found")))?;
    if secret.type_.as_deref() != Some(DOCKER_CONFIG_JSON_TYPE) {
        return Err(Problem::failed(format!(
            "{origin} is not of type {DOCKER_CONFIG_JSON_TYPE}"
        )));
    }
    let config = secret
        .data
        .as_ref()
        .and_then(|data| data.get(DOCKER_CONFIG_JSON_KEY))
        .ok_or_else(|| Problem::failed(format!("{origin} has no {DOCKER_CONFIG_JSON_KEY}")))?;
    let host =
        registry_host(&source.reference).map_err(|error| Problem::failed(error.to_string()))?;
    Credentials::from_docker_config_json(&config.0, &host)
        .map_err(|error| Problem::failed(format!("{origin}: {error}")))
}

/// The component in a file the controller can read.
async fn from_file(
    ctx: &Context,
    asker: Asker<'_>,
    source: &FilePluginSource,
) -> Result<(String, Vec<u8>), Problem> {
    let path = Path::new(&source.path).to_owned();
    let origin = format!("file {}", path.display());
    if !asker.cluster_scoped
        && !ctx
            .options
            .allowed_plugin_dirs
            .iter()
            .any(|dir| is_under(&path, dir))
    {
        return Err(Problem::failed(format!(
            "a WasmIssuer may only read plugin files under the directories the controller allows (--allow-plugin-dir); {} is not under any",
            path.display()
        )));
    }
    // Watched from the first read on: the next change reconciles the issuer.
    ctx.files
        .watch(&path)
        .map_err(|error| Problem::unreachable(error.to_string()))?;
    let (wasm, _) = tokio::task::spawn_blocking(move || read_plugin(&path))
        .await
        .map_err(|join| Problem::unreachable(format!("reading {origin}: {join}")))?
        .map_err(|error| Problem::unreachable(error.to_string()))?;
    Ok((origin, wasm))
}

/// Whether `path` is inside `dir`, with no `..` to climb out of it.
fn is_under(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir) && !path.components().any(|part| part == Component::ParentDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_an_allowed_directory() {
        let dir = Path::new("/plugins");
        assert!(is_under(Path::new("/plugins/ca.wasm"), dir));
        assert!(is_under(Path::new("/plugins/team/ca.wasm"), dir));
        assert!(!is_under(Path::new("/plugins/../etc/ca.wasm"), dir));
        assert!(!is_under(Path::new("/pluginsx/ca.wasm"), dir));
        assert!(!is_under(Path::new("/etc/ca.wasm"), dir));
    }
}
