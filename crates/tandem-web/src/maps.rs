//! Maps: each floor's plan with its doors, readers and cameras on it, and the sites drawn from
//! their coordinates, both with live door state and alarms.
//!
//! A floor plan is an image an operator uploads (PNG or SVG), kept in the store by its SHA-256
//! ([`tandem_store::FileStore`]) and named by that hash on the floor's record
//! (`floor_plan`); positions are fractions of the plan (`x`, `y` on a door, reader or camera),
//! so a plan redrawn at another size keeps them. Both come from the places file or from the
//! console, through audited API calls.
//!
//! An uploaded SVG is a document a stranger may have written: it is only ever shown as an
//! image (`<image>` inside the page's own SVG, where browsers run no script and load nothing),
//! and served with `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline';
//! sandbox` and `X-Content-Type-Options: nosniff`, so opening its URL directly runs nothing
//! in the console's origin either.
//!
//! Maps are drawn as SVG on the server (no tile server, no script needed to see them), and
//! every map has a table with the same information beside it. A deployment with a tile server
//! (`[maps] tile_url`) gets the site overview drawn on its tiles ([`Tiles`]): the sites are then
//! placed in Web Mercator, the projection tiles are cut in, and the browser fetches the tiles
//! from that server, the one origin outside Tandem the console's policy then allows images from. `static/map.js` adds what needs
//! a script: live door state and alarms from `/live/stream`, and dragging markers into place.

use crate::access::Permission;
use crate::auth::Principal;
use crate::pages::investigate::door_state;
use crate::view::{Visitor, refusal_page, render};
use crate::{ApiError, AppState};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tandem_identity::{Directory, PlaceKind, PlaceRecord, records};
use tandem_model::Event;
use tandem_store::StoredFile;

/// Largest floor plan accepted: a detailed architectural PNG fits, a photo archive does not.
pub const MAX_PLAN_BYTES: usize = 8 * 1024 * 1024;

/// What a floor plan is served with: nothing it references loads and no script it holds
/// runs, even opened on its own; inline styles are allowed because drawing tools write them.
pub const PLAN_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// Doors, readers and cameras one floor map shows (and door states it looks up).
const MAX_ITEMS: usize = 200;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The media type of a floor plan, from its bytes: PNG by its signature, SVG by its root
/// element. A declared type must agree with the bytes.
fn plan_type(declared: Option<&str>, bytes: &[u8]) -> Result<&'static str, ApiError> {
    let found = if bytes.starts_with(PNG_SIGNATURE) && bytes.len() >= 24 {
        Some("image/png")
    } else if is_svg(bytes) {
        Some("image/svg+xml")
    } else {
        None
    };
    let declared = declared
        .map(|d| {
            d.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|d| !d.is_empty() && d != "application/octet-stream");
    let unsupported = |why: String| Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, why));
    match (declared.as_deref(), found) {
        (None, Some(t)) => Ok(t),
        (Some(d), Some(t)) if d == t => Ok(t),
        (Some(d @ ("image/png" | "image/svg+xml")), _) => {
            unsupported(format!("the file is not the {d} image it says it is"))
        }
        (Some(d), _) => unsupported(format!(
            "a floor plan is a PNG (image/png) or SVG (image/svg+xml) image, not {d}"
        )),
        (None, None) => {
            unsupported("a floor plan is a PNG (image/png) or SVG (image/svg+xml) image".to_owned())
        }
    }
}

/// Whether `bytes` is UTF-8 text whose first element (after an XML declaration, comments and
/// a doctype) is `<svg`.
fn is_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        let skipped = if rest.starts_with("<?") {
            rest.split_once("?>").map(|(_, r)| r)
        } else if rest.starts_with("<!--") {
            rest.split_once("-->").map(|(_, r)| r)
        } else if rest
            .get(..9)
            .is_some_and(|s| s.eq_ignore_ascii_case("<!doctype"))
        {
            rest.split_once('>').map(|(_, r)| r)
        } else {
            break;
        };
        match skipped {
            Some(r) => rest = r.trim_start(),
            None => return false,
        }
    }
    rest.strip_prefix("<svg")
        .and_then(|r| r.chars().next())
        .is_some_and(|c| c.is_whitespace() || c == '>')
}

/// A plan's width and height in its own units: the PNG's pixels, the SVG's `viewBox` (or
/// `width`/`height`); 1000 × 750 when an SVG says neither.
fn plan_size(content_type: &str, bytes: &[u8]) -> (f64, f64) {
    const DEFAULT: (f64, f64) = (1000.0, 750.0);
    let sane = |w: f64, h: f64| {
        (w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0 && w < 1e7 && h < 1e7)
            .then_some((w, h))
    };
    if content_type == "image/png" {
        let be = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        return be(16)
            .zip(be(20))
            .and_then(|(w, h)| sane(f64::from(w), f64::from(h)))
            .unwrap_or(DEFAULT);
    }
    let text = String::from_utf8_lossy(bytes);
    let Some(start) = text.find("<svg") else {
        return DEFAULT;
    };
    let tag = &text[start..];
    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
    let attr = |name: &str| -> Option<String> {
        let mut from = 0;
        while let Some(i) = tag[from..].find(name) {
            let at = from + i;
            from = at + name.len();
            let before = tag[..at].chars().next_back();
            if !before.is_some_and(char::is_whitespace) {
                continue;
            }
            let rest = tag[from..].trim_start().strip_prefix('=')?.trim_start();
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let value = &rest[1..];
            return Some(value[..value.find(quote)?].to_owned());
        }
        None
    };
    let number = |s: &str| {
        let s = s.trim();
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .unwrap_or(s.len());
        s[..end].parse::<f64>().ok()
    };
    if let Some(vb) = attr("viewBox") {
        let parts: Vec<f64> = vb
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
            .collect();
        if let [_, _, w, h] = parts[..]
            && let Some(size) = sane(w, h)
        {
            return size;
        }
    }
    attr("width")
        .and_then(|w| number(&w))
        .zip(attr("height").and_then(|h| number(&h)))
        .and_then(|(w, h)| sane(w, h))
        .unwrap_or(DEFAULT)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, what.to_owned())
}

/// Commits a new version of a place (a map edit) and returns it.
async fn commit_place(
    state: &AppState,
    who: &Principal,
    place: PlaceRecord,
) -> Result<PlaceRecord, ApiError> {
    let identity = state.identity.clone();
    let origin = format!("map:{}", who.name);
    tokio::task::spawn_blocking(move || -> Result<PlaceRecord, ApiError> {
        let change = records::change_place(&identity.snapshot(), &place, &origin, Utc::now())?;
        identity.commit(vec![change])?;
        Ok(place)
    })
    .await
    .map_err(ApiError::internal)?
}

/// `PUT /api/v1/places/{id}/floor-plan`: the body is the floor's plan (PNG or SVG, at most
/// [`MAX_PLAN_BYTES`]); the floor then names it by its SHA-256. Audited.
#[utoipa::path(
    put,
    path = "/api/v1/places/{id}/floor-plan",
    tag = "Directory",
    params(("id" = String, Path, description = "The floor id.")),
    request_body(content = Vec<u8>, content_type = "image/png", description = "The plan: PNG or SVG (`Content-Type: image/svg+xml`)."),
    responses((status = 200, description = "The floor as stored, naming the plan by its SHA-256.", body = Object), (status = 400, description = "Not a floor.", body = crate::openapi::ErrorBody), (status = 404, description = "No such place.", body = crate::openapi::ErrorBody), (status = 413, description = "The plan is too large.", body = crate::openapi::ErrorBody), (status = 415, description = "Not a PNG or SVG.", body = crate::openapi::ErrorBody)),
)]
pub async fn upload_plan(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::EditMaps)?;
    let mut floor = state
        .identity
        .snapshot()
        .place(&id)
        .cloned()
        .ok_or_else(|| not_found(&format!("no place `{id}`")))?;
    if floor.kind != PlaceKind::Floor {
        return Err(ApiError::bad_request(format!(
            "`{id}` is a {}; floor plans belong to floors",
            floor.kind.name()
        )));
    }
    let bytes = axum::body::to_bytes(body, MAX_PLAN_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "a floor plan is at most {} MiB",
                    MAX_PLAN_BYTES / (1024 * 1024)
                ),
            )
        })?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the floor plan is empty"));
    }
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let content_type = plan_type(declared, &bytes)?;
    let file = StoredFile {
        sha256: sha256_hex(&bytes),
        content_type: content_type.to_owned(),
        bytes: bytes.to_vec(),
    };
    let files = state.files.clone();
    let stored = file.clone();
    tokio::task::spawn_blocking(move || files.put_file(&stored))
        .await
        .map_err(ApiError::internal)??;
    let previous = floor.floor_plan.replace(file.sha256.clone());
    commit_place(&state, &who, floor).await?;
    let (width, height) = plan_size(content_type, &file.bytes);
    let detail = json!({
        "sha256": file.sha256, "content_type": content_type, "bytes": file.bytes.len(),
        "previous": previous,
    });
    crate::audit::by(
        &state,
        &who,
        "map.floor_plan",
        &format!("place:{id}"),
        detail,
    )
    .await;
    Ok(Json(json!({
        "place": id, "floor_plan": file.sha256, "content_type": content_type,
        "bytes": file.bytes.len(), "width": width, "height": height,
    })))
}

/// `GET /floor-plans/{sha256}`: a stored plan, under [`PLAN_CSP`].
pub async fn plan_image(
    _who: Principal,
    State(state): State<AppState>,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    if !tandem_identity::is_sha256_hex(&sha) {
        return Err(not_found("no such floor plan"));
    }
    let files = state.files.clone();
    let file = tokio::task::spawn_blocking(move || files.file(&sha))
        .await
        .map_err(ApiError::internal)??
        .ok_or_else(|| not_found("no such floor plan"))?;
    let mut response = file.bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PLAN_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The name is the content's hash: it never changes.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(response)
}

/// Where a door, reader or camera goes: fractions of the plan from its top-left corner, or
/// both `null` to take it off the plan; `map_floor` when the plan is not its own floor's.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct Position {
    x: Option<f64>,
    y: Option<f64>,
    #[serde(default)]
    map_floor: Option<String>,
}

/// Moves a place on a plan, checked and audited; the API and the console form share it.
async fn place_on_plan(
    state: &AppState,
    who: &Principal,
    id: &str,
    pos: Position,
) -> Result<PlaceRecord, ApiError> {
    let dir = state.identity.snapshot();
    let mut place = dir
        .place(id)
        .cloned()
        .ok_or_else(|| not_found(&format!("no place `{id}`")))?;
    if !place.is_placeable() {
        return Err(ApiError::bad_request(format!(
            "`{id}` is a {}; only doors, readers and cameras are placed on a plan",
            place.kind.name()
        )));
    }
    let before = json!({ "x": place.x, "y": place.y, "map_floor": place.map_floor });
    place.x = pos.x;
    place.y = pos.y;
    // The floor the place sits in needs no naming.
    place.map_floor = pos
        .map_floor
        .filter(|f| home_floor(&dir, &place).as_deref() != Some(f.as_str()));
    if place.x.is_none() && place.y.is_none() {
        place.map_floor = None;
    }
    let place = commit_place(state, who, place).await?;
    crate::audit::by(
        state,
        who,
        "map.place",
        &format!("place:{id}"),
        json!({
            "x": place.x, "y": place.y, "map_floor": place.map_floor, "before": before,
        }),
    )
    .await;
    Ok(place)
}

/// `PUT /api/v1/places/{id}/position`: places a door, reader or camera on a plan. Audited.
#[utoipa::path(
    put,
    path = "/api/v1/places/{id}/position",
    tag = "Directory",
    params(("id" = String, Path, description = "The door, reader or camera id.")),
    request_body(content = Position, content_type = "application/json", description = "Where on the plan, as fractions of its width and height."),
    responses((status = 200, description = "`{\"place\": {…}}` as stored.", body = Object), (status = 400, description = "The request is malformed; the error says what to change.", body = crate::openapi::ErrorBody), (status = 404, description = "No such place.", body = crate::openapi::ErrorBody)),
)]
pub async fn set_position(
    who: Principal,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(pos): Json<Position>,
) -> Result<Json<Value>, ApiError> {
    who.require(Permission::EditMaps)?;
    let place = place_on_plan(&state, &who, &id, pos).await?;
    Ok(Json(json!({ "place": place })))
}

/// The console's form for placing without dragging: the item and its position in percent.
#[derive(Deserialize)]
pub struct PlaceForm {
    item: String,
    x: String,
    y: String,
}

/// `POST /places/{id}/map/position`: places an item on this floor's plan from the form.
pub async fn place_form(
    v: Visitor,
    State(state): State<AppState>,
    Path(floor): Path<String>,
    axum::Form(form): axum::Form<PlaceForm>,
) -> Response {
    let percent = |s: &str| s.trim().trim_end_matches('%').trim().parse::<f64>().ok();
    let (Some(x), Some(y)) = (percent(&form.x), percent(&form.y)) else {
        return refusal_page(
            StatusCode::BAD_REQUEST,
            "The position is two numbers: percent of the plan's width from the left, and of its height from the top.",
        );
    };
    let pos = Position {
        x: Some(x / 100.0),
        y: Some(y / 100.0),
        map_floor: Some(floor.clone()),
    };
    match place_on_plan(&state, &v.who, &form.item, pos).await {
        Ok(_) => Redirect::to(&format!(
            "/places/{}/map",
            crate::view::path_segment(&floor)
        ))
        .into_response(),
        Err(e) => refusal_page(e.status, &e.message),
    }
}

/// The floor a place is in (its nearest floor ancestor), if any.
fn home_floor(dir: &Directory, p: &PlaceRecord) -> Option<String> {
    dir.lineage(&p.id)
        .iter()
        .skip(1)
        .find(|a| a.kind == PlaceKind::Floor)
        .map(|a| a.id.clone())
}

/// The floor whose plan a place is drawn on.
fn map_floor_of(dir: &Directory, p: &PlaceRecord) -> Option<String> {
    p.map_floor.clone().or_else(|| home_floor(dir, p))
}

/// The site a place belongs to.
fn site_of(dir: &Directory, id: &str) -> Option<PlaceRecord> {
    dir.lineage(id)
        .into_iter()
        .find(|p| p.kind == PlaceKind::Site)
        .cloned()
}

/// `GET /places/{id}/map`: a floor's plan with its doors, readers and cameras and their
/// state, the same as a table, and (for those who may) the controls to upload and place.
pub async fn floor_map(
    v: Visitor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let dir = state.identity.snapshot();
    let Some(floor) = dir.find_place(&id).cloned() else {
        return refusal_page(
            StatusCode::NOT_FOUND,
            &format!("No place `{id}` in the directory."),
        );
    };
    if floor.kind == PlaceKind::Site {
        return Redirect::to("/map").into_response();
    }
    if floor.kind != PlaceKind::Floor {
        return refusal_page(
            StatusCode::NOT_FOUND,
            &format!(
                "{} is a {}; floor plans belong to floors. Open one of its floors from its place page.",
                floor.name,
                floor.kind.name()
            ),
        );
    }
    let now = Utc::now();
    let mut items: Vec<PlaceRecord> = dir
        .places()
        .into_iter()
        .filter(|p| p.is_placeable() && map_floor_of(&dir, p).as_deref() == Some(&floor.id))
        .cloned()
        .collect();
    items.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let more = items.len().saturating_sub(MAX_ITEMS);
    items.truncate(MAX_ITEMS);

    let plan = match &floor.floor_plan {
        Some(sha) => {
            let files = state.files.clone();
            let sha = sha.clone();
            let found = tokio::task::spawn_blocking(move || files.file(&sha))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten();
            found.map(|f| {
                let (w, h) = plan_size(&f.content_type, &f.bytes);
                (format!("/floor-plans/{}", f.sha256), w, h)
            })
        }
        None => None,
    };
    // Without a plan the markers still go on a blank sheet of the usual proportions.
    let (width, height) = plan.as_ref().map_or((1000.0, 750.0), |p| (p.1, p.2));
    let radius = width.max(height) / 90.0;
    let mut rows = Vec::new();
    for p in &items {
        let (state_text, alarm, ago, time) = if p.kind == PlaceKind::Door {
            let s = door_state(&state, &dir, p, now, &v.zone).await;
            (s.state, s.alarm, s.ago, s.time)
        } else {
            (String::new(), false, None, None)
        };
        let pos = p.position();
        rows.push(MapItem {
            id: p.id.clone(),
            name: p.name.clone(),
            kind: p.kind.name(),
            kind_label: kind_label(p.kind),
            state: state_text,
            alarm,
            ago,
            time,
            placed: pos.is_some(),
            cx: pos.map(|(x, _)| round(x * width)),
            cy: pos.map(|(_, y)| round(y * height)),
            x_pct: pos.map(|(x, _)| round(x * 100.0)),
            y_pct: pos.map(|(_, y)| round(y * 100.0)),
        });
    }
    let lineage: Vec<MapCrumb> = dir
        .lineage(&floor.id)
        .iter()
        .skip(1)
        .rev()
        .map(|a| MapCrumb {
            id: a.id.clone(),
            name: a.name.clone(),
        })
        .collect();
    let site = site_of(&dir, &floor.id);
    let stream_url = match &site {
        Some(s) => format!(
            "/live/stream?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("site", &s.id)
                .finish()
        ),
        None => "/live/stream".to_owned(),
    };
    let page = FloorMap {
        id: &floor.id,
        name: &floor.name,
        lineage,
        plan: plan.as_ref().map(|p| p.0.clone()),
        plan_missing: floor.floor_plan.is_some() && plan.is_none(),
        width: round(width),
        height: round(height),
        r: round(radius),
        label_size: round(radius * 1.4),
        items: rows,
        placed: items.iter().filter(|p| p.position().is_some()).count(),
        more,
        stream_url,
        max_mib: MAX_PLAN_BYTES / (1024 * 1024),
    };
    render(
        "floor_map.html",
        context! {
            m => Serde(page),
            can_edit => v.can(Permission::EditMaps),
            ..v.base("map")
        },
    )
}

/// The floor map page: the plan (or a blank sheet) in its own units, and what is on it.
#[derive(Serialize)]
struct FloorMap<'a> {
    id: &'a str,
    name: &'a str,
    /// The places the floor sits in, outermost first.
    lineage: Vec<MapCrumb>,
    /// The uploaded plan's URL.
    plan: Option<String>,
    /// The floor names a plan that is not in the store.
    plan_missing: bool,
    width: f64,
    height: f64,
    /// A marker's radius and its label's size, in the drawing's units.
    r: f64,
    label_size: f64,
    items: Vec<MapItem>,
    /// How many items have a position on the plan.
    placed: usize,
    /// Items left out beyond the page's bound.
    more: usize,
    /// The live stream of the floor's site, for the script.
    stream_url: String,
    /// The largest plan an upload may be, in MiB.
    max_mib: usize,
}

/// A place the floor map links to.
#[derive(Serialize)]
struct MapCrumb {
    id: String,
    name: String,
}

/// A door, reader or camera on a floor: its state (doors) and where it is drawn.
#[derive(Serialize)]
struct MapItem {
    id: String,
    name: String,
    kind: &'static str,
    kind_label: &'static str,
    /// A door's state in words and whether it is an alarm, as the place page says it.
    state: String,
    alarm: bool,
    ago: Option<String>,
    time: Option<crate::clock::Stamp>,
    placed: bool,
    /// The marker's centre in the drawing's units, and as percentages of the plan.
    cx: Option<f64>,
    cy: Option<f64>,
    x_pct: Option<f64>,
    y_pct: Option<f64>,
}

fn kind_label(k: PlaceKind) -> &'static str {
    match k {
        PlaceKind::Door => "Door",
        PlaceKind::Reader => "Reader",
        PlaceKind::Camera => "Camera",
        PlaceKind::Site => "Site",
        PlaceKind::Building => "Building",
        PlaceKind::Floor => "Floor",
        PlaceKind::Zone => "Zone",
    }
}

/// Two decimals are plenty for drawing and reading.
fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A tile server for the site overview, from `[maps] tile_url`.
#[derive(Debug, Clone)]
pub struct Tiles {
    template: String,
    origin: String,
    attribution: String,
}

/// Why a tile URL template was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TileUrlError(String);

impl Tiles {
    /// Checks `template` (`https://tiles.example.net/{z}/{x}/{y}.png`): an `http` or `https`
    /// URL with a host, holding `{z}`, `{x}` and `{y}`.
    pub fn new(template: &str, attribution: &str) -> Result<Tiles, TileUrlError> {
        for part in ["{z}", "{x}", "{y}"] {
            if !template.contains(part) {
                return Err(TileUrlError(format!(
                    "`{template}` has no {part}: write the tile server's URL with {{z}}, {{x}} \
                     and {{y}} where the zoom and tile numbers go"
                )));
            }
        }
        let example = template
            .replace("{z}", "0")
            .replace("{x}", "0")
            .replace("{y}", "0");
        let url = url::Url::parse(&example)
            .map_err(|e| TileUrlError(format!("`{template}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(TileUrlError(format!(
                "`{template}` must be an http or https URL with a host"
            )));
        }
        if template.contains(['"', '\'', '<', '>', ' ', ';']) {
            return Err(TileUrlError(format!(
                "`{template}` holds characters no tile URL needs"
            )));
        }
        Ok(Tiles {
            template: template.to_owned(),
            origin: url.origin().ascii_serialization(),
            attribution: attribution.to_owned(),
        })
    }

    /// `https://tiles.example.net` (scheme, host and port): what the policy allows.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn url(&self, z: u32, x: u64, y: u64) -> String {
        self.template
            .replace("{z}", &z.to_string())
            .replace("{x}", &x.to_string())
            .replace("{y}", &y.to_string())
    }
}

/// Tiles are 256 drawing units square, as the XYZ scheme cuts them.
const TILE: f64 = 256.0;
/// The nearest zoom the overview uses: a single site shows its streets, not one building.
const MAX_ZOOM: u32 = 16;

/// Latitude and longitude in Web Mercator, as fractions of the world (0..1 each way).
fn mercator(lat: f64, lon: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128, 85.051_128).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    (x, y.clamp(0.0, 1.0))
}

/// Sites on the tile server's map: the nearest zoom at which all of them fit in the drawing
/// with its margin, their positions, and the tiles that cover the drawing.
fn on_tiles(points: &[(f64, f64)], tiles: &Tiles) -> (Vec<(f64, f64)>, Vec<TileImage>) {
    if points.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let world: Vec<(f64, f64)> = points
        .iter()
        .map(|&(lat, lon)| mercator(lat, lon))
        .collect();
    let (min_x, max_x) = world
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (min_y, max_y) = world
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let room = |span: f64, size: f64| (size - 2.0 * OVERVIEW_MARGIN) / (span * TILE).max(1e-12);
    let fit = room(max_x - min_x, OVERVIEW_W).min(room(max_y - min_y, OVERVIEW_H));
    let zoom = (fit.log2().floor().max(0.0) as u32).min(MAX_ZOOM);
    let scale = TILE * f64::from(1u32 << zoom);
    let off_x = (min_x + max_x) / 2.0 * scale - OVERVIEW_W / 2.0;
    let off_y = (min_y + max_y) / 2.0 * scale - OVERVIEW_H / 2.0;
    let placed = world
        .iter()
        .map(|(x, y)| (round(x * scale - off_x), round(y * scale - off_y)))
        .collect();
    let n = 1i64 << zoom;
    let first = |off: f64| (off / TILE).floor() as i64;
    let mut drawn = Vec::new();
    for ty in first(off_y).max(0)..=first(off_y + OVERVIEW_H).min(n - 1) {
        for tx in first(off_x)..=first(off_x + OVERVIEW_W) {
            drawn.push(TileImage {
                href: tiles.url(zoom, tx.rem_euclid(n) as u64, ty as u64),
                x: round(tx as f64 * TILE - off_x),
                y: round(ty as f64 * TILE - off_y),
            });
        }
    }
    (placed, drawn)
}

/// A tile of the tile server, where it goes in the site overview's drawing.
#[derive(Serialize)]
struct TileImage {
    href: String,
    x: f64,
    y: f64,
}

/// The site overview page.
#[derive(Serialize)]
struct SiteMap {
    sites: Vec<SiteRow>,
    width: f64,
    height: f64,
    /// How many sites have coordinates (and are drawn).
    located: usize,
    tiles: Vec<TileImage>,
    /// The tile server's origin, which the page's policy lets images come from.
    tile_origin: Option<String>,
    tile_attribution: Option<String>,
}

/// A site on the overview and in its table.
#[derive(Serialize)]
struct SiteRow {
    id: String,
    name: String,
    city: Option<String>,
    country: Option<String>,
    coordinates: Option<String>,
    /// Where it is drawn; none when it has no coordinates.
    x: Option<f64>,
    y: Option<f64>,
    doors: usize,
    floors: Vec<SiteFloor>,
    /// Door alarms of the last 24 hours.
    alarms: u64,
}

/// A floor of a site, with whether it has a plan.
#[derive(Serialize)]
struct SiteFloor {
    id: String,
    name: String,
    has_plan: bool,
    building: Option<String>,
}

/// Width of the site overview's drawing, in its own units.
const OVERVIEW_W: f64 = 1000.0;
const OVERVIEW_H: f64 = 560.0;
const OVERVIEW_MARGIN: f64 = 90.0;

/// Sites on a plane: longitude scaled by the cosine of the mean latitude (so distances look
/// right near the sites), fitted into the drawing with a margin, north up.
fn project(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if points.is_empty() {
        return Vec::new();
    }
    let mean_lat = points.iter().map(|p| p.0).sum::<f64>() / points.len() as f64;
    let k = mean_lat.to_radians().cos().max(0.05);
    let xs: Vec<f64> = points.iter().map(|p| p.1 * k).collect();
    let ys: Vec<f64> = points.iter().map(|p| -p.0).collect();
    let (min_x, max_x) = xs
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let (min_y, max_y) = ys
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let span_x = (max_x - min_x).max(1e-6);
    let span_y = (max_y - min_y).max(1e-6);
    let scale = ((OVERVIEW_W - 2.0 * OVERVIEW_MARGIN) / span_x)
        .min((OVERVIEW_H - 2.0 * OVERVIEW_MARGIN) / span_y);
    // Centre the drawing whichever way it has room to spare.
    let off_x = (OVERVIEW_W - span_x * scale) / 2.0;
    let off_y = (OVERVIEW_H - span_y * scale) / 2.0;
    xs.iter()
        .zip(&ys)
        .map(|(x, y)| {
            if points.len() == 1 {
                (OVERVIEW_W / 2.0, OVERVIEW_H / 2.0)
            } else {
                (
                    round(off_x + (x - min_x) * scale),
                    round(off_y + (y - min_y) * scale),
                )
            }
        })
        .collect()
}

/// Door alarms of the last 24 hours per site id (at most the newest 1,000 looked at).
async fn alarms_by_site(state: &AppState) -> HashMap<String, u64> {
    let request = crate::api::search_request(&crate::api::SearchParams {
        q: "class:physical_access AND (activity:forced OR activity:held_open OR \
            activity:tamper OR activity:duress)"
            .to_owned(),
        from: Some("now-24h".into()),
        to: None,
        limit: Some(1000),
        offset: None,
    });
    let events: Vec<Event> = match request {
        Ok(r) => match state.run_search(None, r).await {
            Ok(tandem_store::SearchResult::Events(page)) => page.events,
            _ => Vec::new(),
        },
        Err(_) => Vec::new(),
    };
    let mut out = HashMap::new();
    for e in events {
        if let Some(site) = e.place.as_ref().and_then(|p| p.site.clone()) {
            *out.entry(site).or_insert(0) += 1;
        }
    }
    out
}

/// `GET /map`: the sites drawn from their coordinates (no tile server), each with its doors,
/// floor plans and door alarms of the last 24 hours, and the same as a table.
pub async fn site_map(v: Visitor, State(state): State<AppState>) -> Response {
    let dir = state.identity.snapshot();
    let all = dir.places();
    let mut sites: Vec<&PlaceRecord> = all
        .iter()
        .copied()
        .filter(|p| p.kind == PlaceKind::Site)
        .collect();
    sites.sort_by(|a, b| a.name.cmp(&b.name));
    let alarms = alarms_by_site(&state).await;
    let located: Vec<(f64, f64)> = sites.iter().filter_map(|s| s.lat.zip(s.lon)).collect();
    let (points, tiles) = match &state.tiles {
        Some(t) => on_tiles(&located, t),
        None => (project(&located), Vec::new()),
    };
    let mut points = points.into_iter();
    let mut doors: HashMap<String, usize> = HashMap::new();
    let mut floors: HashMap<String, Vec<SiteFloor>> = HashMap::new();
    for p in &all {
        let Some(site) = site_of(&dir, &p.id) else {
            continue;
        };
        match p.kind {
            PlaceKind::Door => *doors.entry(site.id).or_insert(0) += 1,
            PlaceKind::Floor => floors.entry(site.id).or_default().push(SiteFloor {
                id: p.id.clone(),
                name: p.name.clone(),
                has_plan: p.floor_plan.is_some(),
                building: dir
                    .place(p.parent.as_deref().unwrap_or_default())
                    .map(|b| b.name.clone()),
            }),
            _ => {}
        }
    }
    let rows: Vec<SiteRow> = sites
        .iter()
        .map(|s| {
            let point = s.lat.zip(s.lon).and_then(|_| points.next());
            let n_alarms = alarms.get(&s.id).copied().unwrap_or(0)
                + if s.name != s.id {
                    alarms.get(&s.name).copied().unwrap_or(0)
                } else {
                    0
                };
            SiteRow {
                id: s.id.clone(),
                name: s.name.clone(),
                city: s.city.clone(),
                country: s.country.clone(),
                coordinates: s.lat.zip(s.lon).map(|(a, b)| format!("{a:.4}, {b:.4}")),
                x: point.map(|p| p.0),
                y: point.map(|p| p.1),
                doors: doors.get(&s.id).copied().unwrap_or(0),
                floors: floors.remove(&s.id).unwrap_or_default(),
                alarms: n_alarms,
            }
        })
        .collect();
    let page = SiteMap {
        sites: rows,
        width: OVERVIEW_W,
        height: OVERVIEW_H,
        located: located.len(),
        tiles,
        tile_origin: state.tiles.as_ref().map(|t| t.origin().to_owned()),
        tile_attribution: state
            .tiles
            .as_ref()
            .map(|t| t.attribution.clone())
            .filter(|a| !a.is_empty()),
    };
    render(
        "site_map.html",
        context! { m => Serde(page), ..v.base("map") },
    )
}

/// `GET /static/map.js`: live state on the maps and dragging markers into place.
pub async fn map_script() -> Response {
    crate::view::script(include_str!("../static/map.js"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVG: &str = r#"<?xml version="1.0"?>
<!-- drawn by hand -->
<!DOCTYPE svg>
<svg xmlns="http://www.w3.org/2000/svg" width="800px" height="600" viewBox="0 0 1600 1200"><rect/></svg>"#;

    #[test]
    fn plans_are_png_or_svg_by_their_bytes() {
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(&[0, 0, 0, 13]);
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(plan_type(Some("image/png"), &png).unwrap(), "image/png");
        assert_eq!(plan_type(None, &png).unwrap(), "image/png");
        assert_eq!(plan_size("image/png", &png), (640.0, 480.0));
        assert_eq!(
            plan_type(Some("image/svg+xml; charset=utf-8"), SVG.as_bytes()).unwrap(),
            "image/svg+xml"
        );
        assert_eq!(plan_size("image/svg+xml", SVG.as_bytes()), (1600.0, 1200.0));
        let sized = r#"<svg width="800px" height='600'></svg>"#;
        assert_eq!(plan_size("image/svg+xml", sized.as_bytes()), (800.0, 600.0));
        assert_eq!(plan_size("image/svg+xml", b"<svg></svg>"), (1000.0, 750.0));

        for (declared, bytes) in [
            (Some("image/png"), SVG.as_bytes()),
            (Some("image/svg+xml"), &png[..]),
            (
                Some("text/html"),
                b"<html><script>alert(1)</script></html>".as_slice(),
            ),
            (None, b"<html><svg></svg></html>".as_slice()),
            (None, b"<svgx/>".as_slice()),
            (None, b"\xff\xfe<svg>".as_slice()),
            (Some("image/gif"), b"GIF89a".as_slice()),
        ] {
            let e = plan_type(declared, bytes).unwrap_err();
            assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{declared:?}");
        }
    }

    #[test]
    fn sites_are_fitted_north_up() {
        // Oslo and Bergen: Bergen is west (left) and a little north (higher).
        let p = project(&[(59.91, 10.75), (60.39, 5.32)]);
        assert!(p[1].0 < p[0].0, "{p:?}");
        assert!(p[1].1 < p[0].1, "{p:?}");
        for (x, y) in &p {
            assert!((0.0..=OVERVIEW_W).contains(x) && (0.0..=OVERVIEW_H).contains(y));
        }
        assert_eq!(
            project(&[(1.0, 2.0)]),
            [(OVERVIEW_W / 2.0, OVERVIEW_H / 2.0)]
        );
    }
}

#[cfg(test)]
mod tile_tests {
    use super::*;

    fn tiles() -> Tiles {
        Tiles::new("https://tiles.example.net/{z}/{x}/{y}.png", "").unwrap()
    }

    /// The tile a point lies on, by the XYZ scheme's own formula (OpenStreetMap wiki,
    /// "Slippy map tilenames"), independent of the drawing code.
    fn slippy(lat: f64, lon: f64, z: u32) -> (u64, u64) {
        let n = f64::from(1u32 << z);
        let r = lat.to_radians();
        let x = ((lon + 180.0) / 360.0 * n).floor() as u64;
        let y = ((1.0 - r.tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor() as u64;
        (x, y)
    }

    #[test]
    fn each_site_sits_on_the_tile_that_shows_its_place() {
        let sites = [(59.91, 10.75), (60.39, 5.32), (58.97, 5.73)];
        let (points, drawn) = on_tiles(&sites, &tiles());
        for ((lat, lon), (px, py)) in sites.iter().zip(&points) {
            assert!((0.0..=OVERVIEW_W).contains(px) && (0.0..=OVERVIEW_H).contains(py));
            // The tile drawn under the marker…
            let under = drawn
                .iter()
                .find(|t| {
                    let (x, y) = (t.x, t.y);
                    (x..x + TILE).contains(px) && (y..y + TILE).contains(py)
                })
                .expect("a tile under every site");
            // …is the one the tile server has for that latitude and longitude.
            let href = &under.href;
            let z: u32 = href.split('/').nth(3).unwrap().parse().unwrap();
            let (x, y) = slippy(*lat, *lon, z);
            assert!(href.ends_with(&format!("/{z}/{x}/{y}.png")), "{href}");
        }
    }

    #[test]
    fn one_site_is_shown_close_up_and_tiles_never_leave_the_world() {
        let (points, drawn) = on_tiles(&[(69.65, 18.96)], &tiles());
        assert_eq!(points, vec![(OVERVIEW_W / 2.0, OVERVIEW_H / 2.0)]);
        assert!(drawn.iter().all(|t| t.href.contains("/16/")));
        // Near the date line and the poles the tiles wrap and stop as the world does.
        let (_, drawn) = on_tiles(&[(84.9, 179.99), (84.9, -179.99)], &tiles());
        for t in drawn {
            let href = &t.href;
            let parts: Vec<u64> = href
                .trim_end_matches(".png")
                .rsplit('/')
                .take(3)
                .map(|p| p.parse().unwrap())
                .collect();
            let n = 1u64 << parts[2];
            assert!(parts[0] < n && parts[1] < n, "{href}");
        }
    }

    #[test]
    fn a_tile_url_needs_its_numbers_and_a_web_origin() {
        assert_eq!(tiles().origin(), "https://tiles.example.net");
        assert!(Tiles::new("https://tiles.example.net/map.png", "").is_err());
        assert!(Tiles::new("file:///{z}/{x}/{y}.png", "").is_err());
        assert!(Tiles::new("javascript:{z}{x}{y}", "").is_err());
        assert!(Tiles::new("https://t.example/{z}/{x}/{y}.png'; script-src *", "").is_err());
    }
}
