//! The console in a real browser (headless Chromium through chromedriver), as the people it
//! is for use it: an administrator signs in with the password the first start printed,
//! searches and opens an event, checks the sources and signs out; an HR responder signs in
//! and is told, readably, that a page outside their role is not for them. Every page visited
//! passes a basic accessibility check run in the page itself.
//!
//! The data is `tandem demo`'s simulated organisation, so the pages show what a newcomer's
//! first look shows. With `TANDEM_SCREENSHOTS=1` each page's screenshot is written to
//! `docs/screenshots/<page>.png` (the README shows them); otherwise to a temporary directory.

mod support;

use std::path::PathBuf;
use support::{Demo, TestServer};
use tandem_testkit::Browser;

/// A page of the console in the tour. Adding a page to the browser tests is one entry here.
struct Page {
    /// What to open, with a query where the page needs one to show something.
    path: &'static str,
    /// Its `h1`: the page, not a refusal or an error, is what opened.
    heading: &'static str,
    /// Content that only the working page shows, from the demo's data.
    shows: &'static str,
    /// The screenshot's name in `docs/screenshots/`.
    name: &'static str,
}

const PAGES: &[Page] = &[
    Page {
        path: "/search?q=class%3Aphysical_access&range=24h",
        heading: "Search events",
        shows: "physical_access",
        name: "search",
    },
    Page {
        path: "/sources",
        heading: "Sources",
        // The demo's Verkada webhooks, by the name it registers them under.
        shows: "verkada",
        name: "sources",
    },
    Page {
        path: "/live",
        heading: "Live monitor",
        shows: "physical_access",
        name: "live",
    },
    Page {
        path: "/findings",
        heading: "Findings",
        // The staged tailgate.
        shows: "Tailgating",
        name: "findings",
    },
    Page {
        path: "/people",
        heading: "People",
        shows: "Engineering",
        name: "people",
    },
    Page {
        path: "/places",
        heading: "Places",
        shows: "Restricted",
        name: "places",
    },
    Page {
        path: "/map",
        heading: "Sites",
        shows: "Door alarms (24 h)",
        name: "site-map",
    },
    Page {
        path: "/rules",
        heading: "Detection rules",
        shows: "attack.",
        name: "rules",
    },
    Page {
        path: "/rules/test",
        heading: "Test a rule on recent events",
        shows: "Paste or edit Sigma rules",
        name: "rule-test",
    },
    Page {
        path: "/settings",
        heading: "Settings",
        shows: "Administrator",
        name: "settings",
    },
    Page {
        path: "/audit",
        heading: "Audit log",
        shows: "The log is intact",
        name: "audit",
    },
    Page {
        path: "/api-reference",
        heading: "API reference",
        shows: "Needs: triage_alerts",
        name: "api-reference",
    },
];

/// Where screenshots go: the committed `docs/screenshots/` when asked for, else a temporary
/// directory (they are still taken, so a broken screenshot fails every run).
struct Screenshots {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Screenshots {
    fn new() -> Screenshots {
        if std::env::var("TANDEM_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
            Screenshots { dir, _temp: None }
        } else {
            let temp = tempfile::tempdir().unwrap();
            Screenshots {
                dir: temp.path().to_owned(),
                _temp: Some(temp),
            }
        }
    }

    /// Saves the page shown as `<name>.png`, after checking it is accessible.
    fn take(&self, browser: &Browser, name: &str) {
        browser.assert_accessible();
        let path = self.dir.join(format!("{name}.png"));
        browser.screenshot(&path);
        let png = std::fs::read(&path).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{} is no PNG", path.display());
    }
}

/// The demo with a day of history for 40 people, and a staged tailgate so that there are
/// door events at this moment whatever the hour.
fn demo() -> (tempfile::TempDir, Demo) {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(
        dir.path(),
        &[
            "--people",
            "40",
            "--history-hours",
            "24",
            "--scenario",
            "tailgate",
        ],
    );
    (dir, demo)
}

/// The demo once the staged tailgate has raised its finding, with the administrator signed
/// in on their start page (the first page of the menu the role may open).
fn admin_on_the_demo_after_the_tailgate() -> (tempfile::TempDir, Demo, Browser) {
    let (dir, mut demo) = demo();
    demo.wait_for_line("staged tailgate");
    demo.wait_for_finding("tandem.tailgating");
    let browser = Browser::start(&demo.url);
    sign_in(&browser, "admin", &demo.password);
    browser.wait_for_heading("Live monitor");
    (dir, demo, browser)
}

fn sign_in(browser: &Browser, user: &str, password: &str) {
    browser.goto("/login");
    browser.wait_for_heading("Sign in to Tandem");
    browser.fill("User name", user);
    browser.fill("Password", password);
    browser.click_button("Sign in");
}

#[test]
fn an_administrator_searches_opens_an_event_checks_sources_and_signs_out() {
    let (_dir, mut demo) = demo();
    demo.wait_for_line("staged tailgate");
    let shots = Screenshots::new();
    let browser = Browser::start(&demo.url);

    // Without a session the console sends the visitor to the sign-in form.
    browser.goto("/search");
    browser.wait_for_heading("Sign in to Tandem");
    assert!(browser.path().starts_with("/login"), "{}", browser.path());
    shots.take(&browser, "login");

    sign_in(&browser, "admin", &demo.password);
    // An administrator starts on the live monitor, the first page of the menu, and watches
    // the demo's events arrive: rows the stream adds on top of those the page came with.
    browser.wait_for_heading("Live monitor");
    browser.wait_for_text("Live: new events appear at the top as they arrive.");
    browser.execute(
        "document.querySelectorAll('#live-rows tr').forEach(function (r) { r.dataset.first = '1'; }); return true;",
    );
    browser.wait_until("an event arriving on the live monitor", |b| {
        b.execute("return document.querySelectorAll('#live-rows tr:not([data-first])').length;")
            .as_u64()
            .unwrap_or(0)
            > 0
    });
    browser.click_link("Search");
    browser.wait_for_heading("Search events");
    // The box suggests field names as they are typed, then the field's values of the day.
    browser.fill("Query", "cla");
    let suggestions = |b: &Browser| {
        b.execute(
            "var l = document.getElementById('q-suggest'); return l.hidden ? '' : l.textContent;",
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    };
    let query = |b: &Browser| {
        b.execute("return document.getElementById('q').value;")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    browser.wait_until("field suggestions", |b| suggestions(b).contains("class"));
    shots.take(&browser, "search-suggestions");
    // Enter alone still searches; a suggestion is taken once chosen with the arrow keys.
    browser.type_keys("Query", Browser::ARROW_DOWN);
    browser.type_keys("Query", Browser::ENTER);
    assert_eq!(query(&browser), "class:");
    browser.type_keys("Query", "phys");
    browser.wait_until("value suggestions", |b| {
        suggestions(b).contains("physical_access")
    });
    browser.type_keys("Query", Browser::TAB);
    assert_eq!(query(&browser), "class:physical_access ");
    browser.type_keys("Query", "AND activity:granted");
    browser.fill("Time", "Last 24 hours");
    browser.click_button("Search");
    browser.wait_until("the search", |b| {
        b.path()
            .contains("q=class%3Aphysical_access+AND+activity%3Agranted")
    });
    browser.wait_for_text(" events");
    let text = browser.text();
    assert!(text.contains("granted"), "{text}");
    assert!(
        !text.contains("\"activity\""),
        "details open before a click"
    );
    shots.take(&browser, "search-results");

    // The event's details open in place, with every field.
    browser.click_css("table.events tbody tr:first-child summary");
    browser.wait_for_text("\"activity\": \"granted\"");
    shots.take(&browser, "event");

    browser.click_link("Sources");
    browser.wait_for_heading("Sources");
    for source in ["windows", "okta", "verkada"] {
        browser.wait_for_text(source);
    }

    browser.click_button("Sign out");
    browser.wait_for_heading("Sign in to Tandem");
    // The session is over: the console asks again.
    browser.goto("/sources");
    browser.wait_for_heading("Sign in to Tandem");
}

#[test]
fn every_page_opens_for_an_administrator_and_is_accessible() {
    let (_dir, _demo, browser) = admin_on_the_demo_after_the_tailgate();
    let shots = Screenshots::new();
    for page in PAGES {
        browser.goto(page.path);
        browser.wait_for_heading(page.heading);
        browser.wait_for_text(page.shows);
        shots.take(&browser, page.name);
    }

    // A draft run on the day's door events.
    browser.goto("/rules/test");
    browser.wait_for_heading("Test a rule on recent events");
    browser.fill(
        "Sigma rule (YAML)",
        "title: Door opened by badge\nlogsource:\n    product: tandem\n    category: physical_access\ndetection:\n    selection:\n        activity: granted\n    condition: selection\n",
    );
    browser.click_button("Run test");
    browser.wait_for_text("Latest findings");
    assert!(
        browser.text().contains("Door opened by badge"),
        "{}",
        browser.text()
    );
    shots.take(&browser, "rule-test-result");
}

#[test]
fn a_responder_is_told_which_pages_are_not_for_their_role() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data, None, &[]);
    let token = server.token.clone();
    server.terminate();
    support::add_user_with_password(&data, "hana", "correct horse battery", "responder:hr");
    for (name, role) in [
        ("sam", "soc_analyst"),
        ("gus", "physical_security"),
        ("alma", "auditor"),
    ] {
        support::add_user_with_password(&data, name, "correct horse battery", role);
    }
    let server = TestServer::start(&data, Some(&token), &[]);
    let shots = Screenshots::new();
    let browser = Browser::start(&server.url);

    // Each role signs in to its own menu.
    let menu = |b: &Browser| {
        b.execute(
            "return Array.from(document.querySelectorAll('nav[aria-label=Main] a')).map(function (a) { return a.textContent.trim(); }).join(',');",
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    };
    for (name, has, lacks) in [
        ("sam", "Rules", "Settings"),
        ("gus", "Places", "Audit log"),
        ("alma", "Audit log", "Settings"),
        ("hana", "Findings", "Search"),
    ] {
        sign_in(&browser, name, "correct horse battery");
        browser.wait_until("signing in", |b| !b.path().starts_with("/login"));
        let items = menu(&browser);
        assert!(items.split(',').any(|i| i == has), "{name}: {items}");
        assert!(!items.split(',').any(|i| i == lacks), "{name}: {items}");
        browser.click_button("Sign out");
        browser.wait_for_heading("Sign in to Tandem");
    }

    sign_in(&browser, "hana", "wrong password");
    browser.wait_for_text("Wrong user name or password.");
    browser.assert_accessible();

    sign_in(&browser, "hana", "correct horse battery");
    browser.wait_until("signing in", |b| !b.path().starts_with("/login"));
    // Sources are for the SOC and the administrators, not HR.
    browser.goto("/sources");
    browser.wait_for_heading("Not allowed");
    browser.wait_for_text("ask a Tandem administrator");
    let text = browser.text();
    assert!(!text.contains("Dead letters"), "{text}");
    // The refusal is not a dead end: the menu of what HR may open, and signing out.
    let items = menu(&browser);
    assert!(items.split(',').any(|i| i == "Findings"), "{items}");
    shots.take(&browser, "not-allowed");
    browser.assert_accessible();
    browser.click_button("Sign out");
    browser.wait_for_heading("Sign in to Tandem");
}

/// HR opens an employee's page, Facilities opens the door it owns, and an auditor finds the
/// HR look in the audit log by choosing "Person views".
#[test]
fn an_auditor_sees_who_opened_a_persons_page_and_facilities_opens_its_door() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data, None, &[]);
    let token = server.token.clone();
    server.terminate();
    for (name, role) in [
        ("hana", "responder:hr"),
        ("frode", "responder:facilities"),
        ("alma", "auditor"),
    ] {
        support::add_user_with_password(&data, name, "correct horse battery", role);
    }
    let server = TestServer::start(&data, Some(&token), &[]);
    let hr = "employee_number,name,email,username,department,manager,title,site,hired,terminated,badge\n\
              E1002,Bjørn Lie,bjorn.lie@nordlys.example,blie,IT,,Engineer,osl,2020-05-04,,10077\n";
    assert_eq!(server.post("/api/v1/directory/hr", hr).0, 200);
    let places = "places:\n  - { id: osl, kind: site, name: Oslo HQ, time_zone: Europe/Oslo }\n  \
                  - { id: osl-d1, kind: door, name: Server room door, parent: osl }\n";
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", places);
    assert_eq!(status, 200, "{body}");
    let browser = Browser::start(&server.url);

    sign_in(&browser, "hana", "correct horse battery");
    browser.wait_until("signing in", |b| !b.path().starts_with("/login"));
    browser.goto("/people/E1002");
    browser.wait_for_text("Bjørn Lie");
    browser.click_button("Sign out");
    browser.wait_for_heading("Sign in to Tandem");

    sign_in(&browser, "frode", "correct horse battery");
    browser.wait_until("signing in", |b| !b.path().starts_with("/login"));
    browser.goto("/places/osl-d1");
    browser.wait_for_text("Server room door");
    assert_ne!(browser.heading(), "Not allowed");
    browser.click_button("Sign out");
    browser.wait_for_heading("Sign in to Tandem");

    sign_in(&browser, "alma", "correct horse battery");
    browser.wait_until("signing in", |b| !b.path().starts_with("/login"));
    browser.goto("/audit");
    browser.wait_for_heading("Audit log");
    browser.execute("document.getElementById('audit-kind').value = 'person-views'; return true;");
    browser.click_button("Show");
    browser.wait_until("the filtered log", |b| {
        b.path() == "/audit?kind=person-views"
    });
    browser.wait_for_text("person.view");
    let text = browser.text();
    assert!(text.contains("hana") && text.contains("E1002"), "{text}");
    assert!(!text.contains("logout"), "only person views: {text}");
    browser.assert_accessible();
}

/// Signing in and searching with the keyboard alone: the sign-in form has the focus, the
/// skip link comes first, and Tab reaches the search box from there.
#[test]
fn a_keyboard_user_signs_in_and_searches_without_a_mouse() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let password = server.admin_password.clone().unwrap();
    let browser = Browser::start(&server.url);
    browser.goto("/search");
    browser.wait_for_heading("Sign in to Tandem");
    assert!(
        browser.focused().starts_with("INPUT#username"),
        "{}",
        browser.focused()
    );
    browser.press("admin");
    browser.press(Browser::TAB);
    browser.press(&password);
    browser.press(Browser::ENTER);
    browser.wait_for_heading("Search events");

    browser.press(Browser::TAB);
    assert!(
        browser.focused().contains("Skip to content"),
        "the skip link comes first, not {}",
        browser.focused()
    );
    browser.press(Browser::ENTER);
    browser.press(Browser::TAB);
    assert!(
        browser.focused().starts_with("INPUT#q"),
        "after skipping the menu, the search box: {}",
        browser.focused()
    );
    browser.press("class:authentication");
    browser.press(Browser::ESCAPE);
    browser.press(Browser::ENTER);
    browser.wait_until("the search", |b| {
        b.path().contains("q=class%3Aauthentication")
    });
    browser.wait_for_text("0 events");
}

#[test]
fn the_accessibility_check_finds_what_it_looks_for() {
    let browser = Browser::start("about:blank");
    let page = r#"<!doctype html><html lang="en"><title>t</title><body>
        <h1>One</h1><h1>Two</h1>
        <input name="q"><label for="ok">Name</label><input id="ok">
        <select name="s"></select><textarea aria-label="Notes"></textarea>
        <img src="x.png"><img src="y.png" alt="">
        <button></button><button>Send</button><a href="/x"></a>
        <p style="color:#999;background:#fff">Faint grey on white</p>
        <p style="color:#595959">Dark enough grey</p>
        <button tabindex="-1">Mouse only</button><a href="/y" tabindex="3">Jumps the queue</a>
        </body></html>"#;
    browser.goto(&format!(
        "data:text/html;charset=utf-8,{}",
        page.replace('#', "%23").replace('\n', "")
    ));
    let problems = browser.accessibility_problems();
    let count = |what: &str| problems.iter().filter(|p| p.starts_with(what)).count();
    assert_eq!(count("field without a label"), 2, "{problems:#?}");
    assert_eq!(count("image without alt"), 1, "{problems:#?}");
    assert_eq!(count("button without text"), 1, "{problems:#?}");
    assert_eq!(count("link without text"), 1, "{problems:#?}");
    assert_eq!(
        count("expected exactly one h1, found 2"),
        1,
        "{problems:#?}"
    );
    assert_eq!(count("low contrast 2.85:1"), 1, "{problems:#?}");
    assert_eq!(count("cannot be reached with Tab"), 1, "{problems:#?}");
    assert_eq!(count("tabindex above 0"), 1, "{problems:#?}");
    assert_eq!(problems.len(), 9, "{problems:#?}");
}

/// The analyst's path through an incident: a finding from a staged scenario, its evidence,
/// the person it names and their merged timeline; then switching a noisy rule off.
#[test]
fn a_finding_leads_to_the_person_and_a_rule_can_be_switched_off() {
    let (_dir, _demo, browser) = admin_on_the_demo_after_the_tailgate();
    let shots = Screenshots::new();

    browser.click_link("Findings");
    browser.wait_for_heading("Findings");
    browser.click_css("table tbody tr td a[href^='/findings/']");
    browser.wait_for_text("Evidence");
    shots.take(&browser, "finding");
    browser.click_css("dd a[href^='/people/']");
    browser.wait_for_text("Timeline");
    browser.wait_for_text("Badges");
    shots.take(&browser, "person");

    browser.goto("/rules?q=duress");
    browser.wait_for_heading("Detection rules");
    browser.click_button("Disable");
    browser.wait_for_text("Disabled");
    let text = browser.text();
    assert!(text.contains("Enable"), "{text}");
}

/// A floor plan as an architect's export might look: walls, a corridor, rooms with names.
fn floor_plan_svg() -> String {
    let mut rooms = String::new();
    for (i, name) in ["Lab", "Meeting", "Offices", "Server room", "Kitchen"]
        .iter()
        .enumerate()
    {
        let x = 40 + i * 224;
        rooms.push_str(&format!(
            "<rect x=\"{x}\" y=\"40\" width=\"224\" height=\"300\" fill=\"#fbfbf7\" stroke=\"#333\" stroke-width=\"6\"/>\
             <text x=\"{}\" y=\"200\" font-family=\"sans-serif\" font-size=\"28\" fill=\"#777\" text-anchor=\"middle\">{name}</text>",
            x + 112
        ));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1200 700\">\
         <rect x=\"0\" y=\"0\" width=\"1200\" height=\"700\" fill=\"#fff\"/>\
         <rect x=\"40\" y=\"40\" width=\"1120\" height=\"620\" fill=\"none\" stroke=\"#333\" stroke-width=\"10\"/>\
         {rooms}\
         <rect x=\"40\" y=\"340\" width=\"1120\" height=\"120\" fill=\"#eef2f5\" stroke=\"#333\" stroke-width=\"4\"/>\
         <text x=\"600\" y=\"410\" font-family=\"sans-serif\" font-size=\"26\" fill=\"#777\" text-anchor=\"middle\">Corridor</text>\
         <rect x=\"40\" y=\"460\" width=\"560\" height=\"200\" fill=\"#fbfbf7\" stroke=\"#333\" stroke-width=\"6\"/>\
         <text x=\"320\" y=\"570\" font-family=\"sans-serif\" font-size=\"28\" fill=\"#777\" text-anchor=\"middle\">Open office</text>\
         <script>document.title = 'owned'</script></svg>"
    )
}

fn demo_send(
    demo: &Demo,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> serde_json::Value {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", demo.url))
        .header("Authorization", format!("Bearer {}", demo.token))
        .header("Content-Type", content_type)
        .body(body)
        .unwrap();
    let mut resp = TestServer::agent().run(req).expect("request sent");
    let status = resp.status().as_u16();
    let answer: serde_json::Value = resp.body_mut().read_json().unwrap_or_default();
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    answer
}

#[test]
fn the_control_room_sees_a_door_forced_open_on_the_floor_plan() {
    let (_dir, demo, browser) = admin_on_the_demo_after_the_tailgate();
    // The floor of the demo with the most doors, and its doors.
    let places = demo.get("/api/v1/places", &[]);
    let places = places["places"].as_array().unwrap();
    let by_id: std::collections::HashMap<String, serde_json::Value> = places
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p.clone()))
        .collect();
    let floor_of = |id: &str| -> Option<String> {
        let mut id = id.to_owned();
        for _ in 0..8 {
            let p = by_id.get(&id)?;
            if p["kind"] == "floor" {
                return Some(id);
            }
            id = p["parent"].as_str()?.to_owned();
        }
        None
    };
    let mut doors: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for p in places.iter().filter(|p| p["kind"] == "door") {
        if let Some(f) = p["parent"].as_str().and_then(floor_of) {
            doors.entry(f).or_default().push((
                p["id"].as_str().unwrap().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let (floor, floor_doors) = doors.into_iter().max_by_key(|(_, d)| d.len()).unwrap();

    // The control room's plan, with every door placed along the corridor.
    demo_send(
        &demo,
        "PUT",
        &format!("/api/v1/places/{floor}/floor-plan"),
        "image/svg+xml",
        floor_plan_svg().into_bytes(),
    );
    for (i, (door, _)) in floor_doors.iter().enumerate() {
        let x = 0.1 + 0.8 * (i as f64 + 0.5) / floor_doors.len() as f64;
        let y = if i % 2 == 0 { 0.49 } else { 0.66 };
        demo_send(
            &demo,
            "PUT",
            &format!("/api/v1/places/{door}/position"),
            "application/json",
            serde_json::json!({ "x": x, "y": y })
                .to_string()
                .into_bytes(),
        );
    }

    browser.goto(&format!("/places/{floor}/map"));
    browser.wait_for_text("Doors, readers and cameras on this floor");
    browser.wait_for_text("Live: door states");
    // The plan is drawn as an image: its script never ran in the console.
    assert_ne!(browser.execute("return document.title"), "owned");

    // A door is forced open: its marker and its row turn to an alarm without a reload.
    let (door, door_name) = floor_doors[0].clone();
    let key = demo_send(
        &demo,
        "POST",
        "/api/v1/sources",
        "application/json",
        serde_json::json!({ "name": "door-alarms", "format": "tandem" })
            .to_string()
            .into_bytes(),
    );
    let key = key["api_key"].as_str().unwrap().to_owned();
    let line = serde_json::json!({"time": chrono::Utc::now().to_rfc3339(), "class": "physical_access",
        "activity": "forced", "outcome": "failure", "place": {"door": door}});
    let mut resp = TestServer::agent()
        .post(format!("{}/api/v1/ingest/door-alarms", demo.url))
        .header("Authorization", format!("Bearer {key}"))
        .send(format!("{line}\n"))
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.body_mut().read_to_string().unwrap()
    );
    let marker_is_red = format!(
        "return document.querySelector('#floor-map .marker[data-id=\"{door}\"]').classList.contains('alarm')"
    );
    browser.wait_until("the forced door's marker turns red", |b| {
        b.execute(&marker_is_red) == serde_json::Value::Bool(true)
    });
    browser.wait_for_text("Alarm: Forced open at");
    browser.wait_for_text("⚠ Forced open");
    Screenshots::new().take(&browser, "map");

    // Clicking the door opens its place page.
    browser.click_css(&format!("#floor-map .marker[data-id=\"{door}\"] circle"));
    browser.wait_for_heading(&format!("{door_name} Door"));
}

/// A guard in Kolkata watches the live monitor: the rows its script adds as events arrive
/// show their clock with the zone named and UTC on hover, exactly as the rows the page came
/// with; the finding those events raise reads the same.
#[test]
fn the_live_monitor_adds_rows_in_the_readers_zone() {
    use chrono::SubsecRound;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let now = chrono::Utc::now().trunc_subsecs(0);
    let left = (now - chrono::Duration::days(2)).date_naive();
    let hr = format!(
        "employee_number,name,email,username,department,manager,title,site,hired,terminated,badge\n\
         E1002,Bjørn Lie,bjorn.lie@nordlys.example,blie,IT,,Engineer,osl,2020-05-04,{left},10077\n"
    );
    assert_eq!(server.post("/api/v1/directory/hr", &hr).0, 200);
    let places = "places:\n  - { id: osl, kind: site, name: Oslo HQ, time_zone: Europe/Oslo }\n  \
                  - { id: osl-d1, kind: door, name: Server room door, parent: osl }\n";
    assert_eq!(
        server
            .post("/api/v1/directory/records?file=places.yaml", places)
            .0,
        200
    );
    let key = server.add_source("doors", "tandem");

    let browser = Browser::start(&server.url);
    sign_in(
        &browser,
        "admin",
        server.admin_password.as_deref().expect("first start"),
    );
    browser.wait_for_heading("Live monitor");
    browser.fill("time_zone", "Asia/Kolkata");
    browser.click_button("Set");
    browser.goto("/live");
    browser.wait_for_text("Live: new events appear at the top");

    // A badge of someone who left, ten minutes ago: it arrives on the stream.
    let at = now - chrono::Duration::minutes(10);
    let line = serde_json::json!({"time": at.to_rfc3339(), "class": "physical_access",
        "activity": "granted", "outcome": "success", "message": "badge in",
        "actor": {"badge": "10077"}, "place": {"door": "osl-d1"}});
    let (status, _) = server.ingest("doors", &key, format!("{line}\n").as_bytes(), &[]);
    assert_eq!(status, 200);
    let local = (at + chrono::Duration::minutes(330)).format("%Y-%m-%d %H:%M:%S IST");
    browser.wait_for_text(&local.to_string());
    let added = browser.execute(
        "var rows = Array.from(document.querySelectorAll('#live-rows tr')); \
         var row = rows.find(function (r) { return r.textContent.indexOf('badge in') >= 0; }); \
         var t = row.querySelector('td time'); \
         return [t.textContent, t.getAttribute('title'), t.getAttribute('datetime')];",
    );
    assert_eq!(
        added,
        serde_json::json!([
            local.to_string(),
            at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        ])
    );
    let shots = Screenshots::new();
    shots.take(&browser, "live-in-your-zone");

    // The finding the badge raised, in the same zone.
    browser.goto("/findings");
    browser.wait_for_heading("Findings");
    browser.click_css("table tbody tr td a[href^='/findings/']");
    browser.wait_for_text("Evidence");
    browser.wait_for_text(&local.to_string());
    shots.take(&browser, "finding-in-your-zone");
}

/// The staged tailgate becomes an alert; the analyst moves to it with the keyboard and
/// acknowledges it from the queue.
#[test]
fn an_alert_is_acknowledged_from_the_queue_with_the_keyboard() {
    let (_dir, _demo, browser) = admin_on_the_demo_after_the_tailgate();
    let shots = Screenshots::new();
    browser.click_link("Alerts");
    browser.wait_for_heading("Alerts");
    browser.wait_for_text("Tailgating");
    shots.take(&browser, "alerts");
    // j then k: back on the first alert; a acknowledges it.
    browser.press("j");
    browser.press("k");
    browser.press("a");
    browser.wait_for_text("acknowledged");
    browser.click_css("a.alert-link");
    browser.wait_for_text("Timeline");
    let text = browser.text();
    assert!(text.contains("status new → acknowledged"), "{text}");
}

/// Playbooks: the list, one playbook's tasks by department, and a pasted YAML validated with
/// its errors' lines; every page accessible.
#[test]
fn playbooks_are_read_by_department_and_a_pasted_one_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = TestServer::start(&data, None, &[]);
    let password = server.admin_password.clone().unwrap();
    let browser = Browser::start(&server.url);
    let shots = Screenshots::new();
    sign_in(&browser, "admin", &password);
    browser.wait_for_heading("Live monitor");

    browser.click_link("Playbooks");
    browser.wait_for_heading("Playbooks");
    browser.wait_for_text("Door Opened For A Terminated Person");
    shots.take(&browser, "playbooks");

    browser.click_link("Terminated employee's credential used");
    browser.wait_for_heading("Terminated employee's credential used");
    let text = browser.text();
    for d in ["Security", "HR", "Facilities", "IT"] {
        assert!(text.contains(d), "{d}: {text}");
    }
    assert!(
        text.contains("Disable the badge in the access-control system"),
        "{text}"
    );
    shots.take(&browser, "playbook");

    browser.fill(
        "Playbook (YAML)",
        "id: door\ntitle: Door\ntasks:\n  - id: a\n    title: Look\n    department: facilities\n    after: [b]\n",
    );
    browser.click_button("Validate");
    browser.wait_for_heading("Validate a playbook");
    browser.wait_for_text("1 problem");
    let text = browser.text();
    assert!(
        text.contains("`after` names `b`, which is not a task of this playbook"),
        "{text}"
    );
    shots.take(&browser, "playbook-validate");
}

/// A door forced with a person on its Frigate camera: the finding shows the camera's snapshot,
/// fetched from the recorder (a local stand-in for Frigate's API serving a real JPEG), loaded
/// by the browser from the console, with the camera, the time and the clip's link.
#[test]
fn a_finding_shows_the_camera_snapshot_of_its_evidence() {
    use support::frigate::{self, FakeFrigate};
    let broker = tandem_testkit::Mosquitto::start();
    let nvr = FakeFrigate::start();
    let dir = tempfile::tempdir().unwrap();
    let config = frigate::config(dir.path(), broker.port, &nvr.url);
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[("TANDEM_CONFIG", config.to_str().unwrap())],
    );
    let (status, plan) = server.post(
        "/api/v1/directory/records?file=places.yaml",
        frigate::PLACES,
    );
    assert_eq!(status, 200, "{plan}");
    let key = server.add_source("doors", "tandem");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let id = format!("{}.200001-good01", chrono::Utc::now().timestamp());
    tandem_testkit::mqtt_publish(broker.port, &[frigate::person_seen("cam_a", &id)]);
    server.wait_for("source:cameras AND class:video_detection", 1);
    let (status, report) = server.ingest(
        "doors",
        &key,
        (frigate::door_forced("hq-door-a") + "\n").as_bytes(),
        &[],
    );
    assert_eq!(status, 200, "{report}");
    let q = "class:detection_finding AND finding.rule_id:tandem.forced_door_with_person";
    server.wait_for(q, 1);
    let finding = server.search(q)["events"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let browser = Browser::start(&server.url);
    sign_in(&browser, "admin", server.admin_password.as_deref().unwrap());
    browser.wait_for_heading("Live monitor");
    browser.wait_until("the snapshot is fetched", |b| {
        b.goto(&format!("/findings/{finding}"));
        b.text().contains("Camera snapshots")
    });
    browser.wait_until("the snapshot loads", |b| {
        b.execute("const i = document.querySelector('figure.snapshot img'); return !!i && i.complete && i.naturalWidth === 320")
            == serde_json::Value::Bool(true)
    });
    let text = browser.text();
    assert!(text.contains("Front door camera"), "{text}");
    assert!(text.contains("Open clip on the NVR"), "{text}");
    browser.execute("document.querySelector('section.snapshots').scrollIntoView(); return null");
    Screenshots::new().take(&browser, "finding-snapshot");
    assert_eq!(nvr.requests(&format!("/api/events/{id}/snapshot.jpg")), 1);
    server.terminate();
}

/// The control room's alarm queue: alarms arrive without a reload and their count is in the
/// tab title; the operator acknowledges one with a comment, snoozes another and forwards a
/// third to Facilities, from the queue's own forms.
#[test]
fn the_control_room_acknowledges_snoozes_and_forwards_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let places = "places:\n  - { id: osl, kind: site, name: Oslo HQ, time_zone: Europe/Oslo }\n  \
                  - { id: osl-d1, kind: door, name: Lobby east, parent: osl }\n  \
                  - { id: osl-d2, kind: door, name: Loading dock, parent: osl }\n  \
                  - { id: osl-d3, kind: door, name: Reception, parent: osl }\n";
    assert_eq!(
        server
            .post("/api/v1/directory/records?file=places.yaml", places)
            .0,
        200
    );
    let key = server.add_source("doors", "tandem");
    let browser = Browser::start(&server.url);
    sign_in(
        &browser,
        "admin",
        server.admin_password.as_deref().expect("first start"),
    );
    browser.wait_for_heading("Live monitor");
    browser.goto("/alarms");
    browser.wait_for_heading("Alarms");
    browser.wait_for_text("No open alarms");

    // Three door alarms arrive while the queue is open: it fills in without a reload, and
    // the tab title and the menu count them.
    let now = chrono::Utc::now();
    let lines: Vec<String> = [
        ("forced", "osl-d1"),
        ("held_open", "osl-d2"),
        ("duress", "osl-d3"),
    ]
    .iter()
    .map(|(activity, door)| {
        serde_json::json!({"time": now.to_rfc3339(), "class": "physical_access",
                "activity": activity, "outcome": "unknown", "severity": "high",
                "message": format!("{activity} at {door}"), "place": {"door": door, "site": "osl"}})
        .to_string()
    })
    .collect();
    let (status, _) = server.ingest("doors", &key, lines.join("\n").as_bytes(), &[]);
    assert_eq!(status, 200);
    browser.wait_for_text("Door forced open: Lobby east");
    browser.wait_for_text("Duress alarm: Reception");
    browser.wait_for_text("Door held open: Loading dock");
    browser.wait_until("the tab title counts three alarms", |b| {
        b.execute("return document.title") == serde_json::json!("(3) Alarms · Tandem")
    });
    browser.wait_for_text("3 unacknowledged");
    Screenshots::new().take(&browser, "alarms");

    let (_, list) = server.get("/api/v1/alarms", &[]);
    let id_of = |kind: &str| -> String {
        list["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == kind)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (forced, held, duress) = (
        id_of("door_forced"),
        id_of("door_held_open"),
        id_of("door_duress"),
    );

    // Acknowledged with a comment.
    browser.fill(
        "Comment on acknowledging Door forced open: Lobby east",
        "guard on the way",
    );
    browser.click_css(&format!("tr[data-alarm='{forced}'] form.ack button"));
    browser.wait_for_text("Acknowledged by admin");
    browser.wait_until("the tab title counts two", |b| {
        b.execute("return document.title") == serde_json::json!("(2) Alarms · Tandem")
    });

    // Snoozed for 15 minutes: out of the count, marked with its time.
    browser.click_css(&format!("tr[data-alarm='{held}'] form.snooze button"));
    browser.wait_for_text("Unacknowledged, snoozed");
    browser.wait_until("the tab title counts one", |b| {
        b.execute("return document.title") == serde_json::json!("(1) Alarms · Tandem")
    });

    // Forwarded to Facilities.
    browser.fill(
        "Forward Duress alarm: Reception to",
        "Facilities responder (role)",
    );
    browser.click_css(&format!("tr[data-alarm='{duress}'] form.forward button"));
    browser.wait_for_text("Forwarded to the Facilities responder role");

    let (_, one) = server.get(&format!("/api/v1/alarms/{forced}"), &[]);
    assert_eq!(one["alarm"]["state"], "acknowledged", "{one:#}");
    let acknowledged = one["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "acknowledged")
        .cloned()
        .unwrap_or_default();
    assert_eq!(acknowledged["comment"], "guard on the way", "{one:#}");
    assert_eq!(acknowledged["actor"], "admin", "{one:#}");
    let (_, one) = server.get(&format!("/api/v1/alarms/{duress}"), &[]);
    assert_eq!(one["alarm"]["forwarded_to"], "role:responder:facilities");
    let (_, one) = server.get(&format!("/api/v1/alarms/{held}"), &[]);
    assert_eq!(one["alarm"]["snoozed"], true);
    Screenshots::new().take(&browser, "alarms-handled");

    // Another page shows the count in its title too.
    browser.goto("/live");
    browser.wait_for_heading("Live monitor");
    browser.wait_until("the live monitor's title counts one alarm", |b| {
        b.execute("return document.title")
            .as_str()
            .is_some_and(|t| t.starts_with("(1) "))
    });
    // The live monitor's row links to the door's page, named, not by id.
    browser.click_link("Lobby east");
    browser.wait_for_heading("Lobby east Door");
}

/// An analyst pivots from a search row as in Kibana's Discover: filters a door out and back
/// in with ⊖ and ⊕, opens the events five minutes either side of a badge at the same door,
/// and reads a Sigma finding that says what matched in words rather than in JSON.
#[test]
fn an_analyst_pivots_from_a_search_row_and_reads_a_sigma_finding() {
    use chrono::{DurationRound, Utc};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let places = "places:\n  - { id: osl, kind: site, name: Oslo HQ }\n  \
                  - { id: osl-srv, kind: zone, name: Server room, parent: osl }\n  \
                  - { id: osl-srv-d1, kind: door, name: Server room door, parent: osl-srv }\n  \
                  - { id: osl-main, kind: door, name: Main entrance, parent: osl }\n";
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", places);
    assert_eq!(status, 200, "{body}");
    let now = Utc::now()
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap();
    let at = |minutes: i64| (now - chrono::Duration::minutes(minutes)).to_rfc3339();
    let badge = |minutes: i64, door: &str, badge: &str| {
        serde_json::json!({"time": at(minutes), "class": "physical_access", "activity": "granted",
            "outcome": "success", "actor": {"badge": badge}, "place": {"door": door}})
    };
    let lines = [
        badge(90, "osl-srv-d1", "10077"),
        badge(12, "osl-srv-d1", "10077"),
        badge(10, "osl-srv-d1", "10078"),
        badge(8, "osl-srv-d1", "10079"),
        badge(10, "osl-main", "10080"),
        badge(11, "osl-main", "10081"),
        serde_json::json!({"time": at(1), "class": "physical_access", "activity": "forced",
            "place": {"door": "osl-srv-d1"}}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let key = server.add_source("badges", "tandem");
    let (status, report) = server.ingest("badges", &key, body.as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");
    let shots = Screenshots::new();
    let browser = Browser::start(&server.url);
    sign_in(&browser, "admin", server.admin_password.as_deref().unwrap());
    browser.wait_until("signing in", |b| !b.path().starts_with("/login"));

    browser.goto("/search?q=class%3Aphysical_access+AND+activity%3Agranted&range=24h");
    browser.wait_for_text("6 events");
    browser.wait_for_text("Field statistics");
    // The badge ten minutes ago at the server room door, opened in place with its pivots.
    browser.execute(
        "Array.from(document.querySelectorAll('table.events > tbody > tr')).find(function (r) { return r.textContent.indexOf('badge 10078') >= 0; }).dataset.pick = '1'; return true;",
    );
    browser.click_css("tr[data-pick] > td > details > summary");
    browser.wait_for_text("surrounding events:");
    shots.take(&browser, "search-pivots");

    // ⊖ on its door: the main entrance's two are left.
    browser.click_css("tr[data-pick] a.pivot-out[aria-label='Filter out door Server room door']");
    browser.wait_until("filtering the door out", |b| {
        b.path().contains("NOT+door%3Aosl-srv-d1")
    });
    browser.wait_for_text("2 events");
    let text = browser.text();
    assert!(
        text.contains("Main entrance") && !text.contains("badge 10078"),
        "{text}"
    );
    browser.assert_accessible();

    // ⊕ on the main entrance, from the field statistics (a field with one value is closed
    // until opened): its two.
    browser.click_css(".field-stats details[data-field='door']:not([open]) > summary");
    browser.click_css(".field-stats a.pivot-for[aria-label='Filter for door Main entrance']");
    browser.wait_until("filtering for the main entrance", |b| {
        b.path().contains("AND+door%3Aosl-main")
    });
    browser.wait_for_text("2 events");

    // Back to the badge: its door's events five minutes either side, whatever the query.
    browser.goto("/search?q=class%3Aphysical_access+AND+activity%3Agranted&range=24h");
    browser.wait_for_text("6 events");
    browser.execute(
        "Array.from(document.querySelectorAll('table.events > tbody > tr')).find(function (r) { return r.textContent.indexOf('badge 10078') >= 0; }).dataset.pick = '1'; return true;",
    );
    browser.click_css("tr[data-pick] > td > details > summary");
    browser.click_css("tr[data-pick] tr[data-field='door'] a.pivot-around:nth-of-type(2)");
    browser.wait_until("the surrounding events", |b| b.path().contains("from="));
    browser.wait_for_text("3 events");
    let text = browser.text();
    for badge in ["badge 10077", "badge 10078", "badge 10079"] {
        assert!(text.contains(badge), "{badge} missing: {text}");
    }
    assert!(!text.contains("Main entrance"), "{text}");
    assert!(
        text.contains("The chosen window"),
        "the time menu says which window"
    );
    browser.assert_accessible();

    // The forced door's Sigma finding, from the findings list.
    browser.goto("/findings");
    browser.wait_for_heading("Findings");
    browser.click_link("Door Forced Open — at Server room door: activity is forced");
    browser.wait_for_heading("High Door Forced Open");
    let text = browser.text();
    assert!(
        text.contains("A door opened without a grant or a request-to-exit."),
        "{text}"
    );
    assert!(
        text.contains("Matched\tactivity is forced") || text.contains("Matched activity is forced"),
        "{text}"
    );
    for raw in [
        "{\"",
        "[\"",
        "selection",
        "de6eab26-7e2c-4351-9d80-42aec4b2f6b5",
    ] {
        assert!(!text.contains(raw), "the finding shows {raw}: {text}");
    }
    shots.take(&browser, "finding-sigma");
}
