//! SLA timers: time elapsed (business hours in the site's zone when a task says so), warnings and breaches.

use chrono::{Duration, NaiveDate};
use serde_json::json;
use tandem_identity::hours::AllowedHours;
use tandem_model::Timestamp;
use tandem_store::{CaseKind, CaseQuery, CaseWrite};

use crate::alert::AlertRule;
use crate::incident::{SlaState, Task};
use crate::{Alert, AlertStatus, CaseError, Incident, IncidentStatus, PRODUCT_ACTOR};

use super::*;

/// Local time and business hours at a site, for SLA timers that count business hours only.
/// Implemented by the binary over the identity directory (sites' time zones, holidays and
/// hours); [`UtcCalendar`] counts every site in UTC with the default hours.
pub trait SiteCalendar: Send + Sync {
    /// Minutes east of UTC in force at the site at `t`; `None` when the zone is unknown (UTC
    /// is used).
    fn utc_offset_minutes(&self, site: &str, t: Timestamp) -> Option<i32>;
    /// The site's business hours; `None`: [`default_business_hours`].
    fn business_hours(&self, _site: &str) -> Option<AllowedHours> {
        None
    }
    /// Local dates the site is closed.
    fn holidays(&self, _site: &str) -> Vec<NaiveDate> {
        Vec::new()
    }
}

/// Every site in UTC, Monday to Friday 08:00–17:00.
pub struct UtcCalendar;

impl SiteCalendar for UtcCalendar {
    fn utc_offset_minutes(&self, _site: &str, _t: Timestamp) -> Option<i32> {
        Some(0)
    }
}

/// Business hours when the directory gives none: Monday to Friday 08:00–17:00 local time.
pub fn default_business_hours() -> AllowedHours {
    AllowedHours::whole_hours(8, 17, false).expect("valid hours")
}

impl Incidents {
    /// Minutes an SLA timer has counted at `now`: since the task opened, less its pauses,
    /// and for business-hours tasks only the site's business minutes.
    pub fn sla_elapsed_minutes(&self, incident: &Incident, task: &Task, now: Timestamp) -> i64 {
        let site = incident.entities.sites.first().map(String::as_str);
        self.sla_elapsed_at(site, task, now)
    }

    /// [`Incidents::sla_elapsed_minutes`] of a task of an incident at `site` (its first).
    pub(crate) fn sla_elapsed_at(&self, site: Option<&str>, task: &Task, now: Timestamp) -> i64 {
        let (Some(opened), Some(sla)) = (task.opened, task.sla) else {
            return 0;
        };
        let end = task.done.unwrap_or(now).min(now);
        let mut pauses = task.pauses.clone();
        if let Some(p) = task.paused_since {
            pauses.push((p, end));
        }
        if !sla.business_hours {
            let mut seconds = (end - opened).num_seconds();
            for (a, b) in &pauses {
                let a = (*a).max(opened);
                let b = (*b).min(end);
                if b > a {
                    seconds -= (b - a).num_seconds();
                }
            }
            return seconds.max(0) / 60;
        }
        let hours = site
            .and_then(|s| self.calendar.business_hours(s))
            .unwrap_or_else(default_business_hours);
        let holidays = site.map(|s| self.calendar.holidays(s)).unwrap_or_default();
        let offset = |t: Timestamp| {
            i64::from(
                site.and_then(|s| self.calendar.utc_offset_minutes(s, t))
                    .unwrap_or(0),
            )
        };
        business_seconds(&hours, &holidays, &offset, opened, end, &pauses).max(0) / 60
    }

    /// The SLA check: every open task with an SLA whose counted time passed its warn time
    /// gets an `sla_warn` entry, past its breach time an `sla_breach` entry and an alert of
    /// rule [`SLA_BREACH_RULE`]; each fires once per task. Every open action item of a
    /// review whose due date has passed in the incident's site's zone gets an
    /// `action_item_overdue` entry, once per due date (closed incidents too: action items
    /// are worked after closing). Also announced as events.
    ///
    /// Reads only the incidents whose due time ([`Incident::sla_due`]) has come, not every
    /// open one: the check runs every minute, and a store can hold thousands of open
    /// incidents. An incident read but not yet due (a business-hours timer counts fewer
    /// minutes than the clock) gets a later due time: the least number of minutes its
    /// timers still need.
    pub fn tick(&self, now: Timestamp) -> Result<TickReport, CaseError> {
        let now = micros(now);
        let _one = self.product.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = TickReport::default();
        // Closed incidents have a due time only for their review's open action items.
        let mut q = CaseQuery::new(CaseKind::Incident);
        q.due_by = Some(now);
        let mut later = Vec::new();
        for record in self.all(q)? {
            let inc = Incident::from_record(&record)?;
            let open = inc.status != IncidentStatus::Closed;
            let overdue: Vec<String> = self
                .items_awaiting_overdue(&inc)
                .filter(|a| self.local_date(&inc, now) > a.due)
                .map(|a| a.id.clone())
                .collect();
            let due: Vec<(String, bool, bool)> = inc
                .tasks
                .iter()
                .filter(|t| open && t.timer_running())
                .filter_map(|t| {
                    let sla = t.sla?;
                    let elapsed = self.sla_elapsed_minutes(&inc, t, now);
                    let warn = t.sla_warned.is_none() && elapsed >= i64::from(sla.warn_minutes);
                    let breach = elapsed >= i64::from(sla.breach_minutes);
                    (warn || breach).then(|| (t.id.clone(), warn, breach))
                })
                .collect();
            if due.is_empty() && overdue.is_empty() {
                let mut record = record;
                record.due = self.next_due(&inc, now);
                later.push(record);
                continue;
            }
            let mut alerts = Vec::new();
            for (task, _, breach) in &due {
                if *breach {
                    let n = self.store.allocate_case_numbers(CaseKind::Alert, 1)?;
                    alerts.push((task.clone(), format!("ALR-{n}")));
                }
            }
            let result = self.update(&inc.id, Some(record.version), PRODUCT_ACTOR, now, |inc, ch| {
                for (task, warn, breach) in &due {
                    let i = find_task(inc, task)?;
                    let elapsed = self.sla_elapsed_minutes(inc, &inc.tasks[i], now);
                    let t = &mut inc.tasks[i];
                    let sla = t.sla.expect("filtered");
                    if *warn {
                        t.sla_warned = Some(now);
                        t.sla_state = SlaState::Warned;
                        ch.note(
                            "sla_warn",
                            json!({"task": task, "department": t.department, "elapsed_minutes": elapsed, "warn_minutes": sla.warn_minutes}),
                        );
                    }
                    if *breach {
                        t.sla_breached = Some(now);
                        t.sla_state = SlaState::Breached;
                        let alert_id = alerts
                            .iter()
                            .find(|(x, _)| x == task)
                            .map(|(_, a)| a.clone())
                            .unwrap_or_default();
                        ch.note(
                            "sla_breach",
                            json!({"task": task, "department": t.department, "elapsed_minutes": elapsed, "breach_minutes": sla.breach_minutes, "alert": alert_id}),
                        );
                        let alert = breach_alert(&alert_id, inc, &inc.tasks[i], now);
                        ch.writes.push(CaseWrite::Insert(alert.to_record(now)));
                        ch.timeline.push(entry(
                            &alert_id,
                            PRODUCT_ACTOR,
                            now,
                            "opened",
                            json!({"rule": SLA_BREACH_RULE, "incident": inc.id, "task": task}),
                        ));
                        if !inc.alerts.contains(&alert_id) {
                            inc.alerts.push(alert_id);
                        }
                    }
                }
                let items = inc.review.iter_mut().flat_map(|r| &mut r.action_items);
                for a in items.filter(|a| overdue.contains(&a.id) && a.awaiting_overdue()) {
                    a.overdue = Some(now);
                    ch.note(
                        "action_item_overdue",
                        json!({"item": a.id, "title": a.title, "department": a.department, "due": a.due}),
                    );
                }
                Ok(())
            });
            match result {
                Ok(_) => {
                    for (task, warn, breach) in due {
                        if warn {
                            report.warned.push((inc.id.clone(), task.clone()));
                        }
                        if breach {
                            let a = alerts
                                .iter()
                                .find(|(x, _)| *x == task)
                                .map(|(_, a)| a.clone())
                                .unwrap_or_default();
                            report.breached.push((inc.id.clone(), task, a));
                        }
                    }
                    for item in overdue {
                        report.overdue.push((inc.id.clone(), item));
                    }
                }
                // Someone changed the incident meanwhile: the next check sees their change.
                Err(CaseError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if !later.is_empty() {
            self.store.reindex_cases(&later)?;
        }
        Ok(report)
    }

    /// The open action items of `inc`'s review nobody was told are overdue yet.
    fn items_awaiting_overdue<'a>(
        &self,
        inc: &'a Incident,
    ) -> impl Iterator<Item = &'a crate::incident::ActionItem> {
        let items = inc.review.iter().flat_map(|r| &r.action_items);
        items.filter(|a| a.awaiting_overdue())
    }

    /// Minutes east of UTC at the incident's site (its first) at `t`; UTC when unknown.
    fn site_offset(&self, inc: &Incident, t: Timestamp) -> Duration {
        let site = inc.entities.sites.first();
        let minutes = site.and_then(|s| self.calendar.utc_offset_minutes(s, t));
        Duration::minutes(i64::from(minutes.unwrap_or(0)))
    }

    /// The date at the incident's site at `now`, by which action items fall due.
    fn local_date(&self, inc: &Incident, now: Timestamp) -> NaiveDate {
        (now + self.site_offset(inc, now)).date_naive()
    }

    /// When an incident none of whose timers fires now can next have one fire: each timer
    /// counts at most a minute a minute, so not before the fewest minutes any still needs;
    /// an action item, when the day after its due date begins at the site.
    fn next_due(&self, inc: &Incident, now: Timestamp) -> Option<Timestamp> {
        let items = self.items_awaiting_overdue(inc).map(|a| {
            let midnight = (a.due + chrono::Days::new(1))
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc();
            (midnight - self.site_offset(inc, midnight)).max(now + Duration::minutes(1))
        });
        self.next_timer_due(inc, now).into_iter().chain(items).min()
    }

    /// [`Incidents::next_due`] of the SLA timers alone.
    fn next_timer_due(&self, inc: &Incident, now: Timestamp) -> Option<Timestamp> {
        inc.sla_due()?;
        inc.tasks
            .iter()
            .filter(|t| t.timer_running())
            .filter_map(|t| {
                let sla = t.sla?;
                t.opened?;
                let target = if t.sla_warned.is_none() {
                    sla.warn_minutes.min(sla.breach_minutes)
                } else {
                    sla.breach_minutes
                };
                let left = i64::from(target) - self.sla_elapsed_minutes(inc, t, now);
                Some(now + Duration::minutes(left.max(1)))
            })
            .min()
    }
}

/// Seconds of `[from, to)` inside the business hours (local time by `offset`, minutes east
/// of UTC at an instant), less the `pauses`. Each day's spans are turned into UTC intervals,
/// so the cost is per day, not per minute. A span belongs to the day it starts on: a holiday
/// drops its own spans, and a night span that began the evening before still runs into it.
pub(super) fn business_seconds(
    hours: &AllowedHours,
    holidays: &[NaiveDate],
    offset: &dyn Fn(Timestamp) -> i64,
    from: Timestamp,
    to: Timestamp,
    pauses: &[(Timestamp, Timestamp)],
) -> i64 {
    use chrono::Datelike;
    if to <= from {
        return 0;
    }
    // Local wall time to UTC, with the offset in force then.
    let to_utc = |local: chrono::NaiveDateTime| {
        let guess = local.and_utc();
        guess - Duration::minutes(offset(guess - Duration::minutes(offset(guess))))
    };
    let first = (from + Duration::minutes(offset(from))).date_naive() - Duration::days(1);
    let last = (to + Duration::minutes(offset(to))).date_naive();
    let mut open: Vec<(Timestamp, Timestamp)> = Vec::new();
    let mut day = first;
    while day <= last {
        if !holidays.contains(&day) {
            let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
            for span in hours.day(day.weekday()) {
                let end = if span.to > span.from {
                    span.to
                } else {
                    1440 + span.to
                };
                let a = to_utc(midnight + Duration::minutes(i64::from(span.from)));
                let b = to_utc(midnight + Duration::minutes(i64::from(end)));
                let (a, b) = (a.max(from), b.min(to));
                if b > a {
                    open.push((a, b));
                }
            }
        }
        day += Duration::days(1);
    }
    open.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
    for (a, b) in open {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut seconds = 0;
    for (a, b) in merged {
        seconds += (b - a).num_seconds();
        for (p, q) in pauses {
            let (x, y) = ((*p).max(a), (*q).min(b));
            if y > x {
                seconds -= (y - x).num_seconds();
            }
        }
    }
    seconds
}

/// The SLA state a resumed timer returns to: what has fired stays fired.
pub(super) fn fired_state(t: &Task) -> SlaState {
    if t.sla_breached.is_some() {
        SlaState::Breached
    } else if t.sla_warned.is_some() {
        SlaState::Warned
    } else {
        SlaState::Running
    }
}

/// The alert an SLA breach raises, linked to its incident.
pub(super) fn breach_alert(id: &str, inc: &Incident, task: &Task, now: Timestamp) -> Alert {
    Alert {
        id: id.to_owned(),
        version: 1,
        title: format!("SLA breached: {}", task.title),
        summary: format!(
            "{}'s task \"{}\" in {} ({}) passed its SLA",
            task.department.label(),
            task.title,
            inc.id,
            inc.title
        ),
        severity: inc.severity,
        status: AlertStatus::New,
        resolution: None,
        assignee: None,
        rules: vec![AlertRule {
            rule_id: SLA_BREACH_RULE.to_owned(),
            title: "SLA breach".to_owned(),
            engine: "tandem".to_owned(),
            findings: 0,
        }],
        dedup_key: format!("sla_breach:{}:{}", inc.id, task.id),
        count: 1,
        suppressed: 0,
        first_seen: now,
        last_seen: now,
        entities: inc.entities.clone(),
        place: None,
        evidence: Vec::new(),
        tags: vec!["sla_breach".to_owned()],
        incident: Some(inc.id.clone()),
        risk: 0.0,
        other_keys: Vec::new(),
        suppress_key: None,
        raised_by: Some(crate::PRODUCT_ACTOR.to_owned()),
    }
}
