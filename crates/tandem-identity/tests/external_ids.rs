//! Vendor ids: places and devices carry each system's id for them, events name places by
//! those ids (often with no name at all), and what matches nothing is reported per source.

use std::sync::Arc;
use tandem_identity::{Identity, records};
use tandem_model::{Activity, Class, Event};
use tandem_store::{SqliteStore, StoreConfig};

const PLACES: &str = "
places:
  - { id: osl, kind: site, name: Oslo HQ, lat: 59.91, lon: 10.75, country: NO, city: Oslo,
      external_ids: { verkada: f53e3b84-e534-4de5-821c-5263d96d3623 } }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-lobby, kind: zone, name: Lobby, parent: osl-a }
  - { id: osl-srv, kind: zone, name: Server room, parent: osl-a, restricted: true }
  - { id: osl-lobby-east, kind: door, name: Lobby east, parent: osl-lobby,
      external_ids: { verkada: 8C0E1A55-3F2D-4D6E-B1A0-5B9F2C7D1E42, genetec: 0a9b8c7d-0000-4000-8000-00000000d001 } }
  - { id: osl-srv-door, kind: door, name: Server room door, parent: osl-srv,
      external_ids: { ccure: '4711' } }
  - { id: osl-lobby-cam, kind: camera, name: Lobby camera, parent: osl-lobby,
      external_ids: { frigate: lobby_cam } }
  - { id: osl-srv-cam-door, kind: door, name: Server room door (camera view), parent: osl-srv,
      external_ids: { frigate: srv_cam/door } }
devices:
  - { id: acu-1, kind: reader, place: osl-srv-door,
      external_ids: { verkada: 0c81dca6-8fe9-40fa-b924-f3d07e920b6b } }
";

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn loaded(dir: &std::path::Path) -> Identity {
    let store = Arc::new(SqliteStore::open(dir, StoreConfig::default()).unwrap());
    let id = Identity::open(store).unwrap();
    let file = records::RecordsFile::parse("places.yaml", PLACES.as_bytes()).unwrap();
    let plan = records::plan(&id.snapshot(), &file, "places:test", chrono::Utc::now()).unwrap();
    id.commit(plan.changes).unwrap();
    id
}

fn access(source: &str) -> Event {
    Event::new(
        source,
        Class::PhysicalAccess,
        Activity::Granted,
        t("2026-03-05T09:00:00Z"),
    )
}

fn named_by_id(system: &str, what: &str, id: &str) -> Event {
    let mut e = access("doors");
    let place = e.place_mut();
    place.system = Some(system.into());
    place.ids.insert(what.into(), id.into());
    e
}

#[test]
fn a_door_named_only_by_its_vendor_id_gets_door_zone_and_site() {
    let dir = tempfile::tempdir().unwrap();
    let d = loaded(dir.path()).snapshot();
    // Verkada without door_info: a lower-case door id, nothing else.
    let mut e = named_by_id("verkada", "door", "8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42");
    let gaps = d.resolve(&mut e);
    assert!(!gaps.place && gaps.needs_place, "{gaps:?}");
    let p = e.place.unwrap();
    assert_eq!(p.door.as_deref(), Some("osl-lobby-east"));
    assert_eq!(p.zone.as_deref(), Some("osl-lobby"));
    assert_eq!(p.building.as_deref(), Some("osl-a"));
    assert_eq!(p.site.as_deref(), Some("osl"));
    assert_eq!(p.geo.unwrap().city.as_deref(), Some("Oslo"));

    // The same door through another system's id.
    let mut e = named_by_id("genetec", "door", "0A9B8C7D-0000-4000-8000-00000000D001");
    d.resolve(&mut e);
    assert_eq!(e.place.unwrap().door.as_deref(), Some("osl-lobby-east"));
}

#[test]
fn an_id_means_something_only_in_its_own_system() {
    let dir = tempfile::tempdir().unwrap();
    let d = loaded(dir.path()).snapshot();
    let mut e = named_by_id("genetec", "door", "8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42");
    let gaps = d.resolve(&mut e);
    assert!(gaps.place, "{gaps:?}");
    assert_eq!(e.place.unwrap().site, None);
    assert_eq!(gaps.unknown[0].identifier, "genetec door id");
}

#[test]
fn the_vendor_id_wins_over_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = loaded(dir.path()).snapshot();
    let mut e = named_by_id("ccure", "door", "4711");
    // A name the directory also knows, for another door: the id is the more exact.
    e.place_mut().door = Some("Lobby east".into());
    d.resolve(&mut e);
    let p = e.place.unwrap();
    assert_eq!(p.zone.as_deref(), Some("osl-srv"));
    // The door is the one the id names, by the directory's id: the name the source wrote
    // (another door's) is not kept beside a zone it is not in.
    assert_eq!(p.door.as_deref(), Some("osl-srv-door"));

    // An unknown id falls back to the name.
    let mut e = named_by_id("ccure", "door", "9999");
    e.place_mut().door = Some("Lobby east".into());
    let gaps = d.resolve(&mut e);
    assert!(!gaps.place);
    assert_eq!(e.place.unwrap().zone.as_deref(), Some("osl-lobby"));
}

/// A door and its camera reported by two products, one naming the door by its display name
/// and GUID, the other by its own camera name: both events name the door by the directory's
/// id, so a detection sees one door.
#[test]
fn places_named_by_vendors_are_stored_by_the_directory_ids() {
    let dir = tempfile::tempdir().unwrap();
    let d = loaded(dir.path()).snapshot();
    let mut badge = named_by_id("genetec", "door", "0A9B8C7D-0000-4000-8000-00000000D001");
    badge.place_mut().door = Some("Lobby East".into());
    badge.place_mut().site = Some("HQ".into());
    d.resolve(&mut badge);
    let p = badge.place.unwrap();
    assert_eq!(p.door.as_deref(), Some("osl-lobby-east"));
    assert_eq!(p.site.as_deref(), Some("osl"));
    assert_eq!(p.ids["door"], "0A9B8C7D-0000-4000-8000-00000000D001");

    // By its display name alone, too.
    let mut e = access("doors");
    e.place_mut().door = Some("server room door".into());
    d.resolve(&mut e);
    assert_eq!(e.place.unwrap().door.as_deref(), Some("osl-srv-door"));
}

#[test]
fn a_device_named_by_its_vendor_id_resolves_and_places_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let d = loaded(dir.path()).snapshot();
    let mut e = access("doors");
    let device = e.device_mut();
    device.external_id = Some("0c81dca6-8fe9-40fa-b924-f3d07e920b6b".into());
    device.system = Some("verkada".into());
    let gaps = d.resolve(&mut e);
    assert!(!gaps.device && !gaps.place && gaps.names_device, "{gaps:?}");
    assert_eq!(e.device.unwrap().id.as_deref(), Some("acu-1"));
    let p = e.place.unwrap();
    assert_eq!(
        (p.door.as_deref(), p.zone.as_deref()),
        (Some("osl-srv-door"), Some("osl-srv"))
    );

    // `place.ids.device` alone works too.
    let mut e = named_by_id("verkada", "device", "0c81dca6-8fe9-40fa-b924-f3d07e920b6b");
    d.resolve(&mut e);
    assert_eq!(e.place.unwrap().door.as_deref(), Some("osl-srv-door"));
}

#[test]
fn a_camera_region_does_not_become_the_directory_zone() {
    let dir = tempfile::tempdir().unwrap();
    let d = loaded(dir.path()).snapshot();
    // Frigate calls a region of the lobby camera "door"; the directory's zone is the lobby.
    let mut e = Event::new(
        "frigate",
        Class::VideoDetection,
        Activity::Detect,
        t("2026-03-05T09:00:00Z"),
    );
    let place = e.place_mut();
    place.system = Some("frigate".into());
    place.camera = Some("lobby_cam".into());
    place.camera_zone = Some("door".into());
    place.ids.insert("camera".into(), "lobby_cam".into());
    place.ids.insert("zone".into(), "lobby_cam/door".into());
    let gaps = d.resolve(&mut e);
    assert!(!gaps.place, "{gaps:?}");
    let p = e.place.unwrap();
    assert_eq!(p.zone.as_deref(), Some("osl-lobby"));
    assert_eq!(p.camera_zone.as_deref(), Some("door"));
    assert_eq!(p.site.as_deref(), Some("osl"));

    // A region mapped in the directory (`srv_cam/door`) lands on its door.
    let mut e = named_by_id("frigate", "zone", "srv_cam/door");
    e.place_mut().ids.insert("camera".into(), "srv_cam".into());
    d.resolve(&mut e);
    let p = e.place.unwrap();
    assert_eq!(
        (p.door.as_deref(), p.zone.as_deref()),
        (Some("osl-srv-cam-door"), Some("osl-srv"))
    );
}

#[test]
fn gaps_count_unplaced_physical_events_and_list_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let known = || named_by_id("verkada", "door", "8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42");
    let unknown = || named_by_id("verkada", "door", "dead-door");
    let mut events = vec![
        known(),
        unknown(),
        unknown(),
        access("doors"),
        access("doors"),
    ];
    // An IT event with no place is not a gap.
    events.push(Event::new(
        "doors",
        Class::Authentication,
        Activity::Logon,
        t("2026-03-05T09:00:00Z"),
    ));
    id.resolve_batch("doors", &mut events);
    let all = id.gaps();
    let g = &all["doors"];
    assert_eq!((g.events, g.physical_events, g.place), (6, 5, 4), "{g:#?}");
    let place = &g.resolution["place"];
    assert_eq!((place.events, place.unresolved), (5, 4));
    assert!((place.unresolved_share - 0.8).abs() < 1e-9);
    assert_eq!(place.by_identifier["verkada door id"], 2);
    assert_eq!(place.by_identifier["none"], 2);
    let top: Vec<_> = place
        .top_unknown
        .iter()
        .map(|u| (u.identifier.as_str(), u.value.as_str(), u.events))
        .collect();
    assert_eq!(top, [("none", "", 2), ("verkada door id", "dead-door", 2)]);
}

#[test]
fn unknown_ids_kept_per_source_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let n = tandem_identity::MAX_UNKNOWN_PER_SOURCE + 50;
    let mut events: Vec<Event> = (0..n)
        .map(|i| named_by_id("verkada", "door", &format!("door-{i}")))
        .collect();
    id.resolve_batch("doors", &mut events);
    let all = id.gaps();
    let place = &all["doors"].resolution["place"];
    // Every event is counted, the list is short.
    assert_eq!(place.unresolved as usize, n);
    assert_eq!(place.by_identifier["verkada door id"] as usize, n);
    assert_eq!(place.top_unknown.len(), tandem_identity::TOP_UNKNOWN);
}

#[test]
fn csv_places_carry_external_ids_in_either_form() {
    let csv = "id,kind,name,parent,external_ids,external_ids.frigate\n\
               hq,site,HQ,,verkada=site-1,\n\
               hq-d1,door,Front,hq,verkada=door-1; genetec=g-1,front_cam\n";
    let file = records::RecordsFile::parse("places.csv", csv.as_bytes()).unwrap();
    let door = &file.places[1];
    assert_eq!(door.external_ids["verkada"], "door-1");
    assert_eq!(door.external_ids["genetec"], "g-1");
    assert_eq!(door.external_ids["frigate"], "front_cam");
    assert_eq!(file.places[0].external_ids["verkada"], "site-1");

    let bad = "id,kind,name,parent,external_ids\nhq,site,HQ,,verkada\n";
    let err = records::RecordsFile::parse("places.csv", bad.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("line 2: external_ids"), "{err}");
}

#[test]
fn one_vendor_id_cannot_name_two_places() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let yaml = "places:\n  - { id: osl-x, kind: zone, name: X, parent: osl-a, external_ids: { verkada: 8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42 } }\n";
    let file = records::RecordsFile::parse("p.yaml", yaml.as_bytes()).unwrap();
    let err = records::plan(&id.snapshot(), &file, "t", chrono::Utc::now()).unwrap_err();
    assert!(
        err.to_string().contains("already place `osl-lobby-east`'s"),
        "{err}"
    );
    // Re-importing the place that has it is fine.
    let file = records::RecordsFile::parse("places.yaml", PLACES.as_bytes()).unwrap();
    let plan = records::plan(&id.snapshot(), &file, "t", chrono::Utc::now()).unwrap();
    assert_eq!(plan.new + plan.updated, 0);
}
