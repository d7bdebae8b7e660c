//! Everything Tandem keeps on disk: events, dead letters, sources and their health.
//!
//! Callers talk to the [`EventStore`] trait, so the embedded SQLite backend ([`SqliteStore`],
//! the default: one file, no server) can be joined by a PostgreSQL backend without touching
//! them. The store does not decode or normalise anything: it receives finished
//! [`tandem_model::Event`]s and [`tandem_model::DeadLetter`]s.
//!
//! Writes go through [`EventStore::submit`], which hands a batch to a single writer thread and
//! returns a [`Commit`] that resolves only once the batch is durable on disk. The writer groups
//! many submitted batches into one transaction (group commit), which is what makes durable
//! ingest fast.
//!
//! ```
//! use tandem_store::{EventStore, SqliteStore, StoreConfig, WriteBatch, SearchRequest};
//! use tandem_model::{Event, Class, Activity};
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
//! let mut e = Event::new("demo", Class::Authentication, Activity::Logon, chrono::Utc::now());
//! e.actor.user = Some("alice".into());
//! let receipt = store.submit(WriteBatch::events(vec![e])).unwrap().wait().unwrap();
//! assert_eq!(receipt.events, 1);
//! let req = SearchRequest::new(tandem_query::parse("user:alice").unwrap());
//! assert_eq!(store.search(&req).unwrap().total(), 1);
//! ```

mod alarms;
mod api;
mod audit;
mod cases;
mod compliance;
mod error;
mod outbox;
mod secret;
mod snapshots;
mod sqlite;
mod training;

pub use alarms::{ALARM_EVENTS, Alarm, AlarmAction, AlarmQuery, AlarmState, AlarmStore};
pub use api::{
    Aggregation, Cancel, Commit, CommitReceipt, DeadLetterQuery, EventPage, RetentionPolicy,
    RetentionReport, SEARCH_FIELDS, SearchRequest, SearchResult, SourceRecord, SourceStats,
    StoreConfig, StoreStatus, Synchronous, TimeBucket, WriteBatch,
};
pub use audit::{
    AuditCheck, AuditCheckpoint, AuditEntry, AuditKeyError, AuditKeys, AuditRecord, AuditStore,
    ChainBreak, CheckpointReport, KEYED_ACTION, audit_hash, chain_hash, check_link,
    verify_audit_chain, verify_audit_macs, verify_checkpoints,
};
pub use cases::{
    CaseCommit, CaseItem, CaseKind, CaseOrder, CasePage, CaseQuery, CaseRecord, CaseStore,
    CaseWrite, RuleResolutions, TimelineEntry,
};
pub use compliance::{
    ComplianceStore, ControlRecord, EvidenceInput, EvidenceRecord, evidence_hash,
    verify_evidence_chain,
};
pub use error::StoreError;
pub use outbox::{
    OUTBOX_ANSWER_LIMIT, OutboxAttempt, OutboxEntry, OutboxGroupState, OutboxQuery, OutboxState,
    OutboxStore, bounded,
};
pub use secret::hash_key;
pub use snapshots::{CameraSnapshot, SNAPSHOT_DIR, SnapshotStore};
pub use training::{TrainingKind, TrainingRecord, TrainingStore};

pub use sqlite::{AuditSealed, SqliteStore};

use tandem_model::{DeadLetter, Event, Ulid};

/// A console user. `password_hash` is a PHC string (argon2id), computed by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub name: String,
    pub password_hash: String,
    pub role: String,
}

/// A machine credential; only its SHA-256 is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub sha256: String,
    pub name: String,
    pub role: String,
}

/// An API token as the settings page lists it: never its secret or hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSummary {
    pub name: String,
    pub role: String,
    pub created: chrono::DateTime<chrono::Utc>,
}

/// A user as the settings page lists it: never the password hash.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSummary {
    pub name: String,
    pub role: String,
    pub created: chrono::DateTime<chrono::Utc>,
    /// Signs in through an identity provider (single sign-on), not with a password.
    pub external: bool,
}

/// Someone an identity provider vouched for: the provider (`issuer`) and its identifier for
/// them (`subject`), which never change; the user name to create their account under; the
/// role their groups give them today.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalIdentity {
    pub issuer: String,
    pub subject: String,
    pub name: String,
    pub role: String,
}

/// What [`AccountStore::sign_in_external`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum ExternalSignIn {
    /// A new account was created for them under `name`, with the role.
    Created { name: String },
    /// Their account (`name`, kept from their first sign-in) now has the role; it had
    /// `previous_role`.
    Updated { name: String, previous_role: String },
    /// An account that is not theirs (a local one, or another subject's) has the name: nothing
    /// was changed, so an identity provider can never take over a local account.
    NameTaken,
}

/// The password hash of an account that signs in through an identity provider: not a PHC
/// string, so no password ever matches it.
pub const EXTERNAL_PASSWORD_HASH: &str = "!external";

/// Users, API tokens and console sessions.
pub trait AccountStore: Send + Sync + 'static {
    /// Creates a user; `false` if the name is taken.
    fn create_user(&self, account: &Account) -> Result<bool, StoreError>;
    fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError>;
    fn user(&self, name: &str) -> Result<Option<Account>, StoreError>;
    fn user_count(&self) -> Result<u64, StoreError>;
    fn create_token(&self, token: &ApiToken) -> Result<(), StoreError>;
    fn token(&self, sha256: &str) -> Result<Option<ApiToken>, StoreError>;
    fn create_session(
        &self,
        sha256: &str,
        user: &str,
        expires: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError>;
    /// The user of a live (unexpired) session.
    fn session_user(&self, sha256: &str) -> Result<Option<Account>, StoreError>;
    fn delete_session(&self, sha256: &str) -> Result<(), StoreError>;
    /// Every user, by name.
    fn list_users(&self) -> Result<Vec<UserSummary>, StoreError>;
    /// Changes a user's role; `false` if there is no such user. Sessions keep going and
    /// carry the new role from their next request, since the role is read per request.
    fn set_role(&self, name: &str, role: &str) -> Result<bool, StoreError>;
    /// Every API token, newest first.
    fn list_tokens(&self) -> Result<Vec<TokenSummary>, StoreError>;
    /// Creates or updates the account of someone an identity provider signed in, keyed by
    /// issuer and subject, and sets its role, in one transaction. The account has no usable
    /// password ([`EXTERNAL_PASSWORD_HASH`]).
    fn sign_in_external(&self, who: &ExternalIdentity) -> Result<ExternalSignIn, StoreError>;
    /// The time zone a user chose for the console: an IANA name, or `site` for each event's
    /// site's own zone; `None` (never chosen, or no such user) means UTC.
    fn time_zone(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Keeps a user's console time zone (`None` goes back to UTC); false when there is no
    /// such user. The caller checks the name is a zone it knows.
    fn set_time_zone(&self, name: &str, zone: Option<&str>) -> Result<bool, StoreError>;
    /// Ends every session of the account linked to `issuer` and `subject` (someone the
    /// identity provider no longer gives a role); its name, if there is such an account.
    fn end_external_sessions(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError>;
}

/// One change to the identity directory. The directory is never edited in place: every
/// change is appended with the time from which it is true (`effective`, which may lie in the
/// past, as with a termination entered late, or in the future) and the time Tandem learnt it
/// (`recorded`), so both "what was true then" and "what did we know then" have answers.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryChange {
    /// Assigned by the store; 0 before the change is appended.
    pub seq: u64,
    /// `person`, `device`, `place`, `group`.
    pub kind: String,
    /// The entity's directory id.
    pub key: String,
    pub effective: chrono::DateTime<chrono::Utc>,
    pub recorded: chrono::DateTime<chrono::Utc>,
    /// Which feed made it: `scim`, `hr:<file>`, `places:<file>`, `api:<user>`.
    pub origin: String,
    /// What the record is from `effective` on.
    pub body: ChangeBody,
}

/// What a [`DirectoryChange`] says about its record from its effective time on.
///
/// A type of its own rather than an `Option`, so that a state that failed to serialise
/// (`to_value(..).ok()`) can never be recorded as a deletion: a removal is only ever said in
/// so many words, with [`DirectoryChange::removed`], and serialisation errors come back from
/// [`DirectoryChange::state`] as errors.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeBody {
    /// The record's whole state (a person, device, place or group as JSON).
    State(serde_json::Value),
    /// The record no longer exists. People are never removed (leaving is a `terminated`
    /// state); groups and places can be.
    Removed,
}

impl ChangeBody {
    /// The state, or `None` for a removal.
    pub fn state(&self) -> Option<&serde_json::Value> {
        match self {
            ChangeBody::State(v) => Some(v),
            ChangeBody::Removed => None,
        }
    }
}

impl DirectoryChange {
    /// A change recorded now.
    pub fn new(
        kind: &str,
        key: &str,
        effective: chrono::DateTime<chrono::Utc>,
        origin: &str,
        body: ChangeBody,
    ) -> DirectoryChange {
        DirectoryChange {
            seq: 0,
            kind: kind.to_owned(),
            key: key.to_owned(),
            effective,
            recorded: chrono::Utc::now(),
            origin: origin.to_owned(),
            body,
        }
    }

    /// A change that sets the record's whole state to `state`, recorded now. A state that
    /// cannot be serialised is an error for the caller, never an empty body.
    pub fn state<T: serde::Serialize + ?Sized>(
        kind: &str,
        key: &str,
        effective: chrono::DateTime<chrono::Utc>,
        origin: &str,
        state: &T,
    ) -> Result<DirectoryChange, serde_json::Error> {
        let value = serde_json::to_value(state)?;
        Ok(DirectoryChange::new(
            kind,
            key,
            effective,
            origin,
            ChangeBody::State(value),
        ))
    }

    /// A change that removes the record from `effective` on, recorded now.
    pub fn removed(
        kind: &str,
        key: &str,
        effective: chrono::DateTime<chrono::Utc>,
        origin: &str,
    ) -> DirectoryChange {
        DirectoryChange::new(kind, key, effective, origin, ChangeBody::Removed)
    }
}

/// Small named documents that components keep across restarts (detection state, rule
/// switches): last write wins.
pub trait StateStore: Send + Sync + 'static {
    fn put_state(&self, name: &str, value: &str) -> Result<(), StoreError>;
    fn get_state(&self, name: &str) -> Result<Option<String>, StoreError>;
}

/// A file kept by its content (a floor plan image): the SHA-256 of the bytes names it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    /// Lower-case hex SHA-256 of `bytes`.
    pub sha256: String,
    /// The checked media type (`image/png`, `image/svg+xml`).
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Files the directory refers to by hash (floor plans). A file is written once and never
/// changed: the same bytes give the same name, so storing it again does nothing.
pub trait FileStore: Send + Sync + 'static {
    fn put_file(&self, file: &StoredFile) -> Result<(), StoreError>;
    fn file(&self, sha256: &str) -> Result<Option<StoredFile>, StoreError>;
}

/// The identity directory's append-only change log.
pub trait DirectoryStore: Send + Sync + 'static {
    /// Appends changes atomically and sets their `seq`.
    fn append_directory(&self, changes: &mut [DirectoryChange]) -> Result<(), StoreError>;
    /// Every change with `seq > after`, oldest first.
    fn directory_changes(&self, after: u64) -> Result<Vec<DirectoryChange>, StoreError>;
}

/// A position in the order events were committed: `(segment, row)` in the embedded store.
/// Written as `segment.row`; the default is before the first event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoreCursor {
    pub segment: u64,
    pub row: u64,
}

impl std::fmt::Display for StoreCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.segment, self.row)
    }
}

impl std::str::FromStr for StoreCursor {
    type Err = String;
    fn from_str(s: &str) -> Result<StoreCursor, String> {
        let (a, b) = s
            .split_once('.')
            .ok_or_else(|| format!("not a store position: {s:?}"))?;
        Ok(StoreCursor {
            segment: a
                .parse()
                .map_err(|_| format!("not a store position: {s:?}"))?,
            row: b
                .parse()
                .map_err(|_| format!("not a store position: {s:?}"))?,
        })
    }
}

/// The operations every backend provides.
///
/// Methods other than [`EventStore::submit`] block on I/O; async callers run them on a
/// blocking thread.
pub trait EventStore: Send + Sync + 'static {
    /// Queues a batch for the writer. Fails at once with [`StoreError::Busy`] when the write
    /// queue is full, so callers can push back on their senders instead of buffering without
    /// bound. The returned [`Commit`] resolves when the batch is durable.
    fn submit(&self, batch: WriteBatch) -> Result<Commit, StoreError>;

    /// Whether a batch of `events` would be accepted by [`EventStore::submit`] now.
    fn has_room(&self, events: usize) -> bool;

    /// Runs a search: a page of events newest first with the total count, or an aggregation.
    fn search(&self, request: &SearchRequest) -> Result<SearchResult, StoreError>;

    /// One event by id.
    fn event(&self, id: Ulid) -> Result<Option<Event>, StoreError>;

    /// Events of `class` committed after `cursor`, in commit order, at most `limit`, and the
    /// cursor to continue from. A reader that keeps its cursor durably sees every committed
    /// event of the class exactly once, whatever happened between two reads (the alerts stage
    /// reads findings this way). Retention may drop events the cursor has not reached.
    fn events_after(
        &self,
        cursor: StoreCursor,
        class: tandem_model::Class,
        limit: usize,
    ) -> Result<(Vec<Event>, StoreCursor), StoreError>;

    /// [`EventStore::events_after`] for events of any of `classes`, in one commit order (the
    /// alarms read door events, device status and findings this way, so a door that closed
    /// after it was forced is read after the alarm it clears).
    fn events_after_any(
        &self,
        cursor: StoreCursor,
        classes: &[tandem_model::Class],
        limit: usize,
    ) -> Result<(Vec<Event>, StoreCursor), StoreError>;

    /// Dead letters, newest first.
    fn dead_letters(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>, StoreError>;

    /// Registers or updates a source (its API key is stored only as a hash).
    fn upsert_source(&self, source: &SourceRecord) -> Result<(), StoreError>;

    /// Registered sources.
    fn sources(&self) -> Result<Vec<SourceRecord>, StoreError>;

    /// Health of every source that is registered or has sent anything.
    fn source_stats(&self) -> Result<Vec<SourceStats>, StoreError>;

    /// Deletes whole segments that fall outside the policy.
    fn apply_retention(&self, policy: &RetentionPolicy) -> Result<RetentionReport, StoreError>;

    /// Event count, size and writer queue depth.
    fn status(&self) -> Result<StoreStatus, StoreError>;

    /// Writes everything queued, then stops the writer. Later submits fail with
    /// [`StoreError::Closed`].
    fn close(&self) -> Result<(), StoreError>;
}
