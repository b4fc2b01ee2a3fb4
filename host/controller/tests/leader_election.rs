//! Leader election on a real control plane, with two replicas of the
//! controller in this process, each with its own runtime and identity: one
//! signs; when it dies the other takes over within the lease duration, and
//! no request is lost or signed twice; a leader stopped as on SIGTERM
//! finishes the signing in flight and gives the lease up.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube::{Client, ResourceExt};
use serde_json::json;
use wasm_issuer_controller::api::{CertificateRequest, WasmIssuer};
use wasm_issuer_controller::{Election, Options};
use wasm_issuer_test_support::{Ca, Workdir, free_address, http_get, plugin, test_plugin};
use wasm_issuer_testenv::{ControlPlane, shared};

use common::{
    IssuerBuilder, RequestBuilder, RunningController, TIMEOUT, ca_secret, events_about,
    install_crds, namespace, plugin_config_map, ready_is, server_csr, test_options, verified_chain,
    wait_for_issuer, wait_for_request,
};

const LEASE_DURATION: Duration = Duration::from_secs(6);
const RENEW_BEFORE: Duration = Duration::from_secs(2);
/// What a takeover may take beyond the lease: noticing it expired, the
/// lease manager's random back-off (at most 1 s) and the caches' first list.
const TAKEOVER_SLACK: Duration = Duration::from_secs(3);

/// Every replica watches every namespace: two leaders of two tests' leases
/// would both sign each test's requests. The tests take turns.
static ONE_ELECTION_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const LEADING: &str = "ok: leading, caches synced\n";
const STANDING_BY: &str = "ok: standing by for the leader\n";

/// One replica named `name`, competing for the Lease in `namespace`.
struct Replica {
    name: &'static str,
    health: SocketAddr,
    controller: RunningController,
}

impl Replica {
    fn start(control_plane: &ControlPlane, namespace: &str, name: &'static str) -> Self {
        let election = Election::new(
            "wasm-issuer".to_owned(),
            namespace.to_owned(),
            name.to_owned(),
            LEASE_DURATION,
            RENEW_BEFORE,
        )
        .expect("a valid election");
        let health = free_address();
        let controller = RunningController::start(
            control_plane,
            Options {
                instance: Some(name.to_owned()),
                election: Some(election),
                health_address: Some(health),
                ..test_options()
            },
        );
        Self {
            name,
            health,
            controller,
        }
    }

    /// Waits until `/readyz` says `state`; returns how long that took.
    async fn wait_until(&self, state: &str) -> Duration {
        let start = Instant::now();
        loop {
            // Nothing listens until the replica binds its port.
            let body = http_get(self.health, "/readyz").map(|(_, body)| body);
            let body = body.unwrap_or_default();
            if body == state {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "{}: /readyz says {body:?}, not {state:?}, after {TIMEOUT:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
        common::log_if_asked();
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
async fn when_the_leader_dies_the_standby_takes_over_and_no_request_is_lost_or_signed_twice() {
    let _turn = ONE_ELECTION_AT_A_TIME.lock().await;
    let world = World::new("leader-dies").await;
    plugin_config_map(&world.client, &world.namespace, "ca-plugin", &plugin("ca")).await;
    let first = Replica::start(world.control_plane, &world.namespace, "replica-a");
    first.wait_until(LEADING).await;
    let second = Replica::start(world.control_plane, &world.namespace, "replica-b");
    second.wait_until(STANDING_BY).await;
    assert_eq!(world.lease_holder().await.as_deref(), Some("replica-a"));
    world.issuer(IssuerBuilder::new("ca-plugin")).await;

    for request in world.requests("before", 5).await {
        assert_eq!(world.issued_by(&request).await, ["replica-a"]);
    }

    // The leader dies without giving the lease up; requests keep coming.
    first.controller.kill();
    let killed = Instant::now();
    let during = world.requests("during", 5).await;
    second.wait_until(LEADING).await;
    let takeover = killed.elapsed();
    eprintln!("takeover after the leader died: {takeover:?}");
    assert!(
        takeover <= LEASE_DURATION + TAKEOVER_SLACK,
        "the standby took over after {takeover:?}, lease {LEASE_DURATION:?}"
    );
    assert_eq!(world.lease_holder().await.as_deref(), Some("replica-b"));
    for request in &during {
        assert_eq!(world.issued_by(request).await, ["replica-b"]);
    }
    drop(second);
}

#[tokio::test]
async fn a_leader_stopped_gracefully_finishes_its_signing_and_gives_the_lease_up() {
    let _turn = ONE_ELECTION_AT_A_TIME.lock().await;
    let world = World::new("leader-stops").await;
    plugin_config_map(
        &world.client,
        &world.namespace,
        "slow-plugin",
        &test_plugin("scripted"),
    )
    .await;
    let leader = Replica::start(world.control_plane, &world.namespace, "replica-a");
    leader.wait_until(LEADING).await;
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
    leader
        .controller
        .stop()
        .expect("a graceful stop returns Ok");
    let stopped_in = stopping.elapsed();
    eprintln!("graceful stop took {stopped_in:?}");
    assert!(stopped_in < test_options().shutdown_grace, "{stopped_in:?}");
    assert_eq!(world.issued_by(&request).await, ["replica-a"]);
    assert_eq!(world.lease_holder().await, None, "the lease was given up");

    // A replica started now leads at once: the lease is free.
    let next = Replica::start(world.control_plane, &world.namespace, "replica-b");
    let took = next.wait_until(LEADING).await;
    assert!(took < LEASE_DURATION, "leading after {took:?}");
}
