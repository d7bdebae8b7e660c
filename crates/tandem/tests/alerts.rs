//! Alerts through the real server: a terminated person's badge raises the native detection
//! and the shipped Sigma rule; both fold into ONE alert, a repeat adds to its count, and
//! triage from a stale version is refused with who changed what.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::TestServer;

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E2000,Bjørn Lie,bjorn.lie@nordlys.example,bjorn,Finance,,Controller,osl,2020-01-01,2026-03-01,20002
";

/// The Sigma rule shipped for the same situation (`rules/physical_access/terminated_person_granted.yml`).
const SIGMA_TERMINATED: &str = "7adade80-686e-4e02-bd31-c66ca37aa4f9";

fn places_file() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/directory.md");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("```yaml\nplaces:").expect("an example") + 8;
    let len = text[start..].find("```").unwrap();
    text[start..start + len].to_owned()
}

fn alerts(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/alerts", &[]);
    assert_eq!(status, 200, "{body}");
    body["alerts"].as_array().cloned().unwrap_or_default()
}

/// Waits until the alerts satisfy `done` (the driver works after the commit).
fn wait_alerts(server: &TestServer, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = alerts(server);
        if done(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "alerts never settled: {list:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn patch(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let mut resp = TestServer::agent()
        .patch(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .send_json(body)
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}

#[test]
fn a_terminated_badge_makes_one_alert_of_both_rules_and_stale_triage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, plan) = server.post("/api/v1/directory/records?file=places.yaml", &places_file());
    assert_eq!(status, 200, "{plan}");
    let (status, plan) = server.post("/api/v1/directory/hr?file=hr.csv", HR);
    assert_eq!(status, 200, "{plan}");
    let key = server.add_source("badges", "tandem");
    let badge = |minutes_ago: i64| {
        let time = (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
        format!(
            "{}\n",
            json!({"time": time, "class": "physical_access", "activity": "granted",
                   "outcome": "success", "actor": {"badge": "20002"},
                   "place": {"door": "Server room door"}})
        )
    };
    let (status, report) = server.ingest("badges", &key, badge(10).as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");

    let list = wait_alerts(&server, |l| {
        l.first()
            .is_some_and(|a| a["rules"].as_array().is_some_and(|r| r.len() == 2))
    });
    assert_eq!(list.len(), 1, "one alert for one situation: {list:#?}");
    let alert = &list[0];
    let rules: Vec<&str> = alert["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["rule_id"].as_str())
        .collect();
    assert!(rules.contains(&"tandem.terminated_access"), "{alert:#}");
    assert!(rules.contains(&SIGMA_TERMINATED), "{alert:#}");
    assert_eq!(alert["count"], 2, "{alert:#}");
    assert_eq!(alert["status"], "new");
    let id = alert["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ALR-"), "{id}");

    // The same badge again a few minutes later: the same alert counts it.
    let (status, _) = server.ingest("badges", &key, badge(5).as_bytes(), &[]);
    assert_eq!(status, 200);
    let list = wait_alerts(&server, |l| l.first().is_some_and(|a| a["count"] == 4));
    assert_eq!(list.len(), 1, "{list:#?}");

    // The alert in detail: its findings, timeline and the person's risk.
    let (status, detail) = server.get(&format!("/api/v1/alerts/{id}"), &[]);
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["findings"].as_array().unwrap().len(),
        4,
        "{detail:#}"
    );
    assert_eq!(detail["timeline"][0]["kind"], "opened", "{detail:#}");
    assert!(
        detail["risk"][0]["score"].as_f64().unwrap() > 0.0,
        "{detail:#}"
    );

    // An alert event is on the record, searchable like every event.
    assert!(server.total("class:incident_finding AND source:tandem-cases") >= 1);

    // Two analysts triage from the same version: the second is told who did what.
    let version = detail["alert"]["version"].as_u64().unwrap();
    let (status, body) = patch(
        &server,
        &format!("/api/v1/alerts/{id}"),
        json!({"base_version": version, "status": "acknowledged"}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = patch(
        &server,
        &format!("/api/v1/alerts/{id}"),
        json!({"base_version": version, "status": "closed", "resolution": "benign"}),
    );
    assert_eq!(status, 409, "{body}");
    // The token the server printed at first start belongs to `admin (first start)`.
    assert!(
        body["changed_by"].as_str().unwrap().starts_with("admin"),
        "{body}"
    );
    assert_eq!(body["change"], "status new → acknowledged", "{body}");
    assert!(body["error"].as_str().unwrap().contains("admin"), "{body}");

    // Without a version: refused clearly.
    let (status, body) = patch(
        &server,
        &format!("/api/v1/alerts/{id}"),
        json!({"status": "closed"}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("base_version"),
        "{body}"
    );

    // The command line: the queue, then closing the alert from its current version.
    let cli = |args: &[&str]| {
        let out = support::tandem()
            .args(args)
            .env("TANDEM_URL", &server.url)
            .env("TANDEM_TOKEN", &server.token)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let queue = cli(&["alerts", "--status", "acknowledged"]);
    assert!(queue.contains(&id) && queue.contains("1 alerts"), "{queue}");
    let closed = cli(&["alerts", "close", &id, "--resolution", "benign"]);
    assert!(closed.contains("closed"), "{closed}");
    let queue = cli(&["alerts", "--status", "new,acknowledged"]);
    assert!(queue.contains("0 alerts"), "{queue}");
}

/// The console's queue: an alert raised by another system shows with its risk, is
/// acknowledged from the queue, checked alerts close in bulk, and a stale triage form shows
/// who changed what.
#[test]
fn the_queue_acknowledges_and_closes_and_a_stale_form_says_who_changed_what() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let raise = |title: &str| {
        let (status, body) = server.post(
            "/api/v1/alerts",
            &json!({"title": title, "severity": "high", "entities": ["person:p-9"],
                    "summary": "Reported by the guard desk"})
            .to_string(),
        );
        assert_eq!(status, 201, "{body}");
        (
            body["alert"]["id"].as_str().unwrap().to_owned(),
            // Raising it opened an incident, so it is past its first version already.
            body["alert"]["version"].as_u64().unwrap().to_string(),
        )
    };
    let (first, version) = raise("Door propped open");
    let (second, _) = raise("Visitor without escort");

    let console = server.admin_console();
    let queue = console.get("/alerts");
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(queue.body.contains(&first) && queue.body.contains("Door propped open"));
    assert!(
        queue.body.contains("/static/alerts.js"),
        "keyboard triage is loaded"
    );
    // The risk column: one high alert each, 50 points, ranked.
    assert!(queue.body.contains("Risk"), "{}", queue.body);

    let csrf = console.csrf("/alerts");
    let done = console.post_form(
        &format!("/alerts/{first}/triage"),
        &[
            ("csrf", &csrf),
            ("base_version", &version),
            ("status", "acknowledged"),
            ("back", "queue"),
        ],
    );
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/alerts")),
        "{}",
        done.body
    );
    // The same form again, from the version it showed: who changed what.
    let stale = console.post_form(
        &format!("/alerts/{first}/triage"),
        &[
            ("csrf", &csrf),
            ("base_version", &version),
            ("status", "in_progress"),
        ],
    );
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(
        stale.body.contains("status new → acknowledged"),
        "{}",
        stale.body
    );

    let bulk = console.post_form(
        "/alerts/bulk",
        &[
            ("csrf", &csrf),
            ("id", &first),
            ("id", &second),
            ("action", "close"),
            ("resolution", "benign"),
        ],
    );
    assert_eq!(bulk.status, 303, "{}", bulk.body);
    let page = console.get(&format!("/alerts/{second}"));
    assert!(
        page.body.contains("closed") && page.body.contains("benign"),
        "{}",
        page.body
    );
    let open = console.get("/alerts");
    assert!(open.body.contains("0 alerts"), "{}", open.body);

    // Every change is in the audit log.
    let (_, log) = server.get("/api/v1/audit", &[]);
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["action"].as_str()).collect())
        .unwrap_or_default();
    for a in ["alert.raise", "alert.triage", "alert.bulk"] {
        assert!(actions.contains(&a), "{a} not audited: {log:#}");
    }
}

/// Where a browser test saves its screenshot: `docs/screenshots/` with
/// `TANDEM_SCREENSHOTS=1`, else the test's own directory.
fn screenshot_path(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    if std::env::var("TANDEM_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/screenshots")
            .join(name)
    } else {
        dir.join(name)
    }
}

/// An analyst opens the exceptions from the alert queue in a real browser, adds one for a
/// person about to be badged in, sees the findings it held back counted, and ends it; the
/// ended exception stays on the record. With `TANDEM_SCREENSHOTS=1` the page is saved as
/// `docs/screenshots/exceptions.png`.
#[test]
fn exceptions_are_added_counted_and_ended_from_their_page_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, plan) = server.post("/api/v1/directory/records?file=places.yaml", &places_file());
    assert_eq!(status, 200, "{plan}");
    let (status, plan) = server.post("/api/v1/directory/hr?file=hr.csv", HR);
    assert_eq!(status, 200, "{plan}");

    let browser = tandem_testkit::Browser::start(&server.url);
    browser.goto("/login");
    browser.wait_for_heading("Sign in to Tandem");
    browser.fill("User name", "admin");
    browser.fill("Password", server.admin_password.as_deref().unwrap());
    browser.click_button("Sign in");
    browser.wait_until("signing in", |b| !b.path().starts_with("/login"));
    browser.goto("/alerts");
    browser.wait_for_heading("Alerts");
    browser.click_link("Exceptions");
    browser.wait_for_heading("Alert exceptions");
    browser.wait_for_text("No exceptions in force.");
    browser.fill("Rule (its id, or * for every rule)", "*");
    browser.fill(
        "About (person:E1042, device:…, user:…, ip:…, place:…)",
        "person:E2000",
    );
    browser.fill(
        "Reason",
        "Bjørn is back for a handover week; Facilities escorts him.",
    );
    browser.click_button("Add the exception");
    browser.wait_for_text("Bjørn is back for a handover week");
    let text = browser.text();
    assert!(
        text.contains("every rule") && text.contains("in force"),
        "{text}"
    );
    assert!(text.contains("Bjørn Lie"), "the person by name: {text}");

    // His badge at the server room: the exception holds the findings back, counted.
    let key = server.add_source("badges", "tandem");
    let time = (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339();
    let line = format!(
        "{}\n",
        json!({"time": time, "class": "physical_access", "activity": "granted",
               "outcome": "success", "actor": {"badge": "20002"},
               "place": {"door": "Server room door"}})
    );
    let (status, report) = server.ingest("badges", &key, line.as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = server.get("/api/v1/alerts/exceptions", &[]);
        if body["exceptions"][0]["matched"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "nothing held back: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(alerts(&server).is_empty(), "no alert was raised");
    browser.goto("/alerts/exceptions");
    browser.wait_for_text("last one ");
    browser.assert_accessible();
    browser.screenshot(&screenshot_path(dir.path(), "exceptions.png"));

    browser.click_button("End now");
    browser.wait_for_text("No exceptions in force.");
    browser.click_link("Ended and expired ones too");
    browser.wait_for_text("ended by admin");
    let (_, log) = server.get("/api/v1/audit", &[]);
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("alert.exception"))
        .collect();
    assert_eq!(actions, ["alert.exception.add", "alert.exception.end"]);
    drop(browser);
    server.terminate();
}
