//! The generated CRDs on a real kube-apiserver: it accepts them, serves both
//! kinds with their defaults and validation, takes status through the status
//! subresource by server-side apply, and shows cert-manager's issuer columns.

use std::error::Error;
use std::fmt::Debug;
use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, CustomResourceExt, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wasm_issuer_controller::api::{
    Condition, ConditionStatus, ConfigMapPluginSource, IssuerResource, IssuerSpec, IssuerStatus,
    KeyGrant, PluginLimits, PluginSpec, PolicySpec, PolicyStatus, READY, WasmClusterIssuer,
    WasmIssuer, reason,
};
use wasm_issuer_testenv::{shared, unique_namespace, yaml_files};

type TestResult = Result<(), Box<dyn Error>>;

/// The field manager of these tests' status writes.
const MANAGER: &str = "wasm-issuer-test";

/// A client of the shared control plane, with `deploy/crds/` installed
/// (re-applying them is cheap and keeps each test independent of the others).
async fn client() -> Result<Client, Box<dyn Error>> {
    let control_plane = shared().await?;
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    control_plane.install_crds(&yaml_files(&crds)?).await?;
    Ok(control_plane.client().await?)
}

/// A spec that sets every field, with a nested plugin config.
fn full_spec() -> Result<IssuerSpec, Box<dyn Error>> {
    let config = json!({"validity": {"max": "720h"}, "organizations": ["Example"]});
    Ok(IssuerSpec {
        plugin: PluginSpec {
            config_map: Some(ConfigMapPluginSource {
                name: "ca-plugin".to_owned(),
                key: "plugin.wasm".to_owned(),
            }),
            oci: None,
            file: None,
            digest: None,
            config: serde_json::from_value(config)?,
            limits: PluginLimits {
                memory: "32Mi".to_owned(),
                timeout: "500ms".to_owned(),
            },
        },
        keys: vec![KeyGrant {
            name: "ca".to_owned(),
            secret_name: "my-ca-key-pair".to_owned(),
        }],
        policies: vec![PolicySpec {
            name: "domains".to_owned(),
            plugin: PluginSpec {
                config_map: None,
                oci: Some(serde_json::from_value(
                    json!({"reference": "registry.example/policies/domains:v1"}),
                )?),
                file: None,
                digest: Some(format!("sha256:{}", "cd".repeat(32))),
                config: serde_json::from_value(json!({"allowedDomains": ["example.com"]}))?,
                limits: PluginLimits::default(),
            },
        }],
        check_interval: "5m".to_owned(),
    })
}

/// A Ready=True status for `generation`, at a whole second so that it reads
/// back equal (the apiserver keeps seconds).
fn ready_status(generation: i64) -> Result<IssuerStatus, Box<dyn Error>> {
    let at = Time(Timestamp::from_second(1_700_000_000)?);
    Ok(IssuerStatus {
        conditions: vec![Condition {
            type_: READY.to_owned(),
            status: ConditionStatus::True,
            reason: reason::CHECKED.to_owned(),
            message: "plugin checked".to_owned(),
            last_transition_time: at.clone(),
            observed_generation: Some(generation),
        }],
        plugin_digest: Some(format!("sha256:{}", "ab".repeat(32))),
        plugin_source: Some("ConfigMap team/ca-plugin".to_owned()),
        plugin_loaded_at: Some(at.clone()),
        policies: vec![PolicyStatus {
            name: "domains".to_owned(),
            digest: format!("sha256:{}", "cd".repeat(32)),
            source: "oci registry.example/policies/domains@sha256:...".to_owned(),
            loaded_at: at.clone(),
        }],
        last_check_time: Some(at),
    })
}

/// A server-side apply patch of `status` alone, for the status subresource.
fn status_patch<K: Resource<DynamicType = ()>>(status: &IssuerStatus) -> Value {
    json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    })
}

/// Creates `issuer`, reads it back, makes it Ready through the status
/// subresource and reads that back: the same steps for both kinds.
async fn create_and_make_ready<K>(api: &Api<K>, issuer: K) -> TestResult
where
    K: IssuerResource + Clone + Debug + PartialEq + Serialize + DeserializeOwned,
{
    let name = issuer.meta().name.clone().ok_or("the issuer has no name")?;
    let created = api.create(&PostParams::default(), &issuer).await?;
    assert_eq!(created.issuer_spec(), issuer.issuer_spec());
    assert_eq!(
        created.issuer_status(),
        None,
        "status is not writable on create"
    );
    assert!(!created.is_ready());
    let generation = created.meta().generation.ok_or("no generation")?;

    let status = ready_status(generation)?;
    let patched = api
        .patch_status(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(status_patch::<K>(&status)),
        )
        .await?;
    assert_eq!(patched.issuer_status(), Some(&status));

    let read = api.get(&name).await?;
    assert_eq!(read.issuer_spec(), issuer.issuer_spec());
    assert_eq!(read.issuer_status(), Some(&status));
    assert!(read.is_ready());
    assert_eq!(
        read.meta().generation,
        Some(generation),
        "status is not spec"
    );
    Ok(())
}

#[tokio::test]
async fn a_wasm_issuer_is_created_read_and_made_ready() -> TestResult {
    let client = client().await?;
    let namespace = unique_namespace(&client, "wasm-issuer").await?;
    let api: Api<WasmIssuer> = Api::namespaced(client, &namespace);
    create_and_make_ready(&api, WasmIssuer::new("ca", full_spec()?.into())).await
}

#[tokio::test]
async fn a_wasm_cluster_issuer_is_created_read_and_made_ready() -> TestResult {
    let client = client().await?;
    let api: Api<WasmClusterIssuer> = Api::all(client);
    create_and_make_ready(&api, WasmClusterIssuer::new("ca", full_spec()?.into())).await
}

#[tokio::test]
async fn the_apiserver_fills_in_the_documented_defaults() -> TestResult {
    let client = client().await?;
    let namespace = unique_namespace(&client, "defaults").await?;
    let api: Api<WasmIssuer> = Api::namespaced(client, &namespace);
    // Written as a user would: only the plugin source.
    let minimal = json!({
        "apiVersion": WasmIssuer::api_version(&()),
        "kind": WasmIssuer::kind(&()),
        "metadata": {"name": "minimal"},
        "spec": {"plugin": {"configMap": {"name": "ca-plugin", "key": "plugin.wasm"}}},
    });
    let issuer = api
        .patch(
            "minimal",
            &PatchParams::apply(MANAGER),
            &Patch::Apply(minimal),
        )
        .await?;
    assert_eq!(issuer.spec.check_interval, "10m");
    assert_eq!(issuer.spec.plugin.limits, PluginLimits::default());
    let valid = issuer.spec.validate()?;
    assert_eq!(valid.signer.limits, wasm_issuer_runtime::Limits::default());
    Ok(())
}

/// Creating a WasmIssuer with `spec` fails validation; returns the apiserver's message.
async fn refused(spec: Value) -> Result<String, Box<dyn Error>> {
    let client = client().await?;
    let namespace = unique_namespace(&client, "refused").await?;
    let api: Api<WasmIssuer> = Api::namespaced(client, &namespace);
    let spec: IssuerSpec = serde_json::from_value(spec)?;
    match api
        .create(
            &PostParams::default(),
            &WasmIssuer::new("refused", spec.into()),
        )
        .await
    {
        Err(kube::Error::Api(status)) if status.code == 422 => Ok(status.message),
        other => Err(format!("expected a 422 Invalid, got {other:?}").into()),
    }
}

#[tokio::test]
async fn a_plugin_without_a_source_is_refused() -> TestResult {
    let message = refused(json!({"plugin": {"config": {"a": 1}}})).await?;
    assert!(
        message.contains("exactly one plugin source must be set: configMap"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn two_keys_of_one_name_are_refused() -> TestResult {
    let message = refused(json!({
        "plugin": {"configMap": {"name": "ca-plugin", "key": "plugin.wasm"}},
        "keys": [
            {"name": "ca", "secretName": "one"},
            {"name": "ca", "secretName": "two"},
        ],
    }))
    .await?;
    assert!(
        message.contains("spec.keys[1]: Duplicate value"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn each_field_manager_owns_only_its_condition_types() -> TestResult {
    let client = client().await?;
    let namespace = unique_namespace(&client, "ownership").await?;
    let api: Api<WasmIssuer> = Api::namespaced(client, &namespace);
    let issuer = api
        .create(
            &PostParams::default(),
            &WasmIssuer::new("ca", full_spec()?.into()),
        )
        .await?;
    let generation = issuer.meta().generation.ok_or("no generation")?;
    let apply = |manager: &'static str, status: IssuerStatus| {
        let api = api.clone();
        async move {
            api.patch_status(
                "ca",
                &PatchParams::apply(manager).force(),
                &Patch::Apply(status_patch::<WasmIssuer>(&status)),
            )
            .await
        }
    };

    apply(MANAGER, ready_status(generation)?).await?;
    let mut other = ready_status(generation)?;
    other.conditions[0].type_ = "PolicyReady".to_owned();
    other.plugin_digest = None;
    other.last_check_time = None;
    apply("someone-else", other).await?;

    // We apply again without the other's condition: it must survive.
    let mut not_ready = ready_status(generation)?;
    not_ready.conditions[0].status = ConditionStatus::False;
    not_ready.conditions[0].reason = reason::PENDING.to_owned();
    let read = apply(MANAGER, not_ready).await?;
    let types: Vec<(&str, ConditionStatus)> = read
        .issuer_status()
        .ok_or("no status")?
        .conditions
        .iter()
        .map(|c| (c.type_.as_str(), c.status))
        .collect();
    assert_eq!(
        types,
        [
            (READY, ConditionStatus::False),
            ("PolicyReady", ConditionStatus::True)
        ]
    );
    assert!(!read.is_ready());
    Ok(())
}

/// `kubectl get`'s columns, as each CRD declares them: (name, JSONPath, priority).
#[tokio::test]
async fn both_crds_declare_cert_managers_issuer_columns() -> TestResult {
    let client = client().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    let ready = |field: &str| format!(".status.conditions[?(@.type==\"Ready\")].{field}");
    let expected = [
        ("Ready".to_owned(), ready("status"), None),
        ("Reason".to_owned(), ready("reason"), None),
        ("Message".to_owned(), ready("message"), Some(1)),
        (
            "Age".to_owned(),
            ".metadata.creationTimestamp".to_owned(),
            None,
        ),
    ];
    for name in [WasmIssuer::crd_name(), WasmClusterIssuer::crd_name()] {
        let crd = crds.get(name).await?;
        let version = crd.spec.versions.first().ok_or("no version")?;
        let columns: Vec<_> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| (c.name.clone(), c.json_path.clone(), c.priority))
            .collect();
        assert_eq!(columns, expected, "{name}");
    }
    Ok(())
}

/// What `kubectl get` shows comes from the server's Table rendering of the
/// printer columns: a Ready issuer reads True / Checked / its message.
#[tokio::test]
async fn kubectl_get_shows_ready_reason_and_message() -> TestResult {
    let client = client().await?;
    let namespace = unique_namespace(&client, "table").await?;
    let api: Api<WasmIssuer> = Api::namespaced(client.clone(), &namespace);
    let issuer = api
        .create(
            &PostParams::default(),
            &WasmIssuer::new("ca", full_spec()?.into()),
        )
        .await?;
    let generation = issuer.meta().generation.ok_or("no generation")?;
    api.patch_status(
        "ca",
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(status_patch::<WasmIssuer>(&ready_status(generation)?)),
    )
    .await?;

    let request = http::Request::get(format!("{}/ca", api.resource_url()))
        .header(
            http::header::ACCEPT,
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        )
        .body(Vec::new())?;
    let table: Table = client.request(request).await?;
    let columns: Vec<&str> = table
        .column_definitions
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(columns, ["Name", "Ready", "Reason", "Message", "Age"]);
    let row = table.rows.first().ok_or("no row")?;
    assert_eq!(
        row.cells.get(..4),
        Some(
            &[
                json!("ca"),
                json!("True"),
                json!("Checked"),
                json!("plugin checked")
            ][..]
        )
    );
    Ok(())
}

/// The part of a `meta.k8s.io/v1` Table these tests read.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Table {
    column_definitions: Vec<TableColumn>,
    rows: Vec<TableRow>,
}

#[derive(serde::Deserialize)]
struct TableColumn {
    name: String,
}

#[derive(serde::Deserialize)]
struct TableRow {
    cells: Vec<Value>,
}
