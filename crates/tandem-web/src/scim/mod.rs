//! SCIM 2.0 service provider (RFC 7643/7644) under `/scim/v2`, so Okta and Microsoft Entra
//! ID provision people straight into the identity directory.
//!
//! A SCIM User *is* a directory person and a SCIM Group a directory group: there is no
//! separate SCIM store. This module is the wire protocol only: routes, JSON shapes ([`user`]
//! renders and reads resources), filters and PATCH paths ([`json`]), HTTP status, ETags. What
//! a request does to the directory (the mapping onto a person, linking to a person HR created
//! or a rehire, deactivation and deletion, group membership) is decided by
//! [`tandem_identity::provision`], which answers with a plan: directory changes with origin
//! `scim`, committed through [`tandem_identity::Identity::commit`] so SCIM, HR imports and
//! resolution all see one history, and the `account_change` event a deactivation or deletion
//! raises, committed through the pipeline before the answer so it is searchable, on the
//! person's timeline, seen by the detections and shown on the live monitor.
//! `docs/integrations/scim.md` is the administrator's guide.
//!
//! Terminated people (by DELETE or by HR) are `404` to SCIM (RFC 7644 §3.6), and groups are
//! deleted outright.

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
use tandem_identity::provision::{self, Absent, Plan, ProvisionError, visible};
use tandem_identity::{Directory, Group};
use tandem_pipeline::pipeline::Origin;
use user::{GROUP_SCHEMA, USER_SCHEMA};

/// The enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const CONTENT_TYPE: &str = "application/scim+json";
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
}

/// The identity rules' refusals in SCIM's words: an unknown resource is `404`, a taken name
/// `409 uniqueness`, any other refused value `400 invalidValue`.
impl From<ProvisionError> for ScimError {
    fn from(e: ProvisionError) -> Self {
        let (status, scim_type) = match e {
            ProvisionError::Identity(e) => return ApiError::from(e).into(),
            ProvisionError::UnknownUser(_) | ProvisionError::UnknownGroup(_) => {
                (StatusCode::NOT_FOUND, None)
            }
            ProvisionError::UserNameTaken(_) | ProvisionError::GroupNameTaken(_) => {
                (StatusCode::CONFLICT, Some("uniqueness"))
            }
            ProvisionError::UserNameRequired
            | ProvisionError::DisplayNameRequired
            | ProvisionError::UnknownManager(_)
            | ProvisionError::UnknownMember(_) => (StatusCode::BAD_REQUEST, Some("invalidValue")),
        };
        ScimError::new(status, scim_type, e.to_string())
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

/// Carries out what the identity rules decided: the directory changes (when there are any),
/// then the event, through the pipeline like every event so detections and the live monitor
/// see it too, durable before the caller answers. Answers the directory after the changes.
async fn execute<T>(state: &AppState, plan: &mut Plan<T>) -> Result<Arc<Directory>, ScimError> {
    let dir = if plan.changes.is_empty() {
        state.identity.snapshot()
    } else {
        let identity = state.identity.clone();
        let changes = std::mem::take(&mut plan.changes);
        tokio::task::spawn_blocking(move || identity.commit(changes)).await??
    };
    if let Some(e) = plan.event.take() {
        let pipeline = state.pipeline.clone();
        tokio::task::spawn_blocking(move || pipeline.commit_internal(vec![e], Origin::Directory))
            .await?
            .map_err(ApiError::from)?;
    }
    Ok(dir)
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
    let p = provision::user(&dir, &id)?;
    let body = user::render_user(&dir, p, &url_base);
    let body = json::project(
        body,
        &split_list(q.attributes.as_ref()),
        &split_list(q.excluded_attributes.as_ref()),
    );
    Ok(resource_response(StatusCode::OK, &body))
}

/// Carries out a plan for a person and answers with the person as SCIM shows them.
async fn save_person(
    state: &AppState,
    mut plan: Plan<tandem_identity::Person>,
    base: &str,
    status: StatusCode,
) -> Scim {
    let dir = execute(state, &mut plan).await?;
    let body = user::render_user(&dir, &plan.state, base);
    Ok(resource_response(status, &body))
}

pub(crate) async fn create_user(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(url_base): ScimBase,
    body: Bytes,
) -> Scim {
    let who = admin(who)?;
    let body = user::parse_user(&body_object(&body)?)?;
    let dir = state.identity.snapshot();
    let plan = provision::create_user(&dir, &body, &who.name, chrono::Utc::now())?;
    save_person(&state, plan, &url_base, StatusCode::CREATED).await
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
    let before = provision::user(&dir, &id)?;
    let body = user::parse_user(&body)?;
    let plan = provision::update_user(
        &dir,
        before,
        &body,
        Absent::Keeps,
        &who.name,
        chrono::Utc::now(),
    )?;
    save_person(&state, plan, &url_base, StatusCode::OK).await
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
    let before = provision::user(&dir, &id)?;
    let Value::Object(mut resource) = user::render_user(&dir, before, &base) else {
        return Err(ApiError::internal("a rendered user is not an object").into());
    };
    for (op, path, value) in ops {
        json::apply_op(&mut resource, op, path.as_deref(), value)?;
    }
    let after = user::parse_user(&resource)?;
    let plan = provision::update_user(
        &dir,
        before,
        &after,
        Absent::Clears,
        &who.name,
        chrono::Utc::now(),
    )?;
    save_person(&state, plan, &base, StatusCode::OK).await
}

pub(crate) async fn delete_user(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Scim {
    let who = admin(who)?;
    let dir = state.identity.snapshot();
    let mut plan = provision::delete_user(&dir, &id, &who.name, chrono::Utc::now())?;
    execute(&state, &mut plan).await?;
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

pub(crate) async fn get_group(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(url_base): ScimBase,
    Path(id): Path<String>,
    Query(q): Query<Projection>,
) -> Scim {
    admin(who)?;
    let dir = state.identity.snapshot();
    let g = provision::group(&dir, &id)?;
    let body = json::project(
        user::render_group(&dir, g, &url_base),
        &split_list(q.attributes.as_ref()),
        &split_list(q.excluded_attributes.as_ref()),
    );
    Ok(resource_response(StatusCode::OK, &body))
}

/// Carries out a plan for a group and answers with the group as SCIM shows it.
async fn save_group(
    state: &AppState,
    mut plan: Plan<Group>,
    base: &str,
    status: StatusCode,
) -> Scim {
    let dir = execute(state, &mut plan).await?;
    Ok(resource_response(
        status,
        &user::render_group(&dir, &plan.state, base),
    ))
}

pub(crate) async fn create_group(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    ScimBase(url_base): ScimBase,
    body: Bytes,
) -> Scim {
    admin(who)?;
    let body = user::parse_group(&body_object(&body)?)?;
    let dir = state.identity.snapshot();
    let plan = provision::create_group(&dir, &body, chrono::Utc::now())?;
    save_group(&state, plan, &url_base, StatusCode::CREATED).await
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
    let before = provision::group(&dir, &id)?;
    let body = user::parse_group(&body)?;
    let plan = provision::update_group(&dir, before, &body, Absent::Keeps, chrono::Utc::now())?;
    save_group(&state, plan, &url_base, StatusCode::OK).await
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
    let before = provision::group(&dir, &id)?;
    let Value::Object(mut resource) = user::render_group(&dir, before, &base) else {
        return Err(ApiError::internal("a rendered group is not an object").into());
    };
    for (op, path, value) in ops {
        json::apply_op(&mut resource, op, path.as_deref(), value)?;
    }
    let after = user::parse_group(&resource)?;
    let plan = provision::update_group(&dir, before, &after, Absent::Clears, chrono::Utc::now())?;
    save_group(&state, plan, &base, StatusCode::OK).await
}

pub(crate) async fn delete_group(
    who: Result<Principal, ApiError>,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Scim {
    admin(who)?;
    let dir = state.identity.snapshot();
    let mut plan = provision::delete_group(&dir, &id, chrono::Utc::now())?;
    execute(&state, &mut plan).await?;
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
