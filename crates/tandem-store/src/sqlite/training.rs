//! The `training` table: see [`crate::TrainingStore`].

use super::{SqliteStore, micros_to_time};
use crate::StoreError;
use crate::training::{TrainingKind, TrainingRecord, TrainingStore};
use chrono::{DateTime, Utc};
use rusqlite::params;

/// Additive: created if missing, so older stores gain it on open.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS training (
    person TEXT NOT NULL,
    kind TEXT NOT NULL,
    item TEXT NOT NULL,
    completed INTEGER NOT NULL,
    origin TEXT NOT NULL,
    recorded INTEGER NOT NULL,
    PRIMARY KEY (person, kind, item, completed)
) STRICT;
CREATE INDEX IF NOT EXISTS training_completed ON training(completed);
";

impl TrainingStore for SqliteStore {
    fn put_training(&self, records: &[TrainingRecord]) -> Result<usize, StoreError> {
        let records = records.to_vec();
        let now = Utc::now().timestamp_micros();
        self.write_job(move |conn| {
            let mut stmt = conn.prepare_cached(
                "INSERT OR IGNORE INTO training (person, kind, item, completed, origin, recorded)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut added = 0;
            for r in &records {
                added += stmt.execute(params![
                    r.person,
                    r.kind.code(),
                    r.item,
                    r.completed.timestamp_micros(),
                    r.origin,
                    now
                ])?;
            }
            Ok(added)
        })
    }

    fn training(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TrainingRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT person, kind, item, completed, origin FROM training
                 WHERE completed >= ?1 AND completed < ?2 ORDER BY completed, person, item",
            )?;
            let rows = stmt.query_map(
                params![from.timestamp_micros(), to.timestamp_micros()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (person, kind, item, completed, origin) = row?;
                let Some(kind) = TrainingKind::parse(&kind) else {
                    continue;
                };
                out.push(TrainingRecord {
                    person,
                    kind,
                    item,
                    completed: micros_to_time(completed),
                    origin,
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventStore, StoreConfig};

    #[test]
    fn records_are_kept_once_and_read_by_period() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), StoreConfig::default()).unwrap();
        let t = |d: &str| format!("{d}T09:00:00Z").parse::<DateTime<Utc>>().unwrap();
        let rec = |person: &str, kind, item: &str, when: &str| TrainingRecord {
            person: person.into(),
            kind,
            item: item.into(),
            completed: t(when),
            origin: "csv:test.csv".into(),
        };
        let records = [
            rec("E1", TrainingKind::Training, "awareness", "2025-03-01"),
            rec("E1", TrainingKind::Policy, "acceptable-use", "2025-03-02"),
            rec("E2", TrainingKind::Training, "awareness", "2025-04-01"),
        ];
        assert_eq!(store.put_training(&records).unwrap(), 3);
        assert_eq!(
            store.put_training(&records).unwrap(),
            0,
            "the same file again adds nothing"
        );
        let march = store.training(t("2025-03-01"), t("2025-04-01")).unwrap();
        assert_eq!(march, records[..2]);
        store.close().unwrap();
    }
}
