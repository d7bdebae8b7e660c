use thiserror::Error;

/// What can go wrong in the store.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the write queue is full ({queued} events waiting); retry shortly")]
    Busy { queued: usize },
    #[error("the store is closed")]
    Closed,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("stored event {id} is unreadable: {source}")]
    CorruptEvent {
        id: String,
        source: serde_json::Error,
    },
    /// A directory change whose stored state is not JSON. Replaying it as anything else
    /// (a deletion, say) would silently rewrite someone's history, so the load fails instead.
    #[error("directory change {seq} is unreadable: {source}")]
    CorruptDirectoryChange { seq: u64, source: serde_json::Error },
    #[error("{0}")]
    Query(String),
    /// The search ran past its time limit and was stopped.
    #[error(
        "the search took longer than {} and was stopped; narrow the time range or make the query more specific",
        seconds(*.0)
    )]
    TimedOut(std::time::Duration),
    /// The caller gave up on the search (its client went away).
    #[error("the search was cancelled")]
    Cancelled,
    #[error("the writer failed: {0}")]
    Writer(String),
    /// A case write based on a version that is no longer current, an id that exists, or a
    /// finding already linked to a case. `current` is the stored version, when there is one.
    #[error("{id} was changed meanwhile: {reason}")]
    Conflict {
        id: String,
        current: Option<u64>,
        reason: String,
    },
}

/// `10 s`, `1.5 s`, `0.001 s`: a time limit as people read it.
fn seconds(d: std::time::Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
