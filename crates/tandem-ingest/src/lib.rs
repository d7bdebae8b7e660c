//! Tandem ingest: turns what sources send (syslog, JSON, CSV, Tandem's own JSON) into
//! normalised [`tandem_model::Event`]s.
//!
//! [`decode`] holds the pure, I/O-free part: framing byte streams into messages and decoding
//! messages into events. [`pipeline`] is the path every source shares after framing (source
//! keys, limits, dead letters, durable commit); [`syslog`] holds the UDP and TCP listeners;
//! [`metrics`] the Prometheus counters they all update. The HTTP endpoint lives in
//! `tandem-web` and calls the same pipeline.

pub mod decode;
pub mod integrations;
pub mod metrics;
pub mod mqtt;
pub mod pipeline;
pub mod syslog;
