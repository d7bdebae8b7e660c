//! The site model end to end: the places file documented in `docs/directory.md` imported into
//! a running server as it stands, then a badge at one site and logins from two sites' egress
//! networks, judged by the detections as an operator would see them.

mod support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{Console, TestServer};

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

/// Opens `/live/stream` with `query` and hands the rows it sends to a channel from a reader
/// thread, once the server says it is listening.
fn live_rows(console: &Console, query: &str) -> mpsc::Receiver<Value> {
    let resp = TestServer::agent()
        .get(format!("{}/live/stream?{query}", console.url))
        .header("Cookie", &console.cookie)
        .call()
        .expect("stream opens");
    assert_eq!(resp.status().as_u16(), 200);
    let (ready_tx, ready_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let reader = BufReader::new(resp.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if line == "event: ready" {
                let _ = ready_tx.send(());
            } else if let Some(data) = line.strip_prefix("data: ")
                && let Ok(row) = serde_json::from_str::<Value>(data)
                && tx.send(row).is_err()
            {
                break;
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the stream says it is listening");
    rx
}

/// The messages of the finding rows a stream sends until all of `wanted` arrived (ten
/// seconds at most).
fn finding_messages(rows: &mpsc::Receiver<Value>, wanted: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !wanted.iter().all(|w| seen.iter().any(|s| s == w)) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(row) = rows.recv_timeout(left) else {
            panic!("not every finding arrived: wanted {wanted:#?}, got {seen:#?}");
        };
        if row["kind"] == "finding" {
            seen.push(row["message"].as_str().unwrap_or_default().to_owned());
        }
    }
    seen
}

/// A finding is where its evidence is. A terminated person's badge at the Oslo server room
/// and a badge at Oslo then Bergen 40 minutes apart: the API's search and counts, the
/// findings page and the live monitor filtered to a site all show that site's findings, and
/// the journey from both of its sites.
#[test]
fn findings_are_found_at_the_sites_of_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, plan) = server.post(
        "/api/v1/directory/records?file=places.yaml",
        &documented_places_file(),
    );
    assert_eq!(status, 200, "{plan}");
    let hr = format!(
        "{HR}E2000,Bjørn Lie,bjorn.lie@nordlys.example,bjorn,Finance,,Controller,osl,2020-01-01,2026-03-01,20002\n"
    );
    let (status, plan) = server.post("/api/v1/directory/hr?file=hr.csv", &hr);
    assert_eq!(status, 200, "{plan}");

    let admin = server.admin_console();
    let at_oslo = live_rows(&admin, "site=osl");
    let at_bergen = live_rows(&admin, "site=bgo");

    let key = server.add_source("badges", "tandem");
    let ago = |minutes: i64| (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339();
    let badge = |minutes: i64, badge: &str, door: &str| {
        json!({"time": ago(minutes), "class": "physical_access", "activity": "granted",
               "outcome": "success", "actor": {"badge": badge}, "place": {"door": door}})
    };
    let lines = [
        badge(50, "20001", "Server room door"),
        badge(45, "20002", "Server room door"),
        badge(10, "20001", "Bergen entrance"),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (status, report) = server.ingest("badges", &key, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(3)),
        "{report}"
    );

    let one = |rule: &str| {
        let found = findings(&server, rule);
        assert_eq!(found.len(), 1, "{rule}: {found:#?}");
        found[0].clone()
    };
    let terminated = one("tandem.terminated_access");
    let travel = one("tandem.impossible_travel_badge");
    let summary = |f: &Value| f["message"].as_str().unwrap().to_owned();
    let id = |f: &Value| f["id"].as_str().unwrap().to_owned();
    assert_eq!(terminated["place"]["site"], "osl", "{terminated:#}");
    assert_eq!(
        terminated["place"]["door"], "osl-a-srv-d1",
        "{terminated:#}"
    );
    assert_eq!(
        terminated["place"]["zone"], "osl-a-srv",
        "a zone is a zone: {terminated:#}"
    );
    let mut spanned: Vec<&str> = travel["attrs"]["finding"]["entities"]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    spanned.sort_unstable();
    assert_eq!(spanned, ["bgo", "osl"], "{travel:#}");

    // The API: search and counts by site.
    let ids_at = |site: &str| -> Vec<String> {
        server.search(&format!("class:detection_finding AND site:{site}"))["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect()
    };
    let oslo = ids_at("osl");
    assert!(
        oslo.contains(&id(&terminated)) && oslo.contains(&id(&travel)),
        "{oslo:?}"
    );
    let bergen = ids_at("bgo");
    assert!(bergen.contains(&id(&travel)), "{bergen:?}");
    assert!(!bergen.contains(&id(&terminated)), "{bergen:?}");
    let counts = server.search("class:detection_finding | count by site");
    let count_at = |site: &str| {
        counts["rows"]
            .as_array()
            .expect("count rows")
            .iter()
            .find(|r| r[0][0] == site)
            .and_then(|r| r[1].as_u64())
            .unwrap_or(0)
    };
    assert!(count_at("osl") >= 1, "findings counted at Oslo: {counts:#}");

    // The findings page, by query and by its site filter.
    let page = admin.get("/findings?q=site%3Aosl");
    assert_eq!(page.status, 200);
    for f in [&terminated, &travel] {
        assert!(
            page.body.contains(&format!("/findings/{}", id(f))),
            "{}",
            page.body
        );
    }
    let page = admin.get("/findings?site=bgo");
    assert!(
        page.body.contains(&format!("/findings/{}", id(&travel))),
        "{}",
        page.body
    );
    assert!(
        !page
            .body
            .contains(&format!("/findings/{}", id(&terminated))),
        "{}",
        page.body
    );
    assert!(page.body.contains("Bergen office") && page.body.contains("Oslo HQ"));

    // The live monitor filtered to a site: the stream, then the page without JavaScript.
    finding_messages(&at_oslo, &[&summary(&terminated), &summary(&travel)]);
    let bergen = finding_messages(&at_bergen, &[&summary(&travel)]);
    assert!(!bergen.contains(&summary(&terminated)), "{bergen:?}");
    let page = admin.get("/live?site=osl");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("Door access by a terminated or suspended person")
            && page
                .body
                .contains("Badge or login at two sites too far apart"),
        "{}",
        page.body
    );
}
