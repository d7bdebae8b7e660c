//! The notifications stage: a driver that reads case events in commit order from a cursor
//! of its own and queues what they stand for in the outbox (with the cursor, in one
//! transaction), and a delivery worker thread that sends what is due.
//!
//! Restart-safe: a kill -9 after a message is queued and before it is sent leaves it
//! pending, and the worker sends it after the restart; a kill -9 after sending and before
//! the answer is recorded sends it again (at least once), with the same idempotency key.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use tandem_pipeline::pipeline::Pipeline;
use tandem_respond::Notifier;
use tandem_respond::source::CLASSES;
use tandem_store::{EventStore, SqliteStore, StateStore, StoreCursor};
use tokio::sync::watch;

/// Where the position of the last case event read is kept.
const CURSOR: &str = "notify.cursor";

/// Case events read in one step.
const CHUNK: usize = 1_000;

/// How often the driver looks when no batch wakes it (and a retry after an error).
const POLL: Duration = Duration::from_secs(5);

/// How long case events gather after the first wakes the driver.
const GATHER: Duration = Duration::from_millis(100);

/// The longest the delivery worker sleeps: a message sent again from the delivery log is
/// picked up within it.
const WORKER_POLL: Duration = Duration::from_secs(1);

/// Finished messages are purged (retention) this often.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Runs the driver (when `read_events`) and the delivery worker until shutdown.
pub async fn run(
    notifier: Arc<Notifier>,
    store: Arc<SqliteStore>,
    pipeline: Arc<Pipeline>,
    read_events: bool,
    mut shutdown: watch::Receiver<bool>,
) {
    let (wake, woken) = std::sync::mpsc::sync_channel(1);
    let worker = {
        let notifier = notifier.clone();
        std::thread::Builder::new()
            .name("tandem-notify".into())
            .spawn(move || deliver(notifier, woken))
    };
    let worker = match worker {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "notify: cannot start the delivery worker");
            return;
        }
    };
    if read_events {
        let mut committed = pipeline.wake_on(CLASSES);
        loop {
            if drain(&notifier, &store).await {
                let _ = wake.try_send(());
            }
            if !committed.next_round(POLL, GATHER, &mut shutdown).await {
                break;
            }
        }
    } else {
        while shutdown.changed().await.is_ok() && !*shutdown.borrow() {}
    }
    drop(wake);
    let _ = tokio::task::spawn_blocking(move || worker.join()).await;
}

/// Queues what every case event after the cursor stands for, a chunk at a time. True when
/// something was queued.
async fn drain(notifier: &Arc<Notifier>, store: &Arc<SqliteStore>) -> bool {
    let (notifier, store) = (notifier.clone(), store.clone());
    let r = tokio::task::spawn_blocking(move || {
        let mut queued = 0;
        let (mut cursor, fresh) = match store.get_state(CURSOR)? {
            Some(s) => (s.parse().map_err(|e: String| anyhow::anyhow!(e))?, false),
            None => (StoreCursor::default(), true),
        };
        loop {
            let (events, next) = store.events_after_any(cursor, CLASSES, CHUNK)?;
            if next != cursor {
                // The first start tells no one about what happened before notifications
                // were set up: it only moves the cursor to the end.
                let events = if fresh { &[][..] } else { &events[..] };
                queued += notifier.take(events, (CURSOR, &next.to_string()), chrono::Utc::now())?;
                cursor = next;
            }
            if events.len() < CHUNK {
                if fresh && store.get_state(CURSOR)?.is_none() {
                    store.put_state(CURSOR, &cursor.to_string())?;
                }
                return Ok::<_, anyhow::Error>(queued);
            }
        }
    })
    .await;
    match r {
        Ok(Ok(n)) => {
            if n > 0 {
                tracing::debug!(messages = n, "notify: messages queued");
            }
            n > 0
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "notify: case events not read yet; retrying shortly");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "notify: the notifications driver panicked");
            false
        }
    }
}

/// The delivery worker: digests released, due messages sent, finished ones purged; sleeps
/// until the next is due, a wake-up, or [`WORKER_POLL`]. Ends when the driver is gone.
fn deliver(notifier: Arc<Notifier>, woken: Receiver<()>) {
    let mut last_purge: Option<std::time::Instant> = None;
    loop {
        let now = chrono::Utc::now();
        if let Err(e) = notifier.fold_released(now) {
            tracing::error!(error = %e, "notify: digests not folded yet; retrying shortly");
        }
        loop {
            match notifier.deliver_due(chrono::Utc::now()) {
                Ok(n) if n >= 200 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "notify: delivery round failed; retrying shortly");
                    break;
                }
            }
        }
        if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
            match notifier.purge(chrono::Utc::now()) {
                Ok(n) if n > 0 => tracing::info!(messages = n, "notify: finished messages purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "notify: purge failed"),
            }
            last_purge = Some(std::time::Instant::now());
        }
        let wait = match notifier.next_due() {
            Ok(Some(t)) => (t - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(WORKER_POLL),
            _ => WORKER_POLL,
        };
        match woken.recv_timeout(wait.max(Duration::from_millis(10))) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
