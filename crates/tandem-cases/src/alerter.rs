//! Findings become alerts: dedup, folding across detections, suppression, exceptions, and
//! the hand-over of new alerts to incidents and risk.

use serde::{Deserialize, Serialize};
use tandem_model::Timestamp;

use crate::risk::RiskScore;
use crate::{Alert, CaseError};

/// What the alerts stage does with one rule's findings. Defaults apply to rules without an
/// entry of their own (`[alerts.rules."<rule id>"]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertPolicy {
    /// Findings with the same dedup key within this many minutes of the alert's last finding
    /// fold into it.
    pub dedup_window_minutes: u32,
    /// Optional suppression: after an alert is raised, findings of the rule with the same
    /// values of `group_by` (at most three event fields) within the window are counted on it
    /// as suppressed.
    pub suppress: Option<Suppression>,
    /// The lowest severity whose alerts open an incident (lower ones add only to risk).
    pub incident_min_severity: String,
    /// Whether a new alert reopens a closed incident it would have joined.
    pub reopen_closed: bool,
    /// Points an alert of the rule adds to its entities' risk; by severity when not set.
    pub risk_points: Option<f64>,
    /// The playbook its incidents use, instead of the one the playbooks select.
    pub playbook: Option<String>,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        AlertPolicy {
            dedup_window_minutes: 60,
            suppress: None,
            incident_min_severity: "medium".into(),
            reopen_closed: false,
            risk_points: None,
            playbook: None,
        }
    }
}

/// A per-rule suppression window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    pub window_minutes: u32,
    /// Event fields (`actor.person`, `place.door`, `src.ip`), at most three.
    #[serde(default)]
    pub group_by: Vec<String>,
}

/// Where new alerts go next: the incidents stage. A trait so the alerts stage is tested on
/// its own, and implemented by [`crate::incidents::Incidents`].
pub trait IncidentIntake: Send + Sync {
    /// A new alert (or one whose severity rose): it joins an open incident sharing an entity
    /// within the lookback, reopens a closed one when `policy.reopen_closed`, or opens one
    /// from the playbook its rules select when its severity reaches
    /// `policy.incident_min_severity`. Returns the incident it belongs to now, if any.
    fn alert_raised(
        &self,
        alert: &Alert,
        policy: &AlertPolicy,
        now: Timestamp,
    ) -> Result<Option<String>, CaseError>;

    /// An entity's risk crossed the threshold: an incident of the `risk` kind about it,
    /// unless an open one is about it already. Returns that incident.
    fn risk_crossed(&self, score: &RiskScore, now: Timestamp) -> Result<Option<String>, CaseError>;
}

/// The alerts stage: turns stored findings into alerts.
pub struct Alerter {}
