//! Response actions on the incident page: the panel that proposes an action on one of the
//! incident's entities (after a preview of the exact request, secrets masked), the history
//! of its runs with every answer, and the second person's approval or refusal.
//!
//! The forms post to console routes that call what the JSON API calls
//! (`crate::actions::{proposal_for, propose_for, decide_for}`), so the four-eyes rule, the
//! timeline entries and the audit log are the same whichever way a person acts.

use crate::access::{Permission, Role};
use crate::actions::{ProposeBody, decide_for, proposal_for, propose_for, target_choices};
use crate::view::{Visitor, path_segment};
use crate::{ApiError, AppState};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tandem_cases::Incident;
use tandem_cases::response::{ActionRun, Risk, RunState};

use super::incidents::{back_to_incident, incident_view};

/// Most choices the proposal form lists: an incident naming many people stays a usable page.
const MAX_CHOICES: usize = 200;

/// The roles of `codes` as a person reads them ("Physical-security operator or Administrator").
fn roles_in_words(codes: &[String]) -> String {
    let words: Vec<String> = codes
        .iter()
        .map(|c| Role::parse(c).map_or_else(|| c.clone(), Role::label))
        .collect();
    match words.as_slice() {
        [] => "no role".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Where a run is, in words a person reads, and the class that colours it.
fn state_in_words(r: &ActionRun) -> (String, &'static str) {
    match r.state {
        RunState::Proposed if r.request.is_none() => ("being prepared".into(), "pending"),
        RunState::Proposed => ("waiting for approval".into(), "pending"),
        RunState::Approved => ("approved, about to be sent".into(), "active"),
        RunState::Running if r.attempts.is_empty() => ("sending".into(), "active"),
        RunState::Running => ("retrying".into(), "active"),
        RunState::Succeeded => ("succeeded".into(), "good"),
        RunState::Failed => ("failed".into(), "bad"),
        RunState::Refused if r.decided_by.as_deref() == Some(r.proposed_by.as_str()) => {
            ("withdrawn".into(), "off")
        }
        RunState::Refused => ("refused".into(), "off"),
    }
}

/// The incident page's actions panel: what the visitor may propose (one choice per action
/// and target that makes sense), the runs newest first, and what the visitor may do to each.
pub(crate) fn panel(v: &Visitor, state: &AppState, inc: &Incident) -> Value {
    let zone = v.zone.plain();
    let role = v.who.role.to_string();
    let may_act = v.can(Permission::ProposeActions) && !inc.status.is_closed();
    let catalog = &state.actions;
    let mut choices = Vec::new();
    let mut unconfigured = Vec::new();
    if may_act {
        let dir = state.identity.snapshot();
        let now = chrono::Utc::now();
        for def in catalog.all().iter().filter(|d| d.propose.contains(&role)) {
            if !catalog.available(def) {
                unconfigured.push(format!("{} (connection {})", def.title, def.connection));
                continue;
            }
            for c in target_choices(&dir, def.target, inc, now) {
                if choices.len() >= MAX_CHOICES {
                    break;
                }
                let mut value = form_urlencoded::Serializer::new(String::new());
                value.append_pair("action", &def.id);
                value.append_pair("target", &c.entity);
                if let Some(i) = &c.identifier {
                    value.append_pair("identifier", i);
                }
                choices.push(json!({
                    "value": value.finish(),
                    "label": format!("{} — {}", def.title, c.label),
                    "sensitive": def.risk == Risk::Sensitive,
                }));
            }
        }
    }
    let runs: Vec<Value> = inc
        .actions
        .iter()
        .rev()
        .map(|r| {
            let (words, colour) = state_in_words(r);
            let waiting = r.state == RunState::Proposed && r.request.is_some();
            let mine = r.proposed_by == v.who.name;
            let request = r.request.as_ref().map(|req| {
                tandem_respond::actions::shown(req, catalog.connection(&req.connection))
            });
            json!({
                "id": r.id,
                "path_id": path_segment(&r.id),
                "title": r.title,
                "target": r.target.label,
                "sensitive": r.risk == Risk::Sensitive,
                "state": words,
                "state_code": r.state.code(),
                "colour": colour,
                "proposed_by": r.proposed_by,
                "proposed": crate::clock::stamp(r.proposed, &zone),
                "playbook": r.playbook,
                "task": r.task,
                "auto": r.auto,
                "note": r.note,
                "decided_by": r.decided_by,
                "decided": r.decided.map(|t| crate::clock::stamp(t, &zone)),
                "reason": r.reason,
                "approvers": roles_in_words(&r.approvers),
                "waiting": waiting,
                "next_attempt": r.next_attempt.map(|t| crate::clock::stamp(t, &zone)),
                "attempts": r.attempts.iter().enumerate().map(|(n, a)| json!({
                    "n": n + 1,
                    "time": crate::clock::stamp(a.time, &zone),
                    "status": a.status.map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}")),
                    "text": a.text,
                    "succeeded": a.succeeded,
                })).collect::<Vec<_>>(),
                "request": request,
                // Four eyes: another person, of a role the definition lists.
                "can_decide": may_act && waiting && !mine && r.approvers.contains(&role),
                "can_withdraw": may_act && waiting && mine,
            })
        })
        .collect();
    json!({
        "may_propose": may_act && !choices.is_empty(),
        "may_act": may_act,
        "choices": choices,
        "unconfigured": unconfigured,
        "runs": runs,
    })
}

/// The proposal form: one choice (`action=…&target=…&identifier=…`, from [`panel`]) and the
/// proposer's note, which the request's templates may use.
#[derive(Deserialize, Default)]
pub struct ProposeForm {
    #[serde(default)]
    choice: String,
    #[serde(default)]
    note: String,
}

impl ProposeForm {
    fn body(&self) -> Result<ProposeBody, ApiError> {
        let mut body = ProposeBody {
            action: String::new(),
            target: None,
            identifier: None,
            note: self.note.clone(),
        };
        for (k, v) in form_urlencoded::parse(self.choice.as_bytes()) {
            match k.as_ref() {
                "action" => body.action = v.into_owned(),
                "target" => body.target = Some(v.into_owned()),
                "identifier" => body.identifier = Some(v.into_owned()),
                _ => {}
            }
        }
        if body.action.is_empty() {
            return Err(ApiError::bad_request(
                "choose an action and what it acts on",
            ));
        }
        Ok(body)
    }
}

/// `POST /incidents/{id}/actions/preview`: the incident page with the exact request the
/// chosen action would send (the connection's secrets masked) and the button that proposes
/// it; nothing is kept or sent.
pub async fn preview_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ProposeForm>,
) -> Response {
    let shown = match form.body() {
        Ok(body) => proposal_for(&state, &v.who, &id, &body, "run-preview")
            .await
            .map(|(p, request)| (p, request, body)),
        Err(e) => Err(e),
    };
    let (proposal, request, body) = match shown {
        Ok(x) => x,
        Err(e) => return back_to_incident(&v, &state, &id, e).await,
    };
    let preview = json!({
        "title": proposal.title,
        "target": proposal.target.label,
        "sensitive": proposal.risk == Risk::Sensitive,
        "approvers": roles_in_words(&proposal.approvers),
        "method": request.method,
        "url": request.url,
        "headers": request.headers,
        "body": request.body,
        "choice": form.choice,
        "note": body.note,
    });
    incident_view(&v, &state, &id, None, Some(preview)).await
}

/// `POST /incidents/{id}/actions`: proposes the previewed action. A sensitive one waits for
/// a second person; a low-risk one runs on proposal.
pub async fn propose_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ProposeForm>,
) -> Response {
    let proposed = match form.body() {
        Ok(body) => propose_for(&state, &v.who, &id, body).await,
        Err(e) => Err(e),
    };
    match proposed {
        Ok(_) => back_to_actions(&id),
        Err(e) => back_to_incident(&v, &state, &id, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct RefuseForm {
    #[serde(default)]
    reason: String,
}

/// `POST /incidents/{id}/actions/{run}/approve`: the second person's approval.
pub async fn approve_form(
    v: Visitor,
    State(state): State<AppState>,
    Path((id, run)): Path<(String, String)>,
) -> Response {
    match decide_for(&state, &v.who, &id, &run, None).await {
        Ok(_) => back_to_actions(&id),
        Err(e) => back_to_incident(&v, &state, &id, e).await,
    }
}

/// `POST /incidents/{id}/actions/{run}/refuse`: refused by an approver, or withdrawn by its
/// proposer, with the reason; nothing is sent.
pub async fn refuse_form(
    v: Visitor,
    State(state): State<AppState>,
    Path((id, run)): Path<(String, String)>,
    Form(form): Form<RefuseForm>,
) -> Response {
    match decide_for(&state, &v.who, &id, &run, Some(form.reason)).await {
        Ok(_) => back_to_actions(&id),
        Err(e) => back_to_incident(&v, &state, &id, e).await,
    }
}

fn back_to_actions(id: &str) -> Response {
    Redirect::to(&format!("/incidents/{}#actions", path_segment(id))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_as_words() {
        let roles =
            |r: &[&str]| roles_in_words(&r.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            roles(&["physical_security", "admin"]),
            "Physical-security operator or Administrator"
        );
        assert_eq!(roles(&["admin"]), "Administrator");
        assert_eq!(roles(&[]), "no role");
    }

    #[test]
    fn a_choice_carries_action_target_and_identifier() {
        let form = ProposeForm {
            choice: "action=suspend-badge&target=person%3AE1&identifier=4%264".into(),
            note: "after hours".into(),
        };
        let body = form.body().unwrap();
        assert_eq!(body.action, "suspend-badge");
        assert_eq!(body.target.as_deref(), Some("person:E1"));
        assert_eq!(body.identifier.as_deref(), Some("4&4"));
        assert_eq!(body.note, "after hours");
        let empty = ProposeForm::default().body().unwrap_err();
        assert_eq!(empty.status, axum::http::StatusCode::BAD_REQUEST);
    }
}
