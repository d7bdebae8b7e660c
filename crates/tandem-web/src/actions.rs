//! Response actions over the API: the definitions, an incident's runs, proposing one on an
//! incident entity (with a dry run that shows the exact request, secrets masked), and the
//! second person's approval or a refusal. Every step is audited; the rules (four eyes,
//! states) are `tandem_cases::incidents`, the templates `tandem_respond::actions`, and the
//! sending is the server's runner.

use crate::auth::Principal;
use crate::incidents::{run, visible};
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_cases::Incident;
use tandem_cases::response::{ActionRun, ActionTarget, Proposal};
use tandem_identity::directory::Directory;
use tandem_model::Timestamp;
use tandem_respond::actions::{ActionDef, Catalog, TargetFacts, TargetKind};

/// What the directory says about `entity` (`person:E1`, `device:LAP-7`, `incident:INC-3`) for
/// an action of `kind`; `identifier` picks one of several (a person's second badge).
pub fn target_facts(
    dir: &Directory,
    kind: TargetKind,
    entity: &str,
    identifier: Option<&str>,
    incident: &Incident,
    now: Timestamp,
) -> Result<TargetFacts, String> {
    let (ekind, id) = entity.split_once(':').ok_or_else(|| {
        format!("the target `{entity}` is not `person:<id>`, `device:<id>` or `incident:<id>`")
    })?;
    if ekind != kind.entity_kind() {
        return Err(format!(
            "a {} action acts on a {}, not on `{entity}`",
            kind.code(),
            kind.entity_kind()
        ));
    }
    let of_incident = match ekind {
        "person" => incident.entities.persons.iter().any(|p| p == id),
        "device" => incident.entities.devices.iter().any(|d| d == id),
        "incident" => id == incident.id,
        _ => false,
    };
    if !of_incident {
        return Err(format!("`{entity}` is not an entity of {}", incident.id));
    }
    let pick = |candidates: Vec<String>, what: &str, name: &str| -> Result<String, String> {
        match identifier {
            Some(want) if candidates.iter().any(|c| c == want) => Ok(want.to_owned()),
            Some(want) => Err(format!("{name} has no {what} `{want}`")),
            None => candidates
                .into_iter()
                .next()
                .ok_or_else(|| format!("the directory knows no {what} of {name}")),
        }
    };
    match kind {
        TargetKind::Incident => Ok(TargetFacts {
            target: ActionTarget {
                entity: entity.to_owned(),
                identifier: incident.id.clone(),
                label: format!("{} {}", incident.id, incident.title),
            },
            person: None,
            device: None,
        }),
        TargetKind::Host => {
            let d = dir
                .device(id)
                .ok_or_else(|| format!("the directory knows no device `{id}`"))?;
            let host = d.hostname.clone().unwrap_or_else(|| d.id.clone());
            Ok(TargetFacts {
                target: ActionTarget {
                    entity: entity.to_owned(),
                    identifier: host.clone(),
                    label: format!("host {host}"),
                },
                person: None,
                device: Some(json!({"id": d.id, "hostname": d.hostname, "owner": d.owner})),
            })
        }
        _ => {
            let p = dir
                .person(id)
                .ok_or_else(|| format!("the directory knows no person `{id}`"))?;
            let (identifier, what) = match kind {
                TargetKind::Badge => (
                    pick(person_identifiers(p, kind, now), "active badge", &p.name)?,
                    "badge",
                ),
                TargetKind::OktaUser => (
                    pick(person_identifiers(p, kind, now), "Okta user id", &p.name)?,
                    "Okta user",
                ),
                TargetKind::EntraUser => (
                    pick(
                        person_identifiers(p, kind, now),
                        "Entra ID object id",
                        &p.name,
                    )?,
                    "Entra ID user",
                ),
                _ => (p.email.clone().unwrap_or_else(|| p.id.clone()), "person"),
            };
            Ok(TargetFacts {
                target: ActionTarget {
                    entity: entity.to_owned(),
                    label: format!("{}, {what} {identifier}", p.name),
                    identifier,
                },
                person: Some(json!({
                    "id": p.id, "name": p.name, "email": p.email,
                    "department": p.department, "employee_number": p.employee_number,
                    "external_id": p.external_id,
                })),
                device: None,
            })
        }
    }
}

/// What a person's action of `kind` can name them by in the other system: their active
/// badges valid at `now`, their Okta or Entra ID accounts; empty for other kinds.
fn person_identifiers(
    p: &tandem_identity::model::Person,
    kind: TargetKind,
    now: Timestamp,
) -> Vec<String> {
    use tandem_identity::model::{AccountKind, BadgeStatus};
    let accounts = |k: AccountKind| {
        p.accounts
            .iter()
            .filter(|a| a.kind == k)
            .map(|a| a.value.clone())
            .collect()
    };
    match kind {
        TargetKind::Badge => p
            .badges
            .iter()
            .filter(|b| b.status == BadgeStatus::Active && b.valid_at(now))
            .map(|b| b.number.clone())
            .collect(),
        TargetKind::OktaUser => accounts(AccountKind::OktaId),
        TargetKind::EntraUser => accounts(AccountKind::EntraId),
        _ => Vec::new(),
    }
}

/// One thing of an incident an action can act on, as a proposal names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetChoice {
    /// `person:E1`, `device:LAP-7`, `incident:INC-3`.
    pub entity: String,
    /// Which of the entity's identifiers (a person's second badge); None: the only one.
    pub identifier: Option<String>,
    /// In words: "Kari Nordmann, badge 4411".
    pub label: String,
}

/// Every target of `incident` an action of `kind` can act on: each person with each of their
/// badges or accounts the kind needs, each device, or the incident itself; entities the
/// directory cannot resolve to an identifier are left out (they could only be refused).
pub fn target_choices(
    dir: &Directory,
    kind: TargetKind,
    incident: &Incident,
    now: Timestamp,
) -> Vec<TargetChoice> {
    let entities = entities_for(kind, incident);
    let mut out = Vec::new();
    for entity in entities {
        let identifiers = match entity.split_once(':') {
            Some(("person", id)) => dir
                .person(id)
                .map(|p| person_identifiers(p, kind, now))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let picks: Vec<Option<String>> = if identifiers.len() > 1 {
            identifiers.into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        for identifier in picks {
            if let Ok(facts) =
                target_facts(dir, kind, &entity, identifier.as_deref(), incident, now)
            {
                out.push(TargetChoice {
                    entity: entity.clone(),
                    identifier,
                    label: facts.target.label,
                });
            }
        }
    }
    out
}

/// The entities of `incident` an action of `kind` may name: the incident itself, its
/// devices or its people.
fn entities_for(kind: TargetKind, incident: &Incident) -> Vec<String> {
    match kind.entity_kind() {
        "incident" => vec![format!("incident:{}", incident.id)],
        "device" => incident
            .entities
            .devices
            .iter()
            .map(|d| format!("device:{d}"))
            .collect(),
        _ => incident
            .entities
            .persons
            .iter()
            .map(|p| format!("person:{p}"))
            .collect(),
    }
}

/// The first entity of `incident` an action of `kind` can act on (a playbook's proposal).
pub fn default_entity(
    dir: &Directory,
    kind: TargetKind,
    incident: &Incident,
    now: Timestamp,
) -> Result<String, String> {
    let candidates = entities_for(kind, incident);
    let mut why = format!("{} has no {} to act on", incident.id, kind.entity_kind());
    for c in candidates {
        match target_facts(dir, kind, &c, None, incident, now) {
            Ok(_) => return Ok(c),
            Err(e) => why = e,
        }
    }
    Err(why)
}

/// The proposal of `def` on `entity` of `incident`, its request rendered, and the request as
/// shown (secrets masked).
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    catalog: &Catalog,
    dir: &Directory,
    def: &ActionDef,
    incident: &Incident,
    entity: &str,
    identifier: Option<&str>,
    note: &str,
    run_id: &str,
    console_url: &str,
    now: Timestamp,
) -> Result<(Proposal, tandem_respond::http::HttpRequest), String> {
    let connection = catalog.connection(&def.connection).ok_or_else(|| {
        format!(
            "{} cannot run: its connection `{}` is not configured ([[actions.connections]])",
            def.id, def.connection
        )
    })?;
    let facts = target_facts(dir, def.target, entity, identifier, incident, now)?;
    let prepared =
        tandem_respond::actions::render(def, incident, &facts, run_id, note, console_url)
            .map_err(|e| e.to_string())?;
    let shown = tandem_respond::actions::shown(&prepared.request, Some(connection));
    Ok((
        Proposal {
            action: def.id.clone(),
            title: def.title.clone(),
            risk: def.risk,
            proposers: def.propose.clone(),
            approvers: def.approve.clone(),
            target: facts.target,
            request: prepared.request,
            note: note.to_owned(),
        },
        shown,
    ))
}

/// A definition as the API shows it: never its connection's secrets.
fn definition(catalog: &Catalog, d: &ActionDef) -> Value {
    json!({
        "id": d.id, "title": d.title, "description": d.description, "risk": d.risk,
        "propose": d.propose, "approve": d.approve, "target": d.target.code(),
        "entity": d.target.entity_kind(), "connection": d.connection,
        "available": catalog.available(d), "method": d.method,
    })
}

/// A run as the API shows it: its request with the connection's secrets masked.
pub(crate) fn run_view(catalog: &Catalog, r: &ActionRun) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(req) = &r.request {
        v["request"] = serde_json::to_value(tandem_respond::actions::shown(
            req,
            catalog.connection(&req.connection),
        ))
        .unwrap_or_default();
    }
    v
}

/// `GET /api/v1/actions`: the definitions in force.
#[utoipa::path(
    get,
    path = "/api/v1/actions",
    tag = "Actions",
    responses((status = 200, description = "The response action definitions in force: id, title, risk, target, who may propose and approve.", body = crate::openapi::ActionsAnswer)),
)]
pub async fn definitions(State(state): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = state
        .actions
        .all()
        .iter()
        .map(|d| definition(&state.actions, d))
        .collect();
    Json(json!({"actions": list}))
}

/// `GET /api/v1/incidents/{id}/actions`: the incident's runs, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/actions",
    tag = "Actions",
    params(("id" = String, Path, description = "The incident, `INC-<n>`.")),
    responses((status = 200, description = "The incident's action runs, oldest first, each with its state, decisions and answers.", body = crate::openapi::ActionRunsAnswer), (status = 404, description = "No such incident.", body = crate::openapi::ErrorBody)),
)]
pub async fn runs(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (inc, _) = run(&state, move |i| i.get(&id)).await?;
    visible(&who, &inc)?;
    let list: Vec<Value> = inc
        .actions
        .iter()
        .map(|r| run_view(&state.actions, r))
        .collect();
    Ok(Json(json!({"incident": inc.id, "runs": list})))
}

/// A proposal or a dry run: which action, on which entity.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    pub action: String,
    /// `person:<id>`, `device:<id>` or `incident:<id>`; the incident's first fitting entity
    /// when not given.
    #[serde(default)]
    pub target: Option<String>,
    /// One of the target's identifiers (a second badge); the first when not given.
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub note: String,
}

/// Renders the proposal of `body` on incident `id` for `who` (the console's preview too).
pub(crate) async fn proposal_for(
    state: &AppState,
    who: &Principal,
    id: &str,
    body: &ProposeBody,
    run_id: &str,
) -> Result<(Proposal, tandem_respond::http::HttpRequest), ApiError> {
    let target = id.to_owned();
    let (inc, _) = run(state, move |i| i.get(&target)).await?;
    visible(who, &inc)?;
    let def = state
        .actions
        .get(&body.action)
        .ok_or_else(|| ApiError::bad_request(format!("there is no action `{}`", body.action)))?;
    let dir = state.identity.snapshot();
    let now = chrono::Utc::now();
    let entity = match body.target.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => t.to_owned(),
        None => default_entity(&dir, def.target, &inc, now).map_err(ApiError::bad_request)?,
    };
    let url = format!("{}/incidents/{}", state.public.url(), inc.id);
    prepare(
        &state.actions,
        &dir,
        def,
        &inc,
        &entity,
        body.identifier.as_deref().filter(|i| !i.is_empty()),
        body.note.trim(),
        run_id,
        &url,
        now,
    )
    .map_err(ApiError::bad_request)
}

/// `POST /api/v1/incidents/{id}/actions/dry-run`: the exact request a proposal would send,
/// the connection's secrets masked; nothing is kept or sent.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/actions/dry-run",
    tag = "Actions",
    params(("id" = String, Path, description = "The incident, `INC-<n>`.")),
    request_body(content = ProposeBody, content_type = "application/json", description = "Which action, on which entity."),
    responses((status = 200, description = "The exact request a proposal would send, secrets masked; nothing is kept or sent.", body = crate::openapi::DryRunAnswer), (status = 400, description = "Unknown action, or the target has no identifier the action needs.", body = crate::openapi::ErrorBody)),
)]
pub async fn dry_run(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<ProposeBody>,
) -> Result<Json<Value>, ApiError> {
    let (proposal, shown) = proposal_for(&state, &who, &id, &body, "run-dry-run").await?;
    Ok(Json(json!({
        "action": proposal.action, "risk": proposal.risk, "target": proposal.target,
        "request": shown, "idempotency_key": "(the run's id, given when proposed)",
    })))
}

/// Proposes an action for `who`; shared with the console.
pub(crate) async fn propose_for(
    state: &AppState,
    who: &Principal,
    id: &str,
    body: ProposeBody,
) -> Result<ActionRun, ApiError> {
    let run_id = tandem_cases::incidents::new_run_id();
    let (proposal, _) = proposal_for(state, who, id, &body, &run_id).await?;
    let actor = who.name.clone();
    let role = who.role.to_string();
    let target = id.to_owned();
    let (_, run) = run(state, move |i| {
        i.propose_action(
            &target,
            &run_id,
            proposal,
            &actor,
            &role,
            chrono::Utc::now(),
        )
    })
    .await?;
    crate::audit::by(
        state,
        who,
        "action.propose",
        &format!("incident:{id}"),
        json!({"run": run.id, "action": run.action, "target": run.target.label, "risk": run.risk, "state": run.state}),
    )
    .await;
    Ok(run)
}

/// `POST /api/v1/incidents/{id}/actions`: proposes an action. A sensitive one waits for a
/// second person; a low-risk one runs on proposal.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/actions",
    tag = "Actions",
    params(("id" = String, Path, description = "The incident, `INC-<n>`.")),
    request_body(content = ProposeBody, content_type = "application/json", description = "Which action, on which entity."),
    responses((status = 201, description = "Proposed: a sensitive action waits for a second person, a low-risk one runs.", body = crate::openapi::ActionRunOne), (status = 400, description = "Unknown action, or the target has no identifier the action needs.", body = crate::openapi::ErrorBody)),
)]
pub async fn propose(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<ProposeBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let run = propose_for(&state, &who, &id, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"run": run_view(&state.actions, &run)})),
    ))
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionBody {
    pub reason: String,
}

/// Approves (`reason` None) or refuses a run for `who`; shared with the console.
pub(crate) async fn decide_for(
    state: &AppState,
    who: &Principal,
    id: &str,
    run_id: &str,
    refusal: Option<String>,
) -> Result<ActionRun, ApiError> {
    let target = id.to_owned();
    let (inc, _) = run(state, move |i| i.get(&target)).await?;
    visible(who, &inc)?;
    let actor = who.name.clone();
    let role = who.role.to_string();
    let (target, r) = (id.to_owned(), run_id.to_owned());
    let reason = refusal.clone();
    let inc = run(state, move |i| match &reason {
        None => i.approve_action(&target, &r, &actor, &role, chrono::Utc::now()),
        Some(why) => i.refuse_action(&target, &r, why, &actor, &role, chrono::Utc::now()),
    })
    .await?;
    let run = inc
        .actions
        .iter()
        .find(|x| x.id == run_id)
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run {run_id}")))?;
    let (action, detail) = match &refusal {
        None => (
            "action.approve",
            json!({"run": run.id, "action": run.action, "target": run.target.label, "proposed_by": run.proposed_by}),
        ),
        Some(why) => (
            "action.refuse",
            json!({"run": run.id, "action": run.action, "reason": why}),
        ),
    };
    crate::audit::by(state, who, action, &format!("incident:{id}"), detail).await;
    Ok(run)
}

/// `POST /api/v1/incidents/{id}/actions/{run}/approve`: a second person of an allowed role.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/actions/{run}/approve",
    tag = "Actions",
    params(("id" = String, Path, description = "The incident, `INC-<n>`."), ("run" = String, Path, description = "The run's id.")),
    responses((status = 200, description = "Approved; the run is sent.", body = crate::openapi::ActionRunOne), (status = 403, description = "The proposer, or a role the action does not allow to approve.", body = crate::openapi::ErrorBody), (status = 409, description = "The run is no longer waiting for a decision.", body = crate::openapi::ErrorBody)),
)]
pub async fn approve(
    who: Principal,
    State(state): State<AppState>,
    Path((id, run_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let run = decide_for(&state, &who, &id, &run_id, None).await?;
    Ok(Json(json!({"run": run_view(&state.actions, &run)})))
}

/// `POST /api/v1/incidents/{id}/actions/{run}/refuse`: `{"reason": "…"}`; nothing is sent.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/actions/{run}/refuse",
    tag = "Actions",
    params(("id" = String, Path, description = "The incident, `INC-<n>`."), ("run" = String, Path, description = "The run's id.")),
    request_body(content = DecisionBody, content_type = "application/json", description = "Why it is refused."),
    responses((status = 200, description = "Refused; nothing is sent.", body = crate::openapi::ActionRunOne), (status = 400, description = "No reason given.", body = crate::openapi::ErrorBody), (status = 409, description = "The run is no longer waiting for a decision.", body = crate::openapi::ErrorBody)),
)]
pub async fn refuse(
    who: Principal,
    State(state): State<AppState>,
    Path((id, run_id)): Path<(String, String)>,
    Json(body): Json<DecisionBody>,
) -> Result<Json<Value>, ApiError> {
    let run = decide_for(&state, &who, &id, &run_id, Some(body.reason)).await?;
    Ok(Json(json!({"run": run_view(&state.actions, &run)})))
}
