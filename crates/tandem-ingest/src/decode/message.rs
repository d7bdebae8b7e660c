//! One decoder for every format: what listeners and the HTTP pipeline hold per source (and
//! per connection or request body, since some formats carry state from message to message:
//! a Zeek log's `#fields` header applies to the lines after it).

use super::{DecodeContext, DecodeError, Format, decode_line, message_text};
use crate::integrations::{cef, entra, mapping, okta, verkada, windows, zeek};
use std::sync::Arc;
use tandem_model::Event;

/// Decodes messages of one source.
#[derive(Debug, Clone)]
pub struct MessageDecoder {
    format: Format,
    zeek: zeek::ZeekDecoder,
    mapping: Option<Arc<mapping::Mapping>>,
}

impl MessageDecoder {
    /// A decoder for `format`; `mapping` is the source's field mapping, which
    /// [`Format::Mapped`] needs.
    pub fn new(format: Format, mapping: Option<Arc<mapping::Mapping>>) -> MessageDecoder {
        MessageDecoder {
            format,
            zeek: zeek::ZeekDecoder::default(),
            mapping,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Decodes one message: a line, a syslog frame, or a whole JSON document for the formats
    /// that [take whole documents](Format::takes_whole_documents). Empty messages give
    /// [`DecodeError::Empty`]; a message may hold several events or none (a Zeek header).
    pub fn decode(
        &mut self,
        message: &[u8],
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        if let Some(one) = self.decode_one(message, ctx) {
            return one.map(|e| vec![e]);
        }
        if self.format == Format::Syslog && carries_cef(message) {
            // Access-control exporters send CEF in syslog; the CEF decoder reads the syslog
            // header too, so the whole frame goes to it.
            let (_, body) = message_text(message)?;
            return cef::decode(body, ctx);
        }
        let (_, body) = message_text(message)?;
        match self.format {
            Format::Tandem | Format::Json | Format::Syslog => {
                decode_line(self.format, message, ctx).map(|e| vec![e])
            }
            Format::Windows => windows::decode(body, ctx),
            Format::Okta => okta::decode(body, ctx),
            Format::Entra => entra::decode(body, ctx),
            Format::Cef => cef::decode(body, ctx),
            Format::Verkada => verkada::decode(body, ctx),
            Format::Zeek => self.zeek.decode_line(body, ctx),
            Format::Mapped => match &self.mapping {
                Some(m) => mapping::decode(m, body, ctx),
                None => Err(DecodeError::Invalid(
                    "this source has format `mapped` but no [sources.mapping] in the configuration"
                        .into(),
                )),
            },
            Format::Frigate | Format::Iot => Err(DecodeError::Invalid(format!(
                "format `{}` arrives over MQTT; configure an [[mqtt]] subscription for this source",
                self.format
            ))),
            Format::Csv => Err(DecodeError::NotLineOriented(Format::Csv)),
        }
    }

    /// The message's one event, for the formats that always give exactly one (Tandem JSON,
    /// generic JSON, syslog other than CEF); `None` for the others, which go through
    /// [`MessageDecoder::decode`]. Saves the ingest path a `Vec` per line: events are large,
    /// and each one moved is a kilobyte copied.
    pub fn decode_one(
        &mut self,
        message: &[u8],
        ctx: &DecodeContext,
    ) -> Option<Result<Event, DecodeError>> {
        let single = matches!(self.format, Format::Tandem | Format::Json)
            || (self.format == Format::Syslog && !carries_cef(message));
        single.then(|| message_text(message).and_then(|_| decode_line(self.format, message, ctx)))
    }
}

/// Whether a syslog frame carries CEF (`CEF:0|` or `CEF:1|` right after the header).
fn carries_cef(message: &[u8]) -> bool {
    // A syslog header is short; CEF that starts deep inside a message is just text.
    let head = &message[..message.len().min(512)];
    head.windows(6).any(|w| w == b"CEF:0|" || w == b"CEF:1|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::ctx;

    /// Every JSON format reports a syntax error the same way: `invalid JSON at …`, the
    /// position said once (serde_json's own ` at line L column C` cut off).
    #[test]
    fn json_syntax_errors_name_their_position_once() {
        for format in [
            Format::Tandem,
            Format::Json,
            Format::Windows,
            Format::Okta,
            Format::Entra,
            Format::Verkada,
            Format::Zeek,
        ] {
            let err = MessageDecoder::new(format, None)
                .decode(b"{\"a\":", &ctx())
                .unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(
                    err,
                    DecodeError::InvalidJson {
                        line: 1,
                        column: 5,
                        ..
                    }
                ),
                "{format}: {text}"
            );
            assert_eq!(text.matches("column").count(), 1, "{format}: {text}");
            assert!(
                text.starts_with("invalid JSON at column 5: "),
                "{format}: {text}"
            );
        }
    }
}
