//! Feeding the simulated organisation into the identity directory through the same feeds a
//! real site uses: the HR CSV export and a places/devices file.

use anyhow::Context;
use tandem_identity::records::RecordsFile;
use tandem_identity::{
    AllowedHours, Criticality, DeviceRecord, Identity, PlaceKind, PlaceRecord, hr,
};
use tandem_model::DeviceKind;
use tandem_sim::Org;

/// The org's places and devices as a records file (what `tandem directory import` reads).
pub fn org_records(org: &Org) -> RecordsFile {
    let mut file = RecordsFile::default();
    let mut place = |id: &str, kind: PlaceKind, name: &str, parent: Option<&str>| {
        let p = PlaceRecord {
            id: id.to_owned(),
            kind,
            name: name.to_owned(),
            parent: parent.map(str::to_owned),
            ..PlaceRecord::default()
        };
        file.places.push(p);
        file.places.len() - 1
    };
    let mut cameras = Vec::new();
    for site in &org.sites {
        place(&site.id, PlaceKind::Site, &site.name, None);
        for b in &site.buildings {
            place(&b.id, PlaceKind::Building, &b.name, Some(&site.id));
            for f in &b.floors {
                place(
                    &f.id,
                    PlaceKind::Floor,
                    &format!("{} floor {}", b.name, f.level),
                    Some(&b.id),
                );
                for z in &f.zones {
                    place(&z.id, PlaceKind::Zone, &z.name, Some(&f.id));
                    for d in &z.doors {
                        place(&d.id, PlaceKind::Door, &d.name, Some(&z.id));
                        for r in &d.readers {
                            place(
                                &r.id,
                                PlaceKind::Reader,
                                &format!("{} reader ({})", d.name, r.direction.name()),
                                Some(&d.id),
                            );
                        }
                        if let Some(c) = &d.camera {
                            place(&c.id, PlaceKind::Camera, &c.name, Some(&d.id));
                            cameras.push((c.id.clone(), z.id.clone()));
                        }
                    }
                }
            }
        }
    }
    // Site and zone attributes the generic constructor above does not set.
    for site in &org.sites {
        if let Some(p) = file.places.iter_mut().find(|p| p.id == site.id) {
            p.lat = Some(site.lat);
            p.lon = Some(site.lon);
            p.time_zone = Some(site.time_zone.clone());
            p.country = Some(site.country.clone());
            p.city = Some(site.city.clone());
        }
        for z in site
            .buildings
            .iter()
            .flat_map(|b| &b.floors)
            .flat_map(|f| &f.zones)
        {
            if let Some(p) = file.places.iter_mut().find(|p| p.id == z.id) {
                p.restricted = z.restricted;
                p.allowed_hours = z.allowed_hours.map(|h| AllowedHours {
                    from_hour: h.from_hour,
                    to_hour: h.to_hour,
                    weekends: false,
                });
            }
        }
    }
    for p in &org.people {
        file.devices.push(DeviceRecord {
            id: p.laptop.clone(),
            hostname: Some(p.laptop.clone()),
            ips: vec![p.laptop_ip],
            kind: DeviceKind::Laptop,
            owner: Some(p.employee_number.clone()),
            ..DeviceRecord::default()
        });
    }
    for s in &org.servers {
        file.devices.push(DeviceRecord {
            id: s.hostname.clone(),
            hostname: Some(s.hostname.clone()),
            ips: vec![s.ip],
            kind: DeviceKind::Server,
            criticality: Criticality::High,
            place: s.zone.clone(),
            ..DeviceRecord::default()
        });
    }
    file.devices.push(DeviceRecord {
        id: org.vpn.hostname.clone(),
        hostname: Some(org.vpn.hostname.clone()),
        ips: vec![org.vpn.public_ip],
        kind: DeviceKind::Network,
        criticality: Criticality::High,
        ..DeviceRecord::default()
    });
    for (camera, zone) in cameras {
        file.devices.push(DeviceRecord {
            id: camera.clone(),
            hostname: Some(camera),
            kind: DeviceKind::Camera,
            place: Some(zone),
            ..DeviceRecord::default()
        });
    }
    file
}

/// Imports the org's HR export and places/devices into `identity`.
pub fn load_org(identity: &Identity, org: &Org) -> anyhow::Result<(usize, usize)> {
    let now = chrono::Utc::now();
    let records = org_records(org);
    let plan = tandem_identity::records::plan(
        &identity.snapshot(),
        &records,
        "records:simulated-org",
        now,
    )
    .context("simulated places and devices")?;
    let n_records = plan.changes.len();
    identity.commit(plan.changes)?;
    let plan = hr::plan(
        &identity.snapshot(),
        org.hr_csv().as_bytes(),
        &hr::HrColumns::default(),
        "hr:simulated-org.csv",
        now,
    )
    .context("simulated HR export")?;
    anyhow::ensure!(
        plan.errors.is_empty(),
        "simulated HR export: {:?}",
        plan.errors
    );
    let n_people = plan.new_people + plan.updated_people;
    identity.commit(plan.changes)?;
    Ok((n_people, n_records))
}
