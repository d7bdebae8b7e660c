//! The layer in front of every protected route: authenticate, check the route's permission,
//! check the CSRF token of a console change, then hand the principal to the handler.
//!
//! Refusals take the shape the caller understands: a browser asking for a page is sent to
//! the sign-in page or shown a readable "not allowed" page, an API client gets JSON, a SCIM
//! client gets a SCIM error.

use crate::access::{Access, Permission};
use crate::auth::{Principal, SESSION_COOKIE, authenticate, cookie, csrf_matches};
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// Largest form body the CSRF check reads (console forms are small; uploads use the API).
const MAX_FORM_BYTES: usize = 1 << 20;

/// Runs `access` for one route; installed by [`crate::router`] on every route.
pub async fn guard(access: Access, state: AppState, request: Request, next: Next) -> Response {
    let needs: Option<Permission> = match access {
        Access::Public | Access::SourceKey | Access::Signed => return next.run(request).await,
        Access::SignedIn => None,
        Access::Needs(p) => Some(p),
    };
    let (mut parts, body) = request.into_parts();
    let who = match authenticate(&parts, &state).await {
        Ok(who) => who,
        Err(e) => return refuse(&parts, e),
    };
    if let Some(p) = needs
        && !who.can(p)
    {
        let refused = refuse(&parts, ApiError::forbidden());
        return with_menu(&state, &parts, &who, refused).await;
    }
    let body = if who.session && !is_safe(&parts.method) {
        match check_csrf(&parts, body).await {
            Ok(body) => body,
            Err(e) => return refuse(&parts, e),
        }
    } else {
        body
    };
    parts.extensions.insert::<Principal>(who.clone());
    // Kept to draw a handler's refusal again with the menu; a body is not needed for that.
    let (method, uri, headers) = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
    );
    let response = next.run(Request::from_parts(parts, body)).await;
    if response
        .extensions()
        .get::<crate::view::Refusal>()
        .is_none()
    {
        return response;
    }
    let mut request = Request::new(Body::empty());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let (parts, _) = request.into_parts();
    with_menu(&state, &parts, &who, response).await
}

/// A refusal page drawn again for a signed-in console visitor, with their menu and
/// sign-out; any other response (API errors, redirects, pages) as it is.
async fn with_menu(
    state: &AppState,
    parts: &axum::http::request::Parts,
    who: &Principal,
    response: Response,
) -> Response {
    let Some(refusal) = response.extensions().get::<crate::view::Refusal>().cloned() else {
        return response;
    };
    if !who.session {
        return response;
    }
    let mut r = crate::view::refusal_for(state, parts, who.clone(), &refusal).await;
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            r.headers_mut().insert(name.clone(), value.clone());
        }
    }
    r
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A change made with a session cookie must carry the session's CSRF token, in the
/// `X-CSRF-Token` header (scripts) or the `csrf` field of a form (pages).
async fn check_csrf(parts: &axum::http::request::Parts, body: Body) -> Result<Body, ApiError> {
    let refused = || {
        ApiError::forbidden_because(
            "the form is stale or came from another site; reload the page and try again",
        )
    };
    let Some(session) = cookie(parts, SESSION_COOKIE) else {
        return Err(refused());
    };
    if let Some(sent) = parts.headers.get("x-csrf-token") {
        return if csrf_matches(session, sent.as_bytes()) {
            Ok(body)
        } else {
            Err(refused())
        };
    }
    if !is_form(&parts.headers) {
        return Err(refused());
    }
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "form too large"))?;
    let sent = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned());
    if sent.is_some_and(|sent| csrf_matches(session, sent.as_bytes())) {
        Ok(Body::from(bytes))
    } else {
        Err(refused())
    }
}

fn refuse(parts: &axum::http::request::Parts, e: ApiError) -> Response {
    let path = parts.uri.path();
    if path.starts_with("/scim/") {
        return crate::scim::error_response(e.status, &e.message);
    }
    let page = !path.starts_with("/api/") && path != "/metrics";
    if !page {
        return e.into_response();
    }
    match e.status {
        StatusCode::UNAUTHORIZED if parts.method == Method::GET => {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let target = format!(
                "/login?next={}",
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            Redirect::to(&target).into_response()
        }
        StatusCode::UNAUTHORIZED => Redirect::to("/login").into_response(),
        _ => {
            let mut r = crate::view::refusal_page(e.status, &e.message);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
    }
}

/// Wraps [`guard`] for `axum::middleware::from_fn_with_state`.
pub fn layer(
    access: Access,
) -> impl Fn(
    State<AppState>,
    Request,
    Next,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |State(state): State<AppState>, request: Request, next: Next| {
        Box::pin(guard(access, state, request, next))
    }
}

/// Whether a request's body is an HTML form (`application/x-www-form-urlencoded`).
pub(crate) fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}
