//! The detection stage as the server runs it: building the detector from the configuration,
//! restoring its state, the once-a-minute tick (absence detections, eviction, state saves)
//! and the final save at shutdown.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tandem_detect::Detector;
use tandem_detect::admin::{self, Origin};
use tandem_detect::sigma::SigmaRules;
use tandem_identity::Identity;
use tandem_model::Finding;
use tandem_pipeline::pipeline::{Origin as EventOrigin, Pipeline};
use tandem_store::{EventStore, StateStore};
use tokio::sync::watch;

/// `[detect]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectConfig {
    /// Turns the whole detection stage off (ingest only).
    pub enabled: bool,
    /// Seconds between ticks (absence detections, state eviction, state saves).
    pub tick_seconds: u64,
    /// Directories (or files) of Sigma rules to load besides Tandem's shipped rules, e.g. a
    /// checkout of the SigmaHQ corpus and the site's own rules.
    pub sigma_dirs: Vec<std::path::PathBuf>,
    /// Load the Sigma rules Tandem ships (written to `<data_dir>/rules/tandem` at start).
    pub shipped_rules: bool,
    /// The converged IT-and-physical detections and their parameters
    /// (`[detect.native.tailgating] window_seconds = 10`, …; docs/detection/native.md).
    pub native: tandem_detect::native::NativeConfig,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            enabled: true,
            tick_seconds: 60,
            sigma_dirs: Vec::new(),
            shipped_rules: true,
            native: tandem_detect::native::NativeConfig::default(),
        }
    }
}

/// Where the detector's state is kept in the store.
const STATE: &str = "detect";

/// Where rules come from before the console adds any: the shipped rules (written to
/// `<data_dir>/rules/tandem`) and `[detect] sigma_dirs`, each with its origin.
pub fn rule_dirs(config: &DetectConfig, data_dir: &Path) -> anyhow::Result<Vec<(PathBuf, Origin)>> {
    let mut dirs = Vec::new();
    if config.shipped_rules {
        let shipped = data_dir.join("rules").join("tandem");
        tandem_detect::shipped::install(&shipped)
            .with_context(|| format!("cannot write the shipped rules to {}", shipped.display()))?;
        dirs.push((shipped, Origin::Shipped));
    }
    dirs.extend(
        config
            .sigma_dirs
            .iter()
            .map(|d| (d.clone(), Origin::Config)),
    );
    Ok(dirs)
}

/// Loads the Sigma rules, logging what could not be loaded.
pub fn load_sigma(dirs: &[std::path::PathBuf], disabled: &HashSet<String>) -> SigmaRules {
    let (rules, report) = SigmaRules::load(dirs, disabled);
    tracing::info!(
        detection = report.detection_rules,
        correlation = report.correlation_rules,
        disabled = report.disabled,
        issues = report.issues.len(),
        "Sigma rules loaded"
    );
    for issue in report.issues.iter().take(20) {
        tracing::warn!(path = %issue.path.display(), rule = ?issue.rule, reason = %issue.reason, "Sigma rule not loaded");
    }
    rules
}

/// Builds the detector and restores the state a previous run saved.
pub fn build(
    config: &DetectConfig,
    data_dir: &std::path::Path,
    store: &dyn StateStore,
) -> anyhow::Result<Option<Arc<Detector>>> {
    if !config.enabled {
        return Ok(None);
    }
    let settings = crate::rule_admin::StateSettings(store);
    let dirs: Vec<PathBuf> = admin::all_dirs(&rule_dirs(config, data_dir)?, &settings)?
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    let sigma = load_sigma(&dirs, &admin::disabled_rules(&settings)?);
    let detector = Detector::new(sigma, tandem_detect::native::detections(&config.native));
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

/// Stores findings raised outside an ingest batch (by a tick) through the pipeline, which
/// stores them and then shows them on the live monitor, which only ever shows what is stored.
fn store_findings(pipeline: &Pipeline, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let events: Vec<_> = findings.iter().map(Finding::to_event).collect();
    if let Err(e) = pipeline.commit_internal(events, EventOrigin::Findings) {
        tracing::error!(error = %e, "findings not stored");
    }
}

/// The tick loop, until shutdown; saves the state once more on the way out.
pub async fn run_ticks<S: EventStore + StateStore>(
    detector: Arc<Detector>,
    identity: Arc<Identity>,
    store: Arc<S>,
    live: Arc<Pipeline>,
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
        let (detector, identity, store, live) = (
            detector.clone(),
            identity.clone(),
            store.clone(),
            live.clone(),
        );
        let done = tokio::task::spawn_blocking(move || {
            if !stopping {
                let dir = identity.snapshot();
                let findings = detector.tick(chrono::Utc::now(), &dir);
                store_findings(&live, &findings);
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
