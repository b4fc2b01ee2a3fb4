//! Issuance throughput on a real control plane: 500 approved
//! CertificateRequests against one WasmIssuer with the `ca` plugin (the
//! `wasm-issuer controller` binary, a child process) and the same 500
//! against cert-manager's in-tree CA issuer, in the same run. Prints the
//! time until all are Ready for each, their ratio, and the controller's
//! peak memory. Not a test: `cargo bench -p wasm-issuer --bench issuance`.
//!
//! Both controllers leave flow control to the API server (API Priority and
//! Fairness, on here): cert-manager drops its client-side limit then, and so
//! does ours.
//! The requests are created unapproved (the control plane runs without
//! cert-manager's approver); the clock starts when the bench approves them,
//! all at once, as an approver would.

mod common;

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};
use serde_json::json;
use wasm_issuer_controller::api::{CertificateRequest, WasmIssuer};
use wasm_issuer_test_support::plugin;
use wasm_issuer_testenv::unique_namespace;

use common::{
    Controller, approve, ca, ca_secret, certificate_request, csr, plugin_bytes, plugin_config_map,
    wait_issuer_ready, wait_requests_ready, wasm_issuer,
};

const REQUESTS: usize = 500;
const TIMEOUT: Duration = Duration::from_secs(600);

fn main() -> anyhow::Result<()> {
    if common::skipped("issuance") {
        return Ok(());
    }
    tokio::runtime::Runtime::new()?.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let (control_plane, client) = common::control_plane().await?;
    let (ca_cert, ca_key) = ca();

    let ours = unique_namespace(&client, "bench-wasm").await?;
    ca_secret(&client, &ours, &ca_cert, &ca_key).await?;
    let wasm = plugin_bytes(&plugin("ca"))?;
    plugin_config_map(&client, &ours, "ca-plugin", wasm).await?;
    let controller = Controller::start(&control_plane, "wasm-issuer", &[])?;
    let issuer: WasmIssuer = serde_json::from_value(wasm_issuer("ca", "ca-plugin"))?;
    Api::<WasmIssuer>::namespaced(client.clone(), &ours)
        .create(&PostParams::default(), &issuer)
        .await?;

    let in_tree = unique_namespace(&client, "bench-ca").await?;
    ca_secret(&client, &in_tree, &ca_cert, &ca_key).await?;
    let ca_issuer: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
        "metadata": {"name": "ca"}, "spec": {"ca": {"secretName": "ca"}},
    }))?;
    let issuers = ApiResource::from_gvk(&GroupVersionKind::gvk("cert-manager.io", "v1", "Issuer"));
    Api::<DynamicObject>::namespaced_with(client.clone(), &in_tree, &issuers)
        .create(&PostParams::default(), &ca_issuer)
        .await?;

    let wasm = run_batch(&client, &ours, "wasm-issuer.dev", "WasmIssuer").await?;
    let cert_manager = run_batch(&client, &in_tree, "cert-manager.io", "Issuer").await?;
    let peak = controller.peak_kib()?;
    drop(controller);

    println!(
        "issuance of {REQUESTS} approved CertificateRequests (server-side flow control for both)"
    );
    println!("| issuer | time until all Ready | per request |");
    println!("|---|---|---|");
    for (name, time) in [
        ("WasmIssuer, `ca` plugin", wasm),
        ("cert-manager in-tree CA Issuer", cert_manager),
    ] {
        println!(
            "| {name} | {:.2} s | {:.1} ms |",
            time.as_secs_f64(),
            time.as_secs_f64() * 1000.0 / REQUESTS as f64
        );
    }
    println!(
        "ratio (ours / in-tree): {:.2}",
        wasm.as_secs_f64() / cert_manager.as_secs_f64()
    );
    println!(
        "wasm-issuer controller peak memory (VmHWM): {:.1} MiB",
        peak as f64 / 1024.0
    );
    Ok(())
}

/// Creates the batch unapproved, then approves it all and times until every
/// request is Ready=True.
async fn run_batch(
    client: &kube::Client,
    namespace: &str,
    group: &str,
    kind: &str,
) -> anyhow::Result<Duration> {
    let requests = Api::<CertificateRequest>::namespaced(client.clone(), namespace);
    let csrs: Vec<String> = (0..REQUESTS)
        .map(|n| csr(&format!("app-{n}.example.com")))
        .collect::<anyhow::Result<_>>()?;
    stream::iter(csrs.into_iter().enumerate())
        .map(|(n, csr)| {
            let requests = requests.clone();
            async move {
                let request = certificate_request(&format!("app-{n}"), csr, group, kind, "ca")?;
                requests.create(&PostParams::default(), &request).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<()>()
        .await?;
    wait_issuer_ready(client, namespace, group, kind, "ca").await?;

    let start = Instant::now();
    stream::iter(0..REQUESTS)
        .map(|n| approve(&requests, format!("app-{n}")))
        .buffer_unordered(16)
        .try_collect::<()>()
        .await?;
    wait_requests_ready(&requests, &ListParams::default(), REQUESTS, kind, TIMEOUT).await?;
    Ok(start.elapsed())
}
