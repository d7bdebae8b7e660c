//! Glewlwyd, a real OAuth 2 / OpenID Connect identity provider (Debian package `glewlwyd`),
//! started on loopback with its own SQLite database, for single sign-on tests.
//!
//! Set up the way an administrator would, through its admin API: the OpenID Connect plugin
//! (issuer `http://127.0.0.1:<port>/api/oidc`, RS256 with a fresh RSA key, PKCE allowed, used
//! codes refused), a `groups` claim and a `preferred_username` claim read from user
//! properties, and a confidential client for Tandem (client secret over HTTP basic
//! authentication). What its login web page does in a browser (check the password, record
//! the user's consent, continue the authorization) [`Glewlwyd::sign_in`] does over its API.
//!
//! Two things the defaults do not give and the tests rely on: the database user backend
//! stores only the properties its `data-format` lists (so `groups` and `preferred_username`
//! are added there), and a confidential client authenticates at the token endpoint only when
//! its `token_endpoint_auth_method` property lists the method.

use crate::{find_program, free_port, start_with_config};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The SQL that creates an empty Glewlwyd database with its `admin` user (password
/// `password`), as the package installs it.
const SCHEMA: &str = "/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3";
const PLUGIN: &str = "oidc";

/// A running Glewlwyd; stopped on drop.
pub struct Glewlwyd {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    /// The admin API session cookie (`GLEWLWYD2_SESSION_ID=…`).
    admin: String,
}

impl Glewlwyd {
    /// Starts Glewlwyd with the OpenID Connect plugin configured; panics with an install hint
    /// when it is missing.
    pub fn start() -> Glewlwyd {
        let program = find_program("glewlwyd").expect(
            "glewlwyd is not installed; scripts/test installs it (apt-get install glewlwyd)",
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let db = dir.path().join("glewlwyd.db");
        let schema = std::fs::File::open(SCHEMA).expect("the glewlwyd package's SQLite schema");
        let status = Command::new("sqlite3")
            .arg(&db)
            .stdin(schema)
            .stdout(Stdio::null())
            .status()
            .expect("sqlite3 (a dependency of glewlwyd) runs");
        assert!(status.success(), "creating the glewlwyd database failed");
        let conf = dir.path().join("glewlwyd.conf");
        std::fs::write(&conf, config(port, dir.path(), &db)).expect("write glewlwyd.conf");
        let child = start_with_config(&program, &conf, port, "glewlwyd");
        let mut g = Glewlwyd {
            child: Some(child),
            port,
            dir,
            admin: String::new(),
        };
        g.admin = g
            .log_in("admin", "password")
            .expect("glewlwyd's first administrator signs in");
        g.configure();
        g
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/api{path}", self.port)
    }

    /// The issuer Tandem is configured with: where its discovery document is.
    pub fn issuer(&self) -> String {
        self.url(&format!("/{PLUGIN}"))
    }

    /// Glewlwyd's log file, for a failing test to show.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("glewlwyd.log")).unwrap_or_default()
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into()
    }

    /// Calls the admin API; panics unless it answers 200.
    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = self.url(path);
        let agent = Self::agent();
        let mut resp = match (method, body) {
            ("GET", _) => agent.get(&url).header("Cookie", &self.admin).call(),
            ("DELETE", _) => agent.delete(&url).header("Cookie", &self.admin).call(),
            ("POST", Some(b)) => agent.post(&url).header("Cookie", &self.admin).send_json(b),
            ("PUT", Some(b)) => agent.put(&url).header("Cookie", &self.admin).send_json(b),
            ("PUT", None) => agent.put(&url).header("Cookie", &self.admin).send_empty(),
            (m, _) => panic!("no admin call {m}"),
        }
        .expect("glewlwyd answers");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(status, 200, "glewlwyd {method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Signs in to Glewlwyd's own API with a password; the session cookie.
    fn log_in(&self, user: &str, password: &str) -> Option<String> {
        let resp = Self::agent()
            .post(self.url("/auth/"))
            .send_json(json!({ "username": user, "password": password }))
            .expect("glewlwyd answers");
        if resp.status().as_u16() != 200 {
            return None;
        }
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("GLEWLWYD2_SESSION_ID="))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
    }

    fn configure(&self) {
        // User properties the claims are read from.
        self.admin(
            "PUT",
            "/mod/user/database",
            Some(json!({
                "module": "database", "name": "database", "display_name": "Database backend",
                "order_rank": 0, "readonly": false, "multiple_passwords": false,
                "parameters": {
                    "use-glewlwyd-connection": true,
                    "data-format": {
                        "groups": {"multiple": true, "read": true, "write": true, "profile-read": false, "profile-write": false},
                        "preferred_username": {"multiple": false, "read": true, "write": true, "profile-read": false, "profile-write": false}
                    }
                }
            })),
        );
        self.admin("PUT", "/mod/user/database/reset", None);
        let (key, cert) = rsa_key_pair(self.dir.path());
        self.admin(
            "POST",
            "/mod/plugin/",
            Some(json!({
                "module": "oidc", "name": PLUGIN, "display_name": "OpenID Connect", "enabled": true,
                "parameters": {
                    "iss": self.issuer(),
                    "jwt-type": "rsa", "jwt-key-size": "256", "key": key, "cert": cert,
                    "access-token-duration": 3600, "refresh-token-duration": 1209600,
                    "code-duration": 600, "refresh-token-rolling": true,
                    "allow-non-oidc": false,
                    "auth-type-code-enabled": true, "auth-type-code-revoke-replayed": true,
                    "auth-type-token-enabled": false, "auth-type-id-token-enabled": true,
                    "auth-type-password-enabled": false, "auth-type-client-enabled": false,
                    "auth-type-refresh-enabled": true,
                    "pkce-allowed": true, "pkce-method-plain-allowed": false,
                    "name-claim": "on-demand", "email-claim": "mandatory",
                    "claims": [
                        {"name": "groups", "user-property": "groups", "type": "string", "scope": ["openid"]},
                        {"name": "preferred_username", "user-property": "preferred_username", "type": "string", "scope": ["openid"]}
                    ]
                }
            })),
        );
    }

    /// Registers a confidential client that may return to `redirect_uri`.
    pub fn add_client(&self, client_id: &str, secret: &str, redirect_uri: &str) {
        self.admin(
            "POST",
            "/client/",
            Some(json!({
                "client_id": client_id, "name": client_id, "enabled": true,
                "confidential": true, "password": secret,
                "redirect_uri": [redirect_uri],
                "authorization_type": ["code"],
                "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"],
                "scope": ["openid"]
            })),
        );
    }

    /// Adds a person with a password and groups.
    pub fn add_user(&self, name: &str, password: &str, groups: &[&str]) {
        self.admin(
            "POST",
            "/user/",
            Some(json!({
                "username": name, "name": name, "email": format!("{name}@example.test"),
                "password": password, "enabled": true, "scope": ["openid"],
                "groups": groups, "preferred_username": name
            })),
        );
    }

    /// Changes a person's groups, as an administrator does at the provider.
    pub fn set_groups(&self, name: &str, groups: &[&str]) {
        let mut user = self.admin("GET", &format!("/user/{name}"), None);
        user["groups"] = json!(groups);
        if let Some(u) = user.as_object_mut() {
            u.remove("source");
        }
        self.admin("PUT", &format!("/user/{name}"), Some(user));
    }

    /// What Glewlwyd's login page does in the browser it was sent to (`login_page`, where the
    /// authorization endpoint redirected): signs `user` in with `password`, records their
    /// consent to the client's scopes, and continues the authorization. Returns where the
    /// provider then sends the browser (the client's redirect URI with a code and the state),
    /// or `None` when the password is wrong.
    pub fn sign_in(&self, login_page: &str, user: &str, password: &str) -> Option<String> {
        let query = login_page.split_once('?').map_or("", |(_, q)| q);
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("the login page URL has no {name}: {login_page}"))
        };
        let (client_id, scope, resume) =
            (param("client_id"), param("scope"), param("callback_url"));
        let session = self.log_in(user, password)?;
        let agent = Self::agent();
        let grant = agent
            .put(self.url(&format!("/auth/grant/{client_id}")))
            .header("Cookie", &session)
            .send_json(json!({ "scope": scope }))
            .expect("glewlwyd answers");
        assert_eq!(grant.status().as_u16(), 200, "consent recorded");
        let resp = agent
            .get(format!("{resume}&g_continue"))
            .header("Cookie", &session)
            .call()
            .expect("glewlwyd answers");
        resp.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

impl Drop for Glewlwyd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn config(port: u16, dir: &Path, db: &Path) -> String {
    format!(
        r#"port={port}
bind_address="127.0.0.1"
external_url="http://127.0.0.1:{port}"
login_url="login.html"
api_prefix="api"
log_mode="file"
log_level="INFO"
log_file="{log}"
cookie_domain=""
cookie_secure=0
cookie_same_site="empty"
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
user_middleware_module_path="/usr/lib/glewlwyd/user_middleware"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
use_secure_connection=0
hash_algorithm="SHA512"
database = {{
  type = "sqlite3"
  path = "{db}"
}};
"#,
        log = dir.join("glewlwyd.log").display(),
        db = db.display(),
    )
}

/// A fresh 2048-bit RSA key pair (PEM private key, PEM public key) for the ID tokens'
/// signatures, made by `openssl`.
fn rsa_key_pair(dir: &Path) -> (String, String) {
    let key = dir.join("signing-key.pem");
    let public = dir.join("signing-key.pub.pem");
    let ok = Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(&key)
        .arg("2048")
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs")
        .success()
        && Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&public)
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs")
            .success();
    assert!(ok, "openssl made an RSA key");
    (
        std::fs::read_to_string(key).expect("key"),
        std::fs::read_to_string(public).expect("public key"),
    )
}
