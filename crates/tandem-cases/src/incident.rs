//! An incident: one situation that departments work together, with its tasks and its record.

use serde::{Deserialize, Serialize};
use tandem_model::{Department, Entities, Severity, Timestamp, Ulid};

use crate::Resolution;

/// Where an incident is. Each step's first time is a milestone the KPIs read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    New,
    Acknowledged,
    InProgress,
    Contained,
    Resolved,
    Closed,
}

impl IncidentStatus {
    /// Whether work on the incident is over.
    pub fn is_closed(self) -> bool {
        self == IncidentStatus::Closed
    }

    pub const ALL: [IncidentStatus; 6] = [
        IncidentStatus::New,
        IncidentStatus::Acknowledged,
        IncidentStatus::InProgress,
        IncidentStatus::Contained,
        IncidentStatus::Resolved,
        IncidentStatus::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            IncidentStatus::New => "new",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::InProgress => "in_progress",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// Traffic Light Protocol 2.0: who the incident's details may be shared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tlp {
    Red,
    #[default]
    AmberStrict,
    Amber,
    Green,
    Clear,
}

/// The times the KPIs are computed from, each set once (from the timeline; a reopened
/// incident keeps its first times and the timeline says what happened after).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Milestones {
    /// The earliest evidence.
    pub occurred: Option<Timestamp>,
    /// The first finding stored.
    pub detected: Option<Timestamp>,
    pub acknowledged: Option<Timestamp>,
    pub contained: Option<Timestamp>,
    pub resolved: Option<Timestamp>,
    pub closed: Option<Timestamp>,
}

/// Something the incident is about that can be searched for elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Observable {
    /// `ip`, `user`, `person`, `badge`, `device`, `door`, `place`, `hash`, `url`, `email`.
    pub kind: String,
    pub value: String,
}

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for the tasks it depends on.
    Blocked,
    Open,
    InProgress,
    Done,
    /// Not needed in this incident (with a comment why).
    Skipped,
}

/// Where a task's SLA timer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    #[default]
    Running,
    Paused,
    Warned,
    Breached,
    /// The task was finished in time (or without an SLA).
    Met,
}

/// A task's SLA for the incident's severity, from the playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSla {
    pub warn_minutes: u32,
    pub breach_minutes: u32,
    /// Count only the site's business hours (in the site's time zone).
    #[serde(default)]
    pub business_hours: bool,
}

/// One department's piece of work in an incident, made from a playbook task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The playbook task's id, unique within the incident.
    pub id: String,
    pub title: String,
    pub department: Department,
    /// The role expected to do it (`responder:facilities`), as the playbook says.
    pub owner_role: String,
    /// Tasks that must be done (or skipped) first.
    #[serde(default)]
    pub after: Vec<String>,
    /// Evidence the task needs before it can be completed (names of what to attach).
    #[serde(default)]
    pub required_evidence: Vec<String>,
    pub state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// When the task became open (its SLA timer starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<TaskSla>,
    #[serde(default)]
    pub sla_state: SlaState,
    /// Seconds the timer was paused, in all.
    #[serde(default)]
    pub paused_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<Timestamp>,
    /// Evidence attached to the task (sha256 of the incident's evidence files).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Finished pauses of the SLA timer, `[from, to)`: business-hours timers subtract only
    /// the business time inside them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pauses: Vec<(Timestamp, Timestamp)>,
    /// When the SLA warning fired (once per task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_warned: Option<Timestamp>,
    /// When the SLA breach fired (once per task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_breached: Option<Timestamp>,
    /// Why the task was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
}

impl Task {
    /// Done or skipped: dependants may start.
    pub fn finished(&self) -> bool {
        matches!(self.state, TaskState::Done | TaskState::Skipped)
    }

    /// Whether its SLA timer counts now: open or in progress, not paused, not yet breached
    /// (a task without an SLA has no timer).
    pub fn timer_running(&self) -> bool {
        !self.finished()
            && self.state != TaskState::Blocked
            && self.paused_since.is_none()
            && self.sla.is_some()
            && self.sla_breached.is_none()
    }
}

/// A comment; `@security`, `@hr`… mention departments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub author: String,
    pub time: Timestamp,
    pub text: String,
    #[serde(default)]
    pub mentions: Vec<Department>,
    /// The task it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

/// A file attached to an incident, kept under the data directory by its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceFile {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    pub added_by: String,
    pub time: Timestamp,
    /// The task it was attached to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Which of the task's required evidence items it provides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

/// An action item from a review, tracked to done across incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionItem {
    pub id: String,
    pub title: String,
    pub department: Department,
    pub due: chrono::NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<Timestamp>,
    /// When the SLA check found the item open past its due date and told its department
    /// (`action_item_overdue`): once per due date, so a postponed item is told again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue: Option<Timestamp>,
}

/// The most a zone is ahead of UTC (Kiribati, UTC+14): a date has passed somewhere by the
/// time the next day begins there.
const MAX_UTC_OFFSET_HOURS: i64 = 14;

impl ActionItem {
    /// Whether the SLA check has still to tell that this item passed its due date: it is
    /// open and nobody was told yet.
    pub fn awaiting_overdue(&self) -> bool {
        self.done.is_none() && self.overdue.is_none()
    }

    /// The earliest instant the item's due date can have passed in any zone (the day after
    /// it begins at UTC+14); the check decides in the site's own zone.
    pub fn overdue_earliest(&self) -> Timestamp {
        (self.due + chrono::Days::new(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            - chrono::Duration::hours(MAX_UTC_OFFSET_HOURS)
    }
}

/// The blameless post-incident review.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Review {
    pub summary: String,
    pub impact: String,
    pub went_well: String,
    pub contributing_factors: String,
    pub action_items: Vec<ActionItem>,
    pub author: String,
    pub written: Option<Timestamp>,
}

/// An unfinished task of an open incident with what its department's list shows of the
/// incident, as kept in the store beside it ([`tandem_store::CaseItem`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenTask {
    /// The incident's title.
    pub title: String,
    /// The incident's severity.
    pub severity: Severity,
    /// The incident's first site, whose business hours a business-hours timer counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub task: Task,
}

/// An incident. Stored as a [`tandem_store::CaseRecord`] of kind `incident` (this struct is
/// its `doc`); every change appends to its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// `INC-<n>`.
    pub id: String,
    pub version: u64,
    pub title: String,
    pub summary: String,
    /// The playbook in force (its id), which is also the incident's type.
    pub playbook: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    #[serde(default)]
    pub impact: String,
    #[serde(default)]
    pub tlp: Tlp,
    #[serde(default)]
    pub assignees: Vec<String>,
    #[serde(default)]
    pub alerts: Vec<String>,
    #[serde(default)]
    pub events: Vec<Ulid>,
    #[serde(default)]
    pub observables: Vec<Observable>,
    #[serde(default)]
    pub entities: Entities,
    #[serde(default)]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub comments: Vec<Comment>,
    #[serde(default)]
    pub evidence: Vec<EvidenceFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    #[serde(default)]
    pub milestones: Milestones,
    /// The incident this one was merged into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// How it was opened: `alert`, `risk`, `manual`, `report`.
    pub origin: String,
    #[serde(default)]
    pub reopened: u32,
    /// Response actions proposed on it, oldest first, with their approvals and answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<crate::response::ActionRun>,
}

impl Incident {
    /// Whether closing waits for a post-incident review that is not written yet: high and
    /// critical incidents are closed only with one.
    pub fn needs_review(&self) -> bool {
        self.severity >= Severity::High
            && self
                .review
                .as_ref()
                .is_none_or(|r| r.summary.trim().is_empty())
    }

    /// Departments with a task in the incident, in the playbook's order.
    pub fn departments(&self) -> Vec<Department> {
        let mut out: Vec<Department> = Vec::new();
        for t in &self.tasks {
            if !out.contains(&t.department) {
                out.push(t.department);
            }
        }
        out
    }
}

/// The store tag of an incident with a post-incident review: action items are read from
/// those incidents only.
pub const REVIEW_TAG: &str = "review";

impl Incident {
    /// The earliest time the SLA check can find a warning or breach due in this incident,
    /// kept as the record's due time so the check reads only incidents due by its time. A
    /// timer counts at most the wall-clock time since its task opened, less its finished
    /// pauses when it counts every minute (business-hours timers count fewer minutes still),
    /// so no task fires before this. None when closed or when no timer runs; a task that
    /// starts, resumes or finishes is a change of the incident, which sets it again.
    pub fn sla_due(&self) -> Option<Timestamp> {
        if self.status == IncidentStatus::Closed {
            return None;
        }
        self.tasks
            .iter()
            .filter(|t| t.timer_running())
            .filter_map(|t| {
                let (sla, opened) = (t.sla?, t.opened?);
                let minutes = if t.sla_warned.is_none() {
                    sla.warn_minutes.min(sla.breach_minutes)
                } else {
                    sla.breach_minutes
                };
                let paused: i64 = if sla.business_hours {
                    0
                } else {
                    t.pauses
                        .iter()
                        .map(|(a, b)| (*b - (*a).max(opened)).num_seconds().max(0))
                        .sum()
                };
                Some(
                    opened
                        + chrono::Duration::minutes(i64::from(minutes))
                        + chrono::Duration::seconds(paused),
                )
            })
            .min()
    }
}

impl Incident {
    /// The earliest time the SLA check can have something to do in this incident: a timer
    /// to warn or breach ([`Incident::sla_due`]), or an open action item of its review whose
    /// due date may have passed ([`ActionItem::overdue_earliest`]; closed incidents too, as
    /// action items are worked after closing). Kept as the record's due time.
    pub fn due(&self) -> Option<Timestamp> {
        let items = self.review.iter().flat_map(|r| &r.action_items);
        items
            .filter(|a| a.awaiting_overdue())
            .map(ActionItem::overdue_earliest)
            .chain(self.sla_due())
            .min()
    }

    /// The incident as the store keeps it.
    pub fn to_record(&self, opened: Timestamp, updated: Timestamp) -> tandem_store::CaseRecord {
        tandem_store::CaseRecord {
            kind: tandem_store::CaseKind::Incident,
            id: self.id.clone(),
            version: self.version,
            status: self.status.code().to_owned(),
            resolution: self.resolution.map(|r| r.code().to_owned()),
            severity: self.severity.uid().min(255) as u8,
            key: None,
            parent: self.merged_into.clone(),
            departments: self
                .departments()
                .into_iter()
                .map(|d| d.code().to_owned())
                .collect(),
            entities: crate::entity_keys(&self.entities, None),
            rules: Vec::new(),
            sites: self.entities.sites.clone(),
            opened,
            updated,
            tags: {
                let mut tags = Vec::new();
                if self.review.is_some() {
                    tags.push(REVIEW_TAG.to_owned());
                }
                if self.actions.iter().any(|r| r.needs_runner()) {
                    tags.push(crate::response::ACTIONS_DUE_TAG.to_owned());
                }
                tags
            },
            due: self.due(),
            items: self.open_tasks(),
            doc: serde_json::to_value(self).unwrap_or_default(),
        }
    }

    /// The unfinished tasks of an open incident, as the store keeps them beside it for the
    /// departments' task lists (one item per task, grouped by department): with 2,000 open
    /// incidents, a list that read and decoded every incident took 140 ms, one of these
    /// items a task, a few.
    fn open_tasks(&self) -> Vec<tandem_store::CaseItem> {
        if self.status.is_closed() {
            return Vec::new();
        }
        self.tasks
            .iter()
            .filter(|t| !t.finished())
            .map(|t| tandem_store::CaseItem {
                id: t.id.clone(),
                group: t.department.code().to_owned(),
                doc: serde_json::to_value(OpenTask {
                    title: self.title.clone(),
                    severity: self.severity,
                    site: self.entities.sites.first().cloned(),
                    task: t.clone(),
                })
                .unwrap_or_default(),
            })
            .collect()
    }

    /// The incident a stored record holds, its version the record's.
    pub fn from_record(record: &tandem_store::CaseRecord) -> Result<Incident, crate::CaseError> {
        // From the stored document in place, without copying it first.
        let mut incident = Incident::deserialize(&record.doc)
            .map_err(|e| crate::CaseError::Refused(format!("{} is unreadable: {e}", record.id)))?;
        incident.version = record.version;
        Ok(incident)
    }
}
