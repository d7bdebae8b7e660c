//! The identity directory's API: people, places, imports and resolution gaps.
//!
//! A person's profile and a place's activity join the directory (who, what, where) with the
//! event store (what happened): the timeline is a search for the person's resolved id, so it
//! merges badge swipes, camera sightings, logons and sudo in one list, newest first.

use crate::access::Permission;
use crate::auth::Principal;
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_identity::{Directory, hr, records};
use tandem_model::Event;
use tandem_store::SearchRequest;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Matches name, id, e-mail, department (case-insensitive substring).
    #[serde(default)]
    pub q: String,
    pub limit: Option<usize>,
}

/// `GET /api/v1/people`
#[utoipa::path(
    get,
    path = "/api/v1/people",
    tag = "Directory",
    params(ListParams),
    responses((status = 200, description = "People matching `q`.", body = crate::openapi::PeopleAnswer)),
)]
pub async fn people(
    _who: Principal,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Json<Value> {
    let dir = state.identity.snapshot();
    let limit = params.limit.unwrap_or(100).min(10_000);
    let matches = matching_people(&dir, &params.q);
    Json(json!({
        "total": matches.len(),
        "people": matches.into_iter().take(limit).collect::<Vec<_>>(),
    }))
}

/// People whose name, id, e-mail or department contains `q` (case-insensitive), in id
/// order; everyone when `q` is empty. The API and the console list the same people.
pub(crate) fn matching_people<'a>(dir: &'a Directory, q: &str) -> Vec<&'a tandem_identity::Person> {
    let q = q.trim().to_lowercase();
    dir.people()
        .into_iter()
        .filter(|p| {
            q.is_empty()
                || [
                    Some(&p.name),
                    Some(&p.id),
                    p.email.as_ref(),
                    p.department.as_ref(),
                ]
                .into_iter()
                .flatten()
                .any(|v| v.to_lowercase().contains(&q))
        })
        .collect()
}

/// The newest `limit` events matching `query`, and how many matched in all.
pub(crate) async fn recent_events(
    state: &AppState,
    query: String,
    limit: usize,
) -> Result<(u64, Vec<Event>), ApiError> {
    recent_events_in(state, query, limit, None, None).await
}

/// [`recent_events`] between `from` and `to` (open ends when `None`).
pub(crate) async fn recent_events_in(
    state: &AppState,
    query: String,
    limit: usize,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(u64, Vec<Event>), ApiError> {
    let parsed = tandem_query::parse(&query).map_err(|e| ApiError::bad_request(e.message))?;
    let mut request = SearchRequest::new(parsed);
    request.limit = limit;
    request.from = from;
    request.to = to;
    let result = state.run_search(None, request).await?;
    match result {
        tandem_store::SearchResult::Events(page) => Ok((page.total, page.events)),
        tandem_store::SearchResult::Aggregation(_) => Ok((0, Vec::new())),
    }
}

/// Quotes a value for the query language.
pub(crate) fn quoted(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    pub limit: Option<usize>,
}

/// `GET /api/v1/people/{id}`: profile, history and merged physical/digital timeline.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}",
    tag = "Directory",
    params(("id" = String, Path, description = "The person id."), TimelineParams),
    responses((status = 200, description = "The person, their devices, history and recent events (the view is audited).", body = crate::openapi::PersonAnswer), (status = 404, description = "No such person.", body = crate::openapi::ErrorBody)),
)]
pub async fn person(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<TimelineParams>,
) -> Result<Json<Value>, ApiError> {
    let dir = state.identity.snapshot();
    let history = dir
        .person_history(&id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no person `{id}`")))?;
    // Only people who exist: a mistyped id shows nothing about anyone.
    crate::audit::person_viewed(&state, &who, &id).await;
    let person = dir.person(&id);
    let devices = dir.devices_of(&id);
    let (total, timeline) = recent_events(
        &state,
        format!("person:{}", quoted(&id)),
        params.limit.unwrap_or(100).min(1000),
    )
    .await?;
    Ok(Json(json!({
        "person": person,
        "devices": devices,
        "history": history.versions().iter().map(|v| json!({
            "effective": v.effective,
            "recorded": v.recorded,
            "origin": v.origin,
            "status": v.state.as_ref().map(|p| p.status.name()),
            "department": v.state.as_ref().and_then(|p| p.department.clone()),
        })).collect::<Vec<_>>(),
        "timeline_total": total,
        "timeline": timeline,
    })))
}

/// `GET /api/v1/places`: the place tree, flat, sites first.
#[utoipa::path(
    get,
    path = "/api/v1/places",
    tag = "Directory",
    responses((status = 200, description = "The place tree, flat, sites first: `{\"places\": […]}`.", body = Object)),
)]
pub async fn places(_who: Principal, State(state): State<AppState>) -> Json<Value> {
    let dir = state.identity.snapshot();
    Json(json!({ "places": dir.places() }))
}

/// The search for events at a place, by the field its kind is stored in.
pub(crate) fn place_query(dir: &Directory, id: &str) -> String {
    use tandem_identity::PlaceKind::*;
    let Some(p) = dir.place(id) else {
        return String::new();
    };
    let field = match p.kind {
        Site => "site",
        Building => "place.building",
        Floor => "place.floor",
        Zone => "zone",
        Door => "door",
        Reader => "place.reader",
        Camera => "place.camera",
    };
    format!("{field}:{}", quoted(&p.id))
}

/// `GET /api/v1/places/{id}`: a place, where it sits, what is in it, and recent events there.
#[utoipa::path(
    get,
    path = "/api/v1/places/{id}",
    tag = "Directory",
    params(("id" = String, Path, description = "The place id."), TimelineParams),
    responses((status = 200, description = "The place with its lineage, children, devices and recent events: `{place, lineage, children, devices, events_total, events}`.", body = Object), (status = 404, description = "No such place.", body = crate::openapi::ErrorBody)),
)]
pub async fn place(
    _who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<TimelineParams>,
) -> Result<Json<Value>, ApiError> {
    let dir = state.identity.snapshot();
    let place = dir
        .find_place(&id)
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no place `{id}`")))?;
    let devices: Vec<_> = dir
        .devices()
        .into_iter()
        .filter(|d| d.place.as_deref() == Some(place.id.as_str()))
        .cloned()
        .collect();
    let (total, events) = recent_events(
        &state,
        place_query(&dir, &place.id),
        params.limit.unwrap_or(100).min(1000),
    )
    .await?;
    Ok(Json(json!({
        "place": place,
        "lineage": dir.lineage(&place.id).iter().skip(1).collect::<Vec<_>>(),
        "children": dir.children(&place.id),
        "devices": devices,
        "events_total": total,
        "events": events,
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    #[serde(default)]
    pub dry_run: bool,
    /// File name, which tells the format of a places/devices file (`.yaml`, `.json`, `.csv`).
    #[serde(default)]
    pub file: String,
}

/// `POST /api/v1/directory/hr`: an HR CSV export. `?dry_run=true` plans without changing.
#[utoipa::path(
    post,
    path = "/api/v1/directory/hr",
    tag = "Directory",
    params(ImportParams),
    request_body(content = String, content_type = "text/csv", description = "The HR CSV export."),
    responses((status = 200, description = "`{\"dry_run\", \"plan\"}`: what changed (or would).", body = Object), (status = 400, description = "The file does not read; the error names the line.", body = crate::openapi::ErrorBody)),
)]
pub async fn import_hr(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<ImportParams>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ImportDirectory)?;
    let identity = state.identity.clone();
    let columns = state.hr_columns.clone();
    let origin = format!(
        "hr:{}",
        if params.file.is_empty() {
            "api"
        } else {
            &params.file
        }
    );
    let plan = tokio::task::spawn_blocking(move || -> Result<hr::Plan, ApiError> {
        let mut plan = hr::plan(
            &identity.snapshot(),
            &body,
            &columns,
            &origin,
            chrono::Utc::now(),
        )?;
        if !params.dry_run {
            identity.commit(std::mem::take(&mut plan.changes))?;
        }
        Ok(plan)
    })
    .await??;
    if !params.dry_run {
        crate::audit::by(
            &state,
            &who,
            "directory.import_hr",
            &format!("file:{}", params.file),
            json!({ "rows": plan.rows, "new_people": plan.new_people, "updated_people": plan.updated_people, "terminations": plan.terminations }),
        )
        .await;
    }
    Ok(Json(json!({ "dry_run": params.dry_run, "plan": plan })))
}

/// `POST /api/v1/directory/records`: places and devices (YAML, JSON or CSV).
#[utoipa::path(
    post,
    path = "/api/v1/directory/records",
    tag = "Directory",
    params(ImportParams),
    request_body(content = String, content_type = "application/yaml", description = "The places/devices/service accounts records file (YAML or JSON)."),
    responses((status = 200, description = "`{\"dry_run\", \"plan\"}`: what changed (or would).", body = Object), (status = 400, description = "The file does not read; the error names the line.", body = crate::openapi::ErrorBody)),
)]
pub async fn import_records(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<ImportParams>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ImportDirectory)?;
    let identity = state.identity.clone();
    let file = if params.file.is_empty() {
        "records.yaml".to_owned()
    } else {
        params.file.clone()
    };
    let plan = tokio::task::spawn_blocking(move || -> Result<records::Plan, ApiError> {
        let parsed = records::RecordsFile::parse(&file, &body)?;
        let mut plan = records::plan(
            &identity.snapshot(),
            &parsed,
            &format!("records:{file}"),
            chrono::Utc::now(),
        )?;
        if !params.dry_run {
            identity.commit(std::mem::take(&mut plan.changes))?;
        }
        Ok(plan)
    })
    .await??;
    if !params.dry_run {
        crate::audit::by(
            &state,
            &who,
            "directory.import_records",
            &format!("file:{}", params.file),
            json!({}),
        )
        .await;
    }
    Ok(Json(json!({ "dry_run": params.dry_run, "plan": plan })))
}

/// Replaces a place's or device's `external_ids` with `ids`, through the same validation and
/// change log as a places-file import (a vendor id already another record's is refused).
async fn set_external_ids(
    who: Principal,
    state: AppState,
    kind: &'static str,
    id: String,
    ids: tandem_identity::ExternalIds,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ImportDirectory)?;
    let identity = state.identity.clone();
    let target = id.clone();
    let record = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let dir = identity.snapshot();
        let missing = || ApiError::new(StatusCode::NOT_FOUND, format!("no {kind} `{target}`"));
        let mut file = records::RecordsFile::default();
        let record = if kind == "place" {
            let mut place = dir.place(&target).cloned().ok_or_else(missing)?;
            place.external_ids = ids;
            let v = json!(place);
            file.places.push(place);
            v
        } else {
            let mut device = dir.device(&target).cloned().ok_or_else(missing)?;
            device.external_ids = ids;
            let v = json!(device);
            file.devices.push(device);
            v
        };
        let mut plan = records::plan(&dir, &file, "api:external_ids", chrono::Utc::now())?;
        identity.commit(std::mem::take(&mut plan.changes))?;
        Ok(record)
    })
    .await??;
    crate::audit::by(
        &state,
        &who,
        "directory.external_ids",
        &format!("{kind}:{id}"),
        json!({ "external_ids": record["external_ids"] }),
    )
    .await;
    Ok(Json(json!({ kind: record })))
}

/// `PUT /api/v1/places/{id}/external_ids`: `{"verkada": "<door_id>", …}` replaces the
/// place's vendor ids.
#[utoipa::path(
    put,
    path = "/api/v1/places/{id}/external_ids",
    tag = "Directory",
    params(("id" = String, Path, description = "The place id.")),
    request_body(content = Object, content_type = "application/json", description = "The vendor ids of the place, by system: `{\"verkada\": [\"door-id\"]}`."),
    responses((status = 200, description = "The place as stored.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such place.", body = crate::openapi::ErrorBody)),
)]
pub async fn set_place_external_ids(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(ids): Json<tandem_identity::ExternalIds>,
) -> Result<Json<Value>, ApiError> {
    set_external_ids(who, state, "place", id, ids).await
}

/// `PUT /api/v1/devices/{id}/external_ids`: the same for a device.
#[utoipa::path(
    put,
    path = "/api/v1/devices/{id}/external_ids",
    tag = "Directory",
    params(("id" = String, Path, description = "The device id.")),
    request_body(content = Object, content_type = "application/json", description = "The vendor ids of the device, by system."),
    responses((status = 200, description = "The device as stored.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such device.", body = crate::openapi::ErrorBody)),
)]
pub async fn set_device_external_ids(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(ids): Json<tandem_identity::ExternalIds>,
) -> Result<Json<Value>, ApiError> {
    set_external_ids(who, state, "device", id, ids).await
}

/// `GET /api/v1/service-accounts`: every service account with its owner.
#[utoipa::path(
    get,
    path = "/api/v1/service-accounts",
    tag = "Directory",
    responses((status = 200, description = "Every service account with its owner: `{\"service_accounts\": […]}`.", body = Object)),
)]
pub async fn service_accounts(_who: Principal, State(state): State<AppState>) -> Json<Value> {
    let dir = state.identity.snapshot();
    let accounts: Vec<Value> = dir
        .service_accounts()
        .into_iter()
        .map(|a| service_account_json(&dir, a))
        .collect();
    Json(json!({ "service_accounts": accounts }))
}

/// A service account with its owner's name, so a reader sees who to ask.
fn service_account_json(dir: &Directory, a: &tandem_identity::ServiceAccount) -> Value {
    let mut v = json!(a);
    if let Some(owner) = a.owner.as_deref().and_then(|o| dir.person(o)) {
        v["owner_name"] = json!(owner.name);
    }
    v
}

/// `GET /api/v1/service-accounts/{id}`
#[utoipa::path(
    get,
    path = "/api/v1/service-accounts/{id}",
    tag = "Directory",
    params(("id" = String, Path, description = "The service account id.")),
    responses((status = 200, description = "`{\"service_account\": {…}}`.", body = Object), (status = 404, description = "No such service account.", body = crate::openapi::ErrorBody)),
)]
pub async fn service_account(
    _who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dir = state.identity.snapshot();
    let account = dir.service_account(&id).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, format!("no service account `{id}`"))
    })?;
    Ok(Json(
        json!({ "service_account": service_account_json(&dir, account) }),
    ))
}

/// `PUT /api/v1/service-accounts/{id}`: creates or replaces a service account, checked like
/// a places-file import (its owner must be a person, its names and app ids no other
/// account's) and kept in the directory's history.
#[utoipa::path(
    put,
    path = "/api/v1/service-accounts/{id}",
    tag = "Directory",
    params(("id" = String, Path, description = "The service account id.")),
    request_body(content = Object, content_type = "application/json", description = "The service account as in the records file (docs/directory.md)."),
    responses((status = 200, description = "`{\"service_account\": {…}}` as stored.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody)),
)]
pub async fn put_service_account(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(mut account): Json<tandem_identity::ServiceAccount>,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ImportDirectory)?;
    if !account.id.is_empty() && account.id != id {
        return Err(ApiError::bad_request(format!(
            "the body's id `{}` is not the path's `{id}`",
            account.id
        )));
    }
    account.id = id.clone();
    let identity = state.identity.clone();
    let plan = tokio::task::spawn_blocking(move || -> Result<records::Plan, ApiError> {
        let file = records::RecordsFile {
            service_accounts: vec![account],
            ..records::RecordsFile::default()
        };
        let mut plan = records::plan(
            &identity.snapshot(),
            &file,
            "api:service_account",
            chrono::Utc::now(),
        )?;
        identity.commit(std::mem::take(&mut plan.changes))?;
        Ok(plan)
    })
    .await??;
    let dir = state.identity.snapshot();
    let stored = dir
        .service_account(&id)
        .map(|a| service_account_json(&dir, a));
    crate::audit::by(
        &state,
        &who,
        "directory.service_account",
        &format!("service_account:{id}"),
        json!({ "new": plan.new, "updated": plan.updated, "service_account": stored }),
    )
    .await;
    Ok(Json(json!({ "service_account": stored })))
}

/// `GET /api/v1/directory/gaps`: per source, how many events named someone or something
/// the directory does not know.
#[utoipa::path(
    get,
    path = "/api/v1/directory/gaps",
    tag = "Sources",
    responses((status = 200, description = "Directory counts and, per source, events naming what the directory does not know.", body = Object)),
)]
pub async fn gaps(_who: Principal, State(state): State<AppState>) -> Json<Value> {
    let dir = state.identity.snapshot();
    Json(json!({
        "people": dir.people().len(),
        "devices": dir.devices().len(),
        "places": dir.places().len(),
        "service_accounts": dir.service_accounts().len(),
        "sources": state.identity.gaps(),
    }))
}
