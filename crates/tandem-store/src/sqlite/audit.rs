//! The audit log: who signed in, changed or exported what, kept so tampering shows.
//!
//! Rows are only ever inserted: triggers abort any `UPDATE` or `DELETE`, so a mistake in
//! Tandem cannot rewrite history. Someone with the database file can still edit it, which is
//! why every entry is chained and MACed (see the crate's `audit` module for what each proof
//! catches).

use super::SqliteStore;
use crate::{
    AuditCheck, AuditEntry, AuditKeys, AuditRecord, AuditStore, KEYED_ACTION, StoreError,
    audit_hash, verify_audit_chain, verify_audit_macs,
};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, TransactionBehavior, params};
use serde_json::json;

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

/// Adds the MAC column to logs written before entries were MACed; their entries keep an
/// empty MAC, vouched for by the first keyed entry after them.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has_mac = conn
        .prepare("SELECT 1 FROM pragma_table_info('audit_log') WHERE name = 'mac'")?
        .exists([])?;
    if !has_mac {
        conn.execute_batch("ALTER TABLE audit_log ADD COLUMN mac TEXT NOT NULL DEFAULT ''")?;
    }
    Ok(())
}

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
        mac: row.get(8)?,
    })
}

const COLUMNS: &str = "seq, time, actor, action, target, detail, prev_hash, hash, mac";

/// What sealing the log with keys did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSealed {
    /// The log already had entries under these keys.
    Already,
    /// An `audit.keyed` entry now starts this key's run, at this `seq`.
    Keyed(u64),
}

impl SqliteStore {
    /// Gives the store the audit log's keys: every entry from now on is MACed. When no entry
    /// was written under these keys yet, an `audit.keyed` entry is appended first, naming the
    /// public key and whether earlier entries exist. `fresh` says the keys were just made; keys
    /// that existed before but find no entry of theirs mean the log was replaced or cut back,
    /// and the entry says so for anyone reading it.
    pub fn seal_audit(&self, keys: AuditKeys, fresh: bool) -> Result<AuditSealed, StoreError> {
        let public_key = keys.public_key();
        if self.audit_keys.set(keys).is_err() {
            return Ok(AuditSealed::Already);
        }
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let known: bool = tx
            .prepare(
                "SELECT 1 FROM audit_log WHERE action = ?1
                 AND json_extract(detail, '$.public_key') = ?2",
            )?
            .exists(params![KEYED_ACTION, public_key])?;
        let head: u64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM audit_log", [], |r| {
            r.get::<_, i64>(0)
        })? as u64;
        tx.commit()?;
        drop(conn);
        if known {
            return Ok(AuditSealed::Already);
        }
        let mut detail = json!({ "public_key": public_key, "earlier_entries": head });
        if !fresh && head > 0 {
            detail["warning"] = "this key existed before, yet no entry was written under it: \
                                 the log was replaced or cut back, or is keyed for the first time"
                .into();
        }
        let keyed = self.append_audit(&AuditEntry {
            actor: "tandem".into(),
            action: KEYED_ACTION.into(),
            target: "audit_log".into(),
            detail,
        })?;
        Ok(AuditSealed::Keyed(keyed.seq))
    }

    /// The audit keys, when the log is sealed.
    pub fn audit_keys(&self) -> Option<&AuditKeys> {
        self.audit_keys.get()
    }
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
        let mac = self
            .audit_keys
            .get()
            .map_or_else(String::new, |k| k.mac(&hash));
        tx.execute(
            "INSERT INTO audit_log (seq, time, actor, action, target, detail, prev_hash, hash, mac)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                seq as i64,
                time.timestamp_micros(),
                entry.actor,
                entry.action,
                entry.target,
                entry.detail.to_string(),
                prev_hash,
                hash,
                mac
            ],
        )?;
        tx.commit()?;
        Ok(AuditRecord {
            seq,
            time,
            entry: entry.clone(),
            prev_hash,
            hash,
            mac,
        })
    }

    fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"
            ))?;
            let rows = stmt
                .query_map(params![after as i64, limit as i64], record)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT ?"
            ))?;
            let rows = stmt
                .query_map([limit as i64], record)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn recent_audit_of(
        &self,
        actions: &[&str],
        except: bool,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        // `substr` rather than `LIKE`: action names hold `_`, which `LIKE` reads as a wildcard.
        let one = "(action = ? OR substr(action, 1, ?) = ?)";
        let any = if actions.is_empty() {
            "0".to_owned()
        } else {
            vec![one; actions.len()].join(" OR ")
        };
        let filter = if except { format!("NOT ({any})") } else { any };
        let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(actions.len() * 3 + 1);
        for a in actions {
            let dotted = format!("{a}.");
            values.push(a.to_string().into());
            values.push((dotted.chars().count() as i64).into());
            values.push(dotted.into());
        }
        values.push((limit as i64).into());
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE {filter} ORDER BY seq DESC LIMIT ?"
            ))?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(values), record)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn verify_audit(&self) -> Result<AuditCheck, StoreError> {
        let log = self.read(|conn| {
            let mut stmt =
                conn.prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq"))?;
            let rows = stmt.query_map([], record)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        let keys = self.audit_keys.get();
        let verdict = verify_audit_chain(&log)
            .and_then(|n| keys.map_or(Ok(n), |k| verify_audit_macs(&log, k).map(|_| n)));
        let (broken_at, reason) = match verdict {
            Ok(_) => (None, None),
            Err(b) => (Some(b.seq), Some(b.reason)),
        };
        Ok(AuditCheck {
            intact: broken_at.is_none(),
            entries: log.len() as u64,
            broken_at,
            reason,
            keyed: keys.is_some(),
            public_key: keys.map(AuditKeys::public_key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StoreConfig, verify_audit_chain, verify_checkpoints};
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
    fn recent_entries_of_a_kind_match_whole_action_names_and_their_dotted_children() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        for a in [
            "login",
            "person.view",
            "login.failed",
            "loginx",
            "search",
            "rule.disable",
            "search",
        ] {
            store.append_audit(&entry(a)).unwrap();
        }
        let actions = |records: Vec<AuditRecord>| -> Vec<String> {
            records.into_iter().map(|r| r.entry.action).collect()
        };
        let sign_ins = store
            .recent_audit_of(&["login", "logout"], false, 10)
            .unwrap();
        assert_eq!(actions(sign_ins), ["login.failed", "login"]);
        let searches = store.recent_audit_of(&["search"], false, 1).unwrap();
        assert_eq!(searches.len(), 1);
        assert_eq!(searches[0].seq, 7);
        let rest = store
            .recent_audit_of(&["login", "search", "person"], true, 10)
            .unwrap();
        assert_eq!(actions(rest), ["rule.disable", "loginx"]);
        assert!(store.recent_audit_of(&[], false, 10).unwrap().is_empty());
        // `_` is not a wildcard.
        store.append_audit(&entry("rule_x")).unwrap();
        assert!(
            store
                .recent_audit_of(&["rule.x"], false, 10)
                .unwrap()
                .is_empty()
        );
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

    /// What someone with the database file and no key can do while the server is stopped:
    /// drop the triggers, then change entries and recompute every hash after them.
    fn rewrite(store: &SqliteStore, edit: &str) {
        let conn = store.write_conn().unwrap();
        conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .unwrap();
        conn.execute_batch(edit).unwrap();
        let log: Vec<AuditRecord> = conn
            .prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq"))
            .unwrap()
            .query_map([], record)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut prev = GENESIS.to_owned();
        for (i, r) in log.iter().enumerate() {
            let seq = i as u64 + 1;
            let hash = audit_hash(&prev, seq, r.time, &r.entry);
            conn.execute(
                "UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                params![seq as i64, prev, hash, r.seq as i64],
            )
            .unwrap();
            prev = hash;
        }
    }

    fn sealed_store(dir: &std::path::Path) -> (SqliteStore, String) {
        let store = SqliteStore::open(dir, StoreConfig::default()).unwrap();
        store.append_audit(&entry("before-keys")).unwrap();
        let keys = AuditKeys::generate();
        let public = keys.public_key();
        assert_eq!(store.seal_audit(keys, true).unwrap(), AuditSealed::Keyed(2));
        for a in ["login", "rule.disable", "export", "logout"] {
            store.append_audit(&entry(a)).unwrap();
        }
        (store, public)
    }

    #[test]
    fn a_keyed_log_verifies_and_names_its_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let (store, public) = sealed_store(dir.path());
        let check = store.verify_audit().unwrap();
        assert!(check.intact && check.keyed, "{check:?}");
        assert_eq!(check.entries, 6);
        assert_eq!(check.public_key.as_deref(), Some(public.as_str()));
        let log = all(&store);
        assert!(log[0].mac.is_empty(), "written before the keys");
        assert!(log[1..].iter().all(|r| r.mac.len() == 64));
    }

    #[test]
    fn a_rewritten_chain_verifies_by_hash_but_not_by_mac() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sealed_store(dir.path());
        rewrite(
            &store,
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 4",
        );
        assert_eq!(verify_audit_chain(&all(&store)), Ok(6), "hashes recomputed");
        let check = store.verify_audit().unwrap();
        assert!(!check.intact);
        assert_eq!(check.broken_at, Some(4), "{check:?}");
        assert!(check.reason.unwrap().contains("MAC does not match"));
    }

    #[test]
    fn rewriting_entries_from_before_the_keys_shows_at_the_keyed_entry() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sealed_store(dir.path());
        rewrite(
            &store,
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
        );
        assert_eq!(store.verify_audit().unwrap().broken_at, Some(2));
    }

    #[test]
    fn stripping_the_keyed_entry_and_the_macs_shows() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sealed_store(dir.path());
        rewrite(
            &store,
            "DELETE FROM audit_log WHERE action = 'audit.keyed'; UPDATE audit_log SET mac = '';",
        );
        let check = store.verify_audit().unwrap();
        assert!(!check.intact);
        assert!(check.reason.unwrap().contains("no entry was written under"));
    }

    #[test]
    fn cutting_the_tail_keeps_every_mac_valid_but_fails_an_older_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let (store, public) = sealed_store(dir.path());
        let log = all(&store);
        let keys = store.audit_keys().unwrap();
        let checkpoints = vec![
            keys.checkpoint(log.get(2), Utc::now()),
            keys.checkpoint(log.last(), Utc::now()),
        ];
        assert_eq!(
            verify_checkpoints(&log, &checkpoints, Some(&public))
                .unwrap()
                .covered_to,
            6
        );
        rewrite(&store, "DELETE FROM audit_log WHERE seq > 4");
        assert!(
            store.verify_audit().unwrap().intact,
            "MACs cannot see a cut"
        );
        let cut = verify_checkpoints(&all(&store), &checkpoints, None).unwrap_err();
        assert_eq!(cut.seq, 6);
        assert!(cut.reason.contains("entries were deleted"), "{cut:?}");
    }

    #[test]
    fn a_log_rewritten_under_the_rewriters_own_keys_fails_the_real_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let (store, public) = sealed_store(dir.path());
        let real = store
            .audit_keys()
            .unwrap()
            .checkpoint(all(&store).last(), Utc::now());

        // Mallory rebuilds the log from scratch with keys of her own and signs it.
        let forged_dir = tempfile::tempdir().unwrap();
        let forged = SqliteStore::open(forged_dir.path(), StoreConfig::default()).unwrap();
        forged.append_audit(&entry("before-keys")).unwrap();
        forged.seal_audit(AuditKeys::generate(), true).unwrap();
        for a in ["login", "rule.disable", "export", "logout"] {
            forged.append_audit(&entry(a)).unwrap();
        }
        let log = all(&forged);
        assert!(
            forged.verify_audit().unwrap().intact,
            "consistent with itself"
        );
        let own = forged
            .audit_keys()
            .unwrap()
            .checkpoint(log.last(), Utc::now());
        assert!(verify_checkpoints(&log, std::slice::from_ref(&own), None).is_ok());
        // Against the checkpoint the real key signed, with the key pinned or taken from the
        // forged log, it fails.
        for pinned in [Some(public.as_str()), None] {
            let err = verify_checkpoints(&log, std::slice::from_ref(&real), pinned).unwrap_err();
            assert!(err.reason.contains("not signed by") || err.reason.contains("rewritten"));
        }
        // A checkpoint whose fields were edited no longer carries a valid signature.
        let mut edited = real;
        edited.seq = 3;
        assert!(verify_checkpoints(&all(&store), &[edited], Some(&public)).is_err());
    }

    #[test]
    fn sealing_again_with_the_same_keys_adds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let (keys, fresh) = AuditKeys::load_or_create(&path).unwrap();
        assert!(fresh);
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(
            store.seal_audit(keys, fresh).unwrap(),
            AuditSealed::Keyed(1)
        );
        drop(store);
        let (again, fresh) = AuditKeys::load_or_create(&path).unwrap();
        assert!(!fresh);
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(
            store.seal_audit(again, fresh).unwrap(),
            AuditSealed::Already
        );
        assert_eq!(all(&store).len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        AuditKeys::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = AuditKeys::load_or_create(&path).err().unwrap();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
