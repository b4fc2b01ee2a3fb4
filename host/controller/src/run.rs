//! Running the controller: its HTTP endpoints, the leader election if it
//! is on, then both issuer reconcilers, the CertificateRequest reconciler
//! and the Kubernetes CSR reconciler, sharing one context, until shutdown
//! (or until another replica takes the lease).

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use futures::channel::mpsc::{UnboundedReceiver, unbounded};
use futures::future::Shared;
use futures::{FutureExt, Stream, StreamExt};
use kube::Resource;
use kube::runtime::controller::{self, Action};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use wasm_issuer_runtime::{Runtime, RuntimeOptions};
use wasm_issuer_sources::cache::CompileCache;
use wasm_issuer_sources::file::FileWatcher;

use crate::api::{WasmClusterIssuer, WasmIssuer};
use crate::certificate_signing_request::RetryClocks;
use crate::context::Context;
use crate::error::Error;
use crate::events::Events;
use crate::issuer_states::IssuerStates;
use crate::metrics::{Metrics, RequestKind};
use crate::options::Options;
use crate::plugins::Plugins;
use crate::serve::{self, Health};
use crate::{certificate_request, certificate_signing_request, issuer};

/// Runs until `shutdown` completes, then lets running reconciles finish
/// (for at most `options.shutdown_grace`) and gives up the lease. Losing
/// the lease to another replica is an error: the process should exit.
pub async fn run(
    client: kube::Client,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let shutdown = shutdown.boxed().shared();
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let _endpoints = serve::endpoints(
        options.metrics_address,
        options.health_address,
        Arc::clone(&metrics),
        Arc::clone(&health),
    )
    .await?;
    let Some(election) = options.election.clone() else {
        health.leading();
        return run_controllers(client, options, metrics, health, shutdown).await;
    };
    let mut campaign = election.campaign(client.clone()).await?;
    health.standing_by();
    tracing::info!(identity = election.identity(), "standing by for the lease");
    tokio::select! {
        won = campaign.won() => won?,
        () = shutdown.clone() => return campaign.resign().await,
    }
    tracing::info!(identity = election.identity(), "leading");
    health.leading();
    let lost = campaign.lost();
    // true: the lease was lost; false: shutdown.
    let stop = async move {
        tokio::select! {
            () = lost => true,
            () = shutdown => false,
        }
    }
    .boxed()
    .shared();
    run_controllers(client, options, metrics, health, stop.clone().map(drop)).await?;
    if stop.await {
        return Err(Error::LostLeadership);
    }
    campaign.resign().await
}

async fn run_controllers(
    client: kube::Client,
    options: Options,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let shutdown = shutdown.boxed().shared();
    let runtime = Arc::new(Runtime::new(&RuntimeOptions::default())?);
    let compile_cache = open_compile_cache(&options, &runtime);
    let (files, file_changes) = FileWatcher::new()?;
    let (namespaced_files, cluster_files) = fan_out(file_changes);
    let (states, events) = IssuerStates::new();
    let states = Arc::new(states);
    let namespaced = issuer::controller::<WasmIssuer>(
        &client,
        &options,
        Arc::clone(&states),
        events.recheck_namespaced,
        namespaced_files,
    );
    let cluster = issuer::controller::<WasmClusterIssuer>(
        &client,
        &options,
        Arc::clone(&states),
        events.recheck_cluster,
        cluster_files,
    );
    let (request_wakeups, csr_wakeups) = fan_out(events.changed);
    let requests = certificate_request::controller(&client, &options, request_wakeups);
    let csrs = certificate_signing_request::controller(&client, &options, csr_wakeups);
    let (request_cache, csr_cache) = (requests.store(), csrs.store());
    let synced = {
        let stores = (
            namespaced.store(),
            cluster.store(),
            requests.store(),
            csrs.store(),
        );
        async move {
            let ready = futures::try_join!(
                stores.0.wait_until_ready(),
                stores.1.wait_until_ready(),
                stores.2.wait_until_ready(),
                stores.3.wait_until_ready(),
            );
            if ready.is_ok() {
                tracing::info!("caches synced");
                health.synced();
            }
        }
    };
    metrics.set_backlog(Box::new(move || {
        vec![
            (
                RequestKind::CertificateRequest,
                certificate_request::backlog(&request_cache),
            ),
            (
                RequestKind::CertificateSigningRequest,
                certificate_signing_request::backlog(&csr_cache),
            ),
        ]
    }));
    let ctx = Arc::new(Context {
        events: Events::new(client.clone(), options.instance.clone()),
        plugins: Plugins::new(runtime, compile_cache, Arc::clone(&metrics)),
        metrics,
        client,
        files,
        issuers: states,
        namespaced_issuers: namespaced.store(),
        cluster_issuers: cluster.store(),
        csr_retries: RetryClocks::new(options.max_retry_duration),
        options,
    });
    tracing::info!("controller started");
    let controllers = futures::future::join5(
        drain(namespaced.graceful_shutdown_on(shutdown.clone()).run(
            issuer::reconcile,
            issuer::error_policy,
            Arc::clone(&ctx),
        )),
        drain(cluster.graceful_shutdown_on(shutdown.clone()).run(
            issuer::reconcile,
            issuer::error_policy,
            Arc::clone(&ctx),
        )),
        drain(requests.graceful_shutdown_on(shutdown.clone()).run(
            certificate_request::reconcile,
            certificate_request::error_policy,
            Arc::clone(&ctx),
        )),
        drain(csrs.graceful_shutdown_on(shutdown.clone()).run(
            certificate_signing_request::reconcile,
            certificate_signing_request::error_policy,
            Arc::clone(&ctx),
        )),
        synced,
    );
    tokio::select! {
        _ = controllers => tracing::info!("controller stopped"),
        () = overdue(shutdown, ctx.options.shutdown_grace) => tracing::warn!(
            "reconciles still running {}s after shutdown began: stopping without them",
            ctx.options.shutdown_grace.as_secs()
        ),
    }
    Ok(())
}

/// Completes `grace` after `shutdown` does.
async fn overdue(
    shutdown: Shared<futures::future::BoxFuture<'static, ()>>,
    grace: std::time::Duration,
) {
    shutdown.await;
    tokio::time::sleep(grace).await;
}

/// The on-disk compile cache, if configured and usable: without one the
/// controller still works, it only compiles again after a restart.
fn open_compile_cache(options: &Options, runtime: &Runtime) -> Option<CompileCache> {
    let dir = options.compile_cache_dir.as_ref()?;
    match CompileCache::open(dir, options.compile_cache_max_bytes, runtime) {
        Ok(cache) => Some(cache),
        Err(error) => {
            tracing::warn!("no compile cache, plugins are compiled at every start: {error}");
            None
        }
    }
}

/// Two copies of one stream, for two controllers (file changes for both
/// issuer controllers; issuer changes for both request controllers).
fn fan_out<T: Clone + Send + 'static>(
    items: impl Stream<Item = T> + Send + 'static,
) -> (UnboundedReceiver<T>, UnboundedReceiver<T>) {
    let (first, first_rx) = unbounded();
    let (second, second_rx) = unbounded();
    tokio::spawn(items.for_each(move |item| {
        // A closed channel means that controller has stopped.
        let _ = first.unbounded_send(item.clone());
        let _ = second.unbounded_send(item);
        futures::future::ready(())
    }));
    (first_rx, second_rx)
}

/// Consumes a controller's results; reconcile errors were logged by the
/// error policies, the rest (watch errors) is logged here.
async fn drain<K>(
    results: impl Stream<
        Item = Result<(ObjectRef<K>, Action), controller::Error<Error, watcher::Error>>,
    >,
) where
    K: Resource + Debug,
    K::DynamicType: Debug,
{
    results
        .for_each(|result| async move {
            match result {
                Ok(_) | Err(controller::Error::ReconcilerFailed(..)) => {}
                Err(controller::Error::ObjectNotFound(object)) => {
                    tracing::debug!("{object} is gone");
                }
                Err(error) => tracing::warn!("{error}"),
            }
        })
        .await;
}
