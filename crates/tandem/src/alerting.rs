//! The alerts driver: hands every stored finding to the alerts stage.
//!
//! It listens to the pipeline's committed batches and takes their `detection_finding`
//! events (the finding is in `attrs.finding`, its id the event's). A listener that falls
//! behind (`Lagged`) and a server that starts catch up by searching the stored findings
//! since a watermark kept in the store's state, less a margin: the alerts stage skips
//! findings it has linked already, so going over some twice costs a look-up and nothing else.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tandem_cases::alerter::Alerter;
use tandem_model::{Class, Event, Finding, Ulid};
use tandem_pipeline::pipeline::{Origin, Pipeline};
use tandem_store::{EventStore, SearchRequest, SearchResult, SqliteStore, StateStore};
use tokio::sync::{broadcast, watch};

/// Where the newest finding time processed is kept.
const WATERMARK: &str = "alerts.watermark";

/// Most findings one catch-up takes (newest first); more than that is a backlog the live
/// feed and the next catch-up work through.
const CATCH_UP_MAX: usize = 50_000;

/// Findings handed to the alerts stage in one call.
const CHUNK: usize = 500;

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

/// Findings waiting for the alerts stage at most. Past it the feed's reader stops queueing
/// them and the stage catches up from the store instead (where they are, stored), so a
/// burst never grows this queue beyond it.
const QUEUE_MAX: usize = CATCH_UP_MAX;

/// What the feed's reader hands to the alerts stage.
#[derive(Default)]
struct Queue {
    findings: Vec<(Ulid, Finding)>,
    /// Findings were left out (the queue was full, or the reader lagged): catch up.
    behind: bool,
}

/// Runs until shutdown.
///
/// A reader takes every committed batch off the live feed at once and keeps only its
/// findings. Had the alerts stage read the feed itself, every batch committed while it
/// worked (a risk score, a commit waiting for the writer) stayed in the feed's buffer with
/// all its events: up to 1,024 batches, 4 GiB at 5,000 events a batch, measured by
/// `tandem bench` with alerting on.
pub async fn run(
    alerter: Arc<Alerter>,
    store: Arc<SqliteStore>,
    pipeline: Arc<Pipeline>,
    margin: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    // Listen first, so nothing committed during the catch-up is missed.
    let mut feed = pipeline.subscribe();
    let queue = Arc::new(std::sync::Mutex::new(Queue::default()));
    let ready = Arc::new(tokio::sync::Notify::new());
    let reader = {
        let (queue, ready, mut shutdown) = (queue.clone(), ready.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    r = feed.recv() => r,
                    _ = shutdown.wait_for(|s| *s) => return,
                };
                let findings = match received {
                    Ok(batch) => findings_of(&batch),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            batches = n,
                            "alerts fell behind the live feed; catching up from the store"
                        );
                        queue.lock().unwrap_or_else(|p| p.into_inner()).behind = true;
                        ready.notify_one();
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if findings.is_empty() {
                    continue;
                }
                let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                if q.findings.len() + findings.len() > QUEUE_MAX {
                    q.behind = true;
                } else {
                    q.findings.extend(findings);
                }
                drop(q);
                ready.notify_one();
            }
        })
    };
    catch_up(&alerter, &store, margin).await;
    loop {
        tokio::select! {
            _ = ready.notified() => {}
            _ = shutdown.wait_for(|s| *s) => break,
        }
        let (findings, behind) = {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            (
                std::mem::take(&mut q.findings),
                std::mem::replace(&mut q.behind, false),
            )
        };
        if behind {
            // The store holds the queued findings too, and every one left out.
            catch_up(&alerter, &store, margin).await;
        } else if !findings.is_empty() {
            process(&alerter, &store, findings).await;
        }
    }
    reader.abort();
}

/// Processes findings on a blocking thread, then moves the watermark.
async fn process(alerter: &Arc<Alerter>, store: &Arc<SqliteStore>, findings: Vec<(Ulid, Finding)>) {
    let alerter = alerter.clone();
    let store = store.clone();
    let r = tokio::task::spawn_blocking(move || {
        let newest = findings.iter().map(|(_, f)| f.time).max();
        for chunk in findings.chunks(CHUNK) {
            alerter.process(chunk, Utc::now())?;
        }
        if let Some(newest) = newest
            && watermark(&store).is_none_or(|w| newest > w)
        {
            store.put_state(WATERMARK, &newest.to_rfc3339())?;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await;
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(error = %e, "alerts: findings not processed; the next catch-up retries them")
        }
        Err(e) => tracing::error!(error = %e, "alerts: processing panicked"),
    }
}

fn watermark(store: &SqliteStore) -> Option<DateTime<Utc>> {
    let s = store.get_state(WATERMARK).ok()??;
    DateTime::parse_from_rfc3339(&s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Processes the stored findings since the watermark less the margin, oldest first.
async fn catch_up(alerter: &Arc<Alerter>, store: &Arc<SqliteStore>, margin: Duration) {
    let s = store.clone();
    let found = tokio::task::spawn_blocking(move || {
        let from = watermark(&s).map(|w| w - margin);
        let query = tandem_query::parse("class:detection_finding")?;
        let mut events: Vec<Event> = Vec::new();
        loop {
            let mut req = SearchRequest::new(query.clone());
            req.from = from;
            req.limit = 1_000;
            req.offset = events.len();
            let SearchResult::Events(page) = s.search(&req)? else {
                break;
            };
            let n = page.events.len();
            events.extend(page.events);
            if n < req.limit || events.len() >= CATCH_UP_MAX {
                break;
            }
        }
        events.reverse();
        Ok::<_, anyhow::Error>(findings_of(&events))
    })
    .await;
    match found {
        Ok(Ok(findings)) if !findings.is_empty() => {
            tracing::info!(
                findings = findings.len(),
                "alerts: catching up on stored findings"
            );
            process(alerter, store, findings).await;
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "alerts: cannot read stored findings"),
        Err(e) => tracing::error!(error = %e, "alerts: catch-up panicked"),
    }
}
