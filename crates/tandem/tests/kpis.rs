//! The shared KPIs from a real server: incidents worked through the API, then read back
//! as JSON, CSV, the dashboards and `tandem kpis`, by roles that see all incidents or their
//! department's only.

mod support;

use serde_json::{Value, json};
use support::{TestServer, start_with_accounts, tandem};

fn call(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    let agent = TestServer::agent();
    let url = format!("{}{path}", server.url);
    let auth = format!("Bearer {token}");
    let mut resp = match (method, body) {
        ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
        ("POST", Some(b)) => agent.post(&url).header("Authorization", &auth).send_json(b),
        ("PATCH", Some(b)) => agent
            .patch(&url)
            .header("Authorization", &auth)
            .send_json(b),
        _ => unreachable!(),
    }
    .expect("request sent");
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value, kind)
}

/// Opens an incident and moves it through `steps` (status, resolution), as the admin.
fn incident(
    server: &TestServer,
    title: &str,
    severity: &str,
    playbook: &str,
    steps: &[(&str, Option<&str>)],
) -> String {
    let (status, v, _) = call(
        server,
        &server.token,
        "POST",
        "/api/v1/incidents",
        Some(json!({"title": title, "severity": severity, "playbook": playbook})),
    );
    assert_eq!(status, 201, "{v}");
    let id = v["incident"]["id"].as_str().unwrap().to_owned();
    let mut version = v["incident"]["version"].as_u64().unwrap();
    for (to, resolution) in steps {
        let mut body = json!({"base_version": version, "status": to});
        if let Some(r) = resolution {
            body["resolution"] = json!(r);
        }
        let (status, v, _) = call(
            server,
            &server.token,
            "PATCH",
            &format!("/api/v1/incidents/{id}"),
            Some(body),
        );
        assert_eq!(status, 200, "{v}");
        version = v["incident"]["version"].as_u64().unwrap();
    }
    id
}

#[test]
fn kpis_are_served_as_json_csv_dashboards_and_on_the_command_line_within_each_roles_scope() {
    let dir = tempfile::tempdir().unwrap();
    let roles = ["auditor", "responder:hr", "scim"].map(String::from);
    let (server, seeded) = start_with_accounts(dir.path(), &roles, &["auditor", "responder:hr"]);
    let (auditor, hr, scim) = (&seeded[0], &seeded[1], &seeded[2]);

    let a = incident(
        &server,
        "Malware on a laptop",
        "high",
        "generic",
        &[("acknowledged", None), ("resolved", None)],
    );
    let b = incident(
        &server,
        "Door alarm, nobody there",
        "low",
        "generic",
        &[("closed", Some("false_positive"))],
    );
    let c = incident(
        &server,
        "Badge used after termination",
        "medium",
        "terminated-access",
        &[],
    );

    // As the auditor (leadership): every incident but the false positive.
    let (status, v, _) = call(&server, &auditor.token, "GET", "/api/v1/kpis", None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["overall"]["incidents"], 2);
    // high 7 + medium 3 with the default weights.
    assert_eq!(v["overall"]["index"], 10.0);
    assert_eq!(v["overall"]["mtta"]["n"], 1);
    assert_eq!(v["overall"]["mttr"]["n"], 1);
    assert_eq!(v["overall"]["mttr"]["share"], 0.5);
    assert_eq!(
        v["excluded"],
        json!([{"resolution": "false_positive", "incidents": 1}])
    );
    assert!(
        v["definitions"]["mttr"]
            .as_str()
            .unwrap()
            .contains("resolved − detected")
    );
    let severities: Vec<&str> = v["by"]["severity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["high", "medium"]);
    assert!(v["scope"].is_null());

    // HR's head sees the incidents with an HR task only.
    let (status, v, _) = call(
        &server,
        &hr.token,
        "GET",
        "/api/v1/kpis?by=department",
        None,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["scope"], "hr");
    assert_eq!(v["overall"]["incidents"], 1);
    assert!(
        v["by"]["department"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["key"] == "hr")
    );

    // CSV of a table.
    let (status, body, kind) = call(
        &server,
        &auditor.token,
        "GET",
        "/api/v1/kpis?format=csv&table=severity",
        None,
    );
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let text = body.as_str().unwrap();
    assert!(
        text.starts_with("key,label,incidents,reopened,index,weighted_mttr_s,mttd_n,"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");

    // Bad requests are told what is wrong; the provisioner sees nothing.
    for q in [
        "by=colour",
        "from=2025-04-01&to=2025-03-01",
        "format=xml",
        "format=csv&table=nope",
        "from=yesterday",
    ] {
        let (status, v, _) = call(
            &server,
            &auditor.token,
            "GET",
            &format!("/api/v1/kpis?{q}"),
            None,
        );
        assert_eq!(status, 400, "{q}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{q}: {v}"
        );
    }
    assert_eq!(
        call(&server, &scim.token, "GET", "/api/v1/kpis", None).0,
        403
    );

    // The dashboards: leadership's with its SVG trends and definitions; each number links to
    // the incidents behind it.
    let console = server
        .sign_in(&auditor.user, auditor.password.as_deref().unwrap())
        .unwrap();
    let page = console.get("/kpis");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("aria-current=\"page\">Leadership"),
        "leadership first for the auditor"
    );
    assert!(
        page.body.contains("<svg")
            && page.body.contains("<title id=")
            && page.body.contains("<desc id=")
    );
    assert!(page.body.contains("Severity-weighted incident index"));
    assert!(page.body.contains("resolved − detected"));
    assert!(
        page.body.contains("kpis&#x2f;incidents?from="),
        "links are escaped by the template"
    );
    let drill = console.get("/kpis/incidents?by=severity&key=high");
    assert_eq!(drill.status, 200);
    assert!(
        drill.body.contains(&format!("/incidents/{a}")),
        "{}",
        drill.body
    );
    assert!(!drill.body.contains(&format!("/incidents/{c}\"")));
    let all = console.get("/kpis/incidents");
    assert!(
        all.body.contains(&format!("/incidents/{a}"))
            && all.body.contains(&format!("/incidents/{c}"))
    );
    assert!(
        !all.body.contains(&format!("/incidents/{b}\"")),
        "the false positive is not counted"
    );
    let soc = console.get("/kpis?for=soc");
    assert!(soc.body.contains("By incident type"));
    let csv = console.get("/kpis?format=csv&table=sla");
    assert!(
        csv.body
            .starts_with("department,task,judged,met,breached,compliance")
    );
    let hr_console = server
        .sign_in(&hr.user, hr.password.as_deref().unwrap())
        .unwrap();
    let page = hr_console.get("/kpis");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Incidents with a task for HR"),
        "{}",
        page.body
    );
    assert!(page.body.contains("SLA compliance"));

    // The command line, through the API.
    let out = tandem()
        .args([
            "kpis",
            "--by",
            "severity",
            "--url",
            &server.url,
            "--token",
            &auditor.token,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("severity high"), "{text}");
    assert!(text.contains("excluded: 1 false_positive"), "{text}");
    let out = tandem()
        .args([
            "kpis",
            "--csv",
            "overall",
            "--url",
            &server.url,
            "--token",
            &auditor.token,
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("key,label,incidents"));
}

#[test]
fn the_attack_coverage_of_the_enabled_rules_is_a_navigator_layer() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), None, &[]);
    let (status, layer, _) = call(
        &server,
        &server.token,
        "GET",
        "/api/v1/kpis/attack-layer",
        None,
    );
    assert_eq!(status, 200, "{layer}");
    assert_eq!(layer["domain"], "enterprise-attack");
    assert!(
        layer["versions"]["layer"]
            .as_str()
            .unwrap()
            .starts_with("4.")
    );
    let techniques = layer["techniques"].as_array().unwrap();
    assert!(
        !techniques.is_empty(),
        "the shipped Sigma rules carry ATT&CK tags: {layer}"
    );
    assert!(
        techniques
            .iter()
            .all(|t| t["techniqueID"].as_str().unwrap().starts_with('T') && t["enabled"] == true)
    );
    let (_, v, _) = call(&server, &server.token, "GET", "/api/v1/kpis", None);
    assert_eq!(
        v["coverage"]["attack"]["tactics"].as_array().unwrap().len(),
        14
    );
    assert!(v["coverage"]["attack"]["rules_enabled"].as_u64().unwrap() > 0);
}

fn post_raw(server: &TestServer, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let mut resp = TestServer::agent()
        .post(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .header("Content-Type", content_type)
        .send(body.as_bytes())
        .expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A leaver HR terminated three days ago whose badge and login still work (and were used),
/// HR's and Finance's training, and the risk the leaver's badge use raises: the API, the CSV
/// and the dashboards show each, and HR's head sees HR's rows only.
#[test]
fn leavers_coverage_department_risk_and_training_are_served_within_each_roles_scope() {
    use chrono::{Duration, Utc};
    let dir = tempfile::tempdir().unwrap();
    let roles = ["responder:hr"].map(String::from);
    let (server, seeded) = start_with_accounts(dir.path(), &roles, &["responder:hr"]);
    let hr = &seeded[0];

    let terminated = (Utc::now() - Duration::days(3)).date_naive();
    let csv = format!(
        "employee_number,name,username,department,hired,terminated,badge\n\
         E7001,Lars Leaver,lleaver,HR,2020-01-01,{terminated},70001\n\
         E7002,Hanne Stays,hstays,HR,2020-01-01,,70002\n\
         E7003,Frida Finance,ffinance,Finance,2020-01-01,,70003\n"
    );
    let (status, plan) = post_raw(
        &server,
        "/api/v1/directory/hr?file=hr.csv",
        "text/csv",
        &csv,
    );
    assert_eq!(status, 200, "{plan}");

    // The leaver's badge opens a door and their login signs in, a day after leaving.
    let key = server.add_source("doors", "tandem");
    let day_ago = (Utc::now() - Duration::days(1)).to_rfc3339();
    let body = format!(
        "{}\n{}\n",
        json!({"time": day_ago, "class": "physical_access", "activity": "granted", "outcome": "success",
               "actor": {"badge": "70001"}, "place": {"door": "Main entrance"}}),
        json!({"time": day_ago, "class": "authentication", "activity": "logon", "outcome": "success",
               "actor": {"user": "lleaver"}}),
    );
    let (status, report) = server.ingest("doors", &key, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(2)),
        "{report}"
    );
    server.wait_for("person:E7001 source:doors", 2);

    // Training by CSV with the default columns, then by JSON; the unknown person is listed.
    let training = "employee_number,kind,item,completed\n\
                    E7002,training,awareness,{d}\n\
                    ffinance,policy,acceptable-use,{d}\n\
                    E9999,training,awareness,{d}\n"
        .replace("{d}", &Utc::now().date_naive().to_string());
    let (status, v) = post_raw(
        &server,
        "/api/v1/kpis/training?file=lms.csv",
        "text/csv",
        &training,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["added"], 2, "{v}");
    assert_eq!(
        v["skipped"],
        json!([{"line": 4, "reason": "no person `E9999` in the directory"}])
    );
    let (_, again) = post_raw(
        &server,
        "/api/v1/kpis/training?file=lms.csv",
        "text/csv",
        &training,
    );
    assert_eq!(
        again["added"], 0,
        "the same file again adds nothing: {again}"
    );
    let (status, v, _) = call(
        &server,
        &server.token,
        "POST",
        "/api/v1/kpis/training",
        Some(
            json!({"records": [{"person": "E7003", "kind": "training", "item": "awareness", "completed": Utc::now().to_rfc3339()}]}),
        ),
    );
    assert_eq!((status, v["added"].as_u64()), (200, Some(1)), "{v}");
    let (status, v, _) = call(
        &server,
        &server.token,
        "POST",
        "/api/v1/kpis/training",
        Some(json!({"records": "not a list"})),
    );
    assert_eq!(status, 400, "{v}");

    // The alerts stage turns the terminated-access finding into the leaver's risk.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let v = loop {
        let (status, v, _) = call(
            &server,
            &server.token,
            "GET",
            "/api/v1/kpis?from=now-30d",
            None,
        );
        assert_eq!(status, 200, "{v}");
        if v["department_risk"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "no risk scored: {v}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let leavers = v["revocation"]["leavers"].as_array().unwrap();
    assert_eq!(leavers.len(), 1, "{v}");
    let l = &leavers[0];
    assert_eq!(l["person"], "E7001");
    assert_eq!(
        (l["badge_open"].as_bool(), l["account_open"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        (l["badge_uses_after"].as_u64(), l["sign_ins_after"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(v["revocation"]["open"], 1);
    assert_eq!(v["revocation"]["used_after"], 1);
    assert!(
        v["definitions"]["revocation"]
            .as_str()
            .unwrap()
            .contains("last deactivation")
    );
    let doors = v["coverage"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "doors")
        .expect("the doors source is counted");
    assert_eq!(doors["healthy"], true, "{doors}");
    assert_eq!(v["coverage"]["analysed_share"], 1.0, "{v}");
    assert!(v["coverage"]["events_ingested"].as_u64().unwrap() >= 2);
    assert!(
        v["coverage"]["attack"]["tactics"].is_array(),
        "ATT&CK coverage stays"
    );
    assert_eq!(v["department_risk"][0]["department"], "HR", "{v}");
    assert_eq!(v["department_risk"][0]["top"][0]["person"], "E7001");
    let departments: Vec<(&str, u64, u64, u64)> = v["training"]["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["label"].as_str().unwrap(),
                d["people"].as_u64().unwrap(),
                d["trained"].as_u64().unwrap(),
                d["acknowledged"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        departments,
        [("Finance", 1, 1, 1), ("HR", 1, 1, 0)],
        "the leaver is not counted"
    );
    // No employee has reported anything here: counted, not missing.
    assert_eq!(
        v["employee_reports"]["filed"], 0,
        "{}",
        v["employee_reports"]
    );
    assert!(v["employee_reports"]["heard_back_share"].is_null());

    let (status, csv, kind) = call(
        &server,
        &server.token,
        "GET",
        "/api/v1/kpis?from=now-30d&format=csv&table=leavers",
        None,
    );
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"));
    let csv = csv.as_str().unwrap();
    assert!(
        csv.starts_with("person,name,department,terminated,badges"),
        "{csv}"
    );
    assert!(csv.contains("E7001,Lars Leaver,HR,"), "{csv}");

    // HR's head: HR's leaver, risk and training only.
    let (_, v, _) = call(&server, &hr.token, "GET", "/api/v1/kpis?from=now-30d", None);
    assert_eq!(v["revocation"]["leavers"].as_array().unwrap().len(), 1);
    let labels: Vec<&str> = v["training"]["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["HR"]);
    let (status, _, _) = call(
        &server,
        &hr.token,
        "POST",
        "/api/v1/kpis/training",
        Some(json!({"records": []})),
    );
    assert_eq!(
        status, 403,
        "importing training is the directory importers'"
    );

    // The dashboards: HR's head reads their department's risk and training, the leaver.
    let console = server
        .sign_in(&hr.user, hr.password.as_deref().unwrap())
        .unwrap();
    let page = console.get("/kpis?for=department&from=2000-01-01");
    assert_eq!(page.status, 400, "a period over the longest is refused");
    let page = console.get("/kpis?for=department");
    assert_eq!(page.status, 200);
    for text in [
        "Access revocation",
        "Lars Leaver",
        "still active",
        "1 badge use(s), 1 sign-in(s)",
        "Risk per department",
        "Training and policy acknowledgement",
        "Employee reports",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let admin = server.admin_console();
    let soc = admin.get("/kpis?for=soc");
    assert!(soc.body.contains("Sources healthy") && soc.body.contains("Events analysed"));
    let csv = admin.get("/kpis?format=csv&table=training");
    assert!(
        csv.body
            .starts_with("department,people,trained,training_share"),
        "{}",
        csv.body
    );
    server.terminate();
}
