//! The contract's reconcile order for CertificateRequests, one test per row,
//! on a real control plane where nothing approves requests on its own (as
//! when users run their own approver): each test approves or denies as an
//! approver would, then checks the exact conditions the controller wrote.

mod common;

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use wasm_issuer_controller::RETRYING_SINCE;
use wasm_issuer_controller::api::{CertificateRequest, WasmIssuer};
use wasm_issuer_test_support::{Ca, Workdir, plugin, test_plugin};
use wasm_issuer_testenv::shared_without_auto_approval;

use common::{
    IssuerBuilder, RequestBuilder, ca_secret, condition, namespace, plugin_config_map, prepare,
    ready_is, ready_of, server_csr, set_approval, verified_chain, wait_for_issuer,
    wait_for_request,
};

/// One test's world: a namespace with the `ca` and `scripted` plugins in
/// ConfigMaps and a CA in Secret `ca`.
struct World {
    client: Client,
    namespace: String,
    workdir: Workdir,
    ca: Ca,
}

impl World {
    async fn new(prefix: &str) -> Self {
        let control_plane = shared_without_auto_approval()
            .await
            .expect("start the control plane");
        let client = prepare(control_plane).await;
        let namespace = namespace(&client, prefix).await;
        let workdir = Workdir::new();
        plugin_config_map(&client, &namespace, "ca-plugin", &plugin("ca")).await;
        plugin_config_map(&client, &namespace, "scripted", &test_plugin("scripted")).await;
        let ca = ca_secret(&client, &workdir, &namespace, "ca").await;
        Self {
            client,
            namespace,
            workdir,
            ca,
        }
    }

    /// A WasmIssuer `name` running the `scripted` plugin with `script`.
    async fn scripted_issuer(&self, name: &str, script: serde_json::Value) -> Api<WasmIssuer> {
        self.issuer(
            name,
            IssuerBuilder::new("scripted")
                .key("ca", "ca")
                .config(script),
        )
        .await
    }

    async fn issuer(&self, name: &str, builder: IssuerBuilder) -> Api<WasmIssuer> {
        builder
            .create_namespaced(&self.client, &self.namespace, name)
            .await;
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// An issuer as [`World::issuer`] makes it, once it is Ready: requests
    /// made then meet the plugin, not an issuer still being checked.
    async fn ready_issuer(&self, name: &str, builder: IssuerBuilder) {
        let issuers = self.issuer(name, builder).await;
        wait_for_issuer(&issuers, name, "True", "Checked").await;
    }

    async fn ready_scripted_issuer(&self, name: &str, script: serde_json::Value) {
        self.ready_issuer(
            name,
            IssuerBuilder::new("scripted")
                .key("ca", "ca")
                .config(script),
        )
        .await;
    }

    /// A request named `name` for issuer `issuer`, created and approved.
    async fn approved_request(&self, name: &str, issuer: &str) -> CertificateRequest {
        let request = self.unapproved_request(name, issuer).await;
        set_approval(&self.client, &request, "Approved").await;
        request
    }

    /// A request named `name` for issuer `issuer`, created and left alone.
    async fn unapproved_request(&self, name: &str, issuer: &str) -> CertificateRequest {
        self.request(RequestBuilder::new(
            name,
            &self.csr(name),
            "WasmIssuer",
            issuer,
        ))
        .await
    }

    async fn request(&self, builder: RequestBuilder) -> CertificateRequest {
        builder.create(&self.client, &self.namespace).await
    }

    fn csr(&self, name: &str) -> Vec<u8> {
        server_csr(&self.workdir, &format!("{name}.example.com"))
    }

    async fn wait(
        &self,
        request: &CertificateRequest,
        what: &str,
        done: impl Fn(&CertificateRequest) -> bool,
    ) -> CertificateRequest {
        wait_for_request(&self.client, request, what, done).await
    }

    /// Event reasons recorded about the object named `name` in this namespace.
    async fn event_reasons(&self, name: &str) -> Vec<String> {
        common::event_reasons(&self.client, &self.namespace, name).await
    }
}

fn message(request: &CertificateRequest) -> String {
    condition(request, "Ready")
        .message
        .clone()
        .unwrap_or_default()
}

fn failure_time_set(request: &CertificateRequest) -> bool {
    request
        .status
        .as_ref()
        .is_some_and(|status| status.failure_time.is_some())
}

/// Only the approval (ours wrote nothing): `Approved` alone.
fn condition_types(request: &CertificateRequest) -> Vec<String> {
    request
        .status
        .iter()
        .flat_map(|status| &status.conditions)
        .map(|condition| condition.type_.clone())
        .collect()
}

#[tokio::test]
async fn an_approved_request_is_issued_and_checked_by_openssl() {
    let world = World::new("issued").await;
    world
        .ready_issuer("ca", IssuerBuilder::new("ca-plugin").key("ca", "ca"))
        .await;
    let request = world.approved_request("app", "ca").await;
    let issued = world
        .wait(&request, "Issued", ready_is("True", "Issued"))
        .await;
    let ready = condition(&issued, "Ready");
    assert_eq!(
        ready.message.as_deref(),
        Some(format!("Certificate issued by WasmIssuer {}/ca", world.namespace).as_str())
    );
    verified_chain(&world.workdir, &world.ca, &issued);
    let status = issued.status.as_ref().expect("status");
    assert!(status.ca.is_some(), "status.ca is set");
    assert!(status.failure_time.is_none());
    assert!(
        world
            .event_reasons("app")
            .await
            .contains(&"Issued".to_owned())
    );
}

#[tokio::test]
async fn requests_for_other_groups_are_left_alone() {
    let world = World::new("not-ours").await;
    world
        .ready_issuer("ca", IssuerBuilder::new("ca-plugin").key("ca", "ca"))
        .await;
    let csr = world.csr("other");
    let cert_manager_group = world
        .request(RequestBuilder::new("cm", &csr, "WasmIssuer", "ca").group("cert-manager.io"))
        .await;
    let empty_group = world
        .request(RequestBuilder::new("empty", &csr, "WasmIssuer", "ca").group(""))
        .await;
    set_approval(&world.client, &cert_manager_group, "Approved").await;
    set_approval(&world.client, &empty_group, "Approved").await;
    // A request of ours, approved after them, is issued: the controller has
    // seen the others by then.
    let ours = world.approved_request("ours", "ca").await;
    world
        .wait(&ours, "Issued", ready_is("True", "Issued"))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for request in [cert_manager_group, empty_group] {
        let now = common::api_of(&world.client, &request)
            .get(&request.name_any())
            .await
            .expect("get");
        assert_eq!(
            condition_types(&now),
            ["Approved"],
            "{}",
            request.name_any()
        );
    }
}

#[tokio::test]
async fn an_unapproved_request_gets_no_status_and_is_not_signed() {
    let world = World::new("unapproved").await;
    world
        .ready_issuer("ca", IssuerBuilder::new("ca-plugin").key("ca", "ca"))
        .await;
    let name = "waiting";
    let waiting = world.unapproved_request(name, "ca").await;
    let control = world.approved_request("control", "ca").await;
    world
        .wait(&control, "Issued", ready_is("True", "Issued"))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let now = common::api_of(&world.client, &waiting)
        .get(name)
        .await
        .expect("get");
    assert!(condition_types(&now).is_empty(), "{:?}", now.status);
    assert!(!now.has_certificate());
    assert!(
        world
            .event_reasons(name)
            .await
            .contains(&"WaitingForApproval".to_owned())
    );
    // Approved later: issued.
    set_approval(&world.client, &waiting, "Approved").await;
    world
        .wait(&waiting, "Issued", ready_is("True", "Issued"))
        .await;
}

#[tokio::test]
async fn a_denied_request_fails_even_without_approval() {
    let world = World::new("denied").await;
    world
        .ready_issuer("ca", IssuerBuilder::new("ca-plugin").key("ca", "ca"))
        .await;
    let name = "denied";
    let request = world.unapproved_request(name, "ca").await;
    set_approval(&world.client, &request, "Denied").await;
    let denied = world
        .wait(&request, "Denied", ready_is("False", "Denied"))
        .await;
    assert!(failure_time_set(&denied));
    assert!(!denied.has_certificate());
    assert_eq!(condition_types(&denied), ["Denied", "Ready"]);
}

#[tokio::test]
async fn a_request_waits_for_a_missing_issuer_then_is_issued_when_it_appears() {
    let world = World::new("missing").await;
    let request = world.approved_request("early", "late").await;
    let pending = world
        .wait(&request, "Pending", ready_is("False", "Pending"))
        .await;
    assert_eq!(
        message(&pending),
        format!(
            "waiting for WasmIssuer {}/late to be created",
            world.namespace
        )
    );
    assert!(!failure_time_set(&pending));
    world
        .issuer("late", IssuerBuilder::new("ca-plugin").key("ca", "ca"))
        .await;
    let issued = world
        .wait(&request, "Issued", ready_is("True", "Issued"))
        .await;
    verified_chain(&world.workdir, &world.ca, &issued);
}

#[tokio::test]
async fn a_request_waits_while_its_issuer_is_not_ready() {
    let world = World::new("not-ready").await;
    let issuers = world
        .scripted_issuer("broken", json!({"check": "issuer-not-ready"}))
        .await;
    wait_for_issuer(&issuers, "broken", "False", "Pending").await;
    let request = world.approved_request("app", "broken").await;
    let pending = world
        .wait(&request, "Pending", ready_is("False", "Pending"))
        .await;
    let text = message(&pending);
    assert!(
        text.starts_with(&format!(
            "WasmIssuer {}/broken is not ready: plugin check failed",
            world.namespace
        )),
        "{text}"
    );
    assert!(text.contains("scripted check"), "{text}");
    assert!(!failure_time_set(&pending));
}

#[tokio::test]
async fn a_request_waits_while_its_issuers_new_spec_is_checked() {
    let world = World::new("generation").await;
    let issuers = world.scripted_issuer("slow", json!({})).await;
    wait_for_issuer(&issuers, "slow", "True", "Checked").await;
    // The new spec's check takes 6 s: until it passes, the issuer's Ready
    // says nothing about generation 2.
    let spec = IssuerBuilder::new("scripted")
        .key("ca", "ca")
        .config(json!({"checkDelayMs": 6000}))
        .timeout("30s")
        .spec();
    issuers
        .patch(
            "slow",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": spec})),
        )
        .await
        .expect("update the issuer");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let request = world.approved_request("app", "slow").await;
    let pending = world
        .wait(&request, "Pending", ready_is("False", "Pending"))
        .await;
    assert!(
        message(&pending).contains("generation 2"),
        "{}",
        message(&pending)
    );
    world
        .wait(&request, "Issued", ready_is("True", "Issued"))
        .await;
    let issuer = issuers.get("slow").await.expect("get");
    let ready = ready_of(&issuer);
    assert_eq!(ready.observed_generation, Some(2));
}

#[tokio::test]
async fn pending_from_the_plugin_waits_without_spending_the_retry_budget() {
    let world = World::new("pending").await;
    world
        .ready_scripted_issuer("queue", json!({"sign": "pending", "retryAfterSeconds": 1}))
        .await;
    let request = world.approved_request("app", "queue").await;
    let pending = world
        .wait(&request, "Pending", ready_is("False", "Pending"))
        .await;
    assert!(
        message(&pending).contains("scripted sign"),
        "{}",
        message(&pending)
    );
    // Past the tests' retry budget (8 s), asked again every second: still Pending.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let later = common::api_of(&world.client, &request)
        .get("app")
        .await
        .expect("get");
    assert!(ready_is("False", "Pending")(&later), "{:?}", later.status);
    assert!(!failure_time_set(&later));
    assert!(!later.annotations().contains_key(RETRYING_SINCE));
}

#[tokio::test]
async fn a_retryable_error_is_retried_until_the_budget_runs_out() {
    let world = World::new("retryable").await;
    world
        .ready_scripted_issuer("flaky", json!({"sign": "retryable"}))
        .await;
    let request = world.approved_request("app", "flaky").await;
    let pending = world
        .wait(&request, "Pending", ready_is("False", "Pending"))
        .await;
    assert_eq!(
        message(&pending),
        "plugin retryable: scripted sign; will retry"
    );
    let failed = world
        .wait(&request, "Failed", ready_is("False", "Failed"))
        .await;
    assert!(
        message(&failed).starts_with("gave up after retrying for"),
        "{}",
        message(&failed)
    );
    assert!(failure_time_set(&failed));
    assert!(failed.annotations().contains_key(RETRYING_SINCE));
    assert!(failed.condition("InvalidRequest").is_none());
}

#[tokio::test]
async fn a_permanent_error_fails_the_request() {
    let world = World::new("permanent").await;
    world
        .ready_scripted_issuer("no", json!({"sign": "permanent"}))
        .await;
    let request = world.approved_request("app", "no").await;
    let failed = world
        .wait(&request, "Failed", ready_is("False", "Failed"))
        .await;
    assert_eq!(message(&failed), "plugin permanent: scripted sign");
    assert!(failure_time_set(&failed));
    assert!(failed.condition("InvalidRequest").is_none());
}

#[tokio::test]
async fn an_invalid_request_error_sets_invalid_request() {
    let world = World::new("invalid").await;
    world
        .ready_scripted_issuer("strict", json!({"sign": "invalid-request"}))
        .await;
    let request = world.approved_request("app", "strict").await;
    let failed = world
        .wait(&request, "Failed", ready_is("False", "Failed"))
        .await;
    let invalid = condition(&failed, "InvalidRequest");
    assert_eq!(invalid.status, "True");
    assert_eq!(
        invalid.message.as_deref(),
        Some("plugin invalid-request: scripted sign")
    );
    assert!(failure_time_set(&failed));
}

#[tokio::test]
async fn a_request_that_is_not_a_csr_is_invalid() {
    let world = World::new("not-csr").await;
    world
        .ready_issuer("ca", IssuerBuilder::new("ca-plugin").key("ca", "ca"))
        .await;
    let request = world
        .request(RequestBuilder::new(
            "garbage",
            b"not a CSR",
            "WasmIssuer",
            "ca",
        ))
        .await;
    set_approval(&world.client, &request, "Approved").await;
    let failed = world
        .wait(&request, "Failed", ready_is("False", "Failed"))
        .await;
    assert_eq!(condition(&failed, "InvalidRequest").status, "True");
    assert!(
        message(&failed).starts_with("spec.request: "),
        "{}",
        message(&failed)
    );
    assert!(failure_time_set(&failed));
}

#[tokio::test]
async fn an_issuer_level_error_keeps_the_request_pending_and_the_issuer_not_ready() {
    let world = World::new("issuer-error").await;
    let issuers = world
        .scripted_issuer("creds", json!({"sign": "issuer-not-ready"}))
        .await;
    wait_for_issuer(&issuers, "creds", "True", "Checked").await;
    let request = world.approved_request("app", "creds").await;
    let pending = world
        .wait(&request, "Pending", ready_is("False", "Pending"))
        .await;
    assert_eq!(
        message(&pending),
        format!(
            "WasmIssuer {}/creds is not ready: signing failed: plugin issuer-not-ready: scripted sign",
            world.namespace
        )
    );
    let not_ready = wait_for_issuer(&issuers, "creds", "False", "Pending").await;
    let ready = ready_of(&not_ready);
    assert!(
        ready
            .message
            .starts_with("signing failed: plugin issuer-not-ready: scripted sign"),
        "{}",
        ready.message
    );
    // Its check passes again after the delay: Ready again, the request still not failed.
    wait_for_issuer(&issuers, "creds", "True", "Checked").await;
    let now = common::api_of(&world.client, &request)
        .get("app")
        .await
        .expect("get");
    assert!(!failure_time_set(&now));
}

#[tokio::test]
async fn a_plugin_that_traps_is_retried_then_fails() {
    let world = World::new("trap").await;
    plugin_config_map(
        &world.client,
        &world.namespace,
        "spin",
        &test_plugin("spin"),
    )
    .await;
    world
        .ready_issuer(
            "spin",
            IssuerBuilder::new("spin").key("ca", "ca").timeout("300ms"),
        )
        .await;
    let request = world.approved_request("app", "spin").await;
    let pending = world
        .wait(&request, "Pending", ready_is("False", "Pending"))
        .await;
    assert!(
        message(&pending).contains("trapped (deadline)"),
        "{}",
        message(&pending)
    );
    let failed = world
        .wait(&request, "Failed", ready_is("False", "Failed"))
        .await;
    assert!(
        message(&failed).contains("trapped (deadline)"),
        "{}",
        message(&failed)
    );
    assert!(failure_time_set(&failed));
}

#[tokio::test]
async fn a_certificate_for_another_key_is_never_written() {
    let world = World::new("wrong-key").await;
    plugin_config_map(
        &world.client,
        &world.namespace,
        "wrong-key",
        &test_plugin("wrong-key"),
    )
    .await;
    world
        .ready_issuer("liar", IssuerBuilder::new("wrong-key").key("ca", "ca"))
        .await;
    let request = world.approved_request("app", "liar").await;
    let failed = world
        .wait(&request, "Failed", ready_is("False", "Failed"))
        .await;
    assert!(
        message(&failed).starts_with("plugin returned an unusable certificate"),
        "{}",
        message(&failed)
    );
    assert!(!failed.has_certificate());
    assert!(failure_time_set(&failed));
}

#[tokio::test]
async fn an_issuer_deleted_and_created_again_signs_only_with_its_new_spec() {
    let world = World::new("recreated").await;
    world.ready_scripted_issuer("ca", json!({})).await;
    let issuers: Api<WasmIssuer> = Api::namespaced(world.client.clone(), &world.namespace);
    issuers
        .delete("ca", &Default::default())
        .await
        .expect("delete the issuer");
    // Same name, another object: its plugin refuses everything.
    world
        .scripted_issuer("ca", json!({"sign": "permanent"}))
        .await;
    let request = world.approved_request("app", "ca").await;
    let failed = world
        .wait(&request, "Failed", ready_is("False", "Failed"))
        .await;
    assert_eq!(message(&failed), "plugin permanent: scripted sign");
    assert!(!failed.has_certificate());
}
