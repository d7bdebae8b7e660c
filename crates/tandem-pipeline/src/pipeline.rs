//! The path every source shares after framing: decode, check, store, acknowledge.
//!
//! A [`Pipeline`] knows the configured sources and their keys, decodes a body or a run of
//! lines into a [`Decoded`] batch (good events, dead letters for what could not be decoded,
//! per-line errors for the sender), and commits it to the store. [`Pipeline::commit`] returns
//! only once the store reports the batch durable, so whoever acknowledges to a sender after it
//! keeps the promise that acknowledged means stored. Every committed batch is then offered
//! to live listeners ([`Pipeline::subscribe`]), after the commit, so what the live monitor
//! shows is always already stored.
//!
//! Events no sender sent, which Tandem raises itself (SCIM's account changes, a detection
//! tick's findings), enter through [`Pipeline::commit_internal`] with their [`Origin`]: the
//! same stages after decoding, the same commit and the same live feed. Nothing else writes
//! events to the store.

use crate::metrics::{IngestMetrics, PathLabel, SourceLabel};
use chrono::{Duration, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tandem_detect::Detector;
use tandem_identity::Identity;
use tandem_ingest::decode::{
    self, DecodeContext, DecodeError, Format, MessageDecoder, split_lines,
};
use tandem_ingest::integrations::mapping::Mapping;
use tandem_ingest::integrations::verkada::ReplayGuard;
use tandem_model::{Class, DeadLetter, Event, Finding, Timestamp};
use tandem_store::{EventStore, SourceRecord, StoreError, WriteBatch, hash_key};
use tokio::sync::broadcast;

/// A configured source as the pipeline needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub name: String,
    pub format: Format,
    pub vendor: Option<String>,
    pub product: Option<String>,
    /// SHA-256 of the API key, hex; `None` means the source cannot use HTTP ingest.
    pub key_sha256: Option<String>,
    /// Shared secret of a signed-webhook source (Verkada). Kept in the configuration only,
    /// never in the store: checking an HMAC needs the secret itself, not a hash of it.
    pub webhook_secret: Option<Arc<str>>,
    /// Field mapping of a [`Format::Mapped`] source.
    pub mapping: Option<Arc<Mapping>>,
}

impl Source {
    pub fn new(name: &str, format: Format) -> Source {
        Source {
            name: name.to_owned(),
            format,
            vendor: None,
            product: None,
            key_sha256: None,
            webhook_secret: None,
            mapping: None,
        }
    }

    /// A decoder for this source's messages (one per request body or connection).
    pub fn decoder(&self) -> MessageDecoder {
        MessageDecoder::new(self.format, self.mapping.clone())
    }

    pub fn record(&self) -> SourceRecord {
        SourceRecord {
            name: self.name.clone(),
            format: self.format.name().to_owned(),
            vendor: self.vendor.clone(),
            product: self.product.clone(),
            key_sha256: self.key_sha256.clone(),
            expected_interval_secs: None,
        }
    }
}

/// How every `.evtx` file starts.
const EVTX_MAGIC: &[u8] = b"ElfFile\0";

/// Whether `body` is a single JSON value (possibly pretty-printed over many lines) rather
/// than JSON lines.
fn is_one_json_document(body: &[u8]) -> bool {
    let trimmed = body.trim_ascii();
    matches!(trimmed.first(), Some(b'{' | b'['))
        && serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok()
}

/// Limits that protect the store from one misbehaving sender.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_line_bytes: usize,
    /// Events dated further ahead of their receipt than this are dead-lettered: a source
    /// with a wrong clock would otherwise put events where no time-bounded search finds them.
    pub max_future_skew: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 32 * 1024 * 1024,
            max_line_bytes: 1024 * 1024,
            max_future_skew: Duration::hours(1),
        }
    }
}

/// Most events a decoded body reserves room for before it has read them (about 11 MB).
const RESERVE_EVENTS: usize = 8_192;

/// Why a request was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unknown source `{0}`; register it first (tandem sources add {0})")]
    UnknownSource(String),
    #[error("missing or wrong API key for source `{0}`")]
    BadKey(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One line that did not become an event.
#[derive(Debug, Clone, Serialize)]
pub struct LineError {
    pub line: u64,
    pub error: String,
}

/// What happened to a batch, as told to its sender.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    pub accepted: u64,
    pub rejected: u64,
    /// The first errors, by line (at most [`MAX_REPORTED_ERRORS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<LineError>,
}

/// Errors listed in one report; the rest are counted and kept as dead letters.
pub const MAX_REPORTED_ERRORS: usize = 20;

/// A decoded batch waiting to be committed.
#[derive(Clone)]
pub struct Decoded {
    pub source: String,
    pub events: Vec<Event>,
    pub dead_letters: Vec<DeadLetter>,
    pub report: IngestReport,
    pub received: Instant,
    /// Findings detection added to `events` (Tandem's, not the sender's).
    pub findings: u64,
    /// Events of the sender's that detection evaluated (all of them when detection runs).
    pub analysed: u64,
}

impl Decoded {
    fn new(source: &str) -> Decoded {
        Decoded {
            source: source.to_owned(),
            events: Vec::new(),
            dead_letters: Vec::new(),
            report: IngestReport::default(),
            received: Instant::now(),
            findings: 0,
            analysed: 0,
        }
    }

    /// The sender's events in the batch and how many of them detection evaluated.
    fn analysis(&self) -> (u64, u64) {
        (
            (self.events.len() as u64).saturating_sub(self.findings),
            self.analysed,
        )
    }

    /// Adds input that could not even be framed (an oversized or unfinished syslog frame) as
    /// a dead letter with its reason.
    pub fn add_dead_letter(&mut self, dead_letter: DeadLetter) {
        self.report.rejected += 1;
        self.dead_letters.push(dead_letter);
    }

    fn reject(&mut self, line: u64, reason: String, raw: &[u8]) {
        self.report.rejected += 1;
        if self.report.errors.len() < MAX_REPORTED_ERRORS {
            self.report.errors.push(LineError {
                line,
                error: reason.clone(),
            });
        }
        self.dead_letters.push(DeadLetter::new(
            &self.source,
            format!("line {line}: {reason}"),
            raw,
        ));
    }
}

/// How many committed batches the live feed keeps for a listener that has fallen behind.
/// A listener further behind skips ahead (and is told how many it missed); ingest never
/// waits for a listener.
pub const LIVE_FEED_BATCHES: usize = 1024;

/// Whether a batch holds a finding.
/// Which classes a batch holds, indexed as [`Class::ALL`].
type HeldClasses = [bool; Class::ALL.len()];

fn classes_in(events: &[Event]) -> HeldClasses {
    let mut held = [false; Class::ALL.len()];
    for e in events {
        held[class_index(e.class)] = true;
    }
    held
}

fn class_index(class: Class) -> usize {
    Class::ALL.iter().position(|c| *c == class).unwrap_or(0)
}

/// How many committed batches held each class of event, indexed as [`Class::ALL`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitCounts([u64; Class::ALL.len()]);

impl CommitCounts {
    fn with(&self, classes: &[Class]) -> u64 {
        classes.iter().map(|c| self.0[class_index(*c)]).sum()
    }
}

/// A stage's wake-up from [`Pipeline::wake_on`].
pub struct CommitWaker {
    rx: tokio::sync::watch::Receiver<CommitCounts>,
    classes: Vec<Class>,
    seen: u64,
}

impl CommitWaker {
    /// Returns once a batch holding one of the classes has committed since the last return
    /// (or since the waker was made); an error once the pipeline is gone.
    pub async fn committed(&mut self) -> Result<(), tokio::sync::watch::error::RecvError> {
        let (classes, seen) = (&self.classes, self.seen);
        let now = self
            .rx
            .wait_for(|c| c.with(classes) != seen)
            .await?
            .with(classes);
        self.seen = now;
        Ok(())
    }

    /// Waits for a stage's next round: a batch of its classes committed, or `poll` passed
    /// (a retry after an error), then lets more batches gather for `gather` so a stream of
    /// small batches costs a few rounds, not one each. `false` when the stage should stop:
    /// shutdown, or the pipeline gone.
    pub async fn next_round(
        &mut self,
        poll: std::time::Duration,
        gather: std::time::Duration,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> bool {
        tokio::select! {
            r = self.committed() => {
                if r.is_err() {
                    return false;
                }
            }
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.wait_for(|s| *s) => return false,
        }
        if gather.is_zero() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(gather) => true,
            _ = shutdown.wait_for(|s| *s) => false,
        }
    }
}

/// One committed batch as the live feed hands it out: the events (findings included) exactly
/// as stored, shared by every listener.
pub type LiveBatch = Arc<[Event]>;

/// Where events that no sender sent come from: Tandem raises them itself. The origin decides
/// which of the stages after decoding they still need; storing and announcing are the same
/// for every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A change made to the identity directory (a SCIM deactivation or deletion). The event
    /// names its person exactly already; it is resolved against the directory as it is now
    /// (for the device and place, without counting gaps: they tell operators about their
    /// senders) and detected with that snapshot, so detections see the change as it happens.
    Directory,
    /// Findings of a detection tick (absence detections). The detector has already placed
    /// them; they are not resolved and never detected again, so a finding cannot raise
    /// findings about itself, just as the findings of an ingested batch are not.
    Findings,
    /// Changes to alerts and incidents (`tandem-cases`): an alert opened, an incident's
    /// status changed, an SLA breached. Stored and announced as they are, like findings:
    /// never resolved or detected, so a case cannot raise findings about itself.
    Cases,
}

/// The shared ingest path.
pub struct Pipeline {
    store: Arc<dyn EventStore>,
    sources: RwLock<HashMap<String, Source>>,
    metrics: Arc<IngestMetrics>,
    limits: Limits,
    identity: Option<Arc<Identity>>,
    detector: Option<Arc<Detector>>,
    /// Committed batches for live listeners (the console's live monitor).
    live: RwLock<Option<broadcast::Sender<LiveBatch>>>,
    /// How many committed batches held each class of event: what the stages after the
    /// commit (alerts, alarms, camera snapshots) wake up on.
    commits: tokio::sync::watch::Sender<CommitCounts>,
    /// Signed webhook deliveries seen within their replay window.
    replays: ReplayGuard,
}

impl Pipeline {
    pub fn new(
        store: Arc<dyn EventStore>,
        limits: Limits,
        metrics: Arc<IngestMetrics>,
    ) -> Pipeline {
        Pipeline {
            store,
            sources: RwLock::new(HashMap::new()),
            metrics,
            limits,
            identity: None,
            detector: None,
            live: RwLock::new(Some(broadcast::channel(LIVE_FEED_BATCHES).0)),
            commits: tokio::sync::watch::channel(CommitCounts::default()).0,
            replays: ReplayGuard::default(),
        }
    }

    /// Wakes its holder each time a committed batch held an event of one of `classes`: the
    /// stages after the commit (alerts, alarms, camera snapshots) read what they need from
    /// the store and only need to know when to look. Listening to the live feed instead made
    /// every committed batch be copied for them, all its events (10 % of the server's time
    /// under sustained ingest, measured by `tandem bench`).
    pub fn wake_on(&self, classes: &[Class]) -> CommitWaker {
        let rx = self.commits.subscribe();
        let seen = rx.borrow().with(classes);
        CommitWaker {
            rx,
            classes: classes.to_vec(),
            seen,
        }
    }

    /// Counts a committed batch for [`Pipeline::wake_on`] under each class it held.
    fn note_committed(&self, held: HeldClasses) {
        if held.iter().any(|h| *h) {
            self.commits.send_modify(|c| {
                for (n, h) in c.0.iter_mut().zip(held) {
                    *n += u64::from(h);
                }
            });
        }
    }

    /// The signed webhook deliveries seen recently, so a copy of one is dropped rather than
    /// stored twice.
    pub fn webhook_replays(&self) -> &ReplayGuard {
        &self.replays
    }

    /// Listens to every batch committed from now on. The channel is bounded
    /// ([`LIVE_FEED_BATCHES`]): a listener that falls behind gets
    /// `RecvError::Lagged` and continues with newer batches, so a slow browser never holds
    /// up ingest. After [`Pipeline::close_live`] the receiver reports `Closed` at once.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveBatch> {
        match &*self.live.read().unwrap_or_else(|p| p.into_inner()) {
            Some(tx) => tx.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// Ends every live listener (at shutdown), so that open live monitors do not hold the
    /// HTTP server's graceful shutdown open.
    pub fn close_live(&self) {
        self.live.write().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// The live feed's sender while someone listens.
    fn live_sender(&self) -> Option<broadcast::Sender<LiveBatch>> {
        self.live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|tx| tx.receiver_count() > 0)
            .cloned()
    }

    /// A copy of the batch for the live listeners, made only when someone is listening so
    /// that ingest without a console open pays nothing.
    fn live_copy(&self, decoded: &Decoded) -> Option<(broadcast::Sender<LiveBatch>, LiveBatch)> {
        if decoded.events.is_empty() {
            return None;
        }
        self.live_sender()
            .map(|tx| (tx, decoded.events.as_slice().into()))
    }

    fn announce(&self, copy: Option<(broadcast::Sender<LiveBatch>, LiveBatch)>) {
        if let Some((tx, batch)) = copy {
            // No listener left is not an error: the copy is just dropped.
            let _ = tx.send(batch);
        }
    }

    /// Evaluates every resolved event against the detections before it is stored; findings
    /// are stored in the same batch as their evidence.
    pub fn with_detector(mut self, detector: Arc<Detector>) -> Pipeline {
        self.detector = Some(detector);
        self
    }

    pub fn detector(&self) -> Option<&Arc<Detector>> {
        self.detector.as_ref()
    }

    /// Resolves every event to the directory's people, devices and places before it is
    /// stored.
    pub fn with_identity(mut self, identity: Arc<Identity>) -> Pipeline {
        self.identity = Some(identity);
        self
    }

    pub fn identity(&self) -> Option<&Arc<Identity>> {
        self.identity.as_ref()
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn metrics(&self) -> &Arc<IngestMetrics> {
        &self.metrics
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Adds or replaces a source, in memory and in the store.
    pub fn register(&self, source: Source) -> Result<(), StoreError> {
        self.store.upsert_source(&source.record())?;
        self.sources
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(source.name.clone(), source);
        Ok(())
    }

    /// Loads the sources registered in the store.
    pub fn load_registered(&self) -> Result<usize, StoreError> {
        let records = self.store.sources()?;
        let mut map = self.sources.write().unwrap_or_else(|p| p.into_inner());
        for r in &records {
            let Ok(format) = r.format.parse() else {
                tracing::warn!(source = %r.name, format = %r.format, "unknown format; source skipped");
                continue;
            };
            map.insert(
                r.name.clone(),
                Source {
                    name: r.name.clone(),
                    format,
                    vendor: r.vendor.clone(),
                    product: r.product.clone(),
                    key_sha256: r.key_sha256.clone(),
                    webhook_secret: None,
                    mapping: None,
                },
            );
        }
        Ok(records.len())
    }

    pub fn source(&self, name: &str) -> Option<Source> {
        self.sources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Checks an HTTP sender's key for `name`.
    pub fn authenticate(&self, name: &str, key: Option<&str>) -> Result<Source, IngestError> {
        let Some(source) = self.source(name) else {
            // The name is the sender's, unauthenticated: one label for all of them.
            self.metrics
                .reject(crate::metrics::UNKNOWN_SOURCE, "unknown_source", 1);
            return Err(IngestError::UnknownSource(name.to_owned()));
        };
        match (&source.key_sha256, key) {
            (Some(expected), Some(key)) if *expected == hash_key(key) => Ok(source),
            _ => {
                self.metrics.reject(name, "bad_key", 1);
                Err(IngestError::BadKey(name.to_owned()))
            }
        }
    }

    /// The decoding context for a message from `source` received at `received`.
    pub fn context(&self, source: &Source, received: Timestamp) -> DecodeContext {
        DecodeContext {
            source: source.name.clone(),
            vendor: source.vendor.clone(),
            product: source.product.clone(),
            received,
            default_year: None,
        }
    }

    /// Decodes a request body in the source's format: lines (NDJSON, CEF, Zeek, Winlogbeat),
    /// CSV, one JSON document (an Okta delivery, a Graph page), or a whole `.evtx` file.
    pub fn decode_body(&self, source: &Source, body: &[u8]) -> Decoded {
        let received = Utc::now();
        let ctx = self.context(source, received);
        let mut out = Decoded::new(&source.name);
        let mut decoder = source.decoder();
        if source.format == Format::Csv {
            for (line, result, raw) in decode::decode_csv(body, &ctx) {
                self.accept(&mut out, line, result, raw.as_bytes());
            }
        } else if source.format == Format::Windows && body.starts_with(EVTX_MAGIC) {
            for (record, result) in tandem_ingest::integrations::windows::decode_evtx(body, &ctx) {
                self.accept(&mut out, record, result, b"");
            }
        } else if source.format.takes_whole_documents() && is_one_json_document(body) {
            let result = decoder.decode(body, &ctx);
            self.accept_many(&mut out, 1, result, body);
        } else {
            // Events are large (over a kilobyte): room for one per line up front saves
            // regrowing, and copying, the batch as it fills. Bounded, so a body of empty
            // lines cannot make it reserve gigabytes.
            let lines = body.iter().filter(|b| **b == b'\n').count() + 1;
            out.events.reserve(lines.min(RESERVE_EVENTS));
            for (line, result) in split_lines(body, self.limits.max_line_bytes) {
                match result {
                    Ok(bytes) => match decoder.decode_one(bytes, &ctx) {
                        Some(result) => self.accept(&mut out, line, result, bytes),
                        None => {
                            let decoded = decoder.decode(bytes, &ctx);
                            self.accept_many(&mut out, line, decoded, bytes);
                        }
                    },
                    Err(too_long) => {
                        self.metrics.reject(&source.name, "line_too_long", 1);
                        out.reject(line, too_long.to_string(), b"");
                    }
                }
            }
        }
        self.count_received(&out);
        self.enrich(&mut out);
        out
    }

    /// Decodes messages already framed by a listener (one syslog message each).
    pub fn decode_messages<'a>(
        &self,
        source: &Source,
        messages: impl IntoIterator<Item = &'a [u8]>,
    ) -> Decoded {
        let ctx = self.context(source, Utc::now());
        let mut out = Decoded::new(&source.name);
        let mut decoder = source.decoder();
        for (i, message) in messages.into_iter().enumerate() {
            let decoded = decoder.decode(message, &ctx);
            self.accept_many(&mut out, i as u64 + 1, decoded, message);
        }
        self.count_received(&out);
        self.enrich(&mut out);
        out
    }

    /// Resolve, then detect: the stages between decoding and storing. Run on the decoding
    /// thread (a blocking thread for HTTP bodies), so they never stall the async runtime.
    fn enrich(&self, out: &mut Decoded) {
        if out.events.is_empty() {
            return;
        }
        // Detection reads the very snapshot resolution used, so a directory change published
        // in between cannot give the two stages different versions of a person.
        let dir = self
            .identity
            .as_ref()
            .map(|identity| identity.resolve_batch(&out.source, &mut out.events));
        if let Some(detector) = &self.detector {
            let dir = dir.unwrap_or_default();
            let findings = detector.process(&out.events, &dir);
            out.analysed = out.events.len() as u64;
            out.findings = findings.len() as u64;
            if !findings.is_empty() {
                self.metrics.count_findings(&findings);
                out.events.extend(findings.iter().map(Finding::to_event));
            }
        }
    }

    /// The stages an event Tandem raised itself still needs before it is stored (see
    /// [`Origin`]): for a directory change, resolution against the current snapshot and
    /// detection with that same snapshot, its findings joining the batch.
    fn enrich_internal(&self, events: &mut Vec<Event>, origin: Origin) -> (u64, u64) {
        if matches!(origin, Origin::Findings | Origin::Cases) || events.is_empty() {
            return (0, 0);
        }
        let ingested = events.len() as u64;
        let mut analysed = 0;
        let dir = self.identity.as_ref().map(|identity| {
            let dir = identity.snapshot();
            for e in events.iter_mut() {
                dir.resolve(e);
            }
            dir
        });
        if let Some(detector) = &self.detector {
            let dir = dir.unwrap_or_default();
            let findings = detector.process(events, &dir);
            analysed = ingested;
            if !findings.is_empty() {
                self.metrics.count_findings(&findings);
                events.extend(findings.iter().map(Finding::to_event));
            }
        }
        (ingested, analysed)
    }

    /// Stores events Tandem raised itself (SCIM's account changes, a detection tick's
    /// findings) the way [`Pipeline::commit`] stores decoded ones, minus decoding: through the
    /// stages their [`Origin`] calls for, then durably, then to the live listeners. Returns
    /// once the batch is durable, so a caller that answers afterwards keeps the promise that
    /// acknowledged means stored. It runs detection and waits for the commit, so call it from
    /// a blocking thread (`spawn_blocking`), never on the async runtime.
    pub fn commit_internal(
        &self,
        mut events: Vec<Event>,
        origin: Origin,
    ) -> Result<(), IngestError> {
        let analysis = self.enrich_internal(&mut events, origin);
        if events.is_empty() {
            return Ok(());
        }
        let copy = self.live_sender().map(|tx| (tx, events.as_slice().into()));
        let held = classes_in(&events);
        self.store.submit(WriteBatch::events(events))?.wait()?;
        self.metrics.count_analysis(analysis);
        self.announce(copy);
        self.note_committed(held);
        Ok(())
    }

    fn count_received(&self, out: &Decoded) {
        let n = out.events.len() as u64 + out.report.rejected;
        self.metrics
            .received
            .get_or_create(&SourceLabel {
                source: out.source.clone(),
            })
            .inc_by(n);
    }

    fn accept(&self, out: &mut Decoded, line: u64, result: Result<Event, DecodeError>, raw: &[u8]) {
        match result {
            Ok(event) => self.accept_event(out, line, event, raw),
            Err(e) => self.refuse(out, line, e, raw),
        }
    }

    /// Decoded results from any framing (MQTT messages, webhook bodies) as one batch.
    pub fn collect<'a>(
        &self,
        source: &Source,
        results: impl IntoIterator<Item = (u64, Result<Vec<Event>, DecodeError>, &'a [u8])>,
    ) -> Decoded {
        let mut out = Decoded::new(&source.name);
        for (line, result, raw) in results {
            self.accept_many(&mut out, line, result, raw);
        }
        self.count_received(&out);
        self.enrich(&mut out);
        out
    }

    fn accept_many(
        &self,
        out: &mut Decoded,
        line: u64,
        result: Result<Vec<Event>, DecodeError>,
        raw: &[u8],
    ) {
        match result {
            Ok(events) => {
                for event in events {
                    self.accept_event(out, line, event, raw);
                }
            }
            Err(e) => self.refuse(out, line, e, raw),
        }
    }

    /// A line that gave no event: nothing for an empty one, a dead letter otherwise.
    fn refuse(&self, out: &mut Decoded, line: u64, error: DecodeError, raw: &[u8]) {
        if !matches!(error, DecodeError::Empty) {
            self.metrics.reject(&out.source, "parse", 1);
            out.reject(line, error.to_string(), raw);
        }
    }

    fn accept_event(&self, out: &mut Decoded, line: u64, event: Event, raw: &[u8]) {
        let received = event.observed_time.unwrap_or_else(Utc::now);
        if event.time > received + self.limits.max_future_skew {
            self.metrics.reject(&out.source, "clock_skew", 1);
            let ahead = event.time - received;
            out.reject(
                line,
                format!(
                    "event time {} is {} ahead of the time it was received (limit {}); check the source's clock",
                    event.time.to_rfc3339(),
                    human(ahead),
                    human(self.limits.max_future_skew)
                ),
                raw,
            );
        } else {
            out.events.push(event);
            out.report.accepted += 1;
        }
    }

    /// Stores a decoded batch and waits until it is durable.
    pub async fn commit(&self, decoded: Decoded, path: &str) -> Result<IngestReport, IngestError> {
        let analysis = decoded.analysis();
        let copy = self.live_copy(&decoded);
        let held = classes_in(&decoded.events);
        let (batch, source, report, received) = self.prepare(decoded);
        let n = batch.events.len() as u64;
        let dead = batch.dead_letters.len() as u64;
        let commit = match self.store.submit(batch) {
            Ok(c) => c,
            Err(e) => {
                if matches!(e, StoreError::Busy { .. }) {
                    self.metrics.reject(&source, "busy", n);
                }
                return Err(e.into());
            }
        };
        commit.await?;
        self.metrics.count_analysis(analysis);
        self.committed(&source, n, dead, received, path);
        self.announce(copy);
        self.note_committed(held);
        Ok(report)
    }

    /// [`Pipeline::commit`] for threads outside an async runtime.
    pub fn commit_blocking(
        &self,
        decoded: Decoded,
        path: &str,
    ) -> Result<IngestReport, IngestError> {
        let analysis = decoded.analysis();
        let copy = self.live_copy(&decoded);
        let held = classes_in(&decoded.events);
        let (batch, source, report, received) = self.prepare(decoded);
        let n = batch.events.len() as u64;
        let dead = batch.dead_letters.len() as u64;
        self.store.submit(batch)?.wait()?;
        self.metrics.count_analysis(analysis);
        self.committed(&source, n, dead, received, path);
        self.announce(copy);
        self.note_committed(held);
        Ok(report)
    }

    fn prepare(&self, decoded: Decoded) -> (WriteBatch, String, IngestReport, Instant) {
        // Every rejected line is also a dead letter, which the store counts per source.
        let batch = WriteBatch {
            events: decoded.events,
            dead_letters: decoded.dead_letters,
            rejected: Vec::new(),
        };
        (batch, decoded.source, decoded.report, decoded.received)
    }

    fn committed(&self, source: &str, events: u64, dead: u64, received: Instant, path: &str) {
        let label = SourceLabel {
            source: source.to_owned(),
        };
        self.metrics.stored.get_or_create(&label).inc_by(events);
        if dead > 0 {
            self.metrics
                .dead_lettered
                .get_or_create(&label)
                .inc_by(dead);
        }
        self.metrics
            .ack_latency
            .get_or_create(&PathLabel {
                path: path.to_owned(),
            })
            .observe(received.elapsed().as_secs_f64());
    }
}

/// `3h 5m`, `2d 4h`, `45s`: durations as operators read them.
fn human(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}
