//! Times in the console follow the zone each user chose, with the UTC time on hover.

mod support;

use serde_json::json;
use support::TestServer;

#[test]
fn a_user_who_chooses_oslo_sees_search_times_in_oslo_with_utc_on_hover() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let key = server.add_source("auth", "tandem");
    let line = json!({"time": "2026-12-07T08:00:00Z", "class": "authentication",
        "activity": "logon", "outcome": "success", "message": "winter sign-in",
        "actor": {"user": "ann"}});
    let (status, _) = server.ingest("auth", &key, format!("{line}\n").as_bytes(), &[]);
    assert_eq!(status, 200);
    server.wait_for("\"winter sign-in\"", 1);

    let console = server.admin_console();
    let search = "/search?q=%22winter+sign-in%22&range=all";
    let utc = console.get(search);
    assert!(
        utc.body.contains("2026-12-07 08:00:00 UTC</time>"),
        "UTC by default: {}",
        utc.body
    );

    // An unknown zone is refused with a reason, and nothing changes.
    let csrf = console.csrf("/search");
    let refused = console.post_form(
        "/me/time-zone",
        &[("csrf", &csrf), ("time_zone", "Europe/Atlantis")],
    );
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("Unknown time zone"),
        "{}",
        refused.body
    );
    // Without the form's CSRF token the choice is not taken either.
    let forged = console.post_form("/me/time-zone", &[("time_zone", "Europe/Oslo")]);
    assert_ne!(forged.status, 303);

    let set = console.post_form(
        "/me/time-zone",
        &[
            ("csrf", &csrf),
            ("time_zone", "Europe/Oslo"),
            ("next", "/search"),
        ],
    );
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(set.location.as_deref(), Some("/search"));

    let oslo = console.get(search);
    assert!(
        oslo.body.contains(
            "<time datetime=\"2026-12-07T08:00:00Z\" title=\"2026-12-07 08:00:00 UTC\">\
             2026-12-07 09:00:00 CET</time>"
        ),
        "{}",
        oslo.body
    );
    assert!(
        oslo.body.contains("value=\"Europe/Oslo\""),
        "the form shows the choice"
    );

    let audit = console.get("/audit");
    assert!(audit.body.contains("user.time_zone"), "{}", audit.body);
}
