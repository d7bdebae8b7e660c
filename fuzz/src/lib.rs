//! What the fuzz targets share: one decode context, and the checks every decoder's answer
//! must pass beyond "did not panic".

use tandem_ingest::decode::{DecodeContext, DecodeError, Format, decode_line};
use tandem_model::Event;

/// The source name every target decodes as.
pub const SOURCE: &str = "fuzz-source";

/// A fixed context, so a crash reproduces whatever the date.
pub fn ctx() -> DecodeContext {
    DecodeContext::new(
        SOURCE,
        "2026-03-04T10:00:00Z".parse().expect("a valid time"),
    )
}

/// Checks a decoder's answer: an error says something an operator can read; every event
/// carries the source and receipt time, and survives Tandem's own JSON format unchanged
/// (what a forwarding Tandem sends on, and what the store keeps).
pub fn check_decoded(result: &Result<Vec<Event>, DecodeError>, ctx: &DecodeContext) {
    match result {
        Ok(events) => events.iter().for_each(|e| check_event(e, ctx)),
        Err(e) => check_error(e),
    }
}

/// An error's text goes into dead letters and source health: it must not be blank.
pub fn check_error(e: &DecodeError) {
    assert!(!e.to_string().trim().is_empty(), "blank error text: {e:?}");
}

/// See [`check_decoded`].
pub fn check_event(event: &Event, ctx: &DecodeContext) {
    assert_eq!(event.source.name, ctx.source, "source name not stamped");
    assert!(event.observed_time.is_some(), "observed_time not stamped");
    let line = serde_json::to_string(event).expect("an event serialises");
    let mut back = match decode_line(Format::Tandem, line.as_bytes(), ctx) {
        Ok(back) => back,
        Err(e) => panic!("an event's own JSON does not decode as the tandem format: {e}\n{line}"),
    };
    // Ids are assigned fresh and ingest time is the store's: neither travels.
    back.id = event.id;
    back.ingest_time = event.ingest_time;
    assert_eq!(
        &back, event,
        "event changed through the tandem format:\n{line}"
    );
}
