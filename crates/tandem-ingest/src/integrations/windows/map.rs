//! The one mapping from a Windows event record to a Tandem [`Event`], shared by every input
//! shape (Winlogbeat, NXLog, EVTX) so the same event normalises the same way whichever way it
//! arrived.

use super::codes::{audit_outcome, kerberos_reason, logon_type_name, ntstatus_reason, parse_hex};
use crate::decode::{DecodeContext, time_from_receipt};
use serde_json::{Map, Value, json};
use std::net::IpAddr;
use tandem_model::{Activity, Class, Event, Outcome, Severity, Timestamp};

/// The Security log's provider.
const SECURITY_PROVIDER: &str = "Microsoft-Windows-Security-Auditing";
/// Sysmon's provider and channel.
const SYSMON_PROVIDER: &str = "Microsoft-Windows-Sysmon";
const SYSMON_CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";

/// One Windows event, reduced to what every input shape carries: the `<System>` fields and
/// the `<EventData>` (or flattened `<UserData>`) name → value pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Record {
    /// `TimeCreated/@SystemTime`, Winlogbeat `@timestamp`, NXLog `EventTime`.
    pub time: Option<Timestamp>,
    pub event_id: u32,
    pub channel: Option<String>,
    pub provider: Option<String>,
    pub computer: Option<String>,
    pub record_id: Option<u64>,
    /// As the shape gives them: names from Winlogbeat and NXLog, numbers from EVTX.
    pub task: Option<Value>,
    pub opcode: Option<Value>,
    pub keywords: Option<Value>,
    /// The element name of the `<UserData>` child (`LogFileCleared`), when the event has one.
    pub user_data: Option<String>,
    /// EventData, values as strings; a value that is there but empty is `""`, not left out
    /// (Sigma tells empty from absent).
    pub data: Map<String, Value>,
    /// Windows' rendered message, when the shape carries one (EVTX does not).
    pub rendered: Option<String>,
}

impl Record {
    /// An EventData value worth using: trimmed, neither empty nor Windows' `-` placeholder.
    fn get(&self, name: &str) -> Option<&str> {
        let v = self.data.get(name)?.as_str()?.trim();
        (!v.is_empty() && v != "-").then_some(v)
    }

    fn is(&self, field: &Option<String>, value: &str) -> bool {
        field
            .as_deref()
            .is_some_and(|f| f.eq_ignore_ascii_case(value))
    }

    fn is_sysmon(&self) -> bool {
        self.is(&self.provider, SYSMON_PROVIDER) || self.is(&self.channel, SYSMON_CHANNEL)
    }

    fn is_security(&self) -> bool {
        self.is(&self.provider, SECURITY_PROVIDER) || self.is(&self.channel, "Security")
    }
}

/// Builds the normalised event for `rec`. The caller passes it through
/// [`crate::decode::finish`] with the text it came from.
pub(super) fn map(rec: Record, ctx: &DecodeContext) -> Event {
    let time = rec.time.unwrap_or(ctx.received);
    let mut e = Event::new(&ctx.source, Class::Other, Activity::Other, time);
    if rec.time.is_none() {
        time_from_receipt(&mut e);
    }
    let sysmon = rec.is_sysmon();
    e.source.vendor = Some("Microsoft".to_owned());
    e.source.product = Some(if sysmon { "Sysmon" } else { "Windows" }.to_owned());
    if let Some(computer) = &rec.computer {
        e.device_mut().hostname = Some(computer.clone());
    }

    let mapped = if sysmon {
        sysmon_event(&rec, &mut e)
    } else if rec.is_security() {
        security_event(&rec, &mut e)
    } else {
        false
    };
    if !mapped {
        other(&rec, &mut e, sysmon);
    }

    let mut winlog = Map::new();
    put(&mut winlog, "channel", rec.channel.clone().map(Value::from));
    winlog.insert("event_id".to_owned(), rec.event_id.into());
    put(
        &mut winlog,
        "provider",
        rec.provider.clone().map(Value::from),
    );
    put(
        &mut winlog,
        "computer",
        rec.computer.clone().map(Value::from),
    );
    put(&mut winlog, "record_id", rec.record_id.map(Value::from));
    put(&mut winlog, "task", rec.task.clone());
    put(&mut winlog, "opcode", rec.opcode.clone());
    put(&mut winlog, "keywords", rec.keywords.clone());
    put(
        &mut winlog,
        "user_data",
        rec.user_data.clone().map(Value::from),
    );
    e.attrs.insert("winlog".to_owned(), Value::Object(winlog));
    e.attrs
        .insert("event_data".to_owned(), Value::Object(rec.data));
    e
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        map.insert(key.to_owned(), v);
    }
}

/// `DOMAIN\user`, or `user` alone.
fn account(user: Option<&str>, domain: Option<&str>) -> String {
    match (user, domain) {
        (Some(u), Some(d)) => format!("{d}\\{u}"),
        (Some(u), None) => u.to_owned(),
        (None, _) => "unknown account".to_owned(),
    }
}

/// Parses an address as Windows writes it; IPv4-mapped IPv6 (`::ffff:192.168.5.44`, common in
/// Kerberos events) becomes the IPv4 address.
fn ip(s: &str) -> Option<IpAddr> {
    s.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// A port, leaving out `0` (Windows' "no port").
fn port(s: &str) -> Option<u16> {
    s.trim().parse::<u16>().ok().filter(|p| *p != 0)
}

/// SIDs that name nobody: `S-1-0-0` (NULL SID) is written when the account is unknown.
fn sid(s: Option<&str>) -> Option<&str> {
    s.filter(|s| *s != "S-1-0-0")
}

fn set_actor(e: &mut Event, user: Option<&str>, domain: Option<&str>, uid: Option<&str>) {
    e.actor.user = user.map(str::to_owned);
    e.actor.domain = domain.map(str::to_owned);
    e.actor.uid = sid(uid).map(str::to_owned);
}

/// The Subject (the account that did it) as the actor.
fn subject_actor(rec: &Record, e: &mut Event) {
    set_actor(
        e,
        rec.get("SubjectUserName"),
        rec.get("SubjectDomainName"),
        rec.get("SubjectUserSid"),
    );
}

/// The Target account (who logged on, whose ticket) as the actor.
fn target_actor(rec: &Record, e: &mut Event) {
    set_actor(
        e,
        rec.get("TargetUserName"),
        rec.get("TargetDomainName"),
        rec.get("TargetUserSid").or(rec.get("TargetSid")),
    );
}

/// The Target account as `target.*` attributes, for events whose actor is the Subject.
fn target_attrs(rec: &Record, e: &mut Event, with_domain: bool) {
    let mut text = |key: &str, v: Option<&str>| {
        if let Some(v) = v {
            e.attrs.insert(key.to_owned(), v.into());
        }
    };
    text("target.user", rec.get("TargetUserName"));
    if with_domain {
        text("target.domain", rec.get("TargetDomainName"));
    }
    text(
        "target.uid",
        sid(rec.get("TargetSid").or(rec.get("TargetUserSid"))),
    );
}

/// `IpAddress`/`IpPort` as the source endpoint; returns the address text for messages.
fn src_from(rec: &Record, e: &mut Event) -> Option<String> {
    let addr = rec.get("IpAddress").and_then(ip);
    if let Some(addr) = addr {
        e.src_mut().ip = Some(addr);
        if let Some(p) = rec.get("IpPort").and_then(port) {
            e.src_mut().port = Some(p);
        }
    }
    addr.map(|a| a.to_string())
}

fn set(e: &mut Event, class: Class, activity: Activity, outcome: Outcome, severity: Severity) {
    e.class = class;
    e.activity = activity;
    e.outcome = outcome;
    e.severity = severity;
}

/// Adds `logon_type` and `logon_type_name`; returns ` (type N Name)` for messages.
fn logon_type(rec: &Record, e: &mut Event) -> String {
    let Some(t) = rec.get("LogonType") else {
        return String::new();
    };
    e.attrs.insert("logon_type".to_owned(), t.into());
    match logon_type_name(t) {
        Some(name) => {
            e.attrs.insert("logon_type_name".to_owned(), name.into());
            format!(" (type {t} {name})")
        }
        None => format!(" (type {t})"),
    }
}

/// Records `failure_reason` (and the code it came from) for a failed attempt.
fn failure(e: &mut Event, code: Option<&str>, reason: Option<&'static str>) -> String {
    if let Some(code) = code {
        e.attrs.insert("failure_code".to_owned(), code.into());
    }
    match reason {
        Some(r) => {
            e.attrs.insert("failure_reason".to_owned(), r.into());
            format!(": {r}")
        }
        None => code.map(|c| format!(": status {c}")).unwrap_or_default(),
    }
}

/// Whether a result code means success (`0x0`). A missing or unreadable code counts as
/// success only when the event itself is a success event; callers decide.
fn is_zero(code: Option<&str>) -> Option<bool> {
    code.and_then(parse_hex).map(|c| c == 0)
}

fn from_part(addr: Option<&str>) -> String {
    addr.map(|a| format!(" from {a}")).unwrap_or_default()
}

/// Maps a Security-log event this module knows. Returns false to leave it `other`.
fn security_event(rec: &Record, e: &mut Event) -> bool {
    use Activity as A;
    use Class as C;
    use Outcome as O;
    use Severity as S;
    match rec.event_id {
        4624 => {
            set(e, C::Authentication, A::Logon, O::Success, S::Informational);
            target_actor(rec, e);
            let addr = src_from(rec, e);
            let ws = rec.get("WorkstationName");
            if let Some(ws) = ws {
                e.src_mut().hostname = Some(ws.to_owned());
            }
            let lt = logon_type(rec, e);
            let who = account(e.actor.user.as_deref(), e.actor.domain.as_deref());
            e.message = format!(
                "Logon success for {who}{lt}{}",
                from_part(addr.as_deref().or(ws))
            );
        }
        4625 => {
            set(e, C::Authentication, A::Logon, O::Failure, S::Low);
            target_actor(rec, e);
            let addr = src_from(rec, e);
            let ws = rec.get("WorkstationName");
            if let Some(ws) = ws {
                e.src_mut().hostname = Some(ws.to_owned());
            }
            let lt = logon_type(rec, e);
            // SubStatus is the precise reason; Status alone when SubStatus is 0x0 or absent
            // (e.g. 0xC000015B logon type not granted comes in Status).
            let sub = rec
                .get("SubStatus")
                .filter(|s| is_zero(Some(s)) != Some(true));
            let code = sub.or(rec.get("Status"));
            let reason = code
                .and_then(parse_hex)
                .and_then(ntstatus_reason)
                .or_else(|| {
                    rec.get("Status")
                        .and_then(parse_hex)
                        .and_then(ntstatus_reason)
                });
            let why = failure(e, code, reason);
            let who = account(e.actor.user.as_deref(), e.actor.domain.as_deref());
            e.message = format!(
                "Logon failure for {who}{lt}{}{why}",
                from_part(addr.as_deref().or(ws))
            );
        }
        4634 | 4647 => {
            set(
                e,
                C::Authentication,
                A::Logoff,
                O::Success,
                S::Informational,
            );
            target_actor(rec, e);
            let lt = logon_type(rec, e);
            let who = account(e.actor.user.as_deref(), e.actor.domain.as_deref());
            e.message = if rec.event_id == 4647 {
                format!("User-initiated logoff of {who}")
            } else {
                format!("Logoff of {who}{lt}")
            };
        }
        4648 => {
            // Logged when the logon is attempted, before its outcome is known.
            set(e, C::Authentication, A::Logon, O::Unknown, S::Informational);
            subject_actor(rec, e);
            target_attrs(rec, e, true);
            e.attrs
                .insert("explicit_credentials".to_owned(), true.into());
            let addr = src_from(rec, e);
            let server = rec.get("TargetServerName");
            if let Some(server) = server {
                e.dst_mut().hostname = Some(server.to_owned());
            }
            let who = account(e.actor.user.as_deref(), e.actor.domain.as_deref());
            let whose = account(rec.get("TargetUserName"), rec.get("TargetDomainName"));
            let to = server.map(|s| format!(" on {s}")).unwrap_or_default();
            let by = rec
                .get("ProcessName")
                .map(|p| format!(" by {p}"))
                .unwrap_or_default();
            e.message = format!(
                "{who} used explicit credentials of {whose}{to}{by}{}",
                from_part(addr.as_deref())
            );
        }
        4672 => {
            set(
                e,
                C::AuthorizeSession,
                A::AssignPrivileges,
                O::Success,
                S::Informational,
            );
            subject_actor(rec, e);
            let privileges: Vec<&str> = rec
                .get("PrivilegeList")
                .map(|p| p.split_whitespace().collect())
                .unwrap_or_default();
            e.attrs.insert("privileges".to_owned(), json!(privileges));
            let who = account(e.actor.user.as_deref(), e.actor.domain.as_deref());
            e.message = format!(
                "Special privileges assigned to {who}: {}",
                privileges.join(", ")
            );
        }
        4720 | 4722 | 4725 | 4726 | 4740 => {
            let (activity, what, severity) = match rec.event_id {
                4720 => (A::Create, "created", S::Low),
                4722 => (A::Enable, "enabled", S::Low),
                4725 => (A::Disable, "disabled", S::Low),
                4726 => (A::Delete, "deleted", S::Low),
                _ => (A::Lock, "locked out", S::Medium),
            };
            set(e, C::AccountChange, activity, O::Success, severity);
            subject_actor(rec, e);
            // In 4740, TargetDomainName holds the caller computer: where the bad
            // passwords came from (Microsoft Learn, 4740 field descriptions).
            let lockout = rec.event_id == 4740;
            target_attrs(rec, e, !lockout);
            let target = if lockout {
                rec.get("TargetUserName")
                    .unwrap_or("unknown account")
                    .to_owned()
            } else {
                account(rec.get("TargetUserName"), rec.get("TargetDomainName"))
            };
            let mut tail = String::new();
            if lockout && let Some(caller) = rec.get("TargetDomainName") {
                e.attrs.insert("caller_computer".to_owned(), caller.into());
                e.src_mut().hostname = Some(caller.to_owned());
                tail = format!(" (caller computer {caller})");
            }
            let who = account(e.actor.user.as_deref(), e.actor.domain.as_deref());
            e.message = format!("User account {target} {what} by {who}{tail}");
        }
        4768 | 4769 | 4771 => {
            let activity = if rec.event_id == 4769 {
                A::ServiceTicket
            } else {
                A::AuthenticationTicket
            };
            let status = rec.get("Status");
            let ok = rec.event_id != 4771 && is_zero(status).unwrap_or(true);
            let (outcome, severity) = if ok {
                (O::Success, S::Informational)
            } else {
                (O::Failure, S::Low)
            };
            set(e, C::Authentication, activity, outcome, severity);
            target_actor(rec, e);
            if let Some(service) = rec.get("ServiceName") {
                e.attrs.insert("service".to_owned(), service.into());
            }
            let addr = src_from(rec, e);
            let why = if ok {
                String::new()
            } else {
                let reason = status.and_then(parse_hex).and_then(kerberos_reason);
                failure(e, status, reason)
            };
            let who = account(e.actor.user.as_deref(), e.actor.domain.as_deref());
            let what = match rec.event_id {
                4768 => "Kerberos TGT request",
                4769 => "Kerberos service ticket request",
                _ => "Kerberos pre-authentication",
            };
            let result = if ok { "succeeded" } else { "failed" };
            let service = rec
                .get("ServiceName")
                .map(|s| format!(" for {s}"))
                .unwrap_or_default();
            e.message = format!(
                "{what} by {who}{service}{} {result}{why}",
                from_part(addr.as_deref())
            );
        }
        4776 => {
            let status = rec.get("Status");
            let ok = is_zero(status).unwrap_or(true);
            let (outcome, severity) = if ok {
                (O::Success, S::Informational)
            } else {
                (O::Failure, S::Low)
            };
            set(e, C::Authentication, A::Logon, outcome, severity);
            e.actor.user = rec.get("TargetUserName").map(str::to_owned);
            let ws = rec.get("Workstation");
            if let Some(ws) = ws {
                e.src_mut().hostname = Some(ws.to_owned());
            }
            if let Some(package) = rec.get("PackageName") {
                e.attrs.insert("auth_package".to_owned(), package.into());
            }
            let why = if ok {
                String::new()
            } else {
                let reason = status.and_then(parse_hex).and_then(ntstatus_reason);
                failure(e, status, reason)
            };
            let who = account(e.actor.user.as_deref(), None);
            let result = if ok { "succeeded" } else { "failed" };
            e.message = format!(
                "NTLM credential validation for {who}{} {result}{why}",
                from_part(ws)
            );
        }
        _ => return false,
    }
    true
}

/// Sysmon's `User` field: `DOMAIN\name`.
fn sysmon_user(rec: &Record, e: &mut Event) {
    if let Some(user) = rec.get("User") {
        match user.split_once('\\') {
            Some((domain, name)) => set_actor(e, Some(name), Some(domain), None),
            None => set_actor(e, Some(user), None, None),
        }
    }
}

/// Maps a Sysmon event this module knows. Returns false to leave it `other`.
///
/// Field names: Sysmon's event schema (`Sysmon.exe -s`), as in the Sysinternals Sysmon page.
fn sysmon_event(rec: &Record, e: &mut Event) -> bool {
    match rec.event_id {
        1 => {
            set(
                e,
                Class::ProcessActivity,
                Activity::Launch,
                Outcome::Success,
                Severity::Informational,
            );
            sysmon_user(rec, e);
            let image = rec.get("Image").unwrap_or("unknown image");
            let who = account(e.actor.user.as_deref(), e.actor.domain.as_deref());
            e.message = match rec.get("CommandLine") {
                Some(cmd) => format!("Process started by {who}: {image}: {cmd}"),
                None => format!("Process started by {who}: {image}"),
            };
        }
        3 => {
            set(
                e,
                Class::NetworkActivity,
                Activity::Open,
                Outcome::Success,
                Severity::Informational,
            );
            sysmon_user(rec, e);
            let endpoint = |e: &mut Event, src: bool, prefix: &str| {
                let addr = rec.get(&format!("{prefix}Ip")).and_then(ip);
                let p = rec.get(&format!("{prefix}Port")).and_then(port);
                let host = rec.get(&format!("{prefix}Hostname"));
                if addr.is_none() && p.is_none() && host.is_none() {
                    return;
                }
                let ep = if src { e.src_mut() } else { e.dst_mut() };
                ep.ip = addr;
                ep.port = p;
                ep.hostname = host.map(str::to_owned);
            };
            endpoint(e, true, "Source");
            endpoint(e, false, "Destination");
            let show = |ip: Option<&str>, port: Option<&str>| match (ip, port) {
                (Some(i), Some(p)) => format!("{i}:{p}"),
                (Some(i), None) => i.to_owned(),
                _ => "?".to_owned(),
            };
            let image = rec.get("Image").unwrap_or("unknown image");
            let proto = rec
                .get("Protocol")
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            e.message = format!(
                "Network connection by {image}: {} -> {}{proto}",
                show(rec.get("SourceIp"), rec.get("SourcePort")),
                show(rec.get("DestinationIp"), rec.get("DestinationPort")),
            );
        }
        _ => return false,
    }
    true
}

/// Any event this module does not map: class `other`, with the actor and outcome Windows
/// states plainly (Subject account, audit success/failure keyword) and everything kept.
fn other(rec: &Record, e: &mut Event, sysmon: bool) {
    set(
        e,
        Class::Other,
        Activity::Other,
        Outcome::Unknown,
        Severity::Informational,
    );
    if sysmon {
        sysmon_user(rec, e);
    } else {
        subject_actor(rec, e);
    }
    if let Some(ok) = rec.keywords.as_ref().and_then(audit_outcome) {
        e.outcome = if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        };
    }
    let provider = rec.provider.as_deref().unwrap_or("Windows");
    let first_line = rec
        .rendered
        .as_deref()
        .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()));
    e.message = match first_line {
        Some(line) => format!("{provider} event {}: {line}", rec.event_id),
        None => format!("{provider} event {}", rec.event_id),
    };
}
