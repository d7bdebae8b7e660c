//! Sigma rules over Tandem events, evaluated by the RSigma engine.
//!
//! * [`SigmaRules`] is a loaded rule set (the SigmaHQ corpus, Tandem's shipped rules in
//!   `crates/tandem-detect/rules/`, customers' own): stateless, `Sync`, evaluated with `&self`
//!   so request and pipeline threads share one set.
//! * [`SigmaCorrelator`] holds the state of Sigma correlation rules (`event_count`,
//!   `value_count`, `temporal`, …) and is fed the detection hits of each event; its state is
//!   exported as JSON and imported into a correlator built from a new rule set, so windows
//!   survive restarts and hot reloads.
//! * [`SigmaView`] and [`logsource_of`] are how an event looks to a rule: field names and
//!   log-source mapping are in `docs/detection/sigma.md`.
//!
//! **Routing.** Rules are grouped by their exact log source (product, service, category), one
//! RSigma [`Engine`] per group. An event's log source selects the groups whose every set
//! dimension equals the event's (the same test as RSigma's `evaluate_with_logsource`), by at
//! most eight hash look-ups per category, so a badge event evaluates no Windows rule at all, and
//! within a group RSigma's own candidate index skips rules the event's values cannot match.
//! One engine over the whole corpus would probe every field name any rule uses (over a
//! thousand) for every event; per-group engines probe only their own.

mod correlate;
mod view;

pub use correlate::{MAX_GROUP_ENTRIES, MAX_GROUPS, SigmaCorrelator, StateError};
pub use rsigma_parser::LogSource;
pub use view::{SigmaView, logsource_of, logsources_of};

use crate::Directory;
use rsigma_eval::{Engine, EvaluationResult};
use rsigma_parser::{
    CorrelationRule, FilterRule, FilterRuleTarget, Level, SigmaCollection, SigmaRule,
    parse_sigma_yaml,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tandem_model::{Entities, Event, Finding, Severity};

/// What kind of Sigma document a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Detection,
    Correlation,
    /// A Sigma filter: narrows other rules, never fires itself.
    Filter,
}

/// One rule of a loaded set, for listing and configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// The Sigma `id`, or the title for a rule without one: what findings carry as `rule_id`
    /// and what `disabled` lists name.
    pub id: String,
    pub title: String,
    /// What the rule looks for, in its author's words (`description`), when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `informational`, `low`, `medium`, `high`, `critical`, when the rule says.
    pub level: Option<String>,
    /// `stable`, `test`, `experimental`, `deprecated`, `unsupported`, when the rule says.
    pub status: Option<String>,
    /// Tags as written (`attack.t1078`, `attack.initial-access`, `physical.tailgating`).
    pub tags: Vec<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    pub category: Option<String>,
    pub path: PathBuf,
    pub kind: RuleKind,
    /// False when disabled by configuration or not loaded (see [`LoadReport::issues`]).
    pub enabled: bool,
}

/// A file or rule that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadIssue {
    pub path: PathBuf,
    /// Id or title of the rule, when the problem is one rule rather than the whole file.
    pub rule: Option<String>,
    /// Short and stable enough to group by: `parse: …`, `compile: …`, `correlation: …`.
    pub reason: String,
}

/// What [`SigmaRules::load`] read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadReport {
    pub files: usize,
    /// Detection rules compiled and routed.
    pub detection_rules: usize,
    /// Correlation rules loaded.
    pub correlation_rules: usize,
    /// Filters applied.
    pub filters: usize,
    /// Rules skipped because configuration disabled them.
    pub disabled: usize,
    /// Everything that could not be loaded, with the reason; a listed rule is not evaluated.
    pub issues: Vec<LoadIssue>,
}

impl LoadReport {
    /// Issues counted by reason with the specifics cut off (`compile: invalid regex pattern`),
    /// for a one-screen summary of a large corpus.
    pub fn reasons(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for i in &self.issues {
            let mut parts = i.reason.splitn(3, ':');
            let head = match (parts.next(), parts.next()) {
                (Some(a), Some(b)) => format!("{}:{}", a.trim(), b.trim_end()),
                (Some(a), None) => a.to_owned(),
                _ => String::new(),
            };
            let head: String = head.chars().take(90).collect();
            *out.entry(head).or_insert(0) += 1;
        }
        out
    }
}

/// Detection hits of one event, as the engine reported them: input to
/// [`SigmaRules::findings`] and [`SigmaCorrelator::observe`].
#[derive(Debug, Clone, Default)]
pub struct SigmaMatches {
    results: Vec<EvaluationResult>,
}

impl SigmaMatches {
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Ids (or titles) of the rules that matched.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.results
            .iter()
            .map(|r| r.header.rule_id.as_deref().unwrap_or(&r.header.rule_title))
    }

    pub(crate) fn results(&self) -> &[EvaluationResult] {
        &self.results
    }
}

/// A rule that matched an event when evaluated without routing
/// ([`SigmaRules::matches_unrouted`]).
#[derive(Debug, Clone, PartialEq)]
pub struct UnroutedHit {
    /// Id (or title) of the rule.
    pub rule: String,
    /// The rule's `logsource`.
    pub logsource: LogSource,
    /// The fields it matched on (`EventID`, `CommandLine`, …).
    pub fields: Vec<String>,
}

/// Counters since the set was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SigmaStats {
    pub events: u64,
    /// Rules whose log source matched an event, summed over events: what routing let through
    /// to RSigma (whose candidate index then skips more).
    pub rules_routed: u64,
    pub matches: u64,
}

/// Rules that share one log source, in one engine.
struct Partition {
    engine: Engine,
    /// Ids and titles of the rules in it, for filters.
    keys: HashSet<String>,
    product: Option<String>,
    service: Option<String>,
    category: Option<String>,
}

/// Interned log-source values: a partition is keyed by three small numbers, so routing an
/// event needs no allocation. 0 is "not set".
#[derive(Default)]
struct Dim(HashMap<String, u32>);

impl Dim {
    fn intern(&mut self, v: Option<&str>) -> u32 {
        match v {
            None => 0,
            Some(v) => {
                let next = self.0.len() as u32 + 1;
                *self.0.entry(v.to_ascii_lowercase()).or_insert(next)
            }
        }
    }

    /// The ids a rule dimension may have to match an event whose value is `v`: "not set",
    /// and `v` itself when some rule uses it.
    fn candidates(&self, v: Option<&str>) -> [Option<u32>; 2] {
        [Some(0), v.and_then(|v| self.0.get(v).copied())]
    }
}

/// A loaded Sigma rule set. See the module documentation.
pub struct SigmaRules {
    partitions: Vec<Partition>,
    by_key: HashMap<(u32, u32, u32), usize>,
    products: Dim,
    services: Dim,
    categories: Dim,
    infos: Vec<RuleInfo>,
    /// Detection rules referenced only by correlations with `generate: false` (Sigma's
    /// default): their hits feed correlations but are not findings of their own.
    correlation_only: HashSet<String>,
    /// What a [`SigmaCorrelator`] is built from: correlation rules and the detection rules
    /// they reference.
    pub(crate) correlation_sources: Arc<SigmaCollection>,
    /// What could not be used when this set was loaded.
    issues: Vec<LoadIssue>,
    /// Each rule's `description` by its key (id, else title): a finding says what its rule
    /// looks for, as a native one does.
    pub(crate) descriptions: HashMap<String, String>,
    events: AtomicU64,
    rules_routed: AtomicU64,
    matches: AtomicU64,
}

impl std::fmt::Debug for SigmaRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigmaRules")
            .field("partitions", &self.partitions.len())
            .field("rules", &self.infos.len())
            .finish_non_exhaustive()
    }
}

fn level_name(l: Level) -> &'static str {
    l.as_str()
}

fn status_name<T: std::fmt::Debug>(s: &T) -> String {
    format!("{s:?}").to_ascii_lowercase()
}

/// Sigma's levels are Tandem's severities by name; a rule without one is medium (Sigma's
/// "needs a look, not an emergency" middle).
pub(crate) fn severity_of(level: Option<Level>) -> Severity {
    match level {
        Some(Level::Informational) => Severity::Informational,
        Some(Level::Low) => Severity::Low,
        Some(Level::Medium) | None => Severity::Medium,
        Some(Level::High) => Severity::High,
        Some(Level::Critical) => Severity::Critical,
    }
}

fn rule_key(id: &Option<String>, title: &str) -> String {
    id.clone().unwrap_or_else(|| title.to_owned())
}

fn is_disabled(disabled: &HashSet<String>, id: &Option<String>, title: &str) -> bool {
    id.as_ref().is_some_and(|i| disabled.contains(i)) || disabled.contains(title)
}

/// `*.yml` / `*.yaml` under `dir`, recursively, sorted so loads are reproducible.
fn rule_files(dir: &Path, out: &mut Vec<PathBuf>, issues: &mut Vec<LoadIssue>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            issues.push(LoadIssue {
                path: dir.to_owned(),
                rule: None,
                reason: format!("read: cannot list directory: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            rule_files(&p, out, issues);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
        {
            out.push(p);
        }
    }
}

/// One line: engine errors can carry a whole regex or YAML excerpt.
fn short(s: impl std::fmt::Display) -> String {
    let s = s.to_string();
    let line = s.lines().next().unwrap_or("").trim();
    if line.chars().count() > 200 {
        let cut: String = line.chars().take(200).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

impl SigmaRules {
    /// Loads every `*.yml`/`*.yaml` under `dirs` (a directory or a single file each). A file
    /// may hold several documents: detection, correlation and filter rules, and Sigma's
    /// `action: global`/`repeat` collections. Rules named (by id or title) in `disabled` are
    /// listed but not evaluated. Nothing here fails the load: a file or rule that cannot be
    /// read, parsed or compiled is left out and listed in the report with the reason.
    pub fn load(dirs: &[PathBuf], disabled: &HashSet<String>) -> (SigmaRules, LoadReport) {
        let mut report = LoadReport::default();
        let mut files = Vec::new();
        for d in dirs {
            if d.is_file() {
                files.push(d.clone());
            } else {
                rule_files(d, &mut files, &mut report.issues);
            }
        }
        report.files = files.len();
        let mut documents = Vec::with_capacity(files.len());
        for path in files {
            match std::fs::read_to_string(&path) {
                Ok(text) => documents.push((path, text)),
                Err(e) => report.issues.push(LoadIssue {
                    path,
                    rule: None,
                    reason: format!("read: {e}"),
                }),
            }
        }
        SigmaRules::load_documents(documents, disabled, report)
    }

    /// Loads rules from text rather than files: what the console's "test a rule" runs on a
    /// draft before it is saved anywhere. `name` stands in for the file name in the report.
    pub fn from_text(name: &str, text: &str) -> (SigmaRules, LoadReport) {
        let report = LoadReport {
            files: 1,
            ..LoadReport::default()
        };
        SigmaRules::load_documents(
            vec![(PathBuf::from(name), text.to_owned())],
            &HashSet::new(),
            report,
        )
    }

    fn load_documents(
        documents: Vec<(PathBuf, String)>,
        disabled: &HashSet<String>,
        mut report: LoadReport,
    ) -> (SigmaRules, LoadReport) {
        let mut set = SigmaRules::empty();
        let mut staged: Vec<Vec<rsigma_eval::CompiledRule>> = Vec::new();
        let mut detections: Vec<(SigmaRule, usize)> = Vec::new();
        let mut correlations: Vec<(CorrelationRule, PathBuf)> = Vec::new();
        let mut filters: Vec<(FilterRule, PathBuf)> = Vec::new();

        for (path, text) in &documents {
            let collection = match parse_sigma_yaml(text) {
                Ok(c) => c,
                Err(e) => {
                    report.issues.push(LoadIssue {
                        path: path.clone(),
                        rule: None,
                        reason: format!("parse: {}", short(e)),
                    });
                    continue;
                }
            };
            for err in &collection.errors {
                report.issues.push(LoadIssue {
                    path: path.clone(),
                    rule: None,
                    reason: format!("parse: {}", short(err)),
                });
            }
            for rule in collection.rules {
                let ls = &rule.logsource;
                let info = RuleInfo {
                    id: rule_key(&rule.id, &rule.title),
                    title: rule.title.clone(),
                    description: rule.description.clone(),
                    level: rule.level.map(|l| level_name(l).to_owned()),
                    status: rule.status.as_ref().map(status_name),
                    tags: rule.tags.clone(),
                    product: ls.product.clone(),
                    service: ls.service.clone(),
                    category: ls.category.clone(),
                    path: path.clone(),
                    kind: RuleKind::Detection,
                    enabled: false,
                };
                let info_idx = set.infos.len();
                set.infos.push(info);
                if is_disabled(disabled, &rule.id, &rule.title) {
                    report.disabled += 1;
                    continue;
                }
                match rsigma_eval::compile_rule(&rule) {
                    Ok(compiled) => {
                        let p = set.partition_for(ls);
                        if staged.len() <= p {
                            staged.resize_with(p + 1, Vec::new);
                        }
                        let part = &mut set.partitions[p];
                        part.keys.insert(rule.title.clone());
                        if let Some(id) = &rule.id {
                            part.keys.insert(id.clone());
                        }
                        if let Some(name) = &rule.name {
                            part.keys.insert(name.clone());
                        }
                        staged[p].push(compiled);
                        set.infos[info_idx].enabled = true;
                        report.detection_rules += 1;
                        detections.push((rule, info_idx));
                    }
                    Err(e) => report.issues.push(LoadIssue {
                        path: path.clone(),
                        rule: Some(rule_key(&rule.id, &rule.title)),
                        reason: format!("compile: {}", short(e)),
                    }),
                }
            }
            for c in collection.correlations {
                correlations.push((c, path.clone()));
            }
            for f in collection.filters {
                filters.push((f, path.clone()));
            }
        }

        // One batch per engine: RSigma rebuilds its indexes once per batch.
        for (p, rules) in staged.into_iter().enumerate() {
            set.partitions[p].engine.extend_compiled_rules(rules);
        }

        for (filter, path) in filters {
            let info = RuleInfo {
                id: rule_key(&filter.id, &filter.title),
                title: filter.title.clone(),
                description: filter.description.clone(),
                level: filter.level.map(|l| level_name(l).to_owned()),
                status: filter.status.as_ref().map(status_name),
                tags: filter.tags.clone(),
                product: filter.logsource.as_ref().and_then(|l| l.product.clone()),
                service: filter.logsource.as_ref().and_then(|l| l.service.clone()),
                category: filter.logsource.as_ref().and_then(|l| l.category.clone()),
                path: path.clone(),
                kind: RuleKind::Filter,
                enabled: false,
            };
            let idx = set.infos.len();
            set.infos.push(info);
            if is_disabled(disabled, &filter.id, &filter.title) {
                report.disabled += 1;
                continue;
            }
            match set.apply_filter(&filter) {
                Ok(0) => report.issues.push(LoadIssue {
                    path,
                    rule: Some(rule_key(&filter.id, &filter.title)),
                    reason: "filter: matches no loaded rule".to_owned(),
                }),
                Ok(_) => {
                    set.infos[idx].enabled = true;
                    report.filters += 1;
                }
                Err(e) => report.issues.push(LoadIssue {
                    path,
                    rule: Some(rule_key(&filter.id, &filter.title)),
                    reason: format!("filter: {}", short(e)),
                }),
            }
        }

        set.load_correlations(correlations, detections, disabled, &mut report);
        set.issues = report.issues.clone();
        set.descriptions = set
            .infos
            .iter()
            .filter_map(|i| Some((i.id.clone(), i.description.clone()?)))
            .collect();
        (set, report)
    }

    /// A set with no rules: evaluates nothing.
    pub fn empty() -> SigmaRules {
        SigmaRules {
            partitions: Vec::new(),
            by_key: HashMap::new(),
            products: Dim::default(),
            services: Dim::default(),
            categories: Dim::default(),
            infos: Vec::new(),
            correlation_only: HashSet::new(),
            correlation_sources: Arc::new(SigmaCollection::new()),
            issues: Vec::new(),
            descriptions: HashMap::new(),
            events: AtomicU64::new(0),
            rules_routed: AtomicU64::new(0),
            matches: AtomicU64::new(0),
        }
    }

    fn partition_for(&mut self, ls: &LogSource) -> usize {
        let key = (
            self.products.intern(ls.product.as_deref()),
            self.services.intern(ls.service.as_deref()),
            self.categories.intern(ls.category.as_deref()),
        );
        if let Some(&p) = self.by_key.get(&key) {
            return p;
        }
        let lower = |v: &Option<String>| v.as_ref().map(|s| s.to_ascii_lowercase());
        self.partitions.push(Partition {
            engine: Engine::new(),
            keys: HashSet::new(),
            product: lower(&ls.product),
            service: lower(&ls.service),
            category: lower(&ls.category),
        });
        self.by_key.insert(key, self.partitions.len() - 1);
        self.partitions.len() - 1
    }

    /// Applies a Sigma filter to the engines holding rules it names (or, for `rules: any`,
    /// whose log source it covers); returns how many engines it touched.
    fn apply_filter(&mut self, filter: &FilterRule) -> Result<usize, rsigma_eval::EvalError> {
        let mut touched = 0;
        for part in &mut self.partitions {
            let named = match &filter.rules {
                FilterRuleTarget::Any => true,
                FilterRuleTarget::Specific(refs) => refs.iter().any(|r| part.keys.contains(r)),
            };
            let covered = filter.logsource.as_ref().is_none_or(|fl| {
                let dim = |f: &Option<String>, r: &Option<String>| {
                    f.as_ref()
                        .is_none_or(|f| r.as_ref().is_some_and(|r| r.eq_ignore_ascii_case(f)))
                };
                dim(&fl.product, &part.product)
                    && dim(&fl.service, &part.service)
                    && dim(&fl.category, &part.category)
            });
            if named && covered {
                part.engine.apply_filter(filter)?;
                touched += 1;
            }
        }
        Ok(touched)
    }

    fn load_correlations(
        &mut self,
        correlations: Vec<(CorrelationRule, PathBuf)>,
        detections: Vec<(SigmaRule, usize)>,
        disabled: &HashSet<String>,
        report: &mut LoadReport,
    ) {
        let mut live: Vec<(CorrelationRule, PathBuf, usize)> = Vec::new();
        for (c, path) in correlations {
            let idx = self.infos.len();
            self.infos.push(RuleInfo {
                id: rule_key(&c.id, &c.title),
                title: c.title.clone(),
                description: c.description.clone(),
                level: c.level.map(|l| level_name(l).to_owned()),
                status: c.status.as_ref().map(status_name),
                tags: c.tags.clone(),
                product: None,
                service: None,
                category: None,
                path: path.clone(),
                kind: RuleKind::Correlation,
                enabled: false,
            });
            if is_disabled(disabled, &c.id, &c.title) {
                report.disabled += 1;
            } else {
                live.push((c, path, idx));
            }
        }
        if live.is_empty() {
            return;
        }

        // A correlation is usable when every rule it names is loaded; dropping one may strand
        // another that names it, hence the loop.
        let detection_names: HashSet<&str> = detections
            .iter()
            .flat_map(|(r, _)| [r.id.as_deref(), r.name.as_deref()])
            .flatten()
            .collect();
        loop {
            let corr_names: HashSet<String> = live
                .iter()
                .flat_map(|(c, _, _)| [c.id.clone(), c.name.clone()])
                .flatten()
                .collect();
            let before = live.len();
            live.retain(|(c, path, _)| {
                let missing: Vec<&String> = c
                    .rules
                    .iter()
                    .filter(|r| !detection_names.contains(r.as_str()) && !corr_names.contains(*r))
                    .collect();
                if missing.is_empty() {
                    return true;
                }
                report.issues.push(LoadIssue {
                    path: path.clone(),
                    rule: Some(rule_key(&c.id, &c.title)),
                    reason: format!(
                        "correlation: references rules that are not loaded: {}",
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
                false
            });
            if live.len() == before {
                break;
            }
        }

        // Each correlation must compile on its own; then the set must hold together (no
        // cycles), checked by building the engine a correlator will build.
        live.retain(
            |(c, path, _)| match rsigma_eval::correlation::compile_correlation(c) {
                Ok(_) => true,
                Err(e) => {
                    report.issues.push(LoadIssue {
                        path: path.clone(),
                        rule: Some(rule_key(&c.id, &c.title)),
                        reason: format!("correlation: {}", short(e)),
                    });
                    false
                }
            },
        );
        let referenced: HashSet<&str> = live
            .iter()
            .flat_map(|(c, _, _)| c.rules.iter().map(String::as_str))
            .collect();
        let mut sources = SigmaCollection::new();
        for (rule, _) in &detections {
            let named = [rule.id.as_deref(), rule.name.as_deref()]
                .into_iter()
                .flatten()
                .any(|n| referenced.contains(n));
            if named {
                sources.rules.push(rule.clone());
            }
        }
        sources.correlations = live.iter().map(|(c, _, _)| c.clone()).collect();
        let mut probe =
            rsigma_eval::CorrelationEngine::new(rsigma_eval::CorrelationConfig::default());
        if let Err(e) = probe.add_collection(&sources) {
            for (c, path, _) in &live {
                report.issues.push(LoadIssue {
                    path: path.clone(),
                    rule: Some(rule_key(&c.id, &c.title)),
                    reason: format!("correlation: set rejected: {}", short(&e)),
                });
            }
            return;
        }
        // Hits are matched to correlations by rule id (what RSigma reports), whatever name the
        // correlation used.
        let id_of = |r: &str| -> Option<String> {
            sources
                .rules
                .iter()
                .find(|d| d.id.as_deref() == Some(r) || d.name.as_deref() == Some(r))
                .map(|d| d.id.clone().unwrap_or_else(|| d.title.clone()))
        };
        for (c, _, idx) in &live {
            self.infos[*idx].enabled = true;
            report.correlation_rules += 1;
            if !c.generate {
                self.correlation_only
                    .extend(c.rules.iter().filter_map(|r| id_of(r)));
            }
        }
        self.correlation_sources = Arc::new(sources);
    }

    /// The files and rules that could not be used when this set was loaded, and why.
    pub fn issues(&self) -> &[LoadIssue] {
        &self.issues
    }

    /// Every rule read, loaded or not.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.infos.clone()
    }

    /// Detection rules being evaluated.
    pub fn detection_rule_count(&self) -> usize {
        self.partitions.iter().map(|p| p.engine.rule_count()).sum()
    }

    /// Correlation rules a [`SigmaCorrelator`] built from this set runs.
    pub fn correlation_rule_count(&self) -> usize {
        self.correlation_sources.correlations.len()
    }

    /// The engines an event is routed to (indices into `partitions`).
    fn route(&self, event: &Event, family: view::Family) -> ([usize; 16], usize) {
        let route = view::route_of(event, family);
        let mut out = [0usize; 16];
        let mut n = 0;
        let cats: &[&str] = route.categories;
        let mut cat_ids: [Option<u32>; 4] = [Some(0), None, None, None];
        for (i, c) in cats.iter().take(3).enumerate() {
            cat_ids[i + 1] = self.categories.0.get(*c).copied();
        }
        for p in self
            .products
            .candidates(route.product)
            .into_iter()
            .flatten()
        {
            for s in self
                .services
                .candidates(route.service.as_deref())
                .into_iter()
                .flatten()
            {
                for c in cat_ids.into_iter().flatten() {
                    if let Some(&idx) = self.by_key.get(&(p, s, c))
                        && !out[..n].contains(&idx)
                        && n < out.len()
                    {
                        out[n] = idx;
                        n += 1;
                    }
                }
            }
        }
        (out, n)
    }

    /// Every rule's hits on `event` whatever the rule's log source, each with that log source
    /// and the fields it matched on: what routing is checked against (a rule routing kept
    /// away must be one whose log source the event does not have). Slow, every engine sees
    /// the event; for tests and `tandem rules`-style audits, never the stream.
    pub fn matches_unrouted(&self, event: &Event) -> Vec<UnroutedHit> {
        let view = SigmaView::new(event);
        let mut out = Vec::new();
        for part in &self.partitions {
            for r in part.engine.evaluate(&view) {
                let fields = r
                    .as_detection()
                    .map(|d| d.matched_fields.iter().map(|m| m.field.clone()).collect())
                    .unwrap_or_default();
                out.push(UnroutedHit {
                    rule: r
                        .header
                        .rule_id
                        .clone()
                        .unwrap_or(r.header.rule_title.clone()),
                    logsource: LogSource {
                        product: part.product.clone(),
                        service: part.service.clone(),
                        category: part.category.clone(),
                        ..LogSource::default()
                    },
                    fields,
                });
            }
        }
        out
    }

    /// How many rules an event's log source lets through to the engine.
    pub fn routed_rule_count(&self, event: &Event) -> usize {
        let (parts, n) = self.route(event, view::family_of(event));
        parts[..n]
            .iter()
            .map(|&p| self.partitions[p].engine.rule_count())
            .sum()
    }

    /// The rules that match `event`, for [`SigmaRules::findings`] and
    /// [`SigmaCorrelator::observe`].
    pub fn matches(&self, event: &Event) -> SigmaMatches {
        let view = SigmaView::new(event);
        let (parts, n) = self.route(event, view.family());
        let mut results = Vec::new();
        let mut routed = 0;
        for &p in &parts[..n] {
            let engine = &self.partitions[p].engine;
            routed += engine.rule_count() as u64;
            results.extend(engine.evaluate(&view));
        }
        self.events.fetch_add(1, Ordering::Relaxed);
        self.rules_routed.fetch_add(routed, Ordering::Relaxed);
        if !results.is_empty() {
            self.matches
                .fetch_add(results.len() as u64, Ordering::Relaxed);
        }
        SigmaMatches { results }
    }

    /// The findings for `matches` of `event`: one per matching rule, except rules that only
    /// feed correlations.
    pub fn findings(&self, event: &Event, matches: &SigmaMatches) -> Vec<Finding> {
        self.findings_in(event, matches, None)
    }

    /// [`SigmaRules::findings`], naming places in the summary by their names in `dir`
    /// (a resolved event holds the directory's ids).
    pub fn findings_in(
        &self,
        event: &Event,
        matches: &SigmaMatches,
        dir: Option<&Directory>,
    ) -> Vec<Finding> {
        matches
            .results
            .iter()
            .filter(|r| {
                !r.header
                    .rule_id
                    .as_ref()
                    .is_some_and(|id| self.correlation_only.contains(id))
                    && !self.correlation_only.contains(&r.header.rule_title)
            })
            .filter_map(|r| {
                let key = r.header.rule_id.as_ref().unwrap_or(&r.header.rule_title);
                let description = self.descriptions.get(key).map(String::as_str);
                detection_finding(event, r, description, dir)
            })
            .collect()
    }

    /// Evaluates one event: its findings, one per matching detection rule.
    pub fn evaluate(&self, event: &Event) -> Vec<Finding> {
        let m = self.matches(event);
        if m.is_empty() {
            return Vec::new();
        }
        self.findings(event, &m)
    }

    /// Runs the set over past events as though they arrived now, oldest first, with a
    /// correlator of its own: what "test a rule against recent events" shows. No live
    /// state is touched, so a draft can be tried on a running server.
    pub fn replay(&self, events: &[Event]) -> Vec<Finding> {
        let mut order: Vec<&Event> = events.iter().collect();
        order.sort_by_key(|e| (e.time, e.id));
        let mut correlator =
            (self.correlation_rule_count() > 0).then(|| SigmaCorrelator::new(self));
        let mut out = Vec::new();
        for e in order {
            let m = self.matches(e);
            if m.is_empty() {
                continue;
            }
            out.extend(self.findings(e, &m));
            if let Some(c) = correlator.as_mut() {
                out.extend(c.observe(e, &m));
            }
        }
        out
    }

    pub fn stats(&self) -> SigmaStats {
        SigmaStats {
            events: self.events.load(Ordering::Relaxed),
            rules_routed: self.rules_routed.load(Ordering::Relaxed),
            matches: self.matches.load(Ordering::Relaxed),
        }
    }
}

/// The people, devices, places and addresses of an event.
pub(crate) fn entities_of(e: &Event) -> Entities {
    let mut ent = Entities::default();
    if let Some(p) = &e.actor.person {
        ent.persons.push(p.id.clone());
    }
    if let Some(u) = &e.actor.user {
        ent.users.push(u.clone());
    }
    if let Some(d) = &e.device
        && let Some(id) = d.id.as_ref().or(d.hostname.as_ref())
    {
        ent.devices.push(id.clone());
    }
    if let Some(p) = &e.place {
        for v in [&p.door, &p.zone].into_iter().flatten() {
            ent.places.push(v.clone());
        }
    }
    for ip in [
        e.src.as_ref().and_then(|s| s.ip),
        e.dst.as_ref().and_then(|d| d.ip),
    ]
    .into_iter()
    .flatten()
    {
        let s = ip.to_string();
        if !ent.ips.contains(&s) {
            ent.ips.push(s);
        }
    }
    ent
}

/// What a finding is mainly about, for its dedup key: the person, else the account, the
/// device, the door, the source address, and the event itself when there is nothing else.
pub(crate) fn main_entity(e: &Event, ent: &Entities) -> String {
    ent.persons
        .first()
        .map(|p| format!("person={p}"))
        .or_else(|| ent.users.first().map(|u| format!("user={u}")))
        .or_else(|| ent.devices.first().map(|d| format!("device={d}")))
        .or_else(|| ent.places.first().map(|p| format!("place={p}")))
        .or_else(|| ent.ips.first().map(|i| format!("ip={i}")))
        .unwrap_or_else(|| format!("event={}", e.id))
}

/// "user alice on web-1 from 203.0.113.5 at Server room east": who, where, from where; a
/// place by its name in `dir` when given.
pub(crate) fn context(e: &Event, dir: Option<&Directory>) -> String {
    let mut parts = Vec::new();
    let who = e
        .actor
        .person
        .as_ref()
        .and_then(|p| p.name.clone().or(Some(p.id.clone())))
        .or_else(|| e.actor.user.clone())
        .or_else(|| e.actor.badge.as_ref().map(|b| format!("badge {b}")));
    if let Some(w) = who {
        parts.push(w);
    }
    if let Some(h) = e.device.as_ref().and_then(|d| d.hostname.as_ref()) {
        parts.push(format!("on {h}"));
    }
    if let Some(ip) = e.src.as_ref().and_then(|s| s.ip) {
        parts.push(format!("from {ip}"));
    }
    if let Some(p) = &e.place
        && let Some(at) = p.door.as_ref().or(p.zone.as_ref()).or(p.camera.as_ref())
    {
        let name = dir
            .and_then(|d| d.find_place(at))
            .map_or(at.as_str(), |p| p.name.as_str());
        parts.push(format!("at {name}"));
    }
    parts.join(" ")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let c: String = s.chars().take(n).collect();
        format!("{c}…")
    } else {
        s.to_owned()
    }
}

/// What a rule matched, in words: "EventID is 4625 and LogonType is 3". Values are clipped;
/// at most `max` fields are named.
pub(crate) fn conditions_in_words<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a serde_json::Value)>,
    max: usize,
) -> String {
    let said: Vec<String> = fields
        .into_iter()
        .take(max)
        .map(|(field, v)| {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            format!("{field} is {}", clip(&v, 80))
        })
        .collect();
    said.join(" and ")
}

fn detection_finding(
    event: &Event,
    r: &EvaluationResult,
    description: Option<&str>,
    dir: Option<&Directory>,
) -> Option<Finding> {
    let body = r.as_detection()?;
    let h = &r.header;
    let rule_id = h.rule_id.clone().unwrap_or_else(|| h.rule_title.clone());
    let entities = entities_of(event);
    let mut matched = serde_json::Map::new();
    for m in &body.matched_fields {
        matched.entry(m.field.clone()).or_insert(m.value.clone());
    }
    let said = conditions_in_words(matched.iter().map(|(k, v)| (k.as_str(), v)), 3);
    let ctx = context(event, dir);
    let mut summary = h.rule_title.clone();
    if !ctx.is_empty() {
        summary.push_str(" — ");
        summary.push_str(&ctx);
    }
    if !said.is_empty() {
        summary.push_str(&format!(": {said}"));
    }
    // The rule's selections (`selection`, `filter_main`) are its author's names for parts of
    // the condition: they mean nothing to the person reading the finding, so they are not
    // kept; the fields and values that matched are, and in words.
    let mut detail = serde_json::Map::new();
    if let Some(d) = description {
        detail.insert("description".into(), d.trim().into());
    }
    if !matched.is_empty() {
        detail.insert(
            "conditions".into(),
            conditions_in_words(matched.iter().map(|(k, v)| (k.as_str(), v)), 16).into(),
        );
        detail.insert("matched".into(), serde_json::Value::Object(matched));
    }
    let dedup_key = format!("sigma:{rule_id}:{}", main_entity(event, &entities));
    Some(Finding {
        rule_id,
        rule_title: h.rule_title.clone(),
        engine: "sigma".to_owned(),
        severity: severity_of(h.level),
        tags: h.tags.clone(),
        time: event.time,
        summary,
        evidence: vec![event.id],
        entities,
        place: None,
        dedup_key,
        score: None,
        detail,
    })
}
