//! Tandem's identity directory: one record per person, device and place, with history, and
//! the resolution that ties every event to them.
//!
//! Converged security starts with knowing that the badge, the Okta account, the laptop and
//! the face on camera are the same person. The directory is fed by SCIM (the web crate's
//! `/scim/v2`), HR CSV exports ([`hr`]) and place/device files ([`records`]); each feed turns
//! what it receives into [`tandem_store::DirectoryChange`]s, which [`Identity::commit`]
//! appends to the store's change log and applies to the in-memory [`Directory`]. Nothing is
//! overwritten: every record keeps every state it has had, from the time it became true, so
//! [`Directory::person_at`] answers "what was true at event time?".
//!
//! At ingest, [`Identity::resolve_batch`] resolves each event against a snapshot of the
//! directory (no lock held while resolving) and counts what it could not resolve per source.

pub mod directory;
pub mod hr;
pub mod model;
pub mod records;
mod resolve;
mod service;

pub use directory::{Directory, History, Version};
pub use model::*;
pub use resolve::Unresolved;
pub use service::{Gaps, Identity};

/// Why a directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Input that does not describe valid records (the message names the row and field).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] tandem_store::StoreError),
}
