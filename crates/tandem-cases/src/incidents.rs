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

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tandem_identity::hours::AllowedHours;
use tandem_model::{Department, Entities, Severity, Timestamp};
use tandem_store::{
    CaseCommit, CaseKind, CaseOrder, CaseQuery, CaseRecord, CaseStore, CaseWrite, FileStore,
    StoreError, StoredFile, TimelineEntry,
};

use crate::alert::AlertRule;
use crate::alerter::{AlertPolicy, IncidentIntake};
use crate::incident::{
    ActionItem, Comment, EvidenceFile, Milestones, Observable, Review, SlaState, Task, TaskState,
    Tlp,
};
use crate::risk::RiskScore;
use crate::{
    Actor, Alert, AlertStatus, Announce, CaseError, Incident, IncidentStatus, PRODUCT_ACTOR,
    PlaybookSet, Resolution, case_event,
};

/// The playbooks in force, asked for at each use so a reload takes effect at once.
pub type PlaybookSource = Arc<dyn Fn() -> Arc<PlaybookSet> + Send + Sync>;

/// The rule id of the alerts SLA breaches raise.
pub const SLA_BREACH_RULE: &str = "tandem.sla_breach";

/// Local time and business hours at a site, for SLA timers that count business hours only.
/// Implemented by the binary over the identity directory (sites' time zones, holidays and
/// hours); [`UtcCalendar`] counts every site in UTC with the default hours.
pub trait SiteCalendar: Send + Sync {
    /// Minutes east of UTC in force at the site at `t`; `None` when the zone is unknown (UTC
    /// is used).
    fn utc_offset_minutes(&self, site: &str, t: Timestamp) -> Option<i32>;
    /// The site's business hours; `None`: [`default_business_hours`].
    fn business_hours(&self, _site: &str) -> Option<AllowedHours> {
        None
    }
    /// Local dates the site is closed.
    fn holidays(&self, _site: &str) -> Vec<NaiveDate> {
        Vec::new()
    }
}

/// Every site in UTC, Monday to Friday 08:00–17:00.
pub struct UtcCalendar;

impl SiteCalendar for UtcCalendar {
    fn utc_offset_minutes(&self, _site: &str, _t: Timestamp) -> Option<i32> {
        Some(0)
    }
}

/// Reads a YAML list of playbooks (`[incidents] playbooks_file`): a fixed set for rehearsals
/// and tests.
pub fn load_playbooks_file(path: &std::path::Path) -> Result<PlaybookSet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut list: Vec<crate::Playbook> =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for p in &mut list {
        p.origin = path.display().to_string();
    }
    Ok(PlaybookSet::new(list))
}

/// Business hours when the directory gives none: Monday to Friday 08:00–17:00 local time.
pub fn default_business_hours() -> AllowedHours {
    AllowedHours::whole_hours(8, 17, false).expect("valid hours")
}

/// How the incidents stage behaves (`[incidents]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentsConfig {
    /// A new alert joins an open incident sharing an entity changed within this many hours.
    pub lookback_hours: u32,
    /// The largest evidence file accepted, in MiB.
    pub max_evidence_mib: u64,
    /// A YAML file holding a list of playbooks to use (rehearsals and tests); empty: the
    /// playbooks in force.
    pub playbooks_file: Option<std::path::PathBuf>,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            lookback_hours: 24,
            max_evidence_mib: 25,
            playbooks_file: None,
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

    /// Every incident matching `q`, page by page.
    fn all(&self, mut q: CaseQuery) -> Result<Vec<CaseRecord>, CaseError> {
        q.limit = 500;
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
        let last = self
            .store
            .timeline(id, 0)
            .ok()
            .and_then(|t| t.into_iter().last());
        let (by, what) = match last {
            Some(e) => (e.actor, describe(&e.kind, &e.detail)),
            None => ("someone".to_owned(), "a change".to_owned()),
        };
        CaseError::Conflict {
            id: id.to_owned(),
            based_on,
            current,
            by,
            what,
        }
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
                    format!("{}: {}", incident.id, describe(kind, detail)),
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
                inc.severity = s;
                // Open tasks' SLAs follow the new severity; timers already fired stay fired.
                if let Some(pb) = set.get(&inc.playbook) {
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
            }
            if let Some(s) = change.status
                && s != inc.status
            {
                set_status(inc, s, now, ch)?;
            }
            Ok(())
        })
    }

    /// Does something to one task. `department`: the department the actor works for when
    /// they may act only on its tasks (responders).
    #[allow(clippy::too_many_arguments)]
    pub fn task(
        &self,
        id: &str,
        task_id: &str,
        base_version: Option<u64>,
        action: TaskAction,
        department: Option<Department>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        // Files are stored before the incident changes; a file without a reference costs
        // nothing and is stored only once.
        let mut stored: Option<EvidenceFile> = None;
        if let TaskAction::Evidence {
            name,
            content_type,
            bytes,
            item,
        } = &action
        {
            let limit = self.config.max_evidence_mib * 1024 * 1024;
            if bytes.len() as u64 > limit {
                return Err(CaseError::Refused(format!(
                    "the file is {} bytes; evidence files may be at most {} MiB",
                    bytes.len(),
                    self.config.max_evidence_mib
                )));
            }
            if bytes.is_empty() {
                return Err(CaseError::Refused("the file is empty".into()));
            }
            let name = name.trim();
            if name.is_empty() || name.len() > 200 {
                return Err(CaseError::Refused(
                    "an evidence file needs a name of at most 200 characters".into(),
                ));
            }
            let sha256: String = Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let content_type = if content_type.trim().is_empty() {
                "application/octet-stream".to_owned()
            } else {
                content_type.trim().to_owned()
            };
            // Check the incident and task exist before storing the file.
            let (inc, _) = self.load(id)?;
            find_task(&inc, task_id)?;
            self.files.put_file(&StoredFile {
                sha256: sha256.clone(),
                content_type: content_type.clone(),
                bytes: bytes.clone(),
            })?;
            stored = Some(EvidenceFile {
                name: name.to_owned(),
                sha256,
                size: bytes.len() as u64,
                content_type,
                added_by: actor.to_owned(),
                time: now,
                task: Some(task_id.to_owned()),
                item: item.clone(),
            });
        }
        self.update(id, base_version, actor, now, |inc, ch| {
            if inc.status.is_closed() {
                return Err(CaseError::Refused(format!("{} is closed", inc.id)));
            }
            let i = find_task(inc, task_id)?;
            let t = &inc.tasks[i];
            if let Some(d) = department
                && t.department != d
            {
                return Err(CaseError::Forbidden(format!(
                    "task {} is for {}; you work for {}",
                    t.id,
                    t.department.label(),
                    d.label()
                )));
            }
            let detail = |extra: Value| {
                let mut v = json!({"task": task_id});
                if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                    o.extend(e);
                }
                v
            };
            match action {
                TaskAction::Take => {
                    let t = &mut inc.tasks[i];
                    if t.finished() {
                        return Err(CaseError::Refused(format!("task {} is finished", t.id)));
                    }
                    t.assignee = Some(actor.to_owned());
                    if t.state == TaskState::Open {
                        t.state = TaskState::InProgress;
                    }
                    ch.note("task_taken", detail(json!({"assignee": actor})));
                }
                TaskAction::Comment(text) => {
                    let text = text.trim().to_owned();
                    if text.is_empty() {
                        return Err(CaseError::Refused("the comment is empty".into()));
                    }
                    bounded("a comment", &text, MAX_TEXT)?;
                    let mentions = mentions(&text);
                    ch.note(
                        "comment",
                        detail(json!({"text": text, "mentions": mentions})),
                    );
                    inc.comments.push(Comment {
                        author: actor.to_owned(),
                        time: now,
                        text,
                        mentions,
                        task: Some(task_id.to_owned()),
                    });
                }
                TaskAction::Evidence { .. } => {
                    let mut file = stored.take().expect("stored above");
                    let t = &mut inc.tasks[i];
                    if file.item.is_none() {
                        let have: Vec<&str> = inc
                            .evidence
                            .iter()
                            .filter(|e| e.task.as_deref() == Some(task_id))
                            .filter_map(|e| e.item.as_deref())
                            .collect();
                        let missing: Vec<&String> = t
                            .required_evidence
                            .iter()
                            .filter(|r| !have.contains(&r.as_str()))
                            .collect();
                        if missing.len() == 1 {
                            file.item = Some(missing[0].clone());
                        }
                    } else if let Some(item) = &file.item
                        && !t.required_evidence.contains(item)
                    {
                        return Err(CaseError::Refused(format!(
                            "task {} asks for no evidence `{item}`; it asks for: {}",
                            t.id,
                            t.required_evidence.join(", ")
                        )));
                    }
                    if !t.evidence.contains(&file.sha256) {
                        t.evidence.push(file.sha256.clone());
                    }
                    ch.note(
                        "evidence",
                        detail(json!({"name": file.name, "sha256": file.sha256, "size": file.size, "item": file.item})),
                    );
                    inc.evidence.push(file);
                }
                TaskAction::Complete => {
                    let t = &inc.tasks[i];
                    if t.finished() {
                        return Err(CaseError::Refused(format!("task {} is finished", t.id)));
                    }
                    let open: Vec<&str> = t
                        .after
                        .iter()
                        .filter(|a| {
                            inc.tasks
                                .iter()
                                .any(|x| &x.id == *a && !x.finished())
                        })
                        .map(|a| a.as_str())
                        .collect();
                    if !open.is_empty() {
                        return Err(CaseError::Refused(format!(
                            "task {} waits for {} to be finished first",
                            t.id,
                            open.join(", ")
                        )));
                    }
                    let missing: Vec<&str> = t
                        .required_evidence
                        .iter()
                        .filter(|r| {
                            !inc.evidence.iter().any(|e| {
                                e.task.as_deref() == Some(task_id)
                                    && e.item.as_deref() == Some(r.as_str())
                            })
                        })
                        .map(|r| r.as_str())
                        .collect();
                    if !missing.is_empty() {
                        return Err(CaseError::Refused(format!(
                            "task {} needs evidence first: {}",
                            t.id,
                            missing.join(", ")
                        )));
                    }
                    let t = &mut inc.tasks[i];
                    finish(t, TaskState::Done, now);
                    if t.assignee.is_none() {
                        t.assignee = Some(actor.to_owned());
                    }
                    ch.note("task_completed", detail(json!({})));
                    unblock(inc, now, ch);
                }
                TaskAction::Skip(reason) => {
                    let reason = reason.trim().to_owned();
                    bounded("the reason", &reason, MAX_TEXT)?;
                    if reason.is_empty() {
                        return Err(CaseError::Refused(
                            "skipping a task needs a reason".into(),
                        ));
                    }
                    let t = &mut inc.tasks[i];
                    if t.finished() {
                        return Err(CaseError::Refused(format!("task {} is finished", t.id)));
                    }
                    finish(t, TaskState::Skipped, now);
                    t.skip_reason = Some(reason.clone());
                    ch.note("task_skipped", detail(json!({"reason": reason})));
                    unblock(inc, now, ch);
                }
                TaskAction::Pause(reason) => {
                    bounded("the reason", &reason, MAX_TEXT)?;
                    let t = &mut inc.tasks[i];
                    if t.finished() || t.paused_since.is_some() {
                        return Err(CaseError::Refused(format!(
                            "task {}'s SLA is not running",
                            t.id
                        )));
                    }
                    t.paused_since = Some(now);
                    t.sla_state = SlaState::Paused;
                    ch.note("sla_paused", detail(json!({"reason": reason.trim()})));
                }
                TaskAction::Resume => {
                    let t = &mut inc.tasks[i];
                    let Some(since) = t.paused_since.take() else {
                        return Err(CaseError::Refused(format!(
                            "task {}'s SLA is not paused",
                            t.id
                        )));
                    };
                    t.pauses.push((since, now));
                    t.paused_seconds += (now - since).num_seconds().max(0) as u64;
                    t.sla_state = fired_state(t);
                    ch.note("sla_resumed", detail(json!({})));
                }
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

    /// Writes or updates the post-incident review.
    pub fn write_review(
        &self,
        id: &str,
        base_version: Option<u64>,
        input: ReviewInput,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        if input.summary.trim().is_empty() {
            return Err(CaseError::Refused("a review needs a summary".into()));
        }
        for (what, text) in [
            ("the summary", &input.summary),
            ("the impact", &input.impact),
            ("what went well", &input.went_well),
            ("the contributing factors", &input.contributing_factors),
        ] {
            bounded(what, text, MAX_TEXT)?;
        }
        if input.action_items.len() > MAX_LIST {
            return Err(CaseError::Refused(format!(
                "a review takes at most {MAX_LIST} action items"
            )));
        }
        for a in &input.action_items {
            bounded("an action item's title", &a.title, MAX_TITLE)?;
        }
        self.update(id, base_version, actor, now, |inc, ch| {
            let before = inc.review.clone().unwrap_or_default();
            let mut items = Vec::new();
            for (n, a) in input.action_items.into_iter().enumerate() {
                if a.title.trim().is_empty() {
                    return Err(CaseError::Refused(format!(
                        "action item {} needs a title",
                        n + 1
                    )));
                }
                let id = a.id.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| {
                    let mut k = n + 1;
                    while before.action_items.iter().any(|x| x.id == format!("A{k}"))
                        || items.iter().any(|x: &ActionItem| x.id == format!("A{k}"))
                    {
                        k += 1;
                    }
                    format!("A{k}")
                });
                let old = before.action_items.iter().find(|x| x.id == id);
                let done = match (a.done, old.and_then(|o| o.done)) {
                    (true, Some(t)) => Some(t),
                    (true, None) => Some(now),
                    (false, _) => None,
                };
                items.push(ActionItem {
                    id,
                    title: a.title.trim().to_owned(),
                    department: a.department,
                    due: a.due,
                    done,
                });
            }
            let first = inc.review.is_none();
            ch.note(
                if first { "review" } else { "review_updated" },
                json!({
                    "action_items": items.len(),
                    "done": items.iter().filter(|i| i.done.is_some()).count(),
                }),
            );
            inc.review = Some(Review {
                summary: input.summary.trim().to_owned(),
                impact: input.impact,
                went_well: input.went_well,
                contributing_factors: input.contributing_factors,
                action_items: items,
                author: actor.to_owned(),
                written: Some(before.written.unwrap_or(now)),
            });
            Ok(())
        })
    }

    /// Action items of every review, open ones only if asked, soonest due first.
    pub fn action_items(&self, open_only: bool) -> Result<Vec<ActionItemView>, CaseError> {
        let mut out = Vec::new();
        for r in self.all(CaseQuery::new(CaseKind::Incident))? {
            let inc = Incident::from_record(&r)?;
            if let Some(review) = &inc.review {
                for item in &review.action_items {
                    if open_only && item.done.is_some() {
                        continue;
                    }
                    out.push(ActionItemView {
                        incident: inc.id.clone(),
                        incident_title: inc.title.clone(),
                        item: item.clone(),
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            (a.item.done.is_some(), a.item.due).cmp(&(b.item.done.is_some(), b.item.due))
        });
        Ok(out)
    }

    /// Merges `from` into `into`: `from` closes as a duplicate pointing at `into`, which
    /// takes its alerts, events, observables, evidence and unfinished tasks (named
    /// `<from>:<task>`); both timelines say so.
    pub fn merge(
        &self,
        into: &str,
        from: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        if into == from {
            return Err(CaseError::Refused(
                "an incident cannot be merged into itself".into(),
            ));
        }
        let (mut survivor, srec) = self.load(into)?;
        let (mut dup, drec) = self.load(from)?;
        if survivor.status.is_closed() {
            return Err(CaseError::Refused(format!(
                "{into} is closed; reopen it first"
            )));
        }
        if dup.merged_into.is_some() {
            return Err(CaseError::Refused(format!("{from} is merged already")));
        }
        let mut moved_tasks = Vec::new();
        for t in dup.tasks.iter().filter(|t| !t.finished()) {
            let mut t = t.clone();
            t.id = format!("{from}:{}", t.id);
            t.after = t.after.iter().map(|a| format!("{from}:{a}")).collect();
            // Dependencies finished in the merged incident are not carried over.
            t.after.retain(|a| {
                dup.tasks
                    .iter()
                    .any(|x| format!("{from}:{}", x.id) == *a && !x.finished())
            });
            moved_tasks.push(t.id.clone());
            survivor.tasks.push(t);
        }
        let mut moved_alerts = Vec::new();
        for a in &dup.alerts {
            if !survivor.alerts.contains(a) {
                survivor.alerts.push(a.clone());
                moved_alerts.push(a.clone());
            }
        }
        for e in &dup.events {
            if !survivor.events.contains(e) {
                survivor.events.push(*e);
            }
        }
        for o in &dup.observables {
            if !survivor.observables.contains(o) {
                survivor.observables.push(o.clone());
            }
        }
        merge_entities(&mut survivor.entities, &dup.entities);
        survivor.evidence.extend(dup.evidence.iter().cloned());
        if dup.severity > survivor.severity {
            survivor.severity = dup.severity;
        }
        survivor.milestones.occurred =
            earliest(survivor.milestones.occurred, dup.milestones.occurred);
        survivor.milestones.detected =
            earliest(survivor.milestones.detected, dup.milestones.detected);
        survivor.version = srec.version + 1;

        dup.status = IncidentStatus::Closed;
        dup.resolution = Some(Resolution::Duplicate);
        dup.merged_into = Some(into.to_owned());
        dup.milestones.closed.get_or_insert(now);
        dup.version = drec.version + 1;

        let mut writes = vec![
            CaseWrite::Update(survivor.to_record(srec.opened, now)),
            CaseWrite::Update(dup.to_record(drec.opened, now)),
        ];
        let mut timeline = Vec::new();
        // The merged incident's alerts now belong to the survivor.
        for a in &moved_alerts {
            if let Some(rec) = self.store.case(CaseKind::Alert, a)? {
                let mut alert = Alert::from_record(&rec)?;
                alert.incident = Some(into.to_owned());
                alert.version = rec.version + 1;
                let mut r = alert.to_record(rec.opened);
                r.updated = rec.updated;
                writes.push(CaseWrite::Update(r));
                timeline.push(entry(
                    a,
                    actor,
                    now,
                    "incident",
                    json!({"from": from, "to": into}),
                ));
            }
        }
        let into_entry = (
            "merged".to_owned(),
            json!({"from": from, "alerts": moved_alerts, "tasks": moved_tasks}),
        );
        let from_entry = ("merged_into".to_owned(), json!({"into": into}));
        timeline.push(entry(into, actor, now, &into_entry.0, into_entry.1.clone()));
        timeline.push(entry(from, actor, now, &from_entry.0, from_entry.1.clone()));
        let mut commit = CaseCommit {
            writes,
            timeline,
            findings: Vec::new(),
        };
        match self.store.commit_cases(&mut commit) {
            Ok(()) => {}
            Err(StoreError::Conflict { id, .. }) if id == from => {
                return Err(self.conflict(from, drec.version));
            }
            Err(StoreError::Conflict { .. }) => return Err(self.conflict(into, srec.version)),
            Err(e) => return Err(e.into()),
        }
        self.announce_entries(&survivor, &[into_entry], actor, now);
        self.announce_entries(&dup, &[from_entry], actor, now);
        Ok(survivor)
    }

    /// Minutes an SLA timer has counted at `now`: since the task opened, less its pauses,
    /// and for business-hours tasks only the site's business minutes.
    pub fn sla_elapsed_minutes(&self, incident: &Incident, task: &Task, now: Timestamp) -> i64 {
        let (Some(opened), Some(sla)) = (task.opened, task.sla) else {
            return 0;
        };
        let end = task.done.unwrap_or(now).min(now);
        let mut pauses = task.pauses.clone();
        if let Some(p) = task.paused_since {
            pauses.push((p, end));
        }
        if !sla.business_hours {
            let mut seconds = (end - opened).num_seconds();
            for (a, b) in &pauses {
                let a = (*a).max(opened);
                let b = (*b).min(end);
                if b > a {
                    seconds -= (b - a).num_seconds();
                }
            }
            return seconds.max(0) / 60;
        }
        let site = incident.entities.sites.first().map(String::as_str);
        let hours = site
            .and_then(|s| self.calendar.business_hours(s))
            .unwrap_or_else(default_business_hours);
        let holidays = site.map(|s| self.calendar.holidays(s)).unwrap_or_default();
        let offset = |t: Timestamp| {
            i64::from(
                site.and_then(|s| self.calendar.utc_offset_minutes(s, t))
                    .unwrap_or(0),
            )
        };
        business_seconds(&hours, &holidays, &offset, opened, end, &pauses).max(0) / 60
    }

    /// The SLA check: every open task with an SLA whose counted time passed its warn time
    /// gets an `sla_warn` entry, past its breach time an `sla_breach` entry and an alert of
    /// rule [`SLA_BREACH_RULE`]; each fires once per task. Also announced as events.
    pub fn tick(&self, now: Timestamp) -> Result<TickReport, CaseError> {
        let now = micros(now);
        let _one = self.product.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = TickReport::default();
        let mut q = CaseQuery::new(CaseKind::Incident);
        q.not_statuses = vec![IncidentStatus::Closed.code().to_owned()];
        for record in self.all(q)? {
            let inc = Incident::from_record(&record)?;
            let due: Vec<(String, bool, bool)> = inc
                .tasks
                .iter()
                .filter(|t| {
                    !t.finished()
                        && t.state != TaskState::Blocked
                        && t.paused_since.is_none()
                        && t.sla.is_some()
                        && t.sla_breached.is_none()
                })
                .filter_map(|t| {
                    let sla = t.sla?;
                    let elapsed = self.sla_elapsed_minutes(&inc, t, now);
                    let warn = t.sla_warned.is_none() && elapsed >= i64::from(sla.warn_minutes);
                    let breach = elapsed >= i64::from(sla.breach_minutes);
                    (warn || breach).then(|| (t.id.clone(), warn, breach))
                })
                .collect();
            if due.is_empty() {
                continue;
            }
            let mut alerts = Vec::new();
            for (task, _, breach) in &due {
                if *breach {
                    let n = self.store.allocate_case_numbers(CaseKind::Alert, 1)?;
                    alerts.push((task.clone(), format!("ALR-{n}")));
                }
            }
            let result = self.update(&inc.id, Some(record.version), PRODUCT_ACTOR, now, |inc, ch| {
                for (task, warn, breach) in &due {
                    let i = find_task(inc, task)?;
                    let elapsed = self.sla_elapsed_minutes(inc, &inc.tasks[i], now);
                    let t = &mut inc.tasks[i];
                    let sla = t.sla.expect("filtered");
                    if *warn {
                        t.sla_warned = Some(now);
                        t.sla_state = SlaState::Warned;
                        ch.note(
                            "sla_warn",
                            json!({"task": task, "department": t.department, "elapsed_minutes": elapsed, "warn_minutes": sla.warn_minutes}),
                        );
                    }
                    if *breach {
                        t.sla_breached = Some(now);
                        t.sla_state = SlaState::Breached;
                        let alert_id = alerts
                            .iter()
                            .find(|(x, _)| x == task)
                            .map(|(_, a)| a.clone())
                            .unwrap_or_default();
                        ch.note(
                            "sla_breach",
                            json!({"task": task, "department": t.department, "elapsed_minutes": elapsed, "breach_minutes": sla.breach_minutes, "alert": alert_id}),
                        );
                        let alert = breach_alert(&alert_id, inc, &inc.tasks[i], now);
                        ch.writes.push(CaseWrite::Insert(alert.to_record(now)));
                        ch.timeline.push(entry(
                            &alert_id,
                            PRODUCT_ACTOR,
                            now,
                            "opened",
                            json!({"rule": SLA_BREACH_RULE, "incident": inc.id, "task": task}),
                        ));
                        if !inc.alerts.contains(&alert_id) {
                            inc.alerts.push(alert_id);
                        }
                    }
                }
                Ok(())
            });
            match result {
                Ok(_) => {
                    for (task, warn, breach) in due {
                        if warn {
                            report.warned.push((inc.id.clone(), task.clone()));
                        }
                        if breach {
                            let a = alerts
                                .iter()
                                .find(|(x, _)| *x == task)
                                .map(|(_, a)| a.clone())
                                .unwrap_or_default();
                            report.breached.push((inc.id.clone(), task, a));
                        }
                    }
                }
                // Someone changed the incident meanwhile: the next check sees their change.
                Err(CaseError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Open tasks (of one department, or all), overdue first, then by time left.
    pub fn department_tasks(
        &self,
        department: Option<Department>,
        now: Timestamp,
    ) -> Result<Vec<TaskView>, CaseError> {
        let mut q = CaseQuery::new(CaseKind::Incident);
        q.not_statuses = vec![IncidentStatus::Closed.code().to_owned()];
        q.department = department.map(|d| d.code().to_owned());
        let mut out = Vec::new();
        for r in self.all(q)? {
            let inc = Incident::from_record(&r)?;
            for t in &inc.tasks {
                if t.finished() || department.is_some_and(|d| d != t.department) {
                    continue;
                }
                let (elapsed, remaining) = match (t.sla, t.state) {
                    (Some(sla), s) if s != TaskState::Blocked => {
                        let e = self.sla_elapsed_minutes(&inc, t, now);
                        (Some(e), Some(i64::from(sla.breach_minutes) - e))
                    }
                    _ => (None, None),
                };
                out.push(TaskView {
                    incident: inc.id.clone(),
                    incident_title: inc.title.clone(),
                    severity: inc.severity,
                    task: t.clone(),
                    elapsed_minutes: elapsed,
                    remaining_minutes: remaining,
                    overdue: remaining.is_some_and(|r| r <= 0) || t.sla_breached.is_some(),
                });
            }
        }
        out.sort_by_key(|v| {
            (
                !v.overdue,
                v.task.state == TaskState::Blocked,
                v.remaining_minutes.unwrap_or(i64::MAX),
                std::cmp::Reverse(v.severity),
            )
        });
        Ok(out)
    }

    /// Adds an alert to an incident (joined, or reopened with it).
    fn join(
        &self,
        id: &str,
        alert: &Alert,
        reopen: bool,
        now: Timestamp,
    ) -> Result<Option<String>, CaseError> {
        let inc = self.update(id, None, PRODUCT_ACTOR, now, |inc, ch| {
            if reopen && inc.status.is_closed() {
                inc.status = IncidentStatus::InProgress;
                inc.resolution = None;
                inc.reopened += 1;
                ch.note("reopened", json!({"alert": alert.id, "status": "in_progress"}));
            }
            let new = !inc.alerts.contains(&alert.id);
            if new {
                inc.alerts.push(alert.id.clone());
            }
            for e in &alert.evidence {
                if !inc.events.contains(e) {
                    inc.events.push(*e);
                }
            }
            for o in observables_of(&alert.entities, alert.place.as_ref()) {
                if !inc.observables.contains(&o) {
                    inc.observables.push(o);
                }
            }
            merge_entities(&mut inc.entities, &alert.entities);
            inc.milestones.occurred = earliest(inc.milestones.occurred, Some(alert.first_seen));
            if new {
                ch.note(
                    "alert_joined",
                    json!({"alert": alert.id, "title": alert.title, "severity": alert.severity.name()}),
                );
            }
            if alert.severity > inc.severity {
                ch.note(
                    "severity",
                    json!({"from": inc.severity.name(), "to": alert.severity.name(), "alert": alert.id}),
                );
                inc.severity = alert.severity;
            }
            Ok(())
        })?;
        Ok(Some(inc.id))
    }
}

impl IncidentIntake for Incidents {
    fn alert_raised(
        &self,
        alert: &Alert,
        policy: &AlertPolicy,
        now: Timestamp,
    ) -> Result<Option<String>, CaseError> {
        let now = micros(now);
        let _one = self.product.lock().unwrap_or_else(|e| e.into_inner());
        // An alert already in an incident stays there (its severity may have risen).
        if let Some(id) = &alert.incident
            && self.store.case(CaseKind::Incident, id)?.is_some()
        {
            return self.join(id, alert, false, now);
        }
        let entities = alert.entity_keys();
        if !entities.is_empty() {
            let mut q = CaseQuery::new(CaseKind::Incident);
            q.entities = entities.clone();
            q.updated_since = Some(now - Duration::hours(i64::from(self.config.lookback_hours)));
            q.not_statuses = vec![IncidentStatus::Closed.code().to_owned()];
            q.limit = 1;
            if let Some(r) = self.store.cases(&q)?.records.into_iter().next() {
                return self.join(&r.id, alert, false, now);
            }
            if policy.reopen_closed {
                q.not_statuses.clear();
                q.statuses = vec![IncidentStatus::Closed.code().to_owned()];
                q.limit = 20;
                // A merged incident lives on in its survivor.
                if let Some(r) = self
                    .store
                    .cases(&q)?
                    .records
                    .into_iter()
                    .find(|r| r.parent.is_none())
                {
                    return self.join(&r.id, alert, true, now);
                }
            }
        }
        let min = policy
            .incident_min_severity
            .parse::<Severity>()
            .unwrap_or(Severity::Medium);
        if alert.severity < min {
            return Ok(None);
        }
        let set = self.playbook_set();
        let rules: Vec<String> = alert.rules.iter().map(|r| r.rule_id.clone()).collect();
        let playbook = policy
            .playbook
            .as_deref()
            .and_then(|p| set.get(p))
            .or_else(|| set.select(&rules, &alert.tags, None))
            .map(|p| p.id.clone());
        let mut inc = self.fresh(
            alert.title.clone(),
            alert.severity,
            playbook.as_deref(),
            "alert",
            now,
        )?;
        inc.summary = alert.summary.clone();
        inc.alerts = vec![alert.id.clone()];
        inc.events = alert.evidence.clone();
        inc.observables = observables_of(&alert.entities, alert.place.as_ref());
        inc.entities = alert.entities.clone();
        inc.milestones.occurred = Some(alert.first_seen.min(now));
        let detail = json!({
            "origin": "alert",
            "alert": alert.id,
            "title": inc.title,
            "severity": inc.severity.name(),
            "playbook": inc.playbook,
            "tasks": inc.tasks.iter().map(|t| &t.id).collect::<Vec<_>>(),
        });
        self.insert(
            &mut inc,
            vec![("opened".into(), detail)],
            PRODUCT_ACTOR,
            now,
        )?;
        Ok(Some(inc.id))
    }

    fn risk_crossed(&self, score: &RiskScore, now: Timestamp) -> Result<Option<String>, CaseError> {
        let now = micros(now);
        let _one = self.product.lock().unwrap_or_else(|e| e.into_inner());
        let mut q = CaseQuery::new(CaseKind::Incident);
        q.entities = vec![score.entity.clone()];
        q.not_statuses = vec![IncidentStatus::Closed.code().to_owned()];
        q.limit = 1;
        if let Some(r) = self.store.cases(&q)?.records.into_iter().next() {
            return Ok(Some(r.id));
        }
        let mut entities = Entities::default();
        let (kind, value) = score
            .entity
            .split_once(':')
            .unwrap_or(("person", &score.entity));
        match kind {
            "device" => entities.devices.push(value.to_owned()),
            "user" => entities.users.push(value.to_owned()),
            "ip" => entities.ips.push(value.to_owned()),
            "place" => entities.places.push(value.to_owned()),
            _ => entities.persons.push(value.to_owned()),
        }
        let set = self.playbook_set();
        let playbook = set.select(&[], &[], Some("risk")).map(|p| p.id.clone());
        let mut inc = self.fresh(
            format!("Risk of {} reached {:.0}", score.entity, score.score),
            Severity::High,
            playbook.as_deref(),
            "risk",
            now,
        )?;
        inc.summary = format!(
            "The risk score of {} is {:.1} (threshold {:.1}) from {} alerts.",
            score.entity,
            score.score,
            score.threshold,
            score.contributions.len()
        );
        inc.alerts = score
            .contributions
            .iter()
            .map(|c| c.alert.clone())
            .collect();
        inc.alerts.dedup();
        inc.observables = observables_of(&entities, None);
        inc.entities = entities;
        inc.milestones.occurred = score
            .contributions
            .iter()
            .map(|c| c.time)
            .min()
            .or(Some(now));
        let detail = json!({
            "origin": "risk",
            "entity": score.entity,
            "score": score.score,
            "threshold": score.threshold,
            "playbook": inc.playbook,
        });
        self.insert(
            &mut inc,
            vec![("opened".into(), detail)],
            PRODUCT_ACTOR,
            now,
        )?;
        Ok(Some(inc.id))
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

/// Seconds of `[from, to)` inside the business hours (local time by `offset`, minutes east
/// of UTC at an instant), less the `pauses`. Each day's spans are turned into UTC intervals,
/// so the cost is per day, not per minute. A span belongs to the day it starts on: a holiday
/// drops its own spans, and a night span that began the evening before still runs into it.
fn business_seconds(
    hours: &AllowedHours,
    holidays: &[NaiveDate],
    offset: &dyn Fn(Timestamp) -> i64,
    from: Timestamp,
    to: Timestamp,
    pauses: &[(Timestamp, Timestamp)],
) -> i64 {
    use chrono::Datelike;
    if to <= from {
        return 0;
    }
    // Local wall time to UTC, with the offset in force then.
    let to_utc = |local: chrono::NaiveDateTime| {
        let guess = local.and_utc();
        guess - Duration::minutes(offset(guess - Duration::minutes(offset(guess))))
    };
    let first = (from + Duration::minutes(offset(from))).date_naive() - Duration::days(1);
    let last = (to + Duration::minutes(offset(to))).date_naive();
    let mut open: Vec<(Timestamp, Timestamp)> = Vec::new();
    let mut day = first;
    while day <= last {
        if !holidays.contains(&day) {
            let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
            for span in hours.day(day.weekday()) {
                let end = if span.to > span.from {
                    span.to
                } else {
                    1440 + span.to
                };
                let a = to_utc(midnight + Duration::minutes(i64::from(span.from)));
                let b = to_utc(midnight + Duration::minutes(i64::from(end)));
                let (a, b) = (a.max(from), b.min(to));
                if b > a {
                    open.push((a, b));
                }
            }
        }
        day += Duration::days(1);
    }
    open.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
    for (a, b) in open {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut seconds = 0;
    for (a, b) in merged {
        seconds += (b - a).num_seconds();
        for (p, q) in pauses {
            let (x, y) = ((*p).max(a), (*q).min(b));
            if y > x {
                seconds -= (y - x).num_seconds();
            }
        }
    }
    seconds
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

/// The SLA state a resumed timer returns to: what has fired stays fired.
fn fired_state(t: &Task) -> SlaState {
    if t.sla_breached.is_some() {
        SlaState::Breached
    } else if t.sla_warned.is_some() {
        SlaState::Warned
    } else {
        SlaState::Running
    }
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
        if inc.severity >= Severity::High
            && inc
                .review
                .as_ref()
                .is_none_or(|r| r.summary.trim().is_empty())
        {
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

/// The alert an SLA breach raises, linked to its incident.
fn breach_alert(id: &str, inc: &Incident, task: &Task, now: Timestamp) -> Alert {
    Alert {
        id: id.to_owned(),
        version: 1,
        title: format!("SLA breached: {}", task.title),
        summary: format!(
            "{}'s task \"{}\" in {} ({}) passed its SLA",
            task.department.label(),
            task.title,
            inc.id,
            inc.title
        ),
        severity: inc.severity,
        status: AlertStatus::New,
        resolution: None,
        assignee: None,
        rules: vec![AlertRule {
            rule_id: SLA_BREACH_RULE.to_owned(),
            title: "SLA breach".to_owned(),
            engine: "tandem".to_owned(),
            findings: 0,
        }],
        dedup_key: format!("sla_breach:{}:{}", inc.id, task.id),
        count: 1,
        suppressed: 0,
        first_seen: now,
        last_seen: now,
        entities: inc.entities.clone(),
        place: None,
        evidence: Vec::new(),
        tags: vec!["sla_breach".to_owned()],
        incident: Some(inc.id.clone()),
        risk: 0.0,
        other_keys: Vec::new(),
        suppress_key: None,
        raised_by: Some(crate::PRODUCT_ACTOR.to_owned()),
    }
}

/// A timeline entry in a few words: what a conflict reports and events say.
pub fn describe(kind: &str, detail: &Value) -> String {
    let s = |k: &str| detail.get(k).and_then(Value::as_str).unwrap_or("");
    match kind {
        "opened" => "opened".to_owned(),
        "status" => format!("status {} → {}", s("from"), s("to")),
        "severity" => format!("severity {} → {}", s("from"), s("to")),
        "title" => "changed the title".to_owned(),
        "task_taken" => format!("took task {}", s("task")),
        "task_completed" => format!("completed task {}", s("task")),
        "task_skipped" => format!("skipped task {}", s("task")),
        "task_opened" => format!("task {} opened", s("task")),
        "evidence" => format!("attached evidence to task {}", s("task")),
        "comment" => "commented".to_owned(),
        "sla_warn" => format!("SLA warning on task {}", s("task")),
        "sla_breach" => format!("SLA breached on task {}", s("task")),
        "sla_paused" => format!("paused the SLA of task {}", s("task")),
        "sla_resumed" => format!("resumed the SLA of task {}", s("task")),
        "review" => "wrote the review".to_owned(),
        "review_updated" => "updated the review".to_owned(),
        "merged" => format!("merged {} into it", s("from")),
        "merged_into" => format!("merged into {}", s("into")),
        "alert_joined" => format!("alert {} joined", s("alert")),
        "playbook" => format!("switched the playbook to {}", s("to")),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::{Playbook, PlaybookTask, Selector, SlaSpec};
    use std::collections::BTreeMap;
    use tandem_store::{SqliteStore, StoreConfig};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn sla(warn: u32, breach: u32) -> BTreeMap<String, SlaSpec> {
        ["low", "medium", "high", "critical"]
            .into_iter()
            .map(|s| (s.to_owned(), SlaSpec { warn, breach }))
            .collect()
    }

    fn task(id: &str, d: Department, after: &[&str]) -> PlaybookTask {
        PlaybookTask {
            id: id.into(),
            title: format!("Do {id}"),
            description: String::new(),
            department: d,
            owner_role: None,
            after: after.iter().map(|s| s.to_string()).collect(),
            evidence: Vec::new(),
            sla: sla(30, 60),
            business_hours: false,
        }
    }

    fn playbooks() -> PlaybookSet {
        let mut revoke = task("revoke_badge", Department::Facilities, &["confirm"]);
        revoke.evidence = vec!["access log".into()];
        PlaybookSet::new(vec![
            Playbook {
                id: "terminated".into(),
                title: "Terminated employee access".into(),
                description: String::new(),
                selects: Selector {
                    rules: vec!["tandem.terminated_access".into()],
                    ..Selector::default()
                },
                tasks: vec![
                    task("confirm", Department::Hr, &[]),
                    task("contain", Department::Security, &[]),
                    revoke,
                ],
                origin: "test".into(),
                text: String::new(),
            },
            Playbook {
                id: "generic".into(),
                title: "Generic".into(),
                description: String::new(),
                selects: Selector::default(),
                tasks: vec![task("triage", Department::Security, &[])],
                origin: "test".into(),
                text: String::new(),
            },
            Playbook {
                id: "office".into(),
                title: "Office hours".into(),
                description: String::new(),
                selects: Selector {
                    kinds: vec!["risk".into()],
                    ..Selector::default()
                },
                tasks: vec![PlaybookTask {
                    business_hours: true,
                    sla: sla(60, 120),
                    ..task("check", Department::It, &[])
                }],
                origin: "test".into(),
                text: String::new(),
            },
        ])
    }

    #[derive(Default)]
    struct Heard(Mutex<Vec<tandem_model::Event>>);
    impl Announce for Heard {
        fn announce(&self, events: Vec<tandem_model::Event>) {
            self.0.lock().unwrap().extend(events);
        }
    }

    struct Oslo;
    impl SiteCalendar for Oslo {
        fn utc_offset_minutes(&self, _: &str, _: Timestamp) -> Option<i32> {
            Some(60)
        }
    }

    struct Setup {
        _dir: tempfile::TempDir,
        store: Arc<SqliteStore>,
        heard: Arc<Heard>,
        inc: Incidents,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
        let heard = Arc::new(Heard::default());
        let set = Arc::new(playbooks());
        let inc = Incidents::new(
            store.clone(),
            store.clone(),
            Arc::new(move || set.clone()),
            heard.clone(),
            Arc::new(Oslo),
            IncidentsConfig {
                max_evidence_mib: 1,
                ..IncidentsConfig::default()
            },
        );
        Setup {
            _dir: dir,
            store,
            heard,
            inc,
        }
    }

    fn alert(id: &str, person: &str, severity: Severity, first: &str) -> Alert {
        Alert {
            id: id.into(),
            version: 1,
            title: "Terminated employee badged in".into(),
            summary: "E1042 badged in after termination".into(),
            severity,
            status: AlertStatus::New,
            resolution: None,
            assignee: None,
            rules: vec![AlertRule {
                rule_id: "tandem.terminated_access".into(),
                title: "Terminated access".into(),
                engine: "native".into(),
                findings: 1,
            }],
            dedup_key: format!("k-{id}"),
            count: 1,
            suppressed: 0,
            first_seen: at(first),
            last_seen: at(first),
            entities: Entities {
                persons: vec![person.into()],
                ips: vec!["10.0.0.5".into()],
                sites: vec!["osl".into()],
                ..Entities::default()
            },
            place: None,
            evidence: Vec::new(),
            tags: Vec::new(),
            incident: None,
            risk: 0.0,
            other_keys: Vec::new(),
            suppress_key: None,
            raised_by: None,
        }
    }

    fn kinds(s: &Setup, id: &str) -> Vec<String> {
        s.store
            .timeline(id, 0)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    const T0: &str = "2026-03-02T09:00:00Z";

    #[test]
    fn an_alert_opens_an_incident_from_the_playbook_its_rule_selects() {
        let s = setup();
        let a = alert("ALR-1", "E1042", Severity::High, "2026-03-02T08:50:00Z");
        let id = s
            .inc
            .alert_raised(&a, &AlertPolicy::default(), at(T0))
            .unwrap()
            .unwrap();
        let (inc, timeline) = s.inc.get(&id).unwrap();
        assert_eq!(inc.playbook, "terminated");
        assert_eq!(inc.alerts, ["ALR-1"]);
        assert_eq!(inc.milestones.occurred, Some(at("2026-03-02T08:50:00Z")));
        assert_eq!(inc.milestones.detected, Some(at(T0)));
        let states: Vec<_> = inc.tasks.iter().map(|t| (t.id.as_str(), t.state)).collect();
        assert_eq!(
            states,
            [
                ("confirm", TaskState::Open),
                ("contain", TaskState::Open),
                ("revoke_badge", TaskState::Blocked)
            ]
        );
        assert!(inc.observables.contains(&Observable {
            kind: "ip".into(),
            value: "10.0.0.5".into()
        }));
        assert_eq!(timeline.len(), 1);
        assert_eq!(timeline[0].kind, "opened");
        assert_eq!(timeline[0].actor, PRODUCT_ACTOR);
        assert_eq!(s.heard.0.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_second_alert_about_the_same_person_joins_and_raises_severity() {
        let s = setup();
        let p = AlertPolicy::default();
        let id = s
            .inc
            .alert_raised(&alert("ALR-1", "E1", Severity::Medium, T0), &p, at(T0))
            .unwrap()
            .unwrap();
        let later = at(T0) + Duration::hours(2);
        let joined = s
            .inc
            .alert_raised(&alert("ALR-2", "E1", Severity::Critical, T0), &p, later)
            .unwrap();
        assert_eq!(joined.as_deref(), Some(id.as_str()));
        let (inc, _) = s.inc.get(&id).unwrap();
        assert_eq!(inc.alerts, ["ALR-1", "ALR-2"]);
        assert_eq!(inc.severity, Severity::Critical);
        assert_eq!(kinds(&s, &id), ["opened", "alert_joined", "severity"]);
        // Outside the lookback a new incident opens.
        let far = at(T0) + Duration::hours(30);
        let other = s
            .inc
            .alert_raised(&alert("ALR-3", "E1", Severity::Medium, T0), &p, far)
            .unwrap();
        assert_ne!(other.as_deref(), Some(id.as_str()));
    }

    #[test]
    fn low_alerts_open_nothing_and_closed_incidents_reopen_only_by_choice() {
        let s = setup();
        let p = AlertPolicy::default();
        assert_eq!(
            s.inc
                .alert_raised(&alert("ALR-1", "E1", Severity::Low, T0), &p, at(T0))
                .unwrap(),
            None
        );
        let id = s
            .inc
            .alert_raised(&alert("ALR-2", "E1", Severity::Medium, T0), &p, at(T0))
            .unwrap()
            .unwrap();
        let inc = s
            .inc
            .change(
                &id,
                1,
                IncidentChange {
                    status: Some(IncidentStatus::Closed),
                    resolution: Some(Resolution::Benign),
                    ..Default::default()
                },
                "ann",
                at(T0),
            )
            .unwrap();
        assert_eq!(inc.status, IncidentStatus::Closed);
        let t1 = at(T0) + Duration::minutes(5);
        let fresh = s
            .inc
            .alert_raised(&alert("ALR-3", "E1", Severity::Medium, T0), &p, t1)
            .unwrap()
            .unwrap();
        assert_ne!(fresh, id);
        // Close the fresh one too, then a rule that reopens brings back the latest closed one.
        let (f, _) = s.inc.get(&fresh).unwrap();
        s.inc
            .change(
                &fresh,
                f.version,
                IncidentChange {
                    status: Some(IncidentStatus::Closed),
                    resolution: Some(Resolution::Benign),
                    ..Default::default()
                },
                "ann",
                t1,
            )
            .unwrap();
        let reopen = AlertPolicy {
            reopen_closed: true,
            ..AlertPolicy::default()
        };
        let back = s
            .inc
            .alert_raised(&alert("ALR-4", "E1", Severity::Medium, T0), &reopen, t1)
            .unwrap()
            .unwrap();
        let (inc, _) = s.inc.get(&back).unwrap();
        assert_eq!(inc.status, IncidentStatus::InProgress);
        assert_eq!(inc.reopened, 1);
        assert_eq!(inc.resolution, None);
        assert!(kinds(&s, &back).contains(&"reopened".to_owned()));
    }

    #[test]
    fn risk_opens_one_incident_per_entity() {
        let s = setup();
        let score = RiskScore {
            entity: "person:E7".into(),
            score: 120.0,
            threshold: 100.0,
            criticality: 1.0,
            contributions: Vec::new(),
        };
        let a = s.inc.risk_crossed(&score, at(T0)).unwrap().unwrap();
        let b = s.inc.risk_crossed(&score, at(T0)).unwrap().unwrap();
        assert_eq!(a, b);
        let (inc, _) = s.inc.get(&a).unwrap();
        assert_eq!(inc.origin, "risk");
        assert_eq!(inc.playbook, "office");
        assert_eq!(inc.entities.persons, ["E7"]);
    }

    fn manual(s: &Setup, severity: Severity) -> Incident {
        s.inc
            .open(
                NewIncident {
                    title: "Badge misuse".into(),
                    severity: Some(severity),
                    playbook: Some("terminated".into()),
                    entities: Entities {
                        sites: vec!["osl".into()],
                        ..Entities::default()
                    },
                    ..NewIncident::default()
                },
                "ann",
                at(T0),
            )
            .unwrap()
    }

    #[test]
    fn a_stale_change_is_refused_naming_who_changed_what() {
        let s = setup();
        let inc = manual(&s, Severity::Medium);
        s.inc
            .change(
                &inc.id,
                1,
                IncidentChange {
                    severity: Some(Severity::High),
                    ..Default::default()
                },
                "bob",
                at(T0),
            )
            .unwrap();
        let err = s
            .inc
            .change(
                &inc.id,
                1,
                IncidentChange {
                    title: Some("Other".into()),
                    ..Default::default()
                },
                "ann",
                at(T0),
            )
            .unwrap_err();
        match err {
            CaseError::Conflict {
                by, what, current, ..
            } => {
                assert_eq!(by, "bob");
                assert_eq!(what, "severity medium → high");
                assert_eq!(current, 2);
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn milestones_are_set_once_and_high_incidents_close_only_after_the_review() {
        let s = setup();
        let inc = manual(&s, Severity::High);
        let t1 = at(T0) + Duration::minutes(10);
        let inc = s
            .inc
            .change(
                &inc.id,
                inc.version,
                IncidentChange {
                    status: Some(IncidentStatus::Contained),
                    ..Default::default()
                },
                "ann",
                t1,
            )
            .unwrap();
        assert_eq!(inc.milestones.acknowledged, Some(t1));
        assert_eq!(inc.milestones.contained, Some(t1));
        let t2 = t1 + Duration::minutes(10);
        let inc = s
            .inc
            .change(
                &inc.id,
                inc.version,
                IncidentChange {
                    status: Some(IncidentStatus::Acknowledged),
                    ..Default::default()
                },
                "ann",
                t2,
            )
            .unwrap();
        assert_eq!(inc.milestones.acknowledged, Some(t1), "set once");
        let close = IncidentChange {
            status: Some(IncidentStatus::Closed),
            resolution: Some(Resolution::TruePositive),
            ..Default::default()
        };
        let err = s
            .inc
            .change(&inc.id, inc.version, close.clone(), "ann", t2)
            .unwrap_err();
        assert!(err.to_string().contains("review"), "{err}");
        let inc = s
            .inc
            .write_review(
                &inc.id,
                None,
                ReviewInput {
                    summary: "Badge was not revoked in time".into(),
                    action_items: vec![ActionItemInput {
                        id: None,
                        title: "Automate badge revocation".into(),
                        department: Department::Facilities,
                        due: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                        done: false,
                    }],
                    ..ReviewInput::default()
                },
                "ann",
                t2,
            )
            .unwrap();
        let inc = s
            .inc
            .change(&inc.id, inc.version, close, "ann", t2)
            .unwrap();
        assert_eq!(inc.milestones.resolved, Some(t2));
        assert_eq!(inc.milestones.closed, Some(t2));
        let items = s.inc.action_items(true).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].item.id, "A1");
        assert_eq!(
            kinds(&s, &inc.id),
            [
                "opened",
                "status",
                "status",
                "review",
                "resolution",
                "status"
            ]
        );
    }

    #[test]
    fn tasks_wait_for_dependencies_and_evidence_then_unblock_dependants() {
        let s = setup();
        let inc = manual(&s, Severity::Medium);
        let id = &inc.id;
        let err = s
            .inc
            .task(
                id,
                "revoke_badge",
                None,
                TaskAction::Complete,
                None,
                "fay",
                at(T0),
            )
            .unwrap_err();
        assert!(err.to_string().contains("waits for confirm"), "{err}");
        // A responder of another department may not act on it.
        let err = s
            .inc
            .task(
                id,
                "confirm",
                None,
                TaskAction::Take,
                Some(Department::Facilities),
                "fay",
                at(T0),
            )
            .unwrap_err();
        assert!(err.to_string().contains("for HR"), "{err}");
        let t1 = at(T0) + Duration::minutes(3);
        let inc = s
            .inc
            .task(
                id,
                "confirm",
                None,
                TaskAction::Complete,
                Some(Department::Hr),
                "hal",
                t1,
            )
            .unwrap();
        let revoke = inc.tasks.iter().find(|t| t.id == "revoke_badge").unwrap();
        assert_eq!(revoke.state, TaskState::Open);
        assert_eq!(revoke.opened, Some(t1));
        let err = s
            .inc
            .task(
                id,
                "revoke_badge",
                None,
                TaskAction::Complete,
                None,
                "fay",
                t1,
            )
            .unwrap_err();
        assert!(err.to_string().contains("access log"), "{err}");
        let too_big = TaskAction::Evidence {
            name: "big.bin".into(),
            content_type: String::new(),
            bytes: vec![0; 1024 * 1024 + 1],
            item: None,
        };
        let err = s
            .inc
            .task(id, "revoke_badge", None, too_big, None, "fay", t1)
            .unwrap_err();
        assert!(err.to_string().contains("at most 1 MiB"), "{err}");
        let inc = s
            .inc
            .task(
                id,
                "revoke_badge",
                None,
                TaskAction::Evidence {
                    name: "log.csv".into(),
                    content_type: "text/csv".into(),
                    bytes: b"door,time\n".to_vec(),
                    item: None,
                },
                None,
                "fay",
                t1,
            )
            .unwrap();
        let file = &inc.evidence[0];
        assert_eq!(file.item.as_deref(), Some("access log"));
        assert_eq!(file.sha256.len(), 64);
        assert_eq!(file.size, 10);
        assert!(s.store.file(&file.sha256).unwrap().is_some());
        let inc = s
            .inc
            .task(
                id,
                "revoke_badge",
                None,
                TaskAction::Complete,
                None,
                "fay",
                t1,
            )
            .unwrap();
        assert_eq!(
            inc.tasks
                .iter()
                .find(|t| t.id == "revoke_badge")
                .unwrap()
                .state,
            TaskState::Done
        );
        let err = s
            .inc
            .task(
                id,
                "contain",
                None,
                TaskAction::Skip("  ".into()),
                None,
                "sam",
                t1,
            )
            .unwrap_err();
        assert!(err.to_string().contains("reason"));
        s.inc
            .task(
                id,
                "contain",
                None,
                TaskAction::Skip("done by the guard already".into()),
                None,
                "sam",
                t1,
            )
            .unwrap();
        assert_eq!(
            kinds(&s, id),
            [
                "opened",
                "task_completed",
                "task_opened",
                "evidence",
                "task_completed",
                "task_skipped"
            ]
        );
    }

    #[test]
    fn sla_warn_and_breach_fire_once_with_an_alert_and_pauses_do_not_count() {
        let s = setup();
        let inc = manual(&s, Severity::Medium);
        let id = inc.id.clone();
        // confirm: warn 30, breach 60. Paused for 20 minutes.
        s.inc
            .task(
                &id,
                "confirm",
                None,
                TaskAction::Pause("waiting for HR system".into()),
                None,
                "hal",
                at(T0) + Duration::minutes(10),
            )
            .unwrap();
        s.inc
            .task(
                &id,
                "confirm",
                None,
                TaskAction::Resume,
                None,
                "hal",
                at(T0) + Duration::minutes(30),
            )
            .unwrap();
        let r = s.inc.tick(at(T0) + Duration::minutes(45)).unwrap();
        // contain warned (45 ≥ 30), confirm only 25 minutes counted.
        assert_eq!(r.warned, [(id.clone(), "contain".to_owned())]);
        let r = s.inc.tick(at(T0) + Duration::minutes(46)).unwrap();
        assert!(r.warned.is_empty(), "fires once");
        let r = s.inc.tick(at(T0) + Duration::minutes(75)).unwrap();
        assert_eq!(r.warned, [(id.clone(), "confirm".to_owned())]);
        assert_eq!(r.breached.len(), 1);
        let (_, task, alert_id) = &r.breached[0];
        assert_eq!(task, "contain");
        let rec = s.store.case(CaseKind::Alert, alert_id).unwrap().unwrap();
        let alert = Alert::from_record(&rec).unwrap();
        assert_eq!(alert.rules[0].rule_id, SLA_BREACH_RULE);
        assert_eq!(alert.incident.as_deref(), Some(id.as_str()));
        let r = s.inc.tick(at(T0) + Duration::minutes(200)).unwrap();
        assert_eq!(r.breached.len(), 1, "only confirm is left to breach");
        assert!(
            s.inc
                .tick(at(T0) + Duration::minutes(300))
                .unwrap()
                .breached
                .is_empty()
        );
        let (inc, _) = s.inc.get(&id).unwrap();
        assert!(inc.alerts.contains(alert_id));
        let contain = inc.tasks.iter().find(|t| t.id == "contain").unwrap();
        assert_eq!(contain.sla_state, SlaState::Breached);
        let events = s.heard.0.lock().unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.labels.get("case.change").map(String::as_str) == Some("sla_breach"))
        );
    }

    #[test]
    fn business_hours_count_only_the_sites_working_minutes() {
        let s = setup();
        // Friday 16:00 Oslo (+01:00 in the test calendar) = 15:00 UTC.
        let score = RiskScore {
            entity: "person:E9".into(),
            score: 120.0,
            threshold: 100.0,
            criticality: 1.0,
            contributions: Vec::new(),
        };
        let fri = at("2026-03-06T15:00:00Z");
        let id = s.inc.risk_crossed(&score, fri).unwrap().unwrap();
        // The office task: warn 60, breach 120 business minutes. Give the incident a site.
        let (inc, _) = s.inc.get(&id).unwrap();
        let mut inc2 = inc.clone();
        inc2.entities.sites = vec!["osl".into()];
        let t = &inc2.tasks[0];
        // Friday 16:00–17:00 is 60 minutes; the weekend counts nothing.
        let mon_early = at("2026-03-09T06:30:00Z"); // 07:30 local
        assert_eq!(s.inc.sla_elapsed_minutes(&inc2, t, mon_early), 60);
        let mon = at("2026-03-09T07:30:00Z"); // 08:30 local
        assert_eq!(s.inc.sla_elapsed_minutes(&inc2, t, mon), 90);
        // The stored incident has no site: UTC and the default hours, so Friday 15:00–17:00
        // UTC already made the 120 minutes of its breach.
        let r = s.inc.tick(mon_early).unwrap();
        assert_eq!(r.breached.len(), 1);
    }

    /// The per-day computation counts what checking every minute counts.
    #[test]
    fn business_seconds_agree_with_counting_minute_by_minute() {
        use proptest::prelude::*;
        let hours = AllowedHours::whole_hours(8, 17, false).unwrap();
        let night: AllowedHours = serde_json::from_value(serde_json::json!(
            "mon-fri 07:30-11:45, 13:00-18:15; sat 22:00-06:00"
        ))
        .unwrap();
        let holidays = [NaiveDate::from_ymd_opt(2026, 3, 4).unwrap()];
        let base = at("2026-03-01T00:00:00Z");
        proptest!(ProptestConfig::with_cases(64), |(
            start in 0i64..(14 * 1440),
            len in 0i64..(4 * 1440),
            pause in proptest::option::of((0i64..(4 * 1440), 0i64..600)),
            offset in -600i64..600,
            which in any::<bool>(),
        )| {
            let h = if which { &hours } else { &night };
            let from = base + Duration::minutes(start);
            let to = from + Duration::minutes(len);
            let pauses: Vec<_> = pause
                .map(|(p, l)| (from + Duration::minutes(p), from + Duration::minutes(p + l)))
                .into_iter()
                .collect();
            let off = |_: Timestamp| offset;
            let fast = business_seconds(h, &holidays, &off, from, to, &pauses) / 60;
            let mut slow = 0;
            let mut t = from;
            while t < to {
                let paused = pauses.iter().any(|(a, b)| *a <= t && t < *b);
                let local = (t + Duration::minutes(offset)).naive_utc();
                if !paused && h.allows(local, &holidays) {
                    slow += 1;
                }
                t += Duration::minutes(1);
            }
            prop_assert_eq!(fast, slow);
        });
    }

    #[test]
    fn merging_closes_the_duplicate_and_moves_its_work() {
        let s = setup();
        let a = manual(&s, Severity::Medium);
        let b = manual(&s, Severity::High);
        s.inc
            .task(
                &b.id,
                "confirm",
                None,
                TaskAction::Complete,
                None,
                "hal",
                at(T0),
            )
            .unwrap();
        let survivor = s.inc.merge(&a.id, &b.id, "ann", at(T0)).unwrap();
        assert_eq!(survivor.severity, Severity::High);
        let moved: Vec<_> = survivor
            .tasks
            .iter()
            .filter(|t| t.id.starts_with(&b.id))
            .map(|t| t.id.clone())
            .collect();
        assert_eq!(
            moved,
            [
                format!("{}:contain", b.id),
                format!("{}:revoke_badge", b.id)
            ]
        );
        let (dup, _) = s.inc.get(&b.id).unwrap();
        assert_eq!(dup.status, IncidentStatus::Closed);
        assert_eq!(dup.resolution, Some(Resolution::Duplicate));
        assert_eq!(dup.merged_into.as_deref(), Some(a.id.as_str()));
        assert_eq!(kinds(&s, &a.id).last().unwrap(), "merged");
        assert_eq!(kinds(&s, &b.id).last().unwrap(), "merged_into");
        assert!(s.inc.merge(&a.id, &b.id, "ann", at(T0)).is_err());
    }

    #[test]
    fn switching_the_playbook_adds_tasks_and_keeps_finished_ones() {
        let s = setup();
        let inc = manual(&s, Severity::Medium);
        let inc = s
            .inc
            .task(
                &inc.id,
                "confirm",
                None,
                TaskAction::Complete,
                None,
                "hal",
                at(T0),
            )
            .unwrap();
        let inc = s
            .inc
            .change(
                &inc.id,
                inc.version,
                IncidentChange {
                    playbook: Some("generic".into()),
                    ..Default::default()
                },
                "ann",
                at(T0),
            )
            .unwrap();
        let ids: Vec<_> = inc.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["confirm", "triage"]);
        assert_eq!(inc.playbook, "generic");
    }

    #[test]
    fn comments_mention_departments_and_the_department_list_puts_overdue_first() {
        let s = setup();
        let inc = manual(&s, Severity::Medium);
        let inc = s
            .inc
            .comment(
                &inc.id,
                "@security and @HR, please look; @nobody",
                "ann",
                at(T0),
            )
            .unwrap();
        assert_eq!(
            inc.comments[0].mentions,
            [Department::Security, Department::Hr]
        );
        let long = "x".repeat(MAX_TEXT + 1);
        let err = s.inc.comment(&inc.id, &long, "ann", at(T0)).unwrap_err();
        assert!(err.to_string().contains("at most 20000"), "{err}");
        let later = manual(&s, Severity::Medium);
        let _ = later;
        let list = s
            .inc
            .department_tasks(Some(Department::Hr), at(T0) + Duration::minutes(61))
            .unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|v| v.overdue));
        let all = s.inc.department_tasks(None, at(T0)).unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(all.last().unwrap().task.state, TaskState::Blocked);
    }
}
