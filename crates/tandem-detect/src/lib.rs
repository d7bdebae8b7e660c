//! Tandem detection: every ingested event is evaluated in the stream, after identity
//! resolution and before it is stored, and every hit becomes a [`Finding`].
//!
//! Two kinds of rule share one output:
//!
//! * [`sigma`]: Sigma detection and correlation rules (the SigmaHQ corpus and customers'
//!   own), evaluated by the RSigma engine (`rsigma-eval`) over a field-mapped view of each
//!   event, routed by log source so an event only pays for the rules that can match it;
//! * [`native`]: converged IT-and-physical detections that need what Sigma cannot say
//!   (distances between sites, employment status at event time, camera counts at a door).
//!
//! Both implement [`Detection`]-style stateful processing over the resolved event and a
//! snapshot of the identity [`Directory`].

pub mod admin;
mod detector;
pub mod locate;
pub mod native;
pub mod shipped;
pub mod sigma;

pub use detector::{Detector, HitCounts};
pub use tandem_identity::Directory;
pub use tandem_model::{Entities, Finding};

use tandem_model::{Event, Timestamp};

/// A stateful detection over the event stream.
pub trait Detection: Send {
    /// Stable id (`tandem.terminated_access`), used for findings, configuration and state.
    fn id(&self) -> &'static str;
    /// Looks at one resolved event; pushes findings it completes.
    fn observe(&mut self, event: &Event, dir: &Directory, out: &mut Vec<Finding>);
    /// Called about once a minute with the current time, for detections of absence (a source
    /// gone silent) and for evicting old state.
    fn tick(&mut self, _now: Timestamp, _dir: &Directory, _out: &mut Vec<Finding>) {}
    /// State to persist across a restart (JSON), if any.
    fn save_state(&self) -> Option<serde_json::Value> {
        None
    }
    /// Restores what [`Detection::save_state`] returned.
    fn load_state(&mut self, _state: serde_json::Value) {}
}
