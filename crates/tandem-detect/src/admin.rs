//! Rule administration: listing the rules with their hits, switching Sigma rules on and off,
//! reloading, adding and removing rule directories, and trying a draft on events. What the
//! API, the console and the command line do to rules, with typed results; they keep only
//! the translation to their own wire shapes.
//!
//! Switches and added directories are remembered in [`RuleSettings`], a small key-value
//! place the server backs with the store's state, so this crate knows nothing of storage.

use crate::Detector;
use crate::sigma::{LoadIssue, LoadReport, RuleInfo, SigmaRules};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tandem_model::{Event, Finding};

/// Where rules switched off are remembered (a JSON list of rule ids).
pub const DISABLED_KEY: &str = "detect.disabled_rules";

/// Where rule directories added on the console are remembered (a JSON list of paths).
pub const ADDED_DIRS_KEY: &str = "detect.rule_dirs";

/// Why a settings read or write failed, as the backing place reports it.
pub type SettingsError = Box<dyn std::error::Error + Send + Sync>;

/// Where rule switches and added directories are remembered across restarts.
pub trait RuleSettings: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<String>, SettingsError>;
    fn put(&self, key: &str, value: &str) -> Result<(), SettingsError>;
}

/// Why a rule change was refused or failed. The messages are for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum RuleAdminError {
    #[error("no Sigma rule `{0}` (native detections are switched in [detect.native])")]
    UnknownRule(String),
    #[error(
        "`{}` is not a full path; give the whole path on the server, starting with /",
        .0.display()
    )]
    RelativePath(PathBuf),
    #[error("cannot read `{}` on the server: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot list `{}` on the server: {source}", .path.display())]
    Unlistable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is already a rule directory", .0.display())]
    AlreadyAdded(PathBuf),
    #[error(
        "`{}` was not added on the console; directories from tandem.toml are changed there",
        .0.display()
    )]
    NotAdded(PathBuf),
    /// A path that cannot be written down as JSON (not UTF-8).
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
    #[error("{0}")]
    Settings(SettingsError),
}

/// Where a rule directory comes from, which says where it is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The rules Tandem ships.
    Shipped,
    /// `[detect] sigma_dirs` in tandem.toml.
    Config,
    /// Added on the console's settings page: the only kind the console removes.
    Console,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Shipped => "shipped",
            Origin::Config => "config",
            Origin::Console => "console",
        }
    }
}

/// One rule as listed: a Sigma rule with what it says of itself, or a native detection.
#[derive(Debug, Clone)]
pub enum ListedRule {
    Sigma { info: Box<RuleInfo>, hits: u64 },
    Native { id: &'static str, hits: u64 },
}

/// One place rules are read from, with what it gave.
#[derive(Debug, Clone)]
pub struct RuleDirectory {
    pub path: PathBuf,
    pub origin: Origin,
    /// Rules read from it, switched on or not.
    pub rules: usize,
    /// Files and rules in it that could not be used, one line each.
    pub issues: Vec<String>,
}

/// What trying a draft rule text on events gave.
#[derive(Debug, Clone)]
pub struct DraftTest {
    /// Detection and correlation rules the text held.
    pub rules: usize,
    /// What in the text could not be used, one line each.
    pub issues: Vec<String>,
    /// What the rules would have raised, oldest first.
    pub findings: Vec<Finding>,
}

/// What adding a directory gave: the reload's report and the rules the directory holds.
#[derive(Debug, Clone)]
pub struct DirectoryAdded {
    pub report: LoadReport,
    pub from_directory: usize,
}

/// Rule ids switched off by users. An unreadable entry counts as none switched off.
pub fn disabled_rules(settings: &dyn RuleSettings) -> Result<HashSet<String>, RuleAdminError> {
    read_list(settings, DISABLED_KEY)
}

/// Rule directories added on the console.
pub fn added_dirs(settings: &dyn RuleSettings) -> Result<Vec<PathBuf>, RuleAdminError> {
    read_list(settings, ADDED_DIRS_KEY)
}

/// Every rule directory in force, with its origin: `base` (shipped and configured), then
/// those added on the console.
pub fn all_dirs(
    base: &[(PathBuf, Origin)],
    settings: &dyn RuleSettings,
) -> Result<Vec<(PathBuf, Origin)>, RuleAdminError> {
    let mut dirs = base.to_vec();
    dirs.extend(
        added_dirs(settings)?
            .into_iter()
            .map(|d| (d, Origin::Console)),
    );
    Ok(dirs)
}

fn read_list<T: serde::de::DeserializeOwned + Default>(
    settings: &dyn RuleSettings,
    key: &str,
) -> Result<T, RuleAdminError> {
    Ok(settings
        .get(key)
        .map_err(RuleAdminError::Settings)?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

fn write<T: serde::Serialize>(
    settings: &dyn RuleSettings,
    key: &str,
    value: &T,
) -> Result<(), RuleAdminError> {
    settings
        .put(key, &serde_json::to_string(value)?)
        .map_err(RuleAdminError::Settings)
}

/// `path (rule): reason`, one line per issue.
pub fn issue_line(i: &LoadIssue) -> String {
    match &i.rule {
        Some(rule) => format!("{} ({rule}): {}", i.path.display(), i.reason),
        None => format!("{}: {}", i.path.display(), i.reason),
    }
}

/// Rule management over a running detector: where its rules come from, and where switches
/// and added directories are remembered.
pub struct RuleAdmin {
    pub detector: Arc<Detector>,
    pub settings: Arc<dyn RuleSettings>,
    /// The shipped and configured directories, with their origin.
    pub base_dirs: Vec<(PathBuf, Origin)>,
}

impl RuleAdmin {
    fn all_dirs(&self) -> Result<Vec<(PathBuf, Origin)>, RuleAdminError> {
        all_dirs(&self.base_dirs, self.settings.as_ref())
    }

    /// Every rule, Sigma then native, with its hit count.
    pub fn list(&self) -> Vec<ListedRule> {
        let hits = self.detector.hit_counts();
        let count = |id: &str| hits.get(id).copied().unwrap_or(0);
        let mut rules: Vec<ListedRule> = self
            .detector
            .sigma()
            .rules()
            .into_iter()
            .map(|info| ListedRule::Sigma {
                hits: count(&info.id),
                info: Box::new(info),
            })
            .collect();
        rules.extend(crate::native::RULE_IDS.iter().map(|id| ListedRule::Native {
            id,
            hits: count(id),
        }));
        rules
    }

    /// Loads every directory again with the remembered switches, and swaps the set in
    /// (correlation state carries over).
    pub fn reload(&self) -> Result<LoadReport, RuleAdminError> {
        let dirs: Vec<PathBuf> = self.all_dirs()?.into_iter().map(|(d, _)| d).collect();
        let disabled = disabled_rules(self.settings.as_ref())?;
        let (rules, report) = SigmaRules::load(&dirs, &disabled);
        self.detector.replace_sigma(rules);
        Ok(report)
    }

    /// Switches a Sigma rule on or off, remembered across restarts, and reloads.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), RuleAdminError> {
        if !self.detector.sigma().rules().iter().any(|r| r.id == id) {
            return Err(RuleAdminError::UnknownRule(id.to_owned()));
        }
        let mut disabled = disabled_rules(self.settings.as_ref())?;
        if enabled {
            disabled.remove(id);
        } else {
            disabled.insert(id.to_owned());
        }
        write(self.settings.as_ref(), DISABLED_KEY, &disabled)?;
        self.reload()?;
        Ok(())
    }

    /// The Sigma text of the file a loaded rule came from: where a test starts.
    pub fn source(&self, id: &str) -> Option<String> {
        let info = self
            .detector
            .sigma()
            .rules()
            .into_iter()
            .find(|r| r.id == id)?;
        std::fs::read_to_string(&info.path).ok()
    }

    /// Loads `text` as a rule set of its own and replays it over `events` (any order).
    /// Nothing live changes: no findings are stored, no state or hit count moves.
    pub fn test(&self, text: &str, events: &[Event]) -> DraftTest {
        let (rules, report) = SigmaRules::from_text("draft", text);
        DraftTest {
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

    /// Where rules are read from, with what each gave.
    pub fn directories(&self) -> Vec<RuleDirectory> {
        let sigma = self.detector.sigma();
        let infos = sigma.rules();
        let dirs = self.all_dirs().unwrap_or_else(|_| self.base_dirs.clone());
        dirs.into_iter()
            .map(|(path, origin)| RuleDirectory {
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

    /// Adds a directory (or file) of rules on the server's disk, remembered across restarts,
    /// and reloads. The path must be absolute and readable by the server.
    pub fn add_directory(&self, path: &Path) -> Result<DirectoryAdded, RuleAdminError> {
        if !path.is_absolute() {
            return Err(RuleAdminError::RelativePath(path.to_owned()));
        }
        let meta = std::fs::metadata(path).map_err(|source| RuleAdminError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            std::fs::read_dir(path).map_err(|source| RuleAdminError::Unlistable {
                path: path.to_owned(),
                source,
            })?;
        }
        if self.all_dirs()?.iter().any(|(d, _)| d == path) {
            return Err(RuleAdminError::AlreadyAdded(path.to_owned()));
        }
        let mut added = added_dirs(self.settings.as_ref())?;
        added.push(path.to_owned());
        write(self.settings.as_ref(), ADDED_DIRS_KEY, &added)?;
        let report = self.reload()?;
        let from_directory = self
            .detector
            .sigma()
            .rules()
            .iter()
            .filter(|i| i.path.starts_with(path))
            .count();
        Ok(DirectoryAdded {
            report,
            from_directory,
        })
    }

    /// Removes a directory added with [`RuleAdmin::add_directory`] and reloads.
    pub fn remove_directory(&self, path: &Path) -> Result<LoadReport, RuleAdminError> {
        let mut added = added_dirs(self.settings.as_ref())?;
        let before = added.len();
        added.retain(|d| d != path);
        if added.len() == before {
            return Err(RuleAdminError::NotAdded(path.to_owned()));
        }
        write(self.settings.as_ref(), ADDED_DIRS_KEY, &added)?;
        self.reload()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Memory(Mutex<HashMap<String, String>>);

    impl RuleSettings for Memory {
        fn get(&self, key: &str) -> Result<Option<String>, SettingsError> {
            Ok(self.0.lock().unwrap().get(key).cloned())
        }
        fn put(&self, key: &str, value: &str) -> Result<(), SettingsError> {
            self.0
                .lock()
                .unwrap()
                .insert(key.to_owned(), value.to_owned());
            Ok(())
        }
    }

    const RULE: &str = "title: Whoami\nid: 5f0c5b36-2a5e-4a8f-9a43-0d2d6c7e8a01\nlogsource:\n  product: linux\ndetection:\n  sel:\n    message|contains: whoami\n  condition: sel\nlevel: low\n";

    fn admin(dir: &Path) -> (RuleAdmin, Arc<Memory>) {
        std::fs::write(dir.join("whoami.yml"), RULE).unwrap();
        let settings = Arc::new(Memory::default());
        let (rules, _) = SigmaRules::load(&[dir.to_owned()], &HashSet::new());
        let detector = Arc::new(Detector::new(rules, Vec::new()));
        let admin = RuleAdmin {
            detector,
            settings: settings.clone(),
            base_dirs: vec![(dir.to_owned(), Origin::Config)],
        };
        (admin, settings)
    }

    #[test]
    fn switching_a_rule_is_remembered_and_unknown_rules_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (admin, settings) = admin(tmp.path());
        let id = "5f0c5b36-2a5e-4a8f-9a43-0d2d6c7e8a01";
        admin.set_enabled(id, false).unwrap();
        assert!(disabled_rules(settings.as_ref()).unwrap().contains(id));
        let err = admin.set_enabled("nope", false).unwrap_err();
        assert!(matches!(err, RuleAdminError::UnknownRule(_)));
        assert_eq!(
            err.to_string(),
            "no Sigma rule `nope` (native detections are switched in [detect.native])"
        );
        admin.set_enabled(id, true).unwrap();
        assert!(disabled_rules(settings.as_ref()).unwrap().is_empty());
    }

    #[test]
    fn directories_are_added_once_removed_only_when_added_and_must_be_absolute() {
        let tmp = tempfile::tempdir().unwrap();
        let (admin, _) = admin(tmp.path());
        let extra = tempfile::tempdir().unwrap();
        std::fs::write(
            extra.path().join("r.yml"),
            RULE.replace("Whoami", "Other").replace("8a01", "8a02"),
        )
        .unwrap();
        assert!(matches!(
            admin.add_directory(Path::new("rules")),
            Err(RuleAdminError::RelativePath(_))
        ));
        assert!(matches!(
            admin.add_directory(tmp.path()),
            Err(RuleAdminError::AlreadyAdded(_))
        ));
        assert!(matches!(
            admin.remove_directory(tmp.path()),
            Err(RuleAdminError::NotAdded(_))
        ));
        let added = admin.add_directory(extra.path()).unwrap();
        assert_eq!(added.from_directory, 1);
        let dirs = admin.directories();
        assert_eq!(dirs.len(), 2);
        assert_eq!(dirs[1].origin, Origin::Console);
        let report = admin.remove_directory(extra.path()).unwrap();
        assert_eq!(report.detection_rules, 1);
    }
}
