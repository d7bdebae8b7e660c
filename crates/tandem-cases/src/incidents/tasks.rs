//! Tasks: a department's work in an incident, and each department's list.

use serde::Deserialize;
use serde_json::{Value, json};
use tandem_model::{Department, Timestamp};
use tandem_store::CaseKind;

use crate::incident::{Comment, EvidenceFile, OpenTask, SlaState, TaskState};
use crate::{Actor, CaseError};

use super::sla::fired_state;
use super::*;

impl Incidents {
    /// Does something to one task. `department`: the department the actor works for when
    /// they may act only on its tasks (responders).
    #[allow(clippy::too_many_arguments)]
    pub fn task(
        &self,
        id: &str,
        task_id: &str,
        base_version: Option<u64>,
        action: TaskAction,
        department: Option<Department>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        // Files are stored before the incident changes; a file without a reference costs
        // nothing and is stored only once.
        let mut stored: Option<EvidenceFile> = None;
        if let TaskAction::Evidence {
            name,
            content_type,
            bytes,
            item,
        } = &action
        {
            // Check the incident and task exist before storing the file.
            let (inc, _) = self.load(id)?;
            find_task(&inc, task_id)?;
            let mut file = self.store_evidence(name, content_type, bytes, actor, now)?;
            file.task = Some(task_id.to_owned());
            file.item = item.clone();
            stored = Some(file);
        }
        // A task that opens when this one finishes may propose a response action.
        let set = self.playbook_set();
        self.update(id, base_version, actor, now, |inc, ch| {
            if inc.status.is_closed() {
                return Err(CaseError::Refused(format!("{} is closed", inc.id)));
            }
            let i = find_task(inc, task_id)?;
            let t = &inc.tasks[i];
            if let Some(d) = department
                && t.department != d
            {
                return Err(CaseError::Forbidden(format!(
                    "task {} is for {}; you work for {}",
                    t.id,
                    t.department.label(),
                    d.label()
                )));
            }
            let detail = |extra: Value| {
                let mut v = json!({"task": task_id});
                if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                    o.extend(e);
                }
                v
            };
            match action {
                TaskAction::Take => {
                    let t = &mut inc.tasks[i];
                    if t.finished() {
                        return Err(CaseError::Refused(format!("task {} is finished", t.id)));
                    }
                    t.assignee = Some(actor.to_owned());
                    if t.state == TaskState::Open {
                        t.state = TaskState::InProgress;
                    }
                    ch.note("task_taken", detail(json!({"assignee": actor})));
                }
                TaskAction::Comment(text) => {
                    let text = text.trim().to_owned();
                    if text.is_empty() {
                        return Err(CaseError::Refused("the comment is empty".into()));
                    }
                    bounded("a comment", &text, MAX_TEXT)?;
                    let mentions = mentions(&text);
                    ch.note(
                        "comment",
                        detail(json!({"text": text, "mentions": mentions})),
                    );
                    inc.comments.push(Comment {
                        author: actor.to_owned(),
                        time: now,
                        text,
                        mentions,
                        task: Some(task_id.to_owned()),
                    });
                }
                TaskAction::Evidence { .. } => {
                    let mut file = stored.take().expect("stored above");
                    let t = &mut inc.tasks[i];
                    if file.item.is_none() {
                        let have: Vec<&str> = inc
                            .evidence
                            .iter()
                            .filter(|e| e.task.as_deref() == Some(task_id))
                            .filter_map(|e| e.item.as_deref())
                            .collect();
                        let missing: Vec<&String> = t
                            .required_evidence
                            .iter()
                            .filter(|r| !have.contains(&r.as_str()))
                            .collect();
                        if missing.len() == 1 {
                            file.item = Some(missing[0].clone());
                        }
                    } else if let Some(item) = &file.item
                        && !t.required_evidence.contains(item)
                    {
                        return Err(CaseError::Refused(format!(
                            "task {} asks for no evidence `{item}`; it asks for: {}",
                            t.id,
                            t.required_evidence.join(", ")
                        )));
                    }
                    if !t.evidence.contains(&file.sha256) {
                        t.evidence.push(file.sha256.clone());
                    }
                    ch.note(
                        "evidence",
                        detail(json!({"name": file.name, "sha256": file.sha256, "size": file.size, "item": file.item})),
                    );
                    inc.evidence.push(file);
                }
                TaskAction::Complete => {
                    let t = &inc.tasks[i];
                    if t.finished() {
                        return Err(CaseError::Refused(format!("task {} is finished", t.id)));
                    }
                    let open: Vec<&str> = t
                        .after
                        .iter()
                        .filter(|a| {
                            inc.tasks
                                .iter()
                                .any(|x| &x.id == *a && !x.finished())
                        })
                        .map(|a| a.as_str())
                        .collect();
                    if !open.is_empty() {
                        return Err(CaseError::Refused(format!(
                            "task {} waits for {} to be finished first",
                            t.id,
                            open.join(", ")
                        )));
                    }
                    let missing: Vec<&str> = t
                        .required_evidence
                        .iter()
                        .filter(|r| {
                            !inc.evidence.iter().any(|e| {
                                e.task.as_deref() == Some(task_id)
                                    && e.item.as_deref() == Some(r.as_str())
                            })
                        })
                        .map(|r| r.as_str())
                        .collect();
                    if !missing.is_empty() {
                        return Err(CaseError::Refused(format!(
                            "task {} needs evidence first: {}",
                            t.id,
                            missing.join(", ")
                        )));
                    }
                    let t = &mut inc.tasks[i];
                    finish(t, TaskState::Done, now);
                    if t.assignee.is_none() {
                        t.assignee = Some(actor.to_owned());
                    }
                    ch.note("task_completed", detail(json!({})));
                    unblock(inc, now, ch);
                    propose_opened(inc, set.get(&inc.playbook), now);
                }
                TaskAction::Skip(reason) => {
                    let reason = reason.trim().to_owned();
                    bounded("the reason", &reason, MAX_TEXT)?;
                    if reason.is_empty() {
                        return Err(CaseError::Refused(
                            "skipping a task needs a reason".into(),
                        ));
                    }
                    let t = &mut inc.tasks[i];
                    if t.finished() {
                        return Err(CaseError::Refused(format!("task {} is finished", t.id)));
                    }
                    finish(t, TaskState::Skipped, now);
                    t.skip_reason = Some(reason.clone());
                    ch.note("task_skipped", detail(json!({"reason": reason})));
                    unblock(inc, now, ch);
                    propose_opened(inc, set.get(&inc.playbook), now);
                }
                TaskAction::Pause(reason) => {
                    bounded("the reason", &reason, MAX_TEXT)?;
                    let t = &mut inc.tasks[i];
                    if t.finished() || t.paused_since.is_some() {
                        return Err(CaseError::Refused(format!(
                            "task {}'s SLA is not running",
                            t.id
                        )));
                    }
                    t.paused_since = Some(now);
                    t.sla_state = SlaState::Paused;
                    ch.note("sla_paused", detail(json!({"reason": reason.trim()})));
                }
                TaskAction::Resume => {
                    let t = &mut inc.tasks[i];
                    let Some(since) = t.paused_since.take() else {
                        return Err(CaseError::Refused(format!(
                            "task {}'s SLA is not paused",
                            t.id
                        )));
                    };
                    t.pauses.push((since, now));
                    t.paused_seconds += (now - since).num_seconds().max(0) as u64;
                    t.sla_state = fired_state(t);
                    ch.note("sla_resumed", detail(json!({})));
                }
            }
            Ok(())
        })
    }

    /// Open tasks (of one department, or all), overdue first, then by time left: the first
    /// `limit` of them, and how many there are in all. A store with thousands of open
    /// incidents has thousands of open tasks; a page of all of them took half a second to
    /// render and 1.3 MB to send.
    ///
    /// Read from the open tasks the store keeps beside the incidents
    /// ([`Incident::to_record`]'s items), not from the incidents: reading and decoding
    /// every open incident with a task of the department took 140 ms with 2,000 of them.
    pub fn department_tasks(
        &self,
        department: Option<Department>,
        now: Timestamp,
        limit: usize,
    ) -> Result<(usize, Vec<TaskView>), CaseError> {
        let items = self
            .store
            .case_items(CaseKind::Incident, department.map(|d| d.code()))?;
        let mut out = Vec::with_capacity(items.len());
        for (incident, item) in items {
            let open = match OpenTask::deserialize(&item.doc) {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(%incident, task = %item.id, error = %e, "open task unreadable");
                    continue;
                }
            };
            let t = open.task;
            if t.finished() || department.is_some_and(|d| d != t.department) {
                continue;
            }
            let (elapsed, remaining) = match (t.sla, t.state) {
                (Some(sla), s) if s != TaskState::Blocked => {
                    let e = self.sla_elapsed_at(open.site.as_deref(), &t, now);
                    (Some(e), Some(i64::from(sla.breach_minutes) - e))
                }
                _ => (None, None),
            };
            out.push(TaskView {
                incident,
                incident_title: open.title,
                severity: open.severity,
                overdue: remaining.is_some_and(|r| r <= 0) || t.sla_breached.is_some(),
                task: t,
                elapsed_minutes: elapsed,
                remaining_minutes: remaining,
            });
        }
        out.sort_by_key(|v| {
            (
                !v.overdue,
                v.task.state == TaskState::Blocked,
                v.remaining_minutes.unwrap_or(i64::MAX),
                std::cmp::Reverse(v.severity),
            )
        });
        let total = out.len();
        out.truncate(limit);
        Ok((total, out))
    }
}
