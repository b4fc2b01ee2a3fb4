//! `wasm-issuer controller`: serve WasmIssuers, WasmClusterIssuers and the
//! CertificateRequests and Kubernetes CSRs that refer to them, until SIGINT
//! or SIGTERM (then finish what is in flight, give up the lease, exit 0).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use wasm_issuer_controller::{Election, Options, RateLimit};
use wasm_issuer_runtime::Limits;

use crate::failure::{Class, Classify, Failure};
use crate::logging::LogFormat;

#[derive(clap::Args)]
pub struct Args {
    /// The kubeconfig to use; default: $KUBECONFIG, ~/.kube/config, or the
    /// in-cluster service account.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// The namespace holding the Secrets and ConfigMaps of WasmClusterIssuers.
    #[arg(long, default_value = "cert-manager")]
    pub cluster_resource_namespace: String,
    /// CertificateRequests reconciled in parallel.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Average Kubernetes API requests per second, when the API server does
    /// no flow control of its own (API Priority and Fairness).
    #[arg(long, default_value_t = 50.0)]
    pub kube_api_qps: f32,
    /// Kubernetes API requests allowed at once above the average.
    #[arg(long, default_value_t = 100)]
    pub kube_api_burst: u32,
    /// How long a request is retried after retryable failures, counted from
    /// its first signing attempt, before it fails.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub max_retry_duration: Duration,
    /// Where compiled plugins are kept, so that a restart loads them in
    /// milliseconds instead of compiling again (default: a directory under
    /// the system's temporary directory; mount a volume there in a pod).
    #[arg(long)]
    pub compile_cache_dir: Option<PathBuf>,
    /// Do not keep compiled plugins on disk.
    #[arg(long, conflicts_with = "compile_cache_dir")]
    pub no_compile_cache: bool,
    /// The most the compile cache may hold, as a quantity (e.g. 512Mi).
    #[arg(long, default_value = "512Mi", value_parser = Limits::parse_memory)]
    pub compile_cache_max_size: usize,
    /// A directory under which WasmIssuers may read plugin files
    /// (`spec.plugin.file`); repeat for more. WasmClusterIssuers may read any file.
    #[arg(long = "allow-plugin-dir")]
    pub allowed_plugin_dirs: Vec<PathBuf>,
    /// Log lines as text or JSON.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Where to serve Prometheus metrics (`/metrics`), or `off`.
    #[arg(long, default_value = "0.0.0.0:9402", value_parser = address_or_off)]
    pub metrics_address: ListenAddress,
    /// Where to serve `/healthz` and `/readyz`, or `off`.
    #[arg(long, default_value = "0.0.0.0:9403", value_parser = address_or_off)]
    pub health_address: ListenAddress,
    /// Elect one signing replica with a Lease; `--leader-elect=false` when
    /// only one ever runs.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// The Lease's namespace (default: the cluster resource namespace).
    #[arg(long)]
    pub leader_election_namespace: Option<String>,
    /// The Lease's name.
    #[arg(long, default_value = "wasm-issuer")]
    pub leader_election_lease_name: String,
    /// How long a leader that stopped renewing keeps the lease (whole seconds).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub leader_election_lease_duration: Duration,
    /// How long before the lease runs out the leader renews it (whole seconds).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub leader_election_renew_before: Duration,
    /// How long reconciles in flight may finish after SIGTERM.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

/// An address to serve on, or none (`off`).
#[derive(Clone, Copy, Debug)]
pub struct ListenAddress(pub Option<SocketAddr>);

fn address_or_off(text: &str) -> Result<ListenAddress, String> {
    if text == "off" {
        return Ok(ListenAddress(None));
    }
    text.parse()
        .map(|address| ListenAddress(Some(address)))
        .map_err(|error| format!("{text:?} is neither host:port nor off: {error}"))
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let runtime = tokio::runtime::Runtime::new()
        .context("starting the async runtime")
        .class(Class::Internal)?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: Args) -> Result<(), Failure> {
    let config = kube_config(args.kubeconfig.as_ref())
        .await
        .class(Class::Cluster)?;
    let limit = RateLimit {
        qps: args.kube_api_qps,
        burst: args.kube_api_burst,
    };
    let client = wasm_issuer_controller::client(config, limit)
        .await
        .class(Class::Input)?;
    let instance = std::env::var("POD_NAME").ok();
    let election = if args.leader_elect {
        let identity = instance.clone().unwrap_or_else(local_identity);
        let election = Election::new(
            args.leader_election_lease_name,
            args.leader_election_namespace
                .unwrap_or_else(|| args.cluster_resource_namespace.clone()),
            identity,
            args.leader_election_lease_duration,
            args.leader_election_renew_before,
        )
        .class(Class::Input)?;
        Some(election)
    } else {
        None
    };
    let options = Options {
        cluster_resource_namespace: args.cluster_resource_namespace,
        concurrency: args.concurrency,
        max_retry_duration: args.max_retry_duration,
        instance,
        compile_cache_dir: (!args.no_compile_cache).then(|| {
            args.compile_cache_dir
                .unwrap_or_else(|| std::env::temp_dir().join("wasm-issuer").join("compiled"))
        }),
        compile_cache_max_bytes: u64::try_from(args.compile_cache_max_size).unwrap_or(u64::MAX),
        allowed_plugin_dirs: args.allowed_plugin_dirs,
        metrics_address: args.metrics_address.0,
        health_address: args.health_address.0,
        election,
        shutdown_grace: args.shutdown_grace,
    };
    wasm_issuer_controller::run(client, options, shutdown_signal())
        .await
        .class(Class::Cluster)
}

/// Outside a pod: the host and process, unique among replicas on one machine.
fn local_identity() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "wasm-issuer".to_owned());
    format!("{host}-{}", std::process::id())
}

async fn kube_config(path: Option<&PathBuf>) -> anyhow::Result<kube::Config> {
    let Some(path) = path else {
        return kube::Config::infer()
            .await
            .context("no kubeconfig and not in a cluster");
    };
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .with_context(|| format!("kubeconfig {}", path.display()))
}

/// Completes on SIGINT or SIGTERM (what Kubernetes sends to stop a pod).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(terminate) => terminate,
                Err(error) => {
                    tracing::warn!("cannot listen for SIGTERM: {error}");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: finishing the reconciles in progress");
}
