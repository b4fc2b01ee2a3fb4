//! Smoke tests on the real stack: etcd, kube-apiserver and cert-manager's
//! controllers, shared by the tests of this binary, a namespace per test.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, PostParams};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use serde_json::json;
use wasm_issuer_testenv::{ControlPlane, shared, unique_namespace};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

async fn setup(prefix: &str) -> (&'static ControlPlane, kube::Client, String) {
    let control_plane = shared().await.expect("start the shared control plane");
    let client = control_plane.client().await.expect("admin client");
    let namespace = unique_namespace(&client, prefix)
        .await
        .expect("create a namespace");
    (control_plane, client, namespace)
}

/// A cert-manager.io/v1 kind, for `DynamicObject`s.
fn cert_manager(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("cert-manager.io", "v1", kind))
}

async fn create(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    object: serde_json::Value,
) -> Api<DynamicObject> {
    let api = Api::namespaced_with(client.clone(), namespace, &cert_manager(kind));
    let object: DynamicObject = serde_json::from_value(object).expect("a valid object");
    api.create(&PostParams::default(), &object)
        .await
        .unwrap_or_else(|err| panic!("create {kind}: {err}"));
    api
}

/// Waits until the object's status has condition `type_` with status True.
async fn wait_for_condition(
    control_plane: &ControlPlane,
    api: &Api<DynamicObject>,
    name: &str,
    type_: &str,
) {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let object = api.get(name).await.expect("get object");
        let conditions = object.data["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if conditions
            .iter()
            .any(|c| c["type"] == type_ && c["status"] == "True")
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} not {type_} after {READY_TIMEOUT:?}; conditions: {conditions:?}; logs in {}",
            control_plane.log_dir().display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A self-signed CA: (certificate PEM, key PEM).
fn make_ca() -> (String, String) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "smoke test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).expect("self-signed CA");
    (cert.pem(), key.serialize_pem())
}

fn openssl_verify(ca: &Path, cert: &Path) -> std::process::Output {
    Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .arg(cert)
        .output()
        .expect("run `openssl` (required by this test: install openssl)")
}

#[tokio::test]
async fn namespace_and_secret_round_trip() {
    let (_, client, namespace) = setup("round-trip").await;
    let secrets: Api<Secret> = Api::namespaced(client, &namespace);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": { "name": "greeting" },
        "data": { "hello": ByteString(b"world".to_vec()) },
    }))
    .expect("a valid Secret");
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("create Secret");

    let read = secrets.get("greeting").await.expect("get Secret");
    let data = read.data.expect("Secret data");
    assert_eq!(data["hello"].0, b"world");
}

#[tokio::test]
async fn apiserver_reports_its_real_version() {
    let (control_plane, client, _) = setup("version").await;
    let info = client.apiserver_version().await.expect("GET /version");
    assert_eq!(info.git_version, control_plane.versions().kubernetes);
}

#[tokio::test]
async fn certificate_from_in_tree_ca_issuer_becomes_ready_and_verifies() {
    let (control_plane, client, namespace) = setup("ca-issuer").await;
    let (ca_cert, ca_key) = make_ca();

    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let ca_secret: Secret = serde_json::from_value(json!({
        "metadata": { "name": "smoke-ca" },
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": ByteString(ca_cert.clone().into_bytes()),
            "tls.key": ByteString(ca_key.into_bytes()),
        },
    }))
    .expect("a valid Secret");
    secrets
        .create(&PostParams::default(), &ca_secret)
        .await
        .expect("create CA Secret");

    let issuers = create(
        &client,
        &namespace,
        "Issuer",
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Issuer",
            "metadata": { "name": "smoke-ca" },
            "spec": { "ca": { "secretName": "smoke-ca" } },
        }),
    )
    .await;
    wait_for_condition(control_plane, &issuers, "smoke-ca", "Ready").await;

    let certificates = create(
        &client,
        &namespace,
        "Certificate",
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": { "name": "web" },
            "spec": {
                "secretName": "web-tls",
                "commonName": "web.example.test",
                "dnsNames": ["web.example.test"],
                "issuerRef": { "name": "smoke-ca", "kind": "Issuer" },
            },
        }),
    )
    .await;
    wait_for_condition(control_plane, &certificates, "web", "Ready").await;

    let issued = secrets.get("web-tls").await.expect("get the issued Secret");
    let data = issued.data.expect("issued Secret data");
    let work = tempfile::tempdir().expect("temp dir");
    let (ca_file, cert_file) = (work.path().join("ca.crt"), work.path().join("tls.crt"));
    std::fs::write(&ca_file, &ca_cert).expect("write ca.crt");
    std::fs::write(&cert_file, &data["tls.crt"].0).expect("write tls.crt");
    let verify = openssl_verify(&ca_file, &cert_file);
    assert!(
        verify.status.success(),
        "openssl verify failed: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[tokio::test]
async fn certificate_request_is_approved() {
    let (control_plane, client, namespace) = setup("approval").await;
    let key = KeyPair::generate().expect("key");
    let mut params =
        CertificateParams::new(vec!["approved.example.test".to_string()]).expect("CSR params");
    params
        .distinguished_name
        .push(DnType::CommonName, "approved.example.test");
    let csr = params
        .serialize_request(&key)
        .expect("CSR")
        .pem()
        .expect("CSR PEM");

    // The issuer need not exist: approval comes before (and apart from) signing.
    let requests = create(
        &client,
        &namespace,
        "CertificateRequest",
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": { "name": "direct" },
            "spec": {
                "request": ByteString(csr.into_bytes()),
                "issuerRef": { "name": "nobody", "kind": "Issuer", "group": "example.test" },
            },
        }),
    )
    .await;
    wait_for_condition(control_plane, &requests, "direct", "Approved").await;
}

#[tokio::test]
async fn impersonated_users_are_subject_to_rbac() {
    let (control_plane, client, namespace) = setup("rbac").await;
    let alice = control_plane
        .client_as("alice", &["readers"])
        .await
        .expect("impersonating client");
    let as_alice: Api<Secret> = Api::namespaced(alice, &namespace);

    match as_alice.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) if status.code == 403 => {}
        other => panic!("alice listed Secrets without a RoleBinding: {other:?}"),
    }

    let role: Role = serde_json::from_value(json!({
        "metadata": { "name": "secret-reader" },
        "rules": [{ "apiGroups": [""], "resources": ["secrets"], "verbs": ["list"] }],
    }))
    .expect("a valid Role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": { "name": "readers-read-secrets" },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader" },
        "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "readers" }],
    }))
    .expect("a valid RoleBinding");
    Api::<Role>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &role)
        .await
        .expect("create Role");
    Api::<RoleBinding>::namespaced(client, &namespace)
        .create(&PostParams::default(), &binding)
        .await
        .expect("create RoleBinding");

    as_alice
        .list(&ListParams::default())
        .await
        .expect("alice, in group readers, may list Secrets");
}

#[tokio::test]
async fn a_private_control_plane_stops_when_dropped() {
    let control_plane = ControlPlane::start()
        .await
        .expect("start a private control plane");
    let client = control_plane.client().await.expect("admin client");
    client
        .apiserver_version()
        .await
        .expect("the apiserver answers");
    let dir = control_plane.dir().to_path_buf();

    drop(control_plane);

    assert!(
        client.apiserver_version().await.is_err(),
        "the apiserver still answers"
    );
    assert!(!dir.exists(), "{} was not removed", dir.display());
}
