//! Hostile input: what the command line prints from fields a sender wrote, and its own
//! configuration.

use crate::support::{self, TestServer, event_line};

/// An OSC 8 hyperlink, a screen clear and a title change: what a hostile log line would use
/// to make an analyst's terminal lie or act.
const ESCAPES: &str = "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07 \x1b[2J \x1b]0;owned\x07";

fn run(server: &TestServer, args: &[&str]) -> String {
    let out = support::tandem()
        .args(args)
        .args(["--url", &server.url, "--token", &server.token])
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn terminal_escapes_in_events_and_dead_letters_are_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let key = server.add_source("hostile", "tandem");
    let good = event_line(1, "mallory\x1b[31m", &format!("escape test {ESCAPES}"));
    let bad = format!("{{\"broken\": \"{}", ESCAPES.replace('\x1b', "\\u001b"));
    let body = format!("{good}\n{bad}\n\x1b]0;raw-title\x07 not json\n");
    let (status, _) = server.ingest("hostile", &key, body.as_bytes(), &[]);
    assert_eq!(status, 200);
    server.wait_for("source:hostile", 1);

    for args in [
        &["search", "source:hostile"][..],
        &["search", "source:hostile | count by user"],
        &["dead-letters", "--source", "hostile"],
    ] {
        let printed = run(&server, args);
        assert!(
            !printed.contains('\x1b'),
            "{args:?} printed a raw ESC:\n{printed:?}"
        );
        assert!(
            !printed.contains('\x07'),
            "{args:?} printed a raw BEL:\n{printed:?}"
        );
        assert!(
            printed.contains("\\x1b"),
            "{args:?} hid the escape:\n{printed}"
        );
    }

    // `--json` is for programs: the data as it is, escaped by JSON itself.
    let json = run(&server, &["search", "source:hostile", "--json"]);
    assert!(!json.contains('\x1b'));
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        parsed
            .to_string()
            .contains("\\u001b]8;;http://evil.example")
    );
}

#[test]
fn the_printed_configuration_hides_secrets_from_the_environment() {
    let out = support::tandem()
        .arg("config")
        .env("TANDEM_AUTH__OIDC__CLIENT_SECRET", "oidc-secret-value")
        .env(
            "TANDEM_SOURCES",
            r#"[{name = "doors", format = "verkada", webhook_secret = "whsec-value"}]"#,
        )
        .env(
            "TANDEM_MQTT",
            r#"[{source = "cams", format = "frigate", broker = {username = "u", password = "broker-pass"}}]"#,
        )
        .env_remove("TANDEM_CONFIG")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    for secret in ["oidc-secret-value", "whsec-value", "broker-pass"] {
        assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
    }
    assert!(printed.contains("<redacted>"), "{printed}");
}
