//! Evidence definitions as data: what Tandem measures for which controls, and what passes.

use serde::{Deserialize, Serialize};

use crate::{FileError, key_line};

/// A file of evidence definitions for one framework's controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceFile {
    pub framework: String,
    pub evidence: Vec<Definition>,
}

/// One piece of live evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub id: String,
    pub title: String,
    /// The controls it is evidence for, in the file's framework.
    pub controls: Vec<String>,
    /// A search; the figure is how many events matched in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Matches of one search over another's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Ratio>,
    /// A figure Tandem computes ([`METRICS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Why no evidence can be gathered yet: always a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// The days the figure looks back over (queries, ratios, incident metrics).
    #[serde(default = "default_window")]
    pub window_days: u32,
    #[serde(default)]
    pub pass: Pass,
    /// The framework (from the file).
    #[serde(skip)]
    pub framework: String,
}

fn default_window() -> u32 {
    30
}

/// `of` matches per `over` match, times `per`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ratio {
    pub of: String,
    pub over: String,
    #[serde(default = "one")]
    pub per: f64,
}

fn one() -> f64 {
    1.0
}

/// Which figures pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pass {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
}

impl Pass {
    pub fn passes(&self, v: f64) -> bool {
        self.at_least.is_none_or(|m| v >= m) && self.at_most.is_none_or(|m| v <= m)
    }

    /// `≥ 0.9`, `≤ 2`, `0.5 – 1`, `any figure`.
    pub fn describe(&self) -> String {
        match (self.at_least, self.at_most) {
            (Some(a), Some(b)) => format!("between {a} and {b}"),
            (Some(a), None) => format!("at least {a}"),
            (None, Some(b)) => format!("at most {b}"),
            (None, None) => "any figure".into(),
        }
    }
}

/// The figures Tandem computes for `metric:`, with what each is.
pub const METRICS: &[(&str, &str)] = &[
    (
        "incidents.playbook_share",
        "share of the incidents detected in the window that were worked through a playbook's tasks",
    ),
    (
        "incidents.sla_compliance",
        "share of the judged playbook tasks of the window's incidents done within their SLA (the KPI engine's SLA compliance)",
    ),
    (
        "incidents.review_share",
        "share of the window's resolved or closed incidents whose post-incident review is written",
    ),
    (
        "incidents.action_items_closed",
        "share of the review action items of the window's incidents due by now that were closed by their due date",
    ),
    (
        "incidents.evidence_hashed",
        "evidence files attached to the window's incidents, each kept under its SHA-256",
    ),
    (
        "devices.online_share",
        "share of the devices (doors, readers, cameras, sensors) that reported a status in the window whose last status is online",
    ),
    (
        "reports.feedback_share",
        "share of the employees' real reports (not spotted drills) filed in the window that heard back: a responder's message or the closing thank-you; the median hours to it and the reports still waiting are recorded",
    ),
    (
        "sources.healthy_share",
        "share of the registered sources that sent within their expected interval (an hour when none is set)",
    ),
    (
        "sources.max_clock_skew_seconds",
        "the largest, over sources, of the smallest gap between an event's own time and when Tandem received it among each source's last 50 events (a clock that is off shows in every event; delays and history sent late only in some)",
    ),
    (
        "retention.in_force",
        "1 when a retention policy (age or size) is configured, else 0",
    ),
    ("rules.enabled", "detection rules switched on"),
];

const MAX_QUERY: usize = 2_000;

pub fn parse(file: &str, text: &str) -> Result<EvidenceFile, Vec<FileError>> {
    let mut f: EvidenceFile = crate::read_yaml(file, text, "not a valid evidence file")?;
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for d in &mut f.evidence {
        d.framework = f.framework.clone();
        let line = key_line(text, "id", Some(&d.id), 0).unwrap_or(1);
        let mut say =
            |reason: String| problems.push((line, format!("evidence `{}`: {reason}", d.id)));
        if !crate::valid_id(&d.id) {
            say("the id is not an id (letters, digits, `.`, `-`, `_`)".into());
        }
        if !seen.insert(d.id.clone()) {
            say("appears twice".into());
        }
        if d.controls.is_empty() {
            say("names no controls".into());
        }
        let kinds = [
            d.query.is_some(),
            d.ratio.is_some(),
            d.metric.is_some(),
            d.unavailable.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            say("give exactly one of query, ratio, metric, unavailable".into());
        }
        let mut queries: Vec<&str> = Vec::new();
        if let Some(q) = &d.query {
            queries.push(q);
        }
        if let Some(r) = &d.ratio {
            queries.push(&r.of);
            queries.push(&r.over);
            if !r.per.is_finite() || r.per <= 0.0 {
                say(format!("ratio per {} must be a number above 0", r.per));
            }
        }
        for q in queries {
            if q.len() > MAX_QUERY {
                say(format!("a query may have at most {MAX_QUERY} bytes"));
            } else if let Err(e) = tandem_query::parse(q) {
                say(format!("query `{q}`: {e}"));
            }
        }
        if let Some(m) = &d.metric
            && !METRICS.iter().any(|(name, _)| name == m)
        {
            say(format!(
                "metric `{m}` is not one Tandem computes ({})",
                METRICS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if d.window_days == 0 || d.window_days > 3660 {
            say(format!("window_days {} must be 1 to 3660", d.window_days));
        }
        for bound in [d.pass.at_least, d.pass.at_most].into_iter().flatten() {
            if !bound.is_finite() {
                say("pass bounds must be numbers".into());
            }
        }
    }
    crate::problems(file, problems).map(|()| f)
}
