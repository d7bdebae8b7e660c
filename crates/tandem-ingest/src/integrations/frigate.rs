//! Frigate NVR over MQTT: camera object detections, review items and camera health.
//!
//! [Frigate](https://frigate.video) runs object detection on camera streams and publishes what
//! it tracks to an MQTT broker under a topic prefix (`frigate` by default, `mqtt.topic_prefix`
//! in its config). Tandem subscribes to `<prefix>/#` and hands each message to one
//! [`FrigateDecoder`], which turns the messages an analyst needs into events and drops the
//! rest. Topics and payloads are from Frigate's documentation ("Integrations → MQTT") and its
//! `frigate/comms/mqtt.py`:
//!
//! | topic | payload | event |
//! |---|---|---|
//! | `<prefix>/events` | `{"type":"new"\|"update"\|"end","before":{…},"after":{…}}` per tracked object | `video_detection` `detect` / `update` / `end` (below) |
//! | `<prefix>/tracked_object_update` | `{"type":"face","id":…,"name":"John","score":0.95,"camera":…,"timestamp":…}`; also `lpr` (`plate`, `name`), `classification` (`sub_label`), `description` | `video_detection` `update` when a new name is recognised |
//! | `<prefix>/reviews` | same envelope; `after`: `id`, `camera`, `start_time`, `end_time`, `severity` (`alert`/`detection`), `data{objects, sub_labels, zones, detections}` | `video_detection` `detect` / `update` / `end`, `attrs."frigate.kind" = "review"` |
//! | `<prefix>/available` | `online`, `offline` (last will), `stopped` | `device_status` `online` / `offline` about Frigate itself (`device.kind` server, hostname = prefix) |
//! | `<prefix>/<camera>/status/<role>` | `online`, `offline`, `disabled` (per `detect`, `record`, `audio` process) | `device_status` `online` / `offline` (`disabled` is offline) |
//! | `<prefix>/<camera>/enabled/state` | `ON`, `OFF` (camera processing turned on/off) | `device_status` `online` / `offline` |
//! | `<prefix>/<camera>/{detect,recordings,snapshots,audio,motion,review_alerts,review_detections,ptz_autotracker}/state` | `ON`, `OFF` | `device_status` `other`, `attrs.feature`, `attrs.state`; severity low when turned `OFF` |
//! | anything else (`<camera>/<object>` counts, JPEG snapshots, `stats`, `camera_activity`, `…/set` commands) | | nothing (empty vector) |
//!
//! Sample (`frigate/events`, trimmed from the Frigate docs):
//!
//! ```text
//! {"type":"update","before":{…},"after":{"id":"1607123955.475377-mxklsc","camera":"front_door","frame_time":1607123962.082975,"label":"person","sub_label":["John Smith",0.79],"top_score":0.958984375,"false_positive":false,"start_time":1607123955.475377,"end_time":null,"score":0.87890625,"current_zones":["yard","driveway"],"entered_zones":["yard","driveway"],"has_snapshot":false,"has_clip":false}}
//! ```
//!
//! Mapping of a tracked object (`after`):
//!
//! | event field | Frigate field |
//! |---|---|
//! | `time` | `start_time` for `detect`, `frame_time` for `update`, `end_time` for `end` (epoch seconds) |
//! | `physical.detection.label` | `label` |
//! | `physical.detection.sub_label` | `sub_label`: a string, or `[name, score]` in newer versions |
//! | `physical.detection.score` | `top_score`, else `score` |
//! | `physical.detection.zones` | `current_zones` (`entered_zones` at `end` when empty) |
//! | `actor.face` | `sub_label` of a `person`, or a `face` recognition's `name` |
//! | `place.camera`, `device.hostname`, `place.ids.camera`, `device.external_id` | `camera`; `device.kind` is `camera`; `place.system` and `device.system` are `frigate` |
//! | `place.camera_zone`, `place.ids.zone` | first of `current_zones`, else of `entered_zones`; the id is qualified by the camera (`front_door/yard`). `place.zone` is left to the directory: a camera's region is not a site's zone |
//! | `attrs` | every `after` field under Frigate's name except `thumbnail` (a base64 JPEG in old versions), plus `type`, `frigate.kind` = `object`, `duration` (s) at `end`, `changed` (what made an `update` worth storing) |
//!
//! **What is stored.** Frigate republishes an object on every better snapshot and position
//! change, and QoS 1 may deliver a message twice, so the decoder keeps a little state per
//! object id and stores: the first sighting (`new`, or the first message of an object it has
//! not seen) as `detect`; an `update` only when something an analyst cares about changed (a
//! new `sub_label` — a recognised face or plate —, a newly entered zone, a newly recognised
//! licence plate, or the object stopped being a false positive), with the reasons in
//! `attrs.changed`; the `end` once, with the interval (`start_time`, `end_time`, `duration`).
//! A message for an object that already ended is dropped. Reviews likewise give one `detect`,
//! an `update` only when the severity changes or new object labels appear, and one `end`.
//! Status topics (retained, and republished by Frigate at every connection) are stored only
//! when their value changes; a feature toggle's first value is stored only if it is `OFF`.
//!
//! **Bounded memory.** Live objects, live reviews, ended ids (kept so a redelivered `end` is
//! recognised) and status values are each held in a least-recently-used table of at most
//! [`DEFAULT_CAPACITY`] entries (see [`FrigateDecoder::with_capacity`]); ids longer than
//! [`MAX_ID_LEN`] are refused and an object remembers at most [`MAX_ZONES`] zones. When a table is
//! full the entry untouched longest is forgotten: at worst an evicted object's next update is
//! stored again as a `detect`. Every event has vendor `Frigate` and product `Frigate NVR`.

use crate::decode::{DecodeContext, DecodeError, finish, quote, time, time_from_receipt};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tandem_model::{Activity, Class, DeviceKind, Event, ObjectDetection, Severity, Timestamp};

/// Entries per state table (live objects, ended objects, live reviews, ended reviews, status
/// values). A busy 16-camera site tracks a few hundred objects an hour, so this keeps hours of
/// history in well under a few MiB.
pub const DEFAULT_CAPACITY: usize = 4096;
/// Longest object or review id accepted. Frigate ids are `<epoch>.<micros>-<6 chars>`.
pub const MAX_ID_LEN: usize = 128;
/// Most zones remembered per object.
pub const MAX_ZONES: usize = 64;

const VENDOR: &str = "Frigate";
const PRODUCT: &str = "Frigate NVR";

/// Per-camera feature toggles whose `…/state` topic is stored. Turning detection or recording
/// off is how someone blinds a camera without unplugging it.
const FEATURES: &[&str] = &[
    "detect",
    "recordings",
    "snapshots",
    "audio",
    "motion",
    "review_alerts",
    "review_detections",
    "ptz_autotracker",
];

/// Decoder for one Frigate instance's MQTT messages. Stateful (see the module docs): keep one
/// per Frigate instance and feed it every message under its prefix.
#[derive(Debug)]
pub struct FrigateDecoder {
    prefix: String,
    objects: Lru<ObjectState>,
    ended_objects: Lru<()>,
    reviews: Lru<ReviewState>,
    ended_reviews: Lru<()>,
    states: Lru<String>,
}

/// What is remembered of a live tracked object.
#[derive(Debug, Default)]
struct ObjectState {
    /// A `detect` has been stored (false when only a recognition update was seen yet).
    announced: bool,
    label: String,
    sub_label: Option<String>,
    plate: Option<String>,
    zones: BTreeSet<String>,
    false_positive: bool,
}

/// What is remembered of a live review item.
#[derive(Debug, Default)]
struct ReviewState {
    severity: String,
    objects: BTreeSet<String>,
}

impl FrigateDecoder {
    /// A decoder for messages under `prefix` (Frigate's `mqtt.topic_prefix`, `frigate` by
    /// default), with [`DEFAULT_CAPACITY`] entries per state table.
    pub fn new(prefix: &str) -> Self {
        Self::with_capacity(prefix, DEFAULT_CAPACITY)
    }

    /// Like [`FrigateDecoder::new`] with `capacity` entries per state table (at least 1).
    pub fn with_capacity(prefix: &str, capacity: usize) -> Self {
        let prefix = prefix.trim().trim_matches('/');
        FrigateDecoder {
            prefix: if prefix.is_empty() { "frigate" } else { prefix }.to_owned(),
            objects: Lru::new(capacity),
            ended_objects: Lru::new(capacity),
            reviews: Lru::new(capacity),
            ended_reviews: Lru::new(capacity),
            states: Lru::new(capacity),
        }
    }

    /// How many entries the decoder holds across its state tables; never more than five
    /// times its capacity.
    pub fn tracked(&self) -> usize {
        self.objects.len()
            + self.ended_objects.len()
            + self.reviews.len()
            + self.ended_reviews.len()
            + self.states.len()
    }

    /// Decodes one MQTT message. An empty vector means nothing worth storing (a topic Tandem
    /// does not use, a repeated or unimportant update).
    pub fn decode(
        &mut self,
        topic: &str,
        payload: &[u8],
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        let rest = topic
            .strip_prefix(self.prefix.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| {
                DecodeError::Invalid(format!(
                    "topic `{}` is not under the Frigate prefix `{}`",
                    quote(topic),
                    self.prefix
                ))
            })?;
        let levels: Vec<&str> = rest.split('/').collect();
        // Route on the topic before looking at the payload: snapshot topics carry JPEG bytes.
        match levels.as_slice() {
            ["events"] => self.events(utf8(payload)?, ctx),
            ["tracked_object_update"] => self.recognition(utf8(payload)?, ctx),
            ["reviews"] => self.review(utf8(payload)?, ctx),
            ["available"] => self.available(topic, utf8(payload)?, ctx),
            [camera, "status", role] => {
                self.camera_status(topic, camera, role, utf8(payload)?, ctx)
            }
            [camera, "enabled", "state"] => self.camera_enabled(topic, camera, utf8(payload)?, ctx),
            [camera, feature, "state"] if FEATURES.contains(feature) => {
                self.feature(topic, camera, feature, utf8(payload)?, ctx)
            }
            _ => Ok(Vec::new()),
        }
    }

    fn events(&mut self, text: &str, ctx: &DecodeContext) -> Result<Vec<Event>, DecodeError> {
        let (kind, after) = envelope(text, "events")?;
        let id = id_of(&after, "events")?;
        if self.ended_objects.contains(&id) {
            return Ok(Vec::new());
        }
        let obj = Tracked::read(&after);
        let activity = match kind.as_str() {
            "new" | "update" => match self.objects.touch(&id) {
                Some(state) if state.announced => {
                    let changed = state.apply(&obj);
                    if changed.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut e = self.object_event(Activity::Update, &kind, &obj, after, ctx);
                    e.attrs.insert(
                        "changed".to_owned(),
                        Value::Array(changed.into_iter().map(Value::from).collect()),
                    );
                    e.message = format!("{} ({})", e.message, changed_words(&e));
                    finish(&mut e, ctx, Some(text));
                    return Ok(vec![e]);
                }
                Some(state) => {
                    state.announced = true;
                    state.apply(&obj);
                    Activity::Detect
                }
                None => {
                    let mut state = ObjectState {
                        announced: true,
                        ..ObjectState::default()
                    };
                    state.apply(&obj);
                    self.objects.insert(id, state);
                    Activity::Detect
                }
            },
            "end" => {
                self.objects.remove(&id);
                self.ended_objects.insert(id, ());
                Activity::End
            }
            other => return Err(unknown_type(other, "events")),
        };
        let mut e = self.object_event(activity, &kind, &obj, after, ctx);
        finish(&mut e, ctx, Some(text));
        Ok(vec![e])
    }

    /// The event for a tracked object; `after` becomes its attributes.
    fn object_event(
        &self,
        activity: Activity,
        kind: &str,
        obj: &Tracked,
        mut after: Map<String, Value>,
        ctx: &DecodeContext,
    ) -> Event {
        let time = match activity {
            Activity::Detect => obj.start_time.or(obj.frame_time),
            Activity::End => obj.end_time.or(obj.frame_time),
            _ => obj.frame_time.or(obj.start_time),
        };
        let mut e = new_event(Class::VideoDetection, activity, time, ctx);
        let zones = if activity == Activity::End && obj.current_zones.is_empty() {
            obj.entered_zones.clone()
        } else {
            obj.current_zones.clone()
        };
        let label = obj.label.clone().unwrap_or_else(|| "unknown".to_owned());
        if label == "person" {
            e.actor.face.clone_from(&obj.sub_label);
        }
        e.physical_mut().detection = Some(ObjectDetection {
            label: label.clone(),
            sub_label: obj.sub_label.clone(),
            score: score(obj.top_score.or(obj.score)),
            count: None,
            zones: zones.clone(),
        });
        let zone = obj
            .current_zones
            .first()
            .or(obj.entered_zones.first())
            .cloned();
        camera_place(&mut e, obj.camera.as_deref(), zone);
        after.remove("thumbnail");
        after.insert("type".to_owned(), Value::String(kind.to_owned()));
        after.insert("frigate.kind".to_owned(), Value::from("object"));
        let who = match &obj.sub_label {
            Some(name) => format!("{label} ({name})"),
            None => label,
        };
        let camera = obj.camera.as_deref().unwrap_or("?");
        let where_ = if zones.is_empty() {
            String::new()
        } else {
            format!(" in {}", zones.join(", "))
        };
        e.message = match activity {
            Activity::End => {
                let mut m = format!("{who} left {camera}{where_}");
                if let (Some(s), Some(t)) = (obj.start_time, obj.end_time) {
                    let duration = (t - s).num_microseconds().unwrap_or(0) as f64 / 1e6;
                    if let Some(n) = serde_json::Number::from_f64(duration) {
                        after.insert("duration".to_owned(), Value::Number(n));
                        m.push_str(&format!(" after {duration:.1} s"));
                    }
                }
                m
            }
            Activity::Update => format!("{who} updated on {camera}{where_}"),
            _ => format!("{who} detected by {camera}{where_}"),
        };
        e.attrs = after;
        e
    }

    /// `tracked_object_update`: face, plate and classification results for a live object.
    fn recognition(&mut self, text: &str, ctx: &DecodeContext) -> Result<Vec<Event>, DecodeError> {
        let mut map = parse_object(text)?;
        let kind = str_of(&map, "type").unwrap_or_default().to_owned();
        let (name, label) = match kind.as_str() {
            "face" => (str_of(&map, "name"), "face"),
            "lpr" => (
                str_of(&map, "name").or(str_of(&map, "plate")),
                "license_plate",
            ),
            "classification" => (str_of(&map, "sub_label"), "classification"),
            // Generative-AI descriptions and anything newer: nothing to normalise.
            _ => return Ok(Vec::new()),
        };
        let Some(name) = name.map(str::to_owned) else {
            return Ok(Vec::new());
        };
        let id = id_of(&map, "tracked_object_update")?;
        if self.ended_objects.contains(&id) {
            return Ok(Vec::new());
        }
        let state = match self.objects.touch(&id) {
            Some(state) => state,
            None => {
                self.objects.insert(
                    id.clone(),
                    ObjectState {
                        label: label.to_owned(),
                        ..ObjectState::default()
                    },
                );
                self.objects
                    .touch(&id)
                    .ok_or_else(|| DecodeError::Invalid("object table has no room".to_owned()))?
            }
        };
        if state.sub_label.as_deref() == Some(name.as_str()) {
            return Ok(Vec::new());
        }
        state.sub_label = Some(name.clone());
        let label = if state.label.is_empty() {
            label.to_owned()
        } else {
            state.label.clone()
        };
        let time = map.get("timestamp").and_then(time::from_json);
        let mut e = new_event(Class::VideoDetection, Activity::Update, time, ctx);
        if kind == "face" {
            e.actor.face = Some(name.clone());
        }
        e.physical_mut().detection = Some(ObjectDetection {
            label: label.clone(),
            sub_label: Some(name.clone()),
            score: score(map.get("score").and_then(Value::as_f64)),
            ..ObjectDetection::default()
        });
        let camera = str_of(&map, "camera").map(str::to_owned);
        camera_place(&mut e, camera.as_deref(), None);
        e.message = format!(
            "{label} on {} recognised as {name} ({kind})",
            camera.as_deref().unwrap_or("?")
        );
        map.insert("frigate.kind".to_owned(), Value::from("object"));
        map.insert("changed".to_owned(), Value::from(vec!["sub_label"]));
        e.attrs = map;
        finish(&mut e, ctx, Some(text));
        Ok(vec![e])
    }

    fn review(&mut self, text: &str, ctx: &DecodeContext) -> Result<Vec<Event>, DecodeError> {
        let (kind, mut after) = envelope(text, "reviews")?;
        let id = id_of(&after, "reviews")?;
        if self.ended_reviews.contains(&id) {
            return Ok(Vec::new());
        }
        let severity = str_of(&after, "severity").unwrap_or("detection").to_owned();
        let data = after.get("data").and_then(Value::as_object);
        let list = |key: &str| strings(data.and_then(|d| d.get(key)));
        let objects = list("objects");
        let (activity, changed) = match kind.as_str() {
            "new" | "update" => match self.reviews.touch(&id) {
                Some(state) => {
                    let mut changed = Vec::new();
                    if state.severity != severity {
                        changed.push("severity");
                        state.severity.clone_from(&severity);
                    }
                    let mut grew = false;
                    for o in objects.iter().take(MAX_ZONES) {
                        grew |= state.objects.insert(o.clone());
                    }
                    if grew {
                        changed.push("objects");
                    }
                    if changed.is_empty() {
                        return Ok(Vec::new());
                    }
                    (Activity::Update, changed)
                }
                None => {
                    let state = ReviewState {
                        severity: severity.clone(),
                        objects: objects.iter().take(MAX_ZONES).cloned().collect(),
                    };
                    self.reviews.insert(id, state);
                    (Activity::Detect, Vec::new())
                }
            },
            "end" => {
                self.reviews.remove(&id);
                self.ended_reviews.insert(id, ());
                (Activity::End, Vec::new())
            }
            other => return Err(unknown_type(other, "reviews")),
        };
        let start = after.get("start_time").and_then(epoch);
        let end = after.get("end_time").and_then(epoch);
        let time = match activity {
            Activity::Detect => start,
            Activity::End => end,
            _ => None,
        };
        let mut e = new_event(Class::VideoDetection, activity, time, ctx);
        if severity == "alert" {
            e.severity = Severity::Low;
        }
        let zones = list("zones");
        let sub_labels = list("sub_labels");
        e.physical_mut().detection = Some(ObjectDetection {
            label: objects
                .first()
                .cloned()
                .unwrap_or_else(|| "review".to_owned()),
            sub_label: sub_labels.first().cloned(),
            zones: zones.clone(),
            ..ObjectDetection::default()
        });
        let camera = str_of(&after, "camera").map(str::to_owned);
        camera_place(&mut e, camera.as_deref(), zones.first().cloned());
        let what = if objects.is_empty() {
            "activity".to_owned()
        } else {
            objects.join(", ")
        };
        e.message = format!(
            "{severity} on {}: {what} ({})",
            camera.as_deref().unwrap_or("?"),
            match activity {
                Activity::Detect => "review started",
                Activity::End => "review ended",
                _ => "review updated",
            }
        );
        after.insert("type".to_owned(), Value::String(kind));
        after.insert("frigate.kind".to_owned(), Value::from("review"));
        if let (Some(s), Some(t)) = (start, end) {
            let seconds = (t - s).num_milliseconds() as f64 / 1000.0;
            after.insert("duration".to_owned(), Value::from(seconds));
        }
        if !changed.is_empty() {
            after.insert("changed".to_owned(), Value::from(changed));
        }
        e.attrs = after;
        finish(&mut e, ctx, Some(text));
        Ok(vec![e])
    }

    /// Remembers `value` for `topic`; whether it differs from what was there (and the previous
    /// value).
    fn changed(&mut self, topic: &str, value: &str) -> (bool, Option<String>) {
        match self.states.touch(topic) {
            Some(last) if last == value => (false, Some(last.clone())),
            Some(last) => {
                let previous = std::mem::replace(last, value.to_owned());
                (true, Some(previous))
            }
            None => {
                self.states.insert(topic.to_owned(), value.to_owned());
                (true, None)
            }
        }
    }

    fn available(
        &mut self,
        topic: &str,
        text: &str,
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        let word = text.trim();
        let activity = match word.to_ascii_lowercase().as_str() {
            "online" => Activity::Online,
            "offline" | "stopped" => Activity::Offline,
            _ => return Err(unexpected(word, topic, "online, offline or stopped")),
        };
        if !self.changed(topic, word).0 {
            return Ok(Vec::new());
        }
        let mut e = new_event(Class::DeviceStatus, activity, None, ctx);
        let device = e.device_mut();
        device.hostname = Some(self.prefix.clone());
        device.kind = DeviceKind::Server;
        e.message = format!("Frigate ({}) {word}", self.prefix);
        e.attrs.insert("state".to_owned(), Value::from(word));
        e.attrs.insert("topic".to_owned(), Value::from(topic));
        if activity == Activity::Offline {
            e.severity = Severity::Low;
        }
        finish(&mut e, ctx, Some(text));
        Ok(vec![e])
    }

    fn camera_status(
        &mut self,
        topic: &str,
        camera: &str,
        role: &str,
        text: &str,
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        let word = text.trim();
        let activity = match word.to_ascii_lowercase().as_str() {
            "online" => Activity::Online,
            "offline" | "disabled" => Activity::Offline,
            _ => return Err(unexpected(word, topic, "online, offline or disabled")),
        };
        if !self.changed(topic, word).0 {
            return Ok(Vec::new());
        }
        let mut e = self.camera_event(activity, camera, topic, word, ctx);
        e.attrs.insert("role".to_owned(), Value::from(role));
        e.message = format!("camera {camera} {role} {word}");
        finish(&mut e, ctx, Some(text));
        Ok(vec![e])
    }

    fn camera_enabled(
        &mut self,
        topic: &str,
        camera: &str,
        text: &str,
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        let word = text.trim();
        let activity = on_off(word).ok_or_else(|| unexpected(word, topic, "ON or OFF"))?;
        let activity = if activity {
            Activity::Online
        } else {
            Activity::Offline
        };
        if !self.changed(topic, word).0 {
            return Ok(Vec::new());
        }
        let mut e = self.camera_event(activity, camera, topic, word, ctx);
        e.attrs.insert("feature".to_owned(), Value::from("enabled"));
        e.message = format!(
            "camera {camera} turned {} in Frigate",
            if activity == Activity::Online {
                "on"
            } else {
                "off"
            }
        );
        finish(&mut e, ctx, Some(text));
        Ok(vec![e])
    }

    fn feature(
        &mut self,
        topic: &str,
        camera: &str,
        feature: &str,
        text: &str,
        ctx: &DecodeContext,
    ) -> Result<Vec<Event>, DecodeError> {
        let word = text.trim();
        let on = on_off(word).ok_or_else(|| unexpected(word, topic, "ON or OFF"))?;
        let (changed, previous) = self.changed(topic, word);
        // The first value seen is a baseline: only worth storing when something is off.
        if !changed || (previous.is_none() && on) {
            return Ok(Vec::new());
        }
        let mut e = self.camera_event(Activity::Other, camera, topic, word, ctx);
        e.attrs.insert("feature".to_owned(), Value::from(feature));
        if !on {
            e.severity = Severity::Low;
        }
        e.message = format!("camera {camera} {feature} {word}");
        finish(&mut e, ctx, Some(text));
        Ok(vec![e])
    }

    /// A `device_status` event about `camera`, timed by receipt (status payloads have no time).
    fn camera_event(
        &self,
        activity: Activity,
        camera: &str,
        topic: &str,
        word: &str,
        ctx: &DecodeContext,
    ) -> Event {
        let mut e = new_event(Class::DeviceStatus, activity, None, ctx);
        camera_place(&mut e, Some(camera), None);
        if activity == Activity::Offline {
            e.severity = Severity::Low;
        }
        e.attrs.insert("state".to_owned(), Value::from(word));
        e.attrs.insert("topic".to_owned(), Value::from(topic));
        e
    }
}

impl ObjectState {
    /// Folds in a newer view of the object; returns what changed that an analyst cares about.
    fn apply(&mut self, obj: &Tracked) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if let Some(label) = &obj.label {
            self.label.clone_from(label);
        }
        if let Some(sub) = &obj.sub_label
            && self.sub_label.as_ref() != Some(sub)
        {
            self.sub_label = Some(sub.clone());
            changed.push("sub_label");
        }
        if let Some(plate) = &obj.plate
            && self.plate.as_ref() != Some(plate)
        {
            self.plate = Some(plate.clone());
            changed.push("recognized_license_plate");
        }
        let mut entered = false;
        for zone in &obj.entered_zones {
            if self.zones.len() >= MAX_ZONES {
                break;
            }
            entered |= self.zones.insert(zone.clone());
        }
        if entered {
            changed.push("entered_zones");
        }
        if self.false_positive && !obj.false_positive {
            changed.push("false_positive");
        }
        self.false_positive = obj.false_positive;
        changed
    }
}

/// The fields of an `after` object the decoder reads.
#[derive(Debug, Default)]
struct Tracked {
    camera: Option<String>,
    label: Option<String>,
    sub_label: Option<String>,
    plate: Option<String>,
    score: Option<f64>,
    top_score: Option<f64>,
    frame_time: Option<Timestamp>,
    start_time: Option<Timestamp>,
    end_time: Option<Timestamp>,
    current_zones: Vec<String>,
    entered_zones: Vec<String>,
    false_positive: bool,
}

impl Tracked {
    fn read(after: &Map<String, Value>) -> Tracked {
        let sub_label = match after.get("sub_label") {
            Some(Value::String(s)) => Some(s.clone()),
            // Newer Frigate versions: `[name, score]`.
            Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        }
        .filter(|s| !s.trim().is_empty());
        Tracked {
            camera: str_of(after, "camera").map(str::to_owned),
            label: str_of(after, "label").map(str::to_owned),
            sub_label,
            plate: str_of(after, "recognized_license_plate").map(str::to_owned),
            score: after.get("score").and_then(Value::as_f64),
            top_score: after.get("top_score").and_then(Value::as_f64),
            frame_time: after.get("frame_time").and_then(epoch),
            start_time: after.get("start_time").and_then(epoch),
            end_time: after.get("end_time").and_then(epoch),
            current_zones: strings(after.get("current_zones")),
            entered_zones: strings(after.get("entered_zones")),
            false_positive: after
                .get("false_positive")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

/// A least-recently-used table: the bound on every piece of decoder state.
#[derive(Debug)]
struct Lru<V> {
    map: HashMap<String, (u64, V)>,
    order: BTreeMap<u64, String>,
    tick: u64,
    capacity: usize,
}

impl<V> Lru<V> {
    fn new(capacity: usize) -> Self {
        Lru {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            capacity: capacity.max(1),
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn next_tick(&mut self) -> u64 {
        self.tick = self.tick.wrapping_add(1);
        self.tick
    }

    /// The entry for `key`, marked as just used.
    fn touch(&mut self, key: &str) -> Option<&mut V> {
        let tick = self.next_tick();
        let entry = self.map.get_mut(key)?;
        self.order.remove(&entry.0);
        entry.0 = tick;
        self.order.insert(tick, key.to_owned());
        Some(&mut entry.1)
    }

    /// Inserts or replaces `key`, forgetting the least recently used entries past capacity.
    fn insert(&mut self, key: String, value: V) {
        let tick = self.next_tick();
        if let Some((old, _)) = self.map.insert(key.clone(), (tick, value)) {
            self.order.remove(&old);
        }
        self.order.insert(tick, key);
        while self.map.len() > self.capacity {
            match self.order.pop_first() {
                Some((_, oldest)) => {
                    self.map.remove(&oldest);
                }
                None => break,
            }
        }
    }

    fn remove(&mut self, key: &str) -> Option<V> {
        let (tick, value) = self.map.remove(key)?;
        self.order.remove(&tick);
        Some(value)
    }
}

fn new_event(
    class: Class,
    activity: Activity,
    time: Option<Timestamp>,
    ctx: &DecodeContext,
) -> Event {
    let mut e = Event::new(&ctx.source, class, activity, time.unwrap_or(ctx.received));
    if time.is_none() {
        time_from_receipt(&mut e);
    }
    e.source.vendor = Some(VENDOR.to_owned());
    e.source.product = Some(PRODUCT.to_owned());
    e
}

/// The system name Frigate's camera and zone names are kept under (`place.system`,
/// `device.system`) and looked up by in the directory's `external_ids`.
pub const SYSTEM: &str = "frigate";

/// Sets `place.camera`, `place.camera_zone`, the Frigate ids and the camera as the device.
///
/// Frigate's zones are regions of one camera's picture, named by whoever drew them ("door",
/// "yard"), not the site's zones: they go to `place.camera_zone` and, qualified by the camera
/// (`front_door/yard`), to `place.ids.zone`, so that `place.zone` is filled from the
/// directory by resolution and never with a camera's region name.
fn camera_place(e: &mut Event, camera: Option<&str>, zone: Option<String>) {
    if let Some(camera) = camera {
        let place = e.place_mut();
        place.camera = Some(camera.to_owned());
        place.ids.insert("camera".to_owned(), camera.to_owned());
        place.system = Some(SYSTEM.to_owned());
        if let Some(zone) = &zone {
            place
                .ids
                .insert("zone".to_owned(), format!("{camera}/{zone}"));
        }
        let device = e.device_mut();
        device.hostname = Some(camera.to_owned());
        device.kind = DeviceKind::Camera;
        device.external_id = Some(camera.to_owned());
        device.system = Some(SYSTEM.to_owned());
    }
    if let Some(zone) = zone {
        e.place_mut().camera_zone = Some(zone);
    }
}

fn utf8(payload: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(payload).map_err(|e| DecodeError::InvalidUtf8 {
        at: e.valid_up_to(),
    })
}

/// Parses a JSON object, with syntax errors located by column.
fn parse_object(text: &str) -> Result<Map<String, Value>, DecodeError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(DecodeError::Invalid("expected a JSON object".to_owned())),
        Err(e) => Err(DecodeError::json(&e)),
    }
}

/// The `type` and `after` of an events/reviews message.
fn envelope(text: &str, topic: &str) -> Result<(String, Map<String, Value>), DecodeError> {
    let mut map = parse_object(text)?;
    let kind = str_of(&map, "type")
        .ok_or_else(|| DecodeError::Invalid(format!("{topic} message has no `type`")))?
        .to_owned();
    match map.remove("after") {
        Some(Value::Object(after)) => Ok((kind, after)),
        _ => Err(DecodeError::Invalid(format!(
            "{topic} message has no `after` object"
        ))),
    }
}

fn id_of(map: &Map<String, Value>, topic: &str) -> Result<String, DecodeError> {
    let id = str_of(map, "id")
        .ok_or_else(|| DecodeError::Invalid(format!("{topic} message has no `id`")))?;
    if id.len() > MAX_ID_LEN {
        return Err(DecodeError::Invalid(format!(
            "{topic} message `id` is longer than {MAX_ID_LEN} bytes: {}",
            quote(id)
        )));
    }
    Ok(id.to_owned())
}

fn unknown_type(kind: &str, topic: &str) -> DecodeError {
    DecodeError::Invalid(format!(
        "{topic} message has unknown `type` `{}`; expected new, update or end",
        quote(kind)
    ))
}

fn unexpected(word: &str, topic: &str, expected: &str) -> DecodeError {
    DecodeError::Invalid(format!(
        "unexpected payload `{}` on `{}`; expected {expected}",
        quote(word),
        quote(topic)
    ))
}

fn on_off(word: &str) -> Option<bool> {
    match word.to_ascii_uppercase().as_str() {
        "ON" => Some(true),
        "OFF" => Some(false),
        _ => None,
    }
}

fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The strings of a JSON array (others skipped), at most [`MAX_ZONES`].
fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .take(MAX_ZONES)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Frigate times are epoch seconds with a fraction.
fn epoch(v: &Value) -> Option<Timestamp> {
    v.as_f64().and_then(time::from_epoch)
}

/// A 0.0–1.0 score; out-of-range or missing values are clamped or 0.
fn score(v: Option<f64>) -> f32 {
    match v {
        Some(s) if s.is_finite() => s.clamp(0.0, 1.0) as f32,
        _ => 0.0,
    }
}

/// "new sub_label John Smith, entered zones" for an update's message.
fn changed_words(e: &Event) -> String {
    let changed: Vec<&str> = e
        .attrs
        .get("changed")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    changed
        .iter()
        .map(|c| match *c {
            "sub_label" => "recognised".to_owned(),
            "entered_zones" => "entered a zone".to_owned(),
            "false_positive" => "confirmed".to_owned(),
            "recognized_license_plate" => "plate read".to_owned(),
            other => other.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_evicts_least_recently_used() {
        let mut lru = Lru::new(2);
        lru.insert("a".to_owned(), 1);
        lru.insert("b".to_owned(), 2);
        assert!(lru.touch("a").is_some());
        lru.insert("c".to_owned(), 3);
        assert!(lru.contains("a") && lru.contains("c") && !lru.contains("b"));
        assert_eq!(lru.remove("a"), Some(1));
        assert_eq!(lru.len(), 1);
        assert_eq!(lru.order.len(), 1);
    }

    #[test]
    fn sub_label_forms() {
        let m = |v: Value| Tracked::read(v.as_object().unwrap()).sub_label;
        assert_eq!(
            m(serde_json::json!({"sub_label":"Bob"})).as_deref(),
            Some("Bob")
        );
        assert_eq!(
            m(serde_json::json!({"sub_label":["Bob",0.8]})).as_deref(),
            Some("Bob")
        );
        assert_eq!(m(serde_json::json!({"sub_label":null})), None);
        assert_eq!(m(serde_json::json!({"sub_label":[1]})), None);
    }
}
