//! The `csv` format: RFC 4180 CSV with a header row naming Tandem schema fields.
//!
//! For exports: badge-system reports, spreadsheets of incidents, scripts that find CSV easier
//! than JSON. Sample (a badge-system export, as written by hand for the simulator fixtures):
//!
//! ```text
//! time,class,activity,outcome,actor.badge,place.site,place.door,physical.reason,panel_code
//! 2026-11-25T08:01:02Z,physical_access,denied,failure,40123,hq,D-101,expired,17
//! ```
//!
//! Columns are matched by name, case-insensitively: `time`, `class`, `activity`, `outcome`,
//! `severity`, `message`, `actor.user`, `actor.domain`, `actor.uid`, `actor.email`,
//! `actor.badge`, `src.ip`, `src.port`, `src.hostname`, `dst.ip`, `dst.port`, `dst.hostname`,
//! `device.hostname`, `device.ip`, `device.mac`, `place.site`, `place.building`, `place.floor`,
//! `place.zone`, `place.door`, `place.reader`, `place.camera`, `physical.reason`,
//! `physical.direction`, `labels.<key>`; aliases `timestamp`, `user`, `username`, `host`,
//! `hostname`, `src_ip`, `src_port`, `dst_ip`, `dst_port`. Any other column is kept in
//! `attrs` under its header name, as text. Two columns for the same field are a header error.
//!
//! Empty cells are absent values. Values are trimmed. A row whose values do not fit (a time
//! that does not parse, an unknown class, an IP that is not one, a field count different from
//! the header's) is an error for that row only; the rows after it are still decoded. Unlike
//! JSON, a present but unparseable value is an error rather than an attribute: CSV columns are
//! declared schema fields, so a bad value means a broken export that the operator should see.
//! With no `time` column or an empty cell the row is timed by receipt
//! (`time_source=received`).
//!
//! CSV is not line-oriented (a quoted field may contain newlines), hence [`decode_csv`] takes
//! a reader rather than lines.

use super::{DecodeContext, DecodeError, quote, time, time_from_receipt};
use std::io::{self, Read};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use tandem_model::{Activity, Class, Event, Outcome, Severity};

/// Decodes CSV with a header row. Yields, per data row: its 1-based line number, the event or
/// the reason it could not be decoded, and the row's text as received (for dead letters).
///
/// A header that cannot be used (invalid UTF-8, two columns for one field) yields one error for
/// line 1 and ends the iteration; so does a read error. Empty input yields nothing.
pub fn decode_csv<R: Read>(
    reader: R,
    ctx: &DecodeContext,
) -> impl Iterator<Item = (u64, Result<Event, DecodeError>, String)> + use<R> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let csv = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(Tee {
            inner: reader,
            seen: Arc::clone(&seen),
        });
    CsvEvents {
        csv,
        seen,
        seen_offset: 0,
        lines_before: 0,
        after_cr: false,
        ctx: ctx.clone(),
        columns: None,
        record: ::csv::ByteRecord::new(),
        done: false,
    }
}

/// Keeps a copy of what the CSV parser reads, so each row's original text can be returned.
struct Tee<R> {
    inner: R,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(&out[..n]);
        Ok(n)
    }
}

struct CsvEvents<R> {
    csv: ::csv::Reader<Tee<R>>,
    seen: Arc<Mutex<Vec<u8>>>,
    /// Stream offset of `seen[0]`.
    seen_offset: u64,
    /// Line breaks before `seen[0]`.
    lines_before: u64,
    /// Whether the byte before `seen[0]` was a CR (so a leading LF ends no further line).
    after_cr: bool,
    ctx: DecodeContext,
    /// Column targets, once the header has been read.
    columns: Option<Vec<Column>>,
    record: ::csv::ByteRecord,
    done: bool,
}

impl<R: Read> CsvEvents<R> {
    /// The line number and text of the record between stream offsets `start` and `end`,
    /// forgetting all before `end`. The text is raw bytes (may be invalid UTF-8) without the
    /// line terminator. Lines are counted here rather than taken from the CSV parser, which
    /// does not count the blank lines it skips nor the LF of a CRLF. Like the parser, a bare CR
    /// ends a line too.
    fn take_raw(&mut self, start: u64, end: u64) -> (u64, Vec<u8>) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let from = usize::try_from(start.saturating_sub(self.seen_offset))
            .unwrap_or(usize::MAX)
            .min(seen.len());
        let to = usize::try_from(end.saturating_sub(self.seen_offset))
            .unwrap_or(usize::MAX)
            .clamp(from, seen.len());
        // The parser may leave the previous record's LF (and skipped blank lines) in front.
        let from = from
            + seen[from..to]
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
        let line = self.lines_before + count_breaks(&seen[..from], &mut self.after_cr) + 1;
        let mut raw = seen[from..to].to_vec();
        self.lines_before = line - 1 + count_breaks(&raw, &mut self.after_cr);
        seen.drain(..to);
        self.seen_offset += to as u64;
        while matches!(raw.last(), Some(b'\n' | b'\r')) {
            raw.pop();
        }
        (line, raw)
    }
}

/// Line breaks in `bytes` (LF, CRLF or a bare CR), continuing from a previous call's state.
fn count_breaks(bytes: &[u8], after_cr: &mut bool) -> u64 {
    let mut breaks = 0;
    for &b in bytes {
        if b == b'\r' || (b == b'\n' && !*after_cr) {
            breaks += 1;
        }
        *after_cr = b == b'\r';
    }
    breaks
}

impl<R: Read> Iterator for CsvEvents<R> {
    type Item = (u64, Result<Event, DecodeError>, String);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let read = self.csv.read_byte_record(&mut self.record);
        match read {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                let line = self.lines_before + 1;
                return Some((
                    line,
                    Err(DecodeError::Invalid(format!("reading CSV failed: {e}"))),
                    String::new(),
                ));
            }
        }
        let start = self
            .record
            .position()
            .map_or(self.seen_offset, ::csv::Position::byte);
        let end = self.csv.position().byte();
        let (line, raw) = self.take_raw(start, end);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let result = std::str::from_utf8(&raw)
            .map_err(|e| DecodeError::InvalidUtf8 {
                at: e.valid_up_to(),
            })
            .and_then(|_| {
                ::csv::StringRecord::from_byte_record(self.record.clone()).map_err(|e| {
                    DecodeError::InvalidUtf8 {
                        at: e.utf8_error().valid_up_to(),
                    }
                })
            });
        let Some(columns) = &self.columns else {
            let header = result.and_then(|record| header(&record));
            return match header {
                Ok(columns) => {
                    self.columns = Some(columns);
                    self.next()
                }
                Err(e) => {
                    self.done = true;
                    Some((
                        line,
                        Err(DecodeError::Invalid(format!("CSV header: {e}"))),
                        text,
                    ))
                }
            };
        };
        let result = result
            .and_then(|record| row(columns, &record, &self.ctx))
            .map(|mut event| {
                event.observed_time = Some(self.ctx.received);
                event.source.vendor.clone_from(&self.ctx.vendor);
                event.source.product.clone_from(&self.ctx.product);
                event.set_raw(&text);
                event
            });
        Some((line, result, text))
    }
}

/// Where a column's values go.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    Field(Field),
    Label(String),
    Attr(String),
}

/// The schema fields a column can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Time,
    Class,
    Activity,
    Outcome,
    Severity,
    Message,
    ActorUser,
    ActorDomain,
    ActorUid,
    ActorEmail,
    ActorBadge,
    SrcIp,
    SrcPort,
    SrcHostname,
    DstIp,
    DstPort,
    DstHostname,
    DeviceHostname,
    DeviceIp,
    DeviceMac,
    PlaceSite,
    PlaceBuilding,
    PlaceFloor,
    PlaceZone,
    PlaceDoor,
    PlaceReader,
    PlaceCamera,
    PhysicalReason,
    PhysicalDirection,
}

/// Column names, canonical first; aliases after.
const FIELDS: &[(&str, Field)] = &[
    ("time", Field::Time),
    ("class", Field::Class),
    ("activity", Field::Activity),
    ("outcome", Field::Outcome),
    ("severity", Field::Severity),
    ("message", Field::Message),
    ("actor.user", Field::ActorUser),
    ("actor.domain", Field::ActorDomain),
    ("actor.uid", Field::ActorUid),
    ("actor.email", Field::ActorEmail),
    ("actor.badge", Field::ActorBadge),
    ("src.ip", Field::SrcIp),
    ("src.port", Field::SrcPort),
    ("src.hostname", Field::SrcHostname),
    ("dst.ip", Field::DstIp),
    ("dst.port", Field::DstPort),
    ("dst.hostname", Field::DstHostname),
    ("device.hostname", Field::DeviceHostname),
    ("device.ip", Field::DeviceIp),
    ("device.mac", Field::DeviceMac),
    ("place.site", Field::PlaceSite),
    ("place.building", Field::PlaceBuilding),
    ("place.floor", Field::PlaceFloor),
    ("place.zone", Field::PlaceZone),
    ("place.door", Field::PlaceDoor),
    ("place.reader", Field::PlaceReader),
    ("place.camera", Field::PlaceCamera),
    ("physical.reason", Field::PhysicalReason),
    ("physical.direction", Field::PhysicalDirection),
    ("timestamp", Field::Time),
    ("user", Field::ActorUser),
    ("username", Field::ActorUser),
    ("host", Field::DeviceHostname),
    ("hostname", Field::DeviceHostname),
    ("src_ip", Field::SrcIp),
    ("src_port", Field::SrcPort),
    ("dst_ip", Field::DstIp),
    ("dst_port", Field::DstPort),
];

impl Field {
    fn canonical(self) -> &'static str {
        FIELDS
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(name, _)| name)
    }
}

impl Column {
    fn from_header(name: &str) -> Column {
        let lower = name.to_ascii_lowercase();
        if let Some((_, field)) = FIELDS.iter().find(|(n, _)| *n == lower) {
            return Column::Field(*field);
        }
        match name.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("labels.") && name.len() > 7 => {
                Column::Label(name[7..].to_owned())
            }
            _ => Column::Attr(name.to_owned()),
        }
    }

    /// What the column writes to, for spotting two columns that write the same thing.
    fn target(&self) -> String {
        match self {
            Column::Field(f) => f.canonical().to_owned(),
            Column::Label(k) => format!("labels.{k}"),
            Column::Attr(k) => format!("attrs.{k}"),
        }
    }
}

fn header(record: &::csv::StringRecord) -> Result<Vec<Column>, DecodeError> {
    let mut columns: Vec<Column> = Vec::with_capacity(record.len());
    let names: Vec<&str> = record
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if i == 0 {
                name.trim_start_matches('\u{feff}')
            } else {
                name
            }
            .trim()
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(DecodeError::Invalid(format!(
                "column {} has no name",
                i + 1
            )));
        }
        let column = Column::from_header(name);
        if let Some(j) = columns.iter().position(|c| c.target() == column.target()) {
            return Err(DecodeError::Invalid(format!(
                "columns {} (`{}`) and {} (`{}`) both set `{}`",
                j + 1,
                names[j],
                i + 1,
                name,
                column.target()
            )));
        }
        columns.push(column);
    }
    Ok(columns)
}

fn row(
    columns: &[Column],
    record: &::csv::StringRecord,
    ctx: &DecodeContext,
) -> Result<Event, DecodeError> {
    if record.len() != columns.len() {
        return Err(DecodeError::Invalid(format!(
            "row has {} fields but the header has {} columns",
            record.len(),
            columns.len()
        )));
    }
    let mut e = Event::new(&ctx.source, Class::Other, Activity::Unknown, ctx.received);
    let mut timed = false;
    for (column, value) in columns.iter().zip(record.iter()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match column {
            Column::Label(k) => {
                e.labels.insert(k.clone(), value.to_owned());
            }
            Column::Attr(k) => {
                e.attrs.insert(k.clone(), value.into());
            }
            Column::Field(field) => {
                set(&mut e, *field, value)?;
                timed |= *field == Field::Time;
            }
        }
    }
    if !timed {
        time_from_receipt(&mut e);
    }
    Ok(e)
}

fn set(e: &mut Event, field: Field, value: &str) -> Result<(), DecodeError> {
    let column = field.canonical();
    let bad = |what: &str| {
        DecodeError::Invalid(format!(
            "column `{column}`: `{}` is not {what}",
            quote(value)
        ))
    };
    let named =
        |e: tandem_model::UnknownName| DecodeError::Invalid(format!("column `{column}`: {e}"));
    let ip = || IpAddr::from_str(value).map_err(|_| bad("an IP address"));
    let port = || {
        value
            .parse::<u16>()
            .map_err(|_| bad("a port number (0-65535)"))
    };
    let text = || Some(value.to_owned());
    match field {
        Field::Time => {
            e.time = time::parse_str(value)
                .ok_or_else(|| bad(&format!("a timestamp ({})", time::EXPECTED)))?;
        }
        Field::Class => e.class = value.parse::<Class>().map_err(named)?,
        Field::Activity => e.activity = value.parse::<Activity>().map_err(named)?,
        Field::Outcome => e.outcome = value.parse::<Outcome>().map_err(named)?,
        Field::Severity => e.severity = value.parse::<Severity>().map_err(named)?,
        Field::Message => e.message = value.to_owned(),
        Field::ActorUser => e.actor.user = text(),
        Field::ActorDomain => e.actor.domain = text(),
        Field::ActorUid => e.actor.uid = text(),
        Field::ActorEmail => e.actor.email = text(),
        Field::ActorBadge => e.actor.badge = text(),
        Field::SrcIp => e.src_mut().ip = Some(ip()?),
        Field::SrcPort => e.src_mut().port = Some(port()?),
        Field::SrcHostname => e.src_mut().hostname = text(),
        Field::DstIp => e.dst_mut().ip = Some(ip()?),
        Field::DstPort => e.dst_mut().port = Some(port()?),
        Field::DstHostname => e.dst_mut().hostname = text(),
        Field::DeviceHostname => e.device_mut().hostname = text(),
        Field::DeviceIp => e.device_mut().ip = Some(ip()?),
        Field::DeviceMac => e.device_mut().mac = text(),
        Field::PlaceSite => e.place_mut().site = text(),
        Field::PlaceBuilding => e.place_mut().building = text(),
        Field::PlaceFloor => e.place_mut().floor = text(),
        Field::PlaceZone => e.place_mut().zone = text(),
        Field::PlaceDoor => e.place_mut().door = text(),
        Field::PlaceReader => e.place_mut().reader = text(),
        Field::PlaceCamera => e.place_mut().camera = text(),
        Field::PhysicalReason => e.physical_mut().reason = text(),
        Field::PhysicalDirection => e.physical_mut().direction = text(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::*;

    fn decode(input: &str) -> Vec<(u64, Result<Event, String>, String)> {
        decode_csv(input.as_bytes(), &ctx())
            .map(|(n, r, raw)| (n, r.map_err(|e| e.to_string()), raw))
            .collect()
    }

    #[test]
    fn badge_export() {
        let rows = decode(
            "time,class,activity,outcome,actor.badge,place.site,place.door,physical.reason,panel_code,labels.env\r\n\
             2026-11-25T08:01:02Z,physical_access,denied,failure,40123,hq,D-101,expired,17,prod\r\n\
             2026-11-25T08:01:09Z,physical_access,granted,success,40124,hq,D-101,,18,prod\r\n",
        );
        assert_eq!(rows.len(), 2);
        let (line, e, raw) = &rows[0];
        let e = e.as_ref().unwrap();
        assert_eq!(*line, 2);
        assert_eq!(
            raw,
            "2026-11-25T08:01:02Z,physical_access,denied,failure,40123,hq,D-101,expired,17,prod"
        );
        assert_eq!(e.raw.as_deref(), Some(raw.as_str()));
        assert_eq!(e.time, at("2026-11-25T08:01:02Z"));
        assert_eq!(
            (e.class, e.activity, e.outcome),
            (Class::PhysicalAccess, Activity::Denied, Outcome::Failure)
        );
        assert_eq!(e.actor.badge.as_deref(), Some("40123"));
        let place = e.place.as_ref().unwrap();
        assert_eq!(
            (place.site.as_deref(), place.door.as_deref()),
            (Some("hq"), Some("D-101"))
        );
        assert_eq!(
            e.physical.as_ref().unwrap().reason.as_deref(),
            Some("expired")
        );
        assert_eq!(e.attrs["panel_code"], "17");
        assert_eq!(e.labels["env"], "prod");
        assert_eq!(e.source.name, "test-source");
        assert_eq!(e.observed_time, Some(ctx().received));
        let second = rows[1].1.as_ref().unwrap();
        assert_eq!(rows[1].0, 3);
        assert!(second.physical.is_none(), "empty cells are absent");
    }

    #[test]
    fn aliases_and_network_fields() {
        let rows = decode(
            "Timestamp,User,Host,src_ip,src.port,dst_ip,dst.port,severity,message\n\
             1795593662,alice,web-1,203.0.113.5,52344,10.0.0.1,22,high,\"multi\nline, quoted\"\n",
        );
        let e = rows[0].1.as_ref().unwrap();
        assert_eq!(e.time, at("2026-11-25T08:01:02Z"));
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(
            e.device.as_ref().unwrap().hostname.as_deref(),
            Some("web-1")
        );
        assert_eq!(e.src.as_ref().unwrap().port, Some(52344));
        assert_eq!(
            e.dst.as_ref().unwrap().ip,
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(e.severity, Severity::High);
        assert_eq!(e.message, "multi\nline, quoted");
        assert_eq!(
            rows[0].2,
            "1795593662,alice,web-1,203.0.113.5,52344,10.0.0.1,22,high,\"multi\nline, quoted\""
        );
        assert!(e.labels.is_empty());
    }

    #[test]
    fn bad_rows_do_not_stop_the_rest() {
        let rows = decode(
            "time,class,src.ip,src.port,note\n\
             2026-11-25T08:01:02Z,other,10.0.0.1,22,ok\n\
             yesterday,other,10.0.0.1,22,bad time\n\
             2026-11-25T08:01:02Z,foo,10.0.0.1,22,bad class\n\
             2026-11-25T08:01:02Z,other,10.0.0.999,22,bad ip\n\
             2026-11-25T08:01:02Z,other,10.0.0.1,99999,bad port\n\
             2026-11-25T08:01:02Z,other\n\
             \n\
             2026-11-25T08:01:03Z,other,,,last\n",
        );
        let summary: Vec<(u64, Result<&str, &str>)> = rows
            .iter()
            .map(|(n, r, _)| {
                (
                    *n,
                    r.as_ref()
                        .map(|e| e.attrs["note"].as_str().unwrap())
                        .map_err(String::as_str),
                )
            })
            .collect();
        assert_eq!(summary[0], (2, Ok("ok")));
        assert_eq!(
            summary[1],
            (
                3,
                Err(
                    "column `time`: `yesterday` is not a timestamp (expected RFC 3339 like 2026-11-25T08:01:02Z or Unix epoch seconds/milliseconds)"
                )
            )
        );
        let (n, Err(class)) = summary[2] else {
            panic!()
        };
        assert_eq!(n, 4);
        assert!(
            class.starts_with("column `class`: unknown class `foo`; expected one of: "),
            "{class}"
        );
        assert_eq!(
            summary[3],
            (5, Err("column `src.ip`: `10.0.0.999` is not an IP address"))
        );
        assert_eq!(
            summary[4],
            (
                6,
                Err("column `src.port`: `99999` is not a port number (0-65535)")
            )
        );
        assert_eq!(
            summary[5],
            (7, Err("row has 2 fields but the header has 5 columns"))
        );
        assert_eq!(summary[6], (9, Ok("last")));
        assert_eq!(rows[5].2, "2026-11-25T08:01:02Z,other");
    }

    #[test]
    fn line_numbers_count_every_kind_of_line_break() {
        let rows = decode("user\r\na\r\n\r\nb\rc\n\"d\nd\"\ne\n");
        let got: Vec<(u64, &str)> = rows.iter().map(|(n, _, raw)| (*n, raw.as_str())).collect();
        assert_eq!(
            got,
            [(2, "a"), (4, "b"), (5, "c"), (6, "\"d\nd\""), (8, "e")]
        );
    }

    #[test]
    fn missing_time_uses_receipt() {
        let rows = decode("user\nalice\n");
        let e = rows[0].1.as_ref().unwrap();
        assert_eq!(e.time, ctx().received);
        assert_eq!(e.labels["time_source"], "received");
    }

    #[test]
    fn header_problems_end_the_input() {
        let rows = decode("user,actor.user\nalice,bob\n");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 1);
        assert_eq!(
            rows[0].1.as_ref().unwrap_err(),
            "CSV header: columns 1 (`user`) and 2 (`actor.user`) both set `actor.user`"
        );
        let rows = decode("a,,b\n1,2,3\n");
        assert_eq!(
            rows[0].1.as_ref().unwrap_err(),
            "CSV header: column 2 has no name"
        );
        let rows: Vec<_> = decode_csv(&b"na\xffme\nx\n"[..], &ctx()).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].1.as_ref().unwrap_err().to_string(),
            "CSV header: invalid UTF-8 at byte 2"
        );
        assert!(decode("").is_empty());
        assert!(decode("time,user\n").is_empty());
    }

    #[test]
    fn invalid_utf8_in_a_row_is_that_rows_error() {
        let rows: Vec<_> = decode_csv(&b"user,note\nal\xffce,x\nbob,y\n"[..], &ctx()).collect();
        assert_eq!(
            rows[0].1.as_ref().unwrap_err(),
            &DecodeError::InvalidUtf8 { at: 2 }
        );
        assert_eq!(rows[0].2, "al\u{fffd}ce,x");
        assert_eq!(
            rows[1].1.as_ref().unwrap().actor.user.as_deref(),
            Some("bob")
        );
    }

    #[test]
    fn bom_and_case_in_header() {
        let rows = decode("\u{feff}TIME,Labels.Site,Actor.User\n2026-11-25T08:01:02Z,hq,alice\n");
        let e = rows[0].1.as_ref().unwrap();
        assert_eq!(e.time, at("2026-11-25T08:01:02Z"));
        assert_eq!(e.labels["Site"], "hq");
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
    }

    #[test]
    fn raw_text_survives_large_inputs() {
        // Rows spanning the CSV reader's internal buffer boundaries keep their exact text.
        let mut input = String::from("user,note\n");
        let rows: Vec<String> = (0..2000)
            .map(|i| format!("user{i},\"note {i}, {}\"", "x".repeat(i % 50)))
            .collect();
        for r in &rows {
            input.push_str(r);
            input.push_str("\r\n");
        }
        let decoded = decode(&input);
        assert_eq!(decoded.len(), rows.len());
        for (i, ((line, e, raw), expected)) in decoded.iter().zip(&rows).enumerate() {
            assert_eq!(*line, i as u64 + 2);
            assert_eq!(raw, expected);
            assert_eq!(
                e.as_ref().unwrap().actor.user.as_deref(),
                Some(format!("user{i}").as_str())
            );
        }
    }
}
