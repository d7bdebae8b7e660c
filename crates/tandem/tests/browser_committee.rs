//! The security committee in a real browser (headless Chromium): HR's head, whose turn it is
//! to chair, records a meeting, a decision and an action item for Facilities; the committee
//! page names Facilities' head as the next chair; the briefing pack opens as a printable
//! page; an auditor reads it all, is offered no form, and finds the meeting's item on the
//! action items list beside a review's. Every page passes the in-page accessibility check. With
//! `TANDEM_SCREENSHOTS=1` the screenshots are written to `docs/screenshots/committee*.png`;
//! otherwise to a temporary directory.

mod support;
use support::shots::{shots_dir, sign_in, take};

use serde_json::{Value, json};
use support::{TestServer, start_with_accounts};
use tandem_testkit::Browser;

fn send(server: &TestServer, method: &str, path: &str, body: Value) -> Value {
    let (status, v) = server.send_json(method, path, &body);
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {v}"
    );
    v
}

#[test]
fn the_chair_records_a_meeting_and_its_action_item_joins_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let roles = ["responder:hr", "responder:facilities", "auditor"].map(String::from);
    let (server, seeded) = start_with_accounts(dir.path(), &roles, &["responder:hr", "auditor"]);
    let (hr, facilities, auditor) = (&seeded[0], &seeded[1], &seeded[2]);
    send(
        &server,
        "PUT",
        "/api/v1/committee",
        json!({"members": [
            {"account": hr.user, "department": "hr"},
            {"account": facilities.user, "department": "facilities"},
        ]}),
    );
    let inc = send(
        &server,
        "POST",
        "/api/v1/incidents",
        json!({"title": "Tailgating at the loading dock", "severity": "medium", "playbook": "generic"}),
    );
    let id = inc["incident"]["id"].as_str().unwrap();
    send(
        &server,
        "PUT",
        &format!("/api/v1/incidents/{id}/review"),
        json!({"summary": "A visitor followed staff in.", "action_items": [{"title": "Fit a turnstile", "department": "facilities", "due": "2027-03-01"}]}),
    );
    let (shots, _temp) = shots_dir();

    let browser = Browser::start(&server.url);
    sign_in(&browser, &hr.user, hr.password.as_deref().unwrap());
    browser.click_link("Committee");
    browser.wait_for_heading("Security committee");
    browser.wait_for_text(&format!("{} (HR) chairs the next meeting", hr.user));
    browser.assert_accessible();

    browser.fill("Date", "2026-11-30");
    browser.fill(
        "Notes",
        "Reviewed the quarter. Badge revocation is still manual.",
    );
    browser.click_button("Add meeting");
    browser.wait_for_text("MTG-1 Security committee, 2026-11-30");
    browser.fill(
        "Decision",
        "Badges are revoked from the HR feed, not by hand",
    );
    browser.click_button("Record decision");
    browser.wait_for_text("Badges are revoked from the HR feed, not by hand");
    browser.fill("Action item", "Connect the HR feed to access control");
    browser.fill("Owner", "Facilities");
    browser.fill("Due", "2026-12-01");
    browser.click_button("Add action item");
    browser.wait_for_text("Connect the HR feed to access control");
    assert!(browser.text().contains("late"), "{}", browser.text());
    take(&browser, &shots, "committee-meeting");

    // The rotation moved on; the meeting's open item is on the committee's page.
    browser.goto("/committee");
    browser.wait_for_text(&format!(
        "{} (Facilities) chairs the next meeting",
        facilities.user
    ));
    assert!(!browser.text().contains("No open action items"));
    take(&browser, &shots, "committee");

    browser.click_button("Printable page");
    browser.wait_for_heading("Security committee briefing");
    browser.wait_for_text("Connect the HR feed to access control");
    browser.wait_for_text(&format!(
        "{} (Facilities) chairs the next meeting",
        facilities.user
    ));
    take(&browser, &shots, "committee-briefing");

    // An auditor reads the committee and is offered nothing to change.
    browser.goto("/committee");
    browser.click_button("Sign out");
    sign_in(
        &browser,
        &auditor.user,
        auditor.password.as_deref().unwrap(),
    );
    browser.goto("/committee/meetings/MTG-1");
    browser.wait_for_text("Badges are revoked from the HR feed, not by hand");
    let text = browser.text();
    for absent in ["Record decision", "Add action item"] {
        assert!(!text.contains(absent), "the auditor is offered {absent:?}");
    }
    browser.goto("/committee");
    browser.wait_for_heading("Security committee");
    let text = browser.text();
    for absent in ["Add meeting", "Add member", "Close"] {
        assert!(!text.contains(absent), "the auditor is offered {absent:?}");
    }
    browser.assert_accessible();

    // The same tracker as the reviews' (the auditor sees every department's): both items, soonest due first, each with its source.
    browser.goto("/action-items");
    browser.wait_for_heading("Action items");
    let rows = browser.execute(
        "return Array.from(document.querySelectorAll('table.action-items tbody tr')).map(function (r) { return Array.from(r.cells).map(function (c) { return c.textContent.replace(/\\s+/g, ' ').trim(); }).join(' | '); });",
    );
    let rows: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].starts_with(
            "Connect the HR feed to access control | Facilities | 2026-12-01 late | open |"
        ) && rows[0].contains("MTG-1"),
        "{rows:?}"
    );
    assert!(
        rows[1].starts_with("Fit a turnstile | Facilities | 2027-03-01 | open |")
            && rows[1].contains(id),
        "{rows:?}"
    );
    take(&browser, &shots, "committee-action-items");

    server.terminate();
}
