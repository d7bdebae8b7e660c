//! The compliance pages in a real browser (headless Chromium): an administrator runs the
//! evidence, reads the gaps and records a control as not applicable with its reason; an
//! auditor reads the same pages with no form to change anything, and the export link. Every
//! page passes the in-page accessibility check. With `TANDEM_SCREENSHOTS=1` the screenshots
//! are written to `docs/screenshots/compliance-*.png`; otherwise to a temporary directory.

mod support;
use support::shots::{shots_dir, sign_in, take};

use support::start_with_accounts;
use tandem_testkit::Browser;

fn exists(browser: &Browser, selector: &str) -> bool {
    let selector = serde_json::to_string(selector).unwrap();
    browser.execute(&format!(
        "return document.querySelector({selector}) !== null;"
    )) == true
}

#[test]
fn an_administrator_acts_on_the_gaps_and_an_auditor_only_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let roles = ["admin", "auditor"].map(String::from);
    let (server, seeded) = start_with_accounts(dir.path(), &roles, &["admin", "auditor"]);
    let (shots, _temp) = shots_dir();

    let browser = Browser::start(&server.url);
    sign_in(
        &browser,
        &seeded[0].user,
        seeded[0].password.as_deref().unwrap(),
    );
    browser.goto("/compliance");
    browser.wait_for_heading("Compliance");
    // Nothing measured yet: every control with evidence is missing it.
    browser.wait_for_text("0 evidenced");
    browser.click_button("Run all evidence now");
    // Every evidence definition is measured before the page answers: on a busy machine that
    // takes longer than one browser step.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(browser
        .text()
        .contains("Access revoked in time for leavers")
        && browser.text().contains("unavailable"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the evidence has not run: {}",
            browser.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The syslog source registered at start has sent nothing: logging shows as failing.
    let a815 = browser.execute("return document.getElementById('control-A.8.15').className;");
    assert_eq!(a815, "state-failing");
    take(&browser, &shots, "compliance-gaps");

    browser.goto("/compliance/controls/A.8.28?framework=iso27001-2022");
    browser.wait_for_heading("A.8.28 Secure coding");
    browser.fill("Applicable", "No");
    browser.fill("Justification", "No software is developed in house.");
    browser.fill("Owner", "IT");
    browser.fill("Status", "Implemented");
    browser.click_button("Save");
    browser.wait_for_text("Saved.");
    browser.wait_for_text("Not applicable");
    take(&browser, &shots, "compliance-control-admin");

    browser.goto("/compliance/controls/A.7.4?framework=iso27001-2022");
    browser.wait_for_heading("A.7.4 Physical security monitoring");
    browser.click_button("Run this control's evidence now");
    browser.wait_for_text("Evidence measured now.");
    let rows = browser.execute("return document.querySelectorAll('#history tbody tr').length;");
    assert_eq!(rows, 4, "two pieces of evidence, measured twice");
    take(&browser, &shots, "compliance-control-evidence");
    drop(browser);

    let browser = Browser::start(&server.url);
    sign_in(
        &browser,
        &seeded[1].user,
        seeded[1].password.as_deref().unwrap(),
    );
    browser.goto("/compliance");
    browser.wait_for_heading("Compliance");
    assert!(!exists(&browser, "#run-all"), "an auditor runs nothing");
    assert!(exists(&browser, "a[href^='/api/v1/compliance/export']"));
    browser.fill("Show", "Not applicable");
    browser.click_button("Show");
    browser.wait_for_text("A.8.28");
    take(&browser, &shots, "compliance-auditor");

    browser.goto("/compliance/controls/A.8.28?framework=iso27001-2022");
    browser.wait_for_heading("A.8.28 Secure coding");
    browser.wait_for_text("No software is developed in house.");
    assert!(!exists(&browser, "#soa-form"), "no form for an auditor");
    assert!(!exists(&browser, "#run-control"));
    take(&browser, &shots, "compliance-control-auditor");
}
