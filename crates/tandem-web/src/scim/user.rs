//! The SCIM User and Group ⇄ directory mapping.
//!
//! | SCIM | Person |
//! | --- | --- |
//! | `id` | `id` (generated `u-<ulid>` for people SCIM creates) |
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
//! not SCIM's and is carried over unchanged by every write.

use super::json::get_ci;
use super::{ENTERPRISE, ScimError};
use serde_json::{Map, Value, json};
use tandem_identity::{Account, AccountKind, Directory, Group, History, Person, Status};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Whether a person is a SCIM resource. Terminated people are not: a SCIM `DELETE` ends in
/// `terminated`, after which RFC 7644 §3.6 wants `404`, and a leaver terminated by HR is
/// gone for the IdP just the same. Their history stays in the directory.
pub fn visible(p: &Person) -> bool {
    p.status != Status::Terminated
}

/// The account that is the person's `userName`.
fn user_name_account(p: &Person) -> Option<&Account> {
    p.accounts
        .iter()
        .find(|a| matches!(a.kind, AccountKind::Upn | AccountKind::Other))
}

/// `userName` as SCIM shows it: the login account, else the e-mail, else the id (the
/// attribute is required, and HR-only people may have neither).
pub fn user_name(p: &Person) -> String {
    user_name_account(p)
        .map(|a| a.value.clone())
        .or_else(|| p.email.clone())
        .unwrap_or_else(|| p.id.clone())
}

fn meta<T>(resource_type: &str, location: String, history: Option<&History<T>>) -> Value {
    let versions = history.map(History::versions).unwrap_or_default();
    let created = versions.iter().map(|v| v.effective).min();
    let modified = versions.iter().map(|v| v.recorded).max();
    let seq = versions.iter().map(|v| v.seq).max().unwrap_or(0);
    let mut m = json!({
        "resourceType": resource_type,
        "location": location,
        "version": format!("W/\"{seq}\""),
    });
    if let (Some(c), Some(l)) = (created, modified) {
        m["created"] = json!(c);
        m["lastModified"] = json!(l);
    }
    if history.is_none()
        && let Some(o) = m.as_object_mut()
    {
        o.remove("version");
    }
    m
}

/// A person as a SCIM User.
pub fn render_user(dir: &Directory, p: &Person, base: &str) -> Value {
    let mut emails: Vec<Value> = Vec::new();
    if let Some(e) = &p.email {
        emails.push(json!({"value": e, "type": "work", "primary": true}));
    }
    for a in p.accounts.iter().filter(|a| a.kind == AccountKind::Email) {
        if !p
            .email
            .as_ref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&a.value))
        {
            emails.push(json!({"value": a.value, "type": "other", "primary": false}));
        }
    }
    let mut name = Map::new();
    let formatted = match (&p.given_name, &p.family_name) {
        (Some(g), Some(f)) => format!("{g} {f}"),
        _ => p.name.clone(),
    };
    if !formatted.is_empty() {
        name.insert("formatted".into(), formatted.into());
    }
    if let Some(g) = &p.given_name {
        name.insert("givenName".into(), g.clone().into());
    }
    if let Some(f) = &p.family_name {
        name.insert("familyName".into(), f.clone().into());
    }
    let mut ext = Map::new();
    if let Some(n) = &p.employee_number {
        ext.insert("employeeNumber".into(), n.clone().into());
    }
    if let Some(d) = &p.department {
        ext.insert("department".into(), d.clone().into());
    }
    if let Some(o) = &p.organization {
        ext.insert("organization".into(), o.clone().into());
    }
    if let Some(m) = &p.manager {
        let mut manager = json!({"value": m, "$ref": format!("{base}/Users/{m}")});
        if let Some(mp) = dir.person(m) {
            manager["displayName"] = mp.name.clone().into();
        }
        ext.insert("manager".into(), manager);
    }
    let mut schemas = vec![USER_SCHEMA];
    let mut u = json!({
        "id": p.id,
        "userName": user_name(p),
        "active": matches!(p.status, Status::Active | Status::OnLeave),
        "emails": emails,
        "meta": meta("User", format!("{base}/Users/{}", p.id), dir.person_history(&p.id)),
    });
    if !p.name.is_empty() {
        u["displayName"] = p.name.clone().into();
    }
    if !name.is_empty() {
        u["name"] = Value::Object(name);
    }
    if let Some(x) = &p.external_id {
        u["externalId"] = x.clone().into();
    }
    if let Some(t) = &p.title {
        u["title"] = t.clone().into();
    }
    if !ext.is_empty() {
        schemas.push(ENTERPRISE);
        u[ENTERPRISE] = Value::Object(ext);
    }
    u["schemas"] = json!(schemas);
    u
}

/// A string attribute: `Some(None)` when the client cleared it (null or ""), `None` when
/// it is absent.
fn text(v: Option<&Value>) -> Result<Option<Option<String>>, String> {
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.trim().to_owned()))),
        Some(Value::Number(n)) => Ok(Some(Some(n.to_string()))),
        Some(other) => Err(format!("expected a string, got {other}")),
    }
}

/// Booleans, also as Entra ID sends them without the `aadOptscim062020` flag: `"False"`.
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn sub<'a>(obj: &'a Map<String, Value>, a: &str, b: &str) -> Option<&'a Value> {
    match get_ci(obj, a)? {
        Value::Object(o) => get_ci(o, b),
        _ => None,
    }
}

/// The SCIM-visible facts of a user resource, read leniently (attribute names in any case).
#[derive(Debug, PartialEq)]
struct Facts {
    user_name: Option<Option<String>>,
    external_id: Option<Option<String>>,
    display_name: Option<Option<String>>,
    formatted: Option<Option<String>>,
    given: Option<Option<String>>,
    family: Option<Option<String>>,
    title: Option<Option<String>>,
    /// `(primary, all)`.
    emails: Option<(Option<String>, Vec<String>)>,
    active: Option<bool>,
    employee_number: Option<Option<String>>,
    department: Option<Option<String>>,
    organization: Option<Option<String>>,
    manager: Option<Option<String>>,
}

fn facts(u: &Map<String, Value>) -> Result<Facts, ScimError> {
    let bad = |attr: &str, e: String| ScimError::bad("invalidValue", format!("`{attr}`: {e}"));
    let t = |attr: &str, v: Option<&Value>| text(v).map_err(|e| bad(attr, e));
    let ext = get_ci(u, ENTERPRISE).and_then(Value::as_object);
    let emails = match get_ci(u, "emails") {
        None => None,
        Some(Value::Null) => Some((None, Vec::new())),
        Some(Value::Array(items)) => {
            let mut all = Vec::new();
            let mut primary = None;
            let mut work = None;
            for it in items {
                let (value, is_primary, kind) = match it {
                    Value::String(s) => (s.clone(), false, None),
                    Value::Object(o) => match get_ci(o, "value") {
                        Some(Value::String(s)) => (
                            s.clone(),
                            get_ci(o, "primary").and_then(boolean).unwrap_or(false),
                            get_ci(o, "type").and_then(Value::as_str),
                        ),
                        _ => continue,
                    },
                    _ => return Err(bad("emails", "expected objects".into())),
                };
                let value = value.trim().to_owned();
                if value.is_empty() {
                    continue;
                }
                if is_primary && primary.is_none() {
                    primary = Some(value.clone());
                }
                if kind.is_some_and(|k| k.eq_ignore_ascii_case("work")) && work.is_none() {
                    work = Some(value.clone());
                }
                if !all.iter().any(|a: &String| a.eq_ignore_ascii_case(&value)) {
                    all.push(value);
                }
            }
            let primary = primary.or(work).or_else(|| all.first().cloned());
            Some((primary, all))
        }
        Some(other) => return Err(bad("emails", format!("expected a list, got {other}"))),
    };
    let active = match get_ci(u, "active") {
        None | Some(Value::Null) => None,
        Some(v) => {
            Some(boolean(v).ok_or_else(|| bad("active", format!("expected a boolean, got {v}")))?)
        }
    };
    let manager = match ext.and_then(|e| get_ci(e, "manager")) {
        None => None,
        // Entra ID sends the manager's id as a bare string in PATCH.
        Some(v @ (Value::String(_) | Value::Null)) => t("manager", Some(v))?,
        Some(Value::Object(o)) => match get_ci(o, "value") {
            None => Some(None),
            v => t("manager.value", v)?,
        },
        Some(other) => return Err(bad("manager", format!("unexpected {other}"))),
    };
    Ok(Facts {
        user_name: t("userName", get_ci(u, "userName"))?,
        external_id: t("externalId", get_ci(u, "externalId"))?,
        display_name: t("displayName", get_ci(u, "displayName"))?,
        formatted: t("name.formatted", sub(u, "name", "formatted"))?,
        given: t("name.givenName", sub(u, "name", "givenName"))?,
        family: t("name.familyName", sub(u, "name", "familyName"))?,
        title: t("title", get_ci(u, "title"))?,
        emails,
        active,
        employee_number: t(
            "employeeNumber",
            ext.and_then(|e| get_ci(e, "employeeNumber")),
        )?,
        department: t("department", ext.and_then(|e| get_ci(e, "department")))?,
        organization: t("organization", ext.and_then(|e| get_ci(e, "organization")))?,
        manager,
    })
}

/// The employee number a request carries, for linking to an HR-imported person.
pub fn employee_number(u: &Map<String, Value>) -> Option<String> {
    facts(u).ok()?.employee_number.flatten()
}

pub fn requested_user_name(u: &Map<String, Value>) -> Result<String, ScimError> {
    facts(u)?
        .user_name
        .flatten()
        .ok_or_else(|| ScimError::bad("invalidValue", "`userName` is required"))
}

/// How absent attributes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absent {
    /// POST and PUT: an attribute the client did not send keeps its value. HR and the IdP
    /// both feed a person, and an Okta PUT without the enterprise extension must not wipe
    /// the department HR set. Clearing takes an explicit `null` or `""`.
    Keeps,
    /// PATCH: the body is the whole resource after the operations, so an attribute that is
    /// gone was removed.
    Clears,
}

/// Applies a SCIM user representation onto `base` (the person as the directory holds it),
/// changing only what differs from how `base` renders: an attribute the client echoes back
/// unchanged never disturbs the directory (an `other`-typed e-mail stays an account, a
/// `formatted` name never overwrites the display name).
pub fn apply_user(
    dir: &Directory,
    base: &Person,
    u: &Map<String, Value>,
    absent: Absent,
) -> Result<Person, ScimError> {
    let before = render_user(dir, base, "");
    let old = facts(before.as_object().expect("a rendered user is an object"))?;
    let new = facts(u)?;
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
        let name = name.ok_or_else(|| ScimError::bad("invalidValue", "`userName` is required"))?;
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
        // First, so it is the account `userName` renders from.
        p.accounts.insert(0, Account { kind, value: name });
    }
    if let Some(v) = change(&new.external_id, &old.external_id, None, absent) {
        p.external_id = v;
    }
    if let Some(v) = change(&new.given, &old.given, None, absent) {
        p.given_name = v;
    }
    if let Some(v) = change(&new.family, &old.family, None, absent) {
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
    if let Some((primary, all)) = change(&new.emails, &old.emails, (None, Vec::new()), absent) {
        p.email = primary;
        // The IdP is authoritative for e-mail addresses; an address it drops still resolves
        // historical events, because resolution indexes every version of a person.
        p.accounts.retain(|a| a.kind != AccountKind::Email);
        p.accounts.extend(all.into_iter().map(|value| Account {
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
            return Err(ScimError::bad(
                "invalidValue",
                format!("manager `{m}` is not a known user id"),
            ));
        }
        p.manager = v;
    }
    if p.name.is_empty() {
        p.name = user_name(&p);
    }
    Ok(p)
}

/// A group as a SCIM Group.
pub fn render_group(dir: &Directory, g: &Group, base: &str) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            let mut v = json!({"value": m, "$ref": format!("{base}/Users/{m}"), "type": "User"});
            if let Some(p) = dir.person(m) {
                v["display"] = p.name.clone().into();
            }
            v
        })
        .collect();
    let mut out = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id,
        "displayName": g.name,
        "members": members,
        // The directory keeps group history but does not expose it yet, so groups carry no
        // created/lastModified.
        "meta": meta::<Group>("Group", format!("{base}/Groups/{}", g.id), None),
    });
    if let Some(x) = &g.external_id {
        out["externalId"] = x.clone().into();
    }
    out
}

/// Applies a SCIM group representation onto `base`. Members must be known people.
pub fn apply_group(
    dir: &Directory,
    base: &Group,
    v: &Map<String, Value>,
    absent: Absent,
) -> Result<Group, ScimError> {
    let mut g = base.clone();
    match text(get_ci(v, "displayName")) {
        Ok(Some(Some(name))) => g.name = name,
        Ok(Some(None)) => {
            return Err(ScimError::bad("invalidValue", "`displayName` is required"));
        }
        Ok(None) if absent == Absent::Clears || g.name.is_empty() => {
            return Err(ScimError::bad("invalidValue", "`displayName` is required"));
        }
        Ok(None) => {}
        Err(e) => {
            return Err(ScimError::bad(
                "invalidValue",
                format!("`displayName`: {e}"),
            ));
        }
    }
    match text(get_ci(v, "externalId")) {
        Ok(Some(x)) => g.external_id = x,
        Ok(None) if absent == Absent::Clears => g.external_id = None,
        Ok(None) => {}
        Err(e) => return Err(ScimError::bad("invalidValue", format!("`externalId`: {e}"))),
    }
    let members = match get_ci(v, "members") {
        None if absent == Absent::Keeps => None,
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => {
            let mut ids: Vec<String> = Vec::new();
            for it in items {
                let id = match it {
                    Value::Object(o) => get_ci(o, "value").and_then(Value::as_str),
                    Value::String(s) => Some(s.as_str()),
                    _ => None,
                }
                .ok_or_else(|| {
                    ScimError::bad("invalidValue", format!("member {it} has no `value`"))
                })?;
                if !dir.person(id).is_some_and(visible) {
                    return Err(ScimError::bad(
                        "invalidValue",
                        format!("member `{id}` is not a known user id"),
                    ));
                }
                if !ids.iter().any(|x| x == id) {
                    ids.push(id.to_owned());
                }
            }
            Some(ids)
        }
        Some(other) => {
            return Err(ScimError::bad(
                "invalidValue",
                format!("`members` must be a list, got {other}"),
            ));
        }
    };
    if let Some(m) = members {
        g.members = m;
    }
    Ok(g)
}
