//! The incident pages: the list, one incident (summary, status and severity, the task board
//! by department with SLA state, observables, evidence, alerts and events, comments, the
//! timeline, the review), and "My department's tasks", overdue first.
//!
//! Forms post to console routes that call the same functions as the API
//! (`crate::incidents`), so permissions, department scope and audit are the same; a refused
//! change comes back as a readable refusal, a stale one names who changed what.

use crate::access::Permission;
use crate::incidents::{ListParams, act_on_task, add_comment, filter, run, visible};
use crate::view::{Visitor, path_segment, refusal_page, render};
use crate::{ApiError, AppState};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_cases::IncidentStatus;
use tandem_cases::incident::{SlaState, Task, TaskState};
use tandem_cases::incidents::{ActionItemInput, IncidentChange, ReviewInput, TaskAction};
use tandem_model::{Department, Severity};

/// What a refused change says to the reader; a stale one names who changed what.
fn refusal_message(e: &ApiError) -> String {
    if let Some(d) = &e.detail
        && let (Some(by), Some(what)) = (d["changed_by"].as_str(), d["change"].as_str())
    {
        return format!(
            "{by} changed this incident meanwhile ({what}). Reload the page and try again."
        );
    }
    e.message.clone()
}

fn refusal(e: ApiError) -> Response {
    refusal_page(e.status, &refusal_message(&e))
}

/// A form on the incident page that was refused for a reason the reader can act on (a rule
/// of the workflow, a stale version): the incident page again, the reason on top, so the
/// next step (write the review, reload) is one click away. Other refusals (not found, not
/// allowed) get the refusal page.
pub(crate) async fn back_to_incident(
    v: &Visitor,
    state: &AppState,
    id: &str,
    e: ApiError,
) -> Response {
    if matches!(e.status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) {
        incident_view(v, state, id, Some((e.status, refusal_message(&e))), None).await
    } else {
        refusal(e)
    }
}

fn sla_label(t: &Task) -> &'static str {
    if t.sla.is_none() {
        return "no SLA";
    }
    if t.state == TaskState::Blocked {
        // The clock starts when the task opens.
        return "starts when it opens";
    }
    match t.sla_state {
        SlaState::Running => "running",
        SlaState::Paused => "paused",
        SlaState::Warned => "warning",
        SlaState::Breached => "breached",
        SlaState::Met => "met",
    }
}

fn state_label(s: TaskState) -> &'static str {
    match s {
        TaskState::Blocked => "waiting",
        TaskState::Open => "open",
        TaskState::InProgress => "in progress",
        TaskState::Done => "done",
        TaskState::Skipped => "skipped",
    }
}

/// `GET /incidents`: the incidents the visitor may see, most recently changed first.
pub async fn list_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Response {
    let f = match filter(&v.who, &params) {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    let (total, list) = match run(&state, move |i| i.list(&f)).await {
        Ok(x) => x,
        Err(e) => return refusal(e),
    };
    let rows: Vec<Value> = list
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "title": i.title,
                "severity": i.severity.name(),
                "status": i.status.code().replace('_', " "),
                "departments": i.departments().iter().map(|d| d.label()).collect::<Vec<_>>(),
                "open_tasks": i.tasks.iter().filter(|t| !t.finished()).count(),
                "tasks": i.tasks.len(),
                "breached": i.tasks.iter().any(|t| t.sla_breached.is_some() && !t.finished()),
            })
        })
        .collect();
    render(
        "incidents.html",
        context! {
            rows => minijinja::value::Serde(&rows), total => total,
            status => params.status.unwrap_or_default(),
            statuses => IncidentStatus::ALL.map(|s| s.code()),
            scope => v.who.role.incident_scope().map(|d| d.label()),
            ..v.base("incidents")
        },
    )
}

/// `GET /incidents/{id}`: the incident page.
pub async fn incident_page(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    incident_view(&v, &state, &id, None, None).await
}

/// The incident page, with the reason a form was refused on top when there is one, and the
/// request a response action would send when the visitor asked for its preview.
pub(crate) async fn incident_view(
    v: &Visitor,
    state: &AppState,
    id: &str,
    error: Option<(StatusCode, String)>,
    preview: Option<Value>,
) -> Response {
    let now = chrono::Utc::now();
    let id = id.to_owned();
    let loaded = run(state, move |i| {
        let (inc, timeline) = i.get(&id)?;
        let elapsed: Vec<Option<i64>> = inc
            .tasks
            .iter()
            .map(|t| t.sla.map(|_| i.sla_elapsed_minutes(&inc, t, now)))
            .collect();
        // What this incident can be merged into: the other open incidents, newest first.
        let open = i.list(&tandem_cases::incidents::IncidentFilter {
            statuses: IncidentStatus::ALL
                .into_iter()
                .filter(|s| !s.is_closed())
                .collect(),
            limit: 100,
            ..Default::default()
        })?;
        let others: Vec<(String, String)> = open
            .1
            .into_iter()
            .filter(|o| o.id != inc.id)
            .map(|o| (o.id, o.title))
            .collect();
        Ok((inc, timeline, elapsed, others))
    })
    .await;
    let (inc, timeline, elapsed, others) = match loaded {
        Ok(x) => x,
        Err(e) => return refusal(e),
    };
    if let Err(e) = visible(&v.who, &inc) {
        return refusal(e);
    }
    let zone = v.zone.plain();
    let scope = v.who.role.incident_scope();
    let can_work = v.can(Permission::WorkTasks);
    let board: Vec<Value> = inc
        .departments()
        .into_iter()
        .map(|d| {
            let tasks: Vec<Value> = inc
                .tasks
                .iter()
                .zip(&elapsed)
                .filter(|(t, _)| t.department == d)
                .map(|(t, e)| {
                    let mine = can_work && scope.is_none_or(|s| s == d);
                    json!({
                        "id": t.id,
                        "path_id": path_segment(&t.id),
                        "title": t.title,
                        "state": state_label(t.state),
                        "state_code": t.state,
                        "assignee": t.assignee,
                        "after": t.after,
                        "evidence": t.required_evidence,
                        // Each required item and whether a file provides it yet.
                        "evidence_state": t.required_evidence.iter().map(|r| {
                            let attached = inc.evidence.iter().any(|e| {
                                e.task.as_deref() == Some(t.id.as_str())
                                    && e.item.as_deref() == Some(r.as_str())
                            });
                            json!({"item": r, "attached": attached})
                        }).collect::<Vec<_>>(),
                        "sla": sla_label(t),
                        "sla_code": t.sla_state,
                        "elapsed": e,
                        "breach": t.sla.map(|s| s.breach_minutes),
                        "business_hours": t.sla.is_some_and(|s| s.business_hours),
                        "can_take": mine && matches!(t.state, TaskState::Open),
                        "can_attach": mine && !t.finished() && !inc.status.is_closed(),
                        "can_complete": mine && matches!(t.state, TaskState::Open | TaskState::InProgress),
                    })
                })
                .collect();
            json!({"department": d.label(), "code": d.code(), "tasks": tasks})
        })
        .collect();
    let directory = state.identity.snapshot();
    let observables: Vec<Value> = inc
        .observables
        .iter()
        .map(|o| {
            let field = match o.kind.as_str() {
                "ip" => "ip",
                "user" => "user",
                "person" => "person",
                "device" => "device",
                "door" => "door",
                _ => "",
            };
            let search = (!field.is_empty()).then(|| {
                let mut q = form_urlencoded::Serializer::new(String::new());
                q.append_pair("q", &format!("{field}:\"{}\"", o.value));
                format!("/search?{}", q.finish())
            });
            let person =
                (o.kind == "person").then(|| format!("/people/{}", path_segment(&o.value)));
            // A person reads by their name; the id stays beside it.
            let name = (o.kind == "person")
                .then(|| directory.person(&o.value).map(|p| p.name.clone()))
                .flatten();
            json!({"kind": o.kind, "value": o.value, "name": name, "search": search, "person": person})
        })
        .collect();
    let entries: Vec<Value> = timeline
        .iter()
        .map(|e| {
            json!({
                "time": crate::clock::stamp(e.time, &zone),
                "actor": e.actor,
                "kind": e.kind,
                "what": tandem_cases::timeline::describe(&e.kind, &e.detail),
            })
        })
        .collect();
    let comments: Vec<Value> = inc
        .comments
        .iter()
        .map(|c| {
            json!({
                "time": crate::clock::stamp(c.time, &zone),
                "author": c.author,
                "text": c.text,
                "task": c.task,
                "mentions": c.mentions.iter().map(|d| d.label()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let evidence: Vec<Value> = inc
        .evidence
        .iter()
        .map(|e| {
            json!({
                "name": e.name, "sha256": e.sha256, "size": e.size, "task": e.task,
                "href": format!("/incidents/{}/evidence/{}", path_segment(&inc.id), path_segment(&e.sha256)),
                "item": e.item, "by": e.added_by, "time": crate::clock::stamp(e.time, &zone),
            })
        })
        .collect();
    let milestones: Vec<Value> = [
        ("Occurred", inc.milestones.occurred),
        ("Detected", inc.milestones.detected),
        ("Acknowledged", inc.milestones.acknowledged),
        ("Contained", inc.milestones.contained),
        ("Resolved", inc.milestones.resolved),
        ("Closed", inc.milestones.closed),
    ]
    .into_iter()
    .map(|(name, t)| json!({"name": name, "time": t.map(|t| crate::clock::stamp(t, &zone))}))
    .collect();
    let review = inc.review.clone().unwrap_or_default();
    let review_items: Vec<Value> = review
        .action_items
        .iter()
        .map(|a| {
            json!({
                "id": a.id, "path_id": path_segment(&a.id), "title": a.title,
                "department": a.department.label(), "due": a.due.to_string(),
                "done": a.done.is_some(),
                "can_mark": can_work && scope.is_none_or(|s| s == a.department),
            })
        })
        .collect();
    let playbooks: Vec<Value> = state
        .cases
        .playbooks
        .current()
        .all()
        .iter()
        .map(|p| json!({"id": p.id, "title": p.title}))
        .collect();
    let merge_targets: Vec<Value> = others
        .iter()
        .map(|(id, title)| json!({"id": id, "title": title}))
        .collect();
    let playbook_title = state
        .cases
        .playbooks
        .current()
        .get(&inc.playbook)
        .map_or_else(|| inc.playbook.clone(), |p| p.title.clone());
    let origin_label = match inc.origin.as_str() {
        "manual" => "opened by hand".to_owned(),
        "alert" => "opened from an alert".to_owned(),
        "risk" => "opened by a risk score".to_owned(),
        "report" => "opened from a report".to_owned(),
        other => format!("opened from {}", other.replace('_', " ")),
    };
    let me_assigned = inc.assignees.contains(&v.who.name);
    let assign_me = inc
        .assignees
        .iter()
        .cloned()
        .chain(std::iter::once(v.who.name.clone()))
        .collect::<Vec<_>>()
        .join(", ");
    let actions = super::actions::panel(v, state, &inc);
    let mut page = render(
        "incident.html",
        context! {
            inc => minijinja::value::Serde(json!({
                "id": inc.id, "version": inc.version, "title": inc.title, "summary": inc.summary,
                "severity": inc.severity.name(), "status": inc.status.code(),
                "status_label": inc.status.code().replace('_', " "),
                "resolution": inc.resolution.map(|r| r.code()), "playbook": inc.playbook,
                "impact": inc.impact, "assignees": inc.assignees, "alerts": inc.alerts,
                "events": inc.events.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                "merged_into": inc.merged_into, "origin": inc.origin, "tlp": inc.tlp,
                "has_review": inc.review.is_some(),
            })),
            board => minijinja::value::Serde(&board),
            observables => minijinja::value::Serde(&observables),
            timeline => minijinja::value::Serde(&entries),
            comments => minijinja::value::Serde(&comments),
            evidence => minijinja::value::Serde(&evidence),
            milestones => minijinja::value::Serde(&milestones),
            review => minijinja::value::Serde(json!({
                "summary": review.summary, "impact": review.impact, "went_well": review.went_well,
                "contributing_factors": review.contributing_factors, "author": review.author,
            })),
            review_items => minijinja::value::Serde(&review_items),
            playbooks => minijinja::value::Serde(&playbooks),
            merge_targets => minijinja::value::Serde(&merge_targets),
            me_assigned => me_assigned,
            playbook_title => playbook_title,
            origin_label => origin_label,
            assign_me => assign_me,
            closed => inc.status.is_closed(),
            error => error.as_ref().map(|(_, m)| m.clone()),
            statuses => IncidentStatus::ALL.map(|s| s.code()),
            severities => ["low", "medium", "high", "critical"],
            resolutions => tandem_cases::Resolution::ALL.map(|r| r.code()),
            departments => minijinja::value::Serde(Department::ALL.map(|d| json!({"code": d.code(), "label": d.label()})).to_vec()),
            can_manage => v.can(Permission::ManageIncidents),
            can_work => can_work,
            actions => minijinja::value::Serde(&actions),
            preview => minijinja::value::Serde(&preview),
            ..v.base("incidents")
        },
    );
    if let Some((status, _)) = error {
        *page.status_mut() = status;
    }
    page
}

/// `GET /tasks`: "My department's tasks", overdue first.
/// Tasks the tasks page shows, the most urgent (the rest are counted).
const TASKS_SHOWN: usize = 200;

pub async fn tasks_page(v: Visitor, State(state): State<AppState>) -> Response {
    let department = v.who.role.incident_scope();
    let now = chrono::Utc::now();
    let (total, list) = match run(&state, move |i| {
        i.department_tasks(department, now, TASKS_SHOWN)
    })
    .await
    {
        Ok(l) => l,
        Err(e) => return refusal(e),
    };
    let can_work = v.can(Permission::WorkTasks);
    let rows: Vec<Value> = list
        .iter()
        .map(|t| {
            json!({
                "incident": t.incident,
                "incident_title": t.incident_title,
                "severity": t.severity.name(),
                "id": t.task.id,
                "path_id": path_segment(&t.task.id),
                "title": t.task.title,
                "department": t.task.department.label(),
                "state": state_label(t.task.state),
                "assignee": t.task.assignee,
                "sla": sla_label(&t.task),
                "remaining": t.remaining_minutes,
                "overdue": t.overdue,
                "can_take": can_work && t.task.state == TaskState::Open,
                "can_complete": can_work && matches!(t.task.state, TaskState::Open | TaskState::InProgress),
            })
        })
        .collect();
    render(
        "tasks.html",
        context! {
            rows => minijinja::value::Serde(&rows),
            total => total,
            department => department.map(|d| d.label()),
            ..v.base("tasks")
        },
    )
}

#[derive(Deserialize, Default)]
pub struct TaskForm {
    #[serde(default)]
    text: String,
    /// Where to go back to: `tasks` or the incident page.
    #[serde(default)]
    back: String,
}

/// `POST /incidents/{id}/tasks/{task}/{take|complete|comment|skip}` from the console.
pub async fn task_form(
    v: Visitor,
    State(state): State<AppState>,
    Path((id, task, action)): Path<(String, String, String)>,
    Form(form): Form<TaskForm>,
) -> Response {
    let a = match action.as_str() {
        "take" => TaskAction::Take,
        "complete" => TaskAction::Complete,
        "comment" => TaskAction::Comment(form.text.clone()),
        "skip" => TaskAction::Skip(form.text.clone()),
        "pause" => TaskAction::Pause(form.text.clone()),
        "resume" => TaskAction::Resume,
        _ => return refusal_page(StatusCode::NOT_FOUND, "no such task action"),
    };
    if let Err(e) = act_on_task(&state, &v.who, &id, &task, None, a).await {
        return if form.back == "tasks" {
            refusal(e)
        } else {
            back_to_incident(&v, &state, &id, e).await
        };
    }
    if form.back == "tasks" {
        Redirect::to("/tasks").into_response()
    } else {
        Redirect::to(&format!("/incidents/{}", path_segment(&id))).into_response()
    }
}

#[derive(Deserialize, Default)]
pub struct CommentForm {
    #[serde(default)]
    text: String,
}

/// `POST /incidents/{id}/comments` from the console.
pub async fn comment_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> Response {
    match add_comment(&state, &v.who, &id, form.text).await {
        Ok(_) => Redirect::to(&format!("/incidents/{}", path_segment(&id))).into_response(),
        Err(e) => back_to_incident(&v, &state, &id, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct ChangeForm {
    base_version: u64,
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    resolution: String,
    /// The playbook to switch to (the playbook form).
    #[serde(default)]
    playbook: String,
    /// Assignees, comma-separated (the assignees form); absent: unchanged.
    #[serde(default)]
    assignees: Option<String>,
}

/// `POST /incidents/{id}/change`: status, severity and resolution, the playbook or the
/// assignees from the incident page (each form sends only its own fields).
pub async fn change_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    if !v.can(Permission::ManageIncidents) {
        return refusal(ApiError::forbidden());
    }
    let change = IncidentChange {
        status: IncidentStatus::parse(&form.status),
        severity: form.severity.parse::<Severity>().ok(),
        resolution: tandem_cases::Resolution::parse(&form.resolution),
        playbook: Some(form.playbook.trim().to_owned()).filter(|p| !p.is_empty()),
        assignees: form.assignees.as_deref().map(|a| {
            a.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        ..IncidentChange::default()
    };
    let mut detail = serde_json::Map::new();
    for (key, value) in [
        ("status", &form.status),
        ("severity", &form.severity),
        ("resolution", &form.resolution),
        ("playbook", &form.playbook),
    ] {
        if !value.is_empty() {
            detail.insert(key.to_owned(), json!(value));
        }
    }
    if let Some(a) = &change.assignees {
        detail.insert("assignees".to_owned(), json!(a));
    }
    let (actor, target, base) = (v.who.name.clone(), id.clone(), form.base_version);
    let result = run(&state, move |i| {
        i.change(&target, base, change, &actor, chrono::Utc::now())
    })
    .await;
    if let Err(e) = result {
        return back_to_incident(&v, &state, &id, e).await;
    }
    crate::audit::by(
        &state,
        &v.who,
        "incident.change",
        &format!("incident:{id}"),
        json!({"change": detail}),
    )
    .await;
    Redirect::to(&format!("/incidents/{}", path_segment(&id))).into_response()
}

#[derive(Deserialize, Default)]
pub struct ReviewForm {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    went_well: String,
    #[serde(default)]
    contributing_factors: String,
    /// A new action item: title, department, due date.
    #[serde(default)]
    item_title: String,
    #[serde(default)]
    item_department: String,
    #[serde(default)]
    item_due: String,
}

/// `POST /incidents/{id}/review`: writes the review; existing action items are kept, one new
/// item may be added.
pub async fn review_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ReviewForm>,
) -> Response {
    if !v.can(Permission::ManageIncidents) {
        return refusal(ApiError::forbidden());
    }
    let target = id.clone();
    let existing = match run(&state, move |i| i.get(&target)).await {
        Ok((inc, _)) => inc.review.map(|r| r.action_items).unwrap_or_default(),
        Err(e) => return refusal(e),
    };
    let mut items: Vec<ActionItemInput> = existing
        .into_iter()
        .map(|a| ActionItemInput {
            id: Some(a.id),
            title: a.title,
            department: a.department,
            due: a.due,
            done: a.done.is_some(),
        })
        .collect();
    if !form.item_title.trim().is_empty() {
        let Some(department) = Department::parse(&form.item_department) else {
            return refusal_page(
                StatusCode::BAD_REQUEST,
                "choose the action item's department",
            );
        };
        let Ok(due) = form.item_due.parse::<chrono::NaiveDate>() else {
            return refusal_page(
                StatusCode::BAD_REQUEST,
                "give the action item a due date (YYYY-MM-DD)",
            );
        };
        items.push(ActionItemInput {
            id: None,
            title: form.item_title,
            department,
            due,
            done: false,
        });
    }
    let input = ReviewInput {
        summary: form.summary,
        impact: form.impact,
        went_well: form.went_well,
        contributing_factors: form.contributing_factors,
        action_items: items,
    };
    match crate::incidents::write_review(&state, &v.who, &id, None, input).await {
        Ok(_) => Redirect::to(&format!("/incidents/{}#review", path_segment(&id))).into_response(),
        Err(e) => back_to_incident(&v, &state, &id, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct ActionItemsParams {
    /// `all`: done items too.
    #[serde(default)]
    show: String,
}

/// `GET /action-items`: review action items across incidents, soonest due first (responders:
/// their department's).
pub async fn action_items_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(p): Query<ActionItemsParams>,
) -> Response {
    let all = p.show == "all";
    let scope = v.who.role.incident_scope();
    let mut items = match run(&state, move |i| i.action_items(!all)).await {
        Ok(x) => x,
        Err(e) => return refusal(e),
    };
    if let Some(d) = scope {
        items.retain(|a| a.item.department == d);
    }
    let today = chrono::Utc::now().date_naive();
    let can_work = v.can(Permission::WorkTasks);
    let mut rows: Vec<(bool, chrono::NaiveDate, Value)> = items
        .iter()
        .map(|a| {
            let incident = path_segment(&a.incident);
            let row = json!({
                "from": a.incident, "from_title": a.incident_title,
                "from_link": format!("/incidents/{incident}#review"),
                "done_path": format!("/incidents/{incident}/action-items/{}/done", path_segment(&a.item.id)),
                "can_mark": can_work,
                "title": a.item.title, "department": a.item.department.label(),
                "due": a.item.due.to_string(), "done": a.item.done.is_some(),
                "late": a.item.done.is_none() && a.item.due < today,
            });
            (a.item.done.is_some(), a.item.due, row)
        })
        .collect();
    // The security committee's action items, in the same list: who may read the committee
    // sees them (responders their department's, as with the reviews').
    if v.can(Permission::ViewCommittee) {
        let meeting_items =
            match crate::committee::with(&state, move |c| c.action_items(!all)).await {
                Ok(x) => x,
                Err(e) => return refusal(e),
            };
        for a in meeting_items {
            if scope.is_some_and(|d| d != a.item.department) {
                continue;
            }
            let meeting = path_segment(&a.meeting);
            let row = json!({
                "from": a.meeting, "from_title": format!("{}, {}", a.meeting_title, a.date),
                "from_link": format!("/committee/meetings/{meeting}"),
                "done_path": format!("/committee/meetings/{meeting}/action-items/{}/done", path_segment(&a.item.id)),
                "can_mark": can_work || v.can(Permission::ManageCommittee),
                "title": a.item.title, "department": a.item.department.label(),
                "due": a.item.due.to_string(), "done": a.item.done.is_some(),
                "late": a.item.done.is_none() && a.item.due < today,
            });
            rows.push((a.item.done.is_some(), a.item.due, row));
        }
    }
    rows.sort_by_key(|a| (a.0, a.1));
    let rows: Vec<Value> = rows.into_iter().map(|(_, _, r)| r).collect();
    render(
        "action_items.html",
        context! { rows => minijinja::value::Serde(&rows), all => all, ..v.base("incidents") },
    )
}

/// `GET /static/evidence.js`: sends the file an evidence form chose as the request body to
/// the API (with the session's CSRF token), then reloads the page.
pub async fn evidence_script() -> Response {
    crate::view::script(include_str!("../../static/evidence.js"))
}

#[derive(Deserialize, Default)]
pub struct MergeForm {
    /// The incident this one is merged into (the survivor).
    #[serde(default)]
    into: String,
}

/// `POST /incidents/{id}/merge`: merges this incident into the one chosen; it closes as a
/// duplicate and the survivor's page opens.
pub async fn merge_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<MergeForm>,
) -> Response {
    if !v.can(Permission::ManageIncidents) {
        return refusal(ApiError::forbidden());
    }
    let into = form.into.trim().to_owned();
    if into.is_empty() {
        return refusal_page(
            StatusCode::BAD_REQUEST,
            "choose the incident to merge this one into",
        );
    }
    let (actor, from, target) = (v.who.name.clone(), id.clone(), into.clone());
    if let Err(e) = run(&state, move |i| {
        i.merge(&target, &from, &actor, chrono::Utc::now())
    })
    .await
    {
        return back_to_incident(&v, &state, &id, e).await;
    }
    crate::audit::by(
        &state,
        &v.who,
        "incident.merge",
        &format!("incident:{into}"),
        json!({"from": id}),
    )
    .await;
    Redirect::to(&format!("/incidents/{}", path_segment(&into))).into_response()
}

/// `GET /incidents/{id}/evidence/{sha256}`: an evidence file, always as a download.
pub async fn evidence_download(
    v: Visitor,
    State(state): State<AppState>,
    Path((id, sha256)): Path<(String, String)>,
) -> Response {
    match crate::incidents::evidence_download(&state, &v.who, &id, &sha256).await {
        Ok(r) => r,
        Err(e) => refusal(e),
    }
}

#[derive(Deserialize, Default)]
pub struct DoneForm {
    /// `open`: mark it open again.
    #[serde(default)]
    state: String,
    /// Where to go back to: `action-items` or the incident's review.
    #[serde(default)]
    back: String,
}

/// `POST /incidents/{id}/action-items/{item}/done`: the "Mark done" button of the action
/// items page and of the review.
pub async fn action_item_form(
    v: Visitor,
    State(state): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    Form(form): Form<DoneForm>,
) -> Response {
    let done = form.state != "open";
    if let Err(e) = crate::incidents::mark_action_item(&state, &v.who, &id, &item, done).await {
        return if form.back == "action-items" {
            refusal(e)
        } else {
            back_to_incident(&v, &state, &id, e).await
        };
    }
    if form.back == "action-items" {
        Redirect::to("/action-items").into_response()
    } else {
        Redirect::to(&format!("/incidents/{}#review", path_segment(&id))).into_response()
    }
}
