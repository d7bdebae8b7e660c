//! The compliance module as the server holds it: the library in force, where evidence is
//! read from and kept, and the three things done with it (measure and snapshot, show, export).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tandem_cases::kpi::KpiConfig;
use tandem_store::{
    CaseStore, ComplianceStore, EventStore, EvidenceRecord, StoreError, verify_evidence_chain,
};

use crate::measure::{self, Facts, Sources};
use crate::soa::{self, ControlView};
use crate::{Library, export};

/// Snapshots read at most by one export or chain check.
const MAX_SNAPSHOTS: usize = 1_000_000;

/// Everything the compliance pages, API, tick and export need.
pub struct Compliance {
    pub library: Arc<Library>,
    pub events: Arc<dyn EventStore>,
    pub cases: Arc<dyn CaseStore>,
    pub store: Arc<dyn ComplianceStore>,
    pub facts: Arc<dyn Facts>,
    pub kpis: Arc<KpiConfig>,
}

/// What checking the snapshots' chain found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChainCheck {
    pub intact: bool,
    pub snapshots: u64,
    pub broken_at: Option<u64>,
    pub reason: Option<String>,
}

impl ChainCheck {
    pub fn describe(&self) -> String {
        match (self.intact, self.broken_at, &self.reason) {
            (true, ..) => format!(
                "all {} snapshots verified, each carries the hash of the one before",
                self.snapshots
            ),
            (false, Some(seq), Some(reason)) => {
                format!(
                    "BROKEN at snapshot {seq}: {reason}; snapshots from there on cannot be trusted"
                )
            }
            _ => "BROKEN".into(),
        }
    }
}

impl Compliance {
    /// Measures every evidence definition (or only `only`'s) at `now` and appends the
    /// snapshots, in one transaction.
    pub fn collect(
        &self,
        only: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<EvidenceRecord>, StoreError> {
        let src = Sources {
            events: self.events.as_ref(),
            cases: self.cases.as_ref(),
            facts: self.facts.as_ref(),
            kpis: &self.kpis,
        };
        let inputs: Vec<_> = self
            .library
            .evidence
            .iter()
            .filter(|d| only.is_none_or(|ids| ids.contains(&d.id)))
            .map(|d| measure::measure(d, &src, now))
            .collect();
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        self.store.append_evidence(now, &inputs)
    }

    /// Every control of `framework` with its row and latest evidence; `None` for a
    /// framework no catalogue has.
    pub fn controls(&self, framework: &str) -> Result<Option<Vec<ControlView>>, StoreError> {
        if self.library.catalogue(framework).is_none() {
            return Ok(None);
        }
        let rows = self.store.controls(framework)?;
        let latest = self.store.latest_evidence()?;
        Ok(Some(soa::view(&self.library, framework, &rows, &latest)))
    }

    /// Reads the whole chain of snapshots and checks it.
    pub fn verify(&self) -> Result<(ChainCheck, Vec<EvidenceRecord>), StoreError> {
        let log = self.store.evidence_log(0, MAX_SNAPSHOTS)?;
        let check = match verify_evidence_chain(&log) {
            Ok(n) => ChainCheck {
                intact: true,
                snapshots: n,
                broken_at: None,
                reason: None,
            },
            Err(b) => ChainCheck {
                intact: false,
                snapshots: log.len() as u64,
                broken_at: Some(b.seq),
                reason: Some(b.reason),
            },
        };
        Ok((check, log))
    }

    /// The auditor's bundle of `framework`; `None` for a framework no catalogue has.
    pub fn export(
        &self,
        framework: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, ExportFailed> {
        let Some(catalogue) = self.library.catalogue(framework) else {
            return Ok(None);
        };
        let Some(controls) = self.controls(framework)? else {
            return Ok(None);
        };
        let (check, log) = self.verify()?;
        let mut history: BTreeMap<String, Vec<EvidenceRecord>> = BTreeMap::new();
        for r in log {
            history.entry(r.input.evidence.clone()).or_default().push(r);
        }
        let bytes = export::bundle(&export::Contents {
            catalogue,
            controls: &controls,
            history: &history,
            generated: now,
            by,
            chain: &check.describe(),
        })?;
        Ok(Some(bytes))
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportFailed {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Write(#[from] export::ExportError),
}
