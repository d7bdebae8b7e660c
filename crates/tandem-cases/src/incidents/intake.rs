//! How alerts and risk open, join and reopen incidents.

use chrono::Duration;
use serde_json::json;
use tandem_model::{Entities, Severity, Timestamp};
use tandem_store::{CaseKind, CaseQuery};

use crate::alerter::{AlertPolicy, IncidentIntake};
use crate::risk::RiskScore;
use crate::{Alert, CaseError, IncidentStatus, PRODUCT_ACTOR};

use super::*;

impl Incidents {
    /// Adds an alert to an incident (joined, or reopened with it).
    pub(super) fn join(
        &self,
        id: &str,
        alert: &Alert,
        reopen: bool,
        now: Timestamp,
    ) -> Result<Option<String>, CaseError> {
        let set = self.playbook_set();
        let inc = self.update(id, None, PRODUCT_ACTOR, now, |inc, ch| {
            if reopen && inc.status.is_closed() {
                inc.status = IncidentStatus::InProgress;
                inc.resolution = None;
                inc.reopened += 1;
                ch.note("reopened", json!({"alert": alert.id, "status": "in_progress"}));
            }
            let new = !inc.alerts.contains(&alert.id);
            if new {
                inc.alerts.push(alert.id.clone());
            }
            for e in &alert.evidence {
                if !inc.events.contains(e) {
                    inc.events.push(*e);
                }
            }
            for o in observables_of(&alert.entities, alert.place.as_ref()) {
                if !inc.observables.contains(&o) {
                    inc.observables.push(o);
                }
            }
            merge_entities(&mut inc.entities, &alert.entities);
            inc.milestones.occurred = earliest(inc.milestones.occurred, Some(alert.first_seen));
            if new {
                ch.note(
                    "alert_joined",
                    json!({"alert": alert.id, "title": alert.title, "severity": alert.severity.name()}),
                );
            }
            if alert.severity > inc.severity {
                ch.note(
                    "severity",
                    json!({"from": inc.severity.name(), "to": alert.severity.name(), "alert": alert.id}),
                );
                let pb = set.get(&inc.playbook);
                set_severity(inc, alert.severity, pb);
            }
            Ok(())
        })?;
        Ok(Some(inc.id))
    }
}

impl IncidentIntake for Incidents {
    fn alert_raised(
        &self,
        alert: &Alert,
        policy: &AlertPolicy,
        now: Timestamp,
    ) -> Result<Option<String>, CaseError> {
        let now = micros(now);
        let _one = self.product.lock().unwrap_or_else(|e| e.into_inner());
        // An alert already in an incident stays there (its severity may have risen).
        if let Some(id) = &alert.incident
            && self.store.case(CaseKind::Incident, id)?.is_some()
        {
            return self.join(id, alert, false, now);
        }
        let set = self.playbook_set();
        let rules: Vec<String> = alert.rules.iter().map(|r| r.rule_id.clone()).collect();
        let playbook = policy
            .playbook
            .as_deref()
            .and_then(|p| set.get(p))
            // An employee's report says its kind in a `report:<kind>` tag.
            .or_else(|| {
                let kind = alert.tags.iter().find(|t| t.starts_with("report:"));
                set.select(&rules, &alert.tags, kind.map(String::as_str))
            })
            .map(|p| p.id.clone());
        let entities = alert.entity_keys();
        if !entities.is_empty() {
            let mut q = CaseQuery::new(CaseKind::Incident);
            q.updated_since = Some(now - Duration::hours(i64::from(self.config.lookback_hours)));
            q.not_statuses = vec![IncidentStatus::Closed.code().to_owned()];
            // A shared person, device, account or address joins an incident of any type. A
            // shared place joins only an incident of the alert's own playbook: a busy entrance
            // is in the evidence of unrelated situations (a tailgate, and a sign-in from
            // abroad by someone who walked in there that morning), which must not become one
            // incident worked through the first one's playbook.
            let (places, others): (Vec<String>, Vec<String>) = entities
                .iter()
                .cloned()
                .partition(|k| k.starts_with("place:"));
            let own = playbook.as_deref().unwrap_or(crate::playbook::GENERIC);
            for (keys, any_type) in [(others, true), (places, false)] {
                if keys.is_empty() {
                    continue;
                }
                q.entities = keys;
                q.limit = if any_type { 1 } else { 20 };
                if let Some(r) = self.store.cases(&q)?.records.into_iter().find(|r| {
                    any_type || r.doc.get("playbook").and_then(|p| p.as_str()) == Some(own)
                }) {
                    return self.join(&r.id, alert, false, now);
                }
            }
            q.entities = entities;
            if policy.reopen_closed {
                q.not_statuses.clear();
                q.statuses = vec![IncidentStatus::Closed.code().to_owned()];
                q.limit = 20;
                // A merged incident lives on in its survivor.
                if let Some(r) = self
                    .store
                    .cases(&q)?
                    .records
                    .into_iter()
                    .find(|r| r.parent.is_none())
                {
                    return self.join(&r.id, alert, true, now);
                }
            }
        }
        let min = policy
            .incident_min_severity
            .parse::<Severity>()
            .unwrap_or(Severity::Medium);
        if alert.severity < min {
            return Ok(None);
        }
        let mut inc = self.fresh(
            alert.title.clone(),
            alert.severity,
            playbook.as_deref(),
            "alert",
            now,
        )?;
        inc.summary = alert.summary.clone();
        inc.alerts = vec![alert.id.clone()];
        inc.events = alert.evidence.clone();
        inc.observables = observables_of(&alert.entities, alert.place.as_ref());
        inc.entities = alert.entities.clone();
        inc.milestones.occurred = Some(alert.first_seen.min(now));
        let detail = json!({
            "origin": "alert",
            "alert": alert.id,
            "title": inc.title,
            "severity": inc.severity.name(),
            "playbook": inc.playbook,
            "tasks": inc.tasks.iter().map(|t| &t.id).collect::<Vec<_>>(),
        });
        self.insert(
            &mut inc,
            vec![("opened".into(), detail)],
            PRODUCT_ACTOR,
            now,
        )?;
        Ok(Some(inc.id))
    }

    fn risk_crossed(&self, score: &RiskScore, now: Timestamp) -> Result<Option<String>, CaseError> {
        let now = micros(now);
        let _one = self.product.lock().unwrap_or_else(|e| e.into_inner());
        let mut q = CaseQuery::new(CaseKind::Incident);
        q.entities = vec![score.entity.clone()];
        q.not_statuses = vec![IncidentStatus::Closed.code().to_owned()];
        q.limit = 1;
        if let Some(r) = self.store.cases(&q)?.records.into_iter().next() {
            return Ok(Some(r.id));
        }
        let mut entities = Entities::default();
        let (kind, value) = score
            .entity
            .split_once(':')
            .unwrap_or(("person", &score.entity));
        match kind {
            "device" => entities.devices.push(value.to_owned()),
            "user" => entities.users.push(value.to_owned()),
            "ip" => entities.ips.push(value.to_owned()),
            "place" => entities.places.push(value.to_owned()),
            _ => entities.persons.push(value.to_owned()),
        }
        let set = self.playbook_set();
        let playbook = set.select(&[], &[], Some("risk")).map(|p| p.id.clone());
        let mut inc = self.fresh(
            format!("Risk of {} reached {:.0}", score.entity, score.score),
            Severity::High,
            playbook.as_deref(),
            "risk",
            now,
        )?;
        inc.summary = format!(
            "The risk score of {} is {:.1} (threshold {:.1}) from {} alerts.",
            score.entity,
            score.score,
            score.threshold,
            score.contributions.len()
        );
        inc.alerts = score
            .contributions
            .iter()
            .map(|c| c.alert.clone())
            .collect();
        inc.alerts.dedup();
        inc.observables = observables_of(&entities, None);
        inc.entities = entities;
        inc.milestones.occurred = score
            .contributions
            .iter()
            .map(|c| c.time)
            .min()
            .or(Some(now));
        let detail = json!({
            "origin": "risk",
            "entity": score.entity,
            "score": score.score,
            "threshold": score.threshold,
            "playbook": inc.playbook,
        });
        self.insert(
            &mut inc,
            vec![("opened".into(), detail)],
            PRODUCT_ACTOR,
            now,
        )?;
        Ok(Some(inc.id))
    }
}
