//! Kubernetes CertificateSigningRequests for our signer names, on a real
//! control plane: approved through the `approval` subresource as an admin
//! (or an approver) does, signed into `status.certificate` and checked by
//! openssl; denied, unapproved and foreign CSRs left alone; namespaced
//! issuers only for requesters who may `reference` them.

mod common;

use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use wasm_issuer_controller::api::{WasmClusterIssuer, WasmIssuer};
use wasm_issuer_test_support::{Ca, CertificateShape, Workdir};
use wasm_issuer_testenv::{ControlPlane, shared};

use common::csr::{
    CsrBuilder, certificate, condition, decide_approval, failure, wait_until_failed,
    wait_until_signed,
};
use common::{
    ca_cluster_issuer, ca_issuer, event_reasons, namespace, prepare, server_csr, wait_for_event,
    wait_for_issuer,
};

/// Where the Events about cluster-scoped objects such as CSRs are.
const EVENTS_NAMESPACE: &str = "default";

const REQUEST_DURATION: &str = "experimental.cert-manager.io/request-duration";
const REQUEST_IS_CA: &str = "experimental.cert-manager.io/request-is-ca";

/// One test's world: a namespace (its name also prefixes the test's
/// cluster-scoped CSRs) and an issuer of either kind with its CA.
struct World {
    control_plane: &'static ControlPlane,
    client: Client,
    namespace: String,
    workdir: Workdir,
}

/// An issuer ready to sign: its signer name and its CA.
struct Signer {
    name: String,
    ca: Ca,
}

impl World {
    async fn new(prefix: &str) -> Self {
        let control_plane = shared().await.expect("start the control plane");
        let client = prepare(control_plane).await;
        let namespace = namespace(&client, prefix).await;
        Self {
            control_plane,
            client,
            namespace,
            workdir: Workdir::new(),
        }
    }

    /// A Ready WasmClusterIssuer with the `ca` plugin.
    async fn cluster_issuer(&self) -> Signer {
        let name = format!("{}-ca", self.namespace);
        let ca = ca_cluster_issuer(&self.client, &self.workdir, &name).await;
        let issuers = Api::<WasmClusterIssuer>::all(self.client.clone());
        wait_for_issuer(&issuers, &name, "True", "Checked").await;
        Signer {
            name: format!("wasmclusterissuers.wasm-issuer.dev/{name}"),
            ca,
        }
    }

    /// A Ready WasmIssuer `ca` with the `ca` plugin.
    async fn namespaced_issuer(&self) -> Signer {
        let namespace = &self.namespace;
        let ca = ca_issuer(&self.client, &self.workdir, namespace, "ca").await;
        let issuers = Api::<WasmIssuer>::namespaced(self.client.clone(), namespace);
        wait_for_issuer(&issuers, "ca", "True", "Checked").await;
        Signer {
            name: format!("wasmissuers.wasm-issuer.dev/{namespace}.ca"),
            ca,
        }
    }

    /// A CSR named `<namespace>-<name>` for `signer_name`, for a server
    /// certificate of DNS name `name`.
    fn csr(&self, name: &str, signer_name: &str) -> CsrBuilder {
        let name = format!("{}-{name}", self.namespace);
        let pem = server_csr(&self.workdir, &name);
        CsrBuilder::new(&name, pem, signer_name)
    }

    /// The chain in the signed `csr`, verified by `openssl verify` against
    /// the signer's CA; and the leaf as openssl reads it.
    fn verified(&self, signer: &Signer, csr: &CertificateSigningRequest) -> CertificateShape {
        let name = csr.name_any();
        let chain = String::from_utf8(certificate(csr).to_vec()).expect("PEM text");
        self.workdir
            .verify(&signer.ca.cert(), None, &format!("{name}.crt"), &chain)
            .unwrap_or_else(|error| panic!("openssl verify {name}: {error}"));
        self.workdir
            .certificate_shape(&self.workdir.path().join(format!("{name}.crt")))
    }
}

fn assert_lifetime(shape: &CertificateShape, seconds: i64) {
    let lifetime = shape.lifetime();
    assert!(
        (lifetime - seconds).abs() <= 30,
        "lifetime {lifetime}s, not {seconds}s within 30s"
    );
}

#[tokio::test]
async fn an_approved_csr_for_a_cluster_issuer_is_signed_and_checked_by_openssl() {
    let world = World::new("csr-cluster").await;
    let signer = world.cluster_issuer().await;
    let csr = world
        .csr("web", &signer.name)
        .expiration_seconds(3600)
        .create(&world.client)
        .await;
    decide_approval(&world.client, &csr, "Approved").await;
    let signed = wait_until_signed(&world.client, &csr).await;
    let shape = world.verified(&signer, &signed);
    assert_eq!(shape.subject, format!("CN={}", csr.name_any()));
    assert!(
        shape.extensions.contains("TLS Web Server Authentication"),
        "{}",
        shape.extensions
    );
    assert!(
        shape.extensions.contains("CA:FALSE"),
        "{}",
        shape.extensions
    );
    assert_lifetime(&shape, 3600);
    // The approver's condition is the approver's: still there, and no other.
    assert_eq!(
        condition(&signed, "Approved").map(|approved| approved.status.as_str()),
        Some("True")
    );
    assert!(condition(&signed, "Failed").is_none());
    wait_for_event(&world.client, EVENTS_NAMESPACE, &csr.name_any(), "Issued").await;
}

#[tokio::test]
async fn annotations_set_the_duration_over_expiration_seconds_and_ask_for_a_ca() {
    let world = World::new("csr-annotations").await;
    let signer = world.cluster_issuer().await;
    let csr = world
        .csr("sub-ca", &signer.name)
        .expiration_seconds(3600)
        .annotation(REQUEST_DURATION, "3h")
        .annotation(REQUEST_IS_CA, "true")
        .create(&world.client)
        .await;
    decide_approval(&world.client, &csr, "Approved").await;
    let shape = world.verified(&signer, &wait_until_signed(&world.client, &csr).await);
    assert_lifetime(&shape, 3 * 3600);
    assert!(shape.extensions.contains("CA:TRUE"), "{}", shape.extensions);
    assert!(
        shape.extensions.contains("Certificate Sign"),
        "{}",
        shape.extensions
    );
}

#[tokio::test]
async fn a_duration_below_ten_minutes_fails_the_csr() {
    let world = World::new("csr-short").await;
    let signer = world.cluster_issuer().await;
    let csr = world
        .csr("short", &signer.name)
        .annotation(REQUEST_DURATION, "5m")
        .create(&world.client)
        .await;
    decide_approval(&world.client, &csr, "Approved").await;
    let failed = wait_until_failed(&world.client, &csr).await;
    assert!(certificate(&failed).is_empty());
    assert_eq!(
        failure(&failed),
        (
            "InvalidRequest".to_owned(),
            format!("annotation {REQUEST_DURATION}: 5m is shorter than the minimum of 10m")
        )
    );
}

#[tokio::test]
async fn denied_unapproved_and_foreign_csrs_are_left_alone() {
    let world = World::new("csr-alone").await;
    let signer = world.cluster_issuer().await;
    let denied = world
        .csr("denied", &signer.name)
        .create(&world.client)
        .await;
    decide_approval(&world.client, &denied, "Denied").await;
    let unapproved = world
        .csr("unapproved", &signer.name)
        .create(&world.client)
        .await;
    let foreign = world
        .csr("foreign", "example.com/some-ca")
        .create(&world.client)
        .await;
    decide_approval(&world.client, &foreign, "Approved").await;
    let unknown_issuer = world
        .csr(
            "unknown",
            "wasmclusterissuers.wasm-issuer.dev/no-such-issuer",
        )
        .create(&world.client)
        .await;
    decide_approval(&world.client, &unknown_issuer, "Approved").await;
    // One CSR created after the others is signed: the controller has seen
    // the others by then (and gets a moment more for any write it would make).
    let witness = world
        .csr("witness", &signer.name)
        .create(&world.client)
        .await;
    decide_approval(&world.client, &witness, "Approved").await;
    world.verified(&signer, &wait_until_signed(&world.client, &witness).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let api = Api::<CertificateSigningRequest>::all(world.client.clone());
    // Events say why the CSRs of our signers wait; others get none. Whether
    // the controller saw a CSR before its approval or denial (and said it
    // waits for one) depends on timing.
    const WAITING: &str = "WaitingForApproval";
    for (csr, required, allowed) in [
        (&denied, &[][..], &[WAITING][..]),
        (&unapproved, &[WAITING], &[WAITING]),
        (&foreign, &[], &[]),
        (
            &unknown_issuer,
            &["IssuerNotReady"],
            &[WAITING, "IssuerNotReady"],
        ),
    ] {
        let name = csr.name_any();
        let reasons = event_reasons(&world.client, EVENTS_NAMESPACE, &name).await;
        assert!(
            required
                .iter()
                .all(|reason| reasons.iter().any(|found| found == reason))
                && reasons
                    .iter()
                    .all(|found| allowed.contains(&found.as_str())),
            "{name}: Events {reasons:?}, need {required:?}, may have {allowed:?}"
        );
    }
    for (csr, conditions) in [
        (denied, vec!["Denied"]),
        (unapproved, vec![]),
        (foreign, vec!["Approved"]),
        (unknown_issuer, vec!["Approved"]),
    ] {
        let now = api.get(&csr.name_any()).await.expect("the CSR");
        assert!(
            certificate(&now).is_empty(),
            "{} was signed",
            now.name_any()
        );
        let types: Vec<_> = now
            .status
            .iter()
            .flat_map(|status| status.conditions.iter().flatten())
            .map(|condition| condition.type_.as_str())
            .collect();
        assert_eq!(types, conditions, "{}", now.name_any());
        let managers: Vec<_> = now
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|entry| entry.manager.as_deref())
            .collect();
        assert!(
            !managers.contains(&wasm_issuer_controller::FIELD_MANAGER),
            "{} was written by the controller: {managers:?}",
            now.name_any()
        );
    }
}

#[tokio::test]
async fn a_namespaced_issuer_signs_only_for_requesters_who_may_reference_it() {
    let world = World::new("csr-reference").await;
    let signer = world.namespaced_issuer().await;
    let namespace = world.namespace.clone();
    let allowed = format!("{namespace}-alice");
    let refused = format!("{namespace}-bob");
    grant_csr_creation(&world.client, &namespace, &[&allowed, &refused]).await;
    grant_reference(&world.client, &namespace, "ca", &allowed).await;
    for user in [&allowed, &refused] {
        wait_until_allowed(&world.client, user, create_csrs()).await;
    }
    wait_until_allowed(&world.client, &allowed, reference(&namespace, "ca")).await;

    let as_allowed = world
        .control_plane
        .client_as(&allowed, &["system:authenticated"])
        .await
        .expect("a client as the allowed user");
    let csr = world.csr("allowed", &signer.name).create(&as_allowed).await;
    assert_eq!(csr.spec.username.as_deref(), Some(allowed.as_str()));
    decide_approval(&world.client, &csr, "Approved").await;
    world.verified(&signer, &wait_until_signed(&world.client, &csr).await);

    let as_refused = world
        .control_plane
        .client_as(&refused, &["system:authenticated"])
        .await
        .expect("a client as the refused user");
    let csr = world.csr("refused", &signer.name).create(&as_refused).await;
    decide_approval(&world.client, &csr, "Approved").await;
    let failed = wait_until_failed(&world.client, &csr).await;
    assert!(certificate(&failed).is_empty());
    let (reason, message) = failure(&failed);
    assert_eq!(reason, "DeniedReference");
    wait_for_event(
        &world.client,
        EVENTS_NAMESPACE,
        &csr.name_any(),
        "DeniedReference",
    )
    .await;
    assert!(
        message.starts_with(&format!(
            "requester {refused:?} may not reference WasmIssuer {namespace}/ca"
        )),
        "{message}"
    );
}

/// A ClusterRole to create CSRs, bound to `users`.
async fn grant_csr_creation(client: &Client, name: &str, users: &[&str]) {
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": name},
        "rules": [{
            "apiGroups": ["certificates.k8s.io"],
            "resources": ["certificatesigningrequests"],
            "verbs": ["create", "get"],
        }],
    }))
    .expect("a ClusterRole");
    Api::<ClusterRole>::all(client.clone())
        .create(&PostParams::default(), &role)
        .await
        .expect("create the ClusterRole");
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": users.iter().map(|user| json!({
            "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user,
        })).collect::<Vec<_>>(),
    }))
    .expect("a ClusterRoleBinding");
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&PostParams::default(), &binding)
        .await
        .expect("create the ClusterRoleBinding");
}

/// A Role in `namespace` to `reference` the signer `issuer`, bound to `user`,
/// as cert-manager documents it for namespaced issuers.
async fn grant_reference(client: &Client, namespace: &str, issuer: &str, user: &str) {
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "reference-ca"},
        "rules": [{
            "apiGroups": ["cert-manager.io"],
            "resources": ["signers"],
            "resourceNames": [issuer],
            "verbs": ["reference"],
        }],
    }))
    .expect("a Role");
    Api::<Role>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &role)
        .await
        .expect("create the Role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "reference-ca"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reference-ca"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }))
    .expect("a RoleBinding");
    Api::<RoleBinding>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &binding)
        .await
        .expect("create the RoleBinding");
}

fn create_csrs() -> ResourceAttributes {
    ResourceAttributes {
        group: Some("certificates.k8s.io".to_owned()),
        resource: Some("certificatesigningrequests".to_owned()),
        verb: Some("create".to_owned()),
        ..ResourceAttributes::default()
    }
}

fn reference(namespace: &str, issuer: &str) -> ResourceAttributes {
    ResourceAttributes {
        group: Some("cert-manager.io".to_owned()),
        resource: Some("signers".to_owned()),
        verb: Some("reference".to_owned()),
        namespace: Some(namespace.to_owned()),
        name: Some(issuer.to_owned()),
        version: Some("*".to_owned()),
        ..ResourceAttributes::default()
    }
}

/// RBAC takes effect a moment after it is stored (the authorizer reads an
/// informer cache): waits until the API server allows `user` `attributes`.
async fn wait_until_allowed(client: &Client, user: &str, attributes: ResourceAttributes) {
    let reviews = Api::<SubjectAccessReview>::all(client.clone());
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.to_owned()),
            groups: Some(vec!["system:authenticated".to_owned()]),
            resource_attributes: Some(attributes),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = reviews
            .create(&PostParams::default(), &review)
            .await
            .expect("a SubjectAccessReview");
        if answer.status.is_some_and(|status| status.allowed) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{user} is still not allowed {:?} after 10s",
            review.spec.resource_attributes
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
