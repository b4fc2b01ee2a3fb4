//! The Kubernetes client, with the request rate limit the binary's
//! `--kube-api-qps` / `--kube-api-burst` set, as client-go's token bucket
//! does: a controller must not flood the API server when many requests
//! arrive at once. As in cert-manager, the limit applies only when the API
//! server has no flow control of its own (API Priority and Fairness, on by
//! default since Kubernetes 1.29): then the server queues fairly, and a
//! client-side limit would only slow issuance down.

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tower::{Layer, Service};

use crate::error::Error;

/// API requests per second on average, and at most at once.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub qps: f32,
    pub burst: u32,
}

/// A client for `config`: rate-limited by `limit` unless the server does
/// its own flow control.
pub async fn client(config: kube::Config, limit: RateLimit) -> Result<kube::Client, Error> {
    let layer = RateLimitLayer::new(limit)?;
    let unlimited =
        kube::Client::try_from(config.clone()).map_err(|error| Error::Client(error.to_string()))?;
    if has_flow_control(&unlimited).await {
        tracing::info!("the API server has API Priority and Fairness: no client-side rate limit");
        return Ok(unlimited);
    }
    tracing::info!(
        qps = limit.qps,
        burst = limit.burst,
        "client-side API rate limit"
    );
    let builder = kube::client::ClientBuilder::try_from(config)
        .map_err(|error| Error::Client(error.to_string()))?;
    Ok(builder.with_layer(&layer).build())
}

/// Whether the API server does API Priority and Fairness: it then names
/// the flow schema of each request in a response header (what cert-manager
/// and client-go look at too). A server that cannot be asked is assumed
/// not to, so the client-side limit protects it.
async fn has_flow_control(client: &kube::Client) -> bool {
    const FLOW_SCHEMA_HEADER: &str = "x-kubernetes-pf-flowschema-uid";
    let Ok(request) = http::Request::get("/livez/ping").body(Vec::new()) else {
        return false;
    };
    match client.send(request.map(kube::client::Body::from)).await {
        Ok(response) => response.headers().contains_key(FLOW_SCHEMA_HEADER),
        Err(error) => {
            tracing::warn!("cannot tell whether the API server does flow control: {error}");
            false
        }
    }
}

#[derive(Clone)]
struct RateLimitLayer {
    limiter: Arc<DefaultDirectRateLimiter>,
}

impl RateLimitLayer {
    fn new(limit: RateLimit) -> Result<Self, Error> {
        let invalid = || {
            Error::Client(format!(
                "invalid API rate limit {limit:?}: both must be > 0"
            ))
        };
        if !(limit.qps.is_finite() && limit.qps > 0.0) {
            return Err(invalid());
        }
        let burst = NonZeroU32::new(limit.burst).ok_or_else(invalid)?;
        let period = Duration::from_secs_f64(1.0 / f64::from(limit.qps));
        let quota = Quota::with_period(period)
            .ok_or_else(invalid)?
            .allow_burst(burst);
        Ok(Self {
            limiter: Arc::new(RateLimiter::direct(quota)),
        })
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        RateLimited {
            inner,
            limiter: Arc::clone(&self.limiter),
            waiting: None,
            permitted: false,
        }
    }
}

/// Waits for a token in `poll_ready`, as tower services should: the
/// client's buffer then holds requests back instead of queuing them here.
pub struct RateLimited<S> {
    inner: S,
    limiter: Arc<DefaultDirectRateLimiter>,
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    permitted: bool,
}

impl<S, Request> Service<Request> for RateLimited<S>
where
    S: Service<Request>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if !self.permitted {
            let limiter = Arc::clone(&self.limiter);
            let waiting = self
                .waiting
                .get_or_insert_with(|| Box::pin(async move { limiter.until_ready().await }));
            if waiting.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.waiting = None;
            self.permitted = true;
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.permitted = false;
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Instant;

    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_burst_passes_then_requests_wait_for_tokens() {
        let layer = RateLimitLayer::new(RateLimit {
            qps: 20.0,
            burst: 5,
        })
        .expect("valid");
        let mut service = layer.layer(tower::service_fn(
            |n: u32| async move { Ok::<_, Infallible>(n) },
        ));
        let start = Instant::now();
        for n in 0..5 {
            assert_eq!(service.ready().await.expect("ready").call(n).await, Ok(n));
        }
        let burst = start.elapsed();
        for n in 0..4 {
            assert_eq!(service.ready().await.expect("ready").call(n).await, Ok(n));
        }
        // Four more tokens at 20/s take at least ~200 ms; the burst took none.
        assert!(
            start.elapsed() - burst >= Duration::from_millis(150),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn zero_limits_are_refused() {
        assert!(RateLimitLayer::new(RateLimit { qps: 0.0, burst: 5 }).is_err());
        assert!(RateLimitLayer::new(RateLimit { qps: 5.0, burst: 0 }).is_err());
        assert!(
            RateLimitLayer::new(RateLimit {
                qps: f32::NAN,
                burst: 5
            })
            .is_err()
        );
    }
}
