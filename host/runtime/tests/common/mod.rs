//! Builders shared by the runtime's tests: a runtime, plugins loaded from the
//! built components, requests from openssl-made CSRs, and CA grants.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wasm_issuer_pki::{GrantedKey, ParsedCsr, Usage};
use wasm_issuer_runtime::{
    Grants, IssuerInfo, Limits, PluginRequest, PolicyPlugin, Requester, Runtime, RuntimeOptions,
    Sandbox, SignerPlugin,
};
use wasm_issuer_test_support::{Ca, plugin, test_plugin};

pub fn runtime() -> Runtime {
    Runtime::new(&RuntimeOptions::default()).expect("the runtime starts")
}

fn compile(runtime: &Runtime, path: &Path) -> wasm_issuer_runtime::CompiledComponent {
    let wasm = std::fs::read(path).expect("read the plugin");
    runtime.compile(&wasm).expect("the plugin compiles")
}

/// A reference signer plugin, e.g. `ca`.
pub fn signer(runtime: &Runtime, name: &str) -> SignerPlugin {
    runtime
        .signer(&compile(runtime, &plugin(name)))
        .expect("a signer")
}

/// A reference policy plugin, e.g. `allow-domains`.
pub fn policy(runtime: &Runtime, name: &str) -> PolicyPlugin {
    runtime
        .policy(&compile(runtime, &plugin(name)))
        .expect("a policy")
}

/// A fixture signer from `tests/plugins/`, e.g. `spin`.
pub fn fixture(runtime: &Runtime, name: &str) -> SignerPlugin {
    runtime
        .signer(&compile(runtime, &test_plugin(name)))
        .expect("a signer fixture")
}

/// A sandbox granting `ca` under the name "ca".
pub fn ca_sandbox(ca: &Ca) -> Sandbox {
    let key = GrantedKey::from_dir(&ca.dir).expect("the CA loads");
    let mut grants = Grants::new();
    grants.grant_key("ca", Arc::new(key));
    Sandbox {
        grants,
        limits: Limits::default(),
    }
}

/// Builds a request the way the controller will, from a CSR file.
pub struct RequestBuilder {
    request: PluginRequest,
}

impl RequestBuilder {
    pub fn from_csr_file(path: &Path) -> Self {
        let pem = std::fs::read(path).expect("read the CSR");
        let csr = ParsedCsr::from_pem(&pem).expect("openssl's CSR parses");
        Self {
            request: PluginRequest {
                csr,
                duration: Duration::from_secs(90 * 24 * 3600),
                is_ca: false,
                usages: vec![Usage::DigitalSignature, Usage::KeyEncipherment],
                requester: Requester::default(),
                annotations: BTreeMap::new(),
                namespace: "tests".into(),
                name: "request".into(),
                issuer: IssuerInfo {
                    name: "test-issuer".into(),
                    kind: "WasmIssuer".into(),
                    namespace: "tests".into(),
                    config: "{}".into(),
                },
            },
        }
    }

    pub fn duration(mut self, duration: Duration) -> Self {
        self.request.duration = duration;
        self
    }

    pub fn with_is_ca(mut self, is_ca: bool) -> Self {
        self.request.is_ca = is_ca;
        self
    }

    pub fn usages(mut self, usages: &[Usage]) -> Self {
        self.request.usages = usages.to_vec();
        self
    }

    pub fn config(mut self, json: &str) -> Self {
        self.request.issuer.config = json.into();
        self
    }

    pub fn build(self) -> PluginRequest {
        self.request
    }
}
