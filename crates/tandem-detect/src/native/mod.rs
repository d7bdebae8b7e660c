//! Converged IT-and-physical detections: the rules Sigma cannot express because they need the
//! identity directory (where a door is, which site it belongs to, a person's employment status
//! at event time), geography (distances between sites and logins) or state across sources (a
//! grant at a door and a camera count at the same door seconds later).
//!
//! [`detections`] builds every enabled detection from a [`NativeConfig`]. Each one is a
//! [`Detection`]: it sees resolved events one at a time, keeps bounded state (capped maps,
//! evicted by age in [`Detection::tick`]) that survives a restart through
//! [`Detection::save_state`] / [`Detection::load_state`], and raises [`Finding`]s whose rule id
//! is `tandem.<name>`:
//!
//! | rule id | what |
//! |---|---|
//! | `tandem.terminated_access` | a terminated or suspended person's badge at a door |
//! | `tandem.remote_login_while_on_site` | remote login far from the site the person is badged into |
//! | `tandem.impossible_travel_badge` | badge use at two sites too far apart for the time between |
//! | `tandem.tailgating` | more people through a door than grants; anti-passback; device-reported tailgates |
//! | `tandem.forced_door_with_person` | door forced or held open, person on its camera, no grant |
//! | `tandem.after_hours_restricted_then_privileged` | restricted zone entered after hours, then sudo/admin on a device in it |
//! | `tandem.new_external_destination` | a camera or IoT device talking to a new internet address |
//! | `tandem.source_silent` | a log source silent far longer than usual |
//! | `tandem.camera_offline` | a camera reported offline (or tampered); resolved when back online |
//! | `tandem.behaviour_baseline` | a person's first door/zone, unusual hour, or new login country (scored) |
//!
//! Time windows are measured in event time, not arrival time, so replayed or late events give
//! the same answers as live ones. Where a decision needs a window to close (a camera count
//! that might still be explained by a late second grant), it is taken once the newest event
//! time seen, or the `now` of a tick, has passed the window plus a small lateness allowance.
//!
//! The reference for operators (parameters, tags, scoring) is `docs/detection/native.md`.

mod after_hours;
mod behaviour_baseline;
mod camera_offline;
mod forced_door;
mod impossible_travel;
mod local_time;
mod new_external_destination;
mod remote_login;
mod source_silent;
mod tailgating;
mod terminated_access;

pub use after_hours::AfterHoursConfig;
pub use behaviour_baseline::BehaviourBaselineConfig;
pub use camera_offline::CameraOfflineConfig;
pub use forced_door::ForcedDoorConfig;
pub use impossible_travel::ImpossibleTravelConfig;
pub use local_time::{local_time, utc_offset_minutes};
pub use new_external_destination::{NewExternalDestinationConfig, is_external};
pub use remote_login::RemoteLoginConfig;
pub use source_silent::SourceSilentConfig;
pub use tailgating::TailgatingConfig;
pub use terminated_access::TerminatedAccessConfig;

use crate::Detection;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tandem_identity::{Directory, PlaceKind, PlaceRecord};
use tandem_model::{Entities, Event, Finding, PersonRef, Severity, Timestamp, Ulid};

/// Every native rule id, in the order [`detections`] builds them.
pub const RULE_IDS: &[&str] = &[
    terminated_access::RULE.id,
    remote_login::RULE.id,
    impossible_travel::RULE.id,
    tailgating::RULE.id,
    forced_door::RULE.id,
    after_hours::RULE.id,
    new_external_destination::RULE.id,
    source_silent::RULE.id,
    camera_offline::RULE.id,
    behaviour_baseline::RULE.id,
];

/// Configuration of the native detections: one section per detection, each with `enabled`.
///
/// Every field has a default, so an empty document (or none) runs everything with the values
/// documented on each section; unknown keys are refused so a typo does not silently leave a
/// default in force.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NativeConfig {
    /// `tandem.terminated_access`.
    pub terminated_access: TerminatedAccessConfig,
    /// `tandem.remote_login_while_on_site`.
    pub remote_login_while_on_site: RemoteLoginConfig,
    /// `tandem.impossible_travel_badge`.
    pub impossible_travel_badge: ImpossibleTravelConfig,
    /// `tandem.tailgating`.
    pub tailgating: TailgatingConfig,
    /// `tandem.forced_door_with_person`.
    pub forced_door_with_person: ForcedDoorConfig,
    /// `tandem.after_hours_restricted_then_privileged`.
    pub after_hours_restricted_then_privileged: AfterHoursConfig,
    /// `tandem.new_external_destination`.
    pub new_external_destination: NewExternalDestinationConfig,
    /// `tandem.source_silent`.
    pub source_silent: SourceSilentConfig,
    /// `tandem.camera_offline`.
    pub camera_offline: CameraOfflineConfig,
    /// `tandem.behaviour_baseline`.
    pub behaviour_baseline: BehaviourBaselineConfig,
}

/// The enabled native detections, in [`RULE_IDS`] order.
pub fn detections(config: &NativeConfig) -> Vec<Box<dyn Detection>> {
    let mut out: Vec<Box<dyn Detection>> = Vec::new();
    let c = config;
    if c.terminated_access.enabled {
        out.push(Box::new(terminated_access::TerminatedAccess::new(
            c.terminated_access.clone(),
        )));
    }
    if c.remote_login_while_on_site.enabled {
        out.push(Box::new(remote_login::RemoteLoginWhileOnSite::new(
            c.remote_login_while_on_site.clone(),
            c.impossible_travel_badge.clone(),
        )));
    }
    if c.impossible_travel_badge.enabled {
        out.push(Box::new(impossible_travel::ImpossibleTravel::new(
            c.impossible_travel_badge.clone(),
        )));
    }
    if c.tailgating.enabled {
        out.push(Box::new(tailgating::Tailgating::new(c.tailgating.clone())));
    }
    if c.forced_door_with_person.enabled {
        out.push(Box::new(forced_door::ForcedDoor::new(
            c.forced_door_with_person.clone(),
        )));
    }
    if c.after_hours_restricted_then_privileged.enabled {
        out.push(Box::new(after_hours::AfterHours::new(
            c.after_hours_restricted_then_privileged.clone(),
        )));
    }
    if c.new_external_destination.enabled {
        out.push(Box::new(
            new_external_destination::NewExternalDestination::new(
                c.new_external_destination.clone(),
            ),
        ));
    }
    if c.source_silent.enabled {
        out.push(Box::new(source_silent::SourceSilent::new(
            c.source_silent.clone(),
        )));
    }
    if c.camera_offline.enabled {
        out.push(Box::new(camera_offline::CameraOffline::new(
            c.camera_offline.clone(),
        )));
    }
    if c.behaviour_baseline.enabled {
        out.push(Box::new(behaviour_baseline::BehaviourBaseline::new(
            c.behaviour_baseline.clone(),
        )));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shared building blocks.

/// The `engine` of every native finding.
pub(crate) const ENGINE: &str = "native";

/// A rule's fixed description.
pub(crate) struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub tags: &'static [&'static str],
}

/// A finding being assembled: evidence and entities are collected from events as the rule
/// goes, then put in order by [`Draft::finish`].
pub(crate) struct Draft {
    rule: &'static Rule,
    severity: Severity,
    summary: String,
    dedup_key: String,
    evidence: Vec<(Timestamp, Ulid)>,
    entities: Entities,
    score: Option<f32>,
    detail: serde_json::Map<String, serde_json::Value>,
    time: Option<Timestamp>,
}

impl Draft {
    pub fn new(rule: &'static Rule, summary: String, dedup: impl std::fmt::Display) -> Draft {
        Draft {
            rule,
            severity: rule.severity,
            summary,
            dedup_key: format!("{}:{dedup}", rule.id),
            evidence: Vec::new(),
            entities: Entities::default(),
            score: None,
            detail: serde_json::Map::new(),
            time: None,
        }
    }

    pub fn severity(mut self, s: Severity) -> Draft {
        self.severity = s;
        self
    }

    pub fn score(mut self, s: f32) -> Draft {
        self.score = Some(s.clamp(0.0, 1.0));
        self
    }

    /// Adds an event as evidence, with the entities it names.
    pub fn event(mut self, e: &Event) -> Draft {
        self.evidence.push((e.time, e.id));
        entities_of(e, &mut self.entities);
        self
    }

    /// Adds evidence known only by time and id (kept in state).
    pub fn evidence(mut self, time: Timestamp, id: Ulid) -> Draft {
        self.evidence.push((time, id));
        self
    }

    pub fn person(mut self, id: &str) -> Draft {
        push_unique(&mut self.entities.persons, id);
        self
    }

    pub fn place(mut self, id: &str) -> Draft {
        push_unique(&mut self.entities.places, id);
        self
    }

    pub fn device(mut self, id: &str) -> Draft {
        push_unique(&mut self.entities.devices, id);
        self
    }

    pub fn ip(mut self, ip: &str) -> Draft {
        push_unique(&mut self.entities.ips, ip);
        self
    }

    pub fn user(mut self, user: &str) -> Draft {
        push_unique(&mut self.entities.users, user);
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Draft {
        self.detail.insert(key.to_owned(), value.into());
        self
    }

    /// The finding's time when it has no evidence (a source gone silent is timed by the tick).
    pub fn at(mut self, t: Timestamp) -> Draft {
        self.time = Some(t);
        self
    }

    pub fn finish(mut self) -> Finding {
        self.evidence.sort();
        self.evidence.dedup_by_key(|e| e.1);
        let time = self
            .evidence
            .iter()
            .map(|e| e.0)
            .max()
            .or(self.time)
            .unwrap_or_else(chrono::Utc::now);
        Finding {
            rule_id: self.rule.id.to_owned(),
            rule_title: self.rule.title.to_owned(),
            engine: ENGINE.to_owned(),
            severity: self.severity,
            tags: self.rule.tags.iter().map(|t| (*t).to_owned()).collect(),
            time,
            summary: self.summary,
            evidence: self.evidence.into_iter().map(|e| e.1).collect(),
            entities: self.entities,
            place: None,
            dedup_key: self.dedup_key,
            score: self.score,
            detail: self.detail,
        }
    }
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

/// The people, devices, places and addresses an event names: directory ids where it resolved,
/// raw identifiers otherwise. Places go most specific first (door before zone before site).
pub(crate) fn entities_of(e: &Event, out: &mut Entities) {
    if let Some(p) = &e.actor.person {
        push_unique(&mut out.persons, &p.id);
    }
    if let Some(u) = &e.actor.user {
        push_unique(&mut out.users, u);
    }
    if let Some(d) = &e.device
        && let Some(id) = d.id.as_ref().or(d.hostname.as_ref())
    {
        push_unique(&mut out.devices, id);
    }
    if let Some(p) = &e.place {
        for id in [&p.door, &p.camera, &p.zone, &p.building, &p.site]
            .into_iter()
            .flatten()
        {
            push_unique(&mut out.places, id);
        }
    }
    for ep in [&e.src, &e.dst].into_iter().flatten() {
        if let Some(ip) = ep.ip {
            push_unique(&mut out.ips, &ip.to_string());
        }
    }
}

/// The resolved person of an event.
pub(crate) fn person(e: &Event) -> Option<&PersonRef> {
    e.actor.person.as_ref()
}

/// A person's name for summaries (id when the directory has no name).
pub(crate) fn person_name(p: &PersonRef) -> &str {
    p.name.as_deref().unwrap_or(&p.id)
}

/// Where an event happened according to the directory: the most specific place the event
/// names that the directory knows, and its ancestors (nearest first), plus what the event
/// itself said for places the directory does not know.
pub(crate) struct Located<'a> {
    pub lineage: Vec<&'a PlaceRecord>,
    event_place: Option<&'a tandem_model::Place>,
}

impl<'a> Located<'a> {
    pub fn of(e: &'a Event, dir: &'a Directory) -> Located<'a> {
        let lineage = e
            .place
            .as_ref()
            .and_then(|p| p.most_specific().find_map(|n| dir.find_place(n)))
            .map(|rec| dir.lineage(&rec.id))
            .unwrap_or_default();
        Located {
            lineage,
            event_place: e.place.as_ref(),
        }
    }

    /// The lineage of a directory place id (a device's `place`).
    pub fn of_place(id: &str, dir: &'a Directory) -> Located<'a> {
        Located {
            lineage: dir.lineage(id),
            event_place: None,
        }
    }

    pub fn nearest(&self, kind: PlaceKind) -> Option<&'a PlaceRecord> {
        self.lineage.iter().copied().find(|p| p.kind == kind)
    }

    /// Directory id of the door (or, failing that, the raw door name the event gave).
    pub fn door_id(&self) -> Option<String> {
        self.nearest(PlaceKind::Door)
            .map(|p| p.id.clone())
            .or_else(|| self.event_place.and_then(|p| p.door.clone()))
    }

    pub fn zone_id(&self) -> Option<String> {
        self.nearest(PlaceKind::Zone)
            .map(|p| p.id.clone())
            .or_else(|| self.event_place.and_then(|p| p.zone.clone()))
    }

    pub fn site_id(&self) -> Option<String> {
        self.nearest(PlaceKind::Site)
            .map(|p| p.id.clone())
            .or_else(|| self.event_place.and_then(|p| p.site.clone()))
    }

    /// Coordinates: the site's (or the nearest place with any), else the event's own geo.
    pub fn coords(&self) -> Option<(f64, f64)> {
        let from_dir = self
            .nearest(PlaceKind::Site)
            .and_then(|p| Some((p.lat?, p.lon?)))
            .or_else(|| self.lineage.iter().find_map(|p| Some((p.lat?, p.lon?))));
        from_dir.or_else(|| {
            let g = self.event_place?.geo.as_ref()?;
            Some((g.lat?, g.lon?))
        })
    }

    /// The IANA time zone of the nearest place that has one (sites carry it).
    pub fn time_zone(&self) -> Option<&'a str> {
        self.lineage.iter().find_map(|p| p.time_zone.as_deref())
    }

    /// "Server room door, Oslo HQ": the door (or most specific place) and the site, by name.
    pub fn label(&self) -> String {
        let first = self
            .lineage
            .iter()
            .find(|p| !matches!(p.kind, PlaceKind::Reader | PlaceKind::Camera))
            .map(|p| p.name.clone())
            .or_else(|| {
                let p = self.event_place?;
                p.door.clone().or(p.zone.clone()).or(p.site.clone())
            })
            .unwrap_or_else(|| "an unknown place".to_owned());
        let site = self
            .nearest(PlaceKind::Site)
            .map(|p| p.name.clone())
            .or_else(|| self.event_place.and_then(|p| p.site.clone()));
        match site {
            Some(s) if s != first => format!("{first}, {s}"),
            _ => first,
        }
    }

    /// The site's name (or id).
    pub fn site_label(&self) -> Option<String> {
        self.nearest(PlaceKind::Site)
            .map(|p| p.name.clone())
            .or_else(|| self.event_place.and_then(|p| p.site.clone()))
    }
}

/// A successful login that says where the person is: a VPN connect or a logon (IdP, VPN, RDP
/// gateway, server), not failed.
pub(crate) fn is_login(e: &Event) -> bool {
    use tandem_model::{Activity, Class, Outcome};
    let kind = matches!(
        (e.class, e.activity),
        (Class::TunnelActivity, Activity::Connect) | (Class::Authentication, Activity::Logon)
    );
    kind && e.outcome != Outcome::Failure
}

/// The site an event's source address belongs to, by the directory's `egress_networks`: a
/// login from there was made on site.
pub(crate) fn network_site<'a>(e: &Event, dir: &'a Directory) -> Option<Located<'a>> {
    let ip = e.src.as_ref()?.ip?;
    let place = dir.place_by_network(ip)?;
    Some(Located::of_place(&place.id, dir))
}

/// Great-circle distance in km; one definition for every crate, in the model.
pub use tandem_model::geo::distance_km;

/// `2026-11-25 08:01 UTC`: minute precision is what people compare.
pub(crate) fn utc_label(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Whole minutes between two times, for summaries.
pub(crate) fn minutes(from: Timestamp, to: Timestamp) -> i64 {
    (to - from).num_seconds().abs() / 60
}

/// Seconds as a chrono duration, saturating instead of panicking on absurd configuration.
pub(crate) fn secs(s: u64) -> chrono::Duration {
    chrono::Duration::try_seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
        .unwrap_or(chrono::Duration::MAX)
}

/// Keeps at most `cap` entries: when over, drops the oldest (by `age`) down to 90 % of `cap`,
/// so trimming is rare and amortised instead of a scan on every insert.
pub(crate) fn cap_map<V>(map: &mut HashMap<String, V>, cap: usize, age: impl Fn(&V) -> Timestamp) {
    if map.len() <= cap {
        return;
    }
    let keep = cap - cap / 10;
    let mut by_age: Vec<(Timestamp, String)> =
        map.iter().map(|(k, v)| (age(v), k.clone())).collect();
    by_age.sort();
    for (_, k) in by_age.into_iter().take(map.len() - keep) {
        map.remove(&k);
    }
}

/// The newest of two optional times.
pub(crate) fn later(a: Option<Timestamp>, b: Timestamp) -> Option<Timestamp> {
    Some(a.map_or(b, |a| a.max(b)))
}

/// The reference time for evicting state: the newest event time seen, but never later than
/// the tick's `now` (one event stamped in the future must not wipe everyone's state).
pub(crate) fn reference(watermark: Option<Timestamp>, now: Timestamp) -> Timestamp {
    watermark.map_or(now, |w| w.min(now))
}

pub(crate) fn save<T: Serialize>(state: &T) -> Option<serde_json::Value> {
    serde_json::to_value(state).ok()
}

/// Restores state, keeping what is there when the saved form does not fit (an older version):
/// losing a baseline is better than refusing to start.
pub(crate) fn load<T: DeserializeOwned>(id: &str, value: serde_json::Value, into: &mut T) {
    match serde_json::from_value(value) {
        Ok(s) => *into = s,
        Err(e) => tracing::warn!(detection = id, error = %e, "saved state not restored"),
    }
}
