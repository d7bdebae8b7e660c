//! Incidents injected on top of the baseline, with the ground truth to score detections.
//!
//! Injected records are built by the same code as ordinary ones and carry no label: the only
//! way to find a scenario is what happened. What *should* be found is written separately, as a
//! [`GroundTruth`] line in a sidecar file.

use crate::build::{Gen, Item};
use crate::org::{Department, Direction, EmploymentStatus, FAR_NETS, ZoneKind, residential_ip};
use crate::record::Record;
use crate::sim::Simulator;
use crate::util::{mix, rng, trunc_ms};
use chrono::{Datelike, Duration, NaiveTime};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;
use tandem_model::{Activity, GeoLocation, Outcome, Place, Timestamp};

/// The incidents the simulator can stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScenarioKind {
    /// A terminated employee's badge opens a door after their last day.
    TerminatedBadgeUsed,
    /// Someone badges in at HQ and, within two hours, their VPN account connects from another
    /// continent.
    VpnAbroadWhileOnSite,
    /// One grant, the door opens, and the camera counts two people.
    Tailgate,
    /// A door reports forced open, a person on camera, no grant in the minute before.
    ForcedDoor,
    /// The server room is entered at night and, minutes later, someone uses sudo on a server
    /// standing in it.
    AfterHoursServerRoomThenSudo,
}

impl ScenarioKind {
    pub const ALL: &'static [ScenarioKind] = &[
        ScenarioKind::TerminatedBadgeUsed,
        ScenarioKind::VpnAbroadWhileOnSite,
        ScenarioKind::Tailgate,
        ScenarioKind::ForcedDoor,
        ScenarioKind::AfterHoursServerRoomThenSudo,
    ];

    /// The name used on command lines, in ground truth and in the API.
    pub const fn name(self) -> &'static str {
        match self {
            ScenarioKind::TerminatedBadgeUsed => "terminated_badge",
            ScenarioKind::VpnAbroadWhileOnSite => "vpn_abroad_while_on_site",
            ScenarioKind::Tailgate => "tailgate",
            ScenarioKind::ForcedDoor => "forced_door",
            ScenarioKind::AfterHoursServerRoomThenSudo => "after_hours_server_room",
        }
    }
}

/// A scenario name that is not one of [`ScenarioKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scenario `{0}`; expected one of: terminated_badge, vpn_abroad_while_on_site, tailgate, forced_door, after_hours_server_room"
)]
pub struct UnknownScenario(pub String);

impl FromStr for ScenarioKind {
    type Err = UnknownScenario;
    fn from_str(s: &str) -> Result<Self, UnknownScenario> {
        ScenarioKind::ALL
            .iter()
            .copied()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

impl fmt::Display for ScenarioKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ScenarioKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ScenarioKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A person involved in a scenario, by every key a detection might report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthPerson {
    pub employee_number: String,
    pub name: String,
    pub username: String,
    pub badge: String,
}

/// One injected record: when, on which channel, and what it shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub time: Timestamp,
    /// HTTP source name or `syslog`.
    pub channel: String,
    pub description: String,
}

/// What was staged and what a detection should say about it; one JSON line per scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Unique within a simulator run: `tailgate-20261125T081500Z-3`.
    pub id: String,
    pub kind: ScenarioKind,
    /// The time the scenario was asked for.
    pub requested_at: Timestamp,
    /// First and last injected record.
    pub start: Timestamp,
    pub end: Timestamp,
    pub people: Vec<TruthPerson>,
    pub place: Place,
    /// The detection that should fire, in words.
    pub expected_detection: String,
    /// One per injected record, in the same order as the records.
    pub markers: Vec<Marker>,
}

/// Appends `gt` as one JSON line to `path`, creating the file if needed.
pub fn write_ground_truth(path: impl AsRef<Path>, gt: &GroundTruth) -> io::Result<()> {
    let mut line = serde_json::to_string(gt).map_err(io::Error::other)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())
}

fn iso(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The message part of a syslog line, for marker descriptions.
fn syslog_message(payload: &str) -> &str {
    if let Some(i) = payload.find(" - - ") {
        return &payload[i + 5..];
    }
    payload
        .get(16..)
        .and_then(|rest| rest.find(": ").map(|i| &rest[i + 2..]))
        .unwrap_or(payload)
}

struct Staging<'a> {
    g: Gen<'a>,
    /// One description per item of `g.out`; each record an item renders to gets it.
    labels: Vec<String>,
}

impl<'a> Staging<'a> {
    /// Adds items with `add` and labels each of them with `desc` (syslog lines get their
    /// message).
    fn labelled(&mut self, desc: &str, add: impl FnOnce(&mut Gen<'a>)) {
        let from = self.g.out.len();
        add(&mut self.g);
        for item in &self.g.out[from..] {
            let description = match item {
                Item::Line(rec) => format!("{desc}: {}", syslog_message(&rec.payload)),
                Item::Event(e) if e.source.name == crate::record::SENSORS.name => {
                    format!("{desc}: {}", e.message)
                }
                Item::Event(_) => desc.to_owned(),
            };
            self.labels.push(description);
        }
    }

    /// One badge-system event at `door`, labelled `desc`.
    fn badge(
        &mut self,
        t: Timestamp,
        door: usize,
        activity: Activity,
        dir: Direction,
        badge: Option<&str>,
        desc: &str,
    ) {
        self.labelled(desc, |g| g.badge(t, door, activity, dir, badge, None));
    }

    /// The camera at `door` sees `count` people, labelled `desc` (nothing if it has none).
    fn camera(&mut self, t: Timestamp, door: usize, count: u32, score: f32, desc: &str) {
        self.labelled(desc, |g| g.camera(t, door, count, score));
    }

    /// `badge` granted at `door` at `t`, then the door opened 0.7–2 s later; returns when it
    /// opened.
    #[allow(clippy::too_many_arguments)]
    fn pass(
        &mut self,
        r: &mut fastrand::Rng,
        t: Timestamp,
        door: usize,
        dir: Direction,
        badge: &str,
        granted: &str,
        opened: &str,
    ) -> Timestamp {
        self.badge(t, door, Activity::Granted, dir, Some(badge), granted);
        let at = t + ms(r, 700, 2000);
        self.badge(at, door, Activity::Taken, dir, Some(badge), opened);
        at
    }

    /// An ordinary entry: `badge` granted at `door` at `t`, the door opened, and 0.3–1.5 s
    /// later the camera there sees one person. `desc` labels the three records in turn.
    /// Returns when the door opened.
    fn enter(
        &mut self,
        r: &mut fastrand::Rng,
        t: Timestamp,
        door: usize,
        badge: &str,
        desc: [&str; 3],
    ) -> Timestamp {
        let opened = self.pass(r, t, door, Direction::In, badge, desc[0], desc[1]);
        let seen = opened + ms(r, 300, 1500);
        self.camera(seen, door, 1, person_score(r), desc[2]);
        opened
    }
}

/// A delay of `lo..=hi` milliseconds.
fn ms(r: &mut fastrand::Rng, lo: i64, hi: i64) -> Duration {
    Duration::milliseconds(r.i64(lo..=hi))
}

/// How sure the camera is of a clearly seen person.
fn person_score(r: &mut fastrand::Rng) -> f32 {
    0.8 + r.f32() * 0.15
}

impl Simulator {
    /// Stages `kind` at `at` and returns its records (sorted by time) and ground truth.
    ///
    /// The records are not added to [`Simulator::records_between`]; send them yourself (the
    /// live runner does). Most scenarios start at `at`. Two move a little to stay unambiguous:
    /// tailgate and forced door slide forward until no baseline grant at that door is near, and
    /// the after-hours scenario, when `at` falls inside the server room's allowed hours, happens
    /// at 02:10 local that same day (earlier than `at`). People are picked at Oslo HQ; the
    /// terminated badge belongs to someone terminated before `at`'s date (if nobody was, the
    /// badge of someone terminated later is used anyway).
    ///
    /// Deterministic for a given simulator seed and sequence of calls.
    pub fn inject(&mut self, kind: ScenarioKind, at: Timestamp) -> (Vec<Record>, GroundTruth) {
        self.scenarios += 1;
        let n = self.scenarios;
        let at = trunc_ms(at);
        let mut r = rng(
            self.seed,
            mix(
                mix(0x5ce7_a210, kind as u64),
                mix(at.timestamp_millis() as u64, n),
            ),
        );
        let date = at.date_naive();
        let hq = 0usize;
        let entrance = self.ix.site_doors(hq, ZoneKind::Lobby)[0];
        let dock = self.ix.site_doors(hq, ZoneKind::LoadingDock)[0];
        let server_room = self.ix.site_doors(hq, ZoneKind::ServerRoom)[0];

        // People whose badge is used at an entrance in the two hours after `at`: for them the
        // baseline might badge them out before the VPN connects, blurring "while on site".
        let mut entering: HashSet<String> = HashSet::new();
        if kind == ScenarioKind::VpnAbroadWhileOnSite {
            for e in self.facts_between(at - Duration::minutes(1), at + Duration::hours(2)) {
                let lobby = e
                    .place
                    .as_ref()
                    .and_then(|p| p.door.as_deref())
                    .and_then(|d| self.ix.door_by_id.get(d))
                    .is_some_and(|&d| self.ix.doors[d].zone_kind == ZoneKind::Lobby);
                if let (true, Some(b)) = (lobby, e.actor.badge) {
                    entering.insert(b);
                }
            }
        }

        // Slide past baseline badge activity at the door, so the scenario stays clean.
        let mut start = at;
        if matches!(kind, ScenarioKind::Tailgate | ScenarioKind::ForcedDoor) {
            let door = if kind == ScenarioKind::Tailgate {
                entrance
            } else {
                dock
            };
            let (before, after) = if kind == ScenarioKind::Tailgate {
                (15, 15)
            } else {
                (65, 15)
            };
            for _ in 0..500 {
                let busy = self
                    .facts_between(
                        start - Duration::seconds(before),
                        start + Duration::seconds(after),
                    )
                    .iter()
                    .any(|e| {
                        e.place.as_ref().and_then(|p| p.door.as_deref())
                            == Some(&self.ix.doors[door].id)
                    });
                if !busy {
                    break;
                }
                start += Duration::seconds(30);
            }
        }

        let org = &self.org;
        let ix = &self.ix;
        let site = &org.sites[hq];
        let on_site_today = |pi: usize| {
            let p = &org.people[pi];
            ix.person_site[pi] == hq && p.active_on(date) && !p.remote_on(date.weekday())
        };
        let pick = |r: &mut fastrand::Rng, pred: &dyn Fn(usize) -> bool| -> usize {
            let c: Vec<usize> = (0..org.people.len()).filter(|&i| pred(i)).collect();
            if c.is_empty() {
                0
            } else {
                c[r.usize(0..c.len())]
            }
        };

        let mut st = Staging {
            g: Gen::new(org, ix),
            labels: Vec::new(),
        };
        let (people, place, expected): (Vec<usize>, Place, String) = match kind {
            ScenarioKind::TerminatedBadgeUsed => {
                let mut gone: Vec<usize> = (0..org.people.len())
                    .filter(|&i| org.people[i].status == EmploymentStatus::Terminated)
                    .collect();
                let before: Vec<usize> = gone
                    .iter()
                    .copied()
                    .filter(|&i| org.people[i].terminated.is_some_and(|t| t < date))
                    .collect();
                if !before.is_empty() {
                    gone = before;
                }
                let pi = gone
                    .get(r.usize(0..gone.len().max(1)))
                    .copied()
                    .unwrap_or(0);
                let p = &org.people[pi];
                let door = ix.person_entrance[pi];
                let office = ix.person_office_door[pi];
                let t = start;
                let opened = st.enter(
                    &mut r,
                    t,
                    door,
                    &p.badge,
                    [
                        "badge of a terminated employee granted",
                        "door opened after the grant",
                        "camera sees one person at the door",
                    ],
                );
                let t2 = opened + ms(&mut r, 40_000, 90_000);
                st.pass(
                    &mut r,
                    t2,
                    office,
                    Direction::In,
                    &p.badge,
                    "same badge granted at the office floor door",
                    "office door opened",
                );
                let door_id = &ix.doors[door].id;
                let left = p
                    .terminated
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "?".into());
                (
                    vec![pi],
                    ix.doors[door].place.clone(),
                    format!(
                        "Badge {} belongs to {} ({}), terminated {left} and deactivated in HR, yet it was \
                         granted at {door_id} at {}: access with a terminated employee's credential",
                        p.badge,
                        p.name,
                        p.employee_number,
                        iso(t)
                    ),
                )
            }
            ScenarioKind::VpnAbroadWhileOnSite => {
                let pi = pick(&mut r, &|i| {
                    on_site_today(i) && !entering.contains(&org.people[i].badge)
                });
                let p = &org.people[pi];
                let door = ix.person_entrance[pi];
                let t = start;
                st.enter(
                    &mut r,
                    t,
                    door,
                    &p.badge,
                    [
                        "badge granted at the HQ entrance",
                        "door opened after the grant",
                        "camera sees one person at the entrance",
                    ],
                );
                let far = FAR_NETS[r.usize(0..FAR_NETS.len())];
                let ip = residential_ip(&mut r, &far);
                let geo = GeoLocation {
                    country: Some(far.country.into()),
                    region: None,
                    city: Some(far.city.into()),
                    lat: Some(far.lat),
                    lon: Some(far.lon),
                };
                let delay = Duration::seconds(r.i64(20 * 60..=110 * 60));
                let connect = t + delay;
                let session = crate::build::VpnSession::new(&mut r);
                let port = r.u16(20_000..60_000);
                let from_far = format!(
                    "VPN connect as the same user from {}, {}",
                    far.city, far.country
                );
                st.labelled(&from_far, |g| {
                    g.vpn(
                        connect,
                        p,
                        Activity::Connect,
                        Outcome::Success,
                        ip,
                        port,
                        geo.clone(),
                        &session,
                        None,
                    )
                });
                let end = connect + Duration::seconds(r.i64(600..2400));
                st.labelled("VPN disconnect", |g| {
                    g.vpn(
                        end,
                        p,
                        Activity::Disconnect,
                        Outcome::Success,
                        ip,
                        port,
                        geo,
                        &session,
                        Some(connect),
                    )
                });
                let dist = tandem_model::geo::distance_km((site.lat, site.lon), (far.lat, far.lon));
                (
                    vec![pi],
                    ix.doors[door].place.clone(),
                    format!(
                        "{} badged in at {} at {}, and {} min later VPN user {} connected from {ip} in {}, {} \
                         (about {:.0} km away): one person cannot be in both places",
                        p.name,
                        site.name,
                        iso(t),
                        delay.num_minutes(),
                        p.username,
                        far.city,
                        far.country,
                        dist
                    ),
                )
            }
            ScenarioKind::Tailgate => {
                let door = entrance;
                let pi = pick(&mut r, &|i| {
                    on_site_today(i) && ix.person_entrance[i] == door
                });
                let p = &org.people[pi];
                let t = start;
                let badge = Some(p.badge.as_str());
                st.badge(
                    t,
                    door,
                    Activity::Granted,
                    Direction::In,
                    badge,
                    "one badge granted",
                );
                let opened = t + ms(&mut r, 600, 1200);
                st.badge(
                    opened,
                    door,
                    Activity::Taken,
                    Direction::In,
                    badge,
                    "door opened once",
                );
                let seen = t + ms(&mut r, 1500, 2800);
                st.camera(
                    seen,
                    door,
                    2,
                    person_score(&mut r),
                    "camera counts two persons at the door",
                );
                let cam = ix.doors[door].camera.clone().unwrap_or_default();
                (
                    vec![pi],
                    ix.doors[door].place.clone(),
                    format!(
                        "Tailgate at {}: one grant for badge {} at {}, then {cam} counts 2 persons within 3 s \
                         and no second grant",
                        ix.doors[door].id,
                        p.badge,
                        iso(t)
                    ),
                )
            }
            ScenarioKind::ForcedDoor => {
                let door = dock;
                let t = start;
                st.badge(
                    t,
                    door,
                    Activity::Forced,
                    Direction::In,
                    None,
                    "door reports forced open",
                );
                st.camera(
                    t + ms(&mut r, 800, 3000),
                    door,
                    1,
                    0.75 + r.f32() * 0.2,
                    "camera sees a person at the forced door",
                );
                (
                    Vec::new(),
                    ix.doors[door].place.clone(),
                    format!(
                        "Door {} forced open at {} with a person on camera and no badge grant in the minute before",
                        ix.doors[door].id,
                        iso(t)
                    ),
                )
            }
            ScenarioKind::AfterHoursServerRoomThenSudo => {
                let zone = &ix.doors[server_room].zone;
                let hours = org
                    .doors()
                    .find(|d| d.door.id == ix.doors[server_room].id)
                    .and_then(|d| d.zone.allowed_hours);
                let local = site.local(start);
                let t = if hours.is_some_and(|h| h.contains(local)) {
                    let tm = NaiveTime::from_hms_opt(2, 10, r.u32(0..60)).unwrap_or(NaiveTime::MIN);
                    site.to_utc(local.date().and_time(tm))
                } else {
                    start
                };
                let pi = pick(&mut r, &|i| {
                    ix.person_site[i] == hq
                        && org.people[i].department == Department::IT
                        && org.people[i].active_on(date)
                });
                let p = &org.people[pi];
                let ent = ix.person_entrance[pi];
                let in_room: Vec<usize> = (0..org.servers.len())
                    .filter(|&k| org.servers[k].zone.as_deref() == Some(zone.as_str()))
                    .collect();
                let server = in_room
                    .iter()
                    .copied()
                    .find(|&k| org.servers[k].role == "db")
                    .or_else(|| in_room.first().copied())
                    .unwrap_or(0);
                let host = org.servers[server].hostname.clone();

                let e = t - Duration::seconds(r.i64(120..240));
                let night = "enters the building at night";
                st.pass(&mut r, e, ent, Direction::In, &p.badge, night, night);
                st.camera(
                    e + ms(&mut r, 2500, 4000),
                    ent,
                    1,
                    person_score(&mut r),
                    "camera sees one person at the entrance",
                );
                st.enter(
                    &mut r,
                    t,
                    server_room,
                    &p.badge,
                    [
                        "server-room door granted outside allowed hours 07-19",
                        "server-room door opened",
                        "camera sees one person entering the server room",
                    ],
                );
                let login = t + Duration::seconds(r.i64(180..360));
                let sudo_at = login + Duration::seconds(r.i64(40..150));
                let cmd = [
                    "/bin/bash",
                    "/usr/bin/pg_dumpall -f /tmp/all.sql",
                    "/usr/bin/tar czf /tmp/etc.tgz /etc",
                ][r.usize(0..3)];
                let end = sudo_at + Duration::seconds(r.i64(300..900));
                st.labelled(&format!("ssh on {host}"), |g| {
                    g.ssh_session(
                        &mut r,
                        server,
                        p,
                        login,
                        end,
                        p.laptop_ip,
                        &[(sudo_at, cmd)],
                        false,
                    )
                });
                let out = end + Duration::seconds(r.i64(60..300));
                let leaves = "leaves the server room";
                st.pass(
                    &mut r,
                    out,
                    server_room,
                    Direction::Out,
                    &p.badge,
                    leaves,
                    leaves,
                );
                let local_t = site.local(t).format("%H:%M");
                (
                    vec![pi],
                    ix.doors[server_room].place.clone(),
                    format!(
                        "{} badged into {zone} at {local_t} local ({}), outside its allowed hours 07-19, and \
                         within 10 minutes logged in to {host} (in that room) over ssh and ran sudo {cmd}",
                        p.username,
                        iso(t)
                    ),
                )
            }
        };

        let renderer = self.renderer();
        let mut pairs: Vec<(Record, Marker)> = Vec::new();
        for (item, desc) in st.g.out.iter().zip(&st.labels) {
            for rec in renderer.item(item) {
                let marker = Marker {
                    time: rec.time,
                    channel: rec.channel_name().to_owned(),
                    description: desc.clone(),
                };
                pairs.push((rec, marker));
            }
        }
        pairs.sort_by_key(|(rec, _)| rec.time);
        let (records, markers): (Vec<Record>, Vec<Marker>) = pairs.into_iter().unzip();
        let first = records.first().map(|r| r.time).unwrap_or(at);
        let last = records.last().map(|r| r.time).unwrap_or(at);
        let gt = GroundTruth {
            id: format!("{}-{}-{n}", kind.name(), at.format("%Y%m%dT%H%M%SZ")),
            kind,
            requested_at: at,
            start: first,
            end: last,
            people: people
                .iter()
                .map(|&i| {
                    let p = &self.org.people[i];
                    TruthPerson {
                        employee_number: p.employee_number.clone(),
                        name: p.name.clone(),
                        username: p.username.clone(),
                        badge: p.badge.clone(),
                    }
                })
                .collect(),
            place,
            expected_detection: expected,
            markers,
        };
        (records, gt)
    }
}
