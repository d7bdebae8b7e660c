//! Who, where and what an event is about.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The person or account that acted, as the source named them.
///
/// Raw identifiers are kept exactly as received; [`Actor::person`] is filled in by identity
/// resolution, which records how it decided and how sure it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Actor {
    /// Account name: `alice`, `CORP\alice`, `alice@example.com` as the source wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Account domain or realm, when the source separates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The source's own user id: Okta id, Windows SID, UID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Badge or credential number presented at a reader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub badge: Option<String>,
    /// Name given by a camera's face recognition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub face: Option<String>,
    /// The person in the identity directory this actor resolved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonRef>,
    /// Set by resolution when the account is a well-known account that is not a person
    /// (`windows_builtin`, `machine`, `unix_system`), so it is not reported as an unknown
    /// person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_person: Option<String>,
    /// The application (client) id a service principal or managed identity signed in as
    /// (Entra ID's `appId`); set only when the actor is that application, never for a person
    /// signing in to an application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The directory's service account this actor resolved to, with its owner: who to ask
    /// about what the account did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountRef>,
}

/// A service account of the identity directory, as resolution stored it on an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceAccountRef {
    /// Identity-directory service account id.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Person id of the account's owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The owner's name at the event's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    /// The team or department that owns the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// The outcome of identity resolution: who, and how Tandem knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonRef {
    /// Identity-directory person id.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `exact`, `alias`, `badge`, `face`, …
    pub method: String,
    /// 0.0–1.0.
    pub confidence: f32,
    /// Employment status at the event's time (`active`, `on_leave`, `suspended`,
    /// `terminated`): the fact a detection needs, fixed when the event is resolved so a later
    /// change in the directory does not rewrite history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

/// Where a physical event happened: the site → building → floor → zone → door hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Place {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo: Option<GeoLocation>,
    /// The sending system's own ids for the place, by what they name (`door`, `reader`,
    /// `camera`, `zone`, `site`, `device`), exactly as received: Verkada's `door_id`, a
    /// Genetec door GUID, a Frigate camera name. Vendors often send an id and no name, so
    /// resolution matches these against the directory's external ids first.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, String>,
    /// The system [`Place::ids`] belong to (`verkada`, `genetec`, `lenel`, `ccure`,
    /// `frigate`, …): an id means something only within its system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The camera's own region the object was in (a Frigate zone such as `driveway`). Kept
    /// apart from [`Place::zone`], which is the directory's zone: camera regions are named
    /// per camera and would otherwise overwrite it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera_zone: Option<String>,
}

/// A geographic position, with the names a geo-IP lookup or a site record gives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeoLocation {
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

/// One end of a network conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo: Option<GeoLocation>,
}

/// The machine the event was recorded on or about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Device {
    /// Identity-directory device id, when the device resolved to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Identity-directory person id of the device's owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub kind: DeviceKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// The sending system's own id for the device (Verkada's `device_id`), matched against
    /// the directory's external ids for [`Device::system`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The system [`Device::external_id`] belongs to (`verkada`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    #[default]
    Unknown,
    Laptop,
    Workstation,
    Server,
    Camera,
    Reader,
    /// An access-control panel or interface unit: it drives the doors it serves (the
    /// directory's `serves`) and reports for them.
    Controller,
    Iot,
    Network,
}

/// Physical-access detail: why a door said no, which way the person went, and whether the
/// event was observed or inferred.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Physical {
    /// Normalised denial reason: `unknown_credential`, `expired`, `not_yet_valid`,
    /// `suspended`, `lost_or_stolen`, `no_access_to_door`, `outside_schedule`, `wrong_pin`,
    /// `anti_passback`, `other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `in` or `out`, when the reader knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// Set when the event was not reported by a device but derived by Tandem (tailgate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference: Option<Inference>,
    /// What a camera's analytics saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection: Option<ObjectDetection>,
}

/// How an inferred event was derived and how sure Tandem is of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inference {
    /// Human-readable derivation: "2 people on camera within 4 s of 1 grant".
    pub derivation: String,
    /// 0.0–1.0.
    pub confidence: f32,
}

/// An object detected by camera analytics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectDetection {
    /// `person`, `car`, `face`, …
    pub label: String,
    /// Recognised identity (face name, licence plate) when the analytics gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_label: Option<String>,
    /// 0.0–1.0.
    pub score: f32,
    /// How many such objects are in view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
}

impl Actor {
    pub fn is_empty(&self) -> bool {
        *self == Actor::default()
    }
}

impl Place {
    pub fn is_empty(&self) -> bool {
        *self == Place::default()
    }

    /// The vendor ids the event gives, most specific first, as (what it names, id).
    pub fn ids_most_specific(&self) -> impl Iterator<Item = (&str, &str)> {
        const ORDER: [&str; 8] = [
            "door", "reader", "zone", "camera", "device", "floor", "building", "site",
        ];
        ORDER.into_iter().filter_map(|k| {
            self.ids
                .get(k)
                .map(|v| (k, v.trim()))
                .filter(|(_, v)| !v.is_empty())
        })
    }

    /// The names the event gives, most specific first: door, reader, camera, zone, floor,
    /// building, site. Where an event happened is the first of these a reader recognises.
    pub fn most_specific(&self) -> impl Iterator<Item = &str> {
        [
            &self.door,
            &self.reader,
            &self.camera,
            &self.zone,
            &self.floor,
            &self.building,
            &self.site,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
    }
}
