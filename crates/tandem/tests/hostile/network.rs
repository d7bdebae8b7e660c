//! Hostile input: network. Unauthenticated senders holding connections open (syslog TCP and
//! HTTP), names from URLs turned into metric labels, and signed webhooks sent again.

use crate::support::{self, TestServer};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Far longer than any timeout the tests configure: a connection still open after this was
/// not closed by the server.
const GENEROUS: Duration = Duration::from_secs(30);

fn server(dir: &tempfile::TempDir, env: &[(&str, &str)]) -> TestServer {
    TestServer::start(&dir.path().join("data"), None, env)
}

/// The Prometheus text of `/metrics`.
fn metrics(server: &TestServer) -> String {
    let mut resp = TestServer::agent()
        .get(format!("{}/metrics", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .call()
        .expect("request sent");
    assert_eq!(resp.status().as_u16(), 200);
    resp.body_mut().read_to_string().unwrap()
}

/// The value of the sample `name{labels}` in `/metrics`, if it is there.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Whether the server closes `stream` (EOF or reset) within [`GENEROUS`], reading and
/// discarding anything it sends first.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(GENEROUS)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).expect("connects")
}

/// Polls `/metrics` until `series` reads `value`.
fn wait_for_sample(server: &TestServer, series: &str, value: f64) {
    let deadline = Instant::now() + GENEROUS;
    loop {
        let text = metrics(server);
        if sample(&text, series) == Some(value) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never read {value}:\n{}",
            text.lines()
                .filter(|l| l.contains("connections"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn dead_letters(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/dead-letters", &[("source", "syslog")]);
    assert_eq!(status, 200, "{body}");
    body.as_array().cloned().unwrap_or_default()
}

/// 600 connections each announcing a 1 MB frame once raised the server's memory by half a
/// gigabyte. Now connections past the cap are closed at once and counted, a frame announced
/// over the message limit is refused without buffering, the frames the held connections had
/// begun are kept as dead letters when they close, and a fresh sender is served.
#[test]
fn syslog_tcp_connections_past_the_cap_are_closed_and_cut_frames_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, &[("TANDEM_SYSLOG__MAX_TCP_CONNECTIONS", "4")]);
    let addr = server.syslog_tcp.unwrap();
    // Four senders take every slot: three announce a large frame and send its start, the
    // fourth sends half of a real message.
    let mut held: Vec<TcpStream> = (0..3)
        .map(|i| {
            let mut s = connect(addr);
            write!(s, "60000 <13>held-{i} ").unwrap();
            s.flush().unwrap();
            s
        })
        .collect();
    let message = "<38>Nov 25 08:01:02 web-7 sshd[11]: Accepted password for held.three from 10.0.0.7 port 22 ssh2";
    let framed = format!("{} {message}", message.len());
    let (first, rest) = framed.split_at(30);
    let mut fourth = connect(addr);
    fourth.write_all(first.as_bytes()).unwrap();
    wait_for_sample(&server, "tandem_connections_open{path=\"syslog_tcp\"}", 4.0);
    // Three more are closed at once, whatever they send.
    for _ in 0..3 {
        let mut extra = connect(addr);
        let _ = extra.write_all(b"1000000 <13>more");
        assert!(
            closed_by_server(&mut extra),
            "a connection past the cap was kept open"
        );
    }
    let text = metrics(&server);
    assert_eq!(
        sample(
            &text,
            "tandem_connections_refused_total{path=\"syslog_tcp\"}"
        ),
        Some(3.0)
    );
    // The fourth finishes its message, then announces a frame over the 64 KiB message
    // limit: skipped without being buffered and kept as a dead letter.
    fourth.write_all(rest.as_bytes()).unwrap();
    fourth
        .write_all(b"1000000 <38>Nov 25 08:01:02 web-7 app: way too long")
        .unwrap();
    fourth.flush().unwrap();
    server.wait_for("user:held.three", 1);
    drop(fourth);
    // The others hang up mid-frame.
    held.clear();
    wait_for_sample(&server, "tandem_connections_open{path=\"syslog_tcp\"}", 0.0);

    let deadline = Instant::now() + GENEROUS;
    let letters = loop {
        let letters = dead_letters(&server);
        if letters.len() >= 4 || Instant::now() > deadline {
            break letters;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let reasons: Vec<&str> = letters
        .iter()
        .map(|l| l["reason"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("stream ended") && r.contains("octet-counted frame of 60000"))
            .count(),
        3,
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("frame of 1000000 bytes is over the 65536-byte limit")),
        "{reasons:?}"
    );
    assert!(
        letters
            .iter()
            .any(|l| l["raw"].as_str().unwrap_or_default().contains("held-0")),
        "the cut frame's bytes are kept: {letters:?}"
    );
    // A fresh sender is served.
    let mut fresh = connect(addr);
    fresh
        .write_all(b"<38>Nov 25 08:01:02 web-7 sshd[11]: Accepted password for fresh.sender from 10.0.0.7 port 22 ssh2\n")
        .unwrap();
    drop(fresh);
    server.wait_for("user:fresh.sender", 1);
}

/// A syslog connection that sends nothing is closed after the idle timeout; one that stops in
/// the middle of a line is closed too, and the half line kept as a dead letter saying why.
#[test]
fn idle_syslog_tcp_connections_are_closed_and_their_half_frames_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, &[("TANDEM_SYSLOG__TCP_IDLE_TIMEOUT_SECS", "1")]);
    let addr = server.syslog_tcp.unwrap();
    let mut silent = connect(addr);
    let mut half = connect(addr);
    half.write_all(b"<13>Nov 25 08:01:02 web-7 app: half a li")
        .unwrap();
    assert!(
        closed_by_server(&mut silent),
        "a silent connection was kept"
    );
    assert!(closed_by_server(&mut half), "a stalled connection was kept");
    let deadline = Instant::now() + GENEROUS;
    let letters = loop {
        let letters = dead_letters(&server);
        if !letters.is_empty() || Instant::now() > deadline {
            break letters;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(letters.len(), 1, "{letters:?}");
    let reason = letters[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("no complete message for 1 s")
            && reason.contains("a line of 40 bytes without its newline"),
        "{reason}"
    );
    assert_eq!(
        letters[0]["raw"],
        "<13>Nov 25 08:01:02 web-7 app: half a li"
    );
    let text = metrics(&server);
    assert_eq!(
        sample(
            &text,
            "tandem_events_rejected_total{source=\"syslog\",reason=\"truncated_frame\"}"
        ),
        Some(1.0)
    );
}

/// A thousand idle connections once took every file descriptor and the console stopped
/// answering. Now the server holds at most `http.max_connections`, closes connections that
/// send no request within the header timeout, and answers a new client once they are gone.
#[test]
fn idle_http_connections_are_capped_and_closed_and_the_console_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(
        &dir,
        &[
            ("TANDEM_HTTP__MAX_CONNECTIONS", "8"),
            ("TANDEM_HTTP__HEADER_READ_TIMEOUT_SECS", "2"),
        ],
    );
    let addr: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let mut idle: Vec<TcpStream> = (0..30).map(|_| connect(addr)).collect();
    // Served once the idle ones in front of it have been closed; while they wait, the
    // server has at most 8 connections open, this one included.
    let text = metrics(&server);
    let open = sample(&text, "tandem_connections_open{path=\"http\"}").expect("gauge");
    assert!((1.0..=8.0).contains(&open), "{open} HTTP connections open");
    let mut health = TestServer::agent()
        .get(format!("{}/healthz", server.url))
        .call()
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(
        health.body_mut().read_json::<Value>().unwrap()["status"],
        "ok"
    );
    for stream in &mut idle {
        assert!(closed_by_server(stream), "an idle HTTP connection was kept");
    }
}

/// A client that sends part of its headers and stops (slowloris) is closed after the header
/// timeout instead of holding its connection for ever.
#[test]
fn a_partial_http_header_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, &[("TANDEM_HTTP__HEADER_READ_TIMEOUT_SECS", "1")]);
    let addr: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let mut slow = connect(addr);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: tandem\r\nX-Slow: 1")
        .unwrap();
    assert!(
        closed_by_server(&mut slow),
        "a connection with half its headers was kept"
    );
    // A kept-alive connection that goes quiet after its answer is closed as well.
    let mut keep = connect(addr);
    keep.write_all(b"GET /healthz HTTP/1.1\r\nHost: tandem\r\n\r\n")
        .unwrap();
    assert!(
        closed_by_server(&mut keep),
        "an idle kept-alive connection was kept"
    );
}

/// The open-files soft limit is raised to the hard limit at start, so the connection caps,
/// not the descriptor table, decide what the server holds.
#[cfg(target_os = "linux")]
#[test]
fn the_open_files_limit_is_raised_to_the_hard_limit() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let mut hard = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct it is given.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut hard) },
        0
    );
    let low = hard.rlim_max.min(512);
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = support::tandem();
    cmd.arg("serve")
        .env("TANDEM_DATA_DIR", dir.path().join("data"))
        .env("TANDEM_HTTP__LISTEN", "127.0.0.1:0")
        .env("TANDEM_SYSLOG__UDP", "127.0.0.1:0")
        .env("TANDEM_SYSLOG__TCP", "127.0.0.1:0")
        .env("TANDEM_LOG", "error")
        .env_remove("TANDEM_CONFIG")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped());
    // SAFETY: the closure only calls setrlimit, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let lowered = libc::rlimit {
                rlim_cur: low,
                rlim_max: hard.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lowered);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    // Kept open until the server is stopped, so that it never writes to a closed pipe.
    let mut lines = std::io::BufReader::new(stdout).lines();
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("syslog tcp:"));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    drop(lines);
    assert!(started, "the server did not start");
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a line for open files");
    let numbers: Vec<&str> = open_files.split_whitespace().skip(3).take(2).collect();
    assert_eq!(
        numbers[0], numbers[1],
        "soft limit not raised to the hard one: {open_files}"
    );
}

/// Source names from the URL once became metric labels before the key was checked, so
/// anyone could add time series without end. Unknown names now share one label.
#[test]
fn unknown_source_names_do_not_become_metric_labels() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, &[]);
    let names: Vec<String> = (0..50)
        .map(|i| format!("probe-{i}-{}", std::process::id()))
        .collect();
    for name in &names {
        let (status, _) = server.ingest(name, "no-such-key", b"{}\n", &[]);
        assert_eq!(status, 404, "{name}");
    }
    let text = metrics(&server);
    for name in &names {
        assert!(!text.contains(name.as_str()), "{name} became a label");
    }
    assert_eq!(
        sample(
            &text,
            "tandem_events_rejected_total{source=\"unknown\",reason=\"unknown_source\"}"
        ),
        Some(50.0)
    );
}

/// The same signed Verkada delivery sent three times was stored three times. Now the copies
/// are answered 200 (so a sender stops retrying) but not stored, and counted.
#[test]
fn a_replayed_webhook_delivery_is_stored_once_and_counted() {
    const SECRET: &str = "whsec-hostile-1";
    let dir = tempfile::tempdir().unwrap();
    let sources = format!(
        "[{{name = \"door-webhooks\", format = \"verkada\", webhook_secret = \"{SECRET}\"}}]"
    );
    let server = server(&dir, &[("TANDEM_SOURCES", &sources)]);
    let body = include_str!("../../../tandem-ingest/tests/fixtures/verkada/door_forced_open.json");
    let signature = tandem_ingest::integrations::verkada::sign(
        SECRET.as_bytes(),
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    );
    let answers: Vec<(u16, Value)> = (0..3)
        .map(|_| {
            let mut resp = TestServer::agent()
                .post(format!("{}/api/v1/webhooks/door-webhooks", server.url))
                .header("Verkada-Signature", &signature)
                .send(body.as_bytes())
                .unwrap();
            (
                resp.status().as_u16(),
                resp.body_mut().read_json().unwrap_or_default(),
            )
        })
        .collect();
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert_eq!(answers[0].1["accepted"], 1, "{answers:?}");
    assert_eq!(answers[1].1["duplicate"], true, "{answers:?}");
    assert_eq!(answers[2].1["accepted"], 0, "{answers:?}");
    assert_eq!(server.total("source:door-webhooks"), 1);
    let text = metrics(&server);
    assert_eq!(
        sample(
            &text,
            "tandem_events_rejected_total{source=\"door-webhooks\",reason=\"replay\"}"
        ),
        Some(2.0)
    );
}
