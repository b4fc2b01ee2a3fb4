//! Policies on the real control plane, through cert-manager: a chain of
//! policy plugins is asked before the signer; the first denial fails the
//! request with that policy's reason. Policies are hot-reloaded from their
//! ConfigMaps like signers, and a broken update leaves the last good one
//! deciding.

mod common;

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use wasm_issuer_controller::api::{CertificateRequest, WasmIssuer};
use wasm_issuer_runtime::Digest;
use wasm_issuer_test_support::{Ca, CsrSpec, KeyKind, Workdir, plugin};
use wasm_issuer_testenv::shared;

use common::{
    IssuerBuilder, RequestBuilder, TIMEOUT, ca_secret, condition, field, issue_certificate,
    namespace, plugin_bytes, plugin_config_map, prepare, ready_is, replace_plugin, verified_chain,
    wait_for, wait_for_issuer, wait_for_refusal, wait_for_request,
};

/// The issuer every test here creates.
const ISSUER: &str = "policed";

struct World {
    client: Client,
    namespace: String,
    workdir: Workdir,
    ca: Ca,
    issuers: Api<WasmIssuer>,
}

impl World {
    /// A namespace with WasmIssuer `policed` (the `ca` plugin) Ready with
    /// `policies`: (name, reference plugin in its own ConfigMap, config).
    async fn new(prefix: &str, policies: &[(&str, &str, Value)]) -> Self {
        let client = prepare(shared().await.expect("start the control plane")).await;
        let namespace = namespace(&client, prefix).await;
        let workdir = Workdir::new();
        let ca = ca_secret(&client, &workdir, &namespace, "ca").await;
        plugin_config_map(&client, &namespace, "ca", &plugin("ca")).await;
        let mut issuer = IssuerBuilder::new("ca").key("ca", "ca");
        for (name, component, config) in policies {
            plugin_config_map(&client, &namespace, name, &plugin(component)).await;
            issuer = issuer.policy(name, name, config.clone());
        }
        issuer.create_namespaced(&client, &namespace, ISSUER).await;
        let issuers = Api::namespaced(client.clone(), &namespace);
        wait_for_issuer(&issuers, ISSUER, "True", "Checked").await;
        Self {
            client,
            namespace,
            workdir,
            ca,
            issuers,
        }
    }

    /// A CertificateRequest (approved by cert-manager's approver) for `name`
    /// with a fresh key of `key`.
    async fn request(&self, request: &str, key: KeyKind, name: &str) -> CertificateRequest {
        let csr = self.workdir.csr(request, &CsrSpec::server(key, name));
        let csr = std::fs::read(csr).expect("the CSR");
        RequestBuilder::new(request, &csr, "WasmIssuer", ISSUER)
            .create(&self.client, &self.namespace)
            .await
    }

    /// Waits until `request` is issued; its chain checked by openssl.
    async fn issued(&self, request: &CertificateRequest) {
        let issued =
            wait_for_request(&self.client, request, "Issued", ready_is("True", "Issued")).await;
        verified_chain(&self.workdir, &self.ca, &issued);
    }

    /// Waits until `request` failed; its Ready message.
    async fn failed(&self, request: &CertificateRequest) -> String {
        let failed =
            wait_for_request(&self.client, request, "Failed", ready_is("False", "Failed")).await;
        let status = failed.status.as_ref().expect("a status");
        assert!(status.failure_time.is_some(), "failureTime is set");
        assert!(status.certificate.is_none(), "no certificate");
        condition(&failed, "Ready")
            .message
            .clone()
            .unwrap_or_default()
    }

    /// Replaces the component in the ConfigMap of policy `name`.
    async fn put_policy(&self, name: &str, bytes: Vec<u8>) {
        replace_plugin(&self.client, &self.namespace, name, bytes).await;
    }

    /// Waits until the issuer's status says policy `name` serves `digest`.
    async fn wait_for_policy_digest(&self, name: &str, digest: &Digest) -> WasmIssuer {
        let wanted = digest.to_string();
        let serving = |issuer: &WasmIssuer| {
            issuer.status.as_ref().is_some_and(|status| {
                status
                    .policies
                    .iter()
                    .any(|policy| policy.name == name && policy.digest == wanted)
            })
        };
        let what = format!("serving {digest} as policy {name}");
        wait_for(TIMEOUT, &self.issuers, ISSUER, &what, serving, |issuer| {
            issuer.status
        })
        .await
    }
}

fn digest_of(component: &str) -> Digest {
    Digest::of(&plugin_bytes(&plugin(component)))
}

#[tokio::test]
async fn a_certificate_allowed_by_every_policy_is_issued_and_the_second_policy_can_deny() {
    let world = World::new(
        "policy-chain",
        &[
            (
                "domains",
                "allow-domains",
                json!({"allowedDomains": ["example.com"]}),
            ),
            (
                "team",
                "allow-domains",
                json!({"allowedDomains": ["team.example.com"]}),
            ),
        ],
    )
    .await;

    // The status lists each policy, in order, with the digest serving.
    let issuer = world.issuers.get(ISSUER).await.expect("the issuer");
    let status = issuer.status.expect("status");
    let listed: Vec<(&str, &str)> = status
        .policies
        .iter()
        .map(|policy| (policy.name.as_str(), policy.digest.as_str()))
        .collect();
    let allow_domains = digest_of("allow-domains").to_string();
    assert_eq!(
        listed,
        [
            ("domains", allow_domains.as_str()),
            ("team", allow_domains.as_str())
        ]
    );

    // Allowed by both: cert-manager gets the certificate into the Secret.
    let secret = issue_certificate(
        &world.client,
        &world.namespace,
        "app",
        json!({
            "secretName": "app-tls",
            "dnsNames": ["app.team.example.com"],
            "duration": "2h",
            "issuerRef": {"group": "wasm-issuer.dev", "kind": "WasmIssuer", "name": ISSUER},
        }),
    )
    .await;
    let chain = String::from_utf8(field(&secret, "tls.crt")).expect("PEM");
    world
        .workdir
        .verify(&world.ca.cert(), None, "app.crt", &chain)
        .expect("openssl verifies the certificate");

    // Allowed by the first, denied by the second.
    let request = world
        .request("outside", KeyKind::EcP256, "www.example.com")
        .await;
    let message = world.failed(&request).await;
    assert!(
        message.starts_with(
            "denied by policy \"team\": DNS name \"www.example.com\" is not under an allowed domain"
        ),
        "{message}"
    );
    let events = Api::<Event>::namespaced(world.client.clone(), &world.namespace)
        .list(&ListParams::default())
        .await
        .expect("events");
    assert!(
        events.items.iter().any(|event| {
            event.reason.as_deref() == Some("Failed")
                && event.regarding.as_ref().and_then(|r| r.name.as_deref())
                    == Some(request.name_any().as_str())
                && event.note.as_deref() == Some(message.as_str())
        }),
        "a Failed Event on the request with the policy's message"
    );
}

#[tokio::test]
async fn a_policy_updated_in_its_config_map_decides_the_next_request_and_a_broken_update_is_refused()
 {
    // `keys` starts as the duration policy, which does not mind Ed25519.
    let world = World::new("policy-reload", &[("keys", "duration-policy", json!({}))]).await;
    let before = world
        .request("ed25519-before", KeyKind::Ed25519, "a.example.com")
        .await;
    world.issued(&before).await;

    // Now the key policy, whose defaults refuse Ed25519.
    world
        .put_policy("keys", plugin_bytes(&plugin("key-policy")))
        .await;
    let key_policy = digest_of("key-policy");
    world.wait_for_policy_digest("keys", &key_policy).await;
    let after = world
        .request("ed25519-after", KeyKind::Ed25519, "b.example.com")
        .await;
    let message = world.failed(&after).await;
    assert!(
        message.starts_with("denied by policy \"keys\": ") && message.contains("Ed25519"),
        "{message}"
    );

    // A broken update is refused: the key policy goes on deciding.
    world.put_policy("keys", b"not a component".to_vec()).await;
    let refusal = wait_for_refusal(&world.issuers, ISSUER).await;
    assert!(
        refusal.starts_with("policy \"keys\": ")
            && refusal.ends_with(&format!("still serving {key_policy}")),
        "{refusal}"
    );
    let still_denied = world
        .request("ed25519-broken", KeyKind::Ed25519, "c.example.com")
        .await;
    let message = world.failed(&still_denied).await;
    assert!(message.contains("Ed25519"), "{message}");
    let allowed = world
        .request("p256-broken", KeyKind::EcP256, "d.example.com")
        .await;
    world.issued(&allowed).await;
    let issuer = world.issuers.get(ISSUER).await.expect("the issuer");
    let status = issuer.status.expect("status");
    assert_eq!(status.policies.len(), 1);
    assert_eq!(status.policies[0].digest, key_policy.to_string());
}

#[tokio::test]
async fn a_policy_that_cannot_run_fails_closed_and_says_which_policy() {
    let client = prepare(shared().await.expect("start the control plane")).await;
    let namespace = namespace(&client, "policy-closed").await;
    let workdir = Workdir::new();
    ca_secret(&client, &workdir, &namespace, "ca").await;
    plugin_config_map(&client, &namespace, "ca", &plugin("ca")).await;
    plugin_config_map(&client, &namespace, "domains", &plugin("allow-domains")).await;
    // Far less memory than a Rust component's stack: every call is refused.
    IssuerBuilder::new("ca")
        .key("ca", "ca")
        .policy(
            "domains",
            "domains",
            json!({"allowedDomains": ["example.com"]}),
        )
        .policy_memory("64Ki")
        .create_namespaced(&client, &namespace, ISSUER)
        .await;
    let issuers: Api<WasmIssuer> = Api::namespaced(client.clone(), &namespace);
    wait_for_issuer(&issuers, ISSUER, "True", "Checked").await;

    let csr = workdir.csr("closed", &CsrSpec::server(KeyKind::EcP256, "a.example.com"));
    let csr = std::fs::read(csr).expect("the CSR");
    let request = RequestBuilder::new("closed", &csr, "WasmIssuer", ISSUER)
        .create(&client, &namespace)
        .await;
    let pending = wait_for_request(&client, &request, "Pending", |request| {
        request.condition("Ready").is_some_and(|ready| {
            ready.reason.as_deref() == Some("Pending")
                && ready
                    .message
                    .as_deref()
                    .is_some_and(|message| message.starts_with("policy \"domains\" failed: "))
        })
    })
    .await;
    let message = condition(&pending, "Ready")
        .message
        .clone()
        .unwrap_or_default();
    assert!(message.ends_with("; will retry"), "{message}");
    assert!(
        pending
            .status
            .as_ref()
            .is_some_and(|status| status.certificate.is_none()),
        "nothing was signed"
    );
}
