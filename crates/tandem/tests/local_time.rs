//! Times in the console follow the zone each user chose, with the UTC time on hover.

mod support;

use serde_json::json;
use support::TestServer;

#[test]
fn a_user_who_chooses_oslo_sees_search_times_in_oslo_with_utc_on_hover() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let key = server.add_source("auth", "tandem");
    let line = json!({"time": "2026-12-07T08:00:00Z", "class": "authentication",
        "activity": "logon", "outcome": "success", "message": "winter sign-in",
        "actor": {"user": "ann"}});
    let (status, _) = server.ingest("auth", &key, format!("{line}\n").as_bytes(), &[]);
    assert_eq!(status, 200);
    server.wait_for("\"winter sign-in\"", 1);

    let console = server.admin_console();
    let search = "/search?q=%22winter+sign-in%22&range=all";
    let utc = console.get(search);
    assert!(
        utc.body.contains("2026-12-07 08:00:00 UTC</time>"),
        "UTC by default: {}",
        utc.body
    );

    // An unknown zone is refused with a reason, and nothing changes.
    let csrf = console.csrf("/search");
    let refused = console.post_form(
        "/me/time-zone",
        &[("csrf", &csrf), ("time_zone", "Europe/Atlantis")],
    );
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("Unknown time zone"),
        "{}",
        refused.body
    );
    // Without the form's CSRF token the choice is not taken either.
    let forged = console.post_form("/me/time-zone", &[("time_zone", "Europe/Oslo")]);
    assert_ne!(forged.status, 303);

    let set = console.post_form(
        "/me/time-zone",
        &[
            ("csrf", &csrf),
            ("time_zone", "Europe/Oslo"),
            ("next", "/search"),
        ],
    );
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(set.location.as_deref(), Some("/search"));

    let oslo = console.get(search);
    assert!(
        oslo.body.contains(
            "<time datetime=\"2026-12-07T08:00:00Z\" title=\"2026-12-07 08:00:00 UTC\">\
             2026-12-07 09:00:00 CET</time>"
        ),
        "{}",
        oslo.body
    );
    assert!(
        oslo.body.contains("value=\"Europe/Oslo\""),
        "the form shows the choice"
    );

    let audit = console.get("/audit");
    assert!(audit.body.contains("user.time_zone"), "{}", audit.body);
}

const PLACES: &str = "
places:
  - { id: osl, kind: site, name: Oslo HQ, time_zone: Europe/Oslo, country: NO, city: Oslo }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-a-srv, kind: zone, name: Server room, parent: osl-a, restricted: true }
  - { id: osl-a-srv-d1, kind: door, name: Server room door, parent: osl-a-srv }
";

/// How the console writes `t` for a reader in Asia/Kolkata (UTC+05:30 all year, no summer
/// time, so the expectation needs no zone rules): their clock, the zone named, UTC on hover.
fn in_kolkata(t: chrono::DateTime<chrono::Utc>, shown: &str) -> String {
    let local = t + chrono::Duration::minutes(330);
    format!(
        "<time datetime=\"{}\" title=\"{} UTC\">{} IST</time>",
        t.format("%Y-%m-%dT%H:%M:%SZ"),
        t.format("%Y-%m-%d %H:%M:%S"),
        local.format(shown)
    )
}

/// Reads `/live/stream` as the signed-in browser does (its session cookie), line by line on
/// a thread, so the test can wait with a deadline.
fn live_stream(console: &support::Console) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let resp = TestServer::agent()
        .get(format!("{}/live/stream", console.url))
        .header("Cookie", &console.cookie)
        .call()
        .expect("stream opens");
    assert_eq!(resp.status().as_u16(), 200);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let reader = std::io::BufReader::new(resp.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line(rx: &std::sync::mpsc::Receiver<String>, want: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx.recv_timeout(left).expect("the stream sends the line");
        if want(&line) {
            return line;
        }
    }
}

#[test]
fn every_page_a_reader_in_kolkata_opens_shows_their_clock_and_names_it() {
    use chrono::SubsecRound;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);

    // Bjørn Lie left two days ago; his badge opened the server room ten minutes ago.
    let now = chrono::Utc::now().trunc_subsecs(0);
    let left = (now - chrono::Duration::days(2)).date_naive();
    let hr = format!(
        "employee_number,name,email,username,department,manager,title,site,hired,terminated,badge\n\
         E1002,Bjørn Lie,bjorn.lie@nordlys.example,blie,IT,,Engineer,osl,2020-05-04,{left},10077\n"
    );
    let (status, body) = server.post("/api/v1/directory/hr", &hr);
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", PLACES);
    assert_eq!(status, 200, "{body}");
    let badge_at = now - chrono::Duration::minutes(10);
    let line = json!({"time": badge_at.to_rfc3339(), "class": "physical_access",
        "activity": "granted", "outcome": "success", "message": "badge in",
        "actor": {"badge": "10077"}, "place": {"door": "osl-a-srv-d1"}});
    let key = server.add_source("doors", "tandem");
    let (status, report) = server.ingest("doors", &key, format!("{line}\n").as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");
    server.wait_for("\"badge in\"", 1);
    let (_, listed) = server.get(
        "/api/v1/findings",
        &[("q", "finding.rule_id:tandem.terminated_access")],
    );
    let finding = listed["findings"][0]["id"]
        .as_str()
        .expect("a terminated-access finding")
        .to_owned();
    let evidence = listed["findings"][0]["finding"]["evidence"][0]
        .as_str()
        .unwrap()
        .to_owned();

    let console = server.admin_console();
    let csrf = console.csrf("/search");
    let set = console.post_form(
        "/me/time-zone",
        &[("csrf", &csrf), ("time_zone", "Asia/Kolkata")],
    );
    assert_eq!(set.status, 303, "{}", set.body);

    let badge = in_kolkata(badge_at, "%Y-%m-%d %H:%M:%S");
    for path in [
        format!("/findings/{finding}"),
        format!("/events/{evidence}"),
        "/places/osl-a-srv-d1".to_owned(),
        "/live".to_owned(),
    ] {
        let page = console.get(&path);
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.body.contains(&badge),
            "{path} in Kolkata time: {}",
            page.body
        );
        assert!(
            !page.body.contains("(UTC)"),
            "{path} still says UTC: {}",
            page.body
        );
    }
    // The person's timeline is grouped by the reader's days and shows their clock.
    let person = console.get("/people/E1002");
    assert!(
        person.body.contains(&in_kolkata(badge_at, "%H:%M:%S")),
        "{}",
        person.body
    );
    assert!(
        person.body.contains(&format!(
            "<h3>{}</h3>",
            (badge_at + chrono::Duration::minutes(330)).format("%Y-%m-%d")
        )),
        "{}",
        person.body
    );
    // The door's state: "10 min ago", the reader's time on hover.
    let place = console.get("/places/osl-a-srv-d1");
    assert!(
        place.body.contains(&format!(
            "title=\"{} IST ({} UTC)\"",
            (badge_at + chrono::Duration::minutes(330)).format("%Y-%m-%d %H:%M:%S"),
            badge_at.format("%Y-%m-%d %H:%M:%S")
        )),
        "{}",
        place.body
    );
    // Sources, settings (tokens issued) and the audit log: times about no place.
    for path in ["/sources", "/settings", "/audit"] {
        let page = console.get(path);
        assert!(page.body.contains(" IST</time>"), "{path}: {}", page.body);
        assert!(!page.body.contains("(UTC)"), "{path}: {}", page.body);
    }

    // Charts: the findings chart counts the reader's hours (in India they start at half
    // past UTC's) and labels them with the reader's clock; the search histogram names the
    // zone its labels are in.
    let findings = console.get("/findings");
    assert!(
        findings
            .body
            .contains("Findings per hour (Asia&#x2f;Kolkata), last 24 hours."),
        "{}",
        findings.body
    );
    let hour = (badge_at + chrono::Duration::minutes(330)).format("%H:00 IST");
    assert!(
        findings.body.contains(&format!("busiest hour {hour} with")),
        "{}",
        findings.body
    );
    let search = console.get("/search?q=%22badge+in%22&range=24h");
    assert!(
        search.body.contains("(Asia&#x2f;Kolkata), busiest"),
        "{}",
        search.body
    );

    // Rows the live monitor adds as events arrive carry the same reading, made on the server.
    let stream = live_stream(&console);
    next_line(&stream, |l| l.starts_with("event: ready"));
    let later = now - chrono::Duration::minutes(1);
    let line = json!({"time": later.to_rfc3339(), "class": "physical_access",
        "activity": "forced", "outcome": "failure", "message": "door forced",
        "place": {"door": "osl-a-srv-d1"}});
    let (status, _) = server.ingest("doors", &key, format!("{line}\n").as_bytes(), &[]);
    assert_eq!(status, 200);
    let data = next_line(&stream, |l| {
        l.starts_with("data:") && l.contains("door forced")
    });
    let row: serde_json::Value = serde_json::from_str(&data["data:".len()..]).unwrap();
    assert_eq!(
        row["time"],
        json!({
            "datetime": later.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "utc": later.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            "text": (later + chrono::Duration::minutes(330)).format("%Y-%m-%d %H:%M:%S IST").to_string(),
            "day": (later + chrono::Duration::minutes(330)).format("%Y-%m-%d").to_string(),
            "clock": (later + chrono::Duration::minutes(330)).format("%H:%M:%S IST").to_string(),
        })
    );

    // With "site", a door's times are read in its site's zone (Oslo: CET or CEST).
    let set = console.post_form("/me/time-zone", &[("csrf", &csrf), ("time_zone", "site")]);
    assert_eq!(set.status, 303, "{}", set.body);
    let place = console.get("/places/osl-a-srv-d1");
    let oslo = |zone: &str| {
        place.body.contains(&format!(" {zone} ("))
            && place.body.contains(&format!(" {zone}</time>"))
    };
    assert!(oslo("CET") || oslo("CEST"), "{}", place.body);
}
