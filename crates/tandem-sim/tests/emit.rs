//! The emitter against tiny loopback servers: checks the bytes on the wire.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use tandem_model::Timestamp;
use tandem_sim::{
    Channel, EmitError, Emitter, Org, Record, ScenarioKind, Simulator, SyslogTransport, run_live,
};

#[derive(Debug, Clone)]
struct Request {
    request_line: String,
    headers: HashMap<String, String>,
    body: String,
}

/// A one-request-per-connection HTTP server on 127.0.0.1 that records requests and answers
/// with `respond(request)`: (status, JSON body).
struct FakeHttp {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl FakeHttp {
    fn start(respond: fn(&Request) -> (u16, String)) -> FakeHttp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (reqs, halt) = (Arc::clone(&requests), Arc::clone(&stop));
        thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let req = read_request(&stream);
                let (status, body) = respond(&req);
                reqs.lock().unwrap().push(req);
                let mut s = stream;
                write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
        });
        FakeHttp {
            addr,
            requests,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn read_request(stream: &TcpStream) -> Request {
    let mut r = BufReader::new(stream);
    let mut request_line = String::new();
    r.read_line(&mut request_line).unwrap();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let len: usize = headers["content-length"].parse().unwrap();
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    Request {
        request_line: request_line.trim_end().to_owned(),
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

fn accept_all(req: &Request) -> (u16, String) {
    let n = req.body.lines().count();
    (
        200,
        format!(
            "{{\"accepted\":{},\"rejected\":{},\"dead_letters\":0}}",
            n - 1,
            1
        ),
    )
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn http(source: &str, t: &str, payload: &str) -> Record {
    Record {
        time: ts(t),
        channel: Channel::Http {
            source: source.into(),
        },
        payload: payload.into(),
    }
}

fn syslog(transport: SyslogTransport, t: &str, payload: &str) -> Record {
    Record {
        time: ts(t),
        channel: Channel::Syslog { transport },
        payload: payload.into(),
    }
}

fn keys() -> HashMap<String, String> {
    HashMap::from([
        ("badges".to_owned(), "k-badges".to_owned()),
        ("vpn".to_owned(), "k-vpn".to_owned()),
    ])
}

#[test]
fn http_batches_are_ndjson_per_source_with_bearer_keys() {
    let server = FakeHttp::start(accept_all);
    let emitter = Emitter::new(format!("{}/", server.url()), keys(), None, None);
    let mut records = vec![
        http("vpn", "2026-11-25T08:00:02Z", r#"{"n":"v1"}"#),
        http("badges", "2026-11-25T08:00:01Z", r#"{"n":"b2"}"#),
        http("badges", "2026-11-25T08:00:00Z", r#"{"n":"b1"}"#),
    ];
    let report = emitter.send(&records).unwrap();
    assert_eq!(report.http_requests, 2);
    assert_eq!(report.http_records, 3);
    assert_eq!((report.accepted, report.rejected), (1, 2));
    let reqs = server.requests();
    let badges = reqs
        .iter()
        .find(|r| r.request_line.contains("/badges"))
        .unwrap();
    assert_eq!(badges.request_line, "POST /api/v1/ingest/badges HTTP/1.1");
    assert_eq!(badges.headers["authorization"], "Bearer k-badges");
    assert_eq!(badges.headers["content-type"], "application/x-ndjson");
    assert_eq!(
        badges.body, "{\"n\":\"b1\"}\n{\"n\":\"b2\"}\n",
        "time order, one line each"
    );
    let vpn = reqs
        .iter()
        .find(|r| r.request_line.contains("/vpn"))
        .unwrap();
    assert_eq!(vpn.headers["authorization"], "Bearer k-vpn");

    // More than one batch's worth goes in several requests, in order.
    records = (0..5_001)
        .map(|i| http("badges", "2026-11-25T08:00:00Z", &format!("{{\"i\":{i}}}")))
        .collect();
    let report = emitter.send(&records).unwrap();
    assert_eq!(report.http_requests, 2);
    let reqs = server.requests();
    let big: Vec<&Request> = reqs.iter().skip(2).collect();
    assert_eq!(big[0].body.lines().count(), 5_000);
    assert_eq!(big[1].body, "{\"i\":5000}\n");
}

#[test]
fn http_errors_carry_status_and_message() {
    let server = FakeHttp::start(|_| (401, r#"{"error":"unknown API key"}"#.into()));
    let emitter = Emitter::new(server.url(), keys(), None, None);
    let err = emitter
        .send(&[http("badges", "2026-11-25T08:00:00Z", "{}")])
        .unwrap_err();
    match err {
        EmitError::Http {
            stream,
            status,
            message,
        } => {
            assert_eq!(
                (stream.as_str(), status, message.as_str()),
                ("badges", 401, "unknown API key")
            );
        }
        other => panic!("{other}"),
    }

    let server = FakeHttp::start(|_| (200, "not json".into()));
    let emitter = Emitter::new(server.url(), keys(), None, None);
    let err = emitter
        .send(&[http("badges", "2026-11-25T08:00:00Z", "{}")])
        .unwrap_err();
    assert!(matches!(err, EmitError::BadResponse { .. }), "{err}");

    // Missing key: refused before anything is sent.
    let err = emitter
        .send(&[http("cameras", "2026-11-25T08:00:00Z", "{}")])
        .unwrap_err();
    assert!(
        matches!(err, EmitError::MissingApiKey(ref s) if s == "cameras"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);

    // Nobody listening: an error, not a panic.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let emitter = Emitter::new(format!("http://{closed}"), keys(), None, None);
    let err = emitter
        .send(&[http("badges", "2026-11-25T08:00:00Z", "{}")])
        .unwrap_err();
    assert!(matches!(err, EmitError::Transport { .. }), "{err}");
    let err = emitter
        .send(&[syslog(SyslogTransport::Udp, "2026-11-25T08:00:00Z", "x")])
        .unwrap_err();
    assert!(matches!(err, EmitError::NoSyslogTarget), "{err}");
}

#[test]
fn syslog_udp_is_one_datagram_per_line() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let emitter = Emitter::new(
        "http://127.0.0.1:9",
        HashMap::new(),
        Some(sock.local_addr().unwrap()),
        None,
    );
    let lines = [
        "<38>Nov 25 08:00:01 srv-db-01 sshd[1]: second",
        "<38>Nov 25 08:00:00 srv-db-01 sshd[1]: first",
    ];
    let report = emitter
        .send(&[
            syslog(SyslogTransport::Udp, "2026-11-25T08:00:01Z", lines[0]),
            // With no TCP address, TCP records go over UDP too.
            syslog(SyslogTransport::Tcp, "2026-11-25T08:00:00Z", lines[1]),
        ])
        .unwrap();
    assert_eq!((report.syslog_udp, report.syslog_tcp), (2, 0));
    let mut buf = [0u8; 2048];
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], lines[1].as_bytes(), "time order, no newline");
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], lines[0].as_bytes());
}

/// Reads RFC 6587 octet-counted frames until `count` have arrived.
fn read_frames(stream: &mut TcpStream, count: usize) -> Vec<String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut data = Vec::new();
    let mut frames = Vec::new();
    let mut chunk = [0u8; 4096];
    while frames.len() < count {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed after {} frames", frames.len());
        data.extend_from_slice(&chunk[..n]);
        while let Some(sp) = data.iter().position(|&b| b == b' ') {
            let len: usize = std::str::from_utf8(&data[..sp]).unwrap().parse().unwrap();
            if data.len() < sp + 1 + len {
                break;
            }
            frames.push(String::from_utf8(data[sp + 1..sp + 1 + len].to_vec()).unwrap());
            data.drain(..sp + 1 + len);
        }
    }
    assert!(data.is_empty());
    frames
}

#[test]
fn syslog_tcp_uses_octet_counting_one_connection_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let emitter = Emitter::new("http://127.0.0.1:9", HashMap::new(), None, Some(addr));
    let msg = "<85>1 2026-11-25T08:03:10.000Z srv-app-02 sudo - - - bjørn : TTY=pts/0 ; COMMAND=/usr/bin/id";
    let batch = [
        syslog(SyslogTransport::Tcp, "2026-11-25T08:03:10Z", msg),
        syslog(
            SyslogTransport::Tcp,
            "2026-11-25T08:03:11Z",
            "<38>Nov 25 08:03:11 h sshd[2]: b",
        ),
    ];
    assert_eq!(emitter.send(&batch).unwrap().syslog_tcp, 2);
    let (mut conn, _) = listener.accept().unwrap();
    let mut raw = vec![0u8; format!("{} {msg}", msg.len()).len()];
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.read_exact(&mut raw).unwrap();
    assert_eq!(
        raw,
        format!("{} {msg}", msg.len()).into_bytes(),
        "LEN counts bytes, not characters"
    );
    assert_eq!(
        read_frames(&mut conn, 1),
        ["<38>Nov 25 08:03:11 h sshd[2]: b"]
    );

    // The same connection carries the next send.
    emitter.send(&batch[1..]).unwrap();
    assert_eq!(
        read_frames(&mut conn, 1),
        ["<38>Nov 25 08:03:11 h sshd[2]: b"]
    );
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "no second connection");
    listener.set_nonblocking(false).unwrap();

    // The receiver restarts: the emitter reconnects once and delivers.
    drop(conn);
    thread::sleep(Duration::from_millis(50));
    emitter.send(&batch[..1]).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    assert_eq!(read_frames(&mut conn, 1), [msg]);

    // The receiver is gone for good: an error.
    drop(conn);
    drop(listener);
    thread::sleep(Duration::from_millis(50));
    let err = emitter.send(&batch[..1]).unwrap_err();
    assert!(
        matches!(
            err,
            EmitError::Syslog {
                transport: "tcp",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn live_run_sends_the_simulation_and_injects_on_request() {
    let server = FakeHttp::start(|req| {
        let n = req.body.lines().count();
        (200, format!("{{\"accepted\":{n},\"rejected\":0}}"))
    });
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    // Drain the TCP syslog so the emitter never blocks.
    thread::spawn(move || {
        if let Ok((mut c, _)) = tcp.accept() {
            let mut sink = [0u8; 65536];
            while matches!(c.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    let emitter = Emitter::new(
        server.url(),
        HashMap::from([("*".to_owned(), "k".to_owned())]),
        Some(udp.local_addr().unwrap()),
        Some(tcp_addr),
    );
    let mut sim = Simulator::new(Org::generate(42, 120), 42);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    tx.send(ScenarioKind::ForcedDoor).unwrap();
    let gt_path =
        std::env::temp_dir().join(format!("tandem-sim-live-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&gt_path);
    let mut ticks = Vec::new();
    // 7,200× real time: each 500 ms tick is an hour of the working day. Stop after three
    // ticks, however slow the machine.
    let result = run_live(
        &mut sim,
        &emitter,
        ts("2026-11-25T07:00:00Z"),
        7_200.0,
        &stop,
        &rx,
        Some(&gt_path),
        &mut |p| {
            ticks.push(p.clone());
            if p.ticks >= 3 {
                stop.store(true, Ordering::Relaxed);
            }
        },
    );
    let done = result.unwrap();
    assert_eq!(done.ticks, 3, "{done:?}");
    assert!(done.sent > 100, "{done:?}");
    assert!(done.sim_now > ts("2026-11-25T08:30:00Z"));
    assert_eq!(ticks.last().unwrap(), &done);
    assert_eq!(ticks[0].injected.len(), 1);
    let posted: u64 = server
        .requests()
        .iter()
        .map(|r| r.body.lines().count() as u64)
        .sum();
    assert_eq!(done.accepted, posted);
    let gt = std::fs::read_to_string(&gt_path).unwrap();
    std::fs::remove_file(&gt_path).unwrap();
    assert_eq!(gt.lines().count(), 1);
    assert!(gt.contains("\"kind\":\"forced_door\""));
    // The forced door reached the server once the simulated clock passed it.
    let all: String = server.requests().iter().map(|r| r.body.clone()).collect();
    assert!(all.contains("\"activity\":\"forced\""));

    assert!(matches!(
        run_live(
            &mut sim,
            &emitter,
            ts("2026-11-25T07:00:00Z"),
            0.0,
            &stop,
            &rx,
            None,
            &mut |_| {}
        ),
        Err(tandem_sim::LiveError::Speedup(_))
    ));
}
