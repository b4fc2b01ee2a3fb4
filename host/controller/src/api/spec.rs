//! What users write: one spec for both issuer kinds.
//!
//! Fields whose values need parsing stay strings here, as users write them
//! (`64Mi`, `2s`); [`IssuerSpec::validate`](super::validation) turns them
//! into typed values, so a bad value becomes a Failed condition naming the
//! field rather than an object the controller cannot even read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema;

/// `spec.plugin.oci.pollInterval` when absent.
pub(crate) const DEFAULT_POLL_INTERVAL: &str = "5m";
/// `spec.checkInterval` when absent.
pub(crate) const DEFAULT_CHECK_INTERVAL: &str = "10m";
/// `spec.plugin.limits.memory` when absent; the runtime's default.
pub(crate) const DEFAULT_MEMORY: &str = "64Mi";
/// `spec.plugin.limits.timeout` when absent; the runtime's default.
pub(crate) const DEFAULT_TIMEOUT: &str = "2s";

/// How to sign: a plugin, what it is given, and how often it is checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerSpec {
    /// The signer plugin (a WebAssembly component of the `signer` world) and its settings.
    pub plugin: PluginSpec,
    /// The keys the plugin may open, by name: the only ones it can use.
    /// Each is a `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`, optional
    /// `ca.crt`) in the issuer's namespace, or in the cluster resource
    /// namespace for a WasmClusterIssuer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // Keyed by name: the apiserver refuses two grants of the same name.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub keys: Vec<KeyGrant>,
    /// Policy plugins (WebAssembly components of the `policy` world), asked
    /// in order before the signer runs: the first that denies a request
    /// fails it with its reason; the signer runs only if all allow. A policy
    /// that cannot decide (it traps or runs out of time) fails closed: the
    /// request is not signed, and retried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // Keyed by name: status and messages name a policy by it.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub policies: Vec<PolicySpec>,
    /// How often the plugin's check runs again while nothing changes, as a Go
    /// duration (`10m`, `1h30m`). Changes to the spec or to a referenced
    /// Secret or ConfigMap trigger a check at once. Defaults to 10m.
    #[serde(default = "default_check_interval")]
    pub check_interval: String,
}

/// Where the plugin comes from and how it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
// Exactly one source must be set.
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(has(self.configMap) ? 1 : 0) + (has(self.oci) ? 1 : 0) + (has(self.file) ? 1 : 0) == 1",
    "message": "exactly one plugin source must be set: configMap, oci or file",
}]))]
pub struct PluginSpec {
    /// The plugin's component, in a ConfigMap's `binaryData`. The ConfigMap
    /// is in the issuer's namespace, or in the cluster resource namespace for
    /// a WasmClusterIssuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapPluginSource>,
    /// The plugin's component in an OCI registry (the CNCF Wasm artifact
    /// layout, or the older `application/vnd.wasm.content.layer.v1+wasm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<OciPluginSource>,
    /// The plugin's component in a file on the controller's filesystem
    /// (e.g. a mounted volume). WasmIssuers may only use paths under the
    /// directories the controller allows (`--allow-plugin-dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FilePluginSource>,
    /// Pins the component's content: `sha256:<64 hex digits>` of the
    /// component's bytes. Content with another digest is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: Option<String>,
    /// Free-form JSON object handed to the plugin as its configuration; its
    /// meaning is the plugin's.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schemars(schema_with = "schema::free_form_object")]
    pub config: Map<String, Value>,
    /// What one call of the plugin may use. Defaults to 64Mi of memory and 2s.
    #[serde(default)]
    pub limits: PluginLimits,
}

/// A plugin stored in a ConfigMap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigMapPluginSource {
    /// The ConfigMap's name.
    pub name: String,
    /// The `binaryData` key that holds the component, e.g. `plugin.wasm`.
    pub key: String,
}

/// A plugin in an OCI registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OciPluginSource {
    /// `registry/repository:tag` or `registry/repository@sha256:...`. A tag
    /// is resolved to a digest, which the status records, and checked again
    /// every `pollInterval`.
    pub reference: String,
    /// A `kubernetes.io/dockerconfigjson` Secret with the registry's
    /// credentials, in the issuer's namespace (the cluster resource
    /// namespace for a WasmClusterIssuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,
    /// Talk plain HTTP to the registry (a registry on loopback, in tests).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// How often a tag is checked for a new digest, as a Go duration.
    /// Defaults to 5m.
    #[serde(default = "default_poll_interval")]
    pub poll_interval: String,
}

/// A plugin in a file the controller can read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FilePluginSource {
    /// The component's absolute path. Changes are picked up within a second,
    /// including the symlink swap of a mounted ConfigMap.
    pub path: String,
}

/// Resource limits of one plugin call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PluginLimits {
    /// Linear memory the plugin may grow to, as a Kubernetes quantity
    /// (`64Mi`, `1Gi`, `500M`). Defaults to 64Mi.
    #[serde(default = "default_memory")]
    pub memory: String,
    /// Wall-clock time one call may take, as a Go duration (`2s`, `500ms`).
    /// Defaults to 2s.
    #[serde(default = "default_timeout")]
    pub timeout: String,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory: default_memory(),
            timeout: default_timeout(),
        }
    }
}

/// One policy plugin of the issuer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PolicySpec {
    /// The policy's name, unique in the issuer: messages and status name it.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// The policy's component, configuration and limits, as for the signer.
    /// Policies get no keys.
    pub plugin: PluginSpec,
}

/// A key the plugin may open by `name`, and the Secret that holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyGrant {
    /// The name the plugin opens the key by (e.g. `ca`).
    pub name: String,
    /// The `kubernetes.io/tls` Secret holding the key pair.
    pub secret_name: String,
}

fn default_check_interval() -> String {
    DEFAULT_CHECK_INTERVAL.to_owned()
}

fn default_poll_interval() -> String {
    DEFAULT_POLL_INTERVAL.to_owned()
}

fn default_memory() -> String {
    DEFAULT_MEMORY.to_owned()
}

fn default_timeout() -> String {
    DEFAULT_TIMEOUT.to_owned()
}
