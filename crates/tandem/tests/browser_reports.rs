//! Employees' reports in a real browser (headless Chromium): an employee who is not signed
//! in reports a phishing mail (a real sample from a public corpus) on `/report` from a
//! phone-sized window, keeps the tracking link, and later answers the security team's
//! question there; the analyst reads the mail as text in the console (links defanged, the
//! reporter's markup shown as text), asks, and closes the report with a thank-you the
//! reporter then reads. Every page passes the in-page accessibility check. With
//! `TANDEM_SCREENSHOTS=1` the screenshots are written to `docs/screenshots/report-*.png`.

mod support;
use support::shots::{shots_dir, take};

use std::path::PathBuf;
use support::start_with_accounts_env;
use tandem_testkit::Browser;

const FIXTURE: &str = "../tandem-mail/tests/fixtures/phishing-pot-sample-1.eml";

#[test]
fn an_anonymous_phishing_report_is_asked_about_answered_and_closed_with_a_thank_you() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // A person needs a second to fill the form; a bot sends it at once.
    let env = [("TANDEM_REPORTS__MIN_FILL_SECONDS", "1")];
    let (server, _) = start_with_accounts_env(&data, &[], &[], &env);
    let password = server
        .admin_password
        .clone()
        .expect("first start printed a password");
    let (shots, _keep) = shots_dir();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE)
        .canonicalize()
        .unwrap();

    let browser = Browser::start(&server.url);
    browser.execute("window.resizeTo(420, 900); return 1;");
    browser.goto("/report");
    browser.wait_for_heading("Report something suspicious");
    assert!(browser.text().contains("this report is anonymous"));
    browser.click_css("#kind-phishing");
    browser.type_keys("eml", fixture.to_str().unwrap());
    browser.fill(
        "Tell us briefly what happened",
        "<script>alert('x')</script> This looks like our bank but the link is odd.",
    );
    take(&browser, &shots, "report-form");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    browser.click_button("Send the report");
    browser.wait_for_heading("Your report RPT-1");
    assert!(browser.text().contains("Thank you, your report was sent"));
    let tracking = browser.path();
    assert!(tracking.starts_with("/report/track/"), "{tracking}");
    // The link to keep, without the "just sent" note.
    let tracking = tracking.split('?').next().unwrap().to_owned();
    take(&browser, &shots, "report-tracking");

    // The alert is in the queue with the mail's subject.
    let (_, alerts) = server.get("/api/v1/alerts", &[]);
    let alert = &alerts["alerts"][0];
    assert!(
        alert["title"]
            .as_str()
            .unwrap()
            .contains("92.990 pontos LIVELO"),
        "{alert}"
    );
    assert!(
        alert["summary"]
            .as_str()
            .unwrap()
            .starts_with("Reported anonymously")
    );

    // The analyst reads the mail as text and asks the reporter a question.
    browser.goto("/login");
    browser.fill("User name", "admin");
    browser.fill("Password", &password);
    browser.click_button("Sign in");
    browser.goto("/reports");
    browser.wait_for_heading("Reports from employees");
    browser.click_link("RPT-1");
    browser.wait_for_heading("RPT-1: A suspicious e-mail (phishing)");
    let page = browser.text();
    assert!(
        page.contains("hxxps://blog1seguimentmydomaine2bra[.]me/"),
        "{page}"
    );
    assert!(page.contains("banco.bradesco@atendimento.com.br"));
    assert!(page.contains("temperror"));
    // The reporter's markup is shown as text, never run.
    assert!(page.contains("<script>alert('x')</script>"));
    take(&browser, &shots, "report-console");
    // From the alert to the reports behind it, and back.
    browser.click_link("ALR-1");
    browser.wait_for_text("The employees' reports behind it (1)");
    browser.click_link("The employees' reports behind it (1)");
    browser.wait_for_text("The reports of alert ALR-1: 1.");
    browser.assert_accessible();
    browser.click_link("RPT-1");
    browser.wait_for_heading("RPT-1: A suspicious e-mail (phishing)");
    browser.fill(
        "Ask the reporter",
        "Did you click the link or type your password?",
    );
    browser.click_button("Send the question");
    browser.wait_for_text("Did you click the link or type your password?");

    // The reporter answers on the tracking page.
    browser.goto(&tracking);
    browser.wait_for_text("Did you click the link or type your password?");
    assert!(browser.text().contains("Being looked into"));
    browser.fill("Your answer", "No, I only opened the mail.");
    browser.click_button("Send");
    browser.wait_for_text("No, I only opened the mail.");
    take(&browser, &shots, "report-answer");

    // The analyst closes it with the thank-you, edited from the template.
    browser.goto("/reports/RPT-1");
    browser.wait_for_text("No, I only opened the mail.");
    browser.fill(
        "What the reporter reads (edit it: say the outcome in plain words)",
        "Thank you! It was phishing. We blocked the sender and removed the mail from 14 other inboxes.",
    );
    browser.click_button("Close the report");
    browser.wait_for_text("What the reporter was told");

    browser.goto(&tracking);
    browser.wait_for_text("We blocked the sender and removed the mail from 14 other inboxes.");
    assert!(browser.text().contains("Closed"));
    assert!(
        !browser.text().contains("Your answer"),
        "a closed report takes no answers"
    );
    take(&browser, &shots, "report-thank-you");

    // Every step is in the audit log; the anonymous one names no address.
    let (_, audit) = server.get("/api/v1/audit", &[("limit", "50")]);
    let text = audit.to_string();
    for action in [
        "report.filed",
        "report.asked",
        "report.answered",
        "report.closed",
    ] {
        assert!(text.contains(action), "{action} missing from {text}");
    }
    let filed = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "report.filed")
        .unwrap();
    assert_eq!(filed["actor"], "anonymous reporter");
    assert!(!filed.to_string().contains("127.0.0.1"), "{filed}");
}

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E2000,Bjørn Lie,bjorn.lie@nordlys.example,user-responder-finance,Finance,,Controller,osl,2020-01-01,,20002
";

#[test]
fn a_signed_in_employee_reports_a_lost_badge_and_suspends_it_after_confirming() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // The access-control system the badge-suspension action talks to.
    let receiver = support::receiver::Receiver::start();
    // The mail relay the thank-you goes through.
    let smtp = support::smtp::Smtp::start(dir.path());
    let config = dir.path().join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            "[reports]\nmin_fill_seconds = 1\nemail_channel = \"mail\"\n\n\
             [actions]\nretry_base_seconds = 1\n\n\
             [[actions.connections]]\nname = \"access-control\"\nbase_url = \"{}/acs\"\n\n\
             [notify.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"Tandem <tandem@nordlys.example>\"\n\n\
             [[notify.channels]]\nname = \"mail\"\nkind = \"email\"\nto = [\"soc@nordlys.example\"]\n",
            receiver.url, smtp.port
        ),
    )
    .unwrap();
    let env = [("TANDEM_CONFIG", config.to_str().unwrap())];
    let roles = ["responder:finance".to_owned()];
    let (server, seeded) = start_with_accounts_env(&data, &roles, &["responder:finance"], &env);
    assert_eq!(server.post("/api/v1/directory/hr?file=hr.csv", HR).0, 200);
    let me = &seeded[0];
    let (shots, _keep) = shots_dir();

    let browser = Browser::start(&server.url);
    browser.goto("/login");
    browser.fill("User name", &me.user);
    browser.fill("Password", me.password.as_deref().unwrap());
    browser.click_button("Sign in");
    browser.wait_until("signed in", |b| b.path() != "/login");
    browser.goto("/report");
    browser.wait_for_heading("Report something suspicious");
    assert!(
        browser
            .text()
            .contains(&format!("You are signed in as {}", me.user))
    );
    browser.click_css("#kind-lost_badge");
    browser.fill(
        "Tell us briefly what happened",
        "Lost it on the tram this morning.",
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    browser.click_button("Send the report");
    browser.wait_for_heading("Your report RPT-1");
    let tracking = browser.path().split('?').next().unwrap().to_owned();

    // Nothing is sent before the holder confirms.
    browser.click_button("Suspend my badge");
    browser.wait_for_heading("Your report RPT-1");
    browser.wait_for_text("Suspend your badge?");
    take(&browser, &shots, "report-badge-confirm");
    assert!(receiver.requests().is_empty());
    browser.click_button("Yes, suspend my badge");
    browser.wait_for_text("no longer opens doors");
    take(&browser, &shots, "report-badge-suspended");
    let sent = receiver.wait_for(1, std::time::Duration::from_secs(30));
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].path, "/acs/badges/20002/suspend");
    // Only once, however often the page is opened again.
    browser.goto(&tracking);
    assert!(!browser.text().contains("Suspend my badge"));

    // The alert names the reporter's department and site; the suspension is logged.
    let (_, alerts) = server.get("/api/v1/alerts", &[]);
    let summary = alerts["alerts"][0]["summary"].as_str().unwrap().to_owned();
    assert!(
        summary.contains("Reported by user-responder-finance, Finance"),
        "{summary}"
    );
    let (_, audit) = server.get("/api/v1/audit", &[("limit", "50")]);
    assert!(
        audit.to_string().contains("report.badge_suspended"),
        "{audit}"
    );

    // Closed by the security team: the reporter is known, so the thank-you is e-mailed too.
    browser.goto("/");
    browser.click_button("Sign out");
    browser.wait_for_heading("Sign in to Tandem");
    browser.fill("User name", "admin");
    browser.fill("Password", server.admin_password.as_deref().unwrap());
    browser.click_button("Sign in");
    browser.goto("/reports/RPT-1");
    browser.wait_for_heading("RPT-1: My badge is lost or stolen");
    browser.fill(
        "What the reporter reads (edit it: say the outcome in plain words)",
        "Thank you, Bjørn. Your old badge is blocked; a new one is waiting at the front desk.",
    );
    browser.click_button("Close the report");
    browser.wait_for_text("What the reporter was told");
    let mails = smtp.wait_for(1, std::time::Duration::from_secs(30));
    let mail = &mails[0];
    assert_eq!(mail["to"], "bjorn.lie@nordlys.example", "{mail}");
    assert_eq!(mail["subject"], "Your report RPT-1: thank you");
    assert!(
        mail["parts"]["text/plain"]
            .as_str()
            .unwrap()
            .contains("a new one is waiting at the front desk"),
        "{mail}"
    );
}
