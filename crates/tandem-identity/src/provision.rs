//! Provisioning by an identity provider: how an account Okta or Entra ID provisions (SCIM 2.0,
//! whose wire protocol the web crate serves under `/scim/v2`) becomes a directory person or
//! group, when it is linked to a person the directory already has, and what deactivating or
//! deleting it does.
//!
//! The web crate reads a request into a [`ProvisionedUser`] or [`ProvisionedGroup`] (what the
//! IdP says, attribute by attribute) and asks this module for a [`Plan`]: the record's new
//! state, the [`DirectoryChange`]s that record it, and the `account_change` event to raise
//! when someone's access is taken away. It commits the changes through
//! [`crate::Identity::commit`] and the event through the pipeline, then renders the state.
//! Nothing here knows JSON shapes, HTTP or the pipeline.
//!
//! | IdP attribute | Person |
//! | --- | --- |
//! | `id` | `id` (generated `u-<ulid>` for people provisioning creates) |
//! | `userName` | the first account of kind `upn` or `other` (`upn` when it holds an `@`, `other` when not: Entra ID's default mapping can send a bare GUID-like name, which is no e-mail) |
//! | `externalId` | `external_id` |
//! | `displayName` | `name` (falling back to `name.formatted`, then given + family) |
//! | `name.givenName` / `familyName` | `given_name` / `family_name` |
//! | `emails` | primary → `email`; all → the `email`-kind accounts |
//! | `title` | `title` |
//! | `active` | `active` ⇄ `suspended`; `on_leave` counts as active |
//! | enterprise `employeeNumber`, `department`, `organization`, `manager.value` | same-named fields (`manager` is a person id) |
//!
//! Everything else a person has (badges, faces, devices, HR accounts, site, criticality) is
//! not the IdP's and is carried over unchanged by every write.
//!
//! Decisions the SCIM RFCs leave open:
//! - **Linking.** A new user whose `employeeNumber` names a person the HR import already
//!   created links to that person instead of creating a second one, so HR and the IdP
//!   converge on one record. A new user whose `userName` is a terminated person's re-links to
//!   them (a rehire keeps their history).
//! - **Deactivation.** `active: false` suspends and records when the account was disabled
//!   (`account_disabled`, which the access revocation KPI reads); `active: true` re-activates
//!   a suspended person and clears it. Each deactivation and deletion is also an `account_change` event from source
//!   `scim`, so "who disabled Alice, when" has an answer in search and on Alice's timeline.
//! - **Deletion.** People are never deleted from history: deleting terminates the person
//!   (and disables the account) effective now and drops them from groups, and from then on they are no provisioned
//!   user ([`visible`]). Groups, which carry no history anyone investigates, are removed.
//! - **Terminated people** (by deletion or by HR) are not provisioned users, and provisioning
//!   never turns a terminated person active except by an explicit new user (a rehire).

use crate::directory::{GROUP, PERSON};
use crate::{Account, AccountKind, Directory, Group, IdentityError, Person, Status, Timestamp};
use tandem_model::{Activity, Class, Event, Outcome, PersonRef, Severity};
use tandem_store::DirectoryChange;

/// Origin of the directory changes provisioning makes, and source of the events it raises.
pub const ORIGIN: &str = "scim";

/// Why a provisioning request cannot be carried out. The messages are what an IdP shows its
/// administrator.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// No provisioned user has this id (terminated people are none).
    #[error("no user `{0}`")]
    UnknownUser(String),
    #[error("no group `{0}`")]
    UnknownGroup(String),
    #[error("`userName` is required")]
    UserNameRequired,
    #[error("`displayName` is required")]
    DisplayNameRequired,
    #[error("manager `{0}` is not a known user id")]
    UnknownManager(String),
    /// A group member that is no provisioned user.
    #[error("member `{0}` is not a known user id")]
    UnknownMember(String),
    /// Another provisioned user already logs in with this name (compared ignoring case).
    #[error("userName `{0}` is already taken")]
    UserNameTaken(String),
    #[error("group `{0}` already exists")]
    GroupNameTaken(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// One attribute as the IdP sent it: `None` when absent, `Some(None)` when cleared (null or
/// blank), `Some(Some(value))` when set.
pub type Attr = Option<Option<String>>;

/// A user's e-mail addresses: the primary one and all of them, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Emails {
    pub primary: Option<String>,
    pub all: Vec<String>,
}

impl Emails {
    /// From the addresses as the IdP lists them, `(address, marked primary, typed work)`:
    /// blank ones skipped, each kept once (ignoring case); the primary is the first marked
    /// primary, else the first typed work, else the first.
    pub fn from_listed(listed: impl IntoIterator<Item = (String, bool, bool)>) -> Emails {
        let mut all: Vec<String> = Vec::new();
        let mut primary = None;
        let mut work = None;
        for (value, is_primary, is_work) in listed {
            let value = value.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            if is_primary && primary.is_none() {
                primary = Some(value.clone());
            }
            if is_work && work.is_none() {
                work = Some(value.clone());
            }
            if !all.iter().any(|a| a.eq_ignore_ascii_case(&value)) {
                all.push(value);
            }
        }
        Emails {
            primary: primary.or(work).or_else(|| all.first().cloned()),
            all,
        }
    }
}

/// What an IdP says of a user, attribute by attribute (values trimmed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProvisionedUser {
    pub user_name: Attr,
    pub external_id: Attr,
    pub display_name: Attr,
    /// `name.formatted`.
    pub formatted: Attr,
    pub given_name: Attr,
    pub family_name: Attr,
    pub title: Attr,
    pub emails: Option<Emails>,
    pub active: Option<bool>,
    pub employee_number: Attr,
    pub department: Attr,
    pub organization: Attr,
    /// The manager's person id.
    pub manager: Attr,
}

/// A text value as an attribute reads it: trimmed, blank is cleared.
fn clean(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn present(v: &Option<String>) -> Attr {
    v.as_deref().map(clean)
}

impl ProvisionedUser {
    /// The person as the IdP sees them: exactly what the IdP reads back, so a request that
    /// echoes it unchanged changes nothing.
    pub fn of(p: &Person) -> ProvisionedUser {
        let mut listed = Vec::new();
        if let Some(e) = &p.email {
            listed.push((e.clone(), true, true));
        }
        for a in p.accounts.iter().filter(|a| a.kind == AccountKind::Email) {
            if !p
                .email
                .as_ref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&a.value))
            {
                listed.push((a.value.clone(), false, false));
            }
        }
        let formatted = formatted_name(p);
        ProvisionedUser {
            user_name: Some(clean(&user_name(p))),
            external_id: present(&p.external_id),
            display_name: (!p.name.is_empty()).then(|| clean(&p.name)),
            formatted: (!formatted.is_empty()).then(|| clean(&formatted)),
            given_name: present(&p.given_name),
            family_name: present(&p.family_name),
            title: present(&p.title),
            emails: Some(Emails::from_listed(listed)),
            active: Some(is_active(p)),
            employee_number: present(&p.employee_number),
            department: present(&p.department),
            organization: present(&p.organization),
            manager: present(&p.manager),
        }
    }
}

/// What an IdP says of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionedGroup {
    pub display_name: Attr,
    pub external_id: Attr,
    /// Member person ids in the order sent; `None` when absent, empty when cleared.
    pub members: Option<Vec<String>>,
}

/// How attributes the IdP did not send are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absent {
    /// Create and replace: an attribute the IdP did not send keeps its value. HR and the IdP
    /// both feed a person, and an Okta PUT without the enterprise extension must not wipe
    /// the department HR set. Clearing takes an explicit null or blank.
    Keeps,
    /// Patch: what the IdP sent is the whole record after its operations, so an attribute
    /// that is gone was removed.
    Clears,
}

/// What a provisioning request does: the record's new `state`, the `changes` that record it
/// (none when nothing changed), and the `event` to raise when it takes someone's access away.
#[derive(Debug)]
pub struct Plan<T> {
    pub state: T,
    pub changes: Vec<DirectoryChange>,
    pub event: Option<Event>,
}

/// Whether a person is a provisioned user. Terminated people are not: a SCIM `DELETE` ends
/// in `terminated`, after which RFC 7644 §3.6 wants `404`, and a leaver terminated by HR is
/// gone for the IdP just the same. Their history stays in the directory.
pub fn visible(p: &Person) -> bool {
    p.status != Status::Terminated
}

/// Whether the IdP sees the person as active: `on_leave` is HR's word and still active.
pub fn is_active(p: &Person) -> bool {
    matches!(p.status, Status::Active | Status::OnLeave)
}

/// The account that is the person's `userName`.
fn user_name_account(p: &Person) -> Option<&Account> {
    p.accounts
        .iter()
        .find(|a| matches!(a.kind, AccountKind::Upn | AccountKind::Other))
}

/// The person's `userName`: the login account, else the e-mail, else the id (the attribute
/// is required, and HR-only people may have neither).
pub fn user_name(p: &Person) -> String {
    user_name_account(p)
        .map(|a| a.value.clone())
        .or_else(|| p.email.clone())
        .unwrap_or_else(|| p.id.clone())
}

/// `name.formatted`: given and family name when both are known, else the display name.
pub fn formatted_name(p: &Person) -> String {
    match (&p.given_name, &p.family_name) {
        (Some(g), Some(f)) => format!("{g} {f}"),
        _ => p.name.clone(),
    }
}

/// A fresh id for a person (`u`) or group (`g`) provisioning creates.
fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        tandem_model::Ulid::generate().to_string().to_lowercase()
    )
}

/// The provisioned user `id`.
pub fn user<'a>(dir: &'a Directory, id: &str) -> Result<&'a Person, ProvisionError> {
    dir.person(id)
        .filter(|p| visible(p))
        .ok_or_else(|| ProvisionError::UnknownUser(id.to_owned()))
}

/// The group `id`.
pub fn group<'a>(dir: &'a Directory, id: &str) -> Result<&'a Group, ProvisionError> {
    dir.group(id)
        .ok_or_else(|| ProvisionError::UnknownGroup(id.to_owned()))
}

/// Refuses `name` when another provisioned user than `except` already has it.
fn check_unique(dir: &Directory, name: &str, except: &str) -> Result<(), ProvisionError> {
    if dir
        .people()
        .into_iter()
        .any(|p| p.id != except && visible(p) && user_name(p).eq_ignore_ascii_case(name))
    {
        return Err(ProvisionError::UserNameTaken(name.to_owned()));
    }
    Ok(())
}

/// Applies what the IdP says onto `base` (the person as the directory holds it), changing
/// only what differs from how the IdP sees `base`: an attribute echoed back unchanged never
/// disturbs the directory (an `other`-typed e-mail stays an account, a `formatted` name never
/// overwrites the display name).
pub fn apply_user(
    dir: &Directory,
    base: &Person,
    new: &ProvisionedUser,
    absent: Absent,
) -> Result<Person, ProvisionError> {
    let old = ProvisionedUser::of(base);
    let mut p = base.clone();
    // Whether to touch a field, and with what: `Some(value)` to set (`None` clears).
    fn change<T: PartialEq + Clone>(
        new: &Option<T>,
        old: &Option<T>,
        cleared: T,
        absent: Absent,
    ) -> Option<T> {
        match new {
            Some(v) if Some(v) != old.as_ref() => Some(v.clone()),
            Some(_) => None,
            None if absent == Absent::Clears && old.is_some() => Some(cleared),
            None => None,
        }
    }
    if let Some(name) = change(&new.user_name, &old.user_name, None, absent) {
        let name = name.ok_or(ProvisionError::UserNameRequired)?;
        if let Some(i) = p
            .accounts
            .iter()
            .position(|a| matches!(a.kind, AccountKind::Upn | AccountKind::Other))
        {
            p.accounts.remove(i);
        }
        p.accounts
            .retain(|a| !a.value.eq_ignore_ascii_case(&name) || a.kind == AccountKind::Email);
        let kind = if name.contains('@') {
            AccountKind::Upn
        } else {
            AccountKind::Other
        };
        // First, so it is the account `userName` is read from.
        p.accounts.insert(0, Account { kind, value: name });
    }
    if let Some(v) = change(&new.external_id, &old.external_id, None, absent) {
        p.external_id = v;
    }
    if let Some(v) = change(&new.given_name, &old.given_name, None, absent) {
        p.given_name = v;
    }
    if let Some(v) = change(&new.family_name, &old.family_name, None, absent) {
        p.family_name = v;
    }
    if let Some(v) = change(&new.title, &old.title, None, absent) {
        p.title = v;
    }
    let display = change(&new.display_name, &old.display_name, None, absent);
    let formatted = change(&new.formatted, &old.formatted, None, absent);
    if let Some(Some(d)) = display {
        p.name = d;
    } else if let Some(Some(f)) = formatted {
        p.name = f;
    } else if p.name.is_empty() || (display.is_some() && new.display_name.is_none()) {
        p.name = match (&p.given_name, &p.family_name) {
            (Some(g), Some(f)) => format!("{g} {f}"),
            (Some(n), None) | (None, Some(n)) => n.clone(),
            (None, None) => user_name(&p),
        };
    }
    if let Some(emails) = change(&new.emails, &old.emails, Emails::default(), absent) {
        p.email = emails.primary;
        // The IdP is authoritative for e-mail addresses; an address it drops still resolves
        // historical events, because resolution indexes every version of a person.
        p.accounts.retain(|a| a.kind != AccountKind::Email);
        p.accounts
            .extend(emails.all.into_iter().map(|value| Account {
                kind: AccountKind::Email,
                value,
            }));
    }
    if let Some(active) = new.active
        && Some(active) != old.active
    {
        p.status = match (active, base.status) {
            (false, _) => Status::Suspended,
            // on_leave is HR's word and still "active" to an IdP.
            (true, Status::OnLeave) => Status::OnLeave,
            (true, _) => Status::Active,
        };
    }
    if let Some(v) = change(&new.employee_number, &old.employee_number, None, absent) {
        p.employee_number = v;
    }
    if let Some(v) = change(&new.department, &old.department, None, absent) {
        p.department = v;
    }
    if let Some(v) = change(&new.organization, &old.organization, None, absent) {
        p.organization = v;
    }
    if let Some(v) = change(&new.manager, &old.manager, None, absent) {
        if let Some(m) = &v
            && dir.person(m).is_none()
        {
            return Err(ProvisionError::UnknownManager(m.clone()));
        }
        p.manager = v;
    }
    if p.name.is_empty() {
        p.name = user_name(&p);
    }
    Ok(p)
}

/// A new user. HR and the IdP converge on one person: the employee number links to the
/// person HR created, and the login of someone who left links to them (a rehire, made active
/// again). Otherwise a new person.
pub fn create_user(
    dir: &Directory,
    new: &ProvisionedUser,
    by: &str,
    now: Timestamp,
) -> Result<Plan<Person>, ProvisionError> {
    let name = new
        .user_name
        .clone()
        .flatten()
        .ok_or(ProvisionError::UserNameRequired)?;
    let linked: Option<&Person> = new
        .employee_number
        .clone()
        .flatten()
        .and_then(|n| dir.person_by_employee_number(&n))
        .or_else(|| {
            dir.people().into_iter().find(|p| {
                p.status == Status::Terminated && user_name(p).eq_ignore_ascii_case(&name)
            })
        });
    check_unique(dir, &name, linked.map_or("", |p| p.id.as_str()))?;
    let mut base = match linked {
        Some(p) => p.clone(),
        None => Person {
            id: new_id("u"),
            ..Person::default()
        },
    };
    if base.status == Status::Terminated {
        // Re-provisioning is the explicit re-activation.
        base.status = Status::Active;
        base.terminated_at = None;
    }
    let after = apply_user(dir, &base, new, Absent::Keeps)?;
    tracing::info!(person = %after.id, linked = linked.is_some(), "SCIM user provisioned");
    save_user(linked, after, by, now)
}

/// A provisioned user's new state, replaced (`Absent::Keeps`) or patched (`Absent::Clears`).
pub fn update_user(
    dir: &Directory,
    before: &Person,
    new: &ProvisionedUser,
    absent: Absent,
    by: &str,
    now: Timestamp,
) -> Result<Plan<Person>, ProvisionError> {
    let after = apply_user(dir, before, new, absent)?;
    check_unique(dir, &user_name(&after), &before.id)?;
    save_user(Some(before), after, by, now)
}

/// Records the new state when it differs and, when it suspends someone active, the event.
fn save_user(
    before: Option<&Person>,
    after: Person,
    by: &str,
    now: Timestamp,
) -> Result<Plan<Person>, ProvisionError> {
    let mut after = after;
    if after.status == Status::Suspended && before.is_none_or(is_active) {
        // The account is disabled from now on (kept when already disabled: the first time
        // counts).
        after.account_disabled = after.account_disabled.or(Some(now));
    } else if is_active(&after) {
        after.account_disabled = None;
    }
    let changes = if before != Some(&after) {
        vec![crate::encode(PERSON, &after.id, now, ORIGIN, &after)?]
    } else {
        Vec::new()
    };
    let event = (before.is_some_and(is_active) && after.status == Status::Suspended)
        .then(|| account_event(&after, by, Activity::Disable, now));
    Ok(Plan {
        state: after,
        changes,
        event,
    })
}

/// Deletes the provisioned user `id`: terminated effective `now`, out of every group (as
/// SCIM clients expect of a deleted resource), their history kept.
pub fn delete_user(
    dir: &Directory,
    id: &str,
    by: &str,
    now: Timestamp,
) -> Result<Plan<Person>, ProvisionError> {
    let mut p = user(dir, id)?.clone();
    p.status = Status::Terminated;
    p.terminated_at = Some(now);
    p.account_disabled = p.account_disabled.or(Some(now));
    let mut changes = vec![crate::encode(PERSON, &p.id, now, ORIGIN, &p)?];
    for g in dir.groups() {
        if g.members.iter().any(|m| m == id) {
            let mut g = g.clone();
            g.members.retain(|m| m != id);
            changes.push(crate::encode(GROUP, &g.id, now, ORIGIN, &g)?);
        }
    }
    let event = Some(account_event(&p, by, Activity::Delete, now));
    Ok(Plan {
        state: p,
        changes,
        event,
    })
}

/// The `account_change` event that says who took a person's access away, when.
fn account_event(p: &Person, by: &str, activity: Activity, now: Timestamp) -> Event {
    let verb = if activity == Activity::Delete {
        "deleted"
    } else {
        "deactivated"
    };
    let login = user_name(p);
    let mut e = Event::new(ORIGIN, Class::AccountChange, activity, now);
    e.outcome = Outcome::Success;
    e.severity = Severity::Low;
    e.message = format!("SCIM {verb} {login} ({}) via token {by}", p.name);
    e.actor.user = Some(by.to_owned());
    e.actor.person = Some(PersonRef {
        id: p.id.clone(),
        name: Some(p.name.clone()),
        method: "exact".into(),
        confidence: 1.0,
        status: Some(p.status.name().into()),
        department: p.department.clone(),
    });
    e.attrs.insert("target.user".into(), login.into());
    e.attrs.insert("target.uid".into(), p.id.clone().into());
    if let Some(x) = &p.external_id {
        e.attrs
            .insert("target.external_id".into(), x.clone().into());
    }
    e
}

/// Applies what the IdP says onto `base`. A group needs a name, and its members must be
/// provisioned users.
pub fn apply_group(
    dir: &Directory,
    base: &Group,
    new: &ProvisionedGroup,
    absent: Absent,
) -> Result<Group, ProvisionError> {
    let mut g = base.clone();
    match &new.display_name {
        Some(Some(name)) => g.name = name.clone(),
        Some(None) => return Err(ProvisionError::DisplayNameRequired),
        None if absent == Absent::Clears || g.name.is_empty() => {
            return Err(ProvisionError::DisplayNameRequired);
        }
        None => {}
    }
    match &new.external_id {
        Some(x) => g.external_id = x.clone(),
        None if absent == Absent::Clears => g.external_id = None,
        None => {}
    }
    let members = match &new.members {
        None if absent == Absent::Keeps => None,
        None => Some(Vec::new()),
        Some(sent) => {
            let mut ids: Vec<String> = Vec::new();
            for id in sent {
                if !dir.person(id).is_some_and(visible) {
                    return Err(ProvisionError::UnknownMember(id.clone()));
                }
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
            Some(ids)
        }
    };
    if let Some(m) = members {
        g.members = m;
    }
    Ok(g)
}

/// A new group.
pub fn create_group(
    dir: &Directory,
    new: &ProvisionedGroup,
    now: Timestamp,
) -> Result<Plan<Group>, ProvisionError> {
    let base = Group {
        id: new_id("g"),
        ..Group::default()
    };
    let g = apply_group(dir, &base, new, Absent::Keeps)?;
    save_group(dir, None, g, now)
}

/// A group's new state, replaced (`Absent::Keeps`) or patched (`Absent::Clears`).
pub fn update_group(
    dir: &Directory,
    before: &Group,
    new: &ProvisionedGroup,
    absent: Absent,
    now: Timestamp,
) -> Result<Plan<Group>, ProvisionError> {
    let g = apply_group(dir, before, new, absent)?;
    save_group(dir, Some(before), g, now)
}

/// Refuses a name another group has (ignoring case); records the state when it differs.
fn save_group(
    dir: &Directory,
    before: Option<&Group>,
    after: Group,
    now: Timestamp,
) -> Result<Plan<Group>, ProvisionError> {
    if dir
        .groups()
        .into_iter()
        .any(|o| o.id != after.id && o.name.eq_ignore_ascii_case(&after.name))
    {
        return Err(ProvisionError::GroupNameTaken(after.name));
    }
    let changes = if before != Some(&after) {
        vec![crate::encode(GROUP, &after.id, now, ORIGIN, &after)?]
    } else {
        Vec::new()
    };
    Ok(Plan {
        state: after,
        changes,
        event: None,
    })
}

/// Removes the group `id` outright.
pub fn delete_group(dir: &Directory, id: &str, now: Timestamp) -> Result<Plan<()>, ProvisionError> {
    group(dir, id)?;
    Ok(Plan {
        state: (),
        changes: vec![DirectoryChange::removed(GROUP, id, now, ORIGIN)],
        event: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Badge, BadgeStatus};

    fn at(minutes: i64) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2025-03-03T09:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc)
            + chrono::Duration::minutes(minutes)
    }

    /// A directory holding `people` and `groups`, as the change log would replay them.
    fn directory(people: &[Person], groups: &[Group]) -> Directory {
        let mut changes: Vec<DirectoryChange> = people
            .iter()
            .map(|p| crate::encode(PERSON, &p.id, at(-60), "hr", p).unwrap())
            .chain(
                groups
                    .iter()
                    .map(|g| crate::encode(GROUP, &g.id, at(-60), ORIGIN, g).unwrap()),
            )
            .collect();
        for (i, c) in changes.iter_mut().enumerate() {
            c.seq = i as u64 + 1;
        }
        let mut dir = Directory::default();
        dir.apply(&changes).unwrap();
        dir
    }

    /// Applies a plan's changes, as `Identity::commit` would.
    fn commit(dir: &mut Directory, changes: &[DirectoryChange]) {
        let mut changes = changes.to_vec();
        for (i, c) in changes.iter_mut().enumerate() {
            c.seq = dir.last_seq() + i as u64 + 1;
        }
        dir.apply(&changes).unwrap();
    }

    fn alice() -> Person {
        Person {
            id: "E1001".into(),
            employee_number: Some("E1001".into()),
            name: "Alice Berg".into(),
            given_name: Some("Alice".into()),
            family_name: Some("Berg".into()),
            email: Some("alice@nordlys.example".into()),
            department: Some("Finance".into()),
            accounts: vec![Account {
                kind: AccountKind::Upn,
                value: "alice@nordlys.example".into(),
            }],
            badges: vec![Badge {
                number: "4711".into(),
                facility_code: None,
                valid_from: None,
                valid_to: None,
                status: BadgeStatus::Active,
            }],
            ..Person::default()
        }
    }

    fn set(v: &str) -> Attr {
        Some(Some(v.to_owned()))
    }

    fn user_named(name: &str) -> ProvisionedUser {
        ProvisionedUser {
            user_name: set(name),
            ..ProvisionedUser::default()
        }
    }

    #[test]
    fn an_employee_number_links_to_the_person_hr_created() {
        let dir = directory(&[alice()], &[]);
        let new = ProvisionedUser {
            employee_number: set("E1001"),
            title: set("Controller"),
            ..user_named("alice@nordlys.example")
        };
        let plan = create_user(&dir, &new, "okta", at(0)).unwrap();
        let p = &plan.state;
        assert_eq!(p.id, "E1001", "one person, not a second one");
        assert_eq!(p.title.as_deref(), Some("Controller"));
        // What the IdP did not send is HR's and stays.
        assert_eq!(p.department.as_deref(), Some("Finance"));
        assert_eq!(p.badges.len(), 1);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].origin, ORIGIN);
        assert!(plan.event.is_none());
    }

    #[test]
    fn a_terminated_login_is_a_rehire_made_active_again() {
        let mut left = alice();
        left.employee_number = None;
        left.status = Status::Terminated;
        left.terminated_at = Some(at(-30));
        let dir = directory(&[left], &[]);
        let plan = create_user(&dir, &user_named("ALICE@nordlys.example"), "okta", at(0)).unwrap();
        assert_eq!(plan.state.id, "E1001", "the rehire keeps their history");
        assert_eq!(plan.state.status, Status::Active);
        assert_eq!(plan.state.terminated_at, None);
    }

    #[test]
    fn a_new_login_is_a_new_person_and_a_taken_one_is_refused() {
        let dir = directory(&[alice()], &[]);
        let plan = create_user(&dir, &user_named("bob"), "okta", at(0)).unwrap();
        assert!(plan.state.id.starts_with("u-"), "{}", plan.state.id);
        assert_eq!(plan.state.name, "bob", "a name is never empty");
        assert_eq!(
            plan.state.accounts,
            [Account {
                kind: AccountKind::Other,
                value: "bob".into()
            }],
            "a login without `@` is no UPN"
        );

        let err =
            create_user(&dir, &user_named("Alice@Nordlys.example"), "okta", at(0)).unwrap_err();
        assert!(matches!(err, ProvisionError::UserNameTaken(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "userName `Alice@Nordlys.example` is already taken"
        );
        let err = create_user(&dir, &ProvisionedUser::default(), "okta", at(0)).unwrap_err();
        assert!(matches!(err, ProvisionError::UserNameRequired), "{err:?}");
    }

    #[test]
    fn echoing_a_person_back_changes_nothing() {
        let mut p = alice();
        p.accounts.push(Account {
            kind: AccountKind::Email,
            value: "a.berg@nordlys.example".into(),
        });
        let dir = directory(std::slice::from_ref(&p), &[]);
        for absent in [Absent::Keeps, Absent::Clears] {
            let plan =
                update_user(&dir, &p, &ProvisionedUser::of(&p), absent, "okta", at(0)).unwrap();
            assert_eq!(plan.state, p, "{absent:?}");
            assert!(plan.changes.is_empty() && plan.event.is_none());
        }
    }

    #[test]
    fn a_replace_keeps_what_is_absent_and_a_patch_clears_it() {
        let p = alice();
        let dir = directory(std::slice::from_ref(&p), &[]);
        let mut new = ProvisionedUser::of(&p);
        new.department = None;
        let kept = update_user(&dir, &p, &new, Absent::Keeps, "okta", at(0)).unwrap();
        assert_eq!(kept.state.department.as_deref(), Some("Finance"));
        let cleared = update_user(&dir, &p, &new, Absent::Clears, "okta", at(0)).unwrap();
        assert_eq!(cleared.state.department, None);
        assert_eq!(cleared.changes.len(), 1);
    }

    #[test]
    fn deactivation_suspends_and_says_who_did_it() {
        let p = alice();
        let mut dir = directory(std::slice::from_ref(&p), &[]);
        let new = ProvisionedUser {
            active: Some(false),
            ..ProvisionedUser::default()
        };
        let plan = update_user(&dir, &p, &new, Absent::Keeps, "okta-token", at(0)).unwrap();
        assert_eq!(plan.state.status, Status::Suspended);
        assert_eq!(
            plan.state.account_disabled,
            Some(at(0)),
            "when the account was disabled is kept for the access revocation KPI"
        );
        let e = plan.event.expect("a deactivation is an event");
        assert_eq!(e.source.name, ORIGIN);
        assert_eq!(e.class, Class::AccountChange);
        assert_eq!(e.activity, Activity::Disable);
        assert_eq!(
            e.message,
            "SCIM deactivated alice@nordlys.example (Alice Berg) via token okta-token"
        );
        assert_eq!(e.actor.user.as_deref(), Some("okta-token"));
        let person = e.actor.person.as_ref().unwrap();
        assert_eq!(person.id, "E1001");
        assert_eq!(person.status.as_deref(), Some("suspended"));
        assert_eq!(e.attrs["target.user"], "alice@nordlys.example");

        // Suspending someone already suspended raises nothing more; re-activating neither.
        commit(&mut dir, &plan.changes);
        let suspended = dir.person("E1001").unwrap().clone();
        let again = update_user(&dir, &suspended, &new, Absent::Keeps, "okta", at(1)).unwrap();
        assert!(again.event.is_none() && again.changes.is_empty());
        let back = ProvisionedUser {
            active: Some(true),
            ..ProvisionedUser::default()
        };
        let back = update_user(&dir, &suspended, &back, Absent::Keeps, "okta", at(2)).unwrap();
        assert_eq!(back.state.status, Status::Active);
        assert_eq!(back.state.account_disabled, None);
        assert!(back.event.is_none());
    }

    #[test]
    fn on_leave_is_active_to_the_idp() {
        let mut p = alice();
        p.status = Status::OnLeave;
        let dir = directory(std::slice::from_ref(&p), &[]);
        assert_eq!(ProvisionedUser::of(&p).active, Some(true));
        let new = ProvisionedUser {
            active: Some(true),
            ..ProvisionedUser::default()
        };
        let plan = update_user(&dir, &p, &new, Absent::Keeps, "okta", at(0)).unwrap();
        assert_eq!(plan.state.status, Status::OnLeave, "HR's word stays");
    }

    #[test]
    fn a_manager_must_be_a_known_person() {
        let p = alice();
        let dir = directory(std::slice::from_ref(&p), &[]);
        let new = ProvisionedUser {
            manager: set("E9999"),
            ..ProvisionedUser::default()
        };
        let err = update_user(&dir, &p, &new, Absent::Keeps, "okta", at(0)).unwrap_err();
        assert!(matches!(&err, ProvisionError::UnknownManager(m) if m == "E9999"));
        assert_eq!(err.to_string(), "manager `E9999` is not a known user id");
    }

    #[test]
    fn deletion_terminates_leaves_groups_and_hides_the_user() {
        let p = alice();
        let ops = Group {
            id: "g1".into(),
            name: "Ops".into(),
            members: vec!["E1001".into(), "E1002".into()],
            ..Group::default()
        };
        let mut dir = directory(&[p], &[ops]);
        let plan = delete_user(&dir, "E1001", "okta", at(0)).unwrap();
        assert_eq!(plan.state.status, Status::Terminated);
        assert_eq!(plan.state.terminated_at, Some(at(0)));
        assert_eq!(plan.state.account_disabled, Some(at(0)));
        let e = plan.event.as_ref().expect("a deletion is an event");
        assert_eq!(e.activity, Activity::Delete);
        assert!(e.message.starts_with("SCIM deleted alice@nordlys.example"));
        commit(&mut dir, &plan.changes);

        assert_eq!(dir.group("g1").unwrap().members, ["E1002"]);
        // Kept in history, gone for the IdP.
        assert!(dir.person("E1001").is_some());
        let err = user(&dir, "E1001").unwrap_err();
        assert!(matches!(err, ProvisionError::UnknownUser(_)));
        assert_eq!(err.to_string(), "no user `E1001`");
        assert!(delete_user(&dir, "E1001", "okta", at(1)).is_err());
    }

    #[test]
    fn groups_need_a_unique_name_and_provisioned_members() {
        let mut left = alice();
        left.id = "E1002".into();
        left.status = Status::Terminated;
        let ops = Group {
            id: "g1".into(),
            name: "Ops".into(),
            ..Group::default()
        };
        let dir = directory(&[alice(), left], std::slice::from_ref(&ops));
        let named = |name: &str, members: &[&str]| ProvisionedGroup {
            display_name: set(name),
            members: Some(members.iter().map(|m| m.to_string()).collect()),
            ..ProvisionedGroup::default()
        };

        let plan = create_group(&dir, &named("Finance", &["E1001", "E1001"]), at(0)).unwrap();
        assert!(plan.state.id.starts_with("g-"));
        assert_eq!(plan.state.members, ["E1001"], "each member once");

        let err = create_group(&dir, &named("OPS", &[]), at(0)).unwrap_err();
        assert_eq!(err.to_string(), "group `OPS` already exists");
        let err = create_group(&dir, &named("Leavers", &["E1002"]), at(0)).unwrap_err();
        assert!(matches!(&err, ProvisionError::UnknownMember(m) if m == "E1002"));
        let err = create_group(&dir, &ProvisionedGroup::default(), at(0)).unwrap_err();
        assert!(matches!(err, ProvisionError::DisplayNameRequired));

        // A patch without members empties the group; a replace without them keeps them.
        let mut with = ops.clone();
        with.members = vec!["E1001".into()];
        let keep = ProvisionedGroup {
            display_name: set("Ops"),
            ..ProvisionedGroup::default()
        };
        let kept = update_group(&dir, &with, &keep, Absent::Keeps, at(0)).unwrap();
        assert_eq!(kept.state.members, ["E1001"]);
        let cleared = update_group(&dir, &with, &keep, Absent::Clears, at(0)).unwrap();
        assert!(cleared.state.members.is_empty());
        // The same state is no change.
        let same = update_group(&dir, &ops, &keep, Absent::Keeps, at(0)).unwrap();
        assert!(same.changes.is_empty());

        let removed = delete_group(&dir, "g1", at(0)).unwrap();
        assert_eq!(removed.changes.len(), 1);
        assert!(matches!(
            delete_group(&dir, "g9", at(0)),
            Err(ProvisionError::UnknownGroup(_))
        ));
    }

    #[test]
    fn the_primary_address_is_marked_then_work_then_first() {
        let e = |v: &str, primary: bool, work: bool| (v.to_owned(), primary, work);
        let emails = Emails::from_listed([
            e(" a@x ", false, false),
            e("b@x", false, true),
            e("A@X", true, false),
            e("  ", true, true),
        ]);
        assert_eq!(emails.primary.as_deref(), Some("A@X"));
        assert_eq!(
            emails.all,
            ["a@x", "b@x"],
            "trimmed, each once ignoring case"
        );
        let emails = Emails::from_listed([e("a@x", false, false), e("b@x", false, true)]);
        assert_eq!(emails.primary.as_deref(), Some("b@x"));
        let emails = Emails::from_listed([e("a@x", false, false)]);
        assert_eq!(emails.primary.as_deref(), Some("a@x"));
    }
}
