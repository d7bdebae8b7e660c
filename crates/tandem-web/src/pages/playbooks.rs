//! The playbooks pages: the set in force with the departments each involves and what selects
//! it; one playbook as a table of tasks by department with SLAs, dependencies and evidence,
//! and its diff against the shipped version when an operator overrides it; a form to
//! validate a YAML before installing it; reloading the directories (administrators).

use crate::AppState;
use crate::access::Permission;
use crate::playbooks::{departments, overridden, reload_set};
use crate::view::{Visitor, refusal_page, render};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::merge_maps;
use serde::Deserialize;
use std::collections::HashMap;
use tandem_cases::playbook::{self, Playbook, SLA_SEVERITIES};
use tandem_model::Department;

/// Rule ids to titles, so a Sigma rule's UUID reads as its title (empty when detection is off).
async fn rule_titles(state: &AppState) -> HashMap<String, String> {
    let Some(control) = state.rules.clone() else {
        return HashMap::new();
    };
    let Ok(listed) = tokio::task::spawn_blocking(move || control.list()).await else {
        return HashMap::new();
    };
    listed
        .get("rules")
        .and_then(|r| r.as_array())
        .map(|rules| {
            rules
                .iter()
                .filter_map(|r| {
                    Some((
                        r.get("id")?.as_str()?.to_owned(),
                        r.get("title")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn selected_rules(p: &Playbook, titles: &HashMap<String, String>) -> Vec<minijinja::Value> {
    p.selects
        .rules
        .iter()
        .map(|id| context! { id => id, title => titles.get(id).cloned().unwrap_or_default() })
        .collect()
}

fn origin_label(p: &Playbook) -> &'static str {
    if p.origin.starts_with("shipped:") {
        "shipped"
    } else if overridden(p) {
        "overrides shipped"
    } else {
        "operator's"
    }
}

fn list_context(
    v: &Visitor,
    state: &AppState,
    titles: &HashMap<String, String>,
) -> minijinja::Value {
    let set = state.cases.playbooks.current();
    let rows: Vec<minijinja::Value> = set
        .all()
        .iter()
        .map(|p| {
            context! {
                id => p.id.clone(), title => p.title.clone(), description => p.description.clone(),
                departments => departments(p).iter().map(|d| d.label()).collect::<Vec<_>>(),
                rules => selected_rules(p, titles),
                tags => p.selects.tags.clone(), kinds => p.selects.kinds.clone(),
                tasks => p.tasks.len(), origin => origin_label(p),
            }
        })
        .collect();
    context! {
        playbooks => rows,
        dirs => state.cases.playbooks.dirs().iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
        can_reload => v.can(Permission::ConfigureServer),
    }
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    /// `ok` after a successful reload (the flash message).
    #[serde(default)]
    reloaded: String,
}

/// `GET /playbooks`: every playbook in force, in selection order.
pub async fn list_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Response {
    let titles = rule_titles(&state).await;
    let flash = (params.reloaded == "ok").then(|| {
        format!(
            "Playbooks reloaded: {} in force.",
            state.cases.playbooks.current().all().len()
        )
    });
    render(
        "playbooks.html",
        context! {
            flash => flash, yaml => EXAMPLE,
            ..merge_maps([list_context(&v, &state, &titles), v.base("playbooks")])
        },
    )
}

/// What the validate form starts with on the list page.
const EXAMPLE: &str = "\
id: visitor-overstay
title: Visitor still on site after their visit
selects:
  tags: [physical.visitor_overstay]
tasks:
  - id: find-visitor
    title: Find the visitor and their host
    department: security
    evidence: [guard report]
    sla:
      high: {warn: 30, breach: 60}
";

/// Warn and breach, readable; `None` when the severity has no SLA.
fn sla_cell(t: &playbook::PlaybookTask, severity: &str) -> Option<(String, String)> {
    t.sla
        .get(severity)
        .map(|s| (minutes(s.warn), minutes(s.breach)))
}

/// `90` → `1 h 30 min`, `2880` → `2 d`.
fn minutes(m: u32) -> String {
    let (d, h, min) = (m / 1440, (m % 1440) / 60, m % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} d"));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if min > 0 || parts.is_empty() {
        parts.push(format!("{min} min"));
    }
    parts.join(" ")
}

/// `GET /playbooks/{id}`: the tasks by department, the diff against shipped, the YAML and
/// the validate form holding it.
pub async fn playbook_page(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let set = state.cases.playbooks.current();
    let Some(p) = set.get(&id) else {
        return refusal_page(StatusCode::NOT_FOUND, &format!("no playbook `{id}`"));
    };
    let titles = rule_titles(&state).await;
    let titles_of: HashMap<&str, &str> = p
        .tasks
        .iter()
        .map(|t| (t.id.as_str(), t.title.as_str()))
        .collect();
    let groups: Vec<minijinja::Value> = departments(p)
        .into_iter()
        .map(|d: Department| {
            let tasks: Vec<minijinja::Value> = p
                .tasks
                .iter()
                .filter(|t| t.department == d)
                .map(|t| {
                    context! {
                        id => t.id.clone(), title => t.title.clone(), description => t.description.clone(),
                        owner => t.owner_role.clone().unwrap_or_else(|| format!("responder:{}", d.code())),
                        after => t.after.iter().map(|a| titles_of.get(a.as_str()).copied().unwrap_or(a).to_owned()).collect::<Vec<String>>(),
                        evidence => t.evidence.clone(),
                        slas => SLA_SEVERITIES.iter().rev().map(|s| sla_cell(t, s)).collect::<Vec<_>>(),
                        business_hours => t.business_hours,
                    }
                })
                .collect();
            context! { department => d.label(), tasks => tasks }
        })
        .collect();
    let diff = state.cases.playbooks.diff(&id);
    render(
        "playbook.html",
        context! {
            p => context! {
                id => p.id.clone(), title => p.title.clone(), description => p.description.clone(),
                origin => p.origin.clone(), origin_label => origin_label(p),
                rules => selected_rules(p, &titles), tags => p.selects.tags.clone(), kinds => p.selects.kinds.clone(),
            },
            groups => groups,
            severities => SLA_SEVERITIES.iter().rev().copied().collect::<Vec<_>>(),
            diff => minijinja::value::Serde(&diff),
            yaml => p.text.clone(),
            ..v.base("playbooks")
        },
    )
}

#[derive(Deserialize)]
pub struct ValidateForm {
    yaml: String,
}

/// `POST /playbooks/validate`: checks the pasted YAML and shows every error with its line;
/// nothing is installed.
pub async fn validate(v: Visitor, Form(form): Form<ValidateForm>) -> Response {
    // Browsers send CR LF in text areas; lines are counted the same either way.
    let yaml = form.yaml.replace("\r\n", "\n");
    let result = playbook::parse("pasted YAML", &yaml);
    let (ok, id, errors) = match result {
        Ok(p) => (true, p.id, Vec::new()),
        Err(e) => (false, String::new(), e),
    };
    let lines: Vec<&str> = yaml.lines().collect();
    let errors: Vec<minijinja::Value> = errors
        .iter()
        .map(|e| {
            let at = (e.line as usize).checked_sub(1).and_then(|i| lines.get(i));
            context! { line => e.line, reason => e.reason.clone(), text => at.map(|l| l.to_string()) }
        })
        .collect();
    render(
        "playbook_validate.html",
        context! { ok => ok, id => id, errors => errors, yaml => yaml, ..v.base("playbooks") },
    )
}

/// `POST /playbooks/reload` (administrators): rereads the directories; on failure the page
/// lists the errors and says the previous playbooks stay in force.
pub async fn reload(v: Visitor, State(state): State<AppState>) -> Response {
    match reload_set(&state, &v.who).await {
        Ok(_) => axum::response::Redirect::to("/playbooks?reloaded=ok").into_response(),
        Err(errors) => {
            let titles = rule_titles(&state).await;
            let mut r = render(
                "playbooks.html",
                context! {
                    reload_errors => errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                    yaml => EXAMPLE,
                    ..merge_maps([list_context(&v, &state, &titles), v.base("playbooks")])
                },
            );
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
    }
}
