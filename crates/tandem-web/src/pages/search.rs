//! The search page: the query box with its suggestions, the histogram over the window, the
//! matching events (or the aggregation's table) with their pivots, and the field statistics
//! of the result.
//!
//! Every value a row shows carries "filter for" and "filter out" links, and a person's, a
//! door's and a host's "show surrounding events" (the same value either side of the event);
//! a `count by` row links to its events. They are plain links built by [`crate::pivot`], so
//! they work without script.

use crate::api::{SearchParams, search_request};
use crate::pivot::{Pivot, Range};
use crate::view::{Visitor, event_where, event_who, render, script};
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tandem_identity::Directory;
use tandem_model::{Class, Event};
use tandem_store::SearchResult;

#[derive(Deserialize)]
pub struct ConsoleSearch {
    #[serde(default)]
    q: String,
    #[serde(default)]
    range: String,
    /// An explicit window (RFC 3339, a date or `now-1h`), as "show surrounding events"
    /// links give; it takes the place of `range`.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

const RANGES: &[(&str, &str)] = &[
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("all", "All time"),
];

/// Rows the page shows.
const SHOWN: usize = 100;
/// The newest matching events the field statistics count: a bounded sample, so the panel
/// costs one page of reading however large the result.
const STATS_SAMPLE: usize = 500;
/// Fields and values per field the statistics list.
const STATS_FIELDS: usize = 24;
const STATS_VALUES: usize = 5;
/// Vendor fields (`attrs`) an expanded row lists, and how long a value may be to be listed.
const MAX_ATTRS: usize = 12;
const MAX_ATTR_VALUE: usize = 200;

pub async fn search_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(form): Query<ConsoleSearch>,
) -> Response {
    // A window given with `from`/`to` holds until the visitor picks a range from the menu
    // (the form sends the window back in hidden fields along with the menu's choice).
    let window = (!form.from.trim().is_empty() || !form.to.trim().is_empty())
        && (form.range.is_empty() || form.range == "custom");
    let range = if window {
        "custom".to_owned()
    } else if RANGES.iter().any(|r| r.0 == form.range) {
        form.range.clone()
    } else {
        "24h".into()
    };
    let (from, to) = if window {
        (
            Some(form.from.trim().to_owned()).filter(|s| !s.is_empty()),
            Some(form.to.trim().to_owned()).filter(|s| !s.is_empty()),
        )
    } else {
        ((range != "all").then(|| format!("now-{range}")), None)
    };
    let params = SearchParams {
        q: form.q.clone(),
        from,
        to,
        limit: Some(STATS_SAMPLE),
        offset: None,
    };
    let (fields, fields_json) = search_fields();
    let mut ranges = RANGES.to_vec();
    if window {
        ranges.push(("custom", "The chosen window"));
    }
    let base = context! {
        q => form.q, range => range.clone(), ranges => ranges,
        from => form.from.trim(), to => form.to.trim(),
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
    let (req_from, req_to) = (request.from, request.to);
    let outcome = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let result = events.search(&request)?;
        // The histogram reuses the filter with a timechart sized to the window.
        let histogram = if matches!(result, SearchResult::Events(_)) {
            let end = request.to.unwrap_or_else(Utc::now);
            let from = request.from.unwrap_or_else(|| end - Duration::days(30));
            let span = ((end - from).num_seconds() / 60).max(1);
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
    // Pivots keep the window the results came from.
    let pivot_range = match (window, req_from, req_to) {
        (true, Some(from), to) => Range::Window {
            from,
            to: to.unwrap_or_else(Utc::now),
        },
        _ => Range::Named(if window { "all" } else { &range }),
    };
    match outcome {
        Ok(Ok((SearchResult::Events(page), histogram))) => {
            let dir = state.identity.snapshot();
            let q = &params.q;
            let sample: Vec<Vec<FieldValue>> =
                page.events.iter().map(|e| fields_of(&dir, e)).collect();
            let stats = field_stats(q, pivot_range, &sample);
            let rows: Vec<_> = page
                .events
                .iter()
                .zip(sample)
                .take(SHOWN)
                .map(|(e, fields)| {
                    let time = crate::clock::stamp(e.time, &v.zone.for_event(&dir, e));
                    event_row(&dir, e, time, q, pivot_range, fields)
                })
                .collect();
            let histogram = histogram.and_then(|h| histogram_bars(h, &v.zone.plain()));
            render(
                "search.html",
                context! {
                    total => page.total, events => Serde(rows), histogram => histogram.map(Serde),
                    stats => Serde(stats), sampled => page.events.len(),
                    ..base
                },
            )
        }
        Ok(Ok((SearchResult::Aggregation(agg), _))) => {
            let dir = state.identity.snapshot();
            let rows: Vec<CountRow> = agg
                .rows
                .iter()
                .map(|(k, n)| {
                    let keys: Vec<Option<String>> = k
                        .iter()
                        .map(|v| match v {
                            serde_json::Value::Null => None,
                            serde_json::Value::String(s) => Some(s.clone()),
                            other => Some(other.to_string()),
                        })
                        .collect();
                    CountRow {
                        values: agg
                            .by
                            .iter()
                            .zip(&keys)
                            .map(|(f, v)| {
                                v.as_deref()
                                    .map_or_else(String::new, |v| name_of(&dir, f, v))
                            })
                            .collect(),
                        count: *n,
                        href: crate::pivot::drill(&params.q, &agg.by, &keys)
                            .map(|q| crate::pivot::search_href(&q, pivot_range)),
                    }
                })
                .collect();
            render(
                "search.html",
                context! { total => agg.total, aggregation => context! { by => agg.by, rows => Serde(rows) }, ..base },
            )
        }
        Ok(Err(e)) => render("search.html", context! { error => e.to_string(), ..base }),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A `count by` row: its values as read (names for places and people), its count, and a
/// link to its events.
#[derive(Serialize)]
struct CountRow {
    values: Vec<String>,
    count: u64,
    href: Option<String>,
}

/// A value as a reader knows it: a place's or a person's name for their id, else itself.
fn name_of(dir: &Directory, field: &str, value: &str) -> String {
    match field.to_ascii_lowercase().as_str() {
        "person" | "actor.person.id" => dir
            .person(value)
            .map_or_else(|| value.to_owned(), |p| p.name.clone()),
        "site" | "place.site" | "building" | "place.building" | "zone" | "place.zone" | "door"
        | "place.door" | "place.floor" | "place.camera" | "place.reader" => dir
            .find_place(value)
            .map_or_else(|| value.to_owned(), |p| p.name.clone()),
        _ => value.to_owned(),
    }
}

/// One value of an event a row shows and the statistics count: the search field, the value
/// searched for, the label shown, and whether "show surrounding events" is offered for it.
struct FieldValue {
    field: String,
    value: String,
    label: String,
    around: bool,
}

/// The values of an event that can be pivoted on, in the order a reader looks for them:
/// what happened, who, where, on which computer, and the vendor's own fields.
fn fields_of(dir: &Directory, e: &Event) -> Vec<FieldValue> {
    let mut out = Vec::new();
    let mut push = |field: &str, value: Option<&str>, label: Option<String>, around: bool| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push(FieldValue {
                field: field.to_owned(),
                value: v.to_owned(),
                label: label.unwrap_or_else(|| v.to_owned()),
                around,
            });
        }
    };
    push("class", Some(e.class.name()), None, false);
    push("activity", Some(e.activity.name()), None, false);
    push("outcome", Some(e.outcome.name()), None, false);
    push("severity", Some(e.severity.name()), None, false);
    push("source", Some(&e.source.name), None, false);
    if let Some(p) = &e.actor.person {
        let name = dir
            .person(&p.id)
            .map(|known| known.name.clone())
            .or_else(|| p.name.clone());
        push("person", Some(&p.id), name, true);
    }
    push("user", e.actor.user.as_deref(), None, false);
    push("actor.badge", e.actor.badge.as_deref(), None, false);
    push("actor.email", e.actor.email.as_deref(), None, false);
    if let Some(p) = &e.place {
        let named = |v: &Option<String>| {
            v.as_deref().map(|v| {
                dir.find_place(v)
                    .map_or_else(|| v.to_owned(), |p| p.name.clone())
            })
        };
        push("site", p.site.as_deref(), named(&p.site), false);
        push("building", p.building.as_deref(), named(&p.building), false);
        push("zone", p.zone.as_deref(), named(&p.zone), false);
        push("door", p.door.as_deref(), named(&p.door), true);
        push("place.camera", p.camera.as_deref(), named(&p.camera), false);
    }
    if let Some(d) = &e.device {
        push("host", d.hostname.as_deref(), None, true);
    }
    let ip =
        |p: &Option<tandem_model::Endpoint>| p.as_ref().and_then(|s| s.ip).map(|ip| ip.to_string());
    push("src.ip", ip(&e.src).as_deref(), None, false);
    push("dst.ip", ip(&e.dst).as_deref(), None, false);
    if e.class == Class::DetectionFinding
        && let Some(f) = e.attrs.get("finding")
    {
        let title = f
            .get("rule_title")
            .and_then(|t| t.as_str())
            .map(str::to_owned);
        push(
            "finding.rule_id",
            f.get("rule_id").and_then(|t| t.as_str()),
            title,
            false,
        );
    }
    // The vendor's own fields, flattened (`attrs.winlog.event_id`), bounded.
    let mut leaves = Vec::new();
    for (k, val) in &e.attrs {
        if k != "finding" {
            flatten(&format!("attrs.{k}"), val, 0, &mut leaves);
        }
    }
    for (field, value) in leaves.into_iter().take(MAX_ATTRS) {
        push(&field, Some(&value), None, false);
    }
    out
}

/// The scalar leaves of a vendor field, each under a path a search can name; values too long
/// to be worth filtering on, and keys no query could write, are left out.
fn flatten(path: &str, v: &serde_json::Value, depth: usize, out: &mut Vec<(String, String)>) {
    if out.len() > MAX_ATTRS || depth > 4 {
        return;
    }
    let writable = path
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if !writable {
        return;
    }
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                flatten(&format!("{path}.{k}"), child, depth + 1, out);
            }
        }
        serde_json::Value::String(s) if s.chars().count() <= MAX_ATTR_VALUE => {
            out.push((path.to_owned(), s.clone()));
        }
        serde_json::Value::Number(n) => out.push((path.to_owned(), n.to_string())),
        serde_json::Value::Bool(b) => out.push((path.to_owned(), b.to_string())),
        _ => {}
    }
}

/// One event as a row of the results.
#[derive(Serialize)]
struct EventRow {
    /// The event's page.
    href: String,
    /// [`crate::clock::stamp`]'s object, written by the `when` filter.
    time: crate::clock::Stamp,
    class: &'static str,
    activity: &'static str,
    outcome: &'static str,
    /// Who it is about, with its pivots when it is a person or an account.
    who: String,
    who_pivot: Option<Pivot>,
    /// Where: a place by name, else the host or address.
    #[serde(rename = "where")]
    place: String,
    where_pivot: Option<Pivot>,
    message: String,
    /// Every value that can be pivoted on, for the expanded row.
    fields: Vec<Pivot>,
    /// The event as stored, without its raw line (shown on its own).
    json: String,
    raw: Option<String>,
}

fn event_row(
    dir: &Directory,
    e: &Event,
    time: crate::clock::Stamp,
    q: &str,
    range: Range<'_>,
    fields: Vec<FieldValue>,
) -> EventRow {
    let mut shown = e.clone();
    let raw = shown.raw.take();
    let pivots: Vec<Pivot> = fields
        .iter()
        .map(|f| {
            let p = Pivot::new(q, range, &f.field, Some(&f.value), f.label.clone());
            if f.around {
                p.around(&f.value, e.time)
            } else {
                p
            }
        })
        .collect();
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| pivots.iter().find(|p| p.field == *n))
            .cloned()
    };
    let who = event_who(dir, e);
    let who_pivot = (!who.is_empty())
        .then(|| find(&["person", "user"]))
        .flatten();
    let place = event_where(dir, e);
    let where_pivot = (!place.is_empty())
        .then(|| {
            find(&[
                "door",
                "place.camera",
                "zone",
                "building",
                "site",
                "host",
                "src.ip",
            ])
        })
        .flatten();
    EventRow {
        href: format!("/events/{}", e.id),
        time,
        class: e.class.name(),
        activity: e.activity.name(),
        outcome: e.outcome.name(),
        who,
        who_pivot,
        place,
        where_pivot,
        message: if e.message.is_empty() {
            format!("{} {}", e.class, e.activity)
        } else {
            e.message.clone()
        },
        fields: pivots,
        json: serde_json::to_string_pretty(&shown).unwrap_or_default(),
        raw,
    }
}

/// A field of the statistics panel: in how many sampled events it appears, and its commonest
/// values.
#[derive(Serialize)]
struct FieldStat {
    field: String,
    present: usize,
    values: Vec<StatValue>,
}

/// One of a field's commonest values, with how many sampled events hold it.
#[derive(Serialize)]
struct StatValue {
    #[serde(flatten)]
    pivot: Pivot,
    count: usize,
    /// Of the sampled events, in whole percent.
    percent: usize,
}

/// A field's tally: the sampled events that have it, and per value its count and label.
type Tally<'a> = (usize, HashMap<&'a str, (usize, &'a str)>);

/// The field statistics of the sampled events: per field, the share of events that have it
/// and its top values, each with "filter for" and "filter out". Fields the most events have
/// come first.
fn field_stats(q: &str, range: Range<'_>, sample: &[Vec<FieldValue>]) -> Vec<FieldStat> {
    let n = sample.len().max(1);
    // field → (events that have it, value → (count, label)); fields in first-seen order.
    let mut order: Vec<&str> = Vec::new();
    let mut by_field: HashMap<&str, Tally<'_>> = HashMap::new();
    for fields in sample {
        for f in fields {
            let entry = by_field.entry(f.field.as_str()).or_insert_with(|| {
                order.push(f.field.as_str());
                (0, HashMap::new())
            });
            entry.0 += 1;
            entry
                .1
                .entry(f.value.as_str())
                .or_insert((0, f.label.as_str()))
                .0 += 1;
        }
    }
    let mut stats: Vec<FieldStat> = order
        .iter()
        .filter_map(|field| {
            let (present, values) = by_field.remove(field)?;
            let mut values: Vec<(&str, (usize, &str))> = values.into_iter().collect();
            values.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
            Some(FieldStat {
                field: (*field).to_owned(),
                present,
                values: values
                    .into_iter()
                    .take(STATS_VALUES)
                    .map(|(value, (count, label))| StatValue {
                        pivot: Pivot::new(q, range, field, Some(value), label.to_owned()),
                        count,
                        percent: count * 100 / n,
                    })
                    .collect(),
            })
        })
        .collect();
    stats.sort_by_key(|s| std::cmp::Reverse(s.present));
    stats.truncate(STATS_FIELDS);
    stats
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValuesParams {
    field: String,
    #[serde(default)]
    prefix: String,
}

/// `GET /api/v1/search/values?field=door&prefix=ser`: the commonest values of a field in the
/// last 24 hours that start with `prefix`, for the search box's suggestions.
#[utoipa::path(
    get,
    path = "/api/v1/search/values",
    tag = "Events",
    params(ValuesParams),
    responses((status = 200, description = "The commonest values: `{\"field\", \"values\": [{\"value\", \"count\"}]}`.", body = Object), (status = 400, description = "`field` is not a field name.", body = crate::openapi::ErrorBody)),
)]
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
