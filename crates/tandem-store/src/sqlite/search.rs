//! Runs searches and aggregations across segments inside one read transaction, so a search
//! sees one consistent snapshot even while the writer commits and seals.

use super::compile::{self, ColumnKind, FieldRef, Sql, TextIndex};
use super::doc::{ROW_COLUMNS, StoredRow};
use super::micros_to_time;
use crate::StoreError;
use crate::api::*;
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use std::collections::HashMap;
use std::time::Instant;
use tandem_model::{Event, Ulid};
use tandem_query::Pipe;

/// Most buckets a timechart may produce.
const MAX_BUCKETS: i64 = 5_000;
/// Series beyond this many are summed into `other`.
const MAX_SERIES: usize = 10;

/// Replaces the `__FROM__` marker with the segment's tables: the narrow table alone, or joined
/// with its document table when the statement reads a `d.` column. (SQLite does not drop an
/// unused LEFT JOIN here, and the join costs ten times the scan.)
fn with_from(sql: String, segment: i64) -> String {
    let from = if uses_doc(&sql) {
        format!("ev_{segment} e LEFT JOIN doc_{segment} d ON d.rowid = e.rowid")
    } else {
        format!("ev_{segment} e")
    };
    sql.replacen("__FROM__", &from, 1)
}

/// Whether generated SQL refers to the document table alias `d`.
fn uses_doc(sql: &str) -> bool {
    sql.match_indices("d.").any(|(i, _)| {
        sql[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

struct Segment {
    id: i64,
    min_time: i64,
    max_time: i64,
    rows: i64,
    fts_upto: i64,
    sealed: bool,
}

/// SQLite instructions between two looks at the clock and the cancel switch: well under a
/// millisecond of work, and too rare to cost anything measurable.
const PROGRESS_STEPS: std::ffi::c_int = 10_000;

/// Runs a search in one read transaction, stopped inside SQLite when its time limit passes
/// or its caller cancels it.
pub fn run(
    conn: &mut Connection,
    request: &SearchRequest,
    config: &StoreConfig,
) -> Result<SearchResult, StoreError> {
    conn.execute_batch("BEGIN")?;
    let deadline = request.time_limit.map(|limit| Instant::now() + limit);
    let cancel = request.cancel.clone();
    let watched = deadline.is_some() || cancel.is_some();
    if watched {
        conn.progress_handler(
            PROGRESS_STEPS,
            Some(move || {
                cancel.as_ref().is_some_and(Cancel::is_cancelled)
                    || deadline.is_some_and(|d| Instant::now() >= d)
            }),
        )?;
    }
    let result = run_in_snapshot(conn, request, config);
    if watched {
        conn.progress_handler(0, None::<fn() -> bool>)?;
    }
    conn.execute_batch("COMMIT")?;
    result.map_err(|e| match e {
        StoreError::Sqlite(e)
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) =>
        {
            if request.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
                StoreError::Cancelled
            } else {
                StoreError::TimedOut(request.time_limit.unwrap_or_default())
            }
        }
        e => e,
    })
}

fn run_in_snapshot(
    conn: &Connection,
    request: &SearchRequest,
    config: &StoreConfig,
) -> Result<SearchResult, StoreError> {
    let from = request.from.map_or(i64::MIN, |t| t.timestamp_micros());
    let to = request.to.map_or(i64::MAX, |t| t.timestamp_micros());
    if from >= to {
        return Err(StoreError::Query("`from` must be earlier than `to`".into()));
    }
    let segments = segments(conn, from, to)?;
    match &request.query.pipe {
        None => page(conn, request, config, &segments, from, to).map(SearchResult::Events),
        Some(Pipe::Count { by }) => {
            count_by(conn, request, &segments, from, to, by).map(SearchResult::Aggregation)
        }
        Some(Pipe::Timechart { span_seconds, by }) => timechart(
            conn,
            request,
            &segments,
            from,
            to,
            *span_seconds,
            by.as_deref(),
        )
        .map(SearchResult::Aggregation),
    }
}

fn segments(conn: &Connection, from: i64, to: i64) -> Result<Vec<Segment>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, min_time, max_time, rows, fts_upto, state FROM segments
         WHERE rows > 0 AND max_time >= ? AND min_time < ?
         ORDER BY max_time DESC, id DESC",
    )?;
    let rows = stmt.query_map([from, to], |r| {
        Ok(Segment {
            id: r.get(0)?,
            min_time: r.get(1)?,
            max_time: r.get(2)?,
            rows: r.get(3)?,
            fts_upto: r.get(4)?,
            sealed: r.get::<_, i64>(5)? == 2,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `WHERE` clause for one segment: the time window and the compiled filter.
fn where_clause(
    request: &SearchRequest,
    segment: &Segment,
    from: i64,
    to: i64,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::default();
    sql.text.push_str(" WHERE ");
    if from > segment.min_time || to <= segment.max_time {
        sql.text.push_str("e.time >= ? AND e.time < ? AND ");
        sql.params.push(Value::Integer(from));
        sql.params.push(Value::Integer(to));
    }
    let text = TextIndex {
        segment: segment.id,
        fts_upto: if segment.sealed {
            segment.rows
        } else {
            segment.fts_upto
        },
        max_rowid: segment.rows,
    };
    compile::compile_expr(&request.query.filter, text, &mut sql)
        .map_err(|e| StoreError::Query(e.0))?;
    Ok(sql)
}

fn covers_all(segment: &Segment, request: &SearchRequest, from: i64, to: i64) -> bool {
    matches!(request.query.filter, tandem_query::Expr::All)
        && from <= segment.min_time
        && to > segment.max_time
}

fn page(
    conn: &Connection,
    request: &SearchRequest,
    config: &StoreConfig,
    segments: &[Segment],
    from: i64,
    to: i64,
) -> Result<EventPage, StoreError> {
    // Checked: a huge `offset` must not wrap around into a small window.
    let Some(window) = request
        .offset
        .checked_add(request.limit)
        .filter(|w| *w <= config.max_result_window)
    else {
        return Err(StoreError::Query(format!(
            "cannot page past result {} (offset {} + limit {}); narrow the time range or the query",
            config.max_result_window, request.offset, request.limit
        )));
    };
    let mut total: u64 = 0;
    // (time, segment, rowid) of candidate hits; only the final page's rows are read in full.
    let mut hits: Vec<(i64, i64, i64)> = Vec::new();
    for segment in segments {
        let filter = where_clause(request, segment, from, to)?;
        // Segments come newest first; once `window` hits are known to be newer than
        // everything this segment holds, it cannot contribute to the page.
        if hits.len() >= window {
            hits.sort_unstable_by_key(|h| std::cmp::Reverse(*h));
            hits.truncate(window);
        }
        let can_contribute = window > 0
            && !(hits.len() >= window && hits.last().is_some_and(|h| h.0 > segment.max_time));
        let mut found = None;
        if can_contribute {
            let sql = with_from(
                format!(
                    "SELECT e.time, e.rowid FROM __FROM__{} ORDER BY e.time DESC, e.rowid DESC LIMIT {window}",
                    filter.text
                ),
                segment.id,
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(filter.params.iter()), |r| {
                Ok((r.get(0)?, segment.id, r.get(1)?))
            })?;
            let before = hits.len();
            for row in rows {
                hits.push(row?);
            }
            found = Some(hits.len() - before);
        }
        total += match found {
            // Fewer than a page matched: that is the count, no need to ask again.
            Some(n) if n < window => n as u64,
            _ if covers_all(segment, request, from, to) => segment.rows as u64,
            _ => {
                let sql = with_from(
                    format!("SELECT count(*) FROM __FROM__{}", filter.text),
                    segment.id,
                );
                conn.prepare_cached(&sql)?
                    .query_row(params_from_iter(filter.params.iter()), |r| {
                        r.get::<_, i64>(0)
                    })? as u64
            }
        };
    }
    hits.sort_unstable_by_key(|h| std::cmp::Reverse(*h));
    let mut events = Vec::with_capacity(request.limit);
    for (_, segment, rowid) in hits.into_iter().skip(request.offset).take(request.limit) {
        let sql = with_from(
            format!("SELECT {ROW_COLUMNS} FROM __FROM__ WHERE e.rowid = ?"),
            segment,
        );
        let row = conn
            .prepare_cached(&sql)?
            .query_row([rowid], |r| StoredRow::read(r, 0))?;
        events.push(row.into_event()?);
    }
    Ok(EventPage {
        total,
        offset: request.offset,
        events,
    })
}

/// SQL for a grouping field plus how to present its values.
fn group_expr(field: &str, params: &mut Vec<Value>) -> (String, Option<ColumnKind>) {
    group_at(compile::resolve_field(field), params)
}

/// Groups by the event's own value: a finding spanning sites counts under its first site.
fn group_at(at: FieldRef, params: &mut Vec<Value>) -> (String, Option<ColumnKind>) {
    match at {
        FieldRef::Column(col, kind) => (col.to_owned(), Some(kind)),
        FieldRef::Json(path) => {
            params.push(Value::Text(path));
            ("json_extract(d.doc, ?)".to_owned(), None)
        }
        FieldRef::AnyIp => ("coalesce(e.src_ip, e.dst_ip)".to_owned(), None),
        FieldRef::Spanned { own, .. } => group_at(*own, params),
    }
}

fn to_json(value: Value, kind: Option<ColumnKind>) -> serde_json::Value {
    match (value, kind) {
        (Value::Null, _) => serde_json::Value::Null,
        (Value::Integer(i), Some(ColumnKind::Time)) => {
            serde_json::Value::String(micros_to_time(i).to_rfc3339())
        }
        (Value::Integer(i), Some(k)) => match compile::vocabulary_name(k, i) {
            Some(name) => name.into(),
            None => i.into(),
        },
        (Value::Integer(i), None) => i.into(),
        (Value::Real(f), _) => {
            serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)
        }
        (Value::Text(s), _) => s.into(),
        (Value::Blob(b), _) => String::from_utf8_lossy(&b).into_owned().into(),
    }
}

fn count_by(
    conn: &Connection,
    request: &SearchRequest,
    segments: &[Segment],
    from: i64,
    to: i64,
    by: &[String],
) -> Result<Aggregation, StoreError> {
    let mut groups: HashMap<String, (Vec<serde_json::Value>, u64)> = HashMap::new();
    let mut total = 0;
    for segment in segments {
        if by.is_empty() && covers_all(segment, request, from, to) {
            total += segment.rows as u64;
            continue;
        }
        let mut params = Vec::new();
        let mut exprs = Vec::new();
        let mut kinds = Vec::new();
        for field in by {
            let (expr, kind) = group_expr(field, &mut params);
            exprs.push(expr);
            kinds.push(kind);
        }
        let filter = where_clause(request, segment, from, to)?;
        params.extend(filter.params);
        let select = if exprs.is_empty() {
            String::new()
        } else {
            format!("{}, ", exprs.join(", "))
        };
        let group = if exprs.is_empty() {
            String::new()
        } else {
            format!(
                " GROUP BY {}",
                (1..=exprs.len())
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let sql = with_from(
            format!(
                "SELECT {select}count(*) FROM {}{}{group}",
                "__FROM__", filter.text
            ),
            segment.id,
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        while let Some(row) = rows.next()? {
            let mut key = Vec::with_capacity(by.len());
            for (i, kind) in kinds.iter().enumerate() {
                key.push(to_json(row.get::<_, Value>(i)?, *kind));
            }
            let n = row.get::<_, i64>(by.len())? as u64;
            total += n;
            let id = serde_json::to_string(&key).unwrap_or_default();
            groups.entry(id).or_insert_with(|| (key, 0)).1 += n;
        }
    }
    let mut rows: Vec<(Vec<serde_json::Value>, u64)> = groups.into_values().collect();
    if by.is_empty() {
        rows = vec![(Vec::new(), total)];
    }
    rows.sort_by(|a, b| {
        b.1.cmp(&a.1).then_with(|| {
            a.0.iter()
                .map(|v| v.to_string())
                .cmp(b.0.iter().map(|v| v.to_string()))
        })
    });
    rows.truncate(request.limit.max(100));
    Ok(Aggregation {
        by: by.to_vec(),
        rows,
        buckets: None,
        total,
    })
}

fn timechart(
    conn: &Connection,
    request: &SearchRequest,
    segments: &[Segment],
    from: i64,
    to: i64,
    span_seconds: i64,
    by: Option<&str>,
) -> Result<Aggregation, StoreError> {
    if span_seconds <= 0 {
        return Err(StoreError::Query(
            "the timechart span must be positive".into(),
        ));
    }
    let too_long = || {
        StoreError::Query(format!(
            "a {span_seconds}s span is longer than any time range; use a shorter span"
        ))
    };
    let span = span_seconds.checked_mul(1_000_000).ok_or_else(too_long)?;
    let lo = if from == i64::MIN {
        segments.iter().map(|s| s.min_time).min().unwrap_or(0)
    } else {
        from
    };
    let hi = if to == i64::MAX {
        segments
            .iter()
            .map(|s| s.max_time.saturating_add(1))
            .max()
            .unwrap_or(0)
    } else {
        to
    };
    let first = lo.div_euclid(span).checked_mul(span).ok_or_else(too_long)?;
    // In i128: times far apart (years -200,000 to 200,000) overflow i64 microseconds.
    // An open-ended range over an empty store (or one whose events all lie before `from`)
    // ends before it starts: no buckets, not a negative count.
    let length = i128::from(hi) - i128::from(first);
    if length > i128::from(i64::MAX) {
        return Err(StoreError::Query(
            "the time range is too long to chart; give a nearer `from` and `to`".into(),
        ));
    }
    let buckets_needed = ((length + i128::from(span) - 1) / i128::from(span)).max(0);
    if buckets_needed > i128::from(MAX_BUCKETS) {
        return Err(StoreError::Query(format!(
            "a {span_seconds}s span over this time range makes {buckets_needed} buckets; \
             use a span of at least {}s or a shorter range",
            length / i128::from(MAX_BUCKETS) / 1_000_000 + 1
        )));
    }
    let buckets_needed = buckets_needed as i64;
    let mut cells: HashMap<(i64, String), u64> = HashMap::new();
    let mut series_values: HashMap<String, serde_json::Value> = HashMap::new();
    let mut total = 0;
    for segment in segments {
        let mut params = Vec::new();
        let (series_sql, kind) = match by {
            Some(field) => group_expr(field, &mut params),
            None => ("NULL".to_owned(), None),
        };
        let filter = where_clause(request, segment, from, to)?;
        params.extend(filter.params);
        let sql = with_from(
            format!(
                "SELECT (e.time - {first}) / {span}, {series_sql}, count(*) FROM {}{} GROUP BY 1, 2",
                "__FROM__", filter.text
            ),
            segment.id,
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        while let Some(row) = rows.next()? {
            let bucket: i64 = row.get(0)?;
            let value = to_json(row.get::<_, Value>(1)?, kind);
            let n = row.get::<_, i64>(2)? as u64;
            total += n;
            let key = value.to_string();
            series_values.entry(key.clone()).or_insert(value);
            *cells.entry((bucket, key)).or_default() += n;
        }
    }
    // Keep the busiest series; fold the rest into "other".
    let mut per_series: HashMap<String, u64> = HashMap::new();
    for ((_, key), n) in &cells {
        *per_series.entry(key.clone()).or_default() += n;
    }
    let mut ranked: Vec<(String, u64)> = per_series.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let kept: Vec<String> = ranked
        .iter()
        .take(MAX_SERIES)
        .map(|(k, _)| k.clone())
        .collect();
    let folded = ranked.len() > MAX_SERIES;
    let mut buckets = Vec::with_capacity(buckets_needed as usize);
    for b in 0..buckets_needed {
        let mut counts: Vec<(serde_json::Value, u64)> = kept
            .iter()
            .map(|k| {
                (
                    series_values[k].clone(),
                    cells.get(&(b, k.clone())).copied().unwrap_or(0),
                )
            })
            .collect();
        if folded {
            let other: u64 = cells
                .iter()
                .filter(|((bb, k), _)| *bb == b && !kept.contains(k))
                .map(|(_, n)| n)
                .sum();
            counts.push(("other".into(), other));
        }
        buckets.push(TimeBucket {
            start: micros_to_time(first.saturating_add(b.saturating_mul(span))),
            counts,
        });
    }
    let mut rows: Vec<(Vec<serde_json::Value>, u64)> = ranked
        .into_iter()
        .map(|(k, n)| (vec![series_values[&k].clone()], n))
        .collect();
    rows.truncate(MAX_SERIES.max(request.limit));
    Ok(Aggregation {
        by: by.map(|b| vec![b.to_owned()]).unwrap_or_default(),
        rows,
        buckets: Some(buckets),
        total,
    })
}

pub fn by_id(conn: &Connection, id: Ulid) -> Result<Option<Event>, StoreError> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM segments WHERE rows > 0 ORDER BY id DESC")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let key = id.to_string();
    for segment in ids {
        let found = conn
            .prepare(&with_from(
                format!("SELECT {ROW_COLUMNS} FROM __FROM__ WHERE e.id = ?"),
                segment,
            ))?
            .query_row([&key], |r| StoredRow::read(r, 0));
        match found {
            Ok(row) => return row.into_event().map(Some),
            Err(rusqlite::Error::QueryReturnedNoRows) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// Events of any of `classes` committed after `cursor`, oldest first. Rows are numbered in commit
/// order within a segment (one writer), and segments in the order they were opened, so
/// `(segment, rowid)` orders every commit; one read transaction makes the answer consistent.
pub fn after(
    conn: &mut Connection,
    cursor: crate::StoreCursor,
    classes: &[tandem_model::Class],
    limit: usize,
) -> Result<(Vec<Event>, crate::StoreCursor), StoreError> {
    let limit = limit.clamp(1, 10_000);
    // Class uids are numbers from the model's vocabulary, never text from outside.
    let uids: Vec<String> = classes.iter().map(|c| c.uid().to_string()).collect();
    let uids = if uids.is_empty() {
        "NULL".to_owned()
    } else {
        uids.join(", ")
    };
    let tx = conn.transaction()?;
    let segments: Vec<i64> = tx
        .prepare_cached("SELECT id FROM segments WHERE id >= ? ORDER BY id")?
        .query_map([cursor.segment as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut events = Vec::new();
    let mut at = cursor;
    for (i, segment) in segments.iter().enumerate() {
        let from = if *segment as u64 == cursor.segment {
            cursor.row
        } else {
            0
        };
        let rows: Vec<(i64, StoredRow)> = tx
            .prepare(&with_from(
                format!(
                    "SELECT e.rowid, {ROW_COLUMNS} FROM __FROM__ \
                     WHERE e.rowid > ? AND e.class_uid IN ({uids}) ORDER BY e.rowid LIMIT ?"
                ),
                *segment,
            ))?
            .query_map(
                rusqlite::params![from as i64, (limit - events.len()) as i64],
                |r| Ok((r.get(0)?, StoredRow::read(r, 1)?)),
            )?
            .collect::<Result<_, _>>()?;
        let full = rows.len() == limit - events.len();
        for (rowid, row) in rows {
            events.push(row.into_event()?);
            at = crate::StoreCursor {
                segment: *segment as u64,
                row: rowid as u64,
            };
        }
        if full {
            break;
        }
        // Past every row of a segment that is no longer the newest: later reads start after
        // it, so a sealed segment is not scanned again.
        if i + 1 < segments.len() {
            let last: i64 = tx.query_row(
                &format!("SELECT COALESCE(MAX(rowid), 0) FROM ev_{segment}"),
                [],
                |r| r.get(0),
            )?;
            at = crate::StoreCursor {
                segment: *segment as u64,
                row: last as u64,
            }
            .max(at);
        }
    }
    tx.commit()?;
    Ok((events, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_table_is_joined_only_when_read() {
        assert!(uses_doc("SELECT json_extract(d.doc, ?) FROM x"));
        assert!(uses_doc("WHERE (d.message LIKE ?"));
        assert!(uses_doc("d.raw"));
        assert!(!uses_doc(
            "SELECT e.class_uid, e.activity_id FROM x WHERE e.id = ?"
        ));
        assert!(
            with_from("SELECT count(*) FROM __FROM__ WHERE e.door = ?".into(), 3)
                .ends_with("FROM ev_3 e WHERE e.door = ?")
        );
    }
}
