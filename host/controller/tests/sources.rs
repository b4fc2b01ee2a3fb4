//! Plugins from an OCI registry and from files, on the real control plane:
//! a moved tag is picked up by polling, a rewritten file by watching, both
//! without waiting for the issuer's check interval (an hour here).

mod common;

use std::path::Path;

use kube::Client;
use kube::api::Api;
use serde_json::json;
use wasm_issuer_controller::api::{WasmClusterIssuer, WasmIssuer};
use wasm_issuer_sources::oci::{self, Credentials};
use wasm_issuer_test_support::{Ca, Workdir, test_plugin};
use wasm_issuer_testenv::{CLUSTER_RESOURCE_NAMESPACE, Registry, RegistryOptions, shared};

use common::{
    IssuerBuilder, RequestBuilder, ca_secret, issued_stamp, namespace, prepare, ready_of,
    server_csr, stamp_plugin, wait_for_digest, wait_for_issuer,
};

/// Long enough that only the source's own trigger can explain a reload.
const CHECK_INTERVAL: &str = "1h";

async fn client() -> Client {
    prepare(shared().await.expect("start the control plane")).await
}

/// A new request `request` to issuer `kind`/`name` from `namespace`, issued:
/// the stamp of its certificate.
async fn new_request_stamp(
    client: &Client,
    workdir: &Workdir,
    ca: &Ca,
    namespace: &str,
    (kind, name): (&str, &str),
    request: &str,
) -> String {
    let csr = server_csr(workdir, &format!("{request}.example.com"));
    let created = RequestBuilder::new(request, &csr, kind, name)
        .create(client, namespace)
        .await;
    issued_stamp(client, workdir, ca, &created).await
}

#[tokio::test]
async fn a_moved_oci_tag_is_picked_up_within_the_poll_interval() {
    let client = client().await;
    let namespace = namespace(&client, "oci").await;
    let workdir = Workdir::new();
    let ca = ca_secret(&client, &workdir, &namespace, "ca").await;
    let registry = Registry::start(RegistryOptions::default()).expect("start a registry");
    let tag = format!("{}/plugins/stamp:live", registry.host());
    let (v1, v1_digest) = stamp_plugin("v1");
    let pushed = oci::push(&v1, &tag, &Credentials::Anonymous, true)
        .await
        .expect("push v1");

    let mut spec = IssuerBuilder::new("unused").key("ca", "ca").spec();
    spec.plugin.config_map = None;
    spec.plugin.oci = Some(
        serde_json::from_value(json!({"reference": tag, "insecure": true, "pollInterval": "2s"}))
            .expect("an OCI source"),
    );
    spec.check_interval = CHECK_INTERVAL.to_owned();
    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    issuers
        .create(&Default::default(), &WasmIssuer::new("stamp", spec.into()))
        .await
        .expect("create the issuer");
    wait_for_digest(&issuers, "stamp", &v1_digest).await;
    let status = issuers
        .get("stamp")
        .await
        .expect("get")
        .status
        .expect("status");
    assert_eq!(
        status.plugin_source.as_deref(),
        Some(format!("oci {pushed}").as_str()),
        "the tag's resolved digest"
    );
    assert_eq!(
        new_request_stamp(
            &client,
            &workdir,
            &ca,
            &namespace,
            ("WasmIssuer", "stamp"),
            "before"
        )
        .await,
        "v1"
    );

    let (v2, v2_digest) = stamp_plugin("v2");
    oci::push(&v2, &tag, &Credentials::Anonymous, true)
        .await
        .expect("push v2 to the same tag");
    let (_, took) = wait_for_digest(&issuers, "stamp", &v2_digest).await;
    eprintln!("moved tag picked up after {took:?} (poll interval 2s)");
    assert_eq!(
        new_request_stamp(
            &client,
            &workdir,
            &ca,
            &namespace,
            ("WasmIssuer", "stamp"),
            "after"
        )
        .await,
        "v2"
    );
}

#[tokio::test]
async fn a_rewritten_plugin_file_is_picked_up_by_watching() {
    let client = client().await;
    let namespace = namespace(&client, "file").await;
    let workdir = Workdir::new();
    let name = format!("{namespace}-stamp");
    let ca = ca_secret(&client, &workdir, CLUSTER_RESOURCE_NAMESPACE, &name).await;
    let dir = tempfile::tempdir().expect("a directory for the plugin");
    let path = dir.path().join("stamp.wasm");
    let (v1, v1_digest) = stamp_plugin("v1");
    std::fs::write(&path, v1).expect("write v1");

    let mut spec = IssuerBuilder::new("unused").key("ca", &name).spec();
    spec.plugin.config_map = None;
    spec.plugin.file = Some(serde_json::from_value(json!({"path": path})).expect("a file source"));
    spec.check_interval = CHECK_INTERVAL.to_owned();
    let issuers = Api::<WasmClusterIssuer>::all(client.clone());
    issuers
        .create(
            &Default::default(),
            &WasmClusterIssuer::new(&name, spec.into()),
        )
        .await
        .expect("create the issuer");
    wait_for_digest(&issuers, &name, &v1_digest).await;
    assert_eq!(
        new_request_stamp(
            &client,
            &workdir,
            &ca,
            &namespace,
            ("WasmClusterIssuer", &name),
            "before"
        )
        .await,
        "v1"
    );

    // As editors and `kubectl cp` do: a new file renamed over the old one.
    let (v2, v2_digest) = stamp_plugin("v2");
    let staging = dir.path().join(".stamp.wasm.tmp");
    std::fs::write(&staging, v2).expect("write v2");
    std::fs::rename(&staging, &path).expect("rename v2 into place");
    let (_, took) = wait_for_digest(&issuers, &name, &v2_digest).await;
    eprintln!("rewritten file picked up after {took:?}");
    assert_eq!(
        new_request_stamp(
            &client,
            &workdir,
            &ca,
            &namespace,
            ("WasmClusterIssuer", &name),
            "after"
        )
        .await,
        "v2"
    );
}

#[tokio::test]
async fn a_wasm_issuer_may_not_read_files_outside_the_allowed_directories() {
    let client = client().await;
    let namespace = namespace(&client, "file-denied").await;
    let workdir = Workdir::new();
    ca_secret(&client, &workdir, &namespace, "ca").await;
    let path = test_plugin("stamp-v1");
    let mut spec = IssuerBuilder::new("unused").key("ca", "ca").spec();
    spec.plugin.config_map = None;
    spec.plugin.file = Some(serde_json::from_value(json!({"path": path})).expect("a file source"));
    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    issuers
        .create(&Default::default(), &WasmIssuer::new("stamp", spec.into()))
        .await
        .expect("create the issuer");
    let issuer = wait_for_issuer(&issuers, "stamp", "False", "Failed").await;
    let message = &ready_of(&issuer).message;
    assert!(
        message.contains("--allow-plugin-dir")
            && message.contains(&Path::new(&path).display().to_string()),
        "{message}"
    );
}
