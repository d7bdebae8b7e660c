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
