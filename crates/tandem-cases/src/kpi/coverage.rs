//! Coverage: the share of sources healthy, and the share of ingested events that detection
//! analysed.
//!
//! - A **source is healthy** when an event from it arrived within its expected interval (the
//!   source's `expected_interval_secs`, else `[kpis] source_quiet_minutes`) and less than
//!   `[kpis] max_dead_letter_share` of what it sent was kept as dead letters or refused.
//!   Tandem's own sources (findings, case changes, SCIM's account changes) are not counted:
//!   they are no sender to watch.
//! - **Analysed**: of the events decoded from senders (and the directory's account changes)
//!   that the store committed, the share that went through detection before the commit. The
//!   pipeline counts both since the server started (`tandem_events_ingested_total`,
//!   `tandem_events_analysed_total` in `/metrics`); with detection on it must read 100 %.

use serde::Serialize;
use tandem_model::Timestamp;
use tandem_store::{SourceRecord, SourceStats};

/// Sources Tandem writes itself, not counted among the senders.
pub const INTERNAL_SOURCES: &[&str] = &[
    tandem_model::FINDINGS_SOURCE,
    crate::CASES_SOURCE,
    tandem_identity::provision::ORIGIN,
];

/// One source's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceHealth {
    pub source: String,
    pub healthy: bool,
    /// Why it is not healthy, in words; empty when it is.
    pub reason: String,
    pub last_received: Option<Timestamp>,
    /// The silence allowed, seconds.
    pub expected_secs: u64,
    pub events: u64,
    /// Dead letters and refused input.
    pub refused: u64,
}

/// Both coverage figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub sources: Vec<SourceHealth>,
    pub sources_healthy: u64,
    /// Healthy over counted sources; none without sources.
    pub sources_healthy_share: Option<f64>,
    /// Events decoded from senders and committed, since the server started.
    pub events_ingested: u64,
    /// Of them, those detection evaluated before the commit.
    pub events_analysed: u64,
    /// Analysed over ingested; none before any event.
    pub analysed_share: Option<f64>,
    /// Whether detection runs at all on this server.
    pub detection_enabled: bool,
}

/// What makes a source healthy (`[kpis]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthRule {
    /// Silence allowed for a source without its own expected interval, seconds.
    pub quiet_secs: u64,
    /// Most refused input allowed, as a share of all it sent.
    pub max_refused_share: f64,
}

/// The coverage from the store's source health and the pipeline's counters.
pub fn compute(
    stats: &[SourceStats],
    registered: &[SourceRecord],
    rule: HealthRule,
    (events_ingested, events_analysed): (u64, u64),
    detection_enabled: bool,
    now: Timestamp,
) -> Coverage {
    let mut sources: Vec<SourceHealth> = stats
        .iter()
        .filter(|s| !INTERNAL_SOURCES.contains(&s.name.as_str()))
        .map(|s| {
            let expected_secs = registered
                .iter()
                .find(|r| r.name == s.name)
                .and_then(|r| r.expected_interval_secs)
                .unwrap_or(rule.quiet_secs);
            let refused = s.dead_letters_total.max(s.rejected_total);
            let sent = s.events_total + refused;
            let reason = match s.last_received {
                None => "never sent an event".to_owned(),
                Some(t) if (now - t).num_seconds() > expected_secs as i64 => format!(
                    "silent for {} (allowed {})",
                    words((now - t).num_seconds().max(0) as u64),
                    words(expected_secs)
                ),
                Some(_) if sent > 0 && refused as f64 / sent as f64 > rule.max_refused_share => {
                    format!(
                        "{:.1} % of its input refused (allowed {:.1} %)",
                        refused as f64 / sent as f64 * 100.0,
                        rule.max_refused_share * 100.0
                    )
                }
                Some(_) => String::new(),
            };
            SourceHealth {
                source: s.name.clone(),
                healthy: reason.is_empty(),
                reason,
                last_received: s.last_received,
                expected_secs,
                events: s.events_total,
                refused,
            }
        })
        .collect();
    sources.sort_by(|a, b| a.healthy.cmp(&b.healthy).then(a.source.cmp(&b.source)));
    let healthy = sources.iter().filter(|s| s.healthy).count() as u64;
    Coverage {
        sources_healthy_share: (!sources.is_empty()).then(|| healthy as f64 / sources.len() as f64),
        sources_healthy: healthy,
        sources,
        events_ingested,
        events_analysed,
        analysed_share: (events_ingested > 0)
            .then(|| events_analysed as f64 / events_ingested as f64),
        detection_enabled,
    }
}

/// `40 min`, `3 h`, `2 d`.
fn words(secs: u64) -> String {
    match secs {
        0..3600 => format!("{} min", secs / 60),
        3600..172_800 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(name: &str, ago_minutes: Option<i64>, events: u64, dead: u64) -> SourceStats {
        SourceStats {
            name: name.into(),
            registered: true,
            last_received: ago_minutes.map(|m| now() - chrono::Duration::minutes(m)),
            events_total: events,
            dead_letters_total: dead,
            ..SourceStats::default()
        }
    }

    fn now() -> Timestamp {
        "2025-03-10T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn sources_are_healthy_when_heard_within_their_interval_and_mostly_readable() {
        let registered = [SourceRecord {
            name: "badges".into(),
            format: "json".into(),
            vendor: None,
            product: None,
            key_sha256: None,
            expected_interval_secs: Some(600),
        }];
        let rule = HealthRule {
            quiet_secs: 24 * 3600,
            max_refused_share: 0.05,
        };
        let c = compute(
            &[
                stats("badges", Some(20), 100, 0),
                stats("okta", Some(60), 1000, 10),
                stats("syslog", Some(30), 90, 10),
                stats("edr", None, 0, 0),
                stats(tandem_model::FINDINGS_SOURCE, Some(1), 5, 0),
            ],
            &registered,
            rule,
            (1200, 1200),
            true,
            now(),
        );
        let rows: Vec<(&str, bool)> = c
            .sources
            .iter()
            .map(|s| (s.source.as_str(), s.healthy))
            .collect();
        assert_eq!(
            rows,
            [
                ("badges", false),
                ("edr", false),
                ("syslog", false),
                ("okta", true)
            ]
        );
        assert_eq!(c.sources[0].reason, "silent for 20 min (allowed 10 min)");
        assert_eq!(c.sources[1].reason, "never sent an event");
        assert_eq!(
            c.sources[2].reason,
            "10.0 % of its input refused (allowed 5.0 %)"
        );
        assert_eq!(c.sources_healthy, 1);
        assert_eq!(c.sources_healthy_share, Some(0.25));
        assert_eq!(c.analysed_share, Some(1.0));
    }

    #[test]
    fn analysed_share_is_what_detection_saw_of_what_was_stored() {
        let rule = HealthRule {
            quiet_secs: 60,
            max_refused_share: 0.0,
        };
        let c = compute(&[], &[], rule, (200, 150), true, now());
        assert_eq!(c.analysed_share, Some(0.75));
        assert_eq!(c.sources_healthy_share, None);
        let none = compute(&[], &[], rule, (0, 0), false, now());
        assert_eq!(none.analysed_share, None);
    }
}
