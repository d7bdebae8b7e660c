//! The alarm queue (`/alarms`): the control room's open alarms, separate from the rolling
//! live feed, unacknowledged first, then the most severe, then the newest; each with its
//! door or camera (by name, linked to its place page), its events and its finding, and the
//! actions (acknowledge with a comment, snooze, forward, clear) as forms that work without
//! script. `static/alarms.js` keeps the count in the tab title and the menu on every page,
//! refreshes the queue when it changes, and plays the alarm sound for those who chose it.
//!
//! The forms go through the same call as the API (`crate::alarms::act`), audited.

use crate::alarms::{ActionBody, AlarmParams, act, forwarded_to, queue, with_alarms};
use crate::clock::Stamp;
use crate::snapshots::SnapshotView;
use crate::view::{Visitor, path_segment, refusal_page, render, script};
use crate::{AppState, Permission, Role};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;
use serde_json::json;
use tandem_cases::alarms::{kind_title, snoozed};
use tandem_identity::model::PlaceKind;
use tandem_store::{Alarm, AlarmState};

/// `GET /static/alarms.js`: the count in the title and the menu, the queue's refresh, the
/// sound.
pub async fn alarms_script() -> Response {
    script(include_str!("../../static/alarms.js"))
}

/// The alarm sound: a short two-tone beep, 8 kHz mono, made by [`tests::tone`].
const SOUND: &[u8] = include_bytes!("../../static/alarm.wav");

/// `GET /static/alarm.wav`.
pub async fn alarm_sound() -> Response {
    (
        [
            (header::CONTENT_TYPE, "audio/wav"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        SOUND,
    )
        .into_response()
}

/// A link to one of the console's pages: the path's last segment (escaped for a path; the
/// template writes the rest of the path) when the visitor may open it, and what it says.
#[derive(Serialize)]
struct Link {
    id: Option<String>,
    text: String,
}

/// One row of the queue.
#[derive(Serialize)]
struct AlarmRow {
    id: String,
    path_id: String,
    version: u64,
    kind: String,
    title: String,
    summary: String,
    severity: &'static str,
    /// `active`, `acknowledged`, `cleared`: the row's colour.
    state: &'static str,
    /// The state in words, so it reads without colour.
    state_words: String,
    count: u64,
    first_seen: Stamp,
    last_seen: Stamp,
    place: Option<Link>,
    site: Option<String>,
    events: Vec<Link>,
    findings: Vec<Link>,
    snoozed_until: Option<Stamp>,
    forwarded_to: Option<String>,
    forwarded_to_me: bool,
    ack_required: bool,
    acknowledged: bool,
    back_to_normal: bool,
    /// The camera snapshots of the finding's evidence: what the operator would otherwise
    /// open the recorder for.
    snapshots: Vec<SnapshotView>,
}

/// Whom an alarm may be forwarded to: the roles that see alarms and the console's users.
#[derive(Serialize)]
struct Receiver {
    value: String,
    label: String,
}

/// What a forward's receiver reads as: a role's label or the user name.
fn receiver_words(to: &str) -> String {
    match to.strip_prefix("role:").map(Role::parse) {
        Some(Some(r)) => format!("the {} role", r.label()),
        _ => to.to_owned(),
    }
}

fn row(v: &Visitor, state: &AppState, a: &Alarm, now: tandem_model::Timestamp) -> AlarmRow {
    let dir = state.identity.snapshot();
    let tz = match &a.place {
        Some(p) => v.zone.for_place(&dir, p),
        None => v.zone.plain(),
    };
    let can_places = v.can(Permission::ViewPlaces);
    let place = a.place.as_ref().map(|id| {
        // A place the directory knows gets its page, named as it is now.
        let known = dir.place(id);
        Link {
            id: known.filter(|_| can_places).map(|p| path_segment(&p.id)),
            text: known
                .map(|p| p.name.clone())
                .or_else(|| a.place_name.clone())
                .unwrap_or_else(|| id.clone()),
        }
    });
    let site = a.site.as_ref().map(|s| {
        dir.place(s)
            .filter(|p| p.kind == PlaceKind::Site)
            .map(|p| p.name.clone())
            .or_else(|| a.site_name.clone())
            .unwrap_or_else(|| s.clone())
    });
    let can_events = v.can(Permission::SearchEvents);
    let n = a.events.len();
    let events = a
        .events
        .iter()
        .enumerate()
        .rev()
        .take(3)
        .map(|(i, id)| Link {
            id: can_events.then(|| id.to_string()),
            text: if i + 1 == n {
                "latest event".to_owned()
            } else {
                "earlier event".to_owned()
            },
        })
        .collect();
    let findings = a
        .finding
        .iter()
        .chain(&a.more_findings)
        .enumerate()
        .map(|(i, f)| Link {
            id: v.can(Permission::ViewFindings).then(|| f.to_string()),
            text: if i == 0 { "finding" } else { "another finding" }.to_owned(),
        })
        .collect();
    let snoozed_now = snoozed(a, now);
    let mut words = match a.state {
        AlarmState::Active => "Unacknowledged".to_owned(),
        AlarmState::Acknowledged => format!(
            "Acknowledged by {}",
            a.acknowledged_by.as_deref().unwrap_or("someone")
        ),
        AlarmState::Cleared => format!(
            "Cleared{}",
            a.cleared_by
                .as_deref()
                .map(|b| if b == tandem_cases::PRODUCT_ACTOR {
                    " (back to normal)".to_owned()
                } else {
                    format!(" by {b}")
                })
                .unwrap_or_default()
        ),
    };
    if snoozed_now {
        words.push_str(", snoozed");
    }
    if a.back_to_normal && a.state != AlarmState::Cleared {
        words.push_str(", back to normal");
    }
    AlarmRow {
        id: a.id.clone(),
        path_id: path_segment(&a.id),
        version: a.version,
        kind: kind_title(&a.kind).to_owned(),
        title: a.title.clone(),
        summary: a.summary.clone(),
        severity: a.severity.name(),
        state: if snoozed_now {
            "snoozed"
        } else {
            a.state.code()
        },
        state_words: words,
        count: a.count,
        first_seen: crate::clock::stamp(a.first_seen, &tz),
        last_seen: crate::clock::stamp(a.last_seen, &tz),
        place,
        site,
        events,
        findings,
        snoozed_until: a
            .snoozed_until
            .filter(|_| snoozed_now)
            .map(|t| crate::clock::stamp(t, &tz)),
        forwarded_to: a.forwarded_to.as_deref().map(receiver_words),
        forwarded_to_me: forwarded_to(a, &v.who),
        ack_required: a.ack_required,
        acknowledged: a.state == AlarmState::Acknowledged,
        back_to_normal: a.back_to_normal,
        snapshots: Vec::new(),
    }
}

/// The camera snapshots of the alarms' findings' evidence, for visitors who may see
/// findings; one row's store error shows as no picture on that row.
async fn attach_snapshots(v: &Visitor, state: &AppState, list: &[Alarm], rows: &mut [AlarmRow]) {
    if !v.can(Permission::ViewFindings) {
        return;
    }
    for (a, row) in list.iter().zip(rows.iter_mut()) {
        let findings: Vec<_> = a.finding.iter().chain(&a.more_findings).copied().collect();
        if findings.is_empty() {
            continue;
        }
        let events = state.events.clone();
        let evidence = tokio::task::spawn_blocking(move || {
            let mut evidence = Vec::new();
            for id in findings {
                let found = events.event(id).ok().flatten();
                for e in found
                    .and_then(|e| tandem_model::Finding::from_event(&e))
                    .map(|f| f.evidence)
                    .unwrap_or_default()
                {
                    if !evidence.contains(&e) {
                        evidence.push(e);
                    }
                }
            }
            evidence
        })
        .await
        .unwrap_or_default();
        if evidence.is_empty() {
            continue;
        }
        let dir = state.identity.snapshot();
        let zone = match &a.place {
            Some(p) => v.zone.for_place(&dir, p),
            None => v.zone.plain(),
        };
        row.snapshots = crate::snapshots::views(state, evidence, &zone).await;
    }
}

/// `GET /alarms`: the queue, `?site=` one site's, `?mine=true` those forwarded to the
/// visitor, `?cleared=true` recently cleared ones too.
pub async fn alarms_page(
    v: Visitor,
    State(state): State<AppState>,
    Query(params): Query<AlarmParams>,
) -> Response {
    alarms_view(&v, &state, &params, None).await
}

async fn alarms_view(
    v: &Visitor,
    state: &AppState,
    params: &AlarmParams,
    error: Option<(StatusCode, String)>,
) -> Response {
    let list = match queue(state, &v.who, params).await {
        Ok(l) => l,
        Err(e) => return refusal_page(e.status, &e.message),
    };
    let now = chrono::Utc::now();
    let mut rows: Vec<AlarmRow> = list.iter().map(|a| row(v, state, a, now)).collect();
    attach_snapshots(v, state, &list, &mut rows).await;
    let unacknowledged = rows.iter().filter(|r| r.state == "active").count();
    let dir = state.identity.snapshot();
    let mut sites: Vec<(String, String)> = dir
        .places()
        .into_iter()
        .filter(|p| p.kind == PlaceKind::Site)
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    sites.sort_by(|a, b| a.1.cmp(&b.1));
    let mut receivers: Vec<Receiver> = Role::all()
        .into_iter()
        .filter(|r| r.permits(Permission::ViewAlarms))
        .map(|r| Receiver {
            value: format!("role:{r}"),
            label: format!("{} (role)", r.label()),
        })
        .collect();
    let accounts = state.accounts.clone();
    if let Ok(Ok(users)) = tokio::task::spawn_blocking(move || accounts.list_users()).await {
        receivers.extend(users.into_iter().filter_map(|u| {
            Role::parse(&u.role)
                .filter(|r| r.permits(Permission::ViewAlarms))
                .map(|_| Receiver {
                    label: u.name.clone(),
                    value: u.name,
                })
        }));
    }
    let name = v.who.name.clone();
    let sound = with_alarms(state, move |a| a.sound(&name))
        .await
        .unwrap_or(false);
    let (status, message) = match error {
        Some((s, m)) => (s, Some(m)),
        None => (StatusCode::OK, None),
    };
    let mut page = render(
        "alarms.html",
        context! {
            rows => Serde(&rows),
            unacknowledged => unacknowledged,
            sites => sites,
            site => params.site.clone().unwrap_or_default(),
            mine => params.mine.unwrap_or(false),
            cleared => params.cleared.unwrap_or(false),
            receivers => Serde(&receivers),
            can_act => v.can(Permission::HandleAlarms),
            sound => sound,
            error => message,
            ..v.base("alarms")
        },
    );
    *page.status_mut() = status;
    page
}

/// `POST /alarms/{id}/{action}`: acknowledge, snooze, forward or clear from the queue's
/// forms (`comment`, `version`, `minutes`, `to`). A refusal shows the queue again with why.
pub async fn action_form(
    v: Visitor,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let f: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| {
        f.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let back = field("back").filter(|b| b.starts_with("/alarms") && !b.starts_with("//"));
    let body = ActionBody {
        comment: field("comment").unwrap_or_default(),
        version: field("version").and_then(|v| v.parse().ok()),
        until: field("until"),
        minutes: field("minutes").and_then(|m| m.parse().ok()),
        to: field("to"),
    };
    match act(&state, &v.who, &id, &action, &body).await {
        Ok(_) => Redirect::to(back.as_deref().unwrap_or("/alarms")).into_response(),
        Err(e) => {
            alarms_view(
                &v,
                &state,
                &AlarmParams::default(),
                Some((e.status, e.message)),
            )
            .await
        }
    }
}

/// `POST /alarms/sound`: the visitor's choice of the alarm sound (`sound=on` or `off`).
pub async fn sound_form(
    v: Visitor,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Response {
    let on = form_urlencoded::parse(&body).any(|(k, val)| k == "sound" && val == "on");
    let name = v.who.name.clone();
    match with_alarms(&state, move |a| a.set_sound(&name, on)).await {
        Ok(()) => {
            crate::audit::by(
                &state,
                &v.who,
                "alarm.sound",
                &v.who.name,
                json!({ "sound": on }),
            )
            .await;
            Redirect::to("/alarms").into_response()
        }
        Err(e) => refusal_page(e.status, &e.message),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// The alarm sound, made here so the checked-in file can be made again: two short
    /// tones (880 Hz, then 660 Hz, 0.18 s each), 8 kHz, 8-bit mono PCM WAV.
    pub fn tone() -> Vec<u8> {
        let rate = 8_000u32;
        let mut samples = Vec::new();
        for (freq, secs) in [(880.0f64, 0.18f64), (0.0, 0.04), (660.0, 0.18)] {
            let n = (rate as f64 * secs) as usize;
            for i in 0..n {
                let t = i as f64 / rate as f64;
                // A short fade in and out: no click.
                let edge = (i.min(n - 1 - i) as f64 / 80.0).min(1.0);
                let s = if freq == 0.0 {
                    0.0
                } else {
                    (t * freq * std::f64::consts::TAU).sin() * 0.6 * edge
                };
                samples.push((128.0 + s * 127.0).round() as u8);
            }
        }
        let mut w = Vec::new();
        w.extend_from_slice(b"RIFF");
        w.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
        w.extend_from_slice(b"WAVEfmt ");
        w.extend_from_slice(&16u32.to_le_bytes());
        w.extend_from_slice(&1u16.to_le_bytes()); // PCM
        w.extend_from_slice(&1u16.to_le_bytes()); // mono
        w.extend_from_slice(&rate.to_le_bytes());
        w.extend_from_slice(&rate.to_le_bytes()); // bytes per second
        w.extend_from_slice(&1u16.to_le_bytes()); // block align
        w.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
        w.extend_from_slice(b"data");
        w.extend_from_slice(&(samples.len() as u32).to_le_bytes());
        w.extend_from_slice(&samples);
        w
    }

    /// `TANDEM_WRITE_ALARM_WAV=1 cargo test -p tandem-web --lib alarm_sound` writes it.
    #[test]
    fn the_alarm_sound_is_the_tone_made_here() {
        let made = tone();
        if std::env::var_os("TANDEM_WRITE_ALARM_WAV").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/static/alarm.wav");
            std::fs::write(path, &made).unwrap();
        }
        assert_eq!(super::SOUND, made.as_slice());
    }
}
