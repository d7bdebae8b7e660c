//! The detection stage as the server runs it: building the detector from the configuration,
//! restoring its state, the once-a-minute tick (absence detections, eviction, state saves)
//! and the final save at shutdown.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tandem_detect::Detector;
use tandem_detect::sigma::SigmaRules;
use tandem_identity::Identity;
use tandem_ingest::pipeline::Pipeline;
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

/// Where rules switched off are remembered.
const DISABLED: &str = "detect.disabled_rules";

/// The rule directories in force: the shipped rules (installed under the data directory)
/// first, then the configured ones.
pub fn rule_dirs(
    config: &DetectConfig,
    data_dir: &std::path::Path,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut dirs = Vec::new();
    if config.shipped_rules {
        let shipped = data_dir.join("rules").join("tandem");
        tandem_detect::shipped::install(&shipped)
            .with_context(|| format!("cannot write the shipped rules to {}", shipped.display()))?;
        dirs.push(shipped);
    }
    dirs.extend(config.sigma_dirs.iter().cloned());
    Ok(dirs)
}

/// Rule ids switched off by users.
pub fn disabled_rules(store: &dyn StateStore) -> anyhow::Result<HashSet<String>> {
    Ok(store
        .get_state(DISABLED)?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
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

/// Switches a rule on or off, remembers it, and reloads the rule set.
pub fn set_rule_enabled(
    detector: &Detector,
    store: &dyn StateStore,
    dirs: &[std::path::PathBuf],
    id: &str,
    enabled: bool,
) -> anyhow::Result<()> {
    let mut disabled = disabled_rules(store)?;
    if enabled {
        disabled.remove(id);
    } else {
        disabled.insert(id.to_owned());
    }
    store.put_state(DISABLED, &serde_json::to_string(&disabled)?)?;
    detector.replace_sigma(load_sigma(dirs, &disabled));
    Ok(())
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
    let dirs = rule_dirs(config, data_dir)?;
    let sigma = load_sigma(&dirs, &disabled_rules(store)?);
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

/// Stores findings raised outside an ingest batch (by a tick), then shows them on the live
/// monitor (`live`, the pipeline's feed), which only ever shows what is stored.
fn store_findings<S: EventStore + ?Sized>(store: &S, live: &Pipeline, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let events: Vec<_> = findings.iter().map(Finding::to_event).collect();
    match store.submit(WriteBatch::events(events.clone())) {
        Ok(commit) => match commit.wait() {
            Ok(_) => live.publish(events),
            Err(e) => tracing::error!(error = %e, "findings not stored"),
        },
        Err(e) => tracing::error!(error = %e, "findings not stored"),
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
                let findings = detector.tick(chrono::Utc::now(), &identity.snapshot());
                store_findings(store.as_ref(), &live, &findings);
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

/// Rule management for the API: the detector, where its rules come from, and where switches
/// are remembered.
pub struct RuleAdmin<S> {
    pub detector: Arc<Detector>,
    pub store: Arc<S>,
    pub dirs: Vec<std::path::PathBuf>,
}

impl<S: StateStore> tandem_web::RuleControl for RuleAdmin<S> {
    fn list(&self) -> serde_json::Value {
        let hits = self.detector.hit_counts();
        let mut rules: Vec<serde_json::Value> = self
            .detector
            .sigma()
            .rules()
            .into_iter()
            .map(|r| {
                let mut v = serde_json::to_value(&r).unwrap_or_default();
                v["engine"] = "sigma".into();
                v["hits"] = hits.get(&r.id).copied().unwrap_or(0).into();
                v
            })
            .collect();
        for id in tandem_detect::native::RULE_IDS {
            rules.push(serde_json::json!({
                "id": id, "title": id, "engine": "native", "enabled": true,
                "hits": hits.get(*id).copied().unwrap_or(0),
            }));
        }
        serde_json::json!({ "rules": rules })
    }

    fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), String> {
        if !self.detector.sigma().rules().iter().any(|r| r.id == id) {
            return Err(format!(
                "no Sigma rule `{id}` (native detections are switched in [detect.native])"
            ));
        }
        set_rule_enabled(&self.detector, self.store.as_ref(), &self.dirs, id, enabled)
            .map_err(|e| format!("{e:#}"))
    }

    fn reload(&self) -> Result<serde_json::Value, String> {
        let disabled = disabled_rules(self.store.as_ref()).map_err(|e| format!("{e:#}"))?;
        let (rules, report) = SigmaRules::load(&self.dirs, &disabled);
        let summary = serde_json::json!({
            "detection_rules": report.detection_rules,
            "correlation_rules": report.correlation_rules,
            "disabled": report.disabled,
            "issues": report.issues.iter().map(|i| serde_json::json!({
                "path": i.path, "rule": i.rule, "reason": i.reason,
            })).collect::<Vec<_>>(),
        });
        self.detector.replace_sigma(rules);
        Ok(summary)
    }
}
