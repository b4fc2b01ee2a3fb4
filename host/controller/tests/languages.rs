//! Plugins in Python and JavaScript on the real control plane, through the
//! same host and contract as the Rust ones: a WasmClusterIssuer whose signer
//! is the Python `ca` and whose policies are the Python requester policy and
//! the JavaScript allow-domains. They are too big for a ConfigMap (tens of
//! MB), so they come from files.

mod common;

use std::time::Duration;

use kube::Client;
use kube::api::Api;
use serde_json::json;
use wasm_issuer_controller::api::{CertificateRequest, WasmClusterIssuer};
use wasm_issuer_test_support::{CsrSpec, KeyKind, Workdir, plugin};
use wasm_issuer_testenv::{CLUSTER_RESOURCE_NAMESPACE, shared};

use common::{
    IssuerBuilder, RequestBuilder, ca_secret, condition, namespace, prepare, ready_is,
    verified_chain, wait_for_issuer_within, wait_for_request,
};

/// How long the issuer may take to become Ready.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(600);

/// A request for `name` in `namespace`, as alice of group web-team.
async fn request(
    client: &Client,
    workdir: &Workdir,
    namespace: &str,
    issuer: &str,
    request: &str,
    name: &str,
) -> CertificateRequest {
    let csr = workdir.csr(request, &CsrSpec::server(KeyKind::EcP256, name));
    let csr = std::fs::read(csr).expect("the CSR");
    RequestBuilder::new(request, &csr, "WasmClusterIssuer", issuer)
        .by("alice", &["web-team"])
        .create(client, namespace)
        .await
}

#[tokio::test]
async fn python_and_javascript_plugins_sign_and_decide_on_the_control_plane() {
    let client = prepare(shared().await.expect("start the control plane")).await;
    let namespace = namespace(&client, "polyglot").await;
    let workdir = Workdir::new();
    let issuer = format!("{namespace}-polyglot");
    let ca = ca_secret(&client, &workdir, CLUSTER_RESOURCE_NAMESPACE, &issuer).await;
    IssuerBuilder::new("unused")
        .signer_file(&plugin("ca-python"))
        .key("ca", &issuer)
        .policy(
            "requester",
            "unused",
            json!({"rules": [{"users": ["alice"], "dnsNames": ["*.apps.example.com", "*.apps.example.org"]}]}),
        )
        .policy_file(&plugin("requester-policy-python"))
        .policy(
            "domains",
            "unused",
            json!({"allowedDomains": ["example.com"]}),
        )
        .policy_file(&plugin("allow-domains-javascript"))
        .timeout("10s")
        .create_cluster(&client, &issuer)
        .await;
    let issuers = Api::<WasmClusterIssuer>::all(client.clone());
    // Three components of tens of MB, compiled by a debug build of the host.
    wait_for_issuer_within(COMPILE_TIMEOUT, &issuers, &issuer, "True", "Checked").await;

    // Allowed by both policies, signed by the Python CA, checked by openssl.
    let allowed = request(
        &client,
        &workdir,
        &namespace,
        &issuer,
        "allowed",
        "web.apps.example.com",
    )
    .await;
    let issued = wait_for_request(&client, &allowed, "Issued", ready_is("True", "Issued")).await;
    verified_chain(&workdir, &ca, &issued);

    // Denied by the Python policy: not a name alice may request.
    let not_hers = request(
        &client,
        &workdir,
        &namespace,
        &issuer,
        "not-hers",
        "db.example.com",
    )
    .await;
    let failed = wait_for_request(&client, &not_hers, "Failed", ready_is("False", "Failed")).await;
    assert_eq!(
        condition(&failed, "Ready").message.as_deref(),
        Some("denied by policy \"requester\": alice may not request DNS name db.example.com")
    );

    // Allowed by the Python policy, denied by the JavaScript one.
    let elsewhere = request(
        &client,
        &workdir,
        &namespace,
        &issuer,
        "elsewhere",
        "web.apps.example.org",
    )
    .await;
    let failed = wait_for_request(&client, &elsewhere, "Failed", ready_is("False", "Failed")).await;
    let message = condition(&failed, "Ready")
        .message
        .clone()
        .unwrap_or_default();
    assert!(
        message.starts_with(
            "denied by policy \"domains\": DNS name \"web.apps.example.org\" is not under an allowed domain"
        ),
        "{message}"
    );
}
