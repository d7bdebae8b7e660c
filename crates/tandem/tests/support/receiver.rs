//! A recording HTTP receiver on loopback, standing in for what Tandem notifies or acts on
//! (a Slack or Teams webhook, an access-control system, an identity provider's API): it
//! keeps every request it gets (method, path, headers, body) and answers `200 OK` with
//! `{"ok":true}`, or, on demand, fails the next requests with a chosen status, to prove
//! retries, dead letters and that a retried request is not run twice.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// A Slack incoming-webhook message about case `id`, as Tandem's `slack.json` writes
    /// it: a fallback text naming the case, blocks under a header, the link to `link`.
    /// Returns the message for more checks.
    pub fn slack_message(&self, id: &str, link: &str) -> serde_json::Value {
        let msg = self.json();
        assert!(msg["text"].as_str().unwrap().contains(id), "{msg}");
        assert_eq!(msg["blocks"][0]["type"], "header", "{msg}");
        assert!(msg.to_string().contains(link), "{msg}");
        msg
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Status for the next `failures` requests.
    failures: usize,
    failure_status: u16,
    /// When set, every request gets this status until cleared.
    always: Option<u16>,
}

/// Started with [`Receiver::start`]; runs until the test process ends.
pub struct Receiver {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Receiver { url, state }
    }

    /// Answers the next `n` requests with `status` (they are still recorded).
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut state = self.state.lock().unwrap();
        state.failures = n;
        state.failure_status = status;
    }

    /// Answers every request with `status` until called with `None`.
    pub fn fail_always(&self, status: Option<u16>) {
        self.state.lock().unwrap().always = status;
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until at least `n` requests have arrived, or panics after `timeout` with what
    /// did arrive.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "waited {timeout:?} for {n} requests, got {}: {got:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    // Keep-alive: answer requests on this connection until the client closes it.
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("/").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" || line == "\n" => break,
                Ok(_) => {
                    if let Some((name, value)) = line.split_once(':') {
                        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
                    }
                }
            }
        }
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length.min(16 << 20)];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let status = {
            let mut state = state.lock().unwrap();
            state.received.push(Received {
                method,
                path,
                headers,
                body,
            });
            if let Some(status) = state.always {
                status
            } else if state.failures > 0 {
                state.failures -= 1;
                state.failure_status
            } else {
                200
            }
        };
        let body: &[u8] = if status < 300 {
            br#"{"ok":true}"#
        } else {
            br#"{"ok":false,"error":"failing on purpose"}"#
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            if status < 300 { "OK" } else { "Failing" },
            body.len()
        );
        let mut out = &stream;
        if out.write_all(head.as_bytes()).is_err() || out.write_all(body).is_err() {
            return;
        }
        let _ = out.flush();
    }
}
