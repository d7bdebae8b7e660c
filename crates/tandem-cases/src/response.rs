//! Response actions as an incident keeps them: each proposal to act on another system
//! (suspend a badge, disable an account, isolate a host, post to a channel) is a run on the
//! incident, with who proposed it, who approved or refused it, and every answer the other
//! system gave.
//!
//! This module holds the record and the four-eyes rule; what an action is (its request
//! template, its connection) is `tandem-respond`'s, and sending is the server's. A run keeps
//! the request it will send without the connection's secrets (the base URL and the headers
//! holding tokens are added at sending time), so what was approved is what is sent.

use serde::{Deserialize, Serialize};
use tandem_model::Timestamp;

/// How much an action can hurt when it is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Runs on proposal (enrich, notify, open a ticket).
    #[default]
    Low,
    /// Runs only after a second person of an allowed role approves it (four eyes).
    Sensitive,
}

impl Risk {
    pub fn code(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Sensitive => "sensitive",
        }
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for approval (or, proposed by a playbook, for its request to be prepared).
    Proposed,
    /// May be sent; the runner picks it up.
    Approved,
    Refused,
    /// Sent at least once, no final answer yet (a retry may be due).
    Running,
    Succeeded,
    /// The answer said no, or no answer came after the last attempt.
    Failed,
}

impl RunState {
    pub fn code(self) -> &'static str {
        match self {
            RunState::Proposed => "proposed",
            RunState::Approved => "approved",
            RunState::Refused => "refused",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
        }
    }

    /// Nothing more happens to the run.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunState::Refused | RunState::Succeeded | RunState::Failed
        )
    }
}

/// What the action acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionTarget {
    /// The incident entity it was chosen from: `person:E1042`, `device:LAP-7`, `incident:INC-3`.
    pub entity: String,
    /// What the other system calls it: a badge number, an Okta user id, a host name.
    pub identifier: String,
    /// In words, for pages: "Kari Nordmann, badge 4411".
    #[serde(default)]
    pub label: String,
}

/// The request a run sends, without the connection's secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// The `[[actions.connections]]` entry whose base URL and headers complete it.
    pub connection: String,
    pub method: String,
    /// Appended to the connection's base URL (may be empty: the base URL is the whole URL).
    pub path: String,
    /// The definition's own headers (never secrets).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Statuses that mean success; empty: any 2xx.
    #[serde(default)]
    pub expect: Vec<u16>,
}

/// One attempt and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub time: Timestamp,
    /// The HTTP status, when there was an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The start of the answer, or why there was none.
    pub text: String,
    pub succeeded: bool,
}

/// One proposal to run an action, and what became of it. Its id is the idempotency key of
/// every request it sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRun {
    /// `run-<ulid>`; the `Idempotency-Key` of its requests.
    pub id: String,
    /// The definition's id (`suspend-badge`).
    pub action: String,
    pub title: String,
    pub risk: Risk,
    /// Roles that may approve it (for sensitive actions).
    #[serde(default)]
    pub approvers: Vec<String>,
    #[serde(default)]
    pub target: ActionTarget,
    /// None while a playbook's proposal waits to be prepared by the runner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<ActionRequest>,
    pub state: RunState,
    pub proposed_by: String,
    pub proposed: Timestamp,
    /// Why it was proposed, in the proposer's words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The playbook (and task) that proposed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The playbook runs it without a person when the action is low-risk.
    #[serde(default)]
    pub auto: bool,
    /// Who approved or refused it (`tandem` when it ran on proposal or by a playbook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided: Option<Timestamp>,
    /// Why it was refused, or why it failed before being sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (after a failed one worth retrying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Timestamp>,
}

impl ActionRun {
    /// Whether the runner has work on it: approved, running, or a playbook's proposal to prepare.
    pub fn needs_runner(&self) -> bool {
        match self.state {
            RunState::Approved | RunState::Running => true,
            RunState::Proposed => self.request.is_none(),
            _ => false,
        }
    }
}

/// The store tag of an incident with a run the runner has work on: the runner reads only
/// those incidents.
pub const ACTIONS_DUE_TAG: &str = "actions_due";

/// A proposal as the web or the runner makes it: the definition's policy and the rendered
/// request.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub action: String,
    pub title: String,
    pub risk: Risk,
    /// Roles that may propose it.
    pub proposers: Vec<String>,
    /// Roles that may approve it.
    pub approvers: Vec<String>,
    pub target: ActionTarget,
    pub request: ActionRequest,
    pub note: String,
}

/// What one attempt got back, and what follows.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptResult {
    pub status: Option<u16>,
    pub text: String,
    pub succeeded: bool,
    /// When failed: the next attempt's time, or None when this was the last one.
    pub retry_at: Option<Timestamp>,
}
