//! Alerts and incidents: what happens to a finding after it is stored.
//!
//! Detection says *something happened* ([`tandem_model::Finding`]); this crate decides *what
//! people should do about it*, and keeps the record of what they did:
//!
//! - [`alerter`]: findings become alerts. Repeats of a situation fold into one alert with a
//!   count (dedup key and window; findings of different detections about the same evidence or
//!   entity and situation fold together, native and Sigma alike); per-rule suppression windows
//!   and allow-list exceptions count what they hold back, never silently; a risk score per
//!   person and device ([`risk`]) accumulates alerts with diminishing returns.
//! - [`incidents`]: related alerts become one incident, worked by departments through the
//!   tasks of a [`playbook`], with SLA timers, comments, evidence, a post-incident review, and
//!   an append-only timeline holding the milestones the KPIs need.
//!
//! Alerts, incidents and exceptions are kept by the store as [`tandem_store::CaseRecord`]s (a
//! few indexed columns and this crate's types as JSON) with a timeline per case; the store
//! refuses a write based on a stale version, which is how two people editing one incident
//! learn of each other. This crate knows nothing of HTTP, SQL or detection engines; times
//! come from the caller, so SLA timers are tested with an injected clock.

pub mod alarms;
pub mod alert;
pub mod alerter;
pub mod committee;
mod error;
pub mod incident;
pub mod incidents;
pub mod kpi;
pub mod playbook;
pub mod reports;
pub mod response;
pub mod risk;
pub mod timeline;

pub use alert::{Alert, AlertStatus, Resolution};
pub use error::CaseError;
pub use incident::{Incident, IncidentStatus, Task, TaskState};
pub use playbook::{Playbook, PlaybookSet};

/// The alerts and incidents stages as the server and the web hold them.
#[derive(Clone)]
pub struct Cases {
    pub alerter: std::sync::Arc<alerter::Alerter>,
    pub incidents: std::sync::Arc<incidents::Incidents>,
    pub playbooks: std::sync::Arc<playbook::Playbooks>,
}

/// Who made a change: a console or API user's name, or [`PRODUCT_ACTOR`] for changes Tandem
/// makes itself (an alert opened, an SLA breached).
pub type Actor = str;

/// The actor of changes Tandem makes itself.
pub const PRODUCT_ACTOR: &str = "tandem";

/// Hands the events the alerts and incidents stages raise (an alert opened, an incident's
/// status changed, an SLA breached) to the pipeline, which stores them and shows them on the
/// live monitor like every other event. Implemented by the binary over
/// `Pipeline::commit_internal`.
pub trait Announce: Send + Sync {
    fn announce(&self, events: Vec<tandem_model::Event>);
}

/// Announces nothing (tests, tools).
pub struct Silent;

impl Announce for Silent {
    fn announce(&self, _: Vec<tandem_model::Event>) {}
}

/// The event that tells the rest of Tandem about a change to an alert or incident: class
/// `incident_finding` (OCSF 2005), source `tandem-cases`, `labels.case.id` the case's id,
/// `labels.case.change` what happened (`opened`, `status`, `sla_breach`, …).
pub fn case_event(
    case_id: &str,
    change: &str,
    message: String,
    severity: tandem_model::Severity,
    actor: &Actor,
    time: tandem_model::Timestamp,
) -> tandem_model::Event {
    use tandem_model::{Activity, Class, Event};
    let activity = match change {
        "opened" => Activity::Create,
        "closed" => Activity::End,
        _ => Activity::Update,
    };
    let mut e = Event::new(CASES_SOURCE, Class::IncidentFinding, activity, time);
    e.severity = severity;
    e.message = message;
    e.source.vendor = Some("Tandem".into());
    e.source.product = Some("Tandem alerts and incidents".into());
    e.actor.user = Some(actor.to_owned());
    e.labels.insert("case.id".into(), case_id.to_owned());
    e.labels.insert("case.change".into(), change.to_owned());
    e
}

/// Gives records stored by a version without tags, due times or items (a file from before
/// they existed) theirs, once: an alert's assignee tag, an incident's review tag, SLA due
/// time and open tasks, which the assignee filter, the action items, the SLA check and the
/// departments' task lists find records by. Returns
/// how many records were reindexed (none when the store holds no such records).
pub fn reindex_if_needed(store: &dyn tandem_store::CaseStore) -> Result<u64, CaseError> {
    use tandem_store::{CaseKind, CaseOrder, CaseQuery};
    if !store.cases_need_reindex()? {
        return Ok(0);
    }
    let mut done = 0;
    for kind in [CaseKind::Alert, CaseKind::Incident] {
        let mut q = CaseQuery::new(kind);
        q.order = CaseOrder::Opened;
        q.limit = 500;
        loop {
            let page = store.cases(&q)?;
            let n = page.records.len();
            let mut records = Vec::with_capacity(n);
            for r in page.records {
                let derived = match kind {
                    CaseKind::Alert => Alert::from_record(&r).map(|a| a.to_record(r.opened)),
                    _ => Incident::from_record(&r).map(|i| i.to_record(r.opened, r.updated)),
                };
                match derived {
                    Ok(d) => records.push(tandem_store::CaseRecord {
                        tags: d.tags,
                        due: d.due,
                        items: d.items,
                        ..r
                    }),
                    Err(e) => tracing::warn!(id = %r.id, error = %e, "cannot reindex the record"),
                }
            }
            store.reindex_cases(&records)?;
            done += records.len() as u64;
            if n < q.limit {
                break;
            }
            q.offset += n;
        }
    }
    store.cases_reindexed()?;
    Ok(done)
}

/// The source name the events of alerts and incidents are stored under.
pub const CASES_SOURCE: &str = "tandem-cases";

/// How the store indexes what a case is about: `person:<id>`, `device:<id>`, `user:<name>`,
/// `ip:<addr>`, `place:<id>` (the entities' places and the door or zone of `place`).
pub fn entity_keys(
    entities: &tandem_model::Entities,
    place: Option<&tandem_model::Place>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |prefix: &str, v: &str| {
        let k = format!("{prefix}:{v}");
        if !out.contains(&k) {
            out.push(k);
        }
    };
    entities.persons.iter().for_each(|v| add("person", v));
    entities.devices.iter().for_each(|v| add("device", v));
    entities.users.iter().for_each(|v| add("user", v));
    entities.ips.iter().for_each(|v| add("ip", v));
    entities.places.iter().for_each(|v| add("place", v));
    if let Some(d) = place.and_then(|p| p.door.as_deref()) {
        add("place", d);
    }
    out
}
