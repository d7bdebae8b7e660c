//! The console's investigation pages as people use them: an analyst follows a finding to the
//! person and the door, an HR responder sees findings and people but not raw events or places.

mod support;

use serde_json::json;
use support::TestServer;

const PLACES: &str = "
places:
  - { id: osl, kind: site, name: Oslo HQ, time_zone: Europe/Oslo, country: NO, city: Oslo }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-a-srv, kind: zone, name: Server room, parent: osl-a, restricted: true, allowed_hours: { from_hour: 7, to_hour: 19 } }
  - { id: osl-a-srv-d1, kind: door, name: Server room door, parent: osl-a-srv }
devices:
  - { id: lap-0077, hostname: lap-0077, kind: laptop, owner: E1002 }
";

fn no_redirects() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// Signs in through the login form and returns the session cookie.
fn sign_in(server: &TestServer, user: &str, password: &str) -> String {
    let resp = support::post_login(&server.url, &[("username", user), ("password", password)]);
    assert_eq!(resp.status().as_u16(), 303, "{user} could not sign in");
    resp.headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A console page with a session: status and HTML.
fn page(server: &TestServer, cookie: &str, path: &str) -> (u16, String) {
    let mut resp = no_redirects()
        .get(format!("{}{path}", server.url))
        .header("Cookie", cookie)
        .call()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

/// Whether the page links to `path` (attribute values come escaped).
fn links_to(text: &str, path: &str) -> bool {
    text.contains(&format!("href=\"{}\"", html(path))) || text.contains(&format!("href=\"{path}\""))
}

/// Text as the templates escape it.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

#[test]
fn an_analyst_follows_a_finding_to_the_person_and_the_door_and_a_responder_sees_only_their_part() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data, None, &[]);
    let admin_password = server
        .admin_password
        .clone()
        .expect("first start prints it");
    let token = server.token.clone();
    // Accounts are added to a store no server holds open; stopping right after the start is
    // not what this test is about, so its exit status is not checked.
    assert_eq!(server.get("/healthz", &[]).0, 200);
    server.terminate();
    let hr_password = support::add_user(&data, "hanne", "responder:hr");
    let server = TestServer::start(&data, Some(&token), &[]);

    // Bjørn Lie left two days ago; his badge opened the server room ten minutes ago.
    let now = chrono::Utc::now();
    let left = (now - chrono::Duration::days(2)).date_naive();
    let hr = format!(
        "employee_number,name,email,username,department,manager,title,site,hired,terminated,badge\n\
         E1000,Ingrid Dahl,ingrid.dahl@nordlys.example,idahl,Finance,,CFO,osl,2019-01-07,,10001\n\
         E1002,Bjørn Lie,bjorn.lie@nordlys.example,blie,IT,E1000,Engineer,osl,2020-05-04,{left},10077\n"
    );
    let (status, body) = server.post("/api/v1/directory/hr", &hr);
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", PLACES);
    assert_eq!(status, 200, "{body}");
    let at = |minutes_ago: i64| (now - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
    let lines = [
        json!({"time": at(4 * 24 * 60), "class": "authentication", "activity": "logon", "outcome": "success",
               "message": "Signed in to the expense system", "actor": {"user": "NORDLYS\\blie"},
               "device": {"hostname": "lap-0077"}}),
        json!({"time": at(10), "class": "physical_access", "activity": "granted", "outcome": "success",
               "actor": {"badge": "10077"}, "place": {"door": "Server room door"}}),
        json!({"time": at(2), "class": "physical_access", "activity": "held_open",
               "place": {"door": "osl-a-srv-d1"}}),
        json!({"time": at(3), "class": "video_detection", "activity": "unknown",
               "actor": {"face": "Visitor 7"}, "place": {"door": "osl-a-srv-d1"}}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let key = server.add_source("mixed", "tandem");
    let (status, report) = server.ingest("mixed", &key, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(4)),
        "{report}"
    );

    let (_, listed) = server.get(
        "/api/v1/findings",
        &[("q", "finding.rule_id:tandem.terminated_access")],
    );
    let found = &listed["findings"][0];
    let finding_id = found["id"].as_str().expect("a terminated-access finding");
    let summary = found["finding"]["summary"].as_str().unwrap();
    let evidence_id = found["finding"]["evidence"][0].as_str().unwrap();
    assert_eq!(found["finding"]["severity"], "high");

    let admin = sign_in(&server, "admin", &admin_password);

    // The findings list shows the finding in words and filters by severity and rule.
    let (status, text) = page(&server, &admin, "/findings");
    assert_eq!(status, 200);
    assert!(text.contains(&html(summary)), "{text}");
    assert!(text.contains("<svg"), "no chart of the last 24 hours");
    assert!(
        links_to(&text, "/places/osl-a-srv-d1"),
        "the place is not linked"
    );
    let (_, text) = page(&server, &admin, "/findings?severity=high");
    assert!(text.contains(&html(summary)));
    let (_, text) = page(&server, &admin, "/findings?severity=low");
    assert!(
        !text.contains(&html(summary)),
        "a low-severity filter shows a high finding"
    );
    let (_, text) = page(&server, &admin, "/findings?rule=tandem.no_such_rule");
    assert!(!text.contains(&html(summary)));
    let (_, text) = page(&server, &admin, "/findings?q=person%3AE1000");
    assert!(!text.contains(&html(summary)), "the free query is ignored");
    let (status, text) = page(&server, &admin, "/findings?q=%28%28");
    assert_eq!(status, 200);
    assert!(
        text.contains("role=\"alert\""),
        "a bad query is not explained"
    );

    // The finding names the person, links to them and shows its evidence.
    let (status, text) = page(&server, &admin, &format!("/findings/{finding_id}"));
    assert_eq!(status, 200);
    assert!(links_to(&text, "/people/E1002"), "{text}");
    assert!(links_to(&text, &format!("/events/{evidence_id}")), "{text}");
    assert!(text.contains("Server room door"));
    let (status, _) = page(&server, &admin, "/findings/01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_eq!(status, 404);

    // The evidence event says who it resolved to, and how.
    let (status, text) = page(&server, &admin, &format!("/events/{evidence_id}"));
    assert_eq!(status, 200);
    assert!(
        text.contains("Bjørn Lie") && text.contains("recognised by badge"),
        "{text}"
    );

    // The person page: the badge that no longer works, the finding, one timeline.
    let (status, text) = page(&server, &admin, "/people/E1002");
    assert_eq!(status, 200);
    assert!(text.contains("10077"), "badge missing");
    assert!(text.contains(&html(summary)), "finding missing");
    assert!(
        text.contains("Signed in to the expense system"),
        "logon missing from the timeline"
    );
    assert!(
        text.contains("Badge") && text.contains("Logon"),
        "kinds not labelled"
    );
    let (_, text) = page(&server, &admin, "/people?q=finance");
    assert!(text.contains("Ingrid Dahl") && !text.contains("Bjørn Lie"));
    let (status, _) = page(&server, &admin, "/people/E9999");
    assert_eq!(status, 404);

    // Places: the tree shows the door under the restricted zone; the door was held open.
    let (status, text) = page(&server, &admin, "/places");
    assert_eq!(status, 200);
    assert!(text.contains("Server room door") && text.contains("Restricted"));
    let (status, text) = page(&server, &admin, "/places/osl-a-srv-d1");
    assert_eq!(status, 200);
    assert!(
        text.contains("Held open") && text.contains("min ago"),
        "{text}"
    );
    // Who an event is about reads the same on the place's page as in a search.
    let face = html("face “Visitor 7”");
    assert!(text.contains(&face), "{text}");
    let (_, text) = page(&server, &admin, "/search?q=class%3Avideo_detection");
    assert!(text.contains(&face), "{text}");
    let (_, text) = page(&server, &admin, "/places/osl-a");
    assert!(
        text.contains("Held open"),
        "a building page lists its doors' state"
    );

    // An HR responder reads findings and people, not raw events or the building plan.
    let hanne = sign_in(&server, "hanne", &hr_password);
    let (status, text) = page(&server, &hanne, "/findings");
    assert_eq!(status, 200);
    assert!(text.contains(&html(summary)));
    assert!(
        !links_to(&text, "/places/osl-a-srv-d1"),
        "links to pages the role cannot open"
    );
    assert_eq!(page(&server, &hanne, "/people").0, 200);
    assert_eq!(page(&server, &hanne, "/people/E1002").0, 200);
    assert_eq!(
        page(&server, &hanne, &format!("/findings/{finding_id}")).0,
        200
    );
    assert_eq!(
        page(&server, &hanne, &format!("/events/{evidence_id}")).0,
        403
    );
    assert_eq!(page(&server, &hanne, "/places").0, 403);
    assert_eq!(page(&server, &hanne, "/places/osl-a-srv-d1").0, 403);
    if let Ok(dump) = std::env::var("CONSOLE_PAGES_DUMP") {
        for (name, path) in [
            ("findings", "/findings".to_owned()),
            ("finding", format!("/findings/{finding_id}")),
            ("event", format!("/events/{evidence_id}")),
            ("person", "/people/E1002".to_owned()),
            ("people", "/people".to_owned()),
            ("places", "/places".to_owned()),
            ("place", "/places/osl-a".to_owned()),
        ] {
            let (_, text) = page(&server, &admin, &path);
            std::fs::write(format!("{dump}/{name}.html"), text).unwrap();
        }
    }
    server.terminate();
}

/// The audit entries of `action`, as the API exports them.
fn audit_entries(server: &TestServer, action: &str) -> Vec<serde_json::Value> {
    let (status, body) = server.get("/api/v1/audit", &[("limit", "10000")]);
    assert_eq!(status, 200, "{body}");
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

#[test]
fn looking_at_a_person_and_searching_are_on_record_and_facilities_opens_its_doors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data, None, &[]);
    let token = server.token.clone();
    assert_eq!(server.get("/healthz", &[]).0, 200);
    server.terminate();
    let hr_password = support::add_user(&data, "hanne", "responder:hr");
    let facilities_password = support::add_user(&data, "frode", "responder:facilities");
    let analyst_password = support::add_user(&data, "sara", "soc_analyst");
    let auditor_password = support::add_user(&data, "aud", "auditor");
    let server = TestServer::start(&data, Some(&token), &[]);
    let hr = "employee_number,name,email,username,department,manager,title,site,hired,terminated,badge\n\
              E1000,Ingrid Dahl,ingrid.dahl@nordlys.example,idahl,Finance,,CFO,osl,2019-01-07,,10001\n\
              E1002,Bjørn Lie,bjorn.lie@nordlys.example,blie,IT,E1000,Engineer,osl,2020-05-04,,10077\n";
    assert_eq!(server.post("/api/v1/directory/hr", hr).0, 200);
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", PLACES);
    assert_eq!(status, 200, "{body}");

    // HR opens Bjørn's page; an analyst searches for him.
    let hanne = sign_in(&server, "hanne", &hr_password);
    assert_eq!(page(&server, &hanne, "/people/E1002").0, 200);
    let sara = sign_in(&server, "sara", &analyst_password);
    assert_eq!(
        page(&server, &sara, "/search?q=user%3Ablie&range=7d").0,
        200
    );
    // Suggestions while typing are not searches.
    let before = audit_entries(&server, "search").len();
    let (status, _) = server.get(
        "/api/v1/search/values",
        &[("field", "actor.user"), ("prefix", "bl")],
    );
    assert!(status < 500, "{status}");
    assert_eq!(audit_entries(&server, "search").len(), before);

    let aud = sign_in(&server, "aud", &auditor_password);
    let (status, views) = page(&server, &aud, "/audit?kind=person-views");
    assert_eq!(status, 200);
    assert!(
        views.contains("<td>hanne</td><td>person.view</td><td>E1002</td>"),
        "{views}"
    );
    assert!(views.contains("127.0.0.1"), "from where: {views}");
    assert!(!views.contains("<td>search</td>"), "{views}");
    assert!(
        views.contains("<option value=\"person-views\" selected>"),
        "the filter shows its choice: {views}"
    );
    let (status, searches) = page(&server, &aud, "/audit?kind=searches");
    assert_eq!(status, 200);
    assert!(
        searches.contains("<td>sara</td><td>search</td>"),
        "{searches}"
    );
    assert!(searches.contains("user:blie"), "the query text: {searches}");
    assert!(!searches.contains("<td>person.view</td>"), "{searches}");
    let (_, all) = page(&server, &aud, "/audit");
    assert!(all.contains("<td>person.view</td>") && all.contains("<td>search</td>"));
    let (_, sign_ins) = page(&server, &aud, "/audit?kind=sign-ins");
    assert!(sign_ins.contains("<td>login</td>"), "{sign_ins}");
    assert!(!sign_ins.contains("<td>search</td>"), "{sign_ins}");

    // Through the API: the person record is a view, and a search is one entry however many
    // of its pages are read.
    assert_eq!(server.get("/api/v1/people/E1000", &[]).0, 200);
    let views = audit_entries(&server, "person.view");
    assert!(
        views
            .iter()
            .any(|e| e["target"] == "E1000" && e["detail"]["via"] == "api"),
        "{views:?}"
    );
    for offset in ["0", "100", "200"] {
        let (status, body) =
            server.get("/api/v1/search", &[("q", "user:idahl"), ("offset", offset)]);
        assert_eq!(status, 200, "{body}");
    }
    let searched: Vec<_> = audit_entries(&server, "search")
        .into_iter()
        .filter(|e| e["detail"]["query"] == "user:idahl")
        .collect();
    assert_eq!(searched.len(), 1, "{searched:?}");
    assert_eq!(searched[0]["detail"]["from"], "127.0.0.1");

    // Facilities opens the door it owns; HR is still refused places, and the refusal keeps
    // the menu and sign-out.
    let frode = sign_in(&server, "frode", &facilities_password);
    let (status, door) = page(&server, &frode, "/places/osl-a-srv-d1");
    assert_eq!(status, 200);
    assert!(door.contains("Server room door"), "{door}");
    let (status, refused) = page(&server, &hanne, "/places/osl-a-srv-d1");
    assert_eq!(status, 403);
    assert!(refused.contains("Not allowed"), "{refused}");
    assert!(refused.contains("Sign out"), "{refused}");
    assert!(refused.contains("action=\"/logout\""), "{refused}");
    assert!(links_to(&refused, "/people"), "the menu: {refused}");
    // A refusal from a page's own handler too (an unknown person is 404), with the menu.
    let (status, missing) = page(&server, &hanne, "/people/E9999");
    assert_eq!(status, 404);
    assert!(missing.contains("Sign out"), "{missing}");
    server.terminate();
}
