//! The controller's HTTP endpoints, each address serving its own:
//! `/metrics` (Prometheus' text format) on the metrics address, `/healthz`
//! (the process answers) and `/readyz` (its caches are synced and it leads,
//! or it knows it stands by) on the health address.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::metrics::Metrics;

/// What `/readyz` reports.
pub struct Health {
    state: AtomicU8,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            state: AtomicU8::new(STARTING),
        }
    }
}

const STARTING: u8 = 0;
const STANDING_BY: u8 = 1;
const LEADING: u8 = 2;
const SYNCED: u8 = 3;

impl Health {
    /// Another replica leads; this one waits to take over.
    pub fn standing_by(&self) {
        self.state.store(STANDING_BY, Ordering::Release);
    }

    /// This replica leads (or runs alone); its caches are filling.
    pub fn leading(&self) {
        self.state.store(LEADING, Ordering::Release);
    }

    /// Every cache has its first full list: requests are being served.
    pub fn synced(&self) {
        self.state.store(SYNCED, Ordering::Release);
    }

    /// Ready, or why not.
    pub fn readiness(&self) -> Result<&'static str, &'static str> {
        match self.state.load(Ordering::Acquire) {
            STANDING_BY => Ok("standing by for the leader"),
            SYNCED => Ok("leading, caches synced"),
            LEADING => Err("leading, caches not synced yet"),
            _ => Err("starting"),
        }
    }
}

/// The endpoints of both addresses; stops serving when dropped.
pub struct Endpoints {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Endpoints {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Binds the addresses given and serves them in the background.
pub async fn endpoints(
    metrics_address: Option<SocketAddr>,
    health_address: Option<SocketAddr>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
) -> Result<Endpoints, Error> {
    let mut tasks = Vec::new();
    if let Some(address) = metrics_address {
        let route = move |path: &str| match path {
            "/metrics" => match metrics.encode() {
                Ok(text) => reply(StatusCode::OK, PROMETHEUS_TEXT, text),
                Err(_) => reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    PLAIN,
                    "encoding failed\n",
                ),
            },
            _ => not_found(),
        };
        tasks.push(listen(address, route).await?);
    }
    if let Some(address) = health_address {
        let route = move |path: &str| match path {
            "/healthz" => reply(StatusCode::OK, PLAIN, "ok\n"),
            "/readyz" => match health.readiness() {
                Ok(state) => reply(StatusCode::OK, PLAIN, format!("ok: {state}\n")),
                Err(state) => reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    PLAIN,
                    format!("not ready: {state}\n"),
                ),
            },
            _ => not_found(),
        };
        tasks.push(listen(address, route).await?);
    }
    Ok(Endpoints { tasks })
}

const PLAIN: &str = "text/plain; charset=utf-8";
const PROMETHEUS_TEXT: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

fn not_found() -> Reply {
    reply(StatusCode::NOT_FOUND, PLAIN, "not found\n")
}

/// Serves `route` (path → reply) on `address`, one task per connection.
async fn listen(
    address: SocketAddr,
    route: impl Fn(&str) -> Reply + Send + Sync + 'static,
) -> Result<JoinHandle<()>, Error> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| Error::Listen { address, source })?;
    tracing::info!("serving on http://{address}");
    let route = Arc::new(route);
    Ok(tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!("{address}: cannot accept a connection: {error}");
                    continue;
                }
            };
            let route = Arc::clone(&route);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let reply = route(request.uri().path());
                    async move { Ok::<_, Infallible>(reply) }
                });
                // A client that goes away mid-request is its own business.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_when_standing_by_or_synced_not_while_starting_or_syncing() {
        let health = Health::default();
        assert_eq!(health.readiness(), Err("starting"));
        health.standing_by();
        assert!(health.readiness().is_ok());
        health.leading();
        assert_eq!(health.readiness(), Err("leading, caches not synced yet"));
        health.synced();
        assert_eq!(health.readiness(), Ok("leading, caches synced"));
    }
}
