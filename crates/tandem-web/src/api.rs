//! The JSON API and the ingest endpoint.

use crate::access::Permission;
use crate::auth::Principal;
use crate::{ApiError, AppState};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use std::io::Read;
use tandem_ingest::decode::Format;
use tandem_pipeline::pipeline::{IngestReport, Source};
use tandem_store::hash_key;
use tandem_store::{DeadLetterQuery, SearchRequest};

pub async fn healthz(State(state): State<AppState>) -> Response {
    match tokio::task::spawn_blocking(move || state.events.status()).await {
        Ok(Ok(status)) => Json(serde_json::json!({
            "status": "ok",
            "events": status.events,
            "queued_events": status.queued_events,
        }))
        .into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable"})),
        )
            .into_response(),
    }
}

pub async fn metrics(_who: Principal, State(state): State<AppState>) -> Result<Response, ApiError> {
    let events = state.events.clone();
    let status = tokio::task::spawn_blocking(move || events.status()).await??;
    let metrics = state.pipeline.metrics();
    metrics.queue_depth.set(status.queued_events as i64);
    metrics.set_memory("store_engine", status.engine_memory_bytes);
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response())
}

/// `POST /api/v1/ingest/{source}`: NDJSON (or CSV for CSV sources), optionally gzip.
/// Answers only after the batch is durable.
#[utoipa::path(
    post,
    path = "/api/v1/ingest/{source}",
    tag = "Ingest",
    params(("source" = String, Path, description = "The source name.")),
    request_body(content = String, content_type = "application/x-ndjson", description = "One event per line (NDJSON), or CSV for CSV sources, or one JSON document for Okta/Entra/Verkada; `Content-Encoding: gzip` accepted."),
    responses((status = 200, description = "The batch is durable: events stored, lines refused (kept as dead letters).", body = crate::openapi::IngestAnswer), (status = 401, description = "No key, or not this source's key.", body = crate::openapi::ErrorBody), (status = 404, description = "No such source.", body = crate::openapi::ErrorBody), (status = 413, description = "The body (or its decompressed size) is over `[ingest] max_body_bytes`.", body = crate::openapi::ErrorBody), (status = 503, description = "The store's queue is full; retry after `Retry-After`.", body = crate::openapi::ErrorBody)),
)]
pub async fn ingest(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestReport>, ApiError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    let source = state.pipeline.authenticate(&source, key)?;
    let limit = state.pipeline.limits().max_body_bytes;
    let too_large = || {
        state
            .pipeline
            .metrics()
            .reject(&source.name, "body_too_large", 1);
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body over the {} limit; send smaller batches",
                bytes_human(limit)
            ),
        )
    };
    let bytes = read_body(body, limit).await?.ok_or_else(too_large)?;
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let pipeline = state.pipeline.clone();
    let decoded = tokio::task::spawn_blocking(move || {
        let body = if gzip {
            gunzip(&bytes, limit)?
        } else {
            bytes.to_vec()
        };
        Ok::<_, ApiError>(pipeline.decode_body(&source, &body))
    })
    .await??;
    let report = state.pipeline.commit(decoded, "http").await?;
    Ok(Json(report))
}

/// `GET /api/v1/ingest/{source}` with `X-Okta-Verification-Challenge`: the one-time check
/// Okta makes when an event hook is created, answered with the challenge echoed back.
#[utoipa::path(
    get,
    path = "/api/v1/ingest/{source}",
    tag = "Ingest",
    params(("source" = String, Path, description = "The source name."), ("X-Okta-Verification-Challenge" = String, Header, description = "The challenge Okta sends once when an event hook is created.")),
    responses((status = 200, description = "Okta's challenge echoed back: `{\"verification\": \"…\"}`.", body = Object), (status = 401, description = "No key, or not this source's key.", body = crate::openapi::ErrorBody), (status = 404, description = "No such source.", body = crate::openapi::ErrorBody), (status = 405, description = "No challenge header: events are sent with POST.", body = crate::openapi::ErrorBody)),
)]
pub async fn ingest_verification(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    state.pipeline.authenticate(&source, key)?;
    let challenge = headers
        .get("x-okta-verification-challenge")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "send events with POST; GET only answers Okta's event-hook verification",
            )
        })?;
    Ok(Json(serde_json::json!({ "verification": challenge })))
}

/// `POST /api/v1/webhooks/{source}`: a signed webhook (Verkada). The signature is the only
/// credential the sender can present, so it is checked on the raw body before anything is
/// decoded; a bad or stale signature stores nothing and is counted. A copy of a delivery
/// already taken within the replay window is answered 200 (`"duplicate": true`), so a sender
/// stops retrying, but stores nothing and is counted (`reason="replay"`). Answers once the
/// events are durable, well inside the sender's timeout (Verkada allows 2 s).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{source}",
    tag = "Ingest",
    params(("source" = String, Path, description = "The webhook source name.")),
    request_body(content = Object, content_type = "application/json", description = "The vendor's webhook body as sent, signed."),
    responses((status = 200, description = "Stored (or a replay within the window: `duplicate: true`, nothing stored).", body = crate::openapi::IngestAnswer), (status = 401, description = "The signature is missing, wrong or stale.", body = crate::openapi::ErrorBody), (status = 404, description = "No webhook source of that name.", body = crate::openapi::ErrorBody), (status = 413, description = "The body is over `[ingest] max_body_bytes`.", body = crate::openapi::ErrorBody)),
)]
pub async fn webhook(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    use tandem_ingest::integrations::verkada;
    let pipeline = state.pipeline.clone();
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("no webhook source `{name}`"));
    let source = pipeline.source(&name).ok_or_else(not_found)?;
    let Some(secret) = source.webhook_secret.clone() else {
        return Err(not_found());
    };
    let limit = pipeline.limits().max_body_bytes;
    let bytes = read_body(body, limit)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "webhook body too large"))?;
    let signature = headers
        .get(verkada::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let now = Utc::now();
    let delivery = match verkada::verify_delivery(
        secret.as_bytes(),
        signature,
        &bytes,
        now,
        verkada::DEFAULT_WINDOW,
    ) {
        Ok(delivery) => delivery,
        Err(e) => {
            pipeline.metrics().reject(&source.name, "bad_signature", 1);
            tracing::warn!(source = %source.name, error = %e, "webhook refused");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!("webhook signature: {e}"),
            ));
        }
    };
    let replays = pipeline.webhook_replays();
    if !replays.first_time(&delivery, now, verkada::DEFAULT_WINDOW) {
        pipeline.metrics().reject(&source.name, "replay", 1);
        tracing::warn!(
            source = %source.name,
            timestamp = delivery.timestamp,
            "webhook delivery received again within the replay window; not stored"
        );
        return Ok(Json(serde_json::json!({
            "accepted": 0,
            "rejected": 0,
            "duplicate": true,
        }))
        .into_response());
    }
    let decoder = pipeline.clone();
    let decoded = tokio::task::spawn_blocking(move || decoder.decode_body(&source, &bytes)).await?;
    match pipeline.commit(decoded, "webhook").await {
        Ok(report) => Ok(Json(report).into_response()),
        Err(e) => {
            // Not stored: the same request sent again must be taken.
            replays.forget(&delivery);
            Err(e.into())
        }
    }
}

/// Reads the body if it fits in `limit`. An oversized body is still read (and discarded, up to a
/// bound) before answering, so the sender sees the 413 instead of a broken connection.
async fn read_body(body: Body, limit: usize) -> Result<Option<Vec<u8>>, ApiError> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        seen += chunk.len();
        if seen <= limit {
            out.extend_from_slice(&chunk);
        } else if seen > limit.saturating_mul(8) {
            break;
        }
    }
    Ok((seen <= limit).then_some(out))
}

fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::bad_request(format!("body is not valid gzip: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "decompressed body over the {} limit; send smaller batches",
                bytes_human(limit)
            ),
        ));
    }
    Ok(out)
}

fn bytes_human(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{} KiB", n >> 10)
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    #[serde(default)]
    pub q: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Parses the API's search parameters into a store request, with errors users can act on.
pub fn search_request(params: &SearchParams) -> Result<SearchRequest, ApiError> {
    let query = tandem_query::parse(&params.q).map_err(|e| ApiError {
        status: StatusCode::BAD_REQUEST,
        message: format!("query syntax: {} at position {}", e.message, e.position),
        detail: Some(serde_json::json!({ "position": e.position, "caret": e.render(&params.q) })),
    })?;
    let now = Utc::now();
    let bound = |name: &str, v: &Option<String>| {
        v.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                tandem_query::parse_time_bound(s, now)
                    .map_err(|e| ApiError::bad_request(format!("`{name}`: {}", e.message)))
            })
            .transpose()
    };
    let mut request = SearchRequest::new(query);
    request.from = bound("from", &params.from)?;
    request.to = bound("to", &params.to)?;
    request.limit = params.limit.unwrap_or(50).min(1000);
    request.offset = params.offset.unwrap_or(0);
    Ok(request)
}

#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "Events",
    params(SearchParams),
    responses((status = 200, description = "A page of events, or counts for `| count by` and `| timechart`.", body = crate::openapi::SearchAnswer), (status = 400, description = "The query does not parse (`position` and `caret` say where) or a time bound is wrong.", body = crate::openapi::ErrorBody), (status = 422, description = "The search ran past its time limit (`[search] time_limit_secs`); narrow it.", body = crate::openapi::ErrorBody), (status = 429, description = "Too many searches of yours are running (`[search] max_concurrent_per_user`).", body = crate::openapi::ErrorBody)),
)]
pub async fn search(
    who: Principal,
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let request = search_request(&params)?;
    // One entry per search: the next pages of the same results (`offset`) are not new
    // searches. Recorded before it runs, so a search that times out is on record too.
    if params.offset.unwrap_or(0) == 0 {
        let range = serde_json::json!({ "from": params.from, "to": params.to });
        crate::audit::searched(&state, &who, &params.q, range).await;
    }
    let result = state.run_search(Some(&who.name), request).await?;
    Ok(Json(result).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}",
    tag = "Events",
    params(("id" = String, Path, description = "The event id (ULID).")),
    responses((status = 200, description = "The event.", body = crate::openapi::Event), (status = 400, description = "Not an event id.", body = crate::openapi::ErrorBody), (status = 404, description = "No such event.", body = crate::openapi::ErrorBody)),
)]
pub async fn event(
    _who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("`{id}` is not an event id")))?;
    let events = state.events.clone();
    match tokio::task::spawn_blocking(move || events.event(id)).await?? {
        Some(e) => Ok(Json(e).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "no such event")),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/sources",
    tag = "Sources",
    responses((status = 200, description = "Every source with its health.", body = Vec<crate::openapi::SourceHealth>)),
)]
pub async fn sources(_who: Principal, State(state): State<AppState>) -> Result<Response, ApiError> {
    let events = state.events.clone();
    let (registered, stats) = tokio::task::spawn_blocking(move || {
        Ok::<_, tandem_store::StoreError>((events.sources()?, events.source_stats()?))
    })
    .await??;
    let list: Vec<serde_json::Value> = stats
        .into_iter()
        .map(|s| {
            let config = registered.iter().find(|r| r.name == s.name);
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            if let (Some(obj), Some(c)) = (v.as_object_mut(), config) {
                obj.insert("format".into(), c.format.clone().into());
                obj.insert("vendor".into(), c.vendor.clone().into());
                obj.insert("product".into(), c.product.clone().into());
                obj.insert("http_ingest".into(), c.key_sha256.is_some().into());
            }
            v
        })
        .collect();
    Ok(Json(list).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSource {
    pub name: String,
    pub format: String,
    pub vendor: Option<String>,
    pub product: Option<String>,
}

/// Registers a source and returns its API key, which is shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/sources",
    tag = "Sources",
    request_body(content = NewSource, content_type = "application/json", description = "The source: a name (letters, digits, `-`, `_`) and a format that takes a key."),
    responses((status = 201, description = "Registered; the key is shown this once.", body = crate::openapi::SourceKeyAnswer), (status = 400, description = "Bad name or a format that does not take a key.", body = crate::openapi::ErrorBody), (status = 409, description = "A source of that name exists already.", body = crate::openapi::ErrorBody)),
)]
pub async fn create_source(
    who: Principal,
    State(state): State<AppState>,
    Json(new): Json<NewSource>,
) -> Result<Response, ApiError> {
    let name = new.name.clone();
    let key = register_source(&state, &who, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "name": name, "api_key": key })),
    )
        .into_response())
}

/// Issues a new API key for a source; the old one stops working at once.
#[utoipa::path(
    post,
    path = "/api/v1/sources/{name}/key",
    tag = "Sources",
    params(("name" = String, Path, description = "The source name.")),
    responses((status = 200, description = "The new key; the old one stops working at once.", body = crate::openapi::SourceKeyAnswer), (status = 400, description = "This source does not use a key.", body = crate::openapi::ErrorBody), (status = 404, description = "No such source.", body = crate::openapi::ErrorBody)),
)]
pub async fn rotate_source_key(
    who: Principal,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let key = issue_source_key(&state, &who, &name).await?;
    Ok(Json(serde_json::json!({ "name": name, "api_key": key })).into_response())
}

/// Formats that take events over HTTP with a source key: the others carry a shared secret
/// (signed webhooks) or arrive over MQTT.
pub fn takes_key(format: Format) -> bool {
    !format.is_mqtt() && format != Format::Verkada
}

/// Registers a new source with a fresh key (audited) and returns the key. The console's
/// settings page and `POST /api/v1/sources` both come here.
pub async fn register_source(
    state: &AppState,
    who: &Principal,
    new: NewSource,
) -> Result<String, ApiError> {
    who.require(Permission::ManageSources)?;
    if new.name.is_empty()
        || new.name.len() > 64
        || !new
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::bad_request(
            "source names use letters, digits, `-` and `_` (at most 64)",
        ));
    }
    let format: Format = new
        .format
        .parse()
        .map_err(|e| ApiError::bad_request(format!("{e}")))?;
    if !takes_key(format) || format == Format::Mapped {
        return Err(ApiError::bad_request(format!(
            "`{format}` sources carry a shared secret, a field mapping or an MQTT subscription; declare them in tandem.toml ([[sources]] / [[mqtt]])"
        )));
    }
    if state.pipeline.source(&new.name).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "a source named `{}` exists already; issue a new key for it instead",
                new.name
            ),
        ));
    }
    let mut source = Source::new(&new.name, format);
    source.vendor = new.vendor.filter(|v| !v.trim().is_empty());
    source.product = new.product.filter(|p| !p.trim().is_empty());
    with_new_key(
        state,
        who,
        source,
        "source.create",
        serde_json::json!({ "format": format.to_string() }),
    )
    .await
}

/// Gives `source` a fresh key, registers it, audits `action`, and returns the key (the only
/// time it is seen: the store keeps its hash).
async fn with_new_key(
    state: &AppState,
    who: &Principal,
    mut source: Source,
    action: &str,
    detail: serde_json::Value,
) -> Result<String, ApiError> {
    let key = crate::generate_secret("tsk_");
    source.key_sha256 = Some(hash_key(&key));
    let target = format!("source:{}", source.name);
    let pipeline = state.pipeline.clone();
    tokio::task::spawn_blocking(move || pipeline.register(source)).await??;
    crate::audit::by(state, who, action, &target, detail).await;
    Ok(key)
}

/// Replaces a source's key (audited) and returns the new one.
pub async fn issue_source_key(
    state: &AppState,
    who: &Principal,
    name: &str,
) -> Result<String, ApiError> {
    who.require(Permission::ManageSources)?;
    let Some(source) = state.pipeline.source(name) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no source named `{name}`"),
        ));
    };
    if !takes_key(source.format) {
        return Err(ApiError::bad_request(format!(
            "`{}` sources do not use a key: they are signed with a shared secret or arrive over MQTT",
            source.format
        )));
    }
    with_new_key(state, who, source, "source.key", serde_json::json!({})).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterParams {
    pub source: Option<String>,
    pub since: Option<String>,
    pub limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/api/v1/dead-letters",
    tag = "Sources",
    params(DeadLetterParams),
    responses((status = 200, description = "The newest dead letters first.", body = Vec<crate::openapi::DeadLetter>), (status = 400, description = "`since` is not a time.", body = crate::openapi::ErrorBody)),
)]
pub async fn dead_letters(
    _who: Principal,
    State(state): State<AppState>,
    Query(params): Query<DeadLetterParams>,
) -> Result<Response, ApiError> {
    let since = params
        .since
        .as_deref()
        .map(|s| tandem_query::parse_time_bound(s, Utc::now()))
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("`since`: {}", e.message)))?;
    let query = DeadLetterQuery {
        source: params.source,
        since,
        limit: params.limit.unwrap_or(100).min(10_000),
    };
    let events = state.events.clone();
    let list = tokio::task::spawn_blocking(move || events.dead_letters(&query)).await??;
    Ok(Json(list).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "Sources",
    responses((status = 200, description = "The store's size and state.", body = crate::openapi::StoreStatus)),
)]
pub async fn status(_who: Principal, State(state): State<AppState>) -> Result<Response, ApiError> {
    let events = state.events.clone();
    let status = tokio::task::spawn_blocking(move || events.status()).await??;
    Ok(Json(status).into_response())
}
