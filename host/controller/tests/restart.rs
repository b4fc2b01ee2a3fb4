//! Restart safety: the controller is stopped abruptly in the middle of a
//! batch and started again; every request ends Issued with one valid
//! certificate, none stuck, failed or lost.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use wasm_issuer_controller::api::{CertificateRequest, WasmIssuer};
use wasm_issuer_test_support::{Workdir, test_plugin};
use wasm_issuer_testenv::ControlPlane;

use common::{
    IssuerBuilder, RequestBuilder, RunningController, TIMEOUT, ca_secret, events_about,
    install_crds, namespace, plugin_config_map, server_csr, test_options, verified_chain,
    wait_for_issuer,
};

const BATCH: usize = 50;

fn is_issued(request: &CertificateRequest) -> bool {
    request
        .condition("Ready")
        .is_some_and(|ready| ready.status == "True" && ready.reason.as_deref() == Some("Issued"))
}

/// The batch's requests by name, as the API has them now.
async fn batch(requests: &Api<CertificateRequest>) -> BTreeMap<String, CertificateRequest> {
    requests
        .list(&ListParams::default())
        .await
        .expect("list the requests")
        .items
        .into_iter()
        .map(|request| (request.name_any(), request))
        .collect()
}

async fn wait_until(
    requests: &Api<CertificateRequest>,
    what: &str,
    done: impl Fn(&BTreeMap<String, CertificateRequest>) -> bool,
) -> BTreeMap<String, CertificateRequest> {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let now = batch(requests).await;
        if done(&now) {
            return now;
        }
        let issued = now.values().filter(|request| is_issued(request)).count();
        assert!(
            tokio::time::Instant::now() < deadline,
            "not {what} after {TIMEOUT:?}: {issued} of {BATCH} issued"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_controller_killed_mid_batch_finishes_every_request_after_a_restart() {
    // A control plane of its own: this test runs its own controller, twice.
    let control_plane = ControlPlane::start().await.expect("start a control plane");
    install_crds(&control_plane).await;
    let client: Client = control_plane.client().await.expect("admin client");
    let namespace = namespace(&client, "restart").await;
    let workdir = Workdir::new();
    plugin_config_map(&client, &namespace, "scripted", &test_plugin("scripted")).await;
    let ca = ca_secret(&client, &workdir, &namespace, "ca").await;
    // Each signature takes 100 ms and two run at once: the batch takes
    // seconds, so the controller is stopped with work in progress.
    let options = wasm_issuer_controller::Options {
        concurrency: 2,
        ..test_options()
    };
    let first = RunningController::start(&control_plane, options.clone());
    IssuerBuilder::new("scripted")
        .key("ca", "ca")
        .config(json!({"signDelayMs": 100}))
        .create_namespaced(&client, &namespace, "slow")
        .await;
    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    wait_for_issuer(&issuers, "slow", "True", "Checked").await;

    for n in 0..BATCH {
        let name = format!("app-{n}");
        let csr = server_csr(&workdir, &format!("{name}.example.com"));
        RequestBuilder::new(&name, &csr, "WasmIssuer", "slow")
            .create(&client, &namespace)
            .await;
    }
    let requests = Api::<CertificateRequest>::namespaced(client.clone(), &namespace);
    wait_until(&requests, "partly issued", |batch| {
        batch.values().filter(|request| is_issued(request)).count() >= 5
    })
    .await;
    first.kill();
    let at_kill = batch(&requests).await;
    let issued_at_kill = at_kill
        .values()
        .filter(|request| is_issued(request))
        .count();
    assert!(
        issued_at_kill < BATCH,
        "the whole batch was issued before the stop: the test proves nothing"
    );

    let _second = RunningController::start(&control_plane, options);
    let done = wait_until(&requests, "all issued", |batch| {
        batch.len() == BATCH && batch.values().all(is_issued)
    })
    .await;
    for request in done.values() {
        let chain = verified_chain(&workdir, &ca, request);
        assert_eq!(
            chain.matches("-----BEGIN CERTIFICATE-----").count(),
            1,
            "{}: one certificate",
            request.name_any()
        );
        let status = request.status.as_ref().expect("status");
        assert!(status.failure_time.is_none(), "{}", request.name_any());
        assert!(request.condition("InvalidRequest").is_none());
    }
    eprintln!("{issued_at_kill} of {BATCH} were issued when the controller was stopped");
}

/// Waits until there are `count` PluginLoaded Events about issuer `ca`; their notes.
async fn wait_for_plugin_loaded(client: &Client, namespace: &str, count: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let notes = plugin_loaded_notes(client, namespace, "ca").await;
        if notes.len() >= count {
            return notes;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{count} PluginLoaded Events expected: {notes:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The notes of the PluginLoaded Events about issuer `name` in `namespace`.
async fn plugin_loaded_notes(client: &Client, namespace: &str, name: &str) -> Vec<String> {
    events_about(client, namespace, name)
        .await
        .into_iter()
        .filter(|event| event.reason.as_deref() == Some("PluginLoaded"))
        .filter_map(|event| event.note)
        .collect()
}

#[tokio::test]
async fn a_restarted_controller_loads_the_plugin_from_the_compile_cache() {
    let control_plane = ControlPlane::start().await.expect("start a control plane");
    install_crds(&control_plane).await;
    let client: Client = control_plane.client().await.expect("admin client");
    let namespace = namespace(&client, "warm").await;
    let workdir = Workdir::new();
    plugin_config_map(
        &client,
        &namespace,
        "ca-plugin",
        &wasm_issuer_test_support::plugin("ca"),
    )
    .await;
    ca_secret(&client, &workdir, &namespace, "ca").await;
    let cache = tempfile::tempdir().expect("a compile cache directory");
    let options = wasm_issuer_controller::Options {
        compile_cache_dir: Some(cache.path().to_owned()),
        ..test_options()
    };

    let first = RunningController::start(&control_plane, options.clone());
    IssuerBuilder::new("ca-plugin")
        .key("ca", "ca")
        .create_namespaced(&client, &namespace, "ca")
        .await;
    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    wait_for_issuer(&issuers, "ca", "True", "Checked").await;
    let notes = wait_for_plugin_loaded(&client, &namespace, 1).await;
    assert!(
        notes[0].contains("compiled in"),
        "the first controller compiled: {notes:?}"
    );
    first.kill();

    let _second = RunningController::start(&control_plane, options);
    let notes = wait_for_plugin_loaded(&client, &namespace, 2).await;
    assert!(
        notes
            .iter()
            .any(|note| note.contains("loaded from the compile cache")),
        "the second controller loaded from the cache: {notes:?}"
    );
}
