//! SCIM User and Group resources: how a directory person and group are rendered as JSON, and
//! how a request's JSON is read into what the IdP says ([`ProvisionedUser`],
//! [`ProvisionedGroup`]). What that does to the directory (the mapping onto a person,
//! linking, deactivation) is `tandem_identity::provision`'s, whose docs hold the attribute
//! table.

use super::ENTERPRISE;
use super::ScimError;
use super::json::get_ci;
use serde_json::{Map, Value, json};
use tandem_identity::provision::{
    Attr, Emails, ProvisionedGroup, ProvisionedUser, formatted_name, is_active, user_name,
};
use tandem_identity::{AccountKind, Directory, Group, History, Person};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

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
    let formatted = formatted_name(p);
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
        "active": is_active(p),
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
fn text(v: Option<&Value>) -> Result<Attr, String> {
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

/// What a user resource says, read leniently (attribute names in any case). Errors are the
/// wire's: a value of the wrong JSON type.
pub fn parse_user(u: &Map<String, Value>) -> Result<ProvisionedUser, ScimError> {
    let bad = |attr: &str, e: String| ScimError::bad("invalidValue", format!("`{attr}`: {e}"));
    let t = |attr: &str, v: Option<&Value>| text(v).map_err(|e| bad(attr, e));
    let ext = get_ci(u, ENTERPRISE).and_then(Value::as_object);
    let emails = match get_ci(u, "emails") {
        None => None,
        Some(Value::Null) => Some(Emails::default()),
        Some(Value::Array(items)) => {
            let mut listed = Vec::new();
            for it in items {
                listed.push(match it {
                    Value::String(s) => (s.clone(), false, false),
                    Value::Object(o) => match get_ci(o, "value") {
                        Some(Value::String(s)) => (
                            s.clone(),
                            get_ci(o, "primary").and_then(boolean).unwrap_or(false),
                            get_ci(o, "type")
                                .and_then(Value::as_str)
                                .is_some_and(|k| k.eq_ignore_ascii_case("work")),
                        ),
                        _ => continue,
                    },
                    _ => return Err(bad("emails", "expected objects".into())),
                });
            }
            Some(Emails::from_listed(listed))
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
    Ok(ProvisionedUser {
        user_name: t("userName", get_ci(u, "userName"))?,
        external_id: t("externalId", get_ci(u, "externalId"))?,
        display_name: t("displayName", get_ci(u, "displayName"))?,
        formatted: t("name.formatted", sub(u, "name", "formatted"))?,
        given_name: t("name.givenName", sub(u, "name", "givenName"))?,
        family_name: t("name.familyName", sub(u, "name", "familyName"))?,
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

/// What a group resource says. Errors are the wire's: a value of the wrong JSON type, a
/// member without a `value`.
pub fn parse_group(v: &Map<String, Value>) -> Result<ProvisionedGroup, ScimError> {
    let display_name = text(get_ci(v, "displayName"))
        .map_err(|e| ScimError::bad("invalidValue", format!("`displayName`: {e}")))?;
    let external_id = text(get_ci(v, "externalId"))
        .map_err(|e| ScimError::bad("invalidValue", format!("`externalId`: {e}")))?;
    let members = match get_ci(v, "members") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|it| {
                    match it {
                        Value::Object(o) => get_ci(o, "value").and_then(Value::as_str),
                        Value::String(s) => Some(s.as_str()),
                        _ => None,
                    }
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ScimError::bad("invalidValue", format!("member {it} has no `value`"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => {
            return Err(ScimError::bad(
                "invalidValue",
                format!("`members` must be a list, got {other}"),
            ));
        }
    };
    Ok(ProvisionedGroup {
        display_name,
        external_id,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_identity::{Account, Status};

    /// The identity rules compare what a request says with how the IdP sees the person
    /// (`ProvisionedUser::of`); that must be exactly what reading the rendered resource back
    /// gives, or an echoed resource would change the directory.
    #[test]
    fn a_rendered_user_reads_back_as_the_idp_sees_the_person() {
        let email = |v: &str| Account {
            kind: AccountKind::Email,
            value: v.into(),
        };
        let people = [
            Person {
                id: "E1".into(),
                name: "Alice Berg".into(),
                given_name: Some("Alice".into()),
                family_name: Some("Berg".into()),
                email: Some("alice@x".into()),
                accounts: vec![email("ALICE@x"), email("a.berg@x")],
                employee_number: Some("E1".into()),
                manager: Some("E2".into()),
                title: Some("  ".into()),
                ..Person::default()
            },
            Person {
                id: "E2".into(),
                name: " Bob ".into(),
                given_name: Some("Bob".into()),
                email: Some("  ".into()),
                accounts: vec![
                    Account {
                        kind: AccountKind::Other,
                        value: "bob".into(),
                    },
                    email("b@x"),
                ],
                status: Status::OnLeave,
                department: Some(String::new()),
                ..Person::default()
            },
            Person {
                id: "E3".into(),
                status: Status::Suspended,
                ..Person::default()
            },
        ];
        let dir = Directory::default();
        for p in &people {
            let rendered = render_user(&dir, p, "https://t/scim/v2");
            let read = parse_user(rendered.as_object().unwrap()).unwrap();
            assert_eq!(read, ProvisionedUser::of(p), "{}", p.id);
        }
    }

    /// Wire errors name the attribute; what they mean for the directory is not decided here.
    #[test]
    fn wrong_json_types_are_invalid_values() {
        let body = json!({"userName": ["a"]});
        let err = parse_user(body.as_object().unwrap()).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidValue"));
        assert!(
            err.detail.starts_with("`userName`: expected a string"),
            "{}",
            err.detail
        );
        let body = json!({"displayName": "Ops", "members": [{"display": "x"}]});
        let err = parse_group(body.as_object().unwrap()).unwrap_err();
        assert!(err.detail.contains("has no `value`"), "{}", err.detail);
        let body = json!({"active": "False", "emails": [{"value": " a@x ", "type": "Work"}]});
        let read = parse_user(body.as_object().unwrap()).unwrap();
        assert_eq!(read.active, Some(false), "Entra ID's string booleans");
        assert_eq!(read.emails.unwrap().primary.as_deref(), Some("a@x"));
    }
}
