//! What the directory knows: people with their accounts and badges, devices, places, groups.
//!
//! Each record is a whole state; the [`crate::Directory`] keeps every state a record has had,
//! each from the time it became true.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tandem_model::DeviceKind;

pub use crate::hours::{AllowedHours, Span};

pub type Timestamp = DateTime<Utc>;

/// Employment status. `Suspended` and `Terminated` people should not be opening doors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Active,
    OnLeave,
    Suspended,
    Terminated,
}

impl Status {
    pub const fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::OnLeave => "on_leave",
            Status::Suspended => "suspended",
            Status::Terminated => "terminated",
        }
    }

    /// Parses the words HR systems use (`Active`, `Leave of absence`, `Terminated`, `inactive`).
    pub fn parse_loose(s: &str) -> Option<Status> {
        let s = s.trim().to_ascii_lowercase();
        Some(match s.as_str() {
            "active" | "employed" | "a" | "true" => Status::Active,
            "on_leave" | "on leave" | "leave" | "leave of absence" | "loa" => Status::OnLeave,
            "suspended" | "inactive" | "false" => Status::Suspended,
            "terminated" | "term" | "t" | "left" | "leaver" | "offboarded" => Status::Terminated,
            _ => return None,
        })
    }
}

/// How much harm misuse of a person's access or a device could do; weighs alerts.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    Low,
    #[default]
    Normal,
    High,
    Critical,
}

/// Which system an account identifier belongs to. Resolution trusts some more than others:
/// an IdP's immutable user id is exact, a bare user name is an alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// User principal name (`alice@corp.example`): Entra ID, AD.
    Upn,
    Email,
    /// Okta's user id (`00u1abcd…`).
    OktaId,
    /// Entra ID object id (a GUID).
    EntraId,
    /// Windows SID.
    Sid,
    /// pre-Windows-2000 logon name.
    SamAccountName,
    /// Linux / Unix user name.
    Unix,
    /// Anything else: VPN user name, application login.
    Other,
}

impl AccountKind {
    /// Whether a match on this identifier is unambiguous by construction (immutable ids).
    pub const fn is_exact_id(self) -> bool {
        matches!(
            self,
            AccountKind::OktaId | AccountKind::EntraId | AccountKind::Sid
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Account {
    pub kind: AccountKind,
    pub value: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadgeStatus {
    #[default]
    Active,
    Suspended,
    Lost,
    Revoked,
}

/// A badge or other access credential. The same number can be re-issued to someone else
/// later; `valid_from`/`valid_to` say when it was whose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Badge {
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    #[serde(default)]
    pub status: BadgeStatus,
}

impl Badge {
    pub fn valid_at(&self, t: Timestamp) -> bool {
        self.valid_from.is_none_or(|f| f <= t) && self.valid_to.is_none_or(|to| t < to)
    }
}

/// A person: employee, contractor or visitor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Person {
    /// Directory id; stable for the person's life (`E1042` from an employee number, or a
    /// generated id for SCIM-created people).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The manager's person id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Place id of the site the person normally works at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_site: Option<String>,
    pub criticality: Criticality,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hired: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated_at: Option<Timestamp>,
    /// When the identity provider disabled the person's account (SCIM `active: false`) or
    /// deleted it; none while it is enabled (re-activation clears it). Employment status
    /// alone cannot say this: HR terminates a leaver, IT disables their login, at different
    /// times, and the KPIs measure the gap (access revocation timeliness).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_disabled: Option<Timestamp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<Account>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub badges: Vec<Badge>,
    /// Names a camera's face recognition uses for this person, when not their full name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faces: Vec<String>,
    /// The IdP's external id (SCIM `externalId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// A laptop, server, camera, reader or IoT device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceRecord {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<std::net::IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    pub kind: DeviceKind,
    /// Person id of the owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub criticality: Criticality,
    /// Place id of where it is installed (servers, cameras, readers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The device's id in each vendor system (`verkada: <device_id>`), so an event that names
    /// the device only by the vendor's id resolves.
    #[serde(skip_serializing_if = "ExternalIds::is_empty")]
    pub external_ids: ExternalIds,
    /// On a controller: the door place ids it serves. An event that names only the
    /// controller (offline, tamper) lands on its door when it serves exactly one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<String>,
}

/// An account that is not a person (a backup job's login, an application's service
/// principal, a managed identity), with who answers for it. Events by it resolve to it, not
/// to a person and not to an unknown person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceAccount {
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Person id of the owner: who to ask about what the account did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The team or department that owns it, when no one person does (or as well).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The names and ids events give it by: `svc-backup`, `CORP\svc-backup`, a UPN, a SID,
    /// an Entra service principal's object id. Matched without regard to case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Entra ID application (client) ids: a service principal or managed identity signing in
    /// with one of them is this account.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub app_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A record's id in each vendor system: system name (`verkada`, `genetec`, `lenel`,
/// `frigate`, …, lower case) → that system's id for it.
pub type ExternalIds = std::collections::BTreeMap<String, String>;

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    #[default]
    Site,
    Building,
    Floor,
    Zone,
    Door,
    Reader,
    Camera,
}

impl PlaceKind {
    pub const fn name(self) -> &'static str {
        match self {
            PlaceKind::Site => "site",
            PlaceKind::Building => "building",
            PlaceKind::Floor => "floor",
            PlaceKind::Zone => "zone",
            PlaceKind::Door => "door",
            PlaceKind::Reader => "reader",
            PlaceKind::Camera => "camera",
        }
    }
}

/// A node of the site → building → floor → zone → door/reader/camera tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaceRecord {
    pub id: String,
    pub kind: PlaceKind,
    pub name: String,
    /// Parent place id (`None` for sites).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// IANA time zone (`Europe/Oslo`), on sites; children inherit it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// ISO 3166-1 alpha-2, on sites.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Networks a site's traffic leaves by (its public egress addresses, or its own internal
    /// ranges), as CIDRs. A login from one of them was made on site: not remote, and at this
    /// site for impossible travel. Only networks no other site shares belong here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub egress_networks: Vec<ipnet::IpNet>,
    /// Restricted zones and doors (server rooms, labs): entry is notable outside
    /// `allowed_hours` (the place's own, else its nearest ancestor's).
    pub restricted: bool,
    /// Local dates on which this place and everything in it is closed (public holidays,
    /// shutdowns): restricted places in it have no allowed hours on those days.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_hours: Option<AllowedHours>,
    /// The place's id in each vendor system (`verkada: <door_id>`, `genetec: <door GUID>`,
    /// `frigate: <camera name>`): resolution matches an event's vendor ids here first.
    #[serde(skip_serializing_if = "ExternalIds::is_empty")]
    pub external_ids: ExternalIds,
    /// On a floor: the SHA-256 of its floor plan image (a PNG or SVG uploaded through
    /// `PUT /api/v1/places/{id}/floor-plan` or the floor's map page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor_plan: Option<String>,
    /// On a door, reader or camera: where it is on a floor plan, as a fraction (0 to 1) of
    /// the plan's width from its left edge…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    /// …and of its height from its top edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    /// The floor whose plan `x`/`y` are on, when it is not the nearest floor above the place
    /// (a door between two floors, a camera filed under a site).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_floor: Option<String>,
}

impl PlaceRecord {
    /// Whether this place can be drawn on a floor plan (doors, readers and cameras).
    pub const fn is_placeable(&self) -> bool {
        matches!(
            self.kind,
            PlaceKind::Door | PlaceKind::Reader | PlaceKind::Camera
        )
    }

    /// Its position on a plan, when it has one.
    pub fn position(&self) -> Option<(f64, f64)> {
        self.x.zip(self.y)
    }
}

/// Whether `v` is a position on a plan: a finite fraction from 0 to 1.
pub fn is_plan_fraction(v: f64) -> bool {
    v.is_finite() && (0.0..=1.0).contains(&v)
}

/// Whether `s` looks like a SHA-256 in lower-case hex (a floor plan's name).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A group (SCIM Groups, HR teams): a name and its member person ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Group {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub members: Vec<String>,
}
