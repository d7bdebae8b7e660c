//! The simulated company: sites, doors, cameras, servers and people.
//!
//! Everything here is generated from a seed, so a test, a demo and a bug report can all name
//! the same company by one number. The generator uses no clock: "the past" is relative to
//! [`Org::as_of`], a fixed date, so the same seed gives the same company next year too.

use crate::names::{FIRST_NAMES, LAST_NAMES, ascii_fold};
use crate::record::SyslogTransport;
use crate::util::{eu_summer_time, rng};
use chrono::{Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use tandem_model::{Place, Timestamp};

/// The date the generated company is described "as of": hires and terminations lie before it.
/// Fixed rather than read from the clock so that a seed always names the same company.
pub const DEFAULT_AS_OF: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Fewest people [`Org::generate`] makes: enough to staff every department at every site and
/// to have terminated and on-leave people for the scenarios.
pub const MIN_PEOPLE: usize = 30;

/// Head count used by demos when nobody asks for another.
pub const DEFAULT_PEOPLE: usize = 300;

/// The company's departments; names are what HR writes (`IT`, `Engineering`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Department {
    IT,
    Security,
    Facilities,
    HR,
    Legal,
    Comms,
    Finance,
    Sales,
    Engineering,
}

impl Department {
    pub const ALL: &'static [Department] = &[
        Department::IT,
        Department::Security,
        Department::Facilities,
        Department::HR,
        Department::Legal,
        Department::Comms,
        Department::Finance,
        Department::Sales,
        Department::Engineering,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Department::IT => "IT",
            Department::Security => "Security",
            Department::Facilities => "Facilities",
            Department::HR => "HR",
            Department::Legal => "Legal",
            Department::Comms => "Comms",
            Department::Finance => "Finance",
            Department::Sales => "Sales",
            Department::Engineering => "Engineering",
        }
    }

    /// Relative head count; the shape of a mid-sized tech company.
    fn weight(self) -> u32 {
        match self {
            Department::IT => 9,
            Department::Security => 7,
            Department::Facilities => 7,
            Department::HR => 6,
            Department::Legal => 4,
            Department::Comms => 5,
            Department::Finance => 8,
            Department::Sales => 16,
            Department::Engineering => 28,
        }
    }

    fn head_title(self) -> &'static str {
        match self {
            Department::IT => "Head of IT",
            Department::Security => "Chief Information Security Officer",
            Department::Facilities => "Facilities Manager",
            Department::HR => "HR Director",
            Department::Legal => "General Counsel",
            Department::Comms => "Head of Communications",
            Department::Finance => "Chief Financial Officer",
            Department::Sales => "VP Sales",
            Department::Engineering => "VP Engineering",
        }
    }

    fn titles(self) -> &'static [&'static str] {
        match self {
            Department::IT => &[
                "Systems Administrator",
                "Network Engineer",
                "IT Support Specialist",
                "Platform Engineer",
                "Database Administrator",
            ],
            Department::Security => &[
                "Security Analyst",
                "Security Engineer",
                "Security Officer",
                "Physical Security Coordinator",
            ],
            Department::Facilities => &[
                "Facilities Coordinator",
                "Maintenance Technician",
                "Receptionist",
                "Logistics Assistant",
            ],
            Department::HR => &["HR Advisor", "Recruiter", "Payroll Specialist"],
            Department::Legal => &["Legal Counsel", "Paralegal", "Compliance Officer"],
            Department::Comms => &[
                "Communications Advisor",
                "Content Writer",
                "Graphic Designer",
            ],
            Department::Finance => &["Accountant", "Financial Controller", "Financial Analyst"],
            Department::Sales => &[
                "Account Executive",
                "Sales Engineer",
                "Account Manager",
                "Sales Development Representative",
            ],
            Department::Engineering => &[
                "Software Engineer",
                "Senior Software Engineer",
                "Site Reliability Engineer",
                "QA Engineer",
                "Data Engineer",
            ],
        }
    }

    /// Whether people in this department log in to servers over ssh.
    pub fn uses_servers(self) -> bool {
        matches!(self, Department::IT | Department::Engineering)
    }

    /// Whether the work needs presence on site every day (no remote days).
    fn on_site_role(self) -> bool {
        matches!(self, Department::Facilities | Department::Security)
    }
}

impl fmt::Display for Department {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a person stands with HR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    Active,
    /// On leave for the whole simulation: no activity at all.
    OnLeave,
    /// Left on [`Person::terminated`]; active before that date.
    Terminated,
}

/// One employee, with every identifier a source might name them by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// HR key, `E01042`.
    pub employee_number: String,
    pub first_name: String,
    pub last_name: String,
    /// Display name, as HR spells it (may contain non-ASCII letters).
    pub name: String,
    pub department: Department,
    pub title: String,
    /// Employee number of the manager; `None` only for the CEO.
    pub manager: Option<String>,
    /// Home site id (`oslo-hq`).
    pub site: String,
    /// The office zone the person sits in.
    pub office_zone: String,
    /// Login name on laptops, servers and the VPN: `alice.smith`.
    pub username: String,
    pub email: String,
    /// Directory user principal name; differs from the e-mail on purpose, like many real
    /// directories, so identity resolution has aliases to join.
    pub upn: String,
    /// Badge (credential) number presented at readers.
    pub badge: String,
    /// False once HR has deactivated the badge (terminated people). The simulation can still
    /// present it in a scenario: the access-control system did not get the memo.
    pub badge_active: bool,
    /// Laptop hostname, `osl-lt-0042`.
    pub laptop: String,
    /// The laptop's address on the office network.
    pub laptop_ip: IpAddr,
    /// The residential address the person's VPN sessions come from.
    pub home_ip: IpAddr,
    /// Weekdays the person works from home.
    pub remote_days: Vec<Weekday>,
    /// Usual arrival time, local to the home site.
    pub usual_arrival: NaiveTime,
    /// Numeric uid on Linux servers.
    pub uid: u32,
    pub hired: NaiveDate,
    pub status: EmploymentStatus,
    pub terminated: Option<NaiveDate>,
    /// Doors the person's badge opens.
    pub doors: Vec<String>,
    /// Servers the person may ssh to.
    pub servers: Vec<String>,
}

impl Person {
    /// Whether the person works on `date`: hired, not yet terminated, not on leave.
    pub fn active_on(&self, date: NaiveDate) -> bool {
        self.status != EmploymentStatus::OnLeave
            && self.hired <= date
            && self.terminated.is_none_or(|t| date < t)
    }

    /// Whether `date` is one of the person's remote weekdays.
    pub fn remote_on(&self, weekday: Weekday) -> bool {
        self.remote_days.contains(&weekday)
    }
}

/// What a zone is for; decides who goes there and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    Lobby,
    Office,
    ServerRoom,
    LoadingDock,
}

/// Local hours during which entry to a restricted zone is expected: `from <= hour < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedHours {
    pub from_hour: u8,
    pub to_hour: u8,
}

impl AllowedHours {
    pub fn contains(&self, local: NaiveDateTime) -> bool {
        use chrono::Timelike;
        let h = local.hour() as u8;
        h >= self.from_hour && h < self.to_hour
    }
}

/// Which way a reader lets people through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reader {
    pub id: String,
    pub direction: Direction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    pub id: String,
    pub name: String,
    /// The camera's name in Frigate's configuration, when it is not [`Camera::id`]: Frigate
    /// names cameras itself (`entre_hus1`), and the directory maps that name to the camera.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frigate_name: Option<String>,
}

/// A door into a zone, with its badge readers and the camera watching it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Door {
    pub id: String,
    pub name: String,
    pub readers: Vec<Reader>,
    pub camera: Option<Camera>,
    /// The access-control system's own id for the door (a Verkada `door_id`, a Genetec door
    /// GUID), when the system names doors by it rather than by [`Door::id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
}

impl Door {
    pub fn reader(&self, dir: Direction) -> Option<&Reader> {
        self.readers.iter().find(|r| r.direction == dir)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub kind: ZoneKind,
    /// Restricted zones are where unexpected entry matters (server rooms).
    pub restricted: bool,
    pub allowed_hours: Option<AllowedHours>,
    pub doors: Vec<Door>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Floor {
    pub id: String,
    /// Storey number; negative below ground.
    pub level: i32,
    pub zones: Vec<Zone>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Building {
    pub id: String,
    pub name: String,
    pub floors: Vec<Floor>,
}

/// A site: where people badge in, with its position and clock.
///
/// Local time is computed by a hand-rolled rule instead of a time-zone database (to keep the
/// crate lean): the standard offset plus one hour during EU summer time. All three sites are in
/// Europe, where that rule is exact; [`Site::time_zone`] names the IANA zone it stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    /// IANA name, for display and for a later real time-zone lookup.
    pub time_zone: String,
    /// Standard (winter) offset from UTC in minutes.
    pub utc_offset_minutes: i32,
    /// Whether EU summer time applies.
    pub eu_summer_time: bool,
    /// Short code used in hostnames (`osl`).
    pub code: String,
    /// Office network, for laptop addresses.
    pub office_subnet: String,
    pub buildings: Vec<Building>,
    /// The product the site's doors report through.
    #[serde(default)]
    pub access_control: AccessControl,
    /// Where the site's people sign in.
    #[serde(default)]
    pub idp: IdentityProvider,
}

/// The access-control system of a site: how its badge events reach Tandem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessControl {
    /// Genetec Security Center, CEF over syslog TCP.
    #[default]
    Genetec,
    /// Verkada Access Control, signed webhooks.
    Verkada,
}

impl AccessControl {
    /// The system name the directory's `external_ids` use for it.
    pub fn system(self) -> &'static str {
        match self {
            AccessControl::Genetec => "genetec",
            AccessControl::Verkada => "verkada",
        }
    }
}

/// The identity provider a site's people sign in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityProvider {
    /// Okta, event hooks.
    #[default]
    Okta,
    /// Microsoft Entra ID sign-in logs.
    Entra,
}

impl Site {
    /// The offset from UTC in force at `at`.
    pub fn utc_offset(&self, at: Timestamp) -> FixedOffset {
        let mut minutes = self.utc_offset_minutes;
        if self.eu_summer_time && eu_summer_time(at) {
            minutes += 60;
        }
        FixedOffset::east_opt(minutes * 60).unwrap_or(FixedOffset::east_opt(0).expect("zero"))
    }

    /// Wall-clock time at the site at `at`.
    pub fn local(&self, at: Timestamp) -> NaiveDateTime {
        at.with_timezone(&self.utc_offset(at)).naive_local()
    }

    /// The UTC instant of a local wall-clock time. In the skipped or repeated hour of a
    /// summer-time change the standard-time reading wins; nothing is scheduled then anyway.
    pub fn to_utc(&self, local: NaiveDateTime) -> Timestamp {
        let std =
            Utc.from_utc_datetime(&(local - Duration::minutes(self.utc_offset_minutes.into())));
        if self.eu_summer_time && eu_summer_time(std - Duration::hours(1)) {
            std - Duration::hours(1)
        } else {
            std
        }
    }

    pub fn geo(&self) -> tandem_model::GeoLocation {
        tandem_model::GeoLocation {
            country: Some(self.country.clone()),
            region: None,
            city: Some(self.city.clone()),
            lat: Some(self.lat),
            lon: Some(self.lon),
        }
    }
}

/// How a server formats the syslog lines it forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogFormat {
    /// `<38>Nov 25 08:01:02 host sshd[1]: …`, rsyslog's default forwarding template.
    Rfc3164,
    /// `<38>1 2026-11-25T08:01:02.000Z host sshd 1 - - …`.
    Rfc5424,
}

/// A Linux server that forwards its auth log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub hostname: String,
    pub ip: IpAddr,
    /// `db`, `app`, `web`, `file`, `git`, `build`, `monitoring`, `backup`.
    pub role: String,
    /// Site and zone where it stands; `None` for cloud-hosted servers.
    pub site: Option<String>,
    pub zone: Option<String>,
    pub syslog_format: SyslogFormat,
    pub transport: SyslogTransport,
}

/// The VPN gateway remote workers connect to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpnConcentrator {
    pub hostname: String,
    pub public_ip: IpAddr,
    pub site: String,
    /// Tunnel addresses are handed out from `10.99.0.0/16`.
    pub pool: String,
}

/// A location on the residential internet: where a VPN session says it comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NetLocation {
    pub country: &'static str,
    pub city: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// First two octets of address blocks used there.
    pub prefixes: &'static [[u8; 2]],
}

/// Residential ranges in the sites' countries (plausible consumer ISP blocks).
pub(crate) const HOME_NETS: &[NetLocation] = &[
    NetLocation {
        country: "NO",
        city: "Oslo",
        lat: 59.91,
        lon: 10.75,
        prefixes: &[[84, 208], [84, 212], [88, 88], [88, 91], [46, 9]],
    },
    NetLocation {
        country: "GB",
        city: "London",
        lat: 51.51,
        lon: -0.13,
        prefixes: &[[86, 128], [86, 160], [81, 96], [92, 8]],
    },
    NetLocation {
        country: "SE",
        city: "Stockholm",
        lat: 59.33,
        lon: 18.07,
        prefixes: &[[83, 248], [90, 224], [78, 66]],
    },
];

/// Places on other continents, for the "VPN from abroad" scenario.
pub(crate) const FAR_NETS: &[NetLocation] = &[
    NetLocation {
        country: "US",
        city: "New York",
        lat: 40.71,
        lon: -74.01,
        prefixes: &[[73, 12], [98, 116]],
    },
    NetLocation {
        country: "BR",
        city: "São Paulo",
        lat: -23.55,
        lon: -46.63,
        prefixes: &[[177, 32], [189, 100]],
    },
    NetLocation {
        country: "SG",
        city: "Singapore",
        lat: 1.35,
        lon: 103.82,
        prefixes: &[[118, 200], [116, 14]],
    },
    NetLocation {
        country: "NG",
        city: "Lagos",
        lat: 6.52,
        lon: 3.38,
        prefixes: &[[105, 112], [102, 89]],
    },
    NetLocation {
        country: "VN",
        city: "Hanoi",
        lat: 21.03,
        lon: 105.85,
        prefixes: &[[113, 160], [14, 232]],
    },
    NetLocation {
        country: "AU",
        city: "Sydney",
        lat: -33.87,
        lon: 151.21,
        prefixes: &[[101, 160], [124, 168]],
    },
];

/// The whole simulated company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub name: String,
    /// Mail domain; under `.example` so no address can ever reach anyone.
    pub domain: String,
    pub seed: u64,
    pub as_of: NaiveDate,
    pub sites: Vec<Site>,
    pub people: Vec<Person>,
    pub servers: Vec<Server>,
    pub vpn: VpnConcentrator,
}

/// A door with everything above it in the hierarchy, for building events.
#[derive(Debug, Clone, Copy)]
pub struct DoorRef<'a> {
    pub site: &'a Site,
    pub building: &'a Building,
    pub floor: &'a Floor,
    pub zone: &'a Zone,
    pub door: &'a Door,
}

impl DoorRef<'_> {
    /// The `place` of an event at this door; `reader` and `camera` are set by the caller.
    pub fn place(&self) -> Place {
        Place {
            site: Some(self.site.id.clone()),
            building: Some(self.building.id.clone()),
            floor: Some(self.floor.id.clone()),
            zone: Some(self.zone.id.clone()),
            door: Some(self.door.id.clone()),
            ..Place::default()
        }
    }
}

/// How door, zone and camera ids and names are made for a site's buildings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// `oslo-hq-a-main-entrance`, "Main entrance": the default company's.
    English,
    /// Numbered ids (`gbg-hus1-d02`) and Swedish names ("Huvudentré"), so nothing a vendor
    /// or a detection sees can lean on how the default company spells its places.
    Numbered,
}

#[derive(Debug, Clone)]
struct SiteSpec {
    id: &'static str,
    name: &'static str,
    city: &'static str,
    country: &'static str,
    lat: f64,
    lon: f64,
    tz: &'static str,
    offset: i32,
    code: &'static str,
    net: u8,
    /// Buildings: (suffix, name, office floor levels, has lobby-level services).
    buildings: &'static [(&'static str, &'static str, &'static [i32], bool)],
    share: u32,
    access_control: AccessControl,
    idp: IdentityProvider,
    naming: Naming,
}

/// The shape of the simulated company: its sites with their buildings and doors, the servers
/// standing in them, and how each site's products name things.
///
/// [`OrgLayout::default`] is Nordlys AS as demos and tests know it (Oslo, London, Stockholm);
/// [`Org::generate`] uses it and its output does not depend on any other layout existing.
/// [`OrgLayout::two_sites`] is a different company shape for held-out tests: detections tuned
/// on the default company must work on it without change.
#[derive(Debug, Clone)]
pub struct OrgLayout {
    sites: Vec<SiteSpec>,
    /// Servers: (hostname, role, index of the site whose first server room holds it, or
    /// `None` for cloud, RFC 5424?, TCP?).
    servers: Vec<(String, &'static str, Option<usize>, bool, bool)>,
    vendor_ids: bool,
}

impl Default for OrgLayout {
    fn default() -> Self {
        OrgLayout::nordlys()
    }
}

impl OrgLayout {
    /// The default company: Oslo HQ (two buildings), London (Verkada doors, Entra ID) and
    /// Stockholm; products name doors by the directory's own ids.
    pub fn nordlys() -> OrgLayout {
        let base = SiteSpec {
            id: "oslo-hq",
            name: "Oslo HQ",
            city: "Oslo",
            country: "NO",
            lat: 59.91,
            lon: 10.75,
            tz: "Europe/Oslo",
            offset: 60,
            code: "osl",
            net: 20,
            buildings: &[
                ("a", "Oslo HQ A", &[2, 3, 4], true),
                ("b", "Oslo HQ B", &[2, 3], false),
            ],
            share: 60,
            access_control: AccessControl::Genetec,
            idp: IdentityProvider::Okta,
            naming: Naming::English,
        };
        let sites = vec![
            base.clone(),
            SiteSpec {
                id: "london",
                name: "London office",
                city: "London",
                country: "GB",
                lat: 51.51,
                lon: -0.13,
                tz: "Europe/London",
                offset: 0,
                code: "lon",
                net: 30,
                buildings: &[("main", "London office", &[2, 3], true)],
                share: 25,
                access_control: AccessControl::Verkada,
                idp: IdentityProvider::Entra,
                ..base.clone()
            },
            SiteSpec {
                id: "stockholm",
                name: "Stockholm office",
                city: "Stockholm",
                country: "SE",
                lat: 59.33,
                lon: 18.07,
                tz: "Europe/Stockholm",
                offset: 60,
                code: "sto",
                net: 40,
                buildings: &[("main", "Stockholm office", &[2], true)],
                share: 15,
                ..base
            },
        ];
        // (hostname, role, site, RFC 5424?, TCP?)
        const LIST: &[(&str, &str, Option<usize>, bool, bool)] = &[
            ("srv-db-01", "db", Some(0), false, true),
            ("srv-db-02", "db", Some(0), false, true),
            ("srv-app-01", "app", Some(0), false, true),
            ("srv-app-02", "app", Some(0), true, true),
            ("srv-file-01", "file", Some(0), false, false),
            ("srv-git-01", "git", Some(0), false, true),
            ("srv-build-01", "build", Some(0), true, false),
            ("srv-mon-01", "monitoring", Some(0), true, true),
            ("srv-backup-01", "backup", Some(0), false, false),
            ("srv-web-01", "web", None, true, true),
            ("srv-web-02", "web", None, true, false),
            ("srv-lon-app-01", "app", Some(1), true, false),
            ("srv-lon-file-01", "file", Some(1), false, false),
            ("srv-sto-file-01", "file", Some(2), false, false),
        ];
        OrgLayout {
            sites,
            servers: LIST
                .iter()
                .map(|&(h, role, site, rfc5424, tcp)| (h.to_owned(), role, site, rfc5424, tcp))
                .collect(),
            vendor_ids: false,
        }
    }

    /// A company shaped nothing like the default: two sites 243 km apart (Gothenburg HQ with
    /// two buildings on Genetec doors, Malmö on Verkada), numbered door ids with Swedish
    /// names, its own servers, and every product naming places by its own ids: Verkada
    /// deliveries carry only a `door_id` (no `door_info`), Genetec CEF names a door by its
    /// GUID and display name, Frigate cameras have their own names and zones. The directory
    /// maps those ids through `external_ids`, as a real installation's places file would.
    pub fn two_sites() -> OrgLayout {
        let hq = SiteSpec {
            id: "gbg",
            name: "Göteborg HK",
            city: "Gothenburg",
            country: "SE",
            lat: 57.71,
            lon: 11.97,
            tz: "Europe/Stockholm",
            offset: 60,
            code: "gbg",
            net: 60,
            buildings: &[
                ("hus1", "Hus 1", &[2, 3], true),
                ("hus2", "Hus 2", &[2, 3, 4], false),
            ],
            share: 65,
            access_control: AccessControl::Genetec,
            idp: IdentityProvider::Okta,
            naming: Naming::Numbered,
        };
        let sites = vec![
            hq.clone(),
            SiteSpec {
                id: "mmo",
                name: "Malmö kontor",
                city: "Malmö",
                lat: 55.60,
                lon: 13.00,
                code: "mmo",
                net: 70,
                buildings: &[("hus1", "Malmö kontor", &[2, 3], true)],
                share: 35,
                access_control: AccessControl::Verkada,
                idp: IdentityProvider::Entra,
                ..hq
            },
        ];
        let mut servers = Vec::new();
        for (i, role) in [
            "db",
            "db",
            "app",
            "app",
            "git",
            "build",
            "monitoring",
            "backup",
        ]
        .into_iter()
        .enumerate()
        {
            servers.push((
                format!("gbg-{role}-{:02}", i + 1),
                role,
                Some(0),
                i % 3 == 1,
                i % 2 == 0,
            ));
        }
        servers.push(("mmo-app-01".into(), "app", Some(1), true, false));
        servers.push(("mmo-file-01".into(), "file", Some(1), false, true));
        servers.push(("cloud-web-01".into(), "web", None, true, true));
        OrgLayout {
            sites,
            servers,
            vendor_ids: true,
        }
    }
}

fn door(id: String, name: String, readers: [String; 2], out_reader: bool, camera: String) -> Door {
    let [reader_in, reader_out] = readers;
    let mut readers = vec![Reader {
        id: reader_in,
        direction: Direction::In,
    }];
    if out_reader {
        readers.push(Reader {
            id: reader_out,
            direction: Direction::Out,
        });
    }
    Door {
        id,
        name,
        readers,
        camera: Some(Camera {
            name: format!("Camera {camera}"),
            id: camera,
            frigate_name: None,
        }),
        vendor_id: None,
    }
}

/// What a zone of a building is: (kind, zone name, door name), in the site's language.
fn zone_names(naming: Naming, kind: ZoneKind, building: &str, level: i32) -> (String, String) {
    match (naming, kind) {
        (Naming::English, ZoneKind::ServerRoom) => {
            (format!("{building} server room"), "Server room door".into())
        }
        (Naming::English, ZoneKind::Lobby) => (format!("{building} lobby"), "Main entrance".into()),
        (Naming::English, ZoneKind::LoadingDock) => (
            format!("{building} loading dock"),
            "Loading dock door".into(),
        ),
        (Naming::English, ZoneKind::Office) => (
            format!("{building} floor {level} offices"),
            format!("Floor {level} office door"),
        ),
        (Naming::Numbered, ZoneKind::ServerRoom) => {
            (format!("Serverrum {building}"), "Serverrumsdörr".into())
        }
        (Naming::Numbered, ZoneKind::Lobby) => {
            (format!("Entréhall {building}"), "Huvudentré".into())
        }
        (Naming::Numbered, ZoneKind::LoadingDock) => {
            (format!("Lastkaj {building}"), "Lastkajsport".into())
        }
        (Naming::Numbered, ZoneKind::Office) => (
            format!("Kontor plan {level}, {building}"),
            format!("Kontorsdörr plan {level}"),
        ),
    }
}

fn build_site(spec: &SiteSpec, vendor_ids: bool) -> Site {
    let mut buildings = Vec::new();
    for &(suffix, bname, offices, services) in spec.buildings {
        let b = format!("{}-{}", spec.id, suffix);
        let mut floors = Vec::new();
        let mut n = 0;
        // (zone id, door id, reader ids, camera id) for a zone of `kind` (`slug` names it
        // in English ids).
        let mut ids = |slug: &str, cam: &str| -> (String, String, [String; 2], String) {
            n += 1;
            match spec.naming {
                Naming::English => {
                    let zone = format!("{b}-{slug}");
                    let door = match slug {
                        "lobby" => format!("{b}-main-entrance"),
                        "loading-dock" => format!("{b}-dock-door"),
                        _ => format!("{zone}-door"),
                    };
                    let readers = [format!("{door}-in"), format!("{door}-out")];
                    (zone, door, readers, format!("{b}-cam-{cam}"))
                }
                Naming::Numbered => {
                    let door = format!("{b}-d{n:02}");
                    let readers = [format!("{door}-l1"), format!("{door}-l2")];
                    (format!("{b}-z{n}"), door, readers, format!("{b}-k{n:02}"))
                }
            }
        };
        let floor_id = |level: i32| match spec.naming {
            Naming::English if level < 0 => format!("{b}-b{}", -level),
            Naming::English => format!("{b}-{level}"),
            Naming::Numbered => format!("{b}-plan{level}"),
        };
        let zone = |kind: ZoneKind, level: i32, ids: (String, String, [String; 2], String)| {
            let (zone_name, door_name) = zone_names(spec.naming, kind, bname, level);
            let (zone_id, door_id, readers, camera) = ids;
            Zone {
                id: zone_id,
                name: zone_name,
                kind,
                restricted: kind == ZoneKind::ServerRoom,
                allowed_hours: (kind == ZoneKind::ServerRoom).then_some(AllowedHours {
                    from_hour: 7,
                    to_hour: 19,
                }),
                doors: vec![door(
                    door_id,
                    door_name,
                    readers,
                    kind != ZoneKind::Office,
                    camera,
                )],
            }
        };
        if services {
            floors.push(Floor {
                id: floor_id(-1),
                level: -1,
                zones: vec![zone(
                    ZoneKind::ServerRoom,
                    -1,
                    ids("server-room", "server-room"),
                )],
            });
        }
        let mut ground = vec![zone(ZoneKind::Lobby, 1, ids("lobby", "entrance"))];
        if services {
            ground.push(zone(ZoneKind::LoadingDock, 1, ids("loading-dock", "dock")));
        }
        floors.push(Floor {
            id: floor_id(1),
            level: 1,
            zones: ground,
        });
        for &level in offices {
            let slug = format!("office-{level}");
            floors.push(Floor {
                id: floor_id(level),
                level,
                zones: vec![zone(ZoneKind::Office, level, ids(&slug, &slug))],
            });
        }
        buildings.push(Building {
            id: b,
            name: bname.into(),
            floors,
        });
    }
    if vendor_ids {
        for building in &mut buildings {
            for z in building.floors.iter_mut().flat_map(|f| f.zones.iter_mut()) {
                for d in &mut z.doors {
                    d.vendor_id = Some(vendor_door_id(spec.access_control, &d.id));
                    let suffix = building.id.rsplit('-').next().unwrap_or_default();
                    if let Some(c) = &mut d.camera {
                        c.frigate_name = Some(format!(
                            "{}_{suffix}_{}",
                            spec.code,
                            crate::names::ascii_fold(&d.name)
                                .to_lowercase()
                                .replace(' ', "_")
                        ));
                    }
                }
            }
        }
    }
    Site {
        id: spec.id.into(),
        name: spec.name.into(),
        city: spec.city.into(),
        country: spec.country.into(),
        lat: spec.lat,
        lon: spec.lon,
        time_zone: spec.tz.into(),
        utc_offset_minutes: spec.offset,
        eu_summer_time: true,
        code: spec.code.into(),
        office_subnet: format!("10.{}.0.0/16", spec.net),
        buildings,
        access_control: spec.access_control,
        idp: spec.idp,
    }
}

/// A door's id in its access-control system: a Verkada door UUID, or a Genetec GUID in the
/// upper case Security Center writes. Derived from the door only so that it is stable, and
/// looking nothing like the directory's id.
fn vendor_door_id(system: AccessControl, door: &str) -> String {
    let id = crate::render::uuid(&format!("{}-door-{door}", system.system()));
    match system {
        AccessControl::Verkada => id,
        AccessControl::Genetec => id.to_uppercase(),
    }
}

fn servers(layout: &OrgLayout, sites: &[Site]) -> Vec<Server> {
    layout
        .servers
        .iter()
        .enumerate()
        .map(|(i, &(ref host, role, site, rfc5424, tcp))| {
            let site = site.and_then(|s| sites.get(s));
            // The first server room of the site.
            let zone = site.and_then(|s| {
                s.buildings
                    .iter()
                    .flat_map(|b| &b.floors)
                    .flat_map(|f| &f.zones)
                    .find(|z| z.kind == ZoneKind::ServerRoom)
                    .map(|z| z.id.clone())
            });
            let net = match site {
                Some(s) => [
                    10,
                    10 + sites.iter().position(|x| x.id == s.id).unwrap_or(0) as u8,
                ],
                None => [10, 50],
            };
            Server {
                hostname: host.clone(),
                ip: IpAddr::V4(Ipv4Addr::new(net[0], net[1], 0, 11 + i as u8)),
                role: role.into(),
                site: site.map(|s| s.id.clone()),
                zone,
                syslog_format: if rfc5424 {
                    SyslogFormat::Rfc5424
                } else {
                    SyslogFormat::Rfc3164
                },
                transport: if tcp {
                    SyslogTransport::Tcp
                } else {
                    SyslogTransport::Udp
                },
            }
        })
        .collect()
}

fn weighted<T: Copy>(rng: &mut fastrand::Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.u32(0..total);
    for &(item, w) in items {
        if pick < w {
            return item;
        }
        pick -= w;
    }
    items[items.len() - 1].0
}

pub(crate) fn residential_ip(rng: &mut fastrand::Rng, net: &NetLocation) -> IpAddr {
    let p = net.prefixes[rng.usize(0..net.prefixes.len())];
    IpAddr::V4(Ipv4Addr::new(
        p[0],
        p[1].saturating_add(rng.u8(0..4)),
        rng.u8(0..=255),
        rng.u8(1..=254),
    ))
}

pub(crate) fn home_net(country: &str) -> &'static NetLocation {
    HOME_NETS
        .iter()
        .find(|n| n.country == country)
        .unwrap_or(&HOME_NETS[0])
}

impl Org {
    /// A company of `people` employees (at least [`MIN_PEOPLE`]) described as of
    /// [`DEFAULT_AS_OF`]. The same seed always gives the same company.
    pub fn generate(seed: u64, people: usize) -> Org {
        Org::generate_as_of(seed, people, DEFAULT_AS_OF)
    }

    /// Like [`Org::generate`], with hires and terminations placed before `as_of`.
    pub fn generate_as_of(seed: u64, people: usize, as_of: NaiveDate) -> Org {
        Org::generate_with(seed, people, as_of, &OrgLayout::default())
    }

    /// A company of `people` employees laid out as `layout` says (see [`OrgLayout`]).
    pub fn generate_with(seed: u64, people: usize, as_of: NaiveDate, layout: &OrgLayout) -> Org {
        let n = people.max(MIN_PEOPLE);
        let mut r = rng(seed, 0x0_0f6);
        let specs = &layout.sites;
        let sites: Vec<Site> = specs
            .iter()
            .map(|s| build_site(s, layout.vendor_ids))
            .collect();
        let servers = servers(layout, &sites);

        // Who works where in what: CEO, then the department heads at HQ, then one IT and one
        // Facilities person per site so that every site has someone to open its doors, then
        // the rest drawn by weight.
        let dept_weights: Vec<(Department, u32)> =
            Department::ALL.iter().map(|&d| (d, d.weight())).collect();
        let site_weights: Vec<(usize, u32)> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.share))
            .collect();
        let mut slots: Vec<(Department, usize, Option<&'static str>)> = Vec::with_capacity(n);
        slots.push((Department::Finance, 0, Some("Chief Executive Officer")));
        for &d in Department::ALL {
            slots.push((d, 0, Some(d.head_title())));
        }
        for site in 0..specs.len() {
            slots.push((Department::IT, site, None));
            slots.push((Department::Facilities, site, None));
            slots.push((Department::Security, site, None));
        }
        while slots.len() < n {
            let d = weighted(&mut r, &dept_weights);
            let s = weighted(&mut r, &site_weights);
            slots.push((d, s, None));
        }

        let mut usernames = HashSet::new();
        let mut badge_pool: Vec<u32> = (10_000..100_000).collect();
        r.shuffle(&mut badge_pool);
        let mut laptop_seq = vec![0u32; sites.len()];
        let mut out: Vec<Person> = Vec::with_capacity(n);
        for (i, &(dept, site_idx, fixed_title)) in slots.iter().enumerate() {
            let site = &sites[site_idx];
            let first = FIRST_NAMES[r.usize(0..FIRST_NAMES.len())];
            let last = LAST_NAMES[r.usize(0..LAST_NAMES.len())];
            let base = format!("{}.{}", ascii_fold(first), ascii_fold(last));
            let mut username = base.clone();
            let mut k = 2;
            while !usernames.insert(username.clone()) {
                username = format!("{base}{k}");
                k += 1;
            }
            let email = format!("{username}@nordlys.example");
            let upn = format!("{username}@corp.nordlys.example");
            let title = fixed_title.map(str::to_owned).unwrap_or_else(|| {
                let t = dept.titles();
                t[r.usize(0..t.len())].to_owned()
            });
            laptop_seq[site_idx] += 1;
            let seq = laptop_seq[site_idx];
            let laptop = format!("{}-lt-{:04}", site.code, seq);
            let net = specs[site_idx].net;
            let laptop_ip = IpAddr::V4(Ipv4Addr::new(
                10,
                net,
                10 + (seq / 250) as u8,
                (seq % 250) as u8 + 1,
            ));
            let home_ip = residential_ip(&mut r, home_net(&site.country));
            let remote_days = if dept.on_site_role() || fixed_title.is_some() {
                Vec::new()
            } else {
                let mut days = vec![
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ];
                r.shuffle(&mut days);
                let count = weighted(&mut r, &[(0usize, 20), (1, 45), (2, 35)]);
                let mut chosen: Vec<Weekday> = days.into_iter().take(count).collect();
                chosen.sort_by_key(|d| d.num_days_from_monday());
                chosen
            };
            let arrival_min = if dept == Department::Facilities {
                r.u32(405..=465)
            } else {
                r.u32(420..=570)
            };
            let usual_arrival =
                NaiveTime::from_hms_opt(arrival_min / 60, (arrival_min % 60) / 5 * 5, 0)
                    .unwrap_or(NaiveTime::MIN);
            let hired = as_of - Duration::days(r.i64(60..5000));
            // The office zone: departments share a floor within a site.
            let offices: Vec<&Zone> = site
                .buildings
                .iter()
                .flat_map(|b| b.floors.iter())
                .flat_map(|f| f.zones.iter())
                .filter(|z| z.kind == ZoneKind::Office)
                .collect();
            let office = offices[(dept as usize * 7 + site_idx) % offices.len()];
            out.push(Person {
                employee_number: format!("E{:05}", 1001 + i),
                first_name: first.into(),
                last_name: last.into(),
                name: format!("{first} {last}"),
                department: dept,
                title,
                manager: None,
                site: site.id.clone(),
                office_zone: office.id.clone(),
                username,
                email,
                upn,
                badge: badge_pool[i].to_string(),
                badge_active: true,
                laptop,
                laptop_ip,
                home_ip,
                remote_days,
                usual_arrival,
                uid: 10_000 + i as u32,
                hired,
                status: EmploymentStatus::Active,
                terminated: None,
                doors: Vec::new(),
                servers: Vec::new(),
            });
        }

        assign_managers(&mut out, &mut r);
        assign_status(&mut out, &mut r, as_of, sites.len());
        for p in &mut out {
            let site = sites
                .iter()
                .find(|s| s.id == p.site)
                .expect("home site exists");
            p.doors = doors_for(p, site);
            p.servers = servers
                .iter()
                .filter(|s| match p.department {
                    Department::IT => true,
                    Department::Engineering => {
                        matches!(
                            s.role.as_str(),
                            "app" | "web" | "git" | "build" | "monitoring"
                        )
                    }
                    _ => false,
                })
                .map(|s| s.hostname.clone())
                .collect();
        }

        let vpn_site = sites[0].id.clone();
        Org {
            name: "Nordlys AS".into(),
            domain: "nordlys.example".into(),
            seed,
            as_of,
            sites,
            people: out,
            servers,
            vpn: VpnConcentrator {
                hostname: "vpn-gw-01".into(),
                public_ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10)),
                site: vpn_site,
                pool: "10.99.0.0/16".into(),
            },
        }
    }

    pub fn site(&self, id: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.id == id)
    }

    pub fn person_by_username(&self, username: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.username == username)
    }

    pub fn person_by_badge(&self, badge: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.badge == badge)
    }

    pub fn server(&self, hostname: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.hostname == hostname)
    }

    /// Every door with its site, building, floor and zone.
    pub fn doors(&self) -> impl Iterator<Item = DoorRef<'_>> {
        self.sites.iter().flat_map(|site| {
            site.buildings.iter().flat_map(move |building| {
                building.floors.iter().flat_map(move |floor| {
                    floor.zones.iter().flat_map(move |zone| {
                        zone.doors.iter().map(move |door| DoorRef {
                            site,
                            building,
                            floor,
                            zone,
                            door,
                        })
                    })
                })
            })
        })
    }

    pub fn door(&self, id: &str) -> Option<DoorRef<'_>> {
        self.doors().find(|d| d.door.id == id)
    }

    /// The HR export the identity directory imports: one row per person, header first.
    ///
    /// Columns: `employee_number,name,email,username,department,manager,title,site,hired,
    /// terminated,badge`. Dates are ISO 8601; empty fields are empty. Fields are quoted per
    /// RFC 4180 when they contain a comma, quote or line break.
    pub fn hr_csv(&self) -> String {
        let mut out = String::from(
            "employee_number,name,email,username,department,manager,title,site,hired,terminated,badge\n",
        );
        for p in &self.people {
            let hired = p.hired.to_string();
            let terminated = p.terminated.map(|d| d.to_string()).unwrap_or_default();
            let fields = [
                p.employee_number.as_str(),
                &p.name,
                &p.email,
                &p.username,
                p.department.name(),
                p.manager.as_deref().unwrap_or(""),
                &p.title,
                &p.site,
                &hired,
                &terminated,
                &p.badge,
            ];
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_csv_field(&mut out, f);
            }
            out.push('\n');
        }
        out
    }
}

fn push_csv_field(out: &mut String, f: &str) {
    if f.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&f.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(f);
    }
}

/// Heads report to the CEO; in (department, site) groups of more than six, the first of every
/// eight become team leads reporting to the head, and the others report to a lead.
fn assign_managers(people: &mut [Person], r: &mut fastrand::Rng) {
    let ceo = people[0].employee_number.clone();
    let heads: Vec<(Department, String)> = people[1..=Department::ALL.len()]
        .iter()
        .map(|p| (p.department, p.employee_number.clone()))
        .collect();
    for p in &mut people[1..=Department::ALL.len()] {
        p.manager = Some(ceo.clone());
    }
    let first = Department::ALL.len() + 1;
    for &(dept, ref head) in &heads {
        let sites: Vec<String> = {
            let mut s: Vec<String> = people[first..]
                .iter()
                .filter(|p| p.department == dept)
                .map(|p| p.site.clone())
                .collect();
            s.sort();
            s.dedup();
            s
        };
        for site in sites {
            let members: Vec<usize> = (first..people.len())
                .filter(|&i| people[i].department == dept && people[i].site == site)
                .collect();
            if members.len() <= 6 {
                for &i in &members {
                    people[i].manager = Some(head.clone());
                }
                continue;
            }
            let leads = members.len().div_ceil(8);
            let lead_ids: Vec<String> = members[..leads]
                .iter()
                .map(|&i| people[i].employee_number.clone())
                .collect();
            for &i in &members[..leads] {
                people[i].manager = Some(head.clone());
                people[i].title = format!("{} Team Lead", dept.name());
            }
            for &i in &members[leads..] {
                people[i].manager = Some(lead_ids[r.usize(0..lead_ids.len())].clone());
            }
        }
    }
}

/// About 2 % terminated (at least two) and 2 % on leave (at least one), never heads or leads so
/// nobody's manager has left.
fn assign_status(people: &mut [Person], r: &mut fastrand::Rng, as_of: NaiveDate, sites: usize) {
    let managers: HashSet<String> = people.iter().filter_map(|p| p.manager.clone()).collect();
    let mut candidates: Vec<usize> = (Department::ALL.len() + 1 + 3 * sites..people.len())
        .filter(|&i| !managers.contains(&people[i].employee_number))
        .collect();
    r.shuffle(&mut candidates);
    let terminated = (people.len() / 50).max(2);
    let on_leave = (people.len() / 50).max(1);
    for &i in candidates.iter().take(terminated) {
        let p = &mut people[i];
        let left = as_of - Duration::days(r.i64(20..300));
        p.status = EmploymentStatus::Terminated;
        p.terminated = Some(left);
        p.badge_active = false;
        if p.hired >= left {
            p.hired = left - Duration::days(r.i64(200..2000));
        }
    }
    for &i in candidates.iter().skip(terminated).take(on_leave) {
        people[i].status = EmploymentStatus::OnLeave;
    }
}

fn doors_for(p: &Person, site: &Site) -> Vec<String> {
    let mut doors = Vec::new();
    // Executives walk every office floor of their site.
    let is_head = p.manager.is_none()
        || [
            "Head",
            "Chief",
            "VP",
            "General",
            "HR Director",
            "Facilities Manager",
        ]
        .iter()
        .any(|t| p.title.starts_with(t));
    for b in &site.buildings {
        for f in &b.floors {
            for z in &f.zones {
                let allowed = match z.kind {
                    ZoneKind::Lobby => true,
                    ZoneKind::Office => {
                        z.id == p.office_zone
                            || matches!(
                                p.department,
                                Department::IT | Department::Facilities | Department::Security
                            )
                            || is_head
                    }
                    ZoneKind::ServerRoom => p.department == Department::IT,
                    ZoneKind::LoadingDock => {
                        matches!(p.department, Department::Facilities | Department::Security)
                    }
                };
                if allowed {
                    doors.extend(z.doors.iter().map(|d| d.id.clone()));
                }
            }
        }
    }
    doors
}

impl Org {
    /// The organisation's places and devices as a places/devices file (the document
    /// `tandem directory import` reads; see `tandem_identity::records`), so the demo, the
    /// bench and tests load the directory through the same import a real site uses.
    pub fn directory_records(&self) -> serde_json::Value {
        use serde_json::json;
        let mut places = Vec::new();
        let mut devices = Vec::new();
        for site in &self.sites {
            places.push(json!({
                "id": site.id, "kind": "site", "name": site.name, "lat": site.lat, "lon": site.lon,
                "time_zone": site.time_zone, "country": site.country, "city": site.city,
            }));
            for b in &site.buildings {
                places.push(
                    json!({"id": b.id, "kind": "building", "name": b.name, "parent": site.id}),
                );
                for f in &b.floors {
                    places.push(json!({
                        "id": f.id, "kind": "floor", "name": format!("{} floor {}", b.name, f.level), "parent": b.id,
                    }));
                    for z in &f.zones {
                        let mut zone = json!({
                            "id": z.id, "kind": "zone", "name": z.name, "parent": f.id, "restricted": z.restricted,
                        });
                        if let Some(h) = z.allowed_hours {
                            zone["allowed_hours"] =
                                json!({"from_hour": h.from_hour, "to_hour": h.to_hour});
                        }
                        places.push(zone);
                        for d in &z.doors {
                            let mut door =
                                json!({"id": d.id, "kind": "door", "name": d.name, "parent": z.id});
                            if let Some(id) = &d.vendor_id {
                                door["external_ids"] = json!({ site.access_control.system(): id });
                            }
                            places.push(door);
                            for r in &d.readers {
                                places.push(json!({
                                    "id": r.id, "kind": "reader",
                                    "name": format!("{} reader ({})", d.name, r.direction.name()), "parent": d.id,
                                }));
                            }
                            if let Some(c) = &d.camera {
                                let mut place = json!({"id": c.id, "kind": "camera", "name": c.name, "parent": d.id});
                                let mut device = json!({"id": c.id, "hostname": c.id, "kind": "camera", "place": z.id});
                                if let Some(name) = &c.frigate_name {
                                    place["external_ids"] = json!({ "frigate": name });
                                    device["external_ids"] = json!({ "frigate": name });
                                }
                                places.push(place);
                                devices.push(device);
                            }
                        }
                    }
                }
            }
        }
        for p in &self.people {
            devices.push(json!({
                "id": p.laptop, "hostname": p.laptop, "ips": [p.laptop_ip], "kind": "laptop", "owner": p.employee_number,
            }));
        }
        for s in &self.servers {
            let mut server = json!({"id": s.hostname, "hostname": s.hostname, "ips": [s.ip], "kind": "server", "criticality": "high"});
            if let Some(zone) = &s.zone {
                server["place"] = json!(zone);
            }
            devices.push(server);
        }
        devices.push(json!({
            "id": self.vpn.hostname, "hostname": self.vpn.hostname, "ips": [self.vpn.public_ip],
            "kind": "network", "criticality": "high",
        }));
        json!({ "places": places, "devices": devices })
    }
}
