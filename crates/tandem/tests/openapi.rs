//! The API contract against a real server: `GET /api/v1/openapi.json` describes every
//! `/api/v1` route of the route table, and the real answers of the main routes (search,
//! events, sources, dead letters, status, people, findings, alarms, alerts, incidents, the
//! audit log) and of the errors (400, 401, 403, 404, 409) are valid against the schemas the
//! document gives them. Validation is JSON Schema 2020-12 (OpenAPI 3.1's dialect) by `boon`.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{TestServer, no_redirects, start_with_accounts};

/// Where the document is loaded for validation (never fetched: a name only).
const DOC_URL: &str = "http://tandem.invalid/openapi.json";

/// The schemas of one document, compiled on demand per answer.
struct Contract {
    doc: Value,
    compiler: boon::Compiler,
    schemas: boon::Schemas,
}

impl Contract {
    fn new(doc: Value) -> Contract {
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler
            .add_resource(DOC_URL, doc.clone())
            .expect("the document loads");
        Contract {
            doc,
            compiler,
            schemas: boon::Schemas::new(),
        }
    }

    /// Checks `body`, answered with `status` by `method path` (the path as in the route
    /// table), against the JSON schema the document gives that answer.
    fn check(&mut self, method: &str, path: &str, status: u16, body: &Value) {
        let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
        let op = &self.doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the document");
        let answer = &op["responses"][status.to_string()];
        assert!(
            answer.is_object(),
            "{method} {path} answered {status}, which its description does not list: {body}"
        );
        assert!(
            answer["content"]["application/json"]["schema"].is_object(),
            "{method} {path} {status} has no JSON schema"
        );
        let loc = format!(
            "{DOC_URL}#/paths/{}/{method}/responses/{status}/content/application~1json/schema",
            escape(path)
        );
        let index = self
            .compiler
            .compile(&loc, &mut self.schemas)
            .unwrap_or_else(|e| panic!("the schema of {method} {path} {status} compiles: {e:#}"));
        if let Err(e) = self.schemas.validate(body, index) {
            panic!(
                "{method} {path} {status}: the answer does not match its schema:\n{e:#}\n{body:#}"
            );
        }
    }
}

fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let agent = TestServer::agent();
    let url = format!("{}{path}", server.url);
    let auth = token.map(|t| format!("Bearer {t}"));
    let resp = match (method, body) {
        ("get", _) => {
            let mut r = agent.get(&url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        (m, body) => {
            let mut r = match m {
                "post" => agent.post(&url),
                "patch" => agent.patch(&url),
                "put" => agent.put(&url),
                other => panic!("no call for {other}"),
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.send_json(body.unwrap_or(json!({})))
        }
    };
    let mut resp = resp.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E2000,Bjørn Lie,bjorn.lie@nordlys.example,bjorn,Finance,,Controller,osl,2020-01-01,2026-03-01,20002
";

fn places_file() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/directory.md");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("```yaml\nplaces:").expect("an example") + 8;
    let len = text[start..].find("```").unwrap();
    text[start..start + len].to_owned()
}

#[test]
fn the_document_covers_the_route_table_and_real_answers_match_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = start_with_accounts(&dir.path().join("data"), &["auditor".to_owned()], &[]);
    let server = &seeded.0;
    let auditor = seeded.1[0].token.clone();
    let admin = server.token.clone();

    // The document: only for the signed in, and OpenAPI 3.1.
    let (status, _) = call(server, "get", "/api/v1/openapi.json", None, None);
    assert_eq!(status, 401);
    let (status, doc) = call(server, "get", "/api/v1/openapi.json", Some(&auditor), None);
    assert_eq!(status, 200, "{doc}");
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );

    // Every `/api/v1` route the server serves is described, with the permission it needs.
    let mut missing = Vec::new();
    for spec in tandem_web::routes() {
        if !spec.path.starts_with("/api/v1/") {
            continue;
        }
        let op = &doc["paths"][spec.path][spec.method.as_str().to_lowercase()];
        if !op.is_object() {
            missing.push(format!("{} {}", spec.method, spec.path));
        } else if let tandem_web::Access::Needs(p) = spec.access {
            assert_eq!(
                op["x-tandem-permission"],
                serde_json::to_value(p).unwrap(),
                "{} {}",
                spec.method,
                spec.path
            );
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );

    // Something to answer about: places, a person who left, a source, a badge of theirs
    // (a finding and an alert), a line that cannot be read (a dead letter), an incident.
    let (status, _) = server.post("/api/v1/directory/records?file=places.yaml", &places_file());
    assert_eq!(status, 200);
    let (status, _) = server.post("/api/v1/directory/hr?file=hr.csv", HR);
    assert_eq!(status, 200);
    let key = server.add_source("badges", "tandem");
    let time = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();
    let badge = json!({"time": time, "class": "physical_access", "activity": "granted",
        "outcome": "success", "actor": {"badge": "20002"},
        "place": {"door": "Server room door"}});
    let (status, report) = server.ingest(
        "badges",
        &key,
        format!("{badge}\nnot json\n").as_bytes(),
        &[],
    );
    assert_eq!(status, 200, "{report}");
    let mut contract = Contract::new(doc);
    contract.check("post", "/api/v1/ingest/{source}", 200, &report);

    let deadline = Instant::now() + Duration::from_secs(30);
    let alerts = loop {
        let (status, body) = call(server, "get", "/api/v1/alerts", Some(&admin), None);
        assert_eq!(status, 200);
        if body["alerts"].as_array().is_some_and(|a| !a.is_empty()) {
            break body;
        }
        assert!(Instant::now() < deadline, "no alert raised: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    contract.check("get", "/api/v1/alerts", 200, &alerts);
    let alert = alerts["alerts"][0]["id"].as_str().unwrap().to_owned();

    let (status, opened) = call(
        server,
        "post",
        "/api/v1/incidents",
        Some(&admin),
        Some(json!({"title": "Badge of a leaver used", "severity": "high"})),
    );
    assert_eq!(status, 201, "{opened}");
    contract.check("post", "/api/v1/incidents", 201, &opened);
    let incident = opened["incident"]["id"].as_str().unwrap().to_owned();

    // The main routes' answers, each against its schema.
    let (_, search) = call(
        server,
        "get",
        "/api/v1/search?q=*&limit=5",
        Some(&admin),
        None,
    );
    let event = search["events"][0]["id"].as_str().unwrap().to_owned();
    let (_, findings) = call(server, "get", "/api/v1/findings", Some(&admin), None);
    let finding = findings["findings"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a finding: {findings}"))
        .to_owned();
    let reads: Vec<(&str, String)> = vec![
        ("/api/v1/search", "/api/v1/search?q=*&limit=5".into()),
        (
            "/api/v1/search",
            "/api/v1/search?q=*%20%7C%20count%20by%20class".into(),
        ),
        ("/api/v1/events/{id}", format!("/api/v1/events/{event}")),
        ("/api/v1/sources", "/api/v1/sources".into()),
        ("/api/v1/dead-letters", "/api/v1/dead-letters".into()),
        ("/api/v1/status", "/api/v1/status".into()),
        ("/api/v1/people", "/api/v1/people".into()),
        ("/api/v1/people/{id}", "/api/v1/people/E2000".into()),
        ("/api/v1/findings", "/api/v1/findings".into()),
        (
            "/api/v1/findings/{id}",
            format!("/api/v1/findings/{finding}"),
        ),
        ("/api/v1/alarms", "/api/v1/alarms".into()),
        ("/api/v1/alarms/count", "/api/v1/alarms/count".into()),
        ("/api/v1/alerts/{id}", format!("/api/v1/alerts/{alert}")),
        ("/api/v1/incidents", "/api/v1/incidents".into()),
        (
            "/api/v1/incidents/{id}",
            format!("/api/v1/incidents/{incident}"),
        ),
        ("/api/v1/audit", "/api/v1/audit".into()),
    ];
    for (route, url) in &reads {
        let (status, body) = call(server, "get", url, Some(&admin), None);
        assert_eq!(status, 200, "{url}: {body}");
        contract.check("get", route, 200, &body);
    }
    let dead = call(server, "get", "/api/v1/dead-letters", Some(&admin), None).1;
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{dead}");

    // Changes and their refusals: a triage from the version seen, then again from it (409).
    let version = alerts["alerts"][0]["version"].as_u64().unwrap();
    let change = json!({"base_version": version, "status": "acknowledged"});
    let path = format!("/api/v1/alerts/{alert}");
    let (status, body) = call(server, "patch", &path, Some(&admin), Some(change.clone()));
    assert_eq!(status, 200, "{body}");
    contract.check("patch", "/api/v1/alerts/{id}", 200, &body);
    let (status, body) = call(server, "patch", &path, Some(&admin), Some(change));
    assert_eq!(status, 409, "{body}");
    assert!(body["changed_by"].is_string(), "{body}");
    contract.check("patch", "/api/v1/alerts/{id}", 409, &body);

    // Errors: a query that does not parse, no credentials, a role without the permission,
    // something that does not exist. Each is the documented error shape.
    let (status, body) = call(
        server,
        "get",
        "/api/v1/search?q=user%3D(",
        Some(&admin),
        None,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["position"].is_u64(), "{body}");
    contract.check("get", "/api/v1/search", 400, &body);
    let (status, body) = call(server, "get", "/api/v1/alerts", None, None);
    assert_eq!(status, 401);
    contract.check("get", "/api/v1/alerts", 401, &body);
    let (status, body) = call(server, "patch", &path, Some(&auditor), Some(json!({})));
    assert_eq!(status, 403, "{body}");
    contract.check("patch", "/api/v1/alerts/{id}", 403, &body);
    let (status, body) = call(
        server,
        "get",
        "/api/v1/incidents/INC-999999",
        Some(&admin),
        None,
    );
    assert_eq!(status, 404, "{body}");
    contract.check("get", "/api/v1/incidents/{id}", 404, &body);
}

/// The reference page is drawn by Tandem from the document, for whoever is signed in, and
/// names each route with its method, path and the permission it needs.
#[test]
fn the_api_reference_page_lists_every_route_with_its_permission() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = start_with_accounts(&dir.path().join("data"), &["responder:hr".to_owned()], &[]);
    let server = &seeded.0;
    let responder = &seeded.1[0];
    let mut resp = no_redirects()
        .get(format!("{}/api-reference", server.url))
        .call()
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        303,
        "{}",
        resp.body_mut().read_to_string().unwrap_or_default()
    );

    let mut resp = TestServer::agent()
        .get(format!("{}/api-reference", server.url))
        .header("Authorization", format!("Bearer {}", responder.token))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // The page escapes `/` as HTML does; read it back as text.
    let html = resp
        .body_mut()
        .read_to_string()
        .unwrap()
        .replace("&#x2f;", "/");
    for spec in tandem_web::routes() {
        if !spec.path.starts_with("/api/v1/") {
            continue;
        }
        assert!(
            html.contains(&format!("<code>{}</code>", spec.path)),
            "{} is not on the page",
            spec.path
        );
    }
    assert!(html.contains(">PATCH</span> <code>/api/v1/alerts/{id}</code>"));
    assert!(
        html.contains("Needs: <strong>triage_alerts</strong>"),
        "the permission is shown"
    );
    assert!(html.contains("id=\"schema-ErrorBody\""));
    assert!(!html.contains("<script"), "drawn on the server, no script");
}
