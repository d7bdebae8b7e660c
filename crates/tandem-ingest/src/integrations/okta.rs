//! Okta System Log: LogEvents from the `/api/v1/logs` API or an Okta event hook.
//!
//! Okta records everything that happens in an org (sign-ins, MFA prompts, account lifecycle,
//! admin changes) as [LogEvent] objects. They reach Tandem in one of three envelopes, all
//! accepted by [`decode`]:
//!
//! * one LogEvent object (a forwarder that sends events one by one);
//! * a JSON array of LogEvents: one page of `GET /api/v1/logs`, as a poller receives it;
//! * an [event-hook] delivery: `{"eventType":"com.okta.event_hook", …, "data":{"events":[…]}}`,
//!   which Okta POSTs to a registered URL and which may batch several LogEvents.
//!
//! Sample (the LogEvent example of Okta's System Log API reference, trimmed):
//!
//! ```text
//! {"uuid":"f790999f-fe87-467a-9880-6982a583986c","published":"2017-09-31T22:23:07.777Z","eventType":"user.session.start","version":"0","severity":"INFO","displayMessage":"User login to Okta","legacyEventType":"core.user_auth.login_success","actor":{"id":"00u1qw1mqitPHM8AJ0g7","type":"User","alternateId":"admin@example.com","displayName":"John Doe"},"client":{"zone":"OFF_NETWORK","device":"Unknown","userAgent":{"os":"Unknown","browser":"UNKNOWN","rawUserAgent":"UNKNOWN-DOWNLOAD"},"ipAddress":"12.97.85.90"},"outcome":{"result":"SUCCESS"},"authenticationContext":{"authenticationStep":0,"externalSessionId":"1013FfF-DKQSvCI4RVXChzX-w"}}
//! ```
//!
//! Each LogEvent becomes one event whose raw form is that LogEvent's own JSON (not the whole
//! page or delivery), so every stored event can be checked against exactly what Okta said.
//!
//! Class and activity follow `eventType`:
//!
//! | `eventType` | class / activity |
//! |---|---|
//! | `user.session.start`, `user.authentication.*` (`sso`, `auth_via_mfa`, `verify`, `auth_via_radius`, …), `user.mfa.*` except `user.mfa.factor.*` | `authentication` / `logon` |
//! | `user.session.end` | `authentication` / `logoff` |
//! | `user.lifecycle.create` | `account_change` / `create` |
//! | `user.lifecycle.activate`, `.reactivate`, `.unsuspend`; `user.account.unlock*` | `account_change` / `enable` |
//! | `user.lifecycle.deactivate`, `.suspend` | `account_change` / `disable` |
//! | `user.lifecycle.delete.*` | `account_change` / `delete` |
//! | `user.account.lock*` | `account_change` / `lock` |
//! | `user.account.update_password` | `account_change` / `password_change` |
//! | `user.account.reset_password` | `account_change` / `password_reset` |
//! | `user.mfa.factor.*` (factor enrolled, activated, deactivated, reset, suspended) | `account_change` / `other` |
//! | everything else (`app.*`, `policy.*`, `system.*`, `group.*`, …) | `other` / `other` |
//!
//! `user.mfa.factor.*` events are an administrator or user managing a factor, not a sign-in,
//! so they are account changes (OCSF 1.1 has "MFA factor enable/disable" activities that
//! Tandem's vocabulary does not, hence `other`); the other `user.mfa.*` events
//! (`okta_verify.deny_push`, `attempt_bypass`, …) are steps of a sign-in.
//!
//! Other fields:
//!
//! | event field | LogEvent field |
//! |---|---|
//! | `time` | `published` (receipt time, labelled `time_source=received`, if missing) |
//! | `outcome` | `outcome.result`: `SUCCESS`, `ALLOW` → success; `FAILURE`, `DENY` → failure; `SKIPPED`, `CHALLENGE`, `UNKNOWN` → unknown. `user.account.lock*` is always success: Okta logs the lock with the refused sign-in's `FAILURE`, but the lock itself took effect |
//! | `severity` | `severity` `WARN` → medium, `ERROR` → high, else informational; raised to low for a failed sign-in and for account creation, deletion, disabling, lock and password reset |
//! | `message` | `displayMessage`, else `eventType` |
//! | `actor.uid` / `actor.user` / `actor.email` | `actor.id` / `actor.alternateId` / `actor.alternateId` when it looks like an e-mail address |
//! | `src.ip` | `client.ipAddress`, else the first `request.ipChain[].ip` |
//! | `src.geo` | `client.geographicalContext`: `city`, `state` → `region`, `country` (Okta writes English names, converted to ISO 3166 alpha-2), `geolocation.lat`/`lon` |
//! | `attrs.target.user` / `attrs.target.uid` | `alternateId` / `id` of the first `target` of type `User` |
//!
//! Every top-level LogEvent field is also kept in `attrs` under Okta's own name (`eventType`,
//! `displayMessage`, `legacyEventType`, `severity`, `outcome`, `actor`, `client`,
//! `securityContext`, `authenticationContext`, `debugContext`, `target`, `transaction`,
//! `request`, …): Sigma's Okta rules and the Okta query language match those names, and
//! nothing Okta said is lost. Vendor and product are `Okta` / `Okta System Log`.
//!
//! An Okta API error body (`{"errorCode":"E0000011","errorSummary":"Invalid token provided",…}`,
//! what a misconfigured poller receives instead of a page) is refused with Okta's own code and
//! summary, so the operator sees why.
//!
//! Sources: Okta developer documentation, [System Log API][LogEvent] (LogEvent object and its
//! annotated example), [Event Hooks][event-hook] (sample delivery payload) and the Event Types
//! catalog; field values seen in Elastic's Okta integration test data
//! (`elastic/integrations`, `packages/okta/…/test-okta-system-events.log`) and in Panther's
//! Okta rule tests (`panther-labs/panther-analysis`, `rules/okta_rules/*.yml`).
//!
//! [LogEvent]: https://developer.okta.com/docs/reference/api/system-log/
//! [event-hook]: https://developer.okta.com/docs/concepts/event-hooks/

use crate::decode::{DecodeContext, DecodeError, finish, quote, time, time_from_receipt};
use serde_json::{Map, Value};
use std::net::IpAddr;
use tandem_model::{Activity, Class, Event, GeoLocation, Outcome, Severity};

/// Vendor recorded on every Okta event.
pub const VENDOR: &str = "Okta";
/// Product recorded on every Okta event.
pub const PRODUCT: &str = "Okta System Log";

/// The `eventType` of an event-hook delivery envelope (never of a LogEvent).
const HOOK_EVENT_TYPE: &str = "com.okta.event_hook";

/// Decodes one message from Okta: a LogEvent, an array of LogEvents, or an event-hook delivery.
///
/// Returns one event per LogEvent, each with its own JSON as raw form; an empty array or a
/// delivery without events gives an empty vector. Anything else (not JSON, not an object or
/// array, an object that is not a LogEvent, an Okta API error body) is a [`DecodeError`] that
/// says what was found. An array is decoded whole or refused whole, with the position of the
/// offending element in the message.
pub fn decode(text: &str, ctx: &DecodeContext) -> Result<Vec<Event>, DecodeError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text).trim();
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    match parse_json(body)? {
        Value::Array(items) => decode_all(&items, "array element", ctx),
        Value::Object(map) => {
            if is_hook_delivery(&map) {
                let events = map
                    .get("data")
                    .and_then(|d| d.get("events"))
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        DecodeError::Invalid(
                            "Okta event-hook delivery without a `data.events` array".to_owned(),
                        )
                    })?;
                decode_all(events, "data.events element", ctx)
            } else if let Some(err) = api_error(&map) {
                Err(err)
            } else {
                Ok(vec![log_event(&map, body, ctx)?])
            }
        }
        other => Err(DecodeError::Invalid(format!(
            "expected an Okta LogEvent object, an array of them or an event-hook delivery, found {}",
            kind_of(&other)
        ))),
    }
}

/// Decodes each element of a LogEvent list, naming the element that is not a LogEvent.
fn decode_all(items: &[Value], what: &str, ctx: &DecodeContext) -> Result<Vec<Event>, DecodeError> {
    let mut events = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = |e: DecodeError| DecodeError::Invalid(format!("{what} {i}: {e}"));
        let Value::Object(map) = item else {
            return Err(at(DecodeError::Invalid(format!(
                "expected a LogEvent object, found {}",
                kind_of(item)
            ))));
        };
        let raw =
            serde_json::to_string(item).map_err(|e| at(DecodeError::Invalid(e.to_string())))?;
        events.push(log_event(map, &raw, ctx).map_err(at)?);
    }
    Ok(events)
}

fn is_hook_delivery(map: &Map<String, Value>) -> bool {
    match map.get("eventType") {
        Some(Value::String(t)) => t == HOOK_EVENT_TYPE,
        // A LogEvent always has an eventType; an envelope without one is still recognisable.
        None => map.get("data").and_then(|d| d.get("events")).is_some(),
        Some(_) => false,
    }
}

/// An Okta API error body (`errorCode` + `errorSummary`), as an error for the operator.
fn api_error(map: &Map<String, Value>) -> Option<DecodeError> {
    if map.contains_key("eventType") {
        return None;
    }
    let code = map.get("errorCode")?.as_str()?;
    let summary = map
        .get("errorSummary")
        .and_then(Value::as_str)
        .unwrap_or("");
    Some(DecodeError::Invalid(format!(
        "Okta API error {}: {}",
        quote(code),
        quote(summary)
    )))
}

/// Maps one LogEvent. `raw` is its own JSON text.
fn log_event(
    map: &Map<String, Value>,
    raw: &str,
    ctx: &DecodeContext,
) -> Result<Event, DecodeError> {
    let event_type = match map.get("eventType") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.trim(),
        Some(Value::String(_)) => {
            return Err(DecodeError::Invalid(
                "field `eventType` is empty".to_owned(),
            ));
        }
        Some(other) => {
            return Err(DecodeError::Invalid(format!(
                "field `eventType` must be a string, found {}",
                kind_of(other)
            )));
        }
        None => {
            return Err(DecodeError::Invalid(
                "not an Okta LogEvent: missing field `eventType`".to_owned(),
            ));
        }
    };

    let (class, activity) = classify(event_type);
    let published = map.get("published").and_then(time::from_json);
    let mut event = Event::new(
        &ctx.source,
        class,
        activity,
        published.unwrap_or(ctx.received),
    );
    if published.is_none() {
        time_from_receipt(&mut event);
    }
    event.source.vendor = Some(VENDOR.to_owned());
    event.source.product = Some(PRODUCT.to_owned());

    event.outcome = match (activity, text(map, &["outcome", "result"])) {
        (Activity::Lock, _) => Outcome::Success,
        (_, Some(result)) => outcome(result),
        (_, None) => Outcome::Unknown,
    };
    event.severity = severity(text(map, &["severity"]), class, activity, event.outcome);
    event.message = text(map, &["displayMessage"])
        .unwrap_or(event_type)
        .to_owned();

    if let Some(uid) = text(map, &["actor", "id"]) {
        event.actor.uid = Some(uid.to_owned());
    }
    if let Some(login) = text(map, &["actor", "alternateId"]) {
        event.actor.user = Some(login.to_owned());
        if looks_like_email(login) {
            event.actor.email = Some(login.to_owned());
        }
    }

    let ip = text(map, &["client", "ipAddress"])
        .and_then(|s| s.parse::<IpAddr>().ok())
        .or_else(|| first_chain_ip(map));
    if let Some(ip) = ip {
        event.src_mut().ip = Some(ip);
    }
    if let Some(geo) = map
        .get("client")
        .and_then(|c| c.get("geographicalContext"))
        .and_then(geo)
    {
        event.src_mut().geo = Some(geo);
    }

    event.attrs = map.clone();
    if let Some(target) = first_user_target(map) {
        if let Some(user) = text(target, &["alternateId"]) {
            event
                .attrs
                .insert("target.user".to_owned(), user.to_owned().into());
        }
        if let Some(uid) = text(target, &["id"]) {
            event
                .attrs
                .insert("target.uid".to_owned(), uid.to_owned().into());
        }
    }

    finish(&mut event, ctx, Some(raw));
    Ok(event)
}

/// Class and activity for an Okta `eventType` (see the module table).
fn classify(event_type: &str) -> (Class, Activity) {
    use Activity as A;
    let account = |a| (Class::AccountChange, a);
    match event_type {
        "user.session.start" => (Class::Authentication, A::Logon),
        "user.session.end" => (Class::Authentication, A::Logoff),
        "user.lifecycle.create" => account(A::Create),
        "user.lifecycle.activate" | "user.lifecycle.reactivate" | "user.lifecycle.unsuspend" => {
            account(A::Enable)
        }
        "user.lifecycle.deactivate" | "user.lifecycle.suspend" => account(A::Disable),
        "user.account.update_password" => account(A::PasswordChange),
        "user.account.reset_password" => account(A::PasswordReset),
        t if t == "user.lifecycle.delete" || t.starts_with("user.lifecycle.delete.") => {
            account(A::Delete)
        }
        t if t == "user.account.lock" || t.starts_with("user.account.lock.") => account(A::Lock),
        t if t.starts_with("user.account.unlock") => account(A::Enable),
        t if t.starts_with("user.mfa.factor.") => account(A::Other),
        t if t.starts_with("user.authentication.") || t.starts_with("user.mfa.") => {
            (Class::Authentication, A::Logon)
        }
        _ => (Class::Other, A::Other),
    }
}

/// Okta's `outcome.result` as a Tandem outcome.
fn outcome(result: &str) -> Outcome {
    match result.to_ascii_uppercase().as_str() {
        "SUCCESS" | "ALLOW" => Outcome::Success,
        "FAILURE" | "DENY" => Outcome::Failure,
        // SKIPPED, CHALLENGE (an MFA prompt was issued), UNKNOWN.
        _ => Outcome::Unknown,
    }
}

/// Okta's own severity, raised for what deserves a look whatever Okta called it.
fn severity(okta: Option<&str>, class: Class, activity: Activity, outcome: Outcome) -> Severity {
    let stated = match okta.map(str::to_ascii_uppercase).as_deref() {
        Some("WARN") => Severity::Medium,
        Some("ERROR") => Severity::High,
        _ => Severity::Informational,
    };
    let floor = match (class, activity, outcome) {
        (Class::Authentication, _, Outcome::Failure) => Severity::Low,
        (
            Class::AccountChange,
            Activity::Create
            | Activity::Delete
            | Activity::Disable
            | Activity::Lock
            | Activity::PasswordReset,
            _,
        ) => Severity::Low,
        _ => Severity::Informational,
    };
    stated.max(floor)
}

/// The first `request.ipChain[].ip` that parses, for events whose client has no address.
fn first_chain_ip(map: &Map<String, Value>) -> Option<IpAddr> {
    map.get("request")?
        .get("ipChain")?
        .as_array()?
        .iter()
        .find_map(|hop| hop.get("ip")?.as_str()?.trim().parse().ok())
}

/// The first `target` entry of type `User`.
fn first_user_target(map: &Map<String, Value>) -> Option<&Map<String, Value>> {
    map.get("target")?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .find(|t| t.get("type").and_then(Value::as_str) == Some("User"))
}

/// A GeoLocation from an Okta `geographicalContext`, or `None` when it names nothing.
fn geo(v: &Value) -> Option<GeoLocation> {
    let v = v.as_object()?;
    let point = v.get("geolocation");
    let lat = point.and_then(|p| p.get("lat")).and_then(Value::as_f64);
    let lon = point.and_then(|p| p.get("lon")).and_then(Value::as_f64);
    let (lat, lon) = match (lat, lon) {
        (Some(lat), Some(lon)) if valid_position(lat, lon) => (Some(lat), Some(lon)),
        _ => (None, None),
    };
    let geo = GeoLocation {
        country: text(v, &["country"]).and_then(country_code),
        region: text(v, &["state"]).map(str::to_owned),
        city: text(v, &["city"]).map(str::to_owned),
        lat,
        lon,
    };
    (geo != GeoLocation::default()).then_some(geo)
}

fn valid_position(lat: f64, lon: f64) -> bool {
    lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0
}

/// Whether an Okta login looks like an e-mail address (`name@domain.tld`, no spaces).
fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// The text at `path` in the LogEvent, trimmed; `None` for absent, non-string, empty or the
/// literal `"null"` Okta writes for some unset fields (`client.zone`).
fn text<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (last, parents) = path.split_last()?;
    let mut obj = map;
    for key in parents {
        obj = obj.get(*key)?.as_object()?;
    }
    let s = obj.get(*last)?.as_str()?.trim();
    (!s.is_empty() && s != "null").then_some(s)
}

/// Parses the message as JSON, with the position of a syntax error.
fn parse_json(text: &str) -> Result<Value, DecodeError> {
    serde_json::from_str(text).map_err(|e| DecodeError::json(&e))
}

/// "an array", "a string", … for error messages.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// ISO 3166-1 alpha-2 code for a country as Okta names it.
///
/// Okta's `geographicalContext.country` is an English name from its geo-IP database
/// (`United States`, `Canada`), while Tandem's `geo.country` is alpha-2 so that every source
/// agrees. Names are matched without regard to case; a value that is already two letters is
/// taken as a code. An unknown name leaves `country` unset (it stays in `attrs`).
fn country_code(name: &str) -> Option<String> {
    let name = name.trim();
    if name.len() == 2 && name.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Some(name.to_ascii_uppercase());
    }
    COUNTRIES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(code, _)| (*code).to_owned())
}

/// ISO 3166-1 short names, plus the variants geo-IP databases use (MaxMind's English names:
/// `Russia`, `South Korea`, `Republic of Lithuania`, …).
const COUNTRIES: &[(&str, &str)] = &[
    ("AD", "Andorra"),
    ("AE", "United Arab Emirates"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AQ", "Antarctica"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland"),
    ("AX", "Aland Islands"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei"),
    ("BN", "Brunei Darussalam"),
    ("BO", "Bolivia"),
    ("BQ", "Bonaire, Sint Eustatius, and Saba"),
    ("BR", "Brazil"),
    ("BS", "Bahamas"),
    ("BT", "Bhutan"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "DR Congo"),
    ("CD", "Democratic Republic of the Congo"),
    ("CF", "Central African Republic"),
    ("CG", "Congo Republic"),
    ("CG", "Congo"),
    ("CH", "Switzerland"),
    ("CI", "Ivory Coast"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "Cook Islands"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cabo Verde"),
    ("CV", "Cape Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("CZ", "Czech Republic"),
    ("DE", "Germany"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "Falkland Islands"),
    ("FM", "Micronesia"),
    ("FM", "Federated States of Micronesia"),
    ("FO", "Faroe Islands"),
    ("FR", "France"),
    ("GA", "Gabon"),
    ("GB", "United Kingdom"),
    ("GB", "United Kingdom of Great Britain and Northern Ireland"),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "Gambia"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "Isle of Man"),
    ("IN", "India"),
    ("IO", "British Indian Ocean Territory"),
    ("IQ", "Iraq"),
    ("IR", "Iran"),
    ("IR", "Iran, Islamic Republic of"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "Comoros"),
    ("KN", "St Kitts and Nevis"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("KR", "Korea, Republic of"),
    ("KR", "Republic of Korea"),
    ("KW", "Kuwait"),
    ("KY", "Cayman Islands"),
    ("KZ", "Kazakhstan"),
    ("LA", "Laos"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LT", "Republic of Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova"),
    ("MD", "Republic of Moldova"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin"),
    ("MG", "Madagascar"),
    ("MH", "Marshall Islands"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MO", "Macau"),
    ("MP", "Northern Mariana Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "Netherlands"),
    ("NL", "The Netherlands"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn Islands"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russia"),
    ("RU", "Russian Federation"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "São Tomé and Príncipe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten"),
    ("SY", "Syria"),
    ("SZ", "Eswatini"),
    ("SZ", "Swaziland"),
    ("TC", "Turks and Caicos Islands"),
    ("TD", "Chad"),
    ("TF", "French Southern Territories"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TL", "East Timor"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Türkiye"),
    ("TR", "Turkey"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("UM", "U.S. Outlying Islands"),
    ("US", "United States"),
    ("US", "United States of America"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Vatican City"),
    ("VC", "St Vincent and Grenadines"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela"),
    ("VG", "British Virgin Islands"),
    ("VI", "U.S. Virgin Islands"),
    ("VN", "Vietnam"),
    ("VN", "Viet Nam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("XK", "Kosovo"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::*;

    #[test]
    fn classification_table() {
        use Activity as A;
        use Class as C;
        for (t, expected) in [
            ("user.session.start", (C::Authentication, A::Logon)),
            ("user.authentication.sso", (C::Authentication, A::Logon)),
            (
                "user.authentication.auth_via_mfa",
                (C::Authentication, A::Logon),
            ),
            (
                "user.authentication.auth_via_radius",
                (C::Authentication, A::Logon),
            ),
            (
                "user.mfa.okta_verify.deny_push",
                (C::Authentication, A::Logon),
            ),
            ("user.mfa.factor.deactivate", (C::AccountChange, A::Other)),
            ("user.session.end", (C::Authentication, A::Logoff)),
            ("user.lifecycle.create", (C::AccountChange, A::Create)),
            ("user.lifecycle.activate", (C::AccountChange, A::Enable)),
            ("user.lifecycle.reactivate", (C::AccountChange, A::Enable)),
            ("user.lifecycle.unsuspend", (C::AccountChange, A::Enable)),
            ("user.lifecycle.deactivate", (C::AccountChange, A::Disable)),
            ("user.lifecycle.suspend", (C::AccountChange, A::Disable)),
            (
                "user.lifecycle.delete.initiated",
                (C::AccountChange, A::Delete),
            ),
            ("user.account.lock", (C::AccountChange, A::Lock)),
            ("user.account.lock.limit", (C::AccountChange, A::Lock)),
            (
                "user.account.unlock_by_admin",
                (C::AccountChange, A::Enable),
            ),
            (
                "user.account.update_password",
                (C::AccountChange, A::PasswordChange),
            ),
            (
                "user.account.reset_password",
                (C::AccountChange, A::PasswordReset),
            ),
            ("user.lifecycle.created", (C::Other, A::Other)),
            ("policy.evaluate_sign_on", (C::Other, A::Other)),
            ("app.oauth2.as.token.grant", (C::Other, A::Other)),
            ("system.api_token.create", (C::Other, A::Other)),
        ] {
            assert_eq!(classify(t), expected, "{t}");
        }
    }

    #[test]
    fn countries() {
        assert_eq!(country_code("United States").as_deref(), Some("US"));
        assert_eq!(country_code("canada").as_deref(), Some("CA"));
        assert_eq!(country_code("fr").as_deref(), Some("FR"));
        assert_eq!(country_code("Republic of Lithuania").as_deref(), Some("LT"));
        assert_eq!(country_code("Atlantis"), None);
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("admin@example.com"));
        assert!(!looks_like_email("admin"));
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("@example.com"));
        assert!(!looks_like_email("a b@example.com"));
        assert!(!looks_like_email("a@b@example.com"));
    }

    #[test]
    fn lock_is_a_successful_account_change_whatever_okta_says() {
        let e = decode(
            r#"{"eventType":"user.account.lock","published":"2022-11-22T18:48:49.177Z","severity":"DEBUG","outcome":{"result":"FAILURE","reason":"LOCKED_OUT"}}"#,
            &ctx(),
        )
        .unwrap();
        assert_eq!(e[0].outcome, Outcome::Success);
        assert_eq!(e[0].severity, Severity::Low);
    }

    #[test]
    fn missing_published_uses_receipt_time() {
        let e = decode(
            r#"{"eventType":"system.org.rate_limit.warning","severity":"WARN"}"#,
            &ctx(),
        )
        .unwrap();
        assert_eq!(e[0].time, ctx().received);
        assert_eq!(e[0].labels["time_source"], "received");
        assert_eq!(e[0].severity, Severity::Medium);
        assert_eq!(e[0].message, "system.org.rate_limit.warning");
    }
}
