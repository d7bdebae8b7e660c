//! Vendor integrations through the real paths of a running server: HTTP ingest with source
//! keys, syslog over UDP and TCP, signed webhooks, and MQTT through a real Mosquitto broker.

mod support;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};
use support::TestServer;
use tandem_testkit::Mosquitto;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tandem-ingest/tests/fixtures"
);
const VERKADA_SECRET: &str = "whsec-test-6f1c";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{path}")).unwrap()
}

fn config(dir: &std::path::Path, mqtt_port: u16) -> std::path::PathBuf {
    let mapping =
        fixture("mapping/badge-mapping.toml").replace("[fields]", "[sources.mapping.fields]");
    let mapping: String = mapping
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let (head, fields) = mapping.split_once("[sources.mapping.fields]").unwrap();
    let text = format!(
        r#"
[[sources]]
name = "door-webhooks"
format = "verkada"
webhook_secret = "{VERKADA_SECRET}"

[[sources]]
name = "acme-badges"
format = "mapped"
api_key_sha256 = "{key}"
[sources.mapping]
{head}
[sources.mapping.fields]
{fields}

[[mqtt]]
source = "cameras"
format = "frigate"
prefix = "frigate"
broker = {{ host = "127.0.0.1", port = {mqtt_port}, client_id = "tandem-it" }}

[[mqtt]]
source = "sensors"
format = "iot"
broker = {{ host = "127.0.0.1", port = {mqtt_port}, client_id = "tandem-it-iot" }}
rules = [{{ topic = "zigbee2mqtt/+", device = "{{1}}", zone = "server-room" }}]
"#,
        key = hash("tsk_mapped_key"),
    );
    let path = dir.join("tandem.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn hash(key: &str) -> String {
    let out = support::tandem().args(["hash-key", key]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn eventually(server: &TestServer, q: &str, at_least: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = server.total(q);
        if n >= at_least {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "`{q}`: expected at least {at_least}, found {n}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_integration_reaches_the_store_through_its_real_path() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), broker.port);
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[("TANDEM_CONFIG", config.to_str().unwrap())],
    );

    // Okta: an event-hook delivery (one JSON document with several events), after Okta's
    // one-time verification handshake.
    let okta_key = server.add_source("okta", "okta");
    let mut verify = TestServer::agent()
        .get(format!("{}/api/v1/ingest/okta", server.url))
        .header("Authorization", format!("Bearer {okta_key}"))
        .header("X-Okta-Verification-Challenge", "chal-123")
        .call()
        .unwrap();
    assert_eq!(
        verify.body_mut().read_to_string().unwrap(),
        r#"{"verification":"chal-123"}"#
    );
    let (status, report) = server.ingest(
        "okta",
        &okta_key,
        fixture("okta/event-hook-delivery.json").as_bytes(),
        &[],
    );
    assert_eq!(status, 200, "{report}");
    assert!(
        report["accepted"].as_u64().unwrap() >= 1 && report["rejected"] == 0,
        "{report}"
    );
    assert!(server.total("source:okta AND class:authentication") >= 1);

    // Entra ID: a Graph page; Windows: Winlogbeat lines; Zeek: TSV with headers.
    for (name, format, file, query) in [
        (
            "entra",
            "entra",
            "entra/graph-page.json",
            "source:entra AND class:authentication",
        ),
        (
            "windows",
            "windows",
            "windows/winlogbeat.jsonl",
            "source:windows AND winlog.event_id:4624",
        ),
        (
            "zeek",
            "zeek",
            "zeek/conn.log",
            "source:zeek AND class:network_activity",
        ),
    ] {
        let key = server.add_source(name, format);
        let (status, report) = server.ingest(name, &key, fixture(file).as_bytes(), &[]);
        assert_eq!(status, 200, "{name}: {report}");
        assert_eq!(report["rejected"], 0, "{name}: {report}");
        assert!(server.total(query) >= 1, "{name}: nothing for `{query}`");
    }

    // A mapped JSON source declared in the configuration.
    let (status, report) = server.ingest(
        "acme-badges",
        "tsk_mapped_key",
        fixture("mapping/badge-events.jsonl").as_bytes(),
        &[],
    );
    assert_eq!(status, 200, "{report}");
    assert!(server.total("source:acme-badges AND class:physical_access AND activity:denied") >= 1);

    // Access-control CEF over syslog, UDP and TCP, into the shared syslog source.
    let cef: Vec<String> = fixture("cef/access-control.log")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(cef[0].as_bytes(), server.syslog_udp.unwrap())
        .unwrap();
    let mut tcp = TcpStream::connect(server.syslog_tcp.unwrap()).unwrap();
    tcp.write_all(format!("{}\n", cef[1]).as_bytes()).unwrap();
    drop(tcp);
    eventually(
        &server,
        "source:syslog AND class:physical_access AND activity:granted",
        1,
    );
    eventually(
        &server,
        "source:syslog AND class:physical_access AND activity:denied",
        1,
    );

    // Verkada webhook: signed is stored; unsigned or wrongly signed is refused and counted.
    let body = fixture("verkada/door_forced_open.json");
    let now = chrono::Utc::now().timestamp();
    let good =
        tandem_ingest::integrations::verkada::sign(VERKADA_SECRET.as_bytes(), now, body.as_bytes());
    let bad = tandem_ingest::integrations::verkada::sign(b"not-the-secret", now, body.as_bytes());
    let post = |signature: Option<&str>| {
        let mut req =
            TestServer::agent().post(format!("{}/api/v1/webhooks/door-webhooks", server.url));
        if let Some(s) = signature {
            req = req.header("Verkada-Signature", s);
        }
        let started = Instant::now();
        let resp = req.send(body.as_bytes()).unwrap();
        (resp.status().as_u16(), started.elapsed())
    };
    assert_eq!(post(Some(&bad)).0, 401);
    assert_eq!(post(None).0, 401);
    assert_eq!(server.total("source:door-webhooks"), 0);
    let (status, took) = post(Some(&good));
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(2),
        "webhook answered in {took:?}"
    );
    assert_eq!(server.total("source:door-webhooks AND activity:forced"), 1);
    let mut metrics = TestServer::agent()
        .get(format!("{}/metrics", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .call()
        .unwrap();
    let metrics = metrics.body_mut().read_to_string().unwrap();
    assert!(
        metrics.lines().any(|l| l.contains("door-webhooks")
            && l.contains("bad_signature")
            && l.ends_with(" 2")),
        "bad signatures not counted"
    );

    // Frigate and IoT over MQTT through Mosquitto.
    let frigate: Vec<(String, Vec<u8>)> = fixture("frigate/messages.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(t, _)| t.starts_with("frigate/"))
        .map(|(t, p)| (t.to_owned(), p.as_bytes().to_vec()))
        .collect();
    // Give the subscriptions a moment to be in place on a fresh broker session.
    std::thread::sleep(Duration::from_millis(500));
    tandem_testkit::mqtt_publish(broker.port, &frigate);
    tandem_testkit::mqtt_publish(
        broker.port,
        &[(
            "zigbee2mqtt/door-sensor-1".into(),
            br#"{"contact":false,"temperature":21.5}"#.to_vec(),
        )],
    );
    eventually(&server, "source:cameras AND class:video_detection", 1);
    eventually(&server, "source:sensors AND class:device_telemetry", 1);

    // Every source shows up with its health.
    let (_, sources) = server.get("/api/v1/sources", &[]);
    for name in [
        "okta",
        "entra",
        "windows",
        "zeek",
        "acme-badges",
        "door-webhooks",
        "cameras",
        "sensors",
        "syslog",
    ] {
        assert!(
            sources
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["name"] == name),
            "{name} missing: {sources}"
        );
    }
    server.terminate();
}

/// Waits until `check` holds, up to 30 s.
fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(x) = check() {
            return x;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The id of the forced-door-with-a-person finding at `door`, once stored.
fn camera_finding(server: &TestServer, door: &str) -> String {
    until(&format!("the finding at {door}"), || {
        let r = server.search(&format!(
            "class:detection_finding AND finding.rule_id:tandem.forced_door_with_person AND door:\"{door}\""
        ));
        r["events"][0]["id"].as_str().map(str::to_owned)
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A door forced with a person on its Frigate camera: the finding names the camera event,
/// whose snapshot Tandem fetches from Frigate's HTTP API once (a restart fetches nothing
/// again), keeps by SHA-256 under the data directory and shows on the finding and the camera
/// event, served as a JPEG that is never sniffed, with a link to the clip. A recorder that
/// answers an oversize picture, a web page or bytes that are no JPEG gets nothing stored, and
/// the finding says why.
#[test]
fn a_finding_shows_the_snapshot_of_its_camera_event_fetched_once_from_frigate() {
    use support::frigate::{self, FakeFrigate};
    let broker = Mosquitto::start();
    let nvr = FakeFrigate::start();
    let dir = tempfile::tempdir().unwrap();
    let config = frigate::config(dir.path(), broker.port, &nvr.url);
    let data = dir.path().join("data");
    let env = [("TANDEM_CONFIG", config.to_str().unwrap())];
    let server = TestServer::start(&data, None, &env);
    let (status, plan) = server.post(
        "/api/v1/directory/records?file=places.yaml",
        frigate::PLACES,
    );
    assert_eq!(status, 200, "{plan}");
    let key = server.add_source("doors", "tandem");

    let now = chrono::Utc::now().timestamp();
    let ids = [
        ("cam_a", "hq-door-a", format!("{now}.100001-good01")),
        ("cam_b", "hq-door-b", format!("{now}.100002-huge01")),
        ("cam_c", "hq-door-c", format!("{now}.100003-html01")),
    ];
    std::thread::sleep(Duration::from_millis(500));
    let seen: Vec<_> = ids
        .iter()
        .map(|(cam, _, id)| frigate::person_seen(cam, id))
        .collect();
    tandem_testkit::mqtt_publish(broker.port, &seen);
    eventually(&server, "source:cameras AND class:video_detection", 3);
    let alarms: String = ids
        .iter()
        .map(|(_, door, _)| frigate::door_forced(door) + "\n")
        .collect();
    let (status, report) = server.ingest("doors", &key, alarms.as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");

    let admin = server.admin_console();
    let good = camera_finding(&server, "hq-door-a");
    let page = until("the snapshot on the finding", || {
        let page = admin.get(&format!("/findings/{good}"));
        let body = page.body.replace("&#x2f;", "/");
        body.contains("/snapshots/").then_some(body)
    });
    let sha = sha256_hex(frigate::SNAPSHOT);
    assert!(
        page.contains(&format!("src=\"/snapshots/{sha}.jpg\"")),
        "{page}"
    );
    assert!(page.contains("Camera snapshots"), "{page}");
    // The camera by the directory's name for it.
    assert!(
        page.contains("<strong>Front door camera</strong>"),
        "{page}"
    );
    assert!(page.contains("Open clip on the NVR"), "{page}");
    assert!(
        page.contains(&format!("{}/api/events/{}/clip.mp4", nvr.url, ids[0].2)),
        "{page}"
    );
    // The door's alarm carries the same picture, so the control room sees who forced it.
    let queue = until("the snapshot on the door's alarm", || {
        let page = admin.get("/alarms");
        let body = page.body.replace("&#x2f;", "/");
        body.contains(&format!("src=\"/snapshots/{sha}.jpg\""))
            .then_some(body)
    });
    assert!(
        queue.contains("Snapshot from camera Front door camera"),
        "{queue}"
    );

    // Served as the JPEG it is, to a signed-in analyst only.
    let mut resp = support::no_redirects()
        .get(format!("{}/snapshots/{sha}.jpg", server.url))
        .header("Cookie", &admin.cookie)
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.body_mut().read_to_vec().unwrap(), frigate::SNAPSHOT);
    let anonymous = support::no_redirects()
        .get(format!("{}/snapshots/{sha}.jpg", server.url))
        .call()
        .unwrap();
    assert_ne!(anonymous.status(), 200);
    assert_eq!(admin.get("/snapshots/../tandem.db").status, 404);
    // Kept by its hash under the data directory.
    assert_eq!(
        std::fs::read(data.join(format!("snapshots/{sha}.jpg"))).unwrap(),
        frigate::SNAPSHOT
    );

    // The camera event's own page shows it too.
    let camera_event = server.search(&format!("source:cameras AND \"{}\"", ids[0].2))["events"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        admin
            .get(&format!("/events/{camera_event}"))
            .body
            .replace("&#x2f;", "/")
            .contains(&format!("/snapshots/{sha}.jpg"))
    );

    // A recorder's oversize picture and its sign-in page are refused, with the reason shown.
    let huge = camera_finding(&server, "hq-door-b");
    let page = until("the refusal on the finding", || {
        let page = admin.get(&format!("/findings/{huge}"));
        let body = page.body.replace("&#x2f;", "/");
        body.contains("No picture").then_some(body)
    });
    assert!(page.contains("larger than the 512 KiB allowed"), "{page}");
    let html = camera_finding(&server, "hq-door-c");
    let page = until("the refusal on the finding", || {
        let page = admin.get(&format!("/findings/{html}"));
        let body = page.body.replace("&#x2f;", "/");
        body.contains("No picture").then_some(body)
    });
    assert!(
        page.contains("Frigate sent text/html, not a JPEG"),
        "{page}"
    );
    let files: Vec<_> = std::fs::read_dir(data.join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 1, "only the good snapshot is kept: {files:?}");
    let snapshot_path = |id: &str| format!("/api/events/{id}/snapshot.jpg");
    assert_eq!(nvr.requests(&snapshot_path(&ids[0].2)), 1);
    assert_eq!(nvr.requests(&snapshot_path(&ids[1].2)), 1);
    assert_eq!(nvr.requests(&snapshot_path(&ids[2].2)), 1);

    // After a restart, only a new camera event is fetched; the same picture shares the file.
    let token = server.token.clone();
    let password = server.admin_password.clone().expect("first start");
    server.terminate();
    let server = TestServer::start(&data, Some(&token), &env);
    let late = format!("{now}.100004-good02");
    tandem_testkit::mqtt_publish(broker.port, &[frigate::person_seen("cam_d", &late)]);
    eventually(&server, "source:cameras AND class:video_detection", 4);
    let (status, report) = server.ingest(
        "doors",
        &key,
        (frigate::door_forced("hq-door-d") + "\n").as_bytes(),
        &[],
    );
    assert_eq!(status, 200, "{report}");
    let roof = camera_finding(&server, "hq-door-d");
    let admin = server
        .sign_in("admin", &password)
        .expect("admin signs in again");
    until("the second snapshot", || {
        admin
            .get(&format!("/findings/{roof}"))
            .body
            .replace("&#x2f;", "/")
            .contains(&format!("/snapshots/{sha}.jpg"))
            .then_some(())
    });
    assert_eq!(nvr.requests(&snapshot_path(&late)), 1);
    assert_eq!(nvr.total(), 4, "nothing was fetched twice");
    assert_eq!(
        std::fs::read_dir(data.join("snapshots")).unwrap().count(),
        1
    );
    server.terminate();
}
