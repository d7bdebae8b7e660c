use std::sync::Arc;
use tandem_identity::{Identity, Status, hr, records};
use tandem_model::{Activity, Class, Event};
use tandem_store::{EventStore, SqliteStore, StoreConfig};

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E1000,Ingrid Dahl,ingrid.dahl@nordlys.example,idahl,Finance,,CFO,osl,2019-01-07,,10001
E1001,Alice Berg,alice.berg@nordlys.example,aberg,Finance,E1000,Controller,osl,2021-03-01,,10442
E1002,Bjørn Lie,bjorn.lie@nordlys.example,blie,IT,E1000,Engineer,osl,2020-05-04,2026-03-01,10077
";

const PLACES: &str = "
places:
  - { id: osl, kind: site, name: Oslo HQ, lat: 59.91, lon: 10.75, time_zone: Europe/Oslo, country: NO, city: Oslo }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-a-srv, kind: zone, name: Server room, parent: osl-a, restricted: true, allowed_hours: { from_hour: 7, to_hour: 19 } }
  - { id: osl-a-srv-d1, kind: door, name: Server room door, parent: osl-a-srv }
devices:
  - { id: lap-0042, hostname: lap-0042.nordlys.example, kind: laptop, owner: E1001 }
  - { id: srv-db1, hostname: db1, ips: [10.1.20.5], kind: server, criticality: high, place: osl-a-srv }
";

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn open(dir: &std::path::Path) -> (Arc<SqliteStore>, Identity) {
    let store = Arc::new(SqliteStore::open(dir, StoreConfig::default()).unwrap());
    let identity = Identity::open(store.clone()).unwrap();
    (store, identity)
}

fn loaded(dir: &std::path::Path) -> (Arc<SqliteStore>, Identity) {
    let (store, id) = open(dir);
    let now = t("2026-03-10T12:00:00Z");
    let plan = hr::plan(
        &id.snapshot(),
        HR.as_bytes(),
        &hr::HrColumns::default(),
        "hr:test.csv",
        now,
    )
    .unwrap();
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    id.commit(plan.changes).unwrap();
    let file = records::RecordsFile::parse("places.yaml", PLACES.as_bytes()).unwrap();
    let plan = records::plan(&id.snapshot(), &file, "places:test", now).unwrap();
    id.commit(plan.changes).unwrap();
    (store, id)
}

fn badge_event(at: &str, badge: &str) -> Event {
    let mut e = Event::new("badges", Class::PhysicalAccess, Activity::Granted, t(at));
    e.actor.badge = Some(badge.into());
    e.place_mut().door = Some("Server room door".into());
    e
}

#[test]
fn badge_one_minute_after_termination_resolves_to_a_terminated_person() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, id) = loaded(dir.path());
    let dir = id.snapshot();

    let mut before = badge_event("2026-02-28T23:59:00Z", "10077");
    let mut after = badge_event("2026-03-01T00:01:00Z", "10077");
    dir.resolve(&mut before);
    dir.resolve(&mut after);
    let (b, a) = (before.actor.person.unwrap(), after.actor.person.unwrap());
    assert_eq!(
        (b.id.as_str(), b.status.as_deref()),
        ("E1002", Some("active"))
    );
    assert_eq!(
        (a.id.as_str(), a.status.as_deref()),
        ("E1002", Some("terminated"))
    );
    assert_eq!(a.method, "badge");
    // The place was completed from the directory.
    let place = after.place.unwrap();
    assert_eq!(place.zone.as_deref(), Some("osl-a-srv"));
    assert_eq!(place.site.as_deref(), Some("osl"));
    assert_eq!(place.geo.unwrap().country.as_deref(), Some("NO"));
}

#[test]
fn hr_import_is_idempotent_and_plans_only_differences() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, id) = loaded(dir.path());
    let now = t("2026-03-11T12:00:00Z");
    let again = hr::plan(
        &id.snapshot(),
        HR.as_bytes(),
        &hr::HrColumns::default(),
        "hr",
        now,
    )
    .unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.summary);
    assert_eq!(again.unchanged, 3);

    let moved = HR.replace("Finance,E1000,Controller", "Sales,E1000,Controller");
    let plan = hr::plan(
        &id.snapshot(),
        moved.as_bytes(),
        &hr::HrColumns::default(),
        "hr",
        now,
    )
    .unwrap();
    assert_eq!(plan.updated_people, 1);
    assert_eq!(
        plan.summary,
        vec!["E1001 Alice Berg: department Finance → Sales"]
    );
    id.commit(plan.changes).unwrap();
    let d = id.snapshot();
    assert_eq!(
        d.person("E1001").unwrap().department.as_deref(),
        Some("Sales")
    );
    // History keeps what was true before.
    assert_eq!(
        d.person_at("E1001", t("2026-03-10T13:00:00Z"))
            .unwrap()
            .department
            .as_deref(),
        Some("Finance")
    );
}

#[test]
fn hr_rows_with_errors_are_listed_and_the_rest_imported() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, id) = open(dir.path());
    let bad = "employee_number,name,hired\nE1,Ann,2020-01-01\nE2,,2020-01-01\nE3,Cat,01/02/2020\n,Dan,2020-01-01\n";
    let plan = hr::plan(
        &id.snapshot(),
        bad.as_bytes(),
        &hr::HrColumns::default(),
        "hr",
        t("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(plan.new_people, 1);
    assert_eq!(plan.errors.len(), 3, "{:?}", plan.errors);
    assert!(plan.errors[0].starts_with("line 3: employee E2 has no name"));
    assert!(plan.errors[1].contains("line 4: hired: `01/02/2020` is not a date"));

    let err = hr::plan(
        &id.snapshot(),
        b"id,name\n1,A\n",
        &hr::HrColumns::default(),
        "hr",
        t("2026-01-01T00:00:00Z"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no `employee_number` column"), "{err}");
}

#[test]
fn identifiers_resolve_by_account_alias_device_and_face() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, id) = loaded(dir.path());
    let d = id.snapshot();
    let at = "2026-03-05T09:00:00Z";
    type Case<'a> = (&'a dyn Fn(&mut Event), &'a str, &'a str);
    let cases: [Case; 5] = [
        (
            &|e| e.actor.user = Some("alice.berg@nordlys.example".into()),
            "E1001",
            "alias",
        ),
        (
            &|e| e.actor.user = Some("NORDLYS\\aberg".into()),
            "E1001",
            "alias",
        ),
        (&|e| e.actor.user = Some("ABERG".into()), "E1001", "alias"),
        (
            &|e| e.actor.face = Some("Ingrid Dahl".into()),
            "E1000",
            "face",
        ),
        (
            &|e| e.device_mut().hostname = Some("LAP-0042".into()),
            "E1001",
            "device_owner",
        ),
    ];
    for (set, person, method) in cases {
        let mut e = Event::new("x", Class::Authentication, Activity::Logon, t(at));
        set(&mut e);
        let gaps = d.resolve(&mut e);
        let p = e
            .actor
            .person
            .unwrap_or_else(|| panic!("unresolved: {gaps:?}"));
        assert_eq!((p.id.as_str(), p.method.as_str()), (person, method));
        assert!(p.confidence > 0.5 && p.confidence <= 1.0);
    }

    let mut server = Event::new("x", Class::ProcessActivity, Activity::Launch, t(at));
    server.device_mut().ip = Some("10.1.20.5".parse().unwrap());
    d.resolve(&mut server);
    assert_eq!(
        server.device.as_ref().unwrap().id.as_deref(),
        Some("srv-db1")
    );
    assert_eq!(
        server.place.as_ref().unwrap().zone.as_deref(),
        Some("osl-a-srv")
    );

    let mut stranger = Event::new("x", Class::Authentication, Activity::Logon, t(at));
    stranger.actor.user = Some("mallory".into());
    let gaps = d.resolve(&mut stranger);
    assert!(gaps.person && stranger.actor.person.is_none());
}

#[test]
fn gaps_are_counted_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, id) = loaded(dir.path());
    let mut events = vec![
        badge_event("2026-03-05T09:00:00Z", "10442"),
        badge_event("2026-03-05T09:00:00Z", "99999"),
    ];
    id.resolve_batch("badges", &mut events);
    let all = id.gaps();
    let gaps = &all["badges"];
    assert_eq!((gaps.events, gaps.person), (2, 1));
}

/// A directory change published right after a batch is resolved must not reach the stages
/// that follow with that batch: `resolve_batch` hands back the snapshot it resolved against,
/// which is what detection then reads.
#[test]
fn a_batch_is_resolved_and_handed_on_with_one_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, id) = loaded(dir.path());
    let mut events = vec![badge_event("2026-03-10T12:30:00Z", "10442")];
    let used = id.resolve_batch("badges", &mut events);
    let person = events[0].actor.person.clone().unwrap();
    assert_eq!(person.id, "E1001");

    let moved = HR.replace("Finance,E1000,Controller", "Sales,E1000,Controller");
    let now = t("2026-03-10T12:00:00Z");
    let plan = hr::plan(
        &id.snapshot(),
        moved.as_bytes(),
        &hr::HrColumns::default(),
        "hr",
        now,
    )
    .unwrap();
    id.commit(plan.changes).unwrap();

    assert_eq!(
        id.snapshot().person("E1001").unwrap().department.as_deref(),
        Some("Sales")
    );
    // The snapshot the batch was resolved with is the one before the change.
    assert_eq!(
        used.person("E1001").unwrap().department.as_deref(),
        Some("Finance")
    );
    assert_eq!(person.department.as_deref(), Some("Finance"));
}

#[test]
fn the_directory_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _id) = loaded(dir.path());
        store.close().unwrap();
    }
    let (_store, id) = open(dir.path());
    let d = id.snapshot();
    assert_eq!(d.people().len(), 3);
    assert_eq!(d.person("E1002").unwrap().status, Status::Terminated);
    assert_eq!(d.places().len(), 4);
    assert_eq!(d.devices_of("E1001")[0].id, "lap-0042");
}

#[test]
fn places_files_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, id) = open(dir.path());
    let orphan = "places:\n  - { id: d1, kind: door, name: Door, parent: nowhere }\n";
    let file = records::RecordsFile::parse("p.yaml", orphan.as_bytes()).unwrap();
    let err = records::plan(&id.snapshot(), &file, "x", chrono::Utc::now())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "place `d1`: parent `nowhere` does not exist");
    let typo = "places:\n  - { id: s, kind: site, name: S, latitude: 1 }\n";
    assert!(
        records::RecordsFile::parse("p.yaml", typo.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("latitude")
    );

    let csv =
        "id,kind,name,parent,restricted,allowed_hours\ns,site,Site,,,\nz,zone,Lab,s,yes,8-17\n";
    let file = records::RecordsFile::parse("places.csv", csv.as_bytes()).unwrap();
    let plan = records::plan(&id.snapshot(), &file, "x", chrono::Utc::now()).unwrap();
    assert_eq!(plan.new, 2);
    id.commit(plan.changes).unwrap();
    let z = id.snapshot().place("z").cloned().unwrap();
    assert!(z.restricted);
    assert_eq!(
        z.allowed_hours.unwrap().to_string(),
        "mon-fri 08:00-17:00",
        "whole hours on weekdays, as older files meant"
    );
}

/// What real sites have: egress networks, restricted doors, schedules to the minute per day,
/// holidays, in YAML, JSON and CSV alike, surviving the change log and a restart.
#[test]
fn sites_carry_networks_restricted_doors_schedules_and_holidays() {
    let yaml = r#"
places:
  - id: bgo
    kind: site
    name: Bergen office
    lat: 60.39
    lon: 5.32
    time_zone: Europe/Oslo
    egress_networks: [198.51.100.16/28, "2001:db8:20::/48", 10.20.0.0/16]
    holidays: [2026-05-17, 2026-12-25]
  - { id: bgo-lab, kind: zone, name: Lab, parent: bgo }
  - id: bgo-lab-door
    kind: door
    name: Lab door
    parent: bgo-lab
    restricted: true
    allowed_hours: "mon-fri 07:30-18:45; sat 09:00-13:00"
  - id: bgo-vault
    kind: door
    name: Vault door
    parent: bgo-lab
    restricted: true
    allowed_hours: { mon-thu: "08:00-12:00, 13:00-16:30", fri: [08:00-12:00] }
"#;
    let json = serde_json::json!({"places": [
        {"id": "bgo", "kind": "site", "name": "Bergen office", "lat": 60.39, "lon": 5.32,
         "time_zone": "Europe/Oslo",
         "egress_networks": ["198.51.100.16/28", "2001:db8:20::/48", "10.20.0.0/16"],
         "holidays": ["2026-05-17", "2026-12-25"]},
        {"id": "bgo-lab", "kind": "zone", "name": "Lab", "parent": "bgo"},
        {"id": "bgo-lab-door", "kind": "door", "name": "Lab door", "parent": "bgo-lab",
         "restricted": true, "allowed_hours": "mon-fri 07:30-18:45; sat 09:00-13:00"},
        {"id": "bgo-vault", "kind": "door", "name": "Vault door", "parent": "bgo-lab",
         "restricted": true, "allowed_hours": {"mon-thu": "08:00-12:00, 13:00-16:30", "fri": "08:00-12:00"}}
    ]})
    .to_string();
    let csv = "id,kind,name,parent,lat,lon,time_zone,egress_networks,holidays,restricted,allowed_hours\n\
        bgo,site,Bergen office,,60.39,5.32,Europe/Oslo,198.51.100.16/28;2001:db8:20::/48;10.20.0.0/16,2026-05-17;2026-12-25,,\n\
        bgo-lab,zone,Lab,bgo,,,,,,,\n\
        bgo-lab-door,door,Lab door,bgo-lab,,,,,,yes,mon-fri 07:30-18:45; sat 09:00-13:00\n\
        bgo-vault,door,Vault door,bgo-lab,,,,,,yes,\"mon-thu 08:00-12:00, 13:00-16:30; fri 08:00-12:00\"\n";
    let from_yaml = records::RecordsFile::parse("places.yaml", yaml.as_bytes()).unwrap();
    let from_json = records::RecordsFile::parse("places.json", json.as_bytes()).unwrap();
    let from_csv = records::RecordsFile::parse("places.csv", csv.as_bytes()).unwrap();
    assert_eq!(from_yaml, from_json);
    assert_eq!(from_yaml, from_csv);

    let dir = tempfile::tempdir().unwrap();
    {
        let (_store, id) = open(dir.path());
        let plan = records::plan(
            &id.snapshot(),
            &from_yaml,
            "places:test",
            t("2026-03-10T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(plan.new, 4);
        id.commit(plan.changes).unwrap();
    }
    // After a restart (the change log replayed), everything is still there.
    let (_store, id) = open(dir.path());
    let snap = id.snapshot();
    let site = snap.place("bgo").unwrap();
    assert_eq!(site.egress_networks.len(), 3);
    assert_eq!(site.holidays.len(), 2);
    for (ip, place) in [
        ("198.51.100.20", Some("bgo")),
        ("198.51.100.40", None),
        ("2001:db8:20::7", Some("bgo")),
        ("::ffff:198.51.100.17", Some("bgo")),
        ("10.20.3.4", Some("bgo")),
    ] {
        assert_eq!(
            snap.place_by_network(ip.parse().unwrap())
                .map(|p| p.id.as_str()),
            place,
            "{ip}"
        );
    }
    let vault = snap.place("bgo-vault").unwrap();
    assert!(vault.restricted);
    assert_eq!(
        vault.allowed_hours.as_ref().unwrap().to_string(),
        "mon-thu 08:00-12:00, 13:00-16:30; fri 08:00-12:00"
    );
    // Importing the same file again changes nothing.
    let again = records::plan(&snap, &from_csv, "places:test", t("2026-03-11T12:00:00Z")).unwrap();
    assert_eq!((again.new, again.updated), (0, 0));

    // Mistakes are named, with the record.
    let bad = "places:\n  - { id: s, kind: site, name: S, egress_networks: [10.0.0.0/33] }\n";
    let err = records::RecordsFile::parse("p.yaml", bad.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("p.yaml"), "{err}");
    let bad = "places:\n  - { id: s, kind: site, name: S, restricted: true, allowed_hours: 'mon-fri 07:30-25:00' }\n";
    let err = records::RecordsFile::parse("p.yaml", bad.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a time of day"), "{err}");
}

#[test]
fn map_positions_are_checked_and_kept_when_a_file_leaves_them_out() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, id) = open(dir.path());
    let plan_hash = "a".repeat(64);
    let file = format!(
        "places:
  - {{ id: s, kind: site, name: S }}
  - {{ id: b, kind: building, name: B, parent: s }}
  - {{ id: f2, kind: floor, name: Floor 2, parent: b, floor_plan: {plan_hash} }}
  - {{ id: d1, kind: door, name: Lab door, parent: f2, x: 0.25, y: 0.75 }}
"
    );
    let parsed = records::RecordsFile::parse("p.yaml", file.as_bytes()).unwrap();
    let plan = records::plan(&id.snapshot(), &parsed, "x", chrono::Utc::now()).unwrap();
    id.commit(plan.changes).unwrap();
    assert_eq!(
        id.snapshot().place("d1").unwrap().position(),
        Some((0.25, 0.75))
    );

    // The same file without map fields changes nothing: the plan and the position stay.
    let bare = "places:
  - { id: f2, kind: floor, name: Floor 2, parent: b }
  - { id: d1, kind: door, name: Lab door, parent: f2 }
";
    let parsed = records::RecordsFile::parse("p.yaml", bare.as_bytes()).unwrap();
    let plan = records::plan(&id.snapshot(), &parsed, "x", chrono::Utc::now()).unwrap();
    assert_eq!((plan.new, plan.updated, plan.unchanged), (0, 0, 2));

    for (bad, why) in [
        (
            "  - { id: d1, kind: door, name: D, parent: f2, x: 1.5, y: 0.2 }",
            "place `d1`: x and y are fractions of the plan, from 0 to 1",
        ),
        (
            "  - { id: d1, kind: door, name: D, parent: f2, x: 0.5 }",
            "place `d1`: x and y go together",
        ),
        (
            "  - { id: b2, kind: building, name: B2, parent: s, x: 0.5, y: 0.5 }",
            "place `b2`: only doors, readers and cameras are placed on a plan, not a building",
        ),
        (
            "  - { id: d1, kind: door, name: D, parent: f2, x: 0.5, y: 0.5, map_floor: b }",
            "place `d1`: map_floor `b` is a building, not a floor",
        ),
        (
            "  - { id: f2, kind: floor, name: F, parent: b, floor_plan: plan.png }",
            "place `f2`: floor_plan `plan.png` is not a SHA-256 (64 lower-case hex digits)",
        ),
    ] {
        let text = format!("places:\n{bad}\n");
        let parsed = records::RecordsFile::parse("p.yaml", text.as_bytes()).unwrap();
        let err = records::plan(&id.snapshot(), &parsed, "x", chrono::Utc::now())
            .unwrap_err()
            .to_string();
        assert_eq!(err, why);
    }

    // A placement from the console is one checked change.
    let mut door = id.snapshot().place("d1").unwrap().clone();
    door.x = Some(0.5);
    door.y = Some(0.1);
    let change =
        records::change_place(&id.snapshot(), &door, "console:dana", chrono::Utc::now()).unwrap();
    id.commit(vec![change]).unwrap();
    assert_eq!(
        id.snapshot().place("d1").unwrap().position(),
        Some((0.5, 0.1))
    );
    door.x = Some(-0.1);
    assert!(records::change_place(&id.snapshot(), &door, "c", chrono::Utc::now()).is_err());
}
