//! Leader election on a real control plane with two `wasm-issuer controller`
//! processes, each with its own identity (`POD_NAME`) and health port: one
//! signs; when it is killed (SIGKILL, no lease given up) the other takes over
//! within the lease duration, and no request is lost or signed twice; a
//! leader sent SIGTERM finishes the signing in flight, gives the lease up and
//! exits 0.

// The controller's fixtures (issuers, requests, CAs, waits), shared rather
// than copied: this crate's tests run the binary, that crate's run the library.
#[path = "../../controller/tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube::{Client, ResourceExt};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use wasm_issuer_controller::api::{CertificateRequest, WasmIssuer};
use wasm_issuer_test_support::{Ca, Workdir, free_address, http_get, plugin, test_plugin};
use wasm_issuer_testenv::{CLUSTER_RESOURCE_NAMESPACE, ControlPlane, shared};

use common::{
    IssuerBuilder, RequestBuilder, TIMEOUT, ca_secret, events_about, install_crds, namespace,
    plugin_config_map, ready_is, server_csr, verified_chain, wait_for_issuer, wait_for_request,
};

const LEASE_DURATION: Duration = Duration::from_secs(6);
const RENEW_BEFORE: Duration = Duration::from_secs(2);
/// What a takeover may take beyond the lease: noticing it expired, the
/// lease manager's random back-off (at most 1 s) and the caches' first list.
const TAKEOVER_SLACK: Duration = Duration::from_secs(3);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Every replica watches every namespace: two leaders of two tests' leases
/// would both sign each test's requests. The tests take turns.
static ONE_ELECTION_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const LEADING: &str = "ok: leading, caches synced\n";
const STANDING_BY: &str = "ok: standing by for the leader\n";

/// One `wasm-issuer controller` process named `name`, competing for the
/// Lease in its test's namespace; SIGKILLed if dropped still running.
struct Replica {
    name: &'static str,
    health: SocketAddr,
    log: std::path::PathBuf,
    process: Child,
}

impl Replica {
    fn start(control_plane: &ControlPlane, namespace: &str, name: &'static str) -> Self {
        let health = free_address();
        let log = control_plane
            .log_dir()
            .join(format!("{namespace}-{name}.log"));
        let log_file = std::fs::File::create(&log).expect("the replica's log file");
        let process = Command::new(env!("CARGO_BIN_EXE_wasm-issuer"))
            .arg("controller")
            .arg("--kubeconfig")
            .arg(control_plane.kubeconfig())
            .args(["--cluster-resource-namespace", CLUSTER_RESOURCE_NAMESPACE])
            .args(["--leader-election-namespace", namespace])
            .arg("--leader-election-lease-duration")
            .arg(humantime::format_duration(LEASE_DURATION).to_string())
            .arg("--leader-election-renew-before")
            .arg(humantime::format_duration(RENEW_BEFORE).to_string())
            .arg("--shutdown-grace")
            .arg(humantime::format_duration(SHUTDOWN_GRACE).to_string())
            .args(["--metrics-address", "off"])
            .args(["--health-address", &health.to_string()])
            .arg("--no-compile-cache")
            .env("POD_NAME", name)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start wasm-issuer controller");
        Self {
            name,
            health,
            log,
            process,
        }
    }

    /// Waits until `/readyz` says `state`; returns how long that took.
    async fn wait_until(&mut self, state: &str) -> Duration {
        let start = Instant::now();
        let what = format!("/readyz saying {state:?}");
        self.poll(&what, |replica| {
            // Nothing listens until the replica binds its port.
            let body = http_get(replica.health, "/readyz").map(|(_, body)| body);
            if body.as_deref() == Some(state) {
                return Some(());
            }
            if let Some(status) = replica.process.try_wait().expect("the replica's status") {
                panic!(
                    "{}: exited ({status}); see {}",
                    replica.name,
                    replica.log.display()
                );
            }
            None
        })
        .await;
        start.elapsed()
    }

    fn signal(&self, signal: Signal) {
        let pid = i32::try_from(self.process.id()).expect("a pid");
        kill(Pid::from_raw(pid), signal).expect("signal the replica");
    }

    /// Waits for the process to end after a signal.
    async fn wait_for_exit(&mut self) -> ExitStatus {
        self.poll("exited", |replica| {
            replica.process.try_wait().expect("the replica's status")
        })
        .await
    }

    /// Asks `done` every 50 ms until it answers; fails after [`TIMEOUT`]
    /// naming `what` it waited for.
    async fn poll<T>(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(answer) = done(self) {
                return answer;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "{}: not {what} after {TIMEOUT:?}; see {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A namespace with a CA in Secret `ca`, for a WasmIssuer `ca`.
struct World {
    control_plane: &'static ControlPlane,
    client: Client,
    namespace: String,
    workdir: Workdir,
    ca: Ca,
}

impl World {
    async fn new(prefix: &str) -> Self {
        let control_plane = shared().await.expect("start the control plane");
        install_crds(control_plane).await;
        let client = control_plane.client().await.expect("admin client");
        let namespace = namespace(&client, prefix).await;
        let workdir = Workdir::new();
        let ca = ca_secret(&client, &workdir, &namespace, "ca").await;
        Self {
            control_plane,
            client,
            namespace,
            workdir,
            ca,
        }
    }

    fn replica(&self, name: &'static str) -> Replica {
        Replica::start(self.control_plane, &self.namespace, name)
    }

    async fn issuer(&self, builder: IssuerBuilder) {
        builder
            .key("ca", "ca")
            .create_namespaced(&self.client, &self.namespace, "ca")
            .await;
        let issuers = Api::<WasmIssuer>::namespaced(self.client.clone(), &self.namespace);
        wait_for_issuer(&issuers, "ca", "True", "Checked").await;
    }

    /// Creates requests `<prefix>-0..count` (cert-manager's approver
    /// approves them).
    async fn requests(&self, prefix: &str, count: usize) -> Vec<CertificateRequest> {
        let mut requests = Vec::new();
        for index in 0..count {
            let name = format!("{prefix}-{index}");
            let csr = server_csr(&self.workdir, &name);
            requests.push(
                RequestBuilder::new(&name, &csr, "WasmIssuer", "ca")
                    .create(&self.client, &self.namespace)
                    .await,
            );
        }
        requests
    }

    /// Waits until `request` is Issued, checks its chain with openssl, and
    /// returns the replicas that recorded it Issued (one Event each time).
    async fn issued_by(&self, request: &CertificateRequest) -> Vec<String> {
        let issued =
            wait_for_request(&self.client, request, "Issued", ready_is("True", "Issued")).await;
        verified_chain(&self.workdir, &self.ca, &issued);
        // The Event follows the status write.
        tokio::time::sleep(Duration::from_millis(500)).await;
        events_about(&self.client, &self.namespace, &request.name_any())
            .await
            .into_iter()
            .filter(|event| event.reason.as_deref() == Some("Issued"))
            .filter_map(|event| event.reporting_instance)
            .collect()
    }

    async fn lease_holder(&self) -> Option<String> {
        Api::<Lease>::namespaced(self.client.clone(), &self.namespace)
            .get("wasm-issuer")
            .await
            .expect("the Lease")
            .spec
            .and_then(|spec| spec.holder_identity)
    }
}

#[tokio::test]
async fn when_the_leader_is_killed_the_standby_takes_over_and_no_request_is_lost_or_signed_twice() {
    let _turn = ONE_ELECTION_AT_A_TIME.lock().await;
    let world = World::new("leader-killed").await;
    plugin_config_map(&world.client, &world.namespace, "ca-plugin", &plugin("ca")).await;
    let mut first = world.replica("replica-a");
    first.wait_until(LEADING).await;
    let mut second = world.replica("replica-b");
    second.wait_until(STANDING_BY).await;
    assert_eq!(world.lease_holder().await.as_deref(), Some("replica-a"));
    world.issuer(IssuerBuilder::new("ca-plugin")).await;

    for request in world.requests("before", 5).await {
        assert_eq!(world.issued_by(&request).await, ["replica-a"]);
    }

    // The leader dies without giving the lease up; requests keep coming.
    first.signal(Signal::SIGKILL);
    let killed = Instant::now();
    let status = first.wait_for_exit().await;
    assert_eq!(status.code(), None, "killed by a signal: {status}");
    let during = world.requests("during", 5).await;
    second.wait_until(LEADING).await;
    let takeover = killed.elapsed();
    eprintln!("takeover after the leader was killed: {takeover:?}");
    assert!(
        takeover <= LEASE_DURATION + TAKEOVER_SLACK,
        "the standby took over after {takeover:?}, lease {LEASE_DURATION:?}"
    );
    assert_eq!(world.lease_holder().await.as_deref(), Some("replica-b"));
    for request in &during {
        assert_eq!(world.issued_by(request).await, ["replica-b"]);
    }
}

#[tokio::test]
async fn sigterm_finishes_the_signing_in_flight_gives_the_lease_up_and_exits_zero() {
    let _turn = ONE_ELECTION_AT_A_TIME.lock().await;
    let world = World::new("leader-stops").await;
    plugin_config_map(
        &world.client,
        &world.namespace,
        "slow-plugin",
        &test_plugin("scripted"),
    )
    .await;
    let mut leader = world.replica("replica-a");
    leader.wait_until(LEADING).await;
    assert_eq!(world.lease_holder().await.as_deref(), Some("replica-a"));
    world
        .issuer(IssuerBuilder::new("slow-plugin").config(json!({"signDelayMs": 2000})))
        .await;

    let request = world.requests("in-flight", 1).await.remove(0);
    wait_for_request(&world.client, &request, "approved", |request| {
        request.has_true("Approved")
    })
    .await;
    // Signing takes 2 s: stop while it runs.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let stopping = Instant::now();
    leader.signal(Signal::SIGTERM);
    let status = leader.wait_for_exit().await;
    let stopped_in = stopping.elapsed();
    eprintln!("SIGTERM to exit: {stopped_in:?}");
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(stopped_in < SHUTDOWN_GRACE, "{stopped_in:?}");
    assert_eq!(world.issued_by(&request).await, ["replica-a"]);
    assert_eq!(world.lease_holder().await, None, "the lease was given up");

    // A replica started now leads at once: the lease is free.
    let mut next = world.replica("replica-b");
    let took = next.wait_until(LEADING).await;
    assert!(took < LEASE_DURATION, "leading after {took:?}");
}
