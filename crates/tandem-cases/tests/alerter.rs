//! The alerts stage against a real store: what a finding becomes, and what triage may do.

use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use tandem_cases::alerter::{
    AlertChange, AlertPolicy, Alerter, AlertsConfig, IncidentIntake, NewAlert, NewException,
    Suppression,
};
use tandem_cases::risk::RiskScore;
use tandem_cases::{Alert, AlertStatus, Announce, CaseError, Resolution};
use tandem_identity::Criticality;
use tandem_model::{Entities, Event, Finding, Place, Severity, Timestamp, Ulid};
use tandem_store::{SqliteStore, StoreConfig};

/// Incidents as a list of what they were handed.
#[derive(Default)]
struct Intake {
    raised: Mutex<Vec<String>>,
    risks: Mutex<Vec<RiskScore>>,
}

impl IncidentIntake for Intake {
    fn alert_raised(
        &self,
        alert: &Alert,
        _: &AlertPolicy,
        _: Timestamp,
    ) -> Result<Option<String>, CaseError> {
        self.raised.lock().unwrap().push(alert.id.clone());
        Ok(Some("INC-1".into()))
    }

    fn risk_crossed(&self, score: &RiskScore, _: Timestamp) -> Result<Option<String>, CaseError> {
        self.risks.lock().unwrap().push(score.clone());
        Ok(None)
    }
}

#[derive(Default)]
struct Heard(Mutex<Vec<Event>>);

impl Announce for Heard {
    fn announce(&self, events: Vec<Event>) {
        self.0.lock().unwrap().extend(events);
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    alerter: Alerter,
    intake: Arc<Intake>,
    heard: Arc<Heard>,
}

fn fixture_with(config: AlertsConfig, criticality: Criticality) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    let intake = Arc::new(Intake::default());
    let heard = Arc::new(Heard::default());
    let alerter = Alerter::new(
        store.clone(),
        config,
        intake.clone(),
        heard.clone(),
        Arc::new(move |_: &str| criticality),
    )
    .unwrap();
    Fixture {
        _dir: dir,
        store,
        alerter,
        intake,
        heard,
    }
}

fn fixture() -> Fixture {
    fixture_with(AlertsConfig::default(), Criticality::Normal)
}

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
}

/// The demo's terminated badge as the native detection sees it.
fn native(evidence: Ulid, time: Timestamp) -> (Ulid, Finding) {
    (
        Ulid::generate(),
        Finding {
            rule_id: "tandem.terminated_access".into(),
            rule_title: "Door access by a terminated or suspended person".into(),
            engine: "native".into(),
            severity: Severity::High,
            tags: vec!["attack.t1078".into(), "attack.persistence".into()],
            time,
            summary: "Badge 10077 of Bjørn Lie (terminated) used at Server room door".into(),
            evidence: vec![evidence],
            entities: Entities {
                persons: vec!["p-17".into()],
                sites: vec!["osl".into()],
                ..Default::default()
            },
            place: Some(Place {
                site: Some("osl".into()),
                door: Some("osl-a-srv".into()),
                ..Default::default()
            }),
            dedup_key: "tandem.terminated_access:p-17:osl-a-srv".into(),
            score: None,
            detail: Default::default(),
        },
    )
}

/// The shipped Sigma rule on the same badge event.
fn sigma(evidence: Ulid, time: Timestamp) -> (Ulid, Finding) {
    let (_, mut f) = native(evidence, time);
    f.rule_id = "7adade80-686e-4e02-bd31-c66ca37aa4f9".into();
    f.rule_title = "Door Opened For A Terminated Person".into();
    f.engine = "sigma".into();
    f.tags = vec!["attack.t1078".into(), "physical.terminated_access".into()];
    f.dedup_key = "sigma:7adade80-686e-4e02-bd31-c66ca37aa4f9:person:p-17".into();
    (Ulid::generate(), f)
}

fn alerts(f: &Fixture) -> Vec<Alert> {
    f.alerter
        .list(&tandem_cases::alerter::AlertQuery {
            limit: 100,
            ..Default::default()
        })
        .unwrap()
        .1
}

#[test]
fn native_and_sigma_on_one_badge_make_one_alert_listing_both() {
    let f = fixture();
    let ev = Ulid::generate();
    let out = f
        .alerter
        .process(&[native(ev, t0()), sigma(ev, t0())], t0())
        .unwrap();
    assert_eq!(out.opened.len(), 1);
    assert_eq!(out.folded, 1);
    let all = alerts(&f);
    assert_eq!(all.len(), 1);
    let a = &all[0];
    let rules: Vec<&str> = a.rules.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(
        rules,
        [
            "tandem.terminated_access",
            "7adade80-686e-4e02-bd31-c66ca37aa4f9"
        ]
    );
    assert_eq!(a.count, 2);
    assert_eq!(a.incident.as_deref(), Some("INC-1"));
    assert_eq!(
        f.intake.raised.lock().unwrap().as_slice(),
        std::slice::from_ref(&a.id)
    );
    assert_eq!(f.alerter.findings(&a.id, 10).unwrap().len(), 2);
    let heard = f.heard.0.lock().unwrap();
    assert_eq!(heard.len(), 1);
    assert_eq!(heard[0].labels["case.change"], "opened");
}

#[test]
fn a_later_sigma_finding_in_another_batch_folds_too_and_so_do_its_repeats() {
    let f = fixture();
    let ev = Ulid::generate();
    f.alerter.process(&[native(ev, t0())], t0()).unwrap();
    // A different badge event a minute later: same person, door and a shared tag.
    let later = t0() + Duration::minutes(1);
    f.alerter
        .process(&[sigma(Ulid::generate(), later)], later)
        .unwrap();
    let again = t0() + Duration::minutes(20);
    f.alerter
        .process(&[sigma(Ulid::generate(), again)], again)
        .unwrap();
    let all = alerts(&f);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].count, 3);
    assert_eq!(all[0].rules[1].findings, 2);
}

#[test]
fn repeats_fold_within_the_window_and_open_a_new_alert_after_it() {
    let f = fixture();
    f.alerter
        .process(&[native(Ulid::generate(), t0())], t0())
        .unwrap();
    let t1 = t0() + Duration::minutes(30);
    f.alerter
        .process(&[native(Ulid::generate(), t1)], t1)
        .unwrap();
    let a = &alerts(&f)[0];
    assert_eq!((a.count, a.first_seen, a.last_seen), (2, t0(), t1));
    // 61 minutes after the last one: a new situation.
    let t2 = t1 + Duration::minutes(61);
    f.alerter
        .process(&[native(Ulid::generate(), t2)], t2)
        .unwrap();
    assert_eq!(alerts(&f).len(), 2);
}

#[test]
fn processing_the_same_batch_twice_changes_nothing() {
    let f = fixture();
    let batch = [
        native(Ulid::generate(), t0()),
        native(Ulid::generate(), t0()),
    ];
    f.alerter.process(&batch, t0()).unwrap();
    let before = alerts(&f);
    let again = f.alerter.process(&batch, t0()).unwrap();
    assert_eq!(again.skipped, 2);
    assert!(again.opened.is_empty());
    assert_eq!(alerts(&f), before);
    assert_eq!(before[0].count, 2);
}

#[test]
fn suppression_counts_findings_of_the_same_group_on_the_alert() {
    let mut config = AlertsConfig::default();
    config.rules.insert(
        "tandem.terminated_access".into(),
        AlertPolicy {
            suppress: Some(Suppression {
                window_minutes: 30,
                group_by: vec!["actor.person".into()],
            }),
            ..Default::default()
        },
    );
    let f = fixture_with(config, Criticality::Normal);
    f.alerter
        .process(&[native(Ulid::generate(), t0())], t0())
        .unwrap();
    // Another door, so another dedup key, but the same person within 30 minutes.
    let (id, mut other) = native(Ulid::generate(), t0() + Duration::minutes(10));
    other.dedup_key = "tandem.terminated_access:p-17:osl-b-lab".into();
    other.place.as_mut().unwrap().door = Some("osl-b-lab".into());
    let out = f.alerter.process(&[(id, other)], t0()).unwrap();
    assert_eq!(out.suppressed, 1);
    let all = alerts(&f);
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].count, all[0].suppressed), (1, 1));
}

#[test]
fn more_than_three_group_by_fields_are_refused_by_name() {
    let mut config = AlertsConfig::default();
    config.rules.insert(
        "r1".into(),
        AlertPolicy {
            suppress: Some(Suppression {
                window_minutes: 30,
                group_by: vec![
                    "actor.person".into(),
                    "place.door".into(),
                    "src.ip".into(),
                    "device".into(),
                ],
            }),
            ..Default::default()
        },
    );
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("`r1`") && err.contains("at most 3"), "{err}");
}

#[test]
fn an_exception_holds_findings_back_and_counts_them_until_it_expires_or_ends() {
    let f = fixture();
    let x = f
        .alerter
        .add_exception(
            &NewException {
                rule: "*".into(),
                entity: "person:p-17".into(),
                reason: "Final visit to collect belongings, escorted".into(),
                expires: t0() + Duration::hours(2),
            },
            "maria",
            t0(),
        )
        .unwrap();
    let out = f
        .alerter
        .process(&[native(Ulid::generate(), t0())], t0())
        .unwrap();
    assert_eq!(out.excepted, 1);
    assert!(alerts(&f).is_empty());
    let listed = f.alerter.exceptions(false, t0()).unwrap();
    assert_eq!(
        (listed[0].id.as_str(), listed[0].matched),
        (x.id.as_str(), 1)
    );
    // Expired: matches nothing.
    let late = t0() + Duration::hours(3);
    let out = f
        .alerter
        .process(&[native(Ulid::generate(), late)], late)
        .unwrap();
    assert_eq!(out.opened.len(), 1);
    // Ended: the record stays, listed with the ended ones.
    f.alerter.end_exception(&x.id, "maria", late).unwrap();
    assert!(f.alerter.exceptions(false, t0()).unwrap().is_empty());
    let all = f.alerter.exceptions(true, late).unwrap();
    assert_eq!(all[0].ended_by.as_deref(), Some("maria"));
    assert_eq!(all[0].matched, 1);
}

#[test]
fn exceptions_refuse_an_unknown_entity_kind_and_a_past_expiry() {
    let f = fixture();
    let mut new = NewException {
        rule: "*".into(),
        entity: "badge:10077".into(),
        reason: "x".into(),
        expires: t0() + Duration::hours(1),
    };
    assert!(matches!(
        f.alerter.add_exception(&new, "maria", t0()),
        Err(CaseError::Refused(_))
    ));
    new.entity = "person:p-17".into();
    new.expires = t0() - Duration::hours(1);
    assert!(matches!(
        f.alerter.add_exception(&new, "maria", t0()),
        Err(CaseError::Refused(_))
    ));
}

#[test]
fn triage_moves_forward_closing_needs_a_resolution_and_stale_versions_name_the_change() {
    let f = fixture();
    f.alerter
        .process(&[native(Ulid::generate(), t0())], t0())
        .unwrap();
    let a = &alerts(&f)[0];
    let ack = AlertChange {
        status: Some(AlertStatus::Acknowledged),
        ..Default::default()
    };
    let acked = f
        .alerter
        .change(&a.id, a.version, &ack, "maria", t0())
        .unwrap();
    assert_eq!(acked.status, AlertStatus::Acknowledged);
    // Someone else, from the version they saw before Maria's change.
    let err = f
        .alerter
        .change(
            &a.id,
            a.version,
            &AlertChange {
                assignee: Some("ola".into()),
                ..Default::default()
            },
            "ola",
            t0(),
        )
        .unwrap_err();
    match &err {
        CaseError::Conflict {
            by, what, current, ..
        } => {
            assert_eq!(by, "maria");
            assert_eq!(what, "status new → acknowledged");
            assert_eq!(*current, acked.version);
        }
        other => panic!("{other:?}"),
    }
    let back = AlertChange {
        status: Some(AlertStatus::New),
        ..Default::default()
    };
    assert!(matches!(
        f.alerter.change(&a.id, acked.version, &back, "maria", t0()),
        Err(CaseError::Refused(_))
    ));
    let close = AlertChange {
        status: Some(AlertStatus::Closed),
        ..Default::default()
    };
    let err = f
        .alerter
        .change(&a.id, acked.version, &close, "maria", t0())
        .unwrap_err();
    assert!(err.to_string().contains("needs a resolution"), "{err}");
    let closed = f
        .alerter
        .change(
            &a.id,
            acked.version,
            &AlertChange {
                status: Some(AlertStatus::Closed),
                resolution: Some(Resolution::FalsePositive),
                ..Default::default()
            },
            "maria",
            t0(),
        )
        .unwrap();
    assert_eq!(closed.resolution, Some(Resolution::FalsePositive));
    let ratios = f.alerter.false_positive_ratios().unwrap();
    assert_eq!(ratios[0].rule, "tandem.terminated_access");
    assert_eq!(ratios[0].ratio, 1.0);
    let kinds: Vec<String> = f
        .alerter
        .timeline(&a.id)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["opened", "incident", "status", "status"]);
}

#[test]
fn bulk_acknowledges_many_from_their_current_versions() {
    let f = fixture();
    let mut other = native(Ulid::generate(), t0());
    other.1.dedup_key = "tandem.terminated_access:p-18:osl-a-srv".into();
    other.1.entities.persons = vec!["p-18".into()];
    f.alerter
        .process(&[native(Ulid::generate(), t0()), other], t0())
        .unwrap();
    let ids: Vec<String> = alerts(&f).into_iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), 2);
    let ack = AlertChange {
        status: Some(AlertStatus::Acknowledged),
        ..Default::default()
    };
    let done = f.alerter.bulk(&ids, &ack, "maria", t0());
    assert!(done.iter().all(|(_, r)| r.is_ok()));
    assert!(
        alerts(&f)
            .iter()
            .all(|a| a.status == AlertStatus::Acknowledged)
    );
}

#[test]
fn risk_crossing_the_threshold_is_reported_once_with_its_contributions() {
    // A critical person (×2): one high alert (50 points) makes 100.
    let f = fixture_with(AlertsConfig::default(), Criticality::Critical);
    f.alerter
        .process(&[native(Ulid::generate(), t0())], t0())
        .unwrap();
    let risks = f.intake.risks.lock().unwrap().clone();
    assert_eq!(risks.len(), 1);
    assert_eq!(risks[0].entity, "person:p-17");
    assert_eq!(risks[0].score, 100.0);
    assert_eq!(risks[0].criticality, 2.0);
    assert_eq!(risks[0].contributions.len(), 1);
    // Still above: not reported again.
    let later = t0() + Duration::hours(3);
    f.alerter
        .process(&[native(Ulid::generate(), later)], later)
        .unwrap();
    assert_eq!(f.intake.risks.lock().unwrap().len(), 1);
    let now = f.alerter.risk("person:p-17", later).unwrap();
    assert_eq!(now.contributions.len(), 2);
    assert!(now.score > 100.0);
}

#[test]
fn a_normal_person_does_not_cross_on_one_alert() {
    let f = fixture();
    f.alerter
        .process(&[native(Ulid::generate(), t0())], t0())
        .unwrap();
    assert!(f.intake.risks.lock().unwrap().is_empty());
    assert_eq!(f.alerter.risk("person:p-17", t0()).unwrap().score, 50.0);
}

#[test]
fn alerts_raised_by_hand_name_who_raised_them_and_refuse_bad_entities() {
    let f = fixture();
    let a = f
        .alerter
        .raise(
            &NewAlert {
                title: "Tailgating seen by the guard".into(),
                severity: Severity::Medium,
                entities: vec!["person:p-3".into(), "place:osl-a-lobby".into()],
                summary: String::new(),
                tags: Vec::new(),
            },
            "guard1",
            t0(),
        )
        .unwrap();
    assert_eq!(a.raised_by.as_deref(), Some("guard1"));
    assert_eq!(a.entities.persons, ["p-3"]);
    assert_eq!(a.incident.as_deref(), Some("INC-1"));
    let bad = f.alerter.raise(
        &NewAlert {
            title: "x".into(),
            severity: Severity::Low,
            entities: vec!["p-3".into()],
            summary: String::new(),
            tags: Vec::new(),
        },
        "guard1",
        t0(),
    );
    assert!(matches!(bad, Err(CaseError::Refused(_))));
}

#[test]
fn the_assignee_filter_finds_alerts_older_than_the_newest_thousands() {
    use tandem_store::{CaseCommit, CaseStore, CaseWrite};
    let f = fixture();
    f.alerter
        .process(&[native(Ulid::generate(), t0())], t0())
        .unwrap();
    let template = alerts(&f).remove(0);
    // Kim's alert is the oldest of 6,000: a filter over the newest 5,000 missed it.
    let mut commit = CaseCommit::default();
    for n in 0..6_000 {
        let mut a = template.clone();
        a.id = format!("ALR-{}", 100 + n);
        a.dedup_key = format!("k-{n}");
        a.last_seen = t0() - Duration::days(30) + Duration::minutes(n);
        a.assignee = (n == 0).then(|| "kim".to_owned());
        commit
            .writes
            .push(CaseWrite::Insert(a.to_record(a.last_seen)));
    }
    f.store.commit_cases(&mut commit).unwrap();
    let (total, found) = f
        .alerter
        .list(&tandem_cases::alerter::AlertQuery {
            assignee: Some("kim".into()),
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(found[0].id, "ALR-100");
    assert_eq!(found[0].assignee.as_deref(), Some("kim"));
}

#[test]
fn the_queue_scores_several_entities_in_one_read_as_each_alone() {
    let f = fixture();
    f.alerter
        .process(&[native(Ulid::generate(), t0())], t0())
        .unwrap();
    let wanted = [
        "person:p-17".to_owned(),
        "device:none".to_owned(),
        "person:p-17".to_owned(),
    ];
    let scores = f.alerter.risks(&wanted, t0()).unwrap();
    // Repeats are scored once, in the order asked.
    assert_eq!(scores.len(), 2);
    assert_eq!(scores[0], f.alerter.risk("person:p-17", t0()).unwrap());
    assert_eq!(scores[0].score, 50.0);
    assert_eq!(scores[1].entity, "device:none");
    assert_eq!(scores[1].score, 0.0);
}

#[test]
fn past_its_bound_the_stage_forgets_an_entity_above_the_threshold_and_reports_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    let intake = Arc::new(Intake::default());
    let alerter = Alerter::new(
        store,
        AlertsConfig::default(),
        intake.clone(),
        Arc::new(Heard::default()),
        Arc::new(|_: &str| Criticality::Critical),
    )
    .unwrap()
    .with_above_threshold_max(1);
    let about = |person: &str, time: Timestamp| {
        let (id, mut f) = native(Ulid::generate(), time);
        f.entities.persons = vec![person.into()];
        f.dedup_key = format!("tandem.terminated_access:{person}:osl-a-srv");
        (id, f)
    };
    alerter.process(&[about("p-17", t0())], t0()).unwrap();
    let t1 = t0() + Duration::minutes(1);
    alerter.process(&[about("p-18", t1)], t1).unwrap();
    // Remembering one entity, p-18 took p-17's place: p-17's next alert reports it again.
    let t2 = t0() + Duration::hours(3);
    alerter.process(&[about("p-17", t2)], t2).unwrap();
    let reported: Vec<String> = intake
        .risks
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.entity.clone())
        .collect();
    assert_eq!(reported, ["person:p-17", "person:p-18", "person:p-17"]);
}

#[test]
fn alerts_stored_before_tags_existed_are_found_by_assignee_after_the_reindex() {
    use tandem_cases::alerter::AlertQuery;
    use tandem_store::EventStore;
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
        let alerter = Alerter::new(
            store.clone(),
            AlertsConfig::default(),
            Arc::new(Intake::default()),
            Arc::new(Heard::default()),
            Arc::new(|_: &str| Criticality::Normal),
        )
        .unwrap();
        (store, alerter)
    };
    let by_kim = AlertQuery {
        assignee: Some("kim".into()),
        limit: 10,
        ..Default::default()
    };
    let (store, alerter) = open();
    alerter
        .process(&[native(Ulid::generate(), t0())], t0())
        .unwrap();
    let a = alerter
        .list(&AlertQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .1
        .remove(0);
    let change = AlertChange {
        assignee: Some("kim".into()),
        ..Default::default()
    };
    alerter
        .change(&a.id, a.version, &change, "kim", t0())
        .unwrap();
    assert_eq!(alerter.list(&by_kim).unwrap().0, 1);
    drop(alerter);
    store.close().unwrap();
    drop(store);
    // The file as the previous version wrote it.
    let conn = rusqlite::Connection::open(dir.path().join("tandem.db")).unwrap();
    conn.execute_batch(
        "DROP INDEX case_records_due; ALTER TABLE case_records DROP COLUMN due; \
         DROP TABLE case_tags;",
    )
    .unwrap();
    drop(conn);

    let (store, alerter) = open();
    assert_eq!(alerter.list(&by_kim).unwrap().0, 0, "not yet reindexed");
    assert!(tandem_cases::reindex_if_needed(store.as_ref()).unwrap() >= 1);
    assert_eq!(alerter.list(&by_kim).unwrap().1[0].id, a.id);
    assert_eq!(
        tandem_cases::reindex_if_needed(store.as_ref()).unwrap(),
        0,
        "once"
    );
}
