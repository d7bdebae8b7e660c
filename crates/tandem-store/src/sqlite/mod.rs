//! The embedded backend: one SQLite file in WAL mode.

mod accounts;
mod alarms;
mod audit;
mod cases;
mod compile;
mod compliance;
mod directory;
mod doc;
mod outbox;
mod schema;
mod search;
mod snapshots;
mod sources;
mod training;
mod words;
mod writer;

pub use audit::AuditSealed;
pub(crate) use audit::GENESIS as AUDIT_GENESIS;

use crate::api::*;
use crate::{EventStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tandem_model::{DeadLetter, Event, Ulid};
use writer::{Command, Row, Rows, Writer};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "tandem.db";

/// Database page size in bytes: large pages suit rows of about a kilobyte and bulk index builds.
const PAGE_SIZE: i64 = 16_384;

/// The embedded store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    config: StoreConfig,
    tx: Mutex<Option<Sender<Command>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    queued: Arc<AtomicUsize>,
    live: Arc<sources::LiveStats>,
    readers: Mutex<Vec<Connection>>,
    checkpointer: Mutex<Option<(Sender<()>, std::thread::JoinHandle<()>)>>,
    /// The audit log's keys, once [`SqliteStore::seal_audit`] has been given them.
    audit_keys: std::sync::OnceLock<crate::AuditKeys>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir` and starts its writer thread.
    pub fn open(data_dir: &Path, config: StoreConfig) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let conn = Connection::open(&path)?;
        // Both must be chosen before the first table exists, and the page size first: setting
        // auto_vacuum on an empty file fixes its page size at the default.
        conn.execute_batch(&format!(
            "PRAGMA page_size = {PAGE_SIZE}; PRAGMA auto_vacuum = INCREMENTAL;"
        ))?;
        configure(&conn, &config, config.cache_mib)?;
        conn.execute_batch(schema::BASE)?;
        conn.execute_batch(accounts::SCHEMA)?;
        accounts::migrate(&conn)?;
        conn.execute_batch(audit::SCHEMA)?;
        audit::migrate(&conn)?;
        conn.execute_batch(directory::SCHEMA)?;
        conn.execute_batch(alarms::SCHEMA)?;
        conn.execute_batch(cases::SCHEMA)?;
        conn.execute_batch(snapshots::SCHEMA)?;
        conn.execute_batch(outbox::SCHEMA)?;
        conn.execute_batch(compliance::SCHEMA)?;
        conn.execute_batch(training::SCHEMA)?;
        cases::migrate(&conn)?;
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1')",
            [],
        )?;
        let queued = Arc::new(AtomicUsize::new(0));
        let live = Arc::new(sources::LiveStats::default());
        // Index builds sort in memory (segments are small); searches spill big sorts to
        // temporary files instead of growing the server's memory.
        conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
        // The writer never checkpoints; a thread of its own copies the WAL into the database
        // (and fsyncs it) on the other core, concurrently with commits.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        // A WAL that grew while a long search held old frames is cut back when it rewinds.
        conn.execute_batch(&format!(
            "PRAGMA journal_size_limit = {};",
            config.wal_rewind_mib * 2 * 1024 * 1024
        ))?;
        let writer = Writer::open(conn, config.clone(), queued.clone(), live.clone())?;
        let checkpointer = spawn_checkpointer(&path, &config)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("tandem-store-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Writer(e.to_string()))?;
        Ok(SqliteStore {
            path,
            config,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            queued,
            live,
            readers: Mutex::new(Vec::new()),
            checkpointer: Mutex::new(Some(checkpointer)),
            audit_keys: std::sync::OnceLock::new(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, command: Command) -> Result<(), StoreError> {
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let tx = guard.as_ref().ok_or(StoreError::Closed)?;
        tx.send(command).map_err(|_| StoreError::Closed)
    }

    /// Runs `f` on the writer's connection inside the writer's next transaction (with the
    /// events of the batches committed with it, under a savepoint of its own: see
    /// [`writer::Job`]), and returns what it returned once that transaction has committed.
    /// An error from `f` undoes what `f` wrote, and nothing else.
    fn write_job<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let slot = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let (reply, answer) = std::sync::mpsc::channel();
        self.send(Command::Job(
            Box::new(move |conn| {
                let value = f(conn)?;
                *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
                Ok(())
            }),
            reply,
        ))?;
        answer.recv().map_err(|_| StoreError::Closed)??;
        let value = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        value.ok_or(StoreError::Closed)
    }

    /// Runs `f` on a pooled read connection.
    fn read<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c, &self.config, (self.config.cache_mib / 4).max(2))?;
                // One search prepares a few statements per segment; keep them for the next.
                c.set_prepared_statement_cache_capacity(512);
                // Free text over rows not yet in a full-text index.
                words::register(&c)?;
                c
            }
        };
        let result = f(&mut conn);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < self.config.readers && conn.is_autocommit() {
            pool.push(conn);
        }
        result
    }
}

/// Checkpoints the WAL every quarter second until told to stop.
fn spawn_checkpointer(
    path: &Path,
    config: &StoreConfig,
) -> Result<(Sender<()>, std::thread::JoinHandle<()>), StoreError> {
    let conn = Connection::open(path)?;
    configure(&conn, config, 2)?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("tandem-store-checkpoint".into())
        .spawn(move || {
            // Quiet: a look every quarter second. While commits keep coming: back to back
            // with a short breath, so the frames left for the writer to copy when it rewinds
            // the WAL stay few.
            let (quiet, busy) = (Duration::from_millis(250), Duration::from_millis(20));
            let mut wait = quiet;
            let mut last_log = 0;
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1)) {
                    Ok(log) => {
                        wait = if log != last_log && log > 0 {
                            busy
                        } else {
                            quiet
                        };
                        last_log = log;
                    }
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
                }
            }
        })
        .map_err(|e| StoreError::Writer(e.to_string()))?;
    Ok((stop, handle))
}

fn configure(conn: &Connection, config: &StoreConfig, cache_mib: u64) -> rusqlite::Result<()> {
    let sync = match config.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {sync};
         PRAGMA busy_timeout = 10000;
         PRAGMA wal_autocheckpoint = 4000;
         PRAGMA cache_size = -{};",
        cache_mib * 1024
    ))
}

/// Converts an event to its row on the caller's thread.
/// The row of an event, taken out of it in place: events are large (over a kilobyte), so
/// moving each one out of its batch would cost a copy, and the column values are moved, not
/// cloned, once the document has been written.
fn to_row(event: &mut Event, ingest_time: DateTime<Utc>) -> Row {
    event.ingest_time = ingest_time;
    let raw = event.raw.take();
    let message = (!event.message.is_empty()).then(|| std::mem::take(&mut event.message));
    let doc = doc::to_doc(event);
    let ip =
        |e: &Option<tandem_model::Endpoint>| e.as_ref().and_then(|e| e.ip).map(|ip| ip.to_string());
    let place = event.place.as_mut();
    let (site, zone, door) = match place {
        Some(p) => (p.site.take(), p.zone.take(), p.door.take()),
        None => (None, None, None),
    };
    Row {
        id: event.id.to_string(),
        time: event.time.timestamp_micros(),
        ingest_time: ingest_time.timestamp_micros(),
        source: std::mem::take(&mut event.source.name),
        class_uid: event.class.uid(),
        activity_id: event.activity.uid(),
        outcome_id: event.outcome.uid(),
        severity_id: event.severity.uid(),
        actor: event.actor.user.take(),
        person: event.actor.person.take().map(|p| p.id),
        host: event.device.as_mut().and_then(|d| d.hostname.take()),
        src_ip: ip(&event.src),
        dst_ip: ip(&event.dst),
        site,
        zone,
        door,
        message,
        raw,
        doc,
    }
}

impl EventStore for SqliteStore {
    fn submit(&self, mut batch: WriteBatch) -> Result<Commit, StoreError> {
        let n = batch.len();
        let queued = self.queued.load(Ordering::Relaxed);
        if queued > 0 && queued + n > self.config.max_queued_events {
            return Err(StoreError::Busy { queued });
        }
        let now = Utc::now();
        let rows = Rows {
            rows: batch.events.iter_mut().map(|e| to_row(e, now)).collect(),
            dead_letters: batch.dead_letters,
            rejected: batch.rejected,
        };
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.queued.fetch_add(n, Ordering::Relaxed);
        if let Err(e) = self.send(Command::Write(rows, reply)) {
            self.queued.fetch_sub(n, Ordering::Relaxed);
            return Err(e);
        }
        Ok(Commit(rx))
    }

    fn has_room(&self, events: usize) -> bool {
        let queued = self.queued.load(Ordering::Relaxed);
        queued == 0 || queued + events <= self.config.max_queued_events
    }

    fn search(&self, request: &SearchRequest) -> Result<SearchResult, StoreError> {
        self.read(|conn| search::run(conn, request, &self.config))
    }

    fn event(&self, id: Ulid) -> Result<Option<Event>, StoreError> {
        self.read(|conn| search::by_id(conn, id))
    }

    fn events_after(
        &self,
        cursor: crate::StoreCursor,
        class: tandem_model::Class,
        limit: usize,
    ) -> Result<(Vec<Event>, crate::StoreCursor), StoreError> {
        self.read(|conn| search::after(conn, cursor, &[class], limit))
    }

    fn events_after_any(
        &self,
        cursor: crate::StoreCursor,
        classes: &[tandem_model::Class],
        limit: usize,
    ) -> Result<(Vec<Event>, crate::StoreCursor), StoreError> {
        self.read(|conn| search::after(conn, cursor, classes, limit))
    }

    fn dead_letters(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>, StoreError> {
        self.read(|conn| {
            let limit = if query.limit == 0 { 100 } else { query.limit } as i64;
            let since = query.since.map_or(i64::MIN, |t| t.timestamp_micros());
            let mut stmt = conn.prepare(
                "SELECT time, source, reason, raw FROM dead_letters
                 WHERE (?1 IS NULL OR source = ?1) AND time >= ?2
                 ORDER BY id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![query.source, since, limit], |r| {
                Ok(DeadLetter {
                    time: micros_to_time(r.get(0)?),
                    source: r.get(1)?,
                    reason: r.get(2)?,
                    raw: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn upsert_source(&self, source: &SourceRecord) -> Result<(), StoreError> {
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute(
            "INSERT INTO sources (name, format, vendor, product, key_sha256, expected_interval_secs)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(name) DO UPDATE SET format = ?2, vendor = ?3, product = ?4,
               key_sha256 = coalesce(?5, key_sha256), expected_interval_secs = ?6",
            params![
                source.name,
                source.format,
                source.vendor,
                source.product,
                source.key_sha256,
                source.expected_interval_secs.map(|s| s as i64)
            ],
        )?;
        Ok(())
    }

    fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT name, format, vendor, product, key_sha256, expected_interval_secs
                 FROM sources ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(SourceRecord {
                    name: r.get(0)?,
                    format: r.get(1)?,
                    vendor: r.get(2)?,
                    product: r.get(3)?,
                    key_sha256: r.get(4)?,
                    expected_interval_secs: r.get::<_, Option<i64>>(5)?.map(|s| s as u64),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn source_stats(&self) -> Result<Vec<SourceStats>, StoreError> {
        let now = Utc::now().timestamp_micros();
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT coalesce(s.name, t.name), s.name IS NOT NULL, t.events_total,
                        t.dead_letters_total, t.rejected_total, t.last_event_time, t.last_received
                 FROM sources s LEFT JOIN source_stats t ON t.name = s.name
                 UNION ALL
                 SELECT t.name, 0, t.events_total, t.dead_letters_total, t.rejected_total,
                        t.last_event_time, t.last_received
                 FROM source_stats t WHERE t.name NOT IN (SELECT name FROM sources)
                 ORDER BY 1",
            )?;
            let rows = stmt.query_map([], |r| {
                let name: String = r.get(0)?;
                Ok(SourceStats {
                    events_per_minute: self.live.per_minute(&name, now),
                    name,
                    registered: r.get(1)?,
                    events_total: r.get::<_, Option<i64>>(2)?.unwrap_or(0) as u64,
                    dead_letters_total: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as u64,
                    rejected_total: r.get::<_, Option<i64>>(4)?.unwrap_or(0) as u64,
                    last_event_time: r.get::<_, Option<i64>>(5)?.map(micros_to_time),
                    last_received: r.get::<_, Option<i64>>(6)?.map(micros_to_time),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn apply_retention(&self, policy: &RetentionPolicy) -> Result<RetentionReport, StoreError> {
        let (reply, rx) = std::sync::mpsc::channel();
        self.send(Command::Retention(policy.clone(), reply))?;
        rx.recv()
            .map_err(|_| StoreError::Closed)?
            .map_err(StoreError::Writer)
    }

    fn status(&self) -> Result<StoreStatus, StoreError> {
        let queued_events = self.queued.load(Ordering::Relaxed);
        self.read(|conn| {
            let (events, segments, sealing, oldest, newest): (
                i64,
                i64,
                i64,
                Option<i64>,
                Option<i64>,
            ) = conn.query_row(
                "SELECT coalesce(sum(rows), 0), count(*), count(CASE WHEN state = 1 THEN 1 END),
                            min(CASE WHEN rows > 0 THEN min_time END),
                            max(CASE WHEN rows > 0 THEN max_time END)
                     FROM segments",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            let file_bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
            Ok(StoreStatus {
                events: events as u64,
                segments: segments as usize,
                segments_sealing: sealing as usize,
                file_bytes,
                queued_events,
                oldest_event: oldest.map(micros_to_time),
                newest_event: newest.map(micros_to_time),
                // SAFETY: reads SQLite's global allocation counter; no arguments, no state.
                engine_memory_bytes: unsafe { rusqlite::ffi::sqlite3_memory_used() }.max(0) as u64,
            })
        })
    }

    fn close(&self) -> Result<(), StoreError> {
        if let Some((stop, handle)) = self
            .checkpointer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = stop.send(());
            let _ = handle.join();
        }
        let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(());
        };
        let (reply, rx) = std::sync::mpsc::channel();
        if tx.send(Command::Shutdown(reply)).is_ok() {
            let _ = rx.recv();
        }
        drop(tx);
        if let Some(handle) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        Ok(())
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

pub(crate) fn micros_to_time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_has_large_pages_and_incremental_vacuum() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let conn = Connection::open(store.path()).unwrap();
        let pragma = |name: &str| -> i64 {
            conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(pragma("page_size"), PAGE_SIZE);
        assert_eq!(pragma("auto_vacuum"), 2, "incremental");
    }
}
