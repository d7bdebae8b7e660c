//! An alert: one situation that deserves a person's attention, however many findings said so.

use serde::{Deserialize, Serialize};
use tandem_model::{Entities, Place, Severity, Timestamp, Ulid};

/// Where an alert is in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    New,
    Acknowledged,
    InProgress,
    Closed,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 4] = [
        AlertStatus::New,
        AlertStatus::Acknowledged,
        AlertStatus::InProgress,
        AlertStatus::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::InProgress => "in_progress",
            AlertStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<AlertStatus> {
        AlertStatus::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// How a closed alert or incident turned out. The KPIs exclude some of them (false positive,
/// duplicate) by default; the rules page shows each rule's false-positive ratio from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    TruePositive,
    FalsePositive,
    Benign,
    Duplicate,
    Indeterminate,
}

impl Resolution {
    pub const ALL: [Resolution; 5] = [
        Resolution::TruePositive,
        Resolution::FalsePositive,
        Resolution::Benign,
        Resolution::Duplicate,
        Resolution::Indeterminate,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Resolution::TruePositive => "true_positive",
            Resolution::FalsePositive => "false_positive",
            Resolution::Benign => "benign",
            Resolution::Duplicate => "duplicate",
            Resolution::Indeterminate => "indeterminate",
        }
    }

    pub fn parse(s: &str) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// One detection that contributed to an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    pub rule_id: String,
    pub title: String,
    /// `native`, `sigma`, `sigma_correlation`.
    pub engine: String,
    /// Findings of this rule folded into the alert.
    pub findings: u64,
}

/// An alert as the queue shows it. Stored as a [`tandem_store::CaseRecord`] of kind `alert`
/// (this struct is its `doc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `ALR-<n>`.
    pub id: String,
    pub version: u64,
    /// The first finding's rule title.
    pub title: String,
    /// The latest finding's summary, in plain words.
    pub summary: String,
    /// The highest severity of its findings.
    pub severity: Severity,
    pub status: AlertStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Every detection that said so (native and Sigma fold into one alert).
    pub rules: Vec<AlertRule>,
    pub dedup_key: String,
    /// The dedup keys of other detections folded into it, so their repeats fold here too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_keys: Vec<String>,
    /// Findings folded in.
    pub count: u64,
    /// Findings held back by the rule's suppression window (counted here, never dropped
    /// silently; each is still stored as a finding).
    #[serde(default)]
    pub suppressed: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    #[serde(default)]
    pub entities: Entities,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// Evidence event ids, oldest first, at most [`MAX_EVIDENCE`].
    #[serde(default)]
    pub evidence: Vec<Ulid>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The incident the alert belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// What this alert adds to its entities' risk (before the person's criticality).
    #[serde(default)]
    pub risk: f64,
    /// The values of its rule's suppression `group_by` fields, joined: later findings of the
    /// rule with the same values within the window are counted here as suppressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_key: Option<String>,
    /// Who raised it by hand or from another system (`POST /api/v1/alerts`); none for alerts
    /// raised from findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raised_by: Option<String>,
}

/// The store tag of an alert assigned to `who`, which the queue's assignee filter asks for.
pub fn assignee_tag(who: &str) -> String {
    format!("assignee:{who}")
}

/// Most evidence ids an alert keeps; a noisy situation keeps its first ones (the findings
/// themselves are all linked in the store).
pub const MAX_EVIDENCE: usize = 100;

impl Alert {
    /// The entities the store indexes the alert by (`person:<id>`, `device:<id>`, …).
    pub fn entity_keys(&self) -> Vec<String> {
        crate::entity_keys(&self.entities, self.place.as_ref())
    }

    /// The alert as the store keeps it.
    pub fn to_record(&self, opened: tandem_model::Timestamp) -> tandem_store::CaseRecord {
        tandem_store::CaseRecord {
            kind: tandem_store::CaseKind::Alert,
            id: self.id.clone(),
            version: self.version,
            status: self.status.code().to_owned(),
            resolution: self.resolution.map(|r| r.code().to_owned()),
            severity: self.severity.uid().min(255) as u8,
            key: Some(self.dedup_key.clone()),
            parent: self.incident.clone(),
            departments: Vec::new(),
            entities: self.entity_keys(),
            rules: self.rules.iter().map(|r| r.rule_id.clone()).collect(),
            sites: self.entities.sites.clone(),
            opened,
            updated: self.last_seen,
            tags: self
                .assignee
                .as_deref()
                .map(assignee_tag)
                .into_iter()
                .collect(),
            due: None,
            items: Vec::new(),
            doc: serde_json::to_value(self).unwrap_or_default(),
        }
    }

    /// The alert a stored record holds, its version the record's.
    pub fn from_record(record: &tandem_store::CaseRecord) -> Result<Alert, crate::CaseError> {
        let mut alert = Alert::deserialize(&record.doc)
            .map_err(|e| crate::CaseError::Refused(format!("{} is unreadable: {e}", record.id)))?;
        alert.version = record.version;
        Ok(alert)
    }
}
