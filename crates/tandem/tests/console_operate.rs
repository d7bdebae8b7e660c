//! The console pages for watching and running Tandem, used as people use them: a guard
//! watching the live monitor, an analyst switching a rule off, an administrator adding a
//! colleague.

mod support;

use serde_json::{Value, json};
use support::{TestServer, event_line, open_stream, rows_until, wait_ready};

const FORCED_RULE: &str = "de6eab26-7e2c-4351-9d80-42aec4b2f6b5";

fn started() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    (dir, server)
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

fn badge_line(minutes_ago: i64, door: &str, activity: &str, card: &str) -> String {
    let time = chrono::Utc::now() - chrono::Duration::minutes(minutes_ago);
    json!({"time": time.to_rfc3339(), "class": "physical_access", "activity": activity,
           "outcome": if activity == "denied" { "failure" } else { "success" },
           "actor": {"badge": card}, "message": format!("badge {card} {activity} at {door}"),
           "place": {"door": door, "site": "hq"}})
    .to_string()
}

/// The text between `marker` and the next `<`: a secret shown once on a page.
fn shown_secret(body: &str) -> String {
    let marker = "<code id=\"secret-value\">";
    let start = body.find(marker).expect("a secret is shown") + marker.len();
    body[start..start + body[start..].find('<').unwrap()].to_owned()
}

const DRAFT: &str = "title: Server Room Denial
id: 33333333-3333-3333-3333-333333333333
name: srv_denied
level: low
logsource:
    product: tandem
    category: physical_access
detection:
    sel:
        activity: denied
        door: server-room
    condition: sel
---
title: Repeated Server Room Denials
id: 44444444-4444-4444-4444-444444444444
level: high
correlation:
    type: event_count
    rules:
        - srv_denied
    group-by:
        - door
    timespan: 10m
    condition:
        gte: 3
    generate: true
";

#[test]
fn an_analyst_tries_a_draft_rule_on_recent_events() {
    let (_dir, server) = started();
    let key = server.add_source("badges", "tandem");
    let body = [
        badge_line(9, "server-room", "denied", "1"),
        badge_line(8, "server-room", "denied", "2"),
        badge_line(7, "lobby", "denied", "3"),
        badge_line(6, "server-room", "granted", "4"),
        badge_line(5, "server-room", "denied", "5"),
    ]
    .join("\n");
    let (status, report) = server.ingest("badges", &key, body.as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");
    server.wait_for("source:badges", 5);
    let findings_before = server.total("class:detection_finding");
    let admin = server.admin_console();

    let editor = admin.get("/rules/test");
    assert_eq!(editor.status, 200);
    assert!(editor.body.contains("Badge denied at a restricted door"));
    let from_rule = admin.get(&format!("/rules/test?rule={FORCED_RULE}"));
    assert_eq!(from_rule.status, 200);
    assert!(from_rule.body.contains("title: Door Forced Open"));
    assert_eq!(admin.get("/rules/test?rule=no-such-rule").status, 404);
    assert!(
        admin
            .get("/rules")
            .body
            .contains(&format!("/rules/test?rule={FORCED_RULE}")),
        "each Sigma rule links to its test"
    );

    let csrf = admin.csrf("/rules/test");
    let ran = admin.post_form(
        "/rules/test",
        &[
            ("csrf", &csrf),
            ("text", DRAFT),
            ("range", "24h"),
            ("q", ""),
        ],
    );
    assert_eq!(ran.status, 200, "{}", ran.body);
    assert!(
        ran.body
            .contains("<strong>4 findings</strong> from 2 rules over 5 events"),
        "{}",
        ran.body
    );
    assert!(ran.body.contains("Repeated Server Room Denials"));
    assert!(
        ran.body.contains("href=\"/events/"),
        "findings link to evidence"
    );

    // Narrowed to the lobby door, the draft finds nothing.
    let narrowed = admin.post_form(
        "/rules/test",
        &[
            ("csrf", &csrf),
            ("text", DRAFT),
            ("range", "1h"),
            ("q", "door:lobby"),
        ],
    );
    assert!(
        narrowed
            .body
            .contains("<strong>0 findings</strong> from 2 rules over 1 events"),
        "{}",
        narrowed.body
    );

    let broken = admin.post_form(
        "/rules/test",
        &[
            ("csrf", &csrf),
            ("text", "title: [unclosed\n"),
            ("range", "24h"),
        ],
    );
    assert_eq!(broken.status, 200);
    assert!(broken.body.contains("could not be used"), "{}", broken.body);
    assert!(broken.body.contains("parse:"));
    let counted = admin.post_form(
        "/rules/test",
        &[("csrf", &csrf), ("text", DRAFT), ("q", "* | count by door")],
    );
    assert_eq!(counted.status, 400);
    assert!(counted.body.contains("leave out the `| …` part"));

    // Scripts get the same over the API.
    let mut resp = TestServer::agent()
        .post(format!("{}/api/v1/rules/test", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .send_json(json!({"text": DRAFT, "q": "source:badges"}))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let answer: Value = resp.body_mut().read_json().unwrap();
    assert_eq!(answer["events_scanned"], 5);
    assert_eq!(answer["findings"].as_array().unwrap().len(), 4, "{answer}");

    // Testing raised nothing for real.
    assert_eq!(server.total("class:detection_finding"), findings_before);
}

#[test]
fn an_administrator_adds_a_source_and_replaces_its_key() {
    let (_dir, server) = started();
    let admin = server.admin_console();
    let csrf = admin.csrf("/settings");

    let created = admin.post_form(
        "/settings/sources",
        &[
            ("csrf", &csrf),
            ("name", "door-export"),
            ("format", "tandem"),
            ("vendor", "Acme"),
            ("product", ""),
        ],
    );
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("API key for source “door-export”"));
    let first = shown_secret(&created.body);
    assert!(first.starts_with("tsk_"));
    let line = badge_line(1, "lobby", "granted", "7");
    assert_eq!(
        server.ingest("door-export", &first, line.as_bytes(), &[]).0,
        200
    );

    let again = admin.post_form(
        "/settings/sources",
        &[("csrf", &csrf), ("name", "door-export"), ("format", "json")],
    );
    assert_eq!(again.status, 400);
    assert!(again.body.contains("exists already"), "{}", again.body);
    let signed = admin.post_form(
        "/settings/sources",
        &[("csrf", &csrf), ("name", "vk"), ("format", "verkada")],
    );
    assert_eq!(signed.status, 400);
    assert!(signed.body.contains("tandem.toml"));

    let settings = admin.get("/settings");
    assert!(settings.body.contains("/settings/sources/door-export/key"));
    assert!(!settings.body.contains(&first), "a key is shown only once");
    let replaced = admin.post_form("/settings/sources/door-export/key", &[("csrf", &csrf)]);
    assert_eq!(replaced.status, 200);
    let second = shown_secret(&replaced.body);
    assert_ne!(first, second);
    assert_eq!(
        server.ingest("door-export", &first, line.as_bytes(), &[]).0,
        401
    );
    assert_eq!(
        server
            .ingest("door-export", &second, line.as_bytes(), &[])
            .0,
        200
    );
    assert_eq!(
        admin
            .post_form("/settings/sources/nowhere/key", &[("csrf", &csrf)])
            .status,
        400
    );

    // The sources page draws the day's volume and lists what could not be read.
    let broken = format!("{line}\n{{not json\n");
    let (status, report) = server.ingest("door-export", &second, broken.as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");
    server.wait_for("source:door-export", 3);
    let sources = admin.get("/sources?source=door-export");
    assert_eq!(sources.status, 200);
    assert!(
        sources.body.contains("3 events in the last 24 hours"),
        "{}",
        sources.body
    );
    assert!(
        sources
            .body
            .contains("Latest dead letters from door-export")
    );
    assert!(sources.body.contains("{not json"), "{}", sources.body);

    let (_, audit) = server.get("/api/v1/audit", &[]);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"source.create"), "{actions:?}");
    assert!(actions.contains(&"source.key"), "{actions:?}");
}

#[test]
fn an_administrator_adds_and_removes_a_rule_directory() {
    let (dir, server) = started();
    let rules_dir = dir.path().join("site-rules");
    std::fs::create_dir_all(&rules_dir).unwrap();
    std::fs::write(
        rules_dir.join("lobby.yml"),
        "title: Site Rule Lobby Denial\nid: 55555555-5555-5555-5555-555555555555\nlogsource:\n    product: tandem\n    category: physical_access\ndetection:\n    sel:\n        activity: denied\n        door: lobby\n    condition: sel\n",
    )
    .unwrap();
    std::fs::write(rules_dir.join("broken.yml"), "title: [unclosed\n").unwrap();
    let path = rules_dir.display().to_string();
    let admin = server.admin_console();
    let csrf = admin.csrf("/settings");
    let settings = admin.get("/settings");
    assert!(settings.body.contains("Built into Tandem"));

    let relative = admin.post_form(
        "/settings/rule-directories",
        &[("csrf", &csrf), ("path", "site-rules")],
    );
    assert_eq!(relative.status, 400);
    assert!(relative.body.contains("not a full path"));
    let missing = admin.post_form(
        "/settings/rule-directories",
        &[("csrf", &csrf), ("path", "/no/such/rules")],
    );
    assert_eq!(missing.status, 400);
    assert!(missing.body.contains("cannot read"));

    let mut added = admin.post_form(
        "/settings/rule-directories",
        &[("csrf", &csrf), ("path", &path)],
    );
    // Templates escape `/` in text.
    added.body = added.body.replace("&#x2f;", "/");
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(
        added.body.contains(&format!(
            "Rule directory {path} added: 1 rules read from it"
        )),
        "{}",
        added.body
    );
    assert!(added.body.contains("Added here"));
    assert!(added.body.contains("broken.yml"), "its problem is listed");
    assert!(admin.get("/rules").body.contains("Site Rule Lobby Denial"));

    // Remembered across a restart.
    let token = server.token.clone();
    let data = server.data_dir.clone();
    let password = server.admin_password.clone().unwrap();
    server.terminate();
    let server = TestServer::start(&data, Some(&token), &[]);
    let (_, listed) = server.get("/api/v1/rules", &[]);
    assert!(
        listed.to_string().contains("Site Rule Lobby Denial"),
        "the directory is read again after a restart"
    );
    let admin = server
        .sign_in("admin", &password)
        .expect("admin signs in again");
    let csrf = admin.csrf("/settings");

    let shipped = data.join("rules").join("tandem").display().to_string();
    let kept = admin.post_form(
        "/settings/rule-directories/remove",
        &[("csrf", &csrf), ("path", &shipped)],
    );
    assert_eq!(kept.status, 400);
    assert!(kept.body.contains("was not added on the console"));
    let mut removed = admin.post_form(
        "/settings/rule-directories/remove",
        &[("csrf", &csrf), ("path", &path)],
    );
    removed.body = removed.body.replace("&#x2f;", "/");
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(
        removed
            .body
            .contains(&format!("Rule directory {path} removed"))
    );
    assert!(!admin.get("/rules").body.contains("Site Rule Lobby Denial"));

    let (_, audit) = server.get("/api/v1/audit", &[]);
    let text = audit.to_string();
    assert!(text.contains("rules.directory.add"));
    assert!(text.contains("rules.directory.remove"));
}
