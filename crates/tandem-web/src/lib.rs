//! Tandem's HTTP face: the ingest endpoint, the JSON API, the console pages, health and metrics.
//!
//! Handlers are thin: they authenticate, parse the request, call the pipeline or the store, and
//! map errors to responses ([`ApiError`]). No business logic lives here, so everything a handler
//! does can be tested without HTTP, and everything HTTP adds (status codes, limits, auth) is
//! tested over real sockets in `tests/`.
//!
//! Everything is behind authentication except `GET /healthz`, the report page for employees
//! (`/report`, and a report's tracking page opened by its token), the login page and the single
//! sign-on start and callback (`sso`). Ingest uses
//! per-source API keys; signed webhooks (`/api/v1/webhooks/{source}`) are authenticated by
//! their HMAC signature, the only credential such senders can present; the API and SCIM use
//! API tokens (`Authorization: Bearer …`) or a console session cookie.

pub mod access;
/// Response actions on incidents: definitions, proposals, four-eyes approvals.
pub mod actions;
mod alarms;
mod alerts;
mod api;
mod attack;
mod audit;
mod auth;
pub mod briefing;
mod clock;
mod committee;
mod compliance;
mod detect;
mod directory;
mod error;
mod guard;
mod incidents;
mod kpi_figures;
pub mod kpis;
mod maps;
mod notify;
mod openapi;
mod pages;
mod pivot;
mod playbooks;
mod public;
/// The public report page's limits, rate limits and bot checks; the thank-you template.
pub mod reports;
mod scim;
mod searches;
mod snapshots;
pub mod sso;
mod view;
pub use maps::Tiles;
pub use snapshots::ClipLinks;

pub use access::{Access, Department, Permission, Role};
pub use audit::verify as verify_audit;
pub use auth::{LoginThrottle, Principal, generate_secret, hash_password, verify_password};
pub use error::ApiError;
pub use public::{PublicOrigin, PublicUrlError};
pub use scim::{apply_patch as scim_apply_patch, filter_matches as scim_filter_matches};
pub use searches::{SearchLimits, Searches};

use axum::Router;
use axum::http::Method;
use axum::routing::{get, post};
use std::sync::Arc;
use tandem_pipeline::pipeline::Pipeline;
use tandem_store::{AccountStore, AuditStore, EventStore};

/// Rule management, implemented where the rule directories and the store meet (the binary).
pub trait RuleControl: Send + Sync {
    /// Every rule with its state and hit count, as JSON.
    fn list(&self) -> serde_json::Value;
    /// Switches a rule on or off (remembered across restarts).
    fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), String>;
    /// Reads the rule directories again, keeping correlation state.
    fn reload(&self) -> Result<serde_json::Value, String>;
    /// The Sigma text of the file a loaded rule came from: where a test starts.
    fn source(&self, id: &str) -> Option<String>;
    /// Loads `text` as a rule set of its own and replays it over `events` (any order).
    /// Nothing live changes: no findings are stored, no state or hit count moves.
    fn test(&self, text: &str, events: &[tandem_model::Event]) -> RuleTest;
    /// Where rules are read from, with what each gave.
    fn directories(&self) -> Vec<RuleDirectory>;
    /// Adds a directory (or file) of rules on the server's disk, remembered across
    /// restarts, and reloads.
    fn add_directory(&self, path: &std::path::Path) -> Result<serde_json::Value, String>;
    /// Removes a directory added with [`RuleControl::add_directory`] and reloads.
    fn remove_directory(&self, path: &std::path::Path) -> Result<serde_json::Value, String>;
}

/// What trying rules on stored events gave.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RuleTest {
    /// Detection and correlation rules the text held.
    pub rules: usize,
    /// What in the text could not be used, one line each.
    pub issues: Vec<String>,
    /// What the rules would have raised, oldest first.
    pub findings: Vec<tandem_model::Finding>,
}

/// One place rules are read from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleDirectory {
    pub path: std::path::PathBuf,
    /// `shipped` (built into Tandem), `config` (`[detect] sigma_dirs` in tandem.toml) or
    /// `console` (added on the settings page; the only kind the console removes).
    pub origin: &'static str,
    /// Rules read from it, switched on or not.
    pub rules: usize,
    /// Files and rules in it that could not be used, one line each.
    pub issues: Vec<String>,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub events: Arc<dyn EventStore>,
    pub accounts: Arc<dyn AccountStore>,
    /// The append-only audit log.
    pub audit: Arc<dyn AuditStore>,
    /// Failed sign-ins per user name, to slow down password guessing.
    pub throttle: Arc<auth::LoginThrottle>,
    pub pipeline: Arc<Pipeline>,
    pub identity: Arc<tandem_identity::Identity>,
    /// Column mapping for HR CSV imports.
    pub hr_columns: Arc<tandem_identity::hr::HrColumns>,
    /// Rule management; `None` when detection is off.
    pub rules: Option<Arc<dyn RuleControl>>,
    /// Whether session cookies get the `Secure` attribute (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Single sign-on through an OpenID Connect provider; `None` when not configured.
    pub sso: Option<Arc<sso::Sso>>,
    /// Tandem's URL as seen from outside (`[http] public_url`), for absolute URLs in
    /// answers, and the proxies whose forwarded headers may override it.
    pub public: Arc<PublicOrigin>,
    /// Searches running now, and the limits each one runs under.
    pub searches: Arc<Searches>,
    /// Files the directory names by hash: floor plans.
    pub files: Arc<dyn tandem_store::FileStore>,
    /// The tile server the site overview draws on (`[maps] tile_url`); `None`: no tiles.
    pub tiles: Option<Arc<maps::Tiles>>,
    /// Alerts, incidents and playbooks.
    pub cases: tandem_cases::Cases,
    /// Camera events' snapshots, fetched from the video recorder by the server.
    pub snapshots: Arc<dyn tandem_store::SnapshotStore>,
    /// Links to clips on the video recorder (`[frigate] url`, `link_clips`); `None`: no links.
    pub clips: Option<Arc<ClipLinks>>,
    /// The control room's alarm queue.
    pub alarms: Arc<tandem_cases::alarms::Alarms>,
    /// Response action definitions and the connections they go through.
    pub actions: Arc<tandem_respond::actions::Catalog>,
    /// How the KPIs count (`[kpis]`).
    pub kpis: Arc<tandem_cases::kpi::KpiConfig>,
    /// Notifications owed to channels and their delivery log.
    pub outbox: Arc<dyn tandem_store::OutboxStore>,
    /// The `[notify]` configuration: channels and routes (secrets never shown).
    pub notify: Arc<tandem_respond::NotifyConfig>,
    /// The security committee: members, the rotating chair, meetings.
    pub committee: Arc<tandem_cases::committee::Committee>,
    /// How the briefing pack is printed to PDF (`[briefing]`).
    pub briefing: Arc<briefing::BriefingConfig>,
    /// Employees' reports and the public report page's limits.
    pub reports: Arc<reports::ReportDesk>,
    /// Compliance: catalogues, the Statement of Applicability, evidence and its snapshots.
    pub compliance: Arc<tandem_compliance::Compliance>,
    /// Training completions and policy acknowledgements, for the KPIs.
    pub training: Arc<dyn tandem_store::TrainingStore>,
}

/// One route: method, path, who may call it, and the handler.
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

type Handler = axum::routing::MethodRouter<AppState>;

/// Every route Tandem serves, with its access rule. The router is built from this table and
/// the access test walks it, so a route cannot be added without saying who may use it.
fn table() -> Vec<(RouteSpec, Handler)> {
    use Access::*;
    use Permission::*;
    use axum::routing::{delete, patch, put};
    let r = |method: Method, path: &'static str, access: Access, h: Handler| {
        (
            RouteSpec {
                method,
                path,
                access,
            },
            h,
        )
    };
    vec![
        r(Method::GET, "/healthz", Public, get(api::healthz)),
        // The report page is for every employee, signed in or not (a signed-in visitor's
        // session only attaches their name); the tracking page is opened by its token.
        r(
            Method::GET,
            "/report",
            Public,
            get(pages::reports::report_page),
        ),
        r(
            Method::POST,
            "/report",
            Public,
            post(pages::reports::file_report).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        r(
            Method::GET,
            "/report/track/{token}",
            Public,
            get(pages::reports::track_page),
        ),
        r(
            Method::POST,
            "/report/track/{token}",
            Public,
            post(pages::reports::track_answer),
        ),
        r(
            Method::POST,
            "/report/track/{token}/suspend",
            Public,
            post(pages::reports::track_suspend),
        ),
        r(
            Method::GET,
            "/reports",
            Needs(ViewAlerts),
            get(pages::reports::reports_page),
        ),
        r(
            Method::GET,
            "/reports/{id}",
            Needs(ViewAlerts),
            get(pages::reports::report_case_page),
        ),
        r(
            Method::POST,
            "/reports/{id}/ask",
            Needs(TriageAlerts),
            post(pages::reports::ask_form),
        ),
        r(
            Method::POST,
            "/reports/{id}/close",
            Needs(TriageAlerts),
            post(pages::reports::close_form),
        ),
        r(
            Method::GET,
            "/metrics",
            Needs(SearchEvents),
            get(api::metrics),
        ),
        r(
            Method::POST,
            "/api/v1/ingest/{source}",
            SourceKey,
            post(api::ingest),
        ),
        r(
            Method::GET,
            "/api/v1/ingest/{source}",
            SourceKey,
            get(api::ingest_verification),
        ),
        r(
            Method::POST,
            "/api/v1/webhooks/{source}",
            Signed,
            post(api::webhook),
        ),
        // The contract of the JSON API and the reference page drawn from it (`openapi.rs`):
        // not secret, but behind sign-in like everything but health and sign-in.
        r(
            Method::GET,
            openapi::DOCUMENT_PATH,
            SignedIn,
            get(openapi::document_json),
        ),
        r(
            Method::GET,
            "/api-reference",
            SignedIn,
            get(openapi::reference_page),
        ),
        r(
            Method::GET,
            "/api/v1/search",
            Needs(SearchEvents),
            get(api::search),
        ),
        r(
            Method::GET,
            "/api/v1/events/{id}",
            Needs(SearchEvents),
            get(api::event),
        ),
        r(
            Method::GET,
            "/api/v1/sources",
            Needs(ViewSources),
            get(api::sources),
        ),
        r(
            Method::POST,
            "/api/v1/sources",
            Needs(ManageSources),
            post(api::create_source),
        ),
        r(
            Method::POST,
            "/api/v1/sources/{name}/key",
            Needs(ManageSources),
            post(api::rotate_source_key),
        ),
        r(
            Method::GET,
            "/api/v1/dead-letters",
            Needs(ViewSources),
            get(api::dead_letters),
        ),
        r(
            Method::GET,
            "/api/v1/status",
            Needs(ViewSources),
            get(api::status),
        ),
        r(
            Method::GET,
            "/api/v1/people",
            Needs(ViewPeople),
            get(directory::people),
        ),
        r(
            Method::GET,
            "/api/v1/people/{id}",
            Needs(ViewPeople),
            get(directory::person),
        ),
        r(
            Method::GET,
            "/api/v1/places",
            Needs(ViewPlaces),
            get(directory::places),
        ),
        r(
            Method::GET,
            "/api/v1/places/{id}",
            Needs(ViewPlaces),
            get(directory::place),
        ),
        r(
            Method::PUT,
            "/api/v1/places/{id}/external_ids",
            Needs(ImportDirectory),
            put(directory::set_place_external_ids),
        ),
        r(
            Method::PUT,
            "/api/v1/devices/{id}/external_ids",
            Needs(ImportDirectory),
            put(directory::set_device_external_ids),
        ),
        r(
            Method::PUT,
            "/api/v1/places/{id}/floor-plan",
            Needs(EditMaps),
            put(maps::upload_plan),
        ),
        r(
            Method::PUT,
            "/api/v1/places/{id}/position",
            Needs(EditMaps),
            put(maps::set_position),
        ),
        r(
            Method::GET,
            "/api/v1/service-accounts",
            Needs(ViewPeople),
            get(directory::service_accounts),
        ),
        r(
            Method::GET,
            "/api/v1/service-accounts/{id}",
            Needs(ViewPeople),
            get(directory::service_account),
        ),
        r(
            Method::PUT,
            "/api/v1/service-accounts/{id}",
            Needs(ImportDirectory),
            put(directory::put_service_account),
        ),
        r(
            Method::POST,
            "/api/v1/directory/hr",
            Needs(ImportDirectory),
            post(directory::import_hr),
        ),
        r(
            Method::POST,
            "/api/v1/directory/records",
            Needs(ImportDirectory),
            post(directory::import_records),
        ),
        r(
            Method::GET,
            "/api/v1/directory/gaps",
            Needs(ViewSources),
            get(directory::gaps),
        ),
        r(
            Method::GET,
            "/api/v1/findings",
            Needs(ViewFindings),
            get(detect::findings),
        ),
        r(
            Method::GET,
            "/api/v1/findings/{id}",
            Needs(ViewFindings),
            get(detect::finding),
        ),
        // Alarms: the control room's queue and its actions.
        r(
            Method::GET,
            "/api/v1/alarms",
            Needs(ViewAlarms),
            get(alarms::list),
        ),
        r(
            Method::GET,
            "/api/v1/alarms/count",
            Needs(ViewAlarms),
            get(alarms::count),
        ),
        r(
            Method::GET,
            "/api/v1/alarms/{id}",
            Needs(ViewAlarms),
            get(alarms::get_one),
        ),
        r(
            Method::POST,
            "/api/v1/alarms/{id}/acknowledge",
            Needs(HandleAlarms),
            post(alarms::acknowledge),
        ),
        r(
            Method::POST,
            "/api/v1/alarms/{id}/snooze",
            Needs(HandleAlarms),
            post(alarms::snooze),
        ),
        r(
            Method::POST,
            "/api/v1/alarms/{id}/forward",
            Needs(HandleAlarms),
            post(alarms::forward),
        ),
        r(
            Method::POST,
            "/api/v1/alarms/{id}/clear",
            Needs(HandleAlarms),
            post(alarms::clear),
        ),
        r(
            Method::GET,
            "/static/alarms.js",
            Public,
            get(pages::alarms::alarms_script),
        ),
        r(
            Method::GET,
            "/static/alarm.wav",
            Public,
            get(pages::alarms::alarm_sound),
        ),
        // Notifications: the delivery log and channels.
        r(
            Method::GET,
            "/api/v1/notifications",
            Needs(ViewDeliveries),
            get(notify::list),
        ),
        r(
            Method::GET,
            "/api/v1/notifications/channels",
            Needs(ViewDeliveries),
            get(notify::channels_api),
        ),
        r(
            Method::GET,
            "/api/v1/notifications/{id}",
            Needs(ViewDeliveries),
            get(notify::one),
        ),
        r(
            Method::POST,
            "/api/v1/notifications/{id}/retry",
            Needs(RetryDeliveries),
            post(notify::retry_api),
        ),
        r(
            Method::GET,
            "/notifications",
            Needs(ViewDeliveries),
            get(pages::notify::page),
        ),
        r(
            Method::POST,
            "/notifications/{id}/retry",
            Needs(RetryDeliveries),
            post(pages::notify::retry_form),
        ),
        r(
            Method::GET,
            "/alarms",
            Needs(ViewAlarms),
            get(pages::alarms::alarms_page),
        ),
        r(
            Method::POST,
            "/alarms/sound",
            Needs(ViewAlarms),
            post(pages::alarms::sound_form),
        ),
        r(
            Method::POST,
            "/alarms/{id}/{action}",
            Needs(HandleAlarms),
            post(pages::alarms::action_form),
        ),
        // Alerts: the queue, triage, exceptions, risk.
        r(
            Method::GET,
            "/api/v1/alerts",
            Needs(ViewAlerts),
            get(alerts::list),
        ),
        r(
            Method::POST,
            "/api/v1/alerts",
            Needs(TriageAlerts),
            post(alerts::create),
        ),
        r(
            Method::POST,
            "/api/v1/alerts/bulk",
            Needs(TriageAlerts),
            post(alerts::bulk),
        ),
        r(
            Method::GET,
            "/api/v1/alerts/exceptions",
            Needs(ViewAlerts),
            get(alerts::exceptions),
        ),
        r(
            Method::POST,
            "/api/v1/alerts/exceptions",
            Needs(TriageAlerts),
            post(alerts::add_exception),
        ),
        r(
            Method::DELETE,
            "/api/v1/alerts/exceptions/{id}",
            Needs(TriageAlerts),
            delete(alerts::end_exception),
        ),
        r(
            Method::GET,
            "/api/v1/alerts/{id}",
            Needs(ViewAlerts),
            get(alerts::get_one),
        ),
        r(
            Method::PATCH,
            "/api/v1/alerts/{id}",
            Needs(TriageAlerts),
            patch(alerts::patch),
        ),
        r(
            Method::GET,
            "/api/v1/risk",
            Needs(ViewAlerts),
            get(alerts::risk),
        ),
        r(
            Method::GET,
            "/api/v1/rules",
            Needs(ViewRules),
            get(detect::rules),
        ),
        r(
            Method::POST,
            "/api/v1/rules/test",
            Needs(ViewRules),
            post(pages::rules::test_api),
        ),
        r(
            Method::POST,
            "/api/v1/rules/reload",
            Needs(ManageRules),
            post(detect::reload_rules),
        ),
        r(
            Method::POST,
            "/api/v1/rules/{id}/{action}",
            Needs(ManageRules),
            post(detect::switch_rule),
        ),
        // Playbooks.
        r(
            Method::GET,
            "/api/v1/playbooks",
            Needs(ViewPlaybooks),
            get(playbooks::list),
        ),
        r(
            Method::GET,
            "/api/v1/playbooks/{id}",
            Needs(ViewPlaybooks),
            get(playbooks::one),
        ),
        r(
            Method::POST,
            "/api/v1/playbooks/validate",
            Needs(ViewPlaybooks),
            post(playbooks::validate),
        ),
        r(
            Method::POST,
            "/api/v1/playbooks/reload",
            Needs(ConfigureServer),
            post(playbooks::reload),
        ),
        r(
            Method::GET,
            "/scim/v2/ServiceProviderConfig",
            Needs(ProvisionIdentities),
            get(scim::service_provider_config),
        ),
        r(
            Method::GET,
            "/scim/v2/ResourceTypes",
            Needs(ProvisionIdentities),
            get(scim::resource_types),
        ),
        r(
            Method::GET,
            "/scim/v2/ResourceTypes/{id}",
            Needs(ProvisionIdentities),
            get(scim::resource_type),
        ),
        r(
            Method::GET,
            "/scim/v2/Schemas",
            Needs(ProvisionIdentities),
            get(scim::schemas),
        ),
        r(
            Method::GET,
            "/scim/v2/Schemas/{id}",
            Needs(ProvisionIdentities),
            get(scim::schema),
        ),
        r(
            Method::GET,
            "/scim/v2/Users",
            Needs(ProvisionIdentities),
            get(scim::list_users),
        ),
        r(
            Method::POST,
            "/scim/v2/Users",
            Needs(ProvisionIdentities),
            post(scim::create_user),
        ),
        r(
            Method::GET,
            "/scim/v2/Users/{id}",
            Needs(ProvisionIdentities),
            get(scim::get_user),
        ),
        r(
            Method::PUT,
            "/scim/v2/Users/{id}",
            Needs(ProvisionIdentities),
            put(scim::replace_user),
        ),
        r(
            Method::PATCH,
            "/scim/v2/Users/{id}",
            Needs(ProvisionIdentities),
            patch(scim::patch_user),
        ),
        r(
            Method::DELETE,
            "/scim/v2/Users/{id}",
            Needs(ProvisionIdentities),
            delete(scim::delete_user),
        ),
        r(
            Method::GET,
            "/scim/v2/Groups",
            Needs(ProvisionIdentities),
            get(scim::list_groups),
        ),
        r(
            Method::POST,
            "/scim/v2/Groups",
            Needs(ProvisionIdentities),
            post(scim::create_group),
        ),
        r(
            Method::GET,
            "/scim/v2/Groups/{id}",
            Needs(ProvisionIdentities),
            get(scim::get_group),
        ),
        r(
            Method::PUT,
            "/scim/v2/Groups/{id}",
            Needs(ProvisionIdentities),
            put(scim::replace_group),
        ),
        r(
            Method::PATCH,
            "/scim/v2/Groups/{id}",
            Needs(ProvisionIdentities),
            patch(scim::patch_group),
        ),
        r(
            Method::DELETE,
            "/scim/v2/Groups/{id}",
            Needs(ProvisionIdentities),
            delete(scim::delete_group),
        ),
        r(
            Method::GET,
            "/static/tandem.css",
            Public,
            get(view::stylesheet),
        ),
        r(
            Method::GET,
            "/static/briefing.css",
            Public,
            get(pages::committee::stylesheet),
        ),
        // The security committee: every reader of the KPIs reads it; setting up its members
        // needs `ManageCommittee` (administrators). Meetings, decisions and action items are
        // open here to every reader: the handlers let only administrators and the chair (a
        // fact of the committee, not a role) record them, and close an item also for
        // whoever works tasks for its department (`committee.rs`).
        r(
            Method::GET,
            "/api/v1/committee",
            Needs(ViewCommittee),
            get(committee::get),
        ),
        r(
            Method::PUT,
            "/api/v1/committee",
            Needs(ManageCommittee),
            put(committee::put),
        ),
        r(
            Method::POST,
            "/api/v1/committee/meetings",
            Needs(ViewCommittee),
            post(committee::post_meeting),
        ),
        r(
            Method::GET,
            "/api/v1/committee/meetings/{id}",
            Needs(ViewCommittee),
            get(committee::get_meeting),
        ),
        r(
            Method::POST,
            "/api/v1/committee/meetings/{id}/decisions",
            Needs(ViewCommittee),
            post(committee::post_decision),
        ),
        r(
            Method::POST,
            "/api/v1/committee/meetings/{id}/action-items",
            Needs(ViewCommittee),
            post(committee::post_action_item),
        ),
        r(
            Method::POST,
            "/api/v1/committee/meetings/{id}/action-items/{item}",
            Needs(ViewCommittee),
            post(committee::post_action_item_done),
        ),
        r(
            Method::GET,
            "/api/v1/committee/briefing",
            Needs(ViewCommittee),
            get(committee::briefing),
        ),
        r(
            Method::GET,
            "/committee",
            Needs(ViewCommittee),
            get(pages::committee::page),
        ),
        r(
            Method::POST,
            "/committee/members",
            Needs(ManageCommittee),
            post(pages::committee::members_form),
        ),
        r(
            Method::POST,
            "/committee/meetings",
            Needs(ViewCommittee),
            post(pages::committee::meeting_form),
        ),
        r(
            Method::GET,
            "/committee/meetings/{id}",
            Needs(ViewCommittee),
            get(pages::committee::meeting_page),
        ),
        r(
            Method::POST,
            "/committee/meetings/{id}/decisions",
            Needs(ViewCommittee),
            post(pages::committee::decision_form),
        ),
        r(
            Method::POST,
            "/committee/meetings/{id}/action-items",
            Needs(ViewCommittee),
            post(pages::committee::action_item_form),
        ),
        r(
            Method::POST,
            "/committee/meetings/{id}/action-items/{item}/done",
            Needs(ViewCommittee),
            post(pages::committee::done_form),
        ),
        r(
            Method::GET,
            "/committee/briefing",
            Needs(ViewCommittee),
            get(pages::committee::briefing),
        ),
        // Response actions: anyone who views incidents sees the definitions and runs;
        // proposing, previewing and deciding need `ProposeActions` (the definition says
        // which roles may approve, never the proposer).
        r(
            Method::GET,
            "/api/v1/actions",
            Needs(ViewIncidents),
            get(actions::definitions),
        ),
        r(
            Method::GET,
            "/api/v1/incidents/{id}/actions",
            Needs(ViewIncidents),
            get(actions::runs),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/{id}/actions",
            Needs(ProposeActions),
            post(actions::propose),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/{id}/actions/dry-run",
            Needs(ProposeActions),
            post(actions::dry_run),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/{id}/actions/{run}/approve",
            Needs(ProposeActions),
            post(actions::approve),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/{id}/actions/{run}/refuse",
            Needs(ProposeActions),
            post(actions::refuse),
        ),
        // Incidents: lists and pages for whoever views them (responders: their
        // department's), task work for departments, changes for incident managers.
        r(
            Method::GET,
            "/api/v1/incidents",
            Needs(ViewIncidents),
            get(incidents::list),
        ),
        r(
            Method::POST,
            "/api/v1/incidents",
            Needs(ManageIncidents),
            post(incidents::create),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/sla-check",
            Needs(ConfigureServer),
            post(incidents::sla_check),
        ),
        r(
            Method::GET,
            "/api/v1/incidents/{id}",
            Needs(ViewIncidents),
            get(incidents::get),
        ),
        r(
            Method::PATCH,
            "/api/v1/incidents/{id}",
            Needs(ManageIncidents),
            patch(incidents::patch),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/{id}/tasks/{task}/{action}",
            Needs(WorkTasks),
            post(incidents::task_action),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/{id}/comments",
            Needs(WorkTasks),
            post(incidents::comment),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/{id}/merge",
            Needs(ManageIncidents),
            post(incidents::merge),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/{id}/evidence",
            Needs(WorkTasks),
            post(incidents::attach),
        ),
        r(
            Method::GET,
            "/api/v1/incidents/{id}/evidence/{sha256}",
            Needs(ViewIncidents),
            get(incidents::evidence),
        ),
        r(
            Method::POST,
            "/api/v1/incidents/{id}/action-items/{item}",
            Needs(WorkTasks),
            post(incidents::action_item),
        ),
        r(
            Method::PUT,
            "/api/v1/incidents/{id}/review",
            Needs(ManageIncidents),
            put(incidents::review),
        ),
        r(
            Method::GET,
            "/api/v1/action-items",
            Needs(ViewIncidents),
            get(incidents::action_items),
        ),
        r(
            Method::GET,
            "/api/v1/tasks",
            Needs(ViewIncidents),
            get(incidents::tasks),
        ),
        // Incident pages; their forms call the same functions as the API.
        // KPIs: the API, the dashboards and the incidents behind a number; responders see
        // their department's incidents' figures.
        r(Method::GET, "/api/v1/kpis", Needs(ViewKpis), get(kpis::get)),
        r(
            Method::GET,
            "/api/v1/kpis/attack-layer",
            Needs(ViewKpis),
            get(kpis::attack_layer),
        ),
        // Compliance: controls, their Statement of Applicability and evidence, the gaps
        // page and the auditor's export; auditors read everything, administrators change.
        r(
            Method::GET,
            "/api/v1/compliance/controls",
            Needs(ViewCompliance),
            get(compliance::list),
        ),
        r(
            Method::GET,
            "/api/v1/compliance/controls/{framework}/{id}",
            Needs(ViewCompliance),
            get(compliance::one),
        ),
        r(
            Method::PUT,
            "/api/v1/compliance/controls/{framework}/{id}",
            Needs(ManageCompliance),
            put(compliance::put_control),
        ),
        r(
            Method::POST,
            "/api/v1/compliance/evidence/run",
            Needs(ManageCompliance),
            post(compliance::run),
        ),
        r(
            Method::GET,
            "/api/v1/compliance/export",
            Needs(ViewCompliance),
            get(compliance::export),
        ),
        r(
            Method::GET,
            "/compliance",
            Needs(ViewCompliance),
            get(pages::compliance::gaps),
        ),
        r(
            Method::GET,
            "/compliance/controls/{id}",
            Needs(ViewCompliance),
            get(pages::compliance::control_page),
        ),
        r(
            Method::POST,
            "/compliance/controls/{id}",
            Needs(ManageCompliance),
            post(pages::compliance::control_form),
        ),
        r(
            Method::POST,
            "/compliance/run",
            Needs(ManageCompliance),
            post(pages::compliance::run_form),
        ),
        r(
            Method::POST,
            "/api/v1/kpis/training",
            Needs(ImportDirectory),
            post(kpi_figures::import_training),
        ),
        r(
            Method::GET,
            "/kpis",
            Needs(ViewKpis),
            get(pages::kpis::dashboard),
        ),
        r(
            Method::GET,
            "/kpis/incidents",
            Needs(ViewKpis),
            get(pages::kpis::incidents),
        ),
        r(
            Method::GET,
            "/incidents",
            Needs(ViewIncidents),
            get(pages::incidents::list_page),
        ),
        r(
            Method::GET,
            "/incidents/{id}",
            Needs(ViewIncidents),
            get(pages::incidents::incident_page),
        ),
        r(
            Method::POST,
            "/incidents/{id}/change",
            Needs(ManageIncidents),
            post(pages::incidents::change_form),
        ),
        r(
            Method::POST,
            "/incidents/{id}/tasks/{task}/{action}",
            Needs(WorkTasks),
            post(pages::incidents::task_form),
        ),
        r(
            Method::POST,
            "/incidents/{id}/comments",
            Needs(WorkTasks),
            post(pages::incidents::comment_form),
        ),
        r(
            Method::POST,
            "/incidents/{id}/review",
            Needs(ManageIncidents),
            post(pages::incidents::review_form),
        ),
        r(
            Method::POST,
            "/incidents/{id}/merge",
            Needs(ManageIncidents),
            post(pages::incidents::merge_form),
        ),
        r(
            Method::GET,
            "/incidents/{id}/evidence/{sha256}",
            Needs(ViewIncidents),
            get(pages::incidents::evidence_download),
        ),
        r(
            Method::POST,
            "/incidents/{id}/action-items/{item}/done",
            Needs(WorkTasks),
            post(pages::incidents::action_item_form),
        ),
        // Response actions on the incident page: preview, propose, approve or refuse; the
        // same calls (and four-eyes rule) as the API's.
        r(
            Method::POST,
            "/incidents/{id}/actions/preview",
            Needs(ProposeActions),
            post(pages::actions::preview_form),
        ),
        r(
            Method::POST,
            "/incidents/{id}/actions",
            Needs(ProposeActions),
            post(pages::actions::propose_form),
        ),
        r(
            Method::POST,
            "/incidents/{id}/actions/{run}/approve",
            Needs(ProposeActions),
            post(pages::actions::approve_form),
        ),
        r(
            Method::POST,
            "/incidents/{id}/actions/{run}/refuse",
            Needs(ProposeActions),
            post(pages::actions::refuse_form),
        ),
        r(
            Method::GET,
            "/static/evidence.js",
            Public,
            get(pages::incidents::evidence_script),
        ),
        r(
            Method::GET,
            "/tasks",
            Needs(ViewIncidents),
            get(pages::incidents::tasks_page),
        ),
        r(
            Method::GET,
            "/action-items",
            Needs(ViewIncidents),
            get(pages::incidents::action_items_page),
        ),
        r(Method::GET, "/login", Public, get(pages::login::login_page)),
        r(Method::POST, "/login", Public, post(pages::login::login)),
        r(
            Method::GET,
            "/login/sso",
            Public,
            get(pages::login::sso_start),
        ),
        r(
            Method::GET,
            "/login/sso/callback",
            Public,
            get(pages::login::sso_callback),
        ),
        r(
            Method::POST,
            "/logout",
            SignedIn,
            post(pages::login::logout),
        ),
        r(
            Method::POST,
            "/me/time-zone",
            SignedIn,
            post(pages::settings::set_time_zone),
        ),
        r(Method::GET, "/", SignedIn, get(view::home)),
        r(
            Method::GET,
            "/search",
            Needs(SearchEvents),
            get(pages::search::search_page),
        ),
        r(
            Method::GET,
            "/sources",
            Needs(ViewSources),
            get(pages::sources::sources_page),
        ),
        r(
            Method::GET,
            "/audit",
            Needs(ViewAudit),
            get(pages::audit::page),
        ),
        r(
            Method::GET,
            "/api/v1/audit",
            Needs(ViewAudit),
            get(audit::list),
        ),
        r(
            Method::GET,
            "/api/v1/audit/verify",
            Needs(ViewAudit),
            get(audit::verify_api),
        ),
        r(
            Method::GET,
            "/findings",
            Needs(ViewFindings),
            get(pages::investigate::findings),
        ),
        r(
            Method::GET,
            "/findings/{id}",
            Needs(ViewFindings),
            get(pages::investigate::finding),
        ),
        r(
            Method::GET,
            "/events/{id}",
            Needs(SearchEvents),
            get(pages::investigate::event),
        ),
        r(
            Method::GET,
            "/people",
            Needs(ViewPeople),
            get(pages::investigate::people),
        ),
        r(
            Method::GET,
            "/people/{id}",
            Needs(ViewPeople),
            get(pages::investigate::person),
        ),
        r(
            Method::GET,
            "/places",
            Needs(ViewPlaces),
            get(pages::investigate::places),
        ),
        r(
            Method::GET,
            "/places/{id}",
            Needs(ViewPlaces),
            get(pages::investigate::place),
        ),
        r(Method::GET, "/map", Needs(ViewPlaces), get(maps::site_map)),
        r(
            Method::GET,
            "/places/{id}/map",
            Needs(ViewPlaces),
            get(maps::floor_map),
        ),
        r(
            Method::POST,
            "/places/{id}/map/position",
            Needs(EditMaps),
            post(maps::place_form),
        ),
        r(
            Method::GET,
            "/snapshots/{file}",
            Needs(ViewFindings),
            get(snapshots::image),
        ),
        r(
            Method::GET,
            "/floor-plans/{sha256}",
            Needs(ViewPlaces),
            get(maps::plan_image),
        ),
        r(Method::GET, "/static/map.js", Public, get(maps::map_script)),
        r(
            Method::GET,
            "/static/alerts.js",
            Public,
            get(pages::alerts::alerts_script),
        ),
        r(
            Method::GET,
            "/alerts",
            Needs(ViewAlerts),
            get(pages::alerts::queue_page),
        ),
        r(
            Method::POST,
            "/alerts/bulk",
            Needs(TriageAlerts),
            post(pages::alerts::bulk_form),
        ),
        r(
            Method::GET,
            "/alerts/exceptions",
            Needs(ViewAlerts),
            get(pages::alerts::exceptions_page),
        ),
        r(
            Method::POST,
            "/alerts/exceptions",
            Needs(TriageAlerts),
            post(pages::alerts::add_exception_form),
        ),
        r(
            Method::POST,
            "/alerts/exceptions/{id}/end",
            Needs(TriageAlerts),
            post(pages::alerts::end_exception_form),
        ),
        r(
            Method::GET,
            "/alerts/{id}",
            Needs(ViewAlerts),
            get(pages::alerts::alert_page),
        ),
        r(
            Method::POST,
            "/alerts/{id}/triage",
            Needs(TriageAlerts),
            post(pages::alerts::triage_form),
        ),
        r(
            Method::GET,
            "/static/search.js",
            Public,
            get(pages::search::search_script),
        ),
        r(
            Method::GET,
            "/api/v1/search/values",
            Needs(SearchEvents),
            get(pages::search::search_values),
        ),
        r(
            Method::GET,
            "/static/live.js",
            Public,
            get(pages::live::live_script),
        ),
        r(
            Method::GET,
            "/live",
            Needs(SearchEvents),
            get(pages::live::live_page),
        ),
        r(
            Method::GET,
            "/live/stream",
            Needs(SearchEvents),
            get(pages::live::live_stream),
        ),
        r(
            Method::GET,
            "/rules",
            Needs(ViewRules),
            get(pages::rules::rules_page),
        ),
        // Testing reads events as well as rules; every role that may view rules may also
        // search (`access::tests` holds that).
        r(
            Method::GET,
            "/rules/test",
            Needs(ViewRules),
            get(pages::rules::test_page),
        ),
        r(
            Method::POST,
            "/rules/test",
            Needs(ViewRules),
            post(pages::rules::test_rule),
        ),
        r(
            Method::POST,
            "/rules/{id}/{action}",
            Needs(ManageRules),
            post(pages::rules::switch_rule),
        ),
        r(
            Method::GET,
            "/playbooks",
            Needs(ViewPlaybooks),
            get(pages::playbooks::list_page),
        ),
        r(
            Method::GET,
            "/playbooks/{id}",
            Needs(ViewPlaybooks),
            get(pages::playbooks::playbook_page),
        ),
        r(
            Method::POST,
            "/playbooks/validate",
            Needs(ViewPlaybooks),
            post(pages::playbooks::validate),
        ),
        r(
            Method::POST,
            "/playbooks/reload",
            Needs(ConfigureServer),
            post(pages::playbooks::reload),
        ),
        r(
            Method::GET,
            "/settings",
            Needs(ManageUsers),
            get(pages::settings::settings_page),
        ),
        r(
            Method::POST,
            "/settings/users",
            Needs(ManageUsers),
            post(pages::settings::create_user),
        ),
        r(
            Method::POST,
            "/settings/users/{name}/role",
            Needs(ManageUsers),
            post(pages::settings::set_role),
        ),
        r(
            Method::POST,
            "/settings/tokens",
            Needs(ManageUsers),
            post(pages::settings::create_token),
        ),
        r(
            Method::POST,
            "/settings/sources",
            Needs(ManageSources),
            post(pages::settings::create_source),
        ),
        r(
            Method::POST,
            "/settings/sources/{name}/key",
            Needs(ManageSources),
            post(pages::settings::rotate_source_key),
        ),
        r(
            Method::POST,
            "/settings/rule-directories",
            Needs(ConfigureServer),
            post(pages::settings::add_rule_dir),
        ),
        r(
            Method::POST,
            "/settings/rule-directories/remove",
            Needs(ConfigureServer),
            post(pages::settings::remove_rule_dir),
        ),
    ]
}

/// Every route with its access rule (for the access test and the documentation).
pub fn routes() -> Vec<RouteSpec> {
    table().into_iter().map(|(spec, _)| spec).collect()
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (spec, handler) in table() {
        let guarded = handler.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::layer(spec.access),
        ));
        router = router.route(spec.path, guarded);
    }
    let csp = content_security_policy(state.tiles.as_deref());
    let csp = axum::http::HeaderValue::from_str(&csp)
        .unwrap_or_else(|_| axum::http::HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    router
        .with_state(state)
        .layer(axum::middleware::map_response_with_state(
            csp,
            security_headers,
        ))
        .layer(compression())
}

/// Answers are gzipped for clients that accept it: a search page with its pivot links and
/// field statistics is 1–2 MB of highly repetitive HTML, a tenth of that compressed, which is
/// what a guard on a site's slow link waits for. The fastest level: on two cores the time to
/// compress must not outgrow the time saved. Pictures (already compressed), the live
/// monitor's event stream (it must reach the browser event by event) and answers under
/// 32 bytes are sent as they are (`DefaultPredicate`). The CSRF token in pages is masked
/// afresh per answer so compression cannot leak it ([`auth::masked_csrf_token`]).
fn compression() -> tower_http::compression::CompressionLayer {
    tower_http::compression::CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest)
}

/// The Content-Security-Policy of every answer. Pages load scripts, styles and images only
/// from Tandem itself and run no inline script or style (the scripts are the vendored files
/// under `/static/`; data a script needs sits in a `<script type="application/json">` block,
/// which is never executed); no page may be framed (clickjacking), forms post only to
/// Tandem, and `<base>` and plugins are off.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy for this deployment: [`CONTENT_SECURITY_POLICY`], and images from the tile
/// server's origin too when one is configured (only its origin, nothing else outside).
pub fn content_security_policy(tiles: Option<&maps::Tiles>) -> String {
    match tiles {
        Some(t) => CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data:;",
            &format!("img-src 'self' data: {};", t.origin()),
        ),
        None => CONTENT_SECURITY_POLICY.to_owned(),
    }
}

/// Adds the browser protections to every answer (pages, API and static files alike, so no
/// route can forget them): the Content-Security-Policy (`csp`, from
/// [`content_security_policy`]), no framing (`X-Frame-Options` for browsers older than
/// `frame-ancestors`), no content-type sniffing, and no referrer sent to other sites
/// (console URLs carry searches and person ids; tile requests carry none either).
async fn security_headers(
    axum::extract::State(csp): axum::extract::State<axum::http::HeaderValue>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
    ] {
        headers.entry(name).or_insert(value);
    }
    response
}
