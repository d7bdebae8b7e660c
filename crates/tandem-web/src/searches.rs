//! What one search may cost: a time limit enforced inside the store, cancellation when the
//! client goes away, and a bound on the searches one person runs at once.
//!
//! A search runs on a blocking thread. When its HTTP client disconnects, the server drops the
//! handler's future; [`CancelOnDrop`] then flips the search's cancel switch, and SQLite stops
//! at its next check instead of keeping a core busy for an answer nobody will read. The slot a
//! search holds is released only when its thread is done, so abandoned searches still count
//! against their owner until they have really stopped.

use crate::{ApiError, AppState};
use axum::http::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tandem_store::{Cancel, SearchRequest, SearchResult};

/// Limits on searches, from the `[search]` section of the configuration.
#[derive(Debug, Clone)]
pub struct SearchLimits {
    /// Longest one search may run before it is stopped.
    pub time_limit: Duration,
    /// Most searches one user (or API token's user) may run at the same time.
    pub per_user: usize,
}

impl Default for SearchLimits {
    fn default() -> Self {
        SearchLimits {
            time_limit: Duration::from_secs(10),
            per_user: 4,
        }
    }
}

/// The searches running now, per user.
#[derive(Debug, Default)]
pub struct Searches {
    limits: SearchLimits,
    running: Mutex<HashMap<String, usize>>,
}

impl Searches {
    pub fn new(limits: SearchLimits) -> Searches {
        Searches {
            limits,
            running: Mutex::default(),
        }
    }

    pub fn limits(&self) -> &SearchLimits {
        &self.limits
    }

    /// Takes one of `who`'s search slots, or answers 429 when they are all in use. `None`
    /// (searches the console makes on its own, such as the live monitor's first rows) takes no
    /// slot but keeps the time limit.
    pub fn start(self: &Arc<Self>, who: Option<&str>) -> Result<SearchSlot, ApiError> {
        if let Some(who) = who {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            let count = running.entry(who.to_owned()).or_default();
            if *count >= self.limits.per_user {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "you already have {} searches running, the most allowed at once; \
                         wait for one to finish (a search stops after {} s at most)",
                        self.limits.per_user,
                        self.limits.time_limit.as_secs_f64()
                    ),
                ));
            }
            *count += 1;
        }
        Ok(SearchSlot {
            searches: self.clone(),
            who: who.map(str::to_owned),
            cancel: Cancel::new(),
        })
    }
}

/// One running search's claim: its slot, its cancel switch and its time limit.
pub struct SearchSlot {
    searches: Arc<Searches>,
    who: Option<String>,
    cancel: Cancel,
}

impl SearchSlot {
    /// Puts the time limit and the cancel switch on a request.
    pub fn limit(&self, request: &mut SearchRequest) {
        request.time_limit = Some(self.searches.limits.time_limit);
        request.cancel = Some(self.cancel.clone());
    }

    /// A guard for the waiting handler: dropped (the client went away, or the answer was
    /// sent), it stops the search if it still runs.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.cancel.clone())
    }
}

impl Drop for SearchSlot {
    fn drop(&mut self) {
        let Some(who) = &self.who else { return };
        let mut running = self
            .searches
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = running.get_mut(who) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(who);
            }
        }
    }
}

/// Cancels a search when dropped.
pub struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl AppState {
    /// Runs a search for `who` (see [`Searches::start`]) within the search limits, on a
    /// blocking thread, stopping it if the caller stops waiting.
    pub(crate) async fn run_search(
        &self,
        who: Option<&str>,
        mut request: SearchRequest,
    ) -> Result<SearchResult, ApiError> {
        let slot = self.searches.start(who)?;
        slot.limit(&mut request);
        let _cancel = slot.cancel_on_drop();
        let events = self.events.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let _slot = slot;
            events.search(&request)
        })
        .await??)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_has_a_bounded_number_of_slots() {
        let searches = Arc::new(Searches::new(SearchLimits {
            time_limit: Duration::from_secs(10),
            per_user: 2,
        }));
        let a = searches.start(Some("ana")).unwrap();
        let _b = searches.start(Some("ana")).unwrap();
        let refused = searches.start(Some("ana")).err().unwrap();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            refused.message.contains("2 searches running"),
            "{}",
            refused.message
        );
        // Others are not affected, and unattributed searches take no slot.
        let _c = searches.start(Some("bo")).unwrap();
        let _d = searches.start(None).unwrap();
        drop(a);
        assert!(searches.start(Some("ana")).is_ok());
    }

    #[test]
    fn dropping_the_guard_cancels_the_search() {
        let searches = Arc::new(Searches::default());
        let slot = searches.start(Some("ana")).unwrap();
        let mut request = SearchRequest::new(tandem_query::parse("*").unwrap());
        slot.limit(&mut request);
        assert_eq!(request.time_limit, Some(Duration::from_secs(10)));
        let cancel = request.cancel.clone().unwrap();
        assert!(!cancel.is_cancelled());
        drop(slot.cancel_on_drop());
        assert!(cancel.is_cancelled());
    }
}
