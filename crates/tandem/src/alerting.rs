//! The alerts driver: hands every stored finding to the alerts stage, exactly once.
//!
//! It reads findings from the store in commit order (`EventStore::events_after`) from a
//! cursor it keeps in the store's state, and moves the cursor only once the alerts stage has
//! taken them. The pipeline's committed findings only wake it up: a wake-up that comes late,
//! or a server killed between two reads, loses nothing, since the next read starts where the
//! last one that finished left off (and the alerts stage skips findings it has linked
//! already, should one be read twice).

use std::sync::Arc;

use tandem_cases::alerter::Alerter;
use tandem_model::{Class, Event, Finding, Ulid};
use tandem_pipeline::pipeline::{Origin, Pipeline};
use tandem_store::{EventStore, SqliteStore, StateStore, StoreCursor};
use tokio::sync::watch;

/// Where the position of the last finding handed over is kept.
const CURSOR: &str = "alerts.cursor";

/// Findings read and handed to the alerts stage in one step.
const CHUNK: usize = 500;

/// How often the driver looks for findings when no batch wakes it (findings of the detection
/// tick and a retry after an error).
const POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// How long the driver lets findings gather after the first wakes it. Under sustained ingest
/// most batches hold a finding or two; taking them a batch at a time cost each its own few
/// commits of alerts, incidents and links (measured by `tandem bench`), taking what a moment
/// brings costs them once. An alert is that much later, never missed.
const GATHER: std::time::Duration = std::time::Duration::from_millis(500);

/// The events of alerts (an alert opened, triaged) enter the pipeline as Tandem's own.
pub struct PipelineAnnounce(pub Arc<Pipeline>);

impl tandem_cases::Announce for PipelineAnnounce {
    fn announce(&self, events: Vec<Event>) {
        if let Err(e) = self.0.commit_internal(events, Origin::Cases) {
            tracing::warn!(error = %e, "cannot store the events of alerts");
        }
    }
}

/// The findings of a committed batch.
pub fn findings_of(events: &[Event]) -> Vec<(Ulid, Finding)> {
    events
        .iter()
        .filter(|e| e.class == Class::DetectionFinding)
        .filter_map(|e| {
            let f = e.attrs.get("finding")?;
            match serde_json::from_value::<Finding>(f.clone()) {
                Ok(f) => Some((e.id, f)),
                Err(err) => {
                    tracing::warn!(event = %e.id, error = %err, "finding unreadable; no alert");
                    None
                }
            }
        })
        .collect()
}

/// Runs until shutdown.
///
/// Woken by the pipeline each time a committed batch held a finding
/// ([`Pipeline::wake_on`]); the findings themselves are read from the store.
/// Listening to the live feed instead had two costs, both measured by `tandem bench` with
/// alerting on: while the alerts stage worked, batches piled up in the feed's buffer with all
/// their events (up to 1,024 batches, 4 GiB at 5,000 events a batch), and every committed
/// batch was copied for the feed, all its events (a tenth of the server's time).
pub async fn run(
    alerter: Arc<Alerter>,
    store: Arc<SqliteStore>,
    pipeline: Arc<Pipeline>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut committed = pipeline.wake_on(&[Class::DetectionFinding]);
    loop {
        drain(&alerter, &store).await;
        if !committed.next_round(POLL, GATHER, &mut shutdown).await {
            break;
        }
    }
}

/// Hands over every finding committed after the cursor, a chunk at a time, moving the cursor
/// after each chunk the alerts stage has taken.
async fn drain(alerter: &Arc<Alerter>, store: &Arc<SqliteStore>) {
    let alerter = alerter.clone();
    let store = store.clone();
    let r = tokio::task::spawn_blocking(move || {
        let mut cursor: StoreCursor = match store.get_state(CURSOR)? {
            Some(s) => s.parse().map_err(|e: String| anyhow::anyhow!(e))?,
            None => StoreCursor::default(),
        };
        loop {
            let (events, next) = store.events_after(cursor, Class::DetectionFinding, CHUNK)?;
            if !events.is_empty() {
                alerter.process(&findings_of(&events), chrono::Utc::now())?;
            }
            if next != cursor {
                store.put_state(CURSOR, &next.to_string())?;
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
            tracing::error!(error = %e, "alerts: findings not handed over yet; retrying shortly")
        }
        Err(e) => tracing::error!(error = %e, "alerts: the alerts stage panicked"),
    }
}
