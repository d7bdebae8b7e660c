//! Rendering an action's request: its templates filled from the incident and the target,
//! each value encoded for where it lands, and the connection's secrets added (to send) or
//! masked (to show).

use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;
use tandem_cases::Incident;
use tandem_cases::response::{ActionRequest, ActionTarget};

use super::{ActionDef, ActionError, Connection};
use crate::http::{HttpRequest, host_of};

/// What an action is about, as the directory knows it: filled by the caller, which reads
/// the directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TargetFacts {
    pub target: ActionTarget,
    /// The person (`id`, `name`, `email`, `department`, …) when the target is one of theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<serde_json::Value>,
    /// The device (`id`, `hostname`, …) when the target is a host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<serde_json::Value>,
}

/// A rendered request, ready to keep on a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub request: ActionRequest,
}

/// Where a template's values land, and so how each is written.
#[derive(Clone, Copy)]
enum Place {
    Path,
    Body,
    Header,
}

fn env(place: Place) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(move |out, _state, value| {
        let text = match place {
            Place::Body => serde_json::to_string(value).map_err(|e| {
                Error::new(
                    ErrorKind::BadSerialization,
                    format!("cannot write as JSON: {e}"),
                )
            })?,
            Place::Path => percent_encode(&plain(value)),
            Place::Header => {
                let s = plain(value);
                if s.chars().any(|c| c.is_control()) {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "a header value may not hold a line break or control character",
                    ));
                }
                s
            }
        };
        out.write_str(&text)
            .map_err(|e| Error::new(ErrorKind::WriteFailure, e.to_string()))
    });
    env
}

/// A value as text: strings without quotes, anything else as it prints.
fn plain(v: &Value) -> String {
    v.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string())
}

/// Every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`) as `%XX`: a value can never
/// add a path segment, a query or a fragment.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a template compiles.
pub(crate) fn check_template(source: &str) -> Result<(), String> {
    let env = env(Place::Body);
    env.template_from_str(source)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn fill(
    place: Place,
    what: &str,
    source: &str,
    ctx: &serde_json::Value,
) -> Result<String, ActionError> {
    env(place)
        .render_str(source, minijinja::value::Serde(ctx))
        .map_err(|e| ActionError::Template {
            what: what.to_owned(),
            reason: e.to_string(),
        })
}

/// The request `def` sends about `facts` from `incident`, for run `run_id`; `console_url`
/// is the incident's page.
pub fn render(
    def: &ActionDef,
    incident: &Incident,
    facts: &TargetFacts,
    run_id: &str,
    note: &str,
    console_url: &str,
) -> Result<Prepared, ActionError> {
    let ctx = serde_json::json!({
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "severity": incident.severity.name(),
            "status": incident.status.code(),
            "url": console_url,
        },
        "target": facts.target,
        "person": facts.person,
        "device": facts.device,
        "run": {"id": run_id},
        "action": {"id": def.id, "title": def.title},
        "note": note,
    });
    let path = fill(Place::Path, "path", &def.path, &ctx)?;
    let mut headers = Vec::new();
    for (name, value) in &def.headers {
        headers.push((
            name.clone(),
            fill(Place::Header, &format!("header {name}"), value, &ctx)?,
        ));
    }
    let body = match &def.body {
        Some(b) => Some(fill(Place::Body, "body", b, &ctx)?.trim().to_owned()),
        None => None,
    };
    Ok(Prepared {
        request: ActionRequest {
            connection: def.connection.clone(),
            method: def.method.clone(),
            path,
            headers,
            body,
            expect: def.expect.clone(),
        },
    })
}

/// The request to send: the connection's base URL and secret headers added.
pub fn to_send(request: &ActionRequest, connection: &Connection) -> HttpRequest {
    let mut headers: Vec<(String, String)> = connection
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    headers.extend(request.headers.iter().cloned());
    HttpRequest {
        method: request.method.clone(),
        url: join(&connection.base_url, &request.path),
        headers,
        body: request.body.clone(),
    }
}

/// The request as people may see it: the connection's header values masked, and its URL
/// cut to scheme and host when the URL is itself a secret.
pub fn shown(request: &ActionRequest, connection: Option<&Connection>) -> HttpRequest {
    let (base, mut headers) = match connection {
        Some(c) => (
            if c.secret_url {
                format!("{}/{}", host_of(&c.base_url), mask(""))
            } else {
                c.base_url.clone()
            },
            c.headers
                .iter()
                .map(|(k, v)| (k.clone(), mask(v)))
                .collect::<Vec<_>>(),
        ),
        None => (
            format!("<connection {} not configured>", request.connection),
            Vec::new(),
        ),
    };
    headers.extend(request.headers.iter().cloned());
    HttpRequest {
        method: request.method.clone(),
        url: join(&base, &request.path),
        headers,
        body: request.body.clone(),
    }
}

/// A secret as shown: nothing of it.
pub fn mask(_secret: &str) -> String {
    "••••••".to_owned()
}

fn join(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_owned();
    }
    match (base.ends_with('/'), path.starts_with('/')) {
        (true, true) => format!("{base}{}", &path[1..]),
        (false, false) if !path.starts_with('?') => format!("{base}/{path}"),
        _ => format!("{base}{path}"),
    }
}
