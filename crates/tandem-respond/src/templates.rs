//! The templates messages are written from: shipped with Tandem (`templates/` in this
//! crate), each overridable by a file of the same name in `[notify] templates_dir`.
//!
//! In `.json` templates every `{{ value }}` is written as a JSON value (strings quoted and
//! escaped), so a finding's summary full of quotes cannot break a webhook's body; `.html`
//! escapes for HTML; `.txt` writes text as it is. Every rendered JSON body is parsed before
//! it is queued, so an edited template that writes broken JSON is refused at start, not at
//! 3 a.m.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use crate::route::{Notice, kind_title};

/// The shipped templates, by the name an override uses.
pub const SHIPPED: &[(&str, &str)] = &[
    ("webhook.json", include_str!("../templates/webhook.json")),
    ("slack.json", include_str!("../templates/slack.json")),
    ("teams.json", include_str!("../templates/teams.json")),
    (
        "email_subject.txt",
        include_str!("../templates/email_subject.txt"),
    ),
    ("email.txt", include_str!("../templates/email.txt")),
    ("email.html", include_str!("../templates/email.html")),
];

/// Items a digest lists by name; the rest are counted.
pub const DIGEST_ITEMS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template {name}: {source}")]
    Syntax {
        name: String,
        source: minijinja::Error,
    },
    #[error("template {name} does not write valid JSON: {source}")]
    NotJson {
        name: String,
        source: serde_json::Error,
    },
}

/// The loaded set.
pub struct Templates {
    env: Environment<'static>,
}

/// What every template sees.
#[derive(Debug, Clone, Serialize)]
pub struct MessageContext {
    pub kind: String,
    pub kind_title: String,
    pub headline: String,
    pub case_id: String,
    pub title: String,
    pub summary: String,
    pub severity: String,
    pub departments: Vec<String>,
    pub sites: Vec<String>,
    pub task: Option<String>,
    /// The console page, absolute.
    pub link: String,
    /// RFC 3339.
    pub time: String,
    pub digest: bool,
    /// Notifications this message stands for (1 unless a digest).
    pub count: usize,
    /// A digest's notifications (at most [`DIGEST_ITEMS`]).
    pub items: Vec<DigestItem>,
    /// A digest's notifications beyond those listed.
    pub more: usize,
    /// A digest's items as Slack mrkdwn lines with links.
    pub lines: Vec<String>,
    /// A digest's items as plain lines with their links.
    pub plain_lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DigestItem {
    pub kind: String,
    pub kind_title: String,
    pub case_id: String,
    pub title: String,
    pub severity: String,
    pub link: String,
    pub time: String,
}

impl MessageContext {
    /// One notification; `base` is the console's public URL.
    pub fn single(notice: &Notice, base: &str) -> MessageContext {
        MessageContext {
            kind: notice.kind.clone(),
            kind_title: kind_title(&notice.kind).to_owned(),
            headline: notice.headline(),
            case_id: notice.case_id.clone(),
            title: notice.title.clone(),
            summary: notice.summary.clone(),
            severity: notice.severity.clone(),
            departments: notice.departments.clone(),
            sites: notice.sites.clone(),
            task: notice.task.clone(),
            link: format!("{}{}", base.trim_end_matches('/'), notice.path),
            time: notice.time.to_rfc3339(),
            digest: false,
            count: 1,
            items: Vec::new(),
            more: 0,
            lines: Vec::new(),
            plain_lines: Vec::new(),
        }
    }

    /// A digest of `items` (all of them; the first [`DIGEST_ITEMS`] are listed), linking
    /// to `link`.
    pub fn digest(items: &[DigestItem], link: String, time: chrono::DateTime<chrono::Utc>) -> Self {
        let listed = &items[..items.len().min(DIGEST_ITEMS)];
        let mut kinds: Vec<&str> = Vec::new();
        for i in items {
            if !kinds.contains(&i.kind_title.as_str()) {
                kinds.push(&i.kind_title);
            }
        }
        let severity = items
            .iter()
            .filter_map(|i| i.severity.parse::<tandem_model::Severity>().ok())
            .max_by_key(|s| s.uid())
            .map(|s| s.name().to_owned())
            .unwrap_or_default();
        MessageContext {
            kind: "digest".into(),
            kind_title: "Digest".into(),
            headline: format!(
                "{} notification{}: {}",
                items.len(),
                if items.len() == 1 { "" } else { "s" },
                kinds.join(", ")
            ),
            case_id: String::new(),
            title: String::new(),
            summary: String::new(),
            severity,
            departments: Vec::new(),
            sites: Vec::new(),
            task: None,
            link,
            time: time.to_rfc3339(),
            digest: true,
            count: items.len(),
            more: items.len() - listed.len(),
            lines: listed
                .iter()
                .map(|i| {
                    format!(
                        "• <{}|{}> {}: {}",
                        i.link,
                        slack_escape(&i.case_id),
                        i.kind_title,
                        slack_escape(&i.title)
                    )
                })
                .collect(),
            plain_lines: listed
                .iter()
                .map(|i| format!("{} {}: {} ({})", i.case_id, i.kind_title, i.title, i.link))
                .collect(),
            items: listed.to_vec(),
        }
    }
}

/// Slack's mrkdwn treats `<`, `>` and `&` as markup.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `truncate(n)`: at most `n` characters, an ellipsis when cut.
fn truncate(value: String, n: usize) -> String {
    if value.chars().count() <= n {
        return value;
    }
    let mut out: String = value.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl Templates {
    /// The shipped templates, each replaced by `dir/<name>` when that file exists. Every
    /// template is compiled and tried on a sample message now.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.add_filter("truncate", truncate);
        for (name, shipped) in SHIPPED {
            let text = match dir.map(|d| d.join(name)) {
                Some(path) if path.exists() => {
                    std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
                        path: path.display().to_string(),
                        source,
                    })?
                }
                _ => (*shipped).to_owned(),
            };
            env.add_template_owned(*name, text)
                .map_err(|source| TemplateError::Syntax {
                    name: (*name).into(),
                    source,
                })?;
        }
        let templates = Templates { env };
        templates.try_samples()?;
        Ok(templates)
    }

    /// Renders template `name` with `ctx`; a `.json` template must write valid JSON.
    pub fn render(&self, name: &str, ctx: &MessageContext) -> Result<String, TemplateError> {
        let syntax = |source| TemplateError::Syntax {
            name: name.into(),
            source,
        };
        let text = self
            .env
            .get_template(name)
            .map_err(syntax)?
            .render(minijinja::value::Serde(ctx))
            .map_err(syntax)?;
        if name.ends_with(".json") {
            // Compact, and proof that it is JSON.
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|source| TemplateError::NotJson {
                    name: name.into(),
                    source,
                })?;
            return Ok(v.to_string());
        }
        Ok(text)
    }

    fn try_samples(&self) -> Result<(), TemplateError> {
        let notice = Notice {
            kind: "incident_opened".into(),
            case_id: "INC-1".into(),
            title: "Tailgating \"at\" <door>".into(),
            summary: "Someone followed someone in\nthrough the door".into(),
            severity: "high".into(),
            departments: vec!["facilities".into(), "security".into()],
            sites: vec!["osl".into()],
            task: Some("Check the door".into()),
            path: "/incidents/INC-1".into(),
            time: chrono::Utc::now(),
            key: String::new(),
        };
        let single = MessageContext::single(&notice, "http://tandem.example");
        let item = DigestItem {
            kind: notice.kind.clone(),
            kind_title: "Incident opened".into(),
            case_id: notice.case_id.clone(),
            title: notice.title.clone(),
            severity: notice.severity.clone(),
            link: single.link.clone(),
            time: single.time.clone(),
        };
        let digest = MessageContext::digest(
            &vec![item; DIGEST_ITEMS + 2],
            "http://tandem.example/incidents".into(),
            chrono::Utc::now(),
        );
        for (name, _) in SHIPPED {
            self.render(name, &single)?;
            self.render(name, &digest)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_templates_write_valid_messages_with_the_link_and_escape_what_a_sender_wrote() {
        let t = Templates::load(None).unwrap();
        let notice = Notice {
            kind: "incident_opened".into(),
            case_id: "INC-7".into(),
            title: "Tailgating at \"Main\" </script>".into(),
            summary: "Two people, one badge".into(),
            severity: "high".into(),
            departments: vec!["facilities".into()],
            sites: Vec::new(),
            task: None,
            path: "/incidents/INC-7".into(),
            time: chrono::Utc::now(),
            key: String::new(),
        };
        let ctx = MessageContext::single(&notice, "https://tandem.example/");
        let teams: serde_json::Value =
            serde_json::from_str(&t.render("teams.json", &ctx).unwrap()).unwrap();
        assert_eq!(teams["type"], "message");
        assert_eq!(
            teams["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");
        assert_eq!(
            teams["attachments"][0]["content"]["actions"][0]["url"],
            "https://tandem.example/incidents/INC-7"
        );
        let slack: serde_json::Value =
            serde_json::from_str(&t.render("slack.json", &ctx).unwrap()).unwrap();
        assert!(slack["text"].as_str().unwrap().contains("\"Main\""));
        assert_eq!(
            slack["blocks"][2]["elements"][0]["url"],
            "https://tandem.example/incidents/INC-7"
        );
        let html = t.render("email.html", &ctx).unwrap();
        assert!(html.contains("&lt;") && !html.contains("</script>"));
        let text = t.render("email.txt", &ctx).unwrap();
        assert!(text.contains("https://tandem.example/incidents/INC-7"));
    }

    #[test]
    fn an_override_that_writes_broken_json_is_refused_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("webhook.json"), "{\"text\": {{ title }}").unwrap();
        let err = Templates::load(Some(dir.path())).err().unwrap();
        assert!(matches!(err, TemplateError::NotJson { .. }), "{err}");
        std::fs::write(dir.path().join("webhook.json"), "{\"t\": {{ title }}}").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let ctx = MessageContext::digest(&[], "http://x/incidents".into(), chrono::Utc::now());
        assert_eq!(t.render("webhook.json", &ctx).unwrap(), "{\"t\":\"\"}");
    }
}
