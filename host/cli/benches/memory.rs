//! The controller's memory with 100 WasmIssuers on a real control plane:
//! all sharing one plugin (100 ConfigMaps with the same `ca` component, one
//! digest) vs each with a plugin of its own (the same component with a
//! distinct custom section appended: 100 digests, 100 compiled plugins).
//! Each case is run twice: the 100 issuers created all at once (16 creates
//! in flight, as after `kubectl apply` of many, or as a restarted
//! controller meets them), and one by one (each Ready before the next is
//! created). Each run gets a fresh `wasm-issuer controller` process (child
//! process, empty compile cache); every issuer then signs one certificate,
//! so every plugin has been instantiated. Prints the time until all issuers
//! are Ready, the resident memory then and after issuing, the peak, and how
//! the controller got each plugin (its PluginLoaded Events). Not a test:
//! `cargo bench -p wasm-issuer --bench memory`.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
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
/// How often the issuers' status is read while waiting for them.
const POLL: Duration = Duration::from_millis(50);

/// How the issuers are created.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Creation {
    AllAtOnce,
    OneByOne,
}

impl Creation {
    fn describe(self) -> &'static str {
        match self {
            Self::AllAtOnce => "all at once",
            Self::OneByOne => "one by one",
        }
    }
}

/// One run's figures; memory in KiB.
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
    /// How each issuer's plugin was loaded: compiled, from the compile
    /// cache on disk, already compiled in memory.
    loads: Loads,
}

#[derive(Default)]
struct Loads {
    compiled: usize,
    disk: usize,
    memory: usize,
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
    let mut runs = Vec::new();
    for creation in [Creation::AllAtOnce, Creation::OneByOne] {
        let shared = measure(&control_plane, &client, &workdir, creation, |_| {
            ca_plugin.clone()
        })
        .await?;
        let distinct = measure(&control_plane, &client, &workdir, creation, |n| {
            distinct[n].clone()
        })
        .await?;
        runs.push((creation, shared, distinct));
    }
    let load_after = common::load_average()?;

    println!(
        "controller memory with {ISSUERS} WasmIssuers, each signing one certificate ({} B `ca` component)",
        ca_plugin.len()
    );
    println!("load average before: {load_before}; after: {load_after}");
    println!(
        "| plugins | issuers created | idle RSS | all Ready after | RSS when all Ready | steady RSS after issuing | peak RSS (VmHWM) | plugin loads: compiled / disk cache / in memory |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (creation, shared, distinct) in &runs {
        for (what, measured) in [
            ("one shared (1 digest)", shared),
            ("distinct (100 digests)", distinct),
        ] {
            println!(
                "| {what} | {} | {} | {:.2} s | {} | {} | {} | {} / {} / {} |",
                creation.describe(),
                mib(measured.idle),
                measured.ready_after.as_secs_f64(),
                mib(measured.at_ready),
                mib(measured.steady),
                mib(measured.peak),
                measured.loads.compiled,
                measured.loads.disk,
                measured.loads.memory
            );
        }
    }
    let per_plugin = |distinct: u64, shared: u64| {
        (distinct as f64 - shared as f64) / (ISSUERS - 1) as f64 / 1024.0
    };
    for (creation, shared, distinct) in &runs {
        println!(
            "per additional plugin, created {} ((distinct - shared) / {}): {:.2} MiB steady, {:.2} MiB at Ready, {:.2} MiB peak",
            creation.describe(),
            ISSUERS - 1,
            per_plugin(distinct.steady, shared.steady),
            per_plugin(distinct.at_ready, shared.at_ready),
            per_plugin(distinct.peak, shared.peak)
        );
    }
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

/// One run in a namespace of its own: ConfigMap `plugin-<n>` holds
/// `plugin_of(n)` for issuer `issuer-<n>`. Deletes what it created afterwards,
/// so that the next run's controller does not see it.
async fn measure(
    control_plane: &ControlPlane,
    client: &kube::Client,
    workdir: &Workdir,
    creation: Creation,
    plugin_of: impl Fn(usize) -> Vec<u8>,
) -> anyhow::Result<Measured> {
    let namespace = unique_namespace(client, "bench-memory").await?;
    let (ca_cert, ca_key) = ca();
    ca_secret(client, &namespace, &ca_cert, &ca_key).await?;
    let ca = workdir.write(&format!("{namespace}-ca.crt"), &ca_cert);
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

    let controller = Controller::start_with_fresh_cache(control_plane, &namespace)?;
    tokio::time::sleep(SETTLE).await;
    let idle = controller.resident_kib()?;

    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), &namespace);
    let start = Instant::now();
    match creation {
        Creation::AllAtOnce => {
            stream::iter(0..ISSUERS)
                .map(|n| create_issuer(&issuers, n))
                .buffer_unordered(IN_FLIGHT)
                .try_collect::<()>()
                .await?;
            wait_serving(&issuers, &digests).await?;
        }
        Creation::OneByOne => {
            for n in 0..ISSUERS {
                create_issuer(&issuers, n).await?;
                wait_serving(&issuers, &digests[..=n]).await?;
            }
        }
    }
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
    let issued = wait_requests_ready(
        &requests,
        &ListParams::default(),
        ISSUERS,
        &namespace,
        TIMEOUT,
    )
    .await?;
    for request in &issued {
        verified_chain(workdir, &ca, request)?;
    }
    tokio::time::sleep(SETTLE).await;
    let steady = controller.resident_kib()?;
    let peak = controller.peak_kib()?;
    drop(controller);
    let loads = plugin_loads(client, &namespace).await?;

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
        loads,
    })
}

/// Creates `issuer-<n>` on ConfigMap `plugin-<n>`.
async fn create_issuer(issuers: &Api<WasmIssuer>, n: usize) -> anyhow::Result<()> {
    let issuer: WasmIssuer =
        serde_json::from_value(wasm_issuer(&format!("issuer-{n}"), &format!("plugin-{n}")))?;
    issuers.create(&PostParams::default(), &issuer).await?;
    Ok(())
}

/// How the issuers of `namespace` got their plugins, from the controller's
/// PluginLoaded Events ("...; compiled in N ms", "...; loaded from the
/// compile cache in N ms", "...; already compiled in this process").
async fn plugin_loads(client: &kube::Client, namespace: &str) -> anyhow::Result<Loads> {
    let events = Api::<Event>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await?;
    let mut loads = Loads::default();
    for note in events
        .items
        .iter()
        .filter(|event| event.reason.as_deref() == Some("PluginLoaded"))
        .filter_map(|event| event.note.as_deref())
    {
        match note.rsplit_once("; ").map(|(_, provenance)| provenance) {
            Some(p) if p.starts_with("compiled in") => loads.compiled += 1,
            Some(p) if p.starts_with("loaded from the compile cache") => loads.disk += 1,
            Some(p) if p.starts_with("already compiled") => loads.memory += 1,
            _ => bail!("a PluginLoaded Event the bench does not know: {note}"),
        }
    }
    Ok(loads)
}

/// Waits until every `issuer-<n>` is Ready on `digests[n]` (there are as
/// many issuers as digests); fails at once if one has failed.
async fn wait_serving(issuers: &Api<WasmIssuer>, digests: &[String]) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let mut serving = 0;
        for issuer in issuers.list(&ListParams::default()).await?.items {
            let name = issuer.metadata.name.as_deref().unwrap_or_default();
            let digest = name
                .strip_prefix("issuer-")
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| digests.get(n))
                .with_context(|| format!("an issuer the bench did not make: {name}"))?;
            let Some(status) = issuer.status.as_ref() else {
                continue;
            };
            let Some(ready) = status.ready_condition() else {
                continue;
            };
            if ready.status == ConditionStatus::True
                && status.plugin_digest.as_deref() == Some(digest.as_str())
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
        tokio::time::sleep(POLL).await;
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
