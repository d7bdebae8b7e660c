//! `tandem.terminated_access`: a badge used at a door by someone who, at that moment, is no
//! longer employed (or is suspended).
//!
//! The employment status comes from the event itself (`actor.person.status`, fixed by identity
//! resolution at event time), so a swipe a minute after HR recorded the termination is caught
//! even if the person is later re-hired, and a swipe the day before is not. The access-control
//! system granting it is the worst case (the credential was never revoked); a denial is still
//! worth a look (someone tried).

use super::{Draft, Located, Rule, person, person_name};
use crate::Detection;
use serde::{Deserialize, Serialize};
use tandem_identity::Directory;
use tandem_model::{Activity, Class, Event, Finding, Severity};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.terminated_access",
    title: "Door access by a terminated or suspended person",
    severity: Severity::High,
    tags: &[
        "attack.initial_access",
        "attack.persistence",
        "attack.t1078",
        "physical.terminated_credential",
    ],
};

/// `tandem.terminated_access` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TerminatedAccessConfig {
    pub enabled: bool,
    /// Employment statuses that must not open doors (`terminated`, `suspended`; `on_leave` can
    /// be added where leave also suspends access).
    pub statuses: Vec<String>,
    /// Also raise (at medium severity) when the door denied the badge.
    pub include_denied: bool,
}

impl Default for TerminatedAccessConfig {
    fn default() -> Self {
        TerminatedAccessConfig {
            enabled: true,
            statuses: vec!["terminated".into(), "suspended".into()],
            include_denied: true,
        }
    }
}

pub(crate) struct TerminatedAccess {
    cfg: TerminatedAccessConfig,
}

impl TerminatedAccess {
    pub fn new(cfg: TerminatedAccessConfig) -> Self {
        TerminatedAccess { cfg }
    }
}

impl Detection for TerminatedAccess {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        if e.class != Class::PhysicalAccess {
            return;
        }
        let granted = match e.activity {
            Activity::Granted => true,
            Activity::Denied if self.cfg.include_denied => false,
            _ => return,
        };
        let Some(p) = person(e) else { return };
        let record = dir.person_at(&p.id, e.time);
        // The event's own status is authoritative; the directory is the fallback for events
        // resolved before statuses were copied onto them.
        let status = p
            .status
            .clone()
            .or_else(|| record.map(|r| r.status.name().to_owned()));
        let Some(status) = status else { return };
        if !self
            .cfg
            .statuses
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&status))
        {
            return;
        }
        let since = record
            .or_else(|| dir.person(&p.id))
            .and_then(|r| r.terminated_at)
            .filter(|_| status.eq_ignore_ascii_case("terminated"))
            .map(|t| format!(" {}", t.format("%Y-%m-%d")))
            .unwrap_or_default();
        let at = Located::of(e, dir);
        let badge = e
            .actor
            .badge
            .as_deref()
            .map(|b| format!("Badge {b}"))
            .unwrap_or_else(|| "Badge".to_owned());
        let verb = if granted { "granted" } else { "denied" };
        let summary = format!(
            "{badge} of {} ({status}{since}) {verb} at {}",
            person_name(p),
            at.label()
        );
        let mut d = Draft::new(
            &RULE,
            summary,
            format_args!("{}:{}", p.id, e.time.format("%Y-%m-%d")),
        )
        .event(e)
        .detail("status", status.as_str())
        .detail("outcome", verb)
        .detail("resolution", p.method.as_str())
        .detail("confidence", f64::from(p.confidence));
        if let Some(door) = at.door_id() {
            d = d.place(&door).detail("door", door);
        }
        if !since.is_empty() {
            d = d.detail("terminated", since.trim());
        }
        if !granted {
            d = d.severity(Severity::Medium);
        }
        out.push(d.finish());
    }
}
