//! Hot reload latency on a real control plane: the plugin in a WasmIssuer's
//! ConfigMap is swapped between the stamp-v1 and stamp-v2 test plugins
//! (which write their version into every certificate), and the bench times
//! from the ConfigMap update until the issuer's `status.pluginDigest` names
//! the new version, and until the first certificate that the new version
//! signed is issued. From the update on, a request is created and approved
//! every 20 ms (each on its own task) until that certificate shows up. The `wasm-issuer
//! controller` binary runs as a child process with an empty compile cache:
//! the first swap compiles stamp-v2; a version swapped out leaves memory once
//! no issuer serves it, so later swaps load it back from the compile cache.
//! Not a test: `cargo bench -p wasm-issuer --bench reload`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use wasm_issuer_controller::api::{CertificateRequest, WasmIssuer};
use wasm_issuer_runtime::Digest;
use wasm_issuer_test_support::{Workdir, test_plugin};
use wasm_issuer_testenv::unique_namespace;

use common::{
    Controller, GROUP, WASM_ISSUER, approve, ca, ca_secret, certificate_request, csr, plugin_bytes,
    plugin_config_map, stamp, verified_chain, wait_issuer_ready, wait_requests_ready, wasm_issuer,
};

/// Swaps in all: the first compiles, the others measure reloads of
/// versions compiled before (from the compile cache: a version no issuer
/// serves any more leaves memory).
const SWAPS: usize = 21;
/// How often a request is created (and approved) after an update: the
/// resolution of the time to the first new-version certificate.
const REQUEST_INTERVAL: Duration = Duration::from_millis(20);
/// A quiet moment between swaps, once the last one's requests are all issued.
const PAUSE: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(120);
/// The issuer, its ConfigMap and the stamp fixtures' key name.
const ISSUER: &str = "stamp";

/// One version of the plugin.
struct Version {
    stamp: &'static str,
    wasm: Vec<u8>,
    digest: String,
}

impl Version {
    fn load(stamp: &'static str) -> anyhow::Result<Self> {
        let wasm = plugin_bytes(&test_plugin(&format!("stamp-{stamp}")))?;
        let digest = Digest::of(&wasm).to_string();
        Ok(Self {
            stamp,
            wasm,
            digest,
        })
    }
}

/// What one swap took, counted from the ConfigMap update.
struct Swap {
    to: &'static str,
    /// Until the issuer's status named the new digest.
    status: Duration,
    /// Until the first certificate of the new version was seen issued.
    certificate: Duration,
    /// That certificate's request: from its approval until seen issued.
    signing: Duration,
    /// Requests created during the swap.
    requests: usize,
}

fn main() -> anyhow::Result<()> {
    if common::skipped("reload") {
        return Ok(());
    }
    tokio::runtime::Runtime::new()?.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let versions = [Version::load("v1")?, Version::load("v2")?];
    let (control_plane, client) = common::control_plane().await?;
    let namespace = unique_namespace(&client, "bench-reload").await?;
    let (ca_cert, ca_key) = ca();
    ca_secret(&client, &namespace, &ca_cert, &ca_key).await?;
    plugin_config_map(&client, &namespace, ISSUER, versions[0].wasm.clone()).await?;
    let controller = Controller::start_with_fresh_cache(&control_plane, "wasm-issuer")?;
    let issuer: WasmIssuer = serde_json::from_value(wasm_issuer(ISSUER, ISSUER))?;
    Api::<WasmIssuer>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &issuer)
        .await?;
    wait_issuer_ready(&client, &namespace, GROUP, WASM_ISSUER, ISSUER).await?;

    let workdir = Workdir::new();
    let ca = workdir.write("ca.crt", &ca_cert);
    let load_before = common::load_average()?;
    let mut swaps = Vec::with_capacity(SWAPS);
    for n in 0..SWAPS {
        let to = &versions[(n + 1) % versions.len()];
        swaps.push(swap(&client, &namespace, n, to, &workdir, &ca).await?);
        tokio::time::sleep(PAUSE).await;
    }
    let load_after = common::load_average()?;
    let peak = controller.peak_kib()?;
    drop(controller);
    let provenances = swap_provenances(&client, &namespace).await?;

    println!(
        "hot reload: {SWAPS} swaps stamp-v1 <-> stamp-v2 in the issuer's ConfigMap, a request every {} ms from each update",
        REQUEST_INTERVAL.as_millis()
    );
    println!("load average before: {load_before}; after: {load_after}");
    println!(
        "| swap | to | update -> status.pluginDigest | update -> first new-version certificate | its approval -> issued | requests |"
    );
    println!("|---|---|---|---|---|---|");
    for (n, swap) in swaps.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            n + 1,
            swap.to,
            ms(swap.status),
            ms(swap.certificate),
            ms(swap.signing),
            swap.requests
        );
    }
    let (cold, warm) = swaps.split_first().context("no swaps")?;
    println!("new versions were (PluginLoaded Events): {provenances:?}");
    println!("first swap (stamp-v2 compiled):");
    println!(
        "  status {}, first certificate {}",
        ms(cold.status),
        ms(cold.certificate)
    );
    println!("swaps 2-{SWAPS} (from the compile cache), median / p90 (nearest rank) / max:");
    for (what, pick) in [
        (
            "update -> status.pluginDigest",
            (|s: &Swap| s.status) as fn(&Swap) -> Duration,
        ),
        ("update -> first new-version certificate", |s: &Swap| {
            s.certificate
        }),
        ("its approval -> issued", |s: &Swap| s.signing),
    ] {
        let mut times: Vec<Duration> = warm.iter().map(pick).collect();
        times.sort();
        println!(
            "  {what}: {} / {} / {}",
            ms(percentile(&times, 50)),
            ms(percentile(&times, 90)),
            ms(times[times.len() - 1])
        );
    }
    println!(
        "wasm-issuer controller peak memory (VmHWM): {:.1} MiB",
        peak as f64 / 1024.0
    );
    Ok(())
}

/// Puts `to` into the ConfigMap, then requests certificates every
/// REQUEST_INTERVAL until one signed by `to` is issued. Returns once every
/// request of the swap is issued, so that the next swap starts quiet.
async fn swap(
    client: &kube::Client,
    namespace: &str,
    n: usize,
    to: &Version,
    workdir: &Workdir,
    ca: &Path,
) -> anyhow::Result<Swap> {
    let issuers = Api::<WasmIssuer>::namespaced(client.clone(), namespace);
    let requests = Api::<CertificateRequest>::namespaced(client.clone(), namespace);
    let config_maps = Api::<ConfigMap>::namespaced(client.clone(), namespace);
    let label = format!("swap={n}");
    // Both watches have listed before the update: every change they report
    // comes after it.
    let issuer_name = format!("metadata.name={ISSUER}");
    let mut issuer_changes =
        watching(issuers, watcher::Config::default().fields(&issuer_name)).await?;
    let mut request_changes =
        watching(requests.clone(), watcher::Config::default().labels(&label)).await?;

    let start = Instant::now();
    let patch = json!({"binaryData": {"plugin.wasm": ByteString(to.wasm.clone())}});
    config_maps
        .patch(ISSUER, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    let (stop, stopped) = oneshot::channel();
    let mut requester = tokio::spawn(keep_requesting(requests.clone(), n, start, stopped));

    let mut status = None;
    let mut first = None;
    while status.is_none() || first.is_none() {
        let left = TIMEOUT.saturating_sub(start.elapsed());
        tokio::select! {
            change = issuer_changes.try_next() => {
                let issuer = change?.context("the issuer watch ended")?;
                let digest = issuer.status.as_ref().and_then(|s| s.plugin_digest.as_deref());
                if status.is_none() && digest == Some(to.digest.as_str()) {
                    status = Some(start.elapsed());
                }
            }
            change = request_changes.try_next() => {
                let request = change?.context("the request watch ended")?;
                if first.is_none() && request.has_true("Ready") {
                    let chain = issued_chain(&request)?;
                    if stamp(&chain)? == to.stamp {
                        first = Some((start.elapsed(), request));
                    }
                }
            }
            // It only ends by itself on an error.
            stopped = &mut requester => {
                bail!("swap {n}: requesting stopped: {:?}", stopped?.err());
            }
            _ = tokio::time::sleep(left) => {
                bail!("swap {n} to {}: status after {status:?}, no certificate of it after {TIMEOUT:?}", to.stamp);
            }
        }
    }
    let _ = stop.send(());
    let approved = requester.await??;
    wait_requests_ready(
        &requests,
        &ListParams::default().labels(&label),
        approved.len(),
        &format!("swap {n}"),
        TIMEOUT,
    )
    .await?;

    let (certificate, request) = first.context("the first certificate")?;
    let chain = verified_chain(workdir, ca, &request)?;
    anyhow::ensure!(stamp(&chain)? == to.stamp, "openssl checked another chain");
    let name = request.metadata.name.as_deref().unwrap_or_default();
    let approved_at = approved
        .iter()
        .find_map(|(approved, at)| (approved == name).then_some(*at))
        .with_context(|| format!("{name} was not approved by this swap"))?;
    Ok(Swap {
        to: to.stamp,
        status: status.context("the status")?,
        certificate,
        signing: certificate.saturating_sub(approved_at),
        requests: approved.len(),
    })
}

/// The objects a watch reports, once its initial list is through.
async fn watching<K>(
    api: Api<K>,
    config: watcher::Config,
) -> anyhow::Result<impl Stream<Item = anyhow::Result<K>> + Unpin>
where
    K: kube::Resource
        + Clone
        + k8s_openapi::serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
{
    let mut events = watcher(api, config).boxed();
    loop {
        match events.try_next().await? {
            Some(watcher::Event::InitDone) => break,
            Some(_) => continue,
            None => bail!("the watch ended during its initial list"),
        }
    }
    Ok(events
        .try_filter_map(|event| async move {
            Ok(match event {
                watcher::Event::Apply(object) | watcher::Event::InitApply(object) => Some(object),
                _ => None,
            })
        })
        .map_err(anyhow::Error::from)
        .boxed())
}

/// Starts a request every REQUEST_INTERVAL until `stop`, each created and
/// approved on its own task, so that a slow API call does not hold the
/// next one back; returns each request's name and when it was approved
/// (since `start`), once all are.
async fn keep_requesting(
    requests: Api<CertificateRequest>,
    swap: usize,
    start: Instant,
    mut stop: oneshot::Receiver<()>,
) -> anyhow::Result<Vec<(String, Duration)>> {
    let mut in_flight = JoinSet::new();
    let mut approved = Vec::new();
    let mut interval = tokio::time::interval(REQUEST_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut started = 0;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            // Collected as they finish, so that a failure ends the swap at once.
            Some(done) = in_flight.join_next() => {
                approved.push(done??);
                continue;
            }
            _ = interval.tick() => {}
        }
        let name = format!("swap-{swap}-{started}");
        started += 1;
        let mut request = certificate_request(
            &name,
            csr(&format!("{name}.example.com"))?,
            GROUP,
            WASM_ISSUER,
            ISSUER,
        )?;
        request.metadata.labels = Some([("swap".to_owned(), swap.to_string())].into());
        let requests = requests.clone();
        in_flight.spawn(async move {
            requests.create(&PostParams::default(), &request).await?;
            approve(&requests, name.clone()).await?;
            anyhow::Ok((name, start.elapsed()))
        });
    }
    while let Some(done) = in_flight.join_next().await {
        approved.push(done??);
    }
    Ok(approved)
}

/// The chain (PEM) of an issued request.
fn issued_chain(request: &CertificateRequest) -> anyhow::Result<String> {
    let certificate = request
        .status
        .as_ref()
        .and_then(|status| status.certificate.as_ref())
        .context("Ready without a certificate")?;
    Ok(String::from_utf8(certificate.0.clone())?)
}

/// How the controller got each new version, from its PluginLoaded Events
/// ("compiled in N ms", "loaded from the compile cache in N ms"); Events with
/// the same note are counted as one.
async fn swap_provenances(
    client: &kube::Client,
    namespace: &str,
) -> anyhow::Result<BTreeSet<String>> {
    let events = Api::<Event>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await?;
    Ok(events
        .items
        .iter()
        .filter(|event| event.reason.as_deref() == Some("PluginLoaded"))
        .filter_map(|event| event.note.as_deref())
        .filter(|note| note.contains("(was "))
        .filter_map(|note| note.rsplit_once("; "))
        .map(|(_, provenance)| provenance.to_owned())
        .collect())
}

/// The `p`th percentile of sorted `times`, by nearest rank.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(duration: Duration) -> String {
    format!("{} ms", duration.as_millis())
}
