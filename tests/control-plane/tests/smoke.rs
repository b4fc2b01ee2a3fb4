//! Smoke tests on the real stack: etcd, kube-apiserver and cert-manager's
//! controllers, shared by the tests of this binary, a namespace per test.
//! One test uses the second shared control plane, without cert-manager's
//! approver, and approves its request itself.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use serde_json::{Value, json};
use wasm_issuer_testenv::{ControlPlane, shared, shared_without_auto_approval, unique_namespace};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long an unapproved request is watched for conditions it must not get.
const UNAPPROVED_WATCH: Duration = Duration::from_secs(3);

/// A namespace on the shared control plane (cert-manager approves everything).
async fn setup(prefix: &str) -> (&'static ControlPlane, kube::Client, String) {
    let control_plane = shared().await.expect("start the shared control plane");
    setup_on(control_plane, prefix).await
}

/// A namespace on `control_plane`, with an admin client.
async fn setup_on(
    control_plane: &'static ControlPlane,
    prefix: &str,
) -> (&'static ControlPlane, kube::Client, String) {
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

/// The object's `status.conditions` (empty if it has none).
fn conditions(object: &DynamicObject) -> Vec<Value> {
    object.data["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Whether `conditions` has `type_` with status True.
fn is_true(conditions: &[Value], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c["type"] == type_ && c["status"] == "True")
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
        let conditions = conditions(&api.get(name).await.expect("get object"));
        if is_true(&conditions, type_) {
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

/// Asserts that `openssl verify` accepts `cert` (PEM) as issued by `ca` (PEM).
fn assert_verifies(ca: &str, cert: &[u8]) {
    let work = tempfile::tempdir().expect("temp dir");
    let (ca_file, cert_file) = (work.path().join("ca.crt"), work.path().join("tls.crt"));
    std::fs::write(&ca_file, ca).expect("write ca.crt");
    std::fs::write(&cert_file, cert).expect("write tls.crt");
    let verify = openssl_verify(&ca_file, &cert_file);
    assert!(
        verify.status.success(),
        "openssl verify failed: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
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

/// Creates a CA Secret and a cert-manager CA Issuer, both named `name`, waits
/// until the Issuer is Ready, and returns the CA certificate (PEM).
async fn create_ca_issuer(
    control_plane: &ControlPlane,
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> String {
    let (ca_cert, ca_key) = make_ca();
    let ca_secret: Secret = serde_json::from_value(json!({
        "metadata": { "name": name },
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": ByteString(ca_cert.clone().into_bytes()),
            "tls.key": ByteString(ca_key.into_bytes()),
        },
    }))
    .expect("a valid Secret");
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &ca_secret)
        .await
        .expect("create CA Secret");

    let issuers = create(
        client,
        namespace,
        "Issuer",
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Issuer",
            "metadata": { "name": name },
            "spec": { "ca": { "secretName": name } },
        }),
    )
    .await;
    wait_for_condition(control_plane, &issuers, name, "Ready").await;
    ca_cert
}

/// Creates CertificateRequest `name` for a fresh key and `dns_name`, to `issuer_ref`.
async fn create_certificate_request(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    dns_name: &str,
    issuer_ref: Value,
) -> Api<DynamicObject> {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec![dns_name.to_string()]).expect("CSR params");
    params.distinguished_name.push(DnType::CommonName, dns_name);
    let csr = params
        .serialize_request(&key)
        .expect("CSR")
        .pem()
        .expect("CSR PEM");
    create(
        client,
        namespace,
        "CertificateRequest",
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": { "name": name },
            "spec": {
                "request": ByteString(csr.into_bytes()),
                "issuerRef": issuer_ref,
            },
        }),
    )
    .await
}

/// Approves CertificateRequest `name` as an approver (approver-policy) does:
/// adds condition Approved=True through the `status` subresource. Server-side
/// apply merges it into the existing conditions (a list keyed by `type`).
async fn approve(requests: &Api<DynamicObject>, name: &str) {
    let now = serde_json::to_value(Time(Timestamp::now())).expect("a timestamp");
    let status = json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "CertificateRequest",
        "metadata": { "name": name },
        "status": {
            "conditions": [{
                "type": "Approved",
                "status": "True",
                "reason": "WasmIssuerTests",
                "message": "approved by the wasm-issuer smoke tests",
                "lastTransitionTime": now,
            }],
        },
    });
    requests
        .patch_status(
            name,
            &PatchParams::apply("wasm-issuer-tests"),
            &Patch::Apply(&status),
        )
        .await
        .unwrap_or_else(|err| panic!("approve {name}: {err}"));
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
    let ca_cert = create_ca_issuer(control_plane, &client, &namespace, "smoke-ca").await;

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

    let issued = Api::<Secret>::namespaced(client, &namespace)
        .get("web-tls")
        .await
        .expect("get the issued Secret");
    let data = issued.data.expect("issued Secret data");
    assert_verifies(&ca_cert, &data["tls.crt"].0);
}

#[tokio::test]
async fn certificate_request_is_approved() {
    let (control_plane, client, namespace) = setup("approval").await;
    // The issuer need not exist: approval comes before (and apart from) signing.
    let requests = create_certificate_request(
        &client,
        &namespace,
        "direct",
        "approved.example.test",
        json!({ "name": "nobody", "kind": "Issuer", "group": "example.test" }),
    )
    .await;
    wait_for_condition(control_plane, &requests, "direct", "Approved").await;
}

#[tokio::test]
async fn without_auto_approval_a_request_waits_until_approved_then_issues() {
    let control_plane = shared_without_auto_approval()
        .await
        .expect("start the shared control plane without auto-approval");
    let (control_plane, client, namespace) = setup_on(control_plane, "manual-approval").await;
    let ca_cert = create_ca_issuer(control_plane, &client, &namespace, "manual-ca").await;
    let requests = create_certificate_request(
        &client,
        &namespace,
        "manual",
        "manual.example.test",
        json!({ "name": "manual-ca", "kind": "Issuer", "group": "cert-manager.io" }),
    )
    .await;

    // Nobody approves it, so the CA issuer must not sign it.
    tokio::time::sleep(UNAPPROVED_WATCH).await;
    let pending = requests.get("manual").await.expect("get the request");
    let before = conditions(&pending);
    assert!(
        !before.iter().any(|c| c["type"] == "Approved"),
        "approved without an approver: {before:?}; logs in {}",
        control_plane.log_dir().display()
    );
    assert!(
        !is_true(&before, "Ready"),
        "issued without approval: {before:?}"
    );
    assert!(
        pending.data["status"]["certificate"].is_null(),
        "a certificate without approval: {:?}",
        pending.data["status"]
    );

    approve(&requests, "manual").await;
    wait_for_condition(control_plane, &requests, "manual", "Ready").await;

    let issued = requests.get("manual").await.expect("get the request");
    let after = conditions(&issued);
    assert!(
        is_true(&after, "Approved"),
        "our Approved condition is gone: {after:?}"
    );
    let certificate: ByteString =
        serde_json::from_value(issued.data["status"]["certificate"].clone())
            .expect("status.certificate (base64 PEM)");
    assert_verifies(&ca_cert, &certificate.0);
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

    // The RBAC authorizer reads bindings from an informer cache: a new
    // binding takes effect a moment after it is stored, not at once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match as_alice.list(&ListParams::default()).await {
            Ok(_) => break,
            Err(kube::Error::Api(status))
                if status.code == 403 && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("alice, in group readers, may list Secrets: {error:?}"),
        }
    }
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
