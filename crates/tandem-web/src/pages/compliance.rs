//! The compliance pages: the gaps (controls with no, missing or failing evidence, filtered by
//! framework, owner, status and state), one control with its Statement of Applicability and
//! evidence history, and the forms that edit the row and run evidence now. Auditors see
//! everything and no form; the forms call the same functions as the API.

use crate::compliance::{self as api, ControlFilter, framework_of};
use crate::view::{Visitor, path_segment, refusal_page, render};
use crate::{ApiError, AppState, Department, Permission};
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tandem_compliance::soa::{self, Edit, State as ControlState};

fn refusal(e: ApiError) -> Response {
    refusal_page(e.status, &e.message)
}

#[derive(Serialize)]
struct Choice {
    code: String,
    label: String,
    selected: bool,
}

fn choices(all: &[(String, String)], selected: &str) -> Vec<Choice> {
    all.iter()
        .map(|(code, label)| Choice {
            code: code.clone(),
            label: label.clone(),
            selected: code == selected,
        })
        .collect()
}

fn departments() -> Vec<(String, String)> {
    Department::ALL
        .iter()
        .map(|d| (d.code().to_owned(), d.label().to_owned()))
        .collect()
}

fn statuses() -> Vec<(String, String)> {
    soa::STATUSES
        .iter()
        .map(|(c, l)| ((*c).to_owned(), (*l).to_owned()))
        .collect()
}

fn owner_label(code: &str) -> String {
    Department::parse(code).map_or_else(|| "—".to_owned(), |d| d.label().to_owned())
}

fn status_label(code: &str) -> &'static str {
    soa::STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("—", |(_, l)| l)
}

/// A control as a row of the gaps table.
#[derive(Serialize)]
struct Row {
    id: String,
    link: String,
    title: String,
    group: String,
    owner: String,
    status: &'static str,
    state: &'static str,
    state_label: &'static str,
    evidence: Vec<EvidenceCell>,
}

#[derive(Serialize)]
struct EvidenceCell {
    title: String,
    status: String,
}

/// `GET /compliance`: the gaps (or every control, by the filter).
pub async fn gaps(
    v: Visitor,
    State(state): State<AppState>,
    Query(f): Query<ControlFilter>,
) -> Response {
    let framework = framework_of(f.framework.as_deref());
    let wanted = f.state.clone().unwrap_or_else(|| "gaps".into());
    let mut rows = match api::filtered(&state, &f, "gaps").await {
        Ok(rows) => rows,
        Err(e) => return refusal(e),
    };
    // Failing evidence first, then missing, then none defined; catalogue order within each
    // (the sort is stable).
    rows.sort_by_key(|c| match c.state {
        ControlState::Failing => 0,
        ControlState::Missing => 1,
        ControlState::NoEvidence => 2,
        _ => 3,
    });
    let all = match api::filtered(
        &state,
        &ControlFilter {
            framework: Some(framework.clone()),
            state: Some("all".into()),
            ..ControlFilter::default()
        },
        "all",
    )
    .await
    {
        Ok(all) => all,
        Err(e) => return refusal(e),
    };
    let count = |s: ControlState| all.iter().filter(|v| v.state == s).count();
    let summary = context! {
        controls => all.len(),
        evidenced => count(ControlState::Evidenced),
        failing => count(ControlState::Failing),
        missing => count(ControlState::Missing),
        no_evidence => count(ControlState::NoEvidence),
        not_applicable => count(ControlState::NotApplicable),
    };
    let rows: Vec<Row> = rows
        .iter()
        .map(|c| Row {
            id: c.id.clone(),
            link: format!(
                "/compliance/controls/{}?framework={}",
                path_segment(&c.id),
                path_segment(&framework)
            ),
            title: c.title.clone(),
            group: c.group.clone(),
            owner: owner_label(&c.soa.owner),
            status: status_label(&c.soa.status),
            state: c.state.code(),
            state_label: c.state.label(),
            evidence: c
                .evidence
                .iter()
                .map(|e| EvidenceCell {
                    title: e.title.clone(),
                    status: e
                        .latest
                        .as_ref()
                        .map_or_else(|| "never run".to_owned(), |s| s.input.status.clone()),
                })
                .collect(),
        })
        .collect();
    let frameworks: Vec<(String, String)> = state
        .compliance
        .library
        .catalogues
        .iter()
        .map(|c| (c.framework.clone(), c.name.clone()))
        .collect();
    let states: Vec<(String, String)> = [("gaps", "Gaps"), ("all", "All controls")]
        .into_iter()
        .map(|(c, l)| (c.to_owned(), l.to_owned()))
        .chain(
            [
                ControlState::Evidenced,
                ControlState::Failing,
                ControlState::Missing,
                ControlState::NoEvidence,
                ControlState::NotApplicable,
            ]
            .into_iter()
            .map(|s| (s.code().to_owned(), s.label().to_owned())),
        )
        .collect();
    let mut owners = vec![("none".to_owned(), "No owner".to_owned())];
    owners.extend(departments());
    render(
        "compliance.html",
        context! {
            framework => framework.clone(),
            frameworks => Serde(&choices(&frameworks, &framework)),
            states => Serde(&choices(&states, &wanted)),
            owners => Serde(&choices(&owners, f.owner.as_deref().unwrap_or(""))),
            statuses => Serde(&choices(&statuses(), f.status.as_deref().unwrap_or(""))),
            rows => Serde(&rows),
            summary => summary,
            can_manage => v.can(Permission::ManageCompliance),
            ..v.base("compliance")
        },
    )
}

#[derive(Deserialize, Default)]
pub struct FrameworkQuery {
    #[serde(default)]
    pub framework: Option<String>,
    /// Set after a change: what was done, shown on top.
    #[serde(default)]
    pub done: Option<String>,
}

#[derive(Serialize)]
struct Snapshot {
    seq: u64,
    time: crate::clock::Stamp,
    evidence: String,
    status: String,
    value: String,
    hash: String,
    detail: String,
}

/// `GET /compliance/controls/{id}?framework=`: one control.
pub async fn control_page(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<FrameworkQuery>,
) -> Response {
    let framework = framework_of(q.framework.as_deref());
    let (view, history) = match api::control(&state, &framework, &id).await {
        Ok(found) => found,
        Err(e) => return refusal(e),
    };
    let zone = v.zone.plain();
    let snapshots: Vec<Snapshot> = history
        .iter()
        .map(|r| Snapshot {
            seq: r.seq,
            time: crate::clock::stamp(r.time, &zone),
            evidence: r.input.evidence.clone(),
            status: r.input.status.clone(),
            value: r
                .input
                .value
                .map(|v| {
                    format!("{:.3}", v)
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_owned()
                })
                .unwrap_or_default(),
            hash: r.hash.get(..12).unwrap_or(&r.hash).to_owned(),
            detail: r
                .input
                .detail
                .get("reason")
                .and_then(|r| r.as_str())
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    let mapped: Vec<String> = state
        .compliance
        .library
        .mappings
        .iter()
        .flat_map(|m| {
            if m.framework == framework {
                m.forward(&view.id)
                    .into_iter()
                    .map(|t| format!("{} {t}", m.to))
                    .collect::<Vec<_>>()
            } else if m.to == framework {
                m.backward(&view.id)
                    .into_iter()
                    .map(|t| format!("{} {t}", m.framework))
                    .collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    render(
        "compliance_control.html",
        context! {
            framework => framework.clone(),
            c => Serde(&view),
            state_label => view.state.label(),
            owner_label => owner_label(&view.soa.owner),
            status_label => status_label(&view.soa.status),
            owners => Serde(&choices(&departments(), &view.soa.owner)),
            statuses => Serde(&choices(&statuses(), &view.soa.status)),
            snapshots => Serde(&snapshots),
            mapped => mapped,
            done => q.done,
            can_manage => v.can(Permission::ManageCompliance),
            ..v.base("compliance")
        },
    )
}

#[derive(Deserialize)]
pub struct ControlForm {
    pub framework: String,
    #[serde(default)]
    pub owner: String,
    /// `yes` or `no`.
    pub applicable: String,
    #[serde(default)]
    pub justification: String,
    pub status: String,
    #[serde(default)]
    pub version: u64,
}

fn back(framework: &str, id: &str, done: &str) -> Response {
    Redirect::to(&format!(
        "/compliance/controls/{}?framework={}&done={done}",
        path_segment(id),
        path_segment(framework)
    ))
    .into_response()
}

/// `POST /compliance/controls/{id}`: the row's form.
pub async fn control_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ControlForm>,
) -> Response {
    let edit = Edit {
        owner: form.owner,
        applicable: form.applicable == "yes",
        justification: form.justification,
        status: form.status,
        version: form.version,
    };
    match api::edit_control(&state, &v.who, &form.framework, &id, edit).await {
        Ok(_) => back(&form.framework, &id, "saved"),
        Err(e) => refusal(e),
    }
}

#[derive(Deserialize)]
pub struct RunForm {
    pub framework: String,
    /// Only this control's evidence; empty for all.
    #[serde(default)]
    pub control: String,
}

/// `POST /compliance/run`: measures evidence now.
pub async fn run_form(
    v: Visitor,
    State(state): State<AppState>,
    Form(form): Form<RunForm>,
) -> Response {
    let control = Some(form.control.as_str()).filter(|c| !c.is_empty());
    match api::run_now(&state, &v.who, &form.framework, control).await {
        Ok(_) => match control {
            Some(c) => back(&form.framework, c, "run"),
            None => Redirect::to(&format!(
                "/compliance?framework={}",
                path_segment(&form.framework)
            ))
            .into_response(),
        },
        Err(e) => refusal(e),
    }
}
