//! Network flows name only addresses; resolution links a flow to the directory device whose
//! address it came from, so `device.id:` searches and the device page find it.

use std::sync::Arc;
use tandem_identity::{Identity, records};
use tandem_model::{Activity, Class, DeviceKind, Event};
use tandem_store::{SqliteStore, StoreConfig};

const PLACES: &str = "
places:
  - { id: ber, kind: site, name: Berlin depot }
  - { id: ber-yard, kind: zone, name: Yard, parent: ber }
devices:
  - { id: cam-yard-1, hostname: cam-yard-1.depot.example, ips: [10.40.1.21], kind: camera, place: ber-yard }
";

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn loaded(dir: &std::path::Path) -> Identity {
    let store = Arc::new(SqliteStore::open(dir, StoreConfig::default()).unwrap());
    let id = Identity::open(store).unwrap();
    let file = records::RecordsFile::parse("places.yaml", PLACES.as_bytes()).unwrap();
    let plan = records::plan(
        &id.snapshot(),
        &file,
        "places:test",
        t("2026-03-10T12:00:00Z"),
    )
    .unwrap();
    id.commit(plan.changes).unwrap();
    id
}

/// A Zeek `conn.log` flow as the integration builds it: addresses and ports, no device.
fn flow(src: &str, dst: &str) -> Event {
    let mut e = Event::new(
        "zeek",
        Class::NetworkActivity,
        Activity::Other,
        t("2026-03-10T08:00:00Z"),
    );
    e.src_mut().ip = Some(src.parse().unwrap());
    e.src_mut().port = Some(51_000);
    e.dst_mut().ip = Some(dst.parse().unwrap());
    e.dst_mut().port = Some(443);
    e
}

#[test]
fn a_flow_from_a_cameras_address_resolves_to_the_camera() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let mut events = [flow("10.40.1.21", "203.0.113.9")];
    id.resolve_batch("zeek", &mut events);

    let device = events[0]
        .device
        .as_ref()
        .expect("the camera is the flow's device");
    assert_eq!(device.id.as_deref(), Some("cam-yard-1"));
    assert_eq!(device.hostname.as_deref(), Some("cam-yard-1.depot.example"));
    assert_eq!(device.kind, DeviceKind::Camera);
    assert_eq!(
        events[0].place.as_ref().and_then(|p| p.zone.as_deref()),
        Some("ber-yard"),
        "the flow happened where the camera is installed"
    );
    let gaps = &id.gaps()["zeek"];
    assert_eq!(gaps.device, 0);
    assert_eq!(gaps.resolution["device"].events, 1);
}

#[test]
fn a_flow_from_an_unknown_address_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let mut events = [flow("10.40.9.99", "10.40.1.21")];
    id.resolve_batch("zeek", &mut events);

    // The camera is the destination, not the source: nothing is attributed to it.
    assert_eq!(events[0].device, None);
    assert_eq!(events[0].place, None);
    let gaps = &id.gaps()["zeek"];
    assert_eq!(gaps.device, 0, "an address is no device gap");
    assert_eq!(gaps.resolution["device"].events, 0);
}

#[test]
fn a_flow_with_its_own_device_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let id = loaded(dir.path());
    let mut e = flow("10.40.1.21", "203.0.113.9");
    e.device_mut().hostname = Some("zeek-sensor-1".into());
    let mut events = [e];
    id.resolve_batch("zeek", &mut events);

    let device = events[0].device.as_ref().unwrap();
    assert_eq!(device.hostname.as_deref(), Some("zeek-sensor-1"));
    assert_eq!(device.id, None);
}
