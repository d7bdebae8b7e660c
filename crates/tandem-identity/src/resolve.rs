//! Resolution: attaching the directory's person, device and place to an event at ingest.
//!
//! Identifiers are tried from the most to the least trustworthy, and the first that resolves
//! wins; [`PersonRef::method`] and [`PersonRef::confidence`] say which and how sure:
//!
//! | identifier | method | confidence |
//! |---|---|---|
//! | `actor.uid` equal to an immutable IdP id or SID | `exact` | 1.0 |
//! | `actor.user` / `actor.email` equal to a UPN, e-mail or account name | `alias` | 0.95 |
//! | the user part of `DOMAIN\user` or `user@domain`, held by one person only | `alias` | 0.8 |
//! | `actor.badge` held by one person at event time | `badge` | 0.95 (0.7 outside its validity) |
//! | `actor.face`, a camera's face-recognition name | `face` | 0.9 × the detection score |
//! | no actor, but the event's device has an owner | `device_owner` | 0.6 |
//!
//! An account none of these resolves that is a well-known non-person account (SYSTEM,
//! `HOST$`, root: [`crate::accounts`]) is marked `actor.non_person` instead of being
//! reported as an unknown person, and is not attributed to its device's owner.
//!
//! The person's status and department *at event time* are copied onto the event, so a badge
//! swipe one minute after a termination is stored as a terminated person's swipe, and a
//! later re-hire does not rewrite it.
//!
//! Devices resolve by the vendor's id (`device.external_id` within `device.system`), then by
//! hostname (full or short), MAC or IP, and get their directory id and owner. A network flow
//! with no device of its own gets the directory device its source address belongs to. Places resolve
//! by the vendor's ids first (`place.ids` within `place.system`, against the records'
//! `external_ids`: Verkada sends a `door_id` far more often than a door name), then by door,
//! reader, camera or zone name or id, then by the place of the event's device; the event's
//! place then holds the directory's ids for the place found and everything above it (door,
//! zone, building, site, geo), replacing the names the source gave, so that a door is the
//! same door whichever product reported it. A physical event that ends up with no place counts as a gap even if it named
//! none: that is exactly the event a door-based detection cannot use.

use crate::accounts::NonPerson;
use crate::directory::{Directory, normalise_mac, short_name};
use crate::model::{DeviceRecord, Person, PlaceRecord};
use tandem_model::{Class, Event, GeoLocation, PersonRef, ServiceAccountRef};

/// What resolution could not match, for the per-source gap counters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The event named someone (user, badge, face) who is not in the directory.
    pub person: bool,
    /// The event named a device the directory does not know.
    pub device: bool,
    /// The event has no place the directory knows: it named one that matched nothing, or it
    /// is a physical event (badge, camera, door or sensor) that named no place at all.
    pub place: bool,
    /// The event named someone (resolved or not); not set for a non-person account.
    pub names_person: bool,
    /// The event's account is a well-known account that is not a person (SYSTEM, `HOST$`,
    /// root, see [`crate::accounts`]) and the directory does not hold it.
    pub non_person: bool,
    /// The event named a device (resolved or not).
    pub names_device: bool,
    /// The event's actor is a service account: one the directory holds, or a service
    /// principal or managed identity its decoder recognised.
    pub names_service_account: bool,
    /// The actor is a service principal or managed identity the directory holds no service
    /// account for (by its app id or name).
    pub service_account: bool,
    /// The event named a place or is of a physical class, so it should have one.
    pub needs_place: bool,
    /// The identifiers that matched nothing, at most one per kind of record.
    pub unknown: Vec<UnknownId>,
}

/// One identifier that matched nothing in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownId {
    /// `person`, `device` or `place`.
    pub record: &'static str,
    /// What kind of identifier: `badge`, `user`, `hostname`, `door name`, `verkada door id`,
    /// `none` (a physical event that named no place).
    pub identifier: String,
    /// The value as the event gave it (empty for `none`).
    pub value: String,
}

impl UnknownId {
    fn new(record: &'static str, identifier: impl Into<String>, value: &str) -> UnknownId {
        UnknownId {
            record,
            identifier: identifier.into(),
            value: value.to_owned(),
        }
    }
}

/// Event classes that happen somewhere: an event of these classes without a place the
/// directory knows is a gap even when the source named no place at all.
pub fn is_physical(class: Class) -> bool {
    matches!(
        class,
        Class::PhysicalAccess
            | Class::VideoDetection
            | Class::DeviceStatus
            | Class::DeviceTelemetry
    )
}

impl Directory {
    /// Resolves `event` in place and reports what stayed unresolved.
    pub fn resolve(&self, event: &mut Event) -> Unresolved {
        let mut gaps = Unresolved::default();
        let a = &event.actor;
        let named = [&a.uid, &a.user, &a.email, &a.badge, &a.face]
            .into_iter()
            .position(Option::is_some);
        gaps.names_person = named.is_some() || a.person.is_some();
        // A decoder that knows the actor is an application (an Entra service principal or
        // managed identity sign-in) says so before resolution.
        let declared = event.actor.non_person.is_some();
        if event.actor.person.is_none() {
            if let Some(found) = self.resolve_service_account(event) {
                event.actor.service_account = Some(found);
                if !declared {
                    event.actor.non_person = Some(NonPerson::ServiceAccount.name().to_owned());
                }
                gaps.names_person = false;
                gaps.names_service_account = true;
            } else if declared {
                gaps.names_person = false;
                gaps.names_service_account = true;
                gaps.service_account = true;
                let a = &event.actor;
                let named = [
                    ("app id", &a.app_id),
                    ("user id", &a.uid),
                    ("user", &a.user),
                ]
                .into_iter()
                .find_map(|(k, v)| v.as_deref().map(|v| (k, v)));
                if let Some((kind, value)) = named {
                    gaps.unknown
                        .push(UnknownId::new("service_account", kind, value));
                }
            } else {
                match self.resolve_person(event) {
                    Some(found) => event.actor.person = Some(found),
                    None => {
                        let a = &event.actor;
                        let fields = [
                            ("uid", &a.uid),
                            ("user", &a.user),
                            ("email", &a.email),
                            ("badge", &a.badge),
                            ("face", &a.face),
                        ];
                        let builtin = crate::accounts::non_person(
                            a.uid.as_deref(),
                            a.user.as_deref(),
                            a.domain.as_deref(),
                        );
                        if let Some(kind) = builtin {
                            // SYSTEM, `HOST$`, root: not a person the directory could hold.
                            event.actor.non_person = Some(kind.name().to_owned());
                            gaps.non_person = true;
                            gaps.names_person = false;
                        } else if let Some((kind, Some(value))) = named.map(|i| fields[i]) {
                            gaps.person = true;
                            gaps.unknown.push(UnknownId::new("person", kind, value));
                        }
                    }
                }
            }
        }
        self.device_from_flow_source(event);
        self.device_from_controller_id(event);
        let device_place = self.resolve_device(event, &mut gaps);
        self.resolve_place(event, device_place, &mut gaps);
        // A device's owner did not do what its SYSTEM account did.
        if event.actor.person.is_none() && event.actor.non_person.is_none() {
            let owner = event.device.as_ref().and_then(|d| d.owner.clone());
            if let Some(p) = owner.and_then(|id| self.person_ref(&id, event, "device_owner", 0.6)) {
                event.actor.person = Some(p);
            }
        }
        gaps
    }

    /// The directory's service account the event's actor is: by the Entra application id a
    /// service principal signed in with, else by the account's id, name or e-mail. Its state
    /// and its owner's name are those at the event's time.
    fn resolve_service_account(&self, event: &Event) -> Option<ServiceAccountRef> {
        let a = &event.actor;
        let found = a
            .app_id
            .as_deref()
            .and_then(|id| self.service_account_by_app_id(id))
            .or_else(|| {
                [&a.uid, &a.user, &a.email]
                    .into_iter()
                    .flatten()
                    .find_map(|n| self.service_account_by_name(n))
            })?;
        let at = self
            .service_account_at(&found.id, event.time)
            .unwrap_or(found);
        let owner_name = at
            .owner
            .as_deref()
            .and_then(|o| self.person_at(o, event.time).or_else(|| self.person(o)))
            .map(|p| p.name.clone())
            .filter(|n| !n.is_empty());
        Some(ServiceAccountRef {
            id: at.id.clone(),
            name: (!at.name.is_empty()).then(|| at.name.clone()),
            owner: at.owner.clone(),
            owner_name,
            team: at.team.clone(),
        })
    }

    /// An event that names an access-control controller by its vendor id
    /// (`place.ids.device`) and names no door or reader is about the controller (it went
    /// offline, its case was opened): the controller becomes the event's device, in place of
    /// the server that relayed the message.
    fn device_from_controller_id(&self, event: &mut Event) {
        let Some(place) = &event.place else { return };
        let Some(system) = place.system.as_deref() else {
            return;
        };
        let names_door = place
            .ids_most_specific()
            .any(|(what, _)| matches!(what, "door" | "reader"))
            || place.door.is_some()
            || place.reader.is_some();
        if names_door {
            return;
        }
        let Some(id) = place.ids.get("device").map(|v| v.trim()) else {
            return;
        };
        let Some(record) = self.device_by_external_id(system, id) else {
            return;
        };
        if record.kind != tandem_model::DeviceKind::Controller {
            return;
        }
        let device = tandem_model::Device {
            external_id: Some(id.to_owned()),
            system: Some(system.to_owned()),
            hostname: record.hostname.clone(),
            ..tandem_model::Device::default()
        };
        event.device = Some(device);
    }

    /// Where an event about `record` happened: a controller serving exactly one door is at
    /// that door; any other device (a controller of several doors too) at its own place.
    fn device_place(&self, record: &DeviceRecord) -> Option<String> {
        match record.serves.as_slice() {
            [door] if record.kind == tandem_model::DeviceKind::Controller => Some(door.clone()),
            _ => record.place.clone(),
        }
    }

    fn person_ref(
        &self,
        id: &str,
        event: &Event,
        method: &str,
        confidence: f32,
    ) -> Option<PersonRef> {
        let at = self.person_at(id, event.time).or_else(|| self.person(id))?;
        Some(person_ref(at, method, confidence))
    }

    fn resolve_person(&self, event: &Event) -> Option<PersonRef> {
        let ix = &self.index;
        let a = &event.actor;
        if let Some(uid) = &a.uid
            && let Some((id, kind)) = ix.accounts.get(&uid.to_lowercase())
        {
            let confidence = if kind.is_exact_id() { 1.0 } else { 0.95 };
            let method = if kind.is_exact_id() { "exact" } else { "alias" };
            return self.person_ref(id, event, method, confidence);
        }
        for name in [&a.user, &a.email].into_iter().flatten() {
            if let Some((id, _)) = ix.accounts.get(&name.to_lowercase()) {
                return self.person_ref(id, event, "alias", 0.95);
            }
            let domain_qualified = name.contains('\\');
            if let Some(Some(id)) = ix.short_names.get(&short_name(name).to_lowercase()) {
                // `CORP\alice` is as good as an exact account name; `alice@other.example`
                // matched on its user part alone is a guess.
                let confidence = if domain_qualified { 0.9 } else { 0.8 };
                return self.person_ref(id, event, "alias", confidence);
            }
        }
        if let Some(badge) = &a.badge
            && let Some(holders) = ix.badges.get(badge.trim())
        {
            let t = event.time;
            let valid = holders.iter().find(|(b, _)| b.valid_at(t));
            let (id, confidence) = match valid {
                Some((_, id)) => (id, 0.95),
                // Used outside its validity (before issue, after expiry or revocation): the
                // most recent holder is still the best answer, and exactly the case rules
                // look for.
                None => {
                    let last = holders.iter().max_by_key(|(b, _)| b.valid_from)?;
                    (&last.1, 0.7)
                }
            };
            return self.person_ref(id, event, "badge", confidence);
        }
        if let Some(face) = &a.face
            && let Some(Some(id)) = ix.faces.get(&face.to_lowercase())
        {
            let score = event
                .physical
                .as_ref()
                .and_then(|p| p.detection.as_ref())
                .map(|d| d.score)
                .filter(|s| *s > 0.0)
                .unwrap_or(1.0);
            return self.person_ref(id, event, "face", 0.9 * score.min(1.0));
        }
        None
    }

    /// A network flow (Zeek `conn.log`, a firewall log) names only addresses: when it has no
    /// device of its own and its source address belongs to a directory device, that device
    /// is the one the flow is about, so it is set from the source address and resolved like
    /// any other (id, owner, kind, place). A flow from an address the directory does not know
    /// is left alone: it names no device, so it is no device gap either.
    fn device_from_flow_source(&self, event: &mut Event) {
        if event.class != Class::NetworkActivity || event.device.is_some() {
            return;
        }
        let Some(ip) = event.src.as_ref().and_then(|s| s.ip) else {
            return;
        };
        if let Some(record) = self.index.ips.get(&ip).and_then(|id| self.device(id)) {
            event.device = Some(tandem_model::Device {
                ip: Some(ip),
                hostname: record.hostname.clone(),
                ..tandem_model::Device::default()
            });
        }
    }

    /// Resolves the event's device (by the vendor's id for its system, then hostname, MAC or
    /// IP) and returns the place it is installed at, if the directory says.
    fn resolve_device(&self, event: &mut Event, gaps: &mut Unresolved) -> Option<String> {
        let device = event.device.as_mut()?;
        let ix = &self.index;
        let record = if let Some(id) = &device.id {
            gaps.names_device = true;
            self.device(id)
        } else {
            let by_external = match (&device.system, &device.external_id) {
                (Some(system), Some(id)) => self.device_by_external_id(system, id),
                _ => None,
            };
            let found = by_external.or_else(|| {
                device
                    .hostname
                    .as_ref()
                    .and_then(|h| ix.hostnames.get(&h.to_lowercase()))
                    .or_else(|| {
                        device
                            .mac
                            .as_ref()
                            .and_then(|m| ix.macs.get(&normalise_mac(m)))
                    })
                    .or_else(|| device.ip.as_ref().and_then(|ip| ix.ips.get(ip)))
                    .and_then(|id| self.device(id))
            });
            gaps.names_device = device.external_id.is_some()
                || device.hostname.is_some()
                || device.mac.is_some()
                || device.ip.is_some();
            match found {
                Some(record) => {
                    device.id = Some(record.id.clone());
                    device.owner.clone_from(&record.owner);
                    if device.kind == tandem_model::DeviceKind::Unknown {
                        device.kind = record.kind;
                    }
                    Some(record)
                }
                None => {
                    let named = [
                        (
                            device.system.as_deref().map_or_else(
                                || "device id".to_owned(),
                                |s| format!("{s} device id"),
                            ),
                            device.external_id.clone(),
                        ),
                        ("hostname".to_owned(), device.hostname.clone()),
                        ("mac".to_owned(), device.mac.clone()),
                        ("ip".to_owned(), device.ip.map(|ip| ip.to_string())),
                    ]
                    .into_iter()
                    .find_map(|(k, v)| v.map(|v| (k, v)));
                    if let Some((kind, value)) = named {
                        gaps.device = true;
                        gaps.unknown.push(UnknownId::new("device", kind, &value));
                    }
                    None
                }
            }
        };
        // A server, camera or reader has a fixed place: an event about it happened there.
        record.and_then(|r| self.device_place(r))
    }

    /// The place the event's own identifiers name: vendor ids first (within the event's
    /// system), then names, most specific first. A device id (a controller's, a camera's)
    /// places the event only where no door, reader, camera or zone is named by id or name:
    /// a controller serves several doors, and the door the event names is where it
    /// happened.
    fn named_place(&self, place: &tandem_model::Place) -> Option<&PlaceRecord> {
        let by_id = |device: bool| {
            let system = place.system.as_deref()?;
            place
                .ids_most_specific()
                .filter(|(what, _)| (*what == "device") == device)
                .find_map(|(what, id)| {
                    if what == "device" {
                        let device = self.device_by_external_id(system, id)?;
                        self.place(&self.device_place(device)?)
                    } else {
                        self.place_by_external_id(system, id)
                    }
                })
        };
        let near = |r: &&PlaceRecord| {
            use crate::model::PlaceKind::*;
            matches!(r.kind, Door | Reader | Camera | Zone)
        };
        let by_name = || place.most_specific().find_map(|n| self.find_place(n));
        let ids = by_id(false);
        ids.filter(near)
            .or_else(|| by_name().filter(near))
            .or_else(|| by_id(true))
            .or(ids)
            .or_else(by_name)
    }

    /// Completes the event's place from the directory and records a gap when it has none.
    fn resolve_place(
        &self,
        event: &mut Event,
        device_place: Option<String>,
        gaps: &mut Unresolved,
    ) {
        let names_place = event.place.as_ref().is_some_and(|p| {
            p.ids_most_specific().next().is_some() || p.most_specific().next().is_some()
        });
        gaps.needs_place = names_place || is_physical(event.class);
        let found = event
            .place
            .as_ref()
            .and_then(|p| self.named_place(p))
            .or_else(|| self.place(device_place.as_deref()?));
        let Some(record) = found else {
            if gaps.needs_place {
                gaps.place = true;
                let (kind, value) = event
                    .place
                    .as_ref()
                    .and_then(place_identifier)
                    .unwrap_or_else(|| ("none".to_owned(), String::new()));
                gaps.unknown.push(UnknownId::new("place", kind, &value));
            }
            return;
        };
        let record_id = record.id.clone();
        let place = event.place_mut();
        use crate::model::PlaceKind::*;
        // Each level holds a place of its own kind: a source's `Area` that the directory
        // knows as a building is not a zone, and stays out of `place.zone` (the lineage
        // below puts it in `place.building`).
        for (kind, slot) in [
            (Site, &mut place.site),
            (Building, &mut place.building),
            (Floor, &mut place.floor),
            (Zone, &mut place.zone),
            (Door, &mut place.door),
            (Reader, &mut place.reader),
            (Camera, &mut place.camera),
        ] {
            let misfiled = slot
                .as_deref()
                .and_then(|name| self.find_place(name))
                .is_some_and(|p| p.kind != kind);
            if misfiled {
                *slot = None;
            }
        }
        self.fill_place(place, &record_id);
    }

    /// Fills each level of `place` that is empty (site, building, floor, zone, door, reader,
    /// camera, and the site's geo) from the directory place `id` and its ancestors, each
    /// into its own field.
    pub fn fill_place(&self, place: &mut tandem_model::Place, id: &str) {
        use crate::model::PlaceKind::*;
        for p in self.lineage(id) {
            let slot = match p.kind {
                Site => &mut place.site,
                Building => &mut place.building,
                Floor => &mut place.floor,
                Zone => &mut place.zone,
                Door => &mut place.door,
                Reader => &mut place.reader,
                Camera => &mut place.camera,
            };
            // The directory's id, even where the source gave a name: vendors name doors by
            // display names several doors share ("Main entrance"), and detections compare
            // places by id (a door's badge reader and its camera must name the same door).
            // What the source said stays in the raw event and in `place.ids`.
            *slot = Some(p.id.clone());
            if p.kind == Site && place.geo.is_none() && (p.lat.is_some() || p.country.is_some()) {
                place.geo = Some(GeoLocation {
                    country: p.country.clone(),
                    city: p.city.clone(),
                    lat: p.lat,
                    lon: p.lon,
                    ..GeoLocation::default()
                });
            }
        }
    }
}

/// The most specific identifier a place gives, for the gap report: a vendor id
/// (`verkada door id`), else a name (`door name`).
fn place_identifier(place: &tandem_model::Place) -> Option<(String, String)> {
    let system = place.system.as_deref().unwrap_or("vendor");
    place
        .ids_most_specific()
        .next()
        .map(|(what, id)| (format!("{system} {what} id"), id.to_owned()))
        .or_else(|| {
            let p = place;
            [
                ("door", &p.door),
                ("reader", &p.reader),
                ("camera", &p.camera),
                ("zone", &p.zone),
                ("floor", &p.floor),
                ("building", &p.building),
                ("site", &p.site),
            ]
            .into_iter()
            .find_map(|(k, v)| v.as_ref().map(|v| (format!("{k} name"), v.clone())))
        })
}

fn person_ref(p: &Person, method: &str, confidence: f32) -> PersonRef {
    PersonRef {
        id: p.id.clone(),
        name: Some(p.name.clone()),
        method: method.to_owned(),
        confidence,
        status: Some(p.status.name().to_owned()),
        department: p.department.clone(),
    }
}
