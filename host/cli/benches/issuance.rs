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

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, ObjectMeta, Patch, PatchParams,
    PostParams,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use serde_json::json;
use wasm_issuer_controller::api::{CertificateRequest, WasmIssuer};
use wasm_issuer_testenv::{ControlPlane, Options, unique_namespace, yaml_files};

const REQUESTS: usize = 500;
const TIMEOUT: Duration = Duration::from_secs(600);

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; a filter argument that is not ours means
    // another bench was asked for.
    if std::env::args()
        .skip(1)
        .any(|arg| !arg.starts_with("--") && arg != "issuance")
    {
        return Ok(());
    }
    tokio::runtime::Runtime::new()?.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let control_plane = ControlPlane::start_with(Options {
        auto_approve: false,
    })
    .await?;
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    control_plane.install_crds(&yaml_files(&crds)?).await?;
    let client = control_plane.client().await?;
    let (ca_cert, ca_key) = ca();

    let ours = unique_namespace(&client, "bench-wasm").await?;
    ca_secret(&client, &ours, &ca_cert, &ca_key).await?;
    plugin_config_map(&client, &ours).await?;
    let mut controller = start_controller(&control_plane)?;
    let issuer: WasmIssuer = serde_json::from_value(json!({
        "apiVersion": "wasm-issuer.dev/v1alpha1", "kind": "WasmIssuer",
        "metadata": {"name": "ca"},
        "spec": {"plugin": {"configMap": {"name": "ca-plugin", "key": "plugin.wasm"}},
                 "keys": [{"name": "ca", "secretName": "ca"}]},
    }))?;
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
    let peak = peak_memory_kib(&controller).unwrap_or(0);
    let _ = controller.kill();
    let _ = controller.wait();

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
                let request: CertificateRequest = serde_json::from_value(json!({
                    "apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
                    "metadata": {"name": format!("app-{n}")},
                    "spec": {"request": ByteString(csr.into_bytes()), "duration": "24h",
                             "issuerRef": {"group": group, "kind": kind, "name": "ca"}},
                }))?;
                requests.create(&PostParams::default(), &request).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<()>()
        .await?;
    wait_issuer_ready(client, namespace, group, kind).await?;

    let start = Instant::now();
    stream::iter(0..REQUESTS)
        .map(|n| approve(&requests, format!("app-{n}")))
        .buffer_unordered(16)
        .try_collect::<()>()
        .await?;
    loop {
        let list = requests.list(&ListParams::default()).await?;
        let ready = list.items.iter().filter(|r| r.has_true("Ready")).count();
        if ready == REQUESTS {
            return Ok(start.elapsed());
        }
        let failed: BTreeMap<_, _> = list
            .items
            .iter()
            .filter_map(|r| {
                r.condition("Ready")
                    .filter(|c| c.reason.as_deref() == Some("Failed"))
                    .map(|c| (r.metadata.name.clone(), c.message.clone()))
            })
            .collect();
        if !failed.is_empty() {
            bail!("{kind}: requests failed: {failed:?}");
        }
        if start.elapsed() > TIMEOUT {
            bail!("{kind}: {ready} of {REQUESTS} Ready after {TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn approve(requests: &Api<CertificateRequest>, name: String) -> anyhow::Result<()> {
    let patch = json!({
        "apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
        "status": {"conditions": [{"type": "Approved", "status": "True", "reason": "Bench",
            "message": "approved by the bench", "lastTransitionTime": k8s_openapi::jiff::Timestamp::now().to_string()}]},
    });
    requests
        .patch_status(
            &name,
            &PatchParams::apply("wasm-issuer-bench").force(),
            &Patch::Apply(patch),
        )
        .await?;
    Ok(())
}

async fn wait_issuer_ready(
    client: &kube::Client,
    namespace: &str,
    group: &str,
    kind: &str,
) -> anyhow::Result<()> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        group,
        if group == "cert-manager.io" {
            "v1"
        } else {
            "v1alpha1"
        },
        kind,
    ));
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource);
    let start = Instant::now();
    loop {
        let issuer = api.get("ca").await?;
        let ready = issuer.data["status"]["conditions"]
            .as_array()
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        if ready {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("{kind} {namespace}/ca not Ready: {}", issuer.data["status"]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn start_controller(control_plane: &ControlPlane) -> anyhow::Result<Child> {
    let log = std::fs::File::create(control_plane.log_dir().join("wasm-issuer.log"))?;
    Command::new(env!("CARGO_BIN_EXE_wasm-issuer"))
        .arg("controller")
        .arg("--kubeconfig")
        .arg(control_plane.kubeconfig())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting wasm-issuer controller")
}

/// The child's peak resident set size, from /proc (Linux).
fn peak_memory_kib(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ca() -> (String, String) {
    let key = KeyPair::generate().expect("a CA key");
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "bench CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).expect("a self-signed CA");
    (cert.pem(), key.serialize_pem())
}

fn csr(name: &str) -> anyhow::Result<String> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![name.to_owned()])?;
    params.distinguished_name.push(DnType::CommonName, name);
    Ok(params.serialize_request(&key)?.pem()?)
}

async fn ca_secret(
    client: &kube::Client,
    namespace: &str,
    cert: &str,
    key: &str,
) -> anyhow::Result<()> {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("ca".into()),
            ..ObjectMeta::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(
            [
                ("tls.crt".to_owned(), ByteString(cert.as_bytes().to_vec())),
                ("tls.key".to_owned(), ByteString(key.as_bytes().to_vec())),
            ]
            .into(),
        ),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await?;
    Ok(())
}

async fn plugin_config_map(client: &kube::Client, namespace: &str) -> anyhow::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins/ca.wasm");
    let wasm = std::fs::read(&path)
        .with_context(|| format!("{}: build it with `cargo xtask plugins`", path.display()))?;
    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some("ca-plugin".into()),
            ..ObjectMeta::default()
        },
        binary_data: Some([("plugin.wasm".to_owned(), ByteString(wasm))].into()),
        ..ConfigMap::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &config_map)
        .await?;
    Ok(())
}
