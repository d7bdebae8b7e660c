//! Tandem's event path: the glue between what arrives and what is stored.
//!
//! Every event goes the same way, whatever carried it: decoded in its source's format (by
//! `tandem-ingest`), checked (limits, clock skew, dead letters), resolved to people, devices
//! and places against one snapshot of the directory (`tandem-identity`), run through the
//! detections with that same snapshot (`tandem-detect`), committed durably with its findings
//! (`tandem-store`), and then announced to live listeners.
//!
//! [`pipeline`] is that path ([`pipeline::Pipeline`]); [`syslog`] holds the UDP and TCP
//! listeners and [`mqtt`] the MQTT subscriber that feed it; [`metrics`] the Prometheus counters
//! they all update. The HTTP endpoints live in `tandem-web` and call the same pipeline.
//!
//! What it does not do: parse any wire format (that is `tandem-ingest`, which knows nothing of
//! the directory, detection or storage), decide who a person is or what a detection finds
//! (`tandem-identity`, `tandem-detect`), or write SQL (`tandem-store`). It knows nothing of
//! HTTP or the console.

pub mod metrics;
pub mod mqtt;
pub mod pipeline;
pub mod syslog;
