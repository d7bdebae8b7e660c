//! Microsoft Entra ID (formerly Azure AD) sign-in logs.
//!
//! Entra records every sign-in to the tenant: who, from which address and place, to which
//! application, and whether it worked (an `AADSTS` error code when not). The same record
//! reaches Tandem in four shapes, all accepted by [`decode`]:
//!
//! * a Microsoft Graph [`signIn`] resource (camelCase: `createdDateTime`, `userPrincipalName`,
//!   `status.errorCode`, `location`, …), as `GET /auditLogs/signIns/{id}` returns it;
//! * a Graph page, `{"@odata.context":…, "value":[signIn, …]}`, as a poller of
//!   `GET /auditLogs/signIns` receives it;
//! * a row of the Log Analytics / Microsoft Sentinel `SigninLogs` (or
//!   `AADNonInteractiveUserSignInLogs`) table, PascalCase (`TimeGenerated`,
//!   `UserPrincipalName`, `IPAddress`, `ResultType` as a string such as `"50126"`), where the
//!   dynamic columns `LocationDetails`, `Status` and `DeviceDetail` are objects or, in exports
//!   and some connectors, JSON-encoded strings; a JSON array of such rows is accepted too;
//! * the Azure Monitor diagnostic-settings export that an Event Hub receives,
//!   `{"records":[{"time", "category":"SignInLogs", "resultType", "callerIpAddress",
//!   "properties":{…camelCase signIn…}}, …]}`, or one such record on its own (a storage
//!   account writes one record per line; a message of several JSON lines is decoded line by
//!   line).
//!
//! Sample (the diagnostic-settings record of Microsoft's "sign-in logs schema in Azure Monitor"
//! page, trimmed):
//!
//! ```text
//! {"time":"2019-03-12T16:02:15.5522137Z","operationName":"Sign-in activity","category":"SignInLogs","resultType":"50140","resultDescription":"This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.","callerIpAddress":"203.0.113.10","location":"US","properties":{"id":"0231f922-93fa-4005-bb11-b344eca03c01","createdDateTime":"2019-03-12T16:02:15.5522137+00:00","userDisplayName":"Timothy Perkins","userPrincipalName":"tperkins@contoso.com","appDisplayName":"Azure Portal","ipAddress":"203.0.113.10","status":{"errorCode":50140,"failureReason":"This error occurred due to 'Keep me signed in' interrupt when the user was signing-in."},"location":{"city":"Bellevue","state":"Washington","countryOrRegion":"US","geoCoordinates":{"latitude":45,"longitude":122}},"isInteractive":true}}
//! ```
//!
//! Every sign-in becomes `authentication` / `logon`. Field names below are the Graph ones; the
//! `SigninLogs` columns are the same names in PascalCase and are matched without regard to
//! case (`IPAddress` = `ipAddress`), with `LocationDetails` for `location`:
//!
//! | event field | sign-in field |
//! |---|---|
//! | `time` | `createdDateTime`, else `TimeGenerated`, else the record's `time` (else receipt time, labelled `time_source=received`) |
//! | `outcome` | error code `status.errorCode`, else `ResultType`/`resultType`: `0` → success; `50140` → unknown (see below); any other → failure |
//! | `actor.user` / `actor.uid` | `userPrincipalName` / `userId`; for service-principal sign-ins `servicePrincipalName` / `servicePrincipalId` |
//! | `src.ip` | `ipAddress`, else the record's `callerIpAddress` |
//! | `src.geo` | `location` / `LocationDetails`: `city`, `state` → `region`, `countryOrRegion` → `country`, `geoCoordinates.latitude`/`longitude`; else the record's two-letter `location` as country |
//! | `device.hostname` / `device.os` | `deviceDetail.displayName` / `deviceDetail.operatingSystem` (the registered device signed in from) |
//! | `severity` | informational; low for a failure; medium / high when `riskLevelDuringSignIn` or `riskLevelAggregated` says so |
//! | `message` | `alice@contoso.com signed in to Azure Portal`, or `… failed to sign in to Azure Portal: invalid username or password (AADSTS50126)` |
//!
//! Common error codes get a readable reason (kept as `attrs.aadsts.reason`, with the number
//! as `attrs.aadsts.code`): 50126 invalid username or password, 50053 account locked, 50057
//! account disabled, 50055 password expired, 50074/50076 MFA required, 500121 MFA failed or
//! denied, 53003 blocked by Conditional Access, 70043/70044 session expired, and more in
//! [`AADSTS`]; other codes use Entra's own `failureReason` / `ResultDescription`.
//!
//! **50140 is not a failure.** It is the "Stay signed in?" (keep me signed in) prompt: the
//! credentials were already accepted and Entra paused to ask a UI question; the sign-in that
//! follows is logged on its own with its real result. Counting it as a failure would add one
//! "failed" sign-in to nearly every interactive sign-in and set off brute-force rules, so its
//! outcome is `unknown` (the code stays in `attrs`). 50074/50076 (MFA required) are also an
//! interruption, but Microsoft's own `ResultType != 0` convention, Sentinel's ASIM parser
//! and Elastic count them as failures and password-spray rules rely on them, so they stay
//! failures.
//!
//! Every field of the sign-in is kept in `attrs` under the name it was delivered with (Graph
//! camelCase or `SigninLogs` PascalCase), with JSON-encoded dynamic columns parsed into
//! objects so `attrs.LocationDetails.city` works whichever way the row arrived. For a
//! diagnostic record, `attrs` holds `properties` plus the record's own fields (`category`,
//! `resultType`, `callerIpAddress`, …) where `properties` has no field of that name. A
//! diagnostic record of another category (an Event Hub shared with `AuditLogs`) is kept as
//! class `other` with its fields in `attrs` rather than dropped. Vendor and product are
//! `Microsoft` / `Entra ID`; each event's raw form is its own record's JSON.
//!
//! Sources: Microsoft Graph v1.0 reference, [`signIn`] resource and "List signIns" (response
//! examples, from `microsoftgraph/microsoft-graph-docs-contrib`); Microsoft Entra "Sign-in log
//! schema in Azure Monitor" (`MicrosoftDocs/azure-docs`,
//! `reference-azure-monitor-sign-ins-log-schema.md`); the Azure Monitor `SigninLogs` table
//! reference (`MicrosoftDocs/azure-reference-other`); Microsoft's AADSTS error-code reference;
//! Elastic's Azure sign-in log test data (`elastic/integrations`,
//! `packages/azure/data_stream/signinlogs/_dev/test/pipeline/`).
//!
//! [`signIn`]: https://learn.microsoft.com/en-us/graph/api/resources/signin

use crate::decode::{DecodeContext, DecodeError, finish, quote, time, time_from_receipt};
use serde_json::{Map, Value};
use std::net::IpAddr;
use tandem_model::{Activity, Class, Event, GeoLocation, Outcome, Severity};

/// Vendor recorded on every Entra event.
pub const VENDOR: &str = "Microsoft";
/// Product recorded on every Entra event.
pub const PRODUCT: &str = "Entra ID";

/// The "Stay signed in?" interrupt: not a failure (see the module docs).
const KEEP_ME_SIGNED_IN: i64 = 50140;

/// Readable reasons for common AADSTS error codes, from Microsoft's "Microsoft Entra
/// authentication and authorization error codes" reference.
pub const AADSTS: &[(i64, &str)] = &[
    (16000, "account selection required"),
    (16001, "account selection required"),
    (50034, "user account does not exist"),
    (50053, "account locked"),
    (50055, "password expired"),
    (50056, "no password stored for the user"),
    (50057, "account disabled"),
    (50058, "no session for silent sign-in"),
    (50072, "MFA enrolment required"),
    (50074, "MFA required"),
    (50076, "MFA required"),
    (50079, "MFA registration required"),
    (50089, "flow token expired"),
    (50097, "device authentication required"),
    (50105, "user not assigned to the application"),
    (50125, "interrupted by password reset or registration"),
    (50126, "invalid username or password"),
    (50133, "session invalid after password change"),
    (50140, "keep-me-signed-in prompt"),
    (50158, "external security challenge not satisfied"),
    (50173, "token expired after password change"),
    (53000, "device not compliant"),
    (53003, "blocked by Conditional Access"),
    (65001, "consent required"),
    (70043, "session expired (sign-in frequency)"),
    (70044, "session expired"),
    (90072, "account not in tenant"),
    (500121, "MFA failed or denied"),
    (530032, "blocked by security policy"),
];

/// Decodes one message carrying Entra sign-ins in any of the shapes in the module docs.
///
/// Returns one event per sign-in (an empty page gives an empty vector). A message that is not
/// JSON, or JSON that is none of the shapes, is a [`DecodeError`] naming what was found and,
/// inside a list, at which position; a list is decoded whole or refused whole.
pub fn decode(text: &str, ctx: &DecodeContext) -> Result<Vec<Event>, DecodeError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text).trim();
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut out = Vec::new();
    match serde_json::from_str::<Value>(body) {
        Ok(value) => expand(&value, Some(body), ctx, &mut out)?,
        // Several JSON documents, one per line: a storage-account blob of diagnostic records.
        Err(_) if body.lines().filter(|l| !l.trim().is_empty()).count() > 1 => {
            for (n, line) in body.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let at = |e: DecodeError| DecodeError::Invalid(format!("line {}: {e}", n + 1));
                let value =
                    serde_json::from_str::<Value>(line).map_err(|e| at(DecodeError::json(&e)))?;
                expand(&value, Some(line), ctx, &mut out).map_err(at)?;
            }
        }
        Err(e) => return Err(DecodeError::json(&e)),
    }
    Ok(out)
}

/// Decodes `value`, whichever shape it is, into `out`. `own_text` is the value's JSON as
/// received, used as raw form when `value` is itself one sign-in.
fn expand(
    value: &Value,
    own_text: Option<&str>,
    ctx: &DecodeContext,
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    match value {
        Value::Array(items) => each(items, "element", ctx, out),
        Value::Object(map) => {
            if let Some(records) = map.get("records") {
                let items = records.as_array().ok_or_else(|| {
                    DecodeError::Invalid(format!(
                        "field `records` must be an array, found {}",
                        kind_of(records)
                    ))
                })?;
                return each(items, "records element", ctx, out);
            }
            if let Some(Value::Array(items)) = map.get("value")
                && !looks_like_sign_in(map)
            {
                return each(items, "value element", ctx, out);
            }
            if let Some(err) = api_error(map) {
                return Err(err);
            }
            let raw = match own_text {
                Some(text) => text.to_owned(),
                None => {
                    serde_json::to_string(value).map_err(|e| DecodeError::Invalid(e.to_string()))?
                }
            };
            out.push(one(map, &raw, ctx)?);
            Ok(())
        }
        other => Err(DecodeError::Invalid(format!(
            "expected an Entra sign-in object, a Graph page, a SigninLogs row or a diagnostic `records` export, found {}",
            kind_of(other)
        ))),
    }
}

/// Decodes the elements of a list, naming the position of one that fails.
fn each(
    items: &[Value],
    what: &str,
    ctx: &DecodeContext,
    out: &mut Vec<Event>,
) -> Result<(), DecodeError> {
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(DecodeError::Invalid(format!(
                "{what} {i}: expected a sign-in object, found {}",
                kind_of(item)
            )));
        }
        expand(item, None, ctx, out)
            .map_err(|e| DecodeError::Invalid(format!("{what} {i}: {e}")))?;
    }
    Ok(())
}

/// A Graph error body (`{"error":{"code","message"}}`), as an error for the operator.
fn api_error(map: &Map<String, Value>) -> Option<DecodeError> {
    if map.len() > 2 {
        return None;
    }
    let err = map.get("error")?.as_object()?;
    let code = err.get("code").and_then(Value::as_str).unwrap_or("unknown");
    let message = err.get("message").and_then(Value::as_str).unwrap_or("");
    Some(DecodeError::Invalid(format!(
        "Microsoft Graph error {}: {}",
        quote(code),
        quote(message)
    )))
}

/// Decodes one object: a diagnostic record (has `properties`) or a flat sign-in.
fn one(map: &Map<String, Value>, raw: &str, ctx: &DecodeContext) -> Result<Event, DecodeError> {
    let props = match map.get("properties") {
        None => None,
        Some(p) => Some(object(p).ok_or_else(|| {
            DecodeError::Invalid(format!(
                "field `properties` must be an object, found {}",
                kind_of(p)
            ))
        })?),
    };
    let Some(props) = props else {
        if !looks_like_sign_in(map) {
            return Err(DecodeError::Invalid(
                "not an Entra sign-in: expected createdDateTime or TimeGenerated, \
                 userPrincipalName, status or ResultType"
                    .to_owned(),
            ));
        }
        return Ok(sign_in(
            &SignIn {
                fields: map,
                record: None,
            },
            raw,
            ctx,
        ));
    };
    let category = map.get("category").and_then(Value::as_str).unwrap_or("");
    if !category.is_empty() && !category.to_ascii_lowercase().contains("signin") {
        return Ok(other_record(map, raw, ctx));
    }
    if category.is_empty() && !looks_like_sign_in(&props) {
        return Err(DecodeError::Invalid(
            "not an Entra sign-in record: no `category` and no sign-in fields in `properties`"
                .to_owned(),
        ));
    }
    Ok(sign_in(
        &SignIn {
            fields: &props,
            record: Some(map),
        },
        raw,
        ctx,
    ))
}

/// Whether a flat object carries at least one field every sign-in shape has.
fn looks_like_sign_in(map: &Map<String, Value>) -> bool {
    const KEYS: &[&str] = &[
        "createdDateTime",
        "TimeGenerated",
        "userPrincipalName",
        "status",
        "ResultType",
        "servicePrincipalId",
    ];
    KEYS.iter().any(|k| get(map, k).is_some())
}

/// One sign-in's fields: the flat object, or a diagnostic record's `properties` with the
/// record as fallback for what `properties` lacks.
struct SignIn<'a> {
    fields: &'a Map<String, Value>,
    record: Option<&'a Map<String, Value>>,
}

impl SignIn<'_> {
    /// The first of `names` (case-insensitive) that `accept` can use, in the sign-in's fields.
    fn find<T>(&self, names: &[&str], accept: impl Fn(&Value) -> Option<T>) -> Option<T> {
        names
            .iter()
            .find_map(|n| get(self.fields, n).and_then(&accept))
    }

    /// Like [`SignIn::find`], in the diagnostic record's own fields.
    fn find_in_record<T>(&self, names: &[&str], accept: impl Fn(&Value) -> Option<T>) -> Option<T> {
        let record = self.record?;
        names.iter().find_map(|n| get(record, n).and_then(&accept))
    }

    fn text(&self, names: &[&str]) -> Option<String> {
        self.find(names, text)
    }
}

fn sign_in(s: &SignIn<'_>, raw: &str, ctx: &DecodeContext) -> Event {
    let when = s
        .find(&["createdDateTime", "TimeGenerated"], time::from_json)
        .or_else(|| s.find_in_record(&["time"], time::from_json));
    let mut event = Event::new(
        &ctx.source,
        Class::Authentication,
        Activity::Logon,
        when.unwrap_or(ctx.received),
    );
    if when.is_none() {
        time_from_receipt(&mut event);
    }
    event.source.vendor = Some(VENDOR.to_owned());
    event.source.product = Some(PRODUCT.to_owned());

    // Who: a person, or an application signing in as itself.
    let application = application_kind(s);
    if let Some(kind) = application {
        event.actor.user = s.text(&["servicePrincipalName", "appDisplayName"]);
        event.actor.uid = s.text(&["servicePrincipalId"]);
        event.actor.app_id = s.text(&["appId"]);
        event.actor.non_person = Some(kind.to_owned());
    } else {
        event.actor.user = s.text(&["userPrincipalName", "servicePrincipalName"]);
        event.actor.uid = s.text(&["userId", "servicePrincipalId"]);
    }

    // From where.
    let ip = s
        .find(&["ipAddress"], ip)
        .or_else(|| s.find_in_record(&["callerIpAddress"], ip));
    if let Some(ip) = ip {
        event.src_mut().ip = Some(ip);
    }
    let place = s
        .find(&["location", "LocationDetails"], |v| {
            object(v).and_then(|o| geo(&o))
        })
        .or_else(|| {
            s.find_in_record(&["location"], text)
                .and_then(|c| country_code(&c))
                .map(|country| GeoLocation {
                    country: Some(country),
                    ..GeoLocation::default()
                })
        });
    if let Some(place) = place {
        event.src_mut().geo = Some(place);
    }
    if let Some(device) = s.find(&["deviceDetail", "DeviceDetail"], object) {
        let name = text_field(&device, "displayName");
        let os = text_field(&device, "operatingSystem");
        if name.is_some() || os.is_some() {
            let d = event.device_mut();
            d.hostname = name;
            d.os = os;
        }
    }

    // What happened.
    let status = s.find(&["status", "Status"], object);
    let code = status
        .as_ref()
        .and_then(|st| get(st, "errorCode"))
        .and_then(integer)
        .or_else(|| s.find(&["ResultType"], integer))
        .or_else(|| s.find_in_record(&["resultType"], integer));
    let stated_reason = status
        .as_ref()
        .and_then(|st| text_field(st, "failureReason"))
        .or_else(|| s.text(&["ResultDescription"]))
        .or_else(|| s.find_in_record(&["resultDescription"], text));
    let reason = code
        .and_then(known_reason)
        .map(str::to_owned)
        .or(stated_reason);
    event.outcome = match code {
        Some(0) => Outcome::Success,
        Some(KEEP_ME_SIGNED_IN) | None => Outcome::Unknown,
        Some(_) => Outcome::Failure,
    };

    let risk = s
        .find(&["riskLevelDuringSignIn"], risk)
        .into_iter()
        .chain(s.find(&["riskLevelAggregated"], risk))
        .max()
        .unwrap_or(Severity::Informational);
    let by_outcome = if event.outcome == Outcome::Failure {
        Severity::Low
    } else {
        Severity::Informational
    };
    event.severity = risk.max(by_outcome);

    let who = match (&event.actor.user, application) {
        (Some(user), None) => user.clone(),
        (Some(app), Some(kind)) => format!("{app} ({})", kind.replace('_', " ")),
        (None, Some(kind)) => format!("unknown {}", kind.replace('_', " ")),
        (None, None) => "unknown user".to_owned(),
    };
    // An application signs in to a resource (Microsoft Graph, Key Vault); its own name is
    // the `appDisplayName`.
    let app = if application.is_some() {
        s.text(&["resourceDisplayName"])
    } else {
        s.text(&["appDisplayName"])
            .or_else(|| s.text(&["resourceDisplayName"]))
    };
    let to_app = app.map(|a| format!(" to {a}")).unwrap_or_default();
    let detail = |code: i64| match &reason {
        Some(r) => format!("{r} (AADSTS{code})"),
        None => format!("AADSTS{code}"),
    };
    event.message = match code {
        Some(0) => format!("{who} signed in{to_app}"),
        Some(c) if event.outcome == Outcome::Failure => {
            format!("{who} failed to sign in{to_app}: {}", detail(c))
        }
        Some(c) => format!("{who} sign-in{to_app} interrupted: {}", detail(c)),
        None => format!("{who} sign-in{to_app}"),
    };

    event.attrs = vendor_fields(s);
    if let Some(code) = code.filter(|c| *c != 0) {
        event.attrs.insert("aadsts.code".to_owned(), code.into());
        if let Some(reason) = reason {
            event
                .attrs
                .insert("aadsts.reason".to_owned(), reason.into());
        }
    }
    finish(&mut event, ctx, Some(raw));
    event
}

/// `service_principal` or `managed_identity` when the sign-in is an application's own, not a
/// person's: said by the diagnostic record's `category` (`ServicePrincipalSignInLogs`,
/// `ManagedIdentitySignInLogs`), the Log Analytics row's `Category` or `Type`
/// (`AADServicePrincipalSignInLogs`, `AADManagedIdentitySignInLogs`), or Graph's
/// `signInEventTypes` (`servicePrincipal`, `managedIdentity`); failing those, a sign-in
/// with a `servicePrincipalId` and no user at all is a service principal's.
fn application_kind(s: &SignIn<'_>) -> Option<&'static str> {
    let of = |v: &str| {
        let v = v.to_ascii_lowercase();
        if v.contains("managedidentity") {
            Some("managed_identity")
        } else if v.contains("serviceprincipal") {
            Some("service_principal")
        } else {
            None
        }
    };
    let said = s
        .find(&["category", "Type"], |v| v.as_str().and_then(of))
        .or_else(|| s.find_in_record(&["category"], |v| v.as_str().and_then(of)))
        .or_else(|| {
            s.find(&["signInEventTypes"], |v| match decoded(v) {
                Value::Array(items) => items.iter().filter_map(Value::as_str).find_map(of),
                Value::String(t) => of(&t),
                _ => None,
            })
        });
    if said.is_some() {
        return said;
    }
    let user = s
        .text(&["userPrincipalName"])
        .or_else(|| s.text(&["userId"]));
    (user.is_none() && s.text(&["servicePrincipalId"]).is_some()).then_some("service_principal")
}

/// A diagnostic record that is not a sign-in: kept, unclassified, with its fields.
fn other_record(map: &Map<String, Value>, raw: &str, ctx: &DecodeContext) -> Event {
    let when = get(map, "time").and_then(time::from_json);
    let mut event = Event::new(
        &ctx.source,
        Class::Other,
        Activity::Other,
        when.unwrap_or(ctx.received),
    );
    if when.is_none() {
        time_from_receipt(&mut event);
    }
    event.source.vendor = Some(VENDOR.to_owned());
    event.source.product = Some(PRODUCT.to_owned());
    event.message = get(map, "operationName")
        .and_then(text)
        .or_else(|| get(map, "category").and_then(text))
        .unwrap_or_default();
    if let Some(ip) = get(map, "callerIpAddress").and_then(ip) {
        event.src_mut().ip = Some(ip);
    }
    event.attrs = map.clone();
    finish(&mut event, ctx, Some(raw));
    event
}

/// The sign-in's own fields for `attrs`: JSON-encoded dynamic columns parsed, and for a
/// diagnostic record the record's fields that `properties` does not have.
fn vendor_fields(s: &SignIn<'_>) -> Map<String, Value> {
    let mut attrs: Map<String, Value> = s
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), decoded(v)))
        .collect();
    if let Some(record) = s.record {
        for (k, v) in record {
            if k != "properties" && !attrs.contains_key(k) {
                attrs.insert(k.clone(), v.clone());
            }
        }
    }
    attrs
}

/// A JSON-encoded object or array (a `SigninLogs` dynamic column exported as text) parsed;
/// any other value as it is.
fn decoded(v: &Value) -> Value {
    if let Value::String(s) = v {
        let t = s.trim_start();
        if (t.starts_with('{') || t.starts_with('['))
            && let Ok(parsed @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(t)
        {
            return parsed;
        }
    }
    v.clone()
}

/// An object, or a string holding a JSON-encoded object.
fn object(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m.clone()),
        Value::String(s) => match serde_json::from_str(s.trim()) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        },
        _ => None,
    }
}

/// A GeoLocation from a Graph `signInLocation`, or `None` when it names nothing.
fn geo(loc: &Map<String, Value>) -> Option<GeoLocation> {
    let point = get(loc, "geoCoordinates").and_then(object);
    let coordinate = |name: &str| point.as_ref().and_then(|p| get(p, name)).and_then(number);
    let (lat, lon) = match (coordinate("latitude"), coordinate("longitude")) {
        (Some(lat), Some(lon))
            if lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0 =>
        {
            (Some(lat), Some(lon))
        }
        _ => (None, None),
    };
    let geo = GeoLocation {
        country: text_field(loc, "countryOrRegion").and_then(|c| country_code(&c)),
        region: text_field(loc, "state"),
        city: text_field(loc, "city"),
        lat,
        lon,
    };
    (geo != GeoLocation::default()).then_some(geo)
}

/// Entra writes ISO 3166-1 alpha-2 codes (`US`); anything else is not a code.
fn country_code(s: &str) -> Option<String> {
    let s = s.trim();
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())).then(|| s.to_ascii_uppercase())
}

/// The readable reason for a known AADSTS code.
fn known_reason(code: i64) -> Option<&'static str> {
    AADSTS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, reason)| *reason)
}

/// Severity from an Entra risk level (`none`, `low`, `medium`, `high`, `hidden`).
fn risk(v: &Value) -> Option<Severity> {
    match v.as_str()?.trim().to_ascii_lowercase().as_str() {
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        _ => None,
    }
}

/// The value of `name` in `map`: exact key first, then ignoring ASCII case (Graph camelCase
/// and `SigninLogs` PascalCase name the same fields).
fn get<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn text_field(map: &Map<String, Value>, name: &str) -> Option<String> {
    get(map, name).and_then(text)
}

/// A non-empty string, trimmed.
fn text(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// An integer written as a number or as text (`ResultType` is a string column).
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A number written as a number or as text.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn ip(v: &Value) -> Option<IpAddr> {
    v.as_str()?.trim().parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::*;

    #[test]
    fn case_insensitive_lookup_prefers_exact_keys() {
        let map: Map<String, Value> =
            serde_json::from_str(r#"{"IPAddress":"192.0.2.1","ipaddress":"192.0.2.2"}"#).unwrap();
        assert_eq!(
            get(&map, "ipAddress").and_then(Value::as_str),
            Some("192.0.2.1")
        );
        assert_eq!(
            get(&map, "ipaddress").and_then(Value::as_str),
            Some("192.0.2.2")
        );
    }

    #[test]
    fn numbers_and_strings() {
        assert_eq!(integer(&Value::from("50126")), Some(50126));
        assert_eq!(integer(&Value::from(0)), Some(0));
        assert_eq!(integer(&Value::from("x")), None);
        assert_eq!(number(&Value::from("47.5")), Some(47.5));
    }

    #[test]
    fn graph_error_body_is_refused_with_its_message() {
        let err = decode(
            r#"{"error":{"code":"Authentication_RequestFromNonPremiumTenantOrB2CTenant","message":"Neither tenant is B2C or tenant doesn't have premium license"}}"#,
            &ctx(),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "Microsoft Graph error Authentication_RequestFromNonPremiumTenantOrB2CTenant"
            ),
            "{err}"
        );
    }

    #[test]
    fn records_must_say_what_they_are() {
        let err = decode(r#"{"properties":{"foo":1}}"#, &ctx()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an Entra sign-in record: no `category` and no sign-in fields in `properties`"
        );
        let ok = decode(r#"{"properties":{"userPrincipalName":"a@b.c"}}"#, &ctx()).unwrap();
        assert_eq!(ok[0].actor.user.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn risk_raises_severity() {
        let e = decode(
            r#"{"createdDateTime":"2026-01-01T00:00:00Z","userPrincipalName":"a@contoso.com","status":{"errorCode":0},"riskLevelDuringSignIn":"high","riskLevelAggregated":"medium"}"#,
            &ctx(),
        )
        .unwrap();
        assert_eq!(e[0].severity, Severity::High);
        assert_eq!(e[0].outcome, Outcome::Success);
    }
}
