//! Hot reload on the real control plane: a plugin's ConfigMap is updated
//! while requests are being signed; no request fails, each is signed by
//! the version serving when it was signed, and the status follows. Broken
//! new versions are refused while the last good one keeps serving.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use wasm_issuer_controller::api::{CertificateRequest, WasmIssuer};
use wasm_issuer_runtime::Digest;
use wasm_issuer_test_support::{Workdir, plugin, test_plugin};
use wasm_issuer_testenv::shared;

use common::{
    IssuerBuilder, RequestBuilder, TIMEOUT, ca_secret, issued_stamp, namespace, plugin_bytes,
    plugin_config_map, prepare, ready_is, replace_plugin, server_csr, stamp, stamp_plugin,
    verified_chain, wait_for_digest, wait_for_issuer, wait_for_refusal, wait_for_request,
};

struct World {
    client: Client,
    namespace: String,
    workdir: Workdir,
    issuers: Api<WasmIssuer>,
}

impl World {
    /// A namespace with WasmIssuer `stamp` Ready on stamp-v1 from ConfigMap `stamp`.
    async fn new(prefix: &str) -> (Self, wasm_issuer_test_support::Ca) {
        let client = prepare(shared().await.expect("start the control plane")).await;
        let namespace = namespace(&client, prefix).await;
        let workdir = Workdir::new();
        let ca = ca_secret(&client, &workdir, &namespace, "ca").await;
        plugin_config_map(&client, &namespace, "stamp", &test_plugin("stamp-v1")).await;
        IssuerBuilder::new("stamp")
            .key("ca", "ca")
            .create_namespaced(&client, &namespace, "stamp")
            .await;
        let issuers = Api::namespaced(client.clone(), &namespace);
        wait_for_issuer(&issuers, "stamp", "True", "Checked").await;
        let world = Self {
            client,
            namespace,
            workdir,
            issuers,
        };
        (world, ca)
    }

    /// Replaces the plugin in ConfigMap `stamp` with `bytes`.
    async fn put_plugin(&self, bytes: Vec<u8>) {
        replace_plugin(&self.client, &self.namespace, "stamp", bytes).await;
    }

    async fn request(&self, name: &str) -> CertificateRequest {
        let csr = server_csr(&self.workdir, &format!("{name}.example.com"));
        RequestBuilder::new(name, &csr, "WasmIssuer", "stamp")
            .create(&self.client, &self.namespace)
            .await
    }

    /// Waits until the issuer's status says `digest` serves.
    async fn wait_for_digest(&self, digest: &Digest) -> WasmIssuer {
        wait_for_digest(&self.issuers, "stamp", digest).await.0
    }

    async fn wait_for_refusal(&self) -> String {
        wait_for_refusal(&self.issuers, "stamp").await
    }

    /// A new request, issued: its stamp.
    async fn issued_stamp(&self, name: &str, ca: &wasm_issuer_test_support::Ca) -> String {
        let request = self.request(name).await;
        issued_stamp(&self.client, &self.workdir, ca, &request).await
    }
}

#[tokio::test]
async fn a_configmap_update_swaps_the_plugin_without_failing_a_request() {
    let (world, ca) = World::new("swap").await;
    let v1 = stamp_plugin("v1").1;
    let v2 = stamp_plugin("v2").1;
    world.wait_for_digest(&v1).await;

    // A stream of requests; the plugin is swapped in the middle of it.
    const REQUESTS: usize = 24;
    for n in 0..REQUESTS {
        if n == REQUESTS / 2 {
            world
                .put_plugin(plugin_bytes(&test_plugin("stamp-v2")))
                .await;
        }
        world.request(&format!("app-{n}")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let swapped = world.wait_for_digest(&v2).await;
    let status = swapped.status.expect("status");
    let loaded_at = status
        .plugin_loaded_at
        .expect("pluginLoadedAt")
        .0
        .as_second();
    assert_eq!(
        status.plugin_source.as_deref(),
        Some(format!("ConfigMap {}/stamp", world.namespace).as_str())
    );

    let requests = Api::<CertificateRequest>::namespaced(world.client.clone(), &world.namespace);
    let mut stamps = BTreeMap::new();
    for n in 0..REQUESTS {
        let name = format!("app-{n}");
        let request = requests.get(&name).await.expect("get");
        let issued = wait_for_request(
            &world.client,
            &request,
            "Issued",
            ready_is("True", "Issued"),
        )
        .await;
        stamps.insert(name, stamp(&verified_chain(&world.workdir, &ca, &issued)));
    }
    let versions: Vec<&str> = stamps
        .values()
        .map(|(version, _)| version.as_str())
        .collect();
    assert!(
        versions.contains(&"v1") && versions.contains(&"v2"),
        "both versions signed: {versions:?}"
    );
    // Signed before the swap by v1, after it by v2 (to the second).
    for (name, (version, not_before)) in &stamps {
        match version.as_str() {
            "v1" => assert!(*not_before <= loaded_at + 1, "{name}: v1 after the swap"),
            "v2" => assert!(*not_before >= loaded_at - 1, "{name}: v2 before the swap"),
            other => panic!("{name}: unknown stamp {other}"),
        }
    }
    let events = Api::<Event>::namespaced(world.client.clone(), &world.namespace)
        .list(&ListParams::default())
        .await
        .expect("events");
    assert!(
        events
            .items
            .iter()
            .any(|event| event.reason.as_deref() == Some("PluginLoaded")
                && event
                    .note
                    .as_deref()
                    .is_some_and(|note| note.contains(&v2.to_string())
                        && note.contains(&format!("(was {v1})")))),
        "a PluginLoaded event names the new and the old digest"
    );
}

#[tokio::test]
async fn a_broken_update_is_refused_and_the_last_good_version_keeps_serving() {
    let (world, ca) = World::new("broken").await;
    let v1 = stamp_plugin("v1").1;
    world.wait_for_digest(&v1).await;

    // Not WebAssembly.
    world.put_plugin(b"not a component".to_vec()).await;
    let message = world.wait_for_refusal().await;
    assert!(
        message.contains("not a WebAssembly file")
            && message.ends_with(&format!("still serving {v1}")),
        "{message}"
    );
    assert_eq!(world.issued_stamp("after-garbage", &ca).await, "v1");

    // A component of the wrong world: a policy.
    world
        .put_plugin(plugin_bytes(&plugin("allow-domains")))
        .await;
    let message = world.wait_for_refusal_with("is not a signer plugin").await;
    assert!(
        message.ends_with(&format!("still serving {v1}")),
        "{message}"
    );

    // A signer whose check fails (its configuration is not this issuer's).
    world
        .put_plugin(plugin_bytes(&test_plugin("greedy-key")))
        .await;
    let message = world.wait_for_refusal_with("plugin check failed").await;
    assert!(
        message.ends_with(&format!("still serving {v1}")),
        "{message}"
    );
    assert_eq!(world.issued_stamp("after-failed-check", &ca).await, "v1");

    // A good version again: served, PluginReady again.
    world
        .put_plugin(plugin_bytes(&test_plugin("stamp-v2")))
        .await;
    world.wait_for_digest(&stamp_plugin("v2").1).await;
    assert_eq!(world.issued_stamp("after-fix", &ca).await, "v2");
}

#[tokio::test]
async fn content_that_does_not_match_the_digest_pin_is_refused() {
    let (world, ca) = World::new("pinned").await;
    let v1 = stamp_plugin("v1").1;
    world.wait_for_digest(&v1).await;
    world
        .issuers
        .patch(
            "stamp",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"plugin": {"digest": v1.to_string()}}})),
        )
        .await
        .expect("pin the digest");
    wait_for_issuer(&world.issuers, "stamp", "True", "Checked").await;
    world
        .put_plugin(plugin_bytes(&test_plugin("stamp-v2")))
        .await;
    let message = world
        .wait_for_refusal_with("is not the pinned digest")
        .await;
    assert!(
        message.ends_with(&format!("still serving {v1}")),
        "{message}"
    );
    assert_eq!(world.issued_stamp("pinned", &ca).await, "v1");
}

impl World {
    /// Waits until PluginReady is Refused with a message containing `text`.
    async fn wait_for_refusal_with(&self, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let message = self.wait_for_refusal().await;
            if message.contains(text) {
                return message;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no refusal with {text:?}; last: {message}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
