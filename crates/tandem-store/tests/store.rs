//! The embedded store as its callers use it: submit, search, aggregate, retain, reopen.

use chrono::{DateTime, Duration, Utc};
use std::time::Instant;
use tandem_model::{Activity, Class, DeadLetter, Event, Outcome, Place};
use tandem_store::{
    DeadLetterQuery, EventStore, RetentionPolicy, SearchRequest, SearchResult, SqliteStore,
    StoreConfig, WriteBatch,
};

fn event(minutes_ago: i64, user: &str, message: &str) -> Event {
    let mut e = Event::new(
        "test",
        Class::Authentication,
        Activity::Logon,
        Utc::now() - Duration::minutes(minutes_ago),
    );
    e.actor.user = Some(user.to_owned());
    e.outcome = Outcome::Success;
    e.message = message.to_owned();
    e.set_raw(&format!("raw: {message}"));
    e
}

fn search(store: &SqliteStore, q: &str) -> SearchResult {
    let mut req = SearchRequest::new(tandem_query::parse(q).unwrap());
    req.limit = 1000;
    store.search(&req).unwrap()
}

fn events_of(result: SearchResult) -> Vec<Event> {
    match result {
        SearchResult::Events(p) => p.events,
        other => panic!("expected events, got {other:?}"),
    }
}

fn small_segments() -> StoreConfig {
    StoreConfig {
        segment_rows: 100,
        ..StoreConfig::default()
    }
}

fn wait_sealed(store: &SqliteStore) {
    let start = Instant::now();
    while store.status().unwrap().segments_sealing > 0 {
        assert!(start.elapsed().as_secs() < 30, "sealing did not finish");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn submitted_events_are_found_newest_first_with_their_raw_form() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let batch = vec![
        event(30, "alice", "first"),
        event(10, "alice", "second"),
        event(20, "bob", "third"),
    ];
    let receipt = store
        .submit(WriteBatch::events(batch))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(receipt.events, 3);

    let found = events_of(search(&store, "user:ALICE"));
    let messages: Vec<_> = found.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["second", "first"]);
    assert_eq!(found[0].raw.as_deref(), Some("raw: second"));
    assert_eq!(search(&store, "*").total(), 3);
    assert_eq!(search(&store, "NOT user:alice").total(), 1);
    assert_eq!(
        search(&store, "class:authentication AND outcome:success").total(),
        3
    );
}

#[test]
fn free_text_and_fields_match_the_same_in_hot_and_sealed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), small_segments()).unwrap();
    for batch in 0..5 {
        let events = (0..70)
            .map(|i| {
                let n = batch * 70 + i;
                let mut e = event(
                    1000 - n,
                    &format!("user{}", n % 7),
                    &format!("door event number {n}"),
                );
                if n % 10 == 0 {
                    e.message =
                        format!("Failed password for user{} from 10.0.0.{}", n % 7, n % 250);
                }
                e.place = Some(Place {
                    site: Some(if n % 2 == 0 { "HQ" } else { "Branch" }.into()),
                    ..Place::default()
                });
                e
            })
            .collect();
        store
            .submit(WriteBatch::events(events))
            .unwrap()
            .wait()
            .unwrap();
    }
    wait_sealed(&store);
    let status = store.status().unwrap();
    assert_eq!(status.events, 350);
    assert!(status.segments >= 4, "{status:?}");

    assert_eq!(search(&store, "failed").total(), 35);
    assert_eq!(search(&store, "\"failed password\"").total(), 35);
    assert_eq!(search(&store, "fail*").total(), 35);
    assert_eq!(search(&store, "site:hq AND failed").total(), 35);
    assert_eq!(search(&store, "site:branch AND failed").total(), 0);
    assert_eq!(search(&store, "user:user3").total(), 50);
    assert_eq!(search(&store, "user:user3 OR user:user4").total(), 100);
    assert_eq!(search(&store, "user:user* AND NOT site:hq").total(), 175);

    // Pages across segments stay newest first without gaps or repeats.
    let mut seen = Vec::new();
    for page in 0..4 {
        let mut req = SearchRequest::new(tandem_query::parse("*").unwrap());
        req.limit = 100;
        req.offset = page * 100;
        seen.extend(
            events_of(store.search(&req).unwrap())
                .into_iter()
                .map(|e| e.time),
        );
    }
    assert_eq!(seen.len(), 350);
    assert!(seen.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn count_by_and_timechart_aggregate_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), small_segments()).unwrap();
    let events: Vec<Event> = (0..250)
        .map(|n| event(n, if n % 5 == 0 { "alice" } else { "bob" }, "x"))
        .collect();
    store
        .submit(WriteBatch::events(events))
        .unwrap()
        .wait()
        .unwrap();
    wait_sealed(&store);

    let SearchResult::Aggregation(agg) = search(&store, "* | count by user") else {
        panic!()
    };
    assert_eq!(agg.total, 250);
    assert_eq!(agg.rows[0], (vec!["bob".into()], 200));
    assert_eq!(agg.rows[1], (vec!["alice".into()], 50));

    let SearchResult::Aggregation(agg) = search(&store, "* | count by class, outcome") else {
        panic!()
    };
    assert_eq!(
        agg.rows,
        vec![(vec!["authentication".into(), "success".into()], 250)]
    );

    let SearchResult::Aggregation(agg) = search(&store, "user:alice | timechart 1h count") else {
        panic!()
    };
    let buckets = agg.buckets.unwrap();
    assert_eq!(
        buckets
            .iter()
            .map(|b| b.counts.iter().map(|c| c.1).sum::<u64>())
            .sum::<u64>(),
        50
    );
    assert!(
        buckets.len() >= 5 && buckets.len() <= 6,
        "{}",
        buckets.len()
    );
}

#[test]
fn dead_letters_and_source_health_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let batch = WriteBatch {
        events: vec![event(1, "alice", "ok")],
        dead_letters: vec![DeadLetter::new("test", "invalid JSON at column 3", b"{x")],
        rejected: vec![("test".into(), 2)],
    };
    store.submit(batch).unwrap().wait().unwrap();
    let dead = store
        .dead_letters(&DeadLetterQuery {
            source: Some("test".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "invalid JSON at column 3");
    let stats = store.source_stats().unwrap();
    let s = stats.iter().find(|s| s.name == "test").unwrap();
    assert_eq!(
        (s.events_total, s.dead_letters_total, s.rejected_total),
        (1, 1, 2)
    );
    assert!(s.events_per_minute > 0.0);
    assert!(s.last_event_time.is_some());
}

#[test]
fn retention_drops_whole_old_segments_but_never_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), small_segments()).unwrap();
    let old: Vec<Event> = (0..100)
        .map(|n| event(60 * 24 * 40 + n, "old", "old"))
        .collect();
    store
        .submit(WriteBatch::events(old))
        .unwrap()
        .wait()
        .unwrap();
    let recent: Vec<Event> = (0..150).map(|n| event(n, "new", "new")).collect();
    store
        .submit(WriteBatch::events(recent))
        .unwrap()
        .wait()
        .unwrap();
    wait_sealed(&store);

    let report = store
        .apply_retention(&RetentionPolicy {
            max_age_days: Some(30),
            max_size_mib: None,
        })
        .unwrap();
    assert_eq!(report.events_deleted, 100);
    assert_eq!(search(&store, "user:old").total(), 0);
    assert_eq!(search(&store, "user:new").total(), 150);

    let report = store
        .apply_retention(&RetentionPolicy {
            max_age_days: None,
            max_size_mib: Some(0),
        })
        .unwrap();
    assert_eq!(
        report.events_deleted, 100,
        "only the sealed segment goes; the hot one stays"
    );
    assert_eq!(search(&store, "user:new").total(), 50);
}

#[test]
fn reopening_keeps_everything_and_continues_the_hot_segment() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path(), small_segments()).unwrap();
        let events: Vec<Event> = (0..150).map(|n| event(n, "alice", "before")).collect();
        store
            .submit(WriteBatch::events(events))
            .unwrap()
            .wait()
            .unwrap();
        store.close().unwrap();
    }
    let store = SqliteStore::open(dir.path(), small_segments()).unwrap();
    wait_sealed(&store);
    let events: Vec<Event> = (0..10).map(|n| event(n, "alice", "after")).collect();
    store
        .submit(WriteBatch::events(events))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(search(&store, "before").total(), 150);
    assert_eq!(search(&store, "after").total(), 10);
    assert_eq!(store.status().unwrap().events, 160);
}

#[test]
fn time_windows_and_id_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let events: Vec<Event> = (0..10).map(|n| event(n * 60, "alice", "x")).collect();
    let id = events[3].id;
    store
        .submit(WriteBatch::events(events))
        .unwrap()
        .wait()
        .unwrap();
    let mut req = SearchRequest::new(tandem_query::parse("*").unwrap());
    let now: DateTime<Utc> = Utc::now();
    req.from = Some(now - Duration::minutes(150));
    req.to = Some(now);
    assert_eq!(store.search(&req).unwrap().total(), 3);
    assert_eq!(store.event(id).unwrap().unwrap().id, id);
    assert!(
        store
            .event(tandem_model::Ulid::generate())
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_bad_query_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    store
        .submit(WriteBatch::events(vec![event(1, "a", "b")]))
        .unwrap()
        .wait()
        .unwrap();
    let req = SearchRequest::new(tandem_query::parse("class:authentcation").unwrap());
    let err = store.search(&req).unwrap_err().to_string();
    assert!(err.contains("unknown class `authentcation`"), "{err}");
}

#[test]
fn a_full_event_reads_back_exactly_as_submitted() {
    use tandem_model::{
        Device, DeviceKind, Endpoint, GeoLocation, ObjectDetection, Physical, Severity,
    };
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    let mut e = event(3, "alice", "Door forced open");
    e.class = Class::PhysicalAccess;
    e.activity = Activity::Forced;
    e.outcome = Outcome::Failure;
    e.severity = Severity::High;
    e.observed_time = Some(Utc::now());
    e.actor.badge = Some("40123".into());
    e.physical = Some(Physical {
        reason: Some("no_access_to_door".into()),
        direction: Some("in".into()),
        inference: None,
        detection: Some(ObjectDetection {
            label: "person".into(),
            score: 0.9,
            count: Some(2),
            ..Default::default()
        }),
    });
    e.place = Some(Place {
        site: Some("HQ".into()),
        door: Some("D-1".into()),
        ..Place::default()
    });
    e.src = Some(Endpoint {
        ip: Some("10.0.0.1".parse().unwrap()),
        port: Some(22),
        geo: Some(GeoLocation {
            country: Some("NO".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    e.device = Some(Device {
        hostname: Some("panel-1".into()),
        kind: DeviceKind::Reader,
        ..Default::default()
    });
    e.labels.insert("env".into(), "prod".into());
    e.attrs
        .insert("TargetUserName".into(), serde_json::json!({"n": 1}));
    store
        .submit(WriteBatch::events(vec![e.clone()]))
        .unwrap()
        .wait()
        .unwrap();
    let mut back = store.event(e.id).unwrap().unwrap();
    assert!(back.ingest_time >= e.ingest_time);
    back.ingest_time = e.ingest_time;
    // Stored times keep microseconds.
    e.time = DateTime::from_timestamp_micros(e.time.timestamp_micros()).unwrap();
    e.observed_time = e
        .observed_time
        .map(|t| DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap());
    back.observed_time = back
        .observed_time
        .map(|t| DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap());
    assert_eq!(back, e);
    assert_eq!(search(&store, "attrs.TargetUserName.n:1").total(), 1);
    assert_eq!(
        search(
            &store,
            "physical.detection.count:>=2 AND src.geo.country:no"
        )
        .total(),
        1
    );
}

#[test]
fn the_write_ahead_log_stays_bounded_under_sustained_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        wal_rewind_mib: 1,
        ..StoreConfig::default()
    };
    let store = SqliteStore::open(dir.path(), config).unwrap();
    let wal = dir.path().join("tandem.db-wal");
    let text = "x".repeat(2_000);
    // Writes without pause for two seconds, so the background checkpoint never finds the log
    // quiet: about 10 MB of log without rewinding.
    let start = Instant::now();
    let mut largest = 0;
    let mut written = 0;
    while start.elapsed() < std::time::Duration::from_secs(2) || written < 5_000 {
        let batch: Vec<Event> = (0..100).map(|_| event(1, "alice", &text)).collect();
        store
            .submit(WriteBatch::events(batch))
            .unwrap()
            .wait()
            .unwrap();
        written += 100;
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    assert!(
        largest < 4 * 1024 * 1024,
        "the log grew to {largest} bytes for {written} events of 2 kB"
    );
    assert_eq!(search(&store, "*").total(), written);
}

#[test]
fn field_searches_use_the_partial_indexes_of_sealed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), small_segments()).unwrap();
    let events: Vec<Event> = (0..250)
        .map(|i| {
            let mut e = event(1, &format!("user-{i}"), "m");
            if i % 2 == 0 {
                e.actor.user = None;
                e.place = Some(Place {
                    door: Some(format!("door-{i}")),
                    ..Place::default()
                });
            }
            e
        })
        .collect();
    store
        .submit(WriteBatch::events(events))
        .unwrap()
        .wait()
        .unwrap();
    wait_sealed(&store);
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let plan = |condition: &str, value: &str| -> String {
        let sql = format!("EXPLAIN QUERY PLAN SELECT count(*) FROM ev_1 WHERE {condition}");
        let mut stmt = conn.prepare(&sql).unwrap();
        let rows = stmt.query_map([value], |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    assert!(plan("door = ?", "door-4").contains("INDEX ev_1_door"));
    assert!(plan("actor LIKE ? ESCAPE '\\'", "user-1%").contains("INDEX ev_1_actor"));
}

fn many_events(store: &SqliteStore, n: usize) {
    let events = (0..n)
        .map(|i| {
            event(
                i as i64 % 600,
                &format!("user{}", i % 50),
                &format!("event number {i}"),
            )
        })
        .collect();
    store
        .submit(WriteBatch::events(events))
        .unwrap()
        .wait()
        .unwrap();
}

#[test]
fn an_offset_past_the_result_window_is_refused_even_when_huge() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    many_events(&store, 10);
    for offset in [10_000, usize::MAX, usize::MAX - 49] {
        let mut req = SearchRequest::new(tandem_query::parse("*").unwrap());
        req.offset = offset;
        let err = store.search(&req).unwrap_err().to_string();
        assert!(
            err.contains("cannot page past result 10000"),
            "{offset}: {err}"
        );
    }
}

#[test]
fn a_thousand_term_or_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), small_segments()).unwrap();
    many_events(&store, 500);
    wait_sealed(&store);
    // 999 users, of whom user0 … user49 exist (10 events each), and 999 words.
    let users: Vec<String> = (0..999).map(|i| format!("user:user{i}")).collect();
    assert_eq!(search(&store, &users.join(" OR ")).total(), 500);
    let words: Vec<String> = (0..999).map(|i| format!("{i}")).collect();
    assert_eq!(search(&store, &words.join(" OR ")).total(), 500);
    let not_users: Vec<String> = (0..999).map(|i| format!("NOT user:x{i}")).collect();
    assert_eq!(search(&store, &not_users.join(" AND ")).total(), 500);
}

#[test]
fn a_search_past_its_time_limit_or_cancelled_is_stopped_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
    many_events(&store, 2000);
    let mut req = SearchRequest::new(tandem_query::parse("*number* | count by user").unwrap());
    assert_eq!(store.search(&req).unwrap().total(), 2000);

    req.time_limit = Some(std::time::Duration::ZERO);
    let err = store.search(&req).unwrap_err();
    assert!(
        matches!(err, tandem_store::StoreError::TimedOut(_)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the search took longer than 0 s and was stopped; narrow the time range or make the query more specific"
    );

    req.time_limit = None;
    let cancel = tandem_store::Cancel::new();
    cancel.cancel();
    req.cancel = Some(cancel);
    let err = store.search(&req).unwrap_err();
    assert!(
        matches!(err, tandem_store::StoreError::Cancelled),
        "{err:?}"
    );

    // The connection goes back to work: the next search has no limit left over.
    req.cancel = None;
    assert_eq!(store.search(&req).unwrap().total(), 2000);
}

/// A finding stored with the sites and buildings of its evidence: `site:` and `building:`
/// find it from any of them, in hot and sealed segments alike; `count by site` counts it
/// under its own (first) site; other events match their own site only.
#[test]
fn findings_are_found_at_every_site_of_their_evidence() {
    let finding = |minutes_ago: i64, sites: &[&str], buildings: &[&str]| {
        let f = tandem_model::Finding {
            rule_id: "tandem.impossible_travel_badge".into(),
            rule_title: "Impossible travel".into(),
            engine: "native".into(),
            severity: tandem_model::Severity::High,
            tags: Vec::new(),
            time: Utc::now() - Duration::minutes(minutes_ago),
            summary: format!("travel {}", sites.join(" to ")),
            evidence: Vec::new(),
            entities: tandem_model::Entities {
                sites: sites.iter().map(|s| (*s).to_owned()).collect(),
                buildings: buildings.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            },
            place: None,
            dedup_key: "k".into(),
            score: None,
            detail: Default::default(),
        };
        f.to_event()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), small_segments()).unwrap();
    for round in 0..2 {
        let mut events: Vec<Event> = (0..120)
            .map(|n| {
                let mut e = event(1000 - round * 200 - n, "kari", "badge");
                e.place = Some(Place {
                    site: Some(if n % 2 == 0 { "osl" } else { "lon" }.into()),
                    ..Place::default()
                });
                e
            })
            .collect();
        events.push(finding(
            500 - round * 100,
            &["osl", "lon"],
            &["osl-a", "lon-1"],
        ));
        events.push(finding(499 - round * 100, &["ber"], &[]));
        store
            .submit(WriteBatch::events(events))
            .unwrap()
            .wait()
            .unwrap();
    }
    wait_sealed(&store);
    let findings = |q: &str| search(&store, &format!("class:detection_finding AND {q}")).total();
    assert_eq!(findings("site:osl"), 2);
    assert_eq!(
        findings("site:LON"),
        2,
        "the second site of a journey finds it too"
    );
    assert_eq!(findings("place.site:lon"), 2);
    assert_eq!(findings("site:lo*"), 2);
    assert_eq!(findings("site:ber"), 2);
    assert_eq!(findings("NOT site:lon"), 2);
    assert_eq!(findings("building:lon-1"), 2);
    assert_eq!(findings("place.building:osl-a"), 2);
    assert_eq!(findings("site:*"), 4);
    assert_eq!(search(&store, "site:lon").total(), 122);
    assert_eq!(search(&store, "site:ber").total(), 2);

    let SearchResult::Aggregation(agg) = search(&store, "class:detection_finding | count by site")
    else {
        panic!()
    };
    let mut rows = agg.rows.clone();
    rows.sort_by_key(|r| r.0[0].to_string());
    assert_eq!(
        rows,
        vec![(vec!["ber".into()], 2), (vec!["osl".into()], 2)],
        "each finding counts once, under its own site"
    );
}
