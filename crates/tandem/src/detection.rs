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
use tandem_detect::sigma::SigmaRules;
use tandem_identity::Identity;
use tandem_model::Finding;
use tandem_pipeline::pipeline::{Origin, Pipeline};
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

/// Where rules switched off are remembered.
const DISABLED: &str = "detect.disabled_rules";

/// Rule directories added on the console's settings page (a JSON list of paths).
const ADDED_DIRS: &str = "detect.rule_dirs";

/// Where rules come from before the console adds any: the shipped rules (written to
/// `<data_dir>/rules/tandem`) and `[detect] sigma_dirs`, each with its origin.
pub fn rule_dirs(
    config: &DetectConfig,
    data_dir: &Path,
) -> anyhow::Result<Vec<(PathBuf, &'static str)>> {
    let mut dirs = Vec::new();
    if config.shipped_rules {
        let shipped = data_dir.join("rules").join("tandem");
        tandem_detect::shipped::install(&shipped)
            .with_context(|| format!("cannot write the shipped rules to {}", shipped.display()))?;
        dirs.push((shipped, "shipped"));
    }
    dirs.extend(config.sigma_dirs.iter().map(|d| (d.clone(), "config")));
    Ok(dirs)
}

/// Rule directories added on the console.
fn added_dirs(store: &dyn StateStore) -> anyhow::Result<Vec<PathBuf>> {
    Ok(store
        .get_state(ADDED_DIRS)?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

/// Every rule directory in force, with its origin: `base` (see [`rule_dirs`]), then those
/// added on the console.
fn all_dirs(
    base: &[(PathBuf, &'static str)],
    store: &dyn StateStore,
) -> anyhow::Result<Vec<(PathBuf, &'static str)>> {
    let mut dirs = base.to_vec();
    dirs.extend(added_dirs(store)?.into_iter().map(|d| (d, "console")));
    Ok(dirs)
}

fn paths(dirs: Vec<(PathBuf, &'static str)>) -> Vec<PathBuf> {
    dirs.into_iter().map(|(d, _)| d).collect()
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

/// Builds the detector and restores the state a previous run saved.
pub fn build(
    config: &DetectConfig,
    data_dir: &std::path::Path,
    store: &dyn StateStore,
) -> anyhow::Result<Option<Arc<Detector>>> {
    if !config.enabled {
        return Ok(None);
    }
    let dirs = paths(all_dirs(&rule_dirs(config, data_dir)?, store)?);
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

/// Stores findings raised outside an ingest batch (by a tick) through the pipeline, which
/// stores them and then shows them on the live monitor, which only ever shows what is stored.
fn store_findings(pipeline: &Pipeline, dir: &tandem_identity::Directory, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let events: Vec<_> = findings.iter().map(|f| dir.finding_event(f)).collect();
    if let Err(e) = pipeline.commit_internal(events, Origin::Findings) {
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
                store_findings(&live, &dir, &findings);
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

/// Rule management for the API and the console: the detector, where its rules come from,
/// and where switches and added directories are remembered.
pub struct RuleAdmin<S> {
    pub detector: Arc<Detector>,
    pub store: Arc<S>,
    /// The shipped and configured directories, with their origin.
    pub base_dirs: Vec<(PathBuf, &'static str)>,
}

impl<S: StateStore> RuleAdmin<S> {
    fn all_dirs(&self) -> anyhow::Result<Vec<(PathBuf, &'static str)>> {
        all_dirs(&self.base_dirs, self.store.as_ref())
    }

    /// Loads every directory again with the remembered switches, and swaps the set in
    /// (correlation state carries over).
    fn reload_all(&self) -> anyhow::Result<tandem_detect::sigma::LoadReport> {
        let dirs = paths(self.all_dirs()?);
        let disabled = disabled_rules(self.store.as_ref())?;
        let (rules, report) = SigmaRules::load(&dirs, &disabled);
        self.detector.replace_sigma(rules);
        Ok(report)
    }

    fn set_added(&self, dirs: &[PathBuf]) -> anyhow::Result<()> {
        self.store
            .put_state(ADDED_DIRS, &serde_json::to_string(dirs)?)?;
        Ok(())
    }
}

fn load_summary(report: &tandem_detect::sigma::LoadReport) -> serde_json::Value {
    serde_json::json!({
        "detection_rules": report.detection_rules,
        "correlation_rules": report.correlation_rules,
        "disabled": report.disabled,
        "issues": report.issues.iter().map(|i| serde_json::json!({
            "path": i.path, "rule": i.rule, "reason": i.reason,
        })).collect::<Vec<_>>(),
    })
}

fn issue_line(i: &tandem_detect::sigma::LoadIssue) -> String {
    match &i.rule {
        Some(rule) => format!("{} ({rule}): {}", i.path.display(), i.reason),
        None => format!("{}: {}", i.path.display(), i.reason),
    }
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
        let switch = || -> anyhow::Result<()> {
            let mut disabled = disabled_rules(self.store.as_ref())?;
            if enabled {
                disabled.remove(id);
            } else {
                disabled.insert(id.to_owned());
            }
            self.store
                .put_state(DISABLED, &serde_json::to_string(&disabled)?)?;
            self.reload_all()?;
            Ok(())
        };
        switch().map_err(|e| format!("{e:#}"))
    }

    fn reload(&self) -> Result<serde_json::Value, String> {
        self.reload_all()
            .map(|r| load_summary(&r))
            .map_err(|e| format!("{e:#}"))
    }

    fn source(&self, id: &str) -> Option<String> {
        let info = self
            .detector
            .sigma()
            .rules()
            .into_iter()
            .find(|r| r.id == id)?;
        std::fs::read_to_string(&info.path).ok()
    }

    fn test(&self, text: &str, events: &[tandem_model::Event]) -> tandem_web::RuleTest {
        let (rules, report) = SigmaRules::from_text("draft", text);
        tandem_web::RuleTest {
            rules: report.detection_rules + report.correlation_rules,
            issues: report
                .issues
                .iter()
                .map(|i| match &i.rule {
                    Some(rule) => format!("{rule}: {}", i.reason),
                    None => i.reason.clone(),
                })
                .collect(),
            findings: rules.replay(events),
        }
    }

    fn directories(&self) -> Vec<tandem_web::RuleDirectory> {
        let sigma = self.detector.sigma();
        let infos = sigma.rules();
        let dirs = self.all_dirs().unwrap_or_else(|_| self.base_dirs.clone());
        dirs.into_iter()
            .map(|(path, origin)| tandem_web::RuleDirectory {
                rules: infos.iter().filter(|i| i.path.starts_with(&path)).count(),
                issues: sigma
                    .issues()
                    .iter()
                    .filter(|i| i.path.starts_with(&path))
                    .map(issue_line)
                    .collect(),
                path,
                origin,
            })
            .collect()
    }

    fn add_directory(&self, path: &Path) -> Result<serde_json::Value, String> {
        if !path.is_absolute() {
            return Err(format!(
                "`{}` is not a full path; give the whole path on the server, starting with /",
                path.display()
            ));
        }
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read `{}` on the server: {e}", path.display()))?;
        if meta.is_dir() {
            std::fs::read_dir(path)
                .map_err(|e| format!("cannot list `{}` on the server: {e}", path.display()))?;
        }
        let add = || -> anyhow::Result<serde_json::Value> {
            if self.all_dirs()?.iter().any(|(d, _)| d == path) {
                anyhow::bail!("`{}` is already a rule directory", path.display());
            }
            let mut added = added_dirs(self.store.as_ref())?;
            added.push(path.to_owned());
            self.set_added(&added)?;
            let report = self.reload_all()?;
            let mut summary = load_summary(&report);
            summary["from_directory"] = self
                .detector
                .sigma()
                .rules()
                .iter()
                .filter(|i| i.path.starts_with(path))
                .count()
                .into();
            Ok(summary)
        };
        add().map_err(|e| format!("{e:#}"))
    }

    fn remove_directory(&self, path: &Path) -> Result<serde_json::Value, String> {
        let remove = || -> anyhow::Result<serde_json::Value> {
            let mut added = added_dirs(self.store.as_ref())?;
            let before = added.len();
            added.retain(|d| d != path);
            if added.len() == before {
                anyhow::bail!(
                    "`{}` was not added on the console; directories from tandem.toml are changed there",
                    path.display()
                );
            }
            self.set_added(&added)?;
            Ok(load_summary(&self.reload_all()?))
        };
        remove().map_err(|e| format!("{e:#}"))
    }
}
