//! Building blocks that turn "Alice walked through the main entrance" into records.
//!
//! The baseline day and the scenarios both use these, so an injected event has exactly the
//! shape of an ordinary one: a detection can only find a scenario by what happened, never by
//! how the record looks.

use crate::org::{Direction, Org, Person, Server, SyslogFormat, ZoneKind, home_net};
use crate::record::Channel;
use crate::record::{
    BADGES, CAMERAS, IDP, NETWORK, Record, SENSORS, SourceSpec, SyslogLine, VPN, WORKSTATIONS,
    rfc3164, rfc5424,
};
use crate::util::{fnv, trunc_ms, trunc_s};
use chrono::Duration;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use tandem_model::{
    Activity, Class, DeviceKind, Endpoint, Event, GeoLocation, ObjectDetection, Outcome, Place,
    Severity, SourceRef, Timestamp,
};

/// Syslog priorities: facility auth (4) or authpriv (10), severity info (6) or notice (5).
pub(crate) const AUTH_INFO: u8 = 4 * 8 + 6;
pub(crate) const AUTHPRIV_INFO: u8 = 10 * 8 + 6;
pub(crate) const AUTHPRIV_NOTICE: u8 = 10 * 8 + 5;

/// A door, flattened for quick event building.
#[derive(Debug, Clone)]
pub(crate) struct DoorInfo {
    pub id: String,
    pub site: usize,
    pub building: String,
    pub zone_kind: ZoneKind,
    pub zone: String,
    pub place: Place,
    pub reader_in: String,
    pub reader_out: Option<String>,
    pub camera: Option<String>,
}

/// Lookups the generator needs many times a day, computed once per simulator.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub doors: Vec<DoorInfo>,
    pub door_by_id: HashMap<String, usize>,
    pub person_site: Vec<usize>,
    pub person_entrance: Vec<usize>,
    pub person_office_door: Vec<usize>,
    pub person_doors: Vec<Vec<usize>>,
    pub person_servers: Vec<Vec<usize>>,
    pub by_username: HashMap<String, usize>,
    pub by_badge: HashMap<String, usize>,
    /// Server-room sensors; contacts also by the door they are fitted to.
    pub sensors: Vec<crate::render::SensorInfo>,
    pub contact_by_door: HashMap<String, usize>,
}

impl Index {
    pub fn new(org: &Org) -> Index {
        let mut doors = Vec::new();
        let mut door_by_id = HashMap::new();
        for d in org.doors() {
            let site = org
                .sites
                .iter()
                .position(|s| s.id == d.site.id)
                .unwrap_or(0);
            door_by_id.insert(d.door.id.clone(), doors.len());
            doors.push(DoorInfo {
                id: d.door.id.clone(),
                site,
                building: d.building.id.clone(),
                zone_kind: d.zone.kind,
                zone: d.zone.id.clone(),
                place: d.place(),
                reader_in: d
                    .door
                    .reader(Direction::In)
                    .map(|r| r.id.clone())
                    .unwrap_or_default(),
                reader_out: d.door.reader(Direction::Out).map(|r| r.id.clone()),
                camera: d.door.camera.as_ref().map(|c| c.id.clone()),
            });
        }
        let mut ix = Index {
            doors,
            door_by_id,
            person_site: Vec::new(),
            person_entrance: Vec::new(),
            person_office_door: Vec::new(),
            person_doors: Vec::new(),
            person_servers: Vec::new(),
            by_username: HashMap::new(),
            by_badge: HashMap::new(),
            sensors: crate::render::sensors(org),
            contact_by_door: HashMap::new(),
        };
        for (i, s) in ix.sensors.iter().enumerate() {
            if let Some(d) = &s.door {
                ix.contact_by_door.insert(d.clone(), i);
            }
        }
        for (i, p) in org.people.iter().enumerate() {
            ix.by_username.insert(p.username.clone(), i);
            ix.by_badge.insert(p.badge.clone(), i);
        }
        for p in &org.people {
            let site = org.sites.iter().position(|s| s.id == p.site).unwrap_or(0);
            let office = ix
                .doors
                .iter()
                .position(|d| d.zone == p.office_zone)
                .unwrap_or(0);
            let building = ix.doors[office].building.clone();
            let entrance = ix
                .doors
                .iter()
                .position(|d| d.building == building && d.zone_kind == ZoneKind::Lobby)
                .unwrap_or(office);
            ix.person_site.push(site);
            ix.person_entrance.push(entrance);
            ix.person_office_door.push(office);
            ix.person_doors.push(
                p.doors
                    .iter()
                    .filter_map(|d| ix.door_by_id.get(d).copied())
                    .collect(),
            );
            ix.person_servers.push(
                p.servers
                    .iter()
                    .filter_map(|h| org.servers.iter().position(|s| &s.hostname == h))
                    .collect(),
            );
        }
        ix
    }

    /// Doors of one kind at a site.
    pub fn site_doors(&self, site: usize, kind: ZoneKind) -> Vec<usize> {
        (0..self.doors.len())
            .filter(|&i| self.doors[i].site == site && self.doors[i].zone_kind == kind)
            .collect()
    }
}

fn jitter_ms(r: &mut fastrand::Rng, from_ms: i64, to_ms: i64) -> Duration {
    Duration::milliseconds(r.i64(from_ms..=to_ms))
}

/// One thing that happened, before it is rendered for the wire: an event as Tandem would
/// normalise it (what the simulation *means*), or a syslog line already in its only form.
///
/// Keeping the meaning apart from the rendering lets one day be sent as Tandem JSON or as
/// each vendor's format, and lets the scenarios look at what happened without parsing
/// vendor payloads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Event(Box<Event>),
    Line(Record),
}

impl Item {
    pub fn time(&self) -> Timestamp {
        match self {
            Item::Event(e) => e.time,
            Item::Line(r) => r.time,
        }
    }
}

/// Accumulates the items of one day (or one scenario).
pub(crate) struct Gen<'a> {
    pub org: &'a Org,
    pub ix: &'a Index,
    pub out: Vec<Item>,
}

fn new_event(spec: &SourceSpec, class: Class, activity: Activity, t: Timestamp) -> Event {
    let mut e = Event::new(spec.name, class, activity, trunc_ms(t));
    e.source = SourceRef {
        name: spec.name.into(),
        vendor: Some(spec.vendor.into()),
        product: Some(spec.product.into()),
    };
    e
}

impl<'a> Gen<'a> {
    pub fn new(org: &'a Org, ix: &'a Index) -> Gen<'a> {
        Gen {
            org,
            ix,
            out: Vec::new(),
        }
    }

    fn push(&mut self, e: Event) {
        self.out.push(Item::Event(Box::new(e)));
    }

    /// One badge-system event at `door`.
    pub fn badge(
        &mut self,
        t: Timestamp,
        door: usize,
        activity: Activity,
        dir: Direction,
        badge: Option<&str>,
        reason: Option<&str>,
    ) {
        let d = &self.ix.doors[door];
        let mut e = new_event(&BADGES, Class::PhysicalAccess, activity, t);
        e.actor.badge = badge.map(str::to_owned);
        let mut place = d.place.clone();
        place.reader = match dir {
            Direction::In => Some(d.reader_in.clone()),
            Direction::Out => d.reader_out.clone().or_else(|| Some(d.reader_in.clone())),
        };
        e.place = Some(place);
        let phys = e.physical_mut();
        phys.direction = Some(dir.name().into());
        phys.reason = reason.map(str::to_owned);
        let who = badge.map(|b| format!("badge {b} ")).unwrap_or_default();
        (e.outcome, e.severity, e.message) = match activity {
            Activity::Granted => (
                Outcome::Success,
                Severity::Informational,
                format!("Access granted: {who}at {}", d.id),
            ),
            Activity::Taken => (
                Outcome::Success,
                Severity::Informational,
                format!("Door opened after grant: {}", d.id),
            ),
            Activity::Denied => (
                Outcome::Failure,
                Severity::Low,
                format!(
                    "Access denied: {who}at {} ({})",
                    d.id,
                    reason.unwrap_or("other")
                ),
            ),
            Activity::Forced => (
                Outcome::Unknown,
                Severity::High,
                format!("Door forced open: {}", d.id),
            ),
            Activity::HeldOpen => (
                Outcome::Unknown,
                Severity::Medium,
                format!("Door held open: {}", d.id),
            ),
            other => (
                Outcome::Unknown,
                Severity::Informational,
                format!("{other} at {}", d.id),
            ),
        };
        self.push(e);
        // A door with a contact sensor reports it open, then closed again.
        if matches!(
            activity,
            Activity::Taken | Activity::Forced | Activity::HeldOpen
        ) && let Some(&s) = self.ix.contact_by_door.get(&self.ix.doors[door].id)
        {
            let mut r = fastrand::Rng::with_seed(fnv(&format!("{door}|{}", t.timestamp_millis())));
            let sensor = &self.ix.sensors[s];
            let open = trunc_ms(t + jitter_ms(&mut r, 150, 600));
            self.sensor(open, sensor, "contact", false.into());
            let closed = open + jitter_ms(&mut r, 8_000, 40_000);
            self.sensor(closed, sensor, "contact", true.into());
        }
    }

    /// The camera watching `door` sees `count` people.
    pub fn camera(&mut self, t: Timestamp, door: usize, count: u32, score: f32) {
        let d = &self.ix.doors[door];
        let Some(cam) = d.camera.clone() else { return };
        let mut e = new_event(&CAMERAS, Class::VideoDetection, Activity::Detect, t);
        let mut place = d.place.clone();
        place.camera = Some(cam.clone());
        e.place = Some(place);
        e.outcome = Outcome::Success;
        e.message = if count == 1 {
            format!("person detected by {cam}")
        } else {
            format!("{count} persons detected by {cam}")
        };
        e.physical_mut().detection = Some(ObjectDetection {
            label: "person".into(),
            sub_label: None,
            score: (score * 100.0).round() / 100.0,
            count: Some(count),
            zones: vec![d.zone.clone()],
        });
        let dev = e.device_mut();
        dev.hostname = Some(cam);
        dev.kind = DeviceKind::Camera;
        self.push(e);
    }

    /// A person badges through a door: grant, door opened, camera sees them. Returns when
    /// they are through.
    pub fn pass(
        &mut self,
        r: &mut fastrand::Rng,
        t: Timestamp,
        door: usize,
        dir: Direction,
        badge: &str,
    ) -> Timestamp {
        let mut t = t;
        // Now and then the first tap does not open the door and the person taps again.
        if r.f64() < 0.03 {
            self.badge(t, door, Activity::Granted, dir, Some(badge), None);
            t += jitter_ms(r, 4_000, 9_000);
        }
        self.badge(t, door, Activity::Granted, dir, Some(badge), None);
        let opened = t + jitter_ms(r, 700, 2_500);
        self.badge(opened, door, Activity::Taken, dir, Some(badge), None);
        let seen = opened + jitter_ms(r, 300, 2_000);
        self.camera(seen, door, 1, 0.70 + r.f32() * 0.25);
        seen + jitter_ms(r, 1_000, 4_000)
    }

    /// A laptop logon or logoff.
    #[allow(clippy::too_many_arguments)]
    pub fn workstation(
        &mut self,
        t: Timestamp,
        p: &Person,
        activity: Activity,
        outcome: Outcome,
        logon_type: &str,
        ip: Option<IpAddr>,
    ) {
        let mut e = new_event(&WORKSTATIONS, Class::Authentication, activity, t);
        e.actor.user = Some(p.username.clone());
        e.actor.domain = Some("NORDLYS".into());
        e.outcome = outcome;
        let dev = e.device_mut();
        dev.hostname = Some(p.laptop.clone());
        dev.kind = DeviceKind::Laptop;
        dev.os = Some("Windows 11".into());
        dev.ip = ip;
        e.attrs.insert("logon_type".into(), logon_type.into());
        e.message = match (activity, outcome) {
            (Activity::Logoff, _) => format!("{} logged off {}", p.username, p.laptop),
            (_, Outcome::Failure) => {
                e.severity = Severity::Low;
                e.attrs.insert("reason".into(), "bad_password".into());
                format!(
                    "Logon failed for {} on {}: bad password",
                    p.username, p.laptop
                )
            }
            _ => format!("{} logged on to {}", p.username, p.laptop),
        };
        self.push(e);
    }

    /// A VPN gateway event for `p` coming from `src` at `geo`.
    #[allow(clippy::too_many_arguments)]
    pub fn vpn(
        &mut self,
        t: Timestamp,
        p: &Person,
        activity: Activity,
        outcome: Outcome,
        src: IpAddr,
        src_port: u16,
        geo: GeoLocation,
        session: &VpnSession,
        end_of: Option<Timestamp>,
    ) {
        let vpn = &self.org.vpn;
        let mut e = new_event(&VPN, Class::TunnelActivity, activity, t);
        e.actor.user = Some(p.username.clone());
        e.outcome = outcome;
        e.src = Some(Endpoint {
            ip: Some(src),
            port: Some(src_port),
            hostname: None,
            geo: Some(geo),
        });
        e.dst = Some(Endpoint {
            ip: Some(vpn.public_ip),
            port: Some(443),
            hostname: Some(vpn.hostname.clone()),
            geo: None,
        });
        let dev = e.device_mut();
        dev.hostname = Some(vpn.hostname.clone());
        dev.kind = DeviceKind::Network;
        e.message = match (activity, outcome) {
            (Activity::Connect, Outcome::Failure) => {
                e.severity = Severity::Low;
                e.attrs.insert("reason".into(), "bad_credentials".into());
                format!("VPN authentication failed for {} from {src}", p.username)
            }
            (Activity::Connect, _) => {
                e.attrs
                    .insert("assigned_ip".into(), session.assigned.to_string().into());
                e.attrs
                    .insert("session_id".into(), session.id.clone().into());
                format!("VPN session established for {} from {src}", p.username)
            }
            _ => {
                e.attrs
                    .insert("assigned_ip".into(), session.assigned.to_string().into());
                e.attrs
                    .insert("session_id".into(), session.id.clone().into());
                if let Some(start) = end_of {
                    e.attrs
                        .insert("duration_s".into(), (t - start).num_seconds().into());
                    e.attrs.insert("bytes_in".into(), session.bytes_in.into());
                    e.attrs.insert("bytes_out".into(), session.bytes_out.into());
                }
                format!("VPN session closed for {}", p.username)
            }
        };
        self.push(e);
    }

    /// One auth-log line from `server`, in the server's own syslog format.
    pub fn syslog(
        &mut self,
        t: Timestamp,
        server: &Server,
        pri: u8,
        app: &str,
        pid: Option<u32>,
        msg: &str,
    ) {
        let t = trunc_s(t);
        let line = SyslogLine {
            pri,
            host: &server.hostname,
            app,
            pid,
            msg,
        };
        let payload = match server.syslog_format {
            SyslogFormat::Rfc3164 => rfc3164(t, &line),
            SyslogFormat::Rfc5424 => rfc5424(t, &line),
        };
        self.out.push(Item::Line(Record {
            time: t,
            channel: Channel::Syslog {
                transport: server.transport,
            },
            payload,
        }));
    }

    /// A sign-in at the company's identity provider: the first of the day (`app` `None`)
    /// or single sign-on into an application.
    #[allow(clippy::too_many_arguments)]
    pub fn idp(
        &mut self,
        t: Timestamp,
        p: &Person,
        outcome: Outcome,
        app: Option<&str>,
        src: IpAddr,
        geo: GeoLocation,
    ) {
        let mut e = new_event(&IDP, Class::Authentication, Activity::Logon, t);
        e.actor.user = Some(p.username.clone());
        e.actor.email = Some(p.email.clone());
        e.outcome = outcome;
        e.src = Some(Endpoint {
            ip: Some(src),
            port: None,
            hostname: None,
            geo: Some(geo),
        });
        if let Some(app) = app {
            e.attrs.insert("app".into(), app.into());
        }
        let to = app.unwrap_or("the company portal");
        e.message = if outcome == Outcome::Failure {
            e.severity = Severity::Low;
            e.attrs.insert("reason".into(), "bad_password".into());
            format!("{} failed to sign in to {to}", p.username)
        } else {
            format!("{} signed in to {to}", p.username)
        };
        self.push(e);
    }

    /// One finished network connection as a sensor on the wire sees it.
    #[allow(clippy::too_many_arguments)]
    pub fn flow(
        &mut self,
        t: Timestamp,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        proto: &str,
        service: Option<&str>,
        duration_ms: i64,
        bytes: (u64, u64),
    ) {
        let mut e = new_event(&NETWORK, Class::NetworkActivity, Activity::Traffic, t);
        e.outcome = tandem_model::Outcome::Success;
        e.src = Some(Endpoint {
            ip: Some(src.0),
            port: Some(src.1),
            hostname: None,
            geo: None,
        });
        e.dst = Some(Endpoint {
            ip: Some(dst.0),
            port: Some(dst.1),
            hostname: None,
            geo: None,
        });
        e.attrs.insert("proto".into(), proto.into());
        if let Some(s) = service {
            e.attrs.insert("service".into(), s.into());
        }
        e.attrs.insert("duration_ms".into(), duration_ms.into());
        e.attrs.insert("orig_bytes".into(), bytes.0.into());
        e.attrs.insert("resp_bytes".into(), bytes.1.into());
        e.message = format!("{proto} {}:{} -> {}:{}", src.0, src.1, dst.0, dst.1);
        self.push(e);
    }

    /// A reading of an IoT sensor installed at `zone` (and `door`, for a door contact).
    pub fn sensor(
        &mut self,
        t: Timestamp,
        sensor: &crate::render::SensorInfo,
        metric: &str,
        value: serde_json::Value,
    ) {
        let mut e = new_event(&SENSORS, Class::DeviceTelemetry, Activity::Reading, t);
        e.outcome = tandem_model::Outcome::Success;
        let place = e.place_mut();
        place.site = Some(sensor.site.clone());
        place.zone = Some(sensor.zone.clone());
        place.door.clone_from(&sensor.door);
        let dev = e.device_mut();
        dev.hostname = Some(sensor.name.clone());
        dev.kind = DeviceKind::Iot;
        e.message = format!("{} {metric} = {value}", sensor.name);
        e.attrs.insert("metric".into(), metric.into());
        e.attrs.insert("value".into(), value);
        self.push(e);
    }

    /// An interactive ssh session by `p` on `server`, with an optional failed first try and
    /// `sudo` commands at the given times.
    #[allow(clippy::too_many_arguments)]
    pub fn ssh_session(
        &mut self,
        r: &mut fastrand::Rng,
        server: usize,
        p: &Person,
        start: Timestamp,
        end: Timestamp,
        src: IpAddr,
        sudo: &[(Timestamp, &str)],
        failed_first: bool,
    ) {
        let s = &self.org.servers[server];
        let u = &p.username;
        let pid = r.u32(1_000..65_000);
        let port = r.u16(32_768..61_000);
        let start = trunc_s(start);
        let accepted = if failed_first {
            let ft = start - Duration::seconds(r.i64(6..25));
            let pid0 = r.u32(1_000..65_000);
            let port0 = r.u16(32_768..61_000);
            self.syslog(
                ft,
                s,
                AUTH_INFO,
                "sshd",
                Some(pid0),
                &format!("Failed password for {u} from {src} port {port0} ssh2"),
            );
            format!("Accepted password for {u} from {src} port {port} ssh2")
        } else if r.f64() < 0.85 {
            format!(
                "Accepted publickey for {u} from {src} port {port} ssh2: ED25519 SHA256:{}",
                fingerprint(u)
            )
        } else {
            format!("Accepted password for {u} from {src} port {port} ssh2")
        };
        self.syslog(start, s, AUTH_INFO, "sshd", Some(pid), &accepted);
        self.syslog(
            start,
            s,
            AUTHPRIV_INFO,
            "sshd",
            Some(pid),
            &format!(
                "pam_unix(sshd:session): session opened for user {u}(uid={}) by (uid=0)",
                p.uid
            ),
        );
        let tty = r.u8(0..4);
        for &(t, cmd) in sudo {
            self.syslog(
                t,
                s,
                AUTHPRIV_NOTICE,
                "sudo",
                None,
                &format!("{u} : TTY=pts/{tty} ; PWD=/home/{u} ; USER=root ; COMMAND={cmd}"),
            );
            self.syslog(
                t,
                s,
                AUTHPRIV_INFO,
                "sudo",
                None,
                &format!(
                    "pam_unix(sudo:session): session opened for user root(uid=0) by {u}(uid={})",
                    p.uid
                ),
            );
            let closed = t + Duration::seconds(r.i64(1..40));
            self.syslog(
                closed.min(end),
                s,
                AUTHPRIV_INFO,
                "sudo",
                None,
                "pam_unix(sudo:session): session closed for user root",
            );
        }
        self.syslog(
            end,
            s,
            AUTH_INFO,
            "sshd",
            Some(pid),
            &format!("Received disconnect from {src} port {port}:11: disconnected by user"),
        );
        self.syslog(
            end,
            s,
            AUTH_INFO,
            "sshd",
            Some(pid),
            &format!("Disconnected from user {u} {src} port {port}"),
        );
        self.syslog(
            end,
            s,
            AUTHPRIV_INFO,
            "sshd",
            Some(pid),
            &format!("pam_unix(sshd:session): session closed for user {u}"),
        );
    }
}

/// A VPN tunnel's identity and counters.
pub(crate) struct VpnSession {
    pub id: String,
    pub assigned: IpAddr,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl VpnSession {
    pub fn new(r: &mut fastrand::Rng) -> VpnSession {
        VpnSession {
            id: format!("{:08x}", r.u32(..)),
            assigned: IpAddr::V4(Ipv4Addr::new(10, 99, r.u8(0..=63), r.u8(2..=254))),
            bytes_in: r.u64(200_000..400_000_000),
            bytes_out: r.u64(50_000..60_000_000),
        }
    }
}

/// Where a person's home connection appears to be: their site's city, a few km off.
pub(crate) fn home_geo(r: &mut fastrand::Rng, country: &str) -> GeoLocation {
    let net = home_net(country);
    GeoLocation {
        country: Some(net.country.into()),
        region: None,
        city: Some(net.city.into()),
        lat: Some(((net.lat + (r.f64() - 0.5) * 0.2) * 1e4).round() / 1e4),
        lon: Some(((net.lon + (r.f64() - 0.5) * 0.3) * 1e4).round() / 1e4),
    }
}

/// A stable ED25519 key fingerprint per user (43 base64 characters, like `ssh-keygen -l`).
pub(crate) fn fingerprint(user: &str) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut r = fastrand::Rng::with_seed(fnv(user));
    (0..43).map(|_| B64[r.usize(0..64)] as char).collect()
}

/// Something an admin plausibly runs with sudo on a server of `role`.
pub(crate) fn sudo_command(r: &mut fastrand::Rng, role: &str) -> &'static str {
    let role_cmds: &[&str] = match role {
        "db" => &[
            "/usr/bin/systemctl restart postgresql",
            "/usr/bin/journalctl -u postgresql --since today",
            "/usr/bin/systemctl status postgresql",
        ],
        "app" => &[
            "/usr/bin/systemctl restart app",
            "/usr/bin/journalctl -u app -n 200",
            "/usr/bin/docker ps",
        ],
        "web" => &[
            "/usr/sbin/nginx -t",
            "/usr/bin/systemctl reload nginx",
            "/usr/bin/tail -n 100 /var/log/nginx/error.log",
        ],
        "file" => &[
            "/usr/bin/smbstatus",
            "/usr/bin/systemctl restart smbd",
            "/usr/bin/df -h",
        ],
        "git" => &[
            "/usr/bin/systemctl restart gitea",
            "/usr/bin/du -sh /srv/git",
        ],
        "build" => &[
            "/usr/bin/docker system prune -f",
            "/usr/bin/systemctl restart buildkite-agent",
        ],
        "monitoring" => &[
            "/usr/bin/systemctl restart prometheus",
            "/usr/bin/systemctl status grafana-server",
        ],
        "backup" => &[
            "/usr/bin/restic snapshots",
            "/usr/bin/systemctl start backup.service",
        ],
        _ => &["/usr/bin/systemctl status"],
    };
    const COMMON: &[&str] = &[
        "/usr/bin/apt-get update",
        "/usr/bin/apt-get upgrade -y",
        "/usr/bin/systemctl status ssh",
        "/usr/bin/less /var/log/syslog",
    ];
    if r.f64() < 0.7 {
        role_cmds[r.usize(0..role_cmds.len())]
    } else {
        COMMON[r.usize(0..COMMON.len())]
    }
}
