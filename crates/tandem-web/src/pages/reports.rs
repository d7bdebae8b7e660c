//! Employees' reports: the public report page (`/report`, the one page besides the health
//! check that needs no sign-in), the reporter's tracking page (`/report/track/{token}`), and
//! the console's reports (`/reports`, `/reports/{id}`: the reported mail read as text, the
//! conversation, a question to the reporter, closing with a thank-you).
//!
//! Everything a reporter or a reported mail wrote reaches the page through the templates'
//! escaping: markup and script are shown as text. A signed-in visitor may report under their
//! name or anonymously; anonymous reports keep no name, no address and no IP (the address
//! only counts against the hourly limit, in memory). The public forms carry no CSRF token:
//! the session cookie is `SameSite=Strict`, so a form posted from another site arrives without
//! it and can only file an anonymous report, which any visitor may.

use crate::auth::Principal;
use crate::reports::Turned;
use crate::view::{Visitor, path_segment, refusal_page, render};
use crate::{ApiError, AppState, Permission};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use tandem_cases::reports::{NewReport, Report, ReportKind, ReportStatus, Reporter, Reports};

async fn with_reports<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Reports) -> Result<T, tandem_cases::CaseError> + Send + 'static,
) -> Result<T, ApiError> {
    let reports = state.reports.reports.clone();
    tokio::task::spawn_blocking(move || f(&reports))
        .await?
        .map_err(ApiError::from)
}

#[derive(Serialize)]
struct KindView {
    code: &'static str,
    label: &'static str,
    questions: Vec<QuestionView>,
}

#[derive(Serialize)]
struct QuestionView {
    field: String,
    name: String,
    label: &'static str,
    value: String,
    /// The input's type: a date-time picker for when it happened.
    input: &'static str,
}

/// What the form held, to show it again after a refusal.
#[derive(Default)]
struct Entered {
    kind: Option<ReportKind>,
    description: String,
    headers: String,
    answers: BTreeMap<String, String>,
    anonymous: bool,
}

fn kinds(entered: &Entered) -> Vec<KindView> {
    ReportKind::ALL
        .iter()
        .map(|k| KindView {
            code: k.code(),
            label: k.label(),
            questions: k
                .questions()
                .iter()
                .map(|(field, label)| QuestionView {
                    field: format!("q-{}-{field}", k.code()),
                    name: format!("q_{}_{field}", k.code()),
                    label,
                    input: if *field == "when" {
                        "datetime-local"
                    } else {
                        "text"
                    },
                    value: if entered.kind == Some(*k) {
                        entered.answers.get(*field).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    },
                })
                .collect(),
        })
        .collect()
}

/// The address a request came from, for the hourly limit only.
fn peer(parts: &axum::http::request::Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_canonical().to_string())
        .unwrap_or_default()
}

/// The signed-in console user behind a request, if any (the report page never requires it).
async fn signed_in(state: &AppState, parts: &axum::http::request::Parts) -> Option<Principal> {
    crate::auth::authenticate(parts, state)
        .await
        .ok()
        .filter(|p| p.session)
}

fn form_page(
    state: &AppState,
    who: Option<&Principal>,
    entered: &Entered,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut r = render(
        "report.html",
        context! {
            kinds => Serde(kinds(entered)),
            chosen => entered.kind.map(|k| k.code()),
            description => entered.description.clone(),
            headers => entered.headers.clone(),
            anonymous => entered.anonymous,
            reporter => who.map(|p| p.name.clone()),
            form_token => state.reports.form_token(now_ms),
            max_mib => state.reports.limits.max_upload_bytes / (1024 * 1024),
            error => error,
        },
    );
    *r.status_mut() = status;
    r
}

/// `GET /report`: the report form, for everyone.
pub async fn report_page(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> Response {
    let who = signed_in(&state, &parts).await;
    form_page(
        &state,
        who.as_ref(),
        &Entered::default(),
        StatusCode::OK,
        None,
    )
}

/// `POST /report`: files a report (multipart: the form and the `.eml`).
pub async fn file_report(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let who = signed_in(&state, &parts).await;
    let addr = peer(&parts);
    let max = state.reports.limits.max_upload_bytes;
    let too_big = || {
        let mut r = form_page(
            &state,
            who.as_ref(),
            &Entered::default(),
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(format!(
                "The upload is too large: at most {} MB. If the e-mail is bigger, paste its headers instead.",
                max / (1024 * 1024)
            )),
        );
        *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        r
    };
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return too_big();
    }
    let request = Request::from_parts(parts, body);
    let mut multipart = match axum::extract::Multipart::from_request(request, &state).await {
        Ok(m) => m,
        Err(e) => {
            return refusal_page(
                StatusCode::BAD_REQUEST,
                &format!("the form could not be read: {e}"),
            );
        }
    };
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut eml: Vec<u8> = Vec::new();
    let mut total = 0usize;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return refusal_page(
                    StatusCode::BAD_REQUEST,
                    &format!("the form could not be read: {e}"),
                );
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let mut value = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    total += c.len();
                    if total > max {
                        return too_big();
                    }
                    value.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) => {
                    return refusal_page(
                        StatusCode::BAD_REQUEST,
                        &format!("the form could not be read: {e}"),
                    );
                }
            }
        }
        if name == "eml" {
            eml = value;
        } else if fields.len() < 64 {
            fields.insert(name, String::from_utf8_lossy(&value).into_owned());
        }
    }
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    let kind = ReportKind::parse(get("kind"));
    let mut entered = Entered {
        kind,
        description: get("description").to_owned(),
        headers: get("headers").to_owned(),
        answers: BTreeMap::new(),
        anonymous: who.is_none() || !get("anonymous").is_empty(),
    };
    if let Some(k) = kind {
        for (field, _) in k.questions() {
            if let Some(v) = fields.get(&format!("q_{}_{field}", k.code())) {
                entered.answers.insert((*field).to_owned(), v.clone());
            }
        }
    }
    let now = chrono::Utc::now();
    if let Err(Turned::Bot) =
        state
            .reports
            .check_form(get("form_token"), get("website"), now.timestamp_millis())
    {
        return form_page(
            &state,
            who.as_ref(),
            &entered,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("We could not take the report: the form was sent too quickly or was not complete. Please check it and send it again.".into()),
        );
    }
    let limits = &state.reports.limits;
    let clock = std::time::Instant::now();
    let allowed = state
        .reports
        .allow(&format!("addr:{addr}"), limits.per_address_per_hour, clock)
        && who.as_ref().is_none_or(|p| {
            state.reports.allow(
                &format!("person:{}", p.name),
                limits.per_person_per_hour,
                clock,
            )
        });
    if !allowed {
        return form_page(
            &state,
            who.as_ref(),
            &entered,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Many reports came from here in the last hour, so this one was not taken. Please try again later, or call the security team if it is urgent.".into()),
        );
    }
    let reporter = match (&who, entered.anonymous) {
        (Some(p), false) => Some(reporter_of(&state, &p.name)),
        _ => None,
    };
    let mail = if !eml.is_empty() {
        Some(eml)
    } else if !entered.headers.trim().is_empty() {
        Some(entered.headers.clone().into_bytes())
    } else {
        None
    };
    let (place, seen_at) = place_and_time(&state, &entered.answers);
    let new = NewReport {
        kind,
        description: entered.description.clone(),
        answers: entered.answers.clone(),
        mail,
        reporter,
        place,
        seen_at,
    };
    let filed = match with_reports(&state, move |r| r.file(new, now)).await {
        Ok(f) => f,
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            return form_page(
                &state,
                who.as_ref(),
                &entered,
                StatusCode::BAD_REQUEST,
                Some(e.message),
            );
        }
        Err(e) => return e.into_response(),
    };
    let r = &filed.report;
    let actor = match &r.reporter {
        Some(rep) => rep.name.clone(),
        None => "anonymous reporter".to_owned(),
    };
    // No address in the audit entry either: an anonymous report must not be traceable.
    crate::audit::record(
        &state,
        &actor,
        "report.filed",
        &r.id,
        json!({ "kind": r.kind.code(), "alert": r.alert, "simulation": r.simulation, "anonymous": r.reporter.is_none() }),
    )
    .await;
    Redirect::to(&format!("/report/track/{}?new=1", filed.token)).into_response()
}

/// The directory place a report's `place` answer names (a door, zone or room by its name or
/// id), and the `when` answer (`2026-12-07T09:15`, as a phone's date-time picker sends it)
/// read in that place's own zone (UTC where none is known).
fn place_and_time(
    state: &AppState,
    answers: &BTreeMap<String, String>,
) -> (Option<String>, Option<chrono::DateTime<chrono::Utc>>) {
    let dir = state.identity.snapshot();
    let place = answers
        .get("place")
        .and_then(|p| dir.find_place(p.trim()))
        .map(|p| p.id.clone());
    let tz = match &place {
        Some(p) => crate::clock::Zone::Site.for_place(&dir, p),
        None => jiff::tz::TimeZone::UTC,
    };
    let seen_at = answers
        .get("when")
        .and_then(|w| w.trim().parse::<jiff::civil::DateTime>().ok())
        .and_then(|dt| dt.to_zoned(tz).ok())
        .and_then(|z| chrono::DateTime::from_timestamp(z.timestamp().as_second(), 0));
    (place, seen_at)
}

/// The reporter as the directory knows the signed-in user: their person, department and
/// site, when the user name is one of a person's accounts or their e-mail.
fn reporter_of(state: &AppState, user: &str) -> Reporter {
    let dir = state.identity.snapshot();
    let person = dir.people().into_iter().find(|p| {
        p.accounts
            .iter()
            .any(|a| a.value.eq_ignore_ascii_case(user))
            || p.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(user))
    });
    Reporter {
        name: user.to_owned(),
        person: person.map(|p| p.id.clone()),
        email: person
            .and_then(|p| p.email.clone())
            .or_else(|| user.contains('@').then(|| user.to_owned())),
        department: person.and_then(|p| p.department.clone()),
        site: person.and_then(|p| p.home_site.as_deref()).map(|s| {
            dir.find_place(s)
                .map_or_else(|| s.to_owned(), |k| k.name.clone())
        }),
    }
}

#[derive(Serialize)]
struct MessageView {
    time: String,
    from: String,
    text: String,
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn messages(r: &Report) -> Vec<MessageView> {
    r.messages
        .iter()
        .map(|m| MessageView {
            time: when(m.time),
            from: match m.from.as_str() {
                "reporter" => "You",
                "responder" => "Security team",
                _ => "Tandem",
            }
            .to_owned(),
            text: m.text.clone(),
        })
        .collect()
}

#[derive(serde::Deserialize, Default)]
pub struct TrackParams {
    #[serde(default)]
    new: Option<String>,
}

fn track_view(
    state: &AppState,
    r: &Report,
    token: &str,
    fresh: bool,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    track_view_with(state, r, token, fresh, false, error, status)
}

fn track_view_with(
    state: &AppState,
    r: &Report,
    token: &str,
    fresh: bool,
    confirm_suspend: bool,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let waiting = r.status != ReportStatus::Closed
        && r.messages.last().is_some_and(|m| m.from == "responder");
    let mut page = render(
        "report_track.html",
        context! {
            id => r.id.clone(),
            kind => r.kind.label(),
            status => r.status.label(),
            closed => r.status == ReportStatus::Closed,
            drill => r.simulation,
            opened => when(r.opened),
            messages => Serde(messages(r)),
            outcome => r.outcome.clone(),
            open => r.status != ReportStatus::Closed,
            waiting => waiting,
            fresh => fresh,
            token => token,
            may_suspend => Reports::may_suspend(r) && badge_action(state).is_some(),
            confirm_suspend => confirm_suspend,
            suspended => r.suspension.as_ref().map(|s| s.badge.clone()),
            form_token => state.reports.form_token(now_ms - (state.reports.limits.min_fill_seconds as i64) * 1000),
            error => error,
        },
    );
    *page.status_mut() = status;
    page
}

fn no_such_link() -> Response {
    refusal_page(
        StatusCode::NOT_FOUND,
        "This tracking link opens no report. Check that the whole link was copied.",
    )
}

/// `GET /report/track/{token}`: the reporter's view of their report.
pub async fn track_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<TrackParams>,
) -> Response {
    let t = token.clone();
    match with_reports(&state, move |r| r.by_token(&t)).await {
        Ok(Some(r)) => track_view(&state, &r, &token, q.new.is_some(), None, StatusCode::OK),
        Ok(None) => no_such_link(),
        Err(e) => e.into_response(),
    }
}

/// `POST /report/track/{token}`: the reporter answers the responders.
pub async fn track_answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Response {
    let f: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let addr = peer(&parts);
    let limits = &state.reports.limits;
    let t = token.clone();
    let Ok(Some(report)) = with_reports(&state, move |r| r.by_token(&t)).await else {
        return no_such_link();
    };
    if !get("website").is_empty() {
        return track_view(
            &state,
            &report,
            &token,
            false,
            Some("The answer could not be taken.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if !state.reports.allow(
        &format!("addr:{addr}"),
        limits.per_address_per_hour * 3,
        std::time::Instant::now(),
    ) {
        return track_view(
            &state,
            &report,
            &token,
            false,
            Some("Many messages came from here in the last hour; please try again later.".into()),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let text = get("answer").to_owned();
    let t = token.clone();
    let now = chrono::Utc::now();
    match with_reports(&state, move |r| r.answer(&t, &text, now)).await {
        Ok(r) => {
            crate::audit::record(
                &state,
                "reporter",
                "report.answered",
                &r.id,
                json!({ "messages": r.messages.len() }),
            )
            .await;
            Redirect::to(&format!("/report/track/{token}")).into_response()
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => track_view(
            &state,
            &report,
            &token,
            false,
            Some(e.message),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => e.into_response(),
    }
}

#[derive(Serialize)]
struct ReportRow {
    id: String,
    path_id: String,
    kind: &'static str,
    status: &'static str,
    reporter: String,
    department: Option<String>,
    alert: Option<String>,
    opened: String,
    drill: bool,
    subject: Option<String>,
}

fn row(r: &Report) -> ReportRow {
    ReportRow {
        id: r.id.clone(),
        path_id: path_segment(&r.id),
        kind: r.kind.label(),
        status: r.status.code(),
        reporter: r
            .reporter
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), |p| p.name.clone()),
        department: r.reporter.as_ref().and_then(|p| p.department.clone()),
        alert: r.alert.clone(),
        opened: when(r.opened),
        drill: r.simulation,
        subject: r.mail.as_ref().and_then(|m| m.subject.clone()),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    alert: Option<String>,
}

/// `GET /reports`: every report, newest first, or those of one alert.
pub async fn reports_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(q): Query<ListParams>,
) -> Response {
    let alert = q.alert.clone().filter(|a| !a.is_empty());
    let a = alert.clone();
    let loaded = with_reports(&state, move |r| {
        let list = match &a {
            Some(a) => {
                let l = r.of_alert(a)?;
                (l.len() as u64, l)
            }
            None => r.list(200, 0)?,
        };
        Ok((list, r.counts()?))
    })
    .await;
    let ((total, list), (drills, real)) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    render(
        "reports.html",
        context! {
            rows => Serde(list.iter().map(row).collect::<Vec<_>>()),
            total => total, drills => drills, real => real,
            alert => alert,
            ..v.base("reports")
        },
    )
}

/// `GET /reports/{id}`: one report, its mail read as text, the conversation.
pub async fn report_case_page(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    report_case_view(&v, &state, &id, None).await
}

async fn report_case_view(
    v: &Visitor,
    state: &AppState,
    id: &str,
    error: Option<String>,
) -> Response {
    let rid = id.to_owned();
    let r = match with_reports(state, move |r| r.get(&rid)).await {
        Ok(r) => r,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            return refusal_page(StatusCode::NOT_FOUND, &e.message);
        }
        Err(e) => return e.into_response(),
    };
    let thank_you = state.reports.thank_you(&r);
    let mut page = render(
        "report_case.html",
        context! {
            report => Serde(&r),
            row => Serde(row(&r)),
            path_id => path_segment(&r.id),
            messages => Serde(messages(&r).into_iter().map(|mut m| { if m.from == "You" { m.from = "Reporter".into(); } m }).collect::<Vec<_>>()),
            answers => Serde(r.answers.iter().map(|(k, val)| {
                let label = r.kind.questions().iter().find(|(f, _)| f == k).map_or(k.as_str(), |(_, l)| l);
                (label.to_owned(), val.clone())
            }).collect::<Vec<_>>()),
            open => r.status != ReportStatus::Closed,
            around => around(&r),
            thank_you => thank_you,
            can_triage => v.can(Permission::TriageAlerts),
            error => error.clone(),
            ..v.base("reports")
        },
    );
    if error.is_some() {
        *page.status_mut() = StatusCode::BAD_REQUEST;
    }
    page
}

/// The search for the badge and camera events at the reported place, ten minutes either
/// side of the reported time: where a responder looks for who came in behind whom.
fn around(r: &Report) -> Option<String> {
    let (place, at) = (r.place.as_ref()?, r.seen_at?);
    let span = chrono::Duration::minutes(10);
    let q = format!(
        "(class:physical_access OR class:video_detection) AND (door:{place} OR zone:{place})"
    );
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    Some(format!(
        "/search?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("from", &fmt(at - span))
            .append_pair("to", &fmt(at + span))
            .finish()
    ))
}

/// `POST /reports/{id}/ask`: a question to the reporter, shown on their tracking page.
pub async fn ask_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let f: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let text = f.get("question").cloned().unwrap_or_default();
    let (rid, actor, now) = (id.clone(), v.who.name.clone(), chrono::Utc::now());
    match with_reports(&state, move |r| r.ask(&rid, &actor, &text, now)).await {
        Ok(r) => {
            crate::audit::by(
                &state,
                &v.who,
                "report.asked",
                &r.id,
                json!({ "status": r.status.code() }),
            )
            .await;
            Redirect::to(&format!("/reports/{}", path_segment(&id))).into_response()
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            report_case_view(&v, &state, &id, Some(e.message)).await
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            refusal_page(StatusCode::NOT_FOUND, &e.message)
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /reports/{id}/close`: closes the report with the thank-you the reporter reads.
pub async fn close_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let f: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let text = f.get("outcome").cloned().unwrap_or_default();
    let (rid, actor, now) = (id.clone(), v.who.name.clone(), chrono::Utc::now());
    match with_reports(&state, move |r| r.close(&rid, &actor, &text, now)).await {
        Ok(r) => {
            crate::audit::by(
                &state,
                &v.who,
                "report.closed",
                &r.id,
                json!({ "status": r.status.code() }),
            )
            .await;
            // Also by e-mail when the reporter is known (through the outbox: retried, logged).
            if let Some(mail) = state.reports.thank_you_mail(&r, &state.public.url()) {
                let outbox = state.outbox.clone();
                match tokio::task::spawn_blocking(move || outbox.enqueue(&[mail], None)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, report = %r.id, "the thank-you mail was not queued")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, report = %r.id, "the thank-you mail was not queued")
                    }
                }
            }
            Redirect::to(&format!("/reports/{}", path_segment(&id))).into_response()
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            report_case_view(&v, &state, &id, Some(e.message)).await
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            refusal_page(StatusCode::NOT_FOUND, &e.message)
        }
        Err(e) => e.into_response(),
    }
}

/// The badge-suspension response action this server can run: the first of the shipped ones
/// whose connection is configured.
fn badge_action(state: &AppState) -> Option<&tandem_respond::actions::ActionDef> {
    ["suspend-badge", "suspend-badge-verkada"]
        .into_iter()
        .filter_map(|id| state.actions.get(id))
        .find(|d| state.actions.connection(&d.connection).is_some())
}

/// `POST /report/track/{token}/suspend`: the reporter of a lost badge suspends it. Without
/// `confirm=yes` the page asks first; with it, the badge-suspension response action is
/// proposed on the report's incident (opened when the alert has none) and runs at once: a
/// person taking away their own badge's access needs no second approver. Logged in the
/// audit log and on the incident's timeline.
pub async fn track_suspend(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let f: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let t = token.clone();
    let Ok(Some(report)) = with_reports(&state, move |r| r.by_token(&t)).await else {
        return no_such_link();
    };
    let Some(def) = badge_action(&state).cloned() else {
        return track_view(
            &state,
            &report,
            &token,
            false,
            Some("Badges cannot be suspended from here; please call the security desk.".into()),
            StatusCode::BAD_REQUEST,
        );
    };
    if !Reports::may_suspend(&report) {
        return track_view(&state, &report, &token, false, Some("This report cannot suspend a badge (it is not a lost badge reported under your name, or it was done already).".into()), StatusCode::BAD_REQUEST);
    }
    if f.get("confirm").map(String::as_str) != Some("yes") {
        return track_view_with(&state, &report, &token, false, true, None, StatusCode::OK);
    }
    match suspend(&state, &report, &def).await {
        Ok(suspension) => {
            let (id, s2, now) = (report.id.clone(), suspension.clone(), chrono::Utc::now());
            if let Err(e) = with_reports(&state, move |r| r.record_suspension(&id, s2, now)).await {
                return e.into_response();
            }
            let actor = report
                .reporter
                .as_ref()
                .map_or("reporter", |r| r.name.as_str());
            crate::audit::record(
                &state,
                actor,
                "report.badge_suspended",
                &report.id,
                json!({ "incident": suspension.incident, "run": suspension.run, "badge": suspension.badge }),
            )
            .await;
            Redirect::to(&format!("/report/track/{token}")).into_response()
        }
        Err(e) => track_view(
            &state,
            &report,
            &token,
            false,
            Some(e.message),
            StatusCode::BAD_REQUEST,
        ),
    }
}

async fn suspend(
    state: &AppState,
    report: &Report,
    def: &tandem_respond::actions::ActionDef,
) -> Result<tandem_cases::reports::Suspension, ApiError> {
    let reporter = report.reporter.clone().unwrap_or_default();
    let person = reporter.person.clone().unwrap_or_default();
    let now = chrono::Utc::now();
    // The report's incident: the alert's, or one opened for the suspension.
    let alert_id = report.alert.clone();
    let cases = state.cases.clone();
    let (rid, who, p2) = (report.id.clone(), reporter.name.clone(), person.clone());
    let incident = tokio::task::spawn_blocking(move || {
        let existing = match &alert_id {
            Some(a) => cases.alerter.get(a)?.incident,
            None => None,
        };
        match existing {
            Some(i) => cases.incidents.get(&i).map(|(inc, _)| inc),
            None => cases.incidents.open(
                tandem_cases::incidents::NewIncident {
                    title: format!("Lost badge reported ({rid})"),
                    summary: format!(
                        "{who} reported their badge lost or stolen and asked to suspend it."
                    ),
                    severity: Some(tandem_model::Severity::High),
                    entities: tandem_model::Entities {
                        persons: vec![p2],
                        ..Default::default()
                    },
                    ..Default::default()
                },
                "reports",
                now,
            ),
        }
    })
    .await??;
    let run_id = tandem_cases::incidents::new_run_id();
    let dir = state.identity.snapshot();
    let url = format!("{}/incidents/{}", state.public.url(), incident.id);
    let (mut proposal, _) = crate::actions::prepare(
        &state.actions,
        &dir,
        def,
        &incident,
        &format!("person:{person}"),
        None,
        &format!("Asked for by the badge's holder on report {}", report.id),
        &run_id,
        &url,
        now,
    )
    .map_err(ApiError::bad_request)?;
    // The holder confirming their own badge is the approval: it only takes access away.
    proposal.risk = tandem_cases::response::Risk::Low;
    proposal.proposers = vec!["reporter".into()];
    let badge = proposal.target.label.clone();
    let (inc_id, actor) = (incident.id.clone(), reporter.name.clone());
    let incidents = state.cases.incidents.clone();
    let r2 = run_id.clone();
    let (_, run) = tokio::task::spawn_blocking(move || {
        incidents.propose_action(&inc_id, &r2, proposal, &actor, "reporter", now)
    })
    .await??;
    Ok(tandem_cases::reports::Suspension {
        incident: incident.id,
        run: run.id,
        badge: if badge.is_empty() {
            "badge".into()
        } else {
            badge
        },
        time: now,
    })
}
