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
    // The event's own page offers the same.
    let badge_event = server.search("actor.badge:10078")["events"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = console.get(&format!("/events/{badge_event}")).body;
    assert!(page.contains("Events around it"), "{page}");
    assert!(
        page.contains(&html(&around)),
        "no surrounding events on the event page"
    );
    // Picking a range from the menu leaves the window (the form still carries it).
    let mut menu = around.clone();
    menu.push_str("&range=all");
    assert_eq!(count(&console.get(&menu).body), 4, "all time at that door");

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

/// A Sigma finding reads like a native one on its page, in the findings list and on its
/// alert: the rule's title and description, what matched in words, ATT&CK techniques by
/// name, the door by name, and none of the rule's UUID, its selection names or raw JSON. Its
/// devices and addresses link to their events around the finding.
#[test]
fn a_sigma_finding_reads_like_a_native_one_and_links_its_devices_and_addresses() {
    const FORCED: &str = "de6eab26-7e2c-4351-9d80-42aec4b2f6b5";
    const CAMERA: &str = "4499e8a8-9724-480b-bf27-2f63e065de4d";
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", PLACES);
    assert_eq!(status, 200, "{body}");
    let now = Utc::now()
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap();
    let lines = [
        json!({"time": (now - chrono::Duration::minutes(3)).to_rfc3339(), "class": "physical_access",
               "activity": "forced", "place": {"door": "osl-a-srv-d1"}, "src": {"ip": "10.20.30.40"}}),
        json!({"time": now.to_rfc3339(), "class": "device_status", "activity": "offline",
               "device": {"hostname": "lobby-cam-1", "kind": "camera"}}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let key = server.add_source("mixed", "tandem");
    let (status, report) = server.ingest("mixed", &key, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(2)),
        "{report}"
    );

    let finding_of = |rule: &str| {
        let (_, listed) = server.get(
            "/api/v1/findings",
            &[("q", &format!("finding.rule_id:{rule}"))],
        );
        listed["findings"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no finding of {rule}: {listed}"))
            .to_owned()
    };
    let console = server.admin_console();
    let forced = console.get(&format!("/findings/{}", finding_of(FORCED)));
    assert_eq!(forced.status, 200);
    let text = forced.body;
    assert!(text.contains("Door Forced Open"));
    assert!(
        text.contains("A door opened without a grant or a request-to-exit."),
        "no description"
    );
    assert!(
        text.contains(
            "Door Forced Open — from 10.20.30.40 at Server room door: activity is forced"
        ),
        "{text}"
    );
    assert!(
        text.contains("<th scope=\"row\">Matched</th><td>activity is forced</td>"),
        "{text}"
    );
    assert!(text.contains("Physical: forced entry"));
    for raw in [
        FORCED,
        "&quot;activity&quot;",
        "selection",
        "{&quot;",
        "[&quot;",
    ] {
        assert!(!text.contains(raw), "the finding page shows {raw}: {text}");
    }
    let secs = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let at = now - chrono::Duration::minutes(3);
    let ip = search(
        "ip:10.20.30.40",
        &[
            ("from", &secs(at - chrono::Duration::days(1))),
            ("to", &secs(at + chrono::Duration::days(1))),
        ],
    );
    assert!(
        text.contains(&format!("href=\"{}\"", html(&ip))),
        "the address is not a link"
    );
    assert_eq!(count(&console.get(&ip).body), 1, "the forced door's event");

    let camera = console
        .get(&format!("/findings/{}", finding_of(CAMERA)))
        .body;
    assert!(camera.contains("T1562 Impair Defenses"), "{camera}");
    let host = search(
        "host:lobby-cam-1",
        &[
            ("from", &secs(now - chrono::Duration::days(1))),
            ("to", &secs(now + chrono::Duration::days(1))),
        ],
    );
    assert!(
        camera.contains(&format!("href=\"{}\"", html(&host))),
        "the device is not a link"
    );
    assert!(!camera.contains(CAMERA));

    // The findings list says the same, without the rule's id.
    let list = console.get("/findings").body;
    assert!(
        list.contains(
            "Door Forced Open — from 10.20.30.40 at Server room door: activity is forced"
        )
    );
    assert!(!list.contains(&format!(">{FORCED}")) && !list.contains("selection"));

    // Its alert names the rule and the door, not their ids.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let alert = loop {
        let (_, body) = server.get("/api/v1/alerts", &[]);
        let found = body["alerts"].as_array().and_then(|all| {
            all.iter()
                .find(|a| a["rules"].to_string().contains(FORCED))
                .cloned()
        });
        if let Some(a) = found {
            break a;
        }
        assert!(std::time::Instant::now() < deadline, "no alert: {body}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let page = console
        .get(&format!("/alerts/{}", alert["id"].as_str().unwrap()))
        .body;
    assert!(page.contains("Door Forced Open"), "{page}");
    assert!(
        !page.contains(FORCED),
        "the alert shows the rule's UUID: {page}"
    );
    assert!(
        !page.contains(">osl-a-srv-d1"),
        "the alert shows the door's id: {page}"
    );
}

/// A person's timeline is narrowed to the last day, week or month, or to chosen dates.
#[test]
fn the_person_timeline_has_a_time_window() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let hr = "employee_number,name,email,username,department,manager,title,site,hired,terminated,badge\n\
              E1000,Ingrid Dahl,ingrid.dahl@nordlys.example,idahl,Finance,,CFO,osl,2019-01-07,,10001\n";
    let (status, body) = server.post("/api/v1/directory/hr", hr);
    assert_eq!(status, 200, "{body}");
    let now = Utc::now();
    let lines: Vec<_> = [(2, "Signed in two hours ago"), (3 * 24, "Signed in three days ago"), (20 * 24, "Signed in twenty days ago")]
        .iter()
        .map(|(hours, message)| {
            json!({"time": (now - chrono::Duration::hours(*hours)).to_rfc3339(), "class": "authentication",
                   "activity": "logon", "outcome": "success", "message": message, "actor": {"user": "idahl"}})
        })
        .collect();
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let key = server.add_source("auth", "tandem");
    let (status, report) = server.ingest("auth", &key, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(3)),
        "{report}"
    );
    let console = server.admin_console();
    let shows = |path: &str| {
        let page = console.get(path);
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        ["two hours", "three days", "twenty days"]
            .map(|w| page.body.contains(&format!("Signed in {w} ago")))
    };
    assert_eq!(
        shows("/people/E1000"),
        [true, true, true],
        "the whole history by default"
    );
    assert_eq!(shows("/people/E1000?window=24h"), [true, false, false]);
    assert_eq!(shows("/people/E1000?window=7d"), [true, true, false]);
    assert_eq!(shows("/people/E1000?window=30d"), [true, true, true]);
    let day = |days: i64| {
        (now - chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    assert_eq!(
        shows(&format!(
            "/people/E1000?window=custom&from={}&to={}",
            day(25),
            day(3)
        )),
        [false, true, true],
        "the days chosen, the last one whole"
    );
    let page = console.get("/people/E1000?window=custom&from=yesterday-ish");
    assert_eq!(
        page.status, 400,
        "a date that is not one is refused in words"
    );
    let page = console.get("/people/E1000?window=7d").body;
    assert!(
        page.contains("<option value=\"7d\" selected>"),
        "the control shows the window"
    );
}
