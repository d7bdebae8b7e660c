//! The site model end to end: the places file documented in `docs/directory.md` imported into
//! a running server as it stands, then a badge at one site and logins from two sites' egress
//! networks, judged by the detections as an operator would see them.

mod support;

use serde_json::{Value, json};
use support::TestServer;

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E1042,Kari Nordmann,kari.nordmann@nordlys.example,kari,Sales,,Account manager,osl,2021-03-01,,20001
";

/// The first YAML block of `docs/directory.md`: the complete places file example.
fn documented_places_file() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/directory.md");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text
        .find("```yaml\nplaces:")
        .expect("docs/directory.md has an example")
        + 8;
    let len = text[start..].find("```").unwrap();
    text[start..start + len].to_owned()
}

fn findings(server: &TestServer, rule: &str) -> Vec<Value> {
    server.search(&format!(
        "class:detection_finding AND finding.rule_id:{rule}"
    ))["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn the_documented_places_file_places_logins_by_site_network() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, plan) = server.post(
        "/api/v1/directory/records?file=places.yaml",
        &documented_places_file(),
    );
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["plan"]["new"], 15, "{plan}");
    let (status, plan) = server.post("/api/v1/directory/hr?file=hr.csv", HR);
    assert_eq!(status, 200, "{plan}");

    // The lab door's schedule reads back as written, to the minute.
    let (status, door) = server.get("/api/v1/places/osl-a-lab-door", &[]);
    assert_eq!(status, 200, "{door}");
    assert!(
        door.to_string()
            .contains("mon-thu 08:00-12:00, 12:30-17:00; fri 08:00-15:00"),
        "{door}"
    );

    let key = server.add_source("mixed", "tandem");
    let lines = [
        // Badged into the Oslo server room.
        json!({"time": "2026-03-04T08:00:00Z", "class": "physical_access", "activity": "granted",
               "outcome": "success", "actor": {"badge": "20001"}, "place": {"door": "Server room door"}}),
        // A logon from Oslo's own network, which geo-IP places in New York: on site.
        json!({"time": "2026-03-04T08:20:00Z", "class": "authentication", "activity": "logon",
               "outcome": "success", "actor": {"user": "kari"},
               "src": {"ip": "198.51.100.5", "geo": {"city": "New York", "country": "US", "lat": 40.71, "lon": -74.01}}}),
        // 40 minutes after the badge, a logon from the Bergen office's network, 305 km away.
        json!({"time": "2026-03-04T08:40:00Z", "class": "authentication", "activity": "logon",
               "outcome": "success", "actor": {"user": "kari"}, "src": {"ip": "203.0.113.70"}}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (status, report) = server.ingest("mixed", &key, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(3)),
        "{report}"
    );

    assert!(
        findings(&server, "tandem.remote_login_while_on_site").is_empty(),
        "a login from the site's own network is not remote"
    );
    let travel = findings(&server, "tandem.impossible_travel_badge");
    assert_eq!(travel.len(), 1, "{travel:#?}");
    let text = travel[0].to_string();
    assert!(
        text.contains("Kari Nordmann: badge used at Server room door, Oslo HQ"),
        "{text}"
    );
    assert!(
        text.contains("on the Bergen office network") && text.contains("305 km in 40 min"),
        "{text}"
    );
}
