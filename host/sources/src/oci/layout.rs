//! Which OCI artifacts are Wasm components, and the artifact `push` writes.
//!
//! Pull accepts two layouts, each a manifest with exactly one layer:
//! - the CNCF Wasm OCI artifact layout (TAG Runtime, what `wkg`, wasmCloud
//!   and Spin push): config `application/vnd.wasm.config.v0+json`, layer
//!   `application/wasm`;
//! - the older one (wasm-to-oci, Krustlet, early Kubewarden): config
//!   `application/vnd.wasm.config.v1+json`, layer
//!   `application/vnd.wasm.content.layer.v1+wasm`.
//!
//! Push writes the CNCF layout.

use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use serde::Serialize;

/// The CNCF layout's config media type.
pub const CNCF_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The CNCF layout's layer media type.
pub const CNCF_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// The older layout's config media type.
pub const LEGACY_CONFIG_MEDIA_TYPE: &str = oci_client::manifest::WASM_CONFIG_MEDIA_TYPE;
/// The older layout's layer media type.
pub const LEGACY_LAYER_MEDIA_TYPE: &str = oci_client::manifest::WASM_LAYER_MEDIA_TYPE;

/// For error messages: what a Wasm component artifact looks like.
pub(crate) const EXPECTED: &str = "config application/vnd.wasm.config.v0+json with one application/wasm layer (CNCF), or config application/vnd.wasm.config.v1+json with one application/vnd.wasm.content.layer.v1+wasm layer";

/// The accepted (config, layer) media type pairs.
const ACCEPTED: [(&str, &str); 2] = [
    (CNCF_CONFIG_MEDIA_TYPE, CNCF_LAYER_MEDIA_TYPE),
    (LEGACY_CONFIG_MEDIA_TYPE, LEGACY_LAYER_MEDIA_TYPE),
];

/// The component's layer, if `manifest` is one of the accepted layouts;
/// otherwise a description of the media types found, for the error.
pub(crate) fn component_layer(manifest: &OciImageManifest) -> Result<&OciDescriptor, String> {
    match manifest.layers.as_slice() {
        [layer]
            if ACCEPTED.contains(&(
                manifest.config.media_type.as_str(),
                layer.media_type.as_str(),
            )) =>
        {
            Ok(layer)
        }
        layers => {
            let layer_types: Vec<&str> = layers.iter().map(|l| l.media_type.as_str()).collect();
            Err(format!(
                "config {}, {} layer(s) [{}]",
                manifest.config.media_type,
                layers.len(),
                layer_types.join(", ")
            ))
        }
    }
}

/// The config blob of the CNCF layout. Minimal: the spec's optional
/// `component` description (world, imports, exports) would need a
/// component parser here; `wasm-issuer inspect` gives that from the layer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig {
    created: String,
    architecture: &'static str,
    os: &'static str,
    /// The layers' digests, in manifest order: the spec requires them so that
    /// the config (and with it the manifest) differs whenever the content does.
    layer_digests: Vec<String>,
}

/// What `push` uploads: the layer, the config and the manifest naming both.
pub(crate) struct Artifact {
    pub layer: ImageLayer,
    pub config: Config,
    /// The manifest exactly as uploaded: its sha256 is the manifest digest.
    pub manifest: Vec<u8>,
}

/// Builds the CNCF-layout artifact of a component (or core module).
pub(crate) fn artifact(wasm: &[u8], created: String) -> Result<Artifact, String> {
    let layer = ImageLayer::new(wasm.to_vec(), CNCF_LAYER_MEDIA_TYPE.to_string(), None);
    let config = WasmConfig {
        created,
        architecture: "wasm",
        os: wasm_os(wasm),
        layer_digests: vec![layer.sha256_digest()],
    };
    let config_json =
        serde_json::to_vec(&config).map_err(|e| format!("encoding the config: {e}"))?;
    let config = Config::new(config_json, CNCF_CONFIG_MEDIA_TYPE.to_string(), None);
    let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
    // `build` leaves mediaType out; registries and tools expect it.
    manifest.media_type = Some(OCI_IMAGE_MEDIA_TYPE.to_string());
    let manifest =
        serde_json::to_vec(&manifest).map_err(|e| format!("encoding the manifest: {e}"))?;
    Ok(Artifact {
        layer,
        config,
        manifest,
    })
}

/// The preamble every WebAssembly binary starts with.
const WASM_MAGIC: &[u8; 4] = b"\0asm";

/// Refuses bytes that are not WebAssembly at all (a wrong file pushed by
/// mistake); whether it is a usable plugin is the runtime's business.
pub(crate) fn check_wasm(wasm: &[u8]) -> Result<(), String> {
    if wasm.len() < 8 || !wasm.starts_with(WASM_MAGIC) {
        return Err("not a WebAssembly binary (no \\0asm header)".into());
    }
    Ok(())
}

/// The spec's `os`: `wasip2` for a component, `wasip1` for a core module.
/// A component's header has layer 1 in bytes 6..8; a core module's has 0.
fn wasm_os(wasm: &[u8]) -> &'static str {
    match wasm.get(6..8) {
        Some([1, 0]) => "wasip2",
        _ => "wasip1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header of an (empty) component, and of a core module.
    const COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";
    const MODULE: &[u8] = b"\0asm\x01\x00\x00\x00";

    fn manifest(config: &str, layers: &[&str]) -> OciImageManifest {
        OciImageManifest {
            config: OciDescriptor {
                media_type: config.into(),
                ..Default::default()
            },
            layers: layers
                .iter()
                .map(|m| OciDescriptor {
                    media_type: m.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn both_layouts_are_accepted() {
        for (config, layer) in ACCEPTED {
            assert!(component_layer(&manifest(config, &[layer])).is_ok());
        }
    }

    #[test]
    fn anything_else_is_described() {
        let found = component_layer(&manifest(
            "application/vnd.oci.image.config.v1+json",
            &["application/vnd.oci.image.layer.v1.tar+gzip"],
        ))
        .expect_err("a container image");
        assert!(
            found.contains("application/vnd.oci.image.config.v1+json"),
            "{found}"
        );
        assert!(
            found.contains("application/vnd.oci.image.layer.v1.tar+gzip"),
            "{found}"
        );

        // Mixed pairs and two layers are not a layout either.
        assert!(
            component_layer(&manifest(
                CNCF_CONFIG_MEDIA_TYPE,
                &[LEGACY_LAYER_MEDIA_TYPE]
            ))
            .is_err()
        );
        let two = component_layer(&manifest(
            CNCF_CONFIG_MEDIA_TYPE,
            &[CNCF_LAYER_MEDIA_TYPE, CNCF_LAYER_MEDIA_TYPE],
        ))
        .expect_err("two layers");
        assert!(two.contains("2 layer(s)"), "{two}");
    }

    #[test]
    fn the_artifact_is_the_cncf_layout() {
        let artifact = artifact(COMPONENT, "2026-01-01T00:00:00Z".into()).expect("artifact");
        let manifest: OciImageManifest =
            serde_json::from_slice(&artifact.manifest).expect("manifest");
        assert_eq!(manifest.config.media_type, CNCF_CONFIG_MEDIA_TYPE);
        assert_eq!(manifest.layers.len(), 1);
        assert_eq!(manifest.layers[0].media_type, CNCF_LAYER_MEDIA_TYPE);
        assert_eq!(manifest.layers[0].size, COMPONENT.len() as i64);

        let config: serde_json::Value =
            serde_json::from_slice(&artifact.config.data).expect("config");
        assert_eq!(config["architecture"], "wasm");
        assert_eq!(config["os"], "wasip2");
        assert_eq!(config["created"], "2026-01-01T00:00:00Z");
        assert_eq!(
            config["layerDigests"][0],
            manifest.layers[0].digest.as_str()
        );
    }

    #[test]
    fn core_modules_are_wasip1_and_non_wasm_is_refused() {
        assert_eq!(wasm_os(MODULE), "wasip1");
        assert_eq!(wasm_os(COMPONENT), "wasip2");
        assert!(check_wasm(COMPONENT).is_ok());
        assert!(check_wasm(b"#!/bin/sh\necho").is_err());
        assert!(check_wasm(b"").is_err());
    }
}
