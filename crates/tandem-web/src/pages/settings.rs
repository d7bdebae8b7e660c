//! The settings page: users and roles, API tokens, sources and their keys, and the rule
//! directories.
//!
//! Every change is a plain form carrying the session's CSRF token (the access layer checks
//! it) and is written to the audit log. Secrets (a generated password, a token, a source key)
//! are shown once on the answer page, which is never cached, and only their hashes are kept.

use crate::access::Role;
use crate::auth::{generate_secret, hash_password};
use crate::sso::valid_name;
use crate::view::{Visitor, path_segment, render};
use crate::{ApiError, AppState};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tandem_store::hash_key;
use tandem_store::{Account, ApiToken};

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

/// A console user in the settings page's list.
#[derive(Serialize)]
struct UserRow {
    name: String,
    /// The name as a path segment, for the forms that change them.
    path_name: String,
    /// The role's code, empty when Tandem does not know the stored role.
    role: String,
    role_label: String,
    created: crate::clock::Stamp,
    /// The visitor themself (who may not demote themself).
    is_me: bool,
    /// Created by single sign-on.
    external: bool,
}

/// An API token (never its secret).
#[derive(Serialize)]
struct TokenRow {
    name: String,
    role_label: String,
    created: crate::clock::Stamp,
}

/// A source and whether its senders need a key.
#[derive(Serialize)]
struct SourceRow {
    name: String,
    path_name: String,
    format: String,
    vendor: Option<String>,
    has_key: bool,
    /// Its format is sent over HTTP with a key (syslog and MQTT sources take none).
    keyed: bool,
}

/// A directory Sigma rules are loaded from.
#[derive(Serialize)]
struct RuleDirRow {
    path: String,
    rules: usize,
    /// What in it could not be used.
    issues: Vec<String>,
    /// Where it was declared, in words.
    origin: &'static str,
    /// Added on this page, so it can be removed here.
    removable: bool,
}

/// What the settings page shows besides the layout, with `extra` (a secret shown once, an
/// error) merged in.
async fn settings(v: &Visitor, state: &AppState, extra: minijinja::Value) -> Response {
    let accounts = state.accounts.clone();
    let events = state.events.clone();
    let rules = state.rules.clone();
    let listed = tokio::task::spawn_blocking(move || {
        Ok::<_, tandem_store::StoreError>((
            accounts.list_users()?,
            accounts.list_tokens()?,
            events.sources()?,
            rules.map(|r| r.directories()),
        ))
    })
    .await;
    let (users, tokens, sources, rule_dirs) = match listed {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let roles: Vec<(String, String)> = Role::all()
        .into_iter()
        .map(|r| (r.to_string(), r.label()))
        .collect();
    let zone = v.zone.plain();
    let when = |t: chrono::DateTime<chrono::Utc>| crate::clock::stamp(t, &zone);
    let users: Vec<UserRow> = users
        .iter()
        .map(|u| UserRow {
            name: u.name.clone(),
            path_name: path_segment(&u.name),
            role: Role::parse(&u.role)
                .map(|r| r.to_string())
                .unwrap_or_default(),
            role_label: role_label(&u.role),
            created: when(u.created),
            is_me: u.name == v.who.name,
            external: u.external,
        })
        .collect();
    let tokens: Vec<TokenRow> = tokens
        .iter()
        .map(|t| TokenRow {
            name: t.name.clone(),
            role_label: role_label(&t.role),
            created: when(t.created),
        })
        .collect();
    let sources: Vec<SourceRow> = sources
        .iter()
        .map(|s| SourceRow {
            name: s.name.clone(),
            path_name: path_segment(&s.name),
            format: s.format.clone(),
            vendor: s.vendor.clone(),
            has_key: s.key_sha256.is_some(),
            keyed: s.format.parse().is_ok_and(crate::api::takes_key),
        })
        .collect();
    let formats: Vec<String> = tandem_ingest::decode::Format::ALL
        .iter()
        .filter(|f| crate::api::takes_key(**f) && **f != tandem_ingest::decode::Format::Mapped)
        .map(|f| f.to_string())
        .collect();
    let rule_dirs: Option<Vec<RuleDirRow>> = rule_dirs.map(|dirs| {
        dirs.iter()
            .map(|d| RuleDirRow {
                path: d.path.display().to_string(),
                rules: d.rules,
                issues: d.issues.clone(),
                origin: match d.origin {
                    "shipped" => "Built into Tandem",
                    "config" => "tandem.toml ([detect] sigma_dirs)",
                    _ => "Added here",
                },
                removable: d.origin == "console",
            })
            .collect()
    });
    let mut response = render(
        "settings.html",
        context! {
            ..context! {
                users => Serde(users), tokens => Serde(tokens), roles => roles,
                min_password => MIN_PASSWORD, sources => Serde(sources), formats => formats,
                rule_dirs => rule_dirs.map(Serde),
                can_configure => v.can(crate::access::Permission::ConfigureServer),
            },
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

// ---------------------------------------------------------------------------------------
// Sources and their keys

#[derive(Deserialize)]
pub struct NewSourceForm {
    name: String,
    format: String,
    #[serde(default)]
    vendor: String,
    #[serde(default)]
    product: String,
}

/// Shows a source key once on the settings page.
async fn show_key(v: &Visitor, state: &AppState, name: &str, key: String) -> Response {
    let secret = context! { what => format!("API key for source “{name}”"), value => key };
    settings(v, state, context! { secret => secret }).await
}

/// `POST /settings/sources`: registers a source; the answer shows its key once.
pub async fn create_source(
    v: Visitor,
    State(state): State<AppState>,
    Form(form): Form<NewSourceForm>,
) -> Response {
    let name = form.name.trim().to_owned();
    let new = crate::api::NewSource {
        name: name.clone(),
        format: form.format,
        vendor: Some(form.vendor),
        product: Some(form.product),
    };
    match crate::api::register_source(&state, &v.who, new).await {
        Ok(key) => show_key(&v, &state, &name, key).await,
        Err(e) => settings_error(&v, &state, e.message).await,
    }
}

/// `POST /settings/sources/{name}/key`: a new key for a source; the old one stops working.
pub async fn rotate_source_key(
    v: Visitor,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Response {
    match crate::api::issue_source_key(&state, &v.who, &name).await {
        Ok(key) => show_key(&v, &state, &name, key).await,
        Err(e) => settings_error(&v, &state, e.message).await,
    }
}

// ---------------------------------------------------------------------------------------
// Rule directories

#[derive(Deserialize)]
pub struct RuleDirForm {
    path: String,
}

/// What a directory change did, for the flash line.
fn loaded(summary: &serde_json::Value) -> String {
    let issues = summary["issues"].as_array().map_or(0, Vec::len);
    format!(
        "{} detection and {} correlation rules now loaded{}.",
        summary["detection_rules"],
        summary["correlation_rules"],
        match issues {
            0 => String::new(),
            1 => "; 1 file or rule could not be used (listed below)".to_owned(),
            n => format!("; {n} files or rules could not be used (listed below)"),
        }
    )
}

/// Adds or removes a console rule directory, audits it, and shows the settings page again.
async fn change_rule_dir(v: Visitor, state: AppState, path: String, add: bool) -> Response {
    let Some(control) = state.rules.clone() else {
        return settings_error(
            &v,
            &state,
            "Detection is turned off ([detect] enabled = false), so there are no rule directories."
                .into(),
        )
        .await;
    };
    let dir = std::path::PathBuf::from(path.trim());
    let target = dir.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        if add {
            control.add_directory(&target)
        } else {
            control.remove_directory(&target)
        }
    })
    .await;
    let summary = match outcome {
        Ok(Ok(summary)) => summary,
        Ok(Err(why)) => return settings_error(&v, &state, why).await,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    crate::audit::by(
        &state,
        &v.who,
        if add {
            "rules.directory.add"
        } else {
            "rules.directory.remove"
        },
        &format!("rules:{}", dir.display()),
        serde_json::json!({
            "detection_rules": summary["detection_rules"],
            "correlation_rules": summary["correlation_rules"],
        }),
    )
    .await;
    let flash = if add {
        format!(
            "Rule directory {} added: {} rules read from it. {}",
            dir.display(),
            summary["from_directory"],
            loaded(&summary)
        )
    } else {
        format!(
            "Rule directory {} removed. {}",
            dir.display(),
            loaded(&summary)
        )
    };
    settings(&v, &state, context! { flash => flash }).await
}

/// `POST /settings/rule-directories`: reads rules from another directory on the server.
pub async fn add_rule_dir(
    v: Visitor,
    State(state): State<AppState>,
    Form(form): Form<RuleDirForm>,
) -> Response {
    change_rule_dir(v, state, form.path, true).await
}

/// `POST /settings/rule-directories/remove`: stops reading a directory added here.
pub async fn remove_rule_dir(
    v: Visitor,
    State(state): State<AppState>,
    Form(form): Form<RuleDirForm>,
) -> Response {
    change_rule_dir(v, state, form.path, false).await
}

#[derive(Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
    /// The page the form was sent from (a console path; anything else goes home).
    #[serde(default)]
    next: String,
}

/// `POST /me/time-zone`: the signed-in user's own choice of zone for console times (`UTC`,
/// `site` or an IANA name such as `Europe/Oslo`), audited as `user.time_zone`.
pub async fn set_time_zone(
    v: Visitor,
    State(state): State<AppState>,
    Form(form): Form<TimeZoneForm>,
) -> Response {
    let chosen = form.time_zone.trim().to_owned();
    if chosen.len() > 64 || crate::clock::Zone::parse(&chosen).is_none() {
        return crate::view::refusal_page(
            StatusCode::BAD_REQUEST,
            "Unknown time zone: give an IANA name such as Europe/Oslo, `site` for each \
             site's own zone, or UTC.",
        );
    }
    let stored = match chosen.as_str() {
        "" | "UTC" | "utc" => None,
        z => Some(z.to_owned()),
    };
    let accounts = state.accounts.clone();
    let name = v.who.name.clone();
    let zone = stored.clone();
    match tokio::task::spawn_blocking(move || accounts.set_time_zone(&name, zone.as_deref())).await
    {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            return crate::view::refusal_page(
                StatusCode::BAD_REQUEST,
                "Only console accounts keep a time zone.",
            );
        }
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return ApiError::internal(e).into_response(),
    }
    crate::audit::by(
        &state,
        &v.who,
        "user.time_zone",
        &format!("user:{}", v.who.name),
        serde_json::json!({ "from": v.zone_name, "to": stored.as_deref().unwrap_or("UTC") }),
    )
    .await;
    Redirect::to(&crate::pages::login::local_path(&form.next)).into_response()
}
