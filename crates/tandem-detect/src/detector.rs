//! The detection stage as the pipeline runs it: every rule kind over each resolved batch.

use crate::{Detection, Directory, Finding};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tandem_model::{Event, Timestamp};

/// Findings per rule since start, for the rules page and metrics.
pub type HitCounts = BTreeMap<String, u64>;

/// Runs the stateful native detections (and, once configured, Sigma rules) over batches.
///
/// Native detections hold state (recent grants per door, open sessions per person), so they
/// run under one lock; each call handles a whole batch, so the lock is taken once per batch,
/// not per event.
pub struct Detector {
    native: Mutex<Vec<Box<dyn Detection>>>,
    hits: Mutex<HitCounts>,
}

impl Detector {
    pub fn new(native: Vec<Box<dyn Detection>>) -> Detector {
        Detector {
            native: Mutex::new(native),
            hits: Mutex::new(HitCounts::new()),
        }
    }

    /// Evaluates a batch of resolved events; returns the findings it completes.
    pub fn process(&self, events: &[Event], dir: &Directory) -> Vec<Finding> {
        let mut out = Vec::new();
        {
            let mut native = self.native.lock().unwrap_or_else(|p| p.into_inner());
            for e in events {
                for d in native.iter_mut() {
                    d.observe(e, dir, &mut out);
                }
            }
        }
        self.count(&out);
        out
    }

    /// Time passing without events: absence detections and state eviction.
    pub fn tick(&self, now: Timestamp, dir: &Directory) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut native = self.native.lock().unwrap_or_else(|p| p.into_inner());
        for d in native.iter_mut() {
            d.tick(now, dir, &mut out);
        }
        drop(native);
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
        let native = self.native.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = serde_json::Map::new();
        for d in native.iter() {
            if let Some(s) = d.save_state() {
                map.insert(d.id().to_owned(), s);
            }
        }
        serde_json::json!({ "version": 1, "native": map })
    }

    /// Restores what [`Detector::save_state`] returned; unknown or malformed parts are
    /// ignored (a detection removed from the configuration, an older version).
    pub fn load_state(&self, state: &Value) {
        let Some(map) = state.get("native").and_then(Value::as_object) else {
            return;
        };
        let mut native = self.native.lock().unwrap_or_else(|p| p.into_inner());
        for d in native.iter_mut() {
            if let Some(s) = map.get(d.id()) {
                d.load_state(s.clone());
            }
        }
    }
}
