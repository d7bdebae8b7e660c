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
