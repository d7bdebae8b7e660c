//! Windows event logs: the Security log and Sysmon, as forwarded by Winlogbeat or NXLog, and
//! `.evtx` files.
//!
//! # Input
//!
//! [`decode`] takes JSON, one object per line, and tells the producer apart by its keys:
//!
//! * **Winlogbeat 7+** (Elastic Common Schema), a `winlog` object. Sample from Elastic's beats
//!   test data (`x-pack/winlogbeat/module/security/test/testdata`, message trimmed):
//!
//!   ```text
//!   {"@timestamp":"2019-03-29T21:10:40.3805426Z","host":{"name":"vagrant-2012-r2"},"message":"An account was successfully logged on.",
//!    "winlog":{"api":"wineventlog","channel":"Security","computer_name":"vagrant-2012-r2","event_id":"4624",
//!    "provider_name":"Microsoft-Windows-Security-Auditing","record_id":1542,"task":"Logon","keywords":["Audit Success"],
//!    "event_data":{"TargetUserName":"vagrant","TargetDomainName":"VAGRANT-2012-R2","LogonType":"2","IpAddress":"127.0.0.1","IpPort":"0",…}}}
//!   ```
//!
//!   Winlogbeat 6 (`event_id`, `log_name`, `source_name`, `computer_name`, `record_number`,
//!   `event_data` at top level) is read too.
//! * **NXLog** `im_msvistalog` with `to_json()`: System fields under NXLog's names
//!   (`EventTime`, `Hostname`, `EventID`, `Channel`, `SourceName`, `ProviderGuid`,
//!   `RecordNumber`, `Keywords`, `Category`, `Message`, …) and every EventData field flattened
//!   beside them:
//!
//!   ```text
//!   {"EventTime":"2021-03-31T12:03:46.974060+03:00","Hostname":"hostname3","Keywords":"9232379236109516800","EventType":"AUDIT_SUCCESS",
//!    "EventID":4769,"SourceName":"Microsoft-Windows-Security-Auditing","RecordNumber":152410252,"Channel":"Security",
//!    "TargetUserName":"user1$@DOMAIN.RU","ServiceName":"SRV1$","IpAddress":"::ffff:10.22.23.24","Status":"0x0",…,
//!    "SourceModuleName":"in_msvistalog_welf","SourceModuleType":"im_msvistalog"}
//!   ```
//! * **EVTX JSON**, `{"Event":{"System":{…},"EventData":{…}}}`, as `evtx_dump -o jsonl` writes
//!   it.
//!
//! [`decode_evtx`] reads an `.evtx` file with the `evtx` crate (`EvtxParser::from_buffer`,
//! records rendered to JSON) and pairs each record with its `EventRecordID`.
//!
//! All of them are reduced to one record (System fields + EventData) and go through one
//! mapping, so an event read from an `.evtx` file and the same event forwarded by Winlogbeat
//! normalise to the same class, activity, outcome, actor, endpoints, message and
//! `attrs.event_data` (tested).
//!
//! # What is kept
//!
//! Every event, mapped or not, carries:
//!
//! * `attrs.winlog` = `{channel, event_id, provider, computer, record_id, task, opcode,
//!   keywords, user_data}` (the last five when present; `task`/`opcode`/`keywords` as the
//!   producer wrote them: names from Winlogbeat and NXLog, numbers from EVTX);
//! * `attrs.event_data` = every EventData field under Windows' own name, as a string
//!   (`TargetUserName`, `LogonType`, `IpAddress`, `SubStatus`, …): what Sigma rules match. For a
//!   UserData event (1102 log cleared) the fields of its one child element, whose name goes to
//!   `attrs.winlog.user_data`. A field that is there but empty is kept as `""` (an EVTX
//!   `<Data Name="CommandLine"/>` too): Sigma tells `CommandLine: ''` (empty) from
//!   `CommandLine: null` (absent). Winlogbeat itself leaves empty fields out, so from
//!   Winlogbeat an empty field reads as absent. Unnamed classic `<Data>` values (Service
//!   Control Manager 7036, …) are one flat list under `Data`, in order, empty ones included;
//! * `device.hostname` = the computer name; `source.vendor` = `Microsoft`, `source.product` =
//!   `Windows` or `Sysmon`; `raw` = the line (EVTX: the record as compact JSON).
//!
//! # Mapping
//!
//! Security log (provider `Microsoft-Windows-Security-Auditing` or channel `Security`):
//!
//! | event | class / activity / outcome | severity | actor | also |
//! |---|---|---|---|---|
//! | 4624 logon | authentication / logon / success | informational | Target account | `src` ← `IpAddress`/`IpPort`, `src.hostname` ← `WorkstationName`; `logon_type`, `logon_type_name` |
//! | 4625 logon failed | authentication / logon / failure | low | Target account | as 4624; `failure_reason` from `SubStatus` (or `Status`), `failure_code` |
//! | 4634 logoff, 4647 user-initiated logoff | authentication / logoff / success | informational | Target account | `logon_type` |
//! | 4648 explicit credentials | authentication / logon / unknown | informational | Subject | `target.*` = whose credentials; `dst.hostname` ← `TargetServerName`; `explicit_credentials` |
//! | 4672 special privileges | authorize_session / assign_privileges / success | informational | Subject | `privileges` (list from `PrivilegeList`) |
//! | 4720 created, 4722 enabled, 4725 disabled, 4726 deleted | account_change / create, enable, disable, delete / success | low | Subject (who did it) | `target.user`, `target.domain`, `target.uid` |
//! | 4740 locked out | account_change / lock / success | medium | Subject | `target.user`, `target.uid`; `caller_computer` and `src.hostname` ← `TargetDomainName` (Windows puts the caller computer there) |
//! | 4768 TGT request | authentication / authentication_ticket / success, failure when `Status` ≠ 0x0 | informational / low | Target account | `src`; `service`; `failure_reason` (Kerberos code) |
//! | 4769 service ticket | authentication / service_ticket / as 4768 | as 4768 | Target account | as 4768 |
//! | 4771 Kerberos pre-auth failed | authentication / authentication_ticket / failure | low | Target account | as 4768 |
//! | 4776 NTLM credential validation | authentication / logon / success, failure when `Status` ≠ 0x0 | informational / low | `TargetUserName` | `src.hostname` ← `Workstation`; `auth_package`; `failure_reason` |
//!
//! Sysmon (channel `Microsoft-Windows-Sysmon/Operational`): 1 process create → process_activity
//! / launch / success, actor from `User` (`DOMAIN\name`), message with `Image` and
//! `CommandLine`; 3 network connection → network_activity / open / success, `src`/`dst` from
//! `SourceIp`/`SourcePort`/`SourceHostname` and the `Destination*` fields.
//!
//! Everything else is class `other`, activity `other`, with the Subject (Security) or `User`
//! (Sysmon) as actor when present, outcome from the audit success/failure keyword, and the
//! first line of Windows' rendered message when the producer sent one.
//!
//! Failure reasons: `Status`/`SubStatus` of 4625 and 4776 are NTSTATUS codes (`0xC000006A` bad
//! password, `0xC0000064` no such user, `0xC0000234` account locked out, `0xC0000072` account
//! disabled, `0xC000006F` outside allowed logon hours, `0xC0000070` workstation not allowed,
//! `0xC0000071` password expired, `0xC0000193` account expired, `0xC0000133` clock skew,
//! `0xC000015B` logon type not granted, `0xC0000224` must change password, …); those of
//! 4768/4769/4771 are Kerberos codes (`0x6` no such user, `0x12` account disabled, expired or
//! locked out, `0x17` password expired, `0x18` bad password, `0x25` clock skew, …). `SubStatus`
//! is preferred when it is not `0x0`: it says what `Status` `0xC000006D` does not.
//!
//! # Sources
//!
//! * Event fields and code tables: Microsoft Learn, "Advanced security audit policy" event
//!   pages (4624, 4625, 4634, 4647, 4648, 4672, 4720, 4722, 4725, 4726, 4740, 4768, 4769, 4771,
//!   4776); Sysinternals Sysmon documentation (event 1, 3).
//! * Winlogbeat fields: Elastic, "Winlogbeat exported fields" (`winlog.*`) and the beats test
//!   data; NXLog: NXLog reference manual, `im_msvistalog` fields.
//! * EVTX JSON: the `evtx` crate's rendering (`#attributes`, `#text`).

mod codes;
mod evtx;
mod map;
mod shapes;

use crate::decode::{DecodeContext, DecodeError, finish};
use serde_json::Value;
use tandem_model::Event;

/// Decodes Windows events sent as JSON lines by Winlogbeat or NXLog (or EVTX JSON), one event
/// per non-blank line; the producer is detected per line.
///
/// Blank lines are skipped, so a text with none gives an empty vector. One line that is not a
/// Windows event fails the whole call with an error naming the line (`line 3: …`): the caller
/// sees exactly which record to dead-letter rather than losing it silently.
pub fn decode(text: &str, ctx: &DecodeContext) -> Result<Vec<Event>, DecodeError> {
    let several = text.trim().lines().nth(1).is_some();
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let event = decode_line(line, n + 1, ctx).map_err(|e| match e {
            DecodeError::Invalid(msg) if several => {
                DecodeError::Invalid(format!("line {}: {msg}", n + 1))
            }
            other => other,
        })?;
        events.push(event);
    }
    Ok(events)
}

fn decode_line(line: &str, number: usize, ctx: &DecodeContext) -> Result<Event, DecodeError> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| DecodeError::json_on_line(&e, number))?;
    let Value::Object(map) = value else {
        return Err(DecodeError::Invalid(
            "expected a JSON object (one Windows event per line)".to_owned(),
        ));
    };
    let record = shapes::record(&map)?;
    let mut event = map::map(record, ctx);
    finish(&mut event, ctx, Some(line));
    Ok(event)
}

/// Decodes every record of an `.evtx` file (the Windows event log's own binary format, e.g. a
/// `Security.evtx` exported for an investigation).
///
/// Each record comes back paired with its `EventRecordID`; a record the parser could not read
/// is an error for that record alone, paired with its record id when the parser knows it and
/// otherwise with its sequence number in the file. Bytes that are not an EVTX file give one
/// error, paired with 0. Each event's `raw` is the record rendered as compact JSON.
pub fn decode_evtx(bytes: &[u8], ctx: &DecodeContext) -> Vec<(u64, Result<Event, DecodeError>)> {
    evtx::decode(bytes, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::ctx;
    use tandem_model::{Activity, Class, Outcome};

    #[test]
    fn blank_text_is_nothing_to_store() {
        assert_eq!(decode("", &ctx()), Ok(Vec::new()));
        assert_eq!(decode("\n  \r\n", &ctx()), Ok(Vec::new()));
    }

    #[test]
    fn errors_name_the_line_when_there_are_several() {
        let text = "{\"EventID\":4624,\"Channel\":\"Security\"}\n[1]\n";
        let err = decode(text, &ctx()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: expected a JSON object (one Windows event per line)"
        );
        let err = decode("{\"EventID\":", &ctx()).unwrap_err();
        assert!(
            matches!(err, DecodeError::InvalidJson { line: 1, .. }),
            "{err}"
        );
        let err = decode("{\"hello\":1}", &ctx()).unwrap_err();
        assert!(err.to_string().starts_with("not a Windows event"), "{err}");
    }

    #[test]
    fn minimal_nxlog_line() {
        let line = r#"{"EventTime":"2017-12-19 17:45:02","Hostname":"h","EventID":"4625","Channel":"Security","SourceName":"Microsoft-Windows-Security-Auditing","TargetUserName":"bob","SubStatus":"0xc0000234","Status":"0xc000006d"}"#;
        let events = decode(line, &ctx()).unwrap();
        let e = &events[0];
        assert_eq!(
            (e.class, e.activity, e.outcome),
            (Class::Authentication, Activity::Logon, Outcome::Failure)
        );
        assert_eq!(e.attrs["failure_reason"], "account locked out");
        assert_eq!(e.time.to_rfc3339(), "2017-12-19T17:45:02+00:00");
        assert_eq!(e.raw.as_deref(), Some(line));
    }
}
