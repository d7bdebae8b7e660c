//! Hostile input: search. Queries built to run for minutes, to overflow SQLite's expression
//! depth or to wrap the result window's arithmetic.

use crate::support::{TestServer, event_line};
use serde_json::Value;

/// A server holding `n` events of three users; their messages say `event number {i}`.
fn seeded(n: usize, env: &[(&str, &str)]) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, env);
    let key = server.add_source("auth", "tandem");
    let body: String = (0..n)
        .map(|i| {
            let user = ["alice", "bob", "carol"][i % 3];
            event_line((i % 600) as i64, user, &format!("event number {i}")) + "\n"
        })
        .collect();
    let (status, report) = server.ingest("auth", &key, body.as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");
    (dir, server)
}

fn search(server: &TestServer, query: &[(&str, &str)]) -> (u16, String) {
    let (status, body) = server.get("/api/v1/search", query);
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

fn rule_test(server: &TestServer, q: &str) -> (u16, Value) {
    let mut resp = TestServer::agent()
        .post(format!("{}/api/v1/rules/test", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .send_json(serde_json::json!({
            "text": "title: t\nlogsource: {product: linux}\ndetection:\n  sel: {message: x}\n  condition: sel\n",
            "q": q,
        }))
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn thousands_of_wildcards_are_refused_with_the_limit() {
    let (_dir, server) = seeded(30, &[]);
    // Each of these ran for minutes (or failed with a 500) over a large store.
    let stars = "*".repeat(20_000);
    let (status, error) = search(&server, &[("q", &stars)]);
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("at most 16 wildcards"), "{error}");

    // (As many as a URL holds once encoded.)
    let lone_stars = vec!["*"; 5_000].join(" ");
    let (status, error) = search(&server, &[("q", &lone_stars)]);
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("at most 1000 terms"), "{error}");

    for n in [49_000, 60_000] {
        let (status, body) = rule_test(&server, &format!("user:{}", "*".repeat(n)));
        assert_eq!(status, 400, "{n} stars: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("at most 16 wildcards"),
            "{body}"
        );
    }
    // Ordinary wildcards still work.
    assert_eq!(server.total("user:a*ce"), 10);
    assert_eq!(server.total("*umber*"), 30);
}

#[test]
fn a_search_past_its_time_limit_is_stopped_with_a_clear_error() {
    // A one-millisecond limit, and enough events that scanning them takes longer.
    let (_dir, server) = seeded(20_000, &[("TANDEM_SEARCH__TIME_LIMIT_MS", "1")]);
    let (status, error) = search(&server, &[("q", "*number* | count by user")]);
    assert_eq!(status, 422, "{error}");
    assert_eq!(
        error,
        "the search took longer than 0.001 s and was stopped; narrow the time range or make the query more specific"
    );
    // The server goes on answering.
    let (status, _) = server.get("/healthz", &[]);
    assert_eq!(status, 200);
}

#[test]
fn a_999_term_or_is_answered_and_a_longer_one_is_refused() {
    let (_dir, server) = seeded(30, &[]);
    let mut users: Vec<String> = (0..997).map(|i| format!("user:nobody{i}")).collect();
    users.push("user:alice".into());
    users.push("user:bob".into());
    assert_eq!(users.len(), 999);
    let q = users.join(" OR ");
    let (status, body) = server.get("/api/v1/search", &[("q", &q)]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 20);
    let words: Vec<String> = (0..999).map(|i| i.to_string()).collect();
    assert_eq!(server.total(&words.join(" OR ")), 30);
    let not_users: Vec<String> = (0..999).map(|i| format!("NOT user:x{i}")).collect();
    assert_eq!(server.total(&not_users.join(" AND ")), 30);

    let q = format!("{q} OR user:carol OR user:dave");
    let (status, error) = search(&server, &[("q", &q)]);
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("at most 1000 terms"), "{error}");
}

#[test]
fn an_offset_that_would_wrap_around_is_refused() {
    let (_dir, server) = seeded(30, &[]);
    for offset in ["18446744073709551615", "18446744073709551600", "10000"] {
        let (status, error) = search(&server, &[("q", "*"), ("offset", offset)]);
        assert_eq!(status, 400, "offset {offset}: {error}");
        assert!(error.contains("cannot page past result 10000"), "{error}");
    }
    let (status, _) = search(&server, &[("q", "*"), ("offset", "9950")]);
    assert_eq!(status, 200);
}
