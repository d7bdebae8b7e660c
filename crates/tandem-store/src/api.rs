//! The data that crosses the store's boundary.

use crate::StoreError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tandem_model::{DeadLetter, Event};
use tandem_query::Query;

/// Tuning of the embedded store. Every field has a default that suits a single server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `full` survives power loss (fsync per commit); `normal` survives a crash of Tandem
    /// (kill -9) but may lose the last commits on power loss.
    pub synchronous: Synchronous,
    /// Events per segment before it is sealed and indexed in bulk.
    pub segment_rows: u64,
    /// Longest event-time span one segment may cover, in hours; keeps retention fine-grained.
    pub segment_hours: u64,
    /// Most events the writer puts in one transaction.
    pub max_batch_events: usize,
    /// Size of the write-ahead log, in MiB, past which the writer makes it start again from
    /// its beginning. Under sustained ingest the background checkpoint never quite catches up,
    /// and without this the log would grow for as long as ingest lasts.
    pub wal_rewind_mib: u64,
    /// Most events waiting for the writer before submits are refused with "busy".
    pub max_queued_events: usize,
    /// SQLite page cache per connection, in MiB.
    pub cache_mib: u64,
    /// Read connections for searches.
    pub readers: usize,
    /// Longest a search may page into the results (offset + limit).
    pub max_result_window: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            synchronous: Synchronous::Full,
            segment_rows: 100_000,
            segment_hours: 24,
            max_batch_events: 50_000,
            wal_rewind_mib: 64,
            max_queued_events: 50_000,
            cache_mib: 64,
            readers: 4,
            max_result_window: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Synchronous {
    Full,
    Normal,
}

/// What the writer is asked to make durable together.
#[derive(Debug, Default)]
pub struct WriteBatch {
    pub events: Vec<Event>,
    pub dead_letters: Vec<DeadLetter>,
    /// Counted against the source's health as rejected (e.g. lines over the length limit
    /// that were refused before decoding).
    pub rejected: Vec<(String, u64)>,
}

impl WriteBatch {
    pub fn events(events: Vec<Event>) -> WriteBatch {
        WriteBatch {
            events,
            ..WriteBatch::default()
        }
    }

    pub fn len(&self) -> usize {
        self.events.len() + self.dead_letters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a commit made durable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CommitReceipt {
    pub events: usize,
    pub dead_letters: usize,
}

/// Resolves when a submitted batch is durable. Await it from async code or [`Commit::wait`]
/// from a thread.
pub struct Commit(pub(crate) tokio::sync::oneshot::Receiver<Result<CommitReceipt, String>>);

impl Commit {
    /// Blocks the current (non-async) thread until the batch is durable.
    pub fn wait(self) -> Result<CommitReceipt, StoreError> {
        match self.0.blocking_recv() {
            Ok(r) => r.map_err(StoreError::Writer),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

impl Future for Commit {
    type Output = Result<CommitReceipt, StoreError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| match r {
            Ok(r) => r.map_err(StoreError::Writer),
            Err(_) => Err(StoreError::Closed),
        })
    }
}

/// A search over a time window.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: Query,
    /// Inclusive lower bound on event time; `None` means the beginning of the store.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on event time; `None` means no bound.
    pub to: Option<DateTime<Utc>>,
    pub limit: usize,
    pub offset: usize,
    /// Longest the search may run; past it the store stops the search inside SQLite and
    /// answers [`StoreError::TimedOut`]. `None`: no limit (tests and tools).
    pub time_limit: Option<std::time::Duration>,
    /// Set by the caller to stop the search early (its client went away); the store then
    /// answers [`StoreError::Cancelled`].
    pub cancel: Option<Cancel>,
}

impl SearchRequest {
    /// All time, first page of 50, no time limit.
    pub fn new(query: Query) -> SearchRequest {
        SearchRequest {
            query,
            from: None,
            to: None,
            limit: 50,
            offset: 0,
            time_limit: None,
            cancel: None,
        }
    }
}

/// A switch shared between whoever waits for a search and the thread running it: once
/// [`Cancel::cancel`] is called, the search stops at its next check (SQLite checks every few
/// thousand instructions).
#[derive(Debug, Clone, Default)]
pub struct Cancel(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The answer to a search.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SearchResult {
    Events(EventPage),
    Aggregation(Aggregation),
}

impl SearchResult {
    /// Matching events (for an event search) or the sum of all counts (for an aggregation).
    pub fn total(&self) -> u64 {
        match self {
            SearchResult::Events(p) => p.total,
            SearchResult::Aggregation(a) => a.total,
        }
    }
}

/// One page of events, newest first, and how many matched in all.
#[derive(Debug, Clone, Serialize)]
pub struct EventPage {
    pub total: u64,
    pub offset: usize,
    pub events: Vec<Event>,
}

/// Counts grouped by fields (`| count by`) or by time bucket (`| timechart`).
#[derive(Debug, Clone, Serialize)]
pub struct Aggregation {
    /// Names of the grouping fields (empty for a plain `| count`).
    pub by: Vec<String>,
    /// Groups by descending count: the values of the `by` fields, then the count.
    pub rows: Vec<(Vec<serde_json::Value>, u64)>,
    /// For `| timechart`: one bucket per span, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<TimeBucket>>,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeBucket {
    pub start: DateTime<Utc>,
    /// Count per series value (`null` series when there is no `by`).
    pub counts: Vec<(serde_json::Value, u64)>,
}

/// Which dead letters to list.
#[derive(Debug, Clone, Default)]
pub struct DeadLetterQuery {
    pub source: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: usize,
}

/// A configured source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub name: String,
    /// Wire format name (`tandem`, `json`, `csv`, `syslog`).
    pub format: String,
    pub vendor: Option<String>,
    pub product: Option<String>,
    /// SHA-256 of the API key, hex. API keys are long random tokens, so a fast hash is safe
    /// and keeps per-request checks cheap; passwords use argon2 instead.
    #[serde(skip_serializing)]
    pub key_sha256: Option<String>,
    /// How long silence is normal for this source, in seconds.
    pub expected_interval_secs: Option<u64>,
}

/// The health of one source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceStats {
    pub name: String,
    pub registered: bool,
    pub last_event_time: Option<DateTime<Utc>>,
    pub last_received: Option<DateTime<Utc>>,
    pub events_total: u64,
    /// Over the last five minutes of arrivals.
    pub events_per_minute: f64,
    pub dead_letters_total: u64,
    pub rejected_total: u64,
}

/// How long and how much to keep.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Segments whose newest event is older than this many days are deleted.
    pub max_age_days: Option<u64>,
    /// Oldest segments are deleted until the events take no more than this many MiB.
    pub max_size_mib: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionReport {
    pub segments_deleted: usize,
    pub events_deleted: u64,
    pub dead_letters_deleted: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreStatus {
    pub events: u64,
    pub segments: usize,
    /// Segments whose bulk indexes are still being built.
    pub segments_sealing: usize,
    pub file_bytes: u64,
    pub queued_events: usize,
    pub oldest_event: Option<DateTime<Utc>>,
    pub newest_event: Option<DateTime<Utc>>,
    /// Memory the store's database engine holds now (page caches, schemas, prepared
    /// statements), so memory that grows can be told apart from the server's own.
    pub engine_memory_bytes: u64,
}

/// The fields a search box suggests, with what each holds, in the order people reach for
/// them. Each has a column of its own (so it is fast to filter and count by); any other
/// event field (`place.building`) or vendor field (`winlog.event_id`) can be searched too.
pub const SEARCH_FIELDS: &[(&str, &str)] = &[
    (
        "user",
        "account name as the source wrote it (alice, ALICE@corp)",
    ),
    (
        "person",
        "the person in the directory the event was resolved to",
    ),
    (
        "class",
        "kind of event: authentication, physical_access, network_activity, …",
    ),
    (
        "activity",
        "what happened: logon, granted, denied, forced, held_open, …",
    ),
    ("outcome", "success or failure"),
    ("severity", "informational, low, medium, high, critical"),
    ("site", "site of a door, reader or camera"),
    ("zone", "zone within a site (server room, lobby)"),
    ("door", "door or reader"),
    ("host", "computer name"),
    ("src.ip", "address the connection came from"),
    ("dst.ip", "address the connection went to"),
    ("ip", "either address"),
    ("source", "the Tandem source that sent the event"),
    ("message", "the event's text"),
    ("time", "event time; ranges like time:[now-1h TO now]"),
];
