//! Events Tandem raises itself (SCIM's account changes, a detection tick's findings) take the
//! same path as ingested ones: detected where their origin calls for it, stored, then shown
//! to live listeners.

use std::sync::Arc;
use tandem_detect::Detector;
use tandem_detect::sigma::SigmaRules;
use tandem_model::{Activity, Class, Event};
use tandem_pipeline::metrics::IngestMetrics;
use tandem_pipeline::pipeline::{Limits, Origin, Pipeline};
use tandem_store::{EventStore, SearchRequest, SqliteStore, StoreConfig};

/// A rule for account deactivations (SCIM's events have no Sigma log source, so the rule
/// names none).
const DISABLED_RULE: &str = "title: Account Disabled\nid: 55555555-5555-5555-5555-555555555555\nlevel: low\ndetection:\n    sel:\n        activity: disable\n    condition: sel\n";

fn pipeline(dir: &std::path::Path) -> (Arc<SqliteStore>, Pipeline) {
    let store = Arc::new(SqliteStore::open(dir, StoreConfig::default()).unwrap());
    let (rules, report) = SigmaRules::from_text("test", DISABLED_RULE);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    let pipeline = Pipeline::new(
        store.clone(),
        Limits::default(),
        Arc::new(IngestMetrics::new()),
    )
    .with_detector(Arc::new(Detector::new(rules, Vec::new())));
    (store, pipeline)
}

fn deactivation() -> Event {
    let mut e = Event::new(
        "scim",
        Class::AccountChange,
        Activity::Disable,
        chrono::Utc::now(),
    );
    e.message = "SCIM deactivated alice".into();
    e
}

fn count(store: &SqliteStore, q: &str) -> u64 {
    store
        .search(&SearchRequest::new(tandem_query::parse(q).unwrap()))
        .unwrap()
        .total()
}

#[test]
fn a_directory_change_is_detected_stored_and_announced() {
    let dir = tempfile::tempdir().unwrap();
    let (store, pipeline) = pipeline(dir.path());
    let mut live = pipeline.subscribe();

    pipeline
        .commit_internal(vec![deactivation()], Origin::Directory)
        .unwrap();

    let batch = live.try_recv().expect("the batch is announced once stored");
    let classes: Vec<Class> = batch.iter().map(|e| e.class).collect();
    assert_eq!(
        classes,
        [Class::AccountChange, Class::DetectionFinding],
        "the change and the finding it raised, in one batch"
    );
    assert_eq!(count(&store, "source:scim"), 1);
    assert_eq!(count(&store, "class:detection_finding"), 1);
}

#[test]
fn findings_are_stored_and_announced_but_never_detected_again() {
    let dir = tempfile::tempdir().unwrap();
    let (store, pipeline) = pipeline(dir.path());
    let mut live = pipeline.subscribe();

    // An event the rule would match: as a tick's output it is stored as it is.
    pipeline
        .commit_internal(vec![deactivation()], Origin::Findings)
        .unwrap();

    let batch = live.try_recv().expect("the batch is announced once stored");
    assert_eq!(batch.len(), 1);
    assert_eq!(count(&store, "source:scim"), 1);
    assert_eq!(count(&store, "class:detection_finding"), 0);
}

#[test]
fn a_committed_finding_wakes_its_listeners_without_a_live_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, pipeline) = pipeline(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let woken = |waker: &mut tandem_pipeline::pipeline::CommitWaker| {
        runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(50), waker.committed())
                .await
                .is_ok()
        })
    };
    let mut findings = pipeline.wake_on(&[Class::DetectionFinding]);
    let mut accounts = pipeline.wake_on(&[Class::AccountChange]);
    let mut doors = pipeline.wake_on(&[Class::PhysicalAccess]);
    // A batch without a finding (a tick's output is never detected) wakes only those who
    // wait for its class.
    pipeline
        .commit_internal(vec![deactivation()], Origin::Findings)
        .unwrap();
    assert!(!woken(&mut findings));
    assert!(woken(&mut accounts));
    // One whose detection raises a finding wakes the findings' listener, though no live
    // monitor listens, and once only.
    pipeline
        .commit_internal(vec![deactivation()], Origin::Directory)
        .unwrap();
    assert!(woken(&mut findings));
    assert!(!woken(&mut findings));
    assert!(!woken(&mut doors));
}

/// The KPIs' "events analysed" reads these two counters: every event a sender's batch or a
/// directory change stored went through detection, and the findings it raised are Tandem's
/// own, counted in neither.
#[test]
fn every_stored_event_from_a_sender_is_counted_as_analysed_and_findings_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, pipeline) = pipeline(dir.path());
    let source = tandem_pipeline::pipeline::Source::new("app", tandem_ingest::decode::Format::Json);
    let body = b"{\"time\":\"2025-03-10T10:00:00Z\",\"message\":\"one\"}\n{\"time\":\"2025-03-10T10:01:00Z\",\"message\":\"two\"}\n";
    let decoded = pipeline.decode_body(&source, body);
    assert_eq!(decoded.events.len(), 2);
    pipeline.commit_blocking(decoded, "test").unwrap();
    assert_eq!(pipeline.metrics().analysis(), (2, 2));

    // A directory change and the finding it raises: one more ingested, one more analysed.
    pipeline
        .commit_internal(vec![deactivation()], Origin::Directory)
        .unwrap();
    assert_eq!(pipeline.metrics().analysis(), (3, 3));
    // A tick's findings are neither.
    pipeline
        .commit_internal(vec![deactivation()], Origin::Findings)
        .unwrap();
    assert_eq!(pipeline.metrics().analysis(), (3, 3));

    // Without detection nothing is analysed: the KPI reads below 100 %.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    let bare = Pipeline::new(store, Limits::default(), Arc::new(IngestMetrics::new()));
    let decoded = bare.decode_body(&source, body);
    bare.commit_blocking(decoded, "test").unwrap();
    assert_eq!(bare.metrics().analysis(), (2, 0));
    let text = bare.metrics().encode();
    assert!(text.contains("tandem_events_ingested_total 2"), "{text}");
    assert!(text.contains("tandem_events_analysed_total 0"), "{text}");
}
