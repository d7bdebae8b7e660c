//! Notifications' JSON API: the delivery log (`/api/v1/notifications`: every message owed
//! to a channel, its state, attempts and the last answer received), sending a dead message
//! again, and the channels (`/api/v1/notifications/channels`), whose secrets are write-only:
//! they are said to be set or not, never shown.

use crate::auth::Principal;
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tandem_store::{OutboxEntry, OutboxQuery, OutboxState};

/// `?state=dead&channel=…&limit=…` on the log.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// pending, held, delivered, dead or digested.
    #[serde(default)]
    pub state: Option<String>,
    /// One channel's messages.
    #[serde(default)]
    pub channel: Option<String>,
    /// At most this many (200 when not given, 1,000 at most).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl DeliveryParams {
    pub(crate) fn query(&self) -> Result<OutboxQuery, ApiError> {
        let state = match self.state.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(OutboxState::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown state {s:?}: one of pending, held, delivered, dead, digested"
                ))
            })?),
        };
        Ok(OutboxQuery {
            state,
            channel: self.channel.clone().filter(|c| !c.trim().is_empty()),
            limit: self.limit.unwrap_or(200).min(1000),
        })
    }
}

/// A message as the log shows it (the rendered payload is left out: it is what was sent,
/// and can be long).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    pub created: chrono::DateTime<chrono::Utc>,
    pub channel: String,
    pub kind: String,
    pub case_id: Option<String>,
    pub summary: String,
    pub link: String,
    /// pending, held, delivered, dead or digested.
    #[schema(value_type = String)]
    pub state: OutboxState,
    pub attempts: u32,
    pub next_attempt: chrono::DateTime<chrono::Utc>,
    pub last_status: Option<u16>,
    pub last_answer: String,
    pub delivered: Option<chrono::DateTime<chrono::Utc>>,
    pub digest: Option<String>,
}

impl From<OutboxEntry> for Delivery {
    fn from(e: OutboxEntry) -> Delivery {
        Delivery {
            id: e.id,
            created: e.created,
            channel: e.channel,
            kind: e.kind,
            case_id: e.case_id,
            summary: e.summary,
            link: e.link,
            state: e.state,
            attempts: e.attempts,
            next_attempt: e.next_attempt,
            last_status: e.last_status,
            last_answer: e.last_answer,
            delivered: e.delivered,
            digest: e.digest,
        }
    }
}

/// A channel as the console shows it: its secret only as set or not.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub name: String,
    pub kind: &'static str,
    /// Whether the webhook URL (the secret) is set. E-mail channels have none.
    pub webhook_url: &'static str,
    pub to: Vec<String>,
    /// How many routes send to it.
    pub routes: usize,
}

pub(crate) fn channels(state: &AppState) -> Vec<ChannelView> {
    let config = &state.notify;
    config
        .channels
        .iter()
        .map(|c| ChannelView {
            name: c.name.clone(),
            kind: c.kind.code(),
            webhook_url: if c.kind == tandem_respond::config::ChannelKind::Email {
                "not used"
            } else if c.webhook_url.trim().is_empty() {
                "not set"
            } else {
                "set"
            },
            to: c.to.clone(),
            routes: config.routes.iter().filter(|r| r.channel == c.name).count(),
        })
        .collect()
}

pub(crate) async fn deliveries(
    state: &AppState,
    query: OutboxQuery,
) -> Result<Vec<Delivery>, ApiError> {
    let outbox = state.outbox.clone();
    let rows = tokio::task::spawn_blocking(move || outbox.outbox(&query)).await??;
    Ok(rows.into_iter().map(Delivery::from).collect())
}

pub(crate) async fn counts(state: &AppState) -> Result<Vec<(OutboxState, u64)>, ApiError> {
    let outbox = state.outbox.clone();
    Ok(tokio::task::spawn_blocking(move || outbox.outbox_counts()).await??)
}

/// Sends a dead message again, audited.
pub(crate) async fn retry(state: &AppState, who: &Principal, id: &str) -> Result<(), ApiError> {
    let outbox = state.outbox.clone();
    let key = id.to_owned();
    let done = tokio::task::spawn_blocking(move || outbox.retry_outbox(&key, chrono::Utc::now()))
        .await??;
    if !done {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            format!("no dead message {id}: only a dead message can be sent again"),
        ));
    }
    crate::audit::by(state, who, "notification.retry", id, json!({})).await;
    Ok(())
}

/// `GET /api/v1/notifications`: the delivery log, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "Notifications",
    params(DeliveryParams),
    responses((status = 200, description = "The delivery log, newest first, with the count of messages in each state.", body = crate::openapi::DeliveriesAnswer), (status = 400, description = "An unknown state.", body = crate::openapi::ErrorBody)),
)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<DeliveryParams>,
) -> Result<Json<Value>, ApiError> {
    let rows = deliveries(&state, params.query()?).await?;
    let counts: serde_json::Map<String, Value> = counts(&state)
        .await?
        .into_iter()
        .map(|(s, n)| (s.code().to_owned(), json!(n)))
        .collect();
    Ok(Json(json!({ "deliveries": rows, "counts": counts })))
}

/// `GET /api/v1/notifications/{id}`: one message, with what was rendered.
#[utoipa::path(
    get,
    path = "/api/v1/notifications/{id}",
    tag = "Notifications",
    params(("id" = String, Path, description = "The message's id.")),
    responses((status = 200, description = "One message with the payload rendered for its channel.", body = Delivery), (status = 404, description = "No such message.", body = crate::openapi::ErrorBody)),
)]
pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let outbox = state.outbox.clone();
    let key = id.clone();
    let entry = tokio::task::spawn_blocking(move || outbox.outbox_entry(&key))
        .await??
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                format!("no message {id}"),
            )
        })?;
    let payload: Value = serde_json::from_str(&entry.payload).unwrap_or(Value::Null);
    let mut v = serde_json::to_value(Delivery::from(entry)).unwrap_or(Value::Null);
    v["payload"] = payload;
    Ok(Json(v))
}

/// `POST /api/v1/notifications/{id}/retry`: a dead message pending again, due now.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/{id}/retry",
    tag = "Notifications",
    params(("id" = String, Path, description = "The message's id.")),
    responses((status = 200, description = "Pending again, due now.", body = Object), (status = 409, description = "Only a dead message can be sent again.", body = crate::openapi::ErrorBody)),
)]
pub async fn retry_api(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    retry(&state, &who, &id).await?;
    Ok(Json(json!({ "id": id, "state": "pending" })))
}

/// `GET /api/v1/notifications/channels`: the channels, secrets as set / not set.
#[utoipa::path(
    get,
    path = "/api/v1/notifications/channels",
    tag = "Notifications",
    responses((status = 200, description = "The channels, each webhook URL only as set or not set.", body = crate::openapi::ChannelsAnswer)),
)]
pub async fn channels_api(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "channels": channels(&state) }))
}
