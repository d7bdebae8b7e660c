//! Okta System Log decoding against Okta's published samples (see `fixtures/okta/README.md`).

use proptest::prelude::*;
use serde_json::{Value, json};
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_ingest::integrations::okta;
use tandem_model::{Activity as A, Class as C, Event, Outcome as O, Severity};

fn ctx() -> DecodeContext {
    DecodeContext::new("okta-prod", "2026-03-04T10:00:00Z".parse().unwrap())
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/okta/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes a fixture that holds exactly one LogEvent.
fn one(name: &str) -> Event {
    let mut events = okta::decode(&fixture(name), &ctx()).unwrap();
    assert_eq!(events.len(), 1, "{name}");
    events.remove(0)
}

fn shape(e: &Event) -> (C, A, O) {
    (e.class, e.activity, e.outcome)
}

fn at(s: &str) -> tandem_model::Timestamp {
    s.parse().unwrap()
}

/// `fixture` with `eventType` and `displayMessage` replaced, as another event kind.
fn as_kind(name: &str, event_type: &str, message: &str) -> String {
    let mut v: Value = serde_json::from_str(&fixture(name)).unwrap();
    v["eventType"] = json!(event_type);
    v["displayMessage"] = json!(message);
    v.to_string()
}

fn decode_one(text: &str) -> Event {
    let mut events = okta::decode(text, &ctx()).unwrap();
    assert_eq!(events.len(), 1);
    events.remove(0)
}

#[test]
fn session_start_success() {
    let page = okta::decode(&fixture("logs-page.json"), &ctx()).unwrap();
    let e = &page[0];
    assert_eq!(shape(e), (C::Authentication, A::Logon, O::Success));
    assert_eq!(e.time, at("2020-02-14T20:18:57.718Z"));
    assert_eq!(e.severity, Severity::Informational);
    assert_eq!(e.message, "User login to Okta");
    assert_eq!(e.actor.uid.as_deref(), Some("00u1abvz4pYqdM8ms4x6"));
    assert_eq!(e.actor.user.as_deref(), Some("xxxxxx@elastic.co"));
    assert_eq!(e.actor.email.as_deref(), Some("xxxxxx@elastic.co"));
    let src = e.src.as_ref().unwrap();
    assert_eq!(src.ip, Some("175.16.199.1".parse().unwrap()));
    let geo = src.geo.as_ref().unwrap();
    assert_eq!(geo.country.as_deref(), Some("US"));
    assert_eq!(geo.region.as_deref(), Some("California"));
    assert_eq!(geo.city.as_deref(), Some("Dublin"));
    assert_eq!((geo.lat, geo.lon), (Some(37.7201), Some(-121.919)));
    assert_eq!(e.source.vendor.as_deref(), Some("Okta"));
    assert_eq!(e.source.product.as_deref(), Some("Okta System Log"));
    assert_eq!(e.source.name, "okta-prod");
    assert_eq!(e.observed_time, Some(ctx().received));
    // Okta's own fields, under Okta's names.
    assert_eq!(e.attrs["eventType"], "user.session.start");
    assert_eq!(e.attrs["displayMessage"], "User login to Okta");
    assert_eq!(e.attrs["legacyEventType"], "core.user_auth.login_success");
    assert_eq!(e.attrs["severity"], "INFO");
    assert_eq!(e.attrs["outcome"]["result"], "SUCCESS");
    assert_eq!(
        e.attrs["debugContext"]["debugData"]["deviceFingerprint"],
        "541daf91d15bef64a7e08c946fd9a9d0"
    );
    assert_eq!(
        e.attrs["authenticationContext"]["externalSessionId"],
        "102bZDNFfWaQSyEZQuDgWt-uQ"
    );
    assert_eq!(e.attrs["client"]["userAgent"]["browser"], "FIREFOX");
    assert_eq!(e.attrs["client"]["zone"], "null");
    assert!(e.attrs.contains_key("securityContext"));
}

#[test]
fn session_start_failure() {
    let e = one("failed-login.json");
    assert_eq!(shape(&e), (C::Authentication, A::Logon, O::Failure));
    assert_eq!(e.severity, Severity::Low);
    assert_eq!(e.time, at("2020-11-25T21:27:03.496Z"));
    assert_eq!(e.actor.user.as_deref(), Some("jack@acme.io"));
    assert_eq!(e.attrs["outcome"]["reason"], "VERIFICATION_ERROR");
    let src = e.src.unwrap();
    assert_eq!(src.ip, Some("136.24.229.58".parse().unwrap()));
    assert_eq!(src.geo.unwrap().city.as_deref(), Some("San Francisco"));
}

#[test]
fn security_context_is_kept_and_mfa_failure_is_a_failed_logon() {
    let e = one("proxy-mfa-failure.json");
    assert_eq!(shape(&e), (C::Authentication, A::Logon, O::Failure));
    assert_eq!(e.attrs["securityContext"]["isProxy"], true);
    assert_eq!(e.attrs["securityContext"]["asNumber"], 701);
    assert_eq!(e.attrs["securityContext"]["domain"], "anonymous.org");
    assert_eq!(
        e.attrs["outcome"]["reason"],
        "FastPass declined phishing attempt"
    );
    assert_eq!(e.attrs["target.user"], "peter.griffin@company.com");
    assert_eq!(e.attrs["target.uid"], "0002222AAAA");
}

#[test]
fn authentication_event_types_are_logons() {
    for (event_type, message) in [
        ("user.authentication.sso", "User single sign on to app"),
        (
            "user.authentication.auth_via_mfa",
            "Authentication of user via MFA",
        ),
        ("user.authentication.verify", "Verify user identity"),
        (
            "user.authentication.auth_via_radius",
            "Authenticate user via Radius",
        ),
        (
            "user.mfa.okta_verify.deny_push",
            "User rejected Okta push verify",
        ),
        ("user.mfa.attempt_bypass", "Attempt bypass of factor"),
    ] {
        let e = decode_one(&as_kind("failed-login.json", event_type, message));
        assert_eq!(
            shape(&e),
            (C::Authentication, A::Logon, O::Failure),
            "{event_type}"
        );
        assert_eq!(e.message, message);
        assert_eq!(e.attrs["eventType"], event_type);
    }
}

#[test]
fn session_end_is_a_logoff() {
    let page = okta::decode(&fixture("logs-page.json"), &ctx()).unwrap();
    let e = &page[2];
    assert_eq!(shape(e), (C::Authentication, A::Logoff, O::Success));
    assert_eq!(e.message, "User logout from Okta");
    assert_eq!(e.actor.user.as_deref(), Some("username@elastic.co"));
    assert_eq!(e.time, at("2020-02-14T22:18:51.843Z"));
}

#[test]
fn user_lifecycle_deactivate_is_a_disable() {
    let e = one("lifecycle-deactivate.json");
    assert_eq!(shape(&e), (C::AccountChange, A::Disable, O::Success));
    assert_eq!(e.severity, Severity::Low);
    assert_eq!(e.message, "Deactivate Okta User");
    assert_eq!(e.actor.user.as_deref(), Some("joe.coder@example.com"));
    assert_eq!(e.attrs["target.user"], "john-with-group@example.com");
    assert_eq!(e.attrs["target.uid"], "00ud384zryL1GFAg30h7");
    let geo = e.src.unwrap().geo.unwrap();
    assert_eq!(geo.region.as_deref(), Some("New Hampshire"));
    assert_eq!((geo.lat, geo.lon), (Some(43.3091), Some(-71.6861)));
}

#[test]
fn user_lifecycle_and_account_event_types() {
    for (event_type, message, activity) in [
        ("user.lifecycle.create", "Create Okta user", A::Create),
        ("user.lifecycle.activate", "Activate Okta user", A::Enable),
        (
            "user.lifecycle.reactivate",
            "Reactivate Okta user",
            A::Enable,
        ),
        ("user.lifecycle.unsuspend", "Unsuspend Okta user", A::Enable),
        ("user.lifecycle.suspend", "Suspend Okta user", A::Disable),
        (
            "user.lifecycle.delete.initiated",
            "Delete Okta user initiated",
            A::Delete,
        ),
        (
            "user.account.update_password",
            "User update password for Okta",
            A::PasswordChange,
        ),
        ("user.account.unlock", "Unlock Okta user", A::Enable),
        (
            "user.mfa.factor.deactivate",
            "Reset factor for user",
            A::Other,
        ),
    ] {
        let e = decode_one(&as_kind("lifecycle-deactivate.json", event_type, message));
        assert_eq!(
            shape(&e),
            (C::AccountChange, activity, O::Success),
            "{event_type}"
        );
        // The account acted on, not the administrator.
        assert_eq!(e.attrs["target.user"], "john-with-group@example.com");
    }
}

#[test]
fn account_lock() {
    let e = one("account-lock.json");
    // Okta logs the refused sign-in's FAILURE; the lock itself took effect.
    assert_eq!(shape(&e), (C::AccountChange, A::Lock, O::Success));
    assert_eq!(e.severity, Severity::Low);
    assert_eq!(
        e.message,
        "Account Locked from New Devices - Max sign-in attempts exceeded."
    );
    assert_eq!(e.attrs["outcome"]["reason"], "LOCKED_OUT");
    assert_eq!(e.attrs["securityContext"]["isp"], "att services inc");
    assert_eq!(e.time, at("2022-11-22T18:48:49.177Z"));
    let geo = e.src.unwrap().geo.unwrap();
    assert_eq!(geo.city.as_deref(), Some("Atlanta"));
    assert_eq!((geo.lat, geo.lon), (Some(33.0), Some(-80.0)));
}

#[test]
fn password_reset() {
    let e = one("reset-password.json");
    assert_eq!(shape(&e), (C::AccountChange, A::PasswordReset, O::Success));
    assert_eq!(e.severity, Severity::Low);
    assert_eq!(e.actor.user.as_deref(), Some("marge@springfield.gov"));
    assert_eq!(e.attrs["target.user"], "homer@springfield.gov");
    // No `published` in Panther's sample: timed by receipt, and said so.
    assert_eq!(e.time, ctx().received);
    assert_eq!(e.labels["time_source"], "received");
    // A geographicalContext without coordinates still gives the names.
    let geo = e.src.unwrap().geo.unwrap();
    assert_eq!(geo.city.as_deref(), Some("Springfield"));
    assert_eq!(geo.lat, None);
}

#[test]
fn policy_and_other_events_keep_everything() {
    let page = okta::decode(&fixture("logs-page.json"), &ctx()).unwrap();
    let e = &page[1];
    assert_eq!(shape(e), (C::Other, A::Other, O::Success));
    assert_eq!(e.message, "Evaluation of sign-on policy");
    assert_eq!(e.attrs["eventType"], "policy.evaluate_sign_on");
    assert_eq!(e.attrs["outcome"]["result"], "ALLOW");
    assert_eq!(e.attrs["target"][0]["type"], "PolicyEntity");
    assert_eq!(e.attrs["target"][1]["displayName"], "Default Rule");
    assert!(!e.attrs.contains_key("target.user"), "no User target");
    for (event_type, outcome) in [
        ("app.oauth2.as.token.grant", "SUCCESS"),
        ("system.api_token.create", "SUCCESS"),
        ("policy.evaluate_sign_on", "DENY"),
        ("policy.evaluate_sign_on", "CHALLENGE"),
    ] {
        let mut v: Value = serde_json::from_str(&fixture("failed-login.json")).unwrap();
        v["eventType"] = json!(event_type);
        v["outcome"]["result"] = json!(outcome);
        let e = decode_one(&v.to_string());
        assert_eq!((e.class, e.activity), (C::Other, A::Other));
        let expected = match outcome {
            "SUCCESS" => O::Success,
            "DENY" => O::Failure,
            _ => O::Unknown,
        };
        assert_eq!(e.outcome, expected, "{event_type} {outcome}");
    }
}

#[test]
fn okta_severity_is_honoured() {
    let mut v: Value = serde_json::from_str(&fixture("failed-login.json")).unwrap();
    v["eventType"] = json!("security.threat.detected");
    v["severity"] = json!("WARN");
    assert_eq!(decode_one(&v.to_string()).severity, Severity::Medium);
    v["severity"] = json!("ERROR");
    assert_eq!(decode_one(&v.to_string()).severity, Severity::High);
}

#[test]
fn single_object_keeps_its_text_as_raw() {
    let text = fixture("failed-login.json");
    let e = one("failed-login.json");
    assert_eq!(e.raw.as_deref(), Some(text.trim()));
}

#[test]
fn docs_example_with_an_impossible_date() {
    // Okta's reference example is dated 2017-09-31, which does not exist.
    let e = one("logevent-docs-example.json");
    assert_eq!(shape(&e), (C::Authentication, A::Logon, O::Success));
    assert_eq!(e.time, ctx().received);
    assert_eq!(e.labels["time_source"], "received");
    assert_eq!(e.attrs["published"], "2017-09-31T22:23:07.777Z");
    assert_eq!(e.actor.user.as_deref(), Some("admin@example.com"));
    assert_eq!(e.src.unwrap().ip, Some("12.97.85.90".parse().unwrap()));
    assert_eq!(e.attrs["device"]["os_platform"], "OSX");
}

#[test]
fn event_hook_delivery() {
    let events = okta::decode(&fixture("event-hook-delivery.json"), &ctx()).unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(shape(e), (C::Authentication, A::Logon, O::Success));
    assert_eq!(e.time, at("2018-03-28T22:23:07.777Z"));
    assert_eq!(e.actor.uid.as_deref(), Some("00u1qw6mqitPHM8AJ0g7"));
    // Raw is the LogEvent, not the delivery envelope.
    let raw: Value = serde_json::from_str(e.raw.as_deref().unwrap()).unwrap();
    assert_eq!(raw["uuid"], "f790999f-fe87-467a-9880-6982a583986c");
    assert!(raw.get("cloudEventsVersion").is_none());
    assert!(!e.attrs.contains_key("cloudEventsVersion"));
}

#[test]
fn logs_page_gives_one_event_per_log_event_with_its_own_raw() {
    let events = okta::decode(&fixture("logs-page.json"), &ctx()).unwrap();
    let kinds: Vec<_> = events
        .iter()
        .map(|e| e.attrs["eventType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "user.session.start",
            "policy.evaluate_sign_on",
            "user.session.end"
        ]
    );
    for e in &events {
        let raw: Value = serde_json::from_str(e.raw.as_deref().unwrap()).unwrap();
        assert_eq!(raw["eventType"], e.attrs["eventType"]);
        assert!(raw.is_object());
    }
}

#[test]
fn empty_deliveries_and_pages() {
    assert_eq!(okta::decode("[]", &ctx()).unwrap().len(), 0);
    let hook = r#"{"eventType":"com.okta.event_hook","data":{"events":[]}}"#;
    assert_eq!(okta::decode(hook, &ctx()).unwrap().len(), 0);
    assert_eq!(okta::decode(" \n", &ctx()), Err(DecodeError::Empty));
}

#[test]
fn errors_say_what_is_wrong() {
    let err = |text: &str| okta::decode(text, &ctx()).unwrap_err().to_string();
    assert!(
        err(&fixture("api-error.json"))
            .starts_with("Okta API error E0000001: Api validation failed"),
        "{}",
        err(&fixture("api-error.json"))
    );
    assert_eq!(
        err(r#"{"uuid":"x"}"#),
        "not an Okta LogEvent: missing field `eventType`"
    );
    assert_eq!(
        err(r#"{"eventType":42}"#),
        "field `eventType` must be a string, found a number"
    );
    assert_eq!(
        err(r#"[{"eventType":"user.session.start"}, 7]"#),
        "array element 1: expected a LogEvent object, found a number"
    );
    assert_eq!(
        err(r#"{"eventType":"com.okta.event_hook","data":{}}"#),
        "Okta event-hook delivery without a `data.events` array"
    );
    assert_eq!(
        err(r#"{"eventType":"com.okta.event_hook","data":{"events":[{}]}}"#),
        "data.events element 0: not an Okta LogEvent: missing field `eventType`"
    );
    assert_eq!(
        err("\"hello\""),
        "expected an Okta LogEvent object, an array of them or an event-hook delivery, found a string"
    );
    assert_eq!(
        err("{\"a\":"),
        "invalid JSON at column 5: EOF while parsing a value"
    );
}

#[test]
fn unusable_values_are_ignored_not_fatal() {
    let e = decode_one(
        r#"{"eventType":"user.session.start","published":"never","actor":{"id":7,"alternateId":"svc-account"},"client":{"ipAddress":"not-an-ip","geographicalContext":{"country":"Atlantis","geolocation":{"lat":400,"lon":0}}},"request":{"ipChain":[{"ip":"bad"},{"ip":"2001:db8::1"}]},"target":"nope"}"#,
    );
    assert_eq!(e.actor.uid, None);
    assert_eq!(e.actor.user.as_deref(), Some("svc-account"));
    assert_eq!(e.actor.email, None);
    let src = e.src.unwrap();
    assert_eq!(
        src.ip,
        Some("2001:db8::1".parse().unwrap()),
        "falls back to ipChain"
    );
    assert_eq!(src.geo, None, "unknown country, impossible latitude");
    assert_eq!(e.outcome, O::Unknown);
}

fn okta_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "eventType",
        "published",
        "displayMessage",
        "severity",
        "outcome",
        "result",
        "reason",
        "actor",
        "id",
        "alternateId",
        "client",
        "ipAddress",
        "geographicalContext",
        "geolocation",
        "lat",
        "lon",
        "country",
        "target",
        "type",
        "request",
        "ipChain",
        "ip",
        "data",
        "events",
        "errorCode",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
        Just(json!("user.session.start")),
        Just(json!("user.account.lock")),
        Just(json!("com.okta.event_hook")),
        Just(json!("FAILURE")),
        Just(json!("User")),
        Just(json!("United States")),
        Just(json!("2020-02-14T20:18:57.718Z")),
        Just(json!("10.0.0.1")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..7).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn okta_decode_never_panics_on_text(text in "\\PC{0,300}") {
        let _ = okta::decode(&text, &ctx());
    }

    #[test]
    fn okta_decode_never_panics_on_json(value in okta_json()) {
        match okta::decode(&value.to_string(), &ctx()) {
            Ok(events) => for e in events {
                prop_assert_eq!(e.source.vendor.as_deref(), Some("Okta"));
                prop_assert!(e.raw.is_some());
            },
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
