//! A detection's output: what fired, on which evidence, about whom.

use crate::{Activity, Class, Event, Outcome, Severity, Timestamp, Ulid};
use serde::{Deserialize, Serialize};

/// The people, devices, places and addresses a finding is about (directory ids where the
/// evidence resolved, raw identifiers otherwise), so findings can be joined to a person's
/// timeline and weighed by the alerts stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Entities {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub persons: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub places: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

/// A rule's hit. Stored as an [`Event`] of class `detection_finding` (OCSF 2004), so findings
/// are searched, retained and shown like every other event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id: a Sigma rule's `id`, or `tandem.<name>` for native detections.
    pub rule_id: String,
    pub rule_title: String,
    /// `sigma`, `sigma_correlation` or `native`.
    pub engine: String,
    pub severity: Severity,
    /// ATT&CK and physical-security tags (`attack.t1078`, `attack.initial_access`,
    /// `physical.tailgating`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// When it happened: the time of the latest evidence event.
    pub time: Timestamp,
    /// One sentence for people: "Badge 10077 of Bjørn Lie (terminated 2026-03-01) used at
    /// Server room door".
    pub summary: String,
    /// Ids of the events that make the case, oldest first.
    pub evidence: Vec<Ulid>,
    #[serde(default)]
    pub entities: Entities,
    /// Findings with the same key describe the same situation; the alerts stage merges them.
    pub dedup_key: String,
    /// For scored detections (behaviour baselines): how unusual, 0.0–1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Rule-specific detail (distances, windows, counts).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

/// The source name findings are stored under.
pub const FINDINGS_SOURCE: &str = "tandem-detect";

impl Finding {
    /// The finding as a `detection_finding` event: `message` is the summary, the actor the
    /// first person, and `attrs.finding` the whole finding (its places included).
    pub fn to_event(&self) -> Event {
        let mut e = Event::new(
            FINDINGS_SOURCE,
            Class::DetectionFinding,
            Activity::Detect,
            self.time,
        );
        e.severity = self.severity;
        e.outcome = Outcome::Unknown;
        e.message = self.summary.clone();
        e.source.vendor = Some("Tandem".into());
        e.source.product = Some("Tandem detection".into());
        if let Some(p) = self.entities.persons.first() {
            e.actor.person = Some(crate::PersonRef {
                id: p.clone(),
                name: None,
                method: "finding".into(),
                confidence: 1.0,
                status: None,
                department: None,
            });
        }
        if let Some(u) = self.entities.users.first() {
            e.actor.user = Some(u.clone());
        }
        // The place stays empty here: only the directory knows whether a place id is a
        // door, a building or a zone (`Directory::finding_event` fills each level).
        e.labels.insert("rule.id".into(), self.rule_id.clone());
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) {
            e.attrs
                .insert("finding".into(), serde_json::Value::Object(map));
        }
        e
    }

    /// Reads a finding back from its event.
    pub fn from_event(event: &Event) -> Option<Finding> {
        serde_json::from_value(event.attrs.get("finding")?.clone()).ok()
    }
}
