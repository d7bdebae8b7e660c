//! The alarms driver: folds every stored door event, device status and finding into the
//! control room's alarm queue (`tandem_cases::alarms`), exactly once.
//!
//! Like the alerts driver it reads in commit order (`EventStore::events_after_any`) from a
//! cursor kept in the store, and the alarms of a chunk are written with the cursor in one
//! transaction: a server killed between two reads neither misses an alarm nor counts a
//! repeat twice. Committed batches only wake it up.

use std::sync::Arc;

use tandem_cases::alarms::{Alarms, CLASSES};
use tandem_identity::Identity;
use tandem_pipeline::pipeline::Pipeline;
use tandem_store::{EventStore, SqliteStore, StateStore, StoreCursor};
use tokio::sync::watch;

/// Where the position of the last event folded in is kept.
const CURSOR: &str = "alarms.cursor";

/// Events read and folded in one step.
const CHUNK: usize = 1_000;

/// How often the driver looks when no batch wakes it (and a retry after an error).
const POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// How long door events gather after the first wakes the driver: under sustained ingest
/// nearly every batch holds a door event, and each step is a write of its own. An alarm is
/// that much later, never missed.
const GATHER: std::time::Duration = std::time::Duration::from_millis(250);

/// Runs until shutdown.
pub async fn run(
    alarms: Arc<Alarms>,
    store: Arc<SqliteStore>,
    identity: Arc<Identity>,
    pipeline: Arc<Pipeline>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut committed = pipeline.wake_on(CLASSES);
    loop {
        drain(&alarms, &store, &identity).await;
        if !committed.next_round(POLL, GATHER, &mut shutdown).await {
            break;
        }
    }
}

/// Folds every event committed after the cursor, a chunk at a time.
async fn drain(alarms: &Arc<Alarms>, store: &Arc<SqliteStore>, identity: &Arc<Identity>) {
    let (alarms, store, identity) = (alarms.clone(), store.clone(), identity.clone());
    let r = tokio::task::spawn_blocking(move || {
        let mut cursor: StoreCursor = match store.get_state(CURSOR)? {
            Some(s) => s.parse().map_err(|e: String| anyhow::anyhow!(e))?,
            None => StoreCursor::default(),
        };
        loop {
            let (events, next) = store.events_after_any(cursor, CLASSES, CHUNK)?;
            if next != cursor {
                let dir = identity.snapshot();
                let raised = alarms.take(
                    &events,
                    &dir,
                    (CURSOR, &next.to_string()),
                    chrono::Utc::now(),
                )?;
                if !raised.is_empty() {
                    tracing::debug!(alarms = raised.len(), "alarms raised or changed");
                }
                cursor = next;
            }
            if events.len() < CHUNK {
                return Ok::<_, anyhow::Error>(());
            }
        }
    })
    .await;
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(error = %e, "alarms: events not folded yet; retrying shortly")
        }
        Err(e) => tracing::error!(error = %e, "alarms: the alarm queue panicked"),
    }
}
