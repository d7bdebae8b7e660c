//! The `syslog` format: RFC 5424 and RFC 3164 messages, one per line (or per frame; see
//! [`super::SyslogFramer`]).
//!
//! Parsing is done by `syslog_loose`, which accepts both RFCs and the many near-misses real
//! devices send. Samples:
//!
//! ```text
//! <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed for lonvick on /dev/pts/8
//! <165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...
//! <34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8
//! Mar  4 09:15:01 web-1 sshd[2301]: Accepted publickey for alice from 203.0.113.5 port 52344 ssh2
//! ```
//!
//! The first two are RFC 5424 section 6.5 examples 1 and 3, the third RFC 3164 section 5.4
//! example 1; the last is a line of a Debian `/var/log/auth.log` (RFC 3164 without PRI, as
//! rsyslog writes files).
//!
//! Mapping to [`Event`]:
//!
//! * time: the header timestamp in UTC. RFC 3164 dates have no year: [`DecodeContext::default_year`]
//!   if set, else the year that puts the date nearest to [`DecodeContext::received`] (a
//!   `Dec 31 23:59:59` line received on Jan 1 is last year's); such events get attribute
//!   `syslog.year_inferred = true`. A timestamp without zone is UTC. No timestamp (5424 `-`, or
//!   no header): the receipt time, label `time_source=received`.
//! * hostname → `device.hostname` (and `device.ip` when it is an IP address); message →
//!   `message` (a leading RFC 5424 BOM removed).
//! * attributes `syslog.facility`, `syslog.severity` (names such as `authpriv`, `notice`),
//!   `syslog.appname`, `syslog.procid`, `syslog.msgid`, `syslog.version`, and structured data as
//!   `syslog.sd.<SD-ID>.<PARAM>` (an array when a parameter repeats).
//! * severity: emerg → fatal, alert and crit → critical, err → high, warning → medium,
//!   notice → low, info and debug → informational.
//! * class `other`, activity `unknown`, unless [`super::authlog`] recognises the message.
//!
//! **Lines without a syslog header.** Plenty of senders emit bare text, or only a PRI
//! (`<13>disk full`). These are kept as events: message = the text after any PRI, time = the
//! receipt time, label `syslog=unparsed`; a valid PRI still gives facility and severity. The one
//! thing refused is a header-less line containing control characters (other than tab): that is
//! not a log line but a binary protocol, TLS handshake or corrupted stream aimed at the wrong
//! port, and an event made of it would only hide the misconfiguration; the error says so.

use super::{DecodeContext, DecodeError, authlog, time_from_receipt};
use chrono::{Datelike, NaiveDate, Utc};
use serde_json::Value;
use std::cell::Cell;
use std::net::IpAddr;
use syslog_loose::{IncompleteDate, Protocol, Variant};
use tandem_model::{Activity, Class, Event, Severity, Timestamp};

/// Which header a message had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogHeader {
    /// RFC 5424, with its version number (1 for every current sender).
    Rfc5424 { version: u32 },
    /// RFC 3164 (BSD syslog), or the same layout with an RFC 3339 timestamp.
    Rfc3164,
    /// Only a `<PRI>` followed by free text.
    PriOnly,
    /// No header at all: the whole line is the message.
    None,
}

/// One RFC 5424 structured-data element: `[exampleSDID@32473 iut="3"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    pub id: String,
    /// Parameters in order, with `\"`, `\\` and `\]` escapes resolved.
    pub params: Vec<(String, String)>,
}

/// A parsed syslog message, before mapping to an [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub struct SyslogMessage {
    pub header: SyslogHeader,
    /// Facility code 0–23 (`4` auth, `10` authpriv, `16`–`23` local0–7).
    pub facility: Option<u8>,
    /// Severity code 0 (emerg) – 7 (debug).
    pub severity: Option<u8>,
    /// The header timestamp in UTC; `None` when the message has none.
    pub timestamp: Option<Timestamp>,
    /// Whether the year of `timestamp` was supplied or inferred (RFC 3164 dates have none).
    pub year_inferred: bool,
    pub hostname: Option<String>,
    pub appname: Option<String>,
    pub procid: Option<String>,
    pub msgid: Option<String>,
    pub structured_data: Vec<SdElement>,
    /// The free-text message (RFC 5424 MSG, RFC 3164 CONTENT).
    pub message: String,
}

const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clockd", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

impl SyslogMessage {
    /// The facility's conventional name (`authpriv`, `local0`, …).
    pub fn facility_name(&self) -> Option<&'static str> {
        self.facility
            .and_then(|f| FACILITIES.get(usize::from(f)).copied())
    }

    /// The severity's conventional name (`err`, `notice`, …).
    pub fn severity_name(&self) -> Option<&'static str> {
        self.severity
            .and_then(|s| SEVERITIES.get(usize::from(s)).copied())
    }

    /// The syslog severity as an event severity (table in the module docs).
    pub fn event_severity(&self) -> Severity {
        match self.severity {
            Some(0) => Severity::Fatal,
            Some(1 | 2) => Severity::Critical,
            Some(3) => Severity::High,
            Some(4) => Severity::Medium,
            Some(5) => Severity::Low,
            _ => Severity::Informational,
        }
    }
}

/// Parses one syslog line (without its line terminator) into its parts.
///
/// Header-less lines are accepted (see the module docs); only empty lines and header-less
/// lines with control characters are errors.
pub fn parse_syslog(line: &str, ctx: &DecodeContext) -> Result<SyslogMessage, DecodeError> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Err(DecodeError::Empty);
    }
    let inferred = Cell::new(false);
    let (received, default_year) = (ctx.received, ctx.default_year);
    let get_year = |(month, day, hour, minute, second): IncompleteDate| {
        inferred.set(true);
        default_year.unwrap_or_else(|| nearest_year(received, month, day, hour, minute, second))
    };
    match syslog_loose::parse_message_with_year_exact_tz(line, get_year, Some(Utc), Variant::Either)
    {
        Ok(m) => Ok(from_loose(line, m, inferred.get())),
        Err(_) => unparsed(line),
    }
}

/// The year that puts `month-day hh:mm:ss` nearest to `received`, skipping years in which the
/// date does not exist (Feb 29).
fn nearest_year(
    received: Timestamp,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> i32 {
    let year = received.year();
    (year.saturating_sub(4)..=year.saturating_add(4))
        .filter_map(|y| {
            let t = NaiveDate::from_ymd_opt(y, month, day)?.and_hms_opt(hour, minute, second)?;
            Some((y, (t.and_utc() - received).num_seconds().unsigned_abs()))
        })
        .min_by_key(|&(_, distance)| distance)
        .map_or(year, |(y, _)| y)
}

fn from_loose(line: &str, m: syslog_loose::Message<&str>, year_inferred: bool) -> SyslogMessage {
    let header = match m.protocol {
        Protocol::RFC5424(version) => SyslogHeader::Rfc5424 { version },
        Protocol::RFC3164 => SyslogHeader::Rfc3164,
    };
    let mut text = m.msg.strip_prefix('\u{feff}').unwrap_or(m.msg);
    if header == SyslogHeader::Rfc3164 && m.structured_data.is_empty() {
        // syslog_loose reads a leading `-` of 3164 content as an RFC 5424 NILVALUE for
        // structured data (`su: - /dev/pts/0 alice:root` would lose its `-`): put it back.
        let line = line.trim();
        if let Some(head) = line
            .strip_suffix(text)
            .and_then(|b| b.trim_end().strip_suffix('-'))
            && (head.is_empty() || head.ends_with([' ', ':']))
        {
            text = &line[head.len()..];
        }
    }
    SyslogMessage {
        header,
        facility: m.facility.map(|f| f as u8),
        severity: m.severity.map(|s| s as u8),
        timestamp: m.timestamp.map(|t| t.with_timezone(&Utc)),
        year_inferred: year_inferred && m.timestamp.is_some(),
        hostname: m.hostname.map(str::to_owned),
        appname: m.appname.map(str::to_owned),
        procid: m.procid.map(|p| p.to_string()),
        msgid: m.msgid.map(str::to_owned),
        structured_data: m
            .structured_data
            .iter()
            .map(|e| SdElement {
                id: e.id.to_owned(),
                params: e.params().map(|(k, v)| ((*k).to_owned(), v)).collect(),
            })
            .collect(),
        message: text.to_owned(),
    }
}

/// A line `syslog_loose` found no header in: bare text, or a PRI and text.
fn unparsed(line: &str) -> Result<SyslogMessage, DecodeError> {
    let (pri, text) = split_pri(line);
    if let Some((at, c)) = text
        .char_indices()
        .find(|&(_, c)| c.is_control() && c != '\t')
    {
        let at = at + (line.len() - text.len());
        return Err(DecodeError::Invalid(format!(
            "no syslog header, and control character U+{:04X} at byte {at}: this looks like a \
             binary protocol, TLS or a corrupted stream sent to a plain-text syslog port",
            u32::from(c)
        )));
    }
    Ok(SyslogMessage {
        header: if pri.is_some() {
            SyslogHeader::PriOnly
        } else {
            SyslogHeader::None
        },
        facility: pri.map(|p| p >> 3),
        severity: pri.map(|p| p & 7),
        timestamp: None,
        year_inferred: false,
        hostname: None,
        appname: None,
        procid: None,
        msgid: None,
        structured_data: Vec::new(),
        message: text.trim().to_owned(),
    })
}

/// Splits a leading `<PRI>` (0–191, RFC 5424 section 6.2.1) off `line`.
fn split_pri(line: &str) -> (Option<u8>, &str) {
    let parsed = line.strip_prefix('<').and_then(|rest| {
        let (digits, text) = rest.split_once('>')?;
        if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let pri: u8 = digits.parse().ok().filter(|&p| p <= 191)?;
        Some((pri, text))
    });
    match parsed {
        Some((pri, text)) => (Some(pri), text),
        None => (None, line),
    }
}

pub(super) fn decode(text: &str, ctx: &DecodeContext) -> Result<Event, DecodeError> {
    let msg = parse_syslog(text, ctx)?;
    Ok(to_event(&msg, ctx))
}

/// Maps a parsed message to an event (see the module docs), then lets [`authlog`] refine it.
pub(super) fn to_event(m: &SyslogMessage, ctx: &DecodeContext) -> Event {
    let mut e = Event::new(
        &ctx.source,
        Class::Other,
        Activity::Unknown,
        m.timestamp.unwrap_or(ctx.received),
    );
    if m.timestamp.is_none() {
        time_from_receipt(&mut e);
    }
    if matches!(m.header, SyslogHeader::None | SyslogHeader::PriOnly) {
        e.labels.insert("syslog".to_owned(), "unparsed".to_owned());
    }
    e.severity = m.event_severity();
    e.message.clone_from(&m.message);
    if let Some(host) = &m.hostname {
        let device = e.device_mut();
        device.hostname = Some(host.clone());
        device.ip = host.parse::<IpAddr>().ok();
    }
    let mut put = |k: &str, v: Value| {
        e.attrs.insert(k.to_owned(), v);
    };
    if let Some(f) = m.facility_name() {
        put("syslog.facility", f.into());
    }
    if let Some(s) = m.severity_name() {
        put("syslog.severity", s.into());
    }
    if let SyslogHeader::Rfc5424 { version } = m.header {
        put("syslog.version", version.into());
    }
    for (key, value) in [
        ("syslog.appname", &m.appname),
        ("syslog.procid", &m.procid),
        ("syslog.msgid", &m.msgid),
    ] {
        if let Some(v) = value {
            put(key, v.as_str().into());
        }
    }
    if m.year_inferred {
        put("syslog.year_inferred", true.into());
    }
    for element in &m.structured_data {
        for (name, value) in &element.params {
            let key = format!("syslog.sd.{}.{}", element.id, name);
            match e.attrs.get_mut(&key) {
                None => {
                    e.attrs.insert(key, value.as_str().into());
                }
                Some(Value::Array(values)) => values.push(value.as_str().into()),
                Some(first) => *first = Value::Array(vec![first.take(), value.as_str().into()]),
            }
        }
    }
    authlog::normalise(m, &mut e);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::*;
    use crate::decode::{Format, decode_line};
    use serde_json::json;

    fn event(line: &str) -> Event {
        decode_line(Format::Syslog, line.as_bytes(), &ctx()).unwrap()
    }

    #[test]
    fn rfc5424_example_1() {
        // RFC 5424 section 6.5, example 1 (the BOM written as U+FEFF).
        let line = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8";
        let m = parse_syslog(line, &ctx()).unwrap();
        assert_eq!(m.header, SyslogHeader::Rfc5424 { version: 1 });
        assert_eq!(
            (m.facility_name(), m.severity_name()),
            (Some("auth"), Some("crit"))
        );
        assert_eq!(m.timestamp, Some(at("2003-10-11T22:14:15.003Z")));
        assert_eq!(m.hostname.as_deref(), Some("mymachine.example.com"));
        assert_eq!(m.appname.as_deref(), Some("su"));
        assert_eq!(m.procid, None);
        assert_eq!(m.msgid.as_deref(), Some("ID47"));
        assert_eq!(m.message, "'su root' failed for lonvick on /dev/pts/8");
        let e = event(line);
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(
            e.device.as_ref().unwrap().hostname.as_deref(),
            Some("mymachine.example.com")
        );
        assert_eq!(e.attrs["syslog.msgid"], "ID47");
        assert_eq!(e.attrs["syslog.version"], 1);
        assert_eq!(
            e.class,
            Class::Other,
            "this su message is not one authlog knows"
        );
    }

    #[test]
    fn rfc5424_example_2_with_offset() {
        // RFC 5424 section 6.5, example 2.
        let line = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.";
        let e = event(line);
        assert_eq!(e.time, at("2003-08-24T12:14:15.000003Z"));
        assert_eq!(
            e.device.as_ref().unwrap().ip,
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(e.attrs["syslog.facility"], "local4");
        assert_eq!(e.attrs["syslog.severity"], "notice");
        assert_eq!(e.attrs["syslog.procid"], "8710");
        assert_eq!(e.severity, Severity::Low);
        assert_eq!(e.message, "%% It's time to make the do-nuts.");
    }

    #[test]
    fn rfc5424_structured_data() {
        // RFC 5424 section 6.5, examples 3 and 4.
        let e = event(
            r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry..."#,
        );
        assert_eq!(e.attrs["syslog.sd.exampleSDID@32473.iut"], "3");
        assert_eq!(
            e.attrs["syslog.sd.exampleSDID@32473.eventSource"],
            "Application"
        );
        assert_eq!(e.attrs["syslog.sd.exampleSDID@32473.eventID"], "1011");
        assert_eq!(e.message, "An application event log entry...");
        let e = event(
            r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]"#,
        );
        assert_eq!(e.attrs["syslog.sd.examplePriority@32473.class"], "high");
        assert!(e.message.is_empty());
        // RFC 5424 section 6.3.5: a repeated parameter; escapes resolved.
        let e = event(
            r#"<13>1 2026-03-04T09:00:00Z h app - - [origin ip="192.0.2.1" ip="192.0.2.129" x="a\"b\]c"] m"#,
        );
        assert_eq!(
            e.attrs["syslog.sd.origin.ip"],
            json!(["192.0.2.1", "192.0.2.129"])
        );
        assert_eq!(e.attrs["syslog.sd.origin.x"], r#"a"b]c"#);
    }

    #[test]
    fn rfc5424_nil_timestamp_uses_receipt() {
        let e = event("<13>1 - host app - - - hello");
        assert_eq!(e.time, ctx().received);
        assert_eq!(e.labels["time_source"], "received");
    }

    #[test]
    fn rfc3164_example() {
        // RFC 3164 section 5.4, example 1; received 2026-03-04, so October is last year's.
        let m = parse_syslog(
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
            &ctx(),
        )
        .unwrap();
        assert_eq!(m.header, SyslogHeader::Rfc3164);
        assert_eq!(m.timestamp, Some(at("2025-10-11T22:14:15Z")));
        assert!(m.year_inferred);
        assert_eq!(m.hostname.as_deref(), Some("mymachine"));
        assert_eq!(m.appname.as_deref(), Some("su"));
        assert_eq!(m.message, "'su root' failed for lonvick on /dev/pts/8");
        // RFC 3164 section 5.4, example 3.
        let m = parse_syslog("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%", &ctx()).unwrap();
        assert_eq!(m.header, SyslogHeader::Rfc3164);
        assert_eq!(m.severity_name(), Some("notice"));
    }

    #[test]
    fn auth_log_file_line_without_pri() {
        let e = event(
            "Mar  4 09:15:01 web-1 CRON[2301]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
        );
        assert_eq!(e.time, at("2026-03-04T09:15:01Z"));
        assert_eq!(
            e.device.as_ref().unwrap().hostname.as_deref(),
            Some("web-1")
        );
        assert_eq!(e.attrs["syslog.appname"], "CRON");
        assert_eq!(e.attrs["syslog.procid"], "2301");
        assert_eq!(e.attrs["syslog.year_inferred"], true);
        assert!(!e.attrs.contains_key("syslog.facility"));
        assert_eq!(e.class, Class::Other, "cron sessions are not logons");
        assert!(e.labels.is_empty());
    }

    #[test]
    fn modern_rsyslog_file_line_with_rfc3339() {
        let e = event(
            "2026-03-04T09:15:01.123456+01:00 web-1 sshd[2301]: Connection closed by 203.0.113.9 port 40022 [preauth]",
        );
        assert_eq!(e.time, at("2026-03-04T08:15:01.123456Z"));
        assert!(!e.attrs.contains_key("syslog.year_inferred"));
        assert_eq!(e.attrs["syslog.appname"], "sshd");
    }

    #[test]
    fn year_inference_across_new_year() {
        let mut c = ctx();
        c.received = at("2026-01-01T00:00:30Z");
        let m = parse_syslog("<13>Dec 31 23:59:58 h app: late", &c).unwrap();
        assert_eq!(m.timestamp, Some(at("2025-12-31T23:59:58Z")));
        c.received = at("2025-12-31T23:59:59Z");
        let m = parse_syslog("<13>Jan  1 00:00:01 h app: early (sender clock ahead)", &c).unwrap();
        assert_eq!(m.timestamp, Some(at("2026-01-01T00:00:01Z")));
        c.received = at("2026-07-01T00:00:00Z");
        let m = parse_syslog("<13>Jun 30 23:00:00 h app: same year", &c).unwrap();
        assert_eq!(m.timestamp, Some(at("2026-06-30T23:00:00Z")));
        // Feb 29 exists only in leap years: the nearest one is chosen.
        c.received = at("2025-03-01T00:00:00Z");
        let m = parse_syslog("<13>Feb 29 12:00:00 h app: leap", &c).unwrap();
        assert_eq!(m.timestamp, Some(at("2024-02-29T12:00:00Z")));
        // A configured year wins (replaying an old file).
        c.default_year = Some(2019);
        let m = parse_syslog("<13>Dec 31 23:59:58 h app: replay", &c).unwrap();
        assert_eq!(m.timestamp, Some(at("2019-12-31T23:59:58Z")));
    }

    #[test]
    fn headerless_lines_are_kept() {
        let e = event("disk /dev/sda1 is 95% full");
        assert_eq!(e.message, "disk /dev/sda1 is 95% full");
        assert_eq!(e.time, ctx().received);
        assert_eq!(e.labels["syslog"], "unparsed");
        assert_eq!(e.labels["time_source"], "received");
        assert!(e.attrs.is_empty());

        let m = parse_syslog("<11>disk full", &ctx()).unwrap();
        assert_eq!(m.header, SyslogHeader::PriOnly);
        assert_eq!(
            (m.facility_name(), m.severity_name()),
            (Some("user"), Some("err"))
        );
        assert_eq!(m.message, "disk full");
        let e = event("<11>disk full");
        assert_eq!(e.severity, Severity::High);
        assert_eq!(e.labels["syslog"], "unparsed");

        let m = parse_syslog("<999>not a pri", &ctx()).unwrap();
        assert_eq!(
            (m.header, m.message.as_str()),
            (SyslogHeader::None, "<999>not a pri")
        );
    }

    #[test]
    fn binary_garbage_is_refused() {
        // A TLS ClientHello's first bytes as they would arrive (valid UTF-8 part only).
        let err = parse_syslog("\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}", &ctx()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no syslog header, and control character U+0016 at byte 0: this looks like a binary \
             protocol, TLS or a corrupted stream sent to a plain-text syslog port"
        );
        let err = parse_syslog("<13>abc\u{0}def", &ctx()).unwrap_err();
        assert!(err.to_string().contains("U+0000 at byte 7"), "{err}");
        // Tabs are normal in log text.
        assert!(parse_syslog("a\tb", &ctx()).is_ok());
        assert_eq!(parse_syslog("  ", &ctx()).unwrap_err(), DecodeError::Empty);
    }

    #[test]
    fn severity_table() {
        let sev = |s: u8| {
            let m = parse_syslog(&format!("<{s}>1 - - - - - x"), &ctx()).unwrap();
            m.event_severity()
        };
        use Severity::*;
        let got: Vec<_> = (0..8).map(sev).collect();
        assert_eq!(
            got,
            [
                Fatal,
                Critical,
                Critical,
                High,
                Medium,
                Low,
                Informational,
                Informational
            ]
        );
    }
}
