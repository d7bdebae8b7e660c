//! Playbooks: one per incident type, saying which department does what, in what order, with
//! what evidence and within what time.
//!
//! Playbooks are YAML files (`crates/tandem-cases/playbooks/*.yaml` are shipped; operators
//! add or override them in a directory of their own). Loading, validation with file, line and
//! reason, and the shipped set are in this module; what an incident makes of a playbook is
//! [`Playbook::tasks_for`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tandem_model::{Department, Severity, Timestamp};

use crate::incident::{SlaState, Task, TaskSla, TaskState};

/// What selects a playbook for an alert: any rule id, tag or alert kind listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Selector {
    /// Rule ids (`tandem.terminated_access`, a Sigma rule's id).
    pub rules: Vec<String>,
    /// Finding tags (`physical.tailgating`, `attack.t1078`).
    pub tags: Vec<String>,
    /// Alert kinds raised by Tandem itself: `risk`, `sla_breach`, `report:phishing`, … .
    pub kinds: Vec<String>,
}

/// Warn and breach times, in minutes from the task's opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSpec {
    pub warn: u32,
    pub breach: u32,
}

/// One task of a playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookTask {
    /// Unique within the playbook; `after` refers to it.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub department: Department,
    /// The role expected to do it; `responder:<department>` when not said.
    #[serde(default)]
    pub owner_role: Option<String>,
    /// Tasks that must be finished first.
    #[serde(default)]
    pub after: Vec<String>,
    /// Evidence to attach before the task can be completed.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// SLA per severity (`critical`, `high`, `medium`, `low`); a severity not listed has none.
    #[serde(default)]
    pub sla: BTreeMap<String, SlaSpec>,
    /// Count only business hours of the incident's site.
    #[serde(default)]
    pub business_hours: bool,
}

/// A playbook as loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub selects: Selector,
    pub tasks: Vec<PlaybookTask>,
    /// Where it was loaded from (a file path, or `shipped:<name>`); not in the YAML.
    #[serde(skip)]
    pub origin: String,
}

impl Playbook {
    /// The tasks an incident of `severity` gets, opened at `now`: tasks without dependencies
    /// are open (their SLA timers start), the others blocked until their dependencies finish.
    pub fn tasks_for(&self, severity: Severity, now: Timestamp) -> Vec<Task> {
        self.tasks
            .iter()
            .map(|t| {
                let open = t.after.is_empty();
                Task {
                    id: t.id.clone(),
                    title: t.title.clone(),
                    department: t.department,
                    owner_role: t
                        .owner_role
                        .clone()
                        .unwrap_or_else(|| format!("responder:{}", t.department.code())),
                    after: t.after.clone(),
                    required_evidence: t.evidence.clone(),
                    state: if open {
                        TaskState::Open
                    } else {
                        TaskState::Blocked
                    },
                    assignee: None,
                    opened: open.then_some(now),
                    done: None,
                    sla: t.sla.get(severity.name()).map(|s| TaskSla {
                        warn_minutes: s.warn,
                        breach_minutes: s.breach,
                        business_hours: t.business_hours,
                    }),
                    sla_state: SlaState::Running,
                    paused_seconds: 0,
                    paused_since: None,
                    evidence: Vec::new(),
                    pauses: Vec::new(),
                    sla_warned: None,
                    sla_breached: None,
                    skip_reason: None,
                }
            })
            .collect()
    }
}

/// The playbooks in force. Replaced as a whole when a directory is reloaded, so a playbook
/// that fails validation never replaces the version in force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaybookSet {
    playbooks: Vec<Playbook>,
}

/// The playbook used when no other selects an alert.
pub const GENERIC: &str = "generic";

impl PlaybookSet {
    pub fn new(playbooks: Vec<Playbook>) -> PlaybookSet {
        PlaybookSet { playbooks }
    }

    pub fn all(&self) -> &[Playbook] {
        &self.playbooks
    }

    pub fn get(&self, id: &str) -> Option<&Playbook> {
        self.playbooks.iter().find(|p| p.id == id)
    }

    /// The playbook for an alert with these rules, tags and kind: the first that lists one
    /// of its rules, else the first that lists one of its tags, else its kind, else
    /// [`GENERIC`].
    pub fn select(
        &self,
        rules: &[String],
        tags: &[String],
        kind: Option<&str>,
    ) -> Option<&Playbook> {
        let by_rule = self
            .playbooks
            .iter()
            .find(|p| p.selects.rules.iter().any(|r| rules.contains(r)));
        let by_tag = || {
            self.playbooks
                .iter()
                .find(|p| p.selects.tags.iter().any(|t| tags.contains(t)))
        };
        let by_kind = || {
            kind.and_then(|k| {
                self.playbooks
                    .iter()
                    .find(|p| p.selects.kinds.iter().any(|x| x == k))
            })
        };
        by_rule
            .or_else(by_tag)
            .or_else(by_kind)
            .or_else(|| self.get(GENERIC))
    }
}

/// The playbooks in force, reloadable.
pub struct Playbooks {}
