//! The security committee's pages: `/committee` (members and the rotation, the next chair,
//! meetings, open action items, the briefing pack) and a meeting's page
//! (`/committee/meetings/{id}`: decisions and action items). Every form calls the same
//! functions as the API (`crate::committee`), which check who may act and audit it.

use crate::committee::{ActionItemBody, MeetingBody, MemberBody, SetupBody, with};
use crate::view::{Visitor, path_segment, refusal_page, render};
use crate::{ApiError, AppState, Permission};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_cases::committee::{Meeting, next_chair, rotation};
use tandem_model::Department;

fn refusal(e: ApiError) -> Response {
    refusal_page(e.status, &e.message)
}

fn departments() -> Vec<Value> {
    Department::ALL
        .iter()
        .map(|d| json!({"code": d.code(), "label": d.label()}))
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Message {
    /// What went wrong with the last form, shown at the top.
    error: Option<String>,
}

fn back(path: &str, e: &ApiError) -> Response {
    // A refusal of who may act is a refusal page; a mistake in a form is shown on the page.
    if e.status == axum::http::StatusCode::FORBIDDEN
        || e.status == axum::http::StatusCode::NOT_FOUND
    {
        return refusal(ApiError::new(e.status, e.message.clone()));
    }
    let msg: String = e.message.chars().take(300).collect();
    Redirect::to(&format!(
        "{path}?error={}",
        form_urlencoded::byte_serialize(msg.as_bytes()).collect::<String>()
    ))
    .into_response()
}

/// `GET /committee`.
pub async fn page(v: Visitor, State(state): State<AppState>, Query(q): Query<Message>) -> Response {
    let name = v.who.name.clone();
    let data = with(&state, move |c| {
        let setup = c.setup()?;
        let meetings = c.meetings()?;
        let items = c.action_items(true)?;
        let is_next = next_chair(&setup, &meetings).is_some_and(|m| m.account == name);
        Ok((setup, meetings, items, is_next))
    })
    .await;
    let (setup, meetings, items, is_next) = match data {
        Ok(x) => x,
        Err(e) => return refusal(e),
    };
    let next = next_chair(&setup, &meetings).cloned();
    let today = chrono::Utc::now().date_naive();
    let members: Vec<Value> = rotation(&setup)
        .iter()
        .map(|m| {
            json!({
                "account": m.account, "department": m.department.label(), "skip": m.skip,
                "next": next.as_ref().is_some_and(|n| n.account == m.account),
            })
        })
        .collect();
    let rows: Vec<Value> = meetings
        .iter()
        .map(|m| {
            json!({
                "id": m.id, "path": path_segment(&m.id), "date": m.date.to_string(), "title": m.title,
                "chair": m.chair, "turn": m.turn,
                "stand_in": m.turn.as_ref().is_some_and(|t| *t != m.chair),
                "decisions": m.decisions.len(), "items": m.action_items.len(),
                "open_items": m.action_items.iter().filter(|a| a.done.is_none()).count(),
            })
        })
        .collect();
    let may_record = v.can(Permission::ManageCommittee) || is_next;
    let items: Vec<Value> = items
        .iter()
        .map(|a| {
            let chaired = meetings
                .iter()
                .any(|m| m.id == a.meeting && m.chair == v.who.name);
            json!({
                "can_mark": may_record || chaired || works(&v, a.item.department),
                "meeting": a.meeting, "meeting_path": path_segment(&a.meeting), "date": a.date.to_string(),
                "id": a.item.id, "path_id": path_segment(&a.item.id), "title": a.item.title,
                "department": a.item.department.label(), "due": a.item.due.to_string(),
                "late": a.item.due < today,
            })
        })
        .collect();
    let briefing_from = meetings
        .iter()
        .find(|m| m.date <= today)
        .map(|m| m.date.to_string())
        .unwrap_or_default();
    render(
        "committee.html",
        context! {
            message => q.error,
            next_chair => minijinja::value::Serde(next.as_ref().map(|m| json!({"account": m.account, "department": m.department.label()}))),
            members => minijinja::value::Serde(members),
            member_accounts => setup.members.iter().map(|m| m.account.clone()).collect::<Vec<_>>().join(", "),
            rotation => setup.rotation.code(),
            rotation_label => match setup.rotation { tandem_cases::committee::RotationOrder::Department => "by department", _ => "as listed" },
            meetings => minijinja::value::Serde(rows),
            items => minijinja::value::Serde(items),
            departments => minijinja::value::Serde(departments()),
            can_manage => v.can(Permission::ManageCommittee),
            can_record => may_record,
            today => today.to_string(),
            briefing_from => briefing_from,
            ..v.base("committee")
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MemberForm {
    /// add, remove, skip, unskip, rotation.
    action: String,
    account: String,
    department: String,
    reason: String,
    rotation: String,
}

/// `POST /committee/members`: one change to the members or the rotation, written as the
/// whole setup from the version read.
pub async fn members_form(
    v: Visitor,
    State(state): State<AppState>,
    Form(f): Form<MemberForm>,
) -> Response {
    if !v.can(Permission::ManageCommittee) {
        return refusal(ApiError::forbidden());
    }
    let setup = match with(&state, |c| c.setup()).await {
        Ok(s) => s,
        Err(e) => return refusal(e),
    };
    let account = f.account.trim().to_owned();
    let mut members: Vec<MemberBody> = setup
        .members
        .iter()
        .map(|m| MemberBody {
            account: m.account.clone(),
            department: m.department.code().to_owned(),
            skip: m.skip.clone(),
        })
        .collect();
    let mut rotation = setup.rotation.code().to_owned();
    match f.action.as_str() {
        "add" => members.push(MemberBody {
            account,
            department: f.department,
            skip: None,
        }),
        "remove" => members.retain(|m| m.account != account),
        "skip" => {
            let reason = match f.reason.trim() {
                "" => "skipped".to_owned(),
                r => r.to_owned(),
            };
            members
                .iter_mut()
                .filter(|m| m.account == account)
                .for_each(|m| m.skip = Some(reason.clone()));
        }
        "unskip" => members
            .iter_mut()
            .filter(|m| m.account == account)
            .for_each(|m| m.skip = None),
        "rotation" => rotation = f.rotation,
        _ => return refusal_page(axum::http::StatusCode::BAD_REQUEST, "unknown change"),
    }
    let body = SetupBody {
        base_version: Some(setup.version),
        rotation: Some(rotation),
        members,
    };
    match crate::committee::set_up(&state, &v.who, body).await {
        Ok(_) => Redirect::to("/committee").into_response(),
        Err(e) => back("/committee", &e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MeetingForm {
    date: String,
    title: String,
    chair: String,
    /// Comma-separated.
    attendees: String,
    notes: String,
}

/// `POST /committee/meetings`: records a meeting and opens its page.
pub async fn meeting_form(
    v: Visitor,
    State(state): State<AppState>,
    Form(f): Form<MeetingForm>,
) -> Response {
    let body = MeetingBody {
        date: f.date,
        title: f.title,
        chair: Some(f.chair).filter(|c| !c.trim().is_empty()),
        attendees: f
            .attendees
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect(),
        notes: f.notes,
    };
    match crate::committee::add_meeting(&state, &v.who, body).await {
        Ok(m) => {
            Redirect::to(&format!("/committee/meetings/{}", path_segment(&m.id))).into_response()
        }
        Err(e) => back("/committee", &e),
    }
}

/// `GET /committee/meetings/{id}`.
pub async fn meeting_page(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Message>,
) -> Response {
    let name = v.who.name.clone();
    let data = with(&state, move |c| {
        let m = c.meeting(&id)?;
        let history = c.history(&id)?;
        let chair = c.is_chair(&name, Some(&m))?;
        Ok((m, history, chair))
    })
    .await;
    let (m, history, chair): (Meeting, _, bool) = match data {
        Ok(x) => x,
        Err(e) => return refusal(e),
    };
    let zone = v.zone.plain();
    let today = chrono::Utc::now().date_naive();
    let can_record = v.can(Permission::ManageCommittee) || chair;
    let items: Vec<Value> = m
        .action_items
        .iter()
        .map(|a| {
            json!({
                "can_mark": can_record || works(&v, a.department),
                "id": a.id, "path_id": path_segment(&a.id), "title": a.title,
                "department": a.department.label(), "due": a.due.to_string(),
                "done": a.done.is_some(), "late": a.done.is_none() && a.due < today,
            })
        })
        .collect();
    let history: Vec<Value> = history
        .iter()
        .map(|h| {
            json!({
                "time": crate::clock::stamp(h.time, &zone),
                "actor": h.actor,
                "what": what(&h.kind, &h.detail),
            })
        })
        .collect();
    let decisions: Vec<Value> = m
        .decisions
        .iter()
        .map(|d| json!({"text": d.text, "by": d.by, "time": crate::clock::stamp(d.time, &zone)}))
        .collect();
    let mut shown = serde_json::to_value(&m).unwrap_or_default();
    shown["decisions"] = Value::Array(decisions);
    render(
        "meeting.html",
        context! {
            message => q.error,
            m => minijinja::value::Serde(shown),
            path => path_segment(&m.id),
            stand_in => m.turn.as_ref().is_some_and(|t| *t != m.chair),
            items => minijinja::value::Serde(items),
            history => minijinja::value::Serde(history),
            departments => minijinja::value::Serde(departments()),
            can_record => can_record,
            ..v.base("committee")
        },
    )
}

/// Whether the visitor works tasks for `department` (and so may close its action items).
fn works(v: &Visitor, department: Department) -> bool {
    v.can(Permission::WorkTasks) && v.who.role.incident_scope().is_none_or(|d| d == department)
}

/// A meeting's timeline entry in words.
fn what(kind: &str, d: &Value) -> String {
    let s = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    match kind {
        "meeting" => format!("recorded the meeting, chaired by {}", s("chair")),
        "decision" => format!("recorded decision {}: {}", s("decision"), s("text")),
        "action_item" => format!(
            "added action item {} for {} due {}: {}",
            s("item"),
            s("department"),
            s("due"),
            s("title")
        ),
        other => tandem_cases::timeline::describe(other, d),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecisionForm {
    text: String,
}

/// `POST /committee/meetings/{id}/decisions`.
pub async fn decision_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let path = format!("/committee/meetings/{}", path_segment(&id));
    match crate::committee::decide(&state, &v.who, &id, f.text).await {
        Ok(_) => Redirect::to(&path).into_response(),
        Err(e) => back(&path, &e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ItemForm {
    title: String,
    department: String,
    due: String,
}

/// `POST /committee/meetings/{id}/action-items`.
pub async fn action_item_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ItemForm>,
) -> Response {
    let path = format!("/committee/meetings/{}", path_segment(&id));
    let body = ActionItemBody {
        title: f.title,
        department: f.department,
        due: f.due,
    };
    match crate::committee::add_action_item(&state, &v.who, &id, body).await {
        Ok(_) => Redirect::to(&path).into_response(),
        Err(e) => back(&path, &e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneForm {
    /// `open`: open again.
    state: String,
    /// Where to go back to: `action-items`, `committee`, or the meeting.
    back: String,
}

/// `POST /committee/meetings/{id}/action-items/{item}/done`: the "Close" button of the
/// meeting, the committee page and the action items list.
pub async fn done_form(
    v: Visitor,
    State(state): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    Form(f): Form<DoneForm>,
) -> Response {
    let done = f.state != "open";
    let to = match f.back.as_str() {
        "action-items" => "/action-items".to_owned(),
        "committee" => "/committee".to_owned(),
        _ => format!("/committee/meetings/{}", path_segment(&id)),
    };
    match crate::committee::mark_action_item(&state, &v.who, &id, &item, done).await {
        Ok(_) => Redirect::to(&to).into_response(),
        Err(e) => back(&to, &e),
    }
}

/// `GET /committee/briefing?from=&to=&format=pdf|html`: the briefing pack as a PDF download,
/// or its printable page (asked for, or when Chromium cannot print, saying why).
pub async fn briefing(
    v: Visitor,
    State(state): State<AppState>,
    Query(p): Query<crate::committee::BriefingParams>,
) -> Response {
    let pack = match crate::briefing::build(&state, &v.who, &p).await {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let mut link = "/committee/briefing?format=pdf".to_owned();
    for (k, val) in [("from", &p.from), ("to", &p.to)] {
        if let Some(x) = val.as_deref().filter(|x| !x.trim().is_empty()) {
            link.push_str(&format!(
                "&{k}={}",
                form_urlencoded::byte_serialize(x.as_bytes()).collect::<String>()
            ));
        }
    }
    if p.format.as_deref() == Some("pdf") {
        match crate::briefing::print_pdf(&state, &pack).await {
            Ok(bytes) => {
                return (
                    [
                        (header::CONTENT_TYPE, "application/pdf".to_owned()),
                        (
                            header::CONTENT_DISPOSITION,
                            format!("attachment; filename=\"{}.pdf\"", pack.file_name()),
                        ),
                    ],
                    bytes,
                )
                    .into_response();
            }
            Err(why) => {
                tracing::warn!(reason = %why, "briefing pack shown as a printable page");
                return Html(pack.console_page(Some(&why), "")).into_response();
            }
        }
    }
    Html(pack.console_page(None, &link)).into_response()
}

/// `GET /static/briefing.css`: the briefing pack's print styles.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        crate::briefing::CSS,
    )
        .into_response()
}
