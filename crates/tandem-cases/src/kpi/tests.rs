//! Every figure on hand-built incidents and timelines with known answers.

use super::*;
use crate::incident::{SlaState, TaskSla, Tlp};
use chrono::Duration;
use proptest::prelude::*;
use serde_json::json;
use tandem_model::Entities;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const T0: &str = "2025-03-03T08:00:00Z";

fn t0() -> Timestamp {
    at(T0)
}

fn mins(m: i64) -> Timestamp {
    t0() + Duration::minutes(m)
}

fn march() -> Window {
    Window {
        from: at("2025-03-01T00:00:00Z"),
        to: at("2025-04-01T00:00:00Z"),
    }
}

/// An incident detected at T0 + `detected` minutes, with the given times (minutes from T0).
fn incident(id: &str, severity: Severity, status: IncidentStatus, m: [Option<i64>; 6]) -> Incident {
    let t = |x: Option<i64>| x.map(mins);
    Incident {
        id: id.into(),
        version: 1,
        title: format!("Incident {id}"),
        summary: String::new(),
        playbook: "generic".into(),
        severity,
        status,
        resolution: status.is_closed().then_some(Resolution::TruePositive),
        impact: String::new(),
        tlp: Tlp::default(),
        assignees: Vec::new(),
        alerts: Vec::new(),
        events: Vec::new(),
        observables: Vec::new(),
        entities: Entities::default(),
        tasks: Vec::new(),
        comments: Vec::new(),
        evidence: Vec::new(),
        review: None,
        milestones: Milestones {
            occurred: t(m[0]),
            detected: t(m[1]),
            acknowledged: t(m[2]),
            contained: t(m[3]),
            resolved: t(m[4]),
            closed: t(m[5]),
        },
        merged_into: None,
        origin: "manual".into(),
        reopened: 0,
        actions: Vec::new(),
    }
}

fn k(incident: Incident) -> KpiIncident {
    let opened = incident.milestones.detected.unwrap_or(t0());
    KpiIncident {
        incident,
        opened,
        timeline: Vec::new(),
    }
}

fn entry(case: &str, minute: i64, kind: &str, detail: Value) -> TimelineEntry {
    TimelineEntry {
        seq: 0,
        case_id: case.into(),
        time: mins(minute),
        actor: "maria".into(),
        kind: kind.into(),
        detail,
    }
}

fn report(incidents: &[KpiIncident], config: &KpiConfig) -> KpiReport {
    compute(incidents, &[], march(), config, &By::ALL, mins(10_000))
}

#[test]
fn times_to_detect_acknowledge_contain_and_resolve_have_known_answers() {
    use IncidentStatus::*;
    let s = Some;
    let incidents = [
        // occurred, detected, acknowledged, contained, resolved, closed (minutes from T0)
        k(incident(
            "INC-1",
            Severity::High,
            Closed,
            [s(-10), s(0), s(5), s(30), s(60), s(70)],
        )),
        k(incident(
            "INC-2",
            Severity::Low,
            Resolved,
            [s(-2), s(0), s(15), None, s(240), None],
        )),
        k(incident(
            "INC-3",
            Severity::Medium,
            Acknowledged,
            [None, s(0), s(1), None, None, None],
        )),
    ];
    let r = report(&incidents, &KpiConfig::default());
    let o = &r.overall;
    assert_eq!(o.incidents, 3);
    // MTTD: 600 s and 120 s; INC-3 has no occurrence time.
    assert_eq!(
        (o.mttd.n, o.mttd.median, o.mttd.p90),
        (2, Some(360.0), Some(600.0))
    );
    assert!((o.mttd.share - 2.0 / 3.0).abs() < 1e-9);
    // MTTA: 60, 300, 900 s.
    assert_eq!(o.mtta.median, Some(300.0));
    assert_eq!(o.mtta.p90, Some(900.0));
    assert_eq!(o.mtta.mean, Some(420.0));
    assert_eq!(o.mtta.share, 1.0);
    // MTTC: INC-1 only.
    assert_eq!((o.mttc.n, o.mttc.median), (1, Some(1800.0)));
    // MTTR: 3600 and 14400 s.
    assert_eq!((o.mttr.n, o.mttr.mean), (2, Some(9000.0)));
    // Index: high 7 + low 1 + medium 3; weighted MTTR (7·3600 + 1·14400) / 8.
    assert_eq!(o.index, 11.0);
    assert_eq!(o.weighted_mttr, Some((7.0 * 3600.0 + 14400.0) / 8.0));
    // Per severity, most severe first.
    let sev: Vec<(&str, u64)> = r.by["severity"]
        .iter()
        .map(|g| (g.key.as_str(), g.incidents))
        .collect();
    assert_eq!(sev, [("high", 1), ("medium", 1), ("low", 1)]);
    assert_eq!(r.by["month"][0].key, "2025-03");
    assert_eq!(r.by["month"][0].ids, ["INC-1", "INC-2", "INC-3"]);
}

#[test]
fn incidents_detected_outside_the_window_are_not_counted() {
    let s = Some;
    let mut before = incident("INC-9", Severity::High, IncidentStatus::New, [None; 6]);
    before.milestones.detected = Some(at("2025-02-28T23:59:59Z"));
    let inside = incident(
        "INC-10",
        Severity::High,
        IncidentStatus::New,
        [None, s(0), None, None, None, None],
    );
    let r = report(&[k(before), k(inside)], &KpiConfig::default());
    assert_eq!(r.overall.ids, ["INC-10"]);
}

#[test]
fn milestones_missing_from_the_record_are_read_from_the_timeline() {
    // A record written before its milestones were kept: only the timeline knows.
    let mut inc = incident(
        "INC-4",
        Severity::Medium,
        IncidentStatus::Resolved,
        [None; 6],
    );
    inc.resolution = None;
    let timeline = vec![
        entry("INC-4", 0, "opened", json!({"origin": "manual"})),
        // Says which milestones it set.
        entry(
            "INC-4",
            4,
            "status",
            json!({"from": "new", "to": "in_progress", "milestones": ["acknowledged"]}),
        ),
        // An older entry without the list: reaching `resolved` sets contained and resolved.
        entry(
            "INC-4",
            50,
            "status",
            json!({"from": "in_progress", "to": "resolved"}),
        ),
    ];
    assert!(KpiIncident::needs_timeline(&inc, &KpiConfig::default()));
    let ki = KpiIncident {
        incident: inc,
        opened: mins(0),
        timeline,
    };
    let m = milestones(&ki, Reopened::First);
    assert_eq!(m.detected, Some(mins(0)));
    assert_eq!(m.acknowledged, Some(mins(4)));
    assert_eq!(m.contained, Some(mins(50)));
    assert_eq!(m.resolved, Some(mins(50)));
    assert_eq!(m.closed, None);
    assert_eq!(m.occurred, None);
    let r = report(&[ki], &KpiConfig::default());
    assert_eq!(r.overall.mtta.median, Some(240.0));
    assert_eq!(r.overall.mttr.median, Some(3000.0));
    // No occurrence time anywhere: no MTTD, and the share says so.
    assert_eq!((r.overall.mttd.n, r.overall.mttd.share), (0, 0.0));
}

#[test]
fn a_reopened_incident_counts_once_with_its_first_or_last_resolution() {
    let s = Some;
    let mut inc = incident(
        "INC-5",
        Severity::High,
        IncidentStatus::Closed,
        [s(0), s(0), s(10), s(20), s(30), s(40)],
    );
    inc.reopened = 1;
    let timeline = vec![
        entry("INC-5", 0, "opened", json!({})),
        entry(
            "INC-5",
            10,
            "status",
            json!({"from": "new", "to": "acknowledged"}),
        ),
        entry(
            "INC-5",
            20,
            "status",
            json!({"from": "acknowledged", "to": "contained"}),
        ),
        entry(
            "INC-5",
            30,
            "status",
            json!({"from": "contained", "to": "resolved"}),
        ),
        entry(
            "INC-5",
            40,
            "status",
            json!({"from": "resolved", "to": "closed"}),
        ),
        entry("INC-5", 100, "reopened", json!({"status": "in_progress"})),
        entry(
            "INC-5",
            100,
            "status",
            json!({"from": "closed", "to": "in_progress"}),
        ),
        entry(
            "INC-5",
            160,
            "status",
            json!({"from": "in_progress", "to": "closed"}),
        ),
    ];
    let ki = KpiIncident {
        incident: inc,
        opened: mins(0),
        timeline,
    };
    let first = report(std::slice::from_ref(&ki), &KpiConfig::default());
    assert_eq!(first.overall.incidents, 1);
    assert_eq!(first.overall.reopened, 1);
    assert_eq!(first.overall.mttr.median, Some(1800.0));
    let last_config = KpiConfig {
        reopened: Reopened::Last,
        ..KpiConfig::default()
    };
    assert!(KpiIncident::needs_timeline(&ki.incident, &last_config));
    let last = report(&[ki], &last_config);
    assert_eq!(last.overall.incidents, 1);
    assert_eq!(last.overall.mttr.median, Some(9600.0));
    // Acknowledgement and containment keep their first times.
    assert_eq!(last.overall.mtta.median, Some(600.0));
}

#[test]
fn false_positives_and_merged_duplicates_are_excluded_by_default_and_counted_when_configured() {
    let s = Some;
    let times = [s(0), s(0), s(5), None, s(20), s(20)];
    let survivor = incident("INC-6", Severity::High, IncidentStatus::Resolved, times);
    let mut merged = incident("INC-7", Severity::High, IncidentStatus::Closed, times);
    merged.resolution = Some(Resolution::Duplicate);
    merged.merged_into = Some("INC-6".into());
    let mut fp = incident("INC-8", Severity::Critical, IncidentStatus::Closed, times);
    fp.resolution = Some(Resolution::FalsePositive);
    let all = [k(survivor), k(merged), k(fp)];

    let r = report(&all, &KpiConfig::default());
    assert_eq!(r.overall.ids, ["INC-6"]);
    assert_eq!(r.overall.index, 7.0);
    let excluded: Vec<(Resolution, u64)> = r
        .excluded
        .iter()
        .map(|e| (e.resolution, e.incidents))
        .collect();
    assert_eq!(
        excluded,
        [(Resolution::Duplicate, 1), (Resolution::FalsePositive, 1)]
    );

    let everything = KpiConfig {
        exclude_resolutions: Vec::new(),
        ..KpiConfig::default()
    };
    let r = report(&all, &everything);
    assert_eq!(r.overall.ids, ["INC-6", "INC-7", "INC-8"]);
    assert_eq!(r.overall.index, 29.0);
    assert!(r.excluded.is_empty());

    // Only false positives excluded: the duplicate counts, the false positive does not.
    let only_fp = KpiConfig {
        exclude_resolutions: vec![Resolution::FalsePositive],
        ..KpiConfig::default()
    };
    assert_eq!(report(&all, &only_fp).overall.ids, ["INC-6", "INC-7"]);
}

#[test]
fn a_merged_incident_without_milestones_is_closed_by_its_merged_into_entry() {
    let inc = incident(
        "INC-11",
        Severity::Low,
        IncidentStatus::Closed,
        [None, Some(0), None, None, None, None],
    );
    let ki = KpiIncident {
        timeline: vec![entry("INC-11", 30, "merged_into", json!({"into": "INC-6"}))],
        incident: inc,
        opened: mins(0),
    };
    let m = milestones(&ki, Reopened::First);
    assert_eq!((m.closed, m.resolved), (Some(mins(30)), None));
}

fn sla_task(id: &str, d: Department, opened: i64, done: Option<i64>, breach: u32) -> Task {
    Task {
        id: id.into(),
        title: id.into(),
        department: d,
        owner_role: String::new(),
        after: Vec::new(),
        required_evidence: Vec::new(),
        state: if done.is_some() {
            TaskState::Done
        } else {
            TaskState::Open
        },
        assignee: None,
        opened: Some(mins(opened)),
        done: done.map(mins),
        sla: Some(TaskSla {
            warn_minutes: breach / 2,
            breach_minutes: breach,
            business_hours: false,
        }),
        sla_state: SlaState::Running,
        paused_seconds: 0,
        paused_since: None,
        evidence: Vec::new(),
        pauses: Vec::new(),
        sla_warned: None,
        sla_breached: None,
        skip_reason: None,
    }
}

#[test]
fn sla_compliance_takes_paused_time_out_and_judges_only_finished_or_breached_tasks() {
    use Department::*;
    // Done after 90 minutes, 60 of them paused: 30 worked of 60 allowed, met.
    let mut paused = sla_task("revoke_badge", Facilities, 0, Some(90), 60);
    paused.pauses = vec![(mins(20), mins(80))];
    paused.paused_seconds = 3600;
    // The same without the pause: 90 of 60, breached (even with no breach recorded).
    let late = sla_task("revoke_badge", Facilities, 0, Some(90), 60);
    // Breached by the timer, then done.
    let mut breached = sla_task("confirm", Hr, 0, Some(20), 60);
    breached.sla_breached = Some(mins(15));
    // A business-hours task: the timer's verdict holds (no breach recorded: met).
    let mut business = sla_task("confirm", Hr, 0, Some(600), 60);
    business.sla.as_mut().unwrap().business_hours = true;
    // Not judged: open and not breached, skipped, without an SLA.
    let open = sla_task("confirm", Hr, 0, None, 60);
    let mut skipped = sla_task("confirm", Hr, 0, None, 60);
    skipped.state = TaskState::Skipped;
    let mut none = sla_task("confirm", Hr, 0, Some(5), 60);
    none.sla = None;
    // Moved by a merge: counted under its playbook task.
    let mut moved = sla_task("INC-3:revoke_badge", Facilities, 0, Some(10), 60);
    moved.after.clear();

    assert_eq!(sla_verdict(&paused), Some(true));
    assert_eq!(sla_verdict(&late), Some(false));
    assert_eq!(sla_verdict(&breached), Some(false));
    assert_eq!(sla_verdict(&business), Some(true));
    assert_eq!(sla_verdict(&open), None);
    assert_eq!(sla_verdict(&skipped), None);
    assert_eq!(sla_verdict(&none), None);

    let s = Some;
    let mut a = incident(
        "INC-1",
        Severity::High,
        IncidentStatus::Resolved,
        [s(0), s(0), s(1), s(2), s(100), None],
    );
    a.tasks = vec![paused, breached, open, skipped, none];
    let mut b = incident(
        "INC-2",
        Severity::High,
        IncidentStatus::Resolved,
        [s(0), s(0), s(1), s(2), s(100), None],
    );
    b.tasks = vec![late, business, moved];
    let r = report(&[k(a), k(b)], &KpiConfig::default());
    let rows: Vec<(Department, &str, u64, u64, Option<f64>)> = r
        .sla
        .iter()
        .map(|x| (x.department, x.task.as_str(), x.judged, x.met, x.compliance))
        .collect();
    assert_eq!(
        rows,
        [
            (Facilities, "", 3, 2, Some(2.0 / 3.0)),
            (Facilities, "revoke_badge", 3, 2, Some(2.0 / 3.0)),
            (Hr, "", 2, 1, Some(0.5)),
            (Hr, "confirm", 2, 1, Some(0.5)),
        ]
    );
    assert_eq!(r.sla[0].ids, ["INC-1", "INC-2"]);
}

#[test]
fn sla_compliance_of_excluded_incidents_is_not_counted() {
    let mut fp = incident(
        "INC-1",
        Severity::High,
        IncidentStatus::Closed,
        [None, Some(0), None, None, None, None],
    );
    fp.resolution = Some(Resolution::FalsePositive);
    fp.tasks = vec![sla_task("confirm", Department::Hr, 0, Some(500), 60)];
    assert!(report(&[k(fp)], &KpiConfig::default()).sla.is_empty());
}

#[test]
fn overdue_lists_breached_unfinished_tasks_of_open_incidents() {
    let mut late = sla_task("confirm", Department::Hr, 0, None, 60);
    late.sla_breached = Some(mins(60));
    let fine = sla_task("revoke_badge", Department::Facilities, 0, None, 60);
    let mut blocked = late.clone();
    blocked.state = TaskState::Blocked;
    let ot = |t: Task| OpenTask {
        title: "Badge after termination".into(),
        severity: Severity::High,
        site: None,
        task: t,
    };
    let open = vec![
        ("INC-1".to_owned(), ot(late)),
        ("INC-1".to_owned(), ot(fine)),
        ("INC-2".to_owned(), ot(blocked)),
    ];
    let r = compute(&[], &open, march(), &KpiConfig::default(), &[], mins(120));
    assert_eq!(r.overdue.len(), 1);
    assert_eq!(
        (
            r.overdue[0].incident.as_str(),
            r.overdue[0].task.as_str(),
            r.overdue[0].department
        ),
        ("INC-1", "confirm", Department::Hr)
    );
}

#[test]
fn groups_by_department_type_and_site_count_an_incident_in_each_of_its_groups() {
    let s = Some;
    let times = [s(0), s(0), s(5), None, None, None];
    let mut a = incident("INC-1", Severity::High, IncidentStatus::Acknowledged, times);
    a.playbook = "terminated-access".into();
    a.tasks = vec![
        sla_task("confirm", Department::Hr, 0, None, 60),
        sla_task("revoke_badge", Department::Facilities, 0, None, 60),
    ];
    a.entities.sites = vec!["oslo".into(), "bergen".into()];
    let b = incident("INC-2", Severity::Low, IncidentStatus::Acknowledged, times);
    let r = report(&[k(a), k(b)], &KpiConfig::default());
    let keys = |by: &str| -> Vec<(String, u64)> {
        r.by[by]
            .iter()
            .map(|g| (g.key.clone(), g.incidents))
            .collect()
    };
    let owned = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
        v.iter().map(|(a, b)| (a.to_string(), *b)).collect()
    };
    assert_eq!(
        keys("department"),
        owned(&[("", 1), ("facilities", 1), ("hr", 1)])
    );
    assert_eq!(
        keys("type"),
        owned(&[("generic", 1), ("terminated-access", 1)])
    );
    assert_eq!(keys("site"), owned(&[("", 1), ("bergen", 1), ("oslo", 1)]));
    assert_eq!(r.by["department"][0].label, "(no department)");
}

#[test]
fn configuration_reads_resolutions_and_weights_and_refuses_negative_weights() {
    let c: KpiConfig = serde_json::from_value(json!({
        "exclude_resolutions": ["false_positive"],
        "reopened": "last",
        "weights": {"critical": 20.0}
    }))
    .unwrap();
    assert_eq!(c.exclude_resolutions, [Resolution::FalsePositive]);
    assert_eq!(c.reopened, Reopened::Last);
    assert_eq!(c.weights.of(Severity::Critical), 20.0);
    assert_eq!(c.weights.of(Severity::High), 7.0);
    let bad = SeverityWeights {
        low: -1.0,
        ..SeverityWeights::default()
    };
    assert!(bad.check().unwrap_err().contains("kpis.weights.low"));
    assert!(serde_json::from_value::<KpiConfig>(json!({"exclude": []})).is_err());
}

#[test]
fn every_figure_has_a_definition() {
    for key in [
        "counted",
        "mttd",
        "mtta",
        "mttc",
        "mttr",
        "stats",
        "index",
        "weighted_mttr",
        "sla",
        "overdue",
    ] {
        assert!(!definition(key).is_empty(), "{key}");
    }
}

proptest! {
    /// Median, p90 and mean against a plain model: sort, then count ranks.
    #[test]
    fn statistics_agree_with_a_simple_model(values in prop::collection::vec(0u32..1_000_000, 0..60), extra in 0u64..5) {
        let v: Vec<f64> = values.iter().map(|x| f64::from(*x)).collect();
        let of = v.len() as u64 + extra;
        let s = Stat::of(&v, of);
        let mut sorted = values.clone();
        sorted.sort();
        let n = sorted.len();
        prop_assert_eq!(s.n, n as u64);
        if n == 0 {
            prop_assert_eq!(s.median, None);
            prop_assert_eq!(s.p90, None);
            prop_assert_eq!(s.mean, None);
        } else {
            // At least half the values on each side of the median.
            let m = s.median.unwrap();
            prop_assert!(sorted.iter().filter(|x| f64::from(**x) <= m).count() * 2 >= n);
            prop_assert!(sorted.iter().filter(|x| f64::from(**x) >= m).count() * 2 >= n);
            // p90 is a value, with at least 90 % at or below it and fewer below it.
            let p = s.p90.unwrap();
            prop_assert!(sorted.iter().any(|x| f64::from(*x) == p));
            let at_or_below = sorted.iter().filter(|x| f64::from(**x) <= p).count();
            let below = sorted.iter().filter(|x| f64::from(**x) < p).count();
            prop_assert!(at_or_below * 10 >= n * 9);
            prop_assert!(below * 10 < n * 9);
            let mean = sorted.iter().map(|x| f64::from(*x)).sum::<f64>() / n as f64;
            prop_assert!((s.mean.unwrap() - mean).abs() < 1e-6);
            prop_assert!((s.share - n as f64 / of as f64).abs() < 1e-12);
        }
    }
}

/// The figures read back from incidents worked through the real incidents stage and store:
/// the timeline the stage writes is the one the KPIs read.
#[test]
fn incidents_worked_through_the_store_give_the_figures_their_timelines_say() {
    use crate::incidents::{IncidentChange, Incidents, IncidentsConfig, NewIncident, TaskAction};
    use crate::playbook::{Playbook, PlaybookTask, Selector, SlaSpec};
    use std::sync::Arc;
    use tandem_store::{SqliteStore, StoreConfig};

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    let sla: std::collections::BTreeMap<String, SlaSpec> = ["low", "medium", "high", "critical"]
        .into_iter()
        .map(|s| {
            (
                s.to_owned(),
                SlaSpec {
                    warn: 30,
                    breach: 60,
                },
            )
        })
        .collect();
    let set = Arc::new(crate::PlaybookSet::new(vec![Playbook {
        id: "generic".into(),
        title: "Generic".into(),
        description: String::new(),
        selects: Selector::default(),
        tasks: vec![PlaybookTask {
            id: "triage".into(),
            title: "Triage".into(),
            description: String::new(),
            department: Department::Security,
            owner_role: None,
            after: Vec::new(),
            evidence: Vec::new(),
            sla,
            business_hours: false,
            propose: None,
            auto: false,
        }],
        origin: "test".into(),
        text: String::new(),
    }]));
    let inc = Incidents::new(
        store.clone(),
        store.clone(),
        Arc::new(move || set.clone()),
        Arc::new(crate::Silent),
        Arc::new(crate::incidents::UtcCalendar),
        IncidentsConfig::default(),
    );
    let open = |title: &str, severity| {
        inc.open(
            NewIncident {
                title: title.into(),
                severity: Some(severity),
                ..NewIncident::default()
            },
            "ann",
            t0(),
        )
        .unwrap()
    };
    let status = |id: &str, to: IncidentStatus, resolution: Option<Resolution>, m: i64| {
        let (cur, _) = inc.get(id).unwrap();
        inc.change(
            id,
            cur.version,
            IncidentChange {
                status: Some(to),
                resolution,
                ..IncidentChange::default()
            },
            "ann",
            mins(m),
        )
        .unwrap();
    };
    // A: acknowledged at 10, triage paused 20 → 80 and done at 90 (30 worked: met), resolved
    // at 120, closed, reopened at 200 and closed again at 260.
    let a = open("Badge after termination", Severity::Medium);
    status(&a.id, IncidentStatus::Acknowledged, None, 10);
    let task = |action, m| {
        inc.task(&a.id, "triage", None, action, None, "ann", mins(m))
            .unwrap()
    };
    task(TaskAction::Pause("waiting for HR".into()), 20);
    task(TaskAction::Resume, 80);
    task(TaskAction::Complete, 90);
    status(&a.id, IncidentStatus::Resolved, None, 120);
    status(
        &a.id,
        IncidentStatus::Closed,
        Some(Resolution::TruePositive),
        130,
    );
    status(&a.id, IncidentStatus::InProgress, None, 200);
    status(
        &a.id,
        IncidentStatus::Closed,
        Some(Resolution::TruePositive),
        260,
    );
    // B: merged into C at 30; C is a false positive.
    let b = open("Tailgating at door 3", Severity::Low);
    let c = open("Tailgating at door 3 again", Severity::Low);
    inc.merge(&c.id, &b.id, "ann", mins(30)).unwrap();
    status(
        &c.id,
        IncidentStatus::Closed,
        Some(Resolution::FalsePositive),
        40,
    );

    let config = KpiConfig::default();
    let r = inc
        .kpis(march(), None, &config, &[By::Department], mins(300))
        .unwrap();
    assert_eq!(r.overall.ids, std::slice::from_ref(&a.id));
    assert_eq!(r.overall.reopened, 1);
    assert_eq!(r.overall.mtta.median, Some(600.0));
    assert_eq!(r.overall.mttc.median, Some(120.0 * 60.0));
    assert_eq!(r.overall.mttr.median, Some(120.0 * 60.0));
    assert_eq!(r.sla.len(), 2);
    assert_eq!((r.sla[0].judged, r.sla[0].met), (1, 1));
    assert_eq!(r.excluded.len(), 2);

    // Resolved again at 260 when the last resolution counts; everything when nothing is
    // excluded (the duplicate closed when merged, never resolved).
    let last = KpiConfig {
        reopened: Reopened::Last,
        exclude_resolutions: Vec::new(),
        ..KpiConfig::default()
    };
    let r = inc.kpis(march(), None, &last, &[], mins(300)).unwrap();
    assert_eq!(r.overall.incidents, 3);
    let a_only = inc
        .kpis(march(), Some(Department::Hr), &last, &[], mins(300))
        .unwrap();
    assert_eq!(a_only.overall.incidents, 0);
    let mttr: Vec<f64> = {
        let incidents = load(&*store, march(), None, &last).unwrap();
        let a = incidents.iter().find(|k| k.incident.id == a.id).unwrap();
        assert!(!a.timeline.is_empty());
        let m = milestones(a, Reopened::Last);
        vec![(m.resolved.unwrap() - m.detected.unwrap()).num_seconds() as f64]
    };
    assert_eq!(mttr, [260.0 * 60.0]);
}
