//! The control room's alarm queue end to end: door events sent as Verkada sends them raise,
//! fold and clear alarms on a real server; people acknowledge, snooze and forward them from
//! the console and the API; the queue survives a restart without raising anything twice.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Console, TestServer, start_with_accounts};

const PLACES: &str = "places:
  - { id: osl, kind: site, name: Oslo HQ, time_zone: Europe/Oslo }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-lobby, kind: zone, name: Lobby, parent: osl-a }
  - { id: osl-lobby-east, kind: door, name: Lobby east, parent: osl-lobby,
      external_ids: { verkada: 8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42 } }
";

/// A Verkada access-control webhook about the lobby door, as Verkada posts it.
fn verkada(kind: &str) -> String {
    json!({
        "webhook_type": "notification",
        "webhook_id": format!("{kind}-{}", chrono::Utc::now().timestamp_micros()),
        "org_id": "1455",
        "created_at": chrono::Utc::now().timestamp(),
        "data": {
            "notification_type": kind,
            "created": chrono::Utc::now().timestamp(),
            "door_id": "8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42",
            "device_type": "access_control",
            "door_info": {"name": "Lobby east", "site": {"site_id": "f53e", "name": "Oslo HQ"}}
        }
    })
    .to_string()
}

const SECRET: &str = "verkada-webhook-secret-0123456789";

/// Posts a webhook signed as Verkada signs it.
fn send(server: &TestServer, kind: &str) {
    use tandem_ingest::integrations::verkada;
    let body = verkada(kind);
    let signature = verkada::sign(
        SECRET.as_bytes(),
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    );
    let mut resp = TestServer::agent()
        .post(format!("{}/api/v1/webhooks/doors", server.url))
        .header(verkada::SIGNATURE_HEADER, signature)
        .send(body.as_bytes())
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 200, "{text}");
}

/// Polls the queue until `done` holds for it.
fn queue_until(server: &TestServer, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = server.get("/api/v1/alarms", &[("cleared", "true")]);
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: {body:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn alarms_of<'a>(q: &'a Value, kind: &str) -> Vec<&'a Value> {
    q["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == kind)
        .collect()
}

fn call(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let mut resp = TestServer::agent()
        .post(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(body)
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}

fn form(console: &Console, path: &str, fields: &[(&str, &str)]) {
    let csrf = console.csrf("/alarms");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let page = console.post_form(path, &all);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/alarms"));
}

#[test]
fn a_forced_door_is_acknowledged_snoozed_forwarded_and_cleared_when_the_door_closes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The Verkada source and its webhook secret, as the configuration declares them.
    std::fs::write(
        dir.path().join("tandem.toml"),
        format!(
            "[[sources]]\nname = \"doors\"\nformat = \"verkada\"\nwebhook_secret = \"{SECRET}\"\n"
        ),
    )
    .unwrap();
    let roles = ["physical_security", "responder:facilities", "responder:hr"].map(String::from);
    let (server, seeded) = start_with_accounts(
        &data,
        &roles,
        &["physical_security", "responder:facilities"],
    );
    let guard = &seeded[0];
    let facilities = &seeded[1];
    let hr = &seeded[2];
    let (status, plan) = server.post("/api/v1/directory/records?file=places.yaml", PLACES);
    assert_eq!(status, 200, "{plan}");

    // A held-open door clears itself once the door is used again: no one has to act.
    send(&server, "door_held_open");
    let q = queue_until(&server, "held open raised", |q| {
        alarms_of(q, "door_held_open").len() == 1
    });
    assert_eq!(alarms_of(&q, "door_held_open")[0]["ack_required"], false);
    send(&server, "door_granted");
    queue_until(&server, "held open cleared by the door", |q| {
        alarms_of(q, "door_held_open")[0]["state"] == "cleared"
    });

    // The door is forced, twice: one alarm, counted twice, named by the directory.
    send(&server, "door_forced_open");
    send(&server, "door_forced_open");
    let q = queue_until(&server, "forced door raised twice", |q| {
        alarms_of(q, "door_forced")
            .first()
            .is_some_and(|a| a["count"] == 2)
    });
    let forced = alarms_of(&q, "door_forced")[0].clone();
    let id = forced["id"].as_str().unwrap().to_owned();
    assert_eq!(forced["state"], "active", "{forced:#}");
    assert_eq!(forced["place"], "osl-lobby-east");
    assert_eq!(forced["place_name"], "Lobby east");
    assert_eq!(forced["site"], "osl");
    assert_eq!(forced["ack_required"], true);
    assert_eq!(q["unacknowledged"], 1);

    // The guard's console: the queue names the door and links its page, its events; every
    // page carries the count in the tab title and beside "Alarms" in the menu.
    let console = server
        .sign_in(&guard.user, guard.password.as_deref().unwrap())
        .unwrap();
    let page = console.get("/alarms").body;
    assert!(
        page.contains("<title>(1) Alarms · Tandem</title>"),
        "{page}"
    );
    assert!(page.contains("Door forced open: Lobby east"), "{page}");
    assert!(
        page.contains("href=\"/places/osl-lobby-east\">Lobby east</a>"),
        "{page}"
    );
    assert!(page.contains("Unacknowledged"), "{page}");
    assert!(page.contains("must be acknowledged"), "{page}");
    let event = forced["events"][1].as_str().unwrap();
    assert!(
        page.contains(&format!("href=\"/events/{event}\"")),
        "{page}"
    );
    let search = console.get("/search").body;
    assert!(search.contains("<title>(1) "), "{search}");
    assert!(search.contains("1 unacknowledged</span>"), "{search}");

    // It cannot be cleared before someone acknowledges it.
    let (status, body) = call(
        &server,
        &guard.token,
        &format!("/api/v1/alarms/{id}/clear"),
        json!({}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("must be acknowledged before they are cleared"),
        "{body}"
    );

    // Snoozed: out of the count until the time comes.
    let (status, body) = call(
        &server,
        &guard.token,
        &format!("/api/v1/alarms/{id}/snooze"),
        json!({"minutes": 10, "comment": "camera check first"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alarm"]["snoozed"], true);
    let (_, count) = server.get("/api/v1/alarms/count", &[]);
    assert_eq!(count["unacknowledged"], 0, "{count}");

    // Forwarded to Facilities from the console: their queue marks it as theirs. They see
    // alarms but do not act on them; HR sees no alarms at all.
    form(
        &console,
        &format!("/alarms/{id}/forward"),
        &[
            ("to", "role:responder:facilities"),
            ("comment", "door closer broken"),
        ],
    );
    let fac = server
        .sign_in(&facilities.user, facilities.password.as_deref().unwrap())
        .unwrap();
    let theirs = fac.get("/alarms?mine=true").body;
    assert!(theirs.contains("Forwarded to you"), "{theirs}");
    assert!(theirs.contains("Door forced open: Lobby east"), "{theirs}");
    assert!(!theirs.contains("/acknowledge\""), "{theirs}");
    let (status, _) = call(
        &server,
        &facilities.token,
        &format!("/api/v1/alarms/{id}/acknowledge"),
        json!({}),
    );
    assert_eq!(status, 403);
    let (status, _) = TestServer::agent()
        .get(format!("{}/api/v1/alarms", server.url))
        .header("Authorization", format!("Bearer {}", hr.token))
        .call()
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 403);

    // Acknowledged with a comment from the console.
    form(
        &console,
        &format!("/alarms/{id}/acknowledge"),
        &[("comment", "guard on the way")],
    );
    let (_, one) = server.get(&format!("/api/v1/alarms/{id}"), &[]);
    assert_eq!(one["alarm"]["state"], "acknowledged", "{one:#}");
    assert_eq!(one["alarm"]["acknowledged_by"], guard.user.as_str());
    let actions: Vec<(String, String, String)> = one["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["actor"].as_str().unwrap().to_owned(),
                a["action"].as_str().unwrap().to_owned(),
                a["comment"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(actions[0].1, "raised");
    // Tandem's own entries (the finding about the door joining the alarm) aside, what
    // people did, in order, with their comments.
    let by_people: Vec<&(String, String, String)> =
        actions.iter().filter(|a| a.0 != "tandem").collect();
    assert_eq!(by_people.len(), 3, "{actions:?}");
    assert_eq!(by_people[0].0, format!("token-{}", guard.user));
    assert_eq!(by_people[0].1, "snoozed");
    assert!(
        by_people[0].2.ends_with(": camera check first"),
        "{actions:?}"
    );
    assert_eq!(
        *by_people[1],
        (
            guard.user.clone(),
            "forwarded".into(),
            "to role:responder:facilities: door closer broken".into()
        )
    );
    assert_eq!(
        *by_people[2],
        (
            guard.user.clone(),
            "acknowledged".into(),
            "guard on the way".into()
        )
    );
    // The finding the shipped rules raised on the forced door is this alarm's finding.
    assert!(one["alarm"]["finding"].is_string(), "{one:#}");
    let (_, audit) = server.get("/api/v1/audit", &[("limit", "1000")]);
    let audited = audit.to_string();
    for action in ["alarm.snoozed", "alarm.forwarded", "alarm.acknowledged"] {
        assert!(audited.contains(action), "{action} not audited: {audit:#}");
    }
    assert!(audited.contains("guard on the way"));

    // A restart keeps the queue as it was and raises nothing again.
    let token = server.token.clone();
    server.terminate();
    let server = TestServer::start(&data, Some(&token), &[]);
    std::thread::sleep(Duration::from_secs(2));
    let q = queue_until(&server, "the queue after a restart", |q| {
        !alarms_of(q, "door_forced").is_empty()
    });
    let forced = alarms_of(&q, "door_forced");
    assert_eq!(forced.len(), 1, "{q:#}");
    assert_eq!(forced[0]["state"], "acknowledged");
    assert_eq!(forced[0]["count"], 2);
    assert_eq!(alarms_of(&q, "door_held_open").len(), 1, "{q:#}");

    // The door closes: acknowledged already, so the alarm is over.
    send(&server, "door_granted");
    let q = queue_until(&server, "forced door cleared when the door closes", |q| {
        alarms_of(q, "door_forced")[0]["state"] == "cleared"
    });
    assert_eq!(alarms_of(&q, "door_forced")[0]["cleared_by"], "tandem");
    assert_eq!(q["unacknowledged"], 0);
}
