//! Prometheus metrics of the ingest path.
//!
//! One [`IngestMetrics`] is shared by every listener and the HTTP ingest handler; the web crate
//! encodes [`IngestMetrics::registry`] at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabel {
    pub source: String,
    /// `parse`, `line_too_long`, `clock_skew`, `unknown_source`, `bad_key`, `busy`,
    /// `body_too_large`, `bad_signature`, `replay`, `truncated_frame`.
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabel {
    pub rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PathLabel {
    /// `http`, `syslog_udp`, `syslog_tcp`, `webhook`, `mqtt`.
    pub path: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HolderLabel {
    /// `store_engine` (the database engine's caches, schemas and statements by its own
    /// count), `rust_heap` (what the Rust allocator holds), `c_heap_in_use` and `c_heap_free`
    /// (the C library's malloc, which the database engine uses: live allocations, and freed
    /// memory its arenas still hold).
    pub holder: String,
}

/// The `source` label of input that named no configured source. Names taken from a request
/// are the sender's to choose, so they never become labels of their own: every label is a
/// time series Prometheus and Tandem keep for good.
pub const UNKNOWN_SOURCE: &str = "unknown";

/// Counters every ingest path updates.
pub struct IngestMetrics {
    pub received: Family<SourceLabel, Counter>,
    pub stored: Family<SourceLabel, Counter>,
    pub rejected: Family<RejectLabel, Counter>,
    pub dead_lettered: Family<SourceLabel, Counter>,
    /// Events waiting for the store's writer; set when scraped.
    pub queue_depth: Gauge,
    /// From receipt of a batch to its durable commit.
    pub ack_latency: Family<PathLabel, Histogram>,
    /// Findings raised, by rule.
    pub findings: Family<RuleLabel, Counter>,
    /// Events from senders (and the directory's account changes) durably stored: the
    /// denominator of the KPIs' "events analysed". Findings and case events are Tandem's
    /// own and not counted.
    pub ingested: Counter,
    /// Of [`IngestMetrics::ingested`], those detection evaluated before the commit.
    pub analysed: Counter,
    /// Connections open now, by listener (`http`, `syslog_tcp`).
    pub connections_open: Family<PathLabel, Gauge>,
    /// Connections closed at once because their listener was at its cap.
    pub connections_refused: Family<PathLabel, Counter>,
    /// Bytes held now, by holder; set when scraped or by the server's own sampler.
    pub memory: Family<HolderLabel, Gauge>,
    registry: Registry,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl IngestMetrics {
    pub fn new() -> IngestMetrics {
        let received = Family::<SourceLabel, Counter>::default();
        let stored = Family::<SourceLabel, Counter>::default();
        let rejected = Family::<RejectLabel, Counter>::default();
        let dead_lettered = Family::<SourceLabel, Counter>::default();
        let queue_depth = Gauge::default();
        let ack_latency = Family::<PathLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        let findings = Family::<RuleLabel, Counter>::default();
        let ingested = Counter::default();
        let analysed = Counter::default();
        let connections_open = Family::<PathLabel, Gauge>::default();
        let connections_refused = Family::<PathLabel, Counter>::default();
        let memory = Family::<HolderLabel, Gauge>::default();
        let mut registry = Registry::with_prefix("tandem");
        registry.register(
            "findings",
            "Detection findings raised, by rule",
            findings.clone(),
        );
        registry.register(
            "events_received",
            "Events received, before decoding",
            received.clone(),
        );
        registry.register("events_stored", "Events durably stored", stored.clone());
        registry.register(
            "events_ingested",
            "Events from senders and directory changes durably stored (findings and case events not counted)",
            ingested.clone(),
        );
        registry.register(
            "events_analysed",
            "Of the events ingested, those detection evaluated before they were stored",
            analysed.clone(),
        );
        registry.register(
            "events_rejected",
            "Input refused, by reason",
            rejected.clone(),
        );
        registry.register(
            "dead_letters",
            "Input kept as dead letters",
            dead_lettered.clone(),
        );
        registry.register(
            "ingest_queue_depth",
            "Events waiting for the store writer",
            queue_depth.clone(),
        );
        registry.register(
            "ingest_ack_seconds",
            "Time from receiving a batch to its durable commit",
            ack_latency.clone(),
        );
        registry.register(
            "connections_open",
            "Connections open now, by listener",
            connections_open.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed at once because the listener was at its connection cap",
            connections_refused.clone(),
        );
        registry.register(
            "memory_bytes",
            "Memory held now, by holder (store_engine, rust_heap, c_heap_in_use, c_heap_free)",
            memory.clone(),
        );
        IngestMetrics {
            received,
            stored,
            rejected,
            dead_lettered,
            queue_depth,
            ack_latency,
            findings,
            ingested,
            analysed,
            connections_open,
            connections_refused,
            memory,
            registry,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Counts a committed batch's events from senders and those detection evaluated.
    pub fn count_analysis(&self, (ingested, analysed): (u64, u64)) {
        self.ingested.inc_by(ingested);
        self.analysed.inc_by(analysed);
    }

    /// Events ingested and analysed since the server started.
    pub fn analysis(&self) -> (u64, u64) {
        (self.ingested.get(), self.analysed.get())
    }

    /// Counts findings by rule.
    pub fn count_findings(&self, findings: &[tandem_model::Finding]) {
        for f in findings {
            self.findings
                .get_or_create(&RuleLabel {
                    rule: f.rule_id.clone(),
                })
                .inc();
        }
    }

    /// The gauge of connections open on `path` (`http`, `syslog_tcp`).
    pub fn connections(&self, path: &str) -> Gauge {
        self.connections_open
            .get_or_create(&PathLabel {
                path: path.to_owned(),
            })
            .clone()
    }

    /// Counts a connection `path` closed at once because it was at its cap.
    pub fn refuse_connection(&self, path: &str) {
        self.connections_refused
            .get_or_create(&PathLabel {
                path: path.to_owned(),
            })
            .inc();
    }

    /// Records the bytes `holder` holds now.
    pub fn set_memory(&self, holder: &str, bytes: u64) {
        self.memory
            .get_or_create(&HolderLabel {
                holder: holder.to_owned(),
            })
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Counts refused input of a configured source (names from requests go through
    /// [`UNKNOWN_SOURCE`] first).
    pub fn reject(&self, source: &str, reason: &str, n: u64) {
        self.rejected
            .get_or_create(&RejectLabel {
                source: source.to_owned(),
                reason: reason.to_owned(),
            })
            .inc_by(n);
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
