//! How the controller runs: what the binary's flags set.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::leader::Election;

/// The field manager of every status we write, and the reporting
/// controller of our Events.
pub const FIELD_MANAGER: &str = "wasm-issuer";

#[derive(Clone, Debug)]
pub struct Options {
    /// Where the Secrets and ConfigMaps of WasmClusterIssuers live.
    pub cluster_resource_namespace: String,
    /// CertificateRequests reconciled at once (each may run a plugin).
    pub concurrency: u16,
    /// How long a request keeps being retried after a retryable failure,
    /// counted from its first signing attempt; then it fails.
    pub max_retry_duration: Duration,
    /// This replica's name in Events (the pod name in a cluster).
    pub instance: Option<String>,
    /// Where compiled plugins are kept across restarts; None for nowhere.
    pub compile_cache_dir: Option<PathBuf>,
    /// The most the compile cache may hold, in bytes.
    pub compile_cache_max_bytes: u64,
    /// Directories under which WasmIssuers (namespaced) may read plugin
    /// files; WasmClusterIssuers may read any file.
    pub allowed_plugin_dirs: Vec<PathBuf>,
    /// Where `/metrics` is served; None for nowhere.
    pub metrics_address: Option<SocketAddr>,
    /// Where `/healthz` and `/readyz` are served; None for nowhere.
    pub health_address: Option<SocketAddr>,
    /// How replicas elect the one that signs; None: this one always does.
    pub election: Option<Election>,
    /// How long in-flight reconciles may run on after shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            cluster_resource_namespace: "cert-manager".to_owned(),
            concurrency: 8,
            max_retry_duration: Duration::from_secs(300),
            instance: None,
            compile_cache_dir: None,
            compile_cache_max_bytes: 512 << 20,
            allowed_plugin_dirs: Vec::new(),
            metrics_address: None,
            health_address: None,
            election: None,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}
