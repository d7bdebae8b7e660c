//! The control room's alarms: one row per alarm (indexed columns and the record as JSON),
//! their actions (append-only), and each user's alarm-sound choice.

use super::SqliteStore;
use crate::{Alarm, AlarmAction, AlarmQuery, AlarmState, AlarmStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alarms (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    site TEXT,
    severity INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    snoozed_until INTEGER,
    cleared INTEGER,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
) STRICT;
-- One open alarm per kind and door or device: repeats fold into it.
CREATE UNIQUE INDEX IF NOT EXISTS alarms_open ON alarms (kind, target) WHERE state <> 'cleared';
CREATE INDEX IF NOT EXISTS alarms_open_target ON alarms (target) WHERE state <> 'cleared';
CREATE INDEX IF NOT EXISTS alarms_state ON alarms (state, last_seen);
CREATE INDEX IF NOT EXISTS alarms_cleared ON alarms (cleared) WHERE cleared IS NOT NULL;
CREATE TABLE IF NOT EXISTS alarm_actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm TEXT NOT NULL,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    comment TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS alarm_actions_alarm ON alarm_actions (alarm, seq);
CREATE TRIGGER IF NOT EXISTS alarm_actions_no_update BEFORE UPDATE ON alarm_actions
BEGIN SELECT RAISE(ABORT, 'alarm actions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS alarm_actions_no_delete BEFORE DELETE ON alarm_actions
BEGIN SELECT RAISE(ABORT, 'alarm actions are append-only'); END;
CREATE TABLE IF NOT EXISTS alarm_sound (
    user TEXT PRIMARY KEY,
    sound INTEGER NOT NULL
) STRICT;
";

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn from_doc(doc: String) -> Result<Alarm, StoreError> {
    serde_json::from_str(&doc).map_err(|source| StoreError::CorruptEvent {
        id: "alarm record".into(),
        source,
    })
}

fn read_all(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Alarm>, StoreError> {
    let docs: Vec<String> = conn
        .prepare_cached(sql)?
        .query_map(params, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    docs.into_iter().map(from_doc).collect()
}

impl AlarmStore for SqliteStore {
    fn commit_alarms(
        &self,
        alarms: &[Alarm],
        actions: &[AlarmAction],
        cursor: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        // Serialised before the write lock is taken, so the lock is held only for writing.
        let alarms = alarms
            .iter()
            .map(|a| {
                serde_json::to_string(a)
                    .map(|doc| (a.clone(), doc))
                    .map_err(|e| StoreError::Writer(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (a, doc) in &alarms {
            let stored: Option<i64> = tx
                .prepare_cached("SELECT version FROM alarms WHERE id = ?")?
                .query_row([&a.id], |r| r.get(0))
                .optional()?;
            let expected = a.version.checked_sub(1).filter(|v| *v > 0);
            if stored.map(|v| v as u64) != expected {
                return Err(StoreError::Conflict {
                    id: a.id.clone(),
                    current: stored.map(|v| v as u64),
                    reason: "the alarm was changed meanwhile; reload it".into(),
                });
            }
            tx.prepare_cached(
                "INSERT INTO alarms (id, kind, target, state, site, severity, last_seen,
                     snoozed_until, cleared, version, doc)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET state = excluded.state, site = excluded.site,
                     severity = excluded.severity, last_seen = excluded.last_seen,
                     snoozed_until = excluded.snoozed_until, cleared = excluded.cleared,
                     version = excluded.version, doc = excluded.doc",
            )?
            .execute(params![
                a.id,
                a.kind,
                a.target,
                a.state.code(),
                a.site,
                a.severity.uid() as i64,
                micros(a.last_seen),
                a.snoozed_until.map(micros),
                a.cleared.map(micros),
                a.version as i64,
                doc
            ])?;
        }
        for x in actions {
            tx.prepare_cached(
                "INSERT INTO alarm_actions (alarm, time, actor, action, comment)
                 VALUES (?, ?, ?, ?, ?)",
            )?
            .execute(params![
                x.alarm,
                micros(x.time),
                x.actor,
                x.action,
                x.comment
            ])?;
        }
        if let Some((name, value)) = cursor {
            tx.prepare_cached(
                "INSERT INTO component_state (name, value, updated) VALUES (?, ?, ?)
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value,
                     updated = excluded.updated",
            )?
            .execute(params![name, value, micros(Utc::now())])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn open_alarm_targets(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        self.read(|conn| {
            let targets = conn
                .prepare_cached("SELECT DISTINCT target FROM alarms WHERE state <> 'cleared'")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(targets)
        })
    }

    fn open_alarms(&self, target: &str) -> Result<Vec<Alarm>, StoreError> {
        self.read(|conn| {
            read_all(
                conn,
                "SELECT doc FROM alarms WHERE target = ? AND state <> 'cleared' ORDER BY id",
                [target],
            )
        })
    }

    fn alarm(&self, id: &str) -> Result<Option<Alarm>, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT doc FROM alarms WHERE id = ?", [id], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .map(from_doc)
            .transpose()
        })
    }

    fn alarms(&self, query: &AlarmQuery) -> Result<Vec<Alarm>, StoreError> {
        let limit = match query.limit {
            0 => 500,
            n => n.min(5_000),
        } as i64;
        self.read(|conn| {
            let mut out = read_all(
                conn,
                "SELECT doc FROM alarms WHERE state <> 'cleared' AND (?1 IS NULL OR site = ?1)
                 ORDER BY last_seen DESC LIMIT ?2",
                params![query.site, limit],
            )?;
            if query.cleared {
                out.extend(read_all(
                    conn,
                    "SELECT doc FROM alarms WHERE cleared IS NOT NULL AND state = 'cleared'
                       AND (?1 IS NULL OR site = ?1)
                     ORDER BY cleared DESC LIMIT ?2",
                    params![query.site, limit],
                )?);
            }
            Ok(out)
        })
    }

    fn alarm_actions(&self, id: &str) -> Result<Vec<AlarmAction>, StoreError> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT time, actor, action, comment FROM alarm_actions
                     WHERE alarm = ? ORDER BY seq",
                )?
                .query_map([id], |r| {
                    Ok(AlarmAction {
                        alarm: id.to_owned(),
                        time: time(r.get(0)?),
                        actor: r.get(1)?,
                        action: r.get(2)?,
                        comment: r.get(3)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    fn unacknowledged_alarms(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn.query_row(
                "SELECT count(*) FROM alarms WHERE state = ?
                   AND (snoozed_until IS NULL OR snoozed_until <= ?)",
                params![AlarmState::Active.code(), micros(now)],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
    }

    fn alarm_sound(&self, user: &str) -> Result<bool, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT sound FROM alarm_sound WHERE user = ?",
                    [user],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
                .is_some_and(|s| s != 0))
        })
    }

    fn set_alarm_sound(&self, user: &str, on: bool) -> Result<(), StoreError> {
        self.write_conn()?.execute(
            "INSERT INTO alarm_sound (user, sound) VALUES (?, ?)
             ON CONFLICT(user) DO UPDATE SET sound = excluded.sound",
            params![user, on as i64],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StoreConfig, StoreError};
    use tandem_model::Severity;

    fn alarm(id: &str, target: &str) -> Alarm {
        let t = Utc::now();
        Alarm {
            id: id.into(),
            kind: "door_forced".into(),
            target: target.into(),
            title: "Door forced open".into(),
            summary: String::new(),
            severity: Severity::High,
            state: AlarmState::Active,
            ack_required: true,
            back_to_normal: false,
            place: None,
            place_name: None,
            site: Some("osl".into()),
            site_name: None,
            device: None,
            count: 1,
            first_seen: t,
            last_seen: t,
            events: Vec::new(),
            finding: None,
            more_findings: Vec::new(),
            snoozed_until: None,
            forwarded_to: None,
            acknowledged_by: None,
            cleared_by: None,
            cleared: None,
            version: 1,
        }
    }

    #[test]
    fn alarms_are_kept_with_their_actions_and_a_stale_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let a = alarm("01A", "door-1");
        let raised = AlarmAction {
            alarm: a.id.clone(),
            time: a.first_seen,
            actor: "tandem".into(),
            action: "raised".into(),
            comment: String::new(),
        };
        store
            .commit_alarms(
                std::slice::from_ref(&a),
                &[raised],
                Some(("alarms.cursor", "1.2")),
            )
            .unwrap();
        assert_eq!(store.open_alarms("door-1").unwrap(), vec![a.clone()]);
        assert_eq!(store.unacknowledged_alarms(Utc::now()).unwrap(), 1);
        assert_eq!(
            crate::StateStore::get_state(&store, "alarms.cursor")
                .unwrap()
                .as_deref(),
            Some("1.2")
        );
        // A second "new" record with the same id is refused: it was raised already.
        assert!(matches!(
            store.commit_alarms(std::slice::from_ref(&a), &[], None),
            Err(StoreError::Conflict { .. })
        ));
        let mut acked = a.clone();
        acked.state = AlarmState::Acknowledged;
        acked.version = 2;
        store.commit_alarms(&[acked.clone()], &[], None).unwrap();
        assert_eq!(store.unacknowledged_alarms(Utc::now()).unwrap(), 0);
        // Written again from version 1: stale.
        assert!(store.commit_alarms(&[acked], &[], None).is_err());
        assert_eq!(store.alarm_actions("01A").unwrap().len(), 1);
        assert!(!store.alarm_sound("ann").unwrap());
        store.set_alarm_sound("ann", true).unwrap();
        assert!(store.alarm_sound("ann").unwrap());
    }

    #[test]
    fn a_snoozed_alarm_counts_again_once_its_time_is_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let mut a = alarm("01B", "door-2");
        a.snoozed_until = Some(Utc::now() + chrono::Duration::minutes(10));
        store.commit_alarms(&[a], &[], None).unwrap();
        assert_eq!(store.unacknowledged_alarms(Utc::now()).unwrap(), 0);
        let later = Utc::now() + chrono::Duration::minutes(11);
        assert_eq!(store.unacknowledged_alarms(later).unwrap(), 1);
    }
}
