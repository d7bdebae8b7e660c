use super::*;
use proptest::prelude::*;

const SAMPLE: &[u8] = include_bytes!("../../tests/fixtures/phishing-pot-sample-1.eml");

fn none() -> SimulationMarkers {
    SimulationMarkers::default()
}

#[test]
fn a_real_phishing_mail_is_read_without_rendering_it() {
    let a = analyse(SAMPLE, &none());
    assert_eq!(a.from.as_deref(), Some("banco.bradesco@atendimento.com.br"));
    assert_eq!(a.from_name.as_deref(), Some("BANCO DO BRADESCO LIVELO"));
    assert!(
        a.subject
            .as_deref()
            .unwrap()
            .contains("92.990 pontos LIVELO")
    );
    assert_eq!(
        a.return_path.as_deref(),
        Some("root@ubuntu-s-1vcpu-1gb-35gb-intel-sfo3-06")
    );
    assert_eq!(a.received.len(), 5);
    assert!(a.received[0].starts_with("from SA3PR19MB7370"));
    assert_eq!(a.auth.spf.as_deref(), Some("temperror"));
    assert_eq!(a.auth.dkim.as_deref(), Some("none"));
    assert_eq!(a.auth.dmarc.as_deref(), Some("temperror"));
    let lure = a
        .urls
        .iter()
        .find(|l| l.url.contains("blog1seguimentmydomaine2bra"))
        .expect("the lure's link");
    assert_eq!(lure.defanged, "hxxps://blog1seguimentmydomaine2bra[.]me/");
    assert_eq!(lure.host.as_deref(), Some("blog1seguimentmydomaine2bra.me"));
    // The body is text: the HTML's tags are gone, its words are there.
    assert!(a.body_text.contains("Banco do Bradesco"), "{}", a.body_text);
    assert!(!a.body_text.contains("<div"));
    assert!(!a.is_simulation);
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    assert!(
        a.campaign_keys
            .contains(&"sender:banco.bradesco@atendimento.com.br".to_owned())
    );
}

#[test]
fn script_in_the_html_body_is_not_kept_as_markup() {
    let raw = b"From: a@evil.example\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n\
<html><script>alert(1)</script><p>Pay <b>now</b> at <a href=\"http://pay.evil.example/x?a=1&amp;b=2\">here</a></p></html>";
    let a = analyse(raw, &none());
    assert!(!a.body_text.contains("<script>"), "{}", a.body_text);
    assert!(!a.body_text.contains("<b>"));
    assert!(a.body_text.contains("Pay"));
    assert_eq!(a.urls[0].url, "http://pay.evil.example/x?a=1&b=2");
    assert_eq!(a.urls[0].defanged, "hxxp://pay[.]evil[.]example/x?a=1&b=2");
}

#[test]
fn attachments_are_hashed_not_kept() {
    let raw = b"From: Finance <billing@supplier.example>\r\nSubject: New bank details\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n\
Content-Type: text/plain\r\n\r\nPlease see the attached invoice.\r\n--XX\r\n\
Content-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--XX--\r\n";
    let a = analyse(raw, &none());
    assert_eq!(a.attachments.len(), 1);
    let att = &a.attachments[0];
    assert_eq!(att.name.as_deref(), Some("invoice.pdf"));
    assert_eq!(att.size, 5);
    // sha256("hello")
    assert_eq!(
        att.sha256,
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(att.content_type.as_deref(), Some("application/pdf"));
}

#[test]
fn pasted_headers_alone_are_read() {
    let raw = b"Received: from mx.evil.example by mx.nordlys.example\r\n\
Authentication-Results: mx.nordlys.example; spf=fail smtp.mailfrom=evil.example; dkim=pass header.d=evil.example; dmarc=fail\r\n\
From: \"IT Helpdesk\" <helpdesk@nordlys-support.example>\r\nReply-To: attacker@mail.example\r\nSubject: Password expires today\r\n";
    let a = analyse(raw, &none());
    assert_eq!(a.from.as_deref(), Some("helpdesk@nordlys-support.example"));
    assert_eq!(a.reply_to.as_deref(), Some("attacker@mail.example"));
    assert_eq!(a.auth.spf.as_deref(), Some("fail"));
    assert_eq!(a.auth.dkim.as_deref(), Some("pass"));
    assert_eq!(a.auth.dmarc.as_deref(), Some("fail"));
    assert_eq!(a.received.len(), 1);
}

#[test]
fn malformed_input_keeps_what_could_be_read_and_says_why() {
    let a = analyse(
        b"\xff\xfe not a mail at all, see https://x.evil.example/a",
        &none(),
    );
    assert!(!a.problems.is_empty());
    assert_eq!(a.urls.len(), 1);
    let empty = analyse(b"   \r\n", &none());
    assert_eq!(empty.problems, vec!["the message is empty".to_owned()]);
}

#[test]
fn simulations_are_recognised_by_any_marker() {
    let raw = b"From: training@phish-sim.example\r\nX-PhishTest: Nordlys-2026\r\nSubject: Your parcel\r\n\r\nTrack it: https://lp.sim-tracker.example/t/123\r\n";
    let by_header = SimulationMarkers {
        header_name: Some("x-phishtest".into()),
        header_value: Some("nordlys-2026".into()),
        ..none()
    };
    assert!(analyse(raw, &by_header).is_simulation);
    let wrong_value = SimulationMarkers {
        header_value: Some("other".into()),
        ..by_header.clone()
    };
    assert!(!analyse(raw, &wrong_value).is_simulation);
    let by_domain = SimulationMarkers {
        sender_domains: vec!["sim.example".into(), "phish-sim.example".into()],
        ..none()
    };
    assert!(analyse(raw, &by_domain).is_simulation);
    let by_url = SimulationMarkers {
        url_patterns: vec!["sim-tracker.example/t/".into()],
        ..none()
    };
    assert!(analyse(raw, &by_url).is_simulation);
    assert!(!analyse(raw, &none()).is_simulation);
}

#[test]
fn forwarded_and_replied_subjects_are_one_campaign() {
    assert_eq!(
        normalise_subject("FW: RE:  Invoice   overdue"),
        normalise_subject("Invoice overdue")
    );
}

#[test]
fn defanging_breaks_scheme_and_host_only() {
    assert_eq!(
        defang("HTTPS://a.b.example:8443/p.php?x=y.z"),
        "hxxps://a[.]b[.]example:8443/p.php?x=y.z"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let a = analyse(&raw, &none());
        prop_assert!(a.body_text.chars().count() <= MAX_BODY_CHARS + 1);
        prop_assert!(a.urls.len() <= MAX_URLS);
    }

    #[test]
    fn mail_shaped_text_never_panics(
        headers in proptest::collection::vec("[A-Za-z-]{1,20}: [ -~\u{80}-\u{10ffff}]{0,80}", 0..20),
        body in "[ -~\u{80}-\u{2000}<>\r\n]{0,500}",
    ) {
        let raw = format!("{}\r\n\r\n{body}", headers.join("\r\n"));
        let _ = analyse(raw.as_bytes(), &SimulationMarkers {
            header_name: Some("X-Sim".into()),
            header_value: None,
            sender_domains: vec!["sim.example".into()],
            url_patterns: vec!["track".into()],
        });
    }
}
