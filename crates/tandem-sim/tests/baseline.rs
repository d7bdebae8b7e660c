//! The generated company and its ordinary days.

use chrono::{Datelike, NaiveDate, Timelike};
use std::collections::{BTreeMap, HashMap, HashSet};
use tandem_model::{Activity, Class, Event, Timestamp};
use tandem_sim::{
    Department, EmploymentStatus, HTTP_SOURCES, Org, Record, SYSLOG_SOURCE, Simulator, ZoneKind,
};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn day(sim: &mut Simulator, date: &str) -> Vec<Record> {
    let from = ts(&format!("{date}T00:00:00Z"));
    sim.records_between(from, from + chrono::Duration::days(1))
}

#[test]
fn same_seed_same_records_and_different_seed_different() {
    let a = day(&mut Simulator::new(Org::generate(11, 120), 5), "2026-11-25");
    let b = day(&mut Simulator::new(Org::generate(11, 120), 5), "2026-11-25");
    assert!(!a.is_empty());
    assert_eq!(a, b);
    let c = day(&mut Simulator::new(Org::generate(11, 120), 6), "2026-11-25");
    assert_ne!(a, c, "another simulator seed changes the day");
    assert_ne!(Org::generate(11, 120), Org::generate(12, 120));
    assert_eq!(Org::generate(11, 120), Org::generate(11, 120));
}

#[test]
fn windows_compose_and_stay_sorted() {
    let mut sim = Simulator::new(Org::generate(3, 80), 3);
    let (a, b, c) = (
        ts("2026-11-25T06:00:00Z"),
        ts("2026-11-25T09:17:31Z"),
        ts("2026-11-25T16:00:00Z"),
    );
    let whole = sim.records_between(a, c);
    let mut parts = sim.records_between(a, b);
    parts.extend(sim.records_between(b, c));
    assert_eq!(whole, parts);
    assert!(whole.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(whole.iter().all(|r| r.time >= a && r.time < c));
    // A fresh simulator, asked only for the later half, agrees: days do not depend on history.
    let mut fresh = Simulator::new(Org::generate(3, 80), 3);
    assert_eq!(fresh.records_between(b, c), sim.records_between(b, c));
    assert!(sim.records_between(c, a).is_empty());
}

#[test]
fn org_invariants() {
    let org = Org::generate(42, 300);
    assert_eq!(org.people.len(), 300);
    let unique = |f: &dyn Fn(&tandem_sim::Person) -> &str| {
        org.people.iter().map(f).collect::<HashSet<_>>().len() == org.people.len()
    };
    assert!(unique(&|p| &p.username));
    assert!(unique(&|p| &p.badge));
    assert!(unique(&|p| &p.employee_number));
    assert!(unique(&|p| &p.email));
    assert!(unique(&|p| &p.laptop));
    let numbers: HashSet<&str> = org
        .people
        .iter()
        .map(|p| p.employee_number.as_str())
        .collect();
    let mut roots = 0;
    for p in &org.people {
        match &p.manager {
            Some(m) => assert!(
                numbers.contains(m.as_str()),
                "{} has unknown manager {m}",
                p.username
            ),
            None => roots += 1,
        }
        assert!(org.site(&p.site).is_some());
        assert!(p.username.is_ascii() && p.username.contains('.'));
        for d in &p.doors {
            assert!(org.door(d).is_some(), "unknown door {d}");
        }
        for s in &p.servers {
            assert!(org.server(s).is_some());
        }
    }
    assert_eq!(roots, 1, "only the CEO has no manager");
    // No manager has left or is on leave.
    for p in &org.people {
        if let Some(m) = &p.manager {
            let m = org.people.iter().find(|q| &q.employee_number == m).unwrap();
            assert_eq!(m.status, EmploymentStatus::Active);
        }
    }

    assert!(org.sites.len() >= 2);
    for s in &org.sites {
        assert!(s.lat != 0.0 && s.lon != 0.0 && s.time_zone.contains('/'));
        assert!(s.buildings.iter().flat_map(|b| &b.floors).count() >= 2);
    }
    let rooms: Vec<_> = org
        .doors()
        .filter(|d| d.zone.kind == ZoneKind::ServerRoom)
        .collect();
    assert!(!rooms.is_empty());
    for r in &rooms {
        assert!(r.zone.restricted);
        let h = r.zone.allowed_hours.unwrap();
        assert_eq!((h.from_hour, h.to_hour), (7, 19));
        assert!(r.door.camera.is_some());
    }
    for kind in [ZoneKind::Lobby, ZoneKind::Office, ZoneKind::LoadingDock] {
        assert!(org.doors().any(|d| d.zone.kind == kind));
    }
    let in_rooms: Vec<_> = org
        .servers
        .iter()
        .filter(|s| s.zone.as_deref().is_some_and(|z| z.contains("server-room")))
        .collect();
    assert!(in_rooms.iter().any(|s| s.hostname == "srv-db-01"));
    for s in &in_rooms {
        let zone = s.zone.as_deref().unwrap();
        assert!(org.doors().any(|d| d.zone.id == zone));
    }

    let terminated: Vec<_> = org
        .people
        .iter()
        .filter(|p| p.status == EmploymentStatus::Terminated)
        .collect();
    assert!(terminated.len() >= 2);
    for p in &terminated {
        let t = p.terminated.unwrap();
        assert!(t < org.as_of && p.hired < t && !p.badge_active);
    }
    assert!(
        org.people
            .iter()
            .any(|p| p.status == EmploymentStatus::OnLeave)
    );
    for d in Department::ALL {
        assert!(
            org.people.iter().any(|p| p.department == *d),
            "{d} is empty"
        );
    }

    let csv = org.hr_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "employee_number,name,email,username,department,manager,title,site,hired,terminated,badge"
    );
    assert_eq!(lines.len(), org.people.len() + 1);
    assert!(
        lines.iter().all(|l| l.split(',').count() == 11),
        "no field needs quoting here"
    );
    let t = terminated[0];
    assert!(csv.contains(&format!(",{},{}\n", t.terminated.unwrap(), t.badge)));

    // Serialisable, and back.
    let json = serde_json::to_string(&org).unwrap();
    assert_eq!(serde_json::from_str::<Org>(&json).unwrap(), org);
}

#[test]
fn site_clocks_follow_eu_summer_time() {
    let org = Org::generate(1, 30);
    let oslo = org.site("oslo-hq").unwrap();
    let london = org.site("london").unwrap();
    let at = |d: &str| {
        NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap()
    };
    assert_eq!(oslo.to_utc(at("2026-11-25")), ts("2026-11-25T07:00:00Z"));
    assert_eq!(oslo.to_utc(at("2026-07-01")), ts("2026-07-01T06:00:00Z"));
    assert_eq!(london.to_utc(at("2026-11-25")), ts("2026-11-25T08:00:00Z"));
    assert_eq!(london.to_utc(at("2026-07-01")), ts("2026-07-01T07:00:00Z"));
    assert_eq!(oslo.local(ts("2026-07-01T06:00:00Z")), at("2026-07-01"));
}

fn counts(records: &[Record]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        *m.entry(r.channel_name().to_owned()).or_insert(0) += 1;
    }
    m
}

/// A Wednesday for 300 people, seed 42. Observed when written:
/// badges 2543, cameras 1251, syslog 2243, vpn 136, workstations 698 (6,871 in all).
#[test]
fn quiet_weekday_has_every_source_and_nothing_suspicious() {
    let org = Org::generate(42, 300);
    let mut sim = Simulator::new(org.clone(), 42);
    let records = day(&mut sim, "2026-11-25");
    let c = counts(&records);
    println!("records per source, Wednesday 2026-11-25, 300 people: {c:?}");
    let n = |k: &str| c.get(k).copied().unwrap_or(0);
    assert!((1_500..5_000).contains(&n("badges")), "{c:?}");
    assert!((700..2_500).contains(&n("cameras")), "{c:?}");
    assert!((40..400).contains(&n("vpn")), "{c:?}");
    assert!((300..1_200).contains(&n("workstations")), "{c:?}");
    assert!((1_000..5_000).contains(&n(SYSLOG_SOURCE)), "{c:?}");
    for s in HTTP_SOURCES {
        assert!(n(s.name) > 0);
    }

    let events: Vec<Event> = records.iter().filter_map(Record::event).collect();
    assert_eq!(
        events.len(),
        records.iter().filter(|r| r.http_source().is_some()).count(),
        "every HTTP payload parses"
    );
    let syslog: Vec<&str> = records
        .iter()
        .filter(|r| r.http_source().is_none())
        .map(|r| r.payload.as_str())
        .collect();
    for needle in [
        "Accepted publickey for ",
        "Failed password for ",
        "COMMAND=",
        "session closed for user",
        "CRON[",
    ] {
        assert!(
            syslog.iter().any(|l| l.contains(needle)),
            "no `{needle}` line"
        );
    }
    assert!(
        syslog.iter().any(|l| l.starts_with("<38>1 2026-")),
        "some hosts speak RFC 5424"
    );
    assert!(
        syslog.iter().any(|l| l.starts_with("<38>Nov 25 ")),
        "some hosts speak RFC 3164"
    );
    let activities: HashSet<Activity> = events.iter().map(|e| e.activity).collect();
    for a in [
        Activity::Granted,
        Activity::Taken,
        Activity::Denied,
        Activity::Detect,
        Activity::Connect,
        Activity::Disconnect,
        Activity::Logon,
        Activity::Logoff,
    ] {
        assert!(activities.contains(&a), "no {a}");
    }
    assert!(events.iter().any(
        |e| e.physical.as_ref().and_then(|p| p.reason.as_deref()) == Some("no_access_to_door")
    ));

    // Nothing that looks like a scenario.
    let terminated: HashSet<&str> = org
        .people
        .iter()
        .filter(|p| {
            p.terminated
                .is_some_and(|t| t <= NaiveDate::from_ymd_opt(2026, 11, 25).unwrap())
        })
        .map(|p| p.badge.as_str())
        .collect();
    let zones: HashMap<String, (&tandem_sim::Site, tandem_sim::AllowedHours)> = org
        .doors()
        .filter_map(|d| {
            d.zone
                .allowed_hours
                .map(|h| (d.zone.id.clone(), (d.site, h)))
        })
        .collect();
    for e in &events {
        if let Some(b) = e.actor.badge.as_deref() {
            assert!(!terminated.contains(b), "terminated badge used: {e:?}");
        }
        assert_ne!(e.activity, Activity::Forced);
        if let Some(d) = e.physical.as_ref().and_then(|p| p.detection.as_ref()) {
            assert_eq!(d.count, Some(1), "only single persons on camera");
            assert!((0.7..=0.95).contains(&d.score));
        }
        if e.activity == Activity::Granted
            && let Some((site, hours)) = e
                .place
                .as_ref()
                .and_then(|p| p.zone.as_ref())
                .and_then(|z| zones.get(z))
        {
            assert!(
                hours.contains(site.local(e.time)),
                "server room entered at {}",
                site.local(e.time)
            );
        }
        if e.class == Class::TunnelActivity {
            let geo = e.src.as_ref().and_then(|s| s.geo.as_ref()).unwrap();
            assert!(["NO", "GB", "SE"].contains(&geo.country.as_deref().unwrap()));
        }
    }
    // Nobody's VPN connects while their badge says they are inside.
    let mut presence: HashMap<&str, Vec<(Timestamp, bool)>> = HashMap::new();
    for e in &events {
        let lobby = e
            .place
            .as_ref()
            .and_then(|p| p.zone.as_deref())
            .is_some_and(|z| z.ends_with("-lobby"));
        if e.activity == Activity::Granted && lobby {
            let p = org
                .person_by_badge(e.actor.badge.as_deref().unwrap())
                .unwrap();
            let inside = e.physical.as_ref().and_then(|p| p.direction.as_deref()) == Some("in");
            presence
                .entry(&p.username)
                .or_default()
                .push((e.time, inside));
        }
    }
    for e in events.iter().filter(|e| e.activity == Activity::Connect) {
        let user = e.actor.user.as_deref().unwrap();
        let inside = presence
            .get(user)
            .and_then(|v| v.iter().rev().find(|(t, _)| *t <= e.time))
            .is_some_and(|(_, inside)| *inside);
        assert!(
            !inside,
            "{user} connects to the VPN while badged in at {}",
            e.time
        );
    }
}

#[test]
fn people_keep_plausible_hours() {
    let org = Org::generate(42, 300);
    let mut sim = Simulator::new(org.clone(), 42);
    let records = day(&mut sim, "2026-11-25");
    for e in records.iter().filter_map(Record::event) {
        if e.class == Class::PhysicalAccess {
            let site = org
                .site(e.place.as_ref().unwrap().site.as_deref().unwrap())
                .unwrap();
            let h = site.local(e.time).hour();
            assert!((5..22).contains(&h), "badge at {h}:00 local: {}", e.message);
        }
    }
    // Ssh comes from office laptops, VPN tunnels or the backup server; sudo only from IT and
    // Engineering.
    for r in records.iter().filter(|r| r.payload.contains("COMMAND=")) {
        let user = r
            .payload
            .split(" : TTY")
            .next()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap();
        let p = org.person_by_username(user).unwrap();
        assert!(
            p.department.uses_servers(),
            "{user} in {} uses sudo",
            p.department
        );
    }
}

#[test]
fn weekends_are_quiet() {
    let org = Org::generate(42, 300);
    let mut sim = Simulator::new(org, 42);
    let weekday = counts(&day(&mut sim, "2026-11-25"));
    let saturday_date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    assert_eq!(saturday_date.weekday(), chrono::Weekday::Sat);
    let saturday = counts(&day(&mut sim, "2026-11-28"));
    println!("Saturday 2026-11-28: {saturday:?}");
    for s in ["badges", "cameras", "workstations"] {
        assert!(
            saturday[s] * 8 < weekday[s],
            "{s}: {} vs {}",
            saturday[s],
            weekday[s]
        );
    }
    assert!(saturday["syslog"] > 600, "cron and the internet never rest");
}

#[test]
fn on_leave_and_terminated_people_stay_away() {
    let org = Org::generate(42, 300);
    let mut sim = Simulator::new(org.clone(), 42);
    let records = day(&mut sim, "2026-11-24");
    let away: Vec<_> = org
        .people
        .iter()
        .filter(|p| p.status != EmploymentStatus::Active)
        .collect();
    for r in &records {
        for p in &away {
            assert!(
                !r.payload.contains(&format!("\"{}\"", p.username)),
                "{} active: {}",
                p.username,
                r.payload
            );
            assert!(!r.payload.contains(&format!("for {} from", p.username)));
            assert!(!r.payload.contains(&format!("\"badge\":\"{}\"", p.badge)));
        }
    }
}
