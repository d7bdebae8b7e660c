//! Training completions and policy acknowledgements, for the KPIs' participation per
//! department.
//!
//! Kept in a small table of their own rather than on the directory's people: a completion is
//! a dated fact that accumulates (one row per course taken, per policy signed), not a state
//! of the person, and writing it into the person's record would add a version of every
//! person at each import to the history investigators read. The table is keyed by
//! (person, kind, item, completed), so importing the same file again adds nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// What a record says the person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingKind {
    /// Completed a training course.
    Training,
    /// Acknowledged a policy.
    Policy,
}

impl TrainingKind {
    pub const fn code(self) -> &'static str {
        match self {
            TrainingKind::Training => "training",
            TrainingKind::Policy => "policy",
        }
    }

    /// `training`/`course` or `policy`/`acknowledgement`, ignoring case.
    pub fn parse(s: &str) -> Option<TrainingKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "training" | "course" => Some(TrainingKind::Training),
            "policy" | "acknowledgement" | "acknowledgment" => Some(TrainingKind::Policy),
            _ => None,
        }
    }
}

/// One completion or acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// The directory's person id.
    pub person: String,
    pub kind: TrainingKind,
    /// The course or policy (`security-awareness-2025`, `acceptable-use`).
    pub item: String,
    pub completed: DateTime<Utc>,
    /// Where it came from (`csv:<file>`, `api:<user>`).
    pub origin: String,
}

/// The training table.
pub trait TrainingStore: Send + Sync + 'static {
    /// Adds records; those already kept (same person, kind, item and time) are skipped.
    /// Returns how many were new.
    fn put_training(&self, records: &[TrainingRecord]) -> Result<usize, StoreError>;
    /// Records completed in `[from, to)`, oldest first.
    fn training(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TrainingRecord>, StoreError>;
}
