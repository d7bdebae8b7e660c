//! Camera snapshots: the still a video system took of a camera event, kept beside the event.
//!
//! A snapshot is fetched once from the video system (a network video recorder such as
//! Frigate) by the server, and kept as a JPEG file named by its SHA-256 under the data
//! directory (`snapshots/<sha256>.jpg`), with a record saying which stored event it shows.
//! Two events showing the same picture share one file. A fetch that failed is recorded too,
//! with its reason, so it is not tried again and the console can say why there is no picture.
//!
//! Records go with the segment that holds their event: when retention drops the event, it
//! drops the record in the same transaction, and the next [`SnapshotStore::sweep_snapshot_files`]
//! removes files no record names any more. A snapshot is kept exactly as long as its event.

use crate::StoreError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tandem_model::Ulid;

/// The directory under the data directory that holds snapshot files.
pub const SNAPSHOT_DIR: &str = "snapshots";

/// A camera event's snapshot, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraSnapshot {
    /// The stored event the snapshot shows.
    pub event: Ulid,
    /// The video system's id of the event (Frigate's event id), by which it was fetched.
    pub reference: String,
    /// The camera's name as the video system calls it.
    pub camera: String,
    /// When the event happened.
    pub time: DateTime<Utc>,
    /// Lower-case hex SHA-256 of the JPEG; `None` when the fetch failed.
    pub sha256: Option<String>,
    /// Size of the JPEG in bytes (0 when the fetch failed).
    pub bytes: u64,
    /// When it was fetched (or given up on).
    pub fetched: DateTime<Utc>,
    /// Why there is no picture: the video system's answer, in words.
    pub error: Option<String>,
}

/// Snapshots of camera events and their files.
///
/// [`SnapshotStore::put_snapshot`] writes the file before the record, and
/// [`SnapshotStore::sweep_snapshot_files`] removes files without a record: call both from one
/// task (the server's snapshot stage does), or a sweep could remove a file whose record is
/// about to be written.
pub trait SnapshotStore: Send + Sync + 'static {
    /// Keeps a snapshot of `snapshot.event`: the JPEG (when there is one) as
    /// `snapshots/<sha256>.jpg` (written once; the same bytes share a file), then the record,
    /// in the segment of its event. The record's `sha256` and `bytes` are taken from `jpeg`.
    /// `false` when the event is no longer stored (retention went first): nothing is kept.
    /// A second snapshot of the same event replaces the first.
    fn put_snapshot(
        &self,
        snapshot: &CameraSnapshot,
        jpeg: Option<&[u8]>,
    ) -> Result<bool, StoreError>;
    /// A snapshot already fetched under the video system's `reference`, if any (the first
    /// of them): a second stored event of the same camera event (its update, its end) reuses it.
    fn snapshot_by_reference(&self, reference: &str) -> Result<Option<CameraSnapshot>, StoreError>;
    /// The snapshots of these events, in the order of `events` (events without one are left
    /// out). This is what the finding, event and alarm pages show.
    fn snapshots_for(&self, events: &[Ulid]) -> Result<Vec<CameraSnapshot>, StoreError>;
    /// The JPEG named `sha256`, if a record still names it.
    fn snapshot_jpeg(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes snapshot files no record names (their events went under retention) and
    /// unfinished writes; how many files went.
    fn sweep_snapshot_files(&self) -> Result<usize, StoreError>;
}
