//! What the compliance module keeps: the Statement of Applicability (one row per control of a
//! framework) and the evidence snapshots, an append-only hash chain like the audit log.
//!
//! The Statement of Applicability is a small table of its own rather than case records: its
//! rows are keyed by framework and control id, a few hundred at most, changed rarely and as a
//! whole row (last write wins, with the version a writer saw), and need no timeline, SLA or
//! department scoping; who changed what is in the audit log. Evidence snapshots are facts
//! Tandem measured at a time: they are only ever appended, and each hashes its predecessor
//! with the audit log's [`crate::chain_hash`], so a snapshot rewritten in the file shows
//! ([`verify_evidence_chain`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ChainBreak, StoreError, chain_hash, check_link};

/// One control's row of the Statement of Applicability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlRecord {
    /// The catalogue's framework id (`iso27001-2022`).
    pub framework: String,
    /// The control's id in it (`A.5.24`).
    pub control: String,
    /// The department that owns the control (a department code, or empty).
    pub owner: String,
    /// Whether the control applies to the organisation.
    pub applicable: bool,
    /// Why it applies or not, in the owner's words.
    pub justification: String,
    /// Implementation status (`not_started`, `planned`, `partial`, `implemented`).
    pub status: String,
    /// Who changed it last, and when; the version counts changes.
    pub updated_by: String,
    pub updated: DateTime<Utc>,
    pub version: u64,
}

/// A measurement to append: which evidence, what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceInput {
    /// The evidence definition's id.
    pub evidence: String,
    /// `pass`, `fail`, `unavailable` or `error`.
    pub status: String,
    /// The figure measured, when there is one.
    pub value: Option<f64>,
    /// Everything else: the controls, the definition's text, the figures behind the value.
    pub detail: serde_json::Value,
}

/// An evidence snapshot as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    pub seq: u64,
    pub time: DateTime<Utc>,
    #[serde(flatten)]
    pub input: EvidenceInput,
    pub prev_hash: String,
    pub hash: String,
}

/// The Statement of Applicability and the evidence snapshots.
pub trait ComplianceStore: Send + Sync + 'static {
    /// Every stored row of `framework`'s Statement of Applicability (controls never edited
    /// have none).
    fn controls(&self, framework: &str) -> Result<Vec<ControlRecord>, StoreError>;
    /// Writes a row if the stored one is still at `record.version` (0: none stored yet);
    /// the row stored, at the next version. [`StoreError::Conflict`] when someone else
    /// changed it first.
    fn put_control(&self, record: &ControlRecord) -> Result<ControlRecord, StoreError>;
    /// Appends snapshots taken at `time`, chained after the last one, in one transaction.
    fn append_evidence(
        &self,
        time: DateTime<Utc>,
        items: &[EvidenceInput],
    ) -> Result<Vec<EvidenceRecord>, StoreError>;
    /// The newest snapshots of one evidence definition, newest first.
    fn evidence_history(
        &self,
        evidence: &str,
        limit: usize,
    ) -> Result<Vec<EvidenceRecord>, StoreError>;
    /// The newest snapshot of every evidence definition ever measured.
    fn latest_evidence(&self) -> Result<Vec<EvidenceRecord>, StoreError>;
    /// Snapshots with `seq > after`, oldest first (verification and export).
    fn evidence_log(&self, after: u64, limit: usize) -> Result<Vec<EvidenceRecord>, StoreError>;
}

/// The hash of a snapshot: the audit log's [`chain_hash`] over the previous hash and every
/// stored field.
pub fn evidence_hash(
    prev_hash: &str,
    seq: u64,
    time: DateTime<Utc>,
    input: &EvidenceInput,
) -> String {
    chain_hash(&[
        prev_hash,
        &seq.to_string(),
        &time.timestamp_micros().to_string(),
        &input.evidence,
        &input.status,
        &input.value.map(|v| v.to_string()).unwrap_or_default(),
        &input.detail.to_string(),
    ])
}

/// Checks a run of snapshots from the first: numbers without gaps, each linked to its
/// predecessor, each hash matching its fields. How many verified.
pub fn verify_evidence_chain(log: &[EvidenceRecord]) -> Result<u64, ChainBreak> {
    let mut prev = crate::sqlite::AUDIT_GENESIS.to_owned();
    for (i, r) in log.iter().enumerate() {
        let recomputed = evidence_hash(&r.prev_hash, r.seq, r.time, &r.input);
        check_link(
            i as u64 + 1,
            r.seq,
            &r.prev_hash,
            &prev,
            &r.hash,
            &recomputed,
        )
        .map_err(|reason| ChainBreak { seq: r.seq, reason })?;
        prev = r.hash.clone();
    }
    Ok(log.len() as u64)
}
