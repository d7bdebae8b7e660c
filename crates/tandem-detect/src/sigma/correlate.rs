//! Sigma correlation rules: windows of detection hits per group, in event time.

use super::{SigmaMatches, SigmaRules, SigmaView, context, entities_of, severity_of};
use crate::Directory;
use rsigma_eval::{
    CorrelationConfig, CorrelationEngine, CorrelationEventMode, CorrelationSnapshot,
    EvaluationResult,
};
use std::collections::{HashMap, HashSet};
use tandem_model::{Event, Finding, Timestamp, Ulid};

/// How many event ids a correlation window keeps for a finding's evidence.
const EVIDENCE_CAP: usize = 32;

/// How many hits one group's window keeps at most (the newest), unless a rule says otherwise
/// with `rsigma.max_group_entries`. A sliding window drops hits from its front while they are
/// older than the window, so once event time goes back (backfilled logs, a replayed day) the
/// newer hit at the front stops every older one behind it from leaving: without a cap the
/// window grows by every hit until time catches up, or forever. A thousand is far above any
/// threshold a correlation counts to; a cap can only under-count, never fire early.
pub const MAX_GROUP_ENTRIES: usize = 1_000;

/// Open (correlation, group) windows kept at most; over it the stalest go first.
pub const MAX_GROUPS: usize = 100_000;

/// Why exported state could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("correlation state is not a snapshot RSigma can read: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("correlation state was written by an incompatible version of the engine")]
    Version,
}

/// The state of a rule set's correlation rules. One per event stream, fed in event order
/// (`&mut self`); detection itself stays in the shared, stateless [`SigmaRules`].
///
/// Windows run on each event's own `time`, never the wall clock, so replaying a day of logs
/// correlates as the day did. Each window keeps the ids of its last 32 events,
/// which become the finding's evidence.
pub struct SigmaCorrelator {
    engine: CorrelationEngine,
    /// Ids and names of the detection rules some correlation uses: other hits are not fed.
    referenced: HashSet<String>,
    count: usize,
    /// Each correlation's `description` by its key, for its findings.
    descriptions: HashMap<String, String>,
}

impl std::fmt::Debug for SigmaCorrelator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigmaCorrelator")
            .field("correlations", &self.count)
            .field("groups", &self.engine.state_count())
            .finish()
    }
}

impl SigmaCorrelator {
    /// A correlator with empty state for the correlation rules of `rules`.
    pub fn new(rules: &SigmaRules) -> SigmaCorrelator {
        let config = CorrelationConfig {
            correlation_event_mode: CorrelationEventMode::Refs,
            max_correlation_events: EVIDENCE_CAP,
            max_group_entries: Some(MAX_GROUP_ENTRIES),
            max_state_entries: MAX_GROUPS,
            ..CorrelationConfig::default()
        };
        let mut engine = CorrelationEngine::new(config.clone());
        let sources = &rules.correlation_sources;
        // Checked when the set was loaded; a failure here leaves the correlator empty.
        if let Err(e) = engine.add_collection(sources) {
            tracing::warn!(error = %e, "sigma correlations could not be loaded");
            engine = CorrelationEngine::new(config);
        }
        let refs: HashSet<&str> = sources
            .correlations
            .iter()
            .flat_map(|c| c.rules.iter().map(String::as_str))
            .collect();
        // RSigma reports hits by rule id; correlations may name their rules by `name`.
        let referenced = sources
            .rules
            .iter()
            .filter(|r| {
                [r.id.as_deref(), r.name.as_deref()]
                    .into_iter()
                    .flatten()
                    .any(|n| refs.contains(n))
            })
            .filter_map(|r| r.id.clone())
            .collect();
        let descriptions = sources
            .correlations
            .iter()
            .filter_map(|c| {
                let key = c.id.clone().unwrap_or_else(|| c.title.clone());
                Some((key.clone(), rules.descriptions.get(&key)?.clone()))
            })
            .collect();
        SigmaCorrelator {
            descriptions,
            count: engine.correlation_rule_count(),
            engine,
            referenced,
        }
    }

    /// Correlation rules running.
    pub fn correlation_count(&self) -> usize {
        self.count
    }

    /// Open (correlation, group) windows.
    pub fn group_count(&self) -> usize {
        self.engine.state_count()
    }

    /// Feeds one event and its detection hits; returns the correlations it completes.
    pub fn observe(&mut self, event: &Event, matches: &SigmaMatches) -> Vec<Finding> {
        self.observe_in(event, matches, None)
    }

    /// [`SigmaCorrelator::observe`], naming places in the summary by their names in `dir`.
    pub fn observe_in(
        &mut self,
        event: &Event,
        matches: &SigmaMatches,
        dir: Option<&Directory>,
    ) -> Vec<Finding> {
        if self.count == 0 || matches.is_empty() {
            return Vec::new();
        }
        let relevant: Vec<EvaluationResult> = matches
            .results()
            .iter()
            .filter(|r| {
                r.header
                    .rule_id
                    .as_ref()
                    .is_some_and(|id| self.referenced.contains(id))
            })
            .cloned()
            .collect();
        if relevant.is_empty() {
            return Vec::new();
        }
        let view = SigmaView::new(event);
        let out = self
            .engine
            .process_with_detections(&view, relevant, event.time.timestamp());
        out.iter()
            .filter(|r| r.is_correlation())
            .filter_map(|r| {
                let key = r.header.rule_id.as_ref().unwrap_or(&r.header.rule_title);
                let description = self.descriptions.get(key).map(String::as_str);
                correlation_finding(event, r, description, dir)
            })
            .collect()
    }

    /// Drops windows that ended before `now` (event time), bounding memory on quiet streams.
    pub fn evict(&mut self, now: Timestamp) {
        self.engine.evict_expired(now.timestamp());
    }

    /// Every open window, keyed by correlation id, as JSON.
    pub fn export_state(&self) -> serde_json::Value {
        serde_json::to_value(self.engine.export_state()).unwrap_or(serde_json::Value::Null)
    }

    /// Restores [`SigmaCorrelator::export_state`] output, possibly from a correlator of an
    /// older rule set: windows of correlations that no longer exist are dropped, the others
    /// continue.
    pub fn import_state(&mut self, state: serde_json::Value) -> Result<(), StateError> {
        let snapshot: CorrelationSnapshot = serde_json::from_value(state)?;
        if self.engine.import_state(snapshot) {
            Ok(())
        } else {
            Err(StateError::Version)
        }
    }
}

fn correlation_finding(
    event: &Event,
    r: &EvaluationResult,
    description: Option<&str>,
    dir: Option<&Directory>,
) -> Option<Finding> {
    let body = r.as_correlation()?;
    let h = &r.header;
    let rule_id = h.rule_id.clone().unwrap_or_else(|| h.rule_title.clone());
    let mut evidence: Vec<Ulid> = body
        .event_refs
        .iter()
        .flatten()
        .filter_map(|r| r.id.as_deref()?.parse().ok())
        .collect();
    if !evidence.contains(&event.id) {
        evidence.push(event.id);
    }
    let mut entities = entities_of(event);
    let group: Vec<String> = body
        .group_key
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    // The group in words, places by their names: "door Server room door".
    let group_words: Vec<String> = body
        .group_key
        .iter()
        .map(|(k, v)| {
            let v = dir
                .and_then(|d| d.find_place(v))
                .map_or(v.as_str(), |p| p.name.as_str());
            format!("{k} {v}")
        })
        .collect();
    for (k, v) in &body.group_key {
        let k = k.to_ascii_lowercase();
        let list = if k.contains("door")
            || k.contains("zone")
            || k.contains("site")
            || k.contains("camera")
        {
            &mut entities.places
        } else if k.contains("person") {
            &mut entities.persons
        } else if k.contains("ip") {
            &mut entities.ips
        } else if k.contains("user") || k == "badge" {
            &mut entities.users
        } else if k.contains("device") || k.contains("host") || k.contains("computer") {
            &mut entities.devices
        } else {
            continue;
        };
        if !list.contains(v) {
            list.push(v.clone());
        }
    }
    let n = body.aggregated_value;
    let what = match body.correlation_type.as_str() {
        "event_count" => format!("{n} matching events"),
        "value_count" => format!("{n} distinct values"),
        "temporal" | "temporal_ordered" => format!("{n} of its rules"),
        other => format!("{other} {n}"),
    };
    let mut summary = format!(
        "{}: {what} within {}",
        h.rule_title,
        span(body.timespan_secs)
    );
    if !group_words.is_empty() {
        summary.push_str(&format!(" for {}", group_words.join(", ")));
    }
    let ctx = context(event, dir);
    if !ctx.is_empty() {
        summary.push_str(&format!(" (last: {ctx})"));
    }
    let mut detail = serde_json::Map::new();
    if let Some(d) = description {
        detail.insert("description".into(), d.trim().into());
    }
    detail.insert(
        "correlation_type".into(),
        body.correlation_type.as_str().into(),
    );
    detail.insert("aggregated_value".into(), n.into());
    detail.insert("timespan_secs".into(), body.timespan_secs.into());
    let group_obj: serde_json::Map<String, serde_json::Value> = body
        .group_key
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    if !group_obj.is_empty() {
        detail.insert("group".into(), group_obj.into());
    }
    let dedup_key = if group.is_empty() {
        format!("sigma_correlation:{rule_id}")
    } else {
        format!("sigma_correlation:{rule_id}:{}", group.join(","))
    };
    Some(Finding {
        rule_id,
        rule_title: h.rule_title.clone(),
        engine: "sigma_correlation".to_owned(),
        severity: severity_of(h.level),
        tags: h.tags.clone(),
        time: event.time,
        summary,
        evidence,
        entities,
        place: None,
        dedup_key,
        score: None,
        detail,
    })
}

/// A window in words: "10 min", "1 h", "2 d", "90 s".
fn span(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 && s > 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 && s > 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 && s > 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
