//! The directory as a running service: persisted changes, a snapshot for readers, and the
//! per-source counters of identifiers that did not resolve.

use crate::{Directory, IdentityError, Unresolved};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use tandem_model::Event;
use tandem_store::{DirectoryChange, DirectoryStore};

/// Identifiers a source sent that the directory does not know, so gaps are visible.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gaps {
    pub events: u64,
    pub person: u64,
    pub device: u64,
    pub place: u64,
}

pub struct Identity {
    store: Arc<dyn DirectoryStore>,
    current: RwLock<Arc<Directory>>,
    /// Serialises writers so each applies its changes to the directory it read.
    writer: Mutex<()>,
    gaps: Mutex<BTreeMap<String, Gaps>>,
}

impl Identity {
    /// Loads the directory by replaying the store's change log.
    pub fn open(store: Arc<dyn DirectoryStore>) -> Result<Identity, IdentityError> {
        let mut dir = Directory::default();
        let changes = store.directory_changes(0)?;
        dir.apply(&changes)?;
        tracing::info!(
            changes = changes.len(),
            people = dir.people().len(),
            "identity directory loaded"
        );
        Ok(Identity {
            store,
            current: RwLock::new(Arc::new(dir)),
            writer: Mutex::new(()),
            gaps: Mutex::new(BTreeMap::new()),
        })
    }

    /// The directory as it is now; readers keep using it while writers publish a new one.
    pub fn snapshot(&self) -> Arc<Directory> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Persists `changes`, then publishes the directory with them applied. Changes are
    /// validated by applying them to a copy first, so a bad change is refused before it is
    /// stored and the log never holds a change that cannot be replayed.
    pub fn commit(
        &self,
        mut changes: Vec<DirectoryChange>,
    ) -> Result<Arc<Directory>, IdentityError> {
        let _writing = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = (*self.snapshot()).clone();
        if changes.is_empty() {
            return Ok(self.snapshot());
        }
        // Give the trial run provisional sequence numbers in order, as the store will.
        let base = next.last_seq();
        for (i, c) in changes.iter_mut().enumerate() {
            c.seq = base + 1 + i as u64;
        }
        next.clone().apply(&changes)?;
        self.store.append_directory(&mut changes)?;
        next.apply(&changes)?;
        let next = Arc::new(next);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = next.clone();
        Ok(next)
    }

    /// Resolves a batch of events from `source` against one snapshot.
    pub fn resolve_batch(&self, source: &str, events: &mut [Event]) {
        let dir = self.snapshot();
        let mut gaps = Gaps::default();
        for e in events.iter_mut() {
            let Unresolved {
                person,
                device,
                place,
            } = dir.resolve(e);
            gaps.events += 1;
            gaps.person += person as u64;
            gaps.device += device as u64;
            gaps.place += place as u64;
        }
        let mut all = self.gaps.lock().unwrap_or_else(|p| p.into_inner());
        let g = all.entry(source.to_owned()).or_default();
        g.events += gaps.events;
        g.person += gaps.person;
        g.device += gaps.device;
        g.place += gaps.place;
    }

    /// Unresolved identifiers per source since start.
    pub fn gaps(&self) -> BTreeMap<String, Gaps> {
        self.gaps.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
