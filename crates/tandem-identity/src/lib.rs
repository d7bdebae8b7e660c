//! Tandem's identity directory: one record per person, device and place, with history, and
//! the resolution that ties every event to them.
//!
//! Converged security starts with knowing that the badge, the Okta account, the laptop and
//! the face on camera are the same person. The directory is fed by SCIM (the web crate's
//! `/scim/v2` speaks the protocol; [`provision`] decides what it does to people and groups),
//! HR CSV exports ([`hr`]) and place/device files ([`records`]); each feed turns
//! what it receives into [`tandem_store::DirectoryChange`]s, which [`Identity::commit`]
//! appends to the store's change log and applies to the in-memory [`Directory`]. Nothing is
//! overwritten: every record keeps every state it has had, from the time it became true, so
//! [`Directory::person_at`] answers "what was true at event time?".
//!
//! At ingest, [`Identity::resolve_batch`] resolves each event against a snapshot of the
//! directory (no lock held while resolving) and counts what it could not resolve per source.

pub mod accounts;
pub mod directory;
pub mod hours;
pub mod hr;
pub mod model;
pub mod provision;
pub mod records;
mod resolve;
mod service;

pub use directory::{Directory, History, Version};
pub use model::*;
pub use resolve::{UnknownId, Unresolved, is_physical};
pub use service::{Gaps, Identity, KindGaps, MAX_UNKNOWN_PER_SOURCE, TOP_UNKNOWN, UnknownCount};

/// Why a directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Input that does not describe valid records (the message names the row and field).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] tandem_store::StoreError),
    /// A record that could not be turned into the change log's JSON. Never recorded as
    /// anything (least of all as a removal): the whole import fails.
    #[error("cannot record {kind} `{key}`: {source}")]
    Encode {
        kind: String,
        key: String,
        source: serde_json::Error,
    },
}

/// A change setting `kind` `key` to `state` from `effective` on; a state that cannot be
/// serialised is an [`IdentityError::Encode`], never a change without a body.
pub fn encode<T: serde::Serialize + ?Sized>(
    kind: &str,
    key: &str,
    effective: Timestamp,
    origin: &str,
    state: &T,
) -> Result<tandem_store::DirectoryChange, IdentityError> {
    tandem_store::DirectoryChange::state(kind, key, effective, origin, state).map_err(|source| {
        IdentityError::Encode {
            kind: kind.to_owned(),
            key: key.to_owned(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A state JSON cannot hold (a map with non-string keys) once became an empty body, which
    /// the change log reads as "deleted". It must be an error that names the record.
    #[test]
    fn a_state_that_fails_to_serialise_is_an_error_not_a_removal() {
        let unserialisable: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let err = encode(
            directory::GROUP,
            "g1",
            chrono::Utc::now(),
            "scim",
            &unserialisable,
        )
        .unwrap_err();
        assert!(
            matches!(&err, IdentityError::Encode { kind, key, .. } if kind == "group" && key == "g1")
        );
        assert!(
            err.to_string().starts_with("cannot record group `g1`: "),
            "{err}"
        );

        // And the store's own constructor says the same.
        assert!(
            tandem_store::DirectoryChange::state(
                "group",
                "g1",
                chrono::Utc::now(),
                "x",
                &unserialisable
            )
            .is_err()
        );
    }

    /// A removal has to be said in so many words; it replays as the record's absence.
    #[test]
    fn only_an_explicit_removal_removes() {
        let t = chrono::Utc::now() - chrono::Duration::minutes(1);
        let group = Group {
            id: "g1".into(),
            name: "Ops".into(),
            ..Group::default()
        };
        let mut changes = [
            encode(directory::GROUP, "g1", t, "scim", &group).unwrap(),
            tandem_store::DirectoryChange::removed(
                directory::GROUP,
                "g1",
                t + chrono::Duration::seconds(1),
                "scim",
            ),
        ];
        for (i, c) in changes.iter_mut().enumerate() {
            c.seq = i as u64 + 1;
        }
        let mut dir = Directory::default();
        dir.apply(&changes[..1]).unwrap();
        assert_eq!(dir.group("g1").map(|g| g.name.as_str()), Some("Ops"));
        dir.apply(&changes[1..]).unwrap();
        assert!(dir.groups().is_empty());
    }
}
