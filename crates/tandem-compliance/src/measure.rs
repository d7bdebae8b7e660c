//! Computing evidence: each definition's figure from the store, the incidents (through the
//! KPI engine's public API) and the facts only the server knows, and whether it passes.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tandem_cases::kpi::{self, KpiConfig, Window};
use tandem_cases::{Incident, IncidentStatus};
use tandem_store::{
    CaseStore, EventStore, EvidenceInput, RetentionPolicy, SearchRequest, SearchResult,
};

use crate::evidence::Definition;

/// What only the running server knows: its configuration and its rule engine.
pub trait Facts: Send + Sync {
    /// The retention policy in force.
    fn retention(&self) -> RetentionPolicy;
    /// How many detection rules are switched on; `None` when detection is off.
    fn rules_enabled(&self) -> Option<u64>;
}

/// Fixed facts: for tests, and the CLI's view of a stopped server.
#[derive(Debug, Clone, Default)]
pub struct FixedFacts {
    pub retention: RetentionPolicy,
    pub rules_enabled: Option<u64>,
}

impl Facts for FixedFacts {
    fn retention(&self) -> RetentionPolicy {
        self.retention.clone()
    }
    fn rules_enabled(&self) -> Option<u64> {
        self.rules_enabled
    }
}

/// Where evidence is read from.
pub struct Sources<'a> {
    pub events: &'a dyn EventStore,
    pub cases: &'a dyn CaseStore,
    pub facts: &'a dyn Facts,
    pub kpis: &'a KpiConfig,
}

/// The statuses a snapshot can have. Only `pass` is not a gap.
pub const PASS: &str = "pass";
pub const FAIL: &str = "fail";
/// Nothing to measure in the window (no incidents, no badge events).
pub const NO_DATA: &str = "no_data";
/// The evidence source does not exist yet.
pub const UNAVAILABLE: &str = "unavailable";
/// Measuring failed (a store error): said, never taken for a pass.
pub const ERROR: &str = "error";

/// Measures one definition at `now`.
pub fn measure(d: &Definition, src: &Sources<'_>, now: DateTime<Utc>) -> EvidenceInput {
    let window = Window {
        from: now - Duration::days(d.window_days.into()),
        to: now,
    };
    let mut detail = json!({
        "title": d.title,
        "framework": d.framework,
        "controls": d.controls,
        "pass": d.pass.describe(),
        "window": { "from": window.from, "to": window.to },
    });
    let (status, value, facts) = match figure(d, src, window, now) {
        Ok(Figure::Unavailable(reason)) => (UNAVAILABLE, None, json!({ "reason": reason })),
        Ok(Figure::Value(v, facts)) => {
            let status = if d.pass.passes(v) { PASS } else { FAIL };
            (status, Some(v), facts)
        }
        Ok(Figure::Nothing(reason)) => (NO_DATA, None, json!({ "reason": reason })),
        Err(e) => (ERROR, None, json!({ "reason": e })),
    };
    if let (Value::Object(d), Value::Object(f)) = (&mut detail, facts) {
        d.extend(f);
    }
    EvidenceInput {
        evidence: d.id.clone(),
        status: status.to_owned(),
        value,
        detail,
    }
}

enum Figure {
    Value(f64, Value),
    Nothing(String),
    Unavailable(String),
}

fn figure(
    d: &Definition,
    src: &Sources<'_>,
    window: Window,
    now: DateTime<Utc>,
) -> Result<Figure, String> {
    if let Some(reason) = &d.unavailable {
        return Ok(Figure::Unavailable(reason.clone()));
    }
    if let Some(q) = &d.query {
        let n = count(src.events, q, window)?;
        return Ok(Figure::Value(n as f64, json!({ "query": q, "matched": n })));
    }
    if let Some(r) = &d.ratio {
        let of = count(src.events, &r.of, window)?;
        let over = count(src.events, &r.over, window)?;
        let facts = json!({ "of": r.of, "over": r.over, "matched_of": of, "matched_over": over, "per": r.per });
        if over == 0 {
            return Ok(Figure::Nothing(format!(
                "no events matched `{}` in the window",
                r.over
            )));
        }
        return Ok(Figure::Value(of as f64 / over as f64 * r.per, facts));
    }
    let metric = d.metric.as_deref().unwrap_or_default();
    match metric {
        m if m.starts_with("incidents.") => incidents(m, src, window, now),
        "devices.online_share" => devices_online(src.events, window),
        "reports.feedback_share" => reports_feedback(src.cases, window, now),
        "sources.healthy_share" => sources_healthy(src.events, now),
        "sources.max_clock_skew_seconds" => clock_skew(src.events),
        "retention.in_force" => {
            let p = src.facts.retention();
            let on = p.max_age_days.is_some() || p.max_size_mib.is_some();
            Ok(Figure::Value(
                if on { 1.0 } else { 0.0 },
                json!({ "max_age_days": p.max_age_days, "max_size_mib": p.max_size_mib }),
            ))
        }
        "rules.enabled" => Ok(match src.facts.rules_enabled() {
            Some(n) => Figure::Value(n as f64, json!({ "enabled": n })),
            None => Figure::Value(0.0, json!({ "reason": "detection is switched off" })),
        }),
        other => Err(format!("unknown metric `{other}`")),
    }
}

/// Events matching `query` in the window.
fn count(events: &dyn EventStore, query: &str, window: Window) -> Result<u64, String> {
    let q = tandem_query::parse_at(query, window.to).map_err(|e| e.to_string())?;
    let mut req = SearchRequest::new(q);
    // Up to now inclusive: an event stamped this instant counts.
    req.from = Some(window.from);
    req.limit = 1;
    Ok(events.search(&req).map_err(|e| e.to_string())?.total())
}

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of as f64
}

fn incidents(
    metric: &str,
    src: &Sources<'_>,
    window: Window,
    now: DateTime<Utc>,
) -> Result<Figure, String> {
    let loaded = kpi::load(src.cases, window, None, src.kpis).map_err(|e| e.to_string())?;
    let all: Vec<&Incident> = loaded.iter().map(|k| &k.incident).collect();
    let none = |what: &str| Ok(Figure::Nothing(format!("no {what} in the window")));
    match metric {
        "incidents.playbook_share" => {
            if all.is_empty() {
                return none("incidents");
            }
            let with: Vec<&str> = all
                .iter()
                .filter(|i| !i.tasks.is_empty())
                .map(|i| i.id.as_str())
                .collect();
            let without: Vec<&str> = all
                .iter()
                .filter(|i| i.tasks.is_empty())
                .map(|i| i.id.as_str())
                .collect();
            Ok(Figure::Value(
                share(with.len(), all.len()),
                json!({ "incidents": all.len(), "with_playbook_tasks": with.len(), "without": without }),
            ))
        }
        "incidents.sla_compliance" => {
            let open = kpi::open_tasks(src.cases, None).map_err(|e| e.to_string())?;
            let report = kpi::compute(&loaded, &open, window, src.kpis, &[], now);
            let (met, judged) = report
                .sla
                .iter()
                .filter(|r| r.task.is_empty())
                .fold((0, 0), |(m, j), r| (m + r.met, j + r.judged));
            if judged == 0 {
                return none("tasks judged against an SLA");
            }
            Ok(Figure::Value(
                met as f64 / judged as f64,
                json!({ "judged": judged, "met": met, "breached": judged - met }),
            ))
        }
        "incidents.review_share" => {
            let done: Vec<&&Incident> = all
                .iter()
                .filter(|i| i.status >= IncidentStatus::Resolved && i.merged_into.is_none())
                .collect();
            if done.is_empty() {
                return none("resolved incidents");
            }
            let missing: Vec<&str> = done
                .iter()
                .filter(|i| i.review.as_ref().is_none_or(|r| r.written.is_none()))
                .map(|i| i.id.as_str())
                .collect();
            Ok(Figure::Value(
                share(done.len() - missing.len(), done.len()),
                json!({ "resolved": done.len(), "reviews_written": done.len() - missing.len(), "missing_review": missing }),
            ))
        }
        "incidents.action_items_closed" => {
            let today = now.date_naive();
            let mut due = 0;
            let mut closed = 0;
            let mut late = Vec::new();
            for i in &all {
                for a in i.review.iter().flat_map(|r| &r.action_items) {
                    let closed_in_time = a.done.is_some_and(|d| d.date_naive() <= a.due);
                    if a.due < today || a.done.is_some() {
                        due += 1;
                        if closed_in_time {
                            closed += 1;
                        } else {
                            late.push(format!("{} {}", i.id, a.id));
                        }
                    }
                }
            }
            if due == 0 {
                return none("action items due");
            }
            Ok(Figure::Value(
                share(closed, due),
                json!({ "due": due, "closed_in_time": closed, "late_or_open": late }),
            ))
        }
        "incidents.evidence_hashed" => {
            let files: Vec<_> = all.iter().flat_map(|i| &i.evidence).collect();
            let hashed = files
                .iter()
                .filter(|f| f.sha256.len() == 64 && f.sha256.bytes().all(|b| b.is_ascii_hexdigit()))
                .count();
            if files.is_empty() {
                return none("evidence files");
            }
            Ok(Figure::Value(
                hashed as f64,
                json!({ "files": files.len(), "hashed": hashed }),
            ))
        }
        other => Err(format!("unknown metric `{other}`")),
    }
}

/// The most reports read for one figure (the newest first).
const REPORTS: usize = 5_000;

/// Of the employees' real reports (not spotted drills) filed in the window, the share that
/// heard back: a responder's question or message, or the closing thank-you. The facts hold
/// the median hours to that first feedback and the reports still waiting.
fn reports_feedback(
    cases: &dyn CaseStore,
    window: Window,
    now: DateTime<Utc>,
) -> Result<Figure, String> {
    let mut q = tandem_store::CaseQuery::new(tandem_store::CaseKind::Report);
    q.opened_since = Some(window.from);
    q.limit = REPORTS;
    let records = cases.cases(&q).map_err(|e| e.to_string())?.records;
    let mut filed = 0usize;
    let mut hours = Vec::new();
    let mut waiting = Vec::new();
    for record in &records {
        let r = tandem_cases::reports::Report::from_record(record).map_err(|e| e.to_string())?;
        if r.simulation || r.opened > window.to {
            continue;
        }
        filed += 1;
        let first_message = r
            .messages
            .iter()
            .filter(|m| m.from == "responder")
            .map(|m| m.time)
            .min();
        let closed = (r.status == tandem_cases::reports::ReportStatus::Closed).then_some(r.updated);
        match first_message.into_iter().chain(closed).min() {
            Some(t) => hours.push((t - r.opened).num_minutes() as f64 / 60.0),
            None => waiting.push(json!({
                "report": r.id,
                "waiting_hours": (now - r.opened).num_hours(),
            })),
        }
    }
    if filed == 0 {
        return Ok(Figure::Nothing("no employee reports in the window".into()));
    }
    hours.sort_by(f64::total_cmp);
    let median = (!hours.is_empty()).then(|| hours[hours.len() / 2]);
    Ok(Figure::Value(
        share(hours.len(), filed),
        json!({
            "reports": filed,
            "heard_back": hours.len(),
            "median_hours_to_feedback": median,
            "waiting": waiting,
        }),
    ))
}

/// The most device status events read to find each device's last status.
const DEVICE_EVENTS: usize = 5_000;

fn devices_online(events: &dyn EventStore, window: Window) -> Result<Figure, String> {
    let q = tandem_query::parse("class:device_status").map_err(|e| e.to_string())?;
    let mut req = SearchRequest::new(q);
    req.from = Some(window.from);
    req.limit = DEVICE_EVENTS;
    let SearchResult::Events(page) = events.search(&req).map_err(|e| e.to_string())? else {
        return Err("a device status search gave an aggregation".into());
    };
    // Newest first: the first status seen of a device is its last.
    let mut last: std::collections::BTreeMap<String, bool> = Default::default();
    for e in &page.events {
        let device = e
            .device
            .as_ref()
            .and_then(|d| d.id.clone().or_else(|| d.hostname.clone()))
            .or_else(|| {
                e.place.as_ref().and_then(|p| {
                    p.camera
                        .clone()
                        .or_else(|| p.door.clone())
                        .or_else(|| p.reader.clone())
                })
            })
            .unwrap_or_else(|| format!("{} (unnamed)", e.source.name));
        last.entry(device)
            .or_insert(e.activity == tandem_model::Activity::Online);
    }
    if last.is_empty() {
        return Ok(Figure::Nothing(
            "no device reported a status in the window".into(),
        ));
    }
    let offline: Vec<&String> = last
        .iter()
        .filter(|(_, on)| !**on)
        .map(|(d, _)| d)
        .collect();
    Ok(Figure::Value(
        share(last.len() - offline.len(), last.len()),
        json!({ "devices": last.len(), "offline": offline }),
    ))
}

/// A source without an expected interval is healthy when it sent in the last hour.
const DEFAULT_INTERVAL_SECS: u64 = 3_600;

fn sources_healthy(events: &dyn EventStore, now: DateTime<Utc>) -> Result<Figure, String> {
    let registered = events.sources().map_err(|e| e.to_string())?;
    if registered.is_empty() {
        return Ok(Figure::Nothing("no source is registered".into()));
    }
    let stats = events.source_stats().map_err(|e| e.to_string())?;
    let mut silent = Vec::new();
    for s in &registered {
        let interval = s.expected_interval_secs.unwrap_or(DEFAULT_INTERVAL_SECS);
        let last = stats
            .iter()
            .find(|st| st.name == s.name)
            .and_then(|st| st.last_received);
        let fresh = last.is_some_and(|t| now - t <= Duration::seconds(interval as i64));
        if !fresh {
            silent.push(json!({ "source": s.name, "last_received": last, "expected_interval_secs": interval }));
        }
    }
    Ok(Figure::Value(
        share(registered.len() - silent.len(), registered.len()),
        json!({ "sources": registered.len(), "silent": silent }),
    ))
}

/// Events per source whose skew is measured.
const SKEW_SAMPLE: usize = 50;

fn clock_skew(events: &dyn EventStore) -> Result<Figure, String> {
    let stats = events.source_stats().map_err(|e| e.to_string())?;
    let mut per_source = serde_json::Map::new();
    let mut worst: Option<f64> = None;
    for s in stats.iter().filter(|s| s.events_total > 0) {
        let query = format!("source:\"{}\"", s.name.replace(['"', '\\'], ""));
        let Ok(q) = tandem_query::parse(&query) else {
            continue;
        };
        let mut req = SearchRequest::new(q);
        req.limit = SKEW_SAMPLE;
        let SearchResult::Events(page) = events.search(&req).map_err(|e| e.to_string())? else {
            continue;
        };
        // The closest an event came to Tandem's clock: a clock that is off shows in every
        // event, while transport delays, queues and history sent late only add to some.
        let Some(closest) = page
            .events
            .iter()
            .map(|e| ((e.ingest_time - e.time).num_milliseconds() as f64 / 1000.0).abs())
            .min_by(f64::total_cmp)
        else {
            continue;
        };
        per_source.insert(s.name.clone(), json!(closest));
        worst = Some(worst.map_or(closest, |w: f64| w.max(closest)));
    }
    match worst {
        Some(w) => Ok(Figure::Value(w, json!({ "skew_seconds": per_source }))),
        None => Ok(Figure::Nothing("no source has sent events".into())),
    }
}
