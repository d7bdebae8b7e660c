//! The console pages for watching and running Tandem: the live monitor, the rules, and the
//! settings (users, roles, API tokens).
//!
//! The live monitor is the one page that needs JavaScript to be at its best, and it still
//! works without: the page itself lists the latest events (server-rendered, with a refresh
//! link); `static/live.js` then follows `/live/stream`, a server-sent-event stream fed by the
//! pipeline's live feed ([`tandem_ingest::pipeline::Pipeline::subscribe`]), which carries only
//! what is already stored. Filters are applied on the server, so a guard watching one site on
//! a slow link receives only that site's events.
//!
//! Rule switches and account changes are plain forms carrying the session's CSRF token (the
//! access layer checks it); results come back as a redirect whose query string names what
//! changed, never free text, so a link cannot make the page say something it did not do.

use crate::access::{Permission, Role};
use crate::auth::{Principal, generate_secret, hash_password};
use crate::console::{Visitor, event_where, event_who, refusal_page, render};
use crate::sso::valid_name;
use crate::{ApiError, AppState};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::str::FromStr;
use tandem_identity::Directory;
use tandem_identity::model::PlaceKind;
use tandem_ingest::pipeline::{LiveBatch, hash_key};
use tandem_model::{Activity, Class, Event, Finding};
use tandem_store::{Account, ApiToken, SearchResult};
use tokio::sync::broadcast::error::RecvError;

/// Events the live page lists before any arrive on the stream.
const LIVE_INITIAL: usize = 50;

// ---------------------------------------------------------------------------------------
// Live monitor

/// `?site=…&class=…` on `/live` and `/live/stream`; empty means everything.
#[derive(Deserialize, Default, Clone)]
pub struct LiveParams {
    #[serde(default)]
    site: String,
    #[serde(default)]
    class: String,
}

impl LiveParams {
    /// The query string that keeps these filters (for the stream and the refresh link).
    fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if !self.site.is_empty() {
            q.append_pair("site", &self.site);
        }
        if !self.class.is_empty() {
            q.append_pair("class", &self.class);
        }
        q.finish()
    }
}

/// The filters in force, resolved once against the directory.
struct LiveFilter {
    /// Lower-cased names an event's `place.site` may carry for the chosen site: what was
    /// asked for, and the directory's id and name of that site (the resolver fills in the
    /// id, a source may send the name).
    sites: Vec<String>,
    class: Option<Class>,
}

impl LiveFilter {
    fn new(params: &LiveParams, dir: &Directory) -> LiveFilter {
        let site = params.site.trim();
        let mut sites = Vec::new();
        if !site.is_empty() {
            sites.push(site.to_lowercase());
            if let Some(p) = dir.find_place(site) {
                sites.push(p.id.to_lowercase());
                sites.push(p.name.to_lowercase());
            }
        }
        LiveFilter {
            sites,
            class: Class::from_str(params.class.trim()).ok(),
        }
    }

    fn matches(&self, e: &Event) -> bool {
        if let Some(c) = self.class
            && e.class != c
        {
            return false;
        }
        if self.sites.is_empty() {
            return true;
        }
        e.place
            .as_ref()
            .and_then(|p| p.site.as_deref())
            .is_some_and(|s| self.sites.iter().any(|w| w.eq_ignore_ascii_case(s)))
    }

    /// The same filter in the query language, for the server-rendered list.
    fn search_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.class {
            parts.push(format!("class:{}", c.name()));
        }
        if !self.sites.is_empty() {
            let any: Vec<String> = self
                .sites
                .iter()
                // Quotes and backslashes cannot appear in a site name worth matching; dropping
                // them keeps the value one quoted term.
                .map(|s| format!("site:\"{}\"", s.replace(['"', '\\'], "")))
                .collect();
            parts.push(format!("({})", any.join(" OR ")));
        }
        parts.join(" AND ")
    }
}

/// One row of the live monitor, as the page renders it and as the stream sends it.
#[derive(Serialize)]
struct LiveRow {
    time: String,
    class: &'static str,
    activity: &'static str,
    outcome: &'static str,
    who: String,
    #[serde(rename = "where")]
    where_: String,
    site: String,
    message: String,
    /// `alarm` (door forced, held open, tampered, duress), `finding`, or empty: the row's
    /// colour.
    kind: &'static str,
    /// The words that go with the colour, so the row stands out without colour too.
    alert: String,
}

impl LiveRow {
    /// The same row for the template.
    fn to_value(&self) -> minijinja::Value {
        context! {
            time => self.time.clone(), class => self.class, activity => self.activity,
            outcome => self.outcome, who => self.who.clone(), where => self.where_.clone(),
            site => self.site.clone(), message => self.message.clone(), kind => self.kind,
            alert => self.alert.clone(),
        }
    }
}

/// A door alarm's label, for the activities a guard must look at now.
fn door_alarm(e: &Event) -> Option<&'static str> {
    if e.class != Class::PhysicalAccess {
        return None;
    }
    Some(match e.activity {
        Activity::Forced => "Door alarm: forced open",
        Activity::HeldOpen => "Door alarm: held open",
        Activity::Tamper => "Door alarm: tamper",
        Activity::Duress => "Door alarm: duress",
        _ => return None,
    })
}

fn live_row(e: &Event) -> LiveRow {
    let finding = (e.class == Class::DetectionFinding)
        .then(|| Finding::from_event(e))
        .flatten();
    let (kind, alert, message) = if let Some(f) = &finding {
        (
            "finding",
            format!("Finding ({}): {}", f.severity.name(), f.rule_title),
            f.summary.clone(),
        )
    } else if let Some(label) = door_alarm(e) {
        ("alarm", label.to_owned(), e.message.clone())
    } else {
        ("", String::new(), e.message.clone())
    };
    LiveRow {
        time: e.time.format("%Y-%m-%d %H:%M:%S").to_string(),
        class: e.class.name(),
        activity: e.activity.name(),
        outcome: e.outcome.name(),
        who: event_who(e),
        where_: event_where(e),
        site: e
            .place
            .as_ref()
            .and_then(|p| p.site.clone())
            .unwrap_or_default(),
        message: if message.is_empty() {
            format!("{} {}", e.class, e.activity)
        } else {
            message
        },
        kind,
        alert,
    }
}

/// `GET /live`: the latest events (last 24 hours), the filters, and the hook for the script.
pub async fn live_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<LiveParams>,
) -> Response {
    let dir = state.identity.snapshot();
    let filter = LiveFilter::new(&params, &dir);
    let mut sites: Vec<(String, String)> = dir
        .places()
        .into_iter()
        .filter(|p| p.kind == PlaceKind::Site)
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    sites.sort_by(|a, b| a.1.cmp(&b.1));
    if !params.site.is_empty() && !sites.iter().any(|s| s.0 == params.site) {
        sites.push((params.site.clone(), params.site.clone()));
    }
    let classes: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
    let request = crate::api::search_request(&crate::api::SearchParams {
        q: filter.search_query(),
        from: Some("now-24h".into()),
        to: None,
        limit: Some(LIVE_INITIAL),
        offset: None,
    });
    let request = match request {
        Ok(r) => r,
        Err(e) => return refusal_page(StatusCode::BAD_REQUEST, &e.message),
    };
    let events = state.events.clone();
    let rows: Vec<LiveRow> =
        match tokio::task::spawn_blocking(move || events.search(&request)).await {
            Ok(Ok(SearchResult::Events(page))) => page.events.iter().map(live_row).collect(),
            Ok(Ok(SearchResult::Aggregation(_))) => Vec::new(),
            Ok(Err(e)) => return ApiError::from(e).into_response(),
            Err(e) => return ApiError::internal(e).into_response(),
        };
    let query = params.query();
    let stream_url = if query.is_empty() {
        "/live/stream".to_owned()
    } else {
        format!("/live/stream?{query}")
    };
    let refresh_url = if query.is_empty() {
        "/live".to_owned()
    } else {
        format!("/live?{query}")
    };
    render(
        "live.html",
        context! {
            rows => rows.iter().map(LiveRow::to_value).collect::<Vec<_>>(),
            sites => sites, classes => classes,
            site => params.site, class => params.class,
            stream_url => stream_url, refresh_url => refresh_url,
            ..v.base("live")
        },
    )
}

/// `GET /live/stream`: server-sent events. First `ready` (the listener is subscribed, so
/// anything committed after it arrives), then one `row` per matching event as JSON, and
/// `skipped` with the number of batches missed when this client fell behind.
pub async fn live_stream(
    _who: Principal,
    State(state): State<AppState>,
    Query(params): Query<LiveParams>,
) -> Sse<impl Stream<Item = Result<sse::Event, Infallible>>> {
    let filter = LiveFilter::new(&params, &state.identity.snapshot());
    let receiver = state.pipeline.subscribe();
    let mut pending = VecDeque::new();
    pending.push_back(sse::Event::default().event("ready").data("listening"));
    let stream = futures_util::stream::unfold(
        (receiver, filter, pending),
        |(mut receiver, filter, mut pending)| async move {
            loop {
                if let Some(next) = pending.pop_front() {
                    return Some((Ok(next), (receiver, filter, pending)));
                }
                match receiver.recv().await {
                    Ok(batch) => pending.extend(rows_of(&batch, &filter)),
                    Err(RecvError::Lagged(n)) => pending
                        .push_back(sse::Event::default().event("skipped").data(n.to_string())),
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn rows_of<'a>(
    batch: &'a LiveBatch,
    filter: &'a LiveFilter,
) -> impl Iterator<Item = sse::Event> + 'a {
    batch.iter().filter(|e| filter.matches(e)).map(|e| {
        let row = serde_json::to_string(&live_row(e)).unwrap_or_default();
        sse::Event::default().event("row").data(row)
    })
}

/// `GET /static/live.js`: the live monitor's script (vendored, no framework).
pub async fn live_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../static/live.js"),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Rules

#[derive(Deserialize, Default)]
pub struct RulesParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    /// Id of the rule just switched, and how (`on`/`off`): the flash message.
    #[serde(default)]
    changed: String,
    #[serde(default)]
    to: String,
}

/// A path segment with everything but unreserved characters percent-encoded (rule ids may
/// be titles with spaces).
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn tags_of(rule: &serde_json::Value) -> Vec<String> {
    rule.get("tags")
        .and_then(|t| t.as_array())
        .map(|t| {
            t.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// `GET /rules`: every rule with its state and hits, filtered by text and tag.
pub async fn rules_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<RulesParams>,
) -> Response {
    let Some(control) = state.rules.clone() else {
        return render(
            "rules.html",
            context! { detection_off => true, ..v.base("rules") },
        );
    };
    let listed = match tokio::task::spawn_blocking(move || control.list()).await {
        Ok(l) => l,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let all: Vec<serde_json::Value> = listed
        .get("rules")
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    let tags: BTreeSet<String> = all.iter().flat_map(tags_of).collect();
    let needle = params.q.trim().to_lowercase();
    let flash = all
        .iter()
        .find(|r| !params.changed.is_empty() && text(r, "id") == params.changed)
        .map(|r| {
            let how = if params.to == "on" {
                "switched on"
            } else {
                "switched off"
            };
            format!("Rule “{}” {how}.", text(r, "title"))
        });
    let rows: Vec<minijinja::Value> = all
        .iter()
        .filter(|r| {
            needle.is_empty()
                || text(r, "title").to_lowercase().contains(&needle)
                || text(r, "id").to_lowercase().contains(&needle)
        })
        .filter(|r| params.tag.is_empty() || tags_of(r).contains(&params.tag))
        .map(|r| {
            let engine = text(r, "engine");
            context! {
                id => text(r, "id"),
                path_id => path_segment(&text(r, "id")),
                title => text(r, "title"),
                engine => engine.clone(),
                level => text(r, "level"),
                tags => tags_of(r),
                enabled => r.get("enabled").and_then(|e| e.as_bool()).unwrap_or(false),
                hits => r.get("hits").and_then(|h| h.as_u64()).unwrap_or(0),
                // Native detections are configured in [detect.native], not switched here.
                switchable => engine == "sigma",
            }
        })
        .collect();
    render(
        "rules.html",
        context! {
            rules => rows, total => all.len(), tags => tags, q => params.q, tag => params.tag,
            flash => flash, can_manage => v.can(Permission::ManageRules),
            ..v.base("rules")
        },
    )
}

/// The rule form's fields besides `csrf`: the filters to return to.
#[derive(Deserialize, Default)]
pub struct RuleSwitchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
}

/// `POST /rules/{id}/enable` and `/disable` from the rules page.
pub async fn switch_rule(
    v: Visitor,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<RuleSwitchForm>,
) -> Response {
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return refusal_page(StatusCode::NOT_FOUND, "use /enable or /disable"),
    };
    let Some(control) = state.rules.clone() else {
        return refusal_page(
            StatusCode::NOT_FOUND,
            "detection is turned off ([detect] enabled = false)",
        );
    };
    let rule = id.clone();
    match tokio::task::spawn_blocking(move || control.set_enabled(&rule, enabled)).await {
        Ok(Ok(())) => {}
        Ok(Err(why)) => return refusal_page(StatusCode::BAD_REQUEST, &why),
        Err(e) => return ApiError::internal(e).into_response(),
    }
    crate::audit::by(
        &state,
        &v.who,
        if enabled {
            "rule.enable"
        } else {
            "rule.disable"
        },
        &format!("rule:{id}"),
        serde_json::json!({}),
    )
    .await;
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("changed", &id)
        .append_pair("to", if enabled { "on" } else { "off" });
    if !form.q.is_empty() {
        q.append_pair("q", &form.q);
    }
    if !form.tag.is_empty() {
        q.append_pair("tag", &form.tag);
    }
    Redirect::to(&format!("/rules?{}", q.finish())).into_response()
}

// ---------------------------------------------------------------------------------------
// Settings

#[derive(Deserialize, Default)]
pub struct SettingsParams {
    /// Name of the user just created or changed: the flash message.
    #[serde(default)]
    created: String,
    #[serde(default)]
    changed: String,
}

/// Shortest password an administrator may set; longer is better, and a generated one is
/// 32 random characters.
const MIN_PASSWORD: usize = 12;

/// A role's label, or the stored text when Tandem does not know it (such an account can do
/// nothing; the page shows why).
fn role_label(stored: &str) -> String {
    Role::parse(stored).map_or_else(|| format!("unknown role `{stored}`"), Role::label)
}

/// What the settings page shows besides the layout, with `extra` (a secret shown once, an
/// error) merged in.
async fn settings(v: &Visitor, state: &AppState, extra: minijinja::Value) -> Response {
    let accounts = state.accounts.clone();
    let listed = tokio::task::spawn_blocking(move || {
        Ok::<_, tandem_store::StoreError>((accounts.list_users()?, accounts.list_tokens()?))
    })
    .await;
    let (users, tokens) = match listed {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let roles: Vec<(String, String)> = Role::all()
        .into_iter()
        .map(|r| (r.to_string(), r.label()))
        .collect();
    let users: Vec<minijinja::Value> = users
        .iter()
        .map(|u| {
            context! {
                name => u.name.clone(), path_name => path_segment(&u.name),
                role => Role::parse(&u.role).map(|r| r.to_string()).unwrap_or_default(),
                role_label => role_label(&u.role),
                created => u.created.format("%Y-%m-%d").to_string(),
                is_me => u.name == v.who.name,
                external => u.external,
            }
        })
        .collect();
    let tokens: Vec<minijinja::Value> = tokens
        .iter()
        .map(|t| {
            context! {
                name => t.name.clone(), role_label => role_label(&t.role),
                created => t.created.format("%Y-%m-%d %H:%M").to_string(),
            }
        })
        .collect();
    let mut response = render(
        "settings.html",
        context! {
            ..context! { users => users, tokens => tokens, roles => roles, min_password => MIN_PASSWORD },
            ..extra,
            ..v.base("settings")
        },
    );
    // The page may carry a password or token shown once: keep it out of caches.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /settings`: users and roles, API tokens, and a way to the sources.
pub async fn settings_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<SettingsParams>,
) -> Response {
    let flash = if !params.created.is_empty() {
        Some(format!("User “{}” created.", params.created))
    } else if !params.changed.is_empty() {
        Some(format!("Role of “{}” changed.", params.changed))
    } else {
        None
    };
    settings(&v, &state, context! { flash => flash }).await
}

/// Shows the settings page again with a problem to fix, keeping the 400 status.
async fn settings_error(v: &Visitor, state: &AppState, error: String) -> Response {
    let mut r = settings(v, state, context! { error => error }).await;
    if r.status() == StatusCode::OK {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    r
}

/// A role chosen in a form: one of [`Role::all`], written as stored.
fn chosen_role(s: &str) -> Option<Role> {
    Role::all().into_iter().find(|r| r.to_string() == s)
}

/// The name and role a settings form asked for, or the settings page explaining what is
/// wrong with them.
async fn name_and_role(
    v: &Visitor,
    state: &AppState,
    what: &str,
    name: &str,
    role: &str,
) -> Result<(String, Role), Response> {
    let name = name.trim().to_owned();
    if !valid_name(&name) {
        return Err(settings_error(
            v,
            state,
            format!("A {what} name is 1 to 64 letters, digits, dots, dashes, underscores or @."),
        )
        .await);
    }
    match chosen_role(role) {
        Some(role) => Ok((name, role)),
        None => Err(settings_error(v, state, "Choose one of the listed roles.".into()).await),
    }
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    /// Empty: Tandem generates one and shows it once.
    #[serde(default)]
    password: String,
}

/// `POST /settings/users`: creates a user with a role.
pub async fn create_user(
    v: Visitor,
    State(state): State<AppState>,
    Form(form): Form<NewUserForm>,
) -> Response {
    let (name, role) = match name_and_role(&v, &state, "user", &form.name, &form.role).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let generated = form.password.is_empty();
    if !generated && form.password.chars().count() < MIN_PASSWORD {
        return settings_error(
            &v,
            &state,
            format!("A password needs at least {MIN_PASSWORD} characters; leave it empty to have one generated."),
        )
        .await;
    }
    let password = if generated {
        generate_secret("")
    } else {
        form.password.clone()
    };
    let shown = generated.then(|| password.clone());
    let account = Account {
        name: name.clone(),
        password_hash: String::new(),
        role: role.to_string(),
    };
    let accounts = state.accounts.clone();
    let created = tokio::task::spawn_blocking(move || {
        // Hashing is deliberately slow: off the async threads.
        let account = Account {
            password_hash: hash_password(&password),
            ..account
        };
        accounts.create_user(&account)
    })
    .await;
    match created {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            return settings_error(&v, &state, format!("There is already a user “{name}”.")).await;
        }
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return ApiError::internal(e).into_response(),
    }
    tracing::info!(by = %v.who.name, user = %name, role = %role, "console user created");
    crate::audit::by(
        &state,
        &v.who,
        "user.create",
        &format!("user:{name}"),
        serde_json::json!({ "new_role": role.to_string() }),
    )
    .await;
    let Some(shown) = shown else {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("created", &name)
            .finish();
        return Redirect::to(&format!("/settings?{q}")).into_response();
    };
    // A generated password is shown on this answer only; it is not stored anywhere readable.
    settings(
        &v,
        &state,
        context! {
            flash => format!("User “{name}” created."),
            secret => context! { what => format!("Password for {name}"), value => shown },
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /settings/users/{name}/role`: changes a user's role.
pub async fn set_role(
    v: Visitor,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let Some(role) = chosen_role(&form.role) else {
        return settings_error(&v, &state, "Choose one of the listed roles.".into()).await;
    };
    if name == v.who.name && role != v.who.role {
        // Changing one's own role could leave no administrator to undo it.
        return settings_error(
            &v,
            &state,
            "You cannot change your own role; ask another administrator.".into(),
        )
        .await;
    }
    let accounts = state.accounts.clone();
    let (user, stored) = (name.clone(), role.to_string());
    match tokio::task::spawn_blocking(move || accounts.set_role(&user, &stored)).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            return settings_error(&v, &state, format!("There is no user “{name}”.")).await;
        }
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return ApiError::internal(e).into_response(),
    }
    tracing::info!(by = %v.who.name, user = %name, role = %role, "console user role changed");
    crate::audit::by(
        &state,
        &v.who,
        "user.role",
        &format!("user:{name}"),
        serde_json::json!({ "new_role": role.to_string() }),
    )
    .await;
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("changed", &name)
        .finish();
    Redirect::to(&format!("/settings?{q}")).into_response()
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// `POST /settings/tokens`: issues an API token; the answer shows it once.
pub async fn create_token(
    v: Visitor,
    State(state): State<AppState>,
    Form(form): Form<NewTokenForm>,
) -> Response {
    let (name, role) = match name_and_role(&v, &state, "token", &form.name, &form.role).await {
        Ok(ok) => ok,
        Err(page) => return page,
    };
    let secret = generate_secret("tat_");
    let token = ApiToken {
        sha256: hash_key(&secret),
        name: name.clone(),
        role: role.to_string(),
    };
    let accounts = state.accounts.clone();
    match tokio::task::spawn_blocking(move || accounts.create_token(&token)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return ApiError::internal(e).into_response(),
    }
    tracing::info!(by = %v.who.name, token = %name, role = %role, "API token issued");
    crate::audit::by(
        &state,
        &v.who,
        "token.create",
        &format!("token:{name}"),
        serde_json::json!({ "new_role": role.to_string() }),
    )
    .await;
    settings(
        &v,
        &state,
        context! {
            flash => format!("Token “{name}” issued."),
            secret => context! { what => format!("API token {name}"), value => secret },
        },
    )
    .await
}
