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
    #[error("the {controller} controller stopped: {message}")]
    Stopped {
        controller: &'static str,
        message: String,
    },
}
