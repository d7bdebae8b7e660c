//! Risk per person and device: every alert adds to its entities' score, with diminishing
//! returns, scaled by the entity's criticality from the directory; crossing the threshold
//! opens an incident.

use serde::{Deserialize, Serialize};
use tandem_model::Timestamp;

/// One alert's part of an entity's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub alert: String,
    pub rule_id: String,
    /// The alert's points before ranking.
    pub points: f64,
    /// The weight its rank gave it (1/rank^1.5).
    pub weight: f64,
    pub time: Timestamp,
}

/// An entity's score and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskScore {
    /// `person:<id>` or `device:<id>`.
    pub entity: String,
    pub score: f64,
    pub threshold: f64,
    /// The directory's criticality multiplier applied.
    pub criticality: f64,
    pub contributions: Vec<Contribution>,
}
