//! How the console looks, for every page: the templates, [`render`], the signed-in
//! [`Visitor`] with the menu they may see, refusals, and the words a page uses for who an
//! event is about and where it happened ([`event_who`], [`event_where`]).
//!
//! The pages themselves live in `pages/`; this module knows nothing of any one of them, of
//! the JSON API or of the audit log.

use crate::access::Permission;
use crate::auth::{Principal, SESSION_COOKIE, cookie};
use crate::{ApiError, AppState};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Environment, context};
use std::sync::OnceLock;
use tandem_identity::Directory;
use tandem_model::Event;

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("layout.html", include_str!("../templates/layout.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("search.html", include_str!("../templates/search.html")),
            ("sources.html", include_str!("../templates/sources.html")),
            ("refused.html", include_str!("../templates/refused.html")),
            ("audit.html", include_str!("../templates/audit.html")),
            (
                "compliance.html",
                include_str!("../templates/compliance.html"),
            ),
            (
                "compliance_control.html",
                include_str!("../templates/compliance_control.html"),
            ),
            (
                "api_reference.html",
                include_str!("../templates/api_reference.html"),
            ),
            (
                "notifications.html",
                include_str!("../templates/notifications.html"),
            ),
            (
                "incidents.html",
                include_str!("../templates/incidents.html"),
            ),
            ("incident.html", include_str!("../templates/incident.html")),
            ("tasks.html", include_str!("../templates/tasks.html")),
            ("kpis.html", include_str!("../templates/kpis.html")),
            (
                "committee.html",
                include_str!("../templates/committee.html"),
            ),
            ("meeting.html", include_str!("../templates/meeting.html")),
            ("briefing.html", include_str!("../templates/briefing.html")),
            (
                "kpi_incidents.html",
                include_str!("../templates/kpi_incidents.html"),
            ),
            (
                "action_items.html",
                include_str!("../templates/action_items.html"),
            ),
            ("findings.html", include_str!("../templates/findings.html")),
            ("alarms.html", include_str!("../templates/alarms.html")),
            ("alerts.html", include_str!("../templates/alerts.html")),
            ("alert.html", include_str!("../templates/alert.html")),
            (
                "exceptions.html",
                include_str!("../templates/exceptions.html"),
            ),
            ("finding.html", include_str!("../templates/finding.html")),
            ("event.html", include_str!("../templates/event.html")),
            (
                "snapshots.html",
                include_str!("../templates/snapshots.html"),
            ),
            ("people.html", include_str!("../templates/people.html")),
            ("person.html", include_str!("../templates/person.html")),
            ("places.html", include_str!("../templates/places.html")),
            (
                "floor_map.html",
                include_str!("../templates/floor_map.html"),
            ),
            ("site_map.html", include_str!("../templates/site_map.html")),
            ("place.html", include_str!("../templates/place.html")),
            ("live.html", include_str!("../templates/live.html")),
            ("rules.html", include_str!("../templates/rules.html")),
            (
                "rule_test.html",
                include_str!("../templates/rule_test.html"),
            ),
            ("settings.html", include_str!("../templates/settings.html")),
            (
                "playbooks.html",
                include_str!("../templates/playbooks.html"),
            ),
            ("playbook.html", include_str!("../templates/playbook.html")),
            (
                "playbook_validate.html",
                include_str!("../templates/playbook_validate.html"),
            ),
            (
                "signed_in.html",
                include_str!("../templates/signed_in.html"),
            ),
            (
                "sign_in_failed.html",
                include_str!("../templates/sign_in_failed.html"),
            ),
            ("report.html", include_str!("../templates/report.html")),
            (
                "report_track.html",
                include_str!("../templates/report_track.html"),
            ),
            ("reports.html", include_str!("../templates/reports.html")),
            (
                "report_case.html",
                include_str!("../templates/report_case.html"),
            ),
        ] {
            env.add_template(name, source).expect("templates are valid");
        }
        env.add_filter("when", crate::clock::when);
        env
    })
}

/// Renders a template registered in [`templates`].
pub(crate) fn render(name: &str, ctx: minijinja::Value) -> Response {
    match templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Renders a template registered in [`templates`] to a string (a page kept or printed, not
/// answered).
pub(crate) fn render_string(name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
    templates().get_template(name)?.render(ctx)
}

/// A console visitor: signed in (the access layer sent everyone else to the login page),
/// with the CSRF token their forms must carry.
pub struct Visitor {
    pub who: Principal,
    pub csrf: String,
    /// The zone they chose for times (UTC unless they chose one).
    pub zone: crate::clock::Zone,
    /// The choice as stored (`UTC`, `site` or an IANA name), for the form.
    pub zone_name: String,
    /// Unacknowledged alarms, for those who may see them: beside "Alarms" in the menu and in
    /// the tab title of every page.
    pub alarms: Option<u64>,
}

impl axum::extract::FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let who = Principal::from_request_parts(parts, state)
            .await
            .map_err(|_| Redirect::to("/login").into_response())?;
        let csrf = cookie(parts, SESSION_COOKIE)
            .map(crate::auth::masked_csrf_token)
            .unwrap_or_default();
        let (zone, zone_name) = zone_of(state, &who.name).await;
        let alarms = if who.can(Permission::ViewAlarms) {
            let now = chrono::Utc::now();
            crate::alarms::with_alarms(state, move |a| a.unacknowledged(now))
                .await
                .ok()
        } else {
            None
        };
        Ok(Visitor {
            who,
            csrf,
            zone,
            zone_name,
            alarms,
        })
    }
}

/// The zone `user` chose for console times, and the choice as stored (`UTC`, `site` or an
/// IANA name); UTC for anyone who chose none or holds no console account (an API token).
pub(crate) async fn zone_of(state: &AppState, user: &str) -> (crate::clock::Zone, String) {
    let accounts = state.accounts.clone();
    let name = user.to_owned();
    let stored = tokio::task::spawn_blocking(move || accounts.time_zone(&name))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    // A zone the system no longer knows (tzdata changed) falls back to UTC.
    match stored.as_deref().and_then(crate::clock::Zone::parse) {
        Some(z) => (z, stored.unwrap_or_default()),
        None => (crate::clock::Zone::default(), "UTC".to_owned()),
    }
}

/// The main menu: page key, link, label, the permission that shows it.
const NAV: &[(&str, &str, &str, Permission)] = &[
    ("live", "/live", "Live", Permission::SearchEvents),
    ("alarms", "/alarms", "Alarms", Permission::ViewAlarms),
    ("search", "/search", "Search", Permission::SearchEvents),
    (
        "findings",
        "/findings",
        "Findings",
        Permission::ViewFindings,
    ),
    ("alerts", "/alerts", "Alerts", Permission::ViewAlerts),
    ("reports", "/reports", "Reports", Permission::ViewAlerts),
    (
        "incidents",
        "/incidents",
        "Incidents",
        Permission::ViewIncidents,
    ),
    ("tasks", "/tasks", "My tasks", Permission::ViewIncidents),
    ("kpis", "/kpis", "KPIs", Permission::ViewKpis),
    (
        "committee",
        "/committee",
        "Committee",
        Permission::ViewCommittee,
    ),
    ("people", "/people", "People", Permission::ViewPeople),
    ("places", "/places", "Places", Permission::ViewPlaces),
    ("map", "/map", "Map", Permission::ViewPlaces),
    ("sources", "/sources", "Sources", Permission::ViewSources),
    ("rules", "/rules", "Rules", Permission::ViewRules),
    (
        "playbooks",
        "/playbooks",
        "Playbooks",
        Permission::ViewPlaybooks,
    ),
    (
        "compliance",
        "/compliance",
        "Compliance",
        Permission::ViewCompliance,
    ),
    ("audit", "/audit", "Audit log", Permission::ViewAudit),
    (
        "notifications",
        "/notifications",
        "Notifications",
        Permission::ViewDeliveries,
    ),
    ("settings", "/settings", "Settings", Permission::ManageUsers),
];

impl Visitor {
    /// What every page's layout needs: who is signed in, the menu they may see, the page
    /// they are on (`page`, one of the menu keys) and the CSRF token for forms. Pages add
    /// their own fields with `context! { rows => …, ..visitor.base("findings") }` (the spread
    /// comes last).
    pub fn base(&self, page: &str) -> minijinja::Value {
        let nav: Vec<minijinja::Value> = NAV
            .iter()
            .filter(|(_, _, _, p)| self.who.can(*p))
            .map(|&(key, href, label, _)| context! { key => key, href => href, label => label })
            .collect();
        context! {
            user => self.who.name.clone(),
            role => self.who.role.label(),
            page => page,
            nav => nav,
            csrf => self.csrf.clone(),
            time_zone => self.zone_name.clone(),
            alarm_count => self.alarms,
        }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.who.can(p)
    }
}

/// A readable refusal for a browser: what happened and where to go instead.
///
/// Handlers call this without knowing who asked; the response carries the [`Refusal`], and
/// the access layer, which knows, draws it again with the visitor's menu and sign-out (see
/// [`refusal_for`]), so a refused page is not a dead end.
pub fn refusal_page(status: StatusCode, message: &str) -> Response {
    let mut r = render(
        "refused.html",
        context! { status => status.as_u16(), message => message },
    );
    *r.status_mut() = status;
    r.extensions_mut().insert(Refusal {
        status,
        message: message.to_owned(),
    });
    r
}

/// What a refusal page says, kept on its response so it can be drawn again with the menu.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

/// The refusal page for a signed-in console visitor: the same text, with the menu of what
/// they may open and the sign-out button.
pub async fn refusal_for(
    state: &AppState,
    parts: &Parts,
    who: Principal,
    refusal: &Refusal,
) -> Response {
    let csrf = cookie(parts, SESSION_COOKIE)
        .map(crate::auth::masked_csrf_token)
        .unwrap_or_default();
    let (zone, zone_name) = zone_of(state, &who.name).await;
    let v = Visitor {
        who,
        csrf,
        zone,
        zone_name,
        alarms: None,
    };
    let mut r = render(
        "refused.html",
        context! {
            status => refusal.status.as_u16(), message => refusal.message.clone(),
            ..v.base("refused")
        },
    );
    *r.status_mut() = refusal.status;
    r
}

/// The start page is the first menu entry the visitor may open.
pub async fn home(v: Visitor) -> Redirect {
    let first = NAV.iter().find(|(_, _, _, p)| v.can(*p));
    Redirect::to(first.map_or("/login", |(_, href, _, _)| *href))
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../templates/tandem.css"),
    )
        .into_response()
}

/// A path segment with everything but unreserved characters percent-encoded (rule ids may
/// be titles with spaces).
pub fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A vendored script, cached for an hour (sites on slow links fetch it once a visit).
pub fn script(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Who an event is about, in the words a reader knows. Every page names people this way
/// (search, the live monitor, findings, a person's and a place's events, a door's state), so
/// one person reads the same everywhere. The first of:
///
/// 1. the person the event resolved to: their name in the directory now, else the name
///    resolution stored, else their id;
/// 2. the directory's service account: its name (else its id), marked as one;
/// 3. the identifier the source sent: the account (`alice`, `CORP\alice`), else the
///    application id, the e-mail address, the badge or the face; an account resolution knows
///    is not a person (`SYSTEM`, `HOST$`, `root`) says what kind it is.
///
/// Empty when the event names nobody (a firewall's connection: its host is where, not who).
pub(crate) fn event_who(dir: &Directory, e: &Event) -> String {
    let a = &e.actor;
    if let Some(p) = &a.person {
        return dir
            .person(&p.id)
            .map(|known| known.name.clone())
            .or_else(|| p.name.clone())
            .unwrap_or_else(|| p.id.clone());
    }
    if let Some(s) = &a.service_account {
        let name = s.name.as_deref().unwrap_or(&s.id);
        return format!("{name} (service account)");
    }
    let kind = a.non_person.as_deref().map(non_person_label);
    let account = a.user.clone().or_else(|| a.app_id.clone());
    match (account, kind) {
        (Some(account), Some(kind)) => format!("{account} ({kind})"),
        (Some(account), None) => account,
        (None, kind) => a
            .email
            .clone()
            .or_else(|| a.badge.as_ref().map(|b| format!("badge {b}")))
            .or_else(|| a.face.as_ref().map(|f| format!("face “{f}”")))
            .or_else(|| kind.map(str::to_owned))
            .unwrap_or_default(),
    }
}

/// The kind of a non-person account (`actor.non_person`) in words.
fn non_person_label(kind: &str) -> &str {
    match kind {
        "windows_builtin" => "Windows built-in account",
        "machine" => "computer account",
        "unix_system" => "system account",
        "service_principal" => "application",
        "managed_identity" => "managed identity",
        "service_account" => "service account",
        other => other,
    }
}

/// Where an event happened: the door, camera or zone by its name in the directory (a stored
/// event holds the directory's id), else the host or source address.
pub(crate) fn event_where(dir: &Directory, e: &Event) -> String {
    let place = e.place.as_ref();
    place
        .and_then(|p| p.most_specific().next())
        .map(|p| {
            dir.find_place(p)
                .map_or_else(|| p.to_owned(), |known| known.name.clone())
        })
        .or_else(|| e.device.as_ref().and_then(|d| d.hostname.clone()))
        .or_else(|| e.src.as_ref().and_then(|s| s.ip).map(|ip| ip.to_string()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_model::{Activity, Class, PersonRef, ServiceAccountRef};
    use tandem_store::{ChangeBody, DirectoryChange};

    /// A directory that knows one person, `p-1`, as Alice Example.
    fn directory() -> Directory {
        let alice = tandem_identity::Person {
            id: "p-1".into(),
            name: "Alice Example".into(),
            ..Default::default()
        };
        let mut change = DirectoryChange::new(
            "person",
            "p-1",
            "2020-01-01T00:00:00Z".parse().unwrap(),
            "test",
            ChangeBody::State(serde_json::to_value(alice).unwrap()),
        );
        change.seq = 1;
        let mut dir = Directory::default();
        dir.apply(&[change]).unwrap();
        dir
    }

    fn event(actor: impl FnOnce(&mut tandem_model::Actor)) -> Event {
        let mut e = Event::new(
            "test",
            Class::Authentication,
            Activity::Logon,
            "2026-12-07T08:00:00Z".parse().unwrap(),
        );
        actor(&mut e.actor);
        e
    }

    fn person(id: &str, name: Option<&str>) -> Option<PersonRef> {
        Some(PersonRef {
            id: id.into(),
            name: name.map(Into::into),
            method: "exact".into(),
            confidence: 1.0,
            status: None,
            department: None,
        })
    }

    #[test]
    fn people_are_named_the_same_way_everywhere() {
        let dir = directory();
        let who = |f: fn(&mut tandem_model::Actor)| event_who(&dir, &event(f));
        // A resolved person by their directory name, over every identifier the source sent.
        assert_eq!(
            who(|a| {
                a.person = person("p-1", Some("Alice (as resolved)"));
                a.user = Some("alice".into());
                a.badge = Some("10077".into());
            }),
            "Alice Example"
        );
        // Gone from the directory: the name resolution stored, else the id.
        assert_eq!(
            who(|a| a.person = person("p-9", Some("Bob Gone"))),
            "Bob Gone"
        );
        assert_eq!(who(|a| a.person = person("p-9", None)), "p-9");
        // A service account by its directory name, over the account it signed in as.
        assert_eq!(
            who(|a| {
                a.user = Some("svc-backup".into());
                a.non_person = Some("service_account".into());
                a.service_account = Some(ServiceAccountRef {
                    id: "sa-1".into(),
                    name: Some("Nightly backup".into()),
                    ..Default::default()
                });
            }),
            "Nightly backup (service account)"
        );
        // A well-known account that is not a person says what kind it is.
        assert_eq!(
            who(|a| {
                a.user = Some("SYSTEM".into());
                a.non_person = Some("windows_builtin".into());
            }),
            "SYSTEM (Windows built-in account)"
        );
        assert_eq!(
            who(|a| {
                a.app_id = Some("00000003-0000".into());
                a.non_person = Some("service_principal".into());
            }),
            "00000003-0000 (application)"
        );
        // Unresolved: the account, else the e-mail, the badge, the face.
        assert_eq!(
            who(|a| {
                a.user = Some("CORP\\carol".into());
                a.email = Some("carol@example.com".into());
                a.badge = Some("10078".into());
            }),
            "CORP\\carol"
        );
        assert_eq!(
            who(|a| {
                a.email = Some("carol@example.com".into());
                a.badge = Some("10078".into());
            }),
            "carol@example.com"
        );
        assert_eq!(who(|a| a.badge = Some("10078".into())), "badge 10078");
        assert_eq!(who(|a| a.face = Some("Dave".into())), "face “Dave”");
        assert_eq!(who(|_| {}), "");
    }
}
