//! What a plugin call costs, against doing the same work natively.
//!
//! `cargo bench -p wasm-issuer-runtime --bench plugin_calls` (after
//! `cargo xtask plugins`). Results and ratios go to docs/benchmarks.md.
//!
//! - native_issue: sign a P-256 CSR in the host with rcgen (the pki crate):
//!   "(a) bare".
//! - native_issue_and_check: the same plus the host's check of the result,
//!   exactly as a plugin's result is checked (same chain, same CA, so it
//!   includes verifying the leaf's signature with the CA's key): "(a) with
//!   the same checks", the honest baseline for the plugin path.
//! - ca_plugin_sign: the same request through the `ca` plugin: a fresh
//!   instance, the plugin building the template, the host's key handle and
//!   certificate builder signing, the host checking the result.
//! - noop_call: instantiate the `noop` fixture and call its `check`.
//! - compile / deserialize: per reference plugin, a cold compile and a load
//!   from a serialized artifact.
//!
//! Neither signing path parses the CSR per call: a `PluginRequest` carries it
//! parsed.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{RequestBuilder, ca_sandbox, fixture, runtime, signer};
use criterion::{Criterion, criterion_group, criterion_main};
use wasm_issuer_pki::{
    CertificateTemplate, Expected, GrantedKey, SubjectTemplate, check_issued, issue,
};
use wasm_issuer_runtime::{IssuerInfo, Runtime, RuntimeOptions};
use wasm_issuer_test_support::{CsrSpec, KeyForm, KeyKind, Workdir, now, plugin};
use wasmtime::component::Component;

fn signing(c: &mut Criterion) {
    let work = Workdir::new();
    let ca = work.ca("ca", "/CN=Test CA", KeyKind::EcP256, KeyForm::Pkcs8, 365);
    let csr = work.csr(
        "leaf",
        &CsrSpec::server(KeyKind::EcP256, "bench.example.com"),
    );
    let request = RequestBuilder::from_csr_file(&csr)
        .duration(Duration::from_secs(24 * 3600))
        .build();
    let key = GrantedKey::from_dir(&ca.dir).expect("CA");
    let runtime = runtime();
    let ca_plugin = signer(&runtime, "ca");
    let sandbox = ca_sandbox(&ca);
    // What the plugin returns for this CA (the leaf alone, and the CA), so
    // that the native path's result gets the very same check.
    let returned = ca_plugin.sign(&sandbox, &request).expect("signs");
    assert_eq!(returned.chain.len(), 1, "a leaf without intermediates");
    let ca_der = returned.ca.expect("the plugin names the CA");
    let template = || CertificateTemplate {
        subject: SubjectTemplate::Der(request.csr.subject.der.clone()),
        sans: request.csr.sans.clone(),
        public_key: request.csr.public_key.spki_der.clone(),
        not_before: now(),
        not_after: now() + 24 * 3600,
        is_ca: false,
        path_length: None,
        usages: request.usages.clone(),
        extensions: Vec::new(),
    };

    let mut group = c.benchmark_group("sign_p256");
    group.bench_function("native_issue", |b| {
        b.iter(|| black_box(issue(&template(), &key).expect("issues")))
    });
    group.bench_function("native_issue_and_check", |b| {
        b.iter(|| {
            let leaf = issue(&template(), &key).expect("issues");
            black_box(
                check_issued(
                    &request.csr,
                    &Expected { is_ca: false },
                    &[leaf],
                    Some(&ca_der),
                    now(),
                )
                .expect("valid"),
            )
        })
    });
    group.bench_function("ca_plugin_sign", |b| {
        b.iter(|| black_box(ca_plugin.sign(&sandbox, &request).expect("signs")))
    });
    group.finish();

    let issuer = IssuerInfo {
        name: "bench".into(),
        kind: "WasmIssuer".into(),
        namespace: "bench".into(),
        config: "{}".into(),
    };
    let empty = wasm_issuer_runtime::Sandbox::default();
    let on_demand = Runtime::new(&RuntimeOptions {
        pooling: false,
        ..RuntimeOptions::default()
    })
    .expect("an on-demand runtime");
    let mut group = c.benchmark_group("noop_call");
    for (allocator, runtime) in [("pooling", &runtime), ("on_demand", &on_demand)] {
        let noop = fixture(runtime, "noop");
        group.bench_function(format!("instantiate_and_check/{allocator}"), |b| {
            b.iter(|| noop.check(&empty, &issuer).expect("noop check"))
        });
    }
    group.finish();
}

fn loading(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    for name in ["ca", "allow-domains"] {
        let wasm = std::fs::read(plugin(name)).expect("plugin");
        group.bench_function(format!("{name}/compile"), |b| {
            b.iter(|| black_box(Component::new(runtime.engine(), &wasm).expect("compiles")))
        });
        let serialized = Component::new(runtime.engine(), &wasm)
            .and_then(|component| component.serialize())
            .expect("serializes");
        group.bench_function(format!("{name}/deserialize"), |b| {
            // SAFETY: the bytes were produced just above by this engine.
            b.iter(|| {
                black_box(
                    unsafe { Component::deserialize(runtime.engine(), &serialized) }
                        .expect("loads"),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, signing, loading);
criterion_main!(benches);
