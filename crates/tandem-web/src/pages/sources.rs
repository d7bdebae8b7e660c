//! The sources page: each source's health and volume, what the directory could not resolve
//! in its events, and its latest dead letters.

use crate::access::Permission;
use crate::view::{Visitor, path_segment, render};
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tandem_store::SearchResult;

/// Hours the sources page's volume sparkline covers.
const SPARK_HOURS: usize = 24;

#[derive(Deserialize, Default)]
pub struct SourcesParams {
    /// Show this source's dead letters (all sources' when empty).
    #[serde(default)]
    source: String,
}

/// Events per hour per source over the last [`SPARK_HOURS`], oldest first.
fn hourly_volume(
    events: &dyn tandem_store::EventStore,
    now: chrono::DateTime<Utc>,
) -> std::collections::HashMap<String, Vec<u64>> {
    let from = now - Duration::hours(SPARK_HOURS as i64);
    let mut out: std::collections::HashMap<String, Vec<u64>> = Default::default();
    let Ok(everything) = tandem_query::parse("*") else {
        return out;
    };
    let mut request = tandem_store::SearchRequest::new(everything);
    request.from = Some(from);
    request.query.pipe = Some(tandem_query::Pipe::Timechart {
        span_seconds: 3600,
        by: Some("source".into()),
    });
    let Ok(SearchResult::Aggregation(agg)) = events.search(&request) else {
        return out;
    };
    for bucket in agg.buckets.unwrap_or_default() {
        let slot = ((bucket.start - from).num_seconds().max(0) / 3600) as usize;
        for (series, n) in bucket.counts {
            let Some(name) = series.as_str() else {
                continue;
            };
            let line = out
                .entry(name.to_owned())
                .or_insert_with(|| vec![0; SPARK_HOURS + 1]);
            if let Some(v) = line.get_mut(slot) {
                *v += n;
            }
        }
    }
    out
}

/// A source's volume as an SVG polyline 120 wide and 24 high, with its peak and total.
#[derive(Serialize)]
struct Spark {
    points: String,
    max: u64,
    total: u64,
}

fn sparkline(counts: &[u64]) -> Spark {
    let max = counts.iter().copied().max().unwrap_or(0);
    let step = 120.0 / (counts.len().max(2) - 1) as f64;
    let points: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let y = 22.0 - (n as f64 / max.max(1) as f64) * 20.0;
            format!("{:.1},{:.1}", i as f64 * step, y)
        })
        .collect();
    Spark {
        points: points.join(" "),
        max,
        total: counts.iter().sum(),
    }
}

/// One source's row: its health and volume.
#[derive(Serialize)]
struct SourceRow {
    name: String,
    /// The name as a query value, for the dead-letters link.
    query_name: String,
    format: String,
    /// Times are [`crate::clock::stamp`]'s objects, written by the `when` filter.
    last_event_time: Option<crate::clock::Stamp>,
    last_received: Option<crate::clock::Stamp>,
    events_per_minute: String,
    events_total: u64,
    dead_letters_total: u64,
    spark: Spark,
    /// Why most of its physical events feed the physical detections nothing.
    unplaced: Option<String>,
}

/// What resolution could not resolve in one source's events.
#[derive(Serialize)]
struct GapRow {
    name: String,
    events: u64,
    physical_events: u64,
    non_person: u64,
    person: KindRow,
    place: KindRow,
    device: KindRow,
    service_account: KindRow,
}

/// One kind of record's resolution: unresolved of how many, and the commonest unknowns.
#[derive(Serialize)]
struct KindRow {
    events: u64,
    unresolved: u64,
    share: String,
    top: Vec<String>,
}

impl KindRow {
    fn of(g: &tandem_identity::Gaps, kind: &str) -> KindRow {
        let kg = g.resolution.get(kind).cloned().unwrap_or_default();
        let top = kg
            .top_unknown
            .iter()
            .take(3)
            .map(|u| {
                if u.value.is_empty() {
                    format!("{} ({})", u.identifier, u.events)
                } else {
                    format!("{} {} ({})", u.identifier, u.value, u.events)
                }
            })
            .collect();
        KindRow {
            events: kg.events,
            unresolved: kg.unresolved,
            share: format!("{:.0} %", kg.unresolved_share * 100.0),
            top,
        }
    }
}

/// A dead letter: when, from where, why, and the line as received (its start).
#[derive(Serialize)]
struct LetterRow {
    source: String,
    time: crate::clock::Stamp,
    reason: String,
    raw: String,
}

/// The warning for a source most of whose physical events have no place the directory
/// knows (door ids nobody mapped, a vendor that sends no place at all): such a source feeds
/// the physical detections nothing they can use. `None` when the source is fine.
fn mostly_unplaced(g: &tandem_identity::Gaps) -> Option<String> {
    let place = g.resolution.get("place")?;
    (g.physical_events > 0 && place.events > 0 && place.unresolved * 2 > place.events).then(|| {
        format!(
            "{} of {} events ({:.0} %) have no place in the directory",
            place.unresolved,
            place.events,
            place.unresolved_share * 100.0
        )
    })
}

/// `GET /sources`: each source's health, its volume over the last day, and the latest dead
/// letters with the reason and the line as received.
pub async fn sources_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<SourcesParams>,
) -> Response {
    let events = state.events.clone();
    let only = (!params.source.is_empty()).then(|| params.source.clone());
    let result = tokio::task::spawn_blocking(move || {
        let letters = events.dead_letters(&tandem_store::DeadLetterQuery {
            source: only,
            since: None,
            limit: 50,
        })?;
        let volume = hourly_volume(events.as_ref(), Utc::now());
        Ok::<_, tandem_store::StoreError>((
            events.sources()?,
            events.source_stats()?,
            letters,
            volume,
        ))
    })
    .await;
    match result {
        Ok(Ok((registered, stats, letters, volume))) => {
            let gaps = state.identity.gaps();
            let zone = v.zone.plain();
            let when = |t: chrono::DateTime<Utc>| crate::clock::stamp(t, &zone);
            let rows: Vec<SourceRow> = stats
                .iter()
                .map(|s| {
                    let format = registered
                        .iter()
                        .find(|r| r.name == s.name)
                        .map(|r| r.format.clone());
                    let line = volume
                        .get(&s.name)
                        .cloned()
                        .unwrap_or_else(|| vec![0; SPARK_HOURS + 1]);
                    SourceRow {
                        name: s.name.clone(),
                        query_name: path_segment(&s.name),
                        format: format.unwrap_or_else(|| "—".into()),
                        last_event_time: s.last_event_time.map(when),
                        last_received: s.last_received.map(when),
                        events_per_minute: format!("{:.1}", s.events_per_minute),
                        events_total: s.events_total,
                        dead_letters_total: s.dead_letters_total,
                        spark: sparkline(&line),
                        unplaced: gaps.get(&s.name).and_then(mostly_unplaced),
                    }
                })
                .collect();
            let gap_rows: Vec<GapRow> = gaps
                .iter()
                .map(|(name, g)| GapRow {
                    name: name.clone(),
                    events: g.events,
                    physical_events: g.physical_events,
                    non_person: g.non_person,
                    person: KindRow::of(g, "person"),
                    place: KindRow::of(g, "place"),
                    device: KindRow::of(g, "device"),
                    service_account: KindRow::of(g, "service_account"),
                })
                .collect();
            let letters: Vec<LetterRow> = letters
                .iter()
                .map(|d| LetterRow {
                    source: d.source.clone(),
                    time: when(d.time),
                    reason: d.reason.clone(),
                    raw: d.raw.chars().take(2000).collect(),
                })
                .collect();
            render(
                "sources.html",
                context! {
                    sources => Serde(rows), letters => Serde(letters), source => params.source,
                    gaps => Serde(gap_rows),
                    can_manage => v.can(Permission::ManageSources), ..v.base("sources")
                },
            )
        }
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}
