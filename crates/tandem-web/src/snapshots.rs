//! Camera snapshots in the console: the still of each camera event a finding names (or an
//! event page shows), with the camera, the time, and a link to the clip on the video
//! recorder when one is configured; and the route that serves the stills.
//!
//! The server's snapshot stage fetches and stores them (`crates/tandem/src/snapshots.rs`);
//! the console only reads what is stored ([`tandem_store::SnapshotStore`]). Any page can
//! show a set of events' snapshots with [`views`] and the `snapshots.html` partial
//! (`{% include "snapshots.html" %}` with `snapshots` in the context).

use crate::clock::{Stamp, stamp};
use crate::{ApiError, AppState, Principal};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::tz::TimeZone;
use serde::Serialize;
use tandem_model::Ulid;

/// Where people open an event's clip on the video recorder: Frigate's
/// `<base>/api/events/<id>/clip.mp4`, from the base URL browsers reach it at.
#[derive(Debug, Clone)]
pub struct ClipLinks {
    base: String,
}

impl ClipLinks {
    /// Links under `base` (`http://frigate.example:5000`); a trailing `/` is dropped.
    pub fn new(base: &str) -> ClipLinks {
        ClipLinks {
            base: base.trim().trim_end_matches('/').to_owned(),
        }
    }

    /// The clip of the video recorder's event `reference`.
    pub fn clip(&self, reference: &str) -> String {
        let id: String = url_segment(reference);
        format!("{}/api/events/{id}/clip.mp4", self.base)
    }
}

/// `reference` made safe as one path segment (Frigate ids are `<epoch>.<micros>-<6 chars>`).
fn url_segment(s: &str) -> String {
    s.bytes()
        .enumerate()
        .map(|(i, b)| match b {
            // A leading dot is encoded, so the segment can never be `.` or `..`.
            b'.' if i > 0 => ".".to_owned(),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One camera event's snapshot as a page shows it.
#[derive(Debug, Serialize)]
pub(crate) struct SnapshotView {
    /// The image's URL on this console; `None` when there is no picture.
    pub src: Option<String>,
    pub camera: String,
    pub time: Stamp,
    /// The event the picture shows.
    pub event_href: String,
    /// The clip on the video recorder, when links to it are configured.
    pub clip_href: Option<String>,
    /// Why there is no picture.
    pub error: Option<String>,
    /// "6.1 KiB".
    pub size: String,
}

/// The snapshots of `events` (those that have one), in that order, times in `zone`. A store
/// error is logged and shows as no snapshot: the page around it still renders.
pub(crate) async fn views(
    state: &AppState,
    events: Vec<Ulid>,
    zone: &TimeZone,
) -> Vec<SnapshotView> {
    let store = state.snapshots.clone();
    let found = match tokio::task::spawn_blocking(move || store.snapshots_for(&events)).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "camera snapshots not read");
            return Vec::new();
        }
        Err(e) => {
            tracing::warn!(error = %e, "camera snapshots not read");
            return Vec::new();
        }
    };
    let dir = state.identity.snapshot();
    found
        .into_iter()
        .map(|s| SnapshotView {
            src: s.sha256.as_ref().map(|h| format!("/snapshots/{h}.jpg")),
            // The directory's name for the camera, when it has one.
            camera: dir
                .find_place(&s.camera)
                .map_or_else(|| s.camera.clone(), |p| p.name.clone()),
            time: stamp(s.time, zone),
            event_href: format!("/events/{}", s.event),
            clip_href: state.clips.as_ref().map(|c| c.clip(&s.reference)),
            error: s.error.clone(),
            size: format!("{:.1} KiB", s.bytes as f64 / 1024.0),
        })
        .collect()
}

/// `GET /snapshots/{sha256}.jpg`: a stored camera snapshot, for people who may see findings.
/// Only a file a snapshot record names is served, as `image/jpeg` (its first bytes were
/// checked when it was fetched) and never sniffed as anything else.
pub async fn image(
    _who: Principal,
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "no such snapshot");
    let sha = file.strip_suffix(".jpg").ok_or_else(not_found)?.to_owned();
    let store = state.snapshots.clone();
    let bytes = tokio::task::spawn_blocking(move || store.snapshot_jpeg(&sha))
        .await
        .map_err(ApiError::internal)??
        .ok_or_else(not_found)?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    // The name is the content's hash: it never changes; but it is evidence, kept off shared
    // caches.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_links_keep_the_event_id_in_one_segment() {
        let links = ClipLinks::new("http://nvr.example:5000/");
        assert_eq!(
            links.clip("1607123955.475377-mxklsc"),
            "http://nvr.example:5000/api/events/1607123955.475377-mxklsc/clip.mp4"
        );
        assert_eq!(
            links.clip("../../config?x"),
            "http://nvr.example:5000/api/events/%2E.%2F..%2Fconfig%3Fx/clip.mp4"
        );
    }
}
