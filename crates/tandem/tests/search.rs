//! Search, sources and operations endpoints as an analyst or operator uses them.

mod support;

use support::{TestServer, event_line};

fn seeded() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let key = server.add_source("auth", "tandem");
    let body: String = (0..120)
        .map(|i| {
            let user = ["alice", "bob", "carol"][i % 3];
            let msg = if i % 4 == 0 {
                format!("Failed password for {user}")
            } else {
                format!("Accepted password for {user}")
            };
            event_line(i as i64, user, &msg) + "\n"
        })
        .collect();
    let (status, report) = server.ingest("auth", &key, body.as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");
    (dir, server)
}

#[test]
fn queries_filter_page_and_aggregate() {
    let (_dir, server) = seeded();
    assert_eq!(server.total("user:alice"), 40);
    assert_eq!(server.total("failed"), 30);
    assert_eq!(
        server.total("\"failed password\" AND (user:bob OR user:carol)"),
        20
    );
    assert_eq!(server.total("NOT failed AND user:car*"), 30);

    let (status, page) = server.get(
        "/api/v1/search",
        &[("q", "user:alice"), ("limit", "10"), ("offset", "10")],
    );
    assert_eq!(status, 200);
    assert_eq!(page["events"].as_array().unwrap().len(), 10);
    assert_eq!(page["offset"], 10);

    let counts = server.search("* | count by user");
    assert_eq!(counts["kind"], "aggregation");
    assert_eq!(counts["rows"].as_array().unwrap().len(), 3);
    assert_eq!(counts["total"], 120);

    let chart = server.search("failed | timechart 30m count by user");
    let buckets = chart["buckets"].as_array().unwrap();
    let sum: u64 = buckets
        .iter()
        .flat_map(|b| {
            b["counts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[1].as_u64().unwrap())
        })
        .sum();
    assert_eq!(sum, 30);

    let (status, window) = server.get("/api/v1/search", &[("q", "*"), ("from", "now-30m")]);
    assert_eq!(status, 200);
    assert_eq!(window["total"], 30);
}

#[test]
fn syntax_errors_point_at_the_problem() {
    let (_dir, server) = seeded();
    let (status, body) = server.get("/api/v1/search", &[("q", "user:alice AND (bob")]);
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("position"),
        "{body}"
    );
    assert!(body["position"].is_number());
    assert!(body["caret"].as_str().unwrap().contains('^'));
    let (status, body) = server.get("/api/v1/search", &[("q", "class:authentcation")]);
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("unknown class"),
        "{body}"
    );
    let (status, body) = server.get("/api/v1/search", &[("q", "*"), ("from", "yesterdayish")]);
    assert_eq!(status, 400, "{body}");
}

#[test]
fn everything_but_health_needs_authentication() {
    let (_dir, server) = seeded();
    let agent = TestServer::agent();
    for path in [
        "/api/v1/search?q=*",
        "/api/v1/sources",
        "/api/v1/dead-letters",
        "/api/v1/status",
        "/metrics",
    ] {
        let status = agent
            .get(format!("{}{path}", server.url))
            .call()
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 401, "{path} without a token");
        let status = agent
            .get(format!("{}{path}", server.url))
            .header("Authorization", "Bearer not-a-token")
            .call()
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 401, "{path} with a wrong token");
    }
    let mut health = agent.get(format!("{}/healthz", server.url)).call().unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(
        health
            .body_mut()
            .read_to_string()
            .unwrap()
            .contains("\"ok\"")
    );
    // The console sends visitors without a session to the login page.
    let no_redirects: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let page = no_redirects
        .get(format!("{}/search", server.url))
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 303);
}

#[test]
fn metrics_count_what_came_in() {
    let (_dir, server) = seeded();
    let (status, body) = server.get("/metrics", &[]);
    assert_eq!(status, 200);
    let text = body.as_str().unwrap().to_owned();
    assert!(
        text.contains("tandem_events_stored_total{source=\"auth\"} 120"),
        "{text}"
    );
    assert!(text.contains("tandem_ingest_ack_seconds_bucket"), "{text}");
    assert!(text.contains("tandem_ingest_queue_depth"), "{text}");
}

#[test]
fn the_cli_searches_and_lists_sources() {
    let (_dir, server) = seeded();
    let out = support::tandem()
        .args([
            "search",
            "failed | count by user",
            "--url",
            &server.url,
            "--token",
            &server.token,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("alice\t10") && stdout.contains("bob\t10") && stdout.contains("carol\t10"),
        "{stdout}"
    );

    let out = support::tandem()
        .args(["sources", "--url", &server.url, "--token", &server.token])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("auth ") && l.contains("120")),
        "{stdout}"
    );

    let out = support::tandem()
        .args([
            "search",
            "user:(bob",
            "--url",
            &server.url,
            "--token",
            &server.token,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains('^'));
}

#[test]
fn config_prints_the_effective_settings() {
    let out = support::tandem()
        .arg("config")
        .env("TANDEM_HTTP__LISTEN", "127.0.0.1:9999")
        .env("TANDEM_STORE__SYNCHRONOUS", "normal")
        .env_remove("TANDEM_CONFIG")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("listen = \"127.0.0.1:9999\""), "{stdout}");
    assert!(stdout.contains("synchronous = \"normal\""), "{stdout}");
    assert!(stdout.contains("max_age_days = 90"), "{stdout}");
}
