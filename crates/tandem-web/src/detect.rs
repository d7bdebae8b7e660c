//! Findings and rules over the API.
//!
//! Findings are stored as `detection_finding` events, so listing them is a search; this
//! endpoint adds the finding's own fields and the evidence events, which is what an analyst
//! opens a finding for.

use crate::auth::Principal;
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_model::{Event, Finding, Ulid};
use tandem_store::SearchResult;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingParams {
    /// Narrows the findings with the query language (`finding.rule_id:tandem.tailgating`, `person:E1042`).
    #[serde(default)]
    pub q: String,
    pub from: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/findings`: newest first.
#[utoipa::path(
    get,
    path = "/api/v1/findings",
    tag = "Findings",
    params(FindingParams),
    responses((status = 200, description = "Findings, newest first.", body = crate::openapi::FindingsAnswer), (status = 400, description = "The query does not parse (`position` and `caret` say where) or a time bound is wrong.", body = crate::openapi::ErrorBody), (status = 422, description = "The search ran past its time limit (`[search] time_limit_secs`); narrow it.", body = crate::openapi::ErrorBody), (status = 429, description = "Too many searches of yours are running (`[search] max_concurrent_per_user`).", body = crate::openapi::ErrorBody)),
)]
pub async fn findings(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<FindingParams>,
) -> Result<Json<Value>, ApiError> {
    let request = crate::api::search_request(&crate::api::SearchParams {
        q: findings_query(&params.q),
        from: params.from,
        to: None,
        limit: params.limit,
        offset: None,
    })?;
    let result = state.run_search(Some(&who.name), request).await?;
    let SearchResult::Events(page) = result else {
        return Err(ApiError::bad_request(
            "findings cannot be aggregated here; use /api/v1/search",
        ));
    };
    let list: Vec<Value> = page
        .events
        .iter()
        .filter_map(|e| {
            let f = Finding::from_event(e)?;
            Some(json!({ "id": e.id, "finding": f }))
        })
        .collect();
    Ok(Json(json!({ "total": page.total, "findings": list })))
}

/// The search for findings narrowed by `q` (the query language), shared by the API and the
/// console so both list the same findings.
pub(crate) fn findings_query(q: &str) -> String {
    if q.trim().is_empty() {
        "class:detection_finding".to_owned()
    } else {
        format!("class:detection_finding AND ({q})")
    }
}

/// `GET /api/v1/findings/{id}`: one finding with its evidence events.
#[utoipa::path(
    get,
    path = "/api/v1/findings/{id}",
    tag = "Findings",
    params(("id" = String, Path, description = "The finding's event id.")),
    responses((status = 200, description = "The finding with its evidence.", body = crate::openapi::FindingAnswer), (status = 400, description = "Not an event id.", body = crate::openapi::ErrorBody), (status = 404, description = "No such finding.", body = crate::openapi::ErrorBody)),
)]
pub async fn finding(
    _who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (event, finding, evidence) = load_finding(&state, &id).await?;
    Ok(Json(
        json!({ "id": event.id, "finding": finding, "evidence": evidence }),
    ))
}

/// A finding's event, the finding read from it, and its evidence events (those still
/// stored), for the API and the console page.
pub(crate) async fn load_finding(
    state: &AppState,
    id: &str,
) -> Result<(Event, Finding, Vec<Event>), ApiError> {
    let id: Ulid = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("`{id}` is not an event id")))?;
    let events = state.events.clone();
    let (event, evidence) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let Some(event) = events.event(id)? else {
            return Ok((None, Vec::new()));
        };
        let evidence = Finding::from_event(&event)
            .map(|f| f.evidence)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|eid| events.event(eid).ok().flatten())
            .collect::<Vec<_>>();
        Ok((Some(event), evidence))
    })
    .await??;
    let event = event.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such finding"))?;
    let finding = Finding::from_event(&event)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "that event is not a finding"))?;
    Ok((event, finding, evidence))
}

fn rule_control(state: &AppState) -> Result<std::sync::Arc<dyn crate::RuleControl>, ApiError> {
    state.rules.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "detection is turned off ([detect] enabled = false)",
        )
    })
}

/// `GET /api/v1/rules`: every rule with its ATT&CK tags, state and hit count.
#[utoipa::path(
    get,
    path = "/api/v1/rules",
    tag = "Rules",
    responses((status = 200, description = "Every rule with its tags, state, hit count and false-positive ratio.", body = Object), (status = 404, description = "Detection is off.", body = crate::openapi::ErrorBody)),
)]
pub async fn rules(
    _who: Principal,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let control = rule_control(&state)?;
    let mut listed = tokio::task::spawn_blocking(move || control.list()).await?;
    crate::alerts::add_false_positive_ratios(&state, &mut listed).await;
    Ok(Json(listed))
}

/// `POST /api/v1/rules/{id}/enable` or `/disable` (administrators).
#[utoipa::path(
    post,
    path = "/api/v1/rules/{id}/{action}",
    tag = "Rules",
    params(("id" = String, Path, description = "The rule id."), ("action" = String, Path, description = "`enable` or `disable`.")),
    responses((status = 200, description = "The rule's new state.", body = Object), (status = 404, description = "No such rule or action.", body = crate::openapi::ErrorBody)),
)]
pub async fn switch_rule(
    who: Principal,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    who.require(crate::Permission::ManageRules)?;
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "use /enable or /disable",
            ));
        }
    };
    let control = rule_control(&state)?;
    let rule = id.clone();
    tokio::task::spawn_blocking(move || control.set_enabled(&rule, enabled))
        .await?
        .map_err(ApiError::bad_request)?;
    crate::audit::by(
        &state,
        &who,
        if enabled {
            "rule.enable"
        } else {
            "rule.disable"
        },
        &format!("rule:{id}"),
        json!({}),
    )
    .await;
    Ok(Json(json!({ "id": id, "enabled": enabled })))
}

/// `POST /api/v1/rules/reload` (administrators): re-reads the rule directories.
#[utoipa::path(
    post,
    path = "/api/v1/rules/reload",
    tag = "Rules",
    responses((status = 200, description = "What the rule directories gave.", body = Object), (status = 400, description = "The rules could not be read; the error says why.", body = crate::openapi::ErrorBody)),
)]
pub async fn reload_rules(
    who: Principal,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    who.require(crate::Permission::ManageRules)?;
    let control = rule_control(&state)?;
    let report = tokio::task::spawn_blocking(move || control.reload())
        .await?
        .map_err(ApiError::bad_request)?;
    crate::audit::by(&state, &who, "rules.reload", "rules", json!({})).await;
    Ok(Json(report))
}
