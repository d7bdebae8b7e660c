//! The console pages for watching and running Tandem, used as people use them: a guard
//! watching the live monitor, an analyst switching a rule off, an administrator adding a
//! colleague.

mod support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{Console, TestServer, event_line};

const FORCED_RULE: &str = "de6eab26-7e2c-4351-9d80-42aec4b2f6b5";

fn started() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    (dir, server)
}

/// Opens `/live/stream` and hands its lines to a channel from a reader thread, so the test
/// can wait with a deadline. The thread ends when the server closes the connection.
fn open_stream(console: &Console, query: &str) -> mpsc::Receiver<String> {
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
fn wait_ready(rx: &mpsc::Receiver<String>) {
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
fn rows_until(rx: &mpsc::Receiver<String>, done: impl Fn(&Value) -> bool) -> Vec<Value> {
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

fn forced_door_line(site: &str) -> String {
    json!({"time": chrono::Utc::now().to_rfc3339(), "class": "physical_access",
           "activity": "forced", "message": "Door forced open",
           "place": {"door": "Loading dock", "site": site}})
    .to_string()
}

#[test]
fn the_live_monitor_streams_what_arrives_and_filters_on_the_server() {
    let (_dir, server) = started();
    let key = server.add_source("mixed", "tandem");
    let admin = server.admin_console();

    let page = admin.get("/live");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/static/live.js"));
    let script = TestServer::agent()
        .get(format!("{}/static/live.js", server.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(script.contains("EventSource"));
    assert!(script.lines().count() < 80);

    let everything = open_stream(&admin, "");
    let doors_at_hq = open_stream(&admin, "?class=physical_access&site=hq");
    wait_ready(&everything);
    wait_ready(&doors_at_hq);

    // One batch: a logon (no site), then a forced door at HQ (which also raises a finding).
    let body = format!(
        "{}\n{}\n",
        event_line(0, "alice", "alice logged on after connecting"),
        forced_door_line("HQ")
    );
    let (status, report) = server.ingest("mixed", &key, body.as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");

    let rows = rows_until(&everything, |r| r["kind"] == "finding");
    assert!(
        rows.iter()
            .any(|r| r["message"] == "alice logged on after connecting" && r["who"] == "alice"),
        "{rows:?}"
    );
    let alarm = rows
        .iter()
        .find(|r| r["activity"] == "forced")
        .expect("the forced door arrives");
    assert_eq!(alarm["kind"], "alarm");
    assert_eq!(alarm["alert"], "Door alarm: forced open");
    let finding = rows.last().unwrap();
    assert!(
        finding["alert"]
            .as_str()
            .unwrap()
            .contains("Door Forced Open"),
        "{finding}"
    );

    // The filtered stream skipped the logon (same batch, sent first) and the finding.
    let first = rows_until(&doors_at_hq, |_| true);
    assert_eq!(first[0]["activity"], "forced", "{first:?}");
    assert_eq!(first[0]["site"], "HQ");

    // Without JavaScript the page lists the same events, alarms labelled.
    let page = admin.get("/live?class=physical_access");
    assert!(page.body.contains("Door alarm: forced open"));
    assert!(!page.body.contains("alice logged on after connecting"));
    let page = admin.get("/live");
    assert!(page.body.contains("alice logged on after connecting"));
}

#[test]
fn an_analyst_switches_a_rule_off_from_the_rules_page() {
    let (_dir, server) = started();
    let admin = server.admin_console();
    let rules = admin.get("/rules");
    assert_eq!(rules.status, 200);
    assert!(rules.body.contains("Door Forced Open"));
    assert!(rules.body.contains("physical.forced_entry"));
    let disable = format!("/rules/{FORCED_RULE}/disable");
    assert!(rules.body.contains(&disable), "a Disable button");

    // Without the form's token the change is refused.
    let refused = admin.post_form(&disable, &[]);
    assert_eq!(refused.status, 403);
    let (_, listed) = server.get("/api/v1/rules", &[]);
    let enabled = |listed: &Value| {
        listed["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == FORCED_RULE)
            .unwrap()["enabled"]
            .clone()
    };
    assert_eq!(enabled(&listed), true);

    let csrf = admin.csrf("/rules");
    let done = admin.post_form(&disable, &[("csrf", &csrf)]);
    assert_eq!(done.status, 303);
    let back = done.location.expect("back to the rules");
    assert!(back.starts_with("/rules?"), "{back}");
    let after = admin.get(&back);
    assert!(after.body.contains("Rule “Door Forced Open” switched off."));
    let row_start = after.body.find(FORCED_RULE).unwrap();
    let row = &after.body[row_start..row_start + after.body[row_start..].find("</tr>").unwrap()];
    assert!(row.contains("Disabled"), "{row}");
    assert!(
        row.contains(&format!("/rules/{FORCED_RULE}/enable")),
        "{row}"
    );
    let (_, listed) = server.get("/api/v1/rules", &[]);
    assert_eq!(enabled(&listed), false);

    // Filtering by tag keeps the rule and drops others.
    let filtered = admin.get("/rules?tag=physical.forced_entry");
    assert!(filtered.body.contains("Door Forced Open"));
    assert!(!filtered.body.contains("Duress Signalled At A Reader"));
}

#[test]
fn an_administrator_adds_a_colleague_and_changes_roles() {
    let (_dir, server) = started();
    let admin = server.admin_console();
    let settings = admin.get("/settings");
    assert_eq!(settings.status, 200);
    assert!(settings.body.contains("SOC analyst"));
    let csrf = admin.csrf("/settings");

    let created = admin.post_form(
        "/settings/users",
        &[
            ("csrf", &csrf),
            ("name", "dana"),
            ("role", "soc_analyst"),
            ("password", "correct horse battery"),
        ],
    );
    assert_eq!(created.status, 303);
    let listed = admin.get(&created.location.unwrap());
    assert!(listed.body.contains("User “dana” created."));
    assert!(listed.body.contains("dana"));

    assert!(server.sign_in("dana", "wrong password").is_none());
    let dana = server
        .sign_in("dana", "correct horse battery")
        .expect("dana signs in");
    let rules = dana.get("/rules");
    assert_eq!(rules.status, 200);
    assert!(rules.body.contains("Door Forced Open"));
    assert!(rules.body.contains(">Rules</a>"), "Rules in dana's menu");
    assert!(
        !rules.body.contains(">Settings</a>"),
        "no Settings in dana's menu"
    );
    assert!(
        rules
            .body
            .contains(&format!("/rules/{FORCED_RULE}/disable")),
        "analysts switch rules"
    );
    assert_eq!(dana.get("/settings").status, 403);
    let token = dana.csrf("/rules");
    let refused = dana.post_form(
        "/settings/users",
        &[("csrf", &token), ("name", "mallory"), ("role", "admin")],
    );
    assert_eq!(refused.status, 403);

    // A guard sees the rules but no switches.
    admin.post_form(
        "/settings/users",
        &[
            ("csrf", &csrf),
            ("name", "gus"),
            ("role", "physical_security"),
            ("password", "night shift at the gate"),
        ],
    );
    let gus = server
        .sign_in("gus", "night shift at the gate")
        .expect("gus signs in");
    let rules = gus.get("/rules");
    assert_eq!(rules.status, 200);
    assert!(rules.body.contains("Door Forced Open"));
    assert!(!rules.body.contains("/disable"), "no switches for a guard");
    let token = gus.csrf("/rules");
    assert_eq!(
        gus.post_form(
            &format!("/rules/{FORCED_RULE}/disable"),
            &[("csrf", &token)]
        )
        .status,
        403
    );

    // A user without a password given gets one generated, shown once.
    let created = admin.post_form(
        "/settings/users",
        &[("csrf", &csrf), ("name", "erik"), ("role", "auditor")],
    );
    assert_eq!(created.status, 200);
    let marker = "<code id=\"secret-value\">";
    let start = created.body.find(marker).expect("the password is shown") + marker.len();
    let password = &created.body[start..start + created.body[start..].find('<').unwrap()];
    assert!(server.sign_in("erik", password).is_some());
    assert!(!admin.get("/settings").body.contains(password));

    // Moving dana to HR responder takes Rules away from her at once.
    let changed = admin.post_form(
        "/settings/users/dana/role",
        &[("csrf", &csrf), ("role", "responder:hr")],
    );
    assert_eq!(changed.status, 303);
    assert_eq!(dana.get("/rules").status, 403);

    // An API token issued here works with its role and no more.
    let issued = admin.post_form(
        "/settings/tokens",
        &[("csrf", &csrf), ("name", "reporting"), ("role", "auditor")],
    );
    assert_eq!(issued.status, 200);
    let start = issued.body.find(marker).expect("the token is shown") + marker.len();
    let token = &issued.body[start..start + issued.body[start..].find('<').unwrap()];
    let search = TestServer::agent()
        .get(format!("{}/api/v1/search?q=*", server.url))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(search.status().as_u16(), 200);
    let register = TestServer::agent()
        .post(format!("{}/api/v1/sources", server.url))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(json!({"name": "x", "format": "tandem"}))
        .unwrap();
    assert_eq!(register.status().as_u16(), 403);
    assert!(admin.get("/settings").body.contains("reporting"));
}
