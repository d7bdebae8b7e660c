//! Findings become alerts: dedup, folding across detections, suppression, exceptions, and
//! the hand-over of new alerts to incidents and risk.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tandem_model::{Entities, Finding, Severity, Timestamp, Ulid};
use tandem_store::{
    CaseCommit, CaseKind, CaseOrder, CaseQuery, CaseRecord, CaseStore, CaseWrite, StoreError,
    TimelineEntry,
};

use crate::alert::{AlertRule, MAX_EVIDENCE};
use crate::risk::{CriticalityOf, RiskConfig, RiskInput, RiskScore};
use crate::timeline::entry;
use crate::{Alert, AlertStatus, Announce, CaseError, PRODUCT_ACTOR, Resolution, case_event};

/// What the alerts stage does with one rule's findings. Defaults apply to rules without an
/// entry of their own (`[alerts.rules."<rule id>"]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertPolicy {
    /// Findings with the same dedup key within this many minutes of the alert's last finding
    /// fold into it.
    pub dedup_window_minutes: u32,
    /// Optional suppression: after an alert is raised, findings of the rule with the same
    /// values of `group_by` (at most three event fields) within the window are counted on it
    /// as suppressed.
    pub suppress: Option<Suppression>,
    /// The lowest severity whose alerts open an incident (lower ones add only to risk).
    pub incident_min_severity: String,
    /// Whether a new alert reopens a closed incident it would have joined.
    pub reopen_closed: bool,
    /// Points an alert of the rule adds to its entities' risk; by severity when not set.
    pub risk_points: Option<f64>,
    /// The playbook its incidents use, instead of the one the playbooks select.
    pub playbook: Option<String>,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        AlertPolicy {
            dedup_window_minutes: 60,
            suppress: None,
            incident_min_severity: "medium".into(),
            reopen_closed: false,
            risk_points: None,
            playbook: None,
        }
    }
}

/// A per-rule suppression window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    pub window_minutes: u32,
    /// Event fields (`actor.person`, `place.door`, `src.ip`), at most three.
    #[serde(default)]
    pub group_by: Vec<String>,
}

/// Where new alerts go next: the incidents stage. A trait so the alerts stage is tested on
/// its own, and implemented by [`crate::incidents::Incidents`].
pub trait IncidentIntake: Send + Sync {
    /// A new alert (or one whose severity rose): it joins an open incident sharing an entity
    /// within the lookback, reopens a closed one when `policy.reopen_closed`, or opens one
    /// from the playbook its rules select when its severity reaches
    /// `policy.incident_min_severity`. Returns the incident it belongs to now, if any.
    fn alert_raised(
        &self,
        alert: &Alert,
        policy: &AlertPolicy,
        now: Timestamp,
    ) -> Result<Option<String>, CaseError>;

    /// An entity's risk crossed the threshold: an incident of the `risk` kind about it,
    /// unless an open one is about it already. Returns that incident.
    fn risk_crossed(&self, score: &RiskScore, now: Timestamp) -> Result<Option<String>, CaseError>;
}

/// Most `group_by` fields a suppression takes: more would make every group its own.
pub const MAX_GROUP_BY: usize = 3;

/// The fields a suppression can group by, and where a finding keeps each.
pub const GROUP_BY_FIELDS: &[&str] = &[
    "actor.person",
    "actor.user",
    "device",
    "src.ip",
    "place.site",
    "place.zone",
    "place.door",
];

/// The alerts stage's settings: `[alerts]` in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Whether findings become alerts at all. Off, findings are still detected and stored
    /// (searchable, on the live monitor) but raise no alert, risk or incident: for a server
    /// that only collects, and to measure what alerting costs ingest (`tandem bench`).
    pub enabled: bool,
    /// Findings of different detections fold into one alert when they share an evidence
    /// event, or when they are about the same person (or device) at the same door and share
    /// a tag within this many minutes: the native detection and a Sigma rule seeing the same
    /// badge make one alert listing both.
    pub fold_minutes: u32,
    /// The policy of rules without an entry in `rules`.
    pub default: AlertPolicy,
    /// Policies by rule id; a rule's entry replaces the default policy as a whole.
    pub rules: BTreeMap<String, AlertPolicy>,
    pub risk: RiskConfig,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            enabled: true,
            fold_minutes: 5,
            default: AlertPolicy::default(),
            rules: BTreeMap::new(),
            risk: RiskConfig::default(),
        }
    }
}

impl AlertsConfig {
    /// The policy for a rule's findings.
    pub fn policy(&self, rule_id: &str) -> &AlertPolicy {
        self.rules.get(rule_id).unwrap_or(&self.default)
    }

    /// Refuses settings the stage cannot honour, naming the rule and the setting.
    pub fn validate(&self) -> Result<(), CaseError> {
        let named = std::iter::once(("default", &self.default))
            .chain(self.rules.iter().map(|(k, v)| (k.as_str(), v)));
        for (rule, p) in named {
            let at = |what: String| CaseError::Refused(format!("alerts policy `{rule}`: {what}"));
            if p.incident_min_severity.parse::<Severity>().is_err() {
                return Err(at(format!(
                    "incident_min_severity `{}` is not a severity (informational, low, medium, high, critical)",
                    p.incident_min_severity
                )));
            }
            if let Some(s) = &p.suppress {
                if s.group_by.len() > MAX_GROUP_BY {
                    return Err(at(format!(
                        "suppress.group_by has {} fields; at most {MAX_GROUP_BY} are allowed",
                        s.group_by.len()
                    )));
                }
                if let Some(f) = s
                    .group_by
                    .iter()
                    .find(|f| !GROUP_BY_FIELDS.contains(&f.as_str()))
                {
                    return Err(at(format!(
                        "suppress.group_by field `{f}` is unknown; expected one of: {}",
                        GROUP_BY_FIELDS.join(", ")
                    )));
                }
                if s.window_minutes == 0 {
                    return Err(at("suppress.window_minutes must be at least 1".into()));
                }
            }
            if p.risk_points
                .is_some_and(|x| !(0.0..=10_000.0).contains(&x))
            {
                return Err(at("risk_points must be between 0 and 10000".into()));
            }
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.risk.threshold) || !positive(self.risk.rule_cap) {
            return Err(CaseError::Refused(
                "alerts.risk: threshold and rule_cap must be above 0".into(),
            ));
        }
        Ok(())
    }
}

/// What one call of [`Alerter::process`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Processed {
    /// Alerts opened.
    pub opened: Vec<String>,
    /// Findings folded into an alert (repeats and other detections of the same situation).
    pub folded: u64,
    /// Findings counted as suppressed on an alert.
    pub suppressed: u64,
    /// Findings held back by an exception.
    pub excepted: u64,
    /// Findings processed before (or given twice), left alone.
    pub skipped: u64,
    /// Entities whose risk crossed the threshold.
    pub risk_crossed: Vec<String>,
}

/// A triage change; fields left out are not changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertChange {
    #[serde(default)]
    pub status: Option<AlertStatus>,
    /// Required when closing.
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// A user name; an empty one unassigns.
    #[serde(default)]
    pub assignee: Option<String>,
}

/// An alert raised by a person or another system rather than a detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAlert {
    pub title: String,
    pub severity: Severity,
    /// `person:<id>`, `device:<id>`, `user:<name>`, `ip:<addr>`, `place:<id>`.
    #[serde(default)]
    pub entities: Vec<String>,
    #[serde(default)]
    pub summary: String,
    /// Tags the alert starts with (an employee report's kind, `report:<kind>`, which selects
    /// its playbook); set by callers in code, not through the API.
    #[serde(skip)]
    pub tags: Vec<String>,
}

/// An allow-list entry: findings of a rule (or every rule, `*`) about an entity are held
/// back until it expires, each counted on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    /// `EXC-<n>`.
    pub id: String,
    pub version: u64,
    /// A rule id, or `*` for every rule.
    pub rule: String,
    /// `person:<id>`, `device:<id>`, `user:<name>`, `ip:<addr>`, `place:<id>`.
    pub entity: String,
    /// Who answers for it.
    pub owner: String,
    pub reason: String,
    pub created: Timestamp,
    pub expires: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    /// Findings it held back.
    #[serde(default)]
    pub matched: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_matched: Option<Timestamp>,
}

impl Exception {
    /// Whether it is in force at `now`.
    pub fn active(&self, now: Timestamp) -> bool {
        self.ended.is_none() && now < self.expires
    }

    fn matches(&self, rule_id: &str, entities: &[String], now: Timestamp) -> bool {
        self.active(now)
            && (self.rule == "*" || self.rule == rule_id)
            && entities.contains(&self.entity)
    }

    fn to_record(&self) -> CaseRecord {
        CaseRecord {
            kind: CaseKind::Exception,
            id: self.id.clone(),
            version: self.version,
            status: if self.ended.is_some() {
                "ended"
            } else {
                "active"
            }
            .into(),
            resolution: None,
            severity: 0,
            key: Some(self.rule.clone()),
            parent: None,
            departments: Vec::new(),
            entities: vec![self.entity.clone()],
            rules: vec![self.rule.clone()],
            sites: Vec::new(),
            opened: self.created,
            updated: self.ended.or(self.last_matched).unwrap_or(self.created),
            tags: Vec::new(),
            due: None,
            items: Vec::new(),
            doc: serde_json::to_value(self).unwrap_or_default(),
        }
    }

    fn from_record(r: &CaseRecord) -> Result<Exception, CaseError> {
        let mut x: Exception = serde_json::from_value(r.doc.clone())
            .map_err(|e| CaseError::Refused(format!("{} is unreadable: {e}", r.id)))?;
        x.version = r.version;
        Ok(x)
    }
}

/// What a new exception says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewException {
    pub rule: String,
    pub entity: String,
    pub reason: String,
    pub expires: Timestamp,
}

/// A rule's closed alerts and how many were false positives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRatio {
    pub rule: String,
    pub closed: u64,
    pub false_positive: u64,
    /// `false_positive / closed`.
    pub ratio: f64,
}

/// Which alerts a list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertQuery {
    pub statuses: Vec<AlertStatus>,
    pub min_severity: Option<Severity>,
    pub rule: Option<String>,
    pub site: Option<String>,
    pub entity: Option<String>,
    pub assignee: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// One alert being worked on by a call of `process`.
struct Work {
    alert: Alert,
    /// The stored version it was read at; none for a new alert.
    stored: Option<u64>,
    opened: Timestamp,
    changed: bool,
    severity_rose: bool,
    timeline: Vec<TimelineEntry>,
}

/// Incidents that open nothing: the alerts stage on its own.
pub struct NoIncidents;

impl IncidentIntake for NoIncidents {
    fn alert_raised(
        &self,
        _: &Alert,
        _: &AlertPolicy,
        _: Timestamp,
    ) -> Result<Option<String>, CaseError> {
        Ok(None)
    }

    fn risk_crossed(&self, _: &RiskScore, _: Timestamp) -> Result<Option<String>, CaseError> {
        Ok(None)
    }
}

/// The alerts stage: turns stored findings into alerts, and keeps the triage of them.
pub struct Alerter {
    store: Arc<dyn CaseStore>,
    config: AlertsConfig,
    intake: Arc<dyn IncidentIntake>,
    announce: Arc<dyn Announce>,
    criticality: CriticalityOf,
    /// One change at a time: processing and triage read, then write, a few records.
    lock: Mutex<()>,
    /// Entities above the risk threshold, so crossing it is reported once; at most
    /// [`MAX_ABOVE_THRESHOLD`].
    above: Mutex<HashSet<String>>,
    above_max: usize,
}

/// Most entities the alerts stage remembers as above the risk threshold (its only state
/// in memory; about 100 bytes each). Past it, one remembered entity is forgotten for each
/// new one: if it is still above, its next alert reports the crossing again, which joins
/// the open incident about it (incidents look for one first) or opens a new one once the
/// last was closed.
pub const MAX_ABOVE_THRESHOLD: usize = 100_000;

fn primary(e: &Entities) -> Option<String> {
    e.persons
        .first()
        .map(|p| format!("person:{p}"))
        .or_else(|| e.devices.first().map(|d| format!("device:{d}")))
        .or_else(|| e.users.first().map(|u| format!("user:{u}")))
        .or_else(|| e.ips.first().map(|i| format!("ip:{i}")))
}

fn union(into: &mut Vec<String>, from: &[String]) {
    for v in from {
        if !into.contains(v) {
            into.push(v.clone());
        }
    }
}

/// The values of `group_by` in a finding, joined; none when the finding has none of them.
fn group_value(f: &Finding, field: &str) -> Option<String> {
    let place = f.place.as_ref();
    match field {
        "actor.person" => f.entities.persons.first().cloned(),
        "actor.user" => f.entities.users.first().cloned(),
        "device" => f.entities.devices.first().cloned(),
        "src.ip" => f.entities.ips.first().cloned(),
        "place.site" => place
            .and_then(|p| p.site.clone())
            .or_else(|| f.entities.sites.first().cloned()),
        "place.zone" => place.and_then(|p| p.zone.clone()),
        "place.door" => place.and_then(|p| p.door.clone()),
        _ => None,
    }
}

fn suppress_key(policy: &AlertPolicy, f: &Finding) -> Option<String> {
    let s = policy.suppress.as_ref()?;
    let values: Vec<String> = s
        .group_by
        .iter()
        .map(|g| group_value(f, g).unwrap_or_default())
        .collect();
    Some(format!("{}|{}", f.rule_id, values.join("|")))
}

fn parse_entities(keys: &[String]) -> Result<Entities, CaseError> {
    let mut e = Entities::default();
    for k in keys {
        let (kind, value) = k
            .split_once(':')
            .filter(|(_, v)| !v.trim().is_empty())
            .ok_or_else(|| {
                CaseError::Refused(format!(
                    "entity `{k}` is not `kind:value` (person:p-17, device:d-3, user:alice, ip:10.0.0.5, place:osl-a-srv)"
                ))
            })?;
        let list = match kind {
            "person" => &mut e.persons,
            "device" => &mut e.devices,
            "user" => &mut e.users,
            "ip" => &mut e.ips,
            "place" => &mut e.places,
            _ => {
                return Err(CaseError::Refused(format!(
                    "entity `{k}`: `{kind}` is not one of person, device, user, ip, place"
                )));
            }
        };
        union(list, &[value.to_owned()]);
    }
    Ok(e)
}

fn store_conflict(e: &CaseError) -> bool {
    matches!(e, CaseError::Store(StoreError::Conflict { .. }))
}

impl Alerter {
    /// The alerts stage over a store. Refuses a configuration it cannot honour.
    pub fn new(
        store: Arc<dyn CaseStore>,
        config: AlertsConfig,
        intake: Arc<dyn IncidentIntake>,
        announce: Arc<dyn Announce>,
        criticality: CriticalityOf,
    ) -> Result<Alerter, CaseError> {
        config.validate()?;
        Ok(Alerter {
            store,
            config,
            intake,
            announce,
            criticality,
            lock: Mutex::new(()),
            above: Mutex::new(HashSet::new()),
            above_max: MAX_ABOVE_THRESHOLD,
        })
    }

    /// Remembers at most `n` entities above the risk threshold instead of
    /// [`MAX_ABOVE_THRESHOLD`] (tests show what happens past the bound with a few).
    pub fn with_above_threshold_max(mut self, n: usize) -> Alerter {
        self.above_max = n.max(1);
        self
    }

    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Folds stored findings into alerts. Findings already linked to an alert or exception
    /// are skipped, so a batch processed twice (a crash, a catch-up overlapping the live
    /// feed) changes nothing the second time.
    pub fn process(
        &self,
        findings: &[(Ulid, Finding)],
        now: Timestamp,
    ) -> Result<Processed, CaseError> {
        let guard = self.guard();
        let mut attempt = 0;
        let (mut processed, work) = loop {
            match self.fold_batch(findings, now) {
                Err(e) if store_conflict(&e) && attempt < 3 => attempt += 1,
                r => break r?,
            }
        };
        drop(guard);
        let mut events = Vec::new();
        for w in &work {
            if w.stored.is_none() {
                events.push(case_event(
                    &w.alert.id,
                    "opened",
                    format!("Alert {} opened: {}", w.alert.id, w.alert.summary),
                    w.alert.severity,
                    PRODUCT_ACTOR,
                    now,
                ));
            }
        }
        if !events.is_empty() {
            self.announce.announce(events);
        }
        for w in work
            .iter()
            .filter(|w| w.stored.is_none() || w.severity_rose)
        {
            self.hand_over(&w.alert, now);
        }
        let mut entities = Vec::new();
        for w in &work {
            union(
                &mut entities,
                &w.alert
                    .entity_keys()
                    .into_iter()
                    .filter(|e| crate::risk::scored(e))
                    .collect::<Vec<_>>(),
            );
        }
        processed.risk_crossed = self.check_risk(&entities, now);
        Ok(processed)
    }

    /// Hands a new alert (or one whose severity rose) to incidents, and keeps the incident
    /// it joined on the alert. A failure there is logged: the alert itself is stored.
    fn hand_over(&self, alert: &Alert, now: Timestamp) {
        let policy = self
            .config
            .policy(alert.rules.first().map_or("", |r| &r.rule_id));
        match self.intake.alert_raised(alert, policy, now) {
            Ok(Some(incident)) if alert.incident.as_deref() != Some(&incident) => {
                let r = self.update(&alert.id, |a| {
                    a.incident = Some(incident.clone());
                    Ok(vec![entry(
                        &a.id,
                        now,
                        PRODUCT_ACTOR,
                        "incident",
                        serde_json::json!({ "incident": incident }),
                    )])
                });
                if let Err(e) = r {
                    tracing::warn!(alert = %alert.id, error = %e, "cannot record the alert's incident");
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(alert = %alert.id, error = %e, "incidents did not take the alert")
            }
        }
    }

    /// Scores entities; those crossing the threshold are handed to incidents once (not
    /// again while they stay above it).
    fn check_risk(&self, entities: &[String], now: Timestamp) -> Vec<String> {
        let mut crossed = Vec::new();
        for entity in entities {
            let score = match self.risk(entity, now) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(entity, error = %e, "cannot score risk");
                    continue;
                }
            };
            let mut above = self.above.lock().unwrap_or_else(|p| p.into_inner());
            if score.score >= score.threshold {
                if !above.contains(entity) && above.len() >= self.above_max {
                    let forget = above.iter().next().cloned();
                    if let Some(f) = forget {
                        above.remove(&f);
                    }
                }
                if above.insert(entity.clone()) {
                    drop(above);
                    crossed.push(entity.clone());
                    if let Err(e) = self.intake.risk_crossed(&score, now) {
                        tracing::warn!(entity, error = %e, "incidents did not take the risk");
                    }
                }
            } else {
                above.remove(entity);
            }
        }
        crossed
    }

    /// One pass over the findings, written in one transaction.
    fn fold_batch(
        &self,
        findings: &[(Ulid, Finding)],
        now: Timestamp,
    ) -> Result<(Processed, Vec<Work>), CaseError> {
        let mut out = Processed::default();
        let ids: Vec<Ulid> = findings.iter().map(|(id, _)| *id).collect();
        let linked: HashSet<Ulid> = self
            .store
            .linked_findings(&ids)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut seen = HashSet::new();
        let todo: Vec<&(Ulid, Finding)> = findings
            .iter()
            .filter(|(id, _)| !linked.contains(id) && seen.insert(*id))
            .collect();
        out.skipped = (findings.len() - todo.len()) as u64;
        if todo.is_empty() {
            return Ok((out, Vec::new()));
        }
        let mut exceptions = self.exceptions(false, now)?;
        let mut touched_exceptions = HashSet::new();
        let mut work: Vec<Work> = Vec::new();
        let mut links = Vec::new();
        for (id, f) in todo {
            let policy = self.config.policy(&f.rule_id);
            let keys = crate::entity_keys(&f.entities, f.place.as_ref());
            if let Some(x) = exceptions
                .iter_mut()
                .find(|x| x.matches(&f.rule_id, &keys, now))
            {
                x.matched += 1;
                x.last_matched = Some(f.time);
                touched_exceptions.insert(x.id.clone());
                links.push((*id, x.id.clone()));
                out.excepted += 1;
                continue;
            }
            if let Some(i) = self.find_fold(&mut work, f, policy)? {
                fold(&mut work[i], *id, f, now);
                links.push((*id, work[i].alert.id.clone()));
                out.folded += 1;
                continue;
            }
            let skey = suppress_key(policy, f);
            if let (Some(skey), Some(s)) = (&skey, &policy.suppress)
                && let Some(i) = self.find_suppressing(&mut work, f, skey, s.window_minutes)?
            {
                let w = &mut work[i];
                w.alert.suppressed += 1;
                w.changed = true;
                links.push((*id, w.alert.id.clone()));
                out.suppressed += 1;
                continue;
            }
            let n = self.store.allocate_case_numbers(CaseKind::Alert, 1)?;
            let alert = Alert {
                id: format!("ALR-{n}"),
                version: 1,
                title: f.rule_title.clone(),
                summary: f.summary.clone(),
                severity: f.severity,
                status: AlertStatus::New,
                resolution: None,
                assignee: None,
                rules: vec![AlertRule {
                    rule_id: f.rule_id.clone(),
                    title: f.rule_title.clone(),
                    engine: f.engine.clone(),
                    findings: 1,
                }],
                dedup_key: f.dedup_key.clone(),
                other_keys: Vec::new(),
                count: 1,
                suppressed: 0,
                first_seen: f.time,
                last_seen: f.time,
                entities: f.entities.clone(),
                place: f.place.clone(),
                evidence: f.evidence.iter().take(MAX_EVIDENCE).copied().collect(),
                tags: f.tags.clone(),
                incident: None,
                risk: policy
                    .risk_points
                    .unwrap_or_else(|| self.config.risk.points.of(f.severity)),
                suppress_key: skey,
                raised_by: None,
            };
            links.push((*id, alert.id.clone()));
            out.opened.push(alert.id.clone());
            let opened = entry(
                &alert.id,
                now,
                PRODUCT_ACTOR,
                "opened",
                serde_json::json!({ "rule": f.rule_id, "finding": id.to_string(), "summary": f.summary }),
            );
            work.push(Work {
                alert,
                stored: None,
                opened: now,
                changed: true,
                severity_rose: false,
                timeline: vec![opened],
            });
        }
        let mut commit = CaseCommit {
            findings: links,
            ..Default::default()
        };
        for w in work.iter_mut().filter(|w| w.changed) {
            match w.stored {
                None => commit
                    .writes
                    .push(CaseWrite::Insert(w.alert.to_record(w.opened))),
                Some(v) => {
                    w.alert.version = v + 1;
                    commit
                        .writes
                        .push(CaseWrite::Update(w.alert.to_record(w.opened)));
                }
            }
            commit.timeline.append(&mut w.timeline);
        }
        for x in exceptions
            .iter_mut()
            .filter(|x| touched_exceptions.contains(&x.id))
        {
            x.version += 1;
            commit.writes.push(CaseWrite::Update(x.to_record()));
        }
        self.store.commit_cases(&mut commit)?;
        work.retain(|w| w.changed);
        Ok((out, work))
    }

    /// The alert a finding folds into: one with its dedup key within the rule's window, or
    /// one of another detection about the same situation (shared evidence; or the same
    /// person or device at the same door with a shared tag, within `fold_minutes`).
    fn find_fold(
        &self,
        work: &mut Vec<Work>,
        f: &Finding,
        policy: &AlertPolicy,
    ) -> Result<Option<usize>, CaseError> {
        let window = chrono::Duration::minutes(policy.dedup_window_minutes.into());
        let fold = chrono::Duration::minutes(self.config.fold_minutes.into());
        let same_key = |a: &Alert| {
            (a.dedup_key == f.dedup_key || a.other_keys.contains(&f.dedup_key))
                && f.time >= a.first_seen - window
                && f.time <= a.last_seen + window
        };
        let related = |a: &Alert| {
            if a.rules.iter().any(|r| r.rule_id == f.rule_id) {
                return false;
            }
            if f.evidence.iter().any(|e| a.evidence.contains(e)) {
                return true;
            }
            let near = f.time >= a.first_seen - fold && f.time <= a.last_seen + fold;
            let door = f.place.as_ref().and_then(|p| p.door.as_ref());
            near && door.is_some()
                && door == a.place.as_ref().and_then(|p| p.door.as_ref())
                && primary(&f.entities).is_some()
                && primary(&f.entities) == primary(&a.entities)
                && f.tags.iter().any(|t| a.tags.contains(t))
        };
        let open = |w: &Work| w.alert.status != AlertStatus::Closed;
        if let Some(i) = work.iter().position(|w| open(w) && same_key(&w.alert)) {
            return Ok(Some(i));
        }
        if let Some(i) = work.iter().position(|w| open(w) && related(&w.alert)) {
            return Ok(Some(i));
        }
        let mut q = CaseQuery::new(CaseKind::Alert);
        q.key = Some(f.dedup_key.clone());
        q.not_statuses = vec![AlertStatus::Closed.code().into()];
        q.limit = 10;
        if let Some(i) = self.load_first(work, &q, same_key)? {
            return Ok(Some(i));
        }
        let mut q = CaseQuery::new(CaseKind::Alert);
        q.not_statuses = vec![AlertStatus::Closed.code().into()];
        q.entities = crate::entity_keys(&f.entities, f.place.as_ref());
        q.updated_since = Some(f.time - window.max(fold));
        q.limit = 100;
        self.load_first(work, &q, |a| same_key(a) || related(a))
    }

    /// An alert of the rule raised within the suppression window with the same group.
    fn find_suppressing(
        &self,
        work: &mut Vec<Work>,
        f: &Finding,
        skey: &str,
        window_minutes: u32,
    ) -> Result<Option<usize>, CaseError> {
        let window = chrono::Duration::minutes(window_minutes.into());
        let holds = |a: &Alert| {
            a.suppress_key.as_deref() == Some(skey)
                && f.time >= a.first_seen
                && f.time <= a.first_seen + window
        };
        if let Some(i) = work.iter().position(|w| holds(&w.alert)) {
            return Ok(Some(i));
        }
        let mut q = CaseQuery::new(CaseKind::Alert);
        q.rule = Some(f.rule_id.clone());
        q.updated_since = Some(f.time - window);
        q.limit = 200;
        self.load_first(work, &q, holds)
    }

    /// The first stored alert of a query that `ok` accepts, added to `work` (or found there).
    fn load_first(
        &self,
        work: &mut Vec<Work>,
        q: &CaseQuery,
        ok: impl Fn(&Alert) -> bool,
    ) -> Result<Option<usize>, CaseError> {
        for r in self.store.cases(q)?.records {
            if let Some(i) = work.iter().position(|w| w.alert.id == r.id) {
                if ok(&work[i].alert) {
                    return Ok(Some(i));
                }
                continue;
            }
            let a = Alert::from_record(&r)?;
            if ok(&a) {
                work.push(Work {
                    stored: Some(r.version),
                    opened: r.opened,
                    alert: a,
                    changed: false,
                    severity_rose: false,
                    timeline: Vec::new(),
                });
                return Ok(Some(work.len() - 1));
            }
        }
        Ok(None)
    }

    /// Reads, changes and writes one alert, again from the start if someone wrote it
    /// meanwhile (for Tandem's own changes, which never depend on what a person saw).
    fn update(
        &self,
        id: &str,
        change: impl Fn(&mut Alert) -> Result<Vec<TimelineEntry>, CaseError>,
    ) -> Result<Alert, CaseError> {
        let _guard = self.guard();
        let mut attempt = 0;
        loop {
            let rec = self.record(id)?;
            let mut a = Alert::from_record(&rec)?;
            let timeline = change(&mut a)?;
            a.version += 1;
            let mut commit = CaseCommit {
                writes: vec![CaseWrite::Update(a.to_record(rec.opened))],
                timeline,
                findings: Vec::new(),
            };
            match self.store.commit_cases(&mut commit) {
                Err(StoreError::Conflict { .. }) if attempt < 3 => attempt += 1,
                r => {
                    r?;
                    return Ok(a);
                }
            }
        }
    }

    fn record(&self, id: &str) -> Result<CaseRecord, CaseError> {
        self.store
            .case(CaseKind::Alert, id)?
            .ok_or_else(|| CaseError::NotFound {
                kind: "alert",
                id: id.to_owned(),
            })
    }

    /// The refusal of a stale change, naming who changed what since (the timeline's last
    /// entry).
    fn conflict(&self, id: &str, based_on: u64, current: u64) -> CaseError {
        crate::timeline::stale(self.store.as_ref(), id, based_on, current)
    }

    /// One alert.
    pub fn get(&self, id: &str) -> Result<Alert, CaseError> {
        Alert::from_record(&self.record(id)?)
    }

    /// A page of alerts and how many match in all.
    pub fn list(&self, query: &AlertQuery) -> Result<(u64, Vec<Alert>), CaseError> {
        let mut q = CaseQuery::new(CaseKind::Alert);
        q.statuses = query.statuses.iter().map(|s| s.code().to_owned()).collect();
        q.min_severity = query.min_severity.map(|s| s.uid().min(255) as u8);
        q.rule = query.rule.clone();
        q.site = query.site.clone();
        q.entities = query.entity.iter().cloned().collect();
        q.order = CaseOrder::Updated;
        // The store indexes assignees as tags (`Alert::to_record`): every alert assigned to
        // someone is found, not only those among the newest few thousand.
        q.tag = query.assignee.as_deref().map(crate::alert::assignee_tag);
        q.limit = query.limit.clamp(1, 500);
        q.offset = query.offset;
        let page = self.store.cases(&q)?;
        let alerts = page
            .records
            .iter()
            .map(Alert::from_record)
            .collect::<Result<_, _>>()?;
        Ok((page.total, alerts))
    }

    /// The findings folded into an alert, oldest first.
    pub fn findings(&self, id: &str, limit: usize) -> Result<Vec<Ulid>, CaseError> {
        Ok(self.store.case_findings(id, limit)?)
    }

    /// An alert's (or exception's) timeline, oldest first.
    pub fn timeline(&self, id: &str) -> Result<Vec<TimelineEntry>, CaseError> {
        Ok(self.store.timeline(id, 0)?)
    }

    /// Triage: moves an alert along new → acknowledged → in progress → closed (closing needs
    /// a resolution; a closed alert can be reopened), sets its assignee. `base_version` is
    /// the version the person saw: if it is not the current one, the change is refused with
    /// who changed what since.
    pub fn change(
        &self,
        id: &str,
        base_version: u64,
        change: &AlertChange,
        actor: &str,
        now: Timestamp,
    ) -> Result<Alert, CaseError> {
        let guard = self.guard();
        let rec = self.record(id)?;
        if rec.version != base_version {
            return Err(self.conflict(id, base_version, rec.version));
        }
        let mut a = Alert::from_record(&rec)?;
        let mut timeline = Vec::new();
        let mut change_name = "status";
        if let Some(to) = change.status
            && to != a.status
        {
            let from = a.status;
            let rank = |s: AlertStatus| AlertStatus::ALL.iter().position(|x| *x == s);
            if from != AlertStatus::Closed && rank(to) < rank(from) {
                return Err(CaseError::Refused(format!(
                    "an alert goes new → acknowledged → in_progress → closed; {id} is {} and cannot go back to {}",
                    from.code(),
                    to.code()
                )));
            }
            if to == AlertStatus::Closed {
                let Some(res) = change.resolution else {
                    return Err(CaseError::Refused(format!(
                        "closing {id} needs a resolution: one of {}",
                        Resolution::ALL.map(|r| r.code()).join(", ")
                    )));
                };
                a.resolution = Some(res);
                change_name = "closed";
            } else {
                a.resolution = None;
            }
            a.status = to;
            timeline.push(entry(
                id,
                now,
                actor,
                "status",
                serde_json::json!({
                    "from": from.code(),
                    "to": to.code(),
                    "resolution": a.resolution.map(|r| r.code()),
                }),
            ));
        } else if let Some(res) = change.resolution {
            if a.status != AlertStatus::Closed {
                return Err(CaseError::Refused(format!(
                    "a resolution is given when closing; {id} is {}",
                    a.status.code()
                )));
            }
            if a.resolution != Some(res) {
                timeline.push(entry(
                    id,
                    now,
                    actor,
                    "resolution",
                    serde_json::json!({
                        "from": a.resolution.map(|r| r.code()),
                        "to": res.code(),
                    }),
                ));
                a.resolution = Some(res);
            }
        }
        if let Some(who) = &change.assignee {
            let who = Some(who.trim().to_owned()).filter(|w| !w.is_empty());
            if who != a.assignee {
                if timeline.is_empty() {
                    change_name = "assignee";
                }
                timeline.push(entry(
                    id,
                    now,
                    actor,
                    "assignee",
                    serde_json::json!({ "from": a.assignee, "to": who }),
                ));
                a.assignee = who;
            }
        }
        if timeline.is_empty() {
            return Ok(a);
        }
        let what = timeline
            .iter()
            .map(|e| crate::timeline::describe(&e.kind, &e.detail))
            .collect::<Vec<_>>()
            .join(", ");
        a.version += 1;
        let mut commit = CaseCommit {
            writes: vec![CaseWrite::Update(a.to_record(rec.opened))],
            timeline,
            findings: Vec::new(),
        };
        match self.store.commit_cases(&mut commit) {
            Err(StoreError::Conflict { current, .. }) => {
                return Err(self.conflict(id, base_version, current.unwrap_or(base_version + 1)));
            }
            r => r?,
        }
        drop(guard);
        self.announce.announce(vec![case_event(
            id,
            change_name,
            format!("Alert {id}: {what} by {actor}"),
            a.severity,
            actor,
            now,
        )]);
        Ok(a)
    }

    /// The same change to many alerts, each from its current version; one result per id.
    pub fn bulk(
        &self,
        ids: &[String],
        change: &AlertChange,
        actor: &str,
        now: Timestamp,
    ) -> Vec<(String, Result<Alert, CaseError>)> {
        ids.iter()
            .map(|id| {
                let r = self
                    .record(id)
                    .and_then(|rec| self.change(id, rec.version, change, actor, now));
                (id.clone(), r)
            })
            .collect()
    }

    /// An alert raised by a person or another system; handed to incidents and risk like
    /// the alerts of findings.
    pub fn raise(&self, new: &NewAlert, actor: &str, now: Timestamp) -> Result<Alert, CaseError> {
        let title = new.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(CaseError::Refused(
                "an alert needs a title of 1 to 200 characters".into(),
            ));
        }
        if new.summary.chars().count() > 4_000 {
            return Err(CaseError::Refused(
                "an alert's summary is at most 4000 characters".into(),
            ));
        }
        if new.entities.len() > 50 {
            return Err(CaseError::Refused(
                "an alert names at most 50 entities".into(),
            ));
        }
        let entities = parse_entities(&new.entities)?;
        let guard = self.guard();
        let n = self.store.allocate_case_numbers(CaseKind::Alert, 1)?;
        let id = format!("ALR-{n}");
        let summary = if new.summary.trim().is_empty() {
            title.to_owned()
        } else {
            new.summary.trim().to_owned()
        };
        let alert = Alert {
            id: id.clone(),
            version: 1,
            title: title.to_owned(),
            summary,
            severity: new.severity,
            status: AlertStatus::New,
            resolution: None,
            assignee: None,
            rules: vec![AlertRule {
                rule_id: MANUAL_RULE.into(),
                title: "Raised by hand or by another system".into(),
                engine: "manual".into(),
                findings: 0,
            }],
            dedup_key: format!("{MANUAL_RULE}:{id}"),
            other_keys: Vec::new(),
            count: 1,
            suppressed: 0,
            first_seen: now,
            last_seen: now,
            entities,
            place: None,
            evidence: Vec::new(),
            tags: new
                .tags
                .iter()
                .take(20)
                .map(|t| t.chars().take(100).collect())
                .collect(),
            incident: None,
            risk: self
                .config
                .policy(MANUAL_RULE)
                .risk_points
                .unwrap_or_else(|| self.config.risk.points.of(new.severity)),
            suppress_key: None,
            raised_by: Some(actor.to_owned()),
        };
        let mut commit = CaseCommit {
            writes: vec![CaseWrite::Insert(alert.to_record(now))],
            timeline: vec![entry(
                &id,
                now,
                actor,
                "opened",
                serde_json::json!({ "rule": MANUAL_RULE, "summary": alert.summary }),
            )],
            findings: Vec::new(),
        };
        self.store.commit_cases(&mut commit)?;
        drop(guard);
        self.announce.announce(vec![case_event(
            &id,
            "opened",
            format!("Alert {id} raised by {actor}: {}", alert.summary),
            alert.severity,
            actor,
            now,
        )]);
        self.hand_over(&alert, now);
        let entities: Vec<String> = alert
            .entity_keys()
            .into_iter()
            .filter(|e| crate::risk::scored(e))
            .collect();
        self.check_risk(&entities, now);
        self.get(&id)
    }

    /// An entity's risk now, with every alert's contribution.
    pub fn risk(&self, entity: &str, now: Timestamp) -> Result<RiskScore, CaseError> {
        let mut scores = self.risks(&[entity.to_owned()], now)?;
        Ok(scores.remove(0))
    }

    /// Several entities' risk now, in the order asked (repeats once), from one read of
    /// their alerts in the lookback (the newest 1,000 per entity, at most 10,000 in all): the
    /// queue scores every row without a query per row.
    pub fn risks(&self, entities: &[String], now: Timestamp) -> Result<Vec<RiskScore>, CaseError> {
        let mut wanted: Vec<String> = Vec::new();
        union(&mut wanted, entities);
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let cfg = &self.config.risk;
        let mut q = CaseQuery::new(CaseKind::Alert);
        q.entities = wanted.clone();
        q.updated_since = Some(now - chrono::Duration::days(cfg.lookback_days.into()));
        q.limit = (1_000 * wanted.len()).min(10_000);
        let mut inputs: Vec<Vec<RiskInput>> = vec![Vec::new(); wanted.len()];
        for r in self.store.cases(&q)?.records {
            let a = Alert::from_record(&r)?;
            // Alerts found to be nothing add nothing.
            if matches!(
                a.resolution,
                Some(Resolution::FalsePositive | Resolution::Benign | Resolution::Duplicate)
            ) {
                continue;
            }
            for (i, e) in wanted.iter().enumerate() {
                if r.entities.contains(e) {
                    inputs[i].push(RiskInput {
                        rule_id: a
                            .rules
                            .first()
                            .map_or_else(String::new, |r| r.rule_id.clone()),
                        alert: a.id.clone(),
                        points: a.risk,
                        time: a.last_seen,
                    });
                }
            }
        }
        Ok(wanted
            .iter()
            .zip(inputs)
            .map(|(entity, inputs)| {
                let multiplier = cfg.criticality.of((self.criticality)(entity));
                crate::risk::score(entity, inputs, cfg, multiplier)
            })
            .collect())
    }

    /// Every person's risk now who has an alert in the lookback (at most 20,000 alerts read,
    /// newest first), for the KPIs' risk per department. Scored as [`Alerter::risks`] does,
    /// alert by alert, from the same read.
    pub fn people_risk(&self, now: Timestamp) -> Result<Vec<RiskScore>, CaseError> {
        let cfg = &self.config.risk;
        let mut q = CaseQuery::new(CaseKind::Alert);
        q.updated_since = Some(now - chrono::Duration::days(cfg.lookback_days.into()));
        q.limit = 500;
        let mut inputs: BTreeMap<String, Vec<RiskInput>> = BTreeMap::new();
        loop {
            let page = self.store.cases(&q)?;
            let n = page.records.len();
            for r in page.records {
                let a = Alert::from_record(&r)?;
                if matches!(
                    a.resolution,
                    Some(Resolution::FalsePositive | Resolution::Benign | Resolution::Duplicate)
                ) {
                    continue;
                }
                for e in r.entities.iter().filter(|e| e.starts_with("person:")) {
                    inputs.entry(e.clone()).or_default().push(RiskInput {
                        rule_id: a
                            .rules
                            .first()
                            .map_or_else(String::new, |r| r.rule_id.clone()),
                        alert: a.id.clone(),
                        points: a.risk,
                        time: a.last_seen,
                    });
                }
            }
            q.offset += n;
            if n < q.limit || q.offset >= 20_000 {
                break;
            }
        }
        Ok(inputs
            .into_iter()
            .map(|(entity, inputs)| {
                let multiplier = cfg.criticality.of((self.criticality)(&entity));
                crate::risk::score(&entity, inputs, cfg, multiplier)
            })
            .collect())
    }

    /// Each rule's closed alerts and the share that were false positives.
    pub fn false_positive_ratios(&self) -> Result<Vec<RuleRatio>, CaseError> {
        Ok(self
            .store
            .rule_resolutions(CaseKind::Alert)?
            .into_iter()
            .map(|r| {
                let closed: u64 = r.resolutions.iter().map(|(_, n)| n).sum();
                let fp = r
                    .resolutions
                    .iter()
                    .filter(|(k, _)| k == Resolution::FalsePositive.code())
                    .map(|(_, n)| n)
                    .sum();
                RuleRatio {
                    rule: r.rule,
                    closed,
                    false_positive: fp,
                    ratio: if closed == 0 {
                        0.0
                    } else {
                        fp as f64 / closed as f64
                    },
                }
            })
            .collect())
    }

    /// Adds an allow-list exception owned by `owner`.
    pub fn add_exception(
        &self,
        new: &NewException,
        owner: &str,
        now: Timestamp,
    ) -> Result<Exception, CaseError> {
        let rule = new.rule.trim();
        if rule.is_empty() {
            return Err(CaseError::Refused(
                "an exception needs a rule id, or `*` for every rule".into(),
            ));
        }
        let entity = parse_entities(std::slice::from_ref(&new.entity))
            .map(|_| new.entity.trim().to_owned())?;
        if new.reason.trim().is_empty() {
            return Err(CaseError::Refused("an exception needs a reason".into()));
        }
        if new.expires <= now {
            return Err(CaseError::Refused(
                "an exception's expiry must be in the future".into(),
            ));
        }
        let n = self.store.allocate_case_numbers(CaseKind::Exception, 1)?;
        let x = Exception {
            id: format!("EXC-{n}"),
            version: 1,
            rule: rule.to_owned(),
            entity,
            owner: owner.to_owned(),
            reason: new.reason.trim().to_owned(),
            created: now,
            expires: new.expires,
            ended: None,
            ended_by: None,
            matched: 0,
            last_matched: None,
        };
        let mut commit = CaseCommit {
            writes: vec![CaseWrite::Insert(x.to_record())],
            timeline: vec![entry(
                &x.id,
                now,
                owner,
                "opened",
                serde_json::json!({ "rule": x.rule, "entity": x.entity, "reason": x.reason, "expires": x.expires }),
            )],
            findings: Vec::new(),
        };
        self.store.commit_cases(&mut commit)?;
        Ok(x)
    }

    /// Exceptions, newest first: the ones in force, or all of them.
    pub fn exceptions(
        &self,
        include_ended: bool,
        now: Timestamp,
    ) -> Result<Vec<Exception>, CaseError> {
        let mut q = CaseQuery::new(CaseKind::Exception);
        if !include_ended {
            q.statuses = vec!["active".into()];
        }
        q.limit = 1_000;
        let all = self
            .store
            .cases(&q)?
            .records
            .iter()
            .map(Exception::from_record)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(all
            .into_iter()
            .filter(|x| include_ended || x.active(now))
            .collect())
    }

    /// Ends an exception now; the record stays, with who ended it.
    pub fn end_exception(
        &self,
        id: &str,
        actor: &str,
        now: Timestamp,
    ) -> Result<Exception, CaseError> {
        let _guard = self.guard();
        let rec = self
            .store
            .case(CaseKind::Exception, id)?
            .ok_or_else(|| CaseError::NotFound {
                kind: "exception",
                id: id.to_owned(),
            })?;
        let mut x = Exception::from_record(&rec)?;
        if x.ended.is_some() {
            return Ok(x);
        }
        x.ended = Some(now);
        x.ended_by = Some(actor.to_owned());
        x.version += 1;
        let mut commit = CaseCommit {
            writes: vec![CaseWrite::Update(x.to_record())],
            timeline: vec![entry(id, now, actor, "ended", serde_json::json!({}))],
            findings: Vec::new(),
        };
        self.store.commit_cases(&mut commit)?;
        Ok(x)
    }
}

/// The rule id of alerts raised by hand or by another system.
pub const MANUAL_RULE: &str = "manual";

/// Folds a finding into an alert being worked on.
fn fold(w: &mut Work, id: Ulid, f: &Finding, now: Timestamp) {
    let a = &mut w.alert;
    a.count += 1;
    if f.time >= a.last_seen {
        a.last_seen = f.time;
        a.summary = f.summary.clone();
    }
    a.first_seen = a.first_seen.min(f.time);
    if f.severity > a.severity {
        w.timeline.push(entry(
            &a.id,
            now,
            PRODUCT_ACTOR,
            "severity",
            serde_json::json!({ "from": a.severity.name(), "to": f.severity.name(), "finding": id.to_string() }),
        ));
        a.severity = f.severity;
        w.severity_rose = true;
    }
    match a.rules.iter_mut().find(|r| r.rule_id == f.rule_id) {
        Some(r) => r.findings += 1,
        None => {
            a.rules.push(AlertRule {
                rule_id: f.rule_id.clone(),
                title: f.rule_title.clone(),
                engine: f.engine.clone(),
                findings: 1,
            });
            w.timeline.push(entry(
                &a.id,
                now,
                PRODUCT_ACTOR,
                "rule_added",
                serde_json::json!({ "rule": f.rule_id, "engine": f.engine, "finding": id.to_string() }),
            ));
        }
    }
    if f.dedup_key != a.dedup_key && !a.other_keys.contains(&f.dedup_key) {
        a.other_keys.push(f.dedup_key.clone());
    }
    for e in &f.evidence {
        if a.evidence.len() >= MAX_EVIDENCE {
            break;
        }
        if !a.evidence.contains(e) {
            a.evidence.push(*e);
        }
    }
    union(&mut a.tags, &f.tags);
    let (to, from) = (&mut a.entities, &f.entities);
    union(&mut to.persons, &from.persons);
    union(&mut to.devices, &from.devices);
    union(&mut to.users, &from.users);
    union(&mut to.ips, &from.ips);
    union(&mut to.places, &from.places);
    union(&mut to.sites, &from.sites);
    union(&mut to.buildings, &from.buildings);
    if a.place.is_none() {
        a.place = f.place.clone();
    }
    w.changed = true;
}
