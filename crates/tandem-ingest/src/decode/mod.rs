//! Decoding what sources send into [`Event`]s.
//!
//! Two layers, both free of I/O so listeners, the HTTP pipeline, replay tools and tests share
//! them:
//!
//! * **framing** ([`SyslogFramer`], [`split_lines`]) cuts a byte stream or a request body into
//!   messages;
//! * **decoding** ([`decode_line`], [`decode_csv`]) turns one message into one [`Event`], in
//!   one of the [`Format`]s a source is configured with.
//!
//! Every decoded event carries the source's name, the time Tandem received it
//! ([`Event::observed_time`]) and the input as received ([`Event::raw`]), so an analyst can
//! always check a normalisation against what the source actually said. Input that cannot be
//! decoded yields a [`DecodeError`] whose message says what is wrong in terms an operator can
//! fix at the source; no input makes a decoder panic (property-tested).
//!
//! ```
//! use bytes::BytesMut;
//! use tandem_ingest::decode::{DecodeContext, DecodeError, Format, SyslogFramer, decode_line};
//! use tandem_model::{Activity, Class, Outcome};
//! use tokio_util::codec::Decoder;
//!
//! let ctx = DecodeContext::new("web-1-syslog", "2026-03-04T10:00:00Z".parse().unwrap());
//! let mut framer = SyslogFramer::default();
//! let mut buf = BytesMut::from(
//!     "<38>Mar  4 09:15:01 web-1 sshd[2301]: Accepted publickey for alice from 203.0.113.5 port 52344 ssh2\n\n",
//! );
//! let frame = framer.decode(&mut buf).unwrap().unwrap();
//! let event = decode_line(Format::Syslog, &frame, &ctx).unwrap();
//! assert_eq!((event.class, event.activity, event.outcome), (Class::Authentication, Activity::Logon, Outcome::Success));
//! assert_eq!(event.actor.user.as_deref(), Some("alice"));
//!
//! // A keep-alive blank line: skip it silently.
//! let blank = framer.decode(&mut buf).unwrap().unwrap();
//! assert_eq!(decode_line(Format::Syslog, &blank, &ctx), Err(DecodeError::Empty));
//! ```

pub mod authlog;
mod csv;
mod framing;
mod json;
mod message;
mod syslog;
mod tandem;
pub(crate) mod time;

pub use self::csv::decode_csv;
pub use self::framing::{
    DEFAULT_MAX_FRAME, FramingError, Incomplete, LineTooLong, SyslogFramer, split_lines,
};
pub use self::message::MessageDecoder;
pub use self::syslog::{SdElement, SyslogHeader, SyslogMessage, parse_syslog};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use tandem_model::{Event, Timestamp, UnknownName};

/// What a decoder needs to know about where a message came from.
///
/// Kept apart from the message so one source's settings (name, vendor, the year to assume for
/// year-less syslog dates) are applied the same way whichever format it speaks.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeContext {
    /// The configured source name; becomes [`tandem_model::SourceRef::name`].
    pub source: String,
    /// Vendor to record when the decoder cannot tell a better one.
    pub vendor: Option<String>,
    /// Product to record when the decoder cannot tell a better one.
    pub product: Option<String>,
    /// When Tandem received the message; becomes [`Event::observed_time`], and the event time
    /// for messages that carry none.
    pub received: Timestamp,
    /// Year for RFC 3164 timestamps, which have none. `None` picks the year that puts the
    /// timestamp nearest to `received`; set it when replaying old files.
    pub default_year: Option<i32>,
}

impl DecodeContext {
    /// A context for `source` with no vendor, product or default year.
    pub fn new(source: impl Into<String>, received: Timestamp) -> DecodeContext {
        DecodeContext {
            source: source.into(),
            vendor: None,
            product: None,
            received,
            default_year: None,
        }
    }
}

/// The wire formats a source can be configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Tandem's own normalised JSON, one event per line (what `serde_json` makes of an
    /// [`Event`]). For Tandem-to-Tandem forwarding and for integrations that already normalise.
    Tandem,
    /// Any JSON object per line, mapped best-effort (see the `json` module docs).
    Json,
    /// CSV with a header row naming schema fields. Not line-oriented (quoted fields may span
    /// lines): decode with [`decode_csv`].
    Csv,
    /// Syslog, RFC 5424 or RFC 3164, with Linux auth.log normalisation; CEF carried in syslog
    /// is recognised and decoded as [`Format::Cef`].
    Syslog,
    /// Windows event log records: Winlogbeat or NXLog JSON lines, or a whole `.evtx` file.
    Windows,
    /// Okta System Log events (API pages, event-hook deliveries, single events).
    Okta,
    /// Microsoft Entra ID sign-ins (Graph, Log Analytics, diagnostic-settings exports).
    Entra,
    /// ArcSight CEF lines, with or without a syslog header (access-control exporters).
    Cef,
    /// Verkada access-control webhooks (signed; see `integrations::verkada`).
    Verkada,
    /// Zeek logs, TSV with headers or JSON lines.
    Zeek,
    /// JSON or CEF mapped by a declarative mapping in the source's configuration.
    Mapped,
    /// Frigate NVR over MQTT.
    Frigate,
    /// IoT telemetry over MQTT, mapped by topic rules.
    Iot,
}

impl Format {
    /// Every format, in declaration order.
    pub const ALL: &'static [Format] = &[
        Format::Tandem,
        Format::Json,
        Format::Csv,
        Format::Syslog,
        Format::Windows,
        Format::Okta,
        Format::Entra,
        Format::Cef,
        Format::Verkada,
        Format::Zeek,
        Format::Mapped,
        Format::Frigate,
        Format::Iot,
    ];

    /// The name used in configuration and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Tandem => "tandem",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Syslog => "syslog",
            Format::Windows => "windows",
            Format::Okta => "okta",
            Format::Entra => "entra",
            Format::Cef => "cef",
            Format::Verkada => "verkada",
            Format::Zeek => "zeek",
            Format::Mapped => "mapped",
            Format::Frigate => "frigate",
            Format::Iot => "iot",
        }
    }

    /// Whether [`decode_line`] can decode it (one message per line, one event per message).
    pub const fn is_line_oriented(self) -> bool {
        matches!(self, Format::Tandem | Format::Json | Format::Syslog)
    }

    /// Whether its messages arrive over MQTT rather than HTTP or syslog.
    pub const fn is_mqtt(self) -> bool {
        matches!(self, Format::Frigate | Format::Iot)
    }

    /// Whether a request body is one JSON document that may span lines (an Okta event-hook
    /// delivery, a Graph page) rather than one record per line.
    pub const fn takes_whole_documents(self) -> bool {
        matches!(
            self,
            Format::Okta | Format::Entra | Format::Verkada | Format::Mapped
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Format, UnknownName> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownName {
                kind: "format",
                name: s.to_owned(),
                expected: Format::ALL
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Why a message could not become an event. The `Display` text is meant for an operator (it
/// goes into dead letters and source health), so it names the offending field or position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The line is empty or only whitespace. Callers usually skip these silently: blank lines
    /// between records and keep-alive newlines are normal.
    #[error("empty line")]
    Empty,
    /// The bytes are not UTF-8; `at` is the offset of the first bad byte. Usually a sender
    /// configured for a legacy code page, or a binary/TLS client on a text port.
    #[error("invalid UTF-8 at byte {at}")]
    InvalidUtf8 { at: usize },
    /// Not syntactically valid JSON.
    #[error("invalid JSON at {}: {message}", json_position(*.line, *.column))]
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed, but a field is missing or has a value that does not fit the schema
    /// (`missing field \`time\``, `unknown class \`foo\`; expected one of: …`).
    #[error("{0}")]
    Invalid(String),
    /// [`decode_line`] was asked for a format that is not line-oriented.
    #[error(
        "format `{0}` is not decoded one line at a time (CSV: decode_csv; others: MessageDecoder)"
    )]
    NotLineOriented(Format),
}

impl DecodeError {
    /// The one conversion of a serde_json error for every decoder: the position goes into
    /// the fields `Display` prints, and serde_json's own ` at line L column C` is cut from the
    /// message so the position is said once.
    pub fn json(e: &serde_json::Error) -> Self {
        Self::json_on_line(e, e.line())
    }

    /// [`DecodeError::json`] for a document that is one line of a larger body: `line` is the
    /// line's number in the body, the column the one serde_json found.
    pub fn json_on_line(e: &serde_json::Error, line: usize) -> Self {
        DecodeError::InvalidJson {
            line,
            column: e.column(),
            message: json_message(e),
        }
    }
}

/// A serde_json error's message without its ` at line L column C` suffix, for errors whose
/// position is said elsewhere (a field name, [`DecodeError::InvalidJson`]'s own position).
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix)
        .map(str::to_owned)
        .unwrap_or(full)
}

fn json_position(line: usize, column: usize) -> String {
    if line <= 1 {
        format!("column {column}")
    } else {
        format!("line {line} column {column}")
    }
}

/// Decodes one line (one message) in a line-oriented format.
///
/// A trailing `\n` or `\r\n` is ignored, as is a leading UTF-8 byte-order mark. Empty and
/// whitespace-only lines give [`DecodeError::Empty`] so the caller can skip them without
/// dead-lettering. The returned event has a fresh id, `source.name = ctx.source`,
/// `observed_time = ctx.received` and `raw` set to the line.
pub fn decode_line(format: Format, line: &[u8], ctx: &DecodeContext) -> Result<Event, DecodeError> {
    let (text, body) = message_text(line)?;
    let mut event = match format {
        Format::Tandem => tandem::decode(body, ctx)?,
        Format::Json => json::decode(body, ctx)?,
        Format::Syslog => syslog::decode(body, ctx)?,
        _ => return Err(DecodeError::NotLineOriented(format)),
    };
    // Tandem's own format is already the normalised event: keeping the line as `raw` too
    // would store everything twice. Other formats keep what the source actually said.
    let raw = (format != Format::Tandem).then_some(text);
    finish(&mut event, ctx, raw);
    Ok(event)
}

/// A message's text: `(as received without its line ending, without a byte-order mark)`.
/// Empty and whitespace-only messages are [`DecodeError::Empty`].
pub(crate) fn message_text(line: &[u8]) -> Result<(&str, &str), DecodeError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|e| DecodeError::InvalidUtf8 {
        at: e.valid_up_to(),
    })?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim().is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok((text, body))
}

/// Stamps what every decoded event gets from its context.
///
/// `observed_time` and `raw` are only filled when the decoder left them empty: the Tandem
/// format may carry the values an upstream Tandem collector recorded, which are closer to the
/// source than ours.
pub(crate) fn finish(event: &mut Event, ctx: &DecodeContext, raw: Option<&str>) {
    event.source.name.clone_from(&ctx.source);
    if event.source.vendor.is_none() {
        event.source.vendor.clone_from(&ctx.vendor);
    }
    if event.source.product.is_none() {
        event.source.product.clone_from(&ctx.product);
    }
    if event.observed_time.is_none() {
        event.observed_time = Some(ctx.received);
    }
    if let (None, Some(raw)) = (&event.raw, raw) {
        event.set_raw(raw);
    }
}

/// The label set on events whose time is the receipt time because the message had none.
const TIME_SOURCE: &str = "time_source";

/// Marks `event` as timed by receipt rather than by the source.
pub(crate) fn time_from_receipt(event: &mut Event) {
    event
        .labels
        .insert(TIME_SOURCE.to_owned(), "received".to_owned());
}

/// Shortens a value quoted in an error message so one huge field cannot flood dead letters.
pub(crate) fn quote(value: &str) -> String {
    const MAX: usize = 80;
    if value.len() <= MAX {
        return value.to_owned();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &value[..end])
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::DecodeContext;
    use tandem_model::Timestamp;

    pub fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    pub fn ctx() -> DecodeContext {
        DecodeContext::new("test-source", at("2026-03-04T10:00:00Z"))
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>().unwrap(), *f);
            let json = serde_json::to_string(f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
            assert_eq!(serde_json::from_str::<Format>(&json).unwrap(), *f);
        }
        let err = "xml".parse::<Format>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown format `xml`; expected one of: tandem, json, csv, syslog, windows, okta, entra, cef, verkada, zeek, mapped, frigate, iot"
        );
    }

    #[test]
    fn empty_and_whitespace_lines_are_distinct_errors() {
        for f in [Format::Tandem, Format::Json, Format::Syslog] {
            for line in [&b""[..], b"\n", b"\r\n", b"   \t ", b"\xef\xbb\xbf  "] {
                assert_eq!(
                    decode_line(f, line, &ctx()).unwrap_err(),
                    DecodeError::Empty
                );
            }
        }
    }

    #[test]
    fn invalid_utf8_names_the_byte() {
        let err = decode_line(Format::Json, b"{\"a\":\"\xff\"}", &ctx()).unwrap_err();
        assert_eq!(err, DecodeError::InvalidUtf8 { at: 6 });
        assert_eq!(err.to_string(), "invalid UTF-8 at byte 6");
    }

    #[test]
    fn csv_is_not_line_oriented() {
        let err = decode_line(Format::Csv, b"a,b", &ctx()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "format `csv` is not decoded one line at a time (CSV: decode_csv; others: MessageDecoder)"
        );
    }

    #[test]
    fn context_is_applied_to_every_event() {
        let mut c = ctx();
        c.vendor = Some("Acme".into());
        c.product = Some("Gate".into());
        for (f, line) in [
            (Format::Json, r#"{"msg":"hi"}"#),
            (Format::Syslog, "<13>Mar  4 09:59:00 host app: hi"),
            (
                Format::Tandem,
                r#"{"time":"2026-03-04T09:59:00Z","class":"other"}"#,
            ),
        ] {
            let e = decode_line(f, format!("{line}\r\n").as_bytes(), &c).unwrap();
            assert_eq!(e.source.name, "test-source");
            assert_eq!(e.source.vendor.as_deref(), Some("Acme"));
            assert_eq!(e.source.product.as_deref(), Some("Gate"));
            assert_eq!(e.observed_time, Some(c.received));
            let expected = (f != Format::Tandem).then_some(line);
            assert_eq!(e.raw.as_deref(), expected, "{f}");
        }
    }

    #[test]
    fn quote_cuts_long_values_at_a_char_boundary() {
        let long = "é".repeat(100);
        let q = quote(&long);
        assert!(q.ends_with('…') && q.len() <= 80 + '…'.len_utf8());
    }
}
