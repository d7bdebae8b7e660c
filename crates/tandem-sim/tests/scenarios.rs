//! Staged incidents: records agree with their ground truth and show exactly the pattern.

use chrono::{Duration, Timelike};
use tandem_model::{Activity, Event, Timestamp};
use tandem_sim::{
    EmploymentStatus, GroundTruth, Org, Record, ScenarioKind, Simulator, write_ground_truth,
};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn sim() -> Simulator {
    Simulator::new(Org::generate(42, 300), 42)
}

fn check_truth(records: &[Record], gt: &GroundTruth) {
    assert!(!records.is_empty());
    assert_eq!(records.len(), gt.markers.len());
    for (r, m) in records.iter().zip(&gt.markers) {
        assert_eq!(r.time, m.time);
        assert_eq!(r.channel_name(), m.channel);
        assert!(!m.description.is_empty());
    }
    assert!(records.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(gt.start, records[0].time);
    assert_eq!(gt.end, records.last().unwrap().time);
    assert!(!gt.expected_detection.is_empty());
    // Nothing in the records gives the game away.
    for r in records {
        let p = r.payload.to_lowercase();
        for word in [
            "scenario",
            "tailgat",
            "inject",
            "terminated",
            "forced_door",
            "after_hours",
            gt.kind.name(),
        ] {
            assert!(!p.contains(word), "`{word}` in {}", r.payload);
        }
    }
}

fn events(records: &[Record]) -> Vec<Event> {
    records.iter().filter_map(Record::event).collect()
}

fn door(e: &Event) -> &str {
    e.place
        .as_ref()
        .and_then(|p| p.door.as_deref())
        .unwrap_or("")
}

#[test]
fn names_round_trip() {
    for k in ScenarioKind::ALL {
        assert_eq!(k.to_string().parse::<ScenarioKind>().unwrap(), *k);
        assert_eq!(serde_json::to_string(k).unwrap(), format!("\"{k}\""));
    }
    assert_eq!(
        "after_hours_server_room".parse::<ScenarioKind>().unwrap(),
        ScenarioKind::AfterHoursServerRoomThenSudo
    );
    let err = "tailgating"
        .parse::<ScenarioKind>()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown scenario `tailgating`") && err.contains("forced_door"),
        "{err}"
    );
}

#[test]
fn terminated_badge() {
    let mut sim = sim();
    let at = ts("2026-11-25T09:30:00Z");
    let (records, gt) = sim.inject(ScenarioKind::TerminatedBadgeUsed, at);
    check_truth(&records, &gt);
    let p = sim
        .org()
        .people
        .iter()
        .find(|p| p.employee_number == gt.people[0].employee_number)
        .unwrap();
    assert_eq!(p.status, EmploymentStatus::Terminated);
    assert!(p.terminated.unwrap() < at.date_naive() && !p.badge_active);
    let ev = events(&records);
    let grant = ev.iter().find(|e| e.activity == Activity::Granted).unwrap();
    assert_eq!(grant.actor.badge.as_deref(), Some(p.badge.as_str()));
    assert_eq!(grant.time, at);
    assert_eq!(gt.place.door.as_deref(), Some(door(grant)));
}

#[test]
fn vpn_abroad_while_on_site() {
    let mut sim = sim();
    let at = ts("2026-11-25T08:10:00Z");
    let (records, gt) = sim.inject(ScenarioKind::VpnAbroadWhileOnSite, at);
    check_truth(&records, &gt);
    let who = &gt.people[0];
    let ev = events(&records);
    let grant = ev.iter().find(|e| e.activity == Activity::Granted).unwrap();
    assert_eq!(grant.actor.badge.as_deref(), Some(who.badge.as_str()));
    assert_eq!(
        grant.place.as_ref().unwrap().site.as_deref(),
        Some("oslo-hq")
    );
    let vpn = ev.iter().find(|e| e.activity == Activity::Connect).unwrap();
    assert_eq!(vpn.actor.user.as_deref(), Some(who.username.as_str()));
    assert!(vpn.time > grant.time && vpn.time - grant.time <= Duration::hours(2));
    let geo = vpn.src.as_ref().unwrap().geo.as_ref().unwrap();
    assert!(!["NO", "GB", "SE", "DK", "FI", "DE"].contains(&geo.country.as_deref().unwrap()));
    assert!(geo.city.is_some() && geo.lat.is_some() && geo.lon.is_some());
    assert!(vpn.src.as_ref().unwrap().ip.is_some());
    // The baseline does not badge them out in between: they are on site all along.
    let between = sim.records_between(grant.time, vpn.time);
    assert!(
        events(&between)
            .iter()
            .all(|e| e.actor.badge.as_deref() != Some(who.badge.as_str()))
    );
}

#[test]
fn every_scenario_at_any_time_matches_its_truth() {
    let mut sim = sim();
    for at in [
        "2026-11-24T03:00:00Z",
        "2026-11-25T12:34:56.789Z",
        "2026-11-28T15:00:00Z",
        "2026-07-01T08:00:00Z",
    ] {
        for k in ScenarioKind::ALL {
            let (records, gt) = sim.inject(*k, ts(at));
            check_truth(&records, &gt);
            assert_eq!(gt.kind, *k);
        }
    }
}

#[test]
fn tailgate() {
    let mut sim = sim();
    // 07:30 UTC is the morning rush at the Oslo entrance.
    let at = ts("2026-11-25T07:30:00Z");
    let (records, gt) = sim.inject(ScenarioKind::Tailgate, at);
    check_truth(&records, &gt);
    let ev = events(&records);
    let grants: Vec<_> = ev
        .iter()
        .filter(|e| e.activity == Activity::Granted)
        .collect();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        ev.iter().filter(|e| e.activity == Activity::Taken).count(),
        1
    );
    let cam = ev.iter().find(|e| e.activity == Activity::Detect).unwrap();
    let det = cam.physical.as_ref().unwrap().detection.as_ref().unwrap();
    assert_eq!((det.label.as_str(), det.count), ("person", Some(2)));
    assert!(cam.time >= grants[0].time && cam.time - grants[0].time <= Duration::seconds(3));
    assert_eq!(door(cam), door(grants[0]));
    assert!(cam.place.as_ref().unwrap().camera.is_some());
    // No baseline grant at that door anywhere near, so exactly one grant explains the count.
    let g = grants[0].time;
    let near = sim.records_between(g - Duration::seconds(15), g + Duration::seconds(15));
    assert!(events(&near).iter().all(|e| door(e) != door(grants[0])));
}

#[test]
fn forced_door() {
    let mut sim = sim();
    let at = ts("2026-11-25T06:40:00Z");
    let (records, gt) = sim.inject(ScenarioKind::ForcedDoor, at);
    check_truth(&records, &gt);
    let ev = events(&records);
    assert_eq!(ev.len(), 2);
    let forced = &ev[0];
    assert_eq!(forced.activity, Activity::Forced);
    assert!(forced.actor.badge.is_none());
    let cam = &ev[1];
    assert_eq!(
        cam.physical
            .as_ref()
            .unwrap()
            .detection
            .as_ref()
            .unwrap()
            .label,
        "person"
    );
    assert_eq!(door(cam), door(forced));
    assert!(cam.time - forced.time <= Duration::seconds(5));
    let before = sim.records_between(forced.time - Duration::seconds(60), forced.time);
    assert!(
        events(&before)
            .iter()
            .all(|e| !(door(e) == door(forced) && e.activity == Activity::Granted)),
        "a grant at the door in the minute before"
    );
}

#[test]
fn after_hours_server_room_then_sudo() {
    let mut sim = sim();
    // Asked for in the day: happens at 02:10 local (01:10 UTC in November).
    let (records, gt) = sim.inject(
        ScenarioKind::AfterHoursServerRoomThenSudo,
        ts("2026-11-25T13:00:00Z"),
    );
    check_truth(&records, &gt);
    let org = sim.org().clone();
    let site = org.site("oslo-hq").unwrap();
    let ev = events(&records);
    let grant = ev
        .iter()
        .find(|e| e.activity == Activity::Granted && door(e).contains("server-room"))
        .unwrap();
    let local = site.local(grant.time);
    assert_eq!((local.hour(), local.minute()), (2, 10));
    let zone = grant.place.as_ref().unwrap().zone.clone().unwrap();
    let syslog: Vec<&Record> = records
        .iter()
        .filter(|r| r.http_source().is_none())
        .collect();
    let login = syslog
        .iter()
        .find(|r| r.payload.contains("Accepted publickey for"))
        .unwrap();
    let sudo = syslog
        .iter()
        .find(|r| r.payload.contains("COMMAND="))
        .unwrap();
    assert!(login.time > grant.time && sudo.time - grant.time <= Duration::minutes(10));
    let host = org
        .servers
        .iter()
        .find(|s| login.payload.contains(&format!(" {} ", s.hostname)))
        .unwrap();
    assert_eq!(host.zone.as_deref(), Some(zone.as_str()));
    assert!(sudo.payload.contains(&format!(" {} ", host.hostname)));
    assert!(
        sudo.payload
            .contains(&format!("{} : TTY=", gt.people[0].username))
    );

    // Asked for at night: happens right then.
    let night = ts("2026-11-26T22:40:00Z");
    let (records, gt) = sim.inject(ScenarioKind::AfterHoursServerRoomThenSudo, night);
    check_truth(&records, &gt);
    let grant = events(&records)
        .into_iter()
        .find(|e| door(e).contains("server-room"))
        .unwrap();
    assert_eq!(grant.time, night);
}

#[test]
fn injection_is_deterministic_and_ids_unique() {
    let at = ts("2026-11-25T10:00:00Z");
    let run = || {
        let mut s = sim();
        ScenarioKind::ALL
            .iter()
            .map(|k| s.inject(*k, at))
            .collect::<Vec<_>>()
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    let ids: std::collections::HashSet<_> = a.iter().map(|(_, gt)| gt.id.clone()).collect();
    assert_eq!(ids.len(), ScenarioKind::ALL.len());
}

#[test]
fn ground_truth_appends_json_lines() {
    let mut s = sim();
    let path = std::env::temp_dir().join(format!("tandem-sim-gt-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let (_, a) = s.inject(ScenarioKind::Tailgate, ts("2026-11-25T10:00:00Z"));
    let (_, b) = s.inject(ScenarioKind::ForcedDoor, ts("2026-11-25T11:00:00Z"));
    write_ground_truth(&path, &a).unwrap();
    write_ground_truth(&path, &b).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let lines: Vec<GroundTruth> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, vec![a, b]);
    let err = write_ground_truth("/nonexistent-dir/x.jsonl", &lines[0]);
    assert!(err.is_err(), "I/O errors are returned, not panicked");
}
