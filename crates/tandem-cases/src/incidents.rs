//! Incidents: opening them from alerts, the changes people make, tasks and their SLA timers,
//! the review that gates closing, merging, and the timeline every change appends to.

/// The incidents stage.
pub struct Incidents {}
