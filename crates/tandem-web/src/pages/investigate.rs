//! The console pages people investigate with: findings as they fire, one finding with its
//! evidence, one event in plain words, people (the Person 360 view) and places (the site tree
//! and the state of each door).
//!
//! Each page shows the data the JSON API serves (the same searches and directory lookups,
//! shared with `detect.rs` and `directory.rs`) shaped for reading by someone who is not an
//! analyst: names instead of ids, words instead of vocabulary codes, severity as a labelled
//! badge, and links between findings, people, places and events. Links to pages a visitor's
//! role cannot open are left out rather than leading to a refusal.

use crate::access::Permission;
use crate::api::{SearchParams, search_request};
use crate::clock::{Stamp, stamp};
use crate::detect::{findings_query, load_finding};
use crate::directory::{matching_people, place_query, quoted, recent_events, recent_events_in};
use crate::view::{Visitor, event_who, refusal_page, render};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Duration, DurationRound, Utc};
use jiff::tz::TimeZone;
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use tandem_identity::{Directory, PlaceKind, PlaceRecord};
use tandem_model::{Activity, Class, Event, Finding, Severity};
use tandem_store::SearchResult;

/// Findings per page of the findings list.
const PAGE: usize = 50;
/// Events on a person's timeline and a place's activity list.
const TIMELINE: usize = 200;
/// Doors whose state a building or zone page shows.
const MAX_DOORS: usize = 40;

/// Severities a filter offers, most urgent first.
const SEVERITIES: [Severity; 6] = [
    Severity::Fatal,
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Informational,
];

fn fail(e: ApiError) -> Response {
    refusal_page(e.status, &e.message)
}

/// "3 min ago": how people say when a door was last used.
fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now - t;
    if d < Duration::zero() {
        return "in the future (clock skew?)".into();
    }
    match d.num_seconds() {
        0..60 => "just now".into(),
        s @ 60..3600 => format!("{} min ago", s / 60),
        s @ 3600..86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// `held_open` → "Held open".
fn words(code: &str) -> String {
    let mut s = code.replace('_', " ");
    if let Some(first) = s.get(0..1) {
        let upper = first.to_uppercase();
        s.replace_range(0..1, &upper);
    }
    s
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Unknown => "Unknown",
        Severity::Informational => "Info",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
        Severity::Fatal => "Fatal",
    }
}

/// A severity as a badge: its code (the colour's class) and its word.
#[derive(Serialize)]
struct SeverityView {
    code: &'static str,
    label: &'static str,
}

fn severity(s: Severity) -> SeverityView {
    SeverityView {
        code: s.name(),
        label: severity_label(s),
    }
}

/// What a class of event is, in the words of the people reading it.
fn class_label(c: Class) -> &'static str {
    match c {
        Class::PhysicalAccess => "Door / badge",
        Class::VideoDetection => "Camera",
        Class::DeviceTelemetry => "Sensor reading",
        Class::DeviceStatus => "Device status",
        Class::Authentication => "Sign-in",
        Class::AuthorizeSession => "Privileges",
        Class::AccountChange => "Account change",
        Class::NetworkActivity => "Network",
        Class::TunnelActivity => "VPN",
        Class::ProcessActivity => "Program / command",
        Class::DetectionFinding => "Finding",
        Class::IncidentFinding => "Alert / incident",
        Class::Other => "Other",
    }
}

/// Whether an event happened in the building (badge, door, camera, sensor) or on a computer,
/// and a short label with an icon for the timeline.
fn kind_of(e: &Event) -> (&'static str, &'static str, &'static str) {
    let physical = "physical";
    let digital = "digital";
    match e.class {
        Class::PhysicalAccess => match e.activity {
            Activity::Forced | Activity::HeldOpen | Activity::Tamper => (physical, "🚪", "Door"),
            Activity::Tailgate => (physical, "🚪", "Tailgate"),
            _ => (physical, "🪪", "Badge"),
        },
        Class::VideoDetection => (physical, "📷", "Camera"),
        Class::DeviceStatus | Class::DeviceTelemetry => (physical, "📟", "Device"),
        Class::Authentication => (digital, "🔑", "Logon"),
        Class::AuthorizeSession => (digital, "🛡", "Privileges"),
        Class::TunnelActivity => (digital, "🌐", "VPN"),
        Class::ProcessActivity => {
            let sudo = e.message.to_lowercase().contains("sudo")
                || e.raw.as_deref().is_some_and(|r| r.contains("sudo"));
            (digital, "⌨", if sudo { "Sudo" } else { "Command" })
        }
        Class::NetworkActivity => (digital, "🖧", "Network"),
        Class::AccountChange => (digital, "👤", "Account"),
        Class::DetectionFinding => (digital, "⚑", "Finding"),
        Class::IncidentFinding => (digital, "🗂", "Incident"),
        Class::Other => (digital, "•", "Other"),
    }
}

/// A person by name, linked to their page when the directory knows them.
#[derive(Serialize)]
struct PersonLink {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    href: Option<String>,
}

/// A person id as a name with its link target (when the directory knows them).
fn person_link(dir: &Directory, id: &str) -> PersonLink {
    match dir.person(id) {
        Some(p) => PersonLink {
            id: id.to_owned(),
            name: p.name.clone(),
            href: Some(format!("/people/{id}")),
        },
        None => PersonLink {
            id: id.to_owned(),
            name: id.to_owned(),
            href: None,
        },
    }
}

/// A place by name; its kind when the directory knows it, and a link when the visitor may
/// open places.
#[derive(Serialize)]
struct PlaceLink {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    href: Option<String>,
    /// Which of the event's place fields named it (`Site`, `Door`…), on the event page.
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'static str>,
}

/// A place id or name as its name, with a link when the visitor may open places.
fn place_link(dir: &Directory, id_or_name: &str, can_places: bool) -> PlaceLink {
    match dir.find_place(id_or_name) {
        Some(p) => PlaceLink {
            id: p.id.clone(),
            name: p.name.clone(),
            kind: Some(p.kind.name()),
            href: can_places.then(|| format!("/places/{}", p.id)),
            level: None,
        },
        None => PlaceLink {
            id: id_or_name.to_owned(),
            name: id_or_name.to_owned(),
            kind: None,
            href: None,
            level: None,
        },
    }
}

fn hours(p: &PlaceRecord) -> Option<String> {
    p.allowed_hours.as_ref().map(|h| {
        let mut s = h.to_string();
        if !p.holidays.is_empty() {
            s.push_str(&format!(" (closed on {} holidays)", p.holidays.len()));
        }
        s
    })
}

/// The most specific place an event names, for tables.
fn event_place(dir: &Directory, e: &Event, can_places: bool) -> Option<PlaceLink> {
    let name = e.place.as_ref()?.most_specific().next()?;
    Some(place_link(dir, name, can_places))
}

/// Who an event is about, by name, linked when the directory knows them.
#[derive(Serialize)]
struct WhoLink {
    name: String,
    href: Option<String>,
}

/// Who an event is about ([`event_who`]), linked to their person page when the directory
/// knows them.
fn who_link(dir: &Directory, e: &Event) -> Option<WhoLink> {
    let name = event_who(dir, e);
    if name.is_empty() {
        return None;
    }
    let href = e
        .actor
        .person
        .as_ref()
        .filter(|p| dir.person(&p.id).is_some())
        .map(|p| format!("/people/{}", p.id));
    Some(WhoLink { name, href })
}

/// A sentence for an event that came without a message: "Badge 10077 granted at Server room
/// door".
fn describe(dir: &Directory, e: &Event) -> String {
    let a = &e.actor;
    let who = a
        .badge
        .as_ref()
        .map(|b| format!("Badge {b}"))
        .or_else(|| a.user.clone())
        .or_else(|| a.face.as_ref().map(|f| format!("Face “{f}”")))
        .unwrap_or_else(|| class_label(e.class).to_owned());
    let at = event_place(dir, e, false)
        .map(|p| format!(" at {}", p.name))
        .or_else(|| {
            e.device
                .as_ref()
                .and_then(|d| d.hostname.as_ref())
                .map(|h| format!(" on {h}"))
        })
        .unwrap_or_default();
    format!("{who} {}{at}", words(e.activity.name()).to_lowercase())
}

/// A finding's places, each once, most specific first.
fn finding_places(dir: &Directory, f: &Finding, can_places: bool) -> Vec<PlaceLink> {
    let mut seen = std::collections::HashSet::new();
    f.entities
        .places
        .iter()
        .map(|p| place_link(dir, p, can_places))
        .filter(|p| seen.insert(p.id.clone()))
        .collect()
}

/// One event as a table row: enough to recognise it, linked to its own page.
#[derive(Serialize)]
struct EventRow {
    id: String,
    /// The event's page, when the visitor may search events.
    href: Option<String>,
    /// The finding's page, when the event is a finding.
    finding_href: Option<String>,
    time: Stamp,
    /// The class in words ("Door / badge").
    class: &'static str,
    class_code: &'static str,
    activity: String,
    outcome: &'static str,
    /// `physical` or `digital`, with an icon and a short label ([`kind_of`]).
    kind: &'static str,
    icon: &'static str,
    label: &'static str,
    who: Option<WhoLink>,
    #[serde(rename = "where")]
    place: Option<PlaceLink>,
    host: Option<String>,
    /// The host's events in the hour either side, when the visitor may search.
    host_href: Option<String>,
    /// The event's message, or a sentence made from its facts ([`describe`]).
    message: String,
}

fn event_row(dir: &Directory, e: &Event, v: &Visitor) -> EventRow {
    let (kind, icon, label) = kind_of(e);
    let message = if e.message.is_empty() {
        describe(dir, e)
    } else {
        e.message.clone()
    };
    EventRow {
        id: e.id.to_string(),
        href: v
            .can(Permission::SearchEvents)
            .then(|| format!("/events/{}", e.id)),
        finding_href: (e.class == Class::DetectionFinding).then(|| format!("/findings/{}", e.id)),
        time: stamp(e.time, &v.zone.for_event(dir, e)),
        class: class_label(e.class),
        class_code: e.class.name(),
        activity: words(e.activity.name()),
        outcome: e.outcome.name(),
        kind,
        icon,
        label,
        who: who_link(dir, e),
        place: event_place(dir, e, v.can(Permission::ViewPlaces)),
        host: e.device.as_ref().and_then(|d| d.hostname.clone()),
        host_href: e
            .device
            .as_ref()
            .and_then(|d| d.hostname.as_deref())
            .filter(|_| v.can(Permission::SearchEvents))
            .and_then(|h| search_around("host", h, e.time, Duration::hours(1))),
        message,
    }
}

/// The search for `field:value` from `span` before `at` to `span` after: what else a host,
/// an address or an account did around then.
fn search_around(field: &str, value: &str, at: DateTime<Utc>, span: Duration) -> Option<String> {
    let q = crate::pivot::filter("", field, Some(value), false)?;
    Some(crate::pivot::search_href(
        &q,
        crate::pivot::Range::Window {
            from: at - span,
            to: at + span,
        },
    ))
}

/// A device, address or account a finding names, linked to its events around the finding
/// (and a device to its owner's page) when the visitor may search.
#[derive(Serialize)]
struct EntityLink {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<PersonLink>,
}

/// How far either side of a finding its entities' links search.
fn entity_span() -> Duration {
    Duration::days(1)
}

fn device_links(dir: &Directory, f: &Finding, can_search: bool) -> Vec<EntityLink> {
    f.entities
        .devices
        .iter()
        .map(|d| {
            let known = dir.device(d);
            let host = known
                .and_then(|r| r.hostname.clone())
                .unwrap_or_else(|| d.clone());
            EntityLink {
                href: can_search
                    .then(|| search_around("host", &host, f.time, entity_span()))
                    .flatten(),
                owner: known
                    .and_then(|r| r.owner.as_deref())
                    .map(|o| person_link(dir, o)),
                name: host,
            }
        })
        .collect()
}

fn plain_links(values: &[String], field: &str, f: &Finding, can_search: bool) -> Vec<EntityLink> {
    values
        .iter()
        .map(|val| EntityLink {
            name: val.clone(),
            href: can_search
                .then(|| search_around(field, val, f.time, entity_span()))
                .flatten(),
            owner: None,
        })
        .collect()
}

/// A finding's detail values in words: objects as "field is value and …", lists joined,
/// place ids as their names; never raw JSON.
fn value_words(dir: &Directory, v: &Value) -> String {
    match v {
        Value::String(s) => dir
            .find_place(s)
            .map_or_else(|| s.clone(), |p| p.name.clone()),
        Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or_default()),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::Null => "—".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|i| value_words(dir, i))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => map
            .iter()
            .map(|(k, val)| format!("{k} is {}", value_words(dir, val)))
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

/// Seconds as people say them: "10 min", "2 h", "45 s".
fn duration_words(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 && s > 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 && s > 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 && s > 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// A finding's details as rows of words. The rule's description is shown with the rule, and
/// a Sigma rule's selection names (its author's labels for parts of the condition) not at all.
fn detail_rows(dir: &Directory, f: &Finding) -> Vec<DetailRow> {
    let has_conditions = f.detail.contains_key("conditions");
    f.detail
        .iter()
        .filter_map(|(k, val)| {
            let key = match k.as_str() {
                "description" | "selections" => return None,
                "matched" if has_conditions => return None,
                "conditions" | "matched" => "Matched".to_owned(),
                "correlation_type" => "What was counted".to_owned(),
                "aggregated_value" => "Count".to_owned(),
                "timespan_secs" => "Within".to_owned(),
                "group" => "For".to_owned(),
                other => words(other),
            };
            let value = match (k.as_str(), val) {
                ("correlation_type", Value::String(t)) => match t.as_str() {
                    "event_count" => "Matching events".to_owned(),
                    "value_count" => "Distinct values".to_owned(),
                    "temporal" | "temporal_ordered" => "Its rules firing together".to_owned(),
                    other => words(other),
                },
                ("timespan_secs", Value::Number(n)) => {
                    n.as_u64().map_or_else(|| n.to_string(), duration_words)
                }
                _ => value_words(dir, val),
            };
            Some(DetailRow { key, value })
        })
        .collect()
}

/// A finding as a list row.
#[derive(Serialize)]
struct FindingRow {
    id: String,
    time: Stamp,
    severity: SeverityView,
    rule_id: String,
    rule_title: String,
    summary: String,
    persons: Vec<PersonLink>,
    /// The most specific place, if any.
    places: Vec<PlaceLink>,
    /// Every site of the evidence: a journey from Oslo to London lists both.
    sites: Vec<PlaceLink>,
}

fn finding_row(dir: &Directory, e: &Event, f: &Finding, v: &Visitor) -> FindingRow {
    let can_places = v.can(Permission::ViewPlaces);
    FindingRow {
        id: e.id.to_string(),
        time: stamp(f.time, &v.zone.for_event(dir, e)),
        severity: severity(f.severity),
        rule_id: f.rule_id.clone(),
        rule_title: f.rule_title.clone(),
        summary: f.summary.clone(),
        persons: f
            .entities
            .persons
            .iter()
            .map(|p| person_link(dir, p))
            .collect(),
        places: finding_places(dir, f, can_places)
            .into_iter()
            .take(1)
            .collect(),
        sites: f
            .entities
            .sites
            .iter()
            .map(|s| place_link(dir, s, can_places))
            .collect(),
    }
}

async fn search(
    state: &AppState,
    who: Option<&str>,
    params: SearchParams,
) -> Result<SearchResult, ApiError> {
    let request = search_request(&params)?;
    state.run_search(who, request).await
}

#[derive(Deserialize)]
pub struct FindingsForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    rule: String,
    /// A site's id: findings whose evidence happened there.
    #[serde(default)]
    site: String,
    #[serde(default)]
    page: String,
}

/// `GET /findings`: detections as they fire, newest first, with filters and a chart of the
/// last 24 hours by severity.
pub async fn findings(
    v: Visitor,
    State(state): State<AppState>,
    Query(form): Query<FindingsForm>,
) -> Response {
    let page: usize = form.page.trim().parse().unwrap_or(0);
    let chosen: Option<Severity> = form.severity.parse().ok();
    let mut filter = Vec::new();
    if let Some(s) = chosen {
        filter.push(format!("severity:{}", s.name()));
    }
    if !form.rule.trim().is_empty() {
        filter.push(format!("finding.rule_id:{}", quoted(form.rule.trim())));
    }
    let site = form.site.trim();
    if !site.is_empty() {
        filter.push(format!("site:{}", quoted(site)));
    }
    if !form.q.trim().is_empty() {
        filter.push(format!("({})", form.q));
    }
    let query = findings_query(&filter.join(" AND "));
    let rules = rule_choices(&state).await;
    let severities: Vec<SeverityView> = SEVERITIES.iter().map(|s| severity(*s)).collect();
    let dir = state.identity.snapshot();
    let mut sites: Vec<(String, String)> = dir
        .places()
        .into_iter()
        .filter(|p| p.kind == PlaceKind::Site)
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    sites.sort_by(|a, b| a.1.cmp(&b.1));
    if !site.is_empty() && !sites.iter().any(|s| s.0 == site) {
        sites.push((site.to_owned(), site.to_owned()));
    }
    let base = context! {
        q => form.q.clone(), severity => chosen.map(|s| s.name()), rule => form.rule.trim(),
        site => site, sites => sites,
        severities => Serde(severities), rules => Serde(rules),
        ..v.base("findings")
    };
    let list = search(
        &state,
        Some(&v.who.name),
        SearchParams {
            q: query.clone(),
            from: None,
            to: None,
            limit: Some(PAGE),
            offset: Some(page.saturating_mul(PAGE)),
        },
    )
    .await;
    let page_of = match list {
        Ok(SearchResult::Events(p)) => p,
        Ok(SearchResult::Aggregation(_)) => {
            return render(
                "findings.html",
                context! { error => "Counting (`| count`) is for the search page; this list shows findings.", ..base },
            );
        }
        Err(e) => {
            let caret = e
                .detail
                .as_ref()
                .and_then(|d| d.get("caret"))
                .and_then(Value::as_str)
                .unwrap_or("");
            return render(
                "findings.html",
                context! { error => format!("{}\n{caret}", e.message), ..base },
            );
        }
    };
    let rows: Vec<FindingRow> = page_of
        .events
        .iter()
        .filter_map(|e| Some(finding_row(&dir, e, &Finding::from_event(e)?, &v)))
        .collect();
    let chart = chart_24h(&state, &query, &v.zone.plain()).await;
    let link = |p: usize| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, val) in [
            ("q", form.q.as_str()),
            ("severity", chosen.map_or("", |s| s.name())),
            ("rule", form.rule.trim()),
            ("site", site),
        ] {
            if !val.is_empty() {
                s.append_pair(k, val);
            }
        }
        s.append_pair("page", &p.to_string());
        format!("/findings?{}", s.finish())
    };
    let shown_to = page * PAGE + rows.len();
    let pages = Pages {
        from: if rows.is_empty() { 0 } else { page * PAGE + 1 },
        to: shown_to,
        prev: (page > 0).then(|| link(page - 1)),
        next: ((shown_to as u64) < page_of.total).then(|| link(page + 1)),
    };
    render(
        "findings.html",
        context! {
            total => page_of.total, findings => Serde(rows), pages => Serde(pages),
            chart => chart.map(Serde), ..base
        },
    )
}

/// Where a page of the findings list is: the rows it shows (counted from 1) and the links
/// to its neighbours.
#[derive(Serialize)]
struct Pages {
    from: usize,
    to: usize,
    prev: Option<String>,
    next: Option<String>,
}

/// A rule that has fired, for the filter.
#[derive(Serialize)]
struct RuleChoice {
    id: String,
    title: String,
    /// Its findings.
    count: u64,
}

/// The rules that have fired, for the filter (id and title), most findings first.
async fn rule_choices(state: &AppState) -> Vec<RuleChoice> {
    let result = search(
        state,
        None,
        SearchParams {
            q: "class:detection_finding | count by finding.rule_id, finding.rule_title".into(),
            from: None,
            to: None,
            limit: None,
            offset: None,
        },
    )
    .await;
    let Ok(SearchResult::Aggregation(agg)) = result else {
        return Vec::new();
    };
    let mut rules: Vec<RuleChoice> = agg
        .rows
        .iter()
        .filter_map(|(k, n)| {
            let id = k.first()?.as_str()?;
            let title = k.get(1).and_then(Value::as_str).unwrap_or(id);
            Some(RuleChoice {
                id: id.to_owned(),
                title: title.to_owned(),
                count: *n,
            })
        })
        .collect();
    rules.sort_by(|a, b| a.title.cmp(&b.title));
    rules.dedup_by(|a, b| a.id == b.id);
    rules
}

/// The findings chart: an inline SVG's geometry ([`chart_24h`]).
#[derive(Serialize)]
struct Chart {
    width: f64,
    height: f64,
    /// Where the bars stand.
    base: f64,
    /// Where the hour labels go.
    label_y: f64,
    /// The busiest hour's findings: a full column.
    max: u64,
    /// The reader's zone, named under the chart.
    zone: String,
    bars: Vec<ChartBar>,
    ticks: Vec<Tick>,
    /// The chart in a sentence.
    caption: String,
    legend: Vec<LegendEntry>,
}

/// One severity's part of an hour's column, its geometry formatted for the SVG.
#[derive(Serialize)]
struct ChartBar {
    x: String,
    y: String,
    w: f64,
    h: String,
    severity: &'static str,
    /// The hover text: "09:00 CET: 3 high".
    title: String,
}

/// An hour label under the chart.
#[derive(Serialize)]
struct Tick {
    x: String,
    label: String,
}

/// A severity in the legend, with its findings in the 24 hours.
#[derive(Serialize)]
struct LegendEntry {
    severity: SeverityView,
    count: u64,
}

/// Findings per hour over the last 24 hours, stacked by severity, as an inline SVG's
/// geometry: one column per hour, a legend with words (not colour alone), and a caption
/// that says the same in a sentence.
///
/// The hours are the reader's (`tz`): each column starts on a full hour of their clock and
/// is labelled with it. For most zones these are UTC's hours too, but India's (+05:30) and
/// Nepal's (+05:45) hours start elsewhere; every zone's offset is a multiple of 15 minutes,
/// so the store counts quarter hours and they add up exactly to the reader's hours. Across
/// a change to or from summer time the columns stay 24 real hours, and the labels show the
/// clock as it was (an hour repeated or skipped).
async fn chart_24h(state: &AppState, query: &str, tz: &TimeZone) -> Option<Chart> {
    let now = Utc::now().duration_trunc(Duration::minutes(15)).ok()?;
    let into_hour = crate::clock::local(now, tz, "%M").parse::<i64>().ok()?;
    let first = now - Duration::minutes(into_hour) - Duration::hours(23);
    let mut request = search_request(&SearchParams {
        q: query.to_owned(),
        from: None,
        to: None,
        limit: None,
        offset: None,
    })
    .ok()?;
    request.from = Some(first);
    request.query.pipe = Some(tandem_query::Pipe::Timechart {
        span_seconds: 900,
        by: Some("severity".into()),
    });
    let result = state.run_search(None, request).await.ok()?;
    let SearchResult::Aggregation(agg) = result else {
        return None;
    };
    let hour_start = |i: usize| first + Duration::hours(i as i64);
    let label = |i: usize| crate::clock::local(hour_start(i), tz, "%H:%M");
    let mut per_hour: Vec<HashMap<Severity, u64>> = vec![HashMap::new(); 24];
    for b in agg.buckets.unwrap_or_default() {
        let i = (b.start - first).num_minutes().div_euclid(60);
        let Some(slot) = usize::try_from(i).ok().and_then(|i| per_hour.get_mut(i)) else {
            continue;
        };
        for (series, n) in b.counts {
            let s = series
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(Severity::Unknown);
            *slot.entry(s).or_default() += n;
        }
    }
    let totals: Vec<u64> = per_hour.iter().map(|h| h.values().sum()).collect();
    let all: u64 = totals.iter().sum();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let (col, height, top) = (30.0, 100.0, 8.0);
    let mut bars = Vec::new();
    for (i, hour) in per_hour.iter().enumerate() {
        let mut y = top + height;
        let start = crate::clock::local(hour_start(i), tz, "%H:%M %Z");
        for s in SEVERITIES.iter().chain([Severity::Unknown].iter()).rev() {
            let n = hour.get(s).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = n as f64 / max as f64 * height;
            y -= h;
            bars.push(ChartBar {
                x: format!("{:.1}", i as f64 * col + 3.0),
                y: format!("{y:.1}"),
                w: col - 6.0,
                h: format!("{h:.1}"),
                severity: s.name(),
                title: format!("{start}: {n} {}", severity_label(*s).to_lowercase()),
            });
        }
    }
    let ticks: Vec<Tick> = (0..24)
        .step_by(3)
        .map(|i| Tick {
            x: format!("{:.1}", i as f64 * col + col / 2.0),
            label: label(i),
        })
        .collect();
    let by_severity: Vec<(Severity, u64)> = SEVERITIES
        .iter()
        .chain([Severity::Unknown].iter())
        .map(|s| (*s, per_hour.iter().filter_map(|h| h.get(s)).sum::<u64>()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let busiest = totals
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| {
            format!(
                "; busiest hour {} with {n}",
                crate::clock::local(hour_start(i), tz, "%H:%M %Z")
            )
        })
        .unwrap_or_default();
    let caption = if all == 0 {
        "No findings in the last 24 hours.".to_owned()
    } else {
        format!(
            "{all} findings in the last 24 hours: {}{busiest}.",
            by_severity
                .iter()
                .map(|(s, n)| format!("{n} {}", severity_label(*s).to_lowercase()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Some(Chart {
        width: col * 24.0,
        height: top + height + 18.0,
        base: top + height,
        label_y: top + height + 14.0,
        max,
        zone: crate::clock::zone_label(tz),
        bars,
        ticks,
        caption,
        legend: by_severity
            .iter()
            .map(|(s, n)| LegendEntry {
                severity: severity(*s),
                count: *n,
            })
            .collect(),
    })
}

/// The finding page.
#[derive(Serialize)]
struct FindingPage<'a> {
    id: String,
    /// The finding as a stored event, when the visitor may search events.
    event_href: Option<String>,
    /// The rule's id when people can read it (`tandem.tailgating`); a Sigma rule's UUID is
    /// not shown.
    rule_id: Option<&'a str>,
    rule_title: &'a str,
    /// What the rule looks for, in its author's words.
    description: Option<&'a str>,
    engine: String,
    severity: SeverityView,
    tags: Vec<TagView>,
    time: Stamp,
    summary: &'a str,
    /// How sure the detection is, as a percentage.
    score: Option<String>,
    persons: Vec<PersonLink>,
    places: Vec<PlaceLink>,
    devices: Vec<EntityLink>,
    ips: Vec<EntityLink>,
    users: Vec<EntityLink>,
    evidence: Vec<EventRow>,
    /// Evidence events no longer stored (past retention).
    missing_evidence: usize,
    detail: Vec<DetailRow>,
    dedup_key: &'a str,
}

/// A tag with its words ("T1078 Valid Accounts").
#[derive(Serialize)]
struct TagView {
    tag: String,
    label: String,
}

/// One of a finding's details, named in words, its value as read.
#[derive(Serialize)]
struct DetailRow {
    key: String,
    value: String,
}

/// `GET /findings/{id}`: one finding, what it is about, and the events that make the case.
pub async fn finding(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let (event, f, evidence) = match load_finding(&state, &id).await {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let dir = state.identity.snapshot();
    let can_places = v.can(Permission::ViewPlaces);
    let detail = detail_rows(&dir, &f);
    let can_search = v.can(Permission::SearchEvents);
    let missing = f.evidence.len().saturating_sub(evidence.len());
    let snapshots =
        crate::snapshots::views(&state, f.evidence.clone(), &v.zone.for_event(&dir, &event)).await;
    let page = FindingPage {
        id: event.id.to_string(),
        event_href: v
            .can(Permission::SearchEvents)
            .then(|| format!("/events/{}", event.id)),
        rule_id: (!f.engine.starts_with("sigma")).then_some(f.rule_id.as_str()),
        rule_title: &f.rule_title,
        description: f.detail.get("description").and_then(Value::as_str),
        engine: words(&f.engine),
        severity: severity(f.severity),
        tags: f
            .tags
            .iter()
            .map(|t| TagView {
                tag: t.clone(),
                label: crate::attack::tag_label(t),
            })
            .collect(),
        time: stamp(f.time, &v.zone.for_event(&dir, &event)),
        summary: &f.summary,
        score: f.score.map(|s| format!("{:.0}%", s * 100.0)),
        persons: f
            .entities
            .persons
            .iter()
            .map(|p| person_link(&dir, p))
            .collect(),
        places: finding_places(&dir, &f, can_places),
        devices: device_links(&dir, &f, can_search),
        ips: plain_links(&f.entities.ips, "ip", &f, can_search),
        users: plain_links(&f.entities.users, "user", &f, can_search),
        evidence: evidence.iter().map(|e| event_row(&dir, e, &v)).collect(),
        missing_evidence: missing,
        detail,
        dedup_key: &f.dedup_key,
    };
    render(
        "finding.html",
        context! { f => Serde(page), snapshots => Serde(snapshots), ..v.base("findings") },
    )
}

/// `GET /events/{id}`: one event: the facts in words, who and where it resolved to, and the
/// stored and received forms for those who need them.
pub async fn event(v: Visitor, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(ulid) = id.parse::<tandem_model::Ulid>() else {
        return fail(ApiError::bad_request(format!("`{id}` is not an event id")));
    };
    let events = state.events.clone();
    let found = match tokio::task::spawn_blocking(move || events.event(ulid)).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return fail(e.into()),
        Err(e) => return fail(ApiError::internal(e)),
    };
    let Some(e) = found else {
        return fail(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "No such event: it may have passed the retention period.",
        ));
    };
    let dir = state.identity.snapshot();
    let can_places = v.can(Permission::ViewPlaces);
    let mut facts: Vec<(String, String)> = Vec::new();
    let mut fact = |k: &str, val: Option<String>| {
        if let Some(val) = val.filter(|s| !s.is_empty()) {
            facts.push((k.to_owned(), val));
        }
    };
    let a = &e.actor;
    fact("Account", a.user.clone());
    fact("Account domain", a.domain.clone());
    fact("Account id", a.uid.clone());
    fact("E-mail", a.email.clone());
    fact("Badge", a.badge.clone());
    fact("Face recognised as", a.face.clone());
    if let Some(d) = &e.device {
        fact(
            "Computer / device",
            d.hostname.clone().or_else(|| d.id.clone()),
        );
        fact("Device address", d.ip.map(|ip| ip.to_string()));
        fact("Operating system", d.os.clone());
    }
    let endpoint = |p: &Option<tandem_model::Endpoint>| {
        p.as_ref().map(|s| {
            let mut out =
                s.ip.map(|ip| ip.to_string())
                    .or_else(|| s.hostname.clone())
                    .unwrap_or_default();
            if let Some(port) = s.port {
                out.push_str(&format!(" port {port}"));
            }
            if let Some(g) = &s.geo {
                let place: Vec<&str> = [&g.city, &g.country]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                if !place.is_empty() {
                    out.push_str(&format!(" ({})", place.join(", ")));
                }
            }
            out
        })
    };
    fact("From", endpoint(&e.src));
    fact("To", endpoint(&e.dst));
    if let Some(p) = &e.physical {
        fact("Reason", p.reason.as_deref().map(words));
        fact("Direction", p.direction.as_deref().map(words));
        if let Some(i) = &p.inference {
            fact(
                "Inferred by Tandem",
                Some(format!(
                    "{} ({:.0}% sure)",
                    i.derivation,
                    i.confidence * 100.0
                )),
            );
        }
        if let Some(d) = &p.detection {
            fact(
                "Camera saw",
                Some(format!(
                    "{}{} ({:.0}%)",
                    d.label,
                    d.sub_label
                        .as_deref()
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default(),
                    d.score * 100.0
                )),
            );
        }
    }
    fact("Severity", Some(severity_label(e.severity).to_owned()));
    for (k, val) in &e.labels {
        fact(&format!("Label {k}"), Some(val.clone()));
    }
    let person = e.actor.person.as_ref().map(|p| {
        let mut link = person_link(&dir, &p.id);
        if dir.person(&p.id).is_none()
            && let Some(name) = &p.name
        {
            link.name = name.clone();
        }
        ResolvedPerson {
            link,
            method: words(&p.method),
            confidence: format!("{:.0}%", p.confidence * 100.0),
            status: p.status.as_deref().map(words),
            department: p.department.clone(),
        }
    });
    let places: Vec<PlaceLink> = e
        .place
        .as_ref()
        .map(|p| {
            [
                ("Site", &p.site),
                ("Building", &p.building),
                ("Floor", &p.floor),
                ("Zone", &p.zone),
                ("Door", &p.door),
                ("Reader", &p.reader),
                ("Camera", &p.camera),
            ]
            .into_iter()
            .filter_map(|(k, val)| {
                let mut l = place_link(&dir, val.as_deref()?, can_places);
                l.level = Some(k);
                Some(l)
            })
            .collect()
        })
        .unwrap_or_default();
    // The events around this one: at its door, for its person, on its host.
    let around: Vec<AroundView> = [
        (
            "At this door",
            "door",
            e.place.as_ref().and_then(|p| p.door.clone()),
        ),
        (
            "For this person",
            "person",
            e.actor.person.as_ref().map(|p| p.id.clone()),
        ),
        (
            "On this computer",
            "host",
            e.device.as_ref().and_then(|d| d.hostname.clone()),
        ),
    ]
    .into_iter()
    .filter_map(|(what, field, value)| {
        let value = value?;
        let p = crate::pivot::Pivot::new(
            "",
            crate::pivot::Range::Named("24h"),
            field,
            Some(&value),
            value.clone(),
        )
        .around(&value, e.time);
        (!p.around.is_empty()).then_some(AroundView {
            what,
            links: p.around,
        })
    })
    .collect();
    let mut shown = e.clone();
    let raw = shown.raw.take();
    let what = format!(
        "{}: {}{}",
        class_label(e.class),
        words(e.activity.name()).to_lowercase(),
        match e.outcome {
            tandem_model::Outcome::Success => ", succeeded",
            tandem_model::Outcome::Failure => ", failed",
            tandem_model::Outcome::Unknown => "",
        }
    );
    let zone = v.zone.for_event(&dir, &e);
    let snapshots = if v.can(Permission::ViewFindings) {
        crate::snapshots::views(&state, vec![e.id], &zone).await
    } else {
        Vec::new()
    };
    let product = [&e.source.vendor, &e.source.product]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let page = EventPage {
        id: e.id.to_string(),
        what,
        headline: if e.message.is_empty() {
            describe(&dir, &e)
        } else {
            e.message.clone()
        },
        failed: e.outcome == tandem_model::Outcome::Failure,
        time: stamp(e.time, &zone),
        observed: e.observed_time.map(|t| stamp(t, &zone)),
        ingested: stamp(e.ingest_time, &zone),
        source: &e.source.name,
        product,
        person,
        places,
        facts,
        finding_href: (e.class == Class::DetectionFinding && v.can(Permission::ViewFindings))
            .then(|| format!("/findings/{}", e.id)),
        around,
        json: serde_json::to_string_pretty(&shown).unwrap_or_default(),
        raw,
        raw_truncated: e.raw_truncated,
    };
    render(
        "event.html",
        context! { e => Serde(page), snapshots => Serde(snapshots), ..v.base("search") },
    )
}

/// The event page.
#[derive(Serialize)]
struct EventPage<'a> {
    id: String,
    /// The class, activity and outcome in a phrase: "Sign-in: logon, failed".
    what: String,
    headline: String,
    failed: bool,
    time: Stamp,
    observed: Option<Stamp>,
    ingested: Stamp,
    source: &'a str,
    /// The sender's vendor and product.
    product: String,
    person: Option<ResolvedPerson>,
    /// Each place the event names, with the field that named it.
    places: Vec<PlaceLink>,
    /// The identifiers and details it carries, as (label, value).
    facts: Vec<(String, String)>,
    finding_href: Option<String>,
    /// Searches for the events around this one at its door, for its person, on its host.
    around: Vec<AroundView>,
    /// The event as stored, without its raw form (shown on its own).
    json: String,
    raw: Option<String>,
    raw_truncated: bool,
}

/// "At this door: ±1 min · ±5 min · ±1 h".
#[derive(Serialize)]
struct AroundView {
    what: &'static str,
    links: Vec<crate::pivot::Around>,
}

/// The person an event resolved to, and how sure resolution was.
#[derive(Serialize)]
struct ResolvedPerson {
    #[serde(flatten)]
    link: PersonLink,
    method: String,
    confidence: String,
    /// Their status and department at event time.
    status: Option<String>,
    department: Option<String>,
}

#[derive(Deserialize)]
pub struct PeopleForm {
    #[serde(default)]
    q: String,
}

/// `GET /people`: everyone in the directory, searchable by name, id, e-mail or department.
pub async fn people(
    v: Visitor,
    State(state): State<AppState>,
    Query(form): Query<PeopleForm>,
) -> Response {
    const SHOWN: usize = 500;
    let dir = state.identity.snapshot();
    let matches = matching_people(&dir, &form.q);
    let rows: Vec<PersonRow> = matches
        .iter()
        .take(SHOWN)
        .map(|p| PersonRow {
            id: &p.id,
            name: &p.name,
            department: p.department.as_deref(),
            title: p.title.as_deref(),
            site: p
                .home_site
                .as_deref()
                .map(|s| dir.place(s).map_or(s, |pl| pl.name.as_str())),
            status: p.status.name(),
            status_label: words(p.status.name()),
        })
        .collect();
    render(
        "people.html",
        context! {
            q => form.q, total => matches.len(), people => Serde(rows),
            ..v.base("people")
        },
    )
}

/// A person in the people list.
#[derive(Serialize)]
struct PersonRow<'a> {
    id: &'a str,
    name: &'a str,
    department: Option<&'a str>,
    title: Option<&'a str>,
    /// Their home site's name.
    site: Option<&'a str>,
    status: &'static str,
    status_label: String,
}

/// The Person 360 page.
#[derive(Serialize)]
struct PersonPage<'a> {
    id: &'a str,
    name: &'a str,
    employee_number: Option<&'a str>,
    email: Option<&'a str>,
    department: Option<&'a str>,
    title: Option<&'a str>,
    organization: Option<&'a str>,
    manager: Option<PersonLink>,
    site: Option<PlaceLink>,
    status: &'static str,
    status_label: String,
    hired: Option<String>,
    terminated_at: Option<Stamp>,
    criticality: String,
    /// Their record's versions, newest first.
    versions: Vec<VersionRow<'a>>,
    accounts: Vec<AccountRow<'a>>,
    badges: Vec<BadgeRow<'a>>,
    devices: Vec<DeviceRow>,
    findings: PersonFindings,
    timeline_total: u64,
    timeline_shown: usize,
    /// The timeline by day, as the reader's calendar has them.
    days: Vec<Day>,
    /// The timeline's window: a key of [`TIMELINE_WINDOWS`] or `custom` (`from`, `to`).
    window: &'static str,
    windows: &'static [(&'static str, &'static str)],
    from: &'a str,
    to: &'a str,
}

/// The person timeline's window: `window` is a key of [`TIMELINE_WINDOWS`]; `from` and `to`
/// (dates or times, either may be left empty) make it a chosen one.
#[derive(Deserialize, Default)]
pub struct TimelineWindow {
    #[serde(default)]
    window: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// The windows a person's timeline offers, the whole history first (what the page shows
/// unless asked).
const TIMELINE_WINDOWS: &[(&str, &str)] = &[
    ("all", "All time"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("custom", "Between the dates below"),
];

/// One end of a timeline's window; `None` is open.
type Bound = Option<DateTime<Utc>>;

/// The window asked for, as its key and bounds. A date given as `to` includes that day.
fn timeline_window(
    w: &TimelineWindow,
    now: DateTime<Utc>,
) -> Result<(&'static str, Bound, Bound), ApiError> {
    let (from, to) = (w.from.trim(), w.to.trim());
    if w.window == "custom" || (w.window.is_empty() && !(from.is_empty() && to.is_empty())) {
        let bound = |name: &str, s: &str| -> Result<Option<DateTime<Utc>>, ApiError> {
            if s.is_empty() {
                return Ok(None);
            }
            let t = tandem_query::parse_time_bound(s, now)
                .map_err(|e| ApiError::bad_request(format!("`{name}`: {}", e.message)))?;
            Ok(Some(t))
        };
        let to_bound = bound("to", to)?.map(|t| {
            // A whole day (`2026-12-07`) ends at its end, not its start.
            if to.len() == 10 {
                t + Duration::days(1)
            } else {
                t
            }
        });
        return Ok(("custom", bound("from", from)?, to_bound));
    }
    let found = TIMELINE_WINDOWS
        .iter()
        .find(|(k, _)| *k == w.window && *k != "custom")
        .map_or("all", |(k, _)| *k);
    let from = match found {
        "24h" => Some(now - Duration::hours(24)),
        "7d" => Some(now - Duration::days(7)),
        "30d" => Some(now - Duration::days(30)),
        _ => None,
    };
    Ok((found, from, None))
}

/// A version of a person's record: what changed when, and who said so.
#[derive(Serialize)]
struct VersionRow<'a> {
    effective: Stamp,
    /// Their status in words, or `Removed`.
    status: String,
    department: Option<String>,
    title: Option<String>,
    origin: &'a str,
}

/// A badge a person holds, and whether it opens doors now.
#[derive(Serialize)]
struct BadgeRow<'a> {
    number: &'a str,
    facility_code: Option<&'a str>,
    status: String,
    valid_from: Option<Stamp>,
    valid_to: Option<Stamp>,
    valid_now: bool,
    /// The holder is no longer active: any use of the badge is suspect.
    person_inactive: bool,
}

/// A device, with its kind in words.
#[derive(Serialize)]
struct DeviceRow {
    id: String,
    hostname: Option<String>,
    kind: String,
    /// Its addresses, comma separated.
    ips: String,
    mac: Option<String>,
}

/// An account a person holds, its kind in words.
#[derive(Serialize)]
struct AccountRow<'a> {
    kind: &'static str,
    value: &'a str,
}

/// The newest findings naming a person, and how many there are.
#[derive(Serialize)]
struct PersonFindings {
    total: u64,
    rows: Vec<FindingRow>,
}

/// A day of a timeline.
#[derive(Serialize)]
struct Day {
    day: String,
    rows: Vec<EventRow>,
}

/// `GET /people/{id}`: the Person 360: who they are and were, what they hold (accounts,
/// badges, devices), the findings naming them, and one timeline of everything they did in
/// the building and on computers, by day.
pub async fn person(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(window): Query<TimelineWindow>,
) -> Response {
    let dir = state.identity.snapshot();
    let Some(history) = dir.person_history(&id) else {
        return fail(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("No person with the id `{id}` in the directory."),
        ));
    };
    let Some(p) = dir
        .person(&id)
        .or_else(|| {
            history
                .versions()
                .iter()
                .rev()
                .find_map(|v| v.state.as_ref())
        })
        .cloned()
    else {
        return fail(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("The person `{id}` was removed from the directory."),
        ));
    };
    crate::audit::person_viewed(&state, &v.who, &id).await;
    let now = Utc::now();
    let plain = v.zone.plain();
    let versions: Vec<VersionRow> = history
        .versions()
        .iter()
        .rev()
        .map(|ver| VersionRow {
            effective: stamp(ver.effective, &plain),
            status: ver
                .state
                .as_ref()
                .map_or("Removed".into(), |s| words(s.status.name())),
            department: ver.state.as_ref().and_then(|s| s.department.clone()),
            title: ver.state.as_ref().and_then(|s| s.title.clone()),
            origin: &ver.origin,
        })
        .collect();
    let badges: Vec<BadgeRow> = p
        .badges
        .iter()
        .map(|b| BadgeRow {
            number: &b.number,
            facility_code: b.facility_code.as_deref(),
            status: words(&format!("{:?}", b.status).to_lowercase()),
            valid_from: b.valid_from.map(|t| stamp(t, &plain)),
            valid_to: b.valid_to.map(|t| stamp(t, &plain)),
            valid_now: b.valid_at(now) && b.status == tandem_identity::BadgeStatus::Active,
            person_inactive: p.status != tandem_identity::Status::Active,
        })
        .collect();
    let devices: Vec<DeviceRow> = dir
        .devices_of(&id)
        .iter()
        .map(|d| DeviceRow {
            id: d.id.clone(),
            hostname: d.hostname.clone(),
            kind: words(&format!("{:?}", d.kind).to_lowercase()),
            ips: d
                .ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            mac: d.mac.clone(),
        })
        .collect();
    let accounts: Vec<AccountRow> = p
        .accounts
        .iter()
        .map(|a| {
            let kind = match a.kind {
                tandem_identity::AccountKind::Upn => "User principal name",
                tandem_identity::AccountKind::Email => "E-mail",
                tandem_identity::AccountKind::OktaId => "Okta id",
                tandem_identity::AccountKind::EntraId => "Entra ID object id",
                tandem_identity::AccountKind::Sid => "Windows SID",
                tandem_identity::AccountKind::SamAccountName => "Windows logon name",
                tandem_identity::AccountKind::Unix => "Unix user",
                tandem_identity::AccountKind::Other => "Other",
            };
            AccountRow {
                kind,
                value: &a.value,
            }
        })
        .collect();
    let who = quoted(&id);
    let can_places = v.can(Permission::ViewPlaces);
    let findings = match recent_events(
        &state,
        format!("class:detection_finding AND person:{who}"),
        20,
    )
    .await
    {
        Ok((total, events)) => {
            let rows: Vec<FindingRow> = events
                .iter()
                .filter_map(|e| Some(finding_row(&dir, e, &Finding::from_event(e)?, &v)))
                .collect();
            PersonFindings { total, rows }
        }
        Err(e) => return fail(e),
    };
    let (chosen, from, to) = match timeline_window(&window, now) {
        Ok(w) => w,
        Err(e) => return fail(e),
    };
    let (timeline_total, timeline) = match recent_events_in(
        &state,
        format!("person:{who} AND NOT class:detection_finding"),
        TIMELINE,
        from,
        to,
    )
    .await
    {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let mut days: Vec<Day> = Vec::new();
    for e in &timeline {
        let row = event_row(&dir, e, &v);
        // Days as the reader's calendar has them, not UTC's.
        match days.last_mut() {
            Some(d) if d.day == row.time.day => d.rows.push(row),
            _ => days.push(Day {
                day: row.time.day.clone(),
                rows: vec![row],
            }),
        }
    }
    let page = PersonPage {
        id: &p.id,
        name: &p.name,
        employee_number: p.employee_number.as_deref(),
        email: p.email.as_deref(),
        department: p.department.as_deref(),
        title: p.title.as_deref(),
        organization: p.organization.as_deref(),
        manager: p.manager.as_deref().map(|m| person_link(&dir, m)),
        site: p
            .home_site
            .as_deref()
            .map(|s| place_link(&dir, s, can_places)),
        status: p.status.name(),
        status_label: words(p.status.name()),
        hired: p.hired.map(|d| d.to_string()),
        terminated_at: p.terminated_at.map(|t| stamp(t, &plain)),
        criticality: words(&format!("{:?}", p.criticality).to_lowercase()),
        versions,
        accounts,
        badges,
        devices,
        findings,
        timeline_total,
        timeline_shown: timeline.len(),
        days,
        window: chosen,
        windows: TIMELINE_WINDOWS,
        from: window.from.trim(),
        to: window.to.trim(),
    };
    render(
        "person.html",
        context! { p => Serde(page), ..v.base("people") },
    )
}

/// A place in the place tree, with the places it contains.
#[derive(Serialize)]
struct PlaceNode<'a> {
    id: &'a str,
    name: &'a str,
    kind: &'static str,
    kind_label: String,
    restricted: bool,
    /// Its opening hours in words ([`hours`]).
    hours: Option<String>,
    children: Vec<PlaceNode<'a>>,
}

/// How many places of the kinds people look for the directory holds.
#[derive(Serialize)]
struct PlaceCounts {
    sites: usize,
    doors: usize,
    cameras: usize,
    restricted: usize,
}

/// The place tree below `parent` (sites when `None`), each node with its children.
fn tree<'a>(
    by_parent: &HashMap<Option<&str>, Vec<&'a PlaceRecord>>,
    parent: Option<&str>,
    depth: usize,
) -> Vec<PlaceNode<'a>> {
    if depth > 8 {
        return Vec::new();
    }
    let mut nodes: Vec<&PlaceRecord> = by_parent.get(&parent).cloned().unwrap_or_default();
    nodes.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    nodes
        .into_iter()
        .map(|p| PlaceNode {
            id: &p.id,
            name: &p.name,
            kind: p.kind.name(),
            kind_label: words(p.kind.name()),
            restricted: p.restricted,
            hours: hours(p),
            children: tree(by_parent, Some(p.id.as_str()), depth + 1),
        })
        .collect()
}

/// `GET /places`: sites → buildings → zones → doors, readers and cameras.
pub async fn places(v: Visitor, State(state): State<AppState>) -> Response {
    let dir = state.identity.snapshot();
    let all = dir.places();
    let mut by_parent: HashMap<Option<&str>, Vec<&PlaceRecord>> = HashMap::new();
    for p in &all {
        // A place whose parent is unknown is shown at the top rather than lost.
        let parent = p.parent.as_deref().filter(|id| dir.place(id).is_some());
        by_parent.entry(parent).or_default().push(p);
    }
    let roots = tree(&by_parent, None, 0);
    let counts = PlaceCounts {
        sites: all.iter().filter(|p| p.kind == PlaceKind::Site).count(),
        doors: all.iter().filter(|p| p.kind == PlaceKind::Door).count(),
        cameras: all.iter().filter(|p| p.kind == PlaceKind::Camera).count(),
        restricted: all.iter().filter(|p| p.restricted).count(),
    };
    render(
        "places.html",
        context! { tree => Serde(roots), counts => Serde(counts), ..v.base("places") },
    )
}

/// A door's state after an event at it, in words, and whether it is an alarm; `who` is the
/// person's name when known. The place page, the floor maps and the live stream say the same.
pub(crate) fn door_words(activity: Activity, who: Option<&str>) -> (String, bool) {
    match activity {
        Activity::Forced => ("Forced open".to_owned(), true),
        Activity::HeldOpen => ("Held open".to_owned(), true),
        Activity::Tamper => ("Tampered with".to_owned(), true),
        Activity::Duress => ("Duress alarm".to_owned(), true),
        Activity::Tailgate => ("Closed after a tailgate".to_owned(), true),
        Activity::Denied => (
            format!(
                "Closed; access denied{}",
                who.map(|w| format!(" to {w}")).unwrap_or_default()
            ),
            false,
        ),
        Activity::Granted | Activity::Taken | Activity::RequestToExit => (
            format!(
                "Closed; last used{}",
                who.map(|w| format!(" by {w}")).unwrap_or_default()
            ),
            false,
        ),
        _ => ("Closed".to_owned(), false),
    }
}

/// A door's state, as the place page and the floor maps show it.
#[derive(Serialize)]
pub(crate) struct DoorState {
    pub id: String,
    pub name: String,
    /// In words: "Held open", "Closed; last used by …", "No door events yet".
    pub state: String,
    /// Whether the state is an alarm a guard must look at.
    pub alarm: bool,
    /// The last door event: how long ago, its id and its time; absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ago: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Stamp>,
}

/// A door's state from its last door event: "Held open", "Forced open", "Closed".
pub(crate) async fn door_state(
    state: &AppState,
    dir: &Directory,
    door: &PlaceRecord,
    now: DateTime<Utc>,
    zone: &crate::clock::Zone,
) -> DoorState {
    // A source may name the door rather than give its id; the resolver keeps what it sent.
    let q = format!(
        "(door:{} OR door:{}) AND class:physical_access",
        quoted(&door.id),
        quoted(&door.name)
    );
    let last = recent_events(state, q, 1)
        .await
        .ok()
        .and_then(|(_, e)| e.into_iter().next());
    let Some(e) = last else {
        return DoorState {
            id: door.id.clone(),
            name: door.name.clone(),
            state: "No door events yet".to_owned(),
            alarm: false,
            ago: None,
            event: None,
            time: None,
        };
    };
    let who = who_link(dir, &e).map(|w| w.name);
    let (text, alarm) = door_words(e.activity, who.as_deref());
    DoorState {
        id: door.id.clone(),
        name: door.name.clone(),
        state: text,
        alarm,
        ago: Some(ago(e.time, now)),
        event: Some(e.id.to_string()),
        time: Some(stamp(e.time, &zone.for_place(dir, &door.id))),
    }
}

/// `GET /places/{id}`: a place, where it sits, what it contains, the state of its doors and
/// what happened there lately.
pub async fn place(v: Visitor, State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let dir = state.identity.snapshot();
    let Some(p) = dir.find_place(&id).cloned() else {
        return fail(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("No place `{id}` in the directory."),
        ));
    };
    let now = Utc::now();
    let lineage: Vec<Crumb> = dir
        .lineage(&p.id)
        .iter()
        .skip(1)
        .rev()
        .map(|a| Crumb {
            id: a.id.clone(),
            name: a.name.clone(),
            kind: words(a.kind.name()),
        })
        .collect();
    let children: Vec<ChildPlace> = dir
        .children(&p.id)
        .iter()
        .map(|c| ChildPlace {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: words(c.kind.name()),
            restricted: c.restricted,
            hours: hours(c),
        })
        .collect();
    let devices: Vec<PlaceDevice> = dir
        .devices()
        .iter()
        .filter(|d| d.place.as_deref() == Some(p.id.as_str()))
        .map(|d| PlaceDevice {
            id: d.id.clone(),
            hostname: d.hostname.clone(),
            kind: words(&format!("{:?}", d.kind).to_lowercase()),
        })
        .collect();
    // The doors this place is, or contains (depth-first, bounded).
    let mut doors: Vec<PlaceRecord> = Vec::new();
    let mut stack = vec![p.clone()];
    while let Some(next) = stack.pop() {
        if doors.len() >= MAX_DOORS {
            break;
        }
        if next.kind == PlaceKind::Door {
            doors.push(next);
        } else {
            stack.extend(dir.children(&next.id).into_iter().rev().cloned());
        }
    }
    let mut door_states = Vec::new();
    for d in &doors {
        door_states.push(door_state(&state, &dir, d, now, &v.zone).await);
    }
    let (total, events) = match recent_events(&state, place_query(&dir, &p.id), TIMELINE).await {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let site = dir.lineage(&p.id).last().map(|s| (*s).clone());
    // The floor plan this place is, or is drawn on.
    let map = if p.kind == PlaceKind::Floor {
        Some(p.id.clone())
    } else if p.is_placeable() {
        p.map_floor.clone().or_else(|| {
            dir.lineage(&p.id)
                .iter()
                .skip(1)
                .find(|a| a.kind == PlaceKind::Floor)
                .map(|a| a.id.clone())
        })
    } else {
        None
    };
    let page = PlacePage {
        map,
        id: &p.id,
        name: &p.name,
        kind: words(p.kind.name()),
        restricted: p.restricted,
        hours: hours(&p),
        time_zone: p
            .time_zone
            .clone()
            .or_else(|| site.as_ref().and_then(|s| s.time_zone.clone())),
        city: p.city.as_deref(),
        country: p.country.as_deref(),
        coordinates: p.lat.zip(p.lon).map(|(a, b)| format!("{a:.4}, {b:.4}")),
        lineage,
        children,
        devices,
        doors: door_states,
        events_total: total,
        events: events.iter().map(|e| event_row(&dir, e, &v)).collect(),
    };
    render(
        "place.html",
        context! { pl => Serde(page), ..v.base("places") },
    )
}

/// The place page.
#[derive(Serialize)]
struct PlacePage<'a> {
    /// The floor whose plan this place is, or is drawn on.
    map: Option<String>,
    id: &'a str,
    name: &'a str,
    kind: String,
    restricted: bool,
    hours: Option<String>,
    /// Its own zone, else its site's.
    time_zone: Option<String>,
    city: Option<&'a str>,
    country: Option<&'a str>,
    coordinates: Option<String>,
    /// The places it sits in, outermost first.
    lineage: Vec<Crumb>,
    children: Vec<ChildPlace>,
    devices: Vec<PlaceDevice>,
    /// The doors it is or contains, each with its state.
    doors: Vec<DoorState>,
    events_total: u64,
    events: Vec<EventRow>,
}

/// A place a place sits in, its kind in words.
#[derive(Serialize)]
struct Crumb {
    id: String,
    name: String,
    kind: String,
}

/// A place a place contains: its kind in words, whether it is restricted, its opening hours.
#[derive(Serialize)]
struct ChildPlace {
    id: String,
    name: String,
    kind: String,
    restricted: bool,
    hours: Option<String>,
}

/// A device at a place.
#[derive(Serialize)]
struct PlaceDevice {
    id: String,
    hostname: Option<String>,
    kind: String,
}
