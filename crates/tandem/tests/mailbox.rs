//! The report-phishing mailbox in a real `tandem serve`: configured in `tandem.toml`, polled
//! over implicit TLS against a real Dovecot (`tandem_testkit::Dovecot`), its password read
//! from a file. A forward is filed as a phishing report from the employee who forwarded it,
//! and only then marked seen, so the next poll files nothing twice.

mod support;

use std::time::{Duration, Instant};
use support::TestServer;
use tandem_testkit::Dovecot;

#[test]
fn serve_files_a_forward_from_the_mailbox_over_tls_as_a_report_from_its_forwarder() {
    let dovecot = Dovecot::start();
    let forward = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tandem-mail/tests/fixtures/outlook-report-message.eml"),
    )
    .unwrap();
    dovecot.deliver(&forward);
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("mailbox.pass");
    std::fs::write(&pass, format!("{}\n", Dovecot::PASSWORD)).unwrap();
    std::fs::write(
        dir.path().join("tandem.toml"),
        format!(
            "[reports.mailbox]\nhost = \"127.0.0.1\"\nport = {port}\nca_file = \"{ca}\"\n\
             username = \"{user}\"\npassword_file = \"{pass}\"\npoll_seconds = 1\nmax_attempts = 2\n",
            port = dovecot.tls_port,
            ca = dovecot.ca_file().display(),
            user = Dovecot::USER,
            pass = pass.display(),
        ),
    )
    .unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);

    // Filed, then marked seen; never flagged for a person.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let inbox = dovecot.messages("INBOX");
        assert_eq!(inbox.len(), 1);
        assert!(!inbox[0].flagged(), "{:?}", inbox[0].flags);
        if inbox[0].seen() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the mailbox was not polled:\n{}",
            dovecot.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = dovecot.log();
    assert!(
        log.contains(&format!("Login: user=<{}>", Dovecot::USER)) && log.contains("TLS"),
        "{log}"
    );

    // The console's reports list the forward, from the employee who forwarded it, about the
    // original's lure (not the forward's "FW:").
    let page = server.admin_console().get("/reports");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .to_lowercase()
            .contains("kari.nordmann@nordlys.example"),
        "{}",
        page.body
    );
    assert!(page.body.contains("RPT-"), "{}", page.body);
    drop(server);
}
