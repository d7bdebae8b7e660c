//! The baseline: an ordinary day at the company, person by person.

use crate::build::{
    AUTH_INFO, AUTHPRIV_INFO, Gen, Index, Item, VpnSession, home_geo, sudo_command,
};
use crate::org::{Department, Direction, Org, Person, ZoneKind};
use crate::record::{Record, Wire};
use crate::render::{Renderer, camera_ip, egress_ip, idp_ip, nvr_ip};
use crate::util::{at_minutes, day_number, fnv, mix, rng, trunc_ms};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use tandem_model::{Activity, Event, Outcome, Timestamp};

/// How many generated days are kept; a live run only ever needs the current one or two.
const CACHE_DAYS: usize = 8;

/// A deterministic simulation of the company's activity.
///
/// Records are generated a whole local day at a time from `(seed, date)` alone, then cut to the
/// requested window, so any window gives the same records whichever way it is asked for: one
/// call for a day equals 48 calls for its half hours. Each person's day draws from its own
/// random stream, so changing one person does not change anybody else's day.
pub struct Simulator {
    pub(crate) org: Org,
    pub(crate) seed: u64,
    pub(crate) ix: Index,
    pub(crate) wire: Wire,
    cache: BTreeMap<NaiveDate, Arc<Day>>,
    pub(crate) scenarios: u64,
}

/// One local day: what happened, and how it went out on the wire.
pub(crate) struct Day {
    items: Vec<Item>,
    records: Vec<Record>,
}

impl Simulator {
    pub fn new(org: Org, seed: u64) -> Simulator {
        let ix = Index::new(&org);
        Simulator {
            org,
            seed,
            ix,
            wire: Wire::Tandem,
            cache: BTreeMap::new(),
            scenarios: 0,
        }
    }

    /// The same simulation rendered for `wire` (default [`Wire::Tandem`]). What happens does
    /// not change, only how each source says it.
    pub fn with_wire(mut self, wire: Wire) -> Simulator {
        self.wire = wire;
        self.cache.clear();
        self
    }

    pub fn wire(&self) -> Wire {
        self.wire
    }

    /// What happened with `from <= time < to`, as the Tandem events the simulation means
    /// (whatever the wire format): the reference a vendor rendering is checked against.
    /// Syslog lines are not included (they have only their wire form).
    pub fn facts_between(&mut self, from: Timestamp, to: Timestamp) -> Vec<Event> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        let mut d = (from - Duration::days(1)).date_naive();
        while d <= (to + Duration::days(1)).date_naive() {
            for item in &self.day(d).items {
                if let Item::Event(e) = item
                    && e.time >= from
                    && e.time < to
                {
                    out.push((**e).clone());
                }
            }
            d += Duration::days(1);
        }
        out.sort_by_key(|e| e.time);
        out
    }

    /// The records `fact` is sent as with this simulator's wire format (deterministic: the
    /// same event always renders the same way).
    pub fn render(&self, fact: &Event) -> Vec<Record> {
        self.renderer().event(fact)
    }

    pub(crate) fn renderer(&self) -> Renderer<'_> {
        Renderer {
            org: &self.org,
            ix: &self.ix,
            wire: self.wire,
            seed: self.seed,
        }
    }

    pub fn org(&self) -> &Org {
        &self.org
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Every baseline record with `from <= time < to`, sorted by time (ties keep generation
    /// order). Injected scenarios are not included: [`Simulator::inject`] returns them.
    pub fn records_between(&mut self, from: Timestamp, to: Timestamp) -> Vec<Record> {
        if to <= from {
            return Vec::new();
        }
        // A local day spills a little into the UTC days around it (sites are UTC+0..+2, and
        // evening VPN sessions run late), so look one day either side.
        let first = (from - Duration::days(1)).date_naive();
        let last = (to + Duration::days(1)).date_naive();
        let mut out = Vec::new();
        let mut d = first;
        while d <= last {
            let day = self.day(d);
            let day = &day.records;
            let lo = day.partition_point(|r| r.time < from);
            let hi = day.partition_point(|r| r.time < to);
            out.extend_from_slice(&day[lo..hi]);
            d += Duration::days(1);
        }
        out.sort_by_key(|r| r.time);
        out
    }

    /// All items and records of local date `d` (every site's `d`), sorted, cached.
    pub(crate) fn day(&mut self, d: NaiveDate) -> Arc<Day> {
        if let Some(v) = self.cache.get(&d) {
            return Arc::clone(v);
        }
        let items = generate_day(&self.org, &self.ix, self.seed, d);
        let renderer = self.renderer();
        let mut records: Vec<Record> = items.iter().flat_map(|i| renderer.item(i)).collect();
        records.sort_by_key(|r| r.time);
        let v = Arc::new(Day { items, records });
        self.cache.insert(d, Arc::clone(&v));
        while self.cache.len() > CACHE_DAYS {
            // Evict the day farthest from the one just made.
            let lo = *self.cache.keys().next().expect("non-empty");
            let hi = *self.cache.keys().next_back().expect("non-empty");
            let victim = if (d - lo).num_days().abs() >= (hi - d).num_days().abs() {
                lo
            } else {
                hi
            };
            self.cache.remove(&victim);
        }
        v
    }
}

pub(crate) fn generate_day(org: &Org, ix: &Index, seed: u64, date: NaiveDate) -> Vec<Item> {
    let mut g = Gen::new(org, ix);
    let day = day_number(date);
    for (pi, p) in org.people.iter().enumerate() {
        if !p.active_on(date) {
            continue;
        }
        let mut r = rng(seed, mix(day, pi as u64 + 1));
        PersonDay { pi, p, date }.run(&mut g, &mut r);
    }
    infrastructure(&mut g, &mut rng(seed, mix(day, 0x1f_a5)), date);
    // Added after the people and the servers, from streams of their own, so that these
    // sources did not change anybody's day as it was before they existed.
    sign_ins(&mut g, seed);
    facility_telemetry(&mut g, &mut rng(seed, mix(day, 0x5e_45)), date);
    let mut out = g.out;
    out.sort_by_key(Item::time);
    out
}

/// SaaS applications people single-sign-on into, with an address each.
const APPS: &[(&str, [u8; 4])] = &[
    ("Slack", [52, 85, 12, 40]),
    ("Salesforce", [13, 110, 30, 88]),
    ("GitHub", [140, 82, 121, 4]),
    ("Atlassian Cloud", [104, 192, 142, 17]),
    ("Workday", [52, 28, 201, 9]),
];

/// Every interactive laptop logon is followed by an IdP sign-in and, over the next hours, a
/// few single sign-ons; at the office the network sensor sees the TLS connections.
fn sign_ins(g: &mut Gen<'_>, seed: u64) {
    let logons: Vec<(Timestamp, usize, Option<IpAddr>)> = g
        .out
        .iter()
        .filter_map(|item| match item {
            Item::Event(e)
                if e.source.name == crate::record::WORKSTATIONS.name
                    && e.activity == Activity::Logon
                    && e.outcome == Outcome::Success
                    && e.attrs.get("logon_type").and_then(|v| v.as_str())
                        == Some("interactive") =>
            {
                let pi = *g.ix.by_username.get(e.actor.user.as_deref()?)?;
                Some((e.time, pi, e.device.as_ref().and_then(|d| d.ip)))
            }
            _ => None,
        })
        .collect();
    for (t, pi, ip) in logons {
        let mut r = rng(
            seed,
            mix(fnv("idp"), mix(t.timestamp_millis() as u64, pi as u64)),
        );
        let org = g.org;
        let p = &org.people[pi];
        let site = g.ix.person_site[pi];
        let at_office = ip == Some(p.laptop_ip);
        let (src, geo) = if at_office {
            (egress_ip(site), org.sites[site].geo())
        } else {
            (p.home_ip, home_geo(&mut r, &org.sites[site].country))
        };
        let t1 = trunc_ms(t + secs(&mut r, 20, 90));
        if r.f64() < 0.03 {
            let tf = t1 - secs(&mut r, 10, 25);
            g.idp(tf, p, Outcome::Failure, None, src, geo.clone());
        }
        g.idp(t1, p, Outcome::Success, None, src, geo.clone());
        if at_office {
            let port = r.u16(49_152..65_000);
            let (dur, a, b) = (r.i64(200..2_000), r.u64(2_000..9_000), r.u64(6_000..60_000));
            g.flow(
                t1 - Duration::milliseconds(400),
                (p.laptop_ip, port),
                (idp_ip(org, site), 443),
                "tcp",
                Some("ssl"),
                dur,
                (a, b),
            );
        }
        for _ in 0..r.usize(1..=3) {
            let ta = trunc_ms(t1 + Duration::seconds(r.i64(120..4 * 3600)));
            let (app, ip4) = APPS[r.usize(0..APPS.len())];
            g.idp(ta, p, Outcome::Success, Some(app), src, geo.clone());
            if at_office {
                let port = r.u16(49_152..65_000);
                let dur = r.i64(5_000..1_800_000);
                let bytes = (r.u64(5_000..400_000), r.u64(20_000..8_000_000));
                let dst = IpAddr::V4(Ipv4Addr::from(ip4));
                g.flow(
                    ta + Duration::milliseconds(700),
                    (p.laptop_ip, port),
                    (dst, 443),
                    "tcp",
                    Some("ssl"),
                    dur,
                    bytes,
                );
            }
        }
    }
}

/// Server-room temperatures every quarter hour, and each camera's RTSP stream to its site's
/// NVR, cut by the network sensor into half-hour connections.
fn facility_telemetry(g: &mut Gen<'_>, r: &mut fastrand::Rng, date: NaiveDate) {
    let org = g.org;
    let midnight = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"));
    let sensors = g.ix.sensors.clone();
    for s in sensors.iter().filter(|s| s.door.is_none()) {
        let base = 19.5 + (fnv(&s.name) % 30) as f64 / 10.0;
        for q in 0..96 {
            let t = midnight + Duration::minutes(q * 15) + Duration::seconds(r.i64(0..20));
            let v = ((base + r.f64() * 0.8 - 0.4) * 10.0).round() / 10.0;
            g.sensor(trunc_ms(t), s, "temperature", v.into());
        }
    }
    for site in &org.sites {
        let nvr = nvr_ip(site);
        let cams: Vec<String> = org
            .doors()
            .filter(|d| d.site.id == site.id)
            .filter_map(|d| d.door.camera.as_ref().map(|c| c.id.clone()))
            .collect();
        for cam in cams {
            let Some(ip) = camera_ip(org, &cam) else {
                continue;
            };
            for h in 0..48 {
                let t =
                    midnight + Duration::minutes(h * 30) + Duration::milliseconds(r.i64(0..900));
                let port = r.u16(40_000..60_000);
                let bytes = (r.u64(9_000..20_000), r.u64(180_000_000..260_000_000));
                g.flow(
                    trunc_ms(t),
                    (nvr, port),
                    (ip, 554),
                    "tcp",
                    None,
                    1_799_000 + r.i64(0..900),
                    bytes,
                );
            }
        }
    }
}

struct PersonDay<'a> {
    pi: usize,
    p: &'a Person,
    date: NaiveDate,
}

/// A stretch of local minutes-after-midnight during which the person is inside.
type Span = (f64, f64);

impl PersonDay<'_> {
    fn local(&self, g: &Gen<'_>, minutes: f64) -> Timestamp {
        let site = &g.org.sites[g.ix.person_site[self.pi]];
        site.to_utc(at_minutes(self.date, minutes))
    }

    fn run(&self, g: &mut Gen<'_>, r: &mut fastrand::Rng) {
        let wd = self.date.weekday();
        if matches!(wd, Weekday::Sat | Weekday::Sun) {
            return self.weekend(g, r);
        }
        if r.f64() < 0.03 {
            return; // sick, or a day off
        }
        if self.p.remote_on(wd) {
            self.remote_day(g, r);
        } else {
            self.office_day(g, r);
        }
    }

    fn arrival_minutes(&self, r: &mut fastrand::Rng) -> f64 {
        let usual = f64::from(self.p.usual_arrival.num_seconds_from_midnight()) / 60.0;
        usual - 20.0 + r.f64() * 45.0
    }

    fn work_minutes(&self, r: &mut fastrand::Rng) -> f64 {
        let friday = if self.date.weekday() == Weekday::Fri {
            30.0
        } else {
            0.0
        };
        450.0 + r.f64() * 105.0 - friday
    }

    fn office_day(&self, g: &mut Gen<'_>, r: &mut fastrand::Rng) {
        let p = self.p;
        let ent = g.ix.person_entrance[self.pi];
        let arrive_m = self.arrival_minutes(r);
        let leave_m = arrive_m + self.work_minutes(r);

        let t = self.to_desk(g, r, arrive_m, 30, 120);
        let logon = t + secs(r, 120, 480);
        if r.f64() < 0.04 {
            let t = logon - secs(r, 20, 60);
            self.at_desk(g, t, Activity::Logon, Outcome::Failure, "interactive");
        }
        self.at_desk(g, logon, Activity::Logon, Outcome::Success, "interactive");
        let logoff = self.local(g, leave_m) - secs(r, 60, 240);

        // Lunch outside the building splits the day into two spans inside.
        let mut inside: Vec<Span> = Vec::new();
        if r.f64() < 0.55 {
            let out_m = 675.0 + r.f64() * 90.0;
            let back_m = out_m + 25.0 + r.f64() * 30.0;
            g.pass(r, self.local(g, out_m), ent, Direction::Out, &p.badge);
            let t = self.to_desk(g, r, back_m, 40, 100);
            let t = t + secs(r, 60, 240);
            self.at_desk(g, t, Activity::Logon, Outcome::Success, "unlock");
            inside.push((arrive_m + 20.0, out_m - 10.0));
            inside.push((back_m + 10.0, leave_m - 20.0));
        } else {
            inside.push((arrive_m + 20.0, leave_m - 20.0));
        }

        // Now and then someone tries a door their badge does not open.
        if r.f64() < 0.02 {
            let site = g.ix.person_site[self.pi];
            let doors: Vec<usize> = (0..g.ix.doors.len())
                .filter(|&d| {
                    g.ix.doors[d].site == site
                        && !g.ix.person_doors[self.pi].contains(&d)
                        && g.ix.doors[d].zone_kind != ZoneKind::Lobby
                })
                .collect();
            if !doors.is_empty()
                && let Some(m) = pick_time(r, &inside, 1.0)
            {
                let d = doors[r.usize(0..doors.len())];
                let t = self.local(g, m);
                g.badge(
                    t,
                    d,
                    Activity::Denied,
                    Direction::In,
                    Some(&p.badge),
                    Some("no_access_to_door"),
                );
                g.camera(t + secs(r, 1, 3), d, 1, 0.7 + r.f32() * 0.25);
            }
        }

        self.role_work(g, r, &inside);

        let ssh = match p.department {
            Department::IT => r.usize(2..=6),
            d if d.uses_servers() => r.usize(0..=3),
            _ => 0,
        };
        self.leave_desk(g, r, ssh, logon, logoff, leave_m);

        // Some check in again from home in the evening.
        let evening = if p.department.uses_servers() {
            0.08
        } else {
            0.03
        };
        if r.f64() < evening {
            let start_m = 1200.0 + r.f64() * 150.0;
            let end_m = start_m + 15.0 + r.f64() * 60.0;
            let n = usize::from(p.department == Department::IT && r.bool());
            self.home_session(g, r, start_m, end_m, n, false);
        }
    }

    /// Badges in at the entrance at local minute `at_m`, walks `walk_from`–`walk_to` seconds
    /// and badges through the office door; returns when past it.
    fn to_desk(
        &self,
        g: &mut Gen<'_>,
        r: &mut fastrand::Rng,
        at_m: f64,
        walk_from: i64,
        walk_to: i64,
    ) -> Timestamp {
        let badge = &self.p.badge;
        let ent = g.ix.person_entrance[self.pi];
        let office = g.ix.person_office_door[self.pi];
        let t = g.pass(r, self.local(g, at_m), ent, Direction::In, badge);
        let t = t + secs(r, walk_from, walk_to);
        g.pass(r, t, office, Direction::In, badge)
    }

    /// A logon or logoff on the laptop at the office, from its own address.
    fn at_desk(
        &self,
        g: &mut Gen<'_>,
        t: Timestamp,
        activity: Activity,
        outcome: Outcome,
        logon_type: &str,
    ) {
        let p = self.p;
        g.workstation(t, p, activity, outcome, logon_type, Some(p.laptop_ip));
    }

    /// The end of a stretch at the office: `ssh` sessions from the laptop while it is logged
    /// on (five minutes clear of `logon` and `logoff`), the laptop logoff, and out through
    /// the entrance at local minute `leave_m`.
    fn leave_desk(
        &self,
        g: &mut Gen<'_>,
        r: &mut fastrand::Rng,
        ssh: usize,
        logon: Timestamp,
        logoff: Timestamp,
        leave_m: f64,
    ) {
        let p = self.p;
        if ssh > 0 {
            let (from, to) = (logon + Duration::minutes(5), logoff - Duration::minutes(5));
            self.ssh_sessions(g, r, ssh, from, to, p.laptop_ip);
        }
        self.at_desk(g, logoff, Activity::Logoff, Outcome::Success, "interactive");
        let ent = g.ix.person_entrance[self.pi];
        g.pass(r, self.local(g, leave_m), ent, Direction::Out, &p.badge);
    }

    /// Department-specific walking about: IT in the server room, Facilities at the loading
    /// dock, Security on rounds. All inside `inside`, and the server room only 07–19 local.
    fn role_work(&self, g: &mut Gen<'_>, r: &mut fastrand::Rng, inside: &[Span]) {
        let p = self.p;
        let site = g.ix.person_site[self.pi];
        match p.department {
            Department::IT => {
                let rooms = g.ix.site_doors(site, ZoneKind::ServerRoom);
                if rooms.is_empty() || r.f64() >= 0.3 {
                    return;
                }
                let dur = 10.0 + r.f64() * 35.0;
                // Clamp to 09:00–18:00 local, well inside the room's allowed hours.
                let window: Vec<Span> = inside
                    .iter()
                    .map(|&(a, b)| (a.max(540.0), b.min(1080.0)))
                    .collect();
                if let Some(m) = pick_time(r, &window, dur) {
                    let door = rooms[0];
                    g.pass(r, self.local(g, m), door, Direction::In, &p.badge);
                    g.pass(r, self.local(g, m + dur), door, Direction::Out, &p.badge);
                }
            }
            Department::Facilities => {
                let docks = g.ix.site_doors(site, ZoneKind::LoadingDock);
                if docks.is_empty() {
                    return;
                }
                for _ in 0..r.usize(1..=3) {
                    let dur = 5.0 + r.f64() * 20.0;
                    if let Some(m) = pick_time(r, inside, dur) {
                        let door = docks[0];
                        let t = g.pass(r, self.local(g, m), door, Direction::In, &p.badge);
                        if r.f64() < 0.15 {
                            // Propped open while a delivery is carried in.
                            g.badge(
                                t + secs(r, 45, 120),
                                door,
                                Activity::HeldOpen,
                                Direction::In,
                                None,
                                None,
                            );
                        }
                        g.pass(r, self.local(g, m + dur), door, Direction::Out, &p.badge);
                    }
                }
            }
            Department::Security => {
                let offices = g.ix.site_doors(site, ZoneKind::Office);
                for _ in 0..2 {
                    let dur = 3.0 * offices.len() as f64 + 2.0;
                    if let Some(m) = pick_time(r, inside, dur) {
                        let mut t = self.local(g, m);
                        for &d in &offices {
                            t = g.pass(r, t, d, Direction::In, &p.badge) + secs(r, 90, 180);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn remote_day(&self, g: &mut Gen<'_>, r: &mut fastrand::Rng) {
        let start_m = self.arrival_minutes(r);
        let end_m = start_m + self.work_minutes(r);
        let n = match self.p.department {
            Department::IT => r.usize(2..=5),
            Department::Engineering => r.usize(0..=3),
            _ => 0,
        };
        self.home_session(g, r, start_m, end_m, n, true);
    }

    fn weekend(&self, g: &mut Gen<'_>, r: &mut fastrand::Rng) {
        let p = self.p;
        let roll = r.f64();
        if roll < 0.03 {
            // A short visit to the office.
            let arrive_m = 600.0 + r.f64() * 240.0;
            let leave_m = arrive_m + 60.0 + r.f64() * 180.0;
            let t = self.to_desk(g, r, arrive_m, 30, 120);
            let logon = t + secs(r, 120, 400);
            self.at_desk(g, logon, Activity::Logon, Outcome::Success, "interactive");
            let logoff = self.local(g, leave_m) - secs(r, 60, 240);
            let ssh = usize::from(p.department == Department::IT);
            self.leave_desk(g, r, ssh, logon, logoff, leave_m);
        } else if roll < 0.09 {
            let start_m = 600.0 + r.f64() * 600.0;
            let end_m = start_m + 30.0 + r.f64() * 90.0;
            let n = usize::from(p.department == Department::IT);
            self.home_session(g, r, start_m, end_m, n, false);
        }
    }

    /// Working from home: laptop logon, VPN from the home connection, ssh through the tunnel.
    fn home_session(
        &self,
        g: &mut Gen<'_>,
        r: &mut fastrand::Rng,
        start_m: f64,
        end_m: f64,
        ssh: usize,
        may_drop: bool,
    ) {
        let p = self.p;
        let country = &g.org.sites[g.ix.person_site[self.pi]].country;
        let geo = home_geo(r, country);
        let lan = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10 + (p.uid % 200) as u8));
        let start = self.local(g, start_m);
        let end = self.local(g, end_m);
        g.workstation(
            start - secs(r, 60, 240),
            p,
            Activity::Logon,
            Outcome::Success,
            "interactive",
            Some(lan),
        );
        let port = r.u16(20_000..60_000);
        let mut session = VpnSession::new(r);
        if r.f64() < 0.03 {
            g.vpn(
                start - secs(r, 10, 40),
                p,
                Activity::Connect,
                Outcome::Failure,
                p.home_ip,
                port,
                geo.clone(),
                &session,
                None,
            );
        }
        g.vpn(
            start,
            p,
            Activity::Connect,
            Outcome::Success,
            p.home_ip,
            port,
            geo.clone(),
            &session,
            None,
        );
        let mut connected = start;
        if may_drop && r.f64() < 0.1 {
            // The home connection blips and the client reconnects with a new tunnel.
            let drop = start
                + Duration::seconds(
                    ((end - start).num_seconds() as f64 * (0.2 + r.f64() * 0.6)) as i64,
                );
            g.vpn(
                drop,
                p,
                Activity::Disconnect,
                Outcome::Success,
                p.home_ip,
                port,
                geo.clone(),
                &session,
                Some(connected),
            );
            session = VpnSession::new(r);
            connected = drop + secs(r, 60, 300);
            g.vpn(
                connected,
                p,
                Activity::Connect,
                Outcome::Success,
                p.home_ip,
                port + 1,
                geo.clone(),
                &session,
                None,
            );
        }
        if ssh > 0 {
            let assigned = session.assigned;
            self.ssh_sessions(
                g,
                r,
                ssh,
                connected + Duration::minutes(3),
                end - Duration::minutes(3),
                assigned,
            );
        }
        let port = if connected == start { port } else { port + 1 };
        g.vpn(
            end,
            p,
            Activity::Disconnect,
            Outcome::Success,
            p.home_ip,
            port,
            geo,
            &session,
            Some(connected),
        );
        g.workstation(
            end + secs(r, 30, 180),
            p,
            Activity::Logoff,
            Outcome::Success,
            "interactive",
            Some(lan),
        );
    }

    /// `n` ssh sessions between `from` and `to` on servers the person may use.
    fn ssh_sessions(
        &self,
        g: &mut Gen<'_>,
        r: &mut fastrand::Rng,
        n: usize,
        from: Timestamp,
        to: Timestamp,
        src: IpAddr,
    ) {
        let servers = &g.ix.person_servers[self.pi];
        let span = (to - from).num_seconds();
        if servers.is_empty() || span < 600 {
            return;
        }
        for _ in 0..n {
            let server = servers[r.usize(0..servers.len())];
            let start = from + Duration::seconds(r.i64(0..span - 300));
            let max = (to - start).num_seconds().max(120);
            let end = start + Duration::seconds(r.i64(120..=max.min(90 * 60)));
            let role = g.org.servers[server].role.clone();
            let sudo_n = match self.p.department {
                Department::IT => *[0usize, 1, 1, 2, 3].get(r.usize(0..5)).unwrap_or(&0),
                _ if matches!(role.as_str(), "app" | "build") && r.f64() < 0.2 => 1,
                _ => 0,
            };
            let len = (end - start).num_seconds().max(60);
            let mut sudo: Vec<(Timestamp, &str)> = (0..sudo_n)
                .map(|_| {
                    (
                        start + Duration::seconds(r.i64(20..len - 10)),
                        sudo_command(r, &role),
                    )
                })
                .collect();
            sudo.sort_by_key(|s| s.0);
            let failed = r.f64() < 0.05;
            g.ssh_session(r, server, self.p, start, end, src, &sudo, failed);
        }
    }
}

fn secs(r: &mut fastrand::Rng, from: i64, to: i64) -> Duration {
    Duration::milliseconds(r.i64(from * 1000..=to * 1000))
}

/// A start minute inside one of `spans` leaving room for `dur` minutes; spans weighted by the
/// room they leave.
fn pick_time(r: &mut fastrand::Rng, spans: &[Span], dur: f64) -> Option<f64> {
    let room: Vec<f64> = spans.iter().map(|&(a, b)| (b - a - dur).max(0.0)).collect();
    let total: f64 = room.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = r.f64() * total;
    for (i, &w) in room.iter().enumerate() {
        if x < w {
            return Some(spans[i].0 + x);
        }
        x -= w;
    }
    None
}

/// What servers do on their own: hourly cron, the nightly backup logins, and the internet's
/// background noise of password guessing against the public web servers.
fn infrastructure(g: &mut Gen<'_>, r: &mut fastrand::Rng, date: NaiveDate) {
    let org = g.org;
    let midnight = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"));
    for s in &org.servers {
        for h in 0..24 {
            let t = midnight
                + Duration::hours(h)
                + Duration::minutes(17)
                + Duration::seconds(r.i64(0..3));
            let pid = r.u32(1_000..65_000);
            g.syslog(
                t,
                s,
                AUTHPRIV_INFO,
                "CRON",
                Some(pid),
                "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
            );
            g.syslog(
                t + Duration::seconds(r.i64(0..2)),
                s,
                AUTHPRIV_INFO,
                "CRON",
                Some(pid),
                "pam_unix(cron:session): session closed for user root",
            );
        }
    }
    if let Some(backup) = org.servers.iter().find(|s| s.role == "backup") {
        let mut t = midnight + Duration::minutes(90) + Duration::seconds(r.i64(0..30));
        for s in org
            .servers
            .iter()
            .filter(|s| matches!(s.role.as_str(), "db" | "file"))
        {
            let pid = r.u32(1_000..65_000);
            let port = r.u16(32_768..61_000);
            let src = backup.ip;
            g.syslog(t, s, AUTH_INFO, "sshd", Some(pid), &format!("Accepted publickey for svc-backup from {src} port {port} ssh2: ED25519 SHA256:{}", crate::build::fingerprint("svc-backup")));
            g.syslog(
                t,
                s,
                AUTHPRIV_INFO,
                "sshd",
                Some(pid),
                "pam_unix(sshd:session): session opened for user svc-backup(uid=990) by (uid=0)",
            );
            let end = t + Duration::seconds(r.i64(240..1200));
            g.syslog(
                end,
                s,
                AUTH_INFO,
                "sshd",
                Some(pid),
                &format!("Received disconnect from {src} port {port}:11: disconnected by user"),
            );
            g.syslog(
                end,
                s,
                AUTHPRIV_INFO,
                "sshd",
                Some(pid),
                "pam_unix(sshd:session): session closed for user svc-backup",
            );
            t = end + Duration::seconds(r.i64(5..60));
        }
    }
    const SCANNERS: &[[u8; 3]] = &[
        [45, 148, 10],
        [193, 32, 162],
        [218, 92, 0],
        [80, 94, 95],
        [141, 98, 11],
    ];
    const GUESSES: &[&str] = &[
        "admin", "test", "oracle", "ubuntu", "git", "postgres", "user", "guest", "deploy",
    ];
    for s in org.servers.iter().filter(|s| s.role == "web") {
        for _ in 0..r.usize(8..=30) {
            let t = midnight + Duration::seconds(r.i64(0..86_400));
            let sc = SCANNERS[r.usize(0..SCANNERS.len())];
            let ip = IpAddr::V4(Ipv4Addr::new(sc[0], sc[1], sc[2], r.u8(1..=254)));
            let user = GUESSES[r.usize(0..GUESSES.len())];
            let pid = r.u32(1_000..65_000);
            let port = r.u16(1_024..65_000);
            g.syslog(
                t,
                s,
                AUTH_INFO,
                "sshd",
                Some(pid),
                &format!("Invalid user {user} from {ip} port {port}"),
            );
            let t = t + Duration::seconds(r.i64(1..3));
            g.syslog(
                t,
                s,
                AUTH_INFO,
                "sshd",
                Some(pid),
                &format!("Failed password for invalid user {user} from {ip} port {port} ssh2"),
            );
            g.syslog(
                t + Duration::seconds(1),
                s,
                AUTH_INFO,
                "sshd",
                Some(pid),
                &format!("Connection closed by invalid user {user} {ip} port {port} [preauth]"),
            );
        }
    }
}
