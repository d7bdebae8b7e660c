//! The report-phishing mailbox against a real Dovecot IMAP server on loopback
//! (`tandem_testkit::Dovecot`), over implicit TLS, STARTTLS and plain TCP.
//!
//! Fixtures (`tests/fixtures/`), written for these tests in the shape the clients produce:
//! `outlook-report-message.eml` is what Outlook's "Report message" / "Forward as attachment"
//! sends (the original attached as `message/rfc822`), its original being
//! `phish-original.eml`; `gmail-inline-forward.eml` is Gmail's inline "Forward".

use std::path::PathBuf;
use std::time::Duration;

use tandem_mail::forwarded::{Forwarded, HowForwarded};
use tandem_mail::imap::{Mailbox, MailboxError, MailboxSettings, Outcome, Security};
use tandem_testkit::Dovecot;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn settings(dovecot: &Dovecot, security: Security) -> MailboxSettings {
    MailboxSettings {
        host: "127.0.0.1".into(),
        port: match security {
            Security::Tls => dovecot.tls_port,
            _ => dovecot.port,
        },
        security,
        username: Dovecot::USER.into(),
        password: Dovecot::PASSWORD.into(),
        folder: "INBOX".into(),
        processed_folder: None,
        ca_file: Some(dovecot.ca_file()),
        max_message_bytes: 25 * 1024 * 1024,
        max_per_poll: 50,
        max_attempts: 3,
        timeout: Duration::from_secs(30),
    }
}

/// Polls once, filing every message as report `R<n>` and keeping what was filed.
async fn poll_filing(
    mailbox: &mut Mailbox,
    filed: &mut Vec<Forwarded>,
) -> tandem_mail::imap::PollReport {
    mailbox
        .poll(|f: Forwarded| {
            filed.push(f);
            Ok::<_, String>(format!("R{}", filed.len()))
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attached_original_is_filed_byte_for_byte_from_its_forwarder_and_only_once() {
    let dovecot = Dovecot::start();
    dovecot.deliver(&fixture("outlook-report-message.eml"));
    let mut mailbox = Mailbox::new(settings(&dovecot, Security::Tls)).unwrap();
    let mut filed = Vec::new();

    let report = poll_filing(&mut mailbox, &mut filed).await;
    assert_eq!(report.filed(), 1, "{report:?}\n{}", dovecot.log());
    assert_eq!(filed.len(), 1);
    assert_eq!(filed[0].forwarder, "kari.nordmann@nordlys.example");
    assert_eq!(filed[0].how, HowForwarded::Attached);
    assert!(
        filed[0].original == fixture("phish-original.eml"),
        "the original differs:\n{}",
        String::from_utf8_lossy(&filed[0].original)
    );
    match &report.handled[0].outcome {
        Outcome::Filed { report, .. } => assert_eq!(report, "R1"),
        other => panic!("{other:?}"),
    }
    let inbox = dovecot.messages("INBOX");
    assert_eq!(inbox.len(), 1);
    assert!(
        inbox[0].seen() && !inbox[0].flagged(),
        "{:?}",
        inbox[0].flags
    );

    // As after a restart: a new client, the same mailbox. Nothing is filed twice.
    let mut again = Mailbox::new(settings(&dovecot, Security::Tls)).unwrap();
    let report = poll_filing(&mut again, &mut filed).await;
    assert!(report.handled.is_empty(), "{report:?}");
    assert_eq!(filed.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inline_forward_is_filed_over_starttls_and_moved_to_the_processed_folder() {
    let dovecot = Dovecot::start();
    dovecot.deliver(&fixture("gmail-inline-forward.eml"));
    let mut s = settings(&dovecot, Security::StartTls);
    s.processed_folder = Some("Processed".into());
    let mut mailbox = Mailbox::new(s).unwrap();
    let mut filed = Vec::new();

    let report = poll_filing(&mut mailbox, &mut filed).await;
    assert_eq!(report.filed(), 1, "{report:?}\n{}", dovecot.log());
    let f = &filed[0];
    assert_eq!(f.forwarder, "ola.hansen@nordlys.example");
    assert_eq!(f.how, HowForwarded::Inline);
    let original = String::from_utf8(f.original.clone()).unwrap();
    assert!(
        original.starts_with("From: Fjord Supply AS <accounts@fjord-supply-invoices.example>\r\n"),
        "{original}"
    );
    assert!(
        original.contains("Subject: Updated bank details for December invoice\r\n"),
        "{original}"
    );
    assert!(
        original.contains("https://fjord-supply-invoices.example/pay/2026-1187"),
        "{original}"
    );

    assert!(dovecot.messages("INBOX").is_empty());
    let processed = dovecot.messages("Processed");
    assert_eq!(processed.len(), 1);
    assert!(processed[0].seen());
    let report = poll_filing(&mut mailbox, &mut filed).await;
    assert!(report.handled.is_empty(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_message_is_refused_unread_with_its_reason_and_kept() {
    let dovecot = Dovecot::start();
    // 26 MiB: past the 25 MiB default.
    let mut big = b"From: someone@nordlys.example\r\nSubject: huge\r\n\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 26 * 1024 * 1024));
    dovecot.deliver(&big);
    dovecot.deliver(&fixture("outlook-report-message.eml"));
    let mut mailbox = Mailbox::new(settings(&dovecot, Security::Tls)).unwrap();
    let mut filed = Vec::new();

    let report = poll_filing(&mut mailbox, &mut filed).await;
    assert_eq!(report.handled.len(), 2, "{report:?}");
    match &report.handled[0].outcome {
        Outcome::Refused { reason } => assert!(
            reason.contains("larger than the 26214400 bytes allowed"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    // The next message is filed all the same.
    assert_eq!(report.filed(), 1);
    assert_eq!(filed.len(), 1);

    let inbox = dovecot.messages("INBOX");
    let kept = inbox
        .iter()
        .find(|m| m.bytes.len() == big.len())
        .expect("the oversize message stays in the mailbox");
    assert!(kept.flagged() && !kept.seen(), "{:?}", kept.flags);
    let report = poll_filing(&mut mailbox, &mut filed).await;
    assert!(report.handled.is_empty(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_that_cannot_be_filed_is_tried_again_then_flagged() {
    let dovecot = Dovecot::start();
    dovecot.deliver(&fixture("outlook-report-message.eml"));
    // Plain IMAP is accepted towards loopback.
    let mut s = settings(&dovecot, Security::Plain);
    s.max_attempts = 2;
    let mut mailbox = Mailbox::new(s).unwrap();
    let failing = |_: Forwarded| Err::<String, _>("the report store is read-only");

    let first = mailbox.poll(failing).await.unwrap();
    assert_eq!(
        first.handled[0].outcome,
        Outcome::Failed {
            reason: "the report store is read-only".into(),
            attempt: 1,
            gave_up: false
        }
    );
    let inbox = dovecot.messages("INBOX");
    assert!(
        !inbox[0].seen() && !inbox[0].flagged(),
        "{:?}",
        inbox[0].flags
    );

    let second = mailbox.poll(failing).await.unwrap();
    assert!(matches!(
        second.handled[0].outcome,
        Outcome::Failed {
            attempt: 2,
            gave_up: true,
            ..
        }
    ));
    let inbox = dovecot.messages("INBOX");
    assert!(
        inbox[0].flagged() && !inbox[0].seen(),
        "{:?}",
        inbox[0].flags
    );
    let third = mailbox.poll(failing).await.unwrap();
    assert!(third.handled.is_empty(), "{third:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_and_an_untrusted_certificate_are_clear_errors() {
    let dovecot = Dovecot::start();
    dovecot.deliver(&fixture("outlook-report-message.eml"));

    let mut s = settings(&dovecot, Security::Tls);
    s.password = "not-the-password".into();
    let e = Mailbox::new(s)
        .unwrap()
        .poll(|_: Forwarded| Ok::<_, String>("never".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, MailboxError::Login { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "the IMAP server refused the login of `report-phishing`: [AUTHENTICATIONFAILED] Authentication failed."
    );

    // Without the test authority, the server's certificate is not trusted.
    let mut s = settings(&dovecot, Security::Tls);
    s.ca_file = None;
    let e = Mailbox::new(s)
        .unwrap()
        .poll(|_: Forwarded| Ok::<_, String>("never".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, MailboxError::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");

    // Nothing was touched.
    let inbox = dovecot.messages("INBOX");
    assert!(!inbox[0].seen() && !inbox[0].flagged());
}
