//! SCIM 2.0 as Okta and Microsoft Entra ID speak it, against a real server: the request
//! bodies in `fixtures/scim/` are the ones their documentation shows (see its README).

mod support;

use serde_json::{Value, json};
use support::TestServer;

const SCIM_JSON: &str = "application/scim+json";

struct Answer {
    status: u16,
    content_type: String,
    location: Option<String>,
    body: Value,
}

/// One SCIM request; `token: None` sends none.
fn scim(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> Answer {
    let url = format!("{}/scim/v2{path}", server.url);
    let agent = TestServer::agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    macro_rules! with_auth {
        ($req:expr) => {{
            let mut r = $req;
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r
        }};
    }
    let resp = match (method, body) {
        ("GET", _) => with_auth!(agent.get(&url)).call(),
        ("DELETE", _) => with_auth!(agent.delete(&url)).call(),
        (m, Some(b)) => {
            let req = match m {
                "POST" => agent.post(&url),
                "PUT" => agent.put(&url),
                "PATCH" => agent.patch(&url),
                other => panic!("method {other}"),
            };
            with_auth!(req)
                .header("Content-Type", SCIM_JSON)
                .send(b.as_bytes())
        }
        (m, None) => panic!("{m} needs a body"),
    };
    let mut resp = resp.expect("request sent");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        content_type,
        location,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn call(server: &TestServer, method: &str, path: &str, body: Option<&str>) -> Answer {
    scim(server, method, path, body, Some(&server.token))
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/scim/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `GET /Users` or `/Groups` with a query; the body.
fn list(server: &TestServer, path: &str, query: &[(&str, &str)]) -> Value {
    let (status, body) = server.get(&format!("/scim/v2{path}"), query);
    assert_eq!(status, 200, "{body}");
    body
}

fn assert_error(a: &Answer, status: u16, scim_type: Option<&str>) {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(a.content_type.starts_with(SCIM_JSON), "{}", a.content_type);
    assert_eq!(
        a.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(a.body["status"], status.to_string());
    if let Some(t) = scim_type {
        assert_eq!(a.body["scimType"], t, "{}", a.body);
    }
}

#[test]
fn okta_provisions_updates_deactivates_and_deletes_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);

    // No token, wrong token: 401 in the SCIM shape.
    assert_error(&scim(&server, "GET", "/Users", None, None), 401, None);
    assert_error(
        &scim(&server, "GET", "/Users", None, Some("tk_wrong")),
        401,
        None,
    );

    let config = call(&server, "GET", "/ServiceProviderConfig", None);
    assert_eq!(config.status, 200);
    assert!(config.content_type.starts_with(SCIM_JSON));
    assert_eq!(config.body["patch"]["supported"], true);
    let types = call(&server, "GET", "/ResourceTypes", None);
    assert_eq!(types.body["totalResults"], 2);
    let schemas = call(&server, "GET", "/Schemas", None);
    assert_eq!(schemas.body["totalResults"], 3);

    // Okta's existence check, then the create.
    let exists = list(
        &server,
        "/Users",
        &[
            ("filter", r#"userName eq "test.user@okta.local""#),
            ("startIndex", "1"),
            ("count", "100"),
        ],
    );
    assert_eq!(exists["totalResults"], 0, "{exists}");
    let created = call(
        &server,
        "POST",
        "/Users",
        Some(&fixture("okta-create-user.json")),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let user = &created.body;
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["userName"], "test.user@okta.local");
    assert_eq!(user["active"], true);
    assert_eq!(user["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(user["meta"]["resourceType"], "User");
    assert!(user["meta"]["created"].is_string(), "{user}");
    assert!(user.get("password").is_none(), "passwords are never kept");
    assert!(
        created
            .location
            .unwrap()
            .ends_with(&format!("/scim/v2/Users/{id}"))
    );

    // userName is caseExact false.
    let found = list(
        &server,
        "/Users",
        &[("filter", r#"userName eq "Test.User@OKTA.local""#)],
    );
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], id);
    assert_eq!(
        found["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );

    // Creating the same userName again is a conflict.
    let dup = call(
        &server,
        "POST",
        "/Users",
        Some(&fixture("okta-create-user.json")),
    );
    assert_error(&dup, 409, Some("uniqueness"));

    // PUT replaces; plain application/json is accepted too.
    let mut resp = TestServer::agent()
        .put(format!("{}/scim/v2/Users/{id}", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .header("Content-Type", "application/json")
        .send(
            fixture("okta-replace-user.json")
                .replace("{id}", &id)
                .as_bytes(),
        )
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let replaced: Value = resp.body_mut().read_json().unwrap();
    assert_eq!(replaced["displayName"], "Another User");
    assert_eq!(replaced["name"]["givenName"], "Another");

    // Okta deactivates with a path-less replace.
    let off = call(
        &server,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&fixture("okta-deactivate-user.json")),
    );
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    let inactive = list(&server, "/Users", &[("filter", "active eq false")]);
    assert_eq!(inactive["totalResults"], 1);

    // The directory has it, with the SCIM origin, and the deactivation is an event on the
    // person's timeline.
    let (_, profile) = server.get(&format!("/api/v1/people/{id}"), &[]);
    assert_eq!(profile["person"]["status"], "suspended", "{profile}");
    assert_eq!(profile["person"]["name"], "Another User");
    assert!(
        profile["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["origin"] == "scim")
    );
    let events = server.search("class:account_change AND source:scim");
    assert_eq!(events["total"], 1, "{events}");
    let e = &events["events"][0];
    assert_eq!(e["activity"], "disable");
    assert_eq!(e["actor"]["person"]["id"], id);
    assert_eq!(e["actor"]["person"]["method"], "exact");
    assert_eq!(e["actor"]["person"]["status"], "suspended");
    assert_eq!(e["attrs"]["target.user"], "test.user@okta.local");
    assert_eq!(e["attrs"]["target.uid"], id);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("SCIM deactivated test.user@okta.local"),
        "{e}"
    );
    assert_eq!(profile["timeline_total"], 1, "{profile}");
    assert_eq!(profile["timeline"][0]["class"], "account_change");

    // Deactivating again changes nothing and records nothing.
    call(
        &server,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&fixture("okta-deactivate-user.json")),
    );
    assert_eq!(server.total("class:account_change AND source:scim"), 1);

    // Errors.
    let bad = scim(
        &server,
        "GET",
        "/Users?filter=userName%20eq",
        None,
        Some(&server.token),
    );
    assert_error(&bad, 400, Some("invalidFilter"));
    assert_error(&call(&server, "GET", "/Users/nobody", None), 404, None);
    let ro = call(
        &server,
        "PATCH",
        &format!("/Users/{id}"),
        Some(
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"id","value":"x"}]}"#,
        ),
    );
    assert_error(&ro, 400, Some("mutability"));

    // DELETE terminates: SCIM sees 404 afterwards, the directory keeps the person.
    let gone = call(&server, "DELETE", &format!("/Users/{id}"), None);
    assert_eq!(gone.status, 204);
    assert_error(
        &call(&server, "GET", &format!("/Users/{id}"), None),
        404,
        None,
    );
    let (_, profile) = server.get(&format!("/api/v1/people/{id}"), &[]);
    assert_eq!(profile["person"]["status"], "terminated");
    assert_eq!(
        server.total("class:account_change AND source:scim AND activity:delete"),
        1
    );
    server.terminate();
}

#[test]
fn entra_id_quirks_are_understood() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let created = call(
        &server,
        "POST",
        "/Users",
        Some(&fixture("entra-create-user.json")),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert_eq!(created.body[ent]["department"], "Engineering");
    assert_eq!(created.body["displayName"], "givenName familyName");

    // Entra's matching query uses externalId as well as userName.
    let by_ext = list(
        &server,
        "/Users",
        &[(
            "filter",
            r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
        )],
    );
    assert_eq!(by_ext["totalResults"], 1);

    let updated = call(
        &server,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&fixture("entra-update-user.json")),
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    let u = &updated.body;
    assert_eq!(u["emails"][0]["value"], "updatedEmail@microsoft.com", "{u}");
    assert_eq!(u["name"]["familyName"], "updatedFamilyName");
    assert_eq!(u[ent]["department"], "Security");
    let by_mail = list(
        &server,
        "/Users",
        &[(
            "filter",
            r#"emails[type eq "work" and value co "updatedemail"] and name.familyName sw "updated""#,
        )],
    );
    assert_eq!(by_mail["totalResults"], 1, "{by_mail}");

    // `"op":"Replace"` with the boolean as a string.
    let off = call(
        &server,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&fixture("entra-disable-user.json")),
    );
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(
        server.total("class:account_change AND source:scim AND activity:disable"),
        1
    );
    let on = call(
        &server,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&fixture("entra-enable-user.json")),
    );
    assert_eq!(on.body["active"], true);
    let (_, profile) = server.get(&format!("/api/v1/people/{id}"), &[]);
    assert_eq!(profile["person"]["status"], "active");

    // Groups: create, add a member, Entra's membership check, remove.
    let group = call(
        &server,
        "POST",
        "/Groups",
        Some(&fixture("entra-create-group.json")),
    );
    assert_eq!(group.status, 201, "{}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_owned();
    let add = fixture("entra-group-add-member.json").replace("{member}", &id);
    let added = call(&server, "PATCH", &format!("/Groups/{gid}"), Some(&add));
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["members"][0]["value"], id);
    let check = list(
        &server,
        "/Groups",
        &[
            ("filter", &format!(r#"id eq "{gid}" and members eq "{id}""#)),
            ("excludedAttributes", "members"),
        ],
    );
    assert_eq!(check["totalResults"], 1, "{check}");
    assert!(check["Resources"][0].get("members").is_none());
    let by_name = list(
        &server,
        "/Groups",
        &[("filter", r#"displayName eq "displayName""#)],
    );
    assert_eq!(by_name["totalResults"], 1);
    let remove = fixture("entra-group-remove-member.json").replace("{member}", &id);
    let removed = call(&server, "PATCH", &format!("/Groups/{gid}"), Some(&remove));
    assert_eq!(removed.body["members"], json!([]), "{}", removed.body);
    server.terminate();
}

#[test]
fn okta_groups_and_pagination() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let mut ids = Vec::new();
    for i in 1..=5 {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("user{i}@okta.local"),
            "name": {"givenName": "User", "familyName": format!("Number{i}")},
            "emails": [{"primary": true, "value": format!("user{i}@okta.local"), "type": "work"}],
            "active": true
        });
        let a = call(&server, "POST", "/Users", Some(&body.to_string()));
        assert_eq!(a.status, 201, "{}", a.body);
        ids.push(a.body["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let page = list(&server, "/Users", &[("startIndex", "2"), ("count", "2")]);
    assert_eq!(page["totalResults"], 5);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    let got: Vec<&str> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[1].as_str(), ids[2].as_str()]);
    let counted = list(&server, "/Users", &[("count", "0")]);
    assert_eq!(
        (
            counted["totalResults"].as_u64(),
            counted["Resources"].as_array().map(Vec::len)
        ),
        (Some(5), Some(0))
    );
    let last = list(&server, "/Users", &[("startIndex", "5"), ("count", "10")]);
    assert_eq!(last["itemsPerPage"], 1);

    let either = list(
        &server,
        "/Users",
        &[(
            "filter",
            r#"(name.familyName eq "number2" or userName sw "USER4") and active eq true"#,
        )],
    );
    assert_eq!(either["totalResults"], 2, "{either}");
    let projected = list(
        &server,
        "/Users",
        &[
            ("filter", "userName pr"),
            ("attributes", "userName"),
            ("count", "1"),
        ],
    );
    let r = &projected["Resources"][0];
    assert!(
        r["id"].is_string() && r["userName"].is_string() && r.get("emails").is_none(),
        "{r}"
    );

    let group = call(
        &server,
        "POST",
        "/Groups",
        Some(&fixture("okta-create-group.json")),
    );
    assert_eq!(group.status, 201, "{}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_owned();
    let dup = call(
        &server,
        "POST",
        "/Groups",
        Some(&fixture("okta-create-group.json")),
    );
    assert_error(&dup, 409, Some("uniqueness"));
    for m in &ids[..2] {
        let add = fixture("okta-group-add-members.json").replace("{member}", m);
        let a = call(&server, "PATCH", &format!("/Groups/{gid}"), Some(&add));
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let g = call(&server, "GET", &format!("/Groups/{gid}"), None);
    assert_eq!(g.body["members"].as_array().unwrap().len(), 2, "{}", g.body);
    assert_eq!(g.body["displayName"], "Test SCIMv2");
    let members = list(
        &server,
        "/Groups",
        &[("filter", &format!(r#"members.value eq "{}""#, ids[1]))],
    );
    assert_eq!(members["totalResults"], 1);
    let remove = fixture("okta-group-remove-member.json").replace("{member}", &ids[0]);
    let r = call(&server, "PATCH", &format!("/Groups/{gid}"), Some(&remove));
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["members"][0]["value"], ids[1]);
    // Unknown members are refused; deleting the group works.
    let bogus = fixture("okta-group-add-members.json").replace("{member}", "nobody");
    assert_error(
        &call(&server, "PATCH", &format!("/Groups/{gid}"), Some(&bogus)),
        400,
        Some("invalidValue"),
    );
    assert_eq!(
        call(&server, "DELETE", &format!("/Groups/{gid}"), None).status,
        204
    );
    assert_error(
        &call(&server, "GET", &format!("/Groups/{gid}"), None),
        404,
        None,
    );
    server.terminate();
}

#[test]
fn scim_links_to_the_person_hr_imported() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let hr = "employee_number,name,email,username,department,title,hired,badge\n\
              E1000,Ingrid Dahl,ingrid.dahl@nordlys.example,idahl,Finance,CFO,2019-01-07,10001\n";
    let mut resp = TestServer::agent()
        .post(format!("{}/api/v1/directory/hr", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .send(hr.as_bytes())
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.body_mut().read_to_string().unwrap()
    );

    let created = call(
        &server,
        "POST",
        "/Users",
        Some(&fixture("hr-linked-user.json")),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["id"], "E1000",
        "linked, not duplicated: {}",
        created.body
    );
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    // HR's department survives a create that does not mention it.
    assert_eq!(created.body[ent]["department"], "Finance");
    assert_eq!(created.body[ent]["organization"], "Nordlys");
    let (_, people) = server.get("/api/v1/people", &[]);
    assert_eq!(people["total"], 1, "{people}");

    // A SCIM PATCH keeps what SCIM does not know: the badge and the HR login.
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Chief Financial Officer"}]
    });
    let patched = call(&server, "PATCH", "/Users/E1000", Some(&patch.to_string()));
    assert_eq!(patched.status, 200, "{}", patched.body);
    let (_, profile) = server.get("/api/v1/people/E1000", &[]);
    let p = &profile["person"];
    assert_eq!(p["title"], "Chief Financial Officer");
    assert_eq!(p["external_id"], "00u1ingrid");
    assert_eq!(p["badges"][0]["number"], "10001", "{p}");
    assert!(
        p["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "unix" && a["value"] == "idahl"),
        "{p}"
    );
    let origins: Vec<&str> = profile["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["origin"].as_str().unwrap())
        .collect();
    assert_eq!(origins, ["hr:api", "scim", "scim"]);
    server.terminate();
}

/// A deactivation from the IdP is an event like any other: a guard or analyst watching the
/// live monitor sees it the moment SCIM has stored it, as they see ingested events.
#[test]
fn a_scim_deactivation_reaches_the_live_monitor() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let admin = server.admin_console();
    let created = call(
        &server,
        "POST",
        "/Users",
        Some(&fixture("okta-create-user.json")),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let live = support::open_stream(&admin, "");
    support::wait_ready(&live);
    let off = call(
        &server,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&fixture("okta-deactivate-user.json")),
    );
    assert_eq!(off.status, 200, "{}", off.body);

    let rows = support::rows_until(&live, |r| r["class"] == "account_change");
    let row = rows.last().unwrap();
    assert_eq!(row["activity"], "disable", "{row}");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .starts_with("SCIM deactivated test.user@okta.local"),
        "{row}"
    );
}
