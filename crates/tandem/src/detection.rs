//! The detection stage as the server runs it: building the detector from the configuration,
//! restoring its state, the once-a-minute tick (absence detections, eviction, state saves)
//! and the final save at shutdown.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tandem_detect::Detector;
use tandem_identity::Identity;
use tandem_model::Finding;
use tandem_store::{EventStore, StateStore, WriteBatch};
use tokio::sync::watch;

/// `[detect]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectConfig {
    /// Turns the whole detection stage off (ingest only).
    pub enabled: bool,
    /// Seconds between ticks (absence detections, state eviction, state saves).
    pub tick_seconds: u64,
    /// The converged IT-and-physical detections and their parameters
    /// (`[detect.native.tailgating] window_seconds = 10`, …; docs/detection/native.md).
    pub native: tandem_detect::native::NativeConfig,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            enabled: true,
            tick_seconds: 60,
            native: tandem_detect::native::NativeConfig::default(),
        }
    }
}

/// Where the detector's state is kept in the store.
const STATE: &str = "detect";

/// Builds the detector and restores the state a previous run saved.
pub fn build(
    config: &DetectConfig,
    store: &dyn StateStore,
) -> anyhow::Result<Option<Arc<Detector>>> {
    if !config.enabled {
        return Ok(None);
    }
    let detector = Detector::new(tandem_detect::native::detections(&config.native));
    if let Some(saved) = store.get_state(STATE)? {
        match serde_json::from_str(&saved) {
            Ok(state) => detector.load_state(&state),
            Err(e) => {
                tracing::warn!(error = %e, "saved detection state unreadable; starting fresh")
            }
        }
    }
    Ok(Some(Arc::new(detector)))
}

/// Saves the detector's state.
pub fn save(detector: &Detector, store: &dyn StateStore) -> anyhow::Result<()> {
    let state = serde_json::to_string(&detector.save_state())?;
    store
        .put_state(STATE, &state)
        .context("saving detection state")
}

/// Stores findings raised outside an ingest batch (by a tick).
fn store_findings<S: EventStore + ?Sized>(store: &S, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let events = findings.iter().map(Finding::to_event).collect();
    match store.submit(WriteBatch::events(events)) {
        Ok(commit) => {
            if let Err(e) = commit.wait() {
                tracing::error!(error = %e, "findings not stored");
            }
        }
        Err(e) => tracing::error!(error = %e, "findings not stored"),
    }
}

/// The tick loop, until shutdown; saves the state once more on the way out.
pub async fn run_ticks<S: EventStore + StateStore>(
    detector: Arc<Detector>,
    identity: Arc<Identity>,
    store: Arc<S>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(every);
    interval.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = interval.tick() => false,
            _ = shutdown.changed() => true,
        };
        let (detector, identity, store) = (detector.clone(), identity.clone(), store.clone());
        let done = tokio::task::spawn_blocking(move || {
            if !stopping {
                let findings = detector.tick(chrono::Utc::now(), &identity.snapshot());
                store_findings(store.as_ref(), &findings);
            }
            if let Err(e) = save(&detector, store.as_ref()) {
                tracing::error!(error = %e, "detection state not saved");
            }
        })
        .await;
        if done.is_err() || stopping {
            return;
        }
    }
}
