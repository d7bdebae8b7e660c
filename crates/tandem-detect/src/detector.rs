//! The detection stage as the pipeline runs it: every rule kind over each resolved batch.

use crate::sigma::{SigmaCorrelator, SigmaRules};
use crate::{Detection, Directory, Finding};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use tandem_model::{Event, Timestamp};

/// Findings per rule since start, for the rules page and metrics.
pub type HitCounts = BTreeMap<String, u64>;

/// Runs Sigma rules and the native detections over batches.
///
/// Sigma detection rules are stateless and evaluated without a lock, so concurrent ingest
/// threads share them. Sigma correlations and native detections hold state (windows per
/// group, recent grants per door, open sessions per person), so each runs under its own lock,
/// taken once per batch; the correlator only sees events that some rule matched. One lock per
/// detection rather than one for all lets concurrent batches pass through different
/// detections at the same time instead of queueing behind each other.
pub struct Detector {
    sigma: RwLock<Arc<SigmaRules>>,
    correlator: Mutex<SigmaCorrelator>,
    native: Vec<Mutex<Box<dyn Detection>>>,
    hits: Mutex<HitCounts>,
}

impl Detector {
    pub fn new(sigma: SigmaRules, native: Vec<Box<dyn Detection>>) -> Detector {
        let correlator = SigmaCorrelator::new(&sigma);
        Detector {
            sigma: RwLock::new(Arc::new(sigma)),
            correlator: Mutex::new(correlator),
            native: native.into_iter().map(Mutex::new).collect(),
            hits: Mutex::new(HitCounts::new()),
        }
    }

    /// The Sigma rules in force.
    pub fn sigma(&self) -> Arc<SigmaRules> {
        self.sigma.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the Sigma rule set (a reload, a rule switched on or off) without losing the
    /// correlation windows: the old correlator's state moves into one built for the new set.
    pub fn replace_sigma(&self, rules: SigmaRules) {
        let mut correlator = self.correlator.lock().unwrap_or_else(|p| p.into_inner());
        let state = correlator.export_state();
        let mut next = SigmaCorrelator::new(&rules);
        if let Err(e) = next.import_state(state) {
            tracing::warn!(error = %e, "correlation state not carried over to the new rules");
        }
        *correlator = next;
        *self.sigma.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
    }

    /// Evaluates a batch of resolved events; returns the findings it completes, each placed
    /// at the sites, buildings, zone and door of its evidence ([`crate::locate`]).
    pub fn process(&self, events: &[Event], dir: &Directory) -> Vec<Finding> {
        let mut out = Vec::new();
        let sigma = self.sigma();
        let mut matched = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let m = sigma.matches(e);
            if !m.is_empty() {
                out.extend(sigma.findings_in(e, &m, Some(dir)));
                matched.push((i, m));
            }
        }
        if !matched.is_empty() && sigma.correlation_rule_count() > 0 {
            let mut correlator = self.correlator.lock().unwrap_or_else(|p| p.into_inner());
            for (i, m) in &matched {
                out.extend(correlator.observe_in(&events[*i], m, Some(dir)));
            }
        }
        self.observe_native(events, dir, &mut out);
        crate::locate::locate_all(&mut out, events, dir);
        self.count(&out);
        out
    }

    /// Every native detection over the batch, each under its own lock: whichever detection is
    /// free goes first, and the thread waits only when every remaining one is busy.
    fn observe_native(&self, events: &[Event], dir: &Directory, out: &mut Vec<Finding>) {
        let mut pending: Vec<&Mutex<Box<dyn Detection>>> = self.native.iter().collect();
        while !pending.is_empty() {
            let free = pending.iter().position(|m| match m.try_lock() {
                Ok(mut d) => {
                    observe_all(&mut **d, events, dir, out);
                    true
                }
                Err(std::sync::TryLockError::Poisoned(p)) => {
                    observe_all(&mut **p.into_inner(), events, dir, out);
                    true
                }
                Err(std::sync::TryLockError::WouldBlock) => false,
            });
            let done = match free {
                Some(i) => i,
                None => {
                    observe_all(&mut **lock(pending[0]), events, dir, out);
                    0
                }
            };
            pending.swap_remove(done);
        }
    }

    /// Time passing without events: absence detections and state eviction. Findings are
    /// placed from the places they name, as in [`Detector::process`].
    pub fn tick(&self, now: Timestamp, dir: &Directory) -> Vec<Finding> {
        let mut out = Vec::new();
        self.correlator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .evict(now);
        for d in &self.native {
            lock(d).tick(now, dir, &mut out);
        }
        crate::locate::locate_all(&mut out, &[], dir);
        self.count(&out);
        out
    }

    fn count(&self, findings: &[Finding]) {
        if findings.is_empty() {
            return;
        }
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        for f in findings {
            *hits.entry(f.rule_id.clone()).or_default() += 1;
        }
    }

    pub fn hit_counts(&self) -> HitCounts {
        self.hits.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Every detection's state, keyed by detection id, for persistence.
    pub fn save_state(&self) -> Value {
        let mut map = serde_json::Map::new();
        for d in &self.native {
            let d = lock(d);
            if let Some(s) = d.save_state() {
                map.insert(d.id().to_owned(), s);
            }
        }
        let sigma = self
            .correlator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .export_state();
        serde_json::json!({ "version": 1, "native": map, "sigma_correlations": sigma })
    }

    /// Restores what [`Detector::save_state`] returned; unknown or malformed parts are
    /// ignored (a detection removed from the configuration, an older version).
    pub fn load_state(&self, state: &Value) {
        if let Some(sigma) = state.get("sigma_correlations")
            && let Err(e) = self
                .correlator
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .import_state(sigma.clone())
        {
            tracing::warn!(error = %e, "saved correlation state not restored");
        }
        let Some(map) = state.get("native").and_then(Value::as_object) else {
            return;
        };
        for d in &self.native {
            let mut d = lock(d);
            if let Some(s) = map.get(d.id()) {
                d.load_state(s.clone());
            }
        }
    }
}

fn observe_all(d: &mut dyn Detection, events: &[Event], dir: &Directory, out: &mut Vec<Finding>) {
    for e in events {
        d.observe(e, dir, out);
    }
}

/// A detection that panicked mid-batch keeps its state as it was; detection goes on.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
