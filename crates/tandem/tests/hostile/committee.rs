//! Hostile input to the security committee: oversize texts and lists, a period too long to
//! read, a member who is not an account, a date that is not one. Each is refused with a
//! message (400), and nothing is stored.

use crate::support::TestServer;
use serde_json::json;

#[test]
fn oversize_and_forged_committee_input_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let refused = |method: &str, path: &str, body: serde_json::Value, needle: &str| {
        let (status, answer) = server.send_json(method, path, &body);
        assert_eq!(status, 400, "{path}: {answer}");
        let error = answer["error"].as_str().unwrap_or("");
        assert!(error.contains(needle), "{path}: {error}");
    };

    refused(
        "PUT",
        "/api/v1/committee",
        json!({"members": [{"account": "x".repeat(400), "department": "hr"}]}),
        "is not an account",
    );
    refused(
        "PUT",
        "/api/v1/committee",
        json!({"rotation": "alphabetical", "members": []}),
        "unknown rotation",
    );
    let many: Vec<String> = (0..101).map(|i| format!("guest{i}")).collect();
    refused(
        "POST",
        "/api/v1/committee/meetings",
        json!({"date": "2026-01-01", "chair": "admin", "attendees": many}),
        "at most 100 attendees",
    );
    refused(
        "POST",
        "/api/v1/committee/meetings",
        json!({"date": "2026-01-01", "chair": "admin", "notes": "n".repeat(20_001)}),
        "at most 20000 are kept",
    );
    refused(
        "POST",
        "/api/v1/committee/meetings",
        json!({"date": "the first of never", "chair": "admin"}),
        "is not a date",
    );
    let (status, c) = server.get("/api/v1/committee", &[]);
    assert_eq!(status, 200);
    assert_eq!(c["meetings"], json!([]), "a refused meeting was stored");

    let (status, body) = server.send_json(
        "POST",
        "/api/v1/committee/meetings",
        &json!({"date": "2026-01-01", "chair": "admin"}),
    );
    assert_eq!(status, 201, "{body}");
    let m = body["meeting"]["id"].as_str().unwrap().to_owned();
    refused(
        "POST",
        &format!("/api/v1/committee/meetings/{m}/decisions"),
        json!({"text": "d".repeat(20_001)}),
        "at most 20000 are kept",
    );
    refused(
        "POST",
        &format!("/api/v1/committee/meetings/{m}/action-items"),
        json!({"title": "t".repeat(301), "department": "it", "due": "2026-02-01"}),
        "at most 300 are kept",
    );

    // A period too long to read, or not a time at all.
    for (from, needle) in [("2000-01-01", "at most"), ("yesterday-ish", "`from`")] {
        let (status, answer) = server.get("/api/v1/committee/briefing", &[("from", from)]);
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(needle),
            "{answer}"
        );
    }
    server.terminate();
}
