//! Verkada Access Control webhooks: signature verification and door-event decoding.
//!
//! Verkada Command POSTs one JSON object per event to a customer HTTPS endpoint, configured
//! under Organization Settings → Verkada API (or Admin → APIs and Integrations → Webhooks) with
//! a URL and a shared secret. Configure the Tandem source with `format = "verkada"` and the same
//! secret.
//!
//! # Signature ([`verify`], [`sign`])
//!
//! From Verkada's "Securing Webhooks" page (<https://apidocs.verkada.com/reference/securing-webhooks>):
//! each delivery carries one header,
//!
//! ```text
//! Verkada-Signature: 1597685622|b41406dd45b7f8b7f7e564442c23b4d8615e711890dc7a02cfb3e445bd98afd5
//! ```
//!
//! split on `|`: the first token is a Unix timestamp (seconds), the second the signature, the
//! lowercase hex HMAC-SHA256, keyed by the shared secret, of `<raw request body>|<timestamp>`.
//! Verkada generates a fresh timestamp and signature for every delivery attempt, retries
//! included, so a receiver rejects timestamps outside a tolerance window to stop replays. The
//! page speaks of "the signature (or signatures)": tokens after the second are accepted as
//! further candidate signatures (at most eight), for a sender rotating secrets. Comparison is
//! constant-time (`hmac`'s `verify_slice`). There is no separate timestamp header.
//!
//! # Replays ([`ReplayGuard`])
//!
//! The window alone lets a captured delivery be sent again, as often as wanted, for as long
//! as its timestamp is inside the window. Since Verkada signs every attempt afresh, two
//! deliveries with the same signed timestamp and the same signature are the same request
//! sent twice: [`verify_delivery`] names each delivery by its HMAC ([`Delivery::id`]; the one
//! valid HMAC of the body and timestamp, so re-spelling the header's hex or adding candidates
//! does not make a copy new), and [`ReplayGuard`] remembers those ids until their timestamp
//! leaves the window, after which [`verify`] refuses the copy by age anyway.
//!
//! # Payload ([`decode`])
//!
//! From "Access Events Webhooks" (<https://apidocs.verkada.com/reference/access-events-webhooks>):
//! an Access Control Notification Object `{webhook_type: "notification", webhook_id, org_id,
//! created_at, data}` whose `data` is an Access Control Event Object: `notification_type`,
//! `device_id`, `created` (older revisions of the page: `created_at`), `input_value`,
//! `door_id`, `event_id`, `device_type` (`access_control`), `direction` (`Inbound` /
//! `Outbound`), `aux_info`, `user_info` (`user_id`, `name`, `email`, `first_name`,
//! `last_name`), `lockdown_info`, `door_info`. The `notification_type` values are the access
//! event types of Verkada's events API (`door_granted`, `door_rejected`, `door_forced_open`,
//! …). Sample (abridged):
//!
//! ```text
//! {"webhook_type":"notification","webhook_id":"2fd2…","org_id":"1455…","created_at":1772615702,
//!  "data":{"notification_type":"door_granted","created":1772615701,"door_id":"8c0e…","device_type":"access_control",
//!          "direction":"Inbound","input_value":"40123","user_info":{"user_id":"a1b2…","name":"Jane Doe","email":"jane@example.com"},
//!          "door_info":{"name":"HQ Lobby East","site":{"site_id":"f53e…","name":"HQ"}}}}
//! ```
//!
//! | `notification_type` | class / activity / outcome / severity |
//! |---|---|
//! | `door_granted`, `all_access_granted`, `door_*_accepted` (keycard, code, mobile NFC, BLE, remote unlock, licence plate) | physical_access / granted / success / informational |
//! | `door_press_to_exit_accepted` | physical_access / request_to_exit / success / informational |
//! | `door_rejected`, `all_access_rejected`, `door_*_rejected` | physical_access / denied / failure / low, with `physical.reason` |
//! | `door_forced_open` | physical_access / forced / high |
//! | `door_held_open` | physical_access / held_open / medium |
//! | `door_tailgating` | physical_access / tailgate / medium; `physical.inference` = ("reported by Verkada: tailgating detected by a camera at the door", 0.7) |
//! | `door_tamper` | physical_access / tamper / high |
//! | `door_apb_double_entry`, `door_apb_double_exit` | physical_access / anti_passback / failure / medium |
//! | `door_acu_offline` | device_status / offline / medium |
//! | any other `door_*` (`door_opened`, `door_lockdown`, `door_aux_unlock`, …) | physical_access / other |
//! | anything else (camera, alarm, LPR notifications) | other / unknown, everything in `attrs` |
//!
//! Tailgating is the one event the schema says is always inferred: Verkada infers it from a
//! camera next to the door, so the event carries `physical.inference` naming Verkada as the
//! deriver. Verkada publishes no confidence, so a fixed 0.7 says "a vendor analytic, not a
//! certainty".
//!
//! Denial reasons: `door_code_entered_rejected` → `wrong_pin`; `door_apb_*` → `anti_passback`;
//! otherwise a `reason` or `message` text in `data`, if present, normalised by the
//! access-control reason vocabulary ([`super::access_reason`], shared with CEF); otherwise
//! `other`.
//!
//! Other fields: time from `data.created` (or `data.created_at`), else top-level `created_at`,
//! else receipt. `user_info.name` (or `first_name last_name`) → `actor.user`, `email` →
//! `actor.email`, `user_id` → `actor.uid`; `input_value` → `actor.badge` unless the event is a
//! keypad code (`*code*` types: an entry code is a secret, not an identifier). Door name →
//! `place.door`; site name (`door_info.site.name`, `data.site.name`, `site_name`) →
//! `place.site`; `building_name`, `floor_name` → `place.building`, `place.floor`;
//! `direction` → `physical.direction` (`in` / `out`). Verkada's ids, present in every access
//! event even when `door_info` is not: `door_id` → `place.ids.door`, the site's `site_id` →
//! `place.ids.site`, `device_id` → `place.ids.device` and `device.external_id`, all with
//! `place.system` / `device.system` = `verkada`; resolution matches them against the places
//! file's `external_ids.verkada` before any name. Vendor `Verkada`, product
//! `Access Control`. `attrs` holds the top-level fields except `data`, and `data`'s fields
//! as Verkada names them (a `data` field whose name is taken by a top-level one is kept as
//! `data.<name>`).

use super::access_reason::normalise_reason;
use crate::decode::time::from_json;
use crate::decode::{DecodeContext, DecodeError, finish, quote, time_from_receipt};
use chrono::TimeDelta;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;
use tandem_model::{Activity, Class, Event, Inference, Outcome, Severity, Timestamp};

/// The system name Verkada's ids are kept under (`place.system`, `device.system`) and looked
/// up by in the directory's `external_ids`.
pub const SYSTEM: &str = "verkada";

/// The header Verkada puts the timestamp and signature in.
pub const SIGNATURE_HEADER: &str = "Verkada-Signature";

/// The replay window Tandem uses unless configured otherwise: Verkada retries within seconds,
/// so five minutes covers clock skew without keeping a captured request useful for long.
pub const DEFAULT_WINDOW: TimeDelta = TimeDelta::minutes(5);

/// Derivation recorded on tailgating events.
pub const TAILGATE_DERIVATION: &str =
    "reported by Verkada: tailgating detected by a camera at the door";

/// Confidence recorded on tailgating events (Verkada publishes none).
pub const TAILGATE_CONFIDENCE: f32 = 0.7;

/// Candidate signatures looked at per header, so a hostile header cannot cost much.
const MAX_SIGNATURES: usize = 8;

/// Why a delivery's signature was refused. The text is for the operator's source-health view.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Verkada-Signature` header: signing is not enabled on the Verkada side, or the
    /// request did not come from Verkada.
    #[error("missing Verkada-Signature header")]
    Missing,
    /// The header is not `<timestamp>|<hex signature>`.
    #[error("malformed Verkada-Signature header: {0}")]
    Malformed(String),
    /// No configured secret: every request would verify against an empty key.
    #[error("no shared secret configured for this Verkada source")]
    NoSecret,
    /// Well-formed, but no signature matches the body under the configured secret.
    #[error("Verkada-Signature does not match the body and the configured shared secret")]
    Mismatch,
    /// The signature is valid but its timestamp is too far from now: a replay, or a clock far
    /// off.
    #[error(
        "Verkada-Signature timestamp {timestamp} is {skew_seconds} s from now, outside the ±{window_seconds} s replay window"
    )]
    OutsideWindow {
        timestamp: i64,
        skew_seconds: i64,
        window_seconds: i64,
    },
}

/// Checks a delivery: `signature_header` is the `Verkada-Signature` value, `body` the raw
/// request body exactly as received, `window` how far the signed timestamp may be from `now`
/// either way. The signature is checked before the window, as Verkada's guide does.
pub fn verify(
    secret: &[u8],
    signature_header: Option<&str>,
    body: &[u8],
    now: Timestamp,
    window: TimeDelta,
) -> Result<(), SignatureError> {
    verify_delivery(secret, signature_header, body, now, window).map(|_| ())
}

/// A delivery whose signature checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delivery {
    /// The signed timestamp, Unix seconds.
    pub timestamp: i64,
    /// HMAC-SHA256 of `body|timestamp`: the same for every copy of one delivery, different
    /// for every other one (Verkada signs each attempt afresh).
    pub id: [u8; 32],
}

/// [`verify`], returning which delivery it was, for [`ReplayGuard`].
pub fn verify_delivery(
    secret: &[u8],
    signature_header: Option<&str>,
    body: &[u8],
    now: Timestamp,
    window: TimeDelta,
) -> Result<Delivery, SignatureError> {
    let header = signature_header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let mut tokens = header.split('|').map(str::trim);
    let ts_text = tokens.next().unwrap_or_default();
    let timestamp: i64 = ts_text
        .parse()
        .ok()
        .filter(|_| ts_text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            SignatureError::Malformed(format!(
                "timestamp `{}` is not Unix seconds; expected `<timestamp>|<hex signature>`",
                quote(ts_text)
            ))
        })?;
    let signatures = tokens
        .take(MAX_SIGNATURES)
        .map(|t| {
            decode_hex(t).ok_or_else(|| {
                SignatureError::Malformed(format!("signature `{}` is not 64 hex digits", quote(t)))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed(
            "no signature after the timestamp; expected `<timestamp>|<hex signature>`".to_owned(),
        ));
    }
    let matches = signatures
        .iter()
        .any(|sig| mac(secret, timestamp, body).is_some_and(|m| m.verify_slice(sig).is_ok()));
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    let id: [u8; 32] = mac(secret, timestamp, body)
        .map(|m| m.finalize().into_bytes().into())
        .ok_or(SignatureError::Mismatch)?;
    let skew = now.timestamp().saturating_sub(timestamp);
    if skew.unsigned_abs() > window.num_seconds().unsigned_abs() {
        return Err(SignatureError::OutsideWindow {
            timestamp,
            skew_seconds: skew,
            window_seconds: window.num_seconds(),
        });
    }
    Ok(Delivery { timestamp, id })
}

/// How many deliveries a [`ReplayGuard`] remembers by default: over five minutes a second of
/// door events at a large site, at about 100 bytes each.
pub const REPLAY_MEMORY: usize = 100_000;

/// Remembers the deliveries accepted within the replay window, so that a copy of one is
/// recognised and dropped instead of stored again.
///
/// Memory is bounded: an entry is forgotten once its timestamp is outside the window (the
/// signature check then refuses the copy by age), and when `capacity` deliveries are
/// remembered the one closest to leaving the window is forgotten early. Only deliveries
/// whose signature checked out are remembered, so filling it takes the shared secret.
#[derive(Debug)]
pub struct ReplayGuard {
    capacity: usize,
    seen: std::sync::Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    ids: std::collections::HashSet<[u8; 32]>,
    /// (last second the delivery is inside the window, id), oldest first.
    by_expiry: std::collections::BTreeSet<(i64, [u8; 32])>,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        ReplayGuard::new(REPLAY_MEMORY)
    }
}

impl ReplayGuard {
    /// A guard remembering at most `capacity` deliveries (at least one).
    pub fn new(capacity: usize) -> ReplayGuard {
        ReplayGuard {
            capacity: capacity.max(1),
            seen: Default::default(),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `delivery` is new: `true` the first time (and it is remembered from then on),
    /// `false` for a copy of a delivery seen within the window.
    pub fn first_time(&self, delivery: &Delivery, now: Timestamp, window: TimeDelta) -> bool {
        let mut seen = self.seen();
        let now = now.timestamp();
        while let Some(&(expires, id)) = seen.by_expiry.first() {
            if expires >= now && seen.ids.len() < self.capacity {
                break;
            }
            if expires >= now {
                tracing::warn!(
                    capacity = self.capacity,
                    "webhook replay memory full; forgetting a delivery before it leaves the window"
                );
            }
            seen.by_expiry.pop_first();
            seen.ids.remove(&id);
        }
        if !seen.ids.insert(delivery.id) {
            return false;
        }
        let expires = delivery
            .timestamp
            .saturating_add(window.num_seconds().abs());
        seen.by_expiry.insert((expires, delivery.id));
        true
    }

    /// Forgets `delivery`, whose events could not be stored, so that a retry of exactly the
    /// same request is taken.
    pub fn forget(&self, delivery: &Delivery) {
        let mut seen = self.seen();
        if seen.ids.remove(&delivery.id) {
            seen.by_expiry.retain(|(_, id)| *id != delivery.id);
        }
    }

    /// Deliveries remembered now.
    pub fn len(&self) -> usize {
        self.seen().ids.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `Verkada-Signature` value Verkada would send for `body` at `timestamp`
/// (`<timestamp>|<lowercase hex>`). Used by the demo emitter and tests.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body)
        .map(|m| m.finalize().into_bytes().to_vec())
        .unwrap_or_default();
    let mut out = format!("{timestamp}|");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// HMAC-SHA256 over `body|timestamp`. `None` only if the key is refused, which HMAC never does.
fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).ok()?;
    mac.update(body);
    mac.update(b"|");
    mac.update(timestamp.to_string().as_bytes());
    Some(mac)
}

/// 64 hex digits → 32 bytes.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    let nibble = |b: u8| (b as char).to_digit(16);
    s.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? * 16 + nibble(pair[1])?) as u8))
        .collect()
}

/// Decodes one webhook body into one event (see the module docs for the mapping).
pub fn decode(text: &str, ctx: &DecodeContext) -> Result<Vec<Event>, DecodeError> {
    let body = text.trim_start_matches('\u{feff}').trim();
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    let root = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(DecodeError::Invalid(
                "expected a Verkada webhook JSON object".to_owned(),
            ));
        }
        Err(e) => {
            return Err(DecodeError::json(&e));
        }
    };
    let empty = Map::new();
    let data = match root.get("data") {
        Some(Value::Object(d)) => d,
        None | Some(Value::Null) => &empty,
        Some(_) => {
            return Err(DecodeError::Invalid(
                "field `data` of the Verkada webhook is not an object".to_owned(),
            ));
        }
    };
    let time = ["created", "created_at"]
        .iter()
        .find_map(|k| data.get(*k).and_then(from_json))
        .or_else(|| root.get("created_at").and_then(from_json));
    let mut event = Event::new(
        &ctx.source,
        Class::Other,
        Activity::Unknown,
        time.unwrap_or(ctx.received),
    );
    if time.is_none() {
        time_from_receipt(&mut event);
    }
    event.source.vendor = Some("Verkada".to_owned());
    event.source.product = Some("Access Control".to_owned());
    keep_attrs(&mut event, &root, data);

    let kind = str_at(data, &["notification_type"]).unwrap_or_default();
    let is_access = kind.starts_with("door_")
        || kind.starts_with("all_access_")
        || str_at(data, &["device_type"]) == Some("access_control");
    if is_access {
        access_event(&mut event, kind, data);
    } else {
        event.message = match str_at(&root, &["webhook_type"]) {
            Some(t) if !kind.is_empty() => format!("Verkada {t}: {kind}"),
            Some(t) => format!("Verkada {t}"),
            None => "Verkada webhook".to_owned(),
        };
    }
    finish(&mut event, ctx, Some(text));
    Ok(vec![event])
}

fn keep_attrs(event: &mut Event, root: &Map<String, Value>, data: &Map<String, Value>) {
    for (k, v) in root {
        if k != "data" {
            event.attrs.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in data {
        let key = if event.attrs.contains_key(k) {
            format!("data.{k}")
        } else {
            k.clone()
        };
        event.attrs.insert(key, v.clone());
    }
}

/// The non-empty string at `path` in nested objects.
fn str_at<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (last, parents) = path.split_last()?;
    let mut current = map;
    for key in parents {
        current = current.get(*key)?.as_object()?;
    }
    current
        .get(*last)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn first_str<'a>(map: &'a Map<String, Value>, paths: &[&[&str]]) -> Option<&'a str> {
    paths.iter().find_map(|p| str_at(map, p))
}

fn access_event(event: &mut Event, kind: &str, data: &Map<String, Value>) {
    use Activity as A;
    let (class, activity, outcome, severity) = match kind {
        "door_granted" | "all_access_granted" => (
            Class::PhysicalAccess,
            A::Granted,
            Outcome::Success,
            Severity::Informational,
        ),
        "door_press_to_exit_accepted" => (
            Class::PhysicalAccess,
            A::RequestToExit,
            Outcome::Success,
            Severity::Informational,
        ),
        k if k.ends_with("_accepted") => (
            Class::PhysicalAccess,
            A::Granted,
            Outcome::Success,
            Severity::Informational,
        ),
        "door_rejected" | "all_access_rejected" => (
            Class::PhysicalAccess,
            A::Denied,
            Outcome::Failure,
            Severity::Low,
        ),
        k if k.ends_with("_rejected") => (
            Class::PhysicalAccess,
            A::Denied,
            Outcome::Failure,
            Severity::Low,
        ),
        "door_forced_open" => (
            Class::PhysicalAccess,
            A::Forced,
            Outcome::Unknown,
            Severity::High,
        ),
        "door_held_open" => (
            Class::PhysicalAccess,
            A::HeldOpen,
            Outcome::Unknown,
            Severity::Medium,
        ),
        "door_tailgating" => (
            Class::PhysicalAccess,
            A::Tailgate,
            Outcome::Unknown,
            Severity::Medium,
        ),
        "door_tamper" => (
            Class::PhysicalAccess,
            A::Tamper,
            Outcome::Unknown,
            Severity::High,
        ),
        "door_apb_double_entry" | "door_apb_double_exit" => (
            Class::PhysicalAccess,
            A::AntiPassback,
            Outcome::Failure,
            Severity::Medium,
        ),
        "door_acu_offline" => (
            Class::DeviceStatus,
            A::Offline,
            Outcome::Unknown,
            Severity::Medium,
        ),
        _ => (
            Class::PhysicalAccess,
            A::Other,
            Outcome::Unknown,
            Severity::Informational,
        ),
    };
    event.class = class;
    event.activity = activity;
    event.outcome = outcome;
    event.severity = severity;

    match activity {
        A::Denied => {
            let reason = if kind.contains("code") {
                "wrong_pin"
            } else {
                first_str(data, &[&["reason"], &["message"], &["rejection_reason"]])
                    .map_or("other", normalise_reason)
            };
            event.physical_mut().reason = Some(reason.to_owned());
        }
        A::AntiPassback => {
            event.physical_mut().reason = Some("anti_passback".to_owned());
        }
        A::Tailgate => {
            event.physical_mut().inference = Some(Inference {
                derivation: TAILGATE_DERIVATION.to_owned(),
                confidence: TAILGATE_CONFIDENCE,
            });
        }
        _ => {}
    }

    // Who.
    let user = |key| str_at(data, &["user_info", key]);
    event.actor.user = user("name").map(str::to_owned).or_else(|| {
        let full = [user("first_name"), user("last_name")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!full.is_empty()).then_some(full)
    });
    event.actor.email = user("email").map(str::to_owned);
    event.actor.uid = user("user_id").map(str::to_owned);
    if !kind.contains("code") {
        event.actor.badge = str_at(data, &["input_value"]).map(str::to_owned);
    }

    // Where.
    let door = first_str(data, &[&["door_info", "name"], &["door_name"]]);
    let site = first_str(
        data,
        &[
            &["door_info", "site", "name"],
            &["door_info", "site_name"],
            &["site", "name"],
            &["site_name"],
            &["aux_info", "site", "name"],
        ],
    );
    let building = first_str(data, &[&["door_info", "building_name"], &["building_name"]]);
    let floor = first_str(data, &[&["door_info", "floor_name"], &["floor_name"]]);
    for (value, slot) in [(door, 0), (site, 1), (building, 2), (floor, 3)] {
        if let Some(v) = value {
            let place = event.place_mut();
            let field = match slot {
                0 => &mut place.door,
                1 => &mut place.site,
                2 => &mut place.building,
                _ => &mut place.floor,
            };
            *field = Some(v.to_owned());
        }
    }
    // Verkada's own ids: `door_id` and `device_id` are in every access event, `door_info`
    // (the names) only sometimes, so the ids are what resolution relies on.
    let site_id = first_str(
        data,
        &[
            &["door_info", "site", "site_id"],
            &["door_info", "site_id"],
            &["site", "site_id"],
            &["site_id"],
        ],
    );
    let door_id = str_at(data, &["door_id"]);
    let device_id = str_at(data, &["device_id"]);
    for (what, id) in [("door", door_id), ("site", site_id), ("device", device_id)] {
        if let Some(id) = id {
            let place = event.place_mut();
            place.ids.insert(what.to_owned(), id.to_owned());
            place.system = Some(SYSTEM.to_owned());
        }
    }
    if let Some(id) = device_id {
        let device = event.device_mut();
        device.external_id = Some(id.to_owned());
        device.system = Some(SYSTEM.to_owned());
    }
    if class == Class::PhysicalAccess {
        let direction = match str_at(data, &["direction"]).map(str::to_ascii_lowercase) {
            Some(d) if d == "inbound" || d == "in" => Some("in"),
            Some(d) if d == "outbound" || d == "out" => Some("out"),
            _ => None,
        };
        if let Some(d) = direction {
            event.physical_mut().direction = Some(d.to_owned());
        }
    }

    let door_id = door_id.map(|id| format!("door {id}"));
    let door = door.or(door_id.as_deref());
    event.message = match (door, event.actor.user.as_deref()) {
        (Some(door), Some(user)) => format!("{kind} at {door} by {user}"),
        (Some(door), None) => format!("{kind} at {door}"),
        (None, Some(user)) => format!("{kind} by {user}"),
        (None, None) => kind.to_owned(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::*;

    #[test]
    fn sign_matches_an_independent_hmac() {
        // HMAC-SHA256("secret", "{}|1597685622"), computed with Python's hmac module.
        assert_eq!(
            sign(b"secret", 1_597_685_622, b"{}"),
            "1597685622|a814e7a1ffdbb8d6cd8505e40b06c47ee804e2b94172aef7d189b019fc12dccd"
        );
    }

    #[test]
    fn verify_round_trip_and_failures() {
        let now = at("2026-03-04T10:00:00Z");
        let ts = now.timestamp();
        let body = br#"{"webhook_type":"notification"}"#;
        let header = sign(b"k", ts, body);
        assert_eq!(
            verify(b"k", Some(&header), body, now, DEFAULT_WINDOW),
            Ok(())
        );
        assert_eq!(
            verify(b"other", Some(&header), body, now, DEFAULT_WINDOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"k", None, body, now, DEFAULT_WINDOW),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            verify(b"k", Some("abc|def"), body, now, DEFAULT_WINDOW),
            Err(SignatureError::Malformed(_))
        ));
        let later = now + TimeDelta::minutes(6);
        assert!(matches!(
            verify(b"k", Some(&header), body, later, DEFAULT_WINDOW),
            Err(SignatureError::OutsideWindow {
                skew_seconds: 360,
                ..
            })
        ));
    }

    #[test]
    fn a_copy_of_a_delivery_is_recognised_however_its_header_is_spelled() {
        let now = at("2026-03-04T10:00:00Z");
        let ts = now.timestamp();
        let body = br#"{"webhook_type":"notification"}"#;
        let header = sign(b"k", ts, body);
        let guard = ReplayGuard::default();
        let first = verify_delivery(b"k", Some(&header), body, now, DEFAULT_WINDOW).unwrap();
        assert!(guard.first_time(&first, now, DEFAULT_WINDOW));
        assert!(!guard.first_time(&first, now, DEFAULT_WINDOW));
        // Upper-case hex and an extra candidate verify as well; they are the same delivery.
        let (t, sig) = header.split_once('|').unwrap();
        let respelled = format!("{t}|{}|{}", sig.to_uppercase(), "0".repeat(64));
        let copy = verify_delivery(b"k", Some(&respelled), body, now, DEFAULT_WINDOW).unwrap();
        assert_eq!(copy, first);
        assert!(!guard.first_time(&copy, now, DEFAULT_WINDOW));
        // Another attempt of the same event is signed at another second: a new delivery.
        let retry = sign(b"k", ts + 1, body);
        let retry = verify_delivery(b"k", Some(&retry), body, now, DEFAULT_WINDOW).unwrap();
        assert!(guard.first_time(&retry, now, DEFAULT_WINDOW));
        // A delivery whose events were not stored is taken again.
        guard.forget(&retry);
        assert!(guard.first_time(&retry, now, DEFAULT_WINDOW));
    }

    #[test]
    fn replay_memory_is_bounded() {
        let now = at("2026-03-04T10:00:00Z");
        let guard = ReplayGuard::new(3);
        let delivery = |n: u8, age: i64| Delivery {
            timestamp: now.timestamp() - age,
            id: [n; 32],
        };
        for n in 0..3 {
            assert!(guard.first_time(&delivery(n, 0), now, DEFAULT_WINDOW));
        }
        assert_eq!(guard.len(), 3);
        // Full: the next one pushes out the one closest to leaving the window.
        assert!(guard.first_time(&delivery(9, 10), now, DEFAULT_WINDOW));
        assert_eq!(guard.len(), 3);
        // Entries whose timestamp has left the window are dropped as time passes.
        let later = now + DEFAULT_WINDOW + TimeDelta::seconds(1);
        assert!(guard.first_time(&delivery(7, 0), later, DEFAULT_WINDOW));
        assert_eq!(guard.len(), 1);
    }

    #[test]
    fn hex() {
        assert_eq!(decode_hex(&"0f".repeat(32)), Some(vec![15; 32]));
        assert_eq!(decode_hex(&"0F".repeat(32)), Some(vec![15; 32]));
        assert_eq!(decode_hex(&"zz".repeat(32)), None);
        assert_eq!(decode_hex("00"), None);
        assert_eq!(decode_hex(&"é".repeat(32)), None);
    }
}
