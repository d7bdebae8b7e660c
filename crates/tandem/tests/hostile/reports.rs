//! Hostile use of the public report page: bots (the honeypot field, a form sent back at
//! once), floods (the hourly limit per address), an oversized upload, a malformed mail, a
//! guessed tracking link, and what an anonymous report must not keep (the reporter's
//! address). A phishing drill is credited and kept out of the alert counts.

use crate::support::TestServer;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// The report form's hidden token, as a browser gets it.
fn form_token(server: &TestServer) -> String {
    let mut resp = agent()
        .get(format!("{}/report", server.url))
        .call()
        .unwrap();
    let html = resp.body_mut().read_to_string().unwrap();
    let at = html
        .find("name=\"form_token\" value=\"")
        .expect("the form has a token")
        + 25;
    html[at..].split('"').next().unwrap().to_owned()
}

/// Sends the report form as a browser would (multipart), with the `.eml` when given.
fn file(server: &TestServer, fields: &[(&str, &str)], eml: Option<&[u8]>) -> (u16, String, String) {
    let boundary = "----tandem-test-boundary";
    let mut body: Vec<u8> = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some(eml) = eml {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"eml\"; filename=\"m.eml\"\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(eml);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut resp = agent()
        .post(format!("{}/report", server.url))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..])
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, location, text)
}

fn wait_to_look_human() {
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

fn page(server: &TestServer, path: &str) -> (u16, String) {
    let mut resp = agent()
        .get(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .call()
        .unwrap();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap(),
    )
}

fn alert_total(server: &TestServer) -> u64 {
    server.get("/api/v1/alerts", &[]).1["total"]
        .as_u64()
        .unwrap()
}

#[test]
fn bots_are_turned_away_and_a_malformed_mail_is_still_filed_without_the_reporters_address() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("TANDEM_REPORTS__MIN_FILL_SECONDS", "1")];
    let server = TestServer::start(&dir.path().join("data"), None, &env);

    // Sent back at once: a bot.
    let token = form_token(&server);
    let fields = [
        ("kind", "other"),
        ("description", "x"),
        ("form_token", token.as_str()),
    ];
    let (status, _, text) = file(&server, &fields, None);
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("sent too quickly"));
    // The honeypot filled: a bot, however patient.
    wait_to_look_human();
    let honeypot = [
        ("kind", "other"),
        ("description", "x"),
        ("website", "http://spam.example"),
        ("form_token", token.as_str()),
    ];
    assert_eq!(file(&server, &honeypot, None).0, 422);
    // A forged token.
    let forged = [
        ("kind", "other"),
        ("description", "x"),
        ("form_token", "1000.00"),
    ];
    assert_eq!(file(&server, &forged, None).0, 422);
    assert_eq!(alert_total(&server), 0, "no bot's report became an alert");

    // A person: a mail that is not a mail, with markup in the description.
    let fields = [
        ("kind", "phishing"),
        ("description", "<img src=x onerror=alert(1)>odd mail"),
        ("form_token", token.as_str()),
    ];
    let (status, location, text) = file(
        &server,
        &fields,
        Some(b"\xff\xfe\x00garbage https://evil.example/x"),
    );
    assert_eq!(status, 303, "{text}");
    assert!(location.starts_with("/report/track/"), "{location}");
    assert_eq!(alert_total(&server), 1);
    let (_, html) = page(&server, "/reports/RPT-1");
    // The templates escape `/` too.
    let html = html.replace("&#x2f;", "/");
    assert!(html.contains("could not be read as an e-mail"), "{html}");
    assert!(html.contains("hxxps://evil[.]example/x"));
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;odd mail"),
        "markup shown as text"
    );
    assert!(!html.contains("<img src=x"));
    // Nothing that identifies the reporter: not in the report, not in the audit log.
    assert!(!html.contains("127.0.0.1"));
    let audit = server
        .get("/api/v1/audit", &[("limit", "20")])
        .1
        .to_string();
    assert!(audit.contains("report.filed"));
    assert!(!audit.contains("127.0.0.1"), "{audit}");

    // A guessed tracking link opens nothing.
    let (status, _) = page(
        &server,
        "/report/track/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    assert_eq!(status, 404);
}

#[test]
fn an_upload_over_the_limit_is_refused_with_the_limit_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TANDEM_REPORTS__MIN_FILL_SECONDS", "1"),
        ("TANDEM_REPORTS__MAX_UPLOAD_MIB", "1"),
    ];
    let server = TestServer::start(&dir.path().join("data"), None, &env);
    let token = form_token(&server);
    wait_to_look_human();
    let big = vec![b'a'; 2 * 1024 * 1024];
    let fields = [("kind", "phishing"), ("form_token", token.as_str())];
    let (status, _, text) = file(&server, &fields, Some(&big));
    assert_eq!(status, 413);
    assert!(
        text.contains("The upload is too large: at most 1 MB"),
        "{text}"
    );
    assert_eq!(alert_total(&server), 0);
}

#[test]
fn reports_from_one_address_are_limited_per_hour() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TANDEM_REPORTS__MIN_FILL_SECONDS", "1"),
        ("TANDEM_REPORTS__PER_ADDRESS_PER_HOUR", "2"),
    ];
    let server = TestServer::start(&dir.path().join("data"), None, &env);
    let token = form_token(&server);
    wait_to_look_human();
    let fields = [
        ("kind", "other"),
        ("description", "a light left on"),
        ("form_token", token.as_str()),
    ];
    assert_eq!(file(&server, &fields, None).0, 303);
    assert_eq!(file(&server, &fields, None).0, 303);
    let (status, _, text) = file(&server, &fields, None);
    assert_eq!(status, 429);
    assert!(text.contains("Many reports came from here in the last hour"));
    assert_eq!(alert_total(&server), 2);
}

#[test]
fn a_spotted_drill_is_credited_and_kept_out_of_the_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TANDEM_REPORTS__MIN_FILL_SECONDS", "1"),
        (
            "TANDEM_REPORTS__SIMULATION_SENDER_DOMAINS",
            "[\"drill.nordlys.example\"]",
        ),
    ];
    let server = TestServer::start(&dir.path().join("data"), None, &env);
    let token = form_token(&server);
    wait_to_look_human();
    let drill = b"From: IT Service Desk <it@drill.nordlys.example>\r\nSubject: Your mailbox is full\r\n\r\nClick https://drill.nordlys.example/t/42\r\n";
    let fields = [("kind", "phishing"), ("form_token", token.as_str())];
    let (status, location, _) = file(&server, &fields, Some(drill));
    assert_eq!(status, 303);
    let mut resp = agent()
        .get(format!("{}{location}", server.url))
        .call()
        .unwrap();
    let html = resp.body_mut().read_to_string().unwrap();
    assert!(html.contains("Well spotted: this was a drill."), "{html}");
    assert!(html.contains("Closed"));
    assert_eq!(alert_total(&server), 0, "a drill is no real alert");
    let (_, list) = page(&server, "/reports");
    assert!(list.contains("0 reports, and 1 drills spotted"), "{list}");
}
