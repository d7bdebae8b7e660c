//! An analyst pivots from search results as in Kibana's Discover: from a row to its event,
//! from a value to the events with (or without) it, from an event to the events around it at
//! the same door, and from a count to the events it counted. Against the real server.

mod support;

use chrono::{DurationRound, SecondsFormat, Utc};
use serde_json::json;
use support::TestServer;

const PLACES: &str = "
places:
  - { id: osl, kind: site, name: Oslo HQ }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-a-srv, kind: zone, name: Server room, parent: osl-a }
  - { id: osl-a-srv-d1, kind: door, name: Server room door, parent: osl-a-srv }
  - { id: osl-a-main, kind: door, name: Main entrance, parent: osl-a }
";

/// Text as the templates escape it inside attributes.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// A search page address as the console writes it.
fn search(q: &str, rest: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("q", q);
    for (k, v) in rest {
        s.append_pair(k, v);
    }
    format!("/search?{}", s.finish())
}

/// "12 events" at the top of a results page.
fn count(page: &str) -> u64 {
    page.match_indices(" events")
        .find_map(|(at, _)| {
            let start = page[..at].rfind("<p>")? + 3;
            page[start..at].trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no count on the page: {page}"))
}

#[test]
fn search_rows_filter_for_and_out_show_surrounding_events_and_counts_drill_down() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", PLACES);
    assert_eq!(status, 200, "{body}");

    // Badges at the server room door: one long ago, three within a few minutes, one an hour
    // on; two at the main entrance at the same time; a sign-in on a laptop.
    let now = Utc::now()
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap();
    let at = |minutes_ago: i64| now - chrono::Duration::minutes(minutes_ago);
    let badge = |minutes_ago: i64, door: &str, badge: &str| {
        json!({"time": at(minutes_ago).to_rfc3339(), "class": "physical_access",
               "activity": "granted", "outcome": "success",
               "actor": {"badge": badge}, "place": {"door": door}})
    };
    let lines = [
        badge(90, "osl-a-srv-d1", "10077"),
        badge(12, "osl-a-srv-d1", "10077"),
        badge(10, "osl-a-srv-d1", "10078"),
        badge(8, "osl-a-srv-d1", "10079"),
        badge(10, "osl-a-main", "10080"),
        badge(11, "osl-a-main", "10081"),
        json!({"time": at(5).to_rfc3339(), "class": "authentication", "activity": "logon",
               "outcome": "failure", "message": "Failed password for \"o'brien\"",
               "actor": {"user": "CORP\\o'brien \"ob\""}, "device": {"hostname": "lap-0077"}}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let key = server.add_source("mixed", "tandem");
    let (status, report) = server.ingest("mixed", &key, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(7)),
        "{report}"
    );

    let console = server.admin_console();
    let page = console.get(&search("class:physical_access", &[("range", "24h")]));
    assert_eq!(page.status, 200);
    let text = page.body;
    assert_eq!(count(&text), 6);
    // Doors are named, not shown by their ids.
    assert!(
        text.contains("<td>Server room door <span class=\"pivots\">"),
        "{text}"
    );
    assert!(!text.contains("<td>osl-a-srv-d1"), "a door shown by its id");
    // Every row opens its event.
    let event_id = server.search("door:osl-a-main")["events"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains(&format!(
        "href=\"{}\"",
        html(&format!("/events/{event_id}"))
    )));

    // Filter for and filter out the door, on top of the query.
    let door_for = search(
        "class:physical_access AND door:osl-a-srv-d1",
        &[("range", "24h")],
    );
    let door_out = search(
        "class:physical_access AND NOT door:osl-a-srv-d1",
        &[("range", "24h")],
    );
    assert!(text.contains(&html(&door_for)), "no filter-for link");
    assert!(text.contains(&html(&door_out)), "no filter-out link");
    assert_eq!(count(&console.get(&door_for).body), 4);
    let out = console.get(&door_out).body;
    assert_eq!(
        count(&out),
        2,
        "filtering out the door leaves the main entrance"
    );
    assert!(out.contains("Main entrance") && !out.contains("<td>Server room door"));

    // Surrounding events: the door's events five minutes either side of the one ten minutes
    // ago, whatever the query: the three close ones, not the one an hour before nor the
    // main entrance's.
    let secs = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let around = search(
        "door:osl-a-srv-d1",
        &[("from", &secs(at(15))), ("to", &secs(at(5)))],
    );
    assert!(text.contains(&html(&around)), "no surrounding-events link");
    let near = console.get(&around).body;
    assert_eq!(count(&near), 3, "{near}");
    assert!(!near.contains("Main entrance"));

    // A value with quotes, a backslash and spaces filters for exactly itself.
    let page = console
        .get(&search("class:authentication", &[("range", "24h")]))
        .body;
    let odd = search(
        "class:authentication AND NOT user:\"CORP\\\\o'brien \\\"ob\\\"\"",
        &[("range", "24h")],
    );
    assert!(page.contains(&html(&odd)), "{page}");
    assert_eq!(count(&console.get(&odd).body), 0);
    let odd_for = search(
        "class:authentication AND user:\"CORP\\\\o'brien \\\"ob\\\"\"",
        &[("range", "24h")],
    );
    assert_eq!(count(&console.get(&odd_for).body), 1);
    // The host offers surrounding events on the same computer.
    assert!(page.contains(&html(&search(
        "host:lap-0077",
        &[("from", &secs(at(6))), ("to", &secs(at(4)))]
    ))));

    // The field statistics count the result's values, and filter on them too.
    let text = console
        .get(&search("class:physical_access", &[("range", "24h")]))
        .body;
    let stats = &text[text
        .find("Field statistics")
        .expect("a field statistics panel")..];
    assert!(
        stats.contains("<span class=\"stat-value\">Server room door</span> <small>4 (66%)</small>"),
        "{stats}"
    );
    assert!(
        stats.contains("<span class=\"stat-value\">Main entrance</span> <small>2 (33%)</small>")
    );
    assert!(stats.contains(&html(&door_out)));

    // A count's row drills into its events, the count dropped.
    let text = console
        .get(&search(
            "class:physical_access | count by door",
            &[("range", "24h")],
        ))
        .body;
    let drill = search(
        "class:physical_access AND door:osl-a-main",
        &[("range", "24h")],
    );
    assert!(
        text.contains(&format!("href=\"{}\">Main entrance</a>", html(&drill))),
        "{text}"
    );
    assert_eq!(count(&console.get(&drill).body), 2);
}
