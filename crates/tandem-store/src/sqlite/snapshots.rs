//! Camera snapshots' records (`camera_snapshots`) and files (`snapshots/<sha256>.jpg`).
//!
//! Each record carries the segment of its event, so that retention dropping the segment drops
//! the record in the same transaction (`writer.rs`); files no record names are removed by the
//! sweep. See [`crate::SnapshotStore`].

use super::{SqliteStore, micros_to_time};
use crate::snapshots::{CameraSnapshot, SNAPSHOT_DIR};
use crate::{SnapshotStore, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use tandem_model::Ulid;

/// Additive: created if missing, so older stores gain it on open.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS camera_snapshots (
    event TEXT PRIMARY KEY,
    segment INTEGER NOT NULL,
    reference TEXT NOT NULL,
    camera TEXT NOT NULL,
    time INTEGER NOT NULL,
    sha256 TEXT,
    bytes INTEGER NOT NULL,
    fetched INTEGER NOT NULL,
    error TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS camera_snapshots_segment ON camera_snapshots(segment);
CREATE INDEX IF NOT EXISTS camera_snapshots_reference ON camera_snapshots(reference);
CREATE INDEX IF NOT EXISTS camera_snapshots_sha256 ON camera_snapshots(sha256);
";

/// Drops the records of a segment's events; run by retention in the transaction that drops
/// the segment.
pub const DROP_SEGMENT: &str = "DELETE FROM camera_snapshots WHERE segment = ?";

const COLUMNS: &str = "event, reference, camera, time, sha256, bytes, fetched, error";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<CameraSnapshot> {
    let event: String = r.get(0)?;
    Ok(CameraSnapshot {
        event: event.parse().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("not an event id: {event}").into(),
            )
        })?,
        reference: r.get(1)?,
        camera: r.get(2)?,
        time: micros_to_time(r.get(3)?),
        sha256: r.get(4)?,
        bytes: r.get::<_, i64>(5)?.max(0) as u64,
        fetched: micros_to_time(r.get(6)?),
        error: r.get(7)?,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::DataDir {
        path: path.display().to_string(),
        source,
    }
}

/// The segment holding event `id`, newest first (sealed segments look it up by index).
fn segment_of(conn: &Connection, id: &str) -> Result<Option<i64>, StoreError> {
    let segments: Vec<i64> = conn
        .prepare_cached("SELECT id FROM segments WHERE rows > 0 ORDER BY id DESC")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for segment in segments {
        let found = conn
            .query_row(
                &format!("SELECT 1 FROM ev_{segment} WHERE id = ?"),
                [id],
                |_| Ok(()),
            )
            .optional()?;
        if found.is_some() {
            return Ok(Some(segment));
        }
    }
    Ok(None)
}

/// Writes `bytes` to `path` unless it exists: through a temporary file, synced, then renamed,
/// so a file under its final name is always whole.
fn write_once(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(bytes).map_err(io_error(&tmp.0))?;
    tmp.1.sync_all().map_err(io_error(&tmp.0))?;
    drop(tmp.1);
    std::fs::rename(&tmp.0, path).map_err(io_error(path))?;
    Ok(())
}

/// A new file `.<random>.tmp` in `dir`.
fn tempfile_in(dir: &Path) -> Result<(PathBuf, std::fs::File), StoreError> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| StoreError::Writer(e.to_string()))?;
    let path = dir.join(format!(".{}.tmp", hex(&random)));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io_error(&path))?;
    Ok((path, file))
}

impl SqliteStore {
    fn snapshot_dir(&self) -> PathBuf {
        self.path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(SNAPSHOT_DIR)
    }

    fn snapshot_path(&self, sha256: &str) -> PathBuf {
        self.snapshot_dir().join(format!("{sha256}.jpg"))
    }
}

impl SnapshotStore for SqliteStore {
    fn put_snapshot(
        &self,
        snapshot: &CameraSnapshot,
        jpeg: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let sha256 = jpeg.map(|b| hex(&Sha256::digest(b)));
        if let (Some(bytes), Some(sha)) = (jpeg, &sha256) {
            write_once(&self.snapshot_dir(), &self.snapshot_path(sha), bytes)?;
        }
        let mut conn = Connection::open(&self.path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Immediate: retention cannot drop the event's segment between the look-up and the
        // insert, which would leave a record behind its event.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = snapshot.event.to_string();
        let Some(segment) = segment_of(&tx, &id)? else {
            return Ok(false);
        };
        tx.execute(
            "INSERT INTO camera_snapshots
               (event, segment, reference, camera, time, sha256, bytes, fetched, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(event) DO UPDATE SET segment = ?2, reference = ?3, camera = ?4,
               time = ?5, sha256 = ?6, bytes = ?7, fetched = ?8, error = ?9",
            params![
                id,
                segment,
                snapshot.reference,
                snapshot.camera,
                snapshot.time.timestamp_micros(),
                sha256,
                jpeg.map_or(0, |b| b.len() as i64),
                snapshot.fetched.timestamp_micros(),
                snapshot.error,
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn snapshot_by_reference(&self, reference: &str) -> Result<Option<CameraSnapshot>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM camera_snapshots WHERE reference = ?
                     ORDER BY sha256 IS NULL, fetched LIMIT 1"
                ))?
                .query_row([reference], read)
                .optional()?)
        })
    }

    fn snapshots_for(&self, events: &[Ulid]) -> Result<Vec<CameraSnapshot>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM camera_snapshots WHERE event = ?"
            ))?;
            let mut out = Vec::new();
            for id in events {
                if let Some(s) = stmt.query_row([id.to_string()], read).optional()? {
                    out.push(s);
                }
            }
            Ok(out)
        })
    }

    fn snapshot_jpeg(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        let named = self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM camera_snapshots WHERE sha256 = ? LIMIT 1")?
                .query_row([sha256], |_| Ok(()))
                .optional()?
                .is_some())
        })?;
        if !named {
            return Ok(None);
        }
        let path = self.snapshot_path(sha256);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    fn sweep_snapshot_files(&self) -> Result<usize, StoreError> {
        let dir = self.snapshot_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_error(&dir)(e)),
        };
        let named: HashSet<String> = self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT DISTINCT sha256 FROM camera_snapshots WHERE sha256 IS NOT NULL",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?)
        })?;
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(io_error(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let keep = name
                .strip_suffix(".jpg")
                .is_some_and(|sha| named.contains(sha));
            if !keep && entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(io_error(&path))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventStore, RetentionPolicy, StoreConfig, WriteBatch};
    use chrono::Utc;
    use tandem_model::{Activity, Class, Event};

    const JPEG: &[u8] = b"\xff\xd8\xff\xe0 a picture \xff\xd9";

    fn snapshot(event: Ulid, reference: &str) -> CameraSnapshot {
        CameraSnapshot {
            event,
            reference: reference.into(),
            camera: "front_door".into(),
            time: Utc::now(),
            sha256: None,
            bytes: 0,
            fetched: Utc::now(),
            error: None,
        }
    }

    fn store_event(store: &SqliteStore, time: chrono::DateTime<Utc>) -> Ulid {
        let e = Event::new("cameras", Class::VideoDetection, Activity::Detect, time);
        let id = e.id;
        store
            .submit(WriteBatch::events(vec![e]))
            .unwrap()
            .wait()
            .unwrap();
        id
    }

    #[test]
    fn a_snapshot_is_kept_by_content_and_found_by_event_and_reference() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let (a, b) = (
            store_event(&store, Utc::now()),
            store_event(&store, Utc::now()),
        );
        assert!(store.put_snapshot(&snapshot(a, "f-1"), Some(JPEG)).unwrap());
        assert!(store.put_snapshot(&snapshot(b, "f-1"), Some(JPEG)).unwrap());
        let shots = store.snapshots_for(&[b, a]).unwrap();
        assert_eq!(shots.len(), 2);
        assert_eq!(shots[0].event, b);
        let sha = shots[0].sha256.clone().unwrap();
        assert_eq!(sha, hex(&Sha256::digest(JPEG)));
        assert_eq!(shots[0].bytes, JPEG.len() as u64);
        assert_eq!(store.snapshot_jpeg(&sha).unwrap().as_deref(), Some(JPEG));
        // One file for both events.
        assert_eq!(
            std::fs::read_dir(dir.path().join(SNAPSHOT_DIR))
                .unwrap()
                .count(),
            1
        );
        assert_eq!(
            store.snapshot_by_reference("f-1").unwrap().unwrap().sha256,
            Some(sha)
        );
        assert!(store.snapshot_by_reference("f-2").unwrap().is_none());
        assert!(store.snapshot_jpeg("../tandem.db").unwrap().is_none());
    }

    #[test]
    fn a_failed_fetch_is_recorded_without_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let a = store_event(&store, Utc::now());
        let mut s = snapshot(a, "f-1");
        s.error = Some("not a JPEG".into());
        assert!(store.put_snapshot(&s, None).unwrap());
        let got = store.snapshots_for(&[a]).unwrap();
        assert_eq!(got[0].error.as_deref(), Some("not a JPEG"));
        assert_eq!(got[0].sha256, None);
        assert!(!dir.path().join(SNAPSHOT_DIR).exists());
    }

    #[test]
    fn an_event_no_longer_stored_gets_no_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        store_event(&store, Utc::now());
        let gone = Ulid::generate();
        assert!(
            !store
                .put_snapshot(&snapshot(gone, "f-1"), Some(JPEG))
                .unwrap()
        );
        assert!(store.snapshots_for(&[gone]).unwrap().is_empty());
        // The file written ahead of the record is swept.
        assert_eq!(store.sweep_snapshot_files().unwrap(), 1);
    }

    #[test]
    fn snapshots_go_with_their_events_under_retention() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            segment_rows: 1,
            ..StoreConfig::default()
        };
        let store = SqliteStore::open(dir.path(), config).unwrap();
        let old = store_event(&store, Utc::now() - chrono::Duration::days(40));
        let new = store_event(&store, Utc::now());
        // A third event, so neither of the two is in the hot segment retention spares.
        store_event(&store, Utc::now());
        store
            .put_snapshot(&snapshot(old, "old"), Some(JPEG))
            .unwrap();
        store
            .put_snapshot(
                &snapshot(new, "new"),
                Some(b"\xff\xd8\xff another \xff\xd9"),
            )
            .unwrap();
        let report = store
            .apply_retention(&RetentionPolicy {
                max_age_days: Some(30),
                max_size_mib: None,
            })
            .unwrap();
        assert_eq!(report.events_deleted, 1);
        assert!(store.snapshots_for(&[old]).unwrap().is_empty());
        assert_eq!(store.snapshots_for(&[new]).unwrap().len(), 1);
        assert_eq!(store.sweep_snapshot_files().unwrap(), 1);
        let left: Vec<_> = std::fs::read_dir(dir.path().join(SNAPSHOT_DIR))
            .unwrap()
            .collect();
        assert_eq!(left.len(), 1);
        let sha = store.snapshots_for(&[new]).unwrap()[0]
            .sha256
            .clone()
            .unwrap();
        assert!(store.snapshot_jpeg(&sha).unwrap().is_some());
    }
}
