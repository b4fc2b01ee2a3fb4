//! The controller's memory with 100 WasmIssuers on a real control plane:
//! all sharing one plugin (100 ConfigMaps with the same `ca` component, one
//! digest) vs each with a plugin of its own (the same component with a
//! distinct custom section appended: 100 digests, 100 compiled plugins).
//! Each case gets a fresh `wasm-issuer controller` process (child process,
//! empty compile cache); every issuer then signs one certificate, so every
//! plugin has been instantiated. Prints the time until all issuers are
//! Ready, the resident memory then and after issuing, and the peak. Not a
//! test: `cargo bench -p wasm-issuer --bench memory`.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use wasm_encoder::{ComponentSection, CustomSection};
use wasm_issuer_controller::api::{CertificateRequest, ConditionStatus, WasmIssuer};
use wasm_issuer_runtime::Digest;
use wasm_issuer_test_support::{Workdir, plugin};
use wasm_issuer_testenv::{ControlPlane, unique_namespace};

use common::{
    Controller, GROUP, WASM_ISSUER, approve, ca, ca_secret, certificate_request, csr, plugin_bytes,
    plugin_config_map, verified_chain, wait_requests_ready, wasm_issuer,
};

const ISSUERS: usize = 100;
/// API calls in flight when creating objects.
const IN_FLIGHT: usize = 16;
/// How long the controller idles before its memory is read.
const SETTLE: Duration = Duration::from_secs(5);
const TIMEOUT: Duration = Duration::from_secs(600);

/// One case's figures; memory in KiB.
struct Measured {
    /// Before any issuer exists: informers synced, nothing loaded.
    idle: u64,
    /// From creating the first issuer until all are Ready on their digest.
    ready_after: Duration,
    /// Right after all are Ready.
    at_ready: u64,
    /// After each issuer signed one certificate, and SETTLE of idling.
    steady: u64,
    /// The process's peak (VmHWM).
    peak: u64,
}

fn main() -> anyhow::Result<()> {
    if common::skipped("memory") {
        return Ok(());
    }
    tokio::runtime::Runtime::new()?.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let workdir = Workdir::new();
    let ca_plugin = plugin_bytes(&plugin("ca"))?;
    let distinct: Vec<Vec<u8>> = (0..ISSUERS)
        .map(|n| with_custom_section(&ca_plugin, n))
        .collect();
    let digests: BTreeSet<String> = distinct
        .iter()
        .map(|wasm| Digest::of(wasm).to_string())
        .collect();
    ensure!(
        digests.len() == ISSUERS,
        "the variants' digests are not distinct"
    );
    let inspected = inspect(&workdir, &distinct[0])?;
    ensure!(
        inspected.contains(&format!("digest:  {}", Digest::of(&distinct[0]))),
        "`wasm-issuer inspect` of a variant:\n{inspected}"
    );

    let (control_plane, client) = common::control_plane().await?;
    let load_before = common::load_average()?;
    let shared = measure(&control_plane, &client, &workdir, "shared", |_| {
        ca_plugin.clone()
    })
    .await?;
    let distinct = measure(&control_plane, &client, &workdir, "distinct", |n| {
        distinct[n].clone()
    })
    .await?;
    let load_after = common::load_average()?;

    println!(
        "controller memory with {ISSUERS} WasmIssuers, each signing one certificate ({} B `ca` component)",
        ca_plugin.len()
    );
    println!("load average before: {load_before}; after: {load_after}");
    println!(
        "| plugins | idle RSS | all Ready after | RSS when all Ready | steady RSS after issuing | peak RSS (VmHWM) |"
    );
    println!("|---|---|---|---|---|---|");
    for (what, measured) in [
        ("one shared (1 digest)", &shared),
        ("distinct (100 digests)", &distinct),
    ] {
        println!(
            "| {what} | {} | {:.2} s | {} | {} | {} |",
            mib(measured.idle),
            measured.ready_after.as_secs_f64(),
            mib(measured.at_ready),
            mib(measured.steady),
            mib(measured.peak)
        );
    }
    let per_plugin = |distinct: u64, shared: u64| {
        (distinct as f64 - shared as f64) / (ISSUERS - 1) as f64 / 1024.0
    };
    println!(
        "per additional plugin ((distinct - shared) / {}): {:.2} MiB steady, {:.2} MiB at Ready, {:.2} MiB peak",
        ISSUERS - 1,
        per_plugin(distinct.steady, shared.steady),
        per_plugin(distinct.at_ready, shared.at_ready),
        per_plugin(distinct.peak, shared.peak)
    );
    Ok(())
}

/// `wasm` with a custom section `wasm-issuer-bench` holding `n` appended: a
/// component that behaves the same under another digest. A component may
/// end with a custom section.
fn with_custom_section(wasm: &[u8], n: usize) -> Vec<u8> {
    let mut variant = wasm.to_vec();
    CustomSection {
        name: "wasm-issuer-bench".into(),
        data: format!("variant {n}").into_bytes().into(),
    }
    .append_to_component(&mut variant);
    variant
}

/// What `wasm-issuer inspect` says about `wasm`.
fn inspect(workdir: &Workdir, wasm: &[u8]) -> anyhow::Result<String> {
    let path = workdir.write("variant.wasm", wasm);
    let output = Command::new(env!("CARGO_BIN_EXE_wasm-issuer"))
        .arg("inspect")
        .arg(&path)
        .output()
        .context("running wasm-issuer inspect")?;
    ensure!(
        output.status.success(),
        "wasm-issuer inspect {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// One case in a namespace of its own: ConfigMap `plugin-<n>` holds
/// `plugin_of(n)` for issuer `issuer-<n>`. Deletes what it created afterwards,
/// so that the next case's controller does not see it.
async fn measure(
    control_plane: &ControlPlane,
    client: &kube::Client,
    workdir: &Workdir,
    case: &str,
    plugin_of: impl Fn(usize) -> Vec<u8>,
) -> anyhow::Result<Measured> {
    let namespace = unique_namespace(client, &format!("bench-{case}")).await?;
    let (ca_cert, ca_key) = ca();
    ca_secret(client, &namespace, &ca_cert, &ca_key).await?;
    let ca = workdir.write(&format!("{case}-ca.crt"), &ca_cert);
    let digests: Vec<String> = (0..ISSUERS)
        .map(|n| Digest::of(&plugin_of(n)).to_string())
        .collect();
    stream::iter(0..ISSUERS)
        .map(|n| {
            let (namespace, wasm) = (&namespace, plugin_of(n));
            async move { plugin_config_map(client, namespace, &format!("plugin-{n}"), wasm).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await?;

    let controller =
        Controller::start_with_fresh_cache(control_plane, &format!("wasm-issuer-{case}"))?;
    tokio::time::sleep(SETTLE).await;
    let idle = controller.resident_kib()?;

    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    let start = Instant::now();
    stream::iter(0..ISSUERS)
        .map(|n| {
            let issuers = issuers.clone();
            async move {
                let issuer: WasmIssuer = serde_json::from_value(wasm_issuer(
                    &format!("issuer-{n}"),
                    &format!("plugin-{n}"),
                ))?;
                issuers.create(&PostParams::default(), &issuer).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    wait_serving(&issuers, &digests).await?;
    let ready_after = start.elapsed();
    let at_ready = controller.resident_kib()?;

    let requests = Api::<CertificateRequest>::namespaced(client.clone(), &namespace);
    stream::iter(0..ISSUERS)
        .map(|n| {
            let requests = requests.clone();
            async move {
                let name = format!("app-{n}");
                let csr = csr(&format!("{name}.example.com"))?;
                let request =
                    certificate_request(&name, csr, GROUP, WASM_ISSUER, &format!("issuer-{n}"))?;
                requests.create(&PostParams::default(), &request).await?;
                approve(&requests, name).await
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    let issued =
        wait_requests_ready(&requests, &ListParams::default(), ISSUERS, case, TIMEOUT).await?;
    for request in &issued {
        verified_chain(workdir, &ca, request)?;
    }
    tokio::time::sleep(SETTLE).await;
    let steady = controller.resident_kib()?;
    let peak = controller.peak_kib()?;
    drop(controller);

    let everything = ListParams::default();
    issuers
        .delete_collection(&DeleteParams::default(), &everything)
        .await?;
    requests
        .delete_collection(&DeleteParams::default(), &everything)
        .await?;
    let config_maps = Api::<ConfigMap>::namespaced(client.clone(), &namespace);
    stream::iter(0..ISSUERS)
        .map(|n| {
            let config_maps = config_maps.clone();
            async move {
                config_maps
                    .delete(&format!("plugin-{n}"), &DeleteParams::default())
                    .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    Ok(Measured {
        idle,
        ready_after,
        at_ready,
        steady,
        peak,
    })
}

/// Waits until every `issuer-<n>` is Ready on `digests[n]`; fails at once
/// if one has failed.
async fn wait_serving(issuers: &Api<WasmIssuer>, digests: &[String]) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let mut serving = 0;
        for issuer in issuers.list(&ListParams::default()).await?.items {
            let name = issuer.metadata.name.as_deref().unwrap_or_default();
            let n: usize = name
                .strip_prefix("issuer-")
                .and_then(|n| n.parse().ok())
                .with_context(|| format!("an issuer the bench did not make: {name}"))?;
            let Some(status) = issuer.status.as_ref() else {
                continue;
            };
            let Some(ready) = status.ready_condition() else {
                continue;
            };
            if ready.status == ConditionStatus::True
                && status.plugin_digest.as_deref() == Some(digests[n].as_str())
            {
                serving += 1;
            } else if ready.reason == "Failed" {
                bail!("{name} failed: {}", ready.message);
            }
        }
        if serving == digests.len() {
            return Ok(());
        }
        if start.elapsed() > TIMEOUT {
            bail!(
                "{serving} of {} issuers Ready after {TIMEOUT:?}",
                digests.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
