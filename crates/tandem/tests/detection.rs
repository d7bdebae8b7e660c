//! Detection as an operator uses it: rules checked offline, findings raised at ingest, a rule
//! switched off through the API and staying off across a restart.

mod support;

use serde_json::{Value, json};
use support::TestServer;

const FORCED_RULE: &str = "de6eab26-7e2c-4351-9d80-42aec4b2f6b5";

fn forced_door(minute: u32) -> String {
    format!(
        "{}\n",
        json!({"time": format!("2026-03-04T10:{minute:02}:00Z"), "class": "physical_access",
               "activity": "forced", "place": {"door": "Loading dock"}})
    )
}

fn post(server: &TestServer, path: &str) -> (u16, Value) {
    let mut resp = TestServer::agent()
        .post(format!("{}{path}", server.url))
        .header("Authorization", format!("Bearer {}", server.token))
        .send_empty()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}

fn sigma_findings(server: &TestServer) -> u64 {
    server.total(&format!(
        "class:detection_finding AND finding.rule_id:{FORCED_RULE}"
    ))
}

#[test]
fn shipped_rules_fire_and_a_disabled_rule_stays_off_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data, None, &[]);
    let key = server.add_source("doors", "tandem");
    let (status, _) = server.ingest("doors", &key, forced_door(1).as_bytes(), &[]);
    assert_eq!(status, 200);
    assert_eq!(sigma_findings(&server), 1);
    let (_, rules) = server.get("/api/v1/rules", &[]);
    let rule = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == FORCED_RULE)
        .unwrap()
        .clone();
    assert_eq!(rule["hits"], 1);
    assert!(
        rule["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "physical.forced_entry")
    );

    let (status, body) = post(&server, &format!("/api/v1/rules/{FORCED_RULE}/disable"));
    assert_eq!(status, 200, "{body}");
    server.ingest("doors", &key, forced_door(2).as_bytes(), &[]);
    assert_eq!(sigma_findings(&server), 1, "a disabled rule fired");
    let (status, _) = post(&server, "/api/v1/rules/no-such-rule/disable");
    assert_eq!(status, 400);

    let token = server.token.clone();
    assert!(server.terminate().success());
    let server = TestServer::start(&data, Some(&token), &[]);
    server.ingest("doors", &key, forced_door(3).as_bytes(), &[]);
    assert_eq!(
        sigma_findings(&server),
        1,
        "the switch was forgotten at restart"
    );
    let (status, _) = post(&server, &format!("/api/v1/rules/{FORCED_RULE}/enable"));
    assert_eq!(status, 200);
    server.ingest("doors", &key, forced_door(4).as_bytes(), &[]);
    assert_eq!(sigma_findings(&server), 2);
    server.terminate();
}

#[test]
fn rules_check_lists_what_cannot_be_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yml"),
        "title: Broken\nlogsource: {product: tandem, category: physical_access}\ndetection:\n  sel: {activity|re: '('}\n  condition: sel\n",
    )
    .unwrap();
    let out = support::tandem()
        .args(["rules", "check", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("broken.yml") && text.contains("1 could not be used"),
        "{text}"
    );
}

#[path = "../../tandem-ingest/tests/support/evtx.rs"]
#[allow(dead_code)]
mod evtx_support;

const SYSMON: &str = "Microsoft-Windows-Sysmon";
const SYSMON_CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";

/// Rules of each kind that tell an empty field from an absent one, as about thirty SigmaHQ
/// Windows rules do.
const EMPTY_RULES: &str = r"title: Probe with an empty command line
id: 0e5a7a39-0000-4000-8000-000000000001
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\probe.exe'
    CommandLine: ''
  condition: selection
level: high
---
title: Probe, unless its command line is empty
id: 0e5a7a39-0000-4000-8000-000000000002
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\probe.exe'
  filter_empty:
    CommandLine: ''
  condition: selection and not filter_empty
level: high
---
title: Probe without a parent command line
id: 0e5a7a39-0000-4000-8000-000000000003
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\probe.exe'
    ParentCommandLine: null
  condition: selection
level: high
---
title: A service entered the running state
id: 0e5a7a39-0000-4000-8000-000000000004
logsource: {product: windows, service: system}
detection:
  selection:
    EventID: 7036
    Data: 'running'
  condition: selection
level: low
";

fn rule_hits(server: &TestServer, n: u32) -> Vec<String> {
    let hits = server.search(&format!(
        "class:detection_finding AND finding.rule_id:0e5a7a39-0000-4000-8000-00000000000{n}"
    ));
    hits["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["attrs"]["finding"]["summary"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// An `.evtx` file imported with `tandem ingest`: a Sysmon process creation whose command
/// line is empty (and whose parent command line is empty), one whose command line is set and
/// whose parent command line is absent, and a classic Service Control Manager record with
/// positional `<Data>`. `CommandLine: ''` matches only the empty one, in a selection and in a
/// filter, `ParentCommandLine: null` only the absent one, and the positional values are kept
/// in order, empty included, as one list.
#[test]
fn empty_evtx_fields_are_not_absent_ones_for_sigma() {
    use evtx_support::{data_record, evtx_file};
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("empty.yml"), EMPTY_RULES).unwrap();
    let dirs = format!("[\"{}\"]", rules.display());
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[("TANDEM_DETECT__SIGMA_DIRS", dirs.as_str())],
    );
    let key = server.add_source("win", "windows");
    let file = evtx_file(
        101,
        vec![
            data_record(
                SYSMON,
                SYSMON_CHANNEL,
                1,
                "2026-03-04T10:00:00Z",
                101,
                vec![
                    (Some("Image"), "C:\\Tools\\probe.exe"),
                    (Some("CommandLine"), ""),
                    (Some("ParentImage"), "C:\\Windows\\explorer.exe"),
                    (Some("ParentCommandLine"), ""),
                    (Some("User"), "CORP\\alice"),
                ],
                0xb1,
            ),
            data_record(
                SYSMON,
                SYSMON_CHANNEL,
                1,
                "2026-03-04T10:01:00Z",
                102,
                vec![
                    (Some("Image"), "C:\\Tools\\probe.exe"),
                    (Some("CommandLine"), "probe.exe --scan"),
                    (Some("User"), "CORP\\bob"),
                ],
                0xb2,
            ),
            data_record(
                "Service Control Manager",
                "System",
                7036,
                "2026-03-04T10:02:00Z",
                103,
                vec![(None, "Windows Update"), (None, ""), (None, "running")],
                0xb3,
            ),
        ],
    );
    let path = dir.path().join("ws-0042.evtx");
    std::fs::write(&path, file).unwrap();
    let out = support::tandem()
        .args(["ingest", path.to_str().unwrap(), "--source", "win"])
        .args(["--key", &key, "--url", &server.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.wait_for("source:win", 3);

    // Stored as Windows wrote it: the empty field is there, empty; the absent one is absent.
    let alice = &server.search("source:win AND user:alice")["events"][0];
    assert_eq!(alice["attrs"]["event_data"]["CommandLine"], "");
    assert_eq!(alice["attrs"]["event_data"]["ParentCommandLine"], "");
    let bob = &server.search("source:win AND user:bob")["events"][0];
    assert!(
        bob["attrs"]["event_data"]
            .get("ParentCommandLine")
            .is_none()
    );
    let all = server.search("source:win");
    let service = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["attrs"]["winlog"]["event_id"] == 7036)
        .unwrap();
    assert_eq!(
        service["attrs"]["event_data"]["Data"],
        json!(["Windows Update", "", "running"])
    );

    let (empty_selected, empty_filtered, no_parent, running) = (
        rule_hits(&server, 1),
        rule_hits(&server, 2),
        rule_hits(&server, 3),
        rule_hits(&server, 4),
    );
    assert_eq!(empty_selected.len(), 1, "{empty_selected:?}");
    assert!(empty_selected[0].contains("alice"), "{empty_selected:?}");
    assert_eq!(empty_filtered.len(), 1, "{empty_filtered:?}");
    assert!(empty_filtered[0].contains("bob"), "{empty_filtered:?}");
    assert_eq!(no_parent.len(), 1, "{no_parent:?}");
    assert!(no_parent[0].contains("bob"), "{no_parent:?}");
    assert_eq!(running.len(), 1, "{running:?}");
    server.terminate();
}
