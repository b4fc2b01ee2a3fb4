//! What `sign` and `policy` share: the plugin, the request built from flags,
//! and the same limits production uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use wasm_issuer_pki::{ParsedCsr, Usage};
use wasm_issuer_runtime::{
    CompiledComponent, IssuerInfo, Limits, PluginRequest, Requester, Runtime, RuntimeOptions,
};

use crate::failure::{Class, Classify, Failure};

/// cert-manager's default lifetime when a request names none.
const DEFAULT_DURATION: &str = "2160h";

/// The request and the plugin to run it through.
#[derive(clap::Args)]
pub struct RequestArgs {
    /// The plugin component (.wasm).
    #[arg(long)]
    pub plugin: PathBuf,
    /// The PKCS#10 request, PEM.
    #[arg(long)]
    pub csr: PathBuf,
    /// The plugin's configuration: a file holding a JSON object.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Requested lifetime, e.g. 24h or 2h30m.
    #[arg(long, default_value = DEFAULT_DURATION, value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Ask for a CA certificate.
    #[arg(long)]
    pub is_ca: bool,
    /// A cert-manager usage, e.g. "server auth"; repeat for more
    /// (default: "digital signature" and "key encipherment").
    #[arg(long = "usage")]
    pub usages: Vec<String>,
    /// Memory limit of the plugin, a Kubernetes quantity.
    #[arg(long, default_value = "64Mi", value_parser = Limits::parse_memory)]
    pub memory: usize,
    /// Time limit of one plugin call.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Who asks, as the API server records it on a request (e.g. alice or
    /// system:serviceaccount:team:builder); policies may decide by it.
    #[arg(long, default_value = "")]
    pub username: String,
    /// A group of the requester (e.g. system:authenticated); repeat for more.
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// The request's namespace, as a namespaced request would have it.
    #[arg(long, default_value = "")]
    pub namespace: String,
}

impl RequestArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            memory_bytes: self.memory,
            timeout: self.timeout,
            ..Limits::default()
        }
    }

    /// Reads, parses and verifies the CSR and builds the contract's request.
    pub fn request(&self) -> Result<PluginRequest, Failure> {
        let pem = read(&self.csr)?;
        let csr = ParsedCsr::from_pem(&pem)
            .with_context(|| format!("CSR {}", self.csr.display()))
            .class(Class::Call(wasm_issuer_runtime::ErrorClass::InvalidRequest))?;
        Ok(PluginRequest {
            csr,
            duration: self.duration,
            is_ca: self.is_ca,
            usages: self.usages()?,
            requester: Requester {
                username: self.username.clone(),
                groups: self.groups.clone(),
                ..Requester::default()
            },
            annotations: BTreeMap::new(),
            namespace: self.namespace.clone(),
            name: "local".into(),
            issuer: IssuerInfo {
                name: "local".into(),
                kind: "WasmClusterIssuer".into(),
                namespace: String::new(),
                config: self.config()?,
            },
        })
    }

    fn usages(&self) -> Result<Vec<Usage>, Failure> {
        Usage::from_cert_manager_list(&self.usages)
            .map_err(|name| Failure::new(Class::Input, anyhow::anyhow!("unknown usage {name:?}")))
    }

    fn config(&self) -> Result<String, Failure> {
        let Some(path) = &self.config else {
            return Ok("{}".into());
        };
        let text = String::from_utf8(read(path)?)
            .with_context(|| format!("config {} is not UTF-8", path.display()))
            .class(Class::Input)?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(_)) => Ok(text),
            Ok(_) => Err(Failure::new(
                Class::Input,
                anyhow::anyhow!("config {} must be a JSON object", path.display()),
            )),
            Err(error) => Err(Failure::new(
                Class::Input,
                anyhow::anyhow!("config {} is not JSON: {error}", path.display()),
            )),
        }
    }

    /// Starts a runtime and compiles the plugin.
    pub fn load_plugin(&self) -> Result<(Runtime, CompiledComponent), Failure> {
        let runtime = Runtime::new(&RuntimeOptions::default()).class(Class::Plugin)?;
        let wasm = read(&self.plugin)?;
        let component = runtime
            .compile(&wasm)
            .with_context(|| format!("plugin {}", self.plugin.display()))
            .class(Class::Plugin)?;
        Ok((runtime, component))
    }
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .with_context(|| format!("cannot read {}", path.display()))
        .class(Class::Input)
}
