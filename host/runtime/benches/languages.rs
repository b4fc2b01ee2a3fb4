//! Policies in Rust, Python and JavaScript: what each costs per request, to
//! load, and in memory (issue 6).
//!
//! `cargo bench -p wasm-issuer-runtime --bench languages` (after
//! `cargo xtask plugins`). Results and ratios go to docs/benchmarks.md.
//!
//! The twins implement the same policy: `requester-policy` in Rust and
//! Python, `allow-domains` in Rust and JavaScript. Each gets the same
//! request (a P-256 CSR for api.example.com, which its configuration allows,
//! so that every rule runs).
//!
//! - `policy_call/<plugin>`: a fresh instance and `evaluate` (what every
//!   request costs once the plugin is loaded).
//! - `load/<plugin>/compile` and `load/<plugin>/deserialize`: a cold compile,
//!   and a load from a serialized artifact (what a restart with the compile
//!   cache costs).
//! - Memory, printed before the criterion runs: the growth of the resident
//!   set of a fresh process (this bench, run again for one plugin) after it
//!   compiles the plugin, or deserializes it, then after one call and after
//!   `CALLS` more.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::process::Command;

use common::RequestBuilder;
use criterion::{Criterion, criterion_group};
use wasm_issuer_runtime::{
    CompiledComponent, Digest, PluginRequest, PolicyPlugin, Runtime, Sandbox,
};
use wasm_issuer_test_support::{CsrSpec, KeyKind, Workdir, plugin};

/// A policy plugin and the configuration under which it allows the request.
struct Subject {
    plugin: &'static str,
    config: &'static str,
}

const REQUESTER_CONFIG: &str = r#"{"rules": [{"users": ["alice"], "groups": ["web-team"],
    "serviceAccounts": ["team/builder"], "dnsNames": ["api.example.com", "*.apps.example.com"]}]}"#;
const DOMAINS_CONFIG: &str = r#"{"allowedDomains": ["example.com"], "maxDuration": "24h"}"#;

const SUBJECTS: [Subject; 4] = [
    Subject {
        plugin: "requester-policy",
        config: REQUESTER_CONFIG,
    },
    Subject {
        plugin: "requester-policy-python",
        config: REQUESTER_CONFIG,
    },
    Subject {
        plugin: "allow-domains",
        config: DOMAINS_CONFIG,
    },
    Subject {
        plugin: "allow-domains-javascript",
        config: DOMAINS_CONFIG,
    },
];

/// Calls after the first one in the memory measurement.
const CALLS: usize = 100;

/// Set (to a plugin name) in the child process that measures memory.
const MEMORY_CHILD: &str = "LANGUAGES_BENCH_MEMORY_OF";
/// Set (to "deserialize") when the child loads a serialized artifact.
const MEMORY_LOAD: &str = "LANGUAGES_BENCH_MEMORY_LOAD";

fn request(work: &Workdir, subject: &Subject) -> PluginRequest {
    let csr = work.csr(
        "bench",
        &CsrSpec::server(KeyKind::EcP256, "api.example.com"),
    );
    let mut request = RequestBuilder::from_csr_file(&csr)
        .duration(std::time::Duration::from_secs(3600))
        .config(subject.config)
        .build();
    request.requester.username = "alice".into();
    request
}

fn compile(runtime: &Runtime, name: &str) -> CompiledComponent {
    let wasm = std::fs::read(plugin(name)).expect("read the plugin");
    runtime.compile(&wasm).expect("the plugin compiles")
}

fn allowing_policy(runtime: &Runtime, compiled: &CompiledComponent) -> PolicyPlugin {
    runtime.policy(compiled).expect("a policy")
}

fn evaluate(policy: &PolicyPlugin, sandbox: &Sandbox, request: &PluginRequest) {
    let decision = policy
        .evaluate(sandbox, request)
        .expect("the call succeeds");
    assert_eq!(
        decision,
        wasm_issuer_runtime::Decision::Allow,
        "the bench request is allowed"
    );
}

fn calls(c: &mut Criterion) {
    let work = Workdir::new();
    let runtime = common::runtime();
    let sandbox = Sandbox::default();
    let mut group = c.benchmark_group("policy_call");
    for subject in &SUBJECTS {
        let request = request(&work, subject);
        let policy = allowing_policy(&runtime, &compile(&runtime, subject.plugin));
        group.bench_function(subject.plugin, |b| {
            b.iter(|| evaluate(&policy, &sandbox, &request))
        });
    }
    group.finish();
}

fn loading(c: &mut Criterion) {
    let runtime = common::runtime();
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    for subject in &SUBJECTS {
        let wasm = std::fs::read(plugin(subject.plugin)).expect("plugin");
        group.bench_function(format!("{}/compile", subject.plugin), |b| {
            b.iter(|| black_box(runtime.compile(&wasm).expect("compiles")))
        });
        let compiled = runtime.compile(&wasm).expect("compiles");
        let serialized = runtime.serialize(&compiled).expect("serializes");
        group.bench_function(format!("{}/deserialize", subject.plugin), |b| {
            // SAFETY: the bytes were produced just above by this runtime.
            b.iter(|| {
                black_box(
                    unsafe { runtime.deserialize(*compiled.digest(), &serialized) }.expect("loads"),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, calls, loading);

fn main() {
    if let Some(name) = std::env::var_os(MEMORY_CHILD) {
        let name = name.to_str().expect("a plugin name");
        let deserialize = std::env::var_os(MEMORY_LOAD).is_some();
        memory::measure(name, deserialize);
        return;
    }
    memory::report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// The resident-set growth that loading and calling each plugin causes,
/// each measured in a fresh process so that plugins do not share pages.
mod memory {
    use super::*;

    /// Runs this bench again per plugin and load path, and prints a table.
    pub fn report() {
        println!("memory: resident-set growth of a fresh process, MiB");
        println!(
            "| plugin | load | after load | after 1 call | after {} more calls |",
            CALLS
        );
        println!("| --- | --- | --- | --- | --- |");
        let this = std::env::current_exe().expect("this bench's path");
        for subject in &SUBJECTS {
            for load in ["compile", "deserialize"] {
                let mut child = Command::new(&this);
                child.env(MEMORY_CHILD, subject.plugin);
                if load == "deserialize" {
                    child.env(MEMORY_LOAD, "1");
                }
                let output = child.output().expect("run the memory child");
                assert!(
                    output.status.success(),
                    "memory child for {}: {}",
                    subject.plugin,
                    String::from_utf8_lossy(&output.stderr)
                );
                let line = String::from_utf8_lossy(&output.stdout);
                println!("| {} | {load} | {} |", subject.plugin, line.trim());
            }
        }
    }

    /// In the child: the growth after loading `name`, after one call and
    /// after `CALLS` more, as "a | b | c" (MiB).
    pub fn measure(name: &str, deserialize: bool) {
        let subject = SUBJECTS
            .iter()
            .find(|subject| subject.plugin == name)
            .expect("a known plugin");
        let work = Workdir::new();
        let request = request(&work, subject);
        let runtime = common::runtime();
        let sandbox = Sandbox::default();
        let artifact = deserialize.then(|| artifact(&work, name));
        let before = resident();
        let compiled = match &artifact {
            Some(path) => {
                let bytes = std::fs::read(path).expect("read the artifact");
                let digest = Digest::of(&std::fs::read(plugin(name)).expect("read the plugin"));
                // SAFETY: this program serialized the bytes (`artifact`).
                unsafe { runtime.deserialize(digest, &bytes) }.expect("loads")
            }
            None => compile(&runtime, name),
        };
        let policy = allowing_policy(&runtime, &compiled);
        let loaded = resident();
        evaluate(&policy, &sandbox, &request);
        let first = resident();
        for _ in 0..CALLS {
            evaluate(&policy, &sandbox, &request);
        }
        let many = resident();
        let mib = |bytes: u64| {
            format!(
                "{:.1}",
                bytes.saturating_sub(before) as f64 / f64::from(1 << 20)
            )
        };
        println!("{} | {} | {}", mib(loaded), mib(first), mib(many));
    }

    /// The serialized artifact of `name`, made in a throwaway runtime and
    /// written to a file, as the compile cache keeps it across restarts.
    fn artifact(work: &Workdir, name: &str) -> std::path::PathBuf {
        let maker = common::runtime();
        let bytes = maker.serialize(&compile(&maker, name)).expect("serializes");
        work.write("artifact.cwasm", bytes)
    }

    /// This process's resident set (VmRSS), bytes.
    fn resident() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("Linux's /proc");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect("VmRSS in /proc/self/status")
    }
}
