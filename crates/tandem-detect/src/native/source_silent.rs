//! `tandem.source_silent`: a log source that has gone quiet for much longer than it normally
//! does. A badge system that stops reporting, a camera NVR whose webhook broke, a syslog
//! forwarder switched off: the absence of events is invisible to every other rule, and turning
//! logging off is what an intruder does first.
//!
//! A source is silent when no event has arrived for longer than
//! `max(expected × factor, minimum_minutes)`. `expected` is configured per source
//! (`expected_interval_seconds`), or learned: the longest gap between consecutive events seen
//! over the last one to two weeks (two rotating weekly maxima). The longest gap, not the mean,
//! because most sources are bursty: badge readers are busy at nine and silent at three in the
//! morning, and a night's silence is normal. Learning needs `min_events` events spread over at
//! least `learning_hours`; gaps that were themselves raised as silence are not learned, so an
//! outage does not teach the rule to tolerate the next one.
//!
//! Raised once per silence; when the source speaks again a resolution finding (informational,
//! same dedup key, `detail.state = "resolved"`) closes it. Evaluated in [`Detection::tick`].
//!
//! Silence is judged on **arrival** ([`Event::ingest_time`]), never on the events' own times:
//! the tick compares against the wall clock, and a replayed day or a backlog that a source
//! delivers after an outage carries event times hours in the past. Judged on event time, a
//! replay read as "silent for 16,000 minutes" and a backlog as a silence that ended after a
//! minute; on arrival, a replay is a burst and a backlog ends the silence it really was.

use super::{Draft, Rule, cap_map, load, minutes, save, utc_label};
use crate::Detection;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use tandem_identity::Directory;
use tandem_model::{Event, FINDINGS_SOURCE, Finding, Severity, Timestamp, Ulid};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.source_silent",
    title: "Log source silent for much longer than usual",
    severity: Severity::Medium,
    tags: &["attack.defense_evasion", "attack.t1562", "tandem.health"],
};

/// `tandem.source_silent` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceSilentConfig {
    pub enabled: bool,
    /// Silence must exceed the expected (longest normal) gap this many times.
    pub factor: f64,
    /// Never raise for less silence than this.
    pub minimum_minutes: u64,
    /// Observe a source this long before judging it (learned sources only).
    pub learning_hours: u64,
    /// …and at least this many of its events.
    pub min_events: u64,
    /// Known intervals per source name (seconds): no learning needed.
    pub expected_interval_seconds: BTreeMap<String, u64>,
    /// Sources never judged (Tandem's own findings source by default).
    pub ignore: Vec<String>,
    pub max_sources: usize,
}

impl Default for SourceSilentConfig {
    fn default() -> Self {
        SourceSilentConfig {
            enabled: true,
            factor: 3.0,
            minimum_minutes: 15,
            learning_hours: 24,
            min_events: 20,
            expected_interval_seconds: BTreeMap::new(),
            ignore: vec![FINDINGS_SOURCE.to_owned()],
            max_sources: 10_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Source {
    /// Arrival of the first and the latest event.
    first_seen: Timestamp,
    last_seen: Timestamp,
    last_id: Ulid,
    /// The latest event's own time, where the evidence is found.
    #[serde(default)]
    last_time: Option<Timestamp>,
    events: u64,
    /// Longest gap (seconds) in the current and the previous week.
    max_gap: f64,
    prev_max_gap: f64,
    week_start: Timestamp,
    /// When silence was raised, if it is ongoing.
    silent_since: Option<Timestamp>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    sources: HashMap<String, Source>,
}

pub(crate) struct SourceSilent {
    cfg: SourceSilentConfig,
    s: State,
}

impl SourceSilent {
    pub fn new(cfg: SourceSilentConfig) -> Self {
        SourceSilent {
            cfg,
            s: State::default(),
        }
    }

    /// `(expected gap, silence that counts)` in seconds for `name`, once it can be judged.
    fn threshold(&self, name: &str, s: &Source) -> Option<(f64, f64)> {
        let expected = match self.cfg.expected_interval_seconds.get(name) {
            Some(&secs) => secs as f64,
            None => {
                let learned_for = (s.last_seen - s.first_seen).num_seconds();
                if s.events < self.cfg.min_events
                    || learned_for < (self.cfg.learning_hours as i64).saturating_mul(3600)
                {
                    return None;
                }
                s.max_gap.max(s.prev_max_gap)
            }
        };
        let limit = (expected * self.cfg.factor).max(self.cfg.minimum_minutes as f64 * 60.0);
        Some((expected, limit))
    }
}

impl Detection for SourceSilent {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, _dir: &Directory, out: &mut Vec<Finding>) {
        let name = e.source.name.as_str();
        if name.is_empty() || self.cfg.ignore.iter().any(|i| i == name) {
            return;
        }
        let t = e.ingest_time;
        let Some(s) = self.s.sources.get_mut(name) else {
            self.s.sources.insert(
                name.to_owned(),
                Source {
                    first_seen: t,
                    last_seen: t,
                    last_id: e.id,
                    last_time: Some(e.time),
                    events: 1,
                    max_gap: 0.0,
                    prev_max_gap: 0.0,
                    week_start: t,
                    silent_since: None,
                },
            );
            cap_map(&mut self.s.sources, self.cfg.max_sources, |s| s.last_seen);
            return;
        };
        s.events += 1;
        if t <= s.last_seen {
            return;
        }
        let gap = (t - s.last_seen).num_milliseconds() as f64 / 1000.0;
        if let Some(since) = s.silent_since.take() {
            let f = Draft::new(
                &RULE,
                format!(
                    "Source {name} is sending again after {} min of silence (last event received {}, next {})",
                    minutes(s.last_seen, t),
                    utc_label(s.last_seen),
                    utc_label(t)
                ),
                format_args!("{name}:{}", since.format("%Y-%m-%dT%H:%M")),
            )
            .severity(Severity::Informational)
            .evidence(s.last_time.unwrap_or(s.last_seen), s.last_id)
            .event(e)
            .detail("state", "resolved")
            .detail("source", name)
            .detail("silent_minutes", minutes(s.last_seen, t));
            out.push(f.finish());
        } else {
            s.max_gap = s.max_gap.max(gap);
        }
        if t - s.week_start >= chrono::Duration::days(7) {
            s.prev_max_gap = s.max_gap;
            s.max_gap = 0.0;
            s.week_start = t;
        }
        s.last_seen = t;
        s.last_id = e.id;
        s.last_time = Some(e.time);
    }

    fn tick(&mut self, now: Timestamp, _dir: &Directory, out: &mut Vec<Finding>) {
        let names: Vec<String> = self.s.sources.keys().cloned().collect();
        for name in names {
            let s = &self.s.sources[&name];
            if s.silent_since.is_some() {
                continue;
            }
            let Some((expected, threshold)) = self.threshold(&name, s) else {
                continue;
            };
            let silent = (now - s.last_seen).num_milliseconds() as f64 / 1000.0;
            if silent <= threshold {
                continue;
            }
            let configured = self.cfg.expected_interval_seconds.contains_key(&name);
            let f = Draft::new(
                &RULE,
                format!(
                    "Source {name} has sent nothing for {} min (last event received {}); {} gap is {:.0} min, the limit {:.0} min",
                    minutes(s.last_seen, now),
                    utc_label(s.last_seen),
                    if configured {
                        "the configured"
                    } else {
                        "the longest normal"
                    },
                    expected / 60.0,
                    threshold / 60.0,
                ),
                format_args!("{name}:{}", now.format("%Y-%m-%dT%H:%M")),
            )
            .evidence(s.last_time.unwrap_or(s.last_seen), s.last_id)
            .at(now)
            .detail("source", name.as_str())
            .detail("silent_minutes", minutes(s.last_seen, now))
            .detail("threshold_minutes", (threshold / 60.0).round());
            let mut finding = f.finish();
            // A silence is about now, not about the last event.
            finding.time = now;
            out.push(finding);
            if let Some(s) = self.s.sources.get_mut(&name) {
                s.silent_since = Some(now);
            }
        }
        // Sources unheard of for 30 days are forgotten (decommissioned), after being raised.
        let forget = chrono::Duration::days(30);
        self.s
            .sources
            .retain(|_, s| now - s.last_seen < forget || s.silent_since.is_none());
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        save(&self.s)
    }

    fn load_state(&mut self, state: serde_json::Value) {
        load(RULE.id, state, &mut self.s);
    }
}
