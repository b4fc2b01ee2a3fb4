//! End to end through cert-manager: a `Certificate` becomes a
//! CertificateRequest, cert-manager's approver approves it, our controller
//! signs it with the `ca` plugin, and cert-manager writes the Secret. Every
//! field of the result is checked, and the chain by `openssl verify`.
//! Also: what a plugin and an issuer can reach (capability isolation).

mod common;

use std::time::Duration;

use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use wasm_issuer_controller::api::{WasmClusterIssuer, WasmIssuer};
use wasm_issuer_test_support::{Workdir, plugin, test_plugin};
use wasm_issuer_testenv::{CLUSTER_RESOURCE_NAMESPACE, shared};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use common::{
    IssuerBuilder, ca_cluster_issuer, ca_issuer, ca_secret, field, issue_certificate, namespace,
    plugin_config_map, prepare, ready_of, wait_for, wait_for_issuer,
};

async fn client() -> Client {
    prepare(shared().await.expect("start the control plane")).await
}

/// A leaf with every SAN kind, a literal subject, custom usages and a 2h
/// duration; and a CA certificate. Both from the issuer `kind`/`name`.
async fn issue_and_check(
    client: &Client,
    workdir: &Workdir,
    namespace: &str,
    kind: &str,
    issuer: &str,
) {
    let issuer_ref = json!({"group": "wasm-issuer.dev", "kind": kind, "name": issuer});
    let leaf = issue_certificate(
        client,
        namespace,
        "leaf",
        json!({
            "secretName": "leaf-tls",
            "duration": "2h",
            "literalSubject": "C=DE,O=Example Org,CN=app.example.com",
            "dnsNames": ["app.example.com", "www.example.com"],
            "ipAddresses": ["192.0.2.10", "2001:db8::10"],
            "uris": ["spiffe://cluster.local/ns/default/sa/app"],
            "emailAddresses": ["ops@example.com"],
            "usages": ["digital signature", "key encipherment", "server auth", "client auth"],
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "issuerRef": issuer_ref,
        }),
    )
    .await;
    let ca_pem = field(&leaf, "ca.crt");
    let ca_file = workdir.write(&format!("{namespace}-{issuer}-ca.crt"), &ca_pem);
    let leaf_pem = String::from_utf8(field(&leaf, "tls.crt")).expect("PEM");
    workdir
        .verify(&ca_file, None, "leaf.crt", &leaf_pem)
        .unwrap_or_else(|error| panic!("openssl verify: {error}"));

    let der = wasm_issuer_test_support::der_of_pem(leaf_pem.as_bytes());
    let (_, cert) = X509Certificate::from_der(&der).expect("an X.509 certificate");
    // RFC 4514 writes the last RDN first: in DER order the subject is
    // CN, O, C, as cert-manager encoded it in the CSR.
    assert_eq!(
        cert.subject().to_string(),
        "CN=app.example.com, O=Example Org, C=DE"
    );
    assert_two_hours(&cert);
    let sans = cert
        .subject_alternative_name()
        .expect("valid")
        .expect("SANs")
        .value;
    let names: Vec<String> = sans
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => format!("DNS:{dns}"),
            GeneralName::IPAddress(ip) => format!("IP:{}", ip.len()),
            GeneralName::URI(uri) => format!("URI:{uri}"),
            GeneralName::RFC822Name(email) => format!("email:{email}"),
            other => format!("{other:?}"),
        })
        .collect();
    for expected in [
        "DNS:app.example.com",
        "DNS:www.example.com",
        "IP:4",
        "IP:16",
        "URI:spiffe://cluster.local/ns/default/sa/app",
        "email:ops@example.com",
    ] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} missing from {names:?}"
        );
    }
    let usage = cert.key_usage().expect("valid").expect("key usage").value;
    assert!(usage.digital_signature() && usage.key_encipherment() && !usage.key_cert_sign());
    let extended = cert
        .extended_key_usage()
        .expect("valid")
        .expect("extended key usage")
        .value;
    assert!(extended.server_auth && extended.client_auth);
    assert!(!cert.is_ca());

    let ca = issue_certificate(
        client,
        namespace,
        "intermediate",
        json!({
            "secretName": "intermediate-tls",
            "duration": "2h",
            "commonName": "Intermediate CA",
            "isCA": true,
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "issuerRef": issuer_ref,
        }),
    )
    .await;
    let ca_cert_pem = String::from_utf8(field(&ca, "tls.crt")).expect("PEM");
    workdir
        .verify(&ca_file, None, "intermediate.crt", &ca_cert_pem)
        .unwrap_or_else(|error| panic!("openssl verify: {error}"));
    let der = wasm_issuer_test_support::der_of_pem(ca_cert_pem.as_bytes());
    let (_, cert) = X509Certificate::from_der(&der).expect("an X.509 certificate");
    assert!(cert.is_ca());
    assert!(
        cert.key_usage()
            .expect("valid")
            .expect("key usage")
            .value
            .key_cert_sign()
    );
    assert_two_hours(&cert);
}

fn assert_two_hours(cert: &X509Certificate<'_>) {
    let validity = cert.validity();
    let seconds = validity.not_after.timestamp() - validity.not_before.timestamp();
    assert!(
        (seconds - 7200).abs() <= 30,
        "lifetime {seconds}s, not 2h within 30s"
    );
}

#[tokio::test]
async fn a_certificate_through_cert_manager_from_a_wasm_issuer() {
    let client = client().await;
    let namespace = namespace(&client, "e2e-issuer").await;
    let workdir = Workdir::new();
    ca_issuer(&client, &workdir, &namespace, "ca").await;
    issue_and_check(&client, &workdir, &namespace, "WasmIssuer", "ca").await;
}

#[tokio::test]
async fn a_certificate_through_cert_manager_from_a_wasm_cluster_issuer() {
    let client = client().await;
    let namespace = namespace(&client, "e2e-cluster").await;
    let workdir = Workdir::new();
    // The cluster issuer's plugin and key live in the cluster resource namespace.
    let name = format!("{namespace}-ca");
    ca_cluster_issuer(&client, &workdir, &name).await;
    issue_and_check(&client, &workdir, &namespace, "WasmClusterIssuer", &name).await;
}

#[tokio::test]
async fn a_plugin_cannot_open_a_key_its_issuer_does_not_grant() {
    let client = client().await;
    let namespace = namespace(&client, "greedy").await;
    let workdir = Workdir::new();
    plugin_config_map(&client, &namespace, "greedy", &test_plugin("greedy-key")).await;
    ca_secret(&client, &workdir, &namespace, "ca").await;
    ca_secret(&client, &workdir, &namespace, "other").await;
    IssuerBuilder::new("greedy")
        .key("ca", "ca")
        .config(json!({"key": "other"}))
        .create_namespaced(&client, &namespace, "greedy")
        .await;
    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    let issuer = wait_for_issuer(&issuers, "greedy", "False", "Pending").await;
    let message = &ready_of(&issuer).message;
    assert!(
        message.contains("\"other\"") && message.contains("not granted"),
        "{message}"
    );
}

#[tokio::test]
async fn a_wasm_issuer_cannot_use_a_secret_of_another_namespace() {
    let client = client().await;
    let namespace = namespace(&client, "own-ns").await;
    let elsewhere = common::namespace(&client, "elsewhere").await;
    let workdir = Workdir::new();
    plugin_config_map(&client, &namespace, "ca-plugin", &plugin("ca")).await;
    ca_secret(&client, &workdir, &elsewhere, "shared-ca").await;
    IssuerBuilder::new("ca-plugin")
        .key("ca", "shared-ca")
        .create_namespaced(&client, &namespace, "ca")
        .await;
    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    let issuer = wait_for_issuer(&issuers, "ca", "False", "Pending").await;
    let message = &ready_of(&issuer).message;
    assert_eq!(
        message,
        &format!("Secret {namespace}/shared-ca (key \"ca\") not found")
    );
    // A WasmClusterIssuer only reads the cluster resource namespace.
    let name = format!("{namespace}-cluster");
    plugin_config_map(&client, CLUSTER_RESOURCE_NAMESPACE, &name, &plugin("ca")).await;
    IssuerBuilder::new(&name)
        .key("ca", "shared-ca")
        .create_cluster(&client, &name)
        .await;
    let cluster_issuers = Api::<WasmClusterIssuer>::all(client.clone());
    let issuer = wait_for_issuer(&cluster_issuers, &name, "False", "Pending").await;
    let message = &ready_of(&issuer).message;
    assert_eq!(
        message,
        &format!("Secret {CLUSTER_RESOURCE_NAMESPACE}/shared-ca (key \"ca\") not found")
    );
    // The Secret appearing where it belongs makes the issuer Ready without polling.
    ca_secret(&client, &workdir, &namespace, "shared-ca").await;
    tokio::time::timeout(
        Duration::from_secs(20),
        wait_for_issuer(&issuers, "ca", "True", "Checked"),
    )
    .await
    .expect("Ready after the Secret appeared");
}

#[tokio::test]
async fn an_issuer_is_checked_again_every_check_interval() {
    let client = client().await;
    let namespace = namespace(&client, "interval").await;
    let workdir = Workdir::new();
    plugin_config_map(&client, &namespace, "ca-plugin", &plugin("ca")).await;
    ca_secret(&client, &workdir, &namespace, "ca").await;
    let mut spec = IssuerBuilder::new("ca-plugin").key("ca", "ca").spec();
    spec.check_interval = "1s".to_owned();
    Api::<WasmIssuer>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &WasmIssuer::new("ca", spec.into()))
        .await
        .expect("create the issuer");
    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    let first = wait_for_issuer(&issuers, "ca", "True", "Checked").await;
    let checked_at = |issuer: &WasmIssuer| {
        issuer
            .status
            .as_ref()
            .and_then(|status| status.last_check_time.clone())
            .expect("lastCheckTime")
    };
    let first_check = checked_at(&first);
    let checked_again = |issuer: &WasmIssuer| {
        issuer
            .status
            .as_ref()
            .and_then(|status| status.last_check_time.as_ref())
            .is_some_and(|time| time.0 > first_check.0)
    };
    let later = wait_for(
        Duration::from_secs(20),
        &issuers,
        "ca",
        "checked again",
        checked_again,
        |issuer| issuer.status,
    )
    .await;
    assert!(checked_at(&later).0 > first_check.0);
}
