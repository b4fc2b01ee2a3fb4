//! What the benches on a real control plane share: the control plane
//! itself (without cert-manager's approver: the benches approve, as an
//! approver would), the `wasm-issuer controller` binary as a child process
//! and its memory, CAs, CSRs, plugins in ConfigMaps, requests and approvals.

#![allow(dead_code)] // Each bench uses a part.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, ObjectMeta, Patch, PatchParams,
    PostParams,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use serde_json::json;
use wasm_issuer_controller::api::CertificateRequest;
use wasm_issuer_test_support::{Workdir, der_of_pem};
use wasm_issuer_testenv::{ControlPlane, Options, yaml_files};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The group and kind of our namespaced issuer, as a request names it.
pub const GROUP: &str = "wasm-issuer.dev";
pub const WASM_ISSUER: &str = "WasmIssuer";

/// Whether `cargo bench` asked for another bench than `name`: it passes
/// `--bench`, and a filter argument that is not ours means another one.
pub fn skipped(name: &str) -> bool {
    std::env::args()
        .skip(1)
        .any(|arg| !arg.starts_with("--") && arg != name)
}

/// The load average (1, 5, 15 minutes) from /proc/loadavg, as it reads.
pub fn load_average() -> anyhow::Result<String> {
    let text = std::fs::read_to_string("/proc/loadavg").context("reading /proc/loadavg")?;
    Ok(text
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" "))
}

/// A control plane without cert-manager's approver, with our CRDs, and an
/// admin client.
pub async fn control_plane() -> anyhow::Result<(ControlPlane, kube::Client)> {
    let control_plane = ControlPlane::start_with(Options {
        auto_approve: false,
    })
    .await?;
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    control_plane.install_crds(&yaml_files(&crds)?).await?;
    let client = control_plane.client().await?;
    Ok((control_plane, client))
}

/// `wasm-issuer controller` running as a child process; killed on drop.
pub struct Controller {
    child: Child,
}

impl Controller {
    /// Starts the binary against `control_plane` with `args` added; its
    /// log goes to `<name>.log` in the control plane's log directory.
    pub fn start(control_plane: &ControlPlane, name: &str, args: &[&str]) -> anyhow::Result<Self> {
        let log = std::fs::File::create(control_plane.log_dir().join(format!("{name}.log")))?;
        let child = Command::new(env!("CARGO_BIN_EXE_wasm-issuer"))
            .arg("controller")
            .arg("--kubeconfig")
            .arg(control_plane.kubeconfig())
            // Controllers follow one another here: none waits for a lease
            // its killed predecessor held, and none needs a port.
            .args(["--leader-elect=false", "--metrics-address", "off"])
            .args(["--health-address", "off"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting wasm-issuer controller")?;
        Ok(Self { child })
    }

    /// Starts the binary with a compile cache of its own, empty, so that
    /// every plugin it meets is compiled (not loaded from an earlier run).
    pub fn start_with_fresh_cache(
        control_plane: &ControlPlane,
        name: &str,
    ) -> anyhow::Result<Self> {
        let cache = fresh_dir(control_plane, &format!("{name}-compiled"))?;
        let cache = cache.to_str().context("a UTF-8 temporary path")?;
        Self::start(control_plane, name, &["--compile-cache-dir", cache])
    }

    /// Peak resident set size (VmHWM), in KiB.
    pub fn peak_kib(&self) -> anyhow::Result<u64> {
        self.memory_kib("VmHWM:")
    }

    /// Resident set size now (VmRSS), in KiB.
    pub fn resident_kib(&self) -> anyhow::Result<u64> {
        self.memory_kib("VmRSS:")
    }

    /// A memory line of /proc/<pid>/status (Linux).
    fn memory_kib(&self, field: &str) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .with_context(|| format!("no {field} in {path}"))
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An empty directory `name` in the control plane's directory (which goes
/// with it).
fn fresh_dir(control_plane: &ControlPlane, name: &str) -> anyhow::Result<PathBuf> {
    let dir = control_plane.dir().join(name);
    std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A self-signed CA: its certificate and key, PEM.
pub fn ca() -> (String, String) {
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

/// A CSR (PEM, P-256) for the DNS name `name`.
pub fn csr(name: &str) -> anyhow::Result<String> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![name.to_owned()])?;
    params.distinguished_name.push(DnType::CommonName, name);
    Ok(params.serialize_request(&key)?.pem()?)
}

/// The CA as the `kubernetes.io/tls` Secret `namespace/ca`.
pub async fn ca_secret(
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

/// A built plugin's component (`cargo xtask plugins` builds them).
pub fn plugin_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .with_context(|| format!("{}: build it with `cargo xtask plugins`", path.display()))
}

/// `wasm` as `plugin.wasm` in the ConfigMap `namespace/name`.
pub async fn plugin_config_map(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    wasm: Vec<u8>,
) -> anyhow::Result<()> {
    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
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

/// A WasmIssuer spec as JSON: the plugin in ConfigMap `config_map`, the key
/// `ca` granted from Secret `ca`.
pub fn wasm_issuer(name: &str, config_map: &str) -> serde_json::Value {
    json!({
        "apiVersion": "wasm-issuer.dev/v1alpha1", "kind": "WasmIssuer",
        "metadata": {"name": name},
        "spec": {"plugin": {"configMap": {"name": config_map, "key": "plugin.wasm"}},
                 "keys": [{"name": "ca", "secretName": "ca"}]},
    })
}

/// A 24h CertificateRequest for `csr` (PEM) from issuer `group`/`kind`/`issuer`.
pub fn certificate_request(
    name: &str,
    csr: String,
    group: &str,
    kind: &str,
    issuer: &str,
) -> anyhow::Result<CertificateRequest> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
        "metadata": {"name": name},
        "spec": {"request": ByteString(csr.into_bytes()), "duration": "24h",
                 "issuerRef": {"group": group, "kind": kind, "name": issuer}},
    }))?)
}

/// Sets Approved=True on the request `name`, as an approver does.
pub async fn approve(requests: &Api<CertificateRequest>, name: String) -> anyhow::Result<()> {
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

/// Waits until the `count` requests that `params` selects are all
/// Ready=True, and returns them; fails as soon as one has failed.
pub async fn wait_requests_ready(
    requests: &Api<CertificateRequest>,
    params: &ListParams,
    count: usize,
    what: &str,
    timeout: Duration,
) -> anyhow::Result<Vec<CertificateRequest>> {
    let start = Instant::now();
    loop {
        let list = requests.list(params).await?;
        let ready = list.items.iter().filter(|r| r.has_true("Ready")).count();
        if ready == count {
            return Ok(list.items);
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
            bail!("{what}: requests failed: {failed:?}");
        }
        if start.elapsed() > timeout {
            bail!("{what}: {ready} of {count} Ready after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the issuer `namespace/name` of `group`/`kind` (ours or
/// cert-manager's) has Ready=True.
pub async fn wait_issuer_ready(
    client: &kube::Client,
    namespace: &str,
    group: &str,
    kind: &str,
    name: &str,
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
        let issuer = api.get(name).await?;
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
            bail!(
                "{kind} {namespace}/{name} not Ready: {}",
                issuer.data["status"]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The issued chain (PEM) of a Ready request, checked by `openssl verify`
/// against the CA certificate in the file `ca`.
pub fn verified_chain(
    workdir: &Workdir,
    ca: &Path,
    request: &CertificateRequest,
) -> anyhow::Result<String> {
    let name = request.metadata.name.as_deref().unwrap_or("request");
    let certificate = request
        .status
        .as_ref()
        .and_then(|status| status.certificate.as_ref())
        .with_context(|| format!("{name}: no certificate"))?;
    let chain = String::from_utf8(certificate.0.clone())
        .with_context(|| format!("{name}: the certificate is not PEM text"))?;
    workdir
        .verify(ca, None, &format!("{name}.crt"), &chain)
        .map_err(|error| anyhow::anyhow!("openssl verify {name}: {error}"))?;
    Ok(chain)
}

/// The OID of the version stamp the stamp-v* test plugins write into each
/// certificate (tests/plugins/stamp-v1/src/stamp.rs).
const STAMP_OID: &str = "1.3.6.1.4.1.59999.1";

/// The version stamp of the leaf certificate in `chain` (PEM): the text of
/// its UTF8String extension.
pub fn stamp(chain: &str) -> anyhow::Result<String> {
    let der = der_of_pem(chain.as_bytes());
    let (_, cert) = X509Certificate::from_der(&der).context("the leaf certificate")?;
    let extension = cert
        .extensions()
        .iter()
        .find(|extension| extension.oid.to_id_string() == STAMP_OID)
        .context("no version stamp in the certificate")?;
    // A UTF8String of fewer than 128 bytes: tag, length, text.
    let text = extension.value.get(2..).unwrap_or_default();
    Ok(String::from_utf8(text.to_vec())?)
}
