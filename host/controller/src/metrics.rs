//! The controller's Prometheus metrics: requests reconciled by issuer and
//! outcome, how long signing took and how much of it the plugins took,
//! plugin loads and compile-cache hits, refused plugin updates, plugin traps
//! by kind, and the requests still waiting for us. `crate::serve` serves
//! them in Prometheus' text format.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use wasm_issuer_runtime::{CallError, World};

use crate::issuer_key::IssuerKey;
use crate::plugins::Provenance;

/// The two kinds of request we sign, as metrics label them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    CertificateRequest,
    CertificateSigningRequest,
}

impl RequestKind {
    fn label(self) -> &'static str {
        match self {
            Self::CertificateRequest => "CertificateRequest",
            Self::CertificateSigningRequest => "CertificateSigningRequest",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: &'static str,
    /// e.g. `WasmIssuer team/ca`.
    issuer: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorldLabels {
    world: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoadLabels {
    world: &'static str,
    /// `compiled`, `disk_cache` or `memory`.
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TrapLabels {
    world: &'static str,
    /// `deadline`, `memory`, `panic`, `hostcall-data` or `trap`.
    trap: &'static str,
}

/// Counts, per kind of request, the requests of ours that are not final:
/// the work still queued for the controller. Asked at each scrape.
pub type Backlog = Box<dyn Fn() -> Vec<(RequestKind, usize)> + Send + Sync>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    signing_seconds: Family<KindLabels, Histogram>,
    plugin_seconds: Family<WorldLabels, Histogram>,
    plugin_loads: Family<LoadLabels, Counter>,
    refused_updates: Counter,
    traps: Family<TrapLabels, Counter>,
    /// Set once the controllers (and their caches) exist.
    backlog: Arc<OnceLock<Backlog>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        // 100 µs to ~6.5 s: a plugin call is ~0.1–1 ms, a slow CA seconds.
        let latency = || Histogram::new(exponential_buckets(0.0001, 2.0, 17));
        let mut metrics = Self {
            registry: Registry::with_prefix("wasm_issuer"),
            requests: Family::default(),
            signing_seconds: Family::new_with_constructor(latency),
            plugin_seconds: Family::new_with_constructor(latency),
            plugin_loads: Family::default(),
            refused_updates: Counter::default(),
            traps: Family::default(),
            backlog: Arc::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "requests",
            "Signing attempts and decisions, by request kind, issuer and outcome",
            metrics.requests.clone(),
        );
        registry.register(
            "signing_duration_seconds",
            "Time to sign one request: its policies, its signer and the host's checks",
            metrics.signing_seconds.clone(),
        );
        registry.register(
            "plugin_call_duration_seconds",
            "Time spent in one plugin call (fresh instance, call, host calls it makes)",
            metrics.plugin_seconds.clone(),
        );
        registry.register(
            "plugin_loads",
            "Plugins made ready: compiled, loaded from the disk cache, or already in memory",
            metrics.plugin_loads.clone(),
        );
        registry.register(
            "plugin_updates_refused",
            "New plugin versions refused while the last good version kept serving",
            metrics.refused_updates.clone(),
        );
        registry.register(
            "plugin_traps",
            "Plugin calls that trapped, by world and kind of trap",
            metrics.traps.clone(),
        );
        registry.register_collector(Box::new(BacklogCollector(Arc::clone(&metrics.backlog))));
        metrics
    }

    /// Sets how the gauge of requests still waiting is computed; the first
    /// setting stays.
    pub fn set_backlog(&self, backlog: Backlog) {
        let _ = self.backlog.set(backlog);
    }

    /// One request reached `outcome` with `issuer`.
    pub fn request(&self, kind: RequestKind, issuer: &IssuerKey, outcome: &'static str) {
        self.requests
            .get_or_create(&RequestLabels {
                kind: kind.label(),
                issuer: issuer.to_string(),
                outcome,
            })
            .inc();
    }

    pub fn signed_in(&self, kind: RequestKind, took: Duration) {
        self.signing_seconds
            .get_or_create(&KindLabels { kind: kind.label() })
            .observe(took.as_secs_f64());
    }

    /// One plugin call took `took` and ended in `result`.
    pub fn plugin_call<T>(&self, world: World, took: Duration, result: &Result<T, CallError>) {
        let world = world_label(world);
        self.plugin_seconds
            .get_or_create(&WorldLabels { world })
            .observe(took.as_secs_f64());
        if let Err(CallError::Trap { kind, .. }) = result {
            self.traps
                .get_or_create(&TrapLabels {
                    world,
                    trap: kind.as_str(),
                })
                .inc();
        }
    }

    pub fn plugin_loaded(&self, world: World, provenance: Provenance) {
        let source = match provenance {
            Provenance::InMemory => "memory",
            Provenance::Cached(_) => "disk_cache",
            Provenance::Compiled(_) => "compiled",
        };
        self.plugin_loads
            .get_or_create(&LoadLabels {
                world: world_label(world),
                source,
            })
            .inc();
    }

    pub fn updates_refused(&self, count: usize) {
        self.refused_updates
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// Everything, in Prometheus' text format.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn world_label(world: World) -> &'static str {
    match world {
        World::Signer => "signer",
        World::Policy => "policy",
        World::Unknown => "unknown",
    }
}

struct BacklogCollector(Arc<OnceLock<Backlog>>);

impl fmt::Debug for BacklogCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BacklogCollector")
    }
}

impl Collector for BacklogCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let counts = self.0.get().map(|backlog| backlog()).unwrap_or_default();
        let mut family = encoder.encode_descriptor(
            "queue_depth",
            "Requests of ours not final yet (waiting for approval, an issuer or a retry)",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (kind, count) in counts {
            let gauge = ConstGauge::new(i64::try_from(count).unwrap_or(i64::MAX));
            let labels = KindLabels { kind: kind.label() };
            gauge.encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use wasm_issuer_runtime::TrapKind;

    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
    }

    #[test]
    fn counts_and_traps_appear_in_the_text_format() {
        let metrics = Metrics::new();
        metrics.set_backlog(Box::new(|| vec![(RequestKind::CertificateRequest, 3)]));
        let issuer = IssuerKey::Cluster { name: "ca".into() };
        for _ in 0..2 {
            metrics.request(RequestKind::CertificateRequest, &issuer, "issued");
        }
        let trap: Result<(), CallError> = Err(CallError::Trap {
            kind: TrapKind::Deadline,
            message: "ran past 2s".into(),
        });
        metrics.plugin_call(World::Signer, Duration::from_millis(3), &trap);
        let text = metrics.encode().expect("encodes");
        assert_eq!(
            line(&text, "wasm_issuer_requests_total{"),
            "wasm_issuer_requests_total{kind=\"CertificateRequest\",issuer=\"WasmClusterIssuer ca\",outcome=\"issued\"} 2"
        );
        assert_eq!(
            line(&text, "wasm_issuer_plugin_traps_total{"),
            "wasm_issuer_plugin_traps_total{world=\"signer\",trap=\"deadline\"} 1"
        );
        assert_eq!(
            line(&text, "wasm_issuer_queue_depth{"),
            "wasm_issuer_queue_depth{kind=\"CertificateRequest\"} 3"
        );
        assert_eq!(
            line(&text, "wasm_issuer_plugin_call_duration_seconds_count{"),
            "wasm_issuer_plugin_call_duration_seconds_count{world=\"signer\"} 1"
        );
    }
}
