//! How a Tandem [`Event`] looks to a Sigma rule: its log source ([`logsource_of`]) and its
//! fields under Sigma's names ([`SigmaView`]).
//!
//! Sigma rules name fields the way the product logged them (`EventID`, `TargetUserName`,
//! `eventType`, `id.orig_h`) and pick events by log source (`product: windows`, `service:
//! security`). Tandem keeps those vendor fields verbatim in `attrs`, so the view resolves a
//! rule's field name per log-source family first (Windows System fields and EventData,
//! Sysmon-style process fields for `sudo`, Entra's `SigninLogs` columns, the Tandem
//! taxonomy), then falls back to Tandem's own dotted paths (`actor.user`, `class`), then to
//! `attrs` by exact key, nested path and case-insensitive key. Nothing is copied: values are
//! borrowed from the event, and only derived values (a `DOMAIN\user`, a status word) are
//! allocated, so evaluating thousands of rules costs no per-event JSON build.

use chrono::{Datelike, Timelike};
use rsigma_eval::{Event as SigmaEvent, EventValue};
use rsigma_parser::LogSource;
use serde_json::{Map, Value};
use std::borrow::Cow;
use tandem_model::{Class, Event, Outcome};

/// Which mapping applies to an event: decided once per view from what the decoder left in
/// the event (source vendor/product and the shape of `attrs`), not from configuration, so a
/// Windows event forwarded by any collector is read the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Windows,
    Linux,
    Okta,
    Entra,
    Zeek,
    /// Physical access, camera, IoT and device status: the Tandem taxonomy.
    Tandem,
    Other,
}

pub(crate) fn family_of(e: &Event) -> Family {
    if matches!(e.attrs.get("winlog"), Some(Value::Object(_))) {
        return Family::Windows;
    }
    match e.class {
        Class::PhysicalAccess
        | Class::VideoDetection
        | Class::DeviceTelemetry
        | Class::DeviceStatus => {
            return Family::Tandem;
        }
        _ => {}
    }
    let vendor = e.source.vendor.as_deref().unwrap_or("");
    let product = e.source.product.as_deref().unwrap_or("");
    if vendor.eq_ignore_ascii_case("okta") {
        Family::Okta
    } else if vendor.eq_ignore_ascii_case("microsoft") && product.eq_ignore_ascii_case("entra id") {
        Family::Entra
    } else if product.eq_ignore_ascii_case("zeek") {
        Family::Zeek
    } else if e.attrs.contains_key("syslog.appname")
        || e.attrs.contains_key("syslog.facility")
        || e.attrs.contains_key("authlog.rule")
    {
        Family::Linux
    } else {
        Family::Other
    }
}

/// The Sigma log source of a Tandem event: what `logsource:` of a rule must say for the rule
/// to be evaluated on it.
///
/// | events | product | service | category |
/// |---|---|---|---|
/// | Windows, channel `Security`, `System`, `Application`, Sysmon, PowerShell, … | `windows` | `security`, `system`, `application`, `sysmon`, `powershell`, `powershell-classic`, … (from the channel) | Sysmon event id (`process_creation`, `network_connection`, `file_event`, `registry_set`, `dns_query`, …); PowerShell 4103/4104 → `ps_module`/`ps_script`; classic 400/600 → `ps_classic_start`/`ps_classic_provider_start`; Security 4688 → `process_creation` |
/// | Linux syslog / auth.log | `linux` | `sshd`, `sudo`, `cron`, `vsftpd`, `clamav`, `guacamole` from the program; else `auth` (auth.log lines Tandem normalises, facility auth/authpriv) or `syslog` | `process_creation` for a sudo command that ran |
/// | Okta System Log | `okta` | `okta` | |
/// | Entra ID sign-ins | `azure` | `signinlogs` | |
/// | Zeek | `zeek` | the log's path (`conn`, `dns`, `http`, …) | |
/// | physical access, camera analytics, IoT readings, device status | `tandem` | | `physical_access`, `video_detection`, `iot`, `device_status` |
///
/// Anything else has an empty log source: only rules without a `logsource` product, service or
/// category are evaluated on it.
pub fn logsource_of(event: &Event) -> LogSource {
    route_of(event, family_of(event)).primary()
}

/// Every log source of an event: one per category it belongs to (Sysmon 13 is both
/// `registry_set` and `registry_event`), or the one without a category. A rule is routed to
/// the event when its log source fits one of them.
pub fn logsources_of(event: &Event) -> Vec<LogSource> {
    let route = route_of(event, family_of(event));
    if route.categories.is_empty() {
        return vec![route.primary()];
    }
    route
        .categories
        .iter()
        .map(|c| LogSource {
            category: Some((*c).to_owned()),
            ..route.primary()
        })
        .collect()
}

/// A log source with the extra categories an event also belongs to (Sysmon event 13 is both
/// `registry_set` and `registry_event`), which a single [`LogSource`] cannot hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Route {
    pub product: Option<&'static str>,
    pub service: Option<Cow<'static, str>>,
    pub categories: &'static [&'static str],
}

impl Route {
    pub(crate) fn primary(&self) -> LogSource {
        LogSource {
            product: self.product.map(str::to_owned),
            service: self.service.as_ref().map(|s| s.to_string()),
            category: self.categories.first().map(|c| (*c).to_owned()),
            ..LogSource::default()
        }
    }
}

pub(crate) fn route_of(e: &Event, family: Family) -> Route {
    match family {
        Family::Windows => windows_route(e),
        Family::Linux => linux_route(e),
        Family::Okta => Route {
            product: Some("okta"),
            service: Some(Cow::Borrowed("okta")),
            categories: &[],
        },
        Family::Entra => Route {
            product: Some("azure"),
            service: Some(Cow::Borrowed("signinlogs")),
            categories: &[],
        },
        Family::Zeek => Route {
            product: Some("zeek"),
            service: zeek_path(e).map(|p| Cow::Owned(p.to_ascii_lowercase())),
            categories: &[],
        },
        Family::Tandem => Route {
            product: Some("tandem"),
            service: None,
            categories: tandem_category(e.class),
        },
        Family::Other => Route::default(),
    }
}

fn tandem_category(class: Class) -> &'static [&'static str] {
    match class {
        Class::PhysicalAccess => &["physical_access"],
        Class::VideoDetection => &["video_detection"],
        Class::DeviceTelemetry => &["iot"],
        _ => &["device_status"],
    }
}

fn zeek_path(e: &Event) -> Option<&str> {
    if let Some(p) = e.attrs.get("_path").and_then(Value::as_str) {
        return Some(p);
    }
    // JSON lines without `_path`: the decoder only recognises conn records by their fields.
    (e.class == Class::NetworkActivity && e.attrs.contains_key("conn_state")).then_some("conn")
}

/// Windows channel → Sigma `service`, as the SigmaHQ log-source guide and pySigma's Windows
/// pipeline pair them. Compared case-insensitively.
const WINDOWS_SERVICES: &[(&str, &str)] = &[
    ("Security", "security"),
    ("System", "system"),
    ("Application", "application"),
    ("Microsoft-Windows-Sysmon/Operational", "sysmon"),
    ("Microsoft-Windows-PowerShell/Operational", "powershell"),
    ("Windows PowerShell", "powershell-classic"),
    (
        "Microsoft-Windows-TaskScheduler/Operational",
        "taskscheduler",
    ),
    ("Microsoft-Windows-WMI-Activity/Operational", "wmi"),
    ("DNS Server", "dns-server"),
    ("Microsoft-Windows-DNS-Server/Audit", "dns-server-audit"),
    (
        "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
        "driver-framework",
    ),
    ("Microsoft-Windows-NTLM/Operational", "ntlm"),
    ("Microsoft-Windows-DHCP-Server/Operational", "dhcp"),
    ("MSExchange Management", "msexchange-management"),
    ("Microsoft-Windows-AppLocker/MSI and Script", "applocker"),
    ("Microsoft-Windows-AppLocker/EXE and DLL", "applocker"),
    (
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "applocker",
    ),
    (
        "Microsoft-Windows-AppLocker/Packaged app-Execution",
        "applocker",
    ),
    ("Microsoft-Windows-PrintService/Admin", "printservice-admin"),
    (
        "Microsoft-Windows-PrintService/Operational",
        "printservice-operational",
    ),
    (
        "Microsoft-Windows-CodeIntegrity/Operational",
        "codeintegrity-operational",
    ),
    ("Microsoft-Windows-SmbClient/Security", "smbclient-security"),
    (
        "Microsoft-Windows-SMBServer/Connectivity",
        "smbserver-connectivity",
    ),
    (
        "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
        "firewall-as",
    ),
    ("Microsoft-Windows-Bits-Client/Operational", "bits-client"),
    (
        "Microsoft-Windows-Windows Defender/Operational",
        "windefend",
    ),
    (
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
        "terminalservices-localsessionmanager",
    ),
    ("Microsoft-ServiceBus-Client", "microsoft-servicebus-client"),
    ("Microsoft-Windows-LDAP-Client/Debug", "ldap"),
    (
        "Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "security-mitigations",
    ),
    (
        "Microsoft-Windows-Security-Mitigations/User Mode",
        "security-mitigations",
    ),
    (
        "Microsoft-Windows-Diagnosis-Scripted/Operational",
        "diagnosis-scripted",
    ),
    ("Microsoft-Windows-Shell-Core/Operational", "shell-core"),
    ("OpenSSH/Operational", "openssh"),
    (
        "Microsoft-Windows-AppXDeploymentServer/Operational",
        "appxdeployment-server",
    ),
    (
        "Microsoft-Windows-AppxPackaging/Operational",
        "appxpackaging-om",
    ),
    ("Microsoft-Windows-LSA/Operational", "lsa-server"),
    (
        "Microsoft-Windows-DNS Client Events/Operational",
        "dns-client",
    ),
    (
        "Microsoft-Windows-AppModel-Runtime/Admin",
        "appmodel-runtime",
    ),
    ("Microsoft-Windows-CAPI2/Operational", "capi2"),
    (
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
        "certificateservicesclient-lifecycle-system",
    ),
    (
        "Microsoft-IIS-Configuration/Operational",
        "iis-configuration",
    ),
];

fn winlog(e: &Event) -> Option<&Map<String, Value>> {
    e.attrs.get("winlog")?.as_object()
}

fn event_data(e: &Event) -> Option<&Map<String, Value>> {
    e.attrs.get("event_data")?.as_object()
}

fn windows_event_id(e: &Event) -> Option<u64> {
    let v = winlog(e)?.get("event_id")?;
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}

fn windows_route(e: &Event) -> Route {
    let wl = winlog(e);
    let channel = wl.and_then(|w| w.get("channel")).and_then(Value::as_str);
    let provider = wl.and_then(|w| w.get("provider")).and_then(Value::as_str);
    let service = channel
        .and_then(|c| {
            WINDOWS_SERVICES
                .iter()
                .find(|(ch, _)| ch.eq_ignore_ascii_case(c))
                .map(|(_, s)| *s)
        })
        .or_else(|| {
            // The decoder recognises Security and Sysmon by provider too (NXLog without Channel).
            let p = provider?;
            if p.eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing") {
                Some("security")
            } else if p.eq_ignore_ascii_case("Microsoft-Windows-Sysmon") {
                Some("sysmon")
            } else {
                None
            }
        });
    let id = windows_event_id(e).unwrap_or(0);
    let categories = service.map_or(&[][..], |service| windows_categories(service, id, e));
    Route {
        product: Some("windows"),
        service: service.map(Cow::Borrowed),
        categories,
    }
}

/// Windows events → Sigma categories: `(service, first event id, last event id,
/// categories)`, as Sysmon's documentation, SigmaHQ's log-source guide and pySigma's Windows
/// pipelines pair them. The one table Windows routing reads (`docs/detection/sigma.md` lists
/// it); an event in no row has no category, so only rules without one see it. Sysmon 12 is
/// `registry_delete` instead of `registry_add` when its `EventType` is a delete (below).
/// Security 4688 is Windows' own process audit; the view renames its fields to Sysmon's.
pub(crate) const WINDOWS_CATEGORIES: &[(&str, u64, u64, &[&str])] = &[
    ("sysmon", 1, 1, &["process_creation"]),
    ("sysmon", 2, 2, &["file_change"]),
    ("sysmon", 3, 3, &["network_connection"]),
    ("sysmon", 4, 4, &["sysmon_status"]),
    ("sysmon", 5, 5, &["process_termination"]),
    ("sysmon", 6, 6, &["driver_load"]),
    ("sysmon", 7, 7, &["image_load"]),
    ("sysmon", 8, 8, &["create_remote_thread"]),
    ("sysmon", 9, 9, &["raw_access_thread"]),
    ("sysmon", 10, 10, &["process_access"]),
    ("sysmon", 11, 11, &["file_event"]),
    ("sysmon", 12, 12, &["registry_add", "registry_event"]),
    ("sysmon", 13, 13, &["registry_set", "registry_event"]),
    ("sysmon", 14, 14, &["registry_rename", "registry_event"]),
    ("sysmon", 15, 15, &["create_stream_hash"]),
    ("sysmon", 16, 16, &["sysmon_status"]),
    ("sysmon", 17, 18, &["pipe_created"]),
    ("sysmon", 19, 21, &["wmi_event"]),
    ("sysmon", 22, 22, &["dns_query"]),
    ("sysmon", 23, 23, &["file_delete"]),
    ("sysmon", 24, 24, &["clipboard_change"]),
    ("sysmon", 25, 25, &["process_tampering"]),
    ("sysmon", 26, 26, &["file_delete"]),
    ("sysmon", 27, 29, &["file_block"]),
    ("sysmon", 255, 255, &["sysmon_error"]),
    ("powershell", 4103, 4103, &["ps_module"]),
    ("powershell", 4104, 4104, &["ps_script"]),
    ("powershell-classic", 400, 400, &["ps_classic_start"]),
    (
        "powershell-classic",
        600,
        600,
        &["ps_classic_provider_start"],
    ),
    ("powershell-classic", 800, 800, &["ps_classic_script"]),
    ("security", 4688, 4688, &["process_creation"]),
];

/// Sysmon 12 when it reports a key or value deleted.
const REGISTRY_DELETE: &[&str] = &["registry_delete", "registry_event"];

fn windows_categories(service: &str, id: u64, e: &Event) -> &'static [&'static str] {
    let Some(&(_, _, _, categories)) = WINDOWS_CATEGORIES
        .iter()
        .find(|(s, first, last, _)| *s == service && (*first..=*last).contains(&id))
    else {
        return &[];
    };
    if service == "sysmon" && id == 12 {
        let delete = event_data(e)
            .and_then(|d| d.get("EventType"))
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("Delete"));
        if delete {
            return REGISTRY_DELETE;
        }
    }
    categories
}

fn linux_route(e: &Event) -> Route {
    let app = e
        .attrs
        .get("syslog.appname")
        .and_then(Value::as_str)
        .unwrap_or("");
    let service = match app.to_ascii_lowercase().as_str() {
        "sshd" | "sshd-session" | "sshd-auth" => "sshd",
        "sudo" => "sudo",
        "cron" | "crond" | "anacron" => "cron",
        "vsftpd" => "vsftpd",
        "clamd" | "freshclam" | "clamav" | "clamscan" => "clamav",
        "guacd" | "guacamole" => "guacamole",
        "auditd" | "audit" => "auditd",
        _ => {
            let facility = e.attrs.get("syslog.facility").and_then(Value::as_str);
            if e.attrs.contains_key("authlog.rule") || matches!(facility, Some("auth" | "authpriv"))
            {
                "auth"
            } else {
                "syslog"
            }
        }
    };
    let categories: &'static [&'static str] = if sudo_ran(e) {
        &["process_creation"]
    } else {
        &[]
    };
    Route {
        product: Some("linux"),
        service: Some(Cow::Borrowed(service)),
        categories,
    }
}

/// A sudo command that ran is a process creation (as root, of `sudo.command`); a refused one
/// ran nothing, so process-creation rules must not see it.
fn sudo_ran(e: &Event) -> bool {
    e.class == Class::ProcessActivity
        && e.outcome == Outcome::Success
        && e.attrs.contains_key("sudo.command")
}

/// A Tandem event as a Sigma event. Borrowing, so building one per event and per thread is
/// free; see the module documentation for how names resolve.
#[derive(Debug, Clone, Copy)]
pub struct SigmaView<'a> {
    event: &'a Event,
    family: Family,
    /// Windows event id, read once: Security 4688 renames process fields.
    win_id: u64,
}

impl<'a> SigmaView<'a> {
    pub fn new(event: &'a Event) -> SigmaView<'a> {
        let family = family_of(event);
        let win_id = if family == Family::Windows {
            windows_event_id(event).unwrap_or(0)
        } else {
            0
        };
        SigmaView {
            event,
            family,
            win_id,
        }
    }

    pub fn event(&self) -> &'a Event {
        self.event
    }

    pub(crate) fn family(&self) -> Family {
        self.family
    }

    fn windows_field(&self, name: &str) -> Option<EventValue<'a>> {
        let e = self.event;
        let wl = winlog(e);
        let wl_str = |k: &str| wl.and_then(|w| w.get(k)).map(EventValue::from);
        match name {
            "EventID" => return Some(EventValue::Int(self.win_id as i64)),
            "Channel" => return wl_str("channel"),
            "Provider_Name" | "ProviderName" | "Provider" => return wl_str("provider"),
            "Computer" | "ComputerName" => return wl_str("computer"),
            "EventRecordID" => return wl_str("record_id"),
            "Keywords" => return wl_str("keywords"),
            "Task" => return wl_str("task"),
            "Opcode" => return wl_str("opcode"),
            _ => {}
        }
        let data = event_data(e);
        if self.win_id == 4688 {
            // Security 4688 carries process creation under its own names; SigmaHQ's
            // process_creation rules use Sysmon's.
            let renamed = match name {
                "Image" => Some("NewProcessName"),
                "ParentImage" => Some("ParentProcessName"),
                "LogonId" => Some("SubjectLogonId"),
                "ProcessId" => Some("NewProcessId"),
                _ => None,
            };
            if let Some(r) = renamed {
                return data.and_then(|d| d.get(r)).map(EventValue::from);
            }
            if name == "User" {
                let d = data?;
                let user = d.get("SubjectUserName")?.as_str()?;
                return Some(match d.get("SubjectDomainName").and_then(Value::as_str) {
                    Some(dom) if !dom.is_empty() => {
                        EventValue::Str(Cow::Owned(format!("{dom}\\{user}")))
                    }
                    _ => EventValue::Str(Cow::Borrowed(user)),
                });
            }
        }
        let data = data?;
        if let Some(v) = data.get(name) {
            return Some(EventValue::from(v));
        }
        // NXLog and older collectors vary the case; Windows writes some names with spaces
        // (Defender's `Source Name`), which Sigma rules write without (`SourceName`).
        lookup_loose(data, name).map(EventValue::from)
    }

    fn linux_field(&self, name: &str) -> Option<EventValue<'a>> {
        let a = &self.event.attrs;
        let s = |k: &str| a.get(k).map(EventValue::from);
        match name {
            "CommandLine" if sudo_ran(self.event) => s("sudo.command"),
            "Image" if sudo_ran(self.event) => {
                let cmd = a.get("sudo.command")?.as_str()?;
                Some(EventValue::Str(Cow::Borrowed(
                    cmd.split_whitespace().next().unwrap_or(""),
                )))
            }
            "User" if sudo_ran(self.event) => s("sudo.run_as"),
            "CurrentDirectory" if sudo_ran(self.event) => s("sudo.pwd"),
            "ParentImage" if sudo_ran(self.event) => {
                Some(EventValue::Str(Cow::Borrowed("/usr/bin/sudo")))
            }
            "ParentUser" if sudo_ran(self.event) => self.event.actor.user.as_deref().map(str_value),
            "Hostname" | "host" => self
                .event
                .device
                .as_ref()?
                .hostname
                .as_deref()
                .map(str_value),
            "pid" => s("syslog.procid"),
            "program" | "process" | "appname" => s("syslog.appname"),
            _ => None,
        }
    }

    fn entra_field(&self, name: &str) -> Option<EventValue<'a>> {
        let a = &self.event.attrs;
        match name {
            "ResultType" => get_ci(a, "ResultType")
                .or_else(|| path(a, "status.errorCode", true).and_then(single))
                .map(EventValue::from),
            "ResultDescription" => get_ci(a, "ResultDescription")
                .or_else(|| path(a, "status.failureReason", true).and_then(single))
                .map(EventValue::from),
            // Sigma's Azure rules test `Status: Success`; the Graph and SigninLogs shapes give
            // an object there, so the word comes from the outcome.
            "Status" => match a.get("Status") {
                Some(Value::String(s)) => Some(str_value(s)),
                _ => Some(str_value(match self.event.outcome {
                    Outcome::Success => "Success",
                    Outcome::Failure => "Failure",
                    Outcome::Unknown => "Interrupted",
                })),
            },
            "UserPrincipalName" | "userPrincipalName" => {
                get_ci(a, "userPrincipalName").map(EventValue::from)
            }
            "IPAddress" | "ipAddress" => get_ci(a, "ipAddress")
                .or_else(|| get_ci(a, "callerIpAddress"))
                .map(EventValue::from),
            _ => {
                if let Some(rest) = strip_prefix_ci(name, "LocationDetails.") {
                    let loc = get_ci(a, "LocationDetails").or_else(|| get_ci(a, "location"))?;
                    return path_in(loc, rest, true);
                }
                None
            }
        }
    }

    fn tandem_field(&self, name: &str) -> Option<EventValue<'a>> {
        let e = self.event;
        let place = e.place.as_ref();
        let phys = e.physical.as_ref();
        let det = phys.and_then(|p| p.detection.as_ref());
        let person = e.actor.person.as_ref();
        let device = e.device.as_ref();
        let opt = |s: Option<&'a String>| s.map(|s| str_value(s));
        match name {
            "class" => Some(str_value(e.class.name())),
            "activity" => Some(str_value(e.activity.name())),
            "outcome" => Some(str_value(e.outcome.name())),
            "severity" => Some(str_value(e.severity.name())),
            "message" => Some(str_value(&e.message)),
            "reason" => opt(phys?.reason.as_ref()),
            "direction" => opt(phys?.direction.as_ref()),
            "inferred" => Some(EventValue::Bool(
                phys.is_some_and(|p| p.inference.is_some()),
            )),
            "inference_confidence" => Some(EventValue::Float(
                phys?.inference.as_ref()?.confidence as f64,
            )),
            "badge" => opt(e.actor.badge.as_ref()),
            "user" => opt(e.actor.user.as_ref()),
            "email" => opt(e.actor.email.as_ref()),
            "face" => opt(e.actor.face.as_ref()),
            "person" => Some(str_value(&person?.id)),
            "person_name" => opt(person?.name.as_ref()),
            "person_status" => opt(person?.status.as_ref()),
            "department" => opt(person?.department.as_ref()),
            "match_method" => Some(str_value(&person?.method)),
            "match_confidence" => Some(EventValue::Float(person?.confidence as f64)),
            "site" => opt(place?.site.as_ref()),
            "building" => opt(place?.building.as_ref()),
            "floor" => opt(place?.floor.as_ref()),
            "zone" => opt(place?.zone.as_ref()),
            "door" => opt(place?.door.as_ref()),
            "reader" => opt(place?.reader.as_ref()),
            "camera" => opt(place?.camera.as_ref()),
            "label" => Some(str_value(&det?.label)),
            "sub_label" => opt(det?.sub_label.as_ref()),
            "score" => Some(EventValue::Float(det?.score as f64)),
            "count" => Some(EventValue::Int(det?.count? as i64)),
            "zones" => Some(EventValue::Array(
                det?.zones.iter().map(|z| str_value(z)).collect(),
            )),
            "device" => opt(device?.hostname.as_ref().or(device?.id.as_ref())),
            "device_id" => opt(device?.id.as_ref()),
            "device_kind" => Some(str_value(device_kind_name(device?.kind))),
            "device_ip" => Some(EventValue::Str(Cow::Owned(device?.ip?.to_string()))),
            "metric" | "value" | "state" | "topic" => e.attrs.get(name).map(EventValue::from),
            "source" => Some(str_value(&e.source.name)),
            "vendor" => opt(e.source.vendor.as_ref()),
            "hour_utc" => Some(EventValue::Int(e.time.hour() as i64)),
            "weekday_utc" => Some(str_value(weekday(e.time.weekday()))),
            _ => None,
        }
    }

    /// Tandem's own dotted paths, as search writes them (`docs/schema.md`).
    fn tandem_path(&self, name: &str) -> Option<EventValue<'a>> {
        let e = self.event;
        let opt = |s: Option<&'a String>| s.map(|s| str_value(s));
        let ip =
            |i: Option<std::net::IpAddr>| i.map(|i| EventValue::Str(Cow::Owned(i.to_string())));
        let (head, rest) = name.split_once('.').unwrap_or((name, ""));
        match (head, rest) {
            ("class", "") => Some(str_value(e.class.name())),
            ("activity", "") => Some(str_value(e.activity.name())),
            ("outcome", "") => Some(str_value(e.outcome.name())),
            ("severity", "") => Some(str_value(e.severity.name())),
            ("message", "") => Some(str_value(&e.message)),
            ("raw", "") => opt(e.raw.as_ref()),
            ("id", "") => Some(EventValue::Str(Cow::Owned(e.id.to_string()))),
            ("time", "") => Some(EventValue::Str(Cow::Owned(e.time.to_rfc3339()))),
            ("source", f) => match f {
                "name" => Some(str_value(&e.source.name)),
                "vendor" => opt(e.source.vendor.as_ref()),
                "product" => opt(e.source.product.as_ref()),
                _ => None,
            },
            ("actor", f) => match f {
                "user" => opt(e.actor.user.as_ref()),
                "domain" => opt(e.actor.domain.as_ref()),
                "uid" => opt(e.actor.uid.as_ref()),
                "email" => opt(e.actor.email.as_ref()),
                "badge" => opt(e.actor.badge.as_ref()),
                "face" => opt(e.actor.face.as_ref()),
                "person.id" => e.actor.person.as_ref().map(|p| str_value(&p.id)),
                "person.name" => opt(e.actor.person.as_ref()?.name.as_ref()),
                "person.method" => e.actor.person.as_ref().map(|p| str_value(&p.method)),
                "person.status" => opt(e.actor.person.as_ref()?.status.as_ref()),
                "person.department" => opt(e.actor.person.as_ref()?.department.as_ref()),
                "person.confidence" => e
                    .actor
                    .person
                    .as_ref()
                    .map(|p| EventValue::Float(p.confidence as f64)),
                _ => None,
            },
            ("place", f) => {
                let p = e.place.as_ref()?;
                match f {
                    "site" => opt(p.site.as_ref()),
                    "building" => opt(p.building.as_ref()),
                    "floor" => opt(p.floor.as_ref()),
                    "zone" => opt(p.zone.as_ref()),
                    "door" => opt(p.door.as_ref()),
                    "reader" => opt(p.reader.as_ref()),
                    "camera" => opt(p.camera.as_ref()),
                    g => geo_field(p.geo.as_ref()?, g.strip_prefix("geo.")?),
                }
            }
            ("src" | "dst", f) => {
                let ep = if head == "src" {
                    e.src.as_ref()?
                } else {
                    e.dst.as_ref()?
                };
                match f {
                    "ip" => ip(ep.ip),
                    "port" => ep.port.map(|p| EventValue::Int(p as i64)),
                    "hostname" => opt(ep.hostname.as_ref()),
                    g => geo_field(ep.geo.as_ref()?, g.strip_prefix("geo.")?),
                }
            }
            ("device", f) => {
                let d = e.device.as_ref()?;
                match f {
                    "id" => opt(d.id.as_ref()),
                    "owner" => opt(d.owner.as_ref()),
                    "hostname" => opt(d.hostname.as_ref()),
                    "ip" => ip(d.ip),
                    "mac" => opt(d.mac.as_ref()),
                    "os" => opt(d.os.as_ref()),
                    "kind" => Some(str_value(device_kind_name(d.kind))),
                    _ => None,
                }
            }
            ("physical", f) => {
                let p = e.physical.as_ref()?;
                match f {
                    "reason" => opt(p.reason.as_ref()),
                    "direction" => opt(p.direction.as_ref()),
                    "inference.derivation" => {
                        p.inference.as_ref().map(|i| str_value(&i.derivation))
                    }
                    "inference.confidence" => p
                        .inference
                        .as_ref()
                        .map(|i| EventValue::Float(i.confidence as f64)),
                    "detection.label" => p.detection.as_ref().map(|d| str_value(&d.label)),
                    "detection.sub_label" => opt(p.detection.as_ref()?.sub_label.as_ref()),
                    "detection.score" => p
                        .detection
                        .as_ref()
                        .map(|d| EventValue::Float(d.score as f64)),
                    "detection.count" => Some(EventValue::Int(p.detection.as_ref()?.count? as i64)),
                    "detection.zones" => p
                        .detection
                        .as_ref()
                        .map(|d| EventValue::Array(d.zones.iter().map(|z| str_value(z)).collect())),
                    _ => None,
                }
            }
            ("labels", k) if !k.is_empty() => e.labels.get(k).map(|v| str_value(v)),
            ("attrs", p) if !p.is_empty() => attrs_lookup(&e.attrs, p),
            _ => None,
        }
    }
}

fn str_value(s: &str) -> EventValue<'_> {
    EventValue::Str(Cow::Borrowed(s))
}

fn weekday(d: chrono::Weekday) -> &'static str {
    match d {
        chrono::Weekday::Mon => "mon",
        chrono::Weekday::Tue => "tue",
        chrono::Weekday::Wed => "wed",
        chrono::Weekday::Thu => "thu",
        chrono::Weekday::Fri => "fri",
        chrono::Weekday::Sat => "sat",
        chrono::Weekday::Sun => "sun",
    }
}

fn device_kind_name(k: tandem_model::DeviceKind) -> &'static str {
    use tandem_model::DeviceKind::*;
    match k {
        Unknown => "unknown",
        Laptop => "laptop",
        Workstation => "workstation",
        Server => "server",
        Camera => "camera",
        Reader => "reader",
        Controller => "controller",
        Iot => "iot",
        Network => "network",
    }
}

fn geo_field<'a>(g: &'a tandem_model::GeoLocation, f: &str) -> Option<EventValue<'a>> {
    match f {
        "country" => g.country.as_deref().map(str_value),
        "region" => g.region.as_deref().map(str_value),
        "city" => g.city.as_deref().map(str_value),
        "lat" => g.lat.map(EventValue::Float),
        "lon" => g.lon.map(EventValue::Float),
        _ => None,
    }
}

fn strip_prefix_ci<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Whether `key` equals `name` ignoring ASCII case and the spaces in `key`.
fn loose_eq(key: &str, name: &str) -> bool {
    let mut k = key.bytes().filter(|b| *b != b' ');
    let mut n = name.bytes();
    loop {
        match (k.next(), n.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(&b) => {}
            _ => return false,
        }
    }
}

fn lookup_loose<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter().find(|(k, _)| loose_eq(k, name)).map(|(_, v)| v)
}

fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn single(v: Vec<&Value>) -> Option<&Value> {
    if v.len() == 1 {
        v.into_iter().next()
    } else {
        None
    }
}

/// Walks a dotted path through nested objects; arrays on the way fan out (Okta's `target` is a
/// list of objects, so `target.displayName` is every target's name).
fn path<'a>(map: &'a Map<String, Value>, p: &str, ci: bool) -> Option<Vec<&'a Value>> {
    let mut current: Vec<&'a Value> = Vec::new();
    let mut segments = p.split('.');
    let first = segments.next()?;
    let root = if ci {
        get_ci(map, first)
    } else {
        map.get(first)
    }?;
    current.push(root);
    for seg in segments {
        let mut next = Vec::new();
        for v in current {
            step(v, seg, ci, &mut next);
        }
        if next.is_empty() {
            return None;
        }
        current = next;
    }
    Some(current)
}

fn step<'a>(v: &'a Value, seg: &str, ci: bool, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            let found = if ci { get_ci(m, seg) } else { m.get(seg) };
            if let Some(x) = found {
                out.push(x);
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Value::Object(m) = item {
                    let found = if ci { get_ci(m, seg) } else { m.get(seg) };
                    if let Some(x) = found {
                        out.push(x);
                    }
                }
            }
        }
        _ => {}
    }
}

fn values_to_event(vals: Vec<&Value>) -> Option<EventValue<'_>> {
    match vals.len() {
        0 => None,
        1 => Some(EventValue::from(vals[0])),
        _ => Some(EventValue::Array(
            vals.into_iter().map(EventValue::from).collect(),
        )),
    }
}

fn path_in<'a>(v: &'a Value, p: &str, ci: bool) -> Option<EventValue<'a>> {
    let mut current = vec![v];
    for seg in p.split('.') {
        let mut next = Vec::new();
        for v in current {
            step(v, seg, ci, &mut next);
        }
        if next.is_empty() {
            return None;
        }
        current = next;
    }
    values_to_event(current)
}

/// `attrs` by exact key (Zeek's `id.orig_h` and `sudo.command` are flat keys with dots), then
/// as a nested path, then both without regard to case (Okta rules write `eventtype` too).
fn attrs_lookup<'a>(attrs: &'a Map<String, Value>, name: &str) -> Option<EventValue<'a>> {
    if let Some(v) = attrs.get(name) {
        return Some(EventValue::from(v));
    }
    let dotted = name.contains('.');
    if dotted && let Some(v) = path(attrs, name, false) {
        return values_to_event(v);
    }
    if let Some(v) = attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
    {
        return Some(EventValue::from(v));
    }
    if dotted && let Some(v) = path(attrs, name, true) {
        return values_to_event(v);
    }
    None
}

const MAX_DEPTH: usize = 32;

fn visit_value_strings(v: &Value, depth: usize, visit: &mut dyn FnMut(&str) -> bool) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match v {
        Value::String(s) => visit(s),
        Value::Array(items) => items
            .iter()
            .any(|x| visit_value_strings(x, depth + 1, visit)),
        Value::Object(m) => m.values().any(|x| visit_value_strings(x, depth + 1, visit)),
        _ => false,
    }
}

impl<'a> SigmaView<'a> {
    /// Every string a keyword rule looks at: the message, the raw form and every string in
    /// `attrs`. `visit` returns `true` to stop.
    fn visit_strings(&self, visit: &mut dyn FnMut(&str) -> bool) -> bool {
        let e = self.event;
        if !e.message.is_empty() && visit(&e.message) {
            return true;
        }
        if let Some(raw) = &e.raw
            && visit(raw)
        {
            return true;
        }
        e.attrs.values().any(|v| visit_value_strings(v, 0, visit))
    }
}

impl SigmaEvent for SigmaView<'_> {
    fn get_field(&self, name: &str) -> Option<EventValue<'_>> {
        if name.is_empty() {
            return None;
        }
        let family_hit = match self.family {
            Family::Windows => self.windows_field(name),
            Family::Linux => self.linux_field(name),
            Family::Entra => self.entra_field(name),
            Family::Tandem => self.tandem_field(name),
            // Okta and Zeek keep every vendor field in attrs under the vendor's own name;
            // those names win over Tandem's (`actor.alternateId` is Okta's actor).
            Family::Okta | Family::Zeek => attrs_lookup(&self.event.attrs, name),
            Family::Other => None,
        };
        if family_hit.is_some() {
            return family_hit;
        }
        if let Some(v) = self.tandem_path(name) {
            return Some(v);
        }
        match self.family {
            Family::Okta | Family::Zeek => None,
            _ => attrs_lookup(&self.event.attrs, name),
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.visit_strings(&mut |s| pred(s))
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        self.visit_strings(&mut |s| {
            out.push(Cow::Owned(s.to_owned()));
            false
        });
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.visit_strings(&mut |s| {
            visit(s);
            false
        });
    }

    /// The whole event as Tandem writes it. Only used when a correlation keeps references to
    /// its events (the `id` is what it keeps), never on the detection path.
    fn to_json(&self) -> Value {
        serde_json::to_value(self.event).unwrap_or(Value::Null)
    }
}
