//! The directory in memory: every version of every record, and the lookup indexes that
//! resolution uses.

use crate::IdentityError;
use crate::model::*;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The directory's lookup tables. Every event is resolved through them, several lookups each,
/// so they use foldhash rather than the standard SipHash (a sixth of resolution and detection
/// time under `tandem bench` was hashing). Keys come from the directory itself, so hash-flooding
/// resistance buys nothing here.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::net::IpAddr;
use tandem_store::{ChangeBody, DirectoryChange};

/// One state of a record and when it became true.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Version<T> {
    pub effective: Timestamp,
    pub recorded: Timestamp,
    pub seq: u64,
    pub origin: String,
    /// `None`: deleted from `effective` on.
    pub state: Option<T>,
}

/// Every version of one record, ordered by effective time (then by recording order).
#[derive(Debug, Clone)]
pub struct History<T> {
    versions: Vec<Version<T>>,
}

impl<T> History<T> {
    /// The state in force at `t`; `None` if the record did not exist yet or was deleted.
    pub fn at(&self, t: Timestamp) -> Option<&T> {
        let i = self.versions.partition_point(|v| v.effective <= t);
        i.checked_sub(1)
            .and_then(|i| self.versions[i].state.as_ref())
    }

    /// The state in force now; for a record whose first version lies in the future (a
    /// starter entered before their first day), that first version.
    pub fn current(&self) -> Option<&T> {
        // Most records never change: one version is in force now whatever the clock says
        // (before its effective time it counts as the first version), and reading the clock
        // for every lookup on the ingest path is measurable.
        if let [only] = self.versions.as_slice() {
            return only.state.as_ref();
        }
        let now = chrono::Utc::now();
        match self.versions.first() {
            Some(first) if first.effective > now => first.state.as_ref(),
            _ => self.at(now),
        }
    }

    pub fn versions(&self) -> &[Version<T>] {
        &self.versions
    }

    fn insert(&mut self, v: Version<T>) {
        let i = self
            .versions
            .partition_point(|x| (x.effective, x.seq) <= (v.effective, v.seq));
        self.versions.insert(i, v);
    }
}

/// The kinds of record, as named in the change log.
pub const PERSON: &str = "person";
pub const DEVICE: &str = "device";
pub const PLACE: &str = "place";
pub const GROUP: &str = "group";
pub const SERVICE_ACCOUNT: &str = "service_account";

/// The whole identity directory. Built by replaying the change log; cheap to clone behind an
/// `Arc` and read without locks, so ingest resolves against a snapshot.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    people: Map<String, History<Person>>,
    devices: Map<String, History<DeviceRecord>>,
    places: Map<String, History<PlaceRecord>>,
    groups: Map<String, History<Group>>,
    service_accounts: Map<String, History<ServiceAccount>>,
    last_seq: u64,
    pub(crate) index: Index,
}

fn push<T: DeserializeOwned>(
    map: &mut Map<String, History<T>>,
    c: &DirectoryChange,
) -> Result<(), IdentityError> {
    let state = match &c.body {
        ChangeBody::State(body) => Some(T::deserialize(body).map_err(|e| {
            IdentityError::Invalid(format!("change {} ({} {}): {e}", c.seq, c.kind, c.key))
        })?),
        ChangeBody::Removed => None,
    };
    map.entry(c.key.clone())
        .or_insert_with(|| History {
            versions: Vec::new(),
        })
        .insert(Version {
            effective: c.effective,
            recorded: c.recorded,
            seq: c.seq,
            origin: c.origin.clone(),
            state,
        });
    Ok(())
}

impl Directory {
    /// Replays `changes` (in `seq` order) on top of this directory and rebuilds the indexes.
    pub fn apply(&mut self, changes: &[DirectoryChange]) -> Result<(), IdentityError> {
        for c in changes {
            match c.kind.as_str() {
                PERSON => push(&mut self.people, c)?,
                DEVICE => push(&mut self.devices, c)?,
                PLACE => push(&mut self.places, c)?,
                GROUP => push(&mut self.groups, c)?,
                SERVICE_ACCOUNT => push(&mut self.service_accounts, c)?,
                other => {
                    return Err(IdentityError::Invalid(format!(
                        "change {}: unknown record kind `{other}`",
                        c.seq
                    )));
                }
            }
            self.last_seq = self.last_seq.max(c.seq);
        }
        self.index = Index::build(self);
        Ok(())
    }

    /// The last change applied.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn person(&self, id: &str) -> Option<&Person> {
        self.people.get(id)?.current()
    }

    pub fn person_at(&self, id: &str, t: Timestamp) -> Option<&Person> {
        self.people.get(id)?.at(t)
    }

    pub fn person_history(&self, id: &str) -> Option<&History<Person>> {
        self.people.get(id)
    }

    /// Every person as they are now, in id order.
    pub fn people(&self) -> Vec<&Person> {
        let mut v: Vec<&Person> = self.people.values().filter_map(History::current).collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub fn device(&self, id: &str) -> Option<&DeviceRecord> {
        self.devices.get(id)?.current()
    }

    pub fn devices(&self) -> Vec<&DeviceRecord> {
        let mut v: Vec<&DeviceRecord> =
            self.devices.values().filter_map(History::current).collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Devices whose owner is `person`.
    pub fn devices_of(&self, person: &str) -> Vec<&DeviceRecord> {
        self.devices()
            .into_iter()
            .filter(|d| d.owner.as_deref() == Some(person))
            .collect()
    }

    pub fn place(&self, id: &str) -> Option<&PlaceRecord> {
        self.places.get(id)?.current()
    }

    pub fn places(&self) -> Vec<&PlaceRecord> {
        let mut v: Vec<&PlaceRecord> = self.places.values().filter_map(History::current).collect();
        v.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        v
    }

    /// Places whose parent is `id`.
    pub fn children(&self, id: &str) -> Vec<&PlaceRecord> {
        self.places()
            .into_iter()
            .filter(|p| p.parent.as_deref() == Some(id))
            .collect()
    }

    /// `id` and its ancestors, nearest first (door, zone, floor, building, site).
    pub fn lineage(&self, id: &str) -> Vec<&PlaceRecord> {
        let mut out = Vec::new();
        let mut next = self.place(id);
        while let Some(p) = next {
            // A parent cycle entered by mistake must not hang ingest.
            if out.len() > 16 {
                break;
            }
            out.push(p);
            next = p.parent.as_deref().and_then(|parent| self.place(parent));
        }
        out
    }

    /// The place a source's door/reader/camera/zone name or id refers to.
    pub fn find_place(&self, name_or_id: &str) -> Option<&PlaceRecord> {
        self.place(name_or_id).or_else(|| {
            let id = self.index.places.get(&name_or_id.to_lowercase())?;
            self.place(id)
        })
    }

    /// The place `system` calls `id` (an external id from the places file).
    pub fn place_by_external_id(&self, system: &str, id: &str) -> Option<&PlaceRecord> {
        self.place(self.index.place_ids.get(&external_key(system, id))?)
    }

    /// The device `system` calls `id`.
    pub fn device_by_external_id(&self, system: &str, id: &str) -> Option<&DeviceRecord> {
        self.device(self.index.device_ids.get(&external_key(system, id))?)
    }

    /// The place whose `egress_networks` hold `ip` (the most specific network wins): where a
    /// login from that address was made.
    pub fn place_by_network(&self, ip: IpAddr) -> Option<&PlaceRecord> {
        let ip = ip.to_canonical();
        let (_, id) = self.index.networks.iter().find(|(n, _)| n.contains(&ip))?;
        self.place(id)
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(id)?.current()
    }

    pub fn groups(&self) -> Vec<&Group> {
        let mut v: Vec<&Group> = self.groups.values().filter_map(History::current).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub fn service_account(&self, id: &str) -> Option<&ServiceAccount> {
        self.service_accounts.get(id)?.current()
    }

    pub fn service_account_at(&self, id: &str, t: Timestamp) -> Option<&ServiceAccount> {
        self.service_accounts.get(id)?.at(t)
    }

    /// Every service account as it is now, in id order.
    pub fn service_accounts(&self) -> Vec<&ServiceAccount> {
        let mut v: Vec<&ServiceAccount> = self
            .service_accounts
            .values()
            .filter_map(History::current)
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// The service account an Entra application (client) id belongs to.
    pub fn service_account_by_app_id(&self, app_id: &str) -> Option<&ServiceAccount> {
        let id = self.index.app_ids.get(&app_id.trim().to_lowercase())?;
        self.service_account(id)
    }

    /// The service account an account name or id (`svc-backup`, `CORP\svc-backup`, a SID)
    /// belongs to: the whole identifier first, then its user part when only one service
    /// account has it.
    pub fn service_account_by_name(&self, name: &str) -> Option<&ServiceAccount> {
        let ix = &self.index.service_names;
        let id = match ix.get(&name.trim().to_lowercase()) {
            Some(id) => id.as_ref(),
            None => ix.get(&short_name(name.trim()).to_lowercase())?.as_ref(),
        }?;
        self.service_account(id)
    }

    /// The person an employee number belongs to.
    pub fn person_by_employee_number(&self, number: &str) -> Option<&Person> {
        let id = self.index.employee_numbers.get(number)?;
        self.person(id)
    }

    /// Every person, whatever their state now (terminated people included).
    pub(crate) fn all_people(&self) -> impl Iterator<Item = (&String, &History<Person>)> {
        self.people.iter()
    }
}

/// Lookup tables from the identifiers sources use to directory ids. Rebuilt whole on every
/// change batch: a directory of tens of thousands of people rebuilds in milliseconds, and a
/// rebuilt table can never drift from the records.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    /// Lower-cased account identifier → (person, kind).
    pub accounts: Map<String, (String, AccountKind)>,
    /// Lower-cased user part of `DOMAIN\user`, `user@domain` → person, when only one person
    /// has it (`None` marks an ambiguous name).
    pub short_names: Map<String, Option<String>>,
    /// Badge number → every holder it has had.
    pub badges: Map<String, Vec<(Badge, String)>>,
    /// Lower-cased face name → person.
    pub faces: Map<String, Option<String>>,
    pub employee_numbers: Map<String, String>,
    /// Lower-cased hostname (full and short) → device.
    pub hostnames: Map<String, String>,
    pub ips: Map<IpAddr, String>,
    /// MAC in lower-case colon form → device.
    pub macs: Map<String, String>,
    /// Lower-cased place name → place id.
    pub places: Map<String, String>,
    /// (system, lower-cased vendor id) → place id.
    pub place_ids: Map<(String, String), String>,
    /// (system, lower-cased vendor id) → device id.
    pub device_ids: Map<(String, String), String>,
    /// Places' egress networks, most specific (longest prefix) first.
    pub networks: Vec<(ipnet::IpNet, String)>,
    /// Lower-cased service account identifier, whole and its user part → service account
    /// (`None` marks a name two accounts share).
    pub service_names: Map<String, Option<String>>,
    /// Lower-cased Entra application id → service account.
    pub app_ids: Map<String, String>,
}

/// The key external ids are looked up by: both parts trimmed and lower-cased, so `Verkada`
/// and `verkada`, or a GUID in either case, match.
pub(crate) fn external_key(system: &str, id: &str) -> (String, String) {
    (system.trim().to_lowercase(), id.trim().to_lowercase())
}

/// `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff` and `aa:bb:…` all become `aa:bb:cc:dd:ee:ff`.
pub fn normalise_mac(mac: &str) -> String {
    let hex: String = mac
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() != 12 {
        return mac.to_lowercase();
    }
    hex.as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(":")
}

/// The user part of an account name: `CORP\alice` → `alice`, `alice@corp.example` → `alice`.
pub fn short_name(name: &str) -> &str {
    let name = name.rsplit('\\').next().unwrap_or(name);
    name.split('@').next().unwrap_or(name)
}

fn unique(map: &mut Map<String, Option<String>>, key: String, person: &str) {
    map.entry(key)
        .and_modify(|v| {
            if v.as_deref() != Some(person) {
                *v = None;
            }
        })
        .or_insert_with(|| Some(person.to_owned()));
}

impl Index {
    fn build(dir: &Directory) -> Index {
        let mut ix = Index::default();
        for (id, history) in dir.all_people() {
            // Identifiers from every version count: a terminated person's old account or
            // badge must still resolve to them, which is exactly when it matters most.
            for v in history.versions() {
                let Some(p) = &v.state else { continue };
                if let Some(n) = &p.employee_number {
                    ix.employee_numbers.insert(n.clone(), id.clone());
                }
                let mut names: Vec<&str> = p.accounts.iter().map(|a| a.value.as_str()).collect();
                names.extend(p.email.as_deref());
                for a in &p.accounts {
                    ix.accounts
                        .insert(a.value.to_lowercase(), (id.clone(), a.kind));
                }
                if let Some(email) = &p.email {
                    ix.accounts
                        .entry(email.to_lowercase())
                        .or_insert_with(|| (id.clone(), AccountKind::Email));
                }
                for n in names {
                    let short = short_name(n).to_lowercase();
                    if !short.is_empty() {
                        unique(&mut ix.short_names, short, id);
                    }
                }
                for b in &p.badges {
                    let holders = ix.badges.entry(b.number.clone()).or_default();
                    if !holders.iter().any(|(x, who)| x == b && who == id) {
                        holders.push((b.clone(), id.clone()));
                    }
                }
                if !p.name.is_empty() {
                    unique(&mut ix.faces, p.name.to_lowercase(), id);
                }
                for f in &p.faces {
                    unique(&mut ix.faces, f.to_lowercase(), id);
                }
            }
        }
        for d in dir.devices() {
            if let Some(h) = &d.hostname {
                let h = h.to_lowercase();
                if let Some((short, _)) = h.split_once('.') {
                    ix.hostnames
                        .entry(short.to_owned())
                        .or_insert_with(|| d.id.clone());
                }
                ix.hostnames.insert(h, d.id.clone());
            }
            ix.hostnames
                .entry(d.id.to_lowercase())
                .or_insert_with(|| d.id.clone());
            for ip in &d.ips {
                ix.ips.insert(*ip, d.id.clone());
            }
            if let Some(mac) = &d.mac {
                ix.macs.insert(normalise_mac(mac), d.id.clone());
            }
            for (system, id) in &d.external_ids {
                ix.device_ids.insert(external_key(system, id), d.id.clone());
            }
        }
        for p in dir.places() {
            ix.places.insert(p.name.to_lowercase(), p.id.clone());
            ix.places.insert(p.id.to_lowercase(), p.id.clone());
            for (system, id) in &p.external_ids {
                ix.place_ids.insert(external_key(system, id), p.id.clone());
            }
            for n in &p.egress_networks {
                ix.networks.push((n.trunc(), p.id.clone()));
            }
        }
        for (id, history) in &dir.service_accounts {
            // Like people's, every version's identifiers count: a renamed account's old
            // name still names it in events of its time.
            for v in history.versions() {
                let Some(a) = &v.state else { continue };
                for name in &a.accounts {
                    let name = name.trim();
                    if name.is_empty() {
                        continue;
                    }
                    unique(&mut ix.service_names, name.to_lowercase(), id);
                    let short = short_name(name).to_lowercase();
                    if !short.is_empty() && short != name.to_lowercase() {
                        unique(&mut ix.service_names, short, id);
                    }
                }
                for app in &a.app_ids {
                    ix.app_ids.insert(app.trim().to_lowercase(), id.clone());
                }
            }
        }
        ix.networks
            .sort_by(|a, b| b.0.prefix_len().cmp(&a.0.prefix_len()).then(a.cmp(b)));
        ix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_forms_normalise_alike() {
        for m in ["AA-BB-CC-DD-EE-0F", "aabb.ccdd.ee0f", "aa:bb:cc:dd:ee:0f"] {
            assert_eq!(normalise_mac(m), "aa:bb:cc:dd:ee:0f");
        }
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("CORP\\alice"), "alice");
        assert_eq!(short_name("alice@corp.example"), "alice");
        assert_eq!(short_name("alice"), "alice");
    }
}
