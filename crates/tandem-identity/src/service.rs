//! The directory as a running service: persisted changes, a snapshot for readers, and the
//! per-source counters of identifiers that did not resolve.

use crate::{Directory, IdentityError, Unresolved};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use tandem_model::Event;
use tandem_store::{DirectoryChange, DirectoryStore};

/// How many different unknown identifiers are remembered per source, so a source sending
/// random ids cannot grow memory without bound; past it only known ones are still counted
/// (the per-kind totals stay exact).
pub const MAX_UNKNOWN_PER_SOURCE: usize = 1_000;

/// How many of the most frequent unknown identifiers a report lists per kind of record.
pub const TOP_UNKNOWN: usize = 10;

/// Longest identifier value remembered; longer ones are cut (at a character boundary).
const MAX_VALUE_LEN: usize = 128;

/// What one source sent that the directory does not know, so an operator sees at once that a
/// source is half-mapped.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Gaps {
    pub events: u64,
    /// Events of a physical class (physical access, camera detection, device status or
    /// telemetry), which should all have a place.
    pub physical_events: u64,
    /// Events that named someone the directory does not know.
    pub person: u64,
    /// Events whose account is a well-known account that is not a person (SYSTEM,
    /// `LOCAL SERVICE`, `HOST$`, root, …): counted here, not as unknown people, so they do
    /// not drown the real gaps.
    pub non_person: u64,
    /// Events by service accounts: accounts the directory holds as service accounts, and
    /// service principals or managed identities (an Entra application signing in as
    /// itself). Counted apart from people; `resolution.service_account` says how many the
    /// directory does not hold and lists their app ids.
    pub service_accounts: u64,
    /// Events that named a device the directory does not know.
    pub device: u64,
    /// Events without a known place: they named one that matched nothing, or are physical
    /// and named none.
    pub place: u64,
    /// Per kind of record (`person`, `device`, `place`, `service_account`): how many events it applied to, how
    /// many did not resolve and which identifiers were missing.
    pub resolution: BTreeMap<&'static str, KindGaps>,
}

/// Resolution of one kind of record for one source.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct KindGaps {
    /// Events that named such a record (for places: also physical events that named none).
    pub events: u64,
    pub unresolved: u64,
    /// `unresolved / events`, 0 when no event applied.
    pub unresolved_share: f64,
    /// Unresolved events per kind of identifier (`badge`, `verkada door id`, `none`, …).
    pub by_identifier: BTreeMap<String, u64>,
    /// The most frequent unknown identifiers, most frequent first.
    pub top_unknown: Vec<UnknownCount>,
}

/// One unknown identifier and how many events carried it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownCount {
    pub identifier: String,
    pub value: String,
    pub events: u64,
}

/// The running counters behind [`Gaps`].
#[derive(Debug, Default)]
struct SourceGaps {
    events: u64,
    physical_events: u64,
    non_person: u64,
    service_accounts: u64,
    kinds: BTreeMap<&'static str, KindCounts>,
    unknown_values: usize,
}

#[derive(Debug, Default)]
struct KindCounts {
    events: u64,
    unresolved: u64,
    by_identifier: BTreeMap<String, u64>,
    values: std::collections::HashMap<(String, String), u64>,
}

impl SourceGaps {
    fn add(&mut self, physical: bool, u: &Unresolved) {
        self.events += 1;
        self.physical_events += physical as u64;
        self.non_person += u.non_person as u64;
        self.service_accounts += u.names_service_account as u64;
        for (kind, applies, unresolved) in [
            ("person", u.names_person, u.person),
            ("device", u.names_device, u.device),
            ("place", u.needs_place, u.place),
            (
                "service_account",
                u.names_service_account,
                u.service_account,
            ),
        ] {
            let k = self.kinds.entry(kind).or_default();
            k.events += applies as u64;
            k.unresolved += unresolved as u64;
        }
        for id in &u.unknown {
            let k = self.kinds.entry(id.record).or_default();
            *k.by_identifier.entry(id.identifier.clone()).or_default() += 1;
            let mut value = id.value.clone();
            if value.len() > MAX_VALUE_LEN {
                let mut end = MAX_VALUE_LEN;
                while !value.is_char_boundary(end) {
                    end -= 1;
                }
                value.truncate(end);
            }
            let key = (id.identifier.clone(), value);
            if let Some(n) = k.values.get_mut(&key) {
                *n += 1;
            } else if self.unknown_values < MAX_UNKNOWN_PER_SOURCE {
                k.values.insert(key, 1);
                self.unknown_values += 1;
            }
        }
    }

    fn report(&self) -> Gaps {
        let mut out = Gaps {
            events: self.events,
            physical_events: self.physical_events,
            non_person: self.non_person,
            service_accounts: self.service_accounts,
            ..Gaps::default()
        };
        for kind in ["person", "device", "place", "service_account"] {
            let Some(k) = self.kinds.get(kind) else {
                out.resolution.insert(kind, KindGaps::default());
                continue;
            };
            let mut top: Vec<UnknownCount> = k
                .values
                .iter()
                .map(|((identifier, value), n)| UnknownCount {
                    identifier: identifier.clone(),
                    value: value.clone(),
                    events: *n,
                })
                .collect();
            top.sort_by(|a, b| {
                b.events
                    .cmp(&a.events)
                    .then_with(|| (&a.identifier, &a.value).cmp(&(&b.identifier, &b.value)))
            });
            top.truncate(TOP_UNKNOWN);
            match kind {
                "person" => out.person = k.unresolved,
                "device" => out.device = k.unresolved,
                "place" => out.place = k.unresolved,
                _ => {}
            }
            out.resolution.insert(
                kind,
                KindGaps {
                    events: k.events,
                    unresolved: k.unresolved,
                    unresolved_share: if k.events == 0 {
                        0.0
                    } else {
                        k.unresolved as f64 / k.events as f64
                    },
                    by_identifier: k.by_identifier.clone(),
                    top_unknown: top,
                },
            );
        }
        out
    }
}

pub struct Identity {
    store: Arc<dyn DirectoryStore>,
    current: RwLock<Arc<Directory>>,
    /// Serialises writers so each applies its changes to the directory it read.
    writer: Mutex<()>,
    gaps: Mutex<BTreeMap<String, SourceGaps>>,
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

    /// Resolves a batch of events from `source` against one snapshot, and returns that
    /// snapshot: whatever runs next on the batch (detection, placing findings) must read the
    /// directory its events were resolved with, not a newer one a change published meanwhile.
    pub fn resolve_batch(&self, source: &str, events: &mut [Event]) -> Arc<Directory> {
        let dir = self.snapshot();
        let outcomes: Vec<(bool, Unresolved)> = events
            .iter_mut()
            .map(|e| {
                let u = dir.resolve(e);
                (crate::resolve::is_physical(e.class), u)
            })
            .collect();
        let mut all = self.gaps.lock().unwrap_or_else(|p| p.into_inner());
        let g = all.entry(source.to_owned()).or_default();
        for (physical, u) in &outcomes {
            g.add(*physical, u);
        }
        dir
    }

    /// Unresolved identifiers per source since start.
    pub fn gaps(&self) -> BTreeMap<String, Gaps> {
        self.gaps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, g)| (name.clone(), g.report()))
            .collect()
    }
}
