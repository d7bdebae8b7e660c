//! The case store's promises to the alerts and incidents stages: versions, links, timeline.

use chrono::{Duration, Utc};
use tandem_store::{
    CaseCommit, CaseKind, CaseQuery, CaseRecord, CaseStore, CaseWrite, SqliteStore, StoreConfig,
    StoreError, TimelineEntry,
};

fn record(id: &str, kind: CaseKind) -> CaseRecord {
    CaseRecord {
        kind,
        id: id.into(),
        version: 1,
        status: "new".into(),
        resolution: None,
        severity: 3,
        key: Some(format!("key-{id}")),
        parent: None,
        departments: vec!["security".into(), "hr".into()],
        entities: vec!["person:p-1".into()],
        rules: vec!["tandem.terminated_access".into()],
        sites: vec!["osl".into()],
        opened: Utc::now() - Duration::minutes(5),
        updated: Utc::now(),
        tags: Vec::new(),
        due: None,
        items: Vec::new(),
        doc: serde_json::json!({"title": id}),
    }
}

fn entry(case: &str, kind: &str) -> TimelineEntry {
    TimelineEntry {
        seq: 0,
        case_id: case.into(),
        time: Utc::now(),
        actor: "tandem".into(),
        kind: kind.into(),
        detail: serde_json::json!({}),
    }
}

#[test]
fn a_stale_update_is_refused_and_nothing_of_its_commit_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let mut c = CaseCommit {
        writes: vec![CaseWrite::Insert(record("INC-1", CaseKind::Incident))],
        timeline: vec![entry("INC-1", "opened")],
        findings: vec![],
    };
    store.commit_cases(&mut c).unwrap();
    assert!(c.timeline[0].seq > 0);

    let mut v2 = record("INC-1", CaseKind::Incident);
    v2.version = 2;
    v2.status = "acknowledged".into();
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Update(v2.clone())],
            timeline: vec![entry("INC-1", "status")],
            findings: vec![],
        })
        .unwrap();

    // A second writer that also read version 1.
    let mut stale = v2.clone();
    stale.status = "closed".into();
    let err = store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Update(stale)],
            timeline: vec![entry("INC-1", "status")],
            findings: vec![],
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                current: Some(2),
                ..
            }
        ),
        "{err}"
    );
    let now = store.case(CaseKind::Incident, "INC-1").unwrap().unwrap();
    assert_eq!(now.status, "acknowledged");
    assert_eq!(now.entities, vec!["person:p-1"]);
    assert_eq!(store.timeline("INC-1", 0).unwrap().len(), 2);
}

#[test]
fn a_finding_is_linked_once_and_the_timeline_cannot_be_edited() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let f = tandem_model::Ulid::generate();
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Insert(record("ALR-1", CaseKind::Alert))],
            timeline: vec![entry("ALR-1", "opened")],
            findings: vec![(f, "ALR-1".into())],
        })
        .unwrap();
    assert_eq!(
        store.linked_findings(&[f]).unwrap(),
        vec![(f, "ALR-1".into())]
    );
    assert_eq!(store.case_findings("ALR-1", 10).unwrap(), vec![f]);
    let again = store.commit_cases(&mut CaseCommit {
        writes: vec![CaseWrite::Insert(record("ALR-2", CaseKind::Alert))],
        timeline: vec![],
        findings: vec![(f, "ALR-2".into())],
    });
    assert!(matches!(again, Err(StoreError::Conflict { .. })));
    assert!(store.case(CaseKind::Alert, "ALR-2").unwrap().is_none());

    let conn = rusqlite::Connection::open(store.path()).unwrap();
    assert!(
        conn.execute("UPDATE case_timeline SET actor = 'x'", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM case_timeline", []).is_err());
}

#[test]
fn lists_filter_by_department_entity_rule_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let mut other = record("INC-2", CaseKind::Incident);
    other.departments = vec!["facilities".into()];
    other.entities = vec!["place:door-1".into()];
    other.status = "closed".into();
    other.resolution = Some("false_positive".into());
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![
                CaseWrite::Insert(record("INC-1", CaseKind::Incident)),
                CaseWrite::Insert(other),
            ],
            ..CaseCommit::default()
        })
        .unwrap();
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.department = Some("hr".into());
    assert_eq!(ids(&store, &q), vec!["INC-1"]);
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.entities = vec!["place:door-1".into()];
    assert_eq!(ids(&store, &q), vec!["INC-2"]);
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.not_statuses = vec!["closed".into()];
    assert_eq!(ids(&store, &q), vec!["INC-1"]);
    assert_eq!(
        ids(&store, &CaseQuery::new(CaseKind::Alert)),
        Vec::<String>::new()
    );
    let fp = store.rule_resolutions(CaseKind::Incident).unwrap();
    assert_eq!(fp[0].resolutions, vec![("false_positive".to_owned(), 1)]);
    assert_eq!(store.allocate_case_numbers(CaseKind::Alert, 3).unwrap(), 1);
    assert_eq!(store.allocate_case_numbers(CaseKind::Alert, 1).unwrap(), 4);
}

/// A period's KPIs read only the incidents opened from its start on.
#[test]
fn lists_read_only_the_records_opened_since_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let now = Utc::now();
    let mut old = record("INC-1", CaseKind::Incident);
    old.opened = now - Duration::days(200);
    let mut new = record("INC-2", CaseKind::Incident);
    new.opened = now - Duration::days(10);
    new.key = Some("key-other".into());
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Insert(old), CaseWrite::Insert(new)],
            ..CaseCommit::default()
        })
        .unwrap();
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.opened_since = Some(now - Duration::days(90));
    assert_eq!(ids(&store, &q), vec!["INC-2"]);
    q.opened_since = Some(now - Duration::days(365));
    assert_eq!(store.cases(&q).unwrap().total, 2);
}

fn ids(store: &SqliteStore, q: &CaseQuery) -> Vec<String> {
    store
        .cases(q)
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// The alerts stage reads findings by commit position: every one exactly once, in order,
/// across segments, in pages, with other events between them.
#[test]
fn events_after_a_cursor_come_once_in_commit_order_across_segments() {
    use tandem_model::{Activity, Class, Event};
    use tandem_store::{EventStore, StoreCursor, WriteBatch};
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_rows: 7,
        ..StoreConfig::default()
    };
    let store = SqliteStore::open(dir.path(), config).unwrap();
    let mut expected = Vec::new();
    for batch in 0..6 {
        let mut events = Vec::new();
        for i in 0..5 {
            let class = if (batch + i) % 2 == 0 {
                Class::DetectionFinding
            } else {
                Class::Authentication
            };
            // Event times out of order: commit order is what counts.
            let e = Event::new(
                "t",
                class,
                Activity::Detect,
                Utc::now() - Duration::minutes(i),
            );
            if class == Class::DetectionFinding {
                expected.push(e.id);
            }
            events.push(e);
        }
        store
            .submit(WriteBatch::events(events))
            .unwrap()
            .wait()
            .unwrap();
    }
    let mut cursor = StoreCursor::default();
    let mut seen = Vec::new();
    loop {
        let (page, next) = store
            .events_after(cursor, Class::DetectionFinding, 4)
            .unwrap();
        assert!(next >= cursor);
        cursor = next;
        if page.is_empty() {
            break;
        }
        assert!(page.iter().all(|e| e.class == Class::DetectionFinding));
        seen.extend(page.iter().map(|e| e.id));
    }
    assert_eq!(seen, expected);
    assert_eq!(cursor.to_string().parse::<StoreCursor>().unwrap(), cursor);
    // Nothing new: nothing again.
    let (again, _) = store
        .events_after(cursor, Class::DetectionFinding, 4)
        .unwrap();
    assert!(again.is_empty());
}

#[test]
fn lists_find_records_by_tag_and_due_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let now = Utc::now();
    let mut soon = record("INC-1", CaseKind::Incident);
    soon.due = Some(now - Duration::minutes(1));
    soon.tags = vec!["review".into()];
    let mut later = record("INC-2", CaseKind::Incident);
    later.due = Some(now + Duration::hours(1));
    let never = record("INC-3", CaseKind::Incident);
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![
                CaseWrite::Insert(soon),
                CaseWrite::Insert(later.clone()),
                CaseWrite::Insert(never),
            ],
            ..CaseCommit::default()
        })
        .unwrap();
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.due_by = Some(now);
    assert_eq!(ids(&store, &q), vec!["INC-1"]);
    q.due_by = Some(now + Duration::hours(2));
    let mut both = ids(&store, &q);
    both.sort();
    assert_eq!(both, vec!["INC-1", "INC-2"]);
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.tag = Some("review".into());
    assert_eq!(ids(&store, &q), vec!["INC-1"]);
    let read = store.case(CaseKind::Incident, "INC-1").unwrap().unwrap();
    assert_eq!(read.tags, vec!["review"]);
    assert_eq!(
        read.due.map(|t| t.timestamp_micros()),
        Some((now - Duration::minutes(1)).timestamp_micros())
    );

    // An update rewrites both; a reindex does without a new version.
    let mut v2 = later;
    v2.version = 2;
    v2.due = None;
    v2.tags = vec!["assignee:kim".into()];
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Update(v2.clone())],
            ..CaseCommit::default()
        })
        .unwrap();
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.tag = Some("assignee:kim".into());
    assert_eq!(ids(&store, &q), vec!["INC-2"]);
    v2.due = Some(now - Duration::hours(1));
    store.reindex_cases(&[v2]).unwrap();
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.due_by = Some(now - Duration::minutes(30));
    assert_eq!(ids(&store, &q), vec!["INC-2"]);
    assert_eq!(
        store
            .case(CaseKind::Incident, "INC-2")
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

#[test]
fn a_file_from_before_tags_and_due_times_opens_and_asks_for_a_reindex() {
    use tandem_store::EventStore;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Insert(record("INC-1", CaseKind::Incident))],
            ..CaseCommit::default()
        })
        .unwrap();
    assert!(!store.cases_need_reindex().unwrap());
    store.close().unwrap();
    // The file as the previous version wrote it: no `due` column, no tags.
    let conn = rusqlite::Connection::open(dir.path().join("tandem.db")).unwrap();
    conn.execute_batch(
        "DROP INDEX case_records_due; ALTER TABLE case_records DROP COLUMN due; \
         DROP TABLE case_tags;",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert!(store.cases_need_reindex().unwrap());
    let mut old = store.case(CaseKind::Incident, "INC-1").unwrap().unwrap();
    assert_eq!(old.due, None);
    old.due = Some(Utc::now());
    old.tags = vec!["review".into()];
    store.reindex_cases(&[old]).unwrap();
    store.cases_reindexed().unwrap();
    assert!(!store.cases_need_reindex().unwrap());
    let mut q = CaseQuery::new(CaseKind::Incident);
    q.tag = Some("review".into());
    q.due_by = Some(Utc::now());
    assert_eq!(ids(&store, &q), vec!["INC-1"]);
}

fn item(id: &str, group: &str) -> tandem_store::CaseItem {
    tandem_store::CaseItem {
        id: id.into(),
        group: group.into(),
        doc: serde_json::json!({"task": id}),
    }
}

fn items(store: &SqliteStore, group: Option<&str>) -> Vec<(String, String)> {
    store
        .case_items(CaseKind::Incident, group)
        .unwrap()
        .into_iter()
        .map(|(case, i)| (case, i.id))
        .collect()
}

#[test]
fn items_are_kept_with_each_version_of_their_record_and_listed_by_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let mut one = record("INC-1", CaseKind::Incident);
    one.items = vec![item("confirm", "hr"), item("contain", "security")];
    let mut two = record("INC-2", CaseKind::Incident);
    two.opened = one.opened + Duration::minutes(1);
    two.items = vec![item("triage", "security")];
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Insert(one.clone()), CaseWrite::Insert(two)],
            ..CaseCommit::default()
        })
        .unwrap();
    let pair = |c: &str, i: &str| (c.to_owned(), i.to_owned());
    assert_eq!(
        items(&store, Some("security")),
        [pair("INC-1", "contain"), pair("INC-2", "triage")],
        "oldest record first"
    );
    assert_eq!(items(&store, None).len(), 3);
    let got = store.case_items(CaseKind::Incident, Some("hr")).unwrap();
    assert_eq!(got[0].1, item("confirm", "hr"));
    assert!(store.case_items(CaseKind::Alert, None).unwrap().is_empty());

    // A new version replaces its record's items; a refused one changes none.
    let mut v2 = one.clone();
    v2.version = 2;
    v2.items = vec![item("contain", "security")];
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Update(v2.clone())],
            ..CaseCommit::default()
        })
        .unwrap();
    assert!(items(&store, Some("hr")).is_empty());
    let mut stale = one;
    stale.version = 2;
    stale.items = Vec::new();
    assert!(
        store
            .commit_cases(&mut CaseCommit {
                writes: vec![CaseWrite::Update(stale)],
                ..CaseCommit::default()
            })
            .is_err()
    );
    assert_eq!(items(&store, Some("security")).len(), 2);
    // The record read back does not carry them: its owner derives them from the document.
    let read = store.case(CaseKind::Incident, "INC-1").unwrap().unwrap();
    assert!(read.items.is_empty());
    let mut v3 = v2;
    v3.version = 3;
    v3.items = Vec::new();
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Update(v3)],
            ..CaseCommit::default()
        })
        .unwrap();
    assert_eq!(items(&store, None), [pair("INC-2", "triage")]);
}

#[test]
fn a_file_from_before_items_opens_and_asks_for_a_reindex_that_fills_them() {
    use tandem_store::EventStore;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    store
        .commit_cases(&mut CaseCommit {
            writes: vec![CaseWrite::Insert(record("INC-1", CaseKind::Incident))],
            ..CaseCommit::default()
        })
        .unwrap();
    store.close().unwrap();
    // The file as the previous version wrote it: no items table.
    let conn = rusqlite::Connection::open(dir.path().join("tandem.db")).unwrap();
    conn.execute_batch("DROP TABLE case_items;").unwrap();
    drop(conn);

    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert!(store.cases_need_reindex().unwrap());
    assert!(items(&store, None).is_empty());
    let mut old = store.case(CaseKind::Incident, "INC-1").unwrap().unwrap();
    old.items = vec![item("triage", "security")];
    store.reindex_cases(&[old]).unwrap();
    store.cases_reindexed().unwrap();
    assert_eq!(
        items(&store, Some("security")),
        [("INC-1".to_owned(), "triage".to_owned())]
    );
    store.close().unwrap();
    drop(store);
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert!(!store.cases_need_reindex().unwrap(), "once");
}
