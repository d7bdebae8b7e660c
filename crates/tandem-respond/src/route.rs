//! What a notification is about ([`Notice`]), which routes take it, and quiet hours.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::RouteConfig;

/// Every kind of notification a route may ask for. `report_status` is accepted in routes;
/// an employee report's thank-you is queued with that kind straight to its reporter (through
/// `[reports] email_channel`), not through routes.
pub const KINDS: &[&str] = &[
    "alert_opened",
    "incident_opened",
    "task_assigned",
    "sla_warn",
    "sla_breach",
    "incident_closed",
    "review_due",
    "action_item_overdue",
    "report_status",
];

/// A kind in words, for headlines and digests.
pub fn kind_title(kind: &str) -> &'static str {
    match kind {
        "alert_opened" => "Alert opened",
        "incident_opened" => "Incident opened",
        "task_assigned" => "Task assigned",
        "sla_warn" => "SLA warning",
        "sla_breach" => "SLA breached",
        "incident_closed" => "Incident closed",
        "review_due" => "Review due",
        "action_item_overdue" => "Action item overdue",
        "report_status" => "Report status changed",
        "digest" => "Digest",
        _ => "Notification",
    }
}

/// One thing worth telling someone, with what routing needs to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub kind: String,
    /// `ALR-…` or `INC-…`.
    pub case_id: String,
    pub title: String,
    pub summary: String,
    /// `low` … `critical`.
    pub severity: String,
    pub departments: Vec<String>,
    pub sites: Vec<String>,
    /// The task, for task and SLA notices: its title, its department's code.
    pub task: Option<String>,
    /// The console path of the case (`/incidents/INC-4`).
    pub path: String,
    pub time: DateTime<Utc>,
    /// Unique per thing told: the same case change read again yields the same key.
    pub key: String,
}

impl Notice {
    /// "Incident INC-4 opened: Tailgating at Oslo HQ".
    pub fn headline(&self) -> String {
        let title = kind_title(&self.kind);
        match &self.task {
            Some(task) => format!("{title}: {} ({}): {task}", self.case_id, self.title),
            None => format!("{title}: {}: {}", self.case_id, self.title),
        }
    }
}

/// Whether `route` takes `notice`: every list it sets must match.
pub fn matches(route: &RouteConfig, notice: &Notice) -> bool {
    let any = |list: &[String], values: &[String]| {
        list.is_empty() || list.iter().any(|x| values.iter().any(|v| v == x))
    };
    (route.kinds.is_empty() || route.kinds.contains(&notice.kind))
        && any(&route.departments, &notice.departments)
        && any(&route.sites, &notice.sites)
        && (route.severities.is_empty() || route.severities.contains(&notice.severity))
}

/// `22:00-07:00` in a zone: the hours in which a route's messages wait.
#[derive(Debug, Clone)]
pub struct QuietHours {
    window: Option<(jiff::civil::Time, jiff::civil::Time)>,
    zone: jiff::tz::TimeZone,
}

impl QuietHours {
    /// Reads `HH:MM-HH:MM` (empty: no quiet hours) in the IANA zone `zone`.
    pub fn parse(spec: &str, zone: &str) -> Result<QuietHours, String> {
        let zone = jiff::tz::TimeZone::get(if zone.is_empty() { "UTC" } else { zone })
            .map_err(|e| format!("unknown time zone {zone:?}: {e}"))?;
        let spec = spec.trim();
        if spec.is_empty() {
            return Ok(QuietHours { window: None, zone });
        }
        let bad = || format!("quiet_hours {spec:?} is not HH:MM-HH:MM");
        let (a, b) = spec.split_once('-').ok_or_else(bad)?;
        let time = |s: &str| jiff::civil::Time::strptime("%H:%M", s.trim()).map_err(|_| bad());
        let (start, end) = (time(a)?, time(b)?);
        if start == end {
            return Err(format!(
                "quiet_hours {spec:?} starts and ends at the same time"
            ));
        }
        Ok(QuietHours {
            window: Some((start, end)),
            zone,
        })
    }

    /// When quiet hours that hold `now` end, or `None` outside them.
    pub fn end_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (start, end) = self.window?;
        let ts = jiff::Timestamp::from_microsecond(now.timestamp_micros()).ok()?;
        let local = ts.to_zoned(self.zone.clone());
        let t = local.time();
        let inside = if start < end {
            t >= start && t < end
        } else {
            t >= start || t < end
        };
        if !inside {
            return None;
        }
        let mut day = local.date();
        if t >= end {
            day = day.tomorrow().ok()?;
        }
        let end_at = day.to_datetime(end).to_zoned(self.zone.clone()).ok()?;
        DateTime::from_timestamp_micros(end_at.timestamp().as_microsecond())
    }

    /// `at`, or the end of quiet hours when `at` falls in them.
    pub fn adjust(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.end_after(at).unwrap_or(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn quiet_hours_across_midnight_end_the_next_morning_in_their_zone() {
        let q = QuietHours::parse("22:00-07:00", "Europe/Oslo").unwrap();
        // 23:30 in Oslo (winter, UTC+1) ends at 07:00 Oslo the next day.
        assert_eq!(
            q.end_after(at("2025-01-10T22:30:00Z")),
            Some(at("2025-01-11T06:00:00Z"))
        );
        // 03:00 in Oslo ends the same morning.
        assert_eq!(
            q.end_after(at("2025-01-11T02:00:00Z")),
            Some(at("2025-01-11T06:00:00Z"))
        );
        assert_eq!(q.end_after(at("2025-01-11T12:00:00Z")), None);
        let day = QuietHours::parse("12:00-13:00", "UTC").unwrap();
        assert_eq!(
            day.end_after(at("2025-01-11T12:30:00Z")),
            Some(at("2025-01-11T13:00:00Z"))
        );
        assert!(
            QuietHours::parse("", "UTC")
                .unwrap()
                .end_after(Utc::now())
                .is_none()
        );
        assert!(QuietHours::parse("22-7", "UTC").is_err());
        assert!(QuietHours::parse("22:00-07:00", "Mars/Base").is_err());
    }

    #[test]
    fn a_route_takes_what_every_list_it_sets_matches() {
        let notice = Notice {
            kind: "task_assigned".into(),
            case_id: "INC-1".into(),
            title: "Tailgating".into(),
            summary: String::new(),
            severity: "high".into(),
            departments: vec!["facilities".into()],
            sites: vec!["osl".into()],
            task: None,
            path: "/incidents/INC-1".into(),
            time: Utc::now(),
            key: "k".into(),
        };
        let route = |f: fn(&mut RouteConfig)| {
            let mut r = RouteConfig::default();
            f(&mut r);
            r
        };
        assert!(matches(&route(|_| {}), &notice));
        assert!(matches(
            &route(|r| r.departments = vec!["facilities".into()]),
            &notice
        ));
        assert!(!matches(
            &route(|r| r.departments = vec!["security".into()]),
            &notice
        ));
        assert!(!matches(
            &route(|r| r.kinds = vec!["sla_breach".into()]),
            &notice
        ));
        assert!(!matches(
            &route(|r| r.severities = vec!["critical".into()]),
            &notice
        ));
        assert!(!matches(&route(|r| r.sites = vec!["bgo".into()]), &notice));
    }
}
