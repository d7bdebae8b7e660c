//! `.evtx` files, read with the `evtx` crate.

use super::{map, shapes};
use crate::decode::{DecodeContext, DecodeError, finish};
use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use serde_json::Value;
use tandem_model::Event;

/// Decodes every record of an EVTX file. See [`super::decode_evtx`].
pub(super) fn decode(bytes: &[u8], ctx: &DecodeContext) -> Vec<(u64, Result<Event, DecodeError>)> {
    // The evtx crate is written to fail with errors, not panics, and is fuzzed upstream; the
    // guard is a second line so that one hostile file cannot take the ingest task down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_unguarded(bytes, ctx)
    }))
    .unwrap_or_else(|_| {
        vec![(
            0,
            Err(DecodeError::Invalid(
                "EVTX file could not be read: the parser failed unexpectedly".to_owned(),
            )),
        )]
    })
}

fn decode_unguarded(bytes: &[u8], ctx: &DecodeContext) -> Vec<(u64, Result<Event, DecodeError>)> {
    let parser = match EvtxParser::from_buffer(bytes.to_vec()) {
        Ok(p) => p,
        Err(e) => {
            return vec![(
                0,
                Err(DecodeError::Invalid(format!(
                    "not an EVTX file: {}",
                    causes(&e)
                ))),
            )];
        }
    };
    let mut parser = parser.with_configuration(ParserSettings::new().indent(false));
    let mut out = Vec::new();
    for (seq, item) in parser.records_json_value().enumerate() {
        let seq = seq as u64;
        match item {
            Ok(record) => {
                let id = record.event_record_id;
                let result = event(record.data, record.timestamp, ctx)
                    .map_err(|e| DecodeError::Invalid(format!("EVTX record {id}: {e}")));
                out.push((id, result));
            }
            Err(err) => {
                let id = match &err {
                    EvtxError::FailedToParseRecord { record_id, .. } => *record_id,
                    _ => seq,
                };
                out.push((
                    id,
                    Err(DecodeError::Invalid(format!(
                        "EVTX record {id} could not be read: {}",
                        causes(&err)
                    ))),
                ));
            }
        }
    }
    out
}

/// One rendered record (`{"Event":{…}}`) to an event; the record header's time stands in when
/// `TimeCreated` is missing.
fn event(
    data: Value,
    header_time: evtx::Timestamp,
    ctx: &DecodeContext,
) -> Result<Event, DecodeError> {
    let raw = data.to_string();
    let Some(Value::Object(event)) = data.get("Event") else {
        return Err(DecodeError::Invalid("missing element `Event`".to_owned()));
    };
    let mut record = shapes::evtx_event(event)?;
    if record.time.is_none() {
        record.time = crate::decode::time::parse_str(&header_time.to_string());
    }
    let mut event = map::map(record, ctx);
    finish(&mut event, ctx, Some(&raw));
    Ok(event)
}

/// An error with its causes, `a: b: c`: the evtx crate's top-level messages are generic.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
