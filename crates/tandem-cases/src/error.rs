use tandem_store::StoreError;
use thiserror::Error;

/// Why a change to an alert or incident was refused.
#[derive(Debug, Error)]
pub enum CaseError {
    #[error("{kind} {id} does not exist")]
    NotFound { kind: &'static str, id: String },
    /// The change was based on an old version: someone else changed the case meanwhile.
    #[error("{id} was changed by {by} ({what}) after version {based_on}; reload and try again")]
    Conflict {
        id: String,
        based_on: u64,
        current: u64,
        /// Who made the newer change, and what it was (from the timeline).
        by: String,
        what: String,
    },
    /// The change breaks a rule of the workflow (closing a high incident without a review, a
    /// task whose dependencies are open, an unknown status…).
    #[error("{0}")]
    Refused(String),
    /// The actor may not do this to this case (a responder acting on another department's
    /// task).
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
