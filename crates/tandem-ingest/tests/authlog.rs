//! Decodes the auth.log fixture end to end and checks each line's normalisation.

use tandem_ingest::decode::{DecodeContext, Format, decode_line};
use tandem_model::{Activity as A, Class as C, Outcome as O};

const FIXTURE: &str = include_str!("fixtures/auth.log");

/// Class, activity, outcome, actor.user and `authlog.rule` of one decoded line.
type Shape<'a> = (C, A, O, Option<&'a str>, Option<&'a str>);

#[test]
fn auth_log_fixture() {
    let ctx = DecodeContext::new("web-1-syslog", "2026-03-04T10:00:00Z".parse().unwrap());
    // (class, activity, outcome, actor.user, authlog rule) per log line, in order.
    let expected: &[Shape] = &[
        (
            C::Authentication,
            A::Logon,
            O::Failure,
            Some("oracle"),
            Some("sshd.invalid_user"),
        ),
        (
            C::Authentication,
            A::Logon,
            O::Failure,
            None,
            Some("pam.auth_failure"),
        ),
        (
            C::Authentication,
            A::Logon,
            O::Failure,
            Some("oracle"),
            Some("sshd.failed"),
        ),
        (C::Other, A::Unknown, O::Unknown, None, None),
        (
            C::Authentication,
            A::Logon,
            O::Success,
            Some("alice"),
            Some("sshd.accepted"),
        ),
        (
            C::Authentication,
            A::Logon,
            O::Success,
            Some("alice"),
            Some("pam.session_opened"),
        ),
        (
            C::Authentication,
            A::Logon,
            O::Success,
            Some("alice"),
            Some("logind.new_session"),
        ),
        (
            C::ProcessActivity,
            A::Launch,
            O::Success,
            Some("alice"),
            Some("sudo.command"),
        ),
        (C::Other, A::Unknown, O::Unknown, None, None),
        (C::Other, A::Unknown, O::Unknown, None, None),
        (
            C::AccountChange,
            A::Create,
            O::Success,
            None,
            Some("useradd.new_user"),
        ),
        (C::Other, A::Unknown, O::Unknown, None, None),
        (
            C::ProcessActivity,
            A::Launch,
            O::Success,
            Some("alice"),
            Some("sudo.command"),
        ),
        (
            C::AccountChange,
            A::Other,
            O::Success,
            None,
            Some("usermod.add_to_group"),
        ),
        (C::Other, A::Unknown, O::Unknown, None, None),
        (
            C::AccountChange,
            A::PasswordChange,
            O::Success,
            None,
            Some("pam.password_changed"),
        ),
        (C::Other, A::Unknown, O::Unknown, None, None),
        (
            C::ProcessActivity,
            A::Launch,
            O::Failure,
            Some("bob"),
            Some("sudo.refused"),
        ),
        (
            C::Authentication,
            A::Logon,
            O::Failure,
            Some("alice"),
            Some("pam.auth_failure"),
        ),
        (
            C::ProcessActivity,
            A::Launch,
            O::Failure,
            Some("alice"),
            Some("sudo.refused"),
        ),
        (
            C::Authentication,
            A::Logon,
            O::Failure,
            Some("bob"),
            Some("su.failed"),
        ),
        (
            C::Authentication,
            A::Logon,
            O::Success,
            Some("alice"),
            Some("su.success"),
        ),
        (
            C::AccountChange,
            A::Delete,
            O::Success,
            None,
            Some("userdel.delete_user"),
        ),
        (C::Other, A::Unknown, O::Unknown, None, None),
        (
            C::Authentication,
            A::Logoff,
            O::Success,
            Some("alice"),
            Some("sshd.disconnected"),
        ),
        (
            C::Authentication,
            A::Logoff,
            O::Success,
            Some("alice"),
            Some("pam.session_closed"),
        ),
        (
            C::Authentication,
            A::Logoff,
            O::Success,
            None,
            Some("logind.logged_out"),
        ),
        (C::Other, A::Unknown, O::Unknown, None, None),
    ];
    let lines: Vec<&str> = FIXTURE.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), expected.len());
    for (line, want) in lines.iter().zip(expected) {
        let e = decode_line(Format::Syslog, line.as_bytes(), &ctx).unwrap();
        let rule = e.attrs.get("authlog.rule").and_then(|v| v.as_str());
        let got = (
            e.class,
            e.activity,
            e.outcome,
            e.actor.user.as_deref(),
            rule,
        );
        assert_eq!(got, *want, "{line}");
        assert_eq!(
            e.device.as_ref().and_then(|d| d.hostname.as_deref()),
            Some("web-1"),
            "{line}"
        );
        assert_eq!(e.time.format("%F").to_string(), "2026-03-04", "{line}");
        assert_eq!(e.raw.as_deref(), Some(*line));
        assert_eq!(e.source.name, "web-1-syslog");
    }
}
