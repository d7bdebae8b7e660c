//! The single writer thread: group commit, segment rotation and sealing, retention.
//!
//! SQLite allows one writer at a time, so one thread owns the write connection and everything
//! that writes events goes through its queue. Batches that arrive while a commit is running
//! are committed together in the next transaction; every submitter is answered only after the
//! commit that holds its batch has returned, which is what "acknowledged means durable" rests
//! on. Writes of case records and components' state come as [`Job`]s and join the next
//! batch's transaction, so they never contend with it for SQLite's lock. Between commits the
//! writer advances the sealing of full segments by one bounded step, so bulk indexing never
//! stalls ingest for long.

use super::schema;
use super::sources::LiveStats;
use crate::api::{CommitReceipt, RetentionPolicy, RetentionReport, StoreConfig};
use chrono::Utc;
use rusqlite::{Connection, params};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use tandem_model::DeadLetter;
use tokio::sync::oneshot;

/// An event in the shape of a segment row, prepared on the submitter's thread so the writer
/// spends its time in SQLite rather than in serde.
#[derive(Debug)]
pub struct Row {
    pub id: String,
    pub time: i64,
    pub ingest_time: i64,
    pub source: String,
    pub class_uid: u16,
    pub activity_id: u16,
    pub outcome_id: u16,
    pub severity_id: u16,
    pub actor: Option<String>,
    pub person: Option<String>,
    pub host: Option<String>,
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub door: Option<String>,
    pub message: Option<String>,
    pub raw: Option<String>,
    pub doc: String,
}

impl Row {
    fn bytes(&self) -> i64 {
        (self.doc.len()
            + self.raw.as_ref().map_or(0, String::len)
            + self.message.as_ref().map_or(0, String::len)
            + 120) as i64
    }
}

pub struct Rows {
    pub rows: Vec<Row>,
    pub dead_letters: Vec<DeadLetter>,
    pub rejected: Vec<(String, u64)>,
}

/// Writes other than events (case records, component state) that the writer does inside its
/// next batch transaction, after the batch's events, under a savepoint of their own: a job
/// that fails leaves nothing of itself and fails nothing else. Its answer is sent once the
/// transaction has committed, so a job answered `Ok` is durable with the batch.
///
/// Before, these had transactions of their own on a connection beside the writer's. Each
/// cost an fsync, and each collision with the writer cost the loser SQLite's busy-wait
/// (sleeps of 1, 2, 5, 10 … ms); a sealing step's full-text transaction whose snapshot such a
/// commit had overtaken failed outright (`database is locked`). With alerting on, that was
/// 8–12 % of ingest (`tandem bench`).
pub type Job = Box<dyn FnOnce(&Connection) -> Result<(), crate::StoreError> + Send>;

/// Where a job's outcome goes once its transaction has committed (or failed).
pub type JobReply = std::sync::mpsc::Sender<Result<(), crate::StoreError>>;

pub enum Command {
    Write(Rows, oneshot::Sender<Result<CommitReceipt, String>>),
    Job(Job, JobReply),
    Retention(
        RetentionPolicy,
        std::sync::mpsc::Sender<Result<RetentionReport, String>>,
    ),
    Shutdown(std::sync::mpsc::Sender<()>),
}

/// Event batches and jobs committed in one transaction.
#[derive(Default)]
struct Group {
    writes: Vec<(Rows, oneshot::Sender<Result<CommitReceipt, String>>)>,
    jobs: Vec<(Job, JobReply)>,
    /// Events in `writes`.
    events: usize,
}

impl Group {
    /// Takes a write or a job; hands any other command back.
    fn add(&mut self, command: Command) -> Option<Command> {
        match command {
            Command::Write(rows, reply) => {
                self.events += rows.rows.len();
                self.writes.push((rows, reply));
                None
            }
            Command::Job(job, reply) => {
                self.jobs.push((job, reply));
                None
            }
            other => Some(other),
        }
    }

    fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.jobs.is_empty()
    }
}

/// One bounded piece of sealing work.
#[derive(Debug, Clone)]
enum SealStep {
    Index {
        segment: i64,
        sql: String,
    },
    /// Index rows after `from` (exclusive) up to `from + chunk` into the full-text index.
    Fts {
        segment: i64,
        from: i64,
    },
    Finish {
        segment: i64,
    },
}

const FTS_CHUNK: i64 = 25_000;

/// Page cache of the connection that builds a full-text index chunk: it reads the chunk's
/// rows once and writes the index's pages once.
const FTS_CACHE_MIB: u64 = 8;

struct Hot {
    id: i64,
    rows: i64,
    bytes: i64,
    min_time: i64,
    max_time: i64,
    created: i64,
}

const HOT_COLUMNS: &str = "id, rows, bytes, min_time, max_time, created";

impl Hot {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hot> {
        Ok(Hot {
            id: r.get(0)?,
            rows: r.get(1)?,
            bytes: r.get(2)?,
            min_time: r.get(3)?,
            max_time: r.get(4)?,
            created: r.get(5)?,
        })
    }
}

pub struct Writer {
    conn: Connection,
    config: StoreConfig,
    hot: Hot,
    pending: VecDeque<SealStep>,
    queued: Arc<AtomicUsize>,
    live: Arc<LiveStats>,
    /// Frames in the WAL after the last commit, as SQLite's WAL hook reports them.
    wal_frames: Arc<AtomicI64>,
    /// Bytes per page (and per WAL frame): fixed when the file was created.
    page_size: i64,
}

impl Writer {
    pub fn open(
        mut conn: Connection,
        config: StoreConfig,
        queued: Arc<AtomicUsize>,
        live: Arc<LiveStats>,
    ) -> rusqlite::Result<Writer> {
        // Its own statements, one insert pair per segment, and the jobs' (case records,
        // state) stay prepared.
        conn.set_prepared_statement_cache_capacity(64);
        let wal_frames = Arc::new(AtomicI64::new(0));
        let frames = wal_frames.clone();
        conn.wal_hook(Some(
            move |_: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
                frames.store(pages.into(), Ordering::Relaxed);
                Ok(())
            },
        ))?;
        let hot = conn
            .query_row(
                &format!(
                    "SELECT {HOT_COLUMNS} FROM segments WHERE state = 0 ORDER BY id DESC LIMIT 1"
                ),
                [],
                Hot::read,
            )
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => create_segment(&conn),
                e => Err(e),
            })?;
        let page_size = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let mut writer = Writer {
            conn,
            config,
            hot,
            pending: VecDeque::new(),
            queued,
            live,
            wal_frames,
            page_size,
        };
        // Sealing interrupted by a restart resumes where it stopped; every step is idempotent.
        let sealing: Vec<(i64, i64)> = writer
            .conn
            .prepare("SELECT id, fts_upto FROM segments WHERE state = 1 ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (segment, fts_upto) in sealing {
            writer.plan_seal(segment, fts_upto);
        }
        Ok(writer)
    }

    /// Runs until shutdown or until every sender is gone.
    pub fn run(mut self, rx: Receiver<Command>) {
        let mut deferred: VecDeque<Command> = VecDeque::new();
        loop {
            let command = match deferred.pop_front() {
                Some(c) => c,
                None if self.pending.is_empty() => match rx.recv() {
                    Ok(c) => c,
                    Err(_) => return,
                },
                None => match rx.try_recv() {
                    Ok(c) => c,
                    Err(TryRecvError::Empty) => {
                        self.seal_step();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => return,
                },
            };
            let mut group = Group::default();
            let Some(command) = group.add(command) else {
                while group.events < self.config.max_batch_events {
                    match rx.try_recv() {
                        Ok(c) => {
                            if let Some(other) = group.add(c) {
                                deferred.push_back(other);
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
                self.commit_group(group);
                self.rewind_wal();
                if !self.pending.is_empty() {
                    self.seal_step();
                }
                continue;
            };
            match command {
                // Taken by the group above.
                Command::Write(..) | Command::Job(..) => {}
                Command::Retention(policy, reply) => {
                    let _ = reply.send(self.retention(&policy).map_err(|e| e.to_string()));
                }
                Command::Shutdown(reply) => {
                    // Anything still queued behind the shutdown is written first.
                    let mut group = Group::default();
                    while let Ok(c) = rx.try_recv() {
                        let _ = group.add(c);
                    }
                    if !group.is_empty() {
                        self.commit_group(group);
                    }
                    let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
                    let _ = reply.send(());
                    return;
                }
            }
        }
    }

    /// Once the WAL is past [`StoreConfig::wal_rewind_mib`], copies the frames the
    /// checkpointer has not reached yet (a fraction of a second's worth), so the next commit
    /// writes the WAL from its start again.
    ///
    /// The checkpointer thread copies the WAL into the database concurrently, but under
    /// sustained ingest it never catches up with the last commit, and SQLite only rewinds the
    /// WAL once every frame has been copied. Without this the WAL grew by the whole ingest
    /// (700 MB in 10 s of `tandem bench`), and every commit extended the file, which the file
    /// system pays for by zeroing new blocks. Readers still on old frames make the rewind wait
    /// for a later commit; nothing else depends on it.
    fn rewind_wal(&mut self) {
        let frames = self.config.wal_rewind_mib as i64 * 1024 * 1024 / self.page_size;
        if self.wal_frames.load(Ordering::Relaxed) < frames {
            return;
        }
        let done = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            });
        match done {
            // Not busy (the checkpointer was not mid-copy) and every frame copied.
            Ok((0, log, copied)) if log == copied => self.wal_frames.store(0, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
        }
    }

    fn commit_group(&mut self, group: Group) {
        let Group { writes, jobs, .. } = group;
        let submitted: usize = writes
            .iter()
            .map(|(r, _)| r.rows.len() + r.dead_letters.len())
            .sum();
        let (jobs, replies): (Vec<Job>, Vec<JobReply>) = jobs.into_iter().unzip();
        let result = self.write(&writes, jobs);
        self.queued.fetch_sub(submitted, Ordering::Relaxed);
        match result {
            Ok(outcomes) => {
                for (rows, reply) in writes {
                    let _ = reply.send(Ok(CommitReceipt {
                        events: rows.rows.len(),
                        dead_letters: rows.dead_letters.len(),
                    }));
                }
                for (outcome, reply) in outcomes.into_iter().zip(replies) {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "commit failed; the batches were not stored");
                // The hot segment counters may have moved inside the failed transaction.
                if let Ok(hot) = self.reload_hot() {
                    self.hot = hot;
                }
                for (_, reply) in writes {
                    let _ = reply.send(Err(e.to_string()));
                }
                for reply in replies {
                    let _ = reply.send(Err(crate::StoreError::Writer(e.to_string())));
                }
            }
        }
    }

    /// Writes the batches' events, then runs each job under a savepoint, all in one
    /// transaction. Returns each job's outcome; an error fails the whole transaction.
    fn write(
        &mut self,
        group: &[(Rows, oneshot::Sender<Result<CommitReceipt, String>>)],
        jobs: Vec<Job>,
    ) -> rusqlite::Result<Vec<Result<(), crate::StoreError>>> {
        let now = Utc::now().timestamp_micros();
        let mut tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut per_source = super::sources::CommitCounts::default();
        let mut sealed = Vec::new();
        {
            let mut insert = None;
            for (rows, _) in group {
                for row in &rows.rows {
                    let full = self.hot.rows >= self.config.segment_rows as i64;
                    let old = self.hot.rows > 0
                        && now - self.hot.created
                            > self.config.segment_hours as i64 * 3_600_000_000;
                    if full || old {
                        insert = None;
                        flush_hot(&tx, &self.hot)?;
                        tx.execute("UPDATE segments SET state = 1 WHERE id = ?", [self.hot.id])?;
                        sealed.push(self.hot.id);
                        self.hot = create_segment(&tx)?;
                    }
                    let (stmt, docs) = match &mut insert {
                        Some((s, d)) => (s, d),
                        None => {
                            let pair = (
                                tx.prepare_cached(&format!(
                                    "INSERT INTO ev_{} (id, time, ingest_time, source, class_uid,
                                     activity_id, outcome_id, severity_id, actor, person, host,
                                     src_ip, dst_ip, site, zone, door)
                                     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                    self.hot.id
                                ))?,
                                tx.prepare_cached(&format!(
                                    "INSERT INTO doc_{} (rowid, message, raw, doc) VALUES (?,?,?,?)",
                                    self.hot.id
                                ))?,
                            );
                            let (s, d) = insert.insert(pair);
                            (s, d)
                        }
                    };
                    let rowid = stmt.insert(params![
                        row.id,
                        row.time,
                        row.ingest_time,
                        row.source,
                        row.class_uid,
                        row.activity_id,
                        row.outcome_id,
                        row.severity_id,
                        row.actor,
                        row.person,
                        row.host,
                        row.src_ip,
                        row.dst_ip,
                        row.site,
                        row.zone,
                        row.door,
                    ])?;
                    docs.execute(params![rowid, row.message, row.raw, row.doc])?;
                    let hot = &mut self.hot;
                    if hot.rows == 0 {
                        hot.min_time = row.time;
                        hot.max_time = row.time;
                    } else {
                        hot.min_time = hot.min_time.min(row.time);
                        hot.max_time = hot.max_time.max(row.time);
                    }
                    hot.rows += 1;
                    hot.bytes += row.bytes();
                    per_source.event(&row.source, row.time);
                }
                if !rows.dead_letters.is_empty() {
                    let mut dl = tx.prepare_cached(
                        "INSERT INTO dead_letters (time, source, reason, raw) VALUES (?,?,?,?)",
                    )?;
                    for d in &rows.dead_letters {
                        dl.execute(params![
                            d.time.timestamp_micros(),
                            d.source,
                            d.reason,
                            d.raw
                        ])?;
                        per_source.dead_letter(&d.source);
                    }
                }
                for (source, n) in &rows.rejected {
                    per_source.rejected(source, *n);
                }
            }
        }
        flush_hot(&tx, &self.hot)?;
        per_source.persist(&tx, now)?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            let sp = tx.savepoint()?;
            let outcome = job(&sp);
            if outcome.is_ok() {
                sp.commit()?;
            }
            // Dropped unreleased, the savepoint rolls back what the job wrote.
            outcomes.push(outcome);
        }
        tx.commit()?;
        self.live.record(&per_source, now);
        for segment in sealed {
            self.plan_seal(segment, 0);
        }
        Ok(outcomes)
    }

    fn reload_hot(&self) -> rusqlite::Result<Hot> {
        self.conn.query_row(
            &format!("SELECT {HOT_COLUMNS} FROM segments WHERE id = ?"),
            [self.hot.id],
            Hot::read,
        )
    }

    fn plan_seal(&mut self, segment: i64, fts_upto: i64) {
        for sql in schema::seal_indexes(segment) {
            self.pending.push_back(SealStep::Index { segment, sql });
        }
        self.pending.push_back(SealStep::Index {
            segment,
            sql: schema::create_fts(segment),
        });
        self.pending.push_back(SealStep::Fts {
            segment,
            from: fts_upto,
        });
        self.pending.push_back(SealStep::Finish { segment });
    }

    /// A short-lived connection to the same file for building a full-text index.
    fn fts_connection(&self) -> rusqlite::Result<Connection> {
        let path = self.conn.path().unwrap_or_default().to_owned();
        let conn = Connection::open(path)?;
        super::configure(&conn, &self.config, FTS_CACHE_MIB)?;
        // Checkpoints stay with the checkpointer thread, as for the writer's connection.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        Ok(conn)
    }

    /// Does one piece of sealing work in its own transaction.
    fn seal_step(&mut self) {
        let Some(step) = self.pending.pop_front() else {
            return;
        };
        let result = (|| -> rusqlite::Result<()> {
            match &step {
                SealStep::Index { sql, .. } => self.conn.execute_batch(sql),
                SealStep::Fts { segment, from } => {
                    let to = from + FTS_CHUNK;
                    // A connection of its own, closed with this step: FTS5 keeps each index it
                    // has written to (about 140 KiB of hash table and structure per index)
                    // until its connection closes, so on the writer's connection memory grew
                    // with every segment ever sealed.
                    let mut fts = self.fts_connection()?;
                    // Immediate: the write lock first. A deferred transaction reads first
                    // (the rows), then fails outright when a commit from another connection
                    // overtook its snapshot before it writes.
                    let tx =
                        fts.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    tx.execute(
                        &format!(
                            "INSERT INTO fts_{segment}(rowid, message, raw)
                             SELECT rowid, message, raw FROM doc_{segment} WHERE rowid > ? AND rowid <= ?"
                        ),
                        [from, &to],
                    )?;
                    let max: i64 = tx.query_row(
                        &format!("SELECT coalesce(max(rowid), 0) FROM ev_{segment}"),
                        [],
                        |r| r.get(0),
                    )?;
                    let upto = to.min(max);
                    tx.execute(
                        "UPDATE segments SET fts_upto = ? WHERE id = ?",
                        [upto, *segment],
                    )?;
                    tx.commit()?;
                    if upto < max {
                        self.pending.push_front(SealStep::Fts {
                            segment: *segment,
                            from: upto,
                        });
                    }
                    Ok(())
                }
                SealStep::Finish { segment } => self
                    .conn
                    .execute("UPDATE segments SET state = 2 WHERE id = ?", [segment])
                    .map(drop),
            }
        })();
        if let Err(e) = result {
            // Leave the step for the next restart rather than spinning on it.
            tracing::error!(error = %e, ?step, "sealing step failed");
        }
    }

    fn retention(&mut self, policy: &RetentionPolicy) -> rusqlite::Result<RetentionReport> {
        let mut report = RetentionReport::default();
        if let Some(days) = policy.max_age_days {
            let cutoff = Utc::now().timestamp_micros() - days as i64 * 86_400_000_000;
            let old: Vec<(i64, i64)> = self
                .conn
                .prepare(
                    "SELECT id, rows FROM segments WHERE max_time < ? AND id != ? ORDER BY id",
                )?
                .query_map([cutoff, self.hot.id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (id, rows) in old {
                self.drop_segment(id)?;
                report.segments_deleted += 1;
                report.events_deleted += rows as u64;
            }
            report.dead_letters_deleted += self
                .conn
                .execute("DELETE FROM dead_letters WHERE time < ?", [cutoff])?
                as u64;
        }
        if let Some(mib) = policy.max_size_mib {
            let limit = mib as i64 * 1024 * 1024;
            loop {
                let used: i64 = self.conn.query_row(
                    "SELECT (page_count - freelist_count) * page_size
                     FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
                    [],
                    |r| r.get(0),
                )?;
                if used <= limit {
                    break;
                }
                let oldest: Option<(i64, i64)> = self
                    .conn
                    .query_row(
                        "SELECT id, rows FROM segments WHERE id != ? ORDER BY max_time LIMIT 1",
                        [self.hot.id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })?;
                let Some((id, rows)) = oldest else { break };
                self.drop_segment(id)?;
                report.segments_deleted += 1;
                report.events_deleted += rows as u64;
            }
        }
        Ok(report)
    }

    fn drop_segment(&mut self, id: i64) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(&schema::drop_segment(id))?;
        tx.execute("DELETE FROM segments WHERE id = ?", [id])?;
        // A camera snapshot is kept as long as its event.
        tx.execute(super::snapshots::DROP_SEGMENT, [id])?;
        tx.commit()?;
        self.pending.retain(|s| match s {
            SealStep::Index { segment, .. }
            | SealStep::Fts { segment, .. }
            | SealStep::Finish { segment } => *segment != id,
        });
        Ok(())
    }
}

fn flush_hot(conn: &Connection, hot: &Hot) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE segments SET rows = ?, bytes = ?, min_time = ?, max_time = ? WHERE id = ?",
        params![hot.rows, hot.bytes, hot.min_time, hot.max_time, hot.id],
    )?;
    Ok(())
}

fn create_segment(conn: &Connection) -> rusqlite::Result<Hot> {
    let created = Utc::now().timestamp_micros();
    conn.execute(
        "INSERT INTO segments (min_time, max_time, rows, bytes, created) VALUES (0, 0, 0, 0, ?)",
        [created],
    )?;
    let id = conn.last_insert_rowid();
    conn.execute_batch(&schema::create_segment(id))?;
    Ok(Hot {
        id,
        rows: 0,
        bytes: 0,
        min_time: 0,
        max_time: 0,
        created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use tandem_model::{Activity, Class, Event};

    /// A writer on a fresh store's file, the store itself closed.
    fn writer(dir: &std::path::Path) -> Writer {
        let config = StoreConfig::default();
        super::super::SqliteStore::open(dir, config.clone())
            .and_then(|s| crate::EventStore::close(&s))
            .unwrap();
        let conn = Connection::open(dir.join(super::super::DB_FILE)).unwrap();
        super::super::configure(&conn, &config, 2).unwrap();
        Writer::open(conn, config, Default::default(), Default::default()).unwrap()
    }

    fn state_job(name: &'static str, fail: bool) -> Job {
        Box::new(move |conn| {
            conn.execute(
                "INSERT INTO component_state (name, value, updated) VALUES (?, 'v', 0)",
                [name],
            )?;
            if fail {
                return Err(StoreError::Conflict {
                    id: name.into(),
                    current: None,
                    reason: "stale".into(),
                });
            }
            Ok(())
        })
    }

    #[test]
    fn jobs_commit_with_the_events_of_their_batch_and_a_failing_job_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path());
        let mut event = Event::new("vpn", Class::Authentication, Activity::Logon, Utc::now());
        let rows = Rows {
            rows: vec![super::super::to_row(&mut event, Utc::now())],
            dead_letters: Vec::new(),
            rejected: Vec::new(),
        };
        let (write_reply, mut written) = oneshot::channel();
        let (kept_reply, kept) = std::sync::mpsc::channel();
        let (failed_reply, failed) = std::sync::mpsc::channel();
        let mut group = Group::default();
        for c in [
            Command::Job(state_job("before", false), kept_reply.clone()),
            Command::Write(rows, write_reply),
            Command::Job(state_job("failing", true), failed_reply),
            Command::Job(state_job("after", false), kept_reply),
        ] {
            assert!(group.add(c).is_none());
        }
        w.commit_group(group);

        assert_eq!(written.try_recv().unwrap().unwrap().events, 1);
        assert!(kept.recv().unwrap().is_ok());
        assert!(kept.recv().unwrap().is_ok());
        assert!(matches!(
            failed.recv().unwrap(),
            Err(StoreError::Conflict { .. })
        ));
        let stored: i64 = w
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM ev_{}", w.hot.id), [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(stored, 1);
        let names: Vec<String> = w
            .conn
            .prepare("SELECT name FROM component_state ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(names, ["after", "before"], "the failing job left nothing");
    }
}
