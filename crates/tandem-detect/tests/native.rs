//! The native detections against events shaped as Tandem's decoders and the simulator produce
//! them, resolved against a directory built the way the server builds it (change records
//! applied with `Directory::apply`).
//!
//! Each detection has a positive case and a near miss; a simulated company day must stay quiet
//! for the rules that page someone, and every staged scenario must raise its rule.

use chrono::Duration;
use serde_json::json;
use std::net::IpAddr;
use tandem_detect::Detection;
use tandem_detect::native::{self, NativeConfig};
use tandem_identity::{
    Account, AccountKind, AllowedHours, Badge, Criticality, DeviceRecord, Directory, Person,
    PlaceKind, PlaceRecord, Status,
};
use tandem_ingest::decode::{DecodeContext, Format, decode_line};
use tandem_model::{
    Activity, Class, DeviceKind, Endpoint, Event, Finding, GeoLocation, ObjectDetection, Outcome,
    Place, Severity, Timestamp,
};
use tandem_store::{ChangeBody, DirectoryChange};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// A small directory: Oslo HQ (lobby, server room, loading dock), a London office, three people.

struct Changes(Vec<DirectoryChange>);

impl Changes {
    fn add(&mut self, kind: &str, key: &str, effective: &str, body: serde_json::Value) {
        let mut c = DirectoryChange::new(kind, key, t(effective), "test", ChangeBody::State(body));
        c.seq = self.0.len() as u64 + 1;
        self.0.push(c);
    }

    fn place(&mut self, p: PlaceRecord) {
        let id = p.id.clone();
        self.add(
            "place",
            &id,
            "2020-01-01T00:00:00Z",
            serde_json::to_value(p).unwrap(),
        );
    }
}

fn place(id: &str, kind: PlaceKind, name: &str, parent: Option<&str>) -> PlaceRecord {
    PlaceRecord {
        id: id.into(),
        kind,
        name: name.into(),
        parent: parent.map(Into::into),
        ..PlaceRecord::default()
    }
}

fn person(id: &str, name: &str, user: &str, badge: &str, dept: &str) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        department: Some(dept.into()),
        accounts: vec![Account {
            kind: AccountKind::Unix,
            value: user.into(),
        }],
        badges: vec![Badge {
            number: badge.into(),
            facility_code: None,
            valid_from: None,
            valid_to: None,
            status: Default::default(),
        }],
        ..Person::default()
    }
}

fn directory() -> Directory {
    let mut c = Changes(Vec::new());
    c.place(PlaceRecord {
        lat: Some(59.91),
        lon: Some(10.75),
        time_zone: Some("Europe/Oslo".into()),
        country: Some("NO".into()),
        city: Some("Oslo".into()),
        egress_networks: vec!["198.18.10.0/28".parse().unwrap()],
        ..place("osl", PlaceKind::Site, "Oslo HQ", None)
    });
    c.place(place("osl-lobby", PlaceKind::Zone, "Lobby", Some("osl")));
    c.place(PlaceRecord {
        restricted: true,
        allowed_hours: Some(AllowedHours::whole_hours(7, 19, false).unwrap()),
        ..place("osl-srv", PlaceKind::Zone, "Server room", Some("osl"))
    });
    c.place(place(
        "osl-dock",
        PlaceKind::Zone,
        "Loading dock",
        Some("osl"),
    ));
    c.place(place("osl-office", PlaceKind::Zone, "Offices", Some("osl")));
    for (door, name, zone) in [
        ("osl-entrance", "Main entrance", "osl-lobby"),
        ("osl-srv-door", "Server room door", "osl-srv"),
        ("osl-dock-door", "Loading dock door", "osl-dock"),
        ("osl-office-door", "Office door", "osl-office"),
    ] {
        c.place(place(door, PlaceKind::Door, name, Some(zone)));
        c.place(place(
            &format!("{door}-cam"),
            PlaceKind::Camera,
            &format!("{name} camera"),
            Some(door),
        ));
    }
    c.place(PlaceRecord {
        lat: Some(51.51),
        lon: Some(-0.13),
        time_zone: Some("Europe/London".into()),
        country: Some("GB".into()),
        ..place("lon", PlaceKind::Site, "London office", None)
    });
    c.place(place(
        "lon-lobby",
        PlaceKind::Zone,
        "London lobby",
        Some("lon"),
    ));
    c.place(place(
        "lon-entrance",
        PlaceKind::Door,
        "Main entrance",
        Some("lon-lobby"),
    ));

    let kari = person("E1", "Kari Nordmann", "kari", "1001", "Sales");
    c.add(
        "person",
        "E1",
        "2020-01-01T00:00:00Z",
        serde_json::to_value(&kari).unwrap(),
    );
    let ola = person("E3", "Ola Hansen", "ola", "1003", "IT");
    c.add(
        "person",
        "E3",
        "2020-01-01T00:00:00Z",
        serde_json::to_value(&ola).unwrap(),
    );
    let bjorn = person("E2", "Bjørn Lie", "bjorn", "1002", "Finance");
    c.add(
        "person",
        "E2",
        "2020-01-01T00:00:00Z",
        serde_json::to_value(&bjorn).unwrap(),
    );
    let gone = Person {
        status: Status::Terminated,
        terminated_at: Some(t("2026-03-01T00:00:00Z")),
        ..bjorn
    };
    c.add(
        "person",
        "E2",
        "2026-03-01T00:00:00Z",
        serde_json::to_value(&gone).unwrap(),
    );

    for d in [
        DeviceRecord {
            id: "srv-db-01".into(),
            hostname: Some("srv-db-01".into()),
            kind: DeviceKind::Server,
            criticality: Criticality::High,
            place: Some("osl-srv".into()),
            ..DeviceRecord::default()
        },
        DeviceRecord {
            id: "srv-web-01".into(),
            hostname: Some("srv-web-01".into()),
            kind: DeviceKind::Server,
            ..DeviceRecord::default()
        },
        DeviceRecord {
            id: "thermo-1".into(),
            ips: vec!["10.0.5.5".parse().unwrap()],
            kind: DeviceKind::Iot,
            place: Some("osl-dock".into()),
            ..DeviceRecord::default()
        },
        DeviceRecord {
            id: "osl-entrance-cam".into(),
            hostname: Some("osl-entrance-cam".into()),
            kind: DeviceKind::Camera,
            place: Some("osl-lobby".into()),
            ..DeviceRecord::default()
        },
    ] {
        let id = d.id.clone();
        c.add(
            "device",
            &id,
            "2020-01-01T00:00:00Z",
            serde_json::to_value(d).unwrap(),
        );
    }
    let mut dir = Directory::default();
    dir.apply(&c.0).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// Events as the decoders (and the simulator's Tandem-format sources) produce them.

fn resolved(dir: &Directory, mut e: Event) -> Event {
    dir.resolve(&mut e);
    e
}

/// A badge-system event at `door` (`reader` `<door>-in`/`-out` by direction).
fn badge(
    dir: &Directory,
    at: &str,
    door: &str,
    activity: Activity,
    badge: Option<&str>,
    dir_: &str,
) -> Event {
    let mut e = Event::new("badges", Class::PhysicalAccess, activity, t(at));
    e.actor.badge = badge.map(Into::into);
    e.outcome = match activity {
        Activity::Granted | Activity::Taken => Outcome::Success,
        Activity::Denied => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    e.place = Some(Place {
        door: Some(door.into()),
        reader: Some(format!("{door}-{dir_}")),
        ..Place::default()
    });
    e.physical_mut().direction = Some(dir_.into());
    resolved(dir, e)
}

fn grant(dir: &Directory, at: &str, door: &str, b: &str) -> Event {
    badge(dir, at, door, Activity::Granted, Some(b), "in")
}

/// The camera at `door` (named by its camera place, as Frigate would) counts `count` persons.
fn camera(dir: &Directory, at: &str, door: &str, count: u32) -> Event {
    let mut e = Event::new("cameras", Class::VideoDetection, Activity::Detect, t(at));
    e.outcome = Outcome::Success;
    e.place = Some(Place {
        camera: Some(format!("{door}-cam")),
        ..Place::default()
    });
    e.physical_mut().detection = Some(ObjectDetection {
        label: "person".into(),
        score: 0.85,
        count: Some(count),
        ..ObjectDetection::default()
    });
    let dev = e.device_mut();
    dev.hostname = Some(format!("{door}-cam"));
    dev.kind = DeviceKind::Camera;
    resolved(dir, e)
}

fn vpn(
    dir: &Directory,
    at: &str,
    user: &str,
    activity: Activity,
    ip: &str,
    geo: (&str, &str, f64, f64),
) -> Event {
    let mut e = Event::new("vpn", Class::TunnelActivity, activity, t(at));
    e.actor.user = Some(user.into());
    e.outcome = Outcome::Success;
    e.src = Some(Endpoint {
        ip: Some(ip.parse().unwrap()),
        port: Some(40000),
        hostname: None,
        geo: Some(GeoLocation {
            country: Some(geo.1.into()),
            region: None,
            city: Some(geo.0.into()),
            lat: Some(geo.2),
            lon: Some(geo.3),
        }),
    });
    e.attrs
        .insert("session_id".into(), json!(format!("s-{ip}")));
    resolved(dir, e)
}

const NEW_YORK: (&str, &str, f64, f64) = ("New York", "US", 40.71, -74.01);
const BERGEN: (&str, &str, f64, f64) = ("Bergen", "NO", 60.39, 5.32);
const OSLO: (&str, &str, f64, f64) = ("Oslo", "NO", 59.93, 10.71);

/// A syslog line through the real syslog/auth.log decoder.
fn syslog(dir: &Directory, line: &str) -> Event {
    let ctx = DecodeContext::new("syslog", t("2026-11-25T12:00:00Z"));
    resolved(
        dir,
        decode_line(Format::Syslog, line.as_bytes(), &ctx).unwrap(),
    )
}

fn only(config: impl FnOnce(&mut NativeConfig)) -> Vec<Box<dyn Detection>> {
    let mut c = NativeConfig::default();
    c.terminated_access.enabled = false;
    c.remote_login_while_on_site.enabled = false;
    c.impossible_travel_badge.enabled = false;
    c.tailgating.enabled = false;
    c.forced_door_with_person.enabled = false;
    c.after_hours_restricted_then_privileged.enabled = false;
    c.new_external_destination.enabled = false;
    c.source_silent.enabled = false;
    c.camera_offline.enabled = false;
    c.behaviour_baseline.enabled = false;
    config(&mut c);
    let d = native::detections(&c);
    assert_eq!(d.len(), 1);
    d
}

/// Feeds `events` in order, then ticks at `tick_at` (if given); returns the findings.
fn run(
    dets: &mut [Box<dyn Detection>],
    dir: &Directory,
    events: &[Event],
    tick_at: Option<&str>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in events {
        for d in dets.iter_mut() {
            d.observe(e, dir, &mut out);
        }
    }
    if let Some(at) = tick_at {
        for d in dets.iter_mut() {
            d.tick(t(at), dir, &mut out);
        }
    }
    out
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule_id.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Configuration.

#[test]
fn config_defaults_round_trip_and_refuse_typos() {
    let c: NativeConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(c, NativeConfig::default());
    assert_eq!(c.remote_login_while_on_site.distance_km, 500.0);
    assert_eq!(c.tailgating.window_seconds, 10);
    let back: NativeConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    let partial: NativeConfig =
        serde_json::from_str(r#"{"tailgating": {"window_seconds": 5}}"#).unwrap();
    assert_eq!(partial.tailgating.window_seconds, 5);
    assert!(partial.tailgating.enabled);
    assert!(serde_json::from_str::<NativeConfig>(r#"{"tailgate": {}}"#).is_err());
    assert!(serde_json::from_str::<NativeConfig>(r#"{"tailgating": {"windw": 1}}"#).is_err());
    let all = native::detections(&c);
    let ids: Vec<&str> = all.iter().map(|d| d.id()).collect();
    assert_eq!(ids, native::RULE_IDS);
}

// ---------------------------------------------------------------------------------------------
// 1. tandem.terminated_access

#[test]
fn terminated_badge_granted_after_termination() {
    let dir = directory();
    let mut d = only(|c| c.terminated_access.enabled = true);
    let e = grant(&dir, "2026-03-05T08:00:00Z", "osl-srv-door", "1002");
    assert_eq!(
        e.actor.person.as_ref().unwrap().status.as_deref(),
        Some("terminated")
    );
    let f = run(&mut d, &dir, std::slice::from_ref(&e), None);
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!(f.rule_id, "tandem.terminated_access");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(
        f.summary,
        "Badge 1002 of Bjørn Lie (terminated 2026-03-01) granted at Server room door, Oslo HQ"
    );
    assert_eq!(f.evidence, vec![e.id]);
    assert_eq!(f.entities.persons, vec!["E2"]);
    assert!(f.entities.places.contains(&"osl-srv-door".to_owned()));
    assert!(f.tags.contains(&"attack.t1078".to_owned()));
    assert_eq!(f.dedup_key, "tandem.terminated_access:E2:2026-03-05");
    // The finding is stored as a detection_finding event and reads back.
    let back = Finding::from_event(&f.to_event()).unwrap();
    assert_eq!(&back, f);

    // Denied: still raised, at medium.
    let denied = badge(
        &dir,
        "2026-03-05T08:01:00Z",
        "osl-srv-door",
        Activity::Denied,
        Some("1002"),
        "in",
    );
    let f = run(&mut d, &dir, &[denied], None);
    assert_eq!(f[0].severity, Severity::Medium);
    assert!(f[0].summary.contains("denied at Server room door"));
}

#[test]
fn badge_used_the_day_before_termination_is_fine() {
    let dir = directory();
    let mut d = only(|c| c.terminated_access.enabled = true);
    let events = [
        grant(&dir, "2026-02-28T17:00:00Z", "osl-entrance", "1002"),
        grant(&dir, "2026-03-05T08:00:00Z", "osl-entrance", "1001"),
        badge(
            &dir,
            "2026-03-05T08:00:01Z",
            "osl-entrance",
            Activity::Taken,
            Some("1002"),
            "in",
        ),
    ];
    assert!(run(&mut d, &dir, &events, None).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 2. tandem.remote_login_while_on_site

#[test]
fn vpn_from_new_york_while_badged_into_oslo() {
    let dir = directory();
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    let events = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        grant(&dir, "2026-11-25T08:01:00Z", "osl-office-door", "1001"),
        vpn(
            &dir,
            "2026-11-25T09:30:00Z",
            "kari",
            Activity::Connect,
            "203.0.113.9",
            NEW_YORK,
        ),
    ];
    let f = run(&mut d, &dir, &events, None);
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!(f.rule_id, "tandem.remote_login_while_on_site");
    assert!(
        f.summary
            .starts_with("Kari Nordmann badged in at Office door, Oslo HQ"),
        "{}",
        f.summary
    );
    assert!(f.summary.contains("New York, US"), "{}", f.summary);
    let km = f.detail["distance_km"].as_f64().unwrap();
    assert!((5_800.0..6_000.0).contains(&km), "{km}");
    assert_eq!(f.evidence, vec![events[1].id, events[2].id]);
    assert!(f.entities.ips.contains(&"203.0.113.9".to_owned()));
    assert_eq!(f.entities.users, vec!["kari"]);
}

#[test]
fn remote_login_near_misses() {
    let dir = directory();
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    // Bergen is ~300 km from Oslo: closer than 500 km.
    let near = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        vpn(
            &dir,
            "2026-11-25T09:30:00Z",
            "kari",
            Activity::Connect,
            "198.51.100.7",
            BERGEN,
        ),
    ];
    assert!(run(&mut d, &dir, &near, None).is_empty());
    // Badged out through the lobby before connecting from abroad: no conflict.
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    let left = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1003"),
        badge(
            &dir,
            "2026-11-25T08:30:00Z",
            "osl-srv-door",
            Activity::Granted,
            Some("1003"),
            "in",
        ),
        // Leaving the server room does not end the visit …
        badge(
            &dir,
            "2026-11-25T08:40:00Z",
            "osl-srv-door",
            Activity::Granted,
            Some("1003"),
            "out",
        ),
        // … leaving through the lobby does.
        badge(
            &dir,
            "2026-11-25T16:00:00Z",
            "osl-entrance",
            Activity::Granted,
            Some("1003"),
            "out",
        ),
        vpn(
            &dir,
            "2026-11-25T20:00:00Z",
            "ola",
            Activity::Connect,
            "203.0.113.9",
            NEW_YORK,
        ),
    ];
    assert!(run(&mut d, &dir, &left, None).is_empty());
    // More than 12 hours after the last badge-in.
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    let stale = [
        grant(&dir, "2026-11-25T06:00:00Z", "osl-entrance", "1001"),
        vpn(
            &dir,
            "2026-11-25T19:00:00Z",
            "kari",
            Activity::Connect,
            "203.0.113.9",
            NEW_YORK,
        ),
    ];
    assert!(run(&mut d, &dir, &stale, None).is_empty());
}

/// A login from the site's own egress network is on site, whatever geo-IP makes of the
/// address (a provider's block placed in New York); the same login from an address that is
/// not the site's still raises.
#[test]
fn a_login_from_the_sites_own_network_is_not_remote() {
    let dir = directory();
    let badge = grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001");
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    let on_site = logon(
        &dir,
        "2026-11-25T09:30:00Z",
        "kari",
        "198.18.10.5",
        Some(NEW_YORK),
    );
    assert!(run(&mut d, &dir, &[badge.clone(), on_site], None).is_empty());
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    let away = logon(
        &dir,
        "2026-11-25T09:30:00Z",
        "kari",
        "203.0.113.9",
        Some(NEW_YORK),
    );
    assert_eq!(run(&mut d, &dir, &[badge, away], None).len(), 1);
}

/// The near miss every office has: badged in by day, a VPN from home in the same city in the
/// evening (no badge out). None of the paging rules may raise.
#[test]
fn an_evening_login_from_the_home_city_is_quiet() {
    let dir = directory();
    let mut c = NativeConfig::default();
    c.behaviour_baseline.enabled = false;
    let mut d = native::detections(&c);
    let events = [
        grant(&dir, "2026-11-25T07:55:00Z", "osl-entrance", "1001"),
        grant(&dir, "2026-11-25T08:00:00Z", "osl-office-door", "1001"),
        logon(
            &dir,
            "2026-11-25T08:05:00Z",
            "kari",
            "198.18.10.6",
            Some(OSLO),
        ),
        vpn(
            &dir,
            "2026-11-25T19:30:00Z",
            "kari",
            Activity::Connect,
            "192.0.2.77",
            OSLO,
        ),
    ];
    let f = run(&mut d, &dir, &events, Some("2026-11-25T20:00:00Z"));
    assert!(f.is_empty(), "{f:#?}");
}

/// An IdP sign-in (no session id, no sign-out ever comes) places the person where geo-IP says
/// at that moment only: badging in the next morning 1,200 km away is going to work, not a
/// conflict; badging in an hour later is.
#[test]
fn a_far_sign_in_conflicts_with_a_badge_only_while_the_journey_is_impossible() {
    let dir = directory();
    let sign_in = |at: &str| {
        let mut e = Event::new("okta", Class::Authentication, Activity::Logon, t(at));
        e.actor.user = Some("kari".into());
        e.outcome = Outcome::Success;
        e.src = Some(Endpoint {
            ip: Some("81.2.69.160".parse().unwrap()),
            geo: Some(GeoLocation {
                country: Some("GB".into()),
                city: Some("London".into()),
                lat: Some(51.51),
                lon: Some(-0.13),
                ..GeoLocation::default()
            }),
            ..Endpoint::default()
        });
        resolved(&dir, e)
    };
    // Signed in from London at 01:15, badged in at Oslo (1,150 km) at 07:45: a flight fits.
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    let night = [
        sign_in("2026-11-25T01:15:00Z"),
        grant(&dir, "2026-11-25T07:45:00Z", "osl-entrance", "1001"),
    ];
    let f = run(&mut d, &dir, &night, None);
    assert!(f.is_empty(), "{f:#?}");
    // An hour apart nothing gets a person from London to Oslo.
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    let hour = [
        sign_in("2026-11-25T06:45:00Z"),
        grant(&dir, "2026-11-25T07:45:00Z", "osl-entrance", "1001"),
    ];
    let f = run(&mut d, &dir, &hour, None);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].detail["order"], "remote_then_badge");
    assert!(
        f[0].summary
            .contains("60 min after their remote logon from London, GB")
            && f[0].summary.contains("no real means covers that distance"),
        "{}",
        f[0].summary
    );
}

#[test]
fn badge_in_while_a_far_vpn_session_is_open() {
    let dir = directory();
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    let events = [
        vpn(
            &dir,
            "2026-11-25T07:00:00Z",
            "kari",
            Activity::Connect,
            "203.0.113.9",
            NEW_YORK,
        ),
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        grant(&dir, "2026-11-25T08:01:00Z", "osl-office-door", "1001"),
    ];
    let f = run(&mut d, &dir, &events, None);
    assert_eq!(f.len(), 1, "raised once, not per door: {f:#?}");
    assert_eq!(f[0].detail["order"], "remote_then_badge");
    assert!(
        f[0].summary.contains("VPN session from New York, US"),
        "{}",
        f[0].summary
    );
    // The session ended before the badge: nothing.
    let mut d = only(|c| c.remote_login_while_on_site.enabled = true);
    let ended = [
        vpn(
            &dir,
            "2026-11-25T07:00:00Z",
            "kari",
            Activity::Connect,
            "203.0.113.9",
            NEW_YORK,
        ),
        vpn(
            &dir,
            "2026-11-25T07:30:00Z",
            "kari",
            Activity::Disconnect,
            "203.0.113.9",
            NEW_YORK,
        ),
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        vpn(
            &dir,
            "2026-11-25T09:00:00Z",
            "kari",
            Activity::Connect,
            "192.0.2.1",
            OSLO,
        ),
    ];
    assert!(run(&mut d, &dir, &ended, None).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 3. tandem.impossible_travel_badge

#[test]
fn badge_in_oslo_then_london_an_hour_later() {
    let dir = directory();
    let mut d = only(|c| c.impossible_travel_badge.enabled = true);
    let events = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        grant(&dir, "2026-11-25T09:00:00Z", "lon-entrance", "1001"),
    ];
    let f = run(&mut d, &dir, &events, None);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule_id, "tandem.impossible_travel_badge");
    assert!(
        f[0].summary.contains("Main entrance, Oslo HQ"),
        "{}",
        f[0].summary
    );
    assert!(
        f[0].summary.contains("Main entrance, London office"),
        "{}",
        f[0].summary
    );
    assert!(f[0].detail["speed_kmh"].as_f64().unwrap() > 1000.0);
    assert_eq!(f[0].evidence, vec![events[0].id, events[1].id]);
    // Twelve hours later is a flight away, not impossible.
    let mut d = only(|c| c.impossible_travel_badge.enabled = true);
    let events = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        grant(&dir, "2026-11-25T20:00:00Z", "lon-entrance", "1001"),
        grant(&dir, "2026-11-25T20:05:00Z", "lon-entrance", "1001"),
    ];
    assert!(run(&mut d, &dir, &events, None).is_empty());
}

/// Four sites on one meridian, so distances are exact: A, and B 262 km, D 200 km and C
/// 1,500 km north of it, each with its own egress network.
fn travel_directory() -> Directory {
    const KM_PER_DEGREE: f64 = tandem_model::geo::EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;
    let mut c = Changes(Vec::new());
    for (id, name, km, net) in [
        ("a", "Site A", 0.0, "203.0.113.0/28"),
        ("b", "Site B", 262.0, "203.0.113.16/28"),
        ("d", "Site D", 200.0, "203.0.113.32/28"),
        ("c", "Site C", 1_500.0, "203.0.113.48/28"),
    ] {
        c.place(PlaceRecord {
            lat: Some(45.0 + km / KM_PER_DEGREE),
            lon: Some(10.0),
            time_zone: Some("Europe/Paris".into()),
            egress_networks: vec![net.parse().unwrap()],
            ..place(id, PlaceKind::Site, name, None)
        });
        c.place(place(
            &format!("{id}-lobby"),
            PlaceKind::Zone,
            "Lobby",
            Some(id),
        ));
        c.place(place(
            &format!("{id}-door"),
            PlaceKind::Door,
            &format!("{name} entrance"),
            Some(&format!("{id}-lobby")),
        ));
    }
    let kari = person("E1", "Kari Nordmann", "kari", "1001", "Sales");
    c.add(
        "person",
        "E1",
        "2020-01-01T00:00:00Z",
        serde_json::to_value(&kari).unwrap(),
    );
    let mut dir = Directory::default();
    dir.apply(&c.0).unwrap();
    dir
}

/// A successful logon (an IdP's) from `ip`, geolocated or not.
fn logon(
    dir: &Directory,
    at: &str,
    user: &str,
    ip: &str,
    geo: Option<(&str, &str, f64, f64)>,
) -> Event {
    let mut e = Event::new("okta", Class::Authentication, Activity::Logon, t(at));
    e.actor.user = Some(user.into());
    e.outcome = Outcome::Success;
    e.src = Some(Endpoint {
        ip: Some(ip.parse().unwrap()),
        geo: geo.map(|g| GeoLocation {
            country: Some(g.1.into()),
            region: None,
            city: Some(g.0.into()),
            lat: Some(g.2),
            lon: Some(g.3),
        }),
        ..Endpoint::default()
    });
    resolved(dir, e)
}

fn later_by(at: &str, minutes: i64) -> String {
    (t(at) + Duration::minutes(minutes)).to_rfc3339()
}

fn travel(dir: &Directory, events: &[Event]) -> Vec<Finding> {
    let mut d = only(|c| c.impossible_travel_badge.enabled = true);
    run(&mut d, dir, events, None)
}

/// 262 km in 31 or 50 minutes is 314–505 km/h: slower than an airliner, faster than anything
/// that actually gets a person from one office door to another that far away.
#[test]
fn badges_262_km_apart_within_the_hour_are_impossible_four_hours_are_not() {
    let dir = travel_directory();
    let first = "2026-11-25T08:00:00Z";
    for (minutes, fires) in [(31, true), (50, true), (240, false)] {
        let events = [
            grant(&dir, first, "a-door", "1001"),
            grant(&dir, &later_by(first, minutes), "b-door", "1001"),
        ];
        let f = travel(&dir, &events);
        assert_eq!(f.len(), usize::from(fires), "{minutes} min: {f:#?}");
        if fires {
            let f = &f[0];
            assert_eq!(f.detail["distance_km"], 262.0);
            assert_eq!(f.detail["fastest_means"], "over the ground");
            assert_eq!(f.detail["needed_minutes"], 105.0);
            assert!(
                f.summary.starts_with(
                    "Badge of Kari Nordmann used at Site A entrance, Site A at 2026-11-25 08:00 UTC \
                     and at Site B entrance, Site B at"
                ),
                "{}",
                f.summary
            );
            assert!(
                f.summary
                    .ends_with("the fastest real means, over the ground, needs at least 105 min"),
                "{}",
                f.summary
            );
            assert_eq!(f.evidence, vec![events[0].id, events[1].id]);
        }
    }
}

#[test]
fn badges_1500_km_apart_need_a_flight() {
    let dir = travel_directory();
    let first = "2026-11-25T08:00:00Z";
    for (minutes, fires) in [(120, true), (360, false)] {
        let events = [
            grant(&dir, first, "a-door", "1001"),
            grant(&dir, &later_by(first, minutes), "c-door", "1001"),
        ];
        let f = travel(&dir, &events);
        assert_eq!(f.len(), usize::from(fires), "{minutes} min: {f:#?}");
        if fires {
            assert_eq!(f[0].detail["fastest_means"], "by air");
            assert_eq!(f[0].detail["needed_minutes"], 220.0);
        }
    }
}

/// Every remembered location counts, not only the latest: a controller delivering late puts a
/// badge at B between two at A, and the day's later badge at A must not hide it.
#[test]
fn every_recent_location_is_compared_not_only_the_latest() {
    let dir = travel_directory();
    let events = [
        grant(&dir, "2026-11-25T08:00:00Z", "a-door", "1001"),
        grant(&dir, "2026-11-25T12:00:00Z", "a-door", "1001"),
        // Delivered last, dated 20 minutes after the first badge at A.
        grant(&dir, "2026-11-25T08:20:00Z", "b-door", "1001"),
    ];
    let f = travel(&dir, &events);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].detail["minutes"], 20.0);
    assert_eq!(f[0].evidence, vec![events[0].id, events[2].id]);

    // The same journey raised once, however often the two badges alternate.
    let events = [
        grant(&dir, "2026-11-25T08:00:00Z", "a-door", "1001"),
        grant(&dir, "2026-11-25T08:30:00Z", "b-door", "1001"),
        grant(&dir, "2026-11-25T08:45:00Z", "a-door", "1001"),
        grant(&dir, "2026-11-25T09:00:00Z", "b-door", "1001"),
    ];
    assert_eq!(travel(&dir, &events).len(), 1);

    // A round trip that real travel allows: A, B four hours later, A again the next morning.
    let events = [
        grant(&dir, "2026-11-25T07:00:00Z", "a-door", "1001"),
        grant(&dir, "2026-11-25T11:00:00Z", "b-door", "1001"),
        grant(&dir, "2026-11-25T18:00:00Z", "b-door", "1001"),
        grant(&dir, "2026-11-26T07:30:00Z", "a-door", "1001"),
    ];
    assert!(travel(&dir, &events).is_empty());
}

/// A login from a site's egress network places the person at that site.
#[test]
fn login_from_another_sites_network_after_a_badge() {
    let dir = travel_directory();
    let badge = grant(&dir, "2026-11-25T08:00:00Z", "a-door", "1001");
    // From site D's network (200 km away) 40 minutes later.
    let from_d = logon(&dir, "2026-11-25T08:40:00Z", "kari", "203.0.113.33", None);
    let f = travel(&dir, &[badge.clone(), from_d.clone()]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule_id, "tandem.impossible_travel_badge");
    assert_eq!(f[0].detail["kind"], "badge_login");
    assert_eq!(f[0].detail["distance_km"], 200.0);
    assert!(
        f[0].summary.starts_with(
            "Kari Nordmann: badge used at Site A entrance, Site A at 2026-11-25 08:00 UTC and logon as \
             kari from 203.0.113.33 on the Site D network at 2026-11-25 08:40 UTC: 200 km in 40 min"
        ),
        "{}",
        f[0].summary
    );
    assert_eq!(f[0].evidence, vec![badge.id, from_d.id]);
    assert!(f[0].entities.places.contains(&"d".to_owned()));
    // The login first, the badge after: the same.
    assert_eq!(travel(&dir, &[from_d.clone(), badge.clone()]).len(), 1);

    // From site A's own network: on site, nothing.
    let from_a = logon(&dir, "2026-11-25T08:40:00Z", "kari", "203.0.113.5", None);
    assert!(travel(&dir, &[badge.clone(), from_a.clone()]).is_empty());
    // Two logins from two sites' networks are not a journey (sessions through a jump host).
    assert!(travel(&dir, &[from_a, from_d.clone()]).is_empty());
    // A login from elsewhere (home, geolocated) places nobody: geo-IP is for the remote-login rule.
    let home = logon(
        &dir,
        "2026-11-25T08:40:00Z",
        "kari",
        "192.0.2.77",
        Some(("Milan", "IT", 45.46, 9.19)),
    );
    assert!(travel(&dir, &[badge.clone(), home]).is_empty());
    // Switched off: logins place nobody.
    let mut d = only(|c| {
        c.impossible_travel_badge.enabled = true;
        c.impossible_travel_badge.logins = false;
    });
    assert!(run(&mut d, &dir, &[badge, from_d], None).is_empty());
}

#[test]
fn travel_parameters_are_configurable_and_the_old_name_still_reads() {
    let c: NativeConfig = serde_json::from_value(json!({
        "impossible_travel_badge": {"ground_speed_kmh": 400.0, "max_speed_kmh": 1000.0}
    }))
    .unwrap();
    assert_eq!(c.impossible_travel_badge.air_speed_kmh, 1000.0);
    let dir = travel_directory();
    let mut d = native::detections(&NativeConfig {
        terminated_access: native::TerminatedAccessConfig {
            enabled: false,
            ..Default::default()
        },
        ..c
    });
    // 262 km in 50 min is 314 km/h: possible at 400 km/h over the ground.
    let events = [
        grant(&dir, "2026-11-25T08:00:00Z", "a-door", "1001"),
        grant(&dir, "2026-11-25T08:50:00Z", "b-door", "1001"),
    ];
    let f = run(&mut d, &dir, &events, None);
    assert!(
        !rules(&f).contains(&"tandem.impossible_travel_badge"),
        "{f:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. tandem.tailgating

#[test]
fn one_grant_two_people_on_camera() {
    let dir = directory();
    let mut d = only(|c| c.tailgating.enabled = true);
    let events = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        badge(
            &dir,
            "2026-11-25T08:00:01Z",
            "osl-entrance",
            Activity::Taken,
            Some("1001"),
            "in",
        ),
        camera(&dir, "2026-11-25T08:00:02.500Z", "osl-entrance", 2),
    ];
    // The window stays open for a late second grant: nothing yet.
    assert!(run(&mut d, &dir, &events, None).is_empty());
    let f = run(&mut d, &dir, &[], Some("2026-11-25T08:01:00Z"));
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert_eq!(f.rule_id, "tandem.tailgating");
    assert!(
        f.summary
            .starts_with("Tailgating at Main entrance, Oslo HQ: 1 credential"),
        "{}",
        f.summary
    );
    assert!(f.summary.contains("saw 2 persons"), "{}", f.summary);
    assert_eq!(f.evidence, events.iter().map(|e| e.id).collect::<Vec<_>>());
    assert_eq!(f.entities.persons, vec!["E1"]);
    assert!(f.tags.contains(&"physical.tailgating".to_owned()));
}

/// Frigate reports one person twice: the object (`frigate/events` new) and the review item
/// that opens with it (`frigate/reviews` new). That is one person, not a tailgate.
#[test]
fn an_object_and_its_review_item_are_one_person() {
    let dir = directory();
    let mut d = only(|c| c.tailgating.enabled = true);
    let mut review = camera(&dir, "2026-11-25T08:00:02.600Z", "osl-entrance", 1);
    review.attrs.insert("frigate.kind".into(), json!("review"));
    let events = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        badge(
            &dir,
            "2026-11-25T08:00:01Z",
            "osl-entrance",
            Activity::Taken,
            Some("1001"),
            "in",
        ),
        camera(&dir, "2026-11-25T08:00:02.500Z", "osl-entrance", 1),
        review,
    ];
    let f = run(&mut d, &dir, &events, Some("2026-11-25T08:01:00Z"));
    assert!(f.is_empty(), "{f:#?}");
}

/// Door events and camera frames travel apart (webhooks over HTTP, MQTT): a colleague's grant
/// that arrives after the camera saw both people, and after a tick of the detection clock (a
/// replayed day, the clock days ahead), still explains the second person. A real tailgate
/// replayed the same way is still found, once the door has been quiet for a tick.
#[test]
fn a_grant_delivered_after_a_tick_still_explains_the_camera() {
    let dir = directory();
    let mut d = only(|c| c.tailgating.enabled = true);
    let first = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        badge(
            &dir,
            "2026-11-25T08:00:01Z",
            "osl-entrance",
            Activity::Taken,
            Some("1001"),
            "in",
        ),
        camera(&dir, "2026-11-25T08:00:02.500Z", "osl-entrance", 2),
    ];
    let f = run(&mut d, &dir, &first, Some("2026-12-07T10:00:00Z"));
    assert!(f.is_empty(), "decided before the door caught up: {f:#?}");
    let second = [
        grant(&dir, "2026-11-25T08:00:04Z", "osl-entrance", "1003"),
        badge(
            &dir,
            "2026-11-25T08:00:05Z",
            "osl-entrance",
            Activity::Taken,
            Some("1003"),
            "in",
        ),
    ];
    let mut f = run(&mut d, &dir, &second, Some("2026-12-07T10:01:00Z"));
    f.extend(run(&mut d, &dir, &[], Some("2026-12-07T10:02:00Z")));
    assert!(f.is_empty(), "{f:#?}");

    let mut d = only(|c| c.tailgating.enabled = true);
    let f = run(&mut d, &dir, &first, Some("2026-12-07T10:00:00Z"));
    assert!(f.is_empty(), "{f:#?}");
    let f = run(&mut d, &dir, &[], Some("2026-12-07T10:01:00Z"));
    assert_eq!(f.len(), 1, "a quiet door is decided by the clock: {f:#?}");
    assert!(f[0].summary.contains("saw 2 persons"), "{}", f[0].summary);
}

#[test]
fn two_grants_two_people_is_not_tailgating() {
    let dir = directory();
    let mut d = only(|c| c.tailgating.enabled = true);
    let events = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        badge(
            &dir,
            "2026-11-25T08:00:01Z",
            "osl-entrance",
            Activity::Taken,
            Some("1001"),
            "in",
        ),
        camera(&dir, "2026-11-25T08:00:02Z", "osl-entrance", 2),
        // The colleague badges a moment after the camera saw both.
        grant(&dir, "2026-11-25T08:00:03Z", "osl-entrance", "1003"),
        badge(
            &dir,
            "2026-11-25T08:00:04Z",
            "osl-entrance",
            Activity::Taken,
            Some("1003"),
            "in",
        ),
        // A double tap: first grant superseded, one person.
        grant(&dir, "2026-11-25T09:00:00Z", "osl-entrance", "1001"),
        grant(&dir, "2026-11-25T09:00:06Z", "osl-entrance", "1001"),
        badge(
            &dir,
            "2026-11-25T09:00:07Z",
            "osl-entrance",
            Activity::Taken,
            Some("1001"),
            "in",
        ),
        camera(&dir, "2026-11-25T09:00:08Z", "osl-entrance", 1),
    ];
    let f = run(&mut d, &dir, &events, Some("2026-11-25T09:05:00Z"));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn grant_without_door_opening_anti_passback_and_device_tailgate() {
    let dir = directory();
    let mut d = only(|c| c.tailgating.enabled = true);
    let events = [
        // The door reports openings …
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1003"),
        badge(
            &dir,
            "2026-11-25T08:00:01Z",
            "osl-entrance",
            Activity::Taken,
            Some("1003"),
            "in",
        ),
        // … but this grant is never followed by one.
        grant(&dir, "2026-11-25T08:00:04Z", "osl-entrance", "1001"),
        badge(
            &dir,
            "2026-11-25T08:30:00Z",
            "osl-entrance",
            Activity::AntiPassback,
            Some("1001"),
            "in",
        ),
        badge(
            &dir,
            "2026-11-25T08:40:00Z",
            "osl-dock-door",
            Activity::Tailgate,
            None,
            "in",
        ),
    ];
    let mut f = run(&mut d, &dir, &events, Some("2026-11-25T09:00:00Z"));
    f.sort_by_key(|f| f.time);
    let kinds: Vec<(&str, Severity)> = f
        .iter()
        .map(|f| {
            (
                f.detail
                    .get("rule")
                    .or(f.detail.get("kind"))
                    .and_then(|v| v.as_str())
                    .unwrap(),
                f.severity,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("grant_without_taken", Severity::Low),
            ("anti_passback", Severity::Low),
            ("tailgate", Severity::Medium),
        ],
        "{f:#?}"
    );
    assert!(
        f[0].summary
            .contains("Grant for Kari Nordmann at Main entrance, Oslo HQ"),
        "{}",
        f[0].summary
    );
    assert!(f[1].summary.contains("Kari Nordmann"), "{}", f[1].summary);
}

// ---------------------------------------------------------------------------------------------
// 5. tandem.forced_door_with_person

#[test]
fn forced_dock_door_with_person_on_camera() {
    let dir = directory();
    let mut d = only(|c| c.forced_door_with_person.enabled = true);
    let forced = badge(
        &dir,
        "2026-11-25T02:00:00Z",
        "osl-dock-door",
        Activity::Forced,
        None,
        "in",
    );
    let seen = camera(&dir, "2026-11-25T02:00:03Z", "osl-dock-door", 1);
    let f = run(&mut d, &dir, &[forced.clone(), seen.clone()], None);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::High);
    assert!(f[0].summary.starts_with("Loading dock door, Oslo HQ forced open at 2026-11-25 02:00 UTC with a person on osl-dock-door-cam 3 s later"), "{}", f[0].summary);
    assert_eq!(f[0].evidence, vec![forced.id, seen.id]);
    // Camera first, alarm second: same finding.
    let mut d = only(|c| c.forced_door_with_person.enabled = true);
    let f = run(&mut d, &dir, &[seen, forced], None);
    assert_eq!(f.len(), 1);
}

#[test]
fn forced_door_near_misses() {
    let dir = directory();
    let mut d = only(|c| c.forced_door_with_person.enabled = true);
    let events = [
        // A grant 30 s before: someone opened it legitimately.
        grant(&dir, "2026-11-25T10:00:00Z", "osl-dock-door", "1003"),
        badge(
            &dir,
            "2026-11-25T10:00:30Z",
            "osl-dock-door",
            Activity::Forced,
            None,
            "in",
        ),
        camera(&dir, "2026-11-25T10:00:32Z", "osl-dock-door", 1),
        // Forced with nobody on camera within 30 s.
        badge(
            &dir,
            "2026-11-25T03:00:00Z",
            "osl-srv-door",
            Activity::Forced,
            None,
            "in",
        ),
        camera(&dir, "2026-11-25T03:02:00Z", "osl-srv-door", 1),
        // Held open two minutes after a delivery grant.
        grant(&dir, "2026-11-25T11:00:00Z", "osl-dock-door", "1003"),
        badge(
            &dir,
            "2026-11-25T11:02:00Z",
            "osl-dock-door",
            Activity::HeldOpen,
            None,
            "in",
        ),
        camera(&dir, "2026-11-25T11:02:05Z", "osl-dock-door", 1),
    ];
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|e| e.time);
    assert!(run(&mut d, &dir, &sorted, None).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 6. tandem.after_hours_restricted_then_privileged

#[test]
fn server_room_at_night_then_sudo_on_a_server_in_it() {
    let dir = directory();
    let mut d = only(|c| c.after_hours_restricted_then_privileged.enabled = true);
    // 01:10 UTC is 02:10 in Oslo in November.
    let entry = grant(&dir, "2026-11-25T01:10:00Z", "osl-srv-door", "1003");
    let sudo = syslog(
        &dir,
        "<85>1 2026-11-25T01:16:30.000Z srv-db-01 sudo - - - ola : TTY=pts/0 ; PWD=/home/ola ; USER=root ; COMMAND=/usr/bin/pg_dumpall -f /tmp/all.sql",
    );
    assert_eq!(sudo.class, Class::ProcessActivity);
    assert_eq!(sudo.actor.person.as_ref().unwrap().id, "E3");
    let f = run(&mut d, &dir, &[entry.clone(), sudo.clone()], None);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(
        f[0].summary,
        "Ola Hansen entered Server room, Oslo HQ at Wed 02:10 local (Europe/Oslo; 2026-11-25 01:10 UTC), outside its \
         allowed hours mon-fri 07:00-19:00, and 6 min later ran sudo /usr/bin/pg_dumpall -f /tmp/all.sql on srv-db-01 in that zone"
    );
    assert_eq!(f[0].evidence, vec![entry.id, sudo.id]);
    assert!(f[0].entities.devices.contains(&"srv-db-01".to_owned()));
    // Ingested the other way round (server logs before badges): same finding.
    let mut d = only(|c| c.after_hours_restricted_then_privileged.enabled = true);
    assert_eq!(run(&mut d, &dir, &[sudo, entry], None).len(), 1);

    // Windows 4672 on a server in the room counts too.
    let mut d = only(|c| c.after_hours_restricted_then_privileged.enabled = true);
    let mut e4672 = Event::new(
        "windows",
        Class::AuthorizeSession,
        Activity::AssignPrivileges,
        t("2026-11-25T01:20:00Z"),
    );
    e4672.actor.user = Some("ola".into());
    e4672.outcome = Outcome::Success;
    e4672.device_mut().hostname = Some("srv-db-01".into());
    let e4672 = resolved(&dir, e4672);
    let f = run(
        &mut d,
        &dir,
        &[
            grant(&dir, "2026-11-25T01:10:00Z", "osl-srv-door", "1003"),
            e4672,
        ],
        None,
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].summary.contains("special privileges (4672)"));
}

#[test]
fn after_hours_near_misses() {
    let dir = directory();
    let mut d = only(|c| c.after_hours_restricted_then_privileged.enabled = true);
    let events = [
        // 10:10 local: inside allowed hours.
        grant(&dir, "2026-11-25T09:10:00Z", "osl-srv-door", "1003"),
        syslog(
            &dir,
            "<85>1 2026-11-25T09:15:00.000Z srv-db-01 sudo - - - ola : TTY=pts/0 ; PWD=/home/ola ; USER=root ; COMMAND=/usr/bin/id",
        ),
        // Night entry, but sudo on a cloud server outside the room.
        grant(&dir, "2026-11-26T01:10:00Z", "osl-srv-door", "1003"),
        syslog(
            &dir,
            "<85>1 2026-11-26T01:15:00.000Z srv-web-01 sudo - - - ola : TTY=pts/0 ; PWD=/home/ola ; USER=root ; COMMAND=/usr/bin/id",
        ),
        // Night entry, sudo in the room 45 minutes later (outside the 30-minute window).
        syslog(
            &dir,
            "<85>1 2026-11-26T01:55:00.000Z srv-db-01 sudo - - - ola : TTY=pts/0 ; PWD=/home/ola ; USER=root ; COMMAND=/usr/bin/id",
        ),
        // Someone else's sudo in the room.
        syslog(
            &dir,
            "<85>1 2026-11-26T01:12:00.000Z srv-db-01 sudo - - - kari : TTY=pts/0 ; PWD=/home/kari ; USER=root ; COMMAND=/usr/bin/id",
        ),
        // A refused sudo is not privileged activity.
        syslog(
            &dir,
            "<85>1 2026-11-26T01:13:00.000Z srv-db-01 sudo - - - ola : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/ola ; USER=root ; COMMAND=/usr/bin/id",
        ),
    ];
    let f = run(&mut d, &dir, &events, None);
    assert!(f.is_empty(), "{f:#?}");
}

/// Oslo HQ plus an open-plan lab whose *door* is restricted, open Mon–Fri 07:30–18:45 and
/// Sat 09:00–13:00, closed on Christmas Eve, with a workstation inside.
fn lab_directory() -> Directory {
    let mut dir = directory();
    let mut c = Changes(Vec::new());
    c.place(PlaceRecord {
        holidays: vec!["2026-12-24".parse().unwrap()],
        ..place("osl-lab", PlaceKind::Zone, "Lab", Some("osl"))
    });
    c.place(PlaceRecord {
        restricted: true,
        allowed_hours: Some("mon-fri 07:30-18:45; sat 09:00-13:00".parse().unwrap()),
        ..place("osl-lab-door", PlaceKind::Door, "Lab door", Some("osl-lab"))
    });
    c.add(
        "device",
        "lab-ws-01",
        "2020-01-01T00:00:00Z",
        serde_json::to_value(DeviceRecord {
            id: "lab-ws-01".into(),
            hostname: Some("lab-ws-01".into()),
            kind: DeviceKind::Workstation,
            place: Some("osl-lab".into()),
            ..DeviceRecord::default()
        })
        .unwrap(),
    );
    for (i, ch) in c.0.iter_mut().enumerate() {
        ch.seq = 1_000 + i as u64;
    }
    dir.apply(&c.0).unwrap();
    dir
}

/// Entries through the restricted lab door, each followed five minutes later by sudo on the
/// lab workstation. Oslo is UTC+1 in November and December.
#[test]
fn restricted_door_with_a_schedule_to_the_minute_and_holidays() {
    let dir = lab_directory();
    for (entry_utc, local, fires) in [
        ("2026-11-25T06:35:00Z", "Wed 07:35", false),
        ("2026-11-25T06:20:00Z", "Wed 07:20", true),
        ("2026-11-25T17:40:00Z", "Wed 18:40", false),
        ("2026-11-25T17:50:00Z", "Wed 18:50", true),
        ("2026-11-28T10:00:00Z", "Sat 11:00", false),
        ("2026-11-28T12:10:00Z", "Sat 13:10", true),
        ("2026-11-29T10:00:00Z", "Sun 11:00", true),
        ("2026-12-24T09:00:00Z", "Thu 10:00", true),
    ] {
        let mut d = only(|c| c.after_hours_restricted_then_privileged.enabled = true);
        let entry = grant(&dir, entry_utc, "osl-lab-door", "1003");
        let sudo_at = (t(entry_utc) + Duration::minutes(5)).format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let sudo = syslog(
            &dir,
            &format!(
                "<85>1 {sudo_at} lab-ws-01 sudo - - - ola : TTY=pts/0 ; PWD=/home/ola ; USER=root ; COMMAND=/usr/bin/id"
            ),
        );
        let f = run(&mut d, &dir, &[entry, sudo], None);
        assert_eq!(f.len(), usize::from(fires), "{local}: {f:#?}");
        if fires {
            let f = &f[0];
            assert_eq!(f.detail["local_time"], local);
            assert!(
                f.summary.starts_with(&format!(
                    "Ola Hansen entered Lab, Oslo HQ through restricted Lab door at {local} local"
                )),
                "{}",
                f.summary
            );
            let hours = f.detail["allowed_hours"].as_str().unwrap();
            assert!(
                hours.starts_with("mon-fri 07:30-18:45; sat 09:00-13:00"),
                "{hours}"
            );
            assert_eq!(
                hours.ends_with("closed on 2026-12-24"),
                local == "Thu 10:00",
                "{hours}"
            );
            assert!(f.entities.places.contains(&"osl-lab-door".to_owned()));
            assert!(f.entities.devices.contains(&"lab-ws-01".to_owned()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7. tandem.new_external_destination

fn flow(dir: &Directory, at: &str, src: &str, dst: &str) -> Event {
    let mut e = Event::new("zeek", Class::NetworkActivity, Activity::Traffic, t(at));
    e.src = Some(Endpoint {
        ip: Some(src.parse().unwrap()),
        ..Endpoint::default()
    });
    e.dst = Some(Endpoint {
        ip: Some(dst.parse().unwrap()),
        port: Some(443),
        ..Endpoint::default()
    });
    resolved(dir, e)
}

#[test]
fn iot_device_talks_to_a_new_internet_address_after_learning() {
    let dir = directory();
    let mut d = only(|c| c.new_external_destination.enabled = true);
    let events = [
        flow(&dir, "2026-11-01T00:00:00Z", "10.0.5.5", "52.1.1.1"),
        // During learning: silently learned.
        flow(&dir, "2026-11-03T00:00:00Z", "10.0.5.5", "52.1.1.2"),
        // After learning: known destinations and internal ones are fine …
        flow(&dir, "2026-11-10T00:00:00Z", "10.0.5.5", "52.1.1.1"),
        flow(&dir, "2026-11-10T00:01:00Z", "10.0.5.5", "10.0.0.1"),
        flow(&dir, "2026-11-10T00:02:00Z", "10.0.5.5", "192.168.1.1"),
        // … a laptop (not watched) anywhere is fine …
        flow(&dir, "2026-11-10T00:03:00Z", "10.9.9.9", "45.9.9.9"),
        // … the new one is not.
        flow(&dir, "2026-11-10T00:04:00Z", "10.0.5.5", "45.9.9.9"),
        flow(&dir, "2026-11-10T00:05:00Z", "10.0.5.5", "45.9.9.9"),
    ];
    let f = run(&mut d, &dir, &events, None);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        f[0].summary
            .starts_with("IoT device thermo-1 contacted 45.9.9.9 port 443"),
        "{}",
        f[0].summary
    );
    assert_eq!(f[0].entities.devices, vec!["thermo-1"]);
    assert!(native::is_external("8.8.8.8".parse::<IpAddr>().unwrap()));
    for ip in [
        "10.1.2.3",
        "172.16.0.1",
        "100.64.0.1",
        "169.254.1.1",
        "127.0.0.1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
    ] {
        assert!(!native::is_external(ip.parse().unwrap()), "{ip}");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. tandem.source_silent and tandem.camera_offline

/// An event of `source` that happened at `at` and arrived then too.
fn from_source(source: &str, at: Timestamp) -> Event {
    arrived(source, at, at)
}

/// An event that happened at `at` and arrived at `arrival`.
fn arrived(source: &str, at: Timestamp, arrival: Timestamp) -> Event {
    let mut e = Event::new(source, Class::Other, Activity::Other, at);
    e.message = "tick".into();
    e.ingest_time = arrival;
    e
}

#[test]
fn a_replayed_day_is_a_burst_not_a_silence() {
    let dir = Directory::default();
    let mut d = only(|c| {
        c.source_silent.enabled = true;
        c.source_silent
            .expected_interval_seconds
            .insert("badges".into(), 60);
    });
    // Yesterday's events, one a minute, sent in one go this morning.
    let now = t("2026-11-25T09:00:00Z");
    let yesterday = t("2026-11-24T00:00:00Z");
    let events: Vec<Event> = (0..1440)
        .map(|i| {
            arrived(
                "badges",
                yesterday + Duration::minutes(i),
                now + Duration::milliseconds(i),
            )
        })
        .collect();
    let mut out = run(&mut d, &dir, &events, None);
    d[0].tick(now + Duration::minutes(5), &dir, &mut out);
    assert!(out.is_empty(), "a replay read as silence: {out:#?}");
    // Once it stops arriving, silence counts from the last arrival.
    d[0].tick(now + Duration::minutes(21), &dir, &mut out);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(
        out[0].summary.contains("has sent nothing for 20 min"),
        "{}",
        out[0].summary
    );
    // The evidence is found where the event is stored: at its own time.
    assert_eq!(out[0].evidence, vec![events.last().unwrap().id]);
}

#[test]
fn a_backlog_after_an_outage_ends_the_silence_it_was() {
    let dir = Directory::default();
    let mut d = only(|c| {
        c.source_silent.enabled = true;
        c.source_silent
            .expected_interval_seconds
            .insert("badges".into(), 60);
    });
    let start = t("2026-11-25T08:00:00Z");
    let live: Vec<Event> = (0..60)
        .map(|i| from_source("badges", start + Duration::minutes(i)))
        .collect();
    let last = live.last().unwrap().time;
    let mut out = run(&mut d, &dir, &live, None);
    d[0].tick(last + Duration::minutes(20), &dir, &mut out);
    assert_eq!(out.len(), 1);
    // The forwarder reconnects 40 minutes later with everything it buffered.
    let reconnect = last + Duration::minutes(40);
    let backlog: Vec<Event> = (1..40)
        .map(|i| {
            arrived(
                "badges",
                last + Duration::minutes(i),
                reconnect + Duration::milliseconds(i),
            )
        })
        .collect();
    out.extend(run(&mut d, &dir, &backlog, None));
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(out[1].detail["state"], "resolved");
    assert!(
        out[1].summary.contains("sending again after 40 min"),
        "{}",
        out[1].summary
    );
    d[0].tick(reconnect + Duration::minutes(5), &dir, &mut out);
    assert_eq!(out.len(), 2, "the backlog is no new silence");
}

#[test]
fn configured_source_goes_silent_and_comes_back() {
    let dir = Directory::default();
    let mut d = only(|c| {
        c.source_silent.enabled = true;
        c.source_silent
            .expected_interval_seconds
            .insert("badges".into(), 60);
    });
    let start = t("2026-11-25T08:00:00Z");
    let events: Vec<Event> = (0..60)
        .map(|i| from_source("badges", start + Duration::minutes(i)))
        .collect();
    let last = events.last().unwrap().time;
    let mut out = run(&mut d, &dir, &events, None);
    // 3 × 60 s is below the 15-minute minimum: quiet at +10 min.
    d[0].tick(last + Duration::minutes(10), &dir, &mut out);
    assert!(out.is_empty());
    d[0].tick(last + Duration::minutes(20), &dir, &mut out);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(
        out[0]
            .summary
            .starts_with("Source badges has sent nothing for 20 min"),
        "{}",
        out[0].summary
    );
    assert_eq!(out[0].evidence, vec![events.last().unwrap().id]);
    // Raised once per silence.
    d[0].tick(last + Duration::minutes(30), &dir, &mut out);
    assert_eq!(out.len(), 1);
    let back = from_source("badges", last + Duration::minutes(31));
    d[0].observe(&back, &dir, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].detail["state"], "resolved");
    assert_eq!(out[1].dedup_key, out[0].dedup_key);
}

#[test]
fn learned_source_uses_its_longest_normal_gap() {
    let dir = Directory::default();
    let mut d = only(|c| c.source_silent.enabled = true);
    let start = t("2026-11-24T00:00:00Z");
    // Every 10 minutes for 25 hours; the findings source is never judged.
    let mut events: Vec<Event> = (0..150)
        .map(|i| from_source("hq-badges", start + Duration::minutes(10 * i)))
        .collect();
    events.push(from_source("tandem-detect", start));
    let last = start + Duration::minutes(10 * 149);
    let mut out = run(&mut d, &dir, &events, None);
    d[0].tick(last + Duration::minutes(25), &dir, &mut out);
    assert!(out.is_empty(), "{out:#?}");
    d[0].tick(last + Duration::minutes(31), &dir, &mut out);
    assert_eq!(rules(&out), ["tandem.source_silent"]);
    assert!(out[0].summary.contains("hq-badges"));
    // A young source is not judged yet.
    let mut d = only(|c| c.source_silent.enabled = true);
    let young: Vec<Event> = (0..30)
        .map(|i| from_source("new", start + Duration::minutes(i)))
        .collect();
    let mut out = run(&mut d, &dir, &young, None);
    d[0].tick(start + Duration::hours(5), &dir, &mut out);
    assert!(out.is_empty());
}

fn status(dir: &Directory, at: &str, host: &str, kind: DeviceKind, activity: Activity) -> Event {
    let mut e = Event::new("nvr", Class::DeviceStatus, activity, t(at));
    let d = e.device_mut();
    d.hostname = Some(host.into());
    d.kind = kind;
    resolved(dir, e)
}

#[test]
fn camera_offline_then_online() {
    let dir = directory();
    let mut d = only(|c| c.camera_offline.enabled = true);
    let events = [
        status(
            &dir,
            "2026-11-25T01:00:00Z",
            "osl-entrance-cam",
            DeviceKind::Unknown,
            Activity::Offline,
        ),
        // Repeated offline reports during one outage raise nothing more.
        status(
            &dir,
            "2026-11-25T01:05:00Z",
            "osl-entrance-cam",
            DeviceKind::Unknown,
            Activity::Offline,
        ),
        status(
            &dir,
            "2026-11-25T01:42:00Z",
            "osl-entrance-cam",
            DeviceKind::Unknown,
            Activity::Online,
        ),
        // A laptop going offline is not a camera.
        status(
            &dir,
            "2026-11-25T01:50:00Z",
            "osl-lt-0042",
            DeviceKind::Laptop,
            Activity::Offline,
        ),
        // An online with no outage is nothing.
        status(
            &dir,
            "2026-11-25T01:55:00Z",
            "osl-entrance-cam",
            DeviceKind::Unknown,
            Activity::Online,
        ),
    ];
    let f = run(&mut d, &dir, &events, None);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(
        f[0].summary,
        "Camera osl-entrance-cam (Lobby, Oslo HQ) went offline at 2026-11-25 01:00 UTC"
    );
    assert_eq!(f[0].severity, Severity::Medium);
    assert_eq!(f[1].detail["state"], "resolved");
    assert_eq!(f[1].severity, Severity::Informational);
    assert!(
        f[1].summary.ends_with("back online after 42 min offline"),
        "{}",
        f[1].summary
    );
    assert_eq!(f[1].dedup_key, f[0].dedup_key);
}

// ---------------------------------------------------------------------------------------------
// 9. tandem.behaviour_baseline

#[test]
fn behaviour_baseline_scores_after_learning() {
    let dir = directory();
    let mut d = only(|c| {
        c.behaviour_baseline.enabled = true;
        c.behaviour_baseline.learning_days = 3;
        c.behaviour_baseline.min_events = 10;
    });
    let mut events = Vec::new();
    for day in 1..=5 {
        let at = |h: u32, m: u32| format!("2026-11-{day:02}T{h:02}:{m:02}:00Z");
        events.push(grant(&dir, &at(7, 5), "osl-entrance", "1003"));
        events.push(grant(&dir, &at(7, 7), "osl-office-door", "1003"));
        events.push(grant(&dir, &at(15, 30), "osl-entrance", "1003"));
        events.push(vpn(
            &dir,
            &at(19, 0),
            "ola",
            Activity::Connect,
            "192.0.2.1",
            OSLO,
        ));
    }
    // Learning and ordinary days: nothing.
    assert!(run(&mut d, &dir, &events, None).is_empty());
    let unusual = [
        // First time in the (restricted) server room, at an ordinary hour.
        grant(&dir, "2026-11-06T08:00:00Z", "osl-srv-door", "1003"),
        // 03:00 local: never near that hour.
        grant(&dir, "2026-11-06T02:00:00Z", "osl-entrance", "1003"),
        // A login from the US.
        vpn(
            &dir,
            "2026-11-06T20:00:00Z",
            "ola",
            Activity::Connect,
            "203.0.113.9",
            NEW_YORK,
        ),
    ];
    let f = run(&mut d, &dir, &unusual, None);
    let kinds: Vec<(&str, f32)> = f
        .iter()
        .map(|f| (f.detail["kind"].as_str().unwrap(), f.score.unwrap()))
        .collect();
    assert_eq!(kinds.len(), 3, "{f:#?}");
    assert_eq!(kinds[0].0, "first_access");
    assert!(
        (kinds[0].1 - 0.8).abs() < 1e-6,
        "new zone (0.6) + restricted (0.2)"
    );
    assert_eq!(kinds[1].0, "unusual_hour");
    assert!(kinds[1].1 >= 0.9);
    assert_eq!(kinds[2].0, "new_country");
    assert!((kinds[2].1 - 0.9).abs() < 1e-6);
    assert!(f.iter().all(|f| f.severity == Severity::Low));
    assert!(
        f[2].summary.contains("logged in from US"),
        "{}",
        f[2].summary
    );
    // The usual door at the usual hour, afterwards: nothing.
    let usual = [grant(&dir, "2026-11-07T07:06:00Z", "osl-entrance", "1003")];
    assert!(run(&mut d, &dir, &usual, None).is_empty());
}

// ---------------------------------------------------------------------------------------------
// State across a restart.

#[test]
fn state_survives_save_and_load() {
    let dir = directory();
    let before = [
        grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001"),
        grant(&dir, "2026-11-25T01:10:00Z", "osl-srv-door", "1003"),
        grant(&dir, "2026-11-25T08:10:00Z", "osl-entrance", "1003"),
        badge(
            &dir,
            "2026-11-25T08:10:01Z",
            "osl-entrance",
            Activity::Taken,
            Some("1003"),
            "in",
        ),
        badge(
            &dir,
            "2026-11-25T08:30:00Z",
            "osl-dock-door",
            Activity::Forced,
            None,
            "in",
        ),
        status(
            &dir,
            "2026-11-25T08:00:00Z",
            "osl-entrance-cam",
            DeviceKind::Unknown,
            Activity::Offline,
        ),
    ];
    let after = [
        vpn(
            &dir,
            "2026-11-25T09:00:00Z",
            "kari",
            Activity::Connect,
            "203.0.113.9",
            NEW_YORK,
        ),
        grant(&dir, "2026-11-25T08:40:00Z", "lon-entrance", "1001"),
        camera(&dir, "2026-11-25T08:10:03Z", "osl-entrance", 2),
        syslog(
            &dir,
            "<85>1 2026-11-25T01:15:00.000Z srv-db-01 sudo - - - ola : TTY=pts/0 ; PWD=/home/ola ; USER=root ; COMMAND=/usr/bin/id",
        ),
        camera(&dir, "2026-11-25T08:30:04Z", "osl-dock-door", 1),
        status(
            &dir,
            "2026-11-25T09:00:00Z",
            "osl-entrance-cam",
            DeviceKind::Unknown,
            Activity::Online,
        ),
    ];
    let config = NativeConfig::default();
    let mut first = native::detections(&config);
    let mut out = run(&mut first, &dir, &before, None);
    let camera_offline_raised = out.len();
    let saved: Vec<(String, Option<serde_json::Value>)> = first
        .iter()
        .map(|d| (d.id().to_owned(), d.save_state()))
        .collect();
    // Through text, as it is persisted.
    let text = serde_json::to_string(&saved).unwrap();
    let saved: Vec<(String, Option<serde_json::Value>)> = serde_json::from_str(&text).unwrap();
    let mut second = native::detections(&config);
    for (d, (id, state)) in second.iter_mut().zip(saved.clone()) {
        assert_eq!(d.id(), id);
        if let Some(s) = state {
            d.load_state(s);
        }
    }
    // Saving again gives what was loaded.
    for (d, (_, state)) in second.iter().zip(&saved) {
        assert_eq!(&d.save_state(), state, "{}", d.id());
    }
    out.extend(run(&mut second, &dir, &after, Some("2026-11-25T09:30:00Z")));
    // Doors that received events since the last tick are decided once quiet for one.
    out.extend(run(&mut second, &dir, &[], Some("2026-11-25T09:31:00Z")));
    let mut raised: Vec<&str> = rules(&out[camera_offline_raised..]);
    raised.sort();
    raised.dedup();
    assert_eq!(
        raised,
        [
            "tandem.after_hours_restricted_then_privileged",
            "tandem.camera_offline",
            "tandem.forced_door_with_person",
            "tandem.impossible_travel_badge",
            "tandem.remote_login_while_on_site",
            "tandem.tailgating",
        ],
        "{out:#?}"
    );
    // A state from an unrelated version is ignored, not fatal.
    let mut d = native::detections(&config);
    for x in d.iter_mut() {
        x.load_state(json!({"nonsense": true}));
    }
}

// ---------------------------------------------------------------------------------------------
// The simulated company.

mod sim {
    use super::*;
    use tandem_identity::hr;
    use tandem_identity::records::{RecordsFile, plan};
    use tandem_sim::{GroundTruth, Org, Record, ScenarioKind, Simulator};

    /// The org's places and devices, as the demo's directory feed builds them
    /// (`crates/tandem/src/directory_feed.rs`).
    fn org_records(org: &Org) -> RecordsFile {
        serde_json::from_value(org.directory_records()).unwrap()
    }

    fn org_directory(org: &Org) -> Directory {
        let now = t("2025-01-01T00:00:00Z");
        let mut dir = Directory::default();
        let mut seq = 0;
        let mut apply = |dir: &mut Directory, mut changes: Vec<DirectoryChange>| {
            for c in &mut changes {
                seq += 1;
                c.seq = seq;
            }
            dir.apply(&changes).unwrap();
        };
        let records = plan(&dir, &org_records(org), "records:simulated-org", now).unwrap();
        apply(&mut dir, records.changes);
        let people = hr::plan(
            &dir,
            org.hr_csv().as_bytes(),
            &hr::HrColumns::default(),
            "hr:simulated-org.csv",
            now,
        )
        .unwrap();
        assert!(people.errors.is_empty(), "{:?}", people.errors);
        apply(&mut dir, people.changes);
        dir
    }

    /// Records to resolved events: HTTP records are Tandem JSON, syslog lines go through the
    /// syslog decoder, as the server would.
    pub(super) fn events_for(dir: &Directory, records: &[Record]) -> Vec<Event> {
        events(dir, records)
    }

    pub(super) fn org_directory_for(org: &Org) -> Directory {
        org_directory(org)
    }

    fn events(dir: &Directory, records: &[Record]) -> Vec<Event> {
        let mut out: Vec<Event> = records
            .iter()
            .map(|r| {
                let e = match r.event() {
                    Some(e) => e,
                    None => {
                        let mut ctx = DecodeContext::new("syslog", r.time);
                        ctx.default_year = Some(2026);
                        decode_line(Format::Syslog, r.payload.as_bytes(), &ctx).unwrap()
                    }
                };
                resolved(dir, e)
            })
            .collect();
        out.sort_by_key(|e| e.time);
        out
    }

    /// All native detections over `events`, ticking once a simulated minute.
    fn detect(dir: &Directory, events: &[Event]) -> Vec<Finding> {
        let mut dets = native::detections(&NativeConfig::default());
        let mut out = Vec::new();
        let mut next_tick = events[0].time + Duration::minutes(1);
        for e in events {
            while e.time >= next_tick {
                for d in dets.iter_mut() {
                    d.tick(next_tick, dir, &mut out);
                }
                next_tick += Duration::minutes(1);
            }
            for d in dets.iter_mut() {
                d.observe(e, dir, &mut out);
            }
        }
        let end = events.last().unwrap().time + Duration::minutes(10);
        for d in dets.iter_mut() {
            d.tick(end, dir, &mut out);
        }
        out
    }

    /// The rules that page someone: they must be silent on an ordinary day.
    const PAGING: &[&str] = &[
        "tandem.terminated_access",
        "tandem.remote_login_while_on_site",
        "tandem.impossible_travel_badge",
        "tandem.tailgating",
        "tandem.forced_door_with_person",
        "tandem.after_hours_restricted_then_privileged",
    ];

    fn setup() -> (Simulator, Directory, Timestamp, Timestamp) {
        let org = Org::generate(11, 150);
        let dir = org_directory(&org);
        let sim = Simulator::new(org, 11);
        // A Wednesday in November (Oslo and Stockholm UTC+1, London UTC+0).
        (
            sim,
            dir,
            t("2026-11-25T00:00:00Z"),
            t("2026-11-26T00:00:00Z"),
        )
    }

    /// More of the ordinary: other seeds, the default company size, other weekdays and a
    /// weekend, each day on its own.
    #[test]
    fn other_ordinary_days_are_quiet() {
        for (seed, people, day) in [
            (3, 300, "2026-11-23"),
            (5, 200, "2026-06-17"),
            (7, 120, "2026-11-28"),
        ] {
            let org = Org::generate(seed, people);
            let dir = org_directory(&org);
            let mut sim = Simulator::new(org, seed);
            let from = t(&format!("{day}T00:00:00Z"));
            let evs = events(&dir, &sim.records_between(from, from + Duration::days(1)));
            let loud: Vec<Finding> = detect(&dir, &evs)
                .into_iter()
                .filter(|f| PAGING.contains(&f.rule_id.as_str()))
                .collect();
            assert!(loud.is_empty(), "seed {seed}, {day}: {loud:#?}");
        }
    }

    /// One door controller delivering five minutes behind every other source, and a buffer
    /// replaying a day already sent: neither is a tailgate (each door keeps its own clock).
    #[test]
    fn a_late_door_and_a_replayed_day_are_quiet() {
        let (mut sim, dir, from, to) = setup();
        let mut day = events(&dir, &sim.records_between(from, to));
        let late_door = day
            .iter()
            .find(|e| e.class == Class::PhysicalAccess && e.activity == Activity::Taken)
            .and_then(|e| e.place.as_ref()?.door.clone())
            .expect("the simulated day has door openings");
        let arrival = |e: &Event| {
            let late = e.place.as_ref().and_then(|p| p.door.as_deref()) == Some(&late_door);
            e.time + Duration::minutes(if late { 5 } else { 0 })
        };
        day.sort_by_key(arrival);
        let mut dets = native::detections(&NativeConfig::default());
        let mut out = Vec::new();
        for _replay in 0..2 {
            for e in &day {
                for d in dets.iter_mut() {
                    d.observe(e, &dir, &mut out);
                }
            }
        }
        for d in dets.iter_mut() {
            d.tick(to + Duration::minutes(10), &dir, &mut out);
        }
        let loud: Vec<&Finding> = out
            .iter()
            .filter(|f| f.rule_id == "tandem.tailgating")
            .collect();
        assert!(
            loud.is_empty(),
            "{} findings: {:#?}",
            loud.len(),
            loud.first()
        );
    }

    /// Door events (webhooks over HTTP) arriving 25 s (within `lateness_seconds`) behind the
    /// cameras (MQTT), with the detection ticking by the clock of arrival: a second person's
    /// grant that arrives after the camera frames still explains them, so a day stays quiet.
    /// Then the same day replayed long afterwards (the clock days ahead of the events),
    /// ticking between deliveries: the clock alone decides nothing while doors catch up.
    #[test]
    fn doors_delivered_behind_the_cameras_are_quiet() {
        let (mut sim, dir, from, to) = setup();
        let mut day = events(&dir, &sim.records_between(from, to));
        // Live, doors within the lateness allowance; replayed, doors a minute behind.
        for (lag, clock_ahead) in [(25, Duration::zero()), (60, Duration::days(12))] {
            let arrival = |e: &Event| {
                let late = e.class == Class::PhysicalAccess;
                e.time + Duration::seconds(if late { lag } else { 0 })
            };
            day.sort_by_key(arrival);
            let mut dets = only(|c| c.tailgating.enabled = true);
            let mut out = Vec::new();
            let mut next_tick = arrival(&day[0]) + Duration::seconds(20);
            for e in &day {
                while arrival(e) >= next_tick {
                    dets[0].tick(next_tick + clock_ahead, &dir, &mut out);
                    next_tick += Duration::seconds(20);
                }
                dets[0].observe(e, &dir, &mut out);
            }
            dets[0].tick(to + clock_ahead + Duration::minutes(10), &dir, &mut out);
            dets[0].tick(to + clock_ahead + Duration::minutes(11), &dir, &mut out);
            let loud: Vec<&Finding> = out
                .iter()
                .filter(|f| f.detail.get("rule") == Some(&json!("camera_count")))
                .collect();
            assert!(
                loud.is_empty(),
                "clock {clock_ahead} ahead: {} findings: {:#?}",
                loud.len(),
                loud.first()
            );
        }
    }

    #[test]
    fn an_ordinary_day_is_quiet_and_every_scenario_is_found() {
        let (mut sim, dir, from, to) = setup();
        let baseline = sim.records_between(from, to);
        let day = events(&dir, &baseline);
        assert!(day.len() > 2_000, "{}", day.len());
        let badges = day
            .iter()
            .filter(|e| e.class == Class::PhysicalAccess)
            .count();
        let resolved = day
            .iter()
            .filter(|e| e.class == Class::PhysicalAccess && e.actor.person.is_some())
            .count();
        assert!(
            resolved * 10 >= badges * 9,
            "badges resolve: {resolved}/{badges}"
        );

        let quiet = detect(&dir, &day);
        let loud: Vec<&Finding> = quiet
            .iter()
            .filter(|f| PAGING.contains(&f.rule_id.as_str()))
            .collect();
        assert!(loud.is_empty(), "an ordinary day raised: {loud:#?}");
        // Baselines are still learning and no source was watched for a day yet: nothing at all.
        assert!(quiet.is_empty(), "{quiet:#?}");

        // Stage every scenario on the same day, spread out.
        let staged: [(ScenarioKind, &str, &str); 5] = [
            (
                ScenarioKind::AfterHoursServerRoomThenSudo,
                "2026-11-25T01:30:00Z",
                "tandem.after_hours_restricted_then_privileged",
            ),
            (
                ScenarioKind::ForcedDoor,
                "2026-11-25T03:00:00Z",
                "tandem.forced_door_with_person",
            ),
            (
                ScenarioKind::Tailgate,
                "2026-11-25T08:40:00Z",
                "tandem.tailgating",
            ),
            (
                ScenarioKind::TerminatedBadgeUsed,
                "2026-11-25T10:00:00Z",
                "tandem.terminated_access",
            ),
            (
                ScenarioKind::VpnAbroadWhileOnSite,
                "2026-11-25T12:30:00Z",
                "tandem.remote_login_while_on_site",
            ),
        ];
        let mut records = baseline.clone();
        let mut truths: Vec<(GroundTruth, &str)> = Vec::new();
        for (kind, at, rule) in &staged {
            let (recs, gt) = sim.inject(*kind, t(at));
            records.extend(recs);
            truths.push((gt, *rule));
        }
        records.sort_by_key(|r| r.time);
        let all = events(&dir, &records);
        let found = detect(&dir, &all);
        for (gt, rule) in &truths {
            let hits: Vec<&Finding> = found
                .iter()
                .filter(|f| {
                    f.rule_id == *rule
                        && f.time >= gt.start
                        && f.time <= gt.end + Duration::minutes(5)
                })
                .collect();
            assert!(
                !hits.is_empty(),
                "{} not found; findings: {found:#?}",
                gt.kind
            );
            for p in &gt.people {
                assert!(
                    hits.iter()
                        .any(|f| f.entities.persons.contains(&p.employee_number)),
                    "{}: {} not named in {hits:#?}",
                    gt.kind,
                    p.employee_number
                );
            }
            if let Some(door) = &gt.place.door {
                assert!(
                    hits.iter().any(|f| f.entities.places.contains(door)),
                    "{}: door {door} not named in {hits:#?}",
                    gt.kind
                );
            }
            eprintln!("{}: {}", gt.kind, hits[0].summary);
        }
        // Nothing paging beyond the staged scenarios.
        let extra: Vec<&Finding> = found
            .iter()
            .filter(|f| PAGING.contains(&f.rule_id.as_str()))
            .filter(|f| {
                !truths.iter().any(|(gt, rule)| {
                    f.rule_id == *rule
                        && f.time >= gt.start
                        && f.time <= gt.end + Duration::minutes(5)
                })
            })
            .collect();
        assert!(extra.is_empty(), "unexpected: {extra:#?}");
    }
}

/// What detection costs per event on one core, over a simulated day of the 1,000-person
/// company the ingest bench sends (badges, cameras, VPN, logons, sudo), with the shipped Sigma
/// rules and every native detection: `cargo test --release -p tandem-detect --test native --
/// --ignored detector_throughput --nocapture`.
#[test]
#[ignore]
fn detector_throughput() {
    use tandem_detect::Detector;
    use tandem_detect::sigma::SigmaRules;
    let org = tandem_sim::Org::generate(11, 1000);
    let dir = sim::org_directory_for(&org);
    let mut simulator = tandem_sim::Simulator::new(org, 11);
    let from = t("2026-11-25T00:00:00Z");
    let day = sim::events_for(
        &dir,
        &simulator.records_between(from, from + Duration::days(1)),
    );
    let rules_dir = tempfile::tempdir().unwrap();
    tandem_detect::shipped::install(rules_dir.path()).unwrap();
    // Each round starts from fresh state, so every round does the same work.
    let rounds = 10;
    let timed = |name: &str, detector: &dyn Fn() -> Detector| {
        let mut secs = 0.0;
        let mut findings = 0;
        for _ in 0..rounds {
            let detector = detector();
            let start = std::time::Instant::now();
            for batch in day.chunks(5000) {
                findings += detector.process(batch, &dir).len();
            }
            secs += start.elapsed().as_secs_f64();
        }
        let n = day.len() * rounds;
        println!(
            "{name}: {n} events in {secs:.2} s = {:.0} events/s on one core, {} findings per day",
            n as f64 / secs,
            findings / rounds
        );
    };
    let shipped = || {
        let (rules, _) = SigmaRules::load(&[rules_dir.path().to_path_buf()], &Default::default());
        rules
    };
    let native = || native::detections(&NativeConfig::default());
    timed("shipped Sigma rules", &|| {
        Detector::new(shipped(), Vec::new())
    });
    timed("native detections", &|| {
        Detector::new(SigmaRules::empty(), native())
    });
    timed("both", &|| Detector::new(shipped(), native()));
}

// ---------------------------------------------------------------------------------------------
// Where findings happened: every engine's findings are placed by the detector from their
// evidence.

/// A door denial rule and its correlation, in Sigma, for the placing tests.
const SIGMA_DENIALS: &str = "title: Server Room Denial\nid: 55555555-5555-5555-5555-555555555555\nname: srv_denied\nlevel: low\nlogsource:\n    product: tandem\n    category: physical_access\ndetection:\n    sel:\n        activity: denied\n        door: osl-srv-door\n    condition: sel\n---\ntitle: Repeated Server Room Denials\nid: 66666666-6666-6666-6666-666666666666\nlevel: high\ncorrelation:\n    type: event_count\n    rules:\n        - srv_denied\n    group-by:\n        - door\n    timespan: 5m\n    condition:\n        gte: 2\n    generate: true\n";

#[test]
fn findings_of_every_engine_carry_the_site_building_zone_and_door_of_their_evidence() {
    use tandem_detect::Detector;
    use tandem_detect::sigma::SigmaRules;
    let dir = directory();
    let (sigma, report) = SigmaRules::from_text("draft", SIGMA_DENIALS);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    let mut config = NativeConfig::default();
    config.behaviour_baseline.enabled = false;
    let detector = Detector::new(sigma, native::detections(&config));

    // Native: a terminated person's badge at the Oslo server room door.
    let terminated = grant(&dir, "2026-03-05T08:00:00Z", "osl-srv-door", "1002");
    let found = detector.process(std::slice::from_ref(&terminated), &dir);
    let f = found
        .iter()
        .find(|f| f.rule_id == "tandem.terminated_access")
        .expect("raised");
    let place = f.place.as_ref().expect("placed");
    assert_eq!(place.site.as_deref(), Some("osl"));
    assert_eq!(place.zone.as_deref(), Some("osl-srv"));
    assert_eq!(place.door.as_deref(), Some("osl-srv-door"));
    assert_eq!(f.entities.sites, ["osl"]);
    let stored = f.to_event().place.unwrap();
    assert_eq!(
        (
            stored.site.as_deref(),
            stored.zone.as_deref(),
            stored.door.as_deref()
        ),
        (Some("osl"), Some("osl-srv"), Some("osl-srv-door")),
        "a door is stored as the door, its zone as the zone"
    );

    // Sigma detection and correlation, the second denial in a later batch.
    let deny = |at: &str| {
        badge(
            &dir,
            at,
            "osl-srv-door",
            Activity::Denied,
            Some("1001"),
            "in",
        )
    };
    let first = detector.process(&[deny("2026-03-05T09:00:00Z")], &dir);
    let second = detector.process(&[deny("2026-03-05T09:01:00Z")], &dir);
    for f in first
        .iter()
        .chain(&second)
        .filter(|f| f.engine.starts_with("sigma"))
    {
        assert_eq!(f.entities.sites, ["osl"], "{f:#?}");
        assert_eq!(
            f.place.as_ref().and_then(|p| p.door.as_deref()),
            Some("osl-srv-door"),
            "{f:#?}"
        );
    }
    assert!(
        second.iter().any(|f| f.engine == "sigma_correlation"),
        "{second:#?}"
    );

    // A journey: Oslo in one batch, London in the next. The finding spans both sites and is
    // placed where it completed, at the evidence in the batch that raised it.
    let oslo = grant(&dir, "2026-11-25T08:00:00Z", "osl-entrance", "1001");
    let london = grant(&dir, "2026-11-25T09:00:00Z", "lon-entrance", "1001");
    detector.process(&[oslo], &dir);
    let found = detector.process(&[london], &dir);
    let travel = found
        .iter()
        .find(|f| f.rule_id == "tandem.impossible_travel_badge")
        .expect("raised");
    assert_eq!(travel.entities.sites, ["lon", "osl"]);
    let e = travel.to_event();
    assert_eq!(
        Finding::sites_of(&e).collect::<std::collections::BTreeSet<_>>(),
        ["lon", "osl"].into()
    );
}
