//! The alert queue (`/alerts`: filters, risk, checkboxes for bulk acknowledge/close, keyboard
//! triage through `static/alerts.js`) and one alert (`/alerts/{id}`: rules, findings and
//! their evidence, people, risk, timeline, the triage form).
//!
//! Changes go through the same calls as the API (`crate::alerts::{triage, bulk_change}`), so
//! a stale form answers with who changed what, and every change is audited.

use crate::alerts::{AlertParams, alert_change, alert_query, bulk_change, triage, with_alerter};
use crate::view::{Visitor, path_segment, refusal_page, render, script};
use crate::{ApiError, AppState, Permission};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde_json::{Value, json};
use tandem_cases::{AlertStatus, Resolution};

/// `GET /static/alerts.js`: keyboard triage on the queue.
pub async fn alerts_script() -> Response {
    script(include_str!("../../static/alerts.js"))
}

fn ser<T: serde::Serialize>(v: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

fn severities() -> Vec<Value> {
    ["low", "medium", "high", "critical"]
        .iter()
        .map(|s| json!({ "code": s, "label": s }))
        .collect()
}

fn resolutions() -> Vec<&'static str> {
    Resolution::ALL.iter().map(|r| r.code()).collect()
}

fn person_links(state: &AppState, persons: &[String]) -> Vec<Value> {
    let dir = state.identity.snapshot();
    persons
        .iter()
        .map(|id| match dir.person(id) {
            Some(p) => json!({ "name": p.name, "href": format!("/people/{}", path_segment(id)) }),
            None => json!({ "name": id, "href": Value::Null }),
        })
        .collect()
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
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|(a, risk)| {
            json!({
                "id": a.id,
                "path_id": path_segment(&a.id),
                "version": a.version,
                "title": a.title,
                "summary": a.summary,
                "severity": a.severity.name(),
                "status": a.status.code(),
                "count": a.count,
                "suppressed": a.suppressed,
                "rules": a.rules.iter().map(|r| r.title.clone()).collect::<Vec<_>>(),
                "persons": person_links(&state, &a.entities.persons),
                "last_seen": crate::clock::stamp(a.last_seen, &tz),
                "incident": a.incident,
                "assignee": a.assignee,
                "risk": risk.map(|r| json!({ "entity": r.entity, "score": r.score, "above": r.score >= r.threshold })),
            })
        })
        .collect();
    render(
        "alerts.html",
        context! {
            alerts => ser(&rows), total => total,
            status => params.status.unwrap_or_default(),
            severity => params.severity.unwrap_or_default(),
            rule => params.rule.unwrap_or_default(),
            site => params.site.unwrap_or_default(),
            entity => params.entity.unwrap_or_default(),
            severities => ser(&severities()), resolutions => resolutions(),
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
    let timeline: Vec<Value> = timeline
        .iter()
        .map(|e| {
            json!({
                "time": crate::clock::stamp(e.time, &tz), "actor": e.actor,
                "what": tandem_cases::alerter::describe(&e.kind, &e.detail),
            })
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
            alert => ser(&alert),
            path_id => path_segment(&alert.id),
            first_seen => ser(&crate::clock::stamp(alert.first_seen, &tz)),
            last_seen => ser(&crate::clock::stamp(alert.last_seen, &tz)),
            persons => ser(&person_links(state, &alert.entities.persons)),
            findings => findings.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            evidence => alert.evidence.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            timeline => ser(&timeline), risk => ser(&risk),
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
