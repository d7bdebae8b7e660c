//! What the store keeps of alerts, incidents and allow-list exceptions: versioned records
//! with the columns their lists filter and sort on, and an append-only timeline.
//!
//! The store knows nothing of what an alert or an incident means: `tandem-cases` owns their
//! shapes (the record's `doc`) and their rules. What the store guarantees is what those rules
//! need from a database: a record changes only from the version its writer read (a stale
//! write is refused with [`StoreError::Conflict`], naming the current version), one
//! [`CaseCommit`] is one transaction, timeline entries are never updated or deleted
//! (triggers refuse it), and a finding is linked to at most one case, so the alerts stage
//! can process findings again after a crash without counting any twice.

use crate::StoreError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tandem_model::Ulid;

/// The kinds of case record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    Alert,
    Incident,
    /// An allow-list entry that suppresses matching findings until it expires.
    Exception,
    /// A meeting of the security committee, with its decisions and action items.
    Meeting,
    /// The security committee itself: its members and how the chair rotates (one record).
    Committee,
    /// An employee's report (a phishing mail, a lost badge, a tailgater, …) with its
    /// conversation with the responders.
    Report,
}

impl CaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Alert => "alert",
            CaseKind::Incident => "incident",
            CaseKind::Exception => "exception",
            CaseKind::Meeting => "meeting",
            CaseKind::Committee => "committee",
            CaseKind::Report => "report",
        }
    }

    pub fn parse(s: &str) -> Option<CaseKind> {
        [
            CaseKind::Alert,
            CaseKind::Incident,
            CaseKind::Exception,
            CaseKind::Meeting,
            CaseKind::Committee,
            CaseKind::Report,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One alert, incident, exception, report, meeting or committee as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub kind: CaseKind,
    /// Human-readable and unique across kinds: `ALR-17`, `INC-4`, `EXC-2`.
    pub id: String,
    /// 1 when inserted, one more at every update.
    pub version: u64,
    /// The record's state in its own vocabulary (`new`, `acknowledged`, `closed`, …).
    pub status: String,
    /// Set when a case is closed: `true_positive`, `false_positive`, … .
    pub resolution: Option<String>,
    /// OCSF severity number (1 informational … 5 critical).
    pub severity: u8,
    /// What finds an open record again: an alert's dedup key.
    pub key: Option<String>,
    /// The record this one belongs to: an alert's incident, a merged incident's survivor.
    pub parent: Option<String>,
    /// Departments with work in the case (an incident's tasks), for "my department" lists.
    pub departments: Vec<String>,
    /// What the case is about, as `person:<id>`, `device:<id>`, `place:<id>`, `user:<name>`,
    /// `ip:<addr>`: grouping and risk find cases by them.
    pub entities: Vec<String>,
    /// Detections involved (an alert's rules), for per-rule figures.
    pub rules: Vec<String>,
    /// Sites the case happened at.
    pub sites: Vec<String>,
    pub opened: DateTime<Utc>,
    /// The last change, or for an alert the last finding folded into it.
    pub updated: DateTime<Utc>,
    /// Labels the owning stage filters its lists by beyond the columns above (an alert's
    /// `assignee:<name>`, an incident's `review`), kept in an indexed side table so a list of
    /// one label reads only its records instead of filtering the newest few thousand.
    pub tags: Vec<String>,
    /// When the owning stage must look at the record again (an incident's next SLA warning
    /// or breach, at the earliest): a periodic check reads only the records due by its time,
    /// not every open one.
    pub due: Option<DateTime<Utc>>,
    /// Parts of the record a list shows on their own (an incident's unfinished tasks while it
    /// is open), kept in a side table written with the record, so a list of one group (a
    /// department's tasks) reads only those parts instead of every record that has one.
    /// Written with every version, never read back with the record (its owner derives them
    /// from `doc`): read them with [`CaseStore::case_items`].
    pub items: Vec<CaseItem>,
    /// Everything else, in the shape `tandem-cases` gives it.
    pub doc: serde_json::Value,
}

/// One part of a record in the side table a list reads ([`CaseRecord::items`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseItem {
    /// Unique within its record: a task's id.
    pub id: String,
    /// What a list selects items by: a task's department.
    pub group: String,
    /// What the list shows, in the shape the owning stage gives it.
    pub doc: serde_json::Value,
}

/// One entry of a case's timeline. Corrections are new entries, never edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Assigned by the store, increasing; 0 before the entry is appended.
    pub seq: u64,
    pub case_id: String,
    pub time: DateTime<Utc>,
    /// Who: a user name, `tandem` for the product itself.
    pub actor: String,
    /// What happened: `opened`, `status`, `task_completed`, `sla_warn`, … .
    pub kind: String,
    pub detail: serde_json::Value,
}

/// A change to one record.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseWrite {
    /// A new record; its `version` must be 1. Refused with a conflict when the id exists.
    Insert(CaseRecord),
    /// The record replaced by a new version, written only if the stored version is still
    /// `record.version - 1`.
    Update(CaseRecord),
}

/// What one transaction writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseCommit {
    pub writes: Vec<CaseWrite>,
    pub timeline: Vec<TimelineEntry>,
    /// Findings and the case each was folded into (or suppressed by). A finding already
    /// linked makes the whole commit fail with [`StoreError::Conflict`].
    pub findings: Vec<(Ulid, String)>,
}

/// Which records a list shows. Empty fields do not filter.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseQuery {
    pub kind: CaseKind,
    pub statuses: Vec<String>,
    /// Records whose status is none of these.
    pub not_statuses: Vec<String>,
    pub min_severity: Option<u8>,
    pub department: Option<String>,
    /// Records about any of these entities.
    pub entities: Vec<String>,
    pub rule: Option<String>,
    pub site: Option<String>,
    pub key: Option<String>,
    pub parent: Option<String>,
    /// Records changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
    /// Records first stored at or after this time: a period's KPIs read only the incidents
    /// that can fall in it, not every incident ever opened.
    pub opened_since: Option<DateTime<Utc>>,
    /// Records carrying this tag.
    pub tag: Option<String>,
    /// Records due at or before this time (records without a due time never match).
    pub due_by: Option<DateTime<Utc>>,
    pub order: CaseOrder,
    pub limit: usize,
    pub offset: usize,
}

impl CaseQuery {
    /// Every record of a kind, most recently changed first, first page of 50.
    pub fn new(kind: CaseKind) -> CaseQuery {
        CaseQuery {
            kind,
            statuses: Vec::new(),
            not_statuses: Vec::new(),
            min_severity: None,
            department: None,
            entities: Vec::new(),
            rule: None,
            site: None,
            key: None,
            parent: None,
            updated_since: None,
            opened_since: None,
            tag: None,
            due_by: None,
            order: CaseOrder::Updated,
            limit: 50,
            offset: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseOrder {
    /// Most recently changed first.
    #[default]
    Updated,
    /// Most severe first, then most recently changed.
    Severity,
    /// Oldest opened first.
    Opened,
}

/// One page of records and how many matched in all.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePage {
    pub total: u64,
    pub records: Vec<CaseRecord>,
}

/// How cases of one rule were resolved: the basis of a rule's false-positive ratio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleResolutions {
    pub rule: String,
    /// Resolution → count, over closed records of the kind asked for.
    pub resolutions: Vec<(String, u64)>,
}

/// Alerts, incidents and exceptions on disk.
pub trait CaseStore: Send + Sync + 'static {
    /// Writes everything in `commit` in one transaction, or nothing: a stale update, an
    /// existing id or an already linked finding fails the whole commit with
    /// [`StoreError::Conflict`].
    fn commit_cases(&self, commit: &mut CaseCommit) -> Result<(), StoreError>;
    fn case(&self, kind: CaseKind, id: &str) -> Result<Option<CaseRecord>, StoreError>;
    fn cases(&self, query: &CaseQuery) -> Result<CasePage, StoreError>;
    /// The case's timeline after `after_seq`, oldest first.
    fn timeline(&self, case_id: &str, after_seq: u64) -> Result<Vec<TimelineEntry>, StoreError>;
    /// Of these findings, the ones already linked to a case, with the case.
    fn linked_findings(&self, ids: &[Ulid]) -> Result<Vec<(Ulid, String)>, StoreError>;
    /// The finding ids linked to a case, oldest link first, at most `limit`.
    fn case_findings(&self, case_id: &str, limit: usize) -> Result<Vec<Ulid>, StoreError>;
    /// `n` new numbers for ids of `kind`, the first returned; numbers are never reused.
    fn allocate_case_numbers(&self, kind: CaseKind, n: u64) -> Result<u64, StoreError>;
    /// Closed records of `kind` per rule and resolution.
    fn rule_resolutions(&self, kind: CaseKind) -> Result<Vec<RuleResolutions>, StoreError>;
    /// The items of every record of `kind` (of one group, or all), with the id of the record
    /// each belongs to, in record and item order.
    fn case_items(
        &self,
        kind: CaseKind,
        group: Option<&str>,
    ) -> Result<Vec<(String, CaseItem)>, StoreError>;
    /// Rewrites what the store derives from existing records (entities, rules, tags, due
    /// time, items) without a new version or a timeline entry: for records written before a derived
    /// field existed, and for a due time the owner found later than it had said. The records'
    /// other fields are not written.
    fn reindex_cases(&self, records: &[CaseRecord]) -> Result<(), StoreError>;
    /// Whether records were stored before the tags, due times or items existed (a file written by
    /// an older version), so their owner must [`CaseStore::reindex_cases`] them once.
    fn cases_need_reindex(&self) -> Result<bool, StoreError>;
    /// Records that the owner has reindexed every record.
    fn cases_reindexed(&self) -> Result<(), StoreError>;
}
