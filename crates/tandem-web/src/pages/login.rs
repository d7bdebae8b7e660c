//! Signing in and out: the password form (with its login-CSRF token and the throttle),
//! single sign-on through the identity provider and the accounts it creates, sessions.

use crate::auth::{Principal, SESSION_COOKIE, cookie, verify_password, verify_unknown_user};
use crate::view::{refusal_page, render};
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use minijinja::context;
use serde::Deserialize;
use tandem_store::hash_key;

const SESSION_HOURS: i64 = 12;

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
