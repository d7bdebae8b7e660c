//! Shared KPIs computed from the incidents' records and their append-only timelines: time to
//! detect, acknowledge, contain and resolve, a severity-weighted incident index and MTTR, SLA
//! compliance per department and task, and the tasks overdue now.
//!
//! Here, beside the incidents, because the numbers are read from what this crate owns (the
//! incident's shape, its [`Milestones`], the meaning of its timeline entries) and need nothing
//! this crate may not know: no HTTP, no SQL. [`compute`] is pure (incidents, window,
//! configuration and clock in, report out) so every figure is tested on hand-built timelines
//! with known answers; [`load`] reads the incidents of a window from the store.
//!
//! The definitions are written once, in [`DEFINITIONS`], and shown next to every number by the
//! console, the API and the CLI (`docs/kpis.md` says the same).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_model::{Department, Severity, Timestamp};
use tandem_store::{CaseKind, CaseOrder, CaseQuery, CaseStore, TimelineEntry};

use crate::incident::{Milestones, OpenTask, Task, TaskState};
use crate::{CaseError, Incident, IncidentStatus, Resolution};

/// How the KPIs count (`[kpis]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KpiConfig {
    /// Incidents closed with these resolutions are left out of every figure. A merged incident
    /// is closed as `duplicate`, so by default it counts only through the incident it was
    /// merged into.
    pub exclude_resolutions: Vec<Resolution>,
    /// Which resolution time a reopened incident's MTTR uses: its first (`first`) or the last
    /// time it was resolved again (`last`).
    pub reopened: Reopened,
    /// The weight of each severity in the incident index and the weighted MTTR.
    pub weights: SeverityWeights,
    /// Coverage: a source without its own expected interval is unhealthy after this many
    /// minutes without an event.
    pub source_quiet_minutes: u64,
    /// Coverage: a source is unhealthy when more than this share of what it sent was kept
    /// as dead letters or refused (0.05 = 5 %).
    pub max_refused_share: f64,
    /// Training participation and policy acknowledgement: what counts, and the CSV's columns.
    pub training: training::TrainingConfig,
}

impl Default for KpiConfig {
    fn default() -> Self {
        KpiConfig {
            exclude_resolutions: vec![Resolution::FalsePositive, Resolution::Duplicate],
            reopened: Reopened::First,
            weights: SeverityWeights::default(),
            source_quiet_minutes: 24 * 60,
            max_refused_share: 0.05,
            training: training::TrainingConfig::default(),
        }
    }
}

impl KpiConfig {
    /// Refuses weights and shares no figure can be built from.
    pub fn check(&self) -> Result<(), String> {
        self.weights.check()?;
        let s = self.max_refused_share;
        if !s.is_finite() || !(0.0..=1.0).contains(&s) {
            return Err(format!(
                "kpis.max_refused_share is {s}; a share is a number from 0 to 1"
            ));
        }
        Ok(())
    }
}

/// Which resolution a reopened incident's MTTR reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reopened {
    /// The first time it was resolved (its milestone).
    #[default]
    First,
    /// The last time it reached resolved or closed from an earlier status.
    Last,
}

/// Weights per severity (`[kpis.weights]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityWeights {
    pub informational: f64,
    pub low: f64,
    pub medium: f64,
    pub high: f64,
    pub critical: f64,
}

impl Default for SeverityWeights {
    fn default() -> Self {
        SeverityWeights {
            informational: 0.0,
            low: 1.0,
            medium: 3.0,
            high: 7.0,
            critical: 15.0,
        }
    }
}

impl SeverityWeights {
    /// The weight of a severity; unknown counts as informational, fatal as critical.
    pub fn of(&self, s: Severity) -> f64 {
        match s {
            Severity::Low => self.low,
            Severity::Medium => self.medium,
            Severity::High => self.high,
            Severity::Critical | Severity::Fatal => self.critical,
            _ => self.informational,
        }
    }

    /// Refuses weights no index can be built from.
    pub fn check(&self) -> Result<(), String> {
        for (name, w) in [
            ("informational", self.informational),
            ("low", self.low),
            ("medium", self.medium),
            ("high", self.high),
            ("critical", self.critical),
        ] {
            if !w.is_finite() || w < 0.0 {
                return Err(format!(
                    "kpis.weights.{name} is {w}; a weight is a number of 0 or more"
                ));
            }
        }
        Ok(())
    }
}

/// Every definition, by the key the figures carry (`definition`), in the words shown next to
/// the numbers.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "counted",
        "Incidents whose detection time falls in the period, less those closed with an excluded resolution (by default false positive and duplicate; a merged incident is closed as duplicate and counts through the incident it was merged into, which keeps the earliest occurrence and detection of both). A reopened incident counts once.",
    ),
    (
        "mttd",
        "Time to detect: detected − occurred (earliest evidence to first finding stored), over the counted incidents that have both times.",
    ),
    (
        "mtta",
        "Time to acknowledge: acknowledged − detected, over the counted incidents acknowledged (taking an incident in progress acknowledges it).",
    ),
    (
        "mttc",
        "Time to contain: contained − detected, over the counted incidents that reached contained (or a later status).",
    ),
    (
        "mttr",
        "Time to resolve: resolved − detected, over the counted incidents that reached resolved (or closed). A reopened incident uses its first resolution unless [kpis] reopened = \"last\".",
    ),
    (
        "stats",
        "Median (middle value; mean of the two middle values for an even count), p90 (nearest rank: the ⌈0.9·n⌉-th smallest), mean; n is how many incidents have the milestone, share is n over the counted incidents. A milestone the record lacks is read from the timeline; negative times (clock skew) count as 0.",
    ),
    (
        "index",
        "Severity-weighted incident index: Σ weight(severity) over the counted incidents.",
    ),
    (
        "weighted_mttr",
        "Severity-weighted MTTR: Σ weight·MTTR / Σ weight over the counted incidents that were resolved.",
    ),
    (
        "sla",
        "SLA compliance: of the tasks with an SLA in the counted incidents that are done or breached, the share done without a breach. Paused time does not count; a task breached by the SLA timer (business hours of the site where the playbook says so) is breached even when done later. Skipped tasks and open tasks not yet breached are not judged.",
    ),
    (
        "overdue",
        "Overdue now: unfinished tasks of open incidents whose SLA is breached, whenever the incident was detected.",
    ),
    (
        "revocation",
        "Access revocation: for each person HR terminated in the period (the effective time of the termination in the directory's history), the time to the last deactivation of the badges they held (a later version without the badge or with it no longer active, or its validity end once passed) and to the last disable of their account (the identity provider's SCIM deactivation or deletion, or an account disable or delete event resolved to them, from 7 days before the termination on). Median, p90 and mean over the leavers whose badges (or account) are all revoked; share over the leavers with badges (or an account). A leaver with a badge or account still active is open, timed to now. Used after: granted badge swipes and successful sign-ins resolved to the person after the termination.",
    ),
    (
        "sources_healthy",
        "Sources healthy: of the sources that sent events or are registered (Tandem's own findings, case and SCIM sources left out), the share from which an event arrived within the source's expected interval (else [kpis] source_quiet_minutes) and of whose input at most [kpis] max_refused_share was kept as dead letters or refused. Now, not over the period.",
    ),
    (
        "analysed",
        "Events analysed: of the events decoded from senders (and the directory's account changes) that were stored since the server started, the share that detection evaluated before they were stored (tandem_events_analysed_total over tandem_events_ingested_total). With detection on it must read 100 %; Tandem's own findings and case events are neither.",
    ),
    (
        "department_risk",
        "Risk per department: people's entity risk scores now (alerts in the risk lookback, diminishing returns, criticality; see alerts), summed per the directory's department, with the highest score and how many people are at or over the threshold that opens an incident. Not over the period: where risk sits today.",
    ),
    (
        "training",
        "Training participation: of the people employed now in a department (the directory's department; terminated people left out), the share who completed within the period every course in [kpis.training] courses (any one course when none is listed). Policy acknowledgement: the same for [kpis.training] policies.",
    ),
    (
        "employee_reports",
        "Employee reports: the real reports filed in the period (drills spotted kept apart), distinct named reporters (anonymous reports count as reports, never as people), the report rate per 100 people employed now, the share that heard back (a responder's message or the closing thank-you) and the median hours to it, and phishing drills spotted.",
    ),
];

/// The definition of a figure.
pub fn definition(key: &str) -> &'static str {
    DEFINITIONS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, d)| *d)
        .unwrap_or("")
}

/// What the figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Severity,
    /// Each department with a task in the incident (an incident counts in each).
    Department,
    /// The playbook in force, which is the incident's type.
    Type,
    /// Each site the incident happened at.
    Site,
    /// The UTC month of detection.
    Month,
}

impl By {
    pub const ALL: [By; 5] = [By::Severity, By::Department, By::Type, By::Site, By::Month];

    pub fn code(self) -> &'static str {
        match self {
            By::Severity => "severity",
            By::Department => "department",
            By::Type => "type",
            By::Site => "site",
            By::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<By> {
        By::ALL.into_iter().find(|b| b.code() == s)
    }
}

/// The period the figures cover: incidents detected in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Window {
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.to
    }
}

/// An incident as the KPIs read it: its record and, when the record lacks what the figures
/// need, its timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiIncident {
    pub incident: Incident,
    /// When the incident's record was first stored (the timeline's `opened`).
    pub opened: Timestamp,
    /// Oldest first; may be empty when the record holds every milestone.
    pub timeline: Vec<TimelineEntry>,
}

impl KpiIncident {
    /// Whether the figures need the timeline: a milestone the status implies is missing, or a
    /// reopened incident's last resolution is asked for.
    pub fn needs_timeline(incident: &Incident, config: &KpiConfig) -> bool {
        let m = &incident.milestones;
        let s = incident.status;
        (config.reopened == Reopened::Last && incident.reopened > 0)
            || m.detected.is_none()
            || (s > IncidentStatus::New && m.acknowledged.is_none())
            || (s >= IncidentStatus::Contained && m.contained.is_none())
            || (s >= IncidentStatus::Resolved && m.resolved.is_none())
            || (s >= IncidentStatus::Closed && m.closed.is_none())
    }
}

/// Median, p90 and mean of one duration, in seconds.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Stat {
    /// Incidents that have the milestone.
    pub n: u64,
    /// `n` over the incidents counted in the group (0 when none).
    pub share: f64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub mean: Option<f64>,
}

impl Stat {
    /// The statistics of `values` (seconds) among `of` incidents.
    pub fn of(values: &[f64], of: u64) -> Stat {
        let mut v: Vec<f64> = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        Stat {
            n: n as u64,
            share: if of == 0 { 0.0 } else { n as f64 / of as f64 },
            median: median(&v),
            p90: nearest_rank(&v, 0.9),
            mean: (n > 0).then(|| v.iter().sum::<f64>() / n as f64),
        }
    }
}

/// The median of sorted values: the middle one, or the mean of the two middle ones.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The `q` percentile of sorted values by nearest rank: the ⌈q·n⌉-th smallest.
fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    Some(sorted[rank - 1])
}

/// The figures of one group of incidents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// What `by` equals for the group (`high`, `it`, `terminated-access`, `oslo`, `2025-03`);
    /// empty for incidents without a department or site.
    pub key: String,
    pub label: String,
    /// Counted incidents.
    pub incidents: u64,
    /// Counted incidents reopened at least once.
    pub reopened: u64,
    pub mttd: Stat,
    pub mtta: Stat,
    pub mttc: Stat,
    pub mttr: Stat,
    /// Σ weight(severity).
    pub index: f64,
    /// Σ weight·MTTR / Σ weight, seconds.
    pub weighted_mttr: Option<f64>,
    /// The counted incidents' ids, for the drill-down (not in the JSON: a list, not a figure).
    #[serde(skip)]
    pub ids: Vec<String>,
}

/// SLA compliance of one department, or one task of a department.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaRow {
    pub department: Department,
    /// The playbook task's id; empty for the department's row.
    pub task: String,
    /// Tasks judged: done or breached.
    pub judged: u64,
    pub met: u64,
    pub breached: u64,
    /// `met / judged`; none when nothing was judged.
    pub compliance: Option<f64>,
    #[serde(skip)]
    pub ids: Vec<String>,
}

/// A task overdue now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overdue {
    pub incident: String,
    pub title: String,
    pub severity: Severity,
    pub task: String,
    pub department: Department,
    /// When the SLA breached.
    pub breached: Option<Timestamp>,
}

/// Incidents left out, by resolution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    pub resolution: Resolution,
    pub incidents: u64,
}

/// Every incident figure of a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    pub window: Window,
    pub generated: Timestamp,
    pub weights: SeverityWeights,
    pub exclude_resolutions: Vec<Resolution>,
    pub reopened_counts: Reopened,
    pub excluded: Vec<Excluded>,
    /// Every counted incident.
    pub overall: Group,
    /// The groups of each dimension asked for, in order of key.
    pub by: BTreeMap<String, Vec<Group>>,
    /// Per department (task empty), then per department and task.
    pub sla: Vec<SlaRow>,
    pub overdue: Vec<Overdue>,
}

/// The milestones of an incident as the figures read them: the record's, each one missing
/// there read from the timeline, and with [`Reopened::Last`] the last resolution.
pub fn milestones(k: &KpiIncident, reopened: Reopened) -> Milestones {
    let mut m = k.incident.milestones.clone();
    let t = &k.timeline;
    if m.detected.is_none() {
        m.detected = t
            .iter()
            .find(|e| e.kind == "opened")
            .map(|e| e.time)
            .or(Some(k.opened));
    }
    let steps: [(&str, IncidentStatus); 4] = [
        ("acknowledged", IncidentStatus::Acknowledged),
        ("contained", IncidentStatus::Contained),
        ("resolved", IncidentStatus::Resolved),
        ("closed", IncidentStatus::Closed),
    ];
    for (name, step) in steps {
        let slot = match step {
            IncidentStatus::Acknowledged => &mut m.acknowledged,
            IncidentStatus::Contained => &mut m.contained,
            IncidentStatus::Resolved => &mut m.resolved,
            _ => &mut m.closed,
        };
        if slot.is_some() {
            continue;
        }
        // The entry that says it set the milestone, else the first status change at or past it
        // (a merged incident's `merged_into` closes it).
        *slot = t
            .iter()
            .find(|e| {
                e.kind == "status"
                    && e.detail
                        .get("milestones")
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(name)))
            })
            .or_else(|| {
                t.iter().find(|e| {
                    (e.kind == "status" && status_to(e).is_some_and(|to| to >= step))
                        || (e.kind == "merged_into" && step == IncidentStatus::Closed)
                })
            })
            .map(|e| e.time);
    }
    if reopened == Reopened::Last && k.incident.reopened > 0 {
        let mut current = IncidentStatus::New;
        let mut last = None;
        for e in t.iter().filter(|e| e.kind == "status") {
            let Some(to) = status_to(e) else { continue };
            if to >= IncidentStatus::Resolved && current < IncidentStatus::Resolved {
                last = Some(e.time);
            }
            current = to;
        }
        if last.is_some() {
            m.resolved = last;
        }
    }
    m
}

fn status_to(e: &TimelineEntry) -> Option<IncidentStatus> {
    e.detail
        .get("to")
        .and_then(Value::as_str)
        .and_then(IncidentStatus::parse)
}

/// Seconds from `a` to `b`, 0 when `b` is earlier.
fn seconds(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<f64> {
    let (a, b) = (a?, b?);
    Some(((b - a).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6).max(0.0))
}

/// One counted incident's figures.
struct Row<'a> {
    incident: &'a Incident,
    detected: Timestamp,
    mttd: Option<f64>,
    mtta: Option<f64>,
    mttc: Option<f64>,
    mttr: Option<f64>,
}

/// The figures of a period from its incidents (any order; those detected outside the window
/// are left out here) and the open tasks of open incidents (for the overdue list).
pub fn compute(
    incidents: &[KpiIncident],
    open_tasks: &[(String, OpenTask)],
    window: Window,
    config: &KpiConfig,
    dimensions: &[By],
    now: Timestamp,
) -> KpiReport {
    let mut excluded: BTreeMap<&'static str, (Resolution, u64)> = BTreeMap::new();
    let mut rows = Vec::new();
    for k in incidents {
        let m = milestones(k, config.reopened);
        let detected = m.detected.unwrap_or(k.opened);
        if !window.contains(detected) {
            continue;
        }
        let inc = &k.incident;
        if let Some(r) = inc
            .resolution
            .filter(|r| inc.status.is_closed() && config.exclude_resolutions.contains(r))
        {
            excluded.entry(r.code()).or_insert((r, 0)).1 += 1;
            continue;
        }
        let at = Some(detected);
        rows.push(Row {
            incident: inc,
            detected,
            mttd: seconds(m.occurred, at),
            mtta: seconds(at, m.acknowledged),
            mttc: seconds(at, m.contained),
            mttr: seconds(at, m.resolved),
        });
    }
    rows.sort_by(|a, b| {
        a.detected
            .cmp(&b.detected)
            .then(a.incident.id.cmp(&b.incident.id))
    });
    let all: Vec<&Row> = rows.iter().collect();
    let overall = group(String::new(), "All incidents".into(), &all, &config.weights);
    let mut by = BTreeMap::new();
    for d in dimensions {
        let mut keyed: BTreeMap<String, (String, Vec<&Row>)> = BTreeMap::new();
        for r in &rows {
            for (key, label) in keys(r, *d) {
                keyed.entry(key).or_insert((label, Vec::new())).1.push(r);
            }
        }
        let mut groups: Vec<Group> = keyed
            .into_iter()
            .map(|(key, (label, rs))| group(key, label, &rs, &config.weights))
            .collect();
        if *d == By::Severity {
            groups.sort_by_key(|g| std::cmp::Reverse(g.key.parse::<Severity>().ok()));
        }
        by.insert(d.code().to_owned(), groups);
    }
    KpiReport {
        window,
        generated: now,
        weights: config.weights.clone(),
        exclude_resolutions: config.exclude_resolutions.clone(),
        reopened_counts: config.reopened,
        excluded: excluded
            .into_values()
            .map(|(resolution, incidents)| Excluded {
                resolution,
                incidents,
            })
            .collect(),
        overall,
        by,
        sla: sla(&rows),
        overdue: overdue(open_tasks, now),
    }
}

/// The groups an incident belongs to in a dimension, as (key, label).
fn keys(r: &Row, by: By) -> Vec<(String, String)> {
    let inc = r.incident;
    match by {
        By::Severity => vec![(
            inc.severity.name().to_owned(),
            inc.severity.name().to_owned(),
        )],
        By::Department => {
            let d = inc.departments();
            if d.is_empty() {
                return vec![(String::new(), "(no department)".into())];
            }
            d.into_iter()
                .map(|d| (d.code().to_owned(), d.label().to_owned()))
                .collect()
        }
        By::Type => vec![(inc.playbook.clone(), inc.playbook.clone())],
        By::Site => {
            if inc.entities.sites.is_empty() {
                return vec![(String::new(), "(no site)".into())];
            }
            let mut s = inc.entities.sites.clone();
            s.sort();
            s.dedup();
            s.into_iter().map(|x| (x.clone(), x)).collect()
        }
        By::Month => {
            let m = r.detected.format("%Y-%m").to_string();
            vec![(m.clone(), m)]
        }
    }
}

fn group(key: String, label: String, rows: &[&Row], weights: &SeverityWeights) -> Group {
    let n = rows.len() as u64;
    let stat = |f: fn(&Row) -> Option<f64>| {
        let v: Vec<f64> = rows.iter().filter_map(|r| f(r)).collect();
        Stat::of(&v, n)
    };
    let index: f64 = rows.iter().map(|r| weights.of(r.incident.severity)).sum();
    let (wt, w) = rows
        .iter()
        .filter_map(|r| Some((weights.of(r.incident.severity), r.mttr?)))
        .fold((0.0, 0.0), |(wt, w), (wi, t)| (wt + wi * t, w + wi));
    Group {
        key,
        label,
        incidents: n,
        reopened: rows.iter().filter(|r| r.incident.reopened > 0).count() as u64,
        mttd: stat(|r| r.mttd),
        mtta: stat(|r| r.mtta),
        mttc: stat(|r| r.mttc),
        mttr: stat(|r| r.mttr),
        index,
        weighted_mttr: (w > 0.0).then(|| wt / w),
        ids: rows.iter().map(|r| r.incident.id.clone()).collect(),
    }
}

/// A task's id without the `INC-n:` a merge gives the tasks it moves.
fn task_type(id: &str) -> &str {
    match id.split_once(':') {
        Some((inc, rest)) if inc.starts_with("INC-") => task_type(rest),
        _ => id,
    }
}

/// Whether a task with an SLA met it (`Some(true)`), breached it (`Some(false)`), or is not
/// judged yet (open, not breached) or at all (skipped, no SLA).
pub fn sla_verdict(t: &Task) -> Option<bool> {
    let sla = t.sla?;
    if t.state == TaskState::Skipped {
        return None;
    }
    if t.sla_breached.is_some() {
        return Some(false);
    }
    if t.state != TaskState::Done {
        return None;
    }
    // The timer's own verdict holds for business-hours tasks (it counts the site's hours);
    // a wall-clock timer is checked again from the record, paused time taken out.
    if !sla.business_hours
        && let (Some(opened), Some(done)) = (t.opened, t.done)
    {
        let paused: i64 = t
            .pauses
            .iter()
            .map(|(a, b)| (*b - (*a).max(opened)).num_seconds().max(0))
            .sum::<i64>()
            .max(t.paused_seconds as i64);
        let worked = (done - opened).num_seconds() - paused;
        if worked > i64::from(sla.breach_minutes) * 60 {
            return Some(false);
        }
    }
    Some(true)
}

fn sla(rows: &[Row]) -> Vec<SlaRow> {
    let mut per: BTreeMap<(Department, String), SlaRow> = BTreeMap::new();
    for r in rows {
        for t in &r.incident.tasks {
            let Some(met) = sla_verdict(t) else { continue };
            for task in [String::new(), task_type(&t.id).to_owned()] {
                let row = per
                    .entry((t.department, task.clone()))
                    .or_insert_with(|| SlaRow {
                        department: t.department,
                        task,
                        judged: 0,
                        met: 0,
                        breached: 0,
                        compliance: None,
                        ids: Vec::new(),
                    });
                row.judged += 1;
                if met {
                    row.met += 1;
                } else {
                    row.breached += 1;
                }
                if row.ids.last() != Some(&r.incident.id) {
                    row.ids.push(r.incident.id.clone());
                }
            }
        }
    }
    let mut out: Vec<SlaRow> = per.into_values().collect();
    for r in &mut out {
        r.compliance = (r.judged > 0).then(|| r.met as f64 / r.judged as f64);
    }
    // Departments first, each followed by its tasks (the map's order already does this).
    out
}

fn overdue(open: &[(String, OpenTask)], now: Timestamp) -> Vec<Overdue> {
    let mut out: Vec<Overdue> = open
        .iter()
        .filter(|(_, o)| !o.task.finished() && o.task.state != TaskState::Blocked)
        .filter(|(_, o)| o.task.sla_breached.is_some_and(|b| b <= now))
        .map(|(id, o)| Overdue {
            incident: id.clone(),
            title: o.title.clone(),
            severity: o.severity,
            task: o.task.id.clone(),
            department: o.task.department,
            breached: o.task.sla_breached,
        })
        .collect();
    out.sort_by(|a, b| {
        a.breached
            .cmp(&b.breached)
            .then(a.incident.cmp(&b.incident))
    });
    out
}

/// The incidents the figures of `window` read, with their timelines where needed, only those
/// with a task for `scope` when given. An incident is detected no later than its record was
/// opened (a merge keeps the earlier detection), so records opened before the window are
/// not decoded.
pub fn load(
    store: &dyn CaseStore,
    window: Window,
    scope: Option<Department>,
    config: &KpiConfig,
) -> Result<Vec<KpiIncident>, CaseError> {
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.order = CaseOrder::Opened;
    q.department = scope.map(|d| d.code().to_owned());
    q.opened_since = Some(window.from);
    q.limit = 500;
    let mut out = Vec::new();
    loop {
        let page = store.cases(&q)?;
        let n = page.records.len();
        for r in page.records {
            if r.opened < window.from {
                continue;
            }
            let incident = Incident::from_record(&r)?;
            if incident
                .milestones
                .detected
                .is_some_and(|d| !window.contains(d))
            {
                continue;
            }
            let timeline = if KpiIncident::needs_timeline(&incident, config) {
                store.timeline(&r.id, 0)?
            } else {
                Vec::new()
            };
            out.push(KpiIncident {
                incident,
                opened: r.opened,
                timeline,
            });
        }
        if n < q.limit {
            break;
        }
        q.offset += n;
    }
    Ok(out)
}

/// The unfinished tasks of open incidents, with their incident's id, only `scope`'s when
/// given.
pub fn open_tasks(
    store: &dyn CaseStore,
    scope: Option<Department>,
) -> Result<Vec<(String, OpenTask)>, CaseError> {
    let group = scope.map(|d| d.code().to_owned());
    let items = store.case_items(CaseKind::Incident, group.as_deref())?;
    Ok(items
        .into_iter()
        .filter_map(|(id, item)| {
            serde_json::from_value::<OpenTask>(item.doc)
                .ok()
                .map(|t| (id, t))
        })
        .collect())
}

#[cfg(test)]
mod tests;

pub mod coverage;
pub mod department_risk;
pub mod employee_reports;
pub mod revocation;
pub mod training;

impl crate::incidents::Incidents {
    /// The figures of `window` over the incidents `scope` sees (every incident when none).
    pub fn kpis(
        &self,
        window: Window,
        scope: Option<Department>,
        config: &KpiConfig,
        dimensions: &[By],
        now: Timestamp,
    ) -> Result<KpiReport, CaseError> {
        let incidents = load(self.store(), window, scope, config)?;
        let open = open_tasks(self.store(), scope)?;
        Ok(compute(&incidents, &open, window, config, dimensions, now))
    }
}
