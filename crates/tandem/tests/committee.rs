//! The security committee against a real server: members from each department, the chair
//! rotating across meetings and passing over a skipped member, who may record what, action
//! items from a meeting in the same tracker as a review's, the audit log; and the briefing
//! pack printed to PDF by a real headless Chromium, its pages looked at as images
//! (`pdftoppm`, poppler-utils) and its text read back (`pdftotext`), or, without Chromium,
//! the printable page with the reason, from the API and from `tandem report briefing`.
//! With `TANDEM_SCREENSHOTS=1` the page images are written to
//! `docs/screenshots/briefing-page-*.png`.

mod support;
use support::shots::shots_dir;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{
    Seeded, TestServer, csrf_for, sign_in, start_with_accounts, start_with_accounts_env, tandem,
};

/// Sends a request with an API token, or with a console session (`session:<secret>`): the
/// chair acts as the person signed in, since a token acts only by its role.
fn send(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let agent = TestServer::agent();
    let url = format!("{}{path}", server.url);
    let headers: Vec<(&str, String)> = match token.strip_prefix("session:") {
        Some(s) => vec![
            ("Cookie", format!("tandem_session={s}")),
            ("X-CSRF-Token", csrf_for(s)),
        ],
        None => vec![("Authorization", format!("Bearer {token}"))],
    };
    macro_rules! with_headers {
        ($r:expr) => {{
            let mut r = $r;
            for (k, v) in &headers {
                r = r.header(*k, v);
            }
            r
        }};
    }
    let mut resp = match (method, body) {
        ("GET", _) => with_headers!(agent.get(&url)).call(),
        ("POST", Some(b)) => with_headers!(agent.post(&url)).send_json(b),
        ("POST", None) => with_headers!(agent.post(&url)).send_empty(),
        ("PATCH", Some(b)) => with_headers!(agent.patch(&url)).send_json(b),
        ("PUT", Some(b)) => with_headers!(agent.put(&url)).send_json(b),
        _ => unreachable!(),
    }
    .expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn user<'a>(seeded: &'a [Seeded], role: &str) -> &'a Seeded {
    seeded.iter().find(|s| s.role == role).unwrap()
}

fn next_chair(server: &TestServer) -> String {
    let (status, c) = send(server, &server.token, "GET", "/api/v1/committee", None);
    assert_eq!(status, 200, "{c}");
    c["next_chair"]["account"].as_str().unwrap_or("").to_owned()
}

const ROLES: [&str; 4] = [
    "responder:hr",
    "responder:facilities",
    "soc_analyst",
    "auditor",
];

fn members(seeded: &[Seeded], skip_facilities: bool) -> Value {
    json!([
        {"account": user(seeded, "responder:hr").user, "department": "hr"},
        {"account": user(seeded, "responder:facilities").user, "department": "facilities",
         "skip": if skip_facilities { json!("on leave") } else { Value::Null }},
        {"account": user(seeded, "soc_analyst").user, "department": "security"},
    ])
}

#[test]
fn the_chair_rotates_and_meeting_action_items_join_the_reviews_in_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let roles = ROLES.map(String::from);
    let (server, seeded) = start_with_accounts(dir.path(), &roles, &ROLES[..3]);
    let admin = server.token.clone();
    // The members act signed in as themselves; the auditor with a token.
    let session = |s: &Seeded| Seeded {
        token: format!(
            "session:{}",
            sign_in(&server.url, &s.user, s.password.as_deref().unwrap()).unwrap()
        ),
        role: s.role.clone(),
        user: s.user.clone(),
        password: None,
    };
    let (hr, facilities, soc, auditor) = (
        &session(user(&seeded, "responder:hr")),
        &session(user(&seeded, "responder:facilities")),
        &session(user(&seeded, "soc_analyst")),
        user(&seeded, "auditor"),
    );

    // Only administrators set up the committee, with accounts that exist.
    let setup =
        json!({"base_version": 0, "rotation": "configured", "members": members(&seeded, false)});
    let (status, _) = send(
        &server,
        &hr.token,
        "PUT",
        "/api/v1/committee",
        Some(setup.clone()),
    );
    assert_eq!(status, 403);
    let (status, body) = send(
        &server,
        &admin,
        "PUT",
        "/api/v1/committee",
        Some(json!({"members": [{"account": "nobody-here", "department": "hr"}]})),
    );
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("nobody-here is not an account"),
        "{body}"
    );
    let (status, body) = send(&server, &admin, "PUT", "/api/v1/committee", Some(setup));
    assert_eq!(status, 200, "{body}");
    assert_eq!(next_chair(&server), hr.user);

    // The auditor reads the committee but records nothing; the next chair records.
    let (status, c) = send(&server, &auditor.token, "GET", "/api/v1/committee", None);
    assert_eq!(status, 200);
    assert_eq!(c["order"], json!([hr.user, facilities.user, soc.user]));
    let meeting = json!({"date": "2026-01-14", "notes": "Quarterly review"});
    for who in [auditor, facilities] {
        let (status, body) = send(
            &server,
            &who.token,
            "POST",
            "/api/v1/committee/meetings",
            Some(meeting.clone()),
        );
        assert_eq!(status, 403, "{} {body}", who.role);
    }
    let (status, body) = send(
        &server,
        &hr.token,
        "POST",
        "/api/v1/committee/meetings",
        Some(meeting),
    );
    assert_eq!(status, 201, "{body}");
    let m1 = body["meeting"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["meeting"]["chair"], hr.user.as_str());
    let (status, _) = send(
        &server,
        &hr.token,
        "POST",
        &format!("/api/v1/committee/meetings/{m1}/decisions"),
        Some(json!({"text": "Badges are revoked from the HR feed, not by hand"})),
    );
    assert_eq!(status, 200);
    let (status, body) = send(
        &server,
        &hr.token,
        "POST",
        &format!("/api/v1/committee/meetings/{m1}/action-items"),
        Some(
            json!({"title": "Connect the HR feed to access control", "department": "facilities", "due": "2026-02-01"}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        &server,
        &hr.token,
        "POST",
        &format!("/api/v1/committee/meetings/{m1}/action-items"),
        Some(
            json!({"title": "Explain the change to staff", "department": "soc", "due": "2026-02-01"}),
        ),
    );
    assert_eq!(status, 400, "{body}");

    // A review's action item, to sit beside it.
    let (_, inc) = send(
        &server,
        &admin,
        "POST",
        "/api/v1/incidents",
        Some(
            json!({"title": "Tailgating at the loading dock", "severity": "medium", "playbook": "generic"}),
        ),
    );
    let id = inc["incident"]["id"].as_str().unwrap().to_owned();
    let (status, body) = send(
        &server,
        &admin,
        "PUT",
        &format!("/api/v1/incidents/{id}/review"),
        Some(
            json!({"summary": "A visitor followed staff in.", "action_items": [{"title": "Fit a turnstile", "department": "facilities", "due": "2026-03-01"}]}),
        ),
    );
    assert_eq!(status, 200, "{body}");

    // Facilities sees both, soonest due first, each saying where it came from.
    let (status, items) = send(
        &server,
        &facilities.token,
        "GET",
        "/api/v1/action-items?open=1",
        None,
    );
    assert_eq!(status, 200);
    let list: Vec<(String, String)> = items["action_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["from"].as_str().unwrap().to_owned(),
                a["item"]["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        list,
        [
            (
                "meeting".to_owned(),
                "Connect the HR feed to access control".to_owned()
            ),
            ("review".to_owned(), "Fit a turnstile".to_owned()),
        ]
    );
    assert_eq!(items["action_items"][0]["meeting"], m1.as_str());

    // The auditor may not close it; Facilities, who owns it, may.
    let done = format!("/api/v1/committee/meetings/{m1}/action-items/A1");
    let (status, _) = send(&server, &auditor.token, "POST", &done, None);
    assert_eq!(status, 403);
    let (status, body) = send(&server, &facilities.token, "POST", &done, None);
    assert_eq!(status, 200, "{body}");
    assert!(
        body["meeting"]["action_items"][0]["done"].is_string(),
        "{body}"
    );

    // The chair passes to Facilities; while Facilities is on leave, to the SOC.
    assert_eq!(next_chair(&server), facilities.user);
    let (status, body) = send(
        &server,
        &admin,
        "PUT",
        "/api/v1/committee",
        Some(json!({"base_version": 1, "members": members(&seeded, true)})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(next_chair(&server), soc.user);
    let (status, body) = send(
        &server,
        &soc.token,
        "POST",
        "/api/v1/committee/meetings",
        Some(json!({"date": "2026-02-11"})),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["meeting"]["chair"], soc.user.as_str());
    // Round again: HR, with Facilities still passed over.
    assert_eq!(next_chair(&server), hr.user);
    // A stale setup is refused, naming who changed it.
    let (status, body) = send(
        &server,
        &admin,
        "PUT",
        "/api/v1/committee",
        Some(json!({"base_version": 1, "members": []})),
    );
    assert_eq!(status, 409, "{body}");

    // Every change is in the audit log.
    let (_, audit) = server.get("/api/v1/audit", &[("limit", "200")]);
    let text = audit.to_string();
    for action in [
        "committee.members",
        "committee.meeting",
        "committee.decision",
        "committee.action_item",
        "committee.action_item_done",
    ] {
        assert!(text.contains(action), "{action} not audited");
    }
    server.terminate();
}

/// Incidents, a committee, a meeting and open action items: what a briefing pack tells.
fn seed_briefing(server: &TestServer, seeded: &[Seeded]) {
    let admin = server.token.clone();
    let (status, body) = send(
        server,
        &admin,
        "PUT",
        "/api/v1/committee",
        Some(json!({"members": members(seeded, false)})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        server,
        &admin,
        "POST",
        "/api/v1/committee/meetings",
        Some(json!({"date": "2026-01-14"})),
    );
    assert_eq!(status, 201, "{body}");
    let m = body["meeting"]["id"].as_str().unwrap().to_owned();
    send(
        server,
        &admin,
        "POST",
        &format!("/api/v1/committee/meetings/{m}/action-items"),
        Some(
            json!({"title": "Connect the HR feed to access control", "department": "facilities", "due": "2026-02-01"}),
        ),
    );
    send(
        server,
        &admin,
        "POST",
        &format!("/api/v1/committee/meetings/{m}/action-items"),
        Some(
            json!({"title": "Check the <script> in the door controller", "department": "it", "due": "2027-02-01"}),
        ),
    );
    for (title, severity, steps) in [
        (
            "Badge used after termination",
            "high",
            &["acknowledged", "contained", "resolved"][..],
        ),
        (
            "Ransomware note on a file server",
            "critical",
            &["acknowledged", "contained"][..],
        ),
        (
            "Phishing reported by staff",
            "medium",
            &["acknowledged", "resolved"][..],
        ),
    ] {
        let (_, v) = send(
            server,
            &admin,
            "POST",
            "/api/v1/incidents",
            Some(json!({"title": title, "severity": severity, "playbook": "generic"})),
        );
        let id = v["incident"]["id"].as_str().unwrap().to_owned();
        let mut version = v["incident"]["version"].as_u64().unwrap();
        for to in steps {
            let (status, v) = send(
                server,
                &admin,
                "PATCH",
                &format!("/api/v1/incidents/{id}"),
                Some(json!({"base_version": version, "status": to})),
            );
            assert_eq!(status, 200, "{v}");
            version = v["incident"]["version"].as_u64().unwrap();
        }
    }
    // A day later, every triage left open has breached its SLA.
    let at = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (status, body) = send(
        server,
        &admin,
        "POST",
        "/api/v1/incidents/sla-check",
        Some(json!({"at": at})),
    );
    assert_eq!(status, 200, "{body}");
}

fn get_raw(server: &TestServer, path: &str) -> (u16, String, Option<String>, Vec<u8>) {
    let mut resp = TestServer::agent()
        .get(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .call()
        .unwrap();
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (ctype, why) = (
        header("content-type").unwrap_or_default(),
        header("tandem-pdf-unavailable"),
    );
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.body_mut().as_reader(), &mut body).unwrap();
    (resp.status().as_u16(), ctype, why, body)
}

/// A greyscale page image as pdftoppm writes it (binary PGM): width, height, pixels.
fn read_pgm(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5", "{path:?}");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, bytes[i + 1..].to_vec())
}

#[test]
fn the_briefing_pack_prints_to_pdf_through_chromium_and_its_pages_show_the_pack() {
    for tool in ["pdftoppm", "pdftotext"] {
        assert!(
            Command::new(tool).arg("-v").output().is_ok(),
            "{tool} is not installed; scripts/test installs it (apt-get install poppler-utils)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let roles = ROLES.map(String::from);
    let (server, seeded) = start_with_accounts(dir.path(), &roles, &[]);
    seed_briefing(&server, &seeded);

    let (status, ctype, why, pdf) = get_raw(
        &server,
        "/api/v1/committee/briefing?format=pdf&from=now-30d",
    );
    assert_eq!(status, 200);
    assert_eq!(why, None, "Chromium did not print");
    assert_eq!(ctype, "application/pdf");
    assert!(pdf.starts_with(b"%PDF"));
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("pack.pdf");
    std::fs::write(&file, &pdf).unwrap();

    // What the pages say.
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Security committee briefing",
        "Next chair",
        &format!(
            "{} (Facilities) chairs the next meeting",
            user(&seeded, "responder:facilities").user
        ),
        "KPIs since the last meeting",
        "Median time to resolve (MTTR)",
        "Severity-weighted incident index per month",
        "Notable incidents",
        "Ransomware note on a file server",
        "a critical incident detected",
        "Badge used after termination",
        "SLA misses by department",
        "triage (3)",
        "Open action items",
        "Connect the HR feed to access",
        "overdue",
        "Exercises held",
        "Not yet available",
        "Compliance gaps",
        // Nothing measured on a new server: the controls with evidence lack it.
        "lack passing evidence",
        "A.5.24",
    ] {
        assert!(
            text.contains(needle),
            "the PDF does not say {needle:?}:\n{text}"
        );
    }
    // The medium incident is not notable.
    assert!(!text.contains("Phishing reported by staff"), "{text}");

    // What the pages look like: A4 pages with ink on them, the second starting at the
    // notable incidents (a page break of the print styles).
    let (shots, _temp) = shots_dir();
    let prefix = work.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-r", "50", "-gray"])
        .arg(&file)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let mut pages: Vec<PathBuf> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pgm"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 2, "{} pages", pages.len());
    for p in &pages {
        let (w, h, px) = read_pgm(p);
        // A4 portrait at 50 dpi: 413 × 585.
        assert!(
            (400..430).contains(&w) && (570..600).contains(&h),
            "{w}×{h}"
        );
        let dark = px.iter().filter(|&&v| v < 128).count();
        assert!(
            dark * 1000 > px.len(),
            "{p:?} is nearly blank ({dark} dark pixels)"
        );
    }
    let starts = (1..=pages.len()).find(|n| {
        let n = n.to_string();
        let page = Command::new("pdftotext")
            .args(["-f", &n, "-l", &n])
            .arg(&file)
            .arg("-")
            .output()
            .unwrap();
        String::from_utf8_lossy(&page.stdout)
            .trim_start()
            .starts_with("Notable incidents")
    });
    assert!(
        starts.is_some_and(|n| n > 1),
        "no page starts with the notable incidents"
    );
    // The images kept for the docs, in colour.
    let status = Command::new("pdftoppm")
        .args(["-r", "60", "-png"])
        .arg(&file)
        .arg(shots.join("briefing-page"))
        .status()
        .unwrap();
    assert!(status.success());
    let first = std::fs::read_dir(&shots)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("briefing-page-1")
        })
        .expect("the first page image");
    assert!(std::fs::read(first).unwrap().starts_with(b"\x89PNG"));

    // The command line writes the PDF the server printed.
    let cli_pdf = work.path().join("cli.pdf");
    let run = tandem()
        .env_remove("TANDEM_SCREENSHOTS")
        .args(["report", "briefing", "--out"])
        .arg(&cli_pdf)
        .args(["--url", &server.url, "--token", &server.token])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("Wrote the briefing pack to"));
    assert!(std::fs::read(&cli_pdf).unwrap().starts_with(b"%PDF"));

    // The printable page, asked for, is self-contained: styles inline, nothing to load.
    let (status, ctype, _, html) = get_raw(&server, "/api/v1/committee/briefing?format=html");
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/html"));
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("<style>") && html.contains("@media print"));
    assert!(html.contains("default-src 'none'"));
    // What people typed is text, never markup, in the page Chromium prints.
    assert!(
        html.contains("Check the &lt;script&gt; in the door controller"),
        "not escaped"
    );
    assert!(!html.contains("<script>"));
    let (status, _, _, body) = get_raw(&server, "/api/v1/committee/briefing?format=docx");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    server.terminate();
}

#[test]
fn without_chromium_the_pack_is_the_printable_page_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let roles = ROLES.map(String::from);
    let env = [("TANDEM_BRIEFING__CHROMIUM", "/nonexistent/chromium")];
    let (server, seeded) = start_with_accounts_env(dir.path(), &roles, &[], &env);
    seed_briefing(&server, &seeded);

    let (status, ctype, why, body) = get_raw(&server, "/api/v1/committee/briefing?format=pdf");
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let why = why.expect("the reason in Tandem-Pdf-Unavailable");
    assert!(why.contains("[briefing] chromium"), "{why}");
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("No PDF:") && html.contains("Security committee briefing"));

    // The command line writes the page beside the PDF asked for, and says so.
    let out_dir = tempfile::tempdir().unwrap();
    let pdf = out_dir.path().join("pack.pdf");
    let run = tandem()
        .env_remove("TANDEM_SCREENSHOTS")
        .args(["report", "briefing", "--from", "2026-01-01", "--out"])
        .arg(&pdf)
        .args(["--url", &server.url, "--token", &server.token])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("No PDF: the PDF is printed by headless Chromium"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("pack.html"), "{stdout}");
    assert!(!pdf.exists());
    let page = std::fs::read_to_string(out_dir.path().join("pack.html")).unwrap();
    assert!(
        page.contains("From 2026-01-01"),
        "{}",
        &page[..page.len().min(2000)]
    );
    server.terminate();
}
