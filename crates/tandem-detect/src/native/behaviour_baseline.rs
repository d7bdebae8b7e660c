//! `tandem.behaviour_baseline`: what is new or unusual for *this* person — a door or zone they
//! have never used, an hour they never badge at, a country they never logged in from.
//!
//! Each facet is scored 0–1 ([`Finding::score`]) and raised at low severity when the score
//! reaches its threshold: these are leads for a hunt and weights for the alerts stage, not
//! alarms. Nothing is raised for a person until their profile has learned for `learning_days`
//! and seen `min_events` events; profiles keep learning afterwards.
//!
//! Scoring:
//! * **first door** (access granted): 0.4 for a new door in a zone the person uses, 0.6 for a
//!   new zone at a site they use, 0.8 for a site they never badged at; +0.2 if the zone is
//!   restricted (capped at 1). Raised from `door_min_score` (0.5: new zones and sites, and new
//!   doors into restricted zones).
//! * **unusual hour** (access granted, local time of the site): the person's badge events per
//!   hour of day, smoothed with half the neighbouring hours; score = 1 − smoothed(hour) /
//!   smoothed(busiest hour). 1.0 means nothing within an hour of it ever. Raised from
//!   `hour_min_score` (0.9).
//! * **new login country** (successful logon or VPN connect with `src.geo.country`):
//!   0.9 for someone who has only ever logged in from one country, 0.1 less for each further
//!   country they use (floor 0.5): travellers are less surprising. Raised from
//!   `country_min_score` (0.5); never for someone with no geolocated login yet.

use super::{Draft, Located, Rule, cap_map, later, load, local_time, person, person_name, save};
use crate::Detection;
use chrono::Timelike;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use tandem_identity::{Directory, PlaceKind};
use tandem_model::{Activity, Class, Event, Finding, Outcome, Severity, Timestamp};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.behaviour_baseline",
    title: "Unusual for this person: first door, unusual hour or new login country",
    severity: Severity::Low,
    tags: &["attack.t1078", "tandem.ueba"],
};

/// `tandem.behaviour_baseline` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviourBaselineConfig {
    pub enabled: bool,
    /// Days a person's profile learns before it can raise anything.
    pub learning_days: u64,
    /// Events a profile needs before it can raise anything.
    pub min_events: u64,
    pub door_min_score: f32,
    pub hour_min_score: f32,
    pub country_min_score: f32,
    /// People profiled (least recently seen dropped first).
    pub max_people: usize,
    /// Places and countries remembered per person.
    pub max_items_per_person: usize,
    /// Profiles of people not seen for this long are dropped.
    pub forget_days: u64,
}

impl Default for BehaviourBaselineConfig {
    fn default() -> Self {
        BehaviourBaselineConfig {
            enabled: true,
            learning_days: 14,
            min_events: 30,
            door_min_score: 0.5,
            hour_min_score: 0.9,
            country_min_score: 0.5,
            max_people: 100_000,
            max_items_per_person: 512,
            forget_days: 90,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Profile {
    first_seen: Timestamp,
    last_seen: Timestamp,
    events: u64,
    /// Door, zone and site ids the person has badged at.
    places: BTreeSet<String>,
    /// Granted badge events per local hour of day.
    hours: [u32; 24],
    countries: BTreeSet<String>,
}

impl Profile {
    fn new(t: Timestamp) -> Profile {
        Profile {
            first_seen: t,
            last_seen: t,
            events: 0,
            places: BTreeSet::new(),
            hours: [0; 24],
            countries: BTreeSet::new(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    people: HashMap<String, Profile>,
    watermark: Option<Timestamp>,
}

pub(crate) struct BehaviourBaseline {
    cfg: BehaviourBaselineConfig,
    s: State,
}

/// The hour-of-day score described in the module docs.
fn hour_score(hours: &[u32; 24], h: usize) -> f32 {
    let smooth = |i: usize| {
        f64::from(hours[i])
            + 0.5 * (f64::from(hours[(i + 23) % 24]) + f64::from(hours[(i + 1) % 24]))
    };
    let max = (0..24).map(smooth).fold(0.0, f64::max);
    if max <= 0.0 {
        return 0.0;
    }
    (1.0 - smooth(h) / max) as f32
}

/// The login-country score described in the module docs.
fn country_score(known: usize) -> f32 {
    (0.9 - 0.1 * known.saturating_sub(1).min(4) as f32).max(0.5)
}

impl BehaviourBaseline {
    pub fn new(cfg: BehaviourBaselineConfig) -> Self {
        BehaviourBaseline {
            cfg,
            s: State::default(),
        }
    }

    fn learned(&self, p: &Profile, t: Timestamp) -> bool {
        p.events >= self.cfg.min_events
            && t - p.first_seen >= super::secs(self.cfg.learning_days.saturating_mul(86_400))
    }

    fn access(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        let Some(p) = person(e) else { return };
        let at = Located::of(e, dir);
        let (door, zone, site) = (at.door_id(), at.zone_id(), at.site_id());
        if door.is_none() && zone.is_none() {
            return;
        }
        let restricted = at
            .lineage
            .iter()
            .any(|z| z.kind == PlaceKind::Zone && z.restricted);
        let (local, _) = local_time(at.time_zone(), e.time);
        let hour = local.hour() as usize;
        let label = at.label();
        if !self.s.people.contains_key(&p.id) {
            self.s.people.insert(p.id.clone(), Profile::new(e.time));
        }
        // Read before this event counts (a shared borrow, not a copy: every badge comes here).
        let snapshot = &self.s.people[&p.id];
        let learned = self.learned(snapshot, e.time);
        let has = |id: &Option<String>| id.as_ref().is_some_and(|x| snapshot.places.contains(x));
        if learned {
            let new_door = door.is_some() && !has(&door);
            if new_door || (door.is_none() && !has(&zone)) {
                let mut score: f32 = if site.is_some() && !has(&site) {
                    0.8
                } else if zone.is_some() && !has(&zone) {
                    0.6
                } else {
                    0.4
                };
                if restricted {
                    score += 0.2;
                }
                let score = score.min(1.0);
                if score >= self.cfg.door_min_score {
                    let what = if site.is_some() && !has(&site) {
                        "site"
                    } else if zone.is_some() && !has(&zone) {
                        "zone"
                    } else {
                        "door"
                    };
                    let f = Draft::new(
                        &RULE,
                        format!(
                            "First access by {} to {label} (a {what} they never used before{})",
                            person_name(p),
                            if restricted { ", restricted" } else { "" }
                        ),
                        format_args!(
                            "{}:first_access:{}",
                            p.id,
                            door.as_deref().or(zone.as_deref()).unwrap_or_default()
                        ),
                    )
                    .score(score)
                    .event(e)
                    .detail("kind", "first_access")
                    .detail("new", what)
                    .detail("restricted", restricted);
                    out.push(f.finish());
                }
            }
            let score = hour_score(&snapshot.hours, hour);
            if score >= self.cfg.hour_min_score {
                let f = Draft::new(
                    &RULE,
                    format!(
                        "{} badged at {label} at {:02}:{:02} local, an hour they almost never badge at",
                        person_name(p),
                        local.hour(),
                        local.minute()
                    ),
                    format_args!("{}:unusual_hour:{hour}", p.id),
                )
                .score(score)
                .event(e)
                .detail("kind", "unusual_hour")
                .detail("local_hour", hour as u64);
                out.push(f.finish());
            }
        }
        let profile = self.s.people.get_mut(&p.id).expect("inserted above");
        profile.events += 1;
        profile.last_seen = profile.last_seen.max(e.time);
        profile.hours[hour] = profile.hours[hour].saturating_add(1);
        if profile.places.len() < self.cfg.max_items_per_person {
            for id in [door, zone, site].into_iter().flatten() {
                profile.places.insert(id);
            }
        }
        cap_map(&mut self.s.people, self.cfg.max_people, |p| p.last_seen);
    }

    fn login(&mut self, e: &Event, out: &mut Vec<Finding>) {
        let Some(p) = person(e) else { return };
        let Some(country) = e
            .src
            .as_ref()
            .and_then(|s| s.geo.as_ref())
            .and_then(|g| g.country.clone())
        else {
            return;
        };
        let country = country.to_uppercase();
        if !self.s.people.contains_key(&p.id) {
            self.s.people.insert(p.id.clone(), Profile::new(e.time));
        }
        // Read before this event counts (a shared borrow, not a copy: every badge comes here).
        let snapshot = &self.s.people[&p.id];
        if self.learned(snapshot, e.time)
            && !snapshot.countries.is_empty()
            && !snapshot.countries.contains(&country)
        {
            let score = country_score(snapshot.countries.len());
            if score >= self.cfg.country_min_score {
                let known: Vec<&str> = snapshot.countries.iter().map(String::as_str).collect();
                let ip = e
                    .src
                    .as_ref()
                    .and_then(|s| s.ip)
                    .map(|ip| format!(" ({ip})"))
                    .unwrap_or_default();
                let f = Draft::new(
                    &RULE,
                    format!(
                        "{} logged in from {country}{ip} for the first time (before: {})",
                        person_name(p),
                        known.join(", ")
                    ),
                    format_args!("{}:new_country:{country}", p.id),
                )
                .score(score)
                .event(e)
                .detail("kind", "new_country")
                .detail("country", country.as_str())
                .detail("known_countries", known.len() as u64);
                out.push(f.finish());
            }
        }
        let profile = self.s.people.get_mut(&p.id).expect("inserted above");
        profile.events += 1;
        profile.last_seen = profile.last_seen.max(e.time);
        if profile.countries.len() < self.cfg.max_items_per_person {
            profile.countries.insert(country);
        }
        cap_map(&mut self.s.people, self.cfg.max_people, |p| p.last_seen);
    }
}

impl Detection for BehaviourBaseline {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        match (e.class, e.activity) {
            (Class::PhysicalAccess, Activity::Granted) => {
                self.s.watermark = later(self.s.watermark, e.time);
                self.access(e, dir, out);
            }
            (Class::Authentication, Activity::Logon)
            | (Class::TunnelActivity, Activity::Connect)
                if e.outcome != Outcome::Failure =>
            {
                self.s.watermark = later(self.s.watermark, e.time);
                self.login(e, out);
            }
            _ => {}
        }
    }

    fn tick(&mut self, now: Timestamp, _dir: &Directory, _out: &mut Vec<Finding>) {
        let forget = super::secs(self.cfg.forget_days.saturating_mul(86_400));
        let cutoff = super::reference(self.s.watermark, now) - forget;
        self.s.people.retain(|_, p| p.last_seen >= cutoff);
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        save(&self.s)
    }

    fn load_state(&mut self, state: serde_json::Value) {
        load(RULE.id, state, &mut self.s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_scores() {
        let mut h = [0u32; 24];
        h[8] = 40;
        h[9] = 20;
        h[17] = 30;
        assert!(hour_score(&h, 3) > 0.99);
        assert!(hour_score(&h, 8) < 0.01);
        assert!(hour_score(&h, 7) < 0.9);
        assert_eq!(hour_score(&[0; 24], 3), 0.0);
    }

    #[test]
    fn country_scores() {
        assert!((country_score(1) - 0.9).abs() < 1e-6);
        assert!((country_score(3) - 0.7).abs() < 1e-6);
        assert!((country_score(20) - 0.5).abs() < 1e-6);
    }
}
