//! Single sign-on through a real OpenID Connect provider: Glewlwyd (the Debian package), run
//! on loopback by `tandem-testkit`. The test plays the browser over HTTP, keeping cookies and
//! following redirects by hand: Tandem's sign-in button → the provider (where the person signs
//! in) → Tandem's callback → a console session whose role comes from the provider's groups.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use support::{TestServer, no_redirects, sign_in};
use tandem_testkit::{Glewlwyd, free_port};

const CLIENT_ID: &str = "tandem";
const CLIENT_SECRET: &str = "tandem-client-secret-0123456789";

/// A browser as far as these tests need one: keeps the cookies servers set (all on
/// 127.0.0.1), sends them back, does not follow redirects.
#[derive(Default)]
struct Browser {
    cookies: BTreeMap<String, String>,
}

/// One answer: status, where a redirect points, the page.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn get(&mut self, url: &str) -> Answer {
        let mut req = no_redirects().get(url);
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("Cookie", header.join("; "));
        }
        let mut resp = req.call().expect("request sent");
        for set in resp.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap_or_default();
            let (pair, attrs) = set.split_once(';').unwrap_or((set, ""));
            let Some((name, value)) = pair.trim().split_once('=') else {
                continue;
            };
            if value.is_empty() || attrs.replace(' ', "").contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Answer {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            // The text as a reader sees it (the console escapes `/` in pages).
            body: resp
                .body_mut()
                .read_to_string()
                .unwrap_or_default()
                .replace("&#x2f;", "/"),
        }
    }

    fn session(&self) -> Option<&str> {
        self.cookies.get("tandem_session").map(String::as_str)
    }
}

/// A provider with Tandem registered as a client, and a Tandem configured to use it.
struct Setup {
    idp: Glewlwyd,
    tandem: TestServer,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let idp = Glewlwyd::start();
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/login/sso/callback");
    idp.add_client(CLIENT_ID, CLIENT_SECRET, &callback);
    let dir = tempfile::tempdir().unwrap();
    let issuer = idp.issuer();
    let listen = format!("127.0.0.1:{port}");
    let tandem = TestServer::start(
        &dir.path().join("data"),
        None,
        &[
            ("TANDEM_HTTP__LISTEN", &listen),
            ("TANDEM_AUTH__OIDC__ISSUER", &issuer),
            ("TANDEM_AUTH__OIDC__CLIENT_ID", CLIENT_ID),
            ("TANDEM_AUTH__OIDC__CLIENT_SECRET", CLIENT_SECRET),
            ("TANDEM_AUTH__OIDC__REDIRECT_URL", &callback),
            // Glewlwyd defines only `openid`; the claims come with it.
            ("TANDEM_AUTH__OIDC__SCOPES", r#"["openid"]"#),
            ("TANDEM_AUTH__OIDC__BUTTON_LABEL", "Sign in with Glewlwyd"),
            (
                "TANDEM_AUTH__OIDC__ROLES",
                r#"[{group = "sec-analysts", role = "soc_analyst"}, {group = "auditors", role = "auditor"}]"#,
            ),
        ],
    );
    Setup {
        idp,
        tandem,
        _dir: dir,
    }
}

impl Setup {
    /// Clicks the sign-in button (asking for `next`) and follows the redirects to the
    /// provider's login page.
    fn to_provider(&self, browser: &mut Browser, next: &str) -> String {
        let start = browser.get(&format!("{}/login/sso?next={next}", self.tandem.url));
        assert_eq!(start.status, 303, "{}", start.body);
        assert!(browser.cookies.contains_key("tandem_sso"));
        let authorize = start.location.expect("sent to the provider");
        assert!(
            authorize.starts_with(&self.idp.issuer()),
            "the provider's authorization endpoint: {authorize}"
        );
        for part in [
            "code_challenge_method=S256",
            "code_challenge=",
            "nonce=",
            "state=",
        ] {
            assert!(authorize.contains(part), "{part} in {authorize}");
        }
        let login_page = browser.get(&authorize);
        assert_eq!(login_page.status, 302);
        login_page.location.expect("the provider's login page")
    }

    /// The whole sign-in of `user`: the answer of Tandem's callback.
    fn sign_in(&self, browser: &mut Browser, user: &str, password: &str, next: &str) -> Answer {
        let login_page = self.to_provider(browser, next);
        let callback = self
            .idp
            .sign_in(&login_page, user, password)
            .expect("the provider accepts the password");
        assert!(
            callback.starts_with(&format!("{}/login/sso/callback?", self.tandem.url)),
            "{callback}"
        );
        browser.get(&callback)
    }

    fn audit(&self) -> Vec<Value> {
        let (status, log) = self.tandem.get("/api/v1/audit", &[]);
        assert_eq!(status, 200);
        log["entries"].as_array().cloned().unwrap_or_default()
    }

    fn audited(&self, action: &str) -> Vec<Value> {
        self.audit()
            .into_iter()
            .filter(|e| e["action"] == action)
            .collect()
    }
}

/// Where a "signed in" page moves on to.
fn continues_to(body: &str) -> &str {
    let marker = "http-equiv=\"refresh\" content=\"0; url=";
    let start = body.find(marker).expect("the page moves on") + marker.len();
    let end = body[start..].find('"').unwrap() + start;
    &body[start..end]
}

#[test]
fn an_analyst_signs_in_at_the_identity_provider_and_their_groups_decide_the_role() {
    let s = setup();
    s.idp
        .add_user("dana", "dana-password-0123", &["everyone", "sec-analysts"]);

    // The sign-in page offers single sign-on above the password form.
    let mut browser = Browser::default();
    let page = browser.get(&format!("{}/login", s.tandem.url));
    let button = page.body.find("Sign in with Glewlwyd").expect("the button");
    assert!(button < page.body.find("<form").unwrap(), "above the form");

    let done = s.sign_in(&mut browser, "dana", "dana-password-0123", "/findings");
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(continues_to(&done.body), "/findings");
    assert!(browser.session().is_some(), "a console session");
    assert!(
        !browser.cookies.contains_key("tandem_sso"),
        "the sign-in cookie is cleared"
    );

    // The session carries the role of the group: findings yes, settings no.
    let findings = browser.get(&format!("{}/findings", s.tandem.url));
    assert_eq!(findings.status, 200);
    assert!(findings.body.contains("dana"), "signed in as dana");
    assert_eq!(
        browser.get(&format!("{}/settings", s.tandem.url)).status,
        403
    );
    assert_eq!(browser.get(&format!("{}/audit", s.tandem.url)).status, 403);

    let logins = s.audited("login");
    let login = logins.last().expect("the sign-in is audited");
    assert_eq!(login["actor"], "dana");
    assert_eq!(login["detail"]["via"], "oidc");
    assert_eq!(login["detail"]["role"], "soc_analyst");
    assert_eq!(
        login["detail"]["groups"],
        serde_json::json!(["everyone", "sec-analysts"])
    );
    assert_eq!(login["detail"]["created"], true);

    // The account is Tandem's now, but has no password that works.
    assert_eq!(
        sign_in(&s.tandem.url, "dana", "dana-password-0123"),
        Err(401)
    );
    assert_eq!(sign_in(&s.tandem.url, "dana", "!external"), Err(401));

    // Moved to the auditors at the provider: the next sign-in carries the new role.
    s.idp.set_groups("dana", &["everyone", "auditors"]);
    let mut later = Browser::default();
    let done = s.sign_in(&mut later, "dana", "dana-password-0123", "/audit");
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(browser.get(&format!("{}/audit", s.tandem.url)).status, 200);
    assert_eq!(later.get(&format!("{}/audit", s.tandem.url)).status, 200);
    let relogin = s.audited("login").pop().unwrap();
    assert_eq!(relogin["detail"]["role"], "auditor");
    assert_eq!(relogin["detail"]["previous_role"], "soc_analyst");
    assert_eq!(relogin["detail"].get("created"), None);

    // The administrator sees the account as one that signs in through the provider.
    let admin = s.tandem.admin_console();
    let settings = admin.get("/settings");
    assert!(
        settings.body.contains("single sign-on"),
        "{}",
        settings.body
    );
}

#[test]
fn someone_in_no_mapped_group_is_refused_and_it_is_audited() {
    let s = setup();
    s.idp.add_user("erik", "erik-password-0123", &["everyone"]);
    let mut browser = Browser::default();
    let refused = s.sign_in(&mut browser, "erik", "erik-password-0123", "/");
    assert_eq!(refused.status, 403);
    assert!(
        refused.body.contains("none of them gives a Tandem role"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("everyone"), "names the groups");
    assert!(browser.session().is_none(), "no session");
    let entry = s.audited("login.refused").pop().expect("audited");
    assert_eq!(entry["actor"], "erik");
    assert_eq!(entry["detail"]["reason"], "no_role");
    assert_eq!(entry["detail"]["groups"], serde_json::json!(["everyone"]));
    assert!(s.audited("login").is_empty());

    // Given a group, the same person gets in.
    s.idp.set_groups("erik", &["everyone", "sec-analysts"]);
    let done = s.sign_in(&mut browser, "erik", "erik-password-0123", "/");
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(browser.session().is_some());
}

#[test]
fn a_changed_state_and_a_replayed_code_are_refused() {
    let s = setup();
    s.idp
        .add_user("dana", "dana-password-0123", &["sec-analysts"]);

    // The provider's answer with another state than the one this browser was given.
    let mut browser = Browser::default();
    let login_page = s.to_provider(&mut browser, "/");
    let callback = s
        .idp
        .sign_in(&login_page, "dana", "dana-password-0123")
        .unwrap();
    let (base, query) = callback.split_once('?').unwrap();
    let tampered: Vec<String> = query
        .split('&')
        .map(|p| {
            if p.starts_with("state=") {
                "state=forged-state".to_owned()
            } else {
                p.to_owned()
            }
        })
        .collect();
    let refused = browser.get(&format!("{base}?{}", tampered.join("&")));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("Start again"), "{}", refused.body);
    assert!(browser.session().is_none());
    let failed = s.audited("login.failed").pop().expect("audited");
    assert_eq!(failed["detail"]["reason"], "state");

    // No state at all, and a browser without the sign-in cookie: refused too.
    let no_state = base.to_owned() + "?code=abc";
    assert_eq!(browser.get(&no_state).status, 400);
    let mut stranger = Browser::default();
    assert_eq!(stranger.get(&callback).status, 400);
    assert!(stranger.session().is_none());

    // A proper answer signs in once; the same answer again is refused.
    let mut browser = Browser::default();
    let login_page = s.to_provider(&mut browser, "/");
    let callback = s
        .idp
        .sign_in(&login_page, "dana", "dana-password-0123")
        .unwrap();
    let sso_cookie = browser.cookies.get("tandem_sso").cloned().unwrap();
    assert_eq!(browser.get(&callback).status, 200);
    assert!(browser.session().is_some());
    let mut replay = Browser::default();
    replay.cookies.insert("tandem_sso".into(), sso_cookie);
    assert_eq!(replay.get(&callback).status, 400, "the state is used up");
    assert!(replay.session().is_none());

    // The used code inside a fresh sign-in of this browser: the provider refuses it (the
    // code is spent, and it was issued for another PKCE challenge).
    let mut attacker = Browser::default();
    let fresh = s.to_provider(&mut attacker, "/");
    let state = form_param(&fresh, "callback_url")
        .and_then(|resume| form_param(&resume, "state"))
        .expect("the fresh state");
    let old_code = form_param(&callback, "code").unwrap();
    let refused = attacker.get(&format!(
        "{}/login/sso/callback?code={old_code}&state={state}",
        s.tandem.url
    ));
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(
        refused.body.contains("did not sign you in"),
        "{}",
        refused.body
    );
    assert!(attacker.session().is_none());
    let failed = s.audited("login.failed").pop().unwrap();
    assert_eq!(failed["detail"]["reason"], "provider_error");
}

#[test]
fn an_unreachable_identity_provider_leaves_password_sign_in_working() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = format!("http://127.0.0.1:{}/realms/acme", free_port());
    let tandem = TestServer::start(
        &dir.path().join("data"),
        None,
        &[
            ("TANDEM_AUTH__OIDC__ISSUER", &nowhere),
            ("TANDEM_AUTH__OIDC__CLIENT_ID", CLIENT_ID),
            ("TANDEM_AUTH__OIDC__CLIENT_SECRET", CLIENT_SECRET),
            (
                "TANDEM_AUTH__OIDC__REDIRECT_URL",
                "http://127.0.0.1:1/login/sso/callback",
            ),
        ],
    );
    let mut browser = Browser::default();
    let page = browser.get(&format!("{}/login", tandem.url));
    assert!(page.body.contains("Sign in with single sign-on"));
    let clicked = browser.get(&format!("{}/login/sso?next=/search", tandem.url));
    assert_eq!(clicked.status, 503);
    assert!(
        clicked.body.contains("cannot be reached") && clicked.body.contains(&nowhere),
        "{}",
        clicked.body
    );
    assert!(clicked.body.contains("name=\"password\""), "the form stays");
    let password = tandem.admin_password.clone().unwrap();
    assert!(sign_in(&tandem.url, "admin", &password).is_ok());
}

/// A parameter of a URL's query, decoded.
fn form_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
