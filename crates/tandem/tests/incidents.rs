//! An incident worked by Security, HR and Facilities through the real server's API: tasks in
//! order, evidence, an SLA warning on a task left open (the clock moved by `sla-check`, never
//! slept), a stale change refused with who changed what, the review gating the close, and
//! the timeline and milestones exactly as it happened.

mod support;

use serde_json::{Value, json};
use support::{Seeded, TestServer, start_with_accounts};

const PLAYBOOK: &str = r#"
id: terminated_access
title: Terminated employee access
selects: { rules: [tandem.terminated_access] }
tasks:
  - id: contain
    title: Disable the badge and the accounts
    department: security
    sla: { high: { warn: 15, breach: 60 } }
  - id: confirm_status
    title: Confirm the employment status
    department: hr
    sla: { high: { warn: 30, breach: 240 } }
  - id: check_door
    title: Check the door and recover the badge
    department: facilities
    after: [contain]
    evidence: [door photo]
    sla: { high: { warn: 60, breach: 480 } }
"#;

struct Caller<'a> {
    server: &'a TestServer,
    token: String,
}

impl Caller<'_> {
    fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let agent = TestServer::agent();
        let url = format!("{}{path}", self.server.url);
        let auth = format!("Bearer {}", self.token);
        let mut resp = match (method, body) {
            ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
            ("POST", Some(b)) => agent.post(&url).header("Authorization", &auth).send_json(b),
            ("POST", None) => agent.post(&url).header("Authorization", &auth).send_empty(),
            ("PATCH", Some(b)) => agent
                .patch(&url)
                .header("Authorization", &auth)
                .send_json(b),
            ("PUT", Some(b)) => agent.put(&url).header("Authorization", &auth).send_json(b),
            _ => unreachable!(),
        }
        .expect("request sent");
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_json().unwrap_or(Value::Null))
    }

    fn task(&self, id: &str, task: &str, action: &str, body: Value) -> (u16, Value) {
        self.send(
            "POST",
            &format!("/api/v1/incidents/{id}/tasks/{task}/{action}"),
            Some(body),
        )
    }
}

fn kinds(timeline: &Value) -> Vec<(String, String, String)> {
    timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["detail"]["task"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn entry_time(timeline: &Value, kind: &str, nth: usize) -> Value {
    timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .nth(nth)
        .unwrap_or_else(|| panic!("no {kind} #{nth} in {timeline}"))["time"]
        .clone()
}

/// A server reading the test's playbooks (`tandem.toml` beside the data directory, which
/// the server's working directory holds), with an account for each responder role.
fn start(dir: &std::path::Path, with_password: &[&str]) -> (TestServer, Vec<Seeded>) {
    let playbooks = dir.join("playbooks");
    std::fs::create_dir_all(&playbooks).unwrap();
    std::fs::write(playbooks.join("terminated_access.yaml"), PLAYBOOK).unwrap();
    std::fs::write(
        dir.join("tandem.toml"),
        format!(
            "[incidents]\nmax_evidence_mib = 1\n\n[cases]\nplaybook_dirs = [{:?}]\n",
            playbooks.display().to_string()
        ),
    )
    .unwrap();
    let roles: Vec<String> = [
        "responder:security",
        "responder:hr",
        "responder:facilities",
        "responder:legal",
        "soc_analyst",
    ]
    .map(String::from)
    .to_vec();
    start_with_accounts(&dir.join("data"), &roles, with_password)
}

fn open_incident(admin: &Caller) -> String {
    let (status, body) = admin.send(
        "POST",
        "/api/v1/incidents",
        Some(json!({
            "title": "Terminated employee badged in at Oslo HQ",
            "severity": "high",
            "playbook": "terminated_access",
            "entities": {"persons": ["E1042"], "sites": ["osl"]},
        })),
    );
    assert_eq!(status, 201, "{body}");
    body["incident"]["id"].as_str().unwrap().to_owned()
}

/// A Facilities responder takes and completes the task waiting for them from "My tasks" in
/// a real browser; the incident page then shows it done. With `TANDEM_SCREENSHOTS=1` the
/// incident page is saved as `docs/screenshots/incident.png`.
#[test]
fn a_facilities_responder_completes_a_task_from_my_tasks_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (server, seeded) = start(dir.path(), &["responder:facilities"]);
    let admin = Caller {
        server: &server,
        token: server.token.clone(),
    };
    let id = open_incident(&admin);
    // Security's part is done, and the door photo is attached: Facilities can finish.
    assert_eq!(admin.task(&id, "contain", "complete", json!({})).0, 200);
    let (status, _) = {
        let mut resp = TestServer::agent()
            .post(format!(
                "{}/api/v1/incidents/{id}/tasks/check_door/evidence",
                server.url
            ))
            .query("name", "door-3.png")
            .header("Authorization", format!("Bearer {}", server.token))
            .send(&b"photo"[..])
            .unwrap();
        (resp.status().as_u16(), resp.body_mut().read_to_string())
    };
    assert_eq!(status, 200);
    let fiona = seeded
        .iter()
        .find(|s| s.role == "responder:facilities")
        .unwrap();

    let browser = tandem_testkit::Browser::start(&server.url);
    browser.goto("/login");
    browser.wait_for_heading("Sign in to Tandem");
    browser.fill("User name", &fiona.user);
    browser.fill("Password", fiona.password.as_deref().unwrap());
    browser.click_button("Sign in");
    browser.wait_until("signing in", |b| !b.path().starts_with("/login"));
    browser.goto("/tasks");
    browser.wait_for_heading("My department's tasks");
    browser.wait_for_text("Facilities: open tasks");
    browser.wait_for_text("Check the door and recover the badge");
    let text = browser.text();
    assert!(!text.contains("Confirm the employment status"), "{text}");
    browser.assert_accessible();
    browser.click_button("Take");
    browser.wait_for_text("in progress");
    browser.click_button("Complete");
    browser.wait_for_text("Nothing to do.");

    browser.goto(&format!("/incidents/{id}"));
    browser.wait_for_text("Tasks by department");
    let text = browser.text();
    assert!(text.contains("completed task check_door"), "{text}");
    assert!(text.contains("door photo (attached)"), "{text}");
    browser.assert_accessible();
    let shots = if std::env::var("TANDEM_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
    } else {
        dir.path().to_owned()
    };
    let path = shots.join("incident.png");
    browser.screenshot(&path);
    assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
    drop(browser);
    server.terminate();
}

#[test]
fn departments_work_an_incident_through_to_a_reviewed_close() {
    let dir = tempfile::tempdir().unwrap();
    let (server, seeded) = start(dir.path(), &[]);
    let who = |role: &str| -> (Caller<'_>, String) {
        let s: &Seeded = seeded.iter().find(|s| s.role == role).unwrap();
        (
            Caller {
                server: &server,
                token: s.token.clone(),
            },
            format!("token-{}", s.user),
        )
    };
    let admin = Caller {
        server: &server,
        token: server.token.clone(),
    };
    let (security, security_name) = who("responder:security");
    let (hr, hr_name) = who("responder:hr");
    let (facilities, facilities_name) = who("responder:facilities");

    // Responders do not open incidents.
    let new = json!({
        "title": "Terminated employee badged in at Oslo HQ",
        "severity": "high",
        "playbook": "terminated_access",
        "entities": {"persons": ["E1042"], "sites": ["osl"]},
    });
    assert_eq!(
        hr.send("POST", "/api/v1/incidents", Some(new.clone())).0,
        403
    );
    let (status, body) = admin.send("POST", "/api/v1/incidents", Some(new));
    assert_eq!(status, 201, "{body}");
    let id = body["incident"]["id"].as_str().unwrap().to_owned();
    let states: Vec<(&str, &str, &str)> = body["incident"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap(),
                t["department"].as_str().unwrap(),
                t["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("contain", "security", "open"),
            ("confirm_status", "hr", "open"),
            ("check_door", "facilities", "blocked"),
        ]
    );

    // Each department sees the incident, and its own tasks on "my tasks".
    let (status, list) = hr.send("GET", "/api/v1/incidents", None);
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    let (_, mine) = hr.send("GET", "/api/v1/tasks?mine=1", None);
    let mine: Vec<&str> = mine["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(mine, ["confirm_status"]);

    // Facilities may not act on Security's task, and its own waits for it.
    let (status, body) = facilities.task(&id, "contain", "take", json!({}));
    assert_eq!(status, 403, "{body}");
    let (status, body) = facilities.task(&id, "check_door", "complete", json!({}));
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("waits for contain"),
        "{body}"
    );

    // Security takes and completes its task: Facilities' task opens.
    assert_eq!(security.task(&id, "contain", "take", json!({})).0, 200);
    let (status, body) = security.task(&id, "contain", "complete", json!({}));
    assert_eq!(status, 200, "{body}");
    let check = &body["incident"]["tasks"][2];
    assert_eq!(check["state"], "open");

    // 45 minutes on, HR's task (warn at 30) is warned; Facilities' (opened just now, warn
    // at 60) is not. Only administrators move the clock.
    let later = (chrono::Utc::now() + chrono::Duration::minutes(45))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        hr.send(
            "POST",
            "/api/v1/incidents/sla-check",
            Some(json!({"at": later}))
        )
        .0,
        403
    );
    let (status, body) = admin.send(
        "POST",
        "/api/v1/incidents/sla-check",
        Some(json!({"at": later})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["report"]["warned"], json!([[id, "confirm_status"]]));
    assert_eq!(body["report"]["breached"], json!([]));
    // A second check at the same time warns nobody again.
    let (_, body) = admin.send(
        "POST",
        "/api/v1/incidents/sla-check",
        Some(json!({"at": later})),
    );
    assert_eq!(body["report"]["warned"], json!([]));

    // HR completes; Facilities needs its evidence first.
    assert_eq!(hr.task(&id, "confirm_status", "complete", json!({})).0, 200);
    let (status, body) = facilities.task(&id, "check_door", "complete", json!({}));
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("door photo"),
        "{body}"
    );
    // Evidence is bounded by [incidents] max_evidence_mib (1 MiB here).
    let too_big = TestServer::agent()
        .post(format!(
            "{}/api/v1/incidents/{id}/tasks/check_door/evidence",
            server.url
        ))
        .query("name", "door-3.raw")
        .header("Authorization", format!("Bearer {}", facilities.token))
        .send(&vec![0u8; 1024 * 1024 + 1][..])
        .unwrap();
    assert_eq!(too_big.status().as_u16(), 413);
    let mut resp = TestServer::agent()
        .post(format!(
            "{}/api/v1/incidents/{id}/tasks/check_door/evidence",
            server.url
        ))
        .query("name", "door-3.png")
        .header("Authorization", format!("Bearer {}", facilities.token))
        .header("Content-Type", "image/png")
        .send(&b"\x89PNG not really"[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.body_mut().read_json().unwrap();
    assert_eq!(body["incident"]["evidence"][0]["item"], "door photo");
    assert_eq!(body["incident"]["evidence"][0]["size"], 15);
    let (status, body) = facilities.task(&id, "check_door", "complete", json!({}));
    assert_eq!(status, 200, "{body}");
    let version = body["incident"]["version"].as_u64().unwrap();

    // A change based on the version first read is refused, naming who changed what.
    let (status, body) = admin.send(
        "PATCH",
        &format!("/api/v1/incidents/{id}"),
        Some(json!({"base_version": 1, "status": "contained"})),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["changed_by"], facilities_name.as_str());
    assert_eq!(body["change"], "completed task check_door");
    assert_eq!(body["current_version"], version);

    let (status, body) = admin.send(
        "PATCH",
        &format!("/api/v1/incidents/{id}"),
        Some(json!({"base_version": version, "status": "contained"})),
    );
    assert_eq!(status, 200, "{body}");
    let version = body["incident"]["version"].as_u64().unwrap();

    // A high incident does not close before its review is written.
    let close =
        |v: u64| json!({"base_version": v, "status": "closed", "resolution": "true_positive"});
    let (status, body) = admin.send(
        "PATCH",
        &format!("/api/v1/incidents/{id}"),
        Some(close(version)),
    );
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("review"), "{body}");
    let (status, body) = admin.send(
        "PUT",
        &format!("/api/v1/incidents/{id}/review"),
        Some(json!({
            "summary": "The badge stayed active two days after the termination.",
            "went_well": "HR confirmed within the hour.",
            "contributing_factors": "Badge revocation is manual.",
            "action_items": [{"title": "Revoke badges from the HR feed", "department": "facilities", "due": "2027-01-15"}],
        })),
    );
    assert_eq!(status, 200, "{body}");
    let version = body["incident"]["version"].as_u64().unwrap();
    let (status, body) = admin.send(
        "PATCH",
        &format!("/api/v1/incidents/{id}"),
        Some(close(version)),
    );
    assert_eq!(status, 200, "{body}");

    let (_, items) = facilities.send("GET", "/api/v1/action-items?open=1", None);
    assert_eq!(
        items["action_items"][0]["item"]["title"],
        "Revoke badges from the HR feed"
    );
    assert_eq!(items["action_items"][0]["incident"], id.as_str());

    // The timeline, exactly.
    let (status, body) = hr.send("GET", &format!("/api/v1/incidents/{id}"), None);
    assert_eq!(status, 200);
    let timeline = &body["timeline"];
    let t = |k: &str, a: &str, task: &str| (k.to_owned(), a.to_owned(), task.to_owned());
    let admin_name = kinds(timeline)[0].1.clone();
    assert_eq!(
        kinds(timeline),
        [
            t("opened", &admin_name, ""),
            t("task_taken", &security_name, "contain"),
            t("task_completed", &security_name, "contain"),
            t("task_opened", &security_name, "check_door"),
            t("sla_warn", "tandem", "confirm_status"),
            t("task_completed", &hr_name, "confirm_status"),
            t("evidence", &facilities_name, "check_door"),
            t("task_completed", &facilities_name, "check_door"),
            t("status", &admin_name, ""),
            t("review", &admin_name, ""),
            t("resolution", &admin_name, ""),
            t("status", &admin_name, ""),
        ]
    );
    assert_eq!(
        entry_time(timeline, "sla_warn", 0)
            .as_str()
            .map(|s| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
        Some(later.parse::<chrono::DateTime<chrono::Utc>>().unwrap())
    );
    // The milestones are the times of the changes that reached them.
    let m = &body["incident"]["milestones"];
    let same = |milestone: &str, kind: &str, nth: usize| {
        let a: chrono::DateTime<chrono::Utc> = m[milestone].as_str().unwrap().parse().unwrap();
        let b: chrono::DateTime<chrono::Utc> = entry_time(timeline, kind, nth)
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(a, b, "{milestone}");
    };
    same("detected", "opened", 0);
    same("occurred", "opened", 0);
    same("acknowledged", "status", 0);
    same("contained", "status", 0);
    same("resolved", "status", 1);
    same("closed", "status", 1);
    assert_eq!(body["incident"]["status"], "closed");

    // The command line shows the same incident.
    let out = support::tandem()
        .args(["incidents", &id])
        .env("TANDEM_URL", &server.url)
        .env("TANDEM_TOKEN", &server.token)
        .env_remove("TANDEM_CONFIG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("status closed"), "{text}");
    assert!(text.contains("check_door"), "{text}");
    assert!(text.contains("sla_warn"), "{text}");
    let out = support::tandem()
        .args(["incidents", "--status", "closed"])
        .env("TANDEM_URL", &server.url)
        .env("TANDEM_TOKEN", &server.token)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&id) && text.contains("1 incidents"), "{text}");

    // Every change is in the audit log.
    let (_, audit) = server.get("/api/v1/audit", &[("limit", "100")]);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    for a in [
        "incident.open",
        "incident.task.take",
        "incident.task.complete",
        "incident.task.evidence",
        "incident.change",
        "incident.review",
        "incident.sla_check",
    ] {
        assert!(actions.contains(&a), "{a} not audited: {audit}");
    }
    server.terminate();
}

/// The incident page's forms: a status change based on the version the page showed is
/// saved; the same form sent again after it is refused, naming who changed what; the review
/// form writes the review with an action item; a responder comments, mentioning a department.
#[test]
fn the_incident_page_changes_status_refuses_a_stale_form_and_writes_the_review() {
    let dir = tempfile::tempdir().unwrap();
    let (server, seeded) = start(dir.path(), &["responder:hr"]);
    let admin = Caller {
        server: &server,
        token: server.token.clone(),
    };
    let id = open_incident(&admin);
    let console = server.admin_console();
    let page = console.get(&format!("/incidents/{id}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Tasks by department"), "{}", page.body);
    assert!(page.body.contains("closes only once its review is written"));
    let csrf = console.csrf(&format!("/incidents/{id}"));
    let form = |status: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("base_version", "1".to_owned()),
            ("status", status.to_owned()),
            ("severity", "high".to_owned()),
            ("resolution", String::new()),
        ]
    };
    let send = |fields: &[(&str, String)], path: &str| {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        console.post_form(path, &f)
    };
    let change = format!("/incidents/{id}/change");
    let saved = send(&form("acknowledged"), &change);
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stale = send(&form("contained"), &change);
    assert_eq!(stale.status, 409);
    assert!(
        stale
            .body
            .contains("changed this incident meanwhile (status new → acknowledged)"),
        "{}",
        stale.body
    );

    let review = send(
        &[
            ("csrf", csrf.clone()),
            ("summary", "The badge stayed active.".to_owned()),
            ("impact", String::new()),
            ("went_well", String::new()),
            ("contributing_factors", String::new()),
            ("item_title", "Revoke badges from the HR feed".to_owned()),
            ("item_department", "facilities".to_owned()),
            ("item_due", "2027-01-15".to_owned()),
        ],
        &format!("/incidents/{id}/review"),
    );
    assert_eq!(review.status, 303, "{}", review.body);
    let page = console.get(&format!("/incidents/{id}"));
    assert!(page.body.contains("Revoke badges from the HR feed"));
    assert!(page.body.contains("wrote the review"));
    let items = console.get("/action-items");
    assert_eq!(items.status, 200);
    assert!(
        items.body.contains("Revoke badges from the HR feed") && items.body.contains("Facilities"),
        "{}",
        items.body
    );

    // An HR responder comments; they cannot change the status.
    let hr = seeded.iter().find(|s| s.role == "responder:hr").unwrap();
    let hana = server
        .sign_in(&hr.user, hr.password.as_deref().unwrap())
        .unwrap();
    let csrf = hana.csrf(&format!("/incidents/{id}"));
    let page = hana.get(&format!("/incidents/{id}"));
    assert!(!page.body.contains("Save the review"), "{}", page.body);
    let commented = hana.post_form(
        &format!("/incidents/{id}/comments"),
        &[
            ("csrf", csrf.as_str()),
            ("text", "@security the badge is E1042's"),
        ],
    );
    assert_eq!(commented.status, 303, "{}", commented.body);
    let page = hana.get(&format!("/incidents/{id}"));
    assert!(page.body.contains("→ Security"), "{}", page.body);
    let refused = hana.post_form(
        &change,
        &[
            ("csrf", csrf.as_str()),
            ("base_version", "2"),
            ("status", "closed"),
        ],
    );
    assert_eq!(refused.status, 403);
    server.terminate();
}

fn account<'a>(seeded: &'a [Seeded], role: &str) -> &'a Seeded {
    seeded.iter().find(|s| s.role == role).unwrap()
}

/// A raw GET with a token: status, headers and body bytes.
fn download(server: &TestServer, token: &str, path: &str) -> (u16, ureq::http::HeaderMap, Vec<u8>) {
    let mut resp = TestServer::agent()
        .get(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.body_mut().read_to_vec().unwrap_or_default();
    (status, headers, body)
}

/// An HTML file attached to an incident downloads as an attachment of an inert type, never
/// as a page of the console; only those who may see the incident may download it (a Legal
/// responder, whose department has no task in it, is told it does not exist).
#[test]
fn evidence_downloads_as_an_attachment_only_for_those_who_see_the_incident() {
    let dir = tempfile::tempdir().unwrap();
    let (server, seeded) = start(dir.path(), &[]);
    let admin = Caller {
        server: &server,
        token: server.token.clone(),
    };
    let id = open_incident(&admin);
    let html = b"<html><script>alert(document.cookie)</script></html>";
    let mut resp = TestServer::agent()
        .post(format!("{}/api/v1/incidents/{id}/evidence", server.url))
        .query("name", "report \"Q1\".html")
        .header("Authorization", format!("Bearer {}", server.token))
        .header("Content-Type", "text/html")
        .send(&html[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.body_mut().read_json().unwrap();
    let file = &body["incident"]["evidence"][0];
    assert_eq!(file["name"], "report \"Q1\".html");
    assert!(file.get("task").is_none(), "{file}");
    let sha = file["sha256"].as_str().unwrap().to_owned();

    let path = format!("/api/v1/incidents/{id}/evidence/{sha}");
    let (status, headers, bytes) = download(&server, &server.token, &path);
    assert_eq!(status, 200);
    assert_eq!(bytes, html);
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let disposition = header("content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"report _Q1_.html\""),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''report%20%22Q1%22.html"),
        "{disposition}"
    );
    assert!(header("content-security-policy").contains("sandbox"));

    // HR has a task in the incident; Legal has none and sees nothing.
    let hr = account(&seeded, "responder:hr");
    assert_eq!(download(&server, &hr.token, &path).0, 200);
    let legal = account(&seeded, "responder:legal");
    assert_eq!(download(&server, &legal.token, &path).0, 404);
    let (status, _, _) = download(
        &server,
        &server.token,
        &format!("/api/v1/incidents/{id}/evidence/{}", "0".repeat(64)),
    );
    assert_eq!(status, 404);

    // The console links the file and serves it the same way.
    let console = server.admin_console();
    let page = console.get(&format!("/incidents/{id}"));
    let link = format!("/incidents/{id}/evidence/{sha}");
    // Templates escape `/` in attributes.
    assert!(
        page.body.contains(&link.replace('/', "&#x2f;")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Attach a file to the incident"));
    let mut resp = TestServer::agent()
        .get(format!("{}{link}", server.url))
        .header("Cookie", &console.cookie)
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(resp.body_mut().read_to_vec().unwrap(), html);
    let (_, timeline) = admin.send("GET", &format!("/api/v1/incidents/{id}"), None);
    assert!(
        kinds(&timeline["timeline"])
            .iter()
            .any(|(k, _, task)| k == "evidence" && task.is_empty())
    );
    server.terminate();
}

/// Review action items are marked done from the action items list by their department's
/// responder (another department's item is refused), and from the review; each is audited.
#[test]
fn action_items_are_marked_done_from_the_list_and_the_review() {
    let dir = tempfile::tempdir().unwrap();
    let (server, seeded) = start(dir.path(), &["responder:facilities"]);
    let admin = Caller {
        server: &server,
        token: server.token.clone(),
    };
    let id = open_incident(&admin);
    let (status, body) = admin.send(
        "PUT",
        &format!("/api/v1/incidents/{id}/review"),
        Some(json!({
            "summary": "The badge stayed active for a day.",
            "action_items": [
                {"title": "Revoke badges from the HR feed", "department": "facilities", "due": "2027-01-15"},
                {"title": "Same-day leaver checklist", "department": "hr", "due": "2027-02-01"},
            ],
        })),
    );
    assert_eq!(status, 200, "{body}");
    let fac = account(&seeded, "responder:facilities");
    let fiona = server
        .sign_in(&fac.user, fac.password.as_deref().unwrap())
        .unwrap();
    let list = fiona.get("/action-items");
    assert!(list.body.contains("Mark done"), "{}", list.body);
    assert!(!list.body.contains("Same-day leaver checklist"));
    let csrf = fiona.csrf("/action-items");
    let done = fiona.post_form(
        &format!("/incidents/{id}/action-items/A1/done"),
        &[("csrf", csrf.as_str()), ("back", "action-items")],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/action-items"));
    let list = fiona.get("/action-items");
    assert!(
        !list.body.contains("Revoke badges from the HR feed"),
        "{}",
        list.body
    );
    let all = fiona.get("/action-items?show=all");
    assert!(all.body.contains("Revoke badges from the HR feed"));
    // HR's item is not Facilities' to close.
    let refused = Caller {
        server: &server,
        token: fac.token.clone(),
    }
    .send(
        "POST",
        &format!("/api/v1/incidents/{id}/action-items/A2"),
        Some(json!({"done": true})),
    );
    assert_eq!(refused.0, 403, "{}", refused.1);
    // The review's own button, for an analyst.
    let console = server.admin_console();
    let page = console.get(&format!("/incidents/{id}"));
    assert!(
        page.body.contains("Mark Same-day leaver checklist done"),
        "{}",
        page.body
    );
    let csrf = console.csrf(&format!("/incidents/{id}"));
    let done = console.post_form(
        &format!("/incidents/{id}/action-items/A2/done"),
        &[("csrf", csrf.as_str())],
    );
    assert_eq!(done.status, 303);
    let (_, open) = admin.send("GET", "/api/v1/action-items?open=1", None);
    assert_eq!(open["action_items"], json!([]));
    let (_, log) = server.get("/api/v1/audit", &[]);
    let actors: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "incident.action_item")
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, [fac.user.as_str(), "admin"], "{log}");
    let (_, inc) = admin.send("GET", &format!("/api/v1/incidents/{id}"), None);
    let kinds = kinds(&inc["timeline"]);
    assert_eq!(
        kinds
            .iter()
            .filter(|(k, _, _)| k == "action_item_done")
            .count(),
        2
    );
    server.terminate();
}

/// The incident page's other forms, one click each: assign me, switch the playbook to one in
/// force, merge into another open incident (which then shows the merged one's work).
#[test]
fn the_incident_page_assigns_switches_the_playbook_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path(), &[]);
    let admin = Caller {
        server: &server,
        token: server.token.clone(),
    };
    let first = open_incident(&admin);
    let second = open_incident(&admin);
    let console = server.admin_console();
    let path = format!("/incidents/{second}");
    let page = console.get(&path);
    assert!(page.body.contains("Switch playbook"), "{}", page.body);
    assert!(page.body.contains("Security alert (general triage)"));
    assert!(page.body.contains(&format!("<option value=\"{first}\">")));
    assert!(page.body.contains("nobody yet"));
    let csrf = console.csrf(&path);
    let change = format!("/incidents/{second}/change");
    let assigned = console.post_form(
        &change,
        &[
            ("csrf", &csrf),
            ("base_version", "1"),
            ("assignees", "admin"),
        ],
    );
    assert_eq!(assigned.status, 303, "{}", assigned.body);
    let switched = console.post_form(
        &change,
        &[
            ("csrf", &csrf),
            ("base_version", "2"),
            ("playbook", "generic"),
        ],
    );
    assert_eq!(switched.status, 303, "{}", switched.body);
    let page = console.get(&path);
    assert!(
        page.body.contains("switched the playbook to generic"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<strong>admin</strong>"));
    let merged = console.post_form(
        &format!("/incidents/{second}/merge"),
        &[("csrf", &csrf), ("into", &first)],
    );
    assert_eq!(merged.status, 303, "{}", merged.body);
    assert_eq!(
        merged.location.as_deref(),
        Some(path.replace(&second, &first).as_str())
    );
    let page = console.get(&format!("/incidents/{first}"));
    assert!(
        page.body.contains(&format!("merged {second} into it")),
        "{}",
        page.body
    );
    let (_, dup) = admin.send("GET", &format!("/api/v1/incidents/{second}"), None);
    assert_eq!(dup["incident"]["status"], "closed");
    assert_eq!(dup["incident"]["merged_into"], first.as_str());
    server.terminate();
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

/// A browser signed in as `account`.
fn browser_as(server: &TestServer, account: &Seeded) -> tandem_testkit::Browser {
    let browser = tandem_testkit::Browser::start(&server.url);
    browser.goto("/login");
    browser.wait_for_heading("Sign in to Tandem");
    browser.fill("User name", &account.user);
    browser.fill("Password", account.password.as_deref().unwrap());
    browser.click_button("Sign in");
    browser.wait_until("signing in", |b| !b.path().starts_with("/login"));
    browser
}

const HR_CSV: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E1042,Kari Nordmann,kari.nordmann@nordlys.example,kari,Finance,,Controller,osl,2020-01-01,2026-03-01,10042
";

/// A Security analyst works an incident's page in a real browser: the board shows each
/// department's tasks, the status changes with one form, a file is attached through the
/// page's script and listed for download, and the observables lead to a search for the
/// address and to the person's 360 page.
#[test]
fn a_security_analyst_works_the_incident_page_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (server, seeded) = start(dir.path(), &["soc_analyst"]);
    let (status, plan) = server.post("/api/v1/directory/hr?file=hr.csv", HR_CSV);
    assert_eq!(status, 200, "{plan}");
    let admin = Caller {
        server: &server,
        token: server.token.clone(),
    };
    let (status, body) = admin.send(
        "POST",
        "/api/v1/incidents",
        Some(json!({
            "title": "Terminated employee badged in at Oslo HQ",
            "severity": "high",
            "playbook": "terminated_access",
            "entities": {"persons": ["E1042"], "sites": ["osl"]},
            "observables": [
                {"kind": "person", "value": "E1042"},
                {"kind": "ip", "value": "10.1.2.3"},
            ],
        })),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["incident"]["id"].as_str().unwrap().to_owned();
    let analyst = account(&seeded, "soc_analyst");
    let browser = browser_as(&server, analyst);
    browser.goto("/incidents");
    browser.click_link(&id);
    browser.wait_for_text("Tasks by department");
    let columns = browser.execute(
        "return Array.from(document.querySelectorAll('section.department h3')).map(h => h.textContent)",
    );
    assert_eq!(columns, json!(["Security", "HR", "Facilities"]));
    let text = browser.text();
    assert!(
        text.contains("Disable the badge and the accounts"),
        "{text}"
    );
    assert!(
        text.contains("Evidence needed: door photo (missing)"),
        "{text}"
    );
    browser.assert_accessible();

    // Status: one form, saved, shown, on the timeline.
    browser.fill("Status", "in progress");
    browser.click_button("Save");
    browser.wait_for_text("status new → in_progress");
    let status = browser.execute("return document.querySelector('.incident-status').textContent");
    assert_eq!(status, json!("in progress"));

    // A file for the whole incident, through the page's upload script.
    let notes = dir.path().join("handover-notes.txt");
    std::fs::write(&notes, "Badge 10042 collected at reception.").unwrap();
    browser.type_keys("Attach a file to the incident", notes.to_str().unwrap());
    browser.click_css(&format!(
        "form[data-upload=\"/api/v1/incidents/{id}/evidence\"] button"
    ));
    browser.wait_for_text("attached handover-notes.txt");
    let href =
        browser.execute("return document.querySelector('ul.evidence a').getAttribute('href')");
    assert!(
        href.as_str()
            .unwrap()
            .starts_with(&format!("/incidents/{id}/evidence/")),
        "{href}"
    );

    // Observables lead to search and to the person's 360 page.
    browser.click_css("a[href^='/search?q=ip']");
    browser.wait_until("the search opens", |b| b.path().starts_with("/search"));
    let query = browser.execute("return document.querySelector('input[name=q]').value");
    assert_eq!(query, json!("ip:\"10.1.2.3\""));
    browser.goto(&format!("/incidents/{id}"));
    browser.wait_for_text("Observables");
    browser.click_link("person 360");
    browser.wait_until("the person's page opens", |b| b.path() == "/people/E1042");
    assert!(
        browser.heading().starts_with("Kari Nordmann"),
        "{}",
        browser.heading()
    );

    browser.goto(&format!("/incidents/{id}"));
    browser.wait_for_text("Tasks by department");
    browser.execute("document.getElementById('dept-security').scrollIntoView(); return null;");
    browser.screenshot(&screenshot_path(dir.path(), "incident-analyst.png"));
    drop(browser);
    server.terminate();
}

/// The review gates the close of a high incident, in a real browser: closing is refused on
/// the incident page itself, with a link to the review; the analyst writes it with an action
/// item, and then the same close goes through. With `TANDEM_SCREENSHOTS=1` the review is
/// saved as `docs/screenshots/review.png`.
#[test]
fn an_analyst_writes_the_review_of_a_high_incident_and_only_then_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, seeded) = start(dir.path(), &["soc_analyst"]);
    let admin = Caller {
        server: &server,
        token: server.token.clone(),
    };
    let id = open_incident(&admin);
    let analyst = account(&seeded, "soc_analyst");
    let browser = browser_as(&server, analyst);
    browser.goto(&format!("/incidents/{id}"));
    browser.wait_for_text("closes only once its review is written");

    browser.fill("Status", "closed");
    browser.fill("Resolution", "true positive");
    browser.click_button("Save");
    browser.wait_for_text("write the post-incident review before closing it");
    let status = browser.execute("return document.querySelector('.incident-status').textContent");
    assert_eq!(status, json!("new"), "not closed");
    browser.click_link("Write the review");

    browser.fill(
        "Summary (blameless: what happened)",
        "A leaver's badge stayed active for a day after HR recorded the termination.",
    );
    browser.fill("Impact", "One entry to the server room; nothing taken.");
    browser.fill(
        "What went well",
        "The detection fired at the first badge-in; Security disabled the badge in 9 minutes.",
    );
    browser.fill(
        "Contributing factors",
        "Badge revocation waits for a nightly export from the HR system.",
    );
    browser.fill("Title", "Revoke badges from the HR feed the same hour");
    browser.fill("Owner department", "Facilities");
    browser.execute("document.getElementById('r-due').value = '2027-01-15'; return null;");
    browser.click_button("Save the review");
    browser.wait_for_text("wrote the review");
    browser.wait_for_text("Revoke badges from the HR feed the same hour");
    browser.assert_accessible();
    browser.goto(&format!("/incidents/{id}#review"));
    browser.wait_for_text("Written by");
    browser.screenshot(&screenshot_path(dir.path(), "review.png"));

    browser.goto(&format!("/incidents/{id}"));
    browser.wait_for_text("Tasks by department");
    browser.fill("Status", "closed");
    browser.fill("Resolution", "true positive");
    browser.click_button("Save");
    browser.wait_for_text("status new → closed");
    let status = browser.execute("return document.querySelector('.incident-status').textContent");
    assert_eq!(status, json!("closed"));
    let (_, inc) = admin.send("GET", &format!("/api/v1/incidents/{id}"), None);
    assert_eq!(inc["incident"]["resolution"], "true_positive");
    assert!(inc["incident"]["milestones"]["closed"].is_string(), "{inc}");
    drop(browser);
    server.terminate();
}

/// `tandem.toml` registering the simulated company's vendor sources (cameras and sensors as
/// Tandem JSON over HTTP: no broker here), each with `key`.
fn vendor_sources(dir: &std::path::Path, key: &str, secret: &str) {
    let out = support::tandem().args(["hash-key", key]).output().unwrap();
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut sources = Vec::new();
    for spec in tandem_sim::sources(tandem_sim::Wire::Vendor { mqtt: false }) {
        match spec.via {
            tandem_sim::Via::Webhook => sources
                .push(json!({"name": spec.name, "format": spec.format, "webhook_secret": secret})),
            tandem_sim::Via::Syslog => {}
            _ => sources
                .push(json!({"name": spec.name, "format": spec.format, "api_key_sha256": hash})),
        }
    }
    let text = toml::to_string(&json!({"sources": sources})).unwrap();
    std::fs::write(dir.join("tandem.toml"), text).unwrap();
}

/// The product's own playbook, end to end: a terminated employee's badge is used, sent the
/// way the access-control products send it; the alert opens an incident from the shipped
/// `terminated-access` playbook; Security, HR, Facilities and IT responders each attach their
/// evidence and complete their tasks through the HTTP API; an SLA warning fires on HR's task
/// left open (the clock moved by `sla-check`); the review gates the close; the timeline and
/// the milestones are exactly what happened.
#[test]
fn a_terminated_badge_over_the_wire_is_worked_through_the_shipped_playbook() {
    use tandem_sim::{Emitter, Org, ScenarioKind, Simulator, Wire};
    const KEY: &str = "tsk_incidents_wire_key";
    const SECRET: &str = "whsec-incidents-wire";
    let dir = tempfile::tempdir().unwrap();
    vendor_sources(dir.path(), KEY, SECRET);
    let roles: Vec<String> = [
        "responder:security",
        "responder:hr",
        "responder:facilities",
        "responder:it",
    ]
    .map(String::from)
    .to_vec();
    let (server, seeded) = start_with_accounts(&dir.path().join("data"), &roles, &[]);
    let who = |role: &str| -> (Caller<'_>, String) {
        let s: &Seeded = seeded.iter().find(|s| s.role == role).unwrap();
        (
            Caller {
                server: &server,
                token: s.token.clone(),
            },
            format!("token-{}", s.user),
        )
    };
    let admin = Caller {
        server: &server,
        token: server.token.clone(),
    };
    let (security, security_name) = who("responder:security");
    let (hr, hr_name) = who("responder:hr");
    let (facilities, facilities_name) = who("responder:facilities");
    let (it, it_name) = who("responder:it");

    let org = Org::generate(11, 40);
    support::vendors::load_directory(&server, &org);
    let emitter = Emitter::new(
        server.url.clone(),
        std::collections::HashMap::from([("*".to_owned(), KEY.to_owned())]),
        server.syslog_udp,
        server.syslog_tcp,
    )
    .with_signer(
        "verkada",
        Box::new(|body: &[u8]| {
            use tandem_ingest::integrations::verkada;
            let now = chrono::Utc::now().timestamp();
            let signature = verkada::sign(SECRET.as_bytes(), now, body);
            (verkada::SIGNATURE_HEADER.to_owned(), signature)
        }),
    );
    let mut sim = Simulator::new(org, 11).with_wire(Wire::Vendor { mqtt: false });
    let at = chrono::Utc::now() - chrono::Duration::minutes(10);
    let (records, truth) = sim.inject(ScenarioKind::TerminatedBadgeUsed, at);
    let report = emitter.send(&records).unwrap();
    assert_eq!(report.rejected, 0, "{report:?}");

    // The alert lists the native detection and the shipped Sigma rule, and opens the incident.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let alert = loop {
        let (_, list) = server.get("/api/v1/alerts", &[("rule", "tandem.terminated_access")]);
        if let Some(a) = list["alerts"].as_array().and_then(|a| a.first())
            && a["incident"].is_string()
            && a["rules"].as_array().is_some_and(|r| r.len() == 2)
        {
            assert_eq!(list["total"], 1, "{list:#}");
            break a.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no alert with an incident: {list:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    let id = alert["incident"].as_str().unwrap().to_owned();
    let (status, body) = admin.send("GET", &format!("/api/v1/incidents/{id}"), None);
    assert_eq!(status, 200, "{body}");
    let inc = &body["incident"];
    assert_eq!(inc["playbook"], "terminated-access", "{inc:#}");
    assert_eq!(inc["severity"], "high", "{inc:#}");
    assert_eq!(inc["alerts"], json!([alert["id"]]));
    assert!(
        inc["entities"]["persons"]
            .as_array()
            .unwrap()
            .contains(&json!(truth.people[0].employee_number)),
        "{inc:#}"
    );
    let states: Vec<(&str, &str, &str)> = inc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap(),
                t["department"].as_str().unwrap(),
                t["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("disable-badge", "security", "open"),
            ("locate-person", "security", "open"),
            ("confirm-status", "hr", "open"),
            ("contact-former-employee", "hr", "blocked"),
            ("recover-badge", "facilities", "blocked"),
            ("check-accounts", "it", "blocked"),
            ("fix-offboarding", "hr", "blocked"),
        ]
    );

    let attach = |caller: &Caller, task: &str, item: &str| {
        let mut resp = TestServer::agent()
            .post(format!(
                "{}/api/v1/incidents/{id}/tasks/{task}/evidence",
                server.url
            ))
            .query("name", "evidence.txt")
            .query("item", item)
            .header("Authorization", format!("Bearer {}", caller.token))
            .send(&b"what was done"[..])
            .unwrap();
        let status = resp.status().as_u16();
        assert_eq!(
            status,
            200,
            "{task}: {}",
            resp.body_mut().read_to_string().unwrap()
        );
    };
    let complete = |caller: &Caller, task: &str| {
        let (status, body) = caller.task(&id, task, "complete", json!({}));
        assert_eq!(status, 200, "{task}: {body}");
    };

    // Security: the badge is disabled (Facilities' task opens), the person located.
    assert_eq!(
        security.task(&id, "disable-badge", "take", json!({})).0,
        200
    );
    attach(
        &security,
        "disable-badge",
        "screenshot or export showing the badge disabled",
    );
    complete(&security, "disable-badge");
    attach(&security, "locate-person", "camera still or guard report");
    complete(&security, "locate-person");

    // HR's task (high: warn at 120 minutes, breach at 240) is warned 150 minutes on;
    // Facilities' (warn at a day) is not.
    let later = (chrono::Utc::now() + chrono::Duration::minutes(150))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, body) = admin.send(
        "POST",
        "/api/v1/incidents/sla-check",
        Some(json!({"at": later})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["report"]["warned"], json!([[id, "confirm-status"]]));
    assert_eq!(body["report"]["breached"], json!([]));

    // HR confirms (IT's and HR's follow-up tasks open); Facilities recovers the badge; IT
    // checks the accounts (the off-boarding fix opens); HR finishes.
    attach(&hr, "confirm-status", "HR record of the termination");
    complete(&hr, "confirm-status");
    attach(
        &facilities,
        "recover-badge",
        "badge returned or reported lost",
    );
    attach(&facilities, "recover-badge", "list of doors reviewed");
    complete(&facilities, "recover-badge");
    let (status, _) = hr.task(&id, "check-accounts", "take", json!({}));
    assert_eq!(status, 403, "HR does not act on IT's task");
    attach(&it, "check-accounts", "list of accounts checked");
    complete(&it, "check-accounts");
    attach(&hr, "contact-former-employee", "record of the conversation");
    complete(&hr, "contact-former-employee");
    attach(
        &hr,
        "fix-offboarding",
        "what changed in the off-boarding checklist",
    );
    complete(&hr, "fix-offboarding");

    // Contained; the close waits for the review.
    let (_, body) = admin.send("GET", &format!("/api/v1/incidents/{id}"), None);
    let version = body["incident"]["version"].as_u64().unwrap();
    let (status, body) = admin.send(
        "PATCH",
        &format!("/api/v1/incidents/{id}"),
        Some(json!({"base_version": version, "status": "contained"})),
    );
    assert_eq!(status, 200, "{body}");
    let version = body["incident"]["version"].as_u64().unwrap();
    let close =
        |v: u64| json!({"base_version": v, "status": "closed", "resolution": "true_positive"});
    let (status, body) = admin.send(
        "PATCH",
        &format!("/api/v1/incidents/{id}"),
        Some(close(version)),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("review"), "{body}");
    let (status, body) = admin.send(
        "PUT",
        &format!("/api/v1/incidents/{id}/review"),
        Some(json!({
            "summary": "A terminated employee's badge still opened the entrance.",
            "contributing_factors": "Badge revocation waits for a manual step.",
            "action_items": [{"title": "Revoke badges from the HR feed", "department": "facilities", "due": "2027-01-15"}],
        })),
    );
    assert_eq!(status, 200, "{body}");
    let version = body["incident"]["version"].as_u64().unwrap();
    let (status, body) = admin.send(
        "PATCH",
        &format!("/api/v1/incidents/{id}"),
        Some(close(version)),
    );
    assert_eq!(status, 200, "{body}");

    // The timeline, exactly.
    let (status, body) = hr.send("GET", &format!("/api/v1/incidents/{id}"), None);
    assert_eq!(status, 200);
    let timeline = &body["timeline"];
    let t = |k: &str, a: &str, task: &str| (k.to_owned(), a.to_owned(), task.to_owned());
    let admin_name = kinds(timeline)
        .iter()
        .find(|(k, _, _)| k == "status")
        .unwrap()
        .1
        .clone();
    assert_eq!(
        kinds(timeline),
        [
            t("opened", "tandem", ""),
            t("task_taken", &security_name, "disable-badge"),
            t("evidence", &security_name, "disable-badge"),
            t("task_completed", &security_name, "disable-badge"),
            t("task_opened", &security_name, "recover-badge"),
            t("evidence", &security_name, "locate-person"),
            t("task_completed", &security_name, "locate-person"),
            t("sla_warn", "tandem", "confirm-status"),
            t("evidence", &hr_name, "confirm-status"),
            t("task_completed", &hr_name, "confirm-status"),
            t("task_opened", &hr_name, "contact-former-employee"),
            t("task_opened", &hr_name, "check-accounts"),
            t("evidence", &facilities_name, "recover-badge"),
            t("evidence", &facilities_name, "recover-badge"),
            t("task_completed", &facilities_name, "recover-badge"),
            t("evidence", &it_name, "check-accounts"),
            t("task_completed", &it_name, "check-accounts"),
            t("task_opened", &it_name, "fix-offboarding"),
            t("evidence", &hr_name, "contact-former-employee"),
            t("task_completed", &hr_name, "contact-former-employee"),
            t("evidence", &hr_name, "fix-offboarding"),
            t("task_completed", &hr_name, "fix-offboarding"),
            t("status", &admin_name, ""),
            t("review", &admin_name, ""),
            t("resolution", &admin_name, ""),
            t("status", &admin_name, ""),
        ]
    );
    // The milestones: occurred is the badge's use, the rest the changes that reached them.
    let m = &body["incident"]["milestones"];
    let time =
        |v: &Value| -> chrono::DateTime<chrono::Utc> { v.as_str().unwrap().parse().unwrap() };
    assert_eq!(time(&m["occurred"]), time(&alert["first_seen"]));
    assert!(time(&m["occurred"]) >= truth.start && time(&m["occurred"]) <= truth.end);
    for (milestone, kind, nth) in [
        ("detected", "opened", 0),
        ("acknowledged", "status", 0),
        ("contained", "status", 0),
        ("resolved", "status", 1),
        ("closed", "status", 1),
    ] {
        assert_eq!(
            time(&m[milestone]),
            time(&entry_time(timeline, kind, nth)),
            "{milestone}"
        );
    }
    assert_eq!(body["incident"]["status"], "closed");
    server.terminate();
}
