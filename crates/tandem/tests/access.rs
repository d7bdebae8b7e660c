//! Who may do what, over real HTTP: every route as every role and as no one; CSRF on console
//! changes; sign-in throttling; the audit log recording it all and verifying from the CLI.

mod support;

use std::collections::BTreeMap;
use support::{csrf_for, no_redirects, post_login, sign_in, start_with_accounts};
use tandem_web::{Access, Role};

/// A path with its `{parameters}` filled in with values that exist nowhere.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{id}" => "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "{action}" => "enable",
            "{source}" => "nosuch",
            s if s.starts_with('{') => "nosuch",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn call(
    method: &axum::http::Method,
    url: &str,
    token: Option<&str>,
) -> (u16, Option<String>, String) {
    let agent = no_redirects();
    let auth = token.map(|t| format!("Bearer {t}"));
    let resp = match method.as_str() {
        "GET" => {
            let mut r = agent.get(url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        "DELETE" => {
            let mut r = agent.delete(url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        m => {
            let mut r = match m {
                "POST" => agent.post(url),
                "PUT" => agent.put(url),
                "PATCH" => agent.patch(url),
                other => panic!("no test for method {other}"),
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.header("Content-Type", "application/json").send("{}")
        }
    };
    let mut resp = resp.expect("request sent");
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // A stream (the live monitor) never ends: its status is the answer.
    let streaming = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let body = if streaming {
        String::new()
    } else {
        resp.body_mut().read_to_string().unwrap_or_default()
    };
    (resp.status().as_u16(), location, body)
}

#[test]
fn every_route_as_every_role_and_as_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let roles: Vec<String> = Role::all().iter().map(|r| r.to_string()).collect();
    let (server, seeded) = start_with_accounts(&data, &roles, &[]);

    // Open to everyone on purpose, and nothing else: the health check, the report page for
    // employees and a report's tracking page (opened by its unguessable token), the
    // stylesheet and scripts, password sign-in, and the start and callback of single sign-on (which check
    // the identity provider's answer themselves). None of them asks for a credential.
    let public: std::collections::BTreeSet<String> = tandem_web::routes()
        .iter()
        .filter(|s| s.access == Access::Public)
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    let expected = [
        "GET /healthz",
        "GET /login",
        "GET /login/sso",
        "GET /login/sso/callback",
        "GET /static/alarm.wav",
        "GET /static/alarms.js",
        "GET /static/alerts.js",
        "GET /static/briefing.css",
        "GET /static/evidence.js",
        "GET /static/live.js",
        "GET /static/search.js",
        "GET /static/map.js",
        "GET /static/tandem.css",
        "POST /login",
        "GET /report",
        "POST /report",
        "GET /report/track/{token}",
        "POST /report/track/{token}",
        "POST /report/track/{token}/suspend",
    ];
    assert_eq!(public, expected.map(String::from).into());
    for route in public.iter().filter(|r| r.starts_with("GET ")) {
        let url = format!("{}{}", server.url, &route[4..]);
        let (status, location, _) = call(&axum::http::Method::GET, &url, None);
        assert!(
            status != 401 && status != 403 && location.is_none_or(|l| !l.starts_with("/login")),
            "{route} as no one: {status}"
        );
    }

    // The incident page's response-action forms are walked below like every route; they
    // need the permission the API's proposals and decisions need.
    for path in [
        "/incidents/{id}/actions/preview",
        "/incidents/{id}/actions",
        "/incidents/{id}/actions/{run}/approve",
        "/incidents/{id}/actions/{run}/refuse",
    ] {
        let spec = tandem_web::routes()
            .into_iter()
            .find(|s| s.path == path && s.method == axum::http::Method::POST)
            .unwrap_or_else(|| panic!("no route POST {path}"));
        assert_eq!(
            spec.access,
            Access::Needs(tandem_web::Permission::ProposeActions),
            "{path}"
        );
    }

    let mut checked = 0;
    let mut failures = Vec::new();
    for spec in tandem_web::routes() {
        let needs = match spec.access {
            Access::Needs(p) => Some(p),
            Access::SignedIn => None,
            // Checked by their handlers with their own credential; covered in ingest and
            // integration tests.
            Access::Public | Access::SourceKey | Access::Signed => continue,
        };
        let url = format!("{}{}", server.url, concrete(spec.path));
        let what = format!("{} {}", spec.method, spec.path);

        // No one: an API answers 401, a page sends the browser to sign in.
        let (status, location, _) = call(&spec.method, &url, None);
        let page = !spec.path.starts_with("/api/")
            && !spec.path.starts_with("/scim/")
            && spec.path != "/metrics";
        let ok = if page {
            status == 303 && location.as_deref().is_some_and(|l| l.starts_with("/login"))
        } else {
            status == 401
        };
        if !ok {
            failures.push(format!("{what} as no one: {status} {location:?}"));
        }

        for s in &seeded {
            let role = Role::parse(&s.role).unwrap();
            let allowed = needs.is_none_or(|p| role.permits(p));
            let (status, _, body) = call(&spec.method, &url, Some(&s.token));
            let refused = status == 401 || status == 403;
            if allowed == refused {
                failures.push(format!(
                    "{what} as {}: {status} (expected {}) {}",
                    s.role,
                    if allowed { "allowed" } else { "403" },
                    body.chars().take(120).collect::<String>()
                ));
            }
            if !allowed && status != 403 {
                failures.push(format!("{what} as {}: {status}, not 403", s.role));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 300, "only {checked} checks");
}

#[test]
fn console_changes_need_the_session_csrf_token_and_everything_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (server, seeded) = start_with_accounts(&data, &["responder:hr".into()], &["responder:hr"]);
    let admin_password = server.admin_password.clone().expect("first admin password");

    // A page asked for before signing in is where sign-in leads back to.
    let (status, location, _) = call(
        &axum::http::Method::GET,
        &format!("{}/sources?x=1", server.url),
        None,
    );
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/login?next=%2Fsources%3Fx%3D1"));
    let resp = post_login(
        &server.url,
        &[
            ("username", "admin"),
            ("password", admin_password.as_str()),
            ("next", "/sources?x=1"),
        ],
    );
    assert_eq!(resp.headers()["location"], "/sources?x=1");
    // … but never to another site.
    let resp = post_login(
        &server.url,
        &[
            ("username", "admin"),
            ("password", admin_password.as_str()),
            ("next", "//evil.example/"),
        ],
    );
    assert_eq!(resp.headers()["location"], "/");

    let session = sign_in(&server.url, "admin", &admin_password).expect("admin signs in");
    let cookie = format!("tandem_session={session}");
    let reload = |csrf: Option<&str>| {
        let mut r = no_redirects()
            .post(format!("{}/api/v1/rules/reload", server.url))
            .header("Cookie", &cookie);
        if let Some(c) = csrf {
            r = r.header("X-CSRF-Token", c);
        }
        let mut resp = r.send("").unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let (status, body) = reload(None);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("another site"), "{body}");
    let (status, _) = reload(Some("not-the-token"));
    assert_eq!(status, 403);
    let (status, body) = reload(Some(&csrf_for(&session)));
    assert_eq!(status, 200, "{body}");
    // Pages come gzipped to a browser that accepts it, each with the token masked afresh
    // (so compression cannot leak it); every masked form is accepted, a tampered one is not.
    let head = raw_head(&server.url, "/search?q=anything", &cookie);
    assert!(head.contains("\r\ncontent-encoding: gzip\r\n"), "{head}");
    let page_token = || {
        // The client decompresses (and drops the header, as the RFC says it should).
        let mut resp = no_redirects()
            .get(format!("{}/search?q=anything", server.url))
            .header("Cookie", &cookie)
            .header("Accept-Encoding", "gzip")
            .call()
            .unwrap();
        let body = resp.body_mut().read_to_string().unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = body.find(marker).expect("a csrf field") + marker.len();
        body[start..start + body[start..].find('"').unwrap()].to_owned()
    };
    let (first, second) = (page_token(), page_token());
    assert_ne!(first, second);
    assert_ne!(first, csrf_for(&session));
    for token in [&first, &second] {
        let (status, body) = reload(Some(token));
        assert_eq!(status, 200, "{body}");
    }
    let mut tampered = first.clone().into_bytes();
    tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
    let (status, _) = reload(Some(std::str::from_utf8(&tampered).unwrap()));
    assert_eq!(status, 403);
    // A form post carries the token as a field; signing out is a change too.
    let resp = no_redirects()
        .post(format!("{}/logout", server.url))
        .header("Cookie", &cookie)
        .send_form([("csrf", "wrong")])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let resp = no_redirects()
        .post(format!("{}/logout", server.url))
        .header("Cookie", &cookie)
        .send_form([("csrf", csrf_for(&session).as_str())])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);

    // A department responder signs in and is refused a page their role does not include,
    // with a page a person can read.
    let hr = &seeded[0];
    let hr_session =
        sign_in(&server.url, &hr.user, hr.password.as_deref().unwrap()).expect("hr signs in");
    let mut resp = no_redirects()
        .get(format!("{}/sources", server.url))
        .header("Cookie", format!("tandem_session={hr_session}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let page = resp.body_mut().read_to_string().unwrap();
    assert!(page.contains("Not allowed"), "{page}");

    // Wrong passwords: after five, even the right one is refused for a while.
    for _ in 0..5 {
        assert_eq!(sign_in(&server.url, "admin", "guess"), Err(401));
    }
    assert_eq!(sign_in(&server.url, "admin", &admin_password), Err(429));
    assert!(sign_in(&server.url, &hr.user, hr.password.as_deref().unwrap()).is_ok());

    // The audit log has it all, in order, and the chain verifies on the client.
    let (status, log) = server.get("/api/v1/audit", &[]);
    assert_eq!(status, 200, "{log}");
    let actions: Vec<(String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let count = |who: &str, what: &str| {
        actions
            .iter()
            .filter(|(a, b)| a == who && b == what)
            .count()
    };
    assert_eq!(count("admin", "login"), 3, "{actions:?}");
    // Once with the plain token, twice with masked ones; refused attempts change nothing.
    assert_eq!(count("admin", "rules.reload"), 3, "{actions:?}");
    assert_eq!(count("admin", "logout"), 1, "{actions:?}");
    assert_eq!(count("admin", "login.failed"), 5, "{actions:?}");
    assert_eq!(count("admin", "login.throttled"), 1, "{actions:?}");
    assert_eq!(count(&hr.user, "login"), 2, "{actions:?}");
    let by_action: BTreeMap<&str, usize> = actions.iter().fold(BTreeMap::new(), |mut m, (_, a)| {
        *m.entry(a.as_str()).or_default() += 1;
        m
    });
    assert!(by_action.contains_key("login"), "{by_action:?}");

    let out = support::tandem()
        .args([
            "audit",
            "verify",
            "--url",
            &server.url,
            "--token",
            &server.token,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("audit log intact"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The status line and headers of a GET sent as a browser accepting gzip would, read off the
/// socket as they arrive (a client library decompresses and drops `Content-Encoding`).
fn raw_head(base: &str, path: &str, cookie: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    text[..text.find("\r\n\r\n").unwrap_or(text.len()) + 2].to_ascii_lowercase()
}
