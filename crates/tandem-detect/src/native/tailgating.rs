//! `tandem.tailgating`: more people through a door than the access-control system let in.
//!
//! Four ways to see it:
//!
//! 1. **Camera count.** A grant at a door, then, within `window_seconds`, the door's camera
//!    sees more people than there were distinct credentials granted (or denied — a denied
//!    person standing at the door explains being on camera) at that door around then. "People
//!    seen" is the larger of the highest count in one detection and the number of separate
//!    detections that start a new track (`video_detection` / `detect`; `update`s of one track
//!    and review items summing up tracks already reported do not add people). The camera is matched to the door through the directory (the
//!    camera's parent is the door) or the event's own `place.door`.
//! 2. **Grant without door cycle** (`grant_without_taken`). At a door whose reader reports
//!    `taken` (door opened after grant), a grant never followed by `taken` or `not_taken`
//!    means the person walked through a door someone else already had open. A second grant of
//!    the same credential within the window supersedes the first (people tap twice).
//! 3. **Anti-passback**, reported by the PACS: a credential used to enter twice without
//!    leaving, typically because it was passed back to someone else or its holder tailgated.
//! 4. **Device-reported tailgate** (`tailgate` activity from a door or camera analytics)
//!    passes through as a finding.
//!
//! Rules 1 and 2 decide once the window has closed (plus `lateness_seconds` for a late second
//! grant or camera event), measured by the door's own events or the tick's `now`. Each door
//! keeps its own clock on purpose: a reader whose controller delivers a minute late, or a
//! batch replayed from a buffer, must not have its grants decided by another door's newer
//! events before its own door-opening events arrive.
//!
//! Within a door, the door's events (grants, openings: a webhook over HTTP, syslog) and its
//! camera's (MQTT) travel apart and arrive with different lag, so each is its own channel:
//! events decide a window only once *both* channels have passed it by `lateness_seconds` (a
//! camera frame a minute ahead of the colleague's grant must not close the window the grant
//! explains). The tick's clock decides for a door still receiving events only while its two
//! channels are within `lateness_seconds` of each other and within `catch_up_seconds` of the
//! clock (live delivery); otherwise (one channel behind, a backlog or replayed day far behind
//! the clock) the door's windows wait for its channels, or for a tick after which the door
//! received nothing for a whole tick interval. That bounds the wait.

use super::{Draft, Located, Rule, cap_map, later, load, person_name, save};
use crate::Detection;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use tandem_identity::Directory;
use tandem_model::{Activity, Class, Event, Finding, Severity, Timestamp, Ulid};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.tailgating",
    title: "Tailgating: more people through a door than were granted",
    severity: Severity::Medium,
    tags: &[
        "attack.initial_access",
        "physical.tailgating",
        "physical.unauthorized_entry",
    ],
};

/// `tandem.tailgating` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TailgatingConfig {
    pub enabled: bool,
    /// Seconds after a grant in which the door's camera counts the people who came through.
    pub window_seconds: u64,
    /// How late a camera or badge event may arrive and still be counted.
    pub lateness_seconds: u64,
    /// How far behind the tick's clock a door's newest events may be for the clock to decide
    /// its windows while they still arrive; a door further behind (a backlog, a replayed day)
    /// is decided by its own door and camera events, or once it has been quiet for a tick.
    pub catch_up_seconds: u64,
    /// Minimum detection score for a camera detection to count.
    pub min_score: f32,
    /// Raise a (low-severity) finding for a grant not followed by the door opening, at doors
    /// whose readers report door openings.
    pub grant_without_taken: bool,
    /// Raise for PACS-reported anti-passback violations.
    pub anti_passback: bool,
    /// Pass device-reported tailgates through.
    pub device_reported: bool,
    pub max_doors: usize,
}

impl Default for TailgatingConfig {
    fn default() -> Self {
        TailgatingConfig {
            enabled: true,
            window_seconds: 10,
            lateness_seconds: 30,
            catch_up_seconds: 120,
            min_score: 0.5,
            grant_without_taken: true,
            anti_passback: true,
            device_reported: true,
            max_doors: 20_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Grant {
    time: Timestamp,
    id: Ulid,
    /// Person id, else badge number, else the event id (unknown credentials are distinct).
    credential: String,
    person: Option<String>,
    name: Option<String>,
    badge: Option<String>,
    denied: bool,
    taken: bool,
    superseded: bool,
    closed: bool,
    fired: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen {
    time: Timestamp,
    id: Ulid,
    count: u32,
    new_track: bool,
    camera: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DoorState {
    label: String,
    grants: Vec<Grant>,
    seen: Vec<Seen>,
    /// `taken` events: (time, id).
    opened: Vec<(Timestamp, Ulid)>,
    reports_taken: bool,
    last: Option<Timestamp>,
    /// Newest event time of the door's own events (grants, denials, openings).
    #[serde(default)]
    door_upto: Option<Timestamp>,
    /// Newest event time of the door's camera detections.
    #[serde(default)]
    camera_upto: Option<Timestamp>,
    /// Events arrived since the last tick.
    #[serde(default)]
    fresh: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    doors: HashMap<String, DoorState>,
}

pub(crate) struct Tailgating {
    cfg: TailgatingConfig,
    s: State,
}

/// Per-door caps: a door sees a few events a minute at rush hour; anything beyond this within
/// a window is a flood, and the oldest go first.
const MAX_PER_DOOR: usize = 256;

impl Tailgating {
    pub fn new(cfg: TailgatingConfig) -> Self {
        Tailgating {
            cfg,
            s: State::default(),
        }
    }

    fn window(&self) -> chrono::Duration {
        super::secs(self.cfg.window_seconds)
    }

    fn credential(e: &Event) -> String {
        e.actor
            .person
            .as_ref()
            .map(|p| p.id.clone())
            .or_else(|| e.actor.badge.clone())
            .unwrap_or_else(|| e.id.to_string())
    }

    fn physical(&mut self, e: &Event, door: &str, at: &Located, out: &mut Vec<Finding>) {
        let w = self.window();
        match e.activity {
            Activity::Granted | Activity::Denied => {
                let credential = Self::credential(e);
                let denied = e.activity == Activity::Denied;
                let d = self.door(door, at);
                if !denied {
                    // The earlier tap of a double tap.
                    for g in d.grants.iter_mut() {
                        if !g.denied
                            && g.credential == credential
                            && g.time < e.time
                            && e.time - g.time <= w
                        {
                            g.superseded = true;
                        }
                    }
                }
                let p = e.actor.person.as_ref();
                d.grants.push(Grant {
                    time: e.time,
                    id: e.id,
                    credential,
                    person: p.map(|p| p.id.clone()),
                    name: p.map(|p| person_name(p).to_owned()),
                    badge: e.actor.badge.clone(),
                    denied,
                    taken: false,
                    superseded: false,
                    closed: false,
                    fired: false,
                });
                d.grants.sort_by_key(|g| g.time);
                trim(&mut d.grants);
            }
            Activity::Taken | Activity::NotTaken => {
                let credential = e.actor.badge.is_some().then(|| Self::credential(e));
                let d = self.door(door, at);
                if e.activity == Activity::Taken {
                    d.reports_taken = true;
                    d.opened.push((e.time, e.id));
                    d.opened.sort();
                    trim(&mut d.opened);
                }
                let candidate = d
                    .grants
                    .iter_mut()
                    .rev()
                    .filter(|g| !g.denied && !g.taken && g.time <= e.time && e.time - g.time <= w)
                    .find(|g| credential.as_ref().is_none_or(|c| *c == g.credential));
                if let Some(g) = candidate {
                    g.taken = true;
                }
            }
            Activity::AntiPassback if self.cfg.anti_passback => {
                out.push(self.passthrough(e, &at.label(), door, "anti-passback violation"));
            }
            Activity::Tailgate if self.cfg.device_reported => {
                out.push(self.passthrough(e, &at.label(), door, "tailgate reported by the door"));
            }
            _ => {}
        }
    }

    fn passthrough(&self, e: &Event, label: &str, door: &str, what: &str) -> Finding {
        let who = e
            .actor
            .person
            .as_ref()
            .map(|p| format!(" for {}", person_name(p)))
            .or_else(|| e.actor.badge.as_ref().map(|b| format!(" for badge {b}")))
            .unwrap_or_default();
        let how = e
            .physical
            .as_ref()
            .and_then(|p| p.inference.as_ref())
            .map(|i| format!(" ({})", i.derivation))
            .unwrap_or_default();
        let severity = if e.activity == Activity::AntiPassback {
            Severity::Low
        } else {
            Severity::Medium
        };
        Draft::new(
            &RULE,
            format!("{what}{who} at {label}{how}"),
            format_args!("{door}:{}", e.id),
        )
        .severity(severity)
        .event(e)
        .detail("kind", e.activity.name())
        .finish()
    }

    fn door(&mut self, door: &str, at: &Located) -> &mut DoorState {
        let d = self.s.doors.entry(door.to_owned()).or_default();
        if d.label.is_empty() {
            d.label = at.label();
        }
        d
    }

    /// Decides every grant at `door` whose window closed before `until`.
    fn close(&mut self, door: &str, until: Timestamp, out: &mut Vec<Finding>) {
        let w = self.window();
        let cfg = self.cfg.clone();
        let Some(d) = self.s.doors.get_mut(door) else {
            return;
        };
        for i in 0..d.grants.len() {
            let g = &d.grants[i];
            if g.closed || g.denied || g.time + w > until {
                continue;
            }
            d.grants[i].closed = true;
            let g = d.grants[i].clone();
            let seen: Vec<&Seen> = d
                .seen
                .iter()
                .filter(|s| s.time >= g.time && s.time <= g.time + w)
                .collect();
            let max_count = seen.iter().map(|s| s.count).max().unwrap_or(0);
            let tracks = seen.iter().filter(|s| s.new_track).count() as u32;
            let people = max_count.max(tracks);
            let around: Vec<usize> = (0..d.grants.len())
                .filter(|&j| (d.grants[j].time - g.time).abs() <= w)
                .collect();
            let explained: HashSet<&str> = around
                .iter()
                .map(|&j| d.grants[j].credential.as_str())
                .collect();
            let explained = explained.len() as u32;
            let already = around.iter().any(|&j| d.grants[j].fired);
            if people > explained && !already {
                let granted: Vec<&Grant> = around
                    .iter()
                    .map(|&j| &d.grants[j])
                    .filter(|x| !x.denied)
                    .collect();
                let names: Vec<String> = granted
                    .iter()
                    .map(|x| match (&x.name, &x.badge) {
                        (Some(n), Some(b)) => format!("badge {b}, {n}"),
                        (Some(n), None) => n.clone(),
                        (None, Some(b)) => format!("badge {b}"),
                        (None, None) => "unknown credential".into(),
                    })
                    .collect();
                let camera = seen
                    .iter()
                    .find_map(|s| s.camera.clone())
                    .unwrap_or_else(|| "the door's camera".into());
                let grants_n = granted.len();
                let summary = format!(
                    "Tailgating at {}: {explained} credential{} at the door ({}) at {}, then {camera} saw \
                     {people} persons within {} s",
                    d.label,
                    if explained == 1 { "" } else { "s" },
                    names.join("; "),
                    g.time.format("%Y-%m-%d %H:%M:%S UTC"),
                    cfg.window_seconds,
                );
                let mut f = Draft::new(&RULE, summary, format_args!("{door}:{}", g.id))
                    .place(door)
                    .detail("rule", "camera_count")
                    .detail("people_seen", people)
                    .detail("credentials", explained)
                    .detail("grants", grants_n as u64)
                    .detail("window_seconds", cfg.window_seconds);
                for x in &granted {
                    f = f.evidence(x.time, x.id);
                    if let Some(p) = &x.person {
                        f = f.person(p);
                    }
                }
                for o in d
                    .opened
                    .iter()
                    .filter(|o| o.0 >= g.time && o.0 <= g.time + w)
                {
                    f = f.evidence(o.0, o.1);
                }
                for s in &seen {
                    f = f.evidence(s.time, s.id);
                    if let Some(c) = &s.camera {
                        f = f.device(c);
                    }
                }
                out.push(f.finish());
                for &j in &around {
                    d.grants[j].fired = true;
                }
                continue;
            }
            if cfg.grant_without_taken && d.reports_taken && !g.taken && !g.superseded && !g.fired {
                let who = g
                    .name
                    .clone()
                    .or(g.badge.as_ref().map(|b| format!("badge {b}")))
                    .unwrap_or_else(|| "an unknown credential".into());
                let summary = format!(
                    "Grant for {who} at {} at {} was not followed by the door opening within {} s: \
                     the door was already open, someone may have come through on another's opening",
                    d.label,
                    g.time.format("%Y-%m-%d %H:%M:%S UTC"),
                    cfg.window_seconds,
                );
                let mut f = Draft::new(&RULE, summary, format_args!("{door}:{}", g.id))
                    .severity(Severity::Low)
                    .place(door)
                    .evidence(g.time, g.id)
                    .detail("rule", "grant_without_taken");
                if let Some(p) = &g.person {
                    f = f.person(p);
                }
                for s in &seen {
                    f = f.evidence(s.time, s.id);
                }
                out.push(f.finish());
                d.grants[i].fired = true;
            }
        }
        // What no open window can need any more (see the module docs).
        let keep_from = until - w - w;
        d.grants
            .retain(|g| !(g.closed || g.denied) || g.time >= keep_from);
        d.seen.retain(|s| s.time >= keep_from);
        d.opened.retain(|o| o.0 >= keep_from);
    }
}

/// A camera message that sums up detections already reported one by one (a Frigate review
/// item opens alongside the object it is about): it says how many people, not that another
/// one arrived, so it counts towards the highest count but never as a new track.
fn is_summary(e: &Event) -> bool {
    e.attrs.get("frigate.kind").and_then(|v| v.as_str()) == Some("review")
}

impl DoorState {
    /// How far both channels (door events and camera) have come: the older of the two; a
    /// door with no camera events only has its own.
    fn caught_up(&self) -> Option<Timestamp> {
        match (self.door_upto, self.camera_upto) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the two channels are within `slack` of each other (one alone always is).
    fn in_step(&self, slack: chrono::Duration) -> bool {
        match (self.door_upto, self.camera_upto) {
            (Some(a), Some(b)) => (a - b).abs() <= slack,
            _ => true,
        }
    }

    fn has(&self, id: Ulid) -> bool {
        self.grants.iter().any(|g| g.id == id)
            || self.seen.iter().any(|s| s.id == id)
            || self.opened.iter().any(|o| o.1 == id)
    }
}

/// Drops the oldest entries beyond [`MAX_PER_DOOR`] (kept sorted by time).
fn trim<T>(v: &mut Vec<T>) {
    if v.len() > MAX_PER_DOOR {
        let excess = v.len() - MAX_PER_DOOR;
        v.drain(..excess);
    }
}

impl Detection for Tailgating {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        let relevant = match e.class {
            Class::PhysicalAccess => true,
            Class::VideoDetection => matches!(e.activity, Activity::Detect | Activity::Update),
            _ => false,
        };
        if !relevant {
            return;
        }
        let at = Located::of(e, dir);
        let Some(door) = at.door_id() else { return };
        if self.s.doors.get(&door).is_some_and(|d| d.has(e.id)) {
            // Delivered twice (a retried webhook, a QoS 1 redelivery, a replayed buffer):
            // counting it again would make one person two.
            return;
        }
        if e.class == Class::VideoDetection {
            let Some(det) = e.physical.as_ref().and_then(|p| p.detection.as_ref()) else {
                return;
            };
            let is_person = det.label.is_empty() || det.label.eq_ignore_ascii_case("person");
            if !is_person || (det.score > 0.0 && det.score < self.cfg.min_score) {
                return;
            }
            let camera = e.place.as_ref().and_then(|p| p.camera.clone()).or_else(|| {
                e.device
                    .as_ref()
                    .and_then(|d| d.id.clone().or(d.hostname.clone()))
            });
            let d = self.door(&door, &at);
            d.seen.push(Seen {
                time: e.time,
                id: e.id,
                count: det.count.unwrap_or(1),
                new_track: e.activity == Activity::Detect && !is_summary(e),
                camera,
            });
            d.seen.sort_by_key(|s| s.time);
            trim(&mut d.seen);
        } else {
            self.physical(e, &door, &at, out);
        }
        let Some(d) = self.s.doors.get_mut(&door) else {
            return;
        };
        d.last = later(d.last, e.time);
        if e.class == Class::VideoDetection {
            d.camera_upto = later(d.camera_upto, e.time);
        } else {
            d.door_upto = later(d.door_upto, e.time);
        }
        d.fresh = true;
        // This event's channel has come as far as this event (a replayed event does not
        // move it back); the other channel only as far as it has.
        let other = if e.class == Class::VideoDetection {
            d.door_upto
        } else {
            d.camera_upto
        };
        let until = Some(other.map_or(e.time, |o| o.min(e.time)))
            .map(|t| t - super::secs(self.cfg.lateness_seconds));
        cap_map(&mut self.s.doors, self.cfg.max_doors, |d| {
            d.last.unwrap_or(Timestamp::MIN_UTC)
        });
        if let Some(until) = until {
            self.close(&door, until, out);
        }
    }

    fn tick(&mut self, now: Timestamp, _dir: &Directory, out: &mut Vec<Finding>) {
        // Windows close by the clock too, so a door that goes quiet after a tailgate is
        // still decided; but not a door still catching up (see the module docs).
        let lateness = super::secs(self.cfg.lateness_seconds);
        let catch_up = super::secs(self.cfg.catch_up_seconds);
        let doors: Vec<String> = self.s.doors.keys().cloned().collect();
        for door in doors {
            let Some(d) = self.s.doors.get_mut(&door) else {
                continue;
            };
            let live = d.in_step(lateness) && d.last.is_some_and(|t| now - t <= catch_up);
            let until = if !d.fresh || live {
                Some(now - lateness)
            } else {
                d.caught_up().map(|t| t - lateness)
            };
            d.fresh = false;
            if let Some(until) = until {
                self.close(&door, until, out);
            }
        }
        self.s
            .doors
            .retain(|_, d| !(d.grants.is_empty() && d.seen.is_empty() && d.opened.is_empty()));
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        save(&self.s)
    }

    fn load_state(&mut self, state: serde_json::Value) {
        load(RULE.id, state, &mut self.s);
    }
}
