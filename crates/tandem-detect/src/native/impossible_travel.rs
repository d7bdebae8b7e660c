//! `tandem.impossible_travel_badge`: the same person's badge used at two sites further apart
//! than anyone could travel in the time between — a cloned or shared credential.
//!
//! Both grants and denials count: a denied cloned card at the far site is as telling as a
//! granted one. Sites closer than `min_distance_km` are ignored, because two buildings of one
//! campus with imprecise coordinates would otherwise look like supersonic walks.

use super::{
    Draft, Located, Rule, cap_map, distance_km, later, load, person, person_name, reference, save,
    utc_label,
};
use crate::Detection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tandem_identity::Directory;
use tandem_model::{Activity, Class, Event, Finding, Severity, Timestamp, Ulid};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.impossible_travel_badge",
    title: "Badge used at two sites too far apart for the time between",
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
    /// Fastest plausible travel, door to door (a commercial flight's cruise speed: anything
    /// faster is impossible, not just unusual).
    pub max_speed_kmh: f64,
    /// Sites closer than this are never compared.
    pub min_distance_km: f64,
    /// How long a person's last badge use is remembered.
    pub memory_hours: u64,
    pub max_people: usize,
}

impl Default for ImpossibleTravelConfig {
    fn default() -> Self {
        ImpossibleTravelConfig {
            enabled: true,
            max_speed_kmh: 900.0,
            min_distance_km: 50.0,
            memory_hours: 48,
            max_people: 100_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Last {
    time: Timestamp,
    id: Ulid,
    site: String,
    label: String,
    lat: f64,
    lon: f64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    last: HashMap<String, Last>,
    watermark: Option<Timestamp>,
}

pub(crate) struct ImpossibleTravel {
    cfg: ImpossibleTravelConfig,
    s: State,
}

impl ImpossibleTravel {
    pub fn new(cfg: ImpossibleTravelConfig) -> Self {
        ImpossibleTravel {
            cfg,
            s: State::default(),
        }
    }
}

impl Detection for ImpossibleTravel {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        self.s.watermark = later(self.s.watermark, e.time);
        if e.class != Class::PhysicalAccess
            || !matches!(e.activity, Activity::Granted | Activity::Denied)
        {
            return;
        }
        let Some(p) = person(e) else { return };
        let at = Located::of(e, dir);
        let (Some(site), Some((lat, lon))) = (at.site_id(), at.coords()) else {
            return;
        };
        let label = at.label();
        if let Some(prev) = self.s.last.get(&p.id)
            && prev.site != site
        {
            let km = distance_km((prev.lat, prev.lon), (lat, lon));
            let secs = (e.time - prev.time).num_milliseconds().abs().max(1000) as f64 / 1000.0;
            let hours = secs / 3600.0;
            let speed = km / hours;
            let memory = super::secs(self.cfg.memory_hours.saturating_mul(3600));
            if km >= self.cfg.min_distance_km
                && speed > self.cfg.max_speed_kmh
                && (e.time - prev.time).abs() <= memory
            {
                let (first, second, t1, t2) = if prev.time <= e.time {
                    (prev.label.as_str(), label.as_str(), prev.time, e.time)
                } else {
                    (label.as_str(), prev.label.as_str(), e.time, prev.time)
                };
                let summary = format!(
                    "Badge of {} used at {first} at {} and at {second} at {}: {km:.0} km in {} min \
                     ({speed:.0} km/h, more than {:.0} km/h)",
                    person_name(p),
                    utc_label(t1),
                    utc_label(t2),
                    (secs / 60.0).round(),
                    self.cfg.max_speed_kmh,
                );
                let (a, b) = if prev.site <= site {
                    (prev.site.as_str(), site.as_str())
                } else {
                    (site.as_str(), prev.site.as_str())
                };
                let d = Draft::new(
                    &RULE,
                    summary,
                    format_args!("{}:{a}:{b}:{}", p.id, t2.format("%Y-%m-%d")),
                )
                .evidence(prev.time, prev.id)
                .event(e)
                .place(&prev.site)
                .detail("distance_km", km.round())
                .detail("minutes", (secs / 60.0).round())
                .detail("speed_kmh", speed.round())
                .detail("from_site", prev.site.as_str())
                .detail("to_site", site.as_str());
                out.push(d.finish());
            }
        }
        let newer = self.s.last.get(&p.id).is_none_or(|l| e.time >= l.time);
        if newer {
            self.s.last.insert(
                p.id.clone(),
                Last {
                    time: e.time,
                    id: e.id,
                    site,
                    label,
                    lat,
                    lon,
                },
            );
            cap_map(&mut self.s.last, self.cfg.max_people, |l| l.time);
        }
    }

    fn tick(&mut self, now: Timestamp, _dir: &Directory, _out: &mut Vec<Finding>) {
        let memory = super::secs(self.cfg.memory_hours.saturating_mul(3600));
        let cutoff = reference(self.s.watermark, now) - memory;
        self.s.last.retain(|_, l| l.time >= cutoff);
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        save(&self.s)
    }

    fn load_state(&mut self, state: serde_json::Value) {
        load(RULE.id, state, &mut self.s);
    }
}
