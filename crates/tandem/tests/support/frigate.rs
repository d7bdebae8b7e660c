//! A stand-in for Frigate's HTTP API on loopback: `GET /api/events/<id>/snapshot.jpg`
//! answers as Frigate does, with a real JPEG (`tests/fixtures/frigate/snapshot.jpg`), and
//! counts every request by path. Ids choose the answer, to replay a misbehaving recorder:
//! one containing `huge` gets a JPEG of 3 MiB, `html` a login page (`text/html`),
//! `fake` bytes declared `image/jpeg` that are no JPEG; any other a real snapshot.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// The snapshot every well-behaved id gets.
pub const SNAPSHOT: &[u8] = include_bytes!("../fixtures/frigate/snapshot.jpg");

pub struct FakeFrigate {
    pub url: String,
    requests: Arc<Mutex<HashMap<String, usize>>>,
}

impl FakeFrigate {
    pub fn start() -> FakeFrigate {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(HashMap::new()));
        let counted = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counted = counted.clone();
                std::thread::spawn(move || answer(stream, &counted));
            }
        });
        FakeFrigate { url, requests }
    }

    /// How many times `path` was asked for.
    pub fn requests(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Every request made so far.
    pub fn total(&self) -> usize {
        self.requests.lock().unwrap().values().sum()
    }
}

fn answer(stream: TcpStream, counted: &Mutex<HashMap<String, usize>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let path = target.split('?').next().unwrap_or("/").to_owned();
    *counted.lock().unwrap().entry(path.clone()).or_default() += 1;
    let id = path
        .strip_prefix("/api/events/")
        .and_then(|r| r.strip_suffix("/snapshot.jpg"));
    let (status, content_type, body): (&str, &str, Vec<u8>) = match id {
        None => (
            "404 Not Found",
            "application/json",
            br#"{"success":false,"message":"Not found"}"#.to_vec(),
        ),
        Some(id) if id.contains("huge") => {
            let mut big = SNAPSHOT.to_vec();
            big.resize(3 * 1024 * 1024, 0);
            ("200 OK", "image/jpeg", big)
        }
        Some(id) if id.contains("html") => (
            "200 OK",
            "text/html; charset=utf-8",
            b"<!doctype html><title>Sign in</title><form>...</form>".to_vec(),
        ),
        Some(id) if id.contains("fake") => (
            "200 OK",
            "image/jpeg",
            b"GIF89a this is not what it says".to_vec(),
        ),
        Some(_) => ("200 OK", "image/jpeg", SNAPSHOT.to_vec()),
    };
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}

/// A site whose doors each have a Frigate camera (`cam_a` watches `hq-door-a`, …).
pub const PLACES: &str = "
places:
  - { id: hq, kind: site, name: HQ, lat: 59.91, lon: 10.75 }
  - { id: hq-lobby, kind: zone, name: Lobby, parent: hq }
  - { id: hq-door-a, kind: door, name: Front door, parent: hq-lobby }
  - { id: hq-door-b, kind: door, name: Loading dock, parent: hq-lobby }
  - { id: hq-door-c, kind: door, name: Server room door, parent: hq-lobby }
  - { id: hq-door-d, kind: door, name: Roof door, parent: hq-lobby }
  - { id: hq-cam-a, kind: camera, name: Front door camera, parent: hq-door-a, external_ids: { frigate: cam_a } }
  - { id: hq-cam-b, kind: camera, name: Loading dock camera, parent: hq-door-b, external_ids: { frigate: cam_b } }
  - { id: hq-cam-c, kind: camera, name: Server room camera, parent: hq-door-c, external_ids: { frigate: cam_c } }
  - { id: hq-cam-d, kind: camera, name: Roof camera, parent: hq-door-d, external_ids: { frigate: cam_d } }
";

/// `tandem.toml` for a server that takes Frigate's MQTT events from `broker_port` and its
/// snapshots from `frigate_url`, plus a `doors` source (Tandem JSON) for door alarms.
pub fn config(dir: &std::path::Path, broker_port: u16, frigate_url: &str) -> std::path::PathBuf {
    let path = dir.join("tandem.toml");
    std::fs::write(
        &path,
        format!(
            "[[mqtt]]\nsource = \"cameras\"\nformat = \"frigate\"\nprefix = \"frigate\"\n\
             broker = {{ host = \"127.0.0.1\", port = {broker_port}, client_id = \"tandem-snap\" }}\n\n\
             [frigate]\nurl = \"{frigate_url}\"\nmax_snapshot_kib = 512\nattempts = 1\n"
        ),
    )
    .unwrap();
    path
}

/// Frigate's `frigate/events` message for a person newly seen by `camera`, now.
pub fn person_seen(camera: &str, id: &str) -> (String, Vec<u8>) {
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    let after = serde_json::json!({
        "id": id, "camera": camera, "frame_time": now, "label": "person", "sub_label": null,
        "top_score": 0.91, "false_positive": false, "start_time": now, "end_time": null,
        "score": 0.91, "current_zones": [], "entered_zones": [], "has_snapshot": true,
        "has_clip": true
    });
    let message = serde_json::json!({"type": "new", "before": after, "after": after});
    (
        "frigate/events".to_owned(),
        message.to_string().into_bytes(),
    )
}

/// A door alarm in Tandem JSON: `door` forced open now.
pub fn door_forced(door: &str) -> String {
    serde_json::json!({"time": chrono::Utc::now().to_rfc3339(), "class": "physical_access",
        "activity": "forced", "outcome": "failure", "message": "Door forced open",
        "place": {"door": door}})
    .to_string()
}
