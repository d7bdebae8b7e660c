//! The control room's alarms: door alarms (forced, held open, tamper, duress), devices and
//! cameras gone offline, and physical findings, kept as a queue of their own beside the
//! rolling live feed, so an alarm cannot scroll away unseen.
//!
//! One alarm is open per kind and door or device: repeats raise its count and last-seen
//! time. A later ordinary event at the same door (a badge, the door closing) or the device
//! coming back online puts the alarm back to normal; an alarm whose kind needs
//! acknowledging ([`AlarmPolicy::require_acknowledgement`]: forced, tamper, duress and
//! findings by default) stays in the queue until someone has acknowledged it, the others are
//! cleared at once. People acknowledge (with a comment), snooze until a time (the alarm comes
//! back by itself), forward to a role or a person, and clear by hand; every action is kept
//! (who, when, comment) in the store beside the alarm.
//!
//! [`Alarms::take`] folds stored events read in commit order and writes the alarms with the
//! reader's cursor in one transaction (the binary's driver reads them), so an alarm is never
//! missed or raised twice across a restart. Changes by people and by the driver are taken
//! one at a time, and each is written from the version it read.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tandem_identity::Directory;
use tandem_identity::model::PlaceKind;
use tandem_model::{Activity, Class, Event, Finding, Severity, Timestamp, Ulid};
use tandem_store::{
    ALARM_EVENTS, Alarm, AlarmAction, AlarmQuery, AlarmState, AlarmStore, StoreError,
};

use crate::{CaseError, PRODUCT_ACTOR};

/// Every kind of alarm, with what the operator reads.
pub const KINDS: &[(&str, &str)] = &[
    ("door_forced", "Door forced open"),
    ("door_held_open", "Door held open"),
    ("door_tamper", "Tamper"),
    ("door_duress", "Duress"),
    ("camera_offline", "Camera offline"),
    ("physical_finding", "Physical finding"),
];

/// The longest comment kept with an action.
pub const MAX_COMMENT: usize = 2_000;

/// How alarms behave (`[alarms]` in tandem.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlarmPolicy {
    /// Whether stored events raise alarms; `false` leaves the queue as it is.
    pub enabled: bool,
    /// Kinds that must be acknowledged before they are cleared, by hand or by the door
    /// closing. The others clear themselves when the door closes or the device is back.
    pub require_acknowledgement: Vec<String>,
    /// The longest snooze, in minutes: a snoozed alarm always comes back.
    pub max_snooze_minutes: u64,
    /// Events older than this when they are read raise no alarm (they still put a door back
    /// to normal): a server started on a store with history, or back after a long stop,
    /// does not fill the queue with last month's doors.
    pub max_age_hours: u64,
}

impl Default for AlarmPolicy {
    fn default() -> Self {
        AlarmPolicy {
            enabled: true,
            require_acknowledgement: [
                "door_forced",
                "door_tamper",
                "door_duress",
                "physical_finding",
            ]
            .map(String::from)
            .to_vec(),
            max_snooze_minutes: 24 * 60,
            max_age_hours: 24,
        }
    }
}

impl AlarmPolicy {
    /// Refuses kinds Tandem does not raise, so a misspelt kind is not silently ignored.
    pub fn check(&self) -> Result<(), String> {
        for k in &self.require_acknowledgement {
            if !KINDS.iter().any(|(code, _)| code == k) {
                return Err(format!(
                    "unknown alarm kind {k:?} in require_acknowledgement; kinds are {}",
                    KINDS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if self.max_snooze_minutes == 0 {
            return Err("max_snooze_minutes must be at least 1".into());
        }
        Ok(())
    }

    fn needs_ack(&self, kind: &str) -> bool {
        self.require_acknowledgement.iter().any(|k| k == kind)
    }
}

/// The title of a kind ("Door forced open").
pub fn kind_title(kind: &str) -> &str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(kind, |(_, t)| t)
}

/// What an event means for the alarms.
#[derive(Debug, Clone, PartialEq)]
enum Signal {
    Raise(Box<Raised>),
    /// Things at this target are back to normal (door closed or used, device online).
    Normal(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Raised {
    kind: &'static str,
    target: String,
    title: String,
    summary: String,
    severity: Severity,
    place: Option<Named>,
    site: Option<Named>,
    device: Option<String>,
    finding: Option<Ulid>,
}

/// A place an event names, as the directory knows it (id and name), else as sent.
fn known(dir: &Directory, name: &str, kind: Option<PlaceKind>) -> (String, String) {
    match dir
        .find_place(name)
        .filter(|p| kind.is_none_or(|k| p.kind == k))
    {
        Some(p) => (p.id.clone(), p.name.clone()),
        None => (name.to_owned(), name.to_owned()),
    }
}

fn site_of(dir: &Directory, e: &Event) -> Option<(String, String)> {
    let site = e.place.as_ref()?.site.as_deref()?;
    Some(known(dir, site, Some(PlaceKind::Site)))
}

fn door_of(dir: &Directory, e: &Event) -> Option<(String, String)> {
    let p = e.place.as_ref()?;
    let door = p.door.as_deref().or(p.reader.as_deref())?;
    Some(known(dir, door, None))
}

/// A place's id and name.
type Named = (String, String);

/// The camera or device a status event is about: its alarm target, the camera place, and
/// the name an operator reads (the camera's, else the device's).
fn device_of(dir: &Directory, e: &Event) -> Option<(String, Option<Named>, String)> {
    if let Some(camera) = e.place.as_ref().and_then(|p| p.camera.as_deref()) {
        let (id, name) = known(dir, camera, None);
        return Some((format!("camera:{id}"), Some((id, name.clone())), name));
    }
    let d = e.device.as_ref()?;
    let name = d
        .hostname
        .clone()
        .or_else(|| d.id.clone())
        .or_else(|| d.external_id.clone())?;
    Some((
        format!("device:{}", d.id.as_deref().unwrap_or(&name)),
        None,
        name,
    ))
}

fn signal(e: &Event, dir: &Directory) -> Option<Signal> {
    match e.class {
        Class::PhysicalAccess => {
            let (id, name) = door_of(dir, e)?;
            let (kind, title) = match e.activity {
                Activity::Forced => ("door_forced", "Door forced open"),
                Activity::HeldOpen => ("door_held_open", "Door held open"),
                Activity::Tamper => ("door_tamper", "Door tampered with"),
                Activity::Duress => ("door_duress", "Duress alarm"),
                _ => return Some(Signal::Normal(format!("door:{id}"))),
            };
            Some(Signal::Raise(Box::new(Raised {
                kind,
                target: format!("door:{id}"),
                title: format!("{title}: {name}"),
                summary: e.message.clone(),
                severity: e.severity.max(Severity::Medium),
                place: Some((id, name)),
                site: site_of(dir, e),
                device: None,
                finding: None,
            })))
        }
        Class::DeviceStatus => {
            let (target, place, name) = device_of(dir, e)?;
            let (kind, title) = match e.activity {
                Activity::Offline if place.is_some() => ("camera_offline", "Camera offline"),
                Activity::Offline => ("camera_offline", "Device offline"),
                Activity::Tamper => ("door_tamper", "Device tampered with"),
                Activity::Online => return Some(Signal::Normal(target)),
                _ => return None,
            };
            Some(Signal::Raise(Box::new(Raised {
                kind,
                target,
                title: format!("{title}: {name}"),
                summary: e.message.clone(),
                severity: e.severity.max(Severity::Medium),
                place,
                site: site_of(dir, e),
                device: Some(name),
                finding: None,
            })))
        }
        Class::DetectionFinding => {
            let f = Finding::from_event(e)?;
            // A camera offline is raised from the camera's own status already.
            let physical = f.tags.iter().any(|t| t.starts_with("physical"))
                || f.place.as_ref().is_some_and(|p| p.door.is_some());
            if !physical || f.rule_id == "tandem.camera_offline" {
                return None;
            }
            let place = f
                .place
                .as_ref()
                .and_then(|p| p.door.as_deref().or(p.zone.as_deref()))
                .map(|d| known(dir, d, None));
            let at = place
                .as_ref()
                .map(|p| p.0.clone())
                .or_else(|| f.place.as_ref().and_then(|p| p.site.clone()))
                .unwrap_or_default();
            Some(Signal::Raise(Box::new(Raised {
                kind: "physical_finding",
                target: format!("finding:{}@{at}", f.rule_id),
                title: f.rule_title.clone(),
                summary: f.summary.clone(),
                severity: f.severity,
                place,
                site: site_of(dir, e),
                device: None,
                finding: Some(e.id),
            })))
        }
        _ => None,
    }
}

/// The classes [`Alarms::take`] reads.
pub const CLASSES: &[Class] = &[
    Class::PhysicalAccess,
    Class::DeviceStatus,
    Class::DetectionFinding,
];

/// An alarm as the queue shows it at a moment: its record and whether it is snoozed now.
pub fn snoozed(a: &Alarm, now: Timestamp) -> bool {
    a.state != AlarmState::Cleared && a.snoozed_until.is_some_and(|t| t > now)
}

/// The queue's order: unacknowledged first, then acknowledged, then snoozed, then cleared;
/// within each the most severe, then the newest.
pub fn queue_order(alarms: &mut [Alarm], now: Timestamp) {
    alarms.sort_by(|a, b| {
        let rank = |a: &Alarm| match a.state {
            AlarmState::Cleared => 3,
            _ if snoozed(a, now) => 2,
            AlarmState::Active => 0,
            AlarmState::Acknowledged => 1,
        };
        rank(a)
            .cmp(&rank(b))
            .then(b.severity.cmp(&a.severity))
            .then(b.last_seen.cmp(&a.last_seen))
    });
}

/// What a person does to an alarm.
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmChange {
    Acknowledge,
    /// Out of the queue until then.
    Snooze(Timestamp),
    /// To a role (`role:<stored role>`) or a user name.
    Forward(String),
    Clear,
}

impl AlarmChange {
    pub fn code(&self) -> &'static str {
        match self {
            AlarmChange::Acknowledge => "acknowledged",
            AlarmChange::Snooze(_) => "snoozed",
            AlarmChange::Forward(_) => "forwarded",
            AlarmChange::Clear => "cleared",
        }
    }
}

/// The alarm queue over the store.
pub struct Alarms {
    store: Arc<dyn AlarmStore>,
    policy: AlarmPolicy,
    /// One change at a time: the driver's folds and people's actions read and write the
    /// same records. Holds when the driver's cursor was last written.
    lock: Mutex<Option<Timestamp>>,
}

/// How long the driver's cursor may lag behind the events read while they change no alarm.
/// Most door events change nothing (a badge read at a door not in alarm); writing the cursor
/// for each chunk of them was a write per thousand events under sustained ingest. Reading
/// such events again after a restart changes nothing either, so the lag costs only a re-read.
const CURSOR_LAG: chrono::Duration = chrono::Duration::seconds(5);

impl Alarms {
    pub fn new(store: Arc<dyn AlarmStore>, policy: AlarmPolicy) -> Result<Alarms, String> {
        policy.check()?;
        Ok(Alarms {
            store,
            policy,
            lock: Mutex::new(None),
        })
    }

    pub fn policy(&self) -> &AlarmPolicy {
        &self.policy
    }

    /// Folds stored events (commit order) into the alarms and writes them with `cursor` in
    /// one transaction. Returns the alarms raised or changed.
    pub fn take(
        &self,
        events: &[Event],
        dir: &Directory,
        cursor: (&str, &str),
        now: Timestamp,
    ) -> Result<Vec<Alarm>, CaseError> {
        let mut cursor_written = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let open_targets = self.store.open_alarm_targets()?;
        // The records this chunk read, in the order first read, with the version they were
        // read at and whether this chunk changed them.
        let mut touched: Vec<(Alarm, u64, bool)> = Vec::new();
        let mut actions = Vec::new();
        let action = |a: &Alarm, what: &str, comment: String| AlarmAction {
            alarm: a.id.clone(),
            time: now,
            actor: PRODUCT_ACTOR.to_owned(),
            action: what.to_owned(),
            comment,
        };
        for e in events {
            let Some(signal) = signal(e, dir) else {
                continue;
            };
            let oldest =
                now - chrono::Duration::hours(self.policy.max_age_hours.min(1 << 20) as i64);
            if matches!(signal, Signal::Raise(_)) && e.time < oldest {
                continue;
            }
            let target = match &signal {
                Signal::Raise(r) => r.target.clone(),
                Signal::Normal(t) => t.clone(),
            };
            let mut open: Vec<usize> = touched
                .iter()
                .enumerate()
                .filter(|(_, (a, _, _))| a.target == target && a.state != AlarmState::Cleared)
                .map(|(i, _)| i)
                .collect();
            let stored = if open_targets.contains(&target) {
                self.store.open_alarms(&target)?
            } else {
                Vec::new()
            };
            for a in stored {
                if !touched.iter().any(|(t, _, _)| t.id == a.id) {
                    let v = a.version;
                    touched.push((a, v, false));
                    open.push(touched.len() - 1);
                }
            }
            // A physical finding about a door that is in alarm already is that alarm's
            // finding (the Sigma rule and the native detection on a forced door), not a
            // second alarm to acknowledge.
            if let Signal::Raise(r) = &signal
                && r.kind == "physical_finding"
                && let Some((door, _)) = &r.place
            {
                let at = format!("door:{door}");
                let stored = if open_targets.contains(&at) {
                    self.store.open_alarms(&at)?
                } else {
                    Vec::new()
                };
                for a in stored {
                    if !touched.iter().any(|(t, _, _)| t.id == a.id) {
                        let v = a.version;
                        touched.push((a, v, false));
                    }
                }
                let door_alarm = touched
                    .iter_mut()
                    .filter(|(a, _, _)| a.target == at && a.state != AlarmState::Cleared)
                    .max_by_key(|(a, _, _)| a.last_seen);
                if let Some((a, _, dirty)) = door_alarm {
                    match (a.finding, r.finding) {
                        (None, f) => a.finding = f,
                        (Some(first), Some(f))
                            if first != f
                                && !a.more_findings.contains(&f)
                                && a.more_findings.len() < ALARM_EVENTS =>
                        {
                            a.more_findings.push(f)
                        }
                        _ => {}
                    }
                    a.severity = a.severity.max(r.severity);
                    *dirty = true;
                    actions.push(action(a, "finding", r.title.clone()));
                    continue;
                }
            }
            match signal {
                Signal::Raise(r) => {
                    let r = *r;
                    let same = open.iter().copied().find(|i| touched[*i].0.kind == r.kind);
                    match same {
                        Some(i) => {
                            touched[i].2 = true;
                            let a = &mut touched[i].0;
                            a.count += 1;
                            a.last_seen = a.last_seen.max(e.time);
                            a.back_to_normal = false;
                            a.severity = a.severity.max(r.severity);
                            a.summary = r.summary;
                            a.events.push(e.id);
                            if a.events.len() > ALARM_EVENTS {
                                a.events.remove(0);
                            }
                        }
                        None => {
                            let a = Alarm {
                                id: Ulid::generate().to_string(),
                                kind: r.kind.to_owned(),
                                target: r.target,
                                title: r.title,
                                summary: r.summary,
                                severity: r.severity,
                                state: AlarmState::Active,
                                ack_required: self.policy.needs_ack(r.kind),
                                back_to_normal: false,
                                place_name: r.place.as_ref().map(|p| p.1.clone()),
                                place: r.place.map(|p| p.0),
                                site_name: r.site.as_ref().map(|p| p.1.clone()),
                                site: r.site.map(|p| p.0),
                                device: r.device,
                                count: 1,
                                first_seen: e.time,
                                last_seen: e.time,
                                events: vec![e.id],
                                finding: r.finding,
                                more_findings: Vec::new(),
                                snoozed_until: None,
                                forwarded_to: None,
                                acknowledged_by: None,
                                cleared_by: None,
                                cleared: None,
                                version: 0,
                            };
                            actions.push(action(&a, "raised", a.summary.clone()));
                            touched.push((a, 0, true));
                        }
                    }
                }
                Signal::Normal(_) => {
                    for i in open {
                        let a = &touched[i].0;
                        // A duress alarm is about a person, not the door: a door used
                        // afterwards says nothing about it.
                        if a.kind == "door_duress" || a.kind == "physical_finding" {
                            continue;
                        }
                        touched[i].2 = true;
                        let a = &mut touched[i].0;
                        a.events.push(e.id);
                        if a.events.len() > ALARM_EVENTS {
                            a.events.remove(0);
                        }
                        if a.ack_required && a.state == AlarmState::Active {
                            if !a.back_to_normal {
                                a.back_to_normal = true;
                                let words = "back to normal; waiting for acknowledgement";
                                actions.push(action(a, "back_to_normal", words.into()));
                            }
                        } else {
                            a.back_to_normal = true;
                            a.state = AlarmState::Cleared;
                            a.cleared = Some(e.time.max(a.last_seen));
                            a.cleared_by = Some(PRODUCT_ACTOR.to_owned());
                            let words = if a.kind == "camera_offline" {
                                "back online"
                            } else {
                                "the door is back to normal"
                            };
                            actions.push(action(a, "cleared", words.into()));
                        }
                    }
                }
            }
        }
        let mut changed = Vec::new();
        for (mut a, read, dirty) in touched {
            if dirty {
                a.version = read + 1;
                changed.push(a);
            }
        }
        let due = cursor_written.is_none_or(|t| now - t >= CURSOR_LAG);
        if !changed.is_empty() || !actions.is_empty() || due {
            self.store.commit_alarms(&changed, &actions, Some(cursor))?;
            *cursor_written = Some(now);
        }
        Ok(changed)
    }

    /// The open alarms (and recently cleared ones when asked), in queue order as of now.
    pub fn list(&self, query: &AlarmQuery) -> Result<Vec<Alarm>, CaseError> {
        let mut v = self.store.alarms(query)?;
        queue_order(&mut v, chrono::Utc::now());
        Ok(v)
    }

    pub fn get(&self, id: &str) -> Result<(Alarm, Vec<AlarmAction>), CaseError> {
        let a = self.store.alarm(id)?.ok_or_else(|| CaseError::NotFound {
            kind: "alarm",
            id: id.to_owned(),
        })?;
        let actions = self.store.alarm_actions(id)?;
        Ok((a, actions))
    }

    pub fn unacknowledged(&self, now: Timestamp) -> Result<u64, CaseError> {
        Ok(self.store.unacknowledged_alarms(now)?)
    }

    /// Applies a person's change. `version`, when given, is the version they saw: a change
    /// based on an older one is refused, naming what happened since.
    pub fn change(
        &self,
        id: &str,
        version: Option<u64>,
        change: AlarmChange,
        actor: &str,
        comment: &str,
        now: Timestamp,
    ) -> Result<Alarm, CaseError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let comment = comment.trim();
        if comment.len() > MAX_COMMENT {
            return Err(CaseError::Refused(format!(
                "a comment is at most {MAX_COMMENT} bytes"
            )));
        }
        let (mut a, actions) = self.get(id)?;
        if let Some(v) = version
            && v != a.version
        {
            let last = actions.last();
            return Err(CaseError::Conflict {
                id: id.to_owned(),
                based_on: v,
                current: a.version,
                by: last.map_or_else(String::new, |x| x.actor.clone()),
                what: last.map_or_else(String::new, |x| x.action.clone()),
            });
        }
        if a.state == AlarmState::Cleared {
            return Err(CaseError::Refused(format!(
                "the alarm was cleared{}",
                a.cleared_by
                    .as_deref()
                    .map(|b| format!(" by {b}"))
                    .unwrap_or_default()
            )));
        }
        let mut detail = comment.to_owned();
        match &change {
            AlarmChange::Acknowledge => {
                if a.state == AlarmState::Acknowledged {
                    return Err(CaseError::Refused(format!(
                        "the alarm was acknowledged already by {}",
                        a.acknowledged_by.as_deref().unwrap_or("someone")
                    )));
                }
                a.state = AlarmState::Acknowledged;
                a.acknowledged_by = Some(actor.to_owned());
                a.snoozed_until = None;
                // Acknowledged once the door is closed again: nothing is left to wait for.
                if a.back_to_normal {
                    a.state = AlarmState::Cleared;
                    a.cleared = Some(now);
                    a.cleared_by = Some(actor.to_owned());
                }
            }
            AlarmChange::Snooze(until) => {
                let longest =
                    now + chrono::Duration::minutes(self.policy.max_snooze_minutes as i64);
                if *until <= now || *until > longest {
                    return Err(CaseError::Refused(format!(
                        "snooze until a time within the next {} minutes",
                        self.policy.max_snooze_minutes
                    )));
                }
                a.snoozed_until = Some(*until);
                detail = join(&format!("until {}", until.to_rfc3339()), comment);
            }
            AlarmChange::Forward(to) => {
                let to = to.trim();
                if to.is_empty() || to.len() > 200 {
                    return Err(CaseError::Refused(
                        "forward to a role or a user name".into(),
                    ));
                }
                a.forwarded_to = Some(to.to_owned());
                detail = join(&format!("to {to}"), comment);
            }
            AlarmChange::Clear => {
                if a.ack_required && a.state != AlarmState::Acknowledged {
                    return Err(CaseError::Refused(format!(
                        "{} alarms must be acknowledged before they are cleared",
                        kind_title(&a.kind)
                    )));
                }
                a.state = AlarmState::Cleared;
                a.cleared = Some(now);
                a.cleared_by = Some(actor.to_owned());
            }
        }
        a.version += 1;
        let mut entries = vec![AlarmAction {
            alarm: a.id.clone(),
            time: now,
            actor: actor.to_owned(),
            action: change.code().to_owned(),
            comment: detail,
        }];
        if change == AlarmChange::Acknowledge && a.state == AlarmState::Cleared {
            entries.push(AlarmAction {
                alarm: a.id.clone(),
                time: now,
                actor: actor.to_owned(),
                action: "cleared".into(),
                comment: "acknowledged after it was back to normal".into(),
            });
        }
        self.store
            .commit_alarms(std::slice::from_ref(&a), &entries, None)
            .map_err(|e| match e {
                StoreError::Conflict { current, .. } => CaseError::Conflict {
                    id: id.to_owned(),
                    based_on: a.version - 1,
                    current: current.unwrap_or_default(),
                    by: String::new(),
                    what: "a change".into(),
                },
                e => e.into(),
            })?;
        Ok(a)
    }

    pub fn sound(&self, user: &str) -> Result<bool, CaseError> {
        Ok(self.store.alarm_sound(user)?)
    }

    pub fn set_sound(&self, user: &str, on: bool) -> Result<(), CaseError> {
        Ok(self.store.set_alarm_sound(user, on)?)
    }
}

fn join(what: &str, comment: &str) -> String {
    if comment.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {comment}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_store::{SqliteStore, StoreConfig};

    fn door_event(activity: Activity, door: &str, t: i64) -> Event {
        // Recent: older events raise no alarm (`max_age_hours`).
        let time =
            chrono::Utc::now() - chrono::Duration::minutes(10) + chrono::Duration::seconds(t);
        let mut e = Event::new("verkada", Class::PhysicalAccess, activity, time);
        let p = e.place.get_or_insert_with(Default::default);
        p.door = Some(door.into());
        p.site = Some("osl".into());
        e.message = format!("{door} {activity}");
        e
    }

    fn alarms(dir: &std::path::Path) -> Alarms {
        let store = Arc::new(SqliteStore::open(dir, StoreConfig::default()).unwrap());
        Alarms::new(store, AlarmPolicy::default()).unwrap()
    }

    fn now() -> Timestamp {
        chrono::Utc::now()
    }

    #[test]
    fn chunks_that_change_no_alarm_write_the_cursor_only_now_and_then() {
        use tandem_store::StateStore;
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(tmp.path(), StoreConfig::default()).unwrap());
        let a = Alarms::new(store.clone(), AlarmPolicy::default()).unwrap();
        let dir = Directory::default();
        let cursor = || store.get_state("c").unwrap();
        let t0 = now();
        let second = |s: i64| t0 + chrono::Duration::seconds(s);
        a.take(
            &[door_event(Activity::Granted, "Lobby", 0)],
            &dir,
            ("c", "1"),
            t0,
        )
        .unwrap();
        assert_eq!(cursor().as_deref(), Some("1"), "the first chunk writes it");
        a.take(
            &[door_event(Activity::Granted, "Lobby", 1)],
            &dir,
            ("c", "2"),
            second(1),
        )
        .unwrap();
        assert_eq!(
            cursor().as_deref(),
            Some("1"),
            "nothing changed, not due yet"
        );
        a.take(
            &[door_event(Activity::Forced, "Lobby", 2)],
            &dir,
            ("c", "3"),
            second(2),
        )
        .unwrap();
        assert_eq!(
            cursor().as_deref(),
            Some("3"),
            "an alarm is written with its cursor"
        );
        a.take(
            &[door_event(Activity::Granted, "Hall", 3)],
            &dir,
            ("c", "4"),
            second(10),
        )
        .unwrap();
        assert_eq!(cursor().as_deref(), Some("4"), "due again after the lag");
    }

    #[test]
    fn repeats_fold_into_one_alarm_and_a_closed_door_clears_held_open_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let a = alarms(tmp.path());
        let dir = Directory::default();
        let held = door_event(Activity::HeldOpen, "Lobby", 0);
        let again = door_event(Activity::HeldOpen, "Lobby", 30);
        a.take(&[held, again], &dir, ("c", "1"), now()).unwrap();
        let open = a.list(&AlarmQuery::default()).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].count, 2);
        assert_eq!(open[0].title, "Door held open: Lobby");
        assert!(!open[0].ack_required);
        // Taken again (a reader that died before its cursor moved would not, but the fold
        // itself is not what guards that): a third repeat.
        a.take(
            &[door_event(Activity::Granted, "Lobby", 60)],
            &dir,
            ("c", "2"),
            now(),
        )
        .unwrap();
        assert!(a.list(&AlarmQuery::default()).unwrap().is_empty());
        let (cleared, actions) = a.get(&open[0].id).unwrap();
        assert_eq!(cleared.state, AlarmState::Cleared);
        assert_eq!(cleared.cleared_by.as_deref(), Some("tandem"));
        assert_eq!(
            actions
                .iter()
                .map(|x| x.action.as_str())
                .collect::<Vec<_>>(),
            ["raised", "cleared"]
        );
    }

    #[test]
    fn a_forced_door_waits_for_acknowledgement_and_cannot_be_cleared_before() {
        let tmp = tempfile::tempdir().unwrap();
        let a = alarms(tmp.path());
        let dir = Directory::default();
        a.take(
            &[door_event(Activity::Forced, "Server room", 0)],
            &dir,
            ("c", "1"),
            now(),
        )
        .unwrap();
        let id = a.list(&AlarmQuery::default()).unwrap()[0].id.clone();
        let refused = a.change(&id, None, AlarmChange::Clear, "guard", "", now());
        assert!(
            matches!(&refused, Err(CaseError::Refused(m)) if m.contains("acknowledged before")),
            "{refused:?}"
        );
        // The door closes: still in the queue, waiting for someone.
        a.take(
            &[door_event(Activity::Granted, "Server room", 10)],
            &dir,
            ("c", "2"),
            now(),
        )
        .unwrap();
        let (waiting, _) = a.get(&id).unwrap();
        assert_eq!(waiting.state, AlarmState::Active);
        assert!(waiting.back_to_normal);
        assert_eq!(a.unacknowledged(now()).unwrap(), 1);
        // Acknowledged: nothing is left to wait for.
        let acked = a
            .change(
                &id,
                Some(waiting.version),
                AlarmChange::Acknowledge,
                "guard",
                "on site",
                now(),
            )
            .unwrap();
        assert_eq!(acked.state, AlarmState::Cleared);
        assert_eq!(a.unacknowledged(now()).unwrap(), 0);
        // A stale version is refused.
        assert!(matches!(
            a.change(&id, Some(1), AlarmChange::Clear, "guard", "", now()),
            Err(CaseError::Conflict { .. })
        ));
    }

    #[test]
    fn snoozing_hides_an_alarm_until_its_time_and_forwarding_names_the_receiver() {
        let tmp = tempfile::tempdir().unwrap();
        let a = alarms(tmp.path());
        let dir = Directory::default();
        a.take(
            &[door_event(Activity::Duress, "Reception", 0)],
            &dir,
            ("c", "1"),
            now(),
        )
        .unwrap();
        let id = a.list(&AlarmQuery::default()).unwrap()[0].id.clone();
        let until = now() + chrono::Duration::minutes(5);
        let s = a
            .change(&id, None, AlarmChange::Snooze(until), "guard", "", now())
            .unwrap();
        assert!(snoozed(&s, now()));
        assert_eq!(a.unacknowledged(now()).unwrap(), 0);
        assert_eq!(
            a.unacknowledged(until + chrono::Duration::seconds(1))
                .unwrap(),
            1
        );
        let essay = "x".repeat(MAX_COMMENT + 1);
        assert!(matches!(
            a.change(&id, None, AlarmChange::Acknowledge, "guard", &essay, now()),
            Err(CaseError::Refused(m)) if m.contains("at most")
        ));
        let too_long = now() + chrono::Duration::days(2);
        assert!(
            a.change(&id, None, AlarmChange::Snooze(too_long), "guard", "", now())
                .is_err()
        );
        let f = a
            .change(
                &id,
                None,
                AlarmChange::Forward("role:responder:facilities".into()),
                "guard",
                "door closer broken",
                now(),
            )
            .unwrap();
        assert_eq!(f.forwarded_to.as_deref(), Some("role:responder:facilities"));
        // Duress is about a person: the door being used does not end it.
        a.take(
            &[door_event(Activity::Granted, "Reception", 10)],
            &dir,
            ("c", "2"),
            now(),
        )
        .unwrap();
        assert_eq!(a.get(&id).unwrap().0.state, AlarmState::Active);
        let (_, actions) = a.get(&id).unwrap();
        assert_eq!(
            actions[2].comment,
            "to role:responder:facilities: door closer broken"
        );
    }

    #[test]
    fn a_finding_about_a_door_in_alarm_is_that_alarms_finding() {
        let tmp = tempfile::tempdir().unwrap();
        let a = alarms(tmp.path());
        let dir = Directory::default();
        let forced = door_event(Activity::Forced, "Server room", 0);
        let finding = Finding {
            rule_id: "tandem.forced_door_with_person".into(),
            rule_title: "Forced door with a person on camera".into(),
            engine: "native".into(),
            severity: Severity::High,
            tags: vec!["physical.forced_door".into()],
            time: forced.time,
            summary: "Server room forced".into(),
            evidence: vec![forced.id],
            entities: Default::default(),
            place: forced.place.clone(),
            dedup_key: "k".into(),
            score: None,
            detail: Default::default(),
        };
        let stored = finding.to_event();
        // The shipped Sigma rule on the same door joins the same alarm, listed beside it.
        let sigma = Finding {
            rule_id: "sigma-door-forced".into(),
            engine: "sigma".into(),
            ..finding.clone()
        }
        .to_event();
        a.take(
            &[forced, stored.clone(), sigma.clone(), sigma.clone()],
            &dir,
            ("c", "1"),
            now(),
        )
        .unwrap();
        let open = a.list(&AlarmQuery::default()).unwrap();
        assert_eq!(open.len(), 1, "{open:#?}");
        assert_eq!(open[0].kind, "door_forced");
        assert_eq!(open[0].finding, Some(stored.id));
        assert_eq!(open[0].more_findings, vec![sigma.id]);
    }

    #[test]
    fn old_events_raise_no_alarm_and_a_camera_back_online_clears_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let a = alarms(tmp.path());
        let dir = Directory::default();
        let mut old = door_event(Activity::Forced, "Lobby", 0);
        old.time = now() - chrono::Duration::days(3);
        a.take(&[old], &dir, ("c", "1"), now()).unwrap();
        assert!(a.list(&AlarmQuery::default()).unwrap().is_empty());

        let camera = |activity| {
            let mut e = Event::new("frigate", Class::DeviceStatus, activity, now());
            e.place.get_or_insert_with(Default::default).camera = Some("srv_cam".into());
            e
        };
        a.take(&[camera(Activity::Offline)], &dir, ("c", "2"), now())
            .unwrap();
        let open = a.list(&AlarmQuery::default()).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].kind, "camera_offline");
        assert_eq!(open[0].title, "Camera offline: srv_cam");
        a.take(&[camera(Activity::Online)], &dir, ("c", "3"), now())
            .unwrap();
        assert!(a.list(&AlarmQuery::default()).unwrap().is_empty());
    }

    #[test]
    fn an_unknown_kind_in_the_policy_is_refused() {
        let p = AlarmPolicy {
            require_acknowledgement: vec!["door_forcd".into()],
            ..AlarmPolicy::default()
        };
        assert!(p.check().unwrap_err().contains("door_forcd"));
    }
}
