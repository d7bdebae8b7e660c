//! Entra ID sign-in decoding against Microsoft's published samples (see
//! `fixtures/entra/README.md`), in every shape the decoder accepts.

use proptest::prelude::*;
use serde_json::{Value, json};
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_ingest::integrations::entra;
use tandem_model::{Activity as A, Class as C, Event, Outcome as O, Severity};

fn ctx() -> DecodeContext {
    DecodeContext::new("entra", "2026-03-04T10:00:00Z".parse().unwrap())
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/entra/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn decode(text: &str) -> Vec<Event> {
    entra::decode(text, &ctx()).unwrap()
}

fn decode_one(text: &str) -> Event {
    let mut events = decode(text);
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn at(s: &str) -> tandem_model::Timestamp {
    s.parse().unwrap()
}

/// The Graph sample with `status` replaced.
fn graph_with_status(code: i64, reason: Option<&str>) -> String {
    let mut v: Value = serde_json::from_str(&fixture("graph-signin.json")).unwrap();
    v["status"] = json!({"errorCode": code, "failureReason": reason, "additionalDetails": null});
    v.to_string()
}

#[test]
fn graph_sign_in_success() {
    let e = decode_one(&fixture("graph-signin.json"));
    assert_eq!(
        (e.class, e.activity, e.outcome),
        (C::Authentication, A::Logon, O::Success)
    );
    assert_eq!(e.severity, Severity::Informational);
    assert_eq!(e.time, at("2020-03-13T19:15:41.6195833Z"));
    assert_eq!(e.actor.user.as_deref(), Some("testaccount1@contoso.com"));
    assert_eq!(
        e.actor.uid.as_deref(),
        Some("26be570a-ae82-4189-b4e2-a37c6808512d")
    );
    assert_eq!(
        e.message,
        "testaccount1@contoso.com signed in to Graph explorer"
    );
    let src = e.src.as_ref().unwrap();
    assert_eq!(src.ip, Some("131.107.159.37".parse().unwrap()));
    let geo = src.geo.as_ref().unwrap();
    assert_eq!(geo.country.as_deref(), Some("US"));
    assert_eq!(geo.region.as_deref(), Some("Washington"));
    assert_eq!(geo.city.as_deref(), Some("Redmond"));
    assert_eq!(geo.lat, Some(47.68050003051758));
    assert_eq!(geo.lon, Some(-122.12094116210938));
    assert_eq!(e.device.as_ref().unwrap().os.as_deref(), Some("Windows 10"));
    assert_eq!(e.source.vendor.as_deref(), Some("Microsoft"));
    assert_eq!(e.source.product.as_deref(), Some("Entra ID"));
    // Vendor fields under their Graph names.
    assert_eq!(e.attrs["clientAppUsed"], "Browser");
    assert_eq!(e.attrs["conditionalAccessStatus"], "notApplied");
    assert_eq!(e.attrs["isInteractive"], true);
    assert_eq!(e.attrs["status"]["errorCode"], 0);
    assert_eq!(e.attrs["deviceDetail"]["browser"], "Edge 80.0.361");
    assert_eq!(
        e.attrs["appliedConditionalAccessPolicies"][1]["displayName"],
        "Medium signin risk block"
    );
    assert!(!e.attrs.contains_key("aadsts.code"));
    assert_eq!(e.raw.as_deref(), Some(fixture("graph-signin.json").trim()));
}

#[test]
fn graph_page() {
    let events = decode(&fixture("graph-page.json"));
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].actor.user.as_deref(),
        Some("testaccount1@contoso.com")
    );
    let raw: Value = serde_json::from_str(events[0].raw.as_deref().unwrap()).unwrap();
    assert_eq!(raw["id"], "66ea54eb-6301-4ee5-be62-ff5a759b0100");
    assert!(
        raw.get("@odata.context").is_none(),
        "raw is the sign-in, not the page"
    );
    assert!(decode(r#"{"@odata.context":"x","value":[]}"#).is_empty());
}

#[test]
fn diagnostic_records_export() {
    let events = decode(&fixture("diagnostic-records.json"));
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.class, e.activity), (C::Authentication, A::Logon));
    assert_eq!(e.time, at("2019-03-12T16:02:15.5522137Z"));
    assert_eq!(e.actor.user.as_deref(), Some("tperkins@contoso.com"));
    assert_eq!(
        e.src.as_ref().unwrap().ip,
        Some("203.0.113.10".parse().unwrap())
    );
    let geo = e.src.as_ref().unwrap().geo.as_ref().unwrap();
    assert_eq!(geo.city.as_deref(), Some("Bellevue"));
    assert_eq!((geo.lat, geo.lon), (Some(45.0), Some(122.0)));
    // properties first, then the record's own fields where properties has none.
    assert_eq!(e.attrs["category"], "SignInLogs");
    assert_eq!(e.attrs["resultType"], "50140");
    assert_eq!(e.attrs["callerIpAddress"], "203.0.113.10");
    assert_eq!(e.attrs["operationName"], "Sign-in activity");
    assert_eq!(
        e.attrs["location"]["city"], "Bellevue",
        "properties.location wins"
    );
    assert_eq!(
        e.attrs["resourceId"], "00000003-0000-0ff1-ce00-000000000000",
        "properties.resourceId wins"
    );
    assert!(!e.attrs.contains_key("properties"));
    assert_eq!(
        e.attrs["authenticationRequirement"],
        "multiFactorAuthentication"
    );
}

#[test]
fn keep_me_signed_in_interrupt_is_not_a_failure() {
    let e = decode_one(&fixture("diagnostic-records.json"));
    assert_eq!(e.outcome, O::Unknown);
    assert_eq!(e.severity, Severity::Informational);
    assert_eq!(e.attrs["aadsts.code"], 50140);
    assert_eq!(e.attrs["aadsts.reason"], "keep-me-signed-in prompt");
    assert_eq!(
        e.message,
        "tperkins@contoso.com sign-in to Azure Portal interrupted: keep-me-signed-in prompt (AADSTS50140)"
    );
}

#[test]
fn storage_account_lines() {
    let events = decode(&fixture("storage-blob.jsonl"));
    assert_eq!(events.len(), 2);
    let (ni, kmsi) = (&events[0], &events[1]);
    assert_eq!(ni.outcome, O::Success);
    assert_eq!(ni.attrs["category"], "NonInteractiveUserSignInLogs");
    assert_eq!(ni.attrs["isInteractive"], false);
    assert_eq!(
        ni.actor.user.as_deref(),
        Some("mpliftrelastic20210901@outlook.com")
    );
    assert_eq!(ni.time, at("2022-01-24T05:10:14.1875602Z"));
    assert_eq!(
        ni.src
            .as_ref()
            .unwrap()
            .geo
            .as_ref()
            .unwrap()
            .country
            .as_deref(),
        Some("IN")
    );
    assert_eq!(
        ni.message,
        "mpliftrelastic20210901@outlook.com signed in to Azure Portal"
    );
    // createdDateTime with a -05:00 offset.
    assert_eq!(kmsi.time, at("2019-10-18T09:45:48.0729893Z"));
    assert_eq!(kmsi.outcome, O::Unknown);
    // Each line is its own raw.
    let first_line = fixture("storage-blob.jsonl")
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(ni.raw.as_deref(), Some(first_line.as_str()));
    // A bare record (what Elastic's Filebeat hands over) decodes alone too.
    assert_eq!(decode(&first_line).len(), 1);
}

#[test]
fn signinlogs_row_with_object_columns() {
    let e = decode_one(&fixture("signinlogs-row-objects.json"));
    assert_eq!(
        (e.class, e.activity, e.outcome),
        (C::Authentication, A::Logon, O::Failure)
    );
    assert_eq!(e.severity, Severity::Low);
    assert_eq!(e.time, at("2019-03-12T16:02:15.5522137Z"));
    assert_eq!(e.actor.user.as_deref(), Some("tperkins@contoso.com"));
    assert_eq!(
        e.src.as_ref().unwrap().ip,
        Some("203.0.113.10".parse().unwrap())
    );
    let geo = e.src.as_ref().unwrap().geo.as_ref().unwrap();
    assert_eq!(
        (geo.country.as_deref(), geo.city.as_deref()),
        (Some("US"), Some("Bellevue"))
    );
    let device = e.device.as_ref().unwrap();
    assert_eq!(device.hostname.as_deref(), Some("CONTOSO-LT-042"));
    assert_eq!(device.os.as_deref(), Some("Windows 10"));
    assert_eq!(
        e.message,
        "tperkins@contoso.com failed to sign in to Azure Portal: invalid username or password (AADSTS50126)"
    );
    assert_eq!(e.attrs["aadsts.code"], 50126);
    assert_eq!(e.attrs["ResultType"], "50126");
    assert_eq!(e.attrs["LocationDetails"]["state"], "Washington");
    assert_eq!(e.attrs["Type"], "SigninLogs");
}

#[test]
fn signinlogs_rows_with_string_encoded_columns() {
    let events = decode(&fixture("signinlogs-rows-strings.json"));
    assert_eq!(events.len(), 2);
    let (blocked, locked) = (&events[0], &events[1]);

    // LocationDetails as a JSON string gives the same geo as an object would.
    let geo = blocked.src.as_ref().unwrap().geo.as_ref().unwrap();
    assert_eq!(geo.country.as_deref(), Some("NL"));
    assert_eq!(geo.city.as_deref(), Some("Amsterdam"));
    assert_eq!((geo.lat, geo.lon), (Some(52.37), Some(4.89)));
    // …and attrs hold the parsed object, so attrs.LocationDetails.city works either way.
    assert_eq!(blocked.attrs["LocationDetails"]["city"], "Amsterdam");
    assert_eq!(blocked.attrs["Status"]["errorCode"], 53003);
    assert_eq!(
        blocked.device.as_ref().unwrap().os.as_deref(),
        Some("Linux")
    );
    // The raw keeps what was sent.
    assert!(
        blocked
            .raw
            .as_deref()
            .unwrap()
            .contains(r#"\"city\": \"Amsterdam\""#)
    );

    assert_eq!(blocked.outcome, O::Failure);
    assert_eq!(
        blocked.attrs["aadsts.reason"],
        "blocked by Conditional Access"
    );
    assert_eq!(
        blocked.severity,
        Severity::Medium,
        "RiskLevelDuringSignIn medium"
    );
    assert_eq!(locked.outcome, O::Failure);
    assert_eq!(locked.attrs["aadsts.reason"], "account locked");
    assert!(
        locked.message.ends_with("account locked (AADSTS50053)"),
        "{}",
        locked.message
    );
}

#[test]
fn location_details_string_and_object_agree() {
    let object: Value = serde_json::from_str(&fixture("signinlogs-row-objects.json")).unwrap();
    let mut string = object.clone();
    string["LocationDetails"] = json!(object["LocationDetails"].to_string());
    string["Status"] = json!(object["Status"].to_string());
    string["DeviceDetail"] = json!(object["DeviceDetail"].to_string());
    let a = decode_one(&object.to_string());
    let b = decode_one(&string.to_string());
    assert_eq!(a.src, b.src);
    assert_eq!(a.device, b.device);
    assert_eq!((a.outcome, &a.message), (b.outcome, &b.message));
    assert_eq!(a.attrs, b.attrs);
}

#[test]
fn failure_codes() {
    for (code, outcome, reason) in [
        (0, O::Success, None),
        (50126, O::Failure, Some("invalid username or password")),
        (50053, O::Failure, Some("account locked")),
        (50057, O::Failure, Some("account disabled")),
        (50055, O::Failure, Some("password expired")),
        (50074, O::Failure, Some("MFA required")),
        (50076, O::Failure, Some("MFA required")),
        (500121, O::Failure, Some("MFA failed or denied")),
        (53003, O::Failure, Some("blocked by Conditional Access")),
        (
            70043,
            O::Failure,
            Some("session expired (sign-in frequency)"),
        ),
        (70044, O::Failure, Some("session expired")),
        (50140, O::Unknown, Some("keep-me-signed-in prompt")),
        // Not in the table: Entra's own failureReason is used.
        (9_999_999, O::Failure, Some("Something Entra said")),
    ] {
        let e = decode_one(&graph_with_status(code, Some("Something Entra said")));
        assert_eq!(e.outcome, outcome, "{code}");
        assert_eq!(
            e.attrs.get("aadsts.reason").and_then(Value::as_str),
            reason,
            "{code}"
        );
        if code != 0 {
            assert_eq!(e.attrs["aadsts.code"], code);
            assert!(
                e.message.contains(&format!("AADSTS{code}")),
                "{}",
                e.message
            );
        }
        let expected = if outcome == O::Failure {
            Severity::Low
        } else {
            Severity::Informational
        };
        assert_eq!(e.severity, expected, "{code}");
    }
}

#[test]
fn result_type_is_used_when_status_is_missing() {
    let e = decode_one(
        r#"{"TimeGenerated":"2024-01-15T10:00:00Z","UserPrincipalName":"a@contoso.com","IPAddress":"192.0.2.7","ResultType":"50057","ResultDescription":"User account is disabled."}"#,
    );
    assert_eq!(e.outcome, O::Failure);
    assert_eq!(e.attrs["aadsts.reason"], "account disabled");
    let e = decode_one(
        r#"{"TimeGenerated":"2024-01-15T10:00:00Z","UserPrincipalName":"a@contoso.com","ResultType":"0"}"#,
    );
    assert_eq!(e.outcome, O::Success);
    // No code at all: the outcome is not known.
    let e = decode_one(
        r#"{"createdDateTime":"2024-01-15T10:00:00Z","userPrincipalName":"a@contoso.com"}"#,
    );
    assert_eq!(e.outcome, O::Unknown);
}

#[test]
fn service_principal_sign_in() {
    let e = decode_one(
        r#"{"time":"2022-01-24T05:10:14Z","category":"ServicePrincipalSignInLogs","resultType":"0","callerIpAddress":"192.0.2.9","properties":{"createdDateTime":"2022-01-24T05:10:14Z","servicePrincipalName":"backup-job","servicePrincipalId":"6b1f1c3e-0000-4000-8000-000000000001","status":{"errorCode":0}}}"#,
    );
    assert_eq!(e.actor.user.as_deref(), Some("backup-job"));
    assert_eq!(
        e.actor.uid.as_deref(),
        Some("6b1f1c3e-0000-4000-8000-000000000001")
    );
    assert_eq!(
        e.src.unwrap().ip,
        Some("192.0.2.9".parse().unwrap()),
        "callerIpAddress"
    );
    assert_eq!(e.actor.non_person.as_deref(), Some("service_principal"));
}

#[test]
fn other_diagnostic_categories_are_kept_unclassified() {
    let events = decode(
        r#"{"records":[{"time":"2026-01-01T00:00:00Z","category":"AuditLogs","operationName":"Add member to group","callerIpAddress":"192.0.2.1","properties":{"activityDisplayName":"Add member to group"}}]}"#,
    );
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.class, e.activity), (C::Other, A::Other));
    assert_eq!(e.message, "Add member to group");
    assert_eq!(
        e.attrs["properties"]["activityDisplayName"],
        "Add member to group"
    );
}

#[test]
fn errors_say_what_is_wrong() {
    let err = |text: &str| entra::decode(text, &ctx()).unwrap_err().to_string();
    assert_eq!(entra::decode("  ", &ctx()), Err(DecodeError::Empty));
    assert_eq!(
        err(r#"{"hello":"world"}"#),
        "not an Entra sign-in: expected createdDateTime or TimeGenerated, userPrincipalName, status or ResultType"
    );
    assert_eq!(
        err(r#"{"records":{}}"#),
        "field `records` must be an array, found an object"
    );
    assert_eq!(
        err(
            r#"{"records":[{"category":"SignInLogs","properties":{"userPrincipalName":"a@b.c"}}, 3]}"#
        ),
        "records element 1: expected a sign-in object, found a number"
    );
    assert_eq!(
        err(r#"{"category":"SignInLogs","properties":42}"#),
        "field `properties` must be an object, found a number"
    );
    assert_eq!(
        err("true"),
        "expected an Entra sign-in object, a Graph page, a SigninLogs row or a diagnostic `records` export, found a boolean"
    );
    assert_eq!(
        err("{\"a\":"),
        "invalid JSON at column 5: EOF while parsing a value"
    );
    assert!(
        err("{\"ResultType\":\"0\"}\n{oops}").starts_with("line 2: invalid JSON"),
        "{}",
        err("{\"ResultType\":\"0\"}\n{oops}")
    );
}

#[test]
fn missing_time_uses_receipt() {
    let e = decode_one(r#"{"userPrincipalName":"a@contoso.com","status":{"errorCode":0}}"#);
    assert_eq!(e.time, ctx().received);
    assert_eq!(e.labels["time_source"], "received");
}

fn entra_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "records",
        "value",
        "properties",
        "category",
        "time",
        "createdDateTime",
        "TimeGenerated",
        "userPrincipalName",
        "UserPrincipalName",
        "ipAddress",
        "IPAddress",
        "callerIpAddress",
        "status",
        "Status",
        "errorCode",
        "ResultType",
        "resultType",
        "location",
        "LocationDetails",
        "geoCoordinates",
        "latitude",
        "longitude",
        "countryOrRegion",
        "deviceDetail",
        "riskLevelDuringSignIn",
        "error",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
        Just(json!("SignInLogs")),
        Just(json!("50126")),
        Just(json!("high")),
        Just(json!("2020-03-13T19:15:41.6195833Z")),
        Just(json!("10.0.0.1")),
        Just(json!(
            "{\"city\":\"Lyon\",\"geoCoordinates\":{\"latitude\":\"x\"}}"
        )),
        Just(json!("[1,2")),
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
    fn entra_decode_never_panics_on_text(text in "\\PC{0,300}") {
        let _ = entra::decode(&text, &ctx());
    }

    #[test]
    fn entra_decode_never_panics_on_json(value in entra_json(), lines in 1usize..3) {
        let one = value.to_string();
        let text = vec![one; lines].join("\n");
        match entra::decode(&text, &ctx()) {
            Ok(events) => for e in events {
                prop_assert_eq!(e.source.vendor.as_deref(), Some("Microsoft"));
                prop_assert!(e.raw.is_some());
            },
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

/// Applications signing in as themselves (service principals, managed identities) are not
/// people: the event names the application and its app id, and says what kind of actor it is.
#[test]
fn service_principal_and_managed_identity_records() {
    let events = decode(&fixture("service-principal-records.json"));
    assert_eq!(events.len(), 2);

    let sp = &events[0];
    assert_eq!(
        (sp.class, sp.activity, sp.outcome),
        (C::Authentication, A::Logon, O::Success)
    );
    assert_eq!(sp.actor.non_person.as_deref(), Some("service_principal"));
    assert_eq!(sp.actor.user.as_deref(), Some("Payroll sync"));
    assert_eq!(
        sp.actor.uid.as_deref(),
        Some("9d8c7b6a-0000-4000-8000-000000000012")
    );
    assert_eq!(
        sp.actor.app_id.as_deref(),
        Some("6f3e1a2b-0c4d-4e5f-8a9b-0c1d2e3f4a5b")
    );
    assert_eq!(
        sp.message,
        "Payroll sync (service principal) signed in to Microsoft Graph"
    );
    assert_eq!(sp.time, at("2026-03-04T02:15:06.2513042Z"));
    assert_eq!(sp.attrs["clientCredentialType"], "clientSecret");

    let mi = &events[1];
    assert_eq!(mi.actor.non_person.as_deref(), Some("managed_identity"));
    assert_eq!(mi.actor.user.as_deref(), Some("vm-backup-01"));
    assert_eq!(
        mi.actor.app_id.as_deref(),
        Some("0b1c2d3e-0000-4000-8000-000000000022")
    );
    assert_eq!(
        mi.message,
        "vm-backup-01 (managed identity) signed in to Azure Key Vault"
    );
}

#[test]
fn service_principal_log_analytics_row() {
    let e = decode_one(&fixture("aad-service-principal-row.json"));
    assert_eq!(e.actor.non_person.as_deref(), Some("service_principal"));
    assert_eq!(e.actor.user.as_deref(), Some("legacy-report-exporter"));
    assert_eq!(
        e.actor.app_id.as_deref(),
        Some("11111111-2222-4333-8444-555555555555")
    );
    assert_eq!(e.outcome, O::Failure);
    assert!(
        e.message
            .starts_with("legacy-report-exporter (service principal) failed to sign in to Microsoft Graph: Invalid client secret"),
        "{}",
        e.message
    );
    assert_eq!(
        e.src
            .as_ref()
            .unwrap()
            .geo
            .as_ref()
            .unwrap()
            .country
            .as_deref(),
        Some("DE")
    );
}

/// A Graph `signIn` with `signInEventTypes`, and one with only a `servicePrincipalId`.
#[test]
fn graph_service_principal_sign_ins() {
    let e = decode_one(
        r#"{"createdDateTime":"2026-03-04T02:15:06Z","appId":"6f3e1a2b-0c4d-4e5f-8a9b-0c1d2e3f4a5b","appDisplayName":"Payroll sync","servicePrincipalId":"9d8c7b6a-0000-4000-8000-000000000012","servicePrincipalName":"Payroll sync","userPrincipalName":"","userId":"","resourceDisplayName":"Microsoft Graph","signInEventTypes":["servicePrincipal"],"status":{"errorCode":0}}"#,
    );
    assert_eq!(e.actor.non_person.as_deref(), Some("service_principal"));
    assert_eq!(
        e.actor.app_id.as_deref(),
        Some("6f3e1a2b-0c4d-4e5f-8a9b-0c1d2e3f4a5b")
    );
    let e = decode_one(
        r#"{"createdDateTime":"2026-03-04T02:15:06Z","servicePrincipalId":"9d8c7b6a-0000-4000-8000-000000000012","status":{"errorCode":0}}"#,
    );
    assert_eq!(e.actor.non_person.as_deref(), Some("service_principal"));
    assert_eq!(e.message, "unknown service principal signed in");

    // A person signing in to an application keeps the person as actor; the app's id is
    // not the actor's.
    let person = decode_one(&fixture("graph-signin.json"));
    assert_eq!(person.actor.non_person, None);
    assert_eq!(person.actor.app_id, None);
}
