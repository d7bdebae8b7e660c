//! Notifications end to end, with real parts: a real `tandem serve`, a real SMTP server
//! (Debian's `python3-aiosmtpd`, writing a maildir) and a recording HTTP receiver standing
//! in for Slack, Teams and generic webhooks. Content, routing, digests, retries, dead
//! letters on the delivery log, and a kill -9 between enqueue and send.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use support::TestServer;
use support::receiver::{Received, Receiver};
use support::smtp::{self, Smtp};

/// `tandem.toml` with `notify` (TOML) under `dir`, a data directory beside it, started.
fn serve(dir: &Path, notify: &str) -> TestServer {
    std::fs::write(dir.join("tandem.toml"), notify).unwrap();
    TestServer::start(&dir.join("data"), None, &[])
}

/// A server with `notify` (TOML: `[notify]` and its settings, or nothing) and one channel,
/// the generic webhook `soc-webhook` to `hooks` at `/hook`, taking one route (`route`: the
/// keys of its `[[notify.routes]]` besides the channel).
fn serve_webhook(dir: &Path, hooks: &Receiver, notify: &str, route: &str) -> TestServer {
    serve(
        dir,
        &format!(
            "{notify}\n\n[[notify.channels]]\nname = \"soc-webhook\"\nkind = \"webhook\"\n\
             webhook_url = \"{url}/hook\"\n\n[[notify.routes]]\nchannel = \"soc-webhook\"\n{route}\n",
            url = hooks.url
        ),
    )
}

fn raise_alert(server: &TestServer, title: &str) -> String {
    let (status, body) = server.post(
        "/api/v1/alerts",
        &json!({"title": title, "severity": "high", "summary": format!("{title}, raised by hand")})
            .to_string(),
    );
    assert_eq!(status, 201, "{body}");
    body["alert"]["id"].as_str().unwrap().to_owned()
}

/// Opens an incident through the API as the administrator; its id.
fn open_incident(server: &TestServer, body: Value) -> String {
    let (status, body) = server.send_json("POST", "/api/v1/incidents", &body);
    assert_eq!(status, 201, "{body}");
    body["incident"]["id"].as_str().unwrap().to_owned()
}

fn deliveries(server: &TestServer, state: &str) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/notifications", &[("state", state)]);
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "waited {timeout:?} for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn key(r: &Received) -> String {
    r.header("Idempotency-Key")
        .expect("every request carries an idempotency key")
        .to_owned()
}

/// A staged tailgate's incident: Facilities hears by e-mail (plain text and HTML, with the
/// link to the incident), Security by a Slack-shaped webhook with blocks; an alert goes to
/// Teams as an Adaptive Card. Each channel gets only what its route asks for.
#[test]
fn facilities_hear_by_mail_security_by_slack_and_the_soc_by_teams() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(dir.path());
    let hooks = Receiver::start();
    let server = serve(
        dir.path(),
        &format!(
            r#"
[notify.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "Tandem <tandem@example.org>"

[[notify.channels]]
name = "facilities-mail"
kind = "email"
to = ["facilities@example.org"]

[[notify.channels]]
name = "security-slack"
kind = "slack"
webhook_url = "{hooks}/slack/T000/B000/secret"

[[notify.channels]]
name = "soc-teams"
kind = "teams"
webhook_url = "{hooks}/teams"

[[notify.routes]]
channel = "facilities-mail"
kinds = ["incident_opened", "task_assigned"]
departments = ["facilities"]

[[notify.routes]]
channel = "security-slack"
kinds = ["incident_opened"]
departments = ["security"]

[[notify.routes]]
channel = "soc-teams"
kinds = ["alert_opened"]
"#,
            port = smtp.port,
            hooks = hooks.url
        ),
    );
    let id = open_incident(
        &server,
        json!({
            "title": "Tailgating at Oslo HQ main entrance",
            "summary": "Two people went through on one badge",
            "severity": "high",
            "playbook": "tailgating",
        }),
    );
    let link = format!("{}/incidents/{id}", server.url);

    // Security: one Slack message with blocks and the link.
    let slack = hooks.wait_for(1, Duration::from_secs(30));
    assert_eq!(slack[0].path, "/slack/T000/B000/secret");
    slack[0].slack_message(&id, &link);

    // Facilities: the incident and the task assigned to them, plain text and HTML.
    let mails = smtp.wait_for(2, Duration::from_secs(30));
    let opened = smtp::incident_opened(&mails, &id, "facilities@example.org", &link);
    let text = opened["parts"]["text/plain"].as_str().unwrap();
    assert!(text.contains("Two people went through"), "{text}");
    let task = mails
        .iter()
        .find(|m| m["subject"].as_str().unwrap().contains("Task assigned"))
        .unwrap_or_else(|| panic!("{mails:#?}"));
    assert!(
        task["subject"]
            .as_str()
            .unwrap()
            .contains("Inspect the door"),
        "{task}"
    );

    // The SOC: an alert as an Adaptive Card in the Teams workflow shape.
    let alert = raise_alert(&server, "Badge used at two sites");
    // The alert also opens an incident, whose Slack message may come first.
    wait_until("a Teams post", Duration::from_secs(30), || {
        hooks.requests().iter().any(|r| r.path == "/teams")
    });
    let all = hooks.requests();
    let teams = all
        .iter()
        .find(|r| r.path == "/teams")
        .expect("a Teams post");
    let card = teams.json();
    assert_eq!(card["type"], "message");
    assert_eq!(
        card["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["attachments"][0]["content"]["type"], "AdaptiveCard");
    assert_eq!(
        card["attachments"][0]["content"]["actions"][0]["url"],
        format!("{}/alerts/{alert}", server.url)
    );
    std::thread::sleep(Duration::from_secs(2));
    // Each channel heard only what its route asks for: Teams the alert; Slack incidents
    // (the alert raised by hand opened one of its own, which Security works); e-mail only
    // what Facilities has to do.
    let all = hooks.requests();
    assert_eq!(all.iter().filter(|r| r.path == "/teams").count(), 1);
    for r in all.iter().filter(|r| r.path.starts_with("/slack/")) {
        let text = r.json()["text"].as_str().unwrap().to_owned();
        assert!(text.starts_with("Incident opened"), "{text}");
    }
    let mails = smtp.mails();
    let about_this: Vec<&Value> = mails
        .iter()
        .filter(|m| {
            m["subject"].as_str().unwrap().contains(&format!("{id}:"))
                || m["subject"].as_str().unwrap().contains(&format!("{id} ("))
        })
        .collect();
    assert_eq!(about_this.len(), 2, "{mails:#?}");

    // The channels view says a secret is set, never what it is; `tandem config` redacts it.
    let (status, channels) = server.get("/api/v1/notifications/channels", &[]);
    assert_eq!(status, 200);
    assert!(!channels.to_string().contains("secret"), "{channels}");
    assert_eq!(channels["channels"][1]["webhook_url"], "set");
    let page = server.admin_console().get("/notifications");
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("/slack/T000"),
        "the page shows no webhook URL"
    );
    let printed = support::tandem()
        .arg("config")
        .current_dir(dir.path())
        .env_remove("TANDEM_CONFIG")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.contains("[[notify.channels]]"), "{printed}");
    assert!(!printed.contains("/slack/T000"), "{printed}");
}

/// A burst of alerts on one route becomes at most `digest_after` messages on their own and
/// one digest listing the rest, not a message each.
#[test]
fn a_burst_of_alerts_becomes_one_digest() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = Receiver::start();
    let server = serve_webhook(
        dir.path(),
        &hooks,
        "",
        r#"kinds = ["alert_opened"]
digest_after = 3
digest_window_seconds = 5"#,
    );
    for i in 0..30 {
        raise_alert(&server, &format!("Burst alert {i}"));
    }
    let got = hooks.wait_for(4, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    let got = if got.len() < hooks.requests().len() {
        hooks.requests()
    } else {
        got
    };
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    let single = bodies.iter().filter(|b| b["digest"] == false).count();
    let digests: Vec<&Value> = bodies.iter().filter(|b| b["digest"] == true).collect();
    assert!(single <= 3, "{bodies:#?}");
    assert!(!digests.is_empty() && digests.len() <= 2, "{bodies:#?}");
    let told: u64 = single as u64
        + digests
            .iter()
            .map(|d| d["count"].as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(told, 30, "every alert is told, once: {bodies:#?}");
    assert!(
        digests[0]["headline"]
            .as_str()
            .unwrap()
            .contains("notifications"),
        "{}",
        digests[0]
    );
    assert_eq!(digests[0]["link"], format!("{}/alerts", server.url));
    assert_eq!(deliveries(&server, "digested").len(), 30 - single);
}

/// A receiver failing twice gets the message on the third attempt, with one idempotency key
/// throughout; one failing every time leaves the message dead after `max_attempts`, with
/// the answer on the delivery log, and an administrator sends it again.
#[test]
fn failures_are_retried_then_dead_lettered_with_the_answer_shown() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = Receiver::start();
    let server = serve_webhook(
        dir.path(),
        &hooks,
        r#"[notify]
max_attempts = 3
retry_base_seconds = 1
retry_cap_seconds = 2"#,
        r#"kinds = ["alert_opened"]"#,
    );
    hooks.fail_next(2, 503);
    raise_alert(&server, "Retried alert");
    let got = hooks.wait_for(3, Duration::from_secs(30));
    assert!(
        got.iter().all(|r| key(r) == key(&got[0])),
        "one key: {got:?}"
    );
    wait_until("the message delivered", Duration::from_secs(10), || {
        deliveries(&server, "delivered").len() == 1
    });
    assert_eq!(deliveries(&server, "delivered")[0]["attempts"], 3);

    hooks.fail_always(Some(500));
    raise_alert(&server, "Dead alert");
    wait_until("the message dead", Duration::from_secs(30), || {
        deliveries(&server, "dead").len() == 1
    });
    let dead = deliveries(&server, "dead").remove(0);
    assert_eq!(dead["attempts"], 3);
    assert_eq!(dead["last_status"], 500);
    assert!(
        dead["last_answer"]
            .as_str()
            .unwrap()
            .contains("failing on purpose"),
        "{dead}"
    );
    assert_eq!(hooks.requests().len(), 6, "no attempt after the last");

    // The delivery log shows it, with the answer, to an administrator, who sends it again.
    let console = server.admin_console();
    let page = console.get("/notifications?state=dead");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("failing on purpose") && page.body.contains("500"),
        "{}",
        page.body
    );
    hooks.fail_always(None);
    let id = dead["id"].as_str().unwrap();
    let csrf = console.csrf("/notifications?state=dead");
    let sent = console.post_form(&format!("/notifications/{id}/retry"), &[("csrf", &csrf)]);
    assert_eq!(sent.status, 303, "{}", sent.body);
    let got = hooks.wait_for(7, Duration::from_secs(30));
    assert_eq!(key(&got[6]), id);
    wait_until("the message delivered", Duration::from_secs(10), || {
        deliveries(&server, "delivered").len() == 2
    });
    // Sending again is only for dead messages.
    let (status, _) = server.post(&format!("/api/v1/notifications/{id}/retry"), "");
    assert_eq!(status, 409);
}

/// A message queued while its receiver fails, then the server killed with SIGKILL: after the
/// restart it is delivered, once.
#[test]
fn a_kill_9_between_enqueue_and_send_delivers_after_restart_once() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = Receiver::start();
    let server = serve_webhook(
        dir.path(),
        &hooks,
        r#"[notify]
max_attempts = 100
retry_base_seconds = 1
retry_cap_seconds = 1"#,
        r#"kinds = ["alert_opened"]"#,
    );
    hooks.fail_always(Some(503));
    raise_alert(&server, "Survives a crash");
    let failed = hooks.wait_for(1, Duration::from_secs(30));
    let id = key(&failed[0]);
    let token = server.token.clone();
    let data = server.data_dir.clone();
    server.kill9();
    hooks.fail_always(None);
    let before = hooks.requests().len();

    let server = TestServer::start(&data, Some(&token), &[]);
    hooks.wait_for(before + 1, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    let after: Vec<Received> = hooks.requests().split_off(before);
    assert_eq!(
        after.len(),
        1,
        "delivered once after the restart: {after:?}"
    );
    assert_eq!(key(&after[0]), id);
    let delivered = deliveries(&server, "delivered");
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["id"], id);
    assert!(deliveries(&server, "pending").is_empty());
}

/// An action item of a review still open the day after its due date: the SLA check (once a
/// minute) tells its department, naming the item and linking to the incident, and says so on
/// the timeline; another department's item, not yet due, is not told.
#[test]
fn an_overdue_action_item_is_told_to_its_department() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = Receiver::start();
    let server = serve_webhook(
        dir.path(),
        &hooks,
        "",
        r#"kinds = ["action_item_overdue"]
departments = ["facilities"]"#,
    );
    let id = open_incident(
        &server,
        json!({"title": "Badge stayed active after leaving", "severity": "medium"}),
    );
    let today = chrono::Utc::now().date_naive();
    let (status, body) = server.send_json(
        "PUT",
        &format!("/api/v1/incidents/{id}/review"),
        &json!({
            "summary": "The badge stayed active for a day.",
            "action_items": [
                {"title": "Revoke badges from the HR feed", "department": "facilities",
                 "due": (today - chrono::Days::new(2)).to_string()},
                {"title": "Same-day leaver checklist", "department": "hr",
                 "due": (today + chrono::Days::new(30)).to_string()},
            ],
        }),
    );
    assert_eq!(status, 200, "{body}");

    let got = hooks.wait_for(1, Duration::from_secs(120));
    let msg = got[0].json();
    assert_eq!(got[0].path, "/hook");
    assert_eq!(msg["kind"], "action_item_overdue", "{msg}");
    assert_eq!(msg["departments"], json!(["facilities"]), "{msg}");
    assert!(
        msg["task"]
            .as_str()
            .unwrap()
            .contains("Revoke badges from the HR feed"),
        "{msg}"
    );
    assert!(
        msg["headline"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Action item overdue: {id}")),
        "{msg}"
    );
    assert_eq!(msg["link"], format!("{}/incidents/{id}", server.url));
    let (_, inc) = server.get(&format!("/api/v1/incidents/{id}"), &[]);
    let told: Vec<&Value> = inc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "action_item_overdue")
        .collect();
    assert_eq!(told.len(), 1, "{inc}");
    assert_eq!(told[0]["detail"]["item"], "A1");
    assert_eq!(hooks.requests().len(), 1, "{:?}", hooks.requests());
}

/// A high incident resolved without its post-incident review tells its departments the
/// review is due (closing waits for it); a medium one, which closes without a review, and a
/// high one whose review is written, tell no one.
#[test]
fn a_review_falls_due_when_a_high_incident_is_resolved_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = Receiver::start();
    let server = serve_webhook(dir.path(), &hooks, "", r#"kinds = ["review_due"]"#);
    let resolve = |id: &str| {
        let (_, inc) = server.get(&format!("/api/v1/incidents/{id}"), &[]);
        let version = inc["incident"]["version"].as_u64().unwrap();
        let (status, body) = server.send_json(
            "PATCH",
            &format!("/api/v1/incidents/{id}"),
            &json!({"base_version": version, "status": "resolved"}),
        );
        assert_eq!(status, 200, "{body}");
    };
    let medium = open_incident(
        &server,
        json!({"title": "A door left open overnight", "severity": "medium"}),
    );
    resolve(&medium);
    let reviewed = open_incident(
        &server,
        json!({"title": "Server room entered after hours", "severity": "high"}),
    );
    let (status, body) = server.send_json(
        "PUT",
        &format!("/api/v1/incidents/{reviewed}/review"),
        &json!({"summary": "Contractor let in without an escort."}),
    );
    assert_eq!(status, 200, "{body}");
    resolve(&reviewed);
    let high = open_incident(
        &server,
        json!({"title": "Badge of a leaver used at the loading dock", "severity": "high"}),
    );
    resolve(&high);

    let got = hooks.wait_for(1, Duration::from_secs(60));
    let msg = got[0].json();
    assert_eq!(msg["kind"], "review_due", "{msg}");
    assert_eq!(msg["case_id"], high.as_str(), "{msg}");
    assert_eq!(msg["link"], format!("{}/incidents/{high}", server.url));
    // The other two were resolved first; had either been told, it would have come first.
    assert_eq!(hooks.requests().len(), 1, "{:?}", hooks.requests());
}
