//! The timeline every alert and incident keeps: what its entries say in words, and the
//! refusal of a change based on an old version, which names the latest of them.

use serde_json::Value;
use tandem_model::Timestamp;
use tandem_store::{CaseStore, TimelineEntry};

use crate::CaseError;

/// A new timeline entry of `case_id`; the store gives it its sequence number when committed.
pub(crate) fn entry(
    case_id: &str,
    time: Timestamp,
    actor: &str,
    kind: &str,
    detail: Value,
) -> TimelineEntry {
    TimelineEntry {
        seq: 0,
        case_id: case_id.to_owned(),
        time,
        actor: actor.to_owned(),
        kind: kind.to_owned(),
        detail,
    }
}

/// A timeline entry in words, for pages and for the refusal of a stale change: "status new →
/// acknowledged", "completed task confirm".
pub fn describe(kind: &str, detail: &Value) -> String {
    let s = |k: &str| detail.get(k).and_then(Value::as_str).unwrap_or("");
    // A value that may be unset, as "none" ("assignee none → maria").
    let n = |k: &str| Some(s(k)).filter(|v| !v.is_empty()).unwrap_or("none");
    match kind {
        "opened" => "opened".to_owned(),
        "status" => format!("status {} → {}", n("from"), n("to")),
        "severity" => format!("severity {} → {}", n("from"), n("to")),
        "title" => "changed the title".to_owned(),
        "task_taken" => format!("took task {}", s("task")),
        "task_completed" => format!("completed task {}", s("task")),
        "task_skipped" => format!("skipped task {}", s("task")),
        "task_opened" => format!("task {} opened", s("task")),
        "evidence" if s("task").is_empty() => format!("attached {}", s("name")),
        "evidence" => format!("attached evidence to task {}", s("task")),
        "action_item_done" => format!("action item {} done", s("item")),
        "action_item_reopened" => format!("action item {} reopened", s("item")),
        "action_item_overdue" => {
            format!("action item {} passed its due date {}", s("item"), s("due"))
        }
        "comment" => "commented".to_owned(),
        "sla_warn" => format!("SLA warning on task {}", s("task")),
        "sla_breach" => format!("SLA breached on task {}", s("task")),
        "sla_paused" => format!("paused the SLA of task {}", s("task")),
        "sla_resumed" => format!("resumed the SLA of task {}", s("task")),
        "review" => "wrote the review".to_owned(),
        "review_updated" => "updated the review".to_owned(),
        "merged" => format!("merged {} into it", s("from")),
        "merged_into" => format!("merged into {}", s("into")),
        "alert_joined" => format!("alert {} joined", s("alert")),
        "playbook" => format!("switched the playbook to {}", s("to")),
        "resolution" => format!("resolution {} → {}", n("from"), n("to")),
        "assignee" => format!("assignee {} → {}", n("from"), n("to")),
        "incident" => format!("joined incident {}", s("incident")),
        "rule_added" => format!("folded in rule {}", s("rule")),
        "action_proposed" if detail.get("playbook").is_some_and(|p| !p.is_null()) => {
            format!(
                "playbook {} proposed {} on {}",
                s("playbook"),
                s("title"),
                n("target")
            )
        }
        "action_proposed" if detail.get("runs_on_proposal") == Some(&Value::Bool(true)) => {
            format!(
                "ran {} on {} (low risk: runs on proposal)",
                s("title"),
                n("target")
            )
        }
        "action_proposed" => format!(
            "proposed {} on {}: awaiting approval",
            s("title"),
            n("target")
        ),
        "action_approved" => format!("approved {} on {}", s("title"), n("target")),
        "action_refused" => format!("refused {}: {}", s("title"), s("reason")),
        "action_auto" => format!(
            "ran {} automatically by playbook {}",
            s("title"),
            s("playbook")
        ),
        "action_run" => format!("sent {}", s("title")),
        "action_failed" => format!("{} failed: {}", s("title"), s("reason")),
        "action_answer" => {
            let status = detail
                .get("status")
                .and_then(Value::as_u64)
                .map_or("no answer".to_owned(), |c| format!("HTTP {c}"));
            let mut answer: String = s("answer").chars().take(200).collect();
            if answer.is_empty() {
                answer = "(empty)".into();
            }
            match s("state") {
                "succeeded" => format!("{} succeeded: {status} {answer}", s("title")),
                "running" => format!(
                    "{} attempt {} failed: {status} {answer}; retrying",
                    s("title"),
                    detail.get("attempt").and_then(Value::as_u64).unwrap_or(0)
                ),
                _ => format!("{} failed: {status} {answer}", s("title")),
            }
        }
        other => other.replace('_', " "),
    }
}

/// The refusal of a change based on version `based_on` of `id`, now at `current`, naming
/// who made the latest change and what it was (the timeline's last entry).
pub(crate) fn stale(store: &dyn CaseStore, id: &str, based_on: u64, current: u64) -> CaseError {
    let last: Option<TimelineEntry> = store
        .timeline(id, 0)
        .ok()
        .and_then(|t| t.into_iter().last());
    let (by, what) = match last {
        Some(e) => (e.actor, describe(&e.kind, &e.detail)),
        None => ("someone".to_owned(), "a change".to_owned()),
    };
    CaseError::Conflict {
        id: id.to_owned(),
        based_on,
        current,
        by,
        what,
    }
}
