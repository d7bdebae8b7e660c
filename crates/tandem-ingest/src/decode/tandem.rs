//! The `tandem` format: one event per line in Tandem's normalised JSON schema.
//!
//! This is exactly what `serde_json::to_string(&Event)` writes (field reference:
//! `docs/schema.md`), so a Tandem collector can forward to another Tandem and an integration
//! that already normalises can send events as-is. Sample (as written by the model crate's own
//! serialisation of a badge event):
//!
//! ```text
//! {"time":"2026-11-25T08:01:02Z","class":"physical_access","activity":"granted","outcome":"success","actor":{"badge":"40123"},"place":{"site":"hq","door":"D-101"}}
//! ```
//!
//! * `time` and `class` are required; everything else has a default.
//! * `id` and `ingest_time` are ignored: ids are assigned fresh so a replayed or forwarded
//!   event cannot collide with (or overwrite) a stored one, and `ingest_time` is set by the
//!   pipeline when it stores the event.
//! * `observed_time` and `raw`, when present, are kept: they are what the first collector saw,
//!   which is closer to the source than this hop. Otherwise they are filled from the context
//!   and the line, like every format.
//! * Top-level keys the schema does not know are moved into `attrs` under their own name rather
//!   than dropped, so a newer sender's fields survive an older Tandem and a misspelt field is
//!   visible to whoever searches for it.

use super::{DecodeContext, DecodeError, json_message, quote};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use tandem_model::{
    Activity, Actor, Class, Device, EVENT_FIELDS, Endpoint, Event, Outcome, Physical, Place,
    Severity, SourceRef, Timestamp, Ulid,
};

pub(super) fn decode(text: &str, ctx: &DecodeContext) -> Result<Event, DecodeError> {
    // Fast path, taken by nearly every line: one pass straight into the event, unknown keys
    // included. Errors take the slow path, which explains them.
    let mut de = serde_json::Deserializer::from_str(text);
    match serde::Deserializer::deserialize_map(&mut de, OnePass).and_then(|event| {
        de.end()?;
        Ok(event)
    }) {
        Ok(event) => Ok(event),
        Err(_) => decode_slowly(text, ctx),
    }
}

/// Reads an event's JSON object in one pass: each known field into its place, top-level keys
/// the schema does not know into `attrs` (where `attrs`' own entries win), `id` and
/// `ingest_time` skipped. Builds the [`Event`] with every field named, so a field added to the
/// model does not compile until it is read here too.
struct OnePass;

impl<'de> serde::de::Visitor<'de> for OnePass {
    type Value = Event;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        use serde::de::{Error, IgnoredAny};
        let (mut time, mut class) = (None, None);
        let mut event = Event::new("", Class::Other, Activity::Unknown, Timestamp::UNIX_EPOCH);
        let mut extra: Vec<(String, Value)> = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "id" | "ingest_time" => drop(map.next_value::<IgnoredAny>()?),
                "time" => time = Some(map.next_value()?),
                "observed_time" => event.observed_time = map.next_value()?,
                "source" => event.source = map.next_value()?,
                "class" => class = Some(map.next_value()?),
                "activity" => event.activity = map.next_value()?,
                "outcome" => event.outcome = map.next_value()?,
                "severity" => event.severity = map.next_value()?,
                "message" => event.message = map.next_value()?,
                "actor" => event.actor = map.next_value()?,
                "physical" => event.physical = map.next_value()?,
                "place" => event.place = map.next_value()?,
                "src" => event.src = map.next_value()?,
                "dst" => event.dst = map.next_value()?,
                "device" => event.device = map.next_value()?,
                "labels" => event.labels = map.next_value()?,
                "attrs" => event.attrs = map.next_value()?,
                "raw" => event.raw = map.next_value()?,
                "raw_truncated" => event.raw_truncated = map.next_value()?,
                _ => extra.push((key.into_owned(), map.next_value()?)),
            }
        }
        event.time = time.ok_or_else(|| A::Error::missing_field("time"))?;
        event.class = class.ok_or_else(|| A::Error::missing_field("class"))?;
        for (key, value) in extra {
            event.attrs.entry(key).or_insert(value);
        }
        Ok(event)
    }
}

fn decode_slowly(text: &str, _ctx: &DecodeContext) -> Result<Event, DecodeError> {
    let mut object = parse_object(text)?;
    object.remove("id");
    object.remove("ingest_time");
    let unknown: Vec<String> = object
        .keys()
        .filter(|k| !EVENT_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        let mut extra = Map::new();
        for key in unknown {
            if let Some(v) = object.remove(&key) {
                extra.insert(key, v);
            }
        }
        let attrs = object
            .entry("attrs")
            .or_insert_with(|| Value::Object(Map::new()));
        // A wrong-typed `attrs` is left for serde to report below.
        if let Value::Object(attrs) = attrs {
            for (k, v) in extra {
                attrs.entry(k).or_insert(v);
            }
        }
    }
    let value = Value::Object(object);
    let mut event = match Event::deserialize(&value) {
        Ok(event) => event,
        Err(e) => {
            let located = value.as_object().and_then(locate);
            return Err(DecodeError::Invalid(
                located.unwrap_or_else(|| json_message(&e)),
            ));
        }
    };
    event.id = Ulid::generate();
    event.ingest_time = chrono::Utc::now();
    Ok(event)
}

/// Finds which top-level field a data error comes from, by decoding each on its own: serde
/// reports "invalid IP address syntax" but not where, and an operator needs the where.
fn locate(object: &Map<String, Value>) -> Option<String> {
    fn check<T: serde::de::DeserializeOwned>(v: &Value) -> Result<(), serde_json::Error> {
        T::deserialize(v).map(drop)
    }
    for (field, value) in object {
        let result = match field.as_str() {
            "time" | "observed_time" => match value {
                Value::String(s) if s.parse::<Timestamp>().is_err() => {
                    return Some(format!(
                        "field `{field}`: `{}` is not an RFC 3339 timestamp like 2026-11-25T08:01:02Z",
                        quote(s)
                    ));
                }
                _ => check::<Timestamp>(value),
            },
            "source" => check::<SourceRef>(value),
            "class" => check::<Class>(value),
            "activity" => check::<Activity>(value),
            "outcome" => check::<Outcome>(value),
            "severity" => check::<Severity>(value),
            "message" | "raw" => check::<String>(value),
            "actor" => check::<Actor>(value),
            "physical" => check::<Physical>(value),
            "place" => check::<Place>(value),
            "src" | "dst" => check::<Endpoint>(value),
            "device" => check::<Device>(value),
            "labels" => check::<BTreeMap<String, String>>(value),
            "attrs" => check::<Map<String, Value>>(value),
            "raw_truncated" => check::<bool>(value),
            _ => Ok(()),
        };
        if let Err(e) = result {
            return Some(format!("field `{field}`: {}", json_message(&e)));
        }
    }
    None
}

/// Parses `text` as a JSON object, with syntax errors located by column.
pub(super) fn parse_object(text: &str) -> Result<Map<String, Value>, DecodeError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(DecodeError::Invalid(format!(
            "expected a JSON object, found {}",
            kind_of(&other)
        ))),
        Err(e) => Err(DecodeError::json(&e)),
    }
}

/// "an array", "a string", … for error messages.
pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::*;
    use crate::decode::{Format, decode_line};

    fn decode(line: &str) -> Result<Event, DecodeError> {
        decode_line(Format::Tandem, line.as_bytes(), &ctx())
    }

    fn err(line: &str) -> String {
        decode(line).unwrap_err().to_string()
    }

    #[test]
    fn round_trips_a_full_event_with_a_fresh_id() {
        let mut e = Event::new(
            "elsewhere",
            Class::PhysicalAccess,
            Activity::Denied,
            at("2026-11-25T08:01:02Z"),
        );
        e.outcome = Outcome::Failure;
        e.severity = Severity::Medium;
        e.message = "Access denied".into();
        e.actor.badge = Some("40123".into());
        e.place_mut().door = Some("D-101".into());
        e.physical_mut().reason = Some("expired".into());
        e.src_mut().ip = Some("10.1.2.3".parse().unwrap());
        e.device_mut().hostname = Some("panel-1".into());
        e.labels.insert("env".into(), "prod".into());
        e.attrs.insert("panel.code".into(), 17.into());
        e.source.vendor = Some("Genetec".into());
        let line = serde_json::to_string(&e).unwrap();

        let back = decode(&line).unwrap();
        assert_ne!(back.id, e.id, "ids are fresh");
        assert_eq!(
            back.source.name, "test-source",
            "the configured source wins"
        );
        assert_eq!(
            back.source.vendor.as_deref(),
            Some("Genetec"),
            "a better vendor is kept"
        );
        assert_eq!(back.observed_time, Some(ctx().received));
        assert_eq!(back.raw, None, "the normalised event is not stored twice");
        let normalise = |mut x: Event| {
            x.id = e.id;
            x.ingest_time = e.ingest_time;
            x.source.name = e.source.name.clone();
            x.observed_time = None;
            x.raw = None;
            x
        };
        assert_eq!(normalise(back), e);
    }

    #[test]
    fn upstream_observed_time_and_raw_are_kept() {
        let line = r#"{"time":"2026-03-04T09:00:00Z","observed_time":"2026-03-04T09:00:01Z","class":"other","raw":"<13>orig"}"#;
        let e = decode(line).unwrap();
        assert_eq!(e.observed_time, Some(at("2026-03-04T09:00:01Z")));
        assert_eq!(e.raw.as_deref(), Some("<13>orig"));
    }

    #[test]
    fn unknown_top_level_fields_go_to_attrs() {
        let e = decode(r#"{"time":"2026-03-04T09:00:00Z","class":"other","acter":{"user":"x"},"attrs":{"a":1}}"#).unwrap();
        assert_eq!(e.attrs["acter"], serde_json::json!({"user":"x"}));
        assert_eq!(e.attrs["a"], 1);
    }

    #[test]
    fn one_pass_agrees_with_the_slow_path() {
        let lines = [
            r#"{"time":"2026-03-04T09:00:00Z","class":"other"}"#,
            r#"{"x":1,"time":"2026-03-04T09:00:00Z","class":"other","attrs":{"x":2,"y":3},"z":[4]}"#,
            r#"{"time":"2026-03-04T09:00:00Z","class":"authentication","class":"other","observed_time":null}"#,
            r#"{"id":"nope","ingest_time":5,"time":"2026-03-04T09:00:00Z","class":"other","raw":"r","raw_truncated":true,"labels":{"a":"b"}}"#,
        ];
        for line in lines {
            let mut de = serde_json::Deserializer::from_str(line);
            let one = serde::Deserializer::deserialize_map(&mut de, OnePass)
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            let slow = decode_slowly(line, &ctx()).unwrap();
            let same = |mut e: Event| {
                e.id = slow.id;
                e.ingest_time = slow.ingest_time;
                e
            };
            assert_eq!(same(one), slow, "{line}");
        }
    }

    #[test]
    fn ingest_time_is_not_trusted() {
        let e = decode(r#"{"time":"2026-03-04T09:00:00Z","class":"other","ingest_time":"1999-01-01T00:00:00Z","id":"01ARZ3NDEKTSV4RRFFQ69G5FAV"}"#).unwrap();
        assert!(e.ingest_time > at("2020-01-01T00:00:00Z"));
        assert_ne!(e.id.to_string(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            err(r#"{"time":"2026-03-04T09:00:00Z" "class":"other"}"#),
            "invalid JSON at column 32: expected `,` or `}`"
        );
        assert_eq!(err(r#"{"class":"authentication"}"#), "missing field `time`");
        let unknown = err(r#"{"time":"2026-03-04T09:00:00Z","class":"foo"}"#);
        assert!(
            unknown.starts_with(
                "field `class`: unknown class `foo`; expected one of: process_activity, "
            ),
            "{unknown}"
        );
        assert_eq!(err("[1,2]"), "expected a JSON object, found an array");
        assert_eq!(
            err(r#"{"time":"soon","class":"other"}"#),
            "field `time`: `soon` is not an RFC 3339 timestamp like 2026-11-25T08:01:02Z"
        );
        assert_eq!(
            err(r#"{"time":"2026-03-04T09:00:00Z","class":"other","src":{"ip":"10.0.0.300"}}"#),
            "field `src`: invalid IP address syntax"
        );
        assert_eq!(
            err(r#"{"time":"2026-03-04T09:00:00Z""#),
            "invalid JSON at column 30: EOF while parsing an object"
        );
        assert!(
            err(r#"{"time":"2026-03-04T09:00:00Z","class":"other","attrs":[]}"#)
                .contains("invalid type: sequence")
        );
    }
}
