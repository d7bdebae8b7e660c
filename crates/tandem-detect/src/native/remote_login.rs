//! `tandem.remote_login_while_on_site`: a person badged into a site and, while still there, a
//! remote login for them geolocated far away — or the other way round, a remote session open
//! and their badge used at a site far from it. One person cannot be in both places: either the
//! account or the badge is being used by someone else.
//!
//! "On site" starts with a badge grant (direction `in` or unknown) and lasts `window_hours`
//! from the latest such grant at that site, until the person badges *out* through the zone
//! they entered by: exits from inner zones (leaving the server room) do not end a visit, exits
//! through the lobby do. A remote session lasts from its connect/logon until the matching
//! disconnect/logoff (same session id or source address) or `window_hours`.
//!
//! Remote logins are VPN connects (`tunnel_activity` / `connect`) and successful logons
//! (`authentication` / `logon`) whose source is geolocated (`src.geo` with coordinates): an
//! IdP, VPN or RDP gateway log with geo-IP, never a desk logon. A login from one of a site's
//! `egress_networks` (the directory's places) was made on site, whatever geo-IP says (a
//! provider's address block is often placed in another city or country): it is not remote.
//! Being at one site and logging on from another site's network is a journey, which
//! `tandem.impossible_travel_badge` judges.

use super::{
    Draft, ImpossibleTravelConfig, Located, Rule, cap_map, distance_km, is_login, later, load,
    minutes, network_site, person, person_name, reference, save, utc_label,
};
use crate::Detection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tandem_identity::Directory;
use tandem_model::{Activity, Class, Event, Finding, Severity, Timestamp, Ulid};

pub(crate) const RULE: Rule = Rule {
    id: "tandem.remote_login_while_on_site",
    title: "Remote login far from the site the person is badged into",
    severity: Severity::High,
    tags: &[
        "attack.initial_access",
        "attack.t1078",
        "attack.t1133",
        "physical.presence_conflict",
    ],
};

/// `tandem.remote_login_while_on_site` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteLoginConfig {
    pub enabled: bool,
    /// Minimum distance between the site and the login's geolocation. Geo-IP is city-level at
    /// best and often places a home connection in the ISP's city; 500 km keeps that noise out.
    pub distance_km: f64,
    /// How long a badge-in counts as "on site" without another badge event, and how long a
    /// remote session without a disconnect counts as open.
    pub window_hours: u64,
    /// At most this many people tracked (oldest dropped first).
    pub max_people: usize,
}

impl Default for RemoteLoginConfig {
    fn default() -> Self {
        RemoteLoginConfig {
            enabled: true,
            distance_km: 500.0,
            window_hours: 12,
            max_people: 100_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Presence {
    site: String,
    label: String,
    lat: f64,
    lon: f64,
    /// Zone of the first badge-in of this visit; an `out` there ends the visit.
    entry_zone: Option<String>,
    last_in: Timestamp,
    last_id: Ulid,
    door: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Remote {
    time: Timestamp,
    id: Ulid,
    ip: Option<String>,
    user: Option<String>,
    session: Option<String>,
    lat: f64,
    lon: f64,
    place: String,
    kind: String,
    /// A sign-in that opens no session anyone will end (an IdP sign-in: no session id, no
    /// disconnect ever comes). It places the person there at that moment only, so a later
    /// badge-in conflicts with it only while the journey was impossible.
    #[serde(default)]
    moment: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    presence: HashMap<String, Presence>,
    remote: HashMap<String, Vec<Remote>>,
    /// Dedup keys raised recently, so one situation is raised once however many badge events
    /// or reconnects repeat it.
    fired: HashMap<String, Timestamp>,
    watermark: Option<Timestamp>,
}

pub(crate) struct RemoteLoginWhileOnSite {
    cfg: RemoteLoginConfig,
    /// The travel model of `tandem.impossible_travel_badge`, for sign-ins that are moments.
    travel: ImpossibleTravelConfig,
    s: State,
}

/// Per-person cap on open remote sessions remembered.
const MAX_SESSIONS: usize = 8;

impl RemoteLoginWhileOnSite {
    pub fn new(cfg: RemoteLoginConfig, travel: ImpossibleTravelConfig) -> Self {
        RemoteLoginWhileOnSite {
            cfg,
            travel,
            s: State::default(),
        }
    }

    /// How long after it `r` still counts as where the person is, `km` from the site of a
    /// badge-in: a session until it ends (or `window_hours`); a sign-in that is a moment only
    /// for as long as the fastest real journey over that distance takes. Someone who signed
    /// in from home at night and badged in at the office the next morning went to work.
    fn open_for(&self, r: &Remote, km: f64) -> chrono::Duration {
        let window = self.window();
        if !r.moment {
            return window;
        }
        let (minutes, _) = self.travel.fastest_minutes(km);
        let travel = super::secs((minutes * 60.0).clamp(0.0, window.num_seconds() as f64) as u64);
        travel.min(window)
    }

    fn window(&self) -> chrono::Duration {
        super::secs(self.cfg.window_hours.saturating_mul(3600))
    }

    fn is_remote_end(e: &Event) -> bool {
        matches!(
            (e.class, e.activity),
            (Class::TunnelActivity, Activity::Disconnect)
                | (Class::Authentication, Activity::Logoff)
        )
    }

    fn session_id(e: &Event) -> Option<String> {
        e.attrs
            .get("session_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }

    fn badge(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        let Some(p) = person(e) else { return };
        let at = Located::of(e, dir);
        let (Some(site), Some((lat, lon))) = (at.site_id(), at.coords()) else {
            return;
        };
        let direction = e.physical.as_ref().and_then(|ph| ph.direction.as_deref());
        let window = self.window();
        if direction == Some("out") {
            let ends = self.s.presence.get(&p.id).is_some_and(|v| {
                v.site == site
                    && (v.entry_zone.is_none() || v.entry_zone == at.zone_id())
                    && e.time >= v.last_in
            });
            if ends {
                self.s.presence.remove(&p.id);
            }
            return;
        }
        let continuing = self
            .s
            .presence
            .get(&p.id)
            .is_some_and(|v| v.site == site && e.time - v.last_in <= window);
        let entry_zone = if continuing {
            self.s.presence[&p.id].entry_zone.clone()
        } else {
            at.zone_id()
        };
        let label = at.label();
        self.s.presence.insert(
            p.id.clone(),
            Presence {
                site: site.clone(),
                label: label.clone(),
                lat,
                lon,
                entry_zone,
                last_in: e.time,
                last_id: e.id,
                door: at.door_id(),
            },
        );
        cap_map(&mut self.s.presence, self.cfg.max_people, |v| v.last_in);

        // The reverse order: a remote session already open, far away.
        // Only the sessions that qualify are copied out (rarely any): every grant comes here.
        let far: Vec<(Remote, f64)> = self
            .s
            .remote
            .get(&p.id)
            .into_iter()
            .flatten()
            .filter(|r| r.time <= e.time && e.time - r.time <= window)
            .map(|r| (r, distance_km((lat, lon), (r.lat, r.lon))))
            .filter(|(_, km)| *km > self.cfg.distance_km)
            .filter(|(r, km)| e.time - r.time <= self.open_for(r, *km))
            .map(|(r, km)| (r.clone(), km))
            .collect();
        for (r, km) in far {
            let key = format!("{}:{site}:{}", p.id, r.ip.as_deref().unwrap_or(&r.place));
            if self.recently_fired(&key, e.time) {
                continue;
            }
            let ip =
                r.ip.as_deref()
                    .map(|ip| format!("{ip}, "))
                    .unwrap_or_default();
            let summary = if r.moment {
                format!(
                    "Badge of {} granted at {label} at {}, {} min after their {} from {} ({ip}{km:.0} km \
                     away): no real means covers that distance in that time",
                    person_name(p),
                    utc_label(e.time),
                    minutes(r.time, e.time),
                    r.kind,
                    r.place,
                )
            } else {
                format!(
                    "Badge of {} granted at {label} at {} while their {} from {} ({ip}started {} min earlier) \
                     was still open, {km:.0} km away",
                    person_name(p),
                    utc_label(e.time),
                    r.kind,
                    r.place,
                    minutes(r.time, e.time),
                )
            };
            let mut d = Draft::new(&RULE, summary, &key)
                .evidence(r.time, r.id)
                .event(e)
                .detail("distance_km", km.round())
                .detail("order", "remote_then_badge")
                .detail("site", site.as_str())
                .detail("remote_location", r.place.as_str());
            if let Some(ip) = &r.ip {
                d = d.ip(ip);
            }
            if let Some(u) = &r.user {
                d = d.user(u);
            }
            out.push(d.finish());
        }
    }

    fn remote(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        let Some(p) = person(e) else { return };
        if network_site(e, dir).is_some() {
            return;
        }
        let Some(geo) = e.src.as_ref().and_then(|s| s.geo.as_ref()) else {
            return;
        };
        let (Some(lat), Some(lon)) = (geo.lat, geo.lon) else {
            return;
        };
        let place = match (&geo.city, &geo.country) {
            (Some(c), Some(k)) => format!("{c}, {k}"),
            (Some(c), None) => c.clone(),
            (None, Some(k)) => k.clone(),
            (None, None) => format!("{lat:.2},{lon:.2}"),
        };
        let ip = e.src.as_ref().and_then(|s| s.ip).map(|ip| ip.to_string());
        let kind = if e.class == Class::TunnelActivity {
            "VPN session"
        } else {
            "remote logon"
        };
        let session = Self::session_id(e);
        let r = Remote {
            time: e.time,
            id: e.id,
            ip: ip.clone(),
            user: e.actor.user.clone(),
            moment: e.class != Class::TunnelActivity && session.is_none(),
            session,
            lat,
            lon,
            place: place.clone(),
            kind: kind.to_owned(),
        };
        let sessions = self.s.remote.entry(p.id.clone()).or_default();
        sessions.push(r);
        if sessions.len() > MAX_SESSIONS {
            sessions.remove(0);
        }
        cap_map(&mut self.s.remote, self.cfg.max_people, |v| {
            v.last().map_or(Timestamp::MIN_UTC, |r| r.time)
        });

        let window = self.window();
        let Some(v) = self.s.presence.get(&p.id).cloned() else {
            return;
        };
        if e.time < v.last_in || e.time - v.last_in > window {
            return;
        }
        let km = distance_km((v.lat, v.lon), (lat, lon));
        if km <= self.cfg.distance_km {
            return;
        }
        let key = format!("{}:{}:{}", p.id, v.site, ip.as_deref().unwrap_or(&place));
        if self.recently_fired(&key, e.time) {
            return;
        }
        let who = e
            .actor
            .user
            .as_deref()
            .map(|u| format!(" as {u}"))
            .unwrap_or_default();
        let summary = format!(
            "{} badged in at {} at {} and has not badged out; {} min later a {kind}{who} came from {}{}, \
             {km:.0} km away",
            person_name(p),
            v.label,
            utc_label(v.last_in),
            minutes(v.last_in, e.time),
            ip.as_deref()
                .map(|ip| format!("{ip} in "))
                .unwrap_or_default(),
            place,
        );
        let mut d = Draft::new(&RULE, summary, &key)
            .evidence(v.last_in, v.last_id)
            .event(e)
            .place(&v.site)
            .detail("distance_km", km.round())
            .detail("order", "badge_then_remote")
            .detail("site", v.site.as_str())
            .detail("remote_location", place.as_str())
            .detail("minutes_after_badge", minutes(v.last_in, e.time));
        if let Some(door) = &v.door {
            d = d.place(door);
        }
        out.push(d.finish());
    }

    fn end(&mut self, e: &Event) {
        let Some(p) = person(e) else { return };
        let Some(sessions) = self.s.remote.get_mut(&p.id) else {
            return;
        };
        let session = Self::session_id(e);
        let ip = e.src.as_ref().and_then(|s| s.ip).map(|ip| ip.to_string());
        let hit = sessions.iter().position(|r| {
            r.time <= e.time
                && match (&session, &r.session) {
                    (Some(a), Some(b)) => a == b,
                    _ => ip.is_some() && ip == r.ip,
                }
        });
        // Without a session id or address to match, the oldest session is the best guess.
        let hit = hit.or_else(|| (session.is_none() && ip.is_none()).then_some(0));
        if let Some(i) = hit.filter(|&i| i < sessions.len()) {
            sessions.remove(i);
        }
        if sessions.is_empty() {
            self.s.remote.remove(&p.id);
        }
    }

    fn recently_fired(&mut self, key: &str, t: Timestamp) -> bool {
        let window = self.window();
        if self
            .s
            .fired
            .get(key)
            .is_some_and(|&f| (t - f).abs() <= window)
        {
            return true;
        }
        self.s.fired.insert(key.to_owned(), t);
        cap_map(&mut self.s.fired, self.cfg.max_people, |t| *t);
        false
    }
}

impl Detection for RemoteLoginWhileOnSite {
    fn id(&self) -> &'static str {
        RULE.id
    }

    fn observe(&mut self, e: &Event, dir: &Directory, out: &mut Vec<Finding>) {
        self.s.watermark = later(self.s.watermark, e.time);
        if e.class == Class::PhysicalAccess && e.activity == Activity::Granted {
            self.badge(e, dir, out);
        } else if is_login(e) {
            self.remote(e, dir, out);
        } else if Self::is_remote_end(e) {
            self.end(e);
        }
    }

    fn tick(&mut self, now: Timestamp, _dir: &Directory, _out: &mut Vec<Finding>) {
        let cutoff = reference(self.s.watermark, now) - self.window();
        self.s.presence.retain(|_, v| v.last_in >= cutoff);
        self.s.remote.retain(|_, v| {
            v.retain(|r| r.time >= cutoff);
            !v.is_empty()
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
