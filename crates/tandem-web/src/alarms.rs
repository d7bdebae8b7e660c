//! The alarm queue's JSON API: `/api/v1/alarms` (the queue, one alarm with what was done to
//! it, the count of unacknowledged alarms) and the actions (acknowledge, snooze, forward,
//! clear). Thin calls into `tandem_cases::alarms` on a blocking thread; every action is
//! audited, the same call serving the console's forms.

use crate::auth::Principal;
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_cases::CaseError;
use tandem_cases::alarms::{AlarmChange, Alarms, snoozed};
use tandem_store::{Alarm, AlarmQuery};

/// Runs an alarm-queue call on a blocking thread.
pub(crate) async fn with_alarms<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Alarms) -> Result<T, CaseError> + Send + 'static,
) -> Result<T, ApiError> {
    let alarms = state.alarms.clone();
    tokio::task::spawn_blocking(move || f(&alarms))
        .await?
        .map_err(ApiError::from)
}

/// `?site=…&cleared=true` on the list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlarmParams {
    #[serde(default)]
    pub site: Option<String>,
    /// Recently cleared alarms too.
    #[serde(default)]
    pub cleared: Option<bool>,
    /// Only alarms forwarded to the caller (their user name or their role).
    #[serde(default)]
    pub mine: Option<bool>,
}

/// Whether `alarm` was forwarded to `who`: to their user name, or to their role.
pub(crate) fn forwarded_to(alarm: &Alarm, who: &Principal) -> bool {
    match alarm.forwarded_to.as_deref() {
        Some(to) => to == who.name || to.strip_prefix("role:") == Some(&who.role.to_string()),
        None => false,
    }
}

/// The alarms the parameters ask for, in queue order.
pub(crate) async fn queue(
    state: &AppState,
    who: &Principal,
    params: &AlarmParams,
) -> Result<Vec<Alarm>, ApiError> {
    let query = AlarmQuery {
        site: params.site.clone().filter(|s| !s.trim().is_empty()),
        cleared: params.cleared.unwrap_or(false),
        limit: 0,
    };
    let mut list = with_alarms(state, move |a| a.list(&query)).await?;
    if params.mine.unwrap_or(false) {
        list.retain(|a| forwarded_to(a, who));
    }
    Ok(list)
}

/// An alarm as the API answers it: the record, and whether it is snoozed now.
fn alarm_json(a: &Alarm, now: tandem_model::Timestamp) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        m.insert("snoozed".into(), snoozed(a, now).into());
    }
    v
}

/// `GET /api/v1/alarms`: the open alarms (unacknowledged first, then the most severe, then
/// the newest), `?site=` one site's, `?cleared=true` recently cleared ones too, `?mine=true`
/// those forwarded to the caller.
#[utoipa::path(
    get,
    path = "/api/v1/alarms",
    tag = "Alarms",
    params(AlarmParams),
    responses((status = 200, description = "The open alarms, unacknowledged first.", body = crate::openapi::AlarmsAnswer)),
)]
pub async fn list(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<AlarmParams>,
) -> Result<Json<Value>, ApiError> {
    let list = queue(&state, &who, &params).await?;
    let now = chrono::Utc::now();
    let unacknowledged = with_alarms(&state, move |a| a.unacknowledged(now)).await?;
    Ok(Json(json!({
        "alarms": list.iter().map(|a| alarm_json(a, now)).collect::<Vec<_>>(),
        "unacknowledged": unacknowledged,
    })))
}

/// `GET /api/v1/alarms/count`: unacknowledged alarms not snoozed (for the menu and the tab
/// title), when the newest of them was last seen, a number that moves with every change to
/// the open alarms, and whether the caller chose the alarm sound.
#[utoipa::path(
    get,
    path = "/api/v1/alarms/count",
    tag = "Alarms",
    responses((status = 200, description = "For the menu and the tab title.", body = crate::openapi::AlarmCount)),
)]
pub async fn count(who: Principal, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let now = chrono::Utc::now();
    let name = who.name.clone();
    let (n, newest, changes, sound) = with_alarms(&state, move |a| {
        let n = a.unacknowledged(now)?;
        let open = a.list(&AlarmQuery::default())?;
        let newest = open
            .iter()
            .filter(|x| x.state == tandem_store::AlarmState::Active && !snoozed(x, now))
            .map(|x| x.last_seen)
            .max();
        // Moves with every change to an open alarm (a repeat, a forward, a snooze ending),
        // so the queue knows to refresh.
        let changes: u64 = open
            .iter()
            .map(|x| x.version + u64::from(snoozed(x, now)))
            .sum::<u64>()
            + open.len() as u64 * 1_000_000;
        Ok((n, newest, changes, a.sound(&name)?))
    })
    .await?;
    Ok(Json(json!({
        "unacknowledged": n,
        "newest": newest,
        "changes": changes,
        "sound": sound,
    })))
}

/// `GET /api/v1/alarms/{id}`: one alarm and what was done to it, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/alarms/{id}",
    tag = "Alarms",
    params(("id" = String, Path, description = "The alarm id.")),
    responses((status = 200, description = "`{\"alarm\", \"actions\"}`: the alarm and what was done to it, oldest first.", body = Object), (status = 404, description = "No such alarm.", body = crate::openapi::ErrorBody)),
)]
pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (alarm, actions) = with_alarms(&state, move |a| a.get(&id)).await?;
    Ok(Json(json!({
        "alarm": alarm_json(&alarm, chrono::Utc::now()),
        "actions": actions,
    })))
}

/// The body of an action: a comment, the version seen (optional), and for a snooze `until`
/// (RFC 3339) or `minutes`, for a forward `to` (`role:<role>` or a user name).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = AlarmAction)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub minutes: Option<u64>,
    #[serde(default)]
    pub to: Option<String>,
}

/// The change an action's name and body ask for.
pub(crate) fn change_of(action: &str, body: &ActionBody) -> Result<AlarmChange, ApiError> {
    Ok(match action {
        "acknowledge" => AlarmChange::Acknowledge,
        "clear" => AlarmChange::Clear,
        "forward" => AlarmChange::Forward(
            body.to
                .clone()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| ApiError::bad_request("say whom to forward to: `to`"))?,
        ),
        "snooze" => {
            let now = chrono::Utc::now();
            let until = match (&body.until, body.minutes) {
                (Some(t), _) => chrono::DateTime::parse_from_rfc3339(t.trim())
                    .map_err(|e| {
                        ApiError::bad_request(format!("until: not an RFC 3339 time: {e}"))
                    })?
                    .with_timezone(&chrono::Utc),
                (None, Some(m)) => {
                    let m = i64::try_from(m.min(100_000)).unwrap_or(100_000);
                    now + chrono::Duration::minutes(m)
                }
                (None, None) => {
                    return Err(ApiError::bad_request(
                        "say until when: `until` (RFC 3339) or `minutes`",
                    ));
                }
            };
            AlarmChange::Snooze(until)
        }
        other => return Err(ApiError::bad_request(format!("no such action: {other}"))),
    })
}

/// One action, audited; shared by the API and the console.
pub(crate) async fn act(
    state: &AppState,
    who: &Principal,
    id: &str,
    action: &str,
    body: &ActionBody,
) -> Result<Alarm, ApiError> {
    let change = change_of(action, body)?;
    let (alarm_id, actor, comment, version, c) = (
        id.to_owned(),
        who.name.clone(),
        body.comment.clone(),
        body.version,
        change.clone(),
    );
    let alarm = with_alarms(state, move |a| {
        a.change(&alarm_id, version, c, &actor, &comment, chrono::Utc::now())
    })
    .await?;
    let detail = match &change {
        AlarmChange::Snooze(until) => json!({ "comment": body.comment, "until": until }),
        AlarmChange::Forward(to) => json!({ "comment": body.comment, "to": to }),
        _ => json!({ "comment": body.comment }),
    };
    crate::audit::by(state, who, &format!("alarm.{}", change.code()), id, detail).await;
    Ok(alarm)
}

async fn action_route(
    who: Principal,
    state: AppState,
    id: String,
    action: &str,
    body: &[u8],
) -> Result<Json<Value>, ApiError> {
    let body: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("the body is not what this route takes: {e}"))
        })?
    };
    let alarm = act(&state, &who, &id, action, &body).await?;
    Ok(Json(
        json!({ "alarm": alarm_json(&alarm, chrono::Utc::now()) }),
    ))
}

/// `POST /api/v1/alarms/{id}/acknowledge` `{comment, version?}`.
#[utoipa::path(
    post,
    path = "/api/v1/alarms/{id}/acknowledge",
    tag = "Alarms",
    params(("id" = String, Path, description = "The alarm id.")),
    request_body(content = ActionBody, content_type = "application/json", description = "`comment`, `version`."),
    responses((status = 200, description = "The alarm as changed.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such alarm.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn acknowledge(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    action_route(who, state, id, "acknowledge", &body).await
}

/// `POST /api/v1/alarms/{id}/snooze` `{until | minutes, comment}`.
#[utoipa::path(
    post,
    path = "/api/v1/alarms/{id}/snooze",
    tag = "Alarms",
    params(("id" = String, Path, description = "The alarm id.")),
    request_body(content = ActionBody, content_type = "application/json", description = "`minutes` or `until`, `comment`, `version`."),
    responses((status = 200, description = "The alarm as changed.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such alarm.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn snooze(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    action_route(who, state, id, "snooze", &body).await
}

/// `POST /api/v1/alarms/{id}/forward` `{to, comment}`.
#[utoipa::path(
    post,
    path = "/api/v1/alarms/{id}/forward",
    tag = "Alarms",
    params(("id" = String, Path, description = "The alarm id.")),
    request_body(content = ActionBody, content_type = "application/json", description = "`to` (a user), `comment`, `version`."),
    responses((status = 200, description = "The alarm as changed.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such alarm.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn forward(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    action_route(who, state, id, "forward", &body).await
}

/// `POST /api/v1/alarms/{id}/clear` `{comment}`: refused for an alarm whose kind must be
/// acknowledged first.
#[utoipa::path(
    post,
    path = "/api/v1/alarms/{id}/clear",
    tag = "Alarms",
    params(("id" = String, Path, description = "The alarm id.")),
    request_body(content = ActionBody, content_type = "application/json", description = "`comment`, `version`."),
    responses((status = 200, description = "The alarm as changed.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such alarm.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn clear(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    action_route(who, state, id, "clear", &body).await
}
