//! Fixtures for the controller's tests on the real control plane: the
//! controller itself (in this process, on its own thread and runtime),
//! plugins in ConfigMaps, CAs in Secrets (made by openssl), issuers and
//! requests as builders, approval as an approver would write it, and waits.

#![allow(dead_code)] // Each test binary uses a part.

pub mod csr;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, ObjectMeta, Patch, PatchParams,
    PostParams,
};
use kube::runtime::wait::await_condition;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use wasm_issuer_controller::api::{
    CertificateRequest, Condition, ConditionStatus, ConfigMapPluginSource, FilePluginSource,
    IssuerResource, IssuerSpec, IssuerStatus, KeyGrant, PLUGIN_READY, PluginSpec, PolicySpec,
    RequestCondition, WasmClusterIssuer, WasmIssuer,
};
use wasm_issuer_controller::{FIELD_MANAGER, GROUP, Options};
use wasm_issuer_runtime::Digest;
use wasm_issuer_test_support::{Ca, CsrSpec, KeyForm, KeyKind, Workdir};
use wasm_issuer_testenv::{CLUSTER_RESOURCE_NAMESPACE, ControlPlane, unique_namespace, yaml_files};
use x509_parser::prelude::{FromDer, X509Certificate};

/// How long a test waits for the controller or cert-manager to act.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The field manager of the approvals these tests write.
const APPROVER: &str = "wasm-issuer-test-approver";

/// Our CRDs installed, and a controller for this test binary running.
pub async fn prepare(control_plane: &'static ControlPlane) -> Client {
    log_if_asked();
    install_crds(control_plane).await;
    static CONTROLLER: OnceLock<RunningController> = OnceLock::new();
    CONTROLLER.get_or_init(|| RunningController::start(control_plane, test_options()));
    control_plane.client().await.expect("admin client")
}

/// With `RUST_LOG` set, the controller's logs go to stderr (e.g.
/// `RUST_LOG=wasm_issuer_controller=debug cargo test ... -- --nocapture`).
pub fn log_if_asked() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Installs `deploy/crds/` (again: cheap, and keeps tests independent).
pub async fn install_crds(control_plane: &ControlPlane) {
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    control_plane
        .install_crds(&yaml_files(&crds).expect("deploy/crds"))
        .await
        .expect("install our CRDs");
}

/// A namespace of its own for one test.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    unique_namespace(client, prefix)
        .await
        .expect("create a namespace")
}

/// The controller's options in tests: a short retry budget, so that the
/// budget running out is observable.
pub fn test_options() -> Options {
    Options {
        cluster_resource_namespace: CLUSTER_RESOURCE_NAMESPACE.to_owned(),
        max_retry_duration: Duration::from_secs(8),
        ..Options::default()
    }
}

/// The controller, run by `wasm_issuer_controller::run` on a thread of its
/// own with its own runtime: every `#[tokio::test]` has a runtime that ends
/// with the test, and the controller must outlive them.
pub struct RunningController {
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningController {
    /// The controller as the control plane's admin.
    pub fn start(control_plane: &ControlPlane, options: Options) -> Self {
        Self::start_with(control_plane.config(), options)
    }

    /// The controller as `user` in `groups` (by impersonation): it may do
    /// only what RBAC grants them, as in a pod running as a ServiceAccount.
    pub fn start_as(
        control_plane: &ControlPlane,
        options: Options,
        user: &str,
        groups: &[&str],
    ) -> Self {
        Self::start_with(control_plane.config_as(user, groups), options)
    }

    fn start_with(config: kube::Config, options: Options) -> Self {
        let (kill, killed) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("a runtime for the controller");
            runtime.block_on(async move {
                let client = wasm_issuer_controller::client(
                    config,
                    wasm_issuer_controller::RateLimit {
                        qps: 200.0,
                        burst: 400,
                    },
                )
                .await
                .expect("a client");
                // Killed, the controller is dropped wherever it is, as a
                // crash would. (Graceful shutdown is tested on the binary.)
                let never = std::future::pending();
                tokio::select! {
                    result = wasm_issuer_controller::run(client, options, never) => {
                        if let Err(error) = result {
                            eprintln!("the controller under test stopped: {error}");
                        }
                    }
                    _ = killed => {}
                }
            });
            // Plugin calls in flight finish on their threads; their results are lost.
            runtime.shutdown_background();
        });
        Self {
            kill: Some(kill),
            thread: Some(thread),
        }
    }

    /// Stops the controller abruptly: reconciles in progress are dropped,
    /// a lease is not given up.
    pub fn kill(self) {
        drop(self);
    }
}

impl Drop for RunningController {
    fn drop(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the controller thread ends cleanly");
        }
    }
}

/// A built plugin's component, for a ConfigMap's binaryData.
pub fn plugin_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| {
        panic!(
            "{}: {error}; build the plugins first with `cargo xtask plugins`",
            path.display()
        )
    })
}

/// Puts a component into ConfigMap `namespace/name` under `plugin.wasm`.
pub async fn plugin_config_map(client: &Client, namespace: &str, name: &str, plugin: &Path) {
    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        binary_data: Some(BTreeMap::from([(
            "plugin.wasm".to_owned(),
            ByteString(plugin_bytes(plugin)),
        )])),
        ..ConfigMap::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &config_map)
        .await
        .unwrap_or_else(|error| panic!("create ConfigMap {namespace}/{name}: {error}"));
}

/// Replaces the component in ConfigMap `namespace/name`, as an update of a
/// plugin or policy would.
pub async fn replace_plugin(client: &Client, namespace: &str, name: &str, bytes: Vec<u8>) {
    let patch = json!({"binaryData": {"plugin.wasm": ByteString(bytes)}});
    Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap_or_else(|error| panic!("update ConfigMap {namespace}/{name}: {error}"));
}

/// A CA made by openssl (P-256, valid 10 days), stored as the
/// `kubernetes.io/tls` Secret `namespace/name`.
pub async fn ca_secret(client: &Client, workdir: &Workdir, namespace: &str, name: &str) -> Ca {
    let ca = workdir.ca(
        &format!("{namespace}-{name}"),
        "/O=wasm-issuer tests/CN=Test CA",
        KeyKind::EcP256,
        KeyForm::Pkcs8,
        10,
    );
    let read = |path: std::path::PathBuf| ByteString(std::fs::read(path).expect("CA file"));
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        type_: Some("kubernetes.io/tls".to_owned()),
        data: Some(BTreeMap::from([
            ("tls.crt".to_owned(), read(ca.cert())),
            ("tls.key".to_owned(), read(ca.key())),
        ])),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap_or_else(|error| panic!("create Secret {namespace}/{name}: {error}"));
    ca
}

/// WasmIssuer `namespace/name` with the reference `ca` plugin (ConfigMap
/// `<name>-plugin`) and a fresh CA (Secret `name`) granted as key `ca`.
pub async fn ca_issuer(client: &Client, workdir: &Workdir, namespace: &str, name: &str) -> Ca {
    let config_map = format!("{name}-plugin");
    let plugin = wasm_issuer_test_support::plugin("ca");
    plugin_config_map(client, namespace, &config_map, &plugin).await;
    let ca = ca_secret(client, workdir, namespace, name).await;
    IssuerBuilder::new(&config_map)
        .key("ca", name)
        .create_namespaced(client, namespace, name)
        .await;
    ca
}

/// WasmClusterIssuer `name` with the reference `ca` plugin and a fresh CA,
/// both named `name` in the cluster resource namespace, where a cluster
/// issuer's ConfigMaps and Secrets live.
pub async fn ca_cluster_issuer(client: &Client, workdir: &Workdir, name: &str) -> Ca {
    let plugin = wasm_issuer_test_support::plugin("ca");
    plugin_config_map(client, CLUSTER_RESOURCE_NAMESPACE, name, &plugin).await;
    let ca = ca_secret(client, workdir, CLUSTER_RESOURCE_NAMESPACE, name).await;
    IssuerBuilder::new(name)
        .key("ca", name)
        .create_cluster(client, name)
        .await;
    ca
}

/// The Events our controller recorded about object `name` in `namespace`.
pub async fn events_about(client: &Client, namespace: &str, name: &str) -> Vec<Event> {
    Api::<Event>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .expect("list Events")
        .items
        .into_iter()
        .filter(|event| {
            event.reporting_controller.as_deref() == Some(FIELD_MANAGER)
                && event.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
        })
        .collect()
}

/// An issuer spec: the plugin in ConfigMap `plugin`, key `ca` granted from
/// Secret `ca_secret`, and the plugin's config.
pub struct IssuerBuilder {
    spec: IssuerSpec,
}

impl IssuerBuilder {
    pub fn new(plugin_config_map: &str) -> Self {
        let spec = IssuerSpec {
            plugin: PluginSpec {
                config_map: Some(ConfigMapPluginSource {
                    name: plugin_config_map.to_owned(),
                    key: "plugin.wasm".to_owned(),
                }),
                oci: None,
                file: None,
                digest: None,
                config: serde_json::Map::new(),
                limits: Default::default(),
            },
            keys: Vec::new(),
            policies: Vec::new(),
            check_interval: "10m".to_owned(),
        };
        Self { spec }
    }

    pub fn key(mut self, name: &str, secret_name: &str) -> Self {
        self.spec.keys.push(KeyGrant {
            name: name.to_owned(),
            secret_name: secret_name.to_owned(),
        });
        self
    }

    pub fn config(mut self, config: Value) -> Self {
        self.spec.plugin.config = serde_json::from_value(config).expect("a JSON object");
        self
    }

    /// Adds policy `name`: the component in ConfigMap `config_map`, with `config`.
    pub fn policy(mut self, name: &str, config_map: &str, config: Value) -> Self {
        self.spec.policies.push(PolicySpec {
            name: name.to_owned(),
            plugin: PluginSpec {
                config_map: Some(ConfigMapPluginSource {
                    name: config_map.to_owned(),
                    key: "plugin.wasm".to_owned(),
                }),
                oci: None,
                file: None,
                digest: None,
                config: serde_json::from_value(config).expect("a JSON object"),
                limits: Default::default(),
            },
        });
        self
    }

    /// Takes the signer from the file at `path` instead of a ConfigMap.
    pub fn signer_file(mut self, path: &Path) -> Self {
        from_file(&mut self.spec.plugin, path);
        self
    }

    /// Takes the policy added last from the file at `path`.
    pub fn policy_file(mut self, path: &Path) -> Self {
        let policy = self
            .spec
            .policies
            .last_mut()
            .expect("a policy added before");
        from_file(&mut policy.plugin, path);
        self
    }

    /// Sets the memory limit of the policy added last.
    pub fn policy_memory(mut self, memory: &str) -> Self {
        let policy = self
            .spec
            .policies
            .last_mut()
            .expect("a policy added before");
        policy.plugin.limits.memory = memory.to_owned();
        self
    }

    pub fn timeout(mut self, timeout: &str) -> Self {
        self.spec.plugin.limits.timeout = timeout.to_owned();
        self
    }

    pub fn spec(self) -> IssuerSpec {
        self.spec
    }

    pub async fn create_namespaced(
        self,
        client: &Client,
        namespace: &str,
        name: &str,
    ) -> WasmIssuer {
        let issuer = WasmIssuer::new(name, self.spec.into());
        Api::<WasmIssuer>::namespaced(client.clone(), namespace)
            .create(&PostParams::default(), &issuer)
            .await
            .unwrap_or_else(|error| panic!("create WasmIssuer {namespace}/{name}: {error}"))
    }

    pub async fn create_cluster(self, client: &Client, name: &str) -> WasmClusterIssuer {
        let issuer = WasmClusterIssuer::new(name, self.spec.into());
        Api::<WasmClusterIssuer>::all(client.clone())
            .create(&PostParams::default(), &issuer)
            .await
            .unwrap_or_else(|error| panic!("create WasmClusterIssuer {name}: {error}"))
    }
}

fn from_file(plugin: &mut PluginSpec, path: &Path) {
    let path = std::fs::canonicalize(path)
        .unwrap_or_else(|error| panic!("{}: {error}; run `cargo xtask plugins`", path.display()));
    plugin.config_map = None;
    plugin.file = Some(FilePluginSource {
        path: path.display().to_string(),
    });
}

/// A CertificateRequest for `csr` (PEM) from the issuer `kind`/`name`.
pub struct RequestBuilder {
    request: CertificateRequest,
}

impl RequestBuilder {
    pub fn new(name: &str, csr_pem: &[u8], kind: &str, issuer: &str) -> Self {
        let mut request = CertificateRequest::new(name, Default::default());
        request.spec.request = ByteString(csr_pem.to_vec());
        request.spec.issuer_ref.name = issuer.to_owned();
        request.spec.issuer_ref.kind = kind.to_owned();
        request.spec.issuer_ref.group = GROUP.to_owned();
        request.spec.duration = Some("2h".to_owned());
        Self { request }
    }

    /// As if `username` in `groups` had created it (cert-manager's webhook
    /// writes these; the test control plane runs none).
    pub fn by(mut self, username: &str, groups: &[&str]) -> Self {
        self.request.spec.username = username.to_owned();
        self.request.spec.groups = groups.iter().map(|group| (*group).to_owned()).collect();
        self
    }

    pub fn group(mut self, group: &str) -> Self {
        self.request.spec.issuer_ref.group = group.to_owned();
        self
    }

    pub async fn create(self, client: &Client, namespace: &str) -> CertificateRequest {
        Api::<CertificateRequest>::namespaced(client.clone(), namespace)
            .create(&PostParams::default(), &self.request)
            .await
            .unwrap_or_else(|error| panic!("create CertificateRequest: {error}"))
    }
}

/// The reasons of the Events our controller recorded about object `name`
/// in `namespace` (the Events of cluster-scoped objects are in `default`).
pub async fn event_reasons(client: &Client, namespace: &str, name: &str) -> Vec<String> {
    events_about(client, namespace, name)
        .await
        .into_iter()
        .filter_map(|event| event.reason)
        .collect()
}

/// Waits until an Event with `reason` is recorded about `name` (Events are
/// written after the status they tell of).
pub async fn wait_for_event(client: &Client, namespace: &str, name: &str, reason: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let reasons = event_reasons(client, namespace, name).await;
        if reasons.iter().any(|found| found == reason) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {reason} Event about {namespace}/{name} after {TIMEOUT:?}: {reasons:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A fresh openssl CSR (PEM) for `name`, P-256.
pub fn server_csr(workdir: &Workdir, name: &str) -> Vec<u8> {
    let path = workdir.csr(name, &CsrSpec::server(KeyKind::EcP256, name));
    std::fs::read(path).expect("the CSR")
}

/// Sets condition `type_` to True on the request, as an approver does.
pub async fn set_approval(client: &Client, request: &CertificateRequest, type_: &str) {
    let condition = json!({
        "type": type_,
        "status": "True",
        "reason": "WasmIssuerTests",
        "message": format!("{type_} by the tests"),
        "lastTransitionTime": k8s_openapi::jiff::Timestamp::now().to_string(),
    });
    let patch = json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "CertificateRequest",
        "status": {"conditions": [condition]},
    });
    api_of(client, request)
        .patch_status(
            &request.name_any(),
            &PatchParams::apply(APPROVER).force(),
            &Patch::Apply(patch),
        )
        .await
        .unwrap_or_else(|error| panic!("set {type_} on {}: {error}", request.name_any()));
}

pub fn api_of(client: &Client, request: &CertificateRequest) -> Api<CertificateRequest> {
    Api::namespaced(client.clone(), &request.namespace().expect("namespaced"))
}

/// Waits until the request satisfies `done`; fails with its status if it does not.
pub async fn wait_for_request(
    client: &Client,
    request: &CertificateRequest,
    what: &str,
    done: impl Fn(&CertificateRequest) -> bool,
) -> CertificateRequest {
    let api = api_of(client, request);
    wait_for(TIMEOUT, &api, &request.name_any(), what, done, |found| {
        found.status
    })
    .await
}

/// Waits up to `timeout` until object `name` of `api` satisfies `done`;
/// fails naming `what` it waited for and showing the part of the object
/// `shown` picks (its status: the rest is long and rarely telling).
pub async fn wait_for<K, Shown: std::fmt::Debug>(
    timeout: Duration,
    api: &Api<K>,
    name: &str,
    what: &str,
    done: impl Fn(&K) -> bool,
    shown: impl Fn(K) -> Shown,
) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let condition = move |object: Option<&K>| object.is_some_and(&done);
    match tokio::time::timeout(timeout, await_condition(api.clone(), name, condition)).await {
        Ok(Ok(Some(found))) => found,
        outcome => {
            let now = api.get(name).await.ok().map(shown);
            panic!("{name}: not {what} after {timeout:?} ({outcome:?}); now: {now:#?}")
        }
    }
}

/// The request's condition of `type_`, which must be set.
pub fn condition<'a>(request: &'a CertificateRequest, type_: &str) -> &'a RequestCondition {
    request.condition(type_).unwrap_or_else(|| {
        panic!(
            "{}: no {type_} condition: {:#?}",
            request.name_any(),
            request.status
        )
    })
}

/// Whether the Ready condition has this status and reason.
pub fn ready_is(
    status: &'static str,
    reason: &'static str,
) -> impl Fn(&CertificateRequest) -> bool {
    move |request| {
        request
            .condition("Ready")
            .is_some_and(|ready| ready.status == status && ready.reason.as_deref() == Some(reason))
    }
}

/// Either issuer kind, as the waits below read it.
pub trait Issuer:
    IssuerResource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static
{
}

impl<I> Issuer for I where
    I: IssuerResource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static
{
}

/// The issuer's Ready condition, which must be set.
pub fn ready_of<I: IssuerResource>(issuer: &I) -> &Condition {
    issuer
        .issuer_status()
        .and_then(IssuerStatus::ready_condition)
        .unwrap_or_else(|| panic!("{}: no Ready condition", issuer.name_any()))
}

/// Waits until the issuer named `name` serves the plugin `digest`; returns
/// the issuer then, and how long the wait took.
pub async fn wait_for_digest<I: Issuer>(
    api: &Api<I>,
    name: &str,
    digest: &Digest,
) -> (I, Duration) {
    let start = Instant::now();
    let wanted = digest.to_string();
    let serving = move |issuer: &I| {
        issuer
            .issuer_status()
            .is_some_and(|status| status.plugin_digest.as_deref() == Some(wanted.as_str()))
    };
    let what = format!("serving {digest}");
    let issuer = wait_for(TIMEOUT, api, name, &what, serving, status_of).await;
    (issuer, start.elapsed())
}

/// The OID of the version stamp the stamp-v* fixtures write into each certificate.
const STAMP_OID: &str = "1.3.6.1.4.1.59999.1";

/// The bytes of fixture `stamp-<version>`, and their digest.
pub fn stamp_plugin(version: &str) -> (Vec<u8>, Digest) {
    let bytes = plugin_bytes(&wasm_issuer_test_support::test_plugin(&format!(
        "stamp-{version}"
    )));
    let digest = Digest::of(&bytes);
    (bytes, digest)
}

/// The stamp of the leaf in `chain` (PEM) and its notBefore (Unix seconds).
pub fn stamp(chain: &str) -> (String, i64) {
    let der = wasm_issuer_test_support::der_of_pem(chain.as_bytes());
    let (_, cert) = X509Certificate::from_der(&der).expect("a certificate");
    let extension = cert
        .extensions()
        .iter()
        .find(|extension| extension.oid.to_id_string() == STAMP_OID)
        .expect("the stamp extension");
    let text =
        String::from_utf8(extension.value.get(2..).unwrap_or_default().to_vec()).expect("UTF-8");
    (text, cert.validity().not_before.timestamp())
}

/// Waits until `request` is issued, checks its chain with openssl against
/// `ca`, and returns the stamp of its certificate.
pub async fn issued_stamp(
    client: &Client,
    workdir: &Workdir,
    ca: &Ca,
    request: &CertificateRequest,
) -> String {
    let issued = wait_for_request(client, request, "Issued", ready_is("True", "Issued")).await;
    stamp(&verified_chain(workdir, ca, &issued)).0
}

/// Waits until the issuer `I` named `name` has Ready with this status and reason.
pub async fn wait_for_issuer<I: Issuer>(api: &Api<I>, name: &str, status: &str, reason: &str) -> I {
    wait_for_issuer_within(TIMEOUT, api, name, status, reason).await
}

/// [`wait_for_issuer`], waiting up to `timeout` (big plugins take long to compile).
pub async fn wait_for_issuer_within<I: Issuer>(
    timeout: Duration,
    api: &Api<I>,
    name: &str,
    status: &str,
    reason: &str,
) -> I {
    let wanted = |issuer: &I| {
        issuer
            .issuer_status()
            .and_then(|status| status.ready_condition())
            .is_some_and(|ready| format!("{:?}", ready.status) == status && ready.reason == reason)
    };
    let what = format!("Ready={status}/{reason}");
    wait_for(timeout, api, name, &what, wanted, status_of).await
}

/// Waits until issuer `name` has refused an update (PluginReady
/// False/Refused) while still Ready=True/Checked on the last good version;
/// the refusal's message.
pub async fn wait_for_refusal(issuers: &Api<WasmIssuer>, name: &str) -> String {
    let refusal = |issuer: &WasmIssuer| {
        issuer
            .status
            .as_ref()
            .and_then(|status| status.condition(PLUGIN_READY))
            .filter(|condition| condition.reason == "Refused")
            .map(|condition| condition.message.clone())
    };
    let issuer = wait_for(
        TIMEOUT,
        issuers,
        name,
        "refusing an update",
        |issuer| refusal(issuer).is_some(),
        status_of,
    )
    .await;
    let ready = ready_of(&issuer);
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        (ConditionStatus::True, "Checked"),
        "{name}: still Ready while refusing"
    );
    refusal(&issuer).unwrap_or_default()
}

fn status_of<I: Issuer>(issuer: I) -> Option<IssuerStatus> {
    issuer.issuer_status().cloned()
}

/// The request's issued chain (PEM), checked by `openssl verify` against `ca`.
pub fn verified_chain(workdir: &Workdir, ca: &Ca, request: &CertificateRequest) -> String {
    let status = request.status.as_ref().expect("a status");
    let chain = String::from_utf8(
        status
            .certificate
            .as_ref()
            .expect("a certificate")
            .0
            .clone(),
    )
    .expect("PEM text");
    workdir
        .verify(
            &ca.cert(),
            None,
            &format!("{}.crt", request.name_any()),
            &chain,
        )
        .unwrap_or_else(|error| panic!("openssl verify {}: {error}", request.name_any()));
    chain
}

pub fn certificates(client: &Client, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "cert-manager.io",
        "v1",
        "Certificate",
    ));
    Api::namespaced_with(client.clone(), namespace, &resource)
}

/// Creates cert-manager Certificate `name` with `spec` and returns its Secret once
/// cert-manager wrote the issued certificate into it.
pub async fn issue_certificate(
    client: &Client,
    namespace: &str,
    name: &str,
    spec: serde_json::Value,
) -> Secret {
    let certificate: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("a Certificate");
    let api = certificates(client, namespace);
    api.create(&PostParams::default(), &certificate)
        .await
        .expect("create the Certificate");
    let ready = |certificate: &DynamicObject| {
        certificate.data["status"]["conditions"]
            .as_array()
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    };
    let what = format!("Ready (Certificate in {namespace})");
    wait_for(TIMEOUT, &api, name, &what, ready, |certificate| {
        certificate.data["status"].clone()
    })
    .await;
    let secret_name = spec_secret_name(&certificate);
    Api::<Secret>::namespaced(client.clone(), namespace)
        .get(&secret_name)
        .await
        .expect("the Certificate's Secret")
}

fn spec_secret_name(certificate: &DynamicObject) -> String {
    certificate.data["spec"]["secretName"]
        .as_str()
        .expect("secretName")
        .to_owned()
}

pub fn field(secret: &Secret, key: &str) -> Vec<u8> {
    secret
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .map(|bytes| bytes.0.clone())
        .unwrap_or_else(|| panic!("the Secret has no {key}"))
}
