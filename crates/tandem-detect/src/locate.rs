//! Where a finding happened: its site, building, zone and door, taken from its evidence.
//!
//! Detections say *what* they saw; where it was follows from the evidence, the same way for
//! every engine. So it is worked out once, by the [`crate::Detector`], for every finding it
//! returns (native, Sigma, correlations, tick), rather than by each detection: a finding
//! carries every site and building of its evidence ([`Entities::sites`],
//! [`Entities::buildings`]; an impossible journey spans two) and one place
//! ([`Finding::place`]), so searches, counts and the live monitor's site filter find it where
//! an operator looks.
//!
//! Two sources, in this order: the evidence events in the batch being processed (their place
//! as resolution completed it), then the places the detection named ([`Entities::places`],
//! which also stand for evidence kept in a detection's state from earlier batches), each
//! looked up in the directory and classified by its kind there. A name the directory does not
//! know stays in `entities.places` and is placed nowhere: a door id is never taken for a zone.
//! The finding's place is the first of these that has any.

use crate::{Directory, Entities, Finding};
use std::collections::HashMap;
use tandem_identity::model::{PlaceKind, PlaceRecord};
use tandem_model::{Event, Place, Ulid};

/// Places every finding from its evidence in `batch` and the places it names.
pub fn locate_all(findings: &mut [Finding], batch: &[Event], dir: &Directory) {
    if findings.is_empty() {
        return;
    }
    let by_id: HashMap<Ulid, &Event> = batch.iter().map(|e| (e.id, e)).collect();
    for f in findings {
        locate(f, &by_id, dir);
    }
}

/// Fills `finding.place` (unless its detection set one) and adds every site and building of
/// its evidence to its entities, the finding's own first.
pub fn locate(finding: &mut Finding, batch: &HashMap<Ulid, &Event>, dir: &Directory) {
    let from_events = finding
        .evidence
        .iter()
        .filter_map(|id| batch.get(id)?.place.as_ref())
        .map(|p| of_event(p, dir));
    let from_names = finding
        .entities
        .places
        .iter()
        .filter_map(|name| dir.find_place(name))
        .map(|rec| of_lineage(&dir.lineage(&rec.id)));
    let spots: Vec<Place> = from_events
        .chain(from_names)
        .filter(|p| {
            p.site.is_some() || p.building.is_some() || p.zone.is_some() || p.door.is_some()
        })
        .collect();
    if finding.place.is_none() {
        finding.place = spots.first().cloned();
    }
    let Entities {
        sites, buildings, ..
    } = &mut finding.entities;
    let own = finding.place.iter();
    for p in own.chain(&spots) {
        if let Some(s) = &p.site {
            push_unique(sites, s);
        }
        if let Some(b) = &p.building {
            push_unique(buildings, b);
        }
    }
}

/// An evidence event's place: what resolution left in it, with the directory's ids for
/// whatever the directory knows (a source may have sent the door's name).
fn of_event(p: &Place, dir: &Directory) -> Place {
    let mut out = Place {
        site: p.site.clone(),
        building: p.building.clone(),
        floor: p.floor.clone(),
        zone: p.zone.clone(),
        door: p.door.clone(),
        ..Place::default()
    };
    if let Some(rec) = p.most_specific().find_map(|n| dir.find_place(n)) {
        let known = of_lineage(&dir.lineage(&rec.id));
        for (slot, id) in [
            (&mut out.site, known.site),
            (&mut out.building, known.building),
            (&mut out.floor, known.floor),
            (&mut out.zone, known.zone),
            (&mut out.door, known.door),
        ] {
            if id.is_some() {
                *slot = id;
            }
        }
    }
    out
}

/// A directory place and its ancestors (nearest first) as site, building, floor, zone and
/// door. Readers and cameras have no field of their own here; their door stands for them.
fn of_lineage(lineage: &[&PlaceRecord]) -> Place {
    let mut out = Place::default();
    for rec in lineage {
        let slot = match rec.kind {
            PlaceKind::Site => &mut out.site,
            PlaceKind::Building => &mut out.building,
            PlaceKind::Floor => &mut out.floor,
            PlaceKind::Zone => &mut out.zone,
            PlaceKind::Door => &mut out.door,
            PlaceKind::Reader | PlaceKind::Camera => continue,
        };
        slot.get_or_insert_with(|| rec.id.clone());
    }
    out
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !value.is_empty() && !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_identity::records;
    use tandem_model::Severity;

    /// A site, a building, a zone in it, and a camera filed under the building itself.
    const PLACES: &str = r#"
places:
  - { id: osl, kind: site, name: Oslo HQ }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-a-lobby, kind: zone, name: Lobby, parent: osl-a }
  - { id: osl-a-d1, kind: door, name: Lobby east, parent: osl-a-lobby }
devices:
  - { id: cam-yard, hostname: cam-yard, kind: camera, place: osl-a }
"#;

    fn directory() -> Directory {
        let file = records::RecordsFile::parse("places.yaml", PLACES.as_bytes()).unwrap();
        let now = "2026-03-10T12:00:00Z".parse().unwrap();
        let empty = Directory::default();
        let plan = records::plan(&empty, &file, "places:test", now).unwrap();
        let mut dir = Directory::default();
        dir.apply(&plan.changes).unwrap();
        dir
    }

    /// A tick's finding: no evidence in a batch, only the places the detection named.
    fn camera_offline(places: &[&str]) -> Finding {
        Finding {
            rule_id: "tandem.camera_offline".into(),
            rule_title: "Camera offline".into(),
            engine: "native".into(),
            severity: Severity::Medium,
            tags: vec![],
            time: "2026-03-10T08:00:00Z".parse().unwrap(),
            summary: "Camera cam-yard went offline".into(),
            evidence: vec![],
            entities: Entities {
                places: places.iter().map(|p| (*p).to_owned()).collect(),
                ..Entities::default()
            },
            dedup_key: "cam-yard".into(),
            score: None,
            place: None,
            detail: Default::default(),
        }
    }

    #[test]
    fn a_finding_about_a_device_at_building_level_is_stored_at_the_building_never_in_the_zone() {
        let dir = directory();
        let mut findings = [camera_offline(&["osl-a", "osl"])];
        // As the detector's tick places its findings.
        locate_all(&mut findings, &[], &dir);
        let stored = findings[0].to_event();
        let place = stored.place.as_ref().unwrap();
        assert_eq!(place.zone, None, "{place:?}");
        assert_eq!(place.building.as_deref(), Some("osl-a"));
        assert_eq!(place.site.as_deref(), Some("osl"));
        assert_eq!(findings[0].entities.sites, ["osl"]);
        assert_eq!(findings[0].entities.buildings, ["osl-a"]);
    }

    #[test]
    fn a_door_is_stored_as_the_door_with_its_zone_building_and_site_and_an_unknown_name_nowhere() {
        let dir = directory();
        let mut findings = [camera_offline(&["osl-a-d1"]), camera_offline(&["nowhere"])];
        locate_all(&mut findings, &[], &dir);
        let place = findings[0].to_event().place.unwrap();
        assert_eq!(place.door.as_deref(), Some("osl-a-d1"));
        assert_eq!(place.zone.as_deref(), Some("osl-a-lobby"));
        assert_eq!(place.building.as_deref(), Some("osl-a"));
        assert_eq!(place.site.as_deref(), Some("osl"));
        assert_eq!(findings[1].to_event().place, None);
        assert_eq!(findings[1].entities.places, ["nowhere"]);
    }
}
