//! Incidents: opening them from alerts, the changes people make, tasks and their SLA timers,
//! the review that gates closing, merging, and the timeline every change appends to.
//!
//! Every change is one read-modify-write of the incident's record through
//! [`CaseStore::commit_cases`]: the record and the timeline entries saying what changed (and,
//! for an SLA breach, the alert it raises) go in one transaction, written only if nobody
//! changed the incident since it was read. A change based on an old version is refused with
//! [`CaseError::Conflict`] naming who changed what, from the timeline's latest entry.
//!
//! Milestones (occurred, detected, acknowledged, contained, resolved, closed) are set once,
//! the first time the incident reaches them; reaching a later status sets the earlier
//! milestones not yet set (an incident resolved straight from `new` was acknowledged then).

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tandem_model::{Department, Entities, Severity, Timestamp};
use tandem_store::{
    CaseCommit, CaseKind, CaseOrder, CaseQuery, CaseRecord, CaseStore, CaseWrite, FileStore,
    StoreError, TimelineEntry,
};

use crate::incident::{
    ActionItem, Comment, Milestones, Observable, SlaState, Task, TaskState, Tlp,
};
use crate::{
    Actor, Announce, CaseError, Incident, IncidentStatus, PlaybookSet, Resolution, case_event,
};

mod actions;
mod evidence;
mod intake;
mod merge;
mod review;
mod sla;
mod tasks;
#[cfg(test)]
mod tests;

pub use actions::{MAX_REASON as MAX_ACTION_REASON, new_run_id};
pub use sla::{SiteCalendar, UtcCalendar, default_business_hours};

/// The playbooks in force, asked for at each use so a reload takes effect at once.
pub type PlaybookSource = Arc<dyn Fn() -> Arc<PlaybookSet> + Send + Sync>;

/// The rule id of the alerts SLA breaches raise.
pub const SLA_BREACH_RULE: &str = "tandem.sla_breach";

/// How the incidents stage behaves (`[incidents]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentsConfig {
    /// A new alert joins an open incident sharing an entity changed within this many hours.
    pub lookback_hours: u32,
    /// The largest evidence file accepted, in MiB.
    pub max_evidence_mib: u64,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            lookback_hours: 24,
            max_evidence_mib: 25,
        }
    }
}

/// An incident opened by hand (the API, the console).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewIncident {
    pub title: String,
    pub summary: String,
    pub severity: Option<Severity>,
    /// The playbook's id; the generic one when not given.
    pub playbook: Option<String>,
    pub entities: Entities,
    pub observables: Vec<Observable>,
    pub tlp: Option<Tlp>,
    pub assignees: Vec<String>,
}

/// A change to an incident's own fields; fields not given stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentChange {
    pub status: Option<IncidentStatus>,
    pub severity: Option<Severity>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub impact: Option<String>,
    pub tlp: Option<Tlp>,
    pub assignees: Option<Vec<String>>,
    pub resolution: Option<Resolution>,
    /// Switch to another playbook: its tasks are added, finished tasks are kept.
    pub playbook: Option<String>,
}

/// What someone does to a task.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskAction {
    /// Takes the task (it is theirs, and in progress).
    Take,
    Comment(String),
    /// Attaches a file; `item` is the required evidence it provides (the only missing one
    /// when not said).
    Evidence {
        name: String,
        content_type: String,
        bytes: Vec<u8>,
        item: Option<String>,
    },
    Complete,
    Skip(String),
    Pause(String),
    Resume,
}

impl TaskAction {
    /// The word the API and the timeline use.
    pub fn code(&self) -> &'static str {
        match self {
            TaskAction::Take => "take",
            TaskAction::Comment(_) => "comment",
            TaskAction::Evidence { .. } => "evidence",
            TaskAction::Complete => "complete",
            TaskAction::Skip(_) => "skip",
            TaskAction::Pause(_) => "pause",
            TaskAction::Resume => "resume",
        }
    }
}

/// A review as written: action items without an id get one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewInput {
    pub summary: String,
    pub impact: String,
    pub went_well: String,
    pub contributing_factors: String,
    pub action_items: Vec<ActionItemInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionItemInput {
    #[serde(default)]
    pub id: Option<String>,
    pub title: String,
    pub department: Department,
    pub due: NaiveDate,
    #[serde(default)]
    pub done: bool,
}

/// Which incidents a list shows.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub statuses: Vec<IncidentStatus>,
    pub min_severity: Option<Severity>,
    /// Only incidents with a task for this department (a responder's scope).
    pub department: Option<Department>,
    pub site: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// A task as a department's list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub incident: String,
    pub incident_title: String,
    pub severity: Severity,
    pub task: Task,
    /// SLA minutes counted so far (business minutes for business-hours tasks).
    pub elapsed_minutes: Option<i64>,
    /// Minutes left before the breach (negative: overdue).
    pub remaining_minutes: Option<i64>,
    pub overdue: bool,
}

/// An action item with the incident whose review holds it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionItemView {
    pub incident: String,
    pub incident_title: String,
    pub item: ActionItem,
}

/// What an SLA check did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TickReport {
    /// `(incident, task)` warned.
    pub warned: Vec<(String, String)>,
    /// `(incident, task, alert)` breached.
    pub breached: Vec<(String, String, String)>,
    /// `(incident, action item)` found open past its due date.
    pub overdue: Vec<(String, String)>,
}

/// The changes one update makes besides the incident itself.
#[derive(Default)]
struct Change {
    /// Timeline entries of the incident: kind and detail.
    entries: Vec<(String, Value)>,
    /// Other records written in the same transaction (an SLA breach's alert).
    writes: Vec<CaseWrite>,
    /// Their timeline entries.
    timeline: Vec<TimelineEntry>,
}

impl Change {
    fn note(&mut self, kind: &str, detail: Value) {
        self.entries.push((kind.to_owned(), detail));
    }
}

/// The incidents stage.
pub struct Incidents {
    store: Arc<dyn CaseStore>,
    files: Arc<dyn FileStore>,
    playbooks: PlaybookSource,
    announce: Arc<dyn Announce>,
    calendar: Arc<dyn SiteCalendar>,
    config: IncidentsConfig,
    /// Tandem's own changes (alerts joining, SLA ticks) one at a time, so they do not race
    /// each other into conflicts; people's changes race them through versions.
    product: Mutex<()>,
}

impl Incidents {
    pub fn new(
        store: Arc<dyn CaseStore>,
        files: Arc<dyn FileStore>,
        playbooks: PlaybookSource,
        announce: Arc<dyn Announce>,
        calendar: Arc<dyn SiteCalendar>,
        config: IncidentsConfig,
    ) -> Incidents {
        Incidents {
            store,
            files,
            playbooks,
            announce,
            calendar,
            config,
            product: Mutex::new(()),
        }
    }

    pub fn config(&self) -> &IncidentsConfig {
        &self.config
    }

    /// The store the incidents are kept in, for the KPIs that read them.
    pub(crate) fn store(&self) -> &dyn CaseStore {
        &*self.store
    }

    fn playbook_set(&self) -> Arc<PlaybookSet> {
        (self.playbooks)()
    }

    /// An incident with its stored record.
    fn load(&self, id: &str) -> Result<(Incident, CaseRecord), CaseError> {
        let record =
            self.store
                .case(CaseKind::Incident, id)?
                .ok_or_else(|| CaseError::NotFound {
                    kind: "incident",
                    id: id.to_owned(),
                })?;
        Ok((Incident::from_record(&record)?, record))
    }

    /// One incident and its timeline, oldest entry first.
    pub fn get(&self, id: &str) -> Result<(Incident, Vec<TimelineEntry>), CaseError> {
        let (incident, _) = self.load(id)?;
        let timeline = self.store.timeline(id, 0)?;
        Ok((incident, timeline))
    }

    /// A page of incidents, most recently changed first, and how many matched.
    pub fn list(&self, filter: &IncidentFilter) -> Result<(u64, Vec<Incident>), CaseError> {
        let mut q = CaseQuery::new(CaseKind::Incident);
        q.statuses = filter
            .statuses
            .iter()
            .map(|s| s.code().to_owned())
            .collect();
        q.min_severity = filter.min_severity.map(|s| s.uid().min(255) as u8);
        q.department = filter.department.map(|d| d.code().to_owned());
        q.site = filter.site.clone();
        q.limit = if filter.limit == 0 { 50 } else { filter.limit };
        q.offset = filter.offset;
        let page = self.store.cases(&q)?;
        let list = page
            .records
            .iter()
            .map(Incident::from_record)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((page.total, list))
    }

    /// Every incident matching `q`, in pages as large as the store gives (each page counts
    /// the matches and skips the pages before it again: 500 at a time, reading 2,000 open
    /// incidents took five times the SQL of one page).
    fn all(&self, mut q: CaseQuery) -> Result<Vec<CaseRecord>, CaseError> {
        q.limit = 10_000;
        q.offset = 0;
        q.order = CaseOrder::Opened;
        let mut out = Vec::new();
        loop {
            let page = self.store.cases(&q)?;
            let n = page.records.len();
            out.extend(page.records);
            if n < q.limit {
                return Ok(out);
            }
            q.offset += n;
        }
    }

    /// The conflict to report for a write based on `based_on`: who made the newest change
    /// and what it was.
    fn conflict(&self, id: &str, based_on: u64) -> CaseError {
        let current = self
            .store
            .case(CaseKind::Incident, id)
            .ok()
            .flatten()
            .map(|r| r.version)
            .unwrap_or(0);
        crate::timeline::stale(self.store.as_ref(), id, based_on, current)
    }

    /// Reads an incident, lets `apply` change it, and writes it with its timeline entries in
    /// one transaction. A change that notes nothing writes nothing.
    fn update<F>(
        &self,
        id: &str,
        base_version: Option<u64>,
        actor: &Actor,
        now: Timestamp,
        apply: F,
    ) -> Result<Incident, CaseError>
    where
        F: FnOnce(&mut Incident, &mut Change) -> Result<(), CaseError>,
    {
        let (mut incident, record) = self.load(id)?;
        if let Some(base) = base_version
            && base != record.version
        {
            return Err(self.conflict(id, base));
        }
        let mut change = Change::default();
        apply(&mut incident, &mut change)?;
        if change.entries.is_empty() {
            return Ok(incident);
        }
        incident.version = record.version + 1;
        let mut commit = CaseCommit {
            writes: vec![CaseWrite::Update(incident.to_record(record.opened, now))],
            timeline: Vec::new(),
            findings: Vec::new(),
        };
        commit.writes.extend(change.writes);
        commit
            .timeline
            .extend(change.entries.iter().map(|(kind, detail)| TimelineEntry {
                seq: 0,
                case_id: id.to_owned(),
                time: now,
                actor: actor.to_owned(),
                kind: kind.clone(),
                detail: detail.clone(),
            }));
        commit.timeline.extend(change.timeline);
        match self.store.commit_cases(&mut commit) {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => return Err(self.conflict(id, record.version)),
            Err(e) => return Err(e.into()),
        }
        self.announce_entries(&incident, &change.entries, actor, now);
        Ok(incident)
    }

    fn announce_entries(
        &self,
        incident: &Incident,
        entries: &[(String, Value)],
        actor: &Actor,
        now: Timestamp,
    ) {
        let events = entries
            .iter()
            .map(|(kind, detail)| {
                let mut e = case_event(
                    &incident.id,
                    kind,
                    format!(
                        "{}: {}",
                        incident.id,
                        crate::timeline::describe(kind, detail)
                    ),
                    incident.severity,
                    actor,
                    now,
                );
                e.labels.insert("case.kind".into(), "incident".into());
                e
            })
            .collect();
        self.announce.announce(events);
    }

    /// Writes a new incident with its first timeline entries.
    fn insert(
        &self,
        incident: &mut Incident,
        entries: Vec<(String, Value)>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), CaseError> {
        let n = self.store.allocate_case_numbers(CaseKind::Incident, 1)?;
        incident.id = format!("INC-{n}");
        incident.version = 1;
        let mut commit = CaseCommit {
            writes: vec![CaseWrite::Insert(incident.to_record(now, now))],
            timeline: entries
                .iter()
                .map(|(kind, detail)| TimelineEntry {
                    seq: 0,
                    case_id: incident.id.clone(),
                    time: now,
                    actor: actor.to_owned(),
                    kind: kind.clone(),
                    detail: detail.clone(),
                })
                .collect(),
            findings: Vec::new(),
        };
        self.store.commit_cases(&mut commit)?;
        self.announce_entries(incident, &entries, actor, now);
        Ok(())
    }

    /// A new incident with the tasks of `playbook` (or the generic one).
    fn fresh(
        &self,
        title: String,
        severity: Severity,
        playbook: Option<&str>,
        origin: &str,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let set = self.playbook_set();
        let pb = match playbook {
            Some(id) => Some(
                set.get(id)
                    .ok_or_else(|| CaseError::Refused(format!("there is no playbook `{id}`")))?,
            ),
            None => set.get(crate::playbook::GENERIC),
        };
        Ok(Incident {
            id: String::new(),
            version: 1,
            title,
            summary: String::new(),
            playbook: pb
                .map(|p| p.id.clone())
                .unwrap_or_else(|| crate::playbook::GENERIC.to_owned()),
            severity,
            status: IncidentStatus::New,
            resolution: None,
            impact: String::new(),
            tlp: Tlp::default(),
            assignees: Vec::new(),
            alerts: Vec::new(),
            events: Vec::new(),
            observables: Vec::new(),
            entities: Entities::default(),
            tasks: pb.map(|p| p.tasks_for(severity, now)).unwrap_or_default(),
            comments: Vec::new(),
            evidence: Vec::new(),
            review: None,
            milestones: Milestones {
                detected: Some(now),
                ..Milestones::default()
            },
            merged_into: None,
            origin: origin.to_owned(),
            reopened: 0,
            actions: Vec::new(),
        })
        .map(|mut inc| {
            propose_opened(&mut inc, pb, now);
            inc
        })
    }

    /// Opens an incident by hand.
    pub fn open(
        &self,
        new: NewIncident,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        let title = new.title.trim();
        if title.is_empty() {
            return Err(CaseError::Refused("an incident needs a title".into()));
        }
        bounded("the title", title, MAX_TITLE)?;
        bounded("the summary", &new.summary, MAX_TEXT)?;
        if new.observables.len() > MAX_LIST || new.assignees.len() > MAX_LIST {
            return Err(CaseError::Refused(format!(
                "an incident takes at most {MAX_LIST} observables and {MAX_LIST} assignees"
            )));
        }
        let severity = new.severity.unwrap_or(Severity::Medium);
        let mut incident = self.fresh(
            title.to_owned(),
            severity,
            new.playbook.as_deref(),
            "manual",
            now,
        )?;
        incident.summary = new.summary;
        incident.tlp = new.tlp.unwrap_or_default();
        incident.assignees = new.assignees;
        incident.observables = observables_of(&new.entities, None);
        for o in new.observables {
            if !incident.observables.contains(&o) {
                incident.observables.push(o);
            }
        }
        incident.entities = new.entities;
        incident.milestones.occurred = Some(now);
        let detail = json!({
            "origin": "manual",
            "title": incident.title,
            "severity": severity.name(),
            "playbook": incident.playbook,
            "tasks": incident.tasks.iter().map(|t| &t.id).collect::<Vec<_>>(),
        });
        self.insert(&mut incident, vec![("opened".into(), detail)], actor, now)?;
        Ok(incident)
    }

    /// Changes an incident's own fields, based on the version the actor saw.
    pub fn change(
        &self,
        id: &str,
        base_version: u64,
        change: IncidentChange,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        let set = self.playbook_set();
        self.update(id, Some(base_version), actor, now, |inc, ch| {
            if let Some(t) = change.title.map(|t| t.trim().to_owned())
                && t != inc.title
            {
                if t.is_empty() {
                    return Err(CaseError::Refused("an incident needs a title".into()));
                }
                bounded("the title", &t, MAX_TITLE)?;
                ch.note("title", json!({"from": inc.title, "to": t}));
                inc.title = t;
            }
            if let Some(s) = change.summary
                && s != inc.summary
            {
                bounded("the summary", &s, MAX_TEXT)?;
                ch.note("summary", json!({}));
                inc.summary = s;
            }
            if let Some(s) = change.impact
                && s != inc.impact
            {
                bounded("the impact", &s, MAX_TEXT)?;
                ch.note("impact", json!({"to": s}));
                inc.impact = s;
            }
            if let Some(t) = change.tlp
                && t != inc.tlp
            {
                ch.note("tlp", json!({"from": inc.tlp, "to": t}));
                inc.tlp = t;
            }
            if let Some(a) = change.assignees
                && a != inc.assignees
            {
                if a.len() > MAX_LIST {
                    return Err(CaseError::Refused(format!(
                        "an incident takes at most {MAX_LIST} assignees"
                    )));
                }
                for x in &a {
                    bounded("an assignee", x, MAX_TITLE)?;
                }
                ch.note("assignees", json!({"from": inc.assignees, "to": a}));
                inc.assignees = a;
            }
            if let Some(s) = change.severity
                && s != inc.severity
            {
                ch.note(
                    "severity",
                    json!({"from": inc.severity.name(), "to": s.name()}),
                );
                let pb = set.get(&inc.playbook);
                set_severity(inc, s, pb);
            }
            if let Some(r) = change.resolution
                && Some(r) != inc.resolution
            {
                ch.note("resolution", json!({"to": r.code()}));
                inc.resolution = Some(r);
            }
            if let Some(p) = change.playbook
                && p != inc.playbook
            {
                let pb = set
                    .get(&p)
                    .ok_or_else(|| CaseError::Refused(format!("there is no playbook `{p}`")))?;
                let fresh = pb.tasks_for(inc.severity, now);
                let removed: Vec<String> = inc
                    .tasks
                    .iter()
                    .filter(|t| !t.finished() && !fresh.iter().any(|f| f.id == t.id))
                    .map(|t| t.id.clone())
                    .collect();
                inc.tasks.retain(|t| !removed.contains(&t.id));
                let mut added = Vec::new();
                for t in fresh {
                    if !inc.tasks.iter().any(|x| x.id == t.id) {
                        added.push(t.id.clone());
                        inc.tasks.push(t);
                    }
                }
                unblock(inc, now, ch);
                ch.note(
                    "playbook",
                    json!({"from": inc.playbook, "to": p, "added": added, "removed": removed}),
                );
                inc.playbook = p;
                propose_opened(inc, Some(pb), now);
            }
            if let Some(s) = change.status
                && s != inc.status
            {
                set_status(inc, s, now, ch)?;
            }
            Ok(())
        })
    }

    /// A comment on the incident; `@security`, `@hr`… mention departments.
    pub fn comment(
        &self,
        id: &str,
        text: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(CaseError::Refused("the comment is empty".into()));
        }
        bounded("a comment", &text, MAX_TEXT)?;
        self.update(id, None, actor, now, |inc, ch| {
            let mentions = mentions(&text);
            ch.note("comment", json!({"text": text, "mentions": mentions}));
            inc.comments.push(Comment {
                author: actor.to_owned(),
                time: now,
                text,
                mentions,
                task: None,
            });
            Ok(())
        })
    }
}

/// Times to the microsecond, as the store keeps them, so an incident's milestones equal
/// its timeline's times exactly.
fn micros(t: Timestamp) -> Timestamp {
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

fn entry(case: &str, actor: &Actor, time: Timestamp, kind: &str, detail: Value) -> TimelineEntry {
    TimelineEntry {
        seq: 0,
        case_id: case.to_owned(),
        time,
        actor: actor.to_owned(),
        kind: kind.to_owned(),
        detail,
    }
}

fn find_task(inc: &Incident, task: &str) -> Result<usize, CaseError> {
    inc.tasks
        .iter()
        .position(|t| t.id == task)
        .ok_or_else(|| CaseError::NotFound {
            kind: "task",
            id: format!("{}/{task}", inc.id),
        })
}

/// Longest title (of an incident, an action item) and assignee name, in bytes.
pub const MAX_TITLE: usize = 300;
/// Longest comment, summary, impact, reason or review field, in bytes: every change rewrites
/// the incident, so one oversized text would make every later change costly.
pub const MAX_TEXT: usize = 20_000;
/// Most assignees, observables given at once, and action items of a review.
pub const MAX_LIST: usize = 100;

fn bounded(what: &str, text: &str, max: usize) -> Result<(), CaseError> {
    if text.len() > max {
        return Err(CaseError::Refused(format!(
            "{what} is {} bytes; at most {max} are kept",
            text.len()
        )));
    }
    Ok(())
}

fn finish(t: &mut Task, state: TaskState, now: Timestamp) {
    t.state = state;
    t.done = Some(now);
    if let Some(p) = t.paused_since.take() {
        t.pauses.push((p, now));
        t.paused_seconds += (now - p).num_seconds().max(0) as u64;
    }
    if t.sla_breached.is_none() {
        t.sla_state = SlaState::Met;
    }
}

/// Blocked tasks whose dependencies are all finished open now; their SLA timers start.
fn unblock(inc: &mut Incident, now: Timestamp, ch: &mut Change) {
    let finished: Vec<String> = inc
        .tasks
        .iter()
        .filter(|t| t.finished())
        .map(|t| t.id.clone())
        .collect();
    let known: Vec<String> = inc.tasks.iter().map(|t| t.id.clone()).collect();
    for t in inc
        .tasks
        .iter_mut()
        .filter(|t| t.state == TaskState::Blocked)
    {
        // A dependency the incident does not have (a switched playbook) does not block.
        if t.after
            .iter()
            .all(|a| finished.contains(a) || !known.contains(a))
        {
            t.state = TaskState::Open;
            t.opened = Some(now);
            ch.note(
                "task_opened",
                json!({"task": t.id, "department": t.department}),
            );
        }
    }
}

/// The actions the open tasks of `pb` propose and have not proposed on this incident yet:
/// a task proposes when it opens (with the incident, once its dependencies finish, or when a
/// playbook switch adds it), once per task and action. The runs wait for the runner to prepare their requests;
/// its timeline entry says which playbook proposed what.
fn propose_opened(inc: &mut Incident, pb: Option<&crate::playbook::Playbook>, now: Timestamp) {
    let Some(pb) = pb else { return };
    for t in pb.tasks.iter().filter(|t| t.propose.is_some()) {
        let open = inc
            .tasks
            .iter()
            .any(|x| x.id == t.id && matches!(x.state, TaskState::Open | TaskState::InProgress));
        // A task kept through a playbook switch has proposed its action already.
        let proposed = inc.actions.iter().any(|r| {
            r.playbook.is_some()
                && r.task.as_deref() == Some(&t.id)
                && Some(&r.action) == t.propose.as_ref()
        });
        if open
            && !proposed
            && inc.actions.len() < actions::MAX_RUNS
            && let Some(run) = pb.proposal(&t.id, now)
        {
            inc.actions.push(run);
        }
    }
}

/// Moves an incident to `to`, setting the milestones it reaches for the first time.
fn set_status(
    inc: &mut Incident,
    to: IncidentStatus,
    now: Timestamp,
    ch: &mut Change,
) -> Result<(), CaseError> {
    let from = inc.status;
    if to == IncidentStatus::Closed {
        if inc.resolution.is_none() {
            return Err(CaseError::Refused(format!(
                "closing {} needs a resolution (true_positive, false_positive, benign, duplicate, indeterminate)",
                inc.id
            )));
        }
        if inc.needs_review() {
            return Err(CaseError::Refused(format!(
                "{} is {}: write the post-incident review before closing it",
                inc.id,
                inc.severity.name()
            )));
        }
    }
    if from.is_closed() {
        inc.reopened += 1;
        inc.resolution = None;
        ch.note("reopened", json!({"status": to.code()}));
    }
    inc.status = to;
    let m = &mut inc.milestones;
    let mut set = Vec::new();
    let steps = [
        (
            IncidentStatus::Acknowledged,
            &mut m.acknowledged,
            "acknowledged",
        ),
        (IncidentStatus::Contained, &mut m.contained, "contained"),
        (IncidentStatus::Resolved, &mut m.resolved, "resolved"),
        (IncidentStatus::Closed, &mut m.closed, "closed"),
    ];
    for (status, slot, name) in steps {
        // `in_progress` counts as acknowledged; a step is reached when `to` is at or past it.
        let reached = status <= to || (status == IncidentStatus::Acknowledged && to > status);
        if reached && slot.is_none() {
            *slot = Some(now);
            set.push(name);
        }
    }
    ch.note(
        "status",
        json!({"from": from.code(), "to": to.code(), "milestones": set}),
    );
    Ok(())
}

/// Departments mentioned as `@security`, `@hr`, … .
fn mentions(text: &str) -> Vec<Department> {
    let mut out = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
        if let Some(name) = word.strip_prefix('@') {
            let name = name.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            if let Some(d) = Department::parse(&name.to_ascii_lowercase())
                && !out.contains(&d)
            {
                out.push(d);
            }
        }
    }
    out
}

/// What an alert's or incident's entities give to search for elsewhere.
fn observables_of(e: &Entities, place: Option<&tandem_model::Place>) -> Vec<Observable> {
    let mut out: Vec<Observable> = Vec::new();
    let mut add = |kind: &str, v: &str| {
        let o = Observable {
            kind: kind.to_owned(),
            value: v.to_owned(),
        };
        if !out.contains(&o) {
            out.push(o);
        }
    };
    e.persons.iter().for_each(|v| add("person", v));
    e.users.iter().for_each(|v| add("user", v));
    e.ips.iter().for_each(|v| add("ip", v));
    e.devices.iter().for_each(|v| add("device", v));
    e.places.iter().for_each(|v| add("place", v));
    if let Some(d) = place.and_then(|p| p.door.as_deref()) {
        add("door", d);
    }
    out
}

fn merge_entities(into: &mut Entities, from: &Entities) {
    fn add(a: &mut Vec<String>, b: &[String]) {
        for v in b {
            if !a.contains(v) {
                a.push(v.clone());
            }
        }
    }
    add(&mut into.persons, &from.persons);
    add(&mut into.devices, &from.devices);
    add(&mut into.places, &from.places);
    add(&mut into.ips, &from.ips);
    add(&mut into.users, &from.users);
    add(&mut into.sites, &from.sites);
    add(&mut into.buildings, &from.buildings);
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Sets the incident's severity; its open tasks' SLAs follow it (from the playbook), timers
/// already fired stay fired.
fn set_severity(inc: &mut Incident, s: Severity, pb: Option<&crate::Playbook>) {
    inc.severity = s;
    let Some(pb) = pb else { return };
    for t in inc.tasks.iter_mut().filter(|t| !t.finished()) {
        if let Some(p) = pb.tasks.iter().find(|p| p.id == t.id) {
            t.sla = p.sla.get(s.name()).map(|x| crate::incident::TaskSla {
                warn_minutes: x.warn,
                breach_minutes: x.breach,
                business_hours: p.business_hours,
            });
        }
    }
}
