//! Response action runs on an incident: proposal, the four-eyes approval or a refusal, the
//! runner's preparation of a playbook's proposal, each attempt's answer. Every step is a
//! timeline entry (and the web audits the people's steps).

use serde_json::json;
use tandem_model::Timestamp;

use super::{Incidents, bounded, micros};
use crate::response::{ActionRun, Attempt, AttemptResult, Proposal, Risk, RunState};
use crate::{Actor, CaseError, Incident, PRODUCT_ACTOR};

/// Longest note or refusal reason, in bytes.
pub const MAX_REASON: usize = 2_000;
/// Most runs one incident keeps: every change rewrites the incident.
pub const MAX_RUNS: usize = 200;

fn find_run<'a>(inc: &'a mut Incident, run: &str) -> Result<&'a mut ActionRun, CaseError> {
    let id = inc.id.clone();
    inc.actions
        .iter_mut()
        .find(|r| r.id == run)
        .ok_or_else(|| CaseError::NotFound {
            kind: "action run",
            id: format!("{id}/{run}"),
        })
}

/// A new run id, also the idempotency key of its requests.
pub fn new_run_id() -> String {
    format!(
        "run-{}",
        tandem_model::Ulid::generate().to_string().to_lowercase()
    )
}

impl Incidents {
    /// Proposes an action (as run `run_id`, the id its request was rendered with) on incident `id` by `actor` of `role`. A low-risk action is approved
    /// at once (it runs on proposal); a sensitive one waits for a second person.
    pub fn propose_action(
        &self,
        id: &str,
        run_id: &str,
        proposal: Proposal,
        actor: &Actor,
        role: &str,
        now: Timestamp,
    ) -> Result<(Incident, ActionRun), CaseError> {
        let now = micros(now);
        bounded("the note", &proposal.note, MAX_REASON)?;
        if !proposal.proposers.iter().any(|r| r == role) {
            return Err(CaseError::Forbidden(format!(
                "the role {role} may not propose {} (it may be proposed by: {})",
                proposal.action,
                proposal.proposers.join(", ")
            )));
        }
        let run_id = run_id.to_owned();
        let inc = self.update(id, None, actor, now, |inc, ch| {
            if inc.status.is_closed() {
                return Err(CaseError::Refused(format!(
                    "{} is closed: reopen it to act on it",
                    inc.id
                )));
            }
            if inc.actions.len() >= MAX_RUNS {
                return Err(CaseError::Refused(format!(
                    "{} has {MAX_RUNS} action runs already",
                    inc.id
                )));
            }
            let low = proposal.risk == Risk::Low;
            let run = ActionRun {
                id: run_id.clone(),
                action: proposal.action.clone(),
                title: proposal.title.clone(),
                risk: proposal.risk,
                approvers: proposal.approvers.clone(),
                target: proposal.target.clone(),
                request: Some(proposal.request.clone()),
                state: if low {
                    RunState::Approved
                } else {
                    RunState::Proposed
                },
                proposed_by: actor.to_owned(),
                proposed: now,
                note: proposal.note.clone(),
                playbook: None,
                task: None,
                auto: false,
                decided_by: low.then(|| PRODUCT_ACTOR.to_owned()),
                decided: low.then_some(now),
                reason: None,
                attempts: Vec::new(),
                next_attempt: None,
                finished: None,
            };
            ch.note(
                "action_proposed",
                json!({
                    "run": run.id, "action": run.action, "title": run.title,
                    "risk": run.risk.code(), "target": run.target.label,
                    "entity": run.target.entity, "note": run.note,
                    "runs_on_proposal": low,
                }),
            );
            inc.actions.push(run);
            Ok(())
        })?;
        let run = inc
            .actions
            .iter()
            .find(|r| r.id == run_id)
            .cloned()
            .ok_or_else(|| CaseError::Refused("the run was not kept".into()))?;
        Ok((inc, run))
    }

    /// Approves a proposed sensitive run: the approver is not its proposer (four eyes) and has
    /// one of the run's approver roles.
    pub fn approve_action(
        &self,
        id: &str,
        run: &str,
        actor: &Actor,
        role: &str,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        self.update(id, None, actor, now, |inc, ch| {
            let closed = inc.status.is_closed();
            let r = find_run(inc, run)?;
            if r.state != RunState::Proposed || r.request.is_none() {
                return Err(CaseError::Refused(format!(
                    "{} is {}; only a proposed run can be approved",
                    r.id,
                    r.state.code()
                )));
            }
            if closed {
                return Err(CaseError::Refused(
                    "the incident is closed: reopen it to act on it".into(),
                ));
            }
            if r.proposed_by == actor {
                return Err(CaseError::Forbidden(format!(
                    "{} was proposed by you; a second person must approve it",
                    r.id
                )));
            }
            if !r.approvers.iter().any(|x| x == role) {
                return Err(CaseError::Forbidden(format!(
                    "the role {role} may not approve {} (it may be approved by: {})",
                    r.action,
                    r.approvers.join(", ")
                )));
            }
            r.state = RunState::Approved;
            r.decided_by = Some(actor.to_owned());
            r.decided = Some(now);
            let detail = json!({"run": r.id, "action": r.action, "title": r.title, "target": r.target.label});
            ch.note("action_approved", detail);
            Ok(())
        })
    }

    /// Refuses a proposed run, with the reason: by a person who may approve it, or by its
    /// proposer (withdrawing it). Nothing is sent.
    pub fn refuse_action(
        &self,
        id: &str,
        run: &str,
        reason: &str,
        actor: &Actor,
        role: &str,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        let reason = reason.trim().to_owned();
        if reason.is_empty() {
            return Err(CaseError::Refused("say why the action is refused".into()));
        }
        bounded("the reason", &reason, MAX_REASON)?;
        self.update(id, None, actor, now, |inc, ch| {
            let r = find_run(inc, run)?;
            if r.state != RunState::Proposed {
                return Err(CaseError::Refused(format!(
                    "{} is {}; only a proposed run can be refused",
                    r.id,
                    r.state.code()
                )));
            }
            if r.proposed_by != actor && !r.approvers.iter().any(|x| x == role) {
                return Err(CaseError::Forbidden(format!(
                    "the role {role} may not refuse {} (it may be decided by: {})",
                    r.action,
                    r.approvers.join(", ")
                )));
            }
            r.state = RunState::Refused;
            r.decided_by = Some(actor.to_owned());
            r.decided = Some(now);
            r.finished = Some(now);
            r.reason = Some(reason.clone());
            let detail =
                json!({"run": r.id, "action": r.action, "title": r.title, "reason": reason});
            ch.note("action_refused", detail);
            Ok(())
        })
    }

    /// The runner's preparation of a playbook's proposal: its request rendered (`Ok`) or why
    /// it cannot be (`Err`: the run fails, with the reason on the timeline). A low-risk
    /// action the playbook runs automatically is approved by Tandem; others wait for a person.
    pub fn prepare_action(
        &self,
        id: &str,
        run: &str,
        prepared: Result<Proposal, String>,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        self.update(id, None, PRODUCT_ACTOR, now, |inc, ch| {
            let r = find_run(inc, run)?;
            if r.state != RunState::Proposed || r.request.is_some() {
                return Ok(());
            }
            match prepared {
                Err(reason) => {
                    r.state = RunState::Failed;
                    r.finished = Some(now);
                    r.reason = Some(reason.clone());
                    let detail = json!({"run": r.id, "action": r.action, "title": r.title, "reason": reason});
                    ch.note("action_failed", detail);
                }
                Ok(p) => {
                    r.title = p.title;
                    r.risk = p.risk;
                    r.approvers = p.approvers;
                    r.target = p.target;
                    r.request = Some(p.request);
                    let automatic = r.auto && r.risk == Risk::Low;
                    let detail = json!({
                        "run": r.id, "action": r.action, "title": r.title,
                        "risk": r.risk.code(), "target": r.target.label,
                        "entity": r.target.entity, "playbook": r.playbook, "task": r.task,
                        "runs_on_proposal": automatic,
                    });
                    ch.note("action_proposed", detail);
                    if automatic {
                        r.state = RunState::Approved;
                        r.decided_by = Some(PRODUCT_ACTOR.to_owned());
                        r.decided = Some(now);
                        let detail = json!({"run": r.id, "action": r.action, "title": r.title, "playbook": r.playbook});
                        ch.note("action_auto", detail);
                    }
                }
            }
            Ok(())
        })
    }

    /// Marks an approved run as sent (its first attempt starts): from here on a restart sends
    /// it again until an answer is recorded. Returns the run to send, or None when it is not
    /// due (another state, or a retry later).
    pub fn begin_action(
        &self,
        id: &str,
        run: &str,
        now: Timestamp,
    ) -> Result<Option<ActionRun>, CaseError> {
        let now = micros(now);
        let mut out = None;
        self.update(id, None, PRODUCT_ACTOR, now, |inc, ch| {
            let r = find_run(inc, run)?;
            match r.state {
                RunState::Approved => {
                    r.state = RunState::Running;
                    let detail = json!({"run": r.id, "action": r.action, "title": r.title, "playbook": r.playbook, "auto": r.auto});
                    ch.note("action_run", detail);
                    out = Some(r.clone());
                }
                RunState::Running if r.next_attempt.is_none_or(|t| t <= now) => {
                    out = Some(r.clone());
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Records one attempt's answer on a running run.
    pub fn record_attempt(
        &self,
        id: &str,
        run: &str,
        result: AttemptResult,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        self.update(id, None, PRODUCT_ACTOR, now, |inc, ch| {
            let r = find_run(inc, run)?;
            if r.state != RunState::Running {
                return Ok(());
            }
            r.attempts.push(Attempt {
                time: now,
                status: result.status,
                text: result.text.clone(),
                succeeded: result.succeeded,
            });
            let attempt = r.attempts.len();
            let state = if result.succeeded {
                RunState::Succeeded
            } else if result.retry_at.is_some() {
                RunState::Running
            } else {
                RunState::Failed
            };
            r.state = state;
            r.next_attempt = if state == RunState::Running {
                result.retry_at.map(micros)
            } else {
                None
            };
            if state.is_final() {
                r.finished = Some(now);
            }
            let detail = json!({
                "run": r.id, "action": r.action, "title": r.title, "attempt": attempt,
                "status": result.status, "answer": result.text, "state": state.code(),
                "retry_at": r.next_attempt,
            });
            ch.note("action_answer", detail);
            Ok(())
        })
    }

    /// Incidents with a run the runner has work on (by their tag, not a scan), oldest first.
    pub fn with_due_actions(&self, limit: usize) -> Result<Vec<Incident>, CaseError> {
        let mut q = tandem_store::CaseQuery::new(tandem_store::CaseKind::Incident);
        q.tag = Some(crate::response::ACTIONS_DUE_TAG.to_owned());
        q.order = tandem_store::CaseOrder::Opened;
        q.limit = limit.max(1);
        let page = self.store.cases(&q)?;
        page.records.iter().map(Incident::from_record).collect()
    }
}
