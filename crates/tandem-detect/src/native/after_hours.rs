//! `tandem.after_hours_restricted_then_privileged`: someone badges into a restricted zone (a
//! server room) outside its allowed hours and, shortly after, the same person does something
//! privileged on a machine standing in that zone.
//!
//! Each half alone is routine — admins enter server rooms, admins use sudo — but together,
//! at night, they are the insider (or the stolen badge plus stolen password) with hands on
//! the hardware. What is restricted comes from the directory: a zone, or a door (a lab door in
//! an open-plan floor), with `restricted` set; its schedule is its own `allowed_hours` or else
//! its nearest ancestor's (per weekday, to the minute), closed on the `holidays` of any place
//! up to the site, in the site's time zone (see `local_time` for how local time is computed
//! without a time-zone database). The privileged activity must happen on a device in the zone
//! entered (the restricted zone, or the zone the restricted door opens into): the directory
//! device record's `place` (the zone or anything inside it), or the event's resolved place.
//!
//! Privileged activity is:
//! * `sudo` — `process_activity` / `launch`, not failed, with `sudo.*` attributes (auth.log);
//! * Windows 4672 special privileges — `authorize_session` / `assign_privileges`;
//! * a console logon — `authentication` / `logon` whose `logon_type` is one of
//!   `console_logon_types` (an interactive logon at a server in the zone is a logon at its
//!   console).
//!
//! The two may be ingested in either order (badges and server logs travel separately); both
//! are kept for `window_minutes` and whichever completes the pair raises the finding, once per
//! entry.

use super::{
    Draft, Located, Rule, cap_map, later, load, local_time, minutes, person, person_name,
    reference, save, utc_label,
};
use crate::Detection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tandem_identity::{Directory, PlaceKind, PlaceRecord};
use tandem_model::{Activity, Class, Event, Finding, Outcome, Severity, Timestamp, Ulid};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.after_hours_restricted_then_privileged",
    title: "Restricted zone entered after hours, then privileged activity on a device in it",
    severity: Severity::High,
    tags: &[
        "attack.privilege_escalation",
        "attack.t1078",
        "attack.t1548.003",
        "physical.after_hours",
        "physical.restricted_zone",
    ],
};

/// `tandem.after_hours_restricted_then_privileged` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AfterHoursConfig {
    pub enabled: bool,
    /// Privileged activity must follow the entry within this many minutes.
    pub window_minutes: u64,
    /// Count `sudo` (auth.log) as privileged.
    pub sudo: bool,
    /// Count Windows 4672 (special privileges assigned) as privileged.
    pub windows_special_privileges: bool,
    /// `attrs.logon_type` values that make a logon on a device in the zone a console logon.
    pub console_logon_types: Vec<String>,
    pub max_people: usize,
}

impl Default for AfterHoursConfig {
    fn default() -> Self {
        AfterHoursConfig {
            enabled: true,
            window_minutes: 30,
            sudo: true,
            windows_special_privileges: true,
            console_logon_types: vec!["console".into(), "interactive".into(), "2".into()],
            max_people: 100_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    time: Timestamp,
    id: Ulid,
    zone: String,
    zone_name: String,
    site_name: Option<String>,
    local: String,
    time_zone: String,
    hours: String,
    door: Option<String>,
    /// The restricted door's name, when the door (not the zone) is what is restricted.
    #[serde(default)]
    through: Option<String>,
    fired: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Privileged {
    time: Timestamp,
    id: Ulid,
    device: String,
    /// The device's place and its ancestors.
    places: Vec<String>,
    what: String,
    user: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    entries: HashMap<String, Vec<Entry>>,
    privileged: HashMap<String, Vec<Privileged>>,
    watermark: Option<Timestamp>,
}

pub(crate) struct AfterHours {
    cfg: AfterHoursConfig,
    s: State,
}

const PER_PERSON: usize = 16;

/// The zone an entry through `restricted` leads into: the place itself when it is an area (a
/// zone, or a floor or building marked restricted), else the nearest zone above the door
/// (or whatever holds the door).
fn area<'a>(restricted: &'a PlaceRecord, lineage: &[&'a PlaceRecord]) -> &'a PlaceRecord {
    if !matches!(
        restricted.kind,
        PlaceKind::Door | PlaceKind::Reader | PlaceKind::Camera
    ) {
        return restricted;
    }
    let above = lineage.iter().skip_while(|p| p.id != restricted.id).skip(1);
    above
        .clone()
        .find(|p| p.kind == PlaceKind::Zone)
        .or_else(|| {
            above
                .clone()
                .find(|p| !matches!(p.kind, PlaceKind::Door | PlaceKind::Reader))
        })
        .copied()
        .unwrap_or(restricted)
}

impl AfterHours {
    pub fn new(cfg: AfterHoursConfig) -> Self {
        AfterHours {
            cfg,
            s: State::default(),
        }
    }

    fn window(&self) -> chrono::Duration {
        super::secs(self.cfg.window_minutes.saturating_mul(60))
    }

    /// What privileged thing the event is, if any.
    fn privileged(&self, e: &Event) -> Option<String> {
        if e.outcome == Outcome::Failure {
            return None;
        }
        match (e.class, e.activity) {
            (Class::ProcessActivity, Activity::Launch)
                if self.cfg.sudo && e.attrs.keys().any(|k| k.starts_with("sudo.")) =>
            {
                let cmd = e
                    .attrs
                    .get("sudo.command")
                    .and_then(|v| v.as_str())
                    .unwrap_or("a command");
                Some(format!("ran sudo {cmd}"))
            }
            (Class::AuthorizeSession, Activity::AssignPrivileges)
                if self.cfg.windows_special_privileges =>
            {
                Some("was assigned special privileges (4672)".into())
            }
            (Class::Authentication, Activity::Logon) => {
                let t = e.attrs.get("logon_type").map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })?;
                self.cfg
                    .console_logon_types
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&t))
                    .then(|| "logged on at the console".to_owned())
            }
            _ => None,
        }
    }

    fn entry(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        let Some(p) = person(e) else { return };
        if e.physical.as_ref().and_then(|ph| ph.direction.as_deref()) == Some("out") {
            return;
        }
        let at = Located::of(e, dir);
        // The nearest restricted place (door before zone), and the schedule in force there.
        let Some(i) = at.lineage.iter().position(|x| x.restricted) else {
            return;
        };
        let restricted = at.lineage[i];
        let Some(hours) = at.lineage[i..]
            .iter()
            .find_map(|x| x.allowed_hours.as_ref())
        else {
            return;
        };
        let holidays: Vec<chrono::NaiveDate> = at
            .lineage
            .iter()
            .flat_map(|x| x.holidays.iter().copied())
            .collect();
        let tz = at.time_zone();
        let (local, known) = local_time(tz, e.time);
        if hours.allows(local, &holidays) {
            return;
        }
        let zone = area(restricted, &at.lineage);
        let holiday = holidays.contains(&local.date());
        let mut entry = Entry {
            time: e.time,
            id: e.id,
            zone: zone.id.clone(),
            zone_name: zone.name.clone(),
            site_name: at.site_label(),
            local: local.format("%a %H:%M").to_string(),
            time_zone: if known {
                tz.unwrap_or("UTC").to_owned()
            } else {
                "UTC, time zone unknown".to_owned()
            },
            hours: if holiday {
                format!("{hours}, closed on {}", local.format("%Y-%m-%d"))
            } else {
                hours.to_string()
            },
            door: at.door_id(),
            through: (restricted.id != zone.id).then(|| restricted.name.clone()),
            fired: false,
        };
        let person_id = p.id.clone();
        let name = person_name(p).to_owned();
        // Privileged activity already seen (ingested before the badge event).
        let window = self.window();
        let earlier = self.s.privileged.get(&person_id).and_then(|v| {
            v.iter()
                .find(|x| {
                    x.time >= entry.time
                        && x.time - entry.time <= window
                        && x.places.contains(&entry.zone)
                })
                .cloned()
        });
        if let Some(x) = earlier {
            entry.fired = true;
            out.push(finding(&person_id, &name, &entry, &x));
        }
        let v = self.s.entries.entry(person_id).or_default();
        v.push(entry);
        if v.len() > PER_PERSON {
            v.remove(0);
        }
        cap_map(&mut self.s.entries, self.cfg.max_people, |v| {
            v.last().map_or(Timestamp::MIN_UTC, |x| x.time)
        });
    }

    fn activity(&mut self, e: &Event, what: String, dir: &Directory, out: &mut Vec<Finding>) {
        let Some(p) = person(e) else { return };
        // Where the device stands: its directory record first, the event's place otherwise.
        let device = e.device.as_ref();
        let record = device.and_then(|d| {
            d.id.as_deref()
                .and_then(|id| dir.device(id))
                .or_else(|| d.hostname.as_deref().and_then(|h| dir.device(h)))
        });
        let name = record
            .map(|r| r.id.clone())
            .or_else(|| device.and_then(|d| d.hostname.clone()))
            .unwrap_or_else(|| "an unknown device".into());
        let mut places: Vec<String> = record
            .and_then(|r| r.place.as_deref())
            .map(|pl| {
                Located::of_place(pl, dir)
                    .lineage
                    .iter()
                    .map(|x| x.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        if places.is_empty() {
            places = Located::of(e, dir)
                .lineage
                .iter()
                .map(|x| x.id.clone())
                .collect();
        }
        if places.is_empty() {
            return;
        }
        let x = Privileged {
            time: e.time,
            id: e.id,
            device: name,
            places,
            what,
            user: e.actor.user.clone(),
        };
        let window = self.window();
        let name = person_name(p).to_owned();
        if let Some(entries) = self.s.entries.get_mut(&p.id) {
            for entry in entries.iter_mut() {
                if !entry.fired
                    && x.time >= entry.time
                    && x.time - entry.time <= window
                    && x.places.contains(&entry.zone)
                {
                    entry.fired = true;
                    out.push(finding(&p.id, &name, entry, &x));
                }
            }
        }
        let v = self.s.privileged.entry(p.id.clone()).or_default();
        v.push(x);
        if v.len() > PER_PERSON {
            v.remove(0);
        }
        cap_map(&mut self.s.privileged, self.cfg.max_people, |v| {
            v.last().map_or(Timestamp::MIN_UTC, |x| x.time)
        });
    }
}

fn finding(person: &str, name: &str, entry: &Entry, x: &Privileged) -> Finding {
    let site = entry
        .site_name
        .as_deref()
        .map(|s| format!(", {s}"))
        .unwrap_or_default();
    let through = entry
        .through
        .as_deref()
        .map(|d| format!(" through restricted {d}"))
        .unwrap_or_default();
    let summary = format!(
        "{name} entered {}{site}{through} at {} local ({}; {}), outside its allowed hours {}, and {} min later {} on {} in that zone",
        entry.zone_name,
        entry.local,
        entry.time_zone,
        utc_label(entry.time),
        entry.hours,
        minutes(entry.time, x.time),
        x.what,
        x.device,
    );
    let mut d = Draft::new(
        &RULE,
        summary,
        format_args!("{person}:{}:{}", entry.zone, entry.id),
    )
    .person(person)
    .evidence(entry.time, entry.id)
    .evidence(x.time, x.id)
    .device(&x.device)
    .detail("zone", entry.zone.as_str())
    .detail("local_time", entry.local.as_str())
    .detail("time_zone", entry.time_zone.as_str())
    .detail("allowed_hours", entry.hours.as_str())
    .detail("privileged", x.what.as_str())
    .detail("minutes_after_entry", minutes(entry.time, x.time));
    if let Some(door) = &entry.door {
        d = d.place(door);
    }
    d = d.place(&entry.zone);
    if let Some(u) = &x.user {
        d = d.user(u);
    }
    d.finish()
}

impl Detection for AfterHours {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        if e.class == Class::PhysicalAccess && e.activity == Activity::Granted {
            self.s.watermark = later(self.s.watermark, e.time);
            self.entry(e, dir, out);
        } else if let Some(what) = self.privileged(e) {
            self.s.watermark = later(self.s.watermark, e.time);
            self.activity(e, what, dir, out);
        }
    }

    fn tick(&mut self, now: Timestamp, _dir: &Directory, _out: &mut Vec<Finding>) {
        // Keep twice the window: privileged events ingested late still meet their entry.
        let cutoff = reference(self.s.watermark, now) - self.window() - self.window();
        self.s.entries.retain(|_, v| {
            v.retain(|x| x.time >= cutoff);
            !v.is_empty()
        });
        self.s.privileged.retain(|_, v| {
            v.retain(|x| x.time >= cutoff);
            !v.is_empty()
        });
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        save(&self.s)
    }

    fn load_state(&mut self, state: serde_json::Value) {
        load(RULE.id, state, &mut self.s);
    }
}
