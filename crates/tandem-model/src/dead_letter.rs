//! Input that could not become an event.

use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// A line or record that could not be decoded, kept with the reason so an operator can fix the
/// source and replay it. Nothing a source sends is dropped silently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The source it came from (or the name it claimed, for unknown sources).
    pub source: String,
    /// When Tandem received it.
    pub time: Timestamp,
    /// Why it was refused, in words an operator can act on.
    pub reason: String,
    /// The input as received (lossy UTF-8, capped like [`crate::Event::raw`]).
    pub raw: String,
}

impl DeadLetter {
    /// A dead letter for `raw` bytes received now; invalid UTF-8 is kept lossily.
    pub fn new(source: &str, reason: impl Into<String>, raw: &[u8]) -> DeadLetter {
        let mut raw = String::from_utf8_lossy(raw).into_owned();
        if raw.len() > crate::RAW_CAP {
            let mut end = crate::RAW_CAP;
            while !raw.is_char_boundary(end) {
                end -= 1;
            }
            raw.truncate(end);
        }
        DeadLetter {
            source: source.to_owned(),
            time: chrono::Utc::now(),
            reason: reason.into(),
            raw,
        }
    }
}
