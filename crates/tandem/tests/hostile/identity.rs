//! Hostile input: identity. A careless (or late) HR export must not put a leaver back on the
//! active list.

use crate::support::TestServer;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

fn import_hr(server: &TestServer, csv: &str) -> Value {
    let mut resp = TestServer::agent()
        .post(format!("{}/api/v1/directory/hr?file=hr.csv", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .send(csv.as_bytes())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.body_mut().read_json().unwrap()
}

/// HR files a leaver late: one row moves them to another department and terminates them ten
/// days ago. Before the fix the import wrote the termination at its date and then an active
/// version at the moment of the import, so the person was active again and their badge
/// raised nothing.
#[test]
fn a_late_termination_filed_with_a_department_change_wins() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let header = "employee_number,name,username,department,hired,terminated,badge\n";
    let first = import_hr(
        &server,
        &format!("{header}E5001,Kari Nordmann,knordmann,Sales,2024-01-01,,50001\n"),
    );
    assert_eq!(first["plan"]["new_people"], 1, "{first}");

    let terminated = (Utc::now() - Duration::days(10)).date_naive();
    let late = import_hr(
        &server,
        &format!("{header}E5001,Kari Nordmann,knordmann,Finance,2024-01-01,{terminated},50001\n"),
    );
    assert_eq!(late["plan"]["terminations"], 1, "{late}");
    // The same file again is a no-op.
    let again = import_hr(
        &server,
        &format!("{header}E5001,Kari Nordmann,knordmann,Finance,2024-01-01,{terminated},50001\n"),
    );
    assert_eq!(again["plan"]["unchanged"], 1, "{again}");

    let (status, profile) = server.get("/api/v1/people/E5001", &[]);
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["person"]["status"], "terminated", "{profile}");
    assert_eq!(profile["person"]["department"], "Finance");

    // Badge swipes five days after the termination and a minute ago: both are a terminated
    // person's, and each raises the terminated-access finding.
    let key = server.add_source("doors", "tandem");
    let at = |t: chrono::DateTime<Utc>| {
        json!({
            "time": t.to_rfc3339(),
            "class": "physical_access",
            "activity": "granted",
            "actor": {"badge": "50001"},
            "place": {"door": "Main entrance"},
        })
        .to_string()
    };
    let body = format!(
        "{}\n{}\n",
        at(Utc::now() - Duration::days(5)),
        at(Utc::now() - Duration::minutes(1))
    );
    let (status, report) = server.ingest("doors", &key, body.as_bytes(), &[]);
    assert_eq!(
        (status, report["accepted"].as_u64()),
        (200, Some(2)),
        "{report}"
    );

    let swipes = server.search("class:physical_access AND person:E5001");
    assert_eq!(swipes["total"], 2, "{swipes}");
    for e in swipes["events"].as_array().unwrap() {
        assert_eq!(e["actor"]["person"]["status"], "terminated", "{e}");
        assert_eq!(e["actor"]["person"]["method"], "badge");
    }
    // Findings are stored in the same commit as their evidence.
    let findings = server.search("class:detection_finding AND person:E5001");
    let rules: Vec<&str> = findings["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["attrs"]["finding"]["rule_id"].as_str())
        .collect();
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "tandem.terminated_access")
            .count(),
        2,
        "{findings}"
    );
    server.terminate();
}
