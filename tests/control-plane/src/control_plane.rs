//! etcd + kube-apiserver + cert-manager's controller as local processes.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions};
use serde::Deserialize;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::build::{self, Binaries, Versions};
use crate::error::Error;
use crate::pki::{self, PkiFiles};
use crate::process::{Group, Lifetime};

/// The namespace cert-manager keeps ClusterIssuer secrets in; created at start.
pub const CLUSTER_RESOURCE_NAMESPACE: &str = "cert-manager";

/// Field manager for everything the harness applies.
const FIELD_MANAGER: &str = "wasm-issuer-testenv";

/// Set to keep a test control plane's directory (certificates, logs, etcd data) after it stops.
pub const KEEP_ENV: &str = "WASM_ISSUER_TESTENV_KEEP";

const APISERVER_READY: Duration = Duration::from_secs(120);
const CRDS_ESTABLISHED: Duration = Duration::from_secs(60);
const CONTROLLER_READY: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

/// How to start a [`ControlPlane`]. `Options::default()` is what
/// [`ControlPlane::start`] and [`shared`](crate::shared) use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Whether cert-manager's approver (`certificaterequests-approver`) runs
    /// and approves every CertificateRequest not yet approved or denied.
    /// Default `true`. With `false` the controller runs with
    /// `--controllers=*,-certificaterequests-approver`, as a real cluster
    /// with its own approver (approver-policy) does: requests stay
    /// unapproved until a test sets `Approved` or `Denied` itself.
    pub auto_approve: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { auto_approve: true }
    }
}

impl Options {
    /// The controllers cert-manager-controller runs, as its `--controllers` value.
    fn controllers(&self) -> &'static str {
        if self.auto_approve {
            "*"
        } else {
            "*,-certificaterequests-approver"
        }
    }
}

/// A running control plane. Dropping it kills its processes and removes its
/// directory (unless [`KEEP_ENV`] is set); if this process exits without
/// dropping it (a `static`, an abort, a kill), its supervisor does the same
/// within about a second.
pub struct ControlPlane {
    // Field order matters: the processes stop before the directory goes.
    group: Group,
    dir: Dir,
    kubeconfig: PathBuf,
    config: kube::Config,
    versions: Versions,
}

enum Dir {
    Temporary(TempDir),
    Kept(PathBuf),
}

impl Dir {
    fn path(&self) -> &Path {
        match self {
            Dir::Temporary(dir) => dir.path(),
            Dir::Kept(dir) => dir,
        }
    }
}

/// Where a control plane lives and whether it outlives this process.
pub(crate) enum Placement {
    /// A fresh temporary directory; everything stops with this process.
    Temporary,
    /// `dir` (created if needed); the processes keep running after this process exits.
    Detached(PathBuf),
}

/// Free loopback ports for one control plane.
struct Ports {
    etcd_client: u16,
    etcd_peer: u16,
    apiserver: u16,
    controller_health: u16,
}

impl Ports {
    /// Binds all of them at once so they differ, then releases them for the processes.
    fn pick() -> Result<Self, Error> {
        let listeners = (0..4)
            .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::io("picking free loopback ports"))?;
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::io("picking free loopback ports"))?;
        Ok(Ports {
            etcd_client: ports[0],
            etcd_peer: ports[1],
            apiserver: ports[2],
            controller_health: ports[3],
        })
    }
}

impl ControlPlane {
    /// Builds the binaries if needed, then starts etcd, kube-apiserver and the
    /// cert-manager controller, with cert-manager's CRDs installed and the
    /// `cert-manager` namespace created. Returns once the controller reports
    /// ready (its informers have synced). Same as
    /// `start_with(Options::default())`: cert-manager approves every request.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(Options::default()).await
    }

    /// [`start`](Self::start) with `options`, e.g. without cert-manager's
    /// approver: `ControlPlane::start_with(Options { auto_approve: false })`.
    pub async fn start_with(options: Options) -> Result<Self, Error> {
        Self::start_in_with(Placement::Temporary, options).await
    }

    pub(crate) async fn start_in(placement: Placement) -> Result<Self, Error> {
        Self::start_in_with(placement, Options::default()).await
    }

    async fn start_in_with(placement: Placement, options: Options) -> Result<Self, Error> {
        let binaries = tokio::task::spawn_blocking(build::ensure_binaries)
            .await
            .map_err(|panic| {
                Error::io("building the control plane binaries")(std::io::Error::other(panic))
            })??;

        let keep = std::env::var_os(KEEP_ENV).is_some_and(|v| !v.is_empty());
        let (dir, lifetime) = match placement {
            Placement::Temporary => {
                let temp = tempfile::Builder::new()
                    .prefix("wasm-issuer-testenv-")
                    .tempdir()
                    .map_err(Error::io(
                        "creating the control plane's temporary directory",
                    ))?;
                if keep {
                    (Dir::Kept(temp.keep()), Lifetime::Attached { cleanup: None })
                } else {
                    let cleanup = Some(temp.path().to_path_buf());
                    (Dir::Temporary(temp), Lifetime::Attached { cleanup })
                }
            }
            Placement::Detached(path) => {
                std::fs::create_dir_all(&path)
                    .map_err(Error::io(format!("creating {}", path.display())))?;
                (Dir::Kept(path), Lifetime::Detached)
            }
        };
        let root = dir.path().to_path_buf();
        let logs = root.join("logs");
        std::fs::create_dir_all(&logs)
            .map_err(Error::io(format!("creating {}", logs.display())))?;
        let mut group = Group::new(lifetime)?;

        let pki = pki::write(&root.join("pki"))?;
        let ports = Ports::pick()?;
        let kubeconfig = root.join("kubeconfig");
        write_kubeconfig(&kubeconfig, ports.apiserver, &pki)?;
        tracing::info!(dir = %root.display(), apiserver = ports.apiserver, ?options, "starting control plane");

        group.spawn(
            "etcd",
            &binaries.etcd,
            &etcd_args(&root, &ports),
            &logs.join("etcd.log"),
        )?;
        group.spawn(
            "kube-apiserver",
            &binaries.kube_apiserver,
            &apiserver_args(&root, &ports, &pki),
            &logs.join("kube-apiserver.log"),
        )?;

        let config = kube::Config::from_custom_kubeconfig(
            Kubeconfig::read_from(&kubeconfig)?,
            &KubeConfigOptions::default(),
        )
        .await?;
        let mut control_plane = ControlPlane {
            group,
            dir,
            kubeconfig,
            config,
            versions: binaries.versions.clone(),
        };
        control_plane.wait_for_apiserver().await?;
        control_plane
            .bootstrap(&binaries, ports.controller_health, &options)
            .await?;
        tracing::info!(kubeconfig = %control_plane.kubeconfig.display(), "control plane ready");
        Ok(control_plane)
    }

    /// The admin kubeconfig (user `admin` in `system:masters`, client certificate auth).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The directory holding the certificates, kubeconfig, etcd data and `logs/`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where each process writes its output: `<name>.log` for etcd, kube-apiserver, cert-manager-controller.
    pub fn log_dir(&self) -> PathBuf {
        self.dir().join("logs")
    }

    /// The pinned versions this control plane runs.
    pub fn versions(&self) -> &Versions {
        &self.versions
    }

    /// An admin client (`system:masters`). A client belongs to the Tokio
    /// runtime it is created on, so make one per test.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        Ok(kube::Client::try_from(self.config.clone())?)
    }

    /// A client that acts as `user` in `groups`, by impersonation, for RBAC tests.
    /// Kubernetes adds `system:authenticated` to the groups itself.
    pub async fn client_as(&self, user: &str, groups: &[&str]) -> Result<kube::Client, Error> {
        Ok(kube::Client::try_from(self.config_as(user, groups))?)
    }

    /// The admin client's configuration, for a client made on another
    /// runtime (a client belongs to the runtime it is made on).
    pub fn config(&self) -> kube::Config {
        self.config.clone()
    }

    /// The configuration of [`client_as`](Self::client_as)'s clients.
    pub fn config_as(&self, user: &str, groups: &[&str]) -> kube::Config {
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(user.to_string());
        config.auth_info.impersonate_groups = Some(groups.iter().map(|g| g.to_string()).collect());
        config
    }

    /// Applies the CRDs in `files` (YAML, several documents per file allowed)
    /// and waits until each is established. Re-applying is harmless.
    pub async fn install_crds(&self, files: &[PathBuf]) -> Result<(), Error> {
        let client = self.client().await?;
        let api: Api<CustomResourceDefinition> = Api::all(client);
        let mut names = Vec::new();
        for file in files {
            for crd in read_crds(file)? {
                let name = crd.metadata.name.clone().ok_or_else(|| Error::Invalid {
                    path: file.clone(),
                    reason: "a CustomResourceDefinition without metadata.name".into(),
                })?;
                api.patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&crd),
                )
                .await?;
                names.push(name);
            }
        }
        for name in names {
            let established = await_condition(api.clone(), &name, conditions::is_crd_established());
            match tokio::time::timeout(CRDS_ESTABLISHED, established).await {
                Ok(result) => {
                    result?;
                }
                Err(_) => {
                    return Err(
                        self.timeout(format!("CRD {name} to be established"), CRDS_ESTABLISHED)
                    );
                }
            }
        }
        Ok(())
    }

    /// Leaves the processes running when this value is dropped; returns the process group id.
    pub(crate) fn detach(self) -> i32 {
        self.group.detach()
    }

    async fn wait_for_apiserver(&mut self) -> Result<(), Error> {
        let client = self.client().await?;
        let ready = || async {
            let request = http::Request::get("/readyz").body(Vec::new()).ok()?;
            client.request_text(request).await.ok()
        };
        self.poll_until("kube-apiserver /readyz", APISERVER_READY, || async {
            ready().await.is_some_and(|body| body.trim() == "ok")
        })
        .await
    }

    /// Namespace, CRDs, then the controller (whose informers need the CRDs).
    async fn bootstrap(
        &mut self,
        binaries: &Binaries,
        health_port: u16,
        options: &Options,
    ) -> Result<(), Error> {
        let namespaces: Api<Namespace> = Api::all(self.client().await?);
        let namespace = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": CLUSTER_RESOURCE_NAMESPACE },
        });
        namespaces
            .patch(
                CLUSTER_RESOURCE_NAMESPACE,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&namespace),
            )
            .await?;

        self.install_crds(&yaml_files(&binaries.cert_manager_crds)?)
            .await?;

        let health = SocketAddr::from((Ipv4Addr::LOCALHOST, health_port));
        let args = vec![
            format!("--kubeconfig={}", self.kubeconfig.display()),
            format!("--cluster-resource-namespace={CLUSTER_RESOURCE_NAMESPACE}"),
            format!("--health-address={health}"),
            format!("--controllers={}", options.controllers()),
            "--v=2".to_string(),
        ];
        let log = self.log_dir().join("cert-manager-controller.log");
        self.group.spawn(
            "cert-manager-controller",
            &binaries.cert_manager_controller,
            &args,
            &log,
        )?;
        self.poll_until("cert-manager-controller /readyz", CONTROLLER_READY, || {
            http_get_ok(health, "/readyz")
        })
        .await
    }

    /// Polls `ready` until true, failing early if a process exits, or at `timeout`.
    async fn poll_until<F, Fut>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: F,
    ) -> Result<(), Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.group.check_running()?;
            if ready().await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.timeout(what.to_string(), timeout));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn timeout(&self, what: String, timeout: Duration) -> Error {
        Error::Timeout {
            what,
            timeout,
            logs: self.log_dir(),
        }
    }
}

fn etcd_args(root: &Path, ports: &Ports) -> Vec<String> {
    let client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    vec![
        "--name=testenv".to_string(),
        format!("--data-dir={}", root.join("etcd").display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=testenv={peer}"),
        // Throwaway data: durability costs time and disk I/O for nothing.
        "--unsafe-no-fsync=true".to_string(),
        "--log-level=warn".to_string(),
    ]
}

fn apiserver_args(root: &Path, ports: &Ports, pki: &PkiFiles) -> Vec<String> {
    let path = |p: &Path| p.display().to_string();
    vec![
        format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
        "--bind-address=127.0.0.1".to_string(),
        "--advertise-address=127.0.0.1".to_string(),
        format!("--secure-port={}", ports.apiserver),
        format!("--cert-dir={}", root.join("pki").display()),
        format!("--tls-cert-file={}", path(&pki.serving_cert)),
        format!("--tls-private-key-file={}", path(&pki.serving_key)),
        format!("--client-ca-file={}", path(&pki.ca_cert)),
        // Real authorization, so RBAC tests mean something.
        "--authorization-mode=RBAC".to_string(),
        "--service-cluster-ip-range=10.0.0.0/24".to_string(),
        "--allow-privileged=true".to_string(),
        // No controller-manager mints ServiceAccounts, so don't demand them.
        "--disable-admission-plugins=ServiceAccount".to_string(),
        format!(
            "--service-account-issuer=https://127.0.0.1:{}",
            ports.apiserver
        ),
        format!(
            "--service-account-key-file={}",
            path(&pki.service_account_public)
        ),
        format!(
            "--service-account-signing-key-file={}",
            path(&pki.service_account_private)
        ),
        // The `kubernetes` Service's endpoint would be 127.0.0.1, which
        // validation rejects; nothing here needs that Service.
        "--endpoint-reconciler-type=none".to_string(),
        "--profiling=false".to_string(),
    ]
}

/// A kubeconfig (JSON is valid YAML) pointing at the PEM files, for us, the controller and kubectl.
fn write_kubeconfig(path: &Path, apiserver_port: u16, pki: &PkiFiles) -> Result<(), Error> {
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "wasm-issuer-testenv",
            "cluster": {
                "server": format!("https://127.0.0.1:{apiserver_port}"),
                "certificate-authority": pki.ca_cert,
            },
        }],
        "users": [{
            "name": "admin",
            "user": {
                "client-certificate": pki.admin_cert,
                "client-key": pki.admin_key,
            },
        }],
        "contexts": [{
            "name": "wasm-issuer-testenv",
            "context": { "cluster": "wasm-issuer-testenv", "user": "admin" },
        }],
        "current-context": "wasm-issuer-testenv",
    });
    let text = serde_json::to_string_pretty(&kubeconfig).map_err(|err| Error::Invalid {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    std::fs::write(path, text).map_err(Error::io(format!("writing {}", path.display())))
}

/// The `*.yaml` files in `dir`, sorted (for [`ControlPlane::install_crds`]).
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries =
        std::fs::read_dir(dir).map_err(Error::io(format!("listing {}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Every CustomResourceDefinition document in a YAML file.
fn read_crds(file: &Path) -> Result<Vec<CustomResourceDefinition>, Error> {
    let text =
        std::fs::read_to_string(file).map_err(Error::io(format!("reading {}", file.display())))?;
    let invalid = |err: serde_yaml::Error| Error::Invalid {
        path: file.to_path_buf(),
        reason: err.to_string(),
    };
    let mut crds = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        // Empty documents (a leading `---`, comments only) deserialize as null.
        let value = serde_yaml::Value::deserialize(document).map_err(invalid)?;
        if !value.is_null() {
            crds.push(serde_yaml::from_value(value).map_err(invalid)?);
        }
    }
    Ok(crds)
}

/// Whether a plain-HTTP GET of `path` on `addr` answers 200.
async fn http_get_ok(addr: SocketAddr, path: &str) -> bool {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    match tokio::time::timeout(Duration::from_secs(2), exchange).await {
        Ok(Ok(response)) => response
            .lines()
            .next()
            .is_some_and(|status| status.contains(" 200 ")),
        _ => false,
    }
}
