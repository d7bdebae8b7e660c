//! Physical events named only by the vendors' ids land on their doors: a places file with
//! external ids loaded through the API, a signed Verkada delivery without `door_info` and a
//! CEF line naming the door by its GUID over syslog TCP, all through a running server; and
//! what does not resolve shows in the gap report with the identifier to map. The vendors'
//! documentation examples (Verkada without `door_info`, Frigate with its own camera and zone
//! names, over MQTT) land on the doors the places file maps.

mod support;

use serde_json::Value;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::TestServer;

const SECRET: &str = "whsec-phys-ids";

const PLACES: &str = "
places:
  - { id: osl, kind: site, name: Oslo HQ, lat: 59.91, lon: 10.75, country: NO, city: Oslo,
      external_ids: { verkada: f53e3b84-e534-4de5-821c-5263d96d3623 } }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-lobby, kind: zone, name: Lobby, parent: osl-a }
  - { id: osl-srv, kind: zone, name: Server room, parent: osl-a, restricted: true }
  - { id: osl-lobby-east, kind: door, name: Lobby east, parent: osl-lobby,
      external_ids: { verkada: 8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42 } }
  - { id: osl-srv-door, kind: door, name: Server room door, parent: osl-srv }
";

fn verkada_body(door_id: &str, created: i64) -> String {
    serde_json::json!({
        "webhook_type": "notification",
        "webhook_id": "2fd2826d-4645-47ac-b0e6-a4b2ae634480",
        "org_id": "1455hjew-ghg5-4125-a1a7-954ea4e911fe",
        "created_at": created,
        "data": {
            "notification_type": "door_granted",
            "device_id": "0c81dca6-8fe9-40fa-b924-f3d07e920b6b",
            "created": created,
            "event_id": format!("evt-{door_id}"),
            "device_type": "access_control",
            "door_id": door_id,
            "direction": "Inbound",
            "input_value": "40123",
            "user_info": {"user_id": "a1b2c3d4", "name": "Jane Doe"}
        }
    })
    .to_string()
}

fn deliver(server: &TestServer, body: &str) {
    let now = chrono::Utc::now().timestamp();
    let signature =
        tandem_ingest::integrations::verkada::sign(SECRET.as_bytes(), now, body.as_bytes());
    let mut resp = TestServer::agent()
        .post(format!("{}/api/v1/webhooks/doors", server.url))
        .header("Verkada-Signature", &signature)
        .header("Content-Type", "application/json")
        .send(body.as_bytes())
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 200, "{text}");
}

fn eventually(server: &TestServer, q: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = server.search(q);
        if found["total"].as_u64().unwrap_or(0) >= 1 {
            return found["events"][0].clone();
        }
        assert!(Instant::now() < deadline, "nothing for `{q}`");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn place_gaps(server: &TestServer, source: &str) -> Value {
    let (status, gaps) = server.get("/api/v1/directory/gaps", &[]);
    assert_eq!(status, 200, "{gaps}");
    gaps["sources"][source]["resolution"]["place"].clone()
}

#[test]
fn vendor_ids_put_physical_events_on_their_doors_and_unknown_ids_show_as_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            "[[sources]]\nname = \"doors\"\nformat = \"verkada\"\nwebhook_secret = \"{SECRET}\"\n"
        ),
    )
    .unwrap();
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[("TANDEM_CONFIG", config.to_str().unwrap())],
    );

    // The places file, through the API.
    let mut resp = TestServer::agent()
        .post(format!(
            "{}/api/v1/directory/records?file=places.yaml",
            server.url
        ))
        .header("Authorization", format!("Bearer {}", server.token))
        .send(PLACES.as_bytes())
        .unwrap();
    let plan: Value = resp.body_mut().read_json().unwrap();
    assert_eq!(plan["plan"]["new"], 6, "{plan}");
    let (_, places) = server.get("/api/v1/places/osl-lobby-east", &[]);
    assert_eq!(
        places["place"]["external_ids"]["verkada"],
        "8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42"
    );

    // Verkada, signed, without door_info: only Verkada's door id says where.
    let now = chrono::Utc::now().timestamp();
    deliver(
        &server,
        &verkada_body("8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42", now),
    );
    let e = eventually(&server, "source:doors AND door:\"osl-lobby-east\"");
    assert_eq!(e["place"]["zone"], "osl-lobby", "{e}");
    assert_eq!(e["place"]["site"], "osl", "{e}");
    assert_eq!(
        e["place"]["ids"]["door"],
        "8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42"
    );

    // The server room door's Genetec GUID, set through the API.
    let mut resp = TestServer::agent()
        .put(format!(
            "{}/api/v1/places/osl-srv-door/external_ids",
            server.url
        ))
        .header("Authorization", format!("Bearer {}", server.token))
        .send_json(serde_json::json!({"genetec": "0a9b8c7d-0000-4000-8000-00000000d001"}))
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.body_mut().read_json().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["place"]["external_ids"]["genetec"],
        "0a9b8c7d-0000-4000-8000-00000000d001"
    );
    // One vendor id names one door.
    let resp = TestServer::agent()
        .put(format!(
            "{}/api/v1/places/osl-lobby/external_ids",
            server.url
        ))
        .header("Authorization", format!("Bearer {}", server.token))
        .send_json(serde_json::json!({"genetec": "0A9B8C7D-0000-4000-8000-00000000D001"}))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    // CEF over syslog TCP, the door named only by its Genetec GUID.
    let line = format!(
        "<134>1 {} sc-01 SecurityCenter - - - CEF:0|Genetec|Security Center|5.12|AccessGranted|Access granted|2|cs1Label=Door GUID cs1=0A9B8C7D-0000-4000-8000-00000000D001 cs4Label=Credential cs4=40123\n",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let mut tcp = TcpStream::connect(server.syslog_tcp.unwrap()).unwrap();
    tcp.write_all(line.as_bytes()).unwrap();
    drop(tcp);
    let e = eventually(&server, "source:syslog AND class:physical_access");
    assert_eq!(e["place"]["door"], "osl-srv-door", "{e}");
    assert_eq!(e["place"]["zone"], "osl-srv", "{e}");
    assert_eq!(e["place"]["site"], "osl", "{e}");
    assert_eq!(
        server
            .total("zone:\"osl-srv\" AND place.ids.door:\"0A9B8C7D-0000-4000-8000-00000000D001\""),
        1
    );

    // Both sources are placed.
    for source in ["doors", "syslog"] {
        let place = place_gaps(&server, source);
        assert_eq!(
            (place["events"].as_u64(), place["unresolved"].as_u64()),
            (Some(1), Some(0)),
            "{source}: {place}"
        );
    }

    // A door nobody mapped: a gap, with the id to map.
    deliver(
        &server,
        &verkada_body("ffff0000-dead-door-0000-000000000001", now),
    );
    eventually(
        &server,
        "source:doors AND place.ids.door:\"ffff0000-dead-door-0000-000000000001\"",
    );
    let place = place_gaps(&server, "doors");
    assert_eq!(
        (place["events"].as_u64(), place["unresolved"].as_u64()),
        (Some(2), Some(1)),
        "{place}"
    );
    assert_eq!(
        place["top_unknown"][0]["identifier"], "verkada door id",
        "{place}"
    );
    assert_eq!(
        place["top_unknown"][0]["value"], "ffff0000-dead-door-0000-000000000001",
        "{place}"
    );

    // Once most of its physical events are unplaced, the sources page warns about it.
    let console = server.admin_console();
    assert!(!console.get("/sources").body.contains("Mostly unplaced"));
    for n in 2..4 {
        let id = format!("ffff0000-dead-door-0000-00000000000{n}");
        deliver(&server, &verkada_body(&id, now));
        eventually(
            &server,
            &format!("source:doors AND place.ids.door:\"{id}\""),
        );
    }
    let page = console.get("/sources");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body.matches("Mostly unplaced").count(),
        1,
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("3 of 4 events (75 %) have no place in the directory"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("verkada door id ffff0000-dead-door-0000-000000000001 (1)")
    );

    // And the command line says so, in columns.
    let out = support::tandem()
        .args(["directory", "gaps"])
        .env("TANDEM_URL", &server.url)
        .env("TANDEM_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(out.contains("3 of 4 (75 %)"), "{out}");
    assert!(
        out.contains("verkada door id ffff0000-dead-door-0000-000000000001"),
        "{out}"
    );
    server.terminate();
}

/// The vendors' own documentation examples, through the real transports: a Verkada delivery
/// without `door_info` (signed webhook) and Frigate's MQTT examples, whose camera and zones
/// ("driveway", "yard") are Frigate's names, not the directory's (through Mosquitto). Each
/// lands on the door the places file maps its ids to, in the directory's zone.
#[test]
fn vendor_documentation_examples_land_on_their_doors() {
    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tandem-ingest/tests/fixtures"
    );
    let broker = tandem_testkit::Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            "[[sources]]\nname = \"doors\"\nformat = \"verkada\"\nwebhook_secret = \"{SECRET}\"\n\n\
             [[mqtt]]\nsource = \"cameras\"\nformat = \"frigate\"\nprefix = \"frigate\"\n\
             broker = {{ host = \"127.0.0.1\", port = {}, client_id = \"tandem-phys\" }}\n",
            broker.port
        ),
    )
    .unwrap();
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[
            ("TANDEM_CONFIG", config.to_str().unwrap()),
            // The examples are dated when the vendors wrote them.
            ("TANDEM_RETENTION__MAX_AGE_DAYS", "36500"),
        ],
    );
    let places = "
places:
  - { id: hq, kind: site, name: HQ, lat: 59.91, lon: 10.75 }
  - { id: hq-lobby, kind: zone, name: Lobby, parent: hq }
  - { id: hq-yard, kind: zone, name: Yard, parent: hq }
  - { id: hq-front-door, kind: door, name: Front door, parent: hq-lobby,
      external_ids: { verkada: 8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42 } }
  - { id: hq-front-cam, kind: camera, name: Front door camera, parent: hq-front-door,
      external_ids: { frigate: front_door } }
";
    let (status, plan) = server.post("/api/v1/directory/records?file=places.yaml", places);
    assert_eq!(status, 200, "{plan}");

    let body = std::fs::read_to_string(format!(
        "{FIXTURES}/verkada/door_granted_without_door_info.json"
    ))
    .unwrap();
    deliver(&server, &body);
    let e = eventually(&server, "source:doors AND class:physical_access");
    assert_eq!(e["place"]["door"], "hq-front-door", "{e}");
    assert_eq!(e["place"]["zone"], "hq-lobby", "{e}");
    assert_eq!(e["place"]["site"], "hq", "{e}");

    let frigate: Vec<(String, Vec<u8>)> =
        std::fs::read_to_string(format!("{FIXTURES}/frigate/messages.txt"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter(|(t, _)| *t == "frigate/events")
            .map(|(t, p)| (t.to_owned(), p.as_bytes().to_vec()))
            .collect();
    // Give the subscription a moment to be in place on a fresh broker session.
    std::thread::sleep(Duration::from_millis(500));
    tandem_testkit::mqtt_publish(broker.port, &frigate);
    let e = eventually(
        &server,
        "source:cameras AND class:video_detection AND activity:detect",
    );
    assert_eq!(e["place"]["camera"], "hq-front-cam", "{e}");
    assert_eq!(e["place"]["door"], "hq-front-door", "{e}");
    // Frigate's zone stays Frigate's; the place's zone is the directory's, not "driveway".
    assert_eq!(e["place"]["zone"], "hq-lobby", "{e}");
    assert_eq!(e["place"]["camera_zone"], "driveway", "{e}");
    assert_eq!(server.total("zone:driveway OR zone:yard"), 0);
    assert_eq!(
        server.total("source:cameras AND door:\"hq-front-door\""),
        server.total("source:cameras AND class:video_detection"),
    );
    server.terminate();
}
