//! The stored document: the parts of an event that have no column of their own.
//!
//! Id, times, class, activity, outcome, severity and message live in columns; repeating them
//! in the JSON would cost a third of every row. [`to_doc`] writes the rest, [`event`] joins the
//! two back into the event that was submitted.

use crate::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tandem_model::{
    Activity, Actor, Class, Device, Endpoint, Event, Outcome, Physical, Place, Severity, SourceRef,
    Timestamp,
};

#[derive(Serialize)]
struct DocRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_time: &'a Option<Timestamp>,
    source: &'a SourceRef,
    #[serde(skip_serializing_if = "Actor::is_empty")]
    actor: &'a Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    physical: &'a Option<Physical>,
    #[serde(skip_serializing_if = "Option::is_none")]
    place: &'a Option<Place>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src: &'a Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst: &'a Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: &'a Option<Device>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    attrs: &'a serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    raw_truncated: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Doc {
    observed_time: Option<Timestamp>,
    source: SourceRef,
    actor: Actor,
    physical: Option<Physical>,
    place: Option<Place>,
    src: Option<Endpoint>,
    dst: Option<Endpoint>,
    device: Option<Device>,
    labels: BTreeMap<String, String>,
    attrs: serde_json::Map<String, serde_json::Value>,
    raw_truncated: bool,
}

pub fn to_doc(event: &Event) -> String {
    let doc = DocRef {
        observed_time: &event.observed_time,
        source: &event.source,
        actor: &event.actor,
        physical: &event.physical,
        place: &event.place,
        src: &event.src,
        dst: &event.dst,
        device: &event.device,
        labels: &event.labels,
        attrs: &event.attrs,
        raw_truncated: event.raw_truncated,
    };
    // Sized for a typical document, so writing it rarely regrows (and copies) the buffer.
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(&mut out, &doc).expect("events always serialise");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// A stored row as read back: the columns, the message, the raw text and the document.
pub struct StoredRow {
    pub id: String,
    pub time: i64,
    pub ingest_time: i64,
    pub class_uid: i64,
    pub activity_id: i64,
    pub outcome_id: i64,
    pub severity_id: i64,
    pub message: Option<String>,
    pub raw: Option<String>,
    pub doc: String,
}

/// The columns a result row is read with, in [`StoredRow`] order.
pub const ROW_COLUMNS: &str = "e.id, e.time, e.ingest_time, e.class_uid, e.activity_id, e.outcome_id, e.severity_id, d.message, d.raw, d.doc";

impl StoredRow {
    /// Reads the row from a statement whose first columns are [`ROW_COLUMNS`], from `offset`.
    pub fn read(row: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<StoredRow> {
        Ok(StoredRow {
            id: row.get(offset)?,
            time: row.get(offset + 1)?,
            ingest_time: row.get(offset + 2)?,
            class_uid: row.get(offset + 3)?,
            activity_id: row.get(offset + 4)?,
            outcome_id: row.get(offset + 5)?,
            severity_id: row.get(offset + 6)?,
            message: row.get(offset + 7)?,
            raw: row.get(offset + 8)?,
            doc: row.get(offset + 9)?,
        })
    }

    pub fn into_event(self) -> Result<Event, StoreError> {
        let corrupt = |what: &str| StoreError::CorruptEvent {
            id: self.id.clone(),
            source: serde::de::Error::custom(what),
        };
        let doc: Doc =
            serde_json::from_str(&self.doc).map_err(|source| StoreError::CorruptEvent {
                id: self.id.clone(),
                source,
            })?;
        let vocabulary = |uid: i64| u16::try_from(uid).ok();
        Ok(Event {
            id: self.id.parse().map_err(|_| corrupt("bad id"))?,
            time: super::micros_to_time(self.time),
            observed_time: doc.observed_time,
            ingest_time: super::micros_to_time(self.ingest_time),
            source: doc.source,
            class: vocabulary(self.class_uid)
                .and_then(Class::from_uid)
                .unwrap_or_default(),
            activity: vocabulary(self.activity_id)
                .and_then(Activity::from_uid)
                .unwrap_or_default(),
            outcome: vocabulary(self.outcome_id)
                .and_then(Outcome::from_uid)
                .unwrap_or_default(),
            severity: vocabulary(self.severity_id)
                .and_then(Severity::from_uid)
                .unwrap_or_default(),
            message: self.message.unwrap_or_default(),
            actor: doc.actor,
            physical: doc.physical,
            place: doc.place,
            src: doc.src,
            dst: doc.dst,
            device: doc.device,
            labels: doc.labels,
            attrs: doc.attrs,
            raw: self.raw,
            raw_truncated: doc.raw_truncated,
        })
    }
}
