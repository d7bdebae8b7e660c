use super::*;
use crate::alerter::{AlertsConfig, NoIncidents};
use chrono::{TimeZone, Utc};
use tandem_store::{SqliteStore, StoreConfig};

const SAMPLE: &[u8] =
    include_bytes!("../../../tandem-mail/tests/fixtures/phishing-pot-sample-1.eml");

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    reports: Reports,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    let alerter = Arc::new(
        Alerter::new(
            store.clone(),
            AlertsConfig::default(),
            Arc::new(NoIncidents),
            Arc::new(crate::Silent),
            Arc::new(|_: &str| tandem_identity::Criticality::default()),
        )
        .unwrap(),
    );
    let reports = Reports::new(
        store.clone(),
        alerter,
        ReportsSettings {
            simulation: SimulationMarkers {
                sender_domains: vec!["phish-drill.example".into()],
                ..SimulationMarkers::default()
            },
            drill_message: "Well spotted: this was a drill.".into(),
        },
    );
    Fixture {
        _dir: dir,
        store,
        reports,
    }
}

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn signed_in(name: &str) -> Option<Reporter> {
    Some(Reporter {
        name: name.into(),
        person: Some(format!("p-{name}")),
        email: Some(format!("{name}@nordlys.example")),
        department: Some("Finance".into()),
        site: Some("Oslo HQ".into()),
    })
}

fn phishing(raw: &[u8], reporter: Option<Reporter>) -> NewReport {
    NewReport {
        kind: Some(ReportKind::Phishing),
        mail: Some(raw.to_vec()),
        reporter,
        ..NewReport::default()
    }
}

#[test]
fn an_anonymous_phishing_report_raises_an_alert_and_keeps_no_reporter() {
    let f = fixture();
    let filed = f.reports.file(phishing(SAMPLE, None), now()).unwrap();
    let r = &filed.report;
    assert!(r.reporter.is_none());
    assert_eq!(r.status, ReportStatus::Received);
    let alert = f.reports.alerter.get(r.alert.as_deref().unwrap()).unwrap();
    assert!(alert.title.contains("92.990 pontos"), "{}", alert.title);
    assert!(alert.summary.starts_with("Reported anonymously"));
    // Only the token's hash is stored; the token opens the report.
    let stored = f.store.case(CaseKind::Report, &r.id).unwrap().unwrap();
    assert!(!stored.doc.to_string().contains(&filed.token));
    assert_eq!(f.reports.by_token(&filed.token).unwrap().unwrap().id, r.id);
    assert!(
        f.reports
            .by_token("x".repeat(43).as_str())
            .unwrap()
            .is_none()
    );
}

#[test]
fn reports_of_one_campaign_fold_into_one_alert_with_a_reporter_count() {
    let f = fixture();
    let a = f
        .reports
        .file(phishing(SAMPLE, signed_in("ada")), now())
        .unwrap();
    // Same lure forwarded with another subject: the sender ties them.
    let other =
        b"From: BANCO <banco.bradesco@atendimento.com.br>\r\nSubject: Fwd: pontos\r\n\r\nhi";
    let b = f
        .reports
        .file(phishing(other, signed_in("bo")), now())
        .unwrap();
    let c = f.reports.file(phishing(SAMPLE, None), now()).unwrap();
    assert_eq!(a.report.alert, b.report.alert);
    assert_eq!(a.report.alert, c.report.alert);
    let alert = f
        .reports
        .alerter
        .get(a.report.alert.as_deref().unwrap())
        .unwrap();
    assert_eq!(alert.count, 3);
    assert!(
        alert.summary.starts_with("Reported by 3 people"),
        "{}",
        alert.summary
    );
    assert_eq!(f.reports.of_alert(&alert.id).unwrap().len(), 3);
    // An unrelated mail is its own alert.
    let unrelated = b"From: x@elsewhere.example\r\nSubject: Totally different\r\n\r\nhi";
    let d = f.reports.file(phishing(unrelated, None), now()).unwrap();
    assert_ne!(d.report.alert, a.report.alert);
}

#[test]
fn a_signed_in_report_names_department_and_site_on_the_alert() {
    let f = fixture();
    let filed = f
        .reports
        .file(
            NewReport {
                kind: Some(ReportKind::Tailgater),
                description: "Someone followed me through <b>door 3</b>".into(),
                answers: [("place".to_owned(), "B door 3".to_owned())].into(),
                reporter: signed_in("ada"),
                ..NewReport::default()
            },
            now(),
        )
        .unwrap();
    let alert = f
        .reports
        .alerter
        .get(filed.report.alert.as_deref().unwrap())
        .unwrap();
    assert!(
        alert
            .summary
            .contains("Reported by ada, Finance, at Oslo HQ"),
        "{}",
        alert.summary
    );
    assert_eq!(alert.severity, Severity::High);
    assert!(alert.tags.contains(&"report:tailgater".to_owned()));
}

#[test]
fn a_drill_is_credited_closed_and_raises_no_alert() {
    let f = fixture();
    let drill = b"From: it@phish-drill.example\r\nSubject: Your parcel\r\n\r\nhi";
    let filed = f
        .reports
        .file(phishing(drill, signed_in("ada")), now())
        .unwrap();
    assert!(filed.report.simulation);
    assert_eq!(filed.report.status, ReportStatus::Closed);
    assert_eq!(
        filed.report.outcome.as_deref(),
        Some("Well spotted: this was a drill.")
    );
    assert!(filed.report.alert.is_none());
    let (total, _) = f.reports.alerter.list(&Default::default()).unwrap();
    assert_eq!(total, 0, "a drill is not a real alert");
    assert_eq!(f.reports.counts().unwrap(), (1, 0));
}

#[test]
fn a_question_answered_and_the_report_closed_with_a_thank_you() {
    let f = fixture();
    let filed = f.reports.file(phishing(SAMPLE, None), now()).unwrap();
    let id = &filed.report.id;
    let r = f
        .reports
        .ask(id, "sam", "Did you enter your password?", now())
        .unwrap();
    assert_eq!(r.status, ReportStatus::InProgress);
    let r = f
        .reports
        .answer(&filed.token, "No, I did not.", now())
        .unwrap();
    assert_eq!(r.messages.len(), 2);
    assert_eq!(r.messages[1].from, "reporter");
    let r = f
        .reports
        .close(
            id,
            "sam",
            "Thank you! It was phishing; we blocked the sender.",
            now(),
        )
        .unwrap();
    assert_eq!(r.status, ReportStatus::Closed);
    assert!(f.reports.answer(&filed.token, "more", now()).is_err());
    assert!(matches!(
        f.reports.answer("nope-nope-nope-nope-nope", "x", now()),
        Err(CaseError::NotFound { .. })
    ));
}

#[test]
fn the_mailbox_files_a_forwarded_mail_from_its_forwarder() {
    let f = fixture();
    let id = f
        .reports
        .file_forwarded_phishing(SAMPLE, "Ada@Nordlys.example", now())
        .unwrap();
    let r = f.reports.get(&id).unwrap();
    assert_eq!(
        r.reporter.unwrap().email.as_deref(),
        Some("ada@nordlys.example")
    );
    assert_eq!(r.kind, ReportKind::Phishing);
    assert!(r.mail.is_some());
}

#[test]
fn an_empty_report_is_refused_with_a_reason() {
    let f = fixture();
    let e = f.reports.file(
        NewReport {
            kind: Some(ReportKind::Other),
            ..NewReport::default()
        },
        now(),
    );
    assert!(matches!(e, Err(CaseError::Refused(_))));
    let e = f.reports.file(NewReport::default(), now());
    assert!(matches!(e, Err(CaseError::Refused(_))));
}
