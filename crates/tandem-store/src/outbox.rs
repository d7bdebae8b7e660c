//! The outbox: every message Tandem owes someone (a notification to a channel), kept until
//! it is delivered or given up on.
//!
//! A driver decides what to send and writes it here in the same transaction as its cursor
//! over the events it read, so a server killed between reading and writing neither loses a
//! message nor queues one twice (the dedup key is unique: enqueuing the same case event
//! again is a no-op). A delivery worker then takes due rows, sends them, and records each
//! attempt's answer. Delivery is at least once: a crash between sending and recording sends
//! again after a restart, with the same idempotency key (the row's id).

use crate::StoreError;
use serde::{Deserialize, Serialize};
use tandem_model::Timestamp;

/// The longest answer text kept per attempt, in bytes: enough for an error page's first
/// lines on the delivery log, bounded whatever a receiver sends.
pub const OUTBOX_ANSWER_LIMIT: usize = 4 * 1024;

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its next attempt (`next_attempt`).
    Pending,
    /// Held back (a burst past the digest bound, or quiet hours) until `next_attempt`, then
    /// folded with the others of its group into one digest message.
    Held,
    /// The receiver accepted it.
    Delivered,
    /// Given up on: attempts exhausted, or an answer that will not change (a 400, a 404).
    /// Someone may send it again from the delivery log.
    Dead,
    /// Sent as part of a digest (`digest` names it), not on its own.
    Digested,
}

impl OutboxState {
    pub const ALL: [OutboxState; 5] = [
        OutboxState::Pending,
        OutboxState::Held,
        OutboxState::Delivered,
        OutboxState::Dead,
        OutboxState::Digested,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Held => "held",
            OutboxState::Delivered => "delivered",
            OutboxState::Dead => "dead",
            OutboxState::Digested => "digested",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// One message owed to a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// A ULID: sorts by when it was queued, and is the idempotency key every attempt carries.
    pub id: String,
    pub created: Timestamp,
    /// The configured channel's name; its address and secrets are read at send time, never
    /// kept here.
    pub channel: String,
    /// What it tells (`incident_opened`, `sla_breach`, …, or `digest`).
    pub kind: String,
    /// The digest group (route and channel): messages of one group are counted together
    /// against the digest bound and folded into one digest.
    pub group: String,
    /// Unique: the same case event routed to the same channel is queued once.
    pub dedup_key: String,
    /// The alert or incident it is about.
    pub case_id: Option<String>,
    /// One line for the delivery log and for a digest listing it.
    pub summary: String,
    /// The console page it links to.
    pub link: String,
    /// The rendered message (JSON: a webhook body or an e-mail's subject, text and HTML).
    pub payload: String,
    pub state: OutboxState,
    pub attempts: u32,
    /// When it is due (pending), or released (held).
    pub next_attempt: Timestamp,
    /// The HTTP status (or SMTP code) of the last attempt, when there was an answer.
    pub last_status: Option<u16>,
    /// The start of the last answer, or why there was none (at most [`OUTBOX_ANSWER_LIMIT`]).
    pub last_answer: String,
    pub delivered: Option<Timestamp>,
    /// The digest it was sent in.
    pub digest: Option<String>,
    pub updated: Timestamp,
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxAttempt {
    pub id: String,
    /// `Delivered`, `Pending` (another try at `next_attempt`) or `Dead`.
    pub state: OutboxState,
    pub attempts: u32,
    pub next_attempt: Timestamp,
    pub status: Option<u16>,
    pub answer: String,
    pub time: Timestamp,
}

/// Which messages the delivery log lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxQuery {
    pub state: Option<OutboxState>,
    pub channel: Option<String>,
    /// At most this many, newest first; 0 means 200.
    pub limit: usize,
}

/// How many messages a group sent on their own since a time, and when its held messages
/// are released, if it holds any.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutboxGroupState {
    pub sent_since: u64,
    pub held_until: Option<Timestamp>,
}

/// The outbox's rows.
pub trait OutboxStore: Send + Sync + 'static {
    /// Queues `entries` (a row whose dedup key is already queued is skipped) and writes
    /// `cursor` (a component state name and value) in the same transaction. Returns how many
    /// rows were new.
    fn enqueue(
        &self,
        entries: &[OutboxEntry],
        cursor: Option<(&str, &str)>,
    ) -> Result<usize, StoreError>;
    /// Pending rows due at `now`, the oldest due first.
    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;
    /// The earliest time a pending or held row falls due.
    fn next_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Records an attempt's outcome.
    fn record_attempt(&self, attempt: &OutboxAttempt) -> Result<(), StoreError>;
    /// Groups whose held rows are released at `now`.
    fn released_groups(&self, now: Timestamp) -> Result<Vec<String>, StoreError>;
    /// A group's held rows, oldest first.
    fn held(&self, group: &str) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Queues `digest` and marks `folded` (held rows) as sent in it, in one transaction.
    fn fold_digest(&self, digest: &OutboxEntry, folded: &[String]) -> Result<(), StoreError>;
    /// Rows `group` queued on their own (not held) since `since`, and its held rows' release.
    fn group_state(&self, group: &str, since: Timestamp) -> Result<OutboxGroupState, StoreError>;
    fn outbox_entry(&self, id: &str) -> Result<Option<OutboxEntry>, StoreError>;
    /// The delivery log: rows newest first.
    fn outbox(&self, query: &OutboxQuery) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Counts by state.
    fn outbox_counts(&self) -> Result<Vec<(OutboxState, u64)>, StoreError>;
    /// Sends a dead row again: pending, due at `now`, its attempts counted from zero.
    /// Returns false when there is no dead row with that id.
    fn retry_outbox(&self, id: &str, now: Timestamp) -> Result<bool, StoreError>;
    /// Deletes delivered, digested and dead rows last changed before `before` (retention).
    fn purge_outbox(&self, before: Timestamp) -> Result<u64, StoreError>;
}

/// `text` cut to at most `limit` bytes at a character boundary.
pub fn bounded(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
