//! `cargo xtask demo`: the main job, end to end. Brings up a local control
//! plane (etcd, kube-apiserver, cert-manager), runs `wasm-issuer controller`
//! against it, stores the `ca` plugin in a ConfigMap and a fresh CA in a
//! Secret, applies `deploy/examples/` (a WasmIssuer and a Certificate),
//! waits for cert-manager to write the Certificate's Secret, and prints the
//! certificate, checked by openssl.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DynamicObject, GroupVersionKind, ObjectMeta, Patch, PatchParams};
use kube::discovery::Scope;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use serde::Deserialize;
use wasm_issuer_testenv::local;

use crate::{cluster, plugins, workspace};

/// Where deploy/examples/ puts things.
const NAMESPACE: &str = "demo";
const CERTIFICATE_SECRET: &str = "demo-tls";
const FIELD_MANAGER: &str = "wasm-issuer-demo";
const ISSUE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(clap::Args)]
pub struct Args {
    /// Leave the cluster running afterwards (stop it with
    /// `cargo xtask cluster down`); the controller is stopped either way.
    #[arg(long)]
    keep_cluster: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    workspace::require("openssl", "install it with `apt-get install openssl`")?;
    let plugin_dir = plugins::build_all()?;
    workspace::run(workspace::cargo().args(["build", "--quiet", "--package", "wasm-issuer"]))?;

    let state_dir = cluster::state_dir();
    eprintln!("starting the local control plane (the first run builds it: minutes)...");
    let kubeconfig =
        local::up(&state_dir, &cluster::crds()?).context("bringing the local cluster up")?;
    let outcome = issue_on(
        &kubeconfig,
        &plugin_dir.join("ca.wasm"),
        &state_dir.join("logs"),
    );
    if !args.keep_cluster {
        local::down(&state_dir).context("stopping the local cluster")?;
    }
    outcome
}

fn issue_on(kubeconfig: &Path, plugin: &Path, logs: &Path) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let (ca_cert, ca_key) = demo_ca()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let client = runtime.block_on(client(kubeconfig))?;
    runtime.block_on(set_up(&client, plugin, &ca_cert, &ca_key))?;

    let log = logs.join("wasm-issuer.log");
    let mut controller = start_controller(kubeconfig, &log)?;
    eprintln!("controller running; its log: {}", log.display());
    let issued = runtime.block_on(wait_for_certificate(&client));
    let _ = controller.kill();
    let _ = controller.wait();
    let tls_crt = issued.with_context(|| format!("see the controller's log: {}", log.display()))?;

    let cert = work.path().join("tls.crt");
    let ca = work.path().join("ca.crt");
    fs::write(&cert, tls_crt)?;
    fs::write(&ca, &ca_cert)?;
    println!(
        "cert-manager wrote Secret {NAMESPACE}/{CERTIFICATE_SECRET}, issued by WasmIssuer {NAMESPACE}/ca (the `ca` plugin):\n"
    );
    print!(
        "{}",
        workspace::output(
            Command::new("openssl")
                .arg("x509")
                .arg("-in")
                .arg(&cert)
                .args([
                    "-noout",
                    "-subject",
                    "-ext",
                    "subjectAltName",
                    "-dates",
                    "-issuer",
                ])
        )?
    );
    print!(
        "{}",
        workspace::output(
            Command::new("openssl")
                .arg("verify")
                .arg("-CAfile")
                .arg(&ca)
                .arg(&cert)
        )?
    );
    Ok(())
}

async fn client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

/// The namespace, the plugin's ConfigMap, the CA's Secret and deploy/examples/.
async fn set_up(
    client: &kube::Client,
    plugin: &Path,
    ca_cert: &str,
    ca_key: &str,
) -> anyhow::Result<()> {
    let wasm = fs::read(plugin).with_context(|| format!("reading {}", plugin.display()))?;
    apply(
        &Api::<Namespace>::all(client.clone()),
        &Namespace {
            metadata: meta(NAMESPACE),
            ..Namespace::default()
        },
    )
    .await?;
    apply(
        &Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE),
        &ConfigMap {
            metadata: meta("ca-plugin"),
            binary_data: Some([("plugin.wasm".to_owned(), ByteString(wasm))].into()),
            ..ConfigMap::default()
        },
    )
    .await?;
    apply(
        &Api::<Secret>::namespaced(client.clone(), NAMESPACE),
        &Secret {
            metadata: meta("demo-ca"),
            type_: Some("kubernetes.io/tls".to_owned()),
            data: Some(
                [
                    (
                        "tls.crt".to_owned(),
                        ByteString(ca_cert.as_bytes().to_vec()),
                    ),
                    ("tls.key".to_owned(), ByteString(ca_key.as_bytes().to_vec())),
                ]
                .into(),
            ),
            ..Secret::default()
        },
    )
    .await?;
    let examples = workspace::root().join("deploy").join("examples");
    for file in wasm_issuer_testenv::yaml_files(&examples)? {
        apply_manifests(client, &file).await?;
    }
    Ok(())
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    }
}

/// Server-side apply of a typed object (which must carry its name).
async fn apply<K>(api: &Api<K>, object: &K) -> anyhow::Result<()>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let mut object = serde_json::to_value(object)?;
    object["apiVersion"] = K::api_version(&()).into();
    object["kind"] = K::kind(&()).into();
    let name = object["metadata"]["name"]
        .as_str()
        .context("no name")?
        .to_owned();
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .with_context(|| format!("applying {} {name}", K::kind(&())))?;
    Ok(())
}

/// Applies every document of a YAML file, as `kubectl apply --server-side` does.
async fn apply_manifests(client: &kube::Client, file: &Path) -> anyhow::Result<()> {
    let text = fs::read_to_string(file)?;
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value = serde_json::Value::deserialize(document)?;
        if value.is_null() {
            continue;
        }
        let object: DynamicObject = serde_json::from_value(value)?;
        let types = object
            .types
            .as_ref()
            .with_context(|| format!("{}: a document without apiVersion/kind", file.display()))?;
        let gvk = GroupVersionKind::try_from(types)?;
        let (resource, capabilities) = kube::discovery::pinned_kind(client, &gvk).await?;
        let name = object
            .metadata
            .name
            .clone()
            .context("a document without a name")?;
        let api: Api<DynamicObject> =
            match (&capabilities.scope, object.metadata.namespace.as_deref()) {
                (Scope::Namespaced, Some(namespace)) => {
                    Api::namespaced_with(client.clone(), namespace, &resource)
                }
                (Scope::Namespaced, None) => {
                    Api::default_namespaced_with(client.clone(), &resource)
                }
                (Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
            };
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&object),
        )
        .await
        .with_context(|| format!("{}: applying {} {name}", file.display(), gvk.kind))?;
        eprintln!("applied {} {name} from {}", gvk.kind, file.display());
    }
    Ok(())
}

fn start_controller(kubeconfig: &Path, log: &Path) -> anyhow::Result<Child> {
    let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    Command::new(workspace::target_dir().join("debug/wasm-issuer"))
        .arg("controller")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "--cluster-resource-namespace",
            wasm_issuer_testenv::CLUSTER_RESOURCE_NAMESPACE,
        ])
        // One replica on a developer's machine: no lease, no ports.
        .args(["--leader-elect=false", "--metrics-address", "off"])
        .args(["--health-address", "off"])
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .context("starting `wasm-issuer controller`")
}

/// The issued chain, once cert-manager has written it into the Secret.
async fn wait_for_certificate(client: &kube::Client) -> anyhow::Result<Vec<u8>> {
    let secrets = Api::<Secret>::namespaced(client.clone(), NAMESPACE);
    let deadline = Instant::now() + ISSUE_TIMEOUT;
    loop {
        let certificate = secrets
            .get_opt(CERTIFICATE_SECRET)
            .await?
            .and_then(|secret| secret.data)
            .and_then(|mut data| data.remove("tls.crt"))
            .filter(|certificate| !certificate.0.is_empty());
        if let Some(certificate) = certificate {
            return Ok(certificate.0);
        }
        if Instant::now() > deadline {
            bail!(
                "no certificate in Secret {NAMESPACE}/{CERTIFICATE_SECRET} after {ISSUE_TIMEOUT:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A fresh self-signed P-256 CA: (certificate PEM, key PEM).
fn demo_ca() -> anyhow::Result<(String, String)> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "wasm-issuer demo CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}
