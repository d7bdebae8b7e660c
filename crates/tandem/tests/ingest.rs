//! Ingest as senders experience it: HTTP NDJSON and CSV, syslog over UDP and TCP, bad input,
//! and the promise that an acknowledged event survives `kill -9`.

mod support;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use support::{TestServer, event_line};

#[test]
fn ndjson_batches_are_stored_and_bad_lines_are_dead_lettered_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let key = server.add_source("hq-auth", "tandem");

    let future = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let mut body = Vec::new();
    body.extend(
        format!(
            "{}\n",
            event_line(5, "alice", "Accepted publickey for alice")
        )
        .as_bytes(),
    );
    body.extend(b"{\"time\": \"2026-11-25T08:00:00Z\", \"class\": \"nonsense\"}\n");
    body.extend(b"this is not json\n");
    body.extend(b"\n");
    body.extend(b"{\"time\": \"2026-11-25T08:00:00Z\", \"class\": \"authentication\", \"message\": \"bad \xff\xfe utf8\"}\n");
    body.extend(format!("{{\"time\": \"{future}\", \"class\": \"authentication\"}}\n").as_bytes());
    body.extend(format!("{}\n", event_line(4, "bob", "Accepted password for bob")).as_bytes());

    let (status, report) = server.ingest(
        "hq-auth",
        &key,
        &body,
        &[("Content-Type", "application/x-ndjson")],
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["accepted"], 2);
    assert_eq!(report["rejected"], 4);
    let errors = report["errors"].as_array().unwrap();
    let reasons: Vec<String> = errors
        .iter()
        .map(|e| format!("line {}: {}", e["line"], e["error"].as_str().unwrap()))
        .collect();
    assert!(
        reasons[0].starts_with("line 2: ") && reasons[0].contains("unknown class `nonsense`"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("line 3: invalid JSON"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].starts_with("line 5: invalid UTF-8"),
        "{reasons:?}"
    );
    assert!(
        reasons[3].contains("ahead of the time it was received"),
        "{reasons:?}"
    );

    assert_eq!(server.total("source:hq-auth"), 2);
    assert_eq!(server.total("user:alice"), 1);
    let (_, dead) = server.get("/api/v1/dead-letters", &[("source", "hq-auth")]);
    assert_eq!(dead.as_array().unwrap().len(), 4);
    assert!(dead.to_string().contains("this is not json"));

    let (_, sources) = server.get("/api/v1/sources", &[]);
    let hq = sources
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "hq-auth")
        .unwrap()
        .clone();
    assert_eq!(hq["events_total"], 2);
    assert_eq!(hq["dead_letters_total"], 4);
    assert!(hq["last_event_time"].is_string());
}

#[test]
fn gzip_bodies_are_accepted_and_limits_answer_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[
            ("TANDEM_HTTP__MAX_BODY_MIB", "1"),
            ("TANDEM_HTTP__MAX_LINE_KIB", "4"),
        ],
    );
    let key = server.add_source("gz", "tandem");
    let lines: String = (0..500)
        .map(|i| event_line(i, "carol", "gzip") + "\n")
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(lines.as_bytes()).unwrap();
    let (status, report) = server.ingest(
        "gz",
        &key,
        &gz.finish().unwrap(),
        &[("Content-Encoding", "gzip")],
    );
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(500)),
        "{report}"
    );

    let (status, report) = server.ingest(
        "gz",
        &key,
        b"\x1f\x8bnot really gzip",
        &[("Content-Encoding", "gzip")],
    );
    assert_eq!(status, 400, "{report}");
    assert!(report["error"].as_str().unwrap().contains("gzip"));

    let big = vec![b'x'; 2 * 1024 * 1024];
    let (status, report) = server.ingest("gz", &key, &big, &[]);
    assert_eq!(status, 413, "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("1 MiB limit"),
        "{report}"
    );

    let long_line = format!(
        "{}\n{}\n",
        "y".repeat(8 * 1024),
        event_line(1, "dave", "after a long line")
    );
    let (status, report) = server.ingest("gz", &key, long_line.as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["accepted"].as_u64(), report["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        report["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("limit"),
        "{report}"
    );
}

#[test]
fn unknown_sources_and_wrong_keys_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let key = server.add_source("known", "tandem");
    let line = event_line(1, "eve", "x");
    let (status, body) = server.ingest("unknown", &key, line.as_bytes(), &[]);
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("unknown source `unknown`")
    );
    let (status, _) = server.ingest("known", "wrong-key", line.as_bytes(), &[]);
    assert_eq!(status, 401);
    assert_eq!(server.total("*"), 0);
}

#[test]
fn syslog_over_udp_and_tcp_with_both_framings_is_normalised() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(
        b"<38>Nov 25 08:01:02 srv-db-01 sshd[2211]: Accepted publickey for alice.smith from 10.20.1.14 port 51234 ssh2",
        server.syslog_udp.unwrap(),
    )
    .unwrap();
    let mut tcp = TcpStream::connect(server.syslog_tcp.unwrap()).unwrap();
    tcp.write_all(b"<38>Nov 25 08:02:02 srv-web-01 sshd[11]: Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2\n").unwrap();
    let framed = "<85>1 2026-11-25T08:03:10.000Z srv-db-01 sudo - - - alice.smith : TTY=pts/0 ; PWD=/home/alice.smith ; USER=root ; COMMAND=/usr/bin/systemctl restart postgresql";
    tcp.write_all(format!("{} {framed}", framed.len()).as_bytes())
        .unwrap();
    tcp.flush().unwrap();
    drop(tcp);

    server.wait_for("source:syslog", 3);
    assert_eq!(
        server.total(
            "class:authentication AND outcome:success AND user:alice.smith AND src.ip:10.20.1.14"
        ),
        1
    );
    assert_eq!(server.total("outcome:failure AND src.ip:203.0.113.9"), 1);
    assert_eq!(server.total("class:process_activity AND host:srv-db-01"), 1);
    let found = server.search("\"systemctl restart\"");
    assert_eq!(found["total"], 1);
    assert!(
        found["events"][0]["raw"]
            .as_str()
            .unwrap()
            .contains("COMMAND=/usr/bin/systemctl")
    );
}

#[test]
fn every_acknowledged_event_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data, None, &[("TANDEM_STORE__SEGMENT_ROWS", "20000")]);
    let token = server.token.clone();
    let key = server.add_source("durable", "tandem");
    let url = server.url.clone();

    // Several senders keep posting numbered batches; each remembers what was acknowledged.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for sender in 0..3 {
        let (url, key, stop) = (url.clone(), key.clone(), stop.clone());
        senders.push(std::thread::spawn(move || {
            let agent = TestServer::agent();
            let mut acked = Vec::new();
            let mut batch = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tag = format!("s{sender}b{batch}");
                let body: String = (0..500)
                    .map(|i| event_line(i % 60, &tag, &format!("{tag} event {i}")) + "\n")
                    .collect();
                let response = agent
                    .post(format!("{url}/api/v1/ingest/durable"))
                    .header("Authorization", format!("Bearer {key}"))
                    .send(body.as_bytes());
                match response {
                    Ok(r) if r.status().as_u16() == 200 => acked.push(tag),
                    _ => break,
                }
                batch += 1;
            }
            acked
        }));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    server.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked: Vec<String> = senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    assert!(
        acked.len() >= 6,
        "the senders should have had several batches acknowledged, got {}",
        acked.len()
    );

    let server = TestServer::start(
        &data,
        Some(&token),
        &[("TANDEM_STORE__SEGMENT_ROWS", "20000")],
    );
    for tag in &acked {
        assert_eq!(
            server.total(&format!("user:{tag}")),
            500,
            "acknowledged batch {tag} is incomplete after kill -9"
        );
    }
}

#[test]
fn sigterm_flushes_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data, None, &[]);
    let token = server.token.clone();
    let mut tcp = TcpStream::connect(server.syslog_tcp.unwrap()).unwrap();
    for i in 0..100 {
        writeln!(tcp, "<38>Nov 25 08:01:02 host{i} sshd[1]: Accepted password for frank from 10.0.0.{i} port 22 ssh2").unwrap();
    }
    tcp.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let server = TestServer::start(&data, Some(&token), &[]);
    assert_eq!(server.total("user:frank"), 100);
}

#[test]
fn csv_files_go_through_the_cli_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let key = server.add_source("hr-export", "csv");
    let path = dir.path().join("badges.csv");
    let mut csv = String::from("time,class,activity,actor.badge,place.site,place.door,message\n");
    for i in 0..1000 {
        csv.push_str(&format!("2026-11-25T08:{:02}:{:02}Z,physical_access,granted,{},HQ,D-{},\"Badge {} granted, main door\"\n", i / 60 % 60, i % 60, 40000 + i, i % 7, 40000 + i));
    }
    csv.push_str("not-a-time,physical_access,granted,1,HQ,D-1,bad row\n");
    std::fs::write(&path, csv).unwrap();
    let out = support::tandem()
        .args([
            "ingest",
            path.to_str().unwrap(),
            "--source",
            "hr-export",
            "--key",
            &key,
            "--url",
            &server.url,
            "--chunk-bytes",
            "20000",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1000 events stored, 1 rejected"),
        "{stdout}"
    );
    assert_eq!(server.total("class:physical_access AND door:D-3"), 143);
    assert_eq!(server.total("actor.badge:40007"), 1);
}
