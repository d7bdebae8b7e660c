//! SCIM 2.0 service provider (RFC 7643/7644) under `/scim/v2`, so Okta and Microsoft Entra
//! ID provision people straight into the identity directory.
//!
//! A SCIM User *is* a directory person and a SCIM Group a directory group: there is no
//! separate SCIM store. Every write becomes a full-state [`DirectoryChange`] with origin
//! `scim`, effective now, through [`tandem_identity::Identity::commit`], so SCIM, HR imports
//! and resolution all see one history. The mapping is in [`user`], PATCH and filters in
//! [`json`]; `docs/integrations/scim.md` is the administrator's guide.
//!
//! Decisions the RFCs leave open:
//! - **Linking.** A POST whose enterprise `employeeNumber` names a person the HR import
//!   already created links to that person instead of creating a second one, so HR and the
//!   IdP converge on one record. A POST whose `userName` is a terminated person's re-links to
//!   them (a rehire keeps their history).
//! - **Deactivation.** `active: false` suspends; `active: true` re-activates a suspended
//!   person. Each deactivation and deletion is also an `account_change` event from source
//!   `scim`, committed through the pipeline before the answer, so it is searchable, on the
//!   person's timeline, seen by the detections and shown on the live monitor.
//! - **DELETE.** People are never deleted from history: DELETE terminates the person effective
//!   now, drops them from groups, and from then on the user is `404` to SCIM. Groups, which
//!   carry no history anyone investigates, are deleted outright.
//! - **Terminated people** (by DELETE or by HR) are not SCIM resources, and SCIM never turns
//!   a terminated person active except by an explicit re-provisioning POST.

mod json;
mod user;

use crate::access::Permission;
use crate::auth::Principal;
use crate::public::ScimBase;
use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use json::{Op, get_ci};
use scim_v2::filter::Filter;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tandem_identity::directory::{GROUP, PERSON};
use tandem_identity::{Directory, Group, Person, Status};
use tandem_model::{Activity, Class, Event, Outcome, PersonRef, Severity};
use tandem_pipeline::pipeline::Origin;
use tandem_store::DirectoryChange;
use user::{Absent, GROUP_SCHEMA, USER_SCHEMA, visible};

/// The enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const CONTENT_TYPE: &str = "application/scim+json";
/// Origin of directory changes and source name of the events SCIM records.
const ORIGIN: &str = "scim";
/// Most resources one list page returns (advertised as `filter.maxResults`).
const MAX_RESULTS: usize = 1000;

/// An error in the SCIM shape (RFC 7644 §3.12): IdPs show `detail` to administrators and
/// branch on `status` and `scimType`.
#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// `400` with a `scimType`.
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    fn not_found(kind: &str, id: &str) -> Self {
        ScimError::new(StatusCode::NOT_FOUND, None, format!("no {kind} `{id}`"))
    }

    fn conflict(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = t.into();
        }
        let mut r = scim_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        ScimError::new(e.status, None, e.message)
    }
}

impl From<tandem_identity::IdentityError> for ScimError {
    fn from(e: tandem_identity::IdentityError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<tandem_store::StoreError> for ScimError {
    fn from(e: tandem_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<tokio::task::JoinError> for ScimError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::from(e).into()
    }
}

type Scim = Result<Response, ScimError>;

fn scim_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response()
}

/// A resource answer with its ETag (`meta.version`).
fn resource_response(status: StatusCode, body: &Value) -> Response {
    let mut r = scim_response(status, body);
    if let Some(v) = body["meta"]["version"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        r.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(l) = body["meta"]["location"]
            .as_str()
            .and_then(|v| HeaderValue::from_str(v).ok())
    {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// Authenticates as the existing API tokens do, answering in the SCIM error shape. SCIM
/// rewrites the directory, so only administrators may use it.
fn admin(who: Result<Principal, ApiError>) -> Result<Principal, ScimError> {
    let who = who?;
    who.require(Permission::ProvisionIdentities)?;
    Ok(who)
}

/// A refusal from the access layer, in the SCIM shape.
pub(crate) fn error_response(status: StatusCode, detail: &str) -> Response {
    ScimError::new(status, None, detail).into_response()
}

/// A request body as a JSON object, whichever of `application/scim+json` and
/// `application/json` the client declared.
fn body_object(body: &Bytes) -> Result<Map<String, Value>, ScimError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ScimError::bad(
            "invalidSyntax",
            "the body must be a JSON object",
        )),
        Err(e) => Err(ScimError::bad(
            "invalidSyntax",
            format!("the body is not JSON: {e}"),
        )),
    }
}

/// A fresh id for a person or group SCIM creates.
fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        tandem_model::Ulid::generate().to_string().to_lowercase()
    )
}

async fn commit(
    state: &AppState,
    changes: Vec<DirectoryChange>,
) -> Result<Arc<Directory>, ScimError> {
    let identity = state.identity.clone();
    Ok(tokio::task::spawn_blocking(move || identity.commit(changes)).await??)
}

fn person_change(p: &Person) -> Result<DirectoryChange, ScimError> {
    Ok(tandem_identity::encode(
        PERSON,
        &p.id,
        chrono::Utc::now(),
        ORIGIN,
        p,
    )?)
}

/// The group's new state, or its removal when `g` is `None`. A state that fails to
/// serialise is an error, never a removal.
fn group_change(id: &str, g: Option<&Group>) -> Result<DirectoryChange, ScimError> {
    let now = chrono::Utc::now();
    Ok(match g {
        Some(g) => tandem_identity::encode(GROUP, id, now, ORIGIN, g)?,
        None => DirectoryChange::removed(GROUP, id, now, ORIGIN),
    })
}

/// Records a deactivation or deletion as an event, durable before the caller answers, so
/// "who disabled Alice, when" has an answer in search and on Alice's timeline.
async fn record(
    state: &AppState,
    who: &Principal,
    p: &Person,
    activity: Activity,
) -> Result<(), ScimError> {
    let verb = if activity == Activity::Delete {
        "deleted"
    } else {
        "deactivated"
    };
    let login = user::user_name(p);
    let mut e = Event::new(ORIGIN, Class::AccountChange, activity, chrono::Utc::now());
    e.outcome = Outcome::Success;
    e.severity = Severity::Low;
    e.message = format!("SCIM {verb} {login} ({}) via token {}", p.name, who.name);
    e.actor.user = Some(who.name.clone());
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
    // Through the pipeline like every event, so detections and the live monitor see it too.
    let pipeline = state.pipeline.clone();
    tokio::task::spawn_blocking(move || pipeline.commit_internal(vec![e], Origin::Directory))
        .await?
        .map_err(ApiError::from)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Lists

/// `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`, with names matched
/// case-insensitively (clients differ).
struct ListParams {
    filter: Option<Filter>,
    start: usize,
    count: usize,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

fn split_list(s: Option<&String>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

fn list_params(q: &HashMap<String, String>) -> Result<ListParams, ScimError> {
    let get = |name: &str| {
        q.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let number = |name: &str| -> Result<Option<i64>, ScimError> {
        get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ScimError::bad("invalidValue", format!("`{name}` must be an integer"))
                })
            })
            .transpose()
    };
    let filter = match get("filter").map(|f| f.trim()).filter(|f| !f.is_empty()) {
        Some(f) => Some(parse_filter(f)?),
        None => None,
    };
    Ok(ListParams {
        filter,
        // RFC 7644 §3.4.2.4: values below 1 mean 1, negative counts mean 0.
        start: number("startIndex")?.unwrap_or(1).max(1) as usize,
        count: (number("count")?.unwrap_or(100).max(0) as usize).min(MAX_RESULTS),
        attributes: split_list(get("attributes")),
        excluded: split_list(get("excludedAttributes")),
    })
}

fn list_response(all: Vec<Value>, p: &ListParams) -> Response {
    let total = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(p.start - 1)
        .take(p.count)
        .map(|r| json::project(r, &p.attributes, &p.excluded))
        .collect();
    scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": p.start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    )
}

/// Whether a rendered resource matches a `filter` query parameter, exactly as a list request
/// decides it: parsed by `scim_v2` (its depth and term limits), evaluated by [`json::matches`].
/// `Err` is the `invalidFilter` detail a client is sent. Public only so the fuzz targets
/// (`fuzz/`) reach the filter parser and its evaluation without a server.
pub fn filter_matches(filter: &str, resource: &Value) -> Result<bool, String> {
    let filter = parse_filter(filter.trim()).map_err(|e| e.detail)?;
    Ok(keep(&Some(filter), resource))
}

fn parse_filter(f: &str) -> Result<Filter, ScimError> {
    f.parse::<Filter>()
        .map_err(|e| ScimError::bad("invalidFilter", format!("filter `{f}`: {e}")))
}

/// Applies one PATCH operation (`op` as a client sends it, `path` with its value filters) to a
/// rendered resource, exactly as a PATCH request does before mapping the result back to the
/// directory. `Err` is the detail a client is sent. Public for the fuzz targets, like
/// [`filter_matches`]: PATCH paths carry the same filter grammar.
pub fn apply_patch(
    resource: &mut Value,
    op: &str,
    path: Option<&str>,
    value: Option<Value>,
) -> Result<(), String> {
    let Value::Object(resource) = resource else {
        return Err("a SCIM resource is a JSON object".to_owned());
    };
    let op = Op::parse(op).map_err(|e| e.detail)?;
    json::apply_op(resource, op, path, value).map_err(|e| e.detail)
}

fn keep(filter: &Option<Filter>, resource: &Value) -> bool {
    match (filter, resource) {
        (None, _) => true,
        (Some(f), Value::Object(o)) => json::matches(o, f),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Users

pub(crate) async fn list_users(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(base): ScimBase,
    Query(q): Query<HashMap<String, String>>,
) -> Scim {
    admin(who)?;
    let p = list_params(&q)?;
    let dir = state.identity.snapshot();
    // Filters are evaluated over the rendered resources: simple, exactly the semantics the
    // client sees, and fast enough for directories of tens of thousands of people.
    let all: Vec<Value> = dir
        .people()
        .into_iter()
        .filter(|p| visible(p))
        .map(|person| user::render_user(&dir, person, &base))
        .filter(|r| keep(&p.filter, r))
        .collect();
    Ok(list_response(all, &p))
}

fn visible_person<'a>(dir: &'a Directory, id: &str) -> Result<&'a Person, ScimError> {
    dir.person(id)
        .filter(|p| visible(p))
        .ok_or_else(|| ScimError::not_found("user", id))
}

#[derive(serde::Deserialize)]
pub(crate) struct Projection {
    #[serde(default)]
    attributes: Option<String>,
    #[serde(default, rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
}

pub(crate) async fn get_user(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(url_base): ScimBase,
    Path(id): Path<String>,
    Query(q): Query<Projection>,
) -> Scim {
    admin(who)?;
    let dir = state.identity.snapshot();
    let p = visible_person(&dir, &id)?;
    let body = user::render_user(&dir, p, &url_base);
    let body = json::project(
        body,
        &split_list(q.attributes.as_ref()),
        &split_list(q.excluded_attributes.as_ref()),
    );
    Ok(resource_response(StatusCode::OK, &body))
}

/// `409 uniqueness` when another visible person already has `name` as their `userName`.
fn check_unique(dir: &Directory, name: &str, except: &str) -> Result<(), ScimError> {
    if dir
        .people()
        .into_iter()
        .any(|p| p.id != except && visible(p) && user::user_name(p).eq_ignore_ascii_case(name))
    {
        return Err(ScimError::conflict(format!(
            "userName `{name}` is already taken"
        )));
    }
    Ok(())
}

/// Commits the new state of a person and, when it deactivates them, the event that says so.
async fn save_person(
    state: &AppState,
    who: &Principal,
    before: Option<&Person>,
    after: Person,
    base: &str,
    status: StatusCode,
) -> Scim {
    let dir = if before != Some(&after) {
        commit(state, vec![person_change(&after)?]).await?
    } else {
        state.identity.snapshot()
    };
    let was_active = before.is_some_and(|b| matches!(b.status, Status::Active | Status::OnLeave));
    if was_active && after.status == Status::Suspended {
        record(state, who, &after, Activity::Disable).await?;
    }
    let body = user::render_user(&dir, &after, base);
    Ok(resource_response(status, &body))
}

pub(crate) async fn create_user(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(url_base): ScimBase,
    body: Bytes,
) -> Scim {
    let who = admin(who)?;
    let body = body_object(&body)?;
    let name = user::requested_user_name(&body)?;
    let dir = state.identity.snapshot();
    // HR and the IdP converge on one person: the employee number links, and so does the
    // login of someone who left (a rehire).
    let linked: Option<&Person> = user::employee_number(&body)
        .and_then(|n| dir.person_by_employee_number(&n))
        .or_else(|| {
            dir.people().into_iter().find(|p| {
                p.status == Status::Terminated && user::user_name(p).eq_ignore_ascii_case(&name)
            })
        });
    check_unique(&dir, &name, linked.map_or("", |p| p.id.as_str()))?;
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
    let after = user::apply_user(&dir, &base, &body, Absent::Keeps)?;
    tracing::info!(person = %after.id, linked = linked.is_some(), "SCIM user provisioned");
    save_person(&state, &who, linked, after, &url_base, StatusCode::CREATED).await
}

pub(crate) async fn replace_user(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(url_base): ScimBase,
    Path(id): Path<String>,
    body: Bytes,
) -> Scim {
    let who = admin(who)?;
    let body = body_object(&body)?;
    let dir = state.identity.snapshot();
    let before = visible_person(&dir, &id)?;
    let after = user::apply_user(&dir, before, &body, Absent::Keeps)?;
    check_unique(&dir, &user::user_name(&after), &id)?;
    save_person(&state, &who, Some(before), after, &url_base, StatusCode::OK).await
}

/// One PATCH operation: `(op, path, value)`.
type Operation = (Op, Option<String>, Option<Value>);

/// The `Operations` of a PatchOp body.
fn operations(body: &Map<String, Value>) -> Result<Vec<Operation>, ScimError> {
    let Some(Value::Array(ops)) = get_ci(body, "Operations") else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a PATCH body needs `Operations`",
        ));
    };
    ops.iter()
        .map(|o| {
            let o = o
                .as_object()
                .ok_or_else(|| ScimError::bad("invalidSyntax", "each operation is an object"))?;
            let op = get_ci(o, "op")
                .and_then(Value::as_str)
                .ok_or_else(|| ScimError::bad("invalidSyntax", "an operation needs `op`"))?;
            Ok((
                Op::parse(op)?,
                get_ci(o, "path").and_then(Value::as_str).map(str::to_owned),
                get_ci(o, "value").cloned(),
            ))
        })
        .collect()
}

pub(crate) async fn patch_user(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(base): ScimBase,
    Path(id): Path<String>,
    body: Bytes,
) -> Scim {
    let who = admin(who)?;
    let body = body_object(&body)?;
    let ops = operations(&body)?;
    let dir = state.identity.snapshot();
    let before = visible_person(&dir, &id)?;
    let Value::Object(mut resource) = user::render_user(&dir, before, &base) else {
        return Err(ApiError::internal("a rendered user is not an object").into());
    };
    for (op, path, value) in ops {
        json::apply_op(&mut resource, op, path.as_deref(), value)?;
    }
    let after = user::apply_user(&dir, before, &resource, Absent::Clears)?;
    check_unique(&dir, &user::user_name(&after), &id)?;
    save_person(&state, &who, Some(before), after, &base, StatusCode::OK).await
}

pub(crate) async fn delete_user(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Scim {
    let who = admin(who)?;
    let dir = state.identity.snapshot();
    let mut p = visible_person(&dir, &id)?.clone();
    let now = chrono::Utc::now();
    p.status = Status::Terminated;
    p.terminated_at = Some(now);
    let mut changes = vec![person_change(&p)?];
    // A deleted user leaves every group, as SCIM clients expect of a deleted resource.
    for g in dir.groups() {
        if g.members.contains(&id) {
            let mut g = g.clone();
            g.members.retain(|m| *m != id);
            changes.push(group_change(&g.id, Some(&g))?);
        }
    }
    commit(&state, changes).await?;
    record(&state, &who, &p, Activity::Delete).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------
// Groups

pub(crate) async fn list_groups(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(base): ScimBase,
    Query(q): Query<HashMap<String, String>>,
) -> Scim {
    admin(who)?;
    let p = list_params(&q)?;
    let dir = state.identity.snapshot();
    let mut groups = dir.groups();
    // Stable pages: by id, not by the (changeable) display name.
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    let all: Vec<Value> = groups
        .into_iter()
        .map(|g| user::render_group(&dir, g, &base))
        .filter(|r| keep(&p.filter, r))
        .collect();
    Ok(list_response(all, &p))
}

fn find_group<'a>(dir: &'a Directory, id: &str) -> Result<&'a Group, ScimError> {
    dir.group(id)
        .ok_or_else(|| ScimError::not_found("group", id))
}

pub(crate) async fn get_group(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(url_base): ScimBase,
    Path(id): Path<String>,
    Query(q): Query<Projection>,
) -> Scim {
    admin(who)?;
    let dir = state.identity.snapshot();
    let g = find_group(&dir, &id)?;
    let body = json::project(
        user::render_group(&dir, g, &url_base),
        &split_list(q.attributes.as_ref()),
        &split_list(q.excluded_attributes.as_ref()),
    );
    Ok(resource_response(StatusCode::OK, &body))
}

fn check_group_unique(dir: &Directory, g: &Group) -> Result<(), ScimError> {
    if dir
        .groups()
        .into_iter()
        .any(|o| o.id != g.id && o.name.eq_ignore_ascii_case(&g.name))
    {
        return Err(ScimError::conflict(format!(
            "group `{}` already exists",
            g.name
        )));
    }
    Ok(())
}

async fn save_group(
    state: &AppState,
    before: Option<&Group>,
    after: Group,
    base: &str,
    status: StatusCode,
) -> Scim {
    let dir = if before != Some(&after) {
        commit(state, vec![group_change(&after.id, Some(&after))?]).await?
    } else {
        state.identity.snapshot()
    };
    Ok(resource_response(
        status,
        &user::render_group(&dir, &after, base),
    ))
}

pub(crate) async fn create_group(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(url_base): ScimBase,
    body: Bytes,
) -> Scim {
    admin(who)?;
    let body = body_object(&body)?;
    let dir = state.identity.snapshot();
    let base = Group {
        id: new_id("g"),
        ..Group::default()
    };
    let g = user::apply_group(&dir, &base, &body, Absent::Keeps)?;
    check_group_unique(&dir, &g)?;
    save_group(&state, None, g, &url_base, StatusCode::CREATED).await
}

pub(crate) async fn replace_group(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(url_base): ScimBase,
    Path(id): Path<String>,
    body: Bytes,
) -> Scim {
    admin(who)?;
    let body = body_object(&body)?;
    let dir = state.identity.snapshot();
    let before = find_group(&dir, &id)?;
    let g = user::apply_group(&dir, before, &body, Absent::Keeps)?;
    check_group_unique(&dir, &g)?;
    save_group(&state, Some(before), g, &url_base, StatusCode::OK).await
}

pub(crate) async fn patch_group(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(base): ScimBase,
    Path(id): Path<String>,
    body: Bytes,
) -> Scim {
    admin(who)?;
    let body = body_object(&body)?;
    let ops = operations(&body)?;
    let dir = state.identity.snapshot();
    let before = find_group(&dir, &id)?;
    let Value::Object(mut resource) = user::render_group(&dir, before, &base) else {
        return Err(ApiError::internal("a rendered group is not an object").into());
    };
    for (op, path, value) in ops {
        json::apply_op(&mut resource, op, path.as_deref(), value)?;
    }
    let g = user::apply_group(&dir, before, &resource, Absent::Clears)?;
    check_group_unique(&dir, &g)?;
    save_group(&state, Some(before), g, &base, StatusCode::OK).await
}

pub(crate) async fn delete_group(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Scim {
    admin(who)?;
    let dir = state.identity.snapshot();
    find_group(&dir, &id)?;
    commit(&state, vec![group_change(&id, None)?]).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------
// Discovery (RFC 7644 §4)

pub(crate) async fn service_provider_config(who: Result<Principal, ApiError>) -> Scim {
    admin(who)?;
    Ok(scim_response(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A Tandem API token of an administrator: Authorization: Bearer <token>",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": "/scim/v2/ServiceProviderConfig"},
        }),
    ))
}

fn resource_type_list() -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users",
            "description": "A person in Tandem's identity directory",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": "/scim/v2/ResourceTypes/User"},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "A group of people",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": "/scim/v2/ResourceTypes/Group"},
        }),
    ]
}

pub(crate) async fn resource_types(who: Result<Principal, ApiError>) -> Scim {
    admin(who)?;
    let all = resource_type_list();
    let n = all.len();
    Ok(scim_response(
        StatusCode::OK,
        &json!({"schemas": [LIST_SCHEMA], "totalResults": n, "startIndex": 1, "itemsPerPage": n, "Resources": all}),
    ))
}

pub(crate) async fn resource_type(
    who: Result<Principal, ApiError>,
    Path(id): Path<String>,
) -> Scim {
    admin(who)?;
    resource_type_list()
        .into_iter()
        .find(|r| {
            r["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .map(|r| scim_response(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::not_found("resource type", &id))
}

/// One attribute definition (RFC 7643 §7), for the schemas Tandem maps.
fn attr(name: &str, kind: &str, multi: bool, case_exact: bool, subs: Vec<Value>) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": multi, "required": name == "userName" || name == "displayName",
        "caseExact": case_exact, "mutability": if name == "id" { "readOnly" } else { "readWrite" },
        "returned": "default", "uniqueness": if name == "userName" { "server" } else { "none" },
    });
    if !subs.is_empty() {
        a["subAttributes"] = subs.into();
    }
    a
}

fn schema_list() -> Vec<Value> {
    let s = |n: &str| attr(n, "string", false, false, vec![]);
    let schema = |id: &str, name: &str, attributes: Vec<Value>| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": id, "name": name, "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": format!("/scim/v2/Schemas/{id}")},
        })
    };
    vec![
        schema(
            USER_SCHEMA,
            "User",
            vec![
                s("userName"),
                attr("externalId", "string", false, true, vec![]),
                attr(
                    "name",
                    "complex",
                    false,
                    false,
                    vec![s("formatted"), s("givenName"), s("familyName")],
                ),
                s("displayName"),
                s("title"),
                attr("active", "boolean", false, false, vec![]),
                attr(
                    "emails",
                    "complex",
                    true,
                    false,
                    vec![
                        s("value"),
                        s("type"),
                        attr("primary", "boolean", false, false, vec![]),
                    ],
                ),
            ],
        ),
        schema(
            ENTERPRISE,
            "EnterpriseUser",
            vec![
                s("employeeNumber"),
                s("department"),
                s("organization"),
                attr(
                    "manager",
                    "complex",
                    false,
                    false,
                    vec![
                        attr("value", "string", false, true, vec![]),
                        s("displayName"),
                    ],
                ),
            ],
        ),
        schema(
            GROUP_SCHEMA,
            "Group",
            vec![
                s("displayName"),
                attr("externalId", "string", false, true, vec![]),
                attr(
                    "members",
                    "complex",
                    true,
                    false,
                    vec![attr("value", "string", false, true, vec![]), s("display")],
                ),
            ],
        ),
    ]
}

pub(crate) async fn schemas(who: Result<Principal, ApiError>) -> Scim {
    admin(who)?;
    let all = schema_list();
    let n = all.len();
    Ok(scim_response(
        StatusCode::OK,
        &json!({"schemas": [LIST_SCHEMA], "totalResults": n, "startIndex": 1, "itemsPerPage": n, "Resources": all}),
    ))
}

pub(crate) async fn schema(who: Result<Principal, ApiError>, Path(id): Path<String>) -> Scim {
    admin(who)?;
    schema_list()
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .map(|s| scim_response(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found("schema", &id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry points the fuzz targets use answer as a request would.
    #[test]
    fn filter_and_patch_entry_points() {
        let user = json!({"userName": "alice", "emails": [{"value": "a@x", "type": "work"}]});
        assert_eq!(
            filter_matches(r#" emails[type eq "work"] "#, &user),
            Ok(true)
        );
        assert_eq!(filter_matches(r#"userName eq "bob""#, &user), Ok(false));
        let err = filter_matches("userName eq", &user).unwrap_err();
        assert!(err.starts_with("filter `userName eq`: "), "{err}");

        let mut patched = user.clone();
        apply_patch(
            &mut patched,
            "Replace",
            Some("userName"),
            Some(json!("bob")),
        )
        .unwrap();
        assert_eq!(patched["userName"], "bob");
        let err = apply_patch(&mut patched, "move", Some("userName"), None).unwrap_err();
        assert_eq!(err, "PATCH op `move` is not add, replace or remove");
        let err = apply_patch(&mut json!([]), "add", None, None).unwrap_err();
        assert_eq!(err, "a SCIM resource is a JSON object");
    }
}
