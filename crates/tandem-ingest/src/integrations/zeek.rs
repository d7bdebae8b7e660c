//! Zeek logs: `conn.log` normalised into network activity, every other Zeek log kept whole.
//!
//! [Zeek](https://zeek.org) writes one log per protocol analyser; `conn.log` is the one that
//! sees every TCP, UDP and ICMP conversation, so it is the one normalised field by field. Two
//! writer formats are accepted, line by line, with a [`ZeekDecoder`] per file or stream:
//!
//! * **TSV**, the default ASCII writer. Header lines start with `#` and set how the data lines
//!   that follow are read: `#separator \x09` (the only header whose value is separated by a
//!   space, and written escaped), `#set_separator ,`, `#empty_field (empty)`, `#unset_field -`,
//!   `#path conn`, `#fields ts uid id.orig_h …`, `#types time string addr …`, `#open`/`#close`.
//!   A `#separator` line starts a new file and resets everything else. Data lines before any
//!   `#fields` header (a tail that started mid-file, `zeek-cut` output) are read with Zeek's
//!   default `conn.log` columns, with or without the trailing `ip_proto` column added in Zeek 7.
//! * **JSON** (`LogAscii::use_json=T`, also what Corelight and most shippers forward): one
//!   object per line with the same field names (`"id.orig_h"`), decoded without state. `ts` may
//!   be epoch seconds or ISO 8601 (`LogAscii::json_timestamps`). Which log a JSON line is from
//!   comes from its `_path` key when the shipper adds one, else `conn` when it has a field only
//!   `conn.log` has (`conn_state`, `history`, `orig_bytes`, …).
//!
//! Sample (`zeek -r tm1t.pcap`, from the Zeek manual's "Zeek Log Formats and Inspection"; the
//! TSV columns, tab-separated in the file, are shown two spaces apart):
//!
//! ```text
//! #separator \x09
//! #fields  ts  uid  id.orig_h  id.orig_p  id.resp_h  id.resp_p  proto  service  duration  orig_bytes  resp_bytes  conn_state  local_orig  local_resp  missed_bytes  history  orig_pkts  orig_ip_bytes  resp_pkts  resp_ip_bytes  tunnel_parents
//! 1591367999.430166  CLqEx41jYPOdfHF586  192.168.4.76  46378  31.3.245.133  80  tcp  http  0.254115  77  295  SF  -  -  0  ShADadFf  6  397  4  511  -
//! {"ts":1591367999.430166,"uid":"C5bLoe2Mvxqhawzqqd","id.orig_h":"192.168.4.76","id.orig_p":46378,"id.resp_h":"31.3.245.133","id.resp_p":80,"proto":"tcp","service":"http","duration":0.25411510467529297,"orig_bytes":77,"resp_bytes":295,"conn_state":"SF","missed_bytes":0,"history":"ShADadFf","orig_pkts":6,"orig_ip_bytes":397,"resp_pkts":4,"resp_ip_bytes":511}
//! ```
//!
//! Mapping of a `conn.log` record (class `network_activity`):
//!
//! | event field | Zeek field |
//! |---|---|
//! | `time` | `ts` (first packet); receipt time, labelled `time_source=received`, when absent |
//! | `src.ip` / `src.port` | `id.orig_h` / `id.orig_p` (no ports for ICMP, where Zeek stores type and code there) |
//! | `dst.ip` / `dst.port` | `id.resp_h` / `id.resp_p` |
//! | `device.hostname` | `_system_name` (the sensor), when the shipper adds it |
//! | `activity`, `outcome` | `conn_state`, below |
//! | `attrs` | every field under Zeek's name (`id.orig_h`, `conn_state`, `history`, …); counts, intervals and times as numbers, `bool` as booleans, sets and vectors as arrays; unset (`-`) fields left out; for TSV also `_path` |
//!
//! `conn_state` (meanings from Zeek's `base/protocols/conn/main.zeek`):
//!
//! | `conn_state` | meaning | activity | outcome |
//! |---|---|---|---|
//! | `SF` | normal establishment and termination | `traffic` | `success` |
//! | `S1`, `S2`, `S3` | established, not (cleanly) closed | `traffic` | `success` |
//! | `REJ` | connection attempt rejected | `refuse` | `failure` |
//! | `S0` (TCP) | attempt seen, no reply | `fail` | `failure` |
//! | `S0` (UDP, ICMP) | one-way flow: no reply seen (broadcasts, unanswered queries) | `traffic` | `unknown` |
//! | `RSTOS0` | originator sent SYN then RST, no SYN-ACK seen | `fail` | `failure` |
//! | `SH` | originator sent SYN then FIN, no SYN-ACK seen | `fail` | `failure` |
//! | `RSTO` | established, originator aborted with RST | `reset` | `success` |
//! | `RSTR` | established, responder sent RST | `reset` | `success` |
//! | `RSTRH` | responder SYN-ACK then RST, no SYN seen | `reset` | `unknown` |
//! | `SHR`, `OTH`, other or absent | midstream or partial traffic | `traffic` | `unknown` |
//!
//! `outcome` says whether the connection was *established*, not whether the application
//! succeeded. Records of other logs (`dns`, `http`, `ssl`, `files`, …, named by `#path` or
//! `_path`) become `network_activity` / `other` with `src`/`dst` from `id.*` when present and
//! all their fields in `attrs`, so they are searchable without a dedicated mapping.
//!
//! Every event has vendor and product `Zeek`. Values are unescaped (`\x09` → tab) as Zeek's
//! ASCII writer escapes separators and non-printable bytes; invalid UTF-8 in a value is
//! replaced rather than refused.

use crate::decode::{DecodeContext, DecodeError, finish, quote, time, time_from_receipt};
use serde_json::{Map, Number, Value};
use std::net::IpAddr;
use tandem_model::{Activity, Class, Event, Outcome};

/// Zeek's `conn.log` columns in its default order (Zeek 7+; earlier versions stop before
/// `ip_proto`), used for data lines that arrive before any `#fields` header.
const CONN_FIELDS: [&str; 22] = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
    "ip_proto",
];

/// The Zeek type of each of [`CONN_FIELDS`].
const CONN_TYPES: [&str; 22] = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "bool",
    "bool",
    "count",
    "string",
    "count",
    "count",
    "count",
    "count",
    "set[string]",
    "count",
];

/// Fields only `conn.log` has: a JSON line without `_path` that has one is a conn record.
const CONN_ONLY: &[&str] = &[
    "conn_state",
    "history",
    "orig_bytes",
    "resp_bytes",
    "orig_pkts",
    "resp_pkts",
    "missed_bytes",
];

/// Line decoder for Zeek logs, TSV or JSON.
///
/// Stateful because a TSV file describes its own columns in `#` header lines; keep one decoder
/// per file or stream. JSON lines do not touch the state, so one decoder can also read a mixed
/// stream.
#[derive(Debug, Clone)]
pub struct ZeekDecoder {
    separator: String,
    set_separator: String,
    empty_field: String,
    unset_field: String,
    path: Option<String>,
    fields: Option<Vec<String>>,
    types: Option<Vec<String>>,
}

impl Default for ZeekDecoder {
    fn default() -> Self {
        ZeekDecoder {
            separator: "\t".to_owned(),
            set_separator: ",".to_owned(),
            empty_field: "(empty)".to_owned(),
            unset_field: "-".to_owned(),
            path: None,
            fields: None,
            types: None,
        }
    }
}

impl ZeekDecoder {
    /// Decodes one line. Header lines update the decoder and return no event; blank lines are
    /// [`DecodeError::Empty`]; a data line gives exactly one event.
    pub fn decode_line(
        &mut self,
        line: &str,
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        if line.trim().is_empty() {
            return Err(DecodeError::Empty);
        }
        if let Some(header) = line.strip_prefix('#') {
            self.header(header)?;
            return Ok(Vec::new());
        }
        let (map, path) = if line.trim_start().starts_with('{') {
            let map = parse_object(line)?;
            let path = json_path(&map);
            (map, path)
        } else {
            let map = self.tsv(line)?;
            let path = self.path.clone().unwrap_or_else(|| "conn".to_owned());
            (map, path)
        };
        let mut event = build(map, &path, ctx);
        finish(&mut event, ctx, Some(line));
        Ok(vec![event])
    }

    /// Applies one `#` header line (without the `#`).
    fn header(&mut self, header: &str) -> Result<(), DecodeError> {
        if let Some(value) = header
            .strip_prefix("separator")
            .filter(|v| v.is_empty() || v.starts_with([' ', '\t']))
        {
            let value = value.trim_start_matches([' ', '\t']);
            let sep = String::from_utf8_lossy(&unescape(value)).into_owned();
            if sep.is_empty() {
                return Err(DecodeError::Invalid(
                    "`#separator` header has no value".to_owned(),
                ));
            }
            // A separator line opens a new file: forget the previous file's layout.
            *self = ZeekDecoder {
                separator: sep,
                ..ZeekDecoder::default()
            };
            return Ok(());
        }
        let (key, value) = match header.split_once(self.separator.as_str()) {
            Some(split) => split,
            None => header.split_once([' ', '\t']).unwrap_or((header, "")),
        };
        let list = || -> Vec<String> {
            value
                .split(self.separator.as_str())
                .map(|v| String::from_utf8_lossy(&unescape(v)).into_owned())
                .collect()
        };
        match key {
            "set_separator" => self.set_separator = unescaped(value),
            "empty_field" => self.empty_field = unescaped(value),
            "unset_field" => self.unset_field = unescaped(value),
            "path" => self.path = Some(unescaped(value)),
            "fields" => {
                let fields = list();
                if fields.iter().any(String::is_empty) {
                    return Err(DecodeError::Invalid(format!(
                        "`#fields` header has an empty field name: {}",
                        quote(value)
                    )));
                }
                self.fields = Some(fields);
            }
            "types" => self.types = Some(list()),
            // `#open`, `#close` and comments carry nothing needed to read records.
            _ => {}
        }
        Ok(())
    }

    /// Reads a TSV data line into Zeek-named attributes.
    fn tsv(&self, line: &str) -> Result<Map<String, Value>, DecodeError> {
        let values: Vec<&str> = line.split(self.separator.as_str()).collect();
        let (fields, types): (Vec<&str>, Vec<&str>) = match &self.fields {
            Some(fields) => {
                if values.len() != fields.len() {
                    return Err(DecodeError::Invalid(format!(
                        "line has {} fields but the `#fields` header names {}",
                        values.len(),
                        fields.len()
                    )));
                }
                let types = fields
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        self.types
                            .as_ref()
                            .and_then(|t| t.get(i))
                            .map(String::as_str)
                            .unwrap_or_else(|| default_type(name))
                    })
                    .collect();
                (fields.iter().map(String::as_str).collect(), types)
            }
            None => {
                let n = values.len();
                if n != CONN_FIELDS.len() && n != CONN_FIELDS.len() - 1 {
                    return Err(DecodeError::Invalid(format!(
                        "line has {n} fields and no `#fields` header came before it; \
                         Zeek's default conn.log has 21 or 22"
                    )));
                }
                (CONN_FIELDS[..n].to_vec(), CONN_TYPES[..n].to_vec())
            }
        };
        let mut map = Map::new();
        if let Some(path) = &self.path {
            map.insert("_path".to_owned(), Value::String(path.clone()));
        }
        for ((name, ty), raw) in fields.iter().zip(types).zip(values) {
            if raw == self.unset_field {
                continue;
            }
            map.insert((*name).to_owned(), self.value(raw, ty));
        }
        Ok(map)
    }

    /// Converts one TSV value by its Zeek type.
    fn value(&self, raw: &str, ty: &str) -> Value {
        let container = ["set[", "vector[", "table["]
            .iter()
            .find_map(|p| ty.strip_prefix(p))
            .map(|inner| inner.strip_suffix(']').unwrap_or(inner));
        if let Some(inner) = container {
            if raw == self.empty_field {
                return Value::Array(Vec::new());
            }
            return Value::Array(
                raw.split(self.set_separator.as_str())
                    .map(|item| scalar(item, inner))
                    .collect(),
            );
        }
        if raw == self.empty_field {
            return Value::String(String::new());
        }
        scalar(raw, ty)
    }
}

/// A TSV scalar by type; a value that does not parse as its type is kept as text.
fn scalar(raw: &str, ty: &str) -> Value {
    match ty {
        "count" | "int" | "port" => {
            if let Ok(n) = raw.parse::<u64>() {
                return Value::Number(n.into());
            }
            if let Ok(n) = raw.parse::<i64>() {
                return Value::Number(n.into());
            }
        }
        "double" | "interval" | "time" => {
            if let Some(n) = raw.parse::<f64>().ok().and_then(Number::from_f64) {
                return Value::Number(n);
            }
        }
        "bool" => match raw {
            "T" => return Value::Bool(true),
            "F" => return Value::Bool(false),
            _ => {}
        },
        _ => {}
    }
    Value::String(unescaped(raw))
}

/// The type of a field a `#fields` header names without a `#types` header.
fn default_type(name: &str) -> &'static str {
    CONN_FIELDS
        .iter()
        .position(|f| *f == name)
        .map(|i| CONN_TYPES[i])
        .unwrap_or("string")
}

/// Undoes the ASCII writer's `\xHH` escapes.
fn unescape(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let Some(hex) = bytes.get(i + 2..i + 4)
            && let Some(byte) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn unescaped(s: &str) -> String {
    if s.contains("\\x") {
        String::from_utf8_lossy(&unescape(s)).into_owned()
    } else {
        s.to_owned()
    }
}

/// Parses a JSON object, with syntax errors located by column.
fn parse_object(text: &str) -> Result<Map<String, Value>, DecodeError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(DecodeError::Invalid(
            "expected a JSON object per line".to_owned(),
        )),
        Err(e) => Err(DecodeError::json(&e)),
    }
}

/// Which log a JSON record is from.
fn json_path(map: &Map<String, Value>) -> String {
    if let Some(path) = map.get("_path").and_then(Value::as_str) {
        return path.to_owned();
    }
    if CONN_ONLY.iter().any(|k| map.contains_key(*k)) {
        "conn".to_owned()
    } else {
        "unknown".to_owned()
    }
}

/// A field by its flat name (`id.orig_h`) or nested (`{"id":{"orig_h":…}}`).
fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = map.get(name) {
        return Some(v);
    }
    let (head, rest) = name.split_once('.')?;
    map.get(head)?.as_object()?.get(rest)
}

fn text<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    field(map, name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn number(map: &Map<String, Value>, name: &str) -> Option<f64> {
    match field(map, name)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn ip(map: &Map<String, Value>, name: &str) -> Option<IpAddr> {
    text(map, name)?.trim().parse().ok()
}

fn port(map: &Map<String, Value>, name: &str) -> Option<u16> {
    match field(map, name)? {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Activity and outcome for a `conn_state` (see the module table).
fn conn_activity(state: Option<&str>, proto: Option<&str>) -> (Activity, Outcome) {
    match state {
        Some("SF" | "S1" | "S2" | "S3") => (Activity::Traffic, Outcome::Success),
        Some("REJ") => (Activity::Refuse, Outcome::Failure),
        Some("S0") if proto == Some("tcp") => (Activity::Fail, Outcome::Failure),
        Some("RSTOS0" | "SH") => (Activity::Fail, Outcome::Failure),
        Some("RSTO" | "RSTR") => (Activity::Reset, Outcome::Success),
        Some("RSTRH") => (Activity::Reset, Outcome::Unknown),
        _ => (Activity::Traffic, Outcome::Unknown),
    }
}

/// Words for a `conn_state`, for the message.
fn state_words(state: &str) -> &'static str {
    match state {
        "S0" => "attempt, no reply",
        "S1" => "established, not terminated",
        "SF" => "normal establishment and termination",
        "REJ" => "rejected",
        "S2" => "established, originator close attempt",
        "S3" => "established, responder close attempt",
        "RSTO" => "originator aborted",
        "RSTR" => "responder reset",
        "RSTOS0" => "originator SYN then RST, no reply",
        "RSTRH" => "responder SYN-ACK then RST",
        "SH" => "originator SYN then FIN, no reply",
        "SHR" => "responder SYN-ACK then FIN",
        "OTH" => "midstream traffic",
        _ => "unknown state",
    }
}

/// Builds the event for one record of log `path`.
fn build(map: Map<String, Value>, path: &str, ctx: &DecodeContext) -> Event {
    let time = field(&map, "ts").and_then(zeek_time);
    let proto = text(&map, "proto").map(str::to_ascii_lowercase);
    let is_conn = path == "conn";
    let (activity, outcome) = if is_conn {
        conn_activity(text(&map, "conn_state"), proto.as_deref())
    } else {
        (Activity::Other, Outcome::Unknown)
    };
    let mut event = Event::new(
        &ctx.source,
        Class::NetworkActivity,
        activity,
        time.unwrap_or(ctx.received),
    );
    if time.is_none() {
        time_from_receipt(&mut event);
    }
    event.outcome = outcome;
    event.source.vendor = Some("Zeek".to_owned());
    event.source.product = Some("Zeek".to_owned());
    let icmp = proto.as_deref().is_some_and(|p| p.starts_with("icmp"));
    if let Some(ip) = ip(&map, "id.orig_h") {
        event.src_mut().ip = Some(ip);
    }
    if let Some(ip) = ip(&map, "id.resp_h") {
        event.dst_mut().ip = Some(ip);
    }
    if !icmp {
        if let Some(p) = port(&map, "id.orig_p") {
            event.src_mut().port = Some(p);
        }
        if let Some(p) = port(&map, "id.resp_p") {
            event.dst_mut().port = Some(p);
        }
    }
    if let Some(sensor) = text(&map, "_system_name") {
        event.device_mut().hostname = Some(sensor.to_owned());
    }
    event.message = message(&map, path, proto.as_deref());
    event.attrs = map;
    event
}

/// `ts` as epoch seconds (number or numeric text) or ISO 8601.
fn zeek_time(v: &Value) -> Option<tandem_model::Timestamp> {
    match v {
        Value::Number(n) => n.as_f64().and_then(time::from_epoch),
        Value::String(s) => match s.parse::<f64>() {
            Ok(n) => time::from_epoch(n),
            Err(_) => time::parse_str(s),
        },
        _ => None,
    }
}

fn message(map: &Map<String, Value>, path: &str, proto: Option<&str>) -> String {
    let end = |h: &str, p: &str| {
        let host = text(map, h).unwrap_or("?");
        match field(map, p) {
            Some(Value::Number(n)) if host.contains(':') => format!("[{host}]:{n}"),
            Some(Value::Number(n)) => format!("{host}:{n}"),
            _ => host.to_owned(),
        }
    };
    let mut msg = format!(
        "{} {} {} → {}",
        path,
        proto.unwrap_or("-"),
        end("id.orig_h", "id.orig_p"),
        end("id.resp_h", "id.resp_p")
    );
    if path == "conn" {
        if let Some(service) = text(map, "service") {
            msg.push_str(&format!(" {service}"));
        }
        if let Some(state) = text(map, "conn_state") {
            msg.push_str(&format!(" {state} ({})", state_words(state)));
        }
        if let (Some(o), Some(r)) = (number(map, "orig_bytes"), number(map, "resp_bytes")) {
            msg.push_str(&format!(", {o}/{r} bytes"));
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::ctx;

    #[test]
    fn unescape_handles_hex_and_stray_backslashes() {
        assert_eq!(unescape("\\x09"), b"\t");
        assert_eq!(unescape("a\\x2cb"), b"a,b");
        assert_eq!(unescape("a\\xZZ\\"), b"a\\xZZ\\");
        assert_eq!(unescape("\\x4"), b"\\x4");
    }

    #[test]
    fn conn_states_map_to_activities() {
        let tcp = Some("tcp");
        assert_eq!(conn_activity(Some("REJ"), tcp).0, Activity::Refuse);
        assert_eq!(conn_activity(Some("S0"), tcp).0, Activity::Fail);
        assert_eq!(conn_activity(Some("S0"), Some("udp")).0, Activity::Traffic);
        assert_eq!(conn_activity(Some("RSTO"), tcp).0, Activity::Reset);
        assert_eq!(conn_activity(Some("RSTR"), tcp).0, Activity::Reset);
        assert_eq!(
            conn_activity(None, tcp),
            (Activity::Traffic, Outcome::Unknown)
        );
    }

    #[test]
    fn separator_line_resets_state() {
        let mut d = ZeekDecoder::default();
        d.decode_line("#fields\tts\tuid", &ctx()).unwrap();
        d.decode_line("#path\tdns", &ctx()).unwrap();
        assert!(d.fields.is_some());
        d.decode_line("#separator \\x7c", &ctx()).unwrap();
        assert_eq!(d.separator, "|");
        assert!(d.fields.is_none() && d.path.is_none());
    }
}
