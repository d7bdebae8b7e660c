//! Playbooks through the real server: the shipped set and an operator's override over the
//! API, validation with file, line and reason, a reload that fails keeping the set in force,
//! the console pages, and `tandem playbooks check`.

mod support;

use serde_json::Value;
use std::path::Path;
use support::{TestServer, tandem};

const TAILGATING: &str = include_str!("../../tandem-cases/playbooks/tailgating.yaml");

/// The shipped tailgating playbook with its first task renamed.
fn override_with(title: &str) -> String {
    TAILGATING.replace("Review the camera footage of the entry", title)
}

fn start(dir: &Path) -> TestServer {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let playbooks = dir.join("playbooks");
    let dirs = format!("[\"{}\"]", playbooks.display());
    TestServer::start(&data, None, &[("TANDEM_CASES__PLAYBOOK_DIRS", &dirs)])
}

fn tailgating_first_task(server: &TestServer) -> String {
    let (status, p) = server.get("/api/v1/playbooks/tailgating", &[]);
    assert_eq!(status, 200, "{p}");
    p["tasks"][0]["title"].as_str().unwrap().to_owned()
}

#[test]
fn the_api_lists_validates_and_a_failed_reload_keeps_the_playbooks_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(&playbooks).unwrap();
    std::fs::write(
        playbooks.join("tailgating.yaml"),
        override_with("Watch the entry on camera"),
    )
    .unwrap();
    let server = start(dir.path());

    // The shipped set, with the operator's tailgating playbook in place of the shipped one.
    let (status, list) = server.get("/api/v1/playbooks", &[]);
    assert_eq!(status, 200, "{list}");
    let all = list["playbooks"].as_array().unwrap();
    let ids: Vec<&str> = all.iter().map(|p| p["id"].as_str().unwrap()).collect();
    for id in [
        "generic",
        "lost-badge",
        "account-compromise",
        "ransomware",
        "tailgating",
        "terminated-access",
        "payment-fraud",
        "device-compromise",
        "forced-door",
        "risk",
        "sla-breach",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let get = |id: &str| all.iter().find(|p| p["id"] == id).unwrap();
    assert_eq!(get("tailgating")["overrides_shipped"], true);
    assert_eq!(get("forced-door")["shipped"], true);
    let departments = |id: &str| get(id)["departments"].clone();
    assert_eq!(
        departments("tailgating"),
        serde_json::json!(["security", "facilities"])
    );
    for d in ["security", "hr", "facilities"] {
        assert!(
            departments("terminated-access")
                .as_array()
                .unwrap()
                .contains(&d.into()),
            "{d}"
        );
    }

    // One playbook, with its diff against the shipped version.
    let (status, p) = server.get("/api/v1/playbooks/tailgating", &[("diff", "shipped")]);
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["tasks"][0]["title"], "Watch the entry on camera");
    let changes: Vec<(String, String)> = p["diff"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["change"] != "same")
        .map(|l| {
            (
                l["change"].as_str().unwrap().to_owned(),
                l["text"].as_str().unwrap().trim().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (
                "removed".into(),
                "title: Review the camera footage of the entry".into()
            ),
            ("added".into(), "title: Watch the entry on camera".into())
        ]
    );
    let (_, shipped) = server.get("/api/v1/playbooks/forced-door", &[("diff", "shipped")]);
    assert_eq!(shipped["diff"], Value::Null);
    let (status, _) = server.get("/api/v1/playbooks/nosuch", &[]);
    assert_eq!(status, 404);

    // Validation: file, line and reason; nothing installed.
    let bad = TAILGATING.replace("department: facilities", "department: catering");
    let line = bad.lines().position(|l| l.contains("catering")).unwrap() as u64 + 1;
    let (status, v) = server.post("/api/v1/playbooks/validate?file=mine.yaml", &bad);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"][0]["file"], "mine.yaml");
    assert_eq!(v["errors"][0]["line"], line, "{v}");
    assert!(
        v["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("catering"),
        "{v}"
    );
    let (_, v) = server.post("/api/v1/playbooks/validate", TAILGATING);
    assert_eq!(
        v,
        serde_json::json!({"ok": true, "id": "tailgating", "errors": []})
    );

    // A reload that meets a broken file changes nothing, and says why.
    std::fs::write(
        playbooks.join("tailgating.yaml"),
        override_with("Check the camera"),
    )
    .unwrap();
    let cycle = "id: loop\ntitle: Loop\ntasks:\n  - id: a\n    title: A\n    department: it\n    after: [b]\n  - id: b\n    title: B\n    department: it\n    after: [a]\n";
    std::fs::write(playbooks.join("loop.yaml"), cycle).unwrap();
    let (status, r) = server.post("/api/v1/playbooks/reload", "");
    assert_eq!(status, 422, "{r}");
    assert_eq!(r["ok"], false);
    let e = &r["errors"][0];
    assert!(e["file"].as_str().unwrap().ends_with("loop.yaml"), "{r}");
    assert_eq!(e["line"], 4, "{r}");
    assert!(e["reason"].as_str().unwrap().contains("cycle"), "{r}");
    assert_eq!(tailgating_first_task(&server), "Watch the entry on camera");

    // Fixed, the reload puts the new version in force.
    std::fs::remove_file(playbooks.join("loop.yaml")).unwrap();
    let (status, r) = server.post("/api/v1/playbooks/reload", "");
    assert_eq!(status, 200, "{r}");
    assert_eq!(tailgating_first_task(&server), "Check the camera");

    // Both reloads are in the audit log.
    let (_, log) = server.get("/api/v1/audit", &[]);
    let reloads: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "playbooks.reload")
        .collect();
    assert_eq!(reloads.len(), 2, "{log}");
    assert_eq!(reloads[0]["detail"]["ok"], false, "{log}");
    assert_eq!(reloads[1]["detail"]["ok"], true, "{log}");

    // The CLI lists what the server has in force.
    let out = tandem()
        .args([
            "playbooks",
            "list",
            "--url",
            &server.url,
            "--token",
            &server.token,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("tailgating") && stdout.contains("(overrides shipped)"),
        "{stdout}"
    );
    assert!(stdout.contains("tandem.terminated_access"), "{stdout}");

    // The console: the list, a playbook's tasks by department with the diff, and the
    // validate form showing errors with their lines.
    let console = server.admin_console();
    let page = console.get("/playbooks");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("aria-current=\"page\">Playbooks</a>"),
        "menu entry"
    );
    assert!(
        page.body.contains("Door Opened For A Terminated Person"),
        "Sigma rule by title"
    );
    let page = console.get("/playbooks/tailgating");
    assert_eq!(page.status, 200);
    for text in [
        "Facilities",
        "Security",
        "Changes from the shipped version",
        "class=\"diff-added\">+     title: Check the camera",
        "door inspection report",
        "20 min / 45 min",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }
    let csrf = console.csrf("/playbooks");
    let page = console.post_form("/playbooks/validate", &[("csrf", &csrf), ("yaml", &bad)]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("1 problem"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("<td class=\"num\">{line}</td>")),
        "{}",
        page.body
    );
    assert!(page.body.contains("unknown variant `catering`"));
    let page = console.post_form("/playbooks/reload", &[("csrf", &csrf)]);
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/playbooks?reloaded=ok"));
}

#[test]
fn check_prints_file_line_and_reason_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yaml"), TAILGATING).unwrap();
    let run = || {
        let out = tandem()
            .args(["playbooks", "check"])
            .arg(dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, stdout) = run();
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("1 playbooks valid (replacing shipped: tailgating); 0 problems"),
        "{stdout}"
    );

    std::fs::write(
        dir.path().join("bad.yaml"),
        "id: bad\ntitle: Bad\ntasks:\n  - id: a\n    title: A\n    department: it\n    sla:\n      high: {warn: 90, breach: 60}\n",
    )
    .unwrap();
    let (code, stdout) = run();
    assert_eq!(code, Some(1), "{stdout}");
    let file = dir.path().join("bad.yaml");
    assert!(
        stdout.contains(&format!(
            "{}:4: task `a`: sla for `high`: warn (90) must be more than 0 and less than breach (60)",
            file.display()
        )),
        "{stdout}"
    );
}
