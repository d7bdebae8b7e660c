//! Detection as an operator uses it: rules checked offline, findings raised at ingest, a rule
//! switched off through the API and staying off across a restart.

mod support;

use serde_json::{Value, json};
use support::TestServer;

const FORCED_RULE: &str = "de6eab26-7e2c-4351-9d80-42aec4b2f6b5";

fn forced_door(minute: u32) -> String {
    format!(
        "{}\n",
        json!({"time": format!("2026-03-04T10:{minute:02}:00Z"), "class": "physical_access",
               "activity": "forced", "place": {"door": "Loading dock"}})
    )
}

fn post(server: &TestServer, path: &str) -> (u16, Value) {
    let mut resp = TestServer::agent()
        .post(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .send_empty()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}

fn sigma_findings(server: &TestServer) -> u64 {
    server.total(&format!(
        "class:detection_finding AND finding.rule_id:{FORCED_RULE}"
    ))
}

#[test]
fn shipped_rules_fire_and_a_disabled_rule_stays_off_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data, None, &[]);
    let key = server.add_source("doors", "tandem");
    let (status, _) = server.ingest("doors", &key, forced_door(1).as_bytes(), &[]);
    assert_eq!(status, 200);
    assert_eq!(sigma_findings(&server), 1);
    let (_, rules) = server.get("/api/v1/rules", &[]);
    let rule = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == FORCED_RULE)
        .unwrap()
        .clone();
    assert_eq!(rule["hits"], 1);
    assert!(
        rule["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "physical.forced_entry")
    );

    let (status, body) = post(&server, &format!("/api/v1/rules/{FORCED_RULE}/disable"));
    assert_eq!(status, 200, "{body}");
    server.ingest("doors", &key, forced_door(2).as_bytes(), &[]);
    assert_eq!(sigma_findings(&server), 1, "a disabled rule fired");
    let (status, _) = post(&server, "/api/v1/rules/no-such-rule/disable");
    assert_eq!(status, 400);

    let token = server.token.clone();
    assert!(server.terminate().success());
    let server = TestServer::start(&data, Some(&token), &[]);
    server.ingest("doors", &key, forced_door(3).as_bytes(), &[]);
    assert_eq!(
        sigma_findings(&server),
        1,
        "the switch was forgotten at restart"
    );
    let (status, _) = post(&server, &format!("/api/v1/rules/{FORCED_RULE}/enable"));
    assert_eq!(status, 200);
    server.ingest("doors", &key, forced_door(4).as_bytes(), &[]);
    assert_eq!(sigma_findings(&server), 2);
    server.terminate();
}

#[test]
fn rules_check_lists_what_cannot_be_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yml"),
        "title: Broken\nlogsource: {product: tandem, category: physical_access}\ndetection:\n  sel: {activity|re: '('}\n  condition: sel\n",
    )
    .unwrap();
    let out = support::tandem()
        .args(["rules", "check", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("broken.yml") && text.contains("1 could not be used"),
        "{text}"
    );
}
