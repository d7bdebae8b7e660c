//! The Statement of Applicability and the evidence snapshots (see the crate's `compliance`
//! module). Snapshots are only inserted: triggers abort updates and deletes, as for the audit
//! log, and every row hashes its predecessor.

use super::SqliteStore;
use super::audit::GENESIS;
use crate::{
    ComplianceStore, ControlRecord, EvidenceInput, EvidenceRecord, StoreError, evidence_hash,
};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS compliance_controls (
    framework TEXT NOT NULL,
    control TEXT NOT NULL,
    owner TEXT NOT NULL,
    applicable INTEGER NOT NULL,
    justification TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (framework, control)
) STRICT;
CREATE TABLE IF NOT EXISTS evidence_snapshots (
    seq INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL,
    value REAL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS evidence_snapshots_by_id ON evidence_snapshots (evidence, seq);
CREATE TRIGGER IF NOT EXISTS evidence_snapshots_no_update BEFORE UPDATE ON evidence_snapshots
BEGIN SELECT RAISE(ABORT, 'evidence snapshots are append-only'); END;
CREATE TRIGGER IF NOT EXISTS evidence_snapshots_no_delete BEFORE DELETE ON evidence_snapshots
BEGIN SELECT RAISE(ABORT, 'evidence snapshots are append-only'); END;
";

const CONTROL_COLUMNS: &str =
    "framework, control, owner, applicable, justification, status, updated_by, updated, version";
const EVIDENCE_COLUMNS: &str = "seq, time, evidence, status, value, detail, prev_hash, hash";

fn micros(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(t).unwrap_or_default()
}

fn control(row: &Row<'_>) -> rusqlite::Result<ControlRecord> {
    Ok(ControlRecord {
        framework: row.get(0)?,
        control: row.get(1)?,
        owner: row.get(2)?,
        applicable: row.get::<_, i64>(3)? != 0,
        justification: row.get(4)?,
        status: row.get(5)?,
        updated_by: row.get(6)?,
        updated: micros(row.get(7)?),
        version: row.get::<_, i64>(8)? as u64,
    })
}

fn evidence(row: &Row<'_>) -> rusqlite::Result<EvidenceRecord> {
    let detail: String = row.get(5)?;
    Ok(EvidenceRecord {
        seq: row.get::<_, i64>(0)? as u64,
        time: micros(row.get(1)?),
        input: EvidenceInput {
            evidence: row.get(2)?,
            status: row.get(3)?,
            value: row.get(4)?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        },
        prev_hash: row.get(6)?,
        hash: row.get(7)?,
    })
}

impl ComplianceStore for SqliteStore {
    fn controls(&self, framework: &str) -> Result<Vec<ControlRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {CONTROL_COLUMNS} FROM compliance_controls WHERE framework = ?
                 ORDER BY control"
            ))?;
            let rows = stmt
                .query_map([framework], control)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn put_control(&self, record: &ControlRecord) -> Result<ControlRecord, StoreError> {
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored: Option<(u64, String)> = tx
            .query_row(
                "SELECT version, updated_by FROM compliance_controls
                 WHERE framework = ? AND control = ?",
                params![record.framework, record.control],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()?;
        let current = stored.as_ref().map_or(0, |(v, _)| *v);
        if current != record.version {
            return Err(StoreError::Conflict {
                id: format!("{} {}", record.framework, record.control),
                current: stored.as_ref().map(|(v, _)| *v),
                reason: format!(
                    "{} changed it (version {current}) after version {} was read",
                    stored.map(|(_, by)| by).unwrap_or_default(),
                    record.version
                ),
            });
        }
        let mut out = record.clone();
        out.version = current + 1;
        out.updated = micros(record.updated.timestamp_micros());
        tx.execute(
            &format!(
                "INSERT OR REPLACE INTO compliance_controls ({CONTROL_COLUMNS})
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            params![
                out.framework,
                out.control,
                out.owner,
                out.applicable as i64,
                out.justification,
                out.status,
                out.updated_by,
                out.updated.timestamp_micros(),
                out.version as i64
            ],
        )?;
        tx.commit()?;
        Ok(out)
    }

    fn append_evidence(
        &self,
        time: DateTime<Utc>,
        items: &[EvidenceInput],
    ) -> Result<Vec<EvidenceRecord>, StoreError> {
        let mut conn = self.write_conn()?;
        // IMMEDIATE: two appends must not read the same last hash.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM evidence_snapshots ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (mut seq, mut prev_hash) = match last {
            Some((seq, hash)) => (seq as u64, hash),
            None => (0, GENESIS.to_owned()),
        };
        // Microsecond precision, as stored, so the hash verifies after a round trip.
        let time = micros(time.timestamp_micros());
        let mut out = Vec::with_capacity(items.len());
        for input in items {
            seq += 1;
            let hash = evidence_hash(&prev_hash, seq, time, input);
            tx.execute(
                &format!(
                    "INSERT INTO evidence_snapshots ({EVIDENCE_COLUMNS})
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                params![
                    seq as i64,
                    time.timestamp_micros(),
                    input.evidence,
                    input.status,
                    input.value,
                    input.detail.to_string(),
                    prev_hash,
                    hash
                ],
            )?;
            out.push(EvidenceRecord {
                seq,
                time,
                input: input.clone(),
                prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            });
        }
        tx.commit()?;
        Ok(out)
    }

    fn evidence_history(&self, id: &str, limit: usize) -> Result<Vec<EvidenceRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence_snapshots WHERE evidence = ?
                 ORDER BY seq DESC LIMIT ?"
            ))?;
            let rows = stmt
                .query_map(params![id, limit as i64], evidence)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn latest_evidence(&self) -> Result<Vec<EvidenceRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence_snapshots WHERE seq IN
                 (SELECT max(seq) FROM evidence_snapshots GROUP BY evidence)
                 ORDER BY evidence"
            ))?;
            let rows = stmt
                .query_map([], evidence)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn evidence_log(&self, after: u64, limit: usize) -> Result<Vec<EvidenceRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {EVIDENCE_COLUMNS} FROM evidence_snapshots WHERE seq > ?
                 ORDER BY seq LIMIT ?"
            ))?;
            let rows = stmt
                .query_map(params![after as i64, limit as i64], evidence)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StoreConfig, verify_evidence_chain};
    use serde_json::json;

    fn input(id: &str, status: &str, value: f64) -> EvidenceInput {
        EvidenceInput {
            evidence: id.into(),
            status: status.into(),
            value: Some(value),
            detail: json!({ "controls": ["A.5.24"] }),
        }
    }

    #[test]
    fn snapshots_chain_and_refuse_edits_through_sql() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let t = Utc::now();
        store
            .append_evidence(t, &[input("a", "pass", 1.0), input("b", "fail", 0.2)])
            .unwrap();
        store
            .append_evidence(t, &[input("a", "fail", 0.5)])
            .unwrap();
        let log = store.evidence_log(0, 100).unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(log[0].prev_hash, GENESIS);
        assert_eq!(log[2].prev_hash, log[1].hash);
        assert_eq!(verify_evidence_chain(&log), Ok(3));
        let latest = store.latest_evidence().unwrap();
        assert_eq!(latest.len(), 2);
        assert_eq!(latest[0].input.value, Some(0.5));
        assert_eq!(store.evidence_history("a", 10).unwrap().len(), 2);

        let conn = store.write_conn().unwrap();
        let update = conn.execute("UPDATE evidence_snapshots SET status = 'pass'", []);
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = conn.execute("DELETE FROM evidence_snapshots WHERE seq = 1", []);
        assert!(delete.unwrap_err().to_string().contains("append-only"));
    }

    /// Someone with the file drops the triggers and turns a failing snapshot into a passing
    /// one: the chain breaks at that snapshot.
    #[test]
    fn a_rewritten_snapshot_breaks_the_chain_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let t = Utc::now();
        for (id, status) in [("a", "pass"), ("b", "fail"), ("c", "pass")] {
            store.append_evidence(t, &[input(id, status, 1.0)]).unwrap();
        }
        let conn = store.write_conn().unwrap();
        conn.execute_batch(
            "DROP TRIGGER evidence_snapshots_no_update;
             UPDATE evidence_snapshots SET status = 'pass' WHERE seq = 2;",
        )
        .unwrap();
        drop(conn);
        let broken = verify_evidence_chain(&store.evidence_log(0, 100).unwrap()).unwrap_err();
        assert_eq!(broken.seq, 2);
        assert!(broken.reason.contains("changed"), "{}", broken.reason);
    }

    #[test]
    fn a_control_row_changes_only_from_the_version_its_writer_saw() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let row = ControlRecord {
            framework: "iso27001-2022".into(),
            control: "A.5.24".into(),
            owner: "it".into(),
            applicable: true,
            justification: "we handle incidents".into(),
            status: "implemented".into(),
            updated_by: "admin".into(),
            updated: Utc::now(),
            version: 0,
        };
        let stored = store.put_control(&row).unwrap();
        assert_eq!(stored.version, 1);
        let stale = store.put_control(&row).unwrap_err();
        assert!(matches!(
            stale,
            StoreError::Conflict {
                current: Some(1),
                ..
            }
        ));
        let again = store.put_control(&stored).unwrap();
        assert_eq!(again.version, 2);
        assert_eq!(store.controls("iso27001-2022").unwrap(), vec![again]);
        assert!(store.controls("nist-csf-2.0").unwrap().is_empty());
    }
}
