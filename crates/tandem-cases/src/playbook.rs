//! Playbooks: one per incident type, saying which department does what, in what order, with
//! what evidence and within what time.
//!
//! Playbooks are YAML files (`crates/tandem-cases/playbooks/*.yaml` are shipped; operators
//! add or override them in a directory of their own). Loading, validation with file, line and
//! reason, and the shipped set are in this module; what an incident makes of a playbook is
//! [`Playbook::tasks_for`].

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tandem_model::{Department, Severity, Timestamp};

use crate::incident::{SlaState, Task, TaskSla, TaskState};

/// What selects a playbook for an alert: any rule id, tag or alert kind listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Selector {
    /// Rule ids (`tandem.terminated_access`, a Sigma rule's id).
    pub rules: Vec<String>,
    /// Finding tags (`physical.tailgating`, `attack.t1078`).
    pub tags: Vec<String>,
    /// Alert kinds raised by Tandem itself: `risk`, `sla_breach`, `report:phishing`, … .
    pub kinds: Vec<String>,
}

/// Warn and breach times, in minutes from the task's opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSpec {
    pub warn: u32,
    pub breach: u32,
}

/// One task of a playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookTask {
    /// Unique within the playbook; `after` refers to it.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub department: Department,
    /// The role expected to do it; `responder:<department>` when not said.
    #[serde(default)]
    pub owner_role: Option<String>,
    /// Tasks that must be finished first.
    #[serde(default)]
    pub after: Vec<String>,
    /// Evidence to attach before the task can be completed.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// SLA per severity (`critical`, `high`, `medium`, `low`); a severity not listed has none.
    #[serde(default)]
    pub sla: BTreeMap<String, SlaSpec>,
    /// Count only business hours of the incident's site.
    #[serde(default)]
    pub business_hours: bool,
    /// A response action (its definition's id) proposed when this task opens (with the
    /// incident, when its dependencies finish, or when a playbook switch adds it), on the
    /// incident's first matching entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propose: Option<String>,
    /// Run the proposed action without a person when it is low-risk (a sensitive action
    /// always waits for approval; validation refuses `auto` on one).
    #[serde(default)]
    pub auto: bool,
}

/// A playbook as loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub selects: Selector,
    pub tasks: Vec<PlaybookTask>,
    /// Where it was loaded from (a file path, or `shipped:<name>`); not in the YAML.
    #[serde(skip)]
    pub origin: String,
    /// The YAML it was read from, kept to show it and to diff an override against the
    /// shipped version; not in the YAML.
    #[serde(skip)]
    pub text: String,
}

impl Playbook {
    /// The action run task `task` of this playbook proposes, waiting for the runner to
    /// prepare its request; None when the task proposes nothing.
    pub fn proposal(&self, task: &str, now: Timestamp) -> Option<crate::response::ActionRun> {
        use crate::response::{ActionRun, ActionTarget, Risk, RunState};
        let t = self.tasks.iter().find(|t| t.id == task)?;
        let action = t.propose.clone()?;
        Some(ActionRun {
            id: crate::incidents::new_run_id(),
            title: action.clone(),
            action,
            risk: Risk::Sensitive,
            approvers: Vec::new(),
            target: ActionTarget::default(),
            request: None,
            state: RunState::Proposed,
            proposed_by: crate::PRODUCT_ACTOR.to_owned(),
            proposed: now,
            note: format!("proposed by playbook {} (task {})", self.id, t.id),
            playbook: Some(self.id.clone()),
            task: Some(t.id.clone()),
            auto: t.auto,
            decided_by: None,
            decided: None,
            reason: None,
            attempts: Vec::new(),
            next_attempt: None,
            finished: None,
        })
    }

    /// The tasks an incident of `severity` gets, opened at `now`: tasks without dependencies
    /// are open (their SLA timers start), the others blocked until their dependencies finish.
    pub fn tasks_for(&self, severity: Severity, now: Timestamp) -> Vec<Task> {
        self.tasks
            .iter()
            .map(|t| {
                let open = t.after.is_empty();
                Task {
                    id: t.id.clone(),
                    title: t.title.clone(),
                    department: t.department,
                    owner_role: t
                        .owner_role
                        .clone()
                        .unwrap_or_else(|| format!("responder:{}", t.department.code())),
                    after: t.after.clone(),
                    required_evidence: t.evidence.clone(),
                    state: if open {
                        TaskState::Open
                    } else {
                        TaskState::Blocked
                    },
                    assignee: None,
                    opened: open.then_some(now),
                    done: None,
                    sla: t.sla.get(severity.name()).map(|s| TaskSla {
                        warn_minutes: s.warn,
                        breach_minutes: s.breach,
                        business_hours: t.business_hours,
                    }),
                    sla_state: SlaState::Running,
                    paused_seconds: 0,
                    paused_since: None,
                    evidence: Vec::new(),
                    pauses: Vec::new(),
                    sla_warned: None,
                    sla_breached: None,
                    skip_reason: None,
                }
            })
            .collect()
    }
}

/// The playbooks in force. Replaced as a whole when a directory is reloaded, so a playbook
/// that fails validation never replaces the version in force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaybookSet {
    playbooks: Vec<Playbook>,
}

/// The playbook used when no other selects an alert.
pub const GENERIC: &str = "generic";

impl PlaybookSet {
    pub fn new(playbooks: Vec<Playbook>) -> PlaybookSet {
        PlaybookSet { playbooks }
    }

    pub fn all(&self) -> &[Playbook] {
        &self.playbooks
    }

    pub fn get(&self, id: &str) -> Option<&Playbook> {
        self.playbooks.iter().find(|p| p.id == id)
    }

    /// The playbook for an alert with these rules, tags and kind: the first that lists one
    /// of its rules, else the first that lists one of its tags, else its kind, else
    /// [`GENERIC`].
    pub fn select(
        &self,
        rules: &[String],
        tags: &[String],
        kind: Option<&str>,
    ) -> Option<&Playbook> {
        let by_rule = self
            .playbooks
            .iter()
            .find(|p| p.selects.rules.iter().any(|r| rules.contains(r)));
        let by_tag = || {
            self.playbooks
                .iter()
                .find(|p| p.selects.tags.iter().any(|t| tags.contains(t)))
        };
        let by_kind = || {
            kind.and_then(|k| {
                self.playbooks
                    .iter()
                    .find(|p| p.selects.kinds.iter().any(|x| x == k))
            })
        };
        by_rule
            .or_else(by_tag)
            .or_else(by_kind)
            .or_else(|| self.get(GENERIC))
    }
}

/// Largest playbook file read: a playbook is a page of tasks, not a data set.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// Most tasks in one playbook.
pub const MAX_TASKS: usize = 100;
/// Longest SLA (warn or breach), in minutes: 30 days.
pub const MAX_SLA_MINUTES: u32 = 30 * 24 * 60;
/// Longest id (playbook or task).
const MAX_ID: usize = 64;
/// Longest title, owner role, evidence name, selector entry.
const MAX_SHORT: usize = 200;
/// Longest description.
const MAX_DESCRIPTION: usize = 8 * 1024;
/// Most entries in one list (`after`, `evidence`, each selector list).
const MAX_LIST: usize = 100;
/// The severities an SLA may be given for.
pub const SLA_SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// Why a playbook was refused: the file, the line (1-based; 0 when no line applies, such as a
/// file too large to read) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybookError {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// The playbooks Tandem ships, built into the binary: file name and YAML.
pub const SHIPPED: &[(&str, &str)] = &[
    ("generic.yaml", include_str!("../playbooks/generic.yaml")),
    (
        "lost-badge.yaml",
        include_str!("../playbooks/lost-badge.yaml"),
    ),
    (
        "account-compromise.yaml",
        include_str!("../playbooks/account-compromise.yaml"),
    ),
    (
        "ransomware.yaml",
        include_str!("../playbooks/ransomware.yaml"),
    ),
    (
        "tailgating.yaml",
        include_str!("../playbooks/tailgating.yaml"),
    ),
    (
        "terminated-access.yaml",
        include_str!("../playbooks/terminated-access.yaml"),
    ),
    (
        "payment-fraud.yaml",
        include_str!("../playbooks/payment-fraud.yaml"),
    ),
    (
        "device-compromise.yaml",
        include_str!("../playbooks/device-compromise.yaml"),
    ),
    (
        "forced-door.yaml",
        include_str!("../playbooks/forced-door.yaml"),
    ),
    ("risk.yaml", include_str!("../playbooks/risk.yaml")),
    (
        "sla-breach.yaml",
        include_str!("../playbooks/sla-breach.yaml"),
    ),
];

/// Reads one playbook from its YAML and validates it. `file` names it in errors. Every
/// problem found is returned, each with its line, so an operator fixes a file in one pass.
pub fn parse(file: &str, text: &str) -> Result<Playbook, Vec<PlaybookError>> {
    let err = |line: u64, reason: String| PlaybookError {
        file: file.to_owned(),
        line,
        reason,
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(vec![err(
            0,
            format!(
                "the file has {} bytes; a playbook may have at most {MAX_FILE_BYTES}",
                text.len()
            ),
        )]);
    }
    let mut playbook: Playbook = serde_saphyr::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        vec![err(line, syntax_reason(&e))]
    })?;
    playbook.origin = file.to_owned();
    playbook.text = text.to_owned();
    let problems = validate(&playbook, text);
    if problems.is_empty() {
        Ok(playbook)
    } else {
        Err(problems
            .into_iter()
            .map(|(line, reason)| err(line, reason))
            .collect())
    }
}

/// The reader's message without its rendered snippet and position (the position is given
/// separately as the line).
fn syntax_reason(e: &serde_saphyr::Error) -> String {
    yaml_error_reason(e, "not a valid playbook")
}

/// A YAML error in words without its position (the error's line says it), or `fallback`:
/// how playbook and response action files report what is wrong alike.
pub fn yaml_error_reason(e: &serde_saphyr::Error, fallback: &str) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    // "… at line 3, column 5" is said by the line field already.
    let cut = first
        .find(" at line ")
        .map(|i| &first[..i])
        .unwrap_or(first)
        .trim_end_matches(['.', ','])
        .trim();
    if cut.is_empty() {
        fallback.to_owned()
    } else {
        cut.to_owned()
    }
}

/// The problems of a parsed playbook, each with the line it is on in `text`.
fn validate(p: &Playbook, text: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let top = |key: &str| key_line(text, key, None, 0).unwrap_or(1);
    if let Some(r) = check_id(&p.id, "playbook id") {
        out.push((top("id"), r));
    }
    if p.title.trim().is_empty() {
        out.push((top("title"), "the title is empty".to_owned()));
    } else if p.title.chars().count() > MAX_SHORT {
        out.push((
            top("title"),
            format!("the title is longer than {MAX_SHORT} characters"),
        ));
    }
    if p.description.len() > MAX_DESCRIPTION {
        out.push((
            top("description"),
            format!("the description is longer than {MAX_DESCRIPTION} bytes"),
        ));
    }
    for (name, list) in [
        ("rules", &p.selects.rules),
        ("tags", &p.selects.tags),
        ("kinds", &p.selects.kinds),
    ] {
        let line = top(name);
        if list.len() > MAX_LIST {
            out.push((
                line,
                format!("selects.{name} lists more than {MAX_LIST} entries"),
            ));
        }
        if list
            .iter()
            .any(|x| x.trim().is_empty() || x.len() > MAX_SHORT)
        {
            out.push((
                line,
                format!("selects.{name} has an empty entry or one longer than {MAX_SHORT}"),
            ));
        }
    }
    if p.tasks.is_empty() {
        out.push((top("tasks"), "the playbook has no tasks".to_owned()));
    }
    if p.tasks.len() > MAX_TASKS {
        out.push((
            top("tasks"),
            format!(
                "the playbook has {} tasks; at most {MAX_TASKS} are allowed",
                p.tasks.len()
            ),
        ));
    }
    // The line of each task: the n-th `id: <id>` line for the n-th task with that id.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let lines: Vec<u64> = p
        .tasks
        .iter()
        .map(|t| {
            let n = seen.entry(t.id.as_str()).or_insert(0);
            let line = key_line(text, "id", Some(&t.id), *n).unwrap_or_else(|| top("tasks"));
            *n += 1;
            line
        })
        .collect();
    let ids: HashSet<&str> = p.tasks.iter().map(|t| t.id.as_str()).collect();
    let mut first: HashSet<&str> = HashSet::new();
    for (t, &line) in p.tasks.iter().zip(&lines) {
        let mut say = |reason: String| out.push((line, format!("task `{}`: {reason}", t.id)));
        if let Some(r) = check_id(&t.id, "task id") {
            say(r);
        }
        if !first.insert(t.id.as_str()) {
            say("the id is used by an earlier task; task ids must be unique".to_owned());
        }
        if t.title.trim().is_empty() {
            say("the title is empty".to_owned());
        } else if t.title.chars().count() > MAX_SHORT {
            say(format!("the title is longer than {MAX_SHORT} characters"));
        }
        if t.description.len() > MAX_DESCRIPTION {
            say(format!(
                "the description is longer than {MAX_DESCRIPTION} bytes"
            ));
        }
        if let Some(role) = &t.owner_role
            && (role.trim().is_empty() || role.len() > MAX_SHORT)
        {
            say("owner_role is empty or too long".to_owned());
        }
        if t.after.len() > MAX_LIST || t.evidence.len() > MAX_LIST {
            say(format!(
                "after and evidence list at most {MAX_LIST} entries each"
            ));
        }
        for a in &t.after {
            if a == &t.id {
                say("it is listed in its own `after`".to_owned());
            } else if !ids.contains(a.as_str()) {
                say(format!(
                    "`after` names `{a}`, which is not a task of this playbook"
                ));
            }
        }
        if t.evidence
            .iter()
            .any(|e| e.trim().is_empty() || e.len() > MAX_SHORT)
        {
            say(format!(
                "evidence has an empty entry or one longer than {MAX_SHORT}"
            ));
        }
        if let Some(a) = &t.propose
            && let Some(r) = check_id(a, "propose: action id")
        {
            say(r);
        }
        if t.auto && t.propose.is_none() {
            say("`auto` needs `propose`: the action to run automatically".to_owned());
        }
        for (severity, sla) in &t.sla {
            if !SLA_SEVERITIES.contains(&severity.as_str()) {
                say(format!(
                    "sla for `{severity}`: the severity must be one of low, medium, high, critical"
                ));
            }
            if sla.warn == 0 || sla.warn >= sla.breach {
                say(format!(
                    "sla for `{severity}`: warn ({}) must be more than 0 and less than breach ({})",
                    sla.warn, sla.breach
                ));
            }
            if sla.breach > MAX_SLA_MINUTES {
                say(format!(
                    "sla for `{severity}`: breach ({}) is more than 30 days ({MAX_SLA_MINUTES} minutes)",
                    sla.breach
                ));
            }
        }
    }
    if let Some((at, cycle)) = find_cycle(p) {
        out.push((
            lines[at],
            format!(
                "the tasks depend on each other in a cycle: {}",
                cycle.join(" → ")
            ),
        ));
    }
    out.sort_by_key(|(line, _)| *line);
    out
}

/// Ids are short and plain, since they appear in URLs, file names and the API.
fn check_id(id: &str, what: &str) -> Option<String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    (!ok)
        .then(|| format!("{what} `{id}` must be 1 to {MAX_ID} characters of a-z, 0-9, `-` and `_`"))
}

/// The first cycle among `after` dependencies: the index of a task in it and the ids around it.
fn find_cycle(p: &Playbook) -> Option<(usize, Vec<String>)> {
    let index: HashMap<&str, usize> = p
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    // 0: not visited, 1: on the current path, 2: done.
    let mut state = vec![0u8; p.tasks.len()];
    let mut path: Vec<usize> = Vec::new();
    fn visit(
        i: usize,
        p: &Playbook,
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[i] = 1;
        path.push(i);
        for a in &p.tasks[i].after {
            let Some(&j) = index.get(a.as_str()) else {
                continue;
            };
            if j == i {
                continue; // said already: "listed in its own after"
            }
            match state[j] {
                1 => {
                    let from = path.iter().position(|&k| k == j).unwrap_or(0);
                    let mut cycle = path[from..].to_vec();
                    cycle.push(j);
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(j, p, index, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    for i in 0..p.tasks.len() {
        if state[i] == 0
            && let Some(c) = visit(i, p, &index, &mut state, &mut path)
        {
            let ids = c.iter().map(|&k| p.tasks[k].id.clone()).collect();
            return Some((c[0], ids));
        }
    }
    None
}

/// The 1-based line of the `n`-th (0-based) line reading `key: value` (or `- key: value`,
/// quoted or not; any value when `value` is `None`).
fn key_line(text: &str, key: &str, value: Option<&str>, n: usize) -> Option<u64> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let l = line.trim_start();
            let l = l.strip_prefix("- ").unwrap_or(l).trim_start();
            let Some(rest) = l.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
                return false;
            };
            let v = rest.split(" #").next().unwrap_or("").trim();
            let v = v.trim_matches(|c| c == '"' || c == '\'');
            value.is_none_or(|want| v == want)
        })
        .nth(n)
        .map(|(i, _)| i as u64 + 1)
}

/// The response actions a playbook may name (`propose`), with their risk.
pub type ActionNames = BTreeMap<String, crate::response::Risk>;

/// The problems of `p`'s `propose` and `auto` against the actions defined: an unknown
/// action, or `auto` on a sensitive one (which only a person may approve).
pub fn check_actions(p: &Playbook, actions: &ActionNames) -> Vec<PlaybookError> {
    let mut out = Vec::new();
    for t in &p.tasks {
        let Some(a) = &t.propose else { continue };
        let line = key_line(&p.text, "propose", Some(a), 0)
            .or_else(|| key_line(&p.text, "id", Some(&t.id), 0))
            .unwrap_or(0);
        let reason = match actions.get(a) {
            None => Some(format!(
                "task `{}`: propose names `{a}`, which is not a defined action ({})",
                t.id,
                actions.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
            Some(crate::response::Risk::Sensitive) if t.auto => Some(format!(
                "task `{}`: `{a}` is sensitive and needs a person's approval; it cannot run with `auto: true`",
                t.id
            )),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            out.push(PlaybookError {
                file: p.origin.clone(),
                line,
                reason,
            });
        }
    }
    out
}

/// The shipped playbooks, parsed (once). They are checked by the tests, so a failure here is
/// a defect of the build; such a playbook is left out (and logged) rather than stopping Tandem.
pub fn shipped() -> Vec<Playbook> {
    shipped_parsed().to_vec()
}

fn shipped_parsed() -> &'static [Playbook] {
    static PARSED: std::sync::OnceLock<Vec<Playbook>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        SHIPPED
            .iter()
            .filter_map(
                |(name, text)| match parse(&format!("shipped:{name}"), text) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::error!(file = name, errors = ?e, "a shipped playbook is invalid");
                        None
                    }
                },
            )
            .collect()
    })
}

/// The `*.yaml` and `*.yml` files of `dir` (not recursively), in name order: how playbook and
/// response action directories are read alike.
pub fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Reads every `*.yaml` / `*.yml` file of `dirs` (not recursively), in name order. Returns the
/// playbooks that are valid and the errors of the others (including two files giving the
/// same id, and directories that cannot be read).
pub fn load_dirs(dirs: &[PathBuf]) -> (Vec<Playbook>, Vec<PlaybookError>) {
    let mut playbooks: Vec<Playbook> = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        let files = match yaml_files(dir) {
            Ok(files) => files,
            Err(e) => {
                errors.push(PlaybookError {
                    file: dir.display().to_string(),
                    line: 0,
                    reason: format!("cannot read the directory: {e}"),
                });
                continue;
            }
        };
        for path in files {
            match load_file(&path) {
                Ok(p) => {
                    if let Some(other) = playbooks.iter().find(|o| o.id == p.id) {
                        errors.push(PlaybookError {
                            file: p.origin.clone(),
                            line: key_line(&p.text, "id", Some(&p.id), 0).unwrap_or(1),
                            reason: format!(
                                "playbook id `{}` is also given by {}",
                                p.id, other.origin
                            ),
                        });
                    } else {
                        playbooks.push(p);
                    }
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
    }
    (playbooks, errors)
}

/// Reads and validates one file, refusing a large one before reading it whole.
pub fn load_file(path: &Path) -> Result<Playbook, Vec<PlaybookError>> {
    let file = path.display().to_string();
    let fail = |line, reason| {
        Err(vec![PlaybookError {
            file: file.clone(),
            line,
            reason,
        }])
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES as u64 => {
            return fail(
                0,
                format!(
                    "the file has {} bytes; a playbook may have at most {MAX_FILE_BYTES}",
                    m.len()
                ),
            );
        }
        Ok(_) => {}
        Err(e) => return fail(0, format!("cannot read: {e}")),
    }
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&file, &text),
        Err(e) => fail(0, format!("cannot read: {e}")),
    }
}

/// The shipped set with `extra` laid over it: a playbook with the id of a shipped one
/// replaces it in place; others are added after the shipped ones.
pub fn combine(shipped: Vec<Playbook>, extra: Vec<Playbook>) -> PlaybookSet {
    let mut all = shipped;
    for p in extra {
        match all.iter_mut().find(|s| s.id == p.id) {
            Some(slot) => *slot = p,
            None => all.push(p),
        }
    }
    PlaybookSet::new(all)
}

/// The playbooks in force: the shipped set and the operator's directories
/// (`[cases] playbook_dirs`). Swapped as a whole by [`Playbooks::reload`], so readers always
/// see one consistent set and a failed reload changes nothing.
pub struct Playbooks {
    dirs: Vec<PathBuf>,
    current: RwLock<Arc<PlaybookSet>>,
    /// The actions `propose` may name; `None`: not checked (tools that load playbooks alone).
    actions: Option<ActionNames>,
}

impl Playbooks {
    /// Loads the shipped set and `dirs`. At start there is no previous version to keep, so a
    /// file that fails is left out (its shipped playbook, if any, stays in force) and its
    /// errors are returned for the log; reloads are all or nothing.
    pub fn load(dirs: Vec<PathBuf>) -> (Playbooks, Vec<PlaybookError>) {
        let (extra, errors) = load_dirs(&dirs);
        let playbooks = Playbooks {
            dirs,
            current: RwLock::new(Arc::new(combine(shipped(), extra))),
            actions: None,
        };
        (playbooks, errors)
    }

    /// Like [`Playbooks::load`], checking every `propose` against the actions defined: a
    /// playbook naming an unknown action (or running a sensitive one automatically) is left
    /// out with its errors.
    pub fn load_with_actions(
        dirs: Vec<PathBuf>,
        actions: ActionNames,
    ) -> (Playbooks, Vec<PlaybookError>) {
        let (extra, mut errors) = load_dirs(&dirs);
        let extra = keep_valid_actions(extra, &actions, &mut errors);
        let playbooks = Playbooks {
            dirs,
            current: RwLock::new(Arc::new(combine(shipped(), extra))),
            actions: Some(actions),
        };
        (playbooks, errors)
    }

    /// Only the shipped set (tools, tests).
    pub fn shipped_only() -> Playbooks {
        Playbooks::load(Vec::new()).0
    }

    /// The set in force.
    pub fn current(&self) -> Arc<PlaybookSet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The operator's directories.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Reads the directories again. Everything is validated first: when any file fails, the
    /// set in force is kept as it is and the errors are returned.
    pub fn reload(&self) -> Result<Arc<PlaybookSet>, Vec<PlaybookError>> {
        let (extra, mut errors) = load_dirs(&self.dirs);
        let extra = match &self.actions {
            Some(actions) => keep_valid_actions(extra, actions, &mut errors),
            None => extra,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let set = Arc::new(combine(shipped(), extra));
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = set.clone();
        Ok(set)
    }

    /// Whether the playbook in force with this id overrides a shipped one, and how: a line
    /// diff of the shipped YAML against the one in force. `None` when there is no such
    /// playbook or it is the shipped one.
    pub fn diff(&self, id: &str) -> Option<Vec<DiffLine>> {
        let current = self.current();
        let active = current.get(id)?;
        let (_, shipped) = SHIPPED
            .iter()
            .find(|(name, text)| parse(name, text).is_ok_and(|p| p.id == id))?;
        if active.text == *shipped {
            return None;
        }
        Some(line_diff(shipped, &active.text))
    }
}

/// The playbooks whose `propose` entries name defined actions; the others' errors are added
/// to `errors`.
fn keep_valid_actions(
    playbooks: Vec<Playbook>,
    actions: &ActionNames,
    errors: &mut Vec<PlaybookError>,
) -> Vec<Playbook> {
    playbooks
        .into_iter()
        .filter(|p| {
            let mut e = check_actions(p, actions);
            let ok = e.is_empty();
            errors.append(&mut e);
            ok
        })
        .collect()
}

/// Whether the playbook with this id is one Tandem ships.
pub fn is_shipped(id: &str) -> bool {
    shipped_parsed().iter().any(|p| p.id == id)
}

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `same`, `removed` (only in the shipped version) or `added` (only in the one in force).
    pub change: &'static str,
    pub text: String,
}

/// Above this many cells the longest-common-subsequence table is not built and the differing
/// middle is shown as removed then added (4 M cells: a few megabytes).
const MAX_DIFF_CELLS: usize = 4_000_000;

/// A line diff of `old` against `new`: common head and tail, and a longest common subsequence
/// of the middle (written here: a playbook is a few hundred lines at most).
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let line = |change, text: &str| DiffLine {
        change,
        text: text.to_owned(),
    };
    let mut out: Vec<DiffLine> = a[..head].iter().map(|l| line("same", l)).collect();
    if am.len().saturating_mul(bm.len()) > MAX_DIFF_CELLS {
        out.extend(am.iter().map(|l| line("removed", l)));
        out.extend(bm.iter().map(|l| line("added", l)));
    } else {
        // lcs[i][j]: length of the LCS of am[i..] and bm[j..].
        let (n, m) = (am.len(), bm.len());
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        let at = |i: usize, j: usize| i * (m + 1) + j;
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[at(i, j)] = if am[i] == bm[j] {
                    lcs[at(i + 1, j + 1)] + 1
                } else {
                    lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                out.push(line("same", am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
                out.push(line("removed", am[i]));
                i += 1;
            } else {
                out.push(line("added", bm[j]));
                j += 1;
            }
        }
    }
    out.extend(a[a.len() - tail..].iter().map(|l| line("same", l)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GOOD: &str = "\
id: door-check
title: Door check
tasks:
  - id: look
    title: Look at the door
    department: facilities
    sla:
      high: {warn: 30, breach: 60}
  - id: fix
    title: Fix the door
    department: facilities
    after: [look]
";

    fn errors(text: &str) -> Vec<PlaybookError> {
        parse("pb.yaml", text).expect_err("should be refused")
    }

    #[test]
    fn a_good_playbook_parses_with_its_tasks_and_text() {
        let p = parse("pb.yaml", GOOD).unwrap();
        assert_eq!(p.id, "door-check");
        assert_eq!(p.tasks.len(), 2);
        assert_eq!(p.tasks[1].after, vec!["look"]);
        assert_eq!(p.origin, "pb.yaml");
        assert_eq!(p.text, GOOD);
    }

    #[test]
    fn every_shipped_playbook_is_valid_and_ids_are_unique() {
        let mut ids = HashSet::new();
        for (name, text) in SHIPPED {
            let p = parse(name, text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(ids.insert(p.id.clone()), "{name}: duplicate id {}", p.id);
        }
        assert_eq!(shipped().len(), SHIPPED.len());
        for id in [GENERIC, "risk", "sla-breach"] {
            assert!(ids.contains(id), "{id} is shipped");
        }
    }

    #[test]
    fn a_syntax_error_names_file_and_line() {
        let e = errors("id: x\ntitle: X\ntasks:\n  - id: a\n    title: [unclosed\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].file, "pb.yaml");
        assert!(e[0].line >= 5, "{e:?}");
        assert!(!e[0].reason.is_empty());
    }

    #[test]
    fn an_unknown_department_is_refused_at_its_line() {
        let text = GOOD.replace(
            "department: facilities\n    after",
            "department: catering\n    after",
        );
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].line, 11, "{e:?}");
        assert!(e[0].reason.contains("catering"), "{e:?}");
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let e = errors(&GOOD.replace("title: Door check", "title: Door check\nowner: bob"));
        assert_eq!(e[0].line, 3, "{e:?}");
        assert!(e[0].reason.contains("owner"), "{e:?}");
    }

    #[test]
    fn duplicate_task_ids_point_at_the_second() {
        let e = errors(
            &GOOD
                .replace("id: fix", "id: look")
                .replace("after: [look]", ""),
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].line, 9);
        assert!(e[0].reason.contains("unique"), "{e:?}");
    }

    #[test]
    fn after_must_name_an_existing_task() {
        let e = errors(&GOOD.replace("after: [look]", "after: [lok]"));
        assert_eq!(e[0].line, 9);
        assert!(e[0].reason.contains("`lok`"), "{e:?}");
    }

    #[test]
    fn a_dependency_cycle_is_refused_with_its_path() {
        let text = GOOD.replace(
            "    sla:\n      high",
            "    after: [fix]\n    sla:\n      high",
        );
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].reason.contains("look → fix → look"), "{e:?}");
        assert_eq!(e[0].line, 4);
    }

    #[test]
    fn sla_severities_order_and_bounds_are_checked() {
        for (sla, says) in [
            ("severe: {warn: 1, breach: 2}", "severe"),
            ("high: {warn: 60, breach: 60}", "less than breach"),
            ("high: {warn: 0, breach: 60}", "more than 0"),
            ("high: {warn: 10, breach: 50000}", "30 days"),
        ] {
            let e = errors(&GOOD.replace("high: {warn: 30, breach: 60}", sla));
            assert_eq!(e.len(), 1, "{sla}: {e:?}");
            assert_eq!(e[0].line, 4, "{sla}");
            assert!(e[0].reason.contains(says), "{sla}: {e:?}");
        }
    }

    #[test]
    fn empty_title_no_tasks_bad_ids_and_size_are_refused() {
        assert!(
            errors(&GOOD.replace("title: Door check", "title: ''"))[0]
                .reason
                .contains("title")
        );
        let none = errors("id: x\ntitle: X\ntasks: []\n");
        assert_eq!(
            (none[0].line, none[0].reason.as_str()),
            (3, "the playbook has no tasks")
        );
        assert!(
            errors(&GOOD.replace("door-check", "Door Check"))[0]
                .reason
                .contains("a-z")
        );
        let big = format!("{GOOD}#{}\n", "x".repeat(MAX_FILE_BYTES));
        assert!(errors(&big)[0].reason.contains("at most"));
        let mut many = "id: x\ntitle: X\ntasks:\n".to_owned();
        for i in 0..=MAX_TASKS {
            many.push_str(&format!("  - {{id: t{i}, title: T, department: it}}\n"));
        }
        assert!(errors(&many)[0].reason.contains("at most 100"));
    }

    #[test]
    fn an_override_replaces_the_shipped_playbook_and_diffs_against_it() {
        let dir = tempfile::tempdir().unwrap();
        let (_, generic) = SHIPPED.iter().find(|(n, _)| *n == "generic.yaml").unwrap();
        let changed = generic.replace("Record the outcome and the lessons", "Write it up");
        std::fs::write(dir.path().join("generic.yaml"), &changed).unwrap();
        std::fs::write(dir.path().join("extra.yml"), GOOD).unwrap();
        let (playbooks, errors) = Playbooks::load(vec![dir.path().to_owned()]);
        assert!(errors.is_empty(), "{errors:?}");
        let set = playbooks.current();
        assert_eq!(set.all().len(), SHIPPED.len() + 1);
        assert_eq!(set.get(GENERIC).unwrap().tasks[2].title, "Write it up");
        let diff = playbooks.diff(GENERIC).unwrap();
        let changes: Vec<_> = diff.iter().filter(|d| d.change != "same").collect();
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0].change, "removed");
        assert!(changes[0].text.contains("Record the outcome"));
        assert_eq!(changes[1].change, "added");
        assert!(playbooks.diff("tailgating").is_none());
        assert!(playbooks.diff("door-check").is_none());
    }

    #[test]
    fn a_failed_reload_keeps_the_set_in_force() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("door.yaml"), GOOD).unwrap();
        let (playbooks, errors) = Playbooks::load(vec![dir.path().to_owned()]);
        assert!(errors.is_empty());
        let before = playbooks.current();
        std::fs::write(
            dir.path().join("door.yaml"),
            GOOD.replace("Fix the door", "Mend it"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("bad.yaml"),
            "id: bad\ntitle: B\ntasks: []\n",
        )
        .unwrap();
        let e = playbooks.reload().unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].file.ends_with("bad.yaml"), "{e:?}");
        assert_eq!(playbooks.current(), before);
        assert_eq!(
            playbooks.current().get("door-check").unwrap().tasks[1].title,
            "Fix the door"
        );
        std::fs::remove_file(dir.path().join("bad.yaml")).unwrap();
        let after = playbooks.reload().unwrap();
        assert_eq!(after.get("door-check").unwrap().tasks[1].title, "Mend it");
    }

    #[test]
    fn two_files_with_one_id_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), GOOD).unwrap();
        std::fs::write(dir.path().join("b.yaml"), GOOD).unwrap();
        let (_, errors) = load_dirs(&[dir.path().to_owned()]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].file.ends_with("b.yaml"));
        assert_eq!(errors[0].line, 1);
    }

    /// Aliases that would expand exponentially ("billion laughs") are refused at once: the
    /// typed, closed schema stops reading at the first value out of place.
    #[test]
    fn an_alias_bomb_is_refused() {
        let mut text = "a0: &a0 [{id: x, title: X, department: it}]\n".to_owned();
        for i in 1..30 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        text.push_str("id: bomb\ntitle: Bomb\ntasks: *a29\n");
        let e = errors(&text);
        assert!(!e.is_empty());
    }

    /// Deep nesting is refused without exhausting the stack.
    #[test]
    fn deep_nesting_is_refused() {
        for (open, close) in [("[", "]"), ("{a: ", "}"), ("- ", "")] {
            let depth = 50_000;
            let text = format!(
                "id: deep\ntitle: Deep\ntasks: {}{}\n",
                open.repeat(depth),
                close.repeat(depth)
            );
            let text = &text[..text.len().min(MAX_FILE_BYTES)];
            assert!(!errors(text).is_empty());
            let text = format!(
                "id: deep\ntitle: Deep\ndescription: {}x{}\n",
                open.repeat(depth),
                close.repeat(depth)
            );
            let text = &text[..text.len().min(MAX_FILE_BYTES)];
            assert!(!errors(text).is_empty());
        }
    }

    #[test]
    fn line_diff_finds_the_changes() {
        let d = line_diff("a\nb\nc\nd\n", "a\nc\nx\nd\n");
        let s: Vec<String> = d
            .iter()
            .map(|l| format!("{}{}", &l.change[..1], l.text))
            .collect();
        assert_eq!(s, ["sa", "rb", "sc", "ax", "sd"]);
        assert!(line_diff("", "").is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = parse("x.yaml", &text);
        }

        #[test]
        fn yaml_like_text_never_panics(lines in proptest::collection::vec(
            "( {0,6})(- )?(id|title|tasks|after|department|sla|high|warn|breach|selects|rules|x)?: ?(\\[|\\{|[a-z0-9 ,\\]\\}]{0,12}|&a|\\*a|\"|'|security|\\|)",
            0..30,
        )) {
            let _ = parse("x.yaml", &lines.join("\n"));
        }

        #[test]
        fn mutated_shipped_playbooks_never_panic(i in 0usize..11, at in 0usize..4000, cut in 0usize..40, insert in "[a-z:\\-\\[\\]\\{\\} \n]{0,8}") {
            let text = SHIPPED[i % SHIPPED.len()].1;
            let at = at.min(text.len());
            let mut s: String = text.chars().take(at).collect();
            s.push_str(&insert);
            s.extend(text.chars().skip(at + cut));
            let _ = parse("x.yaml", &s);
        }

        #[test]
        fn line_diff_rebuilds_both_sides(a in proptest::collection::vec("[abc]", 0..12), b in proptest::collection::vec("[abc]", 0..12)) {
            let (old, new) = (a.join("\n"), b.join("\n"));
            let d = line_diff(&old, &new);
            let side = |skip: &str| d.iter().filter(|l| l.change != skip).map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n");
            prop_assert_eq!(side("added"), old);
            prop_assert_eq!(side("removed"), new);
        }
    }
}
