//! Accounts that are not people and access-control controllers through a running server:
//! service accounts filed in the places file and edited over the API, an Entra service
//! principal's sign-in resolved to its service account and owner, and a controller's
//! offline and tamper messages landing on the controller and its door.

mod support;

use serde_json::{Value, json};
use support::TestServer;

const HR: &str = "\
employee_number,name,email,username,department,manager,title,site,hired,terminated,badge
E1001,Alice Berg,alice.berg@nordlys.example,aberg,IT,,Backup admin,osl,2021-03-01,,10442
E1002,Ola Nord,ola.nord@nordlys.example,onord,Finance,,Payroll lead,osl,2021-03-01,,10443
";

const RECORDS: &str = r#"
places:
  - { id: osl, kind: site, name: Oslo HQ }
  - { id: osl-a, kind: building, name: Building A, parent: osl }
  - { id: osl-a-lobby, kind: zone, name: Lobby, parent: osl-a }
  - { id: osl-a-d1, kind: door, name: Lobby east, parent: osl-a-lobby }
  - { id: osl-a-d2, kind: door, name: Lobby west, parent: osl-a-lobby }
  - { id: osl-a-dock, kind: door, name: Loading dock, parent: osl-a }
devices:
  - { id: acu-1, kind: controller, place: osl-a, serves: [osl-a-d1, osl-a-d2],
      external_ids: { genetec: 5d1c0000-0000-4000-8000-00000000a001 } }
  - { id: acu-2, kind: controller, place: osl-a, serves: [osl-a-dock],
      external_ids: { genetec: 5d1c0000-0000-4000-8000-00000000a002 } }
service_accounts:
  - { id: svc-backup, name: Nightly backup, owner: E1001, accounts: ["NORDLYS\\svc-backup"] }
"#;

fn put(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let mut resp = TestServer::agent()
        .put(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .send_json(body)
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn one(server: &TestServer, q: &str) -> Value {
    let found = server.search(q);
    assert_eq!(found["total"], 1, "`{q}`: {found}");
    found["events"][0].clone()
}

#[test]
fn service_principals_resolve_to_their_owned_account_and_controllers_to_their_doors() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let (status, body) = server.post("/api/v1/directory/hr?file=hr.csv", HR);
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post("/api/v1/directory/records?file=places.yaml", RECORDS);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["plan"]["new"], 9, "{body}");

    // The payroll application's service principal, filed over the API with its owner.
    let (status, body) = put(
        &server,
        "/api/v1/service-accounts/app-payroll-sync",
        &json!({"name": "Payroll sync", "owner": "E1002", "team": "Finance systems",
                "app_ids": ["6F3E1A2B-0C4D-4E5F-8A9B-0C1D2E3F4A5B"]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["service_account"]["owner_name"], "Ola Nord");
    // An owner the directory does not know is refused with the reason.
    let (status, body) = put(
        &server,
        "/api/v1/service-accounts/app-x",
        &json!({"owner": "E9999"}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("owner `E9999`"), "{body}");
    let (status, list) = server.get("/api/v1/service-accounts", &[]);
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["service_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["app-payroll-sync", "svc-backup"], "{list}");

    // Entra: the payroll app's sign-in and a managed identity nobody filed.
    let entra = server.add_source("entra", "entra");
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tandem-ingest/tests/fixtures/entra/service-principal-records.json"
    ))
    .unwrap();
    let (status, report) = server.ingest("entra", &entra, fixture.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(2)),
        "{report}"
    );
    let e = one(&server, "actor.service_account.id:\"app-payroll-sync\"");
    assert_eq!(e["actor"]["service_account"]["owner"], "E1002");
    assert_eq!(e["actor"]["service_account"]["owner_name"], "Ola Nord");
    assert_eq!(e["actor"]["non_person"], "service_principal");
    assert!(e["actor"].get("person").is_none(), "{e}");

    // A Windows logon by the backup job's account: its service account, not a person.
    let windows = server.add_source("windows", "tandem");
    let line = json!({"time":"2026-03-04T02:00:00Z","class":"authentication","activity":"logon",
                      "actor":{"user":"NORDLYS\\svc-backup"}});
    let (status, report) = server.ingest("windows", &windows, format!("{line}\n").as_bytes(), &[]);
    assert_eq!(status, 200, "{report}");
    let e = one(&server, "source:windows");
    assert_eq!(e["actor"]["service_account"]["id"], "svc-backup");
    assert_eq!(e["actor"]["service_account"]["owner_name"], "Alice Berg");

    // The gaps count service accounts apart from people, and name the unfiled identity.
    let (_, gaps) = server.get("/api/v1/directory/gaps", &[]);
    let g = &gaps["sources"]["entra"];
    assert_eq!(g["person"], 0, "{g}");
    assert_eq!(g["service_accounts"], 2, "{g}");
    let sa = &g["resolution"]["service_account"];
    assert_eq!(
        (sa["events"].as_u64(), sa["unresolved"].as_u64()),
        (Some(2), Some(1)),
        "{g}"
    );
    assert_eq!(sa["top_unknown"][0]["identifier"], "app id");
    assert_eq!(
        sa["top_unknown"][0]["value"],
        "0b1c2d3e-0000-4000-8000-000000000022"
    );
    assert_eq!(gaps["sources"]["windows"]["person"], 0);

    // A Genetec-style controller: tamper on the one-door unit, offline on the two-door one.
    let acs = server.add_source("acs", "cef");
    let body = "\
CEF:0|Genetec|Security Center|5.12|UnitTamper|Controller tamper|7|dvchost=sc-01 cs1Label=Controller GUID cs1=5D1C0000-0000-4000-8000-00000000A002 rt=1772590000000
CEF:0|Genetec|Security Center|5.12|UnitOffline|Controller offline|5|dvchost=sc-01 cs1Label=Controller GUID cs1=5D1C0000-0000-4000-8000-00000000A001 rt=1772590060000
";
    let (status, report) = server.ingest("acs", &acs, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(2)),
        "{report}"
    );
    let tamper = one(&server, "source:acs AND device.id:\"acu-2\"");
    assert_eq!(tamper["device"]["kind"], "controller", "{tamper}");
    assert_eq!(tamper["place"]["door"], "osl-a-dock", "{tamper}");
    assert_eq!(tamper["place"]["building"], "osl-a", "{tamper}");
    assert_eq!(tamper["place"]["site"], "osl", "{tamper}");
    let offline = one(&server, "source:acs AND device.id:\"acu-1\"");
    assert_eq!(offline["place"]["building"], "osl-a", "{offline}");
    assert!(offline["place"].get("zone").is_none(), "{offline}");
    assert!(offline["place"].get("door").is_none(), "{offline}");
    assert_eq!(server.total("zone:\"osl-a\""), 0);
}
