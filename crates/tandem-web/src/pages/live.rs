//! The live monitor: IT and physical events and new findings as they are stored.
//!
//! It is the one page that needs JavaScript to be at its best, and it still works without:
//! the page itself lists the latest events (server-rendered, with a refresh link);
//! `static/live.js` then follows `/live/stream`, a server-sent-event stream fed by the
//! pipeline's live feed ([`tandem_pipeline::pipeline::Pipeline::subscribe`]), which carries only
//! what is already stored. Filters are applied on the server, so a guard watching one site on
//! a slow link receives only that site's events.

use crate::AppState;
use crate::auth::Principal;
use crate::clock::Zone;
use crate::view::{Visitor, event_where, event_who, refusal_page, render};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::str::FromStr;
use tandem_identity::Directory;
use tandem_identity::model::PlaceKind;
use tandem_model::{Activity, Class, Event, Finding};
use tandem_pipeline::pipeline::LiveBatch;
use tandem_store::SearchResult;
use tokio::sync::broadcast::error::RecvError;

/// Events the live page lists before any arrive on the stream.
const LIVE_INITIAL: usize = 50;

/// `?site=…&class=…` on `/live` and `/live/stream`; empty means everything.
#[derive(Deserialize, Default, Clone)]
pub struct LiveParams {
    #[serde(default)]
    site: String,
    #[serde(default)]
    class: String,
}

impl LiveParams {
    /// The query string that keeps these filters (for the stream and the refresh link).
    fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if !self.site.is_empty() {
            q.append_pair("site", &self.site);
        }
        if !self.class.is_empty() {
            q.append_pair("class", &self.class);
        }
        q.finish()
    }
}

/// The filters in force, resolved once against the directory.
struct LiveFilter {
    /// Lower-cased names an event's `place.site` may carry for the chosen site: what was
    /// asked for, and the directory's id and name of that site (the resolver fills in the
    /// id, a source may send the name).
    sites: Vec<String>,
    class: Option<Class>,
}

impl LiveFilter {
    fn new(params: &LiveParams, dir: &Directory) -> LiveFilter {
        let site = params.site.trim();
        let mut sites = Vec::new();
        if !site.is_empty() {
            sites.push(site.to_lowercase());
            if let Some(p) = dir.find_place(site) {
                sites.push(p.id.to_lowercase());
                sites.push(p.name.to_lowercase());
            }
        }
        LiveFilter {
            sites,
            class: Class::from_str(params.class.trim()).ok(),
        }
    }

    fn matches(&self, e: &Event) -> bool {
        if let Some(c) = self.class
            && e.class != c
        {
            return false;
        }
        if self.sites.is_empty() {
            return true;
        }
        // A finding is at every site of its evidence, as `site:` finds it in a search.
        Finding::sites_of(e).any(|s| self.sites.iter().any(|w| w.eq_ignore_ascii_case(s)))
    }

    /// The same filter in the query language, for the server-rendered list.
    fn search_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.class {
            parts.push(format!("class:{}", c.name()));
        }
        if !self.sites.is_empty() {
            let any: Vec<String> = self
                .sites
                .iter()
                // Quotes and backslashes cannot appear in a site name worth matching; dropping
                // them keeps the value one quoted term.
                .map(|s| format!("site:\"{}\"", s.replace(['"', '\\'], "")))
                .collect();
            parts.push(format!("({})", any.join(" OR ")));
        }
        parts.join(" AND ")
    }
}

/// One row of the live monitor, as the page renders it and as the stream sends it.
#[derive(Serialize)]
struct LiveRow {
    /// The event's time as [`crate::clock::stamp`] gives it, in the zone of the person
    /// watching: the stream formats it on the server, so the script shows what the page
    /// would have, with no zone rules of its own.
    time: crate::clock::Stamp,
    class: &'static str,
    activity: &'static str,
    outcome: &'static str,
    who: String,
    #[serde(rename = "where")]
    where_: String,
    site: String,
    message: String,
    /// `alarm` (door forced, held open, tampered, duress), `finding`, or empty: the row's
    /// colour.
    kind: &'static str,
    /// The words that go with the colour, so the row stands out without colour too.
    alert: String,
    /// The door's place id, for door events: the floor maps follow it.
    door: String,
    /// The door's state after this event ("Forced open", "Closed; last used by …") and
    /// whether that is an alarm, as the place page says it.
    door_state: String,
    door_alarm: bool,
    /// The door's page, when the directory knows the door: the "where" links to it.
    place_href: String,
    /// The event's page; for a finding, the finding's.
    href: String,
}

/// The page of the place an event names most specifically, when the directory knows it.
fn place_href(dir: &Directory, e: &Event) -> String {
    e.place
        .as_ref()
        .and_then(|p| p.most_specific().next())
        .and_then(|id| dir.find_place(id))
        .map(|p| format!("/places/{}", crate::view::path_segment(&p.id)))
        .unwrap_or_default()
}

/// A door alarm's label, for the activities a guard must look at now.
fn door_alarm(e: &Event) -> Option<&'static str> {
    if e.class != Class::PhysicalAccess {
        return None;
    }
    Some(match e.activity {
        Activity::Forced => "Door alarm: forced open",
        Activity::HeldOpen => "Door alarm: held open",
        Activity::Tamper => "Door alarm: tamper",
        Activity::Duress => "Door alarm: duress",
        _ => return None,
    })
}

fn live_row(e: &Event, dir: &Directory, zone: &Zone) -> LiveRow {
    let finding = (e.class == Class::DetectionFinding)
        .then(|| Finding::from_event(e))
        .flatten();
    let (kind, alert, message) = if let Some(f) = &finding {
        (
            "finding",
            format!("Finding ({}): {}", f.severity.name(), f.rule_title),
            f.summary.clone(),
        )
    } else if let Some(label) = door_alarm(e) {
        ("alarm", label.to_owned(), e.message.clone())
    } else {
        ("", String::new(), e.message.clone())
    };
    let door = e
        .place
        .as_ref()
        .filter(|_| e.class == Class::PhysicalAccess)
        .and_then(|p| p.door.as_deref())
        // A source may send the door's name: the maps know doors by id.
        .map(|d| {
            dir.find_place(d)
                .filter(|p| p.kind == PlaceKind::Door)
                .map_or_else(|| d.to_owned(), |p| p.id.clone())
        })
        .unwrap_or_default();
    // The door's state names its last user as the place page and the map do.
    let who = event_who(dir, e);
    let (door_state, door_alarm) = if door.is_empty() {
        (String::new(), false)
    } else {
        let named = (!who.is_empty()).then_some(who.as_str());
        crate::pages::investigate::door_words(e.activity, named)
    };
    LiveRow {
        place_href: place_href(dir, e),
        href: if finding.is_some() {
            format!("/findings/{}", e.id)
        } else {
            format!("/events/{}", e.id)
        },
        door,
        door_state,
        door_alarm,
        time: crate::clock::stamp(e.time, &zone.for_event(dir, e)),
        class: e.class.name(),
        activity: e.activity.name(),
        outcome: e.outcome.name(),
        who,
        where_: event_where(dir, e),
        site: {
            // A finding lists every site of its evidence, its own first, by name.
            let mut sites: Vec<&str> = Vec::new();
            for s in Finding::sites_of(e) {
                let s = dir.find_place(s).map_or(s, |p| p.name.as_str());
                if !sites.contains(&s) {
                    sites.push(s);
                }
            }
            sites.join(", ")
        },
        message: if message.is_empty() {
            format!("{} {}", e.class, e.activity)
        } else {
            message
        },
        kind,
        alert,
    }
}

/// `GET /live`: the latest events (last 24 hours), the filters, and the hook for the script.
pub async fn live_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<LiveParams>,
) -> Response {
    let dir = state.identity.snapshot();
    let filter = LiveFilter::new(&params, &dir);
    let mut sites: Vec<(String, String)> = dir
        .places()
        .into_iter()
        .filter(|p| p.kind == PlaceKind::Site)
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    sites.sort_by(|a, b| a.1.cmp(&b.1));
    if !params.site.is_empty() && !sites.iter().any(|s| s.0 == params.site) {
        sites.push((params.site.clone(), params.site.clone()));
    }
    let classes: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
    let request = crate::api::search_request(&crate::api::SearchParams {
        q: filter.search_query(),
        from: Some("now-24h".into()),
        to: None,
        limit: Some(LIVE_INITIAL),
        offset: None,
    });
    let request = match request {
        Ok(r) => r,
        Err(e) => return refusal_page(StatusCode::BAD_REQUEST, &e.message),
    };
    let rows: Vec<LiveRow> = match state.run_search(None, request).await {
        Ok(SearchResult::Events(page)) => page
            .events
            .iter()
            .map(|e| live_row(e, &dir, &v.zone))
            .collect(),
        Ok(SearchResult::Aggregation(_)) => Vec::new(),
        Err(e) => return e.into_response(),
    };
    let query = params.query();
    let stream_url = if query.is_empty() {
        "/live/stream".to_owned()
    } else {
        format!("/live/stream?{query}")
    };
    let refresh_url = if query.is_empty() {
        "/live".to_owned()
    } else {
        format!("/live?{query}")
    };
    render(
        "live.html",
        context! {
            rows => minijinja::value::Serde(&rows),
            sites => sites, classes => classes,
            site => params.site, class => params.class,
            stream_url => stream_url, refresh_url => refresh_url,
            ..v.base("live")
        },
    )
}

/// `GET /live/stream`: server-sent events. First `ready` (the listener is subscribed, so
/// anything committed after it arrives), then one `row` per matching event as JSON, and
/// `skipped` with the number of batches missed when this client fell behind.
pub async fn live_stream(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<LiveParams>,
) -> Sse<impl Stream<Item = Result<sse::Event, Infallible>>> {
    let filter = LiveFilter::new(&params, &state.identity.snapshot());
    // Read once: a zone changed while watching applies from the next page load.
    let (zone, _) = crate::view::zone_of(&state, &who.name).await;
    let identity = state.identity.clone();
    let receiver = state.pipeline.subscribe();
    let mut pending = VecDeque::new();
    pending.push_back(sse::Event::default().event("ready").data("listening"));
    let stream = futures_util::stream::unfold(
        (receiver, (filter, zone), pending, identity),
        |(mut receiver, how, mut pending, identity)| async move {
            loop {
                if let Some(next) = pending.pop_front() {
                    return Some((Ok(next), (receiver, how, pending, identity)));
                }
                match receiver.recv().await {
                    Ok(batch) => {
                        pending.extend(rows_of(&batch, &how.0, &how.1, &identity.snapshot()));
                    }
                    Err(RecvError::Lagged(n)) => pending
                        .push_back(sse::Event::default().event("skipped").data(n.to_string())),
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn rows_of<'a>(
    batch: &'a LiveBatch,
    filter: &'a LiveFilter,
    zone: &'a Zone,
    dir: &'a Directory,
) -> impl Iterator<Item = sse::Event> + 'a {
    batch.iter().filter(|e| filter.matches(e)).map(move |e| {
        let row = serde_json::to_string(&live_row(e, dir, zone)).unwrap_or_default();
        sse::Event::default().event("row").data(row)
    })
}

/// `GET /static/live.js`: the live monitor's script (vendored, no framework).
pub async fn live_script() -> Response {
    crate::view::script(include_str!("../../static/live.js"))
}
