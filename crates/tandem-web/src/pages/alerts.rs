//! The alert queue (`/alerts`: filters, risk, checkboxes for bulk acknowledge/close, keyboard
//! triage through `static/alerts.js`) and one alert (`/alerts/{id}`: rules, findings and
//! their evidence, people, risk, timeline, the triage form), and the exceptions
//! (`/alerts/exceptions`: allow-list entries with their owner, reason, expiry and the findings
//! each held back; add and end them).
//!
//! Templates get typed view structs (`Serialize`), never ad-hoc JSON, so a field a template
//! reads is a field the compiler knows.
//!
//! Changes go through the same calls as the API (`crate::alerts::{triage, bulk_change}`), so
//! a stale form answers with who changed what, and every change is audited.

use crate::alerts::{AlertParams, alert_change, alert_query, bulk_change, triage, with_alerter};
use crate::clock::Stamp;
use crate::view::{Visitor, path_segment, refusal_page, render, script};
use crate::{ApiError, AppState, Permission};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;
use serde_json::json;
use tandem_cases::alerter::{Exception, NewException};
use tandem_cases::risk::RiskScore;
use tandem_cases::{AlertStatus, Resolution};

/// `GET /static/alerts.js`: keyboard triage on the queue.
pub async fn alerts_script() -> Response {
    script(include_str!("../../static/alerts.js"))
}

/// A severity in the filter's list.
#[derive(Serialize)]
struct SeverityOption {
    code: &'static str,
    label: &'static str,
}

fn severities() -> Vec<SeverityOption> {
    ["low", "medium", "high", "critical"]
        .into_iter()
        .map(|s| SeverityOption { code: s, label: s })
        .collect()
}

fn resolutions() -> Vec<&'static str> {
    Resolution::ALL.iter().map(|r| r.code()).collect()
}

/// A person an alert is about: their name, linked to their 360 page when the directory
/// knows them.
#[derive(Serialize)]
struct PersonLink {
    name: String,
    href: Option<String>,
}

fn person_links(state: &AppState, persons: &[String]) -> Vec<PersonLink> {
    let dir = state.identity.snapshot();
    persons
        .iter()
        .map(|id| match dir.person(id) {
            Some(p) => PersonLink {
                name: p.name.clone(),
                href: Some(format!("/people/{}", path_segment(id))),
            },
            None => PersonLink {
                name: id.clone(),
                href: None,
            },
        })
        .collect()
}

/// The risk column of the queue: the first scored entity's score.
#[derive(Serialize)]
struct RiskCell {
    entity: String,
    score: f64,
    /// At or above the threshold that opens an incident.
    above: bool,
}

/// One row of the queue.
#[derive(Serialize)]
struct AlertRow {
    id: String,
    path_id: String,
    version: u64,
    title: String,
    summary: String,
    severity: &'static str,
    status: &'static str,
    count: u64,
    suppressed: u64,
    rules: Vec<String>,
    persons: Vec<PersonLink>,
    last_seen: Stamp,
    incident: Option<String>,
    assignee: Option<String>,
    risk: Option<RiskCell>,
}

/// An entry of an alert's timeline.
#[derive(Serialize)]
struct TimelineRow {
    time: Stamp,
    actor: String,
    what: String,
}

/// `GET /alerts`: the queue.
pub async fn queue_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<AlertParams>,
) -> Response {
    let mut params = params;
    // The queue opens on what still needs someone.
    if params.status.is_none() {
        params.status = Some("new,acknowledged,in_progress".into());
    }
    let query = match alert_query(&params) {
        Ok(q) => q,
        Err(e) => return refusal_page(StatusCode::BAD_REQUEST, &e.message),
    };
    let now = chrono::Utc::now();
    let listed = with_alerter(&state, move |a| {
        let (total, alerts) = a.list(&query)?;
        // One read scores every row's entity (a query per row cost most of the page).
        let keys: Vec<Option<String>> = alerts
            .iter()
            .map(|alert| {
                alert
                    .entity_keys()
                    .into_iter()
                    .find(|e| tandem_cases::risk::scored(e))
            })
            .collect();
        let wanted: Vec<String> = keys.iter().flatten().cloned().collect();
        let scores = a.risks(&wanted, now)?;
        let rows = alerts
            .into_iter()
            .zip(keys)
            .map(|(alert, key)| {
                let risk = key.and_then(|k| scores.iter().find(|s| s.entity == k).cloned());
                (alert, risk)
            })
            .collect::<Vec<_>>();
        Ok((total, rows))
    })
    .await;
    let (total, rows) = match listed {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    // Alerts can span sites: times read in the visitor's zone, UTC with `site`.
    let tz = v.zone.plain();
    let rows: Vec<AlertRow> = rows
        .into_iter()
        .map(|(a, risk)| AlertRow {
            path_id: path_segment(&a.id),
            version: a.version,
            severity: a.severity.name(),
            status: a.status.code(),
            count: a.count,
            suppressed: a.suppressed,
            rules: a.rules.iter().map(|r| r.title.clone()).collect(),
            persons: person_links(&state, &a.entities.persons),
            last_seen: crate::clock::stamp(a.last_seen, &tz),
            risk: risk.map(|r| RiskCell {
                above: r.score >= r.threshold,
                entity: r.entity,
                score: r.score,
            }),
            id: a.id,
            title: a.title,
            summary: a.summary,
            incident: a.incident,
            assignee: a.assignee,
        })
        .collect();
    render(
        "alerts.html",
        context! {
            alerts => Serde(&rows), total => total,
            status => params.status.unwrap_or_default(),
            severity => params.severity.unwrap_or_default(),
            rule => params.rule.unwrap_or_default(),
            site => params.site.unwrap_or_default(),
            entity => params.entity.unwrap_or_default(),
            severities => Serde(severities()), resolutions => resolutions(),
            statuses => AlertStatus::ALL.iter().map(|s| s.code()).collect::<Vec<_>>(),
            can_triage => v.can(Permission::TriageAlerts),
            ..v.base("alerts")
        },
    )
}

/// `GET /alerts/{id}`: one alert.
pub async fn alert_page(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    alert_view(&v, &state, &id, None).await
}

async fn alert_view(v: &Visitor, state: &AppState, id: &str, error: Option<String>) -> Response {
    let now = chrono::Utc::now();
    let aid = id.to_owned();
    let loaded = with_alerter(state, move |a| {
        let alert = a.get(&aid)?;
        let findings = a.findings(&aid, 200)?;
        let timeline = a.timeline(&aid)?;
        let risk = alert
            .entity_keys()
            .iter()
            .filter(|e| tandem_cases::risk::scored(e))
            .map(|e| a.risk(e, now))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((alert, findings, timeline, risk))
    })
    .await;
    let (alert, findings, timeline, risk) = match loaded {
        Ok(x) => x,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            return refusal_page(StatusCode::NOT_FOUND, &e.message);
        }
        Err(e) => return e.into_response(),
    };
    let tz = v.zone.plain();
    // Rules and places by name: a Sigma rule's id is a UUID, a place's a directory key.
    let rule_names: std::collections::HashMap<String, String> =
        rule_titles(state).await.into_iter().collect();
    let dir = state.identity.snapshot();
    let place_name = |id: &Option<String>| {
        id.as_deref().map(|p| {
            dir.find_place(p)
                .map_or_else(|| p.to_owned(), |k| k.name.clone())
        })
    };
    let where_ = alert.place.as_ref().and_then(|p| {
        let door = place_name(&p.door)?;
        Some(match place_name(&p.site) {
            Some(site) => format!("{door}, {site}"),
            None => door,
        })
    });
    let timeline: Vec<TimelineRow> = timeline
        .iter()
        .map(|e| TimelineRow {
            time: crate::clock::stamp(e.time, &tz),
            actor: e.actor.clone(),
            what: tandem_cases::timeline::describe(&e.kind, &e.detail),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let mut page = render(
        "alert.html",
        context! {
            alert => Serde(&alert),
            path_id => path_segment(&alert.id),
            first_seen => Serde(crate::clock::stamp(alert.first_seen, &tz)),
            last_seen => Serde(crate::clock::stamp(alert.last_seen, &tz)),
            persons => Serde(person_links(state, &alert.entities.persons)),
            findings => findings.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            evidence => alert.evidence.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            timeline => Serde(&timeline), risk => Serde::<&Vec<RiskScore>>(&risk),
            rule_names => rule_names, where_ => where_,
            statuses => AlertStatus::ALL.iter().map(|s| s.code()).collect::<Vec<_>>(),
            resolutions => resolutions(),
            can_triage => v.can(Permission::TriageAlerts),
            error => error,
            ..v.base("alerts")
        },
    );
    *page.status_mut() = status;
    page
}

fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(f: &'a [(String, String)], k: &str) -> Option<&'a str> {
    f.iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `POST /alerts/{id}/triage`: the triage form (status, resolution, assignee, the version
/// the page showed). A stale version shows the alert again with who changed what.
pub async fn triage_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let f = fields(&body);
    let Some(base) = field(&f, "base_version").and_then(|b| b.parse::<u64>().ok()) else {
        return refusal_page(
            StatusCode::BAD_REQUEST,
            "the form lacks the alert's version",
        );
    };
    let assignee = f
        .iter()
        .find(|(k, _)| k == "assignee")
        .map(|(_, v)| v.clone());
    let change = match alert_change(field(&f, "status"), field(&f, "resolution"), assignee) {
        Ok(c) => c,
        Err(e) => return refusal_page(StatusCode::BAD_REQUEST, &e.message),
    };
    match triage(&state, &v.who, &id, base, change).await {
        Ok(_) => {
            let back = match field(&f, "back") {
                Some("queue") => "/alerts".to_owned(),
                _ => format!("/alerts/{}", path_segment(&id)),
            };
            Redirect::to(&back).into_response()
        }
        Err(e) if e.status == StatusCode::CONFLICT || e.status == StatusCode::BAD_REQUEST => {
            alert_view(&v, &state, &id, Some(e.message)).await
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /alerts/bulk`: the queue's checked alerts acknowledged or closed.
pub async fn bulk_form(
    v: Visitor,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Response {
    let f = fields(&body);
    let ids: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
        .collect();
    let action = field(&f, "action").unwrap_or("acknowledge").to_owned();
    match bulk_change(&state, &v.who, ids, &action, field(&f, "resolution")).await {
        Ok(_) => Redirect::to("/alerts").into_response(),
        Err(ApiError {
            status, message, ..
        }) => refusal_page(status, &message),
    }
}

/// One exception in the list.
#[derive(Serialize)]
struct ExceptionRow {
    id: String,
    path_id: String,
    rule: String,
    /// The rule's title when it is a rule Tandem knows; `*` reads "every rule".
    rule_label: String,
    entity: String,
    /// The person's name for `person:<id>` when the directory knows them.
    entity_name: Option<String>,
    owner: String,
    reason: String,
    created: Stamp,
    expires: Stamp,
    /// `in force`, `expired` or `ended by <who>`.
    state: String,
    active: bool,
    matched: u64,
    last_matched: Option<Stamp>,
}

#[derive(serde::Deserialize, Default)]
pub struct ExceptionsParams {
    /// `all`: ended and expired exceptions too.
    #[serde(default)]
    show: String,
}

/// `GET /alerts/exceptions`: the allow-list: who owns each entry, why, until when, and how
/// many findings it held back, with the form to add one.
pub async fn exceptions_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(p): Query<ExceptionsParams>,
) -> Response {
    exceptions_view(&v, &state, p.show == "all", None).await
}

async fn exceptions_view(
    v: &Visitor,
    state: &AppState,
    all: bool,
    error: Option<(StatusCode, String)>,
) -> Response {
    let now = chrono::Utc::now();
    let list = match with_alerter(state, move |a| a.exceptions(all, now)).await {
        Ok(l) => l,
        Err(e) => return refusal_page(e.status, &e.message),
    };
    let titles = rule_titles(state).await;
    let tz = v.zone.plain();
    let directory = state.identity.snapshot();
    let rows: Vec<ExceptionRow> = list
        .into_iter()
        .map(|x: Exception| {
            let active = x.active(now);
            let state = match (&x.ended_by, x.ended) {
                (Some(by), _) => format!("ended by {by}"),
                (None, Some(_)) => "ended".to_owned(),
                (None, None) if active => "in force".to_owned(),
                (None, None) => "expired".to_owned(),
            };
            let rule_label = if x.rule == "*" {
                "every rule".to_owned()
            } else {
                titles
                    .iter()
                    .find(|(id, _)| *id == x.rule)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_else(|| x.rule.clone())
            };
            let entity_name = x
                .entity
                .strip_prefix("person:")
                .and_then(|id| directory.person(id))
                .map(|p| p.name.clone());
            ExceptionRow {
                entity_name,
                path_id: path_segment(&x.id),
                rule_label,
                created: crate::clock::stamp(x.created, &tz),
                expires: crate::clock::stamp(x.expires, &tz),
                last_matched: x.last_matched.map(|t| crate::clock::stamp(t, &tz)),
                state,
                active,
                matched: x.matched,
                id: x.id,
                rule: x.rule,
                entity: x.entity,
                owner: x.owner,
                reason: x.reason,
            }
        })
        .collect();
    let (status, message) = match error {
        Some((s, m)) => (s, Some(m)),
        None => (StatusCode::OK, None),
    };
    let default_expiry = (now + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let mut page = render(
        "exceptions.html",
        context! {
            rows => Serde(&rows), all => all, error => message,
            rules => Serde(&titles), default_expiry => default_expiry,
            can_triage => v.can(Permission::TriageAlerts),
            ..v.base("alerts")
        },
    );
    *page.status_mut() = status;
    page
}

/// Rule ids and titles for the form's list, from the rules loaded now (none when detection
/// is off).
async fn rule_titles(state: &AppState) -> Vec<(String, String)> {
    let Some(rules) = state.rules.clone() else {
        return Vec::new();
    };
    let list = tokio::task::spawn_blocking(move || rules.list())
        .await
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = list["rules"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            let id = r["id"].as_str()?.to_owned();
            let title = r["title"].as_str().unwrap_or(&id).to_owned();
            Some((id, title))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out.dedup();
    out
}

/// `POST /alerts/exceptions`: adds an exception owned by the visitor. The expiry is a day
/// (`YYYY-MM-DD`, ending at the end of that day in UTC) or an RFC 3339 time.
pub async fn add_exception_form(
    v: Visitor,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Response {
    let f = fields(&body);
    let text = |k: &str| field(&f, k).unwrap_or("").trim().to_owned();
    let expires_text = text("expires");
    let expires = match parse_expiry(&expires_text) {
        Some(t) => t,
        None => {
            return exceptions_view(
                &v,
                &state,
                false,
                Some((
                    StatusCode::BAD_REQUEST,
                    "give the expiry as a date (YYYY-MM-DD)".to_owned(),
                )),
            )
            .await;
        }
    };
    let new = NewException {
        rule: text("rule"),
        entity: text("entity"),
        reason: text("reason"),
        expires,
    };
    let owner = v.who.name.clone();
    let added = with_alerter(&state, move |a| {
        a.add_exception(&new, &owner, chrono::Utc::now())
    })
    .await;
    match added {
        Ok(x) => {
            crate::audit::by(
                &state,
                &v.who,
                "alert.exception.add",
                &x.id,
                json!({ "rule": x.rule, "entity": x.entity, "reason": x.reason, "expires": x.expires }),
            )
            .await;
            Redirect::to("/alerts/exceptions").into_response()
        }
        Err(e) => exceptions_view(&v, &state, false, Some((e.status, e.message))).await,
    }
}

fn parse_expiry(s: &str) -> Option<tandem_model::Timestamp> {
    if let Ok(d) = s.parse::<chrono::NaiveDate>() {
        return d.and_hms_opt(23, 59, 59).map(|t| t.and_utc());
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// `POST /alerts/exceptions/{id}/end`: ends an exception now; the record stays, listed under
/// "ended ones too".
pub async fn end_exception_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let (actor, xid) = (v.who.name.clone(), id.clone());
    let ended = with_alerter(&state, move |a| {
        a.end_exception(&xid, &actor, chrono::Utc::now())
    })
    .await;
    match ended {
        Ok(_) => {
            crate::audit::by(&state, &v.who, "alert.exception.end", &id, json!({})).await;
            Redirect::to("/alerts/exceptions").into_response()
        }
        Err(e) => refusal_page(e.status, &e.message),
    }
}
