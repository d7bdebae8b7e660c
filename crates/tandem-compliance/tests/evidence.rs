//! Every shipped evidence definition computed on a seeded store with known answers.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tandem_cases::Incident;
use tandem_cases::kpi::KpiConfig;
use tandem_compliance::measure::{self, FixedFacts, Sources};
use tandem_compliance::{Library, soa};
use tandem_model::{Activity, Class, Device, Event, Place};
use tandem_store::{
    CaseCommit, CaseStore, CaseWrite, ComplianceStore, EventStore, EvidenceInput, RetentionPolicy,
    SourceRecord, SqliteStore, StoreConfig, WriteBatch, verify_evidence_chain,
};

fn event(source: &str, class: Class, activity: Activity, time: DateTime<Utc>) -> Event {
    Event::new(source, class, activity, time)
}

fn camera(name: &str, activity: Activity, time: DateTime<Utc>) -> Event {
    let mut e = event("cams", Class::DeviceStatus, activity, time);
    e.device = Some(Device {
        hostname: Some(name.into()),
        ..Device::default()
    });
    e
}

fn reader(door: &str, activity: Activity, time: DateTime<Utc>) -> Event {
    let mut e = event("cams", Class::DeviceStatus, activity, time);
    e.place = Some(Place {
        door: Some(door.into()),
        ..Place::default()
    });
    e
}

fn incident(id: &str, status: &str, detected: DateTime<Utc>, extra: serde_json::Value) -> Incident {
    let mut doc = json!({
        "id": id, "version": 1, "title": id, "summary": "", "playbook": "generic",
        "severity": "high", "status": status, "origin": "manual",
        "milestones": { "detected": detected, "acknowledged": detected },
    });
    if status == "resolved" {
        doc["milestones"]["contained"] = json!(detected);
        doc["milestones"]["resolved"] = json!(detected + Duration::hours(2));
    }
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    serde_json::from_value(doc).unwrap()
}

fn task(
    id: &str,
    state: &str,
    opened: DateTime<Utc>,
    done: Option<DateTime<Utc>>,
    breached: bool,
) -> serde_json::Value {
    json!({
        "id": id, "title": id, "department": "it", "owner_role": "soc_analyst", "state": state,
        "opened": opened, "done": done, "sla": { "warn_minutes": 30, "breach_minutes": 60 },
        "sla_state": if breached { "breached" } else { "met" },
        "sla_breached": if breached { Some(opened + Duration::hours(1)) } else { None },
    })
}

/// A store seeded with a day of badge, camera and incident activity whose every figure is
/// known.
fn seeded(now: DateTime<Utc>) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    // The store stamps the time it received each event: the badge system's clock is 30 s
    // behind (its events say they happened 30 s before they arrive), the cameras' 10 s.
    let mut events = Vec::new();
    // 20 badge events: 15 granted, 4 denied, 1 forced.
    for (activity, n) in [
        (Activity::Granted, 15),
        (Activity::Denied, 4),
        (Activity::Forced, 1),
    ] {
        for _ in 0..n {
            events.push(event(
                "badges",
                Class::PhysicalAccess,
                activity,
                now - Duration::seconds(30),
            ));
        }
    }
    // cam-1 went offline and came back; cam-2 went offline last; the lobby reader is online.
    let t = now - Duration::seconds(10);
    events.push(camera("cam-1", Activity::Offline, t - Duration::seconds(2)));
    events.push(camera("cam-1", Activity::Online, t));
    events.push(camera("cam-2", Activity::Online, t - Duration::seconds(2)));
    events.push(camera("cam-2", Activity::Offline, t));
    events.push(reader("lobby", Activity::Online, t));
    // Two alerts or incidents raised from detections, and one older than the window.
    events.push(event(
        "tandem-cases",
        Class::IncidentFinding,
        Activity::Unknown,
        now,
    ));
    events.push(event(
        "tandem-cases",
        Class::IncidentFinding,
        Activity::Unknown,
        now,
    ));
    events.push(event(
        "tandem-cases",
        Class::IncidentFinding,
        Activity::Unknown,
        now - Duration::days(200),
    ));
    store
        .submit(WriteBatch::events(events))
        .unwrap()
        .wait()
        .unwrap();
    for (name, interval) in [("badges", Some(600)), ("silent", Some(600))] {
        store
            .upsert_source(&SourceRecord {
                name: name.into(),
                format: "tandem".into(),
                vendor: None,
                product: None,
                key_sha256: None,
                expected_interval_secs: interval,
            })
            .unwrap();
    }

    let yesterday = (now - Duration::days(1)).date_naive();
    let tomorrow = (now + Duration::days(1)).date_naive();
    let d = now - Duration::days(2);
    let incidents = [
        // Worked through its playbook, SLA met, reviewed; one action item closed in time,
        // one overdue; one evidence file kept by its hash.
        incident(
            "INC-1",
            "resolved",
            d,
            json!({
                "tasks": [task("contain", "done", d, Some(d + Duration::minutes(20)), false)],
                "review": { "summary": "s", "author": "admin", "written": d + Duration::hours(3),
                    "action_items": [
                        { "id": "AI-1", "title": "fix", "department": "it", "due": tomorrow, "done": d + Duration::hours(4) },
                        { "id": "AI-2", "title": "train", "department": "hr", "due": yesterday },
                        { "id": "AI-3", "title": "later", "department": "hr", "due": tomorrow }
                    ] },
                "evidence": [{ "name": "log.txt", "sha256": "ab".repeat(32), "size": 3,
                    "content_type": "text/plain", "added_by": "admin", "time": d }],
            }),
        ),
        // Resolved without a playbook's tasks and without a review.
        incident("INC-2", "resolved", d, json!({})),
        // Open, its task breached its SLA.
        incident(
            "INC-3",
            "in_progress",
            d,
            json!({
                "tasks": [task("contain", "in_progress", d, None, true)],
            }),
        ),
    ];
    let mut commit = CaseCommit::default();
    for i in &incidents {
        commit.writes.push(CaseWrite::Insert(i.to_record(d, d)));
    }
    store.commit_cases(&mut commit).unwrap();
    (dir, store)
}

fn measured(now: DateTime<Utc>, store: &SqliteStore, facts: &FixedFacts) -> Vec<EvidenceInput> {
    let library = Library::shipped();
    let kpis = KpiConfig::default();
    let src = Sources {
        events: store,
        cases: store,
        facts,
        kpis: &kpis,
    };
    library
        .evidence
        .iter()
        .map(|d| measure::measure(d, &src, now))
        .collect()
}

fn find<'a>(all: &'a [EvidenceInput], id: &str) -> &'a EvidenceInput {
    all.iter()
        .find(|e| e.evidence == id)
        .unwrap_or_else(|| panic!("{id}"))
}

#[test]
fn every_shipped_evidence_gives_its_known_answer_on_a_seeded_store() {
    let now = Utc::now();
    let (_dir, store) = seeded(now);
    let facts = FixedFacts {
        retention: RetentionPolicy {
            max_age_days: Some(365),
            max_size_mib: None,
        },
        rules_enabled: Some(42),
    };
    let all = measured(now, &store, &facts);
    let expect = |id: &str, status: &str, value: Option<f64>| {
        let e = find(&all, id);
        assert_eq!(
            (e.status.as_str(), e.value),
            (status, value),
            "{id}: {}",
            e.detail
        );
    };
    expect("incidents-with-playbook", "fail", Some(2.0 / 3.0));
    expect("incident-sla", "fail", Some(0.5));
    expect("events-assessed", "pass", Some(2.0));
    expect("reviews-written", "fail", Some(0.5));
    expect("action-items-closed", "fail", Some(0.5));
    expect("evidence-hashed", "pass", Some(1.0));
    expect("devices-online", "fail", Some(2.0 / 3.0));
    expect("denied-rate", "fail", Some(200.0));
    expect("forced-door-rate", "fail", Some(50.0));
    expect("sources-healthy", "fail", Some(0.5));
    expect("retention-in-force", "pass", Some(1.0));
    expect("rules-enabled", "pass", Some(42.0));
    // 30 s behind (the cameras 10 s), and however long the store took to receive them
    // (generously bounded).
    let skew = find(&all, "clock-skew");
    assert_eq!(skew.status, "pass", "{}", skew.detail);
    assert!(
        (30.0..100.0).contains(&skew.value.unwrap()),
        "{}",
        skew.detail
    );
    for gap in ["access-revocation", "training-participation"] {
        expect(gap, "unavailable", None);
    }
    // No employee reports in the seeded store: nothing to judge, which is a gap, not a pass.
    expect("event-reporting", "no_data", None);
    assert_eq!(
        find(&all, "devices-online").detail["offline"],
        json!(["cam-2"])
    );
    assert_eq!(
        find(&all, "reviews-written").detail["missing_review"],
        json!(["INC-2"])
    );
    assert_eq!(
        find(&all, "sources-healthy").detail["silent"][0]["source"],
        "silent"
    );
}

#[test]
fn without_retention_rules_or_data_the_evidence_says_so() {
    let now = Utc::now();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let all = measured(now, &store, &FixedFacts::default());
    assert_eq!(find(&all, "retention-in-force").status, "fail");
    assert_eq!(find(&all, "rules-enabled").status, "fail");
    assert_eq!(find(&all, "incidents-with-playbook").status, "no_data");
    assert_eq!(find(&all, "denied-rate").status, "no_data");
}

#[test]
fn snapshots_feed_the_gaps_and_the_export_verifies() {
    let now = Utc::now();
    let (_dir, store) = seeded(now);
    let facts = FixedFacts {
        retention: RetentionPolicy::default(),
        rules_enabled: Some(3),
    };
    let all = measured(now, &store, &facts);
    store.append_evidence(now, &all).unwrap();
    let log = store.evidence_log(0, 1000).unwrap();
    assert_eq!(verify_evidence_chain(&log), Ok(all.len() as u64));

    let library = Library::shipped();
    let latest = store.latest_evidence().unwrap();
    let views = soa::view(&library, "iso27001-2022", &[], &latest);
    assert_eq!(views.len(), 93);
    let state = |id: &str| views.iter().find(|v| v.id == id).unwrap().state;
    assert_eq!(state("A.8.17"), soa::State::Evidenced);
    assert_eq!(state("A.8.16"), soa::State::Failing);
    assert_eq!(state("A.7.2"), soa::State::Failing);
    assert_eq!(state("A.5.18"), soa::State::Missing);
    assert_eq!(state("A.5.1"), soa::State::NoEvidence);

    let mut history = std::collections::BTreeMap::new();
    for r in log {
        history
            .entry(r.input.evidence.clone())
            .or_insert_with(Vec::new)
            .push(r);
    }
    let bytes = tandem_compliance::export::bundle(&tandem_compliance::export::Contents {
        catalogue: library.catalogue("iso27001-2022").unwrap(),
        controls: &views,
        history: &history,
        generated: now,
        by: "auditor",
        chain: "verified",
    })
    .unwrap();
    // README, SoA and three files per control.
    assert_eq!(tandem_compliance::export::verify(&bytes), Ok(2 + 93 * 3));
}
