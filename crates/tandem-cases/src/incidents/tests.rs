use super::sla::business_seconds;
use super::*;
use crate::alert::AlertRule;
use crate::alerter::{AlertPolicy, IncidentIntake};
use crate::incident::{SlaState, TaskState};
use crate::playbook::{Playbook, PlaybookTask, Selector, SlaSpec};
use crate::risk::RiskScore;
use crate::{
    Alert, AlertStatus, CaseError, Incident, IncidentStatus, PRODUCT_ACTOR, PlaybookSet, Resolution,
};
use chrono::{Duration, NaiveDate};
use std::collections::BTreeMap;
use tandem_identity::hours::AllowedHours;
use tandem_model::{Department, Entities, Severity, Timestamp};
use tandem_store::{CaseKind, CaseStore};
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
        propose: None,
        auto: false,
    }
}

fn playbooks() -> PlaybookSet {
    let mut revoke = task("revoke_badge", Department::Facilities, &["confirm"]);
    revoke.evidence = vec!["access log".into()];
    // Critical incidents are contained faster.
    let mut contain = task("contain", Department::Security, &[]);
    contain.sla.insert(
        "critical".into(),
        SlaSpec {
            warn: 5,
            breach: 10,
        },
    );
    PlaybookSet::new(vec![
        Playbook {
            id: "terminated".into(),
            title: "Terminated employee access".into(),
            description: String::new(),
            selects: Selector {
                rules: vec!["tandem.terminated_access".into()],
                ..Selector::default()
            },
            tasks: vec![task("confirm", Department::Hr, &[]), contain, revoke],
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

/// The store, counting the records its lists hand out: what a check costs grows with them.
struct Counting {
    inner: Arc<SqliteStore>,
    listed: std::sync::atomic::AtomicUsize,
}

impl Counting {
    fn take(&self) -> usize {
        self.listed.swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

impl CaseStore for Counting {
    fn commit_cases(
        &self,
        c: &mut tandem_store::CaseCommit,
    ) -> Result<(), tandem_store::StoreError> {
        self.inner.commit_cases(c)
    }
    fn case(
        &self,
        k: CaseKind,
        id: &str,
    ) -> Result<Option<tandem_store::CaseRecord>, tandem_store::StoreError> {
        self.inner.case(k, id)
    }
    fn cases(&self, q: &CaseQuery) -> Result<tandem_store::CasePage, tandem_store::StoreError> {
        let page = self.inner.cases(q)?;
        self.listed
            .fetch_add(page.records.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(page)
    }
    fn timeline(
        &self,
        id: &str,
        after: u64,
    ) -> Result<Vec<TimelineEntry>, tandem_store::StoreError> {
        self.inner.timeline(id, after)
    }
    fn linked_findings(
        &self,
        ids: &[tandem_model::Ulid],
    ) -> Result<Vec<(tandem_model::Ulid, String)>, tandem_store::StoreError> {
        self.inner.linked_findings(ids)
    }
    fn case_findings(
        &self,
        id: &str,
        limit: usize,
    ) -> Result<Vec<tandem_model::Ulid>, tandem_store::StoreError> {
        self.inner.case_findings(id, limit)
    }
    fn allocate_case_numbers(&self, k: CaseKind, n: u64) -> Result<u64, tandem_store::StoreError> {
        self.inner.allocate_case_numbers(k, n)
    }
    fn rule_resolutions(
        &self,
        k: CaseKind,
    ) -> Result<Vec<tandem_store::RuleResolutions>, tandem_store::StoreError> {
        self.inner.rule_resolutions(k)
    }
    fn case_items(
        &self,
        k: CaseKind,
        group: Option<&str>,
    ) -> Result<Vec<(String, tandem_store::CaseItem)>, tandem_store::StoreError> {
        self.inner.case_items(k, group)
    }
    fn reindex_cases(
        &self,
        r: &[tandem_store::CaseRecord],
    ) -> Result<(), tandem_store::StoreError> {
        self.inner.reindex_cases(r)
    }
    fn cases_need_reindex(&self) -> Result<bool, tandem_store::StoreError> {
        self.inner.cases_need_reindex()
    }
    fn cases_reindexed(&self) -> Result<(), tandem_store::StoreError> {
        self.inner.cases_reindexed()
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    counting: Arc<Counting>,
    heard: Arc<Heard>,
    inc: Incidents,
}

fn setup() -> Setup {
    setup_with(playbooks())
}

fn setup_with(playbooks: PlaybookSet) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    let counting = Arc::new(Counting {
        inner: store.clone(),
        listed: Default::default(),
    });
    let heard = Arc::new(Heard::default());
    let set = Arc::new(playbooks);
    let inc = Incidents::new(
        counting.clone(),
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
        counting,
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
    // The open tasks' deadlines are the critical ones now.
    let contain = inc.tasks.iter().find(|t| t.id == "contain").unwrap();
    assert_eq!(contain.sla.map(|x| x.warn_minutes), Some(5));
    // Outside the lookback a new incident opens.
    let far = at(T0) + Duration::hours(30);
    let other = s
        .inc
        .alert_raised(&alert("ALR-3", "E1", Severity::Medium, T0), &p, far)
        .unwrap();
    assert_ne!(other.as_deref(), Some(id.as_str()));
}

#[test]
fn a_shared_place_joins_only_an_incident_of_the_same_playbook() {
    let s = setup();
    let p = AlertPolicy::default();
    let at_door = |id: &str, person: &str, rule: &str| {
        let mut a = alert(id, person, Severity::High, T0);
        a.entities.ips.clear();
        a.entities.places = vec!["main-entrance".into()];
        a.rules[0].rule_id = rule.into();
        a
    };
    let raise = |a: Alert| s.inc.alert_raised(&a, &p, at(T0)).unwrap();
    let id = raise(at_door("ALR-1", "E1", "tandem.terminated_access")).unwrap();
    // Someone else's alert of another kind whose evidence passed the same door.
    let other = raise(at_door("ALR-2", "E2", "tandem.remote_login_while_on_site"));
    assert!(other.is_some());
    assert_ne!(other.as_deref(), Some(id.as_str()));
    // The same kind of situation at the same door joins.
    let same = raise(at_door("ALR-3", "E3", "tandem.terminated_access"));
    assert_eq!(same.as_deref(), Some(id.as_str()));
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
    let (total, list) = s
        .inc
        .department_tasks(Some(Department::Hr), at(T0) + Duration::minutes(61), 100)
        .unwrap();
    assert_eq!((total, list.len()), (2, 2));
    assert!(list.iter().all(|v| v.overdue));
    let (total, all) = s.inc.department_tasks(None, at(T0), 100).unwrap();
    assert_eq!((total, all.len()), (6, 6));
    assert_eq!(all.last().unwrap().task.state, TaskState::Blocked);
    // The most urgent first, as many as asked, and how many there are.
    let (total, first) = s.inc.department_tasks(None, at(T0), 2).unwrap();
    assert_eq!((total, first.len()), (6, 2));
    let ids = |l: &[TaskView]| {
        l.iter()
            .map(|v| (v.incident.clone(), v.task.id.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), ids(&all[..2]));
}

#[test]
fn the_department_list_reads_the_open_tasks_kept_beside_the_incidents_not_the_incidents() {
    let s = setup();
    let first = manual(&s, Severity::Medium);
    let second = manual(&s, Severity::High);
    let closing = manual(&s, Severity::Low);
    // HR confirms in the first: its Facilities task opens, its HR task leaves the lists.
    let t1 = at(T0) + Duration::minutes(3);
    s.inc
        .task(
            &first.id,
            "confirm",
            None,
            TaskAction::Complete,
            Some(Department::Hr),
            "hal",
            t1,
        )
        .unwrap();
    // A closed incident has no open tasks.
    s.inc
        .change(
            &closing.id,
            1,
            IncidentChange {
                status: Some(IncidentStatus::Closed),
                resolution: Some(Resolution::FalsePositive),
                ..Default::default()
            },
            "ann",
            t1,
        )
        .unwrap();
    s.counting.take();
    let listed = |d: Option<Department>| {
        let (total, list) = s.inc.department_tasks(d, t1, 100).unwrap();
        assert_eq!(total, list.len());
        let mut l: Vec<(String, String)> =
            list.into_iter().map(|v| (v.incident, v.task.id)).collect();
        l.sort();
        l
    };
    let pair = |i: &Incident, t: &str| (i.id.clone(), t.to_owned());
    assert_eq!(listed(Some(Department::Hr)), [pair(&second, "confirm")]);
    assert_eq!(
        listed(Some(Department::Facilities)),
        [pair(&first, "revoke_badge"), pair(&second, "revoke_badge")]
    );
    assert_eq!(listed(None).len(), 5);
    assert_eq!(s.counting.take(), 0, "no incident was read for the lists");
    // What the list shows is the incident's own, as of its last change.
    let (_, hr) = s
        .inc
        .department_tasks(Some(Department::Hr), t1, 100)
        .unwrap();
    assert_eq!(hr[0].incident_title, "Badge misuse");
    assert_eq!(hr[0].severity, Severity::High);
    assert_eq!(hr[0].elapsed_minutes, Some(3));
    assert_eq!(hr[0].remaining_minutes, Some(57));
}

#[test]
fn the_sla_check_and_action_items_read_only_the_incidents_they_need() {
    let s = setup();
    // Three incidents at T0; their first timers (confirm, contain) warn at 30 minutes.
    let ids: Vec<String> = (0..3).map(|_| manual(&s, Severity::Medium).id).collect();
    s.counting.take();
    assert!(
        s.inc
            .tick(at(T0) + Duration::minutes(10))
            .unwrap()
            .warned
            .is_empty()
    );
    assert_eq!(s.counting.take(), 0, "nothing is due: no incident is read");
    let r = s.inc.tick(at(T0) + Duration::minutes(31)).unwrap();
    assert_eq!(r.warned.len(), 6);
    assert_eq!(s.counting.take(), 3);
    // Warned; the breaches are due at 60 minutes.
    assert!(
        s.inc
            .tick(at(T0) + Duration::minutes(32))
            .unwrap()
            .warned
            .is_empty()
    );
    assert_eq!(s.counting.take(), 0);
    assert_eq!(
        s.inc
            .tick(at(T0) + Duration::minutes(61))
            .unwrap()
            .breached
            .len(),
        6
    );

    s.inc
        .write_review(
            &ids[1],
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
            at(T0) + Duration::minutes(70),
        )
        .unwrap();
    s.counting.take();
    let items = s.inc.action_items(true).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].incident, ids[1]);
    assert_eq!(
        s.counting.take(),
        1,
        "only the incident with a review is read"
    );
}

#[test]
fn an_action_item_past_its_due_date_is_told_once_even_after_closing() {
    let s = setup();
    let inc = manual(&s, Severity::Medium);
    let item = |title: &str, department, day| ActionItemInput {
        id: None,
        title: title.into(),
        department,
        due: NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
        done: false,
    };
    let review = |items| ReviewInput {
        summary: "Badge was not revoked in time".into(),
        action_items: items,
        ..ReviewInput::default()
    };
    let t1 = at(T0) + Duration::minutes(5);
    let inc = s
        .inc
        .write_review(
            &inc.id,
            None,
            review(vec![
                item("Automate badge revocation", Department::Facilities, 10),
                item("Train HR", Department::Hr, 20),
            ]),
            "ann",
            t1,
        )
        .unwrap();
    let close = IncidentChange {
        status: Some(IncidentStatus::Closed),
        resolution: Some(Resolution::TruePositive),
        ..Default::default()
    };
    let inc = s
        .inc
        .change(&inc.id, inc.version, close, "ann", t1)
        .unwrap();
    assert_eq!(inc.status, IncidentStatus::Closed);
    // Due 10 March: still that day in Oslo (UTC+1) at 22:59 UTC, past it at 23:00.
    let r = s.inc.tick(at("2026-03-10T22:59:00Z")).unwrap();
    assert!(r.overdue.is_empty(), "{r:?}");
    let r = s.inc.tick(at("2026-03-10T23:00:00Z")).unwrap();
    assert_eq!(r.overdue, [(inc.id.clone(), "A1".to_owned())]);
    s.counting.take();
    let r = s.inc.tick(at("2026-03-11T12:00:00Z")).unwrap();
    assert!(r.overdue.is_empty(), "told once: {r:?}");
    assert_eq!(
        s.counting.take(),
        0,
        "nothing due until A2's date: nothing read"
    );
    let (inc, timeline) = s.inc.get(&inc.id).unwrap();
    let told = timeline
        .iter()
        .find(|e| e.kind == "action_item_overdue")
        .unwrap();
    assert_eq!(told.actor, PRODUCT_ACTOR);
    assert_eq!(told.detail["item"], "A1");
    assert_eq!(told.detail["department"], "facilities");
    assert_eq!(
        crate::timeline::describe(&told.kind, &told.detail),
        "action item A1 passed its due date 2026-03-10"
    );
    assert!(s.heard.0.lock().unwrap().iter().any(|e| {
        e.labels.get("case.change").map(String::as_str) == Some("action_item_overdue")
    }));

    // A2 done before its date is never told; A1 postponed is told again when the new date
    // passes.
    let mut items: Vec<ActionItemInput> = inc
        .review
        .as_ref()
        .unwrap()
        .action_items
        .iter()
        .map(|a| ActionItemInput {
            id: Some(a.id.clone()),
            title: a.title.clone(),
            department: a.department,
            due: a.due,
            done: a.id == "A2",
        })
        .collect();
    items[0].due = NaiveDate::from_ymd_opt(2026, 3, 25).unwrap();
    let t2 = at("2026-03-12T09:00:00Z");
    s.inc
        .write_review(&inc.id, None, review(items), "ann", t2)
        .unwrap();
    assert!(
        s.inc
            .tick(at("2026-03-24T12:00:00Z"))
            .unwrap()
            .overdue
            .is_empty()
    );
    let r = s.inc.tick(at("2026-03-25T23:30:00Z")).unwrap();
    assert_eq!(r.overdue, [(inc.id.clone(), "A1".to_owned())]);
    let told = kinds(&s, &inc.id)
        .iter()
        .filter(|k| *k == "action_item_overdue")
        .count();
    assert_eq!(told, 2);
}

#[test]
fn evidence_attached_to_the_incident_is_read_back_only_through_it() {
    let s = setup();
    let inc = manual(&s, Severity::Medium);
    let other = manual(&s, Severity::Medium);
    let t1 = at(T0) + Duration::minutes(5);
    let inc = s
        .inc
        .attach(
            &inc.id,
            Some(inc.version),
            "report.html",
            "text/html",
            b"<script>alert(1)</script>",
            "ann",
            t1,
        )
        .unwrap();
    let file = &inc.evidence[0];
    assert_eq!(file.task, None);
    assert_eq!(file.name, "report.html");
    assert_eq!(kinds(&s, &inc.id).last().unwrap(), "evidence");
    let (_, found, stored) = s.inc.evidence_file(&inc.id, &file.sha256).unwrap();
    assert_eq!(found.name, "report.html");
    assert_eq!(stored.bytes, b"<script>alert(1)</script>");
    // The hash alone reads nothing through another incident.
    let err = s.inc.evidence_file(&other.id, &file.sha256).unwrap_err();
    assert!(matches!(err, CaseError::NotFound { .. }), "{err}");
    // Empty files and stale versions are refused.
    let err = s
        .inc
        .attach(&inc.id, None, "empty.txt", "", b"", "ann", t1)
        .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let err = s
        .inc
        .attach(&inc.id, Some(1), "late.txt", "", b"x", "ann", t1)
        .unwrap_err();
    assert!(matches!(err, CaseError::Conflict { .. }), "{err}");
}

#[test]
fn action_items_are_marked_done_by_their_department_and_timelined() {
    let s = setup();
    let inc = manual(&s, Severity::High);
    let t1 = at(T0) + Duration::minutes(5);
    let item = |title: &str, department| ActionItemInput {
        id: None,
        title: title.into(),
        department,
        due: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        done: false,
    };
    let inc = s
        .inc
        .write_review(
            &inc.id,
            None,
            ReviewInput {
                summary: "Badge stayed active".into(),
                action_items: vec![
                    item("Automate revocation", Department::Facilities),
                    item("Train HR", Department::Hr),
                ],
                ..ReviewInput::default()
            },
            "ann",
            t1,
        )
        .unwrap();
    let err = s
        .inc
        .set_action_item_done(&inc.id, "A2", true, Some(Department::Facilities), "fay", t1)
        .unwrap_err();
    assert!(matches!(err, CaseError::Forbidden(_)), "{err}");
    let inc = s
        .inc
        .set_action_item_done(&inc.id, "A1", true, Some(Department::Facilities), "fay", t1)
        .unwrap();
    let review = inc.review.as_ref().unwrap();
    assert_eq!(review.action_items[0].done, Some(t1));
    assert_eq!(review.action_items[1].done, None);
    // Done twice changes nothing; the open list no longer holds it.
    let again = s
        .inc
        .set_action_item_done(&inc.id, "A1", true, None, "ann", t1)
        .unwrap();
    assert_eq!(again.version, inc.version);
    let open = s.inc.action_items(true).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].item.id, "A2");
    assert_eq!(kinds(&s, &inc.id).last().unwrap(), "action_item_done");
    let err = s
        .inc
        .set_action_item_done(&inc.id, "A9", true, None, "ann", t1)
        .unwrap_err();
    assert!(matches!(err, CaseError::NotFound { .. }), "{err}");
}

fn proposal(risk: crate::response::Risk) -> crate::response::Proposal {
    crate::response::Proposal {
        action: "suspend-badge".into(),
        title: "Suspend the badge".into(),
        risk,
        proposers: vec!["soc_analyst".into()],
        approvers: vec!["physical_security".into(), "soc_analyst".into()],
        target: crate::response::ActionTarget {
            entity: "person:E1".into(),
            identifier: "4411".into(),
            label: "Kari, badge 4411".into(),
        },
        request: crate::response::ActionRequest::default(),
        note: String::new(),
    }
}

#[test]
fn a_sensitive_action_needs_a_second_person_of_an_approver_role() {
    use crate::response::{ACTIONS_DUE_TAG, Risk, RunState};
    let s = setup();
    let id = manual(&s, Severity::High).id;
    let (_, run) = s
        .inc
        .propose_action(
            &id,
            "run-1",
            proposal(Risk::Sensitive),
            "ann",
            "soc_analyst",
            at(T0),
        )
        .unwrap();
    assert_eq!(run.state, RunState::Proposed);
    // Not for the runner yet.
    assert!(s.inc.with_due_actions(10).unwrap().is_empty());
    // A role that may not propose it.
    let e = s
        .inc
        .propose_action(
            &id,
            "run-2",
            proposal(Risk::Sensitive),
            "bob",
            "auditor",
            at(T0),
        )
        .unwrap_err();
    assert!(matches!(e, CaseError::Forbidden(_)), "{e}");
    // The proposer cannot approve, nor can a role the definition does not list.
    let e = s
        .inc
        .approve_action(&id, "run-1", "ann", "soc_analyst", at(T0))
        .unwrap_err();
    assert!(e.to_string().contains("second person"), "{e}");
    let e = s
        .inc
        .approve_action(&id, "run-1", "carl", "auditor", at(T0))
        .unwrap_err();
    assert!(matches!(e, CaseError::Forbidden(_)), "{e}");
    let inc = s
        .inc
        .approve_action(&id, "run-1", "dina", "physical_security", at(T0))
        .unwrap();
    assert_eq!(inc.actions[0].state, RunState::Approved);
    assert_eq!(inc.actions[0].decided_by.as_deref(), Some("dina"));
    let due = s.inc.with_due_actions(10).unwrap();
    assert_eq!(due.len(), 1);
    assert!(kinds(&s, &id).contains(&"action_approved".to_owned()));
    // Approving twice is refused; the run is sent, fails, is retried, then succeeds.
    assert!(
        s.inc
            .approve_action(&id, "run-1", "dina", "physical_security", at(T0))
            .is_err()
    );
    let sent = s.inc.begin_action(&id, "run-1", at(T0)).unwrap().unwrap();
    assert_eq!(sent.id, "run-1");
    let retry = at(T0) + chrono::Duration::seconds(30);
    let result = |ok: bool, retry_at| crate::response::AttemptResult {
        status: Some(if ok { 200 } else { 503 }),
        text: String::new(),
        succeeded: ok,
        retry_at,
    };
    s.inc
        .record_attempt(&id, "run-1", result(false, Some(retry)), at(T0))
        .unwrap();
    // Not due before its retry time.
    assert!(s.inc.begin_action(&id, "run-1", at(T0)).unwrap().is_none());
    assert!(s.inc.begin_action(&id, "run-1", retry).unwrap().is_some());
    let inc = s
        .inc
        .record_attempt(&id, "run-1", result(true, None), retry)
        .unwrap();
    assert_eq!(inc.actions[0].state, RunState::Succeeded);
    assert_eq!(inc.actions[0].attempts.len(), 2);
    assert!(
        s.inc.with_due_actions(10).unwrap().is_empty(),
        "{ACTIONS_DUE_TAG} kept"
    );
}

#[test]
fn a_low_risk_action_runs_on_proposal_and_a_refusal_needs_a_reason() {
    use crate::response::{Risk, RunState};
    let s = setup();
    let id = manual(&s, Severity::Medium).id;
    let (_, run) = s
        .inc
        .propose_action(
            &id,
            "run-1",
            proposal(Risk::Low),
            "ann",
            "soc_analyst",
            at(T0),
        )
        .unwrap();
    assert_eq!(run.state, RunState::Approved);
    s.inc
        .propose_action(
            &id,
            "run-2",
            proposal(Risk::Sensitive),
            "ann",
            "soc_analyst",
            at(T0),
        )
        .unwrap();
    assert!(
        s.inc
            .refuse_action(&id, "run-2", "  ", "dina", "physical_security", at(T0))
            .is_err()
    );
    let inc = s
        .inc
        .refuse_action(
            &id,
            "run-2",
            "not this one",
            "dina",
            "physical_security",
            at(T0),
        )
        .unwrap();
    assert_eq!(inc.actions[1].state, RunState::Refused);
    assert_eq!(inc.actions[1].reason.as_deref(), Some("not this one"));
}

/// A playbook's task proposes its action when the task opens: with the incident when it
/// waits for nothing, when its dependency finishes, or when a playbook switch adds it; once.
#[test]
fn a_playbook_task_proposes_its_action_when_it_opens() {
    let mut set = playbooks();
    let proposing = |mut t: PlaybookTask, action: &str| {
        t.propose = Some(action.into());
        t
    };
    let terminated = Playbook {
        tasks: vec![
            task("confirm", Department::Hr, &[]),
            proposing(
                task("announce", Department::Security, &[]),
                "post-to-channel",
            ),
            proposing(
                task("revoke_badge", Department::Facilities, &["confirm"]),
                "suspend-badge",
            ),
        ],
        ..set.get("terminated").unwrap().clone()
    };
    let lockdown = Playbook {
        id: "lockdown".into(),
        title: "Lock the host down".into(),
        tasks: vec![
            proposing(task("isolate", Department::It, &[]), "isolate-host"),
            // Kept from the first playbook: it does not propose twice.
            proposing(
                task("announce", Department::Security, &[]),
                "post-to-channel",
            ),
        ],
        ..terminated.clone()
    };
    let mut all: Vec<Playbook> = set.all().to_vec();
    all.retain(|p| p.id != "terminated");
    all.extend([terminated, lockdown]);
    set = PlaybookSet::new(all);
    let s = setup_with(set);
    let inc = manual(&s, Severity::Medium);
    let proposed = |inc: &Incident| {
        inc.actions
            .iter()
            .map(|r| {
                (
                    r.playbook.clone().unwrap_or_default(),
                    r.task.clone().unwrap_or_default(),
                    r.action.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let run = |p: &str, t: &str, a: &str| (p.to_owned(), t.to_owned(), a.to_owned());
    // Only the task open at once proposes; the blocked one waits.
    assert_eq!(
        proposed(&inc),
        [run("terminated", "announce", "post-to-channel")]
    );
    assert!(inc.actions.iter().all(|r| r.request.is_none()));
    let t1 = at(T0) + Duration::minutes(3);
    let inc = s
        .inc
        .task(
            &inc.id,
            "confirm",
            None,
            TaskAction::Complete,
            None,
            "hal",
            t1,
        )
        .unwrap();
    assert_eq!(
        proposed(&inc),
        [
            run("terminated", "announce", "post-to-channel"),
            run("terminated", "revoke_badge", "suspend-badge"),
        ]
    );
    // The runner has work on the incident again.
    let due = s.inc.with_due_actions(10).unwrap();
    assert_eq!(due.len(), 1);
    let inc = s
        .inc
        .change(
            &inc.id,
            inc.version,
            IncidentChange {
                playbook: Some("lockdown".into()),
                ..Default::default()
            },
            "ann",
            t1,
        )
        .unwrap();
    assert_eq!(
        proposed(&inc),
        [
            run("terminated", "announce", "post-to-channel"),
            run("terminated", "revoke_badge", "suspend-badge"),
            run("lockdown", "isolate", "isolate-host"),
        ]
    );
    // Completing a task again opens nothing new, and proposes nothing twice.
    let inc = s
        .inc
        .task(
            &inc.id,
            "isolate",
            None,
            TaskAction::Complete,
            None,
            "ivy",
            t1,
        )
        .unwrap();
    assert_eq!(inc.actions.len(), 3);
}
