//! Hostile input: sign-in, the console's pages and the URLs Tandem hands out.

use crate::support::{TestServer, login_form, no_redirects, post_login};
use serde_json::Value;
use std::io::{Read, Write};

/// One sign-in attempt with the form's cookie and token, as a browser sends it.
fn sign_in_status(server: &TestServer, user: &str, password: &str) -> u16 {
    post_login(&server.url, &[("username", user), ("password", password)])
        .status()
        .as_u16()
}

/// Every audit entry, oldest first.
fn audit(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/audit", &[("limit", "10000")]);
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().cloned().unwrap_or_default()
}

fn admin_password(server: &TestServer) -> String {
    server
        .admin_password
        .clone()
        .expect("the first start printed the admin password")
}

/// Failed sign-ins with a 1.9 MB user name were stored verbatim: five made the audit page
/// 9.5 MB, and the log only grows. Oversize forms are now refused before anything is
/// recorded or counted, and whatever reaches the log is bounded.
#[test]
fn oversize_sign_in_forms_are_refused_before_they_are_audited_or_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let before = audit(&server).len();

    let (cookie, token) = login_form(&server.url);
    for size in [20_000, 1_900_000] {
        let huge = "A".repeat(size);
        let sent = no_redirects()
            .post(format!("{}/login", server.url))
            .header("Cookie", &cookie)
            .send_form([
                ("username", huge.as_str()),
                ("password", "x"),
                ("login_csrf", &token),
            ]);
        // The answer comes once the first 16 KiB are read; a client still writing a 1.9 MB
        // form may see the connection close instead.
        match sent {
            Ok(resp) => assert_eq!(resp.status().as_u16(), 400, "{size} bytes"),
            Err(e) => assert!(size > 1_000_000, "{size} bytes: {e}"),
        }
    }

    let long_name = "b".repeat(300);
    let long_password = "p".repeat(5000);
    for _ in 0..6 {
        assert_eq!(sign_in_status(&server, &long_name, "x"), 400);
        // A password too long to check does not count against the account either.
        assert_eq!(sign_in_status(&server, "admin", &long_password), 400);
    }
    let mut resp = post_login(&server.url, &[("username", &long_name), ("password", "x")]);
    let page = resp.body_mut().read_to_string().unwrap();
    assert!(page.contains("too long"), "{page}");
    assert!(
        audit(&server)[before..]
            .iter()
            .all(|e| !e["action"].as_str().unwrap_or("").starts_with("login")),
        "refused forms are not audited"
    );
    assert!(
        server.sign_in("admin", &admin_password(&server)).is_some(),
        "oversize forms do not lock the account"
    );

    // The longest accepted name is recorded whole; the audit page stays small.
    let longest = "c".repeat(256);
    for _ in 0..5 {
        assert_eq!(sign_in_status(&server, &longest, "wrong"), 401);
    }
    let failed: Vec<Value> = audit(&server)
        .into_iter()
        .filter(|e| e["action"] == "login.failed")
        .collect();
    assert_eq!(failed.len(), 5, "{failed:?}");
    let console = server.admin_console();
    let page = console.get("/audit");
    assert_eq!(page.status, 200);
    assert!(page.body.len() < 200_000, "{} bytes", page.body.len());
}

/// `next=/<TAB>/evil.example` passed the same-site check and browsers strip the tab; a
/// control character gave a 500 after a valid sign-in.
#[test]
fn sign_in_never_leads_to_another_site() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let password = admin_password(&server);
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/\\evil.example",
        "/.//evil.example",
        "//evil.example",
        "/\u{0}",
        "/\u{1b}]8;;http://evil.example\u{7}",
        " https://evil.example",
        "https://evil.example",
    ] {
        let resp = post_login(
            &server.url,
            &[
                ("username", "admin"),
                ("password", &password),
                ("next", next),
            ],
        );
        assert_eq!(resp.status().as_u16(), 303, "next={next:?}");
        assert_eq!(resp.headers()["location"], "/", "next={next:?}");
    }
    // A page on this site still is where sign-in leads.
    let resp = post_login(
        &server.url,
        &[
            ("username", "admin"),
            ("password", &password),
            ("next", "/search?q=user:alice"),
        ],
    );
    assert_eq!(resp.headers()["location"], "/search?q=user:alice");
    // The sign-in page does not carry a poisoned `next` into its form either.
    let page = no_redirects()
        .get(format!("{}/login", server.url))
        .query("next", "/\t/evil.example")
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(!page.contains("evil.example"), "{page}");
}

/// `/login` had no CSRF token: a form on another site could sign a browser in to the
/// attacker's account, and what the victim did next was recorded there.
#[test]
fn a_cross_site_form_cannot_sign_a_browser_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let password = admin_password(&server);
    let fields = [("username", "admin"), ("password", password.as_str())];
    let session_set = |resp: &ureq::http::Response<ureq::Body>| {
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap_or("").starts_with("tandem_session="))
    };

    // What a cross-site form sends: the fields, no cookie of ours, no token.
    let mut resp = no_redirects()
        .post(format!("{}/login", server.url))
        .send_form(fields)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert!(!session_set(&resp));
    let page = resp.body_mut().read_to_string().unwrap();
    assert!(page.contains("sent from another site"), "{page}");
    assert!(
        page.contains("name=\"login_csrf\""),
        "the page offers a fresh form"
    );

    // A token without its cookie, and a cookie with another form's token: refused too.
    let (cookie, token) = login_form(&server.url);
    let (_, other_token) = login_form(&server.url);
    let mut with_token = fields.to_vec();
    with_token.push(("login_csrf", &token));
    let resp = no_redirects()
        .post(format!("{}/login", server.url))
        .send_form(with_token.iter().copied())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let mut wrong = fields.to_vec();
    wrong.push(("login_csrf", &other_token));
    let resp = no_redirects()
        .post(format!("{}/login", server.url))
        .header("Cookie", &cookie)
        .send_form(wrong.iter().copied())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert!(!session_set(&resp));

    // The pair the sign-in page handed out works, and its cookie is out of other sites' reach.
    let resp = no_redirects()
        .post(format!("{}/login", server.url))
        .header("Cookie", &cookie)
        .send_form(with_token.iter().copied())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert!(session_set(&resp));
    let page = no_redirects()
        .get(format!("{}/login", server.url))
        .call()
        .unwrap();
    let set = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
}

/// A raw HTTP/1.1 request, so that `Host` is whatever the attacker writes.
fn raw(server: &TestServer, head: &str, body: &str) -> (u16, String) {
    let addr = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{head}\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.token,
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

fn location(answer: &str) -> String {
    answer
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn meta_location(answer: &str) -> String {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    v["meta"]["location"].as_str().unwrap_or("").to_owned()
}

/// `X-Forwarded-Proto`, `X-Forwarded-Host` and `Host` flowed into SCIM's `Location` and
/// `meta.location` (`javascript://evil…`). They now come from `[http] public_url`, and
/// forwarded headers count only from a trusted proxy, and only when well-formed.
#[test]
fn scim_urls_come_from_the_configured_public_url() {
    let forged = "POST /scim/v2/Users HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Proto: javascript\r\nX-Forwarded-Host: evil.example";
    let user = |n: u32| {
        format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"mallory{n}@example.com","active":true}}"#
        )
    };

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, answer) = raw(&server, forged, &user(1));
    assert_eq!(status, 201, "{answer}");
    let (loc, meta) = (location(&answer), meta_location(&answer));
    assert!(
        loc.starts_with(&format!("{}/scim/v2/Users/", server.url)),
        "{answer}"
    );
    assert_eq!(loc, meta);

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[
            ("TANDEM_HTTP__PUBLIC_URL", "https://tandem.example/"),
            ("TANDEM_HTTP__TRUSTED_PROXIES", "[\"127.0.0.0/8\"]"),
        ],
    );
    // From a trusted proxy, a malformed scheme and host are still ignored …
    let (status, answer) = raw(
        &server,
        "POST /scim/v2/Users HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Proto: javascript\r\nX-Forwarded-Host: evil.example/x",
        &user(2),
    );
    assert_eq!(status, 201, "{answer}");
    assert!(
        location(&answer).starts_with("https://tandem.example/scim/v2/Users/"),
        "{answer}"
    );
    assert!(meta_location(&answer).starts_with("https://tandem.example/scim/v2/Users/"));
    let (_, answer) = raw(
        &server,
        "POST /scim/v2/Users HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: evil.example/@x",
        &user(3),
    );
    assert!(
        location(&answer).starts_with("https://tandem.example/scim/v2/Users/"),
        "{answer}"
    );
    // … and a plain one is the name the proxy serves Tandem under.
    let (_, answer) = raw(
        &server,
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: siem.example:8443",
        &user(4),
    );
    assert!(
        location(&answer).starts_with("http://siem.example:8443/scim/v2/Users/"),
        "{answer}"
    );
}

/// No Content-Security-Policy, framing or sniffing protection on the console's pages.
#[test]
fn every_console_page_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let console = server.admin_console();
    let check = |what: &str, headers: &ureq::http::HeaderMap| {
        let h = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let csp = h("content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{what}: CSP `{csp}`");
        }
        assert!(!csp.contains("unsafe-inline"), "{what}: CSP `{csp}`");
        assert_eq!(h("x-frame-options"), "DENY", "{what}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(h("referrer-policy"), "same-origin", "{what}");
    };
    let resp = no_redirects()
        .get(format!("{}/login", server.url))
        .call()
        .unwrap();
    check("/login", resp.headers());
    for path in [
        "/search",
        "/live",
        "/findings",
        "/sources",
        "/rules",
        "/audit",
        "/settings",
        "/people",
        "/places",
        "/static/search.js",
        "/static/tandem.css",
        "/nothing-here",
    ] {
        let mut resp = no_redirects()
            .get(format!("{}{path}", server.url))
            .header("Cookie", &console.cookie)
            .call()
            .unwrap();
        check(path, resp.headers());
        // The policy allows no inline script: every script element is a file or data.
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        for tag in body.split("<script").skip(1) {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            assert!(
                tag.contains("src=\"/static/") || tag.contains("type=\"application/json\""),
                "{path}: inline script <script{tag}>"
            );
        }
        assert!(!body.contains(" style=\""), "{path}: inline style");
        assert!(!body.contains("<style"), "{path}: inline style");
    }
}
