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
//! The person's status and department *at event time* are copied onto the event, so a badge
//! swipe one minute after a termination is stored as a terminated person's swipe, and a
//! later re-hire does not rewrite it.
//!
//! Devices resolve by hostname (full or short), MAC or IP, and get their directory id and
//! owner; places resolve by door, reader, camera or zone name or id, and the event's place is
//! completed from the directory (building, site, geo) where the source left gaps.

use crate::directory::{Directory, normalise_mac, short_name};
use crate::model::Person;
use tandem_model::{Event, GeoLocation, PersonRef};

/// What resolution could not match, for the per-source gap counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Unresolved {
    /// The event named someone (user, badge, face) who is not in the directory.
    pub person: bool,
    pub device: bool,
    pub place: bool,
}

impl Directory {
    /// Resolves `event` in place and reports what stayed unresolved.
    pub fn resolve(&self, event: &mut Event) -> Unresolved {
        let mut gaps = Unresolved::default();
        if event.actor.person.is_none() {
            match self.resolve_person(event) {
                Some(found) => event.actor.person = Some(found),
                None => {
                    let a = &event.actor;
                    gaps.person = a.user.is_some()
                        || a.uid.is_some()
                        || a.email.is_some()
                        || a.badge.is_some()
                        || a.face.is_some();
                }
            }
        }
        gaps.device = !self.resolve_device(event);
        gaps.place = !self.resolve_place(event);
        if event.actor.person.is_none() {
            let owner = event.device.as_ref().and_then(|d| d.owner.clone());
            if let Some(p) = owner.and_then(|id| self.person_ref(&id, event, "device_owner", 0.6)) {
                event.actor.person = Some(p);
            }
        }
        gaps
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

    /// Returns whether the event had no device or its device resolved.
    fn resolve_device(&self, event: &mut Event) -> bool {
        let Some(device) = event.device.as_mut() else {
            return true;
        };
        if device.id.is_some() {
            return true;
        }
        let ix = &self.index;
        let found = device
            .hostname
            .as_ref()
            .and_then(|h| ix.hostnames.get(&h.to_lowercase()))
            .or_else(|| {
                device
                    .mac
                    .as_ref()
                    .and_then(|m| ix.macs.get(&normalise_mac(m)))
            })
            .or_else(|| device.ip.as_ref().and_then(|ip| ix.ips.get(ip)));
        let Some(record) = found.and_then(|id| self.device(id)) else {
            return device.hostname.is_none() && device.mac.is_none() && device.ip.is_none();
        };
        device.id = Some(record.id.clone());
        device.owner.clone_from(&record.owner);
        if device.kind == tandem_model::DeviceKind::Unknown {
            device.kind = record.kind;
        }
        // A server or camera has a fixed place: an event about it happened there.
        if let Some(place) = &record.place
            && event.place.is_none()
        {
            event.place_mut().zone = Some(place.clone());
        }
        true
    }

    /// Returns whether the event had no place or its place resolved.
    fn resolve_place(&self, event: &mut Event) -> bool {
        let Some(place) = event.place.as_mut() else {
            return true;
        };
        let Some(record) = place.most_specific().find_map(|n| self.find_place(n)) else {
            return place.most_specific().next().is_none();
        };
        use crate::model::PlaceKind::*;
        for p in self.lineage(&record.id) {
            let slot = match p.kind {
                Site => &mut place.site,
                Building => &mut place.building,
                Floor => &mut place.floor,
                Zone => &mut place.zone,
                Door => &mut place.door,
                Reader => &mut place.reader,
                Camera => &mut place.camera,
            };
            if slot.is_none() {
                *slot = Some(p.id.clone());
            }
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
        true
    }
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
