//! The KPI dashboards in a real browser (headless Chromium): an auditor opens leadership's
//! dashboard with its SVG trends, follows a number to the incidents behind it, switches to
//! the SOC's; HR's head opens their department's. The leavers' access revocation, coverage,
//! risk per department and training are on the dashboards of the audiences that read them. Every page passes the in-page
//! accessibility check. With `TANDEM_SCREENSHOTS=1` the screenshots are written to
//! `docs/screenshots/kpis-*.png`; otherwise to a temporary directory.

mod support;
use support::shots::{shots_dir, sign_in, take};

use serde_json::{Value, json};
use support::{TestServer, start_with_accounts};
use tandem_testkit::Browser;

fn send(server: &TestServer, method: &str, path: &str, body: Value) -> Value {
    let agent = TestServer::agent();
    let url = format!("{}{path}", server.url);
    let auth = format!("Bearer {}", server.token);
    let mut resp = match method {
        "POST" => agent
            .post(&url)
            .header("Authorization", &auth)
            .send_json(body),
        _ => agent
            .patch(&url)
            .header("Authorization", &auth)
            .send_json(body),
    }
    .expect("request sent");
    assert!(resp.status().is_success(), "{method} {path}");
    resp.body_mut().read_json().unwrap()
}

fn incident(server: &TestServer, title: &str, severity: &str, playbook: &str, steps: &[&str]) {
    let v = send(
        server,
        "POST",
        "/api/v1/incidents",
        json!({"title": title, "severity": severity, "playbook": playbook}),
    );
    let id = v["incident"]["id"].as_str().unwrap().to_owned();
    let mut version = v["incident"]["version"].as_u64().unwrap();
    for to in steps {
        let v = send(
            server,
            "PATCH",
            &format!("/api/v1/incidents/{id}"),
            json!({"base_version": version, "status": to}),
        );
        version = v["incident"]["version"].as_u64().unwrap();
    }
}

/// An HR export with a leaver terminated two days ago whose badge was never revoked, and a
/// colleague who stays.
fn import_leaver(server: &TestServer) {
    let terminated = (chrono::Utc::now() - chrono::Duration::days(2)).date_naive();
    let csv = format!(
        "employee_number,name,username,department,hired,terminated,badge\n\
         E8001,Lars Leaver,lleaver,HR,2020-01-01,{terminated},80001\n\
         E8002,Hanne Stays,hstays,HR,2020-01-01,,80002\n"
    );
    let resp = TestServer::agent()
        .post(format!("{}/api/v1/directory/hr?file=hr.csv", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .header("Content-Type", "text/csv")
        .send(csv.as_bytes())
        .expect("request sent");
    assert!(resp.status().is_success());
}

#[test]
fn leadership_and_a_department_head_read_their_dashboards() {
    let dir = tempfile::tempdir().unwrap();
    let roles = ["auditor", "responder:hr"].map(String::from);
    let (server, seeded) = start_with_accounts(dir.path(), &roles, &["auditor", "responder:hr"]);
    incident(
        &server,
        "Malware on a laptop",
        "high",
        "generic",
        &["acknowledged", "contained", "resolved"],
    );
    incident(
        &server,
        "Phishing reported",
        "medium",
        "generic",
        &["acknowledged"],
    );
    incident(
        &server,
        "Badge used after termination",
        "medium",
        "terminated-access",
        &["in_progress"],
    );
    import_leaver(&server);
    let (shots, _temp) = shots_dir();

    let browser = Browser::start(&server.url);
    sign_in(
        &browser,
        &seeded[0].user,
        seeded[0].password.as_deref().unwrap(),
    );
    browser.goto("/kpis");
    browser.wait_for_heading("KPIs");
    browser.wait_for_text("Severity-weighted incident index");
    let charts = browser.execute(
        "return Array.from(document.querySelectorAll('svg.chart')).map(function (s) { return s.querySelector('title').textContent + '|' + s.querySelector('desc').textContent; });",
    );
    let charts: Vec<String> = charts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(charts.len(), 2, "{charts:?}");
    assert!(
        charts[0].starts_with("Severity-weighted incident index per month|"),
        "{charts:?}"
    );
    assert!(
        charts[0].contains(": 13"),
        "high 7 + medium 3 + medium 3: {charts:?}"
    );
    take(&browser, &shots, "kpis-leadership");

    // Leadership also reads the leavers' access revocation, coverage, risk per department and
    // training, each with its definition beside it.
    for heading in [
        "Access revocation",
        "Coverage",
        "Risk per department",
        "Training and policy acknowledgement",
        "Employee reports",
    ] {
        browser.wait_for_text(heading);
    }
    let leavers = browser.execute("return document.getElementById('kpi-leavers').textContent;");
    assert_eq!(leavers, "1");
    let open = browser.execute("return document.getElementById('kpi-leavers-open').textContent;");
    assert_eq!(open, "1", "the leaver's badge and login are still active");
    let row = browser.execute("return document.querySelector('#leavers tbody tr').textContent;");
    let row = row.as_str().unwrap();
    assert!(
        row.contains("Lars Leaver") && row.contains("still active"),
        "{row}"
    );
    browser.execute("document.getElementById('table-leavers').scrollIntoView();");
    take(&browser, &shots, "kpis-leavers");
    browser.execute("window.scrollTo(0, 0);");

    // The count links to the incidents behind it.
    browser.click_css("#kpi-incidents");
    browser.wait_for_heading("Incidents behind the figures: all counted incidents");
    let text = browser.text();
    assert!(
        text.contains("Malware on a laptop") && text.contains("Badge used after termination"),
        "{text}"
    );
    take(&browser, &shots, "kpis-incidents");

    browser.goto("/kpis?for=soc");
    browser.wait_for_heading("KPIs");
    browser.wait_for_text("By incident type");
    take(&browser, &shots, "kpis-soc");
    drop(browser);

    let browser = Browser::start(&server.url);
    sign_in(
        &browser,
        &seeded[1].user,
        seeded[1].password.as_deref().unwrap(),
    );
    browser.goto("/kpis");
    browser.wait_for_heading("KPIs");
    browser.wait_for_text("Incidents with a task for HR");
    browser.wait_for_text("SLA compliance");
    let count = browser.execute("return document.getElementById('kpi-incidents').textContent;");
    assert_eq!(
        count, "1",
        "HR's head counts the incident with an HR task only"
    );
    browser.wait_for_text("Risk per department");
    browser.wait_for_text("Training and policy acknowledgement");
    let text = browser.text();
    assert!(text.contains("Lars Leaver"), "HR's head sees HR's leaver");
    take(&browser, &shots, "kpis-department");
}
