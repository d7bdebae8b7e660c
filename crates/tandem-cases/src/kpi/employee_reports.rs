//! People metrics from employees' reports: how much the organisation reports, and whether
//! reporters hear back, which is what keeps them reporting.
//!
//! Over the reports filed in the period: how many, by how many distinct signed-in reporters
//! (anonymous ones are counted as reports, never as people), the **report rate** per 100
//! people employed now, the share that **heard back** (a responder's message or the closing
//! thank-you) and the median hours to it, and the phishing **drills spotted** (kept out of
//! every other figure here, as they are out of the alert counts).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tandem_model::Timestamp;

use super::Window;
use crate::reports::{Report, ReportStatus};

/// The period's employee-report figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmployeeReports {
    /// Real reports filed in the period (drills spotted not included).
    pub filed: usize,
    /// Distinct reporters who gave their identity.
    pub reporters: usize,
    /// Reports per 100 people employed now; `None` without a directory headcount.
    pub rate_per_100_people: Option<f64>,
    /// Reports that heard back: a responder's message or the thank-you.
    pub heard_back: usize,
    /// `heard_back / filed`; `None` when nothing was filed.
    pub heard_back_share: Option<f64>,
    /// Median hours from filing to the first feedback, over those that heard back.
    pub median_hours_to_feedback: Option<f64>,
    /// Phishing simulation mails employees reported (credited, kept out of the rest).
    pub drills_spotted: usize,
    /// Real reports by kind (`phishing`, `lost_badge`, …).
    pub by_kind: BTreeMap<String, usize>,
}

/// The figures over `reports` (any order; those filed outside `window` are skipped), with
/// `headcount` people employed now.
pub fn compute(reports: &[Report], window: Window, headcount: usize) -> EmployeeReports {
    let mut out = EmployeeReports::default();
    let mut reporters = BTreeSet::new();
    let mut hours = Vec::new();
    for r in reports
        .iter()
        .filter(|r| r.opened >= window.from && r.opened < window.to)
    {
        if r.simulation {
            out.drills_spotted += 1;
            continue;
        }
        out.filed += 1;
        *out.by_kind.entry(r.kind.code().to_owned()).or_default() += 1;
        if let Some(who) = &r.reporter {
            reporters.insert(who.name.to_lowercase());
        }
        if let Some(t) = first_feedback(r) {
            hours.push((t - r.opened).num_seconds().max(0) as f64 / 3600.0);
        }
    }
    out.reporters = reporters.len();
    out.heard_back = hours.len();
    out.heard_back_share = (out.filed > 0).then(|| out.heard_back as f64 / out.filed as f64);
    hours.sort_by(f64::total_cmp);
    out.median_hours_to_feedback = (!hours.is_empty()).then(|| hours[hours.len() / 2]);
    out.rate_per_100_people = (headcount > 0).then(|| out.filed as f64 * 100.0 / headcount as f64);
    out
}

/// When the reporter first heard back: a responder's message, or the close.
fn first_feedback(r: &Report) -> Option<Timestamp> {
    let message = r
        .messages
        .iter()
        .filter(|m| m.from == "responder")
        .map(|m| m.time)
        .min();
    let closed = (r.status == ReportStatus::Closed).then_some(r.updated);
    message.into_iter().chain(closed).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::{ReportKind, ReportMessage, Reporter};
    use chrono::{Duration, TimeZone, Utc};

    fn report(id: &str, kind: ReportKind, opened: Timestamp) -> Report {
        serde_json::from_value(serde_json::json!({
            "id": id, "version": 1, "kind": kind, "status": "received",
            "opened": opened, "updated": opened, "description": "", "token_hash": "",
        }))
        .unwrap()
    }

    #[test]
    fn reports_are_counted_with_who_heard_back_and_drills_kept_apart() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let window = Window {
            from: t0,
            to: t0 + Duration::days(30),
        };
        let named = |name: &str| {
            Some(Reporter {
                name: name.into(),
                ..Reporter::default()
            })
        };

        // Asked about after 2 h, then closed: heard back at 2 h.
        let mut a = report("RPT-1", ReportKind::Phishing, t0);
        a.reporter = named("Ada");
        a.messages.push(ReportMessage {
            time: t0 + Duration::hours(2),
            from: "responder".into(),
            text: "Did you click?".into(),
        });
        a.status = ReportStatus::Closed;
        a.updated = t0 + Duration::hours(30);
        // Closed with the thank-you after 6 h, no question.
        let mut b = report("RPT-2", ReportKind::Phishing, t0 + Duration::days(1));
        b.reporter = named("ada");
        b.status = ReportStatus::Closed;
        b.updated = b.opened + Duration::hours(6);
        // Anonymous, still waiting.
        let c = report("RPT-3", ReportKind::LostBadge, t0 + Duration::days(2));
        // A drill spotted: credited, not counted as a report.
        let mut d = report("RPT-4", ReportKind::Phishing, t0 + Duration::days(3));
        d.simulation = true;
        d.status = ReportStatus::Closed;
        // Before the period.
        let e = report("RPT-5", ReportKind::Other, t0 - Duration::days(1));

        let got = compute(&[a, b, c, d, e], window, 200);
        assert_eq!(got.filed, 3);
        assert_eq!(got.reporters, 1, "the same person, whatever the case");
        assert_eq!(got.drills_spotted, 1);
        assert_eq!(got.heard_back, 2);
        assert_eq!(got.heard_back_share, Some(2.0 / 3.0));
        assert_eq!(got.median_hours_to_feedback, Some(6.0));
        assert_eq!(got.rate_per_100_people, Some(1.5));
        assert_eq!(got.by_kind["phishing"], 2);
        assert_eq!(got.by_kind["lost_badge"], 1);

        let none = compute(&[], window, 0);
        assert_eq!(
            (none.heard_back_share, none.rate_per_100_people),
            (None, None)
        );
    }
}
