//! `tandem.forced_door_with_person`: a door reported forced (or held open) with a person on
//! that door's camera and no legitimate opening just before.
//!
//! Door-forced alarms are notoriously noisy (worn strikes, badly adjusted contacts, someone
//! leaving without pressing the exit button), which is why PACS operators learn to ignore
//! them. A person on the door's camera within `camera_window_seconds` makes it real; a grant
//! or request-to-exit at the door within `grant_window_seconds` before explains it away. A
//! door *held open* after a grant is a delivery being carried in, so held-open alarms look
//! further back for that grant (`held_open_grant_window_seconds`).
//!
//! The camera detection may come before or after the alarm (different systems, different
//! delays): whichever arrives second completes the finding.

use super::{Draft, Located, Rule, cap_map, later, load, reference, save, utc_label};
use crate::Detection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tandem_identity::Directory;
use tandem_model::{Activity, Class, Event, Finding, Severity, Timestamp, Ulid};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.forced_door_with_person",
    title: "Door forced or held open with a person on camera and no grant",
    severity: Severity::High,
    tags: &[
        "attack.initial_access",
        "physical.forced_entry",
        "physical.unauthorized_entry",
    ],
};

/// `tandem.forced_door_with_person` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForcedDoorConfig {
    pub enabled: bool,
    /// A person on the door's camera this many seconds before or after the alarm.
    pub camera_window_seconds: u64,
    /// A grant or request-to-exit at the door this many seconds before a forced alarm
    /// explains it.
    pub grant_window_seconds: u64,
    /// Also raise (medium) for doors held open.
    pub include_held_open: bool,
    /// Look-back for the grant that explains a held-open door.
    pub held_open_grant_window_seconds: u64,
    /// Minimum camera detection score.
    pub min_score: f32,
    pub max_doors: usize,
}

impl Default for ForcedDoorConfig {
    fn default() -> Self {
        ForcedDoorConfig {
            enabled: true,
            camera_window_seconds: 30,
            grant_window_seconds: 60,
            include_held_open: true,
            held_open_grant_window_seconds: 300,
            min_score: 0.5,
            max_doors: 20_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Alarm {
    time: Timestamp,
    id: Ulid,
    held_open: bool,
    fired: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen {
    time: Timestamp,
    id: Ulid,
    camera: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DoorState {
    label: String,
    openings: Vec<(Timestamp, Ulid)>,
    seen: Vec<Seen>,
    alarms: Vec<Alarm>,
    last: Option<Timestamp>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    doors: HashMap<String, DoorState>,
    watermark: Option<Timestamp>,
}

pub(crate) struct ForcedDoor {
    cfg: ForcedDoorConfig,
    s: State,
}

const MAX_PER_DOOR: usize = 128;

fn push_capped<T>(v: &mut Vec<T>, x: T) {
    v.push(x);
    if v.len() > MAX_PER_DOOR {
        v.remove(0);
    }
}

impl ForcedDoor {
    pub fn new(cfg: ForcedDoorConfig) -> Self {
        ForcedDoor {
            cfg,
            s: State::default(),
        }
    }

    fn fire(&self, door: &str, d: &DoorState, a: &Alarm, s: &Seen) -> Finding {
        let what = if a.held_open {
            "held open"
        } else {
            "forced open"
        };
        let lookback = if a.held_open {
            self.cfg.held_open_grant_window_seconds
        } else {
            self.cfg.grant_window_seconds
        };
        let camera = s.camera.as_deref().unwrap_or("its camera");
        let gap = (s.time - a.time).num_seconds();
        let when = if gap >= 0 {
            format!("{gap} s later")
        } else {
            format!("{} s before", -gap)
        };
        let summary = format!(
            "{} {what} at {} with a person on {camera} {when} and no badge grant in the {lookback} s before",
            d.label,
            utc_label(a.time),
        );
        let mut f = Draft::new(&RULE, summary, format_args!("{door}:{}", a.id))
            .place(door)
            .evidence(a.time, a.id)
            .evidence(s.time, s.id)
            .detail("alarm", if a.held_open { "held_open" } else { "forced" })
            .detail("camera_gap_seconds", gap);
        if let Some(c) = &s.camera {
            f = f.device(c);
        }
        if a.held_open {
            f = f.severity(Severity::Medium);
        }
        f.finish()
    }
}

impl Detection for ForcedDoor {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        let kind = match (e.class, e.activity) {
            (Class::PhysicalAccess, Activity::Forced) => 'f',
            (Class::PhysicalAccess, Activity::HeldOpen) if self.cfg.include_held_open => 'h',
            (Class::PhysicalAccess, Activity::Granted | Activity::RequestToExit) => 'o',
            (Class::VideoDetection, Activity::Detect | Activity::Update) => 'c',
            _ => return,
        };
        self.s.watermark = later(self.s.watermark, e.time);
        let at = Located::of(e, dir);
        let Some(door) = at.door_id() else { return };
        let window = super::secs(self.cfg.camera_window_seconds);
        let label = at.label();
        let d = self.s.doors.entry(door.clone()).or_default();
        if d.label.is_empty() {
            d.label = label;
        }
        d.last = later(d.last, e.time);
        match kind {
            'o' => push_capped(&mut d.openings, (e.time, e.id)),
            'c' => {
                let Some(det) = e.physical.as_ref().and_then(|p| p.detection.as_ref()) else {
                    return;
                };
                let is_person = det.label.is_empty() || det.label.eq_ignore_ascii_case("person");
                if !is_person
                    || det.count == Some(0)
                    || (det.score > 0.0 && det.score < self.cfg.min_score)
                {
                    return;
                }
                let seen = Seen {
                    time: e.time,
                    id: e.id,
                    camera: e.place.as_ref().and_then(|p| p.camera.clone()).or_else(|| {
                        e.device
                            .as_ref()
                            .and_then(|d| d.id.clone().or(d.hostname.clone()))
                    }),
                };
                let pending: Vec<Alarm> = d
                    .alarms
                    .iter_mut()
                    .filter(|a| !a.fired && (a.time - e.time).abs() <= window)
                    .map(|a| {
                        a.fired = true;
                        a.clone()
                    })
                    .collect();
                push_capped(&mut d.seen, seen.clone());
                let d = &self.s.doors[&door];
                for a in &pending {
                    out.push(self.fire(&door, d, a, &seen));
                }
            }
            _ => {
                let held_open = kind == 'h';
                let lookback = super::secs(if held_open {
                    self.cfg.held_open_grant_window_seconds
                } else {
                    self.cfg.grant_window_seconds
                });
                let explained = d
                    .openings
                    .iter()
                    .any(|o| o.0 <= e.time && e.time - o.0 <= lookback);
                if explained {
                    return;
                }
                let mut alarm = Alarm {
                    time: e.time,
                    id: e.id,
                    held_open,
                    fired: false,
                };
                let seen = d
                    .seen
                    .iter()
                    .filter(|s| (s.time - e.time).abs() <= window)
                    .min_by_key(|s| (s.time - e.time).abs())
                    .cloned();
                if let Some(s) = seen {
                    alarm.fired = true;
                    let d = &self.s.doors[&door];
                    out.push(self.fire(&door, d, &alarm, &s));
                }
                let d = self.s.doors.get_mut(&door).expect("door just used");
                push_capped(&mut d.alarms, alarm);
            }
        }
        cap_map(&mut self.s.doors, self.cfg.max_doors, |d| {
            d.last.unwrap_or(Timestamp::MIN_UTC)
        });
    }

    fn tick(&mut self, now: Timestamp, _dir: &Directory, _out: &mut Vec<Finding>) {
        let r = reference(self.s.watermark, now);
        let window = super::secs(self.cfg.camera_window_seconds);
        let lookback = super::secs(
            self.cfg
                .grant_window_seconds
                .max(self.cfg.held_open_grant_window_seconds),
        );
        // Generous margins: late camera events still find their alarm.
        let margin = window + window + super::secs(60);
        for d in self.s.doors.values_mut() {
            d.openings.retain(|o| o.0 >= r - lookback - margin);
            d.seen.retain(|s| s.time >= r - margin);
            d.alarms.retain(|a| a.time >= r - margin);
        }
        self.s
            .doors
            .retain(|_, d| !(d.openings.is_empty() && d.seen.is_empty() && d.alarms.is_empty()));
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        save(&self.s)
    }

    fn load_state(&mut self, state: serde_json::Value) {
        load(RULE.id, state, &mut self.s);
    }
}
