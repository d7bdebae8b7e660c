//! Vendor integrations: each module turns one vendor's real wire format into normalised
//! [`tandem_model::Event`]s.
//!
//! Conventions every module follows, so the pipeline, the demo and detection can treat them
//! alike:
//!
//! * decoding is pure (no I/O): a message in, `Result<Vec<Event>, DecodeError>` out. One
//!   message may carry several events (an Okta event-hook delivery, an Entra `value` array);
//!   an empty vector means "nothing to store" (a keep-alive, a duplicate update);
//! * every event is passed through [`crate::decode::finish`] with the text it came from, so
//!   it carries the source name, the receipt time and its own raw form;
//! * vendor fields that have no place in the schema are kept in `attrs` under the names the
//!   vendor uses, so Sigma rules and analysts can still match them;
//! * no input panics (each module has a property test feeding it garbage).

pub mod access_reason;
pub mod cef;
pub mod entra;
pub mod frigate;
pub mod iot;
pub mod mapping;
pub mod okta;
pub mod verkada;
pub mod windows;
pub mod zeek;
