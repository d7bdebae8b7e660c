//! The identity directory's change log: every change ever made to a person, device, place or
//! group, in the order it was recorded. The directory in memory is rebuilt from it at start,
//! which is what lets Tandem answer "what was true at event time?" after a restart.

use super::SqliteStore;
use crate::{DirectoryChange, DirectoryStore, StoreError};
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
";

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

impl crate::StateStore for SqliteStore {
    fn put_state(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.write_conn()?.execute(
            "INSERT INTO component_state (name, value, updated) VALUES (?, ?, ?)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated = excluded.updated",
            params![name, value, micros(chrono::Utc::now())],
        )?;
        Ok(())
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
                let body = c.body.as_ref().map(|b| b.to_string());
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
                let body: Option<String> = r.get(6)?;
                Ok(DirectoryChange {
                    seq: r.get::<_, i64>(0)? as u64,
                    kind: r.get(1)?,
                    key: r.get(2)?,
                    effective: time(r.get(3)?),
                    recorded: time(r.get(4)?),
                    origin: r.get(5)?,
                    body: body.and_then(|b| serde_json::from_str(&b).ok()),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{DirectoryChange, DirectoryStore, EventStore, SqliteStore, StoreConfig};

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
                DirectoryChange::new(
                    "person",
                    "p1",
                    t,
                    "test",
                    Some(serde_json::json!({"name":"A"})),
                ),
                DirectoryChange::new("person", "p1", t, "test", None),
            ];
            store.append_directory(&mut changes).unwrap();
            assert_eq!((changes[0].seq, changes[1].seq), (1, 2));
            store.close().unwrap();
        }
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let all = store.directory_changes(0).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].body.as_ref().unwrap()["name"], "A");
        assert!(all[1].body.is_none());
        assert_eq!(store.directory_changes(1).unwrap().len(), 1);
    }
}
