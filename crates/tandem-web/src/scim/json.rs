//! SCIM resources as JSON: filter evaluation, PATCH operations and attribute projection.
//!
//! Everything here works on the rendered resource (`serde_json::Value`) rather than on
//! [`tandem_identity::Person`]: a PATCH is applied to the resource exactly as the client
//! saw it, then mapped back ([`super::user::apply_user`]). One generic implementation then
//! serves every path form (`name.givenName`, `emails[type eq "work"].value`, enterprise
//! extension URNs, no path at all) for Users and Groups alike, and the mapping back to the
//! directory lives in one place.
//!
//! Filter and PATCH-path *parsing* is the `scim_v2` crate's (RFC 7644 §3.4.2.2 and §3.5.2
//! grammars, with depth and term limits against hostile input); *evaluation* is ours, because
//! that crate deliberately evaluates nothing.

use super::{ENTERPRISE, ScimError};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, PatchPath, ValFilter};
use serde_json::{Map, Value};

/// The user schema's core URN; a path may carry it as a prefix (`urn:…:User:userName`).
const CORE_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:";

/// Attributes compared case-sensitively (RFC 7643 `caseExact: true`): identifiers Tandem or
/// the IdP assigned. Everything else (userName, e-mails, names) compares case-insensitively,
/// as the User schema says, so Okta's `userName eq "Alice@X"` finds `alice@x`.
fn case_exact(name: &str, sub: Option<&str>) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        (name.as_str(), sub.map(str::to_ascii_lowercase).as_deref()),
        ("id" | "externalid", None) | ("members" | "manager", Some("value") | None)
    )
}

/// A key of `obj` equal to `name` ignoring case (attribute names are case-insensitive,
/// RFC 7643 §2.1).
pub fn key_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name))
}

pub fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    key_ci(obj, name).and_then(|k| obj.get(k))
}

fn get_ci_mut<'a>(obj: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = key_ci(obj, name)?.clone();
    obj.get_mut(&key)
}

/// Sets `name` in `obj`, replacing a key that differs only in case.
fn set_ci(obj: &mut Map<String, Value>, name: &str, value: Value) {
    match key_ci(obj, name).cloned() {
        Some(k) => {
            obj.insert(k, value);
        }
        None => {
            obj.insert(name.to_owned(), value);
        }
    }
}

fn remove_ci(obj: &mut Map<String, Value>, name: &str) {
    if let Some(k) = key_ci(obj, name).cloned() {
        obj.remove(&k);
    }
}

fn is_enterprise(uri: Option<&str>) -> bool {
    uri.is_some_and(|u| u.eq_ignore_ascii_case(ENTERPRISE))
}

/// The object an attribute path starts from: the resource, or its enterprise extension.
fn container<'a>(
    resource: &'a Map<String, Value>,
    path: &AttrPath,
) -> Option<&'a Map<String, Value>> {
    if is_enterprise(path.uri.as_deref()) {
        get_ci(resource, ENTERPRISE)?.as_object()
    } else {
        Some(resource)
    }
}

/// Every value `path` names in `resource`: one for `userName`, one per element for
/// `emails.value`, and for a complex multi-valued attribute named without a sub-attribute
/// (`members eq "…"`, as Entra ID's membership check sends it) each element's `value`.
fn values<'a>(resource: &'a Map<String, Value>, path: &AttrPath) -> Vec<&'a Value> {
    let Some(base) = container(resource, path) else {
        return Vec::new();
    };
    let Some(v) = get_ci(base, &path.name) else {
        return Vec::new();
    };
    let sub = path.sub_attr.as_deref();
    let pick = |v: &'a Value| -> Option<&'a Value> {
        match (v, sub) {
            (Value::Object(o), Some(s)) => get_ci(o, s),
            (Value::Object(o), None) => get_ci(o, "value"),
            (other, None) => Some(other),
            (_, Some(_)) => None,
        }
    };
    match v {
        Value::Array(items) => items.iter().filter_map(pick).collect(),
        Value::Object(_) if sub.is_none() => vec![v],
        other => pick(other).into_iter().collect(),
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(actual: &Value, op: &CompareOp, expected: &CompValue, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (actual, expected) {
        (_, CompValue::Null) => {
            return match op {
                CompareOp::Eq => actual.is_null(),
                CompareOp::Ne => !actual.is_null(),
                _ => false,
            };
        }
        (Value::Bool(a), CompValue::True | CompValue::False) => {
            Some(a.cmp(&matches!(expected, CompValue::True)))
        }
        // IdPs that send booleans as strings store them that way too.
        (Value::String(a), CompValue::True | CompValue::False) => {
            let want = matches!(expected, CompValue::True);
            match a.to_ascii_lowercase().as_str() {
                "true" => Some(true.cmp(&want)),
                "false" => Some(false.cmp(&want)),
                _ => None,
            }
        }
        (Value::Number(a), CompValue::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), CompValue::Str(b)) => {
            let (a, b) = if exact {
                (a.clone(), b.clone())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                CompareOp::Co => return a.contains(&b),
                CompareOp::Sw => return a.starts_with(&b),
                CompareOp::Ew => return a.ends_with(&b),
                _ => {}
            }
            // Timestamps compare as instants, whatever their offset notation.
            match (
                chrono::DateTime::parse_from_rfc3339(&a),
                chrono::DateTime::parse_from_rfc3339(&b),
            ) {
                (Ok(x), Ok(y)) => Some(x.cmp(&y)),
                _ => Some(a.cmp(&b)),
            }
        }
        _ => None,
    };
    let Some(ord) = ord else {
        return matches!(op, CompareOp::Ne);
    };
    match op {
        CompareOp::Eq => ord.is_eq(),
        CompareOp::Ne => ord.is_ne(),
        CompareOp::Gt => ord.is_gt(),
        CompareOp::Ge => ord.is_ge(),
        CompareOp::Lt => ord.is_lt(),
        CompareOp::Le => ord.is_le(),
        // Substring operators on non-strings match nothing.
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn attr_matches(resource: &Map<String, Value>, exp: &AttrExp) -> bool {
    match exp {
        AttrExp::Present(path) => values(resource, path).into_iter().any(present),
        AttrExp::Comparison(path, op, expected) => {
            let exact = case_exact(&path.name, path.sub_attr.as_deref());
            let found = values(resource, path);
            if found.is_empty() {
                // An absent attribute is "not equal" to anything.
                return matches!(op, CompareOp::Ne);
            }
            found.into_iter().any(|v| compare(v, op, expected, exact))
        }
    }
}

/// Whether `resource` matches a `filter` query parameter.
pub fn matches(resource: &Map<String, Value>, filter: &Filter) -> bool {
    match filter {
        Filter::Attr(exp) => attr_matches(resource, exp),
        Filter::ValuePath(vp) => elements(resource, &vp.attr)
            .iter()
            .any(|el| el.as_object().is_some_and(|o| val_matches(o, &vp.filter))),
        Filter::Not(inner) => !matches(resource, inner),
        Filter::And(items) => items.as_slice().iter().all(|f| matches(resource, f)),
        Filter::Or(items) => items.as_slice().iter().any(|f| matches(resource, f)),
    }
}

/// Whether one element of a multi-valued attribute matches a bracketed value filter.
pub fn val_matches(element: &Map<String, Value>, filter: &ValFilter) -> bool {
    match filter {
        ValFilter::Attr(exp) => attr_matches(element, exp),
        ValFilter::Not(inner) => !val_matches(element, inner),
        ValFilter::And(items) => items.as_slice().iter().all(|f| val_matches(element, f)),
        ValFilter::Or(items) => items.as_slice().iter().any(|f| val_matches(element, f)),
    }
}

fn elements<'a>(resource: &'a Map<String, Value>, path: &AttrPath) -> &'a [Value] {
    container(resource, path)
        .and_then(|c| get_ci(c, &path.name))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A PATCH operation's verb. Entra ID capitalises it (`"Replace"`), so it is read
/// case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

impl Op {
    pub fn parse(s: &str) -> Result<Op, ScimError> {
        match s.to_ascii_lowercase().as_str() {
            "add" => Ok(Op::Add),
            "replace" => Ok(Op::Replace),
            "remove" => Ok(Op::Remove),
            _ => Err(ScimError::bad(
                "invalidSyntax",
                format!("PATCH op `{s}` is not add, replace or remove"),
            )),
        }
    }
}

/// Multi-valued attributes: `add` appends to them instead of overwriting.
fn multi_valued(name: &str) -> bool {
    [
        "emails",
        "members",
        "phoneNumbers",
        "addresses",
        "groups",
        "roles",
        "entitlements",
        "ims",
        "photos",
        "x509Certificates",
    ]
    .iter()
    .any(|m| m.eq_ignore_ascii_case(name))
}

fn as_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Two elements of a multi-valued attribute are the same when their `value`s are.
fn same_element(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => match (get_ci(x, "value"), get_ci(y, "value")) {
            (Some(Value::String(p)), Some(Value::String(q))) => p.eq_ignore_ascii_case(q),
            (Some(p), Some(q)) => p == q,
            _ => a == b,
        },
        _ => a == b,
    }
}

/// The object a path's attribute lives in, created when an `add`/`replace` needs it.
fn container_mut<'a>(
    resource: &'a mut Map<String, Value>,
    uri: Option<&str>,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    match uri {
        Some(u) if u.eq_ignore_ascii_case(ENTERPRISE) => {
            if key_ci(resource, ENTERPRISE).is_none() {
                resource.insert(ENTERPRISE.to_owned(), Value::Object(Map::new()));
            }
            match get_ci_mut(resource, ENTERPRISE) {
                Some(Value::Object(o)) => Ok(o),
                _ => Err(ScimError::bad(
                    "invalidValue",
                    "the enterprise extension must be an object",
                )),
            }
        }
        Some(u)
            if u.len() >= CORE_PREFIX.len()
                && u[..CORE_PREFIX.len()].eq_ignore_ascii_case(CORE_PREFIX) =>
        {
            Ok(resource)
        }
        None => Ok(resource),
        Some(u) => Err(ScimError::bad(
            "invalidPath",
            format!("schema `{u}` is not supported"),
        )),
    }
}

/// Refuses changes to what the server owns (`id`, `meta`, `schemas`).
fn check_mutable(name: &str) -> Result<(), ScimError> {
    if ["id", "meta", "schemas"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
    {
        return Err(ScimError::bad(
            "mutability",
            format!("`{name}` is read-only"),
        ));
    }
    Ok(())
}

/// Applies one PATCH operation to a rendered resource (RFC 7644 §3.5.2).
pub fn apply_op(
    resource: &mut Map<String, Value>,
    op: Op,
    path: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(path) = path.map(str::trim).filter(|p| !p.is_empty()) else {
        // No path: the value is an object of attributes to add or replace (Okta's
        // `{"op":"replace","value":{"active":false}}`).
        if op == Op::Remove {
            return Err(ScimError::bad("noTarget", "remove needs a path"));
        }
        let Some(Value::Object(attrs)) = value else {
            return Err(ScimError::bad(
                "invalidValue",
                "an operation without a path needs an object value",
            ));
        };
        for (k, v) in attrs {
            if k.eq_ignore_ascii_case(ENTERPRISE) {
                // The whole extension as an object: each of its attributes in turn.
                let Value::Object(ext) = v else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "the enterprise extension must be an object",
                    ));
                };
                for (ek, ev) in ext {
                    apply_op(resource, op, Some(&format!("{ENTERPRISE}:{ek}")), Some(ev))?;
                }
            } else {
                // Keys may be paths themselves (`name.givenName`, `urn:…:User:department`).
                apply_op(resource, op, Some(&k), Some(v))?;
            }
        }
        return Ok(());
    };
    let parsed: PatchPath = path
        .parse()
        .map_err(|e| ScimError::bad("invalidPath", format!("path `{path}`: {e}")))?;
    match parsed {
        PatchPath::Attr(attr) => {
            check_mutable(&attr.name)?;
            let obj = container_mut(resource, attr.uri.as_deref())?;
            apply_attr(obj, op, &attr.name, attr.sub_attr.as_deref(), value)
        }
        PatchPath::Value(vp) => {
            check_mutable(&vp.attr.name)?;
            let obj = container_mut(resource, vp.attr.uri.as_deref())?;
            apply_value_path(
                obj,
                op,
                &vp.attr.name,
                &vp.filter,
                vp.sub_attr.as_deref(),
                value,
            )
        }
    }
}

fn apply_attr(
    obj: &mut Map<String, Value>,
    op: Op,
    name: &str,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let need_value = || {
        ScimError::bad(
            "invalidValue",
            format!("`{op:?}` of `{name}` needs a value").to_lowercase(),
        )
    };
    match (op, sub) {
        (Op::Remove, None) => match value {
            // Entra ID removes group members with `path: members` and the members as value.
            Some(v) if multi_valued(name) && !v.is_null() => {
                let gone = as_list(v);
                if let Some(Value::Array(items)) = get_ci_mut(obj, name) {
                    items.retain(|it| !gone.iter().any(|g| same_element(it, g)));
                }
                Ok(())
            }
            _ => {
                remove_ci(obj, name);
                Ok(())
            }
        },
        (Op::Remove, Some(sub)) => {
            match get_ci_mut(obj, name) {
                Some(Value::Object(o)) => remove_ci(o, sub),
                Some(Value::Array(items)) => {
                    for it in items.iter_mut() {
                        if let Value::Object(o) = it {
                            remove_ci(o, sub);
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        }
        (Op::Add | Op::Replace, None) => {
            let value = value.ok_or_else(need_value)?;
            if multi_valued(name) {
                let new = as_list(value);
                if op == Op::Add {
                    let mut items = match get_ci(obj, name) {
                        Some(Value::Array(a)) => a.clone(),
                        _ => Vec::new(),
                    };
                    for v in new {
                        if !items.iter().any(|it| same_element(it, &v)) {
                            items.push(v);
                        }
                    }
                    set_ci(obj, name, Value::Array(items));
                } else {
                    set_ci(obj, name, Value::Array(new));
                }
            } else if let (Value::Object(new), Some(Value::Object(old))) =
                (&value, get_ci_mut(obj, name))
            {
                // A complex attribute (`name`, `manager`) given whole: merge its
                // sub-attributes, as RFC 7644 §3.5.2.1/3 describe for add and replace alike.
                for (k, v) in new {
                    set_ci(old, k, v.clone());
                }
            } else {
                set_ci(obj, name, value);
            }
            Ok(())
        }
        (Op::Add | Op::Replace, Some(sub)) => {
            let value = value.ok_or_else(need_value)?;
            match get_ci_mut(obj, name) {
                Some(Value::Array(items)) => {
                    for it in items.iter_mut() {
                        if let Value::Object(o) = it {
                            set_ci(o, sub, value.clone());
                        }
                    }
                }
                Some(Value::Object(o)) => set_ci(o, sub, value),
                _ => {
                    let mut o = Map::new();
                    o.insert(sub.to_owned(), value);
                    set_ci(obj, name, Value::Object(o));
                }
            }
            Ok(())
        }
    }
}

fn apply_value_path(
    obj: &mut Map<String, Value>,
    op: Op,
    name: &str,
    filter: &ValFilter,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let mut items = match get_ci(obj, name) {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    let hit = |it: &Value| it.as_object().is_some_and(|o| val_matches(o, filter));
    let any = items.iter().any(hit);
    match op {
        Op::Remove => {
            // Removing what is not there is done already: IdPs retry, and a retry must not fail.
            match sub {
                None => items.retain(|it| !hit(it)),
                Some(s) => {
                    for it in items.iter_mut().filter(|it| hit(it)) {
                        if let Value::Object(o) = it {
                            remove_ci(o, s);
                        }
                    }
                }
            }
        }
        Op::Add | Op::Replace => {
            let value = value.ok_or_else(|| {
                ScimError::bad("invalidValue", format!("`{name}[…]` needs a value"))
            })?;
            if any {
                for it in items.iter_mut().filter(|it| hit(it)) {
                    let Value::Object(o) = it else { continue };
                    match (sub, &value) {
                        (Some(s), v) => set_ci(o, s, v.clone()),
                        (None, Value::Object(new)) => {
                            for (k, v) in new {
                                set_ci(o, k, v.clone());
                            }
                        }
                        (None, _) => {
                            return Err(ScimError::bad(
                                "invalidValue",
                                format!("`{name}[…]` needs an object value"),
                            ));
                        }
                    }
                }
            } else if let ValFilter::Attr(AttrExp::Comparison(
                key,
                CompareOp::Eq,
                CompValue::Str(k),
            )) = filter
            {
                // Entra ID replaces `emails[type eq "work"].value` on users that have no work
                // address yet; the filter then says what the new element is.
                let mut el = Map::new();
                el.insert(key.name.clone(), Value::String(k.clone()));
                match (sub, value) {
                    (Some(s), v) => {
                        el.insert(s.to_owned(), v);
                    }
                    (None, Value::Object(new)) => el.extend(new),
                    (None, _) => {
                        return Err(ScimError::bad(
                            "invalidValue",
                            format!("`{name}[…]` needs an object value"),
                        ));
                    }
                }
                items.push(Value::Object(el));
            } else {
                return Err(ScimError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    Some("noTarget"),
                    format!("no `{name}` value matches the path's filter"),
                ));
            }
        }
    }
    set_ci(obj, name, Value::Array(items));
    Ok(())
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) to a rendered resource.
/// `id` and `schemas` are always returned.
pub fn project(resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(mut obj) = resource else {
        return resource;
    };
    let split = |a: &str| -> (bool, String, Option<String>) {
        // `urn:…:enterprise:2.0:User:department` → extension, `department`.
        let (ext, rest) = if a.len() > ENTERPRISE.len()
            && a[..ENTERPRISE.len()].eq_ignore_ascii_case(ENTERPRISE)
            && a.as_bytes()[ENTERPRISE.len()] == b':'
        {
            (true, &a[ENTERPRISE.len() + 1..])
        } else if a.eq_ignore_ascii_case(ENTERPRISE) {
            return (false, ENTERPRISE.to_owned(), None);
        } else {
            let rest = if a.len() > CORE_PREFIX.len()
                && a[..CORE_PREFIX.len()].eq_ignore_ascii_case(CORE_PREFIX)
            {
                a.rsplit(':').next().unwrap_or(a)
            } else {
                a
            };
            (false, rest)
        };
        match rest.split_once('.') {
            Some((n, s)) => (ext, n.to_owned(), Some(s.to_owned())),
            None => (ext, rest.to_owned(), None),
        }
    };
    if !attributes.is_empty() {
        let mut out = Map::new();
        for key in ["schemas", "id", "meta"] {
            if let Some(v) = obj.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
        for a in attributes {
            let (ext, name, sub) = split(a);
            let src = if ext {
                match get_ci(&obj, ENTERPRISE) {
                    Some(Value::Object(src)) => src,
                    _ => continue,
                }
            } else {
                &obj
            };
            let Some(k) = key_ci(src, &name).cloned() else {
                continue;
            };
            let mut v = src[&k].clone();
            if let (Some(s), Value::Object(o)) = (&sub, &v) {
                let mut only = Map::new();
                if let Some(sk) = key_ci(o, s) {
                    only.insert(sk.clone(), o[sk].clone());
                }
                v = Value::Object(only);
            }
            let target = if ext {
                out.entry(ENTERPRISE.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
            } else {
                Some(&mut out)
            };
            if let Some(t) = target {
                match (t.get_mut(&k), v) {
                    (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
                    (_, v) => {
                        t.insert(k, v);
                    }
                }
            }
        }
        obj = out;
    }
    for a in excluded {
        let (ext, name, sub) = split(a);
        if !ext
            && sub.is_none()
            && ["id", "schemas"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        let target = if ext {
            match get_ci_mut(&mut obj, ENTERPRISE) {
                Some(Value::Object(o)) => o,
                _ => continue,
            }
        } else {
            &mut obj
        };
        match sub {
            Some(s) => {
                if let Some(Value::Object(o)) = get_ci_mut(target, &name) {
                    remove_ci(o, &s);
                }
            }
            None => remove_ci(target, &name),
        }
    }
    Value::Object(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn user() -> Map<String, Value> {
        obj(json!({
            "id": "u1",
            "userName": "Alice@Corp.example",
            "externalId": "00uABC",
            "active": true,
            "name": {"givenName": "Alice", "familyName": "Berg"},
            "emails": [{"value": "alice@corp.example", "type": "work", "primary": true}],
            ENTERPRISE: {"employeeNumber": "E1001", "department": "Finance"}
        }))
    }

    fn f(s: &str) -> Filter {
        s.parse().unwrap()
    }

    #[test]
    fn filters_match_as_the_rfc_says() {
        let u = user();
        for (q, want) in [
            (r#"userName eq "alice@corp.example""#, true),
            (r#"USERNAME EQ "ALICE@CORP.EXAMPLE""#, true),
            (r#"externalId eq "00uabc""#, false),
            (r#"externalId eq "00uABC""#, true),
            (r#"userName sw "alice" and active eq true"#, true),
            (r#"userName co "bob" or name.familyName eq "berg""#, true),
            (
                r#"(userName co "bob" or id eq "u1") and active eq false"#,
                false,
            ),
            (r#"emails[type eq "work" and value co "@corp"]"#, true),
            (r#"emails.value ew ".example""#, true),
            (r#"title pr"#, false),
            (r#"not (title pr)"#, true),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "E1001""#,
                true,
            ),
            (r#"meta.created gt "2020-01-01T00:00:00Z""#, false),
        ] {
            assert_eq!(matches(&u, &f(q)), want, "{q}");
        }
    }

    #[test]
    fn members_eq_compares_member_values() {
        let g = obj(json!({"id": "g1", "displayName": "Ops",
            "members": [{"value": "u1"}, {"value": "u2"}]}));
        assert!(matches(&g, &f(r#"id eq "g1" and members eq "u2""#)));
        assert!(matches(&g, &f(r#"members.value eq "u1""#)));
        assert!(!matches(&g, &f(r#"members eq "u3""#)));
    }

    #[test]
    fn patch_paths_reach_every_form() {
        let mut u = user();
        apply_op(
            &mut u,
            Op::Replace,
            Some(r#"emails[type eq "work"].value"#),
            Some(json!("a.berg@corp.example")),
        )
        .unwrap();
        assert_eq!(u["emails"][0]["value"], "a.berg@corp.example");
        apply_op(
            &mut u,
            Op::Replace,
            Some("name.familyName"),
            Some(json!("Dahl")),
        )
        .unwrap();
        assert_eq!(u["name"]["familyName"], "Dahl");
        apply_op(
            &mut u,
            Op::Add,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            Some(json!("IT")),
        )
        .unwrap();
        assert_eq!(u[ENTERPRISE]["department"], "IT");
        apply_op(&mut u, Op::Replace, None, Some(json!({"active": false}))).unwrap();
        assert_eq!(u["active"], false);
        apply_op(&mut u, Op::Remove, Some("title"), None).unwrap();
        let err = apply_op(&mut u, Op::Replace, Some("id"), Some(json!("x"))).unwrap_err();
        assert_eq!(err.scim_type, Some("mutability"));
        let err = apply_op(&mut u, Op::Add, Some("emails[type eq"), Some(json!("x"))).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidPath"));
        // A value path with no match creates the element its filter describes.
        apply_op(
            &mut u,
            Op::Replace,
            Some(r#"emails[type eq "home"].value"#),
            Some(json!("alice@home.example")),
        )
        .unwrap();
        assert_eq!(
            u["emails"][1],
            json!({"type": "home", "value": "alice@home.example"})
        );
    }

    #[test]
    fn members_add_and_remove() {
        let mut g = obj(json!({"id": "g1", "members": [{"value": "u1"}]}));
        apply_op(
            &mut g,
            Op::Add,
            Some("members"),
            Some(json!([{"value": "u2"}, {"value": "u1"}])),
        )
        .unwrap();
        assert_eq!(g["members"].as_array().unwrap().len(), 2);
        apply_op(&mut g, Op::Remove, Some(r#"members[value eq "u1"]"#), None).unwrap();
        assert_eq!(g["members"], json!([{"value": "u2"}]));
        apply_op(
            &mut g,
            Op::Remove,
            Some("members"),
            Some(json!([{"value": "u2"}])),
        )
        .unwrap();
        assert_eq!(g["members"], json!([]));
    }

    #[test]
    fn projection_keeps_id_and_drops_excluded() {
        let u = Value::Object(user());
        let p = project(
            u.clone(),
            &["userName".into(), "name.givenName".into()],
            &[],
        );
        assert_eq!(p["id"], "u1");
        assert_eq!(p["userName"], "Alice@Corp.example");
        assert_eq!(p["name"], json!({"givenName": "Alice"}));
        assert!(p.get("emails").is_none());
        let p = project(u, &[], &["emails".into(), "id".into()]);
        assert!(p.get("emails").is_none());
        assert_eq!(p["id"], "u1");
    }

    proptest::proptest! {
        /// Garbage in a `filter` or PATCH `path` is an error, never a panic.
        #[test]
        fn garbage_never_panics(s in "\\PC{0,80}") {
            let u = user();
            if let Ok(f) = s.parse::<Filter>() {
                let _ = matches(&u, &f);
            }
            let mut u2 = u.clone();
            let _ = apply_op(&mut u2, Op::Replace, Some(&s), Some(json!("x")));
            let _ = apply_op(&mut u2, Op::Remove, Some(&s), None);
        }

        /// Filter-shaped garbage (the grammar's own tokens, shuffled) does not panic either.
        #[test]
        fn token_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "userName", "emails", "[", "]", "(", ")", "eq", "co", "sw", "pr", "and", "or",
                "not", "\"x\"", "true", "null", "1.5", ".", "value", "type",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            ]), 0..12)) {
            let s = parts.join(" ");
            if let Ok(f) = s.parse::<Filter>() {
                let _ = matches(&user(), &f);
            }
            let mut u = user();
            let _ = apply_op(&mut u, Op::Add, Some(&s), Some(json!({"value": "v"})));
        }
    }
}
