//! Incidents over the API: lists, one incident with its tasks and timeline, changes based on
//! a version (409 naming who changed what when stale), task work by departments, comments,
//! merges, reviews, action items, "my department's tasks" and the SLA check.
//!
//! Responders see only incidents with a task for their department
//! ([`crate::Role::incident_scope`]) and act only on their department's tasks; everything a
//! user changes is audited. The rules themselves are `tandem_cases::incidents`.

use crate::auth::Principal;
use crate::{ApiError, AppState, Permission};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_cases::CaseError;
use tandem_cases::incidents::{
    IncidentChange, IncidentFilter, Incidents, NewIncident, ReviewInput, TaskAction,
};
use tandem_cases::{Incident, IncidentStatus};
use tandem_model::{Department, Severity, Timestamp};

/// Runs a blocking incidents call off the async threads.
pub(crate) async fn run<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Incidents) -> Result<T, CaseError> + Send + 'static,
) -> Result<T, ApiError> {
    let incidents = state.cases.incidents.clone();
    Ok(tokio::task::spawn_blocking(move || f(&incidents)).await??)
}

/// The incident if the caller may see it: responders only those with a task for their
/// department (others look absent, as they would in the list).
pub(crate) fn visible(who: &Principal, incident: &Incident) -> Result<(), ApiError> {
    match who.role.incident_scope() {
        Some(d) if !incident.departments().contains(&d) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("incident {} does not exist", incident.id),
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListParams {
    /// Comma-separated statuses; `open` is every status but closed.
    pub status: Option<String>,
    /// The lowest severity shown.
    pub severity: Option<String>,
    pub department: Option<String>,
    pub site: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// The filter a list request asks for, narrowed to the caller's scope.
pub(crate) fn filter(who: &Principal, p: &ListParams) -> Result<IncidentFilter, ApiError> {
    let mut statuses = Vec::new();
    for s in p
        .status
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if s == "open" {
            statuses.extend(IncidentStatus::ALL.into_iter().filter(|x| !x.is_closed()));
            continue;
        }
        statuses.push(IncidentStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown status `{s}`; use open, {}",
                IncidentStatus::ALL.map(|x| x.code()).join(", ")
            ))
        })?);
    }
    let min_severity = match p.severity.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse::<Severity>()
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        None => None,
    };
    let asked = match p.department.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => Some(
            Department::parse(d)
                .ok_or_else(|| ApiError::bad_request(format!("unknown department `{d}`")))?,
        ),
        None => None,
    };
    let department = match who.role.incident_scope() {
        Some(d) => Some(d),
        None => asked,
    };
    Ok(IncidentFilter {
        statuses,
        min_severity,
        department,
        site: p.site.clone().filter(|s| !s.is_empty()),
        limit: p.limit.unwrap_or(50).clamp(1, 500),
        offset: p.offset.unwrap_or(0),
    })
}

/// `GET /api/v1/incidents`: most recently changed first.
#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "Incidents",
    params(ListParams),
    responses((status = 200, description = "Incidents (responders: those with tasks for their department).", body = crate::openapi::IncidentsAnswer), (status = 400, description = "A filter is not one of its values.", body = crate::openapi::ErrorBody)),
)]
pub async fn list(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let f = filter(&who, &params)?;
    let (total, incidents) = run(&state, move |i| i.list(&f)).await?;
    let list: Vec<Value> = incidents.iter().map(summary).collect();
    Ok(Json(json!({"total": total, "incidents": list})))
}

/// An incident in a list: its fields without the long parts.
pub(crate) fn summary(i: &Incident) -> Value {
    json!({
        "id": i.id,
        "version": i.version,
        "title": i.title,
        "severity": i.severity,
        "status": i.status,
        "resolution": i.resolution,
        "playbook": i.playbook,
        "assignees": i.assignees,
        "departments": i.departments(),
        "tasks": i.tasks.len(),
        "tasks_open": i.tasks.iter().filter(|t| !t.finished()).count(),
        "alerts": i.alerts.len(),
        "sites": i.entities.sites,
        "milestones": i.milestones,
        "origin": i.origin,
    })
}

/// `POST /api/v1/incidents`: opens an incident by hand.
#[utoipa::path(
    post,
    path = "/api/v1/incidents",
    tag = "Incidents",
    request_body(content = crate::openapi::NewIncident, content_type = "application/json", description = "The incident."),
    responses((status = 201, description = "Opened.", body = crate::openapi::IncidentOne), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody)),
)]
pub async fn create(
    who: Principal,
    State(state): State<AppState>,
    Json(new): Json<NewIncident>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.require(Permission::ManageIncidents)?;
    let actor = who.name.clone();
    let inc = run(&state, move |i| i.open(new, &actor, chrono::Utc::now())).await?;
    crate::audit::by(
        &state,
        &who,
        "incident.open",
        &format!("incident:{}", inc.id),
        json!({"title": inc.title, "severity": inc.severity, "playbook": inc.playbook}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!({"incident": inc}))))
}

/// `GET /api/v1/incidents/{id}`: the incident with its tasks, observables and timeline.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "Incidents",
    params(("id" = String, Path, description = "The incident id.")),
    responses((status = 200, description = "The incident with its timeline and SLA times.", body = crate::openapi::IncidentAnswer), (status = 404, description = "No such incident.", body = crate::openapi::ErrorBody)),
)]
pub async fn get(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let now = chrono::Utc::now();
    let (inc, timeline, sla) = run(&state, move |i| {
        let (inc, timeline) = i.get(&id)?;
        let sla: Vec<Value> = inc
            .tasks
            .iter()
            .map(|t| {
                let elapsed = t.sla.map(|_| i.sla_elapsed_minutes(&inc, t, now));
                json!({"task": t.id, "elapsed_minutes": elapsed})
            })
            .collect();
        Ok((inc, timeline, sla))
    })
    .await?;
    visible(&who, &inc)?;
    Ok(Json(
        json!({"incident": inc, "timeline": timeline, "sla": sla}),
    ))
}

/// `PATCH /api/v1/incidents/{id}`: `{"base_version": n, "status": …, "severity": …, …}`.
#[utoipa::path(
    patch,
    path = "/api/v1/incidents/{id}",
    tag = "Incidents",
    params(("id" = String, Path, description = "The incident id.")),
    request_body(content = crate::openapi::IncidentPatch, content_type = "application/json", description = "The change, from the version the caller saw."),
    responses((status = 200, description = "As changed.", body = crate::openapi::IncidentOne), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such incident.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn patch(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ManageIncidents)?;
    let Value::Object(mut fields) = body else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let base = fields
        .remove("base_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| {
            ApiError::bad_request(
                "`base_version` (the version you read) is required to change an incident",
            )
        })?;
    let change: IncidentChange = serde_json::from_value(Value::Object(fields.clone()))
        .map_err(|e| ApiError::bad_request(format!("invalid change: {e}")))?;
    let actor = who.name.clone();
    let target = id.clone();
    let inc = run(&state, move |i| {
        i.change(&target, base, change, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        &state,
        &who,
        "incident.change",
        &format!("incident:{id}"),
        json!({"change": fields, "version": inc.version}),
    )
    .await;
    Ok(Json(json!({"incident": inc})))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TaskBody {
    pub base_version: Option<u64>,
    pub text: Option<String>,
    pub reason: Option<String>,
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct EvidenceParams {
    pub name: Option<String>,
    /// The required evidence item the file provides.
    pub item: Option<String>,
    pub base_version: Option<u64>,
}

/// `POST /api/v1/incidents/{id}/tasks/{task}/{take|comment|evidence|complete|skip|pause|resume}`.
/// `evidence` takes the file as the body (`?name=…&item=…`, the `Content-Type` header);
/// the others a JSON object (`text` for comments, `reason` for skip and pause).
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/tasks/{task}/{action}",
    tag = "Incidents",
    params(("id" = String, Path, description = "The incident id."), ("task" = String, Path, description = "The task id."), ("action" = String, Path, description = "`take`, `comment`, `evidence`, `complete`, `skip`, `pause` or `resume`."), EvidenceParams),
    request_body(content((TaskBody = "application/json"), (Vec<u8> = "application/octet-stream")), description = "A JSON object (`text` for comments, `reason` for skip and pause); for `evidence` the file itself with its `Content-Type`."),
    responses((status = 200, description = "The incident as changed.", body = crate::openapi::IncidentOne), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such incident, task or action.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody), (status = 413, description = "The file is over `[cases] max_evidence_mib`.", body = crate::openapi::ErrorBody)),
)]
pub async fn task_action(
    who: Principal,
    State(state): State<AppState>,
    Path((id, task, action)): Path<(String, String, String)>,
    Query(params): Query<EvidenceParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::WorkTasks)?;
    let limit = state.cases.incidents.config().max_evidence_mib * 1024 * 1024;
    let read_limit = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let bytes = axum::body::to_bytes(body, read_limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "evidence files may be at most {} MiB",
                state.cases.incidents.config().max_evidence_mib
            ),
        )
    })?;
    if bytes.len() as u64 > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "evidence files may be at most {} MiB",
                state.cases.incidents.config().max_evidence_mib
            ),
        ));
    }
    let (action, base) = if action == "evidence" {
        let name = params
            .name
            .clone()
            .ok_or_else(|| ApiError::bad_request("name the file: ?name=<file name>"))?;
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        (
            TaskAction::Evidence {
                name,
                content_type,
                bytes: bytes.to_vec(),
                item: params.item.clone(),
            },
            params.base_version,
        )
    } else {
        let b: TaskBody = if bytes.iter().all(u8::is_ascii_whitespace) {
            TaskBody::default()
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?
        };
        let a = match action.as_str() {
            "take" => TaskAction::Take,
            "comment" => TaskAction::Comment(b.text.unwrap_or_default()),
            "complete" => TaskAction::Complete,
            "skip" => TaskAction::Skip(b.reason.unwrap_or_default()),
            "pause" => TaskAction::Pause(b.reason.unwrap_or_default()),
            "resume" => TaskAction::Resume,
            other => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!(
                        "no task action `{other}`; use take, comment, evidence, complete, skip, pause or resume"
                    ),
                ));
            }
        };
        (a, b.base_version)
    };
    let inc = act_on_task(&state, &who, &id, &task, base, action).await?;
    Ok(Json(json!({"incident": inc})))
}

/// Does `action` to a task for `who` (responders: their department's tasks only, of
/// incidents they can see) and audits it. Shared by the API and the console.
pub(crate) async fn act_on_task(
    state: &AppState,
    who: &Principal,
    id: &str,
    task: &str,
    base: Option<u64>,
    action: TaskAction,
) -> Result<Incident, ApiError> {
    let code = action.code();
    let detail = match &action {
        TaskAction::Comment(t) => json!({"text": t}),
        TaskAction::Skip(r) | TaskAction::Pause(r) => json!({"reason": r}),
        TaskAction::Evidence { name, bytes, .. } => json!({"name": name, "size": bytes.len()}),
        _ => json!({}),
    };
    let scope = who.role.incident_scope();
    let actor = who.name.clone();
    let (target, task_id) = (id.to_owned(), task.to_owned());
    let inc = run(state, move |i| {
        let (inc, _) = i.get(&target)?;
        if let Some(d) = scope
            && !inc.departments().contains(&d)
        {
            return Err(CaseError::NotFound {
                kind: "incident",
                id: target,
            });
        }
        i.task(
            &target,
            &task_id,
            base,
            action,
            scope,
            &actor,
            chrono::Utc::now(),
        )
    })
    .await?;
    crate::audit::by(
        state,
        who,
        &format!("incident.task.{code}"),
        &format!("incident:{id}/{task}"),
        detail,
    )
    .await;
    Ok(inc)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    pub text: String,
}

/// `POST /api/v1/incidents/{id}/comments`: `{"text": "…"}`; `@security`, `@hr`… mention
/// departments.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/comments",
    tag = "Incidents",
    params(("id" = String, Path, description = "The incident id.")),
    request_body(content = CommentBody, content_type = "application/json", description = "The comment."),
    responses((status = 201, description = "Commented.", body = crate::openapi::IncidentOne), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such incident.", body = crate::openapi::ErrorBody)),
)]
pub async fn comment(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<CommentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.require(Permission::WorkTasks)?;
    let inc = add_comment(&state, &who, &id, body.text).await?;
    Ok((StatusCode::CREATED, Json(json!({"incident": inc}))))
}

pub(crate) async fn add_comment(
    state: &AppState,
    who: &Principal,
    id: &str,
    text: String,
) -> Result<Incident, ApiError> {
    let scope = who.role.incident_scope();
    let actor = who.name.clone();
    let target = id.to_owned();
    let len = text.len();
    let inc = run(state, move |i| {
        let (inc, _) = i.get(&target)?;
        if let Some(d) = scope
            && !inc.departments().contains(&d)
        {
            return Err(CaseError::NotFound {
                kind: "incident",
                id: target,
            });
        }
        i.comment(&target, &text, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        state,
        who,
        "incident.comment",
        &format!("incident:{id}"),
        json!({"length": len}),
    )
    .await;
    Ok(inc)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The incident merged into this one (it closes as a duplicate).
    pub from: String,
}

/// `POST /api/v1/incidents/{id}/merge`: `{"from": "INC-7"}` merges INC-7 into `{id}`.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/merge",
    tag = "Incidents",
    params(("id" = String, Path, description = "The incident kept.")),
    request_body(content = MergeBody, content_type = "application/json", description = "The incident merged into it."),
    responses((status = 200, description = "The incident the other was merged into.", body = crate::openapi::IncidentOne), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such incident.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn merge(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<MergeBody>,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ManageIncidents)?;
    let actor = who.name.clone();
    let (into, from) = (id.clone(), body.from.clone());
    let inc = run(&state, move |i| {
        i.merge(&into, &from, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        &state,
        &who,
        "incident.merge",
        &format!("incident:{id}"),
        json!({"from": body.from}),
    )
    .await;
    Ok(Json(json!({"incident": inc})))
}

/// `PUT /api/v1/incidents/{id}/review`: writes or updates the post-incident review.
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/review",
    tag = "Incidents",
    params(("id" = String, Path, description = "The incident id.")),
    request_body(content = crate::openapi::ReviewBody, content_type = "application/json", description = "The post-incident review."),
    responses((status = 200, description = "With the review written.", body = crate::openapi::IncidentOne), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such incident.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn review(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::ManageIncidents)?;
    let Value::Object(mut fields) = body else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let base = fields.remove("base_version").and_then(|v| v.as_u64());
    let input: ReviewInput = serde_json::from_value(Value::Object(fields))
        .map_err(|e| ApiError::bad_request(format!("invalid review: {e}")))?;
    let inc = write_review(&state, &who, &id, base, input).await?;
    Ok(Json(json!({"incident": inc})))
}

pub(crate) async fn write_review(
    state: &AppState,
    who: &Principal,
    id: &str,
    base: Option<u64>,
    input: ReviewInput,
) -> Result<Incident, ApiError> {
    let actor = who.name.clone();
    let target = id.to_owned();
    let items = input.action_items.len();
    let inc = run(state, move |i| {
        i.write_review(&target, base, input, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        state,
        who,
        "incident.review",
        &format!("incident:{id}"),
        json!({"action_items": items}),
    )
    .await;
    Ok(inc)
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ActionItemParams {
    /// `1`: only items not done.
    pub open: Option<String>,
}

/// `GET /api/v1/action-items`: review action items across incidents and the security
/// committee's, soonest due first (responders: their department's).
#[utoipa::path(
    get,
    path = "/api/v1/action-items",
    tag = "Incidents",
    params(ActionItemParams),
    responses((status = 200, description = "`{\"action_items\": […]}`, soonest due first: the reviews' (`from: review`, with `incident`) and, for those who read the security committee, its meetings' (`from: meeting`, with `meeting`).", body = Object)),
)]
pub async fn action_items(
    who: Principal,
    State(state): State<AppState>,
    Query(p): Query<ActionItemParams>,
) -> Result<Json<Value>, ApiError> {
    let open = matches!(p.open.as_deref(), Some("1" | "true" | "yes"));
    let scope = who.role.incident_scope();
    let mut items = run(&state, move |i| i.action_items(open)).await?;
    if let Some(d) = scope {
        items.retain(|a| a.item.department == d);
    }
    let mut out: Vec<(bool, chrono::NaiveDate, Value)> = items
        .into_iter()
        .map(|a| {
            let mut v = serde_json::to_value(&a).unwrap_or_default();
            v["from"] = "review".into();
            (a.item.done.is_some(), a.item.due, v)
        })
        .collect();
    // The security committee's action items, beside the reviews', for those who read it.
    if who.can(Permission::ViewCommittee) {
        for a in crate::committee::with(&state, move |c| c.action_items(open)).await? {
            if scope.is_some_and(|d| d != a.item.department) {
                continue;
            }
            let mut v = serde_json::to_value(&a).unwrap_or_default();
            v["from"] = "meeting".into();
            out.push((a.item.done.is_some(), a.item.due, v));
        }
    }
    out.sort_by_key(|a| (a.0, a.1));
    let items: Vec<Value> = out.into_iter().map(|(_, _, v)| v).collect();
    Ok(Json(json!({"action_items": items})))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct TaskListParams {
    /// `1`: the caller's department's tasks (every department's for roles without one).
    pub mine: Option<String>,
    pub department: Option<String>,
    /// At most this many tasks, the most urgent (default 500, at most 5,000); `total` says
    /// how many there are.
    pub limit: Option<usize>,
}

/// `GET /api/v1/tasks?mine=1`: open tasks of my department, overdue first.
#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    tag = "Incidents",
    params(TaskListParams),
    responses((status = 200, description = "`{\"total\", \"tasks\"}`: open tasks, overdue first.", body = Object), (status = 400, description = "Unknown department.", body = crate::openapi::ErrorBody)),
)]
pub async fn tasks(
    who: Principal,
    State(state): State<AppState>,
    Query(p): Query<TaskListParams>,
) -> Result<Json<Value>, ApiError> {
    let department = match (who.role.incident_scope(), p.department.as_deref()) {
        (Some(d), _) => Some(d),
        (None, Some(d)) if !d.is_empty() => Some(
            Department::parse(d)
                .ok_or_else(|| ApiError::bad_request(format!("unknown department `{d}`")))?,
        ),
        _ => None,
    };
    let limit = p.limit.unwrap_or(500).clamp(1, 5_000);
    let (total, list) = run(&state, move |i| {
        i.department_tasks(department, chrono::Utc::now(), limit)
    })
    .await?;
    Ok(Json(
        json!({"department": department, "total": total, "tasks": list}),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaCheckBody {
    /// The time to check as of (RFC 3339); now when not given.
    #[serde(default)]
    pub at: Option<String>,
}

/// `POST /api/v1/incidents/sla-check` (administrators): runs the SLA check as of `at`, for
/// rehearsals and tests: the clock is injected this way, never waited for.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/sla-check",
    tag = "Incidents",
    request_body(content = SlaCheckBody, content_type = "application/json", description = "As of when."),
    responses((status = 200, description = "What the check warned of and breached.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody)),
)]
pub async fn sla_check(
    who: Principal,
    State(state): State<AppState>,
    Json(body): Json<SlaCheckBody>,
) -> Result<Json<Value>, ApiError> {
    let at: Timestamp = match body.at.as_deref() {
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|e| ApiError::bad_request(format!("`at` is not an RFC 3339 time: {e}")))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let report = run(&state, move |i| i.tick(at)).await?;
    crate::audit::by(
        &state,
        &who,
        "incident.sla_check",
        "incidents",
        json!({"at": at, "warned": report.warned.len(), "breached": report.breached.len()}),
    )
    .await;
    Ok(Json(json!({"at": at, "report": report})))
}

/// Reads an evidence upload's body up to the configured limit (413 beyond it).
pub(crate) async fn read_evidence(state: &AppState, body: Body) -> Result<Vec<u8>, ApiError> {
    let mib = state.cases.incidents.config().max_evidence_mib;
    let limit = mib * 1024 * 1024;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("evidence files may be at most {mib} MiB"),
        )
    };
    let read_limit = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let bytes = axum::body::to_bytes(body, read_limit)
        .await
        .map_err(|_| too_large())?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes.to_vec())
}

/// `POST /api/v1/incidents/{id}/evidence?name=…`: attaches the body as a file of the
/// incident itself (not of one task); responders may attach to incidents they can see.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/evidence",
    tag = "Incidents",
    params(("id" = String, Path, description = "The incident id."), EvidenceParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file, with its `Content-Type`."),
    responses((status = 201, description = "Attached.", body = crate::openapi::IncidentOne), (status = 400, description = "No `name`.", body = crate::openapi::ErrorBody), (status = 404, description = "No such incident.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody), (status = 413, description = "The file is over `[cases] max_evidence_mib`.", body = crate::openapi::ErrorBody)),
)]
pub async fn attach(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EvidenceParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.require(Permission::WorkTasks)?;
    let bytes = read_evidence(&state, body).await?;
    let name = params
        .name
        .clone()
        .ok_or_else(|| ApiError::bad_request("name the file: ?name=<file name>"))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let scope = who.role.incident_scope();
    let actor = who.name.clone();
    let (target, file_name, size) = (id.clone(), name.clone(), bytes.len());
    let base = params.base_version;
    let inc = run(&state, move |i| {
        let (inc, _) = i.get(&target)?;
        if let Some(d) = scope
            && !inc.departments().contains(&d)
        {
            return Err(CaseError::NotFound {
                kind: "incident",
                id: target,
            });
        }
        i.attach(
            &target,
            base,
            &file_name,
            &content_type,
            &bytes,
            &actor,
            chrono::Utc::now(),
        )
    })
    .await?;
    crate::audit::by(
        &state,
        &who,
        "incident.evidence",
        &format!("incident:{id}"),
        json!({"name": name, "size": size}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!({"incident": inc}))))
}

/// Content types a browser may be told an evidence file has: kinds it shows as themselves
/// and never runs. Everything else (HTML, SVG, scripts…) is `application/octet-stream`.
const SAFE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
];

/// A `Content-Disposition: attachment` value naming the file: an ASCII fallback and the
/// UTF-8 name percent-encoded (RFC 6266), so no name can break out of the header.
fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()+,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// An evidence file as a download: always an attachment, never rendered in the console's
/// origin (no sniffing, a sandboxing policy, a content type from [`SAFE_TYPES`] or
/// `application/octet-stream`).
pub(crate) async fn evidence_download(
    state: &AppState,
    who: &Principal,
    id: &str,
    sha256: &str,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (target, hash) = (id.to_owned(), sha256.to_owned());
    let (inc, file, stored) = run(state, move |i| i.evidence_file(&target, &hash)).await?;
    visible(who, &inc)?;
    let declared = file
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let content_type = match SAFE_TYPES.iter().find(|t| **t == declared) {
        Some(t) if t.starts_with("text/") => format!("{t}; charset=utf-8"),
        Some(t) => (*t).to_owned(),
        None => "application/octet-stream".to_owned(),
    };
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, attachment(&file.name)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox".to_owned(),
        ),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ];
    Ok((headers, stored.bytes).into_response())
}

/// `GET /api/v1/incidents/{id}/evidence/{sha256}`: the file, as a download.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/evidence/{sha256}",
    tag = "Incidents",
    params(("id" = String, Path, description = "The incident id."), ("sha256" = String, Path, description = "The file's SHA-256 (hex).")),
    responses((status = 200, description = "The file, always as a download (`Content-Disposition: attachment`).", content_type = "application/octet-stream", body = Vec<u8>), (status = 404, description = "No such incident or file.", body = crate::openapi::ErrorBody)),
)]
pub async fn evidence(
    who: Principal,
    State(state): State<AppState>,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    evidence_download(&state, &who, &id, &sha256).await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DoneBody {
    /// `false` opens the item again; done when not given.
    pub done: Option<bool>,
}

/// `POST /api/v1/incidents/{id}/action-items/{item}`: `{"done": true}` marks a review's
/// action item done (`false`: open again); responders only their department's.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/action-items/{item}",
    tag = "Incidents",
    params(("id" = String, Path, description = "The incident id."), ("item" = String, Path, description = "The action item id.")),
    request_body(content = DoneBody, content_type = "application/json", description = "Done (the default) or open again."),
    responses((status = 200, description = "As changed.", body = crate::openapi::IncidentOne), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such incident or item.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what (`changed_by`, `change`, `current_version`).", body = crate::openapi::ErrorBody)),
)]
pub async fn action_item(
    who: Principal,
    State(state): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: DoneBody = if body.iter().all(u8::is_ascii_whitespace) {
        DoneBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?
    };
    let inc = mark_action_item(&state, &who, &id, &item, b.done.unwrap_or(true)).await?;
    Ok(Json(json!({"incident": inc})))
}

/// Marks an action item done or open for `who` and audits it. Shared by the API and the
/// console.
pub(crate) async fn mark_action_item(
    state: &AppState,
    who: &Principal,
    id: &str,
    item: &str,
    done: bool,
) -> Result<Incident, ApiError> {
    who.require(Permission::WorkTasks)?;
    let scope = who.role.incident_scope();
    let actor = who.name.clone();
    let (target, item_id) = (id.to_owned(), item.to_owned());
    let inc = run(state, move |i| {
        let (inc, _) = i.get(&target)?;
        if let Some(d) = scope
            && !inc.departments().contains(&d)
            && !inc
                .review
                .as_ref()
                .is_some_and(|r| r.action_items.iter().any(|a| a.department == d))
        {
            return Err(CaseError::NotFound {
                kind: "incident",
                id: target,
            });
        }
        i.set_action_item_done(&target, &item_id, done, scope, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        state,
        who,
        "incident.action_item",
        &format!("incident:{id}/{item}"),
        json!({"done": done}),
    )
    .await;
    Ok(inc)
}
