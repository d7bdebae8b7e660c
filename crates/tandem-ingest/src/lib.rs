//! Tandem ingest: turns what sources send (syslog, JSON, CSV, Tandem's own JSON, vendors'
//! formats) into normalised [`tandem_model::Event`]s.
//!
//! [`decode`] holds framing byte streams into messages and decoding messages into events;
//! [`integrations`] one module per vendor format. All of it is pure decoding of wire formats,
//! free of I/O: it knows nothing of the identity directory, detection, the store, listeners or
//! HTTP. The path an event takes after decoding (sources, keys, limits, resolution, detection,
//! durable commit) and the syslog and MQTT listeners are in `tandem-pipeline`.

pub mod decode;
pub mod integrations;
