//! Declarative field mapping: add a JSON or CEF source without writing a decoder.
//!
//! A site with a badge system, a door controller or an in-house app that logs JSON (or CEF)
//! describes, in its source configuration, where each schema field comes from. The mapping is
//! plain data ([`Mapping`], deserialised from TOML or JSON), checked once at load time by
//! [`Mapping::validate`] and applied to every message by [`decode`]. Configure a source with
//! `format = "mapping"` and a `[mapping]` table. Sample input and mapping:
//!
//! ```text
//! {"ts":"25/11/2026 08:01:02","evt":{"type":"ok","text":"Badge accepted"},"card":{"no":"40123"},"door":"Lobby East","holder":"Jane Doe"}
//! ```
//!
//! ```toml
//! input = "json"
//! class = "physical_access"
//! activity = { from = "evt.type", map = { ok = "granted", bad = "denied" }, default = "other" }
//! outcome  = { from = "evt.type", map = { ok = "success", bad = "failure" } }
//! severity = "informational"
//! time = { from = "ts", format = "%d/%m/%Y %H:%M:%S" }
//!
//! [fields]
//! "message"         = "evt.text"
//! "actor.badge"     = "card.no"
//! "actor.user"      = "holder"
//! "place.door"      = "door"
//! "place.site"      = { value = "hq" }
//! "source.vendor"   = { value = "Acme" }
//! ```
//!
//! # Rules
//!
//! * **Input** (`input`): `json` (default: one JSON object per message; a top-level array, or
//!   the array at `records = "path"`, gives one event per element) or `cef` (the message is
//!   parsed with [`super::cef::parse`]; paths name extension keys, the labels of labelled
//!   custom fields (`Door` for `cs1Label=Door cs1=…`), and the header as `cef.version`,
//!   `cef.device_vendor`, `cef.device_product`, `cef.device_version`, `cef.signature_id`,
//!   `cef.name`, `cef.severity`).
//! * **Paths** are dotted: `card.no` matches a flat key `"card.no"` or nested objects
//!   `{"card":{"no":…}}` (and `items.0.id` indexes arrays). A value is used when it is a string,
//!   number or boolean.
//! * **`class`, `activity`, `outcome`, `severity`**: a bare string is a constant
//!   (`class = "physical_access"`); a table reads a path: `{ from = "path", map = { … },
//!   default = "…" }`. With `map`, the input value is looked up (exactly, then ignoring case)
//!   and `default` applies when it is missing or not in the map; without `map`, the input value
//!   itself must be a Tandem name. Results must be names from `docs/schema.md`.
//! * **`time`**: `"path"` or `{ from = "path", format = "…" }`, format one of `auto` (default:
//!   RFC 3339 or epoch seconds/ms/µs/ns by magnitude), `rfc3339`, `epoch_s`, `epoch_ms`,
//!   `epoch_us`, `epoch_ns`, `cef` (CEF date formats), or a chrono `strftime` pattern with `%`
//!   (taken as UTC unless it has `%z`). Without a `time` rule: for JSON the `json` format's
//!   keys (`@timestamp`, `timestamp`, `time`, `ts`, `date`, `eventTime`); for CEF `rt`, `end`,
//!   `start`. No usable time: the receipt time, label `time_source=received`.
//! * **`[fields]`**: target = source. A bare string is a path; `{ value = "…" }` a constant;
//!   `{ from, map, default }` a lookup as above. Targets: `message`, `actor.user`,
//!   `actor.domain`, `actor.uid`, `actor.email`, `actor.badge`, `actor.face`, `place.site`,
//!   `place.building`, `place.floor`, `place.zone`, `place.door`, `place.reader`,
//!   `place.camera`, `src.ip`, `src.port`, `src.hostname`, `dst.ip`, `dst.port`,
//!   `dst.hostname`, `device.hostname`, `device.ip`, `device.mac`, `device.os`, `device.kind`,
//!   `physical.reason`, `physical.direction`, `source.vendor`, `source.product`,
//!   `labels.<name>`, `attrs.<name>`.
//!
//! Every input field not consumed by a rule is kept in `attrs` under its own name (nested
//! objects stay nested), so nothing is lost. A value that does not fit its target (an address
//! that is not an IP, a port above 65535, an unknown activity name) is not an error: the target
//! stays empty and the value stays in `attrs`. A lookup that falls back to `default` also
//! leaves the input value in `attrs`, so the unexpected value can be found and added to the
//! map. Only a message that is not JSON (or not CEF) is refused. [`decode`] never re-validates:
//! call [`Mapping::validate`] when loading configuration.

use super::cef::{self, CefRecord};
use crate::decode::time::{from_epoch_int, from_json};
use crate::decode::{DecodeContext, DecodeError, finish, quote, time_from_receipt};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use tandem_model::{Activity, Class, DeviceKind, Event, Outcome, Severity, Timestamp};

/// A declarative mapping from one source's messages to events (module docs for the rules).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// What each message is.
    #[serde(default)]
    pub input: Input,
    /// JSON only: path to an array of records inside each message (`value` for a Graph-style
    /// envelope). Each element becomes one event.
    #[serde(default)]
    pub records: Option<String>,
    #[serde(default)]
    pub class: Option<Choice>,
    #[serde(default)]
    pub activity: Option<Choice>,
    #[serde(default)]
    pub outcome: Option<Choice>,
    #[serde(default)]
    pub severity: Option<Choice>,
    #[serde(default)]
    pub time: Option<TimeRule>,
    /// Target schema field → where its value comes from.
    #[serde(default)]
    pub fields: BTreeMap<String, Source>,
}

/// The syntax of each message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    #[default]
    Json,
    Cef,
}

/// Where a value comes from: a constant, or a path with an optional lookup table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Dotted path into the input.
    #[serde(default)]
    pub from: Option<String>,
    /// A constant (instead of `from`).
    #[serde(default)]
    pub value: Option<String>,
    /// Input value → output value.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// Used when `from` has no value, or one not in `map`.
    #[serde(default)]
    pub default: Option<String>,
}

/// A rule for `class`, `activity`, `outcome` or `severity`: a bare string is a constant.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice(pub Rule);

/// A rule for a `[fields]` target: a bare string is a path.
#[derive(Debug, Clone, PartialEq)]
pub struct Source(pub Rule);

/// Where the event time comes from and how it is written. A bare string is a path read with
/// format `auto`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeRule {
    pub from: String,
    /// `auto`, `rfc3339`, `epoch_s`, `epoch_ms`, `epoch_us`, `epoch_ns`, `cef`, or a strftime
    /// pattern.
    pub format: String,
}

fn auto() -> String {
    "auto".to_owned()
}

/// Deserialises a bare string with `shorthand`, a table as a [`Rule`].
fn string_or_rule<'de, D: Deserializer<'de>>(
    d: D,
    shorthand: fn(String) -> Rule,
    what: &'static str,
) -> Result<Rule, D::Error> {
    struct V {
        shorthand: fn(String) -> Rule,
        what: &'static str,
    }
    impl<'de> Visitor<'de> for V {
        type Value = Rule;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.what)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Rule, E> {
            Ok((self.shorthand)(s.to_owned()))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Rule, A::Error> {
            Rule::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V { shorthand, what })
}

impl<'de> Deserialize<'de> for Choice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Choice, D::Error> {
        string_or_rule(
            d,
            |s| Rule {
                value: Some(s),
                ..Rule::default()
            },
            "a name such as \"physical_access\", or a table { from = \"path\", map = { … }, default = \"…\" }",
        )
        .map(Choice)
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Source, D::Error> {
        string_or_rule(
            d,
            |s| Rule {
                from: Some(s),
                ..Rule::default()
            },
            "a path such as \"card.no\", or a table { value = \"…\" } or { from = \"path\", map = { … }, default = \"…\" }",
        )
        .map(Source)
    }
}

impl<'de> Deserialize<'de> for TimeRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TimeRule, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            from: String,
            #[serde(default = "auto")]
            format: String,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TimeRule;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a path such as \"ts\", or a table { from = \"ts\", format = \"epoch_ms\" }",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TimeRule, E> {
                Ok(TimeRule {
                    from: s.to_owned(),
                    format: auto(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TimeRule, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(TimeRule {
                    from: t.from,
                    format: t.format,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Every `[fields]` target other than `labels.*` and `attrs.*`.
pub const TARGETS: &[&str] = &[
    "message",
    "actor.user",
    "actor.domain",
    "actor.uid",
    "actor.email",
    "actor.badge",
    "actor.face",
    "place.site",
    "place.building",
    "place.floor",
    "place.zone",
    "place.door",
    "place.reader",
    "place.camera",
    "src.ip",
    "src.port",
    "src.hostname",
    "dst.ip",
    "dst.port",
    "dst.hostname",
    "device.hostname",
    "device.ip",
    "device.mac",
    "device.os",
    "device.kind",
    "physical.reason",
    "physical.direction",
    "source.vendor",
    "source.product",
];

const TIME_FORMATS: &[&str] = &[
    "auto", "rfc3339", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns", "cef",
];

/// Keys the `json` format reads the time from; reused when a JSON mapping has no `time` rule.
const JSON_TIME_KEYS: &[&str] = &["@timestamp", "timestamp", "time", "ts", "date", "eventTime"];

impl Mapping {
    /// Checks the mapping once, at configuration load: unknown target fields, unknown class,
    /// activity, outcome, severity or device-kind names, malformed rules and time formats. The
    /// error lists every problem, separated by `; `.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.records.is_some() && self.input != Input::Json {
            problems.push("`records` only applies to input = \"json\"".to_owned());
        }
        if let Some(path) = &self.records
            && path.trim().is_empty()
        {
            problems.push("`records` is an empty path".to_owned());
        }
        let vocab: [(&str, Option<&Choice>, Check); 4] = [
            ("class", self.class.as_ref(), |s| named::<Class>(s)),
            ("activity", self.activity.as_ref(), |s| named::<Activity>(s)),
            ("outcome", self.outcome.as_ref(), |s| named::<Outcome>(s)),
            ("severity", self.severity.as_ref(), |s| named::<Severity>(s)),
        ];
        for (name, choice, check) in vocab {
            if let Some(Choice(rule)) = choice {
                check_rule(name, rule, Some(check), &mut problems);
            }
        }
        if let Some(time) = &self.time {
            if time.from.trim().is_empty() {
                problems.push("`time.from` is an empty path".to_owned());
            }
            if !TIME_FORMATS.contains(&time.format.as_str()) && !time.format.contains('%') {
                problems.push(format!(
                    "unknown time format `{}`; expected one of: {}, or a strftime pattern such as \"%d/%m/%Y %H:%M:%S\"",
                    time.format,
                    TIME_FORMATS.join(", ")
                ));
            }
        }
        for (target, Source(rule)) in &self.fields {
            let what = format!("fields.\"{target}\"");
            let check: Option<Check> = match target.as_str() {
                "device.kind" => Some(device_kind),
                "src.port" | "dst.port" => Some(|s| {
                    s.parse::<u16>()
                        .map(drop)
                        .map_err(|_| format!("`{s}` is not a port (0–65535)"))
                }),
                "src.ip" | "dst.ip" | "device.ip" => Some(|s| {
                    s.parse::<IpAddr>()
                        .map(drop)
                        .map_err(|_| format!("`{s}` is not an IP address"))
                }),
                t if TARGETS.contains(&t) => None,
                t if valid_suffix(t, "labels.") || valid_suffix(t, "attrs.") => None,
                t => {
                    problems.push(format!(
                        "unknown target field `{t}` in [fields]; expected one of: {}, labels.<name>, attrs.<name>",
                        TARGETS.join(", ")
                    ));
                    continue;
                }
            };
            check_rule(&what, rule, check, &mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("invalid mapping: {}", problems.join("; ")))
        }
    }
}

/// Checks one value a rule can produce; the error names what is wrong with it.
type Check = fn(&str) -> Result<(), String>;

fn valid_suffix(target: &str, prefix: &str) -> bool {
    target
        .strip_prefix(prefix)
        .is_some_and(|rest| !rest.trim().is_empty())
}

fn named<T: std::str::FromStr>(s: &str) -> Result<(), String>
where
    T::Err: fmt::Display,
{
    s.parse::<T>().map(drop).map_err(|e| e.to_string())
}

fn device_kind(s: &str) -> Result<(), String> {
    serde_json::from_value::<DeviceKind>(Value::String(s.to_owned()))
        .map(drop)
        .map_err(|_| {
            format!(
                "unknown device kind `{s}`; expected one of: unknown, laptop, workstation, server, camera, reader, iot, network"
            )
        })
}

/// Shape and values of one rule; `check` validates each value it can produce.
fn check_rule(what: &str, rule: &Rule, check: Option<Check>, problems: &mut Vec<String>) {
    match (&rule.from, &rule.value) {
        (Some(_), Some(_)) => {
            problems.push(format!("{what}: give either `from` or `value`, not both"))
        }
        (None, None) => problems.push(format!(
            "{what}: needs `from` (a path) or `value` (a constant)"
        )),
        (Some(path), None) if path.trim().is_empty() => {
            problems.push(format!("{what}: `from` is an empty path"));
        }
        (None, Some(_)) if !rule.map.is_empty() || rule.default.is_some() => {
            problems.push(format!("{what}: `map` and `default` need `from`"));
        }
        _ => {}
    }
    let Some(check) = check else {
        return;
    };
    let produced = rule
        .value
        .iter()
        .map(|v| ("value", v))
        .chain(rule.map.values().map(|v| ("map", v)))
        .chain(rule.default.iter().map(|v| ("default", v)));
    for (part, v) in produced {
        if let Err(e) = check(v) {
            problems.push(format!("{what} ({part}): {e}"));
        }
    }
}

/// Decodes one message with `mapping`: one event per record (module docs).
pub fn decode(
    mapping: &Mapping,
    text: &str,
    ctx: &DecodeContext,
) -> Result<Vec<Event>, DecodeError> {
    let body = text.trim_start_matches('\u{feff}').trim();
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    match mapping.input {
        Input::Cef => {
            let record = cef::parse(body)?;
            let (input, labels) = cef_input(&record);
            let mut event = apply(mapping, input, &labels, ctx);
            if event.source.vendor.is_none() {
                event.source.vendor = nonempty(&record.device_vendor);
            }
            if event.source.product.is_none() {
                event.source.product = nonempty(&record.device_product);
            }
            finish(&mut event, ctx, Some(text));
            Ok(vec![event])
        }
        Input::Json => {
            let root: Value = serde_json::from_str(body).map_err(|e| DecodeError::json(&e))?;
            let records = match (&mapping.records, root) {
                (Some(path), Value::Object(map)) => match lookup(&map, path) {
                    Some(Value::Array(items)) => items.clone(),
                    Some(_) => {
                        return Err(DecodeError::Invalid(format!(
                            "`{path}` is not an array of records"
                        )));
                    }
                    None => {
                        return Err(DecodeError::Invalid(format!(
                            "no `{path}` array of records in the message"
                        )));
                    }
                },
                (_, Value::Array(items)) => items,
                (_, object @ Value::Object(_)) => vec![object],
                (_, other) => {
                    return Err(DecodeError::Invalid(format!(
                        "expected a JSON object or array of objects, found `{}`",
                        quote(&other.to_string())
                    )));
                }
            };
            let single = records.len() == 1;
            let mut events = Vec::with_capacity(records.len());
            for (index, record) in records.into_iter().enumerate() {
                let Value::Object(map) = record else {
                    return Err(DecodeError::Invalid(format!(
                        "record {index} is not a JSON object"
                    )));
                };
                let raw = (!single).then(|| Value::Object(map.clone()).to_string());
                let mut event = apply(mapping, map, &BTreeMap::new(), ctx);
                finish(&mut event, ctx, Some(raw.as_deref().unwrap_or(text)));
                events.push(event);
            }
            Ok(events)
        }
    }
}

fn nonempty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// A CEF record as a flat object: header as `cef.*`, extension keys, labelled fields under
/// their labels. Also returns label → underlying key, so consuming a label consumes its field.
fn cef_input(record: &CefRecord) -> (Map<String, Value>, BTreeMap<String, String>) {
    let mut map = Map::new();
    for (key, value) in [
        ("cef.version", &record.version),
        ("cef.device_vendor", &record.device_vendor),
        ("cef.device_product", &record.device_product),
        ("cef.device_version", &record.device_version),
        ("cef.signature_id", &record.signature_id),
        ("cef.name", &record.name),
        ("cef.severity", &record.severity),
    ] {
        map.insert(key.to_owned(), Value::String(value.clone()));
    }
    for (key, value) in &record.extensions {
        map.entry(key.clone())
            .or_insert_with(|| Value::String(value.clone()));
    }
    let mut labels = BTreeMap::new();
    for (key, _) in &record.extensions {
        if key.ends_with("Label") {
            continue;
        }
        let Some(label) = record.get(&format!("{key}Label")).map(str::trim) else {
            continue;
        };
        if label.is_empty() || map.contains_key(label) {
            continue;
        }
        if let Some(value) = record.get(key) {
            map.insert(label.to_owned(), Value::String(value.to_owned()));
            labels.insert(label.to_owned(), key.clone());
        }
    }
    (map, labels)
}

/// The value at a dotted `path`: a flat key first, then nested objects and array indexes.
fn lookup<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = map.get(path) {
        return Some(v);
    }
    let mut split = path.match_indices('.').map(|(i, _)| i);
    split.find_map(|at| {
        let inner = map.get(&path[..at])?;
        lookup_value(inner, &path[at + 1..])
    })
}

fn lookup_value<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => lookup(map, path),
        Value::Array(items) => {
            let (head, rest) = match path.split_once('.') {
                Some((h, r)) => (h, Some(r)),
                None => (path, None),
            };
            let item = items.get(head.parse::<usize>().ok()?)?;
            match rest {
                Some(rest) => lookup_value(item, rest),
                None => Some(item),
            }
        }
        _ => None,
    }
}

/// Removes `path` (as [`lookup`] found it) and any object it leaves empty.
fn remove(map: &mut Map<String, Value>, path: &str) -> bool {
    if map.remove(path).is_some() {
        return true;
    }
    let splits: Vec<usize> = path.match_indices('.').map(|(i, _)| i).collect();
    for at in splits {
        let (head, rest) = (&path[..at], &path[at + 1..]);
        if let Some(Value::Object(inner)) = map.get_mut(head)
            && remove(inner, rest)
        {
            if inner.is_empty() {
                map.remove(head);
            }
            return true;
        }
    }
    false
}

/// A scalar as text; objects, arrays and null are not usable values.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a rule produced, and the input path to consume if the value is accepted.
struct Produced {
    value: String,
    consumes: Option<String>,
}

fn evaluate(rule: &Rule, input: &Map<String, Value>) -> Option<Produced> {
    if let Some(constant) = &rule.value {
        return Some(Produced {
            value: constant.clone(),
            consumes: None,
        });
    }
    let path = rule.from.as_deref()?;
    let found = lookup(input, path).and_then(scalar);
    let fallback = || {
        rule.default.clone().map(|value| Produced {
            value,
            consumes: None,
        })
    };
    let Some(found) = found else {
        return fallback();
    };
    if rule.map.is_empty() {
        return Some(Produced {
            value: found,
            consumes: Some(path.to_owned()),
        });
    }
    let mapped = rule.map.get(&found).or_else(|| {
        rule.map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&found))
            .map(|(_, v)| v)
    });
    match mapped {
        Some(v) => Some(Produced {
            value: v.clone(),
            consumes: Some(path.to_owned()),
        }),
        None => fallback(),
    }
}

/// Applies the mapping to one record.
fn apply(
    mapping: &Mapping,
    mut input: Map<String, Value>,
    cef_labels: &BTreeMap<String, String>,
    ctx: &DecodeContext,
) -> Event {
    let mut consumed: Vec<String> = Vec::new();
    let (time, time_path) = event_time(mapping, &input, ctx);
    let mut event = Event::new(
        &ctx.source,
        Class::Other,
        Activity::Unknown,
        time.unwrap_or(ctx.received),
    );
    if time.is_none() {
        time_from_receipt(&mut event);
    }
    if let Some(path) = time_path {
        consumed.push(path);
    }

    fn vocab<T: std::str::FromStr>(
        choice: Option<&Choice>,
        input: &Map<String, Value>,
    ) -> Option<(T, Option<String>)> {
        let p = evaluate(&choice?.0, input)?;
        let v = p.value.trim().parse::<T>().ok()?;
        Some((v, p.consumes))
    }
    if let Some((class, path)) = vocab::<Class>(mapping.class.as_ref(), &input) {
        event.class = class;
        consumed.extend(path);
    }
    if let Some((activity, path)) = vocab::<Activity>(mapping.activity.as_ref(), &input) {
        event.activity = activity;
        consumed.extend(path);
    }
    if let Some((outcome, path)) = vocab::<Outcome>(mapping.outcome.as_ref(), &input) {
        event.outcome = outcome;
        consumed.extend(path);
    }
    if let Some((severity, path)) = vocab::<Severity>(mapping.severity.as_ref(), &input) {
        event.severity = severity;
        consumed.extend(path);
    }

    for (target, Source(rule)) in &mapping.fields {
        let Some(produced) = evaluate(rule, &input) else {
            continue;
        };
        if set_field(&mut event, target, &produced.value) {
            consumed.extend(produced.consumes);
        }
    }

    for path in &consumed {
        remove(&mut input, path);
        if let Some(key) = cef_labels.get(path) {
            input.remove(key);
            input.remove(&format!("{key}Label"));
        }
    }
    // `attrs.*` targets already wrote into attrs; the rest of the input goes alongside.
    for (k, v) in input {
        event.attrs.entry(k).or_insert(v);
    }
    event
}

/// The event time and the input path it came from.
fn event_time(
    mapping: &Mapping,
    input: &Map<String, Value>,
    ctx: &DecodeContext,
) -> (Option<Timestamp>, Option<String>) {
    if let Some(rule) = &mapping.time {
        let t = lookup(input, &rule.from).and_then(|v| parse_time(v, &rule.format, ctx));
        return (t, t.map(|_| rule.from.clone()));
    }
    let (keys, format): (&[&str], &str) = match mapping.input {
        Input::Json => (JSON_TIME_KEYS, "auto"),
        Input::Cef => (&["rt", "end", "start"], "cef"),
    };
    for key in keys {
        if let Some(t) = input.get(*key).and_then(|v| parse_time(v, format, ctx)) {
            return (Some(t), Some((*key).to_owned()));
        }
    }
    (None, None)
}

fn parse_time(v: &Value, format: &str, ctx: &DecodeContext) -> Option<Timestamp> {
    let int = || match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let epoch = |per_second: i64| {
        let n = int()?;
        let nanos = n.rem_euclid(per_second) * (1_000_000_000 / per_second);
        DateTime::from_timestamp(n.div_euclid(per_second), u32::try_from(nanos).ok()?)
    };
    match format {
        "auto" => from_json(v),
        "rfc3339" => DateTime::parse_from_rfc3339(v.as_str()?.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        "epoch_s" => epoch(1),
        "epoch_ms" => epoch(1_000),
        "epoch_us" => epoch(1_000_000),
        "epoch_ns" => int().and_then(|n| {
            DateTime::from_timestamp(
                n.div_euclid(1_000_000_000),
                u32::try_from(n.rem_euclid(1_000_000_000)).ok()?,
            )
        }),
        "cef" => match v {
            Value::String(s) => cef::cef_time(s, ctx),
            other => int().and_then(from_epoch_int).or_else(|| from_json(other)),
        },
        pattern => {
            let s = scalar(v)?;
            DateTime::parse_from_str(&s, pattern)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    NaiveDateTime::parse_from_str(&s, pattern)
                        .ok()
                        .map(|t| t.and_utc())
                })
        }
    }
}

/// Writes `value` into `target`; false if the value does not fit (it then stays in attrs).
fn set_field(event: &mut Event, target: &str, value: &str) -> bool {
    let text = || Some(value.to_owned());
    let ip = || value.trim().parse::<IpAddr>().ok();
    let port = || value.trim().parse::<u16>().ok();
    macro_rules! put {
        ($slot:expr, $v:expr) => {{
            match $v {
                Some(v) => {
                    $slot = Some(v);
                    true
                }
                None => false,
            }
        }};
    }
    match target {
        "message" => {
            event.message = value.to_owned();
            true
        }
        "actor.user" => put!(event.actor.user, text()),
        "actor.domain" => put!(event.actor.domain, text()),
        "actor.uid" => put!(event.actor.uid, text()),
        "actor.email" => put!(event.actor.email, text()),
        "actor.badge" => put!(event.actor.badge, text()),
        "actor.face" => put!(event.actor.face, text()),
        "place.site" => put!(event.place_mut().site, text()),
        "place.building" => put!(event.place_mut().building, text()),
        "place.floor" => put!(event.place_mut().floor, text()),
        "place.zone" => put!(event.place_mut().zone, text()),
        "place.door" => put!(event.place_mut().door, text()),
        "place.reader" => put!(event.place_mut().reader, text()),
        "place.camera" => put!(event.place_mut().camera, text()),
        "src.ip" => ip().is_some() && put!(event.src_mut().ip, ip()),
        "src.port" => port().is_some() && put!(event.src_mut().port, port()),
        "src.hostname" => put!(event.src_mut().hostname, text()),
        "dst.ip" => ip().is_some() && put!(event.dst_mut().ip, ip()),
        "dst.port" => port().is_some() && put!(event.dst_mut().port, port()),
        "dst.hostname" => put!(event.dst_mut().hostname, text()),
        "device.hostname" => put!(event.device_mut().hostname, text()),
        "device.ip" => ip().is_some() && put!(event.device_mut().ip, ip()),
        "device.mac" => put!(event.device_mut().mac, text()),
        "device.os" => put!(event.device_mut().os, text()),
        "device.kind" => {
            match serde_json::from_value::<DeviceKind>(Value::String(value.trim().to_owned())) {
                Ok(kind) => {
                    event.device_mut().kind = kind;
                    true
                }
                Err(_) => false,
            }
        }
        "physical.reason" => put!(event.physical_mut().reason, text()),
        "physical.direction" => put!(event.physical_mut().direction, text()),
        "source.vendor" => put!(event.source.vendor, text()),
        "source.product" => put!(event.source.product, text()),
        t => {
            if let Some(name) = t.strip_prefix("labels.") {
                event.labels.insert(name.to_owned(), value.to_owned());
                true
            } else if let Some(name) = t.strip_prefix("attrs.") {
                event
                    .attrs
                    .insert(name.to_owned(), Value::String(value.to_owned()));
                true
            } else {
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_and_remove_paths() {
        let v = json!({"a.b": 1, "c": {"d": {"e": 2}, "f": 3}, "items": [{"id": "x"}]});
        let map = v.as_object().unwrap().clone();
        assert_eq!(lookup(&map, "a.b"), Some(&json!(1)));
        assert_eq!(lookup(&map, "c.d.e"), Some(&json!(2)));
        assert_eq!(lookup(&map, "items.0.id"), Some(&json!("x")));
        assert_eq!(lookup(&map, "items.5.id"), None);
        assert_eq!(lookup(&map, "c.x"), None);
        let mut m = map.clone();
        assert!(remove(&mut m, "c.d.e"));
        assert_eq!(
            Value::Object(m.clone()),
            json!({"a.b": 1, "c": {"f": 3}, "items": [{"id": "x"}]})
        );
        assert!(remove(&mut m, "c.f"));
        assert!(!m.contains_key("c"));
        assert!(!remove(&mut m, "nope"));
    }
}
