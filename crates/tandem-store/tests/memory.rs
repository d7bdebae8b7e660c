//! The store's memory does not grow with the number of segments it has sealed.
//!
//! Alone in its test binary: it reads SQLite's process-wide allocation count, which other
//! stores in the same process would move.

use tandem_model::{Activity, Class, Event, Outcome};
use tandem_store::{EventStore, SqliteStore, StoreConfig, WriteBatch};

/// An event with words that differ from event to event, so every full-text index holds many
/// distinct terms, as real messages do.
fn event(i: usize) -> Event {
    let mut e = Event::new(
        "test",
        Class::Authentication,
        Activity::Logon,
        chrono::Utc::now(),
    );
    e.outcome = Outcome::Success;
    e.actor.user = Some(format!("user-{}", i % 500));
    e.message = format!(
        "user-{} logged on to host-{} from 10.1.{}.{} session s{}",
        i % 500,
        i % 77,
        i % 250,
        i % 200,
        i * 7919 % 1_000_003
    );
    e
}

fn sealed_segments(store: &SqliteStore, events: &mut usize, segments: usize, rows: usize) {
    for _ in 0..segments {
        let batch: Vec<Event> = (0..rows)
            .map(|_| {
                *events += 1;
                event(*events)
            })
            .collect();
        store
            .submit(WriteBatch::events(batch))
            .unwrap()
            .wait()
            .unwrap();
    }
    let start = std::time::Instant::now();
    while store.status().unwrap().segments_sealing > 0 {
        assert!(start.elapsed().as_secs() < 120, "sealing did not finish");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn memory_stays_flat_as_sealed_segments_accumulate() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        segment_rows: 4_000,
        // Small caches, so what is measured is what grows per segment, not caches filling.
        cache_mib: 2,
        ..StoreConfig::default()
    };
    let store = SqliteStore::open(dir.path(), config).unwrap();
    let mut events = 0;
    sealed_segments(&store, &mut events, 10, 4_000);
    let before = store.status().unwrap().engine_memory_bytes;
    sealed_segments(&store, &mut events, 40, 4_000);
    let after = store.status().unwrap().engine_memory_bytes;
    let per_segment = after.saturating_sub(before) / 40;
    eprintln!("{per_segment} bytes per sealed segment ({before} -> {after})");
    // Each segment's tables and indexes cost the writer a few KiB of schema; a full-text
    // index kept open on the writer's connection cost over 100 KiB each.
    assert!(
        per_segment < 32 * 1024,
        "memory grew {per_segment} bytes per sealed segment ({before} -> {after})"
    );
}
