//! Where notifications come from: the case events the alerts and incidents stages store
//! (class `incident_finding`, source `tandem-cases`, `labels.case.id` and `case.change`),
//! read with the case record and its timeline, which say what routing needs (departments,
//! severity, sites, the task).

use serde_json::Value;
use tandem_cases::{Alert, Incident, TaskState};
use tandem_model::{Class, Event};
use tandem_store::{CaseKind, CaseStore, StoreError, TimelineEntry};

use crate::route::Notice;

/// The classes a notifications driver reads.
pub const CLASSES: &[Class] = &[Class::IncidentFinding];

/// The notices one stored event stands for (none for events of other sources and for
/// changes no one is told about).
pub fn notices(cases: &dyn CaseStore, event: &Event) -> Result<Vec<Notice>, StoreError> {
    if event.class != Class::IncidentFinding || event.source.name != tandem_cases::CASES_SOURCE {
        return Ok(Vec::new());
    }
    let (Some(id), Some(change)) = (event.labels.get("case.id"), event.labels.get("case.change"))
    else {
        return Ok(Vec::new());
    };
    if id.starts_with("ALR-") {
        return alert_notices(cases, event, id, change);
    }
    if id.starts_with("INC-") {
        return incident_notices(cases, event, id, change);
    }
    Ok(Vec::new())
}

fn alert_notices(
    cases: &dyn CaseStore,
    event: &Event,
    id: &str,
    change: &str,
) -> Result<Vec<Notice>, StoreError> {
    if change != "opened" {
        return Ok(Vec::new());
    }
    let Some(record) = cases.case(CaseKind::Alert, id)? else {
        return Ok(Vec::new());
    };
    let Ok(alert) = Alert::from_record(&record) else {
        tracing::warn!(%id, "notify: the alert's record is unreadable; no notification");
        return Ok(Vec::new());
    };
    Ok(vec![Notice {
        kind: "alert_opened".into(),
        case_id: id.to_owned(),
        title: alert.title.clone(),
        summary: alert.summary.clone(),
        severity: alert.severity.name().to_owned(),
        departments: record.departments.clone(),
        sites: record.sites.clone(),
        task: None,
        path: format!("/alerts/{id}"),
        time: event.time,
        key: key(id, "alert_opened", "", event),
    }])
}

fn incident_notices(
    cases: &dyn CaseStore,
    event: &Event,
    id: &str,
    change: &str,
) -> Result<Vec<Notice>, StoreError> {
    if !matches!(
        change,
        "opened" | "task_opened" | "sla_warn" | "sla_breach" | "action_item_overdue" | "status"
    ) {
        return Ok(Vec::new());
    }
    let Some(record) = cases.case(CaseKind::Incident, id)? else {
        return Ok(Vec::new());
    };
    let Ok(incident) = Incident::from_record(&record) else {
        tracing::warn!(%id, "notify: the incident's record is unreadable; no notification");
        return Ok(Vec::new());
    };
    let base = |kind: &str, departments: Vec<String>, task: Option<(&str, &str)>| Notice {
        kind: kind.to_owned(),
        case_id: id.to_owned(),
        title: incident.title.clone(),
        summary: incident.summary.clone(),
        severity: incident.severity.name().to_owned(),
        departments,
        sites: record.sites.clone(),
        task: task.map(|(_, title)| title.to_owned()),
        path: format!("/incidents/{id}"),
        time: event.time,
        key: key(id, kind, task.map_or("", |(t, _)| t), event),
    };
    let task_notice = |kind: &str, task_id: &str| {
        incident.tasks.iter().find(|t| t.id == task_id).map(|t| {
            base(
                kind,
                vec![t.department.code().to_owned()],
                Some((&t.id, &t.title)),
            )
        })
    };
    let mut out = Vec::new();
    match change {
        "opened" => {
            let departments = incident
                .departments()
                .iter()
                .map(|d| d.code().to_owned())
                .collect();
            out.push(base("incident_opened", departments, None));
            // The tasks open from the start are assigned to their departments now.
            for t in incident.tasks.iter().filter(|t| t.state == TaskState::Open) {
                out.extend(task_notice("task_assigned", &t.id));
            }
        }
        "task_opened" | "sla_warn" | "sla_breach" => {
            let kind = if change == "task_opened" {
                "task_assigned"
            } else {
                change
            };
            for entry in entries_at(cases, id, change, event)? {
                if let Some(task) = entry.detail.get("task").and_then(Value::as_str) {
                    out.extend(task_notice(kind, task));
                }
            }
        }
        "action_item_overdue" => {
            // The review's item, to its department, named where a task would be.
            let items = incident.review.iter().flat_map(|r| &r.action_items);
            let items: Vec<_> = items.collect();
            for entry in entries_at(cases, id, change, event)? {
                let item = entry.detail.get("item").and_then(Value::as_str);
                if let Some(a) = items.iter().find(|a| Some(a.id.as_str()) == item) {
                    let title = format!("{} (due {})", a.title, a.due);
                    out.push(base(
                        change,
                        vec![a.department.code().to_owned()],
                        Some((&a.id, &title)),
                    ));
                }
            }
        }
        _ => {
            let statuses = entries_at(cases, id, "status", event)?;
            let reached = |status: &str| {
                statuses
                    .iter()
                    .any(|e| e.detail.get("to").and_then(Value::as_str) == Some(status))
            };
            let departments = || {
                incident
                    .departments()
                    .iter()
                    .map(|d| d.code().to_owned())
                    .collect()
            };
            if reached("closed") {
                out.push(base("incident_closed", departments(), None));
            }
            // Resolved, and closing waits for the review no one has written yet.
            if reached("resolved") && incident.needs_review() {
                out.push(base("review_due", departments(), None));
            }
        }
    }
    Ok(out)
}

/// The timeline entries of `kind` written with `event` (same case, same time).
fn entries_at(
    cases: &dyn CaseStore,
    id: &str,
    kind: &str,
    event: &Event,
) -> Result<Vec<TimelineEntry>, StoreError> {
    let at = event.time.timestamp_micros();
    Ok(cases
        .timeline(id, 0)?
        .into_iter()
        .filter(|e| e.kind == kind && e.time.timestamp_micros() == at)
        .collect())
}

/// The same change of a case read again (two events of one change, a restart) gives the
/// same key.
fn key(id: &str, kind: &str, task: &str, event: &Event) -> String {
    format!("{id}:{kind}:{task}:{}", event.time.timestamp_micros())
}
