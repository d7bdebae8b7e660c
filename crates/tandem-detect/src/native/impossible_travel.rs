//! `tandem.impossible_travel_badge`: the same person at two sites further apart than any real
//! means of travel covers in the time between — a cloned or shared credential, or a stolen
//! password used from another office.
//!
//! A person is *at* a site when their badge is used there (grants and denials alike: a denied
//! cloned card at the far site is as telling as a granted one), or when they log on (a
//! successful logon or VPN connect) from one of the site's `egress_networks`. Pairs of two
//! logins are never compared (one person may well have sessions open from two offices through
//! a jump host); a badge and a badge, or a badge and a login, are.
//!
//! **Feasibility by distance.** One speed does not fit both a 262 km drive and a 1,500 km
//! flight: at an airliner's 900 km/h, 262 km in 31 minutes looks possible, though no aircraft
//! gets anyone from one office door to another in that time. The fastest way between two sites
//! `d` km apart (great-circle) takes at least the shorter of
//!
//! * over the ground: `d / ground_speed_kmh` (150 km/h straight-line: roads and rails are
//!   20–40 % longer than the great circle, so this is faster than any motorway drive and than
//!   high-speed rail once getting to and from the stations is counted), and
//! * by air: `air_overhead_minutes + d / air_speed_kmh` (2 h: desk to gate with hand luggage
//!   only, taxi, climb and descent, gate to desk; at 900 km/h, cruise speed);
//!
//! anything quicker raises. Every location of the person within `memory_hours` is compared
//! (each stay at a site is kept with its first and last time), not only the latest, so a
//! visit to a third site in between does not hide the conflict. Sites closer than
//! `min_distance_km` are never compared: two buildings of one campus with imprecise
//! coordinates would otherwise look like supersonic walks.

use super::{
    Draft, Located, Rule, cap_map, distance_km, is_login, later, load, network_site, person,
    person_name, reference, save, utc_label,
};
use crate::Detection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tandem_identity::Directory;
use tandem_model::{Activity, Class, Event, Finding, Severity, Timestamp, Ulid};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.impossible_travel_badge",
    title: "Badge or login at two sites too far apart for the time between",
    severity: Severity::High,
    tags: &[
        "attack.initial_access",
        "attack.t1078",
        "physical.impossible_travel",
        "physical.badge_cloning",
    ],
};

/// `tandem.impossible_travel_badge` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImpossibleTravelConfig {
    pub enabled: bool,
    /// Fastest door-to-door travel over the ground, in km/h of great-circle distance.
    pub ground_speed_kmh: f64,
    /// Airliner cruise speed, km/h; with `air_overhead_minutes`, the fastest flight.
    /// (`max_speed_kmh`, its older name, is read too.)
    #[serde(alias = "max_speed_kmh")]
    pub air_speed_kmh: f64,
    /// What a flight adds door to door beyond cruising: to and through the airport, taxi,
    /// climb and descent, and from the arrival airport to the door.
    pub air_overhead_minutes: u64,
    /// Sites closer than this are never compared.
    pub min_distance_km: f64,
    /// How long a person's locations are remembered.
    pub memory_hours: u64,
    /// Also place people by logins from a site's egress networks.
    pub logins: bool,
    pub max_people: usize,
}

impl Default for ImpossibleTravelConfig {
    fn default() -> Self {
        ImpossibleTravelConfig {
            enabled: true,
            ground_speed_kmh: 150.0,
            air_speed_kmh: 900.0,
            air_overhead_minutes: 120,
            min_distance_km: 50.0,
            memory_hours: 48,
            logins: true,
            max_people: 100_000,
        }
    }
}

impl ImpossibleTravelConfig {
    /// The least time, in minutes, any real means takes over `km`, and which means that is.
    pub fn fastest_minutes(&self, km: f64) -> (f64, &'static str) {
        let ground = km / self.ground_speed_kmh * 60.0;
        let air = self.air_overhead_minutes as f64 + km / self.air_speed_kmh * 60.0;
        // NaN or non-positive speeds (a configuration mistake) never make travel impossible.
        let ok = |m: f64| {
            if m.is_nan() || m < 0.0 {
                f64::INFINITY
            } else {
                m
            }
        };
        let (ground, air) = (ok(ground), ok(air));
        if ground <= air {
            (ground, "over the ground")
        } else {
            (air, "by air")
        }
    }
}

/// One moment a person was placed at a site.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen {
    time: Timestamp,
    id: Ulid,
    /// "badge used at Main entrance, Oslo HQ" / "VPN connect as kari from 198.51.100.20 on
    /// the Bergen office network".
    what: String,
    /// A login from a site's network (else a badge use).
    #[serde(default)]
    login: bool,
}

/// Consecutive sightings at one site of one kind (badge or login): the first and the last.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stay {
    site: String,
    lat: f64,
    lon: f64,
    first: Seen,
    last: Seen,
}

impl Stay {
    /// The sighting of this stay nearest in time to `t`.
    fn nearest(&self, t: Timestamp) -> &Seen {
        if (t - self.first.time).abs() <= (t - self.last.time).abs() {
            &self.first
        } else {
            &self.last
        }
    }
}

/// A person's recent stays, oldest first, badges and logins apart.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Trail {
    badges: Vec<Stay>,
    logins: Vec<Stay>,
}

impl Trail {
    fn newest(&self) -> Timestamp {
        self.badges
            .iter()
            .chain(&self.logins)
            .map(|s| s.last.time)
            .max()
            .unwrap_or(Timestamp::MIN_UTC)
    }
}

/// Stays kept per person and kind: a day's badges at a handful of sites fit many times over.
const STAYS: usize = 16;

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    trails: HashMap<String, Trail>,
    /// Dedup keys raised recently, so one journey is raised once however many badge events
    /// repeat it.
    fired: HashMap<String, Timestamp>,
    watermark: Option<Timestamp>,
}

pub(crate) struct ImpossibleTravel {
    cfg: ImpossibleTravelConfig,
    s: State,
}

/// Files `seen` at `site` into `stays` (sorted by first time): it extends the stay at the same
/// site it falls next to, or starts a new one.
fn file(stays: &mut Vec<Stay>, site: &str, (lat, lon): (f64, f64), seen: Seen) {
    let at = stays.partition_point(|s| s.first.time <= seen.time);
    if let Some(prev) = at.checked_sub(1).map(|i| &mut stays[i])
        && prev.site == site
    {
        if seen.time > prev.last.time {
            prev.last = seen;
        }
        return;
    }
    if let Some(next) = stays.get_mut(at)
        && next.site == site
    {
        next.first = seen;
        return;
    }
    stays.insert(
        at,
        Stay {
            site: site.to_owned(),
            lat,
            lon,
            first: seen.clone(),
            last: seen,
        },
    );
    if stays.len() > STAYS {
        stays.remove(0);
    }
}

impl ImpossibleTravel {
    pub fn new(cfg: ImpossibleTravelConfig) -> Self {
        ImpossibleTravel {
            cfg,
            s: State::default(),
        }
    }

    fn memory(&self) -> chrono::Duration {
        super::secs(self.cfg.memory_hours.saturating_mul(3600))
    }

    fn recently_fired(&mut self, key: &str, t: Timestamp) -> bool {
        let memory = self.memory();
        if self
            .s
            .fired
            .get(key)
            .is_some_and(|&f| (t - f).abs() <= memory)
        {
            return true;
        }
        self.s.fired.insert(key.to_owned(), t);
        cap_map(&mut self.s.fired, self.cfg.max_people, |t| *t);
        false
    }
}

impl Detection for ImpossibleTravel {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        self.s.watermark = later(self.s.watermark, e.time);
        let badge = e.class == Class::PhysicalAccess
            && matches!(e.activity, Activity::Granted | Activity::Denied);
        let login = !badge && self.cfg.logins && is_login(e);
        if !badge && !login {
            return;
        }
        let Some(p) = person(e) else { return };
        let at = if badge {
            Located::of(e, dir)
        } else {
            match network_site(e, dir) {
                Some(at) => at,
                None => return,
            }
        };
        let (Some(site), Some((lat, lon))) = (at.site_id(), at.coords()) else {
            return;
        };
        let what = if badge {
            format!("badge used at {}", at.label())
        } else {
            let kind = if e.class == Class::TunnelActivity {
                "VPN connect"
            } else {
                "logon"
            };
            let user = e
                .actor
                .user
                .as_deref()
                .map(|u| format!(" as {u}"))
                .unwrap_or_default();
            let ip = e
                .src
                .as_ref()
                .and_then(|s| s.ip)
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default();
            format!(
                "{kind}{user}{ip} on the {} network",
                at.site_label().unwrap_or_else(|| site.clone())
            )
        };
        let seen = Seen {
            time: e.time,
            id: e.id,
            what,
            login,
        };

        // The worst conflict with any remembered stay elsewhere: the one that leaves the least
        // of the time the journey needs.
        let memory = self.memory();
        let trail = self.s.trails.get(&p.id);
        let stays = trail.into_iter().flat_map(|tr| {
            let logins = if badge { &tr.logins[..] } else { &[][..] };
            tr.badges.iter().chain(logins)
        });
        let mut worst: Option<(f64, f64, f64, &'static str, &Stay, &Seen)> = None;
        for stay in stays {
            if stay.site == site {
                continue;
            }
            let other = stay.nearest(e.time);
            let gap = (e.time - other.time).abs();
            if gap > memory {
                continue;
            }
            let km = distance_km((stay.lat, stay.lon), (lat, lon));
            if km < self.cfg.min_distance_km {
                continue;
            }
            let minutes = gap.num_milliseconds() as f64 / 60_000.0;
            let (needed, means) = self.cfg.fastest_minutes(km);
            if minutes >= needed {
                continue;
            }
            let share = minutes / needed;
            if worst.as_ref().is_none_or(|w| share < w.0) {
                worst = Some((share, km, minutes, means, stay, other));
            }
        }
        let raised = worst.map(|(_, km, minutes, means, stay, other)| {
            (km, minutes, means, stay.site.clone(), other.clone())
        });

        if let Some((km, minutes, means, other_site, other)) = raised {
            let (first, second) = if other.time <= e.time {
                (&other, &seen)
            } else {
                (&seen, &other)
            };
            let (a, b) = if other_site <= site {
                (other_site.as_str(), site.as_str())
            } else {
                (site.as_str(), other_site.as_str())
            };
            let key = format!("{}:{a}:{b}:{}", p.id, second.time.format("%Y-%m-%d"));
            if !self.recently_fired(&key, e.time) {
                let (needed, _) = self.cfg.fastest_minutes(km);
                let speed = km / (minutes / 60.0).max(1.0 / 60.0);
                let both_badges = !first.login && !second.login;
                let head = if both_badges {
                    // "Badge of Kari Nordmann used at Main entrance, Oslo HQ at … and at …"
                    format!(
                        "Badge of {} used at {} at {} and at {} at {}",
                        person_name(p),
                        first.what.trim_start_matches("badge used at "),
                        utc_label(first.time),
                        second.what.trim_start_matches("badge used at "),
                        utc_label(second.time),
                    )
                } else {
                    format!(
                        "{}: {} at {} and {} at {}",
                        person_name(p),
                        first.what,
                        utc_label(first.time),
                        second.what,
                        utc_label(second.time),
                    )
                };
                let summary = format!(
                    "{head}: {km:.0} km in {} min ({speed:.0} km/h); the fastest real means, \
                     {means}, needs at least {} min",
                    minutes.round(),
                    needed.ceil(),
                );
                let (from, to) = if other.time <= e.time {
                    (other_site.as_str(), site.as_str())
                } else {
                    (site.as_str(), other_site.as_str())
                };
                let d = Draft::new(&RULE, summary, &key)
                    .evidence(other.time, other.id)
                    .event(e)
                    .place(&other_site)
                    .place(&site)
                    .detail("distance_km", km.round())
                    .detail("minutes", minutes.round())
                    .detail("speed_kmh", speed.round())
                    .detail("needed_minutes", needed.ceil())
                    .detail("fastest_means", means)
                    .detail("from_site", from)
                    .detail("to_site", to)
                    .detail(
                        "kind",
                        if both_badges {
                            "badge_badge"
                        } else {
                            "badge_login"
                        },
                    );
                out.push(d.finish());
            }
        }

        let trail = self.s.trails.entry(p.id.clone()).or_default();
        let stays = if badge {
            &mut trail.badges
        } else {
            &mut trail.logins
        };
        file(stays, &site, (lat, lon), seen);
        cap_map(&mut self.s.trails, self.cfg.max_people, Trail::newest);
    }

    fn tick(&mut self, now: Timestamp, _dir: &Directory, _out: &mut Vec<Finding>) {
        let cutoff = reference(self.s.watermark, now) - self.memory();
        self.s.trails.retain(|_, tr| {
            tr.badges.retain(|s| s.last.time >= cutoff);
            tr.logins.retain(|s| s.last.time >= cutoff);
            !(tr.badges.is_empty() && tr.logins.is_empty())
        });
        self.s.fired.retain(|_, t| *t >= cutoff);
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
    fn the_faster_of_road_and_air_counts() {
        let c = ImpossibleTravelConfig::default();
        // 262 km: by road, 105 min (a flight would take 138).
        let (m, means) = c.fastest_minutes(262.0);
        assert_eq!((m.round(), means), (105.0, "over the ground"));
        // 1,500 km: a flight, 2 h + 100 min.
        let (m, means) = c.fastest_minutes(1_500.0);
        assert_eq!((m.round(), means), (220.0, "by air"));
        // A configuration mistake never makes travel impossible.
        let broken = ImpossibleTravelConfig {
            ground_speed_kmh: 0.0,
            air_speed_kmh: -1.0,
            ..c
        };
        assert!(broken.fastest_minutes(262.0).0 > 1e9);
    }
}
