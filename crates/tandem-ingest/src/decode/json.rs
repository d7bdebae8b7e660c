//! The `json` format: any JSON object per line, mapped best-effort.
//!
//! For sources that log JSON of their own shape: application logs, ECS-style documents from
//! Beats/Vector, cloud webhooks flattened to lines. Sample (an ECS-style line as Filebeat
//! writes it, trimmed):
//!
//! ```text
//! {"@timestamp":"2026-11-25T08:01:02.123Z","message":"login ok","user":{"name":"alice"},"source":{"ip":"203.0.113.5"},"host":{"name":"web-1"},"event":{"dataset":"app"}}
//! ```
//!
//! Mapping (the first key present with a usable value wins; a dotted name matches either a
//! flat key `"user.name"` or nested objects `{"user":{"name":…}}`):
//!
//! | event field | keys |
//! |---|---|
//! | `time` | `@timestamp`, `timestamp`, `time`, `ts`, `date`, `eventTime` (RFC 3339 or epoch s/ms/µs/ns) |
//! | `message` | `message`, `msg`, `log` (strings only) |
//! | `actor.user` | `user`, `username`, `user.name` |
//! | `device.hostname` | `host`, `hostname`, `host.name` |
//! | `src.ip` / `src.port` | `src_ip`, `source.ip`, `client_ip` / `src_port`, `source.port`, `client_port` |
//! | `dst.ip` / `dst.port` | `dst_ip`, `destination.ip` / `dst_port`, `destination.port` |
//! | `class`, `activity`, `outcome`, `severity` | same-named keys holding a Tandem name (`authentication`, `logon`, …) |
//!
//! Mapped keys are removed; everything else is kept in `attrs` as it was (nested objects stay
//! nested), so nothing is lost and rules can still match vendor fields. A value that does not
//! fit (an IP that does not parse, a `class` Tandem does not know, a `user` object) is not an
//! error: it simply stays in `attrs`. With no usable time the event is timed by receipt and
//! labelled `time_source=received`. Class is `other` unless `class` names a known class. Only a
//! line that is not a JSON object is refused.

use super::tandem::parse_object;
use super::{DecodeContext, DecodeError, time, time_from_receipt};
use serde_json::{Map, Value};
use std::net::IpAddr;
use tandem_model::{Activity, Class, Event, Outcome, Severity};

const TIME_KEYS: &[&str] = &["@timestamp", "timestamp", "time", "ts", "date", "eventTime"];

pub(super) fn decode(text: &str, ctx: &DecodeContext) -> Result<Event, DecodeError> {
    let mut map = parse_object(text)?;

    let time = first(&mut map, TIME_KEYS, time::from_json);
    let class = first(&mut map, &["class"], named::<Class>).unwrap_or(Class::Other);
    let activity = first(&mut map, &["activity"], named::<Activity>).unwrap_or(Activity::Unknown);
    let mut event = Event::new(&ctx.source, class, activity, time.unwrap_or(ctx.received));
    if time.is_none() {
        time_from_receipt(&mut event);
    }
    if let Some(outcome) = first(&mut map, &["outcome"], named::<Outcome>) {
        event.outcome = outcome;
    }
    if let Some(severity) = first(&mut map, &["severity"], named::<Severity>) {
        event.severity = severity;
    }
    if let Some(message) = first(&mut map, &["message", "msg", "log"], string) {
        event.message = message;
    }
    event.actor.user = first(&mut map, &["user", "username", "user.name"], string);
    if let Some(host) = first(&mut map, &["host", "hostname", "host.name"], string) {
        event.device_mut().hostname = Some(host);
    }
    if let Some(ip) = first(&mut map, &["src_ip", "source.ip", "client_ip"], ip) {
        event.src_mut().ip = Some(ip);
    }
    if let Some(port) = first(&mut map, &["src_port", "source.port", "client_port"], port) {
        event.src_mut().port = Some(port);
    }
    if let Some(ip) = first(&mut map, &["dst_ip", "destination.ip"], ip) {
        event.dst_mut().ip = Some(ip);
    }
    if let Some(port) = first(&mut map, &["dst_port", "destination.port"], port) {
        event.dst_mut().port = Some(port);
    }
    event.attrs = map;
    Ok(event)
}

/// Takes the first of `keys` whose value `accept` can use, removing it from `map`.
fn first<T>(
    map: &mut Map<String, Value>,
    keys: &[&str],
    accept: fn(&Value) -> Option<T>,
) -> Option<T> {
    keys.iter().find_map(|key| take(map, key, accept))
}

/// Takes `path` (a flat key, or a dotted path into nested objects) if `accept` can use it.
/// A nested object emptied by the removal is removed too.
fn take<T>(map: &mut Map<String, Value>, path: &str, accept: fn(&Value) -> Option<T>) -> Option<T> {
    if let Some(found) = map.get(path).and_then(accept) {
        map.remove(path);
        return Some(found);
    }
    let (head, rest) = path.split_once('.')?;
    let Some(Value::Object(inner)) = map.get_mut(head) else {
        return None;
    };
    let found = take(inner, rest, accept)?;
    if inner.is_empty() {
        map.remove(head);
    }
    Some(found)
}

fn string(v: &Value) -> Option<String> {
    v.as_str()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

fn named<T: std::str::FromStr>(v: &Value) -> Option<T> {
    v.as_str()?.parse().ok()
}

fn ip(v: &Value) -> Option<IpAddr> {
    v.as_str()?.trim().parse().ok()
}

fn port(v: &Value) -> Option<u16> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::*;
    use crate::decode::{Format, decode_line};
    use serde_json::json;

    fn decode(line: &str) -> Event {
        decode_line(Format::Json, line.as_bytes(), &ctx()).unwrap()
    }

    #[test]
    fn ecs_style_document() {
        let e = decode(
            r#"{"@timestamp":"2026-11-25T08:01:02.123Z","message":"login ok","user":{"name":"alice","id":"42"},"source":{"ip":"203.0.113.5","port":52344},"host":{"name":"web-1"},"event":{"dataset":"app"}}"#,
        );
        assert_eq!(e.time, at("2026-11-25T08:01:02.123Z"));
        assert_eq!(e.message, "login ok");
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(
            e.device.as_ref().unwrap().hostname.as_deref(),
            Some("web-1")
        );
        let src = e.src.as_ref().unwrap();
        assert_eq!(src.ip, Some("203.0.113.5".parse().unwrap()));
        assert_eq!(src.port, Some(52344));
        assert_eq!(e.class, Class::Other);
        assert!(e.labels.is_empty());
        // Only the mapped parts were removed.
        assert_eq!(
            serde_json::Value::Object(e.attrs),
            json!({"user":{"id":"42"},"event":{"dataset":"app"}})
        );
    }

    #[test]
    fn flat_application_log() {
        let e = decode(
            r#"{"ts":1795593662123,"level":"warn","msg":"token refresh failed","username":"bob","client_ip":"2001:db8::7","dst_ip":"10.0.0.1","dst_port":"443","class":"authentication","activity":"logon","outcome":"failure","severity":"medium"}"#,
        );
        assert_eq!(e.time, at("2026-11-25T08:01:02.123Z"));
        assert_eq!(e.message, "token refresh failed");
        assert_eq!(e.actor.user.as_deref(), Some("bob"));
        assert_eq!(
            e.src.as_ref().unwrap().ip,
            Some("2001:db8::7".parse().unwrap())
        );
        assert_eq!(e.dst.as_ref().unwrap().port, Some(443));
        assert_eq!(
            (e.class, e.activity, e.outcome, e.severity),
            (
                Class::Authentication,
                Activity::Logon,
                Outcome::Failure,
                Severity::Medium
            )
        );
        assert_eq!(serde_json::Value::Object(e.attrs), json!({"level":"warn"}));
    }

    #[test]
    fn flat_dotted_keys_and_epoch_seconds() {
        let e = decode(
            r#"{"time":1795593662,"user.name":"carol","host.name":"db-2","source.ip":"192.0.2.1"}"#,
        );
        assert_eq!(e.time, at("2026-11-25T08:01:02Z"));
        assert_eq!(e.actor.user.as_deref(), Some("carol"));
        assert_eq!(e.device.unwrap().hostname.as_deref(), Some("db-2"));
        assert!(e.attrs.is_empty());
    }

    #[test]
    fn unusable_values_stay_in_attrs() {
        let e = decode(
            r#"{"time":"last tuesday","class":"weird","src_ip":"not-an-ip","user":{"id":7},"log":{"level":"info"}}"#,
        );
        assert_eq!(e.time, ctx().received);
        assert_eq!(e.labels["time_source"], "received");
        assert_eq!(e.class, Class::Other);
        assert_eq!(e.activity, Activity::Unknown);
        assert!(e.actor.user.is_none() && e.src.is_none() && e.message.is_empty());
        assert_eq!(
            serde_json::Value::Object(e.attrs),
            json!({"time":"last tuesday","class":"weird","src_ip":"not-an-ip","user":{"id":7},"log":{"level":"info"}})
        );
    }

    #[test]
    fn time_keys_in_priority_order() {
        let e = decode(r#"{"date":"2020-01-01T00:00:00Z","@timestamp":"2026-11-25T08:01:02Z"}"#);
        assert_eq!(e.time, at("2026-11-25T08:01:02Z"));
        assert_eq!(e.attrs["date"], "2020-01-01T00:00:00Z");
        let e = decode(r#"{"eventTime":"2026-11-25T08:01:02Z"}"#);
        assert_eq!(e.time, at("2026-11-25T08:01:02Z"));
    }

    #[test]
    fn non_objects_are_refused() {
        let err = |l: &str| {
            decode_line(Format::Json, l.as_bytes(), &ctx())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err("[1]"), "expected a JSON object, found an array");
        assert_eq!(err("\"hello\""), "expected a JSON object, found a string");
        assert_eq!(err("42"), "expected a JSON object, found a number");
        assert_eq!(err("null"), "expected a JSON object, found null");
        assert_eq!(
            err("{\"a\":1,}"),
            "invalid JSON at column 8: trailing comma"
        );
        assert_eq!(err("hello"), "invalid JSON at column 1: expected value");
    }
}
