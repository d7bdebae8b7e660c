//! Alerts over the API: the queue, one alert with its findings, timeline and risk, triage
//! (with the version it was based on: a stale change answers 409 naming who changed what),
//! bulk acknowledge/close, alerts raised by hand or by another system, and exceptions.
//!
//! The rules live in `tandem_cases::alerter`; this module reads requests, calls the alerts
//! stage on a blocking thread (it writes to the store and announces events through the
//! pipeline) and audits every change.

use crate::auth::Principal;
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tandem_cases::alerter::{AlertChange, AlertQuery, Alerter, NewAlert, NewException};
use tandem_cases::{AlertStatus, CaseError};
use tandem_model::Severity;

/// A JSON body, whatever its `Content-Type` says, or a 400 naming what is wrong.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not what this route takes: {e}")))
}

/// Runs an alerts stage call on a blocking thread.
pub(crate) async fn with_alerter<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Alerter) -> Result<T, CaseError> + Send + 'static,
) -> Result<T, ApiError> {
    let alerter: Arc<Alerter> = state.cases.alerter.clone();
    tokio::task::spawn_blocking(move || f(&alerter))
        .await?
        .map_err(ApiError::from)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// Comma-separated statuses: `new,acknowledged`.
    pub status: Option<String>,
    /// The lowest severity shown.
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub site: Option<String>,
    /// `person:p-17`, `device:d-3`, …
    pub entity: Option<String>,
    pub assignee: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The query a list's parameters ask for, or why they are wrong.
pub(crate) fn alert_query(p: &AlertParams) -> Result<AlertQuery, ApiError> {
    let mut statuses = Vec::new();
    for s in nonempty(&p.status).iter().flat_map(|s| s.split(',')) {
        let s = s.trim();
        if s.is_empty() || s == "all" {
            continue;
        }
        statuses.push(AlertStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status `{s}` is not one of new, acknowledged, in_progress, closed"
            ))
        })?);
    }
    let min_severity = match nonempty(&p.severity) {
        Some(s) => Some(
            s.parse::<Severity>()
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        None => None,
    };
    Ok(AlertQuery {
        statuses,
        min_severity,
        rule: nonempty(&p.rule),
        site: nonempty(&p.site),
        entity: nonempty(&p.entity),
        assignee: nonempty(&p.assignee),
        limit: p.limit.unwrap_or(50).clamp(1, 500),
        offset: p.offset.unwrap_or(0).min(1_000_000),
    })
}

/// `GET /api/v1/alerts`: the queue, most recently seen first.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "Alerts",
    params(AlertParams),
    responses((status = 200, description = "Alerts matching the filters.", body = crate::openapi::AlertsAnswer), (status = 400, description = "A filter is not one of its values.", body = crate::openapi::ErrorBody)),
)]
pub async fn list(
    _who: Principal,
    State(state): State<AppState>,
    Query(params): Query<AlertParams>,
) -> Result<Json<Value>, ApiError> {
    let query = alert_query(&params)?;
    let (total, alerts) = with_alerter(&state, move |a| a.list(&query)).await?;
    Ok(Json(json!({ "total": total, "alerts": alerts })))
}

/// `GET /api/v1/alerts/{id}`: one alert with its findings, timeline and its entities' risk.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "Alerts",
    params(("id" = String, Path, description = "The alert id.")),
    responses((status = 200, description = "The alert with its findings, timeline and risk.", body = crate::openapi::AlertAnswer), (status = 404, description = "No such alert.", body = crate::openapi::ErrorBody)),
)]
pub async fn get_one(
    _who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let now = chrono::Utc::now();
    let v = with_alerter(&state, move |a| {
        let alert = a.get(&id)?;
        let findings = a.findings(&id, 200)?;
        let timeline = a.timeline(&id)?;
        let risk = alert
            .entity_keys()
            .iter()
            .filter(|e| tandem_cases::risk::scored(e))
            .map(|e| a.risk(e, now))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({ "alert": alert, "findings": findings, "timeline": timeline, "risk": risk }))
    })
    .await?;
    Ok(Json(v))
}

/// A triage change as sent: the version it was based on, and what changes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = AlertPatch)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub base_version: Option<u64>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub resolution: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
}

/// The change a form or body asks for.
pub(crate) fn alert_change(
    status: Option<&str>,
    resolution: Option<&str>,
    assignee: Option<String>,
) -> Result<AlertChange, ApiError> {
    let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(AlertStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status `{s}` is not one of new, acknowledged, in_progress, closed"
            ))
        })?),
        None => None,
    };
    let resolution = match resolution.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(tandem_cases::Resolution::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "resolution `{s}` is not one of true_positive, false_positive, benign, duplicate, indeterminate"
            ))
        })?),
        None => None,
    };
    Ok(AlertChange {
        status,
        resolution,
        assignee,
    })
}

/// `PATCH /api/v1/alerts/{id}`: triage. `base_version` is required.
#[utoipa::path(
    patch,
    path = "/api/v1/alerts/{id}",
    tag = "Alerts",
    params(("id" = String, Path, description = "The alert id.")),
    request_body(content = Patch, content_type = "application/json", description = "The change, from the version the caller saw."),
    responses((status = 200, description = "The alert as changed.", body = crate::openapi::AlertOne), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such alert.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn patch(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let p: Patch = json_body(&body)?;
    let base = p.base_version.ok_or_else(|| {
        ApiError::bad_request("base_version is required: the version of the alert you saw")
    })?;
    let change = alert_change(p.status.as_deref(), p.resolution.as_deref(), p.assignee)?;
    let alert = triage(&state, &who, &id, base, change).await?;
    Ok(Json(json!({ "alert": alert })))
}

/// One triage change, audited; shared by the API and the console.
pub(crate) async fn triage(
    state: &AppState,
    who: &Principal,
    id: &str,
    base: u64,
    change: AlertChange,
) -> Result<tandem_cases::Alert, ApiError> {
    let (actor, alert_id, c) = (who.name.clone(), id.to_owned(), change.clone());
    let alert = with_alerter(state, move |a| {
        a.change(&alert_id, base, &c, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        state,
        who,
        "alert.triage",
        id,
        json!({ "change": change, "version": alert.version }),
    )
    .await;
    Ok(alert)
}

/// `POST /api/v1/alerts`: an alert raised by a person or another system.
#[utoipa::path(
    post,
    path = "/api/v1/alerts",
    tag = "Alerts",
    request_body(content = crate::openapi::NewAlert, content_type = "application/json", description = "The alert."),
    responses((status = 201, description = "The alert raised by hand.", body = crate::openapi::AlertOne), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody)),
)]
pub async fn create(
    who: Principal,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new: NewAlert = json_body(&body)?;
    let actor = who.name.clone();
    let alert = with_alerter(&state, move |a| a.raise(&new, &actor, chrono::Utc::now())).await?;
    crate::audit::by(
        &state,
        &who,
        "alert.raise",
        &alert.id,
        json!({ "title": alert.title, "severity": alert.severity.name() }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!({ "alert": alert }))))
}

/// `POST /api/v1/alerts/bulk` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = AlertBulk)]
#[serde(deny_unknown_fields)]
pub struct Bulk {
    pub ids: Vec<String>,
    /// `acknowledge` or `close`.
    pub action: String,
    #[serde(default)]
    pub resolution: Option<String>,
}

/// Most alerts one bulk change touches.
pub const MAX_BULK: usize = 500;

/// `POST /api/v1/alerts/bulk`: acknowledge or close many alerts, each from its current
/// version; the answer lists each alert's outcome.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/bulk",
    tag = "Alerts",
    request_body(content = Bulk, content_type = "application/json", description = "The alerts and the action."),
    responses((status = 200, description = "`{\"results\": […]}`: each alert's outcome.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody)),
)]
pub async fn bulk(
    who: Principal,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: Bulk = json_body(&body)?;
    let results = bulk_change(&state, &who, b.ids, &b.action, b.resolution.as_deref()).await?;
    Ok(Json(json!({ "results": results })))
}

/// A bulk change, audited once with every id; shared by the API and the console.
pub(crate) async fn bulk_change(
    state: &AppState,
    who: &Principal,
    ids: Vec<String>,
    action: &str,
    resolution: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "name 1 to {MAX_BULK} alerts"
        )));
    }
    let status = match action {
        "acknowledge" => "acknowledged",
        "close" => "closed",
        other => {
            return Err(ApiError::bad_request(format!(
                "action `{other}` is not acknowledge or close"
            )));
        }
    };
    let change = alert_change(Some(status), resolution, None)?;
    if change.status == Some(AlertStatus::Closed) && change.resolution.is_none() {
        return Err(ApiError::bad_request(
            "closing needs a resolution: one of true_positive, false_positive, benign, duplicate, indeterminate",
        ));
    }
    let (actor, c, list) = (who.name.clone(), change.clone(), ids.clone());
    let done = with_alerter(state, move |a| {
        Ok(a.bulk(&list, &c, &actor, chrono::Utc::now()))
    })
    .await?;
    let results: Vec<Value> = done
        .into_iter()
        .map(|(id, r)| match r {
            Ok(a) => json!({ "id": id, "ok": true, "version": a.version, "status": a.status }),
            Err(e) => json!({ "id": id, "ok": false, "error": e.to_string() }),
        })
        .collect();
    crate::audit::by(
        state,
        who,
        "alert.bulk",
        action,
        json!({ "ids": ids, "change": change }),
    )
    .await;
    Ok(results)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExceptionParams {
    /// Include ended and expired exceptions.
    #[serde(default)]
    pub all: bool,
}

/// `GET /api/v1/alerts/exceptions`: exceptions in force (`?all=true`: every one).
#[utoipa::path(
    get,
    path = "/api/v1/alerts/exceptions",
    tag = "Alerts",
    params(ExceptionParams),
    responses((status = 200, description = "`{\"exceptions\": […]}`.", body = Object)),
)]
pub async fn exceptions(
    _who: Principal,
    State(state): State<AppState>,
    Query(p): Query<ExceptionParams>,
) -> Result<Json<Value>, ApiError> {
    let list = with_alerter(&state, move |a| a.exceptions(p.all, chrono::Utc::now())).await?;
    Ok(Json(json!({ "exceptions": list })))
}

/// `POST /api/v1/alerts/exceptions`: an allow-list entry owned by the caller.
#[utoipa::path(
    post,
    path = "/api/v1/alerts/exceptions",
    tag = "Alerts",
    request_body(content = crate::openapi::NewException, content_type = "application/json", description = "The allow-list entry."),
    responses((status = 201, description = "`{\"exception\": {…}}`, owned by the caller.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody)),
)]
pub async fn add_exception(
    who: Principal,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new: NewException = json_body(&body)?;
    let owner = who.name.clone();
    let x = with_alerter(&state, move |a| {
        a.add_exception(&new, &owner, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        &state,
        &who,
        "alert.exception.add",
        &x.id,
        json!({ "rule": x.rule, "entity": x.entity, "reason": x.reason, "expires": x.expires }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!({ "exception": x }))))
}

/// `DELETE /api/v1/alerts/exceptions/{id}`: ends an exception; the record stays.
#[utoipa::path(
    delete,
    path = "/api/v1/alerts/exceptions/{id}",
    tag = "Alerts",
    params(("id" = String, Path, description = "The exception id.")),
    responses((status = 200, description = "`{\"exception\": {…}}`, ended; the record stays.", body = Object), (status = 404, description = "No such exception.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn end_exception(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (actor, xid) = (who.name.clone(), id.clone());
    let x = with_alerter(&state, move |a| {
        a.end_exception(&xid, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(&state, &who, "alert.exception.end", &id, json!({})).await;
    Ok(Json(json!({ "exception": x })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RiskParams {
    pub entity: String,
}

/// `GET /api/v1/risk?entity=person:p-1`: an entity's score with every contribution.
#[utoipa::path(
    get,
    path = "/api/v1/risk",
    tag = "Alerts",
    params(RiskParams),
    responses((status = 200, description = "`{\"risk\": {…}}`: the entity's score and what makes it.", body = Object), (status = 400, description = "`entity` is not `person:<id>` or `device:<id>`.", body = crate::openapi::ErrorBody)),
)]
pub async fn risk(
    _who: Principal,
    State(state): State<AppState>,
    Query(p): Query<RiskParams>,
) -> Result<Json<Value>, ApiError> {
    if !tandem_cases::risk::scored(&p.entity) {
        return Err(ApiError::bad_request(
            "entity must be person:<id> or device:<id>",
        ));
    }
    let score = with_alerter(&state, move |a| a.risk(&p.entity, chrono::Utc::now())).await?;
    Ok(Json(json!({ "risk": score })))
}

/// Each rule's closed alerts and false-positive ratio, by rule id (empty if unreadable:
/// the rules page still shows the rules).
pub(crate) async fn false_positive_ratios(
    state: &AppState,
) -> std::collections::HashMap<String, tandem_cases::alerter::RuleRatio> {
    match with_alerter(state, |a| a.false_positive_ratios()).await {
        Ok(list) => list.into_iter().map(|r| (r.rule.clone(), r)).collect(),
        Err(e) => {
            tracing::warn!(error = %e.message, "false-positive ratios unavailable");
            Default::default()
        }
    }
}

/// Adds `alerts_closed` and `false_positive_ratio` (null before any alert of the rule is
/// closed) to each rule of a rules listing.
pub(crate) async fn add_false_positive_ratios(state: &AppState, listed: &mut Value) {
    let ratios = false_positive_ratios(state).await;
    if let Some(rules) = listed.get_mut("rules").and_then(|r| r.as_array_mut()) {
        for r in rules {
            let id = r.get("id").and_then(|i| i.as_str()).unwrap_or_default();
            let (closed, ratio) = match ratios.get(id) {
                Some(x) if x.closed > 0 => (x.closed, json!(x.ratio)),
                _ => (0, Value::Null),
            };
            r["alerts_closed"] = closed.into();
            r["false_positive_ratio"] = ratio;
        }
    }
}
