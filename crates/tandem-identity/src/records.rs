//! Places, devices and service accounts from files: YAML (or JSON) with all three, or CSV with
//! places or devices, one kind per file.
//!
//! ```yaml
//! places:
//!   - { id: osl, kind: site, name: Oslo HQ, lat: 59.91, lon: 10.75, time_zone: Europe/Oslo, country: NO, city: Oslo,
//!       egress_networks: [198.51.100.0/28, 10.1.0.0/16], holidays: [2026-05-17, 2026-12-25] }
//!   - { id: osl-a, kind: building, name: Building A, parent: osl }
//!   - { id: osl-a-srv, kind: zone, name: Server room, parent: osl-a, restricted: true,
//!       allowed_hours: "mon-fri 07:30-18:45; sat 09:00-13:00" }
//!   - { id: osl-a-srv-d1, kind: door, name: Server room door, parent: osl-a-srv,
//!       external_ids: { verkada: 8c0e5b7a-…, genetec: 3f2a…-door-guid } }
//!   - { id: osl-a-lab-d1, kind: door, name: Lab door, parent: osl-a, restricted: true,
//!       allowed_hours: { mon-fri: "08:00-17:00" } }
//!   - { id: osl-a-2, kind: floor, name: Floor 2, parent: osl-a }
//!   - { id: osl-a-2-d1, kind: door, name: Stair door, parent: osl-a-2, x: 0.42, y: 0.31 }
//! devices:
//!   - { id: lap-0042, hostname: lap-0042.nordlys.example, kind: laptop, owner: E1042 }
//!   - { id: srv-db1, hostname: db1, ips: [10.1.20.5], kind: server, criticality: high, place: osl-a-srv }
//!   - { id: acu-1, kind: controller, place: osl-a, serves: [osl-a-srv-d1, osl-a-lab-d1] }
//! service_accounts:
//!   - { id: svc-backup, name: Nightly backup, owner: E1042, team: IT operations,
//!       accounts: ["CORP\\svc-backup"], app_ids: [6f3e1a2b-0c4d-4e5f-8a9b-0c1d2e3f4a5b] }
//! ```
//!
//! CSV files use the same field names as columns (`ips`, `egress_networks` and `holidays`
//! separated by `;`, `allowed_hours` as `7-19` or `mon-fri 07:30-18:45; sat 09:00-13:00`,
//! quoted, `external_ids` as `verkada=8c0e…;frigate=lobby_cam`, or one `external_ids.<system>`
//! column per system); a file with a `kind` column whose values are place kinds is read as places,
//! otherwise as devices. Like the HR import, a file import is idempotent ([`plan`] lists only
//! records that are new or differ) and never deletes what the file does not mention.
//!
//! Map fields (`floor_plan`, `x`, `y`, `map_floor`) are usually set on the console (a plan
//! uploaded, a door dragged into place) rather than in the file: a record in the file without
//! them keeps the ones the directory has, so importing the file again does not undo that work.

use crate::IdentityError;
use crate::directory::{DEVICE, Directory, PLACE, SERVICE_ACCOUNT};
use crate::model::*;
use serde::{Deserialize, Serialize};
use tandem_store::DirectoryChange;

/// The document a places/devices file holds.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordsFile {
    pub places: Vec<PlaceRecord>,
    pub devices: Vec<DeviceRecord>,
    /// Accounts that are not people, each with its owner (a person id) or team.
    pub service_accounts: Vec<ServiceAccount>,
}

impl RecordsFile {
    /// Reads YAML or JSON (JSON is YAML), or CSV when `file_name` ends in `.csv`.
    pub fn parse(file_name: &str, bytes: &[u8]) -> Result<RecordsFile, IdentityError> {
        if file_name.to_ascii_lowercase().ends_with(".csv") {
            return parse_csv(bytes);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| IdentityError::Invalid(format!("{file_name}: not UTF-8 ({e})")))?;
        serde_saphyr::from_str(text)
            .map_err(|e| IdentityError::Invalid(format!("{file_name}: {e}")))
    }

    /// Checks references between records (parents exist, no record is its own ancestor,
    /// kinds nest in order) against the file and the directory it will join.
    pub fn validate(&self, dir: &Directory) -> Result<(), IdentityError> {
        let kind_of = |id: &str| {
            self.places
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.kind)
                .or_else(|| dir.place(id).map(|p| p.kind))
        };
        for p in &self.places {
            if p.id.trim().is_empty() {
                return Err(IdentityError::Invalid(format!(
                    "place `{}` has no id",
                    p.name
                )));
            }
            match (&p.parent, p.kind) {
                (None, PlaceKind::Site) => {}
                (None, kind) => {
                    return Err(IdentityError::Invalid(format!(
                        "place `{}`: a {} needs a parent",
                        p.id,
                        kind.name()
                    )));
                }
                (Some(parent), kind) => match kind_of(parent) {
                    None => {
                        return Err(IdentityError::Invalid(format!(
                            "place `{}`: parent `{parent}` does not exist",
                            p.id
                        )));
                    }
                    Some(pk)
                        if pk >= kind && !(pk == PlaceKind::Zone && kind == PlaceKind::Zone) =>
                    {
                        return Err(IdentityError::Invalid(format!(
                            "place `{}`: a {} cannot be inside a {} (`{parent}`)",
                            p.id,
                            kind.name(),
                            pk.name()
                        )));
                    }
                    Some(_) => {}
                },
            }
        }
        // One vendor id names one record: the same door id on two places would resolve
        // events to whichever was indexed last.
        let mut seen = std::collections::HashMap::new();
        for p in &self.places {
            for (system, id) in &p.external_ids {
                let key = crate::directory::external_key(system, id);
                if key.0.is_empty() || key.1.is_empty() {
                    return Err(IdentityError::Invalid(format!(
                        "place `{}`: an external id needs a system and a value",
                        p.id
                    )));
                }
                let other = seen.insert(key, &p.id).map(String::as_str).or_else(|| {
                    dir.place_by_external_id(system, id)
                        .map(|r| r.id.as_str())
                        .filter(|other| !self.places.iter().any(|q| q.id == *other))
                });
                if let Some(other) = other.filter(|o| *o != p.id) {
                    return Err(IdentityError::Invalid(format!(
                        "place `{}`: {system} id `{id}` is already place `{other}`'s",
                        p.id
                    )));
                }
            }
        }
        let mut seen = std::collections::HashMap::new();
        for d in &self.devices {
            for (system, id) in &d.external_ids {
                let key = crate::directory::external_key(system, id);
                let other = seen.insert(key, &d.id).map(String::as_str).or_else(|| {
                    dir.device_by_external_id(system, id)
                        .map(|r| r.id.as_str())
                        .filter(|other| !self.devices.iter().any(|q| q.id == *other))
                });
                if let Some(other) = other.filter(|o| *o != d.id) {
                    return Err(IdentityError::Invalid(format!(
                        "device `{}`: {system} id `{id}` is already device `{other}`'s",
                        d.id
                    )));
                }
            }
        }
        for p in &self.places {
            check_map_fields(p, |id| kind_of(id))?;
        }
        for d in &self.devices {
            if d.id.trim().is_empty() {
                return Err(IdentityError::Invalid("a device has no id".into()));
            }
            if let Some(place) = &d.place
                && kind_of(place).is_none()
            {
                return Err(IdentityError::Invalid(format!(
                    "device `{}`: place `{place}` does not exist",
                    d.id
                )));
            }
            if !d.serves.is_empty() && d.kind != tandem_model::DeviceKind::Controller {
                return Err(IdentityError::Invalid(format!(
                    "device `{}`: only a controller serves doors (kind: controller)",
                    d.id
                )));
            }
            for door in &d.serves {
                match kind_of(door) {
                    Some(PlaceKind::Door) => {}
                    Some(k) => {
                        return Err(IdentityError::Invalid(format!(
                            "device `{}`: serves `{door}`, which is a {}, not a door",
                            d.id,
                            k.name()
                        )));
                    }
                    None => {
                        return Err(IdentityError::Invalid(format!(
                            "device `{}`: serves door `{door}`, which does not exist",
                            d.id
                        )));
                    }
                }
            }
        }
        self.validate_service_accounts(dir)
    }

    /// Service accounts have an id, an owner the directory knows, and identifiers no other
    /// service account has (one name naming two accounts would resolve to either).
    fn validate_service_accounts(&self, dir: &Directory) -> Result<(), IdentityError> {
        let mut names = std::collections::HashMap::new();
        let mut apps = std::collections::HashMap::new();
        for a in &self.service_accounts {
            if a.id.trim().is_empty() {
                return Err(IdentityError::Invalid(format!(
                    "service account `{}` has no id",
                    a.name
                )));
            }
            if let Some(owner) = &a.owner
                && dir.person(owner).is_none()
            {
                return Err(IdentityError::Invalid(format!(
                    "service account `{}`: owner `{owner}` is not a person in the directory",
                    a.id
                )));
            }
            let in_file = |other: &str| self.service_accounts.iter().any(|b| b.id == other);
            for name in &a.accounts {
                let key = name.trim().to_lowercase();
                if key.is_empty() {
                    return Err(IdentityError::Invalid(format!(
                        "service account `{}`: an account name is empty",
                        a.id
                    )));
                }
                let other = names.insert(key, &a.id).map(String::as_str).or_else(|| {
                    dir.service_account_by_name(name)
                        .map(|r| r.id.as_str())
                        .filter(|o| !in_file(o))
                });
                if let Some(other) = other.filter(|o| *o != a.id) {
                    return Err(IdentityError::Invalid(format!(
                        "service account `{}`: account `{name}` is already service account `{other}`'s",
                        a.id
                    )));
                }
            }
            for app in &a.app_ids {
                let key = app.trim().to_lowercase();
                if key.is_empty() {
                    return Err(IdentityError::Invalid(format!(
                        "service account `{}`: an app id is empty",
                        a.id
                    )));
                }
                let other = apps.insert(key, &a.id).map(String::as_str).or_else(|| {
                    dir.service_account_by_app_id(app)
                        .map(|r| r.id.as_str())
                        .filter(|o| !in_file(o))
                });
                if let Some(other) = other.filter(|o| *o != a.id) {
                    return Err(IdentityError::Invalid(format!(
                        "service account `{}`: app id `{app}` is already service account `{other}`'s",
                        a.id
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Checks a place's map fields: a floor plan is named by its SHA-256 and only floors have
/// one; a position is a pair of fractions from 0 to 1 on a door, reader or camera; the floor
/// it is on is a floor. `kind_of` tells the kind of a place id, or `None` if it is unknown.
pub fn check_map_fields(
    p: &PlaceRecord,
    kind_of: impl Fn(&str) -> Option<PlaceKind>,
) -> Result<(), IdentityError> {
    let bad = |why: String| Err(IdentityError::Invalid(format!("place `{}`: {why}", p.id)));
    if let Some(plan) = &p.floor_plan {
        if p.kind != PlaceKind::Floor {
            return bad(format!(
                "only a floor has a floor plan, not a {}",
                p.kind.name()
            ));
        }
        if !is_sha256_hex(plan) {
            return bad(format!(
                "floor_plan `{plan}` is not a SHA-256 (64 lower-case hex digits)"
            ));
        }
    }
    if p.x.is_some() || p.y.is_some() || p.map_floor.is_some() {
        if !p.is_placeable() {
            return bad(format!(
                "only doors, readers and cameras are placed on a plan, not a {}",
                p.kind.name()
            ));
        }
        match (p.x, p.y) {
            (Some(x), Some(y)) if is_plan_fraction(x) && is_plan_fraction(y) => {}
            (Some(_), Some(_)) => {
                return bad("x and y are fractions of the plan, from 0 to 1".into());
            }
            _ => return bad("x and y go together".into()),
        }
    }
    if let Some(floor) = &p.map_floor {
        match kind_of(floor) {
            Some(PlaceKind::Floor) => {}
            Some(k) => {
                return bad(format!(
                    "map_floor `{floor}` is a {}, not a floor",
                    k.name()
                ));
            }
            None => return bad(format!("map_floor `{floor}` does not exist")),
        }
    }
    Ok(())
}

/// What importing a file would change.
#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub summary: Vec<String>,
    #[serde(skip)]
    pub changes: Vec<DirectoryChange>,
}

/// Plans the changes `file` makes to `dir`.
pub fn plan(
    dir: &Directory,
    file: &RecordsFile,
    origin: &str,
    now: Timestamp,
) -> Result<Plan, IdentityError> {
    file.validate(dir)?;
    let mut plan = Plan::default();
    // Counts the record and says whether it needs a change.
    let mut count = |kind: &str, id: &str, current_differs: Option<bool>| -> bool {
        match current_differs {
            None => {
                plan.new += 1;
                plan.summary.push(format!("new {kind} {id}"));
                true
            }
            Some(true) => {
                plan.updated += 1;
                plan.summary.push(format!("{kind} {id} changed"));
                true
            }
            Some(false) => {
                plan.unchanged += 1;
                false
            }
        }
    };
    let mut changes = Vec::new();
    for p in &file.places {
        let mut p = p.clone();
        if let Some(cur) = dir.place(&p.id) {
            keep_map_fields(&mut p, cur);
        }
        if count(PLACE, &p.id, dir.place(&p.id).map(|cur| *cur != p)) {
            changes.push(crate::encode(PLACE, &p.id, now, origin, &p)?);
        }
    }
    for d in &file.devices {
        if count(DEVICE, &d.id, dir.device(&d.id).map(|cur| cur != d)) {
            changes.push(crate::encode(DEVICE, &d.id, now, origin, d)?);
        }
    }
    for a in &file.service_accounts {
        let current = dir.service_account(&a.id).map(|cur| cur != a);
        if count(SERVICE_ACCOUNT, &a.id, current) {
            changes.push(crate::encode(SERVICE_ACCOUNT, &a.id, now, origin, a)?);
        }
    }
    for c in &mut changes {
        c.recorded = now;
    }
    plan.changes = changes;
    Ok(plan)
}

/// The change that makes `p` the directory's record of that place from `now` on: a map edit
/// from the console or the API (a plan uploaded, a door placed), checked like a file's record.
pub fn change_place(
    dir: &Directory,
    p: &PlaceRecord,
    origin: &str,
    now: Timestamp,
) -> Result<DirectoryChange, IdentityError> {
    check_map_fields(p, |id| dir.place(id).map(|q| q.kind))?;
    let mut change = crate::encode(PLACE, &p.id, now, origin, p)?;
    change.recorded = now;
    Ok(change)
}

/// Fills the map fields a file leaves out from the directory's current record.
fn keep_map_fields(p: &mut PlaceRecord, cur: &PlaceRecord) {
    if p.floor_plan.is_none() {
        p.floor_plan.clone_from(&cur.floor_plan);
    }
    if p.x.is_none() && p.y.is_none() {
        p.x = cur.x;
        p.y = cur.y;
        if p.map_floor.is_none() {
            p.map_floor.clone_from(&cur.map_floor);
        }
    }
}

fn parse_csv(bytes: &[u8]) -> Result<RecordsFile, IdentityError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| IdentityError::Invalid(format!("CSV header: {e}")))?
        .clone();
    let is_places = headers.iter().any(|h| h == "parent");
    let mut out = RecordsFile::default();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| IdentityError::Invalid(format!("line {line}: {e}")))?;
        let mut obj = serde_json::Map::new();
        let mut external = serde_json::Map::new();
        for (h, v) in headers.iter().zip(row.iter()) {
            if v.is_empty() {
                continue;
            }
            if let Some(system) = h.strip_prefix("external_ids.") {
                external.insert(system.trim().to_owned(), v.into());
                continue;
            }
            let value = match h {
                "lat" | "lon" | "x" | "y" => {
                    v.parse::<f64>().map(serde_json::Value::from).map_err(|_| {
                        IdentityError::Invalid(format!("line {line}: {h} `{v}` is not a number"))
                    })?
                }
                "restricted" => serde_json::Value::Bool(matches!(
                    v.to_ascii_lowercase().as_str(),
                    "true" | "yes" | "1" | "y"
                )),
                "ips" | "egress_networks" | "holidays" | "serves" => v
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| serde_json::Value::String(s.to_owned()))
                    .collect(),
                // `7-19`: whole hours on weekdays, as older files wrote them; anything else is
                // the schedule's text form.
                "allowed_hours" => match v.split_once('-').and_then(|(a, b)| {
                    Some((a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?))
                }) {
                    Some((from, to)) => serde_json::json!({"from_hour": from, "to_hour": to}),
                    None => serde_json::Value::String(v.to_owned()),
                },
                "external_ids" => {
                    for pair in v.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                        let (system, id) = pair
                            .split_once('=')
                            .map(|(a, b)| (a.trim(), b.trim()))
                            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                            .ok_or_else(|| {
                                IdentityError::Invalid(format!(
                                    "line {line}: external_ids `{v}` should look like verkada=8c0e…;frigate=lobby_cam"
                                ))
                            })?;
                        external.insert(system.to_owned(), id.into());
                    }
                    continue;
                }
                _ => serde_json::Value::String(v.to_owned()),
            };
            obj.insert(h.to_owned(), value);
        }
        if !external.is_empty() {
            obj.insert(
                "external_ids".to_owned(),
                serde_json::Value::Object(external),
            );
        }
        let value = serde_json::Value::Object(obj);
        let err = |e: serde_json::Error| IdentityError::Invalid(format!("line {line}: {e}"));
        if is_places {
            out.places.push(serde_json::from_value(value).map_err(err)?);
        } else {
            out.devices
                .push(serde_json::from_value(value).map_err(err)?);
        }
    }
    Ok(out)
}
