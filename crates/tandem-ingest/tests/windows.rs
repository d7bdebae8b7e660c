//! Windows Security / Sysmon integration: one test per mapped event id (fixtures from Elastic's
//! beats test data and NXLog output, see `fixtures/windows/README.md`), EVTX files built in
//! memory, EVTX vs Winlogbeat equivalence, and property tests.

use proptest::prelude::*;
use serde_json::{Value, json};
use std::net::IpAddr;
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_ingest::integrations::windows::{decode, decode_evtx};
use tandem_model::{Activity, Class, Event, Outcome, Severity};

const WINLOGBEAT: &str = include_str!("fixtures/windows/winlogbeat.jsonl");
const WINLOGBEAT6: &str = include_str!("fixtures/windows/winlogbeat6-sysmon.jsonl");
const NXLOG: &str = include_str!("fixtures/windows/nxlog.jsonl");

fn ctx() -> DecodeContext {
    DecodeContext::new("win-dc", "2026-03-04T10:00:00Z".parse().unwrap())
}

/// The fixture line of `file` whose record id is `record`.
fn line(file: &str, record: u64) -> &str {
    file.lines()
        .find(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["winlog"]["record_id"] == record
                || v["RecordNumber"] == record
                || v["RecordNumber"].as_str().and_then(|s| s.parse().ok()) == Some(record)
        })
        .unwrap_or_else(|| panic!("no fixture record {record}"))
}

fn one(text: &str) -> Event {
    let mut events = decode(text, &ctx()).unwrap();
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn kind(e: &Event) -> (Class, Activity, Outcome, Severity) {
    (e.class, e.activity, e.outcome, e.severity)
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

fn actor(e: &Event) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        e.actor.user.as_deref(),
        e.actor.domain.as_deref(),
        e.actor.uid.as_deref(),
    )
}

#[test]
fn every_fixture_line_decodes() {
    for file in [WINLOGBEAT, WINLOGBEAT6, NXLOG] {
        let events = decode(file, &ctx()).unwrap();
        assert_eq!(events.len(), file.lines().count());
        for (e, l) in events.iter().zip(file.lines()) {
            assert_eq!(e.source.name, "win-dc");
            assert_eq!(e.source.vendor.as_deref(), Some("Microsoft"));
            assert_eq!(e.raw.as_deref(), Some(l));
            assert!(e.attrs["event_data"].is_object());
            assert!(e.attrs["winlog"]["event_id"].is_u64());
            assert!(
                e.labels.is_empty(),
                "every fixture has a time: {:?}",
                e.labels
            );
            assert!(!e.message.is_empty());
        }
    }
}

#[test]
fn logon_4624() {
    let e = one(line(WINLOGBEAT, 1542));
    assert_eq!(
        kind(&e),
        (
            Class::Authentication,
            Activity::Logon,
            Outcome::Success,
            Severity::Informational
        )
    );
    assert_eq!(e.time.to_rfc3339(), "2019-03-29T21:10:40.380542600+00:00");
    assert_eq!(
        actor(&e),
        (
            Some("vagrant"),
            Some("VAGRANT-2012-R2"),
            Some("S-1-5-21-3541430928-2051711210-1391384369-1001")
        )
    );
    let src = e.src.as_ref().unwrap();
    assert_eq!(src.ip, ip("127.0.0.1"));
    assert_eq!(src.port, None, "port 0 means none");
    assert_eq!(src.hostname.as_deref(), Some("VAGRANT-2012-R2"));
    assert_eq!(
        e.device.as_ref().unwrap().hostname.as_deref(),
        Some("vagrant-2012-r2")
    );
    assert_eq!(e.source.product.as_deref(), Some("Windows"));
    assert_eq!(e.attrs["logon_type"], "2");
    assert_eq!(e.attrs["logon_type_name"], "Interactive");
    assert_eq!(
        e.message,
        "Logon success for VAGRANT-2012-R2\\vagrant (type 2 Interactive) from 127.0.0.1"
    );
    assert_eq!(
        e.attrs["winlog"],
        json!({"channel":"Security","event_id":4624,"provider":"Microsoft-Windows-Security-Auditing",
               "computer":"vagrant-2012-r2","record_id":1542,"task":"Logon","opcode":"Info",
               "keywords":["Audit Success"]})
    );
    // EventData verbatim, under Windows' names, as strings: what Sigma matches.
    let data = &e.attrs["event_data"];
    assert_eq!(data["LogonType"], "2");
    assert_eq!(data["IpAddress"], "127.0.0.1");
    assert_eq!(data["LogonProcessName"], "User32 ");
    assert_eq!(data["SubjectUserName"], "VAGRANT-2012-R2$");
    assert_eq!(data.as_object().unwrap().len(), 21);
}

#[test]
fn failed_logon_4625_uses_status_when_sub_status_is_zero() {
    let e = one(line(WINLOGBEAT, 237692));
    assert_eq!(
        kind(&e),
        (
            Class::Authentication,
            Activity::Logon,
            Outcome::Failure,
            Severity::Low
        )
    );
    assert_eq!(
        actor(&e),
        (Some("Auditor"), Some("CONTOSO"), None),
        "NULL SID dropped"
    );
    assert_eq!(e.attrs["failure_reason"], "account locked out");
    assert_eq!(e.attrs["failure_code"], "0xc0000234");
    assert_eq!(
        e.message,
        "Logon failure for CONTOSO\\Auditor (type 2 Interactive) from 127.0.0.1: account locked out"
    );
    assert_eq!(e.attrs["event_data"]["SubStatus"], "0x0");
}

#[test]
fn failed_logon_4625_prefers_sub_status() {
    let e = one(line(WINLOGBEAT, 5521));
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.attrs["failure_reason"], "bad password");
    assert_eq!(e.attrs["failure_code"], "0xc000006a");
    let src = e.src.as_ref().unwrap();
    assert_eq!((src.ip, src.port), (ip("172.26.81.196"), Some(65100)));
    assert_eq!(src.hostname.as_deref(), Some("\\\\172.26.81.196"));
    assert_eq!(actor(&e), (Some("alice"), None, None));
    assert!(
        e.message
            .ends_with("(type 3 Network) from 172.26.81.196: bad password")
    );
}

#[test]
fn failed_logon_4625_from_nxlog() {
    let e = one(line(NXLOG, 87418));
    assert_eq!(
        kind(&e),
        (
            Class::Authentication,
            Activity::Logon,
            Outcome::Failure,
            Severity::Low
        )
    );
    assert_eq!(e.attrs["failure_reason"], "no such user");
    assert_eq!(e.actor.user.as_deref(), Some("ADMIN"));
    assert!(e.src.is_none(), "IpAddress is `-`");
    assert_eq!(e.time.to_rfc3339(), "2019-06-10T14:22:31+00:00");
    assert_eq!(
        e.device.as_ref().unwrap().hostname.as_deref(),
        Some("Server3")
    );
    // NXLog flattens EventData beside its own fields; only EventData is kept as such.
    let data = e.attrs["event_data"].as_object().unwrap();
    assert_eq!(data["SubStatus"], "0xc0000064");
    assert_eq!(data["FailureReason"], "%%2313");
    for nxlog_field in [
        "EventTime",
        "Hostname",
        "Message",
        "SourceModuleType",
        "Severity",
    ] {
        assert!(!data.contains_key(nxlog_field), "{nxlog_field}");
    }
    assert_eq!(e.attrs["winlog"]["task"], "Logon");
    assert_eq!(e.attrs["winlog"]["record_id"], 87418);
}

#[test]
fn logoff_4634() {
    let e = one(line(WINLOGBEAT, 485));
    assert_eq!(
        kind(&e),
        (
            Class::Authentication,
            Activity::Logoff,
            Outcome::Success,
            Severity::Informational
        )
    );
    assert_eq!(e.actor.user.as_deref(), Some("audittest"));
    assert_eq!(e.attrs["logon_type"], "3");
    assert_eq!(
        e.message,
        "Logoff of WIN-41OB2LO92CR\\audittest (type 3 Network)"
    );
}

#[test]
fn user_initiated_logoff_4647() {
    let e = one(line(WINLOGBEAT, 486));
    assert_eq!(
        (e.class, e.activity),
        (Class::Authentication, Activity::Logoff)
    );
    assert_eq!(
        actor(&e),
        (
            Some("audittest"),
            Some("WIN-41OB2LO92CR"),
            Some("S-1-5-21-101361758-2486510592-3018839910-1000")
        )
    );
    assert_eq!(
        e.message,
        "User-initiated logoff of WIN-41OB2LO92CR\\audittest"
    );
}

#[test]
fn explicit_credentials_4648() {
    let e = one(line(WINLOGBEAT, 90211));
    assert_eq!(
        kind(&e),
        (
            Class::Authentication,
            Activity::Logon,
            Outcome::Unknown,
            Severity::Informational
        )
    );
    assert_eq!(
        actor(&e),
        (
            Some("DESKTOP-6N7PTPF$"),
            Some("WORKGROUP"),
            Some("S-1-5-18")
        )
    );
    assert_eq!(e.attrs["target.user"], "hllih6420e");
    assert!(
        !e.attrs.contains_key("target.domain"),
        "empty TargetDomainName"
    );
    assert_eq!(e.attrs["explicit_credentials"], true);
    assert_eq!(
        e.dst.as_ref().unwrap().hostname.as_deref(),
        Some("DESKTOP-6N7PTPF")
    );
    assert!(e.src.is_none());
    assert_eq!(
        e.message,
        "WORKGROUP\\DESKTOP-6N7PTPF$ used explicit credentials of hllih6420e on DESKTOP-6N7PTPF \
         by C:\\Program Files\\Veyon\\veyon-server.exe"
    );
}

#[test]
fn special_privileges_4672() {
    let e = one(line(WINLOGBEAT, 143340));
    assert_eq!(
        kind(&e),
        (
            Class::AuthorizeSession,
            Activity::AssignPrivileges,
            Outcome::Success,
            Severity::Informational
        )
    );
    assert_eq!(
        actor(&e),
        (
            Some("vagrant"),
            Some("VAGRANT-2016"),
            Some("S-1-5-21-1766348727-1038078804-3833492317-1000")
        )
    );
    let privileges = e.attrs["privileges"].as_array().unwrap();
    assert_eq!(privileges.len(), 9);
    assert_eq!(privileges[5], "SeDebugPrivilege");
    assert!(
        e.attrs["event_data"]["PrivilegeList"]
            .as_str()
            .unwrap()
            .contains("\n\t\t\tSeDebugPrivilege"),
        "PrivilegeList kept verbatim"
    );
    assert!(e.message.starts_with(
        "Special privileges assigned to VAGRANT-2016\\vagrant: SeSecurityPrivilege, SeTakeOwnershipPrivilege"
    ));
}

/// Account-management events: the Subject did it, the account it was done to is `target.*`.
fn account_change(record: u64, activity: Activity, severity: Severity) -> Event {
    let e = one(line(WINLOGBEAT, record));
    assert_eq!(
        kind(&e),
        (Class::AccountChange, activity, Outcome::Success, severity),
        "{record}"
    );
    e
}

fn admin_did_it(e: &Event) {
    assert_eq!(
        actor(e),
        (
            Some("Administrator"),
            Some("WIN-41OB2LO92CR"),
            Some("S-1-5-21-101361758-2486510592-3018839910-500")
        )
    );
}

#[test]
fn account_created_4720() {
    let e = account_change(2751, Activity::Create, Severity::Low);
    admin_did_it(&e);
    assert_eq!(e.attrs["target.user"], "elastictest1");
    assert_eq!(e.attrs["target.domain"], "WIN-41OB2LO92CR");
    assert_eq!(
        e.attrs["target.uid"],
        "S-1-5-21-101361758-2486510592-3018839910-1005"
    );
    assert_eq!(
        e.message,
        "User account WIN-41OB2LO92CR\\elastictest1 created by WIN-41OB2LO92CR\\Administrator"
    );
    assert_eq!(e.attrs["event_data"]["SamAccountName"], "elastictest1");
    assert_eq!(e.attrs["event_data"]["AccountExpires"], "<never>");
}

#[test]
fn account_enabled_4722() {
    let e = account_change(2815, Activity::Enable, Severity::Low);
    admin_did_it(&e);
    assert_eq!(e.attrs["target.user"], "audittest");
}

#[test]
fn account_disabled_4725() {
    let e = account_change(2810, Activity::Disable, Severity::Low);
    admin_did_it(&e);
    assert_eq!(e.attrs["target.user"], "audittest");
    assert!(e.message.contains(" disabled by "));
}

#[test]
fn account_deleted_4726() {
    let e = account_change(2851, Activity::Delete, Severity::Low);
    admin_did_it(&e);
    assert_eq!(e.attrs["target.user"], "audittest23");
    assert_eq!(
        e.attrs["target.uid"],
        "S-1-5-21-101361758-2486510592-3018839910-1001"
    );
}

#[test]
fn account_locked_out_4740() {
    let e = account_change(2883, Activity::Lock, Severity::Medium);
    assert_eq!(
        actor(&e),
        (
            Some("WIN-41OB2LO92CR$"),
            Some("WORKGROUP"),
            Some("S-1-5-18")
        )
    );
    assert_eq!(e.attrs["target.user"], "elastictest1");
    assert_eq!(e.attrs["caller_computer"], "WIN-41OB2LO92CR");
    assert!(!e.attrs.contains_key("target.domain"));

    let e = one(line(NXLOG, 92043));
    assert_eq!(
        kind(&e),
        (
            Class::AccountChange,
            Activity::Lock,
            Outcome::Success,
            Severity::Medium
        )
    );
    assert_eq!(e.attrs["target.user"], "BACKUP");
    assert_eq!(e.src.as_ref().unwrap().hostname.as_deref(), Some("WS-0042"));
    assert_eq!(
        e.message,
        "User account BACKUP locked out by WORKGROUP\\SERVER2$ (caller computer WS-0042)"
    );
}

#[test]
fn tgt_request_4768() {
    let e = one(line(WINLOGBEAT, 5_040_235));
    assert_eq!(
        kind(&e),
        (
            Class::Authentication,
            Activity::AuthenticationTicket,
            Outcome::Success,
            Severity::Informational
        )
    );
    assert_eq!(
        actor(&e),
        (
            Some("at_adm"),
            Some("TEST.SAAS"),
            Some("S-1-5-21-1717121054-434620538-60925301-2794")
        )
    );
    assert_eq!(e.src.as_ref().unwrap().ip, ip("::1"));
    assert_eq!(e.attrs["service"], "krbtgt");
    assert!(!e.attrs.contains_key("failure_reason"));

    // Status != 0x0 is a failure, with the Kerberos reason.
    let failed = line(WINLOGBEAT, 5_040_235).replace("\"Status\":\"0x0\"", "\"Status\":\"0x6\"");
    let e = one(&failed);
    assert_eq!((e.outcome, e.severity), (Outcome::Failure, Severity::Low));
    assert_eq!(e.attrs["failure_reason"], "no such user");
    assert!(
        e.message.ends_with(" failed: no such user"),
        "{}",
        e.message
    );
}

#[test]
fn service_ticket_4769() {
    let e = one(line(WINLOGBEAT, 5_040_236));
    assert_eq!(
        kind(&e),
        (
            Class::Authentication,
            Activity::ServiceTicket,
            Outcome::Success,
            Severity::Informational
        )
    );
    assert_eq!(e.actor.user.as_deref(), Some("at_adm@TEST.SAAS"));
    assert_eq!(e.attrs["service"], "DC_TEST2K12$");

    let e = one(line(NXLOG, 152_410_252));
    assert_eq!(
        (e.class, e.activity, e.outcome),
        (
            Class::Authentication,
            Activity::ServiceTicket,
            Outcome::Success
        )
    );
    let src = e.src.as_ref().unwrap();
    assert_eq!(
        (src.ip, src.port),
        (ip("10.22.23.24"), Some(53942)),
        "IPv4-mapped"
    );
    assert_eq!(e.time.to_rfc3339(), "2021-03-31T09:03:46.974060+00:00");
    assert_eq!(
        e.attrs["event_data"]["md5"],
        "421cfea4d5348090d4a11ed24df69616"
    );
    assert_eq!(
        e.message,
        "Kerberos service ticket request by DOMAIN.RU\\user1$@DOMAIN.RU for SRV1$ from 10.22.23.24 succeeded"
    );
}

#[test]
fn kerberos_preauth_failed_4771() {
    let e = one(line(WINLOGBEAT, 5_027_836));
    assert_eq!(
        kind(&e),
        (
            Class::Authentication,
            Activity::AuthenticationTicket,
            Outcome::Failure,
            Severity::Low
        )
    );
    assert_eq!(e.actor.user.as_deref(), Some("MPUIG"));
    assert_eq!(
        e.actor.uid.as_deref(),
        Some("S-1-5-21-1717121054-434620538-60925301-3057")
    );
    let src = e.src.as_ref().unwrap();
    assert_eq!((src.ip, src.port), (ip("192.168.5.44"), Some(53366)));
    assert_eq!(
        e.attrs["failure_reason"],
        "account disabled, expired or locked out"
    );
    assert_eq!(e.attrs["failure_code"], "0x12");
}

#[test]
fn ntlm_validation_4776() {
    let e = one(line(WINLOGBEAT, 5_040_222));
    assert_eq!(
        kind(&e),
        (
            Class::Authentication,
            Activity::Logon,
            Outcome::Success,
            Severity::Informational
        )
    );
    assert_eq!(e.actor.user.as_deref(), Some("at_adm"));
    assert_eq!(
        e.src.as_ref().unwrap().hostname.as_deref(),
        Some("EQP01777")
    );
    assert_eq!(
        e.attrs["auth_package"],
        "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"
    );

    let failed =
        line(WINLOGBEAT, 5_040_222).replace("\"Status\":\"0x0\"", "\"Status\":\"0xc0000064\"");
    let e = one(&failed);
    assert_eq!((e.outcome, e.severity), (Outcome::Failure, Severity::Low));
    assert_eq!(e.attrs["failure_reason"], "no such user");
}

#[test]
fn log_cleared_1102_is_other_with_user_data() {
    let e = one(line(WINLOGBEAT, 14224));
    assert_eq!(
        (e.class, e.activity, e.outcome),
        (Class::Other, Activity::Other, Outcome::Success)
    );
    assert_eq!(e.actor.user.as_deref(), Some("Administrator"));
    assert_eq!(e.attrs["winlog"]["user_data"], "LogFileCleared");
    assert_eq!(
        e.attrs["event_data"],
        json!({"SubjectDomainName":"WLBEAT","SubjectLogonId":"0x50e87","SubjectUserName":"Administrator",
               "SubjectUserSid":"S-1-5-21-101361758-2486510592-3018839910-500"})
    );
    assert_eq!(
        e.message,
        "Microsoft-Windows-Eventlog event 1102: The audit log was cleared."
    );
}

#[test]
fn unmapped_nxlog_event_keeps_everything() {
    let e = one(line(NXLOG, 7_613_465_324));
    assert_eq!(
        (e.class, e.activity, e.outcome),
        (Class::Other, Activity::Other, Outcome::Success)
    );
    assert_eq!(e.attrs["winlog"]["event_id"], 4656);
    assert_eq!(
        e.attrs["event_data"],
        json!({"AccessReason":"-","AccessMask":"0x2","PrivilegeList":"-","RestrictedSidCount":"0",
               "ProcessName":"C:\\Windows\\System32\\svchost.exe"})
    );
    assert_eq!(e.message, "Microsoft-Windows-Security-Auditing event 4656");
}

#[test]
fn sysmon_process_create_1() {
    let e = one(line(WINLOGBEAT, 20));
    assert_eq!(
        kind(&e),
        (
            Class::ProcessActivity,
            Activity::Launch,
            Outcome::Success,
            Severity::Informational
        )
    );
    assert_eq!(e.source.product.as_deref(), Some("Sysmon"));
    assert_eq!(actor(&e), (Some("vagrant"), Some("VAGRANT"), None));
    assert_eq!(
        e.attrs["event_data"]["Image"],
        "C:\\Windows\\System32\\notepad.exe"
    );
    assert_eq!(
        e.attrs["event_data"]["ParentImage"],
        "C:\\Windows\\explorer.exe"
    );
    assert_eq!(
        e.message,
        "Process started by VAGRANT\\vagrant: C:\\Windows\\System32\\notepad.exe: \"C:\\Windows\\system32\\notepad.exe\""
    );
}

#[test]
fn sysmon_network_connection_3_from_winlogbeat_6() {
    let e = one(WINLOGBEAT6);
    assert_eq!(
        kind(&e),
        (
            Class::NetworkActivity,
            Activity::Open,
            Outcome::Success,
            Severity::Informational
        )
    );
    let src = e.src.as_ref().unwrap();
    assert_eq!((src.ip, src.port), (ip("10.100.2.30"), Some(53544)));
    assert_eq!(src.hostname.as_deref(), Some("bert.local.crowbird.com"));
    let dst = e.dst.as_ref().unwrap();
    assert_eq!((dst.ip, dst.port), (ip("23.67.250.128"), Some(80)));
    assert_eq!(actor(&e), (Some("SYSTEM"), Some("NT AUTHORITY"), None));
    assert_eq!(e.attrs["winlog"]["record_id"], 2475);
    assert_eq!(e.device.as_ref().unwrap().hostname.as_deref(), Some("bert"));
    assert_eq!(
        e.message,
        "Network connection by C:\\Program Files\\AVAST Software\\Avast\\AvastSvc.exe: \
         10.100.2.30:53544 -> 23.67.250.128:80 (tcp)"
    );
}

#[test]
fn no_time_means_receipt_time() {
    let e = one(r#"{"winlog":{"event_id":4624,"channel":"Security"}}"#);
    assert_eq!(e.time, ctx().received);
    assert_eq!(e.labels["time_source"], "received");
    assert_eq!(e.message, "Logon success for unknown account");
}

// -----------------------------------------------------------------------------------------
// EVTX files built in memory: the writer is in `support/evtx.rs`, shared with the parser
// benchmark.

#[path = "support/evtx.rs"]
#[allow(dead_code)] // the benchmark uses parts the tests do not
mod evtx_support;
use evtx_support::{CHUNK_HEADER_SIZE, FILE_HEADER_SIZE, RECORD_HEADER_SIZE, sample_evtx};

/// What must agree between the two routes. `task`/`opcode`/`keywords` are not compared: EVTX
/// holds their numbers, Winlogbeat their names.
fn normalised(e: &Event) -> Value {
    let mut winlog = e.attrs["winlog"].clone();
    for k in ["task", "opcode", "keywords"] {
        winlog.as_object_mut().unwrap().remove(k);
    }
    json!({
        "time": e.time, "class": e.class, "activity": e.activity, "outcome": e.outcome,
        "severity": e.severity, "message": e.message, "actor": e.actor, "src": e.src,
        "dst": e.dst, "device": e.device, "source": e.source, "labels": e.labels,
        "attrs": {
            "winlog": winlog,
            "event_data": e.attrs["event_data"],
            "rest": e.attrs.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "winlog" | "event_data"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<serde_json::Map<_, _>>(),
        },
    })
}

#[test]
fn evtx_records_decode() {
    let results = decode_evtx(&sample_evtx(), &ctx());
    assert_eq!(results.len(), 2);
    let (id, first) = &results[0];
    assert_eq!(*id, 1542);
    let e = first.as_ref().unwrap();
    assert_eq!(
        (e.class, e.activity, e.outcome),
        (Class::Authentication, Activity::Logon, Outcome::Success)
    );
    assert_eq!(e.attrs["winlog"]["task"], 12544);
    // raw is the record as compact JSON.
    let raw: Value = serde_json::from_str(e.raw.as_deref().unwrap()).unwrap();
    assert_eq!(raw["Event"]["System"]["EventRecordID"], 1542);
    assert!(!e.raw.as_deref().unwrap().contains('\n'));
    let (id, second) = &results[1];
    assert_eq!(*id, 1543);
    assert_eq!(second.as_ref().unwrap().outcome, Outcome::Failure);
}

#[test]
fn evtx_and_winlogbeat_normalise_identically() {
    let results = decode_evtx(&sample_evtx(), &ctx());
    for ((_, from_evtx), record) in results.iter().zip([1542, 237692]) {
        let from_evtx = from_evtx.as_ref().unwrap();
        let from_winlogbeat = one(line(WINLOGBEAT, record));
        // The EVTX builder numbers records from 1542; the record id in `<System>` is the
        // event's own.
        assert_eq!(
            normalised(from_evtx),
            normalised(&from_winlogbeat),
            "record {record}"
        );
    }
}

#[test]
fn damaged_record_fails_alone() {
    let mut file = sample_evtx();
    // Break the first record's BinXml (its fragment header) but not its size fields.
    let at = FILE_HEADER_SIZE + CHUNK_HEADER_SIZE + RECORD_HEADER_SIZE;
    assert_eq!(file[at], 0x0f);
    file[at..at + 8].copy_from_slice(&[0xff; 8]);
    let results = decode_evtx(&file, &ctx());
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results[0].1.is_err(), "{:?}", results[0]);
    let err = results[0].1.as_ref().unwrap_err().to_string();
    assert!(err.contains("EVTX record"), "{err}");
    assert_eq!(results[1].0, 1543);
    assert_eq!(
        results[1].1.as_ref().unwrap().attrs["winlog"]["event_id"],
        4625
    );
}

#[test]
fn not_evtx_or_truncated() {
    let results = decode_evtx(b"not an evtx file", &ctx());
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, 0);
    let err = results[0].1.as_ref().unwrap_err().to_string();
    assert!(err.starts_with("not an EVTX file"), "{err}");

    let file = sample_evtx();
    for cut in [0, 100, FILE_HEADER_SIZE, FILE_HEADER_SIZE + 1000] {
        let results = decode_evtx(&file[..cut], &ctx());
        assert!(
            results.iter().all(|(_, r)| r.is_err()),
            "cut at {cut}: {results:?}"
        );
    }
}

#[test]
fn evtx_json_lines_decode_like_evtx() {
    // `evtx_dump -o jsonl` output: the same records, as lines.
    let mut parser = evtx::EvtxParser::from_buffer(sample_evtx()).unwrap();
    let lines: Vec<String> = parser
        .records_json_value()
        .map(|r| r.unwrap().data.to_string())
        .collect();
    let from_lines = decode(&lines.join("\n"), &ctx()).unwrap();
    let from_file = decode_evtx(&sample_evtx(), &ctx());
    for (a, (_, b)) in from_lines.iter().zip(&from_file) {
        assert_eq!(normalised(a), normalised(b.as_ref().unwrap()));
    }
}

// -----------------------------------------------------------------------------------------
// No input panics.

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "winlog",
        "event_id",
        "EventID",
        "Event",
        "System",
        "EventData",
        "UserData",
        "Data",
        "#attributes",
        "#text",
        "Name",
        "event_data",
        "user_data",
        "log_name",
        "channel",
        "Channel",
        "provider_name",
        "SourceName",
        "TargetUserName",
        "IpAddress",
        "IpPort",
        "LogonType",
        "Status",
        "SubStatus",
        "PrivilegeList",
        "User",
        "SourceIp",
        "@timestamp",
        "EventTime",
        "TimeCreated",
        "SystemTime",
        "record_id",
        "keywords",
        "Keywords",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-zA-Z0-9:.\\\\\\- %x]{0,24}".prop_map(Value::String),
        Just(Value::from(4624)),
        Just(Value::from("4625")),
        Just(Value::from(1)),
        Just(Value::from("Security")),
        Just(Value::from("Microsoft-Windows-Sysmon/Operational")),
        Just(Value::from("0xc000006a")),
        Just(Value::from("::ffff:10.0.0.1")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn decode_never_panics_on_text(text in "\\PC{0,300}") {
        let _ = decode(&text, &ctx());
    }

    #[test]
    fn decode_never_panics_on_json(value in json_value()) {
        match decode(&value.to_string(), &ctx()) {
            Ok(events) => for e in events {
                prop_assert_eq!(e.source.name.as_str(), "win-dc");
            },
            Err(DecodeError::Invalid(m)) => prop_assert!(!m.is_empty()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn decode_evtx_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..5000)) {
        let mut file = b"ElfFile\0".to_vec();
        file.extend(bytes.iter().copied());
        let _ = decode_evtx(&bytes, &ctx());
        let _ = decode_evtx(&file, &ctx());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decode_evtx_never_panics_on_damaged_files(
        flips in prop::collection::vec((0usize..(FILE_HEADER_SIZE + 4000), any::<u8>()), 1..20)
    ) {
        let mut file = sample_evtx();
        for (at, byte) in flips {
            file[at] = byte;
        }
        let _ = decode_evtx(&file, &ctx());
    }
}
