//! The outbox: one row per message owed to a channel, with its attempts' outcome.

use super::SqliteStore;
use crate::outbox::bounded;
use crate::{
    OUTBOX_ANSWER_LIMIT, OutboxAttempt, OutboxEntry, OutboxGroupState, OutboxQuery, OutboxState,
    OutboxStore, StoreError,
};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    created INTEGER NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    grp TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    case_id TEXT,
    summary TEXT NOT NULL,
    link TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt INTEGER NOT NULL,
    last_status INTEGER,
    last_answer TEXT NOT NULL,
    delivered INTEGER,
    digest TEXT,
    updated INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt);
CREATE INDEX IF NOT EXISTS outbox_group ON outbox (grp, state, created);
CREATE INDEX IF NOT EXISTS outbox_updated ON outbox (updated);
";

/// The longest one-line summary kept.
const SUMMARY_LIMIT: usize = 1024;

const COLUMNS: &str = "id, created, channel, kind, grp, dedup_key, case_id, summary, link, payload,
    state, attempts, next_attempt, last_status, last_answer, delivered, digest, updated";

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn entry(r: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let state: String = r.get(10)?;
    Ok(OutboxEntry {
        id: r.get(0)?,
        created: time(r.get(1)?),
        channel: r.get(2)?,
        kind: r.get(3)?,
        group: r.get(4)?,
        dedup_key: r.get(5)?,
        case_id: r.get(6)?,
        summary: r.get(7)?,
        link: r.get(8)?,
        payload: r.get(9)?,
        state: OutboxState::parse(&state).unwrap_or(OutboxState::Dead),
        attempts: r.get::<_, i64>(11)? as u32,
        next_attempt: time(r.get(12)?),
        last_status: r.get::<_, Option<i64>>(13)?.map(|s| s as u16),
        last_answer: r.get(14)?,
        delivered: r.get::<_, Option<i64>>(15)?.map(time),
        digest: r.get(16)?,
        updated: time(r.get(17)?),
    })
}

fn insert(tx: &rusqlite::Transaction<'_>, e: &OutboxEntry) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached(&format!(
            "INSERT OR IGNORE INTO outbox ({COLUMNS})
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))?
        .execute(params![
            e.id,
            micros(e.created),
            e.channel,
            e.kind,
            e.group,
            e.dedup_key,
            e.case_id,
            bounded(&e.summary, SUMMARY_LIMIT),
            e.link,
            e.payload,
            e.state.code(),
            e.attempts as i64,
            micros(e.next_attempt),
            e.last_status.map(i64::from),
            bounded(&e.last_answer, OUTBOX_ANSWER_LIMIT),
            e.delivered.map(micros),
            e.digest,
            micros(e.updated),
        ])?)
}

impl OutboxStore for SqliteStore {
    fn enqueue(
        &self,
        entries: &[OutboxEntry],
        cursor: Option<(&str, &str)>,
    ) -> Result<usize, StoreError> {
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut new = 0;
        for e in entries {
            new += insert(&tx, e)?;
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
        Ok(new)
    }

    fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt <= ?
                     ORDER BY next_attempt, id LIMIT ?"
                ))?
                .query_map(params![micros(now), limit as i64], entry)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| {
            let t: Option<i64> = conn.query_row(
                "SELECT min(next_attempt) FROM outbox WHERE state IN ('pending', 'held')",
                [],
                |r| r.get(0),
            )?;
            Ok(t.map(time))
        })
    }

    fn record_attempt(&self, a: &OutboxAttempt) -> Result<(), StoreError> {
        let delivered = (a.state == OutboxState::Delivered).then(|| micros(a.time));
        self.write_conn()?.execute(
            "UPDATE outbox SET state = ?, attempts = ?, next_attempt = ?, last_status = ?,
                 last_answer = ?, delivered = coalesce(?, delivered), updated = ?
             WHERE id = ?",
            params![
                a.state.code(),
                a.attempts as i64,
                micros(a.next_attempt),
                a.status.map(i64::from),
                bounded(&a.answer, OUTBOX_ANSWER_LIMIT),
                delivered,
                micros(a.time),
                a.id
            ],
        )?;
        Ok(())
    }

    fn released_groups(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT DISTINCT grp FROM outbox WHERE state = 'held' AND next_attempt <= ?",
                )?
                .query_map([micros(now)], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    fn held(&self, group: &str) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM outbox WHERE grp = ? AND state = 'held' ORDER BY id"
                ))?
                .query_map([group], entry)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    fn fold_digest(&self, digest: &OutboxEntry, folded: &[String]) -> Result<(), StoreError> {
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        insert(&tx, digest)?;
        let now = micros(Utc::now());
        for id in folded {
            tx.prepare_cached(
                "UPDATE outbox SET state = 'digested', digest = ?, updated = ?
                 WHERE id = ? AND state = 'held'",
            )?
            .execute(params![digest.id, now, id])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn group_state(
        &self,
        group: &str,
        since: DateTime<Utc>,
    ) -> Result<OutboxGroupState, StoreError> {
        self.read(|conn| {
            let sent: i64 = conn
                .prepare_cached(
                    "SELECT count(*) FROM outbox WHERE grp = ? AND created >= ?
                       AND state IN ('pending', 'delivered', 'dead') AND kind <> 'digest'",
                )?
                .query_row(params![group, micros(since)], |r| r.get(0))?;
            let held: Option<i64> = conn
                .prepare_cached(
                    "SELECT min(next_attempt) FROM outbox WHERE grp = ? AND state = 'held'",
                )?
                .query_row([group], |r| r.get(0))?;
            Ok(OutboxGroupState {
                sent_since: sent as u64,
                held_until: held.map(time),
            })
        })
    }

    fn outbox_entry(&self, id: &str) -> Result<Option<OutboxEntry>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?"))?
                .query_row([id], entry)
                .optional()?)
        })
    }

    fn outbox(&self, query: &OutboxQuery) -> Result<Vec<OutboxEntry>, StoreError> {
        let limit = match query.limit {
            0 => 200,
            n => n.min(5_000),
        } as i64;
        self.read(|conn| {
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM outbox WHERE (?1 IS NULL OR state = ?1)
                       AND (?2 IS NULL OR channel = ?2)
                     ORDER BY id DESC LIMIT ?3"
                ))?
                .query_map(
                    params![query.state.map(OutboxState::code), query.channel, limit],
                    entry,
                )?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    fn outbox_counts(&self) -> Result<Vec<(OutboxState, u64)>, StoreError> {
        self.read(|conn| {
            let rows: Vec<(String, i64)> = conn
                .prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(OutboxState::ALL
                .into_iter()
                .map(|s| {
                    let n = rows
                        .iter()
                        .find(|(code, _)| code == s.code())
                        .map_or(0, |(_, n)| *n as u64);
                    (s, n)
                })
                .collect())
        })
    }

    fn retry_outbox(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let n = self.write_conn()?.execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ?, updated = ?
             WHERE id = ? AND state = 'dead'",
            params![micros(now), micros(now), id],
        )?;
        Ok(n == 1)
    }

    fn purge_outbox(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let n = self.write_conn()?.execute(
            "DELETE FROM outbox WHERE state IN ('delivered', 'digested', 'dead') AND updated < ?",
            [micros(before)],
        )?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StateStore, StoreConfig};

    fn row(id: &str, key: &str) -> OutboxEntry {
        let now = Utc::now();
        OutboxEntry {
            id: id.into(),
            created: now,
            channel: "soc".into(),
            kind: "incident_opened".into(),
            group: "route-0:soc".into(),
            dedup_key: key.into(),
            case_id: Some("INC-1".into()),
            summary: "Incident INC-1 opened".into(),
            link: "http://tandem/incidents/INC-1".into(),
            payload: "{}".into(),
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt: now,
            last_status: None,
            last_answer: String::new(),
            delivered: None,
            digest: None,
            updated: now,
        }
    }

    #[test]
    fn a_message_is_queued_once_with_the_cursor_and_its_attempts_are_kept_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let new = store
            .enqueue(&[row("01A", "k1")], Some(("notify.cursor", "1.5")))
            .unwrap();
        assert_eq!(new, 1);
        // The same case event again (a restart re-reading it) queues nothing.
        let again = store
            .enqueue(&[row("01B", "k1")], Some(("notify.cursor", "1.6")))
            .unwrap();
        assert_eq!(again, 0);
        assert_eq!(
            store.get_state("notify.cursor").unwrap().as_deref(),
            Some("1.6")
        );
        let due = store.due(Utc::now(), 10).unwrap();
        assert_eq!(due.len(), 1);
        store
            .record_attempt(&OutboxAttempt {
                id: "01A".into(),
                state: OutboxState::Dead,
                attempts: 3,
                next_attempt: Utc::now(),
                status: Some(503),
                answer: "é".repeat(10_000),
                time: Utc::now(),
            })
            .unwrap();
        let dead = store.outbox_entry("01A").unwrap().unwrap();
        assert_eq!(dead.state, OutboxState::Dead);
        assert!(dead.last_answer.len() <= OUTBOX_ANSWER_LIMIT);
        assert!(store.due(Utc::now(), 10).unwrap().is_empty());
        assert!(store.retry_outbox("01A", Utc::now()).unwrap());
        assert!(!store.retry_outbox("01A", Utc::now()).unwrap());
        assert_eq!(store.due(Utc::now(), 10).unwrap()[0].attempts, 0);
    }

    #[test]
    fn held_rows_fold_into_one_digest_and_old_rows_are_purged() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let past = Utc::now() - chrono::Duration::seconds(5);
        let held: Vec<OutboxEntry> = (0..3)
            .map(|i| OutboxEntry {
                state: OutboxState::Held,
                next_attempt: past,
                ..row(&format!("01H{i}"), &format!("h{i}"))
            })
            .collect();
        store.enqueue(&held, None).unwrap();
        assert_eq!(
            store.group_state("route-0:soc", past).unwrap().held_until,
            Some(time(micros(past)))
        );
        assert_eq!(
            store.released_groups(Utc::now()).unwrap(),
            vec!["route-0:soc".to_owned()]
        );
        let ids: Vec<String> = store
            .held("route-0:soc")
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        let digest = OutboxEntry {
            kind: "digest".into(),
            ..row("01D", "digest:01H0")
        };
        store.fold_digest(&digest, &ids).unwrap();
        assert!(store.released_groups(Utc::now()).unwrap().is_empty());
        assert_eq!(
            store
                .outbox_entry("01H1")
                .unwrap()
                .unwrap()
                .digest
                .as_deref(),
            Some("01D")
        );
        let purged = store
            .purge_outbox(Utc::now() + chrono::Duration::seconds(1))
            .unwrap();
        assert_eq!(purged, 3, "digested rows go, the pending digest stays");
    }
}
