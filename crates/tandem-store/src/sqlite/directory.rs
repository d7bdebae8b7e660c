//! The identity directory's change log: every change ever made to a person, device, place or
//! group, in the order it was recorded. The directory in memory is rebuilt from it at start,
//! which is what lets Tandem answer "what was true at event time?" after a restart.

use super::SqliteStore;
use crate::{ChangeBody, DirectoryChange, DirectoryStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::params;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS component_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS directory_changes (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    effective INTEGER NOT NULL,
    recorded INTEGER NOT NULL,
    origin TEXT NOT NULL,
    body TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    created INTEGER NOT NULL
) STRICT;
";

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

impl crate::StateStore for SqliteStore {
    /// In the writer's next transaction: the alerts driver moves its cursor every half
    /// second under ingest, and a connection and a transaction of its own for each cost an
    /// fsync and a wait for the event writer.
    fn put_state(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.write_job(move |conn| {
            conn.execute(
                "INSERT INTO component_state (name, value, updated) VALUES (?, ?, ?)
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated = excluded.updated",
                params![name, value, micros(chrono::Utc::now())],
            )?;
            Ok(())
        })
    }

    fn get_state(&self, name: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT value FROM component_state WHERE name = ?",
                    [name],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }
}

impl crate::FileStore for SqliteStore {
    fn put_file(&self, file: &crate::StoredFile) -> Result<(), StoreError> {
        self.write_conn()?.execute(
            "INSERT OR IGNORE INTO files (sha256, content_type, bytes, created) VALUES (?, ?, ?, ?)",
            params![
                file.sha256,
                file.content_type,
                file.bytes,
                micros(chrono::Utc::now())
            ],
        )?;
        Ok(())
    }

    fn file(&self, sha256: &str) -> Result<Option<crate::StoredFile>, StoreError> {
        use rusqlite::OptionalExtension;
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT sha256, content_type, bytes FROM files WHERE sha256 = ?",
                    [sha256],
                    |r| {
                        Ok(crate::StoredFile {
                            sha256: r.get(0)?,
                            content_type: r.get(1)?,
                            bytes: r.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
    }
}

impl DirectoryStore for SqliteStore {
    fn append_directory(&self, changes: &mut [DirectoryChange]) -> Result<(), StoreError> {
        let mut conn = self.write_conn()?;
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO directory_changes (kind, key, effective, recorded, origin, body)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )?;
            for c in changes.iter_mut() {
                // A removal is the only change stored without a body.
                let body = match &c.body {
                    ChangeBody::State(state) => Some(state.to_string()),
                    ChangeBody::Removed => None,
                };
                insert.execute(params![
                    c.kind,
                    c.key,
                    micros(c.effective),
                    micros(c.recorded),
                    c.origin,
                    body
                ])?;
                c.seq = tx.last_insert_rowid() as u64;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn directory_changes(&self, after: u64) -> Result<Vec<DirectoryChange>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, kind, key, effective, recorded, origin, body
                 FROM directory_changes WHERE seq > ? ORDER BY seq",
            )?;
            let rows = stmt.query_map([after as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, kind, key, effective, recorded, origin, body) = row?;
                // NULL has always meant a removal; any text must be a state. Text that is not
                // JSON is corruption and fails the load rather than pass for a removal.
                let body = match body {
                    None => ChangeBody::Removed,
                    Some(text) => ChangeBody::State(
                        serde_json::from_str(&text)
                            .map_err(|source| StoreError::CorruptDirectoryChange { seq, source })?,
                    ),
                };
                out.push(DirectoryChange {
                    seq,
                    kind,
                    key,
                    effective: time(effective),
                    recorded: time(recorded),
                    origin,
                    body,
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{
        ChangeBody, DirectoryChange, DirectoryStore, EventStore, SqliteStore, StoreConfig,
        StoreError,
    };

    #[test]
    fn component_state_is_replaced_and_survives_reopen() {
        use crate::StateStore;
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
            store.put_state("detect", "{\"a\":1}").unwrap();
            store.put_state("detect", "{\"a\":2}").unwrap();
            store.close().unwrap();
        }
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(
            store.get_state("detect").unwrap().as_deref(),
            Some("{\"a\":2}")
        );
        assert_eq!(store.get_state("other").unwrap(), None);
    }

    #[test]
    fn changes_come_back_in_order_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let t = "2026-03-01T00:00:00Z".parse().unwrap();
        {
            let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
            let mut changes = vec![
                DirectoryChange::state("person", "p1", t, "test", &serde_json::json!({"name":"A"}))
                    .unwrap(),
                DirectoryChange::removed("person", "p1", t, "test"),
            ];
            store.append_directory(&mut changes).unwrap();
            assert_eq!((changes[0].seq, changes[1].seq), (1, 2));
            store.close().unwrap();
        }
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let all = store.directory_changes(0).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].body.state().unwrap()["name"], "A");
        assert_eq!(all[1].body, ChangeBody::Removed);
        assert_eq!(store.directory_changes(1).unwrap().len(), 1);
    }

    /// Rows written before the body had a type of its own (a JSON text, or NULL for a
    /// removal) replay as they always did; a body that is not JSON is an error, not a removal.
    #[test]
    fn stored_rows_keep_their_meaning_and_corrupt_bodies_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        {
            let conn = store.write_conn().unwrap();
            conn.execute_batch(
                "INSERT INTO directory_changes (kind, key, effective, recorded, origin, body)
                 VALUES ('group', 'g1', 0, 0, 'scim', '{\"name\":\"Ops\"}'),
                        ('group', 'g1', 1, 1, 'scim', NULL);",
            )
            .unwrap();
        }
        let all = store.directory_changes(0).unwrap();
        assert_eq!(all[0].body.state().unwrap()["name"], "Ops");
        assert_eq!(all[1].body, ChangeBody::Removed);

        store
            .write_conn()
            .unwrap()
            .execute_batch(
                "INSERT INTO directory_changes (kind, key, effective, recorded, origin, body)
                 VALUES ('person', 'p1', 2, 2, 'hr', '{\"name\":');",
            )
            .unwrap();
        match store.directory_changes(0) {
            Err(StoreError::CorruptDirectoryChange { seq, .. }) => assert_eq!(seq, 3),
            other => panic!("a corrupt body must fail the load, got {other:?}"),
        }
    }
}
