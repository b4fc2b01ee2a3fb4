//! The Helm chart (`deploy/charts/wasm-issuer`), rendered by a real helm
//! (built from the Go module proxy by wasm-issuer-testenv) and applied to
//! the real kube-apiserver: what each value renders, its CRDs against the
//! API types, and its RBAC, by running the controller as the chart's
//! ServiceAccount with nothing but the chart's rules.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use kube::{Client, CustomResourceExt, ResourceExt};
use serde::Deserialize;
use serde_json::{Value, json};
use wasm_issuer_controller::api::{WasmClusterIssuer, WasmIssuer};
use wasm_issuer_controller::{Election, Options};
use wasm_issuer_test_support::Workdir;
use wasm_issuer_testenv::{ControlPlane, shared};

use common::csr::{CsrBuilder, decide_approval, wait_until_signed};
use common::{
    RunningController, TIMEOUT, ca_cluster_issuer, ca_issuer, events_about, field,
    issue_certificate, server_csr, test_options, wait_for_issuer,
};

/// The field manager of what these tests apply.
const MANAGER: &str = "wasm-issuer-chart-test";

/// How long a new RoleBinding may take to reach the RBAC authorizer's cache.
const AUTHORIZER_CACHE: Duration = Duration::from_secs(10);

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/charts/wasm-issuer")
}

/// The shared control plane, our CRDs installed, and an admin client.
async fn setup() -> (&'static ControlPlane, Client) {
    common::log_if_asked();
    let control_plane = shared().await.expect("start the control plane");
    common::install_crds(control_plane).await;
    let client = control_plane.client().await.expect("admin client");
    (control_plane, client)
}

/// `helm template` of the chart as release `release` in `namespace` with
/// `values`, for the control plane's Kubernetes version: every object it
/// renders, or helm's error output.
async fn render(
    control_plane: &ControlPlane,
    release: &str,
    namespace: &str,
    values: &Value,
) -> Result<Rendered, String> {
    // The first call on a machine builds helm: minutes on a cold cache.
    let helm = tokio::task::spawn_blocking(wasm_issuer_testenv::ensure_helm)
        .await
        .expect("the helm build thread")
        .unwrap_or_else(|error| panic!("helm: {error}"));
    // helm's caches and configuration in a directory of the test's own,
    // not the user's: nothing here needs repositories or plugins.
    let home = tempfile::tempdir().expect("a directory for helm");
    let values_file = home.path().join("values.json");
    std::fs::write(&values_file, values.to_string()).expect("write the values");
    let output = Command::new(&helm)
        .args(["template", release])
        .arg(chart_dir())
        .args(["--namespace", namespace])
        .args(["--kube-version", &control_plane.versions().kubernetes])
        .arg("--values")
        .arg(&values_file)
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .output()
        .unwrap_or_else(|error| panic!("run {}: {error}", helm.display()));
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let text = String::from_utf8(output.stdout).expect("UTF-8 YAML");
    let mut objects = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let object = Value::deserialize(document).expect("helm renders YAML");
        // Templates that render nothing leave empty documents.
        if !object.is_null() {
            objects.push(object);
        }
    }
    Ok(Rendered(objects))
}

/// The chart rendered as `release` (the prefix of a new namespace of its
/// own, where it is rendered); fails the test if helm refuses.
async fn render_in_new_namespace(
    control_plane: &ControlPlane,
    client: &Client,
    release: &str,
    values: &Value,
) -> (String, Rendered) {
    let namespace = common::namespace(client, release).await;
    let rendered = render(control_plane, release, &namespace, values)
        .await
        .unwrap_or_else(|error| panic!("the chart does not render: {error}"));
    (namespace, rendered)
}

/// What `helm template` rendered.
struct Rendered(Vec<Value>);

impl Rendered {
    /// (kind, name) of every object, sorted.
    fn kinds_and_names(&self) -> Vec<(String, String)> {
        let mut found: Vec<_> = self
            .0
            .iter()
            .map(|o| (text(&o["kind"]), text(&o["metadata"]["name"])))
            .collect();
        found.sort();
        found
    }

    fn get(&self, kind: &str, name: &str) -> &Value {
        self.0
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {:?}", self.kinds_and_names()))
    }

    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> {
        self.0.iter().filter(move |o| o["kind"] == kind)
    }

    /// The one container of Deployment `name`.
    fn container(&self, name: &str) -> &Value {
        let containers = &self.get("Deployment", name)["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().map(Vec::len), Some(1), "{containers}");
        &containers[0]
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// The container's arguments.
fn args(container: &Value) -> Vec<String> {
    container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(text)
        .collect()
}

/// Whether the apply is stored or only checked (a server-side dry run:
/// validation and admission, nothing written).
#[derive(Clone, Copy, PartialEq)]
enum Apply {
    DryRun,
    ForReal,
}

/// Server-side applies each object, finding its resource by discovery.
async fn apply<'a>(client: &Client, objects: impl IntoIterator<Item = &'a Value>, how: Apply) {
    for object in objects {
        let object: DynamicObject = serde_json::from_value(object.clone()).expect("an object");
        let types = object.types.as_ref().expect("apiVersion and kind");
        let gvk = GroupVersionKind::try_from(types).expect("a group, version and kind");
        let (resource, capabilities) = discovery::pinned_kind(client, &gvk)
            .await
            .unwrap_or_else(|error| panic!("the API server serves no {gvk:?}: {error}"));
        let api: Api<DynamicObject> = match capabilities.scope {
            Scope::Cluster => Api::all_with(client.clone(), &resource),
            Scope::Namespaced => Api::namespaced_with(
                client.clone(),
                &object
                    .namespace()
                    .expect("a namespaced object has its namespace"),
                &resource,
            ),
        };
        let mut params = PatchParams::apply(MANAGER).force();
        params.dry_run = how == Apply::DryRun;
        api.patch(&object.name_any(), &params, &Patch::Apply(&object))
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "the API server refuses {} {}: {error}",
                    types.kind,
                    object.name_any()
                )
            });
    }
}

/// The chart's appVersion: the default image tag.
fn app_version() -> String {
    let chart = std::fs::read_to_string(chart_dir().join("Chart.yaml")).expect("Chart.yaml");
    let chart: Value = serde_yaml::from_str(&chart).expect("Chart.yaml is YAML");
    text(&chart["appVersion"])
}

#[tokio::test]
async fn default_values_render_a_hardened_controller_the_apiserver_accepts() {
    let (control_plane, client) = setup().await;
    let (namespace, rendered) =
        render_in_new_namespace(control_plane, &client, "defaults", &json!({})).await;
    let name = "defaults-wasm-issuer";
    let approver = format!("{name}:cert-manager-approver");
    let leases = format!("{name}:leader-election");
    let expected: Vec<(String, String)> = [
        ("ClusterRole", name),
        ("ClusterRole", &approver),
        ("ClusterRoleBinding", name),
        ("ClusterRoleBinding", &approver),
        ("CustomResourceDefinition", WasmClusterIssuer::crd_name()),
        ("CustomResourceDefinition", WasmIssuer::crd_name()),
        ("Deployment", name),
        ("PodDisruptionBudget", name),
        ("Role", &leases),
        ("RoleBinding", &leases),
        ("Service", name),
        ("ServiceAccount", name),
    ]
    .iter()
    .map(|(kind, name)| ((*kind).to_owned(), (*name).to_owned()))
    .collect();
    assert_eq!(rendered.kinds_and_names(), expected);

    let deployment = rendered.get("Deployment", name);
    assert_eq!(deployment["metadata"]["namespace"], namespace.as_str());
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"], json!({"type": "Recreate"}));
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], name);
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(
        pod["securityContext"],
        json!({
            "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        })
    );
    let container = rendered.container(name);
    assert_eq!(
        container["image"],
        format!("wasm-issuer:{}", app_version()).as_str()
    );
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        container["securityContext"],
        json!({
            "runAsNonRoot": true,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        })
    );
    assert_eq!(
        args(container),
        [
            "controller",
            "--cluster-resource-namespace=cert-manager",
            "--concurrency=8",
            "--kube-api-qps=50",
            "--kube-api-burst=100",
            "--max-retry-duration=5m",
            "--log-format=json",
            "--metrics-address=0.0.0.0:9402",
            "--health-address=0.0.0.0:9403",
            "--leader-elect=true",
            &format!("--leader-election-namespace={namespace}"),
            &format!("--leader-election-lease-name={name}"),
            "--leader-election-lease-duration=30s",
            "--leader-election-renew-before=10s",
            "--shutdown-grace=20s",
            "--compile-cache-dir=/var/cache/wasm-issuer",
            "--compile-cache-max-size=512Mi",
        ]
    );
    assert_eq!(
        container["ports"],
        json!([
            {"name": "metrics", "containerPort": 9402, "protocol": "TCP"},
            {"name": "health", "containerPort": 9403, "protocol": "TCP"},
        ])
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "health"})
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "health"})
    );
    let service = &rendered.get("Service", name)["spec"];
    assert_eq!(
        service["ports"],
        json!([{"name": "metrics", "port": 9402, "targetPort": "metrics", "protocol": "TCP"}])
    );
    // Only the election's own Lease may be read or changed.
    let lease_rules = &rendered.get("Role", &leases)["rules"];
    assert_eq!(lease_rules[1]["resourceNames"], json!([name]));
    assert_eq!(
        container["env"],
        json!([{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}])
    );
    assert_eq!(
        container["resources"],
        json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}})
    );
    // The root filesystem is read-only: the compile cache has a volume.
    assert_eq!(
        container["volumeMounts"],
        json!([{"name": "compile-cache", "mountPath": "/var/cache/wasm-issuer"}])
    );
    assert_eq!(
        pod["volumes"],
        json!([{"name": "compile-cache", "emptyDir": {"sizeLimit": "1Gi"}}])
    );

    let selector = &deployment["spec"]["selector"]["matchLabels"];
    assert_eq!(
        selector,
        &json!({"app.kubernetes.io/name": "wasm-issuer", "app.kubernetes.io/instance": "defaults"})
    );
    let budget = &rendered.get("PodDisruptionBudget", name)["spec"];
    assert_eq!(
        budget,
        &json!({"selector": {"matchLabels": selector}, "maxUnavailable": 1})
    );
    for crd in rendered.of_kind("CustomResourceDefinition") {
        assert_eq!(
            crd["metadata"]["annotations"],
            json!({"helm.sh/resource-policy": "keep"})
        );
    }
    // Each binding gives its role to the right subject.
    let account = json!([{"kind": "ServiceAccount", "name": name, "namespace": namespace}]);
    for (kind, binding, role) in [
        ("ClusterRoleBinding", name, "ClusterRole"),
        ("RoleBinding", leases.as_str(), "Role"),
    ] {
        let binding = rendered.get(kind, binding);
        assert_eq!(binding["subjects"], account);
        assert_eq!(binding["roleRef"]["kind"], role);
    }
    let cert_manager = rendered.get("ClusterRoleBinding", &approver);
    assert_eq!(
        cert_manager["subjects"],
        json!([{"kind": "ServiceAccount", "name": "cert-manager", "namespace": "cert-manager"}])
    );

    apply(&client, &rendered.0, Apply::DryRun).await;
}

#[tokio::test]
async fn every_value_changes_what_it_should() {
    let (control_plane, client) = setup().await;
    let digest = format!("sha256:{}", "ab".repeat(32));
    let lease_namespace = common::namespace(&client, "lease").await;
    let values = json!({
        "nameOverride": "signer",
        "fullnameOverride": "custom",
        "image": {
            "repository": "registry.example/team/wasm-issuer",
            "tag": "ignored-with-a-digest",
            "digest": digest,
            "pullPolicy": "Always",
        },
        "imagePullSecrets": [{"name": "registry-login"}],
        "replicaCount": 2,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}},
        "crds": {"keep": false},
        "serviceAccount": {"name": "issuer-sa", "annotations": {"team": "pki"}},
        "certManagerApprover": {"serviceAccount": {"name": "cm", "namespace": "security"}},
        "controller": {
            "clusterResourceNamespace": "pki",
            "concurrency": 3,
            "kubeApiQps": 7.5,
            "kubeApiBurst": 15,
            "maxRetryDuration": "90s",
            "logFormat": "text",
            "logLevel": "debug",
            "allowedPluginDirs": ["/plugins/team-a", "/plugins/team-b"],
            "extraArgs": ["--allow-plugin-dir=/opt/plugins"],
            "shutdownGrace": "45s",
        },
        "compileCache": {
            "path": "/cache",
            "maxSize": "2Gi",
            "volume": {"persistentVolumeClaim": {"claimName": "wasm-cache"}},
        },
        "terminationGracePeriodSeconds": 60,
        "leaderElection": {
            "namespace": lease_namespace,
            "leaseName": "pki-signer",
            "leaseDuration": "60s",
            "renewBefore": "20s",
        },
        "metrics": {
            "port": 9500,
            "service": {"annotations": {"example.com/team": "pki"}},
            "serviceMonitor": {"enabled": true, "interval": "1m", "labels": {"release": "prom"}},
        },
        "healthPort": 9600,
        "extraVolumes": [{"name": "plugins", "configMap": {"name": "plugin-files"}}],
        "extraVolumeMounts": [{"name": "plugins", "mountPath": "/plugins", "readOnly": true}],
        // Maps are merged into the defaults (null removes a default key).
        "resources": {"requests": {"cpu": "250m"}, "limits": {"memory": "3Gi"}},
        "podSecurityContext": {"runAsUser": 1000, "fsGroup": null},
        "securityContext": {"privileged": false},
        "podDisruptionBudget": {"minAvailable": 1},
        "podAnnotations": {"example.com/scrape": "false"},
        "podLabels": {"team": "pki"},
        "priorityClassName": "issuers",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "pki", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "pki", "operator": "In", "values": ["yes"]},
            ]}],
        }}},
        "topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "signer"}},
        }],
    });
    let (namespace, rendered) =
        render_in_new_namespace(control_plane, &client, "values", &values).await;
    let deployment = rendered.get("Deployment", "custom");
    assert_eq!(
        deployment["metadata"]["labels"]["app.kubernetes.io/name"],
        "signer"
    );
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(deployment["spec"]["strategy"], values["strategy"]);
    let template = &deployment["spec"]["template"];
    assert_eq!(
        template["metadata"]["annotations"],
        values["podAnnotations"]
    );
    assert_eq!(template["metadata"]["labels"]["team"], "pki");
    let pod = &template["spec"];
    assert_eq!(
        pod["securityContext"],
        json!({
            "runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        })
    );
    for (field, value) in [
        ("imagePullSecrets", "imagePullSecrets"),
        ("priorityClassName", "priorityClassName"),
        ("nodeSelector", "nodeSelector"),
        ("tolerations", "tolerations"),
        ("affinity", "affinity"),
        ("topologySpreadConstraints", "topologySpreadConstraints"),
    ] {
        assert_eq!(pod[field], values[value], "{field}");
    }
    assert_eq!(pod["serviceAccountName"], "issuer-sa");
    assert_eq!(pod["terminationGracePeriodSeconds"], 60);
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "compile-cache", "persistentVolumeClaim": {"claimName": "wasm-cache"}},
            {"name": "plugins", "configMap": {"name": "plugin-files"}},
        ])
    );
    let container = rendered.container("custom");
    assert_eq!(
        container["image"],
        format!("registry.example/team/wasm-issuer@{digest}").as_str()
    );
    assert_eq!(container["imagePullPolicy"], "Always");
    assert_eq!(
        container["resources"],
        json!({"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"memory": "3Gi"}})
    );
    assert_eq!(container["securityContext"]["privileged"], false);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["volumeMounts"],
        json!([
            {"name": "compile-cache", "mountPath": "/cache"},
            {"name": "plugins", "mountPath": "/plugins", "readOnly": true},
        ])
    );
    assert_eq!(
        args(container),
        [
            "controller",
            "--cluster-resource-namespace=pki",
            "--concurrency=3",
            "--kube-api-qps=7.5",
            "--kube-api-burst=15",
            "--max-retry-duration=90s",
            "--log-format=text",
            "--metrics-address=0.0.0.0:9500",
            "--health-address=0.0.0.0:9600",
            "--leader-elect=true",
            &format!("--leader-election-namespace={lease_namespace}"),
            "--leader-election-lease-name=pki-signer",
            "--leader-election-lease-duration=60s",
            "--leader-election-renew-before=20s",
            "--shutdown-grace=45s",
            "--compile-cache-dir=/cache",
            "--compile-cache-max-size=2Gi",
            "--allow-plugin-dir=/plugins/team-a",
            "--allow-plugin-dir=/plugins/team-b",
            "--allow-plugin-dir=/opt/plugins",
        ]
    );
    assert_eq!(
        container["env"][1],
        json!({"name": "RUST_LOG", "value": "debug"})
    );

    let account = rendered.get("ServiceAccount", "issuer-sa");
    assert_eq!(account["metadata"]["annotations"], json!({"team": "pki"}));
    let binding = rendered.get("ClusterRoleBinding", "custom");
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "issuer-sa", "namespace": namespace}])
    );
    let approver = rendered.get("ClusterRoleBinding", "custom:cert-manager-approver");
    assert_eq!(
        approver["subjects"],
        json!([{"kind": "ServiceAccount", "name": "cm", "namespace": "security"}])
    );
    // The Lease lives where the election says; its Role is there too.
    let lease_role = rendered.get("Role", "custom:leader-election");
    assert_eq!(
        lease_role["metadata"]["namespace"],
        lease_namespace.as_str()
    );
    assert_eq!(
        lease_role["rules"][1]["resourceNames"],
        json!(["pki-signer"])
    );
    let service = rendered.get("Service", "custom");
    assert_eq!(
        service["metadata"]["annotations"],
        json!({"example.com/team": "pki"})
    );
    assert_eq!(service["spec"]["ports"][0]["port"], 9500);
    let monitor = rendered.get("ServiceMonitor", "custom");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prom");
    assert_eq!(
        monitor["spec"]["endpoints"],
        json!([{"port": "metrics", "path": "/metrics", "interval": "1m"}])
    );
    let budget = &rendered.get("PodDisruptionBudget", "custom")["spec"];
    assert_eq!(budget["minAvailable"], 1);
    assert_eq!(budget.get("maxUnavailable"), None);
    for crd in rendered.of_kind("CustomResourceDefinition") {
        assert_eq!(crd["metadata"].get("annotations"), None, "crds.keep: false");
    }

    // prometheus-operator's ServiceMonitor CRD is not installed here: that
    // object is checked above only.
    let applied = rendered
        .0
        .iter()
        .filter(|object| object["kind"] != "ServiceMonitor");
    apply(&client, applied, Apply::DryRun).await;

    // The default volume's size, which a volume of its own replaces above.
    let values = json!({"compileCache": {"sizeLimit": "4Gi"}});
    let (_, rendered) = render_in_new_namespace(control_plane, &client, "sized", &values).await;
    let pod = &rendered.get("Deployment", "sized-wasm-issuer")["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"],
        json!([{"name": "compile-cache", "emptyDir": {"sizeLimit": "4Gi"}}])
    );
}

#[tokio::test]
async fn switched_off_parts_are_not_rendered() {
    let (control_plane, client) = setup().await;
    let values = json!({
        "image": {"tag": "v1.2.3"},
        "crds": {"enabled": false},
        "serviceAccount": {"create": false, "name": "existing"},
        "rbac": {"create": false},
        "certManagerApprover": {"enabled": false},
        "podDisruptionBudget": {"enabled": false},
        "compileCache": {"enabled": false},
        "leaderElection": {"enabled": false},
        "metrics": {"enabled": false},
    });
    // A release named after the chart names its objects after the release alone.
    let (_, rendered) =
        render_in_new_namespace(control_plane, &client, "wasm-issuer", &values).await;
    assert_eq!(
        rendered.kinds_and_names(),
        [("Deployment".to_owned(), "wasm-issuer".to_owned())]
    );
    let pod = &rendered.get("Deployment", "wasm-issuer")["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "existing");
    assert_eq!(pod.get("volumes"), None);
    let container = rendered.container("wasm-issuer");
    assert_eq!(container["image"], "wasm-issuer:v1.2.3");
    assert_eq!(container.get("volumeMounts"), None);
    let args = args(container);
    for arg in [
        "--no-compile-cache",
        "--metrics-address=off",
        "--leader-elect=false",
    ] {
        assert!(args.contains(&arg.to_owned()), "{arg} not in {args:?}");
    }
    assert!(
        !args.iter().any(|arg| arg.starts_with("--leader-election-")),
        "{args:?}"
    );
    assert_eq!(
        container["ports"],
        json!([{"name": "health", "containerPort": 9403, "protocol": "TCP"}])
    );
    assert!(
        !args.iter().any(|arg| arg.starts_with("--compile-cache")),
        "{args:?}"
    );

    apply(&client, &rendered.0, Apply::DryRun).await;
}

#[tokio::test]
async fn an_existing_service_account_must_be_named() {
    let control_plane = shared().await.expect("start the control plane");
    let values = json!({"serviceAccount": {"create": false}});
    let error = match render(control_plane, "unnamed", "default", &values).await {
        Ok(rendered) => panic!("rendered {:?}", rendered.kinds_and_names()),
        Err(error) => error,
    };
    assert!(
        error.contains("serviceAccount.name: the ServiceAccount to run as"),
        "{error}"
    );
}

/// The chart renders the CRDs `wasm-issuer crds` prints (host/cli's crds
/// test keeps its copy in files/crds/ byte-identical), with its labels and
/// the keep annotation added.
#[tokio::test]
async fn the_charts_crds_are_the_api_types() {
    let (control_plane, client) = setup().await;
    let (_, rendered) = render_in_new_namespace(control_plane, &client, "crds", &json!({})).await;
    let mut crds: Vec<Value> = rendered
        .of_kind("CustomResourceDefinition")
        .cloned()
        .collect();
    for crd in &mut crds {
        let metadata = crd["metadata"].as_object_mut().expect("metadata");
        let labels = metadata.remove("labels").expect("the chart's labels");
        assert_eq!(labels["app.kubernetes.io/instance"], "crds");
        metadata.remove("annotations").expect("the keep annotation");
    }
    let generated: Vec<Value> = wasm_issuer_controller::api::crds()
        .iter()
        .map(|crd| serde_json::to_value(crd).expect("a CRD as JSON"))
        .collect();
    assert_eq!(crds, generated);
}

/// A question to the authorizer: may `verb` be done to `resource`
/// (`group/resource` or `group/resource/subresource`, the core group
/// `core`) in `namespace` (None: cluster-wide), on object `name` (None: any)?
#[derive(Clone, Copy, Debug)]
struct Access<'a> {
    verb: &'a str,
    resource: &'a str,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
}

impl<'a> Access<'a> {
    const fn new(verb: &'a str, resource: &'a str) -> Self {
        Self {
            verb,
            resource,
            namespace: None,
            name: None,
        }
    }

    fn within(self, namespace: &'a str) -> Self {
        Self {
            namespace: Some(namespace),
            ..self
        }
    }

    fn named(self, name: &'a str) -> Self {
        Self {
            name: Some(name),
            ..self
        }
    }
}

/// A user or ServiceAccount as the API server's authorizer sees it.
struct Identity {
    user: String,
    groups: Vec<String>,
}

impl Identity {
    /// What a pod running as ServiceAccount `namespace/name` authenticates as.
    fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            user: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".to_owned(),
            ],
        }
    }

    fn groups(&self) -> Vec<&str> {
        self.groups.iter().map(String::as_str).collect()
    }

    /// Whether the authorizer allows `access`.
    async fn may(&self, client: &Client, access: Access<'_>) -> bool {
        let mut parts = access.resource.split('/');
        let (group, resource, subresource) = (parts.next(), parts.next(), parts.next());
        let group = group.map(|group| if group == "core" { "" } else { group });
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(self.user.clone()),
                groups: Some(self.groups.clone()),
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(access.verb.to_owned()),
                    group: group.map(str::to_owned),
                    resource: resource.map(str::to_owned),
                    subresource: subresource.map(str::to_owned),
                    namespace: access.namespace.map(str::to_owned),
                    name: access.name.map(str::to_owned),
                    ..ResourceAttributes::default()
                }),
                ..SubjectAccessReviewSpec::default()
            },
            ..SubjectAccessReview::default()
        };
        let reviewed = Api::<SubjectAccessReview>::all(client.clone())
            .create(&PostParams::default(), &review)
            .await
            .expect("a SubjectAccessReview");
        reviewed.status.is_some_and(|status| status.allowed)
    }

    /// Waits until the authorizer allows `access`: a new binding takes
    /// effect a moment after it is stored (the RBAC authorizer reads
    /// bindings from an informer cache).
    async fn wait_until_allowed(&self, client: &Client, access: Access<'_>) {
        let deadline = tokio::time::Instant::now() + AUTHORIZER_CACHE;
        while !self.may(client, access).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} may not {access:?} {AUTHORIZER_CACHE:?} after the binding",
                self.user
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// What the chart's ClusterRole lets the controller do first.
const LIST_ISSUERS: Access = Access::new("list", "wasm-issuer.dev/wasmissuers");

/// The chart rendered as release `release` in a namespace of its own, its
/// ServiceAccount and RBAC applied (nothing else of it); returns the
/// release namespace and the ServiceAccount's identity once the authorizer
/// knows its bindings.
async fn install_rbac(
    control_plane: &ControlPlane,
    client: &Client,
    release: &str,
    values: &Value,
) -> (String, Identity) {
    let (namespace, rendered) =
        render_in_new_namespace(control_plane, client, release, values).await;
    let identity = Identity::service_account(&namespace, &format!("{release}-wasm-issuer"));
    assert!(
        !identity.may(client, LIST_ISSUERS).await,
        "the ServiceAccount has rights before the chart's RBAC is applied"
    );
    let rbac = [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
    ];
    apply(
        client,
        rendered
            .0
            .iter()
            .filter(|o| rbac.iter().any(|kind| o["kind"] == *kind)),
        Apply::ForReal,
    )
    .await;
    identity.wait_until_allowed(client, LIST_ISSUERS).await;
    let leases = Access::new("create", "coordination.k8s.io/leases").within(&namespace);
    identity.wait_until_allowed(client, leases).await;
    (namespace, identity)
}

/// Waits until `found` finds something, up to [`TIMEOUT`].
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, found: impl Fn() -> F) -> T {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Some(found) = found().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {what} after {TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits for an Event our controller recorded in `namespace` about object `regarding`.
async fn wait_for_event_about(client: &Client, namespace: &str, regarding: &str) {
    eventually(
        &format!("Event about {regarding} in {namespace}"),
        || async { (!events_about(client, namespace, regarding).await.is_empty()).then_some(()) },
    )
    .await;
}

/// Issues a Certificate through cert-manager from issuer `kind`/`name` and
/// checks it with openssl against the CA that came with it.
async fn issue_from(client: &Client, workdir: &Workdir, namespace: &str, kind: &str, name: &str) {
    let secret_name = format!("{name}-tls");
    let secret = issue_certificate(
        client,
        namespace,
        name,
        json!({
            "secretName": secret_name,
            "commonName": format!("{name}.example.com"),
            "dnsNames": [format!("{name}.example.com")],
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "issuerRef": {"group": "wasm-issuer.dev", "kind": kind, "name": name},
        }),
    )
    .await;
    let ca = workdir.write(&format!("{name}-ca.crt"), field(&secret, "ca.crt"));
    let leaf = String::from_utf8(field(&secret, "tls.crt")).expect("PEM");
    workdir
        .verify(&ca, None, &format!("{name}.crt"), &leaf)
        .unwrap_or_else(|error| panic!("openssl verify {name}: {error}"));
}

/// The controller runs as the chart's ServiceAccount with the chart's RBAC
/// and nothing else, and does its whole job: both issuer kinds become
/// Ready, Events are recorded, and cert-manager issues a Certificate from
/// each. What the rules leave out, the identity cannot do.
#[tokio::test]
async fn the_controller_does_its_whole_job_with_the_charts_rbac_alone() {
    let (control_plane, client) = setup().await;
    let (release_namespace, identity) =
        install_rbac(control_plane, &client, "rbac-job", &json!({})).await;
    // Elected as in the chart's Deployment: the Lease rules are used too.
    let election = Election::new(
        "rbac-job-wasm-issuer".to_owned(),
        release_namespace,
        "rbac-job-replica".to_owned(),
        Duration::from_secs(15),
        Duration::from_secs(5),
    )
    .expect("a valid election");
    let _controller = RunningController::start_as(
        control_plane,
        Options {
            election: Some(election),
            ..test_options()
        },
        &identity.user,
        &identity.groups(),
    );

    let namespace = common::namespace(&client, "chart-issuer").await;
    let workdir = Workdir::new();
    ca_issuer(&client, &workdir, &namespace, "ca").await;
    let cluster = format!("{namespace}-ca");
    ca_cluster_issuer(&client, &workdir, &cluster).await;

    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    wait_for_issuer(&issuers, "ca", "True", "Checked").await;
    let cluster_issuers = Api::<WasmClusterIssuer>::all(client.clone());
    wait_for_issuer(&cluster_issuers, &cluster, "True", "Checked").await;
    wait_for_event_about(&client, &namespace, "ca").await;
    // Events about cluster-scoped objects go to `default`, where kubectl looks.
    wait_for_event_about(&client, "default", &cluster).await;

    issue_from(&client, &workdir, &namespace, "WasmIssuer", "ca").await;
    issue_from(&client, &workdir, &namespace, "WasmClusterIssuer", &cluster).await;
    // A Kubernetes CSR for the cluster issuer: `sign` on our signer names
    // and the CSR status rules at work (the API server checks `sign` when
    // the certificate is written).
    let name = format!("{namespace}-csr");
    let csr = CsrBuilder::new(
        &name,
        server_csr(&workdir, &name),
        &format!("wasmclusterissuers.wasm-issuer.dev/{cluster}"),
    )
    .create(&client)
    .await;
    decide_approval(&client, &csr, "Approved").await;
    wait_until_signed(&client, &csr).await;

    // The same identity, asking directly: it reads Secrets, never writes them,
    // and cannot change or delete an issuer.
    let as_controller = control_plane
        .client_as(&identity.user, &identity.groups())
        .await
        .expect("an impersonating client");
    let secrets = Api::<Secret>::namespaced(as_controller.clone(), &namespace);
    secrets.get("ca").await.expect("the controller reads keys");
    let mut secret = secrets.get("ca").await.expect("the CA Secret");
    secret.metadata = kube::api::ObjectMeta {
        name: Some("copied".to_owned()),
        ..Default::default()
    };
    let create = PostParams::default();
    forbidden("create a Secret", secrets.create(&create, &secret)).await;
    let delete = DeleteParams::default();
    forbidden("delete a Secret", secrets.delete("ca", &delete)).await;
    let as_issuers = Api::<WasmIssuer>::namespaced(as_controller, &namespace);
    let spec = json!({
        "apiVersion": "wasm-issuer.dev/v1alpha1",
        "kind": "WasmIssuer",
        "spec": {"checkInterval": "1m"},
    });
    let apply = PatchParams::apply(MANAGER);
    forbidden(
        "change an issuer's spec",
        as_issuers.patch("ca", &apply, &Patch::Apply(spec)),
    )
    .await;
    forbidden("delete an issuer", as_issuers.delete("ca", &delete)).await;
}

/// Asserts that the API server refuses `call` with 403 Forbidden.
async fn forbidden<T: std::fmt::Debug>(
    what: &str,
    call: impl Future<Output = Result<T, kube::Error>>,
) {
    match call.await {
        Err(kube::Error::Api(status)) if status.code == 403 => {}
        other => panic!("{what}: expected 403 Forbidden, got {other:?}"),
    }
}

/// What the controller's identity may do: verbs, `group/resource` (and
/// `/subresource`; `core` is the core group), where (`cluster`-wide, a
/// `team`'s namespace, the `release` namespace, or a namespace by name),
/// and an object's name if the rule names one.
const ALLOWED: &str = "
    list,watch          wasm-issuer.dev/wasmissuers                            cluster
    list,watch          wasm-issuer.dev/wasmclusterissuers                     cluster
    patch               wasm-issuer.dev/wasmissuers/status                     team
    patch               wasm-issuer.dev/wasmclusterissuers/status              cluster
    list,watch          cert-manager.io/certificaterequests                    cluster
    patch               cert-manager.io/certificaterequests                    team
    patch               cert-manager.io/certificaterequests/status             team
    get                 core/secrets                                           team
    list,watch          core/secrets                                           cluster
    get                 core/configmaps                                        team
    list,watch          core/configmaps                                        cluster
    create              events.k8s.io/events                                   team
    create              events.k8s.io/events                                   default
    get,list,watch      certificates.k8s.io/certificatesigningrequests         cluster
    update,patch        certificates.k8s.io/certificatesigningrequests/status  cluster
    sign                certificates.k8s.io/signers      cluster  wasmissuers.wasm-issuer.dev/*
    sign                certificates.k8s.io/signers      cluster  wasmclusterissuers.wasm-issuer.dev/*
    create              authorization.k8s.io/subjectaccessreviews              cluster
    create              coordination.k8s.io/leases                             release
    get,update,patch    coordination.k8s.io/leases       release  rbac-rules-wasm-issuer
";

/// What it may not, in the same form.
const DENIED: &str = "
    create,update,patch,delete  core/secrets                                   team
    create,update,patch,delete  core/configmaps                                team
    create,update,patch,delete  wasm-issuer.dev/wasmissuers                    team
    update,delete       wasm-issuer.dev/wasmclusterissuers                     cluster
    get,create,update,delete  cert-manager.io/certificaterequests              team
    get                 cert-manager.io/certificates                           team
    create              core/events                                            team
    patch,update        events.k8s.io/events                                   team
    create,delete       certificates.k8s.io/certificatesigningrequests         cluster
    update              certificates.k8s.io/certificatesigningrequests/approval  cluster
    sign                certificates.k8s.io/signers      cluster  kubernetes.io/kube-apiserver-client
    approve             certificates.k8s.io/signers      cluster  wasmissuers.wasm-issuer.dev/*
    approve             cert-manager.io/signers          cluster  wasmissuers.wasm-issuer.dev/*
    get                 coordination.k8s.io/leases                             team
    list,delete         coordination.k8s.io/leases                             release
    get,update,patch    coordination.k8s.io/leases       release  another-lease
    list                core/pods                                              cluster
    get                 core/namespaces                                        cluster
    create              rbac.authorization.k8s.io/rolebindings                 team
    create              core/serviceaccounts/token                             release
";

/// Every rule of the chart's ClusterRole and Role, and what they leave
/// out, as the API server's authorizer answers for the ServiceAccount.
///
/// Secrets cannot be narrowed to the cluster resource namespace: a
/// WasmIssuer's keys live in its own namespace, and the controller watches
/// Secrets (metadata only) in every namespace to recheck the issuers using
/// them. The identity reads them everywhere and writes them nowhere.
#[tokio::test]
async fn the_charts_rules_allow_what_the_controller_calls_and_no_more() {
    let (control_plane, client) = setup().await;
    let (release_namespace, identity) =
        install_rbac(control_plane, &client, "rbac-rules", &json!({})).await;
    let team = common::namespace(&client, "chart-team").await;
    let mut wrong = Vec::new();
    for (expected, table) in [(true, ALLOWED), (false, DENIED)] {
        for line in table.lines().filter(|line| !line.trim().is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (verbs, resource, scope, name) = (words[0], words[1], words[2], words.get(3));
            let namespace = match scope {
                "cluster" => None,
                "team" => Some(team.as_str()),
                "release" => Some(release_namespace.as_str()),
                other => Some(other),
            };
            for verb in verbs.split(',') {
                let access = Access {
                    verb,
                    resource,
                    namespace,
                    name: name.copied(),
                };
                let may = identity.may(&client, access).await;
                if may != expected {
                    let may = if may { "may" } else { "may not" };
                    wrong.push(format!("{may} {verb} {resource} in {scope} {name:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}: {wrong:#?}", identity.user);
}

/// What cert-manager's webhook asks before it lets an approver approve.
const APPROVE: Access = Access::new("approve", "cert-manager.io/signers");

/// cert-manager's approver (its webhook asks `approve` on `signers` for
/// `<plural>.<group>/*` first) may approve requests for our issuers, and
/// only ours; the binding names the ServiceAccount the values say.
#[tokio::test]
async fn cert_managers_approver_may_approve_for_our_signer_names() {
    let (control_plane, client) = setup().await;
    let approver_namespace = common::namespace(&client, "chart-approver").await;
    let approver = Identity::service_account(&approver_namespace, "cert-manager");
    let ours = "wasmissuers.wasm-issuer.dev/*";
    let approve = |name: &'static str| {
        let (client, approver) = (&client, &approver);
        async move { approver.may(client, APPROVE.named(name)).await }
    };
    assert!(!approve(ours).await, "approves before the chart is applied");

    let values = json!({"certManagerApprover": {"serviceAccount": {
        "name": "cert-manager", "namespace": approver_namespace,
    }}});
    install_rbac(control_plane, &client, "rbac-approver", &values).await;
    approver
        .wait_until_allowed(&client, APPROVE.named(ours))
        .await;
    assert!(approve("wasmclusterissuers.wasm-issuer.dev/*").await);
    assert!(!approve("issuers.cert-manager.io/*").await);
    assert!(!approve("clusterissuers.cert-manager.io/*").await);
}
