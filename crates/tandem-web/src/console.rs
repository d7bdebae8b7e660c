//! The console: server-rendered pages, no JavaScript needed. The full console (live monitor,
//! findings, person view, settings) builds on this layout.

use crate::access::Permission;
use crate::api::{SearchParams, search_request};
use crate::auth::{Principal, SESSION_COOKIE, cookie, verify_password, verify_unknown_user};
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use minijinja::{Environment, context};
use serde::Deserialize;
use std::sync::OnceLock;
use tandem_model::Event;
use tandem_store::SearchResult;
use tandem_store::hash_key;

const SESSION_HOURS: i64 = 12;

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("layout.html", include_str!("../templates/layout.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("search.html", include_str!("../templates/search.html")),
            ("sources.html", include_str!("../templates/sources.html")),
            ("refused.html", include_str!("../templates/refused.html")),
            ("audit.html", include_str!("../templates/audit.html")),
            ("findings.html", include_str!("../templates/findings.html")),
            ("finding.html", include_str!("../templates/finding.html")),
            ("event.html", include_str!("../templates/event.html")),
            ("people.html", include_str!("../templates/people.html")),
            ("person.html", include_str!("../templates/person.html")),
            ("places.html", include_str!("../templates/places.html")),
            (
                "floor_map.html",
                include_str!("../templates/floor_map.html"),
            ),
            ("site_map.html", include_str!("../templates/site_map.html")),
            ("place.html", include_str!("../templates/place.html")),
            ("live.html", include_str!("../templates/live.html")),
            ("rules.html", include_str!("../templates/rules.html")),
            (
                "rule_test.html",
                include_str!("../templates/rule_test.html"),
            ),
            ("settings.html", include_str!("../templates/settings.html")),
            (
                "signed_in.html",
                include_str!("../templates/signed_in.html"),
            ),
            (
                "sign_in_failed.html",
                include_str!("../templates/sign_in_failed.html"),
            ),
        ] {
            env.add_template(name, source).expect("templates are valid");
        }
        env.add_filter("when", crate::clock::when);
        env
    })
}

/// Renders a template registered in [`templates`].
pub(crate) fn render(name: &str, ctx: minijinja::Value) -> Response {
    match templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A console visitor: signed in (the access layer sent everyone else to the login page),
/// with the CSRF token their forms must carry.
pub struct Visitor {
    pub who: Principal,
    pub csrf: String,
    /// The zone they chose for times (UTC unless they chose one).
    pub zone: crate::clock::Zone,
    /// The choice as stored (`UTC`, `site` or an IANA name), for the form.
    pub zone_name: String,
}

impl axum::extract::FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let who = Principal::from_request_parts(parts, state)
            .await
            .map_err(|_| Redirect::to("/login").into_response())?;
        let csrf = cookie(parts, SESSION_COOKIE)
            .map(crate::auth::csrf_token)
            .unwrap_or_default();
        let (zone, zone_name) = zone_of(state, &who.name).await;
        Ok(Visitor {
            who,
            csrf,
            zone,
            zone_name,
        })
    }
}

/// The zone `user` chose for console times, and the choice as stored (`UTC`, `site` or an
/// IANA name); UTC for anyone who chose none or holds no console account (an API token).
pub(crate) async fn zone_of(state: &AppState, user: &str) -> (crate::clock::Zone, String) {
    let accounts = state.accounts.clone();
    let name = user.to_owned();
    let stored = tokio::task::spawn_blocking(move || accounts.time_zone(&name))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    // A zone the system no longer knows (tzdata changed) falls back to UTC.
    match stored.as_deref().and_then(crate::clock::Zone::parse) {
        Some(z) => (z, stored.unwrap_or_default()),
        None => (crate::clock::Zone::default(), "UTC".to_owned()),
    }
}

/// The main menu: page key, link, label, the permission that shows it.
const NAV: &[(&str, &str, &str, Permission)] = &[
    ("live", "/live", "Live", Permission::SearchEvents),
    ("search", "/search", "Search", Permission::SearchEvents),
    (
        "findings",
        "/findings",
        "Findings",
        Permission::ViewFindings,
    ),
    ("people", "/people", "People", Permission::ViewPeople),
    ("places", "/places", "Places", Permission::ViewPlaces),
    ("map", "/map", "Map", Permission::ViewPlaces),
    ("sources", "/sources", "Sources", Permission::ViewSources),
    ("rules", "/rules", "Rules", Permission::ViewRules),
    ("audit", "/audit", "Audit log", Permission::ViewAudit),
    ("settings", "/settings", "Settings", Permission::ManageUsers),
];

impl Visitor {
    /// What every page's layout needs: who is signed in, the menu they may see, the page
    /// they are on (`page`, one of the menu keys) and the CSRF token for forms. Pages add
    /// their own fields with `context! { rows => …, ..visitor.base("findings") }` (the spread
    /// comes last).
    pub fn base(&self, page: &str) -> minijinja::Value {
        let nav: Vec<minijinja::Value> = NAV
            .iter()
            .filter(|(_, _, _, p)| self.who.can(*p))
            .map(|&(key, href, label, _)| context! { key => key, href => href, label => label })
            .collect();
        context! {
            user => self.who.name.clone(),
            role => self.who.role.label(),
            page => page,
            nav => nav,
            csrf => self.csrf.clone(),
            time_zone => self.zone_name.clone(),
        }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.who.can(p)
    }
}

/// A readable refusal for a browser: what happened and where to go instead.
pub fn refusal_page(status: StatusCode, message: &str) -> Response {
    let mut r = render(
        "refused.html",
        context! { status => status.as_u16(), message => message },
    );
    *r.status_mut() = status;
    r
}

/// The start page is the first menu entry the visitor may open.
pub async fn home(v: Visitor) -> Redirect {
    let first = NAV.iter().find(|(_, _, _, p)| v.can(*p));
    Redirect::to(first.map_or("/login", |(_, href, _, _)| *href))
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../templates/tandem.css"),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LoginQuery {
    /// Where to go after signing in (a console path; anything else is ignored).
    #[serde(default)]
    next: String,
}

/// Longest `next` kept; a longer one is not a console page anyone bookmarked.
const MAX_NEXT_BYTES: usize = 2048;

/// Where sign-in may lead: only a path on this site, as a browser will read it, else `/`.
///
/// Browsers forgive a lot in a URL: they strip tabs and newlines anywhere, read `\` as `/`,
/// and take `//host` as another site, so `/<TAB>/evil.example` became `//evil.example` in
/// the browser after passing a check of the first two characters. The value is refused
/// outright when it holds any control character or whitespace, or a `\`; what is left is
/// resolved against a placeholder origin the way a browser resolves a `Location` (WHATWG
/// URL rules), and kept only if it is still on that origin. What is returned is that
/// resolved path and query, percent-encoded, so it is always a valid header value.
pub(crate) fn local_path(next: &str) -> String {
    const HOME: &str = "/";
    let plain = next.len() <= MAX_NEXT_BYTES
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if !plain {
        return HOME.to_owned();
    }
    let origin = url::Url::parse("http://tandem.invalid/").expect("a valid URL");
    let Ok(resolved) = origin.join(next) else {
        return HOME.to_owned();
    };
    let same_origin = resolved.origin() == origin.origin()
        && resolved.username().is_empty()
        && resolved.password().is_none();
    let path = &resolved[url::Position::BeforePath..url::Position::AfterQuery];
    if same_origin && path.starts_with('/') && !path.starts_with("//") {
        path.to_owned()
    } else {
        HOME.to_owned()
    }
}

/// The single sign-on button's label, when single sign-on is configured.
fn sso_label(state: &AppState) -> Option<String> {
    state.sso.as_ref().map(|s| s.button_label().to_owned())
}

/// The cookie that protects the sign-in form against login CSRF: a random value set with
/// the form, `SameSite=Strict`, which the form echoes as [`login_token`]. Another site can
/// make a browser post to `/login` but cannot read or set this cookie, so it cannot sign
/// the browser in to an account of its choosing.
const LOGIN_COOKIE: &str = "tandem_login";
/// How long a sign-in form stays usable; afterwards it is shown again with a fresh token.
const LOGIN_FORM_HOURS: u64 = 12;

/// The form field that must match the `tandem_login` cookie.
fn login_token(secret: &str) -> String {
    hash_key(&format!("login:{secret}"))
}

/// A value this console could have set as [`LOGIN_COOKIE`].
fn well_formed_secret(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The sign-in page: the form with its token, the cookie the token belongs to (the one the
/// browser already has, refreshed, or a new one), an error if any.
fn login_form(
    state: &AppState,
    browser_secret: Option<&str>,
    status: StatusCode,
    error: Option<String>,
    next: &str,
) -> Response {
    let secret = browser_secret
        .filter(|s| well_formed_secret(s))
        .map_or_else(|| crate::generate_secret(""), str::to_owned);
    let mut response = render(
        "login.html",
        context! {
            error => error, next => next, sso => sso_label(state),
            login_csrf => login_token(&secret),
        },
    );
    *response.status_mut() = status;
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={secret}; Path=/login; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        LOGIN_FORM_HOURS * 3600
    )) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    no_store(response)
}

pub async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
    parts: Parts,
) -> Response {
    login_form(
        &state,
        cookie(&parts, LOGIN_COOKIE),
        StatusCode::OK,
        None,
        &local_path(&q.next),
    )
}

/// Largest sign-in form read: a user name, a password, `next` and the token fit easily.
/// Anything bigger is refused before it is parsed, audited or counted by the throttle.
pub const MAX_LOGIN_FORM_BYTES: usize = 16 * 1024;
/// Longest user name a sign-in may name. Account names are at most 64 characters; the
/// margin is for names typed with spaces or in another script. A longer name is refused
/// with 400 and is neither audited nor remembered by the throttle.
pub const MAX_USERNAME_BYTES: usize = 256;
/// Longest password a sign-in may send.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// The fields of the sign-in form.
#[derive(Default)]
struct LoginForm {
    username: String,
    password: String,
    next: String,
    login_csrf: String,
}

impl LoginForm {
    fn parse(body: &[u8]) -> LoginForm {
        let mut form = LoginForm::default();
        for (k, v) in form_urlencoded::parse(body) {
            let slot = match k.as_ref() {
                "username" => &mut form.username,
                "password" => &mut form.password,
                "next" => &mut form.next,
                "login_csrf" => &mut form.login_csrf,
                _ => continue,
            };
            *slot = v.into_owned();
        }
        form
    }
}

/// `POST /login`. In order: the form's size (400, nothing recorded), its login-CSRF token
/// (403), the throttle (429), the password (401); each refusal shows the form again.
pub async fn login(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let browser_secret = cookie(&parts, LOGIN_COOKIE).map(str::to_owned);
    let form_page = |status: StatusCode, error: String, next: &str| {
        login_form(&state, browser_secret.as_deref(), status, Some(error), next)
    };
    if !crate::guard::is_form(&parts.headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "sign in with the form (application/x-www-form-urlencoded)",
        ));
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_LOGIN_FORM_BYTES).await else {
        return Ok(form_page(
            StatusCode::BAD_REQUEST,
            "The sign-in form was too large.".into(),
            "/",
        ));
    };
    let form = LoginForm::parse(&bytes);
    let next = local_path(&form.next);
    if form.username.len() > MAX_USERNAME_BYTES || form.password.len() > MAX_PASSWORD_BYTES {
        return Ok(form_page(
            StatusCode::BAD_REQUEST,
            format!(
                "The user name or password is too long (at most {MAX_USERNAME_BYTES} and {MAX_PASSWORD_BYTES} bytes)."
            ),
            &next,
        ));
    }
    let token_matches = browser_secret
        .as_deref()
        .is_some_and(|s| well_formed_secret(s) && login_token(s) == form.login_csrf);
    if !token_matches {
        return Ok(form_page(
            StatusCode::FORBIDDEN,
            "This sign-in form has expired or was sent from another site. Please sign in again."
                .into(),
            &next,
        ));
    }
    if let Some(wait) = state.throttle.locked_for(&form.username) {
        crate::audit::record(
            &state,
            &form.username,
            "login.throttled",
            "console",
            serde_json::json!({}),
        )
        .await;
        return Ok(form_page(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many wrong passwords for this user. Try again in {} minutes, or ask an administrator.",
                wait.as_secs().div_ceil(60)
            ),
            &next,
        ));
    }
    let accounts = state.accounts.clone();
    let username = form.username.clone();
    let password = form.password;
    let user = tokio::task::spawn_blocking(move || {
        let user = accounts.user(&username)?;
        // An unknown name costs the same argon2 work as a wrong password, so the answer's
        // time does not tell which names exist.
        Ok::<_, tandem_store::StoreError>(match user {
            Some(u) if verify_password(&password, &u.password_hash) => Some(u),
            Some(_) => None,
            None => {
                verify_unknown_user(&password);
                None
            }
        })
    })
    .await??;
    let Some(user) = user else {
        state.throttle.failed(&form.username);
        crate::audit::record(
            &state,
            &form.username,
            "login.failed",
            "console",
            serde_json::json!({}),
        )
        .await;
        return Ok(form_page(
            StatusCode::UNAUTHORIZED,
            "Wrong user name or password.".into(),
            &next,
        ));
    };
    state.throttle.succeeded(&user.name);
    let cookie = start_session(&state, &user.name).await?;
    crate::audit::record(
        &state,
        &user.name,
        "login",
        "console",
        serde_json::json!({ "role": user.role }),
    )
    .await;
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "tandem_login=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(response)
}

/// Opens a console session for `name`: stores its hash and returns the `Set-Cookie` value
/// that hands the secret to the browser.
async fn start_session(state: &AppState, name: &str) -> Result<HeaderValue, ApiError> {
    let session = crate::generate_secret("");
    let accounts = state.accounts.clone();
    let hashed = hash_key(&session);
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        accounts.create_session(&hashed, &name, Utc::now() + Duration::hours(SESSION_HOURS))
    })
    .await??;
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    );
    HeaderValue::from_str(&cookie).map_err(ApiError::internal)
}

/// The cookie that binds a single sign-on in progress to the browser that started it (see
/// [`crate::sso`]). `SameSite=Lax`: the provider's redirect back is a cross-site navigation,
/// on which a strict cookie would not be sent.
const SSO_COOKIE: &str = "tandem_sso";

fn sso_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SSO_COOKIE}={value}; Path=/login/sso; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("tandem_sso=; Path=/login/sso; Max-Age=0"))
}

/// `GET /login/sso?next=…`: sends the browser to the identity provider. When the provider
/// cannot be reached, the sign-in page says so and password sign-in stays available.
pub async fn sso_start(
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
    parts: Parts,
) -> Response {
    let next = local_path(&q.next);
    let Some(sso) = state.sso.clone() else {
        return refusal_page(
            StatusCode::NOT_FOUND,
            "Single sign-on is not configured on this Tandem.",
        );
    };
    let wanted = next.clone();
    match tokio::task::spawn_blocking(move || sso.start(&wanted)).await {
        Ok(Ok((url, sso_state))) => {
            let mut response = Redirect::to(&url).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                sso_cookie(&state, &sso_state, crate::sso::PENDING_FOR.as_secs()),
            );
            no_store(response)
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "single sign-on could not start");
            login_form(
                &state,
                cookie(&parts, LOGIN_COOKIE),
                StatusCode::SERVICE_UNAVAILABLE,
                Some(e.to_string()),
                &next,
            )
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A sign-in that did not complete: why, and the ways on (again, or with a password).
fn sign_in_failed(state: &AppState, status: StatusCode, message: &str, next: &str) -> Response {
    let mut response = render(
        "sign_in_failed.html",
        context! { message => message, next => next, sso => sso_label(state) },
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .append(header::SET_COOKIE, sso_cookie(state, "", 0));
    no_store(response)
}

/// `GET /login/sso/callback`: the provider's answer. Checks it ([`crate::sso::Sso::finish`]),
/// maps the groups to a role, creates or updates the account, opens a session. Every
/// refusal is a readable page and an audit entry.
pub async fn sso_callback(
    State(state): State<AppState>,
    Query(answer): Query<crate::sso::CallbackParams>,
    parts: Parts,
) -> Response {
    let Some(sso) = state.sso.clone() else {
        return refusal_page(
            StatusCode::NOT_FOUND,
            "Single sign-on is not configured on this Tandem.",
        );
    };
    let cookie_state = cookie(&parts, SSO_COOKIE).map(str::to_owned);
    let checker = sso.clone();
    let verified =
        match tokio::task::spawn_blocking(move || checker.finish(cookie_state.as_deref(), &answer))
            .await
        {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "single sign-on refused");
                crate::audit::record(
                &state,
                "(single sign-on)",
                "login.failed",
                "console",
                serde_json::json!({ "via": "oidc", "reason": e.reason(), "error": e.to_string() }),
            )
            .await;
                let status = match e {
                    crate::sso::SsoError::Unreachable { .. } => StatusCode::BAD_GATEWAY,
                    crate::sso::SsoError::UnknownState => StatusCode::BAD_REQUEST,
                    _ => StatusCode::UNAUTHORIZED,
                };
                return sign_in_failed(&state, status, &e.to_string(), "/");
            }
            Err(e) => return ApiError::internal(e).into_response(),
        };
    match sso_account(&state, &sso, &verified).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// Gives someone the provider vouched for their role and a session, or refuses them.
async fn sso_account(
    state: &AppState,
    sso: &crate::sso::Sso,
    who: &crate::sso::Verified,
) -> Result<Response, ApiError> {
    use tandem_store::{ExternalIdentity, ExternalSignIn};
    let detail = |extra: serde_json::Value| {
        let mut d = serde_json::json!({
            "via": "oidc",
            "groups": who.groups,
            "issuer": who.issuer,
            "subject": who.subject,
        });
        if let (Some(d), serde_json::Value::Object(extra)) = (d.as_object_mut(), extra) {
            d.extend(extra);
        }
        d
    };
    let Some(role) = sso.role_for(&who.groups) else {
        // Whoever the provider no longer gives a role loses their open sessions too.
        let accounts = state.accounts.clone();
        let (issuer, subject) = (who.issuer.clone(), who.subject.clone());
        let ended =
            tokio::task::spawn_blocking(move || accounts.end_external_sessions(&issuer, &subject))
                .await??;
        crate::audit::record(
            state,
            ended.as_deref().unwrap_or(&who.username),
            "login.refused",
            "console",
            detail(serde_json::json!({ "reason": "no_role" })),
        )
        .await;
        let groups = if who.groups.is_empty() {
            "no groups".to_owned()
        } else {
            format!("the groups {}", who.groups.join(", "))
        };
        return Ok(sign_in_failed(
            state,
            StatusCode::FORBIDDEN,
            &format!(
                "The identity provider signed you in as “{}”, in {groups}, but none of them gives a Tandem role. Ask the people who run Tandem to add you to a group that does.",
                who.username
            ),
            "/",
        ));
    };
    let identity = ExternalIdentity {
        issuer: who.issuer.clone(),
        subject: who.subject.clone(),
        name: who.username.clone(),
        role: role.to_string(),
    };
    let accounts = state.accounts.clone();
    let outcome =
        tokio::task::spawn_blocking(move || accounts.sign_in_external(&identity)).await??;
    let (name, extra) = match outcome {
        ExternalSignIn::Created { name } => (
            name,
            serde_json::json!({ "role": role.to_string(), "created": true }),
        ),
        ExternalSignIn::Updated {
            name,
            previous_role,
        } => {
            let mut extra = serde_json::json!({ "role": role.to_string() });
            if previous_role != role.to_string() {
                extra["previous_role"] = previous_role.into();
            }
            (name, extra)
        }
        ExternalSignIn::NameTaken => {
            crate::audit::record(
                state,
                &who.username,
                "login.refused",
                "console",
                detail(serde_json::json!({ "reason": "name_taken" })),
            )
            .await;
            return Ok(sign_in_failed(
                state,
                StatusCode::CONFLICT,
                &format!(
                    "Tandem already has an account named “{}” that does not belong to your identity provider account, so single sign-on cannot use that name. Ask a Tandem administrator.",
                    who.username
                ),
                "/",
            ));
        }
    };
    let session = start_session(state, &name).await?;
    crate::audit::record(state, &name, "login", "console", detail(extra)).await;
    tracing::info!(user = %name, role = %role, "signed in through the identity provider");
    // A page that moves on by itself rather than a redirect: the browser arrived here by a
    // redirect from the provider's site, and would not send the new SameSite=Strict session
    // cookie on a redirect that continues that chain; a navigation this page starts is
    // same-site, so the cookie goes with it.
    let next = local_path(&who.next);
    let mut response = render(
        "signed_in.html",
        context! { next => next, user => None::<String> },
    );
    response.headers_mut().insert(header::SET_COOKIE, session);
    response
        .headers_mut()
        .append(header::SET_COOKIE, sso_cookie(state, "", 0));
    Ok(no_store(response))
}

pub async fn logout(State(state): State<AppState>, who: Principal, parts: Parts) -> Response {
    if let Some(session) = cookie(&parts, SESSION_COOKIE) {
        let accounts = state.accounts.clone();
        let hashed = hash_key(session);
        let _ = tokio::task::spawn_blocking(move || accounts.delete_session(&hashed)).await;
    }
    crate::audit::by(&state, &who, "logout", "console", serde_json::json!({})).await;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("tandem_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

#[derive(Deserialize)]
pub struct ConsoleSearch {
    #[serde(default)]
    q: String,
    #[serde(default)]
    range: String,
}

const RANGES: &[(&str, &str)] = &[
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("all", "All time"),
];

pub async fn search_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(form): Query<ConsoleSearch>,
) -> Response {
    let range = if RANGES.iter().any(|r| r.0 == form.range) {
        form.range.clone()
    } else {
        "24h".into()
    };
    let from = (range != "all").then(|| format!("now-{range}"));
    let params = SearchParams {
        q: form.q.clone(),
        from,
        to: None,
        limit: Some(100),
        offset: None,
    };
    let base = context! {
        q => form.q, range => range, ranges => RANGES.to_vec(),
        fields => search_fields().0, fields_json => search_fields().1,
        ..v.base("search")
    };
    let request = match search_request(&params) {
        Ok(r) => r,
        Err(e) => {
            let caret = e
                .detail
                .as_ref()
                .and_then(|d| d.get("caret"))
                .and_then(|c| c.as_str())
                .unwrap_or("");
            return render(
                "search.html",
                context! { error => format!("{}\n{}", e.message, caret), ..base },
            );
        }
    };
    let slot = match state.searches.start(Some(&v.who.name)) {
        Ok(slot) => slot,
        Err(e) => return render("search.html", context! { error => e.message, ..base }),
    };
    let mut request = request;
    slot.limit(&mut request);
    let _cancel = slot.cancel_on_drop();
    let events = state.events.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let result = events.search(&request)?;
        // The histogram reuses the filter with a timechart sized to the window.
        let histogram = if matches!(result, SearchResult::Events(_)) {
            let now = Utc::now();
            let from = request.from.unwrap_or_else(|| now - Duration::days(30));
            let span = ((now - from).num_seconds() / 60).max(1);
            let mut chart = request.clone();
            chart.from = Some(from);
            chart.query.pipe = Some(tandem_query::Pipe::Timechart {
                span_seconds: span,
                by: None,
            });
            events.search(&chart).ok()
        } else {
            None
        };
        Ok::<_, tandem_store::StoreError>((result, histogram))
    })
    .await;
    match outcome {
        Ok(Ok((SearchResult::Events(page), histogram))) => {
            let dir = state.identity.snapshot();
            let rows: Vec<_> = page
                .events
                .iter()
                .map(|e| event_row(e, crate::clock::stamp(e.time, &v.zone.for_event(&dir, e))))
                .collect();
            render(
                "search.html",
                context! { total => page.total, events => rows, histogram => histogram.and_then(|h| histogram_bars(h, &v.zone.plain())), ..base },
            )
        }
        Ok(Ok((SearchResult::Aggregation(agg), _))) => {
            let rows: Vec<(Vec<String>, u64)> = agg
                .rows
                .iter()
                .map(|(k, n)| {
                    (
                        k.iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                            .collect(),
                        *n,
                    )
                })
                .collect();
            render(
                "search.html",
                context! { total => agg.total, aggregation => context! { by => agg.by, rows => rows }, ..base },
            )
        }
        Ok(Err(e)) => render("search.html", context! { error => e.to_string(), ..base }),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

fn event_row(e: &Event, time: serde_json::Value) -> minijinja::Value {
    let who = event_who(e);
    let where_ = event_where(e);
    let mut shown = e.clone();
    let raw = shown.raw.take();
    context! {
        time => crate::pages::investigate::page_value(&time),
        class => e.class.name(),
        activity => e.activity.name(),
        outcome => e.outcome.name(),
        who => who,
        where => where_,
        message => if e.message.is_empty() { format!("{} {}", e.class, e.activity) } else { e.message.clone() },
        json => serde_json::to_string_pretty(&shown).unwrap_or_default(),
        raw => raw,
    }
}

/// Who an event is about, in the words a reader knows: the resolved person's name, else the
/// account, else the badge.
pub(crate) fn event_who(e: &Event) -> String {
    e.actor
        .person
        .as_ref()
        .and_then(|p| p.name.clone())
        .or_else(|| e.actor.user.clone())
        .or_else(|| e.actor.badge.as_ref().map(|b| format!("badge {b}")))
        .unwrap_or_default()
}

/// Where an event happened: the door, camera or zone, else the host or source address.
pub(crate) fn event_where(e: &Event) -> String {
    let place = e.place.as_ref();
    place
        .and_then(|p| p.most_specific().next().map(str::to_owned))
        .or_else(|| e.device.as_ref().and_then(|d| d.hostname.clone()))
        .or_else(|| e.src.as_ref().and_then(|s| s.ip).map(|ip| ip.to_string()))
        .unwrap_or_default()
}

/// The search page's histogram: bars with their local start time on hover, and a caption
/// naming the window in the reader's zone. The intervals are the store's (a sixtieth of the
/// window, counted from the epoch), so only their labels are local.
fn histogram_bars(result: SearchResult, tz: &jiff::tz::TimeZone) -> Option<minijinja::Value> {
    let SearchResult::Aggregation(agg) = result else {
        return None;
    };
    let buckets = agg.buckets?;
    if buckets.is_empty() {
        return None;
    }
    let counts: Vec<u64> = buckets
        .iter()
        .map(|b| b.counts.iter().map(|c| c.1).sum())
        .collect();
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let width = 600.0;
    let w = width / counts.len() as f64;
    let bars: Vec<_> = buckets
        .iter()
        .zip(&counts)
        .map(|(b, &n)| {
            let h = (n as f64 / max as f64) * 76.0;
            context! {
                x => format!("{:.2}", w * buckets.iter().position(|x| x.start == b.start).unwrap_or(0) as f64),
                y => format!("{:.2}", 80.0 - h), w => format!("{:.2}", (w - 0.5).max(0.5)), h => format!("{:.2}", h),
                label => crate::clock::local(b.start, tz, "%Y-%m-%d %H:%M %Z"), count => n,
            }
        })
        .collect();
    let caption = format!(
        "{} to {} ({}), busiest interval {} events",
        crate::clock::local(buckets[0].start, tz, "%Y-%m-%d %H:%M %Z"),
        crate::clock::local(buckets[buckets.len() - 1].start, tz, "%Y-%m-%d %H:%M %Z"),
        crate::clock::zone_label(tz),
        max
    );
    Some(context! { width => width, bars => bars, caption => caption })
}

/// Hours the sources page's volume sparkline covers.
const SPARK_HOURS: usize = 24;

#[derive(Deserialize, Default)]
pub struct SourcesParams {
    /// Show this source's dead letters (all sources' when empty).
    #[serde(default)]
    source: String,
}

/// Events per hour per source over the last [`SPARK_HOURS`], oldest first.
fn hourly_volume(
    events: &dyn tandem_store::EventStore,
    now: chrono::DateTime<Utc>,
) -> std::collections::HashMap<String, Vec<u64>> {
    let from = now - Duration::hours(SPARK_HOURS as i64);
    let mut out: std::collections::HashMap<String, Vec<u64>> = Default::default();
    let Ok(everything) = tandem_query::parse("*") else {
        return out;
    };
    let mut request = tandem_store::SearchRequest::new(everything);
    request.from = Some(from);
    request.query.pipe = Some(tandem_query::Pipe::Timechart {
        span_seconds: 3600,
        by: Some("source".into()),
    });
    let Ok(SearchResult::Aggregation(agg)) = events.search(&request) else {
        return out;
    };
    for bucket in agg.buckets.unwrap_or_default() {
        let slot = ((bucket.start - from).num_seconds().max(0) / 3600) as usize;
        for (series, n) in bucket.counts {
            let Some(name) = series.as_str() else {
                continue;
            };
            let line = out
                .entry(name.to_owned())
                .or_insert_with(|| vec![0; SPARK_HOURS + 1]);
            if let Some(v) = line.get_mut(slot) {
                *v += n;
            }
        }
    }
    out
}

/// An SVG polyline for a sparkline 120 wide and 24 high.
fn sparkline(counts: &[u64]) -> minijinja::Value {
    let max = counts.iter().copied().max().unwrap_or(0);
    let step = 120.0 / (counts.len().max(2) - 1) as f64;
    let points: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let y = 22.0 - (n as f64 / max.max(1) as f64) * 20.0;
            format!("{:.1},{:.1}", i as f64 * step, y)
        })
        .collect();
    context! { points => points.join(" "), max => max, total => counts.iter().sum::<u64>() }
}

/// The warning for a source most of whose physical events have no place the directory
/// knows (door ids nobody mapped, a vendor that sends no place at all): such a source feeds
/// the physical detections nothing they can use. `None` when the source is fine.
fn mostly_unplaced(g: &tandem_identity::Gaps) -> Option<String> {
    let place = g.resolution.get("place")?;
    (g.physical_events > 0 && place.events > 0 && place.unresolved * 2 > place.events).then(|| {
        format!(
            "{} of {} events ({:.0} %) have no place in the directory",
            place.unresolved,
            place.events,
            place.unresolved_share * 100.0
        )
    })
}

/// `GET /sources`: each source's health, its volume over the last day, and the latest dead
/// letters with the reason and the line as received.
pub async fn sources_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<SourcesParams>,
) -> Response {
    let events = state.events.clone();
    let only = (!params.source.is_empty()).then(|| params.source.clone());
    let result = tokio::task::spawn_blocking(move || {
        let letters = events.dead_letters(&tandem_store::DeadLetterQuery {
            source: only,
            since: None,
            limit: 50,
        })?;
        let volume = hourly_volume(events.as_ref(), Utc::now());
        Ok::<_, tandem_store::StoreError>((
            events.sources()?,
            events.source_stats()?,
            letters,
            volume,
        ))
    })
    .await;
    match result {
        Ok(Ok((registered, stats, letters, volume))) => {
            let gaps = state.identity.gaps();
            let zone = v.zone.plain();
            let when = |t: chrono::DateTime<Utc>| {
                crate::pages::investigate::page_value(&crate::clock::stamp(t, &zone))
            };
            let rows: Vec<_> = stats
                .iter()
                .map(|s| {
                    let format = registered
                        .iter()
                        .find(|r| r.name == s.name)
                        .map(|r| r.format.clone());
                    let line = volume
                        .get(&s.name)
                        .cloned()
                        .unwrap_or_else(|| vec![0; SPARK_HOURS + 1]);
                    context! {
                        name => s.name.clone(), query_name => path_segment(&s.name),
                        format => format.unwrap_or_else(|| "—".into()),
                        last_event_time => s.last_event_time.map(when),
                        last_received => s.last_received.map(when),
                        events_per_minute => format!("{:.1}", s.events_per_minute),
                        events_total => s.events_total, dead_letters_total => s.dead_letters_total,
                        spark => sparkline(&line),
                        unplaced => gaps.get(&s.name).and_then(mostly_unplaced),
                    }
                })
                .collect();
            let gap_rows: Vec<_> = gaps
                .iter()
                .map(|(name, g)| {
                    let kind = |k: &str| {
                        let kg = g.resolution.get(k).cloned().unwrap_or_default();
                        let top: Vec<String> = kg
                            .top_unknown
                            .iter()
                            .take(3)
                            .map(|u| {
                                if u.value.is_empty() {
                                    format!("{} ({})", u.identifier, u.events)
                                } else {
                                    format!("{} {} ({})", u.identifier, u.value, u.events)
                                }
                            })
                            .collect();
                        context! {
                            events => kg.events, unresolved => kg.unresolved,
                            share => format!("{:.0} %", kg.unresolved_share * 100.0),
                            top => top,
                        }
                    };
                    context! {
                        name => name.clone(), events => g.events, physical_events => g.physical_events,
                        non_person => g.non_person,
                        person => kind("person"), place => kind("place"), device => kind("device"),
                        service_account => kind("service_account"),
                    }
                })
                .collect();
            let letters: Vec<_> = letters
                .iter()
                .map(|d| {
                    context! {
                        source => d.source.clone(), time => when(d.time),
                        reason => d.reason.clone(), raw => d.raw.chars().take(2000).collect::<String>(),
                    }
                })
                .collect();
            render(
                "sources.html",
                context! {
                    sources => rows, letters => letters, source => params.source, gaps => gap_rows,
                    can_manage => v.can(Permission::ManageSources), ..v.base("sources")
                },
            )
        }
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// A path segment with everything but unreserved characters percent-encoded (rule ids may
/// be titles with spaces).
pub fn path_segment(s: &str) -> String {
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

/// A vendored script, cached for an hour (sites on slow links fetch it once a visit).
pub fn script(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// `GET /static/search.js`: field and value suggestions for the search box.
pub async fn search_script() -> Response {
    script(include_str!("../static/search.js"))
}

/// The fields the search box suggests, and the same as JSON for the script (with `<`
/// escaped, so the text cannot close the `<script>` element it sits in).
fn search_fields() -> (Vec<minijinja::Value>, String) {
    let listed = tandem_store::SEARCH_FIELDS
        .iter()
        .map(|&(name, about)| context! { name => name, about => about })
        .collect();
    let json: Vec<serde_json::Value> = tandem_store::SEARCH_FIELDS
        .iter()
        .map(|(name, about)| serde_json::json!({ "name": name, "about": about }))
        .collect();
    let json = serde_json::Value::from(json)
        .to_string()
        .replace('<', "\\u003c");
    (listed, json)
}

#[derive(Deserialize)]
pub struct ValuesParams {
    field: String,
    #[serde(default)]
    prefix: String,
}

/// `GET /api/v1/search/values?field=door&prefix=ser`: the commonest values of a field in the
/// last 24 hours that start with `prefix`, for the search box's suggestions.
pub async fn search_values(
    State(state): State<AppState>,
    Query(params): Query<ValuesParams>,
) -> Result<Response, ApiError> {
    let plain = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
    };
    if params.field.is_empty() || params.field.len() > 64 || !plain(&params.field) {
        return Err(ApiError::bad_request(
            "`field` is a field name such as `door`",
        ));
    }
    let prefix = if plain(&params.prefix) && params.prefix.len() <= 64 {
        params.prefix.clone()
    } else {
        String::new()
    };
    let q = format!("{f}:{prefix}* | count by {f}", f = params.field);
    let mut request = crate::api::search_request(&crate::api::SearchParams {
        q,
        from: Some("now-24h".into()),
        to: None,
        limit: Some(10),
        offset: None,
    })?;
    request.limit = 10;
    let result = state.run_search(None, request).await?;
    let values: Vec<serde_json::Value> = match result {
        SearchResult::Aggregation(agg) => agg
            .rows
            .into_iter()
            .filter_map(|(k, n)| {
                let v = k.into_iter().next()?;
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                (!text.is_empty() && v != serde_json::Value::Null)
                    .then(|| serde_json::json!({ "value": text, "count": n }))
            })
            .take(10)
            .collect(),
        SearchResult::Events(_) => Vec::new(),
    };
    Ok(axum::Json(serde_json::json!({ "field": params.field, "values": values })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_leads_only_to_a_path_on_this_site() {
        let kept = [
            ("/", "/"),
            ("/sources?x=1", "/sources?x=1"),
            (
                "/search?q=user%3Aalice&range=24h",
                "/search?q=user%3Aalice&range=24h",
            ),
            ("/people/u-1#history", "/people/u-1"),
            ("/a/../sources", "/sources"),
            ("/search?q=é", "/search?q=%C3%A9"),
        ];
        for (next, want) in kept {
            assert_eq!(local_path(next), want, "{next:?}");
        }
        let refused = [
            "",
            "sources",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            " /x",
            "/x y",
            "/\u{0}",
            "/\u{7f}",
            "/\u{85}/evil.example",
            "/\u{a0}/evil.example",
            "/\u{2028}",
            "/%09/evil.example/../..//evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/.//evil.example",
            "/a/..//evil.example",
            "/./\\evil.example",
            "/x\\y",
            "/..//evil.example",
        ];
        for next in refused {
            assert_eq!(local_path(next), "/", "{next:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(MAX_NEXT_BYTES))), "/");
    }

    #[test]
    fn the_sign_in_form_reads_its_fields() {
        let f =
            LoginForm::parse(b"username=al%20ice&password=p%26w&next=%2Fx&login_csrf=t&other=1");
        assert_eq!(
            (
                f.username.as_str(),
                f.password.as_str(),
                f.next.as_str(),
                f.login_csrf.as_str()
            ),
            ("al ice", "p&w", "/x", "t")
        );
    }
}
