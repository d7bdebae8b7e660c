//! Evidence files: attached to a task or to the incident itself, kept by their SHA-256 in
//! the file store, and read back only through the incident that holds them.

use serde_json::json;
use sha2::{Digest, Sha256};
use tandem_model::Timestamp;
use tandem_store::StoredFile;

use crate::incident::EvidenceFile;
use crate::{Actor, CaseError, Incident};

use super::*;

/// The longest evidence file name kept, in bytes.
const MAX_NAME: usize = 200;

impl Incidents {
    /// Checks a file against the limits and stores it by its SHA-256. Files are stored
    /// before the incident changes; a file without a reference costs nothing and is stored
    /// only once.
    pub(super) fn store_evidence(
        &self,
        name: &str,
        content_type: &str,
        bytes: &[u8],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<EvidenceFile, CaseError> {
        let limit = self.config.max_evidence_mib * 1024 * 1024;
        if bytes.len() as u64 > limit {
            return Err(CaseError::Refused(format!(
                "the file is {} bytes; evidence files may be at most {} MiB",
                bytes.len(),
                self.config.max_evidence_mib
            )));
        }
        if bytes.is_empty() {
            return Err(CaseError::Refused("the file is empty".into()));
        }
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_NAME {
            return Err(CaseError::Refused(format!(
                "an evidence file needs a name of at most {MAX_NAME} characters"
            )));
        }
        let sha256: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let content_type = if content_type.trim().is_empty() {
            "application/octet-stream".to_owned()
        } else {
            content_type.trim().to_owned()
        };
        self.files.put_file(&StoredFile {
            sha256: sha256.clone(),
            content_type: content_type.clone(),
            bytes: bytes.to_vec(),
        })?;
        Ok(EvidenceFile {
            name: name.to_owned(),
            sha256,
            size: bytes.len() as u64,
            content_type,
            added_by: actor.to_owned(),
            time: now,
            task: None,
            item: None,
        })
    }

    /// Attaches a file to the incident itself rather than to one of its tasks (a report, a
    /// photo that concerns every department).
    #[allow(clippy::too_many_arguments)]
    pub fn attach(
        &self,
        id: &str,
        base_version: Option<u64>,
        name: &str,
        content_type: &str,
        bytes: &[u8],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, CaseError> {
        let now = micros(now);
        let (inc, _) = self.load(id)?;
        if inc.status.is_closed() {
            return Err(CaseError::Refused(format!("{} is closed", inc.id)));
        }
        let file = self.store_evidence(name, content_type, bytes, actor, now)?;
        self.update(id, base_version, actor, now, |inc, ch| {
            if inc.status.is_closed() {
                return Err(CaseError::Refused(format!("{} is closed", inc.id)));
            }
            ch.note(
                "evidence",
                json!({"name": file.name, "sha256": file.sha256, "size": file.size}),
            );
            inc.evidence.push(file);
            Ok(())
        })
    }

    /// One of the incident's evidence files with its bytes. Only files the incident holds
    /// are read: knowing a hash is not enough to read a file through another incident.
    pub fn evidence_file(
        &self,
        id: &str,
        sha256: &str,
    ) -> Result<(Incident, EvidenceFile, StoredFile), CaseError> {
        let (inc, _) = self.load(id)?;
        let not_found = || CaseError::NotFound {
            kind: "evidence file",
            id: format!("{id}/{sha256}"),
        };
        let file = inc
            .evidence
            .iter()
            .find(|e| e.sha256 == sha256)
            .cloned()
            .ok_or_else(not_found)?;
        let stored = self.files.file(sha256)?.ok_or_else(not_found)?;
        Ok((inc, file, stored))
    }
}
