//! Pull, resolve and push against a real registry (CNCF distribution, on
//! loopback over plain HTTP: `insecure = true`), one registry per test.

use base64::Engine as _;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};
use wasm_issuer_sources::oci::{self, Credentials, OciError, layout};
use wasm_issuer_test_support::plugin;
use wasm_issuer_testenv::{Registry, RegistryOptions};

const INSECURE: bool = true;

fn open_registry() -> Registry {
    Registry::start(RegistryOptions::default()).expect("start the registry")
}

fn ca_plugin() -> Vec<u8> {
    std::fs::read(plugin("ca")).expect("read the ca plugin")
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The digest part of `repo@sha256:...`.
fn digest_of(immutable: &str) -> &str {
    immutable
        .split_once('@')
        .map(|(_, digest)| digest)
        .expect("an immutable reference")
}

/// Pushes an artifact with arbitrary media types through oci-client's
/// low-level API, as other tools would have.
async fn push_raw(reference: &str, layer: ImageLayer, config: Config, auth: &RegistryAuth) {
    // oci-client builds its HTTP client with rustls but no crypto provider
    // of its own (see the workspace Cargo.toml); the library installs one,
    // this test talks to oci-client before the library has run.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::try_from(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
    .expect("oci client");
    let reference: Reference = reference.parse().expect("reference");
    client
        .push(&reference, &[layer], config, auth, None)
        .await
        .expect("push the raw artifact");
}

#[tokio::test]
async fn push_then_pull_by_tag_and_by_digest_round_trips() {
    let registry = open_registry();
    let wasm = ca_plugin();
    let tag = format!("{}/plugins/ca:v1", registry.host());

    let immutable = oci::push(&wasm, &tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("push");
    let prefix = format!("{}/plugins/ca@sha256:", registry.host());
    assert!(immutable.starts_with(&prefix), "{immutable}");
    let digest = digest_of(&immutable);

    let by_tag = oci::pull(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("pull by tag");
    assert_eq!(by_tag.wasm, wasm);
    assert_eq!(by_tag.manifest_digest, digest);

    let by_digest = oci::pull(&immutable, &Credentials::Anonymous, INSECURE)
        .await
        .expect("pull by digest");
    assert_eq!(by_digest, by_tag);

    let resolved = oci::resolve(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("resolve");
    assert_eq!(resolved, digest);
}

#[tokio::test]
async fn the_pushed_artifact_is_the_cncf_layout() {
    let registry = open_registry();
    let wasm = ca_plugin();
    let tag = format!("{}/plugins/ca:layout", registry.host());
    oci::push(&wasm, &tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("push");

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::try_from(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
    .expect("oci client");
    let reference: Reference = tag.parse().expect("reference");
    let (manifest, _digest, config) = client
        .pull_manifest_and_config(&reference, &RegistryAuth::Anonymous)
        .await
        .expect("manifest and config");
    assert_eq!(manifest.config.media_type, layout::CNCF_CONFIG_MEDIA_TYPE);
    assert_eq!(manifest.layers.len(), 1);
    assert_eq!(manifest.layers[0].media_type, layout::CNCF_LAYER_MEDIA_TYPE);
    assert_eq!(manifest.layers[0].digest, sha256(&wasm));

    let config: serde_json::Value = serde_json::from_str(&config).expect("config JSON");
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["layerDigests"][0], sha256(&wasm).as_str());
    assert!(config["created"].is_string(), "{config}");
}

#[tokio::test]
async fn a_moved_tag_resolves_to_the_new_digest() {
    let registry = open_registry();
    let tag = format!("{}/plugins/moving:latest", registry.host());
    let first = oci::push(&ca_plugin(), &tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("first push");
    let other = std::fs::read(plugin("allow-domains")).expect("read allow-domains");
    let second = oci::push(&other, &tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("second push");
    assert_ne!(digest_of(&first), digest_of(&second));

    let resolved = oci::resolve(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("resolve");
    assert_eq!(resolved, digest_of(&second));
    // The old digest still pulls the old bytes: digests do not move.
    let old = oci::pull(&first, &Credentials::Anonymous, INSECURE)
        .await
        .expect("pull the first push by digest");
    assert_eq!(old.wasm, ca_plugin());
}

#[tokio::test]
async fn the_older_wasm_media_types_pull() {
    let registry = open_registry();
    let wasm = ca_plugin();
    let tag = format!("{}/legacy/ca:v1", registry.host());
    push_raw(
        &tag,
        ImageLayer::new(
            wasm.clone(),
            layout::LEGACY_LAYER_MEDIA_TYPE.to_string(),
            None,
        ),
        Config::new(
            b"{}".to_vec(),
            layout::LEGACY_CONFIG_MEDIA_TYPE.to_string(),
            None,
        ),
        &RegistryAuth::Anonymous,
    )
    .await;

    let pulled = oci::pull(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("pull the legacy layout");
    assert_eq!(pulled.wasm, wasm);
    let resolved = oci::resolve(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("resolve");
    assert_eq!(pulled.manifest_digest, resolved);
}

#[tokio::test]
async fn other_artifacts_are_refused_naming_their_media_types() {
    let registry = open_registry();
    let tag = format!("{}/images/app:v1", registry.host());
    push_raw(
        &tag,
        ImageLayer::oci_v1_gzip(b"not a tarball".to_vec(), None),
        Config::oci_v1(b"{}".to_vec(), None),
        &RegistryAuth::Anonymous,
    )
    .await;

    let error = oci::pull(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("a container image is not a plugin");
    assert!(
        matches!(error, OciError::UnsupportedArtifact { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains(&tag), "{text}");
    assert!(
        text.contains("application/vnd.oci.image.config.v1+json"),
        "{text}"
    );
    assert!(
        text.contains("application/vnd.oci.image.layer.v1.tar+gzip"),
        "{text}"
    );
    assert!(text.contains("application/wasm"), "{text}");
}

#[tokio::test]
async fn a_private_registry_needs_the_credentials_of_a_docker_config() {
    let registry = Registry::start(RegistryOptions {
        basic_auth: Some(("alice".into(), "s3cret".into())),
    })
    .expect("start the private registry");
    let wasm = ca_plugin();
    let tag = format!("{}/private/ca:v1", registry.host());
    let alice = Credentials::Basic {
        username: "alice".into(),
        password: "s3cret".into(),
    };

    let error = oci::push(&wasm, &tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("anonymous push");
    assert!(matches!(error, OciError::Unauthorized { .. }), "{error:?}");
    let immutable = oci::push(&wasm, &tag, &alice, INSECURE)
        .await
        .expect("push with credentials");

    let error = oci::pull(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("anonymous pull");
    assert!(matches!(error, OciError::Unauthorized { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains(&tag) && text.contains("credentials"),
        "{text}"
    );

    let wrong = Credentials::Basic {
        username: "alice".into(),
        password: "wrong".into(),
    };
    let error = oci::resolve(&tag, &wrong, INSECURE)
        .await
        .expect_err("wrong password");
    assert!(matches!(error, OciError::Unauthorized { .. }), "{error:?}");

    // What a kubernetes.io/dockerconfigjson Secret holds.
    let host = oci::registry_host(&tag).expect("registry host");
    assert_eq!(host, registry.host());
    let docker_config = serde_json::json!({
        "auths": {
            host.clone(): {
                "auth": base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
            }
        }
    });
    let credentials =
        Credentials::from_docker_config_json(docker_config.to_string().as_bytes(), &host)
            .expect("credentials from the docker config");
    let pulled = oci::pull(&tag, &credentials, INSECURE)
        .await
        .expect("pull with credentials");
    assert_eq!(pulled.wasm, wasm);
    assert_eq!(pulled.manifest_digest, digest_of(&immutable));
    let resolved = oci::resolve(&tag, &credentials, INSECURE)
        .await
        .expect("resolve with credentials");
    assert_eq!(resolved, pulled.manifest_digest);
}

#[tokio::test]
async fn an_unknown_digest_is_not_found() {
    let registry = open_registry();
    let tag = format!("{}/plugins/ca:v1", registry.host());
    oci::push(&ca_plugin(), &tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("push");

    let wrong = format!("{}/plugins/ca@sha256:{}", registry.host(), "0".repeat(64));
    let error = oci::pull(&wrong, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("no manifest has that digest");
    assert!(matches!(error, OciError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains(&wrong), "{error}");
    assert!(!error.is_transient());
}

#[tokio::test]
async fn a_corrupted_blob_fails_naming_its_digest() {
    let registry = open_registry();
    let wasm = ca_plugin();
    let tag = format!("{}/plugins/ca:v1", registry.host());
    oci::push(&wasm, &tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect("push");

    // Same length, different bytes: only the digest can tell.
    let layer_digest = sha256(&wasm);
    let blob = registry.blob_path(&layer_digest);
    let mut bytes = std::fs::read(&blob).expect("read the stored blob");
    assert_eq!(bytes, wasm, "the blob is where the registry keeps it");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, &bytes).expect("corrupt the blob");

    let error = oci::pull(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("a corrupted blob");
    assert!(
        matches!(error, OciError::DigestMismatch { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains(&layer_digest), "{text}");
    assert!(text.contains(&sha256(&bytes)), "{text}");
}

#[tokio::test]
async fn pushes_of_a_digest_or_of_non_wasm_are_refused() {
    let registry = open_registry();
    let by_digest = format!("{}/plugins/ca@{}", registry.host(), sha256(b"x"));
    let error = oci::push(&ca_plugin(), &by_digest, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("push to a digest");
    assert!(matches!(error, OciError::InvalidPush { .. }), "{error:?}");

    let tag = format!("{}/plugins/ca:v1", registry.host());
    let error = oci::push(b"#!/bin/sh\n", &tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("push a shell script");
    assert!(
        error.to_string().contains("not a WebAssembly binary"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_registry_is_a_transient_error() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let reference = format!("127.0.0.1:{port}/plugins/ca:v1");
    let error = oci::resolve(&reference, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("nothing listens there");
    assert!(matches!(error, OciError::Unreachable { .. }), "{error:?}");
    assert!(error.is_transient());
    assert!(!error.to_string().contains('\n'), "{error}");
}

#[tokio::test]
async fn a_missing_tag_is_not_found() {
    let registry = open_registry();
    let tag = format!("{}/plugins/nothing:v1", registry.host());
    let error = oci::pull(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("nothing was pushed");
    assert!(matches!(error, OciError::NotFound { .. }), "{error:?}");
    let error = oci::resolve(&tag, &Credentials::Anonymous, INSECURE)
        .await
        .expect_err("nothing was pushed");
    assert!(matches!(error, OciError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn https_to_a_plain_http_registry_says_so() {
    let registry = open_registry();
    let tag = format!("{}/plugins/ca:v1", registry.host());
    let error = oci::resolve(&tag, &Credentials::Anonymous, false)
        .await
        .expect_err("the registry speaks plain HTTP");
    assert!(matches!(error, OciError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("plain HTTP"), "{error}");
}
