//! The normalised event: the one shape every source is turned into.
//!
//! Every stage of Tandem speaks [`Event`]: decoders produce it, the store keeps it, search and
//! detection read it. Names follow OCSF (class `authentication` 3002, activity `logon`, …) so an
//! analyst who knows OCSF, ECS or a SIEM's common model finds the fields where they expect them.
//! Physical security (badges, doors, cameras, IoT) uses the vocabulary of the OCSF
//! physical-security proposal, in Tandem extension classes (uids 9001–9004) until OCSF assigns
//! numbers.
//!
//! This crate holds data types only: no I/O, no parsing of vendor formats.
//!
//! ```
//! use tandem_model::{Event, Class, Activity, Outcome};
//! let mut e = Event::new("hq-badges", Class::PhysicalAccess, Activity::Granted,
//!     "2026-11-25T08:01:02Z".parse().unwrap());
//! e.outcome = Outcome::Success;
//! e.actor.badge = Some("40123".into());
//! assert_eq!(e.class.uid(), 9001);
//! let json = serde_json::to_string(&e).unwrap();
//! let back: Event = serde_json::from_str(&json).unwrap();
//! assert_eq!(back, e);
//! ```
//!
//! The field-by-field reference is `docs/schema.md` at the repository root.

mod class;
mod dead_letter;
mod department;
mod entity;
mod event;
mod finding;
pub mod geo;

pub use class::{Activity, Class, Outcome, Severity, UnknownName};
pub use dead_letter::DeadLetter;
pub use department::Department;
pub use entity::{
    Actor, Device, DeviceKind, Endpoint, GeoLocation, Inference, ObjectDetection, PersonRef,
    Physical, Place, ServiceAccountRef,
};
pub use event::{EVENT_FIELDS, Event, RAW_CAP, SourceRef, is_event_field};
pub use finding::{Entities, FINDINGS_SOURCE, Finding};

/// Event identifiers are ULIDs: sortable by creation time, unique without coordination.
pub use ulid::Ulid;

/// All times in Tandem are UTC instants.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
