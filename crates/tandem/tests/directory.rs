//! The identity directory as an administrator feeds it and an analyst reads it: HR export and
//! places file in, events resolved at ingest, a person's merged timeline out.

mod support;

use serde_json::{Value, json};
use support::TestServer;

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E1000,Ingrid Dahl,ingrid.dahl@nordlys.example,idahl,Finance,,CFO,osl,2019-01-07,,10001
E1002,Bjørn Lie,bjorn.lie@nordlys.example,blie,IT,E1000,Engineer,osl,2020-05-04,2026-03-01,10077
";

const PLACES: &str = "
places:
  - { id: osl, kind: site, name: Oslo HQ, lat: 59.91, lon: 10.75, country: NO, city: Oslo }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-a-srv, kind: zone, name: Server room, parent: osl-a, restricted: true }
  - { id: osl-a-srv-d1, kind: door, name: Server room door, parent: osl-a-srv }
devices:
  - { id: lap-0077, hostname: lap-0077, kind: laptop, owner: E1002 }
";

fn cli(server: &TestServer, args: &[&str]) -> String {
    let out = support::tandem()
        .args(args)
        .env("TANDEM_URL", &server.url)
        .env("TANDEM_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn events_resolve_to_people_and_places_and_a_person_has_one_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let hr_file = dir.path().join("hr.csv");
    std::fs::write(&hr_file, HR).unwrap();

    // A dry run shows the plan and changes nothing.
    let dry = cli(
        &server,
        &[
            "directory",
            "import-hr",
            hr_file.to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert!(
        dry.contains("E1002 Bjørn Lie: terminated 2026-03-01 00:00 UTC"),
        "{dry}"
    );
    assert!(dry.contains("would apply (dry run): 2 new people"), "{dry}");
    assert_eq!(server.get("/api/v1/people", &[]).1["total"], 0);

    let applied = cli(
        &server,
        &["directory", "import-hr", hr_file.to_str().unwrap()],
    );
    assert!(applied.contains("applied: 2 new people"), "{applied}");
    let (status, plan) = server.post("/api/v1/directory/records?file=places.yaml", PLACES);
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["plan"]["new"], 5);
    // Imports are idempotent.
    let again = cli(
        &server,
        &["directory", "import-hr", hr_file.to_str().unwrap()],
    );
    assert!(
        again.contains("applied: 0 new people, 0 updated people, 0 terminations, 2 unchanged"),
        "{again}"
    );

    let key = server.add_source("mixed", "tandem");
    let lines = [
        json!({"time":"2026-02-28T08:00:00Z","class":"physical_access","activity":"granted","actor":{"badge":"10077"},"place":{"door":"Server room door"}}),
        json!({"time":"2026-02-28T08:05:00Z","class":"authentication","activity":"logon","actor":{"user":"NORDLYS\\blie"},"device":{"hostname":"lap-0077"}}),
        json!({"time":"2026-03-01T00:01:00Z","class":"physical_access","activity":"granted","actor":{"badge":"10077"},"place":{"door":"osl-a-srv-d1"}}),
        json!({"time":"2026-03-01T00:02:00Z","class":"physical_access","activity":"denied","actor":{"badge":"55555"},"place":{"door":"osl-a-srv-d1"}}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (status, report) = server.ingest("mixed", &key, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(4)),
        "{report}"
    );

    // The badge swipe a minute after termination is stored as a terminated person's.
    let after = server.search("person:E1002 AND actor.person.status:terminated");
    assert_eq!(after["total"], 1, "{after}");
    let e = &after["events"][0];
    assert_eq!(e["actor"]["person"]["method"], "badge");
    assert_eq!(e["place"]["site"], "osl");
    assert_eq!(e["place"]["zone"], "osl-a-srv");

    // One timeline: badge swipes, the laptop logon and the finding the swipe after the
    // termination raised, newest first.
    let (status, profile) = server.get("/api/v1/people/E1002", &[]);
    assert_eq!(status, 200);
    assert_eq!(profile["person"]["status"], "terminated");
    assert_eq!(profile["devices"][0]["id"], "lap-0077");
    let timeline = profile["timeline"].as_array().unwrap();
    let classes: Vec<&str> = timeline
        .iter()
        .map(|e| e["class"].as_str().unwrap())
        .filter(|c| *c != "detection_finding")
        .collect();
    assert_eq!(
        classes,
        ["physical_access", "authentication", "physical_access"]
    );
    // The swipe after the termination raised findings (the native detection, and the
    // shipped Sigma rule over the same facts), newest at the top of the timeline.
    assert_eq!(timeline[0]["class"], "detection_finding");
    assert!(
        timeline
            .iter()
            .any(|e| e["attrs"]["finding"]["rule_id"] == "tandem.terminated_access"),
        "{profile}"
    );
    let text = cli(&server, &["people", "E1002"]);
    assert!(
        text.contains("Bjørn Lie (E1002)") && text.contains("Timeline (5 events"),
        "{text}"
    );

    // The place shows its events, and the findings raised at its door (stored with the
    // door in `place.door` and the zone in `place.zone`); the unknown badge is a visible gap.
    let (_, place) = server.get("/api/v1/places/osl-a-srv", &[]);
    assert_eq!(place["events_total"], 5, "{place}");
    let findings: Vec<&Value> = place["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["class"] == "detection_finding")
        .collect();
    assert_eq!(findings.len(), 2, "{place}");
    for f in findings {
        assert_eq!(f["place"]["door"], "osl-a-srv-d1", "{f}");
        assert_eq!(f["place"]["zone"], "osl-a-srv", "{f}");
    }
    let (_, gaps) = server.get("/api/v1/directory/gaps", &[]);
    assert_eq!(gaps["sources"]["mixed"]["person"], 1, "{gaps}");
    assert_eq!(gaps["sources"]["mixed"]["events"], 4);
    server.terminate();
}

#[test]
fn bad_directory_input_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, body) = server.post("/api/v1/directory/hr", "id,name\n1,Ann\n");
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no `employee_number` column"),
        "{body}"
    );
    let (status, body) = server.post(
        "/api/v1/directory/records?file=p.yaml",
        "places:\n  - { id: d, kind: door, name: D, parent: x }\n",
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"], "place `d`: parent `x` does not exist");
    let (status, _) = server.get("/api/v1/people/nobody", &[]);
    assert_eq!(status, 404);
    server.terminate();
}

/// A German HR export as the firm's HR system writes it (`;`, Windows-1252, `TT.MM.JJJJ`,
/// `aktiv`/`ausgetreten`, department codes), imported through the real server with
/// `[identity.hr]` set from the environment: the dry run, in the API and on the command line,
/// says how the file was read, which header fed which field and which values no mapping
/// knows; the import applies the rest.
#[test]
fn a_german_hr_export_is_imported_with_columns_and_words_mapped_in_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let export = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tandem-identity/tests/fixtures/hr/personal-export-de.csv");
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[
            ("TANDEM_IDENTITY__HR__EMPLOYEE_NUMBER", "Personalnummer"),
            ("TANDEM_IDENTITY__HR__NAME", ""),
            ("TANDEM_IDENTITY__HR__GIVEN_NAME", "Vorname"),
            ("TANDEM_IDENTITY__HR__FAMILY_NAME", "Nachname"),
            // Differs from the header `E-Mail` in case only: matched, and said so.
            ("TANDEM_IDENTITY__HR__EMAIL", "e-mail"),
            ("TANDEM_IDENTITY__HR__USERNAME", "Benutzername"),
            ("TANDEM_IDENTITY__HR__UPN", ""),
            ("TANDEM_IDENTITY__HR__DEPARTMENT", "Abteilung"),
            ("TANDEM_IDENTITY__HR__MANAGER", "Vorgesetzter"),
            ("TANDEM_IDENTITY__HR__TITLE", "Funktion"),
            ("TANDEM_IDENTITY__HR__SITE", "Standort"),
            ("TANDEM_IDENTITY__HR__STATUS", "Status"),
            ("TANDEM_IDENTITY__HR__HIRED", "Eintrittsdatum"),
            ("TANDEM_IDENTITY__HR__TERMINATED", "Austrittsdatum"),
            ("TANDEM_IDENTITY__HR__BADGE", "Ausweisnummer"),
            ("TANDEM_IDENTITY__HR__CRITICALITY", ""),
            (
                "TANDEM_IDENTITY__HR__DATE_FORMATS",
                r#"{ hired = "%d.%m.%Y", terminated = "%d.%m.%Y" }"#,
            ),
            (
                "TANDEM_IDENTITY__HR__STATUS_VALUES",
                r#"{ aktiv = "active", ausgetreten = "terminated" }"#,
            ),
            (
                "TANDEM_IDENTITY__HR__DEPARTMENT_VALUES",
                r#"{ 10 = "Geschäftsführung", 20 = "IT", 30 = "Lager & Disposition" }"#,
            ),
        ],
    );
    let body = std::fs::read(&export).unwrap();
    let mut resp = TestServer::agent()
        .post(format!(
            "{}/api/v1/directory/hr?dry_run=true&file=personal-export-de.csv",
            server.url
        ))
        .header("Authorization", format!("Bearer {}", server.token))
        .send(&body[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let dry: Value = resp.body_mut().read_json().unwrap();
    let plan = &dry["plan"];
    assert_eq!(plan["errors"], json!([]), "{plan}");
    assert_eq!(plan["new_people"], 5, "{plan}");
    assert_eq!(
        (&plan["encoding"], &plan["delimiter"]),
        (&json!("windows-1252"), &json!(";"))
    );
    assert_eq!(
        plan["unmapped"],
        json!([
            { "field": "department", "value": "99", "lines": [6] },
            { "field": "status", "value": "ruhend", "lines": [5] },
        ])
    );
    assert!(
        plan["columns"]
            .as_array()
            .unwrap()
            .contains(&json!({ "field": "email", "header": "E-Mail", "ignoring_case": true })),
        "{plan}"
    );
    assert_eq!(server.get("/api/v1/people", &[]).1["total"], 0);

    let text = cli(
        &server,
        &[
            "directory",
            "import-hr",
            export.to_str().unwrap(),
            "--dry-run",
        ],
    );
    for line in [
        "read as windows-1252, separated by `;`",
        "  employee_number ← \"Personalnummer\"",
        "  email ← \"E-Mail\" (matched ignoring case)",
        "  not used: \"Kostenstelle\"",
        "  unmapped status `ruhend` on line 5: status left as it was",
        "  unmapped department `99` on line 6: department left as it was",
        "would apply (dry run): 5 new people",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }

    let applied = cli(
        &server,
        &["directory", "import-hr", export.to_str().unwrap()],
    );
    assert!(applied.contains("applied: 5 new people"), "{applied}");
    let (status, profile) = server.get("/api/v1/people/100233", &[]);
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["person"]["name"], "Käthe Groß");
    assert_eq!(profile["person"]["department"], "Lager & Disposition");
    assert_eq!(profile["person"]["hired"], "2016-09-15");
    let (_, leaver) = server.get("/api/v1/people/100412", &[]);
    assert_eq!(leaver["person"]["status"], "terminated", "{leaver}");
    let (_, dormant) = server.get("/api/v1/people/100519", &[]);
    assert_eq!(dormant["person"]["status"], "active");
    assert_eq!(dormant["person"]["department"], "IT");
    server.terminate();
}

#[test]
fn a_status_mapping_to_no_status_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::tandem()
        .arg("config")
        .env("TANDEM_DATA_DIR", dir.path())
        .env(
            "TANDEM_IDENTITY__HR__STATUS_VALUES",
            r#"{ aktiv = "working" }"#,
        )
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("identity.hr: status_values: `aktiv` maps to `working`"),
        "{err}"
    );
}
