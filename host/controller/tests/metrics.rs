//! The controller's HTTP endpoints on a real control plane: after it issues
//! N certificates, `/metrics` counts N; a trapping plugin shows in the trap
//! counter; `/healthz` and `/readyz` answer. This binary runs its own
//! controller (with endpoints) instead of the shared one.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kube::Client;
use kube::api::Api;
use wasm_issuer_controller::api::WasmIssuer;
use wasm_issuer_test_support::{Workdir, free_address, plugin, test_plugin};
use wasm_issuer_testenv::shared;

use common::{
    IssuerBuilder, RequestBuilder, RunningController, TIMEOUT, ca_secret, install_crds, namespace,
    plugin_config_map, ready_is, server_csr, test_options, wait_for_issuer, wait_for_request,
};

/// `GET path` on the controller, which must be listening.
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    wasm_issuer_test_support::http_get(address, path)
        .unwrap_or_else(|| panic!("nothing listens on {address}"))
}

/// The value of the sample that is exactly `series` (name and labels).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

/// Polls `/metrics` until `series` has `expected`.
async fn wait_for_sample(address: SocketAddr, series: &str, expected: f64) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (_, metrics) = get(address, "/metrics");
        let found = sample(&metrics, series);
        if found == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{series} is {found:?}, not {expected}, after {TIMEOUT:?}:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn metrics_count_issued_certificates_and_traps_and_probes_answer() {
    let control_plane = shared().await.expect("start the control plane");
    install_crds(control_plane).await;
    let (metrics_address, health_address) = (free_address(), free_address());
    let _controller = RunningController::start(
        control_plane,
        wasm_issuer_controller::Options {
            metrics_address: Some(metrics_address),
            health_address: Some(health_address),
            ..test_options()
        },
    );
    let client: Client = control_plane.client().await.expect("admin client");
    let namespace = namespace(&client, "metrics").await;
    let workdir = Workdir::new();
    plugin_config_map(&client, &namespace, "ca-plugin", &plugin("ca")).await;
    plugin_config_map(&client, &namespace, "panic-plugin", &test_plugin("panic")).await;
    ca_secret(&client, &workdir, &namespace, "ca").await;
    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    for (name, plugin) in [("ca", "ca-plugin"), ("panics", "panic-plugin")] {
        IssuerBuilder::new(plugin)
            .key("ca", "ca")
            .create_namespaced(&client, &namespace, name)
            .await;
        wait_for_issuer(&issuers, name, "True", "Checked").await;
    }

    // Ready once its caches are synced; alive all along.
    assert_eq!(get(health_address, "/healthz").0, 200);
    let (status, body) = get(health_address, "/readyz");
    assert_eq!(
        (status, body.as_str()),
        (200, "ok: leading, caches synced\n")
    );
    assert_eq!(get(health_address, "/nothing").0, 404);

    const ISSUED: usize = 5;
    for index in 0..ISSUED {
        let name = format!("app-{index}");
        let request = RequestBuilder::new(&name, &server_csr(&workdir, &name), "WasmIssuer", "ca")
            .create(&client, &namespace)
            .await;
        wait_for_request(&client, &request, "Issued", ready_is("True", "Issued")).await;
    }
    let issued = format!(
        "wasm_issuer_requests_total{{kind=\"CertificateRequest\",issuer=\"WasmIssuer {namespace}/ca\",outcome=\"issued\"}}"
    );
    wait_for_sample(metrics_address, &issued, ISSUED as f64).await;

    let request = RequestBuilder::new(
        "doomed",
        &server_csr(&workdir, "doomed"),
        "WasmIssuer",
        "panics",
    )
    .create(&client, &namespace)
    .await;
    wait_for_request(&client, &request, "retrying", ready_is("False", "Pending")).await;
    let (status, metrics) = get(metrics_address, "/metrics");
    assert_eq!(status, 200);
    let traps = sample(
        &metrics,
        "wasm_issuer_plugin_traps_total{world=\"signer\",trap=\"panic\"}",
    )
    .unwrap_or_default();
    assert!(traps >= 1.0, "no panic trap counted:\n{metrics}");
    let retries = format!(
        "wasm_issuer_requests_total{{kind=\"CertificateRequest\",issuer=\"WasmIssuer {namespace}/panics\",outcome=\"retry\"}}"
    );
    assert!(
        sample(&metrics, &retries).unwrap_or_default() >= 1.0,
        "{metrics}"
    );
    for family in [
        "wasm_issuer_signing_duration_seconds_count{kind=\"CertificateRequest\"}",
        "wasm_issuer_plugin_loads_total{world=\"signer\",source=\"compiled\"}",
        "wasm_issuer_queue_depth{kind=\"CertificateRequest\"}",
    ] {
        assert!(
            sample(&metrics, family).is_some(),
            "no {family} in:\n{metrics}"
        );
    }
}
