//! Verkada webhooks: every fixture decoded, signatures good, bad, stale, missing, malformed,
//! and garbage.

use chrono::TimeDelta;
use proptest::prelude::*;
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_ingest::integrations::verkada::{self, DEFAULT_WINDOW, SignatureError};
use tandem_model::{Activity as A, Class as C, Event, Outcome as O, Severity, Timestamp};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ctx() -> DecodeContext {
    DecodeContext::new("verkada", at("2026-03-04T10:00:00Z"))
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/verkada/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn decode(name: &str) -> Event {
    let text = fixture(name);
    let mut events = verkada::decode(&text, &ctx()).unwrap();
    assert_eq!(events.len(), 1, "{name}");
    let e = events.remove(0);
    assert_eq!(e.raw.as_deref(), Some(text.as_str()));
    assert_eq!(e.source.name, "verkada");
    e
}

#[test]
fn every_access_fixture() {
    // fixture → (class, activity, outcome, severity)
    let cases = [
        (
            "door_granted",
            (
                C::PhysicalAccess,
                A::Granted,
                O::Success,
                Severity::Informational,
            ),
        ),
        (
            "door_keycard_entered_rejected",
            (C::PhysicalAccess, A::Denied, O::Failure, Severity::Low),
        ),
        (
            "door_code_entered_rejected",
            (C::PhysicalAccess, A::Denied, O::Failure, Severity::Low),
        ),
        (
            "door_forced_open",
            (C::PhysicalAccess, A::Forced, O::Unknown, Severity::High),
        ),
        (
            "door_held_open",
            (C::PhysicalAccess, A::HeldOpen, O::Unknown, Severity::Medium),
        ),
        (
            "door_tailgating",
            (C::PhysicalAccess, A::Tailgate, O::Unknown, Severity::Medium),
        ),
        (
            "door_tamper",
            (C::PhysicalAccess, A::Tamper, O::Unknown, Severity::High),
        ),
        (
            "door_acu_offline",
            (C::DeviceStatus, A::Offline, O::Unknown, Severity::Medium),
        ),
        (
            "door_apb_double_entry",
            (
                C::PhysicalAccess,
                A::AntiPassback,
                O::Failure,
                Severity::Medium,
            ),
        ),
        (
            "door_lockdown",
            (
                C::PhysicalAccess,
                A::Other,
                O::Unknown,
                Severity::Informational,
            ),
        ),
    ];
    for (name, want) in cases {
        let e = decode(name);
        assert_eq!((e.class, e.activity, e.outcome, e.severity), want, "{name}");
        assert_eq!(e.source.vendor.as_deref(), Some("Verkada"));
        let place = e.place.as_ref().unwrap();
        assert_eq!(place.door.as_deref(), Some("HQ Lobby East"), "{name}");
        assert_eq!(place.site.as_deref(), Some("HQ"), "{name}");
        assert_eq!(e.attrs["notification_type"], name);
        assert_eq!(e.attrs["org_id"], "1455hjew-ghg5-4125-a1a7-954ea4e911fe");
    }
}

#[test]
fn granted_maps_person_badge_time_and_direction() {
    let e = decode("door_granted");
    assert_eq!(e.time, at("2026-03-04T09:15:01Z"), "from data.created");
    assert_eq!(e.actor.user.as_deref(), Some("Jane Doe"));
    assert_eq!(e.actor.email.as_deref(), Some("jane.doe@example.com"));
    assert_eq!(
        e.actor.uid.as_deref(),
        Some("a1b2c3d4-0000-4000-8000-000000000001")
    );
    assert_eq!(e.actor.badge.as_deref(), Some("40123"));
    assert_eq!(
        e.physical.as_ref().unwrap().direction.as_deref(),
        Some("in")
    );
    assert_eq!(e.message, "door_granted at HQ Lobby East by Jane Doe");
    assert_eq!(e.attrs["door_id"], "8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42");
    assert_eq!(e.attrs["user_info"]["first_name"], "Jane");
}

#[test]
fn rejections_carry_a_reason() {
    let keycard = decode("door_keycard_entered_rejected");
    assert_eq!(keycard.physical.unwrap().reason.as_deref(), Some("other"));
    assert_eq!(keycard.actor.badge.as_deref(), Some("40777"));
    assert!(keycard.actor.user.is_none());

    let code = decode("door_code_entered_rejected");
    assert_eq!(code.physical.unwrap().reason.as_deref(), Some("wrong_pin"));
    // An entry code is a secret, never an identifier.
    assert!(code.actor.badge.is_none());

    // A reason text, when a payload carries one, is normalised.
    let mut v: serde_json::Value =
        serde_json::from_str(&fixture("door_keycard_entered_rejected")).unwrap();
    v["data"]["message"] = "Credential expired".into();
    let e = verkada::decode(&v.to_string(), &ctx()).unwrap().remove(0);
    assert_eq!(e.physical.unwrap().reason.as_deref(), Some("expired"));
}

#[test]
fn tailgating_is_marked_as_inferred_by_verkada() {
    let e = decode("door_tailgating");
    let inference = e.physical.unwrap().inference.unwrap();
    assert_eq!(inference.derivation, verkada::TAILGATE_DERIVATION);
    assert!(inference.derivation.contains("Verkada"));
    assert_eq!(inference.confidence, verkada::TAILGATE_CONFIDENCE);
}

#[test]
fn anti_passback_reason() {
    let e = decode("door_apb_double_entry");
    assert_eq!(e.physical.unwrap().reason.as_deref(), Some("anti_passback"));
}

#[test]
fn published_non_access_samples_stay_other() {
    let motion = decode("camera_motion_notification");
    assert_eq!((motion.class, motion.activity), (C::Other, A::Unknown));
    assert_eq!(motion.time, at("2020-08-17T17:33:00Z"), "data.created");
    assert_eq!(
        motion.attrs["camera_id"],
        "123456-eade-7890-8ee5-aaf22d01d91a"
    );
    assert_eq!(motion.message, "Verkada notification: motion");
    assert!(motion.place.is_none());

    let alarm = decode("alarm_site_state_changed");
    assert_eq!(alarm.class, C::Other);
    assert_eq!(
        alarm.time,
        at("2023-05-26T19:36:30Z"),
        "top-level created_at"
    );
    assert_eq!(alarm.attrs["site_name"], "Office 1st Floor");
    assert_eq!(alarm.attrs["event_type"], "resolved");
}

#[test]
fn decode_errors() {
    let err = |s: &str| verkada::decode(s, &ctx()).unwrap_err();
    assert_eq!(err("   "), DecodeError::Empty);
    assert!(matches!(err("{\"a\":"), DecodeError::InvalidJson { .. }));
    assert!(err("[1,2]").to_string().contains("JSON object"));
    assert!(err(r#"{"data":5}"#).to_string().contains("`data`"));
    // No data and no time: still an event, timed by receipt.
    let e = verkada::decode(r#"{"webhook_type":"ping"}"#, &ctx())
        .unwrap()
        .remove(0);
    assert_eq!(e.labels["time_source"], "received");
    assert_eq!(e.class, C::Other);
}

const SECRET: &[u8] = b"shared-secret-from-command";

#[test]
fn signature_good() {
    let now = at("2026-03-04T09:15:03Z");
    for name in ["door_granted", "camera_motion_notification"] {
        let body = fixture(name);
        let header = verkada::sign(SECRET, now.timestamp() - 2, body.as_bytes());
        assert!(header.starts_with("1772615701|"));
        assert_eq!(header.len(), "1772615701|".len() + 64);
        assert_eq!(
            verkada::verify(SECRET, Some(&header), body.as_bytes(), now, DEFAULT_WINDOW),
            Ok(())
        );
        // Surrounding whitespace in the header value is tolerated.
        let padded = format!("  {header} ");
        assert_eq!(
            verkada::verify(SECRET, Some(&padded), body.as_bytes(), now, DEFAULT_WINDOW),
            Ok(())
        );
    }
}

#[test]
fn signature_bad() {
    let now = at("2026-03-04T09:15:03Z");
    let body = fixture("door_granted");
    let header = verkada::sign(SECRET, now.timestamp(), body.as_bytes());
    let check = |secret: &[u8], header: &str, body: &str| {
        verkada::verify(secret, Some(header), body.as_bytes(), now, DEFAULT_WINDOW)
    };
    assert_eq!(
        check(b"wrong", &header, &body),
        Err(SignatureError::Mismatch)
    );
    // One byte of the body changed.
    let tampered = body.replace("door_granted", "door_grantee");
    assert_eq!(
        check(SECRET, &header, &tampered),
        Err(SignatureError::Mismatch)
    );
    // The timestamp is signed: moving it breaks the signature.
    let (_, sig) = header.split_once('|').unwrap();
    let moved = format!("{}|{sig}", now.timestamp() + 1);
    assert_eq!(check(SECRET, &moved, &body), Err(SignatureError::Mismatch));
    // Uppercase hex is the same signature.
    let upper = format!("{}|{}", now.timestamp(), sig.to_uppercase());
    assert_eq!(check(SECRET, &upper, &body), Ok(()));
    // A second candidate signature (secret rotation) is accepted if one matches.
    let two = format!("{}|{}|{sig}", now.timestamp(), "00".repeat(32));
    assert_eq!(check(SECRET, &two, &body), Ok(()));
    // An empty secret never verifies.
    assert_eq!(check(b"", &header, &body), Err(SignatureError::NoSecret));
}

#[test]
fn signature_stale_or_from_the_future() {
    let body = fixture("door_granted");
    let signed_at = at("2026-03-04T09:15:00Z");
    let header = verkada::sign(SECRET, signed_at.timestamp(), body.as_bytes());
    let verify = |now: Timestamp, window: TimeDelta| {
        verkada::verify(SECRET, Some(&header), body.as_bytes(), now, window)
    };
    assert_eq!(
        verify(signed_at + TimeDelta::seconds(300), DEFAULT_WINDOW),
        Ok(())
    );
    assert_eq!(
        verify(signed_at + TimeDelta::seconds(301), DEFAULT_WINDOW),
        Err(SignatureError::OutsideWindow {
            timestamp: signed_at.timestamp(),
            skew_seconds: 301,
            window_seconds: 300
        })
    );
    assert!(matches!(
        verify(signed_at - TimeDelta::seconds(120), TimeDelta::seconds(60)),
        Err(SignatureError::OutsideWindow {
            skew_seconds: -120,
            ..
        })
    ));
    let stale = verify(signed_at + TimeDelta::hours(1), DEFAULT_WINDOW).unwrap_err();
    assert!(stale.to_string().contains("replay window"), "{stale}");
}

#[test]
fn signature_missing_or_malformed() {
    let now = at("2026-03-04T09:15:00Z");
    let body = b"{}";
    let verify = |h: Option<&str>| verkada::verify(SECRET, h, body, now, DEFAULT_WINDOW);
    assert_eq!(verify(None), Err(SignatureError::Missing));
    assert_eq!(verify(Some("")), Err(SignatureError::Missing));
    assert_eq!(verify(Some("   ")), Err(SignatureError::Missing));
    for bad in [
        "1772615700",
        "1772615700|",
        "abc|00",
        "-5|",
        "1772615700|xyz",
        &format!("1772615700|{}", "0".repeat(63)),
        &format!("1772615700|{}", "g".repeat(64)),
        &format!("+1772615700|{}", "0".repeat(64)),
        "99999999999999999999999|00",
    ] {
        let err = verify(Some(bad)).unwrap_err();
        assert!(
            matches!(err, SignatureError::Malformed(_)),
            "{bad}: {err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("malformed Verkada-Signature header")
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn garbage_never_panics(s in "\\PC{0,300}") {
        let _ = verkada::decode(&s, &ctx());
        let _ = verkada::verify(SECRET, Some(&s), s.as_bytes(), ctx().received, DEFAULT_WINDOW);
    }

    #[test]
    fn json_shaped_garbage_never_panics(
        kind in "(door_[a-z_]{0,20}|all_access_[a-z]{0,10}|[a-z]{0,8})",
        name in prop::option::of("\\PC{0,20}"),
        created in prop::option::of(any::<i64>()),
        direction in prop::option::of("(Inbound|Outbound|\\PC{0,5})"),
    ) {
        let body = serde_json::json!({
            "webhook_type": "notification",
            "created_at": created,
            "data": {
                "notification_type": kind,
                "created": created,
                "direction": direction,
                "user_info": { "name": name },
                "door_info": { "name": name, "site": { "name": name } },
            }
        });
        let events = verkada::decode(&body.to_string(), &ctx()).unwrap();
        prop_assert_eq!(events.len(), 1);
    }

    #[test]
    fn any_body_signs_and_verifies(body in prop::collection::vec(any::<u8>(), 0..200), ts in 0i64..4_000_000_000) {
        let now = chrono::DateTime::from_timestamp(ts, 0).unwrap();
        let header = verkada::sign(SECRET, ts, &body);
        prop_assert_eq!(verkada::verify(SECRET, Some(&header), &body, now, DEFAULT_WINDOW), Ok(()));
        let mut other = body.clone();
        other.push(b'x');
        prop_assert_eq!(
            verkada::verify(SECRET, Some(&header), &other, now, DEFAULT_WINDOW),
            Err(SignatureError::Mismatch)
        );
    }
}

/// Verkada's `door_info` is optional; `door_id` and `device_id` are always there. A delivery
/// without `door_info` must still say which door, by Verkada's ids.
#[test]
fn a_delivery_without_door_info_keeps_verkadas_ids() {
    let e = decode("door_granted_without_door_info");
    assert_eq!(e.class, C::PhysicalAccess);
    let place = e.place.as_ref().expect("a place from the ids");
    assert_eq!(place.door, None);
    assert_eq!(place.system.as_deref(), Some("verkada"));
    assert_eq!(place.ids["door"], "8c0e1a55-3f2d-4d6e-b1a0-5b9f2c7d1e42");
    assert_eq!(place.ids["device"], "0c81dca6-8fe9-40fa-b924-f3d07e920b6b");
    let device = e.device.as_ref().unwrap();
    assert_eq!(
        device.external_id.as_deref(),
        Some("0c81dca6-8fe9-40fa-b924-f3d07e920b6b")
    );
    assert_eq!(device.system.as_deref(), Some("verkada"));
    assert!(e.message.contains("8c0e1a55"), "{}", e.message);

    // With `door_info`, the site's id is kept too.
    let e = decode("door_granted");
    let place = e.place.as_ref().unwrap();
    assert_eq!(place.door.as_deref(), Some("HQ Lobby East"));
    assert_eq!(place.ids["site"], "f53e3b84-e534-4de5-821c-5263d96d3623");
}
