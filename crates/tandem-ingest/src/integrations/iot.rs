//! Generic IoT telemetry over MQTT: sensor readings and device availability from any firmware,
//! through a configurable topic → device mapping.
//!
//! MQTT devices agree on no schema: Tasmota publishes `tele/<topic>/SENSOR` JSON and a
//! `tele/<topic>/LWT` last will, Zigbee2MQTT one JSON object per device on
//! `zigbee2mqtt/<friendly_name>`, Shelly one topic per value. So instead of guessing, an
//! [`IotMapping`] lists [`TopicRule`]s: which topics (MQTT filters with `+`/`#`), which device
//! they are about (a template over topic levels), where it is, and how to read the payload.
//! The first rule whose filter matches a message's topic decodes it.
//!
//! Samples (from the vendors' documentation; topic, then payload):
//!
//! ```text
//! tele/tasmota/SENSOR       {"Time":"2017-02-12T16:11:12","DHT22":{"Temperature":23.9,"Humidity":34.1}}
//! tele/tasmota/LWT          Offline
//! zigbee2mqtt/hall_sensor   {"temperature":27.34,"humidity":44.72}
//! zigbee2mqtt/hall_sensor/availability   {"state":"online"}
//! shellies/shellyht-6FA2D3/sensor/temperature   21.5
//! ```
//!
//! A rule in TOML (the mapping is `serde`-deserialised; field reference on [`TopicRule`]):
//!
//! ```toml
//! [[rules]]
//! topic = "tele/+/SENSOR"          # MQTT filter
//! device = "{2}"                   # topic level 2 (1-based): the Tasmota topic
//! site = "hq"
//! zone = "server-room"
//! metrics = { temperature = "/DHT22/Temperature", humidity = "/DHT22/Humidity" }
//!
//! [[rules]]
//! topic = "tele/+/LWT"
//! device = "{2}"
//! mode = "status"                  # Online/Offline → device_status
//! ```
//!
//! Mapping:
//!
//! | mode | payload | event |
//! |---|---|---|
//! | `telemetry` (default) | read per [`Read`] or `metrics` (JSON pointers) | one `device_telemetry` / `reading` per metric; `attrs.metric`, `attrs.value` (number, boolean or text as sent), `attrs.topic` |
//! | `status` | `online`/`offline`, `Online`, `true`, `ON`, `{"state":"online"}`, `{"state":"ON"}`, … | `device_status` / `online` or `offline`; `attrs.state` (the word as sent), `attrs.topic` |
//!
//! Every event gets `device.hostname` from the `device` template (default: the topic level a
//! `+` matched, else the whole topic), `device.kind` from `kind` (default `iot`) and `place.*`
//! from `site`, `building`, `floor`, `zone`, `door` (templates too). Payloads carry no reliable
//! clock, so events are timed by receipt (`time_source=received`) unless `time` names a JSON
//! pointer to a timestamp (RFC 3339 or epoch; an offset-less time such as Tasmota's local
//! `Time` is read as UTC).
//!
//! An empty payload (a retained message being cleared) gives no event. A topic no rule matches,
//! a status word that is neither online nor offline, or a payload that does not fit its rule is
//! a [`DecodeError::Invalid`] that names the topic. A JSON payload read whole (`read = "json"`)
//! gives at most [`MAX_METRICS`] metrics, nested at most [`MAX_DEPTH`] deep, so one message
//! cannot explode into thousands of events.
//!
//! Sources: Tasmota docs ("MQTT", "Home Assistant" DHT22 example), Zigbee2MQTT docs ("MQTT
//! Topics and Messages", "Device-Availability"), Shelly API docs (Gen1 `shellies/<id>/…`, Gen2
//! `<id>/status/<component>` and `<id>/online`), MQTT 3.1.1 §4.7 for topic filters.

use crate::decode::{DecodeContext, DecodeError, finish, quote, time, time_from_receipt};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use tandem_model::{Activity, Class, DeviceKind, Event};

/// Most metrics one JSON payload read whole can give.
pub const MAX_METRICS: usize = 64;
/// Deepest nesting followed when a JSON payload is read whole.
pub const MAX_DEPTH: usize = 8;

/// Words that mean a device is up, compared without case. `ON` is here because Zigbee2MQTT
/// and many firmwares report a device's own state as `{"state":"ON"}`.
const ONLINE_WORDS: &[&str] = &[
    "online",
    "on",
    "true",
    "1",
    "up",
    "connected",
    "available",
    "ready",
    "alive",
];
/// Words that mean a device is down.
const OFFLINE_WORDS: &[&str] = &[
    "offline",
    "off",
    "false",
    "0",
    "down",
    "disconnected",
    "unavailable",
    "lost",
    "dead",
    "stopped",
];
/// Keys a JSON status payload usually carries its state under, tried in order.
const STATE_KEYS: &[&str] = &["state", "status", "availability", "online", "available"];

/// The topic → device mapping of one IoT source.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IotMapping {
    /// Tried in order; the first whose filter matches a topic decodes it.
    #[serde(default)]
    pub rules: Vec<TopicRule>,
}

/// How one set of topics is read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicRule {
    /// MQTT topic filter (`tele/+/SENSOR`, `zigbee2mqtt/#`), also what is subscribed to.
    pub topic: String,
    /// Device name template: `{1}` … `{n}` are topic levels (1-based), `{topic}` the whole
    /// topic. Default: the level the first `+` matched, else the topic.
    #[serde(default)]
    pub device: Option<String>,
    /// What the devices are; default `iot`.
    #[serde(default = "default_kind")]
    pub kind: DeviceKind,
    /// `place.site` template.
    #[serde(default)]
    pub site: Option<String>,
    /// `place.building` template.
    #[serde(default)]
    pub building: Option<String>,
    /// `place.floor` template.
    #[serde(default)]
    pub floor: Option<String>,
    /// `place.zone` template.
    #[serde(default)]
    pub zone: Option<String>,
    /// `place.door` template (a door contact sensor).
    #[serde(default)]
    pub door: Option<String>,
    /// Readings or availability.
    #[serde(default)]
    pub mode: Mode,
    /// How to read a payload when `metrics` is empty.
    #[serde(default)]
    pub read: Read,
    /// Metric name template for a payload that is one value; default the last topic level.
    #[serde(default)]
    pub metric: Option<String>,
    /// Metric name → JSON pointer (`/DHT22/Temperature`) into a JSON payload. Pointers absent
    /// from a message are skipped (devices often report a subset).
    #[serde(default)]
    pub metrics: BTreeMap<String, String>,
    /// JSON pointers left out when a payload is read whole (`/TempUnit`, `/linkquality`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// JSON pointer to the reading's timestamp (`/Time`); default: receipt time.
    #[serde(default)]
    pub time: Option<String>,
    /// Status mode: JSON pointer to the state (`/state`); default: the payload itself, or its
    /// `state`/`status`/`availability`/`online`/`available` key.
    #[serde(default)]
    pub state: Option<String>,
    /// Status mode: extra words meaning online (compared without case).
    #[serde(default)]
    pub online: Vec<String>,
    /// Status mode: extra words meaning offline.
    #[serde(default)]
    pub offline: Vec<String>,
}

fn default_kind() -> DeviceKind {
    DeviceKind::Iot
}

/// What a rule's messages are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Sensor readings → `device_telemetry` / `reading`.
    #[default]
    Telemetry,
    /// Availability (`online`/`offline`, a last will) → `device_status`.
    Status,
}

/// How a telemetry payload becomes metrics when no `metrics` pointers are given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Read {
    /// JSON objects and arrays as `json`, any other payload as one value (a number when it
    /// parses as one, else text).
    #[default]
    Auto,
    /// The whole payload is one number; anything else is an error.
    Number,
    /// The whole payload is one text value.
    Text,
    /// Every scalar in a JSON payload is a metric named by its dotted path (`DHT22.Temperature`).
    Json,
}

impl IotMapping {
    /// Checks the mapping once at configuration time, so decoding can assume it is sound.
    /// The message names the rule (1-based) and what is wrong with it.
    pub fn validate(&self) -> Result<(), String> {
        if self.rules.is_empty() {
            return Err("IoT mapping has no rules".to_owned());
        }
        for (i, rule) in self.rules.iter().enumerate() {
            rule.validate()
                .map_err(|e| format!("rule {} (`{}`): {e}", i + 1, rule.topic))?;
        }
        Ok(())
    }

    /// The topic filters to subscribe to, each once, in rule order.
    pub fn subscriptions(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for rule in &self.rules {
            if !out.contains(&rule.topic) {
                out.push(rule.topic.clone());
            }
        }
        out
    }
}

impl TopicRule {
    fn validate(&self) -> Result<(), String> {
        validate_filter(&self.topic)?;
        let levels: Vec<&str> = self.topic.split('/').collect();
        let max_level = if levels.last() == Some(&"#") {
            usize::MAX
        } else {
            levels.len()
        };
        let templates = [
            ("device", &self.device),
            ("site", &self.site),
            ("building", &self.building),
            ("floor", &self.floor),
            ("zone", &self.zone),
            ("door", &self.door),
            ("metric", &self.metric),
        ];
        for (name, template) in templates {
            if let Some(t) = template {
                check_template(t, max_level).map_err(|e| format!("`{name}` template: {e}"))?;
            }
        }
        let pointers = self
            .metrics
            .values()
            .chain(&self.exclude)
            .chain(&self.time)
            .chain(&self.state);
        for p in pointers {
            if !p.is_empty() && !p.starts_with('/') {
                return Err(format!(
                    "JSON pointer `{p}` must be empty or start with `/`"
                ));
            }
        }
        if self.metrics.keys().any(|k| k.trim().is_empty()) {
            return Err("a metric name is empty".to_owned());
        }
        match self.mode {
            Mode::Status => {
                if !self.metrics.is_empty() || self.read != Read::Auto || self.metric.is_some() {
                    return Err(
                        "`metrics`, `metric` and `read` do not apply to mode = \"status\""
                            .to_owned(),
                    );
                }
                let clash = self
                    .online
                    .iter()
                    .map(|w| w.to_lowercase())
                    .find(|w| self.offline.iter().any(|o| o.eq_ignore_ascii_case(w)));
                if let Some(word) = clash {
                    return Err(format!("`{word}` is listed as both online and offline"));
                }
            }
            Mode::Telemetry => {
                if self.state.is_some() || !self.online.is_empty() || !self.offline.is_empty() {
                    return Err(
                        "`state`, `online` and `offline` only apply to mode = \"status\""
                            .to_owned(),
                    );
                }
                if !self.metrics.is_empty() && matches!(self.read, Read::Number | Read::Text) {
                    return Err("`metrics` reads JSON; it cannot be combined with read = \"number\" or \"text\"".to_owned());
                }
            }
        }
        Ok(())
    }
}

/// Checks a topic filter against MQTT 3.1.1 §4.7.1.
fn validate_filter(filter: &str) -> Result<(), String> {
    if filter.is_empty() {
        return Err("topic filter is empty".to_owned());
    }
    if filter.contains('\0') {
        return Err("topic filter contains a NUL character".to_owned());
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err("`#` must be a whole level and the last one".to_owned());
        }
        if level.contains('+') && *level != "+" {
            return Err("`+` must be a whole level".to_owned());
        }
    }
    Ok(())
}

/// Whether topic name `topic` matches topic filter `filter` (MQTT 3.1.1 §4.7).
///
/// `+` matches exactly one level (possibly empty), `#` as the last level matches any number of
/// levels including none (`a/#` matches `a`). Topics starting with `$` (broker statistics)
/// are not matched by a filter starting with a wildcard. An invalid filter, or a topic that
/// contains wildcards, matches nothing.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.is_empty() || topic.contains(['+', '#']) || validate_filter(filter).is_err() {
        return false;
    }
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Checks a `{n}` / `{topic}` template; `max_level` is the deepest level a topic can have.
fn check_template(template: &str, max_level: usize) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in `{template}`"))?;
        let name = &after[..close];
        if name != "topic" {
            let n: usize = name
                .parse()
                .map_err(|_| format!("`{{{name}}}` is not `{{topic}}` or a level number"))?;
            if n == 0 || n > max_level {
                return Err(format!(
                    "`{{{n}}}` is not a level of the filter (levels count from 1)"
                ));
            }
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Fills a template from the topic's levels. Levels past the topic's end are empty.
fn expand(template: &str, topic: &str, levels: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after[..close];
        if name == "topic" {
            out.push_str(topic);
        } else if let Some(level) = name
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| levels.get(i))
        {
            out.push_str(level);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Decodes one MQTT message by the first rule of `mapping` that matches `topic`.
pub fn decode(
    mapping: &IotMapping,
    topic: &str,
    payload: &[u8],
    ctx: &DecodeContext,
) -> Result<Vec<Event>, DecodeError> {
    let rule = mapping
        .rules
        .iter()
        .find(|r| topic_matches(&r.topic, topic))
        .ok_or_else(|| {
            DecodeError::Invalid(format!(
                "no IoT mapping rule matches topic `{}`",
                quote(topic)
            ))
        })?;
    let text = std::str::from_utf8(payload).map_err(|e| DecodeError::InvalidUtf8 {
        at: e.valid_up_to(),
    })?;
    let body = text.trim().trim_start_matches('\u{feff}');
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let levels: Vec<&str> = topic.split('/').collect();
    let device = match &rule.device {
        Some(t) => expand(t, topic, &levels),
        None => first_plus_level(&rule.topic, &levels)
            .unwrap_or(topic)
            .to_owned(),
    };
    let json = serde_json::from_str::<Value>(body).ok();
    let base = Base {
        rule,
        topic,
        levels: &levels,
        device,
        raw: text,
    };
    match rule.mode {
        Mode::Status => status(&base, body, json.as_ref(), ctx).map(|e| vec![e]),
        Mode::Telemetry => telemetry(&base, body, json, ctx),
    }
}

/// The level of `topic` that the first `+` of `filter` matched.
fn first_plus_level<'a>(filter: &str, levels: &[&'a str]) -> Option<&'a str> {
    let i = filter.split('/').position(|l| l == "+")?;
    levels.get(i).copied().filter(|l| !l.is_empty())
}

/// What every event of one message shares.
struct Base<'a> {
    rule: &'a TopicRule,
    topic: &'a str,
    levels: &'a [&'a str],
    device: String,
    raw: &'a str,
}

impl Base<'_> {
    fn event(
        &self,
        class: Class,
        activity: Activity,
        json: Option<&Value>,
        ctx: &DecodeContext,
    ) -> Event {
        let time = self
            .rule
            .time
            .as_deref()
            .and_then(|p| json?.pointer(p))
            .and_then(time::from_json);
        let mut e = Event::new(&ctx.source, class, activity, time.unwrap_or(ctx.received));
        if time.is_none() {
            time_from_receipt(&mut e);
        }
        let device = e.device_mut();
        if !self.device.is_empty() {
            device.hostname = Some(self.device.clone());
        }
        device.kind = self.rule.kind;
        let fill = |t: &Option<String>| {
            t.as_deref()
                .map(|t| expand(t, self.topic, self.levels))
                .filter(|v| !v.is_empty())
        };
        let place = tandem_model::Place {
            site: fill(&self.rule.site),
            building: fill(&self.rule.building),
            floor: fill(&self.rule.floor),
            zone: fill(&self.rule.zone),
            door: fill(&self.rule.door),
            ..Default::default()
        };
        if !place.is_empty() {
            e.place = Some(place);
        }
        e.attrs
            .insert("topic".to_owned(), Value::String(self.topic.to_owned()));
        e
    }

    fn name(&self) -> &str {
        if self.device.is_empty() {
            self.topic
        } else {
            &self.device
        }
    }
}

fn status(
    base: &Base,
    body: &str,
    json: Option<&Value>,
    ctx: &DecodeContext,
) -> Result<Event, DecodeError> {
    let rule = base.rule;
    let value = match (&rule.state, json) {
        (Some(p), Some(j)) => j.pointer(p).cloned().ok_or_else(|| {
            DecodeError::Invalid(format!(
                "status payload on `{}` has no `{p}`",
                quote(base.topic)
            ))
        })?,
        (Some(_), None) => {
            return Err(DecodeError::Invalid(format!(
                "status payload on `{}` is not JSON but the rule reads `state` from it",
                quote(base.topic)
            )));
        }
        (None, Some(Value::Object(map))) => STATE_KEYS
            .iter()
            .find_map(|k| map.get(*k))
            .cloned()
            .ok_or_else(|| {
                DecodeError::Invalid(format!(
                    "status payload on `{}` has none of the keys {}",
                    quote(base.topic),
                    STATE_KEYS.join(", ")
                ))
            })?,
        (None, Some(v @ (Value::Bool(_) | Value::Number(_) | Value::String(_)))) => v.clone(),
        _ => Value::String(body.to_owned()),
    };
    let word = match &value {
        Value::String(s) => s.trim().to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    let is = |defaults: &[&str], extra: &[String]| {
        defaults.iter().any(|w| w.eq_ignore_ascii_case(&word))
            || extra.iter().any(|w| w.trim().eq_ignore_ascii_case(&word))
    };
    // A configured word wins over a default one of the other list.
    let activity = if is(&[], &rule.online) {
        Activity::Online
    } else if is(&[], &rule.offline) {
        Activity::Offline
    } else if is(ONLINE_WORDS, &[]) {
        Activity::Online
    } else if is(OFFLINE_WORDS, &[]) {
        Activity::Offline
    } else {
        return Err(DecodeError::Invalid(format!(
            "status `{}` on `{}` is neither online nor offline (add it to the rule's `online` or `offline` words)",
            quote(&word),
            quote(base.topic)
        )));
    };
    let mut e = base.event(Class::DeviceStatus, activity, json, ctx);
    e.message = format!("{} {}", base.name(), activity);
    e.attrs.insert("state".to_owned(), Value::String(word));
    finish(&mut e, ctx, Some(base.raw));
    Ok(e)
}

fn telemetry(
    base: &Base,
    body: &str,
    json: Option<Value>,
    ctx: &DecodeContext,
) -> Result<Vec<Event>, DecodeError> {
    let rule = base.rule;
    let single_name = || {
        rule.metric
            .as_deref()
            .map(|t| expand(t, base.topic, base.levels))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| base.levels.last().copied().unwrap_or(base.topic).to_owned())
    };
    let not_json = || {
        DecodeError::Invalid(format!(
            "payload on `{}` is not JSON: {}",
            quote(base.topic),
            quote(body)
        ))
    };
    let mut metrics: Vec<(String, Value)> = Vec::new();
    if !rule.metrics.is_empty() {
        let json = json.as_ref().ok_or_else(not_json)?;
        for (name, pointer) in &rule.metrics {
            if let Some(v) = json.pointer(pointer).filter(|v| !v.is_null()) {
                metrics.push((name.clone(), v.clone()));
            }
        }
        if metrics.is_empty() {
            return Err(DecodeError::Invalid(format!(
                "payload on `{}` has none of the rule's metrics ({})",
                quote(base.topic),
                rule.metrics
                    .values()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    } else {
        match (rule.read, &json) {
            (Read::Number, _) => {
                let n = body
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .ok_or_else(|| {
                        DecodeError::Invalid(format!(
                            "payload on `{}` is not a number: {}",
                            quote(base.topic),
                            quote(body)
                        ))
                    })?;
                metrics.push((single_name(), Value::Number(n)));
            }
            (Read::Text, _) => metrics.push((single_name(), Value::String(body.to_owned()))),
            (Read::Json | Read::Auto, Some(v @ (Value::Object(_) | Value::Array(_)))) => {
                let mut skip: Vec<&str> = rule.exclude.iter().map(String::as_str).collect();
                skip.extend(rule.time.as_deref());
                flatten(v, "", "", &skip, 0, &mut metrics);
                if metrics.is_empty() {
                    return Err(DecodeError::Invalid(format!(
                        "JSON payload on `{}` has no values",
                        quote(base.topic)
                    )));
                }
            }
            (Read::Json | Read::Auto, Some(v)) if !v.is_null() => {
                metrics.push((single_name(), v.clone()));
            }
            (Read::Json, _) => return Err(not_json()),
            (Read::Auto, _) => metrics.push((single_name(), Value::String(body.to_owned()))),
        }
    }
    let events = metrics
        .into_iter()
        .map(|(metric, value)| {
            let mut e = base.event(
                Class::DeviceTelemetry,
                Activity::Reading,
                json.as_ref(),
                ctx,
            );
            let shown = match &value {
                Value::String(s) => quote(s),
                other => other.to_string(),
            };
            e.message = format!("{} {metric} = {shown}", base.name());
            e.attrs.insert("metric".to_owned(), Value::String(metric));
            e.attrs.insert("value".to_owned(), value);
            finish(&mut e, ctx, Some(base.raw));
            e
        })
        .collect();
    Ok(events)
}

/// Collects scalar leaves of `v` as (dotted name, value), skipping `skip` pointers, up to
/// [`MAX_METRICS`] and [`MAX_DEPTH`].
fn flatten(
    v: &Value,
    name: &str,
    pointer: &str,
    skip: &[&str],
    depth: usize,
    out: &mut Vec<(String, Value)>,
) {
    if out.len() >= MAX_METRICS || skip.contains(&pointer) {
        return;
    }
    let child = |key: &str| {
        let name = if name.is_empty() {
            key.to_owned()
        } else {
            format!("{name}.{key}")
        };
        let escaped = key.replace('~', "~0").replace('/', "~1");
        (name, format!("{pointer}/{escaped}"))
    };
    match v {
        Value::Object(map) if depth < MAX_DEPTH => {
            for (k, v) in map {
                let (n, p) = child(k);
                flatten(v, &n, &p, skip, depth + 1, out);
            }
        }
        Value::Array(items) if depth < MAX_DEPTH => {
            for (i, v) in items.iter().enumerate() {
                let (n, p) = child(&i.to_string());
                flatten(v, &n, &p, skip, depth + 1, out);
            }
        }
        Value::Null | Value::Object(_) | Value::Array(_) => {}
        scalar if !name.is_empty() => out.push((name.to_owned(), scalar.clone())),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_levels_and_topic() {
        let levels = ["tele", "kitchen", "SENSOR"];
        assert_eq!(expand("{2}", "tele/kitchen/SENSOR", &levels), "kitchen");
        assert_eq!(expand("x-{1}-{9}", "t", &levels), "x-tele-");
        assert_eq!(expand("{topic}", "a/b", &levels), "a/b");
        assert_eq!(expand("{2", "t", &levels), "{2");
        assert!(check_template("{0}", 3).is_err());
        assert!(check_template("{4}", 3).is_err());
        assert!(check_template("{x}", 3).is_err());
        assert!(check_template("{3}-{topic}", 3).is_ok());
    }

    #[test]
    fn flatten_names_by_path_and_respects_bounds() {
        let v = serde_json::json!({"Time":"t","DHT22":{"Temperature":23.9},"a":[1,null,true]});
        let mut out = Vec::new();
        flatten(&v, "", "", &["/Time"], 0, &mut out);
        let names: Vec<_> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["DHT22.Temperature", "a.0", "a.2"]);
        let wide = Value::Array((0..500).map(Value::from).collect());
        let mut out = Vec::new();
        flatten(&wide, "", "", &[], 0, &mut out);
        assert_eq!(out.len(), MAX_METRICS);
    }
}
