//! The Statement of Applicability and each control's evidence state: what the gaps page,
//! the API and the auditor's export show.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tandem_model::Department;
use tandem_store::{ControlRecord, EvidenceRecord};

use crate::Library;
use crate::measure::PASS;

/// Implementation statuses, with their labels.
pub const STATUSES: &[(&str, &str)] = &[
    ("not_started", "Not started"),
    ("planned", "Planned"),
    ("partial", "Partly implemented"),
    ("implemented", "Implemented"),
];

/// The status a control has until someone sets one.
pub const DEFAULT_STATUS: &str = "not_started";

/// The longest justification kept.
pub const MAX_JUSTIFICATION: usize = 2_000;

/// A change to a control's row, as a person makes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// A department code, or empty for none.
    pub owner: String,
    pub applicable: bool,
    pub justification: String,
    pub status: String,
    /// The version the editor saw (0: never stored).
    pub version: u64,
}

/// Why an edit was refused, in words for the person who made it.
pub fn check(framework: &str, control: &str, edit: &Edit, library: &Library) -> Result<(), String> {
    let Some(c) = library.catalogue(framework) else {
        return Err(format!("no framework `{framework}`"));
    };
    if c.control(control).is_none() {
        return Err(format!("`{control}` is not a control of {}", c.name));
    }
    if !edit.owner.is_empty() && Department::parse(&edit.owner).is_none() {
        return Err(format!("`{}` is not a department", edit.owner));
    }
    if !STATUSES.iter().any(|(s, _)| *s == edit.status) {
        return Err(format!(
            "status `{}` is not one of {}",
            edit.status,
            STATUSES
                .iter()
                .map(|(s, _)| *s)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if edit.justification.len() > MAX_JUSTIFICATION {
        return Err(format!(
            "a justification may have at most {MAX_JUSTIFICATION} bytes"
        ));
    }
    if !edit.applicable && edit.justification.trim().is_empty() {
        return Err("a control that does not apply needs a justification".into());
    }
    Ok(())
}

/// The row to store for an edit.
pub fn record(
    framework: &str,
    control: &str,
    edit: &Edit,
    by: &str,
    now: DateTime<Utc>,
) -> ControlRecord {
    ControlRecord {
        framework: framework.to_owned(),
        control: control.to_owned(),
        owner: edit.owner.clone(),
        applicable: edit.applicable,
        justification: edit.justification.trim().to_owned(),
        status: edit.status.clone(),
        updated_by: by.to_owned(),
        updated: now,
        version: edit.version,
    }
}

/// Where a control stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Every piece of its evidence passed at its last snapshot.
    Evidenced,
    /// A piece of its evidence failed (or could not be measured).
    Failing,
    /// Evidence is defined but missing: not available yet, nothing to measure, never run.
    Missing,
    /// No evidence is defined for it.
    NoEvidence,
    /// Not applicable (the Statement of Applicability says why).
    NotApplicable,
}

impl State {
    pub fn code(self) -> &'static str {
        match self {
            State::Evidenced => "evidenced",
            State::Failing => "failing",
            State::Missing => "missing",
            State::NoEvidence => "no_evidence",
            State::NotApplicable => "not_applicable",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Evidenced => "Evidenced",
            State::Failing => "Failing evidence",
            State::Missing => "Evidence missing",
            State::NoEvidence => "No evidence defined",
            State::NotApplicable => "Not applicable",
        }
    }

    /// Whether the gaps page lists it.
    pub fn is_gap(self) -> bool {
        matches!(self, State::Failing | State::Missing | State::NoEvidence)
    }

    pub fn parse(s: &str) -> Option<State> {
        [
            State::Evidenced,
            State::Failing,
            State::Missing,
            State::NoEvidence,
            State::NotApplicable,
        ]
        .into_iter()
        .find(|st| st.code() == s)
    }
}

/// One piece of a control's evidence and its last snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceState {
    pub id: String,
    pub title: String,
    pub pass: String,
    pub latest: Option<EvidenceRecord>,
}

/// A control as shown: the catalogue's words, its row, its evidence, its state.
#[derive(Debug, Clone, Serialize)]
pub struct ControlView {
    pub framework: String,
    pub id: String,
    pub title: String,
    pub summary: String,
    /// The enclosing group's id and title (`A.5 Organizational controls`).
    pub group: String,
    pub soa: ControlRecord,
    pub evidence: Vec<EvidenceState>,
    pub state: State,
}

/// Every control of `framework` with its row (a default one when never edited) and the
/// latest snapshot of each of its evidence definitions.
pub fn view(
    library: &Library,
    framework: &str,
    rows: &[ControlRecord],
    latest: &[EvidenceRecord],
) -> Vec<ControlView> {
    let Some(c) = library.catalogue(framework) else {
        return Vec::new();
    };
    c.controls()
        .into_iter()
        .map(|ctl| {
            let id = &ctl.item.id;
            let soa = rows
                .iter()
                .find(|r| &r.control == id)
                .cloned()
                .unwrap_or_else(|| ControlRecord {
                    framework: framework.to_owned(),
                    control: id.clone(),
                    owner: String::new(),
                    applicable: true,
                    justification: String::new(),
                    status: DEFAULT_STATUS.to_owned(),
                    updated_by: String::new(),
                    updated: DateTime::<Utc>::UNIX_EPOCH,
                    version: 0,
                });
            let evidence: Vec<EvidenceState> = library
                .evidence_for(framework, id)
                .into_iter()
                .map(|d| EvidenceState {
                    id: d.id.clone(),
                    title: d.title.clone(),
                    pass: d.pass.describe(),
                    latest: latest.iter().find(|s| s.input.evidence == d.id).cloned(),
                })
                .collect();
            let state = if !soa.applicable {
                State::NotApplicable
            } else if evidence.is_empty() {
                State::NoEvidence
            } else if evidence.iter().any(|e| {
                e.latest
                    .as_ref()
                    .is_some_and(|s| matches!(s.input.status.as_str(), "fail" | "error"))
            }) {
                State::Failing
            } else if evidence
                .iter()
                .all(|e| e.latest.as_ref().is_some_and(|s| s.input.status == PASS))
            {
                State::Evidenced
            } else {
                State::Missing
            };
            ControlView {
                framework: framework.to_owned(),
                id: id.clone(),
                title: ctl.item.title.clone(),
                summary: ctl.item.summary.clone(),
                group: ctl
                    .groups
                    .last()
                    .map(|g| format!("{} {}", g.id, g.title))
                    .unwrap_or_default(),
                soa,
                evidence,
                state,
            }
        })
        .collect()
}
