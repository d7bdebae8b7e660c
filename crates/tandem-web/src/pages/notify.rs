//! The delivery log page: every notification owed to a channel, its state, attempts and the
//! last answer received, filtered by state; a dead one can be sent again. Beside it the
//! channels, whose secrets are shown only as set or not set.

use crate::clock::Stamp;
use crate::notify::{DeliveryParams, channels, counts, deliveries, retry};
use crate::view::{Visitor, render};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

#[derive(Serialize)]
struct Row {
    id: String,
    created: Stamp,
    channel: String,
    kind: String,
    case_id: Option<String>,
    case_link: Option<String>,
    summary: String,
    state: &'static str,
    attempts: u32,
    next_attempt: Stamp,
    last_status: Option<u16>,
    last_answer: String,
}

#[derive(Serialize)]
struct StateChoice {
    code: &'static str,
    count: u64,
    selected: bool,
}

/// `GET /notifications?state=…&channel=…`.
pub async fn page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<DeliveryParams>,
) -> Result<Response, ApiError> {
    let query = params.query()?;
    let selected = query.state;
    let rows = deliveries(&state, query).await?;
    let zone = v.zone.plain();
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|d| Row {
            case_link: d.case_id.as_ref().map(|c| {
                if c.starts_with("ALR-") {
                    format!("/alerts/{c}")
                } else {
                    format!("/incidents/{c}")
                }
            }),
            id: d.id,
            created: crate::clock::stamp(d.created, &zone),
            channel: d.channel,
            kind: d.kind,
            case_id: d.case_id,
            summary: d.summary,
            state: d.state.code(),
            attempts: d.attempts,
            next_attempt: crate::clock::stamp(d.next_attempt, &zone),
            last_status: d.last_status,
            last_answer: d.last_answer,
        })
        .collect();
    let states: Vec<StateChoice> = counts(&state)
        .await?
        .into_iter()
        .map(|(s, n)| StateChoice {
            code: s.code(),
            count: n,
            selected: Some(s) == selected,
        })
        .collect();
    let may_retry = v
        .who
        .role
        .permits(crate::access::Permission::RetryDeliveries);
    Ok(render(
        "notifications.html",
        context! {
            rows => Serde(&rows), states => Serde(&states),
            channels => Serde(&channels(&state)), may_retry => may_retry,
            ..v.base("notifications")
        },
    ))
}

/// `POST /notifications/{id}/retry`: send a dead message again, back to the log.
pub async fn retry_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    match retry(&state, &v.who, &id).await {
        Ok(()) => Redirect::to("/notifications?state=pending").into_response(),
        Err(e) => e.into_response(),
    }
}
