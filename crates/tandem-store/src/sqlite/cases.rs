//! Alerts, incidents and exceptions: versioned records, the side tables that find them by
//! entity and rule, the findings linked to them, and the append-only timeline.

use super::SqliteStore;
use crate::{
    CaseCommit, CaseItem, CaseKind, CaseOrder, CasePage, CaseQuery, CaseRecord, CaseStore,
    CaseWrite, RuleResolutions, StoreError, TimelineEntry,
};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use tandem_model::Ulid;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS case_records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    resolution TEXT,
    severity INTEGER NOT NULL,
    key TEXT,
    parent TEXT,
    departments TEXT NOT NULL,
    sites TEXT NOT NULL,
    opened INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    doc TEXT NOT NULL,
    due INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS case_records_kind_updated ON case_records (kind, updated);
CREATE INDEX IF NOT EXISTS case_records_kind_opened ON case_records (kind, opened);
CREATE INDEX IF NOT EXISTS case_records_kind_status ON case_records (kind, status, updated);
CREATE INDEX IF NOT EXISTS case_records_key ON case_records (kind, key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS case_records_parent ON case_records (parent) WHERE parent IS NOT NULL;
CREATE TABLE IF NOT EXISTS case_entities (
    case_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    PRIMARY KEY (entity, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_entities_case ON case_entities (case_id);
CREATE TABLE IF NOT EXISTS case_rules (
    case_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    PRIMARY KEY (rule, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_rules_case ON case_rules (case_id);
CREATE TABLE IF NOT EXISTS case_tags (
    case_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (tag, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_tags_case ON case_tags (case_id);
CREATE TABLE IF NOT EXISTS case_findings (
    finding TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    seq INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS case_findings_case ON case_findings (case_id, seq);
-- Linking a finding takes the next `seq` (MAX + 1): without this index every link read the
-- whole table.
CREATE INDEX IF NOT EXISTS case_findings_seq ON case_findings (seq);
CREATE TABLE IF NOT EXISTS case_numbers (
    kind TEXT PRIMARY KEY,
    next INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS case_timeline (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS case_timeline_case ON case_timeline (case_id, seq);
CREATE TRIGGER IF NOT EXISTS case_timeline_no_update BEFORE UPDATE ON case_timeline
BEGIN SELECT RAISE(ABORT, 'the case timeline is append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_timeline_no_delete BEFORE DELETE ON case_timeline
BEGIN SELECT RAISE(ABORT, 'the case timeline is append-only'); END;
";

const COLUMNS: &str = "kind, id, version, status, resolution, severity, key, parent, departments, \
    sites, opened, updated, doc, due";

/// The records' items ([`CaseRecord::items`]): created by [`migrate`], which must know
/// whether a file had it already.
const ITEMS: &str = "
CREATE TABLE case_items (
    case_id TEXT NOT NULL,
    item TEXT NOT NULL,
    kind TEXT NOT NULL,
    grp TEXT NOT NULL,
    -- The record's opening time and the item's place in it: lists come in that order.
    opened INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (case_id, item)
) STRICT, WITHOUT ROWID;
CREATE INDEX case_items_group ON case_items (kind, grp);
";

/// Brings a file written by an older version up to date: the `due` column and the
/// `case_items` table (the `case_tags` table is created by [`SCHEMA`]). Records stored
/// before are marked for one reindex by their owner, who alone knows how to derive tags,
/// due times and items from them.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0).map(|n| n > 0));
    let has_due = has("SELECT COUNT(*) FROM pragma_table_info('case_records') WHERE name = 'due'")?;
    let has_items =
        has("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'case_items'")?;
    if !has_due {
        conn.execute_batch("ALTER TABLE case_records ADD COLUMN due INTEGER")?;
    }
    if !has_items {
        conn.execute_batch(ITEMS)?;
    }
    if !has_due || !has_items {
        let stored: i64 = conn.query_row("SELECT COUNT(*) FROM case_records", [], |r| r.get(0))?;
        if stored > 0 {
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')",
                [REINDEX_KEY],
            )?;
        }
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS case_records_due ON case_records (kind, due) \
         WHERE due IS NOT NULL;",
    )
}

/// The `meta` key set while stored records wait for their owner's reindex.
const REINDEX_KEY: &str = "cases_reindex";

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// `,a,b,`: a list in one column that `LIKE '%,a,%'` can test for a member.
fn joined(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(",{},", items.join(","))
    }
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn record(row: &Row<'_>) -> rusqlite::Result<(CaseRecord, String)> {
    let kind: String = row.get(0)?;
    let doc: String = row.get(12)?;
    let id: String = row.get(1)?;
    Ok((
        CaseRecord {
            kind: CaseKind::parse(&kind).unwrap_or(CaseKind::Alert),
            id,
            version: row.get::<_, i64>(2)? as u64,
            status: row.get(3)?,
            resolution: row.get(4)?,
            severity: row.get::<_, i64>(5)?.clamp(0, 255) as u8,
            key: row.get(6)?,
            parent: row.get(7)?,
            departments: split(&row.get::<_, String>(8)?),
            sites: split(&row.get::<_, String>(9)?),
            opened: time(row.get(10)?),
            updated: time(row.get(11)?),
            due: row.get::<_, Option<i64>>(13)?.map(time),
            entities: Vec::new(),
            rules: Vec::new(),
            tags: Vec::new(),
            items: Vec::new(),
            doc: serde_json::Value::Null,
        },
        doc,
    ))
}

/// Reads records with their entities and rules.
fn finish(
    conn: &Connection,
    rows: Vec<(CaseRecord, String)>,
) -> Result<Vec<CaseRecord>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    let mut entities =
        conn.prepare_cached("SELECT entity FROM case_entities WHERE case_id = ? ORDER BY entity")?;
    let mut rules = conn.prepare_cached("SELECT rule FROM case_rules WHERE case_id = ?")?;
    let mut tags =
        conn.prepare_cached("SELECT tag FROM case_tags WHERE case_id = ? ORDER BY tag")?;
    for (mut r, doc) in rows {
        r.doc = serde_json::from_str(&doc).map_err(|source| StoreError::CorruptEvent {
            id: r.id.clone(),
            source,
        })?;
        r.entities = entities
            .query_map([&r.id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        r.rules = rules
            .query_map([&r.id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        r.tags = tags
            .query_map([&r.id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        out.push(r);
    }
    Ok(out)
}

fn write_sides(tx: &Connection, r: &CaseRecord) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM case_entities WHERE case_id = ?")?
        .execute([&r.id])?;
    tx.prepare_cached("DELETE FROM case_rules WHERE case_id = ?")?
        .execute([&r.id])?;
    tx.prepare_cached("DELETE FROM case_tags WHERE case_id = ?")?
        .execute([&r.id])?;
    tx.prepare_cached("DELETE FROM case_items WHERE case_id = ?")?
        .execute([&r.id])?;
    let mut e =
        tx.prepare_cached("INSERT OR IGNORE INTO case_entities (case_id, entity) VALUES (?, ?)")?;
    for entity in &r.entities {
        e.execute(params![r.id, entity])?;
    }
    let mut q =
        tx.prepare_cached("INSERT OR IGNORE INTO case_rules (case_id, rule) VALUES (?, ?)")?;
    for rule in &r.rules {
        q.execute(params![r.id, rule])?;
    }
    let mut t =
        tx.prepare_cached("INSERT OR IGNORE INTO case_tags (case_id, tag) VALUES (?, ?)")?;
    for tag in &r.tags {
        t.execute(params![r.id, tag])?;
    }
    if !r.items.is_empty() {
        let mut i = tx.prepare_cached(
            "INSERT OR REPLACE INTO case_items (case_id, item, kind, grp, opened, seq, doc) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )?;
        for (seq, item) in r.items.iter().enumerate() {
            let doc =
                serde_json::to_string(&item.doc).map_err(|e| StoreError::Writer(e.to_string()))?;
            i.execute(params![
                r.id,
                item.id,
                r.kind.as_str(),
                item.group,
                micros(r.opened),
                seq as i64,
                doc
            ])?;
        }
    }
    Ok(())
}

fn values(r: &CaseRecord) -> Result<Vec<rusqlite::types::Value>, StoreError> {
    use rusqlite::types::Value as V;
    let opt = |s: &Option<String>| s.clone().map(V::Text).unwrap_or(V::Null);
    Ok(vec![
        V::Text(r.kind.as_str().into()),
        V::Text(r.id.clone()),
        V::Integer(r.version as i64),
        V::Text(r.status.clone()),
        opt(&r.resolution),
        V::Integer(i64::from(r.severity)),
        opt(&r.key),
        opt(&r.parent),
        V::Text(joined(&r.departments)),
        V::Text(joined(&r.sites)),
        V::Integer(micros(r.opened)),
        V::Integer(micros(r.updated)),
        V::Text(serde_json::to_string(&r.doc).map_err(|e| StoreError::Writer(e.to_string()))?),
        r.due.map_or(V::Null, |t| V::Integer(micros(t))),
    ])
}

fn conflict(id: &str, current: Option<u64>, reason: &str) -> StoreError {
    StoreError::Conflict {
        id: id.to_owned(),
        current,
        reason: reason.to_owned(),
    }
}

impl CaseStore for SqliteStore {
    /// On the writer's thread, in its next transaction: never a lock contended with the
    /// event writer or sealing, never an fsync of its own under ingest.
    fn commit_cases(&self, commit: &mut CaseCommit) -> Result<(), StoreError> {
        let mut owned = commit.clone();
        // The documents are serialised here, not on the writer's thread, which ingest waits for.
        let rows = commit
            .writes
            .iter()
            .map(|w| match w {
                CaseWrite::Insert(r) | CaseWrite::Update(r) => values(r),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let seqs = self.write_job(move |tx| {
            let commit = &mut owned;
            for (write, row) in commit.writes.iter().zip(&rows) {
                match write {
                    CaseWrite::Insert(r) => {
                        let exists: Option<i64> = tx
                            .prepare_cached("SELECT version FROM case_records WHERE id = ?")?
                            .query_row([&r.id], |x| {
                                x.get(0)
                            })
                            .optional()?;
                        if let Some(v) = exists {
                            return Err(conflict(&r.id, Some(v as u64), "it exists already"));
                        }
                        tx.prepare_cached(&format!(
                            "INSERT INTO case_records ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                        ))?
                        .execute(params_from_iter(row.iter()))?;
                        write_sides(tx, r)?;
                    }
                    CaseWrite::Update(r) => {
                        let current: Option<i64> = tx
                            .prepare_cached("SELECT version FROM case_records WHERE id = ?")?
                            .query_row([&r.id], |x| {
                                x.get(0)
                            })
                            .optional()?;
                        match current {
                            None => return Err(conflict(&r.id, None, "it does not exist")),
                            Some(v) if v as u64 + 1 != r.version => {
                                return Err(conflict(
                                    &r.id,
                                    Some(v as u64),
                                    &format!(
                                        "the change was based on version {}, the current one is {v}",
                                        r.version.saturating_sub(1)
                                    ),
                                ));
                            }
                            Some(_) => {}
                        }
                        tx.prepare_cached(
                            "UPDATE case_records SET kind = ?1, version = ?3, status = ?4, \
                             resolution = ?5, severity = ?6, key = ?7, parent = ?8, \
                             departments = ?9, sites = ?10, opened = ?11, updated = ?12, doc = ?13, \
                             due = ?14 \
                             WHERE id = ?2",
                        )?
                        .execute(params_from_iter(row.iter()))?;
                        write_sides(tx, r)?;
                    }
                }
            }
            let mut link = tx.prepare_cached(
                "INSERT INTO case_findings (finding, case_id, seq) VALUES (?, ?, \
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM case_findings))",
            )?;
            for (finding, case_id) in &commit.findings {
                let key = finding.to_string();
                let linked: Option<String> = tx
                    .prepare_cached("SELECT case_id FROM case_findings WHERE finding = ?")?
                    .query_row([&key], |x| {
                        x.get(0)
                    })
                    .optional()?;
                if let Some(other) = linked {
                    return Err(conflict(
                        &other,
                        None,
                        &format!("finding {key} is already linked to {other}"),
                    ));
                }
                link.execute(params![key, case_id])?;
            }
            let mut append = tx.prepare_cached(
                "INSERT INTO case_timeline (case_id, time, actor, kind, detail) VALUES (?, ?, ?, ?, ?)",
            )?;
            for entry in commit.timeline.iter_mut() {
                append.execute(params![
                    entry.case_id,
                    micros(entry.time),
                    entry.actor,
                    entry.kind,
                    entry.detail.to_string()
                ])?;
                entry.seq = tx.last_insert_rowid() as u64;
            }
            Ok(commit.timeline.iter().map(|e| e.seq).collect::<Vec<u64>>())
        })?;
        for (entry, seq) in commit.timeline.iter_mut().zip(seqs) {
            entry.seq = seq;
        }
        Ok(())
    }

    fn case(&self, kind: CaseKind, id: &str) -> Result<Option<CaseRecord>, StoreError> {
        self.read(|conn| {
            let row = conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM case_records WHERE id = ? AND kind = ?"),
                    params![id, kind.as_str()],
                    record,
                )
                .optional()?;
            Ok(finish(conn, row.into_iter().collect())?.pop())
        })
    }

    fn cases(&self, q: &CaseQuery) -> Result<CasePage, StoreError> {
        use rusqlite::types::Value as V;
        let mut wheres = vec!["kind = ?".to_owned()];
        let mut args: Vec<V> = vec![V::Text(q.kind.as_str().into())];
        let list = |items: &[String], args: &mut Vec<V>| {
            let marks = vec!["?"; items.len()].join(",");
            args.extend(items.iter().map(|s| V::Text(s.clone())));
            marks
        };
        if !q.statuses.is_empty() {
            let m = list(&q.statuses, &mut args);
            wheres.push(format!("status IN ({m})"));
        }
        if !q.not_statuses.is_empty() {
            let m = list(&q.not_statuses, &mut args);
            wheres.push(format!("status NOT IN ({m})"));
        }
        if let Some(s) = q.min_severity {
            wheres.push("severity >= ?".into());
            args.push(V::Integer(i64::from(s)));
        }
        if let Some(d) = &q.department {
            wheres.push("departments LIKE ?".into());
            args.push(V::Text(format!("%,{d},%")));
        }
        if let Some(s) = &q.site {
            wheres.push("sites LIKE ?".into());
            args.push(V::Text(format!("%,{s},%")));
        }
        if !q.entities.is_empty() {
            let m = list(&q.entities, &mut args);
            wheres.push(format!(
                "id IN (SELECT case_id FROM case_entities WHERE entity IN ({m}))"
            ));
        }
        if let Some(r) = &q.rule {
            wheres.push("id IN (SELECT case_id FROM case_rules WHERE rule = ?)".into());
            args.push(V::Text(r.clone()));
        }
        if let Some(k) = &q.key {
            wheres.push("key = ?".into());
            args.push(V::Text(k.clone()));
        }
        if let Some(p) = &q.parent {
            wheres.push("parent = ?".into());
            args.push(V::Text(p.clone()));
        }
        if let Some(t) = q.updated_since {
            wheres.push("updated >= ?".into());
            args.push(V::Integer(micros(t)));
        }
        if let Some(t) = q.opened_since {
            wheres.push("opened >= ?".into());
            args.push(V::Integer(micros(t)));
        }
        if let Some(t) = &q.tag {
            wheres.push("id IN (SELECT case_id FROM case_tags WHERE tag = ?)".into());
            args.push(V::Text(t.clone()));
        }
        if let Some(t) = q.due_by {
            wheres.push("due IS NOT NULL AND due <= ?".into());
            args.push(V::Integer(micros(t)));
        }
        // A filter on a side table (entities, rule, tag) names few records: draw them from it
        // by id. Left to itself SQLite walks the kind's whole index testing each record
        // against the side table (66 ms instead of 0.2 for one person among 100,000 alerts);
        // `+kind` keeps it from using that index.
        if !q.entities.is_empty() || q.rule.is_some() || q.tag.is_some() {
            wheres[0] = "+kind = ?".to_owned();
        }
        let filter = wheres.join(" AND ");
        let order = match q.order {
            CaseOrder::Updated => "updated DESC, id DESC",
            CaseOrder::Severity => "severity DESC, updated DESC, id DESC",
            CaseOrder::Opened => "opened ASC, id ASC",
        };
        self.read(|conn| {
            let total: i64 = conn.query_row(
                &format!("SELECT COUNT(*) FROM case_records WHERE {filter}"),
                params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            let mut page_args = args.clone();
            page_args.push(V::Integer(q.limit.min(10_000) as i64));
            page_args.push(V::Integer(q.offset.min(1_000_000) as i64));
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM case_records WHERE {filter} ORDER BY {order} LIMIT ? OFFSET ?"
            ))?;
            let rows = stmt
                .query_map(params_from_iter(page_args.iter()), record)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            drop(stmt);
            Ok(CasePage {
                total: total as u64,
                records: finish(conn, rows)?,
            })
        })
    }

    fn timeline(&self, case_id: &str, after_seq: u64) -> Result<Vec<TimelineEntry>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, case_id, time, actor, kind, detail FROM case_timeline \
                 WHERE case_id = ? AND seq > ? ORDER BY seq",
            )?;
            let rows = stmt
                .query_map(params![case_id, after_seq as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(seq, case_id, t, actor, kind, detail)| {
                    Ok(TimelineEntry {
                        seq: seq as u64,
                        detail: serde_json::from_str(&detail).map_err(|source| {
                            StoreError::CorruptEvent {
                                id: format!("{case_id} timeline entry {seq}"),
                                source,
                            }
                        })?,
                        case_id,
                        time: time(t),
                        actor,
                        kind,
                    })
                })
                .collect()
        })
    }

    fn linked_findings(&self, ids: &[Ulid]) -> Result<Vec<(Ulid, String)>, StoreError> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT case_id FROM case_findings WHERE finding = ?")?;
            let mut out = Vec::new();
            for id in ids {
                if let Some(case) = stmt
                    .query_row([id.to_string()], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    out.push((*id, case));
                }
            }
            Ok(out)
        })
    }

    fn case_findings(&self, case_id: &str, limit: usize) -> Result<Vec<Ulid>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT finding FROM case_findings WHERE case_id = ? ORDER BY seq LIMIT ?",
            )?;
            let ids = stmt
                .query_map(params![case_id, limit.min(100_000) as i64], |r| {
                    r.get::<_, String>(0)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids.iter().filter_map(|s| s.parse().ok()).collect())
        })
    }

    fn allocate_case_numbers(&self, kind: CaseKind, n: u64) -> Result<u64, StoreError> {
        self.write_job(move |tx| {
            let next: Option<i64> = tx
                .query_row(
                    "SELECT next FROM case_numbers WHERE kind = ?",
                    [kind.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let first = next.unwrap_or(1);
            tx.execute(
                "INSERT INTO case_numbers (kind, next) VALUES (?, ?) \
                 ON CONFLICT(kind) DO UPDATE SET next = excluded.next",
                params![kind.as_str(), first + n as i64],
            )?;
            Ok(first as u64)
        })
    }

    fn rule_resolutions(&self, kind: CaseKind) -> Result<Vec<RuleResolutions>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.rule, c.resolution, COUNT(*) FROM case_rules r \
                 JOIN case_records c ON c.id = r.case_id \
                 WHERE c.kind = ? AND c.resolution IS NOT NULL \
                 GROUP BY r.rule, c.resolution ORDER BY r.rule, c.resolution",
            )?;
            let rows = stmt
                .query_map([kind.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out: Vec<RuleResolutions> = Vec::new();
            for (rule, resolution, n) in rows {
                match out.last_mut() {
                    Some(last) if last.rule == rule => {
                        last.resolutions.push((resolution, n as u64))
                    }
                    _ => out.push(RuleResolutions {
                        rule,
                        resolutions: vec![(resolution, n as u64)],
                    }),
                }
            }
            Ok(out)
        })
    }

    fn case_items(
        &self,
        kind: CaseKind,
        group: Option<&str>,
    ) -> Result<Vec<(String, CaseItem)>, StoreError> {
        let kind_str = kind.as_str();
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(match group {
                Some(_) => {
                    "SELECT case_id, item, grp, doc FROM case_items WHERE kind = ?1 AND grp = ?2 \
                     ORDER BY opened, case_id, seq"
                }
                None => {
                    "SELECT case_id, item, grp, doc FROM case_items WHERE kind = ?1 \
                     ORDER BY opened, case_id, seq"
                }
            })?;
            let args: Vec<&dyn rusqlite::ToSql> = match &group {
                Some(g) => vec![&kind_str, g],
                None => vec![&kind_str],
            };
            let rows = stmt
                .query_map(args.as_slice(), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(case_id, id, group, doc)| {
                    let doc =
                        serde_json::from_str(&doc).map_err(|source| StoreError::CorruptEvent {
                            id: format!("{case_id} item {id}"),
                            source,
                        })?;
                    Ok((case_id, CaseItem { id, group, doc }))
                })
                .collect()
        })
    }

    fn reindex_cases(&self, records: &[CaseRecord]) -> Result<(), StoreError> {
        let records = records.to_vec();
        self.write_job(move |tx| {
            let mut due = tx.prepare_cached("UPDATE case_records SET due = ? WHERE id = ?")?;
            for r in &records {
                due.execute(params![r.due.map(micros), r.id])?;
                write_sides(tx, r)?;
            }
            Ok(())
        })
    }

    fn cases_need_reindex(&self) -> Result<bool, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_row("SELECT value FROM meta WHERE key = ?", [REINDEX_KEY], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .is_some())
        })
    }

    fn cases_reindexed(&self) -> Result<(), StoreError> {
        self.write_job(|tx| {
            tx.execute("DELETE FROM meta WHERE key = ?", [REINDEX_KEY])?;
            Ok(())
        })
    }
}
