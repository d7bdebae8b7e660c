//! Rule administration as the server offers it: `tandem_detect::admin` does the work with
//! typed results; this module backs its settings with the store's state and turns its
//! answers into the web crate's shapes (JSON bodies, error text for a 400).

use serde_json::{Value, json};
use std::path::Path;
use tandem_detect::admin::{ListedRule, RuleAdmin, RuleAdminError, RuleSettings, SettingsError};
use tandem_detect::sigma::LoadReport;
use tandem_store::StateStore;

/// The store's named state as the place rule switches and added directories are kept.
pub struct StateSettings<T>(pub T);

impl<T> RuleSettings for StateSettings<T>
where
    T: std::ops::Deref + Send + Sync,
    T::Target: StateStore,
{
    fn get(&self, key: &str) -> Result<Option<String>, SettingsError> {
        Ok(self.0.get_state(key)?)
    }

    fn put(&self, key: &str, value: &str) -> Result<(), SettingsError> {
        Ok(self.0.put_state(key, value)?)
    }
}

/// [`RuleAdmin`] behind the web crate's [`tandem_web::RuleControl`].
pub struct WebRules(pub RuleAdmin);

fn load_summary(report: &LoadReport) -> Value {
    json!({
        "detection_rules": report.detection_rules,
        "correlation_rules": report.correlation_rules,
        "disabled": report.disabled,
        "issues": report.issues.iter().map(|i| json!({
            "path": i.path, "rule": i.rule, "reason": i.reason,
        })).collect::<Vec<_>>(),
    })
}

fn text(e: RuleAdminError) -> String {
    e.to_string()
}

impl tandem_web::RuleControl for WebRules {
    fn list(&self) -> Value {
        let rules: Vec<Value> = self
            .0
            .list()
            .into_iter()
            .map(|rule| match rule {
                ListedRule::Sigma { info, hits } => {
                    let mut v = serde_json::to_value(&info).unwrap_or_default();
                    v["engine"] = "sigma".into();
                    v["hits"] = hits.into();
                    v
                }
                ListedRule::Native { id, hits } => json!({
                    "id": id, "title": id, "engine": "native", "enabled": true, "hits": hits,
                }),
            })
            .collect();
        json!({ "rules": rules })
    }

    fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), String> {
        self.0.set_enabled(id, enabled).map_err(text)
    }

    fn reload(&self) -> Result<Value, String> {
        self.0.reload().map(|r| load_summary(&r)).map_err(text)
    }

    fn source(&self, id: &str) -> Option<String> {
        self.0.source(id)
    }

    fn test(&self, text: &str, events: &[tandem_model::Event]) -> tandem_web::RuleTest {
        let t = self.0.test(text, events);
        tandem_web::RuleTest {
            rules: t.rules,
            issues: t.issues,
            findings: t.findings,
        }
    }

    fn directories(&self) -> Vec<tandem_web::RuleDirectory> {
        self.0
            .directories()
            .into_iter()
            .map(|d| tandem_web::RuleDirectory {
                path: d.path,
                origin: d.origin.as_str(),
                rules: d.rules,
                issues: d.issues,
            })
            .collect()
    }

    fn add_directory(&self, path: &Path) -> Result<Value, String> {
        let added = self.0.add_directory(path).map_err(text)?;
        let mut summary = load_summary(&added.report);
        summary["from_directory"] = added.from_directory.into();
        Ok(summary)
    }

    fn remove_directory(&self, path: &Path) -> Result<Value, String> {
        self.0
            .remove_directory(path)
            .map(|r| load_summary(&r))
            .map_err(text)
    }
}
