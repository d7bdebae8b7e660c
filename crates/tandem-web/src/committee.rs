//! The security committee over HTTP: `/api/v1/committee` (members, the rotating chair,
//! meetings, decisions, action items) and the briefing pack, for the API and the console
//! alike.
//!
//! The committee's rules are `tandem_cases::committee`'s; this module says who may do what
//! and audits every change. Everyone who reads the KPIs reads the committee
//! ([`Permission::ViewCommittee`]: leadership and auditors, department heads, the SOC and the
//! control room). Setting up the members and the rotation needs
//! [`Permission::ManageCommittee`] (administrators). Meetings, decisions and action items
//! are recorded by administrators and by the chair: the member whose turn it is now, or the
//! chair of the meeting in question. An action item is closed by them, or like a review's
//! by whoever works tasks for its department. Their routes are open to every reader in the
//! access table and the handler checks the chair after reading the request, since who
//! chairs is a fact of the committee, not of a role.

use crate::auth::Principal;
use crate::{ApiError, AppState, Permission};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_cases::CaseError;
use tandem_cases::committee::{
    Committee, Meeting, MeetingInput, Member, RotationOrder, next_chair, rotation,
};
use tandem_model::Department;

/// Runs a committee call on a blocking thread (it reads and writes the store).
pub(crate) async fn with<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Committee) -> Result<T, CaseError> + Send + 'static,
) -> Result<T, ApiError> {
    let c = state.committee.clone();
    Ok(tokio::task::spawn_blocking(move || f(&c)).await??)
}

/// The committee as the API and the page show it: members in rotation order with the next
/// chair marked, the meetings (latest first) and the open action items of meetings.
pub(crate) async fn overview(state: &AppState) -> Result<Value, ApiError> {
    with(state, |c| {
        let setup = c.setup()?;
        let meetings = c.meetings()?;
        let next = next_chair(&setup, &meetings).cloned();
        let items = c.action_items(true)?;
        let order: Vec<&str> = rotation(&setup)
            .iter()
            .map(|m| m.account.as_str())
            .collect();
        Ok(json!({
            "version": setup.version,
            "rotation": setup.rotation.code(),
            "members": setup.members,
            "order": order,
            "next_chair": next,
            "meetings": meetings,
            "action_items": items,
        }))
    })
    .await
}

/// `GET /api/v1/committee`.
#[utoipa::path(
    get,
    path = "/api/v1/committee",
    tag = "Committee",
    responses((status = 200, description = "`{version, rotation, members, order, next_chair, meetings, action_items}`: the members (and `order`, their accounts in rotation order), the member who chairs next, every meeting latest first, and the meetings' open action items soonest due first.", body = Object)),
)]
pub async fn get(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(overview(&state).await?))
}

/// A member as set up.
#[derive(Deserialize, serde::Serialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct MemberBody {
    /// The member's Tandem account (user name).
    pub account: String,
    /// it, security, facilities, hr, legal, comms, finance.
    pub department: String,
    /// Why the rotation passes over the member for now (on leave); absent: in rotation.
    pub skip: Option<String>,
}

/// The committee as set up with `PUT`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct SetupBody {
    /// The version read (`0` before the first setup); refused with 409 when it moved on.
    pub base_version: Option<u64>,
    /// `configured` (the order of `members`, the default) or `department`.
    pub rotation: Option<String>,
    pub members: Vec<MemberBody>,
}

/// Checks and sets the members and rotation, and audits it. Shared by the API and the page.
pub(crate) async fn set_up(
    state: &AppState,
    who: &Principal,
    body: SetupBody,
) -> Result<Value, ApiError> {
    who.require(Permission::ManageCommittee)?;
    let rotation_order = match body.rotation.as_deref().map(str::trim) {
        None | Some("") => RotationOrder::Configured,
        Some(s) => RotationOrder::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown rotation `{}`; use configured or department",
                s.chars().take(40).collect::<String>()
            ))
        })?,
    };
    let mut members = Vec::with_capacity(body.members.len());
    for m in body.members {
        let department = Department::parse(m.department.trim()).ok_or_else(|| {
            ApiError::bad_request(format!(
                "member {}: unknown department `{}`; use {}",
                m.account.chars().take(60).collect::<String>(),
                m.department.chars().take(40).collect::<String>(),
                Department::ALL.map(Department::code).join(", ")
            ))
        })?;
        members.push(Member {
            account: m.account.trim().to_owned(),
            department,
            skip: m.skip,
        });
    }
    // Members are people who sign in: an account that does not exist cannot chair.
    let accounts = state.accounts.clone();
    let names: Vec<String> = members.iter().map(|m| m.account.clone()).collect();
    let unknown: Vec<String> = tokio::task::spawn_blocking(move || {
        names
            .into_iter()
            .filter(|n| !n.is_empty() && !matches!(accounts.user(n), Ok(Some(_))))
            .collect()
    })
    .await
    .map_err(ApiError::internal)?;
    if let Some(n) = unknown.first() {
        return Err(ApiError::bad_request(format!(
            "{} is not an account of Tandem; add the user first",
            n.chars().take(60).collect::<String>()
        )));
    }
    let actor = who.name.clone();
    let base = body.base_version;
    let setup = with(state, move |c| {
        c.set_setup(base, members, rotation_order, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        state,
        who,
        "committee.members",
        "committee",
        json!({
            "members": setup.members.iter().map(|m| format!("{} ({})", m.account, m.department.code())).collect::<Vec<_>>(),
            "rotation": setup.rotation.code(),
            "version": setup.version,
        }),
    )
    .await;
    Ok(
        json!({"version": setup.version, "rotation": setup.rotation.code(), "members": setup.members}),
    )
}

/// `PUT /api/v1/committee`: the members and how the chair rotates.
#[utoipa::path(
    put,
    path = "/api/v1/committee",
    tag = "Committee",
    request_body(content = SetupBody, content_type = "application/json", description = "Every member, in rotation order when the rotation is `configured`."),
    responses((status = 200, description = "As set up.", body = Object), (status = 400, description = "An unknown account or department, a member listed twice, an unknown rotation.", body = crate::openapi::ErrorBody), (status = 409, description = "Changed since `base_version`: the error names who changed what.", body = crate::openapi::ErrorBody)),
)]
pub async fn put(
    who: Principal,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: SetupBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    Ok(Json(set_up(&state, &who, body).await?))
}

/// Refuses `who` unless they may record for the committee now: administrators, the member
/// who chairs next, and the chair of `meeting`.
async fn require_chair(
    state: &AppState,
    who: &Principal,
    meeting: Option<Meeting>,
) -> Result<(), ApiError> {
    if who.can(Permission::ManageCommittee) {
        return Ok(());
    }
    let name = who.name.clone();
    if with(state, move |c| c.is_chair(&name, meeting.as_ref())).await? {
        return Ok(());
    }
    Err(ApiError::forbidden_because(
        "only the committee's chair and administrators record meetings, decisions and action items",
    ))
}

/// A new meeting as the API takes it.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct MeetingBody {
    /// The day it was held: `2025-03-01`.
    pub date: String,
    /// "Security committee" when empty.
    pub title: String,
    /// Who chaired it (a stand-in); the member whose turn it is when absent.
    pub chair: Option<String>,
    /// Accounts or names of those present; the chair is added.
    pub attendees: Vec<String>,
    pub notes: String,
}

fn date(what: &str, s: &str) -> Result<NaiveDate, ApiError> {
    s.trim().parse().map_err(|_| {
        ApiError::bad_request(format!(
            "{what} `{}` is not a date like 2025-03-01",
            s.chars().take(40).collect::<String>()
        ))
    })
}

/// Records a meeting for `who` and audits it. Shared by the API and the page.
pub(crate) async fn add_meeting(
    state: &AppState,
    who: &Principal,
    body: MeetingBody,
) -> Result<Meeting, ApiError> {
    if body.date.trim().is_empty() {
        return Err(ApiError::bad_request("a meeting needs a date"));
    }
    let day = date("the date", &body.date)?;
    require_chair(state, who, None).await?;
    let input = MeetingInput {
        date: Some(day),
        title: body.title,
        chair: body.chair,
        attendees: body.attendees,
        notes: body.notes,
    };
    let actor = who.name.clone();
    let m = with(state, move |c| {
        c.add_meeting(input, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        state,
        who,
        "committee.meeting",
        &format!("meeting:{}", m.id),
        json!({"date": m.date.to_string(), "chair": m.chair, "turn": m.turn}),
    )
    .await;
    Ok(m)
}

/// `POST /api/v1/committee/meetings`.
#[utoipa::path(
    post,
    path = "/api/v1/committee/meetings",
    tag = "Committee",
    request_body(content = MeetingBody, content_type = "application/json", description = "The meeting held."),
    responses((status = 201, description = "`{\"meeting\": …}` as recorded, with its chair and whose turn it was.", body = Object), (status = 400, description = "No date, or no member in rotation and no chair named.", body = crate::openapi::ErrorBody)),
)]
pub async fn post_meeting(
    who: Principal,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: MeetingBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    let m = add_meeting(&state, &who, body).await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!({"meeting": m}))).into_response())
}

/// `GET /api/v1/committee/meetings/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/committee/meetings/{id}",
    tag = "Committee",
    params(("id" = String, Path, description = "The meeting's id (`MTG-3`).")),
    responses((status = 200, description = "`{\"meeting\": …, \"history\": […]}`: the meeting and every change to it.", body = Object), (status = 404, description = "No such meeting.", body = crate::openapi::ErrorBody)),
)]
pub async fn get_meeting(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (m, history) = with(&state, move |c| Ok((c.meeting(&id)?, c.history(&id)?))).await?;
    Ok(Json(json!({"meeting": m, "history": history})))
}

/// A decision as the API takes it.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct DecisionBody {
    pub text: String,
}

/// Records a decision for `who` and audits it. Shared by the API and the page.
pub(crate) async fn decide(
    state: &AppState,
    who: &Principal,
    id: &str,
    text: String,
) -> Result<Meeting, ApiError> {
    let target = id.to_owned();
    let m = with(state, move |c| c.meeting(&target)).await?;
    require_chair(state, who, Some(m)).await?;
    let (actor, target) = (who.name.clone(), id.to_owned());
    let m = with(state, move |c| {
        c.record_decision(&target, &text, &actor, chrono::Utc::now())
    })
    .await?;
    let d = m
        .decisions
        .last()
        .map(|d| d.text.clone())
        .unwrap_or_default();
    crate::audit::by(
        state,
        who,
        "committee.decision",
        &format!("meeting:{id}"),
        json!({"decision": d}),
    )
    .await;
    Ok(m)
}

/// `POST /api/v1/committee/meetings/{id}/decisions`.
#[utoipa::path(
    post,
    path = "/api/v1/committee/meetings/{id}/decisions",
    tag = "Committee",
    params(("id" = String, Path, description = "The meeting's id.")),
    request_body(content = DecisionBody, content_type = "application/json", description = "What was decided."),
    responses((status = 200, description = "`{\"meeting\": …}` with the decision.", body = Object), (status = 400, description = "No text.", body = crate::openapi::ErrorBody), (status = 404, description = "No such meeting.", body = crate::openapi::ErrorBody)),
)]
pub async fn post_decision(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: DecisionBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    let m = decide(&state, &who, &id, b.text).await?;
    Ok(Json(json!({"meeting": m})))
}

/// An action item as the API takes it.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct ActionItemBody {
    pub title: String,
    /// The department that owns it.
    pub department: String,
    /// `2025-04-01`.
    pub due: String,
}

/// Adds an action item for `who` and audits it. Shared by the API and the page.
pub(crate) async fn add_action_item(
    state: &AppState,
    who: &Principal,
    id: &str,
    body: ActionItemBody,
) -> Result<Meeting, ApiError> {
    let target = id.to_owned();
    let m = with(state, move |c| c.meeting(&target)).await?;
    let department = Department::parse(body.department.trim()).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown department `{}`; use {}",
            body.department.chars().take(40).collect::<String>(),
            Department::ALL.map(Department::code).join(", ")
        ))
    })?;
    let due = date("the due date", &body.due)?;
    require_chair(state, who, Some(m)).await?;
    let (actor, target, title) = (who.name.clone(), id.to_owned(), body.title);
    let m = with(state, move |c| {
        c.add_action_item(&target, &title, department, due, &actor, chrono::Utc::now())
    })
    .await?;
    if let Some(a) = m.action_items.last() {
        crate::audit::by(
            state,
            who,
            "committee.action_item",
            &format!("meeting:{id}/{}", a.id),
            json!({"title": a.title, "department": a.department.code(), "due": a.due.to_string()}),
        )
        .await;
    }
    Ok(m)
}

/// `POST /api/v1/committee/meetings/{id}/action-items`.
#[utoipa::path(
    post,
    path = "/api/v1/committee/meetings/{id}/action-items",
    tag = "Committee",
    params(("id" = String, Path, description = "The meeting's id.")),
    request_body(content = ActionItemBody, content_type = "application/json", description = "The action item: title, owner department, due date."),
    responses((status = 200, description = "`{\"meeting\": …}` with the item; it is on the action items list (`GET /api/v1/action-items`) beside the reviews'.", body = Object), (status = 400, description = "No title, an unknown department, a due date that is not a date.", body = crate::openapi::ErrorBody), (status = 404, description = "No such meeting.", body = crate::openapi::ErrorBody)),
)]
pub async fn post_action_item(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: ActionItemBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    let m = add_action_item(&state, &who, &id, b).await?;
    Ok(Json(json!({"meeting": m})))
}

/// Marks a meeting's action item done or open for `who` and audits it: administrators and
/// the chair, or whoever works tasks for the item's department (responders only their own
/// department's, as on a review). Shared by the API and the console.
pub(crate) async fn mark_action_item(
    state: &AppState,
    who: &Principal,
    id: &str,
    item: &str,
    done: bool,
) -> Result<Meeting, ApiError> {
    let target = id.to_owned();
    let m = with(state, move |c| c.meeting(&target)).await?;
    let a = m
        .action_items
        .iter()
        .find(|a| a.id == item)
        .ok_or_else(|| {
            ApiError::from(CaseError::NotFound {
                kind: "action item",
                id: format!("{id}/{item}"),
            })
        })?;
    let works_it = who.can(Permission::WorkTasks)
        && who.role.incident_scope().is_none_or(|d| d == a.department);
    if !works_it {
        require_chair(state, who, Some(m.clone())).await?;
    }
    let (actor, target, item_id) = (who.name.clone(), id.to_owned(), item.to_owned());
    let m = with(state, move |c| {
        c.set_action_item_done(&target, &item_id, done, &actor, chrono::Utc::now())
    })
    .await?;
    crate::audit::by(
        state,
        who,
        "committee.action_item_done",
        &format!("meeting:{id}/{item}"),
        json!({"done": done}),
    )
    .await;
    Ok(m)
}

/// Done or open again.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct DoneBody {
    /// `true` (the default): done; `false`: open again.
    pub done: Option<bool>,
}

/// `POST /api/v1/committee/meetings/{id}/action-items/{item}`.
#[utoipa::path(
    post,
    path = "/api/v1/committee/meetings/{id}/action-items/{item}",
    tag = "Committee",
    params(("id" = String, Path, description = "The meeting's id."), ("item" = String, Path, description = "The action item's id (`A1`).")),
    request_body(content = DoneBody, content_type = "application/json", description = "Done (the default) or open again."),
    responses((status = 200, description = "`{\"meeting\": …}` as changed.", body = Object), (status = 404, description = "No such meeting or item.", body = crate::openapi::ErrorBody)),
)]
pub async fn post_action_item_done(
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
    let m = mark_action_item(&state, &who, &id, &item, b.done.unwrap_or(true)).await?;
    Ok(Json(json!({"meeting": m})))
}

/// Which briefing pack, and in what form.
#[derive(Deserialize, Default, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct BriefingParams {
    /// Start of the period (`2025-03-01`, RFC 3339, `now-30d`); the last meeting's date when
    /// not given (90 days before `to` when there was none).
    pub from: Option<String>,
    /// End of the period, exclusive; now when not given.
    pub to: Option<String>,
    /// `html` (the default: a printable page, styles inline) or `pdf` (printed by headless
    /// Chromium; the printable page, with the header `Tandem-Pdf-Unavailable` saying why,
    /// when Chromium cannot print).
    pub format: Option<String>,
}

/// `GET /api/v1/committee/briefing`: the committee's briefing pack.
#[utoipa::path(
    get,
    path = "/api/v1/committee/briefing",
    tag = "Committee",
    params(BriefingParams),
    responses((status = 200, description = "The briefing pack as a download: `application/pdf`, or a self-contained printable `text/html` page (asked for, or when Chromium cannot print: then the header `Tandem-Pdf-Unavailable` says why).", content_type = "application/pdf"), (status = 400, description = "A period or format that is not one of its values.", body = crate::openapi::ErrorBody)),
)]
pub async fn briefing(
    who: Principal,
    State(state): State<AppState>,
    Query(p): Query<BriefingParams>,
) -> Result<Response, ApiError> {
    let pdf = match p.format.as_deref().unwrap_or("html") {
        "html" | "" => false,
        "pdf" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown format `{}`; use html or pdf",
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    let pack = crate::briefing::build(&state, &who, &p).await?;
    let name = pack.file_name();
    if pdf {
        match crate::briefing::print_pdf(&state, &pack).await {
            Ok(bytes) => {
                return Ok((
                    [
                        (header::CONTENT_TYPE, "application/pdf".to_owned()),
                        (
                            header::CONTENT_DISPOSITION,
                            format!("attachment; filename=\"{name}.pdf\""),
                        ),
                    ],
                    bytes,
                )
                    .into_response());
            }
            Err(why) => {
                let mut r = html_download(&pack, &name, Some(&why));
                if let Ok(v) = axum::http::HeaderValue::from_str(&why.replace(['\r', '\n'], " ")) {
                    r.headers_mut().insert("tandem-pdf-unavailable", v);
                }
                return Ok(r);
            }
        }
    }
    Ok(html_download(&pack, &name, None))
}

fn html_download(pack: &crate::briefing::Pack, name: &str, why: Option<&str>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.html\""),
            ),
        ],
        pack.standalone(why),
    )
        .into_response()
}
