//! Accounts that are not people held in the directory with their owner, Entra service
//! principals, access-control controllers and the doors they serve, and places kept at
//! their own level.

use std::sync::Arc;
use tandem_identity::{Identity, hr, records};
use tandem_model::{Activity, Class, DeviceKind, Event};
use tandem_store::{SqliteStore, StoreConfig};

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E1001,Alice Berg,alice.berg@nordlys.example,aberg,IT,,Backup admin,osl,2021-03-01,,10442
";

const RECORDS: &str = r#"
places:
  - { id: osl, kind: site, name: Oslo HQ }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-a-lobby, kind: zone, name: Lobby, parent: osl-a }
  - { id: osl-a-d1, kind: door, name: Lobby east, parent: osl-a-lobby }
  - { id: osl-a-d2, kind: door, name: Lobby west, parent: osl-a-lobby }
  - { id: osl-a-d3, kind: door, name: Loading dock, parent: osl-a }
devices:
  - { id: acu-1, kind: controller, place: osl-a, serves: [osl-a-d1, osl-a-d2],
      external_ids: { genetec: 5d1c0000-0000-4000-8000-00000000a001 } }
  - { id: acu-2, kind: controller, place: osl-a, serves: [osl-a-d3],
      external_ids: { genetec: 5d1c0000-0000-4000-8000-00000000a002 } }
  - { id: cam-yard, hostname: cam-yard, kind: camera, place: osl-a }
  - { id: srv-bak, hostname: srv-bak, kind: server, owner: E1001 }
service_accounts:
  - { id: svc-backup, name: Nightly backup, owner: E1001, team: IT operations,
      accounts: ["NORDLYS\\svc-backup", S-1-5-21-1-2-3-2001] }
  - { id: app-payroll-sync, name: Payroll sync, team: Finance systems,
      app_ids: [6f3e1a2b-0c4d-4e5f-8a9b-0c1d2e3f4a5b] }
"#;

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn loaded(dir: &std::path::Path) -> Identity {
    let store = Arc::new(SqliteStore::open(dir, StoreConfig::default()).unwrap());
    let id = Identity::open(store).unwrap();
    let now = t("2026-03-10T12:00:00Z");
    let plan = hr::plan(
        &id.snapshot(),
        HR.as_bytes(),
        &hr::HrColumns::default(),
        "hr:test.csv",
        now,
    )
    .unwrap();
    id.commit(plan.changes).unwrap();
    let file = records::RecordsFile::parse("places.yaml", RECORDS.as_bytes()).unwrap();
    let plan = records::plan(&id.snapshot(), &file, "places:test", now).unwrap();
    id.commit(plan.changes).unwrap();
    id
}

fn event(class: Class, activity: Activity) -> Event {
    Event::new("src", class, activity, t("2026-03-10T08:00:00Z"))
}

#[test]
fn a_directory_service_account_resolves_to_itself_with_its_owner_not_to_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());

    let mut logon = event(Class::Authentication, Activity::Logon);
    logon.actor.user = Some("svc-backup".into());
    logon.actor.domain = Some("NORDLYS".into());
    logon.actor.uid = Some("S-1-5-21-1-2-3-2001".into());
    // On a device with an owner: the owner did not do what the service account did.
    logon.device_mut().hostname = Some("srv-bak".into());
    let mut by_name = event(Class::Authentication, Activity::Logon);
    by_name.actor.user = Some("NORDLYS\\svc-backup".into());
    let mut events = vec![logon, by_name];
    id.resolve_batch("winlogbeat", &mut events);

    for e in &events {
        assert_eq!(e.actor.person, None, "{:?}", e.actor);
        let sa = e.actor.service_account.as_ref().expect("a service account");
        assert_eq!(sa.id, "svc-backup");
        assert_eq!(sa.name.as_deref(), Some("Nightly backup"));
        assert_eq!(sa.owner.as_deref(), Some("E1001"));
        assert_eq!(sa.owner_name.as_deref(), Some("Alice Berg"));
        assert_eq!(sa.team.as_deref(), Some("IT operations"));
        assert_eq!(e.actor.non_person.as_deref(), Some("service_account"));
    }

    let gaps = &id.gaps()["winlogbeat"];
    assert_eq!(gaps.person, 0, "{gaps:?}");
    assert_eq!(gaps.resolution["person"].events, 0, "{gaps:?}");
    assert_eq!(gaps.service_accounts, 2, "{gaps:?}");
    assert_eq!(gaps.resolution["service_account"].events, 2);
    assert_eq!(gaps.resolution["service_account"].unresolved, 0);
}

#[test]
fn service_principals_match_a_service_account_by_app_id_or_are_reported_apart() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let principal = |app_id: &str, name: &str| {
        let mut e = event(Class::Authentication, Activity::Logon);
        e.actor.user = Some(name.into());
        e.actor.uid = Some("0f1e2d3c-0000-4000-8000-000000000001".into());
        e.actor.app_id = Some(app_id.into());
        e.actor.non_person = Some("service_principal".into());
        e
    };
    let mut events = vec![
        principal("6F3E1A2B-0C4D-4E5F-8A9B-0C1D2E3F4A5B", "payroll-sync"),
        principal("11111111-2222-4333-8444-555555555555", "Unregistered app"),
        principal("11111111-2222-4333-8444-555555555555", "Unregistered app"),
    ];
    id.resolve_batch("entra", &mut events);

    let sa = events[0].actor.service_account.as_ref().unwrap();
    assert_eq!(sa.id, "app-payroll-sync");
    assert_eq!(sa.team.as_deref(), Some("Finance systems"));
    assert_eq!(sa.owner, None);
    assert_eq!(
        events[0].actor.non_person.as_deref(),
        Some("service_principal")
    );
    assert_eq!(events[1].actor.service_account, None);
    assert_eq!(events[1].actor.person, None);

    let gaps = &id.gaps()["entra"];
    assert_eq!(gaps.person, 0, "not unknown people: {gaps:?}");
    let sa = &gaps.resolution["service_account"];
    assert_eq!((sa.events, sa.unresolved), (3, 2), "{gaps:?}");
    assert_eq!(sa.top_unknown[0].identifier, "app id");
    assert_eq!(
        sa.top_unknown[0].value,
        "11111111-2222-4333-8444-555555555555"
    );
    assert_eq!(sa.top_unknown[0].events, 2);
}

#[test]
fn service_account_records_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let plan = |yaml: &str| {
        let file = records::RecordsFile::parse("x.yaml", yaml.as_bytes()).unwrap();
        records::plan(&id.snapshot(), &file, "t", t("2026-03-10T12:00:00Z"))
            .map(|p| p.summary)
            .map_err(|e| e.to_string())
    };
    let err = plan("service_accounts: [{ id: svc-x, owner: E9999 }]").unwrap_err();
    assert!(err.contains("owner `E9999` is not a person"), "{err}");
    let err = plan("service_accounts: [{ id: svc-x, accounts: [\"nordlys\\\\SVC-BACKUP\"] }]")
        .unwrap_err();
    assert!(
        err.contains("is already service account `svc-backup`'s"),
        "{err}"
    );
    // Importing the same file again changes nothing.
    assert_eq!(plan(RECORDS).unwrap(), Vec::<String>::new());
}

#[test]
fn controllers_serve_doors_and_their_events_land_on_the_right_door() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let snap = id.snapshot();
    assert_eq!(snap.device("acu-1").unwrap().kind, DeviceKind::Controller);

    // A tamper alarm naming only the controller of one door: the door, its zone, building
    // and site, and the controller as the event's device (not the server that relayed it).
    let mut tamper = event(Class::DeviceStatus, Activity::Tamper);
    tamper.device_mut().hostname = Some("genetec-srv".into());
    let p = tamper.place_mut();
    p.system = Some("genetec".into());
    p.ids.insert(
        "device".into(),
        "5d1c0000-0000-4000-8000-00000000a002".into(),
    );
    // An ACU offline naming a controller of two doors: its building and site, no door.
    let mut offline = event(Class::DeviceStatus, Activity::Offline);
    let p = offline.place_mut();
    p.system = Some("genetec".into());
    p.ids.insert(
        "device".into(),
        "5d1c0000-0000-4000-8000-00000000A001".into(),
    );
    // A grant that names the door as well as the controller lands on the door.
    let mut grant = event(Class::PhysicalAccess, Activity::Granted);
    let p = grant.place_mut();
    p.system = Some("genetec".into());
    p.door = Some("Lobby west".into());
    p.ids.insert(
        "device".into(),
        "5d1c0000-0000-4000-8000-00000000a001".into(),
    );
    let mut events = vec![tamper, offline, grant];
    id.resolve_batch("acs", &mut events);

    let place = events[0].place.as_ref().unwrap();
    assert_eq!(place.door.as_deref(), Some("osl-a-d3"));
    assert_eq!(place.building.as_deref(), Some("osl-a"));
    assert_eq!(place.site.as_deref(), Some("osl"));
    assert_eq!(place.zone, None);
    let device = events[0].device.as_ref().unwrap();
    assert_eq!(device.id.as_deref(), Some("acu-2"));
    assert_eq!(device.kind, DeviceKind::Controller);

    let place = events[1].place.as_ref().unwrap();
    assert_eq!(place.door, None);
    assert_eq!(place.zone, None, "a building is not a zone: {place:?}");
    assert_eq!(place.building.as_deref(), Some("osl-a"));
    assert_eq!(place.site.as_deref(), Some("osl"));
    assert_eq!(
        events[1].device.as_ref().unwrap().id.as_deref(),
        Some("acu-1")
    );

    let place = events[2].place.as_ref().unwrap();
    assert_eq!(place.zone.as_deref(), Some("osl-a-lobby"));
    assert_eq!(place.building.as_deref(), Some("osl-a"));
    assert_eq!(id.gaps()["acs"].place, 0);
}

#[test]
fn a_controller_record_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let plan = |yaml: &str| {
        let file = records::RecordsFile::parse("x.yaml", yaml.as_bytes()).unwrap();
        records::plan(&id.snapshot(), &file, "t", t("2026-03-10T12:00:00Z"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let err =
        plan("devices: [{ id: acu-9, kind: controller, serves: [osl-a-lobby] }]").unwrap_err();
    assert!(
        err.contains("`osl-a-lobby`, which is a zone, not a door"),
        "{err}"
    );
    let err = plan("devices: [{ id: acu-9, kind: controller, serves: [nowhere] }]").unwrap_err();
    assert!(err.contains("does not exist"), "{err}");
    let err = plan("devices: [{ id: r-9, kind: reader, serves: [osl-a-d1] }]").unwrap_err();
    assert!(err.contains("only a controller serves doors"), "{err}");
    // CSV: `serves` separated by `;`.
    let file = records::RecordsFile::parse(
        "devices.csv",
        b"id,kind,place,serves\nacu-9,controller,osl-a,osl-a-d1;osl-a-d2\n",
    )
    .unwrap();
    assert_eq!(file.devices[0].serves, ["osl-a-d1", "osl-a-d2"]);
}

#[test]
fn a_device_at_building_level_never_fills_the_zone() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    // A camera filed under a building, and a source whose `Area` is really a building.
    let mut offline = event(Class::DeviceStatus, Activity::Offline);
    offline.device_mut().hostname = Some("cam-yard".into());
    let mut area = event(Class::PhysicalAccess, Activity::Granted);
    area.place_mut().zone = Some("Building A".into());
    let mut events = vec![offline, area];
    id.resolve_batch("cams", &mut events);
    for e in &events {
        let place = e.place.as_ref().unwrap();
        assert_eq!(place.zone, None, "{place:?}");
        assert_eq!(place.building.as_deref(), Some("osl-a"));
        assert_eq!(place.site.as_deref(), Some("osl"));
    }
    // A finding about the camera is placed the same way by the detector (`tandem-detect`,
    // `locate.rs`).
}
