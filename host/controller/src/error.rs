//! The controller's one error type. Reconcile errors are retried by
//! `error_policy` with backoff; what a user must fix goes on a status
//! condition instead and is not an error here.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("a plugin call did not finish: {0}")]
    PluginTask(#[from] tokio::task::JoinError),
    #[error("cannot start the plugin runtime: {0}")]
    Runtime(#[from] wasm_issuer_runtime::RuntimeError),
    #[error("cannot watch plugin files: {0}")]
    FileWatcher(#[from] wasm_issuer_sources::file::FileError),
    #[error("cannot build the kubernetes client: {0}")]
    Client(String),
    #[error("cannot serve on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("leader election: {0}")]
    InvalidElection(String),
    #[error("leader election failed: {0}")]
    LeaderElection(String),
    #[error("another replica took the lease: this one stops signing")]
    LostLeadership,
    #[error("the {controller} controller stopped: {message}")]
    Stopped {
        controller: &'static str,
        message: String,
    },
}
