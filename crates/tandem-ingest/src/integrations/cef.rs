//! ArcSight Common Event Format (CEF), with access-control normalisation.
//!
//! CEF is the lowest common denominator of physical access-control systems: Genetec Security
//! Center, Lenel OnGuard, Software House C-CURE and most SIEM connectors for them can emit it,
//! usually over syslog. The format is defined by Micro Focus (now OpenText) in *Implementing
//! ArcSight Common Event Format (CEF)*, revision 25 ("the spec" below); the key dictionary and
//! escaping rules quoted here come from its "CEF Header and Extension" and "Character
//! Encoding" sections. Configure a source with `format = "cef"`.
//!
//! ```text
//! Sep 19 08:26:10 host CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232
//! <134>Mar  4 09:15:01 acs-01 CEF:0|Software House|C-CURE|2.90|Card Admitted|Card Admitted|3|rt=1772615701000 suid=CORP\\jdoe suser=Jane Doe cs1Label=Door cs1=HQ Lobby East cs3Label=Site cs3=HQ cs4Label=Card Number cs4=40123
//! ```
//!
//! The first line is the spec's own example; the second follows the field layout SIEM
//! parsers document for C-CURE's CEF output (see `tests/fixtures/cef/README.md`).
//!
//! # Syntax ([`parse`])
//!
//! `CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension`,
//! found anywhere in the line after an optional syslog header (RFC 3164 or 5424, parsed with
//! [`crate::decode::parse_syslog`] for its hostname and time). `CEF:` must start the line or
//! follow a space or `:`.
//!
//! * **Header**: seven `|`-separated fields; inside them `\|` is a literal pipe and `\\` a
//!   literal backslash. A line with only six pipes and no extension is accepted (senders often
//!   drop the trailing `|`). Severity is kept as written (`0`–`10`, `Low`, `Very-High`, …).
//! * **Extension**: space-separated `key=value` pairs. Values may contain spaces: a value ends
//!   where the next ` key=` begins (a key is `[A-Za-z0-9_.\-\[\]]+` preceded by a space and
//!   followed by an unescaped `=`). Inside values `\=` is `=`, `\\` is `\`, `\n` and `\r` are a
//!   newline and a carriage return; a pipe needs no escape. Any other backslash is kept as
//!   written (senders that do not escape Windows paths still parse). Spaces before the next key
//!   and at the end of the line are not part of a value. A repeated key keeps every value.
//! * Refused: no `CEF:` marker, fewer than six header pipes, text before the first extension
//!   key. Each error says which.
//!
//! # Mapping ([`decode`])
//!
//! | event field | from |
//! |---|---|
//! | `time` | `rt`, else `end`, else `start`: epoch milliseconds, RFC 3339, or a spec date format (`MMM dd yyyy HH:mm:ss[.SSS] [zzz]`, also without the year); else the syslog header time; else the receipt time (label `time_source=received`) |
//! | `source.vendor` / `source.product` | header Device Vendor / Device Product |
//! | `severity` | header Severity: 0–3 low, 4–6 medium, 7–8 high, 9–10 critical (the spec's bands); `Unknown`, `Low`, `Medium`, `High`, `Very-High` by name |
//! | `message` | `msg`, else the header Name |
//! | `actor.user` | `suser`, else `duser`, else a custom field labelled as a cardholder (below) |
//! | `actor.uid` | `suid`, else `duid` |
//! | `actor.badge` | a custom field labelled as a card number (below) |
//! | `src` / `dst` | `src`/`spt`/`shost`, `dst`/`dpt`/`dhost` |
//! | `device` | `dvchost` (else the syslog hostname), `dvc`, `dvcmac` |
//! | `outcome` | `outcome` containing `success` / `fail`; else set by the access vocabulary |
//! | `place.*`, `physical.direction` | custom fields by label (below); `deviceDirection` 0 = in, 1 = out |
//!
//! ArcSight's long key names (`sourceUserName`, `deviceCustomString1`, `deviceCustomString1Label`,
//! `receiptTime`, …) are understood for the keys above.
//!
//! **Attributes.** Every extension key is kept in `attrs` under its CEF name, with its value as
//! text; the header as `cef.version`, `cef.device_vendor`, `cef.device_product`,
//! `cef.device_version`, `cef.signature_id`, `cef.name`, `cef.severity`. A field with a label
//! (`cs1` with `cs1Label=Door`; the same for `cn1..3`, `cfp1..4`, `flexString1..2`, any `XLabel`)
//! is also kept under the label's text (`attrs["Door"]`) unless that name is already taken.
//!
//! **Custom-field labels** (compared case-insensitively, ignoring spaces, `_` and `-`):
//!
//! | label | event field |
//! |---|---|
//! | `Door`, `DoorName`, `AccessPoint` | `place.door` |
//! | `Reader`, `ReaderName`, `ReaderDesc`, `ReaderDescription` | `place.reader` |
//! | `Site`, `Facility`, `Campus` | `place.site` |
//! | `Building` | `place.building` |
//! | `Floor` | `place.floor` |
//! | `Zone`, `Area` | `place.zone` |
//! | `Camera` | `place.camera` |
//! | `Card`, `CardNumber`, `CardNo`, `CardNum`, `Badge`, `BadgeId`, `BadgeNumber`, `Credential`, `CredentialNumber` | `actor.badge` |
//! | `Cardholder`, `CardholderName`, `Person`, `PersonName` | `actor.user` (after `suser`/`duser`) |
//! | `Direction` (`in`, `entry`, `inbound` / `out`, `exit`, `outbound`) | `physical.direction` |
//! | `Reason`, `DenyReason`, `DenialReason` | read for the denial reason |
//!
//! **Access-control vocabulary.** Vendors name the same events differently ("Access granted",
//! "Card Admitted", "Valid card"), so the event is recognised from keywords in the header
//! Device Event Class ID and Name and the `act` and `cat` values, matched case-insensitively in
//! this order; the first row that matches wins:
//!
//! | keywords | needs physical context | class / activity / outcome |
//! |---|---|---|
//! | `duress` | no | physical_access / duress |
//! | `tamper` | yes | physical_access / tamper |
//! | `tamper` + a device noun (below) | no | device_status / tamper (a controller's or panel's case opened) |
//! | `forced open`, `door forced`, `forced entry`, `forced door` | no | physical_access / forced |
//! | `held open`, `open too long`, `door held`, `propped` | no | physical_access / held_open |
//! | `request to exit`, `request-to-exit`, `exit request`, `rex` (whole word) | no | physical_access / request_to_exit / success |
//! | `passback`, `apb` (whole word) | no | physical_access / denied + reason `anti_passback` when a denial keyword is also present, else anti_passback |
//! | `offline`, `off-line`, `communication lost`, `comm loss` + a device noun (`reader`, `door`, `controller`, `panel`, `lock`, `module`, `device`, `acu`) | — | device_status / offline |
//! | `online`, `on-line`, `communication restored` + a device noun | — | device_status / online |
//! | `denied`, `deny`, `reject`, `refused`, `not admitted`, `invalid` | yes | physical_access / denied / failure |
//! | `granted`, `admitted`, `accepted`, `valid card`, `access allowed` | yes | physical_access / granted / success |
//!
//! "Physical context" keeps a proxy's "Access denied" or an antivirus's "Tamper protection off"
//! out of physical access: the text must also name a `card`, `badge`, `credential`,
//! `cardholder`, `door`, `reader`, `pin`, `keypad`, `turnstile`, `gate` or `entry`, or the
//! record must carry a door, reader or card-number custom field. Anything else stays class
//! `other` / activity `unknown` with everything in `attrs`.
//!
//! **Denial reasons** come from the `reason` key or a reason-labelled custom field if present,
//! else from the Name, `act`, `msg` and `cat` together, normalised by the access-control
//! reason vocabulary shared with the other access-control decoders
//! ([`super::access_reason`], table in its docs).

use super::access_reason::{any, has_word, normalise_reason};
use crate::decode::time::parse_str;
use crate::decode::time_from_receipt;
use crate::decode::{DecodeContext, DecodeError, SyslogHeader, finish, parse_syslog, quote};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;
use tandem_model::{Activity, Class, Event, Outcome, Severity, Timestamp};

/// One CEF record as written, escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CefRecord {
    /// The CEF format version (`0` or `1`), as written after `CEF:`.
    pub version: String,
    pub device_vendor: String,
    pub device_product: String,
    pub device_version: String,
    /// Device Event Class ID: the vendor's identifier for the kind of event.
    pub signature_id: String,
    /// Human-readable event name.
    pub name: String,
    /// Severity exactly as written: `0`–`10` or a name such as `Very-High`.
    pub severity: String,
    /// Extension pairs in order, with `\=`, `\\`, `\n`, `\r` resolved. Keys may repeat.
    pub extensions: Vec<(String, String)>,
}

impl CefRecord {
    /// The first value of `key`, also trying ArcSight's long name for it.
    pub fn get(&self, key: &str) -> Option<&str> {
        let long = long_name(key);
        self.extensions
            .iter()
            .find(|(k, _)| k == key || Some(k.as_str()) == long)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the CEF record in `text` (after any syslog header). See the module docs for the
/// grammar and what is refused.
pub fn parse(text: &str) -> Result<CefRecord, DecodeError> {
    let start = find_marker(text).ok_or_else(|| {
        DecodeError::Invalid(format!(
            "no `CEF:` header found in `{}`; expected `CEF:0|vendor|product|version|id|name|severity|extension`",
            quote(text.trim())
        ))
    })?;
    let body = &text[start + "CEF:".len()..];
    let (fields, extension) = split_header(body)?;
    let [
        version,
        device_vendor,
        device_product,
        device_version,
        signature_id,
        name,
        severity,
    ] = fields;
    Ok(CefRecord {
        version: version.trim().to_owned(),
        device_vendor,
        device_product,
        device_version,
        signature_id,
        name,
        severity: severity.trim().to_owned(),
        extensions: parse_extension(extension)?,
    })
}

/// Decodes one CEF message (optionally behind a syslog header) into one event.
pub fn decode(text: &str, ctx: &DecodeContext) -> Result<Vec<Event>, DecodeError> {
    let text = text.trim_end_matches(['\r', '\n']);
    if text.trim().is_empty() {
        return Err(DecodeError::Empty);
    }
    let record = parse(text)?;
    let header = syslog_header(text, ctx);
    let mut event = to_event(&record, header.as_ref(), ctx);
    finish(&mut event, ctx, Some(text));
    Ok(vec![event])
}

/// What the syslog header in front of `CEF:` says, when there is one.
struct Header {
    hostname: Option<String>,
    time: Option<Timestamp>,
}

fn syslog_header(text: &str, ctx: &DecodeContext) -> Option<Header> {
    let prefix = text[..find_marker(text)?].trim();
    if prefix.is_empty() {
        return None;
    }
    // The prefix alone (`<134>Mar  4 09:15:01 acs-01`, `… host app:`) parses as a header with
    // an empty message.
    let msg = parse_syslog(prefix, ctx).ok()?;
    if matches!(msg.header, SyslogHeader::None | SyslogHeader::PriOnly) {
        return None;
    }
    Some(Header {
        hostname: msg.hostname.filter(|h| !h.is_empty() && h != "-"),
        time: msg.timestamp,
    })
}

/// Byte offset of the `CEF:` marker: at the start, or after a space or `:`.
fn find_marker(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text.get(from..)?.find("CEF:") {
        let at = from + found;
        let before = text[..at].trim_start_matches('\u{feff}');
        if before.is_empty() || before.ends_with([' ', ':', '\t']) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Splits the seven header fields (escapes resolved) from the raw extension.
fn split_header(body: &str) -> Result<([String; 7], &str), DecodeError> {
    let mut fields: Vec<String> = Vec::with_capacity(7);
    let mut current = String::new();
    let mut chars = body.char_indices();
    let mut extension = None;
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '|')) => current.push('|'),
                Some((_, '\\')) => current.push('\\'),
                Some((_, other)) => {
                    current.push('\\');
                    current.push(other);
                }
                None => current.push('\\'),
            },
            '|' => {
                fields.push(std::mem::take(&mut current));
                if fields.len() == 7 {
                    extension = Some(&body[at + 1..]);
                    break;
                }
            }
            c => current.push(c),
        }
    }
    let extension = match extension {
        Some(ext) => ext,
        // Six pipes: the severity runs to the end of the line and there is no extension.
        None if fields.len() == 6 => {
            fields.push(current);
            ""
        }
        None => {
            return Err(DecodeError::Invalid(format!(
                "CEF header has {} of the 7 `|`-separated fields \
                 (version|vendor|product|version|id|name|severity)",
                fields.len() + 1
            )));
        }
    };
    let fields: [String; 7] = fields
        .try_into()
        .map_err(|_| DecodeError::Invalid("CEF header is malformed".to_owned()))?;
    Ok((fields, extension))
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']')
}

/// Splits the extension into pairs (see the module docs for the rules).
fn parse_extension(ext: &str) -> Result<Vec<(String, String)>, DecodeError> {
    let bytes = ext.as_bytes();
    // (key start, `=` position) of every real key.
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b'=' => {
                let mut k = i;
                while k > 0 && is_key_byte(bytes[k - 1]) {
                    k -= 1;
                }
                if k < i && (k == 0 || bytes[k - 1] == b' ') {
                    keys.push((k, i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    let leading = keys.first().map_or(ext, |&(k, _)| &ext[..k]);
    if !leading.trim().is_empty() {
        return Err(DecodeError::Invalid(format!(
            "CEF extension does not start with `key=value`: `{}`",
            quote(leading.trim())
        )));
    }
    let mut pairs = Vec::with_capacity(keys.len());
    for (n, &(key_start, eq)) in keys.iter().enumerate() {
        let raw = match keys.get(n + 1) {
            Some(&(next, _)) => ext[eq + 1..next].trim_end_matches(' '),
            None => ext[eq + 1..].trim_end(),
        };
        pairs.push((ext[key_start..eq].to_owned(), unescape_value(raw)));
    }
    Ok(pairs)
}

/// Resolves the extension-value escapes `\=`, `\\`, `\n`, `\r`; keeps any other backslash.
fn unescape_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('=') => out.push('='),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// ArcSight's long ("full") name for the short keys this module maps.
fn long_name(key: &str) -> Option<&'static str> {
    Some(match key {
        "act" => "deviceAction",
        "cat" => "deviceEventCategory",
        "dhost" => "destinationHostName",
        "dpt" => "destinationPort",
        "dst" => "destinationAddress",
        "duid" => "destinationUserId",
        "duser" => "destinationUserName",
        "dvc" => "deviceAddress",
        "dvchost" => "deviceHostName",
        "dvcmac" => "deviceMacAddress",
        "end" => "endTime",
        "msg" => "message",
        "outcome" => "eventOutcome",
        "rt" => "receiptTime",
        "shost" => "sourceHostName",
        "spt" => "sourcePort",
        "src" => "sourceAddress",
        "start" => "startTime",
        "suid" => "sourceUserId",
        "suser" => "sourceUserName",
        _ => return None,
    })
}

/// The short key for an ArcSight long name of a custom field (`deviceCustomString3` → `cs3`,
/// `deviceCustomString3Label` → `cs3Label`).
fn short_custom(key: &str) -> Option<String> {
    const LONG: [(&str, &str); 4] = [
        ("deviceCustomString", "cs"),
        ("deviceCustomNumber", "cn"),
        ("deviceCustomFloatingPoint", "cfp"),
        ("deviceCustomDate", "deviceCustomDate"),
    ];
    LONG.iter().find_map(|(long, short)| {
        let rest = key.strip_prefix(long)?;
        (short != long).then(|| format!("{short}{rest}"))
    })
}

/// What a custom-field label stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Door,
    Reader,
    Site,
    Building,
    Floor,
    Zone,
    Camera,
    Card,
    Cardholder,
    Direction,
    Reason,
    /// The access-control system's own id (GUID) of a door, reader, site, zone, camera or
    /// controller: what `place.ids.<what>` keeps.
    Id(&'static str),
}

fn role_of(label: &str) -> Option<Role> {
    let norm: String = label
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match norm.as_str() {
        "door" | "doorname" | "accesspoint" => Role::Door,
        "reader" | "readername" | "readerdesc" | "readerdescription" => Role::Reader,
        "site" | "facility" | "campus" => Role::Site,
        "building" => Role::Building,
        "floor" => Role::Floor,
        "zone" | "area" => Role::Zone,
        "camera" => Role::Camera,
        "card" | "cardnumber" | "cardno" | "cardnum" | "badge" | "badgeid" | "badgenumber"
        | "credential" | "credentialnumber" => Role::Card,
        "cardholder" | "cardholdername" | "person" | "personname" => Role::Cardholder,
        "direction" => Role::Direction,
        "reason" | "denyreason" | "denialreason" => Role::Reason,
        "doorid" | "doorguid" | "doorno" | "doornumber" | "accesspointid" | "accesspointguid" => {
            Role::Id("door")
        }
        "readerid" | "readerguid" | "readerno" | "readernumber" => Role::Id("reader"),
        "siteid" | "siteguid" | "facilityid" | "partitionid" => Role::Id("site"),
        "zoneid" | "zoneguid" | "areaid" | "areaguid" => Role::Id("zone"),
        "cameraid" | "cameraguid" => Role::Id("camera"),
        "deviceid" | "deviceguid" | "controllerid" | "controllerguid" | "panelid" | "unitid" => {
            Role::Id("device")
        }
        _ => return None,
    })
}

/// The record's keys after long names are shortened, first value of each, with labels.
struct Fields<'a> {
    values: HashMap<String, &'a str>,
    /// (label text, value) of every labelled field, in record order.
    labelled: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn new(record: &'a CefRecord) -> Fields<'a> {
        let mut values: HashMap<String, &'a str> = HashMap::new();
        for (k, v) in &record.extensions {
            let short = short_custom(k).unwrap_or_else(|| k.clone());
            let canonical = long_to_short(&short).map_or(short, str::to_owned);
            values.entry(canonical).or_insert(v.as_str());
        }
        let mut labelled = Vec::new();
        for (k, v) in &record.extensions {
            let short = short_custom(k).unwrap_or_else(|| k.clone());
            if short.ends_with("Label") {
                continue;
            }
            if let Some(label) = values.get(&format!("{short}Label")) {
                let label = label.trim();
                if !label.is_empty() {
                    labelled.push((label, v.as_str()));
                }
            }
        }
        Fields { values, labelled }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.values
            .get(key)
            .copied()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    fn role(&self, role: Role) -> Option<&'a str> {
        self.labelled
            .iter()
            .find(|(label, v)| role_of(label) == Some(role) && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }
}

fn long_to_short(key: &str) -> Option<&'static str> {
    const SHORT: [&str; 20] = [
        "act", "cat", "dhost", "dpt", "dst", "duid", "duser", "dvc", "dvchost", "dvcmac", "end",
        "msg", "outcome", "rt", "shost", "spt", "src", "start", "suid", "suser",
    ];
    SHORT.iter().copied().find(|s| long_name(s) == Some(key))
}

fn to_event(record: &CefRecord, header: Option<&Header>, ctx: &DecodeContext) -> Event {
    let fields = Fields::new(record);
    let time = ["rt", "end", "start"]
        .iter()
        .find_map(|k| fields.get(k).and_then(|v| parse_cef_time(v, ctx)))
        .or_else(|| header.and_then(|h| h.time));
    let mut event = Event::new(
        &ctx.source,
        Class::Other,
        Activity::Unknown,
        time.unwrap_or(ctx.received),
    );
    if time.is_none() {
        time_from_receipt(&mut event);
    }
    keep_attrs(&mut event, record, &fields);
    event.source.vendor = nonempty(&record.device_vendor);
    event.source.product = nonempty(&record.device_product);
    event.severity = severity(&record.severity);
    event.message = fields
        .get("msg")
        .map_or_else(|| record.name.trim().to_owned(), str::to_owned);

    event.actor.user = fields
        .get("suser")
        .or_else(|| fields.get("duser"))
        .or_else(|| fields.role(Role::Cardholder))
        .map(str::to_owned);
    event.actor.uid = fields
        .get("suid")
        .or_else(|| fields.get("duid"))
        .map(str::to_owned);
    event.actor.badge = fields.role(Role::Card).map(str::to_owned);

    endpoints(&mut event, &fields);
    let host = fields
        .get("dvchost")
        .map(str::to_owned)
        .or_else(|| header.and_then(|h| h.hostname.clone()));
    if let Some(host) = host {
        let device = event.device_mut();
        device.ip = host.parse::<IpAddr>().ok();
        device.hostname = Some(host);
    }
    if let Some(ip) = fields.get("dvc").and_then(|v| v.parse::<IpAddr>().ok()) {
        event.device_mut().ip = Some(ip);
    }
    if let Some(mac) = fields.get("dvcmac") {
        event.device_mut().mac = Some(mac.to_owned());
    }
    if let Some(outcome) = fields.get("outcome").and_then(outcome_of) {
        event.outcome = outcome;
    }
    classify(&mut event, record, &fields);
    event
}

fn nonempty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Every extension key under its CEF name, labelled fields under their labels, the header as
/// `cef.*`.
fn keep_attrs(event: &mut Event, record: &CefRecord, fields: &Fields<'_>) {
    let attrs = &mut event.attrs;
    for (key, value) in [
        ("cef.version", &record.version),
        ("cef.device_vendor", &record.device_vendor),
        ("cef.device_product", &record.device_product),
        ("cef.device_version", &record.device_version),
        ("cef.signature_id", &record.signature_id),
        ("cef.name", &record.name),
        ("cef.severity", &record.severity),
    ] {
        attrs.insert(key.to_owned(), Value::String(value.clone()));
    }
    for (key, value) in &record.extensions {
        let value = Value::String(value.clone());
        match attrs.get_mut(key) {
            None => {
                attrs.insert(key.clone(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    for (label, value) in &fields.labelled {
        attrs
            .entry((*label).to_owned())
            .or_insert_with(|| Value::String((*value).to_owned()));
    }
}

fn endpoints(event: &mut Event, fields: &Fields<'_>) {
    for (ip_key, port_key, host_key, is_src) in [
        ("src", "spt", "shost", true),
        ("dst", "dpt", "dhost", false),
    ] {
        let ip = fields.get(ip_key).and_then(|v| v.parse::<IpAddr>().ok());
        let port = fields.get(port_key).and_then(|v| v.parse::<u16>().ok());
        let host = fields.get(host_key).map(str::to_owned);
        if ip.is_none() && port.is_none() && host.is_none() {
            continue;
        }
        let endpoint = if is_src {
            event.src_mut()
        } else {
            event.dst_mut()
        };
        endpoint.ip = ip;
        endpoint.port = port;
        endpoint.hostname = host;
    }
}

/// The spec's severity bands.
fn severity(s: &str) -> Severity {
    match s.trim().to_ascii_lowercase().as_str() {
        "unknown" => Severity::Unknown,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "very-high" | "very high" | "veryhigh" => Severity::Critical,
        other => match other.parse::<u8>() {
            Ok(0..=3) => Severity::Low,
            Ok(4..=6) => Severity::Medium,
            Ok(7..=8) => Severity::High,
            Ok(9..=10) => Severity::Critical,
            _ => Severity::Unknown,
        },
    }
}

fn outcome_of(s: &str) -> Option<Outcome> {
    let s = s.to_ascii_lowercase();
    if s.contains("success") {
        Some(Outcome::Success)
    } else if s.contains("fail") {
        Some(Outcome::Failure)
    } else {
        None
    }
}

/// Applies the access-control vocabulary (module docs) to a decoded event.
fn classify(event: &mut Event, record: &CefRecord, fields: &Fields<'_>) {
    let text = [
        Some(record.signature_id.as_str()),
        Some(record.name.as_str()),
        fields.get("act"),
        fields.get("cat"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
    .to_lowercase();
    let physical_context = any(
        &text,
        &[
            "card",
            "badge",
            "credential",
            "door",
            "reader",
            "keypad",
            "turnstile",
            "gate",
            "entry",
        ],
    ) || has_word(&text, "pin")
        || [
            Role::Door,
            Role::Reader,
            Role::Card,
            Role::Id("door"),
            Role::Id("reader"),
        ]
        .iter()
        .any(|r| fields.role(*r).is_some());
    let denial = any(
        &text,
        &["denied", "deny", "reject", "refused", "not admitted"],
    ) || has_word(&text, "invalid");
    let device_noun = any(
        &text,
        &[
            "reader",
            "door",
            "controller",
            "panel",
            "lock",
            "module",
            "device",
        ],
    ) || has_word(&text, "acu");

    use Activity as A;
    let (class, activity) = if text.contains("duress") {
        (Class::PhysicalAccess, A::Duress)
    } else if text.contains("tamper") && physical_context {
        (Class::PhysicalAccess, A::Tamper)
    } else if text.contains("tamper") && device_noun {
        // A controller's or panel's case opened: about the hardware, not a door.
        (Class::DeviceStatus, A::Tamper)
    } else if any(
        &text,
        &["forced open", "door forced", "forced entry", "forced door"],
    ) {
        (Class::PhysicalAccess, A::Forced)
    } else if any(
        &text,
        &["held open", "open too long", "door held", "propped"],
    ) {
        (Class::PhysicalAccess, A::HeldOpen)
    } else if any(
        &text,
        &["request to exit", "request-to-exit", "exit request"],
    ) || has_word(&text, "rex")
    {
        (Class::PhysicalAccess, A::RequestToExit)
    } else if text.contains("passback") || has_word(&text, "apb") {
        if denial {
            (Class::PhysicalAccess, A::Denied)
        } else {
            (Class::PhysicalAccess, A::AntiPassback)
        }
    } else if device_noun
        && any(
            &text,
            &["offline", "off-line", "communication lost", "comm loss"],
        )
    {
        (Class::DeviceStatus, A::Offline)
    } else if device_noun && any(&text, &["online", "on-line", "communication restored"]) {
        (Class::DeviceStatus, A::Online)
    } else if denial && physical_context {
        (Class::PhysicalAccess, A::Denied)
    } else if physical_context
        && any(
            &text,
            &[
                "granted",
                "admitted",
                "accepted",
                "valid card",
                "access allowed",
            ],
        )
    {
        (Class::PhysicalAccess, A::Granted)
    } else {
        return;
    };
    event.class = class;
    event.activity = activity;
    match activity {
        A::Granted | A::RequestToExit => event.outcome = Outcome::Success,
        A::Denied => {
            event.outcome = Outcome::Failure;
            let explicit = fields
                .get("reason")
                .or_else(|| fields.role(Role::Reason))
                .map(normalise_reason)
                .filter(|r| *r != "other");
            let reason = explicit.unwrap_or_else(|| {
                let all = [
                    Some(record.name.as_str()),
                    fields.get("act"),
                    fields.get("msg"),
                    fields.get("cat"),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
                normalise_reason(&all)
            });
            event.physical_mut().reason = Some(reason.to_owned());
        }
        _ => {}
    }
    // A controller's or reader's status names where it is (its door, or the controller's
    // id) as a badge event does.
    if matches!(class, Class::PhysicalAccess | Class::DeviceStatus) {
        place(event, fields);
    } else if let Some(reader) = fields.role(Role::Reader) {
        event.place_mut().reader = Some(reader.to_owned());
    }
}

fn place(event: &mut Event, fields: &Fields<'_>) {
    let set = |role| fields.role(role).map(str::to_owned);
    let mut place = tandem_model::Place {
        site: set(Role::Site),
        building: set(Role::Building),
        floor: set(Role::Floor),
        zone: set(Role::Zone),
        door: set(Role::Door),
        reader: set(Role::Reader),
        camera: set(Role::Camera),
        ..Default::default()
    };
    for what in ["door", "reader", "site", "zone", "camera", "device"] {
        if let Some(id) = fields.role(Role::Id(what)) {
            place.ids.insert(what.to_owned(), id.to_owned());
        }
    }
    // `deviceExternalId` is the spec's "name that uniquely identifies the device generating
    // this event": for an access-control system, the controller or reader.
    let system = event.source.vendor.as_deref().map(system_of);
    if let Some(id) = fields.get("deviceExternalId") {
        place
            .ids
            .entry("device".to_owned())
            .or_insert_with(|| id.to_owned());
        let device = event.device_mut();
        device.external_id = Some(id.to_owned());
        device.system.clone_from(&system);
    }
    if !place.ids.is_empty() {
        place.system = system;
    }
    if !place.is_empty() {
        event.place = Some(place);
    }
    let direction = fields
        .role(Role::Direction)
        .and_then(|d| match d.to_ascii_lowercase().as_str() {
            "in" | "entry" | "inbound" | "enter" | "ingress" => Some("in"),
            "out" | "exit" | "outbound" | "egress" => Some("out"),
            _ => None,
        })
        .or_else(|| match fields.get("deviceDirection") {
            Some("0") => Some("in"),
            Some("1") => Some("out"),
            _ => None,
        });
    if let Some(direction) = direction {
        event.physical_mut().direction = Some(direction.to_owned());
    }
}

/// The directory's name for an access-control system, from the CEF Device Vendor: `Genetec`
/// → `genetec`, `Lenel` / `LenelS2` → `lenel`, `Software House` (C-CURE) → `ccure`, any
/// other vendor lower-cased with spaces and punctuation removed. The places file keys
/// `external_ids` by these names.
pub fn system_of(vendor: &str) -> String {
    let v: String = vendor
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .flat_map(|c| c.to_lowercase())
        .collect();
    if v.starts_with("genetec") {
        "genetec".to_owned()
    } else if v.starts_with("lenel") {
        "lenel".to_owned()
    } else if v.starts_with("softwarehouse") || v.contains("ccure") {
        "ccure".to_owned()
    } else {
        v
    }
}

/// Parses a CEF time value: epoch milliseconds, RFC 3339, or one of the spec's date formats.
fn parse_cef_time(value: &str, ctx: &DecodeContext) -> Option<Timestamp> {
    let value = value.trim();
    if let Some(t) = parse_str(value) {
        return Some(t);
    }
    // `MMM dd [yyyy] HH:mm:ss[.SSS] [zzz]`
    let (rest, offset) = match value.rsplit_once(' ') {
        Some((rest, zone)) if !zone.contains(':') || zone.starts_with(['+', '-', 'G', 'U']) => {
            match zone_offset(zone) {
                Some(offset) => (rest, offset),
                // A zone-like last token Tandem does not know: refuse rather than guess.
                None if zone.chars().all(|c| c.is_ascii_alphabetic()) => return None,
                None => (value, FixedOffset::east_opt(0)?),
            }
        }
        _ => (value, FixedOffset::east_opt(0)?),
    };
    let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    let local = if let Ok(t) = NaiveDateTime::parse_from_str(&rest, "%b %d %Y %H:%M:%S%.f") {
        t
    } else {
        year_less(&rest, ctx)?
    };
    offset
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// `MMM dd HH:mm:ss[.SSS]` in the configured year, or the year nearest the receipt time.
fn year_less(rest: &str, ctx: &DecodeContext) -> Option<NaiveDateTime> {
    let parse = |year: i32| {
        NaiveDateTime::parse_from_str(&format!("{year} {rest}"), "%Y %b %d %H:%M:%S%.f").ok()
    };
    if let Some(year) = ctx.default_year {
        return parse(year);
    }
    let year = ctx.received.year();
    (year.saturating_sub(1)..=year.saturating_add(1))
        .filter_map(parse)
        .min_by_key(|t| (t.and_utc() - ctx.received).num_seconds().unsigned_abs())
}

/// Offsets for the zone names a Java `zzz` pattern prints for the zones access-control servers
/// commonly run in, and numeric forms (`+0100`, `+01:00`, `GMT+01:00`).
fn zone_offset(zone: &str) -> Option<FixedOffset> {
    let hours = |h: i32| FixedOffset::east_opt(h * 3600);
    match zone.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" | "UT" => return hours(0),
        "EST" => return hours(-5),
        "EDT" | "AST" => return hours(-4),
        "CST" => return hours(-6),
        "CDT" => return hours(-5),
        "MST" => return hours(-7),
        "MDT" => return hours(-6),
        "PST" => return hours(-8),
        "PDT" => return hours(-7),
        "CET" => return hours(1),
        "CEST" | "EET" => return hours(2),
        "EEST" => return hours(3),
        _ => {}
    }
    let numeric = zone
        .strip_prefix("GMT")
        .or_else(|| zone.strip_prefix("UTC"))
        .unwrap_or(zone);
    let sign = match numeric.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = numeric[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.is_empty() || digits.len() > 4 {
        return None;
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i32>().ok()?, 0)
    } else {
        let split = digits.len() - 2;
        (
            digits[..split].parse::<i32>().ok()?,
            digits[split..].parse::<i32>().ok()?,
        )
    };
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// The time a CEF date string means, if any (exposed for tests and the mapping module).
pub(crate) fn cef_time(value: &str, ctx: &DecodeContext) -> Option<DateTime<Utc>> {
    parse_cef_time(value, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::*;

    fn one(line: &str) -> Event {
        let mut events = decode(line, &ctx()).unwrap();
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    #[test]
    fn spec_example_with_syslog_header() {
        let e = one(
            "Sep 19 08:26:10 host CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
        );
        assert_eq!(e.class, Class::Other);
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(e.source.vendor.as_deref(), Some("Security"));
        assert_eq!(e.source.product.as_deref(), Some("threatmanager"));
        assert_eq!(e.message, "worm successfully stopped");
        assert_eq!(e.src.as_ref().unwrap().port, Some(1232));
        assert_eq!(e.dst.as_ref().unwrap().ip, Some("2.1.2.2".parse().unwrap()));
        assert_eq!(e.device.unwrap().hostname.as_deref(), Some("host"));
        // Year inferred nearest the receipt time (2026-03-04): 2025-09-19.
        assert_eq!(e.time, at("2025-09-19T08:26:10Z"));
        assert_eq!(e.attrs["cef.signature_id"], "100");
    }

    #[test]
    fn header_escapes() {
        let r = parse(r"CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a | dst=1.1.1.1").unwrap();
        assert_eq!(r.name, "detected a | in message");
        assert_eq!(r.get("act"), Some("blocked a |"));
        let r = parse(r"CEF:0|security|threatmanager|1.0|100|detected a \\ in packet|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1").unwrap();
        assert_eq!(r.name, r"detected a \ in packet");
        assert_eq!(r.get("act"), Some(r"blocked a \"));
    }

    #[test]
    fn extension_escapes() {
        let r = parse(r"CEF:0|security|threatmanager|1.0|100|detected a = in message|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1").unwrap();
        assert_eq!(r.get("act"), Some("blocked a ="));
        assert_eq!(r.get("dst"), Some("1.1.1.1"));
        let r = parse(r"CEF:0|a|b|c|d|e|1|msg=line one\nline two\rend path=C:\\Program Files\\x")
            .unwrap();
        assert_eq!(r.get("msg"), Some("line one\nline two\rend"));
        assert_eq!(r.get("path"), Some(r"C:\Program Files\x"));
    }

    #[test]
    fn six_pipes_and_errors() {
        let r = parse("CEF:0|a|b|c|d|e|5").unwrap();
        assert_eq!(r.severity, "5");
        assert!(r.extensions.is_empty());
        let err = |s: &str| parse(s).unwrap_err().to_string();
        assert!(err("hello world").contains("no `CEF:` header"));
        assert!(err("CEF:0|a|b").contains("3 of the 7"));
        assert!(err("CEF:0|a|b|c|d|e|5|junk k=v").contains("does not start with `key=value`"));
        assert!(err("xCEF:0|a|b|c|d|e|5|").contains("no `CEF:`"));
    }

    #[test]
    fn cef_dates() {
        let c = ctx();
        assert_eq!(
            cef_time("Mar 04 2026 09:15:01.250 UTC", &c),
            Some(at("2026-03-04T09:15:01.25Z"))
        );
        assert_eq!(
            cef_time("Mar 4 2026 09:15:01 EST", &c),
            Some(at("2026-03-04T14:15:01Z"))
        );
        assert_eq!(
            cef_time("Mar 04 09:15:01 GMT+01:00", &c),
            Some(at("2026-03-04T08:15:01Z"))
        );
        assert_eq!(
            cef_time("Mar 04 2026 09:15:01", &c),
            Some(at("2026-03-04T09:15:01Z"))
        );
        assert_eq!(
            cef_time("1772615701000", &c),
            Some(at("2026-03-04T09:15:01Z"))
        );
        assert_eq!(cef_time("Mar 04 2026 09:15:01 XYZ", &c), None);
        assert_eq!(cef_time("soon", &c), None);
    }
}
