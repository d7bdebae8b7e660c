//! A real `tandem serve` process on loopback for end-to-end tests.
#![allow(dead_code)]

pub mod frigate;
pub mod receiver;
pub mod shots;
pub mod smtp;
pub mod vendors;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct TestServer {
    pub child: Child,
    pub url: String,
    pub token: String,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub admin_password: Option<String>,
}

/// An answer's status and JSON body (`null` when it is not JSON).
fn answer(mut resp: ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}

pub fn tandem() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
}

impl TestServer {
    /// Starts a server on `data_dir` with ephemeral ports; `token` is reused on restarts.
    pub fn start(data_dir: &Path, token: Option<&str>, extra_env: &[(&str, &str)]) -> TestServer {
        let mut cmd = tandem();
        cmd.arg("serve")
            .env("TANDEM_DATA_DIR", data_dir)
            .env("TANDEM_HTTP__LISTEN", "127.0.0.1:0")
            .env("TANDEM_SYSLOG__UDP", "127.0.0.1:0")
            .env("TANDEM_SYSLOG__TCP", "127.0.0.1:0")
            .env("TANDEM_LOG", "warn")
            .env_remove("TANDEM_CONFIG")
            // A test's own switch, which the server would read as an unknown setting.
            .env_remove("TANDEM_SCREENSHOTS")
            .current_dir(data_dir.parent().unwrap_or(data_dir))
            .stdout(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("tandem starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let (mut url, mut udp, mut tcp, mut new_token, mut password) =
            (None, None, None, None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            let line = line.trim().to_owned();
            if let Some(v) = line.strip_prefix("console:") {
                url = Some(v.trim().trim_end_matches('/').to_owned());
            } else if let Some(v) = line.strip_prefix("syslog udp:") {
                udp = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("syslog tcp:") {
                tcp = v.trim().parse().ok();
                if token.is_some() {
                    break;
                }
            } else if let Some(v) = line.strip_prefix("password:") {
                password = Some(v.trim().to_owned());
            } else if let Some(v) = line.split("TANDEM_TOKEN=").nth(1) {
                new_token = Some(v.trim().to_owned());
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        TestServer {
            child,
            url: url.expect("server printed its URL"),
            token: token.map(str::to_owned).or(new_token).expect("a token"),
            syslog_udp: udp,
            syslog_tcp: tcp,
            data_dir: data_dir.to_owned(),
            admin_password: password,
        }
    }

    pub fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    }

    /// GET with the admin token; returns status and JSON body.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let mut req = Self::agent()
            .get(format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {}", self.token));
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        let mut resp = req.call().expect("request sent");
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    pub fn search(&self, q: &str) -> Value {
        let (status, body) = self.get("/api/v1/search", &[("q", q), ("limit", "1000")]);
        assert_eq!(status, 200, "search `{q}` failed: {body}");
        body
    }

    pub fn total(&self, q: &str) -> u64 {
        self.search(q)["total"].as_u64().unwrap()
    }

    /// Registers a source and returns its API key.
    pub fn add_source(&self, name: &str, format: &str) -> String {
        let mut resp = Self::agent()
            .post(format!("{}/api/v1/sources", self.url))
            .header("Authorization", format!("Bearer {}", self.token))
            .send_json(serde_json::json!({"name": name, "format": format}))
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let v: Value = resp.body_mut().read_json().unwrap();
        v["api_key"].as_str().unwrap().to_owned()
    }

    /// POSTs `body` to `path` with the admin token; returns status and JSON body (`null` when
    /// the answer is not JSON).
    pub fn post(&self, path: &str, body: &str) -> (u16, Value) {
        answer(self.with_body("POST", path).send(body.as_bytes()).unwrap())
    }

    /// Sends `body` as JSON to `path` with `method` (`POST`, `PUT` or `PATCH`) and the admin
    /// token; returns status and JSON body (`null` when the answer is not JSON).
    pub fn send_json(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        answer(self.with_body(method, path).send_json(body).unwrap())
    }

    /// A request with a body to `path`, with the admin token.
    fn with_body(
        &self,
        method: &str,
        path: &str,
    ) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        let url = format!("{}{path}", self.url);
        let agent = Self::agent();
        let req = match method {
            "POST" => agent.post(url),
            "PUT" => agent.put(url),
            "PATCH" => agent.patch(url),
            _ => panic!("{method} sends no body"),
        };
        req.header("Authorization", format!("Bearer {}", self.token))
    }

    /// POSTs a body to the ingest endpoint; returns status and JSON body.
    pub fn ingest(
        &self,
        source: &str,
        key: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = Self::agent()
            .post(format!("{}/api/v1/ingest/{source}", self.url))
            .header("Authorization", format!("Bearer {key}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send(body).expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Polls until `q` matches `n` events (syslog is batched, so arrival is not instant).
    pub fn wait_for(&self, q: &str, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.total(q);
            if got == n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{q}`: expected {n} events, found {got}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }

    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Tandem-format NDJSON line.
pub fn event_line(minutes_ago: i64, user: &str, message: &str) -> String {
    let time = chrono::Utc::now() - chrono::Duration::minutes(minutes_ago);
    serde_json::json!({
        "time": time.to_rfc3339(),
        "class": "authentication",
        "activity": "logon",
        "outcome": "success",
        "message": message,
        "actor": {"user": user},
        "src": {"ip": "10.1.2.3"}
    })
    .to_string()
}

/// An account made before the server starts: a user (with a password, if asked) and an API
/// token with the same role.
pub struct Seeded {
    pub role: String,
    pub user: String,
    pub password: Option<String>,
    pub token: String,
}

/// Starts a server whose store also holds an account (user and API token) for each of
/// `roles`: the server starts once to create its first administrator, stops, the accounts
/// are written while no server runs, and it starts again. Passwords cost an argon2 hash
/// each, so only the roles in `with_password` get one.
pub fn start_with_accounts(
    data_dir: &Path,
    roles: &[String],
    with_password: &[&str],
) -> (TestServer, Vec<Seeded>) {
    start_with_accounts_env(data_dir, roles, with_password, &[])
}

/// [`start_with_accounts`] with environment variables for both starts (a `TANDEM_CONFIG`).
pub fn start_with_accounts_env(
    data_dir: &Path,
    roles: &[String],
    with_password: &[&str],
    env: &[(&str, &str)],
) -> (TestServer, Vec<Seeded>) {
    let first = TestServer::start(data_dir, None, env);
    let (token, password) = (first.token.clone(), first.admin_password.clone());
    // Just after start the signal may arrive before shutdown handling is set up; the
    // restart below shows whether the store survived.
    first.terminate();
    let seeded = seed_accounts(data_dir, roles, with_password);
    let mut server = TestServer::start(data_dir, Some(&token), env);
    server.admin_password = password;
    (server, seeded)
}

/// Creates accounts in a data directory while no server has it open.
fn seed_accounts(data_dir: &Path, roles: &[String], with_password: &[&str]) -> Vec<Seeded> {
    use tandem_store::{Account, AccountStore, ApiToken, EventStore, SqliteStore, StoreConfig};
    let store = SqliteStore::open(data_dir, StoreConfig::default()).expect("store opens");
    let out = roles
        .iter()
        .map(|role| {
            let user = format!("user-{}", role.replace(':', "-"));
            let password = with_password
                .contains(&role.as_str())
                .then(|| format!("pw-{user}-0123456789"));
            let hash = password
                .as_deref()
                .map(tandem_web::hash_password)
                .unwrap_or_else(|| "!".into());
            store
                .create_user(&Account {
                    name: user.clone(),
                    password_hash: hash,
                    role: role.clone(),
                })
                .unwrap();
            let token = tandem_web::generate_secret("tat_");
            store
                .create_token(&ApiToken {
                    sha256: tandem_store::hash_key(&token),
                    name: format!("token-{user}"),
                    role: role.clone(),
                })
                .unwrap();
            Seeded {
                role: role.clone(),
                user,
                password,
                token,
            }
        })
        .collect();
    store.close().expect("store closes");
    out
}

/// A browser signed in to the console: its session cookie, sent by hand since the test
/// client keeps no cookies. Redirects are not followed, so tests see where a form sends them.
pub struct Console {
    pub url: String,
    pub cookie: String,
}

/// A page or form answer: status, `Location` of a redirect, body.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// A client that does not follow redirects, so a test sees where the console sends it.
pub fn no_redirects() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// The sign-in form as a browser gets it: the `tandem_login` cookie (`name=value`) that
/// `GET /login` sets and the `login_csrf` token of its form, which a sign-in must send back.
pub fn login_form(url: &str) -> (String, String) {
    let mut resp = no_redirects()
        .get(format!("{url}/login"))
        .call()
        .expect("request sent");
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tandem_login="))
        .and_then(|c| c.split(';').next())
        .expect("the sign-in page sets its cookie")
        .to_owned();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    let marker = "name=\"login_csrf\" value=\"";
    let start = body.find(marker).expect("the form has a login_csrf field") + marker.len();
    let end = body[start..].find('"').expect("the value ends") + start;
    (cookie, body[start..end].to_owned())
}

/// Posts the sign-in form as a browser would: after `GET /login`, with its cookie and token.
/// `fields` are the form's other fields (`username`, `password`, `next`).
pub fn post_login(url: &str, fields: &[(&str, &str)]) -> ureq::http::Response<ureq::Body> {
    let (cookie, token) = login_form(url);
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("login_csrf", &token));
    no_redirects()
        .post(format!("{url}/login"))
        .header("Cookie", &cookie)
        .send_form(form)
        .expect("request sent")
}

/// Signs in through the login form; returns the session secret (the cookie's value).
pub fn sign_in(url: &str, user: &str, password: &str) -> Result<String, u16> {
    let resp = post_login(url, &[("username", user), ("password", password)]);
    let status = resp.status().as_u16();
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("tandem_session="))
        .and_then(|c| c.split(';').next())
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .ok_or(status)
}

/// The CSRF token the console puts in the forms of a session.
pub fn csrf_for(session: &str) -> String {
    tandem_store::hash_key(&format!("csrf:{session}"))
}

/// Adds a console account to the store in `data_dir` while no server runs on it (there is no
/// way to add one over HTTP yet) and returns its password.
pub fn add_user(data_dir: &Path, name: &str, role: &str) -> String {
    use tandem_store::{AccountStore, EventStore};
    let store = tandem_store::SqliteStore::open(data_dir, Default::default()).expect("store opens");
    let password = tandem_web::generate_secret("");
    let account = tandem_store::Account {
        name: name.into(),
        password_hash: tandem_web::hash_password(&password),
        role: role.into(),
    };
    assert!(store.create_user(&account).unwrap(), "user {name} exists");
    store.close().unwrap();
    password
}

fn page(mut resp: ureq::http::Response<ureq::Body>) -> Page {
    Page {
        status: resp.status().as_u16(),
        location: resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: resp.body_mut().read_to_string().unwrap_or_default(),
    }
}

impl TestServer {
    /// Signs in through the login form; `None` when the console refuses the password.
    pub fn sign_in(&self, user: &str, password: &str) -> Option<Console> {
        let resp = post_login(&self.url, &[("username", user), ("password", password)]);
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("tandem_session="))?
            .split(';')
            .next()?
            .to_owned();
        Some(Console {
            url: self.url.clone(),
            cookie,
        })
    }

    /// The first administrator, signed in with the password printed at first start.
    pub fn admin_console(&self) -> Console {
        let password = self
            .admin_password
            .as_deref()
            .expect("the first start printed the admin password");
        self.sign_in("admin", password)
            .expect("the first admin signs in")
    }
}

impl Console {
    pub fn get(&self, path: &str) -> Page {
        page(
            no_redirects()
                .get(format!("{}{path}", self.url))
                .header("Cookie", &self.cookie)
                .call()
                .expect("request sent"),
        )
    }

    /// Submits a form as the browser would (the caller includes `csrf` or leaves it out).
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        page(
            no_redirects()
                .post(format!("{}{path}", self.url))
                .header("Cookie", &self.cookie)
                .send_form(fields.iter().copied())
                .expect("request sent"),
        )
    }

    /// The CSRF token the forms of `path` carry, as a browser would submit it.
    pub fn csrf(&self, path: &str) -> String {
        let body = self.get(path).body;
        let marker = "name=\"csrf\" value=\"";
        let start = body.find(marker).expect("the page has a form") + marker.len();
        let end = body[start..].find('"').expect("the value ends") + start;
        body[start..end].to_owned()
    }
}

/// Adds a console user with `role` (`soc_analyst`, `responder:hr`, …) to the store in
/// `data_dir`. The server must be stopped: the store has one writer. There is no API for
/// console users yet, and a role's limits are only tested by signing in as someone who has it.
pub fn add_user_with_password(data_dir: &Path, name: &str, password: &str, role: &str) {
    use tandem_store::AccountStore;
    let store = tandem_store::SqliteStore::open(data_dir, tandem_store::StoreConfig::default())
        .expect("open the stopped server's store");
    let created = store
        .create_user(&tandem_store::Account {
            name: name.into(),
            password_hash: tandem_web::hash_password(password),
            role: role.into(),
        })
        .expect("create user");
    assert!(created, "user {name} exists already");
    tandem_store::EventStore::close(&store).expect("close store");
}

/// `tandem demo` as a newcomer runs it: a server and a simulated organisation sending to it
/// through the real integrations. Stopped on drop.
pub struct Demo {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    output: Vec<String>,
    pub url: String,
    pub password: String,
    pub token: String,
}

impl Demo {
    /// Starts the demo in `dir/demo` with `args` (`--people`, `--history-hours`, …) and
    /// returns once it has sent its history.
    pub fn start(dir: &Path, args: &[&str]) -> Demo {
        let data = dir.join("demo");
        let child = tandem()
            .arg("demo")
            .arg("--data-dir")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("TANDEM_SYSLOG__UDP", "127.0.0.1:0")
            .env("TANDEM_SYSLOG__TCP", "127.0.0.1:0")
            // Detections of absence and windows at quiet doors are decided by the tick.
            .env("TANDEM_DETECT__TICK_SECONDS", "2")
            .env("TANDEM_LOG", "warn")
            .env("TANDEM_DETECT__TICK_SECONDS", "1")
            .env_remove("TANDEM_CONFIG")
            .env_remove("TANDEM_SCREENSHOTS")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("tandem demo starts");
        let (tx, lines) = std::sync::mpsc::channel();
        let mut demo = Demo {
            child,
            lines,
            output: Vec::new(),
            url: String::new(),
            password: String::new(),
            token: String::new(),
        };
        let stdout = demo.child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let word = |line: String| line.split_whitespace().nth(1).unwrap_or("").to_owned();
        demo.url = word(demo.wait_for_line("console:"))
            .trim_end_matches('/')
            .to_owned();
        demo.password = word(demo.wait_for_line("password:"));
        demo.token = demo
            .wait_for_line("TANDEM_TOKEN=")
            .split("TANDEM_TOKEN=")
            .nth(1)
            .unwrap_or("")
            .to_owned();
        demo.wait_for_line("history loaded");
        demo
    }

    /// Waits (up to a minute) for the demo to print a line containing `needle`.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.output.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        }
        panic!(
            "the demo never printed `{needle}`:\n{}",
            self.output.join("\n")
        );
    }

    /// Stages a scenario (`tailgate`, `forced_door`, …) as a person types it.
    pub fn stage(&mut self, scenario: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("piped stdin");
        writeln!(stdin, "{scenario}").expect("demo reads its terminal");
        self.wait_for_line(&format!("staged {scenario}"));
    }

    /// GET with the admin token; the JSON body.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let mut req = TestServer::agent()
            .get(format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {}", self.token));
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        req.call()
            .expect("request sent")
            .body_mut()
            .read_json()
            .unwrap_or(Value::Null)
    }
}

impl Demo {
    /// Waits until a finding of `rule` is stored (windows close some seconds after the
    /// staged scenario, when the door's clock or the tick passes them).
    pub fn wait_for_finding(&self, rule: &str) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let mut resp = TestServer::agent()
                .get(format!("{}/api/v1/findings", self.url))
                .header("Authorization", format!("Bearer {}", self.token))
                .query("q", format!("finding.rule_id:{rule}"))
                .call()
                .expect("request sent");
            let v: Value = resp.body_mut().read_json().unwrap_or_default();
            if v["total"].as_u64().unwrap_or(0) > 0 {
                return;
            }
            assert!(Instant::now() < deadline, "no {rule} finding: {v}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// The live monitor

/// Opens `/live/stream` and hands its lines to a channel from a reader thread, so the test
/// can wait with a deadline. The thread ends when the server closes the connection.
pub fn open_stream(console: &Console, query: &str) -> mpsc::Receiver<String> {
    let resp = TestServer::agent()
        .get(format!("{}/live/stream{query}", console.url))
        .header("Cookie", &console.cookie)
        .call()
        .expect("stream opens");
    assert_eq!(resp.status().as_u16(), 200);
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let reader = BufReader::new(resp.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads the stream until `event: ready` (the server is subscribed from then on).
pub fn wait_ready(rx: &mpsc::Receiver<String>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("the stream says it is ready");
        if line == "event: ready" {
            return;
        }
    }
}

/// The rows the stream sends until one satisfies `done`, within ten seconds.
pub fn rows_until(rx: &mpsc::Receiver<String>, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rows = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no expected row within 10 s; got {rows:?}"));
        if let Some(data) = line.strip_prefix("data: ")
            && let Ok(row) = serde_json::from_str::<Value>(data)
        {
            let finished = done(&row);
            rows.push(row);
            if finished {
                return rows;
            }
        }
    }
}
