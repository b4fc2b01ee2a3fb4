//! Plugins in OCI registries: pull (by tag or digest), resolve a tag to its
//! manifest digest cheaply, push.
//!
//! A plugin is an OCI artifact holding one Wasm component: the CNCF Wasm OCI
//! layout, or the older wasm-to-oci layout on pull (see [`layout`]). Tags
//! move, digests do not: [`pull`] returns the manifest digest it got, so the
//! caller can record exactly what it runs, and [`push`] returns the immutable
//! `repository@sha256:...` reference.
//!
//! Every blob is verified against the digest that names it (the manifest
//! against a `@sha256:` reference, the layer against the manifest), and the
//! layer's size against the manifest before and while downloading it, so a
//! registry cannot make us hold more than [`MAX_COMPONENT_BYTES`].
//!
//! These are async functions: they need a Tokio runtime.

mod client;
mod credentials;
mod error;
pub mod layout;

use futures::StreamExt;
use http::HeaderValue;
use oci_client::client::LayerDescriptor;
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciManifest,
};
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

pub use client::registry_host;
pub use credentials::Credentials;
pub use error::OciError;

/// The largest component pull and push accept. Issuer plugins are a few
/// hundred KiB to a few MiB; this bounds what a hostile or broken registry
/// can make the controller allocate.
pub const MAX_COMPONENT_BYTES: u64 = 128 * 1024 * 1024;

/// A component fetched from a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct PulledPlugin {
    /// The digest of the manifest pulled (`sha256:<hex>`): what a tag
    /// resolved to, to record and to compare with [`resolve`] later.
    pub manifest_digest: String,
    /// The component's bytes, verified against the manifest's layer digest.
    pub wasm: Vec<u8>,
}

impl std::fmt::Debug for PulledPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulledPlugin")
            .field("manifest_digest", &self.manifest_digest)
            .field("wasm", &format_args!("<{} bytes>", self.wasm.len()))
            .finish()
    }
}

/// Manifest kinds we ask for. Indexes are asked for too, only to refuse them
/// with a clear message instead of a content-negotiation error.
const MANIFEST_MEDIA_TYPES: &[&str] = &[
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// Pulls the component `reference` names (`registry/repo:tag` or
/// `registry/repo@sha256:...`). `insecure` means plain HTTP.
pub async fn pull(
    reference: &str,
    credentials: &Credentials,
    insecure: bool,
) -> Result<PulledPlugin, OciError> {
    let parsed = client::parse(reference)?;
    let client = client::client(reference, insecure)?;
    let auth = credentials.to_registry_auth();
    let failed = |e| OciError::from_client(reference, e).with_protocol_hint(insecure);

    // Raw, so that the digest we report is the sha256 of exactly these bytes
    // (`oci-client` has checked them against a digest in the reference).
    let (body, _) = client
        .pull_manifest_raw(&parsed, &auth, MANIFEST_MEDIA_TYPES)
        .await
        .map_err(failed)?;
    let manifest_digest = sha256_digest(&body);
    let manifest = match serde_json::from_slice::<OciManifest>(&body) {
        Ok(OciManifest::Image(manifest)) => manifest,
        Ok(OciManifest::ImageIndex(_)) => {
            return Err(OciError::UnsupportedArtifact {
                reference: reference.to_string(),
                found: "an image index (a multi-platform image)".into(),
            });
        }
        Err(e) => {
            return Err(OciError::Registry {
                reference: reference.to_string(),
                cause: format!("the manifest is not an OCI image manifest ({e})"),
                transient: false,
            });
        }
    };
    let layer =
        layout::component_layer(&manifest).map_err(|found| OciError::UnsupportedArtifact {
            reference: reference.to_string(),
            found,
        })?;
    let wasm = fetch_layer(&client, &parsed, reference, layer).await?;
    Ok(PulledPlugin {
        manifest_digest,
        wasm,
    })
}

/// Downloads the layer, refusing more bytes than the manifest declares and
/// content that does not hash to the manifest's digest.
async fn fetch_layer(
    client: &Client,
    parsed: &Reference,
    reference: &str,
    layer: &OciDescriptor,
) -> Result<Vec<u8>, OciError> {
    let declared = u64::try_from(layer.size).map_err(|_| OciError::Registry {
        reference: reference.to_string(),
        cause: format!("the manifest gives layer {} a negative size", layer.digest),
        transient: false,
    })?;
    if declared > MAX_COMPONENT_BYTES {
        return Err(OciError::TooLarge {
            reference: reference.to_string(),
            size: declared,
            limit: MAX_COMPONENT_BYTES,
        });
    }
    let size_mismatch = |actual: usize| OciError::SizeMismatch {
        reference: reference.to_string(),
        digest: layer.digest.clone(),
        declared,
        actual: actual as u64,
    };

    // Without the descriptor's `urls`: a manifest must not be able to send
    // the controller to fetch from arbitrary addresses.
    let descriptor = LayerDescriptor {
        digest: &layer.digest,
        urls: &None,
    };
    // (No protocol hint: the manifest came over the same connection.)
    let mut stream = client
        .pull_blob_stream(parsed, &descriptor)
        .await
        .map_err(|e| OciError::from_client(reference, e))?;
    let mut wasm = Vec::with_capacity(usize::try_from(declared).unwrap_or_default());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| OciError::from_stream(reference, e))?;
        if (wasm.len() + chunk.len()) as u64 > declared {
            return Err(size_mismatch(wasm.len() + chunk.len()));
        }
        wasm.extend_from_slice(&chunk);
    }

    // `oci-client`'s stream verified the digest at its end already; checking
    // again here keeps the guarantee independent of that crate's internals.
    if layer.digest.starts_with("sha256:") {
        let actual = sha256_digest(&wasm);
        if actual != layer.digest {
            return Err(OciError::DigestMismatch {
                reference: reference.to_string(),
                expected: layer.digest.clone(),
                actual,
            });
        }
    }
    if wasm.len() as u64 != declared {
        return Err(size_mismatch(wasm.len()));
    }
    Ok(wasm)
}

/// The manifest digest `reference` points at now, by a HEAD request (no
/// download): poll a tag with this and pull only when it changes.
pub async fn resolve(
    reference: &str,
    credentials: &Credentials,
    insecure: bool,
) -> Result<String, OciError> {
    let parsed = client::parse(reference)?;
    let client = client::client(reference, insecure)?;
    client
        .fetch_manifest_digest(&parsed, &credentials.to_registry_auth())
        .await
        .map_err(|e| OciError::from_client(reference, e).with_protocol_hint(insecure))
}

/// Pushes `wasm` as a CNCF-layout artifact to `reference` (a tag:
/// `registry/repo:tag`) and returns the immutable reference of what was
/// pushed, `registry/repo@sha256:<manifest digest>`.
///
/// The config's `created` is now, or `$SOURCE_DATE_EPOCH` when set (as in
/// reproducible builds): pushing the same bytes with the same timestamp
/// gives the same digest.
pub async fn push(
    wasm: &[u8],
    reference: &str,
    credentials: &Credentials,
    insecure: bool,
) -> Result<String, OciError> {
    let invalid = |reason: String| OciError::InvalidPush {
        reference: reference.to_string(),
        reason,
    };
    let parsed = client::parse(reference)?;
    if parsed.digest().is_some() {
        return Err(invalid(
            "push to a tag (registry/repo:tag); the digest is what the push returns".into(),
        ));
    }
    layout::check_wasm(wasm).map_err(invalid)?;
    if wasm.len() as u64 > MAX_COMPONENT_BYTES {
        return Err(OciError::TooLarge {
            reference: reference.to_string(),
            size: wasm.len() as u64,
            limit: MAX_COMPONENT_BYTES,
        });
    }
    let artifact = layout::artifact(wasm, created()).map_err(invalid)?;

    let client = client::client(reference, insecure)?;
    let failed = |e| OciError::from_client(reference, e).with_protocol_hint(insecure);
    // The blob pushes take no credentials themselves: they use the ones
    // stored for the registry.
    client
        .store_auth_if_needed(parsed.resolve_registry(), &credentials.to_registry_auth())
        .await;
    // Blobs first: a registry refuses a manifest naming blobs it lacks.
    let layer_digest = artifact.layer.sha256_digest();
    client
        .push_blob(&parsed, artifact.layer.data, &layer_digest)
        .await
        .map_err(failed)?;
    let config_digest = artifact.config.sha256_digest();
    client
        .push_blob(&parsed, artifact.config.data, &config_digest)
        .await
        .map_err(failed)?;
    let manifest_digest = sha256_digest(&artifact.manifest);
    client
        .push_manifest_raw(
            &parsed,
            artifact.manifest,
            HeaderValue::from_static(OCI_IMAGE_MEDIA_TYPE),
        )
        .await
        .map_err(failed)?;
    pinned(reference, &manifest_digest)
}

/// The immutable reference of `manifest_digest` in `reference`'s
/// repository, `registry/repo@sha256:...`: what a tag resolved to.
pub fn pinned(reference: &str, manifest_digest: &str) -> Result<String, OciError> {
    let parsed = client::parse(reference)?;
    Ok(format!(
        "{}/{}@{manifest_digest}",
        parsed.registry(),
        parsed.repository()
    ))
}

/// RFC 3339 time for the config's `created`.
fn created() -> String {
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let time = match epoch {
        Some(seconds) => std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
        None => std::time::SystemTime::now(),
    };
    humantime::format_rfc3339_seconds(time).to_string()
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}
