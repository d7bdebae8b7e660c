//! Response actions through the real server and a recording receiver standing in for the
//! access-control system and the chat webhook: a badge suspension proposed by an analyst is
//! sent only after a second person approves it, exactly once, with the run's idempotency key;
//! the proposer cannot approve their own; a refusal sends nothing; the dry run shows the exact
//! request with the secrets masked; a failing receiver is retried and the answers are on the
//! timeline; an approved run interrupted by `kill -9` is sent after the restart; a playbook
//! runs a low-risk action by itself and says so.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use support::receiver::Receiver;
use support::{Seeded, TestServer, start_with_accounts_env};

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E2000,Bjørn Lie,bjorn.lie@nordlys.example,bjorn,Finance,,Controller,osl,2020-01-01,,20002
";

const ACCESS_TOKEN: &str = "Bearer access-control-token-s3cr3t";

/// `[actions]` (TOML) pointing the access-control and Slack connections at `receiver`.
fn connections(receiver: &Receiver) -> String {
    format!(
        "[actions]\nretry_base_seconds = 1\nretry_max_seconds = 2\nmax_attempts = 5\n\n\
         [[actions.connections]]\nname = \"access-control\"\nbase_url = \"{url}/acs\"\n\
         headers = {{ Authorization = \"{ACCESS_TOKEN}\" }}\n\n\
         [[actions.connections]]\nname = \"slack\"\nbase_url = \"{url}/services/T0/B0/hook-s3cr3t\"\nsecret_url = true\n",
        url = receiver.url
    )
}

/// A configuration pointing the access-control and Slack connections at `receiver`.
fn config(dir: &Path, receiver: &Receiver, playbooks: Option<&Path>) -> std::path::PathBuf {
    let mut text = connections(receiver);
    if let Some(p) = playbooks {
        text.push_str(&format!(
            "\n[cases]\nplaybook_dirs = [\"{}\"]\n",
            p.display()
        ));
    }
    let path = dir.join("tandem.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Caller<'a> {
    server: &'a TestServer,
    token: String,
}

impl Caller<'_> {
    /// Approves run `run` of incident `inc`.
    fn approve(&self, inc: &str, run: &str) -> (u16, Value) {
        self.send(
            "POST",
            &format!("/api/v1/incidents/{inc}/actions/{run}/approve"),
            None,
        )
    }

    /// Tries to approve a run this caller proposed: refused by the four-eyes rule, with why.
    fn cannot_approve_own(&self, inc: &str, run: &str) {
        let (status, refused) = self.approve(inc, run);
        assert_eq!(status, 403, "{refused}");
        assert!(
            refused
                .to_string()
                .contains("a second person must approve it"),
            "{refused}"
        );
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let agent = TestServer::agent();
        let url = format!("{}{path}", self.server.url);
        let auth = format!("Bearer {}", self.token);
        let mut resp = match (method, body) {
            ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
            ("POST", Some(b)) => agent.post(&url).header("Authorization", &auth).send_json(b),
            ("POST", None) => agent.post(&url).header("Authorization", &auth).send_empty(),
            _ => unreachable!(),
        }
        .expect("request sent");
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_json().unwrap_or(Value::Null))
    }
}

fn caller<'a>(server: &'a TestServer, seeded: &[Seeded], role: &str) -> Caller<'a> {
    Caller {
        server,
        token: seeded
            .iter()
            .find(|s| s.role == role)
            .unwrap()
            .token
            .clone(),
    }
}

fn start(dir: &Path, env: &[(&str, &str)]) -> (TestServer, Vec<Seeded>) {
    let roles = ["soc_analyst", "physical_security", "auditor"].map(String::from);
    let (server, seeded) = start_with_accounts_env(&dir.join("data"), &roles, &[], env);
    assert_eq!(server.post("/api/v1/directory/hr?file=hr.csv", HR).0, 200);
    (server, seeded)
}

fn open_incident(server: &TestServer, body: Value) -> String {
    let admin = Caller {
        server,
        token: server.token.clone(),
    };
    let (status, inc) = admin.send("POST", "/api/v1/incidents", Some(body));
    assert_eq!(status, 201, "{inc}");
    inc["incident"]["id"].as_str().unwrap().to_owned()
}

/// The incident's run `run` once `done` holds for it.
fn wait_run(server: &TestServer, inc: &str, run: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = server.get(&format!("/api/v1/incidents/{inc}/actions"), &[]);
        let r = body["runs"]
            .as_array()
            .and_then(|l| l.iter().find(|r| r["id"] == run))
            .cloned()
            .unwrap_or(Value::Null);
        if done(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "run never got there: {r}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn timeline(server: &TestServer, inc: &str) -> Vec<Value> {
    let (_, body) = server.get(&format!("/api/v1/incidents/{inc}"), &[]);
    body["timeline"].as_array().unwrap().clone()
}

#[test]
fn a_badge_suspension_runs_only_after_a_second_person_approves_it() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let cfg = config(dir.path(), &receiver, None);
    let (server, seeded) = start(dir.path(), &[("TANDEM_CONFIG", cfg.to_str().unwrap())]);
    let analyst = caller(&server, &seeded, "soc_analyst");
    let control_room = caller(&server, &seeded, "physical_security");
    let auditor = caller(&server, &seeded, "auditor");
    let inc = open_incident(
        &server,
        json!({"title": "Tailgating at the lab door", "severity": "high",
               "entities": {"persons": ["E2000"]}}),
    );
    let ask = json!({"action": "suspend-badge", "target": "person:E2000", "note": "badge used after hours"});

    // The dry run shows the exact request, the connection's token masked, and sends nothing.
    let (status, dry) = analyst.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions/dry-run"),
        Some(ask.clone()),
    );
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["request"]["method"], "POST");
    assert_eq!(
        dry["request"]["url"],
        format!("{}/acs/badges/20002/suspend", receiver.url)
    );
    let shown = dry.to_string();
    assert!(!shown.contains("s3cr3t"), "secret shown: {shown}");
    assert!(shown.contains("Authorization"), "{shown}");
    let body: Value = serde_json::from_str(dry["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["badge"], "20002");

    // An auditor may not propose.
    let (status, _) = auditor.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions"),
        Some(ask.clone()),
    );
    assert_eq!(status, 403);

    // Proposed by the analyst: not sent.
    let (status, proposed) = analyst.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions"),
        Some(ask.clone()),
    );
    assert_eq!(status, 201, "{proposed}");
    let run = proposed["run"]["id"].as_str().unwrap().to_owned();
    assert_eq!(proposed["run"]["state"], "proposed");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(receiver.requests().is_empty(), "sent before approval");

    // The proposer's own approval is refused, with why.
    analyst.cannot_approve_own(&inc, &run);

    // A second person of an approver role approves: exactly one request arrives.
    let (status, approved) = control_room.approve(&inc, &run);
    assert_eq!(status, 200, "{approved}");
    let got = receiver.wait_for(1, Duration::from_secs(20));
    let done = wait_run(&server, &inc, &run, |r| r["state"] == "succeeded");
    std::thread::sleep(Duration::from_millis(1500));
    let got_now = receiver.requests();
    assert_eq!(got_now.len(), 1, "{got_now:?}");
    let req = &got[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/acs/badges/20002/suspend");
    assert_eq!(req.header("idempotency-key"), Some(run.as_str()));
    assert_eq!(req.header("authorization"), Some(ACCESS_TOKEN));
    assert_eq!(req.json()["badge"], "20002");
    assert_eq!(req.json()["person"], "E2000");
    assert_eq!(done["approved_by"], Value::Null);
    assert_eq!(done["decided_by"], "token-user-physical_security");
    assert_eq!(done["proposed_by"], "token-user-soc_analyst");
    assert_eq!(done["attempts"][0]["status"], 200);

    // A refusal keeps its reason, and nothing is sent.
    let (_, second) = analyst.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions"),
        Some(ask.clone()),
    );
    let run2 = second["run"]["id"].as_str().unwrap().to_owned();
    let (status, _) = control_room.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions/{run2}/refuse"),
        Some(json!({"reason": ""})),
    );
    assert_eq!(status, 400);
    let (status, r) = control_room.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions/{run2}/refuse"),
        Some(json!({"reason": "already suspended at the desk"})),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["run"]["state"], "refused");
    assert_eq!(r["run"]["reason"], "already suspended at the desk");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.requests().len(), 1);

    // A failing receiver is retried with the same key; every answer is on the timeline.
    receiver.fail_next(2, 503);
    let (status, slack) = analyst.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions"),
        Some(json!({"action": "post-to-channel"})),
    );
    assert_eq!(status, 201, "{slack}");
    let run3 = slack["run"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        slack["run"]["state"], "approved",
        "low risk runs on proposal"
    );
    assert!(!slack.to_string().contains("hook-s3cr3t"), "{slack}");
    let done = wait_run(&server, &inc, &run3, |r| r["state"] == "succeeded");
    assert_eq!(done["attempts"].as_array().unwrap().len(), 3, "{done}");
    let posts: Vec<_> = receiver.requests().into_iter().skip(1).collect();
    assert_eq!(posts.len(), 3);
    assert!(
        posts
            .iter()
            .all(|p| p.header("idempotency-key") == Some(run3.as_str())
                && p.path == "/services/T0/B0/hook-s3cr3t")
    );
    assert!(
        posts[2].json()["text"]
            .as_str()
            .unwrap()
            .contains("Tailgating at the lab door")
    );

    let entries = timeline(&server, &inc);
    let said = |kind: &str| entries.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(said("action_proposed"), 3);
    assert_eq!(said("action_approved"), 1);
    assert_eq!(said("action_refused"), 1);
    assert_eq!(said("action_run"), 2);
    assert_eq!(said("action_answer"), 4);
    let answers: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "action_answer")
        .collect();
    assert_eq!(answers[1]["detail"]["status"], 503);
    assert_eq!(answers[1]["detail"]["state"], "running");
    assert_eq!(answers[3]["detail"]["state"], "succeeded");

    // The people's steps are in the audit log.
    let (_, audit) = server.get("/api/v1/audit", &[("limit", "200")]);
    let text = audit.to_string();
    for action in ["action.propose", "action.approve", "action.refuse"] {
        assert!(text.contains(action), "{action} not audited: {text}");
    }
    server.terminate();
}

#[test]
fn an_approved_run_interrupted_by_kill_9_is_sent_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let cfg = config(dir.path(), &receiver, None);
    let env = [("TANDEM_CONFIG", cfg.to_str().unwrap())];
    let (server, seeded) = start(dir.path(), &env);
    let inc = open_incident(
        &server,
        json!({"title": "Lost badge used", "entities": {"persons": ["E2000"]}}),
    );
    let analyst = caller(&server, &seeded, "soc_analyst");
    let control_room = caller(&server, &seeded, "physical_security");
    let (_, proposed) = analyst.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions"),
        Some(json!({"action": "suspend-badge", "target": "person:E2000"})),
    );
    let run = proposed["run"]["id"].as_str().unwrap().to_owned();
    // The access-control system is down: the run is sent, fails, waits to retry.
    receiver.fail_always(Some(503));
    let (status, _) = control_room.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions/{run}/approve"),
        None,
    );
    assert_eq!(status, 200);
    receiver.wait_for(1, Duration::from_secs(20));
    let token = server.token.clone();
    server.kill9();
    let before = receiver.requests().len();

    receiver.fail_always(None);
    let server = TestServer::start(&dir.path().join("data"), Some(&token), &env);
    let done = wait_run(&server, &inc, &run, |r| r["state"] == "succeeded");
    let got = receiver.requests();
    assert!(got.len() > before, "nothing sent after the restart");
    assert!(
        got.iter()
            .all(|r| r.header("idempotency-key") == Some(run.as_str()))
    );
    assert_eq!(
        done["attempts"].as_array().unwrap().last().unwrap()["status"],
        200
    );
    server.terminate();
}

#[test]
fn a_playbook_runs_a_low_risk_action_by_itself_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(&playbooks).unwrap();
    std::fs::write(
        playbooks.join("tell.yaml"),
        "id: tell\ntitle: Tell the channel\ntasks:\n  - id: announce\n    title: Announce it\n    department: security\n    propose: post-to-channel\n    auto: true\n  - id: suspend\n    title: Suspend the badge\n    department: security\n    propose: suspend-badge\n",
    )
    .unwrap();
    // Naming an action that does not exist is refused with its line; the rest still loads.
    std::fs::write(
        playbooks.join("wrong.yaml"),
        "id: wrong\ntitle: Wrong\ntasks:\n  - id: a\n    title: A\n    department: security\n    propose: launch-missiles\n",
    )
    .unwrap();
    let cfg = config(dir.path(), &receiver, Some(&playbooks));
    let (server, _) = start(dir.path(), &[("TANDEM_CONFIG", cfg.to_str().unwrap())]);
    let inc = open_incident(
        &server,
        json!({"title": "Door held open", "playbook": "tell", "entities": {"persons": ["E2000"]}}),
    );
    let got = receiver.wait_for(1, Duration::from_secs(20));
    assert!(got[0].path.starts_with("/services/"), "{got:?}");
    let entries = timeline(&server, &inc);
    let auto = entries
        .iter()
        .find(|e| e["kind"] == "action_auto")
        .expect("the automatic run is on the timeline");
    assert_eq!(auto["actor"], "tandem");
    assert_eq!(auto["detail"]["playbook"], "tell");
    // The sensitive proposal waits for a person, prepared on the incident's person.
    let (_, runs) = server.get(&format!("/api/v1/incidents/{inc}/actions"), &[]);
    let suspend = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "suspend-badge")
        .unwrap()
        .clone();
    assert_eq!(suspend["state"], "proposed", "{suspend}");
    assert_eq!(suspend["target"]["identifier"], "20002");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.requests().len(), 1);
    let (status, body) = server.post("/api/v1/playbooks/reload", "");
    assert_ne!(status, 200, "{body}");
    assert!(body.to_string().contains("launch-missiles"), "{body}");
    server.terminate();
}

/// Where a browser test saves its screenshot: `docs/screenshots/` with
/// `TANDEM_SCREENSHOTS=1`, else the test's own directory.
fn screenshot_path(dir: &Path, name: &str) -> std::path::PathBuf {
    if std::env::var("TANDEM_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/screenshots")
            .join(name)
    } else {
        dir.join(name)
    }
}

/// A browser signed in as `account`, on the incident page of `inc`.
fn browser_on_incident(
    server: &TestServer,
    account: &Seeded,
    inc: &str,
) -> tandem_testkit::Browser {
    let browser = tandem_testkit::Browser::start(&server.url);
    browser.goto("/login");
    browser.wait_for_heading("Sign in to Tandem");
    browser.fill("User name", &account.user);
    browser.fill("Password", account.password.as_deref().unwrap());
    browser.click_button("Sign in");
    browser.wait_until("signing in", |b| !b.path().starts_with("/login"));
    browser.goto(&format!("/incidents/{inc}"));
    browser.wait_for_text("Response actions");
    browser
}

/// The console's four eyes, in a real browser: an analyst chooses the badge suspension on the
/// incident's person, reads the exact request (the token masked) before proposing it, and is
/// told it waits for a second person; a control-room operator approves it on the same page;
/// the access-control system gets exactly one request, and the run shows it succeeded with
/// the answer. With `TANDEM_SCREENSHOTS=1` the preview and the finished run are saved as
/// `docs/screenshots/action-preview.png` and `incident-actions.png`.
#[test]
fn a_badge_suspension_is_proposed_and_approved_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let cfg = config(dir.path(), &receiver, None);
    let roles = ["soc_analyst", "physical_security"].map(String::from);
    let (server, seeded) = start_with_accounts_env(
        &dir.path().join("data"),
        &roles,
        &["soc_analyst", "physical_security"],
        &[("TANDEM_CONFIG", cfg.to_str().unwrap())],
    );
    assert_eq!(server.post("/api/v1/directory/hr?file=hr.csv", HR).0, 200);
    let inc = open_incident(
        &server,
        json!({"title": "Tailgating at the lab door", "severity": "high",
               "entities": {"persons": ["E2000"]}}),
    );
    let account = |role: &str| seeded.iter().find(|s| s.role == role).unwrap();

    // The analyst: only actions that fit, the request shown before anything is proposed.
    let analyst = browser_on_incident(&server, account("soc_analyst"), &inc);
    let offered = analyst.execute(
        "return Array.from(document.querySelectorAll('#action-choice option')).map(o => o.textContent)",
    );
    let offered: Vec<String> = serde_json::from_value(offered).unwrap();
    assert!(
        offered.contains(&"Suspend the badge — Bjørn Lie, badge 20002 (needs approval)".to_owned()),
        "{offered:?}"
    );
    // Okta and Entra have no connection here, and the person no such account: not offered.
    assert!(
        offered
            .iter()
            .all(|o| !o.contains("Okta") && !o.contains("Entra")),
        "{offered:?}"
    );
    analyst.assert_accessible();
    analyst.fill(
        "Action",
        "Suspend the badge — Bjørn Lie, badge 20002 (needs approval)",
    );
    analyst.fill(
        "Why (on the timeline, and in the request where its template uses it)",
        "badge used to let someone through",
    );
    analyst.click_button("Preview the request");
    analyst.wait_for_text("Preview: Suspend the badge on Bjørn Lie, badge 20002");
    let request = analyst
        .execute("return document.querySelector('.action-preview pre').textContent")
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        request.starts_with(&format!("POST {}/acs/badges/20002/suspend\n", receiver.url)),
        "{request}"
    );
    assert!(request.contains("Authorization: ••••••"), "{request}");
    assert!(request.contains("\"badge\": \"20002\""), "{request}");
    assert!(!analyst.text().contains("s3cr3t"), "{}", analyst.text());
    assert!(receiver.requests().is_empty(), "sent on preview");
    analyst.assert_accessible();
    analyst.execute("document.getElementById('actions').scrollIntoView(); return null;");
    analyst.screenshot(&screenshot_path(dir.path(), "action-preview.png"));
    analyst.click_button("Propose Suspend the badge");
    analyst.wait_for_text("Waiting for a second person (Physical-security operator or Administrator): you proposed it");
    let text = analyst.text();
    assert!(text.contains("waiting for approval"), "{text}");
    assert!(
        text.contains("proposed Suspend the badge on Bjørn Lie, badge 20002: awaiting approval"),
        "{text}"
    );
    // The proposer is offered no approval of their own, only a withdrawal.
    let buttons = analyst.execute(
        "return Array.from(document.querySelectorAll('article.run button')).map(b => b.textContent)",
    );
    assert_eq!(buttons, json!(["Withdraw"]));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(receiver.requests().is_empty(), "sent before approval");
    drop(analyst);

    // The control room approves it on the same page.
    let operator = browser_on_incident(&server, account("physical_security"), &inc);
    operator.wait_for_text("waiting for approval");
    operator.assert_accessible();
    operator.click_button("Approve");
    operator.wait_until("the run's answer", |b| {
        std::thread::sleep(Duration::from_millis(300));
        b.goto(&format!("/incidents/{inc}"));
        b.text().contains("succeeded")
    });
    let got = receiver.wait_for(1, Duration::from_secs(20));
    assert_eq!(got[0].path, "/acs/badges/20002/suspend");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.requests().len(), 1, "{:?}", receiver.requests());
    let run = operator.execute("return document.querySelector('article.run').innerText");
    let run = run.as_str().unwrap();
    assert!(run.contains("Proposed by user-soc_analyst"), "{run}");
    assert!(run.contains("Approved by user-physical_security"), "{run}");
    assert!(run.contains("HTTP 200 (success)"), "{run}");
    assert!(run.contains(r#"{"ok":true}"#), "{run}");
    let state =
        operator.execute("return document.querySelector('article.run .run-state').textContent");
    assert_eq!(state, json!("succeeded"));
    operator.assert_accessible();
    operator.execute("document.getElementById('actions').scrollIntoView(); return null;");
    operator.screenshot(&screenshot_path(dir.path(), "incident-actions.png"));
    drop(operator);

    // The audit log has both people's steps.
    let (_, log) = server.get("/api/v1/audit", &[]);
    let steps: Vec<(String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap_or("").starts_with("action."))
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        steps.contains(&("user-soc_analyst".into(), "action.propose".into()))
            && steps.contains(&("user-physical_security".into(), "action.approve".into())),
        "{steps:?}"
    );
    server.terminate();
}

/// The console's forms keep the API's rules and say why in words: the proposer's own approval
/// is refused (four eyes), a withdrawal needs a reason and comes back on the incident page,
/// a withdrawn run is shown as such and nothing is sent.
#[test]
fn the_console_refuses_in_words_and_a_proposer_withdraws() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let cfg = config(dir.path(), &receiver, None);
    let roles = ["soc_analyst"].map(String::from);
    let (server, seeded) = start_with_accounts_env(
        &dir.path().join("data"),
        &roles,
        &["soc_analyst"],
        &[("TANDEM_CONFIG", cfg.to_str().unwrap())],
    );
    assert_eq!(server.post("/api/v1/directory/hr?file=hr.csv", HR).0, 200);
    let inc = open_incident(
        &server,
        json!({"title": "Tailgating at the lab door", "severity": "high",
               "entities": {"persons": ["E2000"]}}),
    );
    let analyst = &seeded[0];
    let console = server
        .sign_in(&analyst.user, analyst.password.as_deref().unwrap())
        .unwrap();
    let page = format!("/incidents/{inc}");
    let csrf = console.csrf(&page);
    let choice = "action=suspend-badge&target=person%3AE2000";

    // A choice that names no action is refused on the page itself.
    let refused = console.post_form(
        &format!("{page}/actions/preview"),
        &[("csrf", &csrf), ("choice", ""), ("note", "")],
    );
    assert_eq!(refused.status, 400);
    assert!(
        refused
            .body
            .contains("choose an action and what it acts on"),
        "{}",
        refused.body
    );
    // A target that is not the incident's is refused with why.
    let refused = console.post_form(
        &format!("{page}/actions/preview"),
        &[
            ("csrf", &csrf),
            ("choice", "action=suspend-badge&target=person%3AE9999"),
        ],
    );
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("is not an entity of"),
        "{}",
        refused.body
    );

    let proposed = console.post_form(
        &format!("{page}/actions"),
        &[("csrf", &csrf), ("choice", choice), ("note", "")],
    );
    assert_eq!(proposed.status, 303, "{}", proposed.body);
    assert_eq!(
        proposed.location.as_deref(),
        Some(format!("{page}#actions").as_str())
    );
    let (_, runs) = server.get(&format!("/api/v1/incidents/{inc}/actions"), &[]);
    let run = runs["runs"][0]["id"].as_str().unwrap().to_owned();

    // The proposer's own approval: refused, in words.
    let own = console.post_form(&format!("{page}/actions/{run}/approve"), &[("csrf", &csrf)]);
    assert_eq!(own.status, 403);
    assert!(
        own.body.contains("a second person must approve it"),
        "{}",
        own.body
    );
    // A withdrawal without a reason comes back on the page, with why.
    let bare = console.post_form(
        &format!("{page}/actions/{run}/refuse"),
        &[("csrf", &csrf), ("reason", " ")],
    );
    assert_eq!(bare.status, 400);
    assert!(bare.body.contains("Response actions"), "{}", bare.body);
    assert!(
        bare.body.contains("say why the action is refused"),
        "{}",
        bare.body
    );
    let withdrawn = console.post_form(
        &format!("{page}/actions/{run}/refuse"),
        &[("csrf", &csrf), ("reason", "wrong person")],
    );
    assert_eq!(withdrawn.status, 303);
    let shown = console.get(&page).body;
    assert!(shown.contains(">withdrawn</span>"), "{shown}");
    assert!(shown.contains("wrong person"), "{shown}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(receiver.requests().is_empty(), "{:?}", receiver.requests());
    server.terminate();
}

/// The most recent weekday before today, at 08:40 UTC: a morning at the office, in the past,
/// so the door's detection window is closed by the clock as soon as the records are in.
fn last_working_morning() -> chrono::DateTime<chrono::Utc> {
    use chrono::{Datelike, Days, Weekday};
    let mut day = chrono::Utc::now().date_naive() - Days::new(1);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day = day - Days::new(1);
    }
    day.and_hms_opt(8, 40, 0).unwrap().and_utc()
}

/// The incident the alert of `rule` joined, once there is one.
fn incident_of_rule(server: &TestServer, rule: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, body) = server.get("/api/v1/alerts", &[("rule", rule)]);
        assert_eq!(status, 200, "{body}");
        let incident = body["alerts"]
            .as_array()
            .and_then(|l| l.iter().find_map(|a| a["incident"].as_str()));
        if let Some(id) = incident {
            return id.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no incident from a {rule} alert: {body}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Notifications and response actions together, every part real: a tailgate staged through
/// the products' own wire formats (the badge reader's, and Frigate's over a real Mosquitto)
/// raises the finding, the alert and the incident on the tailgating playbook; Facilities hears
/// by e-mail through a real SMTP server, Security by a Slack-shaped webhook; an analyst's
/// badge suspension sends nothing until a physical-security operator approves it, then the
/// access-control system gets exactly one request, and the timeline tells the whole story.
#[test]
fn a_staged_tailgate_tells_facilities_and_security_and_the_badge_is_suspended_after_approval() {
    let broker = tandem_testkit::Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let smtp = support::smtp::Smtp::start(dir.path());
    let slack = Receiver::start();
    let access_control = Receiver::start();
    let org = tandem_sim::Org::generate(17, 40);
    let cfg = dir.path().join("tandem.toml");
    // A detection tick every two seconds: the door is quiet after the tailgate, so its window
    // is closed by the clock, two ticks after its last event, rather than minutes later.
    std::fs::write(
        &cfg,
        format!(
            "{sources}\n{actions}\n\
             [detect]\ntick_seconds = 2\n\n\
             [notify.smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n\
             from = \"Tandem <tandem@example.org>\"\n\n\
             [[notify.channels]]\nname = \"facilities-mail\"\nkind = \"email\"\n\
             to = [\"facilities@example.org\"]\n\n\
             [[notify.channels]]\nname = \"security-slack\"\nkind = \"slack\"\n\
             webhook_url = \"{slack}/slack/T000/B000/secret\"\n\n\
             [[notify.routes]]\nchannel = \"facilities-mail\"\n\
             kinds = [\"incident_opened\", \"task_assigned\"]\ndepartments = [\"facilities\"]\n\n\
             [[notify.routes]]\nchannel = \"security-slack\"\n\
             kinds = [\"incident_opened\"]\ndepartments = [\"security\"]\n",
            sources = support::vendors::sources_toml(&org, broker.port),
            actions = connections(&access_control),
            smtp = smtp.port,
            slack = slack.url,
        ),
    )
    .unwrap();
    let roles = ["soc_analyst", "physical_security"].map(String::from);
    let (server, seeded) = start_with_accounts_env(
        &dir.path().join("data"),
        &roles,
        &[],
        &[("TANDEM_CONFIG", cfg.to_str().unwrap())],
    );
    support::vendors::load_directory(&server, &org);
    let emitter = support::vendors::emitter(&server, &org, broker.port);

    // The tailgate, as the products send it: one grant, the door opened once, the camera
    // counting two people.
    let mut sim =
        tandem_sim::Simulator::new(org, 17).with_wire(tandem_sim::Wire::Vendor { mqtt: true });
    let (records, truth) = sim.inject(tandem_sim::ScenarioKind::Tailgate, last_working_morning());
    let report = emitter.send(&records).unwrap();
    assert_eq!(report.rejected, 0, "{report:?}");
    let person = truth.people[0].employee_number.clone();
    let badge = truth.people[0].badge.clone();

    // Detection, alerting and the incident on the tailgating playbook, naming the person.
    let inc = incident_of_rule(&server, "tandem.tailgating");
    let (_, body) = server.get(&format!("/api/v1/incidents/{inc}"), &[]);
    assert_eq!(body["incident"]["playbook"], "tailgating", "{body}");
    assert_eq!(body["incident"]["origin"], "alert", "{body}");
    let link = format!("{}/incidents/{inc}", server.url);

    // Security: a Slack message with blocks and the link to the incident.
    let posts = slack.wait_for(1, Duration::from_secs(30));
    assert_eq!(posts[0].path, "/slack/T000/B000/secret");
    let msg = posts[0].slack_message(&inc, &link);
    assert!(
        msg["text"].as_str().unwrap().starts_with("Incident opened"),
        "{msg}"
    );

    // Facilities: the incident and their task, each as plain text and HTML with the link.
    let mails = smtp.wait_for(2, Duration::from_secs(30));
    support::smtp::incident_opened(&mails, &inc, "facilities@example.org", &link);
    assert!(
        mails.iter().any(|m| {
            let subject = m["subject"].as_str().unwrap();
            subject.contains("Task assigned") && subject.contains("Inspect the door")
        }),
        "{mails:#?}"
    );

    // The analyst proposes suspending the badge that let the follower in: nothing is sent.
    let analyst = caller(&server, &seeded, "soc_analyst");
    let control_room = caller(&server, &seeded, "physical_security");
    let (status, proposed) = analyst.send(
        "POST",
        &format!("/api/v1/incidents/{inc}/actions"),
        Some(
            json!({"action": "suspend-badge", "target": format!("person:{person}"),
                    "note": "badge let a second person through"}),
        ),
    );
    assert_eq!(status, 201, "{proposed}");
    assert_eq!(proposed["run"]["state"], "proposed");
    let run = proposed["run"]["id"].as_str().unwrap().to_owned();
    analyst.cannot_approve_own(&inc, &run);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        access_control.requests().is_empty(),
        "sent before approval: {:?}",
        access_control.requests()
    );

    // The control room approves: the access-control system gets exactly one request.
    let (status, approved) = control_room.approve(&inc, &run);
    assert_eq!(status, 200, "{approved}");
    let got = access_control.wait_for(1, Duration::from_secs(20));
    let done = wait_run(&server, &inc, &run, |r| r["state"] == "succeeded");
    assert_eq!(done["attempts"][0]["status"], 200, "{done}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(access_control.requests().len(), 1, "{got:?}");
    let req = &got[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, format!("/acs/badges/{badge}/suspend"));
    assert_eq!(req.header("idempotency-key"), Some(run.as_str()));
    assert_eq!(req.json()["badge"], badge.as_str());
    assert_eq!(req.json()["person"], person.as_str());

    // The timeline: proposal, approval, run and answer, in that order.
    let entries = timeline(&server, &inc);
    let at = |kind: &str| {
        entries
            .iter()
            .position(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} on the timeline: {entries:#?}"))
    };
    let order = [
        at("action_proposed"),
        at("action_approved"),
        at("action_run"),
        at("action_answer"),
    ];
    assert!(order.is_sorted(), "{order:?}: {entries:#?}");
    let answer = &entries[order[3]];
    assert_eq!(answer["detail"]["status"], 200, "{answer}");
    assert_eq!(answer["detail"]["state"], "succeeded", "{answer}");
    // Security heard of this incident once; the alert itself was routed nowhere.
    assert_eq!(slack.requests().len(), 1, "{:?}", slack.requests());
    server.terminate();
}
