//! Tandem's HTTP face: the ingest endpoint, the JSON API, the console pages, health and metrics.
//!
//! Handlers are thin: they authenticate, parse the request, call the pipeline or the store, and
//! map errors to responses ([`ApiError`]). No business logic lives here, so everything a handler
//! does can be tested without HTTP, and everything HTTP adds (status codes, limits, auth) is
//! tested over real sockets in `tests/`.
//!
//! Everything is behind authentication except `GET /healthz` and the login page. Ingest uses
//! per-source API keys; signed webhooks (`/api/v1/webhooks/{source}`) are authenticated by
//! their HMAC signature, the only credential such senders can present; the API and SCIM use
//! API tokens (`Authorization: Bearer …`) or a console session cookie.

mod api;
mod auth;
mod console;
mod detect;
mod directory;
mod error;
mod scim;

pub use auth::{Principal, Role, generate_secret, hash_password, verify_password};
pub use error::ApiError;

use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;
use tandem_ingest::pipeline::Pipeline;
use tandem_store::{AccountStore, EventStore};

/// Rule management, implemented where the rule directories and the store meet (the binary).
pub trait RuleControl: Send + Sync {
    /// Every rule with its state and hit count, as JSON.
    fn list(&self) -> serde_json::Value;
    /// Switches a rule on or off (remembered across restarts).
    fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), String>;
    /// Reads the rule directories again, keeping correlation state.
    fn reload(&self) -> Result<serde_json::Value, String>;
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub events: Arc<dyn EventStore>,
    pub accounts: Arc<dyn AccountStore>,
    pub pipeline: Arc<Pipeline>,
    pub identity: Arc<tandem_identity::Identity>,
    /// Column mapping for HR CSV imports.
    pub hr_columns: Arc<tandem_identity::hr::HrColumns>,
    /// Rule management; `None` when detection is off.
    pub rules: Option<Arc<dyn RuleControl>>,
    /// Whether session cookies get the `Secure` attribute (set when served over HTTPS).
    pub secure_cookies: bool,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route(
            "/api/v1/ingest/{source}",
            post(api::ingest).get(api::ingest_verification),
        )
        .route("/api/v1/webhooks/{source}", post(api::webhook))
        .route("/api/v1/search", get(api::search))
        .route("/api/v1/events/{id}", get(api::event))
        .route(
            "/api/v1/sources",
            get(api::sources).post(api::create_source),
        )
        .route("/api/v1/dead-letters", get(api::dead_letters))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/people", get(directory::people))
        .route("/api/v1/people/{id}", get(directory::person))
        .route("/api/v1/places", get(directory::places))
        .route("/api/v1/places/{id}", get(directory::place))
        .route("/api/v1/directory/hr", post(directory::import_hr))
        .route("/api/v1/directory/records", post(directory::import_records))
        .route("/api/v1/directory/gaps", get(directory::gaps))
        .route("/api/v1/findings", get(detect::findings))
        .route("/api/v1/findings/{id}", get(detect::finding))
        .route("/api/v1/rules", get(detect::rules))
        .route("/api/v1/rules/reload", post(detect::reload_rules))
        .route("/api/v1/rules/{id}/{action}", post(detect::switch_rule))
        .route("/", get(console::home))
        .route("/login", get(console::login_page).post(console::login))
        .route("/logout", post(console::logout))
        .route("/search", get(console::search_page))
        .route("/sources", get(console::sources_page))
        .route("/static/tandem.css", get(console::stylesheet))
        .merge(scim::routes())
        .with_state(state)
}
