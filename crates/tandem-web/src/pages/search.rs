//! The search page: the query box with its suggestions, the histogram over the window and
//! the matching events (or the aggregation's table).

use crate::api::{SearchParams, search_request};
use crate::view::{Visitor, event_where, event_who, render, script};
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tandem_identity::Directory;
use tandem_model::Event;
use tandem_store::SearchResult;

#[derive(Deserialize)]
pub struct ConsoleSearch {
    #[serde(default)]
    q: String,
    #[serde(default)]
    range: String,
}

const RANGES: &[(&str, &str)] = &[
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("all", "All time"),
];

pub async fn search_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(form): Query<ConsoleSearch>,
) -> Response {
    let range = if RANGES.iter().any(|r| r.0 == form.range) {
        form.range.clone()
    } else {
        "24h".into()
    };
    let from = (range != "all").then(|| format!("now-{range}"));
    let params = SearchParams {
        q: form.q.clone(),
        from,
        to: None,
        limit: Some(100),
        offset: None,
    };
    let (fields, fields_json) = search_fields();
    let base = context! {
        q => form.q, range => range, ranges => RANGES.to_vec(),
        fields => Serde(fields), fields_json => fields_json,
        ..v.base("search")
    };
    let request = match search_request(&params) {
        Ok(r) => r,
        Err(e) => {
            let caret = e
                .detail
                .as_ref()
                .and_then(|d| d.get("caret"))
                .and_then(|c| c.as_str())
                .unwrap_or("");
            return render(
                "search.html",
                context! { error => format!("{}\n{}", e.message, caret), ..base },
            );
        }
    };
    crate::audit::searched(
        &state,
        &v.who,
        &params.q,
        serde_json::json!({ "from": params.from, "to": params.to }),
    )
    .await;
    let slot = match state.searches.start(Some(&v.who.name)) {
        Ok(slot) => slot,
        Err(e) => return render("search.html", context! { error => e.message, ..base }),
    };
    let mut request = request;
    slot.limit(&mut request);
    let _cancel = slot.cancel_on_drop();
    let events = state.events.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let result = events.search(&request)?;
        // The histogram reuses the filter with a timechart sized to the window.
        let histogram = if matches!(result, SearchResult::Events(_)) {
            let now = Utc::now();
            let from = request.from.unwrap_or_else(|| now - Duration::days(30));
            let span = ((now - from).num_seconds() / 60).max(1);
            let mut chart = request.clone();
            chart.from = Some(from);
            chart.query.pipe = Some(tandem_query::Pipe::Timechart {
                span_seconds: span,
                by: None,
            });
            events.search(&chart).ok()
        } else {
            None
        };
        Ok::<_, tandem_store::StoreError>((result, histogram))
    })
    .await;
    match outcome {
        Ok(Ok((SearchResult::Events(page), histogram))) => {
            let dir = state.identity.snapshot();
            let rows: Vec<_> = page
                .events
                .iter()
                .map(|e| {
                    let time = crate::clock::stamp(e.time, &v.zone.for_event(&dir, e));
                    event_row(&dir, e, time)
                })
                .collect();
            let histogram = histogram.and_then(|h| histogram_bars(h, &v.zone.plain()));
            render(
                "search.html",
                context! {
                    total => page.total, events => Serde(rows), histogram => histogram.map(Serde),
                    ..base
                },
            )
        }
        Ok(Ok((SearchResult::Aggregation(agg), _))) => {
            let rows: Vec<(Vec<String>, u64)> = agg
                .rows
                .iter()
                .map(|(k, n)| {
                    (
                        k.iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                            .collect(),
                        *n,
                    )
                })
                .collect();
            render(
                "search.html",
                context! { total => agg.total, aggregation => context! { by => agg.by, rows => rows }, ..base },
            )
        }
        Ok(Err(e)) => render("search.html", context! { error => e.to_string(), ..base }),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// One event as a row of the results.
#[derive(Serialize)]
struct EventRow {
    /// [`crate::clock::stamp`]'s object, written by the `when` filter.
    time: crate::clock::Stamp,
    class: &'static str,
    activity: &'static str,
    outcome: &'static str,
    who: String,
    #[serde(rename = "where")]
    place: String,
    message: String,
    /// The event as stored, without its raw line (shown on its own).
    json: String,
    raw: Option<String>,
}

fn event_row(dir: &Directory, e: &Event, time: crate::clock::Stamp) -> EventRow {
    let mut shown = e.clone();
    let raw = shown.raw.take();
    EventRow {
        time,
        class: e.class.name(),
        activity: e.activity.name(),
        outcome: e.outcome.name(),
        who: event_who(dir, e),
        place: event_where(e),
        message: if e.message.is_empty() {
            format!("{} {}", e.class, e.activity)
        } else {
            e.message.clone()
        },
        json: serde_json::to_string_pretty(&shown).unwrap_or_default(),
        raw,
    }
}

/// The histogram over the search window, drawn as SVG bars.
#[derive(Serialize)]
struct Histogram {
    width: f64,
    bars: Vec<Bar>,
    caption: String,
}

/// One interval's bar, its geometry already formatted for the SVG.
#[derive(Serialize)]
struct Bar {
    x: String,
    y: String,
    w: String,
    h: String,
    /// The interval's local start.
    label: String,
    count: u64,
}

/// The search page's histogram: bars with their local start time on hover, and a caption
/// naming the window in the reader's zone. The intervals are the store's (a sixtieth of the
/// window, counted from the epoch), so only their labels are local.
fn histogram_bars(result: SearchResult, tz: &jiff::tz::TimeZone) -> Option<Histogram> {
    let SearchResult::Aggregation(agg) = result else {
        return None;
    };
    let buckets = agg.buckets?;
    if buckets.is_empty() {
        return None;
    }
    let counts: Vec<u64> = buckets
        .iter()
        .map(|b| b.counts.iter().map(|c| c.1).sum())
        .collect();
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let width = 600.0;
    let w = width / counts.len() as f64;
    let bars = buckets
        .iter()
        .zip(&counts)
        .map(|(b, &n)| {
            let h = (n as f64 / max as f64) * 76.0;
            let at = buckets.iter().position(|x| x.start == b.start).unwrap_or(0);
            Bar {
                x: format!("{:.2}", w * at as f64),
                y: format!("{:.2}", 80.0 - h),
                w: format!("{:.2}", (w - 0.5).max(0.5)),
                h: format!("{h:.2}"),
                label: crate::clock::local(b.start, tz, "%Y-%m-%d %H:%M %Z"),
                count: n,
            }
        })
        .collect();
    let caption = format!(
        "{} to {} ({}), busiest interval {} events",
        crate::clock::local(buckets[0].start, tz, "%Y-%m-%d %H:%M %Z"),
        crate::clock::local(buckets[buckets.len() - 1].start, tz, "%Y-%m-%d %H:%M %Z"),
        crate::clock::zone_label(tz),
        max
    );
    Some(Histogram {
        width,
        bars,
        caption,
    })
}

/// `GET /static/search.js`: field and value suggestions for the search box.
pub async fn search_script() -> Response {
    script(include_str!("../../static/search.js"))
}

/// A field the search box suggests, with what it holds.
#[derive(Serialize)]
struct SearchField {
    name: &'static str,
    about: &'static str,
}

/// The fields the search box suggests, and the same as JSON for the script (with `<`
/// escaped, so the text cannot close the `<script>` element it sits in).
fn search_fields() -> (Vec<SearchField>, String) {
    let listed = tandem_store::SEARCH_FIELDS
        .iter()
        .map(|&(name, about)| SearchField { name, about })
        .collect();
    let json: Vec<serde_json::Value> = tandem_store::SEARCH_FIELDS
        .iter()
        .map(|(name, about)| serde_json::json!({ "name": name, "about": about }))
        .collect();
    let json = serde_json::Value::from(json)
        .to_string()
        .replace('<', "\\u003c");
    (listed, json)
}

#[derive(Deserialize)]
pub struct ValuesParams {
    field: String,
    #[serde(default)]
    prefix: String,
}

/// `GET /api/v1/search/values?field=door&prefix=ser`: the commonest values of a field in the
/// last 24 hours that start with `prefix`, for the search box's suggestions.
pub async fn search_values(
    State(state): State<AppState>,
    Query(params): Query<ValuesParams>,
) -> Result<Response, ApiError> {
    let plain = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
    };
    if params.field.is_empty() || params.field.len() > 64 || !plain(&params.field) {
        return Err(ApiError::bad_request(
            "`field` is a field name such as `door`",
        ));
    }
    let prefix = if plain(&params.prefix) && params.prefix.len() <= 64 {
        params.prefix.clone()
    } else {
        String::new()
    };
    let q = format!("{f}:{prefix}* | count by {f}", f = params.field);
    let mut request = crate::api::search_request(&crate::api::SearchParams {
        q,
        from: Some("now-24h".into()),
        to: None,
        limit: Some(10),
        offset: None,
    })?;
    request.limit = 10;
    let result = state.run_search(None, request).await?;
    let values: Vec<serde_json::Value> = match result {
        SearchResult::Aggregation(agg) => agg
            .rows
            .into_iter()
            .filter_map(|(k, n)| {
                let v = k.into_iter().next()?;
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                (!text.is_empty() && v != serde_json::Value::Null)
                    .then(|| serde_json::json!({ "value": text, "count": n }))
            })
            .take(10)
            .collect(),
        SearchResult::Events(_) => Vec::new(),
    };
    Ok(axum::Json(serde_json::json!({ "field": params.field, "values": values })).into_response())
}
