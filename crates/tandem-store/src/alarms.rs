//! The control room's alarms as the store keeps them: one record per alarm (a few indexed
//! columns and the whole record as JSON), the append-only list of what people did to each,
//! and each user's choice of an alarm sound.
//!
//! What raises, folds and clears an alarm is decided by `tandem-cases` (`alarms.rs`); the
//! store only keeps the records, refuses a write based on a stale version, and writes a
//! reader's cursor in the same transaction as the alarms it produced, so a reader killed
//! between two reads raises nothing twice.

use crate::StoreError;
use serde::{Deserialize, Serialize};
use tandem_model::{Severity, Timestamp, Ulid};

/// Where an alarm is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    /// Raised and not yet acknowledged: it counts in the menu and the tab title.
    Active,
    /// Someone has said they are on it.
    Acknowledged,
    /// Over: the door closed or the camera came back, or someone cleared it by hand.
    Cleared,
}

impl AlarmState {
    pub fn code(self) -> &'static str {
        match self {
            AlarmState::Active => "active",
            AlarmState::Acknowledged => "acknowledged",
            AlarmState::Cleared => "cleared",
        }
    }
}

/// One alarm: a kind of trouble at one door or device, with every repeat folded in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// A ULID, so ids sort by when the alarm was raised.
    pub id: String,
    /// `door_forced`, `door_held_open`, `door_tamper`, `door_duress`, `camera_offline`,
    /// `physical_finding`.
    pub kind: String,
    /// What the alarm is about: a door's or camera's place id, a device, or for a finding its
    /// rule and place. One alarm per (kind, target) is open at a time.
    pub target: String,
    /// What the operator reads first ("Door forced open").
    pub title: String,
    /// One sentence: the latest event's message or the finding's summary.
    pub summary: String,
    pub severity: Severity,
    pub state: AlarmState,
    /// Whether it must be acknowledged before it may be cleared.
    pub ack_required: bool,
    /// The door closed or the device came back after the latest repeat; an alarm that must be
    /// acknowledged waits for that, the others are cleared at once.
    #[serde(default)]
    pub back_to_normal: bool,
    /// The place (door, camera) the alarm is at, when the directory knows it, and its name.
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub place_name: Option<String>,
    /// The site's id (as the directory knows it) and name.
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub site_name: Option<String>,
    /// A device's name, for device alarms.
    #[serde(default)]
    pub device: Option<String>,
    /// How many events raised or repeated it.
    pub count: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The latest events that raised or repeated it (at most [`ALARM_EVENTS`]), oldest
    /// first, and the one that cleared it.
    pub events: Vec<Ulid>,
    /// The finding that raised it (physical findings), or the first that joined it.
    #[serde(default)]
    pub finding: Option<Ulid>,
    /// Other findings about the same situation that joined it (the Sigma rule and the
    /// native detections on one forced door), at most [`ALARM_EVENTS`].
    #[serde(default)]
    pub more_findings: Vec<Ulid>,
    /// Out of the queue until then; it comes back by itself.
    #[serde(default)]
    pub snoozed_until: Option<Timestamp>,
    /// A role, written `role:` and the role as stored (`role:responder:facilities`), or a
    /// user name: the alarm is marked on their queue.
    #[serde(default)]
    pub forwarded_to: Option<String>,
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    #[serde(default)]
    pub cleared_by: Option<String>,
    #[serde(default)]
    pub cleared: Option<Timestamp>,
    /// Starts at 1 and grows by one with every write; a write based on another version is
    /// refused.
    pub version: u64,
}

/// Events an alarm remembers; older repeats are counted, not listed.
pub const ALARM_EVENTS: usize = 20;

/// One thing done to an alarm, by a person or by Tandem (`tandem`): raised, repeated,
/// acknowledged, snoozed, forwarded, cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmAction {
    pub alarm: String,
    pub time: Timestamp,
    pub actor: String,
    /// `raised`, `acknowledged`, `snoozed`, `forwarded`, `cleared`, `back_to_normal`.
    pub action: String,
    pub comment: String,
}

/// Which alarms to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmQuery {
    /// Only this site (its id).
    pub site: Option<String>,
    /// Cleared alarms too (the latest first), not only open ones.
    pub cleared: bool,
    /// At most this many; 0 means 500.
    pub limit: usize,
}

/// The alarms' records and their actions.
pub trait AlarmStore: Send + Sync + 'static {
    /// Writes alarms and their actions in one transaction, with `cursor` (a component
    /// state name and value) when given. A record whose `version` is 1 must be new; any other
    /// must replace version - 1, or nothing is written ([`StoreError::Conflict`]).
    fn commit_alarms(
        &self,
        alarms: &[Alarm],
        actions: &[AlarmAction],
        cursor: Option<(&str, &str)>,
    ) -> Result<(), StoreError>;
    /// Open (not cleared) alarms about `target`, of every kind.
    fn open_alarms(&self, target: &str) -> Result<Vec<Alarm>, StoreError>;
    /// The targets (`door:…`, `device:…`, …) that have an open alarm: the alarms driver
    /// reads this once per chunk and asks for a target's alarms only when it is listed, not
    /// once per door event.
    fn open_alarm_targets(&self) -> Result<std::collections::HashSet<String>, StoreError>;
    fn alarm(&self, id: &str) -> Result<Option<Alarm>, StoreError>;
    /// Open alarms (and cleared ones when asked), newest first.
    fn alarms(&self, query: &AlarmQuery) -> Result<Vec<Alarm>, StoreError>;
    /// What was done to an alarm, oldest first.
    fn alarm_actions(&self, id: &str) -> Result<Vec<AlarmAction>, StoreError>;
    /// Alarms no one has acknowledged that are not snoozed at `now`.
    fn unacknowledged_alarms(&self, now: Timestamp) -> Result<u64, StoreError>;
    /// Whether `user` chose to hear a sound when an alarm arrives (off unless chosen).
    fn alarm_sound(&self, user: &str) -> Result<bool, StoreError>;
    fn set_alarm_sound(&self, user: &str, on: bool) -> Result<(), StoreError>;
}
