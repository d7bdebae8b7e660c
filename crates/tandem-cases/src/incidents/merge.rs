//! Merging one incident into another.

use serde_json::json;
use tandem_model::Timestamp;
use tandem_store::{CaseCommit, CaseKind, CaseWrite, StoreError};

use crate::{Actor, Alert, CaseError, Incident, IncidentStatus, Resolution};

use super::*;

impl Incidents {
    /// Merges `from` into `into`: `from` closes as a duplicate pointing at `into`, which
    /// takes its alerts, events, observables, evidence and unfinished tasks (named
    /// `<from>:<task>`); both timelines say so.
    pub fn merge(
        &self,
        into: &str,
        from: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        if into == from {
            return Err(CaseError::Refused(
                "an incident cannot be merged into itself".into(),
            ));
        }
        let (mut survivor, srec) = self.load(into)?;
        let (mut dup, drec) = self.load(from)?;
        if survivor.status.is_closed() {
            return Err(CaseError::Refused(format!(
                "{into} is closed; reopen it first"
            )));
        }
        if dup.merged_into.is_some() {
            return Err(CaseError::Refused(format!("{from} is merged already")));
        }
        let mut moved_tasks = Vec::new();
        for t in dup.tasks.iter().filter(|t| !t.finished()) {
            let mut t = t.clone();
            t.id = format!("{from}:{}", t.id);
            t.after = t.after.iter().map(|a| format!("{from}:{a}")).collect();
            // Dependencies finished in the merged incident are not carried over.
            t.after.retain(|a| {
                dup.tasks
                    .iter()
                    .any(|x| format!("{from}:{}", x.id) == *a && !x.finished())
            });
            moved_tasks.push(t.id.clone());
            survivor.tasks.push(t);
        }
        let mut moved_alerts = Vec::new();
        for a in &dup.alerts {
            if !survivor.alerts.contains(a) {
                survivor.alerts.push(a.clone());
                moved_alerts.push(a.clone());
            }
        }
        for e in &dup.events {
            if !survivor.events.contains(e) {
                survivor.events.push(*e);
            }
        }
        for o in &dup.observables {
            if !survivor.observables.contains(o) {
                survivor.observables.push(o.clone());
            }
        }
        merge_entities(&mut survivor.entities, &dup.entities);
        survivor.evidence.extend(dup.evidence.iter().cloned());
        if dup.severity > survivor.severity {
            survivor.severity = dup.severity;
        }
        survivor.milestones.occurred =
            earliest(survivor.milestones.occurred, dup.milestones.occurred);
        survivor.milestones.detected =
            earliest(survivor.milestones.detected, dup.milestones.detected);
        survivor.version = srec.version + 1;

        dup.status = IncidentStatus::Closed;
        dup.resolution = Some(Resolution::Duplicate);
        dup.merged_into = Some(into.to_owned());
        dup.milestones.closed.get_or_insert(now);
        dup.version = drec.version + 1;

        let mut writes = vec![
            CaseWrite::Update(survivor.to_record(srec.opened, now)),
            CaseWrite::Update(dup.to_record(drec.opened, now)),
        ];
        let mut timeline = Vec::new();
        // The merged incident's alerts now belong to the survivor.
        for a in &moved_alerts {
            if let Some(rec) = self.store.case(CaseKind::Alert, a)? {
                let mut alert = Alert::from_record(&rec)?;
                alert.incident = Some(into.to_owned());
                alert.version = rec.version + 1;
                let mut r = alert.to_record(rec.opened);
                r.updated = rec.updated;
                writes.push(CaseWrite::Update(r));
                timeline.push(entry(
                    a,
                    actor,
                    now,
                    "incident",
                    json!({"from": from, "to": into}),
                ));
            }
        }
        let into_entry = (
            "merged".to_owned(),
            json!({"from": from, "alerts": moved_alerts, "tasks": moved_tasks}),
        );
        let from_entry = ("merged_into".to_owned(), json!({"into": into}));
        timeline.push(entry(into, actor, now, &into_entry.0, into_entry.1.clone()));
        timeline.push(entry(from, actor, now, &from_entry.0, from_entry.1.clone()));
        let mut commit = CaseCommit {
            writes,
            timeline,
            findings: Vec::new(),
        };
        match self.store.commit_cases(&mut commit) {
            Ok(()) => {}
            Err(StoreError::Conflict { id, .. }) if id == from => {
                return Err(self.conflict(from, drec.version));
            }
            Err(StoreError::Conflict { .. }) => return Err(self.conflict(into, srec.version)),
            Err(e) => return Err(e.into()),
        }
        self.announce_entries(&survivor, &[into_entry], actor, now);
        self.announce_entries(&dup, &[from_entry], actor, now);
        Ok(survivor)
    }
}
