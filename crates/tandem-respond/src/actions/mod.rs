//! Response action definitions: what an action asks another system to do (suspend a badge,
//! disable an account, isolate a host, post to a channel), who may propose and approve it,
//! and the HTTP request it sends, written as templates.
//!
//! Definitions are YAML files: the shipped set (`crates/tandem-respond/actions/*.yaml`)
//! and an operator's directory (`[actions] dirs`), loaded like playbooks and validated with
//! file, line and reason. The connection an action goes through (`[[actions.connections]]`:
//! a base URL and the headers holding its secrets) is configuration, never part of a
//! definition, so a definition can be shown and diffed without leaking a token.
//!
//! Templates are [minijinja](https://docs.rs/minijinja) with one rule that makes them safe
//! with values an attacker may have written (a person's name, an incident title): every
//! `{{ value }}` is encoded for where it lands — JSON in a body (`{"card": {{ target.identifier }}}`
//! renders `{"card": "4411"}`), percent-encoded in a path, refused with a line break in a
//! header. A template cannot produce a request the definition's author did not write.

mod render;

pub use render::{Prepared, TargetFacts, mask, render, shown, to_send};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub use tandem_cases::response::Risk;

/// What an action acts on, and where its identifier comes from in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A person's badge: the badge number of their active badge.
    Badge,
    /// A person's Okta user id (an `okta_id` account in the directory).
    OktaUser,
    /// A person's Entra ID object id (an `entra_id` account).
    EntraUser,
    /// A person (their directory id; `person.email` in templates).
    Person,
    /// A device: its host name (or id).
    Host,
    /// The incident itself (a message to a channel).
    Incident,
}

impl TargetKind {
    pub fn code(self) -> &'static str {
        match self {
            TargetKind::Badge => "badge",
            TargetKind::OktaUser => "okta_user",
            TargetKind::EntraUser => "entra_user",
            TargetKind::Person => "person",
            TargetKind::Host => "host",
            TargetKind::Incident => "incident",
        }
    }

    /// The incident entity kind it is chosen from (`person`, `device`, `incident`).
    pub fn entity_kind(self) -> &'static str {
        match self {
            TargetKind::Host => "device",
            TargetKind::Incident => "incident",
            _ => "person",
        }
    }
}

/// One action definition as loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDef {
    /// Unique; playbooks' `propose` and the API name it.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub risk: Risk,
    /// Roles that may propose it.
    #[serde(default = "default_proposers")]
    pub propose: Vec<String>,
    /// Roles that may approve it (sensitive actions; never the proposer).
    #[serde(default = "default_approvers")]
    pub approve: Vec<String>,
    pub target: TargetKind,
    /// The `[[actions.connections]]` entry it goes through.
    pub connection: String,
    pub method: String,
    /// Appended to the connection's base URL; a template.
    #[serde(default)]
    pub path: String,
    /// Headers besides the connection's; values are templates.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body; a template whose values are written as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Statuses that mean success; any 2xx when empty.
    #[serde(default)]
    pub expect: Vec<u16>,
    /// Where it was loaded from (a file path or `shipped:<name>`); not in the YAML.
    #[serde(skip)]
    pub origin: String,
}

fn default_proposers() -> Vec<String> {
    ["admin", "soc_analyst", "physical_security"]
        .map(String::from)
        .to_vec()
}

fn default_approvers() -> Vec<String> {
    vec!["admin".to_owned()]
}

/// A system actions are sent to: its base URL and the headers that hold its secrets
/// (`Authorization`, `x-verkada-auth`). Configured in `[[actions.connections]]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Connection {
    pub name: String,
    /// `https://api.verkada.com`; for a webhook the whole URL.
    pub base_url: String,
    /// The base URL is itself a secret (a Slack or Teams webhook URL): shown as its
    /// scheme and host only.
    pub secret_url: bool,
    /// Sent with every request; their values are secrets, shown masked.
    pub headers: BTreeMap<String, String>,
}

/// Why a definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefinitionError {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Why an action cannot be proposed or rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ActionError {
    #[error("there is no action `{0}`")]
    Unknown(String),
    #[error("the action's connection `{0}` is not configured ([[actions.connections]])")]
    NoConnection(String),
    #[error("{0}")]
    Target(String),
    #[error("cannot render the {what}: {reason}")]
    Template { what: String, reason: String },
}

/// The definitions Tandem ships: file name and YAML.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "suspend-badge.yaml",
        include_str!("../../actions/suspend-badge.yaml"),
    ),
    (
        "suspend-badge-verkada.yaml",
        include_str!("../../actions/suspend-badge-verkada.yaml"),
    ),
    (
        "disable-okta-account.yaml",
        include_str!("../../actions/disable-okta-account.yaml"),
    ),
    (
        "disable-entra-account.yaml",
        include_str!("../../actions/disable-entra-account.yaml"),
    ),
    (
        "isolate-host.yaml",
        include_str!("../../actions/isolate-host.yaml"),
    ),
    (
        "post-to-channel.yaml",
        include_str!("../../actions/post-to-channel.yaml"),
    ),
];

/// Largest definition file read.
pub const MAX_FILE_BYTES: usize = 64 * 1024;
const MAX_ID: usize = 64;
const MAX_SHORT: usize = 200;
const MAX_TEMPLATE: usize = 16 * 1024;
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Reads one definition and validates it, every problem with its line.
pub fn parse(file: &str, text: &str) -> Result<ActionDef, Vec<DefinitionError>> {
    let err = |line: u64, reason: String| DefinitionError {
        file: file.to_owned(),
        line,
        reason,
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(vec![err(
            0,
            format!(
                "the file has {} bytes; an action may have at most {MAX_FILE_BYTES}",
                text.len()
            ),
        )]);
    }
    let mut def: ActionDef = serde_saphyr::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        vec![err(
            line,
            tandem_cases::playbook::yaml_error_reason(&e, "not a valid action definition"),
        )]
    })?;
    def.origin = file.to_owned();
    def.method = def.method.to_ascii_uppercase();
    let line = |key: &str| key_line(text, key).unwrap_or(1);
    let mut out = Vec::new();
    let id_ok = !def.id.is_empty()
        && def.id.len() <= MAX_ID
        && def
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !id_ok {
        out.push((
            line("id"),
            format!(
                "action id `{}` must be 1 to {MAX_ID} characters of a-z, 0-9, `-` and `_`",
                def.id
            ),
        ));
    }
    if def.title.trim().is_empty() || def.title.len() > MAX_SHORT {
        out.push((
            line("title"),
            format!("the title must be 1 to {MAX_SHORT} characters"),
        ));
    }
    if !METHODS.contains(&def.method.as_str()) {
        out.push((
            line("method"),
            format!(
                "method `{}` must be one of {}",
                def.method,
                METHODS.join(", ")
            ),
        ));
    }
    if def.connection.trim().is_empty() {
        out.push((line("connection"), "the connection is empty".into()));
    }
    for (key, roles) in [("propose", &def.propose), ("approve", &def.approve)] {
        if roles.is_empty() {
            out.push((line(key), format!("`{key}` lists no role")));
        }
        for r in roles {
            if !known_role(r) {
                out.push((
                    line(key),
                    format!("`{key}` names `{r}`, which is not a role (admin, soc_analyst, physical_security, auditor, responder:<department>)"),
                ));
            }
        }
    }
    if def.expect.iter().any(|s| !(100..=599).contains(s)) {
        out.push((
            line("expect"),
            "expect lists a status outside 100..599".into(),
        ));
    }
    let mut templates: Vec<(&str, &str)> = vec![("path", def.path.as_str())];
    if let Some(b) = &def.body {
        templates.push(("body", b));
    }
    for (name, value) in &def.headers {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            out.push((
                line("headers"),
                format!("header name `{name}` is not a valid name"),
            ));
        }
        templates.push(("headers", value));
    }
    for (key, t) in templates {
        if t.len() > MAX_TEMPLATE {
            out.push((
                line(key),
                format!("the {key} template is longer than {MAX_TEMPLATE} bytes"),
            ));
        } else if let Err(e) = render::check_template(t) {
            out.push((line(key), format!("the {key} template: {e}")));
        }
    }
    if out.is_empty() {
        Ok(def)
    } else {
        out.sort_by_key(|(l, _)| *l);
        Err(out.into_iter().map(|(l, r)| err(l, r)).collect())
    }
}

/// Roles as stored: the web's role names.
fn known_role(r: &str) -> bool {
    matches!(r, "admin" | "soc_analyst" | "physical_security" | "auditor")
        || r.strip_prefix("responder:")
            .is_some_and(|d| tandem_model::Department::parse(d).is_some())
}

/// The 1-based line of the first `key:` at the start of a line.
fn key_line(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .map(|i| i as u64 + 1)
}

/// The shipped definitions, parsed. They are checked by the tests.
pub fn shipped() -> Vec<ActionDef> {
    SHIPPED
        .iter()
        .filter_map(
            |(name, text)| match parse(&format!("shipped:{name}"), text) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::error!(file = name, errors = ?e, "a shipped action is invalid");
                    None
                }
            },
        )
        .collect()
}

/// Reads every `*.yaml`/`*.yml` of `dirs` in name order: the valid definitions and the
/// errors of the others (two files with one id included).
pub fn load_dirs(dirs: &[PathBuf]) -> (Vec<ActionDef>, Vec<DefinitionError>) {
    let mut defs: Vec<ActionDef> = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        let files = match tandem_cases::playbook::yaml_files(dir) {
            Ok(files) => files,
            Err(e) => {
                errors.push(DefinitionError {
                    file: dir.display().to_string(),
                    line: 0,
                    reason: format!("cannot read the directory: {e}"),
                });
                continue;
            }
        };
        for path in files {
            match load_file(&path) {
                Ok(d) => {
                    if let Some(other) = defs.iter().find(|o| o.id == d.id) {
                        errors.push(DefinitionError {
                            file: d.origin.clone(),
                            line: 1,
                            reason: format!(
                                "action id `{}` is also given by {}",
                                d.id, other.origin
                            ),
                        });
                    } else {
                        defs.push(d);
                    }
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
    }
    (defs, errors)
}

fn load_file(path: &Path) -> Result<ActionDef, Vec<DefinitionError>> {
    let file = path.display().to_string();
    let fail = |reason: String| {
        Err(vec![DefinitionError {
            file: file.clone(),
            line: 0,
            reason,
        }])
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES as u64 => {
            return fail(format!(
                "the file has {} bytes; an action may have at most {MAX_FILE_BYTES}",
                m.len()
            ));
        }
        Ok(_) => {}
        Err(e) => return fail(format!("cannot read: {e}")),
    }
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&file, &text),
        Err(e) => fail(format!("cannot read: {e}")),
    }
}

/// The actions in force and the connections they go through.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    defs: Vec<ActionDef>,
    connections: Vec<Connection>,
}

impl Catalog {
    /// The shipped definitions with `extra` laid over them (same id: replaced).
    pub fn new(extra: Vec<ActionDef>, connections: Vec<Connection>) -> Catalog {
        let mut defs = shipped();
        for d in extra {
            match defs.iter_mut().find(|s| s.id == d.id) {
                Some(slot) => *slot = d,
                None => defs.push(d),
            }
        }
        Catalog { defs, connections }
    }

    pub fn all(&self) -> &[ActionDef] {
        &self.defs
    }

    pub fn get(&self, id: &str) -> Option<&ActionDef> {
        self.defs.iter().find(|d| d.id == id)
    }

    pub fn connection(&self, name: &str) -> Option<&Connection> {
        self.connections.iter().find(|c| c.name == name)
    }

    /// Whether the action's connection is configured (it can be proposed).
    pub fn available(&self, def: &ActionDef) -> bool {
        self.connection(&def.connection).is_some()
    }

    /// Every action id with its risk, for playbook validation.
    pub fn names(&self) -> tandem_cases::playbook::ActionNames {
        self.defs.iter().map(|d| (d.id.clone(), d.risk)).collect()
    }
}

#[cfg(test)]
mod tests;
