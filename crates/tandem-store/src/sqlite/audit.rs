//! The audit log: who signed in, changed or exported what, kept so tampering shows.
//!
//! Rows are only ever inserted: triggers abort any `UPDATE` or `DELETE`, so a mistake in
//! Tandem cannot rewrite history. Someone with the database file can still edit it, which is
//! why every entry carries the SHA-256 of the previous entry's hash and its own fields: an
//! edited, removed or reordered entry breaks the chain from there on, and
//! [`crate::verify_audit_chain`] says where.

use super::SqliteStore;
use crate::{AuditEntry, AuditRecord, AuditStore, StoreError, audit_hash};
use chrono::{DateTime, Utc};
use rusqlite::{Row, TransactionBehavior, params};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn record(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    let micros: i64 = row.get(1)?;
    let detail: String = row.get(5)?;
    Ok(AuditRecord {
        seq: row.get::<_, i64>(0)? as u64,
        time: DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default(),
        entry: AuditEntry {
            actor: row.get(2)?,
            action: row.get(3)?,
            target: row.get(4)?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        },
        prev_hash: row.get(6)?,
        hash: row.get(7)?,
    })
}

impl AuditStore for SqliteStore {
    fn append_audit(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        let mut conn = self.write_conn()?;
        // IMMEDIATE: two appends must not read the same last hash.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok();
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq as u64 + 1, hash),
            None => (1, GENESIS.to_owned()),
        };
        // Microsecond precision, as stored, so the hash verifies after a round trip.
        let time = DateTime::<Utc>::from_timestamp_micros(Utc::now().timestamp_micros())
            .unwrap_or_default();
        let hash = audit_hash(&prev_hash, seq, time, entry);
        tx.execute(
            "INSERT INTO audit_log (seq, time, actor, action, target, detail, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                seq as i64,
                time.timestamp_micros(),
                entry.actor,
                entry.action,
                entry.target,
                entry.detail.to_string(),
                prev_hash,
                hash
            ],
        )?;
        tx.commit()?;
        Ok(AuditRecord {
            seq,
            time,
            entry: entry.clone(),
            prev_hash,
            hash,
        })
    }

    fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, time, actor, action, target, detail, prev_hash, hash
                 FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
            )?;
            let rows = stmt
                .query_map(params![after as i64, limit as i64], record)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, time, actor, action, target, detail, prev_hash, hash
                 FROM audit_log ORDER BY seq DESC LIMIT ?",
            )?;
            let rows = stmt
                .query_map([limit as i64], record)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StoreConfig, verify_audit_chain};
    use serde_json::json;

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            actor: "admin".into(),
            action: action.into(),
            target: "rule:x".into(),
            detail: json!({ "why": "test" }),
        }
    }

    fn all(store: &SqliteStore) -> Vec<AuditRecord> {
        store.audit_log(0, 1000).unwrap()
    }

    #[test]
    fn chain_verifies_and_refuses_edits_through_sql() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        for a in ["login", "rule.disable", "export"] {
            store.append_audit(&entry(a)).unwrap();
        }
        let log = all(&store);
        assert_eq!(log.len(), 3);
        assert_eq!(log[0].prev_hash, GENESIS);
        assert_eq!(log[1].prev_hash, log[0].hash);
        assert_eq!(verify_audit_chain(&log), Ok(3));

        let conn = store.write_conn().unwrap();
        let update = conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", []);
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = conn.execute("DELETE FROM audit_log WHERE seq = 1", []);
        assert!(delete.unwrap_err().to_string().contains("append-only"));
    }

    #[test]
    fn edited_or_missing_entries_break_the_chain_where_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        for a in ["a", "b", "c", "d"] {
            store.append_audit(&entry(a)).unwrap();
        }
        let mut log = all(&store);
        log[2].entry.actor = "mallory".into();
        let broken = verify_audit_chain(&log).unwrap_err();
        assert_eq!(broken.seq, 3, "{broken:?}");

        let mut log = all(&store);
        log.remove(1);
        assert_eq!(verify_audit_chain(&log).unwrap_err().seq, 3);
    }
}
