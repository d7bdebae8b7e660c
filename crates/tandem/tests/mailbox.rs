//! The report-phishing mailbox in a real `tandem serve`: configured in `tandem.toml`, polled
//! over implicit TLS against a real Dovecot (`tandem_testkit::Dovecot`), its password read
//! from a file. Until report intake is part of the server, a forward is read and logged but
//! nothing is filed: the message stays unseen and is flagged after `max_attempts`.

mod support;

use std::time::{Duration, Instant};
use support::TestServer;
use tandem_testkit::Dovecot;

#[test]
fn serve_polls_the_configured_mailbox_over_tls_and_marks_nothing_it_did_not_file() {
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
            "[report_mailbox]\nhost = \"127.0.0.1\"\nport = {port}\nca_file = \"{ca}\"\n\
             username = \"{user}\"\npassword_file = \"{pass}\"\npoll_seconds = 1\nmax_attempts = 2\n",
            port = dovecot.tls_port,
            ca = dovecot.ca_file().display(),
            user = Dovecot::USER,
            pass = pass.display(),
        ),
    )
    .unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);

    // Two polls: read twice, filed by neither, so flagged for a person and never seen.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let inbox = dovecot.messages("INBOX");
        assert_eq!(inbox.len(), 1);
        assert!(!inbox[0].seen(), "{:?}", inbox[0].flags);
        if inbox[0].flagged() {
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
    drop(server);
}
