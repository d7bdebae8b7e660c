//! The contract of the JSON API: an OpenAPI 3.1 document generated from the handlers'
//! annotations (`GET /api/v1/openapi.json`), and the API reference page drawn from it
//! (`GET /api-reference`).
//!
//! How a route under `/api/v1` gets into the document (the test
//! `every_api_route_in_the_table_is_documented` fails until it is):
//! 1. annotate its handler with `#[utoipa::path(method, path = "…", tag = "…", params(…),
//!    request_body = …, responses(…))]`, the path spelled as in [`crate::table`], listing the
//!    answers the handler itself gives (its 200/201 body and its own 400/404/409);
//! 2. add the handler to `paths(…)` of [`ApiDoc`] below (and new body types to
//!    `components(schemas(…))` if they are not reached through a path).
//!
//! What a route needs to be called is not written in the annotation: [`document`] reads it
//! from the route's [`Access`] in the table (the security schemes, the permission and the
//! roles that carry it, and the 401/403 answers of the access layer), so the document cannot
//! disagree with what the server enforces.
//!
//! The schemas describe what is sent as it is sent. Bodies that are the store's or the cases'
//! records serialised are described here by hand (those crates know nothing of HTTP); the
//! end-to-end test `crates/tandem/tests/openapi.rs` validates the real answers of the main
//! routes against them, so a hand-written schema that drifts from the code fails.

use crate::access::{Access, Permission, Role};
use crate::auth::Principal;
use crate::view::Visitor;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder, SecurityRequirement};
use utoipa::{OpenApi, ToSchema};

/// The path of the document itself.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tandem API",
        description = "The JSON API of Tandem: events, sources, the identity directory, findings, \
alarms, alerts, incidents, rules, playbooks and the audit log. Every route needs an API token \
(`Authorization: Bearer …` or `X-Api-Key`) or a console session (the `tandem_session` cookie, \
with the session's CSRF token in `X-CSRF-Token` on changes) whose role carries the permission \
named on the route (`x-tandem-permission`); ingest takes a source's key and signed webhooks \
the sender's signature instead. Errors are JSON: `{\"error\": \"…\"}`, with more fields where \
said. See docs/api.md.",
        license(name = "Apache-2.0 OR MIT"),
    ),
    paths(
        document_json,
        crate::api::ingest,
        crate::api::ingest_verification,
        crate::api::webhook,
        crate::api::search,
        crate::pages::search::search_values,
        crate::api::event,
        crate::api::sources,
        crate::api::create_source,
        crate::api::rotate_source_key,
        crate::api::dead_letters,
        crate::api::status,
        crate::directory::people,
        crate::directory::person,
        crate::directory::places,
        crate::directory::place,
        crate::directory::set_place_external_ids,
        crate::directory::set_device_external_ids,
        crate::maps::upload_plan,
        crate::maps::set_position,
        crate::directory::service_accounts,
        crate::directory::service_account,
        crate::directory::put_service_account,
        crate::directory::import_hr,
        crate::directory::import_records,
        crate::directory::gaps,
        crate::detect::findings,
        crate::detect::finding,
        crate::alarms::list,
        crate::alarms::count,
        crate::alarms::get_one,
        crate::alarms::acknowledge,
        crate::alarms::snooze,
        crate::alarms::forward,
        crate::alarms::clear,
        crate::alerts::list,
        crate::alerts::create,
        crate::alerts::bulk,
        crate::alerts::exceptions,
        crate::alerts::add_exception,
        crate::alerts::end_exception,
        crate::alerts::get_one,
        crate::alerts::patch,
        crate::alerts::risk,
        crate::detect::rules,
        crate::pages::rules::test_api,
        crate::detect::reload_rules,
        crate::detect::switch_rule,
        crate::playbooks::list,
        crate::playbooks::one,
        crate::playbooks::validate,
        crate::playbooks::reload,
        crate::notify::list,
        crate::notify::one,
        crate::notify::retry_api,
        crate::notify::channels_api,
        crate::kpis::get,
        crate::kpis::attack_layer,
        crate::committee::get,
        crate::committee::put,
        crate::committee::post_meeting,
        crate::committee::get_meeting,
        crate::committee::post_decision,
        crate::committee::post_action_item,
        crate::committee::post_action_item_done,
        crate::committee::briefing,
        crate::compliance::list,
        crate::compliance::one,
        crate::compliance::put_control,
        crate::compliance::run,
        crate::compliance::export,
        crate::kpi_figures::import_training,
        crate::actions::definitions,
        crate::actions::runs,
        crate::actions::dry_run,
        crate::actions::propose,
        crate::actions::approve,
        crate::actions::refuse,
        crate::incidents::list,
        crate::incidents::create,
        crate::incidents::sla_check,
        crate::incidents::get,
        crate::incidents::patch,
        crate::incidents::task_action,
        crate::incidents::comment,
        crate::incidents::merge,
        crate::incidents::attach,
        crate::incidents::evidence,
        crate::incidents::action_item,
        crate::incidents::review,
        crate::incidents::action_items,
        crate::incidents::tasks,
        crate::audit::list,
        crate::audit::verify_api,
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "Ingest", description = "Events in: per-source keys and signed webhooks."),
        (name = "Events", description = "Search and read stored events."),
        (name = "Sources", description = "Sources, their keys, health and dead letters."),
        (name = "Directory", description = "People, places, devices, service accounts and imports."),
        (name = "Findings", description = "What the detections raised."),
        (name = "Alarms", description = "The control room's alarm queue."),
        (name = "Alerts", description = "The alert queue, triage, exceptions and risk."),
        (name = "Incidents", description = "Incidents, departments' tasks, evidence and reviews."),
        (name = "Actions", description = "Response actions on incidents: definitions, dry runs, proposals and four-eyes decisions."),
        (name = "Notifications", description = "The delivery log of notifications and the channels they go to."),
        (name = "KPIs", description = "Shared KPIs computed from the incidents' timelines, and ATT&CK coverage."),
        (name = "Committee", description = "The security committee: members, the rotating chair, meetings with decisions and action items, and the briefing pack."),
        (name = "Compliance", description = "Framework controls, the Statement of Applicability, live evidence and its hash-chained snapshots, the auditor's export."),
        (name = "Rules", description = "Detection rules."),
        (name = "Playbooks", description = "Incident playbooks."),
        (name = "Audit", description = "The append-only audit log."),
        (name = "API", description = "This document."),
    )
)]
pub struct ApiDoc;

/// Security scheme names in the document.
const BEARER: &str = "apiToken";
const API_KEY: &str = "apiKeyHeader";
const SESSION: &str = "sessionCookie";
const CSRF: &str = "csrfToken";
const SOURCE_KEY: &str = "sourceKey";
const SOURCE_KEY_HEADER: &str = "sourceKeyHeader";
const SIGNATURE: &str = "webhookSignature";

/// The document: the annotations, completed from the route table with what each route needs
/// (security, `x-tandem-permission`, `x-tandem-roles`, the access layer's 401 and 403).
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let components = doc.components.get_or_insert_with(Default::default);
    let http = |scheme, what: &str| {
        utoipa::openapi::security::SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(scheme)
                .description(Some(what))
                .build(),
        )
    };
    let key = |name: &str, what: &str| ApiKeyValue::with_description(name, what);
    use utoipa::openapi::security::SecurityScheme as S;
    components.add_security_scheme(
        BEARER,
        http(
            HttpAuthScheme::Bearer,
            "An API token (`tat_…`) issued on the settings page.",
        ),
    );
    components.add_security_scheme(
        API_KEY,
        S::ApiKey(ApiKey::Header(key(
            "X-Api-Key",
            "The same API token in a header of its own.",
        ))),
    );
    components.add_security_scheme(
        SESSION,
        S::ApiKey(ApiKey::Cookie(key(
            crate::auth::SESSION_COOKIE,
            "A console session (sign in at /login). Changes also need `csrfToken`.",
        ))),
    );
    components.add_security_scheme(
        CSRF,
        S::ApiKey(ApiKey::Header(key(
            "X-CSRF-Token",
            "The session's CSRF token (the `csrf` value of any console page): required with \
             a session cookie on every method but GET, HEAD and OPTIONS.",
        ))),
    );
    components.add_security_scheme(
        SOURCE_KEY,
        http(
            HttpAuthScheme::Bearer,
            "The source's own key (`tsk_…`), shown once when the source is registered.",
        ),
    );
    components.add_security_scheme(
        SOURCE_KEY_HEADER,
        S::ApiKey(ApiKey::Header(key(
            "X-Api-Key",
            "The source's own key in a header of its own (POST only).",
        ))),
    );
    components.add_security_scheme(
        SIGNATURE,
        S::ApiKey(ApiKey::Header(key(
            tandem_ingest::integrations::verkada::SIGNATURE_HEADER,
            "The sender's HMAC-SHA256 signature over the timestamp and the raw body, under \
             the source's shared secret (`webhook_secret` in tandem.toml).",
        ))),
    );
    for spec in crate::routes() {
        if !spec.path.starts_with("/api/v1/") {
            continue;
        }
        let Some(item) = doc.paths.paths.get_mut(spec.path) else {
            continue;
        };
        let Some(op) = operation_mut(item, &spec.method) else {
            continue;
        };
        complete(op, spec.access, &spec.method);
    }
    doc
}

fn operation_mut<'a>(
    item: &'a mut utoipa::openapi::PathItem,
    method: &Method,
) -> Option<&'a mut utoipa::openapi::path::Operation> {
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        _ => None,
    }
}

/// What a route's access rule adds to its operation.
fn complete(op: &mut utoipa::openapi::path::Operation, access: Access, method: &Method) {
    let req = |names: &[&str]| {
        names.iter().fold(SecurityRequirement::default(), |r, n| {
            r.add(*n, Vec::<String>::new())
        })
    };
    let error = |what: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    let extensions = op.extensions.get_or_insert_with(Default::default);
    let (security, access_text) = match access {
        Access::Needs(_) | Access::SignedIn => {
            let session = if matches!(*method, Method::GET | Method::HEAD) {
                req(&[SESSION])
            } else {
                req(&[SESSION, CSRF])
            };
            (vec![req(&[BEARER]), req(&[API_KEY]), session], None)
        }
        Access::SourceKey => (
            if *method == Method::POST {
                vec![req(&[SOURCE_KEY]), req(&[SOURCE_KEY_HEADER])]
            } else {
                vec![req(&[SOURCE_KEY])]
            },
            Some("the source's own key"),
        ),
        Access::Signed => (vec![req(&[SIGNATURE])], Some("the sender's signature")),
        Access::Public => (vec![], Some("anyone")),
    };
    match access {
        Access::Needs(p) => {
            extensions.insert("x-tandem-permission".into(), json!(permission_name(p)));
            extensions.insert("x-tandem-roles".into(), json!(roles_with(p)));
        }
        Access::SignedIn => {
            extensions.insert("x-tandem-permission".into(), json!("signed_in"));
            let all: Vec<String> = Role::all().iter().map(ToString::to_string).collect();
            extensions.insert("x-tandem-roles".into(), json!(all));
        }
        _ => {
            if let Some(t) = access_text {
                extensions.insert("x-tandem-permission".into(), json!(t));
            }
        }
    }
    op.security = Some(security);
    let responses = &mut op.responses.responses;
    if matches!(access, Access::Needs(_) | Access::SignedIn) {
        responses.entry("401".into()).or_insert_with(|| {
            error("No valid API token or session (answered with `WWW-Authenticate: Bearer`).")
        });
        responses.entry("403".into()).or_insert_with(|| {
            error(
                "The role does not carry the permission, or a session's change came without \
                 its CSRF token.",
            )
        });
    }
}

/// The permission as the document and the reference page name it (`view_alerts`).
pub fn permission_name(p: Permission) -> String {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{p:?}"))
}

/// The roles that carry `p`, as stored (`soc_analyst`, `responder:hr`).
fn roles_with(p: Permission) -> Vec<String> {
    Role::all()
        .into_iter()
        .filter(|r| r.permits(p))
        .map(|r| r.to_string())
        .collect()
}

/// The document as served, built once.
fn document_value() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(document()).unwrap_or(Value::Null))
}

/// `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of this API. Not secret, but behind
/// authentication like every route but the health check and sign-in.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "API",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", body = Object)),
)]
pub async fn document_json(_who: Principal) -> Response {
    let body = serde_json::to_vec(document_value()).unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /api-reference`: every route of the document with its method, path, the permission
/// it needs, its parameters, body and answers, and every schema they name; drawn here, no
/// script, no outside viewer.
pub async fn reference_page(v: Visitor) -> Response {
    let doc = document_value();
    let reference = reference(doc);
    crate::view::render(
        "api_reference.html",
        context! {
            version => doc.pointer("/info/version").and_then(Value::as_str),
            openapi => doc.get("openapi").and_then(Value::as_str),
            document_path => DOCUMENT_PATH,
            tags => minijinja::value::Serde(&reference.tags),
            schemas => minijinja::value::Serde(&reference.schemas),
            ..v.base("api")
        },
    )
}

/// What the reference page shows, read from the document.
struct Reference {
    tags: Vec<Value>,
    schemas: Vec<Value>,
}

fn reference(doc: &Value) -> Reference {
    let mut by_tag: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let tag_order: Vec<(String, String)> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("").to_owned(),
                t["description"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    // In the order of the route table, which groups routes as the console does.
    for spec in crate::routes() {
        let Some(op) = doc["paths"][spec.path].get(spec.method.as_str().to_lowercase()) else {
            continue;
        };
        let tag = op["tags"][0].as_str().unwrap_or("Other").to_owned();
        let anchor = format!(
            "{}-{}",
            spec.method.as_str().to_lowercase(),
            spec.path
                .trim_start_matches('/')
                .replace(['/', '{', '}', '.'], "-")
        );
        let parameters: Vec<Value> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                json!({
                    "name": p["name"],
                    "in": p["in"],
                    "required": p["required"].as_bool().unwrap_or(false),
                    "type": type_of(&p["schema"]),
                    "description": p["description"],
                    "example": p.get("example").map(|e| e.to_string()),
                })
            })
            .collect();
        let body = op.get("requestBody").map(|b| {
            json!({
                "description": b["description"],
                "required": b["required"].as_bool().unwrap_or(false),
                "content": contents(&b["content"]),
            })
        });
        let responses: Vec<Value> = op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, r)| {
                json!({
                    "status": status,
                    "description": r["description"],
                    "content": contents(&r["content"]),
                })
            })
            .collect();
        by_tag.entry(tag).or_default().push(json!({
            "anchor": anchor,
            "method": spec.method.as_str(),
            "path": spec.path,
            "summary": op["summary"],
            "description": op["description"],
            "permission": op["x-tandem-permission"],
            "roles": op["x-tandem-roles"],
            "parameters": parameters,
            "body": body,
            "responses": responses,
        }));
    }
    let mut tags: Vec<Value> = Vec::new();
    for (name, description) in tag_order {
        if let Some(routes) = by_tag.remove(&name) {
            tags.push(json!({ "name": name, "description": description, "routes": routes }));
        }
    }
    tags.extend(
        by_tag
            .into_iter()
            .map(|(name, routes)| json!({ "name": name, "routes": routes })),
    );
    let schemas = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            json!({
                "name": name,
                "description": s["description"],
                "type": type_of(s),
                "fields": fields(s),
                "variants": s["oneOf"].as_array().map(|v| v.iter().map(|x| json!({"type": type_of(x), "fields": fields(x)})).collect::<Vec<_>>()),
                "example": s.get("example").map(pretty),
            })
        })
        .collect();
    Reference { tags, schemas }
}

/// A body's media types with the type of each and its example.
fn contents(content: &Value) -> Vec<Value> {
    content
        .as_object()
        .into_iter()
        .flatten()
        .map(|(media, c)| {
            json!({
                "media": media,
                "type": type_of(&c["schema"]),
                "fields": fields(&c["schema"]),
                "example": c.get("example").or_else(|| c["schema"].get("example")).map(pretty),
            })
        })
        .collect()
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The fields of an inline object schema: name, type, whether required, description.
fn fields(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, p)| {
            json!({
                "name": name,
                "type": type_of(p),
                "required": required.contains(&name.as_str()),
                "description": p["description"],
            })
        })
        .collect()
}

/// A schema's type as the page says it: `{text, ref}`, where `ref` names a component schema
/// the page links to (`array of` + `Alert`).
fn type_of(schema: &Value) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        return json!({ "text": "", "ref": name });
    }
    if let Some(any) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let parts: Vec<Value> = any.iter().map(type_of).collect();
        // `T or null` reads as the type, nullable.
        let non_null: Vec<&Value> = parts.iter().filter(|p| p["text"] != "null").collect();
        if non_null.len() == 1 && parts.len() == 2 {
            let mut t = non_null[0].clone();
            t["nullable"] = json!(true);
            return t;
        }
        let text = parts
            .iter()
            .map(|p| {
                p["ref"]
                    .as_str()
                    .or(p["text"].as_str())
                    .unwrap_or("")
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join(" or ");
        return json!({ "text": text });
    }
    let (ty, nullable) = match &schema["type"] {
        Value::String(s) => (s.clone(), false),
        Value::Array(a) => {
            let names: Vec<&str> = a
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| *s != "null")
                .collect();
            (names.join(" or "), names.len() < a.len())
        }
        _ => (String::new(), false),
    };
    let mut t = if ty == "array" {
        let inner = type_of(&schema["items"]);
        let text = format!("array of {}", inner["text"].as_str().unwrap_or_default());
        json!({ "text": text.trim_end(), "ref": inner["ref"] })
    } else {
        let mut text = if ty.is_empty() { "any".to_owned() } else { ty };
        if let Some(f) = schema["format"].as_str() {
            text = format!("{text} ({f})");
        }
        if let Some(e) = schema["enum"].as_array() {
            let values: Vec<String> = e.iter().map(|v| v.to_string()).collect();
            text = format!("{text}: {}", values.join(", "));
        }
        json!({ "text": text })
    };
    if nullable {
        t["nullable"] = json!(true);
    }
    t
}

// ---- Schemas of answers built with `json!` or taken from other crates' records. ----

/// An error: what went wrong, in words the caller can act on. Some errors add fields:
/// a query syntax error its `position` and a `caret` line; a conflict (409) who changed
/// what since the version the change was based on.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// What went wrong.
    #[schema(example = "your role does not allow this")]
    error: String,
    /// Query syntax errors: where in the query (characters from 0).
    position: Option<u64>,
    /// Query syntax errors: the query with a caret under the position.
    caret: Option<String>,
    /// 409: who made the change the caller did not see.
    changed_by: Option<String>,
    /// 409: what that change was.
    change: Option<String>,
    /// 409: the version now stored.
    current_version: Option<u64>,
    /// 409: the version the refused change was based on.
    base_version: Option<u64>,
}

/// Which configured source sent an event.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SourceRef {
    /// The name the source is configured under (`hq-badges`).
    name: String,
    vendor: Option<String>,
    product: Option<String>,
}

/// One normalised event (docs/events.md lists every field).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Event {
    /// ULID: sortable by ingest order.
    id: String,
    /// When it happened, as the sender said.
    time: DateTime<Utc>,
    /// When the sender saw it, when different from `time`.
    observed_time: Option<DateTime<Utc>>,
    /// When Tandem received it.
    ingest_time: DateTime<Utc>,
    source: SourceRef,
    /// The OCSF class (`authentication`, `physical_access`, `detection_finding`, …).
    class: String,
    /// What happened within the class (`logon`, `badge_in`, …).
    activity: String,
    /// `success`, `failure` or `unknown`.
    outcome: String,
    /// `unknown`, `informational`, `low`, `medium`, `high`, `critical`, `fatal`.
    severity: String,
    message: Option<String>,
    /// Who did it: account names and the person it resolved to.
    #[schema(value_type = Option<Object>)]
    actor: Option<Value>,
    /// Badge, door and reader details of physical events.
    #[schema(value_type = Option<Object>)]
    physical: Option<Value>,
    /// Where: site, building, floor, zone, door, geo.
    #[schema(value_type = Option<Object>)]
    place: Option<Value>,
    #[schema(value_type = Option<Object>)]
    src: Option<Value>,
    #[schema(value_type = Option<Object>)]
    dst: Option<Value>,
    #[schema(value_type = Option<Object>)]
    device: Option<Value>,
    labels: Option<BTreeMap<String, String>>,
    /// Vendor fields kept as sent.
    #[schema(value_type = Option<Object>)]
    attrs: Option<Value>,
    /// The input as received (capped).
    raw: Option<String>,
    raw_truncated: Option<bool>,
}

/// A page of events, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventPage {
    /// How many events matched in all.
    total: u64,
    offset: u64,
    events: Vec<Event>,
}

/// Counts of a `| count by …` or `| timechart` search.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Aggregation {
    /// The fields counted by.
    by: Vec<String>,
    /// `[[value of each field…], count]`, largest first.
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    rows: Vec<Value>,
    /// Counts per time bucket, for `| timechart`.
    #[schema(value_type = Option<Vec<Object>>)]
    buckets: Option<Value>,
    /// Events counted.
    total: u64,
}

/// What a search answers: a page of events, or counts when the query ends in `| count by …` or `| timechart`.
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SearchAnswer {
    Events(EventPage),
    Aggregation(Aggregation),
}

/// What an ingest request did: events stored, lines refused (kept as dead letters).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IngestAnswer {
    accepted: u64,
    rejected: u64,
    /// Why lines were refused, with their line numbers.
    #[schema(value_type = Vec<Object>)]
    errors: Vec<Value>,
    /// Signed webhooks: `true` when this delivery was already taken within the replay
    /// window (nothing stored).
    duplicate: Option<bool>,
}

/// The health of one source.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SourceHealth {
    name: String,
    /// Whether it is configured (or registered) now.
    registered: bool,
    last_event_time: Option<DateTime<Utc>>,
    last_received: Option<DateTime<Utc>>,
    events_total: u64,
    /// Over the last five minutes of arrivals.
    events_per_minute: f64,
    dead_letters_total: u64,
    rejected_total: u64,
    format: Option<String>,
    vendor: Option<String>,
    product: Option<String>,
    /// Whether it takes events over HTTP with a key.
    http_ingest: Option<bool>,
}

/// A source and its new key, shown this once.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SourceKeyAnswer {
    name: String,
    /// Send it as `Authorization: Bearer …` to `/api/v1/ingest/{source}`.
    api_key: String,
}

/// A line Tandem received but could not read.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeadLetter {
    source: String,
    time: DateTime<Utc>,
    /// Why it was refused.
    reason: String,
    /// As received.
    raw: String,
}

/// The store's size and state.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StoreStatus {
    events: u64,
    segments: u64,
    segments_sealing: u64,
    file_bytes: u64,
    queued_events: u64,
    oldest_event: Option<DateTime<Utc>>,
    newest_event: Option<DateTime<Utc>>,
    engine_memory_bytes: u64,
}

/// A person in the directory as they are now.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Person {
    id: String,
    name: String,
    employee_number: Option<String>,
    email: Option<String>,
    department: Option<String>,
    title: Option<String>,
    home_site: Option<String>,
    /// `active`, `on_leave`, `terminated`, …
    status: String,
    criticality: String,
    #[schema(value_type = Option<Vec<Object>>)]
    accounts: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    badges: Option<Value>,
}

/// People matching `q` (name, id, e-mail, department).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PeopleAnswer {
    total: u64,
    people: Vec<Person>,
}

/// A person with their devices, their history in the directory and their recent events.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PersonAnswer {
    /// `null` when the person's newest version is a deletion.
    person: Option<Person>,
    #[schema(value_type = Vec<Object>)]
    devices: Vec<Value>,
    /// Every version with when it took effect and where it came from.
    #[schema(value_type = Vec<Object>)]
    history: Vec<Value>,
    timeline_total: u64,
    timeline: Vec<Event>,
}

/// What a detection raised.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Finding {
    rule_id: String,
    rule_title: String,
    /// `native` or `sigma`.
    engine: String,
    severity: String,
    tags: Option<Vec<String>>,
    time: DateTime<Utc>,
    summary: String,
    /// The ids of the events it is about.
    evidence: Vec<String>,
    #[schema(value_type = Object)]
    entities: Value,
    #[schema(value_type = Option<Object>)]
    place: Option<Value>,
    dedup_key: String,
    score: Option<f64>,
    #[schema(value_type = Option<Object>)]
    detail: Option<Value>,
}

/// A stored finding: the id of its event and the finding.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FindingEntry {
    /// The id of the `detection_finding` event.
    id: String,
    finding: Finding,
}

/// Findings, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FindingsAnswer {
    total: u64,
    findings: Vec<FindingEntry>,
}

/// A finding with its evidence events.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FindingAnswer {
    id: String,
    finding: Finding,
    evidence: Vec<Event>,
}

/// An alert: one or more findings folded under a dedup key.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Alert {
    id: String,
    /// Send it back as `base_version` with a change.
    version: u64,
    title: String,
    summary: String,
    severity: String,
    /// `new`, `acknowledged`, `in_progress`, `closed`.
    status: String,
    resolution: Option<String>,
    assignee: Option<String>,
    #[schema(value_type = Vec<Object>)]
    rules: Vec<Value>,
    dedup_key: String,
    /// Findings folded into it.
    count: u64,
    suppressed: u64,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    #[schema(value_type = Object)]
    entities: Value,
    evidence: Vec<String>,
    tags: Vec<String>,
    /// The incident it belongs to.
    incident: Option<String>,
}

/// Alerts matching the filters, and how many in all.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlertsAnswer {
    total: u64,
    alerts: Vec<Alert>,
}

/// An alert with its findings, timeline and its entities' risk.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlertAnswer {
    alert: Alert,
    /// The event ids of the findings folded into it (up to 200).
    findings: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    timeline: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    risk: Vec<Value>,
}

/// One alert, as changed or raised.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlertOne {
    alert: Alert,
}

/// An incident in a list: its fields without the long parts.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IncidentSummary {
    id: String,
    version: u64,
    title: String,
    severity: String,
    /// `open`, `contained`, `resolved`, `closed`, …
    status: String,
    resolution: Option<String>,
    playbook: String,
    assignees: Vec<String>,
    /// Departments with tasks in it.
    departments: Vec<String>,
    /// Tasks in all.
    tasks: u64,
    tasks_open: u64,
    /// Alerts in it.
    alerts: u64,
    sites: Vec<String>,
    #[schema(value_type = Object)]
    milestones: Value,
    /// `alert`, `manual`, …
    origin: String,
}

/// Incidents, most recently changed first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IncidentsAnswer {
    total: u64,
    incidents: Vec<IncidentSummary>,
}

/// An incident with everything in it (docs/incidents.md).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Incident {
    id: String,
    version: u64,
    title: String,
    summary: String,
    playbook: String,
    severity: String,
    status: String,
    resolution: Option<String>,
    impact: String,
    /// Traffic-light protocol: `clear`, `green`, `amber`, `amber_strict`, `red`.
    tlp: String,
    assignees: Vec<String>,
    alerts: Vec<String>,
    events: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    observables: Vec<Value>,
    #[schema(value_type = Object)]
    entities: Value,
    /// The departments' tasks from the playbook.
    #[schema(value_type = Vec<Object>)]
    tasks: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    comments: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    evidence: Vec<Value>,
    #[schema(value_type = Option<Object>)]
    review: Option<Value>,
    #[schema(value_type = Object)]
    milestones: Value,
    merged_into: Option<String>,
    origin: String,
    reopened: u64,
}

/// An incident with its timeline and each task's SLA time used.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IncidentAnswer {
    incident: Incident,
    #[schema(value_type = Vec<Object>)]
    timeline: Vec<Value>,
    /// `{task, elapsed_minutes}` per task.
    #[schema(value_type = Vec<Object>)]
    sla: Vec<Value>,
}

/// One incident, as opened or changed.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IncidentOne {
    incident: Incident,
}

/// One entry of the audit log, with its place in the hash chain.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AuditRecord {
    seq: u64,
    time: DateTime<Utc>,
    /// Who: a user, a token's owner, or `tandem` itself.
    actor: String,
    /// What (`auth.login`, `search`, `person.view`, `incident.open`, …).
    action: String,
    target: String,
    #[schema(value_type = Object)]
    detail: Value,
    prev_hash: String,
    hash: String,
    /// HMAC of `hash` under the log's key (empty before the log was keyed).
    mac: String,
}

/// Audit entries, oldest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AuditAnswer {
    entries: Vec<AuditRecord>,
}

/// An alarm in the control room's queue (docs/alarms.md).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Alarm {
    id: String,
    version: u64,
    /// `active`, `acknowledged`, `cleared`.
    state: String,
    last_seen: DateTime<Utc>,
    /// Whether it is snoozed now.
    snoozed: bool,
}

/// The open alarms and how many are unacknowledged.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlarmsAnswer {
    alarms: Vec<Alarm>,
    unacknowledged: u64,
}

/// For the menu and the tab title.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlarmCount {
    /// Unacknowledged alarms not snoozed.
    unacknowledged: u64,
    /// When the newest of them was last seen.
    newest: Option<DateTime<Utc>>,
    /// Moves with every change to the open alarms.
    changes: u64,
    /// Whether the caller chose the alarm sound.
    sound: bool,
}

/// An alert raised by hand.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewAlert {
    title: String,
    /// `low`, `medium`, `high`, `critical`.
    severity: String,
    /// Entity keys: `person:<id>`, `device:<id>`, `site:<id>`, ….
    entities: Option<Vec<String>>,
    summary: Option<String>,
}

/// An allow-list entry: findings of `rule` about `entity` are folded into it until `expires`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewException {
    rule: String,
    entity: String,
    reason: String,
    expires: DateTime<Utc>,
}

/// An incident opened by hand; every field may be left out but the title.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewIncident {
    title: String,
    summary: Option<String>,
    severity: Option<String>,
    /// The playbook's id; the generic one when not given.
    playbook: Option<String>,
    #[schema(value_type = Option<Object>)]
    entities: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    observables: Option<Value>,
    tlp: Option<String>,
    assignees: Option<Vec<String>>,
}

/// A change to an incident's own fields; fields not given stay as they are.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IncidentPatch {
    /// The version the change is based on (required).
    base_version: u64,
    status: Option<String>,
    severity: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    impact: Option<String>,
    tlp: Option<String>,
    assignees: Option<Vec<String>>,
    resolution: Option<String>,
    /// Switches the playbook (its tasks not yet started are replaced).
    playbook: Option<String>,
}

/// The post-incident review.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReviewBody {
    base_version: Option<u64>,
    summary: String,
    impact: String,
    went_well: String,
    contributing_factors: String,
    /// `{id?, title, department, due (YYYY-MM-DD)}` each.
    #[schema(value_type = Vec<Object>)]
    action_items: Vec<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `/api/v1` route of the route table, with its method, is in the document: a
    /// route added without an annotation fails here.
    #[test]
    fn every_api_route_in_the_table_is_documented() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut missing = Vec::new();
        for spec in crate::routes() {
            if !spec.path.starts_with("/api/v1/") {
                continue;
            }
            let method = spec.method.as_str().to_lowercase();
            let op = &doc["paths"][spec.path][method.as_str()];
            if !op.is_object() {
                missing.push(format!("{} {}", spec.method, spec.path));
                continue;
            }
            assert!(
                op["x-tandem-permission"].is_string(),
                "{} {} has no permission",
                spec.method,
                spec.path
            );
        }
        assert!(
            missing.is_empty(),
            "not in the OpenAPI document: {missing:?}"
        );
        // Nor anything the table does not serve.
        let served: Vec<(String, String)> = crate::routes()
            .iter()
            .map(|s| (s.path.to_owned(), s.method.as_str().to_lowercase()))
            .collect();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                assert!(
                    served.contains(&(path.clone(), method.clone())),
                    "the document describes {method} {path}, which the route table does not serve"
                );
            }
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_auth_schemes_and_error_shape() {
        let doc = serde_json::to_value(document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes[BEARER]["scheme"], "bearer");
        assert_eq!(schemes[SESSION]["in"], "cookie");
        assert_eq!(schemes[SESSION]["name"], "tandem_session");
        assert_eq!(schemes[CSRF]["name"], "X-CSRF-Token");
        assert!(
            doc["components"]["schemas"]["ErrorBody"]["required"]
                .as_array()
                .unwrap()
                .contains(&json!("error"))
        );
        let patch = &doc["paths"]["/api/v1/alerts/{id}"]["patch"];
        assert_eq!(patch["x-tandem-permission"], "triage_alerts");
        assert!(patch["responses"]["409"].is_object());
        assert!(patch["responses"]["403"].is_object());
        // A change with a session needs the CSRF header; a read does not.
        assert!(
            patch["security"]
                .as_array()
                .unwrap()
                .contains(&json!({SESSION: [], CSRF: []}))
        );
        let get = &doc["paths"]["/api/v1/alerts"]["get"];
        assert!(
            get["security"]
                .as_array()
                .unwrap()
                .contains(&json!({SESSION: []}))
        );
        let ingest = &doc["paths"]["/api/v1/ingest/{source}"]["post"];
        assert!(
            ingest["security"]
                .as_array()
                .unwrap()
                .contains(&json!({SOURCE_KEY: []}))
        );
        assert!(ingest["responses"]["403"].is_null());
    }

    #[test]
    fn the_reference_names_every_route_and_schema() {
        let doc = serde_json::to_value(document()).unwrap();
        let r = reference(&doc);
        let routes: usize = r
            .tags
            .iter()
            .map(|t| t["routes"].as_array().unwrap().len())
            .sum();
        let api = crate::routes()
            .iter()
            .filter(|s| s.path.starts_with("/api/v1/"))
            .count();
        assert_eq!(routes, api);
        assert!(r.schemas.iter().any(|s| s["name"] == "Alert"));
    }
}

/// The response action definitions in force.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ActionsAnswer {
    /// Each with `id`, `title`, `description`, `risk` (`low` or `sensitive`), `target`, the
    /// roles that may propose and approve, and its connection.
    #[schema(value_type = Vec<Object>)]
    actions: Vec<Value>,
}

/// An incident's action runs.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ActionRunsAnswer {
    incident: String,
    /// Each with `id`, `action`, `risk`, `state` (`proposed`, `approved`, `refused`,
    /// `running`, `succeeded`, `failed`), `target`, who proposed and decided, the request
    /// (secrets masked) and every attempt's answer.
    #[schema(value_type = Vec<Object>)]
    runs: Vec<Value>,
}

/// One action run, as [`ActionRunsAnswer`] lists them.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ActionRunOne {
    #[schema(value_type = Object)]
    run: Value,
}

/// What a proposal would send.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DryRunAnswer {
    action: String,
    /// `low` or `sensitive`.
    risk: String,
    #[schema(value_type = Object)]
    target: Value,
    /// Method, URL, headers (secrets masked) and body.
    #[schema(value_type = Object)]
    request: Value,
    idempotency_key: String,
}

/// The shared KPIs of a period.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct KpisAnswer {
    /// The period asked for.
    #[schema(value_type = Object)]
    window: Value,
    /// MTTD, MTTA, MTTC and MTTR over every counted incident (median, p90, mean, count,
    /// share), the severity-weighted index and MTTR.
    #[schema(value_type = Object)]
    overall: Value,
    /// The same figures per value of each dimension asked for (severity, department, type,
    /// site, month).
    #[schema(value_type = Object)]
    by: Value,
    /// SLA compliance per department, then per department and task.
    #[schema(value_type = Vec<Object>)]
    sla: Vec<Value>,
    /// Tasks past their SLA now.
    #[schema(value_type = Vec<Object>)]
    overdue: Vec<Value>,
    /// The definition of every figure, in words.
    #[schema(value_type = Object)]
    definitions: Value,
    /// The department a responder's figures are limited to; `null` for everyone else.
    scope: Option<String>,
    /// Always `seconds`.
    units: String,
    /// Coverage: ATT&CK coverage of the enabled rules by tactic and technique (`attack`),
    /// the sources' health (`sources`, `sources_healthy_share`) and the share of ingested
    /// events detection analysed (`analysed_share`).
    #[schema(value_type = Object)]
    coverage: Value,
    /// Access revocation timeliness: every leaver of the period and the times to their last
    /// badge deactivation and account disable.
    #[schema(value_type = Object)]
    revocation: Value,
    /// People's risk scores now, per the directory's department.
    #[schema(value_type = Vec<Object>)]
    department_risk: Vec<Value>,
    /// Training participation and policy acknowledgement per department.
    #[schema(value_type = Object)]
    training: Value,
    /// Reserved for the people metrics of employee reports; `null` until they are kept.
    #[schema(value_type = Object)]
    employee_reports: Value,
}

/// The delivery log.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeliveriesAnswer {
    deliveries: Vec<crate::notify::Delivery>,
    /// Messages per state (`pending`, `held`, `delivered`, `dead`, `digested`).
    #[schema(value_type = Object)]
    counts: Value,
}

/// The notification channels.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChannelsAnswer {
    channels: Vec<crate::notify::ChannelView>,
}
